/*
 * input: checks of what users write, before anything is sent.
 *
 * Pure functions over bytes and cJSON trees: no I/O, no cache, no locks,
 * so they are unit-tested and fuzzed directly. Each returns 0, -ENOMEM, or
 * -EINVAL with a readable reason written to why[0..whylen) (for the
 * mount's error log).
 */
#ifndef MSFS_INPUT_H
#define MSFS_INPUT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define INPUT_WHY_MAX 160

/*
 * Text is UTF-8, strictly (Unicode table 3-7): no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no stray or missing
 * continuation bytes. NUL is refused too: it would cut a C string short.
 * JSON cannot carry anything else, so text that fails here is refused
 * rather than sent as a broken request body.
 */
/* Length of the longest prefix of s[0..n) that is such text (n when all
 * of it is): the offset of the first bad byte. */
size_t input_utf8_span(const char *s, size_t n);
bool input_utf8_valid(const char *s, size_t n);
/* input_utf8_valid with a reason that names the first bad byte. */
int input_utf8(const char *data, size_t len, char *why, size_t whylen);

/* One field of a control-file line, named by `what` in the reason (e.g.
 * "email"): no control character (DEL included); tab passes only when
 * tab_ok. UTF-8 is the caller's check, done on the whole line. */
int input_field(const char *what, const char *s, bool tab_ok, char *why,
		size_t whylen);

/* A value file's content: one line; one trailing newline (and a CR before
 * it) is dropped; no other line break, NUL or control character but tab;
 * UTF-8. *out is malloc'd. */
int input_value(const char *data, size_t len, char **out, char *why,
		size_t whylen);

/* A state word (a value, as above), surrounding blanks ignored, any case:
 * active/inactive, 1/0, true/false, on/off. */
int input_state(const char *data, size_t len, bool *active, char *why,
		size_t whylen);

/*
 * The same checks on content still being written: data[0..len) is what
 * has arrived so far. They return -EINVAL only when no bytes that may
 * follow can make the content valid (a bad byte, a second line, a word
 * that no state word starts with), so a writer hears of it at the write
 * that made it certain; 0 otherwise (the complete content is checked
 * again when it is applied). A multi-byte character cut at the end of
 * data is no error yet.
 */
int input_utf8_prefix(const char *data, size_t len, char *why, size_t whylen);
int input_value_prefix(const char *data, size_t len, char *why, size_t whylen);
int input_state_prefix(const char *data, size_t len, char *why, size_t whylen);

/*
 * properties.json: data must be UTF-8 and one JSON object
 * {"NAME": scalar, ...}; each NAME a property name (or id) in defs, given
 * once; values strings, numbers, booleans or null; no control character
 * in names or strings but \n, \r and \t (JSON may carry line breaks that
 * value files cannot), and no \u0000. *changes (caller frees)
 * becomes the array of {"propertyId","value"} for names whose value differs
 * from current (the member's customProperties object, keyed by id; NULL
 * means none set). Names left out are left alone. An empty array means
 * nothing to send.
 */
int input_props_diff(const cJSON *defs, const cJSON *current, const char *data,
		     size_t len, cJSON **changes, char *why, size_t whylen);

#endif

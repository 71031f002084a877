/*
 * textfix: makes text from outside well-formed instead of refusing it.
 *
 * Server responses and journal lines are not ours to refuse: a member whose
 * name holds one bad byte must not make the whole member list unreadable.
 * So what JSON cannot carry is replaced by U+FFFD, the Unicode replacement
 * character, and the rest is kept byte for byte:
 * - every byte that does not start a well-formed UTF-8 sequence (as
 *   input_utf8_span judges it: overlongs, surrogates, > U+10FFFF, stray or
 *   missing continuation bytes, NUL) becomes U+FFFD (3 bytes);
 * - textfix_json also replaces \u escapes of lone UTF-16 surrogates
 *   (a \uD800-\uDBFF not followed by \uDC00-\uDFFF, or a \uDC00-\uDFFF on
 *   its own; JavaScript's JSON.stringify writes these) by the escape
 *   \uFFFD: cJSON refuses the whole document over one of them.
 * Text that needs nothing is not copied. Pure functions; thread-safe.
 */
#ifndef MSFS_TEXTFIX_H
#define MSFS_TEXTFIX_H

#include <stddef.h>

/* Copies in[0..len) to out with bad bytes replaced; out NULL only
 * measures. Returns the output length (at most 3 * len). */
size_t textfix_utf8(const char *in, size_t len, char *out);

/*
 * JSON text in[0..len) with bad bytes and lone surrogate escapes replaced.
 * Returns the number of replacements: 0 leaves *out NULL (nothing to
 * fix), more sets *out (malloc'd, NUL-terminated) and *outlen; -ENOMEM.
 */
long textfix_json(const char *in, size_t len, char **out, size_t *outlen);

#endif

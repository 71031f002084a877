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

/* A value file's content: one line; one trailing newline (and a CR before
 * it) is dropped; no other line break, NUL or control character but tab.
 * *out is malloc'd. */
int input_value(const char *data, size_t len, char **out, char *why,
		size_t whylen);

/* A state word, surrounding blanks ignored, any case: active/inactive,
 * 1/0, true/false, on/off. */
int input_state(const char *data, size_t len, bool *active, char *why,
		size_t whylen);

/*
 * properties.json: data must be one JSON object {"NAME": scalar, ...};
 * each NAME a property name (or id) in defs, given once; values strings,
 * numbers, booleans or null. *changes (caller frees) becomes the array of
 * {"propertyId","value"} for names whose value differs from current (the
 * member's customProperties object, keyed by id; NULL means none set).
 * Names left out are left alone. An empty array means nothing to send.
 */
int input_props_diff(const cJSON *defs, const cJSON *current,
		     const char *data, size_t len, cJSON **changes, char *why,
		     size_t whylen);

#endif

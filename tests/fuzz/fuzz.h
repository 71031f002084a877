/*
 * fuzz.h: what the libFuzzer harnesses share.
 *
 * CHECK(cond) states a property of the code under test: when it does not
 * hold, the condition and its line go to stderr and the harness abort()s,
 * which libFuzzer reports as a crash and saves the input (crash-<sha1>).
 * Header-only; each harness includes it once.
 */
#ifndef MSFS_FUZZ_H
#define MSFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property violated: %s\n",      \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* libFuzzer's entry point (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (the input itself is not). */
static char *fuzz_cstr(const uint8_t *data, size_t size)
	__attribute__((unused));
static char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif

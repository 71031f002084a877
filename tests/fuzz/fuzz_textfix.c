/*
 * fuzz_textfix.c: textfix on arbitrary bytes, taken as JSON text and as
 * plain text. Properties:
 *  - textfix_json returns 0 only for well-formed UTF-8 (input_utf8_valid),
 *    and then gives no copy;
 *  - what it returns is well-formed UTF-8 with no NUL, of the length it
 *    reports, and fixing it again finds nothing (no lone surrogate escape
 *    and no bad byte is left);
 *  - for a document cJSON parses whole (as api.c parses responses:
 *    nothing but JSON blanks after it): when it is UTF-8 nothing is fixed
 *    (cJSON refuses lone surrogate escapes itself), and otherwise the
 *    fixed document parses whole too. Left out: inputs holding NUL (cJSON
 *    skips NUL as a blank; fixing makes it a character) and \u escapes
 *    without four hex digits (cJSON reads those as U+0000 and swallows
 *    what follows, backslashes included);
 *  - textfix_utf8 measures what it writes, its output is well-formed, and
 *    it changes nothing in well-formed text.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>

#include "fuzz.h"
#include "input.h"
#include "textfix.h"

/* The document, when text[0..n) is one JSON value and blanks. */
static cJSON *parse_whole(const char *text, size_t n)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);

	if (!j)
		return NULL;
	for (; end < text + n; end++) {
		if (!strchr(" \t\r\n", *end)) {
			cJSON_Delete(j);
			return NULL;
		}
	}
	return j;
}

/* No NUL, and every \u escape has its four hex digits. */
static int comparable(const char *in, size_t n)
{
	size_t i, k;

	if (memchr(in, '\0', n))
		return 0;
	for (i = 0; i < n; i++) {
		if (in[i] != '\\')
			continue;
		if (i + 1 < n && in[i + 1] == 'u') {
			if (n - i < 6)
				return 0;
			for (k = 2; k < 6; k++)
				if (!isxdigit((unsigned char)in[i + k]))
					return 0;
		}
		i++; /* the escaped character */
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *out = NULL, *again = NULL, *u8;
	size_t n = 0, n2 = 0, m;
	long fixes, fixes2;
	cJSON *before, *after;

	fixes = textfix_json(in, size, &out, &n);
	CHECK(fixes >= 0);
	if (fixes == 0) {
		CHECK(out == NULL && n == 0);
		CHECK(input_utf8_valid(in, size));
	} else {
		CHECK(out != NULL && out[n] == '\0');
		CHECK(input_utf8_valid(out, n));
		CHECK(strlen(out) == n);
		fixes2 = textfix_json(out, n, &again, &n2);
		CHECK(fixes2 == 0 && again == NULL);
		if (comparable(in, size)) {
			before = parse_whole(in, size);
			after = parse_whole(out, n);
			CHECK(!before || after);
			CHECK(!before || !input_utf8_valid(in, size));
			cJSON_Delete(before);
			cJSON_Delete(after);
		}
		free(out);
	}

	m = textfix_utf8(in, size, NULL);
	CHECK(m >= size && m <= 3 * size);
	u8 = malloc(m + 1);
	CHECK(u8 != NULL);
	CHECK(textfix_utf8(in, size, u8) == m);
	CHECK(input_utf8_valid(u8, m));
	if (input_utf8_valid(in, size))
		CHECK(m == size && !memcmp(u8, in, size));
	free(u8);
	return 0;
}

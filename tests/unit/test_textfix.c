/*
 * test_textfix: bad bytes and lone surrogate escapes become U+FFFD, and
 * everything else is kept byte for byte; the result parses with cJSON
 * where the original did not.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "textfix.h"

/* textfix_json on a C string: the fixed text (or a copy of the input when
 * nothing needed fixing) and the count in *fixes. */
static char *json_fixed(const char *in, long *fixes)
{
	char *out = NULL;
	size_t n = 0;

	*fixes = textfix_json(in, strlen(in), &out, &n);
	if (*fixes > 0 && out && strlen(out) != n)
		*fixes = -1000; /* embedded NUL or wrong length */
	return out ? out : strdup(in);
}

static void check(const char *in, const char *want, long want_fixes,
		  const char *what)
{
	long fixes;
	char *got = json_fixed(in, &fixes);

	ok(fixes == want_fixes && tap_streq(got, want), "%s (%ld fixes: %s)",
	   what, fixes, got);
	free(got);
}

/* Does the text parse, and is name's value want? */
static int parses_to(const char *text, const char *want)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
	int r = cJSON_IsString(n) && !strcmp(n->valuestring, want);

	cJSON_Delete(j);
	return r;
}

int main(void)
{
	char *out = (char *)"untouched";
	size_t n = 99;
	char buf[64];
	long fixes;
	char *fixed;

	/* Nothing to fix: no copy. */
	ok(textfix_json("{\"a\":\"\\u00e9 \\uD83D\\uDE00 \\\\uD800 é\"}", 37,
			&out, &n) == 0 &&
		   out == NULL && n == 0,
	   "well-formed JSON (escapes, a surrogate pair, an escaped "
	   "backslash before uD800, UTF-8) needs nothing and gets no copy");

	/* Escapes of lone surrogates. */
	check("\"\\uD800\"", "\"\\uFFFD\"", 1, "a lone high surrogate");
	check("\"\\udcff\"", "\"\\uFFFD\"", 1,
	      "a lone low surrogate (lower case)");
	check("\"\\uDBFF\\u0041\"", "\"\\uFFFD\\u0041\"", 1,
	      "a high surrogate followed by a non-surrogate escape");
	check("\"\\uDC00\\uD800\"", "\"\\uFFFD\\uFFFD\"", 2,
	      "low then high: both lone");
	check("\"\\uD800\\uDC00\\uDC00\"", "\"\\uD800\\uDC00\\uFFFD\"", 1,
	      "a pair followed by a lone low");
	check("\"\\uD800", "\"\\uFFFD", 1, "a lone high at the very end");
	check("\"\\uD80\"", "\"\\uD80\"", 0,
	      "a cut escape is left for the parser to refuse");
	check("\"\\\\uD800\"", "\"\\\\uD800\"", 0,
	      "an escaped backslash followed by uD800 is text, not an escape");
	check("\"\\\\\\uD800\"", "\"\\\\\\uFFFD\"", 1,
	      "an escaped backslash, then a real lone surrogate");

	/* Bytes that are not UTF-8. */
	check("\"J\xfcrgen\"", "\"J\xef\xbf\xbdrgen\"", 1, "a Latin-1 byte");
	check("\"\xc0\xaf\"", "\"\xef\xbf\xbd\xef\xbf\xbd\"", 2,
	      "an overlong '/' is two bad bytes");
	check("\"\xed\xa0\x80\"", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 3,
	      "an encoded surrogate is three bad bytes");
	check("\"\xe2\x82\"", "\"\xef\xbf\xbd\xef\xbf\xbd\"", 2,
	      "a cut sequence");
	check("\"\\\xfc\"", "\"\\\xef\xbf\xbd\"", 1,
	      "a bad byte right after a backslash");
	check("\"ok\xf4\x8f\xbf\xbf\"", "\"ok\xf4\x8f\xbf\xbf\"", 0,
	      "U+10FFFF is kept");

	/* NUL inside the text is a bad byte too. */
	memcpy(buf, "\"a\0b\"", 5);
	fixes = textfix_json(buf, 5, &out, &n);
	ok(fixes == 1 && n == 7 &&
		   !memcmp(out,
			   "\"a\xef\xbf\xbd"
			   "b\"",
			   7),
	   "NUL becomes U+FFFD");
	free(out);

	/* What cJSON makes of it. */
	ok(!cJSON_Parse("{\"name\":\"Ann \\uD800\"}"),
	   "control: cJSON refuses a lone surrogate escape");
	fixed = json_fixed("{\"name\":\"Ann \\uD800\"}", &fixes);
	ok(parses_to(fixed, "Ann \xef\xbf\xbd"),
	   "fixed, it parses, and the name reads with U+FFFD");
	free(fixed);
	fixed = json_fixed("{\"name\":\"M\xfcller\"}", &fixes);
	ok(parses_to(fixed, "M\xef\xbf\xbdller"),
	   "a Latin-1 name parses as valid UTF-8 with U+FFFD");
	free(fixed);

	/* textfix_utf8 */
	ok(textfix_utf8("abc", 3, NULL) == 3,
	   "utf8: clean text measures as is");
	ok(textfix_utf8("a\xff"
			"b",
			3, NULL) == 5 &&
		   textfix_utf8("a\xff"
				"b",
				3, buf) == 5 &&
		   !memcmp(buf,
			   "a\xef\xbf\xbd"
			   "b",
			   5),
	   "utf8: a bad byte becomes 3");
	ok(textfix_utf8("\\uD800", 6, NULL) == 6,
	   "utf8: escapes are not its business");
	return done_testing();
}

/*
 * test_input.c - the checks applied to what users write (input.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "tap.h"

static const char defs_json[] =
	"[{\"id\":\"p-company\",\"name\":\"Company\",\"type\":\"text\"},"
	"{\"id\":\"p-phone\",\"name\":\"Phone number\"},"
	"{\"id\":\"p-note\",\"name\":\"Notes/internal\"},"
	"{\"name\":\"No id\"}]";

/* Byte strings with explicit lengths (NUL may be inside). */
struct bytes {
	const char *s;
	size_t n;
	const char *what;
};
#define B(lit, what)                                                           \
	{                                                                      \
		lit, sizeof(lit) - 1, what                                     \
	}

static void test_utf8(void)
{
	static const struct bytes good[] = {
		B("", "empty"),
		B("plain ASCII\t\r\n\x01\x7f", "ASCII, controls included"),
		B("\xc2\x80", "U+0080, the first two-byte"),
		B("J\xc3\xbcrgen M\xc3\xbcller", "Latin letters in UTF-8"),
		B("\xdf\xbf", "U+07FF"),
		B("\xe0\xa0\x80", "U+0800, the first three-byte"),
		B("\xe2\x82\xac", "the euro sign"),
		B("\xed\x9f\xbf", "U+D7FF, below the surrogates"),
		B("\xee\x80\x80", "U+E000, above the surrogates"),
		B("\xef\xbf\xbd", "U+FFFD"),
		B("\xef\xbf\xbf", "U+FFFF (a noncharacter, but well-formed)"),
		B("\xf0\x90\x80\x80", "U+10000, the first four-byte"),
		B("\xf0\x9f\x98\x80", "an emoji"),
		B("\xf4\x8f\xbf\xbf", "U+10FFFF, the last"),
	};
	static const struct bytes bad[] = {
		B("\0", "NUL"),
		B("a\0b", "NUL inside"),
		B("M\xfcller", "Latin-1"),
		B("\x80", "a lone continuation byte"),
		B("\xbf", "another lone continuation byte"),
		B("\xc3", "a lead byte at the end"),
		B("\xc3x", "a lead byte without its continuation"),
		B("\xe2\x82", "a three-byte sequence cut short"),
		B("\xf0\x9f\x98", "a four-byte sequence cut short"),
		B("\xc0\xaf", "overlong '/' (C0)"),
		B("\xc1\xbf", "overlong (C1)"),
		B("\xc0\x80", "overlong NUL"),
		B("\xe0\x80\xaf", "overlong three-byte '/'"),
		B("\xe0\x9f\xbf", "overlong U+07FF"),
		B("\xf0\x80\x80\xaf", "overlong four-byte '/'"),
		B("\xf0\x8f\xbf\xbf", "overlong U+FFFF"),
		B("\xed\xa0\x80", "U+D800, a high surrogate"),
		B("\xed\xbf\xbf", "U+DFFF, a low surrogate"),
		B("\xed\xa0\xbd\xed\xb8\x80", "a surrogate pair (CESU-8)"),
		B("\xf4\x90\x80\x80", "U+110000, past the last"),
		B("\xf5\x80\x80\x80", "lead byte F5"),
		B("\xf8\x88\x80\x80\x80", "a five-byte form"),
		B("\xfe", "FE"),
		B("\xff", "FF"),
		B("\xe2\x28\xa1", "a bad second byte"),
		B("\xe2\x82\x28", "a bad third byte"),
		B("\xf0\x9f\x98\x28", "a bad fourth byte"),
	};
	char why[INPUT_WHY_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(input_utf8_valid(good[i].s, good[i].n) &&
			   input_utf8(good[i].s, good[i].n, why, sizeof(why)) ==
				   0,
		   "UTF-8: %s passes", good[i].what);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!input_utf8_valid(bad[i].s, bad[i].n) &&
			   input_utf8(bad[i].s, bad[i].n, why, sizeof(why)) ==
				   -EINVAL,
		   "UTF-8: %s is refused", bad[i].what);

	ok(input_utf8_span("ab\xc3\xbc\xfcx", 6) == 4,
	   "the span ends at the first bad byte");
	ok(input_utf8_span("ab\xe2\x82", 4) == 2,
	   "a sequence cut short is not part of the span");
	ok(input_utf8("M\xfcller", 7, why, sizeof(why)) == -EINVAL &&
		   strstr(why, "byte 1") && strstr(why, "0xfc") &&
		   strstr(why, "UTF-8"),
	   "the reason names the offset and the byte (%s)", why);
	ok(input_utf8("a\0", 2, why, sizeof(why)) == -EINVAL &&
		   strstr(why, "NUL"),
	   "NUL has its own reason (%s)", why);
}

static void test_field(void)
{
	char why[INPUT_WHY_MAX];

	ok(input_field("email", "a@b.cd", false, why, sizeof(why)) == 0,
	   "an ordinary email passes");
	ok(input_field("email", "j\xc3\xbcrgen@b.cd", false, why,
		       sizeof(why)) == 0,
	   "UTF-8 letters pass");
	ok(input_field("email", "a\x01@b.cd", false, why, sizeof(why)) ==
			   -EINVAL &&
		   strstr(why, "0x01") && strstr(why, "email"),
	   "a control character is refused and named (%s)", why);
	ok(input_field("email", "a\r@b.cd", false, why, sizeof(why)) == -EINVAL,
	   "CR is refused");
	ok(input_field("email", "a\x7f@b.cd", false, why, sizeof(why)) ==
		   -EINVAL,
	   "DEL is refused");
	ok(input_field("email", "a\t@b.cd", false, why, sizeof(why)) == -EINVAL,
	   "tab is refused where tab_ok is false");
	ok(input_field("first name", "a\tb", true, why, sizeof(why)) == 0,
	   "tab passes where tab_ok is true");
	ok(input_field("first name", "a\x1b!", true, why, sizeof(why)) ==
		   -EINVAL,
	   "other controls are refused with tab_ok");
}

static void test_value(void)
{
	char why[INPUT_WHY_MAX] = "";
	char *out = NULL;
	static const char bin[] = {'a', 0x01, 'b', '\n'};

	ok(input_value("ACME\n", 5, &out, why, sizeof(why)) == 0 &&
		   !strcmp(out, "ACME"),
	   "one trailing newline is dropped");
	free(out);
	ok(input_value("ACME\r\n", 6, &out, why, sizeof(why)) == 0 &&
		   !strcmp(out, "ACME"),
	   "a CRLF ending is dropped too");
	free(out);
	ok(input_value("ACME\n\n", 6, &out, why, sizeof(why)) == -EINVAL,
	   "only one newline is dropped: two lines are refused");
	ok(strstr(why, "one line") != NULL, "the reason says so (%s)", why);
	ok(input_value("", 0, &out, why, sizeof(why)) == 0 && !*out,
	   "empty content is an empty value");
	free(out);
	ok(input_value("a\tb", 3, &out, why, sizeof(why)) == 0 &&
		   !strcmp(out, "a\tb"),
	   "tabs are kept");
	free(out);
	ok(input_value(bin, sizeof(bin), &out, why, sizeof(why)) == -EINVAL,
	   "control bytes are refused");
	ok(strstr(why, "0x01") != NULL, "the reason names the byte (%s)", why);
	ok(input_value("a\0b", 3, &out, why, sizeof(why)) == -EINVAL,
	   "NUL is refused");
	ok(input_value("Jürgen ☃", strlen("Jürgen ☃"), &out, why,
		       sizeof(why)) == 0 &&
		   !strcmp(out, "Jürgen ☃"),
	   "UTF-8 text passes unchanged");
	free(out);
	out = NULL;
	ok(input_value("M\xfcller & S\xf6hne\n", 15, &out, why, sizeof(why)) ==
			   -EINVAL &&
		   !out,
	   "Latin-1 text is refused");
	ok(strstr(why, "UTF-8") != NULL, "the reason says UTF-8 (%s)", why);
	ok(input_value("\xed\xa0\x80\n", 4, &out, why, sizeof(why)) == -EINVAL,
	   "an encoded surrogate is refused");
	ok(input_value("\xc3\n", 2, &out, why, sizeof(why)) == -EINVAL,
	   "a character cut short by the newline is refused");
}

static void test_state(void)
{
	static const struct {
		const char *text;
		int r;
		bool active;
	} cases[] = {
		{"active\n", 0, true},
		{"inactive\n", 0, false},
		{"1", 0, true},
		{"0\n", 0, false},
		{"TRUE\n", 0, true},
		{"false", 0, false},
		{"  on  \n", 0, true},
		{"off\n", 0, false},
		{"maybe\n", -EINVAL, 0},
		{"", -EINVAL, 0},
		{"active\nx\n", -EINVAL, 0},
		{"activ", -EINVAL, 0},
		{"active\xa0\n", -EINVAL, 0},
	};
	char why[INPUT_WHY_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool a = !cases[i].active;
		int r = input_state(cases[i].text, strlen(cases[i].text), &a,
				    why, sizeof(why));

		ok(r == cases[i].r && (r || a == cases[i].active),
		   "state case %zu -> r=%d active=%d", i, r, a);
	}
	input_state("maybe\n", 6, &(bool){0}, why, sizeof(why));
	ok(strstr(why, "maybe") && strstr(why, "active"),
	   "a bad word is named and the valid ones suggested (%s)", why);
}

/* Content still being written: refused only where no continuation can
 * make it valid. */
static void test_prefix(void)
{
	static const struct {
		const char *s;
		size_t n;
		int value; /* input_value_prefix */
		int state; /* input_state_prefix */
		const char *what;
	} cases[] = {
#define P(lit, v, st, what) {lit, sizeof(lit) - 1, v, st, what}
		P("", 0, 0, "nothing yet"),
		P("ACME", 0, -EINVAL, "a value without its newline"),
		P("ACME\n", 0, -EINVAL, "a whole value"),
		P("ACME\r", 0, -EINVAL, "a CR that may become CRLF"),
		P("ACME\r\n", 0, -EINVAL, "a CRLF ending"),
		P("a\rb", -EINVAL, -EINVAL, "a CR inside the line"),
		P("ACME\nx", -EINVAL, -EINVAL, "a second line begun"),
		P("ACME\n\n", -EINVAL, -EINVAL, "an empty second line"),
		P("a\x01", -EINVAL, -EINVAL, "a control byte"),
		P("a\0", -EINVAL, -EINVAL, "a NUL byte"),
		P("J\xc3", 0, -EINVAL, "a character cut at the end"),
		P("\xe2\x82", 0, -EINVAL, "two bytes of three"),
		P("\xf0\x9f\x98", 0, -EINVAL, "three bytes of four"),
		P("J\xc3\n", -EINVAL, -EINVAL,
		  "a character cut by the newline"),
		P("M\xfcller", -EINVAL, -EINVAL, "Latin-1"),
		P("\xe0\x80", -EINVAL, -EINVAL, "an overlong start"),
		P("\xed\xa0", -EINVAL, -EINVAL, "a surrogate start"),
		P("\xc3x", -EINVAL, -EINVAL,
		  "a lead byte without continuation"),
		P("a", 0, 0, "the start of active"),
		P("  InAc", 0, 0, "the start of inactive, blanks and case"),
		P("inactive", 0, 0, "inactive, not yet ended"),
		P("inactive  ", 0, 0, "inactive and blanks"),
		P("TRUE\r\n", 0, 0, "true with CRLF"),
		P("of", 0, 0, "the start of off"),
		P("\n", 0, 0, "an empty line (a create's grant)"),
		P("b", 0, -EINVAL, "no state starts with b"),
		P("activ ", 0, -EINVAL, "a word ended short"),
		P("activ\n", 0, -EINVAL, "a line ended short"),
		P("active x", 0, -EINVAL, "a second word"),
		P("actives", 0, -EINVAL, "a word too long"),
		P("bogus\n", 0, -EINVAL, "echo bogus"),
#undef P
	};
	char why[INPUT_WHY_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int v = input_value_prefix(cases[i].s, cases[i].n, why,
					   sizeof(why));
		int st = input_state_prefix(cases[i].s, cases[i].n, why,
					    sizeof(why));

		ok(v == cases[i].value, "value prefix: %s -> %d (want %d)",
		   cases[i].what, v, cases[i].value);
		ok(st == (cases[i].value ? cases[i].value : cases[i].state),
		   "state prefix: %s -> %d", cases[i].what, st);
	}
	input_state_prefix("bogus\n", 6, why, sizeof(why));
	ok(strstr(why, "'bogus'") && strstr(why, "active"),
	   "the reason names the word and the valid ones (%s)", why);
	input_value_prefix("a\nb", 3, why, sizeof(why));
	ok(strstr(why, "one line") != NULL, "a second line is named (%s)", why);
	ok(input_utf8_prefix("ok \xe2\x82", 5, why, sizeof(why)) == 0 &&
		   input_utf8_prefix("ok \xff", 4, why, sizeof(why)) ==
			   -EINVAL &&
		   strstr(why, "0xff"),
	   "utf8 prefix: a cut character waits, a bad byte is named (%s)", why);
}

static int diff(const char *current, const char *edit, cJSON **changes,
		char *why)
{
	cJSON *defs = cJSON_Parse(defs_json);
	cJSON *cur = current ? cJSON_Parse(current) : NULL;
	int r;

	*changes = NULL;
	r = input_props_diff(defs, cur, edit, strlen(edit), changes, why,
			     INPUT_WHY_MAX);
	cJSON_Delete(defs);
	cJSON_Delete(cur);
	return r;
}

static void test_props(void)
{
	const char *cur = "{\"p-company\":\"ACME\",\"p-phone\":\"123\"}";
	char why[INPUT_WHY_MAX];
	cJSON *ch;
	char *text;

	ok(diff(cur, "{\"Company\":\"ACME\",\"Phone number\":\"123\"}\n", &ch,
		why) == 0 &&
		   cJSON_GetArraySize(ch) == 0,
	   "an unchanged object sends nothing");
	cJSON_Delete(ch);

	ok(diff(cur, "{\"Company\":\"A\\u0000B\"}", &ch, why) == -EINVAL &&
		   strstr(why, "u0000"),
	   "\\u0000 in a string is refused, not cut short (%s)", why);
	ok(diff(cur, "{\"Company\":\"A\\u0001B\"}", &ch, why) == -EINVAL &&
		   strstr(why, "control character 0x01"),
	   "an escaped control character is refused (%s)", why);
	ok(diff(cur, "{\"Company\":\"A\\\\u0000B\"}", &ch, why) == 0 &&
		   cJSON_GetArraySize(ch) == 1,
	   "an escaped backslash before u0000 is text, not NUL");
	cJSON_Delete(ch);
	ok(diff(cur, "{\"Company\":\"line 1\\nline 2\\tend\"}", &ch, why) ==
			   0 &&
		   cJSON_GetArraySize(ch) == 1,
	   "line breaks and tabs may be written in JSON strings");
	cJSON_Delete(ch);

	ok(diff(cur,
		"{\"Company\":\"New\",\"Phone number\":\"123\","
		"\"Notes/internal\":null}",
		&ch, why) == 0 &&
		   cJSON_GetArraySize(ch) == 1,
	   "only the changed name is sent (unset stays null)");
	text = cJSON_PrintUnformatted(ch);
	ok(text && !strcmp(text, "[{\"propertyId\":\"p-company\","
				 "\"value\":\"New\"}]"),
	   "by property id, with the new value (%s)", text);
	free(text);
	cJSON_Delete(ch);

	ok(diff(cur, "{\"p-phone\":\"456\"}", &ch, why) == 0 &&
		   cJSON_GetArraySize(ch) == 1,
	   "an id works as a name; names left out are left alone");
	cJSON_Delete(ch);

	ok(diff(NULL, "{\"Notes/internal\":42}", &ch, why) == 0 &&
		   cJSON_GetArraySize(ch) == 1,
	   "numbers are values too; no current values at all is fine");
	cJSON_Delete(ch);

	ok(diff(cur, "{\"Nope\":\"x\"}", &ch, why) == -EINVAL && !ch &&
		   strstr(why, "Nope"),
	   "an unknown name is refused and named (%s)", why);
	ok(diff(cur, "{\"Company\":{\"a\":1}}", &ch, why) == -EINVAL,
	   "an object value is refused");
	ok(diff(cur, "{\"Company\":[1]}", &ch, why) == -EINVAL,
	   "an array value is refused");
	ok(diff(cur, "[1,2]", &ch, why) == -EINVAL && strstr(why, "object"),
	   "an array document is refused (%s)", why);
	ok(diff(cur, "{\"Company\":", &ch, why) == -EINVAL,
	   "broken JSON is refused");
	ok(diff(cur, "{} {}", &ch, why) == -EINVAL && strstr(why, "after"),
	   "text after the object is refused (%s)", why);
	ok(diff(cur, "{\"Company\":\"a\",\"Company\":\"b\"}", &ch, why) ==
		   -EINVAL,
	   "a name given twice is refused");
	ok(diff(cur, "{\"Company\":\"a\",\"p-company\":\"b\"}", &ch, why) ==
			   -EINVAL &&
		   !ch && strstr(why, "same property"),
	   "a property given by its name and by its id is refused (%s)", why);
	ok(diff(cur, "{\"No id\":\"x\"}", &ch, why) == -EINVAL && !ch &&
		   strstr(why, "'No id' has no id"),
	   "a definition without an id cannot be set (%s)", why);
	ok(diff(cur, "", &ch, why) == -EINVAL, "empty content is refused");
	ok(diff(cur, "{\"Company\": \"M\xfcller\"}\n", &ch, why) == -EINVAL &&
		   !ch && strstr(why, "UTF-8"),
	   "a Latin-1 value is refused before parsing (%s)", why);
	ok(diff(cur, "{\"Comp\xe4ny\": 1}", &ch, why) == -EINVAL && !ch,
	   "a Latin-1 name is refused");
	ok(diff(cur, "{\"Company\": \"M\xc3\xbcller\"}\n", &ch, why) == 0 &&
		   cJSON_GetArraySize(ch) == 1,
	   "the same value in UTF-8 is sent");
	cJSON_Delete(ch);
}

int main(void)
{
	test_utf8();
	test_field();
	test_value();
	test_state();
	test_prefix();
	test_props();
	return done_testing();
}

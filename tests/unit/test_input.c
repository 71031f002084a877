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
}

static void test_state(void)
{
	static const struct {
		const char *text;
		int r;
		bool active;
	} cases[] = {
		{"active\n", 0, true},	   {"inactive\n", 0, false},
		{"1", 0, true},		   {"0\n", 0, false},
		{"TRUE\n", 0, true},	   {"false", 0, false},
		{"  on  \n", 0, true},	   {"off\n", 0, false},
		{"maybe\n", -EINVAL, 0},   {"", -EINVAL, 0},
		{"active\nx\n", -EINVAL, 0}, {"activ", -EINVAL, 0},
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
			   -EINVAL && !ch && strstr(why, "same property"),
	   "a property given by its name and by its id is refused (%s)", why);
	ok(diff(cur, "{\"No id\":\"x\"}", &ch, why) == -EINVAL && !ch &&
		   strstr(why, "No id"),
	   "a definition without an id cannot be set (%s)", why);
	ok(diff(cur, "", &ch, why) == -EINVAL, "empty content is refused");
}

int main(void)
{
	test_value();
	test_state();
	test_props();
	return done_testing();
}

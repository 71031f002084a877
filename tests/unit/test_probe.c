/*
 * test_probe: the parts of --probe that need no network. Shapes show keys
 * and types only, merged over array items, bounded in depth, width and
 * key length, with hostile keys escaped; the redactor keeps the structure
 * and never a value, numbering equal values alike across answers.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "probe.h"
#include "tap.h"

/* The shape of a JSON text, as a malloc'd string ("PARSE" when the text
 * does not parse). */
static char *shape_of(const char *text)
{
	struct buf b = {0};
	cJSON *j = cJSON_Parse(text);

	if (!j)
		return strdup("PARSE");
	if (probe_shape(j, &b))
		buf_puts(&b, "ENOMEM");
	cJSON_Delete(j);
	return buf_steal(&b);
}

static void shape_is(const char *text, const char *want, const char *what)
{
	char *got = shape_of(text);

	ok(tap_streq(got, want), "%s: %s", what, got);
	free(got);
}

static char *key_of(const char *key)
{
	struct buf b = {0};

	if (probe_put_key(&b, key))
		return strdup("ENOMEM");
	return buf_steal(&b);
}

static void key_is(const char *key, const char *want, const char *what)
{
	char *got = key_of(key);

	ok(tap_streq(got, want), "%s: %s", what, got);
	free(got);
}

static void test_shapes(void)
{
	shape_is("\"x\"", "string", "a string");
	shape_is("1.5", "number", "a number");
	shape_is("true", "bool", "a bool");
	shape_is("null", "null", "null");
	shape_is("{}", "{}", "an empty object");
	shape_is("[]", "[]", "an empty array");
	shape_is("{\"id\":\"o1\",\"name\":\"Kurs\",\"hasCourseIds\":[\"c1\","
		 "\"c2\"],\"price\":9}",
		 "{id: string, name: string, hasCourseIds: [string], price: "
		 "number}",
		 "an offer");
	shape_is("[{\"a\":1},{\"a\":\"x\",\"b\":null}]",
		 "[{a: string|number, b?: null}]",
		 "array items merged: types joined, a missing key marked ?");
	shape_is("{\"users\":[],\"nextPage\":null}",
		 "{users: [], nextPage: null}", "an empty page");
	shape_is("[[[[[[[[1]]]]]]]]", "[[[[[[[...]]]]]]]",
		 "nesting deeper than PROBE_DEPTH is [...]");
	shape_is("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":1}}}}}}}",
		 "{a: {b: {c: {d: {e: {f: {...}}}}}}}",
		 "objects deeper than PROBE_DEPTH are {...}");
}

static void test_shape_bounds(void)
{
	struct buf text = {0};
	char *got;
	int i, j;

	buf_puts(&text, "{");
	for (i = 0; i < PROBE_KEYS + 10; i++)
		buf_printf(&text, "%s\"k%d\":1", i ? "," : "", i);
	buf_puts(&text, "}");
	got = shape_of(text.data);
	ok(strstr(got, "k31: number, ...}") && !strstr(got, "k32"),
	   "more than PROBE_KEYS keys: the first shown, then ...");
	free(got);
	buf_free(&text);

	/* wide and deep at once: the line stays bounded */
	buf_puts(&text, "{");
	for (i = 0; i < PROBE_KEYS; i++) {
		buf_printf(&text, "%s\"outer-%d-abcdefghijklmnopqrstuvwxyz\":{",
			   i ? "," : "", i);
		for (j = 0; j < PROBE_KEYS; j++)
			buf_printf(
				&text,
				"%s\"inner-%d-abcdefghijklmnopqrstuvwxyz\":1",
				j ? "," : "", j);
		buf_puts(&text, "}");
	}
	buf_puts(&text, "}");
	got = shape_of(text.data);
	ok(strlen(got) <= PROBE_SHAPE_MAX + 4 &&
		   !strcmp(got + strlen(got) - 4, " ..."),
	   "a huge shape is cut at PROBE_SHAPE_MAX (%zu bytes)", strlen(got));
	free(got);
	buf_free(&text);
}

static void test_keys(void)
{
	char long_key[100];

	key_is("customProperties", "customProperties", "a plain key");
	key_is("Straße", "Straße", "text beyond ASCII stays bare");
	key_is("a b", "\"a b\"", "a space: quoted");
	key_is("", "\"\"", "the empty key: quoted");
	key_is("x\ny", "\"x\\u000ay\"", "a newline is escaped");
	key_is("\x1b[31m", "\"\\u001b[31m\"", "an escape sequence is escaped");
	key_is("a\xe2\x80\xae"
	       "b",
	       "\"a\\u202eb\"", "a direction override is escaped");
	key_is("q\"\\", "\"q\\\"\\\\\"", "quote and backslash are escaped");
	key_is("\xff", "\"\\xff\"", "a byte that is not UTF-8 is escaped");
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	key_is(long_key, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...",
	       "a long key is cut at PROBE_KEY_MAX bytes");
}

/* Is any of the values in the JSON text? */
static int leaks(const char *text, const char *const *values)
{
	for (; *values; values++)
		if (strstr(text, *values))
			return 1;
	return 0;
}

static void test_redact(void)
{
	static const char *const secrets[] = {
		"anna@example.com", "u-000001", "Anna",
		"ACME GmbH",	    "42",	"73.5",
		"tok-abc",	    NULL};
	struct probe_redactor *r = probe_redactor_new();
	cJSON *defs = cJSON_Parse("[{\"id\":\"p-company\",\"name\":"
				  "\"Company\",\"type\":\"text\"}]");
	cJSON *page = cJSON_Parse(
		"{\"users\":[{\"uid\":\"u-000001\",\"email\":"
		"\"anna@example.com\",\"firstname\":\"Anna\",\"active\":true,"
		"\"score\":73.5,\"logins\":42,\"note\":\"\",\"x\":null,"
		"\"customProperties\":{\"p-company\":\"ACME GmbH\"}}],"
		"\"nextPage\":null}");
	cJSON *user = cJSON_Parse("{\"uid\":\"u-000001\",\"email\":"
				  "\"anna@example.com\",\"token\":\"tok-abc\","
				  "\"logins\":42}");
	cJSON *rd, *rp, *ru;
	char *td = NULL, *tp = NULL, *tu = NULL;
	const cJSON *u;

	if (!ok(r && defs && page && user, "set up"))
		goto out;
	ok(!probe_redact_keep_keys(r, defs) &&
		   !probe_redact_keep_keys(r, page) &&
		   !probe_redact_keep_keys(r, user),
	   "keys noted");
	rd = probe_redact(r, defs);
	rp = probe_redact(r, page);
	ru = probe_redact(r, user);
	if (!ok(rd && rp && ru, "redacted"))
		goto out_r;
	td = cJSON_PrintUnformatted(rd);
	tp = cJSON_PrintUnformatted(rp);
	tu = cJSON_PrintUnformatted(ru);
	ok(!leaks(tp, secrets) && !leaks(tu, secrets) && !leaks(td, secrets),
	   "no value survives: %s %s", tp, tu);
	u = cJSON_GetArrayItem(cJSON_GetObjectItem(rp, "users"), 0);
	ok(tap_streq(cJSON_GetObjectItem(u, "uid")->valuestring,
		     cJSON_GetObjectItem(ru, "uid")->valuestring),
	   "an equal string gets the same placeholder in another answer");
	ok(!tap_streq(cJSON_GetObjectItem(u, "uid")->valuestring,
		      cJSON_GetObjectItem(u, "email")->valuestring),
	   "different strings get different placeholders");
	ok(cJSON_GetObjectItem(u, "logins")->valuedouble ==
		   cJSON_GetObjectItem(ru, "logins")->valuedouble,
	   "an equal number gets the same placeholder");
	ok(cJSON_GetObjectItem(u, "logins")->valuedouble ==
		   (double)(long)cJSON_GetObjectItem(u, "logins")->valuedouble,
	   "an integer stays an integer");
	ok(cJSON_GetObjectItem(u, "score")->valuedouble !=
		   (double)(long)cJSON_GetObjectItem(u, "score")->valuedouble,
	   "a fraction stays a fraction");
	ok(cJSON_IsTrue(cJSON_GetObjectItem(u, "active")) &&
		   cJSON_IsNull(cJSON_GetObjectItem(u, "x")) &&
		   tap_streq(cJSON_GetObjectItem(u, "note")->valuestring, ""),
	   "booleans, null and \"\" are kept");
	ok(tap_streq(cJSON_GetObjectItem(cJSON_GetArrayItem(rd, 0), "id")
			     ->valuestring,
		     "p-company") &&
		   cJSON_GetObjectItem(
			   cJSON_GetObjectItem(u, "customProperties"),
			   "p-company"),
	   "a property id that keys the members' values is kept");
	ok(!tap_streq(cJSON_GetObjectItem(cJSON_GetArrayItem(rd, 0), "type")
			      ->valuestring,
		      "text"),
	   "other strings of the definitions are not");
	ok(cJSON_IsNull(cJSON_GetObjectItem(rp, "nextPage")) &&
		   cJSON_GetArraySize(cJSON_GetObjectItem(rp, "users")) == 1,
	   "the structure is kept");
out_r:
	cJSON_Delete(rd);
	cJSON_Delete(rp);
	cJSON_Delete(ru);
	free(td);
	free(tp);
	free(tu);
out:
	cJSON_Delete(defs);
	cJSON_Delete(page);
	cJSON_Delete(user);
	probe_redactor_free(r);
}

int main(void)
{
	test_shapes();
	test_shape_bounds();
	test_keys();
	test_redact();
	return done_testing();
}

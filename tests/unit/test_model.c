/* Unit tests for model.c: users-page shapes, getters on missing and
 * mistyped fields, scalar text and the exam CSV. */
#include "model.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (!j) {
		diag("bad test JSON: %s", s);
		abort();
	}
	return j;
}

/* Runs model_users_page on `json`; returns its rc and fills the count,
 * first uid and cursor (cursor "" when NULL, for easy comparison). */
static int page(const char *json, int page_len, int *count, char *first,
		char *cursor)
{
	cJSON *body = parse(json), *users = NULL;
	char *next = NULL;
	int rc;

	rc = model_users_page(body, page_len, &users, &next);
	*count = users ? cJSON_GetArraySize(users) : -1;
	first[0] = '\0';
	if (users && users->child && model_user_uid(users->child))
		strcpy(first, model_user_uid(users->child));
	strcpy(cursor, next ? next : "");
	/* The body must still be freeable on its own. */
	cJSON_Delete(body);
	cJSON_Delete(users);
	free(next);
	return rc;
}

static void test_users_page(void)
{
	char first[64], cur[64];
	int n, rc;

	rc = page("{\"users\":[{\"uid\":\"u1\"},{\"uid\":\"u2\"}],"
		  "\"nextPage\":\"u2\"}",
		  2, &n, first, cur);
	ok(rc == 0 && n == 2 && tap_streq(first, "u1") && tap_streq(cur, "u2"),
	   "users/nextPage shape");
	rc = page("{\"users\":[{\"uid\":\"u1\"}],\"nextPage\":null}", 1, &n,
		  first, cur);
	ok(rc == 0 && n == 1 && tap_streq(cur, ""),
	   "nextPage null ends the list even on a full page");
	rc = page("{\"users\":[{\"uid\":\"a/b\"}],\"next_page\":\"a/b\"}", 1,
		  &n, first, cur);
	ok(rc == 0 && n == 1 && tap_streq(cur, "a/b"), "next_page spelling");
	rc = page("{\"users\":[],\"next_page\":null}", 10, &n, first, cur);
	ok(rc == 0 && n == 0 && tap_streq(cur, ""), "empty page");
	rc = page("[{\"uid\":\"u1\"},{\"uid\":\"u2\"}]", 2, &n, first, cur);
	ok(rc == 0 && n == 2 && tap_streq(first, "u1") && tap_streq(cur, "u2"),
	   "bare array, full page: cursor is the last uid");
	rc = page("[{\"uid\":\"u1\"}]", 2, &n, first, cur);
	ok(rc == 0 && n == 1 && tap_streq(cur, ""),
	   "bare array, short page ends the list");
	rc = page("[]", 2, &n, first, cur);
	ok(rc == 0 && n == 0 && tap_streq(cur, ""), "empty bare array");
	rc = page("[{\"uid\":\"u1\"},{\"email\":\"x@y\"}]", 2, &n, first, cur);
	ok(rc == 0 && n == 2 && tap_streq(cur, ""),
	   "bare array whose last user lacks a uid ends the list");
	rc = page("{\"users\":[{\"uid\":\"u1\"},{\"uid\":\"u2\"}]}", 2, &n,
		  first, cur);
	ok(rc == 0 && n == 2 && tap_streq(cur, "u2"),
	   "envelope without a cursor key: full page continues after last uid");
	rc = page("{\"users\":[{\"uid\":\"u1\"}]}", 2, &n, first, cur);
	ok(rc == 0 && n == 1 && tap_streq(cur, ""),
	   "envelope without a cursor key: short page ends");
	rc = page("{\"users\":[{\"uid\":\"u1\"}],\"nextPage\":42}", 1, &n,
		  first, cur);
	ok(rc == 0 && n == 1 && tap_streq(cur, ""),
	   "non-string cursor ends the list");
	rc = page("{\"users\":[{\"uid\":\"u1\"}],\"nextPage\":\"\"}", 1, &n,
		  first, cur);
	ok(rc == 0 && tap_streq(cur, ""), "empty-string cursor ends the list");
	rc = page("{\"items\":[]}", 10, &n, first, cur);
	ok(rc == -EIO && n == -1, "object without users is -EIO");
	rc = page("{\"users\":{\"uid\":\"u1\"}}", 10, &n, first, cur);
	ok(rc == -EIO, "users that is not an array is -EIO");
	rc = page("\"users\"", 10, &n, first, cur);
	ok(rc == -EIO, "string body is -EIO");
	rc = page("null", 10, &n, first, cur);
	ok(rc == -EIO, "null body is -EIO");
}

static void test_getters(void)
{
	cJSON *u = parse(
		"{\"uid\":\"u-1\",\"email\":\"anna+test@example.com\","
		"\"active\":true,\"offers\":[{\"offerId\":\"bundle/2026\","
		"\"orderId\":\"ord-1\",\"active\":false}],"
		"\"customProperties\":{\"p-company\":\"ACME\"},\"extra\":1}");
	cJSON *bad = parse("{\"uid\":7,\"email\":null,\"active\":\"yes\","
			   "\"offers\":{},\"customProperties\":[],"
			   "\"Email\":\"x@y\"}");
	cJSON *empty = parse("{\"uid\":\"\",\"email\":\"\",\"name\":\"\"}");
	cJSON *arr = parse("[1,2]");
	cJSON *offer = parse("{\"id\":\"100%-kurs\",\"name\":\"Grundkurs "
			     "F\xc3\xbchrung\",\"courses\":[{\"id\":\"c1\"},"
			     "{\"name\":\"no id\"}],\"price\":9}");
	const cJSON *grants, *g, *courses;

	ok(tap_streq(model_user_uid(u), "u-1"), "user uid");
	ok(tap_streq(model_user_email(u), "anna+test@example.com"),
	   "user email");
	ok(model_user_active(u) == 1, "user active");
	grants = model_user_offers(u);
	ok(cJSON_IsArray(grants) && cJSON_GetArraySize(grants) == 1,
	   "user offers");
	g = grants ? grants->child : NULL;
	ok(tap_streq(model_grant_offer_id(g), "bundle/2026"), "grant offer id");
	ok(tap_streq(model_grant_order_id(g), "ord-1"), "grant order id");
	ok(model_grant_active(g) == 0, "grant inactive");
	ok(tap_streq(model_user_props_reading(u), "customProperties"),
	   "user props");

	ok(model_user_uid(bad) == NULL, "numeric uid is NULL");
	ok(model_user_email(bad) == NULL,
	   "null email is NULL, and lookup is case-sensitive");
	ok(model_user_active(bad) == -1, "string active is unknown");
	ok(model_user_offers(bad) == NULL, "offers object is NULL");
	ok(model_user_props_reading(bad) == NULL, "props array is not props");
	ok(model_user_uid(empty) == NULL && model_user_email(empty) == NULL,
	   "empty identifiers are treated as missing");
	ok(model_grant_active(empty) == -1, "missing active is unknown");

	ok(model_user_uid(NULL) == NULL && model_user_active(NULL) == -1 &&
		   model_user_offers(NULL) == NULL &&
		   model_grant_offer_id(NULL) == NULL,
	   "getters accept NULL");
	ok(model_user_uid(arr) == NULL && model_offer_id(arr) == NULL,
	   "getters on an array yield NULL");

	ok(tap_streq(model_offer_id(offer), "100%-kurs"), "offer id");
	ok(tap_streq(model_offer_name(offer), "Grundkurs F\xc3\xbchrung"),
	   "offer name (UTF-8)");
	courses = model_offer_courses(offer);
	ok(courses && tap_streq(model_course_id(courses->child), "c1"),
	   "course id");
	ok(courses && model_course_id(courses->child->next) == NULL,
	   "course without id");
	ok(model_offer_courses(u) == NULL, "offer courses missing");
	ok(tap_streq(model_offer_name(empty), ""), "an empty name is a name");

	cJSON_Delete(u);
	cJSON_Delete(bad);
	cJSON_Delete(empty);
	cJSON_Delete(arr);
	cJSON_Delete(offer);

	u = parse("{\"id\":\"p-note\",\"name\":\"Notes/internal\","
		  "\"type\":\"text\",\"courseId\":\"c9\",\"token\":\"abc\"}");
	ok(tap_streq(model_propdef_id(u), "p-note"), "propdef id");
	ok(tap_streq(model_propdef_name(u), "Notes/internal"), "propdef name");
	ok(tap_streq(model_progress_course_id(u), "c9"), "progress course id");
	ok(tap_streq(model_token(u), "abc"), "token");
	cJSON_Delete(u);
	u = parse("{\"token\":null,\"courseId\":[]}");
	ok(model_token(u) == NULL && model_progress_course_id(u) == NULL,
	   "mistyped token and courseId are NULL");
	cJSON_Delete(u);
}

static int scalar_is(const char *json, const char *want)
{
	cJSON *v = parse(json);
	char *s = model_scalar_text(v);
	int r = want ? tap_streq(s, want) : s == NULL;

	if (!r)
		diag("scalar %s -> %s", json, s ? s : "(NULL)");
	free(s);
	cJSON_Delete(v);
	return r;
}

static void test_propdef_find(void)
{
	cJSON *defs = parse("[{\"id\":\"p-a\",\"name\":\"A\"},"
			    "{\"name\":\"No id\"},"
			    "{\"id\":\"\",\"name\":\"Empty id\"},"
			    "{\"name\":\"Twice\"},"
			    "{\"id\":\"p-twice\",\"name\":\"Twice\"},"
			    "{\"id\":\"p-b\"}]");

	ok(tap_streq(model_propdef_id(model_propdef_find(defs, "A")), "p-a"),
	   "propdef by name");
	ok(tap_streq(model_propdef_id(model_propdef_find(defs, "p-b")), "p-b"),
	   "propdef by id, even without a name");
	ok(model_propdef_find(defs, "No id") == NULL,
	   "a definition without an id is not found by its name");
	ok(model_propdef_idless(defs, "No id") &&
		   !model_propdef_idless(defs, "A") &&
		   !model_propdef_idless(defs, "Nope"),
	   "model_propdef_idless says why");
	ok(model_propdef_find(defs, "Empty id") == NULL &&
		   model_propdef_idless(defs, "Empty id"),
	   "an empty id is no id either");
	ok(tap_streq(model_propdef_id(model_propdef_find(defs, "Twice")),
		     "p-twice"),
	   "an id-less namesake does not hide the definition with an id");
	cJSON_Delete(defs);
}

static void test_scalar(void)
{
	ok(scalar_is("\"a,b\\n\"", "a,b\n"), "string verbatim");
	ok(scalar_is("\"\"", ""), "empty string");
	ok(scalar_is("42", "42"), "integer");
	ok(scalar_is("-1.5", "-1.5"), "fraction");
	ok(scalar_is("1234567890123", "1234567890123"), "large integer");
	ok(scalar_is("true", "true") && scalar_is("false", "false"), "bools");
	ok(scalar_is("null", ""), "null is empty");
	ok(scalar_is("[1]", NULL) && scalar_is("{}", NULL),
	   "arrays and objects are NULL");
	ok(model_scalar_text(NULL) == NULL, "NULL is NULL");
}

static int csv_is(const char *json, const char *want)
{
	cJSON *v = parse(json);
	char *csv = NULL;
	int rc = model_exam_csv(v, &csv);
	int r = rc == 0 && tap_streq(csv, want);

	if (!r)
		diag("csv rc %d:\n%s# want:\n%s", rc, csv ? csv : "(NULL)\n",
		     want);
	free(csv);
	cJSON_Delete(v);
	return r;
}

static void test_exam_csv(void)
{
	cJSON *v;
	char *csv = (char *)"x";

	ok(csv_is("[]", "uid,email,score,passed,submittedAt\n"),
	   "no rows: header only");
	ok(csv_is("[{\"uid\":\"u1\",\"email\":\"a@b\",\"score\":87.5,"
		  "\"passed\":true,\"submittedAt\":\"2026-01-02T03:04:05Z\"}]",
		  "uid,email,score,passed,submittedAt\n"
		  "u1,a@b,87.5,true,2026-01-02T03:04:05Z\n"),
	   "one plain row");
	ok(csv_is("[{\"attempt\":2,\"email\":\"a@b\",\"uid\":\"u1\"},"
		  "{\"uid\":\"u2\",\"note\":\"x\",\"attempt\":1}]",
		  "uid,email,score,passed,submittedAt,attempt,note\n"
		  "u1,a@b,,,,2,\n"
		  "u2,,,,,1,x\n"),
	   "extra columns in first-seen order, missing cells empty");
	ok(csv_is("[{\"uid\":\"a,b\",\"email\":\"say \\\"hi\\\"\","
		  "\"score\":null,\"passed\":false,"
		  "\"submittedAt\":\"line1\\r\\nline2\"}]",
		  "uid,email,score,passed,submittedAt\n"
		  "\"a,b\",\"say \"\"hi\"\"\",,false,\"line1\r\nline2\"\n"),
	   "comma, quote, CRLF quoted; null empty");
	ok(csv_is("[{\"uid\":\"cr\\ronly\",\"email\":\"lf\\nonly\"}]",
		  "uid,email,score,passed,submittedAt\n"
		  "\"cr\ronly\",\"lf\nonly\",,,\n"),
	   "a lone CR and a lone LF are each quoted");
	ok(csv_is("[{\"uid\":\"u\",\"answers\":[1,\"a\"],"
		  "\"meta\":{\"k\":\"v\"}}]",
		  "uid,email,score,passed,submittedAt,answers,meta\n"
		  "u,,,,,\"[1,\"\"a\"\"]\",\"{\"\"k\"\":\"\"v\"\"}\"\n"),
	   "nested values as compact JSON, quoted");
	ok(csv_is("[1,\"x\",null,{\"uid\":\"u\"}]",
		  "uid,email,score,passed,submittedAt\nu,,,,\n"),
	   "non-object rows skipped");
	ok(csv_is("[{\"a,b\":1,\"q\\\"\":2}]",
		  "uid,email,score,passed,submittedAt,\"a,b\",\"q\"\"\"\n"
		  ",,,,,1,2\n"),
	   "awkward column names quoted");
	ok(csv_is("[{\"name\":\"J\xc3\xbcrgen M\xc3\xbcller\",\"uid\":\" "
		  "lead\"}]",
		  "uid,email,score,passed,submittedAt,name\n"
		  " lead,,,,,J\xc3\xbcrgen M\xc3\xbcller\n"),
	   "UTF-8 and spaces unquoted");

	/* OWASP CSV injection: formula-like text gets a leading "'". */
	ok(csv_is("[{\"uid\":\"=HYPERLINK(1)\",\"email\":\"+1\","
		  "\"score\":\"-2\",\"passed\":\"@SUM(A1)\","
		  "\"submittedAt\":\"\\tx\"}]",
		  "uid,email,score,passed,submittedAt\n"
		  "'=HYPERLINK(1),'+1,'-2,'@SUM(A1),'\tx\n"),
	   "cells starting with = + - @ tab get a leading '");
	ok(csv_is("[{\"uid\":\"\\rcmd\",\"email\":\"=1+1,2\","
		  "\"note\":\"-\\\"q\\\"\"}]",
		  "uid,email,score,passed,submittedAt,note\n"
		  "\"'\rcmd\",\"'=1+1,2\",,,,\"'-\"\"q\"\"\"\n"),
	   "a guarded cell that needs quoting: the ' inside the quotes");
	ok(csv_is("[{\"uid\":\"a=b\",\"email\":\" =x\",\"score\":-3.5,"
		  "\"passed\":\"'\"}]",
		  "uid,email,score,passed,submittedAt\n"
		  "a=b, =x,-3.5,',\n"),
	   "not guarded: '=' inside, a leading blank, a JSON number, a '");
	ok(csv_is("[{\"uid\":\"u\",\"=cmd\":1,\"-x\":2}]",
		  "uid,email,score,passed,submittedAt,'=cmd,'-x\n"
		  "u,,,,,1,2\n"),
	   "column names are guarded too");
	ok(csv_is("[{\"uid\":\"u\",\"answers\":[\"=1\"],\"m\":\"\"}]",
		  "uid,email,score,passed,submittedAt,answers,m\n"
		  "u,,,,,\"[\"\"=1\"\"]\",\n"),
	   "compact JSON starts with [ or {: unguarded; an empty cell too");

	v = parse("{\"results\":[]}");
	ok(model_exam_csv(v, &csv) == -EIO && csv == NULL,
	   "object instead of array is -EIO");
	cJSON_Delete(v);
	ok(model_exam_csv(NULL, &csv) == -EIO, "NULL is -EIO");
}

/* ---- Dialects (API.md "Evidence and dialects") ---- */

static void test_dialect_pages(void)
{
	char first[64], cur[64];
	int n, rc;
	cJSON *b;

	rc = page("{\"data\":[{\"uid\":\"u1\"},{\"uid\":\"u2\"}],"
		  "\"nextPage\":\"u2\"}",
		  2, &n, first, cur);
	ok(rc == 0 && n == 2 && tap_streq(first, "u1") && tap_streq(cur, "u2"),
	   "data/nextPage envelope");
	rc = page("{\"data\":[{\"uid\":\"u1\"}],\"next_page\":null}", 1, &n,
		  first, cur);
	ok(rc == 0 && n == 1 && tap_streq(cur, ""), "data/next_page null ends");
	rc = page("{\"data\":[{\"uid\":\"u1\"},{\"uid\":\"u2\"}]}", 2, &n,
		  first, cur);
	ok(rc == 0 && n == 2 && tap_streq(cur, "u2"),
	   "data without a cursor key: the last uid continues a full page");
	rc = page("{\"items\":[{\"uid\":\"u1\"}],\"nextPage\":null}", 1, &n,
		  first, cur);
	ok(rc == -EIO, "an unknown envelope is -EIO");
	rc = page("{\"data\":{\"uid\":\"u1\"}}", 1, &n, first, cur);
	ok(rc == -EIO, "data that is no array is -EIO");

	b = parse("{\"data\":[],\"next_page\":\"x\"}");
	ok(tap_streq(model_users_page_reading(b), "data") &&
		   tap_streq(model_cursor_reading(b), "next_page"),
	   "readings: data, next_page");
	cJSON_Delete(b);
	b = parse("{\"users\":[],\"nextPage\":null}");
	ok(tap_streq(model_users_page_reading(b), "users") &&
		   tap_streq(model_cursor_reading(b), "nextPage"),
	   "readings: users, nextPage");
	cJSON_Delete(b);
	b = parse("[]");
	ok(tap_streq(model_users_page_reading(b), "bare array") &&
		   tap_streq(model_cursor_reading(b), "last uid"),
	   "readings: bare array, last uid");
	cJSON_Delete(b);
	b = parse("{\"items\":[]}");
	ok(model_users_page_reading(b) == NULL, "reading of items: none");
	cJSON_Delete(b);
}

static const char defs_json[] = "[{\"id\":\"p-co\",\"name\":\"Company\"},"
				"{\"id\":\"p-ph\",\"name\":\"Phone\"}]";

static void test_dialect_users(void)
{
	cJSON *defs = parse(defs_json);
	/* a page in "data" whose records use the guessed customProperties */
	cJSON *mixed = parse("{\"data\":[{\"uid\":\"u1\",\"email\":\"a@x\","
			     "\"customProperties\":{\"p-co\":\"ACME\"},"
			     "\"createdAt\":\"2024\"}],\"nextPage\":null}");
	cJSON *ev = parse("{\"uid\":\"u2\",\"email\":\"b@x\",\"created\":"
			  "1700000000,\"customUserProperties\":{\"Company\":"
			  "\"Evi\",\"p-ph\":\"123\",\"Other\":1},\"progress\":"
			  "[{\"courseId\":\"c1\",\"activePosts\":1,"
			  "\"completedPosts\":2}],\"schoolId\":\"s\"}");
	cJSON *both = parse("{\"customUserProperties\":{\"Company\":\"name\","
			    "\"p-co\":\"id\"}}");
	cJSON *users = NULL, *by_id;
	char *next = NULL;
	const cJSON *u, *co = cJSON_GetArrayItem(defs, 0),
			*ph = cJSON_GetArrayItem(defs, 1);

	ok(model_users_page(mixed, 10, &users, &next) == 0 && !next,
	   "mixed: data page parses");
	u = users ? users->child : NULL;
	ok(tap_streq(model_user_email(u), "a@x"), "mixed: email");
	ok(tap_streq(model_user_props_reading(u), "customProperties"),
	   "mixed: customProperties reading");
	ok(tap_streq(cJSON_GetStringValue(model_user_prop(u, co)), "ACME"),
	   "mixed: value by id");
	ok(model_user_prop(u, ph) == NULL, "mixed: unset value is NULL");
	ok(tap_streq(model_user_created_reading(u), "createdAt"),
	   "mixed: createdAt");
	ok(model_user_offers(u) == NULL && model_user_offers_reading(u) == NULL,
	   "no offers array: grants to be derived");

	ok(tap_streq(model_user_props_reading(ev), "customUserProperties"),
	   "evidence: customUserProperties");
	ok(tap_streq(cJSON_GetStringValue(model_user_prop(ev, co)), "Evi"),
	   "evidence: a value keyed by name");
	ok(tap_streq(cJSON_GetStringValue(model_user_prop(ev, ph)), "123"),
	   "evidence: a value keyed by id");
	ok(tap_streq(model_user_created_reading(ev), "created") &&
		   cJSON_IsNumber(model_user_created(ev)),
	   "evidence: created as a number");
	ok(cJSON_GetArraySize(model_user_progress(ev)) == 1 &&
		   tap_streq(model_progress_course_id(
				     model_user_progress(ev)->child),
			     "c1"),
	   "evidence: progress[] course ids");
	by_id = model_user_props_by_id(ev, defs);
	ok(by_id &&
		   tap_streq(cJSON_GetStringValue(
				     cJSON_GetObjectItem(by_id, "p-co")),
			     "Evi") &&
		   tap_streq(cJSON_GetStringValue(
				     cJSON_GetObjectItem(by_id, "p-ph")),
			     "123") &&
		   cJSON_IsNumber(cJSON_GetObjectItem(by_id, "Other")) &&
		   !cJSON_GetObjectItem(by_id, "Company"),
	   "props_by_id: names become ids, unknown keys kept");
	cJSON_Delete(by_id);
	ok(tap_streq(cJSON_GetStringValue(model_user_prop(both, co)), "id"),
	   "a value under both the id and the name: the id wins");
	by_id = model_user_props_by_id(both, defs);
	ok(by_id && cJSON_GetArraySize(by_id) == 1 &&
		   tap_streq(cJSON_GetStringValue(
				     cJSON_GetObjectItem(by_id, "p-co")),
			     "id"),
	   "props_by_id: the id wins over the name");
	cJSON_Delete(by_id);

	cJSON_Delete(users);
	cJSON_Delete(mixed);
	cJSON_Delete(ev);
	cJSON_Delete(both);
	cJSON_Delete(defs);
}

static void test_dialect_catalogue(void)
{
	cJSON *guessed = parse("{\"id\":\"o1\",\"courses\":[{\"id\":\"c1\","
			       "\"name\":\"One\"}]}");
	cJSON *ev = parse("{\"id\":\"o2\",\"hasCourseIds\":[\"c2\",\"\",3]}");
	cJSON *wrapped = parse("{\"properties\":[{\"id\":\"p\",\"name\":"
			       "\"P\",\"schoolId\":\"s\"}]}");
	cJSON *bare = parse("[{\"id\":\"p\"}]");
	cJSON *odd = parse("{\"props\":[]}");
	cJSON *tok = parse("{\"token\":\"t\",\"loginUrl\":\"https://x/l\"}");
	const cJSON *c;

	ok(tap_streq(model_offer_courses_reading(guessed), "courses") &&
		   tap_streq(
			   model_course_id(model_offer_courses(guessed)->child),
			   "c1") &&
		   tap_streq(model_course_name(
				     model_offer_courses(guessed)->child),
			     "One"),
	   "offer courses: [{id,name}]");
	c = model_offer_courses(ev);
	ok(tap_streq(model_offer_courses_reading(ev), "hasCourseIds") &&
		   tap_streq(model_course_id(c->child), "c2") &&
		   model_course_name(c->child) == NULL,
	   "offer courses: hasCourseIds, no name");
	ok(model_course_id(cJSON_GetArrayItem(c, 1)) == NULL &&
		   model_course_id(cJSON_GetArrayItem(c, 2)) == NULL,
	   "hasCourseIds: empty and non-string ids are skipped");
	ok(model_propdefs(wrapped) &&
		   tap_streq(model_propdefs_reading(wrapped), "properties") &&
		   tap_streq(model_propdef_name(model_propdefs(wrapped)->child),
			     "P"),
	   "propdefs wrapped in properties");
	ok(model_propdefs(bare) == bare &&
		   tap_streq(model_propdefs_reading(bare), "bare array"),
	   "propdefs as a bare array");
	ok(model_propdefs(odd) == NULL && model_propdefs_reading(odd) == NULL,
	   "propdefs of another shape: none");
	ok(tap_streq(model_token(tok), "t") &&
		   tap_streq(model_token_login_url(tok), "https://x/l"),
	   "login token with loginUrl");
	cJSON_Delete(guessed);
	cJSON_Delete(ev);
	cJSON_Delete(wrapped);
	cJSON_Delete(bare);
	cJSON_Delete(odd);
	cJSON_Delete(tok);
}

static void test_dialect_requests(void)
{
	cJSON *g = model_grant_new("o1", NULL, 1);

	ok(tap_streq(model_propkey_other("propertyId"), "id") &&
		   tap_streq(model_propkey_other("id"), "propertyId"),
	   "property item key: the two spellings");
	ok(model_propkey_refused("properties.0.property propertyId should "
				 "not exist; properties.0.id must be a string",
				 "propertyId"),
	   "whitelist refusal of propertyId");
	ok(model_propkey_refused("properties.0.propertyId must be a string",
				 "id"),
	   "class-validator asks for propertyId");
	ok(!model_propkey_refused("unknown propertyId p-x", "propertyId"),
	   "an unknown property is no key refusal");
	ok(!model_propkey_refused("properties.0.value must be a string",
				  "propertyId"),
	   "a bad value is no key refusal");
	ok(!model_propkey_refused("properties.0.propertyId must be a string",
				  "propertyId"),
	   "'id' inside 'propertyId' is not the key id");
	ok(model_page_length_refused(
		   "pageLength must not be greater than 50") &&
		   !model_page_length_refused("email must be an email"),
	   "pageLength refusals");
	ok(g && tap_streq(model_grant_offer_id(g), "o1") &&
		   model_grant_order_id(g) == NULL &&
		   model_grant_active(g) == 1 &&
		   model_grant_set_active(g, 0) == 0 &&
		   model_grant_active(g) == 0,
	   "a derived grant reads back through the getters");
	cJSON_Delete(g);
}

int main(void)
{
	test_users_page();
	test_getters();
	test_propdef_find();
	test_scalar();
	test_exam_csv();
	test_dialect_pages();
	test_dialect_users();
	test_dialect_catalogue();
	test_dialect_requests();
	return done_testing();
}

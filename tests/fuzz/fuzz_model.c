/*
 * fuzz_model.c: model.h and json_pretty on whatever a server might send.
 *
 * Input: one byte that picks page_len (1..100), then the response body.
 * The body is parsed by cJSON as api.c does; then
 *  - json_pretty's output re-parses to the same tree (same members in
 *    the same order; scalars cJSON_Compare-equal), is free of raw
 *    control characters but '\n' and ends in '\n';
 *  - every model_* getter runs on every node of the tree (the model
 *    must answer NULL / -1 for anything of the wrong shape, identifiers
 *    are non-empty strings, arrays are arrays, objects are objects);
 *  - model_exam_csv and model_scalar_text run on every node: a CSV
 *    exactly for arrays, a text exactly for scalars;
 *  - model_users_page accepts the three shapes of API.md and nothing
 *    else, and its cursor follows the bare-array rule.
 */
#include <errno.h>
#include <math.h>

#include "buf.h"
#include "fuzz.h"
#include "jsonout.h"
#include "model.h"

static void check_id(const char *id)
{
	CHECK(id == NULL || *id != '\0');
}

static void check_bool(int b)
{
	CHECK(b == -1 || b == 0 || b == 1);
}

static int is_scalar(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v) ||
	       cJSON_IsNull(v);
}

/* Every getter on one node, whatever it is. */
static void check_getters(const cJSON *v, const cJSON *root)
{
	const cJSON *a;
	char *text, *csv = NULL;
	int rc;

	check_id(model_user_email(v));
	check_id(model_user_uid(v));
	check_bool(model_user_active(v));
	a = model_user_offers(v);
	CHECK(a == NULL || cJSON_IsArray(a));
	a = model_user_props_raw(v);
	CHECK(a == NULL || cJSON_IsObject(a));
	CHECK((a != NULL) == (model_user_props_reading(v) != NULL));
	a = model_user_created(v);
	CHECK(a == NULL || cJSON_IsString(a) || cJSON_IsNumber(a));
	a = model_user_progress(v);
	CHECK(a == NULL || cJSON_IsArray(a));
	a = model_propdefs(v);
	CHECK(a == NULL || cJSON_IsArray(a));
	CHECK((a != NULL) == (model_propdefs_reading(v) != NULL));
	(void)model_course_name(v);
	(void)model_token_login_url(v);
	(void)model_token_expires_at(v);
	(void)model_users_page_reading(v);
	(void)model_cursor_reading(v);
	if (root && cJSON_IsArray(root)) {
		cJSON *by_id = model_user_props_by_id(v, root);

		CHECK(by_id == NULL || cJSON_IsObject(by_id));
		cJSON_Delete(by_id);
		(void)model_user_prop(v, root->child);
	}
	check_id(model_grant_offer_id(v));
	check_id(model_grant_order_id(v));
	check_bool(model_grant_active(v));
	check_id(model_offer_id(v));
	(void)model_offer_name(v);
	a = model_offer_courses(v);
	CHECK(a == NULL || cJSON_IsArray(a));
	check_id(model_course_id(v));
	check_id(model_propdef_id(v));
	(void)model_propdef_name(v);
	check_id(model_progress_course_id(v));
	check_bool(model_grant_created(v));
	check_id(model_token(v));

	/* The tree as a list of definitions, looked up by this node's key
	 * (or string): what is found is an element of it, called so or
	 * with that id. */
	if (v->string || cJSON_IsString(v)) {
		const char *name = v->string ? v->string : v->valuestring;
		const cJSON *e;

		a = model_propdef_find(root, name);
		if (a) {
			for (e = root->child; e && e != a; e = e->next)
				;
			CHECK(e == a);
			CHECK((model_propdef_name(a) &&
			       !strcmp(model_propdef_name(a), name)) ||
			      (model_propdef_id(a) &&
			       !strcmp(model_propdef_id(a), name)));
		}
	}

	text = model_scalar_text(v);
	CHECK((text != NULL) == is_scalar(v));
	free(text);

	rc = model_exam_csv(v, &csv);
	CHECK(rc == 0 || rc == -EIO);
	CHECK((rc == 0) == cJSON_IsArray(v));
	CHECK((csv != NULL) == (rc == 0));
	if (csv) {
		CHECK(strncmp(csv, "uid,email,score,passed,submittedAt",
			      strlen("uid,email,score,passed,submittedAt")) ==
		      0);
		CHECK(csv[strlen(csv) - 1] == '\n');
	}
	free(csv);
}

static void check_all(const cJSON *v, const cJSON *root)
{
	const cJSON *c;

	check_getters(v, root);
	for (c = v->child; c; c = c->next)
		check_all(c, root);
}

/*
 * The same tree, member by member in order. Not cJSON_Compare alone: it
 * matches object members by key, so with a duplicate key ({"a":1,"a":2},
 * which cJSON parses and a server may send) it compares the second "a" of
 * one tree with the first of the other and calls a faithful copy unequal.
 * Where keys are unique, this is stricter than cJSON_Compare.
 */
static int same_tree(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if ((a->type & 0xFF) != (b->type & 0xFF))
		return 0;
	if (!cJSON_IsArray(a) && !cJSON_IsObject(a))
		return cJSON_Compare(a, b, 1);
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next) {
		if (cJSON_IsObject(a) && strcmp(x->string, y->string) != 0)
			return 0;
		if (!same_tree(x, y))
			return 0;
	}
	return !x && !y;
}

/* cJSON prints inf and nan as null: such a tree cannot come back equal,
 * and that is cJSON's number formatting, not json_pretty's. */
static int all_finite(const cJSON *v)
{
	const cJSON *c;

	if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
		return 0;
	for (c = v->child; c; c = c->next)
		if (!all_finite(c))
			return 0;
	return 1;
}

static void check_pretty(const cJSON *json)
{
	struct buf out = {0};
	cJSON *again;
	size_t i;

	CHECK(json_pretty(json, &out) == 0);
	CHECK(out.len > 0 && out.data[out.len - 1] == '\n');
	CHECK(strlen(out.data) == out.len);
	for (i = 0; i < out.len; i++)
		CHECK((unsigned char)out.data[i] >= 0x20 ||
		      out.data[i] == '\n');
	again = cJSON_ParseWithLength(out.data, out.len);
	CHECK(again != NULL);
	if (all_finite(json))
		CHECK(same_tree(json, again));
	cJSON_Delete(again);
	buf_free(&out);
}

static void check_users_page(cJSON *body, int page_len)
{
	int was_array = cJSON_IsArray(body), size = cJSON_GetArraySize(body);
	/* The envelope model reads: "users" first, then "data" (API.md,
	 * "Evidence and dialects"), the first that is an array. */
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "users");
	const cJSON *last = NULL;
	cJSON *users = NULL;
	char *next = NULL;
	const char *uid;
	int rc;

	if (!cJSON_IsArray(arr))
		arr = cJSON_GetObjectItemCaseSensitive(body, "data");
	if (was_array && body->child)
		last = body->child->prev;
	rc = model_users_page(body, page_len, &users, &next);
	CHECK(rc == 0 || rc == -EIO);
	if (rc) {
		CHECK(users == NULL && next == NULL);
		CHECK(!was_array &&
		      !(cJSON_IsObject(body) && cJSON_IsArray(arr)));
		return;
	}
	CHECK(was_array || (cJSON_IsObject(body) && cJSON_IsArray(arr)));
	CHECK(cJSON_IsArray(users));
	CHECK(next == NULL || *next != '\0');
	if (was_array) {
		/* The items moved: the body is left empty. */
		CHECK(body->child == NULL);
		CHECK(cJSON_GetArraySize(users) == size);
		uid = model_user_uid(last);
		if (size >= page_len && uid)
			CHECK(next != NULL && strcmp(next, uid) == 0);
		else
			CHECK(next == NULL);
	} else {
		CHECK(users == arr);
	}
	/* Now detached, as api.c hands it on. */
	check_all(users, users);
	cJSON_Delete(users);
	free(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body;
	int page_len;

	if (size < 1)
		return 0;
	page_len = data[0] % 100 + 1;
	body = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (!body)
		return 0;
	check_pretty(body);
	check_all(body, body);
	check_users_page(body, page_len);
	cJSON_Delete(body);
	return 0;
}

/*
 * model: the one place that knows Memberspot's field names.
 *
 * API.md lists the shapes we *assume*; none is verified against the live
 * service. So every getter checks the type of what it finds and answers
 * NULL / -1 instead of guessing, and identifiers must be non-empty strings
 * (an empty id cannot name a file or a request path, so it is treated as
 * missing and the caller skips the entry). Names and other display text may
 * be empty. Lookups are case-sensitive: "Email" is not "email".
 *
 * model_users_page is the only function that restructures a response: it
 * moves the user array out of whichever envelope the server used, so the
 * caller's body and the returned array never share nodes. model_exam_csv
 * is the only renderer here, because its columns *are* the shape. The
 * request bodies are built here too, so that a field name the server
 * knows is spelled in this file only.
 */
#include "model.h"

#include "buf.h"
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Field access                                                        */
/* ------------------------------------------------------------------ */

static const cJSON *field(const cJSON *obj, const char *name)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* Any string, "" included: display text. */
static const char *text_field(const cJSON *obj, const char *name)
{
	const cJSON *v = field(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A non-empty string: an identifier. */
static const char *id_field(const cJSON *obj, const char *name)
{
	const char *s = text_field(obj, name);

	return s && *s ? s : NULL;
}

static int bool_field(const cJSON *obj, const char *name)
{
	const cJSON *v = field(obj, name);

	if (cJSON_IsTrue(v))
		return 1;
	if (cJSON_IsFalse(v))
		return 0;
	return -1;
}

static const cJSON *array_field(const cJSON *obj, const char *name)
{
	const cJSON *v = field(obj, name);

	return cJSON_IsArray(v) ? v : NULL;
}

/* ------------------------------------------------------------------ */
/* Users page                                                          */
/* ------------------------------------------------------------------ */

/* The bare-array convention: a full page continues after its last uid. */
static int cursor_from_last(const cJSON *users, int page_len, char **next)
{
	const cJSON *last;
	const char *uid;

	*next = NULL;
	if (page_len <= 0 || cJSON_GetArraySize(users) < page_len)
		return 0;
	last = users->child ? users->child->prev : NULL;
	uid = model_user_uid(last);
	if (!uid)
		return 0;
	*next = strdup(uid);
	return *next ? 0 : -ENOMEM;
}

/* The user array of an envelope, and which key held it. */
static cJSON *page_array(const cJSON *body, const char **key)
{
	static const char *const keys[] = {"users", "data"};
	size_t i;

	if (!cJSON_IsObject(body))
		return NULL;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cJSON *a = cJSON_GetObjectItemCaseSensitive(body, keys[i]);

		if (cJSON_IsArray(a)) {
			if (key)
				*key = keys[i];
			return a;
		}
	}
	return NULL;
}

static const cJSON *page_cursor(const cJSON *body, const char **key)
{
	static const char *const keys[] = {"nextPage", "next_page"};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *c = field(body, keys[i]);

		if (c) {
			if (key)
				*key = keys[i];
			return c;
		}
	}
	return NULL;
}

const char *model_users_page_reading(const cJSON *body)
{
	const char *key = NULL;

	if (cJSON_IsArray(body))
		return "bare array";
	return page_array(body, &key) ? key : NULL;
}

const char *model_cursor_reading(const cJSON *body)
{
	const char *key = NULL;

	if (cJSON_IsObject(body) && page_cursor(body, &key))
		return key;
	return "last uid";
}

/*
 * Accepts {"users"|"data": [..], "nextPage"|"next_page": ..} and a bare
 * array. In an envelope, a null, empty or non-string cursor ends the list;
 * an envelope with no cursor key at all falls back to the bare-array rule,
 * which at worst costs one extra request for an empty page.
 * Returns 0, -EIO on another shape, -ENOMEM.
 */
int model_users_page(cJSON *body, int page_len, cJSON **users, char **next)
{
	cJSON *arr;
	const cJSON *cur;
	int rc;

	*users = NULL;
	*next = NULL;

	if (cJSON_IsArray(body)) {
		/* The body is the array: move its items into a fresh one so
		 * the caller may still free body. */
		arr = cJSON_CreateArray();
		if (!arr)
			return -ENOMEM;
		arr->child = body->child;
		body->child = NULL;
		rc = cursor_from_last(arr, page_len, next);
		if (rc) {
			cJSON_Delete(arr);
			return rc;
		}
		*users = arr;
		return 0;
	}

	arr = page_array(body, NULL);
	if (!arr)
		return -EIO;

	cur = page_cursor(body, NULL);
	if (!cur) {
		rc = cursor_from_last(arr, page_len, next);
	} else if (cJSON_IsString(cur) && cur->valuestring[0]) {
		*next = strdup(cur->valuestring);
		rc = *next ? 0 : -ENOMEM;
	} else {
		rc = 0;
	}
	if (rc)
		return rc;
	*users = cJSON_DetachItemViaPointer(body, arr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Property definitions                                                */
/* ------------------------------------------------------------------ */

static const char *const propdefs_keys[] = {"properties", "data"};

const cJSON *model_propdefs(const cJSON *body)
{
	size_t i;

	if (cJSON_IsArray(body))
		return body;
	for (i = 0; i < sizeof(propdefs_keys) / sizeof(propdefs_keys[0]); i++)
		if (array_field(body, propdefs_keys[i]))
			return array_field(body, propdefs_keys[i]);
	return NULL;
}

const char *model_propdefs_reading(const cJSON *body)
{
	size_t i;

	if (cJSON_IsArray(body))
		return "bare array";
	for (i = 0; i < sizeof(propdefs_keys) / sizeof(propdefs_keys[0]); i++)
		if (array_field(body, propdefs_keys[i]))
			return propdefs_keys[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Getters                                                             */
/* ------------------------------------------------------------------ */

const char *model_user_email(const cJSON *user)
{
	return id_field(user, "email");
}

const char *model_user_first_name(const cJSON *user)
{
	return text_field(user, "firstname");
}

const char *model_user_last_name(const cJSON *user)
{
	return text_field(user, "name");
}

const char *model_user_uid(const cJSON *user)
{
	return id_field(user, "uid");
}

int model_user_active(const cJSON *user)
{
	return bool_field(user, "active");
}

const cJSON *model_user_offers(const cJSON *user)
{
	return array_field(user, "offers");
}

const char *model_user_offers_reading(const cJSON *user)
{
	return model_user_offers(user) ? "offers" : NULL;
}

/* The first of keys that obj has with a value accepted by ok(). */
static const cJSON *first_of(const cJSON *obj, const char *const *keys,
			     size_t n, int (*ok)(const cJSON *),
			     const char **which)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const cJSON *v = field(obj, keys[i]);

		if (v && ok(v)) {
			if (which)
				*which = keys[i];
			return v;
		}
	}
	return NULL;
}

static int is_time(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v);
}

static int is_object(const cJSON *v)
{
	return cJSON_IsObject(v);
}

static const char *const created_keys[] = {"createdAt", "created"};
static const char *const props_keys[] = {"customProperties",
					 "customUserProperties"};
#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

const cJSON *model_user_created(const cJSON *user)
{
	return first_of(user, created_keys, NKEYS(created_keys), is_time, NULL);
}

const char *model_user_created_reading(const cJSON *user)
{
	const char *which = NULL;

	first_of(user, created_keys, NKEYS(created_keys), is_time, &which);
	return which;
}

const cJSON *model_user_progress(const cJSON *user)
{
	return array_field(user, "progress");
}

static const cJSON *user_props(const cJSON *user, const char **which)
{
	return first_of(user, props_keys, NKEYS(props_keys), is_object, which);
}

const cJSON *model_user_props_raw(const cJSON *user)
{
	return user_props(user, NULL);
}

const char *model_user_props_reading(const cJSON *user)
{
	const char *which = NULL;

	user_props(user, &which);
	return which;
}

const cJSON *model_user_prop(const cJSON *user, const cJSON *def)
{
	const cJSON *props = user_props(user, NULL);
	const char *id = model_propdef_id(def);
	const char *name = model_propdef_name(def);
	const cJSON *v = NULL;

	if (!props)
		return NULL;
	if (id)
		v = field(props, id);
	if (!v && name && *name)
		v = field(props, name);
	return v;
}

cJSON *model_user_props_by_id(const cJSON *user, const cJSON *defs)
{
	const cJSON *props = user_props(user, NULL);
	const cJSON *kv;
	cJSON *out = cJSON_CreateObject();

	if (!out)
		return NULL;
	cJSON_ArrayForEach(kv, props) {
		const char *key = kv->string;
		const cJSON *def;
		cJSON *copy;

		if (!key)
			continue;
		/* A key that is a definition's id stays; one that is only a
		 * definition's name becomes that definition's id. */
		def = model_propdef_find(defs, key);
		if (def && strcmp(model_propdef_id(def), key) != 0 &&
		    field(props, model_propdef_id(def)))
			continue; /* the id key holds it too: it wins */
		if (def)
			key = model_propdef_id(def);
		if (field(out, key))
			continue;
		copy = cJSON_Duplicate(kv, 1);
		if (!copy || !cJSON_AddItemToObject(out, key, copy)) {
			cJSON_Delete(copy);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

const char *model_grant_offer_id(const cJSON *grant)
{
	return id_field(grant, "offerId");
}

const char *model_grant_order_id(const cJSON *grant)
{
	return id_field(grant, "orderId");
}

int model_grant_active(const cJSON *grant)
{
	return bool_field(grant, "active");
}

cJSON *model_grant_new(const char *offer, const char *order, int active)
{
	cJSON *g = cJSON_CreateObject();

	if (!g)
		return NULL;
	if ((offer && !cJSON_AddStringToObject(g, "offerId", offer)) ||
	    (order && !cJSON_AddStringToObject(g, "orderId", order)) ||
	    model_grant_set_active(g, active)) {
		cJSON_Delete(g);
		return NULL;
	}
	return g;
}

int model_grant_set_active(cJSON *grant, int active)
{
	cJSON *b = cJSON_CreateBool(active);

	if (!b)
		return -ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(grant, "active"))
		return cJSON_ReplaceItemInObjectCaseSensitive(grant, "active",
							      b)
			       ? 0
			       : (cJSON_Delete(b), -ENOMEM);
	if (!cJSON_AddItemToObject(grant, "active", b)) {
		cJSON_Delete(b);
		return -ENOMEM;
	}
	return 0;
}

const char *model_offer_id(const cJSON *offer)
{
	return id_field(offer, "id");
}

const char *model_offer_name(const cJSON *offer)
{
	return text_field(offer, "name");
}

static const char *const courses_keys[] = {"courses", "hasCourseIds"};

static int is_array(const cJSON *v)
{
	return cJSON_IsArray(v);
}

const cJSON *model_offer_courses(const cJSON *offer)
{
	return first_of(offer, courses_keys, NKEYS(courses_keys), is_array,
			NULL);
}

const char *model_offer_courses_reading(const cJSON *offer)
{
	const char *which = NULL;

	first_of(offer, courses_keys, NKEYS(courses_keys), is_array, &which);
	return which;
}

const char *model_course_id(const cJSON *course)
{
	if (cJSON_IsString(course))
		return course->valuestring[0] ? course->valuestring : NULL;
	return id_field(course, "id");
}

const char *model_course_name(const cJSON *course)
{
	return text_field(course, "name");
}

const char *model_propdef_id(const cJSON *def)
{
	return id_field(def, "id");
}

const char *model_propdef_name(const cJSON *def)
{
	return text_field(def, "name");
}

const cJSON *model_propdef_find(const cJSON *defs, const char *name)
{
	const cJSON *d;

	/* Names first: they are what files are called. */
	cJSON_ArrayForEach(d, defs) {
		const char *n = model_propdef_name(d);

		if (n && !strcmp(n, name) && model_propdef_id(d))
			return d;
	}
	cJSON_ArrayForEach(d, defs) {
		const char *id = model_propdef_id(d);

		if (id && !strcmp(id, name))
			return d;
	}
	return NULL;
}

int model_propdef_idless(const cJSON *defs, const char *name)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, defs) {
		const char *n = model_propdef_name(d);

		if (n && !strcmp(n, name) && !model_propdef_id(d))
			return 1;
	}
	return 0;
}

const char *model_progress_course_id(const cJSON *summary)
{
	return id_field(summary, "courseId");
}

int model_grant_created(const cJSON *resp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(resp, "created");

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

const char *model_token(const cJSON *resp)
{
	return id_field(resp, "token");
}

const cJSON *model_token_expires_at(const cJSON *resp)
{
	return field(resp, "expiresAt");
}

const char *model_token_login_url(const cJSON *resp)
{
	return id_field(resp, "loginUrl");
}

/* ------------------------------------------------------------------ */
/* Request-side spellings                                              */
/* ------------------------------------------------------------------ */

const char *model_propkey_other(const char *key)
{
	return strcmp(key, "id") == 0 ? "propertyId" : "id";
}

/* 1 when `key` stands in msg as a word (not inside "propertyId" when
 * looking for "id") directly followed by `tail`. */
static int word_then(const char *msg, const char *key, const char *tail)
{
	size_t kl = strlen(key);
	const char *p;

	for (p = strstr(msg, key); p; p = strstr(p + 1, key)) {
		char before = p == msg ? ' ' : p[-1];

		if ((before == ' ' || before == '.' || before == '"' ||
		     before == '\'') &&
		    strncmp(p + kl, tail, strlen(tail)) == 0)
			return 1;
	}
	return 0;
}

int model_propkey_refused(const char *msg, const char *sent)
{
	const char *other = model_propkey_other(sent);

	if (!msg)
		return 0;
	/* NestJS whitelist: the key we sent is not allowed; class-validator:
	 * the key it wants is missing. */
	return word_then(msg, sent, " should not exist") ||
	       word_then(msg, other, " must be") ||
	       word_then(msg, other, " should not be empty") ||
	       word_then(msg, other, " is required");
}

int model_page_length_refused(const char *msg)
{
	return msg && strstr(msg, "pageLength") != NULL;
}

/* ------------------------------------------------------------------ */
/* Scalars and exam CSV                                                */
/* ------------------------------------------------------------------ */

char *model_scalar_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsNull(v))
		return strdup("");
	if (cJSON_IsTrue(v))
		return strdup("true");
	if (cJSON_IsFalse(v))
		return strdup("false");
	if (cJSON_IsNumber(v))
		return cJSON_PrintUnformatted(v);
	return NULL;
}

static const char *const exam_known_cols[] = {
	"uid", "email", "score", "passed", "submittedAt",
};
#define EXAM_NKNOWN (sizeof(exam_known_cols) / sizeof(exam_known_cols[0]))

struct cols {
	const char **name; /* borrowed from the cJSON keys */
	size_t n, cap;
};

static int cols_add(struct cols *c, const char *name)
{
	const char **p;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;

		p = realloc(c->name, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->name = p;
		c->cap = cap;
	}
	c->name[c->n++] = name;
	return 0;
}

/* Scalars as model_scalar_text, arrays and objects as compact JSON,
 * a missing key as an empty cell. */
int model_csv_value(struct buf *out, const cJSON *v)
{
	char *text;
	int rc;

	if (!v)
		return 0;
	text = model_scalar_text(v);
	if (!text)
		text = cJSON_PrintUnformatted(v);
	if (!text)
		return -ENOMEM;
	rc = csv_put_cell(out, text, cJSON_IsNumber(v));
	free(text);
	return rc;
}

/* Rows that are not objects are skipped; a non-array is -EIO.
 * Returns 0, -EIO or -ENOMEM. */
int model_exam_csv(const cJSON *results, char **csv_out)
{
	struct cols cols = {0};
	struct buf out = {0};
	const cJSON *row, *kv;
	size_t i;
	int rc = 0;

	*csv_out = NULL;
	if (!cJSON_IsArray(results))
		return -EIO;

	for (i = 0; i < EXAM_NKNOWN && !rc; i++)
		rc = cols_add(&cols, exam_known_cols[i]);
	cJSON_ArrayForEach(row, results) {
		if (!cJSON_IsObject(row))
			continue;
		cJSON_ArrayForEach(kv, row) {
			if (rc)
				break;
			if (kv->string)
				rc = cols_add(&cols, kv->string);
		}
	}
	if (rc)
		goto out_cols;

	for (i = 0; i < cols.n && !rc; i++) {
		if (i)
			rc = buf_puts(&out, ",");
		if (!rc)
			rc = csv_put_cell(&out, cols.name[i], 0);
	}
	if (!rc)
		rc = buf_puts(&out, "\n");

	cJSON_ArrayForEach(row, results) {
		if (rc)
			break;
		if (!cJSON_IsObject(row))
			continue;
		for (i = 0; i < cols.n && !rc; i++) {
			if (i)
				rc = buf_puts(&out, ",");
			if (!rc)
				rc = model_csv_value(&out,
						     field(row, cols.name[i]));
		}
		if (!rc)
			rc = buf_puts(&out, "\n");
	}
	if (rc)
		goto out_buf;

	*csv_out = buf_steal(&out);
out_buf:
	buf_free(&out);
out_cols:
	free(cols.name);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Request bodies                                                      */
/* ------------------------------------------------------------------ */

/* Adds "key": value to obj when value is not NULL. 0 or -ENOMEM. */
static int add_str(cJSON *obj, const char *key, const char *value)
{
	if (!value)
		return 0;
	return cJSON_AddStringToObject(obj, key, value) ? 0 : -ENOMEM;
}

/* An object of up to five string fields (names[i] set to values[i] when
 * that is not NULL), in order. NULL on ENOMEM. */
static cJSON *strings_body(const char *const *names, const char *const *values,
			   int n)
{
	cJSON *body = cJSON_CreateObject();
	int i;

	for (i = 0; body && i < n; i++) {
		if (add_str(body, names[i], values[i])) {
			cJSON_Delete(body);
			body = NULL;
		}
	}
	return body;
}

cJSON *model_grant_body(const char *email, const char *first, const char *last,
			const char *offer, const char *order)
{
	static const char *const names[] = {"email", "firstname", "name",
					    "grantOffer", "orderId"};
	const char *const values[] = {email, first, last, offer, order};

	return strings_body(names, values, 5);
}

static cJSON *state_body(const char *email, const char *id_key, const char *id,
			 int active)
{
	const char *const names[] = {"email", id_key};
	const char *const values[] = {email, id};
	cJSON *body = strings_body(names, values, 2);

	if (body && !cJSON_AddBoolToObject(body, "active", active)) {
		cJSON_Delete(body);
		body = NULL;
	}
	return body;
}

cJSON *model_offer_state_body(const char *email, const char *offer, int active)
{
	return state_body(email, "offerId", offer, active);
}

cJSON *model_order_state_body(const char *email, const char *order, int active)
{
	return state_body(email, "orderId", order, active);
}

cJSON *model_prop_item(const char *id, cJSON *value)
{
	cJSON *item = cJSON_CreateObject();

	if (!item || !value || add_str(item, MODEL_PROPKEY_DEFAULT, id) ||
	    !cJSON_AddItemToObject(item, "value", value)) {
		cJSON_Delete(value);
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

const char *model_prop_item_id(const cJSON *item)
{
	return cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(item, MODEL_PROPKEY_DEFAULT));
}

const cJSON *model_prop_item_value(const cJSON *item)
{
	return cJSON_GetObjectItemCaseSensitive(item, "value");
}

cJSON *model_props_body(const char *email, const cJSON *props)
{
	const char *const names[] = {"email"};
	cJSON *body = strings_body(names, &email, 1);
	cJSON *copy = cJSON_Duplicate(props, 1);

	if (!body || !copy ||
	    !cJSON_AddItemToObject(body, "properties", copy)) {
		cJSON_Delete(copy);
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* A copy of item with its MODEL_PROPKEY_DEFAULT key spelled key (its
 * place kept). NULL on ENOMEM. */
static cJSON *item_respelled(const cJSON *item, const char *key)
{
	const cJSON *id = field(item, MODEL_PROPKEY_DEFAULT), *kv;
	cJSON *copy = cJSON_CreateObject(), *v;

	cJSON_ArrayForEach(kv, item) {
		v = cJSON_Duplicate(kv, 1);
		if (!copy || !v ||
		    !cJSON_AddItemToObject(copy, kv == id ? key : kv->string,
					   v)) {
			cJSON_Delete(v);
			cJSON_Delete(copy);
			return NULL;
		}
	}
	return copy;
}

cJSON *model_props_respelled(const cJSON *body, const char *key)
{
	cJSON *copy = cJSON_Duplicate(body, 1), *items, *item;
	const cJSON *it;

	if (!copy)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "properties");
	items = cJSON_AddArrayToObject(copy, "properties");
	if (!items)
		goto nomem;
	cJSON_ArrayForEach(it, field(body, "properties")) {
		item = item_respelled(it, key);
		if (!item || !cJSON_AddItemToArray(items, item)) {
			cJSON_Delete(item);
			goto nomem;
		}
	}
	return copy;

nomem:
	cJSON_Delete(copy);
	return NULL;
}

cJSON *model_delete_body(const char *const *emails, int n)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(body, "emails"), *e;
	int i;

	for (i = 0; list && i < n; i++) {
		e = cJSON_CreateString(emails[i]);
		if (!e || !cJSON_AddItemToArray(list, e)) {
			cJSON_Delete(e);
			list = NULL;
		}
	}
	if (!list) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

cJSON *model_chapter_body(const char *email, const char *course,
			  const char *chapter)
{
	static const char *const names[] = {"email", "courseId", "chapterId"};
	const char *const values[] = {email, course, chapter};

	return strings_body(names, values, 3);
}

/* ------------------------------------------------------------------ */
/* Error answers                                                       */
/* ------------------------------------------------------------------ */

int model_error_message(const cJSON *err, struct buf *msg)
{
	const cJSON *m = field(err, "message");
	const cJSON *item;
	char *text;
	int rc = 0;

	if (cJSON_IsString(m))
		return buf_puts(msg, m->valuestring);
	if (cJSON_IsArray(m)) {
		cJSON_ArrayForEach(item, m) {
			text = model_scalar_text(item);
			if (!text)
				text = cJSON_PrintUnformatted(item);
			if (!text)
				return -ENOMEM;
			rc = buf_printf(msg, "%s%s", msg->len ? "; " : "",
					text);
			free(text);
			if (rc)
				return rc;
		}
		if (msg->len)
			return 0;
	}
	m = field(err, "error");
	if (cJSON_IsString(m))
		return buf_puts(msg, m->valuestring);
	return 0;
}

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
 * is the only renderer here, because its columns *are* the shape.
 */
#include "model.h"

#include "buf.h"

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

static const cJSON *object_field(const cJSON *obj, const char *name)
{
	const cJSON *v = field(obj, name);

	return cJSON_IsObject(v) ? v : NULL;
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

/*
 * Accepts {"users":[..],"nextPage":..}, the cursor spelled "next_page", and
 * a bare array. In an envelope, a null, empty or non-string cursor ends the
 * list; an envelope with no cursor key at all falls back to the bare-array
 * rule, which at worst costs one extra request for an empty page.
 * Returns 0, -EIO on another shape, -ENOMEM.
 */
int model_users_page(cJSON *body, int page_len, cJSON **users, char **next)
{
	cJSON *arr, *cur;
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

	arr = cJSON_GetObjectItemCaseSensitive(body, "users");
	if (!cJSON_IsObject(body) || !cJSON_IsArray(arr))
		return -EIO;

	cur = cJSON_GetObjectItemCaseSensitive(body, "nextPage");
	if (!cur)
		cur = cJSON_GetObjectItemCaseSensitive(body, "next_page");
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
/* Getters                                                             */
/* ------------------------------------------------------------------ */

const char *model_user_email(const cJSON *user)
{
	return id_field(user, "email");
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

const cJSON *model_user_props(const cJSON *user)
{
	return object_field(user, "customProperties");
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

const char *model_offer_id(const cJSON *offer)
{
	return id_field(offer, "id");
}

const char *model_offer_name(const cJSON *offer)
{
	return text_field(offer, "name");
}

const cJSON *model_offer_courses(const cJSON *offer)
{
	return array_field(offer, "courses");
}

const char *model_course_id(const cJSON *course)
{
	return id_field(course, "id");
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
	cJSON_ArrayForEach(d, defs)
	{
		const char *n = model_propdef_name(d);

		if (n && !strcmp(n, name) && model_propdef_id(d))
			return d;
	}
	cJSON_ArrayForEach(d, defs)
	{
		const char *id = model_propdef_id(d);

		if (id && !strcmp(id, name))
			return d;
	}
	return NULL;
}

int model_propdef_idless(const cJSON *defs, const char *name)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, defs)
	{
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

/* RFC 4180: quote a cell holding a comma, quote, CR or LF; double quotes. */
static int csv_cell(struct buf *out, const char *s)
{
	const char *p;
	int rc;

	if (!strpbrk(s, ",\"\r\n"))
		return buf_puts(out, s);
	rc = buf_puts(out, "\"");
	for (p = s; !rc && *p; p++)
		rc = *p == '"' ? buf_puts(out, "\"\"") : buf_append(out, p, 1);
	return rc ? rc : buf_puts(out, "\"");
}

/* Scalars as model_scalar_text, arrays and objects as compact JSON,
 * a missing key as an empty cell. */
static int csv_value(struct buf *out, const cJSON *v)
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
	rc = csv_cell(out, text);
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
			rc = csv_cell(&out, cols.name[i]);
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
				rc = csv_value(&out, field(row, cols.name[i]));
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

/*
 * api: Memberspot endpoints as C functions.
 *
 * Every endpoint function does the same three things: build a path (each
 * identifier passed through http_escape, so it stays one segment or one
 * query value whatever its characters), build a JSON body with cJSON, and
 * hand both to api_call. api_call sends through http.c and then finish()
 * judges the outcome. finish() is the only place where an HTTP status
 * becomes an errno and the only place that writes API failures to errlog,
 * with the server's own message (NestJS "message", a string or an array
 * of strings) or, failing that, the start of the raw body.
 *
 * Only GETs are sent as idempotent: a POST or DELETE is retried by http.c
 * only when it provably never reached the server.
 *
 * Response shapes are not looked at here, apart from the users page,
 * which goes through model_users_page.
 */
#include "clock.h"
#include "api.h"

#include "buf.h"
#include "errlog.h"
#include "http.h"
#include "model.h"
#include "stats.h"
#include "textfix.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_RAW_MSG_MAX 200 /* bytes of a non-JSON error body to log */

static const char *const endpoint_names[API__N] = {
	[API_AUTH] = "GET /api-auth",
	[API_OFFERS] = "GET /v1/offers",
	[API_USERS_LIST] = "GET /v1/users/list",
	[API_FIND_BY_MAIL] = "GET /v1/users/find-by-mail",
	[API_GRANT] = "POST /v1/users/grant-user-offer-by-mail",
	[API_SET_OFFER_STATE] = "POST /v1/users/set-offer-state",
	[API_SET_ORDER_STATE] = "POST /v1/users/set-order-state",
	[API_SET_PROPERTIES] = "POST /v1/users/set-custom-user-properties",
	[API_DELETE_USERS] = "DELETE /v1/users/delete-users",
	[API_PROGRESS_LIST] = "GET /v1/users/course-progress/list",
	[API_PROGRESS_COURSE] = "GET /v1/users/course-progress",
	[API_LOGIN_TOKEN] = "GET /v1/users/login-token",
	[API_ENABLE_CHAPTER] = "POST /v1/chapters/chapter-access/enable",
	[API_PROPERTY_DEFS] = "GET /v1/custom-user-properties/list",
	[API_EXAM_RESULTS] = "GET /v1/exams/results",
};

/*
 * The largest answer each endpoint may send (after decompression): a
 * hostile or broken server must not make the daemon hold gigabytes. A
 * page of members and the offer and property lists: 8 MiB; one member's
 * record: 1 MiB; an exam's results, every submission at once: 32 MiB.
 * The rest are small answers (a token, a change's echo): 8 MiB is far
 * beyond any of them and still harmless.
 */
#define MIB ((size_t)1 << 20)
#define API_CAP_DEFAULT (8 * MIB)
static const size_t endpoint_cap[API__N] = {
	[API_USERS_LIST] = 8 * MIB,
	[API_FIND_BY_MAIL] = 1 * MIB,
	[API_EXAM_RESULTS] = 32 * MIB,
};

size_t api_endpoint_cap(enum api_endpoint ep)
{
	if ((unsigned)ep >= API__N || !endpoint_cap[ep])
		return API_CAP_DEFAULT;
	return endpoint_cap[ep];
}

const char *api_endpoint_name(enum api_endpoint ep)
{
	if ((unsigned)ep >= API__N || !endpoint_names[ep])
		return "unknown";
	return endpoint_names[ep];
}

/* Returns 0 for 2xx, otherwise a negative errno (as every function here). */
int api_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EEXIST;
	case 413:
		return -EFBIG;
	case 429:
		return -EAGAIN;
	}
	if (status >= 400 && status < 500)
		return -EINVAL;
	return -EIO;
}

/* ------------------------------------------------------------------ */
/* Outcome: status -> errno, message -> errlog                        */
/* ------------------------------------------------------------------ */

static int is_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	return 1;
}

/* NestJS "message": a string, or an array joined with "; ". */
static int nest_message(const cJSON *err, struct buf *msg)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
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
	m = cJSON_GetObjectItemCaseSensitive(err, "error");
	if (cJSON_IsString(m))
		return buf_puts(msg, m->valuestring);
	return 0;
}

/* The readable reason of a failed answer (errlog strips control chars).
 * Appended to msg. */
static void status_reason(const struct http_response *r, struct buf *msg)
{
	size_t start = msg->len;
	cJSON *err;

	err = cJSON_ParseWithLength(r->body, r->len);
	if (cJSON_IsObject(err))
		nest_message(err, msg);
	cJSON_Delete(err);
	if (msg->len == start && r->len)
		buf_append(msg, r->body,
			   r->len < API_RAW_MSG_MAX ? r->len : API_RAW_MSG_MAX);
	if (msg->len == start)
		buf_puts(msg, "(empty response)");
}

/* A change's 2xx answer that is not JSON, as a JSON string of its first
 * API_RAW_MSG_MAX bytes (already well-formed UTF-8: textfix_json ran). */
static cJSON *text_answer(const char *body, size_t len)
{
	size_t n = len < API_RAW_MSG_MAX ? len : API_RAW_MSG_MAX;
	char *text;
	cJSON *j;

	/* not inside a UTF-8 sequence */
	while (n < len && n && ((unsigned char)body[n] & 0xc0) == 0x80)
		n--;
	text = strndup(body, n);
	if (!text)
		return NULL;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
		     text[n - 1] == ' '))
		text[--n] = '\0';
	j = cJSON_CreateString(text);
	free(text);
	return j;
}

/* Why a request got no answer, appended to msg; r->error is http.c's
 * reason (curl's detail), when it has one. */
static void transport_reason(int rc, double elapsed,
			     const struct http_response *r, struct buf *msg)
{
	switch (rc) {
	case -ETIMEDOUT:
		buf_printf(msg, "timed out after %.1f s", elapsed);
		break;
	case -EHOSTUNREACH:
		buf_puts(msg, "API unreachable");
		if (r->error[0])
			buf_printf(msg, " (%s)", r->error);
		break;
	case -EAGAIN:
		buf_puts(msg, "not sent: the API asked to wait (Retry-After) "
			      "longer than the time left");
		break;
	case -ENOMEM:
		buf_puts(msg, "out of memory");
		break;
	case -EPROTO:
		/* http.c says whether the certificate or the handshake
		 * failed. */
		buf_puts(msg, r->error[0] ? r->error : "TLS failed");
		break;
	case -EIO:
		if (!strncmp(r->error, HTTP_TOO_BIG_REASON,
			     strlen(HTTP_TOO_BIG_REASON)))
			buf_puts(msg, r->error);
		else if (r->error[0])
			buf_printf(msg, "transport error: %s", r->error);
		else
			buf_puts(msg, "transport error (connection lost or "
				      "oversized answer)");
		break;
	default:
		buf_puts(msg, strerror(-rc));
		break;
	}
}

/*
 * The single judge of an API outcome: `rc` and `r` are what http_request
 * gave. 2xx with out != NULL parses the body into *out (an empty body
 * becomes {}); text JSON cannot carry is read as U+FFFD (textfix.h) and
 * noted in the error log. With text_ok (changes), a 2xx body that is not
 * JSON at all (delete-users answers "ok", API.md "Evidence") is success
 * too: *out is then a JSON string of its start, for the journal. Returns 0 or
 * -errno; every failure is counted and logged, and its reason also appended to
 * why (may be NULL).
 */
static int finish(const char *where, int rc, double elapsed,
		  const struct http_response *r, bool text_ok, cJSON **out,
		  struct buf *why)
{
	struct buf msg = {0};
	const char *end = NULL, *body;
	char *fixed = NULL;
	size_t fixed_len = 0, body_len;
	long status = 0, fixes;
	cJSON *j;

	if (rc) {
		transport_reason(rc, elapsed, r, &msg);
		goto failed;
	}
	status = r->status;
	rc = api_status_errno(status);
	if (rc) {
		status_reason(r, &msg);
		goto failed;
	}
	if (!out)
		return 0;
	if (is_blank(r->body, r->body + r->len)) {
		*out = cJSON_CreateObject();
		return *out ? 0 : -ENOMEM;
	}
	/* One member's bad name must not cost the whole list: what JSON
	 * cannot carry is read as U+FFFD, and said so. */
	fixes = textfix_json(r->body, r->len, &fixed, &fixed_len);
	if (fixes < 0) {
		rc = -ENOMEM;
		goto failed;
	}
	body = fixed ? fixed : r->body;
	body_len = fixed ? fixed_len : r->len;
	j = cJSON_ParseWithLengthOpts(body, body_len, &end, 0);
	if ((!j || !end || !is_blank(end, body + body_len)) && text_ok) {
		cJSON_Delete(j);
		j = text_answer(body, body_len);
		free(fixed);
		if (!j)
			return -ENOMEM;
		*out = j;
		return 0;
	}
	if (!j || !end || !is_blank(end, body + body_len)) {
		cJSON_Delete(j);
		free(fixed);
		rc = -EIO;
		buf_puts(&msg, "malformed response body");
		goto failed;
	}
	free(fixed);
	if (fixes)
		errlog_add(where, status,
			   "the response held %ld character%s that JSON cannot "
			   "carry (bytes that are not UTF-8, lone UTF-16 "
			   "surrogates): read as U+FFFD",
			   fixes, fixes == 1 ? "" : "s");
	*out = j;
	return 0;

failed:
	stats_add(STAT_HTTP_ERRORS, 1);
	/* A message lost to ENOMEM still leaves a line. */
	errlog_add(where, status, "%s", msg.len ? msg.data : strerror(-rc));
	if (why && msg.len)
		buf_puts(why, msg.data);
	buf_free(&msg);
	return rc;
}

/* A change not sent (dry run): the request it would have been, in *out.
 * 0 or -ENOMEM. */
static int dry_request(const char *method, const char *path, const cJSON *body,
		       cJSON **out)
{
	cJSON *req, *copy = NULL;

	if (!out)
		return 0;
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "method", method) ||
	    !cJSON_AddStringToObject(req, "path", path))
		goto nomem;
	if (body) {
		copy = cJSON_Duplicate(body, 1);
		if (!copy || !cJSON_AddItemToObject(req, "body", copy))
			goto nomem;
	}
	*out = req;
	return 0;

nomem:
	cJSON_Delete(copy);
	cJSON_Delete(req);
	return -ENOMEM;
}

/* Sends one request and judges it; why as finish(). Returns 0 or
 * -errno. */
static int api_call_why(struct http *h, const char *method,
			enum api_endpoint ep, const char *path,
			const cJSON *body, cJSON **out, struct buf *why)
{
	struct http_response r = {0};
	struct buf where = {0};
	enum http_class cls = HTTP_CLASS_GENERAL;
	char *json = NULL;
	double t0;
	int rc;

	if (out)
		*out = NULL;
	if (strcmp(method, "GET") && http_dry_run(h))
		return dry_request(method, path, body, out);
	rc = buf_printf(&where, "%s %s", method, path);
	if (rc)
		return rc;
	if (body) {
		json = cJSON_PrintUnformatted(body);
		if (!json) {
			rc = -ENOMEM;
			goto out_where;
		}
	}
	if (ep == API_PROGRESS_LIST || ep == API_PROGRESS_COURSE)
		cls = HTTP_CLASS_PROGRESS;

	t0 = mono_now();
	rc = http_request_capped(h, method, path, json, cls,
				 strcmp(method, "GET") == 0, ep,
				 api_endpoint_cap(ep), &r);
	rc = finish(where.data, rc, mono_now() - t0, &r,
		    strcmp(method, "GET") != 0, out, why);
	http_response_free(&r);
	free(json);
out_where:
	buf_free(&where);
	return rc;
}

static int api_call(struct http *h, const char *method, enum api_endpoint ep,
		    const char *path, const cJSON *body, cJSON **out)
{
	return api_call_why(h, method, ep, path, body, out, NULL);
}

/* ------------------------------------------------------------------ */
/* Request building                                                    */
/* ------------------------------------------------------------------ */

/* Appends s URL-encoded. -EINVAL for NULL or "" (an empty segment would
 * change which endpoint is meant), or -ENOMEM. */
static int put_escaped(struct buf *b, const char *s)
{
	char *e;
	int rc;

	if (!s || !*s)
		return -EINVAL;
	e = http_escape(s);
	if (!e)
		return -ENOMEM;
	rc = buf_puts(b, e);
	free(e);
	return rc;
}

/*
 * Appends an identifier (email, offer, course, exam id) as put_escaped,
 * but refuses "." and ".." with -ENOENT, before anything is sent. Names
 * in the mount can stand for them ("%2E", "%2E.": the server may send such
 * ids, tree.h), yet as a path segment they are dot segments, which servers
 * and proxies resolve even percent-encoded (RFC 3986 5.2.4, WHATWG URL),
 * so the request would reach another endpoint; and no lookup by such an
 * id can find anything. Query values get the same rule: one rule for
 * every identifier is easier to trust than one per position.
 */
static int put_id(struct buf *b, const char *s)
{
	if (s && (strcmp(s, ".") == 0 || strcmp(s, "..") == 0))
		return -ENOENT;
	return put_escaped(b, s);
}

/* Expands each "{}" in tmpl with the next argument, an identifier,
 * URL-encoded. Returns 0 or -errno (see put_id). */
static int build_path(struct buf *b, const char *tmpl, ...)
{
	const char *p, *mark;
	va_list ap;
	int rc = 0;

	va_start(ap, tmpl);
	for (p = tmpl; !rc && *p; p = mark + 2) {
		mark = strstr(p, "{}");
		if (!mark) {
			rc = buf_puts(b, p);
			break;
		}
		rc = buf_append(b, p, (size_t)(mark - p));
		if (!rc)
			rc = put_id(b, va_arg(ap, const char *));
	}
	va_end(ap);
	return rc;
}

/* Adds "key": value to obj when value is not NULL. 0 or -ENOMEM. */
static int add_str(cJSON *obj, const char *key, const char *value)
{
	if (!value)
		return 0;
	return cJSON_AddStringToObject(obj, key, value) ? 0 : -ENOMEM;
}

/* A GET of the path built from tmpl (up to two "{}"). */
static int get_path(struct http *h, enum api_endpoint ep, cJSON **out,
		    const char *tmpl, const char *a, const char *b)
{
	struct buf path = {0};
	int rc;

	rc = build_path(&path, tmpl, a, b);
	if (!rc)
		rc = api_call(h, "GET", ep, path.data, NULL, out);
	buf_free(&path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Endpoints                                                           */
/* ------------------------------------------------------------------ */

int api_auth(struct http *h, struct buf *why)
{
	return api_call_why(h, "GET", API_AUTH, "/api-auth", NULL, NULL, why);
}

/* #1 */
int api_list_offers(struct http *h, cJSON **out)
{
	return api_call(h, "GET", API_OFFERS, "/v1/offers", NULL, out);
}

/* The largest pageLength the API took: lowered (halved, down to
 * PAGE_LEN_FLOOR) when a 400 names pageLength, and kept for the rest of
 * the process. */
#define PAGE_LEN_FLOOR 10
static _Atomic int page_len_cap = 1000;

/* One request for one page: the path, the call, the shape. why gets the
 * reason of a failure. */
static int list_page_once(struct http *h, const struct api_user_filter *f,
			  const char *cursor, int page_len, cJSON **users,
			  char **next, struct buf *why)
{
	struct buf path = {0}, where = {0};
	cJSON *body = NULL;
	int rc;

	rc = buf_printf(&path, "/v1/users/list?pageLength=%d", page_len);
	if (!rc && cursor)
		rc = buf_puts(&path, "&lastLoadedId=");
	if (!rc && cursor)
		rc = put_escaped(&path, cursor);
	if (!rc && f && f->offer_id)
		rc = buf_puts(&path, "&offerId=");
	if (!rc && f && f->offer_id)
		rc = put_id(&path, f->offer_id);
	if (!rc && f && f->course_id)
		rc = buf_puts(&path, "&courseId=");
	if (!rc && f && f->course_id)
		rc = put_id(&path, f->course_id);
	if (!rc && f && f->active >= 0)
		rc = buf_puts(&path,
			      f->active ? "&active=true" : "&active=false");
	if (rc)
		goto out_path;

	rc = api_call_why(h, "GET", API_USERS_LIST, path.data, NULL, &body,
			  why);
	if (rc)
		goto out_path;
	rc = model_users_page(body, page_len, users, next);
	if (rc == -EIO) {
		stats_add(STAT_HTTP_ERRORS, 1);
		if (!buf_printf(&where, "GET %s", path.data))
			errlog_add(where.data, 200,
				   "unexpected shape of a users page");
		buf_free(&where);
	}
	cJSON_Delete(body);
out_path:
	buf_free(&path);
	return rc;
}

/* #2. The shape is judged by model_users_page; a cursor that does not
 * advance is the paging loop's to catch (school.c). A 400 that names
 * pageLength halves it (API.md: its maximum is unknown) and tries again;
 * the smaller size is kept, and said once in errlog. */
int api_list_users_page(struct http *h, const struct api_user_filter *f,
			const char *cursor, int page_len, cJSON **users,
			char **next)
{
	int len, rc;

	*users = NULL;
	*next = NULL;
	if (page_len < 1)
		return -EINVAL;
	for (;;) {
		struct buf why = {0};
		int cap = page_len_cap, lower;

		len = page_len < cap ? page_len : cap;
		rc = list_page_once(h, f, cursor, len, users, next, &why);
		lower = len / 2 < PAGE_LEN_FLOOR ? PAGE_LEN_FLOOR : len / 2;
		if (rc != -EINVAL || !why.data ||
		    !model_page_length_refused(why.data) || lower >= len) {
			buf_free(&why);
			return rc;
		}
		buf_free(&why);
		/* Only one thread lowers it per step, and says so. */
		if (atomic_compare_exchange_strong(&page_len_cap, &cap, lower))
			errlog_add("GET /v1/users/list", 400,
				   "the API refused pageLength=%d: using %d "
				   "from now on",
				   len, lower);
	}
}

int api_page_len(int wanted)
{
	int cap = page_len_cap;

	return wanted < cap ? wanted : cap;
}

/* #3 */
int api_find_by_mail(struct http *h, const char *email, cJSON **out)
{
	return get_path(h, API_FIND_BY_MAIL, out, "/v1/users/find-by-mail/{}",
			email, NULL);
}

/* #4 */
int api_grant(struct http *h, const char *email, const char *first,
	      const char *last, const char *offer_id, const char *order_id,
	      cJSON **out)
{
	cJSON *body;
	int rc;

	if (!email || !offer_id)
		return -EINVAL;
	body = cJSON_CreateObject();
	if (!body)
		return -ENOMEM;
	rc = add_str(body, "email", email);
	if (!rc)
		rc = add_str(body, "firstname", first);
	if (!rc)
		rc = add_str(body, "name", last);
	if (!rc)
		rc = add_str(body, "grantOffer", offer_id);
	if (!rc)
		rc = add_str(body, "orderId", order_id);
	if (!rc)
		rc = api_call(h, "POST", API_GRANT,
			      "/v1/users/grant-user-offer-by-mail", body, out);
	cJSON_Delete(body);
	return rc;
}

/* #5 and #6: {"email", id_key: id, "active": bool}. */
static int set_state(struct http *h, enum api_endpoint ep, const char *path,
		     const char *email, const char *id_key, const char *id,
		     bool active, cJSON **out)
{
	cJSON *body;
	int rc;

	if (!email || !id)
		return -EINVAL;
	body = cJSON_CreateObject();
	if (!body)
		return -ENOMEM;
	rc = add_str(body, "email", email);
	if (!rc)
		rc = add_str(body, id_key, id);
	if (!rc && !cJSON_AddBoolToObject(body, "active", active))
		rc = -ENOMEM;
	if (!rc)
		rc = api_call(h, "POST", ep, path, body, out);
	cJSON_Delete(body);
	return rc;
}

int api_set_offer_state(struct http *h, const char *email, const char *offer_id,
			bool active, cJSON **out)
{
	return set_state(h, API_SET_OFFER_STATE, "/v1/users/set-offer-state",
			 email, "offerId", offer_id, active, out);
}

int api_set_order_state(struct http *h, const char *email, const char *order_id,
			bool active, cJSON **out)
{
	return set_state(h, API_SET_ORDER_STATE, "/v1/users/set-order-state",
			 email, "orderId", order_id, active, out);
}

/* The item key of set-custom-user-properties that the API took last
 * (API.md: "propertyId" by one client, "id" by the n8n node): 0
 * "propertyId", 1 "id". */
static _Atomic int propkey_is_id;

/* props with each item's key spelled `key`. */
static cJSON *props_spelled(const cJSON *props, const char *key)
{
	cJSON *copy = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, props) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(
			it, MODEL_PROPKEY_DEFAULT);
		const cJSON *kv;
		cJSON *item = cJSON_CreateObject();

		if (!copy || !item || !cJSON_AddItemToArray(copy, item)) {
			cJSON_Delete(item);
			cJSON_Delete(copy);
			return NULL;
		}
		cJSON_ArrayForEach(kv, it) {
			cJSON *v = cJSON_Duplicate(kv, 1);

			if (!v ||
			    !cJSON_AddItemToObject(
				    item, kv == id ? key : kv->string, v)) {
				cJSON_Delete(v);
				cJSON_Delete(copy);
				return NULL;
			}
		}
	}
	return copy;
}

static int set_properties_as(struct http *h, const char *email,
			     const cJSON *props, const char *key, cJSON **out,
			     struct buf *why)
{
	cJSON *body = cJSON_CreateObject(), *items = props_spelled(props, key);
	int rc = body && items ? add_str(body, "email", email) : -ENOMEM;

	if (!rc && !cJSON_AddItemToObject(body, "properties", items))
		rc = -ENOMEM;
	else if (!rc)
		items = NULL;
	if (!rc)
		rc = api_call_why(h, "POST", API_SET_PROPERTIES,
				  "/v1/users/set-custom-user-properties", body,
				  out, why);
	cJSON_Delete(items);
	cJSON_Delete(body);
	return rc;
}

/* #7. Items come as {"propertyId", "value"}; they are sent with the item
 * key the API took last. A 400 that says the key is wrong is tried once
 * with the other spelling, which is then kept (and said once). */
int api_set_properties(struct http *h, const char *email, const cJSON *props,
		       cJSON **out)
{
	struct buf why = {0};
	int is_id = propkey_is_id;
	const char *key = is_id ? "id" : MODEL_PROPKEY_DEFAULT;
	int rc;

	if (!email || !props)
		return -EINVAL;
	rc = set_properties_as(h, email, props, key, out, &why);
	if (rc == -EINVAL && why.data && model_propkey_refused(why.data, key)) {
		key = model_propkey_other(key);
		rc = set_properties_as(h, email, props, key, out, NULL);
		if (!rc && atomic_compare_exchange_strong(&propkey_is_id,
							  &is_id, !is_id))
			errlog_add("POST /v1/users/set-custom-user-properties",
				   200,
				   "the API takes property items as {\"%s\", "
				   "\"value\"}: using that from now on",
				   key);
	}
	buf_free(&why);
	return rc;
}

/* #8. DELETE with a body, as API.md lists first. Never retried once it
 * may have reached the server: deletion is irreversible. */
int api_delete_users(struct http *h, const char *const *emails, int n,
		     cJSON **out)
{
	cJSON *body, *list;
	int i, rc = 0;

	if (n < 0 || (n > 0 && !emails))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!emails[i])
			return -EINVAL;
	body = cJSON_CreateObject();
	if (!body)
		return -ENOMEM;
	list = cJSON_AddArrayToObject(body, "emails");
	if (!list)
		rc = -ENOMEM;
	for (i = 0; !rc && i < n; i++) {
		cJSON *s = cJSON_CreateString(emails[i]);

		if (!s || !cJSON_AddItemToArray(list, s)) {
			cJSON_Delete(s);
			rc = -ENOMEM;
		}
	}
	if (!rc)
		rc = api_call(h, "DELETE", API_DELETE_USERS,
			      "/v1/users/delete-users", body, out);
	cJSON_Delete(body);
	return rc;
}

/* #9 */
int api_progress_list(struct http *h, const char *email, cJSON **out)
{
	return get_path(h, API_PROGRESS_LIST, out,
			"/v1/users/course-progress/list/{}", email, NULL);
}

/* #10 */
int api_progress_course(struct http *h, const char *course_id,
			const char *email, cJSON **out)
{
	return get_path(h, API_PROGRESS_COURSE, out,
			"/v1/users/course-progress/{}/{}", course_id, email);
}

/* #11 */
int api_login_token(struct http *h, const char *uid, cJSON **out)
{
	return get_path(h, API_LOGIN_TOKEN, out, "/v1/users/login-token/{}",
			uid, NULL);
}

/* #12 */
int api_enable_chapter(struct http *h, const char *email, const char *course_id,
		       const char *chapter_id, cJSON **out)
{
	cJSON *body;
	int rc;

	if (!email || !course_id || !chapter_id)
		return -EINVAL;
	body = cJSON_CreateObject();
	if (!body)
		return -ENOMEM;
	rc = add_str(body, "email", email);
	if (!rc)
		rc = add_str(body, "courseId", course_id);
	if (!rc)
		rc = add_str(body, "chapterId", chapter_id);
	if (!rc)
		rc = api_call(h, "POST", API_ENABLE_CHAPTER,
			      "/v1/chapters/chapter-access/enable", body, out);
	cJSON_Delete(body);
	return rc;
}

/* #13 */
int api_property_defs(struct http *h, cJSON **out)
{
	return api_call(h, "GET", API_PROPERTY_DEFS,
			"/v1/custom-user-properties/list", NULL, out);
}

/* #14 */
int api_exam_results(struct http *h, const char *exam_id, cJSON **out)
{
	return get_path(h, API_EXAM_RESULTS, out, "/v1/exams/{}/results",
			exam_id, NULL);
}

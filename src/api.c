/*
 * api: Memberspot endpoints as C functions.
 *
 * Every endpoint is one row of endpoints[]: its method, its path template
 * (each "{}" an identifier, passed through http_escape so that it stays
 * one segment or one query value whatever its characters), its pacing
 * class, whether it may be retried after it may have reached the server,
 * the cap on its answer, and the builder of its body (model.c spells the
 * fields). An endpoint function fills a struct api_args and calls call(),
 * which builds path and body from the row, sends through http.c and has
 * finish() judge the outcome. finish() is the only place where an HTTP
 * status becomes an errno and the only place that writes API failures to
 * errlog, with the server's own message (model_error_message) or, failing
 * that, the start of the raw body.
 *
 * A body is built once: what was sent is handed back in struct
 * api_result for the journal, never rebuilt.
 *
 * Only GETs are idempotent: a POST or DELETE is retried by http.c only
 * when it provably never reached the server.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_RAW_MSG_MAX 200 /* bytes of a non-JSON error body to log */

/* What an endpoint function gives its row: the path's identifiers and
 * the fields its body builder takes. */
struct api_args {
	const char *id[2]; /* the path template's "{}"s, in order */
	const char *email, *first, *last, *offer, *order, *course, *chapter;
	bool active;
	const cJSON *props;
	const char *const *emails;
	int n;
};

typedef cJSON *(*body_fn)(const struct api_args *a);

static cJSON *grant_body(const struct api_args *a)
{
	return model_grant_body(a->email, a->first, a->last, a->offer,
				a->order);
}

static cJSON *offer_state_body(const struct api_args *a)
{
	return model_offer_state_body(a->email, a->offer, a->active);
}

static cJSON *order_state_body(const struct api_args *a)
{
	return model_order_state_body(a->email, a->order, a->active);
}

static cJSON *props_body(const struct api_args *a)
{
	return model_props_body(a->email, a->props);
}

static cJSON *delete_body(const struct api_args *a)
{
	return model_delete_body(a->emails, a->n);
}

static cJSON *chapter_body(const struct api_args *a)
{
	return model_chapter_body(a->email, a->course, a->chapter);
}

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

struct endpoint {
	const char *method;
	const char *path;	/* template: each "{}" one identifier */
	enum http_class pacing; /* http.c's rate class */
	bool idempotent;	/* may be retried once it may have arrived */
	size_t cap;		/* largest answer; 0: API_CAP_DEFAULT */
	body_fn body;		/* NULL: no body */
};

#define GENERAL HTTP_CLASS_GENERAL
#define PROGRESS HTTP_CLASS_PROGRESS

/* One row per endpoint: method, path template, pacing, idempotent, cap,
 * body builder. A table reads best aligned, so clang-format keeps off. */
/* clang-format off */
static const struct endpoint endpoints[API__N] = {
	[API_AUTH] =
		{"GET", "/api-auth", GENERAL, true, 0, NULL},
	[API_OFFERS] =
		{"GET", "/v1/offers", GENERAL, true, 0, NULL},
	/* its query is built by list_query */
	[API_USERS_LIST] =
		{"GET", "/v1/users/list", GENERAL, true, 8 * MIB, NULL},
	[API_FIND_BY_MAIL] =
		{"GET", "/v1/users/find-by-mail/{}", GENERAL, true, 1 * MIB,
		 NULL},
	[API_GRANT] =
		{"POST", "/v1/users/grant-user-offer-by-mail", GENERAL, false,
		 0, grant_body},
	[API_SET_OFFER_STATE] =
		{"POST", "/v1/users/set-offer-state", GENERAL, false, 0,
		 offer_state_body},
	[API_SET_ORDER_STATE] =
		{"POST", "/v1/users/set-order-state", GENERAL, false, 0,
		 order_state_body},
	[API_SET_PROPERTIES] =
		{"POST", "/v1/users/set-custom-user-properties", GENERAL,
		 false, 0, props_body},
	/* DELETE with a body, as API.md lists first */
	[API_DELETE_USERS] =
		{"DELETE", "/v1/users/delete-users", GENERAL, false, 0,
		 delete_body},
	[API_PROGRESS_LIST] =
		{"GET", "/v1/users/course-progress/list/{}", PROGRESS, true,
		 0, NULL},
	[API_PROGRESS_COURSE] =
		{"GET", "/v1/users/course-progress/{}/{}", PROGRESS, true, 0,
		 NULL},
	[API_LOGIN_TOKEN] =
		{"GET", "/v1/users/login-token/{}", GENERAL, true, 0, NULL},
	[API_ENABLE_CHAPTER] =
		{"POST", "/v1/chapters/chapter-access/enable", GENERAL, false,
		 0, chapter_body},
	[API_PROPERTY_DEFS] =
		{"GET", "/v1/custom-user-properties/list", GENERAL, true, 0,
		 NULL},
	[API_EXAM_RESULTS] =
		{"GET", "/v1/exams/{}/results", GENERAL, true, 32 * MIB, NULL},
};
/* clang-format on */

size_t api_endpoint_cap(enum api_endpoint ep)
{
	if ((unsigned)ep >= API__N || !endpoints[ep].cap)
		return API_CAP_DEFAULT;
	return endpoints[ep].cap;
}

/* The labels, "GET /v1/exams/results": the method and the template
 * without its "/{}"s. Made once. */
#define LABEL_MAX 64
static char labels[API__N][LABEL_MAX];
static pthread_once_t labels_once = PTHREAD_ONCE_INIT;

static void make_labels(void)
{
	const char *p;
	size_t i, n;

	for (i = 0; i < API__N; i++) {
		n = (size_t)snprintf(labels[i], LABEL_MAX, "%s ",
				     endpoints[i].method);
		for (p = endpoints[i].path; *p && n + 1 < LABEL_MAX; p++) {
			if (!strncmp(p, "/{}", 3))
				p += 2;
			else
				labels[i][n++] = *p;
		}
		labels[i][n] = '\0';
	}
}

const char *api_endpoint_name(enum api_endpoint ep)
{
	if ((unsigned)ep >= API__N)
		return "unknown";
	pthread_once(&labels_once, make_labels);
	return labels[ep];
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

/* The readable reason of a failed answer (errlog strips control chars).
 * Appended to msg. */
static void status_reason(const struct http_response *r, struct buf *msg)
{
	size_t start = msg->len;
	cJSON *err;

	err = cJSON_ParseWithLength(r->body, r->len);
	if (cJSON_IsObject(err))
		model_error_message(err, msg);
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
static int send_request(struct http *h, enum api_endpoint ep, const char *path,
			const cJSON *body, cJSON **out, struct buf *why)
{
	const struct endpoint *row = &endpoints[ep];
	struct http_response r = {0};
	struct buf where = {0};
	char *json = NULL;
	double t0;
	int rc;

	if (out)
		*out = NULL;
	if (!row->idempotent && http_dry_run(h))
		return dry_request(row->method, path, body, out);
	rc = buf_printf(&where, "%s %s", row->method, path);
	if (rc)
		return rc;
	if (body) {
		json = cJSON_PrintUnformatted(body);
		if (!json) {
			rc = -ENOMEM;
			goto out_where;
		}
	}
	t0 = mono_now();
	rc = http_request_capped(h, row->method, path, json, row->pacing,
				 row->idempotent, ep, api_endpoint_cap(ep), &r);
	rc = finish(where.data, rc, mono_now() - t0, &r, !row->idempotent, out,
		    why);
	http_response_free(&r);
	free(json);
out_where:
	buf_free(&where);
	return rc;
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

/* The row's path with each "{}" replaced by the next of a->id,
 * URL-encoded. Returns 0 or -errno (see put_id). */
static int build_path(struct buf *b, enum api_endpoint ep,
		      const struct api_args *a)
{
	const char *p, *mark;
	int rc = 0, i = 0;

	for (p = endpoints[ep].path; !rc && *p; p = mark + 2) {
		mark = strstr(p, "{}");
		if (!mark) {
			rc = buf_puts(b, p);
			break;
		}
		rc = buf_append(b, p, (size_t)(mark - p));
		if (!rc)
			rc = i < 2 ? put_id(b, a->id[i++]) : -EINVAL;
	}
	return rc;
}

/*
 * One call of endpoint ep: path from the row and a->id, then query
 * (already encoded; may be NULL) appended; the body from the row's
 * builder. sent (may be NULL) gets the body as built, for the journal;
 * out the answer. Returns 0 or -errno.
 */
static int call(struct http *h, enum api_endpoint ep, const struct api_args *a,
		const char *query, cJSON **out, cJSON **sent, struct buf *why)
{
	struct buf path = {0};
	cJSON *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	rc = build_path(&path, ep, a);
	if (!rc && query)
		rc = buf_puts(&path, query);
	if (!rc && endpoints[ep].body) {
		body = endpoints[ep].body(a);
		if (!body)
			rc = -ENOMEM;
	}
	if (!rc)
		rc = send_request(h, ep, path.data, body, out, why);
	buf_free(&path);
	if (sent)
		*sent = body;
	else
		cJSON_Delete(body);
	return rc;
}

/* A GET of ep with up to two identifiers. */
static int get(struct http *h, enum api_endpoint ep, const char *a,
	       const char *b, cJSON **out)
{
	struct api_args args = {.id = {a, b}};

	return call(h, ep, &args, NULL, out, NULL, NULL);
}

/* A change: the answer and the body sent go to res. */
static int change(struct http *h, enum api_endpoint ep,
		  const struct api_args *a, struct api_result *res)
{
	return call(h, ep, a, NULL, &res->answer, &res->sent, NULL);
}

void api_result_free(struct api_result *res)
{
	cJSON_Delete(res->answer);
	cJSON_Delete(res->sent);
	res->answer = res->sent = NULL;
}

/* ------------------------------------------------------------------ */
/* Endpoints                                                           */
/* ------------------------------------------------------------------ */

int api_auth(struct http *h, struct buf *why)
{
	struct api_args none = {0};

	return call(h, API_AUTH, &none, NULL, NULL, NULL, why);
}

/* #1 */
int api_list_offers(struct http *h, cJSON **out)
{
	return get(h, API_OFFERS, NULL, NULL, out);
}

/* The largest pageLength the API took: lowered (halved, down to
 * PAGE_LEN_FLOOR) when a 400 names pageLength, and kept for the rest of
 * the process. */
#define PAGE_LEN_FLOOR 10
static _Atomic int page_len_cap = 1000;

/* The query of one users page. 0 or -errno. */
static int list_query(struct buf *q, const struct api_user_filter *f,
		      const char *cursor, int page_len)
{
	int rc = buf_printf(q, "?pageLength=%d", page_len);

	if (!rc && cursor)
		rc = buf_puts(q, "&lastLoadedId=");
	if (!rc && cursor)
		rc = put_escaped(q, cursor);
	if (!rc && f && f->offer_id)
		rc = buf_puts(q, "&offerId=");
	if (!rc && f && f->offer_id)
		rc = put_id(q, f->offer_id);
	if (!rc && f && f->course_id)
		rc = buf_puts(q, "&courseId=");
	if (!rc && f && f->course_id)
		rc = put_id(q, f->course_id);
	if (!rc && f && f->active >= 0)
		rc = buf_puts(q, f->active ? "&active=true" : "&active=false");
	return rc;
}

/* One request for one page: the query, the call, the shape. why gets the
 * reason of a failure. */
static int list_page_once(struct http *h, const struct api_user_filter *f,
			  const char *cursor, int page_len, cJSON **users,
			  char **next, struct buf *why)
{
	struct api_args none = {0};
	struct buf query = {0}, where = {0};
	cJSON *body = NULL;
	int rc;

	rc = list_query(&query, f, cursor, page_len);
	if (!rc)
		rc = call(h, API_USERS_LIST, &none, query.data, &body, NULL,
			  why);
	if (!rc)
		rc = model_users_page(body, page_len, users, next);
	if (rc == -EIO && body) {
		stats_add(STAT_HTTP_ERRORS, 1);
		if (!buf_printf(&where, "GET %s%s",
				endpoints[API_USERS_LIST].path, query.data))
			errlog_add(where.data, 200,
				   "unexpected shape of a users page");
		buf_free(&where);
	}
	cJSON_Delete(body);
	buf_free(&query);
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
	return get(h, API_FIND_BY_MAIL, email, NULL, out);
}

/* #4 */
int api_grant(struct http *h, const char *email, const char *first,
	      const char *last, const char *offer_id, const char *order_id,
	      struct api_result *res)
{
	struct api_args a = {.email = email,
			     .first = first,
			     .last = last,
			     .offer = offer_id,
			     .order = order_id};

	*res = (struct api_result){0};
	if (!email || !offer_id)
		return -EINVAL;
	return change(h, API_GRANT, &a, res);
}

/* #5 and #6: a's offer or order is id. */
static int grant_state(struct http *h, enum api_endpoint ep,
		       const struct api_args *a, const char *id,
		       struct api_result *res)
{
	*res = (struct api_result){0};
	if (!a->email || !id)
		return -EINVAL;
	return change(h, ep, a, res);
}

int api_set_offer_state(struct http *h, const char *email, const char *offer_id,
			bool active, struct api_result *res)
{
	struct api_args a = {
		.email = email, .offer = offer_id, .active = active};

	return grant_state(h, API_SET_OFFER_STATE, &a, offer_id, res);
}

int api_set_order_state(struct http *h, const char *email, const char *order_id,
			bool active, struct api_result *res)
{
	struct api_args a = {
		.email = email, .order = order_id, .active = active};

	return grant_state(h, API_SET_ORDER_STATE, &a, order_id, res);
}

/* The item key of set-custom-user-properties that the API took last
 * (API.md: "propertyId" by one client, "id" by the n8n node): 0
 * "propertyId", 1 "id". */
static _Atomic int propkey_is_id;

/* Sends a set-properties body with its items' key spelled key. */
static int send_props(struct http *h, const cJSON *body, const char *key,
		      cJSON **out, struct buf *why)
{
	cJSON *respelled = NULL;
	int rc;

	if (strcmp(key, MODEL_PROPKEY_DEFAULT) != 0) {
		respelled = model_props_respelled(body, key);
		if (!respelled)
			return -ENOMEM;
	}
	rc = send_request(h, API_SET_PROPERTIES,
			  endpoints[API_SET_PROPERTIES].path,
			  respelled ? respelled : body, out, why);
	cJSON_Delete(respelled);
	return rc;
}

/* #7. Items come as {"propertyId", "value"}; they are sent with the item
 * key the API took last. A 400 that says the key is wrong is tried once
 * with the other spelling, which is then kept (and said once). The body
 * is built once, in the mount's spelling: that is what res->sent holds. */
int api_set_properties(struct http *h, const char *email, const cJSON *props,
		       struct api_result *res)
{
	struct api_args a = {.email = email, .props = props};
	struct buf why = {0};
	int is_id = propkey_is_id;
	const char *key = is_id ? model_propkey_other(MODEL_PROPKEY_DEFAULT)
				: MODEL_PROPKEY_DEFAULT;
	int rc;

	*res = (struct api_result){0};
	if (!email || !props)
		return -EINVAL;
	res->sent = endpoints[API_SET_PROPERTIES].body(&a);
	if (!res->sent)
		return -ENOMEM;
	rc = send_props(h, res->sent, key, &res->answer, &why);
	if (rc == -EINVAL && why.data && model_propkey_refused(why.data, key)) {
		key = model_propkey_other(key);
		rc = send_props(h, res->sent, key, &res->answer, NULL);
		if (!rc && atomic_compare_exchange_strong(&propkey_is_id,
							  &is_id, !is_id))
			errlog_add(api_endpoint_name(API_SET_PROPERTIES), 200,
				   "the API takes property items as {\"%s\", "
				   "\"value\"}: using that from now on",
				   key);
	}
	buf_free(&why);
	return rc;
}

/* #8. Never retried once it may have reached the server: deletion is
 * irreversible. */
int api_delete_users(struct http *h, const char *const *emails, int n,
		     struct api_result *res)
{
	struct api_args a = {.emails = emails, .n = n};
	int i;

	*res = (struct api_result){0};
	if (n < 0 || (n > 0 && !emails))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!emails[i])
			return -EINVAL;
	return change(h, API_DELETE_USERS, &a, res);
}

/* #9 */
int api_progress_list(struct http *h, const char *email, cJSON **out)
{
	return get(h, API_PROGRESS_LIST, email, NULL, out);
}

/* #10 */
int api_progress_course(struct http *h, const char *course_id,
			const char *email, cJSON **out)
{
	return get(h, API_PROGRESS_COURSE, course_id, email, out);
}

/* #11 */
int api_login_token(struct http *h, const char *uid, cJSON **out)
{
	return get(h, API_LOGIN_TOKEN, uid, NULL, out);
}

/* #12 */
int api_enable_chapter(struct http *h, const char *email, const char *course_id,
		       const char *chapter_id, struct api_result *res)
{
	struct api_args a = {
		.email = email, .course = course_id, .chapter = chapter_id};

	*res = (struct api_result){0};
	if (!email || !course_id || !chapter_id)
		return -EINVAL;
	return change(h, API_ENABLE_CHAPTER, &a, res);
}

/* #13 */
int api_property_defs(struct http *h, cJSON **out)
{
	return get(h, API_PROPERTY_DEFS, NULL, NULL, out);
}

/* #14 */
int api_exam_results(struct http *h, const char *exam_id, cJSON **out)
{
	return get(h, API_EXAM_RESULTS, exam_id, NULL, out);
}

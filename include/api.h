/*
 * api: one function per Memberspot endpoint (../shared/API.md rows #1-#14).
 *
 * Each function builds the request from its endpoint's row in one table
 * (method, path template, pacing class, idempotent, body builder;
 * identifiers URL-encoded, bodies built by model.c), sends it through
 * http.c and hands back the parsed response body. HTTP statuses become
 * errno in exactly one place (api_status_errno); at the same place the
 * server's message goes to errlog. Response *shapes* are not interpreted
 * here, except through model.h. Returns 0 or -errno:
 *   400 -> EINVAL, 401/403 -> EACCES, 404 -> ENOENT, 409 -> EEXIST,
 *   429 (retries exhausted) -> EAGAIN, 5xx -> EIO, unparsable 2xx body -> EIO,
 *   deadline -> ETIMEDOUT, unreachable -> EHOSTUNREACH, TLS failure
 *   (certificate not verified, handshake failed; http.h) -> EPROTO.
 * An identifier that is "." or ".." is never put in a URL (it would be a
 * dot segment): such a call fails with ENOENT and sends nothing.
 * On success *out (where present) is a new cJSON owned by the caller.
 * A change (any method but GET) fills a struct api_result instead: the
 * answer, and the body as built (sent), for the journal, so that nothing
 * rebuilds it. Dry run (http_dry_run): a change is built as always but
 * not sent; it succeeds at once and its answer is the request it would
 * have been, {"method", "path", "body"} (path as sent after the base
 * URL; body absent when there is none).
 * Thread-safe as http.c is.
 */
#ifndef MSFS_API_H
#define MSFS_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;
struct http;

enum api_endpoint {
	API_AUTH,
	API_OFFERS,	     /* #1 */
	API_USERS_LIST,	     /* #2 */
	API_FIND_BY_MAIL,    /* #3 */
	API_GRANT,	     /* #4 */
	API_SET_OFFER_STATE, /* #5 */
	API_SET_ORDER_STATE, /* #6 */
	API_SET_PROPERTIES,  /* #7 */
	API_DELETE_USERS,    /* #8 */
	API_PROGRESS_LIST,   /* #9 */
	API_PROGRESS_COURSE, /* #10 */
	API_LOGIN_TOKEN,     /* #11 */
	API_ENABLE_CHAPTER,  /* #12 */
	API_PROPERTY_DEFS,   /* #13 */
	API_EXAM_RESULTS,    /* #14 */
	API__N
};

/* "GET /v1/offers"-style label of an endpoint, for status output. */
const char *api_endpoint_name(enum api_endpoint ep);
/* The largest answer the endpoint may send, in bytes: 8 MiB for a list
 * page (and by default), 1 MiB for a member record (find-by-mail), 32 MiB
 * for an exam's results. A larger answer is -EIO, and the error log says
 * "answer too large: more than N MiB, the cap for this endpoint". */
size_t api_endpoint_cap(enum api_endpoint ep);

/* The single HTTP-status-to-errno mapping. 2xx -> 0. */
int api_status_errno(long status);

struct api_user_filter {
	const char *offer_id;  /* NULL: any */
	const char *course_id; /* NULL: any */
	int active;	       /* -1: any, 0: inactive, 1: active */
};

/* What a change sent and got; release with api_result_free. */
struct api_result {
	cJSON *answer; /* the parsed answer; under dry run the request */
	cJSON *sent;   /* the body as built (NULL when the call failed
			* before building it): for the journal, in the
			* mount's spelling of property items ("propertyId")
			* whatever the wire used */
};
void api_result_free(struct api_result *res);

/* The key check. why (may be NULL) gets the readable reason of a failure,
 * as logged: the server's message or the transport's ("the TLS
 * certificate could not be verified: ..."). */
int api_auth(struct http *h, struct buf *why);
int api_list_offers(struct http *h, cJSON **out);
/* One page of #2. *users is a cJSON array (never NULL on success);
 * *next is the cursor for the following page or NULL at the end. */
int api_list_users_page(struct http *h, const struct api_user_filter *f,
			const char *cursor, int page_len, cJSON **users,
			char **next);
/* The page length a list request asks for: wanted, or less once the API
 * refused a larger one. */
int api_page_len(int wanted);
int api_find_by_mail(struct http *h, const char *email, cJSON **out);
/* first/last/order may be NULL (omitted from the body). */
int api_grant(struct http *h, const char *email, const char *first,
	      const char *last, const char *offer_id, const char *order_id,
	      struct api_result *res);
int api_set_offer_state(struct http *h, const char *email, const char *offer_id,
			bool active, struct api_result *res);
int api_set_order_state(struct http *h, const char *email, const char *order_id,
			bool active, struct api_result *res);
/* props: array of {"propertyId","value"}; not consumed. Sent with the
 * item key the API takes ("propertyId" or "id", learned on a 400). */
int api_set_properties(struct http *h, const char *email, const cJSON *props,
		       struct api_result *res);
int api_delete_users(struct http *h, const char *const *emails, int n,
		     struct api_result *res);
int api_progress_list(struct http *h, const char *email, cJSON **out);
int api_progress_course(struct http *h, const char *course_id,
			const char *email, cJSON **out);
int api_login_token(struct http *h, const char *uid, cJSON **out);
int api_enable_chapter(struct http *h, const char *email, const char *course_id,
		       const char *chapter_id, struct api_result *res);
int api_property_defs(struct http *h, cJSON **out);
int api_exam_results(struct http *h, const char *exam_id, cJSON **out);

#endif

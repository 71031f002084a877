/*
 * http: the only module that talks to the network (libcurl).
 *
 * One struct http per mount. It owns a bounded pool of curl easy handles
 * (connections are kept alive and reused), paces each endpoint class with
 * a pacer (pacer.h: unlimited until the server refuses, then a rate learned
 * from its refusals, under an optional ceiling), and retries within a hard
 * deadline:
 *   - every call returns within config.timeout_s, waits included;
 *   - 429 and 503 are retried after Retry-After (capped, with jitter);
 *   - other 5xx and transport failures are retried only when the request
 *     is idempotent, or (for any request) when the connection could not
 *     be made at all, so the server provably never saw it;
 *   - TLS verification stays on unless config.insecure; a TLS failure
 *     (certificate not verified, handshake refused) is permanent: it is
 *     never retried and comes back as its own errno, EPROTO.
 * It does not interpret bodies or map statuses to errno: that is api.c.
 * Transport failures (curl codes) become errno here, in curl_errno only.
 * The key is sent as the X-API-KEY header and never logged or printed.
 * Thread-safe: many threads may call http_request at once.
 */
#ifndef MSFS_HTTP_H
#define MSFS_HTTP_H

#include <stddef.h>

struct buf;

enum http_class {
	HTTP_CLASS_GENERAL,  /* ceiling config.max_rps */
	HTTP_CLASS_PROGRESS, /* course-progress endpoints: config.progress_rps
			      */
	HTTP_CLASS__N
};

struct http_config {
	const char *base_url;	  /* e.g. "https://api.memberspot.de" */
	const char *api_key;	  /* copied */
	double timeout_s;	  /* total budget of one http_request call */
	double connect_timeout_s; /* per attempt; capped by the budget left */
	double max_rps;		  /* general ceiling; <= 0: none (learned) */
	double progress_rps;	  /* progress ceiling; <= 0: none (learned) */
	int max_conns;		  /* pool size, >= 1 */
	int insecure;		  /* skip TLS verification */
	int dry_run;		  /* send GETs only (-o dry_run): see below */
};

#define HTTP_ERROR_MAX 320
/* How resp->error begins when the server's certificate failed
 * verification (the one TLS failure -o insecure can get past). */
#define HTTP_TLS_CERT_REASON "the TLS certificate could not be verified: "
/* How resp->error begins when an answer was larger than the call's cap
 * (http_request_capped): -EIO, not retried. */
#define HTTP_TOO_BIG_REASON "answer too large: "

struct http_response {
	long status; /* final HTTP status */
	char *body;  /* NUL-terminated, may be "" */
	size_t len;
	double retry_after; /* seconds from Retry-After, or 0 */
	/* When http_request failed in transport: a readable reason, one line
	 * ("the TLS certificate could not be verified: SSL certificate
	 * problem: self-signed certificate"), or "" when there is none beyond
	 * the errno. Never holds the key. */
	char error[HTTP_ERROR_MAX];
};

struct http;

/* Returns NULL on allocation failure or when curl cannot initialise, and
 * (errno EINVAL) for a missing URL or an empty key or one holding control
 * characters, which could not be sent as a header. */
struct http *http_new(const struct http_config *config);
void http_free(struct http *h);

/*
 * Sends METHOD base_url+path (path already URL-encoded, starting with "/")
 * with an optional JSON body. `endpoint` is only counted (stats_endpoint).
 * Returns 0 when an HTTP answer arrived (any status: the caller judges it;
 * free with http_response_free), -ETIMEDOUT when the deadline passed,
 * -EAGAIN when an earlier 429/503 of this class asked for a wait that
 * reaches past the deadline (nothing was sent), -EHOSTUNREACH when the API
 * could not be reached, -EPROTO when TLS failed (the server's certificate
 * could not be verified, or no TLS session could be set up: EPROTO, not
 * EIO, because retrying cannot help and the user must act, and not EACCES,
 * which means a rejected key), -EIO on any other transport failure,
 * -ENOMEM. On a transport failure resp->error says why. With
 * config.dry_run, any method but GET is refused at once with -EROFS and
 * nothing is sent (api.c answers changes itself before they get here;
 * this is the net beneath it).
 */
int http_request(struct http *h, const char *method, const char *path,
		 const char *json_body, enum http_class cls, int idempotent,
		 int endpoint, struct http_response *resp);
/* http_request with a cap on the answer's body (after decompression):
 * a larger one is abandoned as soon as it is known to be larger (its
 * Content-Length or the bytes received), never retried, and comes back
 * as -EIO with resp->error beginning with HTTP_TOO_BIG_REASON. A hostile
 * or broken server cannot make the daemon hold more than that per
 * request. max_body 0, or above http_request's own cap (64 MiB), means
 * that cap. */
int http_request_capped(struct http *h, const char *method, const char *path,
			const char *json_body, enum http_class cls,
			int idempotent, int endpoint, size_t max_body,
			struct http_response *resp);
void http_response_free(struct http_response *resp);
/* Appends one line per class on its pacing for .memberspot/status:
 * "pacing general: unlimited", "pacing progress: 4.00/s (the ceiling)",
 * "pacing general: 7.21/s (learned: ...)". Returns 0 or -ENOMEM. */
int http_pacing_render(struct http *h, struct buf *out);
/* 1 when the handle sends GETs only (config.dry_run). */
int http_dry_run(const struct http *h);

/* Percent-encodes everything but RFC 3986 unreserved characters, so an
 * identifier can never add a path segment or query; a whole "." or ".."
 * is encoded too ("%2E"), so it cannot climb a segment. NULL on ENOMEM. */
char *http_escape(const char *s);

#endif

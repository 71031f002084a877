/*
 * http: libcurl behind a deadline, a pacer and a retry policy.
 *
 * Deadline. Each http_request call fixes one absolute deadline on the
 * monotonic clock (now + timeout_s) and every wait is measured against it:
 * the pacing slot, the wait for a free handle, curl's own connect and total
 * timeouts (recomputed per attempt from the budget left), and the sleeps
 * between retries. Nothing sleeps past it, so a call returns within
 * timeout_s plus scheduling noise.
 *
 * Pacing is pacer.c's: one pacer per class says when a request may go
 * (as fast as the callers allow, until the server refuses; then a rate
 * learned from its refusals, never above the class's ceiling). Here a
 * caller reserves its slot, then sleeps until it without holding
 * anything. A slot at or past the deadline is not reserved: the call
 * fails without sending, -ETIMEDOUT (or -EAGAIN when a Retry-After is
 * what holds it back). Every answer goes back to the class's pacer: a 429,
 * or a 503 with Retry-After, holds every thread of the class and cuts its
 * rate; any other answer counts as let through.
 *
 * Pool. Up to max_conns easy handles, created on demand and reused (each
 * keeps its connection alive). A handle is taken only after the pacing
 * sleep and returned before any retry sleep, so sleeping never pins a
 * connection. Handles are curl_easy_reset before each use; reset keeps
 * live connections, DNS and TLS session caches.
 *
 * Retries. 429 and 503 wait Retry-After (capped, plus 0-20% jitter) and are
 * retried for any method: the server refused before acting. When the wait
 * would pass the deadline, that answer is final and goes back to the
 * caller (api.c maps it). Other 5xx and transport failures are retried
 * with exponential backoff, a bounded number of times, only when the
 * request is idempotent or provably never reached the server (could not
 * resolve or connect). TLS failures are never retried: a certificate that
 * could not be verified will not verify a second later.
 *
 * The key lives only in the header list given to curl; verbose output and
 * debug callbacks are never enabled, so it cannot reach a log.
 */
#include "clock.h"
#include "http.h"

#include "buf.h"
#include "pacer.h"
#include "stats.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef MSFS_VERSION
#define MSFS_VERSION "dev"
#endif

#define HTTP_MAX_BODY ((size_t)64 << 20) /* http_request's cap */
#define HTTP_RETRY_AFTER_CAP 10.0	 /* seconds, per wait */
#define HTTP_RETRY_AFTER_MIN 0.05
#define HTTP_BACKOFF_BASE 0.1 /* seconds, doubled per retry */
#define HTTP_BACKOFF_CAP 5.0
#define HTTP_MAX_BACKOFF_RETRIES 5 /* 5xx and transport failures */
#define HTTP_DEFAULT_TIMEOUT 30.0
#define HTTP_DOWN_HOLDOFF 2.0 /* seconds of failing fast after a dead API */

struct http {
	char *base_url; /* without a trailing '/' */
	struct curl_slist *headers;
	double timeout_s;
	double connect_timeout_s;
	int insecure;
	int dry_run; /* GETs only */

	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond; /* signalled when a handle is returned */
	CURL **idle;
	int nidle;
	int ncreated;
	int max_conns;

	struct pacer *pacer[HTTP_CLASS__N];

	pthread_mutex_t down_lock;
	/* Guarded by down_lock: after the API timed out or could not be
	 * reached, calls until down_until fail at once with down_err. */
	double down_until;
	int down_err;
};

/* What one attempt collected through the curl callbacks. */
struct attempt {
	struct buf body;
	size_t max_body; /* the caller's cap on the (decoded) body */
	int too_big;
	int nomem;
	double retry_after;  /* seconds, < 0 when absent */
	struct pacer *pacer; /* the class's pacer, told when it really leaves */
	long reservation;    /* its number there (pacer_reserve) */
	/* curl's detail of a failure (CURLOPT_ERRORBUFFER) */
	char curl_error[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------------ */
/* Time and jitter                                                     */
/* ------------------------------------------------------------------ */

static struct timespec to_timespec(double t)
{
	struct timespec ts;

	if (t < 0)
		t = 0;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void sleep_until(double t)
{
	struct timespec ts = to_timespec(t);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* A factor in [1.0, 1.2): spreads retries of many threads apart. */
static double jitter(void)
{
	static _Thread_local uint64_t state;
	uint64_t x;

	if (!state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
			(uint64_t)(uintptr_t)&state;
		if (!state)
			state = 0x9e3779b97f4a7c15ULL;
	}
	x = state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	x *= 0x2545f4914f6cdd1dULL;
	return 1.0 + 0.2 * (double)(x >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------------ */
/* Pacing                                                              */
/* ------------------------------------------------------------------ */

/* Reserves the class's next slot and sleeps until it; *sent is the slot.
 * Returns the reservation's number, or (nothing reserved) -EAGAIN or
 * -ETIMEDOUT: pacer_reserve. */
static long pace(struct http *h, enum http_class cls, double deadline,
		 double *sent)
{
	double now = mono_now();
	long id = pacer_reserve(h->pacer[cls], now, deadline, sent);

	if (id < 0)
		return id;
	if (*sent > now) {
		stats_add(STAT_PACING_WAITS, 1);
		sleep_until(*sent);
	}
	return id;
}

/* ------------------------------------------------------------------ */
/* Handle pool                                                         */
/* ------------------------------------------------------------------ */

/* Returns 0 with *out set, -ETIMEDOUT or -ENOMEM. */
static int pool_get(struct http *h, double deadline, CURL **out)
{
	struct timespec ts = to_timespec(deadline);
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&h->pool_lock);
	while (!h->nidle && h->ncreated >= h->max_conns) {
		rc = pthread_cond_timedwait(&h->pool_cond, &h->pool_lock, &ts);
		if (rc == ETIMEDOUT && !h->nidle &&
		    h->ncreated >= h->max_conns) {
			pthread_mutex_unlock(&h->pool_lock);
			return -ETIMEDOUT;
		}
	}
	if (h->nidle) {
		*out = h->idle[--h->nidle];
	} else {
		*out = curl_easy_init();
		if (*out)
			h->ncreated++;
	}
	pthread_mutex_unlock(&h->pool_lock);
	return *out ? 0 : -ENOMEM;
}

static void pool_put(struct http *h, CURL *c)
{
	pthread_mutex_lock(&h->pool_lock);
	h->idle[h->nidle++] = c;
	pthread_cond_signal(&h->pool_cond);
	pthread_mutex_unlock(&h->pool_lock);
}

/* ------------------------------------------------------------------ */
/* curl callbacks                                                      */
/* ------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct attempt *a = arg;
	size_t n = size * nmemb;

	if (n > a->max_body - a->body.len) {
		a->too_big = 1;
		return 0;
	}
	if (buf_append(&a->body, data, n)) {
		a->nomem = 1;
		return 0;
	}
	return n;
}

/* Retry-After is delta-seconds or an HTTP-date. Returns seconds or -1. */
static double parse_retry_after(const char *v, size_t len)
{
	char tmp[128];
	char *end;
	double s;
	time_t t;

	while (len && isspace((unsigned char)*v)) {
		v++;
		len--;
	}
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	if (!len || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if (isdigit((unsigned char)tmp[0])) {
		s = strtod(tmp, &end);
		return *end || !isfinite(s) ? -1 : s;
	}
	t = curl_getdate(tmp, NULL);
	if (t == (time_t)-1)
		return -1;
	s = difftime(t, time(NULL));
	return s > 0 ? s : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "retry-after:";
	struct attempt *a = arg;
	size_t n = size * nmemb;

	/* A new status line (after 100 Continue, say) starts a new answer. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		a->retry_after = -1;
	else if (n > sizeof(name) - 1 &&
		 strncasecmp(data, name, sizeof(name) - 1) == 0)
		a->retry_after = parse_retry_after(data + sizeof(name) - 1,
						   n - (sizeof(name) - 1));
	return n;
}

/* ------------------------------------------------------------------ */
/* One attempt                                                         */
/* ------------------------------------------------------------------ */

#define SETOPT(c, opt, val)                                                    \
	do {                                                                   \
		CURLcode e_ = curl_easy_setopt((c), (opt), (val));             \
		if (e_ != CURLE_OK)                                            \
			return e_;                                             \
	} while (0)

static CURLcode setup(struct http *h, CURL *c, const char *url,
		      const char *method, const char *body, double remaining,
		      struct attempt *a)
{
	double connect = h->connect_timeout_s;
	long total_ms, connect_ms;

	if (connect <= 0 || connect > remaining)
		connect = remaining;
	total_ms = (long)ceil(remaining * 1000);
	connect_ms = (long)ceil(connect * 1000);

	curl_easy_reset(c);
	SETOPT(c, CURLOPT_URL, url);
	SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(c, CURLOPT_PATH_AS_IS, 1L);
	SETOPT(c, CURLOPT_NOSIGNAL, 1L);
	SETOPT(c, CURLOPT_HTTPHEADER, h->headers);
	SETOPT(c, CURLOPT_USERAGENT, "memberspotfs/" MSFS_VERSION);
	SETOPT(c, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(c, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0 ? connect_ms : 1L);
	SETOPT(c, CURLOPT_TIMEOUT_MS, total_ms > 0 ? total_ms : 1L);
	SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)a->max_body);
	SETOPT(c, CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L);
	SETOPT(c, CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L);
	SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(c, CURLOPT_WRITEDATA, a);
	SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(c, CURLOPT_HEADERDATA, a);
	a->curl_error[0] = '\0';
	SETOPT(c, CURLOPT_ERRORBUFFER, a->curl_error);

	if (strcmp(method, "GET") == 0) {
		SETOPT(c, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			SETOPT(c, CURLOPT_CUSTOMREQUEST, method);
		if (body || strcmp(method, "POST") == 0) {
			SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE,
			       (curl_off_t)(body ? strlen(body) : 0));
			SETOPT(c, CURLOPT_POSTFIELDS, body ? body : "");
		}
	}
	return CURLE_OK;
}

/* The n-th backoff delay (100 ms doubling, capped); counts n up. */
static double backoff(int *n)
{
	int k = *n < 16 ? *n : 16;

	(*n)++;
	return fmin(HTTP_BACKOFF_BASE * (double)(1 << k), HTTP_BACKOFF_CAP);
}

/* The request never left this host: safe to send again, whatever it was. */
static int never_sent(CURLcode e)
{
	return e == CURLE_COULDNT_CONNECT || e == CURLE_COULDNT_RESOLVE_HOST ||
	       e == CURLE_COULDNT_RESOLVE_PROXY;
}

/* The server's certificate (or its status) could not be verified. */
static int tls_cert_failed(CURLcode e)
{
	switch (e) {
	case CURLE_PEER_FAILED_VERIFICATION: /* also CURLE_SSL_CACERT */
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return 1;
	default:
		return 0;
	}
}

/* No TLS session: verification failed or the handshake did. Permanent. */
static int tls_failed(CURLcode e)
{
	switch (e) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return tls_cert_failed(e);
	}
}

/* The one mapping of curl failures to errno (see http_request). */
static int curl_errno(CURLcode e)
{
	if (tls_failed(e))
		return -EPROTO;
	switch (e) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* resp->error for a failed attempt: what kind of TLS failure it was, then
 * curl's own detail (or its generic text for the code). One line. */
static void describe(char *out, size_t n, CURLcode e, const char *detail)
{
	const char *what = "";
	char *p;

	if (tls_cert_failed(e))
		what = HTTP_TLS_CERT_REASON;
	else if (tls_failed(e))
		what = "the TLS handshake failed: ";
	if (!detail || !*detail)
		detail = curl_easy_strerror(e);
	snprintf(out, n, "%s%s", what, detail);
	for (p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	/* curl's messages end in a newline at times. */
	while (p > out && p[-1] == ' ')
		*--p = '\0';
}

/*
 * Sends one attempt on a pooled handle. Returns 0 with *status set, or a
 * negative errno with *cerr the curl code (CURLE_OK when the failure was
 * ours: no handle, oversized body, no memory).
 */
static int attempt_once(struct http *h, const char *url, const char *method,
			const char *body, double deadline, int endpoint,
			struct attempt *a, long *status, CURLcode *cerr)
{
	double remaining;
	CURLcode e;
	CURL *c;
	int rc;

	*cerr = CURLE_OK;
	*status = 0;
	rc = pool_get(h, deadline, &c);
	if (rc)
		return rc;
	remaining = deadline - mono_now();
	if (remaining <= 0.001) {
		pool_put(h, c);
		return -ETIMEDOUT;
	}
	e = setup(h, c, url, method, body, remaining, a);
	if (e != CURLE_OK) {
		/* Nothing was sent: not a transport failure, not retried. */
		pool_put(h, c);
		return curl_errno(e);
	}
	stats_add(STAT_HTTP_REQUESTS, 1);
	stats_endpoint(endpoint);
	pacer_departed(a->pacer, a->reservation, mono_now());
	e = curl_easy_perform(c);
	if (e == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	pool_put(h, c);

	if (a->nomem)
		return -ENOMEM;
	if (e == CURLE_FILESIZE_EXCEEDED) /* by its Content-Length */
		a->too_big = 1;
	if (a->too_big)
		return -EIO;
	*cerr = e;
	return e == CURLE_OK ? 0 : curl_errno(e);
}

/* ------------------------------------------------------------------ */
/* Public interface                                                    */
/* ------------------------------------------------------------------ */

/* The reason of an answer over the cap, in resp->error. */
static void too_big(struct http_response *resp, size_t max_body)
{
	if (max_body % ((size_t)1 << 20) == 0)
		snprintf(resp->error, sizeof(resp->error),
			 HTTP_TOO_BIG_REASON "more than %zu MiB, the cap for "
					     "this endpoint",
			 max_body >> 20);
	else
		snprintf(resp->error, sizeof(resp->error),
			 HTTP_TOO_BIG_REASON "more than %zu bytes, the cap for "
					     "this endpoint",
			 max_body);
}

/* After a failed attempt (rc from attempt_once, cerr its curl code, with
 * resp->error set here): the wait before the next attempt, or -1 when the
 * failure is final. */
static double failure_wait(struct http_response *resp, const struct attempt *a,
			   CURLcode cerr, int idempotent, size_t max_body,
			   int *backoffs)
{
	/* Too big once is too big again: not retried. */
	if (cerr == CURLE_OK && a->too_big)
		too_big(resp, max_body);
	if (cerr == CURLE_OK)
		return -1; /* ours, not the network's */
	stats_add(STAT_TRANSPORT_ERRORS, 1);
	describe(resp->error, sizeof(resp->error), cerr, a->curl_error);
	if (tls_failed(cerr) || (!idempotent && !never_sent(cerr)) ||
	    *backoffs >= HTTP_MAX_BACKOFF_RETRIES)
		return -1;
	return backoff(backoffs) * jitter();
}

/* After an HTTP answer to the request sent at `sent`: tells the class's
 * pacer, and returns the wait before sending it again, or -1 when the
 * answer is final. */
static double answer_wait(struct http *h, enum http_class cls,
			  const struct attempt *a, long status, int idempotent,
			  double sent, double now, int *backoffs)
{
	double wait;

	if (status != 429 && status != 503) {
		pacer_accepted(h->pacer[cls], sent);
		if (status >= 500 && idempotent &&
		    *backoffs < HTTP_MAX_BACKOFF_RETRIES)
			return backoff(backoffs) * jitter();
		return -1;
	}
	if (status == 429)
		stats_add(STAT_HTTP_429, 1);
	/* A floor, so "Retry-After: 0" cannot become a busy loop against a
	 * throttling server. */
	if (a->retry_after >= 0)
		wait = fmax(fmin(a->retry_after, HTTP_RETRY_AFTER_CAP),
			    HTTP_RETRY_AFTER_MIN);
	else
		wait = backoff(backoffs);
	/* Every thread of the class holds off; the rate is cut only for a
	 * refusal: a bare 503 speaks of an outage more than of a limit. */
	pacer_refused(h->pacer[cls], sent, now, wait,
		      status == 429 || a->retry_after >= 0);
	return wait * jitter();
}

static int request(struct http *h, const char *method, const char *path,
		   const char *json_body, enum http_class cls, int idempotent,
		   int endpoint, size_t max_body, struct http_response *resp)
{
	struct attempt a = {.max_body = max_body};
	int backoffs = 0, rc;
	double deadline, wait, now, sent;
	struct buf url = {0};
	CURLcode cerr;
	long status;

	memset(resp, 0, sizeof(*resp));
	if ((unsigned)cls >= HTTP_CLASS__N || !path || path[0] != '/')
		return -EINVAL;
	deadline = mono_now() + h->timeout_s;
	rc = buf_printf(&url, "%s%s", h->base_url, path);
	if (rc)
		return rc;

	for (;;) {
		a.reservation = pace(h, cls, deadline, &sent);
		if (a.reservation < 0) {
			rc = (int)a.reservation;
			break;
		}
		a.pacer = h->pacer[cls];
		buf_free(&a.body);
		a.too_big = a.nomem = 0;
		a.retry_after = -1;
		rc = attempt_once(h, url.data, method, json_body, deadline,
				  endpoint, &a, &status, &cerr);
		now = mono_now();
		if (rc) {
			wait = failure_wait(resp, &a, cerr, idempotent,
					    max_body, &backoffs);
			if (wait < 0 || now + wait >= deadline)
				break;
		} else {
			wait = answer_wait(h, cls, &a, status, idempotent, sent,
					   now, &backoffs);
			if (wait < 0 || now + wait >= deadline)
				goto answer;
		}
		stats_add(STAT_HTTP_RETRIES, 1);
		sleep_until(now + wait);
	}
	buf_free(&a.body);
	buf_free(&url);
	return rc;

answer:
	resp->error[0] = '\0'; /* an earlier attempt's failure is no reason */
	resp->status = status;
	resp->len = a.body.len;
	resp->body = buf_steal(&a.body);
	resp->retry_after = a.retry_after > 0 ? a.retry_after : 0;
	buf_free(&url);
	return 0;
}

int http_request(struct http *h, const char *method, const char *path,
		 const char *json_body, enum http_class cls, int idempotent,
		 int endpoint, struct http_response *resp)
{
	return http_request_capped(h, method, path, json_body, cls, idempotent,
				   endpoint, HTTP_MAX_BODY, resp);
}

/*
 * A dead API costs one timeout, not one per caller: when a call ends
 * because the API did not answer in time or could not be reached, calls
 * made in the next HTTP_DOWN_HOLDOFF seconds fail at once with the same
 * error, without sending. The kernel queues lookups in one directory behind
 * each other (libfuse 3.14 cannot ask for parallel lookups), so without
 * this, N readers of users/ against a hung API would wait N timeouts.
 * Any HTTP answer ends the holdoff.
 */
int http_request_capped(struct http *h, const char *method, const char *path,
			const char *json_body, enum http_class cls,
			int idempotent, int endpoint, size_t max_body,
			struct http_response *resp)
{
	double now = mono_now();
	int rc;

	if (h->dry_run && strcmp(method, "GET")) {
		memset(resp, 0, sizeof(*resp));
		return -EROFS;
	}
	pthread_mutex_lock(&h->down_lock);
	rc = now < h->down_until ? h->down_err : 0;
	pthread_mutex_unlock(&h->down_lock);
	if (rc) {
		memset(resp, 0, sizeof(*resp));
		stats_add(STAT_API_DOWN_FAST, 1);
		return rc;
	}
	if (!max_body || max_body > HTTP_MAX_BODY)
		max_body = HTTP_MAX_BODY;
	rc = request(h, method, path, json_body, cls, idempotent, endpoint,
		     max_body, resp);
	pthread_mutex_lock(&h->down_lock);
	if (rc == -ETIMEDOUT || rc == -EHOSTUNREACH) {
		h->down_until = mono_now() + HTTP_DOWN_HOLDOFF;
		h->down_err = rc;
	} else if (rc == 0) {
		h->down_until = 0;
	}
	pthread_mutex_unlock(&h->down_lock);
	return rc;
}

int http_pacing_render(struct http *h, struct buf *out)
{
	static const char *const names[HTTP_CLASS__N] = {
		[HTTP_CLASS_GENERAL] = "general",
		[HTTP_CLASS_PROGRESS] = "progress",
	};
	double now = mono_now();
	int i, rc = 0;

	for (i = 0; i < HTTP_CLASS__N && !rc; i++) {
		rc = buf_printf(out, "pacing %s: ", names[i]);
		if (!rc)
			rc = pacer_describe(h->pacer[i], now, out);
		if (!rc)
			rc = buf_puts(out, "\n");
	}
	return rc;
}

int http_dry_run(const struct http *h)
{
	return h->dry_run;
}

void http_response_free(struct http_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

/* Percent-encodes all but RFC 3986 unreserved bytes. A whole "." or ".."
 * is encoded too: as a path segment it would otherwise mean "here" or
 * "up" to anything that normalises the URL. */
char *http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int dots = s && (strcmp(s, ".") == 0 || strcmp(s, "..") == 0);
	size_t n = s ? strlen(s) : 0, i, j = 0;
	char *out;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!dots &&
		    ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		     (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		     c == '_' || c == '~')) {
			out[j++] = (char)c;
		} else {
			out[j++] = '%';
			out[j++] = hex[c >> 4];
			out[j++] = hex[c & 15];
		}
	}
	out[j] = '\0';
	return out;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Header values may not carry CR/LF or other controls (header injection). */
static int key_ok(const char *key)
{
	const unsigned char *p = (const unsigned char *)key;

	if (!*p)
		return 0;
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static struct curl_slist *headers_new(const char *key)
{
	static const char *const fixed[] = {
		"Accept: application/json", "Content-Type: application/json",
		"Expect:", /* no 100-continue round trip for large bodies */
	};
	struct curl_slist *list = NULL, *l;
	struct buf line = {0};
	size_t i;

	if (buf_printf(&line, "X-API-KEY: %s", key))
		return NULL;
	list = curl_slist_append(NULL, line.data);
	explicit_bzero(line.data, line.len);
	buf_free(&line);
	for (i = 0; list && i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		l = curl_slist_append(list, fixed[i]);
		if (!l) {
			explicit_bzero(list->data, strlen(list->data));
			curl_slist_free_all(list);
			return NULL;
		}
		list = l;
	}
	return list;
}

/* Returns NULL with errno ENOMEM (allocation), EINVAL (a key with control
 * characters, or a missing URL or key) or EIO (curl would not start). */
struct http *http_new(const struct http_config *config)
{
	struct http *h;
	pthread_condattr_t ca;
	size_t n;
	int i;

	if (!config->base_url || !config->api_key || !key_ok(config->api_key)) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		errno = EIO;
		return NULL;
	}

	h = calloc(1, sizeof(*h));
	if (!h)
		goto fail;
	h->timeout_s = config->timeout_s > 0 ? config->timeout_s
					     : HTTP_DEFAULT_TIMEOUT;
	h->connect_timeout_s = config->connect_timeout_s;
	h->insecure = config->insecure;
	h->dry_run = config->dry_run;
	h->max_conns = config->max_conns > 0 ? config->max_conns : 1;
	h->pacer[HTTP_CLASS_GENERAL] = pacer_new(config->max_rps);
	h->pacer[HTTP_CLASS_PROGRESS] = pacer_new(config->progress_rps);
	if (!h->pacer[HTTP_CLASS_GENERAL] || !h->pacer[HTTP_CLASS_PROGRESS])
		goto fail_pacers;

	h->base_url = strdup(config->base_url);
	if (!h->base_url)
		goto fail_pacers;
	n = strlen(h->base_url);
	while (n && h->base_url[n - 1] == '/')
		h->base_url[--n] = '\0';
	h->idle = calloc((size_t)h->max_conns, sizeof(*h->idle));
	if (!h->idle)
		goto fail_url;
	h->headers = headers_new(config->api_key);
	if (!h->headers)
		goto fail_idle;

	if (pthread_condattr_init(&ca))
		goto fail_headers;
	i = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!i)
		i = pthread_cond_init(&h->pool_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (i)
		goto fail_headers;
	pthread_mutex_init(&h->pool_lock, NULL);
	pthread_mutex_init(&h->down_lock, NULL);
	return h;

fail_headers:
	explicit_bzero(h->headers->data, strlen(h->headers->data));
	curl_slist_free_all(h->headers);
fail_idle:
	free(h->idle);
fail_url:
	free(h->base_url);
fail_pacers:
	for (i = 0; i < HTTP_CLASS__N; i++)
		pacer_free(h->pacer[i]);
	free(h);
fail:
	errno = ENOMEM;
	return NULL;
}

/* Callers must have finished every http_request. */
void http_free(struct http *h)
{
	int i;

	if (!h)
		return;
	for (i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	/* The first entry is the key: leave no copy in freed memory. */
	explicit_bzero(h->headers->data, strlen(h->headers->data));
	curl_slist_free_all(h->headers);
	pthread_mutex_destroy(&h->down_lock);
	pthread_mutex_destroy(&h->pool_lock);
	pthread_cond_destroy(&h->pool_cond);
	for (i = 0; i < HTTP_CLASS__N; i++)
		pacer_free(h->pacer[i]);
	free(h->idle);
	free(h->base_url);
	free(h);
}

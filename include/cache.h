/*
 * cache: TTL-bound values keyed by string, shared by all FUSE threads.
 *
 * - Values are cJSON trees wrapped in a reference-counted struct cval; a
 *   reader holds its reference while rendering, so a concurrent refresh
 *   never frees what is being read.
 * - One fetch per key at a time: concurrent cache_get callers of a missing
 *   or expired key wait for the first caller's fetch (single flight).
 * - A fetch answering -ENOENT is remembered as missing for neg_ttl seconds.
 * - A fetch failing otherwise (-EIO, -ETIMEDOUT, -EHOSTUNREACH, -EAGAIN,
 *   -EPROTO: the TLS session failed)
 *   while an expired value is still held returns that stale value instead
 *   (counted as STAT_CACHE_STALE); stale values are kept up to
 *   CACHE_STALE_MAX seconds. After such a failure the key is not fetched
 *   again for CACHE_STALE_HOLDOFF seconds (stale value served) or
 *   CACHE_ERROR_HOLDOFF seconds (the same error returned at once), so the
 *   several steps of one `cat` against a dead API wait out one timeout,
 *   not one each.
 * - Memory is bounded by ttl, not by a size limit: expired entries are
 *   swept lazily.
 * It does NOT know what keys mean, and never calls the API itself: the
 * caller's fetch function does. Thread-safe.
 */
#ifndef MSFS_CACHE_H
#define MSFS_CACHE_H

#include <cjson/cJSON.h>

#define CACHE_STALE_MAX (24 * 3600)
#define CACHE_STALE_HOLDOFF 5.0
#define CACHE_ERROR_HOLDOFF 1.0

struct cache;

/*
 * A value is a cJSON tree (json), or a text value (json NULL): a
 * NUL-terminated string kept in the cval's own block (text), for the many
 * small values a school caches, its packed member records, which as a
 * cJSON string node would cost another 64-byte node and block each.
 */
struct cval {
	cJSON *json;	/* read-only for holders of a reference; NULL: text */
	double fetched; /* monotonic seconds when fetched */
	int stale;	/* 1 when served past its ttl because the API failed */
	/* private */
	int refs;
	char text[]; /* a text value's bytes (only when json is NULL) */
};

/* Fetches the value for a key. On success sets *out to a new cJSON owned
 * by the cache. Returns 0 or -errno. */
typedef int (*cache_fetch_fn)(void *arg, cJSON **out);

/* The same for a text value: *out is a new malloc'd string, copied into
 * the value (the fetch's string is freed by the cache). */
typedef int (*cache_fetch_text_fn)(void *arg, char **out);

/* ttl_s: lifetime of values; neg_ttl_s: lifetime of "missing". */
struct cache *cache_new(double ttl_s, double neg_ttl_s);
void cache_free(struct cache *c);

/* Sets the two holdoffs (seconds; 0 disables). Defaults:
 * CACHE_STALE_HOLDOFF, CACHE_ERROR_HOLDOFF. */
void cache_set_holdoff(struct cache *c, double stale_s, double error_s);
/* Returns 0 with a new reference in *out (release with cval_put), or
 * -errno (from the fetch, or from the negative cache: -ENOENT). */
int cache_get(struct cache *c, const char *key, cache_fetch_fn fetch, void *arg,
	      struct cval **out);
/* cache_get for a text value. */
int cache_get_text(struct cache *c, const char *key, cache_fetch_text_fn fetch,
		   void *arg, struct cval **out);
/* A reference to the value if present and fresh, else NULL. Never fetches
 * and never waits. */
struct cval *cache_peek(struct cache *c, const char *key);
/* A reference to the value held for key, fresh or expired (not a
 * "missing"), else NULL. Never fetches and never waits: for what must be
 * forgotten elsewhere once the value expired. */
struct cval *cache_peek_any(struct cache *c, const char *key);
/* Stores json (ownership taken) under key as fresh. Returns 0 or -ENOMEM
 * (json freed either way on failure). */
int cache_put(struct cache *c, const char *key, cJSON *json);
/* Stores a copy of text under key as a fresh text value. 0 or -ENOMEM. */
int cache_put_text(struct cache *c, const char *key, const char *text);
/* Counts key's value (fresh or expired, not a "missing") as fetched now:
 * for records a member list brought, which must live as long as the
 * list, though its first pages came long before its last (100,000
 * members: 1,000 pages). Returns 1 when a value was renewed, else 0. */
int cache_renew(struct cache *c, const char *key);
/* Remembers key as missing for neg_ttl. */
void cache_put_missing(struct cache *c, const char *key);
/* Forgets one key / every key starting with prefix ("" = all). A fetch in
 * flight for a dropped key finishes but its result is not kept. */
void cache_drop(struct cache *c, const char *key);
void cache_drop_prefix(struct cache *c, const char *prefix);
/* Calls fn(arg, key) for every key whose value (not a "missing") expired
 * in [from, to), monotonic seconds, so that copies made from it elsewhere
 * (the kernel's) can be forgotten. The keys are collected under the lock
 * and fn runs without it, so fn may use the cache. The window
 * [-INFINITY, INFINITY) visits every value held, fresh or expired.
 * 0 or -ENOMEM (then fn was called for none). */
int cache_each_expired(struct cache *c, double from, double to,
		       void (*fn)(void *arg, const char *key), void *arg);
/* Number of keys held (tests, status). */
long cache_count(struct cache *c);

/* A counter that moves whenever what an entry holds changes (a value
 * stored, a "missing", a failed fetch, a drop, a sweep). Equal readings
 * mean nothing was stored or dropped in between, so whatever was built
 * from the cache's values is still what they would build. */
unsigned long cache_version(struct cache *c);
/* A time (monotonic seconds) before which no value held now expires:
 * until then, an unchanged cache_version also means no value went stale.
 * Stores lower it; cache_each_expired with a finite `to` raises it to the
 * first expiry at or after `to` (what expired before is the caller's).
 * INFINITY while nothing is held. */
double cache_fresh_until(struct cache *c);

/* A value outside any cache (one reference; json taken), for callers that
 * derive a value from a cached one. NULL on ENOMEM (json freed). */
struct cval *cval_wrap(cJSON *json, double fetched, int stale);
/* A text value outside any cache (a copy of text). NULL on ENOMEM. */
struct cval *cval_text(const char *text, double fetched, int stale);
struct cval *cval_get(struct cval *v); /* another reference */
void cval_put(struct cval *v);	       /* NULL is fine */

#endif

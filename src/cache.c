/*
 * cache: TTL entries in one hash table, one fetch per key at a time.
 *
 * The table is a strmap from key to struct centry. One mutex guards it,
 * and one condition variable
 * serves every waiter: waits are rare (only while a fetch for the same key
 * is in flight) and a broadcast that wakes a waiter of another key only
 * costs it a check of its flag.
 *
 * Single flight: the first caller of a missing or expired key hangs a
 * struct flight on its entry, drops the lock and calls fetch; later
 * callers of that key sleep until the flight is done and take its outcome,
 * error or not, so N readers of a failing API wait once, not N times in
 * turn. The fetch never runs under the lock, so a slow API call for one
 * key stalls nobody else.
 *
 * Drops and puts during a fetch: the fetching entry is unlinked and marked
 * `orphan` (its generation is over) instead of being freed, because the
 * fetcher still points at it. The fetcher finds the mark when it returns,
 * hands its result to the callers of its flight only (they asked before
 * the change) and frees the entry. Callers arriving after the drop see no
 * entry, so they fetch again and see the change that caused the drop.
 *
 * Values: a struct cval is immutable once published except for its atomic
 * reference count, so holders read it without the lock. When an expired
 * value is served stale, it is first copied into a new cval marked stale,
 * rather than flagging the one other threads may be reading.
 *
 * Memory: 100,000 member records may be cached, so an entry is small: the
 * strmap's node with the key inline (24 bytes + key), a 48-byte struct
 * centry and 24 for its cval; a text value (a packed member record) has
 * its bytes in the cval's own block, not in a cJSON node (64 bytes) and
 * a string of its own. Expired entries are swept lazily: every
 * operation that takes the lock also sweeps a few chains, so the whole
 * table is visited at least once every (buckets / SWEEP_STEP)
 * operations; a table about to grow is swept whole first.
 * Expired values are kept for CACHE_STALE_MAX past their ttl, for the stale
 * fallback; negative entries go as soon as they expire.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cache.h"
#include "stats.h"
#include "strmap.h"

/* Per operation, the lazy sweep visits SWEEP_STEP chains, looking at no
 * more than SWEEP_SCAN buckets. */
#define SWEEP_STEP 2
#define SWEEP_SCAN 32

/* One fetch in flight and its outcome, shared by the callers that waited
 * for it; it outlives the entry when the entry is orphaned. */
struct flight {
	int refs; /* the fetcher and each waiter */
	int done;
	int rc;
	struct cval *val; /* a reference when rc == 0 */
};

struct centry {
	struct cval *val;      /* NULL while negative or before any fetch */
	struct flight *flight; /* non-NULL while a fetch is in flight */
	double expires;	       /* monotonic seconds */
	double hold_until;     /* after a transient failure: no new fetch
				* before this; the stale value or err is
				* the answer meanwhile */
	int err;	       /* that failure, when there is no value */
	uint8_t orphan;	  /* unlinked while fetching; the fetcher frees it */
	uint8_t negative; /* "missing" until expires */
};

struct cache {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct strmap *entries; /* key -> struct centry */
	size_t sweep_at;	/* the lazy sweep's cursor */
	unsigned long version; /* bumped by every change of an entry (atomic) */
	double soonest;	       /* no value held expires before this */
	double ttl, neg_ttl;
	double stale_holdoff, error_holdoff;
};

/* Every change of what an entry holds: a value, a "missing", an error,
 * a removal (cache_version). Called with c->lock held. */
static void bump(struct cache *c)
{
	__atomic_add_fetch(&c->version, 1, __ATOMIC_RELEASE);
}

/* e now holds a fresh value until e->expires (cache_fresh_until). Called
 * with c->lock held. */
static void expires_at(struct cache *c, struct centry *e, double when)
{
	e->expires = when;
	if (when < c->soonest)
		c->soonest = when;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

struct cval *cval_wrap(cJSON *json, double fetched, int stale)
{
	struct cval *v = malloc(sizeof(*v));

	if (!v) {
		cJSON_Delete(json);
		return NULL;
	}
	v->json = json;
	v->fetched = fetched;
	v->stale = stale;
	v->refs = 1;
	return v;
}

struct cval *cval_text(const char *text, double fetched, int stale)
{
	size_t len = strlen(text) + 1;
	struct cval *v = malloc(sizeof(*v) + len);

	if (!v)
		return NULL;
	v->json = NULL;
	v->fetched = fetched;
	v->stale = stale;
	v->refs = 1;
	memcpy(v->text, text, len);
	return v;
}

/* A copy of v marked stale (NULL on ENOMEM). */
static struct cval *cval_stale(const struct cval *v)
{
	cJSON *copy;

	if (!v->json)
		return cval_text(v->text, v->fetched, 1);
	copy = cJSON_Duplicate(v->json, 1);
	return copy ? cval_wrap(copy, v->fetched, 1) : NULL;
}

struct cval *cval_get(struct cval *v)
{
	__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
	return v;
}

void cval_put(struct cval *v)
{
	if (!v)
		return;
	/* Release our writes, and acquire everyone else's before freeing. */
	if (__atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	cJSON_Delete(v->json);
	free(v);
}

/* ------------------------------------------------------------------ */
/* Table (all called with c->lock held)                                */
/* ------------------------------------------------------------------ */

static void entry_free(void *value)
{
	struct centry *e = value;

	cval_put(e->val);
	free(e);
}

/* Done with e, an entry just taken out of the table. A fetching entry is
 * left to its fetcher. */
static void release(struct centry *e)
{
	if (e->flight)
		e->orphan = 1;
	else
		entry_free(e);
}

static void drop_key(struct cache *c, const char *key)
{
	struct centry *e = strmap_remove(c->entries, key);

	if (e) {
		release(e);
		bump(c);
	}
}

static int is_fresh(const struct centry *e, double now)
{
	return e->val && !e->negative && now < e->expires;
}

/* Nothing left worth keeping: no fresh value, no stale fallback, no live
 * negative answer, and nobody fetching. */
static int is_dead(const struct centry *e, double now)
{
	if (e->flight)
		return 0;
	if (e->negative || !e->val)
		return now >= e->expires && now >= e->hold_until;
	return now >= e->expires + CACHE_STALE_MAX;
}

struct sweep {
	struct cache *c;
	double now;
};

static enum strmap_visit sweep_one(void *arg, const char *key, void *value)
{
	struct sweep *sw = arg;

	if (!is_dead(value, sw->now))
		return STRMAP_KEEP;
	release(value);
	bump(sw->c);
	return STRMAP_REMOVE;
}

/* Empty buckets are cheap to pass, so a sparse table (one that grew and
 * was then dropped) is still swept at a useful pace. */
static void sweep_some(struct cache *c, double now)
{
	struct sweep sw = {c, now};

	strmap_visit_some(c->entries, &c->sweep_at, SWEEP_SCAN, SWEEP_STEP,
			  sweep_one, &sw);
}

/* Links a new, empty entry for key, after sweeping the whole table if it
 * is about to grow: growth may just be the garbage of an earlier ttl.
 * NULL on ENOMEM. */
static struct centry *insert(struct cache *c, const char *key, double now)
{
	struct sweep sw = {c, now};
	struct centry *e;

	if (strmap_full(c->entries))
		strmap_visit(c->entries, sweep_one, &sw);
	e = calloc(1, sizeof(*e));
	if (e && strmap_put(c->entries, key, e, NULL)) {
		free(e);
		e = NULL;
	}
	return e;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

struct cache *cache_new(double ttl_s, double neg_ttl_s)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->entries = strmap_new();
	if (!c->entries)
		goto free_cache;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto free_entries;
	if (pthread_cond_init(&c->cond, NULL) != 0)
		goto destroy_lock;
	c->ttl = ttl_s;
	c->neg_ttl = neg_ttl_s;
	c->stale_holdoff = CACHE_STALE_HOLDOFF;
	c->error_holdoff = CACHE_ERROR_HOLDOFF;
	c->soonest = INFINITY;
	return c;

destroy_lock:
	pthread_mutex_destroy(&c->lock);
free_entries:
	strmap_free(c->entries, NULL);
free_cache:
	free(c);
	return NULL;
}

/* No fetch may be in flight: the caller stops the FUSE threads first. */
void cache_set_holdoff(struct cache *c, double stale_s, double error_s)
{
	pthread_mutex_lock(&c->lock);
	c->stale_holdoff = stale_s;
	c->error_holdoff = error_s;
	pthread_mutex_unlock(&c->lock);
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	strmap_free(c->entries, entry_free);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

static int is_transient(int err)
{
	return err == -EIO || err == -ETIMEDOUT || err == -EHOSTUNREACH ||
	       err == -EAGAIN || err == -EPROTO;
}

/*
 * Stores a fetch's outcome in e (not an orphan), under the lock: v, its
 * value (taken; fetched now) when rc is 0. On success or stale fallback
 * sets *out to a new reference and returns 0; otherwise returns the
 * fetch's error.
 */
static int settle(struct cache *c, struct centry *e, int rc, struct cval *v,
		  double now, struct cval **out)
{
	struct cval *stale;

	if (rc == 0) {
		v->fetched = now;
		cval_put(e->val);
		e->val = v;
		e->negative = 0;
		e->err = 0;
		e->hold_until = 0;
		expires_at(c, e, now + c->ttl);
		bump(c);
		*out = cval_get(v);
		return 0;
	}
	bump(c);
	if (rc == -ENOENT) {
		cval_put(e->val);
		e->val = NULL;
		e->negative = 1;
		e->expires = now + c->neg_ttl;
		return rc;
	}
	if (is_transient(rc) && e->val && !e->negative &&
	    now < e->expires + CACHE_STALE_MAX) {
		if (!e->val->stale) {
			stale = cval_stale(e->val);
			if (!stale)
				goto failed;
			cval_put(e->val);
			e->val = stale;
		}
		stats_add(STAT_CACHE_STALE, 1);
		e->hold_until = now + c->stale_holdoff;
		*out = cval_get(e->val);
		return 0;
	}
	if (is_transient(rc)) {
		e->err = rc;
		e->hold_until = now + c->error_holdoff;
	}

failed:
	/* An entry that never held anything is not worth keeping; one with
	 * an old value keeps it for a later stale fallback. */
	if (!e->val && !e->negative)
		e->expires = now;
	return rc;
}

/* Hands a finished flight's outcome to one more caller. */
static int flight_take(struct flight *fl, struct cval **out)
{
	if (fl->rc == 0) {
		*out = cval_get(fl->val);
		stats_add(fl->val->stale ? STAT_CACHE_STALE : STAT_CACHE_HIT,
			  1);
	} else if (fl->rc == -ENOENT) {
		stats_add(STAT_CACHE_NEG_HIT, 1);
	}
	return fl->rc;
}

static void flight_put(struct flight *fl)
{
	if (--fl->refs > 0)
		return;
	cval_put(fl->val);
	free(fl);
}

/*
 * The answer from what the table holds for key, under the lock: a fetch in
 * flight (waited for), a fresh value, a live "missing", or the answer of a
 * recent failure. Returns 1 with *rc set when answered, 0 when a fetch is
 * needed.
 */
static int answer_held(struct cache *c, struct centry *e, double now,
		       struct cval **out, int *rc)
{
	struct flight *fl;

	if (e->flight) {
		/* Someone is fetching this key: share the outcome, whatever
		 * it is, so N readers of a failing API wait once, not N
		 * times in turn. */
		fl = e->flight;
		fl->refs++;
		while (!fl->done)
			pthread_cond_wait(&c->cond, &c->lock);
		*rc = flight_take(fl, out);
		flight_put(fl);
		return 1;
	}
	if (is_fresh(e, now)) {
		*out = cval_get(e->val);
		stats_add(STAT_CACHE_HIT, 1);
		*rc = 0;
		return 1;
	}
	if (e->negative && now < e->expires) {
		stats_add(STAT_CACHE_NEG_HIT, 1);
		*rc = -ENOENT;
		return 1;
	}
	if (now < e->hold_until && (e->val || e->err)) {
		/* The API just failed for this key: answer as it did then
		 * rather than make every step of one `cat` wait out its own
		 * timeout. */
		*rc = e->val ? 0 : e->err;
		if (e->val) {
			*out = cval_get(e->val);
			stats_add(STAT_CACHE_STALE, 1);
		}
		return 1;
	}
	return 0;
}

/* Hangs a new flight on key's entry (made if missing), under the lock.
 * Returns the entry, or NULL on ENOMEM. */
static struct centry *take_off(struct cache *c, const char *key,
			       struct centry *e, double now)
{
	struct flight *fl = calloc(1, sizeof(*fl));

	if (!fl)
		return NULL;
	if (!e)
		e = insert(c, key, now);
	if (!e) {
		free(fl);
		return NULL;
	}
	fl->refs = 1;
	e->flight = fl;
	return e;
}

/* Lands e's flight with the fetch's outcome (rc, v taken), under the
 * lock, and wakes its waiters. Returns the caller's answer. */
static int land(struct cache *c, const char *key, struct centry *e, int rc,
		struct cval *v, struct cval **out)
{
	struct flight *fl = e->flight;
	double now = mono_now();

	e->flight = NULL;
	if (e->orphan) {
		/* Dropped or replaced meanwhile: the result is only for the
		 * callers of this flight, never kept. */
		entry_free(e);
		if (rc == 0) {
			v->fetched = now;
			*out = v;
		}
	} else {
		rc = settle(c, e, rc, v, now, out);
		if (is_dead(e, now))
			drop_key(c, key);
	}
	fl->rc = rc;
	fl->val = rc == 0 ? cval_get(*out) : NULL;
	fl->done = 1;
	flight_put(fl);
	pthread_cond_broadcast(&c->cond);
	return rc;
}

/* Fetches one value: 0 with *v a new value (its own reference), or
 * -errno with *v NULL. */
typedef int (*make_fn)(void *ctx, struct cval **v);

static int get(struct cache *c, const char *key, make_fn make, void *ctx,
	       struct cval **out)
{
	struct centry *e;
	struct cval *v = NULL;
	double now;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	now = mono_now();
	sweep_some(c, now);
	e = strmap_get(c->entries, key);
	if (e && answer_held(c, e, now, out, &rc))
		goto unlock;
	e = take_off(c, key, e, now);
	if (!e) {
		rc = -ENOMEM;
		goto unlock;
	}
	pthread_mutex_unlock(&c->lock);

	stats_add(STAT_CACHE_MISS, 1);
	rc = make(ctx, &v);

	pthread_mutex_lock(&c->lock);
	rc = land(c, key, e, rc, v, out);
unlock:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* One of the two kinds of fetch, and its argument. */
struct fetch_ctx {
	cache_fetch_fn json;
	cache_fetch_text_fn text;
	void *arg;
};

static int make_json(void *ctx, struct cval **v)
{
	struct fetch_ctx *f = ctx;
	cJSON *json = NULL;
	int rc = f->json(f->arg, &json);

	if (rc == 0 && !json)
		rc = -EIO;
	if (rc != 0) {
		cJSON_Delete(json);
		return rc;
	}
	*v = cval_wrap(json, 0, 0);
	return *v ? 0 : -ENOMEM;
}

static int make_text(void *ctx, struct cval **v)
{
	struct fetch_ctx *f = ctx;
	char *text = NULL;
	int rc = f->text(f->arg, &text);

	if (rc == 0 && !text)
		rc = -EIO;
	if (rc == 0) {
		*v = cval_text(text, 0, 0);
		if (!*v)
			rc = -ENOMEM;
	}
	free(text);
	return rc;
}

int cache_get(struct cache *c, const char *key, cache_fetch_fn fetch, void *arg,
	      struct cval **out)
{
	struct fetch_ctx f = {fetch, NULL, arg};

	return get(c, key, make_json, &f, out);
}

int cache_get_text(struct cache *c, const char *key, cache_fetch_text_fn fetch,
		   void *arg, struct cval **out)
{
	struct fetch_ctx f = {NULL, fetch, arg};

	return get(c, key, make_text, &f, out);
}

struct cval *cache_peek(struct cache *c, const char *key)
{
	struct cval *v = NULL;
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	e = strmap_get(c->entries, key);
	if (e && is_fresh(e, mono_now()))
		v = cval_get(e->val);
	pthread_mutex_unlock(&c->lock);
	return v;
}

struct cval *cache_peek_any(struct cache *c, const char *key)
{
	struct cval *v = NULL;
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	e = strmap_get(c->entries, key);
	if (e && e->val && !e->negative)
		v = cval_get(e->val);
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* The entry for key, ready to be overwritten: a fetch in flight for it is
 * orphaned, since what it returns predates the caller's news, and a new
 * entry takes its place. NULL on ENOMEM. */
static struct centry *claim(struct cache *c, const char *key, double now)
{
	struct centry *e = strmap_get(c->entries, key);

	if (e && !e->flight)
		return e;
	if (e)
		drop_key(c, key);
	return insert(c, key, now);
}

/* Stores v (taken) under key as fresh. 0 or -ENOMEM (v freed). */
static int put(struct cache *c, const char *key, struct cval *v)
{
	struct centry *e;
	double now;

	if (!v)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	now = mono_now();
	sweep_some(c, now);
	v->fetched = now;
	e = claim(c, key, now);
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		cval_put(v);
		return -ENOMEM;
	}
	cval_put(e->val);
	e->val = v;
	e->negative = 0;
	expires_at(c, e, now + c->ttl);
	bump(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int cache_put(struct cache *c, const char *key, cJSON *json)
{
	return put(c, key, cval_wrap(json, 0, 0));
}

int cache_put_text(struct cache *c, const char *key, const char *text)
{
	return put(c, key, cval_text(text, 0, 0));
}

int cache_renew(struct cache *c, const char *key)
{
	struct centry *e;
	int renewed = 0;

	pthread_mutex_lock(&c->lock);
	e = strmap_get(c->entries, key);
	if (e && e->val && !e->negative && !e->val->stale) {
		e->expires = mono_now() + c->ttl;
		renewed = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return renewed;
}

void cache_put_missing(struct cache *c, const char *key)
{
	struct centry *e;
	double now;

	pthread_mutex_lock(&c->lock);
	now = mono_now();
	sweep_some(c, now);
	e = claim(c, key, now);
	/* Out of memory: not remembering a miss only costs a fetch. */
	if (e) {
		cval_put(e->val);
		e->val = NULL;
		e->negative = 1;
		e->expires = now + c->neg_ttl;
		bump(c);
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_drop(struct cache *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	drop_key(c, key);
	pthread_mutex_unlock(&c->lock);
}

static enum strmap_visit drop_if_prefixed(void *arg, const char *key,
					  void *value)
{
	const char *prefix = arg;

	if (strncmp(key, prefix, strlen(prefix)) != 0)
		return STRMAP_KEEP;
	release(value);
	return STRMAP_REMOVE;
}

void cache_drop_prefix(struct cache *c, const char *prefix)
{
	pthread_mutex_lock(&c->lock);
	strmap_visit(c->entries, drop_if_prefixed, (void *)prefix);
	bump(c);
	pthread_mutex_unlock(&c->lock);
}

/* The keys cache_each_expired found, copied out from under the lock. */
struct expired {
	double from, to;
	double soonest; /* the first expiry at or after to */
	char **keys;
	size_t n, cap;
	int nomem;
};

static enum strmap_visit note_expired(void *arg, const char *key, void *value)
{
	struct expired *x = arg;
	const struct centry *e = value;
	char **grown;

	if (e->val && !e->negative && e->expires >= x->to &&
	    e->expires < x->soonest)
		x->soonest = e->expires;
	if (!e->val || e->negative || e->expires < x->from ||
	    e->expires >= x->to || x->nomem)
		return STRMAP_KEEP;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		grown = realloc(x->keys, x->cap * sizeof(*grown));
		if (!grown) {
			x->nomem = 1;
			return STRMAP_KEEP;
		}
		x->keys = grown;
	}
	x->keys[x->n] = strdup(key);
	if (!x->keys[x->n])
		x->nomem = 1;
	else
		x->n++;
	return STRMAP_KEEP;
}

int cache_each_expired(struct cache *c, double from, double to,
		       void (*fn)(void *arg, const char *key), void *arg)
{
	struct expired x = {from, to, INFINITY, NULL, 0, 0, 0};
	size_t i;

	pthread_mutex_lock(&c->lock);
	strmap_visit(c->entries, note_expired, &x);
	/* What expired before `to` is the caller's to handle now (fn):
	 * from here on only the values still fresh count. */
	if (isfinite(to))
		c->soonest = x.soonest;
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < x.n; i++) {
		if (!x.nomem)
			fn(arg, x.keys[i]);
		free(x.keys[i]);
	}
	free(x.keys);
	return x.nomem ? -ENOMEM : 0;
}

unsigned long cache_version(struct cache *c)
{
	return __atomic_load_n(&c->version, __ATOMIC_ACQUIRE);
}

double cache_fresh_until(struct cache *c)
{
	double t;

	pthread_mutex_lock(&c->lock);
	t = c->soonest;
	pthread_mutex_unlock(&c->lock);
	return t;
}

long cache_count(struct cache *c)
{
	long n;

	pthread_mutex_lock(&c->lock);
	n = (long)strmap_count(c->entries);
	pthread_mutex_unlock(&c->lock);
	return n;
}

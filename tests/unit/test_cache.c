/*
 * test_cache: ttl, single flight, negative entries, stale fallback, drops
 * during a fetch and reference counts. Small ttls and sleeps keep it under
 * two seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cache.h"
#include "strhash.h"
#include "stats.h"
#include "tap.h"

struct src {
	int calls;   /* atomic: fetches made */
	int started; /* atomic: a fetch is running */
	int rc;	     /* what the fetch answers */
	int delay_ms;
	int gated; /* atomic: the fetch waits until the test clears it */
	const char *value;
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int fetch(void *arg, cJSON **out)
{
	struct src *s = arg;

	__atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->started, 1, __ATOMIC_SEQ_CST);
	if (s->delay_ms)
		sleep_ms(s->delay_ms);
	while (__atomic_load_n(&s->gated, __ATOMIC_SEQ_CST))
		sleep_ms(1);
	if (s->rc)
		return s->rc;
	*out = cJSON_CreateString(s->value);
	return *out ? 0 : -ENOMEM;
}

/* The same source, as a text fetch. */
static int fetch_text(void *arg, char **out)
{
	struct src *s = arg;
	cJSON *json = NULL;
	int rc;

	if (!s->value) { /* a fetch that answers nothing */
		__atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	rc = fetch(arg, &json);
	if (rc)
		return rc;
	cJSON_Delete(json);
	*out = strdup(s->value);
	return *out ? 0 : -ENOMEM;
}

static int calls(struct src *s)
{
	return __atomic_load_n(&s->calls, __ATOMIC_SEQ_CST);
}

/* The string held by a value, or "" for anything else. */
static const char *text(const struct cval *v)
{
	return v && cJSON_IsString(v->json) ? v->json->valuestring : "";
}

static void test_basic_and_ttl(void)
{
	struct cache *c = cache_new(0.15, 0.15);
	struct src s = {.value = "one"};
	struct cval *v = NULL, *p;
	int rc;

	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && tap_streq(text(v), "one") && !v->stale,
	   "miss fetches the value");
	cval_put(v);
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && calls(&s) == 1, "second get is a hit (fetches: %d)",
	   calls(&s));
	cval_put(v);
	p = cache_peek(c, "k");
	ok(p && tap_streq(text(p), "one"), "peek sees a fresh value");
	cval_put(p);
	ok(cache_peek(c, "other") == NULL, "peek of an unknown key is NULL");
	ok(cache_count(c) == 1, "one key held");

	sleep_ms(200);
	ok(cache_peek(c, "k") == NULL, "peek ignores an expired value");
	s.value = "two";
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && calls(&s) == 2 && tap_streq(text(v), "two"),
	   "an expired value is fetched again");
	cval_put(v);

	ok(cache_put(c, "k", cJSON_CreateString("put")) == 0, "put");
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && calls(&s) == 2 && tap_streq(text(v), "put"),
	   "a put value is served fresh without a fetch");
	cval_put(v);

	s.rc = -EACCES;
	rc = cache_get(c, "bad", fetch, &s, &v);
	ok(rc == -EACCES && v == NULL, "a fetch error is returned");
	ok(cache_count(c) == 1, "a failed first fetch leaves no entry (%ld)",
	   cache_count(c));
	rc = cache_get(c, "bad", fetch, &s, &v);
	ok(rc == -EACCES && calls(&s) == 4, "errors are not cached");
	cache_free(c);
}

static void *getter(void *arg)
{
	void **a = arg;
	struct cval *v = NULL;
	long rc;

	rc = cache_get(a[0], "k", fetch, a[1], &v);
	a[2] = v;
	return (void *)rc;
}

static void *text_getter(void *arg)
{
	void **a = arg;
	struct cval *v = NULL;
	long rc;

	rc = cache_get_text(a[0], "t", fetch_text, a[1], &v);
	a[2] = v;
	return (void *)rc;
}

/* n threads get "k" at once; returns how many got rc, values in vals. */
static int crowd(struct cache *c, struct src *s, int n, int want_rc,
		 struct cval **vals)
{
	pthread_t t[16];
	void *args[16][3];
	void *res;
	int i, good = 0;

	for (i = 0; i < n; i++) {
		args[i][0] = c;
		args[i][1] = s;
		args[i][2] = NULL;
		pthread_create(&t[i], NULL, getter, args[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], &res);
		vals[i] = args[i][2];
		if ((long)res == want_rc)
			good++;
	}
	return good;
}

static void test_single_flight(void)
{
	struct cache *c = cache_new(60, 60);
	struct src s = {.value = "shared", .delay_ms = 100};
	struct cval *vals[8];
	int i, same = 1, good;

	good = crowd(c, &s, 8, 0, vals);
	ok(good == 8, "8 concurrent gets succeed (%d)", good);
	ok(calls(&s) == 1, "the fetch ran exactly once (%d)", calls(&s));
	for (i = 0; i < 8; i++) {
		if (vals[i] != vals[0] || !tap_streq(text(vals[i]), "shared"))
			same = 0;
		cval_put(vals[i]);
	}
	ok(same, "all 8 share one value");
	cache_free(c);

	/* An error is shared as well: a failing API is waited for once. */
	c = cache_new(60, 60);
	cache_set_holdoff(c, 0, 0);
	s = (struct src){.rc = -ETIMEDOUT, .delay_ms = 100};
	good = crowd(c, &s, 8, -ETIMEDOUT, vals);
	ok(good == 8 && calls(&s) == 1,
	   "8 concurrent gets share one failed fetch (%d ok, %d fetches)", good,
	   calls(&s));
	ok(cache_count(c) == 0, "and nothing is kept without a holdoff");
	cache_free(c);
}

static void test_negative(void)
{
	struct cache *c = cache_new(60, 0.15);
	struct src s = {.rc = -ENOENT};
	struct cval *v = NULL;
	long before = stats_get(STAT_CACHE_NEG_HIT);
	int rc;

	rc = cache_get(c, "gone", fetch, &s, &v);
	ok(rc == -ENOENT && v == NULL, "ENOENT from the fetch");
	rc = cache_get(c, "gone", fetch, &s, &v);
	ok(rc == -ENOENT && calls(&s) == 1, "ENOENT remembered (fetches: %d)",
	   calls(&s));
	ok(stats_get(STAT_CACHE_NEG_HIT) == before + 1, "counted as NEG_HIT");
	ok(cache_peek(c, "gone") == NULL, "peek of a missing key is NULL");
	sleep_ms(200);
	s.rc = 0;
	s.value = "back";
	rc = cache_get(c, "gone", fetch, &s, &v);
	ok(rc == 0 && calls(&s) == 2 && tap_streq(text(v), "back"),
	   "after neg_ttl the key is fetched again");
	cval_put(v);

	cache_put_missing(c, "gone");
	rc = cache_get(c, "gone", fetch, &s, &v);
	ok(rc == -ENOENT && calls(&s) == 2, "put_missing answers ENOENT");
	cache_put_missing(c, "never");
	ok(cache_count(c) == 2, "negative entries are counted");
	cache_free(c);
}

static void test_stale(void)
{
	static const int transient[] = {-EIO, -ETIMEDOUT, -EHOSTUNREACH,
					-EAGAIN};
	struct cache *c = cache_new(0.1, 0.1);

	cache_set_holdoff(c, 0, 0); /* every get fetches: see test_holdoff */
	struct src s = {.value = "old"};
	struct cval *v = NULL, *held;
	long before;
	size_t i;
	int rc;

	rc = cache_get(c, "k", fetch, &s, &held);
	ok(rc == 0, "fetched once");
	sleep_ms(150);
	for (i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
		before = stats_get(STAT_CACHE_STALE);
		s.rc = transient[i];
		rc = cache_get(c, "k", fetch, &s, &v);
		ok(rc == 0 && v && v->stale && tap_streq(text(v), "old") &&
			   stats_get(STAT_CACHE_STALE) == before + 1,
		   "errno %d: the stale value is served and counted",
		   -transient[i]);
		ok(v && v->fetched == held->fetched,
		   "its fetch time is the original one");
		cval_put(v);
		v = NULL;
	}
	ok(!held->stale, "a reference taken while fresh is not marked stale");
	cval_put(held);

	s.rc = -EACCES;
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == -EACCES && v == NULL, "other errors are not papered over");
	s.rc = -EIO;
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && v && v->stale, "the stale value survives them");
	cval_put(v);

	s.rc = 0;
	s.value = "new";
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && !v->stale && tap_streq(text(v), "new"),
	   "a good fetch replaces the stale value");
	cval_put(v);

	s.rc = -EIO;
	rc = cache_get(c, "fresh-key", fetch, &s, &v);
	ok(rc == -EIO, "no stale fallback without an old value");

	cache_put(c, "n", cJSON_CreateString("x"));
	cache_put_missing(c, "n");
	sleep_ms(150);
	rc = cache_get(c, "n", fetch, &s, &v);
	ok(rc == -EIO, "no stale fallback from a negative entry");
	cache_free(c);
}

static void wait_started(struct src *s)
{
	while (!__atomic_load_n(&s->started, __ATOMIC_SEQ_CST))
		sleep_ms(1);
}

/* Starts a get of "k" in a thread whose fetch holds until open_gate, and
 * returns once the fetch runs. */
static void start_gated(pthread_t *t, void **args, struct src *s)
{
	s->calls = s->started = 0;
	s->gated = 1;
	args[2] = NULL;
	pthread_create(t, NULL, getter, args);
	wait_started(s);
}

static void open_gate(struct src *s)
{
	__atomic_store_n(&s->gated, 0, __ATOMIC_SEQ_CST);
}

static void test_drop_during_fetch(void)
{
	struct cache *c = cache_new(60, 60);
	struct src s = {.value = "before"};
	struct src s2 = {.value = "after"};
	struct cval *v = NULL;
	void *args[3] = {c, &s, NULL}, *res;
	pthread_t t;
	int rc;

	start_gated(&t, args, &s);
	cache_drop(c, "k");
	ok(cache_count(c) == 0, "the fetching entry is unlinked at once");
	rc = cache_get(c, "k", fetch, &s2, &v);
	ok(rc == 0 && calls(&s2) == 1 && tap_streq(text(v), "after"),
	   "a get after the drop fetches anew, not waiting for the old fetch");
	cval_put(v);
	open_gate(&s);
	pthread_join(t, &res);
	ok((long)res == 0 && tap_streq(text(args[2]), "before"),
	   "the old fetch still answers its own caller");
	cval_put(args[2]);
	rc = cache_get(c, "k", fetch, &s2, &v);
	ok(rc == 0 && calls(&s2) == 1 && tap_streq(text(v), "after"),
	   "but its result was not kept");
	cval_put(v);

	cache_drop(c, "k");
	start_gated(&t, args, &s);
	cache_drop(c, "k");
	open_gate(&s);
	pthread_join(t, &res);
	cval_put(args[2]);
	ok(cache_count(c) == 0, "drop during a fetch: nothing kept");

	start_gated(&t, args, &s);
	cache_drop_prefix(c, "");
	open_gate(&s);
	pthread_join(t, &res);
	cval_put(args[2]);
	ok(cache_count(c) == 0, "drop_prefix during a fetch: nothing kept");

	start_gated(&t, args, &s);
	cache_put(c, "k", cJSON_CreateString("put"));
	open_gate(&s);
	pthread_join(t, &res);
	ok(tap_streq(text(args[2]), "before"), "fetcher gets its own result");
	cval_put(args[2]);
	rc = cache_get(c, "k", fetch, &s2, &v);
	ok(rc == 0 && calls(&s2) == 1 && tap_streq(text(v), "put"),
	   "a put during a fetch wins over the fetch");
	cval_put(v);
	cache_free(c);
}

/* A put or put_missing during a fetch orphans the fetching entry; the
 * entry chained after it in the same bucket keeps its own key and value.
 * (claim() once returned that neighbour after unlinking the orphan, so a
 * put for one member overwrote another's record: the stress test's
 * "wrong user.json" and "deleted member still there".) */
static void test_put_during_fetch_keeps_neighbour(void)
{
	const char *how[2] = {"put", "put_missing"};
	struct cache *c = cache_new(60, 60);
	struct src s = {.value = "fetched"};
	struct src s2 = {.value = "refetched"};
	void *args[3] = {c, &s, NULL}, *res;
	struct cval *v = NULL;
	char nb[32];
	unsigned i;
	int k, rc;
	pthread_t t;

	/* A key sharing "k"'s bucket in any table of up to 65,536 buckets. */
	for (i = 0;; i++) {
		snprintf(nb, sizeof(nb), "n%u", i);
		if ((strhash(nb) & 0xffff) == (strhash("k") & 0xffff))
			break;
	}
	for (k = 0; k < 2; k++) {
		cache_drop_prefix(c, "");
		cache_put(c, nb, cJSON_CreateString("neighbour"));
		/* "k" is inserted at the head of the chain, before nb. */
		start_gated(&t, args, &s);
		if (k == 0)
			cache_put(c, "k", cJSON_CreateString("put"));
		else
			cache_put_missing(c, "k");
		open_gate(&s);
		pthread_join(t, &res);
		cval_put(args[2]);
		s2.calls = 0;
		rc = cache_get(c, nb, fetch, &s2, &v);
		ok(rc == 0 && calls(&s2) == 0 &&
			   tap_streq(text(v), "neighbour"),
		   "%s of a key being fetched leaves the key chained after it "
		   "alone (rc %d, got \"%s\")",
		   how[k], rc, text(v));
		cval_put(v);
		v = NULL;
		rc = cache_get(c, "k", fetch, &s2, &v);
		if (k == 0)
			ok(rc == 0 && calls(&s2) == 0 &&
				   tap_streq(text(v), "put"),
			   "and the put key holds the put value");
		else
			ok(rc == -ENOENT && calls(&s2) == 0,
			   "and the key put missing is missing (rc %d)", rc);
		cval_put(v);
		v = NULL;
		ok(cache_count(c) == 2, "two keys held after the %s (%ld)",
		   how[k], cache_count(c));
	}
	cache_free(c);
}

static void test_refs(void)
{
	struct cache *c = cache_new(60, 60);
	struct cval *v, *w;

	cache_put(c, "k", cJSON_CreateString("kept"));
	v = cache_peek(c, "k");
	w = cval_get(v);
	cache_drop(c, "k");
	ok(cache_peek(c, "k") == NULL, "dropped");
	ok(tap_streq(text(v), "kept"), "a held reference survives the drop");
	cval_put(v);
	ok(tap_streq(text(w), "kept"), "and so does a second one");
	cval_put(w);
	cval_put(NULL);

	cache_put(c, "k", cJSON_CreateString("one"));
	v = cache_peek(c, "k");
	cache_put(c, "k", cJSON_CreateString("two"));
	ok(tap_streq(text(v), "one"), "a held reference survives a put");
	cval_put(v);
	cache_free(c);
}

static void test_prefix_and_growth(void)
{
	struct cache *c = cache_new(60, 0.05);
	char key[64];
	struct cval *v;
	int i, missing = 0;

	cache_put(c, "/users/a/x", cJSON_CreateString("1"));
	cache_put(c, "/users/a/y", cJSON_CreateString("2"));
	cache_put(c, "/users/ab/x", cJSON_CreateString("3"));
	cache_put(c, "/users/b/x", cJSON_CreateString("4"));
	cache_drop_prefix(c, "/users/a/");
	ok(cache_count(c) == 2 && !cache_peek(c, "/users/a/x"),
	   "drop_prefix drops exactly the prefix");
	cache_drop_prefix(c, "");
	ok(cache_count(c) == 0, "drop_prefix(\"\") drops everything");

	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "/users/u%d@example.com", i);
		cache_put(c, key, cJSON_CreateNumber(i));
	}
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "/users/u%d@example.com", i);
		v = cache_peek(c, key);
		if (!v || v->json->valueint != i)
			missing++;
		cval_put(v);
	}
	ok(cache_count(c) == 20000 && missing == 0,
	   "20000 keys held and found (%d missing)", missing);
	cache_drop_prefix(c, "");

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "miss%d", i);
		cache_put_missing(c, key);
	}
	sleep_ms(100);
	/* Enough operations for the lazy sweep to pass every bucket. */
	for (i = 0; i < 10000; i++)
		cache_put(c, "churn", cJSON_CreateNumber(i));
	ok(cache_count(c) == 1, "expired negative entries are swept (%ld left)",
	   cache_count(c));
	cache_free(c);
}

static int null_fetch(void *arg, cJSON **out)
{
	(void)arg;
	(void)out;
	return 0;
}

static void test_misc(void)
{
	struct cache *c = cache_new(60, 60);
	struct cval *v = NULL;

	ok(cache_get(c, "k", null_fetch, NULL, &v) == -EIO && v == NULL,
	   "a fetch that returns 0 without a value is -EIO");
	ok(mono_now() > 0, "monotonic clock");
	cache_free(c);
	cache_free(NULL);
}

/* After a transient failure the key is not fetched again for a while:
 * the stale value, or the error, is the answer meanwhile. */
static void test_holdoff(void)
{
	struct cache *c = cache_new(0.05, 60);
	struct src s = {.value = "old"};
	struct cval *v = NULL;
	int rc;

	cache_set_holdoff(c, 0.3, 0.3);
	rc = cache_get(c, "k", fetch, &s, &v);
	cval_put(v);
	sleep_ms(80); /* past the ttl */
	s.rc = -EIO;
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && v && v->stale && calls(&s) == 2,
	   "an expired value is served stale when the refetch fails");
	cval_put(v);
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && v && v->stale && calls(&s) == 2,
	   "within the holdoff: stale again, no new fetch (%d)", calls(&s));
	cval_put(v);
	sleep_ms(350);
	s.rc = 0;
	s.value = "new";
	rc = cache_get(c, "k", fetch, &s, &v);
	ok(rc == 0 && v && !v->stale && calls(&s) == 3 &&
		   tap_streq(text(v), "new"),
	   "after the holdoff: fetched again, fresh");
	cval_put(v);

	s.rc = -ETIMEDOUT;
	rc = cache_get(c, "e", fetch, &s, &v);
	ok(rc == -ETIMEDOUT && calls(&s) == 4, "a failing key with no value");
	rc = cache_get(c, "e", fetch, &s, &v);
	ok(rc == -ETIMEDOUT && calls(&s) == 4,
	   "within the holdoff: the same error at once, no fetch");
	sleep_ms(350);
	s.rc = 0;
	rc = cache_get(c, "e", fetch, &s, &v);
	ok(rc == 0 && calls(&s) == 5, "after the holdoff: fetched again");
	cval_put(v);
	s.rc = -EACCES;
	cache_drop(c, "e");
	rc = cache_get(c, "e", fetch, &s, &v);
	rc = cache_get(c, "e", fetch, &s, &v);
	ok(rc == -EACCES && calls(&s) == 7,
	   "non-transient errors are not held (%d)", calls(&s));
	cache_free(c);
}

/* cache_each_expired's collector: the keys seen, joined by spaces. */
static void collect(void *arg, const char *key)
{
	char *seen = arg;

	strcat(seen, key);
	strcat(seen, " ");
}

/* Which values expire in a window: those put (ttl 10 s) expire 10 s after
 * their put, never a "missing", never one dropped. No sleeping: the
 * windows are placed around the puts' clock. */
static void test_each_expired(void)
{
	struct cache *c = cache_new(10, 10);
	char seen[64] = "";
	double t0 = mono_now(), t1;
	int rc;

	cache_put(c, "a", cJSON_CreateString("1"));
	cache_put(c, "b", cJSON_CreateString("2"));
	cache_put_missing(c, "gone");
	cache_put(c, "dropped", cJSON_CreateString("3"));
	cache_drop(c, "dropped");
	t1 = mono_now();
	rc = cache_each_expired(c, t0, t1 + 10, collect, seen);
	ok(rc == 0 && (tap_streq(seen, "a b ") || tap_streq(seen, "b a ")),
	   "the values expiring within ttl after their put: a and b (%s)",
	   seen);
	seen[0] = '\0';
	cache_each_expired(c, t0, t0 + 9.9, collect, seen);
	ok(tap_streq(seen, ""), "none expires before its ttl (%s)", seen);
	cache_each_expired(c, t1 + 10, t1 + 20, collect, seen);
	ok(tap_streq(seen, ""), "none in a later window (%s)", seen);
	cache_put(c, "a", cJSON_CreateString("again"));
	cache_each_expired(c, t0, t1 + 10, collect, seen);
	ok(tap_streq(seen, "b "), "a value put again moves its expiry (%s)",
	   seen);
	cache_free(c);
}

/* cache_renew: a value counts as fetched now; a missing key or a
 * "missing" is not renewed. */
static void test_renew(void)
{
	struct cache *c = cache_new(10, 10);
	char seen[64] = "";
	double t0 = mono_now();

	cache_put(c, "a", cJSON_CreateString("1"));
	cache_put_missing(c, "gone");
	ok(cache_renew(c, "gone") == 0 && cache_renew(c, "none") == 0,
	   "neither a missing one nor an unknown key is renewed");
	sleep_ms(50);
	ok(cache_renew(c, "a") == 1, "a value is renewed");
	cache_each_expired(c, t0, t0 + 10.03, collect, seen);
	ok(tap_streq(seen, ""),
	   "renewed 50 ms later, it expires no earlier than 10 s after "
	   "that (%s)",
	   seen);
	cache_each_expired(c, t0 + 10.03, t0 + 100, collect, seen);
	ok(tap_streq(seen, "a "), "... and then it does (%s)", seen);
	cache_free(c);
}

/* Text values: the bytes in the cval's block, json NULL; the same ttl,
 * stale fallback and orphan rules as cJSON values. */
static void test_text_values(void)
{
	struct cache *c = cache_new(0.1, 0.1);
	struct src s = {.value = "packed\x01one"};
	struct cval *v = NULL, *held = NULL;
	char buf[16];
	void *args[3] = {c, &s, NULL}, *res;
	pthread_t t;
	int rc;

	cache_set_holdoff(c, 0, 0);
	rc = cache_get_text(c, "t", fetch_text, &s, &held);
	ok(rc == 0 && held && !held->json &&
		   tap_streq(held->text, "packed\x01one") && !held->stale,
	   "a text miss fetches: json NULL, the text in the value");
	rc = cache_get_text(c, "t", fetch_text, &s, &v);
	ok(rc == 0 && v == held && calls(&s) == 1,
	   "the second get is a hit: the same value, no fetch");
	cval_put(v);
	sleep_ms(150);
	s.rc = -EIO;
	rc = cache_get_text(c, "t", fetch_text, &s, &v);
	ok(rc == 0 && v && v != held && v->stale && !v->json &&
		   tap_streq(v->text, "packed\x01one") &&
		   v->fetched == held->fetched,
	   "an API failure serves a stale copy of the text");
	ok(!held->stale, "the reference taken while fresh is not marked");
	cval_put(v);
	cval_put(held);
	s.rc = 0;
	s.value = NULL;
	rc = cache_get_text(c, "u", fetch_text, &s, &v);
	ok(rc == -EIO && !v, "a text fetch answering nothing is EIO");

	ok(cache_put_text(c, "p", "put") == 0, "put_text");
	s.value = "fetched";
	rc = cache_get_text(c, "p", fetch_text, &s, &v);
	ok(rc == 0 && !v->json && tap_streq(v->text, "put") && calls(&s) == 3,
	   "a put text is served fresh without a fetch");
	cval_put(v);

	cache_set_holdoff(c, 0, 0);
	cache_drop(c, "t");
	args[1] = &s;
	s.value = "before";
	s.calls = s.started = 0;
	s.gated = 1;
	pthread_create(&t, NULL, text_getter, args);
	wait_started(&s);
	cache_put_text(c, "t", "put");
	open_gate(&s);
	pthread_join(t, &res);
	v = args[2];
	ok((long)res == 0 && v && !v->json && tap_streq(v->text, "before"),
	   "an orphaned text fetch answers its own caller");
	cval_put(v);
	v = cache_peek(c, "t");
	ok(v && tap_streq(v->text, "put"), "and the put is what is kept");
	cval_put(v);

	strcpy(buf, "copied");
	v = cval_text(buf, 1.5, 0);
	buf[0] = 'X';
	ok(v && !v->json && tap_streq(v->text, "copied") && v->fetched == 1.5 &&
		   v->refs == 1,
	   "cval_text copies its text");
	cval_put(v);
	cache_free(c);
}

int main(void)
{
	test_each_expired();
	test_renew();
	test_basic_and_ttl();
	test_single_flight();
	test_negative();
	test_stale();
	test_holdoff();
	test_drop_during_fetch();
	test_put_during_fetch_keeps_neighbour();
	test_refs();
	test_prefix_and_growth();
	test_misc();
	test_text_values();
	return done_testing();
}

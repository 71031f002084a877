/*
 * test_fence: which changes a fetch learns of, the latest news winning,
 * marks kept only while an older fetch runs, and "check, then put" against
 * a concurrent mark (the race of a list page and a deletion).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fence.h"
#include "tap.h"

static void count_put(void *arg)
{
	(*(int *)arg)++;
}

static void test_news(void)
{
	struct fence *f = fence_new();
	struct fence_ticket t1, t2;
	int puts = 0;

	fence_mark(f, "early", FENCE_GONE);
	ok(fence_count(f) == 0, "a mark while no fetch runs is not kept");

	fence_begin(f, &t1);
	ok(fence_news(f, &t1, "early") == FENCE_NONE,
	   "a change before the fetch began is no news to it");
	fence_mark(f, "a", FENCE_CHANGED);
	ok(fence_news(f, &t1, "a") == FENCE_CHANGED,
	   "a change after the fetch began is");
	ok(fence_news(f, &t1, "b") == FENCE_NONE, "other keys have none");

	fence_begin(f, &t2);
	ok(fence_news(f, &t2, "a") == FENCE_NONE,
	   "a later fetch does not see the earlier change");
	fence_mark(f, "b", FENCE_GONE);
	ok(fence_news(f, &t1, "b") == FENCE_GONE &&
		   fence_news(f, &t2, "b") == FENCE_GONE,
	   "a deletion is news to both running fetches");
	fence_mark(f, "a", FENCE_GONE);
	ok(fence_news(f, &t1, "a") == FENCE_GONE &&
		   fence_news(f, &t2, "a") == FENCE_GONE,
	   "a deletion after a change: the latest news wins");
	fence_mark(f, "b", FENCE_CHANGED);
	ok(fence_news(f, &t1, "b") == FENCE_CHANGED,
	   "deleted, then made again: changed, not gone");
	ok(fence_count(f) == 2, "one mark per key (got %ld)", fence_count(f));

	ok(fence_put(f, &t1, "c", count_put, &puts) == FENCE_NONE && puts == 1,
	   "fence_put stores a key without news");
	ok(fence_put(f, &t1, "a", count_put, &puts) == FENCE_GONE && puts == 1,
	   "and refuses one that was deleted since");
	ok(fence_put(f, &t2, "b", count_put, &puts) == FENCE_CHANGED &&
		   puts == 1,
	   "or changed since");

	fence_end(f, &t1);
	fence_end(f, &t2);
	ok(fence_count(f) == 0, "all fetches ended: no mark left");
	fence_begin(f, &t1);
	ok(fence_news(f, &t1, "a") == FENCE_NONE,
	   "a new fetch sees none of the old marks");
	fence_end(f, &t1);
	fence_free(f);
}

static void test_bounds(void)
{
	struct fence *f = fence_new();
	struct fence_ticket t1, t2, t3;
	char key[32];
	int i, bad = 0;

	fence_begin(f, &t1);
	fence_mark(f, "x", FENCE_GONE);
	fence_begin(f, &t2);
	fence_mark(f, "y", FENCE_GONE);
	ok(fence_count(f) == 2, "two marks while fetches run");
	fence_end(f, &t1);
	ok(fence_count(f) == 1,
	   "the oldest fetch ends: the mark only it could see goes");
	ok(fence_news(f, &t2, "y") == FENCE_GONE,
	   "the other fetch still sees its mark");

	fence_begin(f, &t3);
	fence_mark(f, "z", FENCE_CHANGED);
	fence_end(f, &t3);
	ok(fence_count(f) == 2 && fence_news(f, &t2, "z") == FENCE_CHANGED,
	   "a younger fetch ending drops nothing an older one needs");
	fence_end(f, &t2);
	ok(fence_count(f) == 0, "the last fetch ends: nothing kept");

	/* A bulk delete during a long listing. */
	fence_begin(f, &t1);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "m%d@example.com", i);
		fence_mark(f, key, i % 2 ? FENCE_GONE : FENCE_CHANGED);
	}
	ok(fence_count(f) == 5000, "5000 marks held (got %ld)", fence_count(f));
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "m%d@example.com", i);
		if (fence_news(f, &t1, key) !=
		    (i % 2 ? FENCE_GONE : FENCE_CHANGED))
			bad++;
	}
	ok(bad == 0, "each found with its news after growing (%d wrong)", bad);
	ok(fence_news(f, &t1, "m5000@example.com") == FENCE_NONE,
	   "an unmarked key among them has none");
	fence_end(f, &t1);
	ok(fence_count(f) == 0, "and all go when the listing ends");
	fence_free(f);
}

/* A list page storing a record of "k" while a deletion marks "k" and
 * stores its own answer: whatever the interleaving, the deletion's answer
 * must be what stays. */
struct store {
	pthread_mutex_t lock; /* stands in for the cache's */
	const char *value;
};

struct race {
	struct fence *f;
	struct store *st;
	int ready; /* atomic: the deleter is running */
	int go;	   /* atomic: both sides start together */
	int skew;  /* spins before the deleter acts */
};

static void spin(int n)
{
	volatile int i;

	for (i = 0; i < n; i++)
		;
}

static void store_record(void *arg)
{
	struct store *st = arg;
	struct timespec ts = {0, 20000};

	/* A slow put (as packing into the cache can be): a mark that does
	 * not wait for it would land in between. */
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&st->lock);
	st->value = "record";
	pthread_mutex_unlock(&st->lock);
}

static void *delete_k(void *arg)
{
	struct race *r = arg;

	__atomic_store_n(&r->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&r->go, __ATOMIC_SEQ_CST))
		;
	spin(r->skew);
	fence_mark(r->f, "k", FENCE_GONE);
	pthread_mutex_lock(&r->st->lock);
	r->st->value = "gone";
	pthread_mutex_unlock(&r->st->lock);
	return NULL;
}

static void test_race(void)
{
	struct fence *f = fence_new();
	struct store st = {PTHREAD_MUTEX_INITIALIZER, NULL};
	struct race r = {f, &st, 0, 0, 0};
	struct fence_ticket t;
	pthread_t th;
	int i, resurrected = 0, stored = 0;

	for (i = 0; i < 500; i++) {
		st.value = "none";
		r.ready = r.go = 0;
		r.skew = (i % 8) * 500;
		fence_begin(f, &t);
		if (pthread_create(&th, NULL, delete_k, &r) != 0)
			break;
		while (!__atomic_load_n(&r.ready, __ATOMIC_SEQ_CST))
			;
		__atomic_store_n(&r.go, 1, __ATOMIC_SEQ_CST);
		spin((i % 5) * 500);
		if (fence_put(f, &t, "k", store_record, &st) == FENCE_NONE)
			stored++;
		pthread_join(th, NULL);
		fence_end(f, &t);
		if (strcmp(st.value, "gone"))
			resurrected++;
	}
	ok(i == 500 && resurrected == 0,
	   "a put racing a deletion never outlives it (%d of %d; %d puts "
	   "went first)",
	   resurrected, i, stored);
	ok(fence_count(f) == 0, "no mark left after the races");
	fence_free(f);
}

int main(void)
{
	test_news();
	test_bounds();
	test_race();
	return done_testing();
}

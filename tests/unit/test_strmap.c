/*
 * test_strmap: the string-keyed table under growth, collisions (many keys
 * in few buckets, before growth), removal inside a visit, the incremental
 * visit reaching every entry, the set calls, and out-of-memory reported
 * and harmless (malloc made to fail through glibc's __libc_malloc).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "tap.h"

/* A sanitizer build owns malloc (replacing it breaks ASan): there the
 * out-of-memory checks are skipped; the plain build runs them. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
/* malloc fails while fail_malloc is set; everything else is glibc's. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
static int fail_malloc, fail_calloc;

void *malloc(size_t size)
{
	return fail_malloc ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return fail_malloc || fail_calloc ? NULL : __libc_calloc(n, size);
}
#endif

#define N 5000

static enum strmap_visit count_visit(void *arg, const char *key, void *value)
{
	(*(size_t *)arg)++;
	return STRMAP_KEEP;
}

/* Removes the entries whose value is odd. */
static enum strmap_visit drop_odd(void *arg, const char *key, void *value)
{
	return (size_t)value % 2 ? STRMAP_REMOVE : STRMAP_KEEP;
}

static enum strmap_visit stop_at_once(void *arg, const char *key, void *value)
{
	(*(size_t *)arg)++;
	return STRMAP_STOP;
}

static void key_of(char *k, size_t i)
{
	snprintf(k, 32, "key-%zu", i);
}

static void test_growth(void)
{
	struct strmap *m = strmap_new();
	size_t i, bad = 0, seen = 0;
	void *old = (void *)1;
	char k[32];

	for (i = 0; i < N; i++) {
		key_of(k, i);
		if (strmap_put(m, k, (void *)(i + 1), NULL))
			bad++;
	}
	ok(bad == 0 && strmap_count(m) == N, "%d keys put (count %zu)", N,
	   strmap_count(m));
	for (i = 0; i < N; i++) {
		key_of(k, i);
		if (strmap_get(m, k) != (void *)(i + 1))
			bad++;
	}
	ok(bad == 0, "each found with its value after growing");
	ok(!strmap_get(m, "key-5000") && !strmap_has(m, "nope"),
	   "absent keys are absent");
	ok(strmap_put(m, "key-7", (void *)42, &old) == 0 && old == (void *)8,
	   "put over a key hands back the old value");
	ok(strmap_count(m) == N && strmap_get(m, "key-7") == (void *)42,
	   "and does not add one");
	strmap_visit(m, count_visit, &seen);
	ok(seen == N, "a visit sees every entry (%zu)", seen);
	strmap_free(m, NULL);
}

static void test_remove(void)
{
	struct strmap *m = strmap_new();
	size_t i, removed, left = 0, stopped = 0;
	char k[32];

	for (i = 0; i < 100; i++) {
		key_of(k, i);
		strmap_put(m, k, (void *)i, NULL);
	}
	ok(strmap_remove(m, "key-3") == (void *)3 && !strmap_has(m, "key-3"),
	   "remove returns the value and the key is gone");
	ok(strmap_remove(m, "key-3") == NULL, "removing it again: NULL");
	removed = strmap_visit(m, drop_odd, NULL);
	ok(removed == 49 && strmap_count(m) == 50,
	   "removal during a visit (%zu removed, %zu left)", removed,
	   strmap_count(m));
	for (i = 0; i < 100; i++) {
		key_of(k, i);
		if (strmap_has(m, k) != (i % 2 == 0))
			left++;
	}
	ok(left == 0, "exactly the even keys are left");
	strmap_visit(m, stop_at_once, &stopped);
	ok(stopped == 1, "STRMAP_STOP ends the visit");
	strmap_clear(m, NULL);
	ok(strmap_count(m) == 0 && !strmap_has(m, "key-0"),
	   "clear empties the map");
	ok(strmap_put(m, "again", NULL, NULL) == 0 && strmap_has(m, "again"),
	   "and it is usable after");
	strmap_free(m, NULL);
}

static void test_collisions(void)
{
	struct strmap *m = strmap_new();
	size_t i, bad = 0;
	char k[32];

	/* 15 keys in a 16-bucket table: chains, no growth. */
	for (i = 0; i < 15; i++) {
		key_of(k, i);
		strmap_put(m, k, (void *)(i + 100), NULL);
	}
	ok(!strmap_full(m), "15 keys: the table is not full yet");
	strmap_remove(m, "key-0");
	strmap_remove(m, "key-14");
	for (i = 1; i < 14; i++) {
		key_of(k, i);
		if (strmap_get(m, k) != (void *)(i + 100))
			bad++;
	}
	ok(bad == 0, "keys sharing buckets survive their neighbours' removal");
	ok(strmap_put(m, "", (void *)1, NULL) == 0 &&
		   strmap_get(m, "") == (void *)1,
	   "the empty string is a key like any");
	strmap_free(m, NULL);
}

static void test_visit_some(void)
{
	struct strmap *m = strmap_new();
	size_t i, cursor = 0, seen = 0, rounds;
	char k[32];

	for (i = 0; i < 1000; i++) {
		key_of(k, i);
		strmap_put(m, k, (void *)(i * 2 + 1), NULL);
	}
	for (rounds = 0; strmap_count(m) > 0 && rounds < 100000; rounds++)
		strmap_visit_some(m, &cursor, 32, 2, drop_odd, NULL);
	ok(strmap_count(m) == 0,
	   "incremental visits reach every entry (%zu "
	   "calls)",
	   rounds);
	strmap_visit_some(m, &cursor, 32, 2, count_visit, &seen);
	ok(seen == 0, "an empty table: nothing visited");
	strmap_free(m, NULL);
}

static void free_counted(void *v)
{
	(*(int *)v)++;
}

static void test_set_and_ownership(void)
{
	struct strmap *m = strmap_new();
	char key[] = "mutable";
	int freed = 0;

	ok(strmap_add(m, "a") == 1 && strmap_add(m, "a") == 0,
	   "add: 1 when new, 0 when present");
	ok(strmap_has(m, "a") && strmap_get(m, "a") == NULL,
	   "a set member is present with a NULL value");
	strmap_put(m, key, &freed, NULL);
	key[0] = 'X';
	ok(strmap_get(m, "mutable") == &freed, "keys are copied in");
	strmap_remove(m, "a");
	strmap_free(m, free_counted);
	ok(freed == 1, "free calls free_value on each value");
}

#ifdef SANITIZED
static void test_oom(void)
{
	printf("ok %d - out-of-memory checks # SKIP sanitizer build (it owns "
	       "malloc)\n",
	       ++tap_run_);
}
#else
static void test_oom(void)
{
	struct strmap *m = strmap_new();
	size_t i;
	char k[32];
	int r;

	strmap_put(m, "kept", (void *)7, NULL);
	fail_malloc = 1;
	r = strmap_put(m, "new", (void *)1, NULL);
	fail_malloc = 0;
	ok(r == -ENOMEM, "put reports ENOMEM");
	ok(!strmap_has(m, "new") && strmap_count(m) == 1 &&
		   strmap_get(m, "kept") == (void *)7,
	   "and leaves the map as it was");
	fail_malloc = 1;
	r = strmap_add(m, "new");
	fail_malloc = 0;
	ok(r == -ENOMEM, "add reports ENOMEM");
	fail_malloc = 1;
	ok(strmap_new() == NULL, "new: NULL on ENOMEM");
	fail_malloc = 0;
	/* A table that cannot grow still takes keys, in longer chains. */
	for (i = 0; i < 15; i++) {
		key_of(k, i);
		strmap_put(m, k, (void *)(i + 1), NULL);
	}
	ok(strmap_full(m), "the table is full");
	fail_calloc = 1;
	r = strmap_put(m, "x", (void *)99, NULL);
	fail_calloc = 0;
	ok(r == 0 && strmap_get(m, "x") == (void *)99 &&
		   strmap_get(m, "key-3") == (void *)4,
	   "failing to grow is not an error: the key is stored");
	strmap_free(m, NULL);
}
#endif

int main(void)
{
	test_growth();
	test_remove();
	test_collisions();
	test_visit_some();
	test_set_and_ownership();
	test_oom();
	return done_testing();
}

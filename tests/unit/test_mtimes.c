/*
 * test_mtimes: content-change times per path (mtimes.h): first sightings
 * at the epoch, changed content at now, touches, the listing hash, and
 * the bound on memory (a reset never makes a time older), and what
 * getattr showed (mtimes_shown).
 */
#include <stdio.h>
#include <string.h>

#include "mtimes.h"
#include "tap.h"

static struct timespec at(long sec)
{
	struct timespec t = {sec, 500};

	return t;
}

static int same(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static uint64_t h(const char *s)
{
	return mtimes_hash(s, strlen(s));
}

static void test_sightings(void)
{
	struct mtimes *m = mtimes_new(100, at(1000));
	struct timespec t;

	if (!ok(m != NULL, "new"))
		return;
	ok(same(mtimes_get(m, "/a"), at(1000)), "unknown path: the epoch");
	ok(mtimes_count(m) == 0, "get stores nothing");
	t = mtimes_see(m, "/a", h("one\n"), at(1005));
	ok(same(t, at(1000)), "first sighting: the epoch, not now (got %ld)",
	   (long)t.tv_sec);
	t = mtimes_see(m, "/a", h("one\n"), at(1010));
	ok(same(t, at(1000)), "same content later: the time stands");
	t = mtimes_see(m, "/a", h("two\n"), at(1020));
	ok(same(t, at(1020)), "changed content: now (got %ld)", (long)t.tv_sec);
	ok(same(mtimes_get(m, "/a"), at(1020)), "get: the stored time");
	t = mtimes_see(m, "/a", h("two\n"), at(1030));
	ok(same(t, at(1020)), "unchanged again: the change's time stands");
	t = mtimes_see(m, "/a", h("one\n"), at(1040));
	ok(same(t, at(1040)), "back to older content is a change too");
	t = mtimes_see(m, "/b", h("two\n"), at(1050));
	ok(same(t, at(1000)), "another path has its own time");
	ok(mtimes_count(m) == 2, "two paths kept (got %zu)", mtimes_count(m));

	mtimes_touch(m, "/a", at(1060));
	ok(same(mtimes_get(m, "/a"), at(1060)), "touch: now");
	t = mtimes_see(m, "/a", h("three\n"), at(1070));
	ok(same(t, at(1060)),
	   "first sighting after a touch keeps the touch's time");
	t = mtimes_see(m, "/a", h("four\n"), at(1080));
	ok(same(t, at(1080)), "and a change after it is now");
	mtimes_touch(m, "/new", at(1090));
	ok(same(mtimes_get(m, "/new"), at(1090)),
	   "touch of a path never seen (created through the mount): now");
	t = mtimes_see(m, "/new", h(""), at(1100));
	ok(same(t, at(1090)), "its first sighting keeps that time");

	t = mtimes_see(m, "/c", h("x"), at(1100));
	t = mtimes_see(m, "/c", h("y"), at(900));
	ok(t.tv_sec >= 1000,
	   "a clock stepped back never gives a time before "
	   "the epoch (got %ld)",
	   (long)t.tv_sec);
	mtimes_free(m);
}

static void test_hashes(void)
{
	uint64_t a, b;

	ok(h("AAAA GmbH\n") != h("BBBB GmbH\n"),
	   "content of the same length, changed: another hash");
	ok(mtimes_hash("\0", 1) != mtimes_hash("\0\0", 2),
	   "NUL runs of different lengths differ");
	ok(h("") == mtimes_hash(NULL, 0), "empty content: one hash");

	a = mtimes_hash_name(mtimes_hash_name(mtimes_hash_name(0, "x"), "y"),
			     "z");
	b = mtimes_hash_name(mtimes_hash_name(mtimes_hash_name(0, "z"), "x"),
			     "y");
	ok(a == b, "a listing's hash does not depend on the order");
	b = mtimes_hash_name(mtimes_hash_name(0, "x"), "y");
	ok(a != b, "a name fewer: another hash");
	b = mtimes_hash_name(mtimes_hash_name(mtimes_hash_name(0, "x"), "y"),
			     "zz");
	ok(a != b, "a name renamed: another hash");
	ok(mtimes_hash_name(0, "ab") !=
		   mtimes_hash_name(mtimes_hash_name(0, "a"), "b"),
	   "one name ab is not two names a and b");
}

static void test_bound(void)
{
	struct mtimes *m = mtimes_new(3, at(1000));
	struct timespec t;

	if (!ok(m != NULL, "new (at most 3 paths)"))
		return;
	mtimes_see(m, "/1", h("a"), at(1001));
	mtimes_see(m, "/1", h("b"), at(1002)); /* changed at 1002 */
	mtimes_see(m, "/2", h("a"), at(1003));
	mtimes_see(m, "/3", h("a"), at(1004));
	ok(mtimes_count(m) == 3, "three paths kept");
	ok(same(mtimes_get(m, "/1"), at(1002)), "/1 changed at 1002");
	t = mtimes_see(m, "/4", h("a"), at(1010));
	ok(mtimes_count(m) == 1, "a fourth path empties the table (got %zu)",
	   mtimes_count(m));
	ok(same(t, at(1010)),
	   "the new epoch is now: the fourth path's first sighting (got %ld)",
	   (long)t.tv_sec);
	t = mtimes_get(m, "/1");
	ok(t.tv_sec >= 1002,
	   "a forgotten path's time is never older than it was (got %ld)",
	   (long)t.tv_sec);
	t = mtimes_see(m, "/2", h("a"), at(1020));
	ok(same(t, at(1010)), "a forgotten path seen again: the new epoch");
	ok(mtimes_count(m) == 2, "two paths kept again");
	mtimes_free(m);
}

static void test_many(void)
{
	struct mtimes *m = mtimes_new(100000, at(1000));
	char path[64];
	int i, bad = 0;

	if (!ok(m != NULL, "new (room for 100000)"))
		return;
	for (i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/users/u%d@x/user.json", i);
		mtimes_see(m, path, h("a"), at(1001));
		mtimes_see(m, path, h(path), at(2000 + i));
	}
	ok(mtimes_count(m) == 20000,
	   "20000 paths kept while the table grows "
	   "(got %zu)",
	   mtimes_count(m));
	for (i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "/users/u%d@x/user.json", i);
		if (!same(mtimes_get(m, path), at(2000 + i)))
			bad++;
	}
	ok(bad == 0, "each path keeps its own time (%d wrong)", bad);
	mtimes_free(m);
	mtimes_free(NULL);
	ok(1, "free of NULL");
}

/* What getattr showed, and whether an open's content is still that. */
static void test_shown(void)
{
	struct mtimes *m = mtimes_new(100, at(1000));
	uint64_t a = h("A\n"), b = h("B\n");

	if (!ok(m != NULL, "new"))
		return;
	ok(!mtimes_shown(m, "/f", a, 0), "nothing shown yet");
	mtimes_see(m, "/f", a, at(1001));
	ok(!mtimes_shown(m, "/f", a, 0), "seen by an open, not shown");
	mtimes_show(m, "/f", a, 2, at(1002), 0);
	ok(mtimes_shown(m, "/f", a, 0), "shown by getattr");
	ok(!mtimes_shown(m, "/f", b, 0), "... that content only");
	mtimes_see(m, "/f", a, at(1003));
	ok(mtimes_shown(m, "/f", a, 0),
	   "seeing the same content keeps it shown");
	mtimes_see(m, "/f", b, at(1004));
	ok(!mtimes_shown(m, "/f", b, 0) && !mtimes_shown(m, "/f", a, 0),
	   "other content seen: neither is shown");
	mtimes_see(m, "/f", a, at(1005));
	ok(!mtimes_shown(m, "/f", a, 0),
	   "and back to the first: not shown (a newer sighting ended it)");
	mtimes_show(m, "/f", a, 2, at(1006), 0);
	mtimes_unshow(m, "/f");
	ok(!mtimes_shown(m, "/f", a, 0), "unshown");
	mtimes_show(m, "/f", a, 2, at(1007), 0);
	mtimes_touch(m, "/f", at(1008));
	ok(!mtimes_shown(m, "/f", a, 0), "touched");
	mtimes_free(m);
}

/* The stamp a shown content was last known current at (mtimes_current):
 * what lets an open skip rendering. */
static void test_current(void)
{
	struct mtimes *m = mtimes_new(100, at(1000));
	uint64_t a = h("A\n"), b = h("B\n");

	if (!ok(m != NULL, "new"))
		return;
	ok(!mtimes_current(m, "/f", 7, NULL, NULL),
	   "current: nothing shown yet");
	mtimes_see(m, "/f", a, at(1001));
	ok(!mtimes_current(m, "/f", 7, NULL, NULL),
	   "current: seen by an open is not shown");
	mtimes_show(m, "/f", a, 2, at(1002), 7);
	ok(mtimes_current(m, "/f", 7, NULL, NULL),
	   "current: shown at stamp 7, asked at 7");
	ok(!mtimes_current(m, "/f", 8, NULL, NULL),
	   "... not at stamp 8 (something changed)");
	ok(!mtimes_current(m, "/f", 0, NULL, NULL),
	   "... never without a stamp (0)");
	ok(!mtimes_current(m, "/g", 7, NULL, NULL), "... nor for another path");
	{
		uint64_t hh = 0;
		size_t sz = 0;

		ok(mtimes_current(m, "/f", 7, &hh, &sz) && hh == a && sz == 2,
		   "current: the shown hash and size come with it (%zu)", sz);
		mtimes_show(m, "/big", a, (size_t)1 << 33, at(1002), 7);
		ok(mtimes_current(m, "/big", 7, NULL, NULL) &&
			   !mtimes_current(m, "/big", 7, NULL, &sz),
		   "a size beyond 32 bits: current, but no size to give");
	}
	ok(mtimes_shown(m, "/f", a, 8) &&
		   mtimes_current(m, "/f", 8, NULL, NULL),
	   "an open that rendered the shown content at 8 makes it current at "
	   "8");
	ok(!mtimes_current(m, "/f", 7, NULL, NULL), "... and no longer at 7");
	mtimes_see(m, "/f", b, at(1009)); /* an open rendered other content */
	ok(!mtimes_shown(m, "/f", b, 9) &&
		   !mtimes_current(m, "/f", 9, NULL, NULL),
	   "other content rendered at 9: not current at 9");
	ok(!mtimes_current(m, "/f", 8, NULL, NULL),
	   "... nor at 8 any more (a newer sighting)");
	mtimes_show(m, "/f", a, 2, at(1010), 10);
	mtimes_unshow(m, "/f");
	ok(!mtimes_current(m, "/f", 10, NULL, NULL), "unshown: not current");
	mtimes_show(m, "/f", a, 2, at(1011), 11);
	mtimes_touch(m, "/f", at(1012));
	ok(!mtimes_current(m, "/f", 11, NULL, NULL), "touched: not current");
	mtimes_free(m);
}

int main(void)
{
	test_current();
	test_sightings();
	test_hashes();
	test_bound();
	test_many();
	test_shown();
	return done_testing();
}

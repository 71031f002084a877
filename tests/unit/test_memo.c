/*
 * test_memo: a rendered file is handed back while it is young and no
 * change was made since; not after `keep` seconds, not under another
 * change count, not for another key; the oldest slot goes first; large
 * contents are not kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "memo.h"
#include "tap.h"

/* memo_get into a fresh buffer: 1 and *got == want when found. */
static int got(const char *key, unsigned long changes, double now,
	       const char *want)
{
	struct buf b = {0};
	int r = memo_get(key, changes, now, 1.0, &b);
	int same =
		r == 1 && b.len == strlen(want) && !memcmp(b.data, want, b.len);

	buf_free(&b);
	return r == 1 ? (same ? 1 : -1) : r;
}

int main(void)
{
	char key[32];
	char *big;
	int i;

	memo_put("a", 7, 100.0, "alpha\n", 6);
	ok(got("a", 7, 100.5, "alpha\n") == 1,
	   "young, same change count: kept");
	ok(got("a", 7, 101.0, "alpha\n") == 0, "after keep seconds: gone");
	ok(got("a", 8, 100.5, "alpha\n") == 0, "after a change: gone");
	ok(got("b", 7, 100.5, "alpha\n") == 0, "another key: nothing");
	ok(got("a", 7, 99.0, "alpha\n") == 0,
	   "a clock before the render: nothing");

	memo_put("a", 7, 100.2, "beta\n", 5);
	ok(got("a", 7, 100.5, "beta\n") == 1, "a new render replaces the old");

	for (i = 0; i < MEMO_SLOTS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		memo_put(key, 7, 100.0, "x", 1);
	}
	ok(got("a", 7, 100.5, "beta\n") == 0,
	   "%d more keys: the oldest slot was reused", MEMO_SLOTS);
	ok(got("k0", 7, 100.5, "x") == 1 && got("k63", 7, 100.5, "x") == 1,
	   "the newest %d are all there", MEMO_SLOTS);

	big = calloc(MEMO_MAX_LEN + 1, 1);
	if (big) {
		memset(big, 'y', MEMO_MAX_LEN);
		memo_put("big", 7, 100.0, big, MEMO_MAX_LEN + 1);
		ok(got("big", 7, 100.5, "") == 0,
		   "a content over the cap is not kept");
		free(big);
	}
	memo_put("empty", 7, 100.0, "", 0);
	ok(got("empty", 7, 100.5, "") == 1, "an empty file is kept too");
	memo_clear();
	ok(got("k1", 7, 100.5, "x") == 0, "memo_clear drops everything");
	return done_testing();
}

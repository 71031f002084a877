/*
 * test_pacer: the learned rate of one endpoint class, on a clock the test
 * drives (no network, no sleeping): unlimited at first, a refusal holds
 * every caller past Retry-After and cuts the rate, the rate recovers
 * without further refusals, the ceiling holds, and no slot is reserved
 * at or past the caller's deadline.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "pacer.h"
#include "tap.h"

/* Most slots of `s` in any window [t, t + len). */
static int max_in_window(const double *s, int n, double len)
{
	int i, j, most = 0;

	for (i = 0; i < n; i++) {
		for (j = i; j < n && s[j] < s[i] + len; j++)
			;
		if (j - i > most)
			most = j - i;
	}
	return most;
}

static int near(double a, double b)
{
	return fabs(a - b) < 0.01;
}

static void test_unlimited(void)
{
	struct pacer *p = pacer_new(0);
	double slot = -1;
	int i, late = 0;

	for (i = 0; i < 500; i++)
		if (pacer_reserve(p, 5.0, 10.0, &slot) != i || slot != 5.0)
			late++;
	ok(late == 0, "no ceiling, no refusal: 500 requests all go at once");
	ok(pacer_rate(p, 5.0) == 0, "the rate is reported as unlimited (0)");
	pacer_free(p);
}

static void test_ceiling(void)
{
	struct pacer *p = pacer_new(5);
	double s[40];
	int i, bad = 0;

	for (i = 0; i < 40; i++)
		bad |= pacer_reserve(p, 0, 100, &s[i]) != i;
	ok(!bad, "40 reservations under a ceiling of 5/s");
	ok(s[4] == 0 && s[5] > 1.0, "a burst of 5, the 6th after the window");
	ok(max_in_window(s, 40, 1.0) <= 5,
	   "at most 5 in any 1 s window (got %d)", max_in_window(s, 40, 1.0));
	ok(s[39] >= 7 && s[39] <= 7 * 1.05,
	   "40 take 7 s (7 windows after the first burst) to 1.05 times it "
	   "(%.2f)",
	   s[39]);
	ok(pacer_rate(p, 0) == 5, "the rate in force is the ceiling");
	pacer_free(p);
}

/* The 5th slot of a burst at a ceiling of 4/s after a quiet spell at t:
 * how long after the 1st it may go (the window with its slack). */
static double window_at(struct pacer *p, double t)
{
	double first = 0, slot = 0;
	int i;

	for (i = 0; i < 5; i++) {
		if (pacer_reserve(p, t, t + 100, &slot) < 0)
			return -1;
		if (i == 0)
			first = slot;
	}
	return slot - first;
}

/* At a ceiling of 4/s (course progress), 100 requests take at most 1.05
 * times the 24 s floor; a refusal at the ceiling widens the slack: the
 * network's jitter is then known to be there. */
static void test_slack(void)
{
	struct pacer *p = pacer_new(4);
	double s[100], w0, w1;
	int i, bad = 0;

	for (i = 0; i < 100; i++)
		bad |= pacer_reserve(p, 0, 1000, &s[i]) < 0;
	ok(!bad && s[99] >= 24 && s[99] <= 24 * 1.05,
	   "100 at a ceiling of 4/s go within 1.05 times the floor (%.2f s)",
	   s[99]);
	ok(max_in_window(s, 100, 1.0) <= 4, "at most 4 in any 1 s window");
	w0 = window_at(p, 100);
	ok(near(w0, 1.04), "the window is 1.04 s (%.3f)", w0);
	pacer_refused(p, w0 + 100, w0 + 100.05, 0, 1);
	/* long after: the learned rate is past the ceiling again */
	w1 = window_at(p, 5000);
	ok(w1 > w0 + 0.025 && w1 < w0 + 0.035,
	   "after a refusal at the ceiling, the slack doubles (%.3f s)", w1);
	pacer_free(p);
}

/* A request that leaves late (it waited for a connection, or its thread was
 * not scheduled) moves the window: the one reserved n later keeps the rate
 * from when it really left, not from its slot. */
static void test_departed_late(void)
{
	struct pacer *p = pacer_new(1), *q = pacer_new(1);
	double a[3], b[2], slot;
	long ida, idb;
	int bad = 0, i;

	ida = pacer_reserve(p, 0, 100, &a[0]);
	idb = pacer_reserve(q, 0, 100, &b[0]);
	bad |= ida != 0 || idb != 0;
	pacer_departed(p, ida, 0.5); /* it left half a second late */
	pacer_departed(q, idb, 0.0); /* control: on time */
	bad |= pacer_reserve(p, 0, 100, &a[1]) != 1;
	bad |= pacer_reserve(q, 0, 100, &b[1]) != 1;
	ok(!bad, "two reservations each at a ceiling of 1/s, numbered 0, 1");
	ok(b[1] > 1.0 && b[1] < 1.2,
	   "control: on time, the next goes a window after the slot (%.2f)",
	   b[1]);
	ok(a[1] > 1.5 && a[1] < 1.7,
	   "late, the next goes a window after it really left (%.2f)", a[1]);
	pacer_departed(p, 42, 50.0);
	pacer_departed(p, -1, 50.0);
	bad = pacer_reserve(p, 0, 100, &a[2]) != 2;
	ok(!bad && a[2] > a[1] && a[2] < a[1] + 1.2,
	   "a number never reserved is ignored (next %.2f)", a[2]);
	pacer_free(p);
	pacer_free(q);

	/* Unlimited: 1001 reservations at 0; the ring holds the last 1000,
	 * so number 0's place is number 1000's now. */
	p = pacer_new(0);
	for (i = 0; i <= 1000; i++)
		pacer_reserve(p, 0, 100, &slot);
	pacer_departed(p, 0, 50.0);
	ok(pacer_reserve(p, 0, 100, &slot) == 1001 && slot == 0,
	   "a number no longer in the ring is ignored (next %.2f)", slot);
	pacer_free(p);
}

/* Ten requests sent and answered in the first 30 ms, an 11th refused. */
static struct pacer *refused_after_burst(double ceiling)
{
	struct pacer *p = pacer_new(ceiling);
	double slot;
	int i;

	for (i = 0; i < 18; i++)
		pacer_reserve(p, i * 0.003, 100, &slot);
	for (i = 0; i < 10; i++)
		pacer_accepted(p, i * 0.003);
	pacer_refused(p, 0.033, 0.06, 1.0, 1);
	return p;
}

static void test_cut(void)
{
	struct pacer *p = refused_after_burst(0);
	double s[30], r;
	int i, early = 0;

	for (i = 0; i < 8; i++) {
		if (pacer_reserve(p, 0.07 + i * 0.01, 100, &s[i]) < 0 ||
		    s[i] < 1.06)
			early++;
	}
	ok(early == 0,
	   "after a 429 (Retry-After 1 s) every caller waits past "
	   "it (first slot %.3f)",
	   s[0]);
	r = pacer_rate(p, 1.06);
	ok(r == 7,
	   "the rate drops to 0.7x what got through in "
	   "the last second (10/s): %.2f",
	   r);
	for (i = 8; i < 30; i++)
		pacer_reserve(p, 1.06, 100, &s[i]);
	ok(max_in_window(s, 30, 1.0) <= 10,
	   "while it climbs back, never more in a second than got through "
	   "(%d)",
	   max_in_window(s, 30, 1.0));

	pacer_refused(p, 0.036, 0.07, 1.0, 1);
	ok(near(pacer_rate(p, 1.06), r),
	   "a refusal of a request sent before the cut does not cut again");
	pacer_accepted(p, 0.030);
	ok(pacer_rate(p, 3.06) == 11,
	   "an answer the refusal overtook still counts: back to %.0f/s, "
	   "not 10",
	   pacer_rate(p, 3.06));
	pacer_free(p);
}

static void test_recovery(void)
{
	struct pacer *p = refused_after_burst(0);
	double r1 = pacer_rate(p, 1.06), r2 = pacer_rate(p, 2.06);
	double r3 = pacer_rate(p, 3.06), r4 = pacer_rate(p, 13.06);
	double r5 = pacer_rate(p, 33.06), r6 = pacer_rate(p, 93.06);

	ok(r1 < r2 && r2 < r3, "the rate climbs back: %.2f, %.2f, %.2f", r1, r2,
	   r3);
	ok(r3 == 10, "to what got through, 2 s after the hold (%.2f)", r3);
	ok(r4 == r3, "and stays there a while: %.2f 10 s later", r4);
	ok(r5 == 11, "one more request per second 30 s later (%.2f)", r5);
	ok(r6 == 37, "and ever faster: %.0f/s 90 s later", r6);
	ok(pacer_rate(p, 400) == 0,
	   "without another refusal it is unlimited again (400 s later)");
	pacer_free(p);
}

/* pacer_describe's line, in a static buffer (NULL on failure). */
static const char *described(struct pacer *p, double now)
{
	static char line[200];
	struct buf b = {0};

	if (pacer_describe(p, now, &b))
		return NULL;
	snprintf(line, sizeof(line), "%s", b.data);
	buf_free(&b);
	return line;
}

static void test_ceiling_and_cut(void)
{
	struct pacer *p = refused_after_burst(4);
	const char *d;

	ok(pacer_rate(p, 1.06) == 2,
	   "under a ceiling of 4/s a refusal cuts from the ceiling: %.2f",
	   pacer_rate(p, 1.06));
	ok(pacer_rate(p, 200) == 4, "and recovers to the ceiling, not above");
	d = described(p, 1.06);
	ok(d && strncmp(d, "2.00/s (learned: 1 cut", 22) == 0, "describe: %s",
	   d);
	d = described(p, 200);
	ok(d && strcmp(d, "4.00/s (the ceiling)") == 0, "describe: %s", d);
	pacer_free(p);

	p = pacer_new(0);
	d = described(p, 0);
	ok(d && strcmp(d, "unlimited") == 0, "describe: %s", d);
	pacer_free(p);
}

static void test_no_cut(void)
{
	struct pacer *p = pacer_new(0);
	double slot = -1;
	long rc;

	pacer_refused(p, 0, 0.1, 2.0, 0);
	rc = pacer_reserve(p, 0.2, 10, &slot);
	ok(rc >= 0 && slot >= 2.1,
	   "a 503 without Retry-After holds every caller (slot %.2f)", slot);
	ok(pacer_rate(p, 3) == 0, "but does not cut the rate");
	pacer_free(p);
}

/* Every request of a burst refused: no answer says what got through. */
static void test_nothing_through(void)
{
	struct pacer *p = pacer_new(0);
	double slot;
	int i;

	for (i = 0; i < 6; i++)
		pacer_reserve(p, 0.1 * i, 100, &slot);
	pacer_refused(p, 0.5, 0.55, 1.0, 1);
	ok(pacer_rate(p, 1.55) == 3,
	   "a refusal no answer explains: 0.7x what was sent before it in "
	   "that second (5), %.2f",
	   pacer_rate(p, 1.55));
	pacer_accepted(p, 0.2);
	ok(pacer_rate(p, 3.55) == 1,
	   "an answer that comes in later counts instead (%.2f)",
	   pacer_rate(p, 3.55));
	pacer_free(p);

	p = pacer_new(0);
	pacer_refused(p, 0, 0.05, 1.0, 1);
	ok(pacer_rate(p, 3.05) == 0.5,
	   "the first request refused: the floor of 0.5/s (%.2f)",
	   pacer_rate(p, 3.05));
	pacer_free(p);
}

/* A rate that held 5 s survives one refusal; a second one is believed. */
static void test_held(void)
{
	struct pacer *p = refused_after_burst(0);
	double slot;
	int i;

	pacer_refused(p, 20, 20.02, 1.0, 1);
	ok(pacer_rate(p, 21.02) == 7 && pacer_rate(p, 23.02) == 10,
	   "a refusal after 17 s at 10/s: cut to %.0f, back to %.0f/s",
	   pacer_rate(p, 21.02), pacer_rate(p, 23.02));
	for (i = 0; i < 5; i++) {
		pacer_reserve(p, 23.02, 100, &slot);
		pacer_accepted(p, slot);
	}
	pacer_refused(p, 23.6, 23.62, 1.0, 1);
	ok(pacer_rate(p, 26.62) == 5,
	   "a second refusal soon after: what got through counts (%.0f/s)",
	   pacer_rate(p, 26.62));
	pacer_free(p);
}

static void test_deadline(void)
{
	struct pacer *p = pacer_new(1);
	double a = -1, b = -1, c = -1;
	long rc;

	ok(pacer_reserve(p, 0, 5, &a) == 0 && a == 0,
	   "1/s: the first goes (number 0)");
	ok(pacer_reserve(p, 0, 0.5, &b) == -ETIMEDOUT,
	   "the next slot lies past a 0.5 s deadline: -ETIMEDOUT");
	rc = pacer_reserve(p, 0, 5, &c);
	ok(rc == 1 && c > 1.0 && c < 1.2,
	   "nothing was reserved by the refused call (number 1, slot %.2f)", c);
	pacer_refused(p, c, c + 0.02, 10, 1);
	ok(pacer_reserve(p, c + 0.03, c + 5, &b) == -EAGAIN,
	   "a Retry-After past the deadline: -EAGAIN, nothing sent");
	rc = pacer_reserve(p, c + 0.03, c + 20, &b);
	ok(rc == 2 && b >= c + 10.02,
	   "a later deadline gets a slot past the Retry-After (%.2f)", b);
	pacer_free(p);
}

/* The status lines http.c builds from its two pacers (nothing is sent). */
static void test_status_lines(void)
{
	struct http_config cfg = {.base_url = "http://127.0.0.1:9",
				  .api_key = "k",
				  .progress_rps = 4,
				  .max_conns = 1};
	struct http *h = http_new(&cfg);
	struct buf b = {0};

	if (!ok(h != NULL, "http_new without a network"))
		return;
	ok(!http_pacing_render(h, &b) && b.data &&
		   strcmp(b.data,
			  "pacing general: unlimited\n"
			  "pacing progress: 4.00/s (the ceiling)\n") == 0,
	   "status: one line per class");
	buf_free(&b);
	http_free(h);
}

int main(void)
{
	test_unlimited();
	test_ceiling();
	test_slack();
	test_departed_late();
	test_cut();
	test_recovery();
	test_ceiling_and_cut();
	test_no_cut();
	test_nothing_through();
	test_held();
	test_deadline();
	test_status_lines();
	return done_testing();
}

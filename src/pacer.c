/*
 * pacer: a reservation scheduler whose rate is learned from refusals.
 *
 * Scheduler. `slots` is a ring of the last PACER_MAX_BURST reserved send
 * times, in time order (a reservation never goes before the previous
 * one). For a rate r with n = max(1, floor(r)), the next slot is at least
 * the n-th most recent slot + n/r * PACER_MARGIN + slack: a server
 * counting requests in a sliding window of n/r seconds sees at most n.
 * The ring keeps enough history for any n, so a rate may change at any
 * moment without losing what was sent. Unlimited: the slot is now.
 * A learned rate differs from a ceiling in three ways: it is whole
 * requests per second (see rate_at); it gets the slack only, as the
 * server's answers correct it; and it is sent evenly, one slot per
 * window/n, because a burst of n reaches a busy server spread over a
 * hundred milliseconds or more, so its tail would still count in the
 * server's window when the next burst came in (a 429 at the very rate the
 * server accepted). A ceiling keeps the burst: it is a known limit.
 *
 * Learning. `accepted` is a ring of the send times of answered requests.
 * A refusal (the first since the last cut) of a request sent at time S
 * and answered at time A counts the answers to requests sent in
 * [S - 1 s, A): that is what the server let through in its window, m
 * (requests sent while the refused one was on its way may have reached the
 * server before it). The last good rate w_max is m per second (never above
 * the rate in force at S, and never below the rate in force 5 s before S
 * if no refusal came in between: a rate that held for that long is not
 * refuted by one refusal, which network jitter alone can cause; a second
 * one is believed), and the rate drops to PACER_BETA * w_max.
 * Answers that come in after the cut for requests sent in that span still
 * count: with many requests in flight, a refusal may overtake them.
 *
 * After the hold (Retry-After) the rate follows CUBIC's curve, in time t
 * since the hold ended:
 *   t < R:  w_max - (w_max - w_cut) * (1 - t/R)^3   back to w_max in R s
 *   t >= R: w_max + ((t - R) / P)^3                 one more request per
 *                                                    second after P s, 8
 *                                                    after 2P, 27 after 3P
 * The probe above w_max grows by absolute requests per second, not by a
 * share of w_max: for a server that counts requests per window, the next
 * refusal comes at one more request per window, whatever the rate; each
 * costs every caller a Retry-After, so the probe is slow near w_max and
 * fast far from it. Past PACER_MAX_BURST per second the class counts as
 * unlimited again.
 */
#include "pacer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define PACER_MAX_BURST 1000 /* per window; beyond it: unlimited */
#define PACER_MARGIN 1.01    /* window slack for network jitter */
/* Slack on top: a request's arrival at the server can lag its departure by
 * tens of milliseconds on a loaded machine or network, and a server's
 * sliding window then sees n+1 in one window (429). It starts small (at a
 * ceiling of 4/s the window is 1.04 s: 100 requests take 1.04 times the
 * floor) and doubles, up to PACER_SLACK_MAX_S, with every refusal of a
 * request sent at the ceiling: that jitter is then known to be there. */
#define PACER_SLACK_S 0.03
#define PACER_SLACK_MAX_S 0.24
#define PACER_BETA 0.7	    /* multiplicative decrease */
#define PACER_RECOVER_S 2.0 /* R: back to w_max after a cut */
#define PACER_PROBE_S 30.0  /* P: one request per second above w_max */
#define PACER_MIN_RPS 0.5   /* no cut goes below this */
#define PACER_MEASURE_S 1.0 /* the server's window, as far as we count */
#define PACER_HELD_S 5.0    /* a rate this long without refusal held */

struct pacer {
	pthread_mutex_t lock;
	double ceiling; /* 0: none */

	double slots[PACER_MAX_BURST]; /* ring of reserved send times */
	unsigned long nslots;	       /* reservations ever made */
	double not_before;	       /* Retry-After: nothing earlier */

	double accepted[PACER_MAX_BURST]; /* ring: send times answered */
	unsigned long naccepted;

	/* The last cut (cuts == 0: none yet; the ceiling or unlimited). */
	long cuts;
	double cut_at;		 /* the hold's end: the curve's origin */
	double cut_from, cut_to; /* [S - 1 s, A): see the top */
	double cut_cap;		 /* the rate in force at S (0: unlimited) */
	long cut_count;		 /* m: answers to requests sent in [from, to) */
	long cut_guess;		 /* used while m is 0: sends in [from, S) */
	double cut_held; /* the rate held before S (0: none), see the top */
	double w_max, w_cut;
	double slack; /* the window's slack in seconds, see PACER_SLACK_S */
};

/* ------------------------------------------------------------------ */
/* The rate                                                            */
/* ------------------------------------------------------------------ */

/* The learned rate at `now`, 0 when there is none (no cut yet). */
static double learned(const struct pacer *p, double now)
{
	double t = now - p->cut_at, x;

	if (!p->cuts)
		return 0;
	if (t < 0)
		t = 0;
	if (t < PACER_RECOVER_S) {
		x = 1 - t / PACER_RECOVER_S;
		return p->w_max - (p->w_max - p->w_cut) * x * x * x;
	}
	x = (t - PACER_RECOVER_S) / PACER_PROBE_S;
	return p->w_max + x * x * x;
}

/*
 * The rate in force at `now`, 0 when unlimited; *learnt says whether it is
 * the learned rate (else the ceiling or none). A learned rate of 1/s or
 * more is whole requests per second: a server counts whole requests per
 * window, and at r = 9.9 the scheduler would allow 9 in 0.93 s, then 9
 * more, so 11 or more in some single second: a 429 below the rate.
 */
static double rate_at(const struct pacer *p, double now, int *learnt)
{
	double r = learned(p, now);

	if (r >= PACER_MAX_BURST)
		r = 0;
	else if (r >= 1)
		r = floor(r);
	*learnt = r > 0 && !(p->ceiling > 0 && r >= p->ceiling);
	if (!*learnt && p->ceiling > 0)
		r = p->ceiling;
	return r;
}

/* The earliest slot at or after s that keeps the rate in force. */
static double next_slot(const struct pacer *p, double s)
{
	const double *ring = p->slots;
	double r, window, last = 0;
	int n, learnt;

	if (p->nslots) {
		last = ring[(p->nslots - 1) % PACER_MAX_BURST];
		s = fmax(s, last);
	}
	r = rate_at(p, s, &learnt);
	if (r <= 0)
		return s;
	n = r >= PACER_MAX_BURST ? PACER_MAX_BURST : r >= 2 ? (int)floor(r) : 1;
	/* A ceiling must hold by itself; a learned rate is corrected by the
	 * server's answers, so it needs no more than the fixed slack. */
	window = (double)n / r * (learnt ? 1 : PACER_MARGIN) + p->slack;
	if (p->nslots >= (unsigned long)n)
		s = fmax(s, ring[(p->nslots - n) % PACER_MAX_BURST] + window);
	if (learnt && p->nslots)
		s = fmax(s, last + window / n);
	return s;
}

/* Sets w_max and w_cut from cut_count and cut_cap. */
static void set_curve(struct pacer *p)
{
	long m = p->cut_count ? p->cut_count : p->cut_guess;
	double w = fmax((double)m / PACER_MEASURE_S, p->cut_held);

	if (p->cut_cap > 0 && w > p->cut_cap)
		w = p->cut_cap;
	p->w_max = fmax(w, PACER_MIN_RPS);
	p->w_cut = fmax(PACER_BETA * p->w_max, PACER_MIN_RPS);
}

/* Reserved sends in [from, to), for a refusal that no answer explains. */
static long count_in(const double *ring, unsigned long n, double from,
		     double to)
{
	unsigned long i, have = n < PACER_MAX_BURST ? n : PACER_MAX_BURST;
	long c = 0;

	for (i = 0; i < have; i++)
		if (ring[i] >= from && ring[i] < to)
			c++;
	return c;
}

/* ------------------------------------------------------------------ */
/* Public interface                                                    */
/* ------------------------------------------------------------------ */

struct pacer *pacer_new(double ceiling)
{
	struct pacer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (pthread_mutex_init(&p->lock, NULL)) {
		free(p);
		return NULL;
	}
	p->ceiling = ceiling > 0 ? ceiling : 0;
	p->slack = PACER_SLACK_S;
	return p;
}

void pacer_free(struct pacer *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

long pacer_reserve(struct pacer *p, double now, double deadline, double *slot)
{
	double s;
	long rc;

	pthread_mutex_lock(&p->lock);
	s = next_slot(p, fmax(now, p->not_before));
	if (s >= deadline) {
		/* Told to hold off past our deadline: that is the server's
		 * rate limit speaking, not a slow server. */
		rc = p->not_before >= deadline ? -EAGAIN : -ETIMEDOUT;
	} else {
		rc = (long)p->nslots;
		p->slots[p->nslots++ % PACER_MAX_BURST] = s;
		*slot = s;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void pacer_departed(struct pacer *p, long id, double now)
{
	unsigned long n = (unsigned long)id;
	double *e;

	if (id < 0)
		return;
	pthread_mutex_lock(&p->lock);
	/* Still in the ring: reserved, and not overwritten since. */
	if (n < p->nslots && p->nslots - n <= PACER_MAX_BURST) {
		e = &p->slots[n % PACER_MAX_BURST];
		if (now > *e)
			*e = now;
	}
	pthread_mutex_unlock(&p->lock);
}

void pacer_accepted(struct pacer *p, double sent)
{
	pthread_mutex_lock(&p->lock);
	p->accepted[p->naccepted++ % PACER_MAX_BURST] = sent;
	/* An answer the refusal overtook: the server's window held it. */
	if (p->cuts && sent >= p->cut_from && sent < p->cut_to) {
		p->cut_count++;
		set_curve(p);
	}
	pthread_mutex_unlock(&p->lock);
}

void pacer_refused(struct pacer *p, double sent, double now, double wait,
		   int cut)
{
	int learnt;

	pthread_mutex_lock(&p->lock);
	if (p->not_before < now + wait)
		p->not_before = now + wait;
	/* Sent before the last cut took effect: the same event. */
	if (cut && (!p->cuts || sent >= p->cut_at)) {
		p->cut_cap = rate_at(p, sent, &learnt);
		/* Refused at the ceiling, a known limit: the network's jitter
		 * is more than the slack allowed for. */
		if (!learnt && p->ceiling > 0)
			p->slack = fmin(2 * p->slack, PACER_SLACK_MAX_S);
		p->cut_held = 0;
		if (!p->cuts || p->cut_at <= sent - PACER_HELD_S)
			p->cut_held = rate_at(p, sent - PACER_HELD_S, &learnt);
		p->cut_from = sent - PACER_MEASURE_S;
		p->cut_to = now;
		p->cut_count =
			count_in(p->accepted, p->naccepted, p->cut_from, now);
		/* Nothing got through in that second: the server's window is
		 * longer, or another client fills it. Go below what was sent,
		 * at least. */
		p->cut_guess = count_in(p->slots, p->nslots, p->cut_from, sent);
		p->cut_at = fmax(now, p->not_before);
		p->cuts++;
		set_curve(p);
	}
	pthread_mutex_unlock(&p->lock);
}

double pacer_rate(struct pacer *p, double now)
{
	double r;

	int learnt;

	pthread_mutex_lock(&p->lock);
	r = rate_at(p, now, &learnt);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int pacer_describe(struct pacer *p, double now, struct buf *out)
{
	double r, since, ceiling;
	char cap[32] = "none";
	int learnt;
	long cuts;

	pthread_mutex_lock(&p->lock);
	r = rate_at(p, now, &learnt);
	ceiling = p->ceiling;
	cuts = p->cuts;
	since = fmax(now - p->cut_at, 0);
	pthread_mutex_unlock(&p->lock);

	if (!r)
		return buf_printf(out, "unlimited%s",
				  cuts ? " (the learned rate recovered)" : "");
	if (!learnt)
		return buf_printf(out, "%.2f/s (the ceiling)", r);
	if (ceiling)
		snprintf(cap, sizeof(cap), "%.2f/s", ceiling);
	return buf_printf(out,
			  "%.2f/s (learned: %ld cut%s, the last %.1f s ago; "
			  "ceiling %s)",
			  r, cuts, cuts == 1 ? "" : "s", since, cap);
}

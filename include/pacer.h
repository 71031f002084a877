/*
 * pacer: when the next request of one endpoint class may go, learned from
 * the server's refusals.
 *
 * One struct pacer per endpoint class (http.c keeps one for the general
 * endpoints, one for course progress). The API's limits are unpublished,
 * so no rate is fixed in advance:
 *   - at first requests go as fast as the callers' parallelism allows
 *     (or at the ceiling, when one is given: max_rps, progress_rps);
 *   - a refusal (429, or 503 with Retry-After) holds every caller of the
 *     class until Retry-After has passed, and cuts the rate to 0.7 times
 *     what the server accepted in the second before the refused request
 *     was sent (multiplicative decrease). One cut per congestion event:
 *     refusals of requests sent before the cut do not cut again;
 *   - then the rate climbs back to that accepted rate within a few
 *     seconds and probes above it, slowly at first and ever faster (the
 *     two halves of CUBIC's curve), until it is unlimited again or the
 *     next refusal cuts it;
 *   - the ceiling is never exceeded, whatever was learned.
 * A rate r is kept by a reservation scheduler: at most n = max(1,
 * floor(r)) requests in any window of n/r seconds (plus slack for network
 * jitter: 30 ms at first, doubled by each refusal at the ceiling, up to
 * 240 ms), so a burst of n after a quiet spell, then the steady rate. A
 * sliding-window limiter (the usual server side) then never sees n+1 in
 * one window; a token bucket of burst n would let 2n through.
 *
 * What it does NOT do: send, sleep, retry, read a clock or decide what
 * counts as a refusal (http.c does all that). Every call takes `now` in
 * seconds on one monotonic clock (mono_now() in http.c; any clock in the
 * unit tests). Thread-safe: any call from any thread, at any time.
 */
#ifndef MSFS_PACER_H
#define MSFS_PACER_H

#include "buf.h"

struct pacer;

/* A pacer capped at `ceiling` requests per second (<= 0: no ceiling).
 * NULL on ENOMEM. */
struct pacer *pacer_new(double ceiling);
void pacer_free(struct pacer *p);

/*
 * Reserves the class's next send time, at or after now, sets *slot to it
 * and returns the reservation's number (0, 1, 2... in the order they are
 * made; pacer_departed takes it): the caller sleeps until *slot, then
 * sends. When that time would be at or past `deadline`, nothing is
 * reserved and the call returns -EAGAIN if a refusal's Retry-After holds
 * it back that long, else -ETIMEDOUT. Reserved times never decrease.
 */
long pacer_reserve(struct pacer *p, double now, double deadline, double *slot);

/*
 * The request of reservation number `id` leaves only now (`now` after its
 * slot: the caller waited for a connection, or was not scheduled in
 * time, which on a loaded machine can be hundreds of milliseconds). Later
 * reservations count the window from when it really left, so a late
 * request and the ones reserved after it never reach the server closer
 * together than the rate allows. A number no longer among the last
 * reservations kept (or never returned) is ignored.
 */
void pacer_departed(struct pacer *p, long id, double now);

/* The server answered (not a refusal) the request reserved at `sent`. */
void pacer_accepted(struct pacer *p, double sent);

/*
 * The server refused the request reserved at `sent`, at time `now`,
 * asking for `wait` seconds: no request of the class is reserved before
 * now + wait. With `cut`, the rate is also cut (once per event, see
 * above): http.c passes it for a 429, and for a 503 with Retry-After.
 */
void pacer_refused(struct pacer *p, double sent, double now, double wait,
		   int cut);

/* The rate in force at `now`: requests per second, 0 when unlimited. */
double pacer_rate(struct pacer *p, double now);

/* Appends one line's worth (no newline) on the rate in force at `now`:
 * "unlimited", "4.00/s (the ceiling)", or "7.21/s (learned: 2 cuts, the
 * last 3.5 s ago; ceiling none)". The rate comes first, so scripts can
 * take the first word. Returns 0 or -ENOMEM. */
int pacer_describe(struct pacer *p, double now, struct buf *out);

#endif

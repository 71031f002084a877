/*
 * clock: the one clock every module measures time with.
 *
 * mono_now() is CLOCK_MONOTONIC in seconds, as a double: it never jumps
 * with the wall clock (NTP, date -s), so TTLs, deadlines, pacing windows
 * and deletion budgets hold across a clock change. The value is always
 * positive (the clock counts from boot), so 0 can mark "never".
 * Thread-safe; no state.
 */
#ifndef MSFS_CLOCK_H
#define MSFS_CLOCK_H

/* Seconds on CLOCK_MONOTONIC. */
double mono_now(void);

#endif

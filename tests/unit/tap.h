/*
 * tap.h: a minimal TAP producer for the unit tests.
 *
 * Usage:
 *	#include "tap.h"
 *	int main(void)
 *	{
 *		ok(1 + 1 == 2, "addition works");
 *		ok(x == 3, "x is 3 (got %d)", x);
 *		return done_testing();
 *	}
 *
 * ok() prints "ok N - desc" or "not ok N - desc" (with the file and line of
 * a failure as a "#" diagnostic) and evaluates to the truth of the
 * condition, so a test can stop early: `if (!ok(p != NULL, "...")) ...`.
 * diag() prints a "# ..." comment line. done_testing() prints the plan
 * "1..N" and returns the exit status: 0 when every test passed, 1
 * otherwise. Header-only and single-threaded: call ok() from the main
 * thread only. Each test program includes it exactly once.
 */
#ifndef MSFS_TAP_H
#define MSFS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run_;
static int tap_failed_;

static int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), unused));
static void diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), unused));
static int done_testing(void) __attribute__((unused));

static int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_run_++;
	if (!cond)
		tap_failed_++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run_);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Prints the plan; returns the process exit status. */
static int done_testing(void)
{
	printf("1..%d\n", tap_run_);
	if (tap_failed_)
		printf("# failed %d of %d tests\n", tap_failed_, tap_run_);
	fflush(stdout);
	return tap_failed_ ? 1 : 0;
}

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* String equality that treats NULL as distinct from every string. */
#define tap_streq(a, b) ((a) != NULL && (b) != NULL && strcmp((a), (b)) == 0)

#endif

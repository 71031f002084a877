/*
 * errlog: the mount's record of recent failures, shown in
 * .memberspot/errors.
 *
 * A bounded ring (the newest ERRLOG_KEEP entries) of one-line reasons:
 * time, operation or API path, HTTP status (0 when none) and a readable
 * message. Thread-safe. Entries never contain the API key: callers pass
 * paths and server messages, never headers.
 */
#ifndef MSFS_ERRLOG_H
#define MSFS_ERRLOG_H

#include "buf.h"

#define ERRLOG_KEEP 200

/* Records one failure. `where` is an API path ("GET /v1/users/...") or a
 * mount path ("/users/x/offers/y"); status is the HTTP status or 0. */
void errlog_add(const char *where, long status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records one failure as errlog_add does, or, when *id names an entry
 * still held, rewrites that entry in place (its time, place and order
 * kept): one line that keeps a running count, for a burst of refusals.
 * *id is 0 for "none yet" and is set to the entry written. The caller
 * serialises calls that share an id. */
void errlog_note(unsigned long *id, const char *where, long status,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends the log as text, oldest first, one entry per line:
 * "2026-11-27T17:40:06Z GET /v1/offers 500 message". Returns 0 or -ENOMEM. */
int errlog_render(struct buf *out);
/* Drops every entry (tests and unmount). */
void errlog_clear(void);

#endif

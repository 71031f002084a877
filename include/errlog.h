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
/* Appends the log as text, oldest first, one entry per line:
 * "2026-11-27T17:40:06Z GET /v1/offers 500 message". Returns 0 or -ENOMEM. */
int errlog_render(struct buf *out);
/* Drops every entry (tests and unmount). */
void errlog_clear(void);

#endif

/*
 * journal: every change sent to the API and its outcome, as JSON lines.
 *
 * One line per change: {"time","op","args":{...},"outcome":"ok"|"error",
 * "errno"?,"message"?,"response"?}: args is the request body as built
 * (api_result.sent), or for an input line refused before any request
 * {"line","text","reason"}; a failure adds its errno's name ("EIO") and
 * strerror text, and response is the server's answer when there was one.
 * There is no HTTP status: errlog has it. Before a deletion the member's
 * last known record is written as {"op":"delete-snapshot","user":{...}},
 * on disk (fdatasync) before journal_snapshot returns. Under -o dry_run a
 * change is {"op","args","outcome":"dry-run","request":{...}}: the request
 * that was not sent. Lines go to a file (opened O_NOFOLLOW; created 0600,
 * parent directories made 0700; an existing one open to group or others,
 * or not a regular file, is refused) and are kept in memory (the newest
 * JOURNAL_KEEP bytes) for .memberspot/journal. The file never keeps part
 * of a line. The key is never passed in and so never written. Thread-safe.
 *
 * The file is locked while the journal is open: a second journal_open of
 * it (another daemon, or this one) waits up to JOURNAL_LOCK_WAIT_MS for
 * the holder to close it, then fails with -EBUSY.
 */
#ifndef MSFS_JOURNAL_H
#define MSFS_JOURNAL_H

#include <cjson/cJSON.h>

#include "buf.h"

#define JOURNAL_KEEP (1u << 20)
#define JOURNAL_LOCK_WAIT_MS 2000

struct journal;

/* path may be NULL or "/dev/null" (memory only). Returns NULL and sets *err
 * (-errno) when the file cannot be opened or is refused (-ELOOP a symlink,
 * -EINVAL not a regular file, -EPERM open to group or others, -EBUSY
 * locked by another open journal); why (may be NULL) then gets the
 * readable reason. */
struct journal *journal_open(const char *path, int *err, struct buf *why);
void journal_close(struct journal *j);
/* 1 when lines go to a file, 0 when they are kept in memory only. */
int journal_has_file(const struct journal *j);
/* Writes one line. args and response are not consumed (may be NULL).
 * err is 0 or -errno. A failed write is errlog's to report. */
void journal_change(struct journal *j, const char *op, const cJSON *args,
		    int err, const cJSON *response);
/* The record about to be lost, written and fdatasync'd. 0, or -EIO when
 * it is not on disk (the reason in errlog; the line is not kept in memory
 * either), -ENOMEM. A memory-only journal always takes it. */
int journal_snapshot(struct journal *j, const char *op, const cJSON *record);
/* A change not sent (-o dry_run): args as journal_change, request the
 * request it would have been ({"method","path","body"?}). Neither is
 * consumed. 0, or -EIO when the file could not take it, -ENOMEM. */
int journal_dry_run(struct journal *j, const char *op, const cJSON *args,
		    const cJSON *request);
/* Appends the in-memory journal. 0 or -ENOMEM. */
int journal_render(struct journal *j, struct buf *out);
/* The default path: $XDG_STATE_HOME/memberspotfs/journal.jsonl, or
 * ~/.local/state/memberspotfs/journal.jsonl. malloc'd or NULL. */
char *journal_default_path(void);

#endif

/*
 * journal: every change sent to the API and its outcome, as JSON lines.
 *
 * One line per change: {"time","op","args":{...},"outcome":"ok"|"error",
 * "errno","status","message"?,"response"?}. Before a deletion the member's
 * last known record is written as {"op":"delete-snapshot","user":{...}}.
 * Lines go to a file (created 0600, parent directories made 0700) and are
 * kept in memory (the newest JOURNAL_KEEP bytes) for .memberspot/journal.
 * The key is never passed in and so never written. Thread-safe.
 *
 * The file is locked while the journal is open: a second journal_open of
 * it (another daemon, or this one) waits up to JOURNAL_LOCK_WAIT_MS for
 * the holder to close it, then fails with -EBUSY. A path that is not a
 * regular file (/dev/null) is opened without a lock.
 */
#ifndef MSFS_JOURNAL_H
#define MSFS_JOURNAL_H

#include <cjson/cJSON.h>

#include "buf.h"

#define JOURNAL_KEEP (1u << 20)
#define JOURNAL_LOCK_WAIT_MS 2000

struct journal;

/* path may be NULL (memory only). Returns NULL and sets *err (-errno)
 * when the file cannot be opened; -EBUSY when another open journal holds
 * its lock. */
struct journal *journal_open(const char *path, int *err);
void journal_close(struct journal *j);
/* Writes one line. args and response are not consumed (may be NULL).
 * err is 0 or -errno. */
void journal_change(struct journal *j, const char *op, const cJSON *args,
		    int err, const cJSON *response);
void journal_snapshot(struct journal *j, const char *op, const cJSON *record);
/* Appends the in-memory journal. 0 or -ENOMEM. */
int journal_render(struct journal *j, struct buf *out);
/* The default path: $XDG_STATE_HOME/memberspotfs/journal.jsonl, or
 * ~/.local/state/memberspotfs/journal.jsonl. malloc'd or NULL. */
char *journal_default_path(void);

#endif

/*
 * bases: what each process last read of each editable file, so a save
 * can be judged against the content its writer started from ("no lost
 * updates", LAYOUT.md).
 *
 * An editor reads a file when it opens it and writes it back much later,
 * through a new open or a rename over it, from the same process. So the
 * content a process reads (the rendered file, as the read was served) is
 * kept here under (mount path, pid), for BASES_KEEP seconds; a save by
 * that process finds it and sends only what differs from it, and refuses
 * (ESTALE) when the server meanwhile changed what it changes. A process
 * that never read the file has no base: its save is judged as before.
 *
 * Bounded: at most BASES_MAX entries, the least recently noted dropped
 * first; a lost base only makes a save judged without one. It does NOT
 * know what the content means, nor talk to the API. Thread-safe.
 */
#ifndef MSFS_BASES_H
#define MSFS_BASES_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define BASES_KEEP 3600.0 /* seconds */
#define BASES_MAX 256

struct bases;

struct bases *bases_new(void);
void bases_free(struct bases *b); /* NULL is fine */

/* Remembers data[0..len) as what pid last read of path (or, after a save,
 * the content it saved). 0 or -ENOMEM. */
int bases_note(struct bases *b, const char *path, pid_t pid,
	       const char *data, size_t len);
/* 1 with a copy of pid's base of path appended to out, 0 when there is
 * none (never read, or forgotten), -ENOMEM. now is the monotonic clock
 * in seconds (cache_now()), for expiry. */
int bases_get(struct bases *b, const char *path, pid_t pid, double now,
	      struct buf *out);
/* Drops every base of path and of the paths below it (a member deleted,
 * a directory dropped). */
void bases_forget(struct bases *b, const char *path);
/* Entries held (tests). */
size_t bases_count(struct bases *b);

#endif

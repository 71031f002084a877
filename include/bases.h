/*
 * bases: what each process last read of each editable file, so a save
 * can be judged against the content its writer started from ("no lost
 * updates", LAYOUT.md).
 *
 * An editor reads a file when it opens it and writes it back much later,
 * through a new open or a rename over it, from the same process. So the
 * content a process first reads (the rendered file, as the read was
 * served) is kept here under (mount path, pid), for BASES_KEEP seconds,
 * until the process saves (then the saved content is its base); a save by
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

/* A process is named by `who`: its pid and its start time together
 * (bases_who), so a new process that is given an old pid is not taken for
 * the old one. */
#define BASES_MAX 256

struct bases;

/* The identity of process pid now: its pid and start time (from
 * /proc/PID/stat; the pid alone when that cannot be read). */
unsigned long long bases_who(pid_t pid);

struct bases *bases_new(void);
void bases_free(struct bases *b); /* NULL is fine */

/* Remembers data[0..len) as pid's base of path: the content it saved
 * (after a save), or with first set, what it read, unless it has a base
 * already. An editor's first read is what its user edits; later reads by
 * the same process (vim's backup copy, made just before it writes) must
 * not move the base past changes made elsewhere. 0 or -ENOMEM. */
int bases_note(struct bases *b, const char *path, unsigned long long who,
	       const char *data, size_t len, int first);
/* 1 with a copy of pid's base of path appended to out, 0 when there is
 * none (never read, or forgotten), -ENOMEM. now is the monotonic clock
 * in seconds (mono_now()), for expiry. */
int bases_get(struct bases *b, const char *path, unsigned long long who,
	      double now, struct buf *out);
/* Drops every base of path and of the paths below it (a member deleted,
 * a directory dropped). */
void bases_forget(struct bases *b, const char *path);
/* Entries held (tests). */
size_t bases_count(struct bases *b);

#endif

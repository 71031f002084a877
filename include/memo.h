/*
 * memo: the files rendered a moment ago, so that one `cat` (a stat, then
 * an open and its reads) renders a file once instead of twice.
 *
 * An entry is the rendered content under a key (views.c: the school, the
 * node kind and its identifiers) with the school's version and the time
 * it was rendered. memo_get hands it back only while it is younger than
 * `keep` seconds and the version is still the same: any change made
 * through the mount, any refresh and anything the caches store or drop
 * moves it (school_version()), so what a change touched is never served
 * from here.
 * A change on the server shows once the cached value it came from expires
 * (cache_ttl), and then within `keep` more seconds: the same second the
 * kernel keeps attributes (fs.c).
 *
 * A small fixed number of slots (MEMO_SLOTS), reused oldest first: enough
 * for the files being opened right now, never a copy of the school.
 * Contents larger than MEMO_MAX_LEN are not kept. Thread-safe.
 */
#ifndef MSFS_MEMO_H
#define MSFS_MEMO_H

#include <stddef.h>

#include "buf.h"

#define MEMO_SLOTS 64
#define MEMO_MAX_LEN (256 * 1024)

/* Appends the content kept under key to out and returns 1; 0 when there
 * is none young enough (or under another change count); -ENOMEM. */
int memo_get(const char *key, unsigned long changes, double now, double keep,
	     struct buf *out);
/* Keeps a copy of data under key (replacing any). Out of memory or too
 * large: nothing is kept, which only costs a render. */
void memo_put(const char *key, unsigned long changes, double now,
	      const char *data, size_t len);
/* Drops every entry (tests; a mount going away). */
void memo_clear(void);

#endif

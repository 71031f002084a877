/*
 * mtimes: when the content under each path last changed, as this mount
 * saw it (the mtime and ctime that getattr reports).
 *
 * The API gives no modification times for most of what the tree shows, and
 * a file is rendered anew on every stat, so the time is kept here: per
 * path, the hash of the content last seen there and the time it was first
 * seen with that hash. `rsync -a` (size and mtime), `find -newer`, `make`
 * and editors then see a change exactly when the content changed.
 *
 * - mtimes_see: the content of path was rendered (a stat, an open, a
 *   listing). A path seen for the first time gets the epoch (the mount's
 *   start), so a fresh mount does not make everything look new; content
 *   whose hash differs from the one stored gets `now`. Returns the time.
 * - mtimes_touch: a change made through the mount: `now`, with the hash
 *   unknown; the next sighting records the hash and keeps the time.
 * - mtimes_get: the stored time, or the epoch, for what is not rendered
 *   (a directory until it is listed, a file whose stat renders nothing).
 * - mtimes_show: a sighting by getattr, whose size and time the kernel now
 *   holds; mtimes_shown tells an open whether the content it rendered is
 *   still the one shown (so the kernel's cached pages and size are that
 *   content's: its page cache may serve it). A touch, an unshow (a write
 *   open: the kernel may cut its size) or a newer sighting end that.
 *
 * Memory: paths are not kept, only a 64-bit hash of each (the key) in a
 * 40-byte slot of a table at most 3/4 full (53 to 107 bytes a path), and
 * only for paths that were seen or touched. At most
 * max_entries are kept; one more forgets them all and makes the epoch
 * `now`: every time reported after that is at least as new as any before,
 * so a change is never hidden (rsync copies everything once more, find
 * -newer lists everything once), the cost is spurious changes. Two paths
 * whose keys collide share a slot, with the same effect (spurious changes
 * only). Hashes are not cryptographic: content made to collide on purpose
 * can keep its old time.
 *
 * Thread-safe (one mutex). No FUSE, no I/O, no clock: callers pass `now`.
 */
#ifndef MSFS_MTIMES_H
#define MSFS_MTIMES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct mtimes;

/* A table whose first sightings show `epoch`, keeping at most
 * max_entries paths (at least 1). NULL when out of memory. */
struct mtimes *mtimes_new(size_t max_entries, struct timespec epoch);
void mtimes_free(struct mtimes *m);

/* The hash of a file's content. */
uint64_t mtimes_hash(const void *data, size_t len);
/* The same hash taken in pieces (a file streamed chunk by chunk): start
 * from MTIMES_HASH_START, add each piece in order with mtimes_hash_more;
 * mtimes_hash_end(acc, total length) equals mtimes_hash of the whole. */
#define MTIMES_HASH_START 14695981039346656037ull
uint64_t mtimes_hash_more(uint64_t acc, const void *data, size_t len);
uint64_t mtimes_hash_end(uint64_t acc, size_t len);
/* Adds one name of a directory listing to acc (start from 0): the result
 * does not depend on the order in which the names come. */
uint64_t mtimes_hash_name(uint64_t acc, const char *name);

/* Content with this hash was seen under path at `now`; returns the time
 * its content last changed (see above). */
struct timespec mtimes_see(struct mtimes *m, const char *path, uint64_t hash,
			   struct timespec now);
/* mtimes_see by getattr: the kernel is shown this content's time and
 * size. stamp is the school's content stamp read before the content was
 * rendered (school.h: school_stamp; 0: none). */
struct timespec mtimes_show(struct mtimes *m, const char *path, uint64_t hash,
			    size_t size, struct timespec now,
			    unsigned long stamp);
/* 1 when hash is the content last shown at path and last seen there
 * (nothing touched, unshown or seen different since), else 0. When 1,
 * the content shown is known to be the content at `stamp` (read before
 * hash's content was rendered), which is kept for mtimes_current. */
int mtimes_shown(struct mtimes *m, const char *path, uint64_t hash,
		 unsigned long stamp);
/* 1 when path's content was shown and then last known to be shown content
 * at this very stamp (not 0): while the stamp has not moved, the content
 * is the kernel's, and an open need not render it to know, nor a stat to
 * learn its hash and size (set when not NULL; with size asked for, 0 when
 * the size did not fit the slot's 32 bits). */
int mtimes_current(struct mtimes *m, const char *path, unsigned long stamp,
		   uint64_t *hash, size_t *size);
/* What the kernel holds of path is no longer known to be shown content. */
void mtimes_unshow(struct mtimes *m, const char *path);
/* The content of path was changed through the mount at `now`. */
void mtimes_touch(struct mtimes *m, const char *path, struct timespec now);
/* The time path's content last changed, without a sighting: the epoch
 * when nothing is known of it. */
struct timespec mtimes_get(struct mtimes *m, const char *path);

/* Paths kept now (for tests). */
size_t mtimes_count(struct mtimes *m);

#endif

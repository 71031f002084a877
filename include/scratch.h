/*
 * scratch: editors' temporary files, held in memory.
 *
 * vim, nano, sed -i and friends create swap, backup and temporary files
 * next to the file they edit. In users/E/ any name that is not part of the
 * tree, and in users/E/properties/ an editor's temporary name
 * (scratch_editor_name), is such a scratch file: it lives here, keyed by
 * its full mount path, and never reaches the API. A rename of a scratch
 * file over an editable file is a save (handled by the caller).
 * Sizes are bounded (SCRATCH_MAX_FILE per file, SCRATCH_MAX_TOTAL in all)
 * so a runaway writer gets EFBIG/ENOSPC, not the machine's memory.
 * Thread-safe.
 */
#ifndef MSFS_SCRATCH_H
#define MSFS_SCRATCH_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define SCRATCH_MAX_FILE (4u << 20)
#define SCRATCH_MAX_TOTAL (64u << 20)

struct scratch;

struct scratch *scratch_new(void);
void scratch_free(struct scratch *s);

/* Creates an empty file (or truncates an existing one). 0 or -errno. */
int scratch_create(struct scratch *s, const char *path, mode_t mode);
/* 1 when present, with size and mode filled (either may be NULL). */
int scratch_stat(struct scratch *s, const char *path, size_t *size,
		 mode_t *mode);
/* Copies up to len bytes from off. Returns bytes read or -errno. */
long scratch_read(struct scratch *s, const char *path, char *out, size_t len,
		  off_t off);
/* Writes at off (extending with zeros). Returns bytes written or -errno
 * (-EFBIG, -ENOSPC, -ENOENT). */
long scratch_write(struct scratch *s, const char *path, const char *data,
		   size_t len, off_t off);
int scratch_truncate(struct scratch *s, const char *path, off_t size);
/* Whole content into out (appended). 0 or -ENOENT. */
int scratch_get(struct scratch *s, const char *path, struct buf *out);
/* Replaces the whole content. 0 or -errno. */
int scratch_set(struct scratch *s, const char *path, const char *data,
		size_t len, mode_t mode);
int scratch_chmod(struct scratch *s, const char *path, mode_t mode);
int scratch_unlink(struct scratch *s, const char *path);
int scratch_rename(struct scratch *s, const char *from, const char *to);
/* Calls fn for each scratch file directly inside dir ("/users/E"): name is
 * the last component. Stops and returns fn's non-zero return. */
int scratch_list(struct scratch *s, const char *dir,
		 int (*fn)(void *arg, const char *name), void *arg);
/* Drops every scratch file and unlinked name under dir (the member was
 * deleted). */
void scratch_drop_dir(struct scratch *s, const char *dir);

/*
 * Editors' temporary names: 1 when name (one path component) is a name
 * that vim, nano, sed -i, perl -i or emacs creates next to the file it
 * edits (swap, lock, backup, write test, in-place temporary). The one
 * table of them is in scratch.c. In users/E/properties/ only such names
 * can be scratch files.
 */
int scratch_editor_name(const char *name);

/*
 * Unlinked names. Removing an editable file changes nothing (the member
 * keeps its value), but tools that replace a file across filesystems
 * (mv from /tmp, cp --remove-destination) unlink it and then create it
 * with O_EXCL: for SCRATCH_UNLINKED_SECS after an unlink the name is
 * remembered here, looks absent, and a create of it opens the editable
 * file to be written whole. Bounded like the files (MAX_FILES names);
 * expired names are dropped as they are met.
 */
#define SCRATCH_UNLINKED_SECS 10
/* Remembers path as unlinked now. 0, -ENOSPC or -ENOMEM. */
int scratch_unlinked_add(struct scratch *s, const char *path);
/* 1 while path is remembered as unlinked. */
int scratch_unlinked(struct scratch *s, const char *path);
/* Like scratch_unlinked, and forgets it: the name is taken again. */
int scratch_unlinked_take(struct scratch *s, const char *path);

#endif

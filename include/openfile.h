/*
 * openfile: what the mount's calls on a file mean, without FUSE.
 *
 * fs.c translates each FUSE operation into one call here and returns its
 * errno; everything that decides what a write, a close or a rename does
 * lives in this module, so it can be tested without a mount:
 *
 * - An open file is a struct openfile: the file's rendered content (so a
 *   reader sees one version), or what is being written to it, under its own
 *   lock. A streamed file (the whole-school files) holds its stream and
 *   the piece being read instead: memory per open is a piece, not the
 *   file; a read before that piece builds again from the start. Writes collect
 * in it and are applied on flush, so close() reports a refused change; a write
 * that completes the content (a value file's newline, properties.json parsing
 * as an object) is applied at once, since shells ignore close() errors. Content
 * that can never become valid fails its write() and is never sent.
 * - Control files (grant, chapters, refresh) stream: each complete line
 *   runs as it arrives; a handle keeps only the unfinished line.
 * - O_TRUNC empties without sending: the first write (or the release of a
 *   file never written) sends, so `echo x > f` is one change.
 * - A created file (users/E/offers/O) exists only in its open handles until
 *   its content is applied; a dry run leaves it "being created" while open.
 * - Scratch files (editors' temporaries) live in scratch.h; a rename of one
 *   over an editable file is a save, a rename of an editable file to a
 *   scratch name copies it (vim's backup). An unlinked editable name takes
 *   a create for a while (mv from another filesystem).
 * - A save is judged against what the saving process first read (bases.h).
 * - Times: what changed through here touches mtimes.h; a change queues the
 *   affected paths through the invalidate callback.
 * - The kernel's caches: an open of a stable view whose content is what the
 *   last stat showed may be served from the page cache (openfile_cached);
 *   every other open is direct I/O, so a change, a refresh or an expiry
 *   is never hidden by a cached copy, whether or not an invalidation came.
 *   An open knows that without rendering when the content stamp (ops
 *   stamp) is the one the shown content was last rendered at: nothing
 *   cached, changed or expired since, so the kernel's copy is the
 *   content. Such a handle renders at its first read, which comes only
 *   when the kernel no longer holds the pages (opens_unrendered in
 *   .memberspot/status counts them).
 *
 * What it does NOT do: FUSE types, owners and shown modes (fs.c), talking
 * to the API (through struct openfile_ops, views.h's functions in the
 * mount, stubs in tests). All functions return 0 or -errno unless said.
 * Thread-safe: a handle has its own lock; the rest is scratch's, bases',
 * mtimes' and the ops' own thread safety.
 */
#ifndef MSFS_OPENFILE_H
#define MSFS_OPENFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "tree.h"
#include "views.h"

struct bases;
struct mtimes;
struct school;
struct scratch;

/* How files are read and written: views.h's functions in the mount
 * (openfile_school_ops); tests pass stubs. school is passed through. */
struct openfile_ops {
	int (*stat)(struct school *s, const char *path,
		    const struct tree_path *p, struct view_attr *a);
	int (*render)(struct school *s, const struct tree_path *p,
		      struct buf *out);
	int (*apply)(struct school *s, const char *path,
		     const struct tree_path *p, const char *data, size_t len,
		     const struct edit_base *base);
	int (*apply_create)(struct school *s, const char *path,
			    const struct tree_path *p, const char *data,
			    size_t len);
	int (*lines)(struct school *s, const char *path,
		     const struct tree_path *p, const char *data, size_t len,
		     struct edit_lines *res);
	int (*check_partial)(const char *path, const struct tree_path *p,
			     enum view_write w, const char *data, size_t len);
	int (*create)(struct school *s, const struct tree_path *p);
	int (*unlink)(struct school *s, const struct tree_path *p);
	int (*mkdir)(struct school *s, const struct tree_path *p);
	int (*rmdir)(struct school *s, const struct tree_path *p);
	/* Files read in pieces (views.h: view_stream_open); stream_open
	 * NULL (tests): every file is rendered whole. */
	int (*stream_open)(struct school *s, const struct tree_path *p,
			   struct view_stream **out);
	int (*stream_next)(struct view_stream *st, size_t want, struct buf *out,
			   int *end);
	void (*stream_free)(struct view_stream *st);
	/* The content stamp (school.h: school_stamp; 0: none). NULL (tests):
	 * no stamps, every open renders. */
	unsigned long (*stamp)(struct school *s);
};

/* view_stat, view_render, edit_apply, ... */
extern const struct openfile_ops openfile_school_ops;

/* What the open files work with. */
struct openfile_env {
	struct school *school; /* passed to ops; may be NULL in tests */
	const struct openfile_ops *ops;
	struct scratch *scratch;
	struct bases *bases;
	struct mtimes *mtimes; /* NULL: no times kept */
	int readonly;	       /* -o ro: EROFS for writes that would send */
	int dry_run;	       /* -o dry_run: created files stay "creating" */
	/* A path whose kernel-cached entry must be forgotten (may be NULL). */
	void (*invalidate)(void *arg, const char *path);
	void *invalidate_arg;
};

/* The env of a mounted school: its ops, scratch, bases and options;
 * mtimes and invalidate are left unset (NULL). */
void openfile_env_school(struct openfile_env *env, struct school *s);

struct openfiles;
struct openfile;

/* The kernel must forget what it holds of path alone (its attributes and
 * pages): for callers that name every path themselves (the school). */
void openfile_forget_path(struct openfiles *fs, const char *path);
/* The kernel must forget what it holds of path (through env.invalidate),
 * and, for a path of a member, of the member's files that show its record
 * (user.json, properties.json: a change to one changes them). The
 * school's changes and refreshes come through here too. */
void openfile_forget(struct openfiles *fs, const char *path);
/* openfile_forget, for a change that may have added path to its
 * directory's listing or removed it (a grant that created a member):
 * that directory's time moves now, not at its next listing, so a walk
 * that starts after the change (tar, rsync) sees one time throughout,
 * and the kernel forgets the directory's attributes too. */
void openfile_forget_entry(struct openfiles *fs, const char *path);

/* A copy of env is kept. NULL when out of memory. */
struct openfiles *openfiles_new(const struct openfile_env *env);
/* Frees fs and every handle not released: when the mount goes away with
 * files still open, the kernel sends no release for them (nothing of
 * theirs is applied). NULL is fine. */
void openfiles_free(struct openfiles *fs);
/* Handles open (not yet released). */
long openfiles_count(struct openfiles *fs);
const struct openfile_env *openfiles_env(const struct openfiles *fs);

/* --- paths --------------------------------------------------------------
 * pid is the calling process (for bases.h). */

/* Attributes of path as the mount shows it: a file being created exists,
 * an unlinked name does not (for now). With tp set, the parsed path is
 * left there (tree_path_free it) when 0 is returned. */
int openfile_lookup(struct openfiles *fs, const char *path,
		    struct tree_path *tp, struct view_attr *a);
/* Attributes for getattr: an open, written file shows what has been
 * written (h may be NULL), else openfile_lookup. */
int openfile_stat(struct openfiles *fs, struct openfile *h, const char *path,
		  struct view_attr *a);
/* When path's content last changed (mtimes.h): from the hash of what a
 * stat rendered, else what is known; the epoch without mtimes. */
struct timespec openfile_time(struct openfiles *fs, const char *path,
			      const struct view_attr *a);
/* Lists a directory (views.h's view_list) without the names unlinked a
 * moment ago; the listing's hash moves the directory's mtime. */
int openfile_list(struct openfiles *fs, const char *path, view_fill_fn fill,
		  void *arg);
/* truncate(2) and ftruncate(2) (h may be NULL): an open file's content
 * is cut, a closed file's is cut and applied now, as one change. */
int openfile_truncate(struct openfiles *fs, struct openfile *h,
		      const char *path, off_t size, pid_t pid);
int openfile_unlink(struct openfiles *fs, const char *path);
int openfile_mkdir(struct openfiles *fs, const char *path);
int openfile_rmdir(struct openfiles *fs, const char *path);
/* flags: RENAME_NOREPLACE (RENAME_EXCHANGE is EINVAL). */
int openfile_rename(struct openfiles *fs, const char *from, const char *to,
		    unsigned int flags, pid_t pid);
/* chmod of a scratch file (other files' modes are fs.c's to judge). */
int openfile_chmod_scratch(struct openfiles *fs, const char *path, mode_t mode);
/* utimens of a path not open: nothing changes; ENOENT unless a dry run
 * "created" it. */
int openfile_utimens(struct openfiles *fs, const char *path);

/* --- open files --------------------------------------------------------- */

/* Opens an existing file; flags are open(2)'s (O_ACCMODE, O_TRUNC,
 * O_APPEND). An O_CREAT open of a users/E/offers/O whose create came to
 * nothing a moment ago (the kernel still holds its entry) creates it. */
int openfile_open(struct openfiles *fs, const char *path, int flags, pid_t pid,
		  struct openfile **out);
/* O_CREAT: opens an existing file (EEXIST with O_EXCL), a name unlinked a
 * moment ago to be written whole, a new scratch file, or a new
 * users/E/offers/O (sent when its content is applied). */
int openfile_create(struct openfiles *fs, const char *path, mode_t mode,
		    int flags, pid_t pid, struct openfile **out);
/* Bytes read (at most size) or -errno. path is the file's name now (a
 * scratch file may have been renamed while open); pid is the reader: its
 * first read of an editable file is its base. */
long openfile_read(struct openfile *h, const char *path, char *out, size_t size,
		   off_t off, pid_t pid);
/* size or -errno; path as for openfile_read. */
long openfile_write(struct openfile *h, const char *path, const char *data,
		    size_t size, off_t off);
/* Whether the kernel may serve this open file from its page cache (and
 * keep what it holds): a stable view (nodes.h: not NODE_LIVE) opened
 * read-only whose content is the one the last stat showed, so its size
 * and pages are this content's. Otherwise it is read with direct I/O. */
int openfile_cached(const struct openfile *h);
/* 1 when flush has nothing to apply or report (a read-only handle on an
 * existing file): the kernel need not send it. */
int openfile_noflush(const struct openfile *h);
/* close() and fsync(): applies what was written, and reports (once) the
 * first failure of this handle; a file that could not be created fails
 * every flush. */
int openfile_flush(struct openfile *h);
/* The last close: applies what is left (an O_TRUNC never written, content
 * written after the last flush; nobody hears an error here) and frees h. */
void openfile_release(struct openfile *h);

#endif

/*
 * views: what each node of the tree looks like (kind, mode, size, directory
 * entries, content) and what writing to it does.
 *
 * Reads render a whole file into a buffer from cached school data (the
 * whole-school files in pieces: view_stream_open); sizes are the rendered
 * sizes, so `ls -l` and `cat` agree. Two deliberate
 * exceptions where a stat would otherwise spend a rate-limited or
 * single-use request: login-token and uncached progress files report size
 * 0 (like /proc files); the fs layer serves them with direct I/O (nodes.h:
 * NODE_LIVE), so readers get the whole content regardless.
 *
 * Writes (edits.c) take the complete new content of an editable file when
 * it is closed, parse it, and call the matching school change. Bad input is
 * -EINVAL with the reason in errlog, before anything is sent.
 * Which function serves which node is the node table's (nodes.h): each
 * entry point below looks the row up and calls it.
 * No FUSE types here. Thread-safe as school.c is.
 */
#ifndef MSFS_VIEWS_H
#define MSFS_VIEWS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "tree.h"

struct school;

enum view_type { VIEW_DIR, VIEW_FILE, VIEW_LINK };

/* How a file takes writes. */
enum view_write {
	VW_NONE,    /* read-only view */
	VW_VALUE,   /* value file: whole content replaced on close */
	VW_JSON,    /* properties.json: edited as a whole */
	VW_CONTROL, /* grant, chapters, refresh: run by line, read empty */
	VW_SCRATCH, /* editor's temporary file, in memory */
};

struct view_attr {
	enum view_type type;
	mode_t mode; /* permission bits only */
	size_t size;
	enum view_write write;
	int hashed;    /* the content was rendered: hash is set */
	uint64_t hash; /* mtimes_hash of the rendered content */
	/* Set by openfile_lookup, not by view_stat: the school's content
	 * stamp read before the stat (school_stamp; 0: none), and whether
	 * the attributes came from the content shown, current at that
	 * stamp, without a rendering (openfile.h). */
	unsigned long stamp;
	int current;
};

/* Largest content accepted for a file of this kind (EFBIG beyond). */
size_t view_max_write(enum view_write w);

/* Classifies and checks existence. Returns 0, -ENOENT, or another -errno
 * when the API failed. `path` is the raw mount path (for scratch files).
 * Where the size comes from rendering the content, a->hash is its hash
 * (a->hashed), for the file's mtime (mtimes.h). */
int view_stat(struct school *s, const char *path, const struct tree_path *p,
	      struct view_attr *a);

typedef int (*view_fill_fn)(void *arg, const char *name, enum view_type t);
/* Lists a directory (without "." and ".."). Every name listed can be
 * looked up again: an identifier whose name would be longer than
 * TREE_NAME_MAX is left out, and noted once in errlog. 0 or -errno. */
int view_list(struct school *s, const char *path, const struct tree_path *p,
	      view_fill_fn fill, void *arg);

/* Renders a file's whole content (appended to out). 0 or -errno. Scratch
 * files are not rendered here (see scratch.h). */
int view_render(struct school *s, const struct tree_path *p, struct buf *out);
/* Streamed files (the whole-school files: users.jsonl, users.csv,
 * offers/O/members.csv) are read in pieces, so that an open holds a
 * piece and not the file. view_stream_open starts a stream at the file's
 * start: 0 with *out set, 0 with *out NULL when the file is not streamed
 * (render it), or -errno. view_stream_next appends the next piece to out:
 * whole lines, at least `want` bytes unless the file ends first; *end is
 * set once nothing follows. A stream holds the data it is built from (by
 * reference), so one stream reads one version of the list; a member
 * changed while it is read shows as it is when its line is built. A
 * complete pass leaves the file's size for stat. A stream is used by one
 * thread at a time; view_stream_free (NULL is fine) releases it. */
struct view_stream;
#define VIEW_STREAM_CHUNK (64 * 1024)
int view_stream_open(struct school *s, const struct tree_path *p,
		     struct view_stream **out);
int view_stream_next(struct view_stream *st, size_t want, struct buf *out,
		     int *end);
void view_stream_free(struct view_stream *st);

/* Target of a symlink node, relative ("../../../users/E"). */
int view_readlink(struct school *s, const struct tree_path *p, struct buf *out);

/* --- writes (edits.c) --- */
/* The content the saving process last read of the file (bases.h); NULL
 * when it read none. */
struct edit_base {
	const char *data;
	size_t len;
};
/* Applies the complete new content of an editable file; `path` is the
 * mount path, used in error reasons. With a base (the writer read the
 * file before), only what differs from the base is sent, and when the
 * server's current value (fetched fresh) of something being changed is
 * neither the base's nor the new one, nothing is sent: -ESTALE, with the
 * name, the value started from and the server's in errlog. */
int edit_apply(struct school *s, const char *path, const struct tree_path *p,
	       const char *data, size_t len, const struct edit_base *base);
/* Progress of a control file written in several chunks. */
struct edit_lines {
	int lines;  /* lines seen so far (numbering continues) */
	int done;   /* lines run */
	int failed; /* lines that failed */
};
/* Runs the complete lines of a control file (grant, chapters, refresh),
 * each independently; res (may be NULL) accumulates across calls. Returns
 * 0 or the errno of the first failed line. */
int edit_lines(struct school *s, const char *path, const struct tree_path *p,
	       const char *data, size_t len, struct edit_lines *res);
/* O_CREAT of a name that does not exist yet: may it be created? Sends
 * nothing. users/E/offers/O may (its grant waits for edit_apply_create);
 * users/E/properties/NAME of no property is -ENOENT, with the known
 * properties named in errlog; other names -EPERM. */
int edit_create(struct school *s, const struct tree_path *p);
/* The content of a file created by O_CREAT, applied: for
 * users/E/offers/O, empty content or "active" grants the offer,
 * "inactive" grants it and then deactivates it; anything else is -EINVAL
 * and nothing is sent. */
int edit_apply_create(struct school *s, const char *path,
		      const struct tree_path *p, const char *data, size_t len);
/* Content still being written to a file that takes writes of kind w:
 * -EINVAL (reason in errlog) once no continuation can make it valid (a
 * bad byte, a second line, a word that is no state), else 0. */
int edit_check_partial(const char *path, const struct tree_path *p,
		       enum view_write w, const char *data, size_t len);
/* mkdir users/E: a pending member. */
int edit_mkdir(struct school *s, const struct tree_path *p);
/* rmdir users/E deletes the member; rmdir of its subdirectories only drops
 * cached copies. */
int edit_rmdir(struct school *s, const struct tree_path *p);
/* unlink sends nothing and drops nothing. Inside a member's directory it
 * succeeds and the file stays (rm -r users/E must reach its rmdir);
 * elsewhere it is -EPERM. Scratch files are the caller's (scratch.h). */
int edit_unlink(struct school *s, const struct tree_path *p);

#endif

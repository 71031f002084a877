/*
 * nodes: the tree described once. One row per node kind (enum node in
 * tree.h) says what the node is called (a fixed name or a name pattern),
 * where it hangs (its parent), its kind and mode, whether readdir lists
 * it, what must exist for it to exist, how it is stat'ed, listed,
 * rendered and written, and which cached data a refresh of it drops.
 * Like procfs's tgid_base_stuff[] for /proc/PID, the table drives the
 * rest: tree.c parses paths by it, views.c stats, lists and renders by
 * it, edits.c dispatches writes by it, school.c builds mount paths and
 * refreshes by it. Nothing outside nodes.c switches on the node kind.
 *
 * Adding a file to users/E/ is one row here plus its render (and apply)
 * function in views.c (edits.c), declared in nodeops.h.
 *
 * Does not: fetch anything, hold state or know FUSE; the table is
 * constant, so every function here is thread-safe.
 */
#ifndef MSFS_NODES_H
#define MSFS_NODES_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "tree.h"
#include "views.h"

struct school;
struct cval;

/* How a path component names a node. */
enum node_name {
	NAME_FIXED,   /* exactly row->name */
	NAME_ID,      /* an encoded identifier, decoded into id[slot] */
	NAME_ID_JSON, /* an encoded identifier followed by ".json" */
	NAME_STATUS,  /* "active" or "inactive", kept as is in id[slot] */
	NAME_PROP,    /* a property name; a name that is no encoding is an
		       * editor's file (tree_path.scratch), kept raw */
	NAME_SCRATCH, /* any name no fixed row takes: kept raw */
};

/* Which cached data a refresh of the node drops (school_forget). */
enum node_forget {
	FORGET_NOTHING,
	FORGET_PROPDEFS, /* the property definitions */
	FORGET_OFFERS,	 /* the offer list and every member list */
	FORGET_LISTS,	 /* every member list */
	FORGET_ROSTER,	 /* the full member list and every member record */
	FORGET_EXAMS,	 /* every exam */
	FORGET_EXAM,	 /* exam id[0] */
	FORGET_MEMBER,	 /* member id[0]: record and progress */
};

/* Row flags. */
#define NODE_LISTED 0x01    /* readdir of the parent shows it */
#define NODE_MEMBER 0x02    /* under users/E: member E must exist */
#define NODE_PENDING 0x04   /* exists for a pending member (mkdir) too */
#define NODE_SIZED 0x08	    /* stat renders it for its size and hash */
#define NODE_RECORD 0x10    /* rendering it reads the member's record */
#define NODE_REMOVABLE 0x20 /* unlink/rmdir succeed and change nothing */
#define NODE_STATE 0x40	    /* its value is a state word */
#define NODE_SERIAL 0x80    /* its lines run one at a time */
#define NODE_RO_OK 0x100    /* writable under -o ro (changes no school) */
#define NODE_CREATE 0x200   /* O_CREAT of a new one grants (apply_create) */
#define NODE_LIVE 0x400	    /* the kernel keeps no copy (direct I/O) */
#define NODE_FRESH 0x800    /* new content on every open: no mtime kept */

/* What a row's functions get: the call's arguments and, for stat and
 * list of NODE_MEMBER rows and rendering of NODE_RECORD rows, the
 * member's record (NULL for a pending member). */
struct node_ctx {
	struct school *s;
	const char *path;
	const struct tree_path *p;
	struct cval *user;
};

/* A control file's line handler (edits.c). */
struct line_run;
typedef int (*node_line_fn)(struct line_run *run, int lineno, char *line,
			    size_t len);

struct node_entry {
	const char *name; /* NAME_FIXED: the name; else how README shows it */
	enum node parent;
	enum node_name how;
	int slot; /* id[] index of an identifier name */
	enum view_type type;
	mode_t mode; /* permission bits */
	enum view_write write;
	unsigned flags;
	enum node_forget forget;
	/* 0 when the node exists (beyond the path's shape), else -errno.
	 * NULL: it always does. Run by stat and list. */
	int (*exists)(const struct node_ctx *c);
	/* Completes a->size (and hash) after the row's type, mode and write
	 * are set; NULL: rendered for the size when NODE_SIZED, else 0. */
	int (*stat)(const struct node_ctx *c, struct view_attr *a);
	/* Lists the children not named in the table (identifiers, scratch
	 * files); the fixed ones come from the table. */
	int (*list)(const struct node_ctx *c, view_fill_fn fill, void *arg);
	/* Appends the content; NULL: a directory or link (EISDIR). */
	int (*render)(const struct node_ctx *c, struct buf *out);
	/* A file read in pieces (views.h: view_stream_open): opens a stream
	 * at its start. NULL: reads are served from one rendering. */
	int (*stream)(const struct node_ctx *c, struct view_stream **out);
	/* The complete new content of an editable file. NULL: read-only. */
	int (*apply)(const struct node_ctx *c, const char *data, size_t len,
		     const struct edit_base *base);
	/* One line of a control file; NULL: not a control file. */
	node_line_fn line;
	/* O_CREAT of a name that does not exist; NULL: -EPERM. */
	int (*create)(struct school *s, const struct tree_path *p);
	int (*mkdir)(struct school *s, const struct tree_path *p);
	int (*rmdir)(struct school *s, const struct tree_path *p);
};

/* The row of node n (never NULL for n < N__COUNT). */
const struct node_entry *node_entry(enum node n);

/* The child of parent that component name names, with its identifier
 * (if any) stored in p->id[]. Returns 0 with *child set, -ENOENT when
 * no child has that name, -ENOMEM. */
int node_child(enum node parent, const char *name, struct tree_path *p,
	       enum node *child);

/* Calls fn for each child of parent that readdir lists by a fixed name,
 * in table order; with pending set, only those of a pending member.
 * Stops at (and returns) fn's first non-zero result. */
int node_each_listed(enum node parent, int pending,
		     int (*fn)(void *arg, const char *name, enum view_type t),
		     void *arg);

/* Components from the root to n (0 for the root). */
int node_depth(enum node n);

/* The mount path of node n with identifiers id0 and id1 (for the slots
 * the path has; others ignored), encoded: malloc'd, NULL on ENOMEM. */
char *node_path(enum node n, const char *id0, const char *id1);

/* The README shown inside the mount (views.c renders it; the unit test
 * holds it against the table). */
extern const char node_readme[];

#endif

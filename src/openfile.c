/*
 * openfile.c - open files and what each call on a path means (see
 * include/openfile.h), without FUSE.
 *
 * Design:
 * - A handle (struct openfile) holds its content under h->lock; every
 *   field that changes after the open is read and written under it. The
 *   fields set at open (path, tp, write, scratch, writable, append, pid)
 *   never change and are read without it.
 * - Writes to a value or JSON file collect in the handle and are applied
 *   whole (apply); a write that completes the content applies at once
 *   (complete). Control files run line by line (write_control).
 * - Handles of files being created sit in fs->creating, so lookups of
 *   their path (getattr, utimens of touch) see the file before it exists.
 * - Scratch content lives in scratch.c by path; a handle on a scratch file
 *   holds nothing.
 */
#include "openfile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bases.h"
#include "clock.h"
#include "errlog.h"
#include "mtimes.h"
#include "nodes.h"
#include "school.h"
#include "scratch.h"
#include "stats.h"

/* The longest line a control file takes (a grant line is far shorter). */
#define CONTROL_LINE_MAX (64 * 1024)

struct openfiles {
	struct openfile_env env;
	struct timespec epoch; /* the times without mtimes */
	pthread_mutex_t lock;  /* creating, open */
	struct openfile *creating;
	/* Every handle not yet released: a file still open when the mount
	 * goes away gets no release from the kernel, and is freed here. */
	struct openfile *open;
};

struct openfile {
	pthread_mutex_t lock;
	struct openfiles *fs;
	/* Set at open, never changed: read without the lock. */
	char *path;
	struct tree_path tp;
	enum view_write write;
	int scratch;  /* content lives in scratch.c under path */
	int writable; /* opened for writing (or with O_TRUNC) */
	int append;   /* O_APPEND */
	pid_t pid;    /* the process that opened it */
	int cached;   /* the kernel's page cache may serve it (start_content) */
	unsigned long stamp; /* content stamp before the open rendered */
	/* Under the lock. */
	int dirty;	/* content changed since the last apply */
	int truncated;	/* opened with O_TRUNC and not written since */
	int refused;	/* -errno of a refused write: nothing may be sent */
	int err;	/* a failed apply not yet reported by flush */
	int noted;	/* its content was noted as the reader's base */
	int unrendered; /* opened without rendering: the first read does
			 * (set at open, then under the lock) */
	/* Control files: a failed write() cut a line; skip to the next
	 * newline (that tail is not a line). */
	int resync;
	/* The file does not exist yet: applying creates it
	 * (edit_apply_create); listed in fs->creating (cnext, under
	 * fs->lock). */
	int create;
	struct openfile *cnext;
	/* In fs->open (under fs->lock). */
	struct openfile *onext, **oprev;
	struct buf data; /* content; for control files the unfinished line */
	struct edit_lines lines; /* control files: progress so far */
	/* A streamed file (views.h): its stream (NULL after a failed read:
	 * the next read starts again), and data holds its bytes from offset
	 * win on, at most a read and a piece of them (read_stream). */
	int streamed;
	struct view_stream *stream;
	off_t win;
	int end; /* the stream has nothing more */
};

const struct openfile_ops openfile_school_ops = {
	.stat = view_stat,
	.render = view_render,
	.apply = edit_apply,
	.apply_create = edit_apply_create,
	.lines = edit_lines,
	.check_partial = edit_check_partial,
	.create = edit_create,
	.unlink = edit_unlink,
	.mkdir = edit_mkdir,
	.rmdir = edit_rmdir,
	.stream_open = view_stream_open,
	.stream_next = view_stream_next,
	.stream_free = view_stream_free,
	.stamp = school_stamp,
};

void openfile_env_school(struct openfile_env *env, struct school *s)
{
	memset(env, 0, sizeof(*env));
	env->school = s;
	env->ops = &openfile_school_ops;
	env->scratch = school_scratch(s);
	env->bases = school_bases(s);
	env->readonly = school_config(s)->readonly;
	env->dry_run = school_config(s)->dry_run;
}

struct openfiles *openfiles_new(const struct openfile_env *env)
{
	struct openfiles *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->env = *env;
	clock_gettime(CLOCK_REALTIME, &fs->epoch);
	pthread_mutex_init(&fs->lock, NULL);
	return fs;
}

static void handle_free(struct openfile *h);

void openfiles_free(struct openfiles *fs)
{
	if (!fs)
		return;
	/* Files still open when the mount went away: nothing of theirs is
	 * applied (no release came, so no close() waits for an answer). */
	while (fs->open)
		handle_free(fs->open);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

long openfiles_count(struct openfiles *fs)
{
	struct openfile *h;
	long n = 0;

	pthread_mutex_lock(&fs->lock);
	for (h = fs->open; h; h = h->onext)
		n++;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

const struct openfile_env *openfiles_env(const struct openfiles *fs)
{
	return &fs->env;
}

/* ------------------------------------------------------------------------
 * Times and invalidation
 * ---------------------------------------------------------------------- */

static struct timespec now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

/* The kernel must forget what it holds of path alone (size, time, pages). */
static void forget_one(struct openfiles *fs, const char *path)
{
	if (fs->env.invalidate)
		fs->env.invalidate(fs->env.invalidate_arg, path);
}

/* Row n, when it is a file with a fixed name that shows member id0's
 * record (user.json, properties.json): its path is forgotten. */
static void forget_record_file(struct openfiles *fs, enum node n,
			       const char *id0)
{
	const struct node_entry *e = node_entry(n);
	char *path;

	if (!(e->flags & NODE_RECORD) || e->how != NAME_FIXED)
		return;
	path = node_path(n, id0, NULL);
	if (path)
		forget_one(fs, path);
	free(path);
}

void openfile_forget_path(struct openfiles *fs, const char *path)
{
	forget_one(fs, path);
}

void openfile_forget(struct openfiles *fs, const char *path)
{
	struct tree_path tp;
	int n;

	forget_one(fs, path);
	if (!fs->env.invalidate || tree_parse(path, &tp))
		return;
	if ((node_entry(tp.node)->flags & NODE_MEMBER) && tp.id[0])
		for (n = 0; n < N__COUNT; n++)
			forget_record_file(fs, (enum node)n, tp.id[0]);
	tree_path_free(&tp);
}

/* The directory of path in dir (PATH_MAX bytes): 0, or -1 when path has
 * none. */
static int dir_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return -1;
	n = slash > path ? (size_t)(slash - path) : 1;
	if (n >= PATH_MAX)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/* A change made through the mount: path's content changed now, and with
 * parent set, its directory's listing too. */
static void changed(struct openfiles *fs, const char *path, int parent)
{
	char dir[PATH_MAX];

	if (!fs->env.mtimes)
		return;
	mtimes_touch(fs->env.mtimes, path, now());
	if (parent && !dir_of(path, dir))
		mtimes_touch(fs->env.mtimes, dir, now());
}

void openfile_forget_entry(struct openfiles *fs, const char *path)
{
	char dir[PATH_MAX];

	openfile_forget(fs, path);
	if (dir_of(path, dir))
		return;
	if (fs->env.mtimes)
		mtimes_touch(fs->env.mtimes, dir, now());
	forget_one(fs, dir);
}

/* A rendering of path's content was seen (open). 1 when it is the content
 * getattr last showed the kernel (whose pages may then serve it). */
static int seen(struct openfiles *fs, const char *path,
		const struct buf *content, unsigned long stamp)
{
	uint64_t hash;

	if (!fs->env.mtimes)
		return 0;
	hash = mtimes_hash(content->data, content->len);
	mtimes_see(fs->env.mtimes, path, hash, now());
	return mtimes_shown(fs->env.mtimes, path, hash, stamp);
}

/* The content stamp now (0: none). */
static unsigned long stamp_now(const struct openfiles *fs)
{
	const struct openfile_ops *ops = fs->env.ops;

	return ops->stamp && fs->env.school ? ops->stamp(fs->env.school) : 0;
}

struct timespec openfile_time(struct openfiles *fs, const char *path,
			      const struct view_attr *a)
{
	if (!fs->env.mtimes)
		return fs->epoch;
	if (a->hashed)
		return mtimes_show(fs->env.mtimes, path, a->hash, a->size,
				   now(), a->stamp);
	return mtimes_get(fs->env.mtimes, path);
}

/* ------------------------------------------------------------------------
 * Files being created
 * ---------------------------------------------------------------------- */

static void creating_add(struct openfile *h)
{
	struct openfiles *fs = h->fs;

	pthread_mutex_lock(&fs->lock);
	h->cnext = fs->creating;
	fs->creating = h;
	pthread_mutex_unlock(&fs->lock);
}

/* Caller holds fs->lock. */
static void creating_unlink(struct openfile *h)
{
	struct openfile **pp;

	for (pp = &h->fs->creating; *pp; pp = &(*pp)->cnext) {
		if (*pp == h) {
			*pp = h->cnext;
			break;
		}
	}
}

static void creating_remove(struct openfile *h)
{
	pthread_mutex_lock(&h->fs->lock);
	creating_unlink(h);
	pthread_mutex_unlock(&h->fs->lock);
}

static int creating_has(struct openfiles *fs, const char *path)
{
	struct openfile *h;
	int found = 0;

	pthread_mutex_lock(&fs->lock);
	for (h = fs->creating; h && !found; h = h->cnext)
		found = !strcmp(h->path, path);
	pthread_mutex_unlock(&fs->lock);
	return found;
}

/* ------------------------------------------------------------------------
 * Lookups
 * ---------------------------------------------------------------------- */

/* Files a stat may leave unrendered and an open too: read whole from one
 * rendering, sized by it at stat (nothing else decides their size), kept
 * by the kernel, and the same on every open. */
static int unrendered_kind(const struct node_entry *e)
{
	return e->type == VIEW_FILE && e->render && !e->stat && !e->stream &&
	       (e->flags & NODE_SIZED) &&
	       !(e->flags & (NODE_LIVE | NODE_FRESH)) &&
	       e->write != VW_CONTROL && e->write != VW_SCRATCH;
}

/* The attributes of a file of that kind whose shown content is current at
 * stamp (mtimes_current: it existed then, and nothing was cached,
 * changed or expired since): the table row's, with the size and hash
 * shown (a->current). 1 when a is filled so; 0: it must be rendered. */
static int stat_current(struct openfiles *fs, const char *path,
			const struct tree_path *tp, unsigned long stamp,
			struct view_attr *a)
{
	const struct node_entry *e = node_entry(tp->node);
	uint64_t hash;
	size_t size;

	if (!fs->env.mtimes || tp->scratch || !unrendered_kind(e) ||
	    !mtimes_current(fs->env.mtimes, path, stamp, &hash, &size))
		return 0;
	memset(a, 0, sizeof(*a));
	a->type = e->type;
	a->mode = e->mode;
	a->write = e->write;
	a->size = size;
	a->hashed = 1;
	a->hash = hash;
	a->stamp = stamp;
	a->current = 1;
	return 1;
}

int openfile_lookup(struct openfiles *fs, const char *path,
		    struct tree_path *tp, struct view_attr *a)
{
	unsigned long stamp = stamp_now(fs); /* before it renders */
	struct tree_path own;
	int r;

	if (!tp)
		tp = &own;
	r = tree_parse(path, tp);
	if (r)
		return r;
	if (creating_has(fs, path)) {
		memset(a, 0, sizeof(*a));
		a->type = VIEW_FILE;
		a->mode = 0600;
		a->write = VW_VALUE;
	} else if (scratch_unlinked(fs->env.scratch, path)) {
		r = -ENOENT;
	} else if (!stat_current(fs, path, tp, stamp, a)) {
		r = fs->env.ops->stat(fs->env.school, path, tp, a);
		a->stamp = stamp;
		a->current = 0;
	}
	if (r || tp == &own)
		tree_path_free(tp);
	return r;
}

int openfile_stat(struct openfiles *fs, struct openfile *h, const char *path,
		  struct view_attr *a)
{
	int r;

	if (!h || h->scratch || !h->writable) {
		r = openfile_lookup(fs, path, NULL, a);
		if (!r && a->current)
			stats_add(STAT_STATS_TRUSTED, 1);
		return r;
	}
	/* An open, written file shows what has been written. */
	memset(a, 0, sizeof(*a));
	a->type = VIEW_FILE;
	a->mode = 0600;
	a->write = h->write;
	pthread_mutex_lock(&h->lock);
	/* a control file's unfinished line is not its content */
	a->size = h->write == VW_CONTROL ? 0 : h->data.len;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* Files whose content a write replaces (what unlink frees for a create). */
static int takes_writes(enum view_write w)
{
	return w == VW_VALUE || w == VW_JSON || w == VW_CONTROL;
}

/* Where a new file of this name would be a scratch file: a name no fixed
 * row takes (users/E/NAME), an editor's temporary name where property
 * names are (users/E/properties/). */
static int scratch_place(struct openfiles *fs, const struct tree_path *tp,
			 const char *path)
{
	enum node_name how = node_entry(tp->node)->how;
	struct view_attr a;

	if (how == NAME_SCRATCH)
		return 1;
	if (how != NAME_PROP || !scratch_editor_name(strrchr(path, '/') + 1))
		return 0;
	if (tp->scratch)
		return 1;
	/* An editor's name that is also a defined property is the property. */
	return fs->env.ops->stat(fs->env.school, path, tp, &a) == -ENOENT ||
	       (a.write == VW_SCRATCH);
}

struct list_filter {
	struct openfiles *fs;
	view_fill_fn fill;
	void *arg;
	const char *dir;
	int hide;      /* unlinked names are hidden here */
	uint64_t hash; /* of the names listed (mtimes_hash_name) */
};

static int list_one(void *arg, const char *name, enum view_type t)
{
	struct list_filter *lf = arg;
	char path[PATH_MAX];

	if (lf->hide && t == VIEW_FILE &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", lf->dir, name) <
		    sizeof(path) &&
	    scratch_unlinked(lf->fs->env.scratch, path))
		return 0; /* looks removed, as a lookup says */
	lf->hash = mtimes_hash_name(lf->hash, name);
	return lf->fill(lf->arg, name, t);
}

int openfile_list(struct openfiles *fs, const char *path, view_fill_fn fill,
		  void *arg)
{
	struct list_filter lf = {fs, fill, arg, path, 0, 0};
	struct tree_path tp;
	int r = tree_parse(path, &tp);

	if (r)
		return r;
	/* Only files in a member's directories can be unlinked. */
	lf.hide = !!(node_entry(tp.node)->flags & NODE_MEMBER);
	r = view_list(fs->env.school, path, &tp, list_one, &lf);
	tree_path_free(&tp);
	/* A directory's mtime moves when its listing does. */
	if (!r && fs->env.mtimes)
		mtimes_see(fs->env.mtimes, path, lf.hash, now());
	return r;
}

/* ------------------------------------------------------------------------
 * Applying content
 * ---------------------------------------------------------------------- */

/*
 * Applies the new content of an editable file for process pid: with the
 * content pid first read of it as the base (bases.h), which the saved
 * content then replaces; a process that read nothing saves without one.
 */
static int save(struct openfiles *fs, const char *path,
		const struct tree_path *tp, pid_t pid, const char *data,
		size_t len)
{
	struct buf b = {0};
	struct edit_base base;
	unsigned long long who = bases_who(pid);
	int had = bases_get(fs->env.bases, path, who, mono_now(), &b);
	int r;

	if (had < 0)
		return had;
	base.data = buf_at(&b, 0);
	base.len = b.len;
	r = fs->env.ops->apply(fs->env.school, path, tp, data, len,
			       had ? &base : NULL);
	if (!r && had)
		bases_note(fs->env.bases, path, who, data, len, 0);
	buf_free(&b);
	return r;
}

/* Refuses what a handle was given: nothing it holds may be sent. A file
 * being created never will be: the creator's next lookup, right after the
 * failed write or close, must not find it (release comes later, and the
 * kernel must forget the entry it was given at create). Caller holds
 * h->lock. */
static void refuse(struct openfile *h, int r)
{
	h->refused = r;
	if (h->create) {
		creating_remove(h);
		openfile_forget(h->fs, h->path);
	}
}

/* Creates the file a handle was opened to create. 1 when it exists now,
 * else 0 or -errno. Caller holds h->lock. */
static int apply_create(struct openfile *h)
{
	struct openfiles *fs = h->fs;
	int r = fs->env.ops->apply_create(fs->env.school, h->path, &h->tp,
					  h->data.data, h->data.len);

	if (!r && fs->env.dry_run) {
		/* A dry run made nothing: the file stays "being created"
		 * while open, so the creator's calls by path (touch sets
		 * times after a dup2 has flushed) find it, as they would
		 * after the real grant. */
		return 0;
	}
	if (r) {
		/* It never will: every later write and close of this handle
		 * fails (a tool may close a dup first). */
		refuse(h, r);
		return r;
	}
	/* It exists now: later writes change it. */
	creating_remove(h);
	h->create = 0;
	return 1;
}

/* Sends the handle's content (a value or JSON file) or its unfinished
 * last line (a control file). Caller holds h->lock. */
static int apply(struct openfile *h)
{
	struct openfiles *fs = h->fs;
	int created = 0;
	int r;

	if (!h->dirty || h->scratch || h->refused)
		return 0;
	if (h->create) {
		r = apply_create(h);
		created = r > 0;
		if (created)
			r = 0;
	} else if (h->write == VW_CONTROL) {
		r = h->data.len ? fs->env.ops->lines(fs->env.school, h->path,
						     &h->tp, h->data.data,
						     h->data.len, &h->lines)
				: 0;
	} else {
		r = save(fs, h->path, &h->tp, h->pid, h->data.data,
			 h->data.len);
	}
	/* Applied or refused, this content has had its answer; a second
	 * close of a dup'ed descriptor must not send it again. */
	h->dirty = 0;
	if (h->write == VW_CONTROL)
		buf_resize(&h->data, 0);
	if (r && !h->err)
		h->err = r;
	if (!r)
		openfile_forget(fs, h->path);
	/* A control file's content stays empty. */
	if (!r && h->write != VW_CONTROL)
		changed(fs, h->path, created);
	return r;
}

/* Reports (once) the first failure of this handle; a file that could not
 * be created fails every close. Caller holds h->lock. */
static int take_error(struct openfile *h)
{
	int r = apply(h);

	if (!r)
		r = h->err;
	h->err = 0;
	if (!r && h->create)
		r = h->refused;
	return r;
}

/*
 * When to send without waiting for close: shells ignore close() errors
 * (`echo bogus > file` would look successful), so a write that completes
 * the content is applied at once and a refusal fails that write() too. A
 * value file is complete at its newline; properties.json when it parses as
 * an object ending in a newline. Content that is still incomplete waits
 * for flush, as editors writing in chunks need.
 */
static int complete(const struct openfile *h)
{
	cJSON *doc;
	int ok;

	if (!h->data.len || h->data.data[h->data.len - 1] != '\n')
		return 0;
	if (h->write == VW_VALUE)
		return memchr(h->data.data, '\n', h->data.len) ==
		       h->data.data + h->data.len - 1;
	if (h->write != VW_JSON)
		return 0;
	doc = cJSON_ParseWithLength(h->data.data, h->data.len);
	ok = cJSON_IsObject(doc);
	cJSON_Delete(doc);
	return ok;
}

/* ------------------------------------------------------------------------
 * Control files
 * ---------------------------------------------------------------------- */

/* The head of this line went with a failed write(): its tail must not run
 * as a line of its own. Bytes of data to skip, or -EINVAL when all are. */
static long control_resync(struct openfile *h, const char *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t skip;

	if (!nl)
		return -EINVAL;
	skip = (size_t)(nl - data) + 1;
	h->resync = 0;
	errlog_add(h->path, 0,
		   "the rest of a line cut by a failed write was skipped");
	return skip == size ? -EINVAL : (long)skip;
}

/* Drops the unfinished line; with resync, the writer's next bytes up to a
 * newline are its tail and are skipped too. */
static void control_drop(struct openfile *h, int resync)
{
	buf_resize(&h->data, 0);
	h->dirty = 0;
	h->resync = resync;
}

/* Control files stream: every complete line runs as it arrives, so a
 * million-line file needs memory for one line only. A write all of whose
 * lines failed fails; otherwise failures wait for close(). Caller holds
 * h->lock. */
static long write_control(struct openfile *h, const char *data, size_t size)
{
	struct openfiles *fs = h->fs;
	struct edit_lines before = h->lines;
	const char *nl;
	long skip = 0;
	size_t n;
	int r;

	if (h->resync && (skip = control_resync(h, data, size)) < 0)
		return skip;
	r = buf_append(&h->data, data + skip, size - (size_t)skip);
	if (r)
		return r;
	h->dirty = 1;
	nl = memrchr(h->data.data, '\n', h->data.len);
	if (!nl) {
		if (h->data.len <= CONTROL_LINE_MAX)
			return (long)size;
		errlog_add(h->path, 0, "line longer than %d bytes refused",
			   CONTROL_LINE_MAX);
		control_drop(h, 1);
		return -EINVAL;
	}
	n = (size_t)(nl - h->data.data) + 1;
	r = fs->env.ops->lines(fs->env.school, h->path, &h->tp, h->data.data, n,
			       &h->lines);
	memmove(h->data.data, h->data.data + n, h->data.len - n);
	buf_resize(&h->data, h->data.len - n);
	h->dirty = h->data.len > 0;
	if (!r) {
		openfile_forget(fs, h->path);
		return (long)size;
	}
	if (!h->err)
		h->err = r; /* close() reports it again: not every writer
			     * looks at write() */
	if (h->lines.done - before.done == h->lines.failed - before.failed) {
		/* This write() fails as a whole, so none of its bytes may run
		 * later: the unfinished line after its last newline is its
		 * own (what came before held no newline) and goes too; the
		 * writer's next bytes would finish it, so they are skipped. */
		control_drop(h, h->data.len > 0);
		return r;
	}
	return (long)size;
}

/* ------------------------------------------------------------------------
 * Opening
 * ---------------------------------------------------------------------- */

static void handle_free(struct openfile *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->fs->lock);
	if (h->create)
		creating_unlink(h);
	*h->oprev = h->onext;
	if (h->onext)
		h->onext->oprev = h->oprev;
	pthread_mutex_unlock(&h->fs->lock);
	pthread_mutex_destroy(&h->lock);
	if (h->stream)
		h->fs->env.ops->stream_free(h->stream);
	buf_free(&h->data);
	tree_path_free(&h->tp);
	free(h->path);
	free(h);
}

/* A handle on path; takes tp's identifiers (tp is left empty). */
static struct openfile *handle_new(struct openfiles *fs, const char *path,
				   struct tree_path *tp, enum view_write w,
				   pid_t pid)
{
	struct openfile *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->path = strdup(path);
	if (!h->path) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->fs = fs;
	h->tp = *tp;
	memset(tp, 0, sizeof(*tp));
	h->write = w;
	h->scratch = w == VW_SCRATCH;
	h->pid = pid;
	pthread_mutex_lock(&fs->lock);
	h->onext = fs->open;
	if (fs->open)
		fs->open->oprev = &h->onext;
	h->oprev = &fs->open;
	fs->open = h;
	pthread_mutex_unlock(&fs->lock);
	return h;
}

/* How open_node starts a handle's content. */
enum open_as {
	OPEN_EXISTING, /* the file's content (or none, with O_TRUNC) */
	OPEN_REPLACE,  /* created again after an unlink: what is written */
	OPEN_CREATE,   /* a new file: applying creates it */
};

/* After an open rendered h's content: the kernel's page cache may serve it
 * when it is a stable view (not NODE_LIVE), opened read-only, and the very
 * content getattr last showed (the size and time the kernel holds are its,
 * and any page it holds came from it: a newer time makes the kernel drop
 * its pages). Else it is served with direct I/O, and where the kernel
 * holds another size or time the path is invalidated. */
static void judge_cache(struct openfile *h)
{
	unsigned flags = node_entry(h->tp.node)->flags;
	int shown;

	/* A token is new on every open, by design: its mtime would move on
	 * every read, and tar would say the file changed as it read it. */
	if (flags & NODE_FRESH)
		return;
	shown = seen(h->fs, h->path, &h->data, h->stamp);
	h->cached = shown && !h->writable && !(flags & NODE_LIVE);
	if (!shown)
		forget_one(h->fs, h->path);
}

/* A read-only file read in pieces (ops->stream_open sets a stream) starts
 * one; any other file is left to be rendered (h->streamed stays 0). */
static int open_stream(struct openfile *h)
{
	const struct openfile_ops *ops = h->fs->env.ops;
	int r;

	if (!ops->stream_open || h->writable)
		return 0;
	r = ops->stream_open(h->fs->env.school, &h->tp, &h->stream);
	h->streamed = !r && h->stream;
	return r;
}

/* Fills a new handle as `as` and the open flags say. */
static int start_content(struct openfile *h, int flags, enum open_as as)
{
	struct openfiles *fs = h->fs;
	int r = 0;

	if (h->scratch) {
		if (flags & O_TRUNC)
			r = scratch_truncate(fs->env.scratch, h->path, 0);
		if (!r && (flags & O_TRUNC))
			changed(fs, h->path, 0);
	} else if (as != OPEN_EXISTING) {
		h->create = as == OPEN_CREATE;
		if (flags & O_TRUNC)
			h->truncated = 1;
		else
			h->dirty = 1;
	} else if (flags & O_TRUNC) {
		/* Not dirty yet: a shell's `echo x > f` flushes the O_TRUNC'd
		 * descriptor (close after dup2) before writing. An emptying
		 * with no write at all (`: > f`) is applied on release. */
		h->truncated = 1;
	} else if (h->unrendered) {
		/* The kernel's pages are the content (open_node): the first
		 * read that still comes renders. */
		h->cached = 1;
		stats_add(STAT_OPENS_TRUSTED, 1);
	} else if (h->write != VW_CONTROL) {
		r = open_stream(h);
		if (!r && !h->streamed)
			r = fs->env.ops->render(fs->env.school, &h->tp,
						&h->data);
		if (!r && !h->streamed)
			judge_cache(h);
	}
	return r;
}

/* Opens a handle on a node; a = its attributes. A created file (replace,
 * create) starts empty and is applied at the first flush, as an emptied
 * file is (so close() of `touch` reports a refused grant), except under
 * O_TRUNC: a shell's `> f` flushes once before it writes, so there an
 * unwritten file is applied on release only. */
static int open_node(struct openfiles *fs, const char *path,
		     struct tree_path *tp, const struct view_attr *a, int flags,
		     pid_t pid, enum open_as as, struct openfile **out)
{
	int wants_write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	struct openfile *h;
	int r;

	if (a->type == VIEW_DIR)
		return -EISDIR;
	if (wants_write && a->write == VW_NONE)
		return -EACCES;
	if (wants_write && fs->env.readonly && a->write != VW_SCRATCH &&
	    !(node_entry(tp->node)->flags & NODE_RO_OK))
		return -EROFS;
	h = handle_new(fs, path, tp, a->write, pid);
	if (!h)
		return -ENOMEM;
	h->writable = wants_write;
	h->append = !!(flags & O_APPEND);
	h->stamp = a->stamp;
	/* A read of content the kernel was shown and still holds, nothing
	 * having changed since (openfile_lookup: a->current), need not
	 * render it now. */
	h->unrendered = a->current && !wants_write;
	/* The kernel may cut the size it holds (O_TRUNC) or take a write. */
	if (wants_write && fs->env.mtimes)
		mtimes_unshow(fs->env.mtimes, path);
	r = start_content(h, flags, as);
	if (r) {
		handle_free(h);
		return r;
	}
	if (h->create)
		creating_add(h);
	*out = h;
	return 0;
}

/* Opens users/E/offers/O that does not exist yet (edit_create checks the
 * name). Nothing is sent yet: the grant waits for the content. */
static int open_created(struct openfiles *fs, const char *path,
			struct tree_path *tp, int flags, pid_t pid,
			struct openfile **out)
{
	struct view_attr a = {
		.type = VIEW_FILE, .mode = 0600, .write = VW_VALUE};
	int r = fs->env.ops->create(fs->env.school, tp);

	return r ? r
		 : open_node(fs, path, tp, &a, flags, pid, OPEN_CREATE, out);
}

int openfile_open(struct openfiles *fs, const char *path, int flags, pid_t pid,
		  struct openfile **out)
{
	struct tree_path tp;
	struct view_attr a;
	int r = openfile_lookup(fs, path, &tp, &a);

	if (r == -ENOENT && (flags & O_ACCMODE) != O_RDONLY &&
	    !tree_parse(path, &tp)) {
		/* The kernel still holds the entry of a create that came to
		 * nothing a moment ago (entry_timeout), so an O_CREAT open
		 * arrives here and not in create: it is that create again. */
		r = (node_entry(tp.node)->flags & NODE_CREATE)
			    ? open_created(fs, path, &tp, flags, pid, out)
			    : -ENOENT;
		tree_path_free(&tp);
		return r;
	}
	if (r)
		return r;
	r = open_node(fs, path, &tp, &a, flags, pid, OPEN_EXISTING, out);
	tree_path_free(&tp);
	return r;
}

/* A new scratch file (an editor's temporary) at path, opened. */
static int create_scratch(struct openfiles *fs, const char *path,
			  struct tree_path *tp, mode_t mode, int flags,
			  pid_t pid, struct openfile **out)
{
	struct view_attr a = {
		.type = VIEW_FILE, .mode = mode & 07777, .write = VW_SCRATCH};
	int r = scratch_create(fs->env.scratch, path, mode & 07777);

	if (r)
		return r;
	changed(fs, path, 1);
	return open_node(fs, path, tp, &a, flags, pid, OPEN_EXISTING, out);
}

int openfile_create(struct openfiles *fs, const char *path, mode_t mode,
		    int flags, pid_t pid, struct openfile **out)
{
	struct tree_path tp;
	struct view_attr a = {0}; /* no stamp: not looked up (a create) */
	int r = tree_parse(path, &tp);

	if (r)
		return r;
	r = fs->env.ops->stat(fs->env.school, path, &tp, &a);
	if (!r && takes_writes(a.write) &&
	    scratch_unlinked_take(fs->env.scratch, path))
		/* Unlinked a moment ago (mv from another filesystem, cp
		 * --remove-destination): what is written now replaces it. */
		r = open_node(fs, path, &tp, &a, flags, pid, OPEN_REPLACE, out);
	else if (!r && (flags & O_EXCL))
		r = -EEXIST;
	else if (!r)
		/* Creating an editable file that exists opens it. */
		r = open_node(fs, path, &tp, &a, flags, pid, OPEN_EXISTING,
			      out);
	else if (r == -ENOENT && scratch_place(fs, &tp, path))
		r = create_scratch(fs, path, &tp, mode, flags, pid, out);
	else if (r == -ENOENT)
		r = open_created(fs, path, &tp, flags, pid, out);
	tree_path_free(&tp);
	return r;
}

/* ------------------------------------------------------------------------
 * Reading and writing
 * ---------------------------------------------------------------------- */

/* A streamed file's stream, at its start again (a read before the bytes
 * held, or after a failed read). Caller holds h->lock. */
static int stream_restart(struct openfile *h)
{
	const struct openfile_ops *ops = h->fs->env.ops;
	int r;

	ops->stream_free(h->stream);
	h->stream = NULL;
	buf_resize(&h->data, 0);
	h->win = 0;
	h->end = 0;
	r = ops->stream_open(h->fs->env.school, &h->tp, &h->stream);
	return r ? r : h->stream ? 0 : -EIO;
}

/* Drops the held bytes before off (all of them when off lies beyond). */
static void stream_drop(struct openfile *h, off_t off)
{
	size_t cut = (size_t)(off - h->win);

	if (cut > h->data.len)
		cut = h->data.len;
	if (!cut)
		return;
	memmove(h->data.data, h->data.data + cut, h->data.len - cut);
	buf_resize(&h->data, h->data.len - cut);
	h->win += (off_t)cut;
}

/* A read of a streamed file: the next pieces are built until the bytes
 * held cover [off, off + size) or the file ends; what lies before off is
 * dropped, so a sequential read holds one read and one piece. A read
 * before what is held builds again from the start (and skips to off).
 * Caller holds h->lock. */
static long read_stream(struct openfile *h, char *out, size_t size, off_t off)
{
	const struct openfile_ops *ops = h->fs->env.ops;
	size_t at;
	long n;
	int r = 0;

	if (off < h->win || !h->stream)
		r = stream_restart(h);
	while (!r && !h->end && (size_t)(off - h->win) + size > h->data.len) {
		stream_drop(h, off);
		r = ops->stream_next(h->stream, VIEW_STREAM_CHUNK, &h->data,
				     &h->end);
	}
	if (r) {
		/* Its cursor is lost: the next read starts again. */
		ops->stream_free(h->stream);
		h->stream = NULL;
		return r;
	}
	at = (size_t)(off - h->win);
	if (at >= h->data.len)
		return 0;
	n = (long)(h->data.len - at < size ? h->data.len - at : size);
	memcpy(out, h->data.data + at, (size_t)n);
	return n;
}

long openfile_read(struct openfile *h, const char *path, char *out, size_t size,
		   off_t off, pid_t pid)
{
	struct openfiles *fs = h->fs;
	long n = 0;

	if (h->scratch)
		return scratch_read(fs->env.scratch, path, out, size, off);
	/* Control files read as empty; data holds an unfinished line. */
	if (h->write == VW_CONTROL)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (h->streamed) {
		n = read_stream(h, out, size, off);
		pthread_mutex_unlock(&h->lock);
		return n;
	}
	if (h->unrendered) {
		/* The kernel no longer holds the pages of an open that
		 * trusted them (open_node). */
		n = fs->env.ops->render(fs->env.school, &h->tp, &h->data);
		if (n) {
			buf_resize(&h->data, 0);
			pthread_mutex_unlock(&h->lock);
			return n;
		}
		h->unrendered = 0;
	}
	if (!h->noted && !h->dirty &&
	    (h->write == VW_VALUE || h->write == VW_JSON)) {
		/* What this process sees is what its next save starts from. */
		h->noted = 1;
		bases_note(fs->env.bases, h->path, bases_who(pid),
			   buf_at(&h->data, 0), h->data.len, 1);
	}
	if ((size_t)off < h->data.len) {
		n = (long)(h->data.len - (size_t)off);
		if ((size_t)n > size)
			n = (long)size;
		memcpy(out, h->data.data + off, (size_t)n);
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* A write to a value or JSON file: into the handle, checked, applied when
 * it completes the content. Caller holds h->lock. */
static int write_content(struct openfile *h, const char *data, size_t size,
			 off_t off)
{
	struct openfiles *fs = h->fs;
	size_t end;
	int r = 0;

	/* O_APPEND writes at the end of what has been written so far: read
	 * under the lock, as another write may be extending it. */
	if (h->append)
		off = (off_t)h->data.len;
	end = (size_t)off + size;
	h->truncated = 0;
	if (h->refused)
		return h->refused; /* refused whatever follows */
	if (end > view_max_write(h->write)) {
		errlog_add(h->path, 0, "write beyond %zu bytes refused",
			   view_max_write(h->write));
		/* What was written is incomplete: sending it would be wrong. */
		r = -EFBIG;
		goto refused;
	}
	if (end > h->data.len && (r = buf_resize(&h->data, end)))
		return r;
	memcpy(h->data.data + off, data, size);
	h->dirty = 1;
	r = fs->env.ops->check_partial(h->path, &h->tp, h->write, h->data.data,
				       h->data.len);
	if (r)
		goto refused;
	return complete(h) ? apply(h) : 0; /* and close() reports it again */
refused:
	refuse(h, r);
	h->err = r; /* close() reports it again */
	return r;
}

long openfile_write(struct openfile *h, const char *path, const char *data,
		    size_t size, off_t off)
{
	struct openfiles *fs = h->fs;
	long r;

	if (!h->writable)
		return -EBADF;
	if (h->scratch) {
		r = scratch_write(fs->env.scratch, path, data, size, off);
		if (r >= 0)
			changed(fs, path, 0);
		return r;
	}
	pthread_mutex_lock(&h->lock);
	if (h->write == VW_CONTROL)
		r = write_control(h, data, size);
	else
		r = write_content(h, data, size, off);
	pthread_mutex_unlock(&h->lock);
	if (h->write != VW_CONTROL && !r)
		r = (long)size;
	return r;
}

int openfile_cached(const struct openfile *h)
{
	return h->cached;
}

int openfile_noflush(const struct openfile *h)
{
	/* Only a handle that was or may be written, or creates its file,
	 * has anything for flush to apply or report. */
	return !h->writable && !h->create;
}

int openfile_flush(struct openfile *h)
{
	int r;

	pthread_mutex_lock(&h->lock);
	r = take_error(h);
	pthread_mutex_unlock(&h->lock);
	return r;
}

void openfile_release(struct openfile *h)
{
	/* flush has reported what was written; what is left is an O_TRUNC
	 * open that was never written to, and content written after the
	 * last flush. */
	pthread_mutex_lock(&h->lock);
	if (h->truncated)
		h->dirty = 1; /* `: > f`: emptied, never written */
	apply(h);
	/* A file never created: the kernel should forget its entry (a
	 * refused one was forgotten when it was refused). */
	if (h->create && !h->refused)
		openfile_forget(h->fs, h->path);
	pthread_mutex_unlock(&h->lock);
	handle_free(h);
}

/* ------------------------------------------------------------------------
 * Truncating
 * ---------------------------------------------------------------------- */

/* ftruncate of an open value, JSON or control file: cuts its content. */
static int truncate_open(struct openfile *h, off_t size)
{
	int r;

	if (!h->writable)
		return -EBADF;
	if ((size_t)size > view_max_write(h->write))
		return -EFBIG;
	pthread_mutex_lock(&h->lock);
	r = buf_resize(&h->data, (size_t)size);
	h->dirty = 1;
	h->truncated = 0;
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* truncate(1) on a closed value or JSON file: one change, applied now. */
static int truncate_saved(struct openfiles *fs, const char *path,
			  const struct tree_path *tp, off_t size, pid_t pid)
{
	struct buf b = {0};
	int r = fs->env.ops->render(fs->env.school, tp, &b);

	if (!r)
		r = buf_resize(&b, (size_t)size);
	if (!r)
		r = save(fs, path, tp, pid, b.data, b.len);
	if (!r)
		changed(fs, path, 0);
	buf_free(&b);
	return r;
}

int openfile_truncate(struct openfiles *fs, struct openfile *h,
		      const char *path, off_t size, pid_t pid)
{
	struct tree_path tp;
	struct view_attr a;
	int r;

	if (h && !h->scratch)
		return truncate_open(h, size);
	r = openfile_lookup(fs, path, &tp, &a);
	if (r)
		return r;
	if (a.write == VW_SCRATCH) {
		r = scratch_truncate(fs->env.scratch, path, size);
		if (!r)
			changed(fs, path, 0);
	} else if (a.write == VW_VALUE || a.write == VW_JSON) {
		r = truncate_saved(fs, path, &tp, size, pid);
	} else if (a.write == VW_CONTROL) {
		r = 0; /* nothing is stored in control files */
	} else {
		r = -EACCES;
	}
	tree_path_free(&tp);
	return r;
}

/* ------------------------------------------------------------------------
 * Names: mkdir, rmdir, unlink, rename, chmod, utimens
 * ---------------------------------------------------------------------- */

int openfile_mkdir(struct openfiles *fs, const char *path)
{
	struct tree_path tp;
	int r = tree_parse(path, &tp);

	if (r)
		return r == -ENOENT ? -EPERM : r;
	r = fs->env.ops->mkdir(fs->env.school, &tp);
	tree_path_free(&tp);
	if (!r)
		changed(fs, path, 1);
	return r;
}

int openfile_rmdir(struct openfiles *fs, const char *path)
{
	struct tree_path tp;
	struct view_attr a;
	int r = openfile_lookup(fs, path, &tp, &a);

	if (r)
		return r;
	if (a.type != VIEW_DIR)
		r = -ENOTDIR;
	else
		r = fs->env.ops->rmdir(fs->env.school, &tp);
	if (!r) {
		openfile_forget(fs, path);
		changed(fs, path, 1);
	}
	tree_path_free(&tp);
	return r;
}

int openfile_unlink(struct openfiles *fs, const char *path)
{
	struct tree_path tp;
	struct view_attr a;
	int r = openfile_lookup(fs, path, &tp, &a);

	if (r)
		return r;
	if (a.write == VW_SCRATCH) {
		r = scratch_unlink(fs->env.scratch, path);
		if (!r)
			changed(fs, path, 1);
	} else {
		/* No request, no cache dropped (.memberspot/refresh does
		 * that); an editable file's name takes a create for a while.
		 * Should that table be full, only that create is lost. */
		r = fs->env.ops->unlink(fs->env.school, &tp);
		if (!r && takes_writes(a.write))
			scratch_unlinked_add(fs->env.scratch, path);
	}
	tree_path_free(&tp);
	return r;
}

/* Both ends of a rename, looked up. */
struct rename_ends {
	const char *from, *to;
	struct tree_path ftp, ttp;
	struct view_attr fa, ta;
	int to_exists;
	pid_t pid;
};

/* An editor saving: the scratch file's content becomes the file `to`. */
static int rename_save(struct openfiles *fs, struct rename_ends *e)
{
	struct buf b = {0};
	int r = scratch_get(fs->env.scratch, e->from, &b);

	if (!r)
		r = save(fs, e->to, &e->ttp, e->pid, b.data, b.len);
	if (!r) {
		scratch_unlink(fs->env.scratch, e->from);
		scratch_unlinked_take(fs->env.scratch, e->to);
		openfile_forget(fs, e->to);
		changed(fs, e->from, 1);
		if (e->ta.write != VW_CONTROL)
			changed(fs, e->to, 0);
	}
	buf_free(&b);
	return r;
}

/* vim's backup step: a scratch copy of an editable file, the member
 * unchanged. */
static int rename_backup(struct openfiles *fs, struct rename_ends *e)
{
	struct buf b = {0};
	int r = fs->env.ops->render(fs->env.school, &e->ftp, &b);

	if (!r)
		r = scratch_set(fs->env.scratch, e->to, b.data, b.len,
				e->fa.mode);
	if (!r) {
		openfile_forget(fs, e->from);
		changed(fs, e->to, 1);
	}
	buf_free(&b);
	return r;
}

/* What a rename of e->from to e->to means, done. */
static int rename_ends(struct openfiles *fs, struct rename_ends *e)
{
	int r;

	if (e->fa.write == VW_SCRATCH && e->to_exists &&
	    takes_writes(e->ta.write))
		return rename_save(fs, e);
	if (e->fa.write == VW_SCRATCH &&
	    (e->to_exists ? e->ta.write == VW_SCRATCH
			  : scratch_place(fs, &e->ttp, e->to))) {
		r = scratch_rename(fs->env.scratch, e->from, e->to);
		if (!r) {
			changed(fs, e->from, 1);
			changed(fs, e->to, 1);
		}
		return r;
	}
	if ((e->fa.write == VW_VALUE || e->fa.write == VW_JSON) &&
	    !e->to_exists && scratch_place(fs, &e->ttp, e->to))
		return rename_backup(fs, e);
	return -EPERM;
}

int openfile_rename(struct openfiles *fs, const char *from, const char *to,
		    unsigned int flags, pid_t pid)
{
	struct rename_ends e = {.from = from, .to = to, .pid = pid};
	int r;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	r = openfile_lookup(fs, from, &e.ftp, &e.fa);
	if (r)
		return r;
	r = tree_parse(to, &e.ttp);
	if (r)
		goto out_from;
	r = fs->env.ops->stat(fs->env.school, to, &e.ttp, &e.ta);
	e.to_exists = !r;
	if (r && r != -ENOENT)
		goto out_to;
	if (e.to_exists && (flags & RENAME_NOREPLACE))
		r = -EEXIST;
	else
		r = rename_ends(fs, &e);
out_to:
	tree_path_free(&e.ttp);
out_from:
	tree_path_free(&e.ftp);
	return r;
}

int openfile_chmod_scratch(struct openfiles *fs, const char *path, mode_t mode)
{
	return scratch_chmod(fs->env.scratch, path, mode & 07777);
}

int openfile_utimens(struct openfiles *fs, const char *path)
{
	struct view_attr a;
	int r = openfile_lookup(fs, path, NULL, &a);

	/* touch of a file a dry run "created" (its grant was not sent):
	 * the times are set as the real run would have, i.e. nothing. */
	if (r == -ENOENT && fs->env.dry_run)
		r = 0;
	return r; /* touch of an existing entry: nothing to change */
}

/*
 * fs.c - the FUSE operations (high-level, path-based API).
 *
 * Design:
 * - Every handler parses its path with tree_parse and asks views.c; no
 *   handler knows about the API or the cache.
 * - An open file is a struct handle holding the file's rendered content,
 *   so reads are consistent and `cat` sees exactly one version. Content is
 *   served with direct_io: sizes of live views change between stats, and
 *   the page cache must never serve an old copy or cut a read short.
 * - Writes go into the handle; flush (close) applies the whole new content
 *   through edit_apply, so close() fails when the API refused the change.
 *   fsync applies too, for editors that check it. Each write is checked
 *   first (edit_check_partial): content that can no longer become valid
 *   fails that write() and is never sent.
 * - A created file is a handle too: users/E/offers/O exists only in its
 *   open handles ("creating", below) until its content is applied, which
 *   grants. Unlinking sends nothing (edit_unlink); an editable file's name
 *   is then free for a create for a while (scratch_unlinked_add), so mv
 *   from another filesystem and cp --remove-destination save through it.
 * - Scratch files (editors' temporaries) live in scratch.c, by path.
 * - Kernel caches: a change queues the affected paths; a notifier thread
 *   calls fuse_invalidate_path outside the handler that caused it.
 * - Permissions are the kernel's (default_permissions, which main adds
 *   with allow_other): fill_stat shows the owner and every mode as
 *   -o uid=,gid=,umask= make them (fs.h), and no handler checks callers.
 * - Times: mtime and ctime are when the content last changed as the mount
 *   saw it (mtimes.h): getattr passes the hash of what view_stat rendered,
 *   readdir the hash of the names it listed, open what it rendered; a
 *   change made here touches its path (and its directory when a name came
 *   or went). Control files read as empty, so nothing in the tree refuses
 *   a read (tar, rsync -a, cp -r, grep -r).
 */
#include "clock.h"
#include "fs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "bases.h"
#include "buf.h"
#include "cache.h"
#include "errlog.h"
#include "mtimes.h"
#include "school.h"
#include "scratch.h"
#include "tree.h"
#include "views.h"

struct handle {
	pthread_mutex_t lock;
	char *path;
	struct tree_path tp;
	enum view_write write;
	int scratch;   /* content lives in scratch.c under path */
	int writable;
	int dirty;     /* content changed since the last apply */
	int truncated; /* opened with O_TRUNC and not written since */
	int refused;   /* -errno of a refused write: nothing may be sent */
	int create;    /* the file does not exist yet: applying creates it
			* (edit_apply_create); listed in `creating` */
	struct handle *cnext; /* creating list, under creating.lock */
	int err;       /* a failed apply not yet reported by flush */
	int resync;    /* control files: a failed write() cut a line; skip
			* to the next newline (that tail is not a line) */
	int noted;     /* its content was noted as the reader's base */
	pid_t pid;     /* the process that opened it */
	struct buf data; /* content; for control files the unfinished line */
	struct edit_lines lines; /* control files: progress so far */
};

/* The longest line a control file takes (a grant line is far shorter). */
#define CONTROL_LINE_MAX (64 * 1024)

static struct timespec mount_time;

/* When each path's content last changed (mtimes.h). At most this many
 * paths, 24 bytes each; beyond, all are forgotten and every time moves
 * on (never back), so nothing changed is ever hidden from rsync. */
#define MTIMES_MAX (1u << 20)
static struct mtimes *mtimes;

/* Handles of files being created (h->create), so that lookups of their
 * path (getattr, utimens of touch) see the file before it exists. */
static struct {
	pthread_mutex_t lock;
	struct handle *head;
} creating = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* -o uid=,gid=,umask= (fs.h); (uid_t)-1 and (gid_t)-1: the mounting user. */
static struct fs_owner owner = {(uid_t)-1, (gid_t)-1, 077};

void fs_set_owner(const struct fs_owner *o)
{
	owner = *o;
}

static uid_t owner_uid(void)
{
	return owner.uid == (uid_t)-1 ? getuid() : owner.uid;
}

static gid_t owner_gid(void)
{
	return owner.gid == (gid_t)-1 ? getgid() : owner.gid;
}

/* The mode shown for a tree mode: what the owner may do, granted to group
 * and others as well, less the umask (fs.h). */
static mode_t shown_mode(mode_t mode)
{
	mode_t u = mode & 0700;

	return (u | u >> 3 | u >> 6) & ~owner.umask & 0777;
}

static struct school *school_of(void)
{
	return fuse_get_context()->private_data;
}

static struct handle *handle_of(struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* ------------------------------------------------------------------------
 * Kernel cache invalidation
 * ---------------------------------------------------------------------- */

struct inval {
	struct inval *next;
	char path[];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct inval *head, **tail;
	struct fuse *fuse;
	pthread_t thread;
	int running;
	int stop;
} notifier = {.lock = PTHREAD_MUTEX_INITIALIZER,
	      .cond = PTHREAD_COND_INITIALIZER};

static void notifier_queue(void *arg, const char *path)
{
	size_t n = strlen(path) + 1;
	struct inval *iv = malloc(sizeof(*iv) + n);

	(void)arg;
	if (!iv)
		return;
	memcpy(iv->path, path, n);
	iv->next = NULL;
	pthread_mutex_lock(&notifier.lock);
	if (!notifier.running) {
		pthread_mutex_unlock(&notifier.lock);
		free(iv);
		return;
	}
	*notifier.tail = iv;
	notifier.tail = &iv->next;
	pthread_cond_signal(&notifier.cond);
	pthread_mutex_unlock(&notifier.lock);
}

static void *notifier_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&notifier.lock);
	for (;;) {
		struct inval *iv;

		while (!notifier.head && !notifier.stop)
			pthread_cond_wait(&notifier.cond, &notifier.lock);
		if (!notifier.head)
			break;
		iv = notifier.head;
		notifier.head = iv->next;
		if (!notifier.head)
			notifier.tail = &notifier.head;
		pthread_mutex_unlock(&notifier.lock);
		/* -ENOENT means the kernel holds nothing for it: fine. */
		fuse_invalidate_path(notifier.fuse, iv->path);
		free(iv);
		pthread_mutex_lock(&notifier.lock);
	}
	pthread_mutex_unlock(&notifier.lock);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static struct timespec now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

/* A change made through the mount: path's content changed now, and with
 * parent set, its directory's listing too. */
static void changed(const char *path, int parent)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!mtimes)
		return;
	mtimes_touch(mtimes, path, now());
	if (!parent || !slash)
		return;
	n = slash > path ? (size_t)(slash - path) : 1;
	if (n >= sizeof(dir))
		return;
	memcpy(dir, path, n);
	dir[n] = '\0';
	mtimes_touch(mtimes, dir, now());
}

/* A rendering of path's content was seen (open). */
static void seen(const char *path, const struct buf *content)
{
	if (mtimes)
		mtimes_see(mtimes, path,
			   mtimes_hash(content->data, content->len), now());
}

/* The time path's content last changed: from the hash of what the stat
 * rendered, else what is known of it. */
static struct timespec file_time(const char *path, const struct view_attr *a)
{
	if (!mtimes)
		return mount_time;
	if (a->hashed)
		return mtimes_see(mtimes, path, a->hash, now());
	return mtimes_get(mtimes, path);
}

static void fill_stat(struct stat *st, const struct view_attr *a,
		      const char *path)
{
	memset(st, 0, sizeof(*st));
	switch (a->type) {
	case VIEW_DIR:
		st->st_mode = S_IFDIR | shown_mode(a->mode);
		st->st_nlink = 2;
		break;
	case VIEW_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		break;
	case VIEW_FILE:
		st->st_mode = S_IFREG | shown_mode(a->mode);
		st->st_nlink = 1;
		break;
	}
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_blksize = 4096;
	st->st_uid = owner_uid();
	st->st_gid = owner_gid();
	/* When the content last changed: it moves when the content does and
	 * only then, as rsync -a and find -newer need and as editors, which
	 * compare mtimes to detect outside changes, expect. */
	st->st_atim = st->st_mtim = st->st_ctim = file_time(path, a);
}

static void creating_add(struct handle *h)
{
	pthread_mutex_lock(&creating.lock);
	h->cnext = creating.head;
	creating.head = h;
	pthread_mutex_unlock(&creating.lock);
}

static void creating_remove(struct handle *h)
{
	struct handle **pp;

	pthread_mutex_lock(&creating.lock);
	for (pp = &creating.head; *pp; pp = &(*pp)->cnext) {
		if (*pp == h) {
			*pp = h->cnext;
			break;
		}
	}
	pthread_mutex_unlock(&creating.lock);
}

static int creating_has(const char *path)
{
	struct handle *h;
	int found = 0;

	pthread_mutex_lock(&creating.lock);
	for (h = creating.head; h && !found; h = h->cnext)
		found = !strcmp(h->path, path);
	pthread_mutex_unlock(&creating.lock);
	return found;
}

/* Parses and stats a path in one go: a file being created exists, an
 * unlinked name does not (for now). */
static int lookup(const char *path, struct tree_path *tp, struct view_attr *a)
{
	struct school *s = school_of();
	int r = tree_parse(path, tp);

	if (r)
		return r;
	if (creating_has(path)) {
		a->type = VIEW_FILE;
		a->mode = 0600;
		a->size = 0;
		a->write = VW_VALUE;
		a->hashed = 0;
		return 0;
	}
	if (scratch_unlinked(school_scratch(s), path))
		r = -ENOENT;
	else
		r = view_stat(s, path, tp, a);
	if (r)
		tree_path_free(tp);
	return r;
}

/* Files whose content a write replaces (what unlink frees for a create). */
static int takes_writes(enum view_write w)
{
	return w == VW_VALUE || w == VW_JSON || w == VW_CONTROL;
}

/* Where a new file of this name would be a scratch file: any other name
 * in users/E/, an editor's temporary name in users/E/properties/. */
static int scratch_place(struct school *s, const struct tree_path *tp,
			 const char *path)
{
	struct view_attr a;

	if (tp->node == N_USER_SCRATCH)
		return 1;
	if (tp->node != N_USER_PROP ||
	    !scratch_editor_name(strrchr(path, '/') + 1))
		return 0;
	if (tp->scratch)
		return 1;
	/* An editor's name that is also a defined property is the property. */
	return view_stat(s, path, tp, &a) == -ENOENT ||
	       (a.write == VW_SCRATCH);
}

static void handle_free(struct handle *h)
{
	if (!h)
		return;
	if (h->create)
		creating_remove(h);
	pthread_mutex_destroy(&h->lock);
	buf_free(&h->data);
	tree_path_free(&h->tp);
	free(h->path);
	free(h);
}

static struct handle *handle_new(const char *path, struct tree_path *tp,
				 enum view_write w)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->path = strdup(path);
	if (!h->path) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->tp = *tp; /* takes ownership */
	memset(tp, 0, sizeof(*tp));
	h->write = w;
	h->scratch = w == VW_SCRATCH;
	h->pid = fuse_get_context()->pid;
	return h;
}

/*
 * Applies the new content of an editable file for process pid: with the
 * content pid last read of it as the base (bases.h), which the saved
 * content then replaces; a process that read nothing saves without one.
 */
static int save(const char *path, const struct tree_path *tp, pid_t pid,
		const char *data, size_t len)
{
	struct school *s = school_of();
	struct bases *bases = school_bases(s);
	struct buf b = {0};
	struct edit_base base;
	unsigned long long who = bases_who(pid);
	int had = bases_get(bases, path, who, mono_now(), &b);
	int r;

	if (had < 0)
		return had;
	base.data = b.data ? b.data : "";
	base.len = b.len;
	r = edit_apply(s, path, tp, data, len, had ? &base : NULL);
	if (!r && had)
		bases_note(bases, path, who, data, len, 0);
	buf_free(&b);
	return r;
}

/* Sends the handle's content (a value or JSON file) or its unfinished
 * last line (a control file). Caller holds h->lock. */
static int apply(struct handle *h)
{
	int created = 0;
	int r;

	if (!h->dirty || h->scratch || h->refused)
		return 0;
	if (h->create) {
		r = edit_apply_create(school_of(), h->path, &h->tp,
				      h->data.data, h->data.len);
		if (!r && school_config(school_of())->dry_run) {
			/* A dry run made nothing: the file stays "being
			 * created" while open, so the creator's calls by path
			 * (touch sets times after a dup2 has flushed) find it,
			 * as they would after the real grant. */
		} else if (!r) {
			/* It exists now: later writes change it. */
			creating_remove(h);
			h->create = 0;
			created = 1;
		} else {
			/* It never will: every later write and close of this
			 * handle fails (a tool may close a dup first). */
			h->refused = r;
		}
	} else if (h->write == VW_CONTROL) {
		r = h->data.len ? edit_lines(school_of(), h->path, &h->tp,
					     h->data.data, h->data.len,
					     &h->lines)
				: 0;
	} else {
		r = save(h->path, &h->tp, h->pid, h->data.data, h->data.len);
	}
	/* Applied or refused, this content has had its answer; a second
	 * close of a dup'ed descriptor must not send it again. */
	h->dirty = 0;
	if (h->write == VW_CONTROL)
		buf_resize(&h->data, 0);
	if (r && !h->err)
		h->err = r;
	if (!r)
		notifier_queue(NULL, h->path);
	/* A control file's content stays empty. */
	if (!r && h->write != VW_CONTROL)
		changed(h->path, created);
	return r;
}

/* Reports (once) the first failure of this handle; a file that could not
 * be created fails every close. Caller holds h->lock. */
static int take_error(struct handle *h)
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
static int complete(const struct handle *h)
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

/* Control files stream: every complete line runs as it arrives, so a
 * million-line file needs memory for one line only. A write all of whose
 * lines failed fails; otherwise failures wait for close(). */
static int write_control(struct handle *h, const char *data, size_t size)
{
	struct edit_lines before = h->lines;
	const char *nl;
	size_t n, skip = 0;
	int r;

	if (h->resync) {
		/* The head of this line went with a failed write(): its tail
		 * must not run as a line of its own. */
		nl = memchr(data, '\n', size);
		if (!nl)
			return -EINVAL;
		skip = (size_t)(nl - data) + 1;
		h->resync = 0;
		errlog_add(h->path, 0, "the rest of a line cut by a failed "
			   "write was skipped");
		if (skip == size)
			return -EINVAL;
	}
	r = buf_append(&h->data, data + skip, size - skip);
	if (r)
		return r;
	h->dirty = 1;
	nl = memrchr(h->data.data, '\n', h->data.len);
	if (!nl) {
		if (h->data.len <= CONTROL_LINE_MAX)
			return (int)size;
		errlog_add(h->path, 0, "line longer than %d bytes refused",
			   CONTROL_LINE_MAX);
		buf_resize(&h->data, 0);
		h->dirty = 0;
		h->resync = 1;
		return -EINVAL;
	}
	n = (size_t)(nl - h->data.data) + 1;
	r = edit_lines(school_of(), h->path, &h->tp, h->data.data, n,
		       &h->lines);
	memmove(h->data.data, h->data.data + n, h->data.len - n);
	buf_resize(&h->data, h->data.len - n);
	h->dirty = h->data.len > 0;
	if (!r) {
		notifier_queue(NULL, h->path);
		return (int)size;
	}
	if (!h->err)
		h->err = r;
	/* close() reports it again: not every writer looks at write(). */
	if (h->lines.done - before.done == h->lines.failed - before.failed) {
		/* This write() fails as a whole, so none of its bytes may run
		 * later: the unfinished line after its last newline is its
		 * own (what came before held no newline) and goes too; the
		 * writer's next bytes would finish it, so they are skipped. */
		h->resync = h->data.len > 0;
		buf_resize(&h->data, 0);
		h->dirty = 0;
		return r;
	}
	return (int)size;
}

/* How open_node starts a handle's content. */
enum open_as {
	OPEN_EXISTING, /* the file's content (or none, with O_TRUNC) */
	OPEN_REPLACE,  /* created again after an unlink: what is written */
	OPEN_CREATE,   /* a new file: applying creates it */
};

/* Opens a handle on a node; a = its attributes. A created file (replace,
 * create) starts empty and is applied at the first flush, as an emptied
 * file is (so close() of `touch` reports a refused grant), except under
 * O_TRUNC: a shell's `> f` flushes once before it writes, so there an
 * unwritten file is applied on release only. */
static int open_node(const char *path, struct tree_path *tp,
		     const struct view_attr *a, struct fuse_file_info *fi,
		     enum open_as as)
{
	struct school *s = school_of();
	int acc = fi->flags & O_ACCMODE;
	int wants_write = acc != O_RDONLY || (fi->flags & O_TRUNC);
	struct handle *h;
	int r = 0;

	if (a->type == VIEW_DIR)
		return -EISDIR;
	if (wants_write && a->write == VW_NONE)
		return -EACCES;
	if (wants_write && school_config(s)->readonly &&
	    a->write != VW_SCRATCH && tp->node != N_META_REFRESH)
		return -EROFS;
	h = handle_new(path, tp, a->write);
	if (!h)
		return -ENOMEM;
	h->writable = wants_write;
	if (h->scratch) {
		if (fi->flags & O_TRUNC)
			r = scratch_truncate(school_scratch(s), path, 0);
		if (!r && (fi->flags & O_TRUNC))
			changed(path, 0);
	} else if (as != OPEN_EXISTING) {
		h->create = as == OPEN_CREATE;
		if (fi->flags & O_TRUNC)
			h->truncated = 1;
		else
			h->dirty = 1;
	} else if (fi->flags & O_TRUNC) {
		/* Not dirty yet: a shell's `echo x > f` flushes the O_TRUNC'd
		 * descriptor (close after dup2) before writing. An emptying
		 * with no write at all (`: > f`) is applied on release. */
		h->truncated = 1;
	} else if (a->write != VW_CONTROL) {
		r = view_render(s, &h->tp, &h->data);
		/* A token is new on every open, by design: its mtime would
		 * move on every read, and tar would say the file changed as
		 * it read it. */
		if (!r && h->tp.node != N_USER_LOGIN_TOKEN)
			seen(path, &h->data);
	}
	if (r) {
		handle_free(h);
		return r;
	}
	if (h->create)
		creating_add(h);
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

/* ------------------------------------------------------------------------
 * Operations
 * ---------------------------------------------------------------------- */

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct school *s = school_of();

	/* Entries are served from our own cache at no API cost, so one
	 * second of kernel caching only saves syscalls; changes made here
	 * invalidate them explicitly. Attributes are not cached by the
	 * kernel at all: sizes of live views change when their content is
	 * first fetched (progress.json reports 0 until read), and a stat
	 * is answered from memory anyway. Negative entries are not cached
	 * by the kernel: the school's negative cache answers them, and a
	 * member created elsewhere must show up. */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	/* Unlink really removes (no .fuse_hidden renames of open files). */
	cfg->hard_remove = 1;
	cfg->use_ino = 0;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->direct_io = 1;
	/* O_TRUNC arrives with open, so `> file` is one change, not an empty
	 * write followed by the real one. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Lookups in users/ each may wait for the API: let the kernel send
	 * them in parallel. Every handler here is thread-safe. (libfuse 3.14
	 * does not pass this flag on; fuseio.c grants it in the INIT reply.) */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;

	clock_gettime(CLOCK_REALTIME, &mount_time);
	/* Without it every time is the mount's: nothing worse. */
	mtimes = mtimes_new(MTIMES_MAX, mount_time);
	notifier.fuse = fuse_get_context()->fuse;
	notifier.tail = &notifier.head;
	notifier.stop = 0;
	if (!pthread_create(&notifier.thread, NULL, notifier_main, NULL))
		notifier.running = 1;
	school_set_invalidate(s, notifier_queue, NULL);
	return s;
}

static void fs_destroy(void *private_data)
{
	struct school *s = private_data;

	school_set_invalidate(s, NULL, NULL);
	pthread_mutex_lock(&notifier.lock);
	notifier.stop = 1;
	pthread_cond_signal(&notifier.cond);
	pthread_mutex_unlock(&notifier.lock);
	if (notifier.running)
		pthread_join(notifier.thread, NULL);
	notifier.running = 0;
	while (notifier.head) {
		struct inval *iv = notifier.head;

		notifier.head = iv->next;
		free(iv);
	}
	mtimes_free(mtimes);
	mtimes = NULL;
}

static int fs_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	struct tree_path tp;
	struct view_attr a;
	int r;

	if (h && !h->scratch && h->writable) {
		/* An open, written file shows what has been written. */
		pthread_mutex_lock(&h->lock);
		a.type = VIEW_FILE;
		a.mode = 0600;
		/* a control file's unfinished line is not its content */
		a.size = h->write == VW_CONTROL ? 0 : h->data.len;
		a.write = h->write;
		a.hashed = 0;
		pthread_mutex_unlock(&h->lock);
		fill_stat(st, &a, path);
		return 0;
	}
	r = lookup(path, &tp, &a);
	if (r)
		return r;
	tree_path_free(&tp);
	fill_stat(st, &a, path);
	return 0;
}

struct dir_fill {
	void *buf;
	fuse_fill_dir_t filler;
	const char *dir;     /* the listed directory's path */
	struct scratch *unl; /* set where unlinked names are to be hidden */
	uint64_t hash;	     /* of the names listed (mtimes_hash_name) */
};

static int dir_fill(void *arg, const char *name, enum view_type t)
{
	struct dir_fill *df = arg;
	char path[PATH_MAX];
	struct stat st;

	if (df->unl && t == VIEW_FILE &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", df->dir, name) <
		    sizeof(path) &&
	    scratch_unlinked(df->unl, path))
		return 0; /* looks removed, as a lookup says */
	df->hash = mtimes_hash_name(df->hash, name);
	memset(&st, 0, sizeof(st));
	st.st_mode = t == VIEW_DIR ? S_IFDIR : t == VIEW_LINK ? S_IFLNK
							      : S_IFREG;
	return df->filler(df->buf, name, &st, 0, 0) ? -ENOBUFS : 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct dir_fill df = {buf, filler, path, NULL, 0};
	struct tree_path tp;
	int r;

	(void)off;
	(void)fi;
	(void)flags;
	r = tree_parse(path, &tp);
	if (r)
		return r;
	/* Only files in a member's directories can be unlinked. */
	if (tp.node == N_USER || tp.node == N_USER_OFFERS ||
	    tp.node == N_USER_ORDERS || tp.node == N_USER_PROPS)
		df.unl = school_scratch(school_of());
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	r = view_list(school_of(), path, &tp, dir_fill, &df);
	tree_path_free(&tp);
	/* A directory's mtime moves when its listing does. */
	if (!r && mtimes)
		mtimes_see(mtimes, path, df.hash, now());
	return r == -ENOBUFS ? 0 : r;
}

static int fs_readlink(const char *path, char *out, size_t size)
{
	struct tree_path tp;
	struct view_attr a;
	struct buf b = {0};
	int r = lookup(path, &tp, &a);

	if (r)
		return r;
	r = a.type == VIEW_LINK ? view_readlink(school_of(), &tp, &b)
				: -EINVAL;
	if (!r && size) {
		size_t n = b.len < size - 1 ? b.len : size - 1;

		memcpy(out, b.data, n);
		out[n] = '\0';
	}
	buf_free(&b);
	tree_path_free(&tp);
	return r;
}

/* Opens users/E/offers/O that does not exist yet (edit_create checks the
 * name). Nothing is sent yet: the grant waits for the content. */
static int open_created(const char *path, struct tree_path *tp,
			struct fuse_file_info *fi)
{
	struct view_attr a = {
		.type = VIEW_FILE, .mode = 0600, .write = VW_VALUE};
	int r = edit_create(school_of(), tp);

	return r ? r : open_node(path, tp, &a, fi, OPEN_CREATE);
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct tree_path tp;
	struct view_attr a;
	int r = lookup(path, &tp, &a);

	if (r == -ENOENT && (fi->flags & O_ACCMODE) != O_RDONLY &&
	    !tree_parse(path, &tp)) {
		/* The kernel still holds the entry of a create that came to
		 * nothing a moment ago (entry_timeout), so an O_CREAT open
		 * arrives here and not in create: it is that create again. */
		r = tp.node == N_USER_OFFER ? open_created(path, &tp, fi)
					    : -ENOENT;
		tree_path_free(&tp);
		return r;
	}
	if (r)
		return r;
	r = open_node(path, &tp, &a, fi, OPEN_EXISTING);
	tree_path_free(&tp);
	return r;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct school *s = school_of();
	struct tree_path tp;
	struct view_attr a;
	int r = tree_parse(path, &tp);

	if (r)
		return r;
	r = view_stat(s, path, &tp, &a);
	if (!r && takes_writes(a.write) &&
	    scratch_unlinked_take(school_scratch(s), path)) {
		/* Unlinked a moment ago (mv from another filesystem, cp
		 * --remove-destination): what is written now replaces it. */
		r = open_node(path, &tp, &a, fi, OPEN_REPLACE);
		goto out;
	}
	if (!r) {
		/* Creating an editable file that exists opens it. */
		if (fi->flags & O_EXCL)
			r = -EEXIST;
		else
			r = open_node(path, &tp, &a, fi, OPEN_EXISTING);
		goto out;
	}
	if (r != -ENOENT)
		goto out;
	if (scratch_place(s, &tp, path)) {
		r = scratch_create(school_scratch(s), path, mode & 07777);
		if (!r)
			changed(path, 1);
		a.type = VIEW_FILE;
		a.mode = mode & 07777;
		a.size = 0;
		a.write = VW_SCRATCH;
		if (!r)
			r = open_node(path, &tp, &a, fi, OPEN_EXISTING);
		goto out;
	}
	r = open_created(path, &tp, fi);
out:
	tree_path_free(&tp);
	return r;
}

static int fs_read(const char *path, char *out, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	long n;

	if (!h)
		return -EBADF;
	if (h->scratch) {
		n = scratch_read(school_scratch(school_of()), path, out, size,
				 off);
		return (int)n;
	}
	/* Control files read as empty; data holds an unfinished line. */
	if (h->write == VW_CONTROL)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (!h->noted && !h->dirty &&
	    (h->write == VW_VALUE || h->write == VW_JSON)) {
		/* What this process sees is what its next save starts from. */
		h->noted = 1;
		bases_note(school_bases(school_of()), h->path,
			   bases_who(fuse_get_context()->pid), h->data.data ? h->data.data : "",
			   h->data.len, 1);
	}
	if ((size_t)off >= h->data.len) {
		n = 0;
	} else {
		n = (long)(h->data.len - (size_t)off);
		if ((size_t)n > size)
			n = (long)size;
		memcpy(out, h->data.data + off, (size_t)n);
	}
	pthread_mutex_unlock(&h->lock);
	return (int)n;
}

static int fs_write(const char *path, const char *data, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	size_t end;
	int r = 0;

	if (!h || !h->writable)
		return -EBADF;
	if (h->scratch) {
		long n = scratch_write(school_scratch(school_of()), path, data,
				       size, off);

		if (n >= 0)
			changed(path, 0);
		return (int)n;
	}
	if (h->write == VW_CONTROL) {
		pthread_mutex_lock(&h->lock);
		r = write_control(h, data, size);
		pthread_mutex_unlock(&h->lock);
		return r;
	}
	pthread_mutex_lock(&h->lock);
	if (fi->flags & O_APPEND)
		off = (off_t)h->data.len;
	end = (size_t)off + size;
	h->truncated = 0;
	if (h->refused) {
		/* The content is refused whatever follows. */
		r = h->refused;
		goto out;
	}
	if (end > view_max_write(h->write)) {
		errlog_add(path, 0, "write beyond %zu bytes refused",
			   view_max_write(h->write));
		/* What was written is incomplete: sending it would be wrong. */
		r = -EFBIG;
		goto refuse;
	}
	if (end > h->data.len)
		r = buf_resize(&h->data, end);
	if (r)
		goto out;
	memcpy(h->data.data + off, data, size);
	h->dirty = 1;
	r = edit_check_partial(path, &h->tp, h->write, h->data.data,
			       h->data.len);
	if (r)
		goto refuse;
	if (complete(h))
		r = apply(h); /* and close() reports it again */
	goto out;
refuse:
	h->refused = r;
	h->err = r; /* close() reports it again */
out:
	pthread_mutex_unlock(&h->lock);
	return r ? r : (int)size;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct school *s = school_of();
	struct handle *h = handle_of(fi);
	struct tree_path tp;
	struct view_attr a;
	struct buf b = {0};
	int r;

	if (h && !h->scratch) {
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
	r = lookup(path, &tp, &a);
	if (r)
		return r;
	if (a.write == VW_SCRATCH) {
		r = scratch_truncate(school_scratch(s), path, size);
		if (!r)
			changed(path, 0);
	} else if (a.write == VW_VALUE || a.write == VW_JSON) {
		/* truncate(1) on a closed file: one change, applied now. */
		r = view_render(s, &tp, &b);
		if (!r)
			r = buf_resize(&b, (size_t)size);
		if (!r)
			r = save(path, &tp, fuse_get_context()->pid, b.data,
				 b.len);
		if (!r)
			changed(path, 0);
	} else if (a.write == VW_CONTROL) {
		r = 0; /* nothing is stored in control files */
	} else {
		r = -EACCES;
	}
	buf_free(&b);
	tree_path_free(&tp);
	return r;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	int r;

	(void)path;
	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	r = take_error(h);
	pthread_mutex_unlock(&h->lock);
	return r;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	return fs_flush(path, fi);
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (h) {
		/* flush has reported what was written; what is left is an
		 * O_TRUNC open that was never written to, and content written
		 * after the last flush. Nobody can hear an error here: it
		 * goes to the error log only. */
		pthread_mutex_lock(&h->lock);
		if (h->truncated)
			h->dirty = 1; /* `: > f`: emptied, never written */
		apply(h);
		/* A file never created: the kernel should forget its entry. */
		if (h->create)
			notifier_queue(NULL, h->path);
		pthread_mutex_unlock(&h->lock);
		handle_free(h);
	}
	return 0;
}

static int fs_mkdir(const char *path, mode_t mode)
{
	struct tree_path tp;
	int r = tree_parse(path, &tp);

	(void)mode;
	if (r)
		return r == -ENOENT ? -EPERM : r;
	r = edit_mkdir(school_of(), &tp);
	tree_path_free(&tp);
	if (!r)
		changed(path, 1);
	return r;
}

static int fs_rmdir(const char *path)
{
	struct tree_path tp;
	struct view_attr a;
	int r = lookup(path, &tp, &a);

	if (r)
		return r;
	if (a.type != VIEW_DIR)
		r = -ENOTDIR;
	else
		r = edit_rmdir(school_of(), &tp);
	if (!r) {
		notifier_queue(NULL, path);
		changed(path, 1);
	}
	tree_path_free(&tp);
	return r;
}

static int fs_unlink(const char *path)
{
	struct school *s = school_of();
	struct tree_path tp;
	struct view_attr a;
	int r = lookup(path, &tp, &a);

	if (r)
		return r;
	if (a.write == VW_SCRATCH) {
		r = scratch_unlink(school_scratch(s), path);
		if (!r)
			changed(path, 1);
	} else {
		/* No request, no cache dropped (.memberspot/refresh does
		 * that); an editable file's name takes a create for a while.
		 * Should that table be full, only that create is lost. */
		r = edit_unlink(s, &tp);
		if (!r && takes_writes(a.write))
			scratch_unlinked_add(school_scratch(s), path);
	}
	tree_path_free(&tp);
	return r;
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	struct school *s = school_of();
	struct tree_path ftp, ttp;
	struct view_attr fa, ta;
	struct buf b = {0};
	int r, to_exists;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	r = lookup(from, &ftp, &fa);
	if (r)
		return r;
	r = tree_parse(to, &ttp);
	if (r)
		goto out_from;
	r = view_stat(s, to, &ttp, &ta);
	to_exists = !r;
	if (r && r != -ENOENT)
		goto out_to;
	if (to_exists && (flags & RENAME_NOREPLACE)) {
		r = -EEXIST;
		goto out_to;
	}
	if (fa.write == VW_SCRATCH && to_exists &&
	    (ta.write == VW_VALUE || ta.write == VW_JSON ||
	     ta.write == VW_CONTROL)) {
		/* An editor saving: the scratch content becomes the file. */
		r = scratch_get(school_scratch(s), from, &b);
		if (!r)
			r = save(to, &ttp, fuse_get_context()->pid, b.data,
				 b.len);
		if (!r) {
			scratch_unlink(school_scratch(s), from);
			scratch_unlinked_take(school_scratch(s), to);
			notifier_queue(NULL, to);
			changed(from, 1);
			if (ta.write != VW_CONTROL)
				changed(to, 0);
		}
	} else if (fa.write == VW_SCRATCH &&
		   (to_exists ? ta.write == VW_SCRATCH
			      : scratch_place(s, &ttp, to))) {
		r = scratch_rename(school_scratch(s), from, to);
		if (!r) {
			changed(from, 1);
			changed(to, 1);
		}
	} else if ((fa.write == VW_VALUE || fa.write == VW_JSON) &&
		   !to_exists && scratch_place(s, &ttp, to)) {
		/* vim's backup step: a scratch copy, the member unchanged. */
		r = view_render(s, &ftp, &b);
		if (!r)
			r = scratch_set(school_scratch(s), to, b.data, b.len,
					fa.mode);
		if (!r) {
			notifier_queue(NULL, from);
			changed(to, 1);
		}
	} else {
		r = -EPERM;
	}
	buf_free(&b);
out_to:
	tree_path_free(&ttp);
out_from:
	tree_path_free(&ftp);
	return r;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct tree_path tp;
	struct view_attr a;
	int r = lookup(path, &tp, &a);

	(void)fi;
	if (r)
		return r;
	if (a.write == VW_SCRATCH)
		r = scratch_chmod(school_scratch(school_of()), path,
				  mode & 07777);
	else if ((mode & 07777) != a.mode &&
		 (mode & 07777) != shown_mode(a.mode))
		r = -EPERM;
	tree_path_free(&tp);
	return r;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	struct tree_path tp;
	struct view_attr a;
	int r = lookup(path, &tp, &a);

	(void)fi;
	if (r)
		return r;
	tree_path_free(&tp);
	if (a.write == VW_SCRATCH)
		return 0;
	if ((uid != (uid_t)-1 && uid != owner_uid()) ||
	    (gid != (gid_t)-1 && gid != owner_gid()))
		return -EPERM;
	return 0;
}

static int fs_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	struct tree_path tp;
	struct view_attr a;
	int r;

	(void)tv;
	if (handle_of(fi))
		return 0;
	r = lookup(path, &tp, &a);
	if (!r)
		tree_path_free(&tp);
	/* touch of a file a dry run "created" (its grant was not sent):
	 * the times are set as the real run would have, i.e. nothing. */
	if (r == -ENOENT && school_config(school_of())->dry_run)
		r = 0;
	return r; /* touch of an existing entry: nothing to change */
}

static int fs_refuse_link(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EPERM;
}

static int fs_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_namemax = 255;
	return 0;
}

static const struct fuse_operations ops = {
	.init = fs_init,
	.destroy = fs_destroy,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.readlink = fs_readlink,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.write = fs_write,
	.truncate = fs_truncate,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.release = fs_release,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.unlink = fs_unlink,
	.rename = fs_rename,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.utimens = fs_utimens,
	.symlink = fs_refuse_link,
	.link = fs_refuse_link,
	.statfs = fs_statfs,
};

const struct fuse_operations *fs_operations(void)
{
	return &ops;
}

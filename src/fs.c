/*
 * fs.c - the FUSE operations (high-level, path-based API).
 *
 * Design:
 * - Each handler takes the FUSE arguments, calls one function of
 *   openfile.h (what a call on a path or an open file means: writes,
 *   closes, O_TRUNC, control files, renames that save, scratch files,
 *   created files) and returns its errno. No handler knows about the API,
 *   the cache or the content of a file.
 * - An open file is a struct openfile in fi->fh. openfile decides how the
 *   kernel may cache it (openfile_cached): a stable view whose content is
 *   what the last stat showed keeps the page cache (keep_cache), so a
 *   second cat reads nothing from here; everything else is direct_io
 *   (which also drops the pages at open): live views, writes, and any
 *   content that differs from what the kernel holds, so the page cache
 *   never serves an old copy or cuts a read short.
 * - Kernel caches: attributes and entries are kept for cache_ttl; a
 *   change, a refresh or an expiry (school_expired, asked every second)
 *   queues the affected paths; a notifier thread tells the kernel to
 *   forget them, outside the handler that caused it.
 * - Permissions are the kernel's (default_permissions, which main adds
 *   with allow_other): fill_stat shows the owner and every mode as
 *   -o uid=,gid=,umask= make them (fs.h), and no handler checks callers.
 * - Times: mtime and ctime are when the content last changed as the mount
 *   saw it (mtimes.h, kept through openfile.h). Control files read as
 *   empty, so nothing in the tree refuses a read (tar, rsync -a, cp -r,
 *   grep -r).
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "mtimes.h"
#include "openfile.h"
#include "school.h"
#include "stats.h"
#include "tree.h"
#include "views.h"

/* When each path's content last changed (mtimes.h). At most this many
 * paths, 32 to 64 bytes each (mtimes.h); beyond, all are forgotten and every
 * time moves on (never back), so nothing changed is ever hidden from rsync. */
#define MTIMES_MAX (1u << 20)

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

/* The mount's files: private_data from init on (init gets the school). */
static struct openfiles *files_of(void)
{
	return fuse_get_context()->private_data;
}

static pid_t caller(void)
{
	return fuse_get_context()->pid;
}

static struct openfile *handle_of(struct fuse_file_info *fi)
{
	return fi ? (struct openfile *)(uintptr_t)fi->fh : NULL;
}

/* ------------------------------------------------------------------------
 * Kernel cache invalidation
 * ---------------------------------------------------------------------- */

struct inval {
	struct inval *next;
	char path[];
};

/* Paths to forget, in order. */
struct invals {
	struct inval *head, **tail;
};

/*
 * Two queues: what a FUSE handler queued (a change, a refresh, an open that
 * found new content) comes first, and changes wait for it (notifier_sync);
 * what the notifier itself queued from the expiry scan (up to every cached
 * member's files at once) is done in between, one path at a time, so that
 * no change waits behind it.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t done_cond;   /* signalled as urgent paths are done */
	struct invals urgent, bulk; /* queued by handlers / by the notifier */
	unsigned long queued, done; /* urgent paths queued and done so far */
	struct fuse *fuse;
	struct school *school;
	pthread_t thread;
	int running;
	int stop;
	unsigned delay_us; /* test hook: a slow notifier (see forget_path) */
} notifier = {.lock = PTHREAD_MUTEX_INITIALIZER,
	      .cond = PTHREAD_COND_INITIALIZER,
	      .done_cond = PTHREAD_COND_INITIALIZER};

static void invals_push(struct invals *q, struct inval *iv)
{
	*q->tail = iv;
	q->tail = &iv->next;
}

static struct inval *invals_pop(struct invals *q)
{
	struct inval *iv = q->head;

	if (iv) {
		q->head = iv->next;
		if (!q->head)
			q->tail = &q->head;
	}
	return iv;
}

static void invals_free(struct invals *q)
{
	struct inval *iv;

	while ((iv = invals_pop(q)))
		free(iv);
}

static int notifier_idle(void)
{
	return !notifier.urgent.head && !notifier.bulk.head;
}

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
	if (pthread_equal(pthread_self(), notifier.thread)) {
		invals_push(&notifier.bulk, iv);
	} else {
		invals_push(&notifier.urgent, iv);
		notifier.queued++;
	}
	pthread_cond_signal(&notifier.cond);
	pthread_mutex_unlock(&notifier.lock);
}

/* The test hook's delay (forget_path), at most a second. */
static unsigned test_delay_us(void)
{
	const char *v = getenv("MEMBERSPOTFS_TEST_FORGET_DELAY_MS");
	char *end;
	unsigned long ms;

	if (!v || !*v)
		return 0;
	ms = strtoul(v, &end, 10);
	return *end || ms > 1000 ? 0 : (unsigned)ms * 1000;
}

/* Tells the kernel to forget path: its attributes and pages. Names stay
 * (an entry's invalidation would drop the directory from under a shell
 * whose working directory it is: getcwd fails); a name gone from the
 * school fails its next getattr with ENOENT. */
static void forget_path(const char *path)
{
	/* A test hook, MEMBERSPOTFS_TEST_FORGET_DELAY_MS: each forget takes
	 * that much longer, as on a loaded machine or under valgrind, where
	 * the order of a change, its forgets and the caller's next stat
	 * matter (test_kcache). */
	if (notifier.delay_us)
		usleep(notifier.delay_us);
	/* -ENOENT means the kernel holds nothing for it: fine. */
	stats_add(STAT_KERNEL_FORGETS, 1);
	fuse_invalidate_path(notifier.fuse, path);
}

/* Every EXPIRY_TICK seconds the school says which cached values expired
 * since the last time, and the kernel forgets what it made of them. */
#define EXPIRY_TICK 1.0

static void notifier_wait(double *checked)
{
	struct timespec until;
	double now = mono_now();

	if (now - *checked >= EXPIRY_TICK) {
		pthread_mutex_unlock(&notifier.lock);
		school_expired(notifier.school, *checked, now);
		pthread_mutex_lock(&notifier.lock);
		*checked = now;
		return;
	}
	if (!notifier_idle() || notifier.stop)
		return;
	/* the condition's clock; a clock step only moves one tick */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_cond_timedwait(&notifier.cond, &notifier.lock, &until);
}

static void *notifier_main(void *arg)
{
	double checked = mono_now();

	(void)arg;
	pthread_mutex_lock(&notifier.lock);
	for (;;) {
		struct inval *iv;
		int urgent;

		while (notifier_idle() && !notifier.stop)
			notifier_wait(&checked);
		/* Stopped: the kernel is going away, and what is queued is
		 * dropped (the paths would be resolved in libfuse's nodes,
		 * which fuse_destroy frees). */
		if (notifier.stop)
			break;
		iv = invals_pop(&notifier.urgent);
		urgent = iv != NULL;
		if (!iv)
			iv = invals_pop(&notifier.bulk);
		pthread_mutex_unlock(&notifier.lock);
		forget_path(iv->path);
		free(iv);
		pthread_mutex_lock(&notifier.lock);
		if (urgent) {
			notifier.done++;
			pthread_cond_broadcast(&notifier.done_cond);
		}
	}
	pthread_mutex_unlock(&notifier.lock);
	return NULL;
}

/* The longest a change waits for the kernel to forget what it showed. */
#define SYNC_MAX_S 5

/* Waits until the kernel has forgotten every path handlers queued so far
 * (not the expiry scan's: notifier_queue). A handler
 * that may have changed something calls it last, holding no lock, so the
 * caller's next stat or open after close(), rm or mv sees the change: the
 * forgets are queued (the school names them with its locks held, and the
 * kernel's invalidation may wait on a page whose read needs them) but are
 * done before the operation returns. Bounded: past SYNC_MAX_S the change
 * is still made, and the kernel's copy is forgotten a moment later. */
static void notifier_sync(void)
{
	struct timespec until;
	unsigned long target;

	pthread_mutex_lock(&notifier.lock);
	target = notifier.queued;
	if (notifier.running && notifier.done < target) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SYNC_MAX_S;
		while (!notifier.stop && notifier.done < target &&
		       pthread_cond_timedwait(&notifier.done_cond,
					      &notifier.lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&notifier.lock);
}

/* A handler's result, once the kernel forgot what it changed. */
static int synced(int r)
{
	notifier_sync();
	return r;
}

/* The school's changes: openfile adds the paths that show the same data,
 * and moves the time of a listing that gained or lost path. */
static void school_forgets(void *arg, const char *path, int listed)
{
	/* The school names every path whose content changed (school.h). */
	if (listed)
		openfile_forget_entry(arg, path);
	else
		openfile_forget_path(arg, path);
}

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

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
	st->st_atim = st->st_mtim = st->st_ctim =
		openfile_time(files_of(), path, a);
}

/* An open file's handle to the FUSE file info, with its caching. */
static int opened(int r, struct openfile *h, struct fuse_file_info *fi)
{
	if (r)
		return r;
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = openfile_cached(h);
	fi->direct_io = !fi->keep_cache;
	fi->noflush = openfile_noflush(h);
	return 0;
}

/* ------------------------------------------------------------------------
 * Operations
 * ---------------------------------------------------------------------- */

/* The kernel's caches and capabilities, set explicitly. */
static void set_caching(struct fuse_conn_info *conn, struct fuse_config *cfg,
			double ttl)
{
	/* Entries and attributes are kept by the kernel as long as the
	 * school keeps what they show (cache_ttl): a warm `ls -l` and `cat`
	 * cost no round trip for each stat. The kernel is told to forget
	 * them when that changes: a change or refresh made here, and the
	 * expiry of the cached data they came from (school_expired, every
	 * second), so nothing is shown for longer than cache_ttl and a
	 * second. Content is never stale for that: an open renders it and
	 * is served from the page cache only when it is what the kernel was
	 * shown (openfile.h). Negative entries are not cached by the
	 * kernel: the school's negative cache answers them, and a member
	 * created elsewhere must show up. */
	cfg->entry_timeout = ttl;
	cfg->attr_timeout = ttl;
	cfg->negative_timeout = 0;
	/* Unlink really removes (no .fuse_hidden renames of open files). */
	cfg->hard_remove = 1;
	cfg->use_ino = 0;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->direct_io = 0; /* per open: opened() */
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
}

/* Returns the mount's files, the private_data of every later call. Without
 * memory for them the mount cannot work at all: it exits. */
static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct school *s = fuse_get_context()->private_data;
	struct openfile_env env;
	struct openfiles *files;
	struct timespec epoch;

	set_caching(conn, cfg, school_config(s)->cache_ttl);
	openfile_env_school(&env, s);
	clock_gettime(CLOCK_REALTIME, &epoch);
	/* Without it every time is the mount's: nothing worse. */
	env.mtimes = mtimes_new(MTIMES_MAX, epoch);
	env.invalidate = notifier_queue;
	files = openfiles_new(&env);
	if (!files)
		abort();
	notifier.fuse = fuse_get_context()->fuse;
	notifier.school = s;
	notifier.urgent.tail = &notifier.urgent.head;
	notifier.bulk.tail = &notifier.bulk.head;
	notifier.stop = 0;
	notifier.delay_us = test_delay_us();
	/* Under the lock, which the thread takes first: it finds itself in
	 * notifier.thread (notifier_queue tells its paths by it). */
	pthread_mutex_lock(&notifier.lock);
	if (!pthread_create(&notifier.thread, NULL, notifier_main, NULL))
		notifier.running = 1;
	pthread_mutex_unlock(&notifier.lock);
	school_set_invalidate(s, school_forgets, files);
	return files;
}

void fs_stop(void)
{
	int running;

	pthread_mutex_lock(&notifier.lock);
	notifier.stop = 1;
	running = notifier.running;
	notifier.running = 0; /* nothing more is queued */
	pthread_cond_signal(&notifier.cond);
	pthread_cond_broadcast(&notifier.done_cond);
	pthread_mutex_unlock(&notifier.lock);
	if (running)
		pthread_join(notifier.thread, NULL);
	invals_free(&notifier.urgent);
	invals_free(&notifier.bulk);
}

static void fs_destroy(void *private_data)
{
	struct openfiles *files = private_data;
	const struct openfile_env *env = openfiles_env(files);

	school_set_invalidate(env->school, NULL, NULL);
	fs_stop();
	mtimes_free(env->mtimes);
	openfiles_free(files);
}

static int fs_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct view_attr a;
	int r = openfile_stat(files_of(), handle_of(fi), path, &a);

	if (!r)
		fill_stat(st, &a, path);
	return r;
}

/*
 * A directory being read: its listing, taken when reading starts (offset
 * 0, also after a rewinddir) and then served from here by offset, each
 * READDIR of the same open going on from the offset it names (the kernel
 * may ask again from an entry it was given but could not pass on). The
 * names one after another, each NUL-terminated and followed by its type,
 * and where each starts: some 30 bytes a member in users/. (A listing
 * given to libfuse without offsets is kept by libfuse as a struct stat
 * and a copy of each name: over 200 bytes a member, 20 MB at each `ls` of
 * 100,000 members.)
 */
struct dir_list {
	struct buf names;
	struct buf starts; /* uint32_t: where entry i starts in names */
};

static int dir_add(void *arg, const char *name, enum view_type t)
{
	struct dir_list *d = arg;
	char type = (char)t;
	uint32_t start = (uint32_t)d->names.len;
	int r;

	if (d->names.len > UINT32_MAX - 4096)
		return -ENOMEM; /* 4 GiB of names: not a listing */
	r = buf_append(&d->starts, &start, sizeof(start));
	if (!r)
		r = buf_append(&d->names, name, strlen(name) + 1);
	return r ? r : buf_append(&d->names, &type, 1);
}

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct dir_list *d = calloc(1, sizeof(*d));

	(void)path;
	if (!d)
		return -ENOMEM;
	fi->fh = (uintptr_t)d;
	return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct dir_list *d = (struct dir_list *)(uintptr_t)fi->fh;

	(void)path;
	if (d) {
		buf_free(&d->names);
		buf_free(&d->starts);
	}
	free(d);
	return 0;
}

/* Takes the listing of path into d. */
static int dir_take(struct dir_list *d, const char *path)
{
	int r;

	buf_resize(&d->names, 0);
	buf_resize(&d->starts, 0);
	r = dir_add(d, ".", VIEW_DIR);
	if (!r)
		r = dir_add(d, "..", VIEW_DIR);
	if (!r)
		r = openfile_list(files_of(), path, dir_add, d);
	return r;
}

/* Entry i of the listing taken: its offset is i + 1. */
static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct dir_list *d = (struct dir_list *)(uintptr_t)fi->fh;
	size_t i, n;
	struct stat st;
	int r;

	(void)flags;
	if (!d)
		return -EBADF;
	if (off == 0) {
		r = dir_take(d, path);
		if (r)
			return r;
	}
	n = d->starts.len / sizeof(uint32_t);
	memset(&st, 0, sizeof(st));
	for (i = off < 0 ? 0 : (size_t)off; i < n; i++) {
		uint32_t start;
		const char *name;
		enum view_type t;

		memcpy(&start, d->starts.data + i * sizeof(start),
		       sizeof(start));
		name = buf_at(&d->names, start);
		t = (enum view_type)name[strlen(name) + 1];
		st.st_mode = t == VIEW_DIR    ? S_IFDIR
			     : t == VIEW_LINK ? S_IFLNK
					      : S_IFREG;
		if (filler(buf, name, &st, (off_t)i + 1, 0))
			break; /* the reply is full */
	}
	return 0;
}

static int fs_readlink(const char *path, char *out, size_t size)
{
	struct openfiles *files = files_of();
	struct tree_path tp;
	struct view_attr a;
	struct buf b = {0};
	int r = openfile_lookup(files, path, &tp, &a);

	if (r)
		return r;
	r = a.type == VIEW_LINK
		    ? view_readlink(openfiles_env(files)->school, &tp, &b)
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

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct openfile *h = NULL;
	int r = openfile_open(files_of(), path, fi->flags, caller(), &h);

	r = opened(r, h, fi);
	return (fi->flags & O_ACCMODE) == O_RDONLY ? r : synced(r);
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct openfile *h = NULL;
	int r = openfile_create(files_of(), path, mode, fi->flags, caller(),
				&h);

	return synced(opened(r, h, fi));
}

static int fs_read(const char *path, char *out, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct openfile *h = handle_of(fi);

	stats_add(STAT_FUSE_READS, 1);
	if (!h)
		return -EBADF;
	return (int)openfile_read(h, path, out, size, off, caller());
}

static int fs_write(const char *path, const char *data, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct openfile *h = handle_of(fi);

	if (!h)
		return -EBADF;
	return synced((int)openfile_write(h, path, data, size, off));
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	return synced(openfile_truncate(files_of(), handle_of(fi), path, size,
					caller()));
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct openfile *h = handle_of(fi);

	(void)path;
	return h ? synced(openfile_flush(h)) : 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	return fs_flush(path, fi);
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct openfile *h = handle_of(fi);

	(void)path;
	if (h)
		openfile_release(h);
	return 0;
}

static int fs_mkdir(const char *path, mode_t mode)
{
	(void)mode;
	return synced(openfile_mkdir(files_of(), path));
}

static int fs_rmdir(const char *path)
{
	return synced(openfile_rmdir(files_of(), path));
}

static int fs_unlink(const char *path)
{
	return synced(openfile_unlink(files_of(), path));
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	return synced(openfile_rename(files_of(), from, to, flags, caller()));
}

/* chmod and chown: 1 for an editor's scratch file (its own to change),
 * 0 for a view (*a set), or -errno. */
static int owned_by_editor(const char *path, struct view_attr *a)
{
	int r = openfile_lookup(files_of(), path, NULL, a);

	return r ? r : a->write == VW_SCRATCH;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct view_attr a;
	int r = owned_by_editor(path, &a);

	(void)fi;
	if (r)
		return r < 0 ? r
			     : openfile_chmod_scratch(files_of(), path, mode);
	if ((mode & 07777) != a.mode && (mode & 07777) != shown_mode(a.mode))
		return -EPERM;
	return 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	struct view_attr a;
	int r = owned_by_editor(path, &a);

	(void)fi;
	if (r)
		return r < 0 ? r : 0;
	if ((uid != (uid_t)-1 && uid != owner_uid()) ||
	    (gid != (gid_t)-1 && gid != owner_gid()))
		return -EPERM;
	return 0;
}

static int fs_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	(void)tv;
	if (handle_of(fi))
		return 0;
	return synced(openfile_utimens(files_of(), path));
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
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
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

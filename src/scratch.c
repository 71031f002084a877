/*
 * scratch: editors' temporary files, held in memory.
 *
 * Files live in a strmap keyed by their full mount path, under one
 * mutex: editors keep a handful of such files at a time. Listing a
 * directory or dropping a member's files visits the whole map, which is
 * small next to the API calls that surround those operations.
 *
 * Limits: SCRATCH_MAX_FILE and SCRATCH_MAX_TOTAL count content bytes, the
 * sizes users see; MAX_FILES bounds the count so that empty files cannot
 * grow memory either. Content is a struct buf, whose capacity may reach
 * twice its length; a file that shrinks well below its capacity is copied
 * into a fitting buffer so that memory held stays within a small factor
 * of the bytes counted. Every change is prepared before the old state is
 * touched, so a failing call leaves the file as it was.
 *
 * Modes: only permission bits are kept; scratch_stat reports them with
 * S_IFREG, ready for st_mode.
 *
 * Editors' names: which names are an editor's temporaries is said once,
 * in editor_names[] below (fnmatch patterns); fs.c and README.md follow
 * that table.
 *
 * Unlinked names live in a second strmap, each with the time it stops
 * being remembered (monotonic); an expired name is dropped when it is
 * looked up, and all expired ones before the map would grow.
 */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "scratch.h"
#include "strmap.h"

/* Far beyond what editors leave behind; the bound is for runaway scripts. */
#define MAX_FILES 65536

struct sfile {
	mode_t mode; /* permission bits */
	struct buf data;
};

/* An unlinked name: when it stops being remembered (monotonic seconds). */
struct uname {
	double until;
};

struct scratch {
	pthread_mutex_t lock;
	struct strmap *files;	 /* path -> struct sfile */
	size_t total;		 /* content bytes of all files */
	struct strmap *unlinked; /* path -> struct uname */
};

/*
 * The temporary names editors create next to the file they edit, as
 * fnmatch(3) patterns with GNU extended matching. The only such table:
 * what is not here is no scratch file in users/E/properties/.
 */
static const char *const editor_names[] = {
	/* vim's swap files (.X.swp, then .X.swo ... .X.saa; .X.swx in its
	 * directory check) and nano's lock file (.X.swp) */
	".?*.s[a-z][a-z]",
	/* vim's test whether it may create files here (4913, 5036, ...) */
	"+([0-9])",
	/* backups: vim, nano -B and emacs (X~, emacs's X.~1~) */
	"?*~",
	/* sed -i: mkstemp("sedXXXXXX") */
	"sed[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]",
	/* perl -i: mkstemp("XXXXXXXX"), whose last six are replaced */
	"XX[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]",
	/* emacs: auto-save #X# and lock .#X */
	"#?*#",
	".#?*",
};

/* ------------------------------------------------------------------ */
/* Table (called with s->lock held)                                    */
/* ------------------------------------------------------------------ */

static struct sfile *find(struct scratch *s, const char *path)
{
	return strmap_get(s->files, path);
}

static void sfile_free(void *value)
{
	struct sfile *f = value;

	buf_free(&f->data);
	free(f);
}

/* Forgets f, a file just taken out of s->files. */
static void forget(struct scratch *s, struct sfile *f)
{
	s->total -= f->data.len;
	sfile_free(f);
}

/* Adds an empty file. 0, -ENOSPC or -ENOMEM. */
static int add(struct scratch *s, const char *path, mode_t mode,
	       struct sfile **out)
{
	struct sfile *f;

	if (strmap_count(s->files) >= MAX_FILES)
		return -ENOSPC;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (strmap_put(s->files, path, f, NULL)) {
		free(f);
		return -ENOMEM;
	}
	f->mode = mode & 07777;
	*out = f;
	return 0;
}

/* Sets f's length to len, zero-filling growth and accounting for it.
 * 0, -EFBIG, -ENOSPC or -ENOMEM (f unchanged). */
static int resize(struct scratch *s, struct sfile *f, size_t len)
{
	struct buf fit = {0};
	size_t old = f->data.len;
	int rc;

	if (len > SCRATCH_MAX_FILE)
		return -EFBIG;
	if (len > old && len - old > SCRATCH_MAX_TOTAL - s->total)
		return -ENOSPC;
	if (len < old && f->data.cap / 4 > len + 64) {
		rc = buf_append(&fit, f->data.data, len);
		if (rc)
			return rc;
		buf_free(&f->data);
		f->data = fit;
	} else {
		rc = buf_resize(&f->data, len);
		if (rc)
			return rc;
	}
	s->total = s->total - old + len;
	return 0;
}

/* 1 when path is dir + "/" + something (anything when deep, else a name
 * without '/'); *name is then set to the part after dir + "/". */
static int inside(const char *path, const char *dir, size_t dlen, int deep,
		  const char **name)
{
	if (strncmp(path, dir, dlen) != 0 || path[dlen] != '/' ||
	    path[dlen + 1] == '\0')
		return 0;
	*name = path + dlen + 1;
	return deep || strchr(*name, '/') == NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

struct scratch *scratch_new(void)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->files = strmap_new();
	s->unlinked = strmap_new();
	if (!s->files || !s->unlinked)
		goto free_maps;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto free_maps;
	return s;

free_maps:
	strmap_free(s->unlinked, NULL);
	strmap_free(s->files, NULL);
	free(s);
	return NULL;
}

void scratch_free(struct scratch *s)
{
	if (!s)
		return;
	strmap_free(s->files, sfile_free);
	strmap_free(s->unlinked, free);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

int scratch_create(struct scratch *s, const char *path, mode_t mode)
{
	struct sfile *f;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	/* Like open(O_CREAT|O_TRUNC): an existing file keeps its mode. */
	if (f)
		rc = resize(s, f, 0);
	else
		rc = add(s, path, mode, &f);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int scratch_stat(struct scratch *s, const char *path, size_t *size,
		 mode_t *mode)
{
	struct sfile *f;

	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	if (f) {
		if (size)
			*size = f->data.len;
		if (mode)
			*mode = S_IFREG | f->mode;
	}
	pthread_mutex_unlock(&s->lock);
	return f != NULL;
}

long scratch_read(struct scratch *s, const char *path, char *out, size_t len,
		  off_t off)
{
	struct sfile *f;
	long n;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	if (!f) {
		n = -ENOENT;
	} else if ((uint64_t)off >= f->data.len) {
		n = 0;
	} else {
		n = (long)(f->data.len - (size_t)off < len
				   ? f->data.len - (size_t)off
				   : len);
		memcpy(out, f->data.data + off, (size_t)n);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

long scratch_write(struct scratch *s, const char *path, const char *data,
		   size_t len, off_t off)
{
	struct sfile *f;
	long rc;

	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off > SCRATCH_MAX_FILE ||
	    len > SCRATCH_MAX_FILE - (size_t)off)
		return -EFBIG;
	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	if (!f) {
		rc = -ENOENT;
		goto unlock;
	}
	if (len == 0) {
		rc = 0;
		goto unlock;
	}
	if ((size_t)off + len > f->data.len) {
		rc = resize(s, f, (size_t)off + len);
		if (rc)
			goto unlock;
	}
	memcpy(f->data.data + off, data, len);
	rc = (long)len;
unlock:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int scratch_truncate(struct scratch *s, const char *path, off_t size)
{
	struct sfile *f;
	int rc;

	if (size < 0)
		return -EINVAL;
	if ((uint64_t)size > SCRATCH_MAX_FILE)
		return -EFBIG;
	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	rc = f ? resize(s, f, (size_t)size) : -ENOENT;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int scratch_get(struct scratch *s, const char *path, struct buf *out)
{
	struct sfile *f;
	int rc;

	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	rc = f ? buf_append(out, f->data.data, f->data.len) : -ENOENT;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int scratch_set(struct scratch *s, const char *path, const char *data,
		size_t len, mode_t mode)
{
	struct buf content = {0};
	struct sfile *f;
	size_t old;
	int rc;

	if (len > SCRATCH_MAX_FILE)
		return -EFBIG;
	rc = buf_append(&content, data, len);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	old = f ? f->data.len : 0;
	if (len > old && len - old > SCRATCH_MAX_TOTAL - s->total) {
		rc = -ENOSPC;
		goto unlock;
	}
	if (!f) {
		rc = add(s, path, mode, &f);
		if (rc)
			goto unlock;
	}
	buf_free(&f->data);
	f->data = content;
	content = (struct buf){0};
	f->mode = mode & 07777;
	s->total = s->total - old + len;
unlock:
	pthread_mutex_unlock(&s->lock);
	buf_free(&content);
	return rc;
}

int scratch_chmod(struct scratch *s, const char *path, mode_t mode)
{
	struct sfile *f;

	pthread_mutex_lock(&s->lock);
	f = find(s, path);
	if (f)
		f->mode = mode & 07777;
	pthread_mutex_unlock(&s->lock);
	return f ? 0 : -ENOENT;
}

int scratch_unlink(struct scratch *s, const char *path)
{
	struct sfile *f;

	pthread_mutex_lock(&s->lock);
	f = strmap_remove(s->files, path);
	if (f)
		forget(s, f);
	pthread_mutex_unlock(&s->lock);
	return f ? 0 : -ENOENT;
}

/* Like rename(2): an existing target is replaced, and renaming a file onto
 * itself changes nothing. The target's entry is made first, so running
 * out of memory leaves both names as they were. */
int scratch_rename(struct scratch *s, const char *from, const char *to)
{
	struct sfile *f;
	void *old = NULL;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	f = find(s, from);
	if (!f) {
		rc = -ENOENT;
		goto unlock;
	}
	if (strcmp(from, to) == 0)
		goto unlock;
	rc = strmap_put(s->files, to, f, &old);
	if (rc)
		goto unlock;
	strmap_remove(s->files, from);
	if (old)
		forget(s, old);
unlock:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Names are copied under the lock and fn is called without it, so fn may
 * itself use the scratch store (fs's readdir fills a FUSE buffer). */
/* The names scratch_list collects, under the lock. */
struct listing {
	const char *dir;
	size_t dlen, n, cap;
	char **names;
	int rc;
};

static enum strmap_visit list_one(void *arg, const char *path, void *value)
{
	struct listing *l = arg;
	const char *name;
	char **grown;

	if (!inside(path, l->dir, l->dlen, 0, &name))
		return STRMAP_KEEP;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		grown = realloc(l->names, l->cap * sizeof(*grown));
		if (!grown)
			goto nomem;
		l->names = grown;
	}
	l->names[l->n] = strdup(name);
	if (!l->names[l->n])
		goto nomem;
	l->n++;
	return STRMAP_KEEP;

nomem:
	l->rc = -ENOMEM;
	return STRMAP_STOP;
}

int scratch_list(struct scratch *s, const char *dir,
		 int (*fn)(void *arg, const char *name), void *arg)
{
	struct listing l = {.dir = dir, .dlen = strlen(dir)};
	size_t i;
	int rc;

	pthread_mutex_lock(&s->lock);
	strmap_visit(s->files, list_one, &l);
	pthread_mutex_unlock(&s->lock);
	rc = l.rc;
	for (i = 0; i < l.n && rc == 0; i++)
		rc = fn(arg, l.names[i]);
	for (i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	return rc;
}

/* What scratch_drop_dir drops, from one map at a time. */
struct dropping {
	struct scratch *s;
	const char *dir;
	size_t dlen;
	int files; /* 1: s->files (a struct sfile), 0: s->unlinked */
};

static enum strmap_visit drop_inside(void *arg, const char *path, void *value)
{
	struct dropping *d = arg;
	const char *name;

	if (!inside(path, d->dir, d->dlen, 1, &name))
		return STRMAP_KEEP;
	if (d->files)
		forget(d->s, value);
	else
		free(value);
	return STRMAP_REMOVE;
}

void scratch_drop_dir(struct scratch *s, const char *dir)
{
	struct dropping d = {s, dir, strlen(dir), 1};

	pthread_mutex_lock(&s->lock);
	strmap_visit(s->files, drop_inside, &d);
	d.files = 0;
	strmap_visit(s->unlinked, drop_inside, &d);
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Editors' names                                                      */
/* ------------------------------------------------------------------ */

int scratch_editor_name(const char *name)
{
	size_t i;

	if (!*name || strchr(name, '/'))
		return 0;
	for (i = 0; i < sizeof(editor_names) / sizeof(editor_names[0]); i++)
		if (!fnmatch(editor_names[i], name, FNM_EXTMATCH))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Unlinked names                                                      */
/* ------------------------------------------------------------------ */

static enum strmap_visit drop_expired(void *arg, const char *path, void *value)
{
	if (((struct uname *)value)->until > *(double *)arg)
		return STRMAP_KEEP;
	free(value);
	return STRMAP_REMOVE;
}

/* path's live entry, or NULL; an expired one is dropped. Lock held. */
static struct uname *unlinked_live(struct scratch *s, const char *path,
				   double now)
{
	struct uname *u = strmap_get(s->unlinked, path);

	if (u && u->until <= now) {
		free(strmap_remove(s->unlinked, path));
		u = NULL;
	}
	return u;
}

int scratch_unlinked_add(struct scratch *s, const char *path)
{
	double now = mono_now();
	struct uname *u;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	u = unlinked_live(s, path, now);
	if (u) {
		u->until = now + SCRATCH_UNLINKED_SECS;
		goto unlock;
	}
	if (strmap_full(s->unlinked) || strmap_count(s->unlinked) >= MAX_FILES)
		strmap_visit(s->unlinked, drop_expired, &now);
	if (strmap_count(s->unlinked) >= MAX_FILES) {
		rc = -ENOSPC;
		goto unlock;
	}
	u = malloc(sizeof(*u));
	if (!u || strmap_put(s->unlinked, path, u, NULL)) {
		free(u);
		rc = -ENOMEM;
		goto unlock;
	}
	u->until = now + SCRATCH_UNLINKED_SECS;
unlock:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int unlinked_find(struct scratch *s, const char *path, int take)
{
	int found = 0;

	pthread_mutex_lock(&s->lock);
	if (strmap_count(s->unlinked)) {
		found = unlinked_live(s, path, mono_now()) != NULL;
		if (found && take)
			free(strmap_remove(s->unlinked, path));
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

int scratch_unlinked(struct scratch *s, const char *path)
{
	return unlinked_find(s, path, 0);
}

int scratch_unlinked_take(struct scratch *s, const char *path)
{
	return unlinked_find(s, path, 1);
}

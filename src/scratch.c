/*
 * scratch: editors' temporary files, held in memory.
 *
 * Files live in a fixed hash table keyed by their full mount path, under
 * one mutex: editors keep a handful of such files at a time, and even a
 * long session that leaves thousands of backups behind only lengthens the
 * chains. Listing a directory or dropping a member's files scans the whole
 * table, which is small next to the API calls that surround those
 * operations.
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
 * Unlinked names live in a second table of the same shape, each with the
 * time it stops being remembered (CLOCK_MONOTONIC); an expired name is
 * dropped when its chain is walked.
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
#include "strhash.h"

#define NBUCKETS 1024
/* Far beyond what editors leave behind; the bound is for runaway scripts. */
#define MAX_FILES 65536

struct sfile {
	struct sfile *next;
	char *path;
	mode_t mode; /* permission bits */
	struct buf data;
};

struct uname {
	struct uname *next;
	char *path;
	double until; /* monotonic seconds */
};

struct scratch {
	pthread_mutex_t lock;
	struct sfile *buckets[NBUCKETS];
	size_t total; /* content bytes of all files */
	long nfiles;
	struct uname *unlinked[NBUCKETS];
	long nunlinked;
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

static struct sfile **bucket_of(struct scratch *s, const char *path)
{
	return &s->buckets[strhash(path) % NBUCKETS];
}

/* The link pointing at path's file, or at the NULL ending its chain. */
static struct sfile **slot_of(struct scratch *s, const char *path)
{
	struct sfile **pp = bucket_of(s, path);

	while (*pp && strcmp((*pp)->path, path) != 0)
		pp = &(*pp)->next;
	return pp;
}

static struct sfile *find(struct scratch *s, const char *path)
{
	return *slot_of(s, path);
}

static void remove_at(struct scratch *s, struct sfile **pp)
{
	struct sfile *f = *pp;

	*pp = f->next;
	s->total -= f->data.len;
	s->nfiles--;
	buf_free(&f->data);
	free(f->path);
	free(f);
}

/* Adds an empty file. 0, -ENOSPC or -ENOMEM. */
static int add(struct scratch *s, const char *path, mode_t mode,
	       struct sfile **out)
{
	struct sfile *f, **head;

	if (s->nfiles >= MAX_FILES)
		return -ENOSPC;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return -ENOMEM;
	}
	f->mode = mode & 07777;
	head = bucket_of(s, path);
	f->next = *head;
	*head = f;
	s->nfiles++;
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
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void unlinked_remove_at(struct scratch *s, struct uname **pp)
{
	struct uname *u = *pp;

	*pp = u->next;
	s->nunlinked--;
	free(u->path);
	free(u);
}

void scratch_free(struct scratch *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		while (s->buckets[i])
			remove_at(s, &s->buckets[i]);
		while (s->unlinked[i])
			unlinked_remove_at(s, &s->unlinked[i]);
	}
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
	struct sfile **pp;
	int rc = -ENOENT;

	pthread_mutex_lock(&s->lock);
	pp = slot_of(s, path);
	if (*pp) {
		remove_at(s, pp);
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Like rename(2): an existing target is replaced, and renaming a file onto
 * itself changes nothing. */
int scratch_rename(struct scratch *s, const char *from, const char *to)
{
	struct sfile **pp, *f, **head, **tp;
	char *newpath;
	int rc = 0;

	newpath = strdup(to);
	if (!newpath)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	pp = slot_of(s, from);
	f = *pp;
	if (!f) {
		rc = -ENOENT;
		goto unlock;
	}
	if (strcmp(from, to) == 0)
		goto unlock;
	*pp = f->next;
	tp = slot_of(s, to);
	if (*tp)
		remove_at(s, tp);
	free(f->path);
	f->path = newpath;
	newpath = NULL;
	head = bucket_of(s, to);
	f->next = *head;
	*head = f;
unlock:
	pthread_mutex_unlock(&s->lock);
	free(newpath);
	return rc;
}

/* Names are copied under the lock and fn is called without it, so fn may
 * itself use the scratch store (fs's readdir fills a FUSE buffer). */
int scratch_list(struct scratch *s, const char *dir,
		 int (*fn)(void *arg, const char *name), void *arg)
{
	size_t dlen = strlen(dir), n = 0, cap = 0, i;
	char **names = NULL, **grown;
	const char *name;
	struct sfile *f;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < NBUCKETS && rc == 0; i++) {
		for (f = s->buckets[i]; f; f = f->next) {
			if (!inside(f->path, dir, dlen, 0, &name))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				grown = realloc(names, cap * sizeof(*names));
				if (!grown) {
					rc = -ENOMEM;
					break;
				}
				names = grown;
			}
			names[n] = strdup(name);
			if (!names[n]) {
				rc = -ENOMEM;
				break;
			}
			n++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(arg, names[i]);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

void scratch_drop_dir(struct scratch *s, const char *dir)
{
	size_t dlen = strlen(dir), i;
	struct sfile **pp;
	struct uname **up;
	const char *name;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < NBUCKETS; i++) {
		pp = &s->buckets[i];
		while (*pp) {
			if (inside((*pp)->path, dir, dlen, 1, &name))
				remove_at(s, pp);
			else
				pp = &(*pp)->next;
		}
		up = &s->unlinked[i];
		while (*up) {
			if (inside((*up)->path, dir, dlen, 1, &name))
				unlinked_remove_at(s, up);
			else
				up = &(*up)->next;
		}
	}
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

/* The link pointing at path's live entry (or at the NULL ending its
 * chain); expired entries met on the way are dropped. Lock held. */
static struct uname **unlinked_slot(struct scratch *s, const char *path,
				    double now)
{
	struct uname **pp = &s->unlinked[strhash(path) % NBUCKETS];

	while (*pp) {
		if ((*pp)->until <= now)
			unlinked_remove_at(s, pp);
		else if (strcmp((*pp)->path, path) == 0)
			break;
		else
			pp = &(*pp)->next;
	}
	return pp;
}

int scratch_unlinked_add(struct scratch *s, const char *path)
{
	double now = mono_now();
	struct uname **pp, *u;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	pp = unlinked_slot(s, path, now);
	if (*pp) {
		(*pp)->until = now + SCRATCH_UNLINKED_SECS;
		goto unlock;
	}
	if (s->nunlinked >= MAX_FILES) {
		rc = -ENOSPC;
		goto unlock;
	}
	u = calloc(1, sizeof(*u));
	if (u)
		u->path = strdup(path);
	if (!u || !u->path) {
		free(u);
		rc = -ENOMEM;
		goto unlock;
	}
	u->until = now + SCRATCH_UNLINKED_SECS;
	*pp = u; /* the end of its chain */
	s->nunlinked++;
unlock:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int unlinked_find(struct scratch *s, const char *path, int take)
{
	struct uname **pp;
	int found = 0;

	pthread_mutex_lock(&s->lock);
	if (s->nunlinked) {
		pp = unlinked_slot(s, path, mono_now());
		found = *pp != NULL;
		if (found && take)
			unlinked_remove_at(s, pp);
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

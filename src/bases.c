/*
 * bases.c - the content each process last read of each editable file.
 *
 * A small array searched linearly: BASES_MAX entries of editor sessions
 * is far below where a hash would pay, and the search runs once per read
 * of an editable file and once per save, never per byte. The oldest
 * noted entry makes room for a new one.
 */
#include "clock.h"
#include "bases.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

struct base {
	char *path; /* NULL: a free slot */
	unsigned long long who;
	double noted;	   /* monotonic seconds */
	unsigned long seq; /* order of noting: the lowest goes first */
	struct buf data;
};

struct bases {
	pthread_mutex_t lock;
	unsigned long seq;
	struct base slot[BASES_MAX];
};

unsigned long long bases_who(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long long start = 0;
	size_t n;
	FILE *f;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f) {
		n = fread(line, 1, sizeof(line) - 1, f);
		fclose(f);
		line[n] = '\0';
		/* after the command name, which may hold spaces and ')' */
		p = strrchr(line, ')');
		for (field = 2; p && field < 22; field++)
			p = strchr(p + 1, ' ');
		if (p)
			start = strtoull(p + 1, NULL, 10);
	}
	return start << 22 ^ (unsigned long long)pid;
}

struct bases *bases_new(void)
{
	struct bases *b = calloc(1, sizeof(*b));

	if (b)
		pthread_mutex_init(&b->lock, NULL);
	return b;
}

static void slot_clear(struct base *e)
{
	free(e->path);
	buf_free(&e->data);
	memset(e, 0, sizeof(*e));
}

void bases_free(struct bases *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < BASES_MAX; i++)
		slot_clear(&b->slot[i]);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* The slot of (path, pid), or NULL. Caller holds the lock. */
static struct base *find(struct bases *b, const char *path,
			 unsigned long long who)
{
	size_t i;

	for (i = 0; i < BASES_MAX; i++)
		if (b->slot[i].path && b->slot[i].who == who &&
		    !strcmp(b->slot[i].path, path))
			return &b->slot[i];
	return NULL;
}

/* A free slot, or the one noted longest ago. Caller holds the lock. */
static struct base *room(struct bases *b)
{
	struct base *old = &b->slot[0];
	size_t i;

	for (i = 0; i < BASES_MAX; i++) {
		if (!b->slot[i].path)
			return &b->slot[i];
		if (b->slot[i].seq < old->seq)
			old = &b->slot[i];
	}
	slot_clear(old);
	return old;
}

int bases_note(struct bases *b, const char *path, unsigned long long who,
	       const char *data, size_t len, int first)
{
	struct buf copy = {0};
	struct base *e;
	char *p = NULL;
	int r = buf_append(&copy, data, len);

	if (r)
		return r;
	pthread_mutex_lock(&b->lock);
	e = find(b, path, who);
	if (e && first && mono_now() - e->noted < BASES_KEEP) {
		pthread_mutex_unlock(&b->lock);
		buf_free(&copy);
		return 0;
	}
	if (!e) {
		p = strdup(path);
		if (!p) {
			pthread_mutex_unlock(&b->lock);
			buf_free(&copy);
			return -ENOMEM;
		}
		e = room(b);
		e->path = p;
		e->who = who;
	}
	buf_free(&e->data);
	e->data = copy;
	e->noted = mono_now();
	e->seq = ++b->seq;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int bases_get(struct bases *b, const char *path, unsigned long long who,
	      double now, struct buf *out)
{
	struct base *e;
	int r = 0;

	pthread_mutex_lock(&b->lock);
	e = find(b, path, who);
	if (e && now - e->noted >= BASES_KEEP) {
		slot_clear(e);
		e = NULL;
	}
	if (e) {
		r = buf_append(out, buf_at(&e->data, 0), e->data.len);
		if (!r)
			r = 1;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

void bases_forget(struct bases *b, const char *path)
{
	size_t i, n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	pthread_mutex_lock(&b->lock);
	for (i = 0; i < BASES_MAX; i++) {
		const char *p = b->slot[i].path;

		if (p && !strncmp(p, path, n) && (p[n] == '\0' || p[n] == '/'))
			slot_clear(&b->slot[i]);
	}
	pthread_mutex_unlock(&b->lock);
}

size_t bases_count(struct bases *b)
{
	size_t i, n = 0;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < BASES_MAX; i++)
		n += b->slot[i].path != NULL;
	pthread_mutex_unlock(&b->lock);
	return n;
}

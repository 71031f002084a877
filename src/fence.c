/*
 * fence: change marks against the fetches that began before them.
 *
 * A generation counter orders marks and tickets: fence_begin gives a
 * ticket the current generation, fence_mark stamps its key with the next
 * one, so a mark is news to a ticket exactly when its generation is
 * greater. Tickets are appended to a list as they begin, so the list is
 * sorted and its head is the oldest running fetch; a mark no newer than
 * that head is news to nobody and goes, which fence_end checks each time
 * the head leaves. A long list fetch (a thousand pages at 100,000 members)
 * keeps the marks of the changes made during it, one small entry each,
 * until it ends.
 *
 * Marks are a strmap from key to struct mark: a fetch looks up every
 * record it stores, and a bulk delete during a listing may mark thousands
 * of keys. When the last fetch ends the map is emptied and shrunk back to
 * its first size.
 *
 * One mutex guards everything; fence_put runs the caller's put under it,
 * which is what makes "check, then store" atomic against a mark. The
 * mutex is taken before the put's own locks (the cache's), never after.
 */
#include "fence.h"
#include "strmap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct mark {
	unsigned long long gen;
	uint8_t news; /* enum fence_news */
};

struct fence {
	pthread_mutex_t lock;
	unsigned long long gen; /* the latest mark's generation */
	/* A mark that could not be stored: every key changed then. */
	unsigned long long all_gen;
	struct fence_ticket *head, *tail; /* running fetches, oldest first */
	struct strmap *marks;		  /* key -> struct mark */
};

/* ------------------------------------------------------------------ */
/* Table (all called with f->lock held)                                */
/* ------------------------------------------------------------------ */

static enum strmap_visit prune_mark(void *arg, const char *key, void *value)
{
	if (((struct mark *)value)->gen > *(unsigned long long *)arg)
		return STRMAP_KEEP;
	free(value);
	return STRMAP_REMOVE;
}

/* Drops every mark no newer than gen. */
static void prune(struct fence *f, unsigned long long gen)
{
	if (strmap_count(f->marks))
		strmap_visit(f->marks, prune_mark, &gen);
	if (f->all_gen <= gen)
		f->all_gen = 0;
}

/* No fetch runs: nothing is news to anybody. */
static void clear(struct fence *f)
{
	strmap_clear(f->marks, free);
	f->all_gen = 0;
}

static enum fence_news news_of(struct fence *f, const struct fence_ticket *t,
			       const char *key)
{
	const struct mark *m = strmap_get(f->marks, key);

	if (m && m->gen > t->gen)
		return (enum fence_news)m->news;
	if (f->all_gen > t->gen)
		return FENCE_CHANGED;
	return FENCE_NONE;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

struct fence *fence_new(void)
{
	struct fence *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->marks = strmap_new();
	if (!f->marks)
		goto free_fence;
	if (pthread_mutex_init(&f->lock, NULL) != 0)
		goto free_marks;
	return f;

free_marks:
	strmap_free(f->marks, NULL);
free_fence:
	free(f);
	return NULL;
}

void fence_free(struct fence *f)
{
	if (!f)
		return;
	strmap_free(f->marks, free);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* ------------------------------------------------------------------ */
/* Fetches and marks                                                   */
/* ------------------------------------------------------------------ */

void fence_begin(struct fence *f, struct fence_ticket *t)
{
	pthread_mutex_lock(&f->lock);
	t->gen = f->gen;
	t->next = NULL;
	t->prev = f->tail;
	if (f->tail)
		f->tail->next = t;
	else
		f->head = t;
	f->tail = t;
	pthread_mutex_unlock(&f->lock);
}

void fence_end(struct fence *f, struct fence_ticket *t)
{
	int was_oldest;

	pthread_mutex_lock(&f->lock);
	was_oldest = f->head == t;
	if (t->prev)
		t->prev->next = t->next;
	else
		f->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		f->tail = t->prev;
	if (!f->head)
		clear(f);
	else if (was_oldest)
		prune(f, f->head->gen);
	pthread_mutex_unlock(&f->lock);
}

void fence_mark(struct fence *f, const char *key, enum fence_news news)
{
	struct mark *m;

	pthread_mutex_lock(&f->lock);
	f->gen++;
	if (!f->head)
		goto out; /* no fetch to tell */
	m = strmap_get(f->marks, key);
	if (!m) {
		m = malloc(sizeof(*m));
		if (!m || strmap_put(f->marks, key, m, NULL)) {
			free(m);
			f->all_gen = f->gen;
			goto out;
		}
	}
	m->gen = f->gen;
	m->news = (uint8_t)news;
out:
	pthread_mutex_unlock(&f->lock);
}

enum fence_news fence_news(struct fence *f, const struct fence_ticket *t,
			   const char *key)
{
	enum fence_news n;

	pthread_mutex_lock(&f->lock);
	n = news_of(f, t, key);
	pthread_mutex_unlock(&f->lock);
	return n;
}

enum fence_news fence_put(struct fence *f, const struct fence_ticket *t,
			  const char *key, fence_put_fn put, void *arg)
{
	enum fence_news n;

	pthread_mutex_lock(&f->lock);
	n = news_of(f, t, key);
	if (n == FENCE_NONE)
		put(arg);
	pthread_mutex_unlock(&f->lock);
	return n;
}

long fence_count(struct fence *f)
{
	long n;

	pthread_mutex_lock(&f->lock);
	n = (long)strmap_count(f->marks);
	pthread_mutex_unlock(&f->lock);
	return n;
}

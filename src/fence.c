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
 * Marks are a hash table (FNV-1a, chaining, doubling when it holds more
 * marks than buckets): a fetch looks up every record it stores, and a bulk
 * delete during a listing may mark thousands of keys. When the last fetch
 * ends the table is emptied and shrunk back to its first size.
 *
 * One mutex guards everything; fence_put runs the caller's put under it,
 * which is what makes "check, then store" atomic against a mark. The
 * mutex is taken before the put's own locks (the cache's), never after.
 */
#include "fence.h"
#include "strhash.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 16

struct mark {
	struct mark *next;
	unsigned long long gen;
	uint32_t hash;
	uint8_t news; /* enum fence_news */
	char key[];
};

struct fence {
	pthread_mutex_t lock;
	unsigned long long gen; /* the latest mark's generation */
	/* A mark that could not be stored: every key changed then. */
	unsigned long long all_gen;
	struct fence_ticket *head, *tail; /* running fetches, oldest first */
	struct mark **buckets;
	size_t nbuckets; /* a power of two */
	long count;
};

/* ------------------------------------------------------------------ */
/* Table (all called with f->lock held)                                */
/* ------------------------------------------------------------------ */

static struct mark *find(struct fence *f, const char *key, uint32_t h)
{
	struct mark *m = f->buckets[h & (f->nbuckets - 1)];

	for (; m; m = m->next)
		if (m->hash == h && !strcmp(m->key, key))
			return m;
	return NULL;
}

/* Failure to grow is harmless: chains get longer. */
static void maybe_grow(struct fence *f)
{
	struct mark **nb, *m, *next;
	size_t i, n;

	if ((size_t)f->count < f->nbuckets)
		return;
	n = f->nbuckets * 2;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (i = 0; i < f->nbuckets; i++) {
		for (m = f->buckets[i]; m; m = next) {
			next = m->next;
			m->next = nb[m->hash & (n - 1)];
			nb[m->hash & (n - 1)] = m;
		}
	}
	free(f->buckets);
	f->buckets = nb;
	f->nbuckets = n;
}

/* Drops every mark no newer than gen. */
static void prune(struct fence *f, unsigned long long gen)
{
	struct mark **pp;
	size_t i;

	for (i = 0; i < f->nbuckets && f->count > 0; i++) {
		pp = &f->buckets[i];
		while (*pp) {
			struct mark *m = *pp;

			if (m->gen <= gen) {
				*pp = m->next;
				free(m);
				f->count--;
			} else {
				pp = &m->next;
			}
		}
	}
	if (f->all_gen <= gen)
		f->all_gen = 0;
}

/* No fetch runs: nothing is news to anybody. */
static void clear(struct fence *f)
{
	struct mark **nb;

	prune(f, f->gen);
	if (f->nbuckets > INITIAL_BUCKETS) {
		nb = calloc(INITIAL_BUCKETS, sizeof(*nb));
		if (nb) {
			free(f->buckets);
			f->buckets = nb;
			f->nbuckets = INITIAL_BUCKETS;
		}
	}
}

static enum fence_news news_of(struct fence *f, const struct fence_ticket *t,
			       const char *key)
{
	struct mark *m = find(f, key, strhash(key));

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
	f->buckets = calloc(INITIAL_BUCKETS, sizeof(*f->buckets));
	if (!f->buckets)
		goto free_fence;
	if (pthread_mutex_init(&f->lock, NULL) != 0)
		goto free_buckets;
	f->nbuckets = INITIAL_BUCKETS;
	return f;

free_buckets:
	free(f->buckets);
free_fence:
	free(f);
	return NULL;
}

void fence_free(struct fence *f)
{
	if (!f)
		return;
	prune(f, f->gen);
	free(f->buckets);
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
	uint32_t h = strhash(key);
	struct mark *m, **head;
	size_t len;

	pthread_mutex_lock(&f->lock);
	f->gen++;
	if (!f->head)
		goto out; /* no fetch to tell */
	m = find(f, key, h);
	if (!m) {
		maybe_grow(f);
		len = strlen(key);
		m = malloc(sizeof(*m) + len + 1);
		if (!m) {
			f->all_gen = f->gen;
			goto out;
		}
		memcpy(m->key, key, len + 1);
		m->hash = h;
		head = &f->buckets[h & (f->nbuckets - 1)];
		m->next = *head;
		*head = m;
		f->count++;
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
	n = f->count;
	pthread_mutex_unlock(&f->lock);
	return n;
}

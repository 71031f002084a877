/*
 * strmap: chained hashing over strhash (FNV-1a), a power-of-two number of
 * buckets, doubling when it holds as many keys as buckets.
 *
 * A node is one allocation: link, hash, value and the key inline. The
 * hash is kept so that growing never hashes a key again and a lookup
 * compares strings only on a full hash match.
 *
 * Visits walk the chains through the link pointing at each node, so
 * unlinking the current node is one store and the walk goes on from the
 * same link.
 */
#include "strmap.h"
#include "strhash.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 16

struct node {
	struct node *next;
	void *value;
	uint32_t hash;
	char key[];
};

struct strmap {
	struct node **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->buckets = calloc(INITIAL_BUCKETS, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	m->nbuckets = INITIAL_BUCKETS;
	return m;
}

static void free_chains(struct strmap *m, void (*free_value)(void *))
{
	struct node *n, *next;
	size_t i;

	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			if (free_value)
				free_value(n->value);
			free(n);
		}
		m->buckets[i] = NULL;
	}
	m->count = 0;
}

void strmap_free(struct strmap *m, void (*free_value)(void *value))
{
	if (!m)
		return;
	free_chains(m, free_value);
	free(m->buckets);
	free(m);
}

void strmap_clear(struct strmap *m, void (*free_value)(void *value))
{
	struct node **nb;

	free_chains(m, free_value);
	if (m->nbuckets == INITIAL_BUCKETS)
		return;
	/* Failing to shrink leaves a bigger empty table: harmless. */
	nb = calloc(INITIAL_BUCKETS, sizeof(*nb));
	if (!nb)
		return;
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = INITIAL_BUCKETS;
}

/* The link pointing at key's node, or at the NULL ending its chain. */
static struct node **slot_of(const struct strmap *m, const char *key,
			     uint32_t h)
{
	struct node **pp = &m->buckets[h & (m->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct node *n = *slot_of(m, key, strhash(key));

	return n ? n->value : NULL;
}

int strmap_has(const struct strmap *m, const char *key)
{
	return *slot_of(m, key, strhash(key)) != NULL;
}

size_t strmap_count(const struct strmap *m)
{
	return m->count;
}

int strmap_full(const struct strmap *m)
{
	return m->count >= m->nbuckets;
}

static void maybe_grow(struct strmap *m)
{
	struct node **nb, *n, *next;
	size_t i, size;

	if (!strmap_full(m))
		return;
	size = m->nbuckets * 2;
	nb = calloc(size, sizeof(*nb));
	if (!nb)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			n->next = nb[n->hash & (size - 1)];
			nb[n->hash & (size - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = size;
}

int strmap_put(struct strmap *m, const char *key, void *value, void **old)
{
	uint32_t h = strhash(key);
	struct node **pp = slot_of(m, key, h), *n;
	size_t len;

	if (old)
		*old = NULL;
	if (*pp) {
		if (old)
			*old = (*pp)->value;
		(*pp)->value = value;
		return 0;
	}
	len = strlen(key);
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n->key, key, len + 1);
	n->hash = h;
	n->value = value;
	maybe_grow(m);
	pp = &m->buckets[h & (m->nbuckets - 1)];
	n->next = *pp;
	*pp = n;
	m->count++;
	return 0;
}

int strmap_add(struct strmap *m, const char *key)
{
	if (strmap_has(m, key))
		return 0;
	return strmap_put(m, key, NULL, NULL) ? -ENOMEM : 1;
}

static void *unlink_at(struct strmap *m, struct node **pp)
{
	struct node *n = *pp;
	void *value = n->value;

	*pp = n->next;
	m->count--;
	free(n);
	return value;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	struct node **pp = slot_of(m, key, strhash(key));

	return *pp ? unlink_at(m, pp) : NULL;
}

/* Visits one chain. Returns STRMAP_STOP when fn asked to stop, else
 * STRMAP_KEEP; *removed counts the removals. */
static enum strmap_visit visit_chain(struct strmap *m, size_t b,
				     strmap_visit_fn fn, void *arg,
				     size_t *removed)
{
	struct node **pp = &m->buckets[b];

	while (*pp) {
		switch (fn(arg, (*pp)->key, (*pp)->value)) {
		case STRMAP_REMOVE:
			unlink_at(m, pp);
			(*removed)++;
			break;
		case STRMAP_STOP:
			return STRMAP_STOP;
		case STRMAP_KEEP:
			pp = &(*pp)->next;
			break;
		}
	}
	return STRMAP_KEEP;
}

size_t strmap_visit(struct strmap *m, strmap_visit_fn fn, void *arg)
{
	size_t i, removed = 0;

	for (i = 0; i < m->nbuckets && m->count > 0; i++)
		if (visit_chain(m, i, fn, arg, &removed) == STRMAP_STOP)
			break;
	return removed;
}

size_t strmap_visit_some(struct strmap *m, size_t *cursor, size_t scan,
			 size_t busy, strmap_visit_fn fn, void *arg)
{
	size_t visited, seen = 0, removed = 0, b;

	for (visited = 0; visited < scan && seen < busy; visited++) {
		b = *cursor & (m->nbuckets - 1);
		*cursor = b + 1;
		if (!m->buckets[b])
			continue;
		seen++;
		if (visit_chain(m, b, fn, arg, &removed) == STRMAP_STOP)
			break;
	}
	return removed;
}

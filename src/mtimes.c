/*
 * mtimes.c - content-change times per path (see mtimes.h for the rules).
 *
 * An open-addressing table (linear probing, power-of-two size, at most
 * three quarters full: the keys are well-mixed 64-bit hashes) of 40-byte
 * {key, hash, time, shown, stamp, size} slots (a 63-bit time and a 1-bit
 * flag share a word). Key 0 marks a free slot and
 * hash 0 an unknown content hash, so neither value is ever stored for a real
 * path or content (they become 1). Nothing is ever removed one by one: a
 * table that would pass max_entries is emptied, shrunk and its epoch moved
 * to now, which only makes later times newer (mtimes.h).
 */
#include "mtimes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 1024

struct slot {
	uint64_t key;	 /* hash of the path; 0: free */
	uint64_t hash;	 /* content hash; 0: unknown (touched) */
	int64_t ns : 63; /* the time, in ns since 1970 (to year 2116) */
	/* getattr showed hash, and no other hash was seen since */
	unsigned shown : 1;
	unsigned long stamp; /* while shown: the stamp it was last seen at */
	uint32_t size;	     /* while shown: its size (SIZE_UNKNOWN: too big) */
};

#define SIZE_UNKNOWN UINT32_MAX

struct mtimes {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t nslots; /* a power of two */
	size_t count;
	size_t max;
	int64_t epoch; /* ns */
};

/* ------------------------------------------------------------------------
 * Hashing
 * ---------------------------------------------------------------------- */

/* splitmix64's finalizer: spreads FNV's weak low bits over the word. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t fnv_more(uint64_t h, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t fnv(const unsigned char *p, size_t len)
{
	return fnv_more(MTIMES_HASH_START, p, len);
}

uint64_t mtimes_hash(const void *data, size_t len)
{
	/* the length too, so that runs of NULs of different lengths differ */
	return mix(fnv(data, len) ^ len);
}

uint64_t mtimes_hash_more(uint64_t acc, const void *data, size_t len)
{
	return fnv_more(acc, data, len);
}

uint64_t mtimes_hash_end(uint64_t acc, size_t len)
{
	return mix(acc ^ len);
}

uint64_t mtimes_hash_name(uint64_t acc, const char *name)
{
	/* a sum of per-name hashes: the listing's order does not count */
	return acc + mix(fnv((const unsigned char *)name, strlen(name)) + 1);
}

static uint64_t path_key(const char *path)
{
	uint64_t k = mtimes_hash(path, strlen(path));

	return k ? k : 1;
}

static int64_t to_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct timespec from_ns(int64_t ns)
{
	struct timespec t;

	t.tv_sec = (time_t)(ns / 1000000000);
	t.tv_nsec = (long)(ns % 1000000000);
	return t;
}

/* ------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------- */

struct mtimes *mtimes_new(size_t max_entries, struct timespec epoch)
{
	struct mtimes *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->slots = calloc(INITIAL_SLOTS, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->nslots = INITIAL_SLOTS;
	m->max = max_entries ? max_entries : 1;
	m->epoch = to_ns(epoch);
	return m;
}

void mtimes_free(struct mtimes *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->slots);
	free(m);
}

/* The slot of key, or the free slot where it would go. */
static struct slot *probe(struct slot *slots, size_t nslots, uint64_t key)
{
	size_t i = (size_t)key & (nslots - 1);

	while (slots[i].key && slots[i].key != key)
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

/* Forgets everything; from now on the epoch is `now`. */
static void reset(struct mtimes *m, int64_t now)
{
	struct slot *small = calloc(INITIAL_SLOTS, sizeof(*small));

	if (small) {
		free(m->slots);
		m->slots = small;
		m->nslots = INITIAL_SLOTS;
	} else {
		memset(m->slots, 0, m->nslots * sizeof(*m->slots));
	}
	m->count = 0;
	if (now > m->epoch)
		m->epoch = now;
}

/* Room for one more key: 0, or -1 when the table was reset instead. */
static int make_room(struct mtimes *m, int64_t now)
{
	struct slot *bigger;
	size_t i, n;

	if (m->count + 1 > m->max) {
		reset(m, now);
		return -1;
	}
	if ((m->count + 1) * 4 <= m->nslots * 3)
		return 0;
	n = m->nslots * 2;
	bigger = calloc(n, sizeof(*bigger));
	if (!bigger) {
		reset(m, now);
		return -1;
	}
	for (i = 0; i < m->nslots; i++)
		if (m->slots[i].key)
			*probe(bigger, n, m->slots[i].key) = m->slots[i];
	free(m->slots);
	m->slots = bigger;
	m->nslots = n;
	return 0;
}

/* The slot of path, created (free of hash, at the epoch) when missing. */
static struct slot *slot_for(struct mtimes *m, uint64_t key, int64_t now)
{
	struct slot *s = probe(m->slots, m->nslots, key);

	if (s->key)
		return s;
	make_room(m, now);
	s = probe(m->slots, m->nslots, key);
	s->key = key;
	s->hash = 0;
	s->shown = 0;
	s->stamp = 0;
	s->ns = m->epoch;
	m->count++;
	return s;
}

/* A sighting of hash under key (mtimes_see). Caller holds m->lock. */
static struct slot *see(struct mtimes *m, uint64_t key, uint64_t hash,
			struct timespec now)
{
	struct slot *s = probe(m->slots, m->nslots, key);

	if (!s->key) {
		/* first sighting: the epoch, not now */
		s = slot_for(m, key, to_ns(now));
		s->hash = hash;
	} else if (!s->hash) {
		s->hash = hash; /* after a touch: its time stands */
	} else if (s->hash != hash) {
		s->hash = hash;
		s->shown = 0;
		s->ns = to_ns(now);
		if (s->ns < m->epoch)
			s->ns = m->epoch; /* a clock stepped back */
	}
	return s;
}

static struct timespec see_show(struct mtimes *m, const char *path,
				uint64_t hash, struct timespec now, int show,
				unsigned long stamp, size_t size)
{
	uint64_t key = path_key(path);
	struct slot *s;
	int64_t t;

	if (!hash)
		hash = 1;
	pthread_mutex_lock(&m->lock);
	s = see(m, key, hash, now);
	if (show) {
		s->shown = 1;
		s->stamp = stamp;
		s->size = size < SIZE_UNKNOWN ? (uint32_t)size : SIZE_UNKNOWN;
	}
	t = s->ns;
	pthread_mutex_unlock(&m->lock);
	return from_ns(t);
}

struct timespec mtimes_see(struct mtimes *m, const char *path, uint64_t hash,
			   struct timespec now)
{
	return see_show(m, path, hash, now, 0, 0, 0);
}

struct timespec mtimes_show(struct mtimes *m, const char *path, uint64_t hash,
			    size_t size, struct timespec now,
			    unsigned long stamp)
{
	return see_show(m, path, hash, now, 1, stamp, size);
}

int mtimes_shown(struct mtimes *m, const char *path, uint64_t hash,
		 unsigned long stamp)
{
	struct slot *s;
	int shown;

	if (!hash)
		hash = 1;
	pthread_mutex_lock(&m->lock);
	s = probe(m->slots, m->nslots, path_key(path));
	shown = s->key && s->shown && s->hash == hash;
	if (shown)
		s->stamp = stamp;
	pthread_mutex_unlock(&m->lock);
	return shown;
}

int mtimes_current(struct mtimes *m, const char *path, unsigned long stamp,
		   uint64_t *hash, size_t *size)
{
	struct slot *s;
	int current;

	if (!stamp)
		return 0;
	pthread_mutex_lock(&m->lock);
	s = probe(m->slots, m->nslots, path_key(path));
	current = s->key && s->shown && s->stamp == stamp &&
		  !(size && s->size == SIZE_UNKNOWN);
	if (current && hash)
		*hash = s->hash;
	if (current && size)
		*size = s->size;
	pthread_mutex_unlock(&m->lock);
	return current;
}

void mtimes_unshow(struct mtimes *m, const char *path)
{
	struct slot *s;

	pthread_mutex_lock(&m->lock);
	s = probe(m->slots, m->nslots, path_key(path));
	if (s->key)
		s->shown = 0;
	pthread_mutex_unlock(&m->lock);
}

void mtimes_touch(struct mtimes *m, const char *path, struct timespec now)
{
	int64_t t = to_ns(now);
	struct slot *s;

	pthread_mutex_lock(&m->lock);
	s = slot_for(m, path_key(path), t);
	s->hash = 0;
	s->shown = 0;
	s->ns = t < m->epoch ? m->epoch : t;
	pthread_mutex_unlock(&m->lock);
}

struct timespec mtimes_get(struct mtimes *m, const char *path)
{
	struct slot *s;
	int64_t t;

	pthread_mutex_lock(&m->lock);
	s = probe(m->slots, m->nslots, path_key(path));
	t = s->key ? s->ns : m->epoch;
	pthread_mutex_unlock(&m->lock);
	return from_ns(t);
}

size_t mtimes_count(struct mtimes *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->count;
	pthread_mutex_unlock(&m->lock);
	return n;
}

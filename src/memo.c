/* memo: see include/memo.h. */
#include "memo.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	char *key;
	char *data;
	size_t len;
	unsigned long changes;
	double at;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[MEMO_SLOTS];
static unsigned next_slot; /* the oldest: reused next */

static void slot_free(struct slot *e)
{
	free(e->key);
	free(e->data);
	memset(e, 0, sizeof(*e));
}

static struct slot *find(const char *key)
{
	int i;

	for (i = 0; i < MEMO_SLOTS; i++)
		if (slots[i].key && !strcmp(slots[i].key, key))
			return &slots[i];
	return NULL;
}

int memo_get(const char *key, unsigned long changes, double now, double keep,
	     struct buf *out)
{
	struct slot *e;
	int r = 0;

	pthread_mutex_lock(&lock);
	e = find(key);
	if (e && e->changes == changes && now >= e->at && now - e->at < keep)
		r = buf_append(out, e->data, e->len) ? -ENOMEM : 1;
	pthread_mutex_unlock(&lock);
	return r;
}

void memo_put(const char *key, unsigned long changes, double now,
	      const char *data, size_t len)
{
	char *k, *d;
	struct slot *e;

	if (len > MEMO_MAX_LEN)
		return;
	k = strdup(key);
	d = malloc(len ? len : 1);
	if (!k || !d) {
		free(k);
		free(d);
		return;
	}
	memcpy(d, data, len);
	pthread_mutex_lock(&lock);
	e = find(key);
	if (!e) {
		e = &slots[next_slot];
		next_slot = (next_slot + 1) % MEMO_SLOTS;
	}
	slot_free(e);
	e->key = k;
	e->data = d;
	e->len = len;
	e->changes = changes;
	e->at = now;
	pthread_mutex_unlock(&lock);
}

void memo_clear(void)
{
	int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < MEMO_SLOTS; i++)
		slot_free(&slots[i]);
	next_slot = 0;
	pthread_mutex_unlock(&lock);
}

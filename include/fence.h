/*
 * fence: keeps a fetch that began before a change from undoing it.
 *
 * A member list takes one request per page, and a page may be answered
 * from the server's state as it was before a change the mount has since
 * made (a member deleted, a property set). Storing that page's records
 * afterwards would put the deleted member back, or the old value, for
 * cache_ttl. So the school marks each change here, by key, once the
 * server has accepted it; a fetch takes a ticket when it begins and
 * stores each result through fence_put, which refuses keys marked after
 * the ticket was taken.
 *
 * - Marks are ordered by a generation counter, not by clock time, so a
 *   fetch slower than any ttl is still fenced.
 * - Memory: a mark is kept only while some fetch that began before it is
 *   running; the end of the last such fetch drops it. A mark made while
 *   no fetch runs is not kept at all. When a mark cannot be stored (no
 *   memory), every running fetch counts as having seen a change to every
 *   key (FENCE_CHANGED): a refused put only costs a fetch.
 * It does NOT know what keys mean, store values or fetch anything: the
 * put callback does the storing. Thread-safe.
 */
#ifndef MSFS_FENCE_H
#define MSFS_FENCE_H

/* What happened to a key since a ticket was taken. */
enum fence_news {
	FENCE_NONE = 0, /* nothing: a result for it may be stored */
	FENCE_CHANGED,	/* changed: a result from before is out of date */
	FENCE_GONE,	/* deleted: a result from before must not revive it */
};

struct fence;

/* One running fetch. Lives on the fetcher's stack between fence_begin
 * and fence_end. */
struct fence_ticket {
	/* private */
	unsigned long long gen;
	struct fence_ticket *prev, *next;
};

struct fence *fence_new(void);
/* No fetch may be running. NULL is fine. */
void fence_free(struct fence *f);

/* A fetch begins / has ended (every fence_begin needs its fence_end). */
void fence_begin(struct fence *f, struct fence_ticket *t);
void fence_end(struct fence *f, struct fence_ticket *t);

/* key was changed (FENCE_CHANGED) or deleted (FENCE_GONE). Call it after
 * the server has made the change and before dropping the cached copies,
 * so that a put racing the change is either refused or dropped. */
void fence_mark(struct fence *f, const char *key, enum fence_news news);

/* The latest news of key since t began (FENCE_NONE when none). */
enum fence_news fence_news(struct fence *f, const struct fence_ticket *t,
			   const char *key);

/* Runs put(arg) when key has no news since t began, under the fence's
 * lock, so no fence_mark slips in between the check and the put. put must
 * not call back into the fence. Returns the news: put ran iff FENCE_NONE. */
typedef void (*fence_put_fn)(void *arg);
enum fence_news fence_put(struct fence *f, const struct fence_ticket *t,
			  const char *key, fence_put_fn put, void *arg);

/* Marks held (tests, status). */
long fence_count(struct fence *f);

#endif

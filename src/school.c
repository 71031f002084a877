/*
 * school.c - cached reads of the school and the changes made to it.
 *
 * Every read goes through the cache under a key that names one API view:
 *
 *   offers                   GET /v1/offers
 *   propdefs                 GET /v1/custom-user-properties/list
 *   list:<filter>            all pages of GET /v1/users/list (emails)
 *   user:<email>             one member record (from a list page or #3)
 *   progress:<email>         GET .../course-progress/list/<email>
 *   cprogress:<n>:<email><course>  GET .../course-progress/<course>/<email>
 *   exam:<id>                GET /v1/exams/<id>/results
 *   held, held:<email>       a member's grants derived from the per-offer
 *                            lists, when records carry none (below)
 *
 * A list fetch stores each member record it receives under user:<email>,
 * so reading every user.json after a listing costs nothing.
 *
 * Those stores race the changes: a page may be answered before a member is
 * deleted (or changed) and reach us after, and its record would bring the
 * member back (or the old values) for cache_ttl. A dropped cache key only
 * protects the fetch of that key (the cache orphans it), not the records a
 * list stores on the side. So each change marks the member's email in a
 * fence (fence.h) before it drops anything, and a list fetch stores its
 * records through the fence with the ticket it took when it began: a
 * record of a member changed since is not stored, and a member deleted
 * since is left out of the list as well.
 *
 * Two caches: one for records (up to one entry per member), one for the
 * views derived from many records (member lists, progress). A change drops
 * whole families of views by prefix; keeping them in their own small table
 * makes that cheap however many members are cached. A change drops
 * the keys it affects (the member, every list, the member's progress) and
 * asks the fs layer to forget the kernel's copies of the member's paths and
 * of the symlinks that may have appeared or vanished.
 */
#include "clock.h"
#include "school.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bases.h"
#include "buf.h"
#include "cache.h"
#include "errlog.h"
#include "fence.h"
#include "journal.h"
#include "model.h"
#include "packrec.h"
#include "scratch.h"
#include "stats.h"
#include "strhash.h"
#include "nodes.h"
#include "strmap.h"
#include "tree.h"

struct school {
	struct school_config cfg;
	struct http *http;
	struct cache *cache; /* records: user:, offers, propdefs, exam: ... */
	struct cache *views; /* derived views: list:, progress:, cprogress: */
	struct fence *fence; /* changed members (emails) vs. running lists */
	struct packrec *packrec; /* the keys of records as cached (packrec.h) */
	struct journal *journal;
	struct scratch *scratch;
	struct bases *bases; /* what each process read of each file */
	school_invalidate_fn invalidate;
	void *invalidate_arg;

	pthread_mutex_t budget_lock; /* guards the deletion budget */
	double *deleted;	     /* max_deletes slots: when each deletion
				      * was let through (0: free) */
	unsigned long burst;	     /* errlog entry of the current refusals */
	long refused;		     /* deletions refused in that burst */

	pthread_mutex_t lock;	/* guards pending, exams and held_walks */
	struct strmap *pending; /* set of emails granted, not yet listed */
	struct strmap *exams;	/* set of exam ids read through this mount */
	cJSON *orders;		/* object: email -> [grant]: orders made known
				 * through this mount (derived grants only) */
	/* Derived grants (below), guarded by lock: */
	double held_walks;	  /* walks begun (a counter: their numbers) */
	double held_running;	  /* the number of the walk running, or 0 */
	double held_done;	  /* walks ended (a counter, for waiters) */
	int held_err;		  /* how the last walk ended */
	unsigned held_epoch;	  /* bumped when every cached view is dropped */
	cJSON *held_log;	  /* changes made while a walk runs */
	pthread_cond_t held_cond; /* a walk ended */
	unsigned long changes;	  /* changes and refreshes (atomic) */
	/* Expired records fetched one by one (relisted, atomic): */
	unsigned long roster_pages; /* pages of the last roster listing */
	unsigned long relist_debt;  /* records fetched since it expired */
};

/* ------------------------------------------------------------------------
 * Set-up
 * ---------------------------------------------------------------------- */

struct school *school_new(const struct school_config *cfg, struct http *h,
			  struct journal *j)
{
	struct school *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->http = h;
	s->journal = j;
	s->cache = cache_new(cfg->cache_ttl, cfg->neg_ttl);
	if (!s->cache)
		goto fail;
	s->views = cache_new(cfg->cache_ttl, cfg->neg_ttl);
	if (!s->views)
		goto fail_cache;
	s->fence = fence_new();
	s->packrec = packrec_new();
	if (!s->fence || !s->packrec)
		goto fail_cache;
	s->scratch = scratch_new();
	if (!s->scratch)
		goto fail_cache;
	s->bases = bases_new();
	if (!s->bases)
		goto fail_json;
	s->pending = strmap_new();
	s->exams = strmap_new();
	s->orders = cJSON_CreateObject();
	if (!s->pending || !s->exams || !s->orders)
		goto fail_json;
	if (cfg->max_deletes > 0) {
		s->deleted =
			calloc((size_t)cfg->max_deletes, sizeof(*s->deleted));
		if (!s->deleted)
			goto fail_json;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->held_cond, NULL);
	pthread_mutex_init(&s->budget_lock, NULL);
	return s;

fail_json:
	strmap_free(s->pending, NULL);
	strmap_free(s->exams, NULL);
	cJSON_Delete(s->orders);
	bases_free(s->bases);
	scratch_free(s->scratch);
fail_cache:
	packrec_free(s->packrec);
	fence_free(s->fence);
	cache_free(s->views);
	cache_free(s->cache);
fail:
	free(s);
	return NULL;
}

void school_free(struct school *s)
{
	if (!s)
		return;
	strmap_free(s->pending, NULL);
	strmap_free(s->exams, NULL);
	cJSON_Delete(s->orders);
	bases_free(s->bases);
	scratch_free(s->scratch);
	fence_free(s->fence);
	cache_free(s->views);
	cache_free(s->cache);
	packrec_free(s->packrec);
	cJSON_Delete(s->held_log);
	pthread_cond_destroy(&s->held_cond);
	free(s->deleted);
	pthread_mutex_destroy(&s->budget_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void school_set_invalidate(struct school *s, school_invalidate_fn fn, void *arg)
{
	s->invalidate = fn;
	s->invalidate_arg = arg;
}

const struct school_config *school_config(const struct school *s)
{
	return &s->cfg;
}

struct scratch *school_scratch(struct school *s)
{
	return s->scratch;
}

struct http *school_http(struct school *s)
{
	return s->http;
}

struct bases *school_bases(struct school *s)
{
	return s->bases;
}

struct journal *school_journal(struct school *s)
{
	return s->journal;
}

struct cache *school_cache(struct school *s)
{
	return s->cache;
}

int school_packed_keys(struct school *s)
{
	return packrec_keys(s->packrec);
}

/* ------------------------------------------------------------------------
 * Cache keys
 * ---------------------------------------------------------------------- */

static char *key_of(const char *prefix, const char *id)
{
	struct buf b = {0};

	if (buf_puts(&b, prefix) || buf_puts(&b, id)) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Two ids in one key: the length prefix keeps "a"+"bc" apart from "ab"+"c"
 * whatever characters the ids hold. */
static char *key_of_pair(const char *prefix, const char *a, const char *b)
{
	struct buf k = {0};

	if (buf_printf(&k, "%s%zu:%s%s", prefix, strlen(a), a, b)) {
		buf_free(&k);
		return NULL;
	}
	return buf_steal(&k);
}

/* 1 for the filter of the full member list (users/). */
static int is_roster(const struct api_user_filter *f)
{
	return !f || (!f->offer_id && !f->course_id && f->active < 0);
}

/* "roster" for the unfiltered list, "list:..." for filtered ones: a
 * change to one member's grants drops list:* but keeps the roster. */
static char *list_key(const struct api_user_filter *f)
{
	struct buf k = {0};
	int r;

	if (is_roster(f))
		return strdup("roster");
	r = buf_puts(&k, "list:");

	if (!r && f && f->offer_id)
		r = buf_printf(&k, "o%zu:%s", strlen(f->offer_id), f->offer_id);
	if (!r && f && f->course_id)
		r = buf_printf(&k, "c%zu:%s", strlen(f->course_id),
			       f->course_id);
	if (!r && f && f->active >= 0)
		r = buf_printf(&k, "a%d", f->active);
	if (r) {
		buf_free(&k);
		return NULL;
	}
	return buf_steal(&k);
}

/* The cache a key lives in. */
static struct cache *cache_for_key(struct school *s, const char *key)
{
	if (!strncmp(key, "list:", 5) || !strcmp(key, "roster") ||
	    !strncmp(key, "held", 4) || !strncmp(key, "progress:", 9) ||
	    !strncmp(key, "cprogress:", 10))
		return s->views;
	return s->cache;
}

/* Runs cache_get under a freshly built key. */
static int get_keyed(struct school *s, char *key, cache_fetch_fn fn, void *arg,
		     struct cval **out)
{
	int r;

	if (!key)
		return -ENOMEM;
	r = cache_get(cache_for_key(s, key), key, fn, arg, out);
	free(key);
	return r;
}

/* ------------------------------------------------------------------------
 * Member records, packed
 *
 * Records are cached as their compact JSON text, packed (packrec.h: keys
 * and times in a few bytes each), as text values (cache.h: the text in
 * the cval's own block): parsed, a record costs some 3 KiB of cJSON nodes
 * and key copies, as packed text about a tenth of that, and a school may
 * have 100,000 members. Readers get a freshly parsed copy (a few
 * microseconds for a record).
 * ---------------------------------------------------------------------- */

/* The packed text of record (consumed), malloc'd; NULL on ENOMEM. */
static char *pack(struct school *s, cJSON *record)
{
	char *text = cJSON_PrintUnformatted(record);
	char *packed = text ? packrec_pack(s->packrec, text) : NULL;

	cJSON_Delete(record);
	free(text);
	return packed;
}

/* Buffers kept from record to record by a listing's page thread: its
 * records are then packed without an allocation each, and the only
 * blocks made per record are the ones kept (the cache's), packed one
 * after the other instead of between freed scraps. */
struct pack_bufs {
	struct buf key;	   /* user:<email> */
	struct buf text;   /* the compact JSON text */
	struct buf packed; /* its packed form */
};

/* No record text is longer than the largest answer taken (api.c: 1 MiB
 * for a record); a longer one is refused rather than printed. */
#define RECORD_TEXT_MAX (64u << 20)

/* Packs record (consumed) into b->packed. 0 or -errno. */
static int pack_reusing(struct school *s, cJSON *record, struct pack_bufs *b)
{
	size_t cap = b->text.cap > 1 ? b->text.cap - 1 : 4096;
	int r;

	/* cJSON's own estimate may fall 5 bytes short: hence the margin. */
	for (;;) {
		r = buf_resize(&b->text, cap);
		if (r)
			break;
		if (cJSON_PrintPreallocated(record, b->text.data, (int)cap, 0))
			break;
		if (cap > RECORD_TEXT_MAX) {
			r = -EINVAL;
			break;
		}
		cap *= 2;
	}
	cJSON_Delete(record);
	buf_resize(&b->packed, 0);
	return r ? r : packrec_pack_into(s->packrec, b->text.data, &b->packed);
}

static void pack_bufs_free(struct pack_bufs *b)
{
	buf_free(&b->key);
	buf_free(&b->text);
	buf_free(&b->packed);
}

/* Appends the compact JSON text of a cached record to out (nothing on
 * failure). Records are only ever cached packed, as text values
 * (put_record, record_put), never as cJSON. */
static int unpack_text(struct school *s, const struct cval *packed,
		       struct buf *out)
{
	size_t start = out->len;
	int r;

	if (packed->json)
		return -EIO;
	r = packrec_unpack(s->packrec, packed->text, out);
	if (r)
		buf_resize(out, start);
	return r;
}

/* A parsed copy of a packed value, as a reference of its own. */
static int unpack(struct school *s, struct cval *packed, struct cval **out)
{
	struct buf text = {0};
	cJSON *record;
	int r;

	r = unpack_text(s, packed, &text);
	record = r ? NULL : cJSON_Parse(buf_at(&text, 0));
	buf_free(&text);
	if (!record)
		return r ? r : -ENOMEM;
	*out = cval_wrap(record, packed->fetched, packed->stale);
	return *out ? 0 : -ENOMEM;
}

static void count_change(struct school *s)
{
	__atomic_add_fetch(&s->changes, 1, __ATOMIC_ACQ_REL);
}

static void kernel_forget_member(struct school *s, const char *email,
				 int listed);

/* 1 when a fresh copy of key is cached and differs from packed. */
static int record_differs(struct cache *c, const char *key, const char *packed)
{
	struct cval *old = cache_peek(c, key);
	int differs = old && !old->json && strcmp(old->text, packed);

	cval_put(old);
	return differs;
}

/* Caches a member's record fetched or answered now: a new version of
 * what the member's files show, so it counts as a change (memo.h). */
static int put_record(struct school *s, const char *email, cJSON *record)
{
	char *key = key_of("user:", email);
	char *packed = pack(s, record);
	int r = -ENOMEM, changed = 0;

	if (key && packed) {
		changed = record_differs(s->cache, key, packed);
		r = cache_put_text(s->cache, key, packed);
	}
	free(packed);
	free(key);
	count_change(s);
	if (changed)
		kernel_forget_member(s, email, 0);
	return r;
}

/* ------------------------------------------------------------------------
 * Reads
 * ---------------------------------------------------------------------- */

static int fetch_offers(void *arg, cJSON **out)
{
	struct school *s = arg;

	return api_list_offers(s->http, out);
}

int school_offers(struct school *s, struct cval **out)
{
	int r = cache_get(s->cache, "offers", fetch_offers, s, out);

	if (!r && !cJSON_IsArray((*out)->json)) {
		cval_put(*out);
		*out = NULL;
		errlog_add("GET /v1/offers", 200, "response is not an array");
		return -EIO;
	}
	return r;
}

/* The definitions as a bare array, whichever wrapper the API used
 * (model_propdefs); another shape is kept as it came, and refused below. */
static int fetch_propdefs(void *arg, cJSON **out)
{
	struct school *s = arg;
	cJSON *body = NULL, *defs;
	int r = api_property_defs(s->http, &body);

	if (r)
		return r;
	defs = (cJSON *)model_propdefs(body);
	if (defs && defs != body) {
		defs = cJSON_DetachItemViaPointer(body, defs);
		cJSON_Delete(body);
		body = defs;
	}
	*out = body;
	return 0;
}

int school_propdefs(struct school *s, struct cval **out)
{
	int r = cache_get(s->cache, "propdefs", fetch_propdefs, s, out);

	if (!r && !cJSON_IsArray((*out)->json)) {
		cval_put(*out);
		*out = NULL;
		errlog_add("GET /v1/custom-user-properties/list", 200,
			   "response is not an array");
		return -EIO;
	}
	return r;
}

struct list_fetch {
	struct school *s;
	const struct api_user_filter *f;
};

/* A packed record on its way into the cache (fence_put's callback). */
struct record_put {
	struct cache *cache;
	const char *key;
	const char *packed;
	int changed; /* it replaced a fresh copy that read otherwise */
};

static void record_put(void *arg)
{
	struct record_put *rp = arg;

	rp->changed = record_differs(rp->cache, rp->key, rp->packed);
	cache_put_text(rp->cache, rp->key, rp->packed);
}

/*
 * Stores a record a list fetch received (u is consumed), unless its member
 * was changed since the fetch began (ticket t). Returns 1 when the member
 * belongs in the list: it does unless it was deleted since.
 */
static int list_record(struct school *s, const struct fence_ticket *t,
		       const char *email, cJSON *u, struct pack_bufs *bufs)
{
	struct record_put rp = {s->cache, NULL, NULL, 0};
	enum fence_news news;

	buf_resize(&bufs->key, 0);
	if (buf_puts(&bufs->key, "user:") || buf_puts(&bufs->key, email)) {
		/* Not cached only costs a fetch. */
		news = fence_news(s->fence, t, email);
		cJSON_Delete(u);
		return news != FENCE_GONE;
	}
	rp.key = buf_at(&bufs->key, 0);
	/* email points into u, which packing frees: use the key's copy. */
	email = rp.key + strlen("user:");
	/* Packing is the slow part: not under the fence's lock. */
	if (!pack_reusing(s, u, bufs)) {
		rp.packed = buf_at(&bufs->packed, 0);
		news = fence_put(s->fence, t, email, record_put, &rp);
	} else {
		news = fence_news(s->fence, t, email);
	}
	/* A record that changed elsewhere since it was cached: the kernel's
	 * copies of the member's files go (their cached copy's expiry no
	 * longer comes). */
	if (rp.changed)
		kernel_forget_member(s, email, 0);
	return news != FENCE_GONE;
}

/* The cursors one list walk was given, each with the page it came after. */
struct cursors {
	char **cursor;
	uint32_t *hash;
	int *page;
	size_t n, cap;
};

/* Remembers cursor c, given after page `page`. Returns 0, the page after
 * which c was given before (> 0: a cycle), or -ENOMEM. */
static int cursors_add(struct cursors *cs, const char *c, int page)
{
	uint32_t h = strhash(c);
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (cs->hash[i] == h && !strcmp(cs->cursor[i], c))
			return cs->page[i];
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 16;
		char **nc;
		uint32_t *nh;
		int *np;

		/* Each array keeps its old block until its own realloc
		 * succeeds, so a failure leaves nothing to leak. */
		nc = realloc(cs->cursor, cap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		cs->cursor = nc;
		nh = realloc(cs->hash, cap * sizeof(*nh));
		if (!nh)
			return -ENOMEM;
		cs->hash = nh;
		np = realloc(cs->page, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		cs->page = np;
		cs->cap = cap;
	}
	cs->cursor[cs->n] = strdup(c);
	if (!cs->cursor[cs->n])
		return -ENOMEM;
	cs->hash[cs->n] = h;
	cs->page[cs->n] = page;
	cs->n++;
	return 0;
}

static void cursors_free(struct cursors *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		free(cs->cursor[i]);
	free(cs->cursor);
	free(cs->hash);
	free(cs->page);
	memset(cs, 0, sizeof(*cs));
}

/*
 * The records of a listing's pages are stored by a second thread while
 * the next page is on its way: packing and storing 100 records takes
 * about a millisecond, which would otherwise be added to each page's
 * round trip (at 100,000 members, a thousand of them). Pages are handed
 * over in order, so the emails keep the server's order.
 */
struct page_line {
	struct school *s;
	const struct fence_ticket *ticket;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	cJSON *pages;	       /* array of pages (arrays of records) waiting */
	int closed;	       /* no more pages will come */
	struct buf emails;     /* the list (school_list_first) so far */
	int oom;	       /* an email could not be added */
	struct pack_bufs bufs; /* the storing thread's */
	pthread_t thread;
	int threaded; /* the thread runs; else pages are stored inline */
};

/* Stores one page's records, keeping the emails of those listed. */
static void page_store(struct page_line *pl, cJSON *users)
{
	cJSON *u;

	while ((u = cJSON_DetachItemFromArray(users, 0))) {
		const char *email = model_user_email(u);
		size_t at = pl->emails.len;

		if (!email || !*email) {
			cJSON_Delete(u);
			continue;
		}
		/* email points into u, which list_record takes. */
		if (buf_append(&pl->emails, email, strlen(email) + 1))
			pl->oom = 1;
		if (!list_record(pl->s, pl->ticket, email, u, &pl->bufs))
			buf_resize(&pl->emails, at);
	}
	cJSON_Delete(users);
}

static void *page_main(void *arg)
{
	struct page_line *pl = arg;
	cJSON *users;

	pthread_mutex_lock(&pl->lock);
	for (;;) {
		while (!cJSON_GetArraySize(pl->pages) && !pl->closed)
			pthread_cond_wait(&pl->cond, &pl->lock);
		users = cJSON_DetachItemFromArray(pl->pages, 0);
		if (!users)
			break;
		pthread_mutex_unlock(&pl->lock);
		page_store(pl, users);
		pthread_mutex_lock(&pl->lock);
	}
	pthread_mutex_unlock(&pl->lock);
	return NULL;
}

/* A page of records to store (taken). */
static void page_push(struct page_line *pl, cJSON *users)
{
	if (!pl->threaded) {
		page_store(pl, users);
		return;
	}
	pthread_mutex_lock(&pl->lock);
	cJSON_AddItemToArray(pl->pages, users);
	pthread_cond_signal(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
}

static int page_line_start(struct page_line *pl, struct school *s,
			   const struct fence_ticket *t)
{
	memset(pl, 0, sizeof(*pl));
	pl->s = s;
	pl->ticket = t;
	pl->pages = cJSON_CreateArray();
	if (!pl->pages)
		return -ENOMEM;
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->cond, NULL);
	/* Without a thread the records are stored in line: slower only. */
	pl->threaded = !pthread_create(&pl->thread, NULL, page_main, pl);
	return 0;
}

/* A list (school_list_first) made of the emails in b (taken), or NULL
 * when out of memory. */
static cJSON *list_of(struct buf *b)
{
	cJSON *list = NULL;
	char *block;

	if (!buf_append(b, "", 1)) /* the end: an empty email */
		list = cJSON_CreateStringReference("");
	if (!list) {
		buf_free(b);
		return NULL;
	}
	block = realloc(b->data, b->len + 1); /* to its size */
	list->valuestring = block ? block : b->data;
	list->type = cJSON_String; /* owned: cJSON_Delete frees it */
	memset(b, 0, sizeof(*b));
	return list;
}

/* The first email of a list's block, or NULL when it holds none. */
static const char *list_head(const cJSON *list)
{
	const char *e = cJSON_GetStringValue(list);

	return e && *e ? e : NULL;
}

const char *school_list_first(const struct cval *list)
{
	return list_head(list->json);
}

const char *school_list_next(const char *email)
{
	email += strlen(email) + 1;
	return *email ? email : NULL;
}

size_t school_list_count(const struct cval *list)
{
	const char *e;
	size_t n = 0;

	for (e = school_list_first(list); e; e = school_list_next(e))
		n++;
	return n;
}

/* Waits until every page pushed is stored; returns the list of emails
 * (NULL: out of memory). */
static cJSON *page_line_end(struct page_line *pl)
{
	if (pl->threaded) {
		pthread_mutex_lock(&pl->lock);
		pl->closed = 1;
		pthread_cond_signal(&pl->cond);
		pthread_mutex_unlock(&pl->lock);
		pthread_join(pl->thread, NULL);
	}
	pthread_cond_destroy(&pl->cond);
	pthread_mutex_destroy(&pl->lock);
	cJSON_Delete(pl->pages);
	pack_bufs_free(&pl->bufs);
	if (pl->oom) {
		buf_free(&pl->emails);
		return NULL;
	}
	return list_of(&pl->emails);
}

/* The cursor after page `pages`, or NULL at the end; -EIO (with an errors
 * line) when the server gave it before: the list runs in a cycle. A
 * server whose cursors come round again would be walked forever (A, B,
 * A, B, ... as well as A, A): the list is refused rather than shown cut
 * short. */
static int next_cursor(struct cursors *seen, char **next, int pages)
{
	int seen_at = *next ? cursors_add(seen, *next, pages) : 0;

	if (!seen_at)
		return 0;
	if (seen_at > 0)
		errlog_add("GET /v1/users/list", 200,
			   "the cursor after page %d is the one after page "
			   "%d: the list runs in a cycle; not shown (EIO)",
			   pages, seen_at);
	free(*next);
	*next = NULL;
	return seen_at > 0 ? -EIO : seen_at;
}

/* The records a list brought live as long as the list: a list of 100,000
 * members takes a thousand pages, and records that expired before it
 * would be fetched again one by one by whoever reads the list. */
static void renew_records(struct school *s, const cJSON *list)
{
	const char *e;
	char *key;

	for (e = list_head(list); e; e = school_list_next(e)) {
		key = key_of("user:", e);
		if (key)
			cache_renew(s->cache, key);
		free(key);
	}
}

/* A listing of at least this many pages gives freed memory back. */
#define TRIM_PAGES 100

/*
 * A listing that replaces records (the roster listed again after
 * cache_ttl) frees as much as it stores, and its new records come from
 * whichever malloc arena its storing thread was given: the old ones may
 * leave another arena all but empty, yet mapped. At 100,000 members
 * that was 0.9 KiB a member more; malloc_trim gives such pages back (a
 * few milliseconds, once per listing of 100 pages or more).
 */
static void give_back_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* Pages through #2. Each record goes to the cache as user:<email>; the
 * list itself keeps only the emails. */
static int fetch_members(void *arg, cJSON **out)
{
	struct list_fetch *lf = arg;
	struct school *s = lf->s;
	struct fence_ticket ticket;
	struct cursors seen = {0};
	struct page_line line;
	cJSON *emails;
	char *cursor = NULL;
	int pages = 0, r;

	fence_begin(s->fence, &ticket);
	r = page_line_start(&line, s, &ticket);
	if (r) {
		fence_end(s->fence, &ticket);
		return r;
	}
	do {
		cJSON *users = NULL;
		char *next = NULL;

		r = api_list_users_page(s->http, lf->f, cursor,
					s->cfg.page_size, &users, &next);
		if (r)
			break;
		page_push(&line, users);
		r = next_cursor(&seen, &next, ++pages);
		free(cursor);
		cursor = next;
	} while (cursor);
	emails = page_line_end(&line);
	if (!r && !emails)
		r = -ENOMEM;
	if (!r)
		renew_records(s, emails);
	if (!r && pages >= TRIM_PAGES)
		give_back_memory();
	if (!r && is_roster(lf->f)) {
		__atomic_store_n(&s->roster_pages, (unsigned long)pages,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&s->relist_debt, 0, __ATOMIC_RELEASE);
	}
	fence_end(s->fence, &ticket);
	free(cursor);
	cursors_free(&seen);
	if (r) {
		cJSON_Delete(emails);
		return r;
	}
	*out = emails;
	return 0;
}

int school_members(struct school *s, const struct api_user_filter *f,
		   struct cval **out)
{
	struct list_fetch lf = {s, f};

	return get_keyed(s, list_key(f), fetch_members, &lf, out);
}

struct user_fetch {
	struct school *s;
	const char *email;
	const char *key; /* user:<email> */
};

/*
 * Expired records, fetched again: one request each, or the roster's pages
 * for all of them. The records a listing brought expire together, and
 * whoever reads them all again after cache_ttl (every user.json, a
 * backup) would cost one request a member, 100,000 at 100,000 members,
 * where listing again costs a thousand. Which is cheaper depends on how
 * many will be read, which is not known: so, as in the ski-rental
 * problem, records are fetched one by one until as many requests went to
 * them as a listing takes, and then the roster is listed again, bringing
 * every record back. That never costs more than twice the better choice
 * made in hindsight; reading one member after expiry still costs one
 * request.
 *
 * Counted: a record held but expired, while the roster is held but
 * expired (the listing that brought it is over). Returns 1 with the
 * fresh record in *out (malloc'd) when the roster was listed again and
 * holds the member, else 0: fetch it alone.
 */
static int relisted(struct school *s, const char *key, char **out)
{
	unsigned long pages =
		__atomic_load_n(&s->roster_pages, __ATOMIC_ACQUIRE);
	struct api_user_filter all = {NULL, NULL, -1};
	struct cval *record, *roster, *fresh, *list = NULL;
	int due;

	if (!pages)
		return 0;
	record = cache_peek_any(s->cache, key);
	roster = cache_peek_any(s->views, "roster");
	fresh = cache_peek(s->views, "roster");
	due = record && roster && !fresh;
	cval_put(record);
	cval_put(roster);
	cval_put(fresh);
	if (!due ||
	    __atomic_add_fetch(&s->relist_debt, 1, __ATOMIC_ACQ_REL) <= pages)
		return 0;
	/* One listing for every reader that got here: cache_get's single
	 * flight. */
	if (school_members(s, &all, &list))
		return 0;
	cval_put(list);
	fresh = cache_peek(s->cache, key);
	if (fresh && !fresh->json)
		*out = strdup(fresh->text);
	cval_put(fresh);
	return *out != NULL;
}

static int fetch_user(void *arg, char **out)
{
	struct user_fetch *uf = arg;
	cJSON *record = NULL;
	int r;

	if (uf->key && relisted(uf->s, uf->key, out))
		return 0;
	r = api_find_by_mail(uf->s->http, uf->email, &record);

	if (r)
		return r;
	*out = pack(uf->s, record);
	return *out ? 0 : -ENOMEM;
}

/* A member's record as cached (a packed text value), fetched by #3 when
 * missing. */
static int get_user(struct school *s, const char *email, struct cval **out)
{
	char *key = key_of("user:", email);
	struct user_fetch uf = {s, email, key};
	int r;

	if (!key)
		return -ENOMEM;
	r = cache_get_text(s->cache, key, fetch_user, &uf, out);
	free(key);
	return r;
}

int school_user(struct school *s, const char *email, struct cval **out)
{
	struct cval *packed;
	int r = get_user(s, email, &packed);

	if (r)
		return r;
	r = unpack(s, packed, out);
	cval_put(packed);
	return r;
}

int school_user_fresh(struct school *s, const char *email, struct cval **out)
{
	cJSON *record = NULL, *copy;
	int r = api_find_by_mail(s->http, email, &record);

	if (r)
		return r;
	copy = cJSON_Duplicate(record, 1);
	if (!copy) {
		cJSON_Delete(record);
		return -ENOMEM;
	}
	put_record(s, email, copy);
	*out = cval_wrap(record, mono_now(), 0);
	return *out ? 0 : -ENOMEM;
}

int school_user_line(struct school *s, const char *email, struct buf *out)
{
	struct cval *packed;
	int r = get_user(s, email, &packed);

	if (r)
		return r;
	r = unpack_text(s, packed, out);
	if (!r)
		r = buf_puts(out, "\n");
	cval_put(packed);
	return r;
}

unsigned long school_changes(struct school *s)
{
	return __atomic_load_n(&s->changes, __ATOMIC_ACQUIRE);
}

unsigned long school_version(struct school *s)
{
	return school_changes(s) + cache_version(s->cache) +
	       cache_version(s->views);
}

unsigned long school_stamp(struct school *s)
{
	unsigned long v = school_version(s);
	double now = mono_now();

	if (now >= cache_fresh_until(s->cache) ||
	    now >= cache_fresh_until(s->views))
		return 0;
	return v + 1;
}

static int fetch_progress(void *arg, cJSON **out)
{
	struct user_fetch *uf = arg;

	return api_progress_list(uf->s->http, uf->email, out);
}

int school_progress(struct school *s, const char *email, struct cval **out)
{
	struct user_fetch uf = {s, email, NULL};

	return get_keyed(s, key_of("progress:", email), fetch_progress, &uf,
			 out);
}

struct cprogress_fetch {
	struct school *s;
	const char *email;
	const char *course;
};

static int fetch_course_progress(void *arg, cJSON **out)
{
	struct cprogress_fetch *cf = arg;

	return api_progress_course(cf->s->http, cf->course, cf->email, out);
}

int school_course_progress(struct school *s, const char *email,
			   const char *course, struct cval **out)
{
	struct cprogress_fetch cf = {s, email, course};

	if (!course)
		return school_progress(s, email, out);
	return get_keyed(s, key_of_pair("cprogress:", email, course),
			 fetch_course_progress, &cf, out);
}

struct cval *school_progress_cached(struct school *s, const char *email,
				    const char *course)
{
	char *key = course ? key_of_pair("cprogress:", email, course)
			   : key_of("progress:", email);
	struct cval *v;

	if (!key)
		return NULL;
	v = cache_peek(cache_for_key(s, key), key);
	free(key);
	return v;
}

struct exam_fetch {
	struct school *s;
	const char *exam;
};

static int fetch_exam(void *arg, cJSON **out)
{
	struct exam_fetch *ef = arg;

	return api_exam_results(ef->s->http, ef->exam, out);
}

int school_exam(struct school *s, const char *exam, struct cval **out)
{
	struct exam_fetch ef = {s, exam};
	int r = get_keyed(s, key_of("exam:", exam), fetch_exam, &ef, out);

	if (r)
		return r;
	pthread_mutex_lock(&s->lock);
	r = strmap_add(s->exams, exam);
	pthread_mutex_unlock(&s->lock);
	if (r > 0)
		count_change(s); /* exams/ lists it from now on */
	if (r >= 0)
		return 0;
	cval_put(*out);
	*out = NULL;
	return r;
}

/* Collects the keys of a set into a `const char *` array. */
struct key_list {
	const char **key;
	size_t n;
};

static enum strmap_visit collect_key(void *arg, const char *key, void *value)
{
	struct key_list *l = arg;

	l->key[l->n++] = key;
	return STRMAP_KEEP;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of set, sorted, as a cJSON array of strings; NULL on ENOMEM. */
static cJSON *keys_of(struct school *s, struct strmap *set)
{
	struct key_list l = {NULL, 0};
	cJSON *list = NULL, *item;
	size_t i;

	pthread_mutex_lock(&s->lock);
	l.key = malloc((strmap_count(set) + 1) * sizeof(*l.key));
	if (!l.key)
		goto unlock;
	strmap_visit(set, collect_key, &l);
	qsort(l.key, l.n, sizeof(*l.key), by_string);
	list = cJSON_CreateArray();
	for (i = 0; list && i < l.n; i++) {
		item = cJSON_CreateString(l.key[i]);
		if (!item || !cJSON_AddItemToArray(list, item)) {
			cJSON_Delete(item);
			cJSON_Delete(list);
			list = NULL;
		}
	}
unlock:
	pthread_mutex_unlock(&s->lock);
	free(l.key);
	return list;
}

cJSON *school_known_exams(struct school *s)
{
	return keys_of(s, s->exams);
}

int school_login_token(struct school *s, const char *email, char **token)
{
	struct cval *u;
	struct buf b = {0};
	cJSON *resp = NULL;
	const char *uid, *tok, *url;
	int r;

	r = school_user(s, email, &u);
	if (r)
		return r;
	uid = model_user_uid(u->json);
	if (!uid) {
		errlog_add("login-token", 0, "member %s has no uid", email);
		r = -EIO;
		goto out;
	}
	r = api_login_token(s->http, uid, &resp);
	if (r)
		goto out;
	tok = model_token(resp);
	if (!tok) {
		errlog_add("GET /v1/users/login-token", 200,
			   "response has no token");
		r = -EIO;
		goto out;
	}
	/* The token on its own line; a login URL, when the API gives one
	 * (API.md, "Evidence"), on the next. */
	url = model_token_login_url(resp);
	if (buf_printf(&b, "%s\n", tok) || (url && buf_printf(&b, "%s\n", url)))
		r = -ENOMEM;
	else
		*token = buf_steal(&b);
	buf_free(&b);
out:
	cJSON_Delete(resp);
	cval_put(u);
	return r;
}

int school_each_offer(struct school *s, school_offer_fn fn, void *arg)
{
	struct cval *offers;
	const cJSON *o;
	int r = school_offers(s, &offers);

	if (r)
		return r;
	cJSON_ArrayForEach(o, offers->json) {
		const char *id = model_offer_id(o);

		r = id ? fn(arg, offers, o, id) : 0;
		if (r)
			break;
	}
	cval_put(offers);
	return r;
}

struct offer_find {
	const char *want;
	struct cval **holder;
	const cJSON **offer;
};

static int offer_is(void *arg, struct cval *offers, const cJSON *offer,
		    const char *id)
{
	struct offer_find *f = arg;

	if (strcmp(id, f->want))
		return 0;
	*f->holder = cval_get(offers);
	*f->offer = offer;
	return 1;
}

int school_find_offer(struct school *s, const char *offer_id,
		      struct cval **holder, const cJSON **offer)
{
	struct offer_find f = {offer_id, holder, offer};
	int r = school_each_offer(s, offer_is, &f);

	return r == 1 ? 0 : r ? r : -ENOENT;
}

/* Calls fn(s, arg, offer id, NULL) for each offer of a catalogue already
 * in hand that has an id, then fn(s, arg, offer id or NULL, course id)
 * for each of its courses; stops at (and returns) fn's first non-zero
 * answer. Fetches nothing. */
typedef int (*offer_course_fn)(struct school *s, void *arg, const char *oid,
			       const char *cid);

static int each_offer_course(struct school *s, const cJSON *offers,
			     offer_course_fn fn, void *arg)
{
	const cJSON *o, *c;
	int r = 0;

	cJSON_ArrayForEach(o, offers) {
		const char *oid = model_offer_id(o);

		r = oid ? fn(s, arg, oid, NULL) : 0;
		cJSON_ArrayForEach(c, model_offer_courses(o)) {
			const char *cid = model_course_id(c);

			if (!r && cid)
				r = fn(s, arg, oid, cid);
		}
		if (r)
			break;
	}
	return r;
}

static int course_is(struct school *s, void *arg, const char *oid,
		     const char *cid)
{
	(void)s;
	(void)oid;
	return cid && !strcmp(cid, arg);
}

int school_course_known(struct school *s, const char *course_id)
{
	struct cval *offers;
	int found;

	if (school_offers(s, &offers))
		return 0;
	found = each_offer_course(s, offers->json, course_is,
				  (void *)course_id);
	cval_put(offers);
	return found;
}

int school_find_propdef(struct school *s, const char *name,
			struct cval **holder, const cJSON **def)
{
	struct cval *defs;
	int r = school_propdefs(s, &defs);

	if (r)
		return r;
	*def = model_propdef_find(defs->json, name);
	if (!*def) {
		cval_put(defs);
		return -ENOENT;
	}
	*holder = defs;
	return 0;
}

/* ------------------------------------------------------------------------
 * Derived grants
 *
 * When member records carry no "offers" (API.md, "Evidence"), a member's
 * grants are known only from the per-offer member lists. A walk reads,
 * for every offer O, the list of its members (offerId=O: the same cached
 * list as offers/O/members/) and of those whose access to it is inactive
 * (offerId=O&active=false), and stores each member's grants under
 * "held:<N>:<email>" ({"grants": [...]}), N the walk's number. Once done,
 * it publishes itself as "held" ({"walk": N, "started": T}): a member with
 * no entry of walk N holds no offer. So the first look at any member's
 * offers costs the pages of those two lists per offer, and every other
 * member's costs nothing for cache_ttl. A walk counts as expired
 * cache_ttl after it *started*, so no entry it wrote has expired while it
 * is trusted.
 *
 * One walk runs at a time (the others wait for it), and each writes only
 * its own entries, so two walks never mix. A change made through the mount
 * updates the entries of the published walk and of the running one, and
 * is logged; the running walk replays the log over its entries before it
 * publishes, because a list it read before the change may have undone
 * it. Replay and publication happen under s->lock, as do all updates of
 * entries, so no change slips between them.
 * ---------------------------------------------------------------------- */

static double held_number(const cJSON *v, const char *field)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, field);

	return cJSON_IsNumber(n) ? n->valuedouble : -1;
}

static char *held_key(double walk, const char *email)
{
	struct buf k = {0};

	if (buf_printf(&k, "held:%.0f:%s", walk, email)) {
		buf_free(&k);
		return NULL;
	}
	return buf_steal(&k);
}

/* The grant of offer in an entry; one is added when none is there. NULL
 * on ENOMEM. */
static cJSON *held_grant(cJSON *entry, const char *offer)
{
	cJSON *grants = cJSON_GetObjectItemCaseSensitive(entry, "grants");
	cJSON *g;

	cJSON_ArrayForEach(g, grants) {
		const char *id = model_grant_offer_id(g);

		if (id && !strcmp(id, offer))
			return g;
	}
	g = model_grant_new(offer, NULL, 1);
	if (g && !cJSON_AddItemToArray(grants, g)) {
		cJSON_Delete(g);
		g = NULL;
	}
	return g;
}

/* Sets email's grant of offer in walk `walk` to active (drop: forgets the
 * member's entry). Caller holds s->lock. */
static void held_set(struct school *s, double walk, const char *email,
		     const char *offer, int active, int drop)
{
	char *key = held_key(walk, email);
	struct cval *cur;
	cJSON *e = NULL, *g;

	if (!key)
		return;
	if (drop) {
		cache_drop(s->views, key);
		free(key);
		return;
	}
	cur = cache_peek(s->views, key);
	if (cur)
		e = cJSON_Duplicate(cur->json, 1);
	cval_put(cur);
	if (!e) {
		e = cJSON_CreateObject();
		if (e && !cJSON_AddArrayToObject(e, "grants")) {
			cJSON_Delete(e);
			e = NULL;
		}
	}
	g = e ? held_grant(e, offer) : NULL;
	if (g && !model_grant_set_active(g, active)) {
		cache_put(s->views, key, e);
		e = NULL;
	}
	cJSON_Delete(e);
	free(key);
}

/* Notes every member of one offer's list (all holders as active, then
 * those of the inactive list as inactive) in walk `walk`. */
static int held_note_list(struct school *s, double walk, const char *offer,
			  int inactive)
{
	struct api_user_filter f = {offer, NULL, inactive ? 0 : -1};
	struct cval *list;
	const char *e;
	int r = school_members(s, &f, &list);

	if (r)
		return r;
	pthread_mutex_lock(&s->lock);
	for (e = school_list_first(list); e; e = school_list_next(e))
		held_set(s, walk, e, offer, !inactive, 0);
	pthread_mutex_unlock(&s->lock);
	cval_put(list);
	return 0;
}

struct held_walk_arg {
	struct school *s;
	double walk;
};

static int held_note_offer(void *arg, struct cval *offers, const cJSON *offer,
			   const char *id)
{
	struct held_walk_arg *w = arg;
	int r = held_note_list(w->s, w->walk, id, 0);

	(void)offers;
	(void)offer;
	return r ? r : held_note_list(w->s, w->walk, id, 1);
}

/* One walk, numbered walk, over every offer's lists. */
static int held_run(struct school *s, double walk)
{
	struct held_walk_arg w = {s, walk};

	return school_each_offer(s, held_note_offer, &w);
}

/* Replays the changes logged while walk ran, and publishes it. Caller
 * holds s->lock. */
static int held_publish(struct school *s, double walk, double started)
{
	const cJSON *c;
	cJSON *m;

	cJSON_ArrayForEach(c, s->held_log) {
		const cJSON *offer = cJSON_GetObjectItemCaseSensitive(c, "o");

		held_set(s, walk,
			 cJSON_GetStringValue(
				 cJSON_GetObjectItemCaseSensitive(c, "e")),
			 cJSON_GetStringValue(offer),
			 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "a")),
			 !offer);
	}
	m = cJSON_CreateObject();
	if (!m || !cJSON_AddNumberToObject(m, "walk", walk) ||
	    !cJSON_AddNumberToObject(m, "started", started)) {
		cJSON_Delete(m);
		return -ENOMEM;
	}
	return cache_put(s->views, "held", m);
}

/* The number of a walk that is fresh, walking first when there is none
 * (or waiting for the walk that runs). */
static int held_walk(struct school *s, double *walk)
{
	struct cval *m;
	double started, gen;
	int r;

	unsigned epoch;

	pthread_mutex_lock(&s->lock);
again:
	for (;;) {
		m = cache_peek(s->views, "held");
		if (m && mono_now() - held_number(m->json, "started") <
				 s->cfg.cache_ttl) {
			*walk = held_number(m->json, "walk");
			cval_put(m);
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		cval_put(m);
		if (!s->held_running)
			break;
		gen = s->held_done;
		while (s->held_running && s->held_done == gen)
			pthread_cond_wait(&s->held_cond, &s->lock);
		if (s->held_err) {
			/* The walk we waited for failed: so do we, rather than
			 * each waiter walking against a failing API. */
			r = s->held_err;
			pthread_mutex_unlock(&s->lock);
			return r;
		}
	}
	s->held_running = ++s->held_walks;
	epoch = s->held_epoch;
	cJSON_Delete(s->held_log);
	s->held_log = cJSON_CreateArray();
	pthread_mutex_unlock(&s->lock);

	started = mono_now();
	r = s->held_log ? held_run(s, s->held_running) : -ENOMEM;

	pthread_mutex_lock(&s->lock);
	if (!r && epoch != s->held_epoch) {
		/* Everything was dropped meanwhile, this walk's entries too:
		 * walk again. */
		s->held_running = 0;
		goto again;
	}
	if (!r)
		r = held_publish(s, s->held_running, started);
	*walk = s->held_running;
	s->held_running = 0;
	s->held_done++;
	s->held_err = r;
	cJSON_Delete(s->held_log);
	s->held_log = NULL;
	pthread_cond_broadcast(&s->held_cond);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* A change made through the mount: email's grant of offer is now active
 * (offer NULL: the member is gone). Applied to the published walk and
 * the running one, and logged for the running one's replay. */
static void held_change(struct school *s, const char *email, const char *offer,
			int active)
{
	struct cval *m;
	cJSON *c;

	pthread_mutex_lock(&s->lock);
	m = cache_peek(s->views, "held");
	if (m)
		held_set(s, held_number(m->json, "walk"), email, offer, active,
			 !offer);
	cval_put(m);
	if (s->held_running) {
		held_set(s, s->held_running, email, offer, active, !offer);
		c = cJSON_CreateObject();
		if (c && cJSON_AddStringToObject(c, "e", email) &&
		    (!offer || cJSON_AddStringToObject(c, "o", offer)) &&
		    cJSON_AddBoolToObject(c, "a", active) &&
		    cJSON_AddItemToArray(s->held_log, c))
			c = NULL;
		cJSON_Delete(c);
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * Known orders. Records that carry no offers name no orders either, so
 * the orders of a member are those made known through this mount: a grant
 * with an order id (its offer known), a write to orders/ID (its offer
 * known only if the order was known before). They are kept for the life
 * of the mount, outside the walks, and merged into each walk's grants:
 * the state of an order whose offer is known is that offer's grant state,
 * fresh from the walk. Guarded by s->lock.
 */

/* The member's known order `order`, or NULL. Caller holds s->lock. */
static cJSON *order_find(struct school *s, const char *email, const char *order)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(s->orders, email);
	cJSON *g;

	cJSON_ArrayForEach(g, list) {
		const char *id = model_grant_order_id(g);

		if (id && !strcmp(id, order))
			return g;
	}
	return NULL;
}

/* Notes order (of offer, when not NULL) as active or not. */
static void orders_note(struct school *s, const char *email, const char *order,
			const char *offer, int active)
{
	cJSON *list, *g;

	pthread_mutex_lock(&s->lock);
	g = order_find(s, email, order);
	if (g && offer && !model_grant_offer_id(g))
		cJSON_AddStringToObject(g, "offerId", offer);
	if (g) {
		model_grant_set_active(g, active);
		goto out;
	}
	list = cJSON_GetObjectItemCaseSensitive(s->orders, email);
	if (!list)
		list = cJSON_AddArrayToObject(s->orders, email);
	g = model_grant_new(offer, order, active);
	if (!list || !g || !cJSON_AddItemToArray(list, g))
		cJSON_Delete(g);
out:
	pthread_mutex_unlock(&s->lock);
	count_change(s); /* what the member's files show */
}

/* The offer of a known order (malloc'd), or NULL. */
static char *orders_offer(struct school *s, const char *email,
			  const char *order)
{
	const char *offer;
	char *copy = NULL;

	pthread_mutex_lock(&s->lock);
	offer = model_grant_offer_id(order_find(s, email, order));
	if (offer)
		copy = strdup(offer);
	pthread_mutex_unlock(&s->lock);
	return copy;
}

/* The known orders of an offer follow a change of its state. */
static void orders_offer_state(struct school *s, const char *email,
			       const char *offer, int active)
{
	cJSON *g;

	pthread_mutex_lock(&s->lock);
	cJSON_ArrayForEach(g,
			   cJSON_GetObjectItemCaseSensitive(s->orders, email)) {
		const char *id = model_grant_offer_id(g);

		if (id && !strcmp(id, offer))
			model_grant_set_active(g, active);
	}
	pthread_mutex_unlock(&s->lock);
	count_change(s);
}

static void orders_forget(struct school *s, const char *email)
{
	pthread_mutex_lock(&s->lock);
	cJSON_DeleteItemFromObjectCaseSensitive(s->orders, email);
	pthread_mutex_unlock(&s->lock);
	count_change(s);
}

/* Merges the member's known orders into derived grants: an order of an
 * offer the member holds marks that grant; any other is a grant of its
 * own with the state last known. 0 or -ENOMEM. */
static int orders_merge(struct school *s, const char *email, cJSON *grants)
{
	const cJSON *k;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	cJSON_ArrayForEach(k,
			   cJSON_GetObjectItemCaseSensitive(s->orders, email)) {
		const char *offer = model_grant_offer_id(k);
		const char *order = model_grant_order_id(k);
		cJSON *g, *held = NULL;

		cJSON_ArrayForEach(g, grants) {
			const char *o = model_grant_offer_id(g);

			if (offer && o && !strcmp(o, offer) &&
			    !model_grant_order_id(g))
				held = g;
		}
		if (held) {
			if (!cJSON_AddStringToObject(held, "orderId", order))
				r = -ENOMEM;
			continue;
		}
		g = cJSON_Duplicate(k, 1);
		if (!g || !cJSON_AddItemToArray(grants, g)) {
			cJSON_Delete(g);
			r = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int school_grants(struct school *s, const char *email, const cJSON *user,
		  struct cval **out)
{
	const cJSON *grants = model_user_offers(user);
	struct cval *e = NULL;
	cJSON *copy = NULL;
	double walk;
	char *key;
	int r;

	if (grants || !user) {
		copy = grants ? cJSON_Duplicate(grants, 1)
			      : cJSON_CreateArray();
		goto wrap;
	}
	r = held_walk(s, &walk);
	if (r)
		return r;
	key = held_key(walk, email);
	if (!key)
		return -ENOMEM;
	e = cache_peek(s->views, key);
	free(key);
	copy = e ? cJSON_Duplicate(
			   cJSON_GetObjectItemCaseSensitive(e->json, "grants"),
			   1)
		 : cJSON_CreateArray();
	cval_put(e);
	if (copy && orders_merge(s, email, copy)) {
		cJSON_Delete(copy);
		copy = NULL;
	}
wrap:
	if (!copy)
		return -ENOMEM;
	*out = cval_wrap(copy, mono_now(), 0);
	return *out ? 0 : -ENOMEM;
}

int school_grants_derived(struct school *s, const cJSON *user)
{
	(void)s;
	return user && !model_user_offers(user);
}

/* What a successful change tells the derived grants: a grant (order may
 * be NULL), an offer's state, or an order's state (offer NULL). */
static void derived_change(struct school *s, const char *email,
			   const char *offer, const char *order, int active)
{
	char *known = NULL;

	if (offer) {
		held_change(s, email, offer, active);
		orders_offer_state(s, email, offer, active);
		if (order)
			orders_note(s, email, order, offer, active);
		return;
	}
	known = orders_offer(s, email, order);
	orders_note(s, email, order, NULL, active);
	if (known)
		held_change(s, email, known, active);
	else
		/* Which offer the order switched is not known here: the
		 * next look walks the lists again. */
		cache_drop(s->views, "held");
	free(known);
}

/* ------------------------------------------------------------------------
 * Pending members
 * ---------------------------------------------------------------------- */

int school_pending_add(struct school *s, const char *email)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = strmap_add(s->pending, email);
	pthread_mutex_unlock(&s->lock);
	count_change(s);
	return r == 0 ? -EEXIST : r < 0 ? r : 0;
}

int school_pending_has(struct school *s, const char *email)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = strmap_has(s->pending, email);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void school_pending_remove(struct school *s, const char *email)
{
	pthread_mutex_lock(&s->lock);
	strmap_remove(s->pending, email);
	pthread_mutex_unlock(&s->lock);
	count_change(s);
}

cJSON *school_pending_list(struct school *s)
{
	return keys_of(s, s->pending);
}

/* ------------------------------------------------------------------------
 * Invalidation
 * ---------------------------------------------------------------------- */

/* listed: path may have come or gone in its directory's listing
 * (school.h). */
static void kernel_forget(struct school *s, const char *path, int listed)
{
	if (s->invalidate && path)
		s->invalidate(s->invalidate_arg, path, listed);
}

/* Forgets the mount path of node n with identifiers id0, id1 (nodes.h
 * encodes them). */
static void kernel_forget_node(struct school *s, enum node n, const char *id0,
			       const char *id1, int listed)
{
	char *path = node_path(n, id0, id1);

	kernel_forget(s, path, listed);
	free(path);
}

/* A set of emails (a strmap) collected from cache keys, to forget their
 * members' files once the cache's lock is gone (or the data dropped). */
struct emails {
	struct strmap *set; /* NULL until the first one */
	int nomem;
};

static void emails_add(struct emails *e, const char *email)
{
	if (!e->set && !e->nomem && !(e->set = strmap_new()))
		e->nomem = 1;
	if (e->set && strmap_add(e->set, email) < 0)
		e->nomem = 1;
}

static int prefixed(const char *key, const char *prefix)
{
	return !strncmp(key, prefix, strlen(prefix));
}

static void note_member(void *arg, const char *key)
{
	if (prefixed(key, "user:"))
		emails_add(arg, key + strlen("user:"));
}

/* The members whose records are cached, fresh or expired. */
static void emails_cached(struct school *s, struct emails *e)
{
	if (cache_each_expired(s->cache, -INFINITY, INFINITY, note_member, e))
		e->nomem = 1;
}

static void kernel_forget_member(struct school *s, const char *email,
				 int listed);

static void emails_free(struct emails *e)
{
	strmap_free(e->set, NULL);
	memset(e, 0, sizeof(*e));
}

static enum strmap_visit forget_collected_member(void *arg, const char *email,
						 void *value)
{
	(void)value;
	kernel_forget_member(arg, email, 0);
	return STRMAP_KEEP;
}

/* Forgets the files of each member in e, and frees e. */
static void emails_forget(struct school *s, struct emails *e)
{
	if (e->set)
		strmap_visit(e->set, forget_collected_member, s);
	emails_free(e);
}

/* What the kernel may hold of each offer (its directory and files) and of
 * each course directory: the offer catalogue as cached. The members/
 * links are not enumerated (one per member per offer): a link's name
 * lives as long as the kernel's entry for it, cache_ttl at most. */
static int forget_offer_files(struct school *s, void *arg, const char *oid,
			      const char *cid)
{
	int n;

	(void)arg;
	if (cid) {
		kernel_forget_node(s, N_COURSE, cid, NULL, 0);
		kernel_forget_node(s, N_COURSE_MEMBERS, cid, NULL, 0);
		return 0;
	}
	for (n = 0; n < N__COUNT; n++)
		if (node_entry((enum node)n)->parent == N_OFFER || n == N_OFFER)
			kernel_forget_node(s, (enum node)n, oid, NULL, 0);
	return 0;
}

static void kernel_forget_offers(struct school *s, const struct cval *offers)
{
	if (offers)
		each_offer_course(s, offers->json, forget_offer_files, NULL);
}

/* Forgets users/E/<name> for each item of a cached list, named by
 * name_of. Nothing is fetched. */
static void forget_each(struct school *s, enum node n, const char *email,
			const cJSON *items,
			const char *(*name_of)(const cJSON *item))
{
	const cJSON *it;

	cJSON_ArrayForEach(it, items) {
		const char *name = name_of(it);

		if (name)
			kernel_forget_node(s, n, email, name, 0);
	}
}

/* Every file and directory of users/E the kernel may hold: the fixed
 * names of the table, one file per property and per offer (from what is
 * cached: a name not cached was never shown) and the member's orders.
 * listed: the member came or went (school.h). */
static void kernel_forget_member(struct school *s, const char *email,
				 int listed)
{
	char *key = key_of("user:", email);
	struct cval *defs = cache_peek_any(s->cache, "propdefs");
	struct cval *offers = cache_peek_any(s->cache, "offers");
	struct cval *packed = key ? cache_peek_any(s->cache, key) : NULL;
	struct cval *user = NULL;
	int n;

	kernel_forget_node(s, N_USER, email, NULL, listed);
	for (n = 0; n < N__COUNT; n++) {
		const struct node_entry *e = node_entry((enum node)n);

		if ((e->flags & NODE_MEMBER) && e->how == NAME_FIXED)
			kernel_forget_node(s, (enum node)n, email, NULL, 0);
	}
	if (defs)
		forget_each(s, N_USER_PROP, email, defs->json,
			    model_propdef_name);
	if (offers)
		forget_each(s, N_USER_OFFER, email, offers->json,
			    model_offer_id);
	if (packed && !unpack(s, packed, &user))
		forget_each(s, N_USER_ORDER, email,
			    model_user_offers(user->json),
			    model_grant_order_id);
	cval_put(user);
	cval_put(packed);
	cval_put(offers);
	cval_put(defs);
	free(key);
}

/* The symlinks a member may have in offers/, courses/ and by-status/;
 * listed: the member may have come or gone in those lists. */
struct member_links {
	const char *email;
	int listed;
};

static int forget_link(struct school *s, void *arg, const char *oid,
		       const char *cid)
{
	const struct member_links *m = arg;

	if (cid) {
		kernel_forget_node(s, N_COURSE_MEMBER, cid, m->email,
				   m->listed);
	} else {
		kernel_forget_node(s, N_OFFER_MEMBER, oid, m->email, m->listed);
		kernel_forget_node(s, N_OFFER_MEMBERS_CSV, oid, NULL, 0);
	}
	return 0;
}

static void forget_member_links(struct school *s, const char *email, int listed)
{
	struct cval *offers = cache_peek(s->cache, "offers");
	struct member_links m = {email, listed};

	kernel_forget_node(s, N_STATUS_MEMBER, "active", email, listed);
	kernel_forget_node(s, N_STATUS_MEMBER, "inactive", email, listed);
	/* Any offer may have gained or lost the member; the entries are few
	 * and forgetting one that is not cached costs nothing. */
	if (offers)
		each_offer_course(s, offers->json, forget_link, &m);
	cval_put(offers);
}

/* Which member lists a change can affect. */
enum change_scope {
	SCOPE_RECORD, /* the member's record only: no list gains or loses it */
	SCOPE_MEMBER, /* the member's grants or state: filtered lists only */
	SCOPE_ROSTER, /* members came or went: every list, users/ too */
};

/* After any change to a member: its record, the member lists that may
 * have changed, its progress, and the kernel's view of all of them. The
 * full roster (users/) is dropped only when members came or went: at
 * 100,000 members re-paging it costs a thousand requests. news says
 * whether the member is gone (FENCE_GONE) or changed; list fetches still
 * running learn it before anything is dropped. */
static void member_changed(struct school *s, const char *email,
			   enum change_scope scope, enum fence_news news)
{
	char *key = key_of("user:", email);
	char *pkey = key_of("progress:", email);

	fence_mark(s->fence, email, news);
	count_change(s);
	if (key)
		cache_drop(s->cache, key);
	if (pkey)
		cache_drop(s->views, pkey);
	cache_drop_prefix(s->views, "list:");
	if (scope == SCOPE_ROSTER)
		cache_drop(s->views, "roster");
	/* Course progress keys embed the email after a length prefix;
	 * dropping them all is cheap in the small views table. */
	cache_drop_prefix(s->views, "cprogress:");
	kernel_forget_member(s, email, scope == SCOPE_ROSTER);
	kernel_forget_node(s, N_STATUS_DIR, "active", NULL, 0);
	kernel_forget_node(s, N_STATUS_DIR, "inactive", NULL, 0);
	/* Every member is a line of the whole-school files. */
	kernel_forget_node(s, N_USERS_JSONL, NULL, NULL, 0);
	kernel_forget_node(s, N_USERS_CSV, NULL, NULL, 0);
	forget_member_links(s, email, scope != SCOPE_RECORD);
	free(key);
	free(pkey);
}

/* ------------------------------------------------------------------------
 * Expiry
 *
 * The kernel keeps entries and attributes for cache_ttl (fs.c). It is told
 * to forget them when what they show may change: at every change and
 * refresh, and when a cached value they were made from expires
 * (school_expired, called every second), so no name, size or time is
 * shown longer than cache_ttl (plus that second) after its data came.
 * ---------------------------------------------------------------------- */

struct expiry {
	struct emails members; /* whose records expired */
	/* what else expired */
	int all_members; /* the definitions, or derived grants: every
			  * member's files show them */
	int offers, roster, propdefs, exams;
};

static void note_expiry(void *arg, const char *key)
{
	struct expiry *x = arg;

	stats_add(STAT_EXPIRED, 1);
	if (prefixed(key, "user:"))
		emails_add(&x->members, key + strlen("user:"));
	else if (!strcmp(key, "propdefs"))
		x->propdefs = x->all_members = 1;
	else if (!strcmp(key, "held"))
		x->all_members = 1;
	else if (!strcmp(key, "offers") || prefixed(key, "list:"))
		x->offers = 1;
	else if (!strcmp(key, "roster"))
		x->roster = 1;
	else if (prefixed(key, "exam:"))
		x->exams = 1;
	/* progress and whole-school files: live, the kernel keeps no copy */
}

/* Every path the kernel may hold of an exam it was shown. */
static void kernel_forget_exams(struct school *s)
{
	cJSON *ids = school_known_exams(s);
	const cJSON *id;

	cJSON_ArrayForEach(id, ids) {
		if (!cJSON_IsString(id))
			continue;
		kernel_forget_node(s, N_EXAM, id->valuestring, NULL, 0);
		kernel_forget_node(s, N_EXAM_JSON, id->valuestring, NULL, 0);
		kernel_forget_node(s, N_EXAM_CSV, id->valuestring, NULL, 0);
	}
	cJSON_Delete(ids);
}

void school_expired(struct school *s, double from, double to)
{
	struct expiry x = {0};

	if (!s->invalidate)
		return;
	if (cache_each_expired(s->cache, from, to, note_expiry, &x) ||
	    cache_each_expired(s->views, from, to, note_expiry, &x))
		x.members.nomem = 1;
	/* Every cached member: the expired ones are among them. */
	if (x.all_members || x.members.nomem) {
		emails_free(&x.members);
		emails_cached(s, &x.members);
	}
	emails_forget(s, &x.members);
	if (x.roster)
		kernel_forget_node(s, N_USERS, NULL, NULL, 0);
	if (x.propdefs)
		kernel_forget_node(s, N_PROPDEFS, NULL, NULL, 0);
	if (x.offers) {
		struct cval *offers = cache_peek_any(s->cache, "offers");

		kernel_forget_offers(s, offers);
		cval_put(offers);
	}
	if (x.exams)
		kernel_forget_exams(s);
}

/* ------------------------------------------------------------------------
 * Changes
 *
 * Each change calls its api function, journals the outcome and, when the
 * API accepted it, drops what it affects. Under dry_run the api function
 * sends nothing and hands back the request instead (api.h): that goes to
 * the journal as "dry-run", the change reports success, and nothing
 * cached is touched, so the mount keeps showing the school as it is.
 * ---------------------------------------------------------------------- */

int school_refuse_readonly(const struct school *s, const char *what)
{
	if (!s->cfg.readonly)
		return 0;
	errlog_add(what, 0, "mounted read-only (-o ro): nothing is sent");
	return -EROFS;
}

/* Journals a change's outcome: r and resp as its api function gave them
 * (under dry_run, resp is the request not sent). Returns r, or under
 * dry_run the journal's verdict: the journal is all a dry run produces,
 * so a line that could not be written fails the change. */
static int journal_outcome(struct school *s, const char *op, const cJSON *args,
			   int r, const cJSON *resp)
{
	if (!s->cfg.dry_run || r) {
		journal_change(s->journal, op, args, r, resp);
		return r;
	}
	return journal_dry_run(s->journal, op, args, resp);
}

int school_grant(struct school *s, const char *email, const char *first,
		 const char *last, const char *offer, const char *order)
{
	struct api_result res;
	int r = school_refuse_readonly(s, "grant");

	if (r)
		return r;
	r = api_grant(s->http, email, first, last, offer, order, &res);
	r = journal_outcome(s, "grant", res.sent, r, res.answer);
	if (!r && !s->cfg.dry_run) {
		school_pending_remove(s, email);
		/* A grant to an existing member leaves the roster as it is. */
		member_changed(s, email,
			       model_grant_created(res.answer) == 0
				       ? SCOPE_MEMBER
				       : SCOPE_ROSTER,
			       FENCE_CHANGED);
		derived_change(s, email, offer, order, 1);
	}
	api_result_free(&res);
	return r;
}

/* Sets email's grant of an offer (by_offer) or of an order (id) active
 * or not. */
static int set_grant_state(struct school *s, const char *email, bool by_offer,
			   const char *id, bool active)
{
	const char *op = by_offer ? "set-offer-state" : "set-order-state";
	struct api_result res;
	int r = school_refuse_readonly(s, op);

	if (r)
		return r;
	if (by_offer)
		r = api_set_offer_state(s->http, email, id, active, &res);
	else
		r = api_set_order_state(s->http, email, id, active, &res);
	r = journal_outcome(s, op, res.sent, r, res.answer);
	if (!r && !s->cfg.dry_run) {
		member_changed(s, email, SCOPE_MEMBER, FENCE_CHANGED);
		derived_change(s, email, by_offer ? id : NULL,
			       by_offer ? NULL : id, active);
	}
	api_result_free(&res);
	return r;
}

int school_set_offer_state(struct school *s, const char *email,
			   const char *offer, bool active)
{
	return set_grant_state(s, email, true, offer, active);
}

int school_set_order_state(struct school *s, const char *email,
			   const char *order, bool active)
{
	return set_grant_state(s, email, false, order, active);
}

int school_set_properties(struct school *s, const char *email,
			  const cJSON *props)
{
	struct api_result res;
	int r = school_refuse_readonly(s, "set-properties");

	if (r)
		return r;
	r = api_set_properties(s->http, email, props, &res);
	r = journal_outcome(s, "set-properties", res.sent, r, res.answer);
	if (!r && !s->cfg.dry_run) {
		const char *got = model_user_email(res.answer);

		member_changed(s, email, SCOPE_RECORD, FENCE_CHANGED);
		/* The answer is the updated member: keep it, saving the next
		 * read a lookup. Only when it is recognisably that member. */
		if (got && !strcmp(got, email)) {
			put_record(s, email, res.answer);
			res.answer = NULL;
		}
	}
	api_result_free(&res);
	return r;
}

int school_enable_chapter(struct school *s, const char *email,
			  const char *course, const char *chapter)
{
	struct api_result res;
	int r = school_refuse_readonly(s, "enable-chapter");

	if (r)
		return r;
	r = api_enable_chapter(s->http, email, course, chapter, &res);
	r = journal_outcome(s, "enable-chapter", res.sent, r, res.answer);
	if (!r && !s->cfg.dry_run)
		member_changed(s, email, SCOPE_RECORD, FENCE_CHANGED);
	api_result_free(&res);
	return r;
}

/*
 * The deletion budget: at most max_deletes deletions in any 60 s. One
 * slot per deletion allowed, holding when it was let through; a slot
 * older than the window is free again. The slots are taken before the
 * snapshot is written and the request sent, so deletions running at once
 * cannot pass the budget together; one refused before anything was sent
 * gives its slots back. Every delete request sent counts, whatever the
 * API answered: the budget bounds what may have been lost.
 *
 * Refusals come in bursts (rm -r of every member past the budget refuses
 * the rest one rmdir at a time): each burst is one line in errlog,
 * rewritten with the count so far, until a deletion is let through again.
 */
#define DELETE_WINDOW 60.0 /* seconds */

/* Takes n slots stamped *stamp, or refuses with EPERM (and says so). */
static int budget_take(struct school *s, int n, double *stamp)
{
	int max = s->cfg.max_deletes, used = 0, i, got;
	double now = mono_now();

	*stamp = now;
	if (max <= 0)
		return 0;
	pthread_mutex_lock(&s->budget_lock);
	for (i = 0; i < max; i++)
		if (s->deleted[i] > now - DELETE_WINDOW)
			used++;
	if (used + n > max) {
		s->refused += n;
		errlog_note(&s->burst, "delete", 0,
			    "%ld member deletion%s refused, nothing sent: at "
			    "most %d members are deleted per rolling minute "
			    "(-o max_deletes=N raises the budget; 0: no "
			    "budget)",
			    s->refused, s->refused == 1 ? "" : "s", max);
		pthread_mutex_unlock(&s->budget_lock);
		return -EPERM;
	}
	for (i = 0, got = 0; i < max && got < n; i++) {
		if (s->deleted[i] > now - DELETE_WINDOW)
			continue;
		s->deleted[i] = now;
		got++;
	}
	s->burst = 0;
	s->refused = 0;
	pthread_mutex_unlock(&s->budget_lock);
	return 0;
}

/* Frees n slots taken with stamp (slots of one stamp are alike). */
static void budget_give_back(struct school *s, int n, double stamp)
{
	int i;

	if (s->cfg.max_deletes <= 0)
		return;
	pthread_mutex_lock(&s->budget_lock);
	for (i = 0; i < s->cfg.max_deletes && n > 0; i++) {
		if (s->deleted[i] == stamp) {
			s->deleted[i] = 0;
			n--;
		}
	}
	pthread_mutex_unlock(&s->budget_lock);
}

/* The members' last records, on disk before anything is sent: what the
 * journal keeps of a member once it is gone. 0, the error of reading a
 * record, or -EIO when the journal could not take it. */
static int snapshot_first(struct school *s, const char *const *emails, int n)
{
	struct cval *u;
	int i, r = 0;

	for (i = 0; i < n && !r; i++) {
		u = NULL;
		r = school_user(s, emails[i], &u);
		if (!r)
			r = journal_snapshot(s->journal, "delete-snapshot",
					     u->json);
		cval_put(u);
		if (r == -EIO || r == -ENOMEM) {
			errlog_add("delete", 0,
				   "%s not deleted, nothing sent: its record "
				   "could not be written to the journal first",
				   emails[i]);
			r = -EIO;
		}
	}
	return r;
}

int school_delete(struct school *s, const char *const *emails, int n)
{
	struct api_result res;
	double stamp;
	int r, i;

	r = school_refuse_readonly(s, "delete");
	if (r)
		return r;
	if (s->cfg.nodelete) {
		errlog_add("delete", 0,
			   "member deletion refused (-o nodelete)");
		return -EPERM;
	}
	if (!s->cfg.dry_run && !journal_has_file(s->journal)) {
		errlog_add("delete", 0,
			   "member deletion refused, nothing sent: there is "
			   "no journal file to keep the member's record "
			   "first (-o journal=PATH)");
		return -EPERM;
	}
	/* A dry run counts too: it shows where the real run would stop. */
	r = budget_take(s, n, &stamp);
	if (r)
		return r;
	/* Nothing is lost in a dry run; its journal line is the request. */
	if (!s->cfg.dry_run) {
		r = snapshot_first(s, emails, n);
		if (r)
			goto give_back;
	}
	r = api_delete_users(s->http, emails, n, &res);
	r = journal_outcome(s, "delete", res.sent, r, res.answer);
	if (!r && !s->cfg.dry_run) {
		for (i = 0; i < n; i++) {
			char *key = key_of("user:", emails[i]);
			char *dir = node_path(N_USER, emails[i], NULL);

			member_changed(s, emails[i], SCOPE_ROSTER, FENCE_GONE);
			if (key)
				cache_put_missing(s->cache, key);
			held_change(s, emails[i], NULL, 0);
			if (dir) {
				scratch_drop_dir(s->scratch, dir);
				bases_forget(s->bases, dir);
			}
			school_pending_remove(s, emails[i]);
			orders_forget(s, emails[i]);
			free(key);
			free(dir);
		}
	}
	api_result_free(&res);
	return r;

give_back:
	budget_give_back(s, n, stamp);
	return r;
}

/* ------------------------------------------------------------------------
 * Refresh
 * ---------------------------------------------------------------------- */

/* After a refresh of path (parsed as tp), with the members whose records
 * were cached before it (e, freed): the kernel forgets what the dropped
 * data showed, as the refresh kind says. */
static void kernel_forget_refreshed(struct school *s, const char *path,
				    const struct tree_path *tp,
				    struct emails *e, const struct cval *offers)
{
	enum node_forget what =
		tp ? node_entry(tp->node)->forget : FORGET_ROSTER;

	kernel_forget(s, path, 0);
	if (!tp) { /* "/": everything */
		kernel_forget_node(s, N_PROPDEFS, NULL, NULL, 0);
		kernel_forget_node(s, N_USERS, NULL, NULL, 0);
		kernel_forget_offers(s, offers);
		kernel_forget_exams(s);
	}
	switch (what) {
	case FORGET_PROPDEFS:
		kernel_forget_node(s, N_PROPDEFS, NULL, NULL, 0);
		break;
	case FORGET_OFFERS:
	case FORGET_LISTS:
		kernel_forget_offers(s, offers);
		break;
	case FORGET_EXAMS:
	case FORGET_EXAM:
		kernel_forget_exams(s);
		break;
	case FORGET_MEMBER:
		kernel_forget_member(s, tp->id[0], 0);
		break;
	case FORGET_ROSTER:
	case FORGET_NOTHING:
		break;
	}
	/* The members' files show the definitions and the records. */
	if (!tp || what == FORGET_PROPDEFS || what == FORGET_ROSTER)
		emails_forget(s, e);
	else
		emails_free(e);
}

/* Drops a key unless its value was fetched less than min_age seconds
 * ago: such a copy is as fresh as a new fetch would be. */
static void drop_older(struct school *s, const char *key, double min_age)
{
	struct cval *v;

	if (min_age > 0) {
		v = cache_peek(cache_for_key(s, key), key);
		if (v && mono_now() - v->fetched < min_age) {
			cval_put(v);
			return;
		}
		cval_put(v);
	}
	cache_drop(cache_for_key(s, key), key);
}

int school_refresh(struct school *s, const char *path)
{
	return school_forget(s, path, 0);
}

/* Drops everything: the refresh of "/". */
static void forget_all(struct school *s)
{
	struct emails e = {0};
	struct cval *offers = cache_peek_any(s->cache, "offers");

	/* What the kernel must forget is read before it is dropped. */
	emails_cached(s, &e);
	pthread_mutex_lock(&s->lock);
	s->held_epoch++;
	pthread_mutex_unlock(&s->lock);
	cache_drop_prefix(s->cache, "");
	cache_drop_prefix(s->views, "");
	kernel_forget_refreshed(s, "/", NULL, &e, offers);
	cval_put(offers);
}

int school_forget(struct school *s, const char *path, double min_age)
{
	struct emails e = {0};
	struct cval *offers;
	struct tree_path tp;
	enum node_forget what;
	char *key = NULL;
	int r;

	count_change(s);
	if (!strcmp(path, "/") || !*path) {
		forget_all(s);
		return 0;
	}
	r = tree_parse(path, &tp);
	if (r)
		return r;
	what = node_entry(tp.node)->forget;
	/* What the kernel must forget is read before it is dropped. */
	offers = cache_peek_any(s->cache, "offers");
	if (what == FORGET_PROPDEFS || what == FORGET_ROSTER)
		emails_cached(s, &e);
	switch (what) {
	case FORGET_PROPDEFS:
		cache_drop(s->cache, "propdefs");
		break;
	case FORGET_OFFERS:
		cache_drop(s->cache, "offers");
		cache_drop_prefix(s->views, "list:");
		cache_drop(s->views, "held");
		break;
	case FORGET_LISTS:
		cache_drop_prefix(s->views, "list:");
		cache_drop(s->views, "held");
		break;
	case FORGET_ROSTER:
		cache_drop(s->views, "roster");
		cache_drop_prefix(s->cache, "user:");
		break;
	case FORGET_EXAMS:
		cache_drop_prefix(s->cache, "exam:");
		break;
	case FORGET_EXAM:
		key = key_of("exam:", tp.id[0]);
		if (key)
			cache_drop(s->cache, key);
		break;
	case FORGET_NOTHING:
		break;
	case FORGET_MEMBER:
		key = key_of("user:", tp.id[0]);
		if (key)
			drop_older(s, key, min_age);
		free(key);
		key = key_of("progress:", tp.id[0]);
		if (key)
			drop_older(s, key, min_age);
		if (!min_age) {
			cache_drop_prefix(s->views, "cprogress:");
			/* Derived grants come from every offer's list: a
			 * refresh of the member walks them again. */
			cache_drop(s->views, "held");
		}
		break;
	}
	free(key);
	kernel_forget_refreshed(s, path, &tp, &e, offers);
	cval_put(offers);
	tree_path_free(&tp);
	return 0;
}

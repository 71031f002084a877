/*
 * views.c - rendering the tree: which nodes exist, their kind, mode and
 * size, directory listings and file contents. The node table (nodes.c)
 * says which of the functions below serve each node; the public entry
 * points only look the row up and call them.
 *
 * Everything here is derived from school.c's cached data on each call;
 * nothing is stored but the size and hash of the last build of each
 * whole-school file (users.jsonl, below), in school.c's record cache.
 * Existence checks for symlinks in member lists use the member's record
 * (cached by the list fetch) rather than scanning the list, so `ls -l`
 * over a list of N members stays O(N).
 *
 * Modes come from the table (nodes.c says why they are what they are).
 *
 * Where a stat renders a file to know its size, the content's hash goes
 * with the size (view_attr.hash): the fs layer makes the file's mtime of
 * it (mtimes.h) at no further cost.
 *
 * Listings show only names that can be looked up again: every identifier
 * goes through fill_encoded, which leaves out one whose name would be
 * longer than TREE_NAME_MAX (the kernel refuses such names before we see
 * them) and says so in .memberspot/errors, once per directory and id
 * while it is remembered (a repeated `ls` must not flush the log).
 *
 * Browsing has no side effects: readdir of users/E/ leaves out the names
 * whose reading costs something beyond the cache (login-token mints a
 * token; progress.json and progress/ spend rate-limited requests). They
 * still open and stat by name, and the README inside the mount says so.
 */
#include "views.h"
#include "nodeops.h"
#include "nodes.h"
#include "packrec.h"
#include "strhash.h"
#include "strmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "clock.h"
#include "csv.h"
#include "errlog.h"
#include "http.h"
#include "journal.h"
#include "jsonout.h"
#include "memo.h"
#include "model.h"
#include "mtimes.h"
#include "school.h"
#include "scratch.h"
#include "stats.h"

size_t view_max_write(enum view_write w)
{
	switch (w) {
	case VW_VALUE:
		return 64 * 1024;
	case VW_JSON:
		return 1024 * 1024;
	case VW_CONTROL:
		return 64u * 1024 * 1024;
	case VW_SCRATCH:
		return SCRATCH_MAX_FILE;
	case VW_NONE:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------- */

static int put_json(struct buf *out, const cJSON *json)
{
	return json_pretty(json, out);
}

/* Directory/id pairs already reported as too long (their hashes, a
 * ring): a collision or an overwritten slot only repeats or skips a log
 * line, so exactness is not needed. */
#define UNLISTED_KEEP 64
static pthread_mutex_t unlisted_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t unlisted[UNLISTED_KEEP];
static size_t unlisted_next;

/* 1 the first time (while remembered) this id goes unlisted in dir. */
static int unlisted_first(const char *dir, const char *id)
{
	uint64_t h = (uint64_t)strhash(dir) << 32 | strhash(id);
	size_t i;
	int first = 1;

	pthread_mutex_lock(&unlisted_lock);
	for (i = 0; i < UNLISTED_KEEP; i++)
		if (unlisted[i] == h)
			first = 0;
	if (first) {
		unlisted[unlisted_next] = h;
		unlisted_next = (unlisted_next + 1) % UNLISTED_KEEP;
	}
	pthread_mutex_unlock(&unlisted_lock);
	return first;
}

/*
 * Lists identifier id (plus suffix) in directory dir. An id whose name
 * would be longer than TREE_NAME_MAX is left out: the kernel cannot look
 * such a name up, and a listed name that cannot be opened breaks `ls -l`,
 * find and rsync. The record it comes from still shows it.
 */
static int fill_encoded(view_fill_fn fill, void *arg, const char *dir,
			const char *id, const char *suffix, enum view_type t)
{
	struct buf b = {0};
	size_t cut;
	char *name;
	int r;

	if (!tree_name_fits(id, suffix)) {
		if (!unlisted_first(dir, id))
			return 0;
		/* The start of the id, not cut inside a UTF-8 character. */
		cut = strlen(id) < 40 ? strlen(id) : 40;
		while (cut && ((unsigned char)id[cut] & 0xc0) == 0x80)
			cut--;
		errlog_add(dir, 0,
			   "not listed: an id of %zu bytes (\"%.*s...\") whose "
			   "file name would be longer than %d bytes; the "
			   "record still shows it",
			   strlen(id), (int)cut, id, TREE_NAME_MAX);
		return 0;
	}
	name = tree_encode(id);
	if (!name)
		return -ENOMEM;
	r = buf_puts(&b, name);
	if (!r && suffix)
		r = buf_puts(&b, suffix);
	if (!r)
		r = fill(arg, b.data, t);
	buf_free(&b);
	free(name);
	return r;
}

/* The member behind users/E: 0 with *u, 1 when E is a pending member
 * (*u NULL), or -errno. */
static int member(struct school *s, const char *email, struct cval **u)
{
	int r = school_user(s, email, u);

	if (r == -ENOENT && school_pending_has(s, email)) {
		*u = NULL;
		return 1;
	}
	return r;
}

/*
 * The state of the member's grant of offer/order `id`: 1 active, 0
 * inactive, -ENOENT when the member holds none, or -errno. The grants
 * are the record's or, when it carries none, derived (school_grants).
 * With derived grants an order not known to the mount is 2: orders are
 * known only from changes made through it, so any order id may be
 * written (API.md, "Evidence").
 */
static int grant_state(struct school *s, const char *email, const cJSON *user,
		       const char *id, int order)
{
	struct cval *grants;
	const cJSON *g;
	int r = school_grants(s, email, user, &grants);

	if (r)
		return r;
	r = order && school_grants_derived(s, user) ? 2 : -ENOENT;
	cJSON_ArrayForEach(g, grants->json) {
		const char *gid = order ? model_grant_order_id(g)
					: model_grant_offer_id(g);

		if (gid && !strcmp(gid, id)) {
			r = model_grant_active(g) != 0;
			break;
		}
	}
	cval_put(grants);
	return r;
}

/* fn(arg, course) the first time course (may be NULL: skipped) is seen;
 * 0, fn's result, or -ENOMEM. */
static int course_once(struct strmap *seen, const char *course,
		       int (*fn)(void *arg, const char *course), void *arg)
{
	int r = course ? strmap_add(seen, course) : 0;

	return r > 0 ? fn(arg, course) : r;
}

/* Calls fn for each course of the member: those of the member's offers,
 * then those its record's progress names (duplicates skipped). */
static int each_member_course(struct school *s, const char *email,
			      const cJSON *user,
			      int (*fn)(void *arg, const char *course),
			      void *arg)
{
	struct cval *offers, *grants;
	const cJSON *g, *o, *c;
	struct strmap *seen;
	int r = school_offers(s, &offers);

	if (r)
		return r;
	r = school_grants(s, email, user, &grants);
	if (r) {
		cval_put(offers);
		return r;
	}
	seen = strmap_new();
	if (!seen) {
		r = -ENOMEM;
		goto out_grants;
	}
	cJSON_ArrayForEach(g, grants->json) {
		const char *oid = model_grant_offer_id(g);

		cJSON_ArrayForEach(o, offers->json) {
			const char *id = model_offer_id(o);

			if (!oid || !id || strcmp(id, oid))
				continue;
			cJSON_ArrayForEach(c, model_offer_courses(o)) {
				r = course_once(seen, model_course_id(c), fn,
						arg);
				if (r)
					goto out;
			}
		}
	}
	cJSON_ArrayForEach(c, model_user_progress(user)) {
		r = course_once(seen, model_progress_course_id(c), fn, arg);
		if (r)
			goto out;
	}
out:
	strmap_free(seen, NULL);
out_grants:
	cval_put(grants);
	cval_put(offers);
	return r;
}

struct course_match {
	const char *want;
	int found;
};

static int match_course(void *arg, const char *course)
{
	struct course_match *m = arg;

	if (!strcmp(m->want, course)) {
		m->found = 1;
		return 1;
	}
	return 0;
}

static int member_has_course(struct school *s, const char *email,
			     const cJSON *user, const char *course)
{
	struct course_match m = {course, 0};
	int r = each_member_course(s, email, user, match_course, &m);

	return r < 0 ? r : m.found;
}

/* The defined property behind properties/NAME, or -ENOENT. */
static int propdef(struct school *s, const char *name, struct cval **holder,
		   const cJSON **def)
{
	int r = school_find_propdef(s, name, holder, def);

	/* Files are named by property names only; ids are accepted in
	 * properties.json, not as file names. */
	if (!r &&
	    strcmp(model_propdef_name(*def) ? model_propdef_name(*def) : "",
		   name)) {
		cval_put(*holder);
		return -ENOENT;
	}
	return r;
}

/* ------------------------------------------------------------------------
 * The node's context: the member behind users/E/...
 * ---------------------------------------------------------------------- */

/*
 * Fills c for a stat or listing (record = 0) or a rendering (record = 1)
 * of p. Under users/E the member must exist: for stat and list, as a
 * member or, where the row allows, a pending one (c->user NULL); for
 * rendering, only rows that read the record need it. Then the row's own
 * existence check, for stat and list. 0 or -errno; ctx_done releases.
 */
static int ctx_open(struct node_ctx *c, struct school *s, const char *path,
		    const struct tree_path *p, int record)
{
	const struct node_entry *e = node_entry(p->node);
	int r = 0;

	c->s = s;
	c->path = path;
	c->p = p;
	c->user = NULL;
	if (record) {
		if (e->flags & NODE_RECORD)
			r = school_user(s, p->id[0], &c->user);
		return r;
	}
	if (e->flags & NODE_MEMBER) {
		r = member(s, p->id[0], &c->user);
		if (r == 1)
			r = (e->flags & NODE_PENDING) ? 0 : -ENOENT;
		if (r < 0)
			return r;
	}
	r = e->exists ? e->exists(c) : 0;
	if (r) {
		cval_put(c->user);
		c->user = NULL;
	}
	return r;
}

static void ctx_done(struct node_ctx *c)
{
	cval_put(c->user);
	c->user = NULL;
}

/* ------------------------------------------------------------------------
 * Content
 * ---------------------------------------------------------------------- */

int view_render_readme(const struct node_ctx *c, struct buf *out)
{
	return buf_puts(out, node_readme);
}

int view_render_empty(const struct node_ctx *c, struct buf *out)
{
	return 0; /* control files read as empty */
}

/* Renders *v (when r, the result of fetching it, is 0) and releases it. */
static int put_cval(int r, struct cval **v, struct buf *out)
{
	if (!r)
		r = put_json(out, (*v)->json);
	cval_put(*v);
	return r;
}

int view_render_propdefs(const struct node_ctx *c, struct buf *out)
{
	struct cval *v = NULL;
	int r = school_propdefs(c->s, &v);

	return put_cval(r, &v, out);
}

int view_render_offer_json(const struct node_ctx *c, struct buf *out)
{
	struct cval *holder;
	const cJSON *offer;
	int r = school_find_offer(c->s, c->p->id[0], &holder, &offer);

	if (r)
		return r;
	r = put_json(out, offer);
	cval_put(holder);
	return r;
}

int view_render_offer_name(const struct node_ctx *c, struct buf *out)
{
	struct cval *holder;
	const cJSON *offer;
	const char *name;
	int r = school_find_offer(c->s, c->p->id[0], &holder, &offer);

	if (r)
		return r;
	name = model_offer_name(offer);
	r = buf_printf(out, "%s\n", name ? name : "");
	cval_put(holder);
	return r;
}

int view_render_user_json(const struct node_ctx *c, struct buf *out)
{
	return put_json(out, c->user->json);
}

/* users/E/offers/O, users/E/orders/R: the state of the grant. */
static int render_state(const struct node_ctx *c, struct buf *out, int order)
{
	int r = grant_state(c->s, c->p->id[0], c->user->json, c->p->id[1],
			    order);

	/* 2: an order this mount knows nothing of reads empty */
	if (r == 0 || r == 1)
		return buf_puts(out, r ? "active\n" : "inactive\n");
	return r == 2 ? 0 : r;
}

int view_render_offer_state(const struct node_ctx *c, struct buf *out)
{
	return render_state(c, out, 0);
}

int view_render_order_state(const struct node_ctx *c, struct buf *out)
{
	return render_state(c, out, 1);
}

int view_render_prop(const struct node_ctx *c, struct buf *out)
{
	struct cval *defs;
	const cJSON *def, *v;
	char *text;
	int r = propdef(c->s, c->p->id[1], &defs, &def);

	if (r)
		return r;
	v = model_user_prop(c->user->json, def);
	if (v && !cJSON_IsNull(v)) {
		text = model_scalar_text(v);
		if (!text)
			text = cJSON_PrintUnformatted(v);
		r = text ? buf_printf(out, "%s\n", text) : -ENOMEM;
		free(text);
	}
	cval_put(defs);
	return r;
}

int view_render_props_json(const struct node_ctx *c, struct buf *out)
{
	struct cval *defs;
	cJSON *obj;
	const cJSON *d, *v;
	int r = school_propdefs(c->s, &defs);

	if (r)
		return r;
	obj = cJSON_CreateObject();
	cJSON_ArrayForEach(d, defs->json) {
		const char *id = model_propdef_id(d);
		const char *name = model_propdef_name(d);

		if (!id || !name)
			continue;
		v = model_user_prop(c->user->json, d);
		cJSON_AddItemToObject(obj, name,
				      v ? cJSON_Duplicate(v, 1)
					: cJSON_CreateNull());
	}
	cval_put(defs);
	r = put_json(out, obj);
	cJSON_Delete(obj);
	return r;
}

/* progress.json (no course: id[1] is NULL) and progress/C.json. */
int view_render_progress(const struct node_ctx *c, struct buf *out)
{
	struct cval *v = NULL;
	int r = school_course_progress(c->s, c->p->id[0], c->p->id[1], &v);

	return put_cval(r, &v, out);
}

int view_render_login_token(const struct node_ctx *c, struct buf *out)
{
	char *token = NULL;
	int r = school_login_token(c->s, c->p->id[0], &token);

	if (!r)
		r = buf_puts(out, token);
	free(token);
	return r;
}

int view_render_exam_json(const struct node_ctx *c, struct buf *out)
{
	struct cval *v = NULL;
	int r = school_exam(c->s, c->p->id[0], &v);

	return put_cval(r, &v, out);
}

int view_render_exam_csv(const struct node_ctx *c, struct buf *out)
{
	struct cval *v = NULL;
	char *csv = NULL;
	int r = school_exam(c->s, c->p->id[0], &v);

	if (!r)
		r = model_exam_csv(v->json, &csv);
	if (!r)
		r = buf_puts(out, csv);
	free(csv);
	cval_put(v);
	return r;
}

int view_render_status(const struct node_ctx *c, struct buf *out)
{
	int r = stats_render(out);

	if (!r)
		r = buf_printf(out, "cache entries: %ld\n",
			       cache_count(school_cache(c->s)));
	if (!r)
		r = buf_printf(out, "record keys packed: %d of %d\n",
			       school_packed_keys(c->s), PACKREC_KEYS);
	if (!r && school_http(c->s))
		r = http_pacing_render(school_http(c->s), out);
	return r;
}

int view_render_errors(const struct node_ctx *c, struct buf *out)
{
	return errlog_render(out);
}

int view_render_journal(const struct node_ctx *c, struct buf *out)
{
	return journal_render(school_journal(c->s), out);
}

static int render_now(struct school *s, const struct tree_path *p,
		      const struct node_entry *e, struct buf *out)
{
	struct node_ctx c;
	int r;

	stats_add(STAT_RENDERS, 1);
	r = ctx_open(&c, s, NULL, p, 1);
	if (!r)
		r = e->render(&c, out);
	ctx_done(&c);
	return r;
}

/* The memo's key of a file: its school, node kind and identifiers. */
static char *memo_key(struct school *s, const struct tree_path *p)
{
	struct buf k = {0};
	const char *a = p->id[0] ? p->id[0] : "", *b = p->id[1] ? p->id[1] : "";

	if (buf_printf(&k, "%p:%d:%zu:%s%s", (void *)s, (int)p->node, strlen(a),
		       a, b)) {
		buf_free(&k);
		return NULL;
	}
	return buf_steal(&k);
}

/*
 * A stable file rendered less than a second ago (and no longer ago than
 * cache_ttl), with no change made through the mount since, is served
 * from the memo (memo.h): a stat and the open after it render once. Live
 * files (tokens, progress, control files, the whole-school files) are
 * rendered every time.
 */
int view_render(struct school *s, const struct tree_path *p, struct buf *out)
{
	const struct node_entry *e = node_entry(p->node);
	double keep = school_config(s)->cache_ttl, now = mono_now();
	unsigned long version = school_version(s);
	size_t start = out->len;
	char *key;
	int r;

	if (!e->render)
		return -EISDIR;
	if (keep > 1.0)
		keep = 1.0;
	if ((e->flags & NODE_LIVE) || keep <= 0 || p->scratch)
		return render_now(s, p, e, out);
	key = memo_key(s, p);
	r = key ? memo_get(key, version, now, keep, out) : 0;
	if (r) {
		free(key);
		return r < 0 ? r : 0;
	}
	r = render_now(s, p, e, out);
	if (!r && key)
		memo_put(key, version, now, buf_at(out, start),
			 out->len - start);
	free(key);
	return r;
}

/* A member link points from its directory up to the root, then down to
 * users/E: "../../../users/E" from offers/O/members/. */
int view_readlink(struct school *s, const struct tree_path *p, struct buf *out)
{
	char *target;
	int up, r = 0;

	if (node_entry(p->node)->type != VIEW_LINK)
		return -EINVAL;
	target = node_path(N_USER, p->id[1], NULL);
	if (!target)
		return -ENOMEM;
	for (up = node_depth(p->node) - 1; up > 0 && !r; up--)
		r = buf_puts(out, "../");
	if (!r)
		r = buf_puts(out, target + 1);
	free(target);
	return r;
}

/* ------------------------------------------------------------------------
 * Existence and attributes
 * ---------------------------------------------------------------------- */

static void attr_set(struct view_attr *a, enum view_type t, mode_t mode,
		     enum view_write w)
{
	a->type = t;
	a->mode = mode;
	a->size = 0;
	a->write = w;
	a->hashed = 0;
	a->hash = 0;
}

/* The size and hash of content b. */
static void attr_content(struct view_attr *a, const struct buf *b)
{
	a->size = b->len;
	a->hash = mtimes_hash(b->data, b->len);
	a->hashed = 1;
}

/* Size of a rendered file. */
static int attr_render(struct school *s, const struct tree_path *p,
		       struct view_attr *a)
{
	struct buf b = {0};
	int r = view_render(s, p, &b);

	if (!r)
		attr_content(a, &b);
	buf_free(&b);
	return r;
}

int view_exists_offer(const struct node_ctx *c)
{
	struct cval *holder = NULL;
	const cJSON *offer;
	int r = school_find_offer(c->s, c->p->id[0], &holder, &offer);

	cval_put(holder);
	return r;
}

int view_exists_exam(const struct node_ctx *c)
{
	struct cval *v = NULL;
	int r = school_exam(c->s, c->p->id[0], &v);

	cval_put(v);
	return r;
}

int view_exists_course(const struct node_ctx *c)
{
	struct api_user_filter f = {NULL, c->p->id[0], -1};
	struct cval *list;
	int r;

	if (school_course_known(c->s, c->p->id[0]))
		return 0;
	/* Not named by any offer: it exists if the API lists members for
	 * it (an offer list may lag behind); an empty list is a typo. */
	r = school_members(c->s, &f, &list);
	if (!r && !school_list_first(list))
		r = -ENOENT;
	cval_put(list);
	return r;
}

/* Is E (id[1]) in the member list f behind a symlink directory? Decided
 * by in() from the member's record after making sure the list (and so
 * the record) is cached. */
static int member_link(const struct node_ctx *c,
		       const struct api_user_filter *f,
		       int (*in)(const struct node_ctx *c, const cJSON *user))
{
	struct cval *list, *u;
	int r = school_members(c->s, f, &list);

	if (r)
		return r;
	cval_put(list);
	r = school_user(c->s, c->p->id[1], &u);
	if (r)
		return r;
	r = in(c, u->json) ? 0 : -ENOENT;
	cval_put(u);
	return r;
}

static int holds_offer(const struct node_ctx *c, const cJSON *user)
{
	return grant_state(c->s, c->p->id[1], user, c->p->id[0], 0) >= 0;
}

static int takes_course(const struct node_ctx *c, const cJSON *user)
{
	return member_has_course(c->s, c->p->id[1], user, c->p->id[0]) > 0;
}

static int has_status(const struct node_ctx *c, const cJSON *user)
{
	return (model_user_active(user) == 1) == !strcmp(c->p->id[0], "active");
}

int view_exists_offer_member(const struct node_ctx *c)
{
	struct api_user_filter f = {c->p->id[0], NULL, -1};

	return member_link(c, &f, holds_offer);
}

int view_exists_course_member(const struct node_ctx *c)
{
	struct api_user_filter f = {NULL, c->p->id[0], -1};

	return member_link(c, &f, takes_course);
}

int view_exists_status_member(const struct node_ctx *c)
{
	struct api_user_filter f = {NULL, NULL, -1};

	f.active = !strcmp(c->p->id[0], "active");
	return member_link(c, &f, has_status);
}

int view_stat_link(const struct node_ctx *c, struct view_attr *a)
{
	struct buf t = {0};
	int r = view_readlink(c->s, c->p, &t);

	a->size = t.len;
	buf_free(&t);
	return r;
}

int view_stat_scratch(const struct node_ctx *c, struct view_attr *a)
{
	size_t size;
	mode_t mode;

	if (!scratch_stat(school_scratch(c->s), c->path, &size, &mode))
		return -ENOENT;
	attr_set(a, VIEW_FILE, mode & 07777, VW_SCRATCH);
	a->size = size;
	return 0;
}

int view_stat_prop(const struct node_ctx *c, struct view_attr *a)
{
	struct cval *holder = NULL;
	const cJSON *def;
	/* Only a name that is surely no property is a scratch file: when
	 * the definitions cannot be had, the error stands. */
	int r = c->p->scratch ? -ENOENT
			      : propdef(c->s, c->p->id[1], &holder, &def);

	cval_put(holder);
	if (!r)
		return attr_render(c->s, c->p, a);
	return r == -ENOENT ? view_stat_scratch(c, a) : r;
}

/* progress.json, progress/C.json: the size only when cached (a stat must
 * not spend a rate-limited request). */
int view_stat_progress(const struct node_ctx *c, struct view_attr *a)
{
	const char *course = c->p->id[1]; /* NULL: progress.json */
	struct cval *v;
	struct buf t = {0};
	int r;

	if (course) {
		r = member_has_course(c->s, c->p->id[0], c->user->json, course);
		if (r <= 0)
			return r ? r : -ENOENT;
	}
	v = school_progress_cached(c->s, c->p->id[0], course);
	if (!v)
		return 0;
	if (!json_pretty(v->json, &t))
		attr_content(a, &t);
	buf_free(&t);
	cval_put(v);
	return 0;
}

/* ------------------------------------------------------------------------
 * Whole-school files: users.jsonl, users.csv, offers/O/members.csv
 *
 * Built from a member list and the records it cached, at no request
 * beyond the listing (and, for users.csv where records carry no grants,
 * the walk that derives them). They are streamed: an open holds the
 * member list (a reference, not a copy) and a cursor in it, and each
 * read builds the next lines (view_stream_next), so a 100,000-member
 * file is never held whole, by an open or by a stat. A stat takes the
 * size and hash of the last complete build while nothing it was built
 * from has changed since: the same list and definitions (by when they
 * were fetched) and no change or refresh through the mount in between
 * (school_changes); otherwise it builds it once more, chunk by chunk,
 * counting. What a complete build left is kept in the record cache
 * under "whole:PATH", so it lives no longer than the data.
 * ---------------------------------------------------------------------- */

/* What a build of the file depends on, as text. */
static char *whole_token(struct school *s, const struct cval *list,
			 const struct cval *defs)
{
	struct buf t = {0};

	if (buf_printf(&t, "%lu/%a/%a", school_changes(s), list->fetched,
		       defs ? defs->fetched : 0.0)) {
		buf_free(&t);
		return NULL;
	}
	return buf_steal(&t);
}

static char *whole_key(const struct tree_path *p)
{
	char *path = node_path(p->node, p->id[0], NULL);
	struct buf k = {0};
	int r = path ? buf_printf(&k, "whole:%s", path) : -ENOMEM;

	free(path);
	if (r) {
		buf_free(&k);
		return NULL;
	}
	return buf_steal(&k);
}

/* Remembers the size and hash of a complete build made under token. */
static void whole_remember(struct school *s, const struct tree_path *p,
			   const char *token, size_t len, uint64_t h)
{
	char *key = whole_key(p), hash[24];
	cJSON *v = cJSON_CreateObject();

	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)h);
	if (key && v && cJSON_AddStringToObject(v, "token", token) &&
	    cJSON_AddNumberToObject(v, "size", (double)len) &&
	    cJSON_AddStringToObject(v, "hash", hash))
		cache_put(school_cache(s), key, v);
	else
		cJSON_Delete(v);
	free(key);
}

/* The size and hash of the last build, when it was made under token. */
static int whole_recall(struct school *s, const struct tree_path *p,
			const char *token, struct view_attr *a)
{
	char *key = whole_key(p);
	struct cval *v = key ? cache_peek(school_cache(s), key) : NULL;
	const cJSON *t, *size, *hash;
	int found = 0;

	free(key);
	if (!v)
		return 0;
	t = cJSON_GetObjectItemCaseSensitive(v->json, "token");
	size = cJSON_GetObjectItemCaseSensitive(v->json, "size");
	hash = cJSON_GetObjectItemCaseSensitive(v->json, "hash");
	if (cJSON_IsString(t) && !strcmp(t->valuestring, token) &&
	    cJSON_IsNumber(size) && cJSON_IsString(hash)) {
		a->size = (size_t)size->valuedouble;
		a->hash = strtoull(hash->valuestring, NULL, 16);
		a->hashed = 1;
		found = 1;
	}
	cval_put(v);
	return found;
}

/* The member list a whole-school file is built from. */
static void whole_filter(const struct tree_path *p, struct api_user_filter *f)
{
	/* offers/O/members.csv names its offer; the root's files none. */
	f->offer_id = p->id[0];
	f->course_id = NULL;
	f->active = -1;
}

/* The member's grants as "OFFER:active;OFFER:inactive" (one cell). */
static int csv_offers(struct school *s, const char *email, const cJSON *user,
		      struct buf *out)
{
	struct buf cell = {0};
	struct cval *grants;
	const cJSON *g;
	int r = school_grants(s, email, user, &grants);

	if (r)
		return r;
	cJSON_ArrayForEach(g, grants->json) {
		const char *id = model_grant_offer_id(g);

		if (!id)
			continue;
		r = buf_printf(&cell, "%s%s:%s", cell.len ? ";" : "", id,
			       model_grant_active(g) == 1 ? "active"
							  : "inactive");
		if (r)
			break;
	}
	cval_put(grants);
	if (!r)
		r = csv_put_cell(out, cell.data ? cell.data : "", 0);
	buf_free(&cell);
	return r;
}

/* The first definition from d on that has a column: a name and an id
 * (without an id it can be neither read nor set), or NULL. */
static const cJSON *prop_column(const cJSON *d)
{
	while (d && (!model_propdef_name(d) || !model_propdef_id(d)))
		d = d->next;
	return d;
}

/* The active column, by model_user_active + 1 (unknown: empty). */
static const char *const active_word[] = {"", "false", "true"};

/* One row of users.csv: the columns of csv_header. */
static int csv_row(struct school *s, const char *email, const cJSON *defs,
		   struct buf *out)
{
	const char *first, *last;
	struct cval *u;
	const cJSON *d;
	int active, r = school_user(s, email, &u);

	if (r)
		return r;
	first = model_user_first_name(u->json);
	last = model_user_last_name(u->json);
	active = model_user_active(u->json);
	r = csv_put_cell(out, email, 0);
	if (!r)
		r = buf_puts(out, ",");
	if (!r)
		r = csv_put_cell(out, first ? first : "", 0);
	if (!r)
		r = buf_puts(out, ",");
	if (!r)
		r = csv_put_cell(out, last ? last : "", 0);
	if (!r)
		r = buf_printf(out, ",%s,", active_word[active + 1]);
	if (!r)
		r = model_csv_value(out, model_user_created(u->json));
	for (d = prop_column(defs->child); d && !r; d = prop_column(d->next)) {
		r = buf_puts(out, ",");
		if (!r)
			r = model_csv_value(out, model_user_prop(u->json, d));
	}
	if (!r)
		r = buf_puts(out, ",");
	if (!r)
		r = csv_offers(s, email, u->json, out);
	if (!r)
		r = buf_puts(out, "\n");
	cval_put(u);
	return r;
}

/* email,firstname,name,active,created,<each property by name>,offers */
static int csv_header(const cJSON *defs, struct buf *out)
{
	const cJSON *d;
	int r = buf_puts(out, "email,firstname,name,active,created");

	for (d = prop_column(defs->child); d && !r; d = prop_column(d->next)) {
		r = buf_puts(out, ",");
		if (!r)
			r = csv_put_cell(out, model_propdef_name(d), 0);
	}
	return r ? r : buf_puts(out, ",offers\n");
}

/* A build in progress: what it is built from (references, held until
 * the stream is freed), the next member, and what was built so far. */
struct view_stream {
	struct school *s;
	struct tree_path p;	  /* node and id[0] (owned) */
	struct cval *list, *defs; /* defs: CSV only */
	char *token;		  /* NULL: nothing is remembered */
	const char *next;	  /* the next member of list */
	int begun;		  /* the header (CSV) is out */
	size_t size;		  /* bytes built so far */
	uint64_t hash;		  /* mtimes_hash_more of them */
};

/* What a whole-school file is built from: its member list, for CSV the
 * property definitions (its columns), and the token naming that version
 * (*token may be NULL: then nothing is remembered). 0 or -errno, with
 * nothing held on failure. */
static int whole_sources(const struct node_ctx *c, int csv, struct cval **list,
			 struct cval **defs, char **token)
{
	struct api_user_filter f;
	int r;

	*defs = NULL;
	*token = NULL;
	whole_filter(c->p, &f);
	r = school_members(c->s, &f, list);
	if (r)
		return r;
	if (csv)
		r = school_propdefs(c->s, defs);
	if (r) {
		cval_put(*list);
		return r;
	}
	*token = whole_token(c->s, *list, *defs);
	return 0;
}

void view_stream_free(struct view_stream *st)
{
	if (!st)
		return;
	cval_put(st->list);
	cval_put(st->defs);
	free(st->token);
	tree_path_free(&st->p);
	free(st);
}

/* A stream at the start of the file (csv: users.csv's columns, else
 * users.jsonl's lines). */
static int whole_stream(const struct node_ctx *c, int csv,
			struct view_stream **out)
{
	struct view_stream *st = calloc(1, sizeof(*st));
	int r = st ? 0 : -ENOMEM;

	if (!r) {
		st->s = c->s;
		st->p.node = c->p->node;
		st->hash = MTIMES_HASH_START;
		if (c->p->id[0] && !(st->p.id[0] = strdup(c->p->id[0])))
			r = -ENOMEM;
	}
	if (!r)
		r = whole_sources(c, csv, &st->list, &st->defs, &st->token);
	if (r) {
		if (st)
			st->list = NULL; /* whole_sources holds nothing */
		view_stream_free(st);
		return r;
	}
	st->next = school_list_first(st->list);
	*out = st;
	return 0;
}

int view_stream_users_jsonl(const struct node_ctx *c, struct view_stream **out)
{
	return whole_stream(c, 0, out);
}

int view_stream_csv(const struct node_ctx *c, struct view_stream **out)
{
	return whole_stream(c, 1, out);
}

/* One member's line; a member deleted since the list came is left out. */
static int whole_line(struct view_stream *st, const char *e, struct buf *out)
{
	int r = st->defs ? csv_row(st->s, e, st->defs->json, out)
			 : school_user_line(st->s, e, out);

	return r == -ENOENT ? 0 : r;
}

int view_stream_next(struct view_stream *st, size_t want, struct buf *out,
		     int *end)
{
	size_t start = out->len;
	int r = 0;

	if (!st->begun && st->defs)
		r = csv_header(st->defs->json, out);
	st->begun = 1;
	while (!r && st->next && out->len - start < want) {
		const char *e = st->next;

		st->next = school_list_next(e);
		r = whole_line(st, e, out);
	}
	if (r)
		return r;
	if (out->len > start)
		st->hash = mtimes_hash_more(st->hash, out->data + start,
					    out->len - start);
	st->size += out->len - start;
	*end = !st->next;
	/* A complete build: its size and hash, for stat. */
	if (*end && st->token) {
		whole_remember(st->s, &st->p, st->token, st->size,
			       mtimes_hash_end(st->hash, st->size));
		free(st->token);
		st->token = NULL;
	}
	return 0;
}

int view_stream_open(struct school *s, const struct tree_path *p,
		     struct view_stream **out)
{
	const struct node_entry *e = node_entry(p->node);
	struct node_ctx c;
	int r;

	*out = NULL;
	if (!e->stream || p->scratch)
		return 0;
	stats_add(STAT_RENDERS, 1);
	r = ctx_open(&c, s, NULL, p, 1);
	if (!r)
		r = e->stream(&c, out);
	ctx_done(&c);
	return r;
}

/* Builds the whole file into out (a copy, a backup: not a read). */
static int render_whole(const struct node_ctx *c, struct buf *out, int csv)
{
	struct view_stream *st;
	int end = 0, r = whole_stream(c, csv, &st);

	while (!r && !end)
		r = view_stream_next(st, SIZE_MAX, out, &end);
	view_stream_free(st);
	return r;
}

int view_render_users_jsonl(const struct node_ctx *c, struct buf *out)
{
	return render_whole(c, out, 0);
}

int view_render_users_csv(const struct node_ctx *c, struct buf *out)
{
	return render_whole(c, out, 1);
}

int view_render_offer_csv(const struct node_ctx *c, struct buf *out)
{
	return render_whole(c, out, 1);
}

/* The file's size and hash, built chunk by chunk and counted (not held). */
static int measure_whole(const struct node_ctx *c, int csv, struct view_attr *a)
{
	struct view_stream *st;
	struct buf chunk = {0};
	int end = 0, r = whole_stream(c, csv, &st);

	while (!r && !end) {
		buf_resize(&chunk, 0);
		r = view_stream_next(st, VIEW_STREAM_CHUNK, &chunk, &end);
	}
	if (!r) {
		a->size = st->size;
		a->hash = mtimes_hash_end(st->hash, st->size);
		a->hashed = 1;
	}
	buf_free(&chunk);
	view_stream_free(st);
	return r;
}

/* The size of the last build while it holds, else that of a new one.
 * A CSV file depends on the property definitions too (its columns). */
static int stat_whole(const struct node_ctx *c, struct view_attr *a, int csv)
{
	struct cval *list, *defs;
	char *token;
	int found, r = whole_sources(c, csv, &list, &defs, &token);

	if (r)
		return r;
	found = token && whole_recall(c->s, c->p, token, a);
	free(token);
	cval_put(defs);
	cval_put(list);
	return found ? 0 : measure_whole(c, csv, a);
}

int view_stat_jsonl(const struct node_ctx *c, struct view_attr *a)
{
	return stat_whole(c, a, 0);
}

int view_stat_csv(const struct node_ctx *c, struct view_attr *a)
{
	return stat_whole(c, a, 1);
}

int view_stat(struct school *s, const char *path, const struct tree_path *p,
	      struct view_attr *a)
{
	const struct node_entry *e = node_entry(p->node);
	struct node_ctx c;
	int r = ctx_open(&c, s, path, p, 0);

	if (r)
		return r;
	attr_set(a, e->type, e->mode, e->write);
	if (e->stat)
		r = e->stat(&c, a);
	else if (e->flags & NODE_SIZED)
		r = attr_render(s, p, a);
	ctx_done(&c);
	return r;
}

/* ------------------------------------------------------------------------
 * Listings
 * ---------------------------------------------------------------------- */

static int list_emails(const struct cval *list, const char *dir,
		       view_fill_fn fill, void *arg)
{
	const char *e;
	int r;

	for (e = school_list_first(list); e; e = school_list_next(e)) {
		r = fill_encoded(fill, arg, dir, e, NULL, VIEW_LINK);
		if (r)
			return r;
	}
	return 0;
}

static int list_members(const struct node_ctx *c,
			const struct api_user_filter *f, view_fill_fn fill,
			void *arg)
{
	struct cval *list;
	int r = school_members(c->s, f, &list);

	if (r)
		return r;
	r = list_emails(list, c->path, fill, arg);
	cval_put(list);
	return r;
}

int view_list_offer_members(const struct node_ctx *c, view_fill_fn fill,
			    void *arg)
{
	struct api_user_filter f = {c->p->id[0], NULL, -1};

	return list_members(c, &f, fill, arg);
}

int view_list_course_members(const struct node_ctx *c, view_fill_fn fill,
			     void *arg)
{
	struct api_user_filter f = {NULL, c->p->id[0], -1};

	return list_members(c, &f, fill, arg);
}

int view_list_status_members(const struct node_ctx *c, view_fill_fn fill,
			     void *arg)
{
	struct api_user_filter f = {NULL, NULL, -1};

	f.active = !strcmp(c->p->id[0], "active");
	return list_members(c, &f, fill, arg);
}

int view_list_status(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	int r = fill(arg, "active", VIEW_DIR);

	return r ? r : fill(arg, "inactive", VIEW_DIR);
}

/* Adds the strings of list to the object set (as keys). */
/* Adds the strings of list to the set; the list is consumed. */
static int add_keys(struct strmap *set, cJSON *list)
{
	const cJSON *e;
	int r = 0;

	cJSON_ArrayForEach(e, list)
		if (r >= 0 && cJSON_IsString(e))
			r = strmap_add(set, e->valuestring);
	cJSON_Delete(list);
	return r < 0 ? r : 0;
}

struct fill_rest {
	view_fill_fn fill;
	void *arg;
	const char *dir;
	int r;
};

static enum strmap_visit fill_pending(void *arg, const char *key, void *value)
{
	struct fill_rest *f = arg;

	(void)value;
	f->r = fill_encoded(f->fill, f->arg, f->dir, key, NULL, VIEW_DIR);
	return f->r ? STRMAP_STOP : STRMAP_KEEP;
}

/*
 * The members, then the pending ones the list does not hold. Pending
 * members are read before the list is fetched as well as after: one whose
 * first grant lands while the list is fetched would otherwise be in
 * neither (the list from before, the pending set from after).
 */
int view_list_users(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	struct api_user_filter all = {NULL, NULL, -1};
	struct fill_rest rest = {fill, arg, c->path, 0};
	struct strmap *pending = strmap_new();
	struct cval *list = NULL;
	const char *e;
	int r;

	if (!pending)
		return -ENOMEM;
	r = add_keys(pending, school_pending_list(c->s));
	if (!r)
		r = school_members(c->s, &all, &list);
	if (!r)
		r = add_keys(pending, school_pending_list(c->s));
	if (r)
		goto out;
	for (e = school_list_first(list); e; e = school_list_next(e)) {
		strmap_remove(pending, e);
		r = fill_encoded(fill, arg, c->path, e, NULL, VIEW_DIR);
		if (r)
			goto out;
	}
	strmap_visit(pending, fill_pending, &rest);
	r = rest.r;
out:
	strmap_free(pending, NULL);
	cval_put(list);
	return r;
}

struct fill_dirs {
	const struct node_ctx *c;
	view_fill_fn fill;
	void *arg;
};

static int fill_offer(void *arg, struct cval *offers, const cJSON *offer,
		      const char *id)
{
	struct fill_dirs *f = arg;

	(void)offers;
	(void)offer;
	return fill_encoded(f->fill, f->arg, f->c->path, id, NULL, VIEW_DIR);
}

int view_list_offers(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	struct fill_dirs f = {c, fill, arg};

	return school_each_offer(c->s, fill_offer, &f);
}

int view_list_courses(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	struct cval *offers;
	const cJSON *o, *co;
	struct strmap *seen = strmap_new();
	int r = school_offers(c->s, &offers);

	if (r || !seen) {
		strmap_free(seen, NULL);
		if (!r)
			cval_put(offers);
		return r ? r : -ENOMEM;
	}
	cJSON_ArrayForEach(o, offers->json) {
		cJSON_ArrayForEach(co, model_offer_courses(o)) {
			const char *id = model_course_id(co);

			r = id ? strmap_add(seen, id) : 0;
			if (r > 0)
				r = fill_encoded(fill, arg, c->path, id, NULL,
						 VIEW_DIR);
			if (r)
				goto out;
		}
	}
out:
	strmap_free(seen, NULL);
	cval_put(offers);
	return r;
}

int view_list_exams(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	cJSON *exams = school_known_exams(c->s), *e;
	int r = 0;

	cJSON_ArrayForEach(e, exams) {
		r = fill_encoded(fill, arg, c->path, e->valuestring, NULL,
				 VIEW_DIR);
		if (r)
			break;
	}
	cJSON_Delete(exams);
	return r;
}

struct scratch_fill {
	view_fill_fn fill;
	void *arg;
};

static int fill_scratch(void *arg, const char *name)
{
	struct scratch_fill *sf = arg;

	return sf->fill(sf->arg, name, VIEW_FILE);
}

int view_list_scratch(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	struct scratch_fill sf = {fill, arg};

	return scratch_list(school_scratch(c->s), c->path, fill_scratch, &sf);
}

/* users/E/offers/, users/E/orders/: the member's grants (none for a
 * pending member). */
static int list_grants(const struct node_ctx *c, view_fill_fn fill, void *arg,
		       int order)
{
	struct cval *grants;
	const cJSON *g;
	int r;

	if (!c->user)
		return 0;
	r = school_grants(c->s, c->p->id[0], c->user->json, &grants);
	if (r)
		return r;
	cJSON_ArrayForEach(g, grants->json) {
		const char *id = order ? model_grant_order_id(g)
				       : model_grant_offer_id(g);

		if (!id)
			continue;
		r = fill_encoded(fill, arg, c->path, id, NULL, VIEW_FILE);
		if (r)
			break;
	}
	cval_put(grants);
	return r;
}

int view_list_user_offers(const struct node_ctx *c, view_fill_fn fill,
			  void *arg)
{
	return list_grants(c, fill, arg, 0);
}

int view_list_user_orders(const struct node_ctx *c, view_fill_fn fill,
			  void *arg)
{
	return list_grants(c, fill, arg, 1);
}

int view_list_props(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	struct cval *defs;
	const cJSON *d;
	int r = school_propdefs(c->s, &defs);

	if (r)
		return r;
	cJSON_ArrayForEach(d, defs->json) {
		/* without an id it can be neither read nor set */
		if (!model_propdef_name(d) || !model_propdef_id(d))
			continue;
		r = fill_encoded(fill, arg, c->path, model_propdef_name(d),
				 NULL, VIEW_FILE);
		if (r)
			break;
	}
	cval_put(defs);
	return r ? r : view_list_scratch(c, fill, arg);
}

struct course_fill {
	view_fill_fn fill;
	void *arg;
	const char *dir;
};

static int fill_course_json(void *arg, const char *course)
{
	struct course_fill *cf = arg;

	return fill_encoded(cf->fill, cf->arg, cf->dir, course, ".json",
			    VIEW_FILE);
}

int view_list_progress(const struct node_ctx *c, view_fill_fn fill, void *arg)
{
	struct course_fill cf = {fill, arg, c->path};

	return each_member_course(c->s, c->p->id[0], c->user->json,
				  fill_course_json, &cf);
}

/* The fixed names from the table (a pending member's only where the row
 * allows), then the row's identifiers. */
int view_list(struct school *s, const char *path, const struct tree_path *p,
	      view_fill_fn fill, void *arg)
{
	const struct node_entry *e = node_entry(p->node);
	struct node_ctx c;
	int r;

	if (e->type != VIEW_DIR)
		return -ENOTDIR;
	r = ctx_open(&c, s, path, p, 0);
	if (r)
		return r;
	r = node_each_listed(p->node, (e->flags & NODE_MEMBER) && !c.user, fill,
			     arg);
	if (!r && e->list)
		r = e->list(&c, fill, arg);
	ctx_done(&c);
	return r;
}

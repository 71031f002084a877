/*
 * views.c - rendering the tree: which nodes exist, their kind, mode and
 * size, directory listings and file contents.
 *
 * Everything here is derived from school.c's cached data on each call;
 * nothing is stored. Existence checks for symlinks in member lists use the
 * member's record (cached by the list fetch) rather than scanning the list,
 * so `ls -l` over a list of N members stays O(N).
 *
 * Modes tell users what they can do: read-only views are 0400, editable
 * files 0600, directories 0700. Control files are 0600 too and read as
 * empty: a file that cannot be read fails `tar`, `rsync -a`, `cp -r` and
 * `grep -r` of the tree (their help is in README).
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
#include "strhash.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "errlog.h"
#include "journal.h"
#include "jsonout.h"
#include "model.h"
#include "mtimes.h"
#include "school.h"
#include "scratch.h"
#include "stats.h"

#define MODE_DIR 0700
#define MODE_RO 0400
#define MODE_RW 0600
#define MODE_CONTROL 0600 /* read as empty */

int view_stat_dry_created(struct view_attr *a)
{
	a->type = VIEW_FILE;
	a->mode = MODE_RW;
	a->size = 0;
	a->write = VW_VALUE;
	return 0;
}

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

/* Calls fn for each course of the member: those of the member's offers,
 * then those its record's progress names (duplicates skipped). */
static int each_member_course(struct school *s, const char *email,
			      const cJSON *user,
			      int (*fn)(void *arg, const char *course),
			      void *arg)
{
	struct cval *offers, *grants;
	const cJSON *g, *o, *c;
	cJSON *seen;
	int r = school_offers(s, &offers);

	if (r)
		return r;
	r = school_grants(s, email, user, &grants);
	if (r) {
		cval_put(offers);
		return r;
	}
	seen = cJSON_CreateObject();
	if (!seen) {
		r = -ENOMEM;
		goto out_grants;
	}
	cJSON_ArrayForEach(g, grants->json) {
		const char *oid = model_grant_offer_id(g);

		cJSON_ArrayForEach(o, offers->json)
		{
			const char *id = model_offer_id(o);

			if (!oid || !id || strcmp(id, oid))
				continue;
			cJSON_ArrayForEach(c, model_offer_courses(o))
			{
				const char *cid = model_course_id(c);

				if (!cid ||
				    cJSON_GetObjectItemCaseSensitive(seen, cid))
					continue;
				cJSON_AddTrueToObject(seen, cid);
				r = fn(arg, cid);
				if (r)
					goto out;
			}
		}
	}
	cJSON_ArrayForEach(c, model_user_progress(user)) {
		const char *cid = model_progress_course_id(c);

		if (!cid || cJSON_GetObjectItemCaseSensitive(seen, cid))
			continue;
		cJSON_AddTrueToObject(seen, cid);
		r = fn(arg, cid);
		if (r)
			goto out;
	}
out:
	cJSON_Delete(seen);
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
	if (!r && strcmp(model_propdef_name(*def) ? model_propdef_name(*def)
						  : "",
			 name)) {
		cval_put(*holder);
		return -ENOENT;
	}
	return r;
}

/* ------------------------------------------------------------------------
 * Content
 * ---------------------------------------------------------------------- */

static const char readme_text[] =
	"memberspotfs: this Memberspot school as files\n"
	"\n"
	"  properties.json          custom property definitions\n"
	"  offers/ID/offer.json     an offer; name: its name\n"
	"  offers/ID/members/       members holding it (symlinks to users/)\n"
	"  offers/ID/grant          write EMAIL[,FIRST[,LAST[,ORDER]]] lines "
	"to grant\n"
	"  courses/ID/members/      members enrolled in a course\n"
	"  by-status/active/        active members; inactive/ the others\n"
	"  users/EMAIL/user.json    the member record\n"
	"  users/EMAIL/offers/ID    \"active\" or \"inactive\"; write either "
	"to "
	"switch,\n"
	"                           touch a new one to grant that offer\n"
	"  users/EMAIL/orders/ID    the same, per order\n"
	"      (when member records carry no offers, offers/ is derived from\n"
	"      every offer's member lists, read once per cache_ttl for all\n"
	"      members; orders/ then lists the orders granted through this\n"
	"      mount, and any order id can be written)\n"
	"  users/EMAIL/properties/NAME   a property value; write to set it\n"
	"  users/EMAIL/properties.json   all values; edit with any editor\n"
	"  users/EMAIL/progress.json     course progress (*); "
	"progress/COURSE.json (*)\n"
	"  users/EMAIL/chapters     write \"COURSE_ID CHAPTER_ID\" lines to "
	"enable\n"
	"  users/EMAIL/login-token  a fresh single sign-on token on every "
	"read (*)\n"
	"                           (and its login URL, where the API gives "
	"one)\n"
	"  exams/ID/results.json    exam results (also results.csv)\n"
	"  .memberspot/             status, errors, journal; write a path to "
	"refresh\n"
	"\n"
	"(*) not listed by ls: reading them costs a request each (a token is\n"
	"    minted, progress is rate limited), so grep -r, find, tar, rsync,\n"
	"    cp -r and du never trigger that; they open by their names.\n"
	"grant, chapters and .memberspot/refresh only take writes: they read\n"
	"as empty, so tar, rsync -a, cp -r and grep -r copy the tree.\n"
	"A file's mtime is when its content last changed as this mount saw\n"
	"it (a change through the mount, or a fetch that differs); a\n"
	"directory's when a listing of it changed. A file first seen shows\n"
	"the time the mount started.\n"
	"\n"
	"Names: '%' is written %25, '/' %2F, a leading '.' %2E and a control\n"
	"character (bytes 0x01-0x1F, 0x7F) %01-%1F, %7F.\n"
	"Changes happen when the file is closed; a refused change makes "
	"close()\n"
	"fail and its reason is in .memberspot/errors.\n"
	"rmdir users/EMAIL deletes the member (irreversible; at most\n"
	"max_deletes, default 10, a minute; the journal keeps its record).\n"
	"Under -o dry_run no change is sent: the journal shows each request.\n";

static int render_user_file(struct school *s, const struct tree_path *p,
			    struct buf *out)
{
	struct cval *u;
	const cJSON *v;
	struct cval *defs;
	int r = school_user(s, p->id[0], &u);

	if (r)
		return r;
	switch (p->node) {
	case N_USER_JSON:
		r = put_json(out, u->json);
		break;
	case N_USER_OFFER:
	case N_USER_ORDER:
		r = grant_state(s, p->id[0], u->json, p->id[1],
				p->node == N_USER_ORDER);
		/* 2: an order this mount knows nothing of reads empty */
		if (r == 0 || r == 1)
			r = buf_puts(out, r ? "active\n" : "inactive\n");
		else if (r == 2)
			r = 0;
		break;
	case N_USER_PROP: {
		const cJSON *def;
		char *text;

		r = propdef(s, p->id[1], &defs, &def);
		if (r)
			break;
		v = model_user_prop(u->json, def);
		if (v && !cJSON_IsNull(v)) {
			text = model_scalar_text(v);
			if (!text)
				text = cJSON_PrintUnformatted(v);
			if (text) {
				r = buf_puts(out, text);
				if (!r)
					r = buf_puts(out, "\n");
				free(text);
			} else {
				r = -ENOMEM;
			}
		}
		cval_put(defs);
		break;
	}
	case N_USER_PROPS_JSON: {
		cJSON *obj = cJSON_CreateObject();
		const cJSON *d;

		r = school_propdefs(s, &defs);
		if (r) {
			cJSON_Delete(obj);
			break;
		}
		cJSON_ArrayForEach(d, defs->json)
		{
			const char *id = model_propdef_id(d);
			const char *name = model_propdef_name(d);

			if (!id || !name)
				continue;
			v = model_user_prop(u->json, d);
			cJSON_AddItemToObject(obj, name,
					      v ? cJSON_Duplicate(v, 1)
						: cJSON_CreateNull());
		}
		cval_put(defs);
		r = put_json(out, obj);
		cJSON_Delete(obj);
		break;
	}
	default:
		r = -ENOENT;
	}
	cval_put(u);
	return r;
}

int view_render(struct school *s, const struct tree_path *p, struct buf *out)
{
	struct cval *v = NULL, *holder = NULL;
	const cJSON *offer;
	int r;

	switch (p->node) {
	case N_README:
		return buf_puts(out, readme_text);
	case N_PROPDEFS:
		r = school_propdefs(s, &v);
		if (!r)
			r = put_json(out, v->json);
		break;
	case N_OFFER_JSON:
	case N_OFFER_NAME:
		r = school_find_offer(s, p->id[0], &holder, &offer);
		if (r)
			break;
		if (p->node == N_OFFER_JSON)
			r = put_json(out, offer);
		else
			r = buf_printf(out, "%s\n",
				       model_offer_name(offer)
					       ? model_offer_name(offer)
					       : "");
		break;
	case N_USER_JSON:
	case N_USER_OFFER:
	case N_USER_ORDER:
	case N_USER_PROP:
	case N_USER_PROPS_JSON:
		return render_user_file(s, p, out);
	case N_USER_PROGRESS_JSON:
		r = school_progress(s, p->id[0], &v);
		if (!r)
			r = put_json(out, v->json);
		break;
	case N_USER_PROGRESS_COURSE:
		r = school_course_progress(s, p->id[0], p->id[1], &v);
		if (!r)
			r = put_json(out, v->json);
		break;
	case N_USER_LOGIN_TOKEN: {
		char *token = NULL;

		r = school_login_token(s, p->id[0], &token);
		if (!r)
			r = buf_puts(out, token);
		free(token);
		break;
	}
	case N_EXAM_JSON:
	case N_EXAM_CSV:
		r = school_exam(s, p->id[0], &v);
		if (r)
			break;
		if (p->node == N_EXAM_JSON) {
			r = put_json(out, v->json);
		} else {
			char *csv = NULL;

			r = model_exam_csv(v->json, &csv);
			if (!r)
				r = buf_puts(out, csv);
			free(csv);
		}
		break;
	case N_META_STATUS:
		r = stats_render(out);
		if (!r)
			r = buf_printf(out, "cache entries: %ld\n",
				       cache_count(school_cache(s)));
		break;
	case N_META_ERRORS:
		r = errlog_render(out);
		break;
	case N_META_JOURNAL:
		r = journal_render(school_journal(s), out);
		break;
	case N_OFFER_GRANT:
	case N_USER_CHAPTERS:
	case N_META_REFRESH:
		r = 0; /* control files read as empty */
		break;
	default:
		r = -EISDIR;
	}
	cval_put(v);
	cval_put(holder);
	return r;
}

int view_readlink(struct school *s, const struct tree_path *p,
		  struct buf *out)
{
	char *name;
	const char *up;
	int r;

	switch (p->node) {
	case N_OFFER_MEMBER:
	case N_COURSE_MEMBER:
		up = "../../../users/";
		break;
	case N_STATUS_MEMBER:
		up = "../../users/";
		break;
	default:
		return -EINVAL;
	}
	name = tree_encode(p->id[1]);
	if (!name)
		return -ENOMEM;
	r = buf_printf(out, "%s%s", up, name);
	free(name);
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

/* Size of a rendered file. */
static int attr_render(struct school *s, const struct tree_path *p,
		       struct view_attr *a)
{
	struct buf b = {0};
	int r = view_render(s, p, &b);

	if (!r) {
		a->size = b.len;
		a->hash = mtimes_hash(b.data, b.len);
		a->hashed = 1;
	}
	buf_free(&b);
	return r;
}

static int stat_scratch(struct school *s, const char *path,
			struct view_attr *a)
{
	size_t size;
	mode_t mode;

	if (!scratch_stat(school_scratch(s), path, &size, &mode))
		return -ENOENT;
	attr_set(a, VIEW_FILE, mode & 07777, VW_SCRATCH);
	a->size = size;
	return 0;
}

/* Is E in the member list behind a symlink directory? Decided from the
 * member's record after making sure the list (and so the record) is
 * cached. */
static int stat_member_link(struct school *s, const struct tree_path *p)
{
	struct api_user_filter f = {NULL, NULL, -1};
	struct cval *list, *u;
	int r, in = 0;

	if (p->node == N_OFFER_MEMBER)
		f.offer_id = p->id[0];
	else if (p->node == N_COURSE_MEMBER)
		f.course_id = p->id[0];
	else
		f.active = !strcmp(p->id[0], "active");
	r = school_members(s, &f, &list);
	if (r)
		return r;
	cval_put(list);
	r = school_user(s, p->id[1], &u);
	if (r)
		return r;
	if (p->node == N_OFFER_MEMBER)
		in = grant_state(s, p->id[1], u->json, p->id[0], 0) >= 0;
	else if (p->node == N_COURSE_MEMBER)
		in = member_has_course(s, p->id[1], u->json, p->id[0]) > 0;
	else
		in = (model_user_active(u->json) == 1) == (f.active == 1);
	cval_put(u);
	return in ? 0 : -ENOENT;
}

static int stat_course(struct school *s, const char *course)
{
	struct api_user_filter f = {NULL, course, -1};
	struct cval *list;
	int r;

	if (school_course_known(s, course))
		return 0;
	/* Not named by any offer: it exists if the API lists members for
	 * it (an offer list may lag behind); an empty list is a typo. */
	r = school_members(s, &f, &list);
	if (!r && cJSON_GetArraySize(list->json) == 0)
		r = -ENOENT;
	cval_put(list);
	return r;
}

static int stat_user_node(struct school *s, const char *path,
			  const struct tree_path *p, struct view_attr *a)
{
	struct cval *u = NULL, *holder = NULL, *c;
	const cJSON *def;
	int r = member(s, p->id[0], &u);

	if (r < 0)
		return r;
	if (r == 1) { /* pending: only offers/ and scratch files */
		r = 0;
		if (p->node == N_USER)
			attr_set(a, VIEW_DIR, MODE_DIR, VW_NONE);
		else if (p->node == N_USER_OFFERS)
			attr_set(a, VIEW_DIR, MODE_DIR, VW_NONE);
		else if (p->node == N_USER_SCRATCH)
			r = stat_scratch(s, path, a);
		else
			r = -ENOENT;
		return r;
	}
	switch (p->node) {
	case N_USER:
	case N_USER_OFFERS:
	case N_USER_ORDERS:
	case N_USER_PROPS:
	case N_USER_PROGRESS:
		attr_set(a, VIEW_DIR, MODE_DIR, VW_NONE);
		break;
	case N_USER_JSON:
		attr_set(a, VIEW_FILE, MODE_RO, VW_NONE);
		r = attr_render(s, p, a);
		break;
	case N_USER_OFFER:
	case N_USER_ORDER:
		attr_set(a, VIEW_FILE, MODE_RW, VW_VALUE);
		r = attr_render(s, p, a);
		break;
	case N_USER_PROP:
		/* Only a name that is surely no property is a scratch file:
		 * when the definitions cannot be had, the error stands. */
		r = p->scratch ? -ENOENT : propdef(s, p->id[1], &holder, &def);
		if (!r) {
			attr_set(a, VIEW_FILE, MODE_RW, VW_VALUE);
			r = attr_render(s, p, a);
		} else if (r == -ENOENT) {
			r = stat_scratch(s, path, a);
		}
		break;
	case N_USER_PROPS_JSON:
		attr_set(a, VIEW_FILE, MODE_RW, VW_JSON);
		r = attr_render(s, p, a);
		break;
	case N_USER_PROGRESS_JSON:
	case N_USER_PROGRESS_COURSE:
		if (p->node == N_USER_PROGRESS_COURSE) {
			r = member_has_course(s, p->id[0], u->json, p->id[1]);
			if (r <= 0) {
				r = r ? r : -ENOENT;
				break;
			}
			r = 0;
		}
		attr_set(a, VIEW_FILE, MODE_RO, VW_NONE);
		/* A stat must not spend a rate-limited request. */
		c = school_progress_cached(s, p->id[0],
					   p->node == N_USER_PROGRESS_COURSE
						   ? p->id[1]
						   : NULL);
		if (c) {
			struct buf t = {0};

			if (!json_pretty(c->json, &t)) {
				a->size = t.len;
				a->hash = mtimes_hash(t.data, t.len);
				a->hashed = 1;
			}
			buf_free(&t);
			cval_put(c);
		}
		break;
	case N_USER_CHAPTERS:
		attr_set(a, VIEW_FILE, MODE_CONTROL, VW_CONTROL);
		break;
	case N_USER_LOGIN_TOKEN:
		attr_set(a, VIEW_FILE, MODE_RO, VW_NONE);
		break;
	case N_USER_SCRATCH:
		r = stat_scratch(s, path, a);
		break;
	default:
		r = -ENOENT;
	}
	cval_put(holder);
	cval_put(u);
	return r;
}

int view_stat(struct school *s, const char *path, const struct tree_path *p,
	      struct view_attr *a)
{
	struct cval *v = NULL, *holder = NULL;
	const cJSON *offer;
	int r = 0;

	switch (p->node) {
	case N_ROOT:
	case N_OFFERS:
	case N_COURSES:
	case N_BY_STATUS:
	case N_STATUS_DIR:
	case N_USERS:
	case N_EXAMS:
	case N_META:
		attr_set(a, VIEW_DIR, MODE_DIR, VW_NONE);
		return 0;
	case N_README:
	case N_PROPDEFS:
	case N_META_STATUS:
	case N_META_ERRORS:
	case N_META_JOURNAL:
		attr_set(a, VIEW_FILE, MODE_RO, VW_NONE);
		return attr_render(s, p, a);
	case N_META_REFRESH:
		attr_set(a, VIEW_FILE, MODE_CONTROL, VW_CONTROL);
		return 0;
	case N_OFFER:
	case N_OFFER_MEMBERS:
	case N_OFFER_JSON:
	case N_OFFER_NAME:
	case N_OFFER_GRANT:
		r = school_find_offer(s, p->id[0], &holder, &offer);
		cval_put(holder);
		if (r)
			return r;
		if (p->node == N_OFFER || p->node == N_OFFER_MEMBERS) {
			attr_set(a, VIEW_DIR, MODE_DIR, VW_NONE);
		} else if (p->node == N_OFFER_GRANT) {
			attr_set(a, VIEW_FILE, MODE_CONTROL, VW_CONTROL);
		} else {
			attr_set(a, VIEW_FILE, MODE_RO, VW_NONE);
			r = attr_render(s, p, a);
		}
		return r;
	case N_COURSE:
	case N_COURSE_MEMBERS:
		r = stat_course(s, p->id[0]);
		if (!r)
			attr_set(a, VIEW_DIR, MODE_DIR, VW_NONE);
		return r;
	case N_OFFER_MEMBER:
	case N_COURSE_MEMBER:
	case N_STATUS_MEMBER:
		r = stat_member_link(s, p);
		if (!r) {
			struct buf t = {0};

			attr_set(a, VIEW_LINK, 0777, VW_NONE);
			r = view_readlink(s, p, &t);
			a->size = t.len;
			buf_free(&t);
		}
		return r;
	case N_EXAM:
	case N_EXAM_JSON:
	case N_EXAM_CSV:
		r = school_exam(s, p->id[0], &v);
		cval_put(v);
		if (r)
			return r;
		if (p->node == N_EXAM) {
			attr_set(a, VIEW_DIR, MODE_DIR, VW_NONE);
			return 0;
		}
		attr_set(a, VIEW_FILE, MODE_RO, VW_NONE);
		return attr_render(s, p, a);
	default:
		return stat_user_node(s, path, p, a);
	}
}

/* ------------------------------------------------------------------------
 * Listings
 * ---------------------------------------------------------------------- */

static int list_emails(const cJSON *emails, const char *dir,
		       view_fill_fn fill, void *arg)
{
	const cJSON *e;
	int r;

	cJSON_ArrayForEach(e, emails)
	{
		if (!cJSON_IsString(e))
			continue;
		r = fill_encoded(fill, arg, dir, e->valuestring, NULL,
				 VIEW_LINK);
		if (r)
			return r;
	}
	return 0;
}

static int list_members(struct school *s, const struct api_user_filter *f,
			const char *dir, view_fill_fn fill, void *arg)
{
	struct cval *list;
	int r = school_members(s, f, &list);

	if (r)
		return r;
	r = list_emails(list->json, dir, fill, arg);
	cval_put(list);
	return r;
}

/* Adds the strings of list to the object set (as keys). */
static void add_keys(cJSON *set, cJSON *list)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list)
		if (cJSON_IsString(e) &&
		    !cJSON_GetObjectItemCaseSensitive(set, e->valuestring))
			cJSON_AddTrueToObject(set, e->valuestring);
	cJSON_Delete(list);
}

/*
 * The members, then the pending ones the list does not hold. Pending
 * members are read before the list is fetched as well as after: one whose
 * first grant lands while the list is fetched would otherwise be in
 * neither (the list from before, the pending set from after).
 */
static int list_users(struct school *s, const char *dir, view_fill_fn fill,
		      void *arg)
{
	struct api_user_filter all = {NULL, NULL, -1};
	struct cval *list;
	cJSON *pending = cJSON_CreateObject(), *e;
	int r;

	if (!pending)
		return -ENOMEM;
	add_keys(pending, school_pending_list(s));
	r = school_members(s, &all, &list);
	if (r) {
		cJSON_Delete(pending);
		return r;
	}
	add_keys(pending, school_pending_list(s));
	cJSON_ArrayForEach(e, list->json)
	{
		if (!cJSON_IsString(e))
			continue;
		if (pending->child)
			cJSON_DeleteItemFromObjectCaseSensitive(pending,
								e->valuestring);
		r = fill_encoded(fill, arg, dir, e->valuestring, NULL,
				 VIEW_DIR);
		if (r)
			goto out;
	}
	cJSON_ArrayForEach(e, pending)
	{
		r = fill_encoded(fill, arg, dir, e->string, NULL, VIEW_DIR);
		if (r)
			break;
	}
out:
	cJSON_Delete(pending);
	cval_put(list);
	return r;
}

static int list_offers(struct school *s, const char *dir, view_fill_fn fill,
		       void *arg)
{
	struct cval *offers;
	const cJSON *o;
	int r = school_offers(s, &offers);

	if (r)
		return r;
	cJSON_ArrayForEach(o, offers->json)
	{
		if (!model_offer_id(o))
			continue;
		r = fill_encoded(fill, arg, dir, model_offer_id(o), NULL,
				 VIEW_DIR);
		if (r)
			break;
	}
	cval_put(offers);
	return r;
}

static int list_courses(struct school *s, const char *dir, view_fill_fn fill,
			void *arg)
{
	struct cval *offers;
	const cJSON *o, *c;
	cJSON *seen = cJSON_CreateObject();
	int r = school_offers(s, &offers);

	if (r || !seen) {
		cJSON_Delete(seen);
		return r ? r : -ENOMEM;
	}
	cJSON_ArrayForEach(o, offers->json)
	{
		cJSON_ArrayForEach(c, model_offer_courses(o))
		{
			const char *id = model_course_id(c);

			if (!id || cJSON_GetObjectItemCaseSensitive(seen, id))
				continue;
			cJSON_AddTrueToObject(seen, id);
			r = fill_encoded(fill, arg, dir, id, NULL, VIEW_DIR);
			if (r)
				goto out;
		}
	}
out:
	cJSON_Delete(seen);
	cval_put(offers);
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

static int list_scratch(struct school *s, const char *path,
			view_fill_fn fill, void *arg)
{
	struct scratch_fill sf = {fill, arg};

	return scratch_list(school_scratch(s), path, fill_scratch, &sf);
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

static int list_user_dir(struct school *s, const char *path,
			 const struct tree_path *p, view_fill_fn fill,
			 void *arg)
{
	/* Not listed, though they open by name: login-token (a read mints
	 * a token), progress.json and progress/ (rate-limited requests).
	 * grep -r, find, tar, rsync, cp -r, du and indexers walk what
	 * readdir returns, and browsing must cost nothing. */
	static const char *const fixed[] = {"user.json",       "offers",
					    "orders",	       "properties",
					    "properties.json", "chapters"};
	static const enum view_type fixed_type[] = {
		VIEW_FILE, VIEW_DIR, VIEW_DIR, VIEW_DIR, VIEW_FILE, VIEW_FILE};
	struct cval *u = NULL, *defs = NULL, *grants = NULL;
	const cJSON *g, *d;
	int r = member(s, p->id[0], &u);
	size_t i;

	if (r < 0)
		return r;
	if (r == 1) { /* pending */
		if (p->node == N_USER) {
			r = fill(arg, "offers", VIEW_DIR);
			if (!r)
				r = list_scratch(s, path, fill, arg);
		} else {
			r = p->node == N_USER_OFFERS ? 0 : -ENOENT;
		}
		return r;
	}
	switch (p->node) {
	case N_USER:
		for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			r = fill(arg, fixed[i], fixed_type[i]);
			if (r)
				goto out;
		}
		r = list_scratch(s, path, fill, arg);
		break;
	case N_USER_OFFERS:
	case N_USER_ORDERS:
		r = school_grants(s, p->id[0], u->json, &grants);
		if (r)
			break;
		cJSON_ArrayForEach(g, grants->json) {
			const char *id = p->node == N_USER_ORDERS
						 ? model_grant_order_id(g)
						 : model_grant_offer_id(g);

			if (!id)
				continue;
			r = fill_encoded(fill, arg, path, id, NULL, VIEW_FILE);
			if (r)
				goto out;
		}
		break;
	case N_USER_PROPS:
		r = school_propdefs(s, &defs);
		if (r)
			break;
		cJSON_ArrayForEach(d, defs->json)
		{
			/* without an id it can be neither read nor set */
			if (!model_propdef_name(d) || !model_propdef_id(d))
				continue;
			r = fill_encoded(fill, arg, path,
					 model_propdef_name(d), NULL, VIEW_FILE);
			if (r)
				goto out;
		}
		r = list_scratch(s, path, fill, arg);
		break;
	case N_USER_PROGRESS: {
		struct course_fill cf = {fill, arg, path};

		r = each_member_course(s, p->id[0], u->json, fill_course_json,
				       &cf);
		break;
	}
	default:
		r = -ENOTDIR;
	}
out:
	cval_put(grants);
	cval_put(defs);
	cval_put(u);
	return r;
}

int view_list(struct school *s, const char *path, const struct tree_path *p,
	      view_fill_fn fill, void *arg)
{
	static const char *const root[] = {"README",  "properties.json",
					   "offers",  "courses",
					   "by-status", "users",
					   "exams",   ".memberspot"};
	static const char *const meta[] = {"status", "errors", "journal",
					   "refresh"};
	struct api_user_filter f = {NULL, NULL, -1};
	struct view_attr a;
	cJSON *exams, *e;
	size_t i;
	int r;

	switch (p->node) {
	case N_ROOT:
		for (i = 0; i < sizeof(root) / sizeof(root[0]); i++) {
			r = fill(arg, root[i],
				 i < 2 ? VIEW_FILE : VIEW_DIR);
			if (r)
				return r;
		}
		return 0;
	case N_META:
		for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
			r = fill(arg, meta[i], VIEW_FILE);
			if (r)
				return r;
		}
		return 0;
	case N_BY_STATUS:
		r = fill(arg, "active", VIEW_DIR);
		return r ? r : fill(arg, "inactive", VIEW_DIR);
	case N_OFFERS:
		return list_offers(s, path, fill, arg);
	case N_COURSES:
		return list_courses(s, path, fill, arg);
	case N_USERS:
		return list_users(s, path, fill, arg);
	case N_EXAMS:
		exams = school_known_exams(s);
		r = 0;
		cJSON_ArrayForEach(e, exams)
		{
			r = fill_encoded(fill, arg, path, e->valuestring,
					 NULL, VIEW_DIR);
			if (r)
				break;
		}
		cJSON_Delete(exams);
		return r;
	case N_OFFER:
		r = view_stat(s, path, p, &a);
		if (r)
			return r;
		r = fill(arg, "offer.json", VIEW_FILE);
		if (!r)
			r = fill(arg, "name", VIEW_FILE);
		if (!r)
			r = fill(arg, "members", VIEW_DIR);
		if (!r)
			r = fill(arg, "grant", VIEW_FILE);
		return r;
	case N_OFFER_MEMBERS:
		r = view_stat(s, path, p, &a);
		if (r)
			return r;
		f.offer_id = p->id[0];
		return list_members(s, &f, path, fill, arg);
	case N_COURSE:
		r = view_stat(s, path, p, &a);
		return r ? r : fill(arg, "members", VIEW_DIR);
	case N_COURSE_MEMBERS:
		f.course_id = p->id[0];
		return list_members(s, &f, path, fill, arg);
	case N_STATUS_DIR:
		f.active = !strcmp(p->id[0], "active");
		return list_members(s, &f, path, fill, arg);
	case N_EXAM:
		r = view_stat(s, path, p, &a);
		if (r)
			return r;
		r = fill(arg, "results.json", VIEW_FILE);
		return r ? r : fill(arg, "results.csv", VIEW_FILE);
	case N_USER:
	case N_USER_OFFERS:
	case N_USER_ORDERS:
	case N_USER_PROPS:
	case N_USER_PROGRESS:
		return list_user_dir(s, path, p, fill, arg);
	default:
		return -ENOTDIR;
	}
}

/*
 * edits.c - what writing, creating and removing does to the school.
 *
 * Every write arrives here as the complete new content of a file, when the
 * file is closed or a write completes it. The content is checked first
 * (UTF-8, one line, no control characters, a known state word, valid JSON,
 * known property names); only input that passes reaches school.c and so
 * the API. Rejected input is -EINVAL with the reason in errlog, and
 * nothing is sent. edit_check_partial runs the same checks on content
 * still being written, so a refusal reaches the write() that made it
 * certain.
 *
 * Creating a file sends nothing by itself: users/E/offers/O is granted
 * when its content is applied (edit_apply_create), so a create whose
 * content is refused grants nothing. Removing a file sends nothing either
 * (edit_unlink).
 *
 * Control files (grant, chapters, refresh) run line by line. Each line is
 * checked as UTF-8 before it is split, and each field for control
 * characters, since fields go into JSON bodies. Lines are independent: a
 * bad line is reported and the others still run. Grants and chapters run
 * on a small pool of threads (school_config.workers) that take lines from
 * a shared cursor, so a large file needs no per-line memory and the
 * requests overlap within the client's pacing. close() reports the errno
 * of the first failed line.
 */
#include "views.h"
#include "nodeops.h"
#include "nodes.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "errlog.h"
#include "input.h"
#include "journal.h"
#include "model.h"
#include "school.h"
#include "stats.h"

#define MAX_WORKERS 32

/* ------------------------------------------------------------------------
 * Input checks (input.c), with the reason logged against the file
 * ---------------------------------------------------------------------- */

static int value_text(const char *path, const char *data, size_t len,
		      char **out)
{
	char why[INPUT_WHY_MAX];
	int r = input_value(data, len, out, why, sizeof(why));

	if (r == -EINVAL)
		errlog_add(path, 0, "%s", why);
	return r;
}

static int parse_state(const char *path, const char *data, size_t len,
		       bool *active)
{
	char why[INPUT_WHY_MAX];
	int r = input_state(data, len, active, why, sizeof(why));

	if (r == -EINVAL)
		errlog_add(path, 0, "%s", why);
	return r;
}

/*
 * Identifiers from new file names (mkdir users/E, touch users/E/offers/O)
 * go into request bodies too, so they must be UTF-8. Names of things that
 * exist came from the server and are left alone: its ids may hold control
 * characters. A new member's email may not.
 */
static int check_new_ids(const struct tree_path *p, int mkdir)
{
	char why[INPUT_WHY_MAX];
	int i, r = 0;

	for (i = 0; i < 2 && !r; i++)
		if (p->id[i])
			r = input_utf8(p->id[i], strlen(p->id[i]), why,
				       sizeof(why));
	if (!r && mkdir)
		r = input_field("email", p->id[0], false, why, sizeof(why));
	if (r)
		errlog_add(mkdir ? "mkdir" : "create", 0,
			   "%s: name refused: %s", p->id[0], why);
	return r;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* ------------------------------------------------------------------------
 * Properties
 * ---------------------------------------------------------------------- */

/*
 * No lost updates. A save with a base (what the saving process read)
 * changes only what differs from the base, and only where the server
 * still holds the base's value: the member is fetched fresh, and a
 * property whose server value is neither the base's nor the new one was
 * changed by someone else since the writer read it. Then nothing is sent
 * (-ESTALE) and errlog names each such property with both values.
 */

/* The text a value file shows for v (NULL or null: ""). */
static char *value_shown(const cJSON *v)
{
	char *t;

	if (!v || cJSON_IsNull(v))
		return strdup("");
	t = model_scalar_text(v);
	return t ? t : cJSON_PrintUnformatted(v);
}

/* JSON values as properties.json shows them (missing = null). */
static int same_value(const cJSON *a, const cJSON *b)
{
	if (!a || cJSON_IsNull(a))
		return !b || cJSON_IsNull(b);
	return b && cJSON_Compare(a, b, 1);
}

static void log_stale(const char *path, const char *name, const cJSON *base,
		      const cJSON *server)
{
	char *b = value_shown(base), *v = value_shown(server);

	errlog_add(path, 0,
		   "%s was changed on the server since you read it: you "
		   "started from \"%s\", the server now has \"%s\"; nothing "
		   "sent (read the file again and redo your change)",
		   name, b ? b : "?", v ? v : "?");
	free(b);
	free(v);
}

/* The member's values now, keyed by property id (caller frees). */
static int fresh_props(struct school *s, const char *email, const cJSON *defs,
		       cJSON **out)
{
	struct cval *u;
	int r = school_user_fresh(s, email, &u);

	if (r)
		return r;
	*out = model_user_props_by_id(u->json, defs);
	cval_put(u);
	return *out ? 0 : -ENOMEM;
}

static int set_one_property(struct school *s, const char *path,
			    const char *email, const char *name,
			    const char *data, size_t len,
			    const struct edit_base *base)
{
	struct cval *defs;
	const cJSON *def;
	cJSON *props, *item, *now = NULL;
	char *value, *was = NULL;
	int r = school_find_propdef(s, name, &defs, &def);

	if (r) {
		if (r == -ENOENT) {
			errlog_add(path, 0, "no property named '%s'", name);
			r = -EINVAL;
		}
		return r;
	}
	r = value_text(path, data, len, &value);
	if (r)
		goto out_defs;
	if (base) {
		/* The base is the file as read: one trailing newline off. */
		size_t n = base->len;

		if (n && base->data[n - 1] == '\n')
			n--;
		was = strndup(base->data, n);
		r = was ? fresh_props(s, email, defs->json, &now) : -ENOMEM;
		if (r)
			goto out_value;
	}
	if (base) {
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(
			now, model_propdef_id(def));
		char *shown = value_shown(cur);

		if (!shown) {
			r = -ENOMEM;
		} else if (strcmp(shown, was) && strcmp(shown, value)) {
			cJSON *b = cJSON_CreateString(was);

			log_stale(path, name, b, cur);
			cJSON_Delete(b);
			r = -ESTALE;
		}
		free(shown);
		if (r)
			goto out_value;
	}
	props = cJSON_CreateArray();
	item = model_prop_item(model_propdef_id(def),
			       cJSON_CreateString(value));
	if (!props || !item || !cJSON_AddItemToArray(props, item)) {
		cJSON_Delete(props);
		cJSON_Delete(item);
		r = -ENOMEM;
		goto out_value;
	}
	r = school_set_properties(s, email, props);
	cJSON_Delete(props);
out_value:
	cJSON_Delete(now);
	free(was);
	free(value);
out_defs:
	cval_put(defs);
	return r;
}

/* properties.json as read ({"NAME": value}) keyed by property id; NULL
 * when it is no JSON object (then the save is judged without a base). */
static cJSON *base_by_id(const struct edit_base *base, const cJSON *defs)
{
	cJSON *doc = cJSON_ParseWithLength(base->data, base->len);
	cJSON *out = NULL;
	const cJSON *it;

	if (!cJSON_IsObject(doc))
		goto out;
	out = cJSON_CreateObject();
	cJSON_ArrayForEach(it, doc) {
		const cJSON *def = model_propdef_find(defs, it->string);
		cJSON *v;

		if (!out || !def ||
		    cJSON_GetObjectItemCaseSensitive(out,
						     model_propdef_id(def)))
			continue;
		v = cJSON_Duplicate(it, 1);
		if (!v ||
		    !cJSON_AddItemToObject(out, model_propdef_id(def), v)) {
			cJSON_Delete(v);
			cJSON_Delete(out);
			out = NULL;
		}
	}
out:
	cJSON_Delete(doc);
	return out;
}

/* Drops from changes what the server already holds; -ESTALE (each
 * logged) when something to change was changed by someone else. */
static int check_stale(const char *path, const cJSON *defs, const cJSON *was,
		       const cJSON *now, cJSON *changes)
{
	cJSON *c = changes ? changes->child : NULL, *next;
	int r = 0;

	for (; c; c = next) {
		const char *id = model_prop_item_id(c);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(was, id);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(now, id);
		const cJSON *want = model_prop_item_value(c);
		const char *name =
			model_propdef_name(model_propdef_find(defs, id));

		next = c->next;
		if (same_value(v, want)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(changes, c));
			continue;
		}
		if (!same_value(v, b)) {
			log_stale(path, name ? name : id, b, v);
			r = -ESTALE;
		}
	}
	return r;
}

/*
 * properties.json: the new object is compared with the base (what the
 * saving process read) or, without one, with the member's current values
 * (input_props_diff); only names whose value changed are sent, all in
 * one call.
 */
static int set_properties_json(struct school *s, const char *path,
			       const char *email, const char *data, size_t len,
			       const struct edit_base *base)
{
	char why[INPUT_WHY_MAX];
	struct cval *u = NULL, *defs = NULL;
	cJSON *changes = NULL, *current = NULL, *now = NULL;
	int r;

	r = school_propdefs(s, &defs);
	if (r)
		return r;
	if (base)
		current = base_by_id(base, defs->json);
	if (!current) {
		base = NULL;
		r = school_user(s, email, &u);
		if (r)
			goto out;
		current = model_user_props_by_id(u->json, defs->json);
	}
	if (!current) {
		r = -ENOMEM;
		goto out;
	}
	r = input_props_diff(defs->json, current, data, len, &changes, why,
			     sizeof(why));
	if (r == -EINVAL)
		errlog_add(path, 0, "%s", why);
	if (!r && base && cJSON_GetArraySize(changes) > 0) {
		r = fresh_props(s, email, defs->json, &now);
		if (!r)
			r = check_stale(path, defs->json, current, now,
					changes);
	}
	if (!r && cJSON_GetArraySize(changes) > 0)
		r = school_set_properties(s, email, changes);
out:
	cJSON_Delete(now);
	cJSON_Delete(current);
	cJSON_Delete(changes);
	cval_put(u);
	cval_put(defs);
	return r;
}

/* ------------------------------------------------------------------------
 * Control files: lines run by a pool of workers
 * ---------------------------------------------------------------------- */

struct line_run {
	struct school *s;
	const char *path;
	const struct tree_path *p;
	node_line_fn fn;

	pthread_mutex_t lock;
	const char *data; /* guarded by lock: the cursor */
	size_t len;
	size_t pos;
	int lineno;
	int first_err; /* errno of the lowest failing line */
	int first_line;
	int failed;
	int done;
};

/* Takes the next non-blank line. Returns 0 when none is left. */
static int next_line(struct line_run *run, char **line, size_t *len,
		     int *lineno)
{
	int got = 0;

	pthread_mutex_lock(&run->lock);
	while (!got && run->pos < run->len) {
		const char *start = run->data + run->pos;
		const char *nl = memchr(start, '\n', run->len - run->pos);
		size_t n = nl ? (size_t)(nl - start) : run->len - run->pos;

		run->pos += n + (nl ? 1 : 0);
		run->lineno++;
		if (csv_is_blank(start, n))
			continue;
		*line = strndup(start, n);
		*len = n;
		*lineno = run->lineno;
		got = 1;
	}
	pthread_mutex_unlock(&run->lock);
	return got;
}

static void line_result(struct line_run *run, int lineno, int err)
{
	/* Counted as they finish, so `watch cat .memberspot/status` shows a
	 * long grant file's progress. */
	stats_add(STAT_LINES_DONE, 1);
	if (err)
		stats_add(STAT_LINES_FAILED, 1);
	pthread_mutex_lock(&run->lock);
	run->done++;
	if (err) {
		run->failed++;
		if (!run->first_err || lineno < run->first_line) {
			run->first_err = err;
			run->first_line = lineno;
		}
	}
	pthread_mutex_unlock(&run->lock);
}

static void *line_worker(void *arg)
{
	struct line_run *run = arg;
	char *line;
	size_t len;
	int lineno;

	while (next_line(run, &line, &len, &lineno)) {
		int r = line ? run->fn(run, lineno, line, len) : -ENOMEM;

		line_result(run, lineno, r);
		free(line);
	}
	return NULL;
}

static int run_lines(struct school *s, const char *path,
		     const struct tree_path *p, const char *data, size_t len,
		     node_line_fn fn, int workers, struct edit_lines *res)
{
	struct line_run run = {.s = s,
			       .path = path,
			       .p = p,
			       .fn = fn,
			       .data = data,
			       .len = len,
			       .lineno = res ? res->lines : 0};
	pthread_t tids[MAX_WORKERS];
	int n = 0, i;

	if (memchr(data, '\0', len)) {
		errlog_add(path, 0, "contains NUL bytes: text lines expected");
		return -EINVAL;
	}
	pthread_mutex_init(&run.lock, NULL);
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	for (i = 1; i < workers; i++) {
		if (pthread_create(&tids[n], NULL, line_worker, &run))
			break;
		n++;
	}
	line_worker(&run); /* the calling thread works too */
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&run.lock);
	if (run.failed)
		errlog_add(path, 0, "%d of %d lines failed; first: line %d",
			   run.failed, run.done, run.first_line);
	if (res) {
		res->lines = run.lineno;
		res->done += run.done;
		res->failed += run.failed;
	}
	return run.first_err;
}

static void reject_line(struct line_run *run, int lineno, const char *op,
			const char *line, const char *why)
{
	cJSON *args = cJSON_CreateObject();

	errlog_add(run->path, 0, "line %d: %s", lineno, why);
	if (args) {
		cJSON_AddNumberToObject(args, "line", lineno);
		cJSON_AddStringToObject(args, "text", line);
		cJSON_AddStringToObject(args, "reason", why);
	}
	journal_change(school_journal(run->s), op, args, -EINVAL, NULL);
	cJSON_Delete(args);
}

static int opt_field(const struct csv_fields *f, int i, const char **out)
{
	*out = i < f->n && *f->f[i] ? f->f[i] : NULL;
	return 0;
}

/* The email may not hold a tab (it never does); names and order ids
 * follow value files, where a tab may stand. */
static int grant_fields(const struct csv_fields *f, char *why, size_t whylen)
{
	static const char *const what[] = {"email", "first name", "last name",
					   "order id"};
	int i, r = 0;

	for (i = 0; i < f->n && i < 4 && !r; i++)
		r = input_field(what[i], f->f[i], i > 0, why, whylen);
	return r;
}

/* A control-file line as fields: UTF-8, then split at sep. A refusal is
 * logged and journalled as op; f is the caller's to free on success. */
static int split_line(struct line_run *run, int lineno, const char *op,
		      char *line, size_t len, char sep, struct csv_fields *f)
{
	const char *why = NULL;
	char reason[INPUT_WHY_MAX];
	int r = input_utf8(line, len, reason, sizeof(reason));

	if (r) {
		reject_line(run, lineno, op, line, reason);
		return r;
	}
	r = csv_split(line, len, sep, f, &why);
	if (r == -EINVAL)
		reject_line(run, lineno, op, line, why);
	return r;
}

int edit_line_grant(struct line_run *run, int lineno, char *line, size_t len)
{
	struct csv_fields f = {0};
	const char *first, *last, *order;
	char reason[INPUT_WHY_MAX];
	int r = split_line(run, lineno, "grant", line, len, ',', &f);

	if (r)
		return r;
	if (f.n < 1 || f.n > 4 || !*f.f[0]) {
		reject_line(run, lineno, "grant", line,
			    f.n > 4 ? "too many fields: "
				      "EMAIL[,FIRSTNAME[,LASTNAME[,ORDER_ID]]]"
				    : "missing email");
		r = -EINVAL;
		goto out;
	}
	r = grant_fields(&f, reason, sizeof(reason));
	if (r) {
		reject_line(run, lineno, "grant", line, reason);
		goto out;
	}
	opt_field(&f, 1, &first);
	opt_field(&f, 2, &last);
	opt_field(&f, 3, &order);
	r = school_grant(run->s, f.f[0], first, last, run->p->id[0], order);
	if (r)
		errlog_add(run->path, 0, "line %d: grant to %s failed: %s",
			   lineno, f.f[0], strerror(-r));
out:
	csv_fields_free(&f);
	return r;
}

int edit_line_chapter(struct line_run *run, int lineno, char *line, size_t len)
{
	struct csv_fields f = {0};
	char reason[INPUT_WHY_MAX];
	int r = split_line(run, lineno, "enable-chapter", line, len, ' ', &f);

	if (r)
		return r;
	if (f.n != 2 || !*f.f[0] || !*f.f[1]) {
		reject_line(run, lineno, "enable-chapter", line,
			    "expected: COURSE_ID CHAPTER_ID");
		r = -EINVAL;
		goto out;
	}
	if (input_field("course id", f.f[0], false, reason, sizeof(reason)) ||
	    input_field("chapter id", f.f[1], false, reason, sizeof(reason))) {
		reject_line(run, lineno, "enable-chapter", line, reason);
		r = -EINVAL;
		goto out;
	}
	r = school_enable_chapter(run->s, run->p->id[0], f.f[0], f.f[1]);
	if (r)
		errlog_add(run->path, 0, "line %d: chapter %s %s failed: %s",
			   lineno, f.f[0], f.f[1], strerror(-r));
out:
	csv_fields_free(&f);
	return r;
}

int edit_line_refresh(struct line_run *run, int lineno, char *line, size_t len)
{
	char why[INPUT_WHY_MAX];
	char *path;
	int r = input_utf8(line, len, why, sizeof(why));

	if (r) {
		errlog_add(run->path, 0, "line %d: %s", lineno, why);
		return r;
	}
	path = trim(line);
	if (*path != '/') {
		errlog_add(run->path, 0,
			   "line %d: a path starting with '/' expected "
			   "(relative to the mount)",
			   lineno);
		return -EINVAL;
	}
	r = school_refresh(run->s, path);
	if (r)
		errlog_add(run->path, 0, "line %d: no such path: %s", lineno,
			   path);
	return r;
}

/* ------------------------------------------------------------------------
 * What each node does with a write (the node table points here)
 * ---------------------------------------------------------------------- */

static int apply_state(const struct node_ctx *c, const char *data, size_t len,
		       int order)
{
	bool active;
	int r = parse_state(c->path, data, len, &active);

	if (r)
		return r;
	if (order)
		return school_set_order_state(c->s, c->p->id[0], c->p->id[1],
					      active);
	return school_set_offer_state(c->s, c->p->id[0], c->p->id[1], active);
}

int edit_apply_offer_state(const struct node_ctx *c, const char *data,
			   size_t len, const struct edit_base *base)
{
	return apply_state(c, data, len, 0);
}

int edit_apply_order_state(const struct node_ctx *c, const char *data,
			   size_t len, const struct edit_base *base)
{
	return apply_state(c, data, len, 1);
}

int edit_apply_prop(const struct node_ctx *c, const char *data, size_t len,
		    const struct edit_base *base)
{
	return set_one_property(c->s, c->path, c->p->id[0], c->p->id[1], data,
				len, base);
}

int edit_apply_props_json(const struct node_ctx *c, const char *data,
			  size_t len, const struct edit_base *base)
{
	return set_properties_json(c->s, c->path, c->p->id[0], data, len, base);
}

int edit_apply_control(const struct node_ctx *c, const char *data, size_t len,
		       const struct edit_base *base)
{
	return edit_lines(c->s, c->path, c->p, data, len, NULL);
}

/* The known property names, for the reason of a refused one. */
static void refuse_property_name(struct school *s, const struct tree_path *p)
{
	struct cval *defs = NULL;
	struct buf names = {0};
	const cJSON *d;

	if (!school_propdefs(s, &defs)) {
		cJSON_ArrayForEach(d, defs->json) {
			const char *name = model_propdef_name(d);

			if (!name || !model_propdef_id(d))
				continue;
			if (names.len)
				buf_append(&names, ", ", 2);
			buf_append(&names, name, strlen(name));
		}
	}
	errlog_add("create", 0,
		   "users/%s/properties/%s: no such property (properties: "
		   "%.*s); editors' temporary names are the only other names "
		   "here",
		   p->id[0], p->id[1], names.len > 400 ? 400 : (int)names.len,
		   names.len ? names.data : "none");
	buf_free(&names);
	cval_put(defs);
}

int edit_create_prop(struct school *s, const struct tree_path *p)
{
	refuse_property_name(s, p);
	return -ENOENT;
}

/* A name about to be made (by mkdir, or O_CREAT): -EROFS under -o ro,
 * -EINVAL for a name refused, else whether member id[0] exists: 0,
 * -ENOENT or another -errno. Sends nothing but that lookup. */
static int new_name(struct school *s, const struct tree_path *p, int mkdir)
{
	struct cval *u = NULL;
	int r;

	r = school_refuse_readonly(s, "create");
	if (r)
		return r;
	r = check_new_ids(p, mkdir);
	if (r)
		return r;
	r = school_user(s, p->id[0], &u);
	cval_put(u);
	return r;
}

int edit_create_grant(struct school *s, const struct tree_path *p)
{
	int r = new_name(s, p, 0);

	if (r == -ENOENT && school_pending_has(s, p->id[0]))
		r = 0;
	return r;
}

int edit_mkdir_member(struct school *s, const struct tree_path *p)
{
	int r = new_name(s, p, 1);

	if (!r)
		return -EEXIST;
	if (r != -ENOENT)
		return r;
	return school_pending_add(s, p->id[0]);
}

int edit_rmdir_member(struct school *s, const struct tree_path *p)
{
	struct cval *u = NULL;
	const char *email = p->id[0];
	int r = school_user(s, email, &u);

	cval_put(u);
	if (r == -ENOENT && school_pending_has(s, email)) {
		school_pending_remove(s, email);
		return 0;
	}
	if (r)
		return r;
	return school_delete(s, &email, 1);
}

/* ------------------------------------------------------------------------
 * Entry points: a table lookup each
 * ---------------------------------------------------------------------- */

/* -EROFS under -o ro for a node whose writes change the school. */
static int refuse_readonly(struct school *s, const char *path,
			   const struct node_entry *e)
{
	if (e->flags & NODE_RO_OK)
		return 0;
	return school_refuse_readonly(s, path);
}

int edit_lines(struct school *s, const char *path, const struct tree_path *p,
	       const char *data, size_t len, struct edit_lines *res)
{
	const struct node_entry *e = node_entry(p->node);
	int r = refuse_readonly(s, path, e);

	if (r)
		return r;
	if (!e->line)
		return -EACCES;
	return run_lines(
		s, path, p, data, len, e->line,
		(e->flags & NODE_SERIAL) ? 1 : school_config(s)->workers, res);
}

int edit_apply(struct school *s, const char *path, const struct tree_path *p,
	       const char *data, size_t len, const struct edit_base *base)
{
	const struct node_entry *e = node_entry(p->node);
	struct node_ctx c = {s, path, p, NULL};
	int r = refuse_readonly(s, path, e);

	if (r)
		return r;
	if (!e->apply) {
		errlog_add(path, 0, "read-only file");
		return -EACCES;
	}
	return e->apply(&c, data, len, base);
}

int edit_create(struct school *s, const struct tree_path *p)
{
	const struct node_entry *e = node_entry(p->node);

	return e->create ? e->create(s, p) : -EPERM;
}

int edit_apply_create(struct school *s, const char *path,
		      const struct tree_path *p, const char *data, size_t len)
{
	struct cval *u = NULL;
	const char *first = NULL, *last = NULL;
	bool active = true;
	char *text = NULL;
	const char *w;
	int r;

	if (!(node_entry(p->node)->flags & NODE_CREATE))
		return -EPERM;
	r = school_refuse_readonly(s, path);
	if (r)
		return r;
	/* Empty content grants (touch); otherwise a state word. */
	r = value_text(path, data, len, &text);
	if (r)
		return r;
	for (w = text; isspace((unsigned char)*w); w++)
		;
	if (*w)
		r = parse_state(path, data, len, &active);
	free(text);
	if (r)
		return r;
	/* Names are only known for members that exist already; a pending
	 * member is created without them. */
	if (!school_user(s, p->id[0], &u)) {
		first = model_user_first_name(u->json);
		last = model_user_last_name(u->json);
	} else if (!school_pending_has(s, p->id[0])) {
		return -ENOENT;
	}
	r = school_grant(s, p->id[0], first, last, p->id[1], NULL);
	cval_put(u);
	/* A grant makes the offer active; inactive takes a second step. */
	if (!r && !active)
		r = school_set_offer_state(s, p->id[0], p->id[1], false);
	return r;
}

int edit_check_partial(const char *path, const struct tree_path *p,
		       enum view_write w, const char *data, size_t len)
{
	char why[INPUT_WHY_MAX];
	int r;

	switch (w) {
	case VW_VALUE:
		r = (node_entry(p->node)->flags & NODE_STATE)
			    ? input_state_prefix(data, len, why, sizeof(why))
			    : input_value_prefix(data, len, why, sizeof(why));
		break;
	case VW_JSON:
		r = input_utf8_prefix(data, len, why, sizeof(why));
		break;
	default:
		return 0;
	}
	if (r == -EINVAL)
		errlog_add(path, 0, "%s", why);
	return r;
}

int edit_mkdir(struct school *s, const struct tree_path *p)
{
	const struct node_entry *e = node_entry(p->node);

	return e->mkdir ? e->mkdir(s, p) : -EPERM;
}

int edit_rmdir(struct school *s, const struct tree_path *p)
{
	const struct node_entry *e = node_entry(p->node);

	if (e->rmdir)
		return e->rmdir(s, p);
	/* A member's subdirectories: rm -r users/E reaches them before the
	 * member's own rmdir, which does the work. */
	if (e->type == VIEW_DIR && (e->flags & NODE_REMOVABLE))
		return 0;
	return -EPERM;
}

int edit_unlink(struct school *s, const struct tree_path *p)
{
	const struct node_entry *e = node_entry(p->node);

	(void)s;
	if (e->type == VIEW_DIR)
		return -EISDIR;
	/* rm -r users/E unlinks every file before the rmdir that deletes
	 * the member, and stops at the first refusal: so here unlink
	 * succeeds and changes nothing. Nothing else can be removed: the
	 * file stays. */
	return (e->flags & NODE_REMOVABLE) ? 0 : -EPERM;
}

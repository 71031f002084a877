/*
 * views without a mount: a school on the fake API (fake.h), in both of
 * the fake's dialects, rendered, listed and stat'ed through views.h and
 * compared with the fake's own state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "mtimes.h"
#include "tap.h"
#include "tree.h"
#include "views.h"

#define EMAIL "anna+test@example.com"
#define OFFER "bundle/2026"

/* view_render of a mount path into out. 0 or -errno. */
static int render(struct school *s, const char *path, struct buf *out)
{
	struct tree_path tp;
	int r = tree_parse(path, &tp);

	if (r)
		return r;
	r = view_render(s, &tp, out);
	tree_path_free(&tp);
	return r;
}

static int stat_path(struct school *s, const char *path, struct view_attr *a)
{
	struct tree_path tp;
	int r = tree_parse(path, &tp);

	if (r)
		return r;
	r = view_stat(s, path, &tp, a);
	tree_path_free(&tp);
	return r;
}

struct listing {
	cJSON *names;	/* array of strings, sorted by the caller */
	int not_a_link; /* entries that are not symlinks */
};

static int collect(void *arg, const char *name, enum view_type t)
{
	struct listing *l = arg;

	l->not_a_link += t != VIEW_LINK;
	return cJSON_AddItemToArray(l->names, cJSON_CreateString(name))
		       ? 0
		       : -ENOMEM;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of an array of strings, sorted and joined by newlines. */
static char *sorted_lines(const cJSON *names)
{
	int n = cJSON_GetArraySize(names), i = 0;
	char **v = calloc((size_t)n + 1, sizeof(*v));
	struct buf out = {0};
	const cJSON *it;

	if (!v)
		return NULL;
	cJSON_ArrayForEach(it, names)
		v[i++] = it->valuestring;
	qsort(v, (size_t)n, sizeof(*v), by_string);
	for (i = 0; i < n; i++)
		if (buf_puts(&out, v[i]) || buf_puts(&out, "\n"))
			break;
	free(v);
	return buf_steal(&out);
}

/* view_list of a mount path: its names sorted, one a line (malloc'd). */
static char *list(struct school *s, const char *path, int *not_a_link)
{
	struct listing l = {.names = cJSON_CreateArray()};
	struct tree_path tp;
	char *lines = NULL;

	if (l.names && !tree_parse(path, &tp)) {
		if (!view_list(s, path, &tp, collect, &l))
			lines = sorted_lines(l.names);
		tree_path_free(&tp);
	}
	if (not_a_link)
		*not_a_link = l.not_a_link;
	cJSON_Delete(l.names);
	return lines;
}

/* The encoded emails of the fake's members; with offer, only those
 * holding it (any state). Sorted lines, malloc'd. */
static char *fake_members(struct fake *f, const char *offer)
{
	cJSON *state = fake_get(f, "/_fake/state"), *want = cJSON_CreateArray();
	const cJSON *u, *g;
	char *lines = NULL, *enc;
	int holds;

	cJSON_ArrayForEach(u, cJSON_GetObjectItem(state, "users")) {
		const char *e =
			cJSON_GetStringValue(cJSON_GetObjectItem(u, "email"));

		holds = !offer;
		cJSON_ArrayForEach(g, cJSON_GetObjectItem(u, "offers")) {
			const char *o = cJSON_GetStringValue(
				cJSON_GetObjectItem(g, "offerId"));

			holds |= offer && o && !strcmp(o, offer);
		}
		if (!e || !holds || !tree_name_fits(e, NULL))
			continue;
		enc = tree_encode(e);
		cJSON_AddItemToArray(want, cJSON_CreateString(enc));
		free(enc);
	}
	if (state)
		lines = sorted_lines(want);
	cJSON_Delete(want);
	cJSON_Delete(state);
	return lines;
}

static void user_json(struct fake *f, struct school *s, const char *dialect)
{
	char *path = mount_path("/users/", EMAIL, "/user.json");
	cJSON *want = fake_user(f, EMAIL, 1), *got;
	struct buf out = {0};
	struct view_attr a;
	int r = render(s, path, &out);

	ok(r == 0, "%s: user.json renders (%d)", dialect, r);
	got = out.data ? cJSON_Parse(out.data) : NULL;
	ok(got && want && cJSON_Compare(got, want, 1),
	   "%s: user.json equals the fake's record as the API answers it",
	   dialect);
	if (!(got && want && cJSON_Compare(got, want, 1)))
		diag("got: %s", out.data ? out.data : "(nothing)");
	ok(out.len > 1 && out.data[out.len - 1] == '\n' &&
		   strchr(out.data, '\n') < out.data + out.len - 1,
	   "%s: user.json is pretty-printed and ends with a newline", dialect);
	r = stat_path(s, path, &a);
	ok(r == 0 && a.type == VIEW_FILE && a.size == out.len &&
		   a.write == VW_NONE,
	   "%s: view_stat of user.json: a read-only file of the rendered "
	   "size (%zu)",
	   dialect, out.len);
	cJSON_Delete(got);
	cJSON_Delete(want);
	buf_free(&out);
	free(path);

	path = mount_path("/users/", "nobody@example.invalid", "/user.json");
	r = stat_path(s, path, &a);
	ok(r == -ENOENT,
	   "%s: view_stat of an unknown member's user.json: "
	   "-ENOENT (%d)",
	   dialect, r);
	free(path);
}

static void listings(struct fake *f, struct school *s, const char *dialect)
{
	char *got = list(s, "/users", NULL), *want = fake_members(f, NULL);
	char *path = mount_path("/offers/", OFFER, "/members");
	int links = -1;

	ok(tap_streq(got, want), "%s: users/ lists every member", dialect);
	if (!tap_streq(got, want))
		diag("got:\n%s\nwant:\n%s", got ? got : "(failed)",
		     want ? want : "(failed)");
	free(got);
	free(want);

	got = list(s, path, &links);
	want = fake_members(f, OFFER);
	ok(got && *got && tap_streq(got, want),
	   "%s: offers/%s/members lists the members holding it", dialect,
	   OFFER);
	if (!tap_streq(got, want))
		diag("got:\n%s\nwant:\n%s", got ? got : "(failed)",
		     want ? want : "(failed)");
	ok(links == 0, "%s: offers/O/members/ entries are symlinks (%d not)",
	   dialect, links);
	free(got);
	free(want);
	free(path);
}

/* path read through a stream in pieces of want bytes (each whole lines)
 * into out; the pieces, or -errno. */
static int stream(struct school *s, const char *path, size_t want,
		  struct buf *out, int *whole_lines)
{
	struct view_stream *st = NULL;
	struct tree_path tp;
	int end = 0, pieces = 0, r = tree_parse(path, &tp);

	*whole_lines = 1;
	if (!r)
		r = view_stream_open(s, &tp, &st);
	if (!r && !st)
		r = -ENOSYS;
	while (!r && !end) {
		size_t start = out->len;

		r = view_stream_next(st, want, out, &end);
		pieces++;
		if (!r && out->len > start && out->data[out->len - 1] != '\n')
			*whole_lines = 0;
	}
	view_stream_free(st);
	tree_path_free(&tp);
	return r ? r : pieces;
}

/* A whole-school file read in pieces is its rendering; its stat has the
 * size and hash of it. */
static void whole_file(struct school *s, const char *path, const char *dialect)
{
	struct buf all = {0}, pieces = {0};
	struct view_attr a, b;
	int lines, n, r = stat_path(s, path, &b); /* measured: nothing built */

	ok(r == 0, "%s: view_stat of %s before a read (%d)", dialect, path, r);
	r = render(s, path, &all);
	ok(r == 0 && all.len > 0, "%s: %s renders (%d)", dialect, path, r);
	n = stream(s, path, 100, &pieces, &lines);
	ok(n > 2 && lines, "%s: %s streams in pieces of whole lines (%d)",
	   dialect, path, n);
	ok(all.len == pieces.len &&
		   (!all.len || !memcmp(all.data, pieces.data, all.len)),
	   "%s: ... whose bytes are the rendering's (%zu, %zu)", dialect,
	   all.len, pieces.len);
	r = stat_path(s, path, &a);
	ok(r == 0 && a.size == all.len && a.hashed &&
		   a.hash == mtimes_hash(all.data, all.len),
	   "%s: view_stat of %s: its size and hash (%zu)", dialect, path,
	   a.size);
	ok(b.size == a.size && b.hashed && b.hash == a.hash,
	   "%s: ... which a stat before any read measured too", dialect);
	buf_free(&all);
	buf_free(&pieces);
}

static void whole_files(struct school *s, const char *dialect)
{
	char *path = mount_path("/offers/", OFFER, "/members.csv");
	struct view_stream *st = (struct view_stream *)&st;
	struct tree_path tp;

	whole_file(s, "/users.jsonl", dialect);
	whole_file(s, "/users.csv", dialect);
	whole_file(s, path, dialect);
	free(path);
	tree_parse("/README", &tp);
	ok(view_stream_open(s, &tp, &st) == 0 && !st,
	   "%s: a file that is not streamed has no stream", dialect);
	tree_path_free(&tp);
}

static void one_dialect(const char *dialect)
{
	struct fake f;
	struct world w;

	if (fake_start(&f, dialect, 20)) {
		ok(0, "%s: the fake API starts", dialect);
		fake_stop(&f);
		return;
	}
	if (world_open(&w, &f, 0)) {
		ok(0, "%s: a school on the fake", dialect);
	} else {
		user_json(&f, w.school, dialect);
		listings(&f, w.school, dialect);
		whole_files(w.school, dialect);
	}
	world_close(&w);
	fake_stop(&f);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	one_dialect("guessed");
	one_dialect("evidence");
	curl_global_cleanup();
	return done_testing();
}

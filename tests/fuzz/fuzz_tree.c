/*
 * fuzz_tree.c: tree_parse and the name encoding on arbitrary bytes.
 *
 * The input is cut at its NUL bytes into pieces; each piece is parsed as
 * a path (as it is and with a '/' in front) and taken as a file name and
 * as an identifier. Properties (tree.h):
 *  - a path parses to a node whose canonical path, rebuilt from the node
 *    and its identifiers, is the path itself (one object, one path);
 *  - no identifier it yields is "", and a name taken as it is
 *    (by-status, scratch names) has no '/'; a decoded identifier has a
 *    '/' exactly where its name has "%2F" (identifiers may hold any
 *    character, "." and ".." included, API.md; api.c keeps them out of
 *    URLs or escapes them);
 *  - encode(decode(name)) == name whenever decode succeeds, and
 *    decode(encode(id)) == id for every identifier, so every name a
 *    listing shows can be looked up again ("" is no identifier: decoding
 *    its encoding must fail);
 *  - a path built from encoded identifiers parses back to them.
 */
#include <errno.h>

#include "buf.h"
#include "fuzz.h"
#include "nodes.h"
#include "tree.h"

/* The canonical path of each node: each "%s" is an identifier, encoded,
 * except where raw_slot() says the path holds it as it is. */
static const char *const shapes[N__COUNT] = {
	[N_ROOT] = "/",
	[N_README] = "/README",
	[N_PROPDEFS] = "/properties.json",
	[N_USERS_JSONL] = "/users.jsonl",
	[N_USERS_CSV] = "/users.csv",
	[N_OFFERS] = "/offers",
	[N_OFFER] = "/offers/%s",
	[N_OFFER_JSON] = "/offers/%s/offer.json",
	[N_OFFER_NAME] = "/offers/%s/name",
	[N_OFFER_MEMBERS] = "/offers/%s/members",
	[N_OFFER_MEMBER] = "/offers/%s/members/%s",
	[N_OFFER_GRANT] = "/offers/%s/grant",
	[N_OFFER_MEMBERS_CSV] = "/offers/%s/members.csv",
	[N_COURSES] = "/courses",
	[N_COURSE] = "/courses/%s",
	[N_COURSE_MEMBERS] = "/courses/%s/members",
	[N_COURSE_MEMBER] = "/courses/%s/members/%s",
	[N_BY_STATUS] = "/by-status",
	[N_STATUS_DIR] = "/by-status/%s",
	[N_STATUS_MEMBER] = "/by-status/%s/%s",
	[N_USERS] = "/users",
	[N_USER] = "/users/%s",
	[N_USER_JSON] = "/users/%s/user.json",
	[N_USER_OFFERS] = "/users/%s/offers",
	[N_USER_OFFER] = "/users/%s/offers/%s",
	[N_USER_ORDERS] = "/users/%s/orders",
	[N_USER_ORDER] = "/users/%s/orders/%s",
	[N_USER_PROPS] = "/users/%s/properties",
	[N_USER_PROP] = "/users/%s/properties/%s",
	[N_USER_PROPS_JSON] = "/users/%s/properties.json",
	[N_USER_PROGRESS_JSON] = "/users/%s/progress.json",
	[N_USER_PROGRESS] = "/users/%s/progress",
	[N_USER_PROGRESS_COURSE] = "/users/%s/progress/%s.json",
	[N_USER_CHAPTERS] = "/users/%s/chapters",
	[N_USER_LOGIN_TOKEN] = "/users/%s/login-token",
	[N_USER_SCRATCH] = "/users/%s/%s",
	[N_EXAMS] = "/exams",
	[N_EXAM] = "/exams/%s",
	[N_EXAM_JSON] = "/exams/%s/results.json",
	[N_EXAM_CSV] = "/exams/%s/results.csv",
	[N_META] = "/.memberspot",
	[N_META_STATUS] = "/.memberspot/status",
	[N_META_ERRORS] = "/.memberspot/errors",
	[N_META_JOURNAL] = "/.memberspot/journal",
	[N_META_REFRESH] = "/.memberspot/refresh",
};

static int n_ids(enum node n)
{
	const char *s = shapes[n];
	int k = 0;

	while ((s = strstr(s, "%s")) != NULL) {
		k++;
		s += 2;
	}
	return k;
}

/* Slots that hold a path component as it is, not decoded. */
static int raw_slot(const struct tree_path *p, int slot)
{
	switch (p->node) {
	case N_STATUS_DIR:
	case N_STATUS_MEMBER:
		return slot == 0;
	case N_USER_SCRATCH:
		return slot == 1;
	case N_USER_PROP:
		return slot == 1 && p->scratch;
	default:
		return 0;
	}
}

/* shapes[node] with its "%s" replaced by part[0], part[1]. */
static char *render(enum node node, char *const part[2])
{
	struct buf b = {0};
	const char *s = shapes[node], *pct;
	int k = 0;

	while ((pct = strstr(s, "%s")) != NULL) {
		CHECK(buf_append(&b, s, (size_t)(pct - s)) == 0);
		CHECK(buf_puts(&b, part[k++]) == 0);
		s = pct + 2;
	}
	CHECK(buf_puts(&b, s) == 0);
	return buf_steal(&b);
}

static int is_identifier(const char *id)
{
	return *id != '\0';
}

static void check_parse(const char *path)
{
	struct tree_path p;
	char *part[2] = {NULL, NULL}, *again;
	int rc = tree_parse(path, &p), i, k;

	CHECK(rc == 0 || rc == -ENOENT || rc == -ENAMETOOLONG);
	if (rc) {
		/* A failed parse owns nothing. */
		CHECK(p.id[0] == NULL && p.id[1] == NULL);
		return;
	}
	CHECK(p.node >= N_ROOT && p.node < N__COUNT);
	CHECK(!p.scratch || p.node == N_USER_PROP);
	(void)tree_node_is_dir(p.node);
	k = n_ids(p.node);
	for (i = 0; i < 2; i++) {
		CHECK((p.id[i] != NULL) == (i < k));
		if (!p.id[i])
			continue;
		CHECK(is_identifier(p.id[i]));
		if (raw_slot(&p, i)) {
			CHECK(strchr(p.id[i], '/') == NULL);
			part[i] = strdup(p.id[i]);
		} else {
			part[i] = tree_encode(p.id[i]);
		}
		CHECK(part[i] != NULL);
	}
	again = render(p.node, part);
	CHECK(strcmp(again, path) == 0);
	free(again);
	free(part[0]);
	free(part[1]);
	tree_path_free(&p);
}

/* name as a file name, then as an identifier. */
static void check_name(const char *name)
{
	char *id, *enc, *back;
	int rc = tree_decode(name, &id);

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		CHECK(is_identifier(id));
		enc = tree_encode(id);
		CHECK(enc != NULL);
		CHECK(strcmp(enc, name) == 0);
		free(enc);
		free(id);
	} else {
		CHECK(id == NULL);
	}

	enc = tree_encode(name);
	CHECK(enc != NULL);
	CHECK(strchr(enc, '/') == NULL);
	CHECK(enc[0] != '.');
	rc = tree_decode(enc, &back);
	if (is_identifier(name)) {
		CHECK(rc == 0);
		CHECK(strcmp(back, name) == 0);
		free(back);
	} else {
		CHECK(rc == -EINVAL);
	}
	free(enc);
}

/* Paths built from identifiers parse back to them, exactly when each
 * name fits (tree_name_fits says the same). Nodes with a raw slot are
 * left out: a raw name may be one of the fixed names. Every identifier's
 * name decodes, so a properties/ name built here is never a scratch
 * name. */
static void check_build(enum node node, const char *id0, const char *id1)
{
	const char *ids[2] = {id0, id1};
	char *part[2] = {NULL, NULL}, *path;
	struct tree_path p, probe = {.node = node};
	int i, k = n_ids(node), refused = 0, rc;
	const char *suffix;
	size_t len;

	for (i = 0; i < k; i++)
		if (raw_slot(&probe, i))
			return;
	for (i = 0; i < k; i++) {
		part[i] = tree_encode(ids[i]);
		CHECK(part[i] != NULL);
		suffix = node == N_USER_PROGRESS_COURSE && i == 1 ? ".json"
								  : NULL;
		len = strlen(part[i]) + (suffix ? strlen(suffix) : 0);
		CHECK(tree_name_fits(ids[i], suffix) == (len <= 255));
		if (len > 255 || !is_identifier(ids[i]))
			refused = 1;
	}
	path = render(node, part);
	rc = tree_parse(path, &p);
	if (refused) {
		CHECK(rc == -ENOENT || rc == -ENAMETOOLONG);
	} else {
		CHECK(rc == 0);
		CHECK(p.node == node);
		CHECK(p.scratch == 0);
		for (i = 0; i < k; i++)
			CHECK(strcmp(p.id[i], ids[i]) == 0);
		tree_path_free(&p);
	}
	free(path);
	free(part[0]);
	free(part[1]);
}

/* The node table builds the paths tree_parse reads back. */
static void check_user_path(const char *email)
{
	struct tree_path p;
	char *path = node_path(N_USER_JSON, email, NULL), *enc;
	int rc;

	CHECK(path != NULL);
	enc = tree_encode(email);
	CHECK(enc != NULL);
	rc = tree_parse(path, &p);
	if (!is_identifier(email) || strlen(enc) > 255) {
		CHECK(rc != 0);
	} else {
		CHECK(rc == 0);
		CHECK(p.node == N_USER_JSON);
		CHECK(strcmp(p.id[0], email) == 0);
		tree_path_free(&p);
	}
	free(enc);
	free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *piece, *slashed;
	const char *first = s, *second = s;
	size_t len;
	int n = 0;

	/* s + size is the NUL fuzz_cstr added: the last piece ends there.
	 * More than a few pieces add nothing but time (an input of NULs
	 * would be thousands of empty pieces). */
	for (piece = s; piece <= s + size && n < 16; piece += len + 1) {
		len = strlen(piece);
		check_parse(piece);
		slashed = malloc(len + 2);
		CHECK(slashed != NULL);
		slashed[0] = '/';
		memcpy(slashed + 1, piece, len + 1);
		check_parse(slashed);
		free(slashed);
		check_name(piece);
		check_user_path(piece);
		if (n++ == 1)
			second = piece;
	}
	check_build((enum node)((size ? data[0] : 0) % N__COUNT), first,
		    second);
	free(s);
	return 0;
}

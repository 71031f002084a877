/*
 * tree: path -> node kind and identifiers, and the name encoding.
 *
 * A path is split into at most four components and matched against the
 * fixed shape of LAYOUT.md by hand: the tree is small and a table would
 * hide the few irregular places (scratch names in users/E/ and
 * users/E/properties/, the ".json" suffix in progress/). Every component
 * that stands for an identifier goes through tree_decode, which refuses
 * anything that is not the canonical encoding of some identifier; so a
 * lookup can never alias two names onto one member.
 *
 * The encoding is a bijection between non-empty identifiers and the names
 * it produces, so every name a listing shows can be looked up again: the
 * server may send an order id "." or "..", listed as "%2E" and "%2E.",
 * and those names decode back to them. That makes "." and ".." possible
 * identifiers, like ids holding '/'; keeping them out of URLs (where they
 * would be dot segments) is the job of the code that builds URLs (api.c),
 * not of the names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

/* /users/E/properties/NAME is the deepest path. */
#define TREE_DEPTH_MAX 4

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

/* A control character (C0 or DEL): written %XX, so a listing never
 * hands a terminal an escape sequence or a script a newline in a name. */
static int is_ctl(char c)
{
	return (unsigned char)c < 0x20 || (unsigned char)c == 0x7f;
}

/* 1 when the byte c is written as a %XX escape at the start (first) or
 * elsewhere in a name. */
static int escaped(char c, int first)
{
	return c == '%' || c == '/' || (first && c == '.') || is_ctl(c);
}

/* Length of the encoding of id. */
static size_t encoded_len(const char *id)
{
	size_t n = 0;
	const char *s;

	for (s = id; *s; s++)
		n += escaped(*s, s == id) ? 3 : 1;
	return n;
}

/* The value of an uppercase hex digit, or -1 (the encoder writes no
 * lowercase, and accepting it would give one id two names). */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *tree_encode(const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = encoded_len(id);
	const char *s;
	char *out, *o;

	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	for (s = id; *s; s++) {
		if (escaped(*s, s == id)) {
			*o++ = '%';
			*o++ = hex[(unsigned char)*s >> 4];
			*o++ = hex[(unsigned char)*s & 0xf];
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/*
 * Only the escapes the encoder writes are accepted, in the case it writes
 * them, and "%2E" only where it writes it (first). A raw leading '.' is
 * never produced by the encoder, so it is refused too: that is what keeps
 * the path components "." and ".." (and vim's ".name.swp") from being
 * taken for ids, while their encodings "%2E" and "%2E." are the ids "."
 * and "..". Likewise a raw control character is refused (its name is
 * %XX), and "%00" too: no identifier holds a NUL.
 */
int tree_decode(const char *name, char **out)
{
	size_t len = strlen(name), i;
	char *res, *o;

	*out = NULL;
	if (len == 0 || name[0] == '.')
		return -EINVAL;
	res = malloc(len + 1);
	if (!res)
		return -ENOMEM;
	o = res;
	for (i = 0; i < len; i++) {
		int hi, lo;
		char c;

		if (name[i] == '/' || is_ctl(name[i]))
			goto invalid;
		if (name[i] != '%') {
			*o++ = name[i];
			continue;
		}
		hi = hexval(name[i + 1]);
		lo = hi < 0 ? -1 : hexval(name[i + 2]);
		if (lo < 0)
			goto invalid;
		c = (char)(hi << 4 | lo);
		if (c == '\0' || !escaped(c, i == 0))
			goto invalid;
		*o++ = c;
		i += 2;
	}
	*o = '\0';
	*out = res;
	return 0;

invalid:
	free(res);
	return -EINVAL;
}

int tree_name_fits(const char *id, const char *suffix)
{
	size_t n = encoded_len(id) + (suffix ? strlen(suffix) : 0);

	return n <= TREE_NAME_MAX;
}

char *tree_user_path(const char *email, const char *suffix)
{
	char *enc, *path;

	enc = tree_encode(email);
	if (!enc)
		return NULL;
	if (asprintf(&path, "/users/%s%s", enc, suffix ? suffix : "") < 0)
		path = NULL;
	free(enc);
	return path;
}

/* ------------------------------------------------------------------ */
/* Node kinds                                                          */
/* ------------------------------------------------------------------ */

int tree_node_is_dir(enum node n)
{
	switch (n) {
	case N_ROOT:
	case N_OFFERS:
	case N_OFFER:
	case N_OFFER_MEMBERS:
	case N_COURSES:
	case N_COURSE:
	case N_COURSE_MEMBERS:
	case N_BY_STATUS:
	case N_STATUS_DIR:
	case N_USERS:
	case N_USER:
	case N_USER_OFFERS:
	case N_USER_ORDERS:
	case N_USER_PROPS:
	case N_USER_PROGRESS:
	case N_EXAMS:
	case N_EXAM:
	case N_META:
		return 1;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

struct name_node {
	const char *name;
	enum node node;
};

static const struct name_node root_names[] = {
	{"README", N_README},	    {"properties.json", N_PROPDEFS},
	{"offers", N_OFFERS},	    {"courses", N_COURSES},
	{"by-status", N_BY_STATUS}, {"users", N_USERS},
	{"exams", N_EXAMS},	    {".memberspot", N_META},
	{NULL, N__COUNT},
};

static const struct name_node offer_names[] = {
	{"offer.json", N_OFFER_JSON},
	{"name", N_OFFER_NAME},
	{"members", N_OFFER_MEMBERS},
	{"grant", N_OFFER_GRANT},
	{NULL, N__COUNT},
};

static const struct name_node user_names[] = {
	{"user.json", N_USER_JSON},
	{"offers", N_USER_OFFERS},
	{"orders", N_USER_ORDERS},
	{"properties", N_USER_PROPS},
	{"properties.json", N_USER_PROPS_JSON},
	{"progress.json", N_USER_PROGRESS_JSON},
	{"progress", N_USER_PROGRESS},
	{"chapters", N_USER_CHAPTERS},
	{"login-token", N_USER_LOGIN_TOKEN},
	{NULL, N__COUNT},
};

static const struct name_node exam_names[] = {
	{"results.json", N_EXAM_JSON},
	{"results.csv", N_EXAM_CSV},
	{NULL, N__COUNT},
};

static const struct name_node meta_names[] = {
	{"status", N_META_STATUS},
	{"errors", N_META_ERRORS},
	{"journal", N_META_JOURNAL},
	{"refresh", N_META_REFRESH},
	{NULL, N__COUNT},
};

/* The node a fixed name stands for, or N__COUNT. */
static enum node lookup(const struct name_node *t, const char *name)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t->node;
	return N__COUNT;
}

/* Decodes an identifier component into id[slot]. A component that is no
 * encoding names nothing: -ENOENT, not -EINVAL, as lookups expect. */
static int take_id(struct tree_path *p, int slot, const char *name)
{
	int rc = tree_decode(name, &p->id[slot]);

	return rc == -EINVAL ? -ENOENT : rc;
}

static int take_raw(struct tree_path *p, int slot, const char *name)
{
	p->id[slot] = strdup(name);
	return p->id[slot] ? 0 : -ENOMEM;
}

/* progress/C.json: the name must end in ".json" and the rest decode. */
static int take_progress(struct tree_path *p, char *name)
{
	size_t len = strlen(name);

	if (len <= 5 || strcmp(name + len - 5, ".json") != 0)
		return -ENOENT;
	name[len - 5] = '\0';
	return take_id(p, 1, name);
}

/* users/E/...: c[0] is E, already decoded; n counts the components after
 * "users". */
static int parse_user(struct tree_path *p, char **c, int n)
{
	enum node kind;
	int rc;

	if (n == 1) {
		p->node = N_USER;
		return 0;
	}
	kind = lookup(user_names, c[1]);
	if (n == 2) {
		if (kind != N__COUNT) {
			p->node = kind;
			return 0;
		}
		/* Anything else an editor may create here. */
		p->node = N_USER_SCRATCH;
		return take_raw(p, 1, c[1]);
	}
	if (n != 3)
		return -ENOENT;
	switch (kind) {
	case N_USER_OFFERS:
		p->node = N_USER_OFFER;
		return take_id(p, 1, c[2]);
	case N_USER_ORDERS:
		p->node = N_USER_ORDER;
		return take_id(p, 1, c[2]);
	case N_USER_PROGRESS:
		p->node = N_USER_PROGRESS_COURSE;
		return take_progress(p, c[2]);
	case N_USER_PROPS:
		p->node = N_USER_PROP;
		rc = tree_decode(c[2], &p->id[1]);
		if (rc != -EINVAL)
			return rc;
		p->scratch = 1;
		return take_raw(p, 1, c[2]);
	default:
		return -ENOENT;
	}
}

/* c[0] is the top-level name, n >= 1 components. */
static int parse_components(struct tree_path *p, char **c, int n)
{
	enum node top = lookup(root_names, c[0]);
	enum node kind;
	int rc;

	if (top == N__COUNT)
		return -ENOENT;
	if (n == 1) {
		p->node = top;
		return 0;
	}
	switch (top) {
	case N_OFFERS:
		rc = take_id(p, 0, c[1]);
		if (rc)
			return rc;
		if (n == 2) {
			p->node = N_OFFER;
			return 0;
		}
		kind = lookup(offer_names, c[2]);
		if (kind == N__COUNT)
			return -ENOENT;
		if (n == 3) {
			p->node = kind;
			return 0;
		}
		if (n != 4 || kind != N_OFFER_MEMBERS)
			return -ENOENT;
		p->node = N_OFFER_MEMBER;
		return take_id(p, 1, c[3]);
	case N_COURSES:
		rc = take_id(p, 0, c[1]);
		if (rc)
			return rc;
		if (n == 2) {
			p->node = N_COURSE;
			return 0;
		}
		if (strcmp(c[2], "members") != 0)
			return -ENOENT;
		if (n == 3) {
			p->node = N_COURSE_MEMBERS;
			return 0;
		}
		if (n != 4)
			return -ENOENT;
		p->node = N_COURSE_MEMBER;
		return take_id(p, 1, c[3]);
	case N_BY_STATUS:
		if (strcmp(c[1], "active") != 0 &&
		    strcmp(c[1], "inactive") != 0)
			return -ENOENT;
		rc = take_raw(p, 0, c[1]);
		if (rc)
			return rc;
		if (n == 2) {
			p->node = N_STATUS_DIR;
			return 0;
		}
		if (n != 3)
			return -ENOENT;
		p->node = N_STATUS_MEMBER;
		return take_id(p, 1, c[2]);
	case N_USERS:
		rc = take_id(p, 0, c[1]);
		if (rc)
			return rc;
		return parse_user(p, c + 1, n - 1);
	case N_EXAMS:
		rc = take_id(p, 0, c[1]);
		if (rc)
			return rc;
		if (n == 2) {
			p->node = N_EXAM;
			return 0;
		}
		kind = lookup(exam_names, c[2]);
		if (n != 3 || kind == N__COUNT)
			return -ENOENT;
		p->node = kind;
		return 0;
	case N_META:
		kind = lookup(meta_names, c[1]);
		if (n != 2 || kind == N__COUNT)
			return -ENOENT;
		p->node = kind;
		return 0;
	default:
		/* README and properties.json are files. */
		return -ENOENT;
	}
}

/*
 * FUSE hands us normalized absolute paths; anything else ("//", a trailing
 * '/', "." or ".." components) is refused rather than normalized, so that
 * one object has exactly one path (scratch files are keyed by it).
 */
int tree_parse(const char *path, struct tree_path *out)
{
	char *copy, *c[TREE_DEPTH_MAX], *s, *slash;
	int n = 0, rc;

	memset(out, 0, sizeof(*out));
	if (path[0] != '/')
		return -ENOENT;
	if (path[1] == '\0') {
		out->node = N_ROOT;
		return 0;
	}
	copy = strdup(path + 1);
	if (!copy)
		return -ENOMEM;
	for (s = copy;; s = slash + 1) {
		slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (strlen(s) > TREE_NAME_MAX) {
			rc = -ENAMETOOLONG;
			goto fail;
		}
		if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
		    n == TREE_DEPTH_MAX) {
			rc = -ENOENT;
			goto fail;
		}
		c[n++] = s;
		if (!slash)
			break;
	}
	rc = parse_components(out, c, n);
	if (rc)
		goto fail;
	free(copy);
	return 0;

fail:
	tree_path_free(out);
	free(copy);
	return rc;
}

void tree_path_free(struct tree_path *p)
{
	free(p->id[0]);
	free(p->id[1]);
	memset(p, 0, sizeof(*p));
}

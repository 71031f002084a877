/*
 * tree: path -> node kind and identifiers, and the name encoding.
 *
 * A path is split into at most four components and walked down the node
 * table (nodes.c) from the root: each component is a fixed name of a row
 * under the node reached so far, or the name pattern of one (scratch
 * names in users/E/ and users/E/properties/, the ".json" suffix in
 * progress/). Every component that stands for an identifier goes through
 * tree_decode, which refuses anything that is not the canonical encoding
 * of some identifier; so a lookup can never alias two names onto one
 * member.
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
#include "nodes.h"

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

/* ------------------------------------------------------------------ */
/* Node kinds and parsing                                              */
/* ------------------------------------------------------------------ */

int tree_node_is_dir(enum node n)
{
	return node_entry(n)->type == VIEW_DIR;
}

/* Walks the components down the node table from the root. */
static int parse_components(struct tree_path *p, char **c, int n)
{
	enum node at = N_ROOT;
	int i, rc;

	for (i = 0; i < n; i++) {
		rc = node_child(at, c[i], p, &at);
		if (rc)
			return rc;
	}
	p->node = at;
	return 0;
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

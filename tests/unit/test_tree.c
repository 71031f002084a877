/*
 * test_tree: the name encoding and the path grammar of LAYOUT.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes.h"
#include "tree.h"
#include "tap.h"

/* s with control characters as \xHH, for TAP lines (one of four
 * rotating buffers, so one message may show several). */
static const char *shown(const char *s)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ % 4], *o = b;

	if (!s)
		return "(null)";
	for (; *s && o < b + sizeof(bufs[0]) - 5; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			o += sprintf(o, "\\x%02x", (unsigned char)*s);
		else
			*o++ = *s;
	}
	*o = '\0';
	return b;
}

static void round_trip(const char *id, const char *want)
{
	char *enc = tree_encode(id), *dec = NULL;
	int rc;

	if (!ok(tap_streq(enc, want), "encode \"%s\" -> \"%s\" (got \"%s\")",
		shown(id), want, shown(enc))) {
		free(enc);
		return;
	}
	rc = tree_decode(enc, &dec);
	ok(rc == 0 && tap_streq(dec, id), "decode \"%s\" -> \"%s\"", enc,
	   shown(id));
	free(enc);
	free(dec);
}

static void refused(const char *name)
{
	char *dec = (char *)"sentinel";
	int rc = tree_decode(name, &dec);

	ok(rc == -EINVAL && dec == NULL, "decode refuses \"%s\" (rc %d)",
	   shown(name), rc);
	if (rc == 0)
		free(dec);
}

static void test_encoding(void)
{
	round_trip("alice@example.com", "alice@example.com");
	round_trip("a/b", "a%2Fb");
	round_trip("/", "%2F");
	round_trip("50%", "50%25");
	round_trip("%2F", "%252F");
	round_trip(".hidden", "%2Ehidden");
	round_trip("...", "%2E..");
	round_trip("..x", "%2E.x");
	round_trip("a..b", "a..b");
	round_trip("a.", "a.");
	round_trip("../../etc", "%2E.%2F..%2Fetc");
	round_trip("with space", "with space");
	round_trip(" lead", " lead");
	round_trip("Jürgen.Müller@beispiel.de", "Jürgen.Müller@beispiel.de");
	round_trip("日本語", "日本語");
	round_trip("%%//..", "%25%25%2F%2F..");
	/* Control characters (C0 and DEL) as %XX, uppercase. */
	round_trip("tab\there", "tab%09here");
	round_trip("new\nline", "new%0Aline");
	round_trip("\x01", "%01");
	round_trip("\x1b[31mred", "%1B[31mred");
	round_trip("del\x7f", "del%7F");
	round_trip("\r\n", "%0D%0A");
	round_trip(".\x1f", "%2E%1F");
	round_trip("\x1f.", "%1F.");
	round_trip("~\x20", "~ "); /* space and '~' are no control */
	/* "." and ".." are identifiers a server can send (order ids): their
	 * names must lead back to them. */
	round_trip(".", "%2E");
	round_trip("..", "%2E.");
	round_trip("./", "%2E%2F");
	round_trip("%2E", "%252E");
	round_trip(".%", "%2E%25");

	refused("");
	refused(".");
	refused("..");
	refused(".hidden");
	refused(".Company.swp");
	refused("%2E%2E"); /* ".." is "%2E." */
	refused(".%2E");
	refused("%2f"); /* lower case is not what the encoder writes */
	refused("a%2e");
	refused("%2e");
	refused("%41"); /* only the three escapes exist */
	refused("%20");
	refused("%2"); /* truncated */
	refused("%");
	refused("a%");
	refused("a%2Eb"); /* %2E only in front */
	refused("%25%2E");
	refused("%%25");
	/* raw control characters: their names are the %XX escapes */
	refused("tab\there");
	refused("a\nb");
	refused("\x01");
	refused("x\x7f");
	refused("%00"); /* no id holds a NUL */
	refused("%0a"); /* lower case */
	refused("%7f");
	refused("%1G");
	refused("%0");
	refused("%80"); /* not a control character */
	refused("%7E");
}

/*
 * Every string of up to 5 characters over the alphabet the encoding cares
 * about: decode(encode(id)) == id for each identifier, and each name that
 * decodes is the encoding of what it decodes to (so the encoder's names
 * are exactly the names lookups accept).
 */
static void test_round_trip_all(void)
{
	static const char alpha[] = "./%2EF5a\n0A";
	const size_t k = sizeof(alpha) - 1;
	size_t len, i, idx, total, tried = 0, decoded = 0, bad = 0;
	char s[8], *enc, *dec;
	int rc;

	for (len = 1; len <= 5; len++) {
		for (total = 1, i = 0; i < len; i++)
			total *= k;
		for (idx = 0; idx < total; idx++) {
			size_t v = idx;

			for (i = 0; i < len; i++, v /= k)
				s[i] = alpha[v % k];
			s[len] = '\0';
			tried++;
			enc = tree_encode(s);
			rc = enc ? tree_decode(enc, &dec) : -ENOMEM;
			if (rc || strcmp(dec, s)) {
				if (bad++ < 5)
					diag("id \"%s\" -> \"%s\" does not "
					     "decode back",
					     shown(s), shown(enc));
			}
			if (!rc)
				free(dec);
			free(enc);
			if (strchr(s, '/'))
				continue;
			if (tree_decode(s, &dec))
				continue;
			decoded++;
			enc = tree_encode(dec);
			if (!enc || strcmp(enc, s)) {
				if (bad++ < 5)
					diag("name \"%s\" decodes to \"%s\", "
					     "which encodes to \"%s\"",
					     shown(s), shown(dec), shown(enc));
			}
			free(enc);
			free(dec);
		}
	}
	ok(bad == 0 && decoded > 0,
	   "%zu strings: every id round-trips; %zu names decode and each is "
	   "the encoding of its id",
	   tried, decoded);
}

static void test_name_fits(void)
{
	char id[300];

	memset(id, 'a', sizeof(id));
	id[255] = '\0';
	ok(tree_name_fits(id, NULL), "a 255-byte name fits");
	ok(!tree_name_fits(id, ".json"), "... not with \".json\" after it");
	id[250] = '\0';
	ok(tree_name_fits(id, ".json"), "250 bytes and \".json\" fit");
	id[250] = 'a';
	id[0] = '.';
	id[253] = '\0';
	ok(tree_name_fits(id, NULL), "a leading '.' counts 3 bytes: 255");
	id[253] = 'a';
	id[254] = '\0';
	ok(!tree_name_fits(id, NULL), "... 256 does not fit");
	memset(id, '%', 86);
	id[85] = '\0';
	ok(tree_name_fits(id, NULL), "85 '%%' are 255 bytes encoded: fits");
	id[85] = '%';
	id[86] = '\0';
	ok(!tree_name_fits(id, NULL), "86 '%%' are 258 bytes encoded: no name");
	memset(id, '\n', 86);
	id[85] = '\0';
	ok(tree_name_fits(id, NULL), "85 newlines are 255 bytes encoded: fits");
	id[85] = '\x7f';
	id[86] = '\0';
	ok(!tree_name_fits(id, NULL), "85 newlines and a DEL: no name");
}

struct want {
	const char *path;
	int rc;
	enum node node;
	const char *id0, *id1;
	int scratch;
};

static const struct want wants[] = {
	{"/", 0, N_ROOT, NULL, NULL, 0},
	{"/README", 0, N_README, NULL, NULL, 0},
	{"/properties.json", 0, N_PROPDEFS, NULL, NULL, 0},
	{"/users.jsonl", 0, N_USERS_JSONL, NULL, NULL, 0},
	{"/users.csv", 0, N_USERS_CSV, NULL, NULL, 0},
	{"/offers", 0, N_OFFERS, NULL, NULL, 0},
	{"/offers/o1", 0, N_OFFER, "o1", NULL, 0},
	{"/offers/o%2F1", 0, N_OFFER, "o/1", NULL, 0},
	{"/offers/o1/offer.json", 0, N_OFFER_JSON, "o1", NULL, 0},
	{"/offers/o1/name", 0, N_OFFER_NAME, "o1", NULL, 0},
	{"/offers/o1/members", 0, N_OFFER_MEMBERS, "o1", NULL, 0},
	{"/offers/o1/members/a@b.c", 0, N_OFFER_MEMBER, "o1", "a@b.c", 0},
	{"/offers/o1/grant", 0, N_OFFER_GRANT, "o1", NULL, 0},
	{"/offers/o1/members.csv", 0, N_OFFER_MEMBERS_CSV, "o1", NULL, 0},
	{"/courses", 0, N_COURSES, NULL, NULL, 0},
	{"/courses/c1", 0, N_COURSE, "c1", NULL, 0},
	{"/courses/c1/members", 0, N_COURSE_MEMBERS, "c1", NULL, 0},
	{"/courses/c1/members/a@b.c", 0, N_COURSE_MEMBER, "c1", "a@b.c", 0},
	{"/by-status", 0, N_BY_STATUS, NULL, NULL, 0},
	{"/by-status/active", 0, N_STATUS_DIR, "active", NULL, 0},
	{"/by-status/inactive", 0, N_STATUS_DIR, "inactive", NULL, 0},
	{"/by-status/active/a@b.c", 0, N_STATUS_MEMBER, "active", "a@b.c", 0},
	{"/by-status/inactive/x%25y", 0, N_STATUS_MEMBER, "inactive", "x%y", 0},
	{"/users", 0, N_USERS, NULL, NULL, 0},
	{"/users/a@b.c", 0, N_USER, "a@b.c", NULL, 0},
	{"/users/%2Ea@b.c", 0, N_USER, ".a@b.c", NULL, 0},
	{"/users/a@b.c/user.json", 0, N_USER_JSON, "a@b.c", NULL, 0},
	{"/users/a@b.c/offers", 0, N_USER_OFFERS, "a@b.c", NULL, 0},
	{"/users/a@b.c/offers/o1", 0, N_USER_OFFER, "a@b.c", "o1", 0},
	{"/users/a@b.c/orders", 0, N_USER_ORDERS, "a@b.c", NULL, 0},
	{"/users/a@b.c/orders/r1", 0, N_USER_ORDER, "a@b.c", "r1", 0},
	/* Listed names of the ids "." and ".." look them up again. */
	{"/users/a@b.c/orders/%2E", 0, N_USER_ORDER, "a@b.c", ".", 0},
	{"/users/a@b.c/orders/%2E.", 0, N_USER_ORDER, "a@b.c", "..", 0},
	{"/users/a@b.c/offers/%2E.", 0, N_USER_OFFER, "a@b.c", "..", 0},
	{"/users/a@b.c/progress/%2E.json", 0, N_USER_PROGRESS_COURSE, "a@b.c",
	 ".", 0},
	{"/users/%2E./user.json", 0, N_USER_JSON, "..", NULL, 0},
	{"/offers/%2E/members/%2E.", 0, N_OFFER_MEMBER, ".", "..", 0},
	{"/users/a@b.c/properties/%2E", 0, N_USER_PROP, "a@b.c", ".", 0},
	{"/users/a@b.c/properties", 0, N_USER_PROPS, "a@b.c", NULL, 0},
	{"/users/a@b.c/properties/Company", 0, N_USER_PROP, "a@b.c", "Company",
	 0},
	{"/users/a@b.c/properties/Company~", 0, N_USER_PROP, "a@b.c",
	 "Company~", 0},
	{"/users/a@b.c/properties/a%2Fb", 0, N_USER_PROP, "a@b.c", "a/b", 0},
	{"/users/a@b.c/properties/.Company.swp", 0, N_USER_PROP, "a@b.c",
	 ".Company.swp", 1},
	{"/users/a@b.c/properties/4913%", 0, N_USER_PROP, "a@b.c", "4913%", 1},
	{"/users/a@b.c/properties.json", 0, N_USER_PROPS_JSON, "a@b.c", NULL,
	 0},
	{"/users/a@b.c/progress.json", 0, N_USER_PROGRESS_JSON, "a@b.c", NULL,
	 0},
	{"/users/a@b.c/progress", 0, N_USER_PROGRESS, "a@b.c", NULL, 0},
	{"/users/a@b.c/progress/c1.json", 0, N_USER_PROGRESS_COURSE, "a@b.c",
	 "c1", 0},
	{"/users/a@b.c/progress/c%2F1.json.json", 0, N_USER_PROGRESS_COURSE,
	 "a@b.c", "c/1.json", 0},
	{"/users/a@b.c/chapters", 0, N_USER_CHAPTERS, "a@b.c", NULL, 0},
	{"/users/a@b.c/login-token", 0, N_USER_LOGIN_TOKEN, "a@b.c", NULL, 0},
	{"/users/a@b.c/.user.json.swp", 0, N_USER_SCRATCH, "a@b.c",
	 ".user.json.swp", 0},
	{"/users/a@b.c/user.json~", 0, N_USER_SCRATCH, "a@b.c", "user.json~",
	 0},
	{"/users/a@b.c/4913", 0, N_USER_SCRATCH, "a@b.c", "4913", 0},
	{"/users/a@b.c/%41", 0, N_USER_SCRATCH, "a@b.c", "%41", 0},
	/* Control characters: listed as %XX, looked up by it; a raw one
	 * is no id (but may be an editor's name where those are made). */
	{"/users/a%0Ab@x/orders/r%01", 0, N_USER_ORDER, "a\nb@x", "r\x01", 0},
	{"/offers/%1B[0m/name", 0, N_OFFER_NAME, "\x1b[0m", NULL, 0},
	{"/users/a@b.c/properties/Co%7F", 0, N_USER_PROP, "a@b.c", "Co\x7f", 0},
	{"/users/a@b.c/properties/Co\x7f", 0, N_USER_PROP, "a@b.c", "Co\x7f",
	 1},
	{"/users/a@b.c/.\x01x~", 0, N_USER_SCRATCH, "a@b.c", ".\x01x~", 0},
	{"/exams", 0, N_EXAMS, NULL, NULL, 0},
	{"/exams/x1", 0, N_EXAM, "x1", NULL, 0},
	{"/exams/x1/results.json", 0, N_EXAM_JSON, "x1", NULL, 0},
	{"/exams/x1/results.csv", 0, N_EXAM_CSV, "x1", NULL, 0},
	{"/.memberspot", 0, N_META, NULL, NULL, 0},
	{"/.memberspot/status", 0, N_META_STATUS, NULL, NULL, 0},
	{"/.memberspot/errors", 0, N_META_ERRORS, NULL, NULL, 0},
	{"/.memberspot/journal", 0, N_META_JOURNAL, NULL, NULL, 0},
	{"/.memberspot/refresh", 0, N_META_REFRESH, NULL, NULL, 0},

	/* Names nothing. */
	{"", -ENOENT, 0, NULL, NULL, 0},
	{"users", -ENOENT, 0, NULL, NULL, 0},
	{"/nope", -ENOENT, 0, NULL, NULL, 0},
	{"/README/x", -ENOENT, 0, NULL, NULL, 0},
	{"/properties.json/x", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/.o1", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/%2f", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/o1/other", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/o1/name/x", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/o1/members/a/b", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/o1/members/%2E%2E", -ENOENT, 0, NULL, NULL, 0},
	{"/courses/c1/other", -ENOENT, 0, NULL, NULL, 0},
	{"/by-status/maybe", -ENOENT, 0, NULL, NULL, 0},
	{"/by-status/active/a/b", -ENOENT, 0, NULL, NULL, 0},
	{"/users/.swp", -ENOENT, 0, NULL, NULL, 0},
	{"/users/%2E%2E", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/orders/%2E%2E", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/offers/%41", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/orders/.r", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/progress/c1", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/progress/.json", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/progress/%2f.json", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/user.json/x", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/scratch/x", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/properties/a/b", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a\nb@x", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/orders/r\x01", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/\x1b[0m", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/%00", -ENOENT, 0, NULL, NULL, 0},
	{"/offers/%0a", -ENOENT, 0, NULL, NULL, 0},
	{"/exams/x1/other", -ENOENT, 0, NULL, NULL, 0},
	{"/.memberspot/other", -ENOENT, 0, NULL, NULL, 0},
	{"/.memberspot/status/x", -ENOENT, 0, NULL, NULL, 0},
	/* Not normalized, so refused. */
	{"//", -ENOENT, 0, NULL, NULL, 0},
	{"/users/", -ENOENT, 0, NULL, NULL, 0},
	{"/users//a@b.c", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/.", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/..", -ENOENT, 0, NULL, NULL, 0},
	{"/users/a@b.c/properties/..", -ENOENT, 0, NULL, NULL, 0},
};

static void test_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		const struct want *w = &wants[i];
		struct tree_path p;
		int rc = tree_parse(w->path, &p);
		int good;

		if (w->rc) {
			ok(rc == w->rc && p.id[0] == NULL && p.id[1] == NULL,
			   "\"%s\" -> %d (got %d)", shown(w->path), w->rc, rc);
			continue;
		}
		good = rc == 0 && p.node == w->node &&
		       (w->id0 ? tap_streq(p.id[0], w->id0) : !p.id[0]) &&
		       (w->id1 ? tap_streq(p.id[1], w->id1) : !p.id[1]) &&
		       p.scratch == w->scratch;
		ok(good, "\"%s\" -> node %d [%s] [%s] scratch %d",
		   shown(w->path), w->node, w->id0 ? shown(w->id0) : "",
		   w->id1 ? shown(w->id1) : "", w->scratch);
		if (!good)
			diag("got rc %d node %d [%s] [%s] scratch %d", rc,
			     p.node, shown(p.id[0]), shown(p.id[1]), p.scratch);
		tree_path_free(&p);
	}
}

static void test_long_names(void)
{
	char name[300], path[700];
	struct tree_path p;
	int rc;

	memset(name, 'a', sizeof(name));
	name[255] = '\0';
	snprintf(path, sizeof(path), "/users/%s", name);
	rc = tree_parse(path, &p);
	ok(rc == 0 && p.node == N_USER, "255-byte name is fine");
	tree_path_free(&p);

	name[255] = 'a';
	name[256] = '\0';
	snprintf(path, sizeof(path), "/users/%s", name);
	ok(tree_parse(path, &p) == -ENAMETOOLONG, "256-byte user name");
	snprintf(path, sizeof(path), "/users/a@b.c/%s", name);
	ok(tree_parse(path, &p) == -ENAMETOOLONG, "256-byte scratch name");
	snprintf(path, sizeof(path), "/users/a@b.c/properties/%s", name);
	ok(tree_parse(path, &p) == -ENAMETOOLONG, "256-byte property name");
	snprintf(path, sizeof(path), "/%s", name);
	ok(tree_parse(path, &p) == -ENAMETOOLONG, "256-byte top-level name");
	ok(p.id[0] == NULL && p.id[1] == NULL, "nothing left allocated");
}

static void test_is_dir(void)
{
	static const enum node dirs[] = {
		N_ROOT,	       N_OFFERS,     N_OFFER,	       N_OFFER_MEMBERS,
		N_COURSES,     N_COURSE,     N_COURSE_MEMBERS, N_BY_STATUS,
		N_STATUS_DIR,  N_USERS,	     N_USER,	       N_USER_OFFERS,
		N_USER_ORDERS, N_USER_PROPS, N_USER_PROGRESS,  N_EXAMS,
		N_EXAM,	       N_META,
	};
	int n, want, bad = 0;
	size_t i;

	for (n = 0; n < N__COUNT; n++) {
		want = 0;
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			if (dirs[i] == (enum node)n)
				want = 1;
		if (tree_node_is_dir((enum node)n) != want) {
			diag("node %d: is_dir %d", n, !want);
			bad++;
		}
	}
	ok(bad == 0, "tree_node_is_dir knows every directory");
}

static void test_node_path(void)
{
	static const struct {
		enum node n;
		const char *id0, *id1, *want;
	} cases[] = {
		{N_USER_JSON, "a@b.c", NULL, "/users/a@b.c/user.json"},
		{N_USER, ".x/y%", NULL, "/users/%2Ex%2Fy%25"},
		{N_OFFER_MEMBER, "o/1", "a@b.c", "/offers/o%2F1/members/a@b.c"},
		{N_STATUS_DIR, "inactive", NULL, "/by-status/inactive"},
		{N_USER_PROGRESS_COURSE, "a@b.c", "c.1",
		 "/users/a@b.c/progress/c.1.json"},
		{N_ROOT, NULL, NULL, "/"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = node_path(cases[i].n, cases[i].id0, cases[i].id1);

		ok(tap_streq(p, cases[i].want), "node_path: %s", cases[i].want);
		free(p);
	}
}

/* Every node's path, built from the table, parses back to that node with
 * the same identifiers. */
static void test_path_round_trip(void)
{
	struct tree_path tp;
	int n, bad = 0;

	for (n = 0; n < N__COUNT; n++) {
		const char *id0 = n == N_STATUS_DIR || n == N_STATUS_MEMBER
					  ? "active"
					  : "i/0";
		char *path = node_path((enum node)n, id0, "%1");
		int rc = path ? tree_parse(path, &tp) : -ENOMEM;

		if (rc || tp.node != (enum node)n ||
		    (tp.id[0] && strcmp(tp.id[0], id0)) ||
		    (tp.id[1] && n != N_USER_SCRATCH &&
		     strcmp(tp.id[1], "%1"))) {
			diag("node %d: %s parses to %d (rc %d)", n,
			     path ? path : "(null)", rc ? -1 : (int)tp.node,
			     rc);
			bad++;
		}
		if (!rc)
			tree_path_free(&tp);
		free(path);
	}
	ok(bad == 0, "every node's path parses back to it");
}

int main(void)
{
	test_encoding();
	test_round_trip_all();
	test_name_fits();
	test_parse();
	test_long_names();
	test_is_dir();
	test_node_path();
	test_path_round_trip();
	return done_testing();
}

/*
 * test_nodes: the node table against what users are told about the tree.
 * The in-mount README (node_readme) and README.md's tour must show the
 * names the table lists, and the unlisted names as unlisted; the table's
 * own invariants (one name pattern per directory, parents that are
 * directories, writes only where something applies them) hold too.
 * Argument: the path of README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes.h"
#include "tap.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else if (data) {
			data[n] = '\0';
		}
	}
	fclose(f);
	return data;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct names {
	const char *v[16];
	int n;
};

static int collect(void *arg, const char *name, enum view_type t)
{
	struct names *ns = arg;

	(void)t;
	if (name[0] != '.' && ns->n < 16)
		ns->v[ns->n++] = name;
	return 0;
}

/* What `ls` (no -a, C collation) shows of the fixed names of dir. */
static void ls_line(enum node dir, char *out, size_t size)
{
	struct names ns = {{0}, 0};
	int i;

	node_each_listed(dir, 0, collect, &ns);
	qsort(ns.v, (size_t)ns.n, sizeof(ns.v[0]), cmp_str);
	out[0] = '\0';
	for (i = 0; i < ns.n; i++) {
		if (i)
			strncat(out, "  ", size - strlen(out) - 1);
		strncat(out, ns.v[i], size - strlen(out) - 1);
	}
}

/* The line after the first line of text that starts with cmd. */
static int shown_after(const char *text, const char *cmd, const char *want)
{
	const char *at = strstr(text, cmd), *nl;

	if (!at)
		return 0;
	nl = strchr(at, '\n');
	return nl && strncmp(nl + 1, want, strlen(want)) == 0 &&
	       nl[1 + strlen(want)] == '\n';
}

static void test_readme_md(const char *path)
{
	char *md = slurp(path), line[256];
	const struct node_entry *e;
	const char *para;
	char quoted[64];
	int n, bad = 0;

	if (!ok(md != NULL, "README.md read from %s", path))
		return;
	ls_line(N_ROOT, line, sizeof(line));
	ok(shown_after(md, "$ ls\n", line), "README.md's ls shows: %s", line);
	ls_line(N_USER, line, sizeof(line));
	ok(shown_after(md, "$ ls users/anna+test@example.com  ", line),
	   "README.md's ls users/E shows: %s", line);
	para = strstr(md, "Browsing has no side effects");
	for (n = 0; para && n < N__COUNT; n++) {
		e = node_entry((enum node)n);
		if (e->parent != N_USER || e->how != NAME_FIXED ||
		    (e->flags & NODE_LISTED))
			continue;
		snprintf(quoted, sizeof(quoted), "`%s%s`", e->name,
			 e->type == VIEW_DIR ? "/" : "");
		if (!strstr(para, quoted) ||
		    strstr(para, quoted) > strstr(para, "readdir")) {
			diag("%s not named as unlisted", quoted);
			bad++;
		}
	}
	ok(para && bad == 0, "README.md names every unlisted file");
	free(md);
}

/* The line of text holding s (copied into line), or 0. */
static int line_of(const char *text, const char *s, char *line, size_t size)
{
	const char *at = strstr(text, s), *start, *end;

	if (!at)
		return 0;
	for (start = at; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(at, '\n');
	snprintf(line, size, "%.*s",
		 (int)(end ? end - start : (long)strlen(start)), start);
	return 1;
}

static void test_mount_readme(void)
{
	const struct node_entry *e;
	char line[256], *name;
	const char *at;
	int n, bad = 0, starred = 0;

	for (n = N_ROOT + 1; n < N__COUNT; n++) {
		e = node_entry((enum node)n);
		if (n == N_README || e->how != NAME_FIXED)
			continue;
		if (!line_of(node_readme, e->name, line, sizeof(line))) {
			diag("%s: not in the README", e->name);
			bad++;
		} else if (e->parent == N_USER && !(e->flags & NODE_LISTED) &&
			   !strstr(line, "(*)")) {
			diag("%s: unlisted, but not marked (*)", e->name);
			bad++;
		}
		if (e->write == VW_CONTROL &&
		    (!line_of(node_readme, "only take writes", line,
			      sizeof(line)) ||
		     !strstr(line, e->name))) {
			diag("%s: a control file the README does not name",
			     e->name);
			bad++;
		}
	}
	ok(bad == 0, "the README inside the mount names every fixed name");
	/* And what it marks (*) in users/EMAIL/ is unlisted indeed. */
	bad = 0;
	for (at = node_readme; (at = strstr(at, "users/EMAIL/")); at++) {
		enum node child;
		struct tree_path tp = {0};
		size_t len;

		if (!line_of(at, "users/EMAIL/", line, sizeof(line)) ||
		    !strstr(line, "(*)"))
			continue;
		name = strstr(line, "users/EMAIL/") + strlen("users/EMAIL/");
		len = strcspn(name, " ");
		name[len] = '\0';
		starred++;
		if (node_child(N_USER, name, &tp, &child) ||
		    (node_entry(child)->flags & NODE_LISTED)) {
			diag("%s: marked (*) but listed", name);
			bad++;
		}
		tree_path_free(&tp);
	}
	ok(starred >= 2 && bad == 0, "what the README marks (*) is unlisted");
}

static void test_invariants(void)
{
	const struct node_entry *e;
	int n, m, bad = 0;

	for (n = N_ROOT + 1; n < N__COUNT; n++) {
		e = node_entry((enum node)n);
		if (node_entry(e->parent)->type != VIEW_DIR) {
			diag("node %d: parent is no directory", n);
			bad++;
		}
		if (e->type == VIEW_FILE && e->write != VW_SCRATCH &&
		    !e->render) {
			diag("node %d: a file with no content", n);
			bad++;
		}
		if ((e->write == VW_CONTROL) != (e->line != NULL) ||
		    ((e->write == VW_VALUE || e->write == VW_JSON) &&
		     !e->apply)) {
			diag("node %d: writes with nothing to apply them", n);
			bad++;
		}
		for (m = n + 1; m < N__COUNT; m++)
			if (node_entry((enum node)m)->parent == e->parent &&
			    e->how != NAME_FIXED &&
			    node_entry((enum node)m)->how != NAME_FIXED) {
				diag("nodes %d, %d: two patterns in one "
				     "directory",
				     n, m);
				bad++;
			}
	}
	ok(bad == 0, "the table is consistent");
}

int main(int argc, char **argv)
{
	test_invariants();
	test_mount_readme();
	test_readme_md(argc > 1 ? argv[1] : "README.md");
	return done_testing();
}

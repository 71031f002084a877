/* Unit tests for openfile.c without a mount or an API: the views/edits
 * calls are stubs over a small table of files, recording what would have
 * been sent. Covers control-file streaming, when a write is complete,
 * O_TRUNC, O_APPEND, bases, rename-over saves, vim's backup copy, unlink
 * then create, created files (and under dry_run), read-only mounts,
 * streamed files (pieces, seeks, memory held). */
#include "openfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bases.h"
#include "mtimes.h"
#include "scratch.h"
#include "tap.h"

#define USER "/users/a@b.c"
#define COMPANY USER "/properties/Company"
#define PROPS USER "/properties.json"
#define GRANT "/offers/O1/grant"
#define REFRESH "/.memberspot/refresh"
#define OFFER USER "/offers/O9"
#define JSONL "/users.jsonl"

/* The files the stubs know: path, how it takes writes, its content. */
static struct file {
	const char *path;
	enum view_write write;
	char content[64];
} files[] = {
	{COMPANY, VW_VALUE, "Acme\n"},
	{PROPS, VW_JSON, "{\"Company\": \"Acme\"}\n"},
	{GRANT, VW_CONTROL, ""},
	{REFRESH, VW_CONTROL, ""},
	{USER, VW_NONE, ""},
	{JSONL, VW_NONE, ""},
};

/* What the stubs were asked to do. */
static struct {
	struct scratch *scratch;
	int applies, creates, line_calls, invalidations;
	char applied[128], applied_base[128], lines[256];
	char invalidated[1024]; /* every path forgotten, one a line */
	int had_base;
	int apply_result, create_result, fail_lines;
	/* Streams: opens, pieces asked for, the most bytes the handle held
	 * when a piece was asked for, and a piece to fail (1 = the first). */
	int stream_opens, stream_pieces, stream_fail_at;
	size_t stream_held;
} sent;

static const struct file *file_of(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(files[i].path, path))
			return &files[i];
	return NULL;
}

static int stub_stat(struct school *s, const char *path,
		     const struct tree_path *p, struct view_attr *a)
{
	const struct file *f = file_of(path);
	size_t size;

	(void)s;
	(void)p;
	memset(a, 0, sizeof(*a));
	a->type = VIEW_FILE;
	if (scratch_stat(sent.scratch, path, &size, &a->mode)) {
		a->write = VW_SCRATCH;
		a->size = size;
		return 0;
	}
	if (!f)
		return -ENOENT;
	a->type = f->write == VW_NONE && strcmp(path, JSONL) ? VIEW_DIR
							     : VIEW_FILE;
	a->mode = f->write == VW_CONTROL ? 0200 : 0600;
	a->write = f->write;
	a->size = strlen(f->content);
	return 0;
}

static int stub_render(struct school *s, const struct tree_path *p,
		       struct buf *out)
{
	size_t i;

	(void)s;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct tree_path fp;
		int same;

		if (tree_parse(files[i].path, &fp))
			continue;
		same = fp.node == p->node;
		tree_path_free(&fp);
		if (same)
			return buf_puts(out, files[i].content);
	}
	return -ENOENT;
}

static int stub_apply(struct school *s, const char *path,
		      const struct tree_path *p, const char *data, size_t len,
		      const struct edit_base *base)
{
	(void)s;
	(void)p;
	sent.applies++;
	snprintf(sent.applied, sizeof(sent.applied), "%s=%.*s", path, (int)len,
		 data);
	sent.had_base = base != NULL;
	snprintf(sent.applied_base, sizeof(sent.applied_base), "%.*s",
		 base ? (int)base->len : 0, base ? base->data : "");
	return sent.apply_result;
}

static int stub_apply_create(struct school *s, const char *path,
			     const struct tree_path *p, const char *data,
			     size_t len)
{
	(void)s;
	(void)path;
	(void)p;
	(void)data;
	(void)len;
	sent.creates++;
	return sent.create_result;
}

/* Runs each line: all fail when fail_lines is set. */
static int stub_lines(struct school *s, const char *path,
		      const struct tree_path *p, const char *data, size_t len,
		      struct edit_lines *res)
{
	const char *nl;

	(void)s;
	(void)path;
	(void)p;
	sent.line_calls++;
	strncat(sent.lines, data,
		len < sizeof(sent.lines) - strlen(sent.lines) - 1
			? len
			: sizeof(sent.lines) - strlen(sent.lines) - 1);
	for (; len; len -= (size_t)(nl - data) + 1, data = nl + 1) {
		nl = memchr(data, '\n', len);
		if (!nl)
			nl = data + len - 1;
		res->lines++;
		res->done++;
		res->failed += sent.fail_lines;
	}
	return sent.fail_lines ? -EINVAL : 0;
}

static int stub_create(struct school *s, const struct tree_path *p)
{
	(void)s;
	return p->node == N_USER_OFFER ? 0 : -EPERM;
}

static int stub_ok(struct school *s, const struct tree_path *p)
{
	(void)s;
	(void)p;
	return 0;
}

/* The streamed file: STREAM_LINES lines "line 000000\n" (12 bytes). */
#define STREAM_LINES 20000
#define STREAM_LINE 12
struct view_stream {
	int next; /* the next line */
};

static int stub_stream_open(struct school *s, const struct tree_path *p,
			    struct view_stream **out)
{
	(void)s;
	*out = NULL;
	if (p->node != N_USERS_JSONL)
		return 0;
	*out = calloc(1, sizeof(**out));
	sent.stream_opens++;
	return *out ? 0 : -ENOMEM;
}

static int stub_stream_next(struct view_stream *st, size_t want,
			    struct buf *out, int *end)
{
	size_t start = out->len;

	if (++sent.stream_pieces == sent.stream_fail_at)
		return -EIO;
	while (st->next < STREAM_LINES && out->len - start < want)
		if (buf_printf(out, "line %06d\n", st->next++))
			return -ENOMEM;
	*end = st->next == STREAM_LINES;
	if (out->len > sent.stream_held)
		sent.stream_held = out->len;
	return 0;
}

static void stub_stream_free(struct view_stream *st)
{
	free(st);
}

static const struct openfile_ops stubs = {
	.stat = stub_stat,
	.render = stub_render,
	.apply = stub_apply,
	.apply_create = stub_apply_create,
	.lines = stub_lines,
	.check_partial = edit_check_partial,
	.create = stub_create,
	.unlink = stub_ok,
	.mkdir = stub_ok,
	.rmdir = stub_ok,
	.stream_open = stub_stream_open,
	.stream_next = stub_stream_next,
	.stream_free = stub_stream_free,
};

static void stub_invalidate(void *arg, const char *path)
{
	(void)arg;
	size_t n = strlen(sent.invalidated);

	sent.invalidations++;
	snprintf(sent.invalidated + n, sizeof(sent.invalidated) - n, "%s\n",
		 path);
}

/* Whether the kernel was told to forget path. */
static int forgot(const char *path)
{
	const char *p = sent.invalidated;
	size_t n = strlen(path);

	for (; (p = strstr(p, path)); p += n)
		if ((p == sent.invalidated || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static struct openfiles *files_new(int readonly, int dry_run)
{
	struct openfile_env env = {
		.ops = &stubs,
		.scratch = scratch_new(),
		.bases = bases_new(),
		.readonly = readonly,
		.dry_run = dry_run,
		.invalidate = stub_invalidate,
	};
	struct scratch *keep = sent.scratch;

	memset(&sent, 0, sizeof(sent));
	sent.scratch = env.scratch;
	scratch_free(keep);
	return openfiles_new(&env);
}

static void files_free(struct openfiles *fs)
{
	bases_free(openfiles_env(fs)->bases);
	openfiles_free(fs);
}

static long put(struct openfile *h, const char *path, const char *s)
{
	return openfile_write(h, path, s, strlen(s), 0);
}

/* Appends s at off. */
static long put_at(struct openfile *h, const char *path, const char *s,
		   off_t off)
{
	return openfile_write(h, path, s, strlen(s), off);
}

static void test_control_streaming(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;
	struct view_attr a;
	char out[8];

	ok(openfile_open(fs, GRANT, O_WRONLY, getpid(), &h) == 0, "open grant");
	ok(put(h, GRANT, "a@b.c") == 5 && sent.line_calls == 0,
	   "an unfinished line waits");
	ok(put_at(h, GRANT, "\nx@y.z\nhal", 5) == 10 && sent.line_calls == 1 &&
		   !strcmp(sent.lines, "a@b.c\nx@y.z\n"),
	   "complete lines run as they arrive");
	ok(sent.invalidations == 1, "and the kernel forgets the file");
	ok(openfile_stat(fs, h, GRANT, &a) == 0 && a.size == 0,
	   "the unfinished line is not the file's size");
	ok(openfile_read(h, GRANT, out, sizeof(out), 0, getpid()) == 0,
	   "a control file reads empty");
	ok(openfile_flush(h) == 0 && sent.line_calls == 2 &&
		   !strcmp(sent.lines, "a@b.c\nx@y.z\nhal"),
	   "close runs the unfinished last line");
	ok(openfile_flush(h) == 0 && sent.line_calls == 2,
	   "a second close sends nothing");
	openfile_release(h);
	files_free(fs);
}

static void test_control_long_line(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;
	char *big = malloc(70 * 1024);

	memset(big, 'x', 70 * 1024 - 1);
	big[70 * 1024 - 1] = '\0';
	openfile_open(fs, GRANT, O_WRONLY, getpid(), &h);
	ok(put(h, GRANT, big) == -EINVAL && sent.line_calls == 0,
	   "a line over 64 KiB is refused");
	ok(put(h, GRANT, "tail\nnext\n") == 10 && !strcmp(sent.lines, "next\n"),
	   "its tail is skipped, the next line runs");
	ok(openfile_flush(h) == 0, "close has nothing more to report");
	openfile_release(h);
	free(big);
	files_free(fs);
}

static void test_control_failed_write(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;

	openfile_open(fs, GRANT, O_WRONLY, getpid(), &h);
	sent.fail_lines = 1;
	ok(put(h, GRANT, "bad\npart") == -EINVAL,
	   "a write all of whose lines fail fails");
	sent.fail_lines = 0;
	ok(put(h, GRANT, "rest\nok\n") == 8 && !strcmp(sent.lines, "bad\nok\n"),
	   "the rest of its cut line is skipped");
	ok(openfile_flush(h) == -EINVAL && openfile_flush(h) == 0,
	   "close reports the failure once");
	openfile_release(h);
	files_free(fs);
}

static void test_json_complete(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;

	openfile_open(fs, PROPS, O_WRONLY | O_TRUNC, getpid(), &h);
	ok(openfile_flush(h) == 0 && sent.applies == 0,
	   "O_TRUNC: a flush before any write sends nothing");
	ok(put(h, PROPS, "{\"A\": ") == 6 && sent.applies == 0,
	   "half an object waits");
	ok(put_at(h, PROPS, "1}\n", 6) == 3 && sent.applies == 1 &&
		   !strcmp(sent.applied, PROPS "={\"A\": 1}\n"),
	   "the write that completes the object applies it");
	ok(openfile_flush(h) == 0 && sent.applies == 1,
	   "close does not send it again");
	openfile_release(h);
	ok(sent.applies == 1, "nor does release");

	openfile_open(fs, PROPS, O_WRONLY | O_TRUNC, getpid(), &h);
	ok(put(h, PROPS, "[1]\n") == 4 && sent.applies == 1,
	   "a JSON array is no complete properties.json");
	ok(openfile_flush(h) == 0 && sent.applies == 2 &&
		   !strcmp(sent.applied, PROPS "=[1]\n"),
	   "close applies it (and edits judge it)");
	openfile_release(h);
	files_free(fs);
}

static void test_value_writes(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;

	openfile_open(fs, COMPANY, O_WRONLY | O_TRUNC, getpid(), &h);
	sent.apply_result = -ESTALE;
	ok(put(h, COMPANY, "Beta\n") == -ESTALE && sent.applies == 1,
	   "a value is complete at its newline: refused at write()");
	ok(openfile_flush(h) == -ESTALE && openfile_flush(h) == 0,
	   "and again, once, at close");
	openfile_release(h);
	sent.apply_result = 0;

	openfile_open(fs, COMPANY, O_WRONLY | O_TRUNC, getpid(), &h);
	ok(put(h, COMPANY, "a\nb") == -EINVAL && sent.applies == 1,
	   "a second line is refused before anything is sent");
	ok(put_at(h, COMPANY, "c", 3) == -EINVAL, "and so is whatever follows");
	ok(openfile_flush(h) == -EINVAL && sent.applies == 1,
	   "close reports it; nothing was sent");
	openfile_release(h);

	openfile_open(fs, COMPANY, O_WRONLY | O_TRUNC, getpid(), &h);
	ok(openfile_flush(h) == 0 && sent.applies == 1,
	   "`: > f`: the flush sends nothing");
	openfile_release(h);
	ok(sent.applies == 2 && !strcmp(sent.applied, COMPANY "="),
	   "release applies the emptied file");

	openfile_open(fs, PROPS, O_WRONLY | O_APPEND, getpid(), &h);
	ok(put(h, PROPS, "x") == 1 && openfile_flush(h) == 0 &&
		   !strcmp(sent.applied, PROPS "={\"Company\": \"Acme\"}\nx"),
	   "O_APPEND writes after the content");
	openfile_release(h);
	files_free(fs);
}

static void test_bases(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;
	char out[16];

	openfile_open(fs, COMPANY, O_RDWR, getpid(), &h);
	ok(openfile_read(h, COMPANY, out, sizeof(out), 0, getpid()) == 5,
	   "read the value");
	ok(put(h, COMPANY, "Beta\n") == 5 && sent.had_base &&
		   !strcmp(sent.applied_base, "Acme\n"),
	   "its save is judged against what it read");
	openfile_release(h);

	openfile_open(fs, COMPANY, O_WRONLY | O_TRUNC, getpid() + 1, &h);
	put(h, COMPANY, "Gamma\n");
	ok(sent.applies == 2 && !sent.had_base,
	   "another process that read nothing saves without a base");
	openfile_release(h);
	ok(openfile_truncate(fs, NULL, COMPANY, 2, getpid()) == 0 &&
		   !strcmp(sent.applied, COMPANY "=Ac") && sent.had_base &&
		   !strcmp(sent.applied_base, "Beta\n"),
	   "truncate(1): one change, judged against the last save");
	files_free(fs);
}

/* A scratch file written and closed: what an editor saves first. */
static void scratch_file(struct openfiles *fs, const char *path,
			 const char *content)
{
	struct openfile *h = NULL;

	openfile_create(fs, path, 0600, O_WRONLY | O_CREAT | O_EXCL, getpid(),
			&h);
	put(h, path, content);
	openfile_flush(h);
	openfile_release(h);
}

static void test_rename(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct view_attr a;
	struct buf b = {0};

	scratch_file(fs, USER "/tmpsave", "Zed\n");
	ok(openfile_lookup(fs, USER "/tmpsave", NULL, &a) == 0 &&
		   a.write == VW_SCRATCH && a.size == 4 && sent.applies == 0,
	   "a scratch file holds what was written, nothing sent");
	ok(openfile_rename(fs, USER "/tmpsave", COMPANY, 0, getpid()) == 0 &&
		   sent.applies == 1 && !strcmp(sent.applied, COMPANY "=Zed\n"),
	   "a rename over a value file saves it");
	ok(openfile_lookup(fs, USER "/tmpsave", NULL, &a) == -ENOENT,
	   "and the scratch file is gone");
	ok(forgot(COMPANY), "the kernel forgets the file");
	ok(forgot(USER "/user.json") && forgot(PROPS),
	   "and the member's files that show the same record");

	ok(openfile_rename(fs, COMPANY, USER "/properties/Company~", 0,
			   getpid()) == 0 &&
		   sent.applies == 1 &&
		   scratch_get(sent.scratch, USER "/properties/Company~", &b) ==
			   0 &&
		   !strcmp(b.data, "Acme\n"),
	   "vim's backup rename copies the value, the member unchanged");
	buf_free(&b);
	scratch_file(fs, USER "/other", "x");
	ok(openfile_rename(fs, USER "/other", COMPANY, RENAME_NOREPLACE,
			   getpid()) == -EEXIST,
	   "RENAME_NOREPLACE over a file: EEXIST");
	ok(openfile_rename(fs, USER "/other", COMPANY, RENAME_EXCHANGE,
			   getpid()) == -EINVAL,
	   "RENAME_EXCHANGE: EINVAL");
	ok(openfile_rename(fs, COMPANY, PROPS, 0, getpid()) == -EPERM,
	   "a value file over another: EPERM");
	files_free(fs);
}

static void test_unlink_create(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;
	struct view_attr a;

	ok(openfile_unlink(fs, COMPANY) == 0 &&
		   openfile_lookup(fs, COMPANY, NULL, &a) == -ENOENT,
	   "an unlinked value file looks absent, nothing sent");
	ok(openfile_create(fs, COMPANY, 0644, O_WRONLY | O_CREAT | O_EXCL,
			   getpid(), &h) == 0,
	   "an O_EXCL create of it succeeds (mv from another filesystem)");
	ok(put(h, COMPANY, "New\n") == 4 &&
		   !strcmp(sent.applied, COMPANY "=New\n"),
	   "what is written replaces the value");
	openfile_release(h);
	ok(openfile_lookup(fs, COMPANY, NULL, &a) == 0, "the file is back");
	ok(openfile_create(fs, COMPANY, 0644, O_WRONLY | O_CREAT | O_EXCL,
			   getpid(), &h) == -EEXIST,
	   "an O_EXCL create of an existing file: EEXIST");
	files_free(fs);
}

static void test_created(int dry_run)
{
	struct openfiles *fs = files_new(0, dry_run);
	struct openfile *h = NULL;
	struct view_attr a;

	ok(openfile_create(fs, OFFER, 0644, O_WRONLY | O_CREAT, getpid(), &h) ==
			   0 &&
		   openfile_lookup(fs, OFFER, NULL, &a) == 0,
	   "%s: a created offer file exists while open",
	   dry_run ? "dry" : "real");
	ok(openfile_flush(h) == 0 && sent.creates == 1,
	   "%s: the first close creates it", dry_run ? "dry" : "real");
	ok((openfile_lookup(fs, OFFER, NULL, &a) == 0) == dry_run,
	   "%s: after it, the %s", dry_run ? "dry" : "real",
	   dry_run ? "file stays 'being created' while open"
		   : "file is what the school says");
	ok(openfile_utimens(fs, OFFER) == (dry_run ? 0 : -ENOENT),
	   "%s: touch sets its times", dry_run ? "dry" : "real");
	openfile_release(h);
	ok(openfile_lookup(fs, OFFER, NULL, &a) == -ENOENT,
	   "%s: closed, it is what the school says", dry_run ? "dry" : "real");
	files_free(fs);
}

static void test_create_refused(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;

	sent.create_result = -EINVAL;
	openfile_create(fs, OFFER, 0644, O_WRONLY | O_CREAT, getpid(), &h);
	ok(put(h, OFFER, "active") == 6, "the content waits for close");
	ok(openfile_flush(h) == -EINVAL && openfile_flush(h) == -EINVAL,
	   "a file that could not be created fails every close");
	ok(put(h, OFFER, "x") == -EINVAL && sent.creates == 1,
	   "and every later write, sending nothing more");
	openfile_release(h);
	ok(forgot(OFFER), "the kernel forgets the entry it never got");
	files_free(fs);
}

static void test_readonly(void)
{
	struct openfiles *fs = files_new(1, 0);
	struct openfile *h = NULL;

	ok(openfile_open(fs, COMPANY, O_WRONLY, getpid(), &h) == -EROFS,
	   "read-only: writing a value is EROFS");
	ok(openfile_open(fs, COMPANY, O_RDONLY, getpid(), &h) == 0,
	   "reading is fine");
	openfile_release(h);
	ok(openfile_open(fs, REFRESH, O_WRONLY, getpid(), &h) == 0,
	   "refresh stays writable");
	openfile_release(h);
	ok(openfile_open(fs, USER, O_RDONLY, getpid(), &h) == -EISDIR,
	   "a directory: EISDIR");
	files_free(fs);
}

/* Files still open when the mount goes away get no release: freeing the
 * mount frees them (ASan and valgrind count a leak otherwise). */
static void test_open_at_unmount(void)
{
	struct openfiles *fs = files_new(0, 0);
	struct openfile *a = NULL, *b = NULL;

	ok(openfile_open(fs, GRANT, O_WRONLY, getpid(), &a) == 0 &&
		   openfile_open(fs, GRANT, O_WRONLY, getpid(), &b) == 0,
	   "two handles open");
	ok(openfiles_count(fs) == 2, "both are counted as open");
	put(a, GRANT, "half a line");
	openfile_release(b);
	ok(openfiles_count(fs) == 1, "a release takes one off");
	files_free(fs);
	ok(sent.line_calls == 0 && sent.applies == 0,
	   "the open one's content is not applied");
}

/* getattr of path showed the kernel content (its size and time). */
static void show(struct openfiles *fs, const char *path, const char *content)
{
	struct view_attr a = {.type = VIEW_FILE, .hashed = 1};

	a.hash = mtimes_hash(content, strlen(content));
	openfile_time(fs, path, &a);
}

/* Opens path with flags: whether the kernel may cache it (-1: failed). */
static int cached_open(struct openfiles *fs, const char *path, int flags,
		       int *noflush)
{
	struct openfile *h = NULL;
	int c;

	if (openfile_open(fs, path, flags, getpid(), &h))
		return -1;
	c = openfile_cached(h);
	if (noflush)
		*noflush = openfile_noflush(h);
	openfile_release(h);
	return c;
}

static void test_kernel_cache(void)
{
	struct openfiles *plain = files_new(0, 0);
	struct openfile_env env = *openfiles_env(plain);
	struct timespec epoch = {1000, 0};
	struct openfiles *fs;
	int noflush = 0;

	env.mtimes = mtimes_new(64, epoch);
	fs = openfiles_new(&env);
	ok(cached_open(fs, COMPANY, O_RDONLY, NULL) == 0 && forgot(COMPANY),
	   "content no stat showed: direct I/O, the kernel forgets the file");
	show(fs, COMPANY, "Acme\n");
	ok(cached_open(fs, COMPANY, O_RDONLY, &noflush) == 1 && noflush,
	   "the content the last stat showed: the page cache, no flush");
	ok(cached_open(fs, COMPANY, O_RDWR, &noflush) == 0 && !noflush,
	   "opened for writing: direct I/O, flushed");
	ok(cached_open(fs, COMPANY, O_RDONLY, NULL) == 0,
	   "after a write open, until a stat shows it again: direct I/O");
	show(fs, COMPANY, "Acme\n");
	snprintf(files[0].content, sizeof(files[0].content), "Other\n");
	sent.invalidated[0] = '\0';
	ok(cached_open(fs, COMPANY, O_RDONLY, NULL) == 0 && forgot(COMPANY),
	   "changed since the stat: direct I/O, the kernel forgets the file");
	snprintf(files[0].content, sizeof(files[0].content), "Acme\n");
	show(fs, REFRESH, "");
	ok(cached_open(fs, REFRESH, O_RDONLY, NULL) == 0,
	   "a control file (NODE_LIVE): direct I/O");
	openfiles_free(fs);
	mtimes_free(env.mtimes);
	files_free(plain);
}

/* The directory's time as getattr reports it (not rendered: mtimes_get). */
static long long dir_time(struct openfiles *fs, const char *path)
{
	struct view_attr a = {.type = VIEW_DIR};

	return (long long)openfile_time(fs, path, &a).tv_sec;
}

static void test_forget_entry(void)
{
	struct openfiles *plain = files_new(0, 0);
	struct openfile_env env = *openfiles_env(plain);
	struct timespec epoch = {1000, 0};
	struct openfiles *fs;

	env.mtimes = mtimes_new(64, epoch);
	fs = openfiles_new(&env);
	openfile_forget(fs, "/users/a@example.com");
	ok(dir_time(fs, "/users") == 1000 && forgot("/users/a@example.com") &&
		   !forgot("/users"),
	   "a member forgotten (its record changed): users/ keeps its time");
	openfile_forget_entry(fs, "/users/b@example.com");
	ok(dir_time(fs, "/users") > 1000 && forgot("/users/b@example.com") &&
		   forgot("/users"),
	   "a member came or went: users/ moves now, the kernel forgets it");
	openfile_forget_entry(fs, "/by-status/active/b@example.com");
	ok(dir_time(fs, "/by-status/active") > 1000 &&
		   dir_time(fs, "/by-status") == 1000,
	   "a link came or went: its directory moves, not the one above");
	openfiles_free(fs);
	mtimes_free(env.mtimes);
	files_free(plain);
}

/* Whether out[0..n) is the streamed file's content from off on. */
static int stream_bytes(const char *out, long n, off_t off)
{
	char line[STREAM_LINE + 1];
	long i;

	for (i = 0; i < n; i++) {
		off_t at = off + i;

		snprintf(line, sizeof(line), "line %06d\n",
			 (int)(at / STREAM_LINE));
		if (out[i] != line[at % STREAM_LINE])
			return 0;
	}
	return 1;
}

/* Reads h from off to its end in reads of size; the bytes read, or -1
 * when one is not the file's. */
static long read_all(struct openfile *h, off_t off, size_t size)
{
	static char out[65536];
	long n, total = 0;

	while ((n = openfile_read(h, JSONL, out, size, off, getpid())) > 0) {
		if (!stream_bytes(out, n, off))
			return -1;
		off += n;
		total += n;
	}
	return n < 0 ? n : total;
}

static void test_stream(void)
{
	const long size = (long)STREAM_LINES * STREAM_LINE;
	struct openfiles *fs = files_new(0, 0);
	struct openfile *h = NULL;
	char out[100];

	ok(openfile_open(fs, JSONL, O_RDONLY, getpid(), &h) == 0 &&
		   sent.stream_opens == 1,
	   "an open of a streamed file starts its stream (nothing built)");
	ok(sent.stream_pieces == 0, "... and builds nothing yet");
	ok(read_all(h, 0, 4096) == size, "4 KiB reads give the whole file");
	ok(sent.stream_opens == 1, "a sequential read is one pass");
	ok(sent.stream_held < VIEW_STREAM_CHUNK + 4096 + STREAM_LINE,
	   "the handle held one piece and one read at most (%zu bytes of %ld)",
	   sent.stream_held, size);
	ok(openfile_read(h, JSONL, out, sizeof(out), size, getpid()) == 0,
	   "a read at the end reads nothing");
	ok(read_all(h, 100003, 65536) == size - 100003 &&
		   sent.stream_opens == 2,
	   "a read before what is held builds again from the start");
	ok(openfile_read(h, JSONL, out, 20, 7, getpid()) == 20 &&
		   stream_bytes(out, 20, 7) && sent.stream_opens == 3,
	   "... (pread at 7)");
	ok(openfile_read(h, JSONL, out, 30, 200001, getpid()) == 30 &&
		   stream_bytes(out, 30, 200001) && sent.stream_opens == 3,
	   "a read further on skips ahead in the same pass");
	sent.stream_fail_at = sent.stream_pieces + 1;
	ok(openfile_read(h, JSONL, out, 30, 5, getpid()) == -EIO &&
		   sent.stream_opens == 4,
	   "a piece that fails fails the read");
	ok(openfile_read(h, JSONL, out, 30, 40001, getpid()) == 30 &&
		   stream_bytes(out, 30, 40001) && sent.stream_opens == 5,
	   "the next read starts again and gets there");
	openfile_release(h);
	files_free(fs);
}

int main(void)
{
	test_control_streaming();
	test_control_long_line();
	test_control_failed_write();
	test_json_complete();
	test_value_writes();
	test_bases();
	test_rename();
	test_unlink_create();
	test_created(0);
	test_created(1);
	test_create_refused();
	test_readonly();
	test_open_at_unmount();
	test_kernel_cache();
	test_forget_entry();
	test_stream();
	scratch_free(sent.scratch);
	return done_testing();
}

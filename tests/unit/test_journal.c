/*
 * test_journal: line shape, the file (modes, appending, parents, what is
 * refused), snapshots that must reach the disk, dry-run lines, the
 * bounded memory copy and concurrent writers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"
#include "journal.h"
#include "tap.h"

/* Calls fn for each line of text; returns the number of lines, or -1 when
 * one is not a JSON object. */
static int each_json_line(const char *text, size_t len,
			  void (*fn)(void *arg, const cJSON *line), void *arg)
{
	const char *p = text, *end = text + len, *nl;
	cJSON *o;
	int n = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -1; /* every line ends in '\n' */
		o = cJSON_ParseWithLength(p, (size_t)(nl - p));
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			return -1;
		}
		if (fn)
			fn(arg, o);
		cJSON_Delete(o);
		n++;
		p = nl + 1;
	}
	return n;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The only line of j, parsed (caller frees), or NULL. */
static cJSON *only_line(struct journal *j)
{
	struct buf b = {0};
	cJSON *o = NULL;
	char *nl;

	journal_render(j, &b);
	nl = b.data ? strchr(b.data, '\n') : NULL;
	if (nl && nl[1] == '\0')
		o = cJSON_ParseWithLength(b.data, (size_t)(nl - b.data));
	buf_free(&b);
	return o;
}

static int time_ok(const char *t)
{
	/* 2026-11-27T17:40:06Z */
	return t && strlen(t) == 20 && t[4] == '-' && t[10] == 'T' &&
	       t[13] == ':' && t[19] == 'Z';
}

static void test_lines(void)
{
	struct journal *j;
	cJSON *args, *resp, *rec, *o;
	char *printed, *again;
	int err = 1;

	j = journal_open(NULL, &err, NULL);
	if (!ok(j && err == 0, "memory-only journal"))
		return;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "email", "a@b.c");
	cJSON_AddStringToObject(args, "offerId", "o1");
	resp = cJSON_CreateObject();
	cJSON_AddBoolToObject(resp, "success", 1);
	printed = cJSON_PrintUnformatted(args);

	journal_change(j, "grant", args, 0, resp);
	o = only_line(j);
	ok(o != NULL, "one line of JSON");
	ok(time_ok(str(o, "time")), "time is UTC ISO 8601 (%s)",
	   str(o, "time") ? str(o, "time") : "(null)");
	ok(tap_streq(str(o, "op"), "grant"), "op");
	ok(cJSON_Compare(cJSON_GetObjectItem(o, "args"), args, 1), "args");
	ok(tap_streq(str(o, "outcome"), "ok"), "outcome ok");
	ok(!cJSON_GetObjectItem(o, "errno") &&
		   !cJSON_GetObjectItem(o, "message"),
	   "no errno or message when ok");
	ok(cJSON_Compare(cJSON_GetObjectItem(o, "response"), resp, 1),
	   "response");
	cJSON_Delete(o);
	again = cJSON_PrintUnformatted(args);
	ok(tap_streq(again, printed), "args were not consumed or changed");
	cJSON_free(again);
	journal_close(j);

	j = journal_open(NULL, &err, NULL);
	journal_change(j, "set-offer", args, -EINVAL, NULL);
	o = only_line(j);
	ok(tap_streq(str(o, "outcome"), "error"), "outcome error");
	ok(tap_streq(str(o, "errno"), "EINVAL"), "errno by name");
	ok(tap_streq(str(o, "message"), strerror(EINVAL)), "message");
	ok(!cJSON_GetObjectItem(o, "response"), "no response when NULL");
	cJSON_Delete(o);
	journal_close(j);

	j = journal_open(NULL, &err, NULL);
	journal_change(j, "grant", NULL, -ETIMEDOUT, NULL);
	o = only_line(j);
	ok(tap_streq(str(o, "errno"), "ETIMEDOUT"), "ETIMEDOUT by name");
	ok(cJSON_IsObject(cJSON_GetObjectItem(o, "args")) &&
		   !cJSON_GetObjectItem(o, "args")->child,
	   "NULL args are written as {}");
	cJSON_Delete(o);
	journal_close(j);

	j = journal_open(NULL, &err, NULL);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "email", "gone@b.c");
	cJSON_AddStringToObject(rec, "note", "two\nlines \"quoted\"");
	journal_snapshot(j, "delete-snapshot", rec);
	o = only_line(j);
	ok(o && tap_streq(str(o, "op"), "delete-snapshot") &&
		   time_ok(str(o, "time")),
	   "snapshot line");
	ok(cJSON_Compare(cJSON_GetObjectItem(o, "user"), rec, 1),
	   "snapshot keeps the record, newlines and all, on one line");
	cJSON_Delete(o);
	journal_close(j);
	journal_close(NULL);

	cJSON_free(printed);
	cJSON_Delete(args);
	cJSON_Delete(resp);
	cJSON_Delete(rec);
}

struct last {
	int n;
	char op[64];
};

static void note_last(void *arg, const cJSON *line)
{
	struct last *l = arg;

	l->n++;
	snprintf(l->op, sizeof(l->op), "%s",
		 str(line, "op") ? str(line, "op") : "");
}

static void test_memory_bound(void)
{
	struct journal *j;
	struct buf b = {0};
	struct last last = {0};
	cJSON *args;
	char *filler, op[32];
	int err, i, n;

	filler = malloc(1000);
	memset(filler, 'x', 999);
	filler[999] = '\0';
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "filler", filler);
	j = journal_open(NULL, &err, NULL);
	for (i = 0; i < 3000; i++) {
		snprintf(op, sizeof(op), "op%d", i);
		journal_change(j, op, args, 0, NULL);
	}
	journal_render(j, &b);
	ok(b.len <= JOURNAL_KEEP && b.len > JOURNAL_KEEP - 2000,
	   "memory copy bounded to JOURNAL_KEEP (%zu bytes)", b.len);
	n = each_json_line(b.data, b.len, note_last, &last);
	ok(n > 0 && n < 3000, "only whole lines, the oldest dropped (%d)", n);
	ok(strcmp(last.op, "op2999") == 0, "the newest line is last (%s)",
	   last.op);
	buf_free(&b);

	/* A line larger than the whole bound stays out of memory. */
	filler = realloc(filler, JOURNAL_KEEP + 10);
	memset(filler, 'y', JOURNAL_KEEP + 9);
	filler[JOURNAL_KEEP + 9] = '\0';
	cJSON_Delete(args);
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "filler", filler);
	journal_change(j, "huge", args, 0, NULL);
	journal_render(j, &b);
	ok(b.len <= JOURNAL_KEEP && !strstr(b.data, "\"huge\""),
	   "an over-long line is not kept in memory");
	buf_free(&b);
	journal_close(j);
	cJSON_Delete(args);
	free(filler);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct buf b = {0};
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

/* The descriptor this process holds open on path, or -1. */
static int fd_of(const char *path)
{
	char link[64], target[512];
	ssize_t n;
	int fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			return fd;
	}
	return -1;
}

struct writer {
	struct journal *j;
	int id;
};

static void *write_many(void *arg)
{
	struct writer *w = arg;
	cJSON *args = cJSON_CreateObject();
	int i;

	cJSON_AddNumberToObject(args, "writer", w->id);
	for (i = 0; i < 200; i++)
		journal_change(w->j, "grant", args, i % 2 ? -ENOENT : 0, NULL);
	cJSON_Delete(args);
	return NULL;
}

static void test_file(void)
{
	char dir[] = "/tmp/msfs-journal-XXXXXX", path[256], sub[256];
	char parent[256];
	struct writer w[4];
	pthread_t t[4];
	struct journal *j;
	struct buf mem = {0};
	struct stat st;
	size_t len;
	char *text;
	int err, i, n, fd;

	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	/* With no umask, the modes seen are exactly the ones asked for. */
	umask(0);
	snprintf(path, sizeof(path), "%s/state/memberspotfs/journal.jsonl",
		 dir);
	j = journal_open(path, &err, NULL);
	ok(j && err == 0, "open creates missing parents");
	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(parent, sizeof(parent), "%s/state/memberspotfs", dir);
	memset(&st, 0, sizeof(st));
	stat(sub, &st);
	ok((st.st_mode & 07777) == 0700, "parents are 0700 (%o)",
	   (unsigned)(st.st_mode & 07777));
	memset(&st, 0, sizeof(st));
	stat(path, &st);
	ok((st.st_mode & 07777) == 0600, "the file is 0600 (%o)",
	   (unsigned)(st.st_mode & 07777));
	fd = fd_of(path);
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	   "its descriptor is close-on-exec");
	journal_change(j, "first", NULL, 0, NULL);
	journal_close(j);

	j = journal_open(path, &err, NULL);
	for (i = 0; i < 4; i++) {
		w[i].j = j;
		w[i].id = i;
		pthread_create(&t[i], NULL, write_many, &w[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	journal_render(j, &mem);
	journal_close(j);
	text = slurp(path, &len);
	n = text ? each_json_line(text, len, NULL, NULL) : -1;
	ok(n == 801, "reopening appends; 800 concurrent lines all whole (%d)",
	   n);
	ok(text && strncmp(text, "{\"time\"", 7) == 0 &&
		   strstr(text, "\"op\":\"first\""),
	   "the first line is still there");
	ok(text && mem.len == len - (size_t)(strchr(text, '\n') - text + 1) &&
		   memcmp(mem.data, strchr(text, '\n') + 1, mem.len) == 0,
	   "file and memory copy hold the same lines in the same order");
	free(text);
	buf_free(&mem);

	unlink(path);
	rmdir(parent);
	rmdir(sub);

	/* A path below a regular file cannot be opened. */
	snprintf(path, sizeof(path), "%s/file", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(sub, sizeof(sub), "%s/file/journal.jsonl", dir);
	j = journal_open(sub, &err, NULL);
	ok(j == NULL && err == -ENOTDIR, "open failure is reported (%d)", err);
	unlink(path);
	rmdir(dir);
}

/* What an open refuses: a symlink, a FIFO (without hanging), a file open
 * to group or others; and /dev/null, which means no file. */
static void test_refused(void)
{
	char dir[] = "/tmp/msfs-journal-XXXXXX", path[256], link[256];
	struct buf why = {0};
	struct journal *j;
	int err, fd;

	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	umask(022);
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	snprintf(link, sizeof(link), "%s/link.jsonl", dir);
	if (symlink(path, link))
		diag("symlink: %s", strerror(errno));
	j = journal_open(link, &err, &why);
	ok(!j && err == -ELOOP, "a symlink is refused (%d)", err);
	ok(why.data && strstr(why.data, "symbolic link"), "why: %s",
	   why.data ? why.data : "(none)");
	ok(access(path, F_OK) != 0, "its target was not created");
	unlink(link);
	buf_free(&why);

	fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	chmod(path, 0644);
	j = journal_open(path, &err, &why);
	ok(!j && err == -EPERM,
	   "an existing journal readable by others is refused (%d)", err);
	ok(why.data && strstr(why.data, "0644") &&
		   strstr(why.data, "chmod 600"),
	   "why: %s", why.data ? why.data : "(none)");
	buf_free(&why);
	chmod(path, 0640);
	j = journal_open(path, &err, &why);
	ok(!j && err == -EPERM, "... and one readable by the group (%d)", err);
	buf_free(&why);
	chmod(path, 0600);
	j = journal_open(path, &err, &why);
	ok(j && err == 0 && journal_has_file(j), "a 0600 one is taken");
	journal_close(j);
	unlink(path);

	if (mkfifo(path, 0600))
		diag("mkfifo: %s", strerror(errno));
	j = journal_open(path, &err, &why);
	ok(!j && err == -EINVAL, "a FIFO is refused at once (%d)", err);
	ok(why.data && strstr(why.data, "not a regular file"), "why: %s",
	   why.data ? why.data : "(none)");
	buf_free(&why);
	unlink(path);

	j = journal_open("/dev/null", &err, &why);
	ok(j && !journal_has_file(j), "/dev/null: no file, memory only");
	ok(j && journal_snapshot(j, "delete-snapshot", NULL) == 0,
	   "... where a snapshot goes to memory");
	journal_close(j);
	rmdir(dir);
}

/* A snapshot is on disk when it returns 0; one the file cannot take is
 * -EIO, leaves no part of itself in the file and is not kept in memory.
 * An ordinary line that fails is cut off too, but kept in memory. The
 * disk is "full" through RLIMIT_FSIZE (writes past it fail with EFBIG). */
static void test_snapshot_durable(void)
{
	char dir[] = "/tmp/msfs-journal-XXXXXX", path[256];
	struct rlimit old, lim;
	struct buf mem = {0};
	struct journal *j;
	struct stat st;
	cJSON *rec, *args, *req;
	size_t len, before;
	char *text;
	int err, r;

	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	j = journal_open(path, &err, NULL);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "email", "gone@b.c");
	cJSON_AddStringToObject(rec, "note",
				"a record long enough to be cut by the file "
				"size limit");
	ok(journal_snapshot(j, "delete-snapshot", rec) == 0,
	   "a snapshot that reaches the file: 0");
	text = slurp(path, &len);
	ok(text && each_json_line(text, len, NULL, NULL) == 1 &&
		   strstr(text, "gone@b.c"),
	   "it is in the file");
	free(text);

	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "email", "a@b.c");
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "method", "POST");
	cJSON_AddStringToObject(req, "path", "/v1/users/set-offer-state");
	ok(journal_dry_run(j, "set-offer-state", args, req) == 0,
	   "a dry-run line");
	text = slurp(path, &len);
	ok(text && strstr(text, "\"outcome\":\"dry-run\",\"request\":{"
				"\"method\":\"POST\",\"path\":\"/v1/users/"
				"set-offer-state\"}"),
	   "dry-run: outcome and the request, after args");
	free(text);

	stat(path, &st);
	before = (size_t)st.st_size;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = before + 20; /* room for part of a line only */
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	r = journal_snapshot(j, "delete-snapshot", rec);
	memset(&st, 0, sizeof(st));
	stat(path, &st);
	ok(r == -EIO, "a snapshot the file cannot take: -EIO (%d)", r);
	ok((size_t)st.st_size == before,
	   "no part of it stays in the file (%lld bytes, %zu before)",
	   (long long)st.st_size, before);
	journal_change(j, "grant", args, 0, NULL);
	r = journal_dry_run(j, "grant", args, req);
	memset(&st, 0, sizeof(st));
	stat(path, &st);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	ok(r == -EIO, "a dry-run line the file cannot take: -EIO (%d)", r);
	ok((size_t)st.st_size == before, "ordinary lines are cut off too");
	journal_render(j, &mem);
	ok(mem.data && !strstr(strstr(mem.data, "\n") + 1, "delete-snapshot") &&
		   strstr(mem.data, "\"op\":\"grant\""),
	   "memory: the failed snapshot is not there, the other line is");
	buf_free(&mem);
	journal_change(j, "after", NULL, 0, NULL);
	journal_close(j);
	text = slurp(path, &len);
	ok(text && each_json_line(text, len, NULL, NULL) == 3,
	   "the file holds whole JSON lines only, the next one too");
	free(text);
	cJSON_Delete(rec);
	cJSON_Delete(args);
	cJSON_Delete(req);
	unlink(path);
	rmdir(dir);
}

static void test_default_path(void)
{
	char *p;

	setenv("XDG_STATE_HOME", "/x/state", 1);
	p = journal_default_path();
	ok(tap_streq(p, "/x/state/memberspotfs/journal.jsonl"),
	   "XDG_STATE_HOME is used");
	free(p);
	setenv("XDG_STATE_HOME", "relative", 1);
	setenv("HOME", "/home/u", 1);
	p = journal_default_path();
	ok(tap_streq(p, "/home/u/.local/state/memberspotfs/journal.jsonl"),
	   "a relative XDG_STATE_HOME is ignored");
	free(p);
	unsetenv("XDG_STATE_HOME");
	p = journal_default_path();
	ok(tap_streq(p, "/home/u/.local/state/memberspotfs/journal.jsonl"),
	   "HOME otherwise");
	free(p);
	unsetenv("HOME");
	p = journal_default_path();
	ok(p && p[0] == '/' && strstr(p, "/.local/state/memberspotfs/"),
	   "the password database without HOME (%s)", p ? p : "(null)");
	free(p);
}

/* A refused Latin-1 line quoted in args, and a server response with a
 * stray byte: the line written is still UTF-8 JSON, each bad byte shown
 * as U+FFFD, the good text around it unchanged. */
static void test_not_utf8(void)
{
	struct journal *j;
	struct buf b = {0};
	cJSON *args, *resp, *o;
	int err;

	j = journal_open(NULL, &err, NULL);
	if (!ok(j != NULL, "memory-only journal"))
		return;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "text",
				"M\xfcller,J\xfcrgen \xe2\x82\xac");
	resp = cJSON_CreateObject();
	cJSON_AddStringToObject(resp, "message", "bad \xc0\xaf \xed\xa0\x80");
	journal_change(j, "grant", args, -EINVAL, resp);
	journal_render(j, &b);
	ok(b.len && input_utf8_valid(b.data, b.len),
	   "the line is UTF-8 though its strings were not");
	o = only_line(j);
	ok(o && tap_streq(str(cJSON_GetObjectItem(o, "args"), "text"),
			  "M\xef\xbf\xbdller,J\xef\xbf\xbdrgen \xe2\x82\xac"),
	   "each bad byte became U+FFFD; valid UTF-8 (the euro sign) stayed");
	ok(o && tap_streq(str(cJSON_GetObjectItem(o, "response"), "message"),
			  "bad \xef\xbf\xbd\xef\xbf\xbd "
			  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
	   "overlongs and surrogates too, byte by byte");
	cJSON_Delete(o);
	buf_free(&b);
	journal_close(j);
	cJSON_Delete(args);
	cJSON_Delete(resp);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One journal, one daemon: the file is locked while open. */
static void test_lock(void)
{
	char dir[] = "/tmp/msfs-journal-XXXXXX", path[256];
	struct journal *j, *j2;
	double t0, waited;
	int err, fd;

	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	j = journal_open(path, &err, NULL);
	if (!ok(j != NULL, "open (%d)", err))
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK,
	   "the open journal's file is locked for any other opener");
	if (fd >= 0)
		close(fd);
	t0 = now_s();
	j2 = journal_open(path, &err, NULL);
	waited = now_s() - t0;
	ok(j2 == NULL && err == -EBUSY,
	   "a second open of the same file fails with EBUSY (%d)", err);
	ok(waited >= JOURNAL_LOCK_WAIT_MS / 1000.0 - 0.1 &&
		   waited < JOURNAL_LOCK_WAIT_MS / 1000.0 + 2,
	   "after waiting about %d ms for the holder (%.2f s)",
	   JOURNAL_LOCK_WAIT_MS, waited);
	journal_close(j2);
	journal_close(j);
	j = journal_open(path, &err, NULL);
	ok(j != NULL, "once closed, it opens again (%d)", err);
	journal_close(j);

	j = journal_open("/dev/null", &err, NULL);
	j2 = journal_open("/dev/null", &err, NULL);
	ok(j && j2, "a journal that is not a regular file is not locked");
	journal_close(j2);
	journal_close(j);
out:
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_lines();
	test_not_utf8();
	test_memory_bound();
	test_file();
	test_refused();
	test_snapshot_durable();
	test_default_path();
	test_lock();
	return done_testing();
}

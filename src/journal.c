/*
 * journal: every change sent to the API and its outcome, as JSON lines.
 *
 * Each line is built as a cJSON object, printed unformatted (JSON strings
 * escape newlines, so one record is always one line) and written with a
 * single write(2) on a descriptor opened O_APPEND: a line is never
 * interleaved with another, even with a second mount appending to the
 * same file, and nothing sits in a stdio buffer when the daemon is
 * killed. There is no fsync per line: the journal is a record for people,
 * not a database, and an fsync per grant would slow bulk grants to the
 * disk's pace. The one exception is a member's snapshot before its
 * deletion: it is the only copy of what is about to be lost, so it is
 * written and fdatasync'd before the caller may send the delete, and a
 * failure is returned (the caller then sends nothing).
 *
 * A write that fails half-way (disk full) is cut back to where it began,
 * so the file never holds a partial line that the next line would be glued
 * to.
 *
 * The file is opened O_NOFOLLOW and must be a regular file: the journal
 * holds personal data, and a symlink planted at its path could send it
 * elsewhere. An existing file that group or others may read or write is
 * refused, as the key file is.
 *
 * One journal belongs to one daemon: the file is locked (flock LOCK_EX)
 * from journal_open to journal_close, so a second mount given the same
 * journal is refused at start-up instead of mixing two schools' changes
 * in one record. The lock is on the open file description, so the
 * daemonized child keeps it after fuse_daemonize's parent exits, and the
 * kernel drops it when the daemon dies, even by SIGKILL. A daemon that was
 * just unmounted still holds it while it frees its caches, so the second
 * opener waits up to JOURNAL_LOCK_WAIT_MS before giving up ("umount;
 * mount" in a script). A journal that is not a regular file (/dev/null)
 * is not locked: nothing is kept there to protect.
 *
 * The in-memory copy (for .memberspot/journal) is a queue of whole lines;
 * the oldest are dropped once the total passes JOURNAL_KEEP, so appending
 * is O(1) however full it is. A single line longer than JOURNAL_KEEP is
 * kept in the file only.
 *
 * cJSON prints string bytes as it finds them and does not check UTF-8, so
 * a server response or a refused line quoted in args could make a line
 * that is not JSON. The printed line is repaired instead: each byte that
 * is not part of well-formed UTF-8 becomes U+FFFD. cJSON writes all of its
 * own syntax in ASCII, so such bytes can only sit inside strings, where a
 * U+FFFD is valid.
 *
 * The caller's args and response are linked into the line as cJSON
 * references, not copied, and never modified. One mutex orders the lines,
 * so the file and the memory copy agree. A failed write is reported to
 * errlog (the journal has no caller to return it to) and the line is still
 * kept in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "errlog.h"
#include "input.h"
#include "journal.h"
#include "textfix.h"

struct jline {
	struct jline *next;
	size_t len; /* including the '\n' */
	char text[];
};

struct journal {
	pthread_mutex_t lock;
	int fd; /* -1: memory only */
	struct jline *head, *tail;
	size_t kept; /* bytes in the queue */
};

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

/* Creates the missing parents of path, 0700 (member data is personal).
 * Existing directories are left as they are. 0 or -errno. */
static int make_parents(const char *path)
{
	char *copy, *s;
	int rc = 0;

	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (s = strchr(copy + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		*s = '/';
	}
	free(copy);
	return rc;
}

/* Opens (or creates, 0600) the file: O_NOFOLLOW, a regular file, private.
 * Returns the descriptor or -errno, with the reason in why (may be NULL). */
static int open_file(const char *path, struct buf *why)
{
	struct stat st;
	int fd, rc;

	rc = make_parents(path);
	if (rc) {
		if (why)
			buf_printf(why, "cannot create its directory: %s",
				   strerror(-rc));
		return rc;
	}
	/* O_NONBLOCK: a FIFO planted there must not hang the mount; it is
	 * refused below, and a regular file ignores the flag. */
	fd = open(path,
		  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
			  O_NONBLOCK,
		  0600);
	if (fd < 0) {
		rc = -errno;
		if (why && rc == -ELOOP)
			buf_puts(why, "it is a symbolic link (refused: the "
				      "journal holds personal data)");
		else if (why && rc == -ENXIO) /* a FIFO nobody reads */
			buf_puts(why, "it is not a regular file");
		else if (why)
			buf_puts(why, strerror(-rc));
		return rc == -ENXIO ? -EINVAL : rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		if (why)
			buf_puts(why, strerror(-rc));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		if (why)
			buf_puts(why, "it is not a regular file");
		goto fail;
	}
	if (st.st_mode & 077) {
		rc = -EPERM;
		if (why)
			buf_printf(why,
				   "it is readable or writable by group or "
				   "others (mode %04o; run: chmod 600 %s)",
				   (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		rc = -errno;
		if (why)
			buf_puts(why, strerror(-rc));
		goto fail;
	}
	return fd;

fail:
	close(fd);
	return rc;
}

/* Takes the lock of a regular file fd, waiting up to JOURNAL_LOCK_WAIT_MS
 * for a holder that is exiting. 0, -EBUSY (held by another opener) or
 * -errno. */
static int lock_file(int fd)
{
	const struct timespec step = {0, 50 * 1000 * 1000};
	struct stat st;
	int waited_ms;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	for (waited_ms = 0;; waited_ms += 50) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (waited_ms >= JOURNAL_LOCK_WAIT_MS)
			return -EBUSY;
		nanosleep(&step, NULL);
	}
}

struct journal *journal_open(const char *path, int *err, struct buf *why)
{
	struct journal *j;
	int rc;

	*err = 0;
	j = calloc(1, sizeof(*j));
	if (!j) {
		rc = -ENOMEM;
		goto fail;
	}
	j->fd = -1;
	/* The way to ask for no file (the memory copy is still kept). */
	if (path && !strcmp(path, "/dev/null"))
		path = NULL;
	if (path) {
		rc = open_file(path, why);
		if (rc < 0)
			goto free_j;
		j->fd = rc;
		rc = lock_file(j->fd);
		if (rc)
			goto close_fd;
	}
	rc = -pthread_mutex_init(&j->lock, NULL);
	if (rc)
		goto close_fd;
	return j;

close_fd:
	if (j->fd >= 0)
		close(j->fd);
free_j:
	free(j);
fail:
	*err = rc;
	return NULL;
}

int journal_has_file(const struct journal *j)
{
	return j->fd >= 0;
}

void journal_close(struct journal *j)
{
	struct jline *l, *next;

	if (!j)
		return;
	for (l = j->head; l; l = next) {
		next = l->next;
		free(l);
	}
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

char *journal_default_path(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct passwd pw, *found = NULL;
	char pwbuf[4096], *path;

	/* The XDG spec says to ignore a relative value. */
	if (state && state[0] == '/') {
		if (asprintf(&path, "%s/memberspotfs/journal.jsonl", state) < 0)
			return NULL;
		return path;
	}
	if (!home || home[0] != '/') {
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) ||
		    !found || !pw.pw_dir || pw.pw_dir[0] != '/')
			return NULL;
		home = pw.pw_dir;
	}
	if (asprintf(&path, "%s/.local/state/memberspotfs/journal.jsonl",
		     home) < 0)
		return NULL;
	return path;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* Appends one line with O_APPEND writes. On failure a part already
 * written is cut off again (when nothing else appended meanwhile), so
 * the file keeps whole lines only. 0 or -errno. */
static int write_line(int fd, const char *p, size_t len)
{
	struct stat st;
	off_t start = -1;
	size_t done = 0;
	ssize_t n;
	int rc = 0;

	if (fstat(fd, &st) == 0)
		start = st.st_size;
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (rc && done && start >= 0 && fstat(fd, &st) == 0 &&
	    st.st_size == start + (off_t)done && ftruncate(fd, start) != 0)
		errlog_add("journal", 0,
			   "a partly written line could not be cut off: %s",
			   strerror(errno));
	return rc;
}

/* Queues a line in memory, dropping the oldest past JOURNAL_KEEP, or
 * frees it when it could never fit. Called with the lock held. */
static void keep(struct journal *j, struct jline *l)
{
	struct jline *old;

	if (l->len > JOURNAL_KEEP) {
		free(l);
		return;
	}
	l->next = NULL;
	if (j->tail)
		j->tail->next = l;
	else
		j->head = l;
	j->tail = l;
	j->kept += l->len;
	while (j->kept > JOURNAL_KEEP) {
		old = j->head;
		j->head = old->next;
		j->kept -= old->len;
		free(old);
	}
	if (!j->head)
		j->tail = NULL;
}

/* Adds "time" (UTC, ISO 8601) first, as every line starts with it. */
static cJSON *line_new(const char *op)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	cJSON *o;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!cJSON_AddStringToObject(o, "time", stamp) ||
	    !cJSON_AddStringToObject(o, "op", op ? op : "")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Links a caller's object without copying it; deleting the line leaves it
 * alone. NULL adds nothing. Returns 0 or -ENOMEM. */
static int add_ref(cJSON *o, const char *name, const cJSON *item)
{
	if (!item)
		return 0;
	/* cJSON's reference API is not const-correct; it only reads. */
	return cJSON_AddItemReferenceToObject(o, name, (cJSON *)item) ? 0
								      : -ENOMEM;
}

/* Prints, writes and keeps the line, then frees it. durable: the line
 * is fdatasync'd, and one that did not reach the disk is not kept in
 * memory either (the caller will act as if it was never written).
 * Returns 0 or -EIO when the file could not take it (the reason in
 * errlog), -ENOMEM. */
static int emit(struct journal *j, cJSON *line, bool durable)
{
	struct jline *l;
	size_t len, n;
	char *text;
	int rc = 0;

	text = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	if (!text)
		goto nomem;
	len = strlen(text);
	n = textfix_utf8(text, len, NULL);
	/* The line with its '\n', in the form the memory copy keeps, so the
	 * file gets it in one write. */
	l = malloc(sizeof(*l) + n + 1);
	if (!l)
		goto free_text;
	textfix_utf8(text, len, l->text);
	l->text[n] = '\n';
	l->len = n + 1;
	cJSON_free(text);

	pthread_mutex_lock(&j->lock);
	if (j->fd >= 0)
		rc = write_line(j->fd, l->text, l->len);
	if (j->fd >= 0 && !rc && durable && fdatasync(j->fd) != 0)
		rc = -errno;
	if (rc && durable)
		free(l);
	else
		keep(j, l);
	pthread_mutex_unlock(&j->lock);
	if (rc) {
		errlog_add("journal", 0, "write failed: %s", strerror(-rc));
		return -EIO;
	}
	return 0;

free_text:
	cJSON_free(text);
nomem:
	errlog_add("journal", 0, "out of memory: a line was lost");
	return -ENOMEM;
}

void journal_change(struct journal *j, const char *op, const cJSON *args,
		    int err, const cJSON *response)
{
	int e = err < 0 ? -err : err;
	const char *name;
	char num[16];
	cJSON *line;
	int rc;

	line = line_new(op);
	if (!line)
		goto nomem;
	if (args)
		rc = add_ref(line, "args", args);
	else
		rc = cJSON_AddObjectToObject(line, "args") ? 0 : -ENOMEM;
	if (rc)
		goto free_line;
	if (!e) {
		if (!cJSON_AddStringToObject(line, "outcome", "ok"))
			goto free_line;
	} else {
		name = strerrorname_np(e);
		if (!name) {
			snprintf(num, sizeof(num), "%d", e);
			name = num;
		}
		if (!cJSON_AddStringToObject(line, "outcome", "error") ||
		    !cJSON_AddStringToObject(line, "errno", name) ||
		    !cJSON_AddStringToObject(line, "message", strerror(e)))
			goto free_line;
	}
	if (add_ref(line, "response", response))
		goto free_line;
	emit(j, line, false);
	return;

free_line:
	cJSON_Delete(line);
nomem:
	errlog_add("journal", 0, "out of memory: a line was lost");
}

int journal_snapshot(struct journal *j, const char *op, const cJSON *record)
{
	cJSON *line = line_new(op);

	if (!line || add_ref(line, "user", record)) {
		cJSON_Delete(line);
		errlog_add("journal", 0, "out of memory: a snapshot was lost");
		return -ENOMEM;
	}
	return emit(j, line, true) ? -EIO : 0;
}

int journal_dry_run(struct journal *j, const char *op, const cJSON *args,
		    const cJSON *request)
{
	cJSON *line = line_new(op);

	if (!line || add_ref(line, "args", args) ||
	    !cJSON_AddStringToObject(line, "outcome", "dry-run") ||
	    add_ref(line, "request", request)) {
		cJSON_Delete(line);
		errlog_add("journal", 0, "out of memory: a line was lost");
		return -ENOMEM;
	}
	return emit(j, line, false);
}

int journal_render(struct journal *j, struct buf *out)
{
	struct jline *l;
	int rc = 0;

	pthread_mutex_lock(&j->lock);
	for (l = j->head; l && !rc; l = l->next)
		rc = buf_append(out, l->text, l->len);
	pthread_mutex_unlock(&j->lock);
	return rc;
}

/*
 * errlog: a fixed ring of the newest ERRLOG_KEEP failures.
 *
 * Entries are fixed-size structs in a static array, so recording a failure
 * never allocates and therefore cannot itself fail: the moment something
 * went wrong (memory included) is exactly when the log must still work.
 * Over-long paths and messages are cut. Control characters are replaced by
 * spaces when recording, so every entry renders as exactly one line and a
 * server message cannot forge extra entries; bytes that are not UTF-8 (a
 * Latin-1 name quoted in a reason, a message cut inside a character)
 * become '?', so the log stays text. One mutex guards the ring;
 * formatting of the caller's message happens before taking it.
 */
#include "errlog.h"
#include "input.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ERRLOG_WHERE_MAX 256
#define ERRLOG_MSG_MAX 512

struct errlog_entry {
	unsigned long id; /* 1, 2, ... in the order entries were added */
	time_t when;
	long status;
	char where[ERRLOG_WHERE_MAX];
	char msg[ERRLOG_MSG_MAX];
};

static pthread_mutex_t errlog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct errlog_entry errlog_ring[ERRLOG_KEEP];
static size_t errlog_next;	 /* slot the next entry goes to */
static size_t errlog_count;	 /* entries held, <= ERRLOG_KEEP */
static unsigned long errlog_ids; /* the id of the newest entry */

/* Control characters (including DEL) become spaces: one entry, one line.
 * Bytes that are not UTF-8 become '?'. */
static void errlog_sanitize(char *s)
{
	size_t n = strlen(s), i = 0;

	for (;;) {
		i += input_utf8_span(s + i, n - i);
		if (i == n)
			break;
		s[i++] = '?';
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			*s = ' ';
	}
}

/* Adds e, or rewrites the entry *id when still held. Returns e's id. */
static unsigned long errlog_put(struct errlog_entry *e, unsigned long id)
{
	size_t slot;

	pthread_mutex_lock(&errlog_lock);
	/* Entry ids are consecutive, so the held ones are the newest
	 * errlog_count ids and id's slot follows from its distance. */
	if (id && id <= errlog_ids && errlog_ids - id < errlog_count) {
		slot = (errlog_next + ERRLOG_KEEP - 1 - (errlog_ids - id)) %
		       ERRLOG_KEEP;
		e->id = id;
		e->when = errlog_ring[slot].when;
		errlog_ring[slot] = *e;
	} else {
		e->id = ++errlog_ids;
		errlog_ring[errlog_next] = *e;
		errlog_next = (errlog_next + 1) % ERRLOG_KEEP;
		if (errlog_count < ERRLOG_KEEP)
			errlog_count++;
	}
	pthread_mutex_unlock(&errlog_lock);
	return e->id;
}

static void errlog_fill(struct errlog_entry *e, const char *where, long status,
			const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void errlog_fill(struct errlog_entry *e, const char *where, long status,
			const char *fmt, va_list ap)
{
	e->when = time(NULL);
	e->status = status;
	snprintf(e->where, sizeof(e->where), "%s", where ? where : "-");
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	errlog_sanitize(e->where);
	errlog_sanitize(e->msg);
}

void errlog_add(const char *where, long status, const char *fmt, ...)
{
	struct errlog_entry e;
	va_list ap;

	va_start(ap, fmt);
	errlog_fill(&e, where, status, fmt, ap);
	va_end(ap);
	errlog_put(&e, 0);
}

void errlog_note(unsigned long *id, const char *where, long status,
		 const char *fmt, ...)
{
	struct errlog_entry e;
	va_list ap;

	va_start(ap, fmt);
	errlog_fill(&e, where, status, fmt, ap);
	va_end(ap);
	*id = errlog_put(&e, *id);
}

/* Returns 0 or -ENOMEM; on failure `out` may hold the first entries. */
int errlog_render(struct buf *out)
{
	size_t i, first;
	int rc = 0;

	pthread_mutex_lock(&errlog_lock);
	first = (errlog_next + ERRLOG_KEEP - errlog_count) % ERRLOG_KEEP;
	for (i = 0; i < errlog_count && !rc; i++) {
		const struct errlog_entry *e =
			&errlog_ring[(first + i) % ERRLOG_KEEP];
		char stamp[32];
		struct tm tm;

		if (!gmtime_r(&e->when, &tm) ||
		    !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm))
			snprintf(stamp, sizeof(stamp), "%lld",
				 (long long)e->when);
		rc = buf_printf(out, "%s %s %ld %s\n", stamp, e->where,
				e->status, e->msg);
	}
	pthread_mutex_unlock(&errlog_lock);
	return rc;
}

void errlog_clear(void)
{
	pthread_mutex_lock(&errlog_lock);
	errlog_next = 0;
	errlog_count = 0;
	pthread_mutex_unlock(&errlog_lock);
}

/*
 * buf: a growable, always NUL-terminated byte buffer.
 *
 * Capacity counts the terminator, so cap >= len + 1 whenever data is
 * allocated. Growth doubles (from 64 bytes) to keep appends amortised O(1);
 * every size computation is checked for overflow so a huge request fails
 * with -ENOMEM instead of wrapping. Nothing is changed until the new memory
 * is in hand, which is what lets each function promise "on failure the
 * buffer is as it was".
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

/* Makes room for `need` bytes of content plus the terminator.
 * Returns 0 or -ENOMEM (buffer untouched). */
static int buf_reserve(struct buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need >= SIZE_MAX)
		return -ENOMEM;
	if (b->data && need + 1 <= b->cap)
		return 0;
	cap = b->cap > BUF_MIN_CAP ? b->cap : BUF_MIN_CAP;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2) {
			cap = need + 1;
			break;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	if (!b->data)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Returns 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t len)
{
	const char *src = data;
	size_t off = 0;
	int inside;
	int rc;

	if (len > SIZE_MAX - 1 - b->len)
		return -ENOMEM;
	/* Appending part of the buffer to itself must survive the realloc. */
	inside = b->data && (uintptr_t)src >= (uintptr_t)b->data &&
		 (uintptr_t)src < (uintptr_t)b->data + b->cap;
	if (inside)
		off = (size_t)((uintptr_t)src - (uintptr_t)b->data);
	rc = buf_reserve(b, b->len + len);
	if (rc)
		return rc;
	if (inside)
		src = b->data + off;
	if (len)
		memmove(b->data + b->len, src, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

/* Returns 0 or -ENOMEM. */
int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Returns 0 or -ENOMEM (also for an encoding error from vsnprintf, which
 * glibc reports only for invalid wide characters: treated as "cannot"). */
int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n, rc;

	rc = buf_reserve(b, b->len);
	if (rc)
		return rc;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return -ENOMEM;
	}
	if ((size_t)n >= room) {
		/* The truncated attempt wrote only past len: restore the
		 * terminator before anything can fail. */
		b->data[b->len] = '\0';
		rc = buf_reserve(b, b->len + (size_t)n);
		if (rc)
			return rc;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

/* Grows or shrinks to exactly len bytes (new bytes are zero). 0 or -ENOMEM. */
int buf_resize(struct buf *b, size_t len)
{
	int rc;

	if (len > b->len) {
		rc = buf_reserve(b, len);
		if (rc)
			return rc;
		memset(b->data + b->len, 0, len - b->len);
	} else if (!b->data) {
		/* len == 0 on a zeroed buffer: nothing to do. */
		return 0;
	}
	b->len = len;
	b->data[len] = '\0';
	return 0;
}

const char *buf_at(const struct buf *b, size_t off)
{
	/* Only an empty buffer has no data, and only 0 is in range then. */
	return b->data ? b->data + off : "";
}

/* Gives up ownership of the data (never NULL: "" when empty). */
char *buf_steal(struct buf *b)
{
	char *p = b->data;

	if (!p) {
		/* "Never NULL" lets callers skip a check; a failing 1-byte
		 * allocation means the process cannot go on anyway. */
		p = calloc(1, 1);
		if (!p)
			abort();
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

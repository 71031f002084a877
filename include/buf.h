/*
 * buf: a growable byte buffer, always NUL-terminated.
 *
 * Contract: every function keeps data[len] == '\0'. On allocation failure
 * the functions return -ENOMEM and leave the buffer as it was. A zeroed
 * struct buf is an empty buffer: its data is NULL until something is
 * added, so read the content through buf_at, which is never NULL. Not
 * thread-safe: one owner at a time.
 */
#ifndef MSFS_BUF_H
#define MSFS_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Returns 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t len);
/* Returns 0 or -ENOMEM. */
int buf_puts(struct buf *b, const char *s);
/* printf into the buffer. Returns 0 or -ENOMEM. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Grows or shrinks to exactly len bytes (new bytes are zero). 0 or -ENOMEM. */
int buf_resize(struct buf *b, size_t len);
/* The content from byte off on (off <= len), NUL-terminated: never NULL,
 * "" for an empty buffer. Valid until the buffer next changes. */
const char *buf_at(const struct buf *b, size_t off);
/* Gives up ownership of the data (never NULL: "" when empty). */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif

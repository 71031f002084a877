/* Unit tests for buf.c: growth, NUL termination, printf, resize, steal. */
#include "buf.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int terminated(const struct buf *b)
{
	return b->data && b->data[b->len] == '\0' && b->cap > b->len;
}

int main(void)
{
	struct buf b = {0};
	char big[1000];
	char *s;
	size_t i;
	int rc;

	ok(buf_at(&b, 0) && tap_streq(buf_at(&b, 0), ""),
	   "buf_at of a zeroed buffer: \"\", not NULL");
	rc = buf_append(&b, "", 0);
	ok(rc == 0 && tap_streq(buf_at(&b, 0), ""),
	   "buf_at after an empty append: \"\"");
	buf_free(&b);
	rc = buf_resize(&b, 0);
	ok(rc == 0 && tap_streq(buf_at(&b, b.len), ""),
	   "buf_at at the end of an empty resize: \"\"");

	rc = buf_append(&b, "abc", 3);
	ok(rc == 0 && b.len == 3 && tap_streq(b.data, "abc"),
	   "append to a zeroed buffer");
	ok(tap_streq(buf_at(&b, 0), "abc") && tap_streq(buf_at(&b, 1), "bc") &&
		   tap_streq(buf_at(&b, 3), ""),
	   "buf_at: the content from an offset, \"\" at the end");
	ok(terminated(&b), "terminated after append");

	rc = buf_append(&b, "", 0);
	ok(rc == 0 && b.len == 3 && terminated(&b), "empty append is a no-op");

	rc = buf_puts(&b, "def");
	ok(rc == 0 && tap_streq(b.data, "abcdef"), "puts appends");

	rc = buf_append(&b, "x\0y", 3);
	ok(rc == 0 && b.len == 9 && memcmp(b.data + 6, "x\0y", 3) == 0 &&
		   terminated(&b),
	   "append keeps embedded NULs and counts them");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0,
	   "free zeroes the struct");

	for (i = 0; i < 10000; i++)
		if (buf_puts(&b, "0123456789"))
			break;
	ok(i == 10000 && b.len == 100000 && terminated(&b),
	   "many appends grow the buffer");
	ok(memcmp(b.data + 99990, "0123456789", 10) == 0,
	   "content survives growth");
	buf_free(&b);

	rc = buf_printf(&b, "%d-%s", 42, "x");
	ok(rc == 0 && tap_streq(b.data, "42-x"), "printf into empty buffer");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rc = buf_printf(&b, "[%s]", big);
	ok(rc == 0 && b.len == 4 + 2 + 999 && b.data[4] == '[' &&
		   b.data[b.len - 1] == ']' && terminated(&b),
	   "printf larger than the spare room");
	rc = buf_printf(&b, "%s", "");
	ok(rc == 0 && b.len == 1005, "printf of nothing");
	buf_free(&b);

	buf_puts(&b, "half");
	rc = buf_append(&b, b.data, b.len);
	ok(rc == 0 && tap_streq(b.data, "halfhalf"), "append from itself");
	for (i = 0; i < 6; i++)
		buf_append(&b, b.data, b.len);
	ok(b.len == 8 * 64 && strncmp(b.data + b.len - 4, "half", 4) == 0,
	   "self-append across reallocs");
	buf_free(&b);

	rc = buf_resize(&b, 0);
	ok(rc == 0 && b.len == 0, "resize a zeroed buffer to 0");
	rc = buf_resize(&b, 5);
	ok(rc == 0 && b.len == 5 && memcmp(b.data, "\0\0\0\0\0", 6) == 0,
	   "resize grows with zero bytes");
	buf_free(&b);
	buf_puts(&b, "hello world");
	rc = buf_resize(&b, 5);
	ok(rc == 0 && tap_streq(b.data, "hello") && b.len == 5,
	   "resize shrinks and terminates");
	rc = buf_resize(&b, 8);
	ok(rc == 0 && b.len == 8 && memcmp(b.data, "hello\0\0\0\0", 9) == 0,
	   "regrow zeroes the bytes past the old length");

	s = buf_steal(&b);
	ok(tap_streq(s, "hello") && b.data == NULL && b.len == 0,
	   "steal hands over the data and empties the buffer");
	free(s);
	s = buf_steal(&b);
	ok(s && s[0] == '\0', "steal of an empty buffer gives \"\"");
	free(s);

	rc = buf_append(&b, "x", (size_t)-1);
	ok(rc == -ENOMEM && b.data == NULL, "overflowing length is -ENOMEM");
	buf_puts(&b, "keep");
	rc = buf_append(&b, "x", (size_t)-3);
	ok(rc == -ENOMEM && tap_streq(b.data, "keep") && b.len == 4,
	   "failed append leaves the buffer as it was");
	rc = buf_resize(&b, (size_t)-1);
	ok(rc == -ENOMEM && tap_streq(b.data, "keep"),
	   "failed resize leaves the buffer as it was");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0,
	   "free empties the buffer");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0,
	   "a second free of an emptied buffer leaves it empty");
	rc = buf_puts(&b, "again");
	ok(rc == 0 && tap_streq(b.data, "again") && b.len == 5,
	   "a freed buffer is ready for use again");
	buf_free(&b);

	return done_testing();
}

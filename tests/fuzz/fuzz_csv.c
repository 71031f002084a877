/*
 * fuzz_csv.c: the control-file line formats (csv.h) on arbitrary bytes.
 *
 * The whole input is split as one line with ',' and with ' ' (blanks),
 * and csv_each_line walks it, splitting and blank-testing every line as
 * edits.c does for grant and chapters files. Properties:
 *  - csv_split returns 0 with 1..CSV_MAX_FIELDS fields (0 only for a
 *    blank line with ' '), or -EINVAL with a reason and no fields;
 *  - the fields survive a round trip: written back with every field
 *    quoted, the line splits into the same fields;
 *  - csv_each_line hands out every byte but the '\n's exactly once, in
 *    order, numbers lines from 1 and stops where the callback says.
 */
#include <errno.h>

#include "buf.h"
#include "csv.h"
#include "fuzz.h"

/* Every field quoted, its quotes doubled, joined by sep. */
static char *quote_all(const struct csv_fields *f, char sep)
{
	struct buf b = {0};
	const char *c;
	int i;

	for (i = 0; i < f->n; i++) {
		if (i)
			CHECK(buf_append(&b, &sep, 1) == 0);
		CHECK(buf_puts(&b, "\"") == 0);
		for (c = f->f[i]; *c; c++)
			CHECK(buf_append(&b, c, 1) == 0 &&
			      (*c != '"' || buf_append(&b, c, 1) == 0));
		CHECK(buf_puts(&b, "\"") == 0);
	}
	return buf_steal(&b);
}

static void check_split(const char *line, size_t len, char sep)
{
	struct csv_fields f, again;
	const char *why = NULL;
	char *quoted;
	int rc = csv_split(line, len, sep, &f, &why), i;

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(why != NULL && *why);
		CHECK(f.n == 0);
		return;
	}
	CHECK(why == NULL);
	CHECK(f.n >= (sep == ' ' ? 0 : 1) && f.n <= CSV_MAX_FIELDS);
	for (i = 0; i < f.n; i++) {
		CHECK(f.f[i] != NULL);
		CHECK(strlen(f.f[i]) <= len);
	}

	quoted = quote_all(&f, sep);
	rc = csv_split(quoted, strlen(quoted), sep, &again, &why);
	CHECK(rc == 0);
	CHECK(again.n == f.n);
	for (i = 0; i < f.n; i++)
		CHECK(strcmp(again.f[i], f.f[i]) == 0);
	csv_fields_free(&again);
	free(quoted);
	csv_fields_free(&f);
	CHECK(f.n == 0);
}

struct walk {
	const char *text;
	size_t len;
	size_t next; /* offset where the next line must start */
	int lineno;
	int stop_at; /* the line whose callback returns non-zero */
};

static int on_line(void *arg, int lineno, const char *line, size_t len)
{
	struct walk *w = arg;

	CHECK(lineno == ++w->lineno);
	CHECK(line == w->text + w->next);
	CHECK(len <= w->len - w->next);
	CHECK(memchr(line, '\n', len) == NULL);
	CHECK(w->next + len == w->len || line[len] == '\n');
	w->next += len + 1;

	(void)csv_is_blank(line, len);
	check_split(line, len, ',');
	check_split(line, len, ' ');
	return lineno == w->stop_at ? 7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct walk w = {text, size, 0, 0, 0};
	size_t newlines = 0, i;
	int rc;

	(void)csv_is_blank(text, size);
	check_split(text, size, ',');
	check_split(text, size, ' ');

	for (i = 0; i < size; i++)
		newlines += text[i] == '\n';
	rc = csv_each_line(text, size, on_line, &w);
	CHECK(rc == 0);
	/* Every byte was seen: the last line ends at the end of the text
	 * (an input ending in '\n' has no empty line after it). */
	if (size == 0 || text[size - 1] == '\n') {
		CHECK(w.lineno == (int)newlines);
		CHECK(w.next == size);
	} else {
		CHECK(w.lineno == (int)newlines + 1);
		CHECK(w.next == size + 1);
	}

	/* Stopping: the callback's value comes back, later lines unseen. */
	if (w.lineno > 0) {
		struct walk s = {text, size, 0, 0, 1 + (int)(size % w.lineno)};

		rc = csv_each_line(text, size, on_line, &s);
		CHECK(rc == 7);
		CHECK(s.lineno == s.stop_at);
	}
	return 0;
}

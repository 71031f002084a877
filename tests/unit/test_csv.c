/*
 * test_csv: the grant and chapters line formats, and the cells of the
 * CSV files the mount shows.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "buf.h"
#include "tap.h"

/* Makes text printable on one TAP line (three results may be live at
 * once). */
static const char *esc(const char *s, size_t len)
{
	static char bufs[3][256];
	static int which;
	char *o, *end;

	which = (which + 1) % 3;
	o = bufs[which];
	end = o + sizeof(bufs[0]) - 3;
	size_t i;

	for (i = 0; i < len && o < end; i++) {
		switch (s[i]) {
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		case '\0':
			*o++ = '\\';
			*o++ = '0';
			break;
		default:
			*o++ = s[i];
		}
	}
	*o = '\0';
	return bufs[which];
}

/* Splits s and compares with the fields in want, joined by '|'. */
static void split_ok(const char *s, char sep, const char *want)
{
	struct csv_fields f;
	struct buf b = {0};
	const char *why = NULL;
	int rc, i;

	rc = csv_split(s, strlen(s), sep, &f, &why);
	for (i = 0; rc == 0 && i < f.n; i++)
		buf_printf(&b, "%s%s", i ? "|" : "", f.f[i]);
	ok(rc == 0 && tap_streq(b.data ? b.data : "", want),
	   "'%c' split [%s] -> [%s] (got rc %d [%s])", sep, esc(s, strlen(s)),
	   want, rc, b.data ? b.data : "");
	if (rc == 0)
		csv_fields_free(&f);
	buf_free(&b);
}

static void split_count(const char *s, char sep, int n)
{
	struct csv_fields f;
	const char *why;
	int rc;

	rc = csv_split(s, strlen(s), sep, &f, &why);
	ok(rc == 0 && f.n == n, "'%c' split [%s] has %d fields (got %d)", sep,
	   esc(s, strlen(s)), n, rc == 0 ? f.n : rc);
	if (rc == 0)
		csv_fields_free(&f);
}

static void split_bad(const char *s, size_t len, char sep, const char *why_want)
{
	struct csv_fields f;
	const char *why = NULL;
	int rc;

	rc = csv_split(s, len, sep, &f, &why);
	ok(rc == -EINVAL && f.n == 0 && tap_streq(why, why_want),
	   "'%c' split [%s] refused: %s (got %d, %s)", sep, esc(s, len),
	   why_want, rc, why ? why : "(null)");
	if (rc == 0)
		csv_fields_free(&f);
}

static void test_grant_lines(void)
{
	split_ok("a@b.c", ',', "a@b.c");
	split_ok("a@b.c,Ann,Smith,ord-1", ',', "a@b.c|Ann|Smith|ord-1");
	split_ok("  a@b.c , Ann ,\tSmith\t", ',', "a@b.c|Ann|Smith");
	split_ok("a@b.c,\"Smith, Ann\"", ',', "a@b.c|Smith, Ann");
	split_ok("a@b.c,\"say \"\"hi\"\"\"", ',', "a@b.c|say \"hi\"");
	split_ok("a@b.c,\"\"", ',', "a@b.c|");
	split_ok("\"\"\"\"", ',', "\"");
	split_ok("a@b.c, \"  spaced  \" ,x", ',', "a@b.c|  spaced  |x");
	split_ok("a@b.c,,Smith", ',', "a@b.c||Smith");
	split_ok("a@b.c,", ',', "a@b.c|");
	split_ok("a@b.c,Ann\r", ',', "a@b.c|Ann");
	split_ok("a@b.c,\"Ann\"\r", ',', "a@b.c|Ann");
	split_ok("a@b.c,O\"Brien", ',', "a@b.c|O\"Brien");
	split_ok("a b@c.d", ',', "a b@c.d");
	split_ok("a@b.c,Jürgen", ',', "a@b.c|Jürgen");
	split_count("", ',', 1);
	split_count(",,,", ',', 4);
	split_count("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", ',', 16);

	split_bad("a@b.c,\"Ann", 10, ',', "unterminated quote");
	split_bad("\"a\"\"", 4, ',', "unterminated quote");
	split_bad("a@b.c,\"Ann\"x", 12, ',', "text after a closing quote");
	split_bad("a@b.c,\"Ann\" x,y", 15, ',', "text after a closing quote");
	split_bad("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", 41, ',',
		  "too many fields");
	split_bad("a@b.c\0,Ann", 10, ',', "NUL byte in line");
}

static void test_chapter_lines(void)
{
	split_ok("course-1 chapter-2", ' ', "course-1|chapter-2");
	split_ok("course-1\tchapter-2", ' ', "course-1|chapter-2");
	split_ok("  course-1 \t  chapter-2  ", ' ', "course-1|chapter-2");
	split_ok("\"course one\" chapter-2", ' ', "course one|chapter-2");
	split_ok("c \"ch \"\"2\"\"\"", ' ', "c|ch \"2\"");
	split_ok("c ch\r", ' ', "c|ch");
	split_ok("a,b c", ' ', "a,b|c");
	split_count("", ' ', 0);
	split_count("   \t ", ' ', 0);
	split_count("one", ' ', 1);
	split_count("a b c", ' ', 3);
	split_bad("\"course one chapter", 19, ' ', "unterminated quote");
	split_bad("\"course\"one ch", 14, ' ', "text after a closing quote");
	split_bad("a b c d e f g h i j k l m n o p q", 33, ' ',
		  "too many fields");
}

static void test_blank(void)
{
	ok(csv_is_blank("", 0), "empty line is blank");
	ok(csv_is_blank("  \t", 3), "blanks are blank");
	ok(csv_is_blank("\r", 1), "a lone CR is blank");
	ok(csv_is_blank("# comment", 9), "a comment is blank");
	ok(csv_is_blank("  # indented comment", 20), "an indented comment too");
	ok(!csv_is_blank("a@b.c # x", 9), "a line with text is not");
	ok(!csv_is_blank(" x", 2), "nor one with leading blanks");
}

struct seen {
	struct buf b;
	int stop_at;
};

static int record(void *arg, int lineno, const char *line, size_t len)
{
	struct seen *s = arg;

	buf_printf(&s->b, "%d:%.*s;", lineno, (int)len, line);
	return lineno == s->stop_at ? 42 : 0;
}

static void each_line(const char *text, int stop_at, int want_rc,
		      const char *want)
{
	struct seen s = {.stop_at = stop_at};
	int rc = csv_each_line(text, strlen(text), record, &s);

	ok(rc == want_rc && tap_streq(s.b.data ? s.b.data : "", want),
	   "lines of [%s] -> [%s] (got %d [%s])", esc(text, strlen(text)),
	   esc(want, strlen(want)), rc, esc(s.b.data ? s.b.data : "", s.b.len));
	buf_free(&s.b);
}

static void test_each_line(void)
{
	each_line("", 0, 0, "");
	each_line("a\n", 0, 0, "1:a;");
	each_line("a", 0, 0, "1:a;");
	each_line("a\nb", 0, 0, "1:a;2:b;");
	each_line("a\n\nb\n", 0, 0, "1:a;2:;3:b;");
	each_line("a\r\nb\r\n", 0, 0, "1:a\r;2:b\r;");
	each_line("\n", 0, 0, "1:;");
	each_line("a\nb\nc\n", 2, 42, "1:a;2:b;");
}

/* Cells: RFC 4180 quoting and the OWASP formula guard, as a table. */
static void test_cells(void)
{
	static const struct {
		const char *in;
		int as_number;
		const char *want;
	} cases[] = {
		{"plain", 0, "plain"},
		{"", 0, ""},
		{"a,b", 0, "\"a,b\""},
		{"say \"hi\"", 0, "\"say \"\"hi\"\"\""},
		{"two\nlines", 0, "\"two\nlines\""},
		{"=SUM(A1)", 0, "'=SUM(A1)"},
		{"+1", 0, "'+1"},
		{"-1", 0, "'-1"},
		{"-1", 1, "-1"},
		{"@x", 0, "'@x"},
		{"\tx", 0, "'\tx"},
		{"\rx", 0, "\"'\rx\""},
		{"=a,b", 0, "\"'=a,b\""},
		{"a=b", 0, "a=b"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = {0};
		int rc = csv_put_cell(&b, cases[i].in, cases[i].as_number);

		ok(rc == 0 && tap_streq(b.data ? b.data : "", cases[i].want),
		   "cell %s -> %s", esc(cases[i].in, strlen(cases[i].in)),
		   esc(cases[i].want, strlen(cases[i].want)));
		buf_free(&b);
	}
}

int main(void)
{
	test_cells();
	test_grant_lines();
	test_chapter_lines();
	test_blank();
	test_each_line();
	return done_testing();
}

/*
 * csv: the line formats of the control files.
 *
 * grant lines (offers/O/grant): EMAIL[,FIRSTNAME[,LASTNAME[,ORDER_ID]]],
 * RFC 4180 quoting ("a, b" and "say ""hi"""), surrounding blanks of
 * unquoted fields trimmed, a trailing '\r' dropped. Blank lines and lines
 * starting with '#' are skipped by the caller (csv_is_blank).
 * chapters lines (users/E/chapters): COURSE_ID CHAPTER_ID separated by
 * blanks or a tab; the same quoting applies so ids with spaces can be
 * given as "a b".
 * Writing: csv_put_cell appends one cell of a CSV file the mount shows
 * (exams/X/results.csv, users.csv, offers/O/members.csv).
 * Pure functions, no I/O.
 */
#ifndef MSFS_CSV_H
#define MSFS_CSV_H

#include <stddef.h>

#include "buf.h"

#define CSV_MAX_FIELDS 16

struct csv_fields {
	int n;
	char *f[CSV_MAX_FIELDS]; /* malloc'd, NUL-terminated */
};

/* 1 when the line holds only blanks or is a '#' comment. */
int csv_is_blank(const char *line, size_t len);
/* Splits one line on `sep` (',' for grants; ' ' means "runs of blanks or
 * tabs"). Returns 0, -EINVAL (unterminated quote, text after a closing
 * quote, NUL byte, more than CSV_MAX_FIELDS fields) with *why set to a
 * static reason, -ENOMEM. */
int csv_split(const char *line, size_t len, char sep, struct csv_fields *out,
	      const char **why);
void csv_fields_free(struct csv_fields *f);

/* Calls fn for each complete line of text (the last one may lack '\n');
 * line excludes the '\n'. lineno counts from 1. Stops when fn returns
 * non-zero and returns that. */
int csv_each_line(const char *text, size_t len,
		  int (*fn)(void *arg, int lineno, const char *line,
			    size_t len),
		  void *arg);

/* Appends text s as one cell: RFC 4180 (a cell holding a comma, quote,
 * CR or LF is quoted, quotes doubled), and a cell starting with '=',
 * '+', '-', '@', a tab or a CR gets a leading "'" (OWASP's "CSV
 * injection": spreadsheets then read it as text), except when as_number
 * (a JSON number: "-3.5" carries no formula and stays a number).
 * 0 or -ENOMEM. */
int csv_put_cell(struct buf *out, const char *s, int as_number);

#endif

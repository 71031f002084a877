/*
 * csv: splitting the lines of the control files into fields.
 *
 * One pass over the line with an index; each field is copied out as it is
 * recognised, so quoted fields can lose their doubled quotes on the way.
 * The grammar is RFC 4180 with two kindnesses for people typing at a
 * shell: blanks around a field (and around a quoted one) are ignored, and
 * a '"' inside an unquoted field is taken literally rather than refused.
 * What stays an error is what would silently change the meaning of a line:
 * an unterminated quote, text glued to a closing quote, a NUL byte (a C
 * string would cut the field short) and more fields than any line has.
 * Errors carry a static reason for .memberspot/errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int csv_is_blank(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (is_blank(line[i]) || line[i] == '\r'))
		i++;
	return i == len || line[i] == '#';
}

void csv_fields_free(struct csv_fields *f)
{
	int i;

	for (i = 0; i < f->n; i++)
		free(f->f[i]);
	memset(f, 0, sizeof(*f));
}

/* Appends a copy of the field; when the field was quoted, q marks it so
 * that doubled quotes collapse. */
static int push(struct csv_fields *out, const char *s, size_t len, int q,
		const char **why)
{
	char *f, *o;
	size_t i;

	if (out->n == CSV_MAX_FIELDS) {
		*why = "too many fields";
		return -EINVAL;
	}
	f = malloc(len + 1);
	if (!f) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (i = 0, o = f; i < len; i++) {
		*o++ = s[i];
		if (q && s[i] == '"')
			i++; /* the second of a pair */
	}
	*o = '\0';
	out->f[out->n++] = f;
	return 0;
}

/* Scans a quoted field starting after its opening quote. Returns the index
 * of the closing quote, or len when there is none. */
static size_t closing_quote(const char *line, size_t len, size_t i)
{
	for (; i < len; i++) {
		if (line[i] != '"')
			continue;
		if (i + 1 < len && line[i + 1] == '"')
			i++;
		else
			return i;
	}
	return len;
}

int csv_split(const char *line, size_t len, char sep, struct csv_fields *out,
	      const char **why)
{
	int blanks = sep == ' ';
	size_t i = 0, start, end;
	int rc;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (memchr(line, '\0', len)) {
		*why = "NUL byte in line";
		return -EINVAL;
	}
	if (len && line[len - 1] == '\r')
		len--;
	while (i < len && is_blank(line[i]))
		i++;
	if (blanks && i == len)
		return 0;

	for (;;) {
		while (i < len && is_blank(line[i]))
			i++;
		if (i < len && line[i] == '"') {
			start = i + 1;
			end = closing_quote(line, len, start);
			if (end == len) {
				*why = "unterminated quote";
				rc = -EINVAL;
				goto fail;
			}
			rc = push(out, line + start, end - start, 1, why);
			if (rc)
				goto fail;
			i = end + 1;
			while (i < len && is_blank(line[i]))
				i++;
			if (i < len && !blanks && line[i] != sep) {
				*why = "text after a closing quote";
				rc = -EINVAL;
				goto fail;
			}
			if (blanks && i < len && !is_blank(line[i - 1])) {
				*why = "text after a closing quote";
				rc = -EINVAL;
				goto fail;
			}
		} else {
			start = i;
			while (i < len && line[i] != sep &&
			       !(blanks && is_blank(line[i])))
				i++;
			end = i;
			while (end > start && is_blank(line[end - 1]))
				end--;
			rc = push(out, line + start, end - start, 0, why);
			if (rc)
				goto fail;
			while (blanks && i < len && is_blank(line[i]))
				i++;
		}
		if (i == len)
			return 0;
		if (!blanks)
			i++; /* the separator */
	}

fail:
	csv_fields_free(out);
	return rc;
}

int csv_each_line(const char *text, size_t len,
		  int (*fn)(void *arg, int lineno, const char *line,
			    size_t len),
		  void *arg)
{
	const char *p = text, *end = text + len, *nl;
	int lineno = 0, rc;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		rc = fn(arg, ++lineno, p,
			nl ? (size_t)(nl - p) : (size_t)(end - p));
		if (rc)
			return rc;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/*
 * Writing. The guard goes inside the quotes: a spreadsheet unquotes the
 * cell first and then looks at its first character. A server's text must
 * not run as a formula on an admin's machine.
 */
int csv_put_cell(struct buf *out, const char *s, int as_number)
{
	int guard = !as_number && *s && strchr("=+-@\t\r", *s);
	int quote = strpbrk(s, ",\"\r\n") != NULL;
	const char *p;
	int rc = 0;

	if (quote)
		rc = buf_puts(out, "\"");
	if (!rc && guard)
		rc = buf_puts(out, "'");
	if (!quote)
		return rc ? rc : buf_puts(out, s);
	for (p = s; !rc && *p; p++)
		rc = *p == '"' ? buf_puts(out, "\"\"") : buf_append(out, p, 1);
	return rc ? rc : buf_puts(out, "\"");
}

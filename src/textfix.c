/*
 * textfix: U+FFFD for what JSON cannot carry (see include/textfix.h).
 *
 * textfix_json makes one pass that only counts, so well-formed text (all
 * of it, nearly always) costs a scan and no allocation, and a second pass
 * that writes. A backslash always starts a two-character escape in JSON
 * text (outside strings it is a syntax error either way), so escapes are
 * taken in pairs and "\\u" is never mistaken for the start of \u.
 */
#include "textfix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

static const char fffd_utf8[] = "\xef\xbf\xbd";
static const char fffd_escape[] = "\\uFFFD";

/* Appends s[0..n) to out at *o; out NULL only counts. */
static void put(char *out, size_t *o, const char *s, size_t n)
{
	if (out)
		memcpy(out + *o, s, n);
	*o += n;
}

size_t textfix_utf8(const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0, k;

	for (;;) {
		k = input_utf8_span(in + i, len - i);
		put(out, &o, in + i, k);
		i += k;
		if (i == len)
			return o;
		put(out, &o, fffd_utf8, 3);
		i++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of a \uXXXX escape at s[0..n), or -1 for none. */
static long escape_unit(const char *s, size_t n)
{
	long v = 0;
	int i, d;

	if (n < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++) {
		d = hexval(s[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * One pass over in; out NULL only counts. Returns the replacements made,
 * and the output length in *olen.
 */
static long fix(const char *in, size_t len, char *out, size_t *olen)
{
	size_t i = 0, o = 0, k;
	long fixes = 0, u, next;

	while (i < len) {
		/* A run of well-formed UTF-8 up to the next backslash. */
		const char *bs = memchr(in + i, '\\', len - i);
		size_t stop = bs ? (size_t)(bs - in) : len;

		k = input_utf8_span(in + i, stop - i);
		put(out, &o, in + i, k);
		i += k;
		if (i < stop) { /* a bad byte */
			put(out, &o, fffd_utf8, 3);
			i++;
			fixes++;
			continue;
		}
		if (i == len)
			break;
		/* in[i] is a backslash. */
		u = escape_unit(in + i, len - i);
		if (u >= 0xd800 && u <= 0xdbff) {
			next = escape_unit(in + i + 6, len - i - 6);
			if (next >= 0xdc00 && next <= 0xdfff) { /* a pair */
				put(out, &o, in + i, 12);
				i += 12;
				continue;
			}
		}
		if (u >= 0xd800 && u <= 0xdfff) {
			put(out, &o, fffd_escape, 6);
			i += 6;
			fixes++;
			continue;
		}
		/* Any other escape: the backslash and what it escapes, unless
		 * that is not ASCII: the next round judges it as text then. */
		k = i + 1 < len && (unsigned char)in[i + 1] < 0x80 && in[i + 1]
			    ? 2
			    : 1;
		put(out, &o, in + i, k);
		i += k;
	}
	*olen = o;
	return fixes;
}

long textfix_json(const char *in, size_t len, char **out, size_t *outlen)
{
	size_t n;
	long fixes;

	*out = NULL;
	*outlen = 0;
	fixes = fix(in, len, NULL, &n);
	if (!fixes)
		return 0;
	*out = malloc(n + 1);
	if (!*out)
		return -ENOMEM;
	fix(in, len, *out, outlen);
	(*out)[*outlen] = '\0';
	return fixes;
}

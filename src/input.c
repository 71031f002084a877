/*
 * input.c - validating what users write.
 *
 * The rule everywhere: reject anything that is not clearly meant, with a
 * reason a person can act on, and never guess. A value is one line of text;
 * a state is one of a few words; properties.json must parse completely
 * (nothing after the object) and name only defined properties. Binary junk
 * fails on its first control byte or NUL.
 *
 * All text must be UTF-8, since every value ends up in a JSON request
 * body. The check follows Unicode's table of well-formed byte sequences
 * directly: the lead byte fixes the length and the allowed range of the
 * second byte (which is where overlongs, surrogates and code points past
 * U+10FFFF show), later bytes are plain continuations. Latin-1 text fails
 * on its first accented letter, and the reason says so.
 */
#include "input.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model.h"

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ------------------------------------------------------------------------
 * UTF-8
 * ---------------------------------------------------------------------- */

/* Length of the well-formed sequence at s[0..n) (n >= 1), 0 when there is
 * none or it is NUL. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	/* 80..C1: a continuation, or the lead of an overlong ASCII;
	 * F5..FF: past U+10FFFF or never used. */
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong below U+0800 */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong below U+10000 */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* 1 when the 8 bytes at u are ASCII and none is NUL. */
static int ascii8(const unsigned char *u)
{
	const uint64_t high = 0x8080808080808080ull;
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t w;

	memcpy(&w, u, sizeof(w));
	return !(w & high) && !((w - ones) & ~w & high);
}

size_t input_utf8_span(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		/* API answers are mostly ASCII: 8 bytes at a time where they
		 * are (byte by byte, a tenth of a listing's CPU time went
		 * here). */
		if (n - i >= 8 && ascii8(u + i)) {
			i += 8;
			continue;
		}
		k = utf8_seq(u + i, n - i);
		if (!k)
			break;
		i += k;
	}
	return i;
}

bool input_utf8_valid(const char *s, size_t n)
{
	return input_utf8_span(s, n) == n;
}

int input_utf8(const char *data, size_t len, char *why, size_t whylen)
{
	size_t at = input_utf8_span(data, len);
	unsigned char c;

	if (at == len)
		return 0;
	c = (unsigned char)data[at];
	if (!c)
		return refuse(why, whylen,
			      "NUL byte at byte %zu: text expected", at);
	return refuse(why, whylen,
		      "not UTF-8 at byte %zu (0x%02x): save the text as "
		      "UTF-8 (Latin-1 or binary?)",
		      at, c);
}

/* 1 when s[0..n) is the start of a well-formed sequence that needs more
 * bytes than n: a character cut at the end of what was written so far. */
static int utf8_cut(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (!n || s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n >= len || (n >= 2 && (s[1] < lo || s[1] > hi)))
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

int input_utf8_prefix(const char *data, size_t len, char *why, size_t whylen)
{
	size_t at = input_utf8_span(data, len);

	if (at == len || utf8_cut((const unsigned char *)data + at, len - at))
		return 0;
	return input_utf8(data, len, why, whylen);
}

/* ------------------------------------------------------------------------
 * Values, states, fields
 * ---------------------------------------------------------------------- */

int input_field(const char *what, const char *s, bool tab_ok, char *why,
		size_t whylen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; u[i]; i++)
		if ((u[i] < 0x20 && !(tab_ok && u[i] == '\t')) || u[i] == 0x7f)
			return refuse(why, whylen,
				      "control character 0x%02x in the %s",
				      u[i], what);
	return 0;
}

int input_value(const char *data, size_t len, char **out, char *why,
		size_t whylen)
{
	int r;

	size_t i;

	if (len && data[len - 1] == '\n')
		len--;
	if (len && data[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n')
			return refuse(why, whylen,
				      "one line expected, got several");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(why, whylen,
				      "control character 0x%02x at byte %zu "
				      "(binary data?)",
				      c, i);
	}
	r = input_utf8(data, len, why, whylen);
	if (r)
		return r;
	*out = strndup(len ? data : "", len); /* data may be NULL when empty */
	return *out ? 0 : -ENOMEM;
}

/* The state words, any case. */
static const struct {
	const char *word;
	bool active;
} states[] = {
	{"active", true}, {"inactive", false}, {"1", true},  {"0", false},
	{"true", true},	  {"false", false},    {"on", true}, {"off", false},
};
#define NSTATES (sizeof(states) / sizeof(states[0]))

int input_state(const char *data, size_t len, bool *active, char *why,
		size_t whylen)
{
	char *text, *w, *e;
	size_t i;
	int r = input_value(data, len, &text, why, whylen);

	if (r)
		return r;
	for (w = text; isspace((unsigned char)*w); w++)
		;
	for (e = w + strlen(w); e > w && isspace((unsigned char)e[-1]);)
		*--e = '\0';
	r = -EINVAL;
	for (i = 0; i < NSTATES; i++) {
		if (!strcasecmp(w, states[i].word)) {
			*active = states[i].active;
			r = 0;
		}
	}
	if (r)
		refuse(why, whylen,
		       "'%.40s' is not a state: write active or inactive", w);
	free(text);
	return r;
}

int input_value_prefix(const char *data, size_t len, char *why, size_t whylen)
{
	const char *nl = memchr(data, '\n', len);
	size_t n = nl ? (size_t)(nl - data) : len, i;

	if (nl && n + 1 < len)
		return refuse(why, whylen, "one line expected, got several");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];

		/* a CR may still be the first half of a CRLF ending */
		if (c == '\r' && i == n - 1)
			continue;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse(why, whylen,
				      "control character 0x%02x at byte %zu "
				      "(binary data?)",
				      c, i);
	}
	if (nl)
		return input_utf8(data, n, why, whylen);
	return input_utf8_prefix(data, n, why, whylen);
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

int input_state_prefix(const char *data, size_t len, char *why, size_t whylen)
{
	const char *nl, *w, *e, *end;
	size_t n, i;
	int whole, r = input_value_prefix(data, len, why, whylen);

	if (r)
		return r;
	nl = memchr(data, '\n', len);
	end = nl ? nl : data + len;
	if (end > data && end[-1] == '\r')
		end--;
	for (w = data; w < end && blank(*w); w++)
		;
	for (e = w; e < end && !blank(*e); e++)
		;
	n = (size_t)(e - w);
	if (!n)
		return 0;
	/* the word is whole once a blank or the line's end follows it */
	whole = e < end || nl;
	for (; e < end; e++)
		if (!blank(*e))
			return refuse(why, whylen,
				      "'%.*s' is not a state: write active "
				      "or inactive",
				      (int)(end - w < 40 ? end - w : 40), w);
	for (i = 0; i < NSTATES; i++) {
		size_t wl = strlen(states[i].word);

		if ((whole ? wl == n : wl >= n) &&
		    !strncasecmp(w, states[i].word, n))
			return 0;
	}
	return refuse(why, whylen,
		      "'%.*s' is not a state: write active or inactive",
		      (int)(n < 40 ? n : 40), w);
}

/* ------------------------------------------------------------------------
 * properties.json
 * ---------------------------------------------------------------------- */

static int is_scalar(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v) ||
	       cJSON_IsNull(v);
}

/* A JSON text escapes U+0000 as \u0000; cJSON would end the string
 * there and drop the rest unseen. A backslash escapes one only when an
 * odd run of backslashes leads up to the u (backslashes occur in JSON
 * only inside strings). */
static bool has_escaped_nul(const char *data, size_t len)
{
	size_t i, run;

	for (i = 0; i + 6 <= len; i++) {
		if (data[i] != '\\' || data[i + 1] != 'u' ||
		    memcmp(data + i + 2, "0000", 4))
			continue;
		for (run = 0; run < i && data[i - 1 - run] == '\\'; run++)
			;
		if (run % 2 == 0)
			return true;
	}
	return false;
}

/* Line breaks and tabs may be written in JSON strings (\n, \t); other
 * control characters are refused, as in value files. */
static int check_text(const char *what, const char *s, char *why, size_t whylen)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') ||
		    *p == 0x7f)
			return refuse(why, whylen,
				      "control character 0x%02x in %s", *p,
				      what);
	return 0;
}

/* Checks one name/value pair of properties.json and appends it to
 * changes when its value differs. */
static int diff_one(const cJSON *defs, const cJSON *current, const cJSON *doc,
		    const cJSON *it, cJSON *changes, char *why, size_t whylen)
{
	const cJSON *def, *cur, *dup;
	const char *id, *dup_id;
	cJSON *item;

	/* A property given twice, or by its name and by its id: which value
	 * is meant is anyone's guess. */
	def = model_propdef_find(defs, it->string);
	id = model_propdef_id(def);
	for (dup = doc->child; dup != it; dup = dup->next) {
		if (!strcmp(dup->string, it->string))
			return refuse(why, whylen, "name '%.60s' given twice",
				      it->string);
		dup_id =
			model_propdef_id(model_propdef_find(defs, dup->string));
		if (id && dup_id && !strcmp(id, dup_id))
			return refuse(why, whylen,
				      "'%.60s' and '%.60s' are the same "
				      "property",
				      dup->string, it->string);
	}
	if (!is_scalar(it))
		return refuse(why, whylen,
			      "value of '%.60s' must be a string, number, "
			      "boolean or null",
			      it->string);
	if (check_text("a property name", it->string, why, whylen) ||
	    (cJSON_IsString(it) &&
	     check_text("a value", it->valuestring, why, whylen)))
		return -EINVAL;
	/* A definition without an id cannot be set (properties.json does
	 * not show it either, and model_propdef_find passes over it). */
	if (!def && model_propdef_idless(defs, it->string))
		return refuse(why, whylen,
			      "property '%.60s' has no id in the school's "
			      "definitions: it cannot be set",
			      it->string);
	if (!def || !id)
		return refuse(why, whylen, "no property named '%.60s'",
			      it->string);
	cur = cJSON_GetObjectItemCaseSensitive(current, id);
	if (cur ? cJSON_Compare(cur, it, 1) : cJSON_IsNull(it))
		return 0;
	item = model_prop_item(id, cJSON_Duplicate(it, 1));
	if (!item || !cJSON_AddItemToArray(changes, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

int input_props_diff(const cJSON *defs, const cJSON *current, const char *data,
		     size_t len, cJSON **changes, char *why, size_t whylen)
{
	const char *end = NULL;
	const cJSON *it;
	cJSON *doc, *out;
	int r = 0;

	if (memchr(data, '\0', len))
		return refuse(why, whylen, "contains NUL bytes: not JSON");
	r = input_utf8(data, len, why, whylen);
	if (r)
		return r;
	if (has_escaped_nul(data, len))
		return refuse(why, whylen, "\\u0000 (NUL) in a string");
	doc = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (!doc)
		return refuse(why, whylen, "not valid JSON");
	while (end && end < data + len && isspace((unsigned char)*end))
		end++;
	if (end && end < data + len)
		r = refuse(why, whylen, "text after the JSON object");
	else if (!cJSON_IsObject(doc))
		r = refuse(why, whylen,
			   "a JSON object {\"name\": value, ...} expected");
	if (r)
		goto out;
	out = cJSON_CreateArray();
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, doc) {
		r = diff_one(defs, current, doc, it, out, why, whylen);
		if (r)
			break;
	}
	if (r)
		cJSON_Delete(out);
	else
		*changes = out;
out:
	cJSON_Delete(doc);
	return r;
}

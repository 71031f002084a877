/*
 * packrec: member records kept as compact JSON text, made smaller
 * (packrec.h).
 */
#include "packrec.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct packrec {
	pthread_mutex_t lock; /* guards learning */
	int n;		      /* entries published (atomic) */
	unsigned char len[PACKREC_KEYS];
	char key[PACKREC_KEYS][PACKREC_KEY_MAX]; /* `"k":` as written */
};

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" with its quotes */
#define TIME_LEN 26
#define TIME_BYTES 7

struct packrec *packrec_new(void)
{
	struct packrec *d = calloc(1, sizeof(*d));

	if (d)
		pthread_mutex_init(&d->lock, NULL);
	return d;
}

void packrec_free(struct packrec *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int packrec_keys(const struct packrec *d)
{
	return __atomic_load_n(&d->n, __ATOMIC_ACQUIRE);
}

static int find_key(const struct packrec *d, int n, const char *k, size_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (d->len[i] == len && !memcmp(d->key[i], k, len))
			return i;
	return -1;
}

/* The byte of key k (len bytes, `"k":`), learning it if there is room;
 * 0 when it stays as it is. */
static int key_byte(struct packrec *d, const char *k, size_t len)
{
	int n = __atomic_load_n(&d->n, __ATOMIC_ACQUIRE);
	int i = find_key(d, n, k, len);

	if (i >= 0)
		return i + 1;
	if (n == PACKREC_KEYS || len > PACKREC_KEY_MAX)
		return 0;
	pthread_mutex_lock(&d->lock);
	n = d->n;
	i = find_key(d, n, k, len);
	if (i < 0 && n < PACKREC_KEYS) {
		memcpy(d->key[n], k, len);
		d->len[n] = (unsigned char)len;
		__atomic_store_n(&d->n, n + 1, __ATOMIC_RELEASE);
		i = n;
	}
	pthread_mutex_unlock(&d->lock);
	return i + 1;
}

/* The value of `digits` decimal digits at s, or -1. */
static long digits_at(const char *s, int digits)
{
	long v = 0;
	int i;

	for (i = 0; i < digits; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The fields of a time string and the bits each takes, in order. */
static const struct {
	int at, digits, bits;
} time_fields[] = {
	{1, 4, 13}, {6, 2, 4},	{9, 2, 5},   {12, 2, 5},
	{15, 2, 6}, {18, 2, 6}, {21, 3, 10},
};
#define N_TIME_FIELDS (sizeof(time_fields) / sizeof(time_fields[0]))

/* Packs the string token s (TIME_LEN bytes, quotes included) into
 * TIME_BYTES bytes at out if it is a time whose fields fit; 0 if not. */
static int time_pack(const char *s, unsigned char *out)
{
	static const char shape[] = "\"0000-00-00T00:00:00.000Z\"";
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < TIME_LEN; i++)
		if (shape[i] != '0' && s[i] != shape[i])
			return 0;
	for (i = 0; i < N_TIME_FIELDS; i++) {
		long f =
			digits_at(s + time_fields[i].at, time_fields[i].digits);

		if (f < 0 || f >= (1L << time_fields[i].bits))
			return 0;
		v = v << time_fields[i].bits | (uint64_t)f;
	}
	for (i = 0; i < TIME_BYTES; i++)
		out[i] = 0x80 | ((v >> (7 * (TIME_BYTES - 1 - i))) & 0x7F);
	return 1;
}

/* The time string of TIME_BYTES bytes at in, appended to out; -EINVAL
 * when they are not such bytes. */
static int time_unpack(const unsigned char *in, struct buf *out)
{
	char text[TIME_LEN + 1];
	long f[N_TIME_FIELDS];
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < TIME_BYTES; i++) {
		if (!(in[i] & 0x80))
			return -EINVAL;
		v = v << 7 | (in[i] & 0x7F);
	}
	for (i = N_TIME_FIELDS; i-- > 0;) {
		f[i] = (long)(v & ((1u << time_fields[i].bits) - 1));
		v >>= time_fields[i].bits;
	}
	snprintf(text, sizeof(text),
		 "\"%04ld-%02ld-%02ldT%02ld:%02ld:%02ld.%03ldZ\"", f[0], f[1],
		 f[2], f[3], f[4], f[5], f[6]);
	return buf_append(out, text, TIME_LEN);
}

/* The end of the string token starting at s (its closing quote), or
 * NULL when it does not end. */
static const char *string_end(const char *s)
{
	for (s++; *s && *s != '"'; s++)
		if (*s == '\\' && s[1])
			s++;
	return *s ? s : NULL;
}

int packrec_pack_into(struct packrec *d, const char *json, struct buf *out)
{
	size_t start = out->len;
	const char *p = json, *end;
	unsigned char t[1 + TIME_BYTES];
	int r = 0, b;

	/* Bytes below 0x20 are the packed form's own. */
	for (end = json; *end; end++)
		if ((unsigned char)*end < 0x20)
			return -EINVAL;
	while (!r && *p) {
		size_t run = strcspn(p, "\"");

		r = buf_append(out, p, run);
		p += run;
		if (r || !*p)
			break;
		end = string_end(p);
		if (!end) {
			r = buf_puts(out, p);
			break;
		}
		if (end[1] == ':' && (b = key_byte(d, p, end + 2 - p))) {
			t[0] = (unsigned char)b;
			r = buf_append(out, t, 1);
			p = end + 2;
			continue;
		}
		if (end + 1 - p == TIME_LEN && end[1] != ':' &&
		    time_pack(p, t + 1)) {
			t[0] = PACKREC_TIME;
			r = buf_append(out, t, sizeof(t));
			p = end + 1;
			continue;
		}
		r = buf_append(out, p, end + 1 - p);
		p = end + 1;
	}
	if (r)
		buf_resize(out, start);
	return r;
}

char *packrec_pack(struct packrec *d, const char *json)
{
	struct buf out = {0};
	int r = packrec_pack_into(d, json, &out);

	if (r) {
		buf_free(&out);
		errno = -r;
		return NULL;
	}
	return buf_steal(&out);
}

int packrec_unpack(const struct packrec *d, const char *packed, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)packed;
	int n = __atomic_load_n(&d->n, __ATOMIC_ACQUIRE);
	int r = 0;

	while (!r && *p) {
		const unsigned char *run = p;

		while (*p >= 0x20)
			p++;
		if (p > run)
			r = buf_append(out, run, (size_t)(p - run));
		if (r || !*p)
			break;
		if (*p == PACKREC_TIME) {
			/* time_unpack stops at the NUL (no high bit). */
			r = time_unpack(p + 1, out);
			p += 1 + TIME_BYTES;
		} else if (*p <= n) {
			r = buf_append(out, d->key[*p - 1], d->len[*p - 1]);
			p++;
		} else {
			r = -EINVAL;
		}
	}
	return r;
}

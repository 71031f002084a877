/*
 * Unit tests of packrec: packed records give back exactly what was packed,
 * and are smaller.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "packrec.h"
#include "tap.h"

/* A record as the fake API's guessed dialect sends it. */
static const char *const RECORD =
	"{\"uid\":\"u-000001-d8f1\",\"email\":\"anna+test@example.com\","
	"\"firstname\":\"Anna\",\"name\":\"Test\",\"active\":true,"
	"\"createdAt\":\"2023-04-09T02:03:41.604Z\",\"offers\":[{\"offerId\":"
	"\"bundle/2026\",\"orderId\":\"ord-1\",\"active\":true,\"grantedAt\":"
	"\"2023-05-03T03:41:32.643Z\"},{\"offerId\":\"100%-kurs\",\"orderId\":"
	"\"ord-2\",\"active\":true,\"grantedAt\":\"2023-04-10T23:29:54.486Z\"}]"
	","
	"\"customProperties\":{\"p-company\":\"Foo/Bar Ltd.\",\"p-kdnr\":"
	"\"K-100001\"},\"lastLogin\":\"2023-05-22T23:49:54.965Z\"}";

/* Packs and unpacks text with d: 1 when the round trip gives it back.
 * *packed_len: the packed length. */
static int round_trip(struct packrec *d, const char *text, size_t *packed_len)
{
	struct buf out = {0};
	char *packed = packrec_pack(d, text);
	int same;

	if (!packed)
		return 0;
	if (packed_len)
		*packed_len = strlen(packed);
	same = !packrec_unpack(d, packed, &out) &&
	       !strcmp(buf_at(&out, 0), text);
	if (!same)
		diag("got %s", buf_at(&out, 0));
	free(packed);
	buf_free(&out);
	return same;
}

/* The same as cJSON prints it (cJSON's compact form). */
static char *compact(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	char *t = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return t;
}

static void test_record(void)
{
	struct packrec *d = packrec_new();
	char *again, *first;
	size_t len = 0;

	ok(round_trip(d, RECORD, &len), "a record comes back as it was");
	ok(len * 2 < strlen(RECORD),
	   "and packs to less than half (%zu of %zu bytes)", len,
	   strlen(RECORD));
	ok(packrec_keys(d) == 14, "its 14 distinct keys were learned (%d)",
	   packrec_keys(d));
	first = packrec_pack(d, RECORD);
	again = packrec_pack(d, RECORD);
	ok(first && again && !strcmp(first, again),
	   "the same record packs to the same text");
	free(again);
	again = compact(RECORD);
	ok(again && !strcmp(again, RECORD), "the test record is cJSON's form");
	free(again);
	free(first);
	packrec_free(d);
}

static void test_strings(void)
{
	struct packrec *d = packrec_new();
	/* Keys and times inside strings are text, not keys or times; an
	 * escaped quote does not end a string; UTF-8 passes as it is. */
	static const char *const texts[] = {
		"{\"a\":\"x\\\":\\\"y\",\"b\":\"\\\"b\\\":\"}",
		"{\"s\":\"\\\\\",\"t\":\"\\\\\\\"\"}",
		"{\"n\":\"Se\xc3\xa1n O'Brien\",\"k\":[\"k\",\"k\"]}",
		"{\"k\":{\"k\":{\"k\":\"k:\"}}}",
		"[\"2023-04-09T02:03:41.604Z\",\"x\"]",
		"{\"t\":\" 2023-04-09T02:03:41.604Z\"}",
		"{\"t\":\"2023-04-09T02:03:41.604\"}",
		"{\"t\":\"2023-04-09 02:03:41.604Z\"}",
		"{\"t\":\"2023-04-09T02:03:41.6045Z\"}",
		"{\"t\":\"2023-4-09T02:03:41.604Z_\"}",
		"{\"t\":\"8191-15-31T31:63:63.999Z\"}",
		"{\"t\":\"8192-01-01T00:00:00.000Z\"}",
		"{\"t\":\"0000-00-00T00:00:00.000Z\"}",
		"{\"t\":\"2023-16-09T02:03:41.604Z\"}",
		"{\"t\":\"2023-04-09T02:64:41.604Z\"}",
		"{\"2023-04-09T02:03:41.604Z\":1}",
		"\"2023-04-09T02:03:41.604Z\"",
		"{}",
		"[]",
		"\"\"",
		"12",
		"{\"\":\"\"}",
		"{\"x\":null,\"y\":false,\"z\":-1.5e+30}",
	};
	size_t i, len;
	int all = 1;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (!round_trip(d, texts[i], &len)) {
			all = 0;
			diag("text %zu: %s", i, texts[i]);
		}
	}
	ok(all, "strings with quotes, escapes, UTF-8 and near-times come back");
	round_trip(d, "[\"8191-15-31T31:63:63.999Z\"]", &len);
	ok(len == 1 + 8 + 1, "a time whose fields fit packs to 8 bytes (%zu)",
	   len);
	round_trip(d, "[\"8192-01-01T00:00:00.000Z\"]", &len);
	ok(len == 28, "a year past 8191 stays as it is (%zu)", len);
	packrec_free(d);
}

static void test_full(void)
{
	struct packrec *d = packrec_new();
	struct buf json = {0};
	char key[80];
	size_t len, before;
	int i, all = 1;

	buf_puts(&json, "{");
	for (i = 0; i < PACKREC_KEYS + 10; i++)
		buf_printf(&json, "%s\"key%d\":%d", i ? "," : "", i, i);
	buf_puts(&json, "}");
	ok(round_trip(d, buf_at(&json, 0), &len),
	   "a record with more keys than the dictionary holds comes back");
	ok(packrec_keys(d) == PACKREC_KEYS, "the dictionary is full (%d)",
	   packrec_keys(d));
	before = len;
	ok(round_trip(d, buf_at(&json, 0), &len) && len == before,
	   "and packs the same again (%zu)", len);
	memset(key, 'k', sizeof(key));
	key[0] = '{';
	key[1] = '"';
	strcpy(key + PACKREC_KEY_MAX + 5, "\":1}");
	all = round_trip(d, key, NULL);
	ok(all, "a key longer than PACKREC_KEY_MAX comes back");
	buf_free(&json);
	packrec_free(d);
}

static void test_bad(void)
{
	struct packrec *d = packrec_new();
	struct buf out = {0};
	char *p;

	errno = 0;
	p = packrec_pack(d, "{\"a\":\"x\ny\"}");
	ok(!p && errno == EINVAL, "a raw control byte in a string: EINVAL");
	free(p);
	p = packrec_pack(d, "{\"a\":\n1}");
	ok(!p && errno == EINVAL, "a raw newline outside strings: EINVAL");
	free(p);
	p = packrec_pack(d, "{\"a\":\"unterminated\x1e");
	ok(!p && errno == EINVAL,
	   "a byte below 0x20 in a string that never ends: EINVAL");
	free(p);
	ok(packrec_unpack(d, "{\x05:1}", &out) == -EINVAL,
	   "a key byte the dictionary does not have: EINVAL");
	buf_free(&out);
	ok(packrec_unpack(d, "[\x1f\x81\x82]", &out) == -EINVAL,
	   "a time cut short: EINVAL");
	buf_free(&out);
	p = packrec_pack(d, "{\"a\":\"unterminated");
	ok(p && !strcmp(p, "{\x01\"unterminated"),
	   "an unterminated string is kept as it is (%s)", p ? p : "NULL");
	free(p);

	/* pack_into appends, and leaves the buffer as it was on refusal. */
	buf_puts(&out, "kept");
	ok(packrec_pack_into(d, "{\"a\":2}", &out) == 0 &&
		   !strcmp(buf_at(&out, 0), "kept{\x01"
					    "2}"),
	   "pack_into appends the packed form (%s)", buf_at(&out, 0));
	ok(packrec_pack_into(d, "{\"a\":\"x\ny\"}", &out) == -EINVAL &&
		   !strcmp(buf_at(&out, 0), "kept{\x01"
					    "2}"),
	   "pack_into refuses a control byte with EINVAL, buffer unchanged");
	buf_free(&out);
	packrec_free(d);
}

/* Threads packing records with keys of their own and shared ones: each
 * unpacks back to what it packed. */
struct worker {
	struct packrec *d;
	int id, bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char text[128];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(text, sizeof(text),
			 "{\"shared\":%d,\"own%d\":\"2024-01-0%dT00:00:00."
			 "000Z\"}",
			 i, w->id, w->id + 1);
		if (!round_trip(w->d, text, NULL))
			w->bad++;
	}
	return NULL;
}

static void test_threads(void)
{
	struct packrec *d = packrec_new();
	struct worker w[4];
	pthread_t t[4];
	int i, bad = 0;

	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){d, i, 0};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	ok(bad == 0 && packrec_keys(d) == 5,
	   "4 threads learning keys at once: every record comes back "
	   "(%d bad, %d keys)",
	   bad, packrec_keys(d));
	packrec_free(d);
}

int main(void)
{
	test_record();
	test_strings();
	test_full();
	test_bad();
	test_threads();
	return done_testing();
}

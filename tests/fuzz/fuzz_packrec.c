/*
 * fuzz_packrec.c: packrec on arbitrary bytes. Properties:
 *  - any text without a byte below 0x20 packs, and unpacks to exactly
 *    itself, whether it is JSON or not (keys and times are recognised by
 *    their bytes alone); packing it again gives the same packed text, no
 *    longer than the text;
 *  - a text with such a byte is refused with EINVAL;
 *  - what a document cJSON parses prints (compact) to a text that packs
 *    and comes back the same;
 *  - unpacking arbitrary bytes reads nothing beyond them and answers 0 or
 *    -EINVAL.
 * The first input byte, when odd, fills the dictionary first (the case of
 * keys that no longer fit).
 */
#include <cjson/cJSON.h>
#include <errno.h>

#include "fuzz.h"
#include "packrec.h"

static void round_trip(struct packrec *d, const char *text)
{
	struct buf out = {0};
	char *packed, *again;
	int low = 0;
	const char *p;

	for (p = text; *p; p++)
		if ((unsigned char)*p < 0x20)
			low = 1;
	errno = 0;
	packed = packrec_pack(d, text);
	if (low) {
		CHECK(!packed && errno == EINVAL);
		return;
	}
	CHECK(packed != NULL);
	CHECK(strlen(packed) <= strlen(text));
	CHECK(packrec_unpack(d, packed, &out) == 0);
	CHECK(out.len == strlen(text) &&
	      !memcmp(buf_at(&out, 0), text, out.len));
	again = packrec_pack(d, text);
	CHECK(again && !strcmp(again, packed));
	free(again);
	free(packed);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct packrec *d = packrec_new();
	struct buf out = {0};
	char *text = fuzz_cstr(data, size);
	cJSON *j;
	int r, i;

	CHECK(d != NULL);
	if (size && (data[0] & 1)) {
		char fill[64];

		for (i = 0; i < PACKREC_KEYS; i++) {
			snprintf(fill, sizeof(fill), "{\"filler%d\":1}", i);
			free(packrec_pack(d, fill));
		}
		CHECK(packrec_keys(d) == PACKREC_KEYS);
	}
	round_trip(d, text);
	j = cJSON_Parse(text);
	if (j) {
		char *compact = cJSON_PrintUnformatted(j);

		if (compact)
			round_trip(d, compact);
		free(compact);
		cJSON_Delete(j);
	}
	r = packrec_unpack(d, text, &out);
	CHECK(r == 0 || r == -EINVAL);
	buf_free(&out);
	free(text);
	packrec_free(d);
	return 0;
}

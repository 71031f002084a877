/*
 * fuzz_input.c: the checks of what users write (input.h) on arbitrary
 * bytes: the input is taken as a value file, a state file and a
 * properties.json, the last against a fixed list of definitions and with
 * and without current values, and to the UTF-8 check. Properties:
 *  - the UTF-8 span agrees with a decoder written differently (by code
 *    point value rather than by byte ranges): the span is valid and the
 *    byte after it starts no valid sequence;
 *  - every function returns 0 or -EINVAL (nothing here may run out of
 *    memory), with a reason when it refuses;
 *  - an accepted value is the input less one trailing newline (and a CR
 *    before it), with no control character but tab, and is UTF-8;
 *  - an accepted state is one of the documented words;
 *  - an accepted properties.json is UTF-8 and yields changes whose
 *    propertyId is a defined id, each at most once, whose value is a
 *    scalar differing from the current one;
 *  - the checks of content still being written (input_*_prefix) refuse a
 *    prefix only when no continuation can be accepted: a refused prefix
 *    of the input means the whole input is refused.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <strings.h>

#include "fuzz.h"
#include "input.h"
#include "model.h"

/* What GET /v1/custom-user-properties/list might send: ordinary
 * definitions, a name that is another's id, an empty name, one without
 * an id, a non-object entry. */
static const char defs_json[] =
	"[{\"id\":\"p-company\",\"name\":\"Company\",\"type\":\"text\"},"
	"{\"id\":\"p-phone\",\"name\":\"Phone number\"},"
	"{\"id\":\"p-note\",\"name\":\"Notes/internal\"},"
	"{\"id\":\"p-alias\",\"name\":\"p-phone\"},"
	"{\"id\":\"p-empty\",\"name\":\"\"},"
	"{\"name\":\"No id\"},"
	"{\"id\":\"\",\"name\":\"Empty id\"},"
	"\"junk\",42,null]";

static const char current_json[] =
	"{\"p-company\":\"ACME\",\"p-phone\":12345,\"p-note\":null,"
	"\"p-alias\":true,\"p-gone\":\"left over\"}";

static cJSON *defs, *current;

static const char *const states[] = {"active",	 "1", "true",  "on",
				     "inactive", "0", "false", "off"};

/* The reference: decode the code point, then judge its value. Length of
 * the valid sequence at s[0..n) (n >= 1), 0 for none or NUL. */
static size_t ref_seq(const unsigned char *s, size_t n)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int ref_valid(const char *data, size_t size)
{
	const unsigned char *u = (const unsigned char *)data;
	size_t i = 0, k;

	while (i < size) {
		k = ref_seq(u + i, size - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

static void check_utf8(const char *data, size_t size)
{
	char why[INPUT_WHY_MAX] = "";
	size_t span = input_utf8_span(data, size);
	int rc = input_utf8(data, size, why, sizeof(why));

	CHECK(span <= size);
	CHECK(ref_valid(data, span));
	if (span < size)
		CHECK(ref_seq((const unsigned char *)data + span,
			      size - span) == 0);
	CHECK(input_utf8_valid(data, size) == (span == size));
	CHECK(rc == (span == size ? 0 : -EINVAL));
	CHECK(rc == 0 || why[0] != '\0');
}

static void check_value(const char *data, size_t size)
{
	char why[INPUT_WHY_MAX] = "", *out = NULL;
	size_t len = size, i;
	int rc = input_value(data, size, &out, why, sizeof(why));

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(why[0] != '\0');
		CHECK(out == NULL);
		return;
	}
	if (len && data[len - 1] == '\n')
		len--;
	if (len && data[len - 1] == '\r')
		len--;
	CHECK(strlen(out) == len);
	CHECK(memcmp(out, data, len) == 0);
	for (i = 0; i < len; i++)
		CHECK((unsigned char)out[i] >= 0x20 || out[i] == '\t');
	CHECK((unsigned char)out[len ? len - 1 : 0] != 0x7f);
	CHECK(ref_valid(out, len));
	free(out);
}

static void check_state(const char *data, size_t size)
{
	char why[INPUT_WHY_MAX] = "", *word, *w, *e;
	bool active = false;
	size_t i;
	int rc = input_state(data, size, &active, why, sizeof(why));

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(why[0] != '\0');
		return;
	}
	/* The input, less its line ending and blanks, is a state word. */
	word = strndup(data, size);
	CHECK(word != NULL);
	for (w = word; isspace((unsigned char)*w); w++)
		;
	for (e = w + strlen(w); e > w && isspace((unsigned char)e[-1]);)
		*--e = '\0';
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcasecmp(w, states[i]))
			break;
	CHECK(i < sizeof(states) / sizeof(states[0]));
	CHECK(active == (i < 4));
	free(word);
}

static int is_scalar(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v) ||
	       cJSON_IsNull(v);
}

static int is_defined_id(const char *id)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, defs) {
		const char *did = model_propdef_id(d);

		if (did && !strcmp(did, id))
			return 1;
	}
	return 0;
}

static void check_props(const char *data, size_t size, const cJSON *cur)
{
	char why[INPUT_WHY_MAX] = "";
	cJSON *changes = NULL;
	const cJSON *c, *c2, *id, *value, *was;
	int rc = input_props_diff(defs, cur, data, size, &changes, why,
				  sizeof(why));

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(why[0] != '\0');
		CHECK(changes == NULL);
		return;
	}
	CHECK(cJSON_IsArray(changes));
	CHECK(ref_valid(data, size));
	cJSON_ArrayForEach(c, changes) {
		id = cJSON_GetObjectItemCaseSensitive(c, "propertyId");
		value = cJSON_GetObjectItemCaseSensitive(c, "value");
		CHECK(cJSON_IsString(id));
		CHECK(is_defined_id(id->valuestring));
		CHECK(value != NULL && is_scalar(value));
		was = cJSON_GetObjectItemCaseSensitive(cur, id->valuestring);
		CHECK(was ? !cJSON_Compare(was, value, 1)
			  : !cJSON_IsNull(value));
		for (c2 = c->next; c2; c2 = c2->next)
			CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(
					     c2, "propertyId")
					     ->valuestring,
				     id->valuestring) != 0);
	}
	cJSON_Delete(changes);
}

/* Every prefix (the first 512) of the input as content written so far. */
static void check_prefixes(const char *data, size_t size)
{
	char why[INPUT_WHY_MAX] = "", *out = NULL;
	bool active;
	int value = input_value(data, size, &out, why, sizeof(why));
	int state = input_state(data, size, &active, why, sizeof(why));
	int utf8 = input_utf8(data, size, why, sizeof(why));
	size_t k;
	int rc;

	free(out);
	for (k = 0; k <= size && k <= 512; k++) {
		why[0] = '\0';
		rc = input_value_prefix(data, k, why, sizeof(why));
		CHECK(rc == 0 || (rc == -EINVAL && why[0]));
		CHECK(rc == 0 || value == -EINVAL);
		why[0] = '\0';
		rc = input_state_prefix(data, k, why, sizeof(why));
		CHECK(rc == 0 || (rc == -EINVAL && why[0]));
		CHECK(rc == 0 || state == -EINVAL);
		why[0] = '\0';
		rc = input_utf8_prefix(data, k, why, sizeof(why));
		CHECK(rc == 0 || (rc == -EINVAL && why[0]));
		CHECK(rc == 0 || utf8 == -EINVAL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	if (!defs) {
		defs = cJSON_Parse(defs_json);
		current = cJSON_Parse(current_json);
		CHECK(defs != NULL && current != NULL);
	}
	check_utf8(text, size);
	check_value(text, size);
	check_state(text, size);
	check_props(text, size, current);
	check_props(text, size, NULL);
	check_prefixes(text, size);
	return 0;
}

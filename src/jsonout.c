/*
 * jsonout.c - a jq-style pretty printer over cJSON trees.
 *
 * cJSON_Print indents with tabs and puts a tab after each colon; that is
 * valid but unlike every other JSON a user sees. Containers are walked
 * here; scalars and keys are printed by cJSON itself, so escaping and
 * number formatting stay cJSON's. Recursion depth is bounded by cJSON's
 * own nesting limit on parse.
 */
#include "jsonout.h"

#include <errno.h>
#include <stdlib.h>

static int indent(struct buf *out, int depth)
{
	int r = 0;

	while (!r && depth-- > 0)
		r = buf_puts(out, "  ");
	return r;
}

static int scalar(const cJSON *v, struct buf *out)
{
	char *text = cJSON_PrintUnformatted(v);
	int r;

	if (!text)
		return -ENOMEM;
	r = buf_puts(out, text);
	free(text);
	return r;
}

/* A key is printed as a string value is: a cJSON string on the stack
 * (what cJSON_CreateStringReference would allocate) lends it the name. */
static int key(const char *name, struct buf *out)
{
	cJSON s = {.type = cJSON_String | cJSON_IsReference,
		   .valuestring = (char *)name};
	int r = scalar(&s, out);

	return r ? r : buf_puts(out, ": ");
}

static int value(const cJSON *v, struct buf *out, int depth)
{
	int is_obj = cJSON_IsObject(v);
	const cJSON *it;
	int r;

	if (!is_obj && !cJSON_IsArray(v))
		return scalar(v, out);
	if (!v->child)
		return buf_puts(out, is_obj ? "{}" : "[]");
	r = buf_puts(out, is_obj ? "{\n" : "[\n");
	for (it = v->child; !r && it; it = it->next) {
		r = indent(out, depth + 1);
		if (!r && is_obj)
			r = key(it->string ? it->string : "", out);
		if (!r)
			r = value(it, out, depth + 1);
		if (!r)
			r = buf_puts(out, it->next ? ",\n" : "\n");
	}
	if (!r)
		r = indent(out, depth);
	return r ? r : buf_puts(out, is_obj ? "}" : "]");
}

int json_pretty(const cJSON *json, struct buf *out)
{
	int r = value(json, out, 0);

	return r ? r : buf_puts(out, "\n");
}

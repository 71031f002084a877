/*
 * edits without a mount: a school on the fake API (fake.h); each write
 * goes through views.h (edit_apply, edit_lines) and its effect is read
 * back from the fake's state and request counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "tap.h"
#include "tree.h"
#include "views.h"

#define EMAIL "anna+test@example.com"
#define OFFER "bundle/2026"
#define EP_PROPS "POST /v1/users/set-custom-user-properties"
#define EP_GRANT "POST /v1/users/grant-user-offer-by-mail"
#define EP_STATE "POST /v1/users/set-offer-state"

/* "PRE<encoded id>POST", parsed into tp; the path (malloc'd) or NULL. */
static char *parse(const char *pre, const char *id, const char *post,
		   struct tree_path *tp)
{
	char *p = mount_path(pre, id, post);

	if (p && tree_parse(p, tp)) {
		free(p);
		p = NULL;
	}
	return p;
}

/* The stored value of one of the member's custom properties (by id),
 * malloc'd, or NULL. */
static char *stored_prop(struct fake *f, const char *email, const char *id)
{
	cJSON *u = fake_user(f, email, 0);
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(u, "customProperties"), id));
	char *r = v ? strdup(v) : NULL;

	cJSON_Delete(u);
	return r;
}

/* The body of the last request the fake logged for an endpoint. */
static cJSON *last_body(struct fake *f, const char *endpoint)
{
	cJSON *log = fake_get(f, "/_fake/log"), *body = NULL;
	const cJSON *e;

	cJSON_ArrayForEach(e, log) {
		const char *ep = cJSON_GetStringValue(
			cJSON_GetObjectItem(e, "endpoint"));

		if (ep && !strcmp(ep, endpoint))
			body = cJSON_GetObjectItem(e, "body");
	}
	body = body ? cJSON_Duplicate(body, 1) : NULL;
	cJSON_Delete(log);
	return body;
}

/* properties.json: a save sends what changed and only that; a save of
 * the same content sends nothing. */
static void save_properties(struct fake *f, struct school *s)
{
	struct tree_path tp;
	char *path = parse("/users/", EMAIL, "/properties.json", &tp), *text;
	struct buf old = {0};
	struct edit_base base;
	cJSON *doc = NULL, *body, *props;
	long before = fake_count(f, EP_PROPS);
	char *company, *kdnr;
	int r;

	if (!path) {
		ok(0, "properties.json: a path");
		return;
	}
	r = view_render(s, &tp, &old);
	doc = r ? NULL : cJSON_Parse(old.data);
	ok(cJSON_IsObject(doc), "properties.json renders a JSON object (%d)",
	   r);
	kdnr = stored_prop(f, EMAIL, "p-kdnr");
	cJSON_ReplaceItemInObject(doc, "Company", cJSON_CreateString("Unit"));
	text = cJSON_Print(doc);
	base = (struct edit_base){.data = old.data, .len = old.len};
	r = text ? edit_apply(s, path, &tp, text, strlen(text), &base) : -1;
	ok(r == 0, "properties.json: a save with Company changed (%d)", r);
	ok(fake_count(f, EP_PROPS) == before + 1,
	   "properties.json: one set-custom-user-properties request");
	body = last_body(f, EP_PROPS);
	props = cJSON_GetObjectItem(body, "properties");
	ok(cJSON_GetArraySize(props) == 1 &&
		   tap_streq(cJSON_GetStringValue(cJSON_GetObjectItem(
				     props->child, "propertyId")),
			     "p-company"),
	   "properties.json: the request carries the changed key only");
	company = stored_prop(f, EMAIL, "p-company");
	free(text);
	text = stored_prop(f, EMAIL, "p-kdnr");
	ok(tap_streq(company, "Unit") && tap_streq(text, kdnr),
	   "properties.json: the fake holds the new Company, Kundennummer "
	   "as it was");
	free(text);
	free(company);
	free(kdnr);
	cJSON_Delete(body);

	cJSON_Delete(doc);
	before = fake_count(f, EP_PROPS);
	buf_free(&old);
	r = view_render(s, &tp, &old);
	doc = r ? NULL : cJSON_Parse(old.data);
	ok(tap_streq(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "Company")),
		     "Unit"),
	   "properties.json: read again, it shows the new Company");
	base = (struct edit_base){.data = old.data, .len = old.len};
	r = r ? r : edit_apply(s, path, &tp, old.data, old.len, &base);
	ok(r == 0 && fake_count(f, EP_PROPS) == before,
	   "properties.json: saving what was read sends nothing (%d)", r);
	cJSON_Delete(doc);
	buf_free(&old);
	tree_path_free(&tp);
	free(path);
}

/* Content that is no value: -EINVAL, nothing sent. */
static void invalid_values(struct fake *f, struct school *s)
{
	static const char not_json[] = "{\"Company\": ";
	static const char no_state[] = "maybe\n";
	long props = fake_count(f, EP_PROPS), state = fake_count(f, EP_STATE);
	char post[256], *enc;
	struct tree_path tp;
	char *path = parse("/users/", EMAIL, "/properties.json", &tp);
	int r = path ? edit_apply(s, path, &tp, not_json, strlen(not_json),
				  NULL)
		     : -1;

	ok(r == -EINVAL && fake_count(f, EP_PROPS) == props,
	   "properties.json that is not JSON: -EINVAL, nothing sent (%d)", r);
	if (path)
		tree_path_free(&tp);
	free(path);

	enc = tree_encode(OFFER);
	snprintf(post, sizeof(post), "/offers/%s", enc ? enc : "");
	free(enc);
	path = parse("/users/", EMAIL, post, &tp);
	r = path ? edit_apply(s, path, &tp, no_state, strlen(no_state), NULL)
		 : -1;
	ok(r == -EINVAL && fake_count(f, EP_STATE) == state,
	   "users/E/offers/O written 'maybe': -EINVAL, nothing sent (%d)", r);
	if (path)
		tree_path_free(&tp);
	free(path);
}

/* A line of offers/O/grant: the member is created holding the offer. */
static void grant_line(struct fake *f, struct school *s)
{
	static const char line[] = "unit@example.com,Unit,Test\n";
	struct edit_lines res = {0};
	struct tree_path tp;
	char *path = parse("/offers/", OFFER, "/grant", &tp);
	long before = fake_count(f, EP_GRANT);
	cJSON *u;
	const cJSON *g;
	int r = path ? edit_lines(s, path, &tp, line, strlen(line), &res) : -1;
	int holds = 0;

	ok(r == 0 && res.lines == 1 && res.done == 1 && res.failed == 0,
	   "offers/O/grant: one line run (%d; %d lines, %d done)", r, res.lines,
	   res.done);
	ok(fake_count(f, EP_GRANT) == before + 1, "offers/O/grant: one grant "
						  "request");
	u = fake_user(f, "unit@example.com", 0);
	cJSON_ArrayForEach(g, cJSON_GetObjectItem(u, "offers"))
		holds |= tap_streq(
			cJSON_GetStringValue(cJSON_GetObjectItem(g, "offerId")),
			OFFER);
	ok(holds && tap_streq(cJSON_GetStringValue(
				      cJSON_GetObjectItem(u, "firstname")),
			      "Unit"),
	   "offers/O/grant: the fake holds unit@example.com, named Unit, "
	   "with the offer");
	cJSON_Delete(u);
	if (path)
		tree_path_free(&tp);
	free(path);
}

int main(void)
{
	struct fake f;
	struct world w;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (fake_start(&f, "guessed", 20)) {
		ok(0, "the fake API starts");
	} else if (world_open(&w, &f, 0)) {
		ok(0, "a school on the fake");
		world_close(&w);
	} else {
		save_properties(&f, w.school);
		invalid_values(&f, w.school);
		grant_line(&f, w.school);
		world_close(&w);
	}
	fake_stop(&f);
	curl_global_cleanup();
	return done_testing();
}

/*
 * school without a mount: a school on the fake API (fake.h). What a read
 * costs (cached records, remembered misses, every page of a listing) and
 * that a change is seen by the next read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "model.h"
#include "tap.h"

#define EP_FIND "GET /v1/users/find-by-mail"
#define EP_LIST "GET /v1/users/list"
#define USERS 30

/* Every page of the listing: all members, one request a page. */
static void members(struct fake *f, struct school *s)
{
	struct api_user_filter any = {.active = -1};
	long pages = fake_count(f, EP_LIST);
	struct cval *list = NULL;
	int r = school_members(s, &any, &list);

	ok(r == 0 && list && school_list_count(list) == USERS,
	   "school_members: all %d members (%d)", USERS,
	   list ? (int)school_list_count(list) : -1);
	/* page_size 7 in world_open_paged: 30 members, 5 pages */
	ok(fake_count(f, EP_LIST) - pages == 5,
	   "school_members: one request a page (%ld)",
	   fake_count(f, EP_LIST) - pages);
	cval_put(list);
	list = NULL;
	pages = fake_count(f, EP_LIST);
	r = school_members(s, &any, &list);
	ok(r == 0 && fake_count(f, EP_LIST) == pages,
	   "school_members again within cache_ttl: no request");
	cval_put(list);
}

/* A listed member's record is cached by the listing; an unknown one is
 * asked for once and then remembered as missing. */
static void users(struct fake *f, struct school *s, const char *email)
{
	long finds = fake_count(f, EP_FIND);
	struct cval *u = NULL;
	int r = school_user(s, email, &u);

	ok(r == 0 && u && tap_streq(model_user_email(u->json), email),
	   "school_user of a listed member: the record (%d)", r);
	ok(fake_count(f, EP_FIND) == finds,
	   "school_user of a listed member: no request (the list cached it)");
	cval_put(u);
	u = NULL;

	finds = fake_count(f, EP_FIND);
	r = school_user(s, "nobody@example.invalid", &u);
	ok(r == -ENOENT, "school_user of an unknown member: -ENOENT (%d)", r);
	r = school_user(s, "nobody@example.invalid", &u);
	ok(r == -ENOENT && fake_count(f, EP_FIND) == finds + 1,
	   "school_user of an unknown member twice: one request (%ld)",
	   fake_count(f, EP_FIND) - finds);
}

/* 1 when the member's grants (school_grants) hold offer, 0 when not,
 * or -errno. */
static int holds_offer(struct school *s, const char *email, const char *offer)
{
	struct cval *u = NULL, *grants = NULL;
	const cJSON *g, *list;
	int r = school_user(s, email, &u), holds = 0;

	if (!r)
		r = school_grants(s, email, u->json, &grants);
	list = grants ? grants->json : NULL;
	cJSON_ArrayForEach(g, list)
		holds |= tap_streq(model_grant_offer_id(g), offer);
	cval_put(grants);
	cval_put(u);
	return r ? r : holds;
}

/* After a grant through the school, its grants show the offer. */
static void grant(struct school *s, const char *email, const char *offer)
{
	int r = holds_offer(s, email, offer);

	ok(r == 0, "before school_grant: %s is not held (%d)", offer, r);
	r = school_grant(s, email, NULL, NULL, offer, NULL);
	ok(r == 0, "school_grant of %s (%d)", offer, r);
	r = holds_offer(s, email, offer);
	ok(r == 1, "after school_grant: the member's grants hold %s (%d)",
	   offer, r);
}

/* A listing slower than cache_ttl (5 pages, 0.3 s each, ttl 1 s): the
 * records of its first page live as long as the list, so reading them
 * right after costs nothing (they were fetched again one by one when
 * they expired before the list did). */
static void slow_listing(struct fake *f)
{
	struct api_user_filter any = {.active = -1};
	struct cval *list = NULL, *u = NULL;
	const char *first;
	struct world w;
	long finds;
	int r;

	if (world_open_ttl(&w, f, 7, 1.0)) {
		ok(0, "a school with cache_ttl 1 s");
		return;
	}
	cJSON_Delete(fake_call(f, "/_fake/config", "{\"list_reply_ms\": 300}"));
	r = school_members(w.school, &any, &list);
	cJSON_Delete(fake_call(f, "/_fake/config", "{\"list_reply_ms\": 0}"));
	first = list ? school_list_first(list) : NULL;
	finds = fake_count(f, EP_FIND);
	if (!r && first)
		r = school_user(w.school, first, &u);
	ok(r == 0 && fake_count(f, EP_FIND) == finds,
	   "a listing slower than cache_ttl: its first record is still cached "
	   "when it ends (%ld find requests)",
	   fake_count(f, EP_FIND) - finds);
	cval_put(u);
	cval_put(list);
	world_close(&w);
}

int main(void)
{
	struct fake f;
	struct world w;
	cJSON *state;
	const char *email, *offer;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (fake_start(&f, "guessed", USERS) || world_open(&w, &f, 7)) {
		ok(0, "the fake API starts and a school is made on it");
		fake_stop(&f);
		return done_testing();
	}
	state = fake_get(&f, "/_fake/state");
	email = cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(state, "users"), 0),
		"email"));
	offer = cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(state, "offers"), 3),
		"id"));
	members(&f, w.school);
	users(&f, w.school, email);
	grant(w.school, email, offer);
	slow_listing(&f);
	cJSON_Delete(state);
	world_close(&w);
	fake_stop(&f);
	curl_global_cleanup();
	return done_testing();
}

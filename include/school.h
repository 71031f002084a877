/*
 * school: the Memberspot school as the filesystem sees it. Cached reads and
 * the changes, each change followed by the invalidation it implies.
 *
 * This is the only module that knows cache keys and which cached views a
 * change affects. Reads return cval references (release with cval_put).
 * Changes call the API, write the journal, drop every affected cache entry
 * and tell the kernel side (through the invalidate callback) which mount
 * paths to forget. A fetch that began before a change never undoes it:
 * what it brings back is not cached over the change (see fence.h). All
 * functions return 0 or -errno; bad input found here is -EINVAL with the
 * reason in errlog. Under dry_run a change is checked as always, its
 * request journalled ("dry-run") instead of sent and reported as done,
 * and nothing cached changes: the mount shows the school as it is.
 * Thread-safe.
 */
#ifndef MSFS_SCHOOL_H
#define MSFS_SCHOOL_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "api.h"
#include "cache.h"

struct bases;
struct buf;
struct http;
struct journal;
struct scratch;

struct school_config {
	double cache_ttl; /* seconds */
	double neg_ttl;	  /* seconds a missing name is remembered */
	int page_size;	  /* 1-100 */
	int readonly;	  /* no change reaches the API: EROFS */
	int nodelete;	  /* member deletion refused: EPERM */
	int max_deletes;  /* members deleted per rolling minute; 0: any */
	int dry_run;	  /* changes journalled as "dry-run", not sent */
	int workers;	  /* parallel requests for bulk control files */
};

/* Called with a mount path whose kernel-cached attributes (and pages)
 * must be forgotten; the school names every such path itself (a member's
 * every file, not just its directory). listed is 1 when
 * the change may have added path to its directory's listing or removed it
 * (a member created or deleted: users/EMAIL; granted an offer or set
 * active or inactive: its links), so that listing changed now; 0 when
 * only what path shows changed (and for expiries and refreshes). Must not
 * block on FUSE (the fs layer queues it). */
typedef void (*school_invalidate_fn)(void *arg, const char *path, int listed);

struct school;

struct school *school_new(const struct school_config *cfg, struct http *h,
			  struct journal *j);
void school_free(struct school *s);
void school_set_invalidate(struct school *s, school_invalidate_fn fn,
			   void *arg);
const struct school_config *school_config(const struct school *s);
/* Tells the kernel side (the invalidate callback) to forget what it holds
 * of every cached value that expired in [from, to) (monotonic seconds):
 * the fs layer keeps entries and attributes for cache_ttl and calls this
 * about every second. Fetches nothing. */
void school_expired(struct school *s, double from, double to);
/* The read-only gate, the one place -o ro is judged: 0 when changes may
 * be made, else -EROFS, with what was refused (a change's name or a path)
 * in the error log. */
int school_refuse_readonly(const struct school *s, const char *what);
struct scratch *school_scratch(struct school *s);
/* The API client the school calls (for its pacing status). */
struct http *school_http(struct school *s);
struct bases *school_bases(struct school *s);
struct journal *school_journal(struct school *s);
struct cache *school_cache(struct school *s);
/* How many keys of member records are packed to one byte (packrec.h), of
 * PACKREC_KEYS: for .memberspot/status, which shows how well a school's
 * records pack. */
int school_packed_keys(struct school *s);

/* --- reads ------------------------------------------------------------ */
int school_offers(struct school *s, struct cval **out);	  /* array */
int school_propdefs(struct school *s, struct cval **out); /* array */
/* Member emails matching f, every page fetched (read them with
 * school_list_first and school_list_next); the
 * members' records are cached on the way, except those of members changed
 * through the mount while the pages came in (a page may predate the
 * change); members deleted meanwhile are left out of the list too. A
 * cursor the walk was given before (the server's pages go round in a
 * cycle) ends it with -EIO and a line in the error log. */
int school_members(struct school *s, const struct api_user_filter *f,
		   struct cval **out);
/* The emails of a list school_members gave, in the server's order: the
 * first, and the one after email (one these gave); NULL after the last.
 * They live as long as the reference to the list. (A list is one block
 * of NUL-terminated emails, about 25 bytes a member; a cJSON array of
 * them took over 100.) */
const char *school_list_first(const struct cval *list);
const char *school_list_next(const char *email);
/* How many emails the list holds (counts them). */
size_t school_list_count(const struct cval *list);
/* A member's record: cached (from a list page or an earlier lookup) or
 * fetched by email. -ENOENT when unknown (remembered for neg_ttl). */
int school_user(struct school *s, const char *email, struct cval **out);
/* The member's grants (array of grants, read with model_grant_*): those
 * the record carries, or, when it carries none (the evidence dialect),
 * those derived from the per-offer member lists (school.c, "Derived
 * grants": one walk of every offer's lists serves every member for
 * cache_ttl), plus what changes through the mount made known. user may
 * be NULL (a pending member: none). A new reference in *out. */
int school_grants(struct school *s, const char *email, const cJSON *user,
		  struct cval **out);
/* 1 when user's grants are derived (the record carries none). */
int school_grants_derived(struct school *s, const cJSON *user);
/* The member record fetched now, whatever the cache holds (and cached):
 * what a save compares with before it changes anything. */
int school_user_fresh(struct school *s, const char *email, struct cval **out);
/* Appends the member's record as one line of compact JSON (what
 * user.json shows, unindented) and a newline: cached, as school_user,
 * without parsing it. */
int school_user_line(struct school *s, const char *email, struct buf *out);
/* A number that grows with every change made through the mount, every
 * refresh and every member record fetched fresh or answered by a change:
 * what was derived from cached views under another number may no longer
 * be what they show. */
unsigned long school_changes(struct school *s);
/* school_changes plus every change of what the caches hold (cache.h:
 * cache_version of both): equal readings mean every view would render
 * as it did (the render memo keys on this). */
unsigned long school_version(struct school *s);
/* A stamp of every stable view's content: school_version + 1, or 0 (no
 * stamp) while some cached value has expired and school_expired, asked
 * about every second, has not yet told the kernel to forget what it
 * made of it. Read before rendering: content rendered after a reading of
 * S, while the stamp still reads S, is the content rendered then. */
unsigned long school_stamp(struct school *s);
int school_progress(struct school *s, const char *email, struct cval **out);
/* One course's progress; with course NULL, school_progress. */
int school_course_progress(struct school *s, const char *email,
			   const char *course, struct cval **out);
/* 1 when a cached progress view exists (stat without a rate-limited call) */
struct cval *school_progress_cached(struct school *s, const char *email,
				    const char *course);
int school_exam(struct school *s, const char *exam, struct cval **out);
/* Exams looked up so far (array of strings, sorted; NULL on ENOMEM). */
cJSON *school_known_exams(struct school *s);
/* Fresh login token (never cached): *token (malloc'd) is the file's
 * content, the token and a newline, then the login URL and a newline when
 * the API gives one. */
int school_login_token(struct school *s, const char *email, char **token);

/* The offer object with this id (a new reference to the offers array in
 * *holder; *offer points inside it), or -ENOENT. */
/* Calls fn(arg, offers, offer, id) for each offer of the catalogue that
 * has an id, until fn returns non-zero, which is returned (0 after the
 * last; -errno when the catalogue cannot be read). offers holds the
 * catalogue while fn runs. */
typedef int (*school_offer_fn)(void *arg, struct cval *offers,
			       const cJSON *offer, const char *id);
int school_each_offer(struct school *s, school_offer_fn fn, void *arg);
int school_find_offer(struct school *s, const char *offer_id,
		      struct cval **holder, const cJSON **offer);
/* 1 when some offer names this course. */
int school_course_known(struct school *s, const char *course_id);
/* Property definition by name or id: *def points into *holder. One
 * without an id is not found (model_propdef_find): -ENOENT. */
int school_find_propdef(struct school *s, const char *name,
			struct cval **holder, const cJSON **def);

/* Pending members: made by mkdir, local until their first grant. */
int school_pending_add(struct school *s, const char *email);
int school_pending_has(struct school *s, const char *email);
void school_pending_remove(struct school *s, const char *email);
/* Array of strings, sorted; NULL on ENOMEM. */
cJSON *school_pending_list(struct school *s);

/* --- changes ---------------------------------------------------------- */
int school_grant(struct school *s, const char *email, const char *first,
		 const char *last, const char *offer, const char *order);
int school_set_offer_state(struct school *s, const char *email,
			   const char *offer, bool active);
int school_set_order_state(struct school *s, const char *email,
			   const char *order, bool active);
/* props: array of {"propertyId","value"} (not consumed). */
int school_set_properties(struct school *s, const char *email,
			  const cJSON *props);
int school_enable_chapter(struct school *s, const char *email,
			  const char *course, const char *chapter);
/* Deletes members (one request for all). Refused with EPERM (nothing
 * sent) under ro or nodelete, without a journal file, or when it would
 * take more than max_deletes deletions into the last 60 s (one errlog
 * line per burst of refusals counts them). Each member's record is then
 * written to the journal and fdatasync'd; when that fails nothing is
 * sent (EIO; a record that cannot be read: that error). Under dry_run
 * the budget counts as well, and the request is journalled, not sent. */
int school_delete(struct school *s, const char *const *emails, int n);

/* Drops the cached views behind a mount path ("/" drops everything). */
int school_refresh(struct school *s, const char *path);
/* The same, but keeps copies fetched less than min_age seconds ago. */
int school_forget(struct school *s, const char *path, double min_age);

#endif

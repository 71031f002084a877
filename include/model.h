/*
 * model: every assumption about the *shape* of Memberspot responses, and
 * the field names of the request bodies, live here (API.md "Shapes" and
 * "Evidence and dialects"). Nothing else in the code looks inside a
 * server object, or builds a request body, by field name.
 *
 * Dialect tolerance: for each fact, every spelling API.md names is
 * accepted, per field and per object, with no switch: a list page in
 * "data" whose records use "customProperties" is read as well as a pure
 * one. The model_*_reading functions name the spelling a response used,
 * for --probe; they return a static text, or NULL when none is found.
 *
 * Getters never fail loudly: a missing field or one of another type yields
 * NULL / -1, and callers degrade (skip the entry, show an empty value).
 * Objects are always kept whole, so unknown fields pass through verbatim.
 * Pure functions, no I/O, no locking.
 */
#ifndef MSFS_MODEL_H
#define MSFS_MODEL_H

#include <cjson/cJSON.h>

struct buf;

/*
 * A page of GET /v1/users/list. Accepts the envelopes {"users":[..]} and
 * {"data":[..]} with the cursor "nextPage" or "next_page", and a bare
 * array (then the cursor is the last user's uid, and a page shorter than
 * page_len ends the list).
 * Detaches the user array from body into *users (caller frees) and sets
 * *next (malloc'd) or NULL at the end. Returns 0, -EIO on another shape,
 * -ENOMEM.
 */
int model_users_page(cJSON *body, int page_len, cJSON **users, char **next);
/* "users", "data", "bare array", or NULL for another shape. */
const char *model_users_page_reading(const cJSON *body);
/* "nextPage", "next_page", "last uid" (no cursor key: the bare-array rule). */
const char *model_cursor_reading(const cJSON *body);

/* The array of property definitions: a bare array, or wrapped in
 * {"properties": [..]} or {"data": [..]}. NULL for another shape. */
const cJSON *model_propdefs(const cJSON *body);
const char *model_propdefs_reading(const cJSON *body);

/* User */
const char *model_user_email(const cJSON *user);
const char *model_user_uid(const cJSON *user);
/* "firstname" and "name" (the last name), or NULL when not strings. */
const char *model_user_first_name(const cJSON *user);
const char *model_user_last_name(const cJSON *user);
int model_user_active(const cJSON *user); /* 1, 0, -1 unknown */
/* The member's grants, or NULL when the record carries none (the
 * evidence dialect): then they are derived from the per-offer lists. */
const cJSON *model_user_offers(const cJSON *user);
const char *model_user_offers_reading(const cJSON *user);
/* "createdAt" | "created" (string or number), or NULL. */
const cJSON *model_user_created(const cJSON *user);
const char *model_user_created_reading(const cJSON *user);
/* progress: [{courseId, activePosts, completedPosts}] or NULL. */
const cJSON *model_user_progress(const cJSON *user);
/* The member's value of one property: "customProperties" or
 * "customUserProperties", keyed by the definition's id or, failing that,
 * by its name. NULL when unset. */
const cJSON *model_user_prop(const cJSON *user, const cJSON *def);
const char *model_user_props_reading(const cJSON *user);
/* The member's values as the record holds them (either spelling, keyed
 * as the API keys them), or NULL. */
const cJSON *model_user_props_raw(const cJSON *user);
/* The member's values keyed by property id, whatever the record used (a
 * new object, caller frees; empty when the record has none; NULL only on
 * ENOMEM). Keys that name no definition are kept as they are. */
cJSON *model_user_props_by_id(const cJSON *user, const cJSON *defs);

/* An entry of User.offers */
const char *model_grant_offer_id(const cJSON *grant);
const char *model_grant_order_id(const cJSON *grant);
int model_grant_active(const cJSON *grant); /* 1, 0, -1 unknown */
/* A grant in the shape the getters above read, for grants the mount
 * derives when records carry none (offer may be NULL for an order known
 * only by its id; order may be NULL). NULL on ENOMEM. */
cJSON *model_grant_new(const char *offer, const char *order, int active);
/* Sets a grant's state (0 or -ENOMEM). */
int model_grant_set_active(cJSON *grant, int active);

/* Offer and its courses */
const char *model_offer_id(const cJSON *offer);
const char *model_offer_name(const cJSON *offer);
/* The offer's courses: "courses": [{id, name}] or "hasCourseIds":
 * ["id"]. Array or NULL. Its items are read with model_course_id/_name. */
const cJSON *model_offer_courses(const cJSON *offer);
const char *model_offer_courses_reading(const cJSON *offer);
const char *model_course_id(const cJSON *course);   /* {id} or "id" */
const char *model_course_name(const cJSON *course); /* NULL: not given */

/* PropertyDefinition */
const char *model_propdef_id(const cJSON *def);
const char *model_propdef_name(const cJSON *def);
/* The definition called `name` in an array of definitions; failing that,
 * the one whose id is `name`. NULL when neither. Definitions without an
 * id are passed over: a member's value is stored under the id and set by
 * it, so such a property can be neither shown nor set, and the mount
 * lists it nowhere (properties/, properties.json). */
const cJSON *model_propdef_find(const cJSON *defs, const char *name);
/* 1 when a definition called `name` has no id: the reason to give when
 * model_propdef_find does not find `name`. */
int model_propdef_idless(const cJSON *defs, const char *name);

/* CourseProgressSummary / CourseProgress */
const char *model_progress_course_id(const cJSON *summary);

/* Grant response: "created" is 1, 0, or -1 when not said. */
int model_grant_created(const cJSON *resp);

/* Login token response: {token, expiresAt?, loginUrl?}. */
const char *model_token(const cJSON *resp);
const char *model_token_login_url(const cJSON *resp);
const cJSON *model_token_expires_at(const cJSON *resp);

/*
 * Request-side spellings. The item key of set-custom-user-properties is
 * "propertyId" (MODEL_PROPKEY_DEFAULT) or "id" (the n8n node). Given the
 * key sent and the server's 400 message, 1 when the message says the key
 * is the problem (NestJS: "... propertyId should not exist", "...id must
 * be a string"): the other spelling is worth one retry.
 */
#define MODEL_PROPKEY_DEFAULT "propertyId"
const char *model_propkey_other(const char *key);
int model_propkey_refused(const char *msg, const char *sent);
/* 1 when a 400's message names the pageLength query parameter. */
int model_page_length_refused(const char *msg);

/*
 * Request bodies, each a new object (caller frees) or NULL on ENOMEM. A
 * NULL string argument is left out of the body. These are the mount's
 * form of each request, the one the journal shows; only the item key of
 * set-custom-user-properties may be respelled on the wire
 * (model_props_respelled).
 */
/* #4 {"email","firstname","name","grantOffer","orderId"} */
cJSON *model_grant_body(const char *email, const char *first, const char *last,
			const char *offer, const char *order);
/* #5 {"email","offerId","active"} and #6 {"email","orderId","active"} */
cJSON *model_offer_state_body(const char *email, const char *offer, int active);
cJSON *model_order_state_body(const char *email, const char *order, int active);
/* One item of set-custom-user-properties: {"propertyId": id, "value"}.
 * value is taken (freed on failure); NULL on ENOMEM. */
cJSON *model_prop_item(const char *id, cJSON *value);
/* The id and the value of such an item (NULL when absent). */
const char *model_prop_item_id(const cJSON *item);
const cJSON *model_prop_item_value(const cJSON *item);
/* #7 {"email","properties": a copy of props (items of model_prop_item)} */
cJSON *model_props_body(const char *email, const cJSON *props);
/* A copy of a model_props_body body whose items' "propertyId" is spelled
 * key. NULL on ENOMEM. */
cJSON *model_props_respelled(const cJSON *body, const char *key);
/* #8 {"emails": [...]} */
cJSON *model_delete_body(const char *const *emails, int n);
/* #12 {"email","courseId","chapterId"} */
cJSON *model_chapter_body(const char *email, const char *course,
			  const char *chapter);

/* The readable reason in an error answer: NestJS "message" (a string, or
 * an array joined with "; "), failing that "error". Appended to msg.
 * 0 or -ENOMEM. */
int model_error_message(const cJSON *err, struct buf *msg);

/* ExamResult: the columns of results.csv, in order, and their values.
 * Known columns first (uid,email,score,passed,submittedAt), then every
 * other key seen in any row, in first-seen order. RFC 4180 quoting; a
 * cell (header included) whose text starts with '=', '+', '-', '@', a
 * tab or a CR gets a leading "'" so no spreadsheet runs it as a formula
 * (OWASP), except a JSON number ("-3.5" stays a number). */
int model_exam_csv(const cJSON *results, char **csv_out);
/* Appends v as one such cell: scalars as model_scalar_text, arrays and
 * objects as compact JSON, NULL (a missing key) as an empty cell. */
int model_csv_value(struct buf *out, const cJSON *v);

/* The value of a scalar as text: strings verbatim, numbers and booleans as
 * JSON, null as "". Returns malloc'd text, or NULL for arrays/objects. */
char *model_scalar_text(const cJSON *v);

#endif

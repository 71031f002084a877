/*
 * model: every assumption about the *shape* of Memberspot responses lives
 * here (API.md "Shapes"). Nothing else in the code looks inside a server
 * object by field name.
 *
 * Getters never fail loudly: a missing field or one of another type yields
 * NULL / -1, and callers degrade (skip the entry, show an empty value).
 * Objects are always kept whole, so unknown fields pass through verbatim.
 * Pure functions, no I/O, no locking.
 */
#ifndef MSFS_MODEL_H
#define MSFS_MODEL_H

#include <cjson/cJSON.h>

/*
 * A page of GET /v1/users/list. Accepts {"users":[..],"nextPage":..},
 * the cursor spelled "next_page", and a bare array (then the cursor is the
 * last user's uid, and a page shorter than page_len ends the list).
 * Detaches the user array from body into *users (caller frees) and sets
 * *next (malloc'd) or NULL at the end. Returns 0, -EIO on another shape,
 * -ENOMEM.
 */
int model_users_page(cJSON *body, int page_len, cJSON **users, char **next);

/* User */
const char *model_user_email(const cJSON *user);
const char *model_user_uid(const cJSON *user);
int model_user_active(const cJSON *user);         /* 1, 0, -1 unknown */
const cJSON *model_user_offers(const cJSON *user); /* array or NULL */
const cJSON *model_user_props(const cJSON *user);  /* object or NULL */

/* An entry of User.offers */
const char *model_grant_offer_id(const cJSON *grant);
const char *model_grant_order_id(const cJSON *grant);
int model_grant_active(const cJSON *grant);       /* 1, 0, -1 unknown */

/* Offer and its courses */
const char *model_offer_id(const cJSON *offer);
const char *model_offer_name(const cJSON *offer);
const cJSON *model_offer_courses(const cJSON *offer); /* array or NULL */
const char *model_course_id(const cJSON *course);

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

/* Login token response */
const char *model_token(const cJSON *resp);

/* ExamResult: the columns of results.csv, in order, and their values.
 * Known columns first (uid,email,score,passed,submittedAt), then every
 * other key seen in any row, in first-seen order. */
int model_exam_csv(const cJSON *results, char **csv_out);

/* The value of a scalar as text: strings verbatim, numbers and booleans as
 * JSON, null as "". Returns malloc'd text, or NULL for arrays/objects. */
char *model_scalar_text(const cJSON *v);

#endif

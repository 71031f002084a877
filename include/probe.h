/*
 * probe: `memberspotfs --probe`, a first-contact report on a school.
 *
 * Calls each read endpoint once, GETs only (nothing on the server
 * changes), in a fixed order: auth, offers (#1), property definitions
 * (#13), a users page of length 1 (#2), find-by-mail of its first member
 * (#3), that member's course progress (#9), and on request its login
 * token (#11) and one exam's results (#14). For each it prints the status,
 * the latency and the JSON *shape* of the answer, then which reading
 * model.h chose for each fact (API.md "Evidence and dialects"), and last
 * one line: "ready", or "not ready: <what will not work and why>".
 *
 * What it never prints or saves: a value the school sent (ids, emails,
 * names, numbers, tokens, the server's error messages), the key, request
 * headers or request paths (they hold emails and uids). Keys of the
 * answers are printed, as field names: at most PROBE_KEY_MAX bytes each,
 * control and invisible characters escaped. A failed call shows its HTTP
 * status and errno text only.
 *
 * It does not map statuses to errno itself (api_status_errno does) and
 * does not look inside a record by field name: readings come from
 * model.h. Not thread-safe: one probe per process. probe_shape and the
 * redactor are pure and need no network.
 */
#ifndef MSFS_PROBE_H
#define MSFS_PROBE_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "buf.h"

struct http;

#define PROBE_KEY_MAX 40     /* bytes of one key as printed */
#define PROBE_DEPTH 6	     /* nesting shown; deeper is {...} / [...] */
#define PROBE_KEYS 32	     /* keys shown per object; more is "..." */
#define PROBE_SHAPE_MAX 4096 /* bytes of one shape line */

struct probe_options {
	int token;	      /* also GET the first member's login token */
	const char *exam_id;  /* also GET this exam's results; NULL: not */
	const char *save_dir; /* keep redacted answers here; NULL: not */
};

/*
 * Runs the probe and prints the report on out. Returns 0 when the mount
 * would work ("ready"), 1 when not ("not ready: ..."), or -errno when the
 * probe itself could not run (save_dir cannot be created or written:
 * one line on stderr says why).
 *
 * With save_dir (created 0700 when missing), every answer that came is
 * written to save_dir/NN-NAME.json (mode 0600) as
 *   {"endpoint": api_endpoint_name(), "status": N,
 *    "content_type": "application/json", "body": REDACTED}
 * or, for a body that is not JSON, "content_type": "text/plain" and
 * "text": as many "x" as the body had bytes. The fake API's --serve-dir
 * serves these files back.
 */
int probe_run(struct http *h, const struct probe_options *o, FILE *out);

/*
 * The shape of v, appended to out: "string", "number", "bool", "null",
 * objects as "{key: shape, key2?: shape}" (a "?" when some of the merged
 * objects lack the key), arrays as "[shape of the items, merged]", and
 * "a|b" where merged values differ in type. At most PROBE_DEPTH levels,
 * PROBE_KEYS keys per object and PROBE_SHAPE_MAX bytes. 0 or -ENOMEM.
 */
int probe_shape(const cJSON *v, struct buf *out);

/* One key as the probe prints it: bare when it is only letters, digits
 * and "_$@.-" (or text beyond ASCII), otherwise in double quotes; control
 * and invisible characters as \uXXXX, at most PROBE_KEY_MAX bytes, then
 * "...". 0 or -ENOMEM. */
int probe_put_key(struct buf *out, const char *key);

/*
 * The redactor of --probe-save. Every string becomes "string-N" and every
 * number N (an integer) or N.5 (a fraction), numbered in first-seen order
 * over all answers given to one redactor, so equal values stay equal
 * across files (a member's uid in the list page and in find-by-mail);
 * booleans, null, "" and keys are kept. A string that is a key somewhere
 * in the answers (probe_redact_keep_keys) is kept too: it is a field
 * name, already shown by the shape, and a property's id or name must keep
 * matching the keys of the members' property objects.
 */
struct probe_redactor;

struct probe_redactor *probe_redactor_new(void);
void probe_redactor_free(struct probe_redactor *r);
/* Notes every key in v as one to keep. 0 or -ENOMEM. */
int probe_redact_keep_keys(struct probe_redactor *r, const cJSON *v);
/* A redacted copy of v (caller frees), or NULL on ENOMEM. */
cJSON *probe_redact(struct probe_redactor *r, const cJSON *v);

#endif

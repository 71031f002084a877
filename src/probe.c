/*
 * probe: memberspotfs --probe (probe.h has the contract).
 *
 * The report is built from three things that never look at a value:
 * the *shape* of each answer (a tree of key names and type sets, merged
 * over the items of arrays, printed with probe_shape), the *readings*
 * model.h names for each fact (model_*_reading and the getters, so the
 * probe says what the mount itself will do), and the HTTP status and
 * errno text of a failed call. The server's error messages are never
 * shown: they may quote an email or an id back.
 *
 * Requests go straight to http_request, not through api.c, because the
 * probe wants the status and raw body of every answer, failures included,
 * and must leave no trace in the mount's error log. Paths are built here
 * as api.c builds them (every identifier through http_escape), and the
 * endpoint labels are api_endpoint_name(), which the fake API's
 * --serve-dir matches the saved files by.
 *
 * --probe-save redacts after all calls are made: a string that is a key
 * anywhere in the answers (a property's id or name keying the members'
 * property objects) must be known before the first answer is redacted.
 */
#include "probe.h"

#include "api.h"
#include "buf.h"
#include "http.h"
#include "jsonout.h"
#include "model.h"
#include "strhash.h"
#include "textfix.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Keys as printed                                                     */
/* ------------------------------------------------------------------ */

/* Decodes one UTF-8 character at p (n bytes left, n >= 1) into *cp.
 * Returns its length, or 0 for a byte that starts no well-formed one. */
static size_t utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters a terminal would act on or not show: C0 and C1 controls,
 * DEL, and the invisible and direction-changing format characters. */
static int invisible(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0xad ||
	       c == 0x061c || c == 0x180e || (c >= 0x200b && c <= 0x200f) ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) ||
	       c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
	       (c >= 0xe0000 && c <= 0xe007f);
}

static int plain_ascii(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '@' ||
	       c == '.' || c == '-';
}

/* 1 when key can be printed without quotes. */
static int key_is_plain(const char *key)
{
	const unsigned char *p = (const unsigned char *)key;
	size_t n = strlen(key), len;
	uint32_t c;

	if (!n)
		return 0;
	while (n) {
		len = utf8_char(p, n, &c);
		if (!len || invisible(c) || (c < 0x80 && !plain_ascii(p[0])))
			return 0;
		p += len;
		n -= len;
	}
	return 1;
}

int probe_put_key(struct buf *out, const char *key)
{
	const unsigned char *p = (const unsigned char *)key;
	size_t n = strlen(key), len, shown = 0;
	int quote = !key_is_plain(key), rc;
	char piece[16];
	uint32_t c;

	if (quote && (rc = buf_puts(out, "\"")))
		return rc;
	while (n) {
		len = utf8_char(p, n, &c);
		if (!len) {
			snprintf(piece, sizeof(piece), "\\x%02x", p[0]);
			len = 1;
		} else if (invisible(c)) {
			snprintf(piece, sizeof(piece),
				 c <= 0xffff ? "\\u%04x" : "\\U%08x",
				 (unsigned)c);
		} else if (c == '"' || c == '\\') {
			snprintf(piece, sizeof(piece), "\\%c", (char)c);
		} else {
			memcpy(piece, p, len);
			piece[len] = '\0';
		}
		if (shown + strlen(piece) > PROBE_KEY_MAX) {
			if ((rc = buf_puts(out, "...")))
				return rc;
			break;
		}
		if ((rc = buf_puts(out, piece)))
			return rc;
		shown += strlen(piece);
		p += len;
		n -= len;
	}
	return quote ? buf_puts(out, "\"") : 0;
}

/* ------------------------------------------------------------------ */
/* Shapes                                                              */
/* ------------------------------------------------------------------ */

enum {
	T_OBJECT = 1 << 0,
	T_ARRAY = 1 << 1,
	T_STRING = 1 << 2,
	T_NUMBER = 1 << 3,
	T_BOOL = 1 << 4,
	T_NULL = 1 << 5,
};

/* Nodes of one shape tree at most: a pathological answer (thousands of
 * distinct keys at every level) costs a bounded amount of memory. */
#define SHAPE_NODES 2048

struct shape_key;

/* Every value found at one place in the answer, merged. */
struct shape {
	unsigned types;
	long objects;		/* objects merged here */
	struct shape_key *keys; /* their keys, first seen first */
	size_t nkeys;
	int more_keys; /* keys left out (PROBE_KEYS, SHAPE_NODES) */
	int deep;      /* objects/arrays below PROBE_DEPTH: not looked into */
	struct shape *items; /* the arrays' items, merged; NULL: none */
};

struct shape_key {
	char *name;
	long seen; /* objects that had it */
	struct shape *val;
};

static void shape_free(struct shape *sh)
{
	size_t i;

	if (!sh)
		return;
	for (i = 0; i < sh->nkeys; i++) {
		free(sh->keys[i].name);
		shape_free(sh->keys[i].val);
	}
	free(sh->keys);
	shape_free(sh->items);
	free(sh);
}

/* The node of key `name` in sh, added when new. *out NULL (and 0) when
 * the object has too many keys or the tree too many nodes. */
static int shape_key_node(struct shape *sh, const char *name, long *nodes,
			  struct shape_key **out)
{
	struct shape_key *k;
	size_t i;

	*out = NULL;
	for (i = 0; i < sh->nkeys; i++) {
		if (!strcmp(sh->keys[i].name, name)) {
			*out = &sh->keys[i];
			return 0;
		}
	}
	if (sh->nkeys >= PROBE_KEYS || *nodes >= SHAPE_NODES) {
		sh->more_keys = 1;
		return 0;
	}
	k = realloc(sh->keys, (sh->nkeys + 1) * sizeof(*k));
	if (!k)
		return -ENOMEM;
	sh->keys = k;
	k = &sh->keys[sh->nkeys];
	k->name = strdup(name);
	k->val = calloc(1, sizeof(*k->val));
	k->seen = 0;
	if (!k->name || !k->val) {
		free(k->name);
		free(k->val);
		return -ENOMEM;
	}
	sh->nkeys++;
	(*nodes)++;
	*out = k;
	return 0;
}

static int shape_add(struct shape *sh, const cJSON *v, int depth, long *nodes)
{
	struct shape_key *k;
	const cJSON *c;
	int rc;

	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		sh->types |= cJSON_IsObject(v) ? T_OBJECT : T_ARRAY;
		if (depth >= PROBE_DEPTH) {
			sh->deep = 1;
			return 0;
		}
	}
	if (cJSON_IsObject(v)) {
		sh->objects++;
		cJSON_ArrayForEach(c, v) {
			rc = shape_key_node(sh, c->string ? c->string : "",
					    nodes, &k);
			if (rc)
				return rc;
			if (!k)
				continue;
			k->seen++;
			rc = shape_add(k->val, c, depth + 1, nodes);
			if (rc)
				return rc;
		}
	} else if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(c, v) {
			if (!sh->items) {
				if (*nodes >= SHAPE_NODES) {
					sh->deep = 1;
					break;
				}
				sh->items = calloc(1, sizeof(*sh->items));
				if (!sh->items)
					return -ENOMEM;
				(*nodes)++;
			}
			rc = shape_add(sh->items, c, depth + 1, nodes);
			if (rc)
				return rc;
		}
	} else if (cJSON_IsString(v)) {
		sh->types |= T_STRING;
	} else if (cJSON_IsNumber(v)) {
		sh->types |= T_NUMBER;
	} else if (cJSON_IsBool(v)) {
		sh->types |= T_BOOL;
	} else if (cJSON_IsNull(v)) {
		sh->types |= T_NULL;
	}
	return 0;
}

static int shape_render(const struct shape *sh, struct buf *out);

static int render_object(const struct shape *sh, struct buf *out)
{
	size_t i;
	int rc;

	if (sh->deep && !sh->objects)
		return buf_puts(out, "{...}");
	rc = buf_puts(out, "{");
	for (i = 0; !rc && i < sh->nkeys; i++) {
		const struct shape_key *k = &sh->keys[i];

		if (i)
			rc = buf_puts(out, ", ");
		if (!rc)
			rc = probe_put_key(out, k->name);
		if (!rc)
			rc = buf_puts(out,
				      k->seen < sh->objects ? "?: " : ": ");
		if (!rc)
			rc = shape_render(k->val, out);
	}
	if (!rc && sh->more_keys)
		rc = buf_puts(out, sh->nkeys ? ", ..." : "...");
	return rc ? rc : buf_puts(out, "}");
}

static int render_array(const struct shape *sh, struct buf *out)
{
	int rc;

	if (sh->deep && !sh->items)
		return buf_puts(out, "[...]");
	if (!sh->items)
		return buf_puts(out, "[]");
	rc = buf_puts(out, "[");
	if (!rc)
		rc = shape_render(sh->items, out);
	return rc ? rc : buf_puts(out, "]");
}

static int shape_render(const struct shape *sh, struct buf *out)
{
	static const struct {
		unsigned type;
		const char *name;
	} scalars[] = {{T_STRING, "string"},
		       {T_NUMBER, "number"},
		       {T_BOOL, "bool"},
		       {T_NULL, "null"}};
	int rc = 0, n = 0;
	size_t i;

	if (sh->types & T_OBJECT) {
		rc = render_object(sh, out);
		n++;
	}
	if (!rc && (sh->types & T_ARRAY)) {
		rc = (n++ ? buf_puts(out, "|") : 0);
		if (!rc)
			rc = render_array(sh, out);
	}
	for (i = 0; !rc && i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		if (!(sh->types & scalars[i].type))
			continue;
		rc = (n++ ? buf_puts(out, "|") : 0);
		if (!rc)
			rc = buf_puts(out, scalars[i].name);
	}
	if (!rc && !n)
		rc = buf_puts(out, "?");
	return rc;
}

int probe_shape(const cJSON *v, struct buf *out)
{
	struct shape *sh = calloc(1, sizeof(*sh));
	size_t start = out->len, cut;
	long nodes = 1;
	int rc;

	if (!sh)
		return -ENOMEM;
	rc = shape_add(sh, v, 0, &nodes);
	if (!rc)
		rc = shape_render(sh, out);
	shape_free(sh);
	if (rc || out->len - start <= PROBE_SHAPE_MAX)
		return rc;
	/* Cut on a character boundary: the line stays UTF-8. */
	cut = start + PROBE_SHAPE_MAX;
	while (cut > start && ((unsigned char)out->data[cut] & 0xc0) == 0x80)
		cut--;
	rc = buf_resize(out, cut);
	return rc ? rc : buf_puts(out, " ...");
}

/* ------------------------------------------------------------------ */
/* Redaction                                                           */
/* ------------------------------------------------------------------ */

/* An open-addressing table of text -> number, for the placeholders. */
struct rtab_entry {
	char *key;
	long val;
};

struct rtab {
	struct rtab_entry *e;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static struct rtab_entry *rtab_slot(const struct rtab *t, const char *key)
{
	size_t i = strhash(key) & (t->cap - 1);

	while (t->e[i].key && strcmp(t->e[i].key, key))
		i = (i + 1) & (t->cap - 1);
	return &t->e[i];
}

static const struct rtab_entry *rtab_get(const struct rtab *t, const char *key)
{
	const struct rtab_entry *e;

	if (!t->cap)
		return NULL;
	e = rtab_slot(t, key);
	return e->key ? e : NULL;
}

/* Adds key (copied) unless present. 0 or -ENOMEM. */
static int rtab_put(struct rtab *t, const char *key, long val)
{
	struct rtab_entry *e;
	size_t i;

	if (t->cap && rtab_slot(t, key)->key)
		return 0;
	if ((t->n + 1) * 2 > t->cap) {
		struct rtab bigger = {.cap = t->cap ? t->cap * 2 : 64};

		bigger.e = calloc(bigger.cap, sizeof(*bigger.e));
		if (!bigger.e)
			return -ENOMEM;
		for (i = 0; i < t->cap; i++)
			if (t->e[i].key)
				*rtab_slot(&bigger, t->e[i].key) = t->e[i];
		bigger.n = t->n;
		free(t->e);
		*t = bigger;
	}
	e = rtab_slot(t, key);
	e->key = strdup(key);
	if (!e->key)
		return -ENOMEM;
	e->val = val;
	t->n++;
	return 0;
}

static void rtab_free(struct rtab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->e[i].key);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

struct probe_redactor {
	struct rtab keep;    /* keys of the answers */
	struct rtab strings; /* string -> N of "string-N" */
	struct rtab numbers; /* "i%.17g" / "f%.17g" -> N */
	long nstrings;
	long nnumbers;
};

struct probe_redactor *probe_redactor_new(void)
{
	return calloc(1, sizeof(struct probe_redactor));
}

void probe_redactor_free(struct probe_redactor *r)
{
	if (!r)
		return;
	rtab_free(&r->keep);
	rtab_free(&r->strings);
	rtab_free(&r->numbers);
	free(r);
}

int probe_redact_keep_keys(struct probe_redactor *r, const cJSON *v)
{
	const cJSON *c;
	int rc;

	cJSON_ArrayForEach(c, v) {
		if (cJSON_IsObject(v) && c->string &&
		    (rc = rtab_put(&r->keep, c->string, 0)))
			return rc;
		if ((rc = probe_redact_keep_keys(r, c)))
			return rc;
	}
	return 0;
}

/* The placeholder number of key in t, numbered from *next on. */
static int placeholder(struct rtab *t, long *next, const char *key, long *n)
{
	const struct rtab_entry *e = rtab_get(t, key);
	int rc;

	if (e) {
		*n = e->val;
		return 0;
	}
	*n = ++*next;
	rc = rtab_put(t, key, *n);
	return rc;
}

static cJSON *redact_string(struct probe_redactor *r, const char *s)
{
	char text[32];
	long n;

	if (!*s || rtab_get(&r->keep, s))
		return cJSON_CreateString(s);
	if (placeholder(&r->strings, &r->nstrings, s, &n))
		return NULL;
	snprintf(text, sizeof(text), "string-%ld", n);
	return cJSON_CreateString(text);
}

static cJSON *redact_number(struct probe_redactor *r, double d)
{
	/* An integer stays an integer (a count, an epoch time), a fraction
	 * a fraction (a score): the shape is kept, the value is not. */
	int integer =
		isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0;
	char key[40];
	long n;

	snprintf(key, sizeof(key), "%c%.17g", integer ? 'i' : 'f', d);
	if (placeholder(&r->numbers, &r->nnumbers, key, &n))
		return NULL;
	return cJSON_CreateNumber(integer ? (double)n : (double)n + 0.5);
}

cJSON *probe_redact(struct probe_redactor *r, const cJSON *v)
{
	const cJSON *c;
	cJSON *out, *x;

	if (cJSON_IsString(v))
		return redact_string(r, v->valuestring);
	if (cJSON_IsNumber(v))
		return redact_number(r, v->valuedouble);
	if (cJSON_IsBool(v))
		return cJSON_CreateBool(cJSON_IsTrue(v));
	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return cJSON_CreateNull();
	out = cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject();
	if (!out)
		return NULL;
	cJSON_ArrayForEach(c, v) {
		x = probe_redact(r, c);
		if (!x)
			goto fail;
		if (!(cJSON_IsArray(v)
			      ? cJSON_AddItemToArray(out, x)
			      : cJSON_AddItemToObject(
					out, c->string ? c->string : "", x))) {
			cJSON_Delete(x);
			goto fail;
		}
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

enum step {
	S_AUTH,
	S_OFFERS,
	S_PROPDEFS,
	S_USERS,
	S_FIND,
	S_PROGRESS,
	S_TOKEN,
	S_EXAM,
	S__N
};

/* The report's name of each call (also its file's: NN-NAME.json). */
static const struct {
	const char *name;
	enum api_endpoint ep;
	enum http_class cls;
} steps[S__N] = {
	[S_AUTH] = {"auth", API_AUTH, HTTP_CLASS_GENERAL},
	[S_OFFERS] = {"offers", API_OFFERS, HTTP_CLASS_GENERAL},
	[S_PROPDEFS] = {"property-definitions", API_PROPERTY_DEFS,
			HTTP_CLASS_GENERAL},
	[S_USERS] = {"users-list", API_USERS_LIST, HTTP_CLASS_GENERAL},
	[S_FIND] = {"find-by-mail", API_FIND_BY_MAIL, HTTP_CLASS_GENERAL},
	[S_PROGRESS] = {"course-progress-list", API_PROGRESS_LIST,
			HTTP_CLASS_PROGRESS},
	[S_TOKEN] = {"login-token", API_LOGIN_TOKEN, HTTP_CLASS_GENERAL},
	[S_EXAM] = {"exam-results", API_EXAM_RESULTS, HTTP_CLASS_GENERAL},
};

struct call {
	int done;    /* a request was made */
	int rc;	     /* http_request's: 0 when an HTTP answer came */
	long status; /* its status */
	long ms;
	char *body; /* as received */
	size_t len;
	cJSON *json; /* the body parsed; NULL: blank or not JSON */
};

struct probe {
	struct http *h;
	FILE *out;
	struct call calls[S__N];
	struct buf why;	 /* what will not work, "; "-separated */
	int failed;	 /* ENOMEM while building the report */
	int auth_failed; /* then later calls failing say nothing new */
};

static int is_blank(const char *p, size_t n)
{
	for (; n; p++, n--)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	return 1;
}

/* The body as JSON, read as api.c reads it (textfix.h), or NULL. */
static cJSON *parse_body(const char *body, size_t len)
{
	const char *end = NULL, *text;
	char *fixed = NULL;
	size_t fixed_len = 0;
	cJSON *j;

	if (is_blank(body, len) ||
	    textfix_json(body, len, &fixed, &fixed_len) < 0)
		return NULL;
	text = fixed ? fixed : body;
	if (fixed)
		len = fixed_len;
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (j && (!end || !is_blank(end, len - (size_t)(end - text)))) {
		cJSON_Delete(j);
		j = NULL;
	}
	free(fixed);
	return j;
}

static int call_ok(const struct call *c)
{
	return c->done && !c->rc && c->status >= 200 && c->status < 300;
}

static void note(struct probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Adds one reason to the "not ready" line. */
static void note(struct probe *p, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if ((p->why.len && buf_puts(&p->why, "; ")) || buf_puts(&p->why, line))
		p->failed = 1;
}

/* How a call failed, as text: "answered HTTP 404" or "failed (reason)". */
static const char *failure(const struct call *c, char *text, size_t size)
{
	if (!c->done)
		snprintf(text, size, "was not sent");
	else if (c->rc)
		snprintf(text, size, "failed (%s)", strerror(-c->rc));
	else
		snprintf(text, size, "answered HTTP %ld", c->status);
	return text;
}

/* What a JSON value is, for a reason: "keys: a, b" of an object, or its
 * type. Keys are escaped as in shapes. */
static void describe(const cJSON *v, struct buf *b);

/* When call c failed: notes "WHAT failed-how; WHO would fail" (unless the
 * key was refused, which said it all) and returns 1. */
static int call_failed(struct probe *p, const struct call *c, const char *what,
		       const char *who)
{
	char f[64];

	if (call_ok(c))
		return 0;
	if (!p->auth_failed)
		note(p, "%s %s; %s would fail", what, failure(c, f, sizeof(f)),
		     who);
	return 1;
}

/* Notes "BEFORE (what v is)AFTER". */
static void note_shape(struct probe *p, const cJSON *v, const char *before,
		       const char *after)
{
	struct buf d = {0};

	describe(v, &d);
	note(p, "%s (%s)%s", before, d.data ? d.data : "?", after);
	buf_free(&d);
}

static void describe(const cJSON *v, struct buf *b)
{
	const cJSON *c;
	int n = 0;

	if (!v) {
		buf_puts(b, "not JSON");
		return;
	}
	if (cJSON_IsArray(v)) {
		buf_puts(b, "an array");
		return;
	}
	if (!cJSON_IsObject(v)) {
		buf_puts(b, cJSON_IsString(v) ? "a string" : "a scalar");
		return;
	}
	buf_puts(b, v->child ? "keys: " : "an empty object");
	cJSON_ArrayForEach(c, v) {
		if (n++ == 8) {
			buf_puts(b, ", ...");
			break;
		}
		if (n > 1)
			buf_puts(b, ", ");
		probe_put_key(b, c->string ? c->string : "");
	}
}

/* The "(N items)" note of a shape line, for a top-level array. The
 * lengths of arrays inside a record are left out: how many offers one
 * member holds is that member's data. */
static void count_note(const cJSON *v, struct buf *b)
{
	int size;

	if (!cJSON_IsArray(v))
		return;
	size = cJSON_GetArraySize(v);
	buf_printf(b, "  (%d item%s)", size, size == 1 ? "" : "s");
}

static long elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return lround((double)(b->tv_sec - a->tv_sec) * 1e3 +
		      (double)(b->tv_nsec - a->tv_nsec) / 1e6);
}

/* Prints the block's first lines: status, latency, failure, shape. */
static void report_call(struct probe *p, enum step s, int tls_cert)
{
	const struct call *c = &p->calls[s];
	struct buf line = {0};

	if (c->rc) {
		fprintf(p->out, "%-20s %s  -  %ld ms\n", steps[s].name,
			api_endpoint_name(steps[s].ep), c->ms);
		fprintf(p->out, "  failed: %s%s\n", strerror(-c->rc),
			tls_cert ? " (the server's certificate could not be "
				   "verified; -o insecure skips the check)"
				 : "");
		return;
	}
	fprintf(p->out, "%-20s %s  %ld  %ld ms\n", steps[s].name,
		api_endpoint_name(steps[s].ep), c->status, c->ms);
	if (!call_ok(c))
		fprintf(p->out, "  failed: HTTP %ld: %s\n", c->status,
			strerror(-api_status_errno(c->status)));
	if (is_blank(c->body, c->len)) {
		buf_printf(&line, "empty (%zu bytes)", c->len);
	} else if (!c->json) {
		buf_printf(&line, "text (%zu bytes)", c->len);
	} else if (!probe_shape(c->json, &line)) {
		count_note(c->json, &line);
	}
	if (!line.data)
		p->failed = 1;
	fprintf(p->out, "  shape: %s\n", line.data ? line.data : "?");
	buf_free(&line);
}

/* One GET, timed, reported. Returns 0, or -ENOMEM. */
static int probe_get(struct probe *p, enum step s, const char *path)
{
	struct http_response r = {0};
	struct call *c = &p->calls[s];
	struct timespec t0, t1;
	int tls_cert;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c->rc = http_request(p->h, "GET", path, NULL, steps[s].cls, 1,
			     steps[s].ep, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c->ms = elapsed_ms(&t0, &t1);
	c->done = 1;
	tls_cert = c->rc == -EPROTO && !strncmp(r.error, HTTP_TLS_CERT_REASON,
						strlen(HTTP_TLS_CERT_REASON));
	if (c->rc == -ENOMEM)
		return -ENOMEM;
	if (!c->rc) {
		c->status = r.status;
		c->body = r.body ? r.body : strdup("");
		c->len = r.body ? r.len : 0;
		r.body = NULL;
		if (!c->body)
			return -ENOMEM;
		c->json = parse_body(c->body, c->len);
	}
	http_response_free(&r);
	report_call(p, s, tls_cert);
	return 0;
}

/* GET of prefix + id (URL-encoded) + suffix. "." and ".." are not sent,
 * as api.c sends no dot segment. Returns 0 or -ENOMEM. */
static int probe_get_id(struct probe *p, enum step s, const char *prefix,
			const char *id, const char *suffix)
{
	struct buf path = {0};
	char *e;
	int rc;

	if (!strcmp(id, ".") || !strcmp(id, "..")) {
		fprintf(p->out,
			"%-20s %s  skipped: the identifier is a dot "
			"segment\n",
			steps[s].name, api_endpoint_name(steps[s].ep));
		return 0;
	}
	e = http_escape(id);
	if (!e)
		return -ENOMEM;
	rc = buf_printf(&path, "%s%s%s", prefix, e, suffix);
	free(e);
	if (!rc)
		rc = probe_get(p, s, path.data);
	buf_free(&path);
	return rc;
}

static void skipped(struct probe *p, enum step s, const char *why)
{
	fprintf(p->out, "%-20s %s  skipped: %s\n", steps[s].name,
		api_endpoint_name(steps[s].ep), why);
}

/* ------------------------------------------------------------------ */
/* Readings                                                            */
/* ------------------------------------------------------------------ */

static void reading(struct probe *p, const char *fact, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reading(struct probe *p, const char *fact, const char *fmt, ...)
{
	va_list ap;

	fprintf(p->out, "  %s: ", fact);
	va_start(ap, fmt);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
	fputc('\n', p->out);
}

static void auth_readings(struct probe *p)
{
	const struct call *c = &p->calls[S_AUTH];
	char f[64];

	if (call_ok(c))
		return;
	p->auth_failed = 1;
	if (!c->rc && (c->status == 401 || c->status == 403))
		note(p,
		     "the API rejected the key (HTTP %ld); nothing would "
		     "work",
		     c->status);
	else
		note(p, "GET /api-auth %s; the mount would not start",
		     failure(c, f, sizeof(f)));
}

static void offers_readings(struct probe *p)
{
	const struct call *c = &p->calls[S_OFFERS];
	const char *names[3] = {0}, *r;
	const cJSON *o;
	int n = 0, with_id = 0, size, i, absent = 0;

	if (call_failed(p, c, "GET /v1/offers", "offers/ and courses/"))
		return;
	if (!cJSON_IsArray(c->json)) {
		note_shape(p, c->json,
			   "GET /v1/offers is not an array of offers",
			   "; offers/ and courses/ would fail");
		return;
	}
	size = cJSON_GetArraySize(c->json);
	cJSON_ArrayForEach(o, c->json) {
		with_id += model_offer_id(o) != NULL;
		r = model_offer_courses_reading(o);
		if (!r) {
			absent = 1;
			continue;
		}
		for (i = 0; i < n && strcmp(names[i], r); i++)
			;
		if (i == n && n < 2)
			names[n++] = r;
	}
	if (!size)
		reading(p, "offer courses",
			"not known (the school has no "
			"offers)");
	else if (!n)
		reading(p, "offer courses", "absent");
	else
		reading(p, "offer courses", "%s%s%s%s", names[0],
			n > 1 ? ", " : "", n > 1 ? names[1] : "",
			absent ? " (some offers: absent)" : "");
	if (size && !with_id)
		note_shape(p, c->json->child,
			   "offers in GET /v1/offers carry no id",
			   "; offers/ and courses/ would be empty");
	else if (with_id < size) {
		reading(p, "offer ids",
			"%d of %d offers have none (those are "
			"not shown)",
			size - with_id, size);
	}
}

static const cJSON *propdefs_readings(struct probe *p)
{
	const struct call *c = &p->calls[S_PROPDEFS];
	const cJSON *defs;
	const char *r;

	if (call_failed(p, c, "GET /v1/custom-user-properties/list",
			"properties/ and properties.json"))
		return NULL;
	defs = model_propdefs(c->json);
	r = model_propdefs_reading(c->json);
	if (defs && r) {
		reading(p, "property definitions", "%s", r);
		return defs;
	}
	reading(p, "property definitions", "not found");
	note_shape(p, c->json,
		   "cannot find the property definitions in GET "
		   "/v1/custom-user-properties/list",
		   "; properties/ and properties.json would fail");
	return NULL;
}

/* The list's first member (*users owns it: caller frees *users), or NULL
 * with the reason noted. */
static const cJSON *users_readings(struct probe *p, cJSON **users)
{
	const struct call *c = &p->calls[S_USERS];
	const char *envelope;
	const cJSON *u;
	char *next = NULL;
	cJSON *copy;

	*users = NULL;
	if (call_failed(p, c, "GET /v1/users/list",
			"users/, offers/*/members/ and by-status/"))
		return NULL;
	envelope = model_users_page_reading(c->json);
	/* model_users_page takes the array out of the body: a copy keeps
	 * the answer whole for --probe-save. */
	copy = envelope ? cJSON_Duplicate(c->json, 1) : NULL;
	if (!envelope || !copy || model_users_page(copy, 1, users, &next)) {
		cJSON_Delete(copy);
		if (envelope) {
			p->failed = 1;
			return NULL;
		}
		reading(p, "list envelope", "not found");
		note_shape(p, c->json,
			   "cannot find the member list in GET /v1/users/list",
			   "; users/, offers/*/members/ and by-status/ would "
			   "fail");
		return NULL;
	}
	cJSON_Delete(copy);
	free(next);
	reading(p, "list envelope", "%s", envelope);
	reading(p, "cursor", "%s", model_cursor_reading(c->json));
	u = (*users)->child;
	if (!u) {
		reading(p, "member email/uid",
			"not known (the school has no "
			"members)");
		return NULL;
	}
	if (model_user_email(u) && model_user_uid(u)) {
		reading(p, "member email/uid", "email, uid");
		return u;
	}
	reading(p, "member email/uid", "%s",
		model_user_email(u) ? "uid missing" : "email missing");
	note_shape(p, u,
		   model_user_email(u)
			   ? "members in GET /v1/users/list carry no uid"
			   : "members in GET /v1/users/list carry no email",
		   "; users/ would fail");
	return model_user_email(u) ? u : NULL;
}

/* How the member's property object is keyed, compared with the
 * definitions. */
static const char *props_keying(const cJSON *user, const cJSON *defs)
{
	const cJSON *props = model_user_props_raw(user);
	const cJSON *kv, *def;
	int by_id = 0, by_name = 0, other = 0;

	if (!defs)
		return "definitions not known";
	cJSON_ArrayForEach(kv, props) {
		def = kv->string ? model_propdef_find(defs, kv->string) : NULL;
		if (!def)
			other++;
		else if (!strcmp(model_propdef_id(def), kv->string))
			by_id++;
		else
			by_name++;
	}
	if (by_id && by_name)
		return "keyed by id and by name";
	if (by_id)
		return other ? "keyed by id; some keys name no property"
			     : "keyed by id";
	if (by_name)
		return other ? "keyed by name; some keys name no property"
			     : "keyed by name";
	if (other)
		return "no key names a defined property";
	return "empty: keying not known";
}

static void member_readings(struct probe *p, const cJSON *u, const cJSON *defs)
{
	const char *r;

	r = model_user_created_reading(u);
	reading(p, "member created", "%s", r ? r : "absent");
	r = model_user_props_reading(u);
	if (r)
		reading(p, "member properties", "%s (%s)", r,
			props_keying(u, defs));
	else
		reading(p, "member properties", "absent");
	r = model_user_offers_reading(u);
	reading(p, "member offers", "%s",
		r ? r : "absent -> derived from offer lists");
	reading(p, "member progress", "%s",
		model_user_progress(u) ? "progress" : "absent");
}

static void find_readings(struct probe *p, const cJSON *listed,
			  const cJSON *defs)
{
	const struct call *c = &p->calls[S_FIND];
	char f[64];

	if (call_ok(c) && model_user_email(c->json)) {
		member_readings(p, c->json, defs);
		return;
	}
	if (call_ok(c)) {
		note_shape(p, c->json,
			   "the member from GET /v1/users/find-by-mail carries "
			   "no email",
			   "; users/EMAIL/ would fail");
	} else if (!p->auth_failed) {
		note(p,
		     "GET /v1/users/find-by-mail %s for a listed member; "
		     "users/EMAIL/ would fail",
		     failure(c, f, sizeof(f)));
	}
	fprintf(p->out, "  (member readings from the list record)\n");
	member_readings(p, listed, defs);
}

static void progress_readings(struct probe *p)
{
	const struct call *c = &p->calls[S_PROGRESS];

	if (!call_ok(c) || !cJSON_IsArray(c->json) || !c->json->child)
		return;
	reading(p, "progress course ids", "%s",
		model_progress_course_id(c->json->child) ? "courseId"
							 : "absent");
}

static void token_readings(struct probe *p)
{
	const struct call *c = &p->calls[S_TOKEN];
	int expires = model_token_expires_at(c->json) != NULL;
	struct buf d = {0};

	if (!call_ok(c))
		return;
	if (!model_token(c->json)) {
		describe(c->json, &d);
		reading(p, "login token", "no token (%s)",
			d.data ? d.data : "?");
		buf_free(&d);
		return;
	}
	reading(p, "login token", "token%s%s%s%s",
		model_token_login_url(c->json) ? " + loginUrl" : "",
		expires ? " + expiresAt" : "",
		model_token_login_url(c->json) ? "" : " (no loginUrl)",
		expires ? "" : " (no expiresAt)");
}

/* ------------------------------------------------------------------ */
/* --probe-save                                                        */
/* ------------------------------------------------------------------ */

/* Creates dir (0700) when missing; its fd, or -errno. */
static int open_save_dir(const char *dir)
{
	int fd;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The saved form of one answer (probe.h). NULL on ENOMEM. */
static cJSON *saved_answer(struct probe_redactor *r, enum step s,
			   const struct call *c)
{
	cJSON *doc = cJSON_CreateObject(), *body = NULL;
	char *xs = NULL;

	if (!doc)
		return NULL;
	if (!cJSON_AddStringToObject(doc, "endpoint",
				     api_endpoint_name(steps[s].ep)) ||
	    !cJSON_AddNumberToObject(doc, "status", (double)c->status) ||
	    !cJSON_AddStringToObject(doc, "content_type",
				     c->json ? "application/json"
					     : "text/plain"))
		goto fail;
	if (c->json) {
		body = probe_redact(r, c->json);
		if (!body || !cJSON_AddItemToObject(doc, "body", body))
			goto fail;
		return doc;
	}
	xs = malloc(c->len + 1);
	if (!xs)
		goto fail;
	memset(xs, 'x', c->len);
	xs[c->len] = '\0';
	if (!cJSON_AddStringToObject(doc, "text", xs))
		goto fail;
	free(xs);
	return doc;
fail:
	cJSON_Delete(body);
	cJSON_Delete(doc);
	free(xs);
	return NULL;
}

static int save_one(int dirfd, struct probe_redactor *r, enum step s,
		    const struct call *c, char *name, size_t size)
{
	struct buf text = {0};
	cJSON *doc;
	int fd, rc;

	snprintf(name, size, "%02d-%s.json", (int)s + 1, steps[s].name);
	doc = saved_answer(r, s, c);
	if (!doc)
		return -ENOMEM;
	rc = json_pretty(doc, &text);
	cJSON_Delete(doc);
	if (rc)
		goto out;
	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	/* A file that was there keeps its mode through O_TRUNC. */
	rc = fchmod(fd, 0600) ? -errno : 0;
	if (!rc)
		rc = write_all(fd, text.data, text.len);
	if (close(fd) && !rc)
		rc = -errno;
out:
	buf_free(&text);
	return rc;
}

/* Writes every answer that came. Returns 0 or -errno (said on stderr). */
static int save_all(struct probe *p, int dirfd, const char *dir)
{
	struct probe_redactor *r = probe_redactor_new();
	char name[64] = "";
	int rc = r ? 0 : -ENOMEM, i;

	for (i = 0; !rc && i < S__N; i++)
		if (p->calls[i].json)
			rc = probe_redact_keep_keys(r, p->calls[i].json);
	for (i = 0; !rc && i < S__N; i++)
		if (p->calls[i].done && !p->calls[i].rc)
			rc = save_one(dirfd, r, (enum step)i, &p->calls[i],
				      name, sizeof(name));
	probe_redactor_free(r);
	if (rc)
		fprintf(stderr, "memberspotfs: cannot save %s/%s: %s\n", dir,
			name, strerror(-rc));
	return rc;
}

/* ------------------------------------------------------------------ */
/* The probe                                                           */
/* ------------------------------------------------------------------ */

/* Asks every question in turn, noting the readings. Returns 0, or -errno
 * when the probe itself could not go on. */
static int ask_all(struct probe *p, const struct probe_options *o,
		   cJSON **users)
{
	const cJSON *defs, *member;
	const char *email, *uid;
	int rc;

	if ((rc = probe_get(p, S_AUTH, "/api-auth")))
		return rc;
	auth_readings(p);

	if ((rc = probe_get(p, S_OFFERS, "/v1/offers")))
		return rc;
	offers_readings(p);

	if ((rc = probe_get(p, S_PROPDEFS, "/v1/custom-user-properties/list")))
		return rc;
	defs = propdefs_readings(p);

	if ((rc = probe_get(p, S_USERS, "/v1/users/list?pageLength=1")))
		return rc;
	member = users_readings(p, users);
	email = member ? model_user_email(member) : NULL;
	uid = member ? model_user_uid(member) : NULL;

	if (!email)
		skipped(p, S_FIND, "no member from the list");
	else if ((rc = probe_get_id(p, S_FIND, "/v1/users/find-by-mail/", email,
				    "")))
		return rc;
	if (email)
		find_readings(p, member, defs);

	if (!email)
		skipped(p, S_PROGRESS, "no member from the list");
	else if ((rc = probe_get_id(p, S_PROGRESS,
				    "/v1/users/course-progress/list/", email,
				    "")))
		return rc;
	progress_readings(p);

	if (o->token && !uid)
		skipped(p, S_TOKEN, "no member uid from the list");
	else if (o->token &&
		 (rc = probe_get_id(p, S_TOKEN, "/v1/users/login-token/", uid,
				    "")))
		return rc;
	if (o->token)
		token_readings(p);

	if (o->exam_id)
		return probe_get_id(p, S_EXAM, "/v1/exams/", o->exam_id,
				    "/results");
	return 0;
}

int probe_run(struct http *h, const struct probe_options *o, FILE *out)
{
	struct probe p = {.h = h, .out = out};
	cJSON *users = NULL;
	int dirfd = -1, rc, i;

	if (o->save_dir) {
		dirfd = open_save_dir(o->save_dir);
		if (dirfd < 0) {
			fprintf(stderr,
				"memberspotfs: cannot use --probe-save "
				"%s: %s\n",
				o->save_dir, strerror(-dirfd));
			return dirfd;
		}
	}
	rc = ask_all(&p, o, &users);
	if (!rc && dirfd >= 0)
		rc = save_all(&p, dirfd, o->save_dir);
	if (!rc && p.failed)
		rc = -ENOMEM;
	if (!rc) {
		if (p.why.len)
			fprintf(out, "not ready: %s\n", p.why.data);
		else
			fprintf(out, "ready\n");
		rc = p.why.len ? 1 : 0;
	}
	if (rc == -ENOMEM)
		fprintf(stderr, "memberspotfs: out of memory\n");
	fflush(out);
	cJSON_Delete(users);
	for (i = 0; i < S__N; i++) {
		free(p.calls[i].body);
		cJSON_Delete(p.calls[i].json);
	}
	buf_free(&p.why);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

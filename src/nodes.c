/*
 * nodes.c - the table of the tree, and the walks over it.
 *
 * One row per enum node, indexed by it. The rows are written out field
 * by field rather than through positional macros: a row is read far more
 * often than one is added, and a misplaced flag in a macro's argument
 * list is easy to miss. Rows whose name is a pattern (an identifier, a
 * scratch name) come after the fixed names of the same parent only by
 * convention; lookup tries every fixed name first, so the order of rows
 * matters for one thing alone: readdir lists fixed names in table order.
 *
 * Modes tell users what they can do: read-only views are 0400, editable
 * files 0600, directories 0700. Control files are 0600 too and read as
 * empty: a file that cannot be read fails `tar`, `rsync -a`, `cp -r` and
 * `grep -r` of the tree (their help is in the README below).
 *
 * Not listed, though they open by name: login-token (a read mints a
 * token), progress.json and progress/ (rate-limited requests). grep -r,
 * find, tar, rsync, cp -r, du and indexers walk what readdir returns,
 * and browsing must cost nothing.
 */
#include "nodes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nodeops.h"

#define MODE_DIR 0700
#define MODE_RO 0400
#define MODE_RW 0600
#define MODE_CONTROL 0600 /* read as empty */
#define MODE_LINK 0777

/* users/E/...: every file and directory of a member. */
#define IN_MEMBER (NODE_MEMBER | NODE_REMOVABLE)

/* Left unformatted: a row reads best as a block of fields, not as one
 * field a line three indents deep. */
/* clang-format off */
static const struct node_entry table[N__COUNT] = {
	[N_ROOT] = {
		.name = "", .parent = N_ROOT, .type = VIEW_DIR,
		.mode = MODE_DIR,
	},
	[N_README] = {
		.name = "README", .parent = N_ROOT, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED,
		.render = view_render_readme,
	},
	[N_PROPDEFS] = {
		.name = "properties.json", .parent = N_ROOT,
		.type = VIEW_FILE, .mode = MODE_RO,
		.flags = NODE_LISTED | NODE_SIZED, .forget = FORGET_PROPDEFS,
		.render = view_render_propdefs,
	},
	/* Whole-school files: every member, built from the listing and
	 * streamed (an open holds a piece, not the file). Sized by what was
	 * last built (view_stat_jsonl, view_stat_csv), never rendered twice
	 * for one stat. Live: large, and any change to any member changes
	 * them, so the kernel keeps no pages of them. */
	[N_USERS_JSONL] = {
		.name = "users.jsonl", .parent = N_ROOT, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_LIVE,
		.forget = FORGET_ROSTER, .stat = view_stat_jsonl,
		.render = view_render_users_jsonl,
		.stream = view_stream_users_jsonl,
	},
	[N_USERS_CSV] = {
		.name = "users.csv", .parent = N_ROOT, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_LIVE,
		.forget = FORGET_ROSTER, .stat = view_stat_csv,
		.render = view_render_users_csv, .stream = view_stream_csv,
	},

	/* offers/ */
	[N_OFFERS] = {
		.name = "offers", .parent = N_ROOT, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED,
		.forget = FORGET_OFFERS, .list = view_list_offers,
	},
	[N_OFFER] = {
		.name = "ID", .parent = N_OFFERS, .how = NAME_ID, .slot = 0,
		.type = VIEW_DIR, .mode = MODE_DIR, .forget = FORGET_OFFERS,
		.exists = view_exists_offer,
	},
	[N_OFFER_JSON] = {
		.name = "offer.json", .parent = N_OFFER, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED,
		.forget = FORGET_OFFERS, .exists = view_exists_offer,
		.render = view_render_offer_json,
	},
	[N_OFFER_NAME] = {
		.name = "name", .parent = N_OFFER, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED,
		.forget = FORGET_OFFERS, .exists = view_exists_offer,
		.render = view_render_offer_name,
	},
	[N_OFFER_MEMBERS] = {
		.name = "members", .parent = N_OFFER, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED,
		.forget = FORGET_LISTS, .exists = view_exists_offer,
		.list = view_list_offer_members,
	},
	[N_OFFER_MEMBER] = {
		.name = "EMAIL", .parent = N_OFFER_MEMBERS, .how = NAME_ID,
		.slot = 1, .type = VIEW_LINK, .mode = MODE_LINK,
		.forget = FORGET_LISTS, .exists = view_exists_offer_member,
		.stat = view_stat_link,
	},
	/* A refresh of grant drops what one of a member would (with the
	 * offer id for the member's): kept as it always was. */
	[N_OFFER_GRANT] = {
		.name = "grant", .parent = N_OFFER, .type = VIEW_FILE,
		.mode = MODE_CONTROL, .write = VW_CONTROL,
		.flags = NODE_LISTED | NODE_LIVE, .forget = FORGET_MEMBER,
		.exists = view_exists_offer, .render = view_render_empty,
		.apply = edit_apply_control, .line = edit_line_grant,
	},
	[N_OFFER_MEMBERS_CSV] = {
		.name = "members.csv", .parent = N_OFFER, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_LIVE,
		.forget = FORGET_LISTS, .exists = view_exists_offer,
		.stat = view_stat_csv, .render = view_render_offer_csv,
		.stream = view_stream_csv,
	},

	/* courses/ */
	[N_COURSES] = {
		.name = "courses", .parent = N_ROOT, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED,
		.forget = FORGET_OFFERS, .list = view_list_courses,
	},
	[N_COURSE] = {
		.name = "ID", .parent = N_COURSES, .how = NAME_ID, .slot = 0,
		.type = VIEW_DIR, .mode = MODE_DIR, .forget = FORGET_OFFERS,
		.exists = view_exists_course,
	},
	[N_COURSE_MEMBERS] = {
		.name = "members", .parent = N_COURSE, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED,
		.forget = FORGET_LISTS, .exists = view_exists_course,
		.list = view_list_course_members,
	},
	[N_COURSE_MEMBER] = {
		.name = "EMAIL", .parent = N_COURSE_MEMBERS, .how = NAME_ID,
		.slot = 1, .type = VIEW_LINK, .mode = MODE_LINK,
		.forget = FORGET_LISTS, .exists = view_exists_course_member,
		.stat = view_stat_link,
	},

	/* by-status/ */
	[N_BY_STATUS] = {
		.name = "by-status", .parent = N_ROOT, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED,
		.forget = FORGET_LISTS, .list = view_list_status,
	},
	[N_STATUS_DIR] = {
		.name = "STATE", .parent = N_BY_STATUS, .how = NAME_STATUS,
		.slot = 0, .type = VIEW_DIR, .mode = MODE_DIR,
		.forget = FORGET_LISTS, .list = view_list_status_members,
	},
	[N_STATUS_MEMBER] = {
		.name = "EMAIL", .parent = N_STATUS_DIR, .how = NAME_ID,
		.slot = 1, .type = VIEW_LINK, .mode = MODE_LINK,
		.forget = FORGET_LISTS, .exists = view_exists_status_member,
		.stat = view_stat_link,
	},

	/* users/ */
	[N_USERS] = {
		.name = "users", .parent = N_ROOT, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED,
		.forget = FORGET_ROSTER, .list = view_list_users,
	},
	[N_USER] = {
		.name = "EMAIL", .parent = N_USERS, .how = NAME_ID, .slot = 0,
		.type = VIEW_DIR, .mode = MODE_DIR,
		.flags = NODE_MEMBER | NODE_PENDING, .forget = FORGET_MEMBER,
		.list = view_list_scratch, .mkdir = edit_mkdir_member,
		.rmdir = edit_rmdir_member,
	},
	[N_USER_JSON] = {
		.name = "user.json", .parent = N_USER, .type = VIEW_FILE,
		.mode = MODE_RO,
		.flags = IN_MEMBER | NODE_LISTED | NODE_SIZED | NODE_RECORD,
		.forget = FORGET_MEMBER, .render = view_render_user_json,
	},
	[N_USER_OFFERS] = {
		.name = "offers", .parent = N_USER, .type = VIEW_DIR,
		.mode = MODE_DIR,
		.flags = IN_MEMBER | NODE_LISTED | NODE_PENDING,
		.forget = FORGET_MEMBER, .list = view_list_user_offers,
	},
	[N_USER_OFFER] = {
		.name = "ID", .parent = N_USER_OFFERS, .how = NAME_ID,
		.slot = 1, .type = VIEW_FILE, .mode = MODE_RW,
		.write = VW_VALUE,
		.flags = IN_MEMBER | NODE_SIZED | NODE_RECORD | NODE_STATE |
			 NODE_CREATE,
		.forget = FORGET_MEMBER, .render = view_render_offer_state,
		.apply = edit_apply_offer_state, .create = edit_create_grant,
	},
	[N_USER_ORDERS] = {
		.name = "orders", .parent = N_USER, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = IN_MEMBER | NODE_LISTED,
		.forget = FORGET_MEMBER, .list = view_list_user_orders,
	},
	[N_USER_ORDER] = {
		.name = "ID", .parent = N_USER_ORDERS, .how = NAME_ID,
		.slot = 1, .type = VIEW_FILE, .mode = MODE_RW,
		.write = VW_VALUE,
		.flags = IN_MEMBER | NODE_SIZED | NODE_RECORD | NODE_STATE,
		.forget = FORGET_MEMBER, .render = view_render_order_state,
		.apply = edit_apply_order_state,
	},
	[N_USER_PROPS] = {
		.name = "properties", .parent = N_USER, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = IN_MEMBER | NODE_LISTED,
		.forget = FORGET_MEMBER, .list = view_list_props,
	},
	[N_USER_PROP] = {
		.name = "NAME", .parent = N_USER_PROPS, .how = NAME_PROP,
		.slot = 1, .type = VIEW_FILE, .mode = MODE_RW,
		.write = VW_VALUE, .flags = IN_MEMBER | NODE_RECORD,
		.forget = FORGET_MEMBER, .stat = view_stat_prop,
		.render = view_render_prop, .apply = edit_apply_prop,
		.create = edit_create_prop,
	},
	[N_USER_PROPS_JSON] = {
		.name = "properties.json", .parent = N_USER,
		.type = VIEW_FILE, .mode = MODE_RW, .write = VW_JSON,
		.flags = IN_MEMBER | NODE_LISTED | NODE_SIZED | NODE_RECORD,
		.forget = FORGET_MEMBER, .render = view_render_props_json,
		.apply = edit_apply_props_json,
	},
	[N_USER_PROGRESS_JSON] = {
		.name = "progress.json", .parent = N_USER, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = IN_MEMBER | NODE_LIVE,
		.forget = FORGET_MEMBER,
		.stat = view_stat_progress, .render = view_render_progress,
	},
	[N_USER_PROGRESS] = {
		.name = "progress", .parent = N_USER, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = IN_MEMBER | NODE_LIVE,
		.forget = FORGET_MEMBER,
		.list = view_list_progress,
	},
	[N_USER_PROGRESS_COURSE] = {
		.name = "COURSE.json", .parent = N_USER_PROGRESS,
		.how = NAME_ID_JSON, .slot = 1, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = IN_MEMBER | NODE_LIVE,
		.forget = FORGET_MEMBER,
		.stat = view_stat_progress,
		.render = view_render_progress,
	},
	[N_USER_CHAPTERS] = {
		.name = "chapters", .parent = N_USER, .type = VIEW_FILE,
		.mode = MODE_CONTROL, .write = VW_CONTROL,
		.flags = IN_MEMBER | NODE_LISTED | NODE_LIVE,
		.forget = FORGET_MEMBER,
		.render = view_render_empty, .apply = edit_apply_control,
		.line = edit_line_chapter,
	},
	[N_USER_LOGIN_TOKEN] = {
		.name = "login-token", .parent = N_USER, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = IN_MEMBER | NODE_LIVE | NODE_FRESH,
		.forget = FORGET_MEMBER,
		.render = view_render_login_token,
	},
	/* Anything else an editor may create in users/E/. */
	[N_USER_SCRATCH] = {
		.name = "NAME", .parent = N_USER, .how = NAME_SCRATCH,
		.slot = 1, .type = VIEW_FILE, .mode = MODE_RW,
		.write = VW_SCRATCH,
		.flags = NODE_MEMBER | NODE_PENDING | NODE_LIVE,
		.forget = FORGET_MEMBER, .stat = view_stat_scratch,
	},

	/* exams/ */
	[N_EXAMS] = {
		.name = "exams", .parent = N_ROOT, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED,
		.forget = FORGET_EXAMS, .list = view_list_exams,
	},
	[N_EXAM] = {
		.name = "ID", .parent = N_EXAMS, .how = NAME_ID, .slot = 0,
		.type = VIEW_DIR, .mode = MODE_DIR, .forget = FORGET_EXAM,
		.exists = view_exists_exam,
	},
	[N_EXAM_JSON] = {
		.name = "results.json", .parent = N_EXAM, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED | NODE_LIVE,
		.forget = FORGET_EXAM, .exists = view_exists_exam,
		.render = view_render_exam_json,
	},
	[N_EXAM_CSV] = {
		.name = "results.csv", .parent = N_EXAM, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED | NODE_LIVE,
		.forget = FORGET_EXAM, .exists = view_exists_exam,
		.render = view_render_exam_csv,
	},

	/* .memberspot/ */
	[N_META] = {
		.name = ".memberspot", .parent = N_ROOT, .type = VIEW_DIR,
		.mode = MODE_DIR, .flags = NODE_LISTED | NODE_LIVE,
	},
	[N_META_STATUS] = {
		.name = "status", .parent = N_META, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED | NODE_LIVE,
		.render = view_render_status,
	},
	[N_META_ERRORS] = {
		.name = "errors", .parent = N_META, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED | NODE_LIVE,
		.render = view_render_errors,
	},
	[N_META_JOURNAL] = {
		.name = "journal", .parent = N_META, .type = VIEW_FILE,
		.mode = MODE_RO, .flags = NODE_LISTED | NODE_SIZED | NODE_LIVE,
		.render = view_render_journal,
	},
	/* Refreshing changes nothing in the school: allowed under -o ro,
	 * one line at a time. */
	[N_META_REFRESH] = {
		.name = "refresh", .parent = N_META, .type = VIEW_FILE,
		.mode = MODE_CONTROL, .write = VW_CONTROL,
		.flags = NODE_LISTED | NODE_SERIAL | NODE_RO_OK | NODE_LIVE,
		.render = view_render_empty, .apply = edit_apply_control,
		.line = edit_line_refresh,
	},
};
/* clang-format on */

const struct node_entry *node_entry(enum node n)
{
	return &table[n < N__COUNT ? n : N_ROOT];
}

/* ------------------------------------------------------------------ */
/* Lookup                                                              */
/* ------------------------------------------------------------------ */

static int take_raw(struct tree_path *p, int slot, const char *name)
{
	p->id[slot] = strdup(name);
	return p->id[slot] ? 0 : -ENOMEM;
}

/* Decodes an identifier component (with suffix, may be NULL, cut off)
 * into id[slot]. A component that is no encoding names nothing: -ENOENT,
 * not -EINVAL, as lookups expect. */
static int take_id(struct tree_path *p, int slot, const char *name,
		   const char *suffix)
{
	size_t len = strlen(name), sl = suffix ? strlen(suffix) : 0;
	char *base;
	int rc;

	if (len <= sl || strcmp(name + len - sl, suffix ? suffix : "") != 0)
		return -ENOENT;
	base = strndup(name, len - sl);
	if (!base)
		return -ENOMEM;
	rc = tree_decode(base, &p->id[slot]);
	free(base);
	return rc == -EINVAL ? -ENOENT : rc;
}

/* A property name, or else an editor's temporary file (the caller
 * decides whether NAME is a defined property). */
static int take_prop(struct tree_path *p, int slot, const char *name)
{
	int rc = tree_decode(name, &p->id[slot]);

	if (rc != -EINVAL)
		return rc;
	p->scratch = 1;
	return take_raw(p, slot, name);
}

/* Takes name as the pattern of row e. 0, -ENOENT, -ENOMEM. */
static int take_name(const struct node_entry *e, const char *name,
		     struct tree_path *p)
{
	switch (e->how) {
	case NAME_ID:
		return take_id(p, e->slot, name, NULL);
	case NAME_ID_JSON:
		return take_id(p, e->slot, name, ".json");
	case NAME_STATUS:
		if (strcmp(name, "active") && strcmp(name, "inactive"))
			return -ENOENT;
		return take_raw(p, e->slot, name);
	case NAME_PROP:
		return take_prop(p, e->slot, name);
	case NAME_SCRATCH:
		return take_raw(p, e->slot, name);
	case NAME_FIXED:
		break;
	}
	return -ENOENT;
}

int node_child(enum node parent, const char *name, struct tree_path *p,
	       enum node *child)
{
	int n;

	for (n = N_ROOT + 1; n < N__COUNT; n++)
		if (table[n].parent == parent && table[n].how == NAME_FIXED &&
		    strcmp(table[n].name, name) == 0) {
			*child = (enum node)n;
			return 0;
		}
	for (n = N_ROOT + 1; n < N__COUNT; n++)
		if (table[n].parent == parent && table[n].how != NAME_FIXED) {
			*child = (enum node)n;
			return take_name(&table[n], name, p);
		}
	return -ENOENT;
}

int node_each_listed(enum node parent, int pending,
		     int (*fn)(void *arg, const char *name, enum view_type t),
		     void *arg)
{
	const struct node_entry *e;
	int n, r;

	for (n = N_ROOT + 1; n < N__COUNT; n++) {
		e = &table[n];
		if (e->parent != parent || e->how != NAME_FIXED ||
		    !(e->flags & NODE_LISTED))
			continue;
		if (pending && !(e->flags & NODE_PENDING))
			continue;
		r = fn(arg, e->name, e->type);
		if (r)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

int node_depth(enum node n)
{
	int d = 0;

	for (; n != N_ROOT && n < N__COUNT; n = table[n].parent)
		d++;
	return d;
}

/* Appends "/" and the component of row e to b. */
static int put_component(struct buf *b, const struct node_entry *e,
			 const char *const id[2])
{
	const char *raw = id[e->slot] ? id[e->slot] : "";
	char *enc;
	int r;

	if (e->how == NAME_FIXED)
		return buf_printf(b, "/%s", e->name);
	if (e->how == NAME_STATUS || e->how == NAME_SCRATCH)
		return buf_printf(b, "/%s", raw);
	enc = tree_encode(raw);
	if (!enc)
		return -ENOMEM;
	r = buf_printf(b, "/%s%s", enc, e->how == NAME_ID_JSON ? ".json" : "");
	free(enc);
	return r;
}

char *node_path(enum node n, const char *id0, const char *id1)
{
	const char *const id[2] = {id0, id1};
	enum node chain[8];
	struct buf b = {0};
	int d = 0, r = 0;

	for (; n != N_ROOT && n < N__COUNT && d < 8; n = table[n].parent)
		chain[d++] = n;
	if (d == 0)
		r = buf_puts(&b, "/");
	while (!r && d > 0)
		r = put_component(&b, &table[chain[--d]], id);
	if (r) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* ------------------------------------------------------------------ */
/* The README inside the mount                                         */
/* ------------------------------------------------------------------ */

const char node_readme[] =
	"memberspotfs: this Memberspot school as files\n"
	"\n"
	"  properties.json          custom property definitions\n"
	"  users.jsonl              every member, one JSON record a line\n"
	"  users.csv                every member: email, names, active, "
	"created,\n"
	"                           one column per property, offers "
	"(ID:state;...)\n"
	"  offers/ID/offer.json     an offer; name: its name\n"
	"  offers/ID/members/       members holding it (symlinks to users/)\n"
	"  offers/ID/grant          write EMAIL[,FIRST[,LAST[,ORDER]]] lines "
	"to grant\n"
	"  offers/ID/members.csv    its members, columns as users.csv\n"
	"  courses/ID/members/      members enrolled in a course\n"
	"  by-status/active/        active members; inactive/ the others\n"
	"  users/EMAIL/user.json    the member record\n"
	"  users/EMAIL/offers/ID    \"active\" or \"inactive\"; write either "
	"to "
	"switch,\n"
	"                           touch a new one to grant that offer\n"
	"  users/EMAIL/orders/ID    the same, per order\n"
	"      (when member records carry no offers, offers/ is derived from\n"
	"      every offer's member lists, read once per cache_ttl for all\n"
	"      members; orders/ then lists the orders granted through this\n"
	"      mount, and any order id can be written)\n"
	"  users/EMAIL/properties/NAME   a property value; write to set it\n"
	"  users/EMAIL/properties.json   all values; edit with any editor\n"
	"  users/EMAIL/progress.json     course progress (*); "
	"progress/COURSE.json (*)\n"
	"  users/EMAIL/chapters     write \"COURSE_ID CHAPTER_ID\" lines to "
	"enable\n"
	"  users/EMAIL/login-token  a fresh single sign-on token on every "
	"read (*)\n"
	"                           (and its login URL, where the API gives "
	"one)\n"
	"  exams/ID/results.json    exam results (also results.csv)\n"
	"  .memberspot/             status, errors, journal; write a path to "
	"refresh\n"
	"\n"
	"(*) not listed by ls: reading them costs a request each (a token is\n"
	"    minted, progress is rate limited), so grep -r, find, tar, rsync,\n"
	"    cp -r and du never trigger that; they open by their names.\n"
	"grant, chapters and .memberspot/refresh only take writes: they read\n"
	"as empty, so tar, rsync -a, cp -r and grep -r copy the tree.\n"
	"A file's mtime is when its content last changed as this mount saw\n"
	"it (a change through the mount, or a fetch that differs); a\n"
	"directory's when a listing of it changed. A file first seen shows\n"
	"the time the mount started.\n"
	"\n"
	"Names: '%' is written %25, '/' %2F, a leading '.' %2E and a control\n"
	"character (bytes 0x01-0x1F, 0x7F) %01-%1F, %7F.\n"
	"Changes happen when the file is closed; a refused change makes "
	"close()\n"
	"fail and its reason is in .memberspot/errors.\n"
	"rmdir users/EMAIL deletes the member (irreversible; at most\n"
	"max_deletes, default 10, a minute; the journal keeps its record).\n"
	"Under -o dry_run no change is sent: the journal shows each request.\n";

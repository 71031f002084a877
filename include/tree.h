/*
 * tree: what a path in the mount names. Pure string work: no I/O, no
 * cache, no FUSE.
 *
 * Names: an identifier becomes a file name with '%' written "%25", '/'
 * written "%2F", a leading '.' written "%2E" and each control character
 * (bytes 0x01-0x1F and 0x7F) written "%XX" in uppercase hex ("%0A" for a
 * newline, "%1B" for ESC), so no listing hands a terminal an escape
 * sequence or a line-based script a name broken in two; nothing else
 * changes.
 * Decoding is the exact inverse: decode(encode(id)) == id for every
 * non-empty identifier ("." and ".." included: they are "%2E" and "%2E."),
 * and any name that is not the encoding of something is refused, so every
 * identifier has exactly one name. Decoding never yields "": a raw leading
 * '.', an embedded '/' or a name "." or ".." can never be produced from a
 * path, but a decoded identifier may well be "." or "..", or hold '/':
 * whoever puts identifiers into URLs must escape them (api.c refuses "."
 * and ".." there; http_escape encodes '/').
 *
 * Names longer than TREE_NAME_MAX: the kernel cannot address them, so an
 * identifier whose encoded name (with any fixed suffix, such as ".json"
 * in progress/) is longer has no name in the mount. Listings leave it out
 * (views.c, which notes it in .memberspot/errors); the record it came
 * from (user.json, offer.json, properties.json) still shows it, and
 * tree_parse refuses longer components with -ENAMETOOLONG.
 */
#ifndef MSFS_TREE_H
#define MSFS_TREE_H

#include <stddef.h>

/* NAME_MAX of every Linux filesystem: the longest name a listing shows. */
#define TREE_NAME_MAX 255

/* The node kinds: one row each in the node table (nodes.h), which holds
 * everything else about them. */
enum node {
	N_ROOT,
	N_README,		/* /README */
	N_PROPDEFS,		/* /properties.json */
	N_USERS_JSONL,		/* /users.jsonl */
	N_USERS_CSV,		/* /users.csv */
	N_OFFERS,		/* /offers */
	N_OFFER,		/* /offers/O */
	N_OFFER_JSON,		/* /offers/O/offer.json */
	N_OFFER_NAME,		/* /offers/O/name */
	N_OFFER_MEMBERS,	/* /offers/O/members */
	N_OFFER_MEMBER,		/* /offers/O/members/E (symlink) */
	N_OFFER_GRANT,		/* /offers/O/grant */
	N_OFFER_MEMBERS_CSV,	/* /offers/O/members.csv */
	N_COURSES,		/* /courses */
	N_COURSE,		/* /courses/C */
	N_COURSE_MEMBERS,	/* /courses/C/members */
	N_COURSE_MEMBER,	/* /courses/C/members/E (symlink) */
	N_BY_STATUS,		/* /by-status */
	N_STATUS_DIR,		/* /by-status/active|inactive (id[0]) */
	N_STATUS_MEMBER,	/* /by-status/S/E (symlink) */
	N_USERS,		/* /users */
	N_USER,			/* /users/E */
	N_USER_JSON,		/* /users/E/user.json */
	N_USER_OFFERS,		/* /users/E/offers */
	N_USER_OFFER,		/* /users/E/offers/O */
	N_USER_ORDERS,		/* /users/E/orders */
	N_USER_ORDER,		/* /users/E/orders/R */
	N_USER_PROPS,		/* /users/E/properties */
	N_USER_PROP,		/* /users/E/properties/NAME */
	N_USER_PROPS_JSON,	/* /users/E/properties.json */
	N_USER_PROGRESS_JSON,	/* /users/E/progress.json */
	N_USER_PROGRESS,	/* /users/E/progress */
	N_USER_PROGRESS_COURSE, /* /users/E/progress/C.json */
	N_USER_CHAPTERS,	/* /users/E/chapters */
	N_USER_LOGIN_TOKEN,	/* /users/E/login-token */
	N_USER_SCRATCH,		/* /users/E/<any other name> */
	N_EXAMS,		/* /exams */
	N_EXAM,			/* /exams/X */
	N_EXAM_JSON,		/* /exams/X/results.json */
	N_EXAM_CSV,		/* /exams/X/results.csv */
	N_META,			/* /.memberspot */
	N_META_STATUS,
	N_META_ERRORS,
	N_META_JOURNAL,
	N_META_REFRESH,
	N__COUNT
};

/*
 * A parsed path. id[] holds the decoded identifiers along the path:
 *   offers/O/...           id[0]=O, members/E: id[1]=E
 *   courses/C/...          id[0]=C, members/E: id[1]=E
 *   by-status/S/E          id[0]="active"|"inactive", id[1]=E
 *   users/E/...            id[0]=E; offers/O, orders/R, progress/C.json:
 *                          id[1]=O|R|C
 *   users/E/properties/N   id[0]=E, id[1]=N (the property *name*)
 *   users/E/<scratch>      id[0]=E, id[1]=the raw file name
 *   exams/X/...            id[0]=X
 * `scratch` is set for N_USER_PROP when the name is not a valid encoding
 * (an editor's temporary file in properties/): the caller decides whether
 * NAME is a defined property; id[1] is then the raw name.
 */
struct tree_path {
	enum node node;
	char *id[2];
	int scratch;
};

/* Parses an absolute mount path. Returns 0, -ENOENT when the path cannot
 * name anything, -ENAMETOOLONG for components over 255 bytes, -ENOMEM. */
int tree_parse(const char *path, struct tree_path *out);
void tree_path_free(struct tree_path *p);

/* Encoded file name of an identifier (malloc'd), NULL on ENOMEM. */
char *tree_encode(const char *id);
/* Decodes a file name. Returns 0 with *out malloc'd (never ""), -EINVAL
 * when name is not the encoding of any identifier, -ENOMEM. */
int tree_decode(const char *name, char **out);
/* 1 when id, encoded and followed by suffix (may be NULL), is a name the
 * kernel can look up (at most TREE_NAME_MAX bytes); 0 otherwise. */
int tree_name_fits(const char *id, const char *suffix);

/* 1 for directories, 0 for files and symlinks (the node table's kind). */
int tree_node_is_dir(enum node n);

#endif

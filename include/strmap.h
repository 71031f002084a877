/*
 * strmap: a hash table from strings to pointers, and a set of strings.
 *
 * - Keys are copied in (the caller's string may go at once) and freed by
 *   the map. Values are the caller's: the map never frees one except
 *   through the free_value function given to strmap_free / strmap_clear,
 *   and a value removed (strmap_remove, a STRMAP_REMOVE from a visit) is
 *   handed back to the caller, or left to the visit function to free.
 * - A value may be NULL; strmap_has tells "absent" from "present as NULL".
 *   A set is a map whose values are all NULL (strmap_add / strmap_has).
 * - Out of memory: strmap_put and strmap_add return -ENOMEM and leave the
 *   map as it was; the caller decides what a lost entry costs. A failure
 *   to grow the table is not reported: chains just get longer.
 * - Iteration is by visit (strmap_visit, strmap_visit_some): the visit
 *   function may remove the entry it is given (by returning
 *   STRMAP_REMOVE) but must not otherwise change the map. Order is
 *   unspecified.
 * It does NOT lock: the owner serialises every call. Collisions cost
 * time, never correctness (strhash.h: not for keys an attacker picks to
 * collide).
 */
#ifndef MSFS_STRMAP_H
#define MSFS_STRMAP_H

#include <stddef.h>

struct strmap;

/* NULL on ENOMEM. */
struct strmap *strmap_new(void);
/* Frees the map, calling free_value (may be NULL) on every value. NULL is
 * fine. */
void strmap_free(struct strmap *m, void (*free_value)(void *value));
/* Removes every entry (free_value as strmap_free) and shrinks the table
 * to its first size. */
void strmap_clear(struct strmap *m, void (*free_value)(void *value));

/* The value of key, or NULL when absent (or stored as NULL). */
void *strmap_get(const struct strmap *m, const char *key);
/* 1 when key is present, else 0. */
int strmap_has(const struct strmap *m, const char *key);
/* Sets key to value. When key was present its old value is put in *old
 * (old may be NULL: the caller then knows there was none, or does not
 * care), else *old is NULL. 0 or -ENOMEM (map unchanged). */
int strmap_put(struct strmap *m, const char *key, void *value, void **old);
/* Removes key; its value is returned (NULL when absent). */
void *strmap_remove(struct strmap *m, const char *key);
/* Entries held. */
size_t strmap_count(const struct strmap *m);
/* 1 when the next new key will grow the table (it doubles when it holds
 * as many keys as buckets): the moment for an owner that keeps garbage
 * to sweep it first. */
int strmap_full(const struct strmap *m);

/* Set use: adds key (value NULL). 1 added, 0 already present, -ENOMEM. */
int strmap_add(struct strmap *m, const char *key);

/* What a visit function wants done with the entry it was given. */
enum strmap_visit {
	STRMAP_KEEP,
	STRMAP_REMOVE, /* unlink it: the function has dealt with the value */
	STRMAP_STOP,   /* keep it and end the visit */
};
typedef enum strmap_visit (*strmap_visit_fn)(void *arg, const char *key,
					     void *value);

/* Calls fn on every entry. Returns the number removed. */
size_t strmap_visit(struct strmap *m, strmap_visit_fn fn, void *arg);
/*
 * An incremental visit, for sweeping a big table a little at a time:
 * goes on from bucket *cursor (kept by the caller between calls, 0 at
 * first; any value is valid, also after the table grew), passing at most
 * `scan` buckets and stopping after `busy` non-empty ones. Over enough
 * calls every entry is visited. Returns the number removed.
 */
size_t strmap_visit_some(struct strmap *m, size_t *cursor, size_t scan,
			 size_t busy, strmap_visit_fn fn, void *arg);

#endif

/*
 * packrec: member records kept as compact JSON text, made smaller.
 *
 * A school keeps every member's record as its compact JSON text
 * (school.c); at 100,000 members that text is most of the daemon's
 * memory. Two things repeat in every record: the keys ("offerId",
 * "grantedAt", ... once per grant) and times written as ISO 8601 with
 * milliseconds. packrec_pack takes the text cJSON_PrintUnformatted makes
 * (no whitespace, and no raw byte below 0x20 anywhere: cJSON escapes
 * them) and writes
 *
 * - each key `"k":` as one byte 0x01 to 0x1E, its index in the
 *   dictionary plus one. The dictionary learns the first PACKREC_KEYS
 *   keys it meets (as written, quotes and escapes included, at most
 *   PACKREC_KEY_MAX bytes); a key that does not fit stays as it is;
 * - each string value of the exact form "YYYY-MM-DDTHH:MM:SS.mmmZ" whose
 *   fields fit (year up to 8191) as 0x1F followed by seven bytes of seven
 *   bits each (high bit set, so never a NUL);
 * - everything else as it is (bytes 0x80 and up included: UTF-8).
 *
 * packrec_unpack gives back exactly the text that was packed, so nothing
 * the server sent is lost, unknown fields included. A key keeps its byte
 * for the life of the dictionary, so equal records pack to equal text
 * (school.c compares packed texts to see whether a record changed).
 *
 * Thread-safe: packing learns keys under a mutex; unpacking takes no
 * lock, and reads only dictionary entries published before the packed
 * text that uses them was made.
 */
#ifndef MSFS_PACKREC_H
#define MSFS_PACKREC_H

#include <stddef.h>

#include "buf.h"

#define PACKREC_KEYS 30
#define PACKREC_KEY_MAX 62 /* bytes of `"k":`, quotes and colon included */
#define PACKREC_TIME 0x1F

struct packrec;

/* An empty dictionary, or NULL when out of memory. */
struct packrec *packrec_new(void);
void packrec_free(struct packrec *d);

/* The packed form of json (compact JSON text as cJSON prints it), as a
 * new string (free it). NULL with errno EINVAL when json holds a byte
 * below 0x20 (not cJSON's compact text), ENOMEM when out of memory. */
char *packrec_pack(struct packrec *d, const char *json);
/* The same, appended to out (a buffer kept from record to record, so a
 * listing's thousands of records cost no allocation each). 0, -EINVAL or
 * -ENOMEM (out then as it was). */
int packrec_pack_into(struct packrec *d, const char *json, struct buf *out);

/* Appends the text that packed was made from to out. 0, -ENOMEM, or
 * -EINVAL when packed was not made by packrec_pack with d (out then
 * holds a part of it). */
int packrec_unpack(const struct packrec *d, const char *packed,
		   struct buf *out);

/* Keys learned so far (.memberspot/status: "record keys packed"). */
int packrec_keys(const struct packrec *d);

#endif

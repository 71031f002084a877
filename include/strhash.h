/*
 * strhash: the string hash of the daemon's hash tables (strmap, the
 * probe's tables, the views' unlisted-name memory).
 *
 * 32-bit FNV-1a over a NUL-terminated string. Not for anything an
 * attacker must not collide: the tables chain, so collisions cost time,
 * never correctness.
 */
#ifndef MSFS_STRHASH_H
#define MSFS_STRHASH_H

#include <stdint.h>

static inline uint32_t strhash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

#endif

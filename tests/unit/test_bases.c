/* Unit tests for bases.c: per (path, pid), replaced on a new note,
 * expiry, eviction of the oldest, forgetting a directory. */
#include "clock.h"
#include "bases.h"
#include "cache.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 and the base in got when (path, pid) has one at time now. */
static int get(struct bases *b, const char *path, pid_t pid, double now,
	       char *got, size_t size)
{
	struct buf out = {0};
	int r = bases_get(b, path, pid, now, &out);

	snprintf(got, size, "%.*s", (int)out.len, out.data ? out.data : "");
	buf_free(&out);
	return r;
}

int main(void)
{
	struct bases *b = bases_new();
	char got[64], path[32];
	double now = mono_now();
	int i, r;

	if (!ok(b != NULL, "bases_new"))
		return done_testing();
	r = get(b, "/users/a/properties.json", 10, now, got, sizeof(got));
	ok(r == 0 && !*got, "nothing noted: no base");

	ok(bases_note(b, "/users/a/properties.json", 10, "{\"A\": 1}\n", 9,
		      1) == 0,
	   "note a read");
	r = get(b, "/users/a/properties.json", 10, now, got, sizeof(got));
	ok(r == 1 && !strcmp(got, "{\"A\": 1}\n"), "the reader gets its base");
	ok(get(b, "/users/a/properties.json", 11, now, got, sizeof(got)) == 0,
	   "another process has none");
	ok(get(b, "/users/a/properties/Company", 10, now, got, sizeof(got)) ==
		   0,
	   "another file has none");

	bases_note(b, "/users/a/properties.json", 10, "{\"A\": 9}\n", 9, 1);
	r = get(b, "/users/a/properties.json", 10, now, got, sizeof(got));
	ok(r == 1 && !strcmp(got, "{\"A\": 1}\n") && bases_count(b) == 1,
	   "a later read does not move the base (the first read stays)");
	bases_note(b, "/users/a/properties.json", 10, "{\"A\": 2}\n", 9, 0);
	r = get(b, "/users/a/properties.json", 10, now, got, sizeof(got));
	ok(r == 1 && !strcmp(got, "{\"A\": 2}\n") && bases_count(b) == 1,
	   "a save replaces it (one entry)");

	bases_note(b, "/users/a/properties/Company", 10, "", 0, 1);
	r = get(b, "/users/a/properties/Company", 10, now, got, sizeof(got));
	ok(r == 1 && !*got, "an empty file read is a base too");

	r = get(b, "/users/a/properties.json", 10, now + BASES_KEEP + 1, got,
		sizeof(got));
	ok(r == 0, "a base older than BASES_KEEP is gone");

	bases_note(b, "/users/a/properties.json", 10, "x", 1, 0);
	bases_note(b, "/users/ab/properties.json", 10, "y", 1, 0);
	bases_forget(b, "/users/a/");
	ok(get(b, "/users/a/properties.json", 10, now, got, sizeof(got)) == 0 &&
		   get(b, "/users/a/properties/Company", 10, now, got,
		       sizeof(got)) == 0,
	   "forgetting users/a drops its bases");
	ok(get(b, "/users/ab/properties.json", 10, now, got, sizeof(got)) == 1,
	   "... but not those of users/ab");

	for (i = 0; i < BASES_MAX + 10; i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		bases_note(b, path, 1, path, strlen(path), 1);
	}
	ok(bases_count(b) == BASES_MAX, "at most BASES_MAX entries (%zu)",
	   bases_count(b));
	ok(get(b, "/f0", 1, mono_now(), got, sizeof(got)) == 0,
	   "the oldest went first");
	r = get(b, "/f265", 1, mono_now(), got, sizeof(got));
	ok(r == 1 && !strcmp(got, "/f265"), "the newest is kept");
	ok(bases_who(getpid()) == bases_who(getpid()) &&
		   bases_who(getpid()) != (unsigned long long)getpid(),
	   "a process's identity is stable and holds its start time");
	bases_free(b);
	bases_free(NULL);
	return done_testing();
}

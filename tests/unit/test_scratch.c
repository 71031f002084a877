/*
 * test_scratch: in-memory files, their limits and their listing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scratch.h"
#include "tap.h"

#define DIR_E "/users/a@b.c"

static void test_files(struct scratch *s)
{
	struct buf b = {0};
	char out[64];
	size_t size = 99;
	mode_t mode = 0;
	long n;

	ok(scratch_stat(s, DIR_E "/x", NULL, NULL) == 0, "absent at first");
	ok(scratch_read(s, DIR_E "/x", out, sizeof(out), 0) == -ENOENT,
	   "read of an absent file");
	ok(scratch_write(s, DIR_E "/x", "a", 1, 0) == -ENOENT,
	   "write of an absent file");
	ok(scratch_create(s, DIR_E "/x", 0640) == 0, "create");
	ok(scratch_stat(s, DIR_E "/x", &size, &mode) == 1 && size == 0 &&
		   mode == (S_IFREG | 0640),
	   "stat: empty, mode 0640 (got %zu, %o)", size, (unsigned)mode);

	n = scratch_write(s, DIR_E "/x", "hello", 5, 0);
	ok(n == 5, "write 5 bytes");
	n = scratch_write(s, DIR_E "/x", "world", 5, 10);
	ok(n == 5, "write past the end");
	scratch_stat(s, DIR_E "/x", &size, NULL);
	ok(size == 15, "size 15 (got %zu)", size);
	n = scratch_read(s, DIR_E "/x", out, sizeof(out), 0);
	ok(n == 15 && memcmp(out, "hello\0\0\0\0\0world", 15) == 0,
	   "the gap reads as zeros");
	n = scratch_read(s, DIR_E "/x", out, 3, 2);
	ok(n == 3 && memcmp(out, "llo", 3) == 0, "read in the middle");
	ok(scratch_read(s, DIR_E "/x", out, 3, 15) == 0, "read at the end");
	ok(scratch_read(s, DIR_E "/x", out, 3, 1000) == 0, "read past it");
	ok(scratch_read(s, DIR_E "/x", out, 3, -1) == -EINVAL,
	   "negative offset");
	ok(scratch_write(s, DIR_E "/x", "", 0, 100) == 0 &&
		   scratch_stat(s, DIR_E "/x", &size, NULL) && size == 15,
	   "an empty write does not extend");

	ok(scratch_truncate(s, DIR_E "/x", 4) == 0, "truncate to 4");
	ok(scratch_get(s, DIR_E "/x", &b) == 0 && b.len == 4 &&
		   strcmp(b.data, "hell") == 0,
	   "get after truncate");
	ok(scratch_truncate(s, DIR_E "/x", 6) == 0 &&
		   scratch_read(s, DIR_E "/x", out, 10, 0) == 6 &&
		   memcmp(out, "hell\0\0", 6) == 0,
	   "truncate up zero-fills");
	ok(scratch_truncate(s, DIR_E "/nope", 0) == -ENOENT,
	   "truncate of an absent file");

	ok(scratch_create(s, DIR_E "/x", 0600) == 0 &&
		   scratch_stat(s, DIR_E "/x", &size, &mode) && size == 0 &&
		   mode == (S_IFREG | 0640),
	   "create again truncates and keeps the mode");
	ok(scratch_chmod(s, DIR_E "/x", 0604) == 0 &&
		   scratch_stat(s, DIR_E "/x", NULL, &mode) &&
		   mode == (S_IFREG | 0604),
	   "chmod");
	ok(scratch_chmod(s, DIR_E "/nope", 0600) == -ENOENT,
	   "chmod of an absent file");

	ok(scratch_set(s, DIR_E "/y", "{\"a\":1}\n", 8, 0600) == 0,
	   "set creates");
	buf_free(&b);
	ok(scratch_get(s, DIR_E "/y", &b) == 0 &&
		   strcmp(b.data, "{\"a\":1}\n") == 0,
	   "get after set");
	ok(scratch_set(s, DIR_E "/y", "z", 1, 0644) == 0 &&
		   scratch_stat(s, DIR_E "/y", &size, &mode) && size == 1 &&
		   mode == (S_IFREG | 0644),
	   "set replaces content and mode");
	buf_free(&b);
	ok(scratch_get(s, DIR_E "/nope", &b) == -ENOENT,
	   "get of an absent file");

	ok(scratch_rename(s, DIR_E "/y", DIR_E "/x") == 0, "rename over");
	ok(!scratch_stat(s, DIR_E "/y", NULL, NULL) &&
		   scratch_stat(s, DIR_E "/x", &size, NULL) && size == 1,
	   "the target was replaced");
	ok(scratch_rename(s, DIR_E "/x", DIR_E "/x") == 0 &&
		   scratch_stat(s, DIR_E "/x", NULL, NULL),
	   "rename onto itself");
	ok(scratch_rename(s, DIR_E "/nope", DIR_E "/x") == -ENOENT,
	   "rename of an absent file");
	ok(scratch_unlink(s, DIR_E "/x") == 0 &&
		   !scratch_stat(s, DIR_E "/x", NULL, NULL),
	   "unlink");
	ok(scratch_unlink(s, DIR_E "/x") == -ENOENT, "unlink twice");
	buf_free(&b);
}

static int collect(void *arg, const char *name)
{
	struct buf *b = arg;

	buf_puts(b, name);
	buf_puts(b, ";");
	return 0;
}

static int stop(void *arg, const char *name)
{
	(void)name;
	(*(int *)arg)++;
	return 7;
}

static void test_list(struct scratch *s)
{
	struct buf b = {0};
	int calls = 0;

	scratch_create(s, DIR_E "/.user.json.swp", 0600);
	scratch_create(s, DIR_E "/properties/.Company.swp", 0600);
	scratch_create(s, DIR_E "x/other", 0600);
	scratch_create(s, "/users/z@b.c/4913", 0600);
	ok(scratch_list(s, DIR_E, collect, &b) == 0 &&
		   strcmp(b.data, ".user.json.swp;") == 0,
	   "list shows only direct children (got %s)", b.data);
	buf_free(&b);
	ok(scratch_list(s, DIR_E "/properties", collect, &b) == 0 &&
		   strcmp(b.data, ".Company.swp;") == 0,
	   "list of properties/");
	buf_free(&b);
	scratch_create(s, DIR_E "/second", 0600);
	ok(scratch_list(s, DIR_E, stop, &calls) == 7 && calls == 1,
	   "list stops at fn's non-zero return");
	ok(scratch_list(s, "/users/none", collect, &b) == 0 && b.len == 0,
	   "empty listing");

	scratch_drop_dir(s, DIR_E);
	ok(!scratch_stat(s, DIR_E "/.user.json.swp", NULL, NULL) &&
		   !scratch_stat(s, DIR_E "/properties/.Company.swp", NULL,
				 NULL),
	   "drop_dir drops the member's files, deep ones too");
	ok(scratch_stat(s, DIR_E "x/other", NULL, NULL) &&
		   scratch_stat(s, "/users/z@b.c/4913", NULL, NULL),
	   "and nobody else's");
	scratch_unlink(s, DIR_E "x/other");
	scratch_unlink(s, "/users/z@b.c/4913");
	buf_free(&b);
}

static void test_limits(struct scratch *s)
{
	char *big = calloc(1, SCRATCH_MAX_FILE + 1);
	char path[64];
	size_t size;
	int i, rc = 0;

	scratch_create(s, "/f", 0600);
	ok(scratch_write(s, "/f", big, SCRATCH_MAX_FILE, 0) ==
		   (long)SCRATCH_MAX_FILE,
	   "a file of SCRATCH_MAX_FILE bytes");
	ok(scratch_write(s, "/f", "x", 1, SCRATCH_MAX_FILE) == -EFBIG,
	   "one byte more is EFBIG");
	ok(scratch_write(s, "/f", "x", 1, (off_t)1 << 62) == -EFBIG,
	   "a huge offset is EFBIG");
	ok(scratch_truncate(s, "/f", SCRATCH_MAX_FILE + 1) == -EFBIG,
	   "truncate past the limit is EFBIG");
	ok(scratch_set(s, "/f", big, SCRATCH_MAX_FILE + 1, 0600) == -EFBIG,
	   "set past the limit is EFBIG");
	ok(scratch_stat(s, "/f", &size, NULL) && size == SCRATCH_MAX_FILE,
	   "failures left the file as it was");

	for (i = 1; i < (int)(SCRATCH_MAX_TOTAL / SCRATCH_MAX_FILE) && !rc;
	     i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		rc = scratch_set(s, path, big, SCRATCH_MAX_FILE, 0600);
	}
	ok(rc == 0, "SCRATCH_MAX_TOTAL bytes in all");
	ok(scratch_create(s, "/g", 0600) == 0 &&
		   scratch_write(s, "/g", "x", 1, 0) == -ENOSPC,
	   "one byte more is ENOSPC");
	ok(scratch_set(s, "/g", "x", 1, 0600) == -ENOSPC, "set too");
	ok(scratch_truncate(s, "/f", 1) == 0 &&
		   scratch_write(s, "/g", "x", 1, 0) == 1,
	   "shrinking a file frees room");
	ok(scratch_set(s, "/f1", "", 0, 0600) == 0 &&
		   scratch_set(s, "/g", big, SCRATCH_MAX_FILE, 0600) == 0,
	   "set to a smaller size frees room too");
	ok(scratch_set(s, "/h", big, SCRATCH_MAX_FILE, 0600) == -ENOSPC &&
		   !scratch_stat(s, "/h", NULL, NULL),
	   "full again: a refused set creates nothing");
	ok(scratch_unlink(s, "/g") == 0 &&
		   scratch_set(s, "/h", big, SCRATCH_MAX_FILE, 0600) == 0,
	   "unlink frees room");
	free(big);
}

/* The editors' names of scratch.c's one table, and names no editor makes. */
static void test_editor_names(void)
{
	static const char *const yes[] = {
		".Company.swp", ".Company.swx",	     ".Company.swo",
		".Company.saa", ".Phone number.swp", "4913",
		"5036",		"Company~",	     "properties.json.~1~",
		"sedAb12Zx",	"XXeScgs0",	     "XXXeScgs",
		"#Company#",	".#Company",
	};
	static const char *const no[] = {
		"Company",     "Bogus",	    ".swp",    ".Company.txt",
		"Company.swp", "49x3",	    "~",       "sedAb12Z",
		"sedAb12Zx9",  "sed-b12Zx", "XXeScgs", "#",
		"##",	       ".#",	    "a/b~",    "",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ok(scratch_editor_name(yes[i]) == 1, "an editor's name: '%s'",
		   yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ok(scratch_editor_name(no[i]) == 0, "no editor's name: '%s'",
		   no[i]);
}

static void test_unlinked(struct scratch *s)
{
	ok(!scratch_unlinked(s, "/users/a/properties/Company"),
	   "unlinked: nothing remembered at first");
	ok(scratch_unlinked_add(s, "/users/a/properties/Company") == 0 &&
		   scratch_unlinked_add(s, "/users/a/properties.json") == 0 &&
		   scratch_unlinked_add(s, "/users/b/properties.json") == 0,
	   "unlinked: three names remembered");
	ok(scratch_unlinked(s, "/users/a/properties/Company") &&
		   scratch_unlinked(s, "/users/a/properties/Company"),
	   "unlinked: asking does not forget");
	ok(!scratch_unlinked(s, "/users/a/properties/Compan"),
	   "unlinked: only the exact path");
	ok(scratch_unlinked_take(s, "/users/a/properties/Company") &&
		   !scratch_unlinked(s, "/users/a/properties/Company"),
	   "unlinked: take forgets it");
	ok(!scratch_unlinked_take(s, "/users/a/properties/Company"),
	   "unlinked: a second take finds nothing");
	scratch_drop_dir(s, "/users/a");
	ok(!scratch_unlinked(s, "/users/a/properties.json") &&
		   scratch_unlinked(s, "/users/b/properties.json"),
	   "unlinked: dropping a member's directory forgets its names only");
}

int main(void)
{
	struct scratch *s = scratch_new();

	if (!ok(s != NULL, "scratch_new"))
		return done_testing();
	test_files(s);
	test_list(s);
	test_unlinked(s);
	scratch_free(s);
	test_editor_names();

	s = scratch_new();
	test_limits(s);
	scratch_free(s);
	scratch_free(NULL);
	return done_testing();
}

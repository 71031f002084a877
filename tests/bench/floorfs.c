/*
 * floorfs: the floor of scripts/bench's warm-read scenario (row 2').
 *
 * A FUSE filesystem that does nothing but serve, from memory, the files
 * of a directory tree shaped like the mount's users/ (users/NAME/user.json),
 * through libfuse's high-level API with the kernel caching memberspotfs
 * uses: entries and attributes kept for an hour, opens that keep the page
 * cache and need no flush. Whatever `ls -l` + `cat` costs through it is
 * what the kernel's round trips and libfuse cost on this machine (an
 * OPEN and a RELEASE per file, even when the page cache serves the
 * reads), with no work of a filesystem's own.
 *
 *   floorfs SRC MOUNTPOINT [FUSE options]
 *
 * SRC is a directory holding users/NAME/user.json (the bench's tmpfs
 * copy of the mount). Not installed; built for scripts/bench only.
 */
#define FUSE_USE_VERSION 314
#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct member {
	char *name;
	char *body;
	size_t len;
};

static struct member *members;
static size_t count;

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
		      ((const struct member *)b)->name);
}

/* Reads SRC/users/NAME/user.json for every NAME. 0 or -1. */
static int load(const char *src)
{
	char path[4096];
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "%s/users", src);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		struct member *m;
		long n;

		if (d->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 1024;
			members = realloc(members, cap * sizeof(*members));
			if (!members)
				return -1;
		}
		snprintf(path, sizeof(path), "%s/users/%s/user.json", src,
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		m = &members[count];
		m->name = strdup(d->d_name);
		m->body = malloc(n > 0 ? (size_t)n : 1);
		if (!m->name || !m->body)
			return -1;
		m->len = fread(m->body, 1, n > 0 ? (size_t)n : 0, f);
		fclose(f);
		count++;
	}
	closedir(dir);
	qsort(members, count, sizeof(*members), by_name);
	return 0;
}

/* The member of "/users/NAME[/...]", or NULL; *rest: what follows NAME. */
static struct member *member_of(const char *path, const char **rest)
{
	char name[256];
	struct member key = {name, NULL, 0};
	const char *p = path + strlen("/users/");
	size_t n;

	if (strncmp(path, "/users/", 7))
		return NULL;
	n = strcspn(p, "/");
	if (n >= sizeof(name))
		return NULL;
	memcpy(name, p, n);
	name[n] = '\0';
	*rest = p + n;
	return bsearch(&key, members, count, sizeof(*members), by_name);
}

static void *ff_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->entry_timeout = 3600;
	cfg->attr_timeout = 3600;
	cfg->negative_timeout = 0;
	return NULL;
}

static int ff_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	const char *rest;
	struct member *m;

	memset(st, 0, sizeof(*st));
	st->st_nlink = 1;
	if (!strcmp(path, "/") || !strcmp(path, "/users")) {
		st->st_mode = S_IFDIR | 0700;
		return 0;
	}
	m = member_of(path, &rest);
	if (m && !*rest) {
		st->st_mode = S_IFDIR | 0700;
		return 0;
	}
	if (m && !strcmp(rest, "/user.json")) {
		st->st_mode = S_IFREG | 0400;
		st->st_size = (off_t)m->len;
		return 0;
	}
	return -ENOENT;
}

/* Entries by offset (entry i has offset i + 1), as the mount serves them:
 * a listing given without offsets is buffered by libfuse, which walks its
 * list from the start at every READDIR (quadratic in the entries). */
static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	static const char *const user_dir[] = {".", "..", "user.json"};
	static const char *const root[] = {".", "..", "users"};
	const char *const *fixed = NULL;
	const char *rest;
	size_t i, n;

	(void)fi;
	(void)flags;
	if (!strcmp(path, "/"))
		fixed = root;
	else if (member_of(path, &rest) && !*rest)
		fixed = user_dir;
	else if (strcmp(path, "/users"))
		return -ENOENT;
	n = fixed ? 3 : count + 2;
	for (i = off < 0 ? 0 : (size_t)off; i < n; i++) {
		const char *name = fixed   ? fixed[i]
				   : i < 2 ? (i ? ".." : ".")
					   : members[i - 2].name;

		if (fill(buf, name, NULL, (off_t)i + 1, 0))
			break;
	}
	return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
	const char *rest;
	struct member *m = member_of(path, &rest);

	if (!m || strcmp(rest, "/user.json"))
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	fi->fh = (uint64_t)(uintptr_t)m;
	fi->keep_cache = 1;
	fi->noflush = 1;
	return 0;
}

static int ff_read(const char *path, char *out, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	const struct member *m = (const struct member *)(uintptr_t)fi->fh;

	if ((size_t)off >= m->len)
		return 0;
	if (size > m->len - (size_t)off)
		size = m->len - (size_t)off;
	memcpy(out, m->body + off, size);
	return (int)size;
}

static const struct fuse_operations ops = {
	.init = ff_init,
	.getattr = ff_getattr,
	.readdir = ff_readdir,
	.open = ff_open,
	.read = ff_read,
};

int main(int argc, char *argv[])
{
	if (argc < 3 || load(argv[1])) {
		fprintf(stderr, "usage: floorfs SRC MOUNTPOINT [FUSE options]\n"
				"  SRC holds users/NAME/user.json\n");
		return 2;
	}
	argv[1] = argv[0];
	return fuse_main(argc - 1, argv + 1, &ops, NULL);
}

/*
 * main.c - command line, key handling and start-up.
 *
 * Start-up order matters: options are parsed and checked, the key is read
 * (environment or a private file, never argv), and the API is asked to
 * accept the key, all before anything is mounted and before the process
 * daemonizes, so every start-up failure is one line on the terminal and a
 * non-zero exit with nothing mounted. Threads that must survive the fork
 * (the invalidation notifier) start in fs.c's init.
 *
 * Before anything else the process gives up core dumps and becomes
 * non-dumpable, since it holds the key. The key never goes in clear to
 * another machine (http:// only to loopback, unless -o insecure), and a
 * mount shared with allow_other always has default_permissions, so the
 * modes that -o uid=,gid=,umask= set (fs.h) are enforced by the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fs.h"
#include "fuseio.h"
#include <fuse_lowlevel.h>

#include "api.h"
#include "buf.h"
#include "http.h"
#include "journal.h"
#include "probe.h"
#include "school.h"

#define DEFAULT_URL "https://api.memberspot.de"
#define KEY_MAX 4096
#define MAX_DELETES_MAX 1000000

struct options {
	char *api_url;
	char *api_key_file;
	char *api_key_given; /* refused: keys never come from argv */
	char *journal;
	double cache_ttl;
	double neg_ttl;
	double max_rps;
	double progress_rps;
	double timeout;
	int page_size;
	int workers;
	int ro;
	int nodelete;
	int max_deletes; /* per rolling minute; 0: no budget */
	int dry_run;
	int insecure;
	char *uid; /* -o uid=,gid=,umask=: the tree's owner (fs.h) */
	char *gid;
	char *umask;
	int allow_other; /* allow_other or allow_root was given */
	int default_permissions;
	int show_help;
	int show_version;
	int probe; /* --probe: report on the API, mount nothing */
	int probe_token;
	char *probe_exam;
	char *probe_save;
	char *source; /* fstab's first field, ignored */
	char *mountpoint;
	int extra_args;
};

/* clang-format would take the braces for a block */
/* clang-format off */
#define OPT(t, field, v) {t, offsetof(struct options, field), v}
/* clang-format on */

/* FUSE options main must know of, passed on to FUSE as they are. */
enum { KEY_ALLOW_OTHER, KEY_DEFAULT_PERMISSIONS };

static const struct fuse_opt opt_spec[] = {
	OPT("api_url=%s", api_url, 0),
	OPT("api_key_file=%s", api_key_file, 0),
	OPT("api_key=%s", api_key_given, 0),
	OPT("journal=%s", journal, 0),
	OPT("cache_ttl=%lf", cache_ttl, 0),
	OPT("negative_ttl=%lf", neg_ttl, 0),
	OPT("max_rps=%lf", max_rps, 0),
	OPT("progress_rps=%lf", progress_rps, 0),
	OPT("timeout=%lf", timeout, 0),
	OPT("page_size=%d", page_size, 0),
	OPT("workers=%d", workers, 0),
	OPT("ro", ro, 1),
	OPT("nodelete", nodelete, 1),
	OPT("max_deletes=%d", max_deletes, 0),
	OPT("dry_run", dry_run, 1),
	OPT("insecure", insecure, 1),
	/* Ours, not libfuse's: its umask= would give every file one mode. */
	OPT("uid=%s", uid, 0),
	OPT("gid=%s", gid, 0),
	OPT("umask=%s", umask, 0),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("allow_root", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
	OPT("-h", show_help, 1),
	OPT("--help", show_help, 1),
	OPT("-V", show_version, 1),
	OPT("--version", show_version, 1),
	OPT("--probe", probe, 1),
	OPT("--probe-token", probe_token, 1),
	OPT("--probe-exam=%s", probe_exam, 0),
	OPT("--probe-exam %s", probe_exam, 0),
	OPT("--probe-save=%s", probe_save, 0),
	OPT("--probe-save %s", probe_save, 0),
	FUSE_OPT_END,
};

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct options *o = data;

	(void)outargs;
	if (key == KEY_ALLOW_OTHER)
		o->allow_other = 1;
	if (key == KEY_DEFAULT_PERMISSIONS)
		o->default_permissions = 1;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	/* "memberspotfs SOURCE MOUNTPOINT" is how mount(8) calls us for an
	 * fstab entry; the source names nothing here. */
	if (!o->mountpoint) {
		o->mountpoint = strdup(arg);
	} else if (!o->source) {
		o->source = o->mountpoint;
		o->mountpoint = strdup(arg);
	} else {
		o->extra_args = 1;
	}
	return 0;
}

static void usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-s] [-o OPT[,OPT...]] MOUNTPOINT\n"
	       "       fusermount3 -u MOUNTPOINT   (unmount)\n"
	       "       %s --probe [--probe-token] [--probe-exam ID] "
	       "[--probe-save DIR] [-o OPT,...]\n"
	       "\n"
	       "Mounts a Memberspot school (members, offers, courses, exams,\n"
	       "custom properties) as files. The API key comes from the\n"
	       "environment variable MEMBERSPOT_API_KEY or from -o "
	       "api_key_file;\n"
	       "it is never accepted on the command line.\n"
	       "\n"
	       "memberspotfs options:\n"
	       "    -o api_url=URL         API base URL (default %s)\n"
	       "    -o api_key_file=PATH   file holding the key (mode 0600 or "
	       "stricter)\n"
	       "    -o cache_ttl=SECONDS   how long read data is reused "
	       "(default 60)\n"
	       "    -o negative_ttl=SECS   how long a missing name is "
	       "remembered (default 5)\n"
	       "    -o page_size=N         members per list request, 1-100 "
	       "(default 100)\n"
	       "    -o max_rps=N           requests per second at most "
	       "(default "
	       "0: none; the rate\n"
	       "                           is learned from the API's 429s)\n"
	       "    -o progress_rps=N      course-progress requests per second "
	       "at most (default 4)\n"
	       "    -o timeout=SECONDS     no file operation waits longer "
	       "(default 30)\n"
	       "    -o workers=N           parallel requests for grant and "
	       "chapters files (default 8)\n"
	       "    -o ro                  read-only: nothing is sent that "
	       "changes the school\n"
	       "    -o nodelete            refuse member deletion (rmdir "
	       "users/EMAIL)\n"
	       "    -o max_deletes=N       members deleted per rolling minute "
	       "at most (default 10;\n"
	       "                           0: no budget)\n"
	       "    -o dry_run             send no change: each is checked, "
	       "written to the\n"
	       "                           journal as \"dry-run\" with its "
	       "request, and reported\n"
	       "                           as done; reads work as usual\n"
	       "    -o journal=PATH        change journal (default "
	       "$XDG_STATE_HOME/memberspotfs/journal.jsonl)\n"
	       "    -o uid=USER,gid=GROUP  owner of the tree (default: the "
	       "mounting user)\n"
	       "    -o umask=MASK          mode bits taken from everyone "
	       "(default 0077); with\n"
	       "                           allow_other, gid=G,umask=0007 "
	       "shares the mount with G\n"
	       "    -o insecure            do not verify TLS certificates, and "
	       "allow http://\n"
	       "                           to a host that is not this "
	       "machine (testing only)\n"
	       "    --probe                no mount: read each endpoint once "
	       "(GETs only), print\n"
	       "                           the shape of each answer (never a "
	       "value) and\n"
	       "                           whether a mount would work; exit 0 "
	       "ready, 1 not,\n"
	       "                           2 bad usage\n"
	       "    --probe-token          with --probe: also get a login "
	       "token (one is minted)\n"
	       "    --probe-exam ID        with --probe: also read exam ID's "
	       "results\n"
	       "    --probe-save DIR       with --probe: keep each answer, "
	       "redacted, in DIR\n"
	       "    -V, --version          print the version\n"
	       "    -h, --help             print this help\n"
	       "\n"
	       "FUSE options:\n",
	       prog, prog, DEFAULT_URL);
	fuse_cmdline_help();
	fflush(stdout);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr: start-up errors reach the terminal before any
 * daemonizing. Returns -1, for "return fail(...)". */
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memberspotfs: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Strips trailing blanks/newlines in place. */
static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
		     s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* Reads the key from a private file. Returns 0 or -1 (message printed). */
static int read_key_file(const char *path, char *key, size_t size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return fail("cannot open api_key_file %s: %s", path,
			    strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail("api_key_file %s is not a regular file", path);
		goto bad;
	}
	if (st.st_mode & 077) {
		fail("refusing api_key_file %s: it is readable by group or "
		     "others (run: chmod 600 %s)",
		     path, path);
		goto bad;
	}
	n = read(fd, key, size - 1);
	if (n < 0) {
		fail("cannot read api_key_file %s: %s", path, strerror(errno));
		goto bad;
	}
	key[n] = '\0';
	close(fd);
	chomp(key);
	return 0;
bad:
	close(fd);
	return -1;
}

/*
 * 1 when the host of an http:// or https:// URL is this machine by its
 * address: 127.0.0.0/8, ::1 or "localhost" (which curl never looks up).
 * Any other spelling, even a name or form that leads back here (127.1,
 * ::ffff:127.0.0.1, a host name), counts as another host: a URL that
 * merely looks local must not get the key sent in clear.
 */
static int url_host_is_loopback(const char *url)
{
	const char *p = strstr(url, "://"), *end, *at, *close, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	char host[256];
	size_t n;

	if (!p)
		return 0;
	p += 3;
	end = p + strcspn(p, "/?#");
	/* user:password@ comes before the host, and may hold '@' itself */
	at = memrchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		close = memchr(p, ']', (size_t)(end - p));
		if (!close)
			return 0;
		p++;
		n = (size_t)(close - p);
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon ? colon : end) - p);
	}
	if (!n || n >= sizeof(host))
		return 0;
	memcpy(host, p, n);
	host[n] = '\0';
	if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* 1 when the key would travel in clear to another machine. */
static int url_sends_key_in_clear(const char *url)
{
	return !strncmp(url, "http://", 7) && !url_host_is_loopback(url);
}

static int check_options(const struct options *o)
{
	if (o->api_key_given)
		return fail(
			"the API key is never accepted on the command line; "
			"use MEMBERSPOT_API_KEY or -o api_key_file=PATH");
	if (o->extra_args)
		return fail("too many arguments; see --help");
	if (!o->mountpoint && !o->probe)
		return fail("no mountpoint given; see --help");
	if (o->page_size < 1 || o->page_size > 100)
		return fail("page_size must be between 1 and 100");
	if (o->cache_ttl < 0 || o->neg_ttl < 0 || o->max_rps < 0 ||
	    o->progress_rps < 0)
		return fail("cache_ttl, negative_ttl, max_rps and progress_rps "
			    "must not be negative");
	if (o->timeout <= 0 || o->timeout > 3600)
		return fail("timeout must be between 0 and 3600 seconds");
	if (o->workers < 1 || o->workers > 32)
		return fail("workers must be between 1 and 32");
	if (o->max_deletes < 0 || o->max_deletes > MAX_DELETES_MAX)
		return fail("max_deletes must be between 0 (no budget) and %d",
			    MAX_DELETES_MAX);
	if (strncmp(o->api_url, "https://", 8) &&
	    strncmp(o->api_url, "http://", 7))
		return fail("api_url must start with https:// or http://: %s",
			    o->api_url);
	if (!o->insecure && url_sends_key_in_clear(o->api_url))
		return fail("refusing api_url %s: plain http:// would send the "
			    "API key unencrypted to another machine; use "
			    "https:// (http:// only to 127.0.0.1, ::1 or "
			    "localhost, or with -o insecure)",
			    o->api_url);
	return 0;
}

/* uid= or gid=: a number or a user or group name. Returns 0 or -1
 * (message printed). */
static int parse_id(const char *opt, const char *s, int group,
		    unsigned long *out)
{
	struct passwd *pw;
	struct group *gr;
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end && !errno &&
	    *out < (unsigned long)(uid_t)-1)
		return 0;
	if (group) {
		gr = *s ? getgrnam(s) : NULL;
		if (gr) {
			*out = gr->gr_gid;
			return 0;
		}
	} else {
		pw = *s ? getpwnam(s) : NULL;
		if (pw) {
			*out = pw->pw_uid;
			return 0;
		}
	}
	return fail("%s=%s: no such %s (a number or a name)", opt, s,
		    group ? "group" : "user");
}

/* -o uid=,gid=,umask= as fs.h's owner. Returns 0 or -1 (message
 * printed). */
static int owner_from_options(const struct options *o, struct fs_owner *out)
{
	unsigned long v;
	char *end;

	out->uid = getuid();
	out->gid = getgid();
	out->umask = 077;
	if (o->uid) {
		if (parse_id("uid", o->uid, 0, &v))
			return -1;
		out->uid = (uid_t)v;
	}
	if (o->gid) {
		if (parse_id("gid", o->gid, 1, &v))
			return -1;
		out->gid = (gid_t)v;
	}
	if (o->umask) {
		errno = 0;
		v = strtoul(o->umask, &end, 8);
		if (!*o->umask || *end || errno || v > 0777 ||
		    *o->umask == '-' || *o->umask == '+')
			return fail(
				"umask=%s: not an octal mask from 0000 to 0777",
				o->umask);
		out->umask = (mode_t)v;
	}
	return 0;
}

/* The key lives in this process's memory: no core dump may carry it, and
 * no process of the same user may read it through /proc/PID/mem or
 * ptrace. Both hold across fuse_daemonize's fork. Returns 0 or -1
 * (message printed). */
static int protect_memory(void)
{
	const struct rlimit no_core = {0, 0};

	if (setrlimit(RLIMIT_CORE, &no_core))
		return fail("cannot switch off core dumps: %s",
			    strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return fail("cannot make the process non-dumpable: %s",
			    strerror(errno));
	return 0;
}

/* glibc gives each thread that allocates its own heap arena (up to 8 per
 * core), and a school's records, cached by a listing thread and freed
 * by others, then sit scattered over many half-empty arenas: at 100,000
 * members the same run measured 1.6 to 2.0 KiB per member. Two arenas
 * keep the FUSE threads from contending on one lock and the heap dense
 * (1.4 KiB, and the same from run to run). Before any thread starts. */
static void limit_arenas(void)
{
	mallopt(M_ARENA_MAX, 2);
}

/* --probe's own rules (bad usage there is exit status 2): no mountpoint,
 * no option it would ignore, and its companions only with it. */
static int check_probe(const struct options *o, const struct fuse_args *args)
{
	if (!o->probe) {
		if (!o->probe_token && !o->probe_exam && !o->probe_save)
			return 0;
		return fail("--probe-token, --probe-exam and --probe-save go "
			    "with --probe; see --help");
	}
	if (o->mountpoint)
		return fail("--probe takes no mountpoint; see --help");
	if (args->argc > 1)
		return fail("unknown option for --probe: %s%s%s; see --help",
			    args->argv[1], args->argc > 2 ? " " : "",
			    args->argc > 2 && !strcmp(args->argv[1], "-o")
				    ? args->argv[2]
				    : "");
	if ((o->probe_exam && !*o->probe_exam) ||
	    (o->probe_save && !*o->probe_save))
		return fail("--probe-exam and --probe-save need a value; see "
			    "--help");
	return 0;
}

/* 1 when argv asks for --probe (for the exit status of an option that
 * could not be parsed at all). */
static int probe_asked(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--probe"))
			return 1;
	return 0;
}

static int run_probe(struct http *h, const struct options *o)
{
	struct probe_options po = {.token = o->probe_token,
				   .exam_id = o->probe_exam,
				   .save_dir = o->probe_save};

	return probe_run(h, &po, stdout) == 0 ? 0 : 1;
}

/* Undoes mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape_mountinfo(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* The type of the mount at path (a canonical path) as
 * /proc/self/mountinfo lists it, or NULL when nothing is mounted there or
 * the table cannot be read. malloc'd. */
static char *mounted_type(const char *path)
{
	char *line = NULL, *type = NULL, *mp, *sep, *save;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int i;

	if (!f)
		return NULL;
	while (!type && getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPT...] - TYPE */
		mp = strtok_r(line, " ", &save);
		for (i = 1; mp && i < 5; i++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp)
			continue;
		unescape_mountinfo(mp);
		if (strcmp(mp, path))
			continue;
		while ((sep = strtok_r(NULL, " ", &save)) && strcmp(sep, "-"))
			;
		sep = sep ? strtok_r(NULL, " ", &save) : NULL;
		type = strdup(sep ? sep : "unknown type");
	}
	free(line);
	fclose(f);
	return type;
}

/* Refuses a mountpoint that cannot take this mount, before the key is
 * even read: one whose daemon died (stat fails with ENOTCONN: the kernel
 * keeps the dead mount until it is unmounted) and a directory that is
 * already a mount point (a second mount would hide the first, and its
 * unmount would uncover it). Other errors (no such directory) are left
 * to libfuse, whose message names them. "/dev/fd/N" (mount.fuse3's
 * drop_privileges) is a mount already made. 0 or -1 (message printed). */
static int check_mountpoint(const char *mp)
{
	char *canon, *type;
	struct stat st;
	unsigned fd;
	char end;
	int rc;

	if (sscanf(mp, "/dev/fd/%u%c", &fd, &end) == 1)
		return 0;
	if (stat(mp, &st) != 0) {
		if (errno != ENOTCONN)
			return 0;
		return fail(
			"cannot mount on %s: the filesystem mounted there lost "
			"its daemon (%s); run `fusermount3 -u %s` first",
			mp, strerror(ENOTCONN), mp);
	}
	canon = realpath(mp, NULL);
	if (!canon)
		return 0;
	type = mounted_type(canon);
	rc = type ? -1 : 0;
	if (type)
		fail("cannot mount on %s: it is already a mount point (%s); "
		     "unmount that first or choose another directory",
		     mp, type);
	free(type);
	free(canon);
	return rc;
}

/* Asks the API to accept the key, so a bad key, an unreachable API or an
 * unverifiable certificate is reported now rather than as EIO on the
 * first ls. */
static int check_api(struct http *h, const struct options *o)
{
	struct buf why = {0};
	char secs[32];
	int r = api_auth(h, &why);

	snprintf(secs, sizeof(secs), "%g", o->timeout);
	switch (r) {
	case 0:
		break;
	case -EACCES:
		fail("the API at %s rejected the key", o->api_url);
		break;
	case -EHOSTUNREACH:
		fail("cannot reach the API at %s", o->api_url);
		break;
	case -ETIMEDOUT:
		fail("the API at %s did not answer within %s s", o->api_url,
		     secs);
		break;
	case -EPROTO:
		/* Not the key's fault: the connection was never made. The
		 * hint only where skipping verification would get past it. */
		fail("cannot connect securely to the API at %s: %s%s",
		     o->api_url, why.len ? why.data : "TLS failed",
		     why.len && !strncmp(why.data, HTTP_TLS_CERT_REASON,
					 strlen(HTTP_TLS_CERT_REASON))
			     ? " (if you trust this server, -o insecure skips "
			       "certificate verification)"
			     : "");
		break;
	default:
		fail("the API at %s failed the key check: %s", o->api_url,
		     strerror(-r));
	}
	buf_free(&why);
	return r ? -1 : 0;
}

/* Options, checks and FUSE's own command line, all before the key is read.
 * Returns 0 to go on, or the exit status (>= 0) with *done set. */
static int parse_command_line(int argc, char *argv[], struct fuse_args *args,
			      struct options *o, struct fuse_cmdline_opts *cmd,
			      int *done)
{
	struct fs_owner owner;

	*done = 1;
	if (fuse_opt_parse(args, o, opt_spec, opt_proc) == -1)
		return probe_asked(argc, argv) ? 2 : 1;
	if (o->show_help) {
		usage(argv[0]);
		return 0;
	}
	if (o->show_version) {
		printf("memberspotfs %s (libfuse %s, %s)\n", MSFS_VERSION,
		       fuse_pkgversion(), curl_version());
		return 0;
	}
	if (!o->api_url)
		o->api_url = strdup(DEFAULT_URL);
	if (check_probe(o, args) || check_options(o))
		return o->probe || o->probe_token || o->probe_exam ||
				       o->probe_save
			       ? 2
			       : 1;
	if (owner_from_options(o, &owner))
		return 1;
	fs_set_owner(&owner);
	/* Other users reach the tree: the kernel must enforce its modes
	 * (without default_permissions, FUSE leaves checks to us, and
	 * allow_other would open every file to everyone). */
	if (o->allow_other && !o->default_permissions &&
	    fuse_opt_add_arg(args, "-odefault_permissions"))
		return 1;
	if (!o->probe && check_mountpoint(o->mountpoint))
		return 1;
	if (!o->probe && o->mountpoint && fuse_opt_add_arg(args, o->mountpoint))
		return 1;
	if (!o->probe && fuse_parse_cmdline(args, cmd) != 0)
		return 1;
	*done = 0;
	return 0;
}

/* The key from -o api_key_file or MEMBERSPOT_API_KEY, which is wiped from
 * the environment either way. Returns 0 or -1 (message printed). */
static int take_key(const struct options *o, char *key, size_t size)
{
	const char *env = getenv("MEMBERSPOT_API_KEY");

	if (o->api_key_file) {
		if (read_key_file(o->api_key_file, key, size))
			return -1;
	} else if (env) {
		snprintf(key, size, "%s", env);
		chomp(key);
	}
	/* Nothing started from here on needs to see it, and the copy in
	 * the environment block would show in /proc/PID/environ. */
	if (env)
		explicit_bzero((char *)env, strlen(env));
	unsetenv("MEMBERSPOT_API_KEY");
	if (!*key)
		return fail("no API key: set MEMBERSPOT_API_KEY or use -o "
			    "api_key_file=PATH");
	if (o->insecure && url_sends_key_in_clear(o->api_url))
		fprintf(stderr, "memberspotfs: warning: the API key goes "
				"unencrypted over plain http:// to another "
				"machine (-o insecure)\n");
	else if (o->insecure)
		fprintf(stderr, "memberspotfs: warning: TLS certificates are "
				"not verified (-o insecure)\n");
	return 0;
}

/* The HTTP client the options describe, holding its own copy of the key.
 * NULL on failure (message printed). */
static struct http *http_from_options(const struct options *o, const char *key)
{
	struct http_config hcfg = {
		.base_url = o->api_url,
		.api_key = key,
		.timeout_s = o->timeout,
		.connect_timeout_s = o->timeout < 10 ? o->timeout : 10,
		.max_rps = o->max_rps,
		.progress_rps = o->progress_rps,
		.max_conns = o->workers * 2 + 4,
		.insecure = o->insecure,
		.dry_run = o->dry_run,
	};
	struct http *http = http_new(&hcfg);

	if (!http)
		fail("cannot set up the HTTP client");
	return http;
}

/* The journal of -o journal= (or the default), locked for this mount.
 * NULL on failure (message printed). */
static struct journal *journal_from_options(struct options *o)
{
	struct journal *journal;
	struct buf why = {0};
	int err = 0;

	if (!o->journal)
		o->journal = journal_default_path();
	journal = journal_open(o->journal, &err, &why);
	if (!journal && err == -EBUSY)
		fail("the journal %s is in use by another memberspotfs; give "
		     "this mount its own with -o journal=PATH",
		     o->journal);
	else if (!journal)
		fail("refusing the journal %s: %s",
		     o->journal ? o->journal : "(none)",
		     why.len ? why.data : strerror(-err));
	else if (o->dry_run)
		fprintf(stderr,
			"memberspotfs: dry run: no change is sent; each is "
			"written to the journal %s\n",
			o->journal ? o->journal : "(memory only)");
	buf_free(&why);
	return journal;
}

static struct school *school_from_options(const struct options *o,
					  struct http *http,
					  struct journal *journal)
{
	struct school_config scfg = {
		.cache_ttl = o->cache_ttl,
		.neg_ttl = o->neg_ttl,
		.page_size = o->page_size,
		.readonly = o->ro,
		.nodelete = o->nodelete,
		.max_deletes = o->max_deletes,
		.dry_run = o->dry_run,
		.workers = o->workers,
	};
	struct school *school = school_new(&scfg, http, journal);

	if (!school)
		fail("out of memory");
	return school;
}

/* Mounts, daemonizes and serves until unmounted. Returns the exit
 * status. */
static int serve(struct fuse *fuse, const struct fuse_cmdline_opts *cmd)
{
	struct fuse_loop_config *loop;
	int ret = 1;

	if (fuse_mount(fuse, cmd->mountpoint)) {
		fail("cannot mount on %s", cmd->mountpoint);
		return 1;
	}
	/* Lookups in one directory in parallel (see fuseio.h); without it
	 * the mount still works, one lookup per directory at a time. */
	if (fuseio_install(fuse))
		fprintf(stderr, "memberspotfs: warning: lookups in one "
				"directory will run one at a time\n");
	if (fuse_daemonize(cmd->foreground))
		goto out_unmount;
	if (fuse_set_signal_handlers(fuse_get_session(fuse)))
		goto out_unmount;
	if (cmd->singlethread) {
		ret = fuse_loop(fuse);
	} else {
		loop = fuse_loop_cfg_create();
		if (!loop)
			goto out_signals;
		fuse_loop_cfg_set_clone_fd(loop, (unsigned)cmd->clone_fd);
		fuse_loop_cfg_set_max_threads(loop, cmd->max_threads);
		ret = fuse_loop_mt(fuse, loop);
		fuse_loop_cfg_destroy(loop);
	}
	ret = ret ? 1 : 0;
	/* before fuse_destroy frees the nodes (fs.h) */
	fs_stop();
out_signals:
	fuse_remove_signal_handlers(fuse_get_session(fuse));
out_unmount:
	fuse_unmount(fuse);
	return ret;
}

static void free_options(struct options *o)
{
	free(o->api_url);
	free(o->api_key_file);
	free(o->api_key_given);
	free(o->journal);
	free(o->probe_exam);
	free(o->probe_save);
	free(o->source);
	free(o->mountpoint);
	free(o->uid);
	free(o->gid);
	free(o->umask);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = {.cache_ttl = 60,
			    .neg_ttl = 5,
			    .max_rps = 0,
			    .progress_rps = 4,
			    .timeout = 30,
			    .page_size = 100,
			    .workers = 8,
			    .max_deletes = 10};
	struct fuse_cmdline_opts cmd = {0};
	struct journal *journal = NULL;
	struct school *school = NULL;
	struct http *http = NULL;
	struct fuse *fuse = NULL;
	char key[KEY_MAX] = "";
	int ret = 1, done;

	/* First of all: the key is in the environment already. */
	if (protect_memory())
		goto out_args;
	limit_arenas();
	ret = parse_command_line(argc, argv, &args, &o, &cmd, &done);
	if (done)
		goto out_args;
	ret = 1;
	if (take_key(&o, key, sizeof(key)))
		goto out_cmd;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fail("cannot initialise libcurl");
		goto out_cmd;
	}
	http = http_from_options(&o, key);
	explicit_bzero(key, sizeof(key));
	if (!http)
		goto out_curl;
	if (o.probe) {
		ret = run_probe(http, &o);
		goto out_http;
	}
	if (check_api(http, &o))
		goto out_http;
	journal = journal_from_options(&o);
	if (!journal)
		goto out_http;
	school = school_from_options(&o, http, journal);
	if (!school)
		goto out_journal;
	fuse = fuse_new(&args, fs_operations(), sizeof(struct fuse_operations),
			school);
	if (!fuse)
		goto out_school;
	ret = serve(fuse, &cmd);
	fuse_destroy(fuse);
out_school:
	school_free(school);
out_journal:
	journal_close(journal);
out_http:
	http_free(http);
out_curl:
	curl_global_cleanup();
out_cmd:
	free(cmd.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free_options(&o);
	return ret;
}

/*
 * fake.h - the fake API (scripts/fake_api.py) for unit tests, and a school
 * built on it the way main.c builds one, so school, views and edits are
 * tested without a mount.
 *
 * fake_start runs the fake on a free loopback port with a fresh key and
 * the given dialect; fake_get/fake_count read its control endpoints
 * (/_fake/...); world_open makes the http, journal (memory only) and
 * school of a mount against it. Not thread-safe; one fake per struct.
 * Needs python3; MSFS_SRC (set by meson) is the source root.
 */
#ifndef MSFS_TEST_FAKE_H
#define MSFS_TEST_FAKE_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "http.h"
#include "journal.h"
#include "school.h"
#include "tree.h"

#define FAKE_KEY "unit-test-key-0123456789"

struct fake {
	pid_t pid;
	char url[64];
	char dir[64]; /* temporary directory of the port file */
};

struct world {
	struct http *http;
	struct journal *journal;
	struct school *school;
};

/* Starts the fake: dialect "guessed" or "evidence", users seeded
 * members. Returns 0, or -1 when it did not come up within 10 s. */
static int fake_start(struct fake *f, const char *dialect, int users)
{
	char port_file[128], port[16] = "", nusers[16], script[1024];
	const char *src = getenv("MSFS_SRC");
	FILE *pf;
	int i;

	snprintf(f->dir, sizeof(f->dir), "/tmp/msfs-unit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(port_file, sizeof(port_file), "%s/port", f->dir);
	snprintf(nusers, sizeof(nusers), "%d", users);
	snprintf(script, sizeof(script), "%s/scripts/fake_api.py",
		 src ? src : ".");
	f->pid = fork();
	if (f->pid < 0)
		return -1;
	if (f->pid == 0) {
		/* a test that crashes takes its fake with it */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		setenv("FAKE_API_KEY", FAKE_KEY, 1);
		execlp("python3", "python3", script, "--port", "0",
		       "--port-file", port_file, "--quiet", "--dialect",
		       dialect, "--users", nusers, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && !*port; i++) {
		struct timespec tenth = {0, 100000000};

		nanosleep(&tenth, NULL);
		pf = fopen(port_file, "r");
		if (pf) {
			if (!fgets(port, sizeof(port), pf))
				port[0] = '\0';
			fclose(pf);
		}
		if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
			f->pid = 0;
			return -1;
		}
	}
	port[strcspn(port, "\n")] = '\0';
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%s", port);
	return *port ? 0 : -1;
}

static void fake_stop(struct fake *f)
{
	char port_file[128];

	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	snprintf(port_file, sizeof(port_file), "%s/port", f->dir);
	unlink(port_file);
	rmdir(f->dir);
}

static size_t fake_write_cb(char *p, size_t size, size_t n, void *arg)
{
	return buf_append(arg, p, size * n) ? 0 : size * n;
}

/* GET or (with body) POST of a control path such as "/_fake/stats"; the
 * answer parsed, or NULL. */
static cJSON *fake_call(struct fake *f, const char *path, const char *body)
{
	struct buf url = {0}, out = {0};
	struct curl_slist *hdr = NULL;
	CURL *c = curl_easy_init();
	cJSON *j = NULL;

	if (!c || buf_puts(&url, f->url) || buf_puts(&url, path))
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fake_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (curl_easy_perform(c) == CURLE_OK && out.data)
		j = cJSON_Parse(out.data);
out:
	curl_slist_free_all(hdr);
	if (c)
		curl_easy_cleanup(c);
	buf_free(&url);
	buf_free(&out);
	return j;
}

static cJSON *fake_get(struct fake *f, const char *path)
{
	return fake_call(f, path, NULL);
}

/* Requests the fake counted for an endpoint ("POST /v1/users/grant-..."),
 * or -1 when the stats cannot be read. */
static __attribute__((unused)) long fake_count(struct fake *f,
					       const char *endpoint)
{
	cJSON *stats = fake_get(f, "/_fake/stats");
	const cJSON *by =
		cJSON_GetObjectItemCaseSensitive(stats, "by_endpoint");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(by, endpoint);
	long r = cJSON_IsNumber(n) ? (long)n->valuedouble : -1;

	cJSON_Delete(stats);
	return r;
}

/* The fake's record of a member: as stored ("guessed" shapes) or, with
 * api set, as the API answers in the fake's dialect. NULL when unknown. */
static __attribute__((unused)) cJSON *fake_user(struct fake *f,
						const char *email, int api)
{
	char *e = curl_easy_escape(NULL, email, 0);
	struct buf path = {0};
	cJSON *u = NULL;

	if (e && !buf_puts(&path, "/_fake/user?email=") &&
	    !buf_puts(&path, e) && !buf_puts(&path, api ? "&view=api" : ""))
		u = fake_get(f, path.data);
	curl_free(e);
	buf_free(&path);
	return u;
}

/* "PRE<encoded id>POST", a mount path (malloc'd), or NULL. */
static __attribute__((unused)) char *mount_path(const char *pre, const char *id,
						const char *post)
{
	char *enc = tree_encode(id), *p = NULL;
	size_t n;

	if (!enc)
		return NULL;
	n = strlen(pre) + strlen(enc) + strlen(post) + 1;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", pre, enc, post);
	free(enc);
	return p;
}

/* A school on the fake, set up as main.c does, listing page_size members
 * a page (0: 100), keeping data ttl seconds. Returns 0 or -1. */
static int world_open_ttl(struct world *w, struct fake *f, int page_size,
			  double ttl)
{
	struct http_config hc = {.base_url = f->url,
				 .api_key = FAKE_KEY,
				 .timeout_s = 20,
				 .connect_timeout_s = 5,
				 .max_rps = 0,
				 .progress_rps = 0,
				 .max_conns = 8};
	struct school_config sc = {.cache_ttl = ttl,
				   .neg_ttl = 5,
				   .page_size = page_size ? page_size : 100,
				   .max_deletes = 10,
				   .workers = 4};
	int err = 0;

	memset(w, 0, sizeof(*w));
	w->http = http_new(&hc);
	w->journal = journal_open(NULL, &err, NULL);
	if (w->http && w->journal)
		w->school = school_new(&sc, w->http, w->journal);
	return w->school ? 0 : -1;
}

/* world_open_ttl keeping data 60 s, the mount's default. */
static __attribute__((unused)) int world_open(struct world *w, struct fake *f,
					      int page_size)
{
	return world_open_ttl(w, f, page_size, 60);
}

static void world_close(struct world *w)
{
	school_free(w->school);
	journal_close(w->journal);
	http_free(w->http);
}

#endif

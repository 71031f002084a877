/*
 * stats: counters shown in .memberspot/status.
 *
 * Process-wide atomic counters; cheap enough for hot paths. Endpoint
 * counters are indexed by enum api_endpoint (api.h). Thread-safe.
 */
#ifndef MSFS_STATS_H
#define MSFS_STATS_H

#include "buf.h"

enum stat_id {
	STAT_CACHE_HIT,
	STAT_CACHE_MISS,
	STAT_CACHE_NEG_HIT, /* answered "missing" from the negative cache */
	STAT_CACHE_STALE,   /* served a stale copy because the API failed */
	STAT_HTTP_REQUESTS, /* requests actually sent, retries included */
	STAT_HTTP_429,
	STAT_HTTP_RETRIES,
	STAT_HTTP_ERRORS, /* final failures: 4xx/5xx/transport */
	STAT_TRANSPORT_ERRORS,
	STAT_PACING_WAITS,   /* times the client slept for its own pacing */
	STAT_API_DOWN_FAST,  /* calls failed at once: the API was just down */
	STAT_LINES_DONE,     /* control-file lines run (grant, chapters, ...) */
	STAT_LINES_FAILED,   /* ... of which refused or failed */
	STAT_FUSE_READS,     /* read calls the kernel sent (not its cache) */
	STAT_RENDERS,	     /* files rendered (for a stat or an open) */
	STAT_EXPIRED,	     /* cached values found expired: the kernel was
			      * told to forget what it made of them */
	STAT_KERNEL_FORGETS, /* paths the kernel was told to forget */
	STAT_OPENS_TRUSTED,  /* opens that rendered nothing: the kernel holds
			      * the content (openfile.h) */
	STAT_STATS_TRUSTED, /* stats answered from what was shown, unrendered */
	STAT__N
};

void stats_add(enum stat_id id, long n);
long stats_get(enum stat_id id);
/* Per endpoint: one request sent (index = enum api_endpoint). */
void stats_endpoint(int endpoint);
long stats_endpoint_get(int endpoint);
/* Appends "name: value" lines. Returns 0 or -ENOMEM. */
int stats_render(struct buf *out);

#endif

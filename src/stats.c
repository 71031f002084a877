/*
 * stats: process-wide counters for .memberspot/status.
 *
 * Plain C11 atomics with relaxed ordering: each counter is independent and
 * only ever read for display, so no ordering between counters is promised
 * (a status read while requests run may show a retry before its request).
 * Out-of-range ids are ignored rather than trusted, so a bad index can
 * never write outside the arrays.
 */
#include "stats.h"

#include "api.h"

#include <stdatomic.h>

static atomic_long stat_values[STAT__N];
static atomic_long stat_endpoints[API__N];

/* Names as shown in the status file; keep in enum order. */
static const char *const stat_names[STAT__N] = {
	[STAT_CACHE_HIT] = "cache_hits",
	[STAT_CACHE_MISS] = "cache_misses",
	[STAT_CACHE_NEG_HIT] = "cache_negative_hits",
	[STAT_CACHE_STALE] = "cache_stale_served",
	[STAT_HTTP_REQUESTS] = "http_requests",
	[STAT_HTTP_429] = "http_429",
	[STAT_HTTP_RETRIES] = "http_retries",
	[STAT_HTTP_ERRORS] = "http_errors",
	[STAT_TRANSPORT_ERRORS] = "transport_errors",
	[STAT_PACING_WAITS] = "pacing_waits",
	[STAT_API_DOWN_FAST] = "failed_fast_api_down",
	[STAT_LINES_DONE] = "control_lines_done",
	[STAT_LINES_FAILED] = "control_lines_failed",
	[STAT_FUSE_READS] = "fuse_reads",
	[STAT_RENDERS] = "renders",
	[STAT_EXPIRED] = "expired_forgotten",
	[STAT_KERNEL_FORGETS] = "kernel_forgets",
	[STAT_OPENS_TRUSTED] = "opens_unrendered",
	[STAT_STATS_TRUSTED] = "stats_unrendered",
};

void stats_add(enum stat_id id, long n)
{
	if ((unsigned)id < STAT__N)
		atomic_fetch_add_explicit(&stat_values[id], n,
					  memory_order_relaxed);
}

long stats_get(enum stat_id id)
{
	if ((unsigned)id >= STAT__N)
		return 0;
	return atomic_load_explicit(&stat_values[id], memory_order_relaxed);
}

void stats_endpoint(int endpoint)
{
	if (endpoint >= 0 && endpoint < API__N)
		atomic_fetch_add_explicit(&stat_endpoints[endpoint], 1,
					  memory_order_relaxed);
}

long stats_endpoint_get(int endpoint)
{
	if (endpoint < 0 || endpoint >= API__N)
		return 0;
	return atomic_load_explicit(&stat_endpoints[endpoint],
				    memory_order_relaxed);
}

/* Appends "name: value" lines. Returns 0 or -ENOMEM. */
int stats_render(struct buf *out)
{
	int i, rc;

	for (i = 0; i < STAT__N; i++) {
		rc = buf_printf(out, "%s: %ld\n",
				stat_names[i] ? stat_names[i] : "unnamed",
				stats_get((enum stat_id)i));
		if (rc)
			return rc;
	}
	for (i = 0; i < API__N; i++) {
		rc = buf_printf(out, "requests %s: %ld\n",
				api_endpoint_name((enum api_endpoint)i),
				stats_endpoint_get(i));
		if (rc)
			return rc;
	}
	return 0;
}

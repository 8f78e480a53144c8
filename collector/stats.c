/*
 * stats: the counters' storage and the status-class mapping used both to
 * count requests and to label them in the Prometheus output.
 */
#include "stats.h"

#include <sqlite3.h>

struct stats stats;

const char *const stats_unavailable_names[STATS_UNAV_REASONS] = {"busy", "full", "io", "memory", "queue"};

enum stats_unavailable stats_unavailable_of(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) { /* primary code of an extended one */
	case SQLITE_BUSY: case SQLITE_LOCKED: return STATS_UNAV_BUSY;
	case SQLITE_FULL: return STATS_UNAV_FULL;
	case SQLITE_NOMEM: return STATS_UNAV_MEMORY;
	default: return STATS_UNAV_IO;
	}
}

const char *const stats_status_names[6] = {"2xx", "400", "401", "403", "413", "5xx"};

int stats_status_class(int status)
{
	switch (status) {
	case 400: case 409: case 422: return 1;
	case 401: return 2;
	case 403: return 3;
	case 413: return 4;
	default: return status >= 200 && status < 300 ? 0 : 5;
	}
}

void stats_count_request(enum ingest_kind kind, int status)
{
	stats_add(&stats.requests[kind][stats_status_class(status)], 1);
}

const int64_t stats_latency_bounds_us[STATS_LATENCY_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

void stats_observe_push_latency(int64_t usec)
{
	int b = 0;
	while (b < STATS_LATENCY_BUCKETS && usec > stats_latency_bounds_us[b])
		b++;
	stats_add(&stats.push_latency[b], 1);
	stats_add(&stats.push_latency_sum_us, (uint64_t)(usec > 0 ? usec : 0));
	stats_add(&stats.push_latency_count, 1);
}

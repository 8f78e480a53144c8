/*
 * stats: process-wide counters and gauges for /metrics, updated with relaxed
 * atomics from any thread. Histograms keep fixed buckets so reading them is
 * lock-free too.
 */
#ifndef STATS_H
#define STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "ingest.h"

#define STATS_LATENCY_BUCKETS 11
/* Upper bounds of the push latency histogram, in microseconds. */
extern const int64_t stats_latency_bounds_us[STATS_LATENCY_BUCKETS];

struct stats {
	_Atomic uint64_t requests[ING_KINDS][6]; /* by status class: 2xx 400 401 403 413 503+other */
	_Atomic uint64_t samples_stored;
	_Atomic uint64_t samples_late;
	_Atomic uint64_t rrd_rows_written;
	_Atomic uint64_t rrd_calls;
	_Atomic uint64_t rrd_errors;
	_Atomic uint64_t rrd_cycle_usec_total;
	_Atomic int64_t rrd_lag_seconds;
	_Atomic uint64_t http_requests;
	_Atomic int64_t clients;
	_Atomic uint64_t push_latency[STATS_LATENCY_BUCKETS + 1]; /* last: +Inf */
	_Atomic uint64_t push_latency_sum_us;
	_Atomic uint64_t push_latency_count;
	_Atomic uint64_t webhooks_sent;
	_Atomic uint64_t webhooks_failed;
};

extern struct stats stats;

static inline void stats_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

void stats_count_request(enum ingest_kind kind, int status);
/* Time from a change reaching the live worker to its frame leaving for a client. */
void stats_observe_push_latency(int64_t usec);
int stats_status_class(int status);
extern const char *const stats_status_names[6];

#endif

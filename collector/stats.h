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
};

extern struct stats stats;

static inline void stats_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

void stats_count_request(enum ingest_kind kind, int status);
int stats_status_class(int status);
extern const char *const stats_status_names[6];

#endif

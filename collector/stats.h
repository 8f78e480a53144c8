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

/* Why ingest answered 503 (fpmon_ingest_unavailable_total{reason}). */
enum stats_unavailable {
	STATS_UNAV_BUSY,   /* SQLITE_BUSY / LOCKED: another process holds the write lock */
	STATS_UNAV_FULL,   /* SQLITE_FULL: the disk is full */
	STATS_UNAV_IO,     /* any other storage failure (I/O error...) */
	STATS_UNAV_MEMORY, /* SQLITE_NOMEM or a refused input-sized allocation */
	STATS_UNAV_QUEUE,  /* the ingest queue is full */
	STATS_UNAV_REASONS
};
extern const char *const stats_unavailable_names[STATS_UNAV_REASONS];
/* The reason for a SQLite result code (SQLITE_NOMEM also for our own allocations). */
enum stats_unavailable stats_unavailable_of(int sqlite_rc);

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
	_Atomic uint64_t ingest_unavailable[STATS_UNAV_REASONS];
	_Atomic int64_t db_failing;         /* SQLite code of the last failed group commit; 0 once one succeeds */
	_Atomic int64_t rrd_files_failing;  /* files whose rows the last RRD cycle could not write */
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

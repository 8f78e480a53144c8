/*
 * rrdc: a small rrdcached client speaking the daemon's text protocol over a
 * unix socket or TCP (librrd 1.7.2 exports no usable batch client). It owns
 * the connection, the BATCH fast path (rows of many files in one round
 * trip, split into UPDATE lines under rrdcached's 4096-byte command limit,
 * per-line failures mapped back to files and rows), FLUSH, LAST and a
 * per-connection cache of each file's data source count. Reconnecting is
 * the caller's business: after a transport error the connection says so.
 */
#ifndef RRDC_H
#define RRDC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Names: librrd 1.7.2 exports rrdc_connect, rrdc_flush, rrdc_last,
 * rrdc_update... for its own client. A function of ours with one of those
 * names would also replace librrd's internal calls to it (the executable's
 * symbol interposes: rrd_flushcached() was seen calling ours), so this
 * module uses rrdc_open, rrdc_flush_file and rrdc_last_update instead.
 */

#define RRDC_DEFAULT_PORT       42217
#define RRDC_DEFAULT_TIMEOUT_MS 5000
/* Longest command line we send, newline included: rrdcached reads each
 * command into RRD_CMD_MAX (4096) bytes with its NUL, and its journal keeps
 * only that much of an UPDATE line. */
#define RRDC_LINE_MAX           4095

struct rrdc_conn;
struct rrdc_batch;

/*
 * Connects to "unix:/path", "/path" (unix socket), "host:port", "host"
 * (port 42217) or "[v6addr]:port". timeout_ms (<= 0: 5000) bounds the
 * connect and every later send or receive (SO_SNDTIMEO/SO_RCVTIMEO), so no
 * call blocks forever. Host names are resolved with getaddrinfo, which has
 * no timeout: prefer numeric addresses. Returns NULL with the reason in err.
 * One thread at a time per connection.
 */
struct rrdc_conn *rrdc_open(const char *address, int timeout_ms, char *err, size_t errlen);
void rrdc_close(struct rrdc_conn *conn);

/* 1 once a send/receive failed, timed out or the daemon said something
 * unparseable: every later call fails; close and reopen. */
int rrdc_is_broken(const struct rrdc_conn *conn);

/*
 * Data source count of path as the daemon sees the file (INFO), cached per
 * connection after the first success. Returns 0 or -1 with err.
 */
int rrdc_ds_count(struct rrdc_conn *conn, const char *path, size_t *n_ds, char *err, size_t errlen);

/* One UPDATE line the daemon rejected. */
struct rrdc_failure {
	size_t add_index;    /* which rrdc_batch_add call, from 0 (SIZE_MAX: unknown line) */
	const char *path;    /* that call's path ("" when unknown) */
	size_t first_row;    /* the line carried rows [first_row, first_row + n_rows) of that call */
	size_t n_rows;
	const char *message; /* the daemon's text, e.g. "illegal attempt to update using time ..." */
};

/*
 * A batch: begin, add rows of any number of files, commit once (one round
 * trip for all), read the failures, free. Rows are formatted exactly like
 * the direct path (rrdfile_format_row).
 */
struct rrdc_batch *rrdc_batch_begin(struct rrdc_conn *conn);

/*
 * Queues n_rows rows of path (values n_rows x n_ds, row-major, NAN =
 * unknown). Refused with -1 and err, queueing nothing for this call and
 * leaving the batch usable, when: the path cannot be sent (control
 * characters, too long), timestamps do not strictly increase, or n_ds
 * differs from the file's data source count. The last check matters:
 * rrdcached 1.7.2 only checks timestamps when it accepts a row, so a row
 * with the wrong count is acknowledged, FLUSH reports success, and at
 * write time librrd stops at that row, dropping it and every later pending
 * row of the file. The count comes from rrdc_ds_count (one INFO round
 * trip the first time a path is seen on this connection).
 * Returns 0 (also for n_rows == 0) or -1.
 */
int rrdc_batch_add(struct rrdc_batch *batch, const char *path, size_t n_ds,
		   const int64_t *ts, const double *values, size_t n_rows,
		   char *err, size_t errlen);

/*
 * Sends everything queued as one BATCH and reads the daemon's verdict.
 * Returns the number of rejected lines (0: all accepted; details from
 * rrdc_batch_failures), or -1 with err when the exchange itself failed
 * (the connection is then broken and what the daemon kept is unknown).
 * A rejected line's rows before the offending one may have been accepted
 * (rrdcached checks them in order); the typical rejection is a timestamp at
 * or before the daemon's last for the file, e.g. a replay after restart.
 * A batch commits once.
 */
int rrdc_batch_commit(struct rrdc_batch *batch, char *err, size_t errlen);
size_t rrdc_batch_failures(const struct rrdc_batch *batch, const struct rrdc_failure **failures);
/* Rows and UPDATE lines queued so far. */
size_t rrdc_batch_rows(const struct rrdc_batch *batch);
size_t rrdc_batch_lines(const struct rrdc_batch *batch);
void rrdc_batch_free(struct rrdc_batch *batch);

/*
 * One file's rows in their own batch: begin, add, commit, free. Returns 0
 * when all were accepted, else -1 with the first reason in err.
 */
int rrdc_batch_update(struct rrdc_conn *conn, const char *path, size_t n_ds,
		      const int64_t *ts, const double *values, size_t n_rows,
		      char *err, size_t errlen);

/*
 * FLUSH: returns once the daemon has written path's pending rows (call it
 * before reading a daemon-written file with rrdfile_fetch). A file the
 * daemon holds nothing for is a success. Note rrdcached reports success
 * even when librrd failed to write the rows; rrdc_batch_add's count check
 * is what keeps that from happening. Returns 0 or -1 with err.
 */
int rrdc_flush_file(struct rrdc_conn *conn, const char *path, char *err, size_t errlen);

/*
 * LAST: the daemon's last update time of path, pending rows included.
 * rrdcached 1.7.2 rounds it down to the file's step (300 s here), so it is
 * exact only for step-aligned timestamps. Returns 0 or -1 with err.
 */
int rrdc_last_update(struct rrdc_conn *conn, const char *path, int64_t *last_ts,
		     char *err, size_t errlen);

#endif

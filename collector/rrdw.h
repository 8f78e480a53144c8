/*
 * rrdw: the RRD writer thread, sole owner of every RRD file. It keeps the
 * sample-and-hold state of each file in memory (value of every data source
 * as of the last written row, plus the changes acknowledged since), writes a
 * full row per file for every 300 s step, several steps per librrd call, and
 * the township/county roll-ups computed from the same rows. Rows not yet
 * written are available from memory (rrdw_pending) so charts miss nothing.
 */
#ifndef RRDW_H
#define RRDW_H

#include "ingest.h"

#include <stddef.h>
#include <stdint.h>

struct rrdw_options {
	const char *db_path;
	char rrd_dir[560];
	int flush_steps;           /* write every N steps (N rows per call) */
	const char *rrdcached;     /* "" or NULL: write directly */
	int64_t (*clock)(void);    /* NULL: time(NULL) */
	int manual;                /* tests: no timer thread, call rrdw_flush_now */
};

int rrdw_start(const struct rrdw_options *opt, char *err, size_t errlen);
/* Flush what is due (up to the last complete step) and stop. */
void rrdw_stop(void);
/* ingestq observer: samples committed in SQLite reach the writer here. */
void rrdw_observe(const struct ingest_effects *fx, void *arg);
/* Time of the last row written for an entity (0 if none): later is not late. */
int64_t rrdw_last_written(int64_t entity_id);
/* Write every file up to the last complete step now; returns files written. */
long rrdw_flush_now(void);
/* Ask the writer thread to write everything due now (SIGUSR1, before a backup). */
void rrdw_request_flush(void);
/* Before reading a file: with rrdcached, FLUSH it so the file holds every row sent. */
int rrdw_prepare_read(const char *path, char *err, size_t errlen);
/* The file of an entity (for readers). */
int rrdw_path(int64_t entity_id, char *buf, size_t cap);
/*
 * A reader of an entity's rows holds this across its file read and
 * rrdw_pending: the writer moves rows from pending to the file under the
 * same lock, so every row is seen once, never half-written and never in
 * neither place. (With rrdcached the writer's rows pass through the
 * daemon, which this cannot hold back.)
 */
void rrdw_read_begin(int64_t entity_id);
void rrdw_read_end(int64_t entity_id);
/*
 * A number that changes whenever what a reader of the entity's rows may see
 * changes: a sample for it (for a region: for a leaf under it), a row
 * written, the registry reloaded. Lock-free; read it before reading the
 * rows, and a reply built from them stays valid while it is unchanged.
 * Entities share counters by hash, which only costs extra changes.
 */
uint64_t rrdw_generation(int64_t entity_id);

/*
 * Rows after the file's last written row up to `until` (a step boundary),
 * computed from memory exactly as the writer will write them. Fills ts[] and
 * values[] (n_ds per row) up to max_rows; returns the row count, -1 unknown.
 */
long rrdw_pending(int64_t entity_id, int64_t until, int64_t *ts, double *values,
		  size_t max_rows, size_t *n_ds);

#endif

/*
 * rrdw: the writer thread and its state. Samples arrive from the ingest
 * worker after COMMIT (rrdw_observe) and become pending changes of their
 * file. Every flush_steps steps a cycle writes each leaf file's rows (one
 * librrd call per file), sums them into the region accumulators, writes the
 * region files, then records in SQLite (rrd_state + rrd_applied_sample) how
 * far every file got, so a restart replays exactly the samples not yet in a
 * row. A file whose write fails keeps its state as it was (the rows are
 * retried, sooner than the next cycle, with back-off) and holds back
 * rrd_applied_sample. One mutex guards the state; librrd calls run outside it,
 * under a per-file write lock that readers of the file take shared.
 */
#include "rrdw_int.h"

#include "db.h"
#include "log.h"
#include "rrdc.h"
#include "rrdfile.h"
#include "stats.h"
#include "xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define GRACE_S         10    /* wait for stragglers of a step before writing it */
#define MAX_BACKFILL    2016  /* after a long outage, hold values for a week at most */
#define NEW_BACKFILL    4032  /* a new file starts at its oldest sample, 14 days back at most */
#define CHUNK_STEPS     48    /* steps summed into region accumulators at a time */
#define RETRY_FIRST_S   5     /* after a failed write, retry this soon, doubling... */
#define RETRY_MAX_S     300   /* ...up to one step */

struct rrdw_writer rrdw_state = {.file_locks_once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
       .read_lock = PTHREAD_MUTEX_INITIALIZER};
static struct rrdw_writer *const w = &rrdw_state;

static int64_t now_s(void) { return w->opt.clock ? w->opt.clock() : (int64_t)time(NULL); }

/* ---- samples in ---- */

static void add_change_locked(struct rrdw_file *f, int ds, int64_t ts, double value, int64_t sample_id)
{
	if (ts <= f->last_ts) { /* its row is written: the sample stays in SQLite only */
		stats_add(&stats.samples_late, 1);
		return;
	}
	if (f->n_changes == f->cap_changes) {
		f->cap_changes = f->cap_changes ? f->cap_changes * 2 : 4;
		f->changes = xreallocarray(f->changes, f->cap_changes, sizeof *f->changes);
	}
	f->changes[f->n_changes++] = (struct rrdw_change){ts, sample_id, (int16_t)ds, value};
}

void rrdw_observe_one_locked(int64_t entity_id, int metric, int64_t ts, double value, int64_t sample_id)
{
	if (sample_id > w->max_sample_id)
		w->max_sample_id = sample_id;
	int32_t at = rrdw_find_file(entity_id);
	if (at < 0) {
		rrdw_sync_registry_locked(); /* an entity newer than our table */
		at = rrdw_find_file(entity_id);
		if (at < 0)
			return;
	}
	struct rrdw_file *f = &w->files[at];
	int ds = cat_ds_index(f->layout, metric);
	if (ds >= 0) {
		add_change_locked(f, ds, ts, value, sample_id);
		rrdw_changed_locked(f);
	}
}

void rrdw_observe(const struct ingest_effects *fx, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < fx->n_samples; i++) {
		const struct ingest_sample *s = &fx->samples[i];
		rrdw_observe_one_locked(s->entity_id, s->metric, s->ts, s->value, s->sample_id);
	}
	pthread_mutex_unlock(&w->lock);
}

int64_t rrdw_last_written(int64_t entity_id)
{
	pthread_mutex_lock(&w->lock);
	int32_t at = rrdw_find_file(entity_id);
	int64_t last = at < 0 ? 0 : w->files[at].last_ts;
	pthread_mutex_unlock(&w->lock);
	return last;
}

/* ---- writing ---- */

static struct log_limit write_limit;

/* Apply changes up to `to` into the held values and mark the file written there. */
static void advance_locked(struct rrdw_file *f, int64_t to)
{
	size_t used = 0;
	while (used < f->n_changes && f->changes[used].ts <= to) {
		f->held[f->changes[used].ds] = f->changes[used].value;
		if (f->layout == CAT_PROJECT && f->changes[used].ts > f->last_report_ts)
			f->last_report_ts = f->changes[used].ts;
		used++;
	}
	if (used && f->n_changes > used)
		memmove(f->changes, f->changes + used, (f->n_changes - used) * sizeof *f->changes);
	f->n_changes -= used;
	if (to > f->last_ts)
		f->last_ts = to;
}

#define BATCH_ROWS_MAX 20000 /* rows queued before a BATCH round trip */

static void rrdc_send(void);

/* Queue rows for rrdcached; the first time a file is seen, ask where it is. */
static long rrdc_queue(const char *path, int *exists, size_t n_ds, const int64_t *ts,
		       const double *values, size_t n, char *err, size_t errlen)
{
	if (!w->rrdc && !(w->rrdc = rrdc_open(w->rrdcached, 5000, err, errlen)))
		return -1;
	size_t skip = 0;
	if (*exists == 1) { /* after a restart the daemon may hold rows we replay */
		int64_t last = 0;
		if (rrdc_last_update(w->rrdc, path, &last, err, errlen) < 0)
			return -1;
		while (skip < n && ts[skip] <= last)
			skip++;
		*exists = 2;
	}
	if (!w->batch)
		w->batch = rrdc_batch_begin(w->rrdc);
	if (rrdc_batch_add(w->batch, path, n_ds, ts + skip, values + skip * n_ds, n - skip, err, errlen) < 0)
		return -1;
	return (long)(n - skip); /* queued: sent when the batch is full or the cycle ends */
}

/* Write rows (from, from + n*step] of one file; rows at or before `after`
 * are skipped. 0, or -1 when the file could not be created or written. */
static int write_file(const struct rrdw_file *snapshot, int *exists, int64_t from, size_t n,
		       const double *values, int64_t after)
{
	const struct cat_layout *l = cat_layout(snapshot->layout);
	size_t skip = after > from ? (size_t)((after - from) / RRDFILE_STEP) : 0;
	if (skip >= n)
		return 0;
	char path[1024], err[512];
	if (rrdw_path_of(snapshot, path, sizeof path) < 0)
		return -1;
	if (!*exists) {
		if (rrdfile_create(path, from + (int64_t)skip * RRDFILE_STEP, l->ds_name, l->n_ds, err, sizeof err) < 0) {
			stats_add(&stats.rrd_errors, 1);
			log_limited(&write_limit, LOG_ERROR, "rrd writer: %s", err);
			return -1;
		}
		*exists = 1;
	}
	int64_t ts[CHUNK_STEPS];
	for (size_t i = skip; i < n; i++)
		ts[i - skip] = from + (int64_t)(i + 1) * RRDFILE_STEP;
	long wrote;
	if (w->rrdcached[0]) {
		wrote = rrdc_queue(path, exists, l->n_ds, ts, values + skip * l->n_ds, n - skip, err, sizeof err);
	} else {
		wrote = rrdfile_update(path, l->n_ds, ts, values + skip * l->n_ds, n - skip, err, sizeof err);
		stats_add(&stats.rrd_calls, 1);
	}
	if (wrote < 0) {
		stats_add(&stats.rrd_errors, 1);
		log_limited(&write_limit, LOG_ERROR, "rrd writer: %s", err);
		return -1;
	}
	stats_add(&stats.rrd_rows_written, (uint64_t)wrote);
	return 0;
}

/* What advance_locked changed, to put back when the write fails. */
struct undo {
	int64_t last_ts, last_report_ts;
	double held[CAT_MAX_DS];
	struct rrdw_change *used;
	size_t n_used;
};

static void undo_save_locked(const struct rrdw_file *f, int64_t to, struct undo *u)
{
	u->last_ts = f->last_ts;
	u->last_report_ts = f->last_report_ts;
	memcpy(u->held, f->held, sizeof u->held);
	size_t n = 0;
	while (n < f->n_changes && f->changes[n].ts <= to) /* sorted: the prefix advance consumes */
		n++;
	u->used = n ? xreallocarray(NULL, n, sizeof *u->used) : NULL;
	if (n)
		memcpy(u->used, f->changes, n * sizeof *u->used);
	u->n_used = n;
}

/* The rows were not written: the file is as it was, its changes pending again. */
static void undo_locked(struct rrdw_file *f, const struct undo *u)
{
	f->last_ts = u->last_ts;
	f->last_report_ts = u->last_report_ts;
	memcpy(f->held, u->held, sizeof f->held);
	if (f->n_changes + u->n_used > f->cap_changes) {
		f->cap_changes = f->n_changes + u->n_used;
		f->changes = xreallocarray(f->changes, f->cap_changes, sizeof *f->changes);
	}
	if (u->n_used) {
		memmove(f->changes + u->n_used, f->changes, f->n_changes * sizeof *f->changes);
		memcpy(f->changes, u->used, u->n_used * sizeof *f->changes);
	}
	f->n_changes += u->n_used;
	f->failed = 1;
}

/* rrdcached: files whose rows wait in the BATCH being filled, each with its
 * state as it was before, to put back if the BATCH fails. Writer thread only. */
static struct queued {
	size_t index;
	struct undo undo;
} *queued;
static size_t n_queued, cap_queued;

/* After a file's write: its state put back if the write failed, or kept
 * with the batch that now holds its rows; readers told either way. */
static void finish_write(size_t index, int rc, int failed, int exists, struct undo *undo,
			 pthread_rwlock_t *file_locked)
{
	pthread_mutex_lock(&w->lock);
	w->files[index].exists = exists;
	if (rc < 0 && !failed) {
		undo_locked(&w->files[index], undo);
	} else if (rc == 0 && !failed && w->rrdcached[0]) {
		if (n_queued == cap_queued) {
			cap_queued = cap_queued ? cap_queued * 2 : 256;
			queued = xreallocarray(queued, cap_queued, sizeof *queued);
		}
		queued[n_queued++] = (struct queued){index, *undo};
		undo->used = NULL; /* the batch's now */
	}
	rrdw_changed_locked(&w->files[index]);
	pthread_mutex_unlock(&w->lock);
	pthread_rwlock_unlock(file_locked);
	free(undo->used);
	if (w->batch && rrdc_batch_rows(w->batch) >= BATCH_ROWS_MAX)
		rrdc_send();
}

/*
 * The BATCH failed (all: the exchange itself; else the files of the
 * refused lines): those files' queued rows go back to pending, newest
 * batch entry first, and the daemon is asked for the file's last update
 * before they are sent again, since it may have kept some of them.
 */
static void put_back(int all, const struct rrdc_failure *fail, size_t n_fail)
{
	for (size_t i = 0; i < n_fail; i++)
		if (fail[i].add_index == SIZE_MAX)
			all = 1; /* a line it could not place */
	size_t files = 0;
	pthread_mutex_lock(&w->lock);
	for (size_t k = n_queued; k-- > 0;) {
		struct rrdw_file *f = &w->files[queued[k].index];
		int hit = all;
		char path[1024];
		if (!hit && rrdw_path_of(f, path, sizeof path) == 0)
			for (size_t i = 0; !hit && i < n_fail; i++)
				hit = strcmp(path, fail[i].path) == 0;
		if (!hit)
			continue;
		undo_locked(f, &queued[k].undo);
		f->exists = 1;
		rrdw_changed_locked(f);
		files++;
	}
	pthread_mutex_unlock(&w->lock);
	log_limited(&write_limit, LOG_WARN, "rrd writer: rows of %zu queued writes kept pending, to be sent again", files);
}

/* rrdcached: send what is queued; a broken connection is reopened next time. */
static void rrdc_send(void)
{
	if (!w->batch)
		return;
	char err[512];
	int rejected = rrdc_batch_commit(w->batch, err, sizeof err);
	const struct rrdc_failure *fail = NULL;
	size_t n_fail = 0;
	if (rejected < 0) {
		stats_add(&stats.rrd_errors, rrdc_batch_lines(w->batch));
		log_limited(&write_limit, LOG_ERROR, "rrd writer: rrdcached %s: %s", w->rrdcached, err);
	} else if (rejected > 0) {
		n_fail = rrdc_batch_failures(w->batch, &fail);
		stats_add(&stats.rrd_errors, n_fail);
		log_limited(&write_limit, LOG_ERROR, "rrd writer: rrdcached refused %zu lines, first %s: %s",
			    n_fail, fail[0].path, fail[0].message);
	}
	if (rejected != 0)
		put_back(rejected < 0, fail, n_fail);
	for (size_t k = 0; k < n_queued; k++)
		free(queued[k].undo.used);
	n_queued = 0;
	stats_add(&stats.rrd_calls, rrdc_batch_lines(w->batch));
	rrdc_batch_free(w->batch);
	w->batch = NULL;
	if (w->rrdc && rrdc_is_broken(w->rrdc)) {
		rrdc_close(w->rrdc);
		w->rrdc = NULL;
	}
}

/* One leaf over (from, to]: rows, state advance, file write, region sums.
 * A file that failed earlier in this cycle is not written again (its rows
 * must land in order), but its rows still count in the region sums. */
static void flush_leaf(size_t index, int64_t from, size_t n, double *rows, struct rrdw_acc **accs,
		       size_t n_accs)
{
	pthread_rwlock_t *file_locked = rrdw_file_lock_of(index);
	pthread_rwlock_wrlock(file_locked); /* from the state's advance to the write's end */
	pthread_mutex_lock(&w->lock);
	struct rrdw_file *f = &w->files[index];
	rrdw_sort_changes(f);
	rrdw_leaf_rows(f, plan_find(&w->plans, f->entity_id), from, n, rows, NULL);
	int64_t written_before = f->last_ts, to = from + (int64_t)n * RRDFILE_STEP;
	/* Into the region sums in the same locked step as the advance: a reader
	 * of a region sees this leaf's rows in exactly one of the two. */
	for (size_t p = 0; p < f->n_parents; p++) {
		int32_t parent = f->parents[p];
		if (parent < 0 || (size_t)parent >= n_accs) /* a region newer than this cycle */
			continue;
		if (!accs[parent]) {
			accs[parent] = xcalloc(1, sizeof **accs);
			rrdw_acc_init(accs[parent], n);
		}
		rrdw_acc_add(accs[parent], f, rows);
	}
	f->chunk_seq = w->chunk.seq;
	struct rrdw_file snapshot = *f;
	struct undo undo = {0};
	int failed = f->failed;
	if (!failed) {
		undo_save_locked(f, to, &undo);
		advance_locked(f, to);
	}
	int exists = f->exists;
	pthread_mutex_unlock(&w->lock);

	int rc = failed ? -1 : write_file(&snapshot, &exists, from, n, rows, written_before);
	finish_write(index, rc, failed, exists, &undo, file_locked);
}

static void flush_region(size_t index, int64_t from, size_t n, double *rows, struct rrdw_acc *acc)
{
	struct rrdw_acc empty = {0};
	if (!acc) {
		rrdw_acc_init(&empty, n);
		acc = &empty;
	}
	rrdw_acc_rows(acc, rows);
	rrdw_acc_free(&empty);
	size_t n_ds = cat_layout(CAT_REGION)->n_ds;
	pthread_rwlock_t *file_locked = rrdw_file_lock_of(index);
	pthread_rwlock_wrlock(file_locked);
	pthread_mutex_lock(&w->lock);
	struct rrdw_file *f = &w->files[index];
	int64_t written_before = f->last_ts;
	f->chunk_seq = w->chunk.seq; /* readers: its rows of this chunk are in its own state now */
	struct rrdw_file snapshot = *f;
	struct undo undo = {0};
	int failed = f->failed;
	if (!failed) {
		undo_save_locked(f, written_before, &undo); /* regions have no changes: held and time only */
		memcpy(f->held, rows + (n - 1) * n_ds, n_ds * sizeof *rows);
		f->last_ts = from + (int64_t)n * RRDFILE_STEP;
	}
	int exists = f->exists;
	pthread_mutex_unlock(&w->lock);
	int rc = failed ? -1 : write_file(&snapshot, &exists, from, n, rows, written_before);
	finish_write(index, rc, failed, exists, &undo, file_locked);
}

/* Record how far every file got, and which samples are now safely in rows. */
static void persist_state(int64_t max_sample_at_start)
{
	sqlite3_stmt *st = db_prepare(w->db,
		"INSERT INTO rrd_state(entity_id, last_ts, held) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(entity_id) DO UPDATE SET last_ts = excluded.last_ts, held = excluded.held");
	if (db_begin(w->db) < 0) {
		sqlite3_finalize(st);
		return;
	}
	int64_t min_pending = INT64_MAX;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->n_files; i++) {
		const struct rrdw_file *f = &w->files[i];
		for (size_t c = 0; c < f->n_changes; c++)
			if (f->changes[c].sample_id < min_pending)
				min_pending = f->changes[c].sample_id;
		if (!f->last_ts)
			continue;
		sqlite3_bind_int64(st, 1, f->entity_id);
		sqlite3_bind_int64(st, 2, f->last_ts);
		sqlite3_bind_blob(st, 3, f->held, (int)(cat_layout(f->layout)->n_ds * sizeof(double)), SQLITE_TRANSIENT);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&w->lock);
	sqlite3_finalize(st);
	int64_t applied = max_sample_at_start;
	if (min_pending != INT64_MAX && min_pending - 1 < applied)
		applied = min_pending - 1;
	if (db_meta_set(w->db, "rrd_applied_sample", applied) < 0 || db_commit(w->db) < 0) {
		db_rollback(w->db);
		log_error_rl("rrd writer: saving its progress failed: %s", sqlite3_errmsg(w->db));
	}
}

/* After a cycle: how many files are behind, and when to try them again. */
static void note_failures(void)
{
	pthread_mutex_lock(&w->lock);
	int64_t failing = 0;
	for (size_t i = 0; i < w->n_files; i++)
		failing += w->files[i].failed;
	if (failing) {
		w->retry_delay = w->retry_delay ? w->retry_delay * 2 : RETRY_FIRST_S;
		if (w->retry_delay > RETRY_MAX_S)
			w->retry_delay = RETRY_MAX_S;
		w->retry_at = now_s() + w->retry_delay;
	} else {
		w->retry_delay = w->retry_at = 0;
	}
	pthread_mutex_unlock(&w->lock);
	atomic_store(&stats.rrd_files_failing, failing);
	if (!failing) /* logged only if write_limit had been complaining */
		log_limit_clear(&write_limit, "rrd writer: RRD files are writable again; every pending row is written");
}

/* Write every file up to step boundary T. Returns the number of files. */
static long cycle(int64_t T)
{
	int64_t started = now_s();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&w->lock);
	rrdw_sync_registry_locked();
	int64_t max_sample = w->max_sample_id, window = T;
	int64_t floor_ts = T - (int64_t)w->opt.flush_steps * RRDFILE_STEP;
	for (size_t i = 0; i < w->n_files; i++) {
		struct rrdw_file *f = &w->files[i];
		f->failed = 0; /* every file gets its chance again */
		rrdw_sort_changes(f);
		if (!f->last_ts && f->layout == CAT_REGION)
			continue; /* after the leaves: a new region file starts with its oldest leaf */
		if (!f->last_ts) {
			/* A new file starts at its oldest pending sample (history sent with a
			 * county's first data), at most 14 days back, else with this cycle. */
			int64_t start = floor_ts;
			if (f->n_changes && f->changes[0].ts <= floor_ts)
				start = (f->changes[0].ts - 1) / RRDFILE_STEP * RRDFILE_STEP;
			if (start < T - NEW_BACKFILL * RRDFILE_STEP)
				start = T - NEW_BACKFILL * RRDFILE_STEP;
			f->last_ts = 0;
			advance_locked(f, start); /* older samples fold into the first row's held values */
		} else if (f->last_ts < T - MAX_BACKFILL * RRDFILE_STEP)
			advance_locked(f, T - MAX_BACKFILL * RRDFILE_STEP); /* leave a gap, not a year of copies */
		if (f->last_ts < window)
			window = f->last_ts;
	}
	for (size_t i = 0; i < w->n_files; i++)
		if (!w->files[i].last_ts)
			w->files[i].last_ts = window < floor_ts ? window : floor_ts;
	size_t n_files = w->n_files, n_leaves = 0, n_regions = 0;
	/* Indexes are stable (the table only grows), the array may move: copy the plan of work. */
	size_t *leaves = xmalloc((n_files + 1) * sizeof *leaves), *regions = xmalloc((n_files + 1) * sizeof *regions);
	for (size_t i = 0; i < n_files; i++) {
		if (w->files[i].layout == CAT_REGION)
			regions[n_regions++] = i;
		else
			leaves[n_leaves++] = i;
	}
	pthread_mutex_unlock(&w->lock);

	struct rrdw_acc **accs = xcalloc(n_files, sizeof *accs);
	double *rows = xmalloc(CHUNK_STEPS * CAT_MAX_DS * sizeof *rows);
	for (int64_t from = window; from < T;) {
		size_t n = (size_t)((T - from) / RRDFILE_STEP);
		if (n > CHUNK_STEPS)
			n = CHUNK_STEPS;
		pthread_mutex_lock(&w->lock);
		w->chunk.seq++;
		w->chunk.from = from;
		w->chunk.n = n;
		w->chunk.accs = accs;
		w->chunk.n_accs = n_files;
		pthread_mutex_unlock(&w->lock);
		for (size_t k = 0; k < n_leaves; k++)
			flush_leaf(leaves[k], from, n, rows, accs, n_files);
		for (size_t k = 0; k < n_regions; k++) {
			size_t i = regions[k];
			flush_region(i, from, n, rows, accs[i]);
			pthread_mutex_lock(&w->lock); /* readers may be summing from it */
			if (accs[i])
				rrdw_acc_free(accs[i]);
			free(accs[i]);
			accs[i] = NULL;
			pthread_mutex_unlock(&w->lock);
		}
		from += (int64_t)n * RRDFILE_STEP;
	}
	pthread_mutex_lock(&w->lock);
	w->chunk.accs = NULL;
	w->chunk.n_accs = 0;
	pthread_mutex_unlock(&w->lock);
	rrdc_send();
	free(rows);
	free(accs);
	free(leaves);
	free(regions);
	note_failures();
	persist_state(max_sample);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t usec = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	stats_add(&stats.rrd_cycle_usec_total, usec);
	atomic_store(&stats.rrd_lag_seconds, started - T);
	log_debug("rrd writer: %zu files written up to %lld in %llu ms", n_files, (long long)T,
		  (unsigned long long)(usec / 1000));
	return (long)n_files;
}

static int64_t last_complete_step(void)
{
	return (now_s() - GRACE_S) / RRDFILE_STEP * RRDFILE_STEP;
}

void rrdw_request_flush(void)
{
	pthread_mutex_lock(&w->lock);
	w->flush_requested = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

long rrdw_flush_now(void)
{
	return cycle(last_complete_step());
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		int64_t next = last_complete_step() + RRDFILE_STEP, wake = next + GRACE_S;
		int retry = w->retry_at && w->retry_at < wake; /* files are behind: try before the next step */
		if (retry)
			wake = w->retry_at;
		struct timespec until = {.tv_sec = (time_t)wake, .tv_nsec = 0};
		while (!w->stopping && !w->flush_requested && pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
			;
		if (w->stopping)
			break;
		int requested = w->flush_requested;
		w->flush_requested = 0;
		if (!requested && !retry && (next / RRDFILE_STEP) % w->opt.flush_steps != 0)
			continue;
		pthread_mutex_unlock(&w->lock);
		cycle(requested || retry ? last_complete_step() : next);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- start, restore, stop ---- */

int rrdw_start(const struct rrdw_options *opt, char *err, size_t errlen)
{
	w->opt = *opt;
	if (w->opt.flush_steps < 1)
		w->opt.flush_steps = 1;
	if (w->opt.flush_steps > CHUNK_STEPS)
		w->opt.flush_steps = CHUNK_STEPS;
	snprintf(w->rrdcached, sizeof w->rrdcached, "%s", opt->rrdcached ? opt->rrdcached : "");
	w->opt.rrdcached = w->rrdcached;
	w->db = db_open(opt->db_path, DB_SYNC_NORMAL, err, errlen);
	if (!w->db)
		return -1;
	w->stopping = 0;
	w->registry_version = -1;
	reg_refresh(w->db);
	pthread_mutex_lock(&w->lock);
	rrdw_sync_registry_locked();
	rrdw_restore_locked();
	pthread_mutex_unlock(&w->lock);
	if (!opt->manual) {
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		pthread_cond_init(&w->cond, &attr); /* CLOCK_REALTIME: steps are wall-clock boundaries */
		if (pthread_create(&w->thread, NULL, writer_main, NULL) != 0) {
			snprintf(err, errlen, "cannot start the RRD writer thread");
			return -1;
		}
		w->running = 1;
	}
	return 0;
}

void rrdw_stop(void)
{
	if (w->running) {
		pthread_mutex_lock(&w->lock);
		w->stopping = 1;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		w->running = 0;
	}
	if (w->db) {
		cycle(last_complete_step()); /* everything due is written before exit */
		db_meta_set(w->db, "rrd_running", 0);
		db_close(w->db);
		w->db = NULL;
	}
	for (size_t i = 0; i < w->n_files; i++) {
		free(w->files[i].changes);
		free(w->files[i].children);
	}
	free(w->files);
	free(w->hash);
	free(queued); /* empty: the last cycle sent its batch */
	queued = NULL;
	n_queued = cap_queued = 0;
	plan_set_free(&w->plans);
	rrdc_close(w->rrdc);
	rrdc_close(w->read_conn);
	w->rrdc = w->read_conn = NULL;
	w->files = NULL;
	w->hash = NULL;
	w->n_files = w->cap_files = w->hash_cap = 0;
	w->max_sample_id = 0;
}

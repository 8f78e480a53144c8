/*
 * rrdw_read: what readers of the RRD files see, and how they stay
 * consistent with the writer: the per-file locks (striped by entity), the
 * change counters that let the API keep replies (rrdw_generation), the
 * rrdcached FLUSH before a read, and the rows still pending in memory.
 */
#include "rrdw_int.h"

#include "rrdc.h"
#include "rrdfile.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static struct rrdw_writer *const w = &rrdw_state;

static void file_locks_init(void)
{
	for (size_t i = 0; i < RRDW_FILE_LOCKS; i++)
		pthread_rwlock_init(&w->file_locks[i], NULL);
}

static pthread_rwlock_t *file_lock(int64_t entity_id)
{
	pthread_once(&w->file_locks_once, file_locks_init);
	return &w->file_locks[rrdw_hash_slot(entity_id) % RRDW_FILE_LOCKS];
}

void rrdw_read_begin(int64_t entity_id)
{
	pthread_rwlock_rdlock(file_lock(entity_id));
}

void rrdw_read_end(int64_t entity_id)
{
	pthread_rwlock_unlock(file_lock(entity_id));
}

uint64_t rrdw_generation(int64_t entity_id)
{
	return atomic_load(&w->epoch) + atomic_load(&w->generation[rrdw_hash_slot(entity_id) % RRDW_GENERATIONS]);
}

/* After a change of f's rows: it and every region it sums into. */
void rrdw_changed_locked(const struct rrdw_file *f)
{
	atomic_fetch_add(&w->generation[rrdw_hash_slot(f->entity_id) % RRDW_GENERATIONS], 1);
	for (size_t p = 0; p < f->n_parents; p++)
		if (f->parents[p] >= 0)
			atomic_fetch_add(&w->generation[rrdw_hash_slot(w->files[f->parents[p]].entity_id) % RRDW_GENERATIONS], 1);
}

/* The write lock of file `index` (indexes are stable; the array may move). */
pthread_rwlock_t *rrdw_file_lock_of(size_t index)
{
	pthread_mutex_lock(&w->lock);
	int64_t entity_id = w->files[index].entity_id;
	pthread_mutex_unlock(&w->lock);
	return file_lock(entity_id);
}

int rrdw_prepare_read(const char *path, char *err, size_t errlen)
{
	if (!w->rrdcached[0])
		return 0;
	pthread_mutex_lock(&w->read_lock);
	int rc = -1;
	/* Twice at most: a kept connection may have died with the daemon since. */
	for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
		int fresh = !w->read_conn;
		if (fresh)
			w->read_conn = rrdc_open(w->rrdcached, 5000, err, errlen);
		rc = w->read_conn ? rrdc_flush_file(w->read_conn, path, err, errlen) : -1;
		if (rc < 0 && w->read_conn && rrdc_is_broken(w->read_conn)) {
			rrdc_close(w->read_conn);
			w->read_conn = NULL;
		}
		if (rc < 0 && (fresh || w->read_conn))
			break; /* a new connection failed too, or the daemon answered with an error */
	}
	pthread_mutex_unlock(&w->read_lock);
	return rc;
}

/*
 * Region rows (from, from + n steps] summed from its leaves' rows in memory.
 * Inside the chunk being written (in_chunk), leaves already written are
 * taken from the partial sums (NULL until the first is): their own state
 * has moved past these rows.
 */
static void region_rows_locked(const struct rrdw_file *f, int64_t from, size_t n, int in_chunk,
			       const struct rrdw_acc *partial, double *values)
{
	struct rrdw_acc acc;
	rrdw_acc_init(&acc, n);
	if (partial && partial->n_steps >= n) { /* its first n steps, [step][ds] */
		memcpy(acc.sum, partial->sum, n * CAT_MAX_DS * sizeof *acc.sum);
		memcpy(acc.weight, partial->weight, n * CAT_MAX_DS * sizeof *acc.weight);
		memcpy(acc.count, partial->count, n * CAT_MAX_DS * sizeof *acc.count);
	}
	double *rows = xmalloc(n * CAT_MAX_DS * sizeof *rows);
	for (size_t c = 0; c < f->n_children; c++) {
		struct rrdw_file *leaf = &w->files[f->children[c]];
		if (in_chunk && leaf->chunk_seq == w->chunk.seq)
			continue;
		rrdw_sort_changes(leaf);
		rrdw_leaf_rows(leaf, plan_find(&w->plans, leaf->entity_id), from, n, rows, NULL);
		rrdw_acc_add(&acc, leaf, rows);
	}
	rrdw_acc_rows(&acc, values);
	rrdw_acc_free(&acc);
	free(rows);
}

long rrdw_pending(int64_t entity_id, int64_t until, int64_t *ts, double *values,
		  size_t max_rows, size_t *n_ds)
{
	pthread_mutex_lock(&w->lock);
	int32_t at = rrdw_find_file(entity_id);
	if (at < 0) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	struct rrdw_file *f = &w->files[at];
	int64_t from = f->last_ts ? f->last_ts : until - RRDFILE_STEP;
	size_t n = until > from ? (size_t)((until - from) / RRDFILE_STEP) : 0;
	if (n > max_rows) /* the newest rows matter most */
		from = until - (int64_t)max_rows * RRDFILE_STEP, n = max_rows;
	*n_ds = cat_layout(f->layout)->n_ds;
	for (size_t r = 0; r < n; r++)
		ts[r] = from + (int64_t)(r + 1) * RRDFILE_STEP;
	if (n && f->layout != CAT_REGION) {
		rrdw_sort_changes(f);
		rrdw_leaf_rows(f, plan_find(&w->plans, f->entity_id), from, n, values, NULL);
	} else if (n) {
		/* Rows of the chunk being written, its leaves partly written, the region not yet. */
		size_t in_chunk = 0;
		if (w->chunk.accs && (size_t)at < w->chunk.n_accs && from == w->chunk.from && f->chunk_seq != w->chunk.seq)
			in_chunk = n < w->chunk.n ? n : w->chunk.n;
		if (in_chunk)
			region_rows_locked(f, from, in_chunk, 1, w->chunk.accs[at], values);
		if (n > in_chunk)
			region_rows_locked(f, from + (int64_t)in_chunk * RRDFILE_STEP, n - in_chunk, 0, NULL,
					   values + in_chunk * *n_ds);
	}
	pthread_mutex_unlock(&w->lock);
	return (long)n;
}

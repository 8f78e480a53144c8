/*
 * rrdw_int: the writer's state, shared by the files of the rrdw module:
 * rrdw.c (the thread, the file table, cycles, persistence), rrdw_restore.c
 * (state at start), rrdw_read.c (what readers see: locks, generations,
 * pending rows) and rrdw_rows.c (held values and changes into rows and
 * roll-ups). Not for use outside the rrdw module.
 */
#ifndef RRDW_INT_H
#define RRDW_INT_H

#include "catalog.h"
#include "plan.h"
#include "registry.h"
#include "rrdw.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#define RRDW_MAX_PARENTS 6

struct rrdw_change {
	int64_t ts;
	int64_t sample_id;
	int16_t ds;
	double value;
};

struct rrdw_file {
	int64_t entity_id;
	enum cat_entity layout;      /* which data sources the file holds */
	enum reg_kind kind;
	char key[33];
	int64_t last_ts;             /* last row written (0: none yet) */
	int64_t last_report_ts;      /* projects: newest reported sample */
	double held[CAT_MAX_DS];     /* values as of last_ts */
	struct rrdw_change *changes; /* acknowledged, not yet in a row */
	size_t n_changes, cap_changes;
	int exists;                  /* the RRD file is known to exist */
	int failed;                  /* a write failed this cycle: no more rows until the next */
	int64_t chunk_seq;           /* the last cycle chunk it was written in (leaves: in the parents' sums) */
	int32_t parents[RRDW_MAX_PARENTS]; /* region files it rolls up into */
	size_t n_parents;
	int32_t *children;           /* regions: the leaf files under it */
	size_t n_children, cap_children;
	int stage;                   /* projects: life-cycle stage index */
	double invest_fen;           /* projects: approved investment */
};

/* Roll-up sums of one region over a window of steps. */
struct rrdw_acc {
	size_t n_steps;
	double *sum, *weight;        /* [step][ds] */
	unsigned *count;             /* [step][ds] known values summed */
};

/*
 * Rows of a leaf (village or project) file for steps (from, from + n*step],
 * starting from its held values; applies and consumes nothing (pure). Rows
 * at or before f->last_ts repeat the held values. values: n x n_ds.
 */
void rrdw_leaf_rows(const struct rrdw_file *f, const struct plan *plan, int64_t from, size_t n,
		    double *values, int64_t *last_report);
/* Add a leaf's rows to a region accumulator for the same window. */
void rrdw_acc_add(struct rrdw_acc *acc, const struct rrdw_file *leaf, const double *rows);
/* Region rows from an accumulator: n_steps x region layout. */
void rrdw_acc_rows(const struct rrdw_acc *acc, double *values);
void rrdw_acc_init(struct rrdw_acc *acc, size_t n_steps);
void rrdw_acc_free(struct rrdw_acc *acc);
/* Sort a file's changes by time (stable by sample id). */
void rrdw_sort_changes(struct rrdw_file *f);

#define RRDW_FILE_LOCKS  64   /* readers vs the writer of a file, striped by entity */
#define RRDW_GENERATIONS 4096 /* change counters for readers' caches, by entity hash */

struct rrdc_conn;
struct rrdc_batch;

/* Everything the writer keeps; one instance, rrdw_state. */
struct rrdw_writer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int running, stopping, flush_requested;
	struct rrdw_options opt;
	char rrdcached[256];
	sqlite3 *db;
	struct rrdw_file *files;
	size_t n_files, cap_files;
	int32_t *hash;                /* entity_id -> file index, open addressing */
	size_t hash_cap;
	int64_t registry_version;
	struct plan_set plans;
	int64_t max_sample_id;
	struct rrdc_conn *rrdc;        /* writer's connection when rrdcached is configured */
	struct rrdc_batch *batch;      /* rows queued for one BATCH */
	int64_t retry_at, retry_delay; /* a cycle failed: when to try again (0: none) */
	pthread_mutex_t read_lock;     /* guards read_conn */
	struct rrdc_conn *read_conn;   /* readers' FLUSH connection */
	pthread_rwlock_t file_locks[RRDW_FILE_LOCKS]; /* taken before lock, never after */
	/* The chunk of steps a cycle is writing: leaves go first, then their
	 * regions, so readers of a region take the rows of the leaves already
	 * written from the region's partial sums (guarded by lock). */
	struct {
		int64_t seq, from;
		size_t n;
		struct rrdw_acc **accs;    /* by file index; NULL outside a chunk */
		size_t n_accs;
	} chunk;
	pthread_once_t file_locks_once;
	_Atomic uint64_t generation[RRDW_GENERATIONS]; /* bumped after a change is in place */
	_Atomic uint64_t epoch;                   /* bumped when the registry reloads */
};
extern struct rrdw_writer rrdw_state;

static inline size_t rrdw_hash_slot(int64_t id) { return (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL >> 20); }
/* The file table (rrdw.c); call with rrdw_state.lock held. */
int32_t rrdw_find_file(int64_t entity_id);
void rrdw_sync_registry_locked(void);
int rrdw_path_of(const struct rrdw_file *f, char *buf, size_t cap);
void rrdw_observe_one_locked(int64_t entity_id, int metric, int64_t ts, double value, int64_t sample_id);
/* rrdw_read.c: the write lock of file `index`, taken around each write; and,
 * with the lock held, the change counter bump after a file's rows changed. */
pthread_rwlock_t *rrdw_file_lock_of(size_t index);
void rrdw_changed_locked(const struct rrdw_file *f);
/* rrdw_restore.c: files' state from rrd_state (and the files themselves
 * after an unclean stop), then the acknowledged samples not yet in a row. */
void rrdw_restore_locked(void);

#endif

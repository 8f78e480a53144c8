/*
 * rrdw_int: the writer's per-file state, shared by rrdw.c (thread, restore,
 * persistence) and rrdw_rows.c (turning held values and changes into rows
 * and roll-ups). Not for use outside the rrdw module.
 */
#ifndef RRDW_INT_H
#define RRDW_INT_H

#include "catalog.h"
#include "plan.h"
#include "registry.h"
#include "rrdw.h"

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

#endif

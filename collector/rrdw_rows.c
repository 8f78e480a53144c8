/*
 * rrdw_rows: sample-and-hold arithmetic. A row at step t holds, for every
 * data source, the newest value with a timestamp <= t; project rows add the
 * derived planned progress, SPI and days since the last report; region rows
 * combine their villages (sum or weighted mean, per the catalog) and their
 * projects (counts, budgets, earned and planned value; SPI from the sums).
 */
#include "rrdw_int.h"

#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rrdfile.h"

static int cmp_change(const void *a, const void *b)
{
	const struct rrdw_change *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->sample_id < y->sample_id ? -1 : x->sample_id > y->sample_id;
}

void rrdw_sort_changes(struct rrdw_file *f)
{
	if (f->n_changes > 1)
		qsort(f->changes, f->n_changes, sizeof *f->changes, cmp_change);
}

/* Data-source positions of the derived project metrics, looked up once. */
static struct {
	int ready, planned, spi, days, progress;
} project_ds;

static void find_project_ds(void)
{
	if (project_ds.ready)
		return;
	project_ds.planned = cat_ds_index(CAT_PROJECT, cat_find("planned_pct")->index);
	project_ds.spi = cat_ds_index(CAT_PROJECT, cat_find("spi")->index);
	project_ds.days = cat_ds_index(CAT_PROJECT, cat_find("days_silent")->index);
	project_ds.progress = cat_ds_index(CAT_PROJECT, cat_find("progress_pct")->index);
	project_ds.ready = 1;
}

static void derive_project(double *row, const struct plan *plan, int64_t t, int64_t last_report)
{
	double pv = plan_pv(plan, t), ev = row[project_ds.progress];
	row[project_ds.planned] = pv;
	row[project_ds.spi] = (isnan(ev) || isnan(pv) || pv <= 0) ? NAN : ev / pv;
	row[project_ds.days] = last_report > 0 && t >= last_report ? floor((double)(t - last_report) / 86400) : NAN;
}

void rrdw_leaf_rows(const struct rrdw_file *f, const struct plan *plan, int64_t from, size_t n,
		    double *values, int64_t *last_report)
{
	size_t n_ds = cat_layout(f->layout)->n_ds, next = 0;
	double held[CAT_MAX_DS];
	memcpy(held, f->held, sizeof held);
	int64_t report = f->last_report_ts;
	if (f->layout == CAT_PROJECT)
		find_project_ds();
	for (size_t r = 0; r < n; r++) {
		int64_t t = from + (int64_t)(r + 1) * RRDFILE_STEP;
		for (; next < f->n_changes && f->changes[next].ts <= t; next++) {
			held[f->changes[next].ds] = f->changes[next].value;
			if (f->changes[next].ts > report)
				report = f->changes[next].ts;
		}
		double *row = values + r * n_ds;
		memcpy(row, held, n_ds * sizeof *row);
		if (f->layout == CAT_PROJECT)
			derive_project(row, plan, t, report);
	}
	if (last_report)
		*last_report = report;
}

void rrdw_acc_init(struct rrdw_acc *acc, size_t n_steps)
{
	size_t cells = n_steps * CAT_MAX_DS;
	acc->n_steps = n_steps;
	acc->sum = xcalloc(cells, sizeof *acc->sum);
	acc->weight = xcalloc(cells, sizeof *acc->weight);
	acc->count = xcalloc(cells, sizeof *acc->count);
}

void rrdw_acc_free(struct rrdw_acc *acc)
{
	free(acc->sum);
	free(acc->weight);
	free(acc->count);
	memset(acc, 0, sizeof *acc);
}

/* Region data sources fed by projects, in catalog terms. */
enum { P_TOTAL, P_STARTED, P_COMPLETED, P_BUDGET, P_EV, P_PV, P_SPI, P_ALLOC, P_PAID, P_BENEF, P_N };
static int region_ds[P_N];
static int project_src[P_N]; /* project data source feeding it, or -1 */

static void find_region_ds(void)
{
	static int ready;
	if (ready)
		return;
	static const char *const names[P_N] = {"proj_total", "proj_started", "proj_completed",
		"proj_budget_fen", "proj_ev_fen", "proj_pv_fen", "proj_spi", "proj_alloc_fen",
		"proj_paid_fen", "proj_benef_hh"};
	static const char *const sources[P_N] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		"alloc_fen", "paid_fen", "benef_hh"};
	for (int i = 0; i < P_N; i++) {
		region_ds[i] = cat_ds_index(CAT_REGION, cat_find(names[i])->index);
		project_src[i] = sources[i] ? cat_ds_index(CAT_PROJECT, cat_find(sources[i])->index) : -1;
	}
	ready = 1;
}

static void acc_put(struct rrdw_acc *acc, size_t step, int ds, double v, double w)
{
	if (isnan(v) || isnan(w))
		return;
	size_t cell = step * CAT_MAX_DS + (size_t)ds;
	acc->sum[cell] += v * w;
	acc->weight[cell] += w;
	acc->count[cell]++;
}

void rrdw_acc_add(struct rrdw_acc *acc, const struct rrdw_file *leaf, const double *rows)
{
	const struct cat_layout *l = cat_layout(leaf->layout);
	find_region_ds();
	if (leaf->layout == CAT_PROJECT)
		find_project_ds();
	for (size_t s = 0; s < acc->n_steps; s++) {
		const double *row = rows + s * l->n_ds;
		if (leaf->layout == CAT_VILLAGE) {
			/* Region files start with the village data sources, in the same order. */
			for (size_t d = 0; d < l->n_ds; d++) {
				const struct cat_metric *m = cat_metric(l->metric[d]);
				if (m->rollup == CAT_ROLLUP_SUM)
					acc_put(acc, s, (int)d, row[d], 1);
				else if (m->rollup == CAT_ROLLUP_WEIGHTED)
					acc_put(acc, s, (int)d, row[d], row[cat_ds_index(CAT_VILLAGE, m->weight_metric)]);
			}
			continue;
		}
		double progress = row[project_ds.progress], planned = row[project_ds.planned];
		acc_put(acc, s, region_ds[P_TOTAL], 1, 1);
		acc_put(acc, s, region_ds[P_STARTED], leaf->stage >= 2, 1);
		acc_put(acc, s, region_ds[P_COMPLETED], leaf->stage >= 3, 1);
		acc_put(acc, s, region_ds[P_BUDGET], leaf->invest_fen, 1);
		acc_put(acc, s, region_ds[P_EV], isnan(progress) ? 0 : progress / 100 * leaf->invest_fen, 1);
		acc_put(acc, s, region_ds[P_PV], isnan(planned) ? 0 : planned / 100 * leaf->invest_fen, 1);
		for (int i = P_ALLOC; i < P_N; i++)
			acc_put(acc, s, region_ds[i], row[project_src[i]], 1);
	}
}

void rrdw_acc_rows(const struct rrdw_acc *acc, double *values)
{
	const struct cat_layout *l = cat_layout(CAT_REGION);
	find_region_ds();
	for (size_t s = 0; s < acc->n_steps; s++) {
		double *row = values + s * l->n_ds;
		for (size_t d = 0; d < l->n_ds; d++) {
			size_t cell = s * CAT_MAX_DS + d;
			const struct cat_metric *m = cat_metric(l->metric[d]);
			if (m->entity == CAT_REGION)
				row[d] = acc->sum[cell]; /* counts and sums of projects: 0 when none */
			else if (!acc->count[cell] || (m->rollup == CAT_ROLLUP_WEIGHTED && acc->weight[cell] <= 0))
				row[d] = NAN;
			else
				row[d] = m->rollup == CAT_ROLLUP_WEIGHTED ? acc->sum[cell] / acc->weight[cell]
									   : acc->sum[cell];
		}
		double ev = row[region_ds[P_EV]], pv = row[region_ds[P_PV]];
		row[region_ds[P_SPI]] = pv > 0 ? ev / pv : NAN;
	}
}

/*
 * plan: loading milestone plans in one ordered query and evaluating them.
 * Dates are turned into instants at the start of the day in Asia/Shanghai.
 */
#include "plan.h"

#include "cst.h"
#include "db.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t date_ts(const unsigned char *text)
{
	int64_t day;
	const char *why;
	if (!text || cst_date_parse((const char *)text, &day, &why) < 0)
		return INT64_MIN;
	return cst_day_start(day);
}

static void add_point(struct plan *p, size_t *cap, int64_t ts, double pct)
{
	if (p->n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		p->points = xreallocarray(p->points, *cap, sizeof *p->points);
	}
	p->points[p->n++] = (struct plan_point){ts, pct};
}

/* Turn (date, weight) rows into a cumulative curve ending at 100. */
static void finish_plan(struct plan *p, int64_t start_ts, int64_t end_ts, double total_weight)
{
	if (p->n == 0) {
		if (start_ts != INT64_MIN && end_ts != INT64_MIN && end_ts > start_ts) {
			size_t cap = 0;
			add_point(p, &cap, start_ts, 0);
			add_point(p, &cap, end_ts, 100);
		}
		return;
	}
	double sum = 0;
	for (size_t i = 0; i < p->n; i++) {
		sum += p->points[i].pct;
		p->points[i].pct = total_weight > 0 ? sum / total_weight * 100 : 0;
	}
	if (start_ts != INT64_MIN && start_ts < p->points[0].ts) {
		size_t cap = p->n;
		add_point(p, &cap, 0, 0);
		memmove(p->points + 1, p->points, (p->n - 1) * sizeof *p->points);
		p->points[0] = (struct plan_point){start_ts, 0};
	}
}

int plan_load(sqlite3 *db, struct plan_set *set)
{
	memset(set, 0, sizeof *set);
	sqlite3_stmt *st = db_prepare(db,
		"SELECT p.entity_id, p.start_date, p.planned_end, m.planned_date, m.weight,"
		" sum(m.weight) OVER (PARTITION BY p.entity_id)"
		" FROM project p LEFT JOIN milestone m ON m.project_id = p.entity_id"
		" ORDER BY p.entity_id, m.planned_date");
	size_t cap = 0, pcap = 0;
	struct plan *cur = NULL;
	int64_t start_ts = 0, end_ts = 0;
	double total = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (!cur || cur->entity_id != id) {
			if (cur)
				finish_plan(cur, start_ts, end_ts, total);
			if (set->n == cap) {
				cap = cap ? cap * 2 : 256;
				set->plans = xreallocarray(set->plans, cap, sizeof *set->plans);
			}
			cur = &set->plans[set->n++];
			memset(cur, 0, sizeof *cur);
			cur->entity_id = id;
			pcap = 0;
			start_ts = date_ts(sqlite3_column_text(st, 1));
			end_ts = date_ts(sqlite3_column_text(st, 2));
			total = sqlite3_column_double(st, 5);
		}
		int64_t ts = date_ts(sqlite3_column_text(st, 3));
		if (ts != INT64_MIN)
			add_point(cur, &pcap, ts, sqlite3_column_double(st, 4)); /* weight for now */
	}
	if (cur)
		finish_plan(cur, start_ts, end_ts, total);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

void plan_set_free(struct plan_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->plans[i].points);
	free(set->plans);
	memset(set, 0, sizeof *set);
}

const struct plan *plan_find(const struct plan_set *set, int64_t entity_id)
{
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (set->plans[mid].entity_id < entity_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->n && set->plans[lo].entity_id == entity_id ? &set->plans[lo] : NULL;
}

double plan_pv(const struct plan *plan, int64_t t)
{
	if (!plan || plan->n == 0)
		return NAN;
	const struct plan_point *p = plan->points;
	if (t <= p[0].ts)
		return t < p[0].ts && plan->n > 1 ? 0 : p[0].pct;
	for (size_t i = 1; i < plan->n; i++)
		if (t < p[i].ts) {
			double span = (double)(p[i].ts - p[i - 1].ts);
			double frac = span > 0 ? (double)(t - p[i - 1].ts) / span : 1;
			return p[i - 1].pct + frac * (p[i].pct - p[i - 1].pct);
		}
	return p[plan->n - 1].pct;
}

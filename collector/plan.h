/*
 * plan: the planned-progress curve (PV, %) of every industry project, from
 * its milestone plan: cumulative milestone weights reached on their planned
 * dates, linear in between, 0 at the start date. Without milestones the
 * curve runs straight from start date (0) to planned end (100). Used for
 * SPI = EV / PV by the RRD writer now and by the alert rules later.
 */
#ifndef PLAN_H
#define PLAN_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct plan_point {
	int64_t ts;   /* Unix time (00:00 Asia/Shanghai of the planned date) */
	double pct;   /* cumulative planned progress at that moment */
};

struct plan {
	int64_t entity_id;
	size_t n;
	struct plan_point *points; /* ascending ts */
};

struct plan_set {
	size_t n;
	struct plan *plans;        /* ascending entity_id */
};

int plan_load(sqlite3 *db, struct plan_set *set);
void plan_set_free(struct plan_set *set);
const struct plan *plan_find(const struct plan_set *set, int64_t entity_id);
/* Planned progress at time t; NAN when the project has no usable plan. */
double plan_pv(const struct plan *plan, int64_t t);

#endif

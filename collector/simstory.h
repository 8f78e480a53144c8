/*
 * simstory: the demo county's story as ingest messages. A simulated clock
 * (speed x real time, zero at the start of the run) drives village trends,
 * project progress, card-payment batches with their bank results and the
 * scripted trouble; every timestamp sent is the real time of sending. The
 * story is a function of the generator's county, the seed and the clock, so
 * a presenter can predict it (simstory_print_schedule) and a re-run repeats it.
 */
#ifndef SIMSTORY_H
#define SIMSTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "demogen.h"

enum simstory_kind {
	SIMSTORY_SAMPLES,
	SIMSTORY_PAYMENT_BATCH,
	SIMSTORY_PAYMENT_RESULTS,
	SIMSTORY_PROGRESS,
	SIMSTORY_MILESTONES,
	SIMSTORY_KINDS
};

extern const char *const simstory_kind_names[SIMSTORY_KINDS]; /* as in a token's kinds */
extern const char *const simstory_paths[SIMSTORY_KINDS];      /* /api/v1/ingest/... */

#define SIMSTORY_MAX_ITEMS 5000     /* items per request: big enough to be cheap, small enough to retry */

/* One finished request body; `what` says which part of the story it tells. */
typedef void simstory_send_fn(void *arg, enum simstory_kind kind, const char *body, size_t len, const char *what);

struct simstory_options {
	double speed;               /* simulated seconds per real second */
	double start;               /* real Unix time of simulated time 0 */
	const char *run_id;         /* short [A-Za-z0-9]: batch ids and payment numbers unique per run */
	bool send_plans;            /* send the milestone plans first (a registry imported by hand has none) */
};

struct simstory *simstory_new(const struct demogen *g, const struct simstory_options *opt);
void simstory_free(struct simstory *s);

/*
 * Send everything due up to real time `now` (Unix seconds), in story order,
 * through `send`. Returns the real seconds until something is due again.
 */
double simstory_advance(struct simstory *s, double now, simstory_send_fn *send, void *arg);

/*
 * The schedule, for printing it (simulated days from the start of a month
 * cycle or a season; the table in simstory.c says what happens when).
 */
#define SIMSTORY_MONTH_DAYS 30
#define SIMSTORY_SEASON_DAYS 90
#define SIMSTORY_FALL_BEHIND_DAYS 10  /* before a season (not the first): the catch-up project slips */
#define SIMSTORY_ROLE_FROM 1          /* catching up and the stall begin */
#define SIMSTORY_CATCH_UP_TO 9        /* back on schedule */
#define SIMSTORY_STALL_TO 66          /* 65 days: past the 60-day stall rule */
#define SIMSTORY_SILENT_FROM 5
#define SIMSTORY_SILENT_TO 45         /* 40 days: past the 35-day silence rule */
/* Month-cycle event i in words; false past the last one. */
bool simstory_pay_event(size_t i, double *at, char *batch, const struct demogen_fund **fund, const char **step,
			const char **note);
/* Who plays a season's roles: a project index, a township's region index; SIZE_MAX for nobody. */
size_t simstory_role_project(const struct simstory *s, size_t season, bool stall);
size_t simstory_silent_township(const struct simstory *s, size_t season);
/* Report periods (simulated seconds) and the calendar month of month cycle 0. */
void simstory_periods(const struct simstory *s, double *village, double *project, int *year, int *month);

/*
 * For load generation, from any thread: the village metrics that depend only
 * on the village and the day, and their values. `day` counts days since the
 * generator's anchor day on the simulated clock (simstory_trend_day).
 */
#define SIMSTORY_LOAD_METRICS 15
#define SIMSTORY_VILLAGE_METRICS 20
extern const char *const simstory_village_metrics[]; /* all a village reports; the first SIMSTORY_LOAD_METRICS are stateless */
size_t simstory_village_count(const struct simstory *s);
const char *simstory_village_code(const struct simstory *s, size_t village);
double simstory_trend_day(const struct simstory *s, double now);
/* The value as sent: formatted into buf (integers without a decimal point). */
void simstory_load_value(const struct simstory *s, size_t village, size_t metric, double day, char *buf, size_t cap);

#endif

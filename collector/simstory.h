/*
 * simstory: the demo county's story as ingest messages. A simulated clock
 * (speed x real time, zero at the start of the run) drives village trends,
 * project progress, card-payment batches with their bank results and the
 * scripted trouble. Before the run, an optional opening act (the county's
 * last 70 days, at real speed with past timestamps) leaves every scripted
 * trouble true on the real clock, so day-scale alerts fire at once; the
 * live run then answers them on a schedule a presenter can predict
 * (simstory_print_schedule in fpmsim). Deterministic from the seed, and
 * payment numbers from the period, so a restart pays nobody twice.
 */
#ifndef SIMSTORY_H
#define SIMSTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "demogen.h"
#include "simhttp.h"

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
	const char *run_id;         /* short [A-Za-z0-9]: request batch_ids unique per run */
	bool send_plans;            /* send the milestone plans first (a registry imported by hand has none) */
	double payments;            /* card payments per month cycle; 0: the story's own (~2 per village) */
};

struct simstory *simstory_new(const struct demogen *g, const struct simstory_options *opt);
void simstory_free(struct simstory *s);

/*
 * The opening act. simstory_history_probe writes a one-sample message whose
 * batch_id is fixed for the county: a server that answers it "replayed" has
 * had the opening act already. simstory_history sends the county's last
 * SIMSTORY_HISTORY_DAYS before the start (call it before the first advance);
 * the live run then plays the opening's answers and its season-0 trouble.
 */
#define SIMSTORY_HISTORY_DAYS 70
void simstory_history_probe(struct simstory *s, struct simhttp_buf *body);
void simstory_history(struct simstory *s, simstory_send_fn *send, void *arg);
/* The server had the opening act before (its probe was replayed): its months are part of the allocations. */
void simstory_set_history_known(struct simstory *s);
/* Simulated time 0 at real time `start` (after the opening act, which took its own time to send). */
void simstory_set_start(struct simstory *s, double start);

/*
 * Send everything due up to real time `now` (Unix seconds), in story order,
 * through `send`. Returns the real seconds until something is due again.
 */
double simstory_advance(struct simstory *s, double now, simstory_send_fn *send, void *arg);

/* The schedule, for printing it (simulated times from the run start). */
#define SIMSTORY_MONTH_DAYS 30
#define SIMSTORY_SEASON_DAYS 90
#define SIMSTORY_FALL_BEHIND_DAYS 10  /* before a season (not the first): the catch-up project slips */
#define SIMSTORY_ROLE_FROM 1          /* catching up and the stall begin */
#define SIMSTORY_CATCH_UP_TO 9        /* back on schedule */
#define SIMSTORY_STALL_TO 66          /* 65 days: past the 60-day stall rule */
#define SIMSTORY_SILENT_FROM 5
#define SIMSTORY_SILENT_TO 45         /* 40 days: past the 35-day silence rule */
/* Season 0 after an opening act: its trouble began in the past and ends early in the run. */
#define SIMSTORY_OPEN_STALL_FROM (-65)
#define SIMSTORY_OPEN_STALL_TO 1.5
#define SIMSTORY_OPEN_SILENT_FROM (-40)
#define SIMSTORY_OPEN_SILENT_TO 1
#define SIMSTORY_DELAY_FROM (-40)     /* the delayed project's extra allocation */
#define SIMSTORY_DELAY_PAID 2         /* ... paid out (after an opening act) */
#define SIMSTORY_RECOVER_DAYS 6       /* a stalled project back on plan after its restart */

/* Month-cycle event i in words; false past the last one. */
bool simstory_pay_event(size_t i, double *at, char *batch, const struct demogen_fund **fund, const char **step,
			const char **note);
/* Opening-act event i: when (simulated seconds from the start; < 0 before it) and what; false past the last. */
bool simstory_opening_event(const struct simstory *s, size_t i, double *at, char *what, size_t cap);
/* Who plays a season's roles: a project index, a township's region index; SIZE_MAX for nobody. */
size_t simstory_role_project(const struct simstory *s, size_t season, bool stall);
size_t simstory_silent_township(const struct simstory *s, size_t season);
/* The opening act's money roles (project indices, SIZE_MAX for nobody). */
size_t simstory_idle_project(const struct simstory *s);
size_t simstory_delayed_project(const struct simstory *s);
/* Report periods (simulated seconds) and the calendar month of month cycle 0. */
void simstory_periods(const struct simstory *s, double *village, double *project, int *year, int *month);
/*
 * The entities each alert rule should name after the opening act, as one
 * JSON object {rule: [keys]} written to `out` (for tests and presenters).
 */
void simstory_write_roles(const struct simstory *s, FILE *out);

/*
 * For load generation, from any thread: the village metrics that depend only
 * on the village and the day, and their values. `day` counts days since the
 * generator's anchor day on the simulated clock (simstory_trend_day).
 */
#define SIMSTORY_LOAD_METRICS 14
#define SIMSTORY_VILLAGE_METRICS 20
extern const char *const simstory_village_metrics[]; /* all a village reports; the first SIMSTORY_LOAD_METRICS are stateless */
size_t simstory_village_count(const struct simstory *s);
const char *simstory_village_code(const struct simstory *s, size_t village);
double simstory_trend_day(const struct simstory *s, double now);
/* The value as sent: formatted into buf (integers without a decimal point). */
void simstory_load_value(const struct simstory *s, size_t village, size_t metric, double day, char *buf, size_t cap);

#endif

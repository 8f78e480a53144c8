/*
 * simstory_int: what the story's files share. simstory.c keeps the clock,
 * the roles, the villages and the projects; simstory_pay.c the card
 * payments and the allocations they pay out; simstory_open.c the opening
 * act (the county's recent past, sent with past timestamps).
 */
#ifndef SIMSTORY_INT_H
#define SIMSTORY_INT_H

#include "simstory.h"

#define HOUR 3600.0
#define DAY 86400.0
#define MONTH (SIMSTORY_MONTH_DAYS * DAY)
#define SEASON (SIMSTORY_SEASON_DAYS * DAY)

enum { PAY_A, PAY_B, PAY_C, PAY_D, PAY_E, PAY_BATCHES };
enum pay_step { SUBMIT, RESULTS, REISSUE, REISSUE_RESULTS };

struct payment {
	uint32_t region;            /* the village */
	uint16_t household;
	int8_t reason;              /* index in demogen_reasons when the bank fails it; -1 paid */
	uint8_t amount_step;
};

struct pay_batch {
	struct payment *items;
	size_t count, cap;
	int period;                 /* year * 12 + month - 1 it pays for */
	int letter;                 /* PAY_A ... */
};

struct village_state {
	uint32_t region, township;  /* indices in the generator's regions */
	uint16_t unstable, marginal, sudden;
	uint32_t removed;
	int32_t stepped_day;        /* monitoring state as of this trend day */
	double next_report;         /* simulated seconds since the run start */
	double stagger;             /* (0, 1]: where in the period this village reports */
};

struct project_state {
	double progress;            /* last reported; -1 before the first report */
	int64_t completed_day;      /* CST day it reached 100 %; -1 */
	uint8_t done;               /* bit per milestone known done */
	double next_report;
};

struct simstory {
	const struct demogen *g;
	struct simstory_options opt;
	char run[24];
	unsigned long long seq;     /* requests sent: the batch_id counter */
	struct village_state *villages;
	size_t village_count;
	size_t *townships, township_count;
	uint8_t *has_projects;      /* per region: a township holding projects */
	size_t *project_township;   /* per project: region index of its township */
	struct project_state *projects;
	uint8_t *lagging;           /* per project: generated behind schedule */
	size_t idle_project, delayed_project;
	size_t month, next_event;   /* the next live payment event */
	size_t next_answer;         /* the next answer to the opening act's trouble */
	struct pay_batch batches[PAY_BATCHES], opening[PAY_BATCHES];
	int base_period;            /* year * 12 + month - 1 of month cycle 0 */
	double pay_scale;           /* payments per village and batch, times the story's own */
	bool started, opening_played;
	bool history_known;         /* the server had the opening act in an earlier run */
	double news_e;              /* simulated time of the last advance: news after it is due */
	struct simhttp_buf body;
	double village_period, project_period;
	simstory_send_fn *send;
	void *send_arg;
};

/* Real Unix time of simulated time e: the past at real speed, the run at its speed. */
double simstory_real(const struct simstory *s, double e);
/* The season-0 trouble began before the start: only when this run played the opening act. */
bool simstory_township_silent(const struct simstory *s, size_t township, double e);

/* Not yet completed on day `today` (CST day number), as the generator's progress model says. */
bool simstory_project_open(const struct demogen *g, size_t p, int64_t today);

/* Request bodies: a fresh batch_id each time, reused only by the client's retries. */
void simstory_begin_envelope(struct simstory *s);
void simstory_begin(struct simstory *s, const char *array);
void simstory_item_separator(struct simstory *s);
void simstory_finish(struct simstory *s, enum simstory_kind kind, const char *what);

/* Villages and projects (simstory.c): one report at simulated time e, stamped ts. */
void simstory_village_report(struct simstory *s, size_t i, double e, double ts, bool baseline);
void simstory_project_report(struct simstory *s, size_t p, double e, double ts, struct simhttp_buf *milestones,
			     size_t *milestone_items);
void simstory_flush_projects(struct simstory *s, size_t *in_batch, struct simhttp_buf *milestones,
			     size_t *milestone_items);

/* Payments (simstory_pay.c). */
void simstory_pay_init(struct simstory *s);
/* Cumulative card-subsidy money allocated to village i up to simulated time e (fen). */
double simstory_village_alloc(const struct simstory *s, size_t i, double e);
/* Live month cycles and the opening's answers due up to e; the simulated time of the next one. */
double simstory_pay_advance(struct simstory *s, double e, double now);
/* The opening act's payments, in the order the office and the bank would have sent them. */
void simstory_pay_history(struct simstory *s);
/* Answers to the opening's payment trouble, for the printed schedule. */
bool simstory_pay_answer(size_t i, double *at, char *what, size_t cap);
/* The opening's payment trouble by rule, as JSON fragments ("rule":[...]). */
void simstory_pay_roles(const struct simstory *s, FILE *out);
void simstory_pay_free(struct simstory *s);

#endif

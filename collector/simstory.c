/*
 * simstory: the story engine. Three clocks meet here: the real clock stamps
 * every message and drives planned progress (the server computes PV and SPI
 * from real time, so progress must follow the same plan for SPI to mean
 * anything); simulated time since the run start drives the payments and the
 * trouble; simulated time since the generator's anchor day drives the slow
 * village trends, so a real-time run restarted tomorrow continues the county.
 */
/*
 * The schedule in simulated time from the run start (fpmsim prints it with
 * the names and real times at its speed):
 *   always: villages report their metrics every hour (at most once a real
 *     minute), projects report progress every 3 days (at most twice a real minute)
 *   month cycle m (every 30 days), payments for period start month + m:
 *     0d 02:00  A 公益岗位补贴 (县人社局)  results 0d 08:00: 3 failed, one per reason
 *     0d 10:00  B 产业奖补 (县农业农村局)  results 0d 16:00: 2 failed (账户冻结, 户名不符)
 *     1d 09:00  C 教育资助 (县教育局)      results only 2d 15:00, 30 h late; 1 failed (卡已注销)
 *     2d 09:00  D 生态护林员补助 (县林业局) results 2d 13:00, all paid
 *     2d 18:00  A's failures reissued (within 3 days)     paid 3d 10:00
 *     3d 09:00  C's failure reissued to a new card        paid 3d 15:00
 *     4d 10:00  E 产业奖补 by 县扶贫办 with 3 households B paid in the same period:
 *               the duplicate subsidy                     paid 4d 16:00
 *     6d 10:00  B's failures reissued late (after 3 days) paid 7d 09:00
 *   season q (every 90 days), roles taken in turn by the projects generated behind:
 *     -10d..1d  (q > 0) the catch-up project slips to 86 % of plan (SPI 0.86)
 *     1d..9d    the catch-up project climbs to 101 % of plan, finishing its overdue milestone
 *     1d..66d   the stalled project: progress frozen (停工待料) while the plan grows
 *     5d..45d   one township (never the county seat) stops reporting: 40 silent days
 */
#include "simstory.h"

#include "cst.h"
#include "simhttp.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOUR 3600.0
#define DAY 86400.0
#define MONTH (SIMSTORY_MONTH_DAYS * DAY)
#define SEASON (SIMSTORY_SEASON_DAYS * DAY)

const char *const simstory_kind_names[SIMSTORY_KINDS] = { "samples", "payment_batches", "payment_results", "progress", "milestones" };
const char *const simstory_paths[SIMSTORY_KINDS] = {
	"/api/v1/ingest/samples", "/api/v1/ingest/payment-batch", "/api/v1/ingest/payment-results",
	"/api/v1/ingest/progress", "/api/v1/ingest/milestones",
};

enum village_metric {
	VM_POOR_HH, VM_POOR_PEOPLE, VM_EXITED_HH, VM_EXITED_PEOPLE, VM_POPULATION, VM_INCIDENCE, VM_INCOME,
	VM_DROPOUTS, VM_UNINSURED, VM_UNSAFE, VM_NO_WATER, VM_MIGRANT, VM_WELFARE, VM_TRAINEES, VM_FUNDS,
	VM_UNSTABLE, VM_MARGINAL, VM_SUDDEN, VM_REMOVED, VM_BELOW_LINE, VILLAGE_METRICS
};
_Static_assert(VILLAGE_METRICS == SIMSTORY_VILLAGE_METRICS && VM_FUNDS + 1 == SIMSTORY_LOAD_METRICS,
	       "simstory.h's counts follow the metric list: the stateless ones first");
const char *const simstory_village_metrics[VILLAGE_METRICS + 1] = {
	"poor_hh", "poor_people", "exited_hh", "exited_people", "population", "incidence_pct", "income_pc_yuan",
	"dropouts", "uninsured", "unsafe_houses", "no_water_hh", "migrant_workers", "welfare_jobs", "trainees",
	"funds_alloc_fen", "mon_unstable_hh", "mon_marginal_hh", "mon_sudden_hh", "mon_removed_hh", "below_line_hh",
	NULL,
};

enum { PAY_A, PAY_B, PAY_C, PAY_D, PAY_E, PAY_BATCHES };
static const struct {
	uint8_t fund, share, per_village, failures; /* one village in `share` gets 1..per_village payments */
	uint8_t first_reason;                       /* failures take demogen_reasons from here on */
} pay_plans[PAY_BATCHES] = {
	[PAY_A] = { DEMOGEN_FUND_WELFARE_JOB, 3, 3, 3, 0 }, [PAY_B] = { DEMOGEN_FUND_INDUSTRY, 2, 2, 2, 2 },
	[PAY_C] = { DEMOGEN_FUND_EDUCATION, 4, 1, 1, 1 }, [PAY_D] = { DEMOGEN_FUND_FORESTER, 5, 1, 0, 0 },
	[PAY_E] = { DEMOGEN_FUND_INDUSTRY_OFFICE, 10, 1, 0, 0 },
};
enum pay_step { SUBMIT, RESULTS, REISSUE, REISSUE_RESULTS };
static const char *const step_names[] = { "batch", "bank results", "reissue", "reissue results" };
static const struct pay_event {
	double at;
	uint8_t step, batch;
	const char *note;
} pay_events[] = {
	{ 2 * HOUR, SUBMIT, PAY_A, "" }, { 8 * HOUR, RESULTS, PAY_A, "3 failed: one per reason" },
	{ 10 * HOUR, SUBMIT, PAY_B, "" }, { 16 * HOUR, RESULTS, PAY_B, "2 failed (账户冻结, 户名与身份证号不符)" },
	{ DAY + 9 * HOUR, SUBMIT, PAY_C, "the late bank: no results for 30 h" },
	{ 2 * DAY + 9 * HOUR, SUBMIT, PAY_D, "" }, { 2 * DAY + 13 * HOUR, RESULTS, PAY_D, "all paid" },
	{ 2 * DAY + 15 * HOUR, RESULTS, PAY_C, "30 h after the funds reached the bank; 1 failed (卡已注销)" },
	{ 2 * DAY + 18 * HOUR, REISSUE, PAY_A, "within the 3-day limit" },
	{ 3 * DAY + 9 * HOUR, REISSUE, PAY_C, "to a new card" },
	{ 3 * DAY + 10 * HOUR, REISSUE_RESULTS, PAY_A, "paid" }, { 3 * DAY + 15 * HOUR, REISSUE_RESULTS, PAY_C, "paid" },
	{ 4 * DAY + 10 * HOUR, SUBMIT, PAY_E, "incl. 3 households B paid: the duplicate subsidy" },
	{ 4 * DAY + 16 * HOUR, RESULTS, PAY_E, "all paid" },
	{ 6 * DAY + 10 * HOUR, REISSUE, PAY_B, "late: after the 3-day limit" },
	{ 7 * DAY + 9 * HOUR, REISSUE_RESULTS, PAY_B, "paid" },
};
#define PAY_EVENTS (sizeof pay_events / sizeof pay_events[0])

struct payment {
	uint32_t region;            /* the village */
	uint16_t household;
	int8_t reason;              /* index in demogen_reasons when the bank fails it; -1 paid */
	uint8_t amount_step;
};

struct pay_batch {
	struct payment *items;
	size_t count, cap;
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
	struct project_state *projects;
	uint8_t *lagging;           /* per project: generated behind schedule */
	size_t month, next_event;   /* the next payment event */
	struct pay_batch batches[PAY_BATCHES];
	int base_year, base_month;  /* calendar month of month cycle 0 */
	bool started;
	struct simhttp_buf body;
	double village_period, project_period;
	simstory_send_fn *send;
	void *send_arg;
};

/* ---- story roles ---- */

size_t simstory_role_project(const struct simstory *s, size_t season, bool stall)
{
	size_t n = s->g->lagging_count;
	return n == 0 || (stall && n < 2) ? SIZE_MAX : s->g->lagging[(2 * season + stall) % n];
}

size_t simstory_silent_township(const struct simstory *s, size_t season)
{
	if (s->township_count < 2) /* never the county seat (township 0): its feed is the county's own */
		return SIZE_MAX;
	return s->townships[1 + demogen_hash(s->g->params.seed, season + 7) % (s->township_count - 1)];
}

static bool village_silent(const struct simstory *s, const struct village_state *v, double e)
{
	size_t season = (size_t)(e / SEASON);
	double into = e - (double)season * SEASON;
	return into >= SIMSTORY_SILENT_FROM * DAY && into < SIMSTORY_SILENT_TO * DAY &&
	       v->township == simstory_silent_township(s, season);
}

/* Physical progress as a share of planned progress, with the catch-up arcs; *note says why it moved. */
static double progress_factor(const struct simstory *s, size_t p, double e, const char **note)
{
	double f = s->g->projects[p].perf_pct / 100.0;
	if (!s->lagging[p])
		return f;
	for (size_t q = 0; (double)q * SEASON <= e + SIMSTORY_FALL_BEHIND_DAYS * DAY; q++) {
		if (simstory_role_project(s, q, false) != p)
			continue;
		double t0 = (double)q * SEASON - SIMSTORY_FALL_BEHIND_DAYS * DAY, t1 = (double)q * SEASON + SIMSTORY_ROLE_FROM * DAY;
		double t2 = (double)q * SEASON + SIMSTORY_CATCH_UP_TO * DAY, from = f;
		if (q > 0 && e < t0)
			return f;
		if (q > 0 && e < t1) {
			*note = "雨季停工，进度滞后";
			return from + (0.86 - from) * (e - t0) / (t1 - t0);
		}
		if (q > 0)
			from = 0.86;
		else if (e < t1)
			return f;
		if (e < t2) {
			*note = "增加施工班组，加快进度";
			return from + (1.01 - from) * (e - t1) / (t2 - t1);
		}
		f = 1.01;
	}
	return f;
}

/*
 * The real moment whose plan the project has reached: now, less every stall
 * it has been through (a stall delays the whole plan, it does not skip work);
 * during a stall, the moment the stall began.
 */
static double plan_moment(const struct simstory *s, size_t p, double e, double now, const char **note)
{
	double delay = 0;
	for (size_t q = 0; (double)q * SEASON <= e; q++) {
		if (simstory_role_project(s, q, true) != p)
			continue;
		double from = (double)q * SEASON + SIMSTORY_ROLE_FROM * DAY, to = (double)q * SEASON + SIMSTORY_STALL_TO * DAY;
		if (e < from)
			break;
		if (e < to) {
			*note = "资金未到位，停工待料";
			return s->opt.start + from / s->opt.speed - delay;
		}
		delay += (to - from) / s->opt.speed;
	}
	return now - delay;
}

/* ---- request bodies ---- */

/* A new body up to its items' array; a fresh batch_id each time, reused only by the client's retries. */
static void begin_envelope(struct simstory *s)
{
	simhttp_buf_reset(&s->body);
	simhttp_buf_printf(&s->body, "{\"batch_id\":\"sim-%s-%llu\",", s->run, ++s->seq);
}

static void begin(struct simstory *s, const char *array)
{
	begin_envelope(s);
	simhttp_buf_printf(&s->body, "\"%s\":[", array);
}

static void item_separator(struct simstory *s)
{
	if (s->body.data[s->body.len - 1] != '[')
		simhttp_buf_add(&s->body, ",", 1);
}

static void finish(struct simstory *s, enum simstory_kind kind, const char *what)
{
	simhttp_buf_add(&s->body, "]}", 2);
	s->send(s->send_arg, kind, s->body.data, s->body.len, what);
}

/* ---- villages ---- */

static void step_monitoring(const struct simstory *s, struct village_state *v, size_t index, int32_t day)
{
	double base = s->g->regions[v->region].monitored_hh, p_new = base / 60;
	uint64_t h = demogen_hash(s->g->params.seed ^ 0x6d6f6eu, (uint64_t)index << 24 ^ (uint64_t)day);
	double u[4];
	for (int i = 0; i < 4; i++)
		u[i] = (double)((h >> (16 * i)) & 0xffff) / 65536;
	unsigned total = (unsigned)v->unstable + v->marginal + v->sudden;
	v->marginal += u[0] < p_new;
	v->sudden += u[1] < p_new / 3;
	v->unstable += u[2] < p_new / 2;
	/* removals balance arrivals around the baseline: total * 1.83 / 60 per day */
	if (total > 0 && u[3] < total * 1.83 / 60) {
		uint16_t *largest = v->marginal >= v->unstable && v->marginal >= v->sudden ? &v->marginal
				  : v->unstable >= v->sudden ? &v->unstable : &v->sudden;
		(*largest)--;
		v->removed++;
	}
	if ((h >> 60) == 0 && v->marginal > 0) { /* now and then an at-risk household meets sudden hardship */
		v->marginal--;
		v->sudden++;
	}
}

/* A village metric on trend day `day`; `v` NULL: the monitored counts at their baseline. */
static double village_value(const struct simstory *s, size_t index, int metric, double day,
			    const struct village_state *v)
{
	const struct demogen_region *r = &s->g->regions[v ? v->region : s->villages[index].region];
	double d = day > 0 ? day : 0, e0 = r->exited_pct / 100.0;
	double exited = e0 + (1 - e0) * fmin(1, d / 540); /* everyone out in a year and a half */
	double monitored = v ? (double)v->unstable + v->marginal + v->sudden : r->monitored_hh;
	switch (metric) {
	case VM_POOR_HH: return r->poor_hh;
	case VM_POOR_PEOPLE: return r->poor_people;
	case VM_EXITED_HH: return floor(r->poor_hh * exited);
	case VM_EXITED_PEOPLE: return floor(r->poor_people * exited);
	case VM_POPULATION: return r->population;
	case VM_INCIDENCE: return round((r->poor_people - floor(r->poor_people * exited)) * 10000.0 / r->population) / 100;
	case VM_INCOME: return round(r->income_yuan * (1 + 0.12 * d / 365));
	case VM_DROPOUTS: return demogen_hash(s->g->params.seed + index, (uint64_t)(d / 7)) % 40 == 0;
	case VM_UNINSURED: return floor(r->population * 0.003 * fmax(0.1, 1 - d / 365));
	case VM_UNSAFE: return floor(r->poor_hh * 0.04 * fmax(0, 1 - d / 300));
	case VM_NO_WATER: return floor(r->poor_hh * 0.03 * fmax(0, 1 - d / 240));
	case VM_MIGRANT: return floor(r->population * 0.18 * (1 + 0.1 * sin(2 * M_PI * d / 365)));
	case VM_WELFARE: return fmax(1, floor(r->poor_hh * 0.08));
	case VM_TRAINEES: return floor(r->poor_people * (0.15 + 0.0004 * d));
	case VM_FUNDS: return r->poor_hh * 300000.0 * (1 + floor(d / 30) * 0.1);
	case VM_UNSTABLE: return v ? v->unstable : floor(r->monitored_hh * 0.3);
	case VM_MARGINAL: return v ? v->marginal : r->monitored_hh - floor(r->monitored_hh * 0.3) - floor(r->monitored_hh * 0.1);
	case VM_SUDDEN: return v ? v->sudden : floor(r->monitored_hh * 0.1);
	case VM_REMOVED: return v ? v->removed : r->monitored_hh;
	default: return floor(monitored * 0.4); /* VM_BELOW_LINE */
	}
}

static void format_value(int metric, double value, char *buf, size_t cap)
{
	snprintf(buf, cap, metric == VM_INCIDENCE ? "%.2f" : "%.0f", value);
}

double simstory_trend_day(const struct simstory *s, double now)
{
	double sim = s->opt.start + (now - s->opt.start) * s->opt.speed;
	return (sim - (double)cst_day_start(s->g->params.anchor_day)) / DAY;
}

static double report_villages(struct simstory *s, double e, double now)
{
	double next = INFINITY, day = simstory_trend_day(s, now);
	size_t in_batch = 0;
	char value[32];
	for (size_t i = 0; i < s->village_count; i++) {
		struct village_state *v = &s->villages[i];
		if (v->next_report <= e) {
			v->next_report = e + s->village_period * (s->started ? 1 : v->stagger);
			if (village_silent(s, v, e))
				continue;
			while (v->stepped_day < (int32_t)floor(day))
				step_monitoring(s, v, i, ++v->stepped_day);
			if (in_batch == 0)
				begin(s, "samples");
			for (int m = 0; m < VILLAGE_METRICS; m++) {
				format_value(m, village_value(s, i, m, day, v), value, sizeof value);
				item_separator(s);
				simhttp_buf_printf(&s->body, "{\"entity\":\"%s\",\"metric\":\"%s\",\"ts\":%lld,\"value\":%s}",
						   s->g->regions[v->region].code, simstory_village_metrics[m], (long long)now, value);
			}
			in_batch += VILLAGE_METRICS;
			if (in_batch + VILLAGE_METRICS > SIMSTORY_MAX_ITEMS) {
				finish(s, SIMSTORY_SAMPLES, "village reports");
				in_batch = 0;
			}
		}
		next = fmin(next, v->next_report);
	}
	if (in_batch)
		finish(s, SIMSTORY_SAMPLES, "village reports");
	return next;
}

/* ---- projects ---- */

static void report_project(struct simstory *s, size_t p, double e, double now, struct simhttp_buf *milestones,
			   size_t *milestone_items)
{
	const struct demogen_project *gp = &s->g->projects[p];
	struct project_state *ps = &s->projects[p];
	const char *note = NULL;
	int64_t today = cst_day((int64_t)now);
	double f = progress_factor(s, p, e, &note);
	double target = fmin(100, floor(demogen_planned_pct(s->g, p, (int64_t)plan_moment(s, p, e, now, &note)) * f * 10) / 10);
	bool first = ps->progress < 0;
	double progress = first || target > ps->progress ? target : ps->progress;
	ps->progress = progress;
	if (progress >= 100 && ps->completed_day < 0) {
		/* a first report fills in history the way the generator wrote it: reached on its plan's day */
		int64_t reached = first ? demogen_reach_day(s->g, p, 100, gp->perf_pct) : today;
		ps->completed_day = reached >= 0 && reached <= today ? reached : today;
	}
	for (unsigned k = 0; k < gp->milestone_count; k++) {
		double cum = demogen_milestone_cum_pct(s->g, p, k);
		if ((ps->done >> k & 1) || progress < cum - 1e-9)
			continue;
		ps->done |= (uint8_t)(1u << k);
		int64_t reached = first ? demogen_reach_day(s->g, p, cum, gp->perf_pct) : today;
		char date[16];
		cst_date_format(reached >= 0 && reached <= today ? reached : today, date, sizeof date);
		simhttp_buf_printf(milestones, "%s{\"project\":\"%s\",\"name\":\"%s\",\"done_date\":\"%s\"}",
				   *milestone_items ? "," : "", gp->id, demogen_milestone_names[s->g->milestones[gp->first_milestone + k].name], date);
		++*milestone_items;
	}
	int stage = demogen_stage_for(gp, today, progress, ps->completed_day);
	int64_t invest = gp->invest_fen, months = ps->completed_day >= 0 ? (today - ps->completed_day) / 30 : 0;
	int64_t alloc = stage >= 2 ? invest : stage == 1 ? invest * 3 / 10 : 0;
	/* contractors are paid 40 % at the start, 50 % at basic completion, 10 % after acceptance */
	int64_t paid = stage >= 4 ? invest : progress >= 95 ? invest * 9 / 10 : stage >= 2 ? invest * 4 / 10 : 0;
	int64_t reimbursed = stage >= 6 ? invest : stage >= 3 ? invest * 9 / 10 : progress >= 30 ? invest * 4 / 10 : 0;
	bool pays_dividends = gp->category == DEMOGEN_PHOTOVOLTAIC || gp->category == DEMOGEN_BREEDING ||
			      gp->category == DEMOGEN_TOURISM;
	int64_t dividends = pays_dividends ? invest / 200 * months : 0;
	double reach = fmin(1, progress / 80);
	item_separator(s);
	simhttp_buf_printf(&s->body,
		"{\"project\":\"%s\",\"ts\":%lld,\"progress_pct\":%.1f,\"stage\":\"%s\",\"alloc_fen\":%lld,"
		"\"paid_fen\":%lld,\"reimbursed_fen\":%lld,\"dividends_fen\":%lld,\"benef_hh\":%.0f,"
		"\"benef_poor_hh\":%.0f,\"jobs\":%.0f",
		gp->id, (long long)now, progress, demogen_stage_keys[stage], (long long)alloc, (long long)paid,
		(long long)reimbursed, (long long)dividends, round(gp->households * reach),
		round(gp->poor_households * reach), stage >= 2 ? round(gp->jobs * fmin(1, 0.3 + progress / 100)) : 0.0);
	if (note)
		simhttp_buf_printf(&s->body, ",\"note\":\"%s\"", note);
	simhttp_buf_add(&s->body, "}", 1);
}

static double report_projects(struct simstory *s, double e, double now)
{
	double next = INFINITY;
	size_t in_batch = 0, milestone_items = 0;
	struct simhttp_buf milestones = { 0 };
	for (size_t p = 0; p < s->g->project_count; p++) {
		struct project_state *ps = &s->projects[p];
		if (ps->next_report <= e) {
			double stagger = (double)(demogen_hash(s->g->params.seed, p) % 1000 + 1) / 1000;
			ps->next_report = e + s->project_period * (s->started ? 1 : stagger);
			if (in_batch++ == 0)
				begin(s, "reports");
			report_project(s, p, e, now, &milestones, &milestone_items);
		}
		next = fmin(next, ps->next_report);
		bool full = in_batch == SIMSTORY_MAX_ITEMS || milestone_items + DEMOGEN_MAX_MILESTONES > SIMSTORY_MAX_ITEMS;
		if (in_batch && (full || p + 1 == s->g->project_count)) {
			finish(s, SIMSTORY_PROGRESS, "progress reports");
			in_batch = 0;
			if (milestone_items) { /* after the reports that reached them */
				begin(s, "milestones");
				simhttp_buf_add(&s->body, milestones.data, milestones.len);
				finish(s, SIMSTORY_MILESTONES, "milestones done");
				simhttp_buf_reset(&milestones);
				milestone_items = 0;
			}
		}
	}
	simhttp_buf_free(&milestones);
	return next;
}

static void send_plans(struct simstory *s)
{
	for (size_t first = 0; first < s->g->project_count;) {
		size_t count = 0;
		while (first + count < s->g->project_count &&
		       demogen_milestone_items(s->g, first, count + 1) <= SIMSTORY_MAX_ITEMS)
			count++;
		char *text = NULL, batch_id[64];
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);
		snprintf(batch_id, sizeof batch_id, "sim-%s-%llu", s->run, ++s->seq);
		if (out && demogen_write_milestones_json(s->g, first, count, batch_id, out) == 0 && fclose(out) == 0)
			s->send(s->send_arg, SIMSTORY_MILESTONES, text, len, "milestone plans");
		else if (out)
			fclose(out);
		free(text);
		first += count;
	}
}

/* ---- payments ---- */

static uint64_t pay_hash(const struct simstory *s, size_t month, int batch, uint64_t what)
{
	return demogen_hash(demogen_hash(s->g->params.seed, month * 16 + (size_t)batch + 1000), what);
}

static void add_payment(struct pay_batch *b, struct payment p)
{
	if (b->count == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->items = xreallocarray(b->items, b->cap, sizeof *b->items);
	}
	b->items[b->count++] = p;
}

/* Who batch `batch` of month `month` pays; deterministic, skipping villages that are silent now. */
static void plan_batch(struct simstory *s, size_t month, int batch, double e)
{
	struct pay_batch *b = &s->batches[batch];
	b->count = 0;
	if (batch == PAY_E) /* the duplicates: households B paid this period, paid again by another department */
		for (size_t i = 0, copied = 0; i < s->batches[PAY_B].count && copied < 3; i++)
			if (s->batches[PAY_B].items[i].reason < 0) {
				add_payment(b, s->batches[PAY_B].items[i]);
				copied++;
			}
	for (size_t i = 0; i < s->village_count; i++) {
		const struct village_state *v = &s->villages[i];
		uint64_t h = pay_hash(s, month, batch, i);
		if (h % pay_plans[batch].share != 0 || village_silent(s, v, e) ||
		    (batch == PAY_E && pay_hash(s, month, PAY_B, i) % pay_plans[PAY_B].share == 0))
			continue;
		unsigned poor = s->g->regions[v->region].poor_hh, per = 1 + (unsigned)(h >> 8) % pay_plans[batch].per_village;
		for (unsigned j = 0; j < per && j < poor; j++)
			add_payment(b, (struct payment){ v->region, (uint16_t)(1 + ((h >> 16) % poor + j) % poor), -1,
							 (uint8_t)((h >> 40) % 4) });
	}
	for (unsigned f = 0; f < pay_plans[batch].failures && f < b->count; f++) {
		size_t at = pay_hash(s, month, batch, 0xfa11u + f) % b->count;
		while (b->items[at].reason >= 0)
			at = (at + 1) % b->count;
		b->items[at].reason = (int8_t)((f + pay_plans[batch].first_reason) % 3);
	}
}

/* Household n (1-based) of a village: its 户编号, and its masked card (a new card per version). */
static void household_id(const struct simstory *s, size_t village, unsigned n, char *out, size_t cap)
{
	snprintf(out, cap, "%s%04u", s->g->regions[village].code, n);
}

static void household_card(const struct simstory *s, size_t village, unsigned n, unsigned version, char *out, size_t cap)
{
	static const char *const banks[] = { "6217", "6228", "6221", "6230" }; /* 建行, 农行, 农信, 农商 */
	uint64_t h = demogen_hash(demogen_hash(s->g->params.seed, village), (uint64_t)n << 8 | version);
	snprintf(out, cap, "%s****%04u", banks[h % 4], (unsigned)(h >> 8) % 10000u);
}

static int64_t payment_amount(int batch, const struct payment *p)
{
	const struct demogen_fund *fund = &demogen_funds[pay_plans[batch].fund];
	/* industry awards vary with the household's plan: 2,000 to 5,000 yuan */
	return fund == &demogen_funds[DEMOGEN_FUND_INDUSTRY] || fund == &demogen_funds[DEMOGEN_FUND_INDUSTRY_OFFICE]
	       ? 100000 * (2 + p->amount_step) : fund->amount_fen;
}

/* One step of a batch: the office's payments or the bank's results, first or reissued, split to fit. */
static void send_step(struct simstory *s, size_t month, int batch, enum pay_step step, double now, const char *what)
{
	const struct demogen_fund *fund = &demogen_funds[pay_plans[batch].fund];
	const struct pay_batch *b = &s->batches[batch];
	bool reissue = step == REISSUE || step == REISSUE_RESULTS, results = step == RESULTS || step == REISSUE_RESULTS;
	int year = s->base_year + (s->base_month - 1 + (int)month) / 12, mon = (s->base_month - 1 + (int)month) % 12 + 1;
	char letter = (char)('A' + batch), number[64], household[32], card[32];
	size_t in_batch = 0;
	for (size_t i = 0; i < b->count; i++) {
		const struct payment *p = &b->items[i];
		if (reissue && p->reason < 0)
			continue;
		if (in_batch == 0 && results) {
			begin(s, "results");
		} else if (in_batch == 0) {
			begin_envelope(s);
			simhttp_buf_printf(&s->body, "\"batch\":{\"batch_no\":\"YKT-%s-%zu%c%s\",\"department\":\"%s\","
					   "\"fund_type\":\"%s\",\"period\":\"%04d-%02d\",\"submitted\":%lld,"
					   "\"funds_at_bank\":%lld},\"payments\":[", s->run, month, letter, reissue ? "R" : "",
					   fund->department, fund->fund_type, year, mon, (long long)now, (long long)now);
		}
		snprintf(number, sizeof number, "%s-%zu%c%s-%05zu", s->run, month, letter, reissue ? "R" : "", i);
		item_separator(s);
		if (results) {
			bool failed = !reissue && p->reason >= 0;
			simhttp_buf_printf(&s->body, "{\"payment_no\":\"%s\",\"status\":\"%s\",\"at\":%lld", number,
					   failed ? "failed" : "paid", (long long)now);
			if (failed)
				simhttp_buf_printf(&s->body, ",\"reason\":\"%s\"", demogen_reasons[p->reason]);
		} else {
			household_id(s, p->region, p->household, household, sizeof household);
			/* a closed card (卡已注销) is paid again to the household's new card */
			household_card(s, p->region, p->household, reissue && p->reason == 1, card, sizeof card);
			simhttp_buf_printf(&s->body, "{\"payment_no\":\"%s\",\"household\":\"%s\",\"card\":\"%s\","
					   "\"amount_fen\":%lld,\"village\":\"%s\"", number, household, card,
					   (long long)payment_amount(batch, p), s->g->regions[p->region].code);
			if (reissue)
				simhttp_buf_printf(&s->body, ",\"reissue_of\":\"%s-%zu%c-%05zu\"", s->run, month, letter, i);
		}
		simhttp_buf_add(&s->body, "}", 1);
		if (++in_batch == SIMSTORY_MAX_ITEMS) {
			finish(s, results ? SIMSTORY_PAYMENT_RESULTS : SIMSTORY_PAYMENT_BATCH, what);
			in_batch = 0;
		}
	}
	if (in_batch)
		finish(s, results ? SIMSTORY_PAYMENT_RESULTS : SIMSTORY_PAYMENT_BATCH, what);
}

static double event_time(size_t month, size_t event) { return (double)month * MONTH + pay_events[event].at; }

static void run_pay_event(struct simstory *s, size_t month, const struct pay_event *ev, double now)
{
	const struct demogen_fund *fund = &demogen_funds[pay_plans[ev->batch].fund];
	char what[160];
	snprintf(what, sizeof what, "month %zu %c %s %s (%s)", month, 'A' + ev->batch, fund->fund_type,
		 step_names[ev->step], fund->department);
	if (ev->step == SUBMIT)
		plan_batch(s, month, ev->batch, event_time(month, (size_t)(ev - pay_events)));
	send_step(s, month, ev->batch, ev->step, now, what);
}

/* ---- the run ---- */

struct simstory *simstory_new(const struct demogen *g, const struct simstory_options *opt)
{
	struct simstory *s = xcalloc(1, sizeof *s);
	s->g = g;
	s->opt = *opt;
	snprintf(s->run, sizeof s->run, "%s", opt->run_id);
	/* the periods, but never more often than the server's 300 s RRD step needs (or a person can follow) */
	s->village_period = fmax(HOUR, 60 * opt->speed);
	s->project_period = fmax(3 * DAY, 30 * opt->speed);
	s->villages = xcalloc(g->village_count + 1, sizeof *s->villages);
	s->townships = xcalloc(g->township_count + 1, sizeof *s->townships);
	int32_t anchor_offset = (int32_t)floor(simstory_trend_day(s, opt->start));
	for (size_t i = 0; i < g->region_count; i++) {
		const struct demogen_region *r = &g->regions[i];
		if (r->level == REGCODE_TOWNSHIP) {
			s->townships[s->township_count++] = i;
		} else if (r->level == REGCODE_VILLAGE) {
			struct village_state *v = &s->villages[s->village_count];
			*v = (struct village_state){ .region = (uint32_t)i, .township = (uint32_t)r->parent,
						     .removed = r->monitored_hh,
						     .stagger = (double)(demogen_hash(g->params.seed, i) % 1000 + 1) / 1000 };
			v->unstable = (uint16_t)village_value(s, s->village_count, VM_UNSTABLE, 0, NULL);
			v->marginal = (uint16_t)village_value(s, s->village_count, VM_MARGINAL, 0, NULL);
			v->sudden = (uint16_t)village_value(s, s->village_count, VM_SUDDEN, 0, NULL);
			s->village_count++;
			while (v->stepped_day < anchor_offset) /* the days between the anchor and this run */
				step_monitoring(s, v, s->village_count - 1, ++v->stepped_day);
		}
	}
	s->projects = xcalloc(g->project_count + 1, sizeof *s->projects);
	s->lagging = xcalloc(g->project_count + 1, 1);
	for (size_t p = 0; p < g->project_count; p++) {
		s->projects[p] = (struct project_state){ .progress = -1, .completed_day = -1 };
		for (unsigned k = 0; k < g->projects[p].milestone_count; k++)
			if (g->milestones[g->projects[p].first_milestone + k].done_day)
				s->projects[p].done |= (uint8_t)(1u << k);
	}
	for (size_t i = 0; i < g->lagging_count; i++)
		s->lagging[g->lagging[i]] = 1;
	char date[16];
	cst_date_format(cst_day((int64_t)opt->start), date, sizeof date);
	s->base_year = (int)strtol(date, NULL, 10);
	s->base_month = (int)strtol(date + 5, NULL, 10);
	return s;
}

void simstory_free(struct simstory *s)
{
	if (!s)
		return;
	for (int b = 0; b < PAY_BATCHES; b++)
		free(s->batches[b].items);
	simhttp_buf_free(&s->body);
	free(s->villages);
	free(s->townships);
	free(s->projects);
	free(s->lagging);
	free(s);
}

double simstory_advance(struct simstory *s, double now, simstory_send_fn *send, void *arg)
{
	s->send = send;
	s->send_arg = arg;
	double e = fmax(0, (now - s->opt.start) * s->opt.speed);
	if (!s->started && s->opt.send_plans)
		send_plans(s);
	while (event_time(s->month, s->next_event) <= e) {
		run_pay_event(s, s->month, &pay_events[s->next_event], now);
		if (++s->next_event == PAY_EVENTS) {
			s->next_event = 0;
			s->month++;
		}
	}
	double next = report_villages(s, e, now); /* villages first: argument order is unspecified in C */
	next = fmin(next, report_projects(s, e, now));
	s->started = true;
	next = fmin(next, event_time(s->month, s->next_event));
	return fmin(1, fmax(0.02, (next - e) / s->opt.speed));
}

size_t simstory_village_count(const struct simstory *s) { return s->village_count; }

const char *simstory_village_code(const struct simstory *s, size_t village)
{
	return s->g->regions[s->villages[village].region].code;
}

void simstory_load_value(const struct simstory *s, size_t village, size_t metric, double day, char *buf, size_t cap)
{
	format_value((int)metric, village_value(s, village, (int)metric, day, NULL), buf, cap);
}

bool simstory_pay_event(size_t i, double *at, char *batch, const struct demogen_fund **fund, const char **step,
			const char **note)
{
	if (i >= PAY_EVENTS)
		return false;
	*at = pay_events[i].at;
	*batch = (char)('A' + pay_events[i].batch);
	*fund = &demogen_funds[pay_plans[pay_events[i].batch].fund];
	*step = step_names[pay_events[i].step];
	*note = pay_events[i].note;
	return true;
}

void simstory_periods(const struct simstory *s, double *village, double *project, int *year, int *month)
{
	*village = s->village_period;
	*project = s->project_period;
	*year = s->base_year;
	*month = s->base_month;
}

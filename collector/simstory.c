/*
 * simstory: the story engine. Three clocks meet here: the real clock stamps
 * every message and drives planned progress (the server computes PV and SPI
 * from real time, so progress must follow the same plan for SPI to mean
 * anything); simulated time since the run start drives the payments and the
 * trouble (before the start it is real time: the opening act); simulated
 * time since the generator's anchor day drives the slow village trends, so a
 * real-time run restarted tomorrow continues the county.
 *
 * The schedule in simulated time from the run start (fpmsim prints it with
 * the names and real times at its speed; payments: simstory_pay.c):
 *   always: villages report their metrics every hour (at most once a real
 *     minute), projects report progress every 3 days (at most twice a real minute)
 *   season q (every 90 days), roles taken in turn by the projects generated behind:
 *     -10d..1d  (q > 0) the catch-up project slips to 86 % of plan (SPI 0.86)
 *     1d..9d    the catch-up project climbs to 101 % of plan, finishing its overdue milestone
 *     1d..66d   the stalled project: progress frozen (停工待料) while the plan grows,
 *               then back on plan within 6 days
 *     5d..45d   one township (never the county seat) stops reporting, villages and
 *               projects: 40 silent days
 *   season 0 after an opening act: the stall ran -65d..1.5d and the silence -40d..1d;
 *     the delayed project's extra allocation of -40d is paid at 2d; the idle
 *     project's advance (400 days back) stays idle until the project starts.
 *   household monitoring records (防返贫监测户 flagged at risk, for the 15-day
 *     monitoring-overdue rule) are not sent yet: see step_monitoring.
 */
#include "simstory_int.h"

#include "cst.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
_Static_assert(VILLAGE_METRICS == SIMSTORY_VILLAGE_METRICS && VM_FUNDS == SIMSTORY_LOAD_METRICS,
	       "simstory.h's counts follow the metric list: the stateless ones first, then the allocation");
const char *const simstory_village_metrics[VILLAGE_METRICS + 1] = {
	"poor_hh", "poor_people", "exited_hh", "exited_people", "population", "incidence_pct", "income_pc_yuan",
	"dropouts", "uninsured", "unsafe_houses", "no_water_hh", "migrant_workers", "welfare_jobs", "trainees",
	"funds_alloc_fen", "mon_unstable_hh", "mon_marginal_hh", "mon_sudden_hh", "mon_removed_hh", "below_line_hh",
	NULL,
};

enum { ROLE_NONE, ROLE_OPEN_PROJECTS, ROLE_TAKEN }; /* has_projects: what a township holds */

/* ---- clocks ---- */

double simstory_real(const struct simstory *s, double e)
{
	return s->opt.start + (e < 0 ? e : e / s->opt.speed);
}

static double trend_day_at(const struct simstory *s, double e)
{
	return (s->opt.start + e - (double)cst_day_start(s->g->params.anchor_day)) / DAY;
}

double simstory_trend_day(const struct simstory *s, double now)
{
	return trend_day_at(s, (now - s->opt.start) * s->opt.speed);
}

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
	size_t n = s->township_count - 1, h = (size_t)demogen_hash(s->g->params.seed, season + 7);
	/* one whose projects can fall silent too, and none of them playing another part */
	for (size_t k = 0; k < n; k++)
		if (s->has_projects[s->townships[1 + (h + k) % n]] == ROLE_OPEN_PROJECTS)
			return s->townships[1 + (h + k) % n];
	return s->townships[1 + h % n];
}

size_t simstory_idle_project(const struct simstory *s) { return s->idle_project; }
size_t simstory_delayed_project(const struct simstory *s) { return s->delayed_project; }

/* A season's window of simulated time; false when the season has none. */
static bool stall_window(const struct simstory *s, size_t q, double *from, double *to)
{
	if (q == 0 && !s->opening_played)
		return false;
	*from = q ? (double)q * SEASON + SIMSTORY_ROLE_FROM * DAY : SIMSTORY_OPEN_STALL_FROM * DAY;
	*to = q ? (double)q * SEASON + SIMSTORY_STALL_TO * DAY : SIMSTORY_OPEN_STALL_TO * DAY;
	return true;
}

bool simstory_township_silent(const struct simstory *s, size_t township, double e)
{
	for (size_t q = 0; (double)q * SEASON <= fmax(e, 0); q++) {
		if (q == 0 && !s->opening_played)
			continue;
		double from = q ? (double)q * SEASON + SIMSTORY_SILENT_FROM * DAY : SIMSTORY_OPEN_SILENT_FROM * DAY;
		double to = q ? (double)q * SEASON + SIMSTORY_SILENT_TO * DAY : SIMSTORY_OPEN_SILENT_TO * DAY;
		if (e >= from && e < to && township == simstory_silent_township(s, q))
			return true;
	}
	return false;
}

/*
 * Whether a story moment in (a, b] is news: the end of a township's silence
 * (for its villages and projects), of a project's stall or catch-up, the
 * delayed money paid. The entities concerned then report at once instead of
 * at their next period, so the alerts resolve when the schedule says.
 */
enum news_for { NEWS_ANY, NEWS_VILLAGE, NEWS_PROJECT };

static bool news_between(const struct simstory *s, enum news_for who, size_t township, size_t project, double a,
			 double b)
{
	for (size_t q = 0; (double)q * SEASON <= fmax(b, 0); q++) {
		double silence_end = q ? (double)q * SEASON + SIMSTORY_SILENT_TO * DAY : SIMSTORY_OPEN_SILENT_TO * DAY;
		double from, to, caught_up = (double)q * SEASON + SIMSTORY_CATCH_UP_TO * DAY;
		if ((q || s->opening_played) && a < silence_end && silence_end <= b &&
		    (who == NEWS_ANY || township == simstory_silent_township(s, q)))
			return true;
		if (who == NEWS_VILLAGE)
			continue;
		if (stall_window(s, q, &from, &to) && a < to && to <= b &&
		    (who == NEWS_ANY || simstory_role_project(s, q, true) == project))
			return true;
		if (a < caught_up && caught_up <= b && (who == NEWS_ANY || simstory_role_project(s, q, false) == project))
			return true;
	}
	double paid = SIMSTORY_DELAY_PAID * DAY;
	return who != NEWS_VILLAGE && s->opening_played && a < paid && paid <= b &&
	       (who == NEWS_ANY || project == s->delayed_project);
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

/* Progress (%) the project reports at simulated time e, real time now: the plan, a stall, the way back. */
static double project_target(const struct simstory *s, size_t p, double e, double now, const char **note)
{
	double f = progress_factor(s, p, e, note), on_plan = demogen_planned_pct(s->g, p, (int64_t)now) * f;
	for (size_t q = 0; (double)q * SEASON <= fmax(e, 0); q++) {
		double from, to, recover = SIMSTORY_RECOVER_DAYS * DAY;
		if (simstory_role_project(s, q, true) != p || !stall_window(s, q, &from, &to) || e < from ||
		    e >= to + recover)
			continue;
		double frozen = demogen_planned_pct(s->g, p, (int64_t)simstory_real(s, from)) * f;
		if (e < to) { /* the same figure in every report: what the stalled rule looks for */
			*note = "资金未到位，停工待料";
			return s->projects[p].progress >= 0 ? s->projects[p].progress : frozen;
		}
		*note = "复工，加快进度"; /* the restart's report already shows half a day's work */
		return frozen + (on_plan - frozen) * fmin(1, (e - to + DAY / 2) / recover);
	}
	return on_plan;
}

/* ---- request bodies ---- */

void simstory_begin_envelope(struct simstory *s)
{
	simhttp_buf_reset(&s->body);
	simhttp_buf_printf(&s->body, "{\"batch_id\":\"sim-%s-%llu\",", s->run, ++s->seq);
}

void simstory_begin(struct simstory *s, const char *array)
{
	simstory_begin_envelope(s);
	simhttp_buf_printf(&s->body, "\"%s\":[", array);
}

void simstory_item_separator(struct simstory *s)
{
	if (s->body.data[s->body.len - 1] != '[')
		simhttp_buf_add(&s->body, ",", 1);
}

void simstory_finish(struct simstory *s, enum simstory_kind kind, const char *what)
{
	simhttp_buf_add(&s->body, "]}", 2);
	s->send(s->send_arg, kind, s->body.data, s->body.len, what);
}

/* ---- villages ---- */

/*
 * One day of a village's monitored households (防返贫监测户). The households
 * flagged at risk here (new marginal and sudden-hardship cases) are where the
 * household monitoring records will come from once that ingest kind exists:
 * each flagged household then gets a record, most identified and helped
 * within days, one scripted case left waiting past the 15-day limit in the
 * opening act and helped early in the run, like the other trouble.
 */
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

/* A stateless village metric on trend day `day` (before the anchor: the trends run backwards). */
static double village_value(const struct simstory *s, size_t index, int metric, double day)
{
	const struct demogen_region *r = &s->g->regions[s->villages[index].region];
	double d = fmax(day, -365), e0 = r->exited_pct / 100.0;
	double exited = fmin(1, fmax(0, e0 + (1 - e0) * d / 540)); /* everyone out in a year and a half */
	switch (metric) {
	case VM_POOR_HH: return r->poor_hh;
	case VM_POOR_PEOPLE: return r->poor_people;
	case VM_EXITED_HH: return floor(r->poor_hh * exited);
	case VM_EXITED_PEOPLE: return floor(r->poor_people * exited);
	case VM_POPULATION: return r->population;
	case VM_INCIDENCE: return round((r->poor_people - floor(r->poor_people * exited)) * 10000.0 / r->population) / 100;
	case VM_INCOME: return round(r->income_yuan * (1 + 0.12 * d / 365));
	case VM_DROPOUTS: return demogen_hash(s->g->params.seed + index, (uint64_t)(int64_t)floor(d / 7)) % 40 == 0;
	case VM_UNINSURED: return floor(r->population * 0.003 * fmax(0.1, 1 - d / 365));
	case VM_UNSAFE: return floor(r->poor_hh * 0.04 * fmax(0, 1 - d / 300));
	case VM_NO_WATER: return floor(r->poor_hh * 0.03 * fmax(0, 1 - d / 240));
	case VM_MIGRANT: return floor(r->population * 0.18 * (1 + 0.1 * sin(2 * M_PI * d / 365)));
	case VM_WELFARE: return fmax(1, floor(r->poor_hh * 0.08));
	default: return floor(r->poor_people * (0.15 + 0.0004 * d)); /* VM_TRAINEES */
	}
}

/* The monitored households: the village's state, or the generator's baseline. */
static double monitoring_value(const struct simstory *s, const struct village_state *v, int metric, bool baseline)
{
	unsigned m = s->g->regions[v->region].monitored_hh;
	double unstable = baseline ? floor(m * 0.3) : v->unstable, sudden = baseline ? floor(m * 0.1) : v->sudden;
	double marginal = baseline ? m - floor(m * 0.3) - floor(m * 0.1) : v->marginal;
	switch (metric) {
	case VM_UNSTABLE: return unstable;
	case VM_MARGINAL: return marginal;
	case VM_SUDDEN: return sudden;
	case VM_REMOVED: return baseline ? m : v->removed;
	default: return floor((unstable + marginal + sudden) * 0.4); /* VM_BELOW_LINE */
	}
}

static void format_value(int metric, double value, char *buf, size_t cap)
{
	snprintf(buf, cap, metric == VM_INCIDENCE ? "%.2f" : "%.0f", value);
}

void simstory_village_report(struct simstory *s, size_t i, double e, double ts, bool baseline)
{
	struct village_state *v = &s->villages[i];
	double day = trend_day_at(s, e);
	while (!baseline && v->stepped_day < (int32_t)floor(day))
		step_monitoring(s, v, i, ++v->stepped_day);
	char value[32];
	for (int m = 0; m < VILLAGE_METRICS; m++) {
		double x = m < VM_FUNDS ? village_value(s, i, m, day)
			 : m == VM_FUNDS ? simstory_village_alloc(s, i, e) : monitoring_value(s, v, m, baseline);
		format_value(m, x, value, sizeof value);
		simstory_item_separator(s);
		simhttp_buf_printf(&s->body, "{\"entity\":\"%s\",\"metric\":\"%s\",\"ts\":%lld,\"value\":%s}",
				   s->g->regions[v->region].code, simstory_village_metrics[m], (long long)ts, value);
	}
}

static double report_villages(struct simstory *s, double e, double now, bool news)
{
	double next = INFINITY;
	size_t in_batch = 0;
	for (size_t i = 0; i < s->village_count; i++) {
		struct village_state *v = &s->villages[i];
		if (v->next_report <= e || (news && news_between(s, NEWS_VILLAGE, v->township, SIZE_MAX, s->news_e, e))) {
			v->next_report = e + s->village_period * (s->started ? 1 : v->stagger);
			if (simstory_township_silent(s, v->township, e))
				continue;
			if (in_batch == 0)
				simstory_begin(s, "samples");
			simstory_village_report(s, i, e, now, false);
			in_batch += VILLAGE_METRICS;
			if (in_batch + VILLAGE_METRICS > SIMSTORY_MAX_ITEMS) {
				simstory_finish(s, SIMSTORY_SAMPLES, "village reports");
				in_batch = 0;
			}
		}
		next = fmin(next, v->next_report);
	}
	if (in_batch)
		simstory_finish(s, SIMSTORY_SAMPLES, "village reports");
	return next;
}

/* ---- projects ---- */

/* Money allocated to and paid out by a project (fen): contract tranches, and the scripted delay and idle advance. */
static void project_money(const struct simstory *s, size_t p, double e, int stage, double progress, int64_t *alloc,
			  int64_t *paid)
{
	int64_t invest = s->g->projects[p].invest_fen;
	/* contractors are paid 40 % at the start, 50 % at basic completion, 10 % after acceptance */
	int64_t tranche = stage >= 4 ? invest : progress >= 95 ? invest * 9 / 10 : stage >= 2 ? invest * 4 / 10 : 0;
	*alloc = *paid = tranche;
	if (p == s->idle_project && stage < 2) /* an advance for a project that has not started: idle money */
		*alloc = invest * 3 / 10;
	if (p == s->delayed_project && e >= SIMSTORY_DELAY_FROM * DAY) {
		int64_t extra = invest / 10; /* 追加资金: allocated, the contractor paid only after the delay */
		*alloc = tranche + extra < invest ? tranche + extra : invest;
		if (!s->opening_played || e >= SIMSTORY_DELAY_PAID * DAY)
			*paid = *alloc;
	}
}

void simstory_project_report(struct simstory *s, size_t p, double e, double now, struct simhttp_buf *milestones,
			     size_t *milestone_items)
{
	const struct demogen_project *gp = &s->g->projects[p];
	struct project_state *ps = &s->projects[p];
	const char *note = NULL;
	int64_t today = cst_day((int64_t)now);
	double target = fmin(100, floor(project_target(s, p, e, now, &note) * 10) / 10);
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
	int64_t invest = gp->invest_fen, months = ps->completed_day >= 0 ? (today - ps->completed_day) / 30 : 0, alloc, paid;
	project_money(s, p, e, stage, progress, &alloc, &paid);
	int64_t reimbursed = stage >= 6 ? invest : stage >= 3 ? invest * 9 / 10 : progress >= 30 ? invest * 4 / 10 : 0;
	bool pays_dividends = gp->category == DEMOGEN_PHOTOVOLTAIC || gp->category == DEMOGEN_BREEDING ||
			      gp->category == DEMOGEN_TOURISM;
	int64_t dividends = pays_dividends ? invest / 200 * months : 0;
	double reach = fmin(1, progress / 80);
	simstory_item_separator(s);
	simhttp_buf_printf(&s->body,
		"{\"project\":\"%s\",\"ts\":%lld,\"progress_pct\":%.1f,\"stage\":\"%s\",\"alloc_fen\":%lld,"
		"\"paid_fen\":%lld,\"reimbursed_fen\":%lld,\"dividends_fen\":%lld,\"benef_hh\":%.0f,"
		"\"benef_poor_hh\":%.0f,\"jobs\":%.0f",
		gp->id, (long long)now, progress, demogen_stage_keys[stage], (long long)alloc, (long long)paid,
		(long long)(reimbursed < paid ? reimbursed : paid), (long long)dividends, round(gp->households * reach),
		round(gp->poor_households * reach), stage >= 2 ? round(gp->jobs * fmin(1, 0.3 + progress / 100)) : 0.0);
	if (note)
		simhttp_buf_printf(&s->body, ",\"note\":\"%s\"", note);
	simhttp_buf_add(&s->body, "}", 1);
}

/* Send the open reports, then the milestones they reached (after the reports that reached them). */
void simstory_flush_projects(struct simstory *s, size_t *in_batch, struct simhttp_buf *milestones,
			     size_t *milestone_items)
{
	if (*in_batch)
		simstory_finish(s, SIMSTORY_PROGRESS, "progress reports");
	*in_batch = 0;
	if (*milestone_items) {
		simstory_begin(s, "milestones");
		simhttp_buf_add(&s->body, milestones->data, milestones->len);
		simstory_finish(s, SIMSTORY_MILESTONES, "milestones done");
		simhttp_buf_reset(milestones);
		*milestone_items = 0;
	}
}

static double report_projects(struct simstory *s, double e, double now, bool news)
{
	double next = INFINITY;
	size_t in_batch = 0, milestone_items = 0;
	struct simhttp_buf milestones = { 0 };
	for (size_t p = 0; p < s->g->project_count; p++) {
		struct project_state *ps = &s->projects[p];
		if (ps->next_report <= e ||
		    (news && news_between(s, NEWS_PROJECT, s->project_township[p], p, s->news_e, e))) {
			double stagger = (double)(demogen_hash(s->g->params.seed, p) % 1000 + 1) / 1000;
			ps->next_report = e + s->project_period * (s->started ? 1 : stagger);
			if (!simstory_township_silent(s, s->project_township[p], e)) {
				if (in_batch++ == 0)
					simstory_begin(s, "reports");
				simstory_project_report(s, p, e, now, &milestones, &milestone_items);
			}
		}
		next = fmin(next, ps->next_report);
		bool full = in_batch == SIMSTORY_MAX_ITEMS || milestone_items + DEMOGEN_MAX_MILESTONES > SIMSTORY_MAX_ITEMS;
		if (in_batch && (full || p + 1 == s->g->project_count))
			simstory_flush_projects(s, &in_batch, &milestones, &milestone_items);
	}
	simstory_flush_projects(s, &in_batch, &milestones, &milestone_items);
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

/* ---- the run ---- */

bool simstory_project_open(const struct demogen *g, size_t p, int64_t today)
{
	int64_t done = demogen_reach_day(g, p, 100, g->projects[p].perf_pct);
	return done < 0 || done > today;
}

/* The opening's money roles and the townships that hold projects, from the county as of the start day. */
static void cast_roles(struct simstory *s, int64_t today)
{
	const struct demogen *g = s->g;
	s->idle_project = s->delayed_project = SIZE_MAX;
	size_t offset = (size_t)(demogen_hash(g->params.seed, 0x1d1e) % (g->project_count + 1));
	for (size_t k = 0; k < g->project_count; k++) {
		size_t p = (offset + k) % g->project_count;
		const struct demogen_project *gp = &g->projects[p];
		if (s->lagging[p])
			continue;
		/* idle: the project that starts last, still weeks away */
		if (gp->start_day > today + 1 && (s->idle_project == SIZE_MAX || gp->start_day > g->projects[s->idle_project].start_day))
			s->idle_project = p;
		/* delayed: well under way before the extra money came and far from done */
		if (s->delayed_project == SIZE_MAX && gp->start_day <= today + SIMSTORY_DELAY_FROM - 5 &&
		    gp->end_day >= today + 60 && demogen_planned_pct(g, p, cst_day_start(today)) * gp->perf_pct < 8000)
			s->delayed_project = p;
	}
	for (size_t p = 0; p < g->project_count; p++) {
		size_t t = s->project_township[p];
		bool role = s->lagging[p] || p == s->idle_project || p == s->delayed_project;
		if (role)
			s->has_projects[t] = ROLE_TAKEN;
		else if (simstory_project_open(g, p, today) && s->has_projects[t] == ROLE_NONE)
			s->has_projects[t] = ROLE_OPEN_PROJECTS;
	}
}

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
	s->has_projects = xcalloc(g->region_count + 1, 1);
	s->project_township = xcalloc(g->project_count + 1, sizeof *s->project_township);
	int32_t anchor_offset = (int32_t)floor(simstory_trend_day(s, opt->start));
	for (size_t i = 0; i < g->region_count; i++) {
		const struct demogen_region *r = &g->regions[i];
		if (r->level == REGCODE_TOWNSHIP) {
			s->townships[s->township_count++] = i;
		} else if (r->level == REGCODE_VILLAGE) {
			struct village_state *v = &s->villages[s->village_count];
			unsigned m = r->monitored_hh;
			*v = (struct village_state){ .region = (uint32_t)i, .township = (uint32_t)r->parent,
						     .removed = m, .unstable = (uint16_t)floor(m * 0.3),
						     .sudden = (uint16_t)floor(m * 0.1),
						     .stagger = (double)(demogen_hash(g->params.seed, i) % 1000 + 1) / 1000 };
			v->marginal = (uint16_t)(m - v->unstable - v->sudden);
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
		size_t at = (size_t)g->projects[p].location;
		s->project_township[p] = g->regions[at].level == REGCODE_VILLAGE ? (size_t)g->regions[at].parent : at;
	}
	for (size_t i = 0; i < g->lagging_count; i++)
		s->lagging[g->lagging[i]] = 1;
	cast_roles(s, cst_day((int64_t)opt->start));
	char date[16];
	cst_date_format(cst_day((int64_t)opt->start), date, sizeof date);
	s->base_period = (int)strtol(date, NULL, 10) * 12 + (int)strtol(date + 5, NULL, 10) - 1;
	simstory_pay_init(s);
	return s;
}

void simstory_free(struct simstory *s)
{
	if (!s)
		return;
	simstory_pay_free(s);
	simhttp_buf_free(&s->body);
	free(s->villages);
	free(s->townships);
	free(s->has_projects);
	free(s->project_township);
	free(s->projects);
	free(s->lagging);
	free(s);
}

void simstory_set_start(struct simstory *s, double start)
{
	s->opt.start = start;
}

double simstory_advance(struct simstory *s, double now, simstory_send_fn *send, void *arg)
{
	s->send = send;
	s->send_arg = arg;
	double e = fmax(0, (now - s->opt.start) * s->opt.speed);
	if (!s->started && s->opt.send_plans)
		send_plans(s);
	double next = simstory_pay_advance(s, e, now);
	bool news = s->started && news_between(s, NEWS_ANY, SIZE_MAX, SIZE_MAX, s->news_e, e);
	next = fmin(next, report_villages(s, e, now, news)); /* villages first: argument order is unspecified in C */
	next = fmin(next, report_projects(s, e, now, news));
	s->started = true;
	s->news_e = e;
	return fmin(1, fmax(0.02, (next - e) / s->opt.speed));
}

size_t simstory_village_count(const struct simstory *s) { return s->village_count; }

const char *simstory_village_code(const struct simstory *s, size_t village)
{
	return s->g->regions[s->villages[village].region].code;
}

void simstory_load_value(const struct simstory *s, size_t village, size_t metric, double day, char *buf, size_t cap)
{
	format_value((int)metric, village_value(s, village, (int)metric, day), buf, cap);
}

void simstory_periods(const struct simstory *s, double *village, double *project, int *year, int *month)
{
	*village = s->village_period;
	*project = s->project_period;
	*year = s->base_period / 12;
	*month = s->base_period % 12 + 1;
}

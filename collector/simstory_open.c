/*
 * simstory_open: the opening act. A demo that starts on a fresh county
 * would need days of real time before a bank is 24 h late or a township 35
 * days silent, so the story first replays the county's last 70 days with
 * past timestamps (at real speed: the past is real time) and leaves every
 * scripted trouble true on the real clock. The order avoids alerts that
 * would fire and resolve within a second while the past is being sent:
 * payments first (settled batches dated after their results), then every
 * project's history, then the villages', each entity's history whole in one
 * request, so the server never sees a half-told past.
 */
#include "simstory_int.h"

#include "cst.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_ADVANCE_DAYS 400       /* the idle project's advance: more than a year back */

void simstory_history_probe(struct simstory *s, struct simhttp_buf *body)
{
	/* the county seat's first village: never silent, and a sample of now leaves it current */
	size_t v = 0;
	while (v + 1 < s->village_count && s->villages[v].township != s->townships[0])
		v++;
	char day[16];
	cst_date_format(s->g->params.anchor_day, day, sizeof day);
	simhttp_buf_reset(body);
	simhttp_buf_printf(body, "{\"batch_id\":\"history-%.12s-%llu-%s\",\"samples\":[{\"entity\":\"%s\","
			   "\"metric\":\"population\",\"ts\":%lld,\"value\":%u}]}", s->g->params.code,
			   (unsigned long long)s->g->params.seed, day, simstory_village_code(s, v),
			   (long long)s->opt.start, s->g->regions[s->villages[v].region].population);
}

static double stagger(const struct simstory *s, size_t what)
{
	return (double)(demogen_hash(s->g->params.seed, what) % 1000 + 1) / 1000;
}

static void project_history(struct simstory *s)
{
	size_t in_batch = 0, milestone_items = 0, per_project = SIMSTORY_HISTORY_DAYS / 3 + 2;
	struct simhttp_buf milestones = { 0 };
	for (size_t p = 0; p < s->g->project_count; p++) {
		if (in_batch + per_project > SIMSTORY_MAX_ITEMS ||
		    milestone_items + DEMOGEN_MAX_MILESTONES > SIMSTORY_MAX_ITEMS)
			simstory_flush_projects(s, &in_batch, &milestones, &milestone_items);
		if (in_batch == 0)
			simstory_begin(s, "reports");
		if (p == s->idle_project) {
			simstory_project_report(s, p, -IDLE_ADVANCE_DAYS * DAY, simstory_real(s, -IDLE_ADVANCE_DAYS * DAY),
						&milestones, &milestone_items);
			in_batch++;
		}
		/* every 3 days, and once more just before the start: a plan that moved on since the last
		 * report (a milestone due today) must not look like a stall until the first live report */
		for (double e = (-SIMSTORY_HISTORY_DAYS + 3 * stagger(s, p)) * DAY; e < 0; e = fmin(e + 3 * DAY, e < -60 ? -60 : 0)) {
			if (simstory_township_silent(s, s->project_township[p], e))
				continue;
			simstory_project_report(s, p, e, simstory_real(s, e), &milestones, &milestone_items);
			in_batch++;
		}
	}
	simstory_flush_projects(s, &in_batch, &milestones, &milestone_items);
	simhttp_buf_free(&milestones);
}

/* Every 5 days, then daily for the 14 days the RRD files keep at 5 minutes (weekly at province scale). */
static double next_village_day(const struct simstory *s, double day)
{
	if (s->village_count > 2000)
		return day + 7 < 0 ? day + 7 : day < -1 ? -1 : 0;
	return day < -15 ? day + 5 : day + 1;
}

static void village_history(struct simstory *s)
{
	size_t in_batch = 0, per_village = (SIMSTORY_HISTORY_DAYS / 5 + 15) * SIMSTORY_VILLAGE_METRICS;
	for (size_t i = 0; i < s->village_count; i++) {
		if (in_batch + per_village > SIMSTORY_MAX_ITEMS) {
			simstory_finish(s, SIMSTORY_SAMPLES, "history: village reports");
			in_batch = 0;
		}
		if (in_batch == 0)
			simstory_begin(s, "samples");
		double hour = 8 + 10 * s->villages[i].stagger; /* office hours */
		for (double day = -SIMSTORY_HISTORY_DAYS; day < 0; day = next_village_day(s, day)) {
			double e = day * DAY + hour * HOUR;
			if (simstory_township_silent(s, s->villages[i].township, e))
				continue;
			simstory_village_report(s, i, e, simstory_real(s, e), true);
			in_batch += SIMSTORY_VILLAGE_METRICS;
		}
	}
	if (in_batch)
		simstory_finish(s, SIMSTORY_SAMPLES, "history: village reports");
}

void simstory_set_history_known(struct simstory *s)
{
	s->history_known = true;
}

void simstory_history(struct simstory *s, simstory_send_fn *send, void *arg)
{
	s->send = send;
	s->send_arg = arg;
	s->opening_played = true;
	simstory_pay_history(s);
	project_history(s);
	village_history(s);
}

/* ---- the opening, told ---- */

static const char *project_text(const struct simstory *s, size_t p, char *buf, size_t cap)
{
	if (p == SIZE_MAX)
		snprintf(buf, cap, "(nobody fits)");
	else
		snprintf(buf, cap, "%s %s", s->g->projects[p].id, demogen_str(s->g, s->g->projects[p].name));
	return buf;
}

struct told {
	double at;
	char what[320];
};

static int by_time(const void *a, const void *b)
{
	double x = ((const struct told *)a)->at, y = ((const struct told *)b)->at;
	return x < y ? -1 : x > y;
}

static void tell(struct told *t, size_t *n, double at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void tell(struct told *t, size_t *n, double at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	t[*n].at = at;
	vsnprintf(t[*n].what, sizeof t->what, fmt, ap);
	va_end(ap);
	++*n;
}

/* The opening's facts and the run's answers to them, in time order. */
static size_t tell_opening(const struct simstory *s, struct told *t)
{
	size_t town = simstory_silent_township(s, 0), n = 0;
	const char *town_name = town == SIZE_MAX ? "(a single township)" : demogen_str(s->g, s->g->regions[town].name);
	char stall[120], behind[120], idle[120], delayed[120], idle_start[16] = "";
	if (s->idle_project != SIZE_MAX)
		cst_date_format(s->g->projects[s->idle_project].start_day, idle_start, sizeof idle_start);
	project_text(s, simstory_role_project(s, 0, true), stall, sizeof stall);
	project_text(s, simstory_role_project(s, 0, false), behind, sizeof behind);
	project_text(s, s->idle_project, idle, sizeof idle);
	project_text(s, s->delayed_project, delayed, sizeof delayed);
	tell(t, &n, -IDLE_ADVANCE_DAYS * DAY, "idle_funds: an advance of 30 %% to %s, which starts only on %s", idle,
	     idle_start);
	tell(t, &n, SIMSTORY_OPEN_STALL_FROM * DAY, "project_stalled (and behind): %s stops (停工待料)", stall);
	tell(t, &n, SIMSTORY_OPEN_SILENT_FROM * DAY, "village_silent, township_silent, project_silent: %s stops "
	     "reporting", town_name);
	tell(t, &n, SIMSTORY_DELAY_FROM * DAY, "alloc_delayed: 10 %% more allocated to %s; its contractor is not paid",
	     delayed);
	tell(t, &n, -6 * DAY, "payment_failed: period start-1 A and B fail 5 payments, nobody reissues them; "
	     "E pays 3 of B's households again (duplicate_subsidy)");
	tell(t, &n, -30 * HOUR, "payment_overdue: period start-1 C reaches the bank; no results come");
	tell(t, &n, 0, "project_behind, milestone_overdue: %s runs behind its plan", behind);
	for (size_t k = 0; simstory_pay_answer(k, &t[n].at, t[n].what, sizeof t->what); k++)
		n++;
	tell(t, &n, SIMSTORY_OPEN_SILENT_TO * DAY, "%s reports again: the silence alerts resolve", town_name);
	tell(t, &n, SIMSTORY_ROLE_FROM * DAY, "%s catches up (101 %% of plan at +%dd, its late milestone done): "
	     "behind and milestone_overdue resolve", behind, SIMSTORY_CATCH_UP_TO);
	tell(t, &n, SIMSTORY_OPEN_STALL_TO * DAY, "%s restarts (复工): project_stalled resolves; back on plan %d days "
	     "later", stall, SIMSTORY_RECOVER_DAYS);
	tell(t, &n, SIMSTORY_DELAY_PAID * DAY, "%s pays its contractor: alloc_delayed resolves", delayed);
	qsort(t, n, sizeof *t, by_time);
	return n;
}

bool simstory_opening_event(const struct simstory *s, size_t i, double *at, char *what, size_t cap)
{
	struct told t[24];
	if (i >= tell_opening(s, t))
		return false;
	*at = t[i].at;
	snprintf(what, cap, "%s", t[i].what);
	return true;
}

static void json_keys(FILE *out, const char *rule, const char *const *keys, size_t n, bool comma)
{
	fprintf(out, "%s\"%s\":[", comma ? "," : "", rule);
	for (size_t k = 0; k < n; k++)
		fprintf(out, "%s\"%s\"", k ? "," : "", keys[k]);
	fprintf(out, "]");
}

void simstory_write_roles(const struct simstory *s, FILE *out)
{
	const struct demogen *g = s->g;
	size_t stall = simstory_role_project(s, 0, true), behind = simstory_role_project(s, 0, false);
	size_t town = simstory_silent_township(s, 0);
	int64_t today = cst_day((int64_t)s->opt.start);
	const char *one[1];
	fprintf(out, "{");
	simstory_pay_roles(s, out);
#define PROJECT_ROLE(rule, p) \
	do { one[0] = (p) == SIZE_MAX ? "" : g->projects[p].id; json_keys(out, rule, one, (p) != SIZE_MAX, true); } while (0)
	PROJECT_ROLE("alloc_delayed", s->delayed_project);
	PROJECT_ROLE("idle_funds", s->idle_project);
	PROJECT_ROLE("project_behind", behind);
	PROJECT_ROLE("milestone_overdue", behind);
	PROJECT_ROLE("project_stalled", stall);
#undef PROJECT_ROLE
	fprintf(out, ",\"project_silent\":[");
	for (size_t p = 0, n = 0; town != SIZE_MAX && p < g->project_count; p++)
		if (s->project_township[p] == town && simstory_project_open(g, p, today))
			fprintf(out, "%s\"%s\"", n++ ? "," : "", g->projects[p].id);
	fprintf(out, "],\"village_silent\":[");
	for (size_t i = 0, n = 0; town != SIZE_MAX && i < s->village_count; i++)
		if (s->villages[i].township == town)
			fprintf(out, "%s\"%s\"", n++ ? "," : "", simstory_village_code(s, i));
	fprintf(out, "]");
	one[0] = town == SIZE_MAX ? "" : g->regions[town].code;
	json_keys(out, "township_silent", one, town != SIZE_MAX, true);
	fprintf(out, "}\n");
}

/*
 * alert_rules_proj: the industry-project rules. Behind schedule compares
 * earned with planned progress (SPI, with hysteresis so a weekly report does
 * not flap the alert); stalled looks for progress that stayed put in the
 * report history while the plan moved on; silent counts days without any
 * report; milestone overdue lists a project's late milestones in one alert.
 * Projects completed or further along are past these rules.
 */
#include "alert_int.h"

#include "cst.h"
#include "db.h"
#include "regcode.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OPEN_STAGES "('approved','publicised','started')"

static void project_subject(struct alert_cand *c, int64_t id, const unsigned char *key, const unsigned char *name,
			    const unsigned char *location)
{
	c->entity_kind = "project";
	c->entity_id = id;
	alert_copy_text(c->key, sizeof c->key, key);
	alert_copy_text(c->name, sizeof c->name, name);
	alert_copy_text(c->region, sizeof c->region, location);
	c->township[0] = '\0';
	if (regcode_level(c->region) >= REGCODE_TOWNSHIP)
		regcode_ancestor(c->region, REGCODE_TOWNSHIP, c->township);
}

/* The rule's severity of a project's open behind-schedule alert (0: none), for the hysteresis. */
static int open_severity(sqlite3_stmt *st, const char *key)
{
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	int sev = sqlite3_step(st) == SQLITE_ROW ? alert_severity_from_name((const char *)sqlite3_column_text(st, 0)) : 0;
	sqlite3_reset(st);
	return sev;
}

/*
 * SPI bands: fire below warning (critical below critical); an open alert
 * stays until SPI reaches `clear`, and a critical one stays critical until
 * `critical_clear`. Returns the level, or -1 for no candidate.
 */
static int spi_level(const struct alert_options *o, double spi, int open)
{
	double warn = (double)o->spi_warning_permille / 1000, crit = (double)o->spi_critical_permille / 1000;
	double clear = (double)o->spi_clear_permille / 1000, crit_clear = (double)o->spi_critical_clear_permille / 1000;
	int want = spi < crit ? ALERT_LEVEL_CRITICAL : spi < warn ? ALERT_LEVEL_WARNING : -1;
	if (open == ALERT_CRITICAL && spi < crit_clear)
		return ALERT_LEVEL_CRITICAL;
	if (want >= 0 || !open || spi >= clear)
		return want;
	return open == ALERT_CRITICAL ? ALERT_LEVEL_WARNING : ALERT_LEVEL_HOLD;
}

#define PROJECT_SQL(SCOPE) \
	"WITH scope(id) AS (" SCOPE "), cur AS (" \
	" SELECT e.id AS id, e.key AS key, p.name AS name, p.location AS location, p.start_date AS start_date," \
	"  e.created AS created," \
	"  (SELECT l.value FROM latest l WHERE l.key = e.id * 256 + ?1) AS ev," \
	"  (SELECT max(l.ts) FROM latest l WHERE l.key BETWEEN e.id * 256 AND e.id * 256 + 255) AS newest_sample," \
	"  (SELECT max(r.ts) FROM progress_report r WHERE r.project_id = e.id) AS newest_report," \
	"  (SELECT r.progress_pct FROM progress_report r WHERE r.project_id = e.id AND r.progress_pct IS NOT NULL" \
	"   ORDER BY r.ts DESC LIMIT 1) AS reported" \
	" FROM scope s CROSS JOIN entity e ON e.id = s.id JOIN project p ON p.entity_id = e.id" \
	" WHERE p.stage IN " OPEN_STAGES ")" \
	" SELECT id, key, name, location, start_date, ev, newest_sample, newest_report, reported," \
	"  (SELECT min(r.ts) FROM progress_report r WHERE r.project_id = cur.id AND r.progress_pct IS NOT NULL" \
	"   AND r.ts > coalesce((SELECT max(r2.ts) FROM progress_report r2 WHERE r2.project_id = cur.id" \
	"   AND r2.progress_pct IS NOT NULL AND r2.progress_pct <> cur.reported), -1))," \
	"  created" \
	" FROM cur"

static const char project_sql_all[] = PROJECT_SQL("SELECT entity_id FROM project");
static const char project_sql_some[] = PROJECT_SQL("SELECT DISTINCT value FROM json_each(?2)");

static double column_real(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

static int64_t column_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, col);
}

static void behind(struct alert_pass *p, sqlite3_stmt *st, sqlite3_stmt *open, double ev, double pv)
{
	const struct alert_options *o = p->opt;
	if (isnan(ev) || isnan(pv) || pv < (double)o->spi_min_planned_pct)
		return;
	double spi = round(ev / pv * 1000) / 1000; /* three decimals: small drifts are not news */
	const char *key = (const char *)sqlite3_column_text(st, 1);
	int level = spi_level(o, spi, open_severity(open, key));
	if (level < 0)
		return;
	struct alert_cand *c = alert_cand_add(&p->cands[ALERT_PROJECT_BEHIND]);
	project_subject(c, sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			sqlite3_column_text(st, 3));
	c->level = level;
	c->value = spi;
	c->threshold = (double)o->spi_warning_permille / 1000;
	alert_cand_detail(c, json_pack("{s:f, s:f, s:f}", "progress_pct", round(ev * 10) / 10,
				       "planned_pct", round(pv * 10) / 10, "spi", spi));
}

static void stalled(struct alert_pass *p, sqlite3_stmt *st, const struct plan *plan, double pv_now)
{
	double reported = column_real(st, 8);
	int64_t since = column_int(st, 9);
	if (isnan(reported) || !since || reported >= 100 || isnan(pv_now))
		return;
	int64_t days = p->today - cst_day(since);
	double pv_then = plan_pv(plan, since);
	if (days < p->opt->stalled_days || isnan(pv_then) || pv_now <= pv_then + 1e-9)
		return;
	struct alert_cand *c = alert_cand_add(&p->cands[ALERT_PROJECT_STALLED]);
	project_subject(c, sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			sqlite3_column_text(st, 3));
	c->level = ALERT_LEVEL_CRITICAL;
	c->value = (double)days;
	c->threshold = (double)p->opt->stalled_days;
	alert_cand_detail(c, json_pack("{s:f, s:I, s:I, s:f, s:f}", "progress_pct", reported,
				       "unchanged_since", (json_int_t)since, "days", (json_int_t)days,
				       "planned_then", round(pv_then * 10) / 10, "planned_now", round(pv_now * 10) / 10));
}

static void silent(struct alert_pass *p, sqlite3_stmt *st)
{
	int64_t newest = column_int(st, 6), report = column_int(st, 7);
	if (report > newest)
		newest = report;
	int64_t since_day, created = column_int(st, 10);
	int from_registration = 0;
	if (newest) {
		since_day = cst_day(newest);
	} else { /* never reported: counted from its start date, or from when it was
		  * registered here if later (no report could arrive before that) */
		const char *start = (const char *)sqlite3_column_text(st, 4), *why;
		if (!start || cst_date_parse(start, &since_day, &why) < 0)
			return;
		if (created > 0 && cst_day(created) > since_day) {
			since_day = cst_day(created);
			from_registration = 1;
		}
	}
	int64_t days = p->today - since_day;
	if (days < p->opt->project_silent_days)
		return;
	struct alert_cand *c = alert_cand_add(&p->cands[ALERT_PROJECT_SILENT]);
	project_subject(c, sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			sqlite3_column_text(st, 3));
	c->level = ALERT_LEVEL_WARNING;
	c->value = (double)days;
	c->threshold = (double)p->opt->project_silent_days;
	alert_cand_detail(c, json_pack("{s:o, s:I, s:s}", "last_report", newest ? json_integer(newest) : json_null(),
				       "days", (json_int_t)days, "counted_from",
				       newest ? "last_report" : from_registration ? "registration" : "start_date"));
}

int alert_rules_projects(struct alert_pass *p, const char *scope)
{
	sqlite3_stmt *st = db_prepare(p->db, scope ? project_sql_some : project_sql_all);
	sqlite3_bind_int(st, 1, alert_metrics.progress);
	if (scope)
		sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	sqlite3_stmt *open = db_prepare(p->db,
		"SELECT rule_severity FROM alert INDEXED BY alert_open WHERE rule = ?1 AND entity_key = ?2"
		" AND state <> 'resolved'");
	sqlite3_bind_text(open, 1, alert_rule_name(ALERT_PROJECT_BEHIND), -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const struct plan *plan = plan_find(p->plans, sqlite3_column_int64(st, 0));
		double pv = plan_pv(plan, p->now);
		behind(p, st, open, column_real(st, 5), pv);
		stalled(p, st, plan, pv);
		silent(p, st);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(open);
	for (int r = ALERT_PROJECT_BEHIND; r <= ALERT_PROJECT_SILENT; r++) {
		p->evaluated[r] = 1;
		if (scope)
			p->scope[r] = xstrdup(scope);
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

int alert_rules_milestones(struct alert_pass *p)
{
	char today[16];
	cst_date_format(p->today, today, sizeof today);
	sqlite3_stmt *st = db_prepare(p->db,
		"SELECT m.project_id, e.key, pr.name, pr.location, m.name, m.planned_date"
		" FROM milestone m JOIN entity e ON e.id = m.project_id JOIN project pr ON pr.entity_id = m.project_id"
		" WHERE m.done_date IS NULL AND m.planned_date < ?1 AND pr.stage IN " OPEN_STAGES
		" ORDER BY m.project_id, m.planned_date, m.name");
	sqlite3_bind_text(st, 1, today, -1, SQLITE_STATIC);
	struct alert_cand *c = NULL;
	int64_t project = 0, worst = 0, count = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t planned;
		const char *why;
		if (cst_date_parse((const char *)sqlite3_column_text(st, 5), &planned, &why) < 0)
			continue;
		if (!c || sqlite3_column_int64(st, 0) != project) {
			project = sqlite3_column_int64(st, 0);
			c = alert_cand_add(&p->cands[ALERT_MILESTONE_OVERDUE]);
			project_subject(c, project, sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
					sqlite3_column_text(st, 3));
			alert_cand_detail(c, json_pack("{s:[]}", "milestones"));
			worst = count = 0;
		}
		int64_t late = p->today - planned;
		if (late > worst) /* ordered by planned date: the first is the latest, but be sure */
			worst = late;
		json_t *list = json_object_get(c->detail, "milestones");
		if (json_array_size(list) < ALERT_LIST_MAX)
			json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "name", sqlite3_column_text(st, 4),
							      "planned_date", sqlite3_column_text(st, 5),
							      "days_overdue", (json_int_t)late));
		count++;
		json_object_set_new(c->detail, "count", json_integer(count));
		json_object_set_new(c->detail, "max_days", json_integer(worst));
		/* Passed its planned day: late; more than critical_days late: critical. */
		c->level = worst > p->opt->milestone_critical_days ? ALERT_LEVEL_CRITICAL : ALERT_LEVEL_WARNING;
		c->value = (double)worst;
		c->threshold = 1;
	}
	sqlite3_finalize(st);
	p->evaluated[ALERT_MILESTONE_OVERDUE] = 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

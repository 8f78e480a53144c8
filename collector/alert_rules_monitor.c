/*
 * alert_rules_monitor: households flagged at risk of (re)turning to poverty
 * (防返贫监测) that are still waiting for help. The 2021 monitoring
 * guidelines ask that a household found at risk is identified and has
 * assistance measures in place within 15 days; one alert per village lists
 * its overdue households, so a village office gets one message to act on.
 * A household counts as handled once help is in place or its risk removed.
 */
#include "alert_int.h"

#include "cst.h"
#include "db.h"

#include <stdio.h>

static const char monitor_sql[] =
	"SELECT m.village_id, e.key, r.name_zh, r.parent, m.household, m.category, m.flagged_at,"
	" m.identified_at IS NOT NULL"
	" FROM monitor_household m JOIN entity e ON e.id = m.village_id JOIN region r ON r.entity_id = e.id"
	" WHERE m.helped_at IS NULL AND m.risk_removed_at IS NULL AND m.flagged_at < ?1 AND r.retired = 0"
	" ORDER BY m.village_id, m.flagged_at, m.household";

static struct alert_cand *village_cand(struct alert_pass *p, sqlite3_stmt *st)
{
	struct alert_cand *c = alert_cand_add(&p->cands[ALERT_MONITORING_OVERDUE]);
	c->entity_kind = "village";
	c->entity_id = sqlite3_column_int64(st, 0);
	alert_copy_text(c->key, sizeof c->key, sqlite3_column_text(st, 1));
	alert_copy_text(c->name, sizeof c->name, sqlite3_column_text(st, 2));
	alert_copy_text(c->region, sizeof c->region, sqlite3_column_text(st, 1));
	alert_copy_text(c->township, sizeof c->township, sqlite3_column_text(st, 3));
	c->level = ALERT_LEVEL_WARNING;
	c->threshold = (double)p->opt->monitoring_days;
	alert_cand_detail(c, json_pack("{s:[], s:I}", "households", "limit_days", (json_int_t)p->opt->monitoring_days));
	return c;
}

int alert_rules_monitoring(struct alert_pass *p)
{
	/* A deadline: flagged on day D is in time until the end of day D + N. */
	sqlite3_stmt *st = db_prepare(p->db, monitor_sql);
	sqlite3_bind_int64(st, 1, cst_day_start(p->today - p->opt->monitoring_days));
	struct alert_cand *c = NULL;
	int64_t worst = 0, count = 0, unidentified = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!c || sqlite3_column_int64(st, 0) != c->entity_id) {
			c = village_cand(p, st);
			worst = count = unidentified = 0;
		}
		int64_t flagged = sqlite3_column_int64(st, 6), days = p->today - cst_day(flagged);
		int identified = sqlite3_column_int(st, 7);
		if (days > worst)
			worst = days;
		count++;
		unidentified += !identified;
		json_t *list = json_object_get(c->detail, "households");
		if (json_array_size(list) < ALERT_LIST_MAX)
			json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:b}", "household",
							      sqlite3_column_text(st, 4), "category", sqlite3_column_text(st, 5),
							      "flagged_at", (json_int_t)flagged, "days", (json_int_t)days,
							      "identified", identified));
		json_object_set_new(c->detail, "count", json_integer(count));
		json_object_set_new(c->detail, "not_identified", json_integer(unidentified));
		json_object_set_new(c->detail, "max_days", json_integer(worst));
		json_object_set_new(c->detail, "more", json_integer(count > ALERT_LIST_MAX ? count - ALERT_LIST_MAX : 0));
		c->value = (double)worst;
	}
	sqlite3_finalize(st);
	p->evaluated[ALERT_MONITORING_OVERDUE] = 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

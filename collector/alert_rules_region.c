/*
 * alert_rules_region: villages that stopped sending data, and the township
 * cause behind many of them. When (a configured share of) a township's
 * villages are silent, the likely cause is the township's feed: one
 * township alert fires and the village alerts are kept, but grouped under
 * it and suppressed, so the office gets one notification instead of twenty.
 * A village is judged by the newest value it reported itself (not by card
 * payments, which come from the bank).
 */
#include "alert_int.h"

#include "cst.h"
#include "db.h"
#include "xalloc.h"

#include <stdio.h>
#include <string.h>

#define VILLAGE_SQL(SCOPE) \
	"WITH scope(id) AS (" SCOPE ")" \
	" SELECT e.id, e.key, r.name_zh, r.parent, e.created, te.id, t.name_zh," \
	"  (SELECT max(l.ts) FROM latest l WHERE l.key BETWEEN e.id * 256 + ?1 AND e.id * 256 + ?2" \
	"   AND (?3 >> (l.key & 255)) & 1)" \
	" FROM scope s CROSS JOIN entity e ON e.id = s.id JOIN region r ON r.entity_id = e.id" \
	" LEFT JOIN region t ON t.code = r.parent LEFT JOIN entity te ON te.id = t.entity_id AND te.kind = 'township'" \
	" WHERE e.kind = 'village' AND r.retired = 0 ORDER BY r.parent, e.key"

static const char village_sql_all[] = VILLAGE_SQL("SELECT id FROM entity WHERE kind = 'village'");
/* A dirty village brings its whole township: the township verdict needs every sibling. */
static const char village_sql_some[] = VILLAGE_SQL(
	"SELECT DISTINCT v.entity_id FROM region v WHERE v.parent IN"
	" (SELECT r.parent FROM region r WHERE r.entity_id IN (SELECT value FROM json_each(?4)))");

/* The villages of one township, as they come out of the query. */
struct township_group {
	int64_t township_id;
	char code[13], name[ALERT_NAME_MAX];
	size_t first_cand;             /* village candidates of this township start here */
	int64_t villages, silent, min_days;
};

static void close_township(struct alert_pass *p, struct township_group *g)
{
	const struct alert_options *o = p->opt;
	struct alert_cands *villages = &p->cands[ALERT_VILLAGE_SILENT];
	if (!g->township_id || g->silent == 0 || g->villages < o->township_min_villages ||
	    g->silent * 100 < o->township_silent_pct * g->villages)
		return;
	struct alert_cand *c = alert_cand_add(&p->cands[ALERT_TOWNSHIP_SILENT]);
	c->entity_kind = "township";
	c->entity_id = g->township_id;
	snprintf(c->key, sizeof c->key, "%s", g->code);
	snprintf(c->name, sizeof c->name, "%s", g->name);
	snprintf(c->region, sizeof c->region, "%s", g->code);
	snprintf(c->township, sizeof c->township, "%s", g->code);
	snprintf(c->group_key, sizeof c->group_key, "%s:%s", alert_rule_name(ALERT_TOWNSHIP_SILENT), g->code);
	c->level = ALERT_LEVEL_WARNING;
	c->value = (double)(g->silent * 100 / g->villages);
	c->threshold = (double)o->township_silent_pct;
	alert_cand_detail(c, json_pack("{s:I, s:I, s:I, s:I, s:I}", "villages", (json_int_t)g->villages,
				       "silent", (json_int_t)g->silent, "share_pct", (json_int_t)(g->silent * 100 / g->villages),
				       "days", (json_int_t)g->min_days, "limit_days", (json_int_t)o->village_silent_days));
	for (size_t i = g->first_cand; i < villages->n; i++) {
		snprintf(villages->v[i].group_key, sizeof villages->v[i].group_key, "%s", c->group_key);
		villages->v[i].suppressed = 1;
	}
}

/* JSON array text of ids, for the reconcile scope of a partial pass. */
static char *id_list(json_t *ids)
{
	char *text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	return text;
}

int alert_rules_villages(struct alert_pass *p, const char *scope)
{
	const struct alert_options *o = p->opt;
	sqlite3_stmt *st = db_prepare(p->db, scope ? village_sql_some : village_sql_all);
	sqlite3_bind_int(st, 1, alert_metrics.village_lo);
	sqlite3_bind_int(st, 2, alert_metrics.village_hi);
	sqlite3_bind_int64(st, 3, alert_metrics.village_mask);
	if (scope)
		sqlite3_bind_text(st, 4, scope, -1, SQLITE_STATIC);
	json_t *seen_villages = json_array(), *seen_townships = json_array();
	struct township_group g = {0};
	char parent[13] = "";
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *this_parent = (const char *)sqlite3_column_text(st, 3);
		if (!this_parent)
			this_parent = "";
		if (strcmp(this_parent, parent) != 0) {
			close_township(p, &g);
			memset(&g, 0, sizeof g);
			snprintf(parent, sizeof parent, "%s", this_parent);
			g.first_cand = p->cands[ALERT_VILLAGE_SILENT].n;
			if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
				g.township_id = sqlite3_column_int64(st, 5);
				snprintf(g.code, sizeof g.code, "%s", parent);
				alert_copy_text(g.name, sizeof g.name, sqlite3_column_text(st, 6));
				json_array_append_new(seen_townships, json_integer(g.township_id));
			}
		}
		int64_t id = sqlite3_column_int64(st, 0);
		json_array_append_new(seen_villages, json_integer(id));
		g.villages++;
		int has_data = sqlite3_column_type(st, 7) != SQLITE_NULL;
		int64_t created = sqlite3_column_int64(st, 4);
		if (!has_data && created <= 0)
			continue; /* registered with no date and never reported: nothing to count from */
		int64_t last = has_data ? sqlite3_column_int64(st, 7) : created;
		int64_t days = p->today - cst_day(last);
		if (days < o->village_silent_days)
			continue;
		if (g.silent == 0 || days < g.min_days)
			g.min_days = days;
		g.silent++;
		struct alert_cand *c = alert_cand_add(&p->cands[ALERT_VILLAGE_SILENT]);
		c->entity_kind = "village";
		c->entity_id = id;
		alert_copy_text(c->key, sizeof c->key, sqlite3_column_text(st, 1));
		alert_copy_text(c->name, sizeof c->name, sqlite3_column_text(st, 2));
		alert_copy_text(c->region, sizeof c->region, sqlite3_column_text(st, 1));
		snprintf(c->township, sizeof c->township, "%s", g.township_id ? g.code : "");
		c->level = ALERT_LEVEL_WARNING;
		c->value = (double)days;
		c->threshold = (double)o->village_silent_days;
		alert_cand_detail(c, json_pack("{s:o, s:I}", "last_data", has_data ? json_integer(last) : json_null(),
					       "days", (json_int_t)days));
	}
	close_township(p, &g);
	sqlite3_finalize(st);
	p->evaluated[ALERT_VILLAGE_SILENT] = p->evaluated[ALERT_TOWNSHIP_SILENT] = 1;
	if (scope) {
		p->scope[ALERT_VILLAGE_SILENT] = id_list(seen_villages);
		p->scope[ALERT_TOWNSHIP_SILENT] = id_list(seen_townships);
	} else {
		json_decref(seen_villages);
		json_decref(seen_townships);
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

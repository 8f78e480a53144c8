/*
 * alert_rules_pay: the money rules. Card payments (a batch the bank has not
 * credited in time, failures nobody reissued, one household paid twice for
 * the same thing) and allocated funds (not paid out in time, or idle for a
 * year). Each rule is one statement over small partial indexes or the
 * allocation ledger, never a walk over every payment per pass.
 */
#include "alert_int.h"

#include "cst.h"
#include "db.h"
#include "log.h"
#include "regcode.h"

#include <stdio.h>
#include <string.h>

/* Scope fields from a division code: region itself, and its township if it has one. */
static void place(struct alert_cand *c, const unsigned char *code)
{
	alert_copy_text(c->region, sizeof c->region, code);
	c->township[0] = '\0';
	if (regcode_level(c->region) >= REGCODE_TOWNSHIP)
		regcode_ancestor(c->region, REGCODE_TOWNSHIP, c->township);
}

/* ---- payment batch overdue ---- */

static int batch_overdue(struct alert_pass *p)
{
	const struct alert_options *o = p->opt;
	sqlite3_stmt *st = db_prepare(p->db,
		"SELECT b.batch_no, b.department, b.fund_type, b.period, b.funds_at_bank, count(*), sum(p.amount_fen),"
		" sum(p.status = 'sent'), sum(CASE WHEN p.status = 'sent' THEN p.amount_fen ELSE 0 END),"
		" sum(p.status = 'paid'), sum(CASE WHEN p.status = 'paid' THEN p.amount_fen ELSE 0 END),"
		" sum(p.status = 'failed'), sum(CASE WHEN p.status = 'failed' THEN p.amount_fen ELSE 0 END),"
		/* A batch belongs to a county: the county of any of its villages. */
		" (SELECT substr(r.code, 1, 6) || '000000' FROM payment p1 JOIN region r ON r.entity_id = p1.village_id"
		"  WHERE p1.batch_id = b.id LIMIT 1)"
		" FROM pay_batch b JOIN payment p ON p.batch_id = b.id"
		" WHERE b.id IN (SELECT batch_id FROM payment WHERE status = 'sent')"
		" AND b.funds_at_bank IS NOT NULL AND b.funds_at_bank <= ?1 GROUP BY b.id");
	sqlite3_bind_int64(st, 1, p->now - o->batch_overdue_hours * 3600);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct alert_cand *c = alert_cand_add(&p->cands[ALERT_PAYMENT_OVERDUE]);
		alert_copy_text(c->key, sizeof c->key, sqlite3_column_text(st, 0));
		alert_copy_text(c->name, sizeof c->name, sqlite3_column_text(st, 0));
		c->entity_kind = "batch";
		place(c, sqlite3_column_text(st, 13));
		c->township[0] = '\0';
		int64_t funds_at = sqlite3_column_int64(st, 4), hours = (p->now - funds_at) / 3600;
		int64_t waiting_fen = sqlite3_column_int64(st, 8);
		c->level = hours >= o->batch_critical_hours || waiting_fen >= o->batch_critical_fen
			? ALERT_LEVEL_CRITICAL : ALERT_LEVEL_WARNING;
		c->value = (double)hours;
		c->threshold = (double)o->batch_overdue_hours;
		alert_cand_detail(c, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"batch_no", (const char *)sqlite3_column_text(st, 0),
			"department", (const char *)sqlite3_column_text(st, 1),
			"fund_type", (const char *)sqlite3_column_text(st, 2),
			"period", (const char *)sqlite3_column_text(st, 3),
			"funds_at_bank", (json_int_t)funds_at, "hours", (json_int_t)hours,
			"total", (json_int_t)sqlite3_column_int64(st, 5), "total_fen", (json_int_t)sqlite3_column_int64(st, 6),
			"waiting", (json_int_t)sqlite3_column_int64(st, 7), "waiting_fen", (json_int_t)waiting_fen,
			"paid", (json_int_t)sqlite3_column_int64(st, 9), "paid_fen", (json_int_t)sqlite3_column_int64(st, 10),
			"failed", (json_int_t)sqlite3_column_int64(st, 11), "failed_fen", (json_int_t)sqlite3_column_int64(st, 12),
			"critical_fen", (json_int_t)o->batch_critical_fen));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- failed payments not reissued: one alert per village, listing them ---- */

static int failed_not_reissued(struct alert_pass *p)
{
	int64_t limit = p->opt->failed_reissue_days;
	sqlite3_stmt *st = db_prepare(p->db,
		"SELECT p.village_id, e.key, r.name_zh, p.payment_no, p.household, p.amount_fen, coalesce(p.reason, ''),"
		" p.result_at, b.batch_no"
		" FROM payment p JOIN entity e ON e.id = p.village_id JOIN region r ON r.entity_id = p.village_id"
		" JOIN pay_batch b ON b.id = p.batch_id"
		" WHERE p.status = 'failed' AND p.reissued = 0 AND p.result_at < ?1"
		" ORDER BY p.village_id, p.result_at, p.id");
	/* Failed on day D: reissued by the end of day D + limit is in time. */
	sqlite3_bind_int64(st, 1, cst_day_start(p->today - limit));
	struct alert_cand *c = NULL;
	int64_t village = 0, count = 0, amount = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!c || sqlite3_column_int64(st, 0) != village) {
			village = sqlite3_column_int64(st, 0);
			c = alert_cand_add(&p->cands[ALERT_PAYMENT_FAILED]);
			c->entity_kind = "village";
			c->entity_id = village;
			alert_copy_text(c->key, sizeof c->key, sqlite3_column_text(st, 1));
			alert_copy_text(c->name, sizeof c->name, sqlite3_column_text(st, 2));
			place(c, sqlite3_column_text(st, 1));
			c->level = ALERT_LEVEL_WARNING;
			c->threshold = (double)limit;
			int64_t oldest = sqlite3_column_int64(st, 7), days = p->today - cst_day(oldest);
			c->value = (double)days;
			alert_cand_detail(c, json_pack("{s:s, s:I, s:I, s:I, s:{}, s:[], s:I}", "village",
				c->key, "oldest_failed_at", (json_int_t)oldest, "days", (json_int_t)days,
				"limit_days", (json_int_t)limit, "reasons", "payments", "more", (json_int_t)0));
			count = amount = 0;
		}
		const char *reason = (const char *)sqlite3_column_text(st, 6);
		json_t *reasons = json_object_get(c->detail, "reasons");
		json_object_set_new(reasons, reason, json_integer(json_integer_value(json_object_get(reasons, reason)) + 1));
		json_t *list = json_object_get(c->detail, "payments");
		if (json_array_size(list) < ALERT_LIST_MAX)
			json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}",
				"payment_no", (const char *)sqlite3_column_text(st, 3),
				"household", (const char *)sqlite3_column_text(st, 4),
				"amount_fen", (json_int_t)sqlite3_column_int64(st, 5), "reason", reason,
				"failed_at", (json_int_t)sqlite3_column_int64(st, 7),
				"batch_no", (const char *)sqlite3_column_text(st, 8)));
		else
			json_object_set_new(c->detail, "more", json_integer(count + 1 - ALERT_LIST_MAX));
		count++;
		amount += sqlite3_column_int64(st, 5);
		json_object_set_new(c->detail, "count", json_integer(count));
		json_object_set_new(c->detail, "amount_fen", json_integer(amount));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- duplicate subsidy ---- */

/*
 * Only households with payments newer than the last pass, plus those of
 * open duplicate alerts (a failure may have cleared them), are looked at:
 * a payment that was no duplicate stays none until a newer one arrives.
 */
static int duplicates(struct alert_pass *p)
{
	sqlite3_stmt *st = db_prepare(p->db, "SELECT coalesce(max(id), 0) FROM payment");
	int64_t newest = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	st = db_prepare(p->db,
		"WITH h(household) AS ("
		" SELECT household FROM payment WHERE id > ?1 AND id <= ?2"
		" UNION SELECT json_extract(detail, '$.household') FROM alert INDEXED BY alert_open"
		"  WHERE rule = 'duplicate_subsidy' AND state <> 'resolved'"
		" UNION SELECT json_extract(detail, '$.household') FROM alert INDEXED BY alert_recheck"
		"  WHERE rule = 'duplicate_subsidy' AND recheck = 1)"
		" SELECT p.household, b.fund_type, b.period, b.department, p.payment_no, b.batch_no, p.amount_fen,"
		" p.status, e.key, r.name_zh"
		" FROM h JOIN payment p ON p.household = h.household JOIN pay_batch b ON b.id = p.batch_id"
		" JOIN entity e ON e.id = p.village_id JOIN region r ON r.entity_id = p.village_id"
		" WHERE p.status <> 'failed' AND p.id <= ?2"
		" ORDER BY p.household, b.fund_type, b.period, b.department, p.id");
	sqlite3_bind_int64(st, 1, db_meta_get(p->db, "alert_dup_payment", 0));
	sqlite3_bind_int64(st, 2, newest);
	/* Rows come grouped by (household, fund type, period); a group with two departments is a duplicate. */
	char key[ALERT_KEY_MAX] = "", last_dept[128] = "";
	json_t *group = NULL;
	int64_t n_depts = 0, amount = 0;
	int rc;
	for (;;) {
		rc = sqlite3_step(st);
		char this_key[ALERT_KEY_MAX] = "";
		if (rc == SQLITE_ROW)
			snprintf(this_key, sizeof this_key, "%s/%s/%s", sqlite3_column_text(st, 0),
				 sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
		if (group && strcmp(this_key, key) != 0) {
			if (n_depts >= 2) {
				struct alert_cand *c = alert_cand_add(&p->cands[ALERT_DUPLICATE_SUBSIDY]);
				alert_cand_detail(c, group);
				json_object_set_new(group, "amount_fen", json_integer(amount));
				c->entity_kind = "household";
				snprintf(c->key, sizeof c->key, "%s", key);
				snprintf(c->name, sizeof c->name, "%s", json_string_value(json_object_get(group, "household")));
				place(c, (const unsigned char *)json_string_value(json_object_get(group, "village")));
				c->level = ALERT_LEVEL_CRITICAL;
				c->value = (double)n_depts;
				c->threshold = 2;
			} else {
				json_decref(group);
			}
			group = NULL;
		}
		if (rc != SQLITE_ROW)
			break;
		const char *dept = (const char *)sqlite3_column_text(st, 3);
		if (!group) {
			snprintf(key, sizeof key, "%s", this_key);
			group = json_pack("{s:s, s:s, s:s, s:s, s:[], s:[]}", "household", sqlite3_column_text(st, 0),
					  "fund_type", sqlite3_column_text(st, 1), "period", sqlite3_column_text(st, 2),
					  "village", sqlite3_column_text(st, 8), "departments", "payments");
			n_depts = amount = 0;
			last_dept[0] = '\0';
		}
		if (strcmp(dept, last_dept) != 0) {
			json_array_append_new(json_object_get(group, "departments"), json_string(dept));
			snprintf(last_dept, sizeof last_dept, "%s", dept);
			n_depts++;
		}
		amount += sqlite3_column_int64(st, 6);
		json_t *list = json_object_get(group, "payments");
		if (json_array_size(list) < ALERT_LIST_MAX)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}",
				"payment_no", sqlite3_column_text(st, 4), "batch_no", sqlite3_column_text(st, 5),
				"department", dept, "amount_fen", (json_int_t)sqlite3_column_int64(st, 6),
				"status", sqlite3_column_text(st, 7), "village", sqlite3_column_text(st, 8)));
	}
	sqlite3_finalize(st);
	p->dup_hwm = newest;
	return rc == SQLITE_DONE ? 0 : -1;
}

int alert_rules_payments(struct alert_pass *p)
{
	int rc = batch_overdue(p) | failed_not_reissued(p) | duplicates(p);
	p->evaluated[ALERT_PAYMENT_OVERDUE] = p->evaluated[ALERT_PAYMENT_FAILED] = 1;
	p->evaluated[ALERT_DUPLICATE_SUBSIDY] = 1;
	return rc ? -1 : 0;
}

/* ---- allocated funds: delayed and idle ---- */

/*
 * Payments pay the oldest allocation first: the money unpaid since day D is
 * what was allocated up to D minus everything paid. The ledger's running
 * total (cum_fen) makes each figure one index probe per subject.
 */
#define ALLOC_SQL(SCOPE) \
	"WITH scope(id) AS (" SCOPE ")" \
	" SELECT t.entity_id, e.kind, e.key, coalesce(r.name_zh, pr.name), coalesce(r.code, pr.location)," \
	" t.total_fen, coalesce(l.value, 0)," \
	" (SELECT a.ts FROM alloc_event a WHERE a.entity_id = t.entity_id AND a.cum_fen > coalesce(l.value, 0)" \
	"  ORDER BY a.ts LIMIT 1)," \
	" (SELECT a.cum_fen FROM alloc_event a WHERE a.entity_id = t.entity_id AND a.ts < ?3 ORDER BY a.ts DESC LIMIT 1)," \
	" (SELECT a.cum_fen FROM alloc_event a WHERE a.entity_id = t.entity_id AND a.ts < ?4 ORDER BY a.ts DESC LIMIT 1)," \
	" (SELECT a.cum_fen FROM alloc_event a WHERE a.entity_id = t.entity_id AND a.ts < ?5 ORDER BY a.ts DESC LIMIT 1)" \
	" FROM scope s CROSS JOIN alloc_total t ON t.entity_id = s.id JOIN entity e ON e.id = t.entity_id" \
	" LEFT JOIN region r ON r.entity_id = e.id LEFT JOIN project pr ON pr.entity_id = e.id" \
	" LEFT JOIN latest l ON l.key = t.entity_id * 256 + (CASE e.kind WHEN 'village' THEN ?1 ELSE ?2 END)" \
	" WHERE t.total_fen > coalesce(l.value, 0)"

static const char alloc_sql_all[] = ALLOC_SQL("SELECT entity_id FROM alloc_total");
static const char alloc_sql_some[] = ALLOC_SQL("SELECT DISTINCT value FROM json_each(?6)");

static void alloc_subject(struct alert_cand *c, sqlite3_stmt *st)
{
	c->entity_id = sqlite3_column_int64(st, 0);
	c->entity_kind = strcmp((const char *)sqlite3_column_text(st, 1), "village") == 0 ? "village" : "project";
	alert_copy_text(c->key, sizeof c->key, sqlite3_column_text(st, 2));
	alert_copy_text(c->name, sizeof c->name, sqlite3_column_text(st, 3));
	place(c, sqlite3_column_text(st, 4));
}

static int64_t column_or_zero(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, col);
}

int alert_rules_alloc(struct alert_pass *p, const char *scope)
{
	const struct alert_options *o = p->opt;
	sqlite3_stmt *st = db_prepare(p->db, scope ? alloc_sql_some : alloc_sql_all);
	sqlite3_bind_int(st, 1, alert_metrics.paid_village);
	sqlite3_bind_int(st, 2, alert_metrics.paid_project);
	/* Allocated on day D: paid out by the end of D + alloc_days is in time; idle from D + idle_days. */
	sqlite3_bind_int64(st, 3, cst_day_start(p->today - o->alloc_days));
	sqlite3_bind_int64(st, 4, cst_day_start(p->today - o->idle_days + 1));
	sqlite3_bind_int64(st, 5, cst_day_start(p->today - o->idle_serious_days + 1));
	if (scope)
		sqlite3_bind_text(st, 6, scope, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t total = sqlite3_column_int64(st, 5), paid = (int64_t)sqlite3_column_double(st, 6);
		int64_t oldest = column_or_zero(st, 7), days = oldest ? p->today - cst_day(oldest) : 0;
		int64_t overdue = column_or_zero(st, 8) - paid, idle = column_or_zero(st, 9) - paid;
		int64_t serious = column_or_zero(st, 10) - paid;
		if (overdue > 0) {
			struct alert_cand *c = alert_cand_add(&p->cands[ALERT_ALLOC_DELAYED]);
			alloc_subject(c, st);
			c->level = days >= o->alloc_critical_days ? ALERT_LEVEL_CRITICAL : ALERT_LEVEL_WARNING;
			c->value = (double)days;
			c->threshold = (double)o->alloc_days;
			alert_cand_detail(c, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				"allocated_fen", (json_int_t)total, "paid_fen", (json_int_t)paid,
				"unpaid_fen", (json_int_t)(total - paid), "overdue_fen", (json_int_t)overdue,
				"oldest_unpaid_at", (json_int_t)oldest, "days", (json_int_t)days,
				"limit_days", (json_int_t)o->alloc_days));
		}
		if (idle > 0) {
			struct alert_cand *c = alert_cand_add(&p->cands[ALERT_IDLE_FUNDS]);
			alloc_subject(c, st);
			c->level = ALERT_LEVEL_CRITICAL;
			c->value = (double)days;
			c->threshold = (double)o->idle_days;
			alert_cand_detail(c, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				"allocated_fen", (json_int_t)total, "paid_fen", (json_int_t)paid,
				"idle_fen", (json_int_t)idle, "seriously_idle_fen", (json_int_t)(serious > 0 ? serious : 0),
				"oldest_unpaid_at", (json_int_t)oldest, "days", (json_int_t)days,
				"limit_days", (json_int_t)o->idle_days));
		}
	}
	sqlite3_finalize(st);
	p->evaluated[ALERT_ALLOC_DELAYED] = p->evaluated[ALERT_IDLE_FUNDS] = 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * alert_reconcile: the life cycle. A rule's candidates are matched with the
 * rule's open rows by subject key (both sorted, one merge), so an alert
 * fires when its condition starts, is updated quietly while it lasts, and
 * resolves when it ends: transitions only on changes, never per pass.
 * Hand-resolved rows are confirmed or reopened here, and the two timers
 * (escalation, end of a silence) run after the rules.
 */
#include "alert_int.h"

#include "db.h"
#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct open_row {
	int64_t id;
	char key[ALERT_KEY_MAX];
	char group_key[ALERT_KEY_MAX];
	char name[ALERT_NAME_MAX];
	int state, rule_severity, severity, escalation, suppressed, recheck;
	int has_value;
	double value;
	char *detail;
};

static int cmp_row(const void *a, const void *b)
{
	const struct open_row *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : x->recheck - y->recheck; /* the open row of a key before a hand-resolved one */
}

static int cmp_cand(const void *a, const void *b)
{
	return strcmp(((const struct alert_cand *)a)->key, ((const struct alert_cand *)b)->key);
}

/*
 * Rows of `rule` that are open or await a recheck, within the pass's scope
 * of the rule. The indexes are named: resolved history grows for years and
 * must never be scanned per pass.
 */
#define ROW_COLUMNS \
	"a.id, a.entity_key, a.state, a.rule_severity, a.severity, a.escalation, a.value, a.detail," \
	" coalesce(a.group_key, ''), a.suppressed, a.recheck, a.entity_name"

static size_t load_rows(struct alert_pass *p, enum alert_rule_id rule, struct open_row **out)
{
	static const char *const whole[2] = {
		"SELECT " ROW_COLUMNS " FROM alert a INDEXED BY alert_open WHERE a.rule = ?1 AND a.state <> 'resolved'",
		"SELECT " ROW_COLUMNS " FROM alert a INDEXED BY alert_recheck WHERE a.rule = ?1 AND a.recheck = 1",
	};
	static const char *const scoped[2] = {
		"SELECT " ROW_COLUMNS " FROM (SELECT DISTINCT value FROM json_each(?2)) j"
		" CROSS JOIN alert a INDEXED BY alert_open_entity ON a.entity_id = j.value"
		" WHERE a.state <> 'resolved' AND a.rule = ?1",
		"SELECT " ROW_COLUMNS " FROM alert a INDEXED BY alert_recheck WHERE a.rule = ?1 AND a.recheck = 1"
		" AND a.entity_id IN (SELECT value FROM json_each(?2))",
	};
	const char *const *sql = p->scope[rule] ? scoped : whole;
	size_t n = 0, cap = 0;
	struct open_row *rows = NULL;
	for (int q = 0; q < 2; q++) {
		sqlite3_stmt *st = db_prepare(p->db, sql[q]);
		sqlite3_bind_text(st, 1, alert_rule_name(rule), -1, SQLITE_STATIC);
		if (p->scope[rule])
			sqlite3_bind_text(st, 2, p->scope[rule], -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				rows = xreallocarray(rows, cap, sizeof *rows);
			}
			struct open_row *r = &rows[n++];
			memset(r, 0, sizeof *r);
			r->id = sqlite3_column_int64(st, 0);
			alert_copy_text(r->key, sizeof r->key, sqlite3_column_text(st, 1));
			r->state = alert_state_from_name((const char *)sqlite3_column_text(st, 2));
			r->rule_severity = alert_severity_from_name((const char *)sqlite3_column_text(st, 3));
			r->severity = alert_severity_from_name((const char *)sqlite3_column_text(st, 4));
			r->escalation = sqlite3_column_int(st, 5);
			r->has_value = sqlite3_column_type(st, 6) != SQLITE_NULL;
			r->value = sqlite3_column_double(st, 6);
			r->detail = xstrdup((const char *)sqlite3_column_text(st, 7));
			alert_copy_text(r->group_key, sizeof r->group_key, sqlite3_column_text(st, 8));
			r->suppressed = sqlite3_column_int(st, 9);
			r->recheck = sqlite3_column_int(st, 10);
			alert_copy_text(r->name, sizeof r->name, sqlite3_column_text(st, 11));
		}
		sqlite3_finalize(st);
	}
	if (n > 1)
		qsort(rows, n, sizeof *rows, cmp_row);
	*out = rows;
	return n;
}

/* Statements of one reconcile, prepared once per rule. */
struct writes {
	sqlite3_stmt *insert, *refresh, *severity, *group, *resolve, *reopen, *confirm;
};

static void writes_prepare(sqlite3 *db, struct writes *w)
{
	w->insert = db_prepare(db,
		"INSERT INTO alert(rule, entity_kind, entity_key, entity_id, entity_name, region, township, severity,"
		" rule_severity, state, value, threshold, detail, message_zh, message_en, first_fired, firing_since,"
		" last_change, group_key, suppressed)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 'firing', ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?14, ?15, ?16)");
	w->refresh = db_prepare(db,
		"UPDATE alert SET value = ?2, threshold = ?3, detail = ?4, message_zh = ?5, message_en = ?6,"
		" entity_name = ?7 WHERE id = ?1");
	w->severity = db_prepare(db,
		"UPDATE alert SET rule_severity = ?2, severity = CASE WHEN escalation > 0 THEN 'critical' ELSE ?2 END,"
		" last_change = CASE WHEN severity <> (CASE WHEN escalation > 0 THEN 'critical' ELSE ?2 END)"
		" THEN ?3 ELSE last_change END WHERE id = ?1");
	w->group = db_prepare(db,
		"UPDATE alert SET group_key = nullif(?2, ''), suppressed = ?3, last_change = ?4,"
		" firing_since = CASE WHEN ?3 = 0 AND state = 'firing' THEN ?4 ELSE firing_since END WHERE id = ?1");
	w->resolve = db_prepare(db,
		"UPDATE alert SET state = 'resolved', resolved_at = ?2, resolved_by = ?3, resolve_comment = NULL,"
		" recheck = 0, last_change = ?2 WHERE id = ?1");
	w->reopen = db_prepare(db,
		"UPDATE alert SET state = 'firing', recheck = 0, resolved_at = NULL, resolved_by = NULL,"
		" rule_severity = ?2, severity = ?2, escalation = 0, escalated_at = NULL, ack_by = NULL, ack_at = NULL,"
		" ack_comment = NULL, silenced_at = NULL, silenced_until = NULL, silenced_by = NULL, silence_reason = NULL,"
		" group_key = nullif(?4, ''), suppressed = ?5, firing_since = ?3, last_change = ?3 WHERE id = ?1");
	w->confirm = db_prepare(db, "UPDATE alert SET recheck = 0 WHERE id = ?1");
}

static void writes_finalize(struct writes *w)
{
	sqlite3_stmt *all[] = {w->insert, w->refresh, w->severity, w->group, w->resolve, w->reopen, w->confirm};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		sqlite3_finalize(all[i]);
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *severity_text(int level)
{
	return level >= ALERT_LEVEL_CRITICAL ? "critical" : "warning";
}

static int fire(struct alert_pass *p, struct alert_store *s, struct writes *w, enum alert_rule_id rule,
		const struct alert_cand *c, const char *detail_text, const struct alert_text *text)
{
	sqlite3_stmt *st = w->insert;
	sqlite3_bind_text(st, 1, alert_rule_name(rule), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->entity_kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->key, -1, SQLITE_STATIC);
	if (c->entity_id)
		sqlite3_bind_int64(st, 4, c->entity_id);
	sqlite3_bind_text(st, 5, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->region, -1, SQLITE_STATIC);
	if (c->township[0])
		sqlite3_bind_text(st, 7, c->township, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, severity_text(c->level), -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 9, c->value);
	sqlite3_bind_double(st, 10, c->threshold);
	sqlite3_bind_text(st, 11, detail_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, text->zh, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, text->en, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, p->now);
	if (c->group_key[0])
		sqlite3_bind_text(st, 15, c->group_key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 16, c->suppressed);
	if (step_done(st) < 0)
		return -1;
	json_t *value = c->value == (double)(json_int_t)c->value ? json_integer((json_int_t)c->value) : json_real(c->value);
	return alert_store_event(s, sqlite3_last_insert_rowid(p->db), ALERT_EV_FIRED, ALERT_ENGINE_ACTOR,
				 json_pack("{s:o}", "value", value), p->now);
}

static int resolve(struct alert_pass *p, struct alert_store *s, struct writes *w, const struct open_row *r)
{
	sqlite3_bind_int64(w->resolve, 1, r->id);
	sqlite3_bind_int64(w->resolve, 2, p->now);
	sqlite3_bind_text(w->resolve, 3, ALERT_ENGINE_ACTOR, -1, SQLITE_STATIC);
	if (step_done(w->resolve) < 0)
		return -1;
	return alert_store_event(s, r->id, ALERT_EV_RESOLVED, ALERT_ENGINE_ACTOR,
				 json_pack("{s:s}", "reason", "condition cleared"), p->now);
}

/* New figures of an alert still under way: no transition, people are not told again. */
static int refresh(struct writes *w, const struct open_row *r, const struct alert_cand *c, const char *detail_text,
		   const struct alert_text *text)
{
	if (r->has_value && r->value == c->value && strcmp(r->detail, detail_text) == 0 && strcmp(r->name, c->name) == 0)
		return 0;
	sqlite3_stmt *st = w->refresh;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_double(st, 2, c->value);
	sqlite3_bind_double(st, 3, c->threshold);
	sqlite3_bind_text(st, 4, detail_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, text->zh, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, text->en, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, c->name, -1, SQLITE_STATIC);
	return step_done(st);
}

/* An open row whose condition still holds: transitions only for severity and grouping. */
static int keep(struct alert_pass *p, struct alert_store *s, struct writes *w, const struct open_row *r,
		const struct alert_cand *c, const char *detail_text, const struct alert_text *text)
{
	if (refresh(w, r, c, detail_text, text) < 0)
		return -1;
	if (c->level != ALERT_LEVEL_HOLD && c->level != r->rule_severity) {
		int shown = r->escalation > 0 ? ALERT_CRITICAL : c->level;
		sqlite3_bind_int64(w->severity, 1, r->id);
		sqlite3_bind_text(w->severity, 2, severity_text(c->level), -1, SQLITE_STATIC);
		sqlite3_bind_int64(w->severity, 3, p->now);
		if (step_done(w->severity) < 0)
			return -1;
		if (shown != r->severity &&
		    alert_store_event(s, r->id, ALERT_EV_SEVERITY_CHANGED, ALERT_ENGINE_ACTOR,
				      json_pack("{s:s, s:s}", "from", severity_text(r->severity), "to", severity_text(shown)),
				      p->now) < 0)
			return -1;
	}
	if (strcmp(r->group_key, c->group_key) != 0 || r->suppressed != c->suppressed) {
		sqlite3_bind_int64(w->group, 1, r->id);
		sqlite3_bind_text(w->group, 2, c->group_key, -1, SQLITE_STATIC);
		sqlite3_bind_int(w->group, 3, c->suppressed);
		sqlite3_bind_int64(w->group, 4, p->now);
		if (step_done(w->group) < 0)
			return -1;
		enum alert_event_kind kind = c->suppressed ? ALERT_EV_GROUPED : ALERT_EV_UNGROUPED;
		json_t *d = json_pack("{s:s}", "group", c->suppressed ? c->group_key : r->group_key);
		if (alert_store_event(s, r->id, kind, ALERT_ENGINE_ACTOR, d, p->now) < 0)
			return -1;
	}
	return 0;
}

/* A row resolved by hand: reopened if the condition still holds, else confirmed. */
static int recheck(struct alert_pass *p, struct alert_store *s, struct writes *w, const struct open_row *r,
		   const struct alert_cand *c, const char *detail_text, const struct alert_text *text)
{
	if (!c || c->level == ALERT_LEVEL_HOLD) {
		sqlite3_bind_int64(w->confirm, 1, r->id);
		return step_done(w->confirm);
	}
	sqlite3_stmt *st = w->reopen;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_text(st, 2, severity_text(c->level), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->now);
	sqlite3_bind_text(st, 4, c->group_key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, c->suppressed);
	if (step_done(st) < 0 || refresh(w, r, c, detail_text, text) < 0)
		return -1;
	return alert_store_event(s, r->id, ALERT_EV_REOPENED, ALERT_ENGINE_ACTOR,
				 json_pack("{s:s}", "reason", "condition still holds after a resolve by hand"), p->now);
}

int alert_reconcile(struct alert_pass *p, struct alert_store *s, enum alert_rule_id rule)
{
	if (!p->evaluated[rule])
		return 0;
	struct alert_cands *cs = &p->cands[rule];
	if (cs->n > 1)
		qsort(cs->v, cs->n, sizeof *cs->v, cmp_cand);
	struct open_row *rows;
	size_t n_rows = load_rows(p, rule, &rows);
	struct writes w;
	writes_prepare(p->db, &w);
	int rc = 0;
	size_t i = 0, k = 0;
	while (rc == 0 && (i < cs->n || k < n_rows)) {
		int order = i >= cs->n ? 1 : k >= n_rows ? -1 : strcmp(cs->v[i].key, rows[k].key);
		if (order > 0) {                /* an alert whose subject the rule no longer names */
			const struct open_row *r = &rows[k++];
			rc = r->recheck ? recheck(p, s, &w, r, NULL, NULL, NULL) : resolve(p, s, &w, r);
			continue;
		}
		const struct alert_cand *c = &cs->v[i++];
		char *detail_text = json_dumps(c->detail, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
		struct alert_text text;
		text.zh[0] = text.en[0] = '\0';
		/* Messages only for what is written: most passes change nothing. */
		if (order < 0 || rows[k].recheck || !rows[k].has_value || rows[k].value != c->value ||
		    strcmp(rows[k].detail, detail_text) != 0 || strcmp(rows[k].name, c->name) != 0)
			alert_render(rule, c->name, c->detail, &text);
		if (order < 0) {                /* nothing open: a new alert, if it is bad enough */
			if (c->level != ALERT_LEVEL_HOLD)
				rc = fire(p, s, &w, rule, c, detail_text, &text);
		} else {                        /* its open row, and a hand-resolved one awaiting a recheck */
			int had_open = 0;      /* then a hand-resolved twin is only confirmed, never reopened */
			for (; rc == 0 && k < n_rows && strcmp(rows[k].key, c->key) == 0; k++) {
				if (!rows[k].recheck) {
					had_open = 1;
					rc = keep(p, s, &w, &rows[k], c, detail_text, &text);
				} else {
					rc = recheck(p, s, &w, &rows[k], had_open ? NULL : c, detail_text, &text);
				}
			}
		}
		free(detail_text);
	}
	writes_finalize(&w);
	for (size_t r = 0; r < n_rows; r++)
		free(rows[r].detail);
	free(rows);
	if (rc < 0)
		log_error_rl("alerts: reconciling rule %s failed: %s", alert_rule_name(rule), sqlite3_errmsg(p->db));
	return rc;
}

/* ---- timers ---- */

/* Ids a query names, collected before any of them is changed (never update under a scan). */
static size_t collect_ids(sqlite3_stmt *st, int64_t **ids)
{
	size_t n = 0, cap = 0;
	*ids = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*ids = xreallocarray(*ids, cap, sizeof **ids);
		}
		(*ids)[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

int alert_timers(struct alert_pass *p, struct alert_store *s)
{
	int rc = 0;
	int64_t *ids;
	/* Silences that ran out: back to where they were (acknowledged, or firing with a fresh clock). */
	sqlite3_stmt *st = db_prepare(p->db,
		"SELECT id FROM alert INDEXED BY alert_silenced WHERE state = 'silenced' AND silenced_until <= ?1");
	sqlite3_bind_int64(st, 1, p->now);
	size_t n = collect_ids(st, &ids);
	st = db_prepare(p->db,
		"UPDATE alert SET state = CASE WHEN ack_at IS NOT NULL THEN 'acknowledged' ELSE 'firing' END,"
		" firing_since = ?2, last_change = ?2 WHERE id = ?1");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, p->now);
		rc = step_done(st);
		if (rc == 0)
			rc = alert_store_event(s, ids[i], ALERT_EV_UNSILENCED, ALERT_ENGINE_ACTOR,
					       json_pack("{s:s}", "reason", "silence ended"), p->now);
	}
	sqlite3_finalize(st);
	free(ids);

	/* Unacknowledged too long: severity up once, and people are told again. Members wait for their cause. */
	if (rc < 0 || p->opt->escalate_after_s <= 0) /* 0: escalation switched off */
		return rc;
	st = db_prepare(p->db,
		"SELECT id FROM alert INDEXED BY alert_firing WHERE state = 'firing' AND firing_since <= ?1 AND suppressed = 0"
		" AND escalation = 0");
	sqlite3_bind_int64(st, 1, p->now - p->opt->escalate_after_s);
	n = collect_ids(st, &ids);
	sqlite3_stmt *before = db_prepare(p->db, "SELECT severity FROM alert WHERE id = ?1");
	st = db_prepare(p->db,
		"UPDATE alert SET escalation = 1, escalated_at = ?2, severity = 'critical', last_change = ?2 WHERE id = ?1");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		sqlite3_bind_int64(before, 1, ids[i]);
		json_t *d = json_pack("{s:s, s:I}", "from",
				      sqlite3_step(before) == SQLITE_ROW ? (const char *)sqlite3_column_text(before, 0) : "",
				      "after_s", (json_int_t)p->opt->escalate_after_s);
		sqlite3_reset(before);
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, p->now);
		rc = step_done(st);
		if (rc == 0)
			rc = alert_store_event(s, ids[i], ALERT_EV_ESCALATED, ALERT_ENGINE_ACTOR, d, p->now);
		else
			json_decref(d);
	}
	sqlite3_finalize(before);
	sqlite3_finalize(st);
	free(ids);
	if (rc < 0)
		log_error_rl("alerts: timers failed: %s", sqlite3_errmsg(p->db));
	return rc;
}

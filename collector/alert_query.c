/*
 * alert_query: the alert API's reads (reply schemas alert-list-reply.json,
 * alert-reply.json, alert-history-reply.json). The list puts the most
 * severe and oldest first and nests a group's members under their cause,
 * so a silent township reads as one line with its villages inside. Every
 * reply is cut to the caller's region scope in SQL.
 */
#include "alert_int.h"

#include "db.h"
#include "regcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT    500
#define HISTORY_DEFAULT 1000
#define LIMIT_MAX       5000

static int bad_request(json_t **reply, const char *field, const char *reason)
{
	*reply = json_pack("{s:s, s:s, s:s}", "error", "invalid request", "field", field, "reason", reason);
	return 400;
}

/* "open", "all" or a comma list of states -> bit per state; -1 if a name is unknown. */
static int state_mask(const char *text, int fallback)
{
	if (!text || !text[0])
		return fallback;
	if (strcmp(text, "open") == 0)
		return 0x7;
	if (strcmp(text, "all") == 0)
		return 0xf;
	int mask = 0;
	const char *p = text;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char name[16];
		if (len == 0 || len >= sizeof name)
			return -1;
		memcpy(name, p, len);
		name[len] = '\0';
		int s = alert_state_from_name(name);
		if (s < 0)
			return -1;
		mask |= 1 << s;
		p += len + (comma ? 1 : 0);
	}
	return mask;
}

/* The checked filter, with both region prefixes ready for SQL. */
struct where {
	int states;
	char scope[13], region[13];
	const char *rule, *severity, *entity, *kind;
	int64_t from, to, limit;
};

static int check_filter(const struct alert_filter *f, int default_states, int64_t default_limit, struct where *w,
			json_t **reply)
{
	memset(w, 0, sizeof *w);
	w->states = state_mask(f->state, default_states);
	if (w->states < 0)
		return bad_request(reply, "state",
				   "must be open, all, or a comma list of firing, acknowledged, silenced, resolved");
	if (f->rule && f->rule[0] && alert_rule_from_name(f->rule) < 0)
		return bad_request(reply, "rule", "is not a known alert rule (schemas/alerts.md)");
	if (f->severity && f->severity[0] && !alert_severity_from_name(f->severity))
		return bad_request(reply, "severity", "must be warning or critical");
	if (f->kind && f->kind[0] && alert_event_from_name(f->kind) < 0)
		return bad_request(reply, "kind", "is not a known transition kind");
	if (alert_code_prefix(f->scope, w->scope) < 0)
		return bad_request(reply, "scope", "is not a division code");
	if (alert_code_prefix(f->region, w->region) < 0)
		return bad_request(reply, "region", "must be a 12-digit division code");
	if (f->limit < 0 || f->limit > LIMIT_MAX)
		return bad_request(reply, "limit", "must be between 1 and 5000");
	w->rule = f->rule && f->rule[0] ? f->rule : NULL;
	w->severity = f->severity && f->severity[0] ? f->severity : NULL;
	w->entity = f->entity && f->entity[0] ? f->entity : NULL;
	w->kind = f->kind && f->kind[0] ? f->kind : NULL;
	w->from = f->from;
	w->to = f->to > 0 ? f->to : INT64_MAX;
	w->limit = f->limit ? f->limit : default_limit;
	return 0;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *text)
{
	if (text)
		sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

#define STATE_BIT(COL) \
	"(CASE " COL " WHEN 'firing' THEN 1 WHEN 'acknowledged' THEN 2 WHEN 'silenced' THEN 4 ELSE 8 END)"
#define IN_PREFIX(COL, P) "(" P " = '' OR substr(" COL ", 1, length(" P ")) = " P ")"

int alert_query_list(sqlite3 *db, const struct alert_filter *f, json_t **reply)
{
	struct where w;
	int status = check_filter(f, 0x7, LIST_DEFAULT, &w, reply);
	if (status)
		return status;
	/* States by name through the list index; 'critical' sorts before 'warning', as it should. */
	sqlite3_stmt *st = db_prepare(db,
		"SELECT " ALERT_ROW_COLUMNS " FROM alert INDEXED BY alert_list"
		" WHERE state IN (?1, ?8, ?9, ?10) AND (?2 IS NULL OR rule = ?2) AND (?3 IS NULL OR severity = ?3)"
		" AND (?4 IS NULL OR entity_key = ?4) AND " IN_PREFIX("region", "?5") " AND " IN_PREFIX("region", "?6")
		" ORDER BY severity, first_fired, id LIMIT ?7");
	for (int s = 0, slot = 0; s < 4; s++)
		if (w.states & (1 << s)) {
			static const int params[] = {1, 8, 9, 10};
			sqlite3_bind_text(st, params[slot++], alert_state_name((enum alert_state)s), -1, SQLITE_STATIC);
		}
	bind_opt(st, 2, w.rule);
	bind_opt(st, 3, w.severity);
	bind_opt(st, 4, w.entity);
	sqlite3_bind_text(st, 5, w.scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, w.region, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, w.limit);
	json_t *rows = json_array(), *causes = json_object();
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *a = alert_row_json(st);
		json_array_append_new(rows, a);
		const char *group = json_string_value(json_object_get(a, "group"));
		if (group && !json_is_true(json_object_get(a, "suppressed")))
			json_object_set(causes, group, a);
		n++;
	}
	sqlite3_finalize(st);
	/* Members under their cause when the cause is in the reply; on their own otherwise. */
	json_t *top = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(rows, i, a) {
		const char *group = json_string_value(json_object_get(a, "group"));
		json_t *cause = group && json_is_true(json_object_get(a, "suppressed")) ? json_object_get(causes, group) : NULL;
		if (cause) {
			json_t *members = json_object_get(cause, "members");
			if (!members)
				json_object_set_new(cause, "members", members = json_array());
			json_array_append(members, a);
		} else {
			json_array_append(top, a);
		}
	}
	json_decref(rows);
	json_decref(causes);
	*reply = json_pack("{s:o, s:I, s:b}", "alerts", top, "count", (json_int_t)n, "truncated", n == (size_t)w.limit);
	return 200;
}

static json_t *history_of(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT id, alert_id, ts, kind, actor, severity, state, value, detail FROM alert_event"
		" WHERE alert_id = ?1 ORDER BY id");
	sqlite3_bind_int64(st, 1, id);
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, alert_event_row_json(st));
	sqlite3_finalize(st);
	return list;
}

int alert_query_one(sqlite3 *db, int64_t id, const char *scope, json_t **reply)
{
	json_t *a = alert_load_json(db, id);
	if (!a || !alert_in_scope(json_string_value(json_object_get(a, "region")), scope)) {
		json_decref(a);
		*reply = json_pack("{s:s, s:s}", "error", "not found", "reason", "no such alert in your region");
		return 404;
	}
	json_t *members = json_array();
	const char *group = json_string_value(json_object_get(a, "group"));
	if (group && !json_is_true(json_object_get(a, "suppressed"))) {
		sqlite3_stmt *st = db_prepare(db,
			"SELECT " ALERT_ROW_COLUMNS " FROM alert WHERE group_key = ?1 AND suppressed = 1"
			" AND state <> 'resolved' ORDER BY entity_key");
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t *m = alert_row_json(st);
			if (alert_in_scope(json_string_value(json_object_get(m, "region")), scope))
				json_array_append_new(members, m);
			else
				json_decref(m);
		}
		sqlite3_finalize(st);
	}
	*reply = json_pack("{s:o, s:o, s:o}", "alert", a, "history", history_of(db, id), "members", members);
	return 200;
}

/* Two shapes: by entity (its alerts, then their events) or by time (the event index, newest first). */
#define HISTORY_SQL(FROM, ENTITY) \
	"SELECT ev.id, ev.alert_id, ev.ts, ev.kind, ev.actor, ev.severity, ev.state, ev.value, ev.detail," \
	" a.rule, a.entity_key, a.entity_name, a.region" \
	" FROM " FROM \
	" WHERE " ENTITY " AND ev.ts >= ?1 AND ev.ts <= ?2 AND (?3 IS NULL OR a.rule = ?3)" \
	" AND (" STATE_BIT("ev.state") " & ?4) <> 0 AND (?5 IS NULL OR ev.kind = ?5)" \
	" AND " IN_PREFIX("a.region", "?6") " AND " IN_PREFIX("a.region", "?7") \
	" ORDER BY ev.ts DESC, ev.id DESC LIMIT ?9"

static const char history_by_entity[] =
	HISTORY_SQL("alert a CROSS JOIN alert_event ev ON ev.alert_id = a.id", "a.entity_key = ?8");
static const char history_by_time[] =
	HISTORY_SQL("alert_event ev CROSS JOIN alert a ON a.id = ev.alert_id", "?8 IS NULL");

int alert_query_history(sqlite3 *db, const struct alert_filter *f, json_t **reply)
{
	struct where w;
	int status = check_filter(f, 0xf, HISTORY_DEFAULT, &w, reply);
	if (status)
		return status;
	sqlite3_stmt *st = db_prepare(db, w.entity ? history_by_entity : history_by_time);
	sqlite3_bind_int64(st, 1, w.from);
	sqlite3_bind_int64(st, 2, w.to);
	bind_opt(st, 3, w.rule);
	sqlite3_bind_int(st, 4, w.states);
	bind_opt(st, 5, w.kind);
	sqlite3_bind_text(st, 6, w.scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, w.region, -1, SQLITE_STATIC);
	bind_opt(st, 8, w.entity);
	sqlite3_bind_int64(st, 9, w.limit);
	json_t *events = json_array();
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *e = alert_event_row_json(st);
		json_object_set_new(e, "rule", json_string((const char *)sqlite3_column_text(st, 9)));
		json_object_set_new(e, "entity", json_string((const char *)sqlite3_column_text(st, 10)));
		json_object_set_new(e, "entity_name", json_string((const char *)sqlite3_column_text(st, 11)));
		json_object_set_new(e, "region", json_string((const char *)sqlite3_column_text(st, 12)));
		json_array_append_new(events, e);
		n++;
	}
	sqlite3_finalize(st);
	*reply = json_pack("{s:o, s:I, s:b}", "events", events, "count", (json_int_t)n, "truncated", n == (size_t)w.limit);
	return 200;
}

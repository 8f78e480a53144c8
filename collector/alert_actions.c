/*
 * alert_actions: what people do to alerts through the API: acknowledge,
 * silence, unsilence, resolve by hand, comment, acknowledge a whole group.
 * Each runs in one write transaction on the caller's connection: the check
 * of the alert's state and scope, the change, its history row and the
 * audit-log entry commit together; listeners hear of it after COMMIT.
 */
#include "alert_int.h"

#include "auth.h"
#include "db.h"
#include "log.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct current {
	int state;
	int acked;
	char region[13];
	char ack_by[96];
};

static int error_reply(json_t **reply, int status, const char *field, const char *reason)
{
	const char *error = status == 404 ? "not found" : status == 409 ? "conflict"
			  : status >= 500 ? "unavailable" : "invalid request";
	*reply = json_pack("{s:s, s:s}", "error", error, "reason", reason);
	if (field)
		json_object_set_new(*reply, "field", json_string(field));
	return status;
}

/* A comment or reason: valid UTF-8 (json_string checks it), at most ALERT_COMMENT_MAX characters. */
static const char *check_text(const char *text, int required)
{
	if (!text || !text[0])
		return required ? "is required" : NULL;
	size_t chars = 0;
	for (const char *p = text; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	if (chars > ALERT_COMMENT_MAX)
		return "is longer than 1000 characters";
	json_t *probe = json_string(text);
	if (!probe)
		return "is not valid UTF-8";
	json_decref(probe);
	return NULL;
}

/* 0 and the row's state, or an error reply (404 unknown or out of scope). */
static int load_current(sqlite3 *db, int64_t id, const struct alert_actor *who, struct current *c, json_t **reply)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT state, ack_at IS NOT NULL, region, coalesce(ack_by, '') FROM alert WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		c->state = alert_state_from_name((const char *)sqlite3_column_text(st, 0));
		c->acked = sqlite3_column_int(st, 1);
		snprintf(c->region, sizeof c->region, "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(c->ack_by, sizeof c->ack_by, "%s", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	if (!found || !alert_in_scope(c->region, who->scope))
		return error_reply(reply, 404, NULL, "no such alert in your region");
	return 0;
}

static int exec_bound(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The end of every action: audit, COMMIT, deliver, reply with the alert. */
static int finish(sqlite3 *db, struct alert_store *s, int64_t id, const struct alert_actor *who, const char *action,
		  const char *detail, int64_t now, json_t **reply)
{
	char target[32];
	snprintf(target, sizeof target, "alert:%lld", (long long)id);
	auth_audit(db, who->name, action, target, detail, who->peer, now);
	if (db_commit(db) < 0) {
		db_rollback(db);
		alert_store_fini(s);
		return error_reply(reply, 503, NULL, "the database refused the change; retry");
	}
	alert_store_deliver(s);
	alert_store_fini(s);
	json_t *alert = alert_load_json(db, id);
	*reply = json_pack("{s:o}", "alert", alert ? alert : json_null());
	return 200;
}

static int fail(sqlite3 *db, struct alert_store *s, json_t **reply)
{
	log_error_rl("alerts: an action failed: %s", sqlite3_errmsg(db));
	db_rollback(db);
	alert_store_fini(s);
	return error_reply(reply, 503, NULL, "the database refused the change; retry");
}

/* Begin, load, check the state; 0 to go on, else the reply's status. */
static int begin(sqlite3 *db, int64_t id, const struct alert_actor *who, struct current *c, json_t **reply)
{
	if (db_begin(db) < 0)
		return error_reply(reply, 503, NULL, "the database is busy; retry");
	int status = load_current(db, id, who, c, reply);
	if (status)
		db_rollback(db);
	return status;
}

static int refuse(sqlite3 *db, json_t **reply, const char *reason)
{
	db_rollback(db);
	return error_reply(reply, 409, "state", reason);
}

int alert_ack(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
	      json_t **reply)
{
	const char *why = check_text(comment, 0);
	if (why)
		return error_reply(reply, 422, "comment", why);
	struct current c;
	int status = begin(db, id, who, &c, reply);
	if (status)
		return status;
	if (c.state == ALERT_RESOLVED)
		return refuse(db, reply, "the alert is resolved");
	if (c.acked) {
		char reason[160];
		snprintf(reason, sizeof reason, "already acknowledged by %s", c.ack_by);
		return refuse(db, reply, reason);
	}
	struct alert_store s;
	alert_store_init(&s, db);
	sqlite3_stmt *st = db_prepare(db,
		"UPDATE alert SET ack_by = ?2, ack_at = ?3, ack_comment = nullif(?4, ''), last_change = ?3,"
		" state = CASE WHEN state = 'firing' THEN 'acknowledged' ELSE state END WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, comment ? comment : "", -1, SQLITE_STATIC);
	if (exec_bound(st) < 0 ||
	    alert_store_event(&s, id, ALERT_EV_ACKNOWLEDGED, who->name, json_pack("{s:s?}", "comment", comment), now) < 0)
		return fail(db, &s, reply);
	return finish(db, &s, id, who, "alert.ack", comment, now, reply);
}

int alert_silence(sqlite3 *db, int64_t id, const struct alert_actor *who, int64_t until, const char *reason,
		  int64_t now, json_t **reply)
{
	const char *why = check_text(reason, 1);
	if (why)
		return error_reply(reply, 422, "reason", why);
	if (until != 0 && until <= now)
		return error_reply(reply, 422, "until", "must be in the future, or 0 for until the alert resolves");
	struct current c;
	int status = begin(db, id, who, &c, reply);
	if (status)
		return status;
	if (c.state == ALERT_RESOLVED)
		return refuse(db, reply, "the alert is resolved");
	struct alert_store s;
	alert_store_init(&s, db);
	sqlite3_stmt *st = db_prepare(db,
		"UPDATE alert SET state = 'silenced', silenced_at = ?2, silenced_until = nullif(?3, 0), silenced_by = ?4,"
		" silence_reason = ?5, last_change = ?2 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, until);
	sqlite3_bind_text(st, 4, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	json_t *d = json_pack("{s:s, s:o}", "reason", reason, "until", until ? json_integer(until) : json_null());
	if (exec_bound(st) < 0 || alert_store_event(&s, id, ALERT_EV_SILENCED, who->name, d, now) < 0)
		return fail(db, &s, reply);
	char detail[1100];
	if (until)
		snprintf(detail, sizeof detail, "until %lld: %s", (long long)until, reason);
	else
		snprintf(detail, sizeof detail, "until resolved: %s", reason);
	return finish(db, &s, id, who, "alert.silence", detail, now, reply);
}

int alert_unsilence(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
		    json_t **reply)
{
	const char *why = check_text(comment, 0);
	if (why)
		return error_reply(reply, 422, "comment", why);
	struct current c;
	int status = begin(db, id, who, &c, reply);
	if (status)
		return status;
	if (c.state != ALERT_SILENCED)
		return refuse(db, reply, "the alert is not silenced");
	struct alert_store s;
	alert_store_init(&s, db);
	sqlite3_stmt *st = db_prepare(db,
		"UPDATE alert SET state = CASE WHEN ack_at IS NOT NULL THEN 'acknowledged' ELSE 'firing' END,"
		" firing_since = ?2, last_change = ?2 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (exec_bound(st) < 0 ||
	    alert_store_event(&s, id, ALERT_EV_UNSILENCED, who->name, json_pack("{s:s?}", "comment", comment), now) < 0)
		return fail(db, &s, reply);
	return finish(db, &s, id, who, "alert.unsilence", comment, now, reply);
}

int alert_resolve(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
		  json_t **reply)
{
	const char *why = check_text(comment, 1);
	if (why)
		return error_reply(reply, 422, "comment", why);
	struct current c;
	int status = begin(db, id, who, &c, reply);
	if (status)
		return status;
	if (c.state == ALERT_RESOLVED)
		return refuse(db, reply, "the alert is already resolved");
	struct alert_store s;
	alert_store_init(&s, db);
	/* recheck: the engine's next pass reopens it if the condition still holds. */
	sqlite3_stmt *st = db_prepare(db,
		"UPDATE alert SET state = 'resolved', resolved_at = ?2, resolved_by = ?3, resolve_comment = ?4,"
		" recheck = 1, last_change = ?2 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, who->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, comment, -1, SQLITE_STATIC);
	json_t *d = json_pack("{s:s, s:b}", "comment", comment, "by_hand", 1);
	if (exec_bound(st) < 0 || alert_store_event(&s, id, ALERT_EV_RESOLVED, who->name, d, now) < 0)
		return fail(db, &s, reply);
	return finish(db, &s, id, who, "alert.resolve", comment, now, reply);
}

int alert_comment(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
		  json_t **reply)
{
	const char *why = check_text(comment, 1);
	if (why)
		return error_reply(reply, 422, "comment", why);
	struct current c;
	int status = begin(db, id, who, &c, reply);
	if (status)
		return status;
	struct alert_store s;
	alert_store_init(&s, db);
	if (alert_store_event(&s, id, ALERT_EV_COMMENTED, who->name, json_pack("{s:s}", "comment", comment), now) < 0)
		return fail(db, &s, reply);
	return finish(db, &s, id, who, "alert.comment", comment, now, reply);
}

int alert_ack_group(sqlite3 *db, const char *group_key, const struct alert_actor *who, const char *comment,
		    int64_t now, json_t **reply)
{
	const char *why = check_text(comment, 0);
	if (why)
		return error_reply(reply, 422, "comment", why);
	if (!group_key || !group_key[0])
		return error_reply(reply, 422, "group", "is required");
	if (db_begin(db) < 0)
		return error_reply(reply, 503, NULL, "the database is busy; retry");
	/* The cause decides visibility: a group is the caller's if its cause is. */
	sqlite3_stmt *st = db_prepare(db,
		"SELECT id, region, suppressed, ack_at IS NULL FROM alert WHERE group_key = ?1 AND state <> 'resolved'"
		" ORDER BY suppressed, id");
	sqlite3_bind_text(st, 1, group_key, -1, SQLITE_STATIC);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0, open = 0;
	int cause_visible = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int visible = alert_in_scope((const char *)sqlite3_column_text(st, 1), who->scope);
		if (open++ == 0)
			cause_visible = visible && sqlite3_column_int(st, 2) == 0;
		if (!visible || !sqlite3_column_int(st, 3))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			ids = xreallocarray(ids, cap, sizeof *ids);
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (!open || !cause_visible || n == 0) {
		free(ids);
		if (open && cause_visible)
			return refuse(db, reply, "every alert of the group is already acknowledged");
		db_rollback(db);
		return error_reply(reply, 404, "group", "no such open group in your region");
	}
	struct alert_store s;
	alert_store_init(&s, db);
	st = db_prepare(db,
		"UPDATE alert SET ack_by = ?2, ack_at = ?3, ack_comment = nullif(?4, ''), last_change = ?3,"
		" state = CASE WHEN state = 'firing' THEN 'acknowledged' ELSE state END WHERE id = ?1");
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_text(st, 2, who->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_text(st, 4, comment ? comment : "", -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(st);
		if (rc == 0)
			rc = alert_store_event(&s, ids[i], ALERT_EV_ACKNOWLEDGED, who->name,
					       json_pack("{s:s?, s:s}", "comment", comment, "group", group_key), now);
	}
	sqlite3_finalize(st);
	if (rc < 0) {
		free(ids);
		return fail(db, &s, reply);
	}
	char target[ALERT_KEY_MAX + 8];
	snprintf(target, sizeof target, "group:%s", group_key);
	auth_audit(db, who->name, "alert.ack_group", target, comment, who->peer, now);
	if (db_commit(db) < 0) {
		free(ids);
		db_rollback(db);
		alert_store_fini(&s);
		return error_reply(reply, 503, NULL, "the database refused the change; retry");
	}
	alert_store_deliver(&s);
	alert_store_fini(&s);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *a = alert_load_json(db, ids[i]);
		if (a)
			json_array_append_new(list, a);
	}
	free(ids);
	*reply = json_pack("{s:I, s:o}", "acknowledged", (json_int_t)n, "alerts", list);
	return 200;
}

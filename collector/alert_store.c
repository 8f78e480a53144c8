/*
 * alert_store: the alert rows as JSON, the history of transitions, and the
 * delivery of transitions to listeners. Every transition, whoever makes it
 * (engine or person), goes through alert_store_event: one history row, one
 * note; notes are delivered only after the caller's COMMIT, so a listener
 * never announces something a rollback took back.
 */
#include "alert_int.h"

#include "db.h"
#include "log.h"
#include "regcode.h"
#include "xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTENERS 8

static struct {
	pthread_mutex_t lock;
	struct {
		alert_listener fn;
		void *arg;
	} list[MAX_LISTENERS];
	size_t n;
} listeners = {.lock = PTHREAD_MUTEX_INITIALIZER};

int alert_add_listener(alert_listener fn, void *arg)
{
	pthread_mutex_lock(&listeners.lock);
	int rc = -1;
	if (listeners.n < MAX_LISTENERS) {
		listeners.list[listeners.n].fn = fn;
		listeners.list[listeners.n].arg = arg;
		listeners.n++;
		rc = 0;
	}
	pthread_mutex_unlock(&listeners.lock);
	return rc;
}

void alert_remove_listener(alert_listener fn, void *arg)
{
	pthread_mutex_lock(&listeners.lock);
	for (size_t i = 0; i < listeners.n; i++)
		if (listeners.list[i].fn == fn && listeners.list[i].arg == arg) {
			memmove(&listeners.list[i], &listeners.list[i + 1], (listeners.n - i - 1) * sizeof listeners.list[0]);
			listeners.n--;
			break;
		}
	pthread_mutex_unlock(&listeners.lock);
}

int alert_transition_notifies(const struct alert_transition *t)
{
	if (t->suppressed)
		return 0;
	switch (t->kind) {
	case ALERT_EV_FIRED:
	case ALERT_EV_ESCALATED:
	case ALERT_EV_REOPENED:
	case ALERT_EV_UNSILENCED:
	case ALERT_EV_UNGROUPED:
		return t->state == ALERT_FIRING; /* handled (acknowledged) or silenced alerts stay quiet */
	case ALERT_EV_SEVERITY_CHANGED:
		return t->state == ALERT_FIRING && t->severity == ALERT_CRITICAL;
	case ALERT_EV_RESOLVED:
		return 1; /* people who were told it started want to know it ended */
	default:
		return 0; /* acknowledgements and comments are people's own doing */
	}
}

const char *alert_transition_json(const struct alert_transition *t) { return t->json; }

/* ---- rows as JSON ---- */

static json_t *number_or_null(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	double v = sqlite3_column_double(st, col);
	if (!isfinite(v))
		return json_null();
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *int_or_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null() : json_integer(sqlite3_column_int64(st, col));
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? json_string((const char *)t) : json_null();
}

static json_t *detail_json(sqlite3_stmt *st, int col)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	json_t *d = text ? json_loads(text, 0, NULL) : NULL;
	return d ? d : json_object();
}

json_t *alert_row_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
	json_object_set_new(o, "rule", text_or_null(st, 1));
	json_object_set_new(o, "entity_kind", text_or_null(st, 2));
	json_object_set_new(o, "entity", text_or_null(st, 3));
	json_object_set_new(o, "entity_name", text_or_null(st, 4));
	json_object_set_new(o, "region", text_or_null(st, 5));
	json_object_set_new(o, "township", text_or_null(st, 6));
	json_object_set_new(o, "severity", text_or_null(st, 7));
	json_object_set_new(o, "rule_severity", text_or_null(st, 8));
	json_object_set_new(o, "state", text_or_null(st, 9));
	json_object_set_new(o, "value", number_or_null(st, 10));
	json_object_set_new(o, "threshold", number_or_null(st, 11));
	json_object_set_new(o, "detail", detail_json(st, 12));
	json_object_set_new(o, "message", text_or_null(st, 13));
	json_object_set_new(o, "message_en", text_or_null(st, 14));
	json_object_set_new(o, "fired_at", int_or_null(st, 15));
	json_object_set_new(o, "changed_at", int_or_null(st, 16));
	json_object_set_new(o, "acked_by", text_or_null(st, 17));
	json_object_set_new(o, "acked_at", int_or_null(st, 18));
	json_object_set_new(o, "comment", text_or_null(st, 19));
	json_object_set_new(o, "silenced_at", int_or_null(st, 20));
	json_object_set_new(o, "silenced_until", int_or_null(st, 21));
	json_object_set_new(o, "silenced_by", text_or_null(st, 22));
	json_object_set_new(o, "silence_reason", text_or_null(st, 23));
	json_object_set_new(o, "resolved_at", int_or_null(st, 24));
	json_object_set_new(o, "resolved_by", text_or_null(st, 25));
	json_object_set_new(o, "resolve_comment", text_or_null(st, 26));
	json_object_set_new(o, "escalation", json_integer(sqlite3_column_int64(st, 27)));
	json_object_set_new(o, "escalated_at", int_or_null(st, 28));
	json_object_set_new(o, "group", text_or_null(st, 29));
	json_object_set_new(o, "suppressed", json_boolean(sqlite3_column_int(st, 30)));
	json_object_set_new(o, "firing_since", int_or_null(st, 31));
	return o;
}

json_t *alert_load_json(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " ALERT_ROW_COLUMNS " FROM alert WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	json_t *o = sqlite3_step(st) == SQLITE_ROW ? alert_row_json(st) : NULL;
	sqlite3_finalize(st);
	return o;
}

json_t *alert_event_row_json(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "alert_id", (json_int_t)sqlite3_column_int64(st, 1),
			 "ts", (json_int_t)sqlite3_column_int64(st, 2),
			 "kind", text_or_null(st, 3), "actor", text_or_null(st, 4),
			 "severity", text_or_null(st, 5), "state", text_or_null(st, 6),
			 "value", number_or_null(st, 7), "detail", detail_json(st, 8));
}

/* ---- transitions ---- */

void alert_store_init(struct alert_store *s, sqlite3 *db)
{
	memset(s, 0, sizeof *s);
	s->db = db;
	s->tail = &s->notes;
	s->st_event = db_prepare(db,
		"INSERT INTO alert_event(alert_id, ts, kind, actor, severity, state, value, detail)"
		" SELECT id, ?2, ?3, ?4, severity, state, value, ?5 FROM alert WHERE id = ?1");
	s->st_row = db_prepare(db, "SELECT " ALERT_ROW_COLUMNS " FROM alert WHERE id = ?1");
}

static void note_free(struct alert_note *n)
{
	json_decref(n->alert);
	json_decref(n->event);
	free(n->alert_json);
	free(n->json);
	free(n);
}

void alert_store_fini(struct alert_store *s)
{
	for (struct alert_note *n = s->notes, *next; n; n = next) {
		next = n->next;
		note_free(n);
	}
	s->notes = NULL;
	s->tail = &s->notes;
	sqlite3_finalize(s->st_event);
	sqlite3_finalize(s->st_row);
	s->st_event = s->st_row = NULL;
}

void alert_copy_text(char *dst, size_t cap, const void *src)
{
	const char *text = src ? src : "";
	size_t n = strlen(text);
	if (n >= cap) { /* cut on a character boundary: names are Chinese */
		n = cap - 1;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, text, n);
	dst[n] = '\0';
}
int alert_store_event(struct alert_store *s, int64_t alert_id, enum alert_event_kind kind, const char *actor,
		      json_t *detail, int64_t now)
{
	if (!detail)
		detail = json_object();
	char *detail_text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	sqlite3_stmt *st = s->st_event;
	sqlite3_bind_int64(st, 1, alert_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, alert_event_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail_text, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(detail_text);
	if (rc != SQLITE_DONE || sqlite3_changes(s->db) != 1) {
		log_error_rl("alerts: recording a transition of alert %lld failed: %s", (long long)alert_id,
			     sqlite3_errmsg(s->db));
		json_decref(detail);
		return -1;
	}
	int64_t event_id = sqlite3_last_insert_rowid(s->db);
	st = s->st_row;
	sqlite3_bind_int64(st, 1, alert_id);
	json_t *alert = sqlite3_step(st) == SQLITE_ROW ? alert_row_json(st) : NULL;
	sqlite3_reset(st);
	if (!alert) {
		json_decref(detail);
		return -1;
	}
	struct alert_note *n = xcalloc(1, sizeof *n);
	n->alert = alert;
	n->event = json_pack("{s:I, s:I, s:I, s:s, s:s, s:o}", "id", (json_int_t)event_id, "alert_id",
			     (json_int_t)alert_id, "ts", (json_int_t)now, "kind", alert_event_name(kind),
			     "actor", actor, "detail", detail);
	n->alert_json = json_dumps(alert, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_t *both = json_pack("{s:O, s:O}", "event", n->event, "alert", alert);
	n->json = json_dumps(both, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(both);
	alert_copy_text(n->actor, sizeof n->actor, actor);
	alert_copy_text(n->region, sizeof n->region, json_string_value(json_object_get(alert, "region")));
	alert_copy_text(n->group_key, sizeof n->group_key, json_string_value(json_object_get(alert, "group")));
	int rule = alert_rule_from_name(json_string_value(json_object_get(alert, "rule")));
	n->pub = (struct alert_transition){
		.event_id = event_id, .alert_id = alert_id, .ts = now, .kind = kind,
		.rule = rule < 0 ? ALERT_PAYMENT_OVERDUE : (enum alert_rule_id)rule,
		.severity = (enum alert_severity)alert_severity_from_name(json_string_value(json_object_get(alert, "severity"))),
		.state = (enum alert_state)alert_state_from_name(json_string_value(json_object_get(alert, "state"))),
		.suppressed = json_is_true(json_object_get(alert, "suppressed")),
		.actor = n->actor, .region = n->region, .group_key = n->group_key,
		.alert = n->alert, .event = n->event, .alert_json = n->alert_json, .json = n->json,
	};
	*s->tail = n;
	s->tail = &n->next;
	return 0;
}

void alert_store_deliver(struct alert_store *s)
{
	struct alert_note *list = s->notes;
	s->notes = NULL;
	s->tail = &s->notes;
	alert_listener fns[MAX_LISTENERS];
	void *args[MAX_LISTENERS];
	pthread_mutex_lock(&listeners.lock);
	size_t n = listeners.n;
	for (size_t i = 0; i < n; i++) {
		fns[i] = listeners.list[i].fn;
		args[i] = listeners.list[i].arg;
	}
	pthread_mutex_unlock(&listeners.lock);
	for (struct alert_note *note = list, *next; note; note = next) {
		next = note->next;
		alert_cache_put(&note->pub);
		for (size_t i = 0; i < n; i++)
			fns[i](&note->pub, args[i]);
		note_free(note);
	}
}

/* ---- scope ---- */

int alert_code_prefix(const char *code, char out[13])
{
	static const size_t lengths[] = {[REGCODE_PROVINCE] = 2, [REGCODE_PREFECTURE] = 4, [REGCODE_COUNTY] = 6,
					 [REGCODE_TOWNSHIP] = 9, [REGCODE_VILLAGE] = 12};
	out[0] = '\0';
	if (!code || !code[0])
		return 0;
	enum regcode_level level = regcode_level(code);
	if (level == REGCODE_INVALID || level > REGCODE_VILLAGE)
		return -1;
	memcpy(out, code, lengths[level]);
	out[lengths[level]] = '\0';
	return 0;
}

int alert_in_scope(const char *region, const char *scope)
{
	return !scope || !scope[0] || (region && regcode_is_within(region, scope));
}

/*
 * alert: the alert engine. The poverty office acts on alerts, so an alert
 * must fire once when its condition starts, stay one row while it lasts,
 * and resolve when it ends; people acknowledge, silence, comment and
 * resolve it, and every transition is kept. The engine runs on its own
 * thread with its own SQLite connection: every rule each eval_interval,
 * and the affected rules within ~dirty_delay_ms of a committed ingest.
 * Rules, thresholds and their sources: schemas/alerts.md.
 */
#ifndef ALERT_H
#define ALERT_H

#include "ingest.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum alert_rule_id {
	ALERT_PAYMENT_OVERDUE,
	ALERT_PAYMENT_FAILED,
	ALERT_ALLOC_DELAYED,
	ALERT_IDLE_FUNDS,
	ALERT_DUPLICATE_SUBSIDY,
	ALERT_PROJECT_BEHIND,
	ALERT_PROJECT_STALLED,
	ALERT_PROJECT_SILENT,
	ALERT_MILESTONE_OVERDUE,
	ALERT_MONITORING_OVERDUE,  /* households flagged at risk not helped in time */
	ALERT_TOWNSHIP_SILENT,     /* before village_silent: the cause is settled before its members */
	ALERT_VILLAGE_SILENT,
	ALERT_RULES
};

enum alert_severity { ALERT_WARNING = 1, ALERT_CRITICAL = 2 };
enum alert_state { ALERT_FIRING, ALERT_ACKNOWLEDGED, ALERT_SILENCED, ALERT_RESOLVED };
enum alert_event_kind {
	ALERT_EV_FIRED,
	ALERT_EV_ESCALATED,
	ALERT_EV_ACKNOWLEDGED,
	ALERT_EV_COMMENTED,
	ALERT_EV_SILENCED,
	ALERT_EV_UNSILENCED,
	ALERT_EV_RESOLVED,
	ALERT_EV_REOPENED,
	ALERT_EV_SEVERITY_CHANGED,
	ALERT_EV_GROUPED,
	ALERT_EV_UNGROUPED,
	ALERT_EV_KINDS
};

const char *alert_rule_name(enum alert_rule_id rule);          /* "payment_overdue" */
int alert_rule_from_name(const char *name);                      /* -1 if unknown */
const char *alert_severity_name(enum alert_severity severity);  /* "warning" */
const char *alert_state_name(enum alert_state state);           /* "firing" */
const char *alert_event_name(enum alert_event_kind kind);       /* "fired" */

/*
 * Every threshold, with the domain brief's default (alert_options_default).
 * Integers only, so each maps onto one conf setting: ratios are per mille.
 */
struct alert_options {
	const char *db_path;
	int64_t (*clock)(void);            /* NULL: time(NULL) */
	int manual;                        /* tests: no thread; call alert_evaluate_now */
	int64_t eval_interval_s;           /* every rule, this often */
	int64_t dirty_delay_ms;            /* after an ingest, gather more before evaluating */
	int64_t escalate_after_s;          /* unacknowledged this long: severity up, notify again; 0 never */
	int64_t resolved_keep_s;           /* resolved alerts stay in the live snapshot this long */
	int64_t batch_overdue_hours;       /* bank credits within 24 h of receiving the funds */
	int64_t batch_critical_hours;
	int64_t batch_critical_fen;        /* waiting amount that makes an overdue batch critical */
	int64_t failed_reissue_days;
	int64_t alloc_days;                /* allocated funds paid out within 30 days */
	int64_t alloc_critical_days;
	int64_t idle_days;
	int64_t idle_serious_days;         /* reported in the detail, not a separate alert */
	int64_t spi_warning_permille;      /* fires below */
	int64_t spi_critical_permille;     /* critical below */
	int64_t spi_clear_permille;        /* resolves at or above (hysteresis) */
	int64_t spi_critical_clear_permille; /* critical falls back to warning at or above */
	int64_t spi_min_planned_pct;       /* no SPI judgement before this much is planned */
	int64_t stalled_days;
	int64_t project_silent_days;
	int64_t milestone_critical_days;
	int64_t village_silent_days;
	int64_t township_silent_pct;       /* share of a township's villages silent: one township alert */
	int64_t township_min_villages;
	int64_t monitoring_days;           /* a household flagged at risk is helped within 15 days */
};

void alert_options_default(struct alert_options *opt);

/* ---- the engine ---- */

int alert_engine_start(const struct alert_options *opt, char *err, size_t errlen);
/* Finish the pass under way and stop; listeners stay registered. */
void alert_engine_stop(void);
/* ingestq observer (ingest worker thread, after COMMIT): marks subjects dirty. */
void alert_observe(const struct ingest_effects *fx, void *arg);
/* Tests and tools: run every rule now, synchronously, at time `now`. */
int alert_evaluate_now(int64_t now);
/* Tests: evaluate only what alert_observe marked dirty, as the thread would. */
int alert_evaluate_dirty_now(int64_t now);
/* Passes finished since start (tests wait on it). */
uint64_t alert_passes(void);

/* ---- transitions and listeners ---- */

struct alert_transition {
	int64_t event_id, alert_id, ts;
	enum alert_event_kind kind;
	enum alert_rule_id rule;
	enum alert_severity severity;   /* after the transition */
	enum alert_state state;         /* after the transition */
	int suppressed;                 /* a member under its group's cause */
	const char *actor;              /* "engine" or the user */
	const char *region;             /* 12 digits: filter by the receiver's scope */
	const char *group_key;          /* "" when none */
	const json_t *alert;            /* the alert after the change (alert-reply.json $defs/alert) */
	const json_t *event;            /* {id, alert_id, ts, kind, actor, detail} */
	const char *alert_json;         /* the alert as compact JSON text */
	const char *json;               /* {"event":...,"alert":...} ready to send (alert-transition.json) */
};

typedef void (*alert_listener)(const struct alert_transition *t, void *arg);

/* Called on the engine thread, or on the thread of the action (API readers):
 * listeners must be quick and thread-safe. Up to 8. */
int alert_add_listener(alert_listener fn, void *arg);
void alert_remove_listener(alert_listener fn, void *arg);
/* Whether people should be told (push it to a webhook): not a suppressed
 * member, not silenced, and a kind that asks for attention. */
int alert_transition_notifies(const struct alert_transition *t);
const char *alert_transition_json(const struct alert_transition *t);

/*
 * The live "alerts" snapshot from memory (no SQLite): open alerts and those
 * resolved within resolved_keep_s, inside `scope` ("" all). A JSON array
 * text, malloc'd; "[]" when the engine is not running.
 */
char *alert_snapshot_json(const char *scope);

/* ---- actions (API reader threads, their own connection) ---- */

struct alert_actor {
	const char *name;     /* as in the audit log: user name, token:<name>, fpmctl */
	const char *scope;    /* division-code prefix the caller may act in; "" all */
	const char *peer;     /* client address for the audit log */
};

/*
 * Each returns an HTTP status and a reply (api_reply_json steals it):
 * 200 {"alert": ...}; 404 unknown or outside the caller's scope; 409 not in
 * a state that allows it; 422 a bad argument. History, audit log and
 * listeners get the transition. Comments are at most 1000 characters.
 */
int alert_ack(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
	      json_t **reply);
/* until: a Unix time in the future, or 0 = until the alert resolves. */
int alert_silence(sqlite3 *db, int64_t id, const struct alert_actor *who, int64_t until, const char *reason,
		  int64_t now, json_t **reply);
int alert_unsilence(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
		    json_t **reply);
/* By hand: if the condition still holds at the next evaluation, it reopens. */
int alert_resolve(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
		  json_t **reply);
int alert_comment(sqlite3 *db, int64_t id, const struct alert_actor *who, const char *comment, int64_t now,
		  json_t **reply);
/* The cause and every member of a group; 200 {"acknowledged": n, "alerts": [...]}. */
int alert_ack_group(sqlite3 *db, const char *group_key, const struct alert_actor *who, const char *comment,
		    int64_t now, json_t **reply);

/* ---- queries (API reader threads) ---- */

struct alert_filter {
	const char *scope;      /* the caller's scope; "" all */
	const char *region;     /* narrower division code (prefix by level); NULL any */
	const char *state;      /* "open" (default for lists), "all", or comma list of states */
	const char *rule;       /* NULL any */
	const char *severity;   /* NULL any */
	const char *entity;     /* entity key (code, project id, batch_no); NULL any */
	const char *kind;       /* history: event kind; NULL any */
	int64_t from, to;       /* history: event time range, 0 = open-ended */
	int64_t limit;          /* 0 = default (500 alerts, 1000 events) */
};

/* GET /api/v1/alerts: most severe first, then oldest; members nested under their cause. */
int alert_query_list(sqlite3 *db, const struct alert_filter *f, json_t **reply);
/* GET /api/v1/alerts/<id>: the alert, its history and its members. */
int alert_query_one(sqlite3 *db, int64_t id, const char *scope, json_t **reply);
/* GET /api/v1/alerts/history: transitions by entity, rule, state, kind, time. */
int alert_query_history(sqlite3 *db, const struct alert_filter *f, json_t **reply);

/* ---- webhook payloads (the sender lives on the lws event loop) ---- */

enum alert_webhook_format { ALERT_WEBHOOK_JSON, ALERT_WEBHOOK_DINGTALK, ALERT_WEBHOOK_WECOM };

int alert_webhook_format_parse(const char *name, enum alert_webhook_format *fmt); /* json, dingtalk, wecom */
/* A malloc'd request body; 0, or -1 on allocation failure. */
int alert_webhook_body(const struct alert_transition *t, enum alert_webhook_format fmt, char **body);

#endif

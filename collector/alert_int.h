/*
 * alert_int: what the alert engine's files share and nothing outside
 * should use. A pass reads the rules' verdicts (candidates) in one read
 * transaction, then reconciles them with the alert rows in one short write
 * transaction, and only after COMMIT delivers the transitions it made.
 * Actions from the API use the same store functions on their connection.
 */
#ifndef ALERT_INT_H
#define ALERT_INT_H

#include "alert.h"
#include "plan.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#define ALERT_ENGINE_ACTOR "engine"
#define ALERT_KEY_MAX      160
#define ALERT_NAME_MAX     128
#define ALERT_COMMENT_MAX  1000
#define ALERT_LIST_MAX     20     /* payments or milestones listed in one alert's detail */

/* What a rule says about one subject. HOLD: keep an open alert as it is, open none. */
enum alert_level { ALERT_LEVEL_HOLD = 0, ALERT_LEVEL_WARNING = 1, ALERT_LEVEL_CRITICAL = 2 };
_Static_assert((int)ALERT_LEVEL_WARNING == (int)ALERT_WARNING && (int)ALERT_LEVEL_CRITICAL == (int)ALERT_CRITICAL,
	       "a level compares directly with the severity of an open alert");

struct alert_cand {
	char key[ALERT_KEY_MAX];
	const char *entity_kind;      /* static: village, township, project, batch, household */
	int64_t entity_id;            /* 0 when the subject is not an entity */
	char name[ALERT_NAME_MAX];
	char region[13], township[13];
	int level;
	double value, threshold;
	json_t *detail;               /* owned */
	char group_key[ALERT_KEY_MAX];
	int suppressed;
};

struct alert_cands {
	struct alert_cand *v;
	size_t n, cap;
};

struct alert_cand *alert_cand_add(struct alert_cands *c);   /* zeroed, detail = {} */
void alert_cand_detail(struct alert_cand *c, json_t *detail);  /* replaces; steals */
void alert_cands_free(struct alert_cands *c);

/* One evaluation pass: which rules ran over what, and their candidates. */
struct alert_pass {
	sqlite3 *db;
	const struct alert_options *opt;
	int64_t now, today;           /* today: Shanghai day number */
	const struct plan_set *plans;
	int evaluated[ALERT_RULES];
	char *scope[ALERT_RULES];     /* NULL: the whole rule; else a JSON array of entity ids */
	struct alert_cands cands[ALERT_RULES];
	int64_t dup_hwm;              /* payments checked for duplicates up to this id; -1 unchanged */
};

/* Catalog indexes the rules need (set once by the engine). */
struct alert_metrics {
	int progress, alloc_village, paid_village, alloc_project, paid_project;
	int village_lo, village_hi;   /* range of village metrics clients report */
	int64_t village_mask;         /* bit per metric index in that range that counts as "data" */
};
extern struct alert_metrics alert_metrics;
int alert_metrics_init(void);

/* ---- rules (alert_rules_*.c): fill pass->cands, read-only ---- */

int alert_rules_payments(struct alert_pass *p);          /* overdue, failed, duplicate: whole */
int alert_rules_alloc(struct alert_pass *p, const char *scope);
int alert_rules_projects(struct alert_pass *p, const char *scope);
int alert_rules_milestones(struct alert_pass *p);        /* whole */
int alert_rules_villages(struct alert_pass *p, const char *scope); /* township + village silent */
int alert_rules_monitoring(struct alert_pass *p);        /* whole */

/* ---- store (alert_store.c): rows, history and transitions ---- */

struct alert_note {
	struct alert_note *next;
	struct alert_transition pub;
	json_t *alert, *event;
	char *alert_json, *json;
	char actor[96], region[13], group_key[ALERT_KEY_MAX];
};

struct alert_store {
	sqlite3 *db;
	sqlite3_stmt *st_event, *st_row;
	struct alert_note *notes, **tail;
};

void alert_store_init(struct alert_store *s, sqlite3 *db);
void alert_store_fini(struct alert_store *s);   /* frees undelivered notes */
/* Record a transition of row `alert_id` (already updated): history + note. detail is stolen. */
int alert_store_event(struct alert_store *s, int64_t alert_id, enum alert_event_kind kind, const char *actor,
		      json_t *detail, int64_t now);
/* After COMMIT: live cache, then listeners; the notes are freed. */
void alert_store_deliver(struct alert_store *s);

/* Columns of an alert row in the order alert_row_json reads them. */
#define ALERT_ROW_COLUMNS \
	"id, rule, entity_kind, entity_key, entity_name, region, township, severity, rule_severity, state," \
	" value, threshold, detail, message_zh, message_en, first_fired, last_change, ack_by, ack_at," \
	" ack_comment, silenced_at, silenced_until, silenced_by, silence_reason, resolved_at, resolved_by," \
	" resolve_comment, escalation, escalated_at, group_key, suppressed, firing_since"
json_t *alert_row_json(sqlite3_stmt *st);
/* The alert row `id` as JSON, NULL if none. */
json_t *alert_load_json(sqlite3 *db, int64_t id);
json_t *alert_event_row_json(sqlite3_stmt *st);  /* id, alert_id, ts, kind, actor, severity, state, value, detail */

int alert_reconcile(struct alert_pass *p, struct alert_store *s, enum alert_rule_id rule);
/* Escalations and silences that ran out. */
int alert_timers(struct alert_pass *p, struct alert_store *s);

/* ---- text (alert_text.c) ---- */

struct alert_text {
	char zh[1024], en[1024];
};
void alert_render(enum alert_rule_id rule, const char *name, const json_t *detail, struct alert_text *out);
void alert_fmt_yuan(int64_t fen, char *buf, size_t cap);        /* "1234.50" */
void alert_fmt_time(int64_t ts, char *buf, size_t cap);         /* "2026-11-25 10:00" Shanghai */
int alert_severity_from_name(const char *name);                 /* 0 unknown */
int alert_state_from_name(const char *name);                    /* -1 unknown */
int alert_event_from_name(const char *name);                    /* -1 unknown */
const char *alert_rule_title(enum alert_rule_id rule, int zh);

/* ---- live cache (alert_cache.c) ---- */

void alert_cache_load(sqlite3 *db, int64_t now, int64_t keep_s);
void alert_cache_put(const struct alert_transition *t);
void alert_cache_clear(void);
int alert_cache_active(void);

/* A bounded copy of a C string or a SQLite text column (NULL: ""), never ending inside a character. */
void alert_copy_text(char *dst, size_t cap, const void *src);

/* Scope helpers: the significant prefix of a division code ("610824100000" -> "610824100"). */
int alert_code_prefix(const char *code, char out[13]);
int alert_in_scope(const char *region, const char *scope);

#endif

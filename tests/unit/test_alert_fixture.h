/*
 * test_alert_fixture: what the alert scenario tests share. A small county in
 * a temporary database (testutil.h), the real ingest core fed with JSON as
 * the worker would, its effects handed to the alert observer, the engine in
 * manual mode on a clock the test moves, and a listener that records every
 * transition so a test can assert exactly what fired, and when.
 */
#ifndef TEST_ALERT_FIXTURE_H
#define TEST_ALERT_FIXTURE_H

#include "alert.h"
#include "conf.h"
#include "cst.h"
#include "ingest.h"
#include "testutil.h"

#include <jansson.h>
#include <stdarg.h>

#define MAX_SEEN 512
#define FIXTURE __attribute__((unused)) static

struct seen {
	enum alert_event_kind kind;
	enum alert_rule_id rule;
	enum alert_severity severity;
	enum alert_state state;
	int suppressed, notifies;
	int64_t alert_id, ts;
	char entity[64];
	char actor[64];
};

FIXTURE struct test_env env;
FIXTURE struct ingest_ctx *ictx;
FIXTURE struct ingest_effects fx;
FIXTURE int64_t now;
FIXTURE struct seen seen[MAX_SEEN];
FIXTURE size_t n_seen;
FIXTURE struct ingest_source everything = {.id = 1, .name = "test", .scope = "", .kinds = (1u << ING_KINDS) - 1};
FIXTURE struct alert_options aopt;
FIXTURE void (*fixture_tune)(struct alert_options *o); /* a test's thresholds, before the engine starts */

FIXTURE int64_t test_clock(void) { return now; }

/* Unix time of a Shanghai date and hour. */
FIXTURE int64_t at(const char *date, int hour)
{
	int64_t day;
	const char *why;
	if (cst_date_parse(date, &day, &why) < 0)
		abort();
	return cst_day_start(day) + hour * 3600;
}

FIXTURE void record(const struct alert_transition *t, void *arg)
{
	(void)arg;
	if (n_seen == MAX_SEEN)
		return;
	struct seen *s = &seen[n_seen++];
	s->kind = t->kind;
	s->rule = t->rule;
	s->severity = t->severity;
	s->state = t->state;
	s->suppressed = t->suppressed;
	s->notifies = alert_transition_notifies(t);
	s->alert_id = t->alert_id;
	s->ts = t->ts;
	snprintf(s->entity, sizeof s->entity, "%s", json_string_value(json_object_get(t->alert, "entity")));
	snprintf(s->actor, sizeof s->actor, "%s", t->actor);
}

FIXTURE void engine_start(void)
{
	char err[256];
	assert_int_equal(alert_engine_start(&aopt, err, sizeof err), 0);
}

FIXTURE int fixture_setup(void)
{
	conf_defaults();
	if (test_env_setup(&env) < 0)
		return -1;
	ictx = ingest_ctx_new(env.db);
	ingest_set_clock(ictx, test_clock);
	alert_options_default(&aopt);
	aopt.db_path = env.db_path;
	aopt.clock = test_clock;
	aopt.manual = 1;
	if (fixture_tune)
		fixture_tune(&aopt);
	char err[256];
	if (alert_engine_start(&aopt, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	alert_add_listener(record, NULL);
	return 0;
}

/* A fresh county and engine with `tune`'s thresholds (NULL: the defaults), nothing seen yet. */
FIXTURE int fixture_setup_tuned(void (*tune)(struct alert_options *o))
{
	n_seen = 0;
	fixture_tune = tune;
	return fixture_setup();
}

/* cmocka setup for a test with the default thresholds. */
FIXTURE int alert_setup(void **state)
{
	(void)state;
	return fixture_setup_tuned(NULL);
}

FIXTURE void fixture_teardown(void)
{
	alert_remove_listener(record, NULL);
	alert_engine_stop();
	ingest_ctx_free(ictx);
	ingest_effects_free(&fx);
	test_env_teardown(&env);
}

FIXTURE int alert_teardown(void **state)
{
	(void)state;
	fixture_teardown();
	return 0;
}

/* One ingest request at the current time, committed, its effects observed. Returns accepted. */
__attribute__((format(printf, 2, 3)))
FIXTURE long long post(enum ingest_kind kind, const char *fmt, ...)
{
	char body[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	char *reply = NULL;
	size_t len = 0;
	ingest_effects_reset(&fx);
	assert_int_equal(db_begin(env.db), 0);
	int status = ingest_handle(ictx, &everything, kind, body, strlen(body), &fx, &reply, &len);
	assert_int_equal(db_commit(env.db), 0);
	if (status != 200)
		fprintf(stderr, "ingest %d: %.*s\n", status, (int)len, reply);
	assert_int_equal(status, 200);
	json_t *r = json_loadb(reply, len, 0, NULL);
	free(reply);
	long long accepted = json_integer_value(json_object_get(r, "accepted"));
	if (json_array_size(json_object_get(r, "errors"))) {
		char *errors = json_dumps(json_object_get(r, "errors"), 0);
		fprintf(stderr, "ingest errors: %s\n", errors);
		free(errors);
	}
	json_decref(r);
	alert_observe(&fx, NULL);
	return accepted;
}

FIXTURE long long batch_no;

/* A village sample (what the township reports). */
FIXTURE void village_sample(const char *village, const char *metric, double value)
{
	post(ING_SAMPLES, "{\"batch_id\":\"s%lld\",\"samples\":[{\"entity\":\"%s\",\"metric\":\"%s\",\"ts\":%lld,\"value\":%.17g}]}",
	     ++batch_no, village, metric, (long long)now, value);
}

/* Transitions recorded since mark, of a rule (or any: -1) and kind (or any: -1). */
FIXTURE size_t count_seen(size_t mark, int rule, int kind)
{
	size_t n = 0;
	for (size_t i = mark; i < n_seen; i++)
		if ((rule < 0 || (int)seen[i].rule == rule) && (kind < 0 || (int)seen[i].kind == kind))
			n++;
	return n;
}

FIXTURE const struct seen *last_seen(int rule, int kind)
{
	for (size_t i = n_seen; i-- > 0;)
		if ((rule < 0 || (int)seen[i].rule == rule) && (kind < 0 || (int)seen[i].kind == kind))
			return &seen[i];
	return NULL;
}

FIXTURE long long open_alerts(const char *rule)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM alert WHERE state <> 'resolved' AND rule = '%s'", rule);
	return test_count(env.db, sql);
}

/* A text column of the open alert of rule and entity. */
FIXTURE char *open_field(const char *rule, const char *entity, const char *column)
{
	static char buf[2048];
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM alert WHERE state <> 'resolved' AND rule = '%s' AND entity_key = '%s'",
		 column, rule, entity);
	sqlite3_stmt *st = db_prepare(env.db, sql);
	buf[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

FIXTURE int64_t open_id(const char *rule, const char *entity)
{
	return strtoll(open_field(rule, entity, "id"), NULL, 10);
}

FIXTURE void eval_at(int64_t t)
{
	now = t;
	assert_int_equal(alert_evaluate_now(t), 0);
}

FIXTURE void eval_dirty_at(int64_t t)
{
	now = t;
	assert_int_equal(alert_evaluate_dirty_now(t), 0);
}

FIXTURE const struct alert_actor office = {.name = "wang.li", .scope = "", .peer = "10.0.0.7"};

#endif

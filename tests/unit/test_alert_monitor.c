/*
 * test_alert_monitor: households under return-to-poverty monitoring, from
 * the ingest message to the monitoring_overdue alert, on a clock the test
 * moves: the 15-day deadline counted in Shanghai days, one alert per village
 * listing its households, identification alone not enough, help or a
 * removed risk clearing a household, corrections, the verdicts of bad items,
 * a configured limit, a partial pass after an ingest, and a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_alert_fixture.h"

/* One household's record; `more` is extra JSON members (",\"helped_at\":...") or "". */
static long long household(const char *id, const char *village, int64_t flagged, const char *more)
{
	return post(ING_MONITORING, "{\"batch_id\":\"h%lld\",\"households\":[{\"household\":\"%s\",\"village\":\"%s\","
		    "\"category\":\"at_risk\",\"flagged_at\":%lld%s}]}", ++batch_no, id, village, (long long)flagged, more);
}

static json_t *open_detail(const char *village)
{
	json_t *d = json_loads(open_field("monitoring_overdue", village, "detail"), 0, NULL);
	assert_non_null(d);
	return d;
}

static void test_fires_after_15_days_per_village_until_helped(void **state)
{
	(void)state;
	now = at("2026-03-01", 10);
	int64_t flagged = at("2026-03-01", 9);
	household("H-610824100201-007", TEST_VILLAGE1, flagged, "");
	household("H-610824100201-012", TEST_VILLAGE1, flagged, "");
	now = at("2026-03-05", 10);
	household("H-610824200201-003", TEST_VILLAGE3, at("2026-03-05", 9), "");
	/* Flagged 1 March: in time until the end of 16 March. */
	eval_at(at("2026-03-16", 23));
	assert_int_equal(count_seen(0, ALERT_MONITORING_OVERDUE, -1), 0);
	eval_at(at("2026-03-17", 0));
	assert_int_equal(count_seen(0, ALERT_MONITORING_OVERDUE, ALERT_EV_FIRED), 1);
	const struct seen *f = last_seen(ALERT_MONITORING_OVERDUE, ALERT_EV_FIRED);
	assert_string_equal(f->entity, TEST_VILLAGE1);
	assert_int_equal(f->severity, ALERT_WARNING);
	assert_true(f->notifies);
	json_t *d = open_detail(TEST_VILLAGE1);
	assert_int_equal(json_integer_value(json_object_get(d, "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "not_identified")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "max_days")), 16);
	assert_int_equal(json_integer_value(json_object_get(d, "limit_days")), 15);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(d, "households"), 0),
							      "household")), "H-610824100201-007");
	json_decref(d);
	assert_non_null(strstr(open_field("monitoring_overdue", TEST_VILLAGE1, "message_zh"), "H-610824100201-012"));
	assert_non_null(strstr(open_field("monitoring_overdue", TEST_VILLAGE1, "message_en"), "2 households"));

	/* The office acknowledges (else it would escalate after 4 h). */
	json_t *reply = NULL;
	assert_int_equal(alert_ack(env.db, open_id("monitoring_overdue", TEST_VILLAGE1), &office, "乡镇已安排走访", now,
				   &reply), 200);
	json_decref(reply);

	/* Identified is not helped: still overdue, figures updated quietly. */
	size_t mark = n_seen;
	now = at("2026-03-18", 9);
	household("H-610824100201-007", TEST_VILLAGE1, flagged, ",\"identified_at\":1773795000");
	eval_at(now);
	assert_int_equal(count_seen(mark, ALERT_MONITORING_OVERDUE, -1), 0);
	d = open_detail(TEST_VILLAGE1);
	assert_int_equal(json_integer_value(json_object_get(d, "not_identified")), 1);
	json_decref(d);

	/* Help in place for one: the alert stays with one household; village 3 fires on its own day. */
	household("H-610824100201-007", TEST_VILLAGE1, flagged, ",\"helped_at\":1773795000");
	eval_at(at("2026-03-21", 0));
	assert_int_equal(count_seen(mark, ALERT_MONITORING_OVERDUE, ALERT_EV_FIRED), 1);
	assert_string_equal(last_seen(ALERT_MONITORING_OVERDUE, ALERT_EV_FIRED)->entity, TEST_VILLAGE3);
	d = open_detail(TEST_VILLAGE1);
	assert_int_equal(json_integer_value(json_object_get(d, "count")), 1);
	json_decref(d);

	/* The other's risk is removed: village 1 resolves, by the engine; village 3 stays. */
	now = at("2026-03-21", 10);
	household("H-610824100201-012", TEST_VILLAGE1, flagged, ",\"risk_removed_at\":1774058000");
	eval_at(now);
	assert_int_equal(count_seen(mark, ALERT_MONITORING_OVERDUE, ALERT_EV_RESOLVED), 1);
	assert_string_equal(last_seen(ALERT_MONITORING_OVERDUE, ALERT_EV_RESOLVED)->entity, TEST_VILLAGE1);
	assert_string_equal(last_seen(ALERT_MONITORING_OVERDUE, ALERT_EV_RESOLVED)->actor, "engine");
	assert_int_equal(open_alerts("monitoring_overdue"), 1);

	/* A correction (help was recorded by mistake: null clears it) brings the village back. */
	household("H-610824100201-007", TEST_VILLAGE1, flagged, ",\"helped_at\":null");
	eval_at(at("2026-03-22", 0));
	assert_int_equal(count_seen(mark, ALERT_MONITORING_OVERDUE, ALERT_EV_FIRED), 2);
	assert_int_equal(open_alerts("monitoring_overdue"), 2);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert WHERE rule = 'monitoring_overdue'"), 3);
}

static void test_an_ingest_alone_triggers_the_rule(void **state)
{
	(void)state;
	now = at("2026-06-01", 9);
	/* Reported late: flagged 20 days ago, never helped. The partial pass after the ingest sees it. */
	household("H-9", TEST_VILLAGE2, now - 20 * 86400, "");
	eval_dirty_at(now);
	assert_int_equal(count_seen(0, ALERT_MONITORING_OVERDUE, ALERT_EV_FIRED), 1);
	/* Help reported: the next partial pass resolves it. */
	household("H-9", TEST_VILLAGE2, now - 20 * 86400, ",\"helped_at\":1780200000");
	eval_dirty_at(now + 60);
	assert_int_equal(count_seen(0, ALERT_MONITORING_OVERDUE, ALERT_EV_RESOLVED), 1);
	/* Nothing about monitoring changed: a partial pass leaves the rule alone. */
	size_t mark = n_seen;
	village_sample(TEST_VILLAGE1, "poor_hh", 3);
	eval_dirty_at(now + 120);
	assert_int_equal(count_seen(mark, ALERT_MONITORING_OVERDUE, -1), 0);
}

/* The reply of one request, whatever its status. */
static json_t *send(const char *body, int *status)
{
	char *reply = NULL;
	size_t len = 0;
	ingest_effects_reset(&fx);
	assert_int_equal(db_begin(env.db), 0);
	*status = ingest_handle(ictx, &everything, ING_MONITORING, body, strlen(body), &fx, &reply, &len);
	assert_int_equal(db_commit(env.db), 0);
	json_t *r = json_loadb(reply, len, 0, NULL);
	free(reply);
	return r;
}

static const char *error_field(json_t *r, size_t i, const char *what)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(r, "errors"), i), what));
}

static void test_verdicts_name_the_field(void **state)
{
	(void)state;
	now = at("2026-04-10", 9);
	char body[2048];
	snprintf(body, sizeof body,
		 "{\"batch_id\":\"v1\",\"households\":["
		 "{\"household\":\"H1\",\"village\":\"%s\",\"category\":\"at_risk\",\"flagged_at\":%lld},"
		 "{\"household\":\"H2\",\"village\":\"610824999999\",\"category\":\"at_risk\",\"flagged_at\":%lld},"
		 "{\"household\":\"H3\",\"village\":\"%s\",\"category\":\"rich\",\"flagged_at\":%lld},"
		 "{\"household\":\"H4\",\"village\":\"%s\",\"category\":\"hardship\",\"flagged_at\":%lld,\"helped_at\":%lld},"
		 "{\"household\":\"H5\",\"village\":\"%s\",\"category\":\"unstable\",\"flagged_at\":%lld},"
		 "{\"household\":\"H6\",\"village\":\"%s\",\"category\":\"unstable\",\"flagged_at\":%lld,\"name\":\"张三\"}]}",
		 TEST_VILLAGE1, (long long)now, (long long)now, TEST_VILLAGE1, (long long)now, TEST_VILLAGE1,
		 (long long)now, (long long)(now - 86400), TEST_VILLAGE1, (long long)(now + 7 * 86400), TEST_VILLAGE1,
		 (long long)now);
	int status;
	json_t *r = send(body, &status);
	assert_int_equal(status, 200);
	assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "rejected")), 5);
	assert_string_equal(error_field(r, 0, "field"), "households[1].village");
	assert_string_equal(error_field(r, 1, "field"), "households[2].category");
	assert_string_equal(error_field(r, 2, "field"), "households[3].helped_at");
	assert_string_equal(error_field(r, 2, "reason"), "is before flagged_at");
	assert_string_equal(error_field(r, 3, "field"), "households[4].flagged_at");
	assert_string_equal(error_field(r, 3, "reason"), "is in the future");
	assert_string_equal(error_field(r, 4, "field"), "households[5].name"); /* no personal data beyond the id */
	json_decref(r);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM monitor_household"), 1);
	assert_int_equal(fx.monitoring_changed, 1);

	/* The same batch again: the first verdict, nothing stored twice. */
	r = send(body, &status);
	assert_int_equal(status, 200);
	assert_true(json_is_true(json_object_get(r, "replayed")));
	json_decref(r);

	/* The envelope: the array is required. */
	r = send("{\"batch_id\":\"v2\",\"items\":[]}", &status);
	assert_int_equal(status, 400);
	json_decref(r);
}

static void five_days(struct alert_options *o) { o->monitoring_days = 5; }

static int setup_five(void **state)
{
	(void)state;
	return fixture_setup_tuned(five_days);
}

static void test_limit_is_configurable(void **state)
{
	(void)state;
	now = at("2026-05-01", 8);
	household("H-5", TEST_VILLAGE4, now, "");
	eval_at(at("2026-05-06", 23));
	assert_int_equal(open_alerts("monitoring_overdue"), 0);
	eval_at(at("2026-05-07", 0));
	assert_int_equal(open_alerts("monitoring_overdue"), 1);
	assert_string_equal(open_field("monitoring_overdue", TEST_VILLAGE4, "threshold"), "5.0");
}

static void test_restart_resumes(void **state)
{
	(void)state;
	now = at("2026-07-01", 9);
	household("H-7", TEST_VILLAGE1, now, "");
	household("H-8", TEST_VILLAGE2, now, "");
	eval_at(at("2026-07-20", 9));
	assert_int_equal(open_alerts("monitoring_overdue"), 2);
	alert_engine_stop();
	now = at("2026-07-20", 12); /* while the engine is down, village 1's household gets help */
	household("H-7", TEST_VILLAGE1, at("2026-07-01", 9), ",\"helped_at\":1784500000");
	engine_start();
	size_t mark = n_seen;
	eval_at(now);
	assert_int_equal(count_seen(mark, ALERT_MONITORING_OVERDUE, ALERT_EV_RESOLVED), 1);
	assert_int_equal(count_seen(mark, -1, ALERT_EV_FIRED), 0);
	assert_int_equal(open_alerts("monitoring_overdue"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fires_after_15_days_per_village_until_helped, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_an_ingest_alone_triggers_the_rule, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_verdicts_name_the_field, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_limit_is_configurable, setup_five, alert_teardown),
		cmocka_unit_test_setup_teardown(test_restart_resumes, alert_setup, alert_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

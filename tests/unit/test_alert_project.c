/*
 * test_alert_project: project and data rules as scenarios over weeks of
 * simulated time, fed through the real ingest core: a project late against
 * its milestone plan that catches up (with hysteresis, no flapping), one
 * whose progress stalls and then goes silent, late milestones listed in one
 * alert, and a township whose villages all go silent: one township alert,
 * the villages grouped under it, acknowledged together.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_alert_fixture.h"

static void report(const char *project, double pct)
{
	post(ING_PROGRESS, "{\"batch_id\":\"g%lld\",\"reports\":[{\"project\":\"%s\",\"ts\":%lld,\"progress_pct\":%.17g}]}",
	     ++batch_no, project, (long long)now, pct);
}

static void milestone(const char *project, const char *name, const char *planned, double weight, const char *done)
{
	char done_field[64] = "";
	if (done)
		snprintf(done_field, sizeof done_field, ",\"done_date\":\"%s\"", done);
	char planned_field[64] = "";
	if (planned)
		snprintf(planned_field, sizeof planned_field, ",\"planned_date\":\"%s\",\"weight\":%g", planned, weight);
	assert_int_equal(post(ING_MILESTONES, "{\"batch_id\":\"m%lld\",\"milestones\":[{\"project\":\"%s\",\"name\":\"%s\"%s%s}]}",
			      ++batch_no, project, name, planned_field, done_field), 1);
}

static void ack(const char *rule, const char *entity)
{
	json_t *reply = NULL;
	assert_int_equal(alert_ack(env.db, open_id(rule, entity), &office, "已安排", now, &reply), 200);
	json_decref(reply);
}

static void test_project_behind_schedule_catches_up(void **state)
{
	(void)state;
	now = at("2026-03-01", 9);
	/* Plan: 0 % on 01-01, 25 % on 03-01, 50 % on 05-01, 100 % on 12-31. */
	milestone("XM001", "羊舍建设", "2026-03-01", 1, "2026-02-28");
	milestone("XM001", "引种", "2026-05-01", 1, NULL);
	milestone("XM001", "出栏", "2026-12-31", 2, NULL);
	size_t mark = n_seen;

	now = at("2026-04-01", 0);
	report("XM001", 35); /* planned 37.7 %: SPI 0.928 */
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_PROJECT_BEHIND, ALERT_EV_FIRED), 1);
	assert_int_equal(last_seen(ALERT_PROJECT_BEHIND, -1)->severity, ALERT_WARNING);
	assert_string_equal(open_field("project_behind", "XM001", "value"), "0.928");
	assert_string_equal(open_field("project_behind", "XM001", "region"), TEST_VILLAGE1);
	assert_string_equal(open_field("project_behind", "XM001", "township"), TEST_TOWN_A);
	ack("project_behind", "XM001");

	/* No report for two weeks while the plan moves on: 35 / 43.9 = 0.80, critical. */
	eval_at(at("2026-04-16", 0));
	assert_int_equal(count_seen(mark, ALERT_PROJECT_BEHIND, ALERT_EV_SEVERITY_CHANGED), 1);
	assert_int_equal(last_seen(ALERT_PROJECT_BEHIND, -1)->severity, ALERT_CRITICAL);

	/* Catching up to 0.958: back to warning, but not resolved (it must reach 0.97). */
	now = at("2026-04-16", 0);
	report("XM001", 42);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_PROJECT_BEHIND, ALERT_EV_SEVERITY_CHANGED), 2);
	assert_int_equal(last_seen(ALERT_PROJECT_BEHIND, -1)->severity, ALERT_WARNING);
	/* Drifting around 0.95 over the following days: no flapping. */
	size_t quiet = n_seen;
	for (int h = 6; h <= 96; h += 6)
		eval_at(at("2026-04-16", h));
	assert_int_equal(count_seen(quiet, ALERT_PROJECT_BEHIND, -1), 0);

	now = at("2026-04-20", 10);
	report("XM001", 47); /* 47 / 45.7 = 1.03 */
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_PROJECT_BEHIND, ALERT_EV_RESOLVED), 1);
	assert_int_equal(last_seen(ALERT_PROJECT_BEHIND, ALERT_EV_RESOLVED)->ts, now);
	assert_int_equal(count_seen(mark, ALERT_PROJECT_BEHIND, -1), 5); /* fired, 2 severity, ack, resolved */
	assert_int_equal(open_alerts("project_behind"), 0);
}

static void test_project_stalled_then_silent(void **state)
{
	(void)state;
	/* XM001 without milestones: planned straight from 01-01 to 12-31. */
	const char *dates[] = {"2026-02-01", "2026-03-01", "2026-03-15", "2026-04-14"};
	double pct[] = {20, 30, 30, 30};
	for (int i = 0; i < 4; i++) {
		now = at(dates[i], 10);
		report("XM001", pct[i]);
		report("XM002", 10 + i); /* XM002 keeps moving */
	}
	size_t mark = n_seen;
	eval_at(at("2026-04-29", 12)); /* 30 % since 03-01: 59 days */
	assert_int_equal(count_seen(mark, ALERT_PROJECT_STALLED, -1), 0);
	eval_at(at("2026-04-30", 0));
	assert_int_equal(count_seen(mark, ALERT_PROJECT_STALLED, ALERT_EV_FIRED), 1);
	const struct seen *s = last_seen(ALERT_PROJECT_STALLED, ALERT_EV_FIRED);
	assert_string_equal(s->entity, "XM001");
	assert_int_equal(s->severity, ALERT_CRITICAL);
	assert_non_null(strstr(open_field("project_stalled", "XM001", "message_zh"), "进度停在 30.0% 已 60 天"));

	eval_at(at("2026-05-18", 12)); /* last report 04-14: 34 days */
	assert_int_equal(count_seen(mark, ALERT_PROJECT_SILENT, -1), 0);
	eval_at(at("2026-05-19", 0));
	assert_int_equal(count_seen(mark, ALERT_PROJECT_SILENT, ALERT_EV_FIRED), 2); /* both stopped on 04-14 */

	/* XM001 reports progress again: neither stalled nor silent. */
	now = at("2026-05-20", 9);
	report("XM001", 35);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_PROJECT_STALLED, ALERT_EV_RESOLVED), 1);
	assert_int_equal(count_seen(mark, ALERT_PROJECT_SILENT, ALERT_EV_RESOLVED), 1);
	assert_int_equal(open_alerts("project_silent"), 1); /* XM002 */
	assert_int_equal(open_alerts("project_stalled"), 0);
}

static void test_never_reported_project_is_silent_from_its_start(void **state)
{
	(void)state;
	size_t mark = n_seen;
	now = at("2026-02-01", 10);
	report("XM001", 5); /* XM001 reports; XM002 (starts 03-01) never does */
	eval_at(at("2026-04-04", 12));
	assert_int_equal(count_seen(mark, ALERT_PROJECT_SILENT, ALERT_EV_FIRED), 1); /* XM001: 62 days */
	eval_at(at("2026-04-05", 0));
	assert_int_equal(count_seen(mark, ALERT_PROJECT_SILENT, ALERT_EV_FIRED), 2);
	assert_string_equal(last_seen(ALERT_PROJECT_SILENT, ALERT_EV_FIRED)->entity, "XM002");
	assert_string_equal(open_field("project_silent", "XM002", "region"), TEST_TOWN_B);
	assert_non_null(strstr(open_field("project_silent", "XM002", "message_zh"), "自开工日起 35 天未报送进度"));
}

/* Registered here after its start date: nobody could report before that. */
static void test_never_reported_project_registered_late_counts_from_registration(void **state)
{
	(void)state;
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE entity SET created = %lld WHERE key = 'XM002'", (long long)at("2026-03-20", 9));
	assert_int_equal(db_exec(env.db, sql), 0);
	now = at("2026-04-01", 10);
	report("XM001", 5); /* XM001 is not silent; XM002 (starts 03-01) never reports */
	size_t mark = n_seen;
	eval_at(at("2026-04-05", 12)); /* 35 days after its start, 16 after registration */
	assert_int_equal(count_seen(mark, ALERT_PROJECT_SILENT, ALERT_EV_FIRED), 0);
	eval_at(at("2026-04-24", 12)); /* 35 days after registration */
	assert_int_equal(count_seen(mark, ALERT_PROJECT_SILENT, ALERT_EV_FIRED), 1);
	assert_string_equal(last_seen(ALERT_PROJECT_SILENT, ALERT_EV_FIRED)->entity, "XM002");
	assert_non_null(strstr(open_field("project_silent", "XM002", "message_zh"), "自登记入系统起 35 天未报送进度"));
	assert_non_null(strstr(open_field("project_silent", "XM002", "message_en"), "since it was registered"));
}

static void test_milestones_overdue_in_one_alert(void **state)
{
	(void)state;
	now = at("2026-03-01", 9);
	milestone("XM002", "基础施工", "2026-04-01", 1, NULL);
	milestone("XM002", "设备安装", "2026-04-10", 1, NULL);
	milestone("XM002", "并网", "2026-09-30", 2, NULL);
	size_t mark = n_seen;
	eval_at(at("2026-04-01", 23));
	assert_int_equal(count_seen(mark, ALERT_MILESTONE_OVERDUE, -1), 0);
	eval_at(at("2026-04-02", 0));
	assert_int_equal(count_seen(mark, ALERT_MILESTONE_OVERDUE, ALERT_EV_FIRED), 1);
	ack("milestone_overdue", "XM002");
	eval_at(at("2026-04-11", 0));
	assert_int_equal(count_seen(mark, ALERT_MILESTONE_OVERDUE, -1), 2); /* fired, acknowledged: the list grew quietly */
	json_t *d = json_loads(open_field("milestone_overdue", "XM002", "detail"), 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(d, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(d, "milestones"), 1), "name")),
			    "设备安装");
	json_decref(d);

	eval_at(at("2026-05-01", 12)); /* 30 days late: not yet critical */
	assert_int_equal(count_seen(mark, ALERT_MILESTONE_OVERDUE, ALERT_EV_SEVERITY_CHANGED), 0);
	eval_at(at("2026-05-02", 0));
	assert_int_equal(count_seen(mark, ALERT_MILESTONE_OVERDUE, ALERT_EV_SEVERITY_CHANGED), 1);
	assert_int_equal(last_seen(ALERT_MILESTONE_OVERDUE, -1)->severity, ALERT_CRITICAL);

	/* The first is done: the other is 22 days late, warning again; then it is done too. */
	now = at("2026-05-02", 10);
	milestone("XM002", "基础施工", NULL, 0, "2026-05-02");
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_MILESTONE_OVERDUE, ALERT_EV_SEVERITY_CHANGED), 2);
	assert_int_equal(last_seen(ALERT_MILESTONE_OVERDUE, -1)->severity, ALERT_WARNING);
	milestone("XM002", "设备安装", NULL, 0, "2026-05-02");
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_MILESTONE_OVERDUE, ALERT_EV_RESOLVED), 1);
}

static void test_township_silent_groups_its_villages(void **state)
{
	(void)state;
	assert_int_equal(db_exec(env.db, "UPDATE project SET stage = 'completed'"), 0); /* villages only here */
	now = at("2026-04-01", 9);
	const char *villages[] = {TEST_VILLAGE1, TEST_VILLAGE2, TEST_VILLAGE3, TEST_VILLAGE4};
	for (int i = 0; i < 4; i++)
		village_sample(villages[i], "poor_hh", 10 + i);
	now = at("2026-04-20", 9);
	village_sample(TEST_VILLAGE1, "poor_hh", 9); /* township A: village 1 keeps reporting */
	/* Card payments are the bank's data, not the village's: village 4 stays silent. */
	post(ING_PAYMENT_BATCH, "{\"batch_id\":\"pb\",\"batch\":{\"batch_no\":\"B1\",\"department\":\"县扶贫办\","
	     "\"fund_type\":\"产业奖补\",\"period\":\"2026-04\",\"submitted\":%lld},\"payments\":[{\"payment_no\":\"P1\","
	     "\"household\":\"H1\",\"card\":\"6217****1234\",\"amount_fen\":100,\"village\":\"%s\"}]}",
	     (long long)now, TEST_VILLAGE4);

	size_t mark = n_seen;
	eval_at(at("2026-05-05", 23));
	assert_int_equal(count_seen(mark, -1, -1), 0);
	eval_at(at("2026-05-06", 0)); /* 35 days since 04-01 */
	assert_int_equal(count_seen(mark, ALERT_TOWNSHIP_SILENT, ALERT_EV_FIRED), 1);
	assert_int_equal(count_seen(mark, ALERT_VILLAGE_SILENT, ALERT_EV_FIRED), 3);
	size_t told = 0;
	for (size_t i = mark; i < n_seen; i++) {
		told += seen[i].notifies;
		if (seen[i].rule == ALERT_VILLAGE_SILENT)
			assert_int_equal(seen[i].suppressed, strcmp(seen[i].entity, TEST_VILLAGE2) != 0);
	}
	assert_int_equal(told, 2); /* the township, and village 2 (its township still reports) */
	assert_string_equal(open_field("village_silent", TEST_VILLAGE3, "group_key"), "township_silent:" TEST_TOWN_B);
	assert_string_equal(open_field("village_silent", TEST_VILLAGE2, "group_key"), "");

	/* The list shows three lines: the township with its two villages inside, and village 2. */
	json_t *reply = NULL;
	struct alert_filter f = {.scope = ""};
	assert_int_equal(alert_query_list(env.db, &f, &reply), 200);
	json_t *top = json_object_get(reply, "alerts");
	assert_int_equal(json_array_size(top), 2);
	json_t *first = json_array_get(top, 0);
	assert_string_equal(json_string_value(json_object_get(first, "rule")), "township_silent");
	assert_int_equal(json_array_size(json_object_get(first, "members")), 2);
	json_decref(reply);

	/* One acknowledgement for the whole group. */
	mark = n_seen;
	assert_int_equal(alert_ack_group(env.db, "township_silent:" TEST_TOWN_B, &office, "乡镇网络故障，已报修",
					 now + 600, &reply), 200);
	assert_int_equal(json_integer_value(json_object_get(reply, "acknowledged")), 3);
	json_decref(reply);
	assert_int_equal(count_seen(mark, -1, ALERT_EV_ACKNOWLEDGED), 3);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM audit WHERE action = 'alert.ack_group'"), 1);
	assert_int_equal(alert_ack_group(env.db, "township_silent:" TEST_TOWN_B, &office, NULL, now + 700, &reply), 409);
	json_decref(reply);

	/* Hours later only village 2 escalates: the group is handled, members wait for their cause. */
	mark = n_seen;
	eval_at(at("2026-05-06", 5));
	assert_int_equal(count_seen(mark, -1, -1), 1);
	assert_int_equal(last_seen(-1, -1)->kind, ALERT_EV_ESCALATED);
	assert_string_equal(last_seen(-1, -1)->entity, TEST_VILLAGE2);

	/* Village 3 is back: not the whole township any more. */
	mark = n_seen;
	now = at("2026-05-07", 8);
	village_sample(TEST_VILLAGE3, "poor_hh", 12);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_TOWNSHIP_SILENT, ALERT_EV_RESOLVED), 1);
	assert_int_equal(count_seen(mark, ALERT_VILLAGE_SILENT, ALERT_EV_RESOLVED), 1);
	assert_int_equal(count_seen(mark, ALERT_VILLAGE_SILENT, ALERT_EV_UNGROUPED), 1);
	assert_int_equal(count_seen(mark, -1, -1), 3);
	const struct seen *s = last_seen(ALERT_VILLAGE_SILENT, ALERT_EV_UNGROUPED);
	assert_string_equal(s->entity, TEST_VILLAGE4);
	assert_int_equal(s->state, ALERT_ACKNOWLEDGED);
	assert_false(s->notifies);
	assert_string_equal(open_field("village_silent", TEST_VILLAGE4, "suppressed"), "0");
}

static void half(struct alert_options *o)
{
	o->township_silent_pct = 50;
}

static int setup_half(void **state)
{
	(void)state;
	return fixture_setup_tuned(half);
}

static void test_township_share_is_configurable(void **state)
{
	(void)state;
	now = at("2026-04-01", 9);
	village_sample(TEST_VILLAGE1, "poor_hh", 1);
	village_sample(TEST_VILLAGE2, "poor_hh", 1);
	now = at("2026-04-30", 9);
	village_sample(TEST_VILLAGE1, "poor_hh", 2);
	size_t mark = n_seen;
	eval_at(at("2026-05-06", 0));
	assert_int_equal(count_seen(mark, ALERT_TOWNSHIP_SILENT, ALERT_EV_FIRED), 1); /* 1 of 2 is half */
	assert_int_equal(last_seen(ALERT_VILLAGE_SILENT, ALERT_EV_FIRED)->suppressed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_project_behind_schedule_catches_up, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_project_stalled_then_silent, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_never_reported_project_is_silent_from_its_start, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_never_reported_project_registered_late_counts_from_registration,
						alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_milestones_overdue_in_one_alert, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_township_silent_groups_its_villages, alert_setup, alert_teardown),
		cmocka_unit_test_setup_teardown(test_township_share_is_configurable, setup_half, alert_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_alert: the money rules as scenarios over days of simulated time,
 * fed through the real ingest core: a batch partly paid with late bank
 * results, failures reissued (one alert per village), a batch critical by
 * amount, one household paid by two departments, allocated funds paid out
 * late and left idle. Each asserts exactly which transitions happen, when.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_alert_fixture.h"

#define PAY(no, hh, fen, village) \
	"{\"payment_no\":\"" no "\",\"household\":\"" hh "\",\"card\":\"6217****1234\",\"amount_fen\":" #fen \
	",\"village\":\"" village "\"}"
#define REISSUE(no, hh, fen, village, of) \
	"{\"payment_no\":\"" no "\",\"household\":\"" hh "\",\"card\":\"6228****9999\",\"amount_fen\":" #fen \
	",\"village\":\"" village "\",\"reissue_of\":\"" of "\"}"

/* Money only: projects are past the project rules, and nobody waits 4 h to acknowledge. */
static void tune(struct alert_options *o)
{
	o->escalate_after_s = 400 * 86400;
}

static int setup(void **state)
{
	(void)state;
	n_seen = 0;
	fixture_tune = tune;
	if (fixture_setup() < 0)
		return -1;
	return db_exec(env.db, "UPDATE project SET stage = 'completed'");
}

static int teardown(void **state)
{
	(void)state;
	fixture_teardown();
	return 0;
}

/* A batch submitted now; funds_at 0 = not yet known. */
static void batch(const char *no, const char *dept, const char *fund, const char *period, int64_t funds_at,
		  const char *payments)
{
	char funds[48] = "";
	if (funds_at)
		snprintf(funds, sizeof funds, ",\"funds_at_bank\":%lld", (long long)funds_at);
	post(ING_PAYMENT_BATCH,
	     "{\"batch_id\":\"b%lld\",\"batch\":{\"batch_no\":\"%s\",\"department\":\"%s\",\"fund_type\":\"%s\","
	     "\"period\":\"%s\",\"submitted\":%lld%s},\"payments\":[%s]}",
	     ++batch_no, no, dept, fund, period, (long long)now, funds, payments);
}

static void result(const char *payment, const char *status, const char *reason, int64_t when)
{
	char why[256] = "";
	if (reason)
		snprintf(why, sizeof why, ",\"reason\":\"%s\"", reason);
	assert_int_equal(post(ING_PAYMENT_RESULTS,
			      "{\"batch_id\":\"r%lld\",\"results\":[{\"payment_no\":\"%s\",\"status\":\"%s\"%s,\"at\":%lld}]}",
			      ++batch_no, payment, status, why, (long long)when), 1);
}

static json_t *open_detail(const char *rule, const char *entity)
{
	json_t *d = json_loads(open_field(rule, entity, "detail"), 0, NULL);
	assert_non_null(d);
	return d;
}

static long long detail_int(const char *rule, const char *entity, const char *key)
{
	json_t *d = open_detail(rule, entity);
	long long v = json_integer_value(json_object_get(d, key));
	json_decref(d);
	return v;
}

static void test_batch_overdue_partial_and_late_results(void **state)
{
	(void)state;
	int64_t t0 = at("2026-04-01", 9), funds = t0 + 3600;
	now = funds;
	batch("B1", "县扶贫办", "产业奖补", "2026-03", funds,
	      PAY("P1", "H1", 50000, TEST_VILLAGE1) "," PAY("P2", "H2", 30000, TEST_VILLAGE1) ","
	      PAY("P3", "H3", 20000, TEST_VILLAGE1));
	now = t0 + 10 * 3600;
	result("P1", "paid", NULL, t0 + 9 * 3600); /* partly paid */

	size_t mark = n_seen;
	eval_at(funds + 24 * 3600 - 1);
	assert_int_equal(count_seen(mark, -1, -1), 0);
	eval_at(funds + 24 * 3600);
	assert_int_equal(count_seen(mark, -1, -1), 1);
	const struct seen *s = last_seen(ALERT_PAYMENT_OVERDUE, ALERT_EV_FIRED);
	assert_non_null(s);
	assert_string_equal(s->entity, "B1");
	assert_int_equal(s->severity, ALERT_WARNING);
	assert_true(s->notifies);
	assert_int_equal(detail_int("payment_overdue", "B1", "waiting"), 2);
	assert_int_equal(detail_int("payment_overdue", "B1", "waiting_fen"), 50000);
	assert_string_equal(open_field("payment_overdue", "B1", "region"), TEST_COUNTY);
	assert_non_null(strstr(open_field("payment_overdue", "B1", "message_zh"), "仍有 2 笔共 500.00 元未到账"));

	/* Acknowledged in time; evaluating again repeats nothing. */
	json_t *reply = NULL;
	assert_int_equal(alert_ack(env.db, s->alert_id, &office, "已催银行", funds + 25 * 3600, &reply), 200);
	json_decref(reply);
	mark = n_seen;
	eval_at(funds + 29 * 3600);
	eval_at(funds + 30 * 3600);
	assert_int_equal(count_seen(mark, -1, -1), 0);

	/* A late bank result (paid within the day, reported after): one payment still waits. */
	now = t0 + 31 * 3600;
	result("P2", "paid", NULL, t0 + 20 * 3600);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, -1, -1), 0);
	assert_int_equal(detail_int("payment_overdue", "B1", "waiting"), 1);

	/* 72 h after the funds: critical. */
	eval_at(funds + 72 * 3600);
	assert_int_equal(count_seen(mark, ALERT_PAYMENT_OVERDUE, ALERT_EV_SEVERITY_CHANGED), 1);
	assert_int_equal(last_seen(-1, -1)->severity, ALERT_CRITICAL);

	/* The last result (a failure) leaves nothing waiting for the bank: resolved, at that moment. */
	now = funds + 75 * 3600;
	result("P3", "failed", "卡已冻结", now);
	eval_dirty_at(now);
	s = last_seen(ALERT_PAYMENT_OVERDUE, ALERT_EV_RESOLVED);
	assert_non_null(s);
	assert_int_equal(s->ts, now);
	assert_int_equal(open_alerts("payment_overdue"), 0);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert WHERE rule = 'payment_overdue'"), 1);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert_event WHERE kind = 'fired'"), 1);
}

static void test_failed_payments_one_alert_per_village_until_reissued(void **state)
{
	(void)state;
	int64_t t0 = at("2026-04-01", 10);
	now = t0;
	batch("B1", "县扶贫办", "产业奖补", "2026-03", t0,
	      PAY("P1", "H1", 50000, TEST_VILLAGE1) "," PAY("P2", "H2", 30000, TEST_VILLAGE1) ","
	      PAY("P3", "H3", 20000, TEST_VILLAGE2));
	now = t0 + 2 * 3600;
	result("P1", "failed", "户名与身份证号不符", now);
	result("P2", "failed", "卡已注销", now);
	result("P3", "failed", "卡已冻结", now);

	size_t mark = n_seen;
	eval_at(at("2026-04-04", 23)); /* day 3: still in time */
	assert_int_equal(count_seen(mark, -1, -1), 0);
	eval_at(at("2026-04-05", 0));
	assert_int_equal(count_seen(mark, ALERT_PAYMENT_FAILED, ALERT_EV_FIRED), 2);
	assert_int_equal(count_seen(mark, -1, -1), 2);
	assert_int_equal(detail_int("payment_failed", TEST_VILLAGE1, "count"), 2);
	assert_int_equal(detail_int("payment_failed", TEST_VILLAGE2, "count"), 1);
	assert_non_null(strstr(open_field("payment_failed", TEST_VILLAGE1, "message_zh"), "卡已注销×1"));
	assert_non_null(strstr(open_field("payment_failed", TEST_VILLAGE1, "message_en"), "2 failed payments"));

	/* One of village 1's two is reissued: the alert stays, listing one. */
	mark = n_seen;
	now = at("2026-04-05", 10);
	batch("B2", "县扶贫办", "产业奖补", "2026-03", now, REISSUE("P1R", "H1", 50000, TEST_VILLAGE1, "P1"));
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_PAYMENT_FAILED, -1), 0);
	assert_int_equal(detail_int("payment_failed", TEST_VILLAGE1, "count"), 1);
	/* The bank paid village 2's on a retry; village 1's last one is reissued. */
	result("P3", "paid", NULL, now);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_PAYMENT_FAILED, ALERT_EV_RESOLVED), 1);
	batch("B3", "县扶贫办", "产业奖补", "2026-03", now, REISSUE("P2R", "H2", 30000, TEST_VILLAGE1, "P2"));
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_PAYMENT_FAILED, ALERT_EV_RESOLVED), 2);
	assert_int_equal(open_alerts("payment_failed"), 0);
}

static void test_batch_critical_by_amount_and_late_funds_date(void **state)
{
	(void)state;
	int64_t t0 = at("2026-04-01", 8);
	now = t0;
	batch("BIG", "县农业农村局", "产业奖补", "2026", 0, PAY("G1", "H9", 60000000, TEST_VILLAGE3));
	size_t mark = n_seen;
	eval_at(t0 + 5 * 86400); /* when the funds reached the bank is not known: no clock yet */
	assert_int_equal(count_seen(mark, -1, -1), 0);
	/* The date comes later (re-sent batch header): 24 h after it, critical at once for the amount. */
	now = t0 + 5 * 86400 + 60;
	batch("BIG", "县农业农村局", "产业奖补", "2026", t0 + 4 * 86400, PAY("G1", "H9", 60000000, TEST_VILLAGE3));
	eval_at(now);
	assert_int_equal(count_seen(mark, ALERT_PAYMENT_OVERDUE, ALERT_EV_FIRED), 1);
	assert_int_equal(last_seen(-1, -1)->severity, ALERT_CRITICAL);
	assert_string_equal(open_field("payment_overdue", "BIG", "rule_severity"), "critical");
}

static void test_duplicate_subsidy_across_two_departments(void **state)
{
	(void)state;
	now = at("2026-04-10", 9);
	batch("D1", "县民政局", "低保金", "2026-04", now, PAY("Q1", "H7", 30000, TEST_VILLAGE3));
	batch("D3", "县扶贫办", "低保金", "2026-05", now, PAY("Q3", "H7", 30000, TEST_VILLAGE3));
	batch("D4", "县民政局", "临时救助", "2026-04", now, PAY("Q4", "H7", 10000, TEST_VILLAGE3));
	batch("D5", "县民政局", "低保金", "2026-04", now, PAY("Q5", "H8", 30000, TEST_VILLAGE3));
	batch("D6", "县民政局", "低保金", "2026-04", now, PAY("Q6", "H8", 30000, TEST_VILLAGE3)); /* one department twice */
	size_t mark = n_seen;
	eval_at(now + 60);
	assert_int_equal(count_seen(mark, -1, -1), 0);

	/* The second department pays the same household, fund type and period. */
	now += 3600;
	batch("D2", "县扶贫办", "低保金", "2026-04", now, PAY("Q2", "H7", 30000, TEST_VILLAGE3));
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_DUPLICATE_SUBSIDY, ALERT_EV_FIRED), 1);
	const struct seen *s = last_seen(ALERT_DUPLICATE_SUBSIDY, ALERT_EV_FIRED);
	assert_string_equal(s->entity, "H7/低保金/2026-04");
	assert_int_equal(s->severity, ALERT_CRITICAL);
	assert_string_equal(open_field("duplicate_subsidy", "H7/低保金/2026-04", "region"), TEST_VILLAGE3);
	json_t *d = open_detail("duplicate_subsidy", "H7/低保金/2026-04");
	assert_int_equal(json_array_size(json_object_get(d, "departments")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "amount_fen")), 60000);
	json_decref(d);
	assert_non_null(strstr(open_field("duplicate_subsidy", "H7/低保金/2026-04", "message_zh"), "县扶贫办、县民政局"));

	/* Nothing repeats, in full passes or partial ones. */
	mark = n_seen;
	eval_at(now + 120);
	eval_dirty_at(now + 180);
	assert_int_equal(count_seen(mark, -1, -1), 0);

	/* The bank refuses the second payment: no longer a duplicate. */
	now += 7200;
	result("Q2", "failed", "重复发放，已拦截", now);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_DUPLICATE_SUBSIDY, ALERT_EV_RESOLVED), 1);
	assert_int_equal(open_alerts("duplicate_subsidy"), 0);
}

static void pay_village(const char *no, const char *village, long long fen)
{
	char item[256];
	snprintf(item, sizeof item,
		 "{\"payment_no\":\"%s\",\"household\":\"H-%s\",\"card\":\"6217****1234\",\"amount_fen\":%lld,\"village\":\"%s\"}",
		 no, no, fen, village);
	char batch_name[32];
	snprintf(batch_name, sizeof batch_name, "BP-%s", no);
	batch(batch_name, "县财政局", "到户资金", "2026", now, item);
	result(no, "paid", NULL, now);
}

static void test_allocation_delayed_then_idle(void **state)
{
	(void)state;
	now = at("2026-01-05", 10);
	village_sample(TEST_VILLAGE3, "funds_alloc_fen", 1000000);
	post(ING_PROGRESS, "{\"batch_id\":\"g1\",\"reports\":[{\"project\":\"XM002\",\"ts\":%lld,\"alloc_fen\":2000000,"
	     "\"paid_fen\":0},{\"project\":\"XM001\",\"ts\":%lld,\"alloc_fen\":500000,\"paid_fen\":500000}]}",
	     (long long)now, (long long)now);
	size_t mark = n_seen;
	eval_at(at("2026-02-04", 23)); /* 30 days: within the limit */
	assert_int_equal(count_seen(mark, ALERT_ALLOC_DELAYED, -1), 0);
	eval_at(at("2026-02-05", 0));
	assert_int_equal(count_seen(mark, ALERT_ALLOC_DELAYED, ALERT_EV_FIRED), 2);
	assert_int_equal(detail_int("alloc_delayed", TEST_VILLAGE3, "overdue_fen"), 1000000);
	assert_int_equal(detail_int("alloc_delayed", "XM002", "overdue_fen"), 2000000);
	assert_string_equal(open_field("alloc_delayed", "XM002", "region"), TEST_TOWN_B);
	json_t *reply;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(alert_ack(env.db, open_id("alloc_delayed", i ? "XM002" : TEST_VILLAGE3), &office,
					   "已督办", now, &reply), 200);
		json_decref(reply);
	}

	/* Part of it reaches the households; a second allocation arrives. */
	mark = n_seen;
	now = at("2026-02-10", 10);
	pay_village("V3A", TEST_VILLAGE3, 400000);
	village_sample(TEST_VILLAGE3, "funds_alloc_fen", 1500000);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, -1, -1), 0);
	assert_int_equal(detail_int("alloc_delayed", TEST_VILLAGE3, "overdue_fen"), 600000);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alloc_event"), 4); /* V3 twice, XM001, XM002 */

	/* 60 days after the first allocation: critical, both. */
	eval_at(at("2026-03-06", 0));
	assert_int_equal(count_seen(mark, ALERT_ALLOC_DELAYED, ALERT_EV_SEVERITY_CHANGED), 2);

	/* The first allocation fully paid; the second is 24 days old: in time. */
	mark = n_seen;
	now = at("2026-03-06", 9);
	pay_village("V3B", TEST_VILLAGE3, 600000);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, ALERT_ALLOC_DELAYED, ALERT_EV_RESOLVED), 1);
	assert_int_equal(last_seen(ALERT_ALLOC_DELAYED, ALERT_EV_RESOLVED)->ts, now);

	/* A year after its allocation the project's money is idle; the village's second allocation is late. */
	mark = n_seen;
	eval_at(at("2027-01-04", 12));
	assert_int_equal(count_seen(mark, ALERT_IDLE_FUNDS, -1), 0);
	eval_at(at("2027-01-05", 0));
	assert_int_equal(count_seen(mark, ALERT_IDLE_FUNDS, ALERT_EV_FIRED), 1);
	assert_string_equal(last_seen(ALERT_IDLE_FUNDS, ALERT_EV_FIRED)->entity, "XM002");
	assert_int_equal(last_seen(ALERT_IDLE_FUNDS, ALERT_EV_FIRED)->severity, ALERT_CRITICAL);
	assert_int_equal(detail_int("idle_funds", "XM002", "idle_fen"), 2000000);
	assert_int_equal(count_seen(mark, ALERT_ALLOC_DELAYED, ALERT_EV_FIRED), 1);
	assert_string_equal(last_seen(ALERT_ALLOC_DELAYED, ALERT_EV_FIRED)->entity, TEST_VILLAGE3);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert WHERE rule = 'alloc_delayed'"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_overdue_partial_and_late_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_payments_one_alert_per_village_until_reissued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_critical_by_amount_and_late_funds_date, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_subsidy_across_two_departments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocation_delayed_then_idle, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

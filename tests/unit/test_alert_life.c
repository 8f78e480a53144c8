/*
 * test_alert_life: the life cycle around the rules. Escalation once, with a
 * second notification; silence until a time and until resolved; acknowledge
 * and comment (history and audit log); a resolve by hand that the engine
 * reopens while the condition holds; a restart in the middle of a scenario;
 * the API replies against their schemas; webhook bodies against golden
 * files; and the engine thread bringing an alert within a second of the
 * sample behind it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "embedded.h"
#include "jschema.h"
#include "test_alert_fixture.h"
#include "xalloc.h"

#include <pthread.h>
#include <time.h>

static int setup(void **state)
{
	(void)state;
	n_seen = 0;
	fixture_tune = NULL;
	if (fixture_setup() < 0)
		return -1;
	return db_exec(env.db, "UPDATE project SET stage = 'completed'"); /* villages and payments here */
}

static int teardown(void **state)
{
	(void)state;
	fixture_teardown();
	return 0;
}

/* Village 1 reports on 04-01 and then falls silent: its alert fires on 05-06 00:00. */
static int64_t silent_village_1(void)
{
	now = at("2026-04-01", 9);
	village_sample(TEST_VILLAGE1, "poor_hh", 10);
	int64_t fires = at("2026-05-06", 0);
	eval_at(fires);
	assert_int_equal(open_alerts("village_silent"), 1);
	return fires;
}

static void test_escalation_raises_once_and_notifies_again(void **state)
{
	(void)state;
	int64_t t = silent_village_1();
	const struct seen *s = last_seen(ALERT_VILLAGE_SILENT, ALERT_EV_FIRED);
	assert_int_equal(s->severity, ALERT_WARNING);
	assert_true(s->notifies);
	size_t mark = n_seen;
	eval_at(t + 4 * 3600 - 1);
	assert_int_equal(count_seen(mark, -1, -1), 0);
	eval_at(t + 4 * 3600);
	assert_int_equal(count_seen(mark, -1, -1), 1);
	s = last_seen(-1, -1);
	assert_int_equal(s->kind, ALERT_EV_ESCALATED);
	assert_int_equal(s->severity, ALERT_CRITICAL);
	assert_true(s->notifies);
	assert_string_equal(open_field("village_silent", TEST_VILLAGE1, "rule_severity"), "warning");
	assert_string_equal(open_field("village_silent", TEST_VILLAGE1, "escalation"), "1");
	eval_at(t + 30 * 3600);
	assert_int_equal(count_seen(mark, -1, -1), 1); /* once */
}

static void test_silence_until_a_time_and_until_resolved(void **state)
{
	(void)state;
	int64_t t = silent_village_1();
	int64_t id = open_id("village_silent", TEST_VILLAGE1);
	json_t *reply = NULL;
	assert_int_equal(alert_silence(env.db, id, &office, t - 3600, "x", t + 3600, &reply), 422); /* in the past */
	json_decref(reply);
	assert_int_equal(alert_silence(env.db, id, &office, t + 3 * 3600, NULL, t + 3600, &reply), 422); /* no reason */
	json_decref(reply);
	assert_int_equal(alert_silence(env.db, id, &office, t + 3 * 3600, "村会计外出培训", t + 3600, &reply), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "alert"), "state")), "silenced");
	json_decref(reply);

	/* Silenced: no escalation; when the silence ends it fires again with a fresh clock. */
	size_t mark = n_seen;
	eval_at(t + 2 * 3600);
	assert_int_equal(count_seen(mark, -1, -1), 0);
	eval_at(t + 4 * 3600 + 1800);
	assert_int_equal(count_seen(mark, -1, -1), 1);
	const struct seen *s = last_seen(-1, -1);
	assert_int_equal(s->kind, ALERT_EV_UNSILENCED);
	assert_int_equal(s->state, ALERT_FIRING);
	assert_string_equal(s->actor, "engine");
	assert_true(s->notifies);
	eval_at(t + 8 * 3600 + 1799);
	assert_int_equal(count_seen(mark, -1, -1), 1);
	eval_at(t + 8 * 3600 + 1800);
	assert_int_equal(last_seen(-1, -1)->kind, ALERT_EV_ESCALATED);

	/* Until resolved: quiet until the village reports, then resolved (silence ends with it). */
	assert_int_equal(alert_silence(env.db, id, &office, 0, "已知停电，恢复后自动解除", t + 9 * 3600, &reply), 200);
	json_decref(reply);
	assert_string_equal(open_field("village_silent", TEST_VILLAGE1, "silenced_until"), "");
	mark = n_seen;
	eval_at(t + 30 * 86400);
	assert_int_equal(count_seen(mark, -1, -1), 0);
	now = t + 31 * 86400;
	village_sample(TEST_VILLAGE1, "poor_hh", 11);
	eval_dirty_at(now);
	assert_int_equal(count_seen(mark, -1, -1), 1);
	assert_int_equal(last_seen(-1, -1)->kind, ALERT_EV_RESOLVED);
	assert_true(last_seen(-1, -1)->notifies);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM audit WHERE action = 'alert.silence'"), 2);
}

static void test_ack_comment_and_resolve_by_hand(void **state)
{
	(void)state;
	int64_t t = silent_village_1();
	int64_t id = open_id("village_silent", TEST_VILLAGE1);
	json_t *reply = NULL;
	struct alert_actor town_b = {.name = "li.hua", .scope = TEST_TOWN_B, .peer = "10.0.0.9"};
	assert_int_equal(alert_ack(env.db, id, &town_b, "看看", t + 60, &reply), 404); /* not in their region */
	json_decref(reply);
	assert_int_equal(alert_ack(env.db, 9999, &office, "看看", t + 60, &reply), 404);
	json_decref(reply);
	char long_comment[1100];
	memset(long_comment, 'x', 1001);
	long_comment[1001] = '\0';
	assert_int_equal(alert_ack(env.db, id, &office, long_comment, t + 60, &reply), 422);
	json_decref(reply);
	assert_int_equal(alert_unsilence(env.db, id, &office, NULL, t + 60, &reply), 409);
	json_decref(reply);

	assert_int_equal(alert_ack(env.db, id, &office, "已电话联系村支书", t + 60, &reply), 200);
	json_t *a = json_object_get(reply, "alert");
	assert_string_equal(json_string_value(json_object_get(a, "state")), "acknowledged");
	assert_string_equal(json_string_value(json_object_get(a, "acked_by")), "wang.li");
	assert_string_equal(json_string_value(json_object_get(a, "comment")), "已电话联系村支书");
	json_decref(reply);
	assert_int_equal(alert_ack(env.db, id, &office, NULL, t + 70, &reply), 409);
	assert_non_null(strstr(json_string_value(json_object_get(reply, "reason")), "wang.li"));
	json_decref(reply);
	assert_int_equal(alert_comment(env.db, id, &office, "村里网络明天修好", t + 80, &reply), 200);
	json_decref(reply);

	/* Resolved by hand while the village is still silent: the next pass reopens the same alert. */
	size_t mark = n_seen;
	assert_int_equal(alert_resolve(env.db, id, &office, NULL, t + 90, &reply), 422); /* needs a comment */
	json_decref(reply);
	assert_int_equal(alert_resolve(env.db, id, &office, "已处理", t + 90, &reply), 200);
	json_decref(reply);
	assert_int_equal(open_alerts("village_silent"), 0);
	eval_at(t + 120);
	assert_int_equal(count_seen(mark, -1, ALERT_EV_REOPENED), 1);
	assert_int_equal(open_id("village_silent", TEST_VILLAGE1), id);
	assert_string_equal(open_field("village_silent", TEST_VILLAGE1, "state"), "firing");
	assert_string_equal(open_field("village_silent", TEST_VILLAGE1, "ack_by"), "");

	/* Resolved by hand after the village did report: stays resolved, no second resolve. */
	now = t + 200;
	village_sample(TEST_VILLAGE1, "poor_hh", 12);
	assert_int_equal(alert_resolve(env.db, id, &office, "村里已补报", t + 210, &reply), 200);
	json_decref(reply);
	mark = n_seen;
	eval_dirty_at(t + 220);
	eval_at(t + 230);
	assert_int_equal(count_seen(mark, -1, -1), 0);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert WHERE recheck = 1"), 0);
	assert_int_equal(alert_resolve(env.db, id, &office, "再来一次", t + 240, &reply), 409);
	json_decref(reply);
	assert_int_equal(alert_comment(env.db, id, &office, "复盘：网络故障", t + 250, &reply), 200); /* after too */
	json_decref(reply);

	/* History and audit log: every step, with who. */
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert"), 1);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert_event WHERE alert_id = 1"), 7);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert_event WHERE kind = 'commented' AND actor = 'wang.li'"), 2);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM audit WHERE action LIKE 'alert.%' AND peer = '10.0.0.7'"), 5);
}

static void test_restart_in_the_middle(void **state)
{
	(void)state;
	now = at("2026-04-01", 9);
	post(ING_PAYMENT_BATCH, "{\"batch_id\":\"pb1\",\"batch\":{\"batch_no\":\"B1\",\"department\":\"县扶贫办\","
	     "\"fund_type\":\"产业奖补\",\"period\":\"2026-04\",\"submitted\":%lld,\"funds_at_bank\":%lld},"
	     "\"payments\":[{\"payment_no\":\"P1\",\"household\":\"H1\",\"card\":\"6217****1234\",\"amount_fen\":50000,"
	     "\"village\":\"%s\"}]}", (long long)now, (long long)now, TEST_VILLAGE2);
	village_sample(TEST_VILLAGE1, "poor_hh", 10);
	village_sample(TEST_VILLAGE3, "funds_alloc_fen", 1000000);
	eval_at(at("2026-04-02", 10));
	eval_at(at("2026-05-06", 10));
	assert_int_equal(open_alerts("payment_overdue"), 1);
	assert_int_equal(open_alerts("village_silent"), 2);
	assert_int_equal(open_alerts("alloc_delayed"), 1);
	long long fired = test_count(env.db, "SELECT count(*) FROM alert_event WHERE kind = 'fired'");
	long long events = test_count(env.db, "SELECT count(*) FROM alert_event");
	assert_int_equal(fired, 4);

	/* Down for a while; meanwhile the bank pays and village 3 gets more money. */
	alert_engine_stop();
	now = at("2026-05-06", 12);
	post(ING_PAYMENT_RESULTS, "{\"batch_id\":\"r1\",\"results\":[{\"payment_no\":\"P1\",\"status\":\"paid\",\"at\":%lld}]}",
	     (long long)now);
	village_sample(TEST_VILLAGE3, "funds_alloc_fen", 1500000);

	engine_start();
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alloc_event"), 2); /* caught up from SQLite */
	size_t mark = n_seen;
	eval_at(now);
	/* Nothing fires twice; what changed meanwhile is seen: the batch is paid, village 3 reported. */
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert_event WHERE kind = 'fired'"), fired);
	assert_int_equal(count_seen(mark, ALERT_PAYMENT_OVERDUE, ALERT_EV_RESOLVED), 1);
	assert_int_equal(count_seen(mark, ALERT_VILLAGE_SILENT, ALERT_EV_RESOLVED), 1);
	assert_int_equal(count_seen(mark, -1, ALERT_EV_FIRED), 0);
	assert_int_equal(open_alerts("alloc_delayed"), 1);
	assert_true(test_count(env.db, "SELECT count(*) FROM alert_event") > events);
	/* Evaluation goes on from there: village 3 falls silent again 35 days later, a new alert. */
	eval_at(at("2026-06-10", 0));
	assert_int_equal(count_seen(mark, ALERT_VILLAGE_SILENT, ALERT_EV_FIRED), 1);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM alert WHERE rule = 'village_silent' AND entity_key = '"
				 TEST_VILLAGE3 "'"), 2);
	/* And a restart with nothing new changes nothing. */
	alert_engine_stop();
	engine_start();
	mark = n_seen;
	eval_at(at("2026-06-10", 0) + 60);
	assert_int_equal(count_seen(mark, -1, -1), 0);
}

/* ---- API replies and their schemas ---- */

static struct jschema *schema(const char *name)
{
	const struct embedded_file *f = embedded_find(name);
	assert_non_null(f);
	char err[256];
	struct jschema *s = jschema_load((const char *)f->data, f->len, err, sizeof err);
	if (!s)
		fail_msg("%s: %s", name, err);
	return s;
}

static void assert_valid(const char *schema_name, const char *def, json_t *doc)
{
	struct jschema *s = schema(schema_name);
	struct jschema_error errs[4];
	size_t n = jschema_validate(s, def, doc, NULL, errs, 4);
	if (n) {
		char *text = json_dumps(doc, JSON_COMPACT);
		fprintf(stderr, "%s: %s %s\n%s\n", schema_name, errs[0].path, errs[0].reason, text);
		free(text);
	}
	jschema_free(s);
	assert_int_equal(n, 0);
}

static char *last_transition;

static void keep_json(const struct alert_transition *t, void *arg)
{
	(void)arg;
	free(last_transition);
	last_transition = xstrdup(alert_transition_json(t));
}

/* A county with a silent township, a silent village and a critical batch: five alerts. */
static void build_county(void)
{
	now = at("2026-04-01", 9);
	village_sample(TEST_VILLAGE1, "poor_hh", 1);
	village_sample(TEST_VILLAGE3, "poor_hh", 3);
	village_sample(TEST_VILLAGE4, "poor_hh", 4);
	now = at("2026-04-20", 9);
	village_sample(TEST_VILLAGE2, "poor_hh", 2);
	now = at("2026-05-04", 0);
	post(ING_PAYMENT_BATCH, "{\"batch_id\":\"big\",\"batch\":{\"batch_no\":\"BIG\",\"department\":\"县扶贫办\","
	     "\"fund_type\":\"产业奖补\",\"period\":\"2026\",\"submitted\":%lld,\"funds_at_bank\":%lld},"
	     "\"payments\":[{\"payment_no\":\"G1\",\"household\":\"H1\",\"card\":\"6217****1234\",\"amount_fen\":60000000,"
	     "\"village\":\"%s\"}]}", (long long)now, (long long)now, TEST_VILLAGE2);
	eval_at(at("2026-05-06", 0));
}

static json_t *list(struct alert_filter f, int want_status)
{
	json_t *reply = NULL;
	assert_int_equal(alert_query_list(env.db, &f, &reply), want_status);
	if (want_status == 200)
		assert_valid("alert-list-reply.json", NULL, reply);
	else
		assert_valid("error-reply.json", NULL, reply);
	return reply;
}

static size_t list_size(struct alert_filter f)
{
	json_t *reply = list(f, 200);
	size_t n = json_array_size(json_object_get(reply, "alerts"));
	json_decref(reply);
	return n;
}

static void test_queries_and_their_schemas(void **state)
{
	(void)state;
	alert_add_listener(keep_json, NULL);
	build_county();
	json_t *doc = json_loads(last_transition, 0, NULL);
	assert_valid("alert-transition.json", NULL, doc);
	json_decref(doc);

	/* Most severe first, then oldest; the township's villages inside it. */
	json_t *reply = list((struct alert_filter){.scope = ""}, 200);
	json_t *top = json_object_get(reply, "alerts");
	assert_int_equal(json_integer_value(json_object_get(reply, "count")), 5);
	assert_int_equal(json_array_size(top), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "rule")), "payment_overdue");
	assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(json_array_get(top, 1), "rule")), "township_silent");
	assert_int_equal(json_array_size(json_object_get(json_array_get(top, 1), "members")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(top, 2), "entity")), TEST_VILLAGE1);
	json_decref(reply);

	assert_int_equal(list_size((struct alert_filter){.scope = TEST_TOWN_A}), 1); /* the batch is the county's */
	assert_int_equal(list_size((struct alert_filter){.scope = "", .region = TEST_TOWN_B}), 1);
	assert_int_equal(list_size((struct alert_filter){.scope = "", .rule = "village_silent"}), 3);
	assert_int_equal(list_size((struct alert_filter){.scope = "", .severity = "critical"}), 1);
	assert_int_equal(list_size((struct alert_filter){.scope = "", .state = "resolved"}), 0);
	assert_int_equal(list_size((struct alert_filter){.scope = "", .entity = "BIG"}), 1);
	json_decref(list((struct alert_filter){.scope = "", .state = "open,bogus"}, 400));
	json_decref(list((struct alert_filter){.scope = "", .rule = "no_such_rule"}, 400));
	json_decref(list((struct alert_filter){.scope = "", .region = "12345"}, 400));

	/* One alert: the cause with its members and history. */
	int64_t township = open_id("township_silent", TEST_TOWN_B);
	assert_int_equal(alert_query_one(env.db, township, "", &reply), 200);
	assert_valid("alert-reply.json", NULL, reply);
	assert_int_equal(json_array_size(json_object_get(reply, "members")), 2);
	assert_int_equal(json_array_size(json_object_get(reply, "history")), 1);
	json_decref(reply);
	assert_int_equal(alert_query_one(env.db, township, TEST_TOWN_A, &reply), 404);
	json_decref(reply);

	/* Actions reply with the alert; the group one with all it acknowledged. */
	now = at("2026-05-06", 1);
	assert_int_equal(alert_ack(env.db, open_id("village_silent", TEST_VILLAGE1), &office, "处理中", now, &reply), 200);
	assert_valid("alert-reply.json", NULL, reply);
	json_decref(reply);
	assert_int_equal(alert_ack_group(env.db, "township_silent:" TEST_TOWN_B, &office, NULL, now, &reply), 200);
	assert_valid("alert-group-reply.json", NULL, reply);
	json_decref(reply);
	doc = json_loads(last_transition, 0, NULL);
	assert_valid("alert-transition.json", NULL, doc);
	json_decref(doc);

	/* History by entity, rule, state, kind and time. */
	struct alert_filter h = {.scope = "", .entity = TEST_VILLAGE1};
	assert_int_equal(alert_query_history(env.db, &h, &reply), 200);
	assert_valid("alert-history-reply.json", NULL, reply);
	json_t *events = json_object_get(reply, "events");
	assert_int_equal(json_array_size(events), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "kind")), "acknowledged");
	json_decref(reply);
	h = (struct alert_filter){.scope = "", .rule = "village_silent", .kind = "fired"};
	assert_int_equal(alert_query_history(env.db, &h, &reply), 200);
	assert_int_equal(json_array_size(json_object_get(reply, "events")), 3);
	json_decref(reply);
	h = (struct alert_filter){.scope = "", .state = "acknowledged", .from = now, .to = now};
	assert_int_equal(alert_query_history(env.db, &h, &reply), 200);
	assert_int_equal(json_array_size(json_object_get(reply, "events")), 4);
	json_decref(reply);
	h = (struct alert_filter){.scope = TEST_TOWN_A, .to = now - 1};
	assert_int_equal(alert_query_history(env.db, &h, &reply), 200);
	assert_int_equal(json_array_size(json_object_get(reply, "events")), 1);
	json_decref(reply);

	/* The live snapshot comes from memory and respects scope. */
	char *snap = alert_snapshot_json("");
	doc = json_loads(snap, 0, NULL);
	assert_int_equal(json_array_size(doc), 5);
	size_t i;
	json_t *a;
	json_array_foreach(doc, i, a) assert_valid("alert-transition.json", "alert", a);
	json_decref(doc);
	free(snap);
	snap = alert_snapshot_json(TEST_TOWN_A);
	doc = json_loads(snap, 0, NULL);
	assert_int_equal(json_array_size(doc), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 0), "state")), "acknowledged");
	json_decref(doc);
	free(snap);
	alert_remove_listener(keep_json, NULL);
	free(last_transition);
	last_transition = NULL;
}

/* ---- webhook bodies ---- */

static char *bodies[4];

static void keep_bodies(const struct alert_transition *t, void *arg)
{
	(void)arg;
	if (t->rule != ALERT_PAYMENT_FAILED)
		return;
	if (t->kind == ALERT_EV_FIRED) {
		for (int f = 0; f < 3; f++) {
			free(bodies[f]);
			assert_int_equal(alert_webhook_body(t, (enum alert_webhook_format)f, &bodies[f]), 0);
		}
	} else if (t->kind == ALERT_EV_ACKNOWLEDGED) {
		free(bodies[3]);
		assert_int_equal(alert_webhook_body(t, ALERT_WEBHOOK_DINGTALK, &bodies[3]), 0);
	}
}

/* Same JSON as tests/data/alerts/<name>; ALERT_GOLDEN_WRITE=1 writes the file instead. */
static void assert_golden(const char *name, const char *body)
{
	const char *dir = getenv("TEST_DATA_DIR");
	char path[512];
	snprintf(path, sizeof path, "%s/alerts/%s", dir && *dir ? dir : "tests/data", name);
	json_t *got = json_loads(body, 0, NULL);
	assert_non_null(got);
	if (getenv("ALERT_GOLDEN_WRITE")) {
		assert_int_equal(json_dump_file(got, path, JSON_INDENT(1)), 0);
		json_decref(got);
		return;
	}
	json_error_t jerr;
	json_t *want = json_load_file(path, 0, &jerr);
	if (!want)
		fail_msg("cannot read %s: %s (set TEST_DATA_DIR?)", path, jerr.text);
	if (!json_equal(got, want))
		fail_msg("%s differs:\n%s", path, body);
	json_decref(got);
	json_decref(want);
}

static void test_webhook_bodies(void **state)
{
	(void)state;
	alert_add_listener(keep_bodies, NULL);
	now = at("2026-04-01", 10);
	post(ING_PAYMENT_BATCH, "{\"batch_id\":\"w1\",\"batch\":{\"batch_no\":\"B7\",\"department\":\"县扶贫办\","
	     "\"fund_type\":\"产业奖补\",\"period\":\"2026-03\",\"submitted\":%lld,\"funds_at_bank\":%lld},"
	     "\"payments\":[{\"payment_no\":\"P7\",\"household\":\"H7\",\"card\":\"6217****1234\",\"amount_fen\":123456,"
	     "\"village\":\"%s\"}]}", (long long)now, (long long)now, TEST_VILLAGE1);
	/* A reason with markdown in it must not become a link or a heading in the office's chat. */
	now += 3600;
	post(ING_PAYMENT_RESULTS, "{\"batch_id\":\"w2\",\"results\":[{\"payment_no\":\"P7\",\"status\":\"failed\","
	     "\"reason\":\"# 卡号错误 [点此](http://evil.example) <b>\",\"at\":%lld}]}", (long long)now);
	eval_at(at("2026-04-05", 8));
	json_t *reply = NULL;
	assert_int_equal(alert_ack(env.db, open_id("payment_failed", TEST_VILLAGE1), &office, "已通知村里核对卡号",
				   at("2026-04-05", 9), &reply), 200);
	json_decref(reply);
	for (int i = 0; i < 4; i++)
		assert_non_null(bodies[i]);
	assert_golden("fired.json", bodies[0]);
	assert_golden("fired.dingtalk.json", bodies[1]);
	assert_golden("fired.wecom.json", bodies[2]);
	assert_golden("acknowledged.dingtalk.json", bodies[3]);
	assert_null(strstr(bodies[1], "](http"));
	assert_null(strstr(bodies[2], "<b>"));
	assert_non_null(strstr(bodies[0], "](http")); /* the generic JSON keeps the data as it is */
	enum alert_webhook_format fmt;
	assert_int_equal(alert_webhook_format_parse("wecom", &fmt), 0);
	assert_int_equal(fmt, ALERT_WEBHOOK_WECOM);
	assert_int_equal(alert_webhook_format_parse("slack", &fmt), -1);
	alert_remove_listener(keep_bodies, NULL);
	for (int i = 0; i < 4; i++) {
		free(bodies[i]);
		bodies[i] = NULL;
	}
}

/* ---- the engine thread: sample to listener ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int64_t at_us;
} arrived = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_behind(const struct alert_transition *t, void *arg)
{
	(void)arg;
	if (t->rule != ALERT_PROJECT_BEHIND || t->kind != ALERT_EV_FIRED ||
	    strcmp(json_string_value(json_object_get(t->alert, "entity")), "XM900") != 0)
		return;
	pthread_mutex_lock(&arrived.lock);
	arrived.at_us = mono_us();
	pthread_cond_signal(&arrived.cond);
	pthread_mutex_unlock(&arrived.lock);
}

static void test_engine_thread_alert_within_a_second(void **state)
{
	(void)state;
	/* A project half-way through its plan, today by the wall clock. */
	now = (int64_t)time(NULL);
	char start[16], end[16], sql[1024];
	cst_date_format(cst_day(now) - 100, start, sizeof start);
	cst_date_format(cst_day(now) + 100, end, sizeof end);
	snprintf(sql, sizeof sql,
		 "INSERT INTO entity(kind, key, created) VALUES ('project', 'XM900', 0);"
		 "INSERT INTO project(entity_id, name, category, location, department, invest_fen, start_date, planned_end,"
		 " stage, updated) SELECT id, '扶贫车间', 'processing', '%s', '县工信局', 1000000, '%s', '%s', 'started', 0"
		 " FROM entity WHERE key = 'XM900';"
		 "UPDATE meta SET value = value + 1 WHERE key = 'registry_version';", TEST_VILLAGE2, start, end);
	assert_int_equal(db_exec(env.db, sql), 0);
	reg_refresh(env.db);
	alert_engine_stop();
	aopt.manual = 0;
	aopt.clock = NULL;
	engine_start();
	alert_add_listener(on_behind, NULL);
	uint64_t passes = alert_passes();
	for (int i = 0; i < 200 && alert_passes() == passes; i++) /* the thread's first, full pass */
		usleep(10000);

	now = (int64_t)time(NULL);
	post(ING_PROGRESS, "{\"batch_id\":\"late\",\"reports\":[{\"project\":\"XM900\",\"ts\":%lld,\"progress_pct\":10}]}",
	     (long long)now);
	int64_t committed = mono_us();
	pthread_mutex_lock(&arrived.lock);
	while (!arrived.at_us) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 2;
		if (pthread_cond_timedwait(&arrived.cond, &arrived.lock, &until) != 0)
			break;
	}
	int64_t latency = arrived.at_us ? arrived.at_us - committed : -1;
	pthread_mutex_unlock(&arrived.lock);
	alert_remove_listener(on_behind, NULL);
	print_message("sample committed -> alert at a listener: %.1f ms\n", (double)latency / 1000);
	assert_true(latency >= 0 && latency < 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escalation_raises_once_and_notifies_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_until_a_time_and_until_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_comment_and_resolve_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_in_the_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries_and_their_schemas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_thread_alert_within_a_second, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

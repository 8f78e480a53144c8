/*
 * test_ingest: the ingest core driven in-process, as the worker drives it:
 * verdicts per item, replays, scope and kind rules, payments life cycle,
 * project reports and milestones, tokens. Checks what lands in SQLite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf.h"
#include "ingest.h"
#include "testutil.h"

#include <jansson.h>

static struct test_env env;
static struct ingest_ctx *ctx;
static struct ingest_effects fx;
static const int64_t NOW = 1795600000; /* 2026-11-25 */
static struct ingest_source everything = {.id = 1, .name = "test", .scope = "", .kinds = 0x1f};

static int64_t fixed_clock(void) { return NOW; }

static int setup(void **state)
{
	(void)state;
	conf_defaults();
	if (test_env_setup(&env) < 0)
		return -1;
	ctx = ingest_ctx_new(env.db);
	ingest_set_clock(ctx, fixed_clock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ingest_ctx_free(ctx);
	ingest_effects_free(&fx);
	test_env_teardown(&env);
	return 0;
}

/* Handle a request in its own transaction; returns the parsed reply. */
static json_t *post(const struct ingest_source *src, enum ingest_kind kind, int *status, const char *fmt, ...)
{
	char body[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	char *reply = NULL;
	size_t len = 0;
	assert_int_equal(db_begin(env.db), 0);
	*status = ingest_handle(ctx, src, kind, body, strlen(body), &fx, &reply, &len);
	assert_int_equal(db_commit(env.db), 0);
	json_t *doc = json_loadb(reply, len, 0, NULL);
	assert_non_null(doc);
	free(reply);
	return doc;
}

static long long latest_of(const char *key, const char *metric)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT value FROM latest WHERE key = (SELECT id FROM entity WHERE key = '%s') * 256 + %d",
		 key, cat_find(metric)->index);
	return test_count(env.db, sql);
}

static const char *error_field(json_t *reply, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(reply, "errors"), i), "field"));
}

static const char *error_reason(json_t *reply, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(reply, "errors"), i), "reason"));
}

static json_int_t count_of(json_t *reply, const char *what)
{
	return json_integer_value(json_object_get(reply, what));
}

static void test_mixed_batch_keeps_good_items(void **state)
{
	(void)state;
	int status;
	json_t *r = post(&everything, ING_SAMPLES, &status,
		"{\"batch_id\":\"m1\",\"samples\":["
		"{\"entity\":\"610824100201\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":12},"
		"{\"entity\":\"610824100201\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":1.5},"
		"{\"entity\":\"610824100299\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":1},"
		"{\"entity\":\"610824100202\",\"metric\":\"funds_alloc_fen\",\"ts\":%lld,\"value\":-5},"
		"{\"entity\":\"610824100202\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":7},"
		"{\"entity\":\"610824100202\",\"metric\":\"nonsense\",\"ts\":%lld,\"value\":7},"
		"{\"entity\":\"610824100202\",\"metric\":\"pay_paid_fen\",\"ts\":%lld,\"value\":7},"
		"{\"entity\":\"610824100202\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":7}]}",
		(long long)NOW - 60, (long long)NOW, (long long)NOW, (long long)NOW, (long long)NOW,
		(long long)NOW, (long long)NOW, (long long)NOW + 86400);
	assert_int_equal(status, 200);
	assert_int_equal(count_of(r, "accepted"), 2);
	assert_int_equal(count_of(r, "rejected"), 6);
	assert_string_equal(error_field(r, 0), "samples[1].value");
	assert_string_equal(error_reason(r, 0), "must be an integer");
	assert_string_equal(error_field(r, 1), "samples[2].entity");
	assert_string_equal(error_reason(r, 1), "unknown division code");
	assert_string_equal(error_field(r, 2), "samples[3].value");
	assert_string_equal(error_reason(r, 2), "must be >= 0");
	assert_string_equal(error_field(r, 3), "samples[5].metric");
	assert_string_equal(error_field(r, 4), "samples[6].metric");
	assert_string_equal(error_reason(r, 4), "is computed by the server and cannot be sent");
	assert_string_equal(error_field(r, 5), "samples[7].ts");
	assert_string_equal(error_reason(r, 5), "is in the future");
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM sample"), 2);
	assert_int_equal(latest_of(TEST_VILLAGE1, "poor_hh"), 12);
	json_decref(r);
}

static void test_resent_batch_is_replayed(void **state)
{
	(void)state;
	int status;
	long long before = test_count(env.db, "SELECT count(*) FROM sample");
	json_t *r = post(&everything, ING_SAMPLES, &status,
		"{\"batch_id\":\"m1\",\"samples\":[{\"entity\":\"610824100201\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":99}]}",
		(long long)NOW);
	assert_int_equal(status, 200);
	assert_true(json_is_true(json_object_get(r, "replayed")));
	assert_int_equal(count_of(r, "accepted"), 2); /* the first verdict */
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM sample"), before);
	json_decref(r);
}

static void test_envelope_errors_refuse_everything(void **state)
{
	(void)state;
	int status;
	json_t *r = post(&everything, ING_SAMPLES, &status, "{\"samples\":[]}");
	assert_int_equal(status, 400);
	assert_string_equal(json_string_value(json_object_get(r, "field")), "batch_id");
	json_decref(r);
	r = post(&everything, ING_SAMPLES, &status, "{\"batch_id\":\"x\",\"samples\":[1,2");
	assert_int_equal(status, 400);
	assert_string_equal(json_string_value(json_object_get(r, "error")), "invalid JSON");
	json_decref(r);
}

static void test_scope_and_kind(void **state)
{
	(void)state;
	struct ingest_source township = {.id = 2, .name = "town-b", .scope = TEST_TOWN_B, .kinds = 1u << ING_SAMPLES};
	int status;
	json_t *r = post(&township, ING_SAMPLES, &status,
		"{\"batch_id\":\"s1\",\"samples\":["
		"{\"entity\":\"610824100201\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":1},"
		"{\"entity\":\"610824200201\",\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":2},"
		"{\"entity\":\"XM002\",\"metric\":\"progress_pct\",\"ts\":%lld,\"value\":10.5}]}",
		(long long)NOW, (long long)NOW, (long long)NOW);
	assert_int_equal(count_of(r, "accepted"), 2);
	assert_string_equal(error_reason(r, 0), "is outside this token's region scope");
	json_decref(r);
	r = post(&township, ING_PROGRESS, &status, "{\"batch_id\":\"s2\",\"reports\":[]}");
	assert_int_equal(status, 403);
	json_decref(r);
}

static void test_payment_life_cycle(void **state)
{
	(void)state;
	int status;
	json_t *r = post(&everything, ING_PAYMENT_BATCH, &status,
		"{\"batch_id\":\"p1\",\"batch\":{\"batch_no\":\"B2026-001\",\"department\":\"县扶贫办\","
		"\"fund_type\":\"产业奖补\",\"period\":\"2026-11\",\"submitted\":%lld},\"payments\":["
		"{\"payment_no\":\"P1\",\"household\":\"H1\",\"card\":\"6217****1234\",\"amount_fen\":50000,\"village\":\"610824100201\"},"
		"{\"payment_no\":\"P2\",\"household\":\"H2\",\"card\":\"6217****5678\",\"amount_fen\":30000,\"village\":\"610824100201\"},"
		"{\"payment_no\":\"P3\",\"household\":\"H3\",\"card\":\"6217123412341234\",\"amount_fen\":30000,\"village\":\"610824100201\"},"
		"{\"payment_no\":\"P4\",\"household\":\"H4\",\"card\":\"6217****0000\",\"amount_fen\":0,\"village\":\"610824100201\"}]}",
		(long long)NOW - 86400);
	assert_int_equal(status, 200);
	assert_int_equal(count_of(r, "accepted"), 2);
	assert_string_equal(error_field(r, 0), "payments[2].card");
	assert_string_equal(error_field(r, 1), "payments[3].amount_fen");
	json_decref(r);
	assert_int_equal(latest_of(TEST_VILLAGE1, "pay_issued_fen"), 80000);

	/* The same payment again is a duplicate; the same number for another payment is refused. */
	r = post(&everything, ING_PAYMENT_BATCH, &status,
		"{\"batch_id\":\"p2\",\"batch\":{\"batch_no\":\"B2026-001\",\"department\":\"县扶贫办\","
		"\"fund_type\":\"产业奖补\",\"period\":\"2026-11\",\"submitted\":%lld},\"payments\":["
		"{\"payment_no\":\"P1\",\"household\":\"H1\",\"card\":\"6217****1234\",\"amount_fen\":50000,\"village\":\"610824100201\"},"
		"{\"payment_no\":\"P2\",\"household\":\"H9\",\"card\":\"6217****5678\",\"amount_fen\":30000,\"village\":\"610824100201\"}]}",
		(long long)NOW - 86400);
	assert_int_equal(count_of(r, "duplicates"), 1);
	assert_int_equal(count_of(r, "rejected"), 1);
	assert_string_equal(error_reason(r, 0), "is already used for a different payment");
	json_decref(r);
	assert_int_equal(latest_of(TEST_VILLAGE1, "pay_issued_fen"), 80000);

	/* Bank results: one paid, one failed (needs a reason). */
	r = post(&everything, ING_PAYMENT_RESULTS, &status,
		"{\"batch_id\":\"r1\",\"results\":["
		"{\"payment_no\":\"P1\",\"status\":\"paid\",\"at\":%lld},"
		"{\"payment_no\":\"P2\",\"status\":\"failed\",\"at\":%lld},"
		"{\"payment_no\":\"P2\",\"status\":\"failed\",\"reason\":\"卡已注销\",\"at\":%lld},"
		"{\"payment_no\":\"P9\",\"status\":\"paid\",\"at\":%lld}]}",
		(long long)NOW - 3600, (long long)NOW - 3600, (long long)NOW - 3600, (long long)NOW - 3600);
	assert_int_equal(count_of(r, "accepted"), 2);
	assert_string_equal(error_field(r, 0), "results[1].reason");
	assert_string_equal(error_field(r, 1), "results[3].payment_no");
	json_decref(r);
	assert_int_equal(latest_of(TEST_VILLAGE1, "pay_paid_fen"), 50000);
	assert_int_equal(latest_of(TEST_VILLAGE1, "pay_failed"), 1);

	/* Paid cannot fail afterwards; the reissue closes the open failure. */
	r = post(&everything, ING_PAYMENT_RESULTS, &status,
		"{\"batch_id\":\"r2\",\"results\":[{\"payment_no\":\"P1\",\"status\":\"failed\",\"reason\":\"x\",\"at\":%lld}]}",
		(long long)NOW);
	assert_int_equal(count_of(r, "rejected"), 1);
	json_decref(r);
	r = post(&everything, ING_PAYMENT_BATCH, &status,
		"{\"batch_id\":\"p3\",\"batch\":{\"batch_no\":\"B2026-002\",\"department\":\"县扶贫办\","
		"\"fund_type\":\"产业奖补\",\"period\":\"2026-11\",\"submitted\":%lld},\"payments\":["
		"{\"payment_no\":\"P2R\",\"household\":\"H2\",\"card\":\"6228****9999\",\"amount_fen\":30000,\"village\":\"610824100201\",\"reissue_of\":\"P2\"},"
		"{\"payment_no\":\"P2S\",\"household\":\"H2\",\"card\":\"6228****9999\",\"amount_fen\":30000,\"village\":\"610824100201\",\"reissue_of\":\"P2\"}]}",
		(long long)NOW);
	assert_int_equal(count_of(r, "accepted"), 1);
	assert_string_equal(error_reason(r, 0), "names a payment that was already reissued");
	json_decref(r);
	assert_int_equal(latest_of(TEST_VILLAGE1, "pay_failed"), 0);
	assert_int_equal(latest_of(TEST_VILLAGE1, "pay_issued_fen"), 80000); /* a reissue is not new money */
}

static void test_progress_and_milestones(void **state)
{
	(void)state;
	int status;
	long long version = test_count(env.db, "SELECT value FROM meta WHERE key = 'registry_version'");
	json_t *r = post(&everything, ING_PROGRESS, &status,
		"{\"batch_id\":\"g1\",\"reports\":["
		"{\"project\":\"XM001\",\"ts\":%lld,\"progress_pct\":42.5,\"paid_fen\":1000000,\"stage\":\"started\",\"note\":\"羊舍完工\"},"
		"{\"project\":\"XM404\",\"ts\":%lld,\"progress_pct\":1},"
		"{\"project\":\"XM002\",\"ts\":%lld,\"progress_pct\":101}]}",
		(long long)NOW, (long long)NOW, (long long)NOW);
	assert_int_equal(count_of(r, "accepted"), 1);
	assert_string_equal(error_reason(r, 0), "unknown project");
	assert_string_equal(error_field(r, 1), "reports[2].progress_pct");
	json_decref(r);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM project WHERE stage = 'started'"), 1);
	assert_true(test_count(env.db, "SELECT value FROM meta WHERE key = 'registry_version'") > version);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM progress_report"), 1);

	r = post(&everything, ING_MILESTONES, &status,
		"{\"batch_id\":\"ms1\",\"milestones\":["
		"{\"project\":\"XM001\",\"name\":\"羊舍建设\",\"planned_date\":\"2026-05-01\",\"weight\":2},"
		"{\"project\":\"XM001\",\"name\":\"引种\",\"weight\":1},"
		"{\"project\":\"XM001\",\"name\":\"验收\",\"planned_date\":\"2026-02-30\",\"weight\":1},"
		"{\"project\":\"XM001\",\"name\":\"出栏\",\"planned_date\":\"2026-12-01\",\"weight\":1,\"done_date\":\"2026-12-01\"}]}");
	assert_int_equal(count_of(r, "accepted"), 1);
	assert_string_equal(error_field(r, 0), "milestones[1].planned_date");
	assert_string_equal(error_reason(r, 0), "is required for a new milestone");
	assert_string_equal(error_reason(r, 1), "is not a real calendar date");
	assert_string_equal(error_field(r, 2), "milestones[3].done_date");
	json_decref(r);
	r = post(&everything, ING_MILESTONES, &status,
		"{\"batch_id\":\"ms2\",\"milestones\":[{\"project\":\"XM001\",\"name\":\"羊舍建设\",\"done_date\":\"2026-05-03\"}]}");
	assert_int_equal(count_of(r, "accepted"), 1);
	json_decref(r);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM milestone WHERE done_date = '2026-05-03' AND weight = 2"), 1);
}

static void test_tokens(void **state)
{
	(void)state;
	char token[64];
	unsigned char hash[32];
	assert_int_equal(ingest_token_generate(token, sizeof token), 0);
	assert_int_equal(strlen(token), 47);
	ingest_token_hash(token, hash);
	sqlite3_stmt *st = db_prepare(env.db,
		"INSERT INTO ingest_token(name, token_hash, scope, kinds, created) VALUES ('bank', ?1, '610824', 'payment_results', 0)");
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	struct ingest_source src;
	assert_int_equal(ingest_authenticate(ctx, token, &src), 0);
	assert_string_equal(src.name, "bank");
	assert_int_equal(src.kinds, 1u << ING_PAYMENT_RESULTS);
	assert_int_equal(ingest_authenticate(ctx, "fpm_wrong", &src), -1);
	/* Revoked from another connection (fpmctl): seen at the next request. */
	char err[256];
	sqlite3 *admin = db_open(env.db_path, DB_SYNC_NORMAL, err, sizeof err);
	assert_non_null(admin);
	assert_int_equal(db_exec(admin, "UPDATE ingest_token SET revoked = 1 WHERE name = 'bank'"), 0);
	db_close(admin);
	assert_int_equal(ingest_authenticate(ctx, token, &src), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed_batch_keeps_good_items),
		cmocka_unit_test(test_resent_batch_is_replayed),
		cmocka_unit_test(test_envelope_errors_refuse_everything),
		cmocka_unit_test(test_scope_and_kind),
		cmocka_unit_test(test_payment_life_cycle),
		cmocka_unit_test(test_progress_and_milestones),
		cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

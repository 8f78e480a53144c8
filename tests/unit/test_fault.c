/*
 * test_fault: the fault-injection module (count-down, repeat, the control
 * file's text), the shim VFS (SQLITE_FULL, I/O error and a torn write leave
 * the database intact) and what ingest makes of them: 503 with a reason and
 * nothing stored, then success once the fault clears, replay still exact;
 * and the nightly-style loop failing the N-th allocation of a request's
 * preparation for N = 1.. until it succeeds (run it under ASan for leaks).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf.h"
#include "fault.h"
#include "ingest.h"
#include "ingestq.h"
#include "testutil.h"

#include <jansson.h>
#include <pthread.h>

static struct test_env env;
static struct ingest_source person = {.id = -1, .name = "tester", .scope = "", .kinds = 0x1f, .peer = "test"};

static int setup(void **state)
{
	(void)state;
	conf_defaults();
	fault_clear_all();
	assert_int_equal(fault_vfs_register(1), SQLITE_OK); /* every connection below goes through the shim */
	return test_env_setup(&env);
}

static int teardown(void **state)
{
	(void)state;
	fault_clear_all();
	test_env_teardown(&env);
	return 0;
}

static void test_countdown_and_repeat(void **state)
{
	(void)state;
	fault_arm(FAULT_RRD_DIR, FAULT_FAIL, 3, 0);
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_NONE);
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_NONE);
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_FAIL);
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_NONE); /* once: disarmed itself */
	fault_arm(FAULT_RRD_DIR, FAULT_FULL, 2, 1);
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_NONE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_FULL);
	assert_int_equal(fault_check(FAULT_RRD_WRITE), FAULT_NONE); /* points are independent */
	fault_clear_all();
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_NONE);
}

static void test_control_text(void **state)
{
	(void)state;
	char err[160];
	assert_int_equal(fault_parse("# disk trouble\nrrd_write short nth=2 repeat\n\nrrd_dir\n", err, sizeof err), 0);
	assert_int_equal(fault_check(FAULT_RRD_WRITE), FAULT_NONE);
	assert_int_equal(fault_check(FAULT_RRD_WRITE), FAULT_SHORT);
	assert_int_equal(fault_check(FAULT_RRD_WRITE), FAULT_SHORT);
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_FAIL); /* no nth: every call */
	assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_FAIL);
	static const char *const bad[] = {"disk full", "alloc nth=0", "alloc nth=", "alloc sideways", "rrd_dir\nalloc nth=x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(fault_parse(bad[i], err, sizeof err), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(fault_check(FAULT_RRD_DIR), FAULT_NONE); /* a bad file arms nothing */
	}
	assert_int_equal(fault_parse("", err, sizeof err), 0);
}

/* One transaction of `rows` inserts on its own connection through the shim. */
static int insert_rows(sqlite3 *db, int rows)
{
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (int i = 0; i < rows && rc == SQLITE_OK; i++)
		rc = sqlite3_exec(db, "INSERT INTO t(v) VALUES (randomblob(3000))", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc & 0xff;
}

static void test_vfs_full_ioerr_short(void **state)
{
	(void)state;
	char path[160];
	snprintf(path, sizeof path, "%s/vfs.db", env.dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "fpmon-fault"), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(v)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(insert_rows(db, 5), SQLITE_OK);
	const enum fault_effect effects[] = {FAULT_FULL, FAULT_FAIL, FAULT_SHORT};
	const int expect[] = {SQLITE_FULL, SQLITE_IOERR, SQLITE_FULL};
	for (int i = 0; i < 3; i++) {
		fault_arm(FAULT_DB_WRITE, effects[i], 2, 1); /* the first frame lands, then the disk fails */
		assert_int_equal(insert_rows(db, 20), expect[i]);
		fault_clear_all();
		assert_int_equal(test_count(db, "SELECT count(*) FROM t"), 5); /* nothing half-written */
	}
	assert_int_equal(insert_rows(db, 20), SQLITE_OK); /* recovers by itself */
	sqlite3_close(db);
	/* A fresh connection (WAL recovery over the torn frames) sees 25 rows and a sound file. */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(test_count(db, "SELECT count(*) FROM t"), 25);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- ingest through the real two-thread pipeline ---- */

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int woken;

static void wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&done_lock);
	woken = 1;
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

static const char samples_body[] =
	"{\"batch_id\":\"f-1\",\"samples\":["
	"{\"entity\":\"610824100201\",\"metric\":\"poor_hh\",\"ts\":1795500000,\"value\":12},"
	"{\"entity\":\"610824100202\",\"metric\":\"poor_hh\",\"ts\":1795500000,\"value\":7},"
	"{\"entity\":\"610824200201\",\"metric\":\"poor_hh\",\"ts\":1795500000,\"value\":3}]}";

/* Submit one request and wait for its verdict: the status; *reply parsed. */
static int submit(const char *body, json_t **reply)
{
	struct ingest_job *job = calloc(1, sizeof *job);
	job->kind = ING_SAMPLES;
	job->has_person = 1;
	job->person = person;
	job->body = strdup(body);
	job->len = strlen(body);
	assert_int_equal(ingestq_submit(job), 0);
	struct ingest_job *done;
	pthread_mutex_lock(&done_lock);
	while (!(done = ingestq_take_done())) {
		while (!woken)
			pthread_cond_wait(&done_cond, &done_lock);
		woken = 0;
	}
	pthread_mutex_unlock(&done_lock);
	assert_null(done->next);
	int status = done->status;
	*reply = json_loadb(done->reply, done->reply_len, 0, NULL);
	assert_non_null(*reply);
	ingestq_job_free(done);
	return status;
}

static void test_ingest_refuses_then_recovers(void **state)
{
	(void)state;
	char err[256];
	struct ingestq_options opt = {.db_path = env.db_path, .queue_max = 16, .wake = wake};
	assert_int_equal(ingestq_start(&opt, err, sizeof err), 0);
	json_t *reply;
	const enum fault_effect effects[] = {FAULT_FULL, FAULT_FAIL, FAULT_SHORT};
	const char *const errors[] = {"database full", "storage unavailable", "database full"};
	for (int i = 0; i < 3; i++) {
		fault_arm(FAULT_DB_WRITE, effects[i], 1, 1);
		assert_int_equal(submit(samples_body, &reply), 503);
		assert_string_equal(json_string_value(json_object_get(reply, "error")), errors[i]);
		assert_non_null(strstr(json_string_value(json_object_get(reply, "reason")), "nothing was stored"));
		json_decref(reply);
		fault_clear_all();
		assert_int_equal(test_count(env.db, "SELECT count(*) FROM sample"), 0);
		assert_int_equal(test_count(env.db, "SELECT count(*) FROM ingest_batch"), 0);
	}
	assert_int_equal(submit(samples_body, &reply), 200); /* the same batch_id, now stored */
	assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 3);
	assert_null(json_object_get(reply, "replayed"));
	json_decref(reply);
	assert_int_equal(submit(samples_body, &reply), 200);
	assert_true(json_is_true(json_object_get(reply, "replayed")));
	json_decref(reply);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM sample"), 3);
	ingestq_stop();
}

/* ---- allocation failures while preparing a request ---- */

static void test_prepare_fails_nth_allocation(void **state)
{
	(void)state;
	/* Three good items and two bad ones, so verdict errors are built too. */
	static const char body[] =
		"{\"batch_id\":\"oom\",\"samples\":["
		"{\"entity\":\"610824100201\",\"metric\":\"poor_hh\",\"ts\":1795500000,\"value\":12},"
		"{\"entity\":\"610824100202\",\"metric\":\"no_such_metric\",\"ts\":1795500000,\"value\":1},"
		"{\"entity\":\"610824100202\",\"metric\":\"poor_hh\",\"ts\":1795500000,\"value\":7},"
		"{\"entity\":\"999999999999\",\"metric\":\"poor_hh\",\"ts\":1795500000,\"value\":1},"
		"{\"entity\":\"610824200201\",\"metric\":\"poor_hh\",\"ts\":1795500000,\"value\":3}]}";
	struct ingest_ctx *ctx = ingest_ctx_new(env.db);
	struct ingest_effects fx = {0};
	fault_json_hooks();
	fault_thread_alloc(1);
	int refused = 0, n;
	for (n = 1; n < 1000; n++) {
		struct ingest_prepared *p = NULL;
		char *reply = NULL;
		size_t len = 0;
		uint64_t fired_before = fault_fired(FAULT_ALLOC);
		fault_arm(FAULT_ALLOC, FAULT_FAIL, n, 0);
		int status = ingest_prepare(ctx, &person, ING_SAMPLES, body, strlen(body), &p, &reply, &len);
		int fired = fault_fired(FAULT_ALLOC) > fired_before;
		fault_clear_all();
		if (status) {
			if (status != 503)
				print_error("allocation %d: %d %.*s\n", n, status, (int)len, reply);
			assert_int_equal(status, 503);
			assert_null(p);
			json_t *doc = json_loadb(reply, len, 0, NULL);
			assert_string_equal(json_string_value(json_object_get(doc, "error")), "out of memory");
			json_decref(doc);
			free(reply);
			refused++;
			continue;
		}
		/* Success only when the N-th allocation never came: a failure
		 * swallowed on the way would leave a wrong verdict behind. */
		assert_false(fired);
		assert_int_equal(db_begin(env.db), 0);
		assert_int_equal(ingest_commit_prepared(ctx, p, &fx, &reply, &len), 200);
		assert_int_equal(db_commit(env.db), 0);
		json_t *doc = json_loadb(reply, len, 0, NULL);
		assert_int_equal(json_integer_value(json_object_get(doc, "accepted")), 3);
		assert_int_equal(json_integer_value(json_object_get(doc, "rejected")), 2);
		json_decref(doc);
		free(reply);
		ingest_prepared_free(p);
		break;
	}
	fault_thread_alloc(0);
	print_message("prepare: %d allocations failed one at a time, each refused with 503\n", refused);
	assert_true(refused >= 10 && refused == n - 1);
	assert_int_equal(test_count(env.db, "SELECT count(*) FROM sample"), 3);
	ingest_effects_free(&fx);
	ingest_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_countdown_and_repeat),
		cmocka_unit_test(test_control_text),
		cmocka_unit_test_setup_teardown(test_vfs_full_ioerr_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ingest_refuses_then_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_fails_nth_allocation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

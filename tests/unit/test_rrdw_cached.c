/*
 * test_rrdw_cached: the RRD writer configured with an rrdcached address,
 * against a real rrdcached: rows go through BATCH, a reader's FLUSH makes
 * them visible in the file, after a restart rows the daemon already
 * holds are not sent again (LAST), so nothing collides or is lost, and
 * rows of a BATCH that fails (the daemon died) stay pending and are sent
 * again once it is back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rrdcached_fixture.h"
#include "rrdfile.h"
#include "rrdw.h"
#include "stats.h"
#include "testutil.h"

#include <math.h>

#define T0 ((int64_t)1795564800)

static struct test_env env;
static int64_t clock_now;
static int64_t fake_clock(void) { return clock_now; }

static void start_writer(void)
{
	char err[256];
	struct rrdw_options opt = {.db_path = env.db_path, .flush_steps = 6, .clock = fake_clock,
				   .manual = 1, .rrdcached = socket_address};
	/* rrdcached runs with -B: files must live under its base directory. */
	snprintf(opt.rrd_dir, sizeof opt.rrd_dir, "%s/rrd", tmp_dir);
	assert_int_equal(rrdw_start(&opt, err, sizeof err), 0);
}

static int setup(void **state)
{
	if (start_daemon(state) < 0 || test_env_setup(&env) < 0)
		return -1;
	clock_now = T0 + 10;
	start_writer();
	return 0;
}

static int teardown(void **state)
{
	rrdw_stop();
	test_env_teardown(&env);
	return stop_daemon(state);
}

static int64_t entity_id(const char *key)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT id FROM entity WHERE key = '%s'", key);
	return test_count(env.db, sql);
}

static void sample(const char *key, const char *metric, int64_t ts, double value)
{
	sqlite3_stmt *st = db_prepare(env.db, "INSERT INTO sample(entity_id, metric, ts, value, batch_id) VALUES (?1, ?2, ?3, ?4, 0)");
	sqlite3_bind_int64(st, 1, entity_id(key));
	sqlite3_bind_int(st, 2, cat_find(metric)->index);
	sqlite3_bind_int64(st, 3, ts);
	sqlite3_bind_double(st, 4, value);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	struct ingest_sample s = {.entity_id = entity_id(key), .metric = (int16_t)cat_find(metric)->index,
				  .ts = ts, .value = value, .sample_id = sqlite3_last_insert_rowid(env.db)};
	struct ingest_effects fx = {.samples = &s, .n_samples = 1};
	rrdw_observe(&fx, NULL);
}

static double last_value(const char *key, const char *metric, int64_t *last_ts)
{
	char path[512], err[256];
	double values[CAT_MAX_DS];
	assert_int_equal(rrdw_path(entity_id(key), path, sizeof path), 0);
	assert_int_equal(rrdw_prepare_read(path, err, sizeof err), 0);
	const struct cat_layout *l = cat_layout(strlen(key) == 12 && strcmp(key + 9, "000") ? CAT_VILLAGE : CAT_REGION);
	assert_int_equal(rrdfile_last(path, last_ts, values, l->n_ds, err, sizeof err), 0);
	return values[cat_ds_index(CAT_VILLAGE, cat_find(metric)->index)];
}

static void test_rows_through_rrdcached(void **state)
{
	(void)state;
	uint64_t errors = atomic_load(&stats.rrd_errors);
	sample(TEST_VILLAGE1, "poor_hh", T0 + 100, 10);
	sample(TEST_VILLAGE2, "poor_hh", T0 + 100, 20);
	clock_now = T0 + 6 * RRDFILE_STEP + 20;
	rrdw_flush_now();
	int64_t last;
	assert_true(last_value(TEST_VILLAGE1, "poor_hh", &last) == 10);
	assert_int_equal(last, T0 + 6 * RRDFILE_STEP);
	assert_true(last_value(TEST_TOWN_A, "poor_hh", &last) == 30);
	assert_int_equal(atomic_load(&stats.rrd_errors), errors);
}

static void test_restart_does_not_resend(void **state)
{
	(void)state;
	uint64_t errors = atomic_load(&stats.rrd_errors);
	sample(TEST_VILLAGE1, "poor_hh", T0 + 7 * RRDFILE_STEP, 11);
	clock_now = T0 + 8 * RRDFILE_STEP + 20;
	rrdw_flush_now();
	/* Forget that the cycle was recorded: the restart replays it, as after a crash. */
	db_exec(env.db, "UPDATE meta SET value = 0 WHERE key = 'rrd_applied_sample'; DELETE FROM rrd_state;");
	rrdw_stop();
	start_writer();
	clock_now = T0 + 9 * RRDFILE_STEP + 20;
	rrdw_flush_now();
	int64_t last;
	assert_true(last_value(TEST_VILLAGE1, "poor_hh", &last) == 11);
	assert_int_equal(last, T0 + 9 * RRDFILE_STEP);
	assert_int_equal(atomic_load(&stats.rrd_errors), errors);
}

static void test_failed_batch_keeps_rows_pending(void **state)
{
	(void)state;
	uint64_t errors = atomic_load(&stats.rrd_errors);
	int64_t last;
	sample(TEST_VILLAGE1, "poor_hh", T0 + 10 * RRDFILE_STEP, 12);
	clock_now = T0 + 11 * RRDFILE_STEP + 20;
	rrdw_flush_now(); /* the writer's connection stays open */
	assert_true(last_value(TEST_VILLAGE1, "poor_hh", &last) == 12);
	assert_int_equal(last, T0 + 11 * RRDFILE_STEP);

	kill_daemon();
	sample(TEST_VILLAGE1, "poor_hh", T0 + 12 * RRDFILE_STEP, 13);
	clock_now = T0 + 14 * RRDFILE_STEP + 20;
	rrdw_flush_now(); /* queued on the dead connection: the BATCH fails */
	assert_true(atomic_load(&stats.rrd_errors) > errors);
	assert_int_equal(rrdw_last_written(entity_id(TEST_VILLAGE1)), T0 + 11 * RRDFILE_STEP); /* still pending */
	int64_t ts[8];
	double values[8 * CAT_MAX_DS];
	size_t n_ds;
	assert_int_equal(rrdw_pending(entity_id(TEST_VILLAGE1), T0 + 14 * RRDFILE_STEP, ts, values, 8, &n_ds), 3);

	assert_int_equal(launch_daemon(), 0);
	clock_now = T0 + 15 * RRDFILE_STEP + 20;
	rrdw_flush_now(); /* the retry */
	assert_true(last_value(TEST_VILLAGE1, "poor_hh", &last) == 13);
	assert_int_equal(last, T0 + 15 * RRDFILE_STEP);
	assert_true(last_value(TEST_TOWN_A, "poor_hh", &last) == 13 + 20);
	/* every row of the failed cycle is in the file */
	char path[512], err[256];
	assert_int_equal(rrdw_path(entity_id(TEST_VILLAGE1), path, sizeof path), 0);
	struct rrdfile_series s;
	assert_int_equal(rrdfile_fetch(path, T0 + 11 * RRDFILE_STEP, T0 + 15 * RRDFILE_STEP, RRDFILE_STEP, &s, err, sizeof err), 0);
	int ds = -1;
	for (size_t d = 0; d < s.n_ds; d++)
		if (strcmp(s.ds_names[d], "poor_hh") == 0)
			ds = (int)d;
	assert_true(ds >= 0);
	for (size_t r = 0; r < s.n_rows; r++) {
		int64_t t = s.start + (int64_t)(r + 1) * s.step;
		if (t > T0 + 11 * RRDFILE_STEP && t <= T0 + 15 * RRDFILE_STEP)
			assert_true(s.values[r * s.n_ds + (size_t)ds] == (t < T0 + 12 * RRDFILE_STEP ? 12 : 13));
	}
	rrdfile_series_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_through_rrdcached),
		cmocka_unit_test(test_restart_does_not_resend),
		cmocka_unit_test(test_failed_batch_keeps_rows_pending),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

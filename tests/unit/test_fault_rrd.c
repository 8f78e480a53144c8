/*
 * test_fault_rrd: the RRD writer when its files cannot be written. The RRD
 * directory is made a path under a regular file (ENOTDIR stops root too):
 * cycles fail, nothing is lost from memory or SQLite, rrd_applied_sample
 * stays behind, and once the path is a directory again every row arrives,
 * also across a restart. In a fault build, writes that stop half-way too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fault.h"
#include "rrdfile.h"
#include "rrdw.h"
#include "stats.h"
#include "testutil.h"

#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

static struct test_env env;
static int64_t now;
static int64_t test_clock(void) { return now; }

#define BASE ((int64_t)1795564800) /* a step boundary, 2026-11-25 00:00 UTC */
#define STEP_AT(k) (BASE + (int64_t)(k) * RRDFILE_STEP)

static char rrd_dir[128];

static void writer_start(void)
{
	char err[256];
	struct rrdw_options opt = {.db_path = env.db_path, .flush_steps = 4, .clock = test_clock, .manual = 1};
	snprintf(opt.rrd_dir, sizeof opt.rrd_dir, "%s", rrd_dir);
	assert_int_equal(rrdw_start(&opt, err, sizeof err), 0);
}

/* The RRD directory becomes a regular file (unwritable below it) or goes away. */
static void block_rrd_dir(int blocked)
{
	if (blocked) {
		int fd = open(rrd_dir, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(fd >= 0);
		close(fd);
	} else {
		assert_int_equal(unlink(rrd_dir), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	fault_clear_all();
	if (test_env_setup(&env) < 0)
		return -1;
	snprintf(rrd_dir, sizeof rrd_dir, "%s/rrd", env.dir);
	now = BASE + 10;
	writer_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fault_clear_all();
	rrdw_stop();
	test_env_teardown(&env);
	return 0;
}

/* An acknowledged sample: its row in SQLite, then the writer is told. */
static void acknowledge(const char *key, const char *metric, int64_t ts, double value)
{
	char sql[256];
	snprintf(sql, sizeof sql, "INSERT INTO sample(entity_id, metric, ts, value, batch_id)"
		 " SELECT id, %d, %lld, %g, 0 FROM entity WHERE key = '%s'", cat_find(metric)->index, (long long)ts, value, key);
	assert_int_equal(db_exec(env.db, sql), 0);
	struct ingest_sample s = {.metric = (int16_t)cat_find(metric)->index, .ts = ts, .value = value,
				  .sample_id = sqlite3_last_insert_rowid(env.db)};
	snprintf(sql, sizeof sql, "SELECT id FROM entity WHERE key = '%s'", key);
	s.entity_id = test_count(env.db, sql);
	struct ingest_effects fx = {.samples = &s, .n_samples = 1};
	rrdw_observe(&fx, NULL);
}

/* Every row of (STEP_AT(0), STEP_AT(last)] of one data source, as written. */
static void rows_of(const char *key, const char *metric, int last, double *out)
{
	char sql[128], path[512], err[256];
	snprintf(sql, sizeof sql, "SELECT id FROM entity WHERE key = '%s'", key);
	assert_int_equal(rrdw_path(test_count(env.db, sql), path, sizeof path), 0);
	struct rrdfile_series s;
	assert_int_equal(rrdfile_fetch(path, STEP_AT(0), STEP_AT(last), RRDFILE_STEP, &s, err, sizeof err), 0);
	for (int k = 1; k <= last; k++)
		out[k] = NAN;
	for (size_t d = 0; d < s.n_ds; d++) {
		if (strcmp(s.ds_names[d], metric) != 0)
			continue;
		for (size_t r = 0; r < s.n_rows; r++) {
			int64_t t = s.start + (int64_t)(r + 1) * s.step;
			if (t > STEP_AT(0) && t <= STEP_AT(last))
				out[(t - BASE) / RRDFILE_STEP] = s.values[r * s.n_ds + d];
		}
	}
	rrdfile_series_free(&s);
}

/* The samples every test writes: see assert_caught_up. */
static void acknowledge_samples(void)
{
	acknowledge(TEST_VILLAGE1, "poor_hh", STEP_AT(0) + 100, 10);
	acknowledge(TEST_VILLAGE2, "poor_hh", STEP_AT(0) + 100, 5);
	acknowledge(TEST_VILLAGE1, "poor_hh", STEP_AT(2) + 100, 11);
}

static int64_t applied(void) { return db_meta_get(env.db, "rrd_applied_sample", 0); }

/* Rows 1..8: 10 until step 3, then 11; township A adds village 2's 5. */
static void assert_caught_up(void)
{
	double v[9], town[9];
	rows_of(TEST_VILLAGE1, "poor_hh", 8, v);
	rows_of(TEST_TOWN_A, "poor_hh", 8, town);
	for (int k = 1; k <= 8; k++) {
		assert_true(v[k] == (k < 3 ? 10 : 11));
		assert_true(town[k] == v[k] + 5);
	}
	assert_int_equal(atomic_load(&stats.rrd_files_failing), 0);
	assert_int_equal(applied(), test_count(env.db, "SELECT max(id) FROM sample"));
}

static void test_unwritable_dir_then_catch_up(void **state)
{
	(void)state;
	block_rrd_dir(1);
	acknowledge_samples();
	uint64_t errors = atomic_load(&stats.rrd_errors);
	for (int k = 4; k <= 6; k += 2) { /* two cycles fail, the samples wait */
		now = STEP_AT(k) + 20;
		rrdw_flush_now();
		assert_true(atomic_load(&stats.rrd_files_failing) > 0);
		assert_true(atomic_load(&stats.rrd_errors) > errors);
		assert_int_equal(applied(), 0);
	}
	block_rrd_dir(0);
	now = STEP_AT(8) + 20;
	rrdw_flush_now();
	assert_caught_up();
}

static void test_failure_survives_restart(void **state)
{
	(void)state;
	block_rrd_dir(1);
	acknowledge_samples();
	now = STEP_AT(4) + 20;
	rrdw_flush_now();
	rrdw_stop(); /* its last cycle fails too: only SQLite has the samples */
	block_rrd_dir(0);
	now = STEP_AT(8) + 20;
	writer_start();
	rrdw_flush_now();
	assert_caught_up();
}

#ifdef FPMON_FAULT_INJECTION
/* Every librrd call writes half its rows, then the disk is full. */
static void test_short_writes_then_catch_up(void **state)
{
	(void)state;
	acknowledge_samples();
	fault_arm(FAULT_RRD_WRITE, FAULT_SHORT, 1, 1);
	now = STEP_AT(6) + 20;
	rrdw_flush_now();
	assert_true(atomic_load(&stats.rrd_files_failing) > 0);
	assert_true(fault_fired(FAULT_RRD_WRITE) > 0);
	fault_clear_all();
	now = STEP_AT(8) + 20;
	rrdw_flush_now();
	assert_caught_up();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unwritable_dir_then_catch_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_survives_restart, setup, teardown),
#ifdef FPMON_FAULT_INJECTION
		cmocka_unit_test_setup_teardown(test_short_writes_then_catch_up, setup, teardown),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

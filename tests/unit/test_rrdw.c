/*
 * test_rrdw: the RRD writer with a controlled clock and no timer thread:
 * sample-and-hold rows, township/county roll-ups (sums, weighted means,
 * project earned/planned value), late samples, rows pending in memory, and
 * a restart that replays acknowledged samples not yet in a row, and a
 * reader that sees every row exactly while the writer moves rows to files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rrdfile.h"
#include "rrdread.h"
#include "rrdw.h"
#include "stats.h"
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

static struct test_env env;
static int64_t clock_now;
static int64_t fake_clock(void) { return clock_now; }

/* 2026-11-25 00:00 UTC, a step boundary. */
#define T0 ((int64_t)1795564800)

static void start_writer(void)
{
	char err[256];
	struct rrdw_options opt = {.db_path = env.db_path, .flush_steps = 6, .clock = fake_clock, .manual = 1};
	snprintf(opt.rrd_dir, sizeof opt.rrd_dir, "%s/rrd", env.dir);
	assert_int_equal(rrdw_start(&opt, err, sizeof err), 0);
}

static int setup(void **state)
{
	(void)state;
	if (test_env_setup(&env) < 0)
		return -1;
	clock_now = T0 + 10;
	start_writer();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rrdw_stop();
	test_env_teardown(&env);
	return 0;
}

static int64_t entity_id(const char *key)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT id FROM entity WHERE key = '%s'", key);
	return test_count(env.db, sql);
}

/* Store a sample as ingest would (row in SQLite), then hand it to the writer. */
static void sample(const char *key, const char *metric, int64_t ts, double value, int observe)
{
	sqlite3_stmt *st = db_prepare(env.db, "INSERT INTO sample(entity_id, metric, ts, value, batch_id) VALUES (?1, ?2, ?3, ?4, 0)");
	sqlite3_bind_int64(st, 1, entity_id(key));
	sqlite3_bind_int(st, 2, cat_find(metric)->index);
	sqlite3_bind_int64(st, 3, ts);
	sqlite3_bind_double(st, 4, value);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	if (!observe)
		return;
	struct ingest_sample s = {.entity_id = entity_id(key), .metric = (int16_t)cat_find(metric)->index,
				  .ts = ts, .value = value, .sample_id = sqlite3_last_insert_rowid(env.db)};
	struct ingest_effects fx = {.samples = &s, .n_samples = 1};
	rrdw_observe(&fx, NULL);
}

/* Value of a data source at time t, read back from the file. */
static double value_at(const char *key, const char *metric, int64_t t)
{
	char path[512], err[256];
	assert_int_equal(rrdw_path(entity_id(key), path, sizeof path), 0);
	struct rrdfile_series s;
	assert_int_equal(rrdfile_fetch(path, t - RRDFILE_STEP, t, RRDFILE_STEP, &s, err, sizeof err), 0);
	double v = NAN;
	for (size_t d = 0; d < s.n_ds; d++)
		if (strcmp(s.ds_names[d], metric) == 0)
			for (size_t r = 0; r < s.n_rows; r++)
				if (s.start + (int64_t)(r + 1) * s.step == t)
					v = s.values[r * s.n_ds + d];
	rrdfile_series_free(&s);
	return v;
}

static void test_sample_and_hold_and_rollups(void **state)
{
	(void)state;
	sample(TEST_VILLAGE1, "poor_hh", T0 + 100, 10, 1);
	sample(TEST_VILLAGE2, "poor_hh", T0 + 100, 20, 1);
	sample(TEST_VILLAGE3, "poor_hh", T0 + 700, 5, 1);
	sample(TEST_VILLAGE1, "population", T0 + 100, 100, 1);
	sample(TEST_VILLAGE2, "population", T0 + 100, 300, 1);
	sample(TEST_VILLAGE1, "incidence_pct", T0 + 100, 10, 1);
	sample(TEST_VILLAGE2, "incidence_pct", T0 + 100, 30, 1);
	sample("XM001", "progress_pct", T0 + 100, 50, 1);
	sample(TEST_VILLAGE1, "poor_hh", T0 + 1000, 11, 1); /* changes in the 4th step */
	clock_now = T0 + 6 * RRDFILE_STEP + 20;
	assert_true(rrdw_flush_now() > 0);

	int64_t t1 = T0 + RRDFILE_STEP, t2 = T0 + 2 * RRDFILE_STEP, t4 = T0 + 4 * RRDFILE_STEP, t6 = T0 + 6 * RRDFILE_STEP;
	assert_true(value_at(TEST_VILLAGE1, "poor_hh", t1) == 10);
	assert_true(value_at(TEST_VILLAGE1, "poor_hh", t2) == 10);  /* held */
	assert_true(value_at(TEST_VILLAGE1, "poor_hh", t4) == 11);
	assert_true(isnan(value_at(TEST_VILLAGE3, "poor_hh", t1)));
	assert_true(value_at(TEST_VILLAGE3, "poor_hh", t6) == 5);
	/* Township A = villages 1 + 2; county = all. */
	assert_true(value_at(TEST_TOWN_A, "poor_hh", t1) == 30);
	assert_true(value_at(TEST_TOWN_A, "poor_hh", t6) == 31);
	assert_true(value_at(TEST_COUNTY, "poor_hh", t6) == 36);
	/* Incidence weighted by population: (10*100 + 30*300) / 400 = 25. */
	assert_true(fabs(value_at(TEST_TOWN_A, "incidence_pct", t6) - 25) < 1e-9);
	/* Projects: XM001 (10 M fen, 50 %) in township A; XM002 (30 M fen, nothing reported) in B. */
	assert_true(value_at(TEST_TOWN_A, "proj_total", t6) == 1);
	assert_true(value_at(TEST_COUNTY, "proj_total", t6) == 2);
	assert_true(value_at(TEST_COUNTY, "proj_budget_fen", t6) == 400000000);
	assert_true(value_at(TEST_TOWN_A, "proj_ev_fen", t6) == 50000000);
	double pv = value_at("XM001", "planned_pct", t6);
	assert_true(pv > 85 && pv < 95); /* 2026-01-01 .. 2026-12-31, late November */
	assert_true(fabs(value_at("XM001", "spi", t6) - 50 / pv) < 1e-9);
	assert_true(fabs(value_at(TEST_TOWN_A, "proj_spi", t6) - 50 / pv) < 1e-9);
}

static void test_late_and_pending(void **state)
{
	(void)state;
	uint64_t late_before = atomic_load(&stats.samples_late);
	sample(TEST_VILLAGE1, "poor_hh", T0 + 200, 99, 1); /* its row is written */
	assert_int_equal(atomic_load(&stats.samples_late), late_before + 1);
	assert_int_equal(rrdw_last_written(entity_id(TEST_VILLAGE1)), T0 + 6 * RRDFILE_STEP);

	sample(TEST_VILLAGE1, "poor_hh", T0 + 7 * RRDFILE_STEP + 5, 12, 1);
	int64_t ts[8];
	double values[8 * CAT_MAX_DS];
	size_t n_ds;
	long n = rrdw_pending(entity_id(TEST_VILLAGE1), T0 + 8 * RRDFILE_STEP, ts, values, 8, &n_ds);
	assert_int_equal(n, 2);
	int ds = cat_ds_index(CAT_VILLAGE, cat_find("poor_hh")->index);
	assert_true(values[ds] == 11 && values[n_ds + ds] == 12);
	n = rrdw_pending(entity_id(TEST_TOWN_A), T0 + 8 * RRDFILE_STEP, ts, values, 8, &n_ds);
	assert_int_equal(n, 2);
	assert_true(values[n_ds + ds] == 32);
}

static void test_restart_replays_unwritten_samples(void **state)
{
	(void)state;
	/* Acknowledged but the process dies before the write: only SQLite has it. */
	sample(TEST_VILLAGE4, "poor_hh", T0 + 8 * RRDFILE_STEP + 1, 44, 0);
	rrdw_stop(); /* writes what is due at T0+6 steps+20s: nothing new */
	start_writer();
	clock_now = T0 + 12 * RRDFILE_STEP + 20;
	rrdw_flush_now();
	assert_true(value_at(TEST_VILLAGE4, "poor_hh", T0 + 9 * RRDFILE_STEP) == 44);
	assert_true(value_at(TEST_VILLAGE1, "poor_hh", T0 + 8 * RRDFILE_STEP) == 12); /* from before the restart */
	assert_true(value_at(TEST_TOWN_B, "poor_hh", T0 + 12 * RRDFILE_STEP) == 49);
	/* Nothing is replayed twice: a second restart adds no rows or changes. */
	rrdw_stop();
	start_writer();
	int64_t ts[4];
	double values[4 * CAT_MAX_DS];
	size_t n_ds;
	assert_int_equal(rrdw_pending(entity_id(TEST_VILLAGE4), T0 + 12 * RRDFILE_STEP, ts, values, 4, &n_ds), 0);
}

static void test_new_entity_keeps_its_recent_history(void **state)
{
	(void)state;
	/* A village added later whose first report carries the last hours. */
	assert_int_equal(db_exec(env.db,
		"INSERT INTO entity(kind, key, created) VALUES ('village', '610824100203', 0);"
		"INSERT INTO region SELECT id, key, '610824100000', '新村', NULL, 0 FROM entity WHERE key = '610824100203';"
		"UPDATE meta SET value = value + 1 WHERE key = 'registry_version';"), 0);
	reg_refresh(env.db);
	int64_t now_step = T0 + 24 * RRDFILE_STEP;
	sample("610824100203", "poor_hh", now_step - 36 * RRDFILE_STEP + 10, 7, 1); /* 3 hours back */
	sample("610824100203", "poor_hh", now_step - 12 * RRDFILE_STEP + 10, 8, 1);
	clock_now = now_step + 20;
	rrdw_flush_now();
	assert_true(value_at("610824100203", "poor_hh", now_step - 35 * RRDFILE_STEP) == 7);
	assert_true(value_at("610824100203", "poor_hh", now_step - 11 * RRDFILE_STEP) == 8);
	/* Its township's file was older: it gets the new village from this cycle's rows on. */
	assert_true(value_at(TEST_TOWN_A, "poor_hh", now_step) == 12 + 20 + 8);
}

/* A chart reader's view while the writer moves rows from memory to the file. */
struct reader_view {
	int64_t village, town, first;
	size_t n;
	atomic_int stop;
	long reads, bad_village, bad_town;
	char why[160];
};

/* Rows first..first+(n-1) steps of an entity as the history API merges them. */
static void read_merged(int64_t id, size_t n_ds, int64_t first, size_t n, double *out)
{
	char path[512], err[256];
	int64_t ts[128];
	double pending[128 * CAT_MAX_DS];
	size_t pending_ds = 0;
	rrdw_read_begin(id);
	assert_int_equal(rrdw_path(id, path, sizeof path), 0);
	assert_true(rrdread_rows(path, RRDFILE_CF, RRDFILE_STEP, first, n, n_ds, out, err, sizeof err) >= 0);
	long np = rrdw_pending(id, first + (int64_t)(n - 1) * RRDFILE_STEP, ts, pending, 128, &pending_ds);
	rrdw_read_end(id);
	for (long r = 0; r < np; r++)
		if (ts[r] >= first)
			memcpy(out + (size_t)((ts[r] - first) / RRDFILE_STEP) * n_ds, pending + (size_t)r * pending_ds,
			       n_ds * sizeof *out);
}

static void *reader_main(void *arg)
{
	struct reader_view *v = arg;
	size_t vds = cat_layout(CAT_VILLAGE)->n_ds, rds = cat_layout(CAT_REGION)->n_ds;
	int dv = cat_ds_index(CAT_VILLAGE, cat_find("poor_hh")->index), dr = cat_ds_index(CAT_REGION, cat_find("poor_hh")->index);
	double *village = malloc(v->n * vds * sizeof *village), *town = malloc(v->n * rds * sizeof *town);
	do { /* at least once, however the threads are scheduled */
		read_merged(v->village, vds, v->first, v->n, village);
		read_merged(v->town, rds, v->first, v->n, town);
		v->reads++;
		for (size_t k = 0; k < v->n; k++) {
			double want = (double)k, got = village[k * vds + (size_t)dv];
			double offset = town[(size_t)dr] - village[(size_t)dv], t = town[k * rds + (size_t)dr] - got;
			if (got != want && !v->bad_village++)
				snprintf(v->why, sizeof v->why, "village row %zu: %g, not %g", k, got, want);
			if (!(t == offset) && !v->bad_town++) /* the other villages hold still */
				snprintf(v->why, sizeof v->why, "township row %zu: %g over the village, not %g", k, t, offset);
		}
	} while (!atomic_load(&v->stop));
	free(village);
	free(town);
	return NULL;
}

static void test_readers_see_every_row_while_the_writer_moves_them(void **state)
{
	(void)state;
	int64_t base = T0 + 100 * RRDFILE_STEP;
	clock_now = base;
	for (int k = 0; k < 60; k++) /* one change every step: value k in the row after base + k steps */
		sample(TEST_VILLAGE2, "poor_hh", base + k * RRDFILE_STEP + 5, k, 1);
	struct reader_view v = {.village = entity_id(TEST_VILLAGE2), .town = entity_id(TEST_TOWN_A),
				.first = base + RRDFILE_STEP, .n = 60};
	pthread_t reader;
	assert_int_equal(pthread_create(&reader, NULL, reader_main, &v), 0);
	for (int j = 1; j <= 10; j++) { /* ten cycles of six steps each */
		clock_now = base + j * 6 * RRDFILE_STEP + 20;
		assert_true(rrdw_flush_now() > 0);
	}
	atomic_store(&v.stop, 1);
	pthread_join(reader, NULL);
	assert_true(v.reads > 0);
	if (v.bad_village || v.bad_town)
		fail_msg("in %ld reads, %ld village rows and %ld township rows wrong; first: %s", v.reads,
			 v.bad_village, v.bad_town, v.why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_and_hold_and_rollups),
		cmocka_unit_test(test_late_and_pending),
		cmocka_unit_test(test_restart_replays_unwritten_samples),
		cmocka_unit_test(test_new_entity_keeps_its_recent_history),
		cmocka_unit_test(test_readers_see_every_row_while_the_writer_moves_them),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

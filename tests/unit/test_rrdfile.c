/*
 * test_rrdfile: collector/rrdfile against real librrd files in a mkdtemp
 * directory: create (parents, no-overwrite), many rows in one update, past
 * rows skipped, NaN and exact values back through fetch, last values, the
 * archive picker, row text (locale-proof), error reports, and the size of
 * a 23-source file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rrdfile.h"

/* A step-aligned start so rows at T0 + k*300 close one primary step each. */
#define T0 INT64_C(1699999800)

static char tmp_dir[] = "/tmp/test_rrdfile.XXXXXX";

static const char *const three_ds[] = { "households", "income_avg", "rate" };

static void path_in_tmp(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

/* Deterministic amounts with two decimals, some negative. */
static double cents_value(size_t i, size_t ds)
{
	long cents = (long)((i * 7919 + ds * 104729) % 2000003) - 1000000;
	return (double)cents / 100.0;
}

static void fill_rows(int64_t *ts, double *values, size_t n_rows, size_t n_ds, int64_t first_ts)
{
	for (size_t i = 0; i < n_rows; i++) {
		ts[i] = first_ts + (int64_t)i * RRDFILE_STEP;
		for (size_t d = 0; d < n_ds; d++)
			values[i * n_ds + d] = cents_value(i, d);
	}
}

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int remove_tree(const char *dir)
{
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int teardown_dir(void **state)
{
	(void)state;
	return remove_tree(tmp_dir);
}

static void test_ds_name_rules(void **state)
{
	(void)state;
	assert_true(rrdfile_ds_name_valid("poor_households_2"));
	assert_true(rrdfile_ds_name_valid("abcdefghijklmnopqrs")); /* 19 */
	assert_false(rrdfile_ds_name_valid("abcdefghijklmnopqrst")); /* 20 */
	assert_false(rrdfile_ds_name_valid(""));
	assert_false(rrdfile_ds_name_valid("Upper"));
	assert_false(rrdfile_ds_name_valid("with-dash"));
	assert_false(rrdfile_ds_name_valid(NULL));
}

static void test_create_makes_parents_and_never_overwrites(void **state)
{
	char path[512], err[512] = "";
	int64_t last = 0;
	struct stat st;
	(void)state;

	path_in_tmp(path, sizeof path, "county/town/village1.rrd");
	assert_int_equal(rrdfile_create(path, T0, three_ds, 3, err, sizeof err), RRDFILE_CREATED);
	assert_int_equal(stat(path, &st), 0);

	double row[3] = { 1, 2, 3 };
	int64_t ts = T0 + RRDFILE_STEP;
	assert_int_equal(rrdfile_update(path, 3, &ts, row, 1, err, sizeof err), 1);

	/* A second create must leave the written file alone. */
	assert_int_equal(rrdfile_create(path, T0, three_ds, 3, err, sizeof err), RRDFILE_EXISTS);
	assert_int_equal(rrdfile_last(path, &last, NULL, 0, err, sizeof err), 0);
	assert_int_equal(last, ts);
}

static void test_create_rejects_bad_names(void **state)
{
	static const char *const bad[] = { "ok", "Not_ok" };
	static const char *const dup[] = { "same", "same" };
	char path[512], err[512] = "";
	struct stat st;
	(void)state;

	path_in_tmp(path, sizeof path, "bad.rrd");
	assert_int_equal(rrdfile_create(path, T0, bad, 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "Not_ok"));
	assert_int_equal(rrdfile_create(path, T0, dup, 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "duplicate"));
	assert_int_equal(rrdfile_create(path, T0, bad, 0, err, sizeof err), -1);
	assert_int_not_equal(stat(path, &st), 0);
}

static void test_size_of_23_source_file(void **state)
{
	const char *names[23];
	char name_buf[23][16], path[512], err[512] = "";
	struct stat st;
	(void)state;

	for (int i = 0; i < 23; i++) {
		snprintf(name_buf[i], sizeof name_buf[i], "indicator_%02d", i);
		names[i] = name_buf[i];
	}
	path_in_tmp(path, sizeof path, "village23.rrd");
	assert_int_equal(rrdfile_create(path, T0, names, 23, err, sizeof err), RRDFILE_CREATED);
	assert_int_equal(stat(path, &st), 0);
	print_message("23-source file: %lld bytes\n", (long long)st.st_size);
	assert_true(st.st_size < 400 * 1024);
	/* The rows alone: 1906 x 23 x 8 bytes. */
	assert_true(st.st_size > 1906 * 23 * 8);
}

static void test_many_rows_one_call_fetch_exact(void **state)
{
	enum { N = 500, NDS = 3 };
	static int64_t ts[N];
	static double values[N * NDS];
	char path[512], err[512] = "";
	struct rrdfile_series s;
	(void)state;

	path_in_tmp(path, sizeof path, "many.rrd");
	assert_int_equal(rrdfile_create(path, T0, three_ds, NDS, err, sizeof err), RRDFILE_CREATED);
	fill_rows(ts, values, N, NDS, T0 + RRDFILE_STEP);
	/* Integers, tiny/huge magnitudes and unknowns among the cents. */
	values[0 * NDS + 0] = 0;
	values[1 * NDS + 0] = -42;
	values[2 * NDS + 1] = 0.1;
	values[3 * NDS + 1] = 1234567.89;
	values[4 * NDS + 2] = 0.5;
	values[5 * NDS + 2] = 1e6;
	values[6 * NDS + 0] = NAN;
	values[7 * NDS + 1] = NAN;
	values[8 * NDS + 0] = values[8 * NDS + 1] = values[8 * NDS + 2] = NAN;

	assert_int_equal(rrdfile_update(path, NDS, ts, values, N, err, sizeof err), N);

	assert_int_equal(rrdfile_fetch(path, T0, ts[N - 1], 0, &s, err, sizeof err), 0);
	assert_int_equal(s.step, RRDFILE_STEP);
	assert_int_equal(s.start, T0);
	assert_int_equal(s.n_ds, NDS);
	assert_true(s.n_rows >= N);
	assert_string_equal(s.ds_names[0], "households");
	assert_string_equal(s.ds_names[2], "rate");
	for (size_t i = 0; i < N; i++) {
		for (size_t d = 0; d < NDS; d++) {
			double want = values[i * NDS + d], got = s.values[i * NDS + d];
			if (isnan(want)) {
				assert_true(isnan(got));
			} else if (got != want) {
				fail_msg("row %zu ds %zu: wrote %.17g, read %.17g", i, d, want, got);
			}
		}
	}
	rrdfile_series_free(&s);
	assert_null(s.values);
}

static void test_past_rows_skipped(void **state)
{
	enum { NDS = 3 };
	int64_t ts[6];
	double values[6 * NDS];
	char path[512], err[512] = "";
	struct rrdfile_series s;
	int64_t last = 0;
	(void)state;

	path_in_tmp(path, sizeof path, "past.rrd");
	assert_int_equal(rrdfile_create(path, T0, three_ds, NDS, err, sizeof err), RRDFILE_CREATED);
	fill_rows(ts, values, 4, NDS, T0 + RRDFILE_STEP);
	assert_int_equal(rrdfile_update(path, NDS, ts, values, 4, err, sizeof err), 4);

	/* Replay of rows 2..3 with other values, then two new rows, one of
	 * them out of order: only the strictly newer ones are written. */
	int64_t replay_ts[5] = { ts[2], ts[3], ts[3] + RRDFILE_STEP, ts[3], ts[3] + 2 * RRDFILE_STEP };
	double replay[5 * NDS];
	for (size_t i = 0; i < 5 * NDS; i++)
		replay[i] = 777;
	assert_int_equal(rrdfile_update(path, NDS, replay_ts, replay, 5, err, sizeof err), 2);
	/* All in the past: nothing written, no error. */
	assert_int_equal(rrdfile_update(path, NDS, replay_ts, replay, 2, err, sizeof err), 0);

	assert_int_equal(rrdfile_last(path, &last, NULL, 0, err, sizeof err), 0);
	assert_int_equal(last, ts[3] + 2 * RRDFILE_STEP);
	assert_int_equal(rrdfile_fetch(path, T0, last, RRDFILE_STEP, &s, err, sizeof err), 0);
	assert_true(s.n_rows >= 6);
	assert_true(s.values[2 * NDS + 1] == values[2 * NDS + 1]); /* not overwritten */
	assert_true(s.values[3 * NDS + 2] == values[3 * NDS + 2]);
	assert_true(s.values[4 * NDS + 0] == 777);
	assert_true(s.values[5 * NDS + 0] == 777);
	rrdfile_series_free(&s);
}

static void test_last_values_resume(void **state)
{
	enum { NDS = 3 };
	char path[512], err[512] = "";
	double got[NDS];
	int64_t last = 0;
	(void)state;

	path_in_tmp(path, sizeof path, "last.rrd");
	assert_int_equal(rrdfile_create(path, T0, three_ds, NDS, err, sizeof err), RRDFILE_CREATED);

	/* Never written: the create time and all unknown. */
	assert_int_equal(rrdfile_last(path, &last, got, NDS, err, sizeof err), 0);
	assert_int_equal(last, T0);
	for (int d = 0; d < NDS; d++)
		assert_true(isnan(got[d]));

	int64_t ts[2] = { T0 + RRDFILE_STEP, T0 + 2 * RRDFILE_STEP };
	double rows[2 * NDS] = { 1, 2, 3, 0.1 + 0.2, NAN, -1234.5678 };
	assert_int_equal(rrdfile_update(path, NDS, ts, rows, 2, err, sizeof err), 2);
	assert_int_equal(rrdfile_last(path, &last, got, NDS, err, sizeof err), 0);
	assert_int_equal(last, ts[1]);
	assert_true(got[0] == 0.1 + 0.2); /* the stored text is exact */
	assert_true(isnan(got[1]));
	assert_true(got[2] == -1234.5678);

	assert_int_equal(rrdfile_last(path, &last, got, 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "3 data sources"));
}

static void test_errors_are_reported(void **state)
{
	char path[512], err[512] = "";
	int64_t ts = T0 + RRDFILE_STEP, last;
	double row[2] = { 1, 2 };
	struct rrdfile_series s;
	(void)state;

	path_in_tmp(path, sizeof path, "missing.rrd");
	assert_int_equal(rrdfile_update(path, 2, &ts, row, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "missing.rrd"));
	assert_int_equal(rrdfile_last(path, &last, NULL, 0, err, sizeof err), -1);
	assert_int_equal(rrdfile_fetch(path, T0, T0 + 3600, 0, &s, err, sizeof err), -1);
	assert_null(s.values);

	/* Two values for a three-source file: librrd's own complaint. */
	path_in_tmp(path, sizeof path, "shape.rrd");
	assert_int_equal(rrdfile_create(path, T0, three_ds, 3, err, sizeof err), RRDFILE_CREATED);
	err[0] = '\0';
	assert_int_equal(rrdfile_update(path, 2, &ts, row, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "expected 3 data source readings"));
	assert_int_equal(rrdfile_fetch(path, T0 + 3600, T0, 0, &s, err, sizeof err), -1);
}

static void test_coarser_archive_holds_last(void **state)
{
	enum { N = 2 * 288, NDS = 3 }; /* two days of 5-min rows */
	static int64_t ts[N];
	static double values[N * NDS];
	char path[512], err[512] = "";
	struct rrdfile_series s;
	(void)state;

	path_in_tmp(path, sizeof path, "hourly.rrd");
	assert_int_equal(rrdfile_create(path, T0, three_ds, NDS, err, sizeof err), RRDFILE_CREATED);
	fill_rows(ts, values, N, NDS, T0 + RRDFILE_STEP);
	assert_int_equal(rrdfile_update(path, NDS, ts, values, N, err, sizeof err), N);

	assert_int_equal(rrdfile_fetch(path, T0, ts[N - 1], 3600, &s, err, sizeof err), 0);
	assert_int_equal(s.step, 3600);
	/* Each hourly row is the 5-min value written at the hour's end. */
	size_t checked = 0;
	for (size_t r = 0; r < s.n_rows; r++) {
		int64_t row_end = s.start + (int64_t)(r + 1) * s.step;
		if (row_end <= ts[0] || row_end > ts[N - 1] || row_end - 3600 < T0)
			continue;
		size_t i = (size_t)((row_end - ts[0]) / RRDFILE_STEP);
		for (size_t d = 0; d < NDS; d++)
			assert_true(s.values[r * NDS + d] == values[i * NDS + d]);
		checked++;
	}
	assert_true(checked >= 40);
	rrdfile_series_free(&s);
}

static void test_pick_resolution(void **state)
{
	const int64_t now = T0 + 10 * 86400;
	(void)state;

	assert_int_equal(rrdfile_archive_step(0), 300);
	assert_int_equal(rrdfile_archive_retention(0), 2 * 86400);
	assert_int_equal(rrdfile_archive_retention(3), INT64_C(262) * 7 * 86400);
	assert_int_equal(rrdfile_pick_resolution(now - 86400, now), 300);
	assert_int_equal(rrdfile_pick_resolution(now - 3 * 86400, now), 3600);
	assert_int_equal(rrdfile_pick_resolution(now - 13 * 86400, now), 3600);
	assert_int_equal(rrdfile_pick_resolution(now - 100 * 86400, now), 86400);
	assert_int_equal(rrdfile_pick_resolution(now - 3 * 365 * 86400, now), 7 * 86400);
	assert_int_equal(rrdfile_pick_resolution(now - 20 * 365 * 86400, now), 7 * 86400);
}

static void test_format_row(void **state)
{
	char buf[RRDFILE_ROW_MAX(8)];
	const double v[8] = { 0, -17, NAN, 1234.56, 0.1, -0.000123, 1e300, 123456789012 };
	(void)state;

	int len = rrdfile_format_row(buf, sizeof buf, T0, v, 8);
	assert_int_equal(len, (int)strlen(buf));
	print_message("row: %s\n", buf);
	assert_string_equal(buf, "1699999800:0:-17:U:1234.56:0.1:-0.00012300:1.0000000000000001e+300:123456789012");
	/* Too small a buffer is refused, never truncated silently. */
	assert_int_equal(rrdfile_format_row(buf, 12, T0, v, 8), -1);

	/* A decimal comma locale must not leak into the text (when the
	 * machine has one: LOCPATH may point at a localedef output). */
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
		char check[16];
		snprintf(check, sizeof check, "%.1f", 1.5);
		assert_string_equal(check, "1,5");
		assert_true(rrdfile_format_row(buf, sizeof buf, T0, v, 8) > 0);
		assert_non_null(strstr(buf, ":1234.56:0.1:"));
		setlocale(LC_NUMERIC, "C");
	} else {
		print_message("no de_DE.UTF-8 locale: locale check skipped\n");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ds_name_rules),
		cmocka_unit_test(test_create_makes_parents_and_never_overwrites),
		cmocka_unit_test(test_create_rejects_bad_names),
		cmocka_unit_test(test_size_of_23_source_file),
		cmocka_unit_test(test_many_rows_one_call_fetch_exact),
		cmocka_unit_test(test_past_rows_skipped),
		cmocka_unit_test(test_last_values_resume),
		cmocka_unit_test(test_errors_are_reported),
		cmocka_unit_test(test_coarser_archive_holds_last),
		cmocka_unit_test(test_pick_resolution),
		cmocka_unit_test(test_format_row),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

/*
 * test_rrdread: collector/rrdread against librrd's own rrd_fetch_r on the
 * same files: fresh and wrapped rings, every archive, ranges before, across
 * and after the coverage, unknown rows; then the header parser on damaged
 * headers (truncated, wrong cookie, absurd counts) and a missing file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rrdfile.h"
#include "rrdread.h"

#define T0   INT64_C(1699999800) /* step-aligned */
#define N_DS 3

static char tmp_dir[] = "/tmp/test_rrdread.XXXXXX";
static const char *const ds_names[N_DS] = {"a", "b", "c"};

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A file with n_rows rows from T0 + 300 on; every 13th row unknown in "b". */
static void make_file(const char *path, size_t n_rows)
{
	char err[512];
	assert_int_equal(rrdfile_create(path, T0, ds_names, N_DS, err, sizeof err), RRDFILE_CREATED);
	int64_t *ts = malloc(n_rows * sizeof *ts);
	double *values = malloc(n_rows * N_DS * sizeof *values);
	for (size_t i = 0; i < n_rows; i++) {
		ts[i] = T0 + (int64_t)(i + 1) * RRDFILE_STEP;
		values[i * N_DS + 0] = (double)i;
		values[i * N_DS + 1] = i % 13 == 0 ? NAN : (double)i / 7.0;
		values[i * N_DS + 2] = -(double)(i % 100);
	}
	assert_int_equal(rrdfile_update(path, N_DS, ts, values, n_rows, err, sizeof err), (long)n_rows);
	free(ts);
	free(values);
}

static int same(double x, double y)
{
	return (isnan(x) && isnan(y)) || x == y;
}

/* rrdread's rows first, first + step, ... beside librrd's, cell by cell:
 * librrd's fetch of the part its archive covers (so it reads that archive),
 * unknown outside it. */
static void compare(const char *path, int64_t step, int64_t first, size_t n, int64_t last_up, int64_t rows)
{
	char err[512];
	double *got = malloc(n * N_DS * sizeof *got);
	assert_int_equal(rrdread_rows(path, RRDFILE_CF, step, first, n, N_DS, got, err, sizeof err), 0);
	int64_t last = first + (int64_t)(n - 1) * step, end = last_up - last_up % step,
		start = end - step * (rows - 1), lo = first > start ? first : start, hi = last < end ? last : end;
	struct rrdfile_series s = {0};
	if (lo <= hi) {
		assert_int_equal(rrdfile_fetch(path, lo - step, hi, step, &s, err, sizeof err), 0);
		assert_int_equal(s.step, step); /* librrd read the same archive */
	}
	for (size_t i = 0; i < n; i++) {
		int64_t ts = first + (int64_t)i * step;
		for (size_t d = 0; d < N_DS; d++) {
			double want = NAN;
			if (ts >= lo && ts <= hi) {
				size_t r = (size_t)((ts - s.start) / step) - 1;
				assert_true(r < s.n_rows);
				want = s.values[r * N_DS + d];
			}
			if (!same(got[i * N_DS + d], want))
				fail_msg("step %lld row %lld ds %zu: rrdread %g, librrd %g", (long long)step,
					 (long long)ts, d, got[i * N_DS + d], want);
		}
	}
	rrdfile_series_free(&s);
	free(got);
}

/* Every archive, ranges starting before the data, inside, and running past the end. */
static void compare_all(const char *path, size_t n_rows)
{
	int64_t last_up = T0 + (int64_t)n_rows * RRDFILE_STEP;
	for (int a = 0; a < RRDFILE_N_ARCHIVES; a++) {
		int64_t step = rrdfile_archive_step(a), end = last_up - last_up % step;
		int64_t spans[] = {1, 2, 17, rrdfile_archives[a].rows - 1, rrdfile_archives[a].rows,
				   rrdfile_archives[a].rows + 5};
		for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++) {
			int64_t first = end - (spans[k] - 1) * step;
			int64_t rows = rrdfile_archives[a].rows;
			compare(path, step, first, (size_t)spans[k], last_up, rows);            /* ends at the newest row */
			compare(path, step, first - 3 * step, (size_t)spans[k], last_up, rows); /* ends before it */
			compare(path, step, first + 4 * step, (size_t)spans[k], last_up, rows); /* runs past it */
		}
	}
}

static void test_fresh_file_matches_librrd(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/fresh.rrd", tmp_dir);
	make_file(path, 40);
	compare_all(path, 40);
}

static void test_wrapped_rings_match_librrd(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/wrapped.rrd", tmp_dir);
	make_file(path, 5000); /* the 5-min ring (576) wraps 8 times, the hourly one once */
	compare_all(path, 5000);
	/* and every position of the 5-min ring's wrap point */
	int64_t last_up = T0 + 5000 * RRDFILE_STEP;
	for (int64_t back = 0; back < 576; back += 7)
		compare(path, RRDFILE_STEP, last_up - back * RRDFILE_STEP - 20 * RRDFILE_STEP, 21, last_up, 576);
}

static void test_missing_file_and_wrong_requests(void **state)
{
	(void)state;
	char path[128], err[512];
	double out[4 * N_DS];
	snprintf(path, sizeof path, "%s/none.rrd", tmp_dir);
	assert_int_equal(rrdread_rows(path, RRDFILE_CF, 300, T0, 4, N_DS, out, err, sizeof err), 1);
	assert_true(isnan(out[0]) && isnan(out[4 * N_DS - 1]));
	snprintf(path, sizeof path, "%s/fresh.rrd", tmp_dir);
	assert_int_equal(rrdread_rows(path, RRDFILE_CF, 600, T0, 4, N_DS, out, err, sizeof err), -1);
	assert_non_null(strstr(err, "no LAST archive of 600 s rows"));
	assert_int_equal(rrdread_rows(path, "AVERAGE", 300, T0, 4, N_DS, out, err, sizeof err), -1);
	assert_int_equal(rrdread_rows(path, RRDFILE_CF, 300, T0, 4, 2, out, err, sizeof err), -1);
	assert_non_null(strstr(err, "3 data sources, expected 2"));
	/* rows of times that are not row times of the archive: unknown, not an error */
	assert_int_equal(rrdread_rows(path, RRDFILE_CF, 300, T0 + 1, 4, N_DS, out, err, sizeof err), 0);
	assert_true(isnan(out[0]));
}

/* A header larger than the first read (40 sources: ~22 KiB) is read whole. */
static void test_large_header(void **state)
{
	(void)state;
	enum { WIDE = 40, ROWS = 30 };
	char path[128], err[512], names[WIDE][8];
	const char *ds[WIDE];
	for (int d = 0; d < WIDE; d++) {
		snprintf(names[d], sizeof names[d], "m%d", d);
		ds[d] = names[d];
	}
	snprintf(path, sizeof path, "%s/wide.rrd", tmp_dir);
	assert_int_equal(rrdfile_create(path, T0, ds, WIDE, err, sizeof err), RRDFILE_CREATED);
	int64_t ts[ROWS];
	double values[ROWS * WIDE], got[ROWS * WIDE];
	for (int i = 0; i < ROWS; i++) {
		ts[i] = T0 + (i + 1) * RRDFILE_STEP;
		for (int d = 0; d < WIDE; d++)
			values[i * WIDE + d] = i * 100 + d;
	}
	assert_int_equal(rrdfile_update(path, WIDE, ts, values, ROWS, err, sizeof err), ROWS);
	assert_int_equal(rrdread_rows(path, RRDFILE_CF, RRDFILE_STEP, T0 + RRDFILE_STEP, ROWS, WIDE, got, err, sizeof err), 0);
	for (int k = 0; k < ROWS * WIDE; k++)
		assert_true(got[k] == values[k]);
}

/* The header of path, whole. */
static size_t read_header(const char *path, unsigned char *buf, size_t cap, uint64_t *file_size)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	*file_size = (uint64_t)st.st_size;
	ssize_t n = read(fd, buf, cap);
	close(fd);
	assert_true(n > 0);
	return (size_t)n;
}

static void test_damaged_headers_are_refused(void **state)
{
	(void)state;
	char path[128], err[512];
	unsigned char buf[8192], bad[8192];
	uint64_t size;
	struct rrdread_header h;
	snprintf(path, sizeof path, "%s/fresh.rrd", tmp_dir);
	size_t len = read_header(path, buf, sizeof buf, &size);
	assert_int_equal(rrdread_header_need(buf, len), 0);
	assert_int_equal(rrdread_parse(buf, len, size, &h, err, sizeof err), 0);
	assert_int_equal(h.n_ds, N_DS);
	assert_int_equal(h.n_rra, RRDFILE_N_ARCHIVES);
	assert_int_equal(h.pdp_step, RRDFILE_STEP);
	assert_int_equal(h.last_up, T0 + 40 * RRDFILE_STEP);
	assert_int_equal(h.rra[2].pdp_cnt, 288);
	assert_int_equal(h.rra[2].rows, 732);

	size_t header_len = h.header_len;
	for (size_t cut = 0; cut < header_len; cut += 37) /* truncations */
		assert_int_equal(rrdread_parse(buf, cut, size, &h, err, sizeof err), -1);
	assert_int_equal(rrdread_parse(buf, len, header_len + 8, &h, err, sizeof err), -1);
	assert_non_null(strstr(err, "shorter than its archives"));

	memcpy(bad, buf, len);
	bad[0] = 'X';
	assert_int_equal(rrdread_parse(bad, len, size, &h, err, sizeof err), -1);
	assert_string_equal(err, "not an RRD file");

	/* every byte of the structure part, set to 0xff in turn: refused or still within the file */
	for (size_t at = 0; at < header_len; at++) {
		memcpy(bad, buf, len);
		bad[at] = 0xff;
		if (rrdread_parse(bad, len, size, &h, err, sizeof err) == 0)
			for (size_t a = 0; a < h.n_rra; a++)
				assert_true(h.rra[a].offset + h.rra[a].rows * h.n_ds * 8 <= size);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_file_matches_librrd),
		cmocka_unit_test(test_wrapped_rings_match_librrd),
		cmocka_unit_test(test_missing_file_and_wrong_requests),
		cmocka_unit_test(test_large_header),
		cmocka_unit_test(test_damaged_headers_are_refused),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

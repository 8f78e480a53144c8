/*
 * test_rrdc: collector/rrdc against a real rrdcached (Debian's
 * /usr/bin/rrdcached) started on a unix socket in a mkdtemp directory:
 * batches over several files read back exactly after FLUSH, line splitting
 * under 4096 bytes, a wrong data source count refused without harming the
 * rest of the batch, daemon-rejected lines mapped to files and rows, LAST,
 * and the failure modes (no daemon, silent daemon, closed connection).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rrdc.h"
#include "rrdcached_fixture.h"
#include "rrdfile.h"

#define T0 INT64_C(1699999800) /* step-aligned */


static const char *const three_ds[] = { "households", "income_avg", "rate" };

static void path_in_tmp(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

static double cents_value(size_t i, size_t ds, size_t salt)
{
	long cents = (long)((i * 7919 + ds * 104729 + salt * 15485863) % 2000003) - 1000000;
	return (double)cents / 100.0;
}

static void fill_rows(int64_t *ts, double *values, size_t n_rows, size_t n_ds,
		      int64_t first_ts, size_t salt)
{
	for (size_t i = 0; i < n_rows; i++) {
		ts[i] = first_ts + (int64_t)i * RRDFILE_STEP;
		for (size_t d = 0; d < n_ds; d++)
			values[i * n_ds + d] = cents_value(i, d, salt);
	}
}


static struct rrdc_conn *connect_or_fail(void)
{
	char err[512] = "";
	struct rrdc_conn *conn = rrdc_open(socket_address, 5000, err, sizeof err);
	if (!conn)
		fail_msg("rrdc_open: %s", err);
	return conn;
}

static void create_or_fail(const char *path, const char *const *names, size_t n_ds)
{
	char err[512] = "";
	if (rrdfile_create(path, T0, names, n_ds, err, sizeof err) != RRDFILE_CREATED)
		fail_msg("rrdfile_create %s: %s", path, err);
}

/* Fetches path and checks rows [0, n_rows) hold exactly what was sent. */
static void assert_file_holds(const char *path, const int64_t *ts, const double *values,
			      size_t n_rows, size_t n_ds)
{
	char err[512] = "";
	struct rrdfile_series s;

	if (rrdfile_fetch(path, ts[0] - RRDFILE_STEP, ts[n_rows - 1], RRDFILE_STEP, &s, err, sizeof err) != 0)
		fail_msg("fetch %s: %s", path, err);
	assert_int_equal(s.step, RRDFILE_STEP);
	assert_int_equal(s.start, ts[0] - RRDFILE_STEP);
	assert_int_equal(s.n_ds, n_ds);
	assert_true(s.n_rows >= n_rows);
	for (size_t i = 0; i < n_rows; i++) {
		for (size_t d = 0; d < n_ds; d++) {
			double want = values[i * n_ds + d], got = s.values[i * n_ds + d];
			if (isnan(want) ? !isnan(got) : got != want)
				fail_msg("%s row %zu ds %zu: sent %.17g, file has %.17g", path, i, d, want, got);
		}
	}
	rrdfile_series_free(&s);
}

static void test_open_errors(void **state)
{
	char err[512] = "", missing[300];
	(void)state;

	path_in_tmp(missing, sizeof missing, "no-such.sock");
	assert_null(rrdc_open(missing, 500, err, sizeof err));
	assert_non_null(strstr(err, "No such file"));
	assert_null(rrdc_open("127.0.0.1:1", 500, err, sizeof err));
	assert_non_null(strstr(err, "refused"));
	assert_null(rrdc_open("[::1", 500, err, sizeof err));
	assert_non_null(strstr(err, "bad address"));
	assert_null(rrdc_open("", 500, err, sizeof err));

	/* The plain-path spelling reaches the same daemon. */
	char plain[300];
	path_in_tmp(plain, sizeof plain, "sock");
	struct rrdc_conn *conn = rrdc_open(plain, 500, err, sizeof err);
	assert_non_null(conn);
	rrdc_close(conn);
}

static void test_batch_several_files_read_back(void **state)
{
	enum { NF = 4, N = 250, NDS = 3 };
	static int64_t ts[NF][N];
	static double values[NF][N * NDS];
	char paths[NF][300], err[512] = "";
	struct rrdc_conn *conn = connect_or_fail();
	(void)state;

	struct rrdc_batch *batch = rrdc_batch_begin(conn);
	for (size_t f = 0; f < NF; f++) {
		char name[32];
		snprintf(name, sizeof name, "many/v%zu.rrd", f);
		path_in_tmp(paths[f], sizeof paths[f], name);
		create_or_fail(paths[f], three_ds, NDS);
		fill_rows(ts[f], values[f], N, NDS, T0 + RRDFILE_STEP, f);
		values[f][5 * NDS + 1] = NAN; /* unknowns travel as U */
		values[f][6 * NDS + 0] = 0.1;
		values[f][7 * NDS + 2] = 42;
		if (rrdc_batch_add(batch, paths[f], NDS, ts[f], values[f], N, err, sizeof err) != 0)
			fail_msg("add: %s", err);
	}
	assert_int_equal(rrdc_batch_rows(batch), NF * N);
	/* 250 rows of ~30 bytes cannot share one 4095-byte line per file. */
	assert_true(rrdc_batch_lines(batch) >= 2 * NF);
	assert_int_equal(rrdc_batch_commit(batch, err, sizeof err), 0);
	assert_int_equal(rrdc_batch_failures(batch, NULL), 0);
	rrdc_batch_free(batch);

	for (size_t f = 0; f < NF; f++) {
		int64_t last = 0;
		assert_int_equal(rrdc_last_update(conn, paths[f], &last, err, sizeof err), 0);
		assert_int_equal(last, ts[f][N - 1]);
		if (rrdc_flush_file(conn, paths[f], err, sizeof err) != 0)
			fail_msg("flush: %s", err);
		assert_file_holds(paths[f], ts[f], values[f], N, NDS);
	}
	rrdc_close(conn);
}

static void test_wide_rows_split_under_limit(void **state)
{
	enum { N = 400, NDS = 23 };
	static int64_t ts[N];
	static double values[N * NDS];
	const char *names[NDS];
	char name_buf[NDS][16], path[300], err[512] = "";
	struct rrdc_conn *conn = connect_or_fail();
	(void)state;

	for (int i = 0; i < NDS; i++) {
		snprintf(name_buf[i], sizeof name_buf[i], "indicator_%02d", i);
		names[i] = name_buf[i];
	}
	path_in_tmp(path, sizeof path, "wide/with space/village.rrd"); /* escaped on the wire */
	create_or_fail(path, names, NDS);
	fill_rows(ts, values, N, NDS, T0 + RRDFILE_STEP, 7);
	/* Long text: 11-12 digit amounts in cents (exact through librrd). */
	for (size_t i = 0; i < N * NDS; i++)
		values[i] = (double)((int64_t)((i * UINT64_C(2654435761)) % UINT64_C(100000000000)) -
				     INT64_C(50000000000)) / 100.0;

	size_t total_text = 0;
	for (size_t i = 0; i < N; i++) {
		char row[RRDFILE_ROW_MAX(NDS)];
		total_text += (size_t)rrdfile_format_row(row, sizeof row, ts[i], values + i * NDS, NDS) + 1;
	}
	struct rrdc_batch *batch = rrdc_batch_begin(conn);
	assert_int_equal(rrdc_batch_add(batch, path, NDS, ts, values, N, err, sizeof err), 0);
	/* At least as many lines as 4095-byte commands need. */
	assert_true(rrdc_batch_lines(batch) >= total_text / RRDC_LINE_MAX + 1);
	print_message("%d rows of %d sources: %zu bytes in %zu UPDATE lines\n", N, NDS, total_text,
		      rrdc_batch_lines(batch));
	assert_int_equal(rrdc_batch_commit(batch, err, sizeof err), 0);
	rrdc_batch_free(batch);
	assert_int_equal(rrdc_flush_file(conn, path, err, sizeof err), 0);
	assert_file_holds(path, ts, values, N, NDS);
	rrdc_close(conn);
}

static void test_bad_rows_do_not_break_the_batch(void **state)
{
	enum { N = 120, NDS = 3 };
	static int64_t ts_a[N], ts_b[N], ts_c[N], ts_d[N];
	static double va[N * NDS], vb[N * NDS], vc[N * NDS], vd[N * NDS];
	char a[300], b[300], c[300], d[300], missing[300], err[512] = "";
	const struct rrdc_failure *failures;
	struct rrdc_conn *conn = connect_or_fail();
	int64_t last = 0;
	(void)state;

	path_in_tmp(a, sizeof a, "bad/a.rrd");
	path_in_tmp(b, sizeof b, "bad/b.rrd");
	path_in_tmp(c, sizeof c, "bad/c.rrd");
	path_in_tmp(d, sizeof d, "bad/d.rrd");
	path_in_tmp(missing, sizeof missing, "bad/missing.rrd");
	create_or_fail(a, three_ds, NDS);
	create_or_fail(b, three_ds, NDS);
	create_or_fail(c, three_ds, NDS);
	create_or_fail(d, three_ds, NDS);
	fill_rows(ts_a, va, N, NDS, T0 + RRDFILE_STEP, 1);
	fill_rows(ts_b, vb, N, NDS, T0 + RRDFILE_STEP, 2);
	fill_rows(ts_c, vc, N, NDS, T0 + RRDFILE_STEP, 3);
	fill_rows(ts_d, vd, N, NDS, T0 + RRDFILE_STEP, 4);

	/* d already has its first 100 rows through the daemon. */
	assert_int_equal(rrdc_batch_update(conn, d, NDS, ts_d, vd, 100, err, sizeof err), 0);

	struct rrdc_batch *batch = rrdc_batch_begin(conn);
	assert_int_equal(rrdc_batch_add(batch, a, NDS, ts_a, va, N, err, sizeof err), 0);
	/* Wrong data source count: refused here, nothing of it queued.
	 * (Sent raw, rrdcached would acknowledge it, FLUSH would say
	 * success, and b's later rows would be dropped at write time.) */
	err[0] = '\0';
	assert_int_equal(rrdc_batch_add(batch, b, 2, ts_b, vb, N, err, sizeof err), -1);
	assert_non_null(strstr(err, "file has 3 data sources, rows have 2"));
	/* A file that does not exist is refused as well. */
	assert_int_equal(rrdc_batch_add(batch, missing, NDS, ts_b, vb, N, err, sizeof err), -1);
	/* Out of order rows are a caller bug, refused. */
	int64_t unordered[2] = { T0 + 600, T0 + 300 };
	assert_int_equal(rrdc_batch_add(batch, c, NDS, unordered, vc, 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "not after"));
	/* A replay of d from row 90: the daemon rejects that line. */
	assert_int_equal(rrdc_batch_add(batch, d, NDS, ts_d + 90, vd + 90 * NDS, N - 90, err, sizeof err), 0);
	assert_int_equal(rrdc_batch_add(batch, c, NDS, ts_c, vc, N, err, sizeof err), 0);
	size_t lines = rrdc_batch_lines(batch);

	err[0] = '\0';
	assert_int_equal(rrdc_batch_commit(batch, err, sizeof err), 1);
	assert_non_null(strstr(err, "1 of"));
	assert_int_equal(rrdc_batch_failures(batch, &failures), 1);
	assert_int_equal(failures[0].add_index, 1); /* second successful add */
	assert_string_equal(failures[0].path, d);
	assert_int_equal(failures[0].first_row, 0);
	assert_int_equal(failures[0].n_rows, N - 90);
	assert_non_null(strstr(failures[0].message, "illegal attempt to update"));
	print_message("%zu lines, rejected: %s rows %zu+%zu: %s\n", lines, failures[0].path,
		      failures[0].first_row, failures[0].n_rows, failures[0].message);
	assert_false(rrdc_is_broken(conn));
	/* Committing twice is refused. */
	assert_int_equal(rrdc_batch_commit(batch, err, sizeof err), -1);
	rrdc_batch_free(batch);

	assert_int_equal(rrdc_flush_file(conn, a, err, sizeof err), 0);
	assert_int_equal(rrdc_flush_file(conn, c, err, sizeof err), 0);
	assert_int_equal(rrdc_flush_file(conn, d, err, sizeof err), 0);
	/* b was never written to: nothing to flush is fine too. */
	assert_int_equal(rrdc_flush_file(conn, b, err, sizeof err), 0);
	assert_file_holds(a, ts_a, va, N, NDS);
	assert_file_holds(c, ts_c, vc, N, NDS);
	assert_file_holds(d, ts_d, vd, 100, NDS);
	assert_int_equal(rrdfile_last(b, &last, NULL, 0, err, sizeof err), 0);
	assert_int_equal(last, T0);
	assert_int_equal(rrdfile_last(d, &last, NULL, 0, err, sizeof err), 0);
	assert_int_equal(last, ts_d[99]);

	/* The one-file helper reports the daemon's reason. */
	err[0] = '\0';
	assert_int_equal(rrdc_batch_update(conn, d, NDS, ts_d, vd, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "illegal attempt"));
	rrdc_close(conn);
}

static void test_flush_last_and_errors(void **state)
{
	enum { NDS = 3 };
	char path[300], missing[300], err[512] = "";
	int64_t ts[3] = { T0 + 300, T0 + 600, T0 + 900 }, last = 0;
	double values[3 * NDS] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	size_t n_ds = 0;
	struct rrdc_conn *conn = connect_or_fail();
	(void)state;

	path_in_tmp(path, sizeof path, "flush.rrd");
	path_in_tmp(missing, sizeof missing, "flush-missing.rrd");
	create_or_fail(path, three_ds, NDS);
	assert_int_equal(rrdc_ds_count(conn, path, &n_ds, err, sizeof err), 0);
	assert_int_equal(n_ds, NDS);
	assert_int_equal(rrdc_batch_update(conn, path, NDS, ts, values, 3, err, sizeof err), 0);

	/* The daemon knows the rows; the file does not until FLUSH. */
	assert_int_equal(rrdc_last_update(conn, path, &last, err, sizeof err), 0);
	assert_int_equal(last, ts[2]);
	assert_int_equal(rrdfile_last(path, &last, NULL, 0, err, sizeof err), 0);
	assert_int_equal(last, T0);
	assert_int_equal(rrdc_flush_file(conn, path, err, sizeof err), 0);
	double got[NDS];
	assert_int_equal(rrdfile_last(path, &last, got, NDS, err, sizeof err), 0);
	assert_int_equal(last, ts[2]);
	assert_true(got[0] == 7 && got[1] == 8 && got[2] == 9);

	err[0] = '\0';
	assert_int_equal(rrdc_flush_file(conn, missing, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(rrdc_last_update(conn, missing, &last, err, sizeof err), -1);
	assert_int_equal(rrdc_ds_count(conn, missing, &n_ds, err, sizeof err), -1);
	assert_int_equal(rrdc_flush_file(conn, "bad\npath", err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot be sent"));
	/* Refusals are answers, not broken connections. */
	assert_false(rrdc_is_broken(conn));
	assert_int_equal(rrdc_flush_file(conn, path, err, sizeof err), 0);
	rrdc_close(conn);
}

/* A listener that never answers, then one that hangs up. */
static void test_silent_and_vanished_daemon(void **state)
{
	char sock_path[300], address[320], err[512] = "";
	struct sockaddr_un addr;
	int64_t last;
	(void)state;

	path_in_tmp(sock_path, sizeof sock_path, "silent.sock");
	snprintf(address, sizeof address, "unix:%s", sock_path);
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(listener >= 0);
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
	assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_int_equal(listen(listener, 4), 0);

	/* Connected through the backlog, but nobody reads or answers. */
	struct rrdc_conn *conn = rrdc_open(address, 200, err, sizeof err);
	assert_non_null(conn);
	time_t before = time(NULL);
	assert_int_equal(rrdc_flush_file(conn, "x.rrd", err, sizeof err), -1);
	assert_true(time(NULL) - before <= 2);
	assert_non_null(strstr(err, "no reply within 200 ms"));
	assert_true(rrdc_is_broken(conn));
	assert_int_equal(rrdc_last_update(conn, "x.rrd", &last, err, sizeof err), -1);
	assert_non_null(strstr(err, "broken earlier"));
	rrdc_close(conn);
	close(accept(listener, NULL, NULL)); /* drop the queued one */

	/* Accepted, then hung up on. */
	conn = rrdc_open(address, 2000, err, sizeof err);
	assert_non_null(conn);
	int peer = accept(listener, NULL, NULL);
	assert_true(peer >= 0);
	close(peer);
	assert_int_equal(rrdc_flush_file(conn, "x.rrd", err, sizeof err), -1);
	assert_true(rrdc_is_broken(conn));
	print_message("after hang-up: %s\n", err);
	rrdc_close(conn);
	close(listener);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_batch_several_files_read_back),
		cmocka_unit_test(test_wide_rows_split_under_limit),
		cmocka_unit_test(test_bad_rows_do_not_break_the_batch),
		cmocka_unit_test(test_flush_last_and_errors),
		cmocka_unit_test(test_silent_and_vanished_daemon),
	};
	/* SIGPIPE is left at its default on purpose: a send to a vanished
	 * daemon must come back as an error (MSG_NOSIGNAL), not kill us. */
	return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}

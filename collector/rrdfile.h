/*
 * rrdfile: everything the project does to one RRD file directly through
 * librrd 1.7.2 (create, batched update, last values, fetch), the fixed
 * archive layout all files share, and the row text format used by both the
 * direct path and the rrdcached path (rrdc.c), so both write identical text.
 * No state is kept here; librrd's record locks are per process, so each
 * file must have one owner thread (see /work/shared/measured.md).
 */
#ifndef RRDFILE_H
#define RRDFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The layout, fixed in code (changing it means migrating every file):
 *   step 300 s;
 *   every data source: GAUGE, heartbeat 900 s, min U, max U;
 *   archives, all consolidation LAST, xff 0.5:
 *       1 step  x 576 rows   5 min for 2 days
 *      12 steps x 336 rows   1 h   for 14 days
 *     288 steps x 732 rows   1 day for 2 years
 *    2016 steps x 262 rows   1 wk  for 5 years
 * Data arrives daily to monthly and is written sample-and-hold every step,
 * so LAST loses nothing and one CF keeps a 23-source file near 364 KB
 * (1906 rows x 23 x 8 B + header).
 */
#define RRDFILE_STEP        300
#define RRDFILE_HEARTBEAT   900
#define RRDFILE_CF          "LAST"
#define RRDFILE_XFF         0.5
#define RRDFILE_N_ARCHIVES  4

/* Data source names: [a-z0-9_]{1,19} (librrd allows 19 characters). */
#define RRDFILE_DS_NAME_MAX 19

struct rrdfile_archive {
	int steps_per_row; /* primary steps consolidated into one row */
	int rows;          /* rows kept */
};

/* Finest first; the history API picks one with rrdfile_pick_resolution. */
extern const struct rrdfile_archive rrdfile_archives[RRDFILE_N_ARCHIVES];

/* Seconds per row and seconds covered of archive i. */
int64_t rrdfile_archive_step(int i);
int64_t rrdfile_archive_retention(int i);

/*
 * Finest archive whose retention covers [start, now], as seconds per row:
 * pass it as rrdfile_fetch's resolution and librrd reads that archive.
 * When none covers start, the coarsest (longest) archive's step.
 */
int64_t rrdfile_pick_resolution(int64_t start, int64_t now);

/* 1 if name matches [a-z0-9_]{1,19}, else 0. */
int rrdfile_ds_name_valid(const char *name);

/* rrdfile_create's results other than -1 (error). */
enum {
	RRDFILE_CREATED = 0,
	RRDFILE_EXISTS = 1, /* a file was already there; it was left alone */
};

/*
 * Creates path with the layout above and the given data sources, first
 * update allowed after start_ts. Missing parent directories are created
 * (0755 before umask). Never overwrites: an existing path is reported as
 * RRDFILE_EXISTS and left alone. Returns RRDFILE_CREATED, RRDFILE_EXISTS or
 * -1 with the reason in err.
 */
int rrdfile_create(const char *path, int64_t start_ts, const char *const ds_names[],
		   size_t n_ds, char *err, size_t errlen);

/*
 * Writes n_rows rows in ONE librrd call (its cost is per call, ~250 us, not
 * per row). values is n_rows x n_ds, row-major, NAN = unknown. Rows at or
 * before the file's last update, and rows not after the previous row, are
 * skipped rather than failing the call (restart replays are harmless).
 * Returns the number of rows written, or -1 with librrd's error in err; a
 * librrd error mid-call may leave earlier rows of the call written (call
 * rrdfile_last to resynchronise). Reads the file's last update first (one
 * header read) so that the count is exact and an all-past call costs no
 * update at all.
 */
long rrdfile_update(const char *path, size_t n_ds, const int64_t *ts, const double *values,
		    size_t n_rows, char *err, size_t errlen);

/*
 * Last update time and the last value written to each data source (NAN for
 * unknown or never written), so a restart can resume sample-and-hold.
 * values may be NULL to read only the time; otherwise n_ds must equal the
 * file's data source count. Returns 0, or -1 with the reason in err.
 */
int rrdfile_last(const char *path, int64_t *last_ts, double *values, size_t n_ds,
		 char *err, size_t errlen);

/* One fetched range. Row i holds the LAST value of (start + i*step, start + (i+1)*step]. */
struct rrdfile_series {
	int64_t start;     /* as librrd adjusted it (a multiple of step) */
	int64_t end;       /* as librrd adjusted it; n_rows = (end - start) / step */
	int64_t step;      /* seconds per row of the archive librrd chose */
	size_t n_rows;
	size_t n_ds;
	char **ds_names;   /* n_ds names, file order */
	double *values;    /* n_rows x n_ds, row-major, NAN = unknown */
};

/*
 * Reads [start, end] with CF LAST. resolution (seconds per row) steers
 * librrd's archive choice; <= 0 means the finest. On success fills out
 * (free with rrdfile_series_free) and returns 0; -1 with the reason in err
 * and out zeroed. A file written through rrdcached must be flushed there
 * first (rrdc_flush_file), or its pending rows are missing here.
 */
int rrdfile_fetch(const char *path, int64_t start, int64_t end, int64_t resolution,
		  struct rrdfile_series *out, char *err, size_t errlen);
void rrdfile_series_free(struct rrdfile_series *series);

/*
 * Longest text of one value and of one row ("ts:v1:...:vn" plus NUL).
 * librrd keeps the last value as text in 29 characters (LAST_DS_LEN 30), so
 * values never exceed that and rrdfile_last reads back what was written.
 */
#define RRDFILE_VALUE_MAX   29
#define RRDFILE_ROW_MAX(n_ds) (21 + (size_t)(n_ds) * (1 + RRDFILE_VALUE_MAX) + 1)

/*
 * Formats "ts:v1:...:vn" into buf: NAN as U, integers without decimals,
 * other values as the shortest decimal that librrd 1.7.2's own parser
 * (rrd_strtod, which is not correctly rounded) reads back as the same
 * double, falling back to %.17g where no such form exists (|v| outside
 * about 1e-16..2^53 with 16-17 significant digits). Independent of the
 * process locale. Returns the length (without NUL) or -1 if cap is too
 * small (RRDFILE_ROW_MAX(n_ds) always suffices).
 */
int rrdfile_format_row(char *buf, size_t cap, int64_t ts, const double *values, size_t n_ds);

#endif

/*
 * rrdfile: one RRD file through librrd 1.7.2's thread-safe (_r) calls:
 * create with the fixed layout, batched update, last values, fetch, and the
 * row formatter shared with the rrdcached client. Every librrd call is
 * preceded by rrd_clear_error() because its error text is per thread and
 * sticky. Values are written in a form librrd's own parser reads exactly.
 */
#include "rrdfile.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <rrd.h>

#include "fault.h"
#include "xalloc.h"

const struct rrdfile_archive rrdfile_archives[RRDFILE_N_ARCHIVES] = {
	{ 1, 576 },    /* 5 min, 2 days */
	{ 12, 336 },   /* 1 h, 14 days */
	{ 288, 732 },  /* 1 day, 2 years */
	{ 2016, 262 }, /* 1 week, 5 years */
};

int64_t rrdfile_archive_step(int i)
{
	return (int64_t)rrdfile_archives[i].steps_per_row * RRDFILE_STEP;
}

int64_t rrdfile_archive_retention(int i)
{
	return rrdfile_archive_step(i) * rrdfile_archives[i].rows;
}

int64_t rrdfile_pick_resolution(int64_t start, int64_t now)
{
	for (int i = 0; i < RRDFILE_N_ARCHIVES; i++) {
		int64_t step = rrdfile_archive_step(i);
		/* librrd's own coverage test: the archive ends at the last
		 * update rounded down to its step and reaches rows steps back. */
		int64_t covered_from = now - now % step - rrdfile_archive_retention(i);
		if (covered_from <= start)
			return step;
	}
	return rrdfile_archive_step(RRDFILE_N_ARCHIVES - 1);
}

int rrdfile_ds_name_valid(const char *name)
{
	size_t len = 0;

	if (!name)
		return 0;
	for (; name[len]; len++) {
		char c = name[len];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
		if (len >= RRDFILE_DS_NAME_MAX)
			return 0;
	}
	return len > 0;
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* librrd's per-thread error text, never NULL or empty. */
static const char *rrd_error_text(void)
{
	const char *text = rrd_get_error();
	return text && *text ? text : "unknown librrd error";
}

/* ---- locale-independent number text ---- */

/* The "C" locale object: newlocale() of "C" is a static object in glibc,
 * so creating it once and never freeing it leaks nothing. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Switches this thread to the C locale; returns what to restore (or 0). */
static locale_t enter_c_locale(void)
{
	pthread_once(&c_locale_once, c_locale_init);
	return c_locale ? uselocale(c_locale) : (locale_t)0;
}

static void leave_c_locale(locale_t previous)
{
	if (previous)
		uselocale(previous);
}

#define TWO_POW_53 9007199254740992.0

/* Copies text with its NUL; its length, or -1 when cap is too small. */
static int copy_text(char *buf, size_t cap, const char *text)
{
	size_t len = strlen(text);
	if (len + 1 > cap)
		return -1;
	memcpy(buf, text, len + 1);
	return (int)len;
}

/* Writes [-]m, with the last `decimals` digits after a point ("0.00m" when
 * m is shorter), into out; returns the length. out needs 44 bytes. */
static int put_fixed(char *out, int negative, uint64_t m, int decimals)
{
	char rev[24];
	int n = 0, len = 0;

	do {
		rev[n++] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	while (n <= decimals && decimals > 0)
		rev[n++] = '0'; /* a leading "0." */
	if (negative)
		out[len++] = '-';
	while (n > 0) {
		if (n == decimals)
			out[len++] = '.';
		out[len++] = rev[--n];
	}
	out[len] = '\0';
	return len;
}

/*
 * Why not plain %.17g: librrd 1.7.2 parses numbers with its own rrd_strtod,
 * which accumulates all digits into a double and then multiplies or divides
 * by 10, 100, 1e4, 1e8, 1e16 for each set bit of the decimal exponent. With
 * 17 digits (above 2^53) and several scaling steps it rounds more than
 * once: 7.8% of two-decimal amounts like 1234.56 written as %.17g come back
 * one ulp off. It is exact when the digits form an integer m below 2^53
 * and the exponent is 0 or +-1, 2, 4, 8 or 16: then it computes one
 * correctly rounded m / 10^k (or m * 10^k), so:
 *  1. fast path: the smallest k in {0, 1, 2, 4, 8} with m / 10^k == v,
 *     checked by doing librrd's very operation;
 *  2. otherwise the shortest round-trip digits, zero-padded up to the next
 *     such exponent;
 *  3. otherwise %.17g (librrd may then be one ulp off).
 * The text never depends on the process locale.
 */
static int format_value(char *buf, size_t cap, double v)
{
	static const double pow10[] = { 1, 10, 100, 1e4, 1e8 };
	static const int pow10_exp[] = { 0, 1, 2, 4, 8 };
	static const int exact_exponents[] = { 16, 8, 4, 2, 1, 0, -1, -2, -4, -8, -16 };
	char out[48], sci[40], digits[24];
	int negative = v < 0, n_digits = 0, exp10 = 0, sig;
	double magnitude = fabs(v);

	if (isnan(v))
		return copy_text(buf, cap, "U");
	if (isinf(v))
		return copy_text(buf, cap, negative ? "-inf" : "inf");

	for (size_t k = 0; k < sizeof pow10 / sizeof pow10[0]; k++) {
		double scaled = magnitude * pow10[k];
		if (scaled >= TWO_POW_53)
			break;
		uint64_t m = (uint64_t)nearbyint(scaled);
		if ((double)m / pow10[k] == magnitude) {
			put_fixed(out, negative, m, pow10_exp[k]);
			return copy_text(buf, cap, out);
		}
	}

	/* Shortest significant digits that a correctly rounded parser maps
	 * back to v: 15 always suffice when v came from <= 15 digits. */
	locale_t previous = enter_c_locale();
	for (sig = 15; sig < 17; sig++) {
		snprintf(sci, sizeof sci, "%.*e", sig - 1, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	if (sig == 17)
		snprintf(sci, sizeof sci, "%.16e", v);
	leave_c_locale(previous);

	/* sci is [-]d.ddde[+-]xx: collect the digits and the exponent. */
	const char *p = sci + negative;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && n_digits < (int)sizeof digits - 1)
			digits[n_digits++] = *p;
	if (*p == 'e')
		exp10 = (int)strtol(p + 1, NULL, 10);
	while (n_digits > 1 && digits[n_digits - 1] == '0')
		n_digits--;

	/* v = digits x 10^int_exp with the digits read as an integer. */
	int int_exp = exp10 - (n_digits - 1);
	int scale = INT_MIN;
	for (size_t i = 0; i < sizeof exact_exponents / sizeof exact_exponents[0]; i++) {
		if (exact_exponents[i] <= int_exp) {
			scale = exact_exponents[i];
			break;
		}
	}
	if (scale != INT_MIN && n_digits + (int_exp - scale) <= 16) {
		uint64_t m = 0;
		for (int i = 0; i < n_digits; i++)
			m = m * 10 + (uint64_t)(digits[i] - '0');
		for (int i = 0; i < int_exp - scale; i++)
			m *= 10;
		if ((double)m < TWO_POW_53) {
			int len = put_fixed(out, negative, m, scale < 0 ? -scale : 0);
			if (scale > 0) /* only integers beyond 2^53 */
				len += snprintf(out + len, sizeof out - (size_t)len, "e%d", scale);
			if (len <= RRDFILE_VALUE_MAX)
				return copy_text(buf, cap, out);
		}
	}

	previous = enter_c_locale();
	snprintf(sci, sizeof sci, "%.17g", v);
	leave_c_locale(previous);
	return copy_text(buf, cap, sci);
}

int rrdfile_format_row(char *buf, size_t cap, int64_t ts, const double *values, size_t n_ds)
{
	char ts_text[24];
	uint64_t ts_magnitude = ts < 0 ? (uint64_t)(-(ts + 1)) + 1 : (uint64_t)ts;
	int len = put_fixed(ts_text, ts < 0, ts_magnitude, 0);
	size_t used;

	if (copy_text(buf, cap, ts_text) < 0)
		return -1;
	used = (size_t)len;
	for (size_t i = 0; i < n_ds; i++) {
		if (used + 2 > cap)
			goto too_small;
		buf[used++] = ':';
		int n = format_value(buf + used, cap - used, values[i]);
		if (n < 0)
			goto too_small;
		used += (size_t)n;
	}
	if (used > INT_MAX)
		goto too_small;
	return (int)used;

too_small:
	buf[0] = '\0';
	return -1;
}

/* Parses a value as librrd stored it ("U" or a number) into a double. */
static double parse_stored_value(const char *text)
{
	char *end;
	double v;

	if (!text || !*text || text[0] == 'U')
		return NAN;
	locale_t previous = enter_c_locale();
	v = strtod(text, &end);
	leave_c_locale(previous);
	if (end == text || *end != '\0')
		return NAN;
	return v;
}

/* ---- create ---- */

/* mkdir -p of path's directory part; 0 or -1 with errno. */
static int make_parent_dirs(const char *path)
{
	const char *slash = strrchr(path, '/');
	int rc;

	if (!slash || slash == path)
		return 0;
	char *dir = xstrndup(path, (size_t)(slash - path));
	rc = rrd_mkdir_p(dir, 0755);
	free(dir);
	return rc;
}

int rrdfile_create(const char *path, int64_t start_ts, const char *const ds_names[],
		   size_t n_ds, char *err, size_t errlen)
{
	struct stat st;
	int rc = -1;

	if (!path || !*path) {
		set_err(err, errlen, "rrdfile_create: empty path");
		return -1;
	}
	if (n_ds == 0 || n_ds > INT_MAX - RRDFILE_N_ARCHIVES) {
		set_err(err, errlen, "%s: bad data source count %zu", path, n_ds);
		return -1;
	}
	for (size_t i = 0; i < n_ds; i++) {
		if (!rrdfile_ds_name_valid(ds_names[i])) {
			set_err(err, errlen, "%s: bad data source name '%s' (want [a-z0-9_]{1,19})",
				path, ds_names[i] ? ds_names[i] : "(null)");
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(ds_names[i], ds_names[j]) == 0) {
				set_err(err, errlen, "%s: duplicate data source name '%s'", path, ds_names[i]);
				return -1;
			}
		}
	}
	if (stat(path, &st) == 0)
		return RRDFILE_EXISTS;
	if (FAULT_HIT(FAULT_RRD_DIR)) {
		set_err(err, errlen, "%s: cannot create parent directory: %s (injected fault)", path, strerror(EACCES));
		return -1;
	}
	if (make_parent_dirs(path) != 0) {
		set_err(err, errlen, "%s: cannot create parent directory: %s", path, strerror(errno));
		return -1;
	}

	/* "DS:" name ":GAUGE:900:U:U" */
	const size_t ds_def_max = 3 + RRDFILE_DS_NAME_MAX + 32;
	char *ds_defs = xreallocarray(NULL, n_ds, ds_def_max);
	char rra_defs[RRDFILE_N_ARCHIVES][64];
	size_t argc = n_ds + RRDFILE_N_ARCHIVES;
	const char **argv = xreallocarray(NULL, argc, sizeof *argv);

	for (size_t i = 0; i < n_ds; i++) {
		char *def = ds_defs + i * ds_def_max;
		snprintf(def, ds_def_max, "DS:%s:GAUGE:%d:U:U", ds_names[i], RRDFILE_HEARTBEAT);
		argv[i] = def;
	}
	locale_t previous = enter_c_locale(); /* the xff is a decimal */
	for (int i = 0; i < RRDFILE_N_ARCHIVES; i++) {
		snprintf(rra_defs[i], sizeof rra_defs[i], "RRA:%s:%.1f:%d:%d", RRDFILE_CF,
			 RRDFILE_XFF, rrdfile_archives[i].steps_per_row, rrdfile_archives[i].rows);
		argv[n_ds + (size_t)i] = rra_defs[i];
	}
	leave_c_locale(previous);

	rrd_clear_error();
	/* no_overwrite=1 as well: another creator may have won since stat(). */
	if (rrd_create_r2(path, RRDFILE_STEP, (time_t)start_ts, 1, NULL, NULL, (int)argc, argv) == 0) {
		rc = RRDFILE_CREATED;
	} else if (stat(path, &st) == 0) {
		rc = RRDFILE_EXISTS;
	} else {
		set_err(err, errlen, "%s: %s", path, rrd_error_text());
		rc = -1;
	}
	rrd_clear_error();
	free(argv);
	free(ds_defs);
	return rc;
}

/* ---- update ---- */

long rrdfile_update(const char *path, size_t n_ds, const int64_t *ts, const double *values,
		    size_t n_rows, char *err, size_t errlen)
{
	if (n_rows == 0)
		return 0;
	if (n_ds == 0 || n_rows > INT_MAX) {
		set_err(err, errlen, "%s: bad update shape (%zu rows x %zu data sources)", path, n_rows, n_ds);
		return -1;
	}

	/* Fault build: the disk under the file is full or failing; "short"
	 * writes the first half of the rows, as a device filling up mid-call. */
	enum fault_effect fault = FAULT_HIT(FAULT_RRD_WRITE);
	if (fault == FAULT_FAIL || fault == FAULT_FULL) {
		set_err(err, errlen, "%s: %s (injected fault)", path, strerror(fault == FAULT_FULL ? ENOSPC : EIO));
		return -1;
	}
	if (fault == FAULT_SHORT)
		n_rows /= 2;

	/* Filter here rather than only relying on RRD_SKIP_PAST_UPDATES so the
	 * returned count is exact and an all-past call skips the update. */
	rrd_clear_error();
	time_t last = rrd_last_r(path);
	if (last == (time_t)-1) {
		set_err(err, errlen, "%s", rrd_error_text());
		rrd_clear_error();
		return -1;
	}

	const size_t row_max = RRDFILE_ROW_MAX(n_ds);
	char *text = xreallocarray(NULL, n_rows, row_max);
	const char **argv = xreallocarray(NULL, n_rows, sizeof *argv);
	size_t used = 0;
	int argc = 0;
	int64_t newest = (int64_t)last;
	long written;

	for (size_t i = 0; i < n_rows; i++) {
		if (ts[i] <= newest)
			continue;
		int len = rrdfile_format_row(text + used, row_max, ts[i], values + i * n_ds, n_ds);
		if (len < 0) { /* cannot happen with row_max; refuse rather than truncate */
			set_err(err, errlen, "%s: row %zu does not fit its buffer", path, i);
			written = -1;
			goto out;
		}
		argv[argc++] = text + used;
		used += (size_t)len + 1;
		newest = ts[i];
	}
	written = argc;
	if (argc > 0) {
		rrd_clear_error();
		if (rrd_updatex_r(path, NULL, RRD_SKIP_PAST_UPDATES, argc, argv) != 0) {
			set_err(err, errlen, "%s", rrd_error_text());
			written = -1;
		}
		rrd_clear_error();
	}
	if (fault == FAULT_SHORT && written >= 0) {
		set_err(err, errlen, "%s: %s after %ld rows (injected fault)", path, strerror(ENOSPC), written);
		written = -1;
	}
out:
	free(argv);
	free(text);
	return written;
}

/* ---- last ---- */

int rrdfile_last(const char *path, int64_t *last_ts, double *values, size_t n_ds,
		 char *err, size_t errlen)
{
	time_t last = 0;
	unsigned long ds_count = 0;
	char **ds_names = NULL, **last_ds = NULL;
	int rc = 0;

	rrd_clear_error();
	if (rrd_lastupdate_r(path, &last, &ds_count, &ds_names, &last_ds) != 0) {
		set_err(err, errlen, "%s", rrd_error_text());
		rrd_clear_error();
		return -1;
	}
	if (values && ds_count != n_ds) {
		set_err(err, errlen, "%s: file has %lu data sources, caller expects %zu",
			path, ds_count, n_ds);
		rc = -1;
	} else {
		if (last_ts)
			*last_ts = (int64_t)last;
		for (size_t i = 0; values && i < n_ds; i++)
			values[i] = parse_stored_value(last_ds[i]);
	}
	for (unsigned long i = 0; i < ds_count; i++) {
		rrd_freemem(ds_names[i]);
		rrd_freemem(last_ds[i]);
	}
	rrd_freemem(ds_names);
	rrd_freemem(last_ds);
	return rc;
}

/* ---- fetch ---- */

int rrdfile_fetch(const char *path, int64_t start, int64_t end, int64_t resolution,
		  struct rrdfile_series *out, char *err, size_t errlen)
{
	time_t fetch_start = (time_t)start, fetch_end = (time_t)end;
	unsigned long step = resolution > 0 ? (unsigned long)resolution : RRDFILE_STEP;
	unsigned long ds_count = 0;
	char **ds_names = NULL;
	rrd_value_t *data = NULL;

	memset(out, 0, sizeof *out);
	if (start >= end) {
		set_err(err, errlen, "%s: fetch start %" PRId64 " not before end %" PRId64, path, start, end);
		return -1;
	}
	rrd_clear_error();
	/* start, end and step are in/out: librrd aligns them to the archive
	 * it chose, and the caller must see those, not its request. */
	if (rrd_fetch_r(path, RRDFILE_CF, &fetch_start, &fetch_end, &step, &ds_count,
			&ds_names, &data) != 0) {
		set_err(err, errlen, "%s", rrd_error_text());
		rrd_clear_error();
		return -1;
	}
	out->start = (int64_t)fetch_start;
	out->end = (int64_t)fetch_end;
	out->step = (int64_t)step;
	out->n_ds = ds_count;
	out->n_rows = step ? (size_t)((fetch_end - fetch_start) / (time_t)step) : 0;
	/* librrd's own allocations: kept as they are (no copy) and released
	 * with rrd_freemem in rrdfile_series_free. Unknown is already NAN. */
	out->ds_names = ds_names;
	out->values = data;
	return 0;
}

void rrdfile_series_free(struct rrdfile_series *series)
{
	if (!series)
		return;
	for (size_t i = 0; series->ds_names && i < series->n_ds; i++)
		rrd_freemem(series->ds_names[i]);
	rrd_freemem(series->ds_names);
	rrd_freemem(series->values);
	memset(series, 0, sizeof *series);
}

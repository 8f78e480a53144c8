/*
 * cst: day arithmetic with the civil-from-days algorithm (proleptic
 * Gregorian), so no libc time-zone state is touched: thread-safe and immune
 * to the TZ of the machine.
 */
#include "cst.h"

#include <stdio.h>
#include <string.h>

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t cst_day(int64_t unix_ts) { return floor_div(unix_ts + CST_OFFSET_S, 86400); }
int64_t cst_day_start(int64_t day) { return day * 86400 - CST_OFFSET_S; }

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int cst_date_parse(const char *text, int64_t *day, const char **reason)
{
	int y, m, d, n = 0, digits = strlen(text) == 10;
	for (int i = 0; digits && i < 10; i++) /* sscanf alone takes " 1" and "+1" for a month */
		digits = i == 4 || i == 7 ? text[i] == '-' : text[i] >= '0' && text[i] <= '9';
	if (!digits || sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10) {
		*reason = "must be a date YYYY-MM-DD";
		return -1;
	}
	if (y < 1990 || y > 2099 || m < 1 || m > 12 || d < 1 || d > 31) {
		*reason = "is not a real calendar date";
		return -1;
	}
	int64_t z = days_from_civil(y, m, d);
	int64_t yy;
	int mm, dd;
	civil_from_days(z, &yy, &mm, &dd);
	if (mm != m || dd != d) {
		*reason = "is not a real calendar date";
		return -1;
	}
	*day = z;
	return 0;
}

void cst_date_format(int64_t day, char *buf, size_t cap)
{
	int64_t y;
	int m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(buf, cap, "%04lld-%02d-%02d", (long long)y, m, d);
}

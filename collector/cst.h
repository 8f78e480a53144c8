/*
 * cst: calendar days in China Standard Time (Asia/Shanghai, UTC+8, no DST
 * since 1991). Day boundaries are computed here on the server, whatever the
 * clock or zone of a wall screen. A "day number" counts days since
 * 1970-01-01 in Shanghai.
 */
#ifndef CST_H
#define CST_H

#include <stddef.h>
#include <stdint.h>

#define CST_OFFSET_S (8 * 3600)

int64_t cst_day(int64_t unix_ts);              /* day number of a moment */
int64_t cst_day_start(int64_t day);            /* Unix time of 00:00 that day */
/* "YYYY-MM-DD" -> day number; -1 and a reason if not a real date. */
int cst_date_parse(const char *text, int64_t *day, const char **reason);
void cst_date_format(int64_t day, char *buf, size_t cap); /* buf >= 11 */

#endif

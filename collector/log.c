/*
 * log: formatting and rate limiting of the daemon's stderr log. Lines carry a
 * UTC timestamp and level; one write(2) per line keeps lines from different
 * threads whole. Rate limiting follows collectd's "complain" idea: first line
 * at once, then doubling intervals up to 10 minutes, with a suppressed count.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LIMIT_FIRST_MS 10000
#define LIMIT_MAX_MS   600000

static enum log_level current_level = LOG_INFO;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_vwrite(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 64)
		len = sizeof line - 64; /* leave room for the suffix and newline */
	if (suffix) {
		size_t s = strlen(suffix);
		memcpy(line + len, suffix, s);
		len += s;
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, NULL, fmt, ap);
	va_end(ap);
}

void log_limited(struct log_limit *limit, enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	int64_t now = now_ms();
	unsigned dropped;
	pthread_mutex_lock(&limit_lock);
	if (now < limit->next_ms) {
		limit->suppressed++;
		pthread_mutex_unlock(&limit_lock);
		return;
	}
	limit->interval_ms = limit->interval_ms ? limit->interval_ms * 2 : LIMIT_FIRST_MS;
	if (limit->interval_ms > LIMIT_MAX_MS)
		limit->interval_ms = LIMIT_MAX_MS;
	limit->next_ms = now + limit->interval_ms;
	dropped = limit->suppressed;
	limit->suppressed = 0;
	pthread_mutex_unlock(&limit_lock);

	char suffix[64] = "";
	if (dropped)
		snprintf(suffix, sizeof suffix, " (%u similar suppressed)", dropped);
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, dropped ? suffix : NULL, fmt, ap);
	va_end(ap);
}

void log_limit_clear(struct log_limit *limit, const char *fmt, ...)
{
	pthread_mutex_lock(&limit_lock);
	int was_active = limit->interval_ms != 0;
	limit->interval_ms = 0;
	limit->next_ms = 0;
	limit->suppressed = 0;
	pthread_mutex_unlock(&limit_lock);
	if (!was_active || LOG_INFO > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

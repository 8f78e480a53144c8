/*
 * log: leveled log lines to stderr, safe from any thread. A message that
 * repeats (same call site) is rate-limited: logged, then suppressed with
 * back-off and a count of what was dropped, so a failing disk cannot flood
 * the journal. The call site's static state is the key.
 */
#ifndef LOG_H
#define LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Back-off state for one call site; zero-initialised statically. */
struct log_limit {
	int64_t next_ms;     /* earliest time the next line may print */
	int64_t interval_ms; /* doubles after each print, up to a cap */
	unsigned suppressed; /* lines dropped since the last print */
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_level_parse(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like log_msg, but at most once per back-off interval for this call site. */
void log_limited(struct log_limit *limit, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A condition that was being complained about has cleared: log it once. */
void log_limit_clear(struct log_limit *limit, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

/* Rate-limited at the call site: one static limiter per textual use. */
#define log_error_rl(...) do { static struct log_limit l_; log_limited(&l_, LOG_ERROR, __VA_ARGS__); } while (0)
#define log_warn_rl(...)  do { static struct log_limit l_; log_limited(&l_, LOG_WARN, __VA_ARGS__); } while (0)

#endif

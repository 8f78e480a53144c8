/*
 * simhttp: the simulator's HTTP/1.1 client over plain sockets, as a bank
 * feed or a village reporting tool would have it: one keep-alive connection
 * per client, Content-Length bodies, and re-sends with back-off on connection
 * errors and 503, which are safe because every ingest body carries a batch_id
 * the server answers idempotently. Also the growable text buffer bodies are
 * built in. Not thread-safe per client: one client per thread.
 */
#ifndef SIMHTTP_H
#define SIMHTTP_H

#include <signal.h>
#include <stddef.h>

struct simhttp_buf {
	char *data;                 /* NUL-terminated while len > 0 */
	size_t len, cap;
};

void simhttp_buf_reset(struct simhttp_buf *b);
void simhttp_buf_free(struct simhttp_buf *b);
void simhttp_buf_add(struct simhttp_buf *b, const char *text, size_t len);
void simhttp_buf_printf(struct simhttp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct simhttp_client;

struct simhttp_result {
	int status;                 /* HTTP status of the last attempt; 0 when none came */
	const char *body;           /* its body, NUL-terminated; valid until the next post */
	size_t body_len;
	unsigned attempts;          /* sends it took: 1 when the first one was answered */
	char error[320];            /* why the last attempt failed when status is 0 */
};

/* url: http://host[:port][/prefix]. NULL with a reason when the URL is not usable. */
struct simhttp_client *simhttp_new(const char *url, const char *token, char *err, size_t errlen);
void simhttp_free(struct simhttp_client *c);
/* Back-off sleeps end early, and no new attempt starts, once *stop is set or after `deadline` (Unix s; 0 none). */
void simhttp_set_stop(struct simhttp_client *c, const volatile sig_atomic_t *stop, double deadline);

/*
 * POST `body` to prefix + path. Connection errors and 503 are retried with
 * the same body up to max_attempts, after 0.2 s, 0.4 s ... at most 5 s (or the
 * server's Retry-After). Returns the final status (0: no answer at all).
 */
int simhttp_post(struct simhttp_client *c, const char *path, const char *body, size_t len,
		 unsigned max_attempts, struct simhttp_result *res);

#endif

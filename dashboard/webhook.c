/*
 * webhook: a bounded queue of deliveries. The service thread keeps at most
 * a few in flight; a delivery that fails (connection error, timeout, or a
 * non-2xx answer) is tried again after 5 s, 10 s, 20 s ... up to 10 minutes
 * apart, for at most 12 attempts, then dropped with an error in the log.
 * Each delivery remembers its wsi through lws's opaque user data.
 */
#include "webhook.h"

#include "log.h"
#include "stats.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX      1000
#define IN_FLIGHT_MAX  4
#define ATTEMPTS_MAX   12
#define FIRST_RETRY_S  5
#define MAX_RETRY_S    600

struct delivery {
	struct delivery *next;
	char scheme[8], host[256], path[1024];
	int port;
	char *body;
	size_t len, sent;
	int attempts;
	time_t due;
	int status;          /* HTTP status of the current attempt */
	struct lws *wsi;     /* while in flight */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct delivery *queued;          /* any thread appends; service thread takes */
static size_t n_queued;
static struct delivery *pending;         /* service thread only: waiting for their time */
static int in_flight;
static struct lws_context *ctx;
static lws_sorted_usec_list_t timer;

static int parse_url(struct delivery *d, const char *url)
{
	char rest[1300];
	if (sscanf(url, "%7[a-z]://%1299s", d->scheme, rest) != 2 ||
	    (strcmp(d->scheme, "http") != 0 && strcmp(d->scheme, "https") != 0))
		return -1;
	char *slash = strchr(rest, '/');
	snprintf(d->path, sizeof d->path, "%s", slash ? slash : "/");
	if (slash)
		*slash = '\0';
	char *colon = strrchr(rest, ':');
	d->port = strcmp(d->scheme, "https") == 0 ? 443 : 80;
	if (colon) {
		d->port = (int)strtol(colon + 1, NULL, 10);
		*colon = '\0';
	}
	if (strlen(rest) >= sizeof d->host)
		return -1;
	memcpy(d->host, rest, strlen(rest) + 1);
	return d->host[0] && d->port > 0 && d->port < 65536 ? 0 : -1;
}

int webhook_enqueue(const char *url, const char *body, size_t len)
{
	struct delivery *d = xcalloc(1, sizeof *d);
	if (parse_url(d, url) < 0) {
		log_error_rl("webhook: '%s' is not an http(s) URL", url);
		free(d);
		return -1;
	}
	d->body = xmalloc(len + 1);
	memcpy(d->body, body, len);
	d->len = len;
	d->due = time(NULL);
	pthread_mutex_lock(&lock);
	if (n_queued >= QUEUE_MAX) {
		pthread_mutex_unlock(&lock);
		log_error_rl("webhook: queue full (%d), a notification to %s is dropped", QUEUE_MAX, d->host);
		free(d->body);
		free(d);
		return -1;
	}
	d->next = queued;
	queued = d;
	n_queued++;
	pthread_mutex_unlock(&lock);
	if (ctx)
		lws_cancel_service(ctx);
	return 0;
}

static void finish(struct delivery *d, int ok)
{
	in_flight--;
	d->wsi = NULL;
	if (ok) {
		stats_add(&stats.webhooks_sent, 1);
	} else if (++d->attempts < ATTEMPTS_MAX) {
		int64_t wait = (int64_t)FIRST_RETRY_S << (d->attempts - 1);
		d->due = time(NULL) + (wait > MAX_RETRY_S ? MAX_RETRY_S : wait);
		d->sent = 0;
		d->next = pending;
		pending = d;
		return;
	} else {
		stats_add(&stats.webhooks_failed, 1);
		log_error_rl("webhook: giving up on %s://%s%s after %d attempts", d->scheme, d->host, d->path, d->attempts);
	}
	pthread_mutex_lock(&lock);
	n_queued--;
	pthread_mutex_unlock(&lock);
	free(d->body);
	free(d);
}

static void start(struct delivery *d)
{
	struct lws_client_connect_info i;
	memset(&i, 0, sizeof i);
	i.context = ctx;
	i.address = d->host;
	i.host = d->host;
	i.origin = d->host;
	i.port = d->port;
	i.path = d->path;
	i.method = "POST";
	i.protocol = "fpmon-webhook";
	i.ssl_connection = strcmp(d->scheme, "https") == 0 ? LCCSCF_USE_SSL : 0;
	i.opaque_user_data = d;
	i.pwsi = &d->wsi;
	d->status = 0;
	in_flight++;
	if (!lws_client_connect_via_info(&i)) {
		log_warn_rl("webhook: cannot connect to %s:%d, will retry", d->host, d->port);
		finish(d, 0);
	}
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	webhook_pump(ctx);
}

void webhook_pump(struct lws_context *context)
{
	ctx = context;
	pthread_mutex_lock(&lock);
	struct delivery *fresh = queued;
	queued = NULL;
	pthread_mutex_unlock(&lock);
	while (fresh) {
		struct delivery *next = fresh->next;
		fresh->next = pending;
		pending = fresh;
		fresh = next;
	}
	time_t now = time(NULL), soonest = 0;
	for (struct delivery **p = &pending; *p;) {
		struct delivery *d = *p;
		if (d->due <= now && in_flight < IN_FLIGHT_MAX) {
			*p = d->next;
			start(d);
			continue;
		}
		if (!soonest || d->due < soonest)
			soonest = d->due;
		p = &d->next;
	}
	if (pending)
		lws_sul_schedule(ctx, 0, &timer, on_timer,
				 (soonest > now ? (lws_usec_t)(soonest - now) : 1) * LWS_US_PER_SEC);
}

int webhook_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct delivery *d = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (d) {
			log_warn_rl("webhook: %s:%d: %s; will retry", d->host, d->port, in ? (const char *)in : "connection failed");
			lws_set_opaque_user_data(wsi, NULL);
			finish(d, 0);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = in, *end = *p + len;
		char clen[24];
		int n = snprintf(clen, sizeof clen, "%zu", d->len);
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
						 (const unsigned char *)"application/json; charset=utf-8", 31, p, end) ||
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
						 (const unsigned char *)clen, n, p, end))
			return -1;
		lws_client_http_body_pending(wsi, 1);
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
		if (!d || d->sent >= d->len)
			return 0;
		size_t n = d->len - d->sent > 4096 ? 4096 : d->len - d->sent;
		unsigned char buf[LWS_PRE + 4096];
		memcpy(buf + LWS_PRE, d->body + d->sent, n);
		int last = d->sent + n == d->len;
		if (last)
			lws_client_http_body_pending(wsi, 0);
		if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
			return -1;
		d->sent += n;
		if (!last)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (d)
			d->status = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 1024], *p = buf + LWS_PRE;
		int n = (int)sizeof buf - LWS_PRE;
		return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return 0; /* the receiver's answer body is not needed */
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (d) {
			int ok = d->status >= 200 && d->status < 300;
			if (!ok)
				log_warn_rl("webhook: %s:%d answered %d; will retry", d->host, d->port, d->status);
			lws_set_opaque_user_data(wsi, NULL);
			finish(d, ok);
			webhook_pump(lws_get_context(wsi));
		}
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

void webhook_shutdown(void)
{
	pthread_mutex_lock(&lock);
	struct delivery *lists[2] = {queued, pending};
	queued = pending = NULL;
	n_queued = 0;
	pthread_mutex_unlock(&lock);
	for (int k = 0; k < 2; k++)
		while (lists[k]) {
			struct delivery *next = lists[k]->next;
			free(lists[k]->body);
			free(lists[k]);
			lists[k] = next;
		}
}

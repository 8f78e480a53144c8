/*
 * webhook: a bounded queue of deliveries. The service thread keeps at most
 * a few in flight; a delivery that fails (connection error, timeout, or a
 * non-2xx answer) is tried again after 5 s, 10 s, 20 s ... up to 10 minutes
 * apart, for at most 12 attempts, then dropped with an error in the log.
 * Each delivery remembers its wsi through lws's opaque user data. This lws
 * build has no asynchronous DNS (lws_client_connect_via_info would call
 * getaddrinfo on the loop), so host names are resolved on a small resolver
 * thread and the loop connects to the numeric address, sending the name as
 * Host (and for TLS, SNI and certificate checks).
 */
#include "webhook.h"

#include "log.h"
#include "stats.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <netdb.h>
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
	char addr[INET6_ADDRSTRLEN];  /* numeric address of host; "" until resolved */
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

/* The resolver: deliveries whose host needs a DNS lookup, under `lock`. */
static struct delivery *unresolved;
static pthread_cond_t resolve_cond = PTHREAD_COND_INITIALIZER;
static pthread_t resolver;
static int resolver_running, resolver_stopping;

static void *resolver_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!resolver_stopping) {
		struct delivery *d = unresolved;
		if (!d) {
			pthread_cond_wait(&resolve_cond, &lock);
			continue;
		}
		unresolved = d->next;
		pthread_mutex_unlock(&lock);
		struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
		if (getaddrinfo(d->host, NULL, &hints, &res) == 0 && res) {
			const struct addrinfo *pick = res; /* IPv4 first: robot endpoints are, and lws takes one address */
			for (const struct addrinfo *r = res; r; r = r->ai_next)
				if (r->ai_family == AF_INET) {
					pick = r;
					break;
				}
			const void *a = pick->ai_family == AF_INET6
						? (const void *)&((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr
						: (const void *)&((const struct sockaddr_in *)pick->ai_addr)->sin_addr;
			inet_ntop(pick->ai_family, a, d->addr, sizeof d->addr);
		} else {
			log_warn_rl("webhook: cannot resolve %s, will retry", d->host);
		}
		if (res)
			freeaddrinfo(res);
		pthread_mutex_lock(&lock);
		d->next = queued; /* resolved or not: the loop starts it or schedules the retry */
		queued = d;
		if (ctx)
			lws_cancel_service(ctx);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Under lock: a delivery without an address goes to the resolver; 0 if it is ready. */
static int needs_resolving_locked(struct delivery *d)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (d->addr[0])
		return 0;
	size_t n = strlen(d->host);
	if (n < sizeof d->addr && (inet_pton(AF_INET, d->host, buf) == 1 || inet_pton(AF_INET6, d->host, buf) == 1)) {
		memcpy(d->addr, d->host, n + 1);
		return 0;
	}
	if (!resolver_running && pthread_create(&resolver, NULL, resolver_main, NULL) == 0)
		resolver_running = 1;
	d->next = unresolved;
	unresolved = d;
	pthread_cond_signal(&resolve_cond);
	return 1;
}

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
	n_queued++;
	if (!needs_resolving_locked(d)) {
		d->next = queued;
		queued = d;
	}
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
		d->addr[0] = '\0'; /* look the name up again: the receiver may have moved */
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
	if (!d->addr[0]) { /* the resolver could not find it */
		in_flight++;
		finish(d, 0);
		return;
	}
	i.address = d->addr;
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
			pthread_mutex_lock(&lock);
			int later = needs_resolving_locked(d); /* a retry after a failure looks it up again */
			pthread_mutex_unlock(&lock);
			if (!later)
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
	resolver_stopping = 1;
	pthread_cond_signal(&resolve_cond);
	pthread_mutex_unlock(&lock);
	if (resolver_running)
		pthread_join(resolver, NULL); /* waits for a lookup under way, at most the resolver's timeout */
	pthread_mutex_lock(&lock);
	resolver_running = resolver_stopping = 0;
	struct delivery *lists[3] = {queued, pending, unresolved};
	queued = pending = unresolved = NULL;
	n_queued = 0;
	pthread_mutex_unlock(&lock);
	for (int k = 0; k < 3; k++)
		while (lists[k]) {
			struct delivery *next = lists[k]->next;
			free(lists[k]->body);
			free(lists[k]);
			lists[k] = next;
		}
}

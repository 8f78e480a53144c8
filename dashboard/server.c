/*
 * server: creates the lws context (file-descriptor limit raised first, since
 * lws sizes its tables from it), caps connections below that limit in
 * FILTER_NETWORK_CONNECTION so the accept loop never spins on EMFILE, and
 * routes HTTP: the ingest API, /healthz, /metrics and the files of web/.
 * Cross-thread wake-ups arrive as EVENT_WAIT_CANCELLED and are drained here.
 */
#include "server.h"

#include "access.h"
#include "api_http.h"
#include "conf.h"
#include "httppipe.h"
#include "httpreply.h"
#include "ingest_http.h"
#include "live.h"
#include "live_ws.h"
#include "log.h"
#include "routes.h"
#include "stats.h"
#include "webhook.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>

enum route { ROUTE_NONE, ROUTE_INGEST, ROUTE_API, ROUTE_STATIC };

/* Per-connection state of the HTTP protocol. */
struct http_session {
	enum route route;
	int completed_body;              /* BODY_COMPLETION seen for the current request */
	struct ingest_http ingest;
	struct api_http api;
	struct http_reply reply;
};

static struct lws_context *context;
static volatile sig_atomic_t stopping;
static atomic_int connections;
static void (*wake_hook)(void);

void server_on_wake(void (*fn)(void)) { wake_hook = fn; }

static struct http_reply *reply_of_ingest(struct ingest_http *req)
{
	struct http_session *s = lws_container_of(req, struct http_session, ingest);
	return &s->reply;
}

static struct http_reply *reply_of_api(struct api_http *req)
{
	struct http_session *s = lws_container_of(req, struct http_session, api);
	return &s->reply;
}

static int is_post(struct lws *wsi)
{
	return lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
}

/* lws 4.1.6 reads a body for these (POST/PUT/PATCH even without a length). */
static int has_body(struct lws *wsi)
{
	return is_post(wsi) || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS)
	       || lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0 || lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) > 0
#endif
		;
}

static int on_http(struct lws *wsi, struct http_session *s, const char *path)
{
	stats_add(&stats.http_requests, 1);
	/* Pipelined behind the previous request: answered in order without a body;
	 * with one, lws 4.1.6 would feed us its headers as body and spin, so hang
	 * up here, the last point where it can close without using freed memory. */
	if (httppipe_request(wsi) && has_body(wsi)) {
		log_warn_rl("http: closing a connection that pipelined a request with a body");
		return -1;
	}
	/* A pipelined request while the previous one still waits for a worker (or
	 * for its reply to go out): we answer in order or not at all, so hang up. */
	if (s->ingest.wait.id || s->api.wait.id || s->reply.status) {
		log_warn_rl("http: closing a connection that sent a request before its previous reply");
		return -1;
	}
	http_reply_reset(&s->reply);
	s->route = ROUTE_NONE;
	s->completed_body = 0;
	/* Only ingest and API POSTs read their body: after any other, close rather
	 * than let lws discard it unseen (the pipelining check could not follow). */
	if (has_body(wsi) && !is_post(wsi))
		http_reply_close_after(&s->reply);
	if (strncmp(path, "/api/v1/ingest/", 15) == 0) {
		s->route = ROUTE_INGEST;
		if (!is_post(wsi)) {
			http_reply_add_header(&s->reply, "Allow", "POST");
			http_reply_error(&s->reply, wsi, 405, "method not allowed", "ingest endpoints take POST");
			return 0;
		}
		/* An operator may report progress and milestones from the dashboard with a session. */
		struct auth_principal who;
		struct ingest_source person;
		int as_person = access_principal(wsi, &who) == 0 && who.session && auth_allows(&who, AUTH_OPERATOR) &&
				access_csrf_ok(wsi, &who);
		if (as_person) {
			memset(&person, 0, sizeof person);
			person.id = -who.user_id;
			snprintf(person.name, sizeof person.name, "%.63s", who.actor);
			snprintf(person.scope, sizeof person.scope, "%s", who.scope);
			person.kinds = (1u << ING_PROGRESS) | (1u << ING_MILESTONES);
			access_peer(wsi, person.peer, sizeof person.peer);
		}
		return ingest_http_begin(&s->ingest, &s->reply, wsi, path, as_person ? &person : NULL);
	}
	s->route = ROUTE_API;
	if (api_http_begin(&s->api, &s->reply, wsi, path, is_post(wsi)))
		return 0;
	if (is_post(wsi)) {
		http_reply_close_after(&s->reply); /* its body is not read */
		http_reply_error(&s->reply, wsi, 404, "not found", "no such endpoint");
		return 0;
	}
	if (routes_api(wsi, &s->reply, path) != ROUTES_NOT_MINE)
		return 0;
	s->route = ROUTE_STATIC;
	return routes_static(wsi, &s->reply, path);
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct http_session *s = user;
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		if (atomic_load(&connections) >= conf.max_connections) {
			log_warn_rl("refusing a connection: max_connections (%lld) reached",
				    (long long)conf.max_connections);
			return 1;
		}
		return 0;
	case LWS_CALLBACK_WSI_CREATE:
		atomic_fetch_add(&connections, 1);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		atomic_fetch_sub(&connections, 1);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		/* Early client failures reach protocols[0]: hand webhook ones over. */
		if (lws_get_opaque_user_data(wsi))
			return webhook_callback(wsi, reason, user, in, len);
		break;
	case LWS_CALLBACK_HTTP:
		if (on_http(wsi, s, (const char *)in) < 0)
			return -1;
		/* A reply ready at once (a chart from the cache, a refusal, /metrics)
		 * goes out now rather than one poll round later. HTTP/1 only: an h2
		 * stream writes only when told it may. */
		if (s->reply.status && !s->reply.headers_sent && !has_body(wsi) && lws_get_network_wsi(wsi) == wsi)
			return http_reply_writeable(&s->reply, wsi);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		if (s->route == ROUTE_INGEST)
			ingest_http_body(&s->ingest, &s->reply, in, len);
		else if (s->route == ROUTE_API)
			api_http_body(&s->api, &s->reply, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/* lws 4.1.6 repeats this callback on every service pass while pipelined
		 * bytes wait behind a body whose reply is not written yet: hang up (a
		 * client re-sends; ingest re-sends are idempotent by batch_id). Safe
		 * here: on_http refused bodies read from lws's buffer, so this is never
		 * inside lws_http_action. */
		if (s->completed_body)
			return -1;
		s->completed_body = 1;
		httppipe_mark(wsi); /* the body's end: what the next request is compared with */
		if (s->route == ROUTE_INGEST)
			ingest_http_complete(&s->ingest, &s->reply);
		else if (s->route == ROUTE_API)
			api_http_complete(&s->api, &s->reply);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return s ? http_reply_writeable(&s->reply, wsi) : 0;
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (s) { /* both, whatever the last route: an earlier request may still be waiting */
			ingest_http_closed(&s->ingest);
			api_http_closed(&s->api);
			http_reply_reset(&s->reply);
		}
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Arrives once per protocol; the drains below are idempotent. */
		ingest_http_collect(reply_of_ingest);
		api_http_collect(reply_of_api);
		live_ws_collect();
		webhook_pump(context);
		if (wake_hook)
			wake_hook();
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Same origin (Origin's host equals Host), or listed in allowed_origins. */
static int origin_allowed(struct lws *wsi)
{
	char origin[256] = "", host[256] = "";
	if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
		return 1; /* not a browser: nothing for an origin check to protect */
	lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
	const char *sep = strstr(origin, "://");
	if (sep && host[0] && strcmp(sep + 3, host) == 0)
		return 1;
	size_t n = strlen(origin);
	for (const char *p = conf.allowed_origins; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len && *p == ' ')
			p++, len--;
		if (len == n && strncmp(p, origin, n) == 0)
			return 1;
		p = comma ? comma + 1 : p + len;
	}
	return 0;
}

static int callback_live(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION) {
		if (!origin_allowed(wsi)) {
			log_warn_rl("live: refused a WebSocket from a foreign origin");
			return 1;
		}
		if (live_ws_admit(wsi, user) < 0) {
			log_warn_rl("live: refused a WebSocket without a valid session or display token");
			return 1;
		}
		return 0;
	}
	return live_ws_callback(wsi, reason, user, in, len);
}

static struct lws_protocols protocols[] = {
	{"http", callback_http, sizeof(struct http_session), 0, 0, NULL, 0},
	/* A 1 KiB receive buffer (client messages are small: 16 topics fit) keeps
	 * per-client memory low; tx_packet_size set so frames are not cut to it. */
	{LIVE_PROTOCOL, callback_live, 0, LIVE_MAX_MESSAGE, 0, NULL, 4096},
	{"fpmon-webhook", webhook_callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/*
 * The file limit sizes lws's fd table, and Debian's lws 4.1.6 (built with
 * _DEBUG) scans that whole table twice for every connection it closes: at
 * a systemd default of 524,288 that is 8 MB read per closed connection.
 * So the limit is what the connections need plus headroom for the
 * database, RRD files and listening sockets, raised or lowered to it.
 */
#define FD_HEADROOM 1024

static void size_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = (rlim_t)conf.max_connections + FD_HEADROOM;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	if (rl.rlim_cur != want) {
		rl.rlim_cur = want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	/* Keep headroom for the database, RRD files and listening sockets. */
	if ((rlim_t)conf.max_connections + 64 > rl.rlim_cur) {
		conf.max_connections = (int64_t)rl.rlim_cur > 128 ? (int64_t)rl.rlim_cur - 64 : 64;
		log_warn("max_connections lowered to %lld to stay below the file limit %llu",
			 (long long)conf.max_connections, (unsigned long long)rl.rlim_cur);
	}
}

static void lws_log_bridge(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error_rl("lws: %.*s", (int)n, line);
	else if (level & LLL_WARN)
		log_warn_rl("lws: %.*s", (int)n, line);
	else
		log_debug("lws: %.*s", (int)n, line);
}

int server_start(char *err, size_t errlen)
{
	size_fd_limit();
	lws_set_log_level(LLL_ERR | LLL_WARN | (log_get_level() >= LOG_DEBUG ? LLL_NOTICE : 0), lws_log_bridge);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = (int)conf.port;
	info.iface = conf.listen_address[0] ? conf.listen_address : NULL;
	info.protocols = protocols;
	info.vhost_name = "fpmon";
	info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_DISABLE_IPV6;
	if (conf.tls_cert[0]) {
		/* HTTPS and WSS on the same port; behind a reverse proxy leave these empty. */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = conf.tls_cert;
		info.ssl_private_key_filepath = conf.tls_key;
	}
	info.timeout_secs = 30;
	info.ka_time = 0;
	info.max_http_header_data = 4096;
	info.pt_serv_buf_size = 64 * 1024; /* fewer, larger body callbacks for big batches */
	protocols[1].per_session_data_size = live_ws_session_size();
	context = lws_create_context(&info);
	if (!context) {
		snprintf(err, errlen, "cannot listen on %s:%lld%s", conf.listen_address, (long long)conf.port,
			 conf.tls_cert[0] ? " (or the TLS certificate/key could not be loaded)" : "");
		return -1;
	}
	live_ws_start_timer(context);
	live_set_epoch(live_ws_epoch());
	return 0;
}

int server_port(void)
{
	struct lws_vhost *vh = context ? lws_get_vhost_by_name(context, "fpmon") : NULL;
	return vh ? lws_get_vhost_listen_port(vh) : -1;
}

void server_run(void)
{
	while (!stopping)
		if (lws_service(context, 0) < 0)
			break;
}

void server_stop(void)
{
	stopping = 1;
	if (context)
		lws_cancel_service(context); /* a write(2) to lws's pipe: fine in a signal handler */
}

void server_wake(void *unused)
{
	(void)unused;
	if (context)
		lws_cancel_service(context);
}

void server_destroy(void)
{
	if (context)
		lws_context_destroy(context);
	context = NULL;
	live_ws_shutdown();
	webhook_shutdown();
}

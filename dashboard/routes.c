/*
 * routes: /healthz, /metrics (Prometheus text format 0.0.4) and static files.
 * The static server accepts only plain path characters, no dot-segments and
 * no dot-files, and checks with realpath() that the file it would serve lies
 * inside web/, so neither `..`, its percent-encoded forms nor a symlink can
 * lead out of it.
 */
#include "routes.h"

#include "conf.h"
#include "ingest.h"
#include "ingestq.h"
#include "stats.h"
#include "xalloc.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static time_t started;

struct textbuf {
	char *data;
	size_t len, cap;
};

static void tb_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct textbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->data && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
}

static char *metrics_text(size_t *len)
{
	struct textbuf b = {0};
	tb_printf(&b, "# HELP fpmon_ingest_requests_total Ingest requests by kind and status class.\n"
		      "# TYPE fpmon_ingest_requests_total counter\n");
	for (int k = 0; k < ING_KINDS; k++)
		for (int c = 0; c < 6; c++)
			tb_printf(&b, "fpmon_ingest_requests_total{kind=\"%s\",status=\"%s\"} %llu\n",
				  ingest_kind_name((enum ingest_kind)k), stats_status_names[c],
				  (unsigned long long)atomic_load(&stats.requests[k][c]));
	tb_printf(&b, "# HELP fpmon_samples_stored_total Samples committed to SQLite.\n"
		      "# TYPE fpmon_samples_stored_total counter\n"
		      "fpmon_samples_stored_total %llu\n",
		  (unsigned long long)atomic_load(&stats.samples_stored));
	tb_printf(&b, "# HELP fpmon_samples_late_total Samples older than their RRD file's last row (kept in SQLite only).\n"
		      "# TYPE fpmon_samples_late_total counter\n"
		      "fpmon_samples_late_total %llu\n",
		  (unsigned long long)atomic_load(&stats.samples_late));
	tb_printf(&b, "# HELP fpmon_ingest_queue_depth Ingest requests waiting for the database.\n"
		      "# TYPE fpmon_ingest_queue_depth gauge\n"
		      "fpmon_ingest_queue_depth %zu\n", ingestq_depth());
	tb_printf(&b, "# HELP fpmon_rrd_rows_written_total Rows written to RRD files.\n"
		      "# TYPE fpmon_rrd_rows_written_total counter\n"
		      "fpmon_rrd_rows_written_total %llu\n"
		      "# HELP fpmon_rrd_update_calls_total librrd update calls (or rrdcached lines).\n"
		      "# TYPE fpmon_rrd_update_calls_total counter\n"
		      "fpmon_rrd_update_calls_total %llu\n"
		      "# HELP fpmon_rrd_errors_total Failed RRD writes.\n"
		      "# TYPE fpmon_rrd_errors_total counter\n"
		      "fpmon_rrd_errors_total %llu\n"
		      "# HELP fpmon_rrd_write_lag_seconds Age of the oldest row not yet in the RRD files.\n"
		      "# TYPE fpmon_rrd_write_lag_seconds gauge\n"
		      "fpmon_rrd_write_lag_seconds %lld\n",
		  (unsigned long long)atomic_load(&stats.rrd_rows_written),
		  (unsigned long long)atomic_load(&stats.rrd_calls),
		  (unsigned long long)atomic_load(&stats.rrd_errors),
		  (long long)atomic_load(&stats.rrd_lag_seconds));
	tb_printf(&b, "# HELP fpmon_http_requests_total HTTP requests received.\n"
		      "# TYPE fpmon_http_requests_total counter\n"
		      "fpmon_http_requests_total %llu\n"
		      "# HELP fpmon_uptime_seconds Seconds since the server started.\n"
		      "# TYPE fpmon_uptime_seconds gauge\n"
		      "fpmon_uptime_seconds %lld\n",
		  (unsigned long long)atomic_load(&stats.http_requests), (long long)(time(NULL) - started));
	tb_printf(&b, "# HELP fpmon_ws_clients Connected WebSocket clients.\n"
		      "# TYPE fpmon_ws_clients gauge\n"
		      "fpmon_ws_clients %lld\n", (long long)atomic_load(&stats.clients));
	tb_printf(&b, "# HELP fpmon_push_latency_seconds From a committed change to its frame being written to a client.\n"
		      "# TYPE fpmon_push_latency_seconds histogram\n");
	uint64_t cumulative = 0;
	for (int i = 0; i <= STATS_LATENCY_BUCKETS; i++) {
		cumulative += atomic_load(&stats.push_latency[i]);
		if (i < STATS_LATENCY_BUCKETS)
			tb_printf(&b, "fpmon_push_latency_seconds_bucket{le=\"%g\"} %llu\n",
				  (double)stats_latency_bounds_us[i] / 1e6, (unsigned long long)cumulative);
		else
			tb_printf(&b, "fpmon_push_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
	}
	tb_printf(&b, "fpmon_push_latency_seconds_sum %.6f\nfpmon_push_latency_seconds_count %llu\n",
		  (double)atomic_load(&stats.push_latency_sum_us) / 1e6,
		  (unsigned long long)atomic_load(&stats.push_latency_count));
	*len = b.len;
	return b.data;
}

int routes_api(struct lws *wsi, struct http_reply *reply, const char *path)
{
	if (!started)
		started = time(NULL);
	if (strcmp(path, "/healthz") == 0) {
		char *body = xmalloc(128);
		int n = snprintf(body, 128, "{\"status\":\"ok\",\"uptime\":%lld}", (long long)(time(NULL) - started));
		http_reply_add_header(reply, "Cache-Control", "no-store");
		http_reply_set(reply, wsi, 200, "application/json", body, (size_t)n);
		return 0;
	}
	if (strcmp(path, "/metrics") == 0) {
		size_t len;
		char *body = metrics_text(&len);
		http_reply_add_header(reply, "Cache-Control", "no-store");
		http_reply_set(reply, wsi, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
		return 0;
	}
	if (strncmp(path, "/api/", 5) == 0) {
		http_reply_error(reply, wsi, 404, "not found", "no such endpoint");
		return 0;
	}
	return ROUTES_NOT_MINE;
}

static const char *mime_of(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
		{".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
		{".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".txt", "text/plain; charset=utf-8"},
		{".wav", "audio/wav"}, {".mp3", "audio/mpeg"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Only [A-Za-z0-9._-] and '/', no empty or dot-leading segments. */
static int path_is_plain(const char *path)
{
	if (path[0] != '/')
		return 0;
	for (const char *p = path; *p; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '_' || c == '-' || c == '/';
		if (!ok)
			return 0;
		if (c == '/' && (p[1] == '.' || (p[1] == '/')))
			return 0;
	}
	return 1;
}

int routes_static(struct lws *wsi, struct http_reply *reply, const char *path)
{
	char rel[1024], full[sizeof conf.web_dir + 1024], real_root[PATH_MAX], real_file[PATH_MAX];
	if (strlen(path) >= sizeof rel - 16 || !path_is_plain(path)) {
		http_reply_error(reply, wsi, 404, "not found", "no such file");
		return 0;
	}
	snprintf(rel, sizeof rel, "%s%s", path, path[strlen(path) - 1] == '/' ? "index.html" : "");
	snprintf(full, sizeof full, "%s%s", conf.web_dir, rel);
	struct stat st;
	if (!realpath(conf.web_dir, real_root) || !realpath(full, real_file) ||
	    strncmp(real_file, real_root, strlen(real_root)) != 0 || real_file[strlen(real_root)] != '/' ||
	    stat(real_file, &st) < 0 || !S_ISREG(st.st_mode)) {
		http_reply_error(reply, wsi, 404, "not found", "no such file");
		return 0;
	}
	static const char extra[] = "x-content-type-options: nosniff\r\ncache-control: no-cache\r\n";
	int n = lws_serve_http_file(wsi, real_file, mime_of(real_file), extra, (int)strlen(extra));
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

/*
 * routes: /healthz (ok, or degraded while writes fail), /metrics (Prometheus
 * text format 0.0.4) and the files of web/, answered from the in-memory table
 * of static.c by exact path (so `..`, its percent-encoded forms and symlinks
 * lead nowhere), with ETag revalidation (304) and the gzip copy when the
 * client accepts it.
 */
#include "routes.h"

#include "access.h"
#include "api_cache.h"
#include "conf.h"
#include "ingest.h"
#include "ingestq.h"
#include "static.h"
#include "stats.h"
#include "xalloc.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	tb_printf(&b, "# HELP fpmon_ingest_unavailable_total Ingest requests answered 503 (nothing stored), by reason.\n"
		      "# TYPE fpmon_ingest_unavailable_total counter\n");
	for (int r = 0; r < STATS_UNAV_REASONS; r++)
		tb_printf(&b, "fpmon_ingest_unavailable_total{reason=\"%s\"} %llu\n", stats_unavailable_names[r],
			  (unsigned long long)atomic_load(&stats.ingest_unavailable[r]));
	tb_printf(&b, "# HELP fpmon_database_write_failing 1 while the last ingest commit failed (disk full, locked, I/O error).\n"
		      "# TYPE fpmon_database_write_failing gauge\n"
		      "fpmon_database_write_failing %d\n"
		      "# HELP fpmon_rrd_files_failing RRD files the last write cycle could not write (retried with back-off).\n"
		      "# TYPE fpmon_rrd_files_failing gauge\n"
		      "fpmon_rrd_files_failing %lld\n",
		  atomic_load(&stats.db_failing) != 0, (long long)atomic_load(&stats.rrd_files_failing));
	tb_printf(&b, "# HELP fpmon_http_requests_total HTTP requests received.\n"
		      "# TYPE fpmon_http_requests_total counter\n"
		      "fpmon_http_requests_total %llu\n"
		      "# HELP fpmon_uptime_seconds Seconds since the server started.\n"
		      "# TYPE fpmon_uptime_seconds gauge\n"
		      "fpmon_uptime_seconds %lld\n",
		  (unsigned long long)atomic_load(&stats.http_requests), (long long)(time(NULL) - started));
	tb_printf(&b, "# HELP fpmon_webhooks_total Alert notifications delivered or given up on.\n"
		      "# TYPE fpmon_webhooks_total counter\n"
		      "fpmon_webhooks_total{result=\"sent\"} %llu\nfpmon_webhooks_total{result=\"failed\"} %llu\n",
		  (unsigned long long)atomic_load(&stats.webhooks_sent), (unsigned long long)atomic_load(&stats.webhooks_failed));
	struct api_cache_stats cache;
	api_cache_stats(&cache); /* this thread's own table */
	tb_printf(&b, "# HELP fpmon_api_cache_requests_total Chart history requests answered from memory (hit) or read (miss).\n"
		      "# TYPE fpmon_api_cache_requests_total counter\n"
		      "fpmon_api_cache_requests_total{result=\"hit\"} %llu\nfpmon_api_cache_requests_total{result=\"miss\"} %llu\n"
		      "# HELP fpmon_api_cache_bytes Bytes of replies kept for repeated chart requests.\n"
		      "# TYPE fpmon_api_cache_bytes gauge\n"
		      "fpmon_api_cache_bytes %zu\n",
		  (unsigned long long)cache.hits, (unsigned long long)cache.misses, cache.bytes);
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

/* "ok", or "degraded" with the problems: the server is up and serving reads
 * either way (200), but a monitor should see that writes are failing. */
static char *healthz_text(size_t *len)
{
	struct textbuf b = {0};
	int64_t db = atomic_load(&stats.db_failing), rrd = atomic_load(&stats.rrd_files_failing);
	tb_printf(&b, "{\"status\":\"%s\",\"uptime\":%lld", db || rrd ? "degraded" : "ok",
		  (long long)(time(NULL) - started));
	if (db || rrd) {
		tb_printf(&b, ",\"problems\":[");
		if (db) /* sqlite3_errstr's texts need no JSON escaping */
			tb_printf(&b, "\"database: %s; ingest answers 503\"%s", sqlite3_errstr((int)db), rrd ? "," : "");
		if (rrd)
			tb_printf(&b, "\"rrd: %lld files cannot be written; their rows are kept and retried\"", (long long)rrd);
		tb_printf(&b, "]");
	}
	tb_printf(&b, "}");
	*len = b.len;
	return b.data;
}

int routes_api(struct lws *wsi, struct http_reply *reply, const char *path)
{
	if (!started)
		started = time(NULL);
	if (strcmp(path, "/healthz") == 0) {
		size_t len;
		char *body = healthz_text(&len);
		http_reply_add_header(reply, "Cache-Control", "no-store");
		http_reply_set(reply, wsi, 200, "application/json", body, len);
		return 0;
	}
	if (strcmp(path, "/metrics") == 0) {
		char peer[64];
		struct auth_principal who;
		access_peer(wsi, peer, sizeof peer);
		if (strcmp(peer, "127.0.0.1") != 0 && strcmp(peer, "::1") != 0 && access_principal(wsi, &who) < 0) {
			http_reply_error(reply, wsi, 401, "unauthorized", "metrics are for loopback or a token holder");
			return 0;
		}
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

static int header_has(struct lws *wsi, enum lws_token_indexes h, const char *needle)
{
	char value[512];
	return lws_hdr_copy(wsi, value, sizeof value, h) > 0 && strstr(value, needle) != NULL;
}

int routes_static(struct lws *wsi, struct http_reply *reply, const char *path)
{
	const struct static_file *f = static_find(path);
	if (!f) {
		static const char body[] = "<!doctype html><meta charset=utf-8><title>404</title>"
					   "<p>找不到该页面 · Not found</p>";
		http_reply_set(reply, wsi, 404, "text/html; charset=utf-8", xstrdup(body), sizeof body - 1);
		return 0;
	}
	http_reply_add_header(reply, "ETag", f->etag);
	http_reply_add_header(reply, "Cache-Control", f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
	http_reply_add_header(reply, "Vary", "Accept-Encoding");
	if (header_has(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, f->etag)) {
		http_reply_set(reply, wsi, 304, f->mime, NULL, 0);
		return 0;
	}
	int gz = f->gz && header_has(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, "gzip");
	if (gz)
		http_reply_add_header(reply, "Content-Encoding", "gzip");
	size_t len = gz ? f->gz_len : f->len;
	char *body = xmalloc(len ? len : 1);
	memcpy(body, gz ? f->gz : f->data, len);
	http_reply_set(reply, wsi, 200, f->mime, body, len);
	return 0;
}

/*
 * bench_history: the history API's latency beside its baseline in the same
 * run: librrd's own fetch of the same file plus a bare lws HTTP round trip
 * that returns the same bytes (a server process answering every GET with
 * the API's reply, headers and body in one lws_write). A village's day
 * at full resolution (300 s) and a year at daily resolution, p50 and p99,
 * each two ways: read (Cache-Control: no-cache, so a reader thread reads
 * the file every time) and repeated (the reply cache answers). rrdread, the
 * reader the API uses, is timed beside rrd_fetch_r for information.
 * Aim: the API within 2x of that baseline.
 * The bare server gets the daemon's file limit (--fd-limit), since lws sizes
 * its fd table, scanned on every close, from it.
 * usage: bench_history --port P --token T --entity CODE --rrd FILE [--n 200] [--fd-limit N] [--bare-cpu C]
 */
#include "bench_util.h"
#include "rrdfile.h"
#include "rrdread.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

/* The bare server: one reply, the same for every request, in a child
 * process of its own (the daemon is one too, and a thread of this process
 * would be woken on this process's CPU, which flatters it). */
static struct {
	struct lws_context *ctx;
	pid_t child;
	int cpu; /* -1: where the scheduler likes */
	const char *body;
	size_t len;
} bare;

static int bare_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user, (void)in, (void)len;
	if (reason != LWS_CALLBACK_HTTP)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	unsigned char *buf = malloc(LWS_PRE + 512 + bare.len), *start = buf + LWS_PRE, *p = start,
		      *end = start + 511;
	if (!buf || lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", bare.len, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end)) {
		free(buf);
		return -1;
	}
	memcpy(p, bare.body, bare.len);
	int n = (int)(p - start) + (int)bare.len, wrote = lws_write(wsi, start, (size_t)n, LWS_WRITE_HTTP_FINAL);
	free(buf);
	if (wrote < n)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Start the bare server answering with body; returns its port. */
static int bare_start(const char *body, size_t len)
{
	static const struct lws_protocols protocols[] = {{"http", bare_http, 0, 0, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = 0;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	bare.body = body;
	bare.len = len;
	lws_set_log_level(LLL_ERR, NULL);
	bare.ctx = lws_create_context(&info);
	if (!bare.ctx)
		return -1;
	int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(bare.ctx, "default"));
	bare.child = fork();
	if (bare.child == 0) {
		if (bare.cpu >= 0) { /* beside the daemon, when the run pins it */
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(bare.cpu, &set);
			sched_setaffinity(0, sizeof set, &set);
		}
		for (;;)
			lws_service(bare.ctx, 0);
	}
	return bare.child > 0 ? port : -1;
}

static void bare_stop(void)
{
	if (bare.child > 0) {
		kill(bare.child, SIGKILL);
		waitpid(bare.child, NULL, 0);
	}
	bare.child = 0;
	lws_context_destroy(bare.ctx); /* this process's copy */
}

#define BLOCK 50

/* n requests each to: bare, API read (no-cache), API repeated; new connections or kept-alive ones. */
static int time_http(int port, int bare_port, const char *path, int keep, int n, double *bare_rt, double *api,
		     double *repeat)
{
	struct bench_conn conns[3] = {{-1, 0}, {-1, 0}, {-1, 0}};
	if (keep && (bench_conn_open(&conns[0], bare_port) < 0 || bench_conn_open(&conns[1], port) < 0 ||
		     bench_conn_open(&conns[2], port) < 0)) {
		fprintf(stderr, "bench_history: cannot connect\n");
		return -1;
	}
	int rc = 0;
	/* In blocks of BLOCK requests to one server, the three in turn: noise from
	 * the other engineers' jobs falls on all alike, and within a block the
	 * scheduler sees one client and one server, as with a browser. (Switching
	 * servers on every request makes it spread the client's wake-ups over
	 * both vCPUs, and a halted vCPU costs ~60 us to wake here.) */
	for (int from = 0; from < n && rc == 0; from += BLOCK)
		for (int k = 0; k < 3 && rc == 0; k++)
			for (int i = from; i < n && i < from + BLOCK; i++) {
				const char *extra = k == 1 ? "Cache-Control: no-cache\r\n" : "";
				double *out = k == 0 ? bare_rt : k == 1 ? api : repeat;
				int status;
				double t0 = bench_now();
				if (keep) {
					status = bench_conn_get(&conns[k], path, extra);
				} else {
					char *reply = bench_http_get_with(k ? port : bare_port, path, extra);
					status = reply && strncmp(reply, "HTTP/1.1 ", 9) == 0 ? (int)strtol(reply + 9, NULL, 10) : -1;
					free(reply);
				}
				out[i] = (bench_now() - t0) * 1e3;
				if (status != 200) {
					fprintf(stderr, "bench_history: %s answered %d\n", k ? "the API" : "the bare server", status);
					rc = -1;
					break;
				}
			}
	for (int k = 0; k < 3; k++)
		if (conns[k].fd >= 0)
			close(conns[k].fd);
	return rc;
}

struct span {
	const char *label;
	int64_t seconds, resolution;
};

int main(int argc, char **argv)
{
	int port = 0, n = 200;
	long fd_limit = 0;
	bare.cpu = -1;
	const char *token = NULL, *entity = NULL, *rrd = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--token") == 0)
			token = argv[i + 1];
		else if (strcmp(argv[i], "--entity") == 0)
			entity = argv[i + 1];
		else if (strcmp(argv[i], "--rrd") == 0)
			rrd = argv[i + 1];
		else if (strcmp(argv[i], "--n") == 0)
			n = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--fd-limit") == 0)
			fd_limit = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--bare-cpu") == 0)
			bare.cpu = (int)strtol(argv[i + 1], NULL, 10);
	}
	if (!port || !token || !entity || !rrd || n < 10) {
		fprintf(stderr, "usage: bench_history --port P --token T --entity CODE --rrd FILE [--n 200] [--fd-limit N] [--bare-cpu C]\n");
		return 2;
	}
	struct rlimit rl;
	if (fd_limit > 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = (rlim_t)fd_limit < rl.rlim_max ? (rlim_t)fd_limit : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	const struct span spans[] = {{"day", 86400, 300}, {"year", 366 * 86400, 86400}};
	double *fetch = malloc((size_t)n * sizeof *fetch), *reader = malloc((size_t)n * sizeof *reader),
	       *api = malloc((size_t)n * sizeof *api), *repeat = malloc((size_t)n * sizeof *repeat),
	       *bare_rt = malloc((size_t)n * sizeof *bare_rt);
	printf("%-8s %6s  %-15s %-15s %-15s %-15s %-15s %-15s %-13s %-13s\n", "range", "bytes", "rrd_fetch_r", "rrdread",
	       "bare lws HTTP", "fetch + bare", "API, read", "API, repeated", "read/base", "repeat/base");
	printf("%-8s %6s  %-15s %-15s %-15s %-15s %-15s %-15s %-13s %-13s\n", "", "", "p50 / p99 ms", "p50 / p99 ms",
	       "p50 / p99 ms", "p50 / p99 ms", "p50 / p99 ms", "p50 / p99 ms", "p50 / p99", "p50 / p99");
	for (size_t s = 0; s < 2; s++) {
		int64_t now = (int64_t)time(NULL), start = now - spans[s].seconds, res = spans[s].resolution;
		char err[256], path[512];
		snprintf(path, sizeof path, "/api/v1/history?entity=%s&metrics=poor_hh,population,incidence_pct&start=%lld&token=%s",
			 entity, (long long)start, token);
		/* The bare server sends what the API sends (its body), so the bytes are equal. */
		char *sample = bench_http_get(port, path), *body = sample ? strstr(sample, "\r\n\r\n") : NULL;
		int bare_port = body ? bare_start(body + 4, strlen(body + 4)) : -1;
		if (bare_port <= 0) {
			fprintf(stderr, "bench_history: no sample reply or bare server\n");
			return 1;
		}
		size_t rows = (size_t)((now + res - 1) / res - start / res);
		double *out = malloc(rows * 64 * sizeof *out);
		for (int i = 0; i < n; i++) {
			struct rrdfile_series series;
			double t0 = bench_now();
			if (rrdfile_fetch(rrd, start, now, res, &series, err, sizeof err) < 0) {
				fprintf(stderr, "bench_history: %s\n", err);
				return 1;
			}
			fetch[i] = (bench_now() - t0) * 1e3;
			size_t n_ds = series.n_ds;
			rrdfile_series_free(&series);
			t0 = bench_now();
			if (rrdread_rows(rrd, RRDFILE_CF, res, (start / res + 1) * res, rows, n_ds, out, err, sizeof err) < 0) {
				fprintf(stderr, "bench_history: %s\n", err);
				return 1;
			}
			reader[i] = (bench_now() - t0) * 1e3;
		}
		free(out);
		size_t bytes = strlen(body + 4);
		for (int keep = 0; keep < 2; keep++) {
			if (time_http(port, bare_port, path, keep, n, bare_rt, api, repeat) < 0)
				return 1;
			double f50 = pct(fetch, n, 0.5), f99 = pct(fetch, n, 0.99), r50 = pct(reader, n, 0.5),
			       r99 = pct(reader, n, 0.99), b50 = pct(bare_rt, n, 0.5), b99 = pct(bare_rt, n, 0.99),
			       a50 = pct(api, n, 0.5), a99 = pct(api, n, 0.99), c50 = pct(repeat, n, 0.5),
			       c99 = pct(repeat, n, 0.99);
			char label[32];
			snprintf(label, sizeof label, "%s%s", spans[s].label, keep ? " (k)" : "");
			printf("%-8s %6zu  %6.3f / %-6.3f %6.3f / %-6.3f %6.3f / %-6.3f %6.3f / %-6.3f %6.3f / %-6.3f "
			       "%6.3f / %-6.3f %4.2fx / %-4.2fx %4.2fx / %.2fx\n",
			       label, bytes, f50, f99, r50, r99, b50, b99, f50 + b50, f99 + b99, a50, a99, c50, c99,
			       a50 / (f50 + b50), a99 / (f99 + b99), c50 / (f50 + b50), c99 / (f99 + b99));
			const char *mode = keep ? "keepalive" : "new_conn";
			bench_result("history.fetch_p50_ms", "%s %s %.3f", spans[s].label, mode, f50);
			bench_result("history.rrdread_p50_ms", "%s %s %.3f", spans[s].label, mode, r50);
			bench_result("history.bare_http_p50_ms", "%s %s %.3f", spans[s].label, mode, b50);
			bench_result("history.api_p50_ms", "%s %s %.3f", spans[s].label, mode, a50);
			bench_result("history.api_p99_ms", "%s %s %.3f", spans[s].label, mode, a99);
			bench_result("history.api_repeat_p50_ms", "%s %s %.3f", spans[s].label, mode, c50);
			bench_result("history.api_repeat_p99_ms", "%s %s %.3f", spans[s].label, mode, c99);
		}
		bare_stop();
		free(sample);
	}
	printf("aim: the API within 2x of rrd_fetch_r + a bare lws HTTP round trip of the same bytes (p50 and p99);\n"
	       "rows without (k): every request on a new connection (Connection: close); (k): one kept-alive\n"
	       "connection each for bare, read and repeated; the three take turns in blocks of 50 requests.\n");
	free(bare_rt);
	free(fetch);
	free(reader);
	free(api);
	free(repeat);
	return 0;
}

/*
 * bench_history: the history API's latency beside librrd's own fetch of the
 * same file in the same run: a village's day at full resolution (300 s) and
 * a year at daily resolution, p50 and p99 over many requests. The API does
 * more than the fetch (rows pending in memory, JSON), so the aim is "within
 * 2x of the bare fetch".
 * usage: bench_history --port P --token T --entity CODE --rrd FILE [--n 200]
 */
#include "bench_util.h"
#include "rrdfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct span {
	const char *label;
	int64_t seconds, resolution;
};

int main(int argc, char **argv)
{
	int port = 0, n = 200;
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
	}
	if (!port || !token || !entity || !rrd || n < 10) {
		fprintf(stderr, "usage: bench_history --port P --token T --entity CODE --rrd FILE [--n 200]\n");
		return 2;
	}
	const struct span spans[] = {{"day", 86400, 300}, {"year", 366 * 86400, 86400}};
	/* The transport alone: a request that touches no data, on a new connection like the others. */
	double *bare = malloc((size_t)n * sizeof *bare);
	for (int i = 0; i < n; i++) {
		double t0 = bench_now();
		free(bench_http_get(port, "/healthz"));
		bare[i] = (bench_now() - t0) * 1e3;
	}
	double h50 = pct(bare, n, 0.5);
	free(bare);
	printf("GET /healthz (the HTTP round trip alone, new connection each): p50 %.3f ms\n", h50);
	bench_result("history.healthz_p50_ms", "%.3f", h50);
	double *fetch = malloc((size_t)n * sizeof *fetch), *api = malloc((size_t)n * sizeof *api);
	printf("%-6s %-28s %10s %10s   %-28s %10s %10s   %s\n", "range", "rrdfile_fetch (librrd)", "p50 ms", "p99 ms",
	       "GET /api/v1/history", "p50 ms", "p99 ms", "p50 vs fetch + round trip");
	for (size_t s = 0; s < 2; s++) {
		int64_t now = (int64_t)time(NULL), start = now - spans[s].seconds;
		char err[256], path[256];
		for (int i = 0; i < n; i++) {
			struct rrdfile_series series;
			double t0 = bench_now();
			if (rrdfile_fetch(rrd, start, now, spans[s].resolution, &series, err, sizeof err) < 0) {
				fprintf(stderr, "bench_history: %s\n", err);
				return 1;
			}
			fetch[i] = (bench_now() - t0) * 1e3;
			rrdfile_series_free(&series);
		}
		snprintf(path, sizeof path, "/api/v1/history?entity=%s&metrics=poor_hh,population,incidence_pct&start=%lld&token=%s",
			 entity, (long long)start, token);
		for (int i = 0; i < n; i++) {
			double t0 = bench_now();
			char *reply = bench_http_get(port, path);
			api[i] = (bench_now() - t0) * 1e3;
			if (!reply || !strstr(reply, " 200 ")) {
				fprintf(stderr, "bench_history: %s\n", reply ? reply : "no reply");
				return 1;
			}
			free(reply);
		}
		double f50 = pct(fetch, n, 0.5), f99 = pct(fetch, n, 0.99), a50 = pct(api, n, 0.5), a99 = pct(api, n, 0.99);
		printf("%-6s %-28s %10.3f %10.3f   %-28s %10.3f %10.3f   %.2fx\n", spans[s].label, "", f50, f99, "", a50, a99,
		       a50 / (f50 + h50));
		bench_result("history.fetch_p50_ms", "%s %.3f", spans[s].label, f50);
		bench_result("history.api_p50_ms", "%s %.3f", spans[s].label, a50);
	}
	printf("aim: history replies within 2x of the bare fetch; the API also crosses HTTP (the /healthz round trip),\n"
	       "reads the rows pending in memory and builds JSON, so it is compared with fetch + round trip.\n");
	free(fetch);
	free(api);
	return 0;
}

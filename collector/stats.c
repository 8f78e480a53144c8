/*
 * stats: the counters' storage and the status-class mapping used both to
 * count requests and to label them in the Prometheus output.
 */
#include "stats.h"

struct stats stats;

const char *const stats_status_names[6] = {"2xx", "400", "401", "403", "413", "5xx"};

int stats_status_class(int status)
{
	switch (status) {
	case 400: case 409: case 422: return 1;
	case 401: return 2;
	case 403: return 3;
	case 413: return 4;
	default: return status >= 200 && status < 300 ? 0 : 5;
	}
}

void stats_count_request(enum ingest_kind kind, int status)
{
	stats_add(&stats.requests[kind][stats_status_class(status)], 1);
}

/*
 * bench_ingest: end-to-end load on the ingest API, and the synthetic
 * registries it runs against. `gen` writes regions.csv and projects.csv for
 * a county (300 villages, 100 projects) or a province (20,000 of each);
 * `load` keeps N keep-alive connections busy from one thread, each posting
 * pre-built batches (reports walking the registry, or random samples), and
 * counts only samples that a 2xx reply says were accepted (a 2xx is sent
 * after the SQLite COMMIT). Prints wall time, acknowledged samples/s,
 * p50/p99 request latency and the daemon's CPU.
 */
#include "bench_util.h"

#include <jansson.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/uio.h>

/* ---- the synthetic registry ---- */

struct scale {
	const char *name;
	int prefectures;        /* 0: a single county, 610824, at the top */
	int counties_per_pref;
	int townships;          /* per county, TTT 101.. (towns) */
	int villages;           /* per township, VVV 201.. (village committees) */
	int projects;
};

static const struct scale scales[] = {
	{"county", 0, 1, 15, 20, 100},      /* 300 villages */
	{"province", 8, 10, 10, 25, 20000}, /* 80 counties, 800 townships, 20,000 villages */
};

static int n_counties(const struct scale *s) { return s->prefectures ? s->prefectures * s->counties_per_pref : 1; }
static int n_villages(const struct scale *s) { return n_counties(s) * s->townships * s->villages; }

static void county_prefix(const struct scale *s, int c, char out[8])
{
	if (!s->prefectures)
		snprintf(out, 8, "610824");
	else
		snprintf(out, 8, "61%02u%02u", (unsigned)(c / s->counties_per_pref + 1) % 100,
			 (unsigned)(c % s->counties_per_pref + 1) % 100);
}

static void village_code(const struct scale *s, int i, char out[16])
{
	char prefix[8];
	county_prefix(s, i / (s->townships * s->villages), prefix);
	snprintf(out, 16, "%.6s%03u%03u", prefix, (unsigned)(101 + (i / s->villages) % s->townships) % 1000,
		 (unsigned)(201 + i % s->villages) % 1000);
}

static int gen_registry(const struct scale *s, const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/regions.csv", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "code,name\n");
	if (s->prefectures) {
		fprintf(f, "610000000000,Province\n");
		for (int p = 1; p <= s->prefectures; p++)
			fprintf(f, "61%02d00000000,Prefecture %d\n", p, p);
	}
	for (int c = 0; c < n_counties(s); c++) {
		char prefix[8];
		county_prefix(s, c, prefix);
		fprintf(f, "%s000000,County %s\n", prefix, prefix);
		for (int t = 0; t < s->townships; t++)
			fprintf(f, "%s%03d000,Town %s-%d\n", prefix, 101 + t, prefix, t);
	}
	for (int i = 0; i < n_villages(s); i++) {
		char code[16];
		village_code(s, i, code);
		fprintf(f, "%s,Village %d\n", code, i);
	}
	if (fclose(f) != 0)
		return -1;
	static const char *const categories[] = {"planting", "breeding", "processing", "tourism",
						 "ecommerce", "photovoltaic", "infrastructure", "other"};
	snprintf(path, sizeof path, "%s/projects.csv", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fprintf(f, "id,name,category,location,department,investment_fen,start,planned_end\n");
	for (int i = 0; i < s->projects; i++) {
		char code[16];
		village_code(s, (int)(((long)i * 7919) % n_villages(s)), code);
		fprintf(f, "XM%06d,Project %d,%s,%s,Agriculture bureau,%d,2025-03-01,2026-10-31\n", i + 1, i + 1,
			categories[i % 8], code, 1000000 + i % 5000 * 100);
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- request bodies ---- */

/* Metrics a client may send (source "ingest" in schemas/catalog.json). */
static const char *const village_metrics[] = {
	"poor_hh", "poor_people", "exited_hh", "exited_people", "population", "incidence_pct",
	"mon_unstable_hh", "mon_marginal_hh", "mon_sudden_hh", "mon_removed_hh", "income_pc_yuan",
	"below_line_hh", "dropouts", "uninsured", "unsafe_houses", "no_water_hh", "migrant_workers",
	"welfare_jobs", "trainees", "funds_alloc_fen",
};
static const char *const project_metrics[] = {
	"alloc_fen", "paid_fen", "reimbursed_fen", "progress_pct", "benef_hh", "benef_poor_hh", "jobs", "dividends_fen",
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct buf {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 64);
		if (!(b->p = realloc(b->p, b->cap))) {
			perror("realloc");
			exit(1);
		}
	}
}

#define BATCH_ID_LEN 20
static const char body_start[] = "{\"batch_id\":\"";  /* the id follows at this offset */

/*
 * How a batch picks its samples. MIX_REPORTS: batches walk the registry in
 * order (villages, then projects), every entity with all its metrics at one
 * report time, as a county's reporting system sends them. MIX_RANDOM: every
 * sample is a random entity and metric at a random time in the last hour,
 * the worst case for locality in SQLite's `latest` table.
 */
enum mix { MIX_REPORTS, MIX_RANDOM };

/* Sample q of the registry walk: its entity key and metric. */
static const char *walk_sample(const struct scale *s, size_t q, char entity[16])
{
	size_t village_samples = (size_t)n_villages(s) * N_OF(village_metrics);
	q %= village_samples + (size_t)s->projects * N_OF(project_metrics);
	if (q < village_samples) {
		village_code(s, (int)(q / N_OF(village_metrics)), entity);
		return village_metrics[q % N_OF(village_metrics)];
	}
	q -= village_samples;
	snprintf(entity, 16, "XM%06u", (unsigned)(q / N_OF(project_metrics) + 1) % 1000000);
	return project_metrics[q % N_OF(project_metrics)];
}

/*
 * Body number `index`: `{"batch_id":"<20 chars>","samples":[...]}` with the
 * id patched per request; values respect each metric's type.
 */
static struct buf make_body(const struct scale *s, enum mix mix, size_t index, size_t n_samples,
			    unsigned *seed, int64_t now)
{
	struct buf b = {malloc(1 << 16), 0, 1 << 16};
	buf_printf(&b, "%s%0*d\",\"samples\":[", body_start, BATCH_ID_LEN, 0);
	int nv = n_villages(s);
	for (size_t i = 0; i < n_samples; i++) {
		char entity[16];
		const char *metric;
		long long ts = now - 3600 + (long long)(index % 3000); /* reports: later batches are newer */
		if (mix == MIX_REPORTS) {
			metric = walk_sample(s, index * n_samples + i, entity);
		} else {
			unsigned r = (unsigned)rand_r(seed);
			ts = now - 60 - rand_r(seed) % 3600;
			if ((int)(r % (unsigned)(nv + s->projects)) < nv) {
				village_code(s, (int)(r % (unsigned)nv), entity);
				metric = village_metrics[(unsigned)rand_r(seed) % N_OF(village_metrics)];
			} else {
				snprintf(entity, sizeof entity, "XM%06u", (r % (unsigned)s->projects + 1) % 1000000);
				metric = project_metrics[(unsigned)rand_r(seed) % N_OF(project_metrics)];
			}
		}
		long value = rand_r(seed) % 1000;
		if (strstr(metric, "pct"))
			value %= 101;
		buf_printf(&b, "%s{\"entity\":\"%s\",\"metric\":\"%s\",\"ts\":%lld,\"value\":%ld}", i ? "," : "",
			   entity, metric, ts, value);
	}
	buf_printf(&b, "]}");
	return b;
}

/* ---- the load loop ---- */

enum conn_state { C_IDLE, C_SENDING, C_RECEIVING };

struct conn {
	int fd;
	enum conn_state state;
	char head[512];
	size_t head_len;
	struct buf *body;
	size_t sent;            /* bytes of head + body sent */
	char *rx;
	size_t rx_len, rx_cap;
	size_t request;         /* index in the latency table */
	double started;
};

struct load {
	int port;
	const char *token;
	/* Distinct bodies, request i sends body i % n_bodies with its batch_id patched
	 * in place; n_bodies > connections, so no body is in flight twice. */
	struct buf *bodies;
	size_t n_bodies;
	size_t batch, total_requests, issued, done;
	double deadline;        /* no new request after this */
	double *latency;
	uint64_t accepted, rejected, requests_2xx, requests_other, conn_errors;
};

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void start_request(struct load *L, struct conn *c, unsigned conn_index)
{
	c->body = &L->bodies[L->issued % L->n_bodies];
	char id[48]; /* exactly BATCH_ID_LEN characters: p<pid>-c<conn>-<request> */
	snprintf(id, sizeof id, "p%05u-c%02u-%09u", (unsigned)getpid() % 100000, conn_index % 100,
		 (unsigned)(L->issued % 1000000000));
	memcpy(c->body->p + strlen(body_start), id, BATCH_ID_LEN);
	c->head_len = (size_t)snprintf(c->head, sizeof c->head,
		"POST /api/v1/ingest/samples HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", L->token, c->body->len);
	c->sent = 0;
	c->rx_len = 0;
	c->request = L->issued++;
	c->started = bench_now();
	c->state = C_SENDING;
}

/* Bytes of a complete reply in c->rx, 0 if more must come; status and body out. */
static size_t parse_reply(struct conn *c, int *status, const char **body, size_t *body_len)
{
	c->rx[c->rx_len] = '\0';
	char *end = strstr(c->rx, "\r\n\r\n");
	if (!end)
		return 0;
	*status = (int)strtol(c->rx + 9, NULL, 10);
	size_t clen = 0;
	for (char *line = strstr(c->rx, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
		if (strncasecmp(line + 2, "content-length:", 15) == 0)
			clen = (size_t)strtoull(line + 17, NULL, 10);
	size_t head = (size_t)(end + 4 - c->rx);
	if (c->rx_len < head + clen)
		return 0;
	*body = end + 4;
	*body_len = clen;
	return head + clen;
}

static void finish_request(struct load *L, struct conn *c, int status, const char *body, size_t len)
{
	L->latency[c->request] = bench_now() - c->started;
	L->done++;
	if (status >= 200 && status < 300) {
		json_t *o = json_loadb(body, len, 0, NULL);
		L->accepted += (uint64_t)json_integer_value(json_object_get(o, "accepted"));
		L->rejected += (uint64_t)json_integer_value(json_object_get(o, "rejected"));
		json_decref(o);
		L->requests_2xx++;
	} else {
		L->requests_other++;
		if (L->requests_other <= 3)
			fprintf(stderr, "bench_ingest: HTTP %d: %.*s\n", status, (int)(len < 300 ? len : 300), body);
	}
	c->state = C_IDLE;
}

/* The connection broke: count the request as failed and dial again. */
static void conn_failed(struct load *L, struct conn *c)
{
	if (c->state != C_IDLE) {
		L->latency[c->request] = bench_now() - c->started;
		L->done++;
		L->conn_errors++;
	}
	close(c->fd);
	c->fd = dial(L->port);
	c->state = C_IDLE;
}

static int step_send(struct conn *c)
{
	struct iovec iov[2];
	int n = 0;
	if (c->sent < c->head_len)
		iov[n++] = (struct iovec){c->head + c->sent, c->head_len - c->sent};
	size_t body_off = c->sent > c->head_len ? c->sent - c->head_len : 0;
	iov[n++] = (struct iovec){c->body->p + body_off, c->body->len - body_off};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->sent += (size_t)w;
	if (c->sent == c->head_len + c->body->len)
		c->state = C_RECEIVING;
	return 0;
}

static int step_receive(struct load *L, struct conn *c)
{
	for (;;) {
		if (c->rx_cap - c->rx_len < 4096) {
			c->rx_cap = c->rx_cap * 2 + 8192;
			if (!(c->rx = realloc(c->rx, c->rx_cap)))
				return -1;
		}
		ssize_t r = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len - 1, 0);
		if (r == 0)
			return -1;
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->rx_len += (size_t)r;
		int status;
		const char *body;
		size_t len;
		if (parse_reply(c, &status, &body, &len)) {
			finish_request(L, c, status, body, len);
			return 0;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static int run_load(const struct scale *s, enum mix mix, const char *label, int port, const char *token,
		    int n_conns, size_t batch, size_t samples, double max_seconds, int daemon_pid)
{
	struct load L = {.port = port, .token = token, .batch = batch};
	L.total_requests = (samples + batch - 1) / batch;
	L.latency = calloc(L.total_requests, sizeof *L.latency);
	struct conn *conns = calloc((size_t)n_conns, sizeof *conns);
	unsigned seed = 12345;
	int64_t now = (int64_t)time(NULL);
	double t_gen = bench_now();
	/* Every request distinct up to 256 bodies, so `latest` grows as it would in use. */
	L.n_bodies = L.total_requests < 256 ? L.total_requests : 256;
	if (L.n_bodies <= (size_t)n_conns)
		L.n_bodies = (size_t)n_conns + 1;
	L.bodies = calloc(L.n_bodies, sizeof *L.bodies);
	for (size_t k = 0; k < L.n_bodies; k++)
		L.bodies[k] = make_body(s, mix, k, batch, &seed, now);
	for (int i = 0; i < n_conns; i++) {
		if ((conns[i].fd = dial(port)) < 0) {
			perror("bench_ingest: connect");
			return 1;
		}
	}
	fprintf(stderr, "bench_ingest %s: %s batches, %d connections, %zu requests of %zu samples (%zu bytes),"
		" bodies built in %.0f ms\n", label, mix == MIX_REPORTS ? "report" : "random", n_conns,
		L.total_requests, batch, L.bodies[0].len, (bench_now() - t_gen) * 1e3);

	struct bench_threads th0, th1;
	bench_thread_cpu(daemon_pid, &th0);
	double cpu0 = daemon_pid ? bench_process_cpu(daemon_pid) : 0, self0 = self_cpu();
	double t0 = bench_now();
	L.deadline = t0 + max_seconds;
	struct pollfd *pfd = calloc((size_t)n_conns, sizeof *pfd);
	while (L.done < L.issued || (L.issued < L.total_requests && bench_now() < L.deadline)) {
		if (bench_now() > L.deadline + 120) { /* a daemon that stopped answering: stop anyway */
			fprintf(stderr, "bench_ingest: %zu requests unanswered, giving up\n", L.issued - L.done);
			L.conn_errors += L.issued - L.done;
			break;
		}
		for (int i = 0; i < n_conns; i++) {
			struct conn *c = &conns[i];
			if (c->state == C_IDLE && L.issued < L.total_requests && bench_now() < L.deadline)
				start_request(&L, c, (unsigned)i);
			pfd[i].fd = c->fd;
			pfd[i].events = c->state == C_SENDING ? POLLOUT : c->state == C_RECEIVING ? POLLIN : 0;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n_conns, 1000) < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		for (int i = 0; i < n_conns; i++) {
			struct conn *c = &conns[i];
			if (!pfd[i].revents)
				continue;
			int rc = 0;
			if (c->state == C_SENDING && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				rc = step_send(c);
			else if (c->state == C_RECEIVING && (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				rc = step_receive(&L, c);
			if (rc < 0)
				conn_failed(&L, c);
		}
	}
	double wall = bench_now() - t0;
	double cpu = daemon_pid ? bench_process_cpu(daemon_pid) - cpu0 : 0, self = self_cpu() - self0;
	bench_thread_cpu(daemon_pid, &th1);

	qsort(L.latency, L.done, sizeof *L.latency, cmp_double);
	char key[96];
#define OUT(name, ...) (snprintf(key, sizeof key, "%s.%s", label, name), bench_result(key, __VA_ARGS__))
	OUT("connections", "%d", n_conns);
	OUT("batch", "%zu", batch);
	OUT("requests", "%zu", L.done);
	OUT("requests_2xx", "%llu", (unsigned long long)L.requests_2xx);
	OUT("requests_failed", "%llu", (unsigned long long)(L.requests_other + L.conn_errors));
	OUT("samples_acked", "%llu", (unsigned long long)L.accepted);
	OUT("samples_rejected", "%llu", (unsigned long long)L.rejected);
	OUT("wall_s", "%.3f", wall);
	OUT("samples_per_s", "%.0f", (double)L.accepted / wall);
	OUT("latency_p50_ms", "%.1f", percentile(L.latency, L.done, 0.50) * 1e3);
	OUT("latency_p99_ms", "%.1f", percentile(L.latency, L.done, 0.99) * 1e3);
	OUT("latency_max_ms", "%.1f", L.done ? L.latency[L.done - 1] * 1e3 : 0);
	OUT("client_cpu_pct", "%.0f", self / wall * 100);
	if (daemon_pid) {
		OUT("daemon_cpu_pct", "%.0f", cpu / wall * 100);
		/* Per thread, in creation order (the lws service thread first), and the busiest. */
		char list[256] = "";
		double busiest = 0;
		for (size_t i = 0, used = 0; i < th1.n && used < sizeof list - 8; i++) {
			double d = bench_thread_delta(&th0, &th1, i);
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%.0f", i ? "/" : "", d / wall * 100);
			if (d > busiest)
				busiest = d;
		}
		OUT("daemon_threads_cpu_pct", "%s", list);
		OUT("daemon_busiest_thread_cpu_pct", "%.0f", busiest / wall * 100);
	}
#undef OUT
	for (size_t k = 0; k < L.n_bodies; k++)
		free(L.bodies[k].p);
	free(L.bodies);
	for (int i = 0; i < n_conns; i++) {
		free(conns[i].rx);
		close(conns[i].fd);
	}
	free(conns);
	free(pfd);
	free(L.latency);
	return L.requests_2xx ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: bench_ingest gen county|province DIR\n"
		"       bench_ingest load county|province --port P --token T [--label L] [--conns 4]\n"
		"                    [--mix reports|random] [--batch 5000] [--samples 1000000]\n"
		"                    [--max-seconds 60] [--pid DAEMON_PID]\n");
	return 2;
}

static const struct scale *find_scale(const char *name)
{
	for (size_t i = 0; i < N_OF(scales); i++)
		if (strcmp(scales[i].name, name) == 0)
			return &scales[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3 || !find_scale(argv[2]))
		return usage();
	const struct scale *s = find_scale(argv[2]);
	if (strcmp(argv[1], "gen") == 0 && argc == 4) {
		if (gen_registry(s, argv[3]) < 0) {
			perror("bench_ingest gen");
			return 1;
		}
		bench_result("registry.villages", "%d", n_villages(s));
		bench_result("registry.projects", "%d", s->projects);
		return 0;
	}
	if (strcmp(argv[1], "load") != 0)
		return usage();
	int port = 0, conns = 4, pid = 0;
	const char *token = NULL, *label = s->name;
	size_t batch = 5000, samples = 1000000;
	enum mix mix = MIX_REPORTS;
	double max_seconds = 60;
	for (int i = 3; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];
		if (strcmp(opt, "--port") == 0)
			port = (int)strtol(val, NULL, 10);
		else if (strcmp(opt, "--token") == 0)
			token = val;
		else if (strcmp(opt, "--label") == 0)
			label = val;
		else if (strcmp(opt, "--conns") == 0)
			conns = (int)strtol(val, NULL, 10);
		else if (strcmp(opt, "--batch") == 0)
			batch = (size_t)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--samples") == 0)
			samples = (size_t)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--max-seconds") == 0)
			max_seconds = strtod(val, NULL);
		else if (strcmp(opt, "--pid") == 0)
			pid = (int)strtol(val, NULL, 10);
		else if (strcmp(opt, "--mix") == 0 && (!strcmp(val, "reports") || !strcmp(val, "random")))
			mix = strcmp(val, "random") == 0 ? MIX_RANDOM : MIX_REPORTS;
		else
			return usage();
	}
	if (!port || !token || conns < 1 || conns > 256 || batch < 1)
		return usage();
	return run_load(s, mix, label, port, token, conns, batch, samples, max_seconds, pid);
}

/*
 * bench_push: live-push latency under many WebSocket clients (issue 3).
 * Opens N plain-socket WebSocket clients (one epoll thread, minimal client
 * handshake, zero mask key) to fpmond's "fpmon-live" protocol or to
 * bench_bare_lws, waits until every one is ready (fpmond: subscribed and its
 * snapshot received), then runs rounds: a second thread stamps the time just
 * before it sends the trigger (fpmond: POST /api/v1/ingest/samples changing
 * one village's poor_hh to a value unique to the round; bare: GET
 * /trigger?r=R) and the epoll thread stamps each client's frame for that
 * round as it completes (matched by the value / by "seq":R). Prints
 * p50/p99/max over every client x round pair, frames missed, the server's
 * CPU over the rounds (% of one core) and its RSS per client
 * ((RSS with N clients - RSS idle) / N), as RESULT lines for push.sh.
 */
#include "bench_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <netinet/tcp.h>

#define MAX_ROUNDS 1000
#define RBUF 65536

enum state { C_CONNECTING, C_HANDSHAKE, C_WAIT_SNAPSHOT, C_READY, C_DEAD };

struct conn {
	int fd;
	enum state st;
	size_t len;      /* bytes in rbuf */
	char *rbuf;
	char *msg;       /* a fragmented message being assembled */
	size_t msg_len;
};

static struct {
	int port, pid, n, rounds, interval_ms, bare;
	const char *label, *token, *ingest_token, *topic, *entity, *metric;
	long base_value;
	struct conn *c;
	int ep;
	int ready, dead, opening;
	_Atomic double t_trigger[MAX_ROUNDS];
	_Atomic int triggered;    /* rounds whose t_trigger is set */
	_Atomic int trigger_fail;
	double *lat;              /* n x rounds, -1 = not (yet) seen */
	long frames, frame_bytes, deltas_unmatched;
	long live_frames, live_bytes; /* after the snapshot: the frames the rounds cause */
} B;

static struct sockaddr_in server_addr(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)B.port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static long rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static void raise_nofile(int need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((rlim_t)need + 32 > rl.rlim_cur) {
		fprintf(stderr, "bench_push: %d clients need more than the file limit %llu\n", need,
			(unsigned long long)rl.rlim_cur);
		exit(1);
	}
}

/* A masked (zero key) client text frame. */
static int send_text(int fd, const char *text)
{
	size_t n = strlen(text);
	unsigned char hdr[8];
	size_t h = 0;
	hdr[h++] = 0x81;
	if (n < 126) {
		hdr[h++] = (unsigned char)(0x80 | n);
	} else {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (unsigned char)(n >> 8);
		hdr[h++] = (unsigned char)n;
	}
	memset(hdr + h, 0, 4);
	h += 4;
	char frame[512];
	if (h + n > sizeof frame)
		return -1;
	memcpy(frame, hdr, h);
	memcpy(frame + h, text, n);
	return send(fd, frame, h + n, MSG_NOSIGNAL) == (ssize_t)(h + n) ? 0 : -1;
}

static void kill_conn(struct conn *c)
{
	if (c->st == C_DEAD)
		return;
	if (c->st == C_CONNECTING || c->st == C_HANDSHAKE)
		B.opening--;
	else if (c->st == C_READY)
		B.ready--;
	c->st = C_DEAD;
	B.dead++;
	epoll_ctl(B.ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
}

static int start_conn(struct conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in sa = server_addr();
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	c->st = C_CONNECTING;
	c->rbuf = malloc(RBUF);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	epoll_ctl(B.ep, EPOLL_CTL_ADD, c->fd, &ev);
	B.opening++;
	return 0;
}

/* The round a text message answers, or -1. */
static int round_of(const char *p, size_t n)
{
	char key[64];
	if (B.bare) {
		const char *s = memmem(p, n, "\"seq\":", 6);
		return s ? (int)strtol(s + 6, NULL, 10) : -1;
	}
	if (!memmem(p, n, "\"type\":\"delta\"", 14))
		return -1;
	int k = snprintf(key, sizeof key, "\"%s\":", B.metric);
	for (const char *s = p; (s = memmem(s, n - (size_t)(s - p), key, (size_t)k));) {
		s += k;
		long v = strtol(s, NULL, 10);
		if (v >= B.base_value && v < B.base_value + B.rounds)
			return (int)(v - B.base_value);
	}
	return -2;
}

static void on_message(struct conn *c, const char *p, size_t n, double now)
{
	B.frames++;
	B.frame_bytes += (long)n;
	if (c->st == C_WAIT_SNAPSHOT) {
		if (memmem(p, n, "\"type\":\"snapshot\"", 17)) {
			c->st = C_READY;
			B.ready++;
		} else if (memmem(p, n, "\"type\":\"error\"", 14)) {
			fprintf(stderr, "bench_push: server error: %.*s\n", (int)(n < 200 ? n : 200), p);
		}
		return;
	}
	if (c->st != C_READY)
		return;
	B.live_frames++;
	B.live_bytes += (long)n;
	int r = round_of(p, n);
	if (r == -2)
		B.deltas_unmatched++;
	if (r < 0 || r >= B.rounds || r >= atomic_load(&B.triggered))
		return;
	double *slot = &B.lat[(size_t)(c - B.c) * (size_t)B.rounds + (size_t)r];
	if (*slot < 0)
		*slot = now - atomic_load(&B.t_trigger[r]);
}

/* Parses whole frames from rbuf; 0, or -1 to drop the connection. */
static int parse_frames(struct conn *c, double now)
{
	size_t off = 0;
	for (;;) {
		unsigned char *h = (unsigned char *)c->rbuf + off;
		size_t avail = c->len - off;
		if (avail < 2)
			break;
		int fin = h[0] & 0x80, op = h[0] & 0x0f;
		uint64_t plen = h[1] & 0x7f;
		size_t hl = 2;
		if (h[1] & 0x80)
			return -1; /* a server never masks */
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = (uint64_t)h[2] << 8 | h[3];
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | h[2 + i];
			hl = 10;
		}
		if (plen > RBUF - 16)
			return -1;
		if (avail < hl + plen)
			break;
		const char *pl = (const char *)h + hl;
		if (op == 0x8)
			return -1;
		if (op == 0x9) { /* ping: pong with the same payload (zero mask) */
			unsigned char pong[6 + 125];
			size_t m = plen < 125 ? plen : 125;
			pong[0] = 0x8a;
			pong[1] = (unsigned char)(0x80 | m);
			memset(pong + 2, 0, 4);
			memcpy(pong + 6, pl, m);
			(void)send(c->fd, pong, 6 + m, MSG_NOSIGNAL);
		} else if (op == 0x1 || op == 0x0) {
			if (fin && !c->msg) {
				on_message(c, pl, plen, now);
			} else {
				c->msg = realloc(c->msg, c->msg_len + plen);
				memcpy(c->msg + c->msg_len, pl, plen);
				c->msg_len += plen;
				if (fin) {
					on_message(c, c->msg, c->msg_len, now);
					free(c->msg);
					c->msg = NULL;
					c->msg_len = 0;
				}
			}
		}
		off += hl + plen;
	}
	memmove(c->rbuf, c->rbuf + off, c->len - off);
	c->len -= off;
	return 0;
}

static void on_event(struct conn *c, uint32_t events)
{
	if (c->st == C_DEAD)
		return;
	if (c->st == C_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int err = 0;
		socklen_t el = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			kill_conn(c);
			return;
		}
		char req[512];
		int n;
		if (B.bare)
			n = snprintf(req, sizeof req,
				     "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
				     "Sec-WebSocket-Protocol: fpmon-live\r\n\r\n");
		else
			n = snprintf(req, sizeof req,
				     "GET /?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
				     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: fpmon-live\r\n\r\n",
				     B.token);
		if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			kill_conn(c);
			return;
		}
		c->st = C_HANDSHAKE;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(B.ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	double now = bench_now();
	for (;;) {
		ssize_t got = recv(c->fd, c->rbuf + c->len, RBUF - c->len, 0);
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
			kill_conn(c);
			return;
		}
		if (got < 0)
			return;
		c->len += (size_t)got;
		if (c->st == C_HANDSHAKE) {
			c->rbuf[c->len < RBUF ? c->len : RBUF - 1] = '\0';
			char *end = memmem(c->rbuf, c->len, "\r\n\r\n", 4);
			if (!end) {
				if (c->len >= RBUF - 1)
					kill_conn(c);
				continue;
			}
			if (strncmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
				fprintf(stderr, "bench_push: handshake refused: %.60s\n", c->rbuf);
				kill_conn(c);
				return;
			}
			size_t hlen = (size_t)(end + 4 - c->rbuf);
			memmove(c->rbuf, c->rbuf + hlen, c->len - hlen);
			c->len -= hlen;
			B.opening--;
			if (B.bare) {
				c->st = C_READY;
				B.ready++;
			} else {
				char sub[160];
				snprintf(sub, sizeof sub, "{\"type\":\"subscribe\",\"topics\":[\"%s\"]}", B.topic);
				c->st = C_WAIT_SNAPSHOT;
				if (send_text(c->fd, sub) < 0) {
					c->st = C_HANDSHAKE; /* so that kill_conn counts it right */
					B.opening++;
					kill_conn(c);
					return;
				}
			}
		}
		if (parse_frames(c, now) < 0) {
			kill_conn(c);
			return;
		}
		if ((size_t)got < RBUF)
			continue;
	}
}

static void poll_once(int timeout_ms)
{
	struct epoll_event ev[512];
	int n = epoll_wait(B.ep, ev, 512, timeout_ms);
	for (int i = 0; i < n; i++)
		on_event(ev[i].data.ptr, ev[i].events);
}

/* One blocking HTTP request on a fresh connection; the status, or -1. t0 is stamped just before send. */
static int http_request(const char *req, size_t len, _Atomic double *t0)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in sa = server_addr();
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	atomic_store(t0, bench_now());
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	char buf[2048];
	size_t got = 0;
	ssize_t r;
	/* until the whole reply (headers + Content-Length): a server may keep the connection open */
	while (got < sizeof buf - 1 && (r = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0) {
		got += (size_t)r;
		buf[got] = '\0';
		const char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
		if (end && cl && cl < end && (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10) <= got)
			break;
	}
	close(fd);
	buf[got] = '\0';
	int status = -1;
	if (got > 12)
		sscanf(buf, "HTTP/1.%*d %d", &status);
	if (status / 100 != 2)
		fprintf(stderr, "bench_push: trigger got: %.200s\n", buf);
	return status;
}

static void *trigger_thread(void *arg)
{
	(void)arg;
	for (int r = 0; r < B.rounds; r++) {
		double due = bench_now() + B.interval_ms / 1e3;
		char req[1024], body[512];
		int n;
		if (B.bare) {
			n = snprintf(req, sizeof req, "GET /trigger?r=%d HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
				     r);
		} else {
			int bl = snprintf(body, sizeof body,
					  "{\"batch_id\":\"push%06d%010ld\",\"samples\":[{\"entity\":\"%s\",\"metric\":\"%s\","
					  "\"ts\":%lld,\"value\":%ld}]}",
					  r, B.base_value, B.entity, B.metric, (long long)time(NULL), B.base_value + r);
			n = snprintf(req, sizeof req,
				     "POST /api/v1/ingest/samples HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
				     "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
				     B.ingest_token, bl, body);
		}
		/* ts: now, never older than the stored latest (an older sample leaves it as it is) */
		/* the receiving thread only looks at round r once triggered > r, after t_trigger[r] is set */
		atomic_store(&B.t_trigger[r], 0.0);
		atomic_store(&B.triggered, r + 1);
		if (http_request(req, (size_t)n, &B.t_trigger[r]) / 100 != 2)
			atomic_fetch_add(&B.trigger_fail, 1);
		double wait = due - bench_now();
		if (wait > 0)
			usleep((useconds_t)(wait * 1e6));
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: bench_push --port P --pid PID --clients N [--label L] [--rounds 50] [--interval-ms 200]\n"
		"         (--bare | --token DISPLAY_TOKEN --ingest-token T --topic region:CODE --entity VILLAGE\n"
		"          [--metric poor_hh])\n");
	return 2;
}

int main(int argc, char **argv)
{
	B.rounds = 50;
	B.interval_ms = 200;
	B.label = "push";
	B.metric = "poor_hh";
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--bare") == 0) {
			B.bare = 1;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (strcmp(o, "--port") == 0)
			B.port = atoi(v);
		else if (strcmp(o, "--pid") == 0)
			B.pid = atoi(v);
		else if (strcmp(o, "--clients") == 0)
			B.n = atoi(v);
		else if (strcmp(o, "--rounds") == 0)
			B.rounds = atoi(v);
		else if (strcmp(o, "--interval-ms") == 0)
			B.interval_ms = atoi(v);
		else if (strcmp(o, "--label") == 0)
			B.label = v;
		else if (strcmp(o, "--token") == 0)
			B.token = v;
		else if (strcmp(o, "--ingest-token") == 0)
			B.ingest_token = v;
		else if (strcmp(o, "--topic") == 0)
			B.topic = v;
		else if (strcmp(o, "--entity") == 0)
			B.entity = v;
		else if (strcmp(o, "--metric") == 0)
			B.metric = v;
		else
			return usage();
	}
	if (!B.port || !B.pid || B.n <= 0 || B.rounds <= 0 || B.rounds > MAX_ROUNDS ||
	    (!B.bare && (!B.token || !B.ingest_token || !B.topic || !B.entity)))
		return usage();
	raise_nofile(B.n);
	/* values unique to this run, so that an older delta never matches */
	B.base_value = 100000 + (long)(time(NULL) % 1000) * 1000;
	B.ep = epoll_create1(0);
	B.c = calloc((size_t)B.n, sizeof *B.c);
	B.lat = malloc((size_t)B.n * (size_t)B.rounds * sizeof *B.lat);
	for (size_t i = 0; i < (size_t)B.n * (size_t)B.rounds; i++)
		B.lat[i] = -1;

	long rss_idle = rss_kib(B.pid);
	double t_open = bench_now();
	int next = 0;
	/* at most 256 handshakes in flight: the listen backlog stays short */
	while (B.ready + B.dead < B.n && bench_now() - t_open < 60) {
		while (next < B.n && B.opening < 256) {
			if (start_conn(&B.c[next]) < 0) {
				B.c[next].st = C_DEAD;
				B.dead++;
			}
			next++;
		}
		poll_once(10);
	}
	double open_s = bench_now() - t_open;
	fprintf(stderr, "bench_push %s: %d of %d clients ready in %.1f s (%d failed)\n", B.label, B.ready, B.n,
		open_s, B.dead);
	if (B.ready < B.n) {
		fprintf(stderr, "bench_push %s: not every client is ready; giving up\n", B.label);
		return 1;
	}
	/* let the server settle (snapshots sent, queues empty) */
	for (double t = bench_now(); bench_now() - t < 0.5;)
		poll_once(10);
	long rss_conn = rss_kib(B.pid);
	double cpu0 = bench_process_cpu(B.pid), t0 = bench_now();

	pthread_t th;
	pthread_create(&th, NULL, trigger_thread, NULL);
	double t_end = bench_now() + B.rounds * B.interval_ms / 1e3 + 30;
	for (;;) {
		poll_once(5);
		if (atomic_load(&B.triggered) == B.rounds) {
			/* done when the last round reached every client, or 2 s after it was sent */
			size_t missing = 0;
			for (int i = 0; i < B.n; i++)
				if (B.c[i].st == C_READY && B.lat[(size_t)i * (size_t)B.rounds + (size_t)B.rounds - 1] < 0)
					missing++;
			double tl = atomic_load(&B.t_trigger[B.rounds - 1]);
			if (!missing || (tl > 0 && bench_now() - tl > 2) || bench_now() > t_end)
				break;
		}
	}
	pthread_join(th, NULL);
	double cpu1 = bench_process_cpu(B.pid), t1 = bench_now();
	long rss_end = rss_kib(B.pid);

	size_t n_all = (size_t)B.n * (size_t)B.rounds, got = 0;
	double *v = malloc(n_all * sizeof *v);
	for (size_t i = 0; i < n_all; i++)
		if (B.lat[i] >= 0)
			v[got++] = B.lat[i];
	qsort(v, got, sizeof *v, cmp_double);
	double p50 = got ? v[got / 2] * 1e3 : -1, p99 = got ? v[(size_t)((double)(got - 1) * 0.99)] * 1e3 : -1;
	double mx = got ? v[got - 1] * 1e3 : -1;
	long rss_with = rss_end > rss_conn ? rss_end : rss_conn;
	fprintf(stderr,
		"bench_push %s: %zu of %zu client x round frames, p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
		"server CPU %.0f%% of a core; RSS idle %ld KiB, with clients %ld KiB (%.2f KiB per client); "
		"%.0f bytes per frame; %d clients dropped, %d triggers failed, %ld deltas unmatched\n",
		B.label, got, n_all, p50, p99, mx, (cpu1 - cpu0) / (t1 - t0) * 100, rss_idle, rss_with,
		(double)(rss_with - rss_idle) / B.n, B.live_frames ? (double)B.live_bytes / (double)B.live_frames : 0.0, B.dead, atomic_load(&B.trigger_fail), B.deltas_unmatched);
	char key[128];
#define OUT(k, ...) (snprintf(key, sizeof key, "%s.%s", B.label, k), bench_result(key, __VA_ARGS__))
	OUT("clients", "%d", B.n);
	OUT("open_s", "%.1f", open_s);
	OUT("p50_ms", "%.1f", p50);
	OUT("p99_ms", "%.1f", p99);
	OUT("max_ms", "%.1f", mx);
	OUT("frames", "%zu", got);
	OUT("bytes_per_frame", "%.0f", B.live_frames ? (double)B.live_bytes / (double)B.live_frames : 0.0);
	OUT("missed", "%zu", n_all - got);
	OUT("cpu_pct", "%.0f", (cpu1 - cpu0) / (t1 - t0) * 100);
	OUT("rss_idle_kib", "%ld", rss_idle);
	OUT("rss_kib", "%ld", rss_with);
	OUT("rss_per_client_kib", "%.2f", (double)(rss_with - rss_idle) / B.n);
	OUT("dropped", "%d", B.dead);
	OUT("trigger_fail", "%d", atomic_load(&B.trigger_fail));
	free(v);
	return 0;
}

/*
 * bench_util: the small helpers the benchmark programs share, header-only
 * (each bench/X.c is its own program): monotonic time, CPU time of a process
 * and of each of its threads from /proc, a blocking HTTP GET for /metrics,
 * reading one Prometheus counter, and the "RESULT key value" output lines
 * that bench/run.sh turns into its table.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_THREADS 64

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One figure for run.sh: "RESULT key value" on stdout. */
__attribute__((format(printf, 2, 3)))
static inline void bench_result(const char *key, const char *fmt, ...)
{
	va_list ap;
	printf("RESULT %s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* utime + stime in seconds from a /proc .../stat file; -1 if unreadable. */
static inline double bench_stat_cpu(const char *path)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return -1;
	/* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
	unsigned long long utime = 0, stime = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static inline double bench_process_cpu(int pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	return bench_stat_cpu(path);
}

struct bench_threads {
	size_t n;
	int tid[BENCH_MAX_THREADS];
	double cpu[BENCH_MAX_THREADS];
};

static inline int bench_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* CPU seconds of every thread of pid, by ascending thread id (creation order). */
static inline int bench_thread_cpu(int pid, struct bench_threads *out)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	memset(out, 0, sizeof *out);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) && out->n < BENCH_MAX_THREADS)
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			out->tid[out->n++] = (int)strtol(de->d_name, NULL, 10);
	closedir(d);
	qsort(out->tid, out->n, sizeof out->tid[0], bench_cmp_int);
	for (size_t i = 0; i < out->n; i++) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, out->tid[i]);
		out->cpu[i] = bench_stat_cpu(path);
	}
	return 0;
}

/* CPU seconds a thread used between two snapshots (0 if it is new or gone). */
static inline double bench_thread_delta(const struct bench_threads *before, const struct bench_threads *after,
					size_t i)
{
	for (size_t j = 0; j < before->n; j++)
		if (before->tid[j] == after->tid[i])
			return after->cpu[i] - before->cpu[j];
	return after->cpu[i];
}

/* GET path from 127.0.0.1:port with "Connection: close"; malloc'd reply or NULL. */
/* extra: more header lines, each ending in \r\n ("" for none). */
static inline char *bench_http_get_with(int port, const char *path, const char *extra)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return NULL;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char req[1024];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n", path, extra);
	if (n < 0 || (size_t)n >= sizeof req || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t got;
	while (buf && (got = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)got;
		if (cap - len < 1024) {
			char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static inline char *bench_http_get(int port, const char *path)
{
	return bench_http_get_with(port, path, "");
}

/* A kept-alive connection: open once, then GETs one after another, each
 * reply read to the end of its Content-Length. fd -1 when closed. */
struct bench_conn {
	int fd, port;
};

static inline int bench_conn_open(struct bench_conn *c, int port)
{
	c->port = port;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	if (c->fd < 0 || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* The status code of a GET on c (its body read and dropped), or -1. */
static inline int bench_conn_get(struct bench_conn *c, const char *path, const char *extra)
{
	char req[1024], buf[1 << 16];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path, extra);
	if (c->fd < 0 || n < 0 || (size_t)n >= sizeof req || send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	size_t len = 0, want = 0;
	char *body = NULL;
	while (!body || len < want) {
		ssize_t got = recv(c->fd, buf + len, sizeof buf - len - 1, 0);
		if (got <= 0)
			return -1;
		len += (size_t)got;
		buf[len] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "content-length:");
			if (!cl || cl > body)
				return -1;
			want = (size_t)(body + 4 - buf) + strtoul(cl + 15, NULL, 10);
			if (want >= sizeof buf)
				return -1;
		}
	}
	return (int)strtol(buf + 9, NULL, 10);
}

/* Value of an unlabelled metric in Prometheus text, or -1. */
static inline double bench_metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

#endif

/*
 * simhttp: a deliberately small HTTP/1.1 client. One request at a time per
 * connection (no pipelining), so a response is read completely before the
 * next request goes out; a server that closed an idle keep-alive connection
 * shows up as a connection error and is handled by the retry loop like any
 * other.
 */
#include "simhttp.h"

#include "xalloc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SIMHTTP_TIMEOUT_S 60        /* a 5,000-sample batch under load can take a while */
#define SIMHTTP_MAX_REPLY (16u << 20)

struct simhttp_client {
	char host[256], port[16], prefix[256];
	char token[160];
	int fd;                     /* -1: not connected */
	struct simhttp_buf in;      /* bytes received for the current response */
	const volatile sig_atomic_t *stop;
	double deadline;
};

/* ---- buffer ---- */

void simhttp_buf_reset(struct simhttp_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void simhttp_buf_free(struct simhttp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static void reserve(struct simhttp_buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

void simhttp_buf_add(struct simhttp_buf *b, const char *text, size_t len)
{
	reserve(b, len);
	memcpy(b->data + b->len, text, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void simhttp_buf_printf(struct simhttp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* ---- connection ---- */

struct simhttp_client *simhttp_new(const char *url, const char *token, char *err, size_t errlen)
{
	if (strncmp(url, "http://", 7) != 0) {
		snprintf(err, errlen, "%s: only http:// URLs are supported", url);
		return NULL;
	}
	const char *host = url + 7, *host_end, *rest;
	if (*host == '[') { /* [::1]:8080 */
		host++;
		host_end = strchr(host, ']');
		if (!host_end) {
			snprintf(err, errlen, "%s: unclosed '['", url);
			return NULL;
		}
		rest = host_end + 1;
	} else {
		host_end = host + strcspn(host, ":/");
		rest = host_end;
	}
	const char *port = "80";
	size_t port_len = 2;
	if (*rest == ':') {
		port = rest + 1;
		port_len = strcspn(port, "/");
		rest = port + port_len;
	}
	size_t host_len = (size_t)(host_end - host);
	if (host_len == 0 || host_len >= 256 || port_len == 0 || port_len >= 16 || strlen(rest) >= 256 ||
	    strlen(token) >= 160 || strpbrk(token, "\r\n")) {
		snprintf(err, errlen, "%s: not a usable URL and token", url);
		return NULL;
	}
	struct simhttp_client *c = xcalloc(1, sizeof *c);
	memcpy(c->host, host, host_len);
	memcpy(c->port, port, port_len);
	snprintf(c->prefix, sizeof c->prefix, "%s", rest);
	size_t prefix_len = strlen(c->prefix);
	if (prefix_len > 0 && c->prefix[prefix_len - 1] == '/')
		c->prefix[prefix_len - 1] = '\0';
	snprintf(c->token, sizeof c->token, "%s", token);
	c->fd = -1;
	return c;
}

static void disconnect(struct simhttp_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void simhttp_free(struct simhttp_client *c)
{
	if (!c)
		return;
	disconnect(c);
	simhttp_buf_free(&c->in);
	free(c);
}

void simhttp_set_stop(struct simhttp_client *c, const volatile sig_atomic_t *stop, double deadline)
{
	c->stop = stop;
	c->deadline = deadline;
}

/* Whether to give up: stopped, or past the deadline. */
static bool giving_up(const struct simhttp_client *c)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (c->stop && *c->stop) || (c->deadline > 0 && (double)now.tv_sec + now.tv_nsec / 1e9 >= c->deadline);
}

static int connect_server(struct simhttp_client *c, struct simhttp_result *res)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *list = NULL;
	int rc = getaddrinfo(c->host, c->port, &hints, &list);
	if (rc != 0) {
		snprintf(res->error, sizeof res->error, "%s:%s: %s", c->host, c->port, gai_strerror(rc));
		return -1;
	}
	int saved = 0;
	for (struct addrinfo *a = list; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = { .tv_sec = SIMHTTP_TIMEOUT_S };
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		/* header and body go out in one writev; without this a small reply waits for Nagle */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			c->fd = fd;
			break;
		}
		saved = errno;
		close(fd);
	}
	freeaddrinfo(list);
	if (c->fd < 0) {
		snprintf(res->error, sizeof res->error, "connect %s:%s: %s", c->host, c->port, strerror(saved));
		return -1;
	}
	return 0;
}

static int send_all(struct simhttp_client *c, struct iovec *iov, int count, struct simhttp_result *res)
{
	while (count > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)count };
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(res->error, sizeof res->error, "send: %s", strerror(errno));
			return -1;
		}
		while (count > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			count--;
		}
		if (count > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Read more bytes into c->in; 0 at EOF, -1 on error. */
static ssize_t receive(struct simhttp_client *c, struct simhttp_result *res)
{
	if (c->in.len > SIMHTTP_MAX_REPLY) {
		snprintf(res->error, sizeof res->error, "reply larger than %u bytes", SIMHTTP_MAX_REPLY);
		return -1;
	}
	reserve(&c->in, 65536);
	ssize_t n;
	do
		n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		snprintf(res->error, sizeof res->error, "receive: %s", errno == EAGAIN ? "timed out" : strerror(errno));
	else if (n == 0)
		snprintf(res->error, sizeof res->error, "the server closed the connection");
	if (n > 0) {
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
	}
	return n;
}

/* The value of header `name` in the header block, or NULL; *len is its length. */
static const char *header_value(const char *headers, const char *end, const char *name, size_t *len)
{
	size_t name_len = strlen(name);
	for (const char *line = strstr(headers, "\r\n"); line && line < end; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
			const char *value = line + name_len + 1;
			while (*value == ' ' || *value == '\t')
				value++;
			*len = strcspn(value, "\r\n");
			return value;
		}
	}
	return NULL;
}

/* Walk the chunks from `at`; the offset just past the last one, or 0 when they are not all in yet. */
static size_t chunks_end(const struct simhttp_buf *in, size_t at, bool *malformed)
{
	for (;;) {
		const char *line_end = strstr(in->data + at, "\r\n");
		if (!line_end)
			return 0;
		char *digits_end;
		unsigned long size = strtoul(in->data + at, &digits_end, 16);
		if (digits_end == in->data + at) {
			*malformed = true;
			return 0;
		}
		size_t data_at = (size_t)(line_end - in->data) + 2;
		if (in->len < data_at + size + 2)
			return 0;
		if (size == 0)
			return data_at + 2; /* our server sends no trailers */
		at = data_at + size + 2;
	}
}

/* Decode a complete chunked body in place; decoded bytes never overtake the chunk being read. */
static size_t dechunk(struct simhttp_buf *in, size_t from)
{
	size_t out = from, at = from;
	for (;;) {
		const char *line_end = strstr(in->data + at, "\r\n");
		unsigned long size = strtoul(in->data + at, NULL, 16);
		size_t data_at = (size_t)(line_end - in->data) + 2;
		if (size == 0)
			break;
		memmove(in->data + out, in->data + data_at, size);
		out += size;
		at = data_at + size + 2;
	}
	return out - from;
}

/* Send one request and read its response. 0 with res->status set, -1 on a connection error. */
static int exchange(struct simhttp_client *c, const char *path, const char *body, size_t len,
		    struct simhttp_result *res, double *retry_after)
{
	if (c->fd < 0 && connect_server(c, res) < 0)
		return -1;
	char head[640];
	int head_len = snprintf(head, sizeof head,
				"POST %s%s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\nUser-Agent: fpmsim\r\n\r\n",
				c->prefix, path, c->host, c->port, c->token, len);
	struct iovec iov[2] = { { head, (size_t)head_len }, { (void *)(uintptr_t)body, len } };
	if (head_len < 0 || (size_t)head_len >= sizeof head || send_all(c, iov, 2, res) < 0)
		return -1;
	simhttp_buf_reset(&c->in);
	char *end;
	while (!c->in.data || !(end = strstr(c->in.data, "\r\n\r\n")))
		if (receive(c, res) <= 0)
			return -1;
	int status = 0;
	if (sscanf(c->in.data, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
		snprintf(res->error, sizeof res->error, "not an HTTP response");
		return -1;
	}
	size_t value_len, body_at = (size_t)(end - c->in.data) + 4;
	const char *value = header_value(c->in.data, end, "Connection", &value_len);
	bool closing = value && strncasecmp(value, "close", 5) == 0;
	if ((value = header_value(c->in.data, end, "Retry-After", &value_len)))
		*retry_after = strtod(value, NULL);
	bool chunked = (value = header_value(c->in.data, end, "Transfer-Encoding", &value_len)) &&
		       strncasecmp(value, "chunked", 7) == 0;
	value = header_value(c->in.data, end, "Content-Length", &value_len);
	size_t body_len = value ? strtoul(value, NULL, 10) : 0;
	if (chunked) {
		bool malformed = false;
		while (!chunks_end(&c->in, body_at, &malformed) && !malformed)
			if (receive(c, res) <= 0)
				return -1;
		if (malformed) {
			snprintf(res->error, sizeof res->error, "malformed chunked body");
			return -1;
		}
		body_len = dechunk(&c->in, body_at);
	} else if (value) {
		while (c->in.len < body_at + body_len)
			if (receive(c, res) <= 0)
				return -1;
	} else { /* neither: the body runs to the end of the connection */
		ssize_t n;
		while ((n = receive(c, res)) > 0)
			;
		if (n < 0)
			return -1;
		body_len = c->in.len - body_at;
		closing = true;
	}
	c->in.data[body_at + body_len] = '\0';
	res->status = status;
	res->body = c->in.data + body_at;
	res->body_len = body_len;
	if (closing)
		disconnect(c);
	return 0;
}

static void pause_for(const struct simhttp_client *c, double seconds)
{
	for (double left = seconds; left > 0 && !giving_up(c); left -= 0.1) {
		struct timespec ts = { 0, (long)((left < 0.1 ? left : 0.1) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

int simhttp_post(struct simhttp_client *c, const char *path, const char *body, size_t len,
		 unsigned max_attempts, struct simhttp_result *res)
{
	double backoff = 0.2;
	memset(res, 0, sizeof *res);
	res->body = "";
	for (unsigned attempt = 1; attempt <= max_attempts; attempt++) {
		double retry_after = 0;
		res->attempts = attempt;
		res->status = 0;
		res->error[0] = '\0';
		if (exchange(c, path, body, len, res, &retry_after) < 0) {
			disconnect(c);
		} else if (res->status != 503) {
			return res->status;
		}
		if (attempt == max_attempts || giving_up(c))
			break;
		pause_for(c, retry_after > backoff ? retry_after : backoff);
		if (giving_up(c))
			break;
		backoff = backoff * 2 > 5 ? 5 : backoff * 2;
	}
	return res->status;
}

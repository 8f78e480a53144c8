/*
 * rrdc: the rrdcached connection, spoken directly over a socket because
 * librrd's own client cannot batch. It owns everything that touches the
 * stream: a connect that cannot hang, sending, reading replies, giving up on
 * a stream left in an unknown state, and the one-line commands INFO (cached
 * per file), FLUSH and LAST. Requests are single lines; a reply is
 * "<status> <message>" where a negative status is an error and a positive
 * one announces that many more lines.
 */
#include "rrdc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

#define RECV_BUF_SIZE 16384

struct ds_count_entry {
	char *path; /* NULL: empty slot */
	uint64_t hash;
	size_t n_ds;
};

struct rrdc_conn {
	int fd;
	int timeout_ms;
	int broken;
	char address[256];
	char broken_reason[256];
	char recv_buf[RECV_BUF_SIZE];
	size_t recv_start, recv_end; /* unread bytes are recv_buf[recv_start, recv_end) */
	struct ds_count_entry *ds_counts; /* open addressing, power-of-two size */
	size_t ds_counts_size, ds_counts_used;
};

__attribute__((format(printf, 3, 4)))
void rrdc_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The stream is in an unknown state: remember why, refuse further use. */
__attribute__((format(printf, 4, 5)))
void rrdc_mark_broken(struct rrdc_conn *conn, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(conn->broken_reason, sizeof conn->broken_reason, fmt, ap);
	va_end(ap);
	conn->broken = 1;
	rrdc_set_err(err, errlen, "rrdcached %s: %s (connection closed; reconnect)", conn->address,
		conn->broken_reason);
	if (conn->fd >= 0) {
		close(conn->fd);
		conn->fd = -1;
	}
}

int rrdc_refuse_if_broken(const struct rrdc_conn *conn, char *err, size_t errlen)
{
	if (!conn->broken)
		return 0;
	rrdc_set_err(err, errlen, "rrdcached %s: connection broken earlier (%s); reconnect",
		conn->address, conn->broken_reason);
	return -1;
}

/* ---- connecting ---- */

static int64_t monotonic_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Non-blocking connect bounded by deadline_ms, then back to blocking with
 * send/receive timeouts. Returns 0, or -1 with errno set (ETIMEDOUT too). */
static int connect_fd(int fd, const struct sockaddr *addr, socklen_t addr_len,
		      int64_t deadline_ms, int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	if (connect(fd, addr, addr_len) != 0) {
		if (errno != EINPROGRESS)
			return -1; /* a unix socket with a full backlog says EAGAIN */
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int ready;
		do {
			int64_t left = deadline_ms - monotonic_ms();
			ready = poll(&pfd, 1, left > 0 ? (int)left : 0);
		} while (ready < 0 && errno == EINTR);
		if (ready < 0)
			return -1;
		if (ready == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		int so_error = 0;
		socklen_t so_len = sizeof so_error;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0)
			return -1;
		if (so_error != 0) {
			errno = so_error;
			return -1;
		}
	}
	if (fcntl(fd, F_SETFL, flags) < 0)
		return -1;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
		return -1;
	return 0;
}

static int open_unix(struct rrdc_conn *conn, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un unix_addr;
	size_t len = strlen(path);

	memset(&unix_addr, 0, sizeof unix_addr);
	unix_addr.sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof unix_addr.sun_path) {
		rrdc_set_err(err, errlen, "rrdcached %s: bad unix socket path", conn->address);
		return -1;
	}
	memcpy(unix_addr.sun_path, path, len + 1);
	conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn->fd < 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: socket: %s", conn->address, strerror(errno));
		return -1;
	}
	if (connect_fd(conn->fd, (const struct sockaddr *)&unix_addr, sizeof unix_addr,
		       monotonic_ms() + conn->timeout_ms, conn->timeout_ms) != 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: connect: %s", conn->address,
			errno == EAGAIN ? "listen backlog full (daemon busy)" : strerror(errno));
		close(conn->fd);
		conn->fd = -1;
		return -1;
	}
	return 0;
}

static int open_tcp(struct rrdc_conn *conn, const char *address, char *err, size_t errlen)
{
	char host[256], port[16];
	const char *colon;
	struct addrinfo hints, *results = NULL;
	int rc, saved_errno = 0;

	/* "[v6]:port", "host:port", "host", or a bare IPv6 literal. */
	if (address[0] == '[') {
		const char *close_bracket = strchr(address, ']');
		if (!close_bracket || (size_t)(close_bracket - address - 1) >= sizeof host) {
			rrdc_set_err(err, errlen, "rrdcached %s: bad address", address);
			return -1;
		}
		memcpy(host, address + 1, (size_t)(close_bracket - address - 1));
		host[close_bracket - address - 1] = '\0';
		colon = close_bracket[1] == ':' ? close_bracket + 1 : NULL;
	} else {
		colon = strchr(address, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* several colons: an IPv6 literal without port */
		size_t host_len = colon ? (size_t)(colon - address) : strlen(address);
		if (host_len == 0 || host_len >= sizeof host) {
			rrdc_set_err(err, errlen, "rrdcached %s: bad address", address);
			return -1;
		}
		memcpy(host, address, host_len);
		host[host_len] = '\0';
	}
	if (colon) {
		if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port) {
			rrdc_set_err(err, errlen, "rrdcached %s: bad port", address);
			return -1;
		}
		memcpy(port, colon + 1, strlen(colon + 1) + 1);
	} else {
		snprintf(port, sizeof port, "%d", RRDC_DEFAULT_PORT);
	}

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &results);
	if (rc != 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: %s", address, gai_strerror(rc));
		return -1;
	}
	int64_t deadline = monotonic_ms() + conn->timeout_ms;
	for (struct addrinfo *ai = results; ai; ai = ai->ai_next) {
		conn->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (conn->fd < 0) {
			saved_errno = errno;
			continue;
		}
		if (connect_fd(conn->fd, ai->ai_addr, ai->ai_addrlen, deadline, conn->timeout_ms) == 0) {
			/* Request/reply traffic: do not let Nagle hold the last
			 * segment of a batch back for a delayed ACK. */
			int one = 1;
			setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			break;
		}
		saved_errno = errno;
		close(conn->fd);
		conn->fd = -1;
	}
	freeaddrinfo(results);
	if (conn->fd < 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: connect: %s", address, strerror(saved_errno));
		return -1;
	}
	return 0;
}

struct rrdc_conn *rrdc_open(const char *address, int timeout_ms, char *err, size_t errlen)
{
	struct rrdc_conn *conn;
	int rc;

	if (!address || !*address) {
		rrdc_set_err(err, errlen, "rrdcached: empty address");
		return NULL;
	}
	conn = xcalloc(1, sizeof *conn);
	conn->fd = -1;
	conn->timeout_ms = timeout_ms > 0 ? timeout_ms : RRDC_DEFAULT_TIMEOUT_MS;
	snprintf(conn->address, sizeof conn->address, "%s", address);
	if (strncmp(address, "unix:", 5) == 0)
		rc = open_unix(conn, address + 5, err, errlen);
	else if (address[0] == '/')
		rc = open_unix(conn, address, err, errlen);
	else
		rc = open_tcp(conn, address, err, errlen);
	if (rc != 0) {
		free(conn);
		return NULL;
	}
	return conn;
}

static void ds_counts_free(struct rrdc_conn *conn)
{
	for (size_t i = 0; i < conn->ds_counts_size; i++)
		free(conn->ds_counts[i].path);
	free(conn->ds_counts);
	conn->ds_counts = NULL;
	conn->ds_counts_size = conn->ds_counts_used = 0;
}

void rrdc_close(struct rrdc_conn *conn)
{
	if (!conn)
		return;
	if (conn->fd >= 0)
		close(conn->fd);
	ds_counts_free(conn);
	free(conn);
}

int rrdc_is_broken(const struct rrdc_conn *conn)
{
	return conn->broken;
}

/* ---- wire I/O ---- */

int rrdc_send_all(struct rrdc_conn *conn, const char *data, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a daemon gone away must be an error, not SIGPIPE. */
		ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rrdc_mark_broken(conn, err, errlen, "send timed out after %d ms", conn->timeout_ms);
			return -1;
		}
		if (n <= 0) {
			rrdc_mark_broken(conn, err, errlen, "send: %s", n < 0 ? strerror(errno) : "no progress");
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one reply line without its newline into line. */
int rrdc_recv_line(struct rrdc_conn *conn, char *line, size_t cap, char *err, size_t errlen)
{
	for (;;) {
		char *start = conn->recv_buf + conn->recv_start;
		size_t avail = conn->recv_end - conn->recv_start;
		char *newline = memchr(start, '\n', avail);
		if (newline) {
			size_t len = (size_t)(newline - start);
			if (len >= cap) {
				rrdc_mark_broken(conn, err, errlen, "reply line longer than %zu bytes", cap - 1);
				return -1;
			}
			memcpy(line, start, len);
			line[len] = '\0';
			conn->recv_start += len + 1;
			return 0;
		}
		if (conn->recv_start > 0) { /* keep the partial line at the front */
			memmove(conn->recv_buf, start, avail);
			conn->recv_start = 0;
			conn->recv_end = avail;
		}
		if (conn->recv_end == sizeof conn->recv_buf) {
			rrdc_mark_broken(conn, err, errlen, "reply line longer than %zu bytes", sizeof conn->recv_buf);
			return -1;
		}
		ssize_t n = recv(conn->fd, conn->recv_buf + conn->recv_end,
				 sizeof conn->recv_buf - conn->recv_end, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rrdc_mark_broken(conn, err, errlen, "no reply within %d ms", conn->timeout_ms);
			return -1;
		}
		if (n <= 0) {
			rrdc_mark_broken(conn, err, errlen, "%s",
					 n == 0 ? "daemon closed the connection" : strerror(errno));
			return -1;
		}
		conn->recv_end += (size_t)n;
	}
}

/* Reads "<status> <message>"; message points into line. */
int rrdc_recv_status(struct rrdc_conn *conn, char *line, size_t cap, long *status,
		     const char **message, char *err, size_t errlen)
{
	char *end;

	if (rrdc_recv_line(conn, line, cap, err, errlen) != 0)
		return -1;
	errno = 0;
	*status = strtol(line, &end, 10);
	if (end == line || errno != 0 || (*end != ' ' && *end != '\0')) {
		rrdc_mark_broken(conn, err, errlen, "unexpected reply '%.80s'", line);
		return -1;
	}
	*message = *end == ' ' ? end + 1 : end;
	return 0;
}

/* Appends path to buf with rrdcached's escapes (backslash before space and
 * backslash). Returns the new length, or -1 if it cannot be sent or the
 * result would not fit in cap. */
long rrdc_append_escaped_path(char *buf, size_t len, size_t cap, const char *path)
{
	if (!path || !*path)
		return -1;
	for (const char *p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f) /* a newline would end the command */
			return -1;
		if (c == ' ' || c == '\\') {
			if (len + 1 >= cap)
				return -1;
			buf[len++] = '\\';
		}
		if (len + 1 >= cap)
			return -1;
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	return (long)len;
}

/*
 * Sends "<verb> <path>\n" and reads the status line. For a positive status
 * the announced lines are passed to on_line (or skipped). Returns 0 with
 * status/message filled, or -1 when the exchange failed.
 */
static int simple_command(struct rrdc_conn *conn, const char *verb, const char *path,
			  char *reply, size_t reply_cap, long *status, const char **message,
			  void (*on_line)(const char *line, void *ctx), void *ctx,
			  char *err, size_t errlen)
{
	char request[RRDC_LINE_MAX + 1];
	int prefix = snprintf(request, sizeof request, "%s ", verb);
	long len = rrdc_append_escaped_path(request, (size_t)prefix, sizeof request - 1, path);

	if (rrdc_refuse_if_broken(conn, err, errlen) != 0)
		return -1;
	if (len < 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: %s: path cannot be sent (empty, control characters or too long)",
			conn->address, verb);
		return -1;
	}
	request[len++] = '\n';
	if (rrdc_send_all(conn, request, (size_t)len, err, errlen) != 0)
		return -1;
	if (rrdc_recv_status(conn, reply, reply_cap, status, message, err, errlen) != 0)
		return -1;
	if (*status > 0) {
		/* The extra lines go into a separate buffer: message still
		 * points into reply. */
		char *extra = xmalloc(RRDC_REPLY_LINE_MAX);
		for (long i = 0; i < *status; i++) {
			if (rrdc_recv_line(conn, extra, RRDC_REPLY_LINE_MAX, err, errlen) != 0) {
				free(extra);
				return -1;
			}
			if (on_line)
				on_line(extra, ctx);
		}
		free(extra);
	}
	return 0;
}

/* ---- data source counts (INFO), cached ---- */

static uint64_t path_hash(const char *path)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct ds_count_entry *ds_count_slot(struct ds_count_entry *table, size_t size,
					    const char *path, uint64_t hash)
{
	size_t i = (size_t)hash & (size - 1);
	while (table[i].path && (table[i].hash != hash || strcmp(table[i].path, path) != 0))
		i = (i + 1) & (size - 1);
	return &table[i];
}

static const struct ds_count_entry *ds_count_find(const struct rrdc_conn *conn, const char *path)
{
	if (conn->ds_counts_size == 0)
		return NULL;
	const struct ds_count_entry *e = ds_count_slot(conn->ds_counts, conn->ds_counts_size,
						       path, path_hash(path));
	return e->path ? e : NULL;
}

static void ds_count_store(struct rrdc_conn *conn, const char *path, size_t n_ds)
{
	if ((conn->ds_counts_used + 1) * 10 >= conn->ds_counts_size * 7) {
		size_t new_size = conn->ds_counts_size ? conn->ds_counts_size * 2 : 64;
		struct ds_count_entry *table = xcalloc(new_size, sizeof *table);
		for (size_t i = 0; i < conn->ds_counts_size; i++) {
			struct ds_count_entry *old = &conn->ds_counts[i];
			if (old->path)
				*ds_count_slot(table, new_size, old->path, old->hash) = *old;
		}
		free(conn->ds_counts);
		conn->ds_counts = table;
		conn->ds_counts_size = new_size;
	}
	uint64_t hash = path_hash(path);
	struct ds_count_entry *e = ds_count_slot(conn->ds_counts, conn->ds_counts_size, path, hash);
	if (!e->path) {
		e->path = xstrdup(path);
		e->hash = hash;
		conn->ds_counts_used++;
	}
	e->n_ds = n_ds;
}

/* INFO lines are "<key> <type> <value>"; each data source has one
 * "ds[<name>].index" key. */
static void count_ds_index(const char *line, void *ctx)
{
	const char *close_bracket;
	if (strncmp(line, "ds[", 3) == 0 && (close_bracket = strchr(line, ']')) != NULL &&
	    strncmp(close_bracket, "].index ", 8) == 0)
		(*(size_t *)ctx)++;
}

int rrdc_ds_count(struct rrdc_conn *conn, const char *path, size_t *n_ds, char *err, size_t errlen)
{
	char reply[RRDC_REPLY_LINE_MAX];
	const char *message;
	long status;
	size_t count = 0;
	const struct ds_count_entry *cached = ds_count_find(conn, path ? path : "");

	if (cached) {
		*n_ds = cached->n_ds;
		return 0;
	}
	if (simple_command(conn, "INFO", path, reply, sizeof reply, &status, &message,
			   count_ds_index, &count, err, errlen) != 0)
		return -1;
	if (status < 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: INFO %s: %s", conn->address, path, message);
		return -1;
	}
	if (count == 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: INFO %s: no data sources in the reply", conn->address, path);
		return -1;
	}
	ds_count_store(conn, path, count);
	*n_ds = count;
	return 0;
}

/* ---- FLUSH, LAST ---- */

int rrdc_flush_file(struct rrdc_conn *conn, const char *path, char *err, size_t errlen)
{
	char reply[RRDC_REPLY_LINE_MAX];
	const char *message;
	long status;

	if (simple_command(conn, "FLUSH", path, reply, sizeof reply, &status, &message,
			   NULL, NULL, err, errlen) != 0)
		return -1;
	if (status < 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: FLUSH %s: %s", conn->address, path, message);
		return -1;
	}
	return 0;
}

int rrdc_last_update(struct rrdc_conn *conn, const char *path, int64_t *last_ts,
		     char *err, size_t errlen)
{
	char reply[RRDC_REPLY_LINE_MAX], *end;
	const char *message;
	long status;

	if (simple_command(conn, "LAST", path, reply, sizeof reply, &status, &message,
			   NULL, NULL, err, errlen) != 0)
		return -1;
	if (status < 0) {
		rrdc_set_err(err, errlen, "rrdcached %s: LAST %s: %s", conn->address, path, message);
		return -1;
	}
	errno = 0;
	long long ts = strtoll(message, &end, 10);
	if (end == message || errno != 0) {
		rrdc_mark_broken(conn, err, errlen, "LAST %s: unexpected reply '%.80s'", path, message);
		return -1;
	}
	*last_ts = ts;
	return 0;
}

const char *rrdc_conn_address(const struct rrdc_conn *conn)
{
	return conn->address;
}

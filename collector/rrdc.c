/*
 * rrdc: rrdcached's text protocol spoken directly over a socket. Requests
 * are single lines; a reply is "<status> <message>" where a negative status
 * is an error and a positive one announces that many more lines. In BATCH
 * mode the daemon stays silent until the closing "." and then answers
 * "<n> errors" followed by "<command number> <message>" per rejected line.
 */
#include "rrdc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#include "rrdfile.h"
#include "xalloc.h"

/* Enough for any reply line: rrdcached formats them into RRD_CMD_MAX. */
#define REPLY_LINE_MAX 4352
#define RECV_BUF_SIZE  16384

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

struct line_origin {
	size_t add_index;
	size_t first_row;
	size_t n_rows;
};

struct rrdc_batch {
	struct rrdc_conn *conn;
	char *text; /* the UPDATE lines, each ending in '\n' */
	size_t text_len, text_cap;
	struct line_origin *lines;
	size_t n_lines, lines_cap;
	char **paths; /* one per rrdc_batch_add call */
	size_t n_adds, adds_cap;
	size_t n_rows;
	struct rrdc_failure *failures;
	char **failure_messages;
	size_t n_failures;
	int committed;
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
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
static void mark_broken(struct rrdc_conn *conn, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(conn->broken_reason, sizeof conn->broken_reason, fmt, ap);
	va_end(ap);
	conn->broken = 1;
	set_err(err, errlen, "rrdcached %s: %s (connection closed; reconnect)", conn->address,
		conn->broken_reason);
	if (conn->fd >= 0) {
		close(conn->fd);
		conn->fd = -1;
	}
}

static int refuse_if_broken(const struct rrdc_conn *conn, char *err, size_t errlen)
{
	if (!conn->broken)
		return 0;
	set_err(err, errlen, "rrdcached %s: connection broken earlier (%s); reconnect",
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
		set_err(err, errlen, "rrdcached %s: bad unix socket path", conn->address);
		return -1;
	}
	memcpy(unix_addr.sun_path, path, len + 1);
	conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn->fd < 0) {
		set_err(err, errlen, "rrdcached %s: socket: %s", conn->address, strerror(errno));
		return -1;
	}
	if (connect_fd(conn->fd, (const struct sockaddr *)&unix_addr, sizeof unix_addr,
		       monotonic_ms() + conn->timeout_ms, conn->timeout_ms) != 0) {
		set_err(err, errlen, "rrdcached %s: connect: %s", conn->address,
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
			set_err(err, errlen, "rrdcached %s: bad address", address);
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
			set_err(err, errlen, "rrdcached %s: bad address", address);
			return -1;
		}
		memcpy(host, address, host_len);
		host[host_len] = '\0';
	}
	if (colon) {
		if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port) {
			set_err(err, errlen, "rrdcached %s: bad port", address);
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
		set_err(err, errlen, "rrdcached %s: %s", address, gai_strerror(rc));
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
		set_err(err, errlen, "rrdcached %s: connect: %s", address, strerror(saved_errno));
		return -1;
	}
	return 0;
}

struct rrdc_conn *rrdc_open(const char *address, int timeout_ms, char *err, size_t errlen)
{
	struct rrdc_conn *conn;
	int rc;

	if (!address || !*address) {
		set_err(err, errlen, "rrdcached: empty address");
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

static int send_all(struct rrdc_conn *conn, const char *data, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a daemon gone away must be an error, not SIGPIPE. */
		ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			mark_broken(conn, err, errlen, "send timed out after %d ms", conn->timeout_ms);
			return -1;
		}
		if (n <= 0) {
			mark_broken(conn, err, errlen, "send: %s", n < 0 ? strerror(errno) : "no progress");
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one reply line without its newline into line. */
static int recv_line(struct rrdc_conn *conn, char *line, size_t cap, char *err, size_t errlen)
{
	for (;;) {
		char *start = conn->recv_buf + conn->recv_start;
		size_t avail = conn->recv_end - conn->recv_start;
		char *newline = memchr(start, '\n', avail);
		if (newline) {
			size_t len = (size_t)(newline - start);
			if (len >= cap) {
				mark_broken(conn, err, errlen, "reply line longer than %zu bytes", cap - 1);
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
			mark_broken(conn, err, errlen, "reply line longer than %zu bytes", sizeof conn->recv_buf);
			return -1;
		}
		ssize_t n = recv(conn->fd, conn->recv_buf + conn->recv_end,
				 sizeof conn->recv_buf - conn->recv_end, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			mark_broken(conn, err, errlen, "no reply within %d ms", conn->timeout_ms);
			return -1;
		}
		if (n <= 0) {
			mark_broken(conn, err, errlen, "%s", n == 0 ? "daemon closed the connection" : strerror(errno));
			return -1;
		}
		conn->recv_end += (size_t)n;
	}
}

/* Reads "<status> <message>"; message points into line. */
static int recv_status(struct rrdc_conn *conn, char *line, size_t cap, long *status,
		       const char **message, char *err, size_t errlen)
{
	char *end;

	if (recv_line(conn, line, cap, err, errlen) != 0)
		return -1;
	errno = 0;
	*status = strtol(line, &end, 10);
	if (end == line || errno != 0 || (*end != ' ' && *end != '\0')) {
		mark_broken(conn, err, errlen, "unexpected reply '%.80s'", line);
		return -1;
	}
	*message = *end == ' ' ? end + 1 : end;
	return 0;
}

/* Appends path to buf with rrdcached's escapes (backslash before space and
 * backslash). Returns the new length, or -1 if it cannot be sent or the
 * result would not fit in cap. */
static long append_escaped_path(char *buf, size_t len, size_t cap, const char *path)
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
	long len = append_escaped_path(request, (size_t)prefix, sizeof request - 1, path);

	if (refuse_if_broken(conn, err, errlen) != 0)
		return -1;
	if (len < 0) {
		set_err(err, errlen, "rrdcached %s: %s: path cannot be sent (empty, control characters or too long)",
			conn->address, verb);
		return -1;
	}
	request[len++] = '\n';
	if (send_all(conn, request, (size_t)len, err, errlen) != 0)
		return -1;
	if (recv_status(conn, reply, reply_cap, status, message, err, errlen) != 0)
		return -1;
	if (*status > 0) {
		/* The extra lines go into a separate buffer: message still
		 * points into reply. */
		char *extra = xmalloc(REPLY_LINE_MAX);
		for (long i = 0; i < *status; i++) {
			if (recv_line(conn, extra, REPLY_LINE_MAX, err, errlen) != 0) {
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
	char reply[REPLY_LINE_MAX];
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
		set_err(err, errlen, "rrdcached %s: INFO %s: %s", conn->address, path, message);
		return -1;
	}
	if (count == 0) {
		set_err(err, errlen, "rrdcached %s: INFO %s: no data sources in the reply", conn->address, path);
		return -1;
	}
	ds_count_store(conn, path, count);
	*n_ds = count;
	return 0;
}

/* ---- FLUSH, LAST ---- */

int rrdc_flush_file(struct rrdc_conn *conn, const char *path, char *err, size_t errlen)
{
	char reply[REPLY_LINE_MAX];
	const char *message;
	long status;

	if (simple_command(conn, "FLUSH", path, reply, sizeof reply, &status, &message,
			   NULL, NULL, err, errlen) != 0)
		return -1;
	if (status < 0) {
		set_err(err, errlen, "rrdcached %s: FLUSH %s: %s", conn->address, path, message);
		return -1;
	}
	return 0;
}

int rrdc_last_update(struct rrdc_conn *conn, const char *path, int64_t *last_ts,
		     char *err, size_t errlen)
{
	char reply[REPLY_LINE_MAX], *end;
	const char *message;
	long status;

	if (simple_command(conn, "LAST", path, reply, sizeof reply, &status, &message,
			   NULL, NULL, err, errlen) != 0)
		return -1;
	if (status < 0) {
		set_err(err, errlen, "rrdcached %s: LAST %s: %s", conn->address, path, message);
		return -1;
	}
	errno = 0;
	long long ts = strtoll(message, &end, 10);
	if (end == message || errno != 0) {
		mark_broken(conn, err, errlen, "LAST %s: unexpected reply '%.80s'", path, message);
		return -1;
	}
	*last_ts = ts;
	return 0;
}

/* ---- BATCH ---- */

struct rrdc_batch *rrdc_batch_begin(struct rrdc_conn *conn)
{
	struct rrdc_batch *batch = xcalloc(1, sizeof *batch);
	batch->conn = conn;
	return batch;
}

static void batch_reserve_text(struct rrdc_batch *batch, size_t more)
{
	if (batch->text_len + more <= batch->text_cap)
		return;
	size_t cap = batch->text_cap ? batch->text_cap : 65536;
	while (cap < batch->text_len + more)
		cap *= 2;
	batch->text = xreallocarray(batch->text, cap, 1);
	batch->text_cap = cap;
}

static void batch_push_line(struct rrdc_batch *batch, size_t add_index, size_t first_row)
{
	if (batch->n_lines == batch->lines_cap) {
		batch->lines_cap = batch->lines_cap ? batch->lines_cap * 2 : 64;
		batch->lines = xreallocarray(batch->lines, batch->lines_cap, sizeof *batch->lines);
	}
	batch->lines[batch->n_lines++] = (struct line_origin){ add_index, first_row, 0 };
}

int rrdc_batch_add(struct rrdc_batch *batch, const char *path, size_t n_ds,
		   const int64_t *ts, const double *values, size_t n_rows,
		   char *err, size_t errlen)
{
	struct rrdc_conn *conn = batch->conn;
	char prefix[RRDC_LINE_MAX + 1];
	size_t file_ds;

	if (batch->committed) {
		set_err(err, errlen, "rrdc_batch_add: batch already committed");
		return -1;
	}
	if (n_rows == 0)
		return 0;
	int prefix_len = snprintf(prefix, sizeof prefix, "UPDATE ");
	long escaped = append_escaped_path(prefix, (size_t)prefix_len, sizeof prefix, path);
	if (escaped < 0) {
		set_err(err, errlen, "rrdcached: path cannot be sent (empty, control characters or too long)");
		return -1;
	}
	size_t prefix_size = (size_t)escaped;
	if (n_ds == 0) {
		set_err(err, errlen, "%s: no data sources", path);
		return -1;
	}
	for (size_t i = 1; i < n_rows; i++) {
		if (ts[i] <= ts[i - 1]) {
			set_err(err, errlen, "%s: row %zu time %" PRId64 " not after row %zu's %" PRId64,
				path, i, ts[i], i - 1, ts[i - 1]);
			return -1;
		}
	}
	if (rrdc_ds_count(conn, path, &file_ds, err, errlen) != 0)
		return -1;
	if (file_ds != n_ds) {
		set_err(err, errlen, "%s: file has %zu data sources, rows have %zu; not sent",
			path, file_ds, n_ds);
		return -1;
	}

	/* Rows are appended as they are formatted; a row too wide for any
	 * line (a very long path with very many sources) undoes this call. */
	size_t row_max = RRDFILE_ROW_MAX(n_ds);
	char *row = xmalloc(row_max);
	size_t add_index = batch->n_adds;
	size_t text_len_before = batch->text_len, lines_before = batch->n_lines;
	size_t line_len = 0; /* bytes of the open line, 0: none open */

	for (size_t i = 0; i < n_rows; i++) {
		int row_len = rrdfile_format_row(row, row_max, ts[i], values + i * n_ds, n_ds);
		if (row_len < 0 || prefix_size + 1 + (size_t)row_len + 1 > RRDC_LINE_MAX) {
			set_err(err, errlen, "%s: row %zu does not fit in a %d-byte command",
				path, i, RRDC_LINE_MAX);
			free(row);
			batch->text_len = text_len_before;
			batch->n_lines = lines_before;
			return -1;
		}
		batch_reserve_text(batch, 1 + prefix_size + 1 + (size_t)row_len + 1);
		if (line_len && line_len + 1 + (size_t)row_len + 1 > RRDC_LINE_MAX) {
			batch->text[batch->text_len++] = '\n';
			line_len = 0;
		}
		if (!line_len) {
			memcpy(batch->text + batch->text_len, prefix, prefix_size);
			batch->text_len += prefix_size;
			line_len = prefix_size;
			batch_push_line(batch, add_index, i);
		}
		batch->text[batch->text_len++] = ' ';
		memcpy(batch->text + batch->text_len, row, (size_t)row_len);
		batch->text_len += (size_t)row_len;
		line_len += 1 + (size_t)row_len;
		batch->lines[batch->n_lines - 1].n_rows++;
	}
	free(row);
	batch_reserve_text(batch, 1);
	batch->text[batch->text_len++] = '\n';

	if (batch->n_adds == batch->adds_cap) {
		batch->adds_cap = batch->adds_cap ? batch->adds_cap * 2 : 16;
		batch->paths = xreallocarray(batch->paths, batch->adds_cap, sizeof *batch->paths);
	}
	batch->paths[batch->n_adds++] = xstrdup(path);
	batch->n_rows += n_rows;
	return 0;
}

static void batch_record_failure(struct rrdc_batch *batch, long command_number, const char *message)
{
	struct rrdc_failure *f = &batch->failures[batch->n_failures];
	char *copy = xstrdup(message);

	batch->failure_messages[batch->n_failures] = copy;
	f->message = copy;
	/* Command numbers count from 1 for the first line after BATCH. */
	if (command_number >= 1 && (size_t)command_number <= batch->n_lines) {
		const struct line_origin *origin = &batch->lines[command_number - 1];
		f->add_index = origin->add_index;
		f->path = batch->paths[origin->add_index];
		f->first_row = origin->first_row;
		f->n_rows = origin->n_rows;
	} else {
		f->add_index = SIZE_MAX;
		f->path = "";
		f->first_row = f->n_rows = 0;
	}
	batch->n_failures++;
}

int rrdc_batch_commit(struct rrdc_batch *batch, char *err, size_t errlen)
{
	struct rrdc_conn *conn = batch->conn;
	char reply[REPLY_LINE_MAX];
	const char *message;
	long status;

	if (batch->committed) {
		set_err(err, errlen, "rrdc_batch_commit: batch already committed");
		return -1;
	}
	batch->committed = 1;
	if (batch->n_lines == 0)
		return 0;
	if (refuse_if_broken(conn, err, errlen) != 0)
		return -1;

	if (send_all(conn, "BATCH\n", 6, err, errlen) != 0 ||
	    recv_status(conn, reply, sizeof reply, &status, &message, err, errlen) != 0)
		return -1;
	if (status != 0) {
		mark_broken(conn, err, errlen, "BATCH refused: %s", message);
		return -1;
	}
	batch_reserve_text(batch, 2);
	memcpy(batch->text + batch->text_len, ".\n", 2);
	if (send_all(conn, batch->text, batch->text_len + 2, err, errlen) != 0)
		return -1;
	if (recv_status(conn, reply, sizeof reply, &status, &message, err, errlen) != 0)
		return -1;
	if (status < 0) {
		mark_broken(conn, err, errlen, "BATCH failed: %s", message);
		return -1;
	}
	if ((size_t)status > batch->n_lines) {
		mark_broken(conn, err, errlen, "BATCH reported %ld errors for %zu lines", status, batch->n_lines);
		return -1;
	}
	batch->failures = xcalloc((size_t)status + 1, sizeof *batch->failures);
	batch->failure_messages = xcalloc((size_t)status + 1, sizeof *batch->failure_messages);
	for (long i = 0; i < status; i++) {
		char *end;
		if (recv_line(conn, reply, sizeof reply, err, errlen) != 0)
			return -1;
		long command_number = strtol(reply, &end, 10);
		batch_record_failure(batch, end == reply ? -1 : command_number,
				     *end == ' ' ? end + 1 : end);
	}
	if (status > 0) {
		const struct rrdc_failure *first = &batch->failures[0];
		set_err(err, errlen, "rrdcached %s: %ld of %zu UPDATE lines rejected, first: %s rows %zu..%zu: %s",
			conn->address, status, batch->n_lines, first->path, first->first_row,
			first->first_row + first->n_rows - 1, first->message);
	}
	return (int)status;
}

size_t rrdc_batch_failures(const struct rrdc_batch *batch, const struct rrdc_failure **failures)
{
	if (failures)
		*failures = batch->failures;
	return batch->n_failures;
}

size_t rrdc_batch_rows(const struct rrdc_batch *batch)
{
	return batch->n_rows;
}

size_t rrdc_batch_lines(const struct rrdc_batch *batch)
{
	return batch->n_lines;
}

void rrdc_batch_free(struct rrdc_batch *batch)
{
	if (!batch)
		return;
	for (size_t i = 0; i < batch->n_adds; i++)
		free(batch->paths[i]);
	for (size_t i = 0; i < batch->n_failures; i++)
		free(batch->failure_messages[i]);
	free(batch->paths);
	free(batch->failure_messages);
	free(batch->failures);
	free(batch->lines);
	free(batch->text);
	free(batch);
}

int rrdc_batch_update(struct rrdc_conn *conn, const char *path, size_t n_ds,
		      const int64_t *ts, const double *values, size_t n_rows,
		      char *err, size_t errlen)
{
	struct rrdc_batch *batch = rrdc_batch_begin(conn);
	int rc = rrdc_batch_add(batch, path, n_ds, ts, values, n_rows, err, errlen);

	if (rc == 0)
		rc = rrdc_batch_commit(batch, err, errlen) == 0 ? 0 : -1;
	rrdc_batch_free(batch);
	return rc;
}

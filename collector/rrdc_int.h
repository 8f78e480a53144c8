/*
 * rrdc_int: what rrdc.c (the connection and its wire I/O) lends to
 * rrdc_batch.c, so that the batch code never touches the socket or the
 * connection's fields itself: error text, the broken-connection rule,
 * sending, reading reply lines and escaping paths. Not for use outside the
 * rrdc module.
 */
#ifndef RRDC_INT_H
#define RRDC_INT_H

#include "rrdc.h"

#include <stddef.h>

/* Enough for any reply line: rrdcached formats them into RRD_CMD_MAX. */
#define RRDC_REPLY_LINE_MAX 4352

/* snprintf into err, when err is given. */
__attribute__((format(printf, 3, 4)))
void rrdc_set_err(char *err, size_t errlen, const char *fmt, ...);
/* The stream is in an unknown state: remember why, close it, fail every
 * later call. Writes the reason to err. */
__attribute__((format(printf, 4, 5)))
void rrdc_mark_broken(struct rrdc_conn *conn, char *err, size_t errlen, const char *fmt, ...);
/* -1 with err when the connection broke earlier, else 0. */
int rrdc_refuse_if_broken(const struct rrdc_conn *conn, char *err, size_t errlen);
/* The address the connection was opened with, for messages. */
const char *rrdc_conn_address(const struct rrdc_conn *conn);

/* These return 0, or -1 with err after marking the connection broken. */
int rrdc_send_all(struct rrdc_conn *conn, const char *data, size_t len, char *err, size_t errlen);
int rrdc_recv_line(struct rrdc_conn *conn, char *line, size_t cap, char *err, size_t errlen);
int rrdc_recv_status(struct rrdc_conn *conn, char *line, size_t cap, long *status,
		     const char **message, char *err, size_t errlen);

/* Appends path to buf[len..cap) with rrdcached's escapes; returns the new
 * length, or -1 if the path cannot be sent or does not fit. */
long rrdc_append_escaped_path(char *buf, size_t len, size_t cap, const char *path);

#endif

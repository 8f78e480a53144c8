/*
 * httppipe: tells whether lws 4.1.6 is parsing an HTTP/1.1 request out of
 * bytes it read together with the previous request (pipelining), from the
 * kernel's byte counts of the connection, since lws exposes no such state.
 * server.c refuses pipelined requests that carry a body: lws 4.1.6 feeds
 * them their own headers as body and then spins (docs/ARCHITECTURE.md).
 */
#ifndef HTTPPIPE_H
#define HTTPPIPE_H

#include <libwebsockets.h>

/* From LWS_CALLBACK_HTTP: 1 if lws read nothing from the socket since the
 * previous request's last byte, i.e. this request came from lws's own buffer
 * of pipelined bytes (0 for a connection's first request). Marks how far lws
 * has read, which is this request's last byte unless it has a body. */
int httppipe_request(struct lws *wsi);

/* From BODY_COMPLETION: moves the mark to the end of the body. The mark lives
 * in the connection's opaque user data (per-session data does not outlive a
 * keep-alive transaction), which server connections use for nothing else. */
void httppipe_mark(struct lws *wsi);

#endif

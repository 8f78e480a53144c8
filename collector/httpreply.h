/*
 * httpreply: sending one buffered HTTP reply (status, type, extra headers,
 * body) across WRITEABLE callbacks, one lws_write per callback as lws
 * requires: headers first, then the body in bounded chunks, then the end of
 * the transaction. Used by the ingest handlers and every dashboard route.
 */
#ifndef HTTPREPLY_H
#define HTTPREPLY_H

#include <libwebsockets.h>
#include <stddef.h>

struct http_reply {
	int status;              /* 0 = nothing to send yet */
	const char *content_type;
	char *body;              /* owned */
	size_t len, sent;
	int headers_sent;
	int close_after;          /* the request's body was not read to its end: hang up after */
	char extra[512];         /* "Name: value\r\n" lines, e.g. Cache-Control */
};

/* Set the reply (takes ownership of body) and ask for WRITEABLE. */
void http_reply_set(struct http_reply *r, struct lws *wsi, int status,
		    const char *content_type, char *body, size_t len);
/* Same with a JSON error body {"error":..,"reason":..}. */
void http_reply_error(struct http_reply *r, struct lws *wsi, int status,
		      const char *error, const char *reason);
void http_reply_add_header(struct http_reply *r, const char *name, const char *value);
/* Call from LWS_CALLBACK_HTTP_WRITEABLE; returns what the callback returns. */
int http_reply_writeable(struct http_reply *r, struct lws *wsi);
void http_reply_reset(struct http_reply *r);
/* Reply now and close the connection after it (a refused request body is not read). */
void http_reply_close_after(struct http_reply *r);

#endif

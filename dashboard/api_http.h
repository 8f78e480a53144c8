/*
 * api_http: the JSON API's HTTP side on the service thread: find the route,
 * check the caller (credential, role, CSRF for changes), collect a small
 * POST body, queue the job for a reader thread, and send its reply, with a
 * session cookie when login or logout set one.
 */
#ifndef API_HTTP_H
#define API_HTTP_H

#include "apiq.h"
#include "httpreply.h"
#include "ticket.h"

#include <libwebsockets.h>

#define API_MAX_BODY (64 * 1024)
/* A refused POST's body up to this size is read and dropped before the reply,
 * as ingest does: the client sees the reply and the connection stays usable. */
#define API_DISCARD_MAX (16 * 1024 * 1024)

struct api_http {
	struct lws *wsi;
	struct ticket wait;        /* while a reader thread has its job */
	struct api_job *job;       /* while its POST body is arriving */
	const struct api_route_def *route;
	int refused;
	int post, body_done;
	long long expect;          /* POST: Content-Length, -1 if none */
	int deferred_status;       /* a refusal answered once the body has been read */
	const char *deferred_error, *deferred_reason;
};

/* 1 handled (reply set or job queued), 0 not an API path. */
int api_http_begin(struct api_http *req, struct http_reply *reply, struct lws *wsi, const char *path, int post);
void api_http_body(struct api_http *req, struct http_reply *reply, const void *in, size_t len);
void api_http_complete(struct api_http *req, struct http_reply *reply);
void api_http_collect(struct http_reply *(*reply_of)(struct api_http *req));
void api_http_closed(struct api_http *req);

#endif

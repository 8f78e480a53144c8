/*
 * ingest_http: the ingest API's HTTP handlers on the lws service thread. They
 * only collect the body (capped) and the bearer token, queue a job for the
 * ingest worker, and later send the worker's reply: no parsing, no disk.
 */
#ifndef INGEST_HTTP_H
#define INGEST_HTTP_H

#include "httpreply.h"
#include "ingest.h"
#include "ticket.h"

#include <libwebsockets.h>
#include <stdint.h>

struct ingest_http {
	struct lws *wsi;
	struct ticket wait;               /* while the worker has its job */
	enum ingest_kind kind;
	char token[128];
	char *body;
	size_t len, cap;
	int refused;                      /* a reply was already decided (413, 401...) */
	int has_person;
	struct ingest_source person;
	int body_done;                    /* the whole body was received */
	long long expect;                 /* Content-Length, -1 when none */
	int deferred_status;              /* a refusal sent once the body is read */
	const char *deferred_error, *deferred_reason;
};

/* On LWS_CALLBACK_HTTP for a POST under /api/v1/ingest/. 0 ok, -1 hang up.
 * `person`: the caller's operator session (CSRF already checked), used when
 * no bearer token is sent; NULL when there is none. */
int ingest_http_begin(struct ingest_http *req, struct http_reply *reply, struct lws *wsi, const char *path,
		      const struct ingest_source *person);
void ingest_http_body(struct ingest_http *req, struct http_reply *reply, const void *in, size_t len);
void ingest_http_complete(struct ingest_http *req, struct http_reply *reply);
/* On LWS_CALLBACK_EVENT_WAIT_CANCELLED: hand finished jobs to their requests.
 * `reply_of` maps a waiting request back to its connection's reply slot. */
void ingest_http_collect(struct http_reply *(*reply_of)(struct ingest_http *req));
/* The connection closed: forget the request (its job still commits). */
void ingest_http_closed(struct ingest_http *req);

#endif

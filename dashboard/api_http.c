/*
 * api_http: request bookkeeping for the JSON API, the twin of ingest_http
 * for reads and small administrative writes. Credentials are checked here,
 * from the in-memory cache, before any work is queued: a request without
 * the right role or outside the CSRF rule never reaches a reader thread.
 * A POST refused before its body is read is answered after reading (and
 * dropping) the body, up to API_DISCARD_MAX, so the reply reaches the client
 * and keep-alive survives; beyond that, or without a length, it closes.
 */
#include "api_http.h"

#include "access.h"
#include "api_cache.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct ticket_list waiting; /* service thread only */

static void refuse(struct api_http *req, struct http_reply *reply, int status, const char *error, const char *reason)
{
	req->refused = 1;
	apiq_job_free(req->job);
	req->job = NULL;
	if (req->post && !req->body_done && req->expect >= 0 && req->expect <= API_DISCARD_MAX) {
		req->deferred_status = status; /* answered in api_http_complete */
		req->deferred_error = error;
		req->deferred_reason = reason;
		return;
	}
	if (req->post && !req->body_done)
		http_reply_close_after(reply); /* unread bytes would be parsed as the next request */
	http_reply_error(reply, req->wsi, status, error, reason);
}

/* The job's reply to its request; the job is freed. */
static void answer(struct api_http *req, struct http_reply *reply, struct api_job *job)
{
	http_reply_add_header(reply, "Cache-Control", "no-store");
	if (job->set_cookie[0])
		http_reply_add_header(reply, "Set-Cookie", job->set_cookie);
	http_reply_set(reply, req->wsi, job->status, job->content_type, job->reply, job->len);
	job->reply = NULL;
	apiq_job_free(job);
}

static void submit(struct api_http *req, struct http_reply *reply, const struct api_route_def *route)
{
	struct api_job *job = req->job;
	req->job = NULL;
	if (route->cached && !job->revalidate && route->cached(job)) {
		answer(req, reply, job);
		return;
	}
	if (apiq_submit(job) < 0) {
		apiq_job_free(job);
		http_reply_add_header(reply, "Retry-After", "1");
		refuse(req, reply, 503, "busy", "too many requests waiting; retry shortly");
		return;
	}
	ticket_wait(&waiting, &req->wait, job->id);
}

int api_http_begin(struct api_http *req, struct http_reply *reply, struct lws *wsi, const char *path, int post)
{
	memset(req, 0, sizeof *req);
	req->wsi = wsi;
	req->post = post;
	if (strncmp(path, "/api/", 5) != 0)
		return 0;
	char clen[32] = "";
	req->expect = lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 ? strtoll(clen, NULL, 10) : -1;
	if (post && req->expect < 0) {
		/* lws 4.1.6 never completes a body sent without a length (chunked) */
		refuse(req, reply, 411, "length required", "send the body with a Content-Length header");
		return 1;
	}
	const struct api_route_def *route = api_route_find(post, path);
	if (!route) {
		refuse(req, reply, api_route_find(!post, path) ? 405 : 404,
		       api_route_find(!post, path) ? "method not allowed" : "not found", "no such endpoint for this method");
		return 1;
	}
	struct auth_principal who;
	memset(&who, 0, sizeof who);
	int known = access_principal(wsi, &who) == 0;
	if (route->need != AUTH_NONE) {
		if (!known) {
			refuse(req, reply, 401, "unauthorized", "log in, or open the page with its display token");
			return 1;
		}
		if (!auth_allows(&who, route->need)) {
			refuse(req, reply, 403, "forbidden", "your role does not allow this");
			return 1;
		}
		if (post && !access_csrf_ok(wsi, &who)) {
			refuse(req, reply, 403, "forbidden", "missing or wrong X-CSRF-Token");
			return 1;
		}
	}
	struct api_job *job = xcalloc(1, sizeof *job);
	job->handler = route->handler;
	job->id = ticket_new_id(&waiting);
	job->now = (int64_t)time(NULL);
	job->post = post;
	job->who = who;
	snprintf(job->scope, sizeof job->scope, "%s", known ? who.scope : "");
	if (post) { /* what changes state records who asked and from where (two getpeername calls) */
		job->https = access_is_https(wsi);
		access_peer(wsi, job->peer, sizeof job->peer);
	}
	snprintf(job->path, sizeof job->path, "%s", path);
	char cache_control[64];
	job->revalidate = lws_hdr_copy(wsi, cache_control, sizeof cache_control, WSI_TOKEN_HTTP_CACHE_CONTROL) > 0 &&
			  strstr(cache_control, "no-cache");
	for (int i = 0; job->n_args < APIQ_MAX_ARGS; i++) {
		int n = lws_hdr_copy_fragment(wsi, job->args[job->n_args], sizeof job->args[0], WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0)
			break;
		if (n > 0)
			job->n_args++;
	}
	req->job = job;
	req->route = route;
	if (!post)
		submit(req, reply, route);
	else if (req->expect > API_MAX_BODY)
		refuse(req, reply, 413, "payload too large", "API requests are limited to 64 KiB");
	return 1;
}

void api_http_body(struct api_http *req, struct http_reply *reply, const void *in, size_t len)
{
	struct api_job *job = req->job;
	if (req->refused || !job)
		return;
	if (job->body_len + len > API_MAX_BODY) {
		refuse(req, reply, 413, "payload too large", "API requests are limited to 64 KiB");
		return;
	}
	job->body = xreallocarray(job->body, job->body_len + len + 1, 1);
	memcpy(job->body + job->body_len, in, len);
	job->body_len += len;
	job->body[job->body_len] = '\0';
}

void api_http_complete(struct api_http *req, struct http_reply *reply)
{
	if (req->body_done)
		return; /* reported again by lws for pipelined requests */
	req->body_done = 1;
	if (req->deferred_status)
		http_reply_error(reply, req->wsi, req->deferred_status, req->deferred_error, req->deferred_reason);
	else if (!req->refused && req->job)
		submit(req, reply, req->route);
}

void api_http_collect(struct http_reply *(*reply_of)(struct api_http *req))
{
	for (struct api_job *job = apiq_take_done(), *next; job; job = next) {
		next = job->next;
		if (job->cache.key[0] && job->status == 200 && job->reply)
			api_cache_put(job->cache.key, job->cache.generation, (int64_t)time(NULL), job->cache.expires,
				      job->reply, job->len, job->cache.hole_at, job->cache.hole_end);
		struct ticket *t = ticket_claim(&waiting, job->id);
		if (t) {
			struct api_http *req = lws_container_of(t, struct api_http, wait);
			answer(req, reply_of(req), job);
		} else {
			apiq_job_free(job);
		}
	}
}

void api_http_closed(struct api_http *req)
{
	ticket_cancel(&waiting, &req->wait);
	apiq_job_free(req->job);
	req->job = NULL;
}

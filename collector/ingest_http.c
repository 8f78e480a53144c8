/*
 * ingest_http: request bookkeeping between the service thread and the ingest
 * worker. Each queued request gets a ticket; finished jobs are matched to
 * tickets of requests still connected. A request whose client went away is
 * simply dropped when its job comes back: the data is committed, and the
 * client's retry with the same batch_id is answered from the stored verdict.
 */
#include "ingest_http.h"

#include "conf.h"
#include "ingestq.h"
#include "log.h"
#include "stats.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct ticket_list waiting; /* service thread only */

/* A body up to this size is read and thrown away before a refusal is sent:
 * closing with unread bytes makes the kernel reset the connection, and the
 * client would see a broken pipe instead of the reason. */
#define DISCARD_MAX (16 * 1024 * 1024)

static void refuse(struct ingest_http *req, struct http_reply *reply, int status,
		   const char *error, const char *reason)
{
	req->refused = 1;
	if (!req->body_done && req->expect >= 0 && req->expect <= DISCARD_MAX) {
		req->deferred_status = status; /* answered at BODY_COMPLETION */
		req->deferred_error = error;
		req->deferred_reason = reason;
		free(req->body);
		req->body = NULL;
		req->len = req->cap = 0;
		return;
	}
	if (!req->body_done)
		http_reply_close_after(reply);
	free(req->body);
	req->body = NULL;
	req->len = req->cap = 0;
	http_reply_error(reply, req->wsi, status, error, reason);
}

/* The body's buffer could not be had (it is sized by the request): 503, not a crash. */
static void refuse_oom(struct ingest_http *req, struct http_reply *reply)
{
	stats_add(&stats.ingest_unavailable[STATS_UNAV_MEMORY], 1);
	http_reply_add_header(reply, "Retry-After", "5");
	refuse(req, reply, 503, "out of memory",
	       "the server could not allocate memory for this request; nothing was stored, retry with the same batch_id");
}

int ingest_http_begin(struct ingest_http *req, struct http_reply *reply, struct lws *wsi, const char *path,
		      const struct ingest_source *person)
{
	memset(req, 0, sizeof *req);
	req->wsi = wsi;
	char clen[32] = "";
	req->expect = lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 ? strtoll(clen, NULL, 10) : -1;
	if (ingest_kind_from_path(path, &req->kind) < 0) {
		refuse(req, reply, 404, "not found", "no such ingest endpoint");
		return 0;
	}
	char auth[160] = "";
	int has_bearer = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0;
	if (!has_bearer && person) {
		req->has_person = 1;
		req->person = *person;
	} else if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) >= (int)sizeof auth ||
		   lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
		   strncasecmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) >= sizeof req->token) {
		refuse(req, reply, 401, "unauthorized", "send the ingest token as 'Authorization: Bearer <token>' (operators in the dashboard: their session with X-CSRF-Token)");
		return 0;
	} else {
		memcpy(req->token, auth + 7, strlen(auth + 7) + 1);
	}
	if (req->expect >= 0) {
		long long n = req->expect;
		if (n < 0 || n > conf.max_body_bytes) {
			refuse(req, reply, 413, "payload too large", "the body exceeds max_body_bytes; split the batch");
			return 0;
		}
		req->cap = (size_t)n + 1;
		req->body = xtrymalloc(req->cap);
		if (!req->body) {
			req->cap = 0;
			refuse_oom(req, reply);
			return 0;
		}
	} else {
		/* lws 4.1.6 neither de-chunks a request body nor ever completes one
		 * sent without a length: refuse at once instead of leaving the client
		 * waiting for a reply that never comes (refuse() closes the
		 * connection: the body's framing is unknown). */
		refuse(req, reply, 411, "length required", "send the body with a Content-Length header");
		return 0;
	}
	return 0;
}

void ingest_http_body(struct ingest_http *req, struct http_reply *reply, const void *in, size_t len)
{
	if (req->refused || len == 0)
		return; /* keep reading and discarding until the body ends; lws may pass (NULL, 0) */
	if (req->len + len > (size_t)conf.max_body_bytes) {
		refuse(req, reply, 413, "payload too large", "the body exceeds max_body_bytes; split the batch");
		return;
	}
	if (req->len + len + 1 > req->cap) {
		req->cap = (req->len + len + 1) * 2;
		if (req->cap > (size_t)conf.max_body_bytes + 1)
			req->cap = (size_t)conf.max_body_bytes + 1;
		char *grown = xtryreallocarray(req->body, req->cap, 1);
		if (!grown) {
			refuse_oom(req, reply);
			return;
		}
		req->body = grown;
	}
	memcpy(req->body + req->len, in, len);
	req->len += len;
}

void ingest_http_complete(struct ingest_http *req, struct http_reply *reply)
{
	if (req->body_done)
		return; /* lws 4.1.6 can report the completion again (pipelined requests): once is enough */
	req->body_done = 1;
	if (req->deferred_status) {
		http_reply_error(reply, req->wsi, req->deferred_status, req->deferred_error, req->deferred_reason);
		req->deferred_status = 0;
		return;
	}
	if (req->refused)
		return;
	if (req->len == 0) {
		refuse(req, reply, 400, "invalid request", "the body is empty");
		return;
	}
	struct ingest_job *job = xcalloc(1, sizeof *job);
	job->id = ticket_new_id(&waiting);
	job->kind = req->kind;
	memcpy(job->token, req->token, sizeof job->token);
	job->has_person = req->has_person;
	job->person = req->person;
	job->body = req->body;
	job->len = req->len;
	req->body = NULL;
	req->len = req->cap = 0;
	if (ingestq_submit(job) < 0) {
		ingestq_job_free(job);
		stats_add(&stats.ingest_unavailable[STATS_UNAV_QUEUE], 1);
		http_reply_add_header(reply, "Retry-After", "1");
		refuse(req, reply, 503, "busy", "the ingest queue is full; retry shortly");
		return;
	}
	ticket_wait(&waiting, &req->wait, job->id);
}

void ingest_http_collect(struct http_reply *(*reply_of)(struct ingest_http *req))
{
	struct ingest_job *job = ingestq_take_done();
	while (job) {
		struct ingest_job *next = job->next;
		struct ticket *t = ticket_claim(&waiting, job->id);
		if (t) {
			struct ingest_http *req = lws_container_of(t, struct ingest_http, wait);
			if (job->status == 503) /* storage refused: nothing stored, the same batch_id may come again */
				http_reply_add_header(reply_of(req), "Retry-After", "5");
			http_reply_set(reply_of(req), req->wsi, job->status, "application/json",
				       job->reply, job->reply_len);
			job->reply = NULL;
		}
		ingestq_job_free(job);
		job = next;
	}
}

void ingest_http_closed(struct ingest_http *req)
{
	ticket_cancel(&waiting, &req->wait);
	free(req->body);
	req->body = NULL;
}

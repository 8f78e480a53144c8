/*
 * httpreply: the reply state machine. Replies carry Content-Length so
 * keep-alive works, and X-Content-Type-Options/nosniff on everything. The
 * body goes out in 16 KiB pieces so a slow client never makes lws buffer a
 * whole large reply at once.
 */
#include "httpreply.h"

#include "xalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK       (16 * 1024)
#define HEADERS_MAX 1024

void http_reply_reset(struct http_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

void http_reply_close_after(struct http_reply *r)
{
	r->close_after = 1;
}

void http_reply_set(struct http_reply *r, struct lws *wsi, int status,
		    const char *content_type, char *body, size_t len)
{
	free(r->body);
	r->status = status;
	if (r->close_after) /* set before the reply is: keep it, and say so to the client */
		http_reply_add_header(r, "Connection", "close");
	r->content_type = content_type;
	r->body = body;
	r->len = len;
	r->sent = 0;
	r->headers_sent = 0;
	lws_callback_on_writable(wsi);
}

void http_reply_error(struct http_reply *r, struct lws *wsi, int status,
		      const char *error, const char *reason)
{
	json_t *o = json_pack("{s:s, s:s}", "error", error, "reason", reason);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	http_reply_set(r, wsi, status, "application/json", text, strlen(text));
}

void http_reply_add_header(struct http_reply *r, const char *name, const char *value)
{
	size_t used = strlen(r->extra);
	lws_snprintf(r->extra + used, sizeof r->extra - used, "%s: %s\r\n", name, value);
}

/* Adds "Name: value" lines from r->extra. */
static int add_extra_headers(struct http_reply *r, struct lws *wsi, unsigned char **p, unsigned char *end)
{
	char *line = r->extra;
	while (*line) {
		char *eol = strstr(line, "\r\n"), *colon = strchr(line, ':');
		if (!eol || !colon || colon > eol)
			break;
		char name[64];
		lws_snprintf(name, sizeof name, "%.*s:", (int)(colon - line), line);
		const char *value = colon + 2;
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
						(const unsigned char *)value, (int)(eol - value), p, end))
			return -1;
		line = eol + 2;
	}
	return 0;
}

int http_reply_writeable(struct http_reply *r, struct lws *wsi)
{
	if (!r->status)
		return 0;
	if (!r->headers_sent) {
		/* HTTP/1: headers and a body up to CHUNK in one lws_write, saving a
		 * WRITEABLE round of the event loop; h2 (a stream under a network
		 * connection) frames headers and data apart. */
		int with_body = r->len && r->len <= CHUNK && lws_get_network_wsi(wsi) == wsi;
		size_t cap = LWS_PRE + HEADERS_MAX + (with_body ? r->len : 0);
		unsigned char *buf = xmalloc(cap), *start = buf + LWS_PRE, *p = start, *end = buf + LWS_PRE + HEADERS_MAX - 1;
		int bad = lws_add_http_common_headers(wsi, (unsigned int)r->status, r->content_type,
						      (lws_filepos_t)r->len, &p, end) ||
			  lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
						      (const unsigned char *)"nosniff", 7, &p, end) ||
			  add_extra_headers(r, wsi, &p, end) < 0;
		if (!bad && with_body) {
			bad = lws_finalize_http_header(wsi, &p, end);
			if (!bad) {
				memcpy(p, r->body, r->len);
				int n = (int)(p - start) + (int)r->len;
				bad = lws_write(wsi, start, (size_t)n, LWS_WRITE_HTTP_FINAL) < n;
			}
		} else if (!bad) {
			bad = lws_finalize_write_http_header(wsi, start, &p, end);
		}
		free(buf);
		if (bad)
			return -1;
		r->headers_sent = 1;
		if (r->len && !with_body) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	} else {
		size_t n = r->len - r->sent < CHUNK ? r->len - r->sent : CHUNK;
		unsigned char *out = xmalloc(LWS_PRE + n);
		memcpy(out + LWS_PRE, r->body + r->sent, n);
		int final = r->sent + n == r->len;
		int wrote = lws_write(wsi, out + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		free(out);
		if (wrote < (int)n)
			return -1;
		r->sent += n;
		if (!final) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	int close = r->close_after;
	http_reply_reset(r);
	/* Unread body bytes would be parsed as the next request: close instead of keep-alive. */
	if (close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

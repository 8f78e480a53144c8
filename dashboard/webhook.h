/*
 * webhook: delivering alert notifications by HTTP POST (generic JSON, the
 * DingTalk and WeCom robot formats) from the lws event loop as a client:
 * any thread queues a delivery, the service thread sends it, retrying with
 * back-off while the receiver is down. The queue is bounded; nothing here
 * ever blocks the loop.
 */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <libwebsockets.h>
#include <stddef.h>

/* Any thread: queue body (copied) for url. Returns -1 when the queue is full. */
int webhook_enqueue(const char *url, const char *body, size_t len);
/* Service thread: start what is due (called on wake-ups and from its timer). */
void webhook_pump(struct lws_context *context);
/* The client protocol's callback; client errors may also reach protocols[0]. */
int webhook_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
void webhook_shutdown(void);

#endif

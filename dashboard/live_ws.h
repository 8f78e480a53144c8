/*
 * live_ws: the WebSocket side of live push, on the lws service thread:
 * subscriptions, per-client bounded queues of shared frames, resume from a
 * sequence number, heartbeats, and dropping clients that cannot keep up.
 */
#ifndef LIVE_WS_H
#define LIVE_WS_H

#include <libwebsockets.h>

#define LIVE_PROTOCOL "fpmon-live"
#define LIVE_MAX_MESSAGE 1024 /* a client message, and the protocol's receive buffer */

int live_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
size_t live_ws_session_size(void);
/* At the upgrade: 0 if the request carries a live credential (kept for the session). */
int live_ws_admit(struct lws *wsi, void *user);
/* On a wake-up: fan the worker's finished frames out to their clients. */
void live_ws_collect(void);
/* Every few seconds: heartbeats, dead peers, idle topics. */
void live_ws_start_timer(struct lws_context *context);
void live_ws_shutdown(void);
int live_ws_clients(void);
/* This process's epoch: snapshots, pings and pongs carry it; `since` must come with it. */
uint64_t live_ws_epoch(void);

#endif

/*
 * live: the live worker thread. It learns which entities changed (from the
 * ingest worker, after COMMIT), which topics have subscribers (from the
 * service thread), and turns both into JSON frames: one delta per changed
 * topic per tick (leading edge at once, then at most one per interval), and
 * snapshots on request. Frames go back to the service thread for fan-out;
 * nothing here touches a socket, and the service thread builds no JSON.
 */
#ifndef LIVE_H
#define LIVE_H

#include "ingest.h"

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_TOPIC_MAX 48

/* A finished message, shared by every client it goes to (service thread refcount). */
struct live_frame {
	struct live_frame *next;      /* in the worker's outbox */
	int refs;
	uint64_t seq;                 /* deltas: global order; snapshots: the seq they are current to */
	uint64_t for_ticket;          /* snapshots: the one session that asked; 0 = broadcast */
	int snapshot;
	int64_t made_us;              /* monotonic µs when the change reached the worker */
	char topic[LIVE_TOPIC_MAX];
	char region[13];              /* alert frames: only receivers whose scope covers it */
	size_t len;
	unsigned char buf[];          /* LWS_PRE bytes of headroom, then len bytes of JSON */
};

struct live_options {
	void (*wake)(void *arg);
	void *wake_arg;
	int interval_ms;              /* coalescing interval per topic */
};

int live_start(const struct live_options *opt, char *err, size_t errlen);
void live_stop(void);
/* ingestq observer: the entities of committed samples become dirty. */
void live_observe(const struct ingest_effects *fx, void *arg);
/* Parse and check a topic name ("region:<code>", "project:<id>", "alerts"). */
int live_topic_valid(const char *topic, const char **why);
/* Service thread -> worker: a topic gained its first or lost its last subscriber. */
void live_topic_watch(const char *topic, int watching);
/* Service thread -> worker: send session `ticket` a snapshot of `topic`, within `scope`. */
void live_request_snapshot(const char *topic, uint64_t ticket, const char *scope);
/* Alert engine listener: every transition becomes a delta on topic "alerts". */
struct alert_transition;
void live_alert_transition(const struct alert_transition *t, void *arg);
/* Worker -> service thread: finished frames, oldest first. */
struct live_frame *live_take_frames(void);
void live_frame_unref(struct live_frame *f);
uint64_t live_last_seq(void);
/* The process epoch snapshots carry (set once by the service thread at start). */
void live_set_epoch(uint64_t epoch);
int64_t live_now_us(void);

#endif

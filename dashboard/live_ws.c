/*
 * live_ws: client sessions of the live protocol. Frames are shared and
 * reference-counted; each client holds at most LIVE_QUEUE of them. When a
 * client's queue is full, its queued deltas of that topic are dropped and a
 * snapshot requested instead (newer state replaces older), and a client that
 * still cannot keep up is closed with a reason telling it to resume from its
 * last sequence number: nothing more is queued for it, and once its socket
 * has drained (it reads again) it gets an "error" message and a 1008 close
 * frame with that reason; the socket's send buffer is capped so that a
 * stalled reader leaves little to read before them. A ring of recent deltas lets a reconnecting client
 * catch up without a snapshot. Client messages are tiny control requests
 * (capped at 1 KiB), so parsing them here costs the loop nothing measurable.
 */
#include "live_ws.h"

#include "access.h"
#include "live.h"
#include "regcode.h"
#include "registry.h"
#include "log.h"
#include "stats.h"
#include "xalloc.h"

#include <jansson.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#define LIVE_QUEUE        32
#define MAX_TOPICS        16
#define RING_FRAMES       4096
#define RING_BYTES        (32u << 20)
#define HEARTBEAT_S       15
#define DEAD_AFTER_S      60
#define TOPIC_GRACE_S     120
#define MAX_RESYNCS       8     /* per heartbeat period before a client counts as hopeless */
#define SEND_BUFFER       (256 * 1024) /* per socket (the kernel doubles it): bounds what a stalled reader has in flight */
#define CLOSE_ROOM        (16 * 1024)  /* unsent bytes below which the close reason is sent: the reader is reading */
#define CLOSE_WAIT_S      60    /* a dropped reader that does not drain by then is cut off (1006: TCP cannot say more) */

struct topic {
	char name[LIVE_TOPIC_MAX];
	struct session **subs;
	size_t n_subs, cap_subs;
	uint64_t covered_since;      /* deltas of this topic are complete from this seq on */
	time_t idle_since;           /* 0 while subscribed */
};

struct session {
	struct auth_principal who;   /* set at the upgrade, before ESTABLISHED */
	struct lws *wsi;
	struct session *next;
	uint64_t ticket;
	struct topic *topics[MAX_TOPICS];
	size_t n_topics;
	struct live_frame *queue[LIVE_QUEUE];
	unsigned head, count;
	time_t last_rx, last_tx;
	unsigned resyncs;
	unsigned resyncing;          /* bit i: topics[i] waits for a snapshot a full queue asked for */
	int closing;                 /* CLOSE_* */
	time_t closing_since;
	const char *close_reason;
};

/* A dropped client: nothing more is queued; the reason goes out once its socket drained. */
enum { CLOSE_NONE, CLOSE_DRAINING, CLOSE_TOLD, CLOSE_SENT };

static struct session *sessions;
static int n_sessions;
static uint64_t next_ticket = 1;
static struct topic **topics;
static size_t n_topics, cap_topics;
static struct live_frame *ring[RING_FRAMES];
static size_t ring_head, ring_count, ring_bytes;
static struct lws_context *timer_context;
static uint64_t epoch;   /* this process's identity in seq space: 48 random bits (exact in JavaScript) */
static lws_sorted_usec_list_t timer;

size_t live_ws_session_size(void) { return sizeof(struct session); }
int live_ws_clients(void) { return n_sessions; }

/* ---- topics ---- */

static struct topic *topic_get(const char *name, int create)
{
	for (size_t i = 0; i < n_topics; i++)
		if (strcmp(topics[i]->name, name) == 0)
			return topics[i];
	if (!create)
		return NULL;
	if (n_topics == cap_topics) {
		cap_topics = cap_topics ? cap_topics * 2 : 16;
		topics = xreallocarray(topics, cap_topics, sizeof *topics);
	}
	struct topic *t = xcalloc(1, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->covered_since = live_last_seq();
	topics[n_topics++] = t;
	live_topic_watch(name, 1);
	return t;
}

static void topic_add(struct topic *t, struct session *s)
{
	if (t->n_subs == t->cap_subs) {
		t->cap_subs = t->cap_subs ? t->cap_subs * 2 : 4;
		t->subs = xreallocarray(t->subs, t->cap_subs, sizeof *t->subs);
	}
	t->subs[t->n_subs++] = s;
	t->idle_since = 0;
}

static void topic_remove(struct topic *t, struct session *s)
{
	for (size_t i = 0; i < t->n_subs; i++)
		if (t->subs[i] == s) {
			t->subs[i] = t->subs[--t->n_subs];
			break;
		}
	if (!t->n_subs)
		t->idle_since = time(NULL); /* kept warm a while for a reconnecting screen */
}

/* ---- queues ---- */

static void send_later(struct session *s)
{
	if (s->count)
		lws_callback_on_writable(s->wsi);
}

static void drop(struct session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = CLOSE_DRAINING;
	s->closing_since = time(NULL);
	s->close_reason = reason;
	while (s->count) { /* never sent now: frees the memory at once */
		live_frame_unref(s->queue[s->head]);
		s->head = (s->head + 1) % LIVE_QUEUE;
		s->count--;
	}
	lws_callback_on_writable(s->wsi); /* the close happens in WRITEABLE (and the timer retries) */
}

/* Bytes the kernel still holds for the peer (unsent or unacknowledged). */
static int unsent_bytes(struct session *s)
{
	int n = 0;
	if (ioctl(lws_get_socket_fd(s->wsi), SIOCOUTQ, &n) < 0)
		return 0;
	return n;
}

/* Index of a topic in the session's subscriptions, -1 if not subscribed. */
static int topic_slot(const struct session *s, const char *name)
{
	for (size_t i = 0; i < s->n_topics; i++)
		if (strcmp(s->topics[i]->name, name) == 0)
			return (int)i;
	return -1;
}

/* Full queue: drop queued deltas of this topic and ask for a snapshot instead. */
static int make_room(struct session *s, const char *topic)
{
	unsigned kept = 0;
	int dropped = 0;
	for (unsigned i = 0; i < s->count; i++) {
		struct live_frame *f = s->queue[(s->head + i) % LIVE_QUEUE];
		if (!f->snapshot && strcmp(f->topic, topic) == 0) {
			live_frame_unref(f);
			dropped = 1;
		} else {
			s->queue[(s->head + kept++) % LIVE_QUEUE] = f;
		}
	}
	s->count = kept;
	if (!dropped)
		return -1;
	if (++s->resyncs > MAX_RESYNCS)
		return -1;
	live_request_snapshot(topic, s->ticket, s->who.scope);
	int slot = topic_slot(s, topic);
	if (slot >= 0)
		s->resyncing |= 1u << slot;
	return 1;
}

static void enqueue(struct session *s, struct live_frame *f)
{
	if (s->closing)
		return;
	/* Until the asked-for snapshot, no newer delta of the topic: the client's
	 * last seq of it stays before the dropped ones, so a resume after a lost
	 * connection replays them instead of skipping them. */
	int slot = s->resyncing && f->topic[0] ? topic_slot(s, f->topic) : -1;
	if (slot >= 0 && (s->resyncing & (1u << slot))) {
		if (!f->snapshot)
			return;
		s->resyncing &= ~(1u << slot);
	}
	if (s->count == LIVE_QUEUE) {
		int room = make_room(s, f->topic);
		if (room < 0) {
			drop(s, "too slow: reconnect and resume from your last seq");
			return;
		}
		if (room > 0 && !f->snapshot)
			return; /* the snapshot asked for supersedes this delta */
		if (s->count == LIVE_QUEUE) {
			drop(s, "too slow: reconnect and resume from your last seq");
			return;
		}
	}
	f->refs++;
	s->queue[(s->head + s->count++) % LIVE_QUEUE] = f;
	send_later(s);
}

/* A small frame built here (errors, pings, acks): not shared. */
static void enqueue_text(struct session *s, const char *text)
{
	size_t len = strlen(text);
	struct live_frame *f = xcalloc(1, sizeof *f + LWS_PRE + len);
	f->refs = 1;
	f->snapshot = 1; /* never coalesced away */
	f->len = len;
	memcpy(f->buf + LWS_PRE, text, len);
	enqueue(s, f);
	live_frame_unref(f);
}

static void send_error(struct session *s, const char *reason)
{
	json_t *o = json_pack("{s:s, s:s}", "type", "error", "reason", reason);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	enqueue_text(s, text);
	free(text);
}

/* ---- the ring of recent deltas ---- */

static void ring_push(struct live_frame *f)
{
	while (ring_count && (ring_count == RING_FRAMES || ring_bytes + f->len > RING_BYTES)) {
		struct live_frame *old = ring[ring_head];
		ring_bytes -= old->len;
		live_frame_unref(old);
		ring_head = (ring_head + 1) % RING_FRAMES;
		ring_count--;
	}
	f->refs++;
	ring[(ring_head + ring_count++) % RING_FRAMES] = f;
	ring_bytes += f->len;
}

/* Replay deltas of `t` after `since`, if the ring holds all of them. A
 * `since` from another process (a restart) means nothing here: snapshot. */
static int resume(struct session *s, struct topic *t, uint64_t since, uint64_t their_epoch)
{
	uint64_t oldest = ring_count ? ring[ring_head]->seq : live_last_seq() + 1;
	if (!since || their_epoch != epoch || since > live_last_seq() || t->covered_since > since || oldest > since + 1)
		return 0;
	for (size_t i = 0; i < ring_count; i++) {
		struct live_frame *f = ring[(ring_head + i) % RING_FRAMES];
		if (f->seq > since && strcmp(f->topic, t->name) == 0 && (!f->region[0] || auth_in_scope(&s->who, f->region)))
			enqueue(s, f);
	}
	return 1;
}

/* ---- access ---- */

int live_ws_admit(struct lws *wsi, void *user)
{
	struct session *s = user;
	return access_principal(wsi, &s->who);
}

/* A topic is visible when its region, or its project's location, is in scope. */
static int topic_in_scope(const struct session *s, const char *topic)
{
	if (!s->who.scope[0] || strcmp(topic, "alerts") == 0)
		return 1;
	if (strncmp(topic, "region:", 7) == 0)
		return regcode_is_within(topic + 7, s->who.scope);
	if (strncmp(topic, "project:", 8) != 0)
		return 0; /* not a topic (live_topic_valid says why): never read past a short name */
	struct registry *r = reg_acquire();
	int32_t at = r ? reg_find(r, topic + 8) : -1;
	int ok = at >= 0 && r->e[at].parent >= 0 && regcode_is_within(r->e[r->e[at].parent].key, s->who.scope);
	reg_release(r);
	return ok;
}

/* ---- client messages ---- */

static void subscribe(struct session *s, json_t *msg)
{
	json_t *list = json_object_get(msg, "topics"), *since_v = json_object_get(msg, "since");
	json_t *epoch_v = json_object_get(msg, "epoch");
	if (!json_is_array(list) || (since_v && !json_is_integer(since_v)) || (epoch_v && !json_is_integer(epoch_v))) {
		send_error(s, "subscribe needs topics (an array) and optionally since and epoch (integers)");
		return;
	}
	uint64_t their_epoch = epoch_v ? (uint64_t)json_integer_value(epoch_v) : 0;
	uint64_t since = since_v && json_integer_value(since_v) > 0 ? (uint64_t)json_integer_value(since_v) : 0;
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item) {
		const char *name = json_string_value(item), *why = "a topic must be a string";
		if (name && !topic_in_scope(s, name))
			why = "outside your region";
		if (!name || strlen(name) >= LIVE_TOPIC_MAX || !topic_in_scope(s, name) || !live_topic_valid(name, &why)) {
			char reason[160];
			snprintf(reason, sizeof reason, "topics[%zu]: %s", i, why);
			send_error(s, reason);
			continue;
		}
		struct topic *t = topic_get(name, 1);
		int already = 0;
		for (size_t k = 0; k < s->n_topics; k++)
			already |= s->topics[k] == t;
		if (!already) {
			if (s->n_topics == MAX_TOPICS) {
				send_error(s, "at most 16 topics per connection");
				continue;
			}
			s->topics[s->n_topics++] = t;
			topic_add(t, s);
		}
		if (!resume(s, t, since, their_epoch))
			live_request_snapshot(name, s->ticket, s->who.scope);
	}
}

static void unsubscribe(struct session *s, json_t *msg)
{
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(msg, "topics"), i, item) {
		struct topic *t = json_is_string(item) ? topic_get(json_string_value(item), 0) : NULL;
		for (size_t k = 0; t && k < s->n_topics; k++)
			if (s->topics[k] == t) {
				topic_remove(t, s);
				s->topics[k] = s->topics[--s->n_topics];
				/* the last slot moved to k: its resync bit too */
				unsigned moved = (s->resyncing >> s->n_topics) & 1u;
				s->resyncing &= ~((1u << k) | (1u << s->n_topics));
				if (k < s->n_topics)
					s->resyncing |= moved << k;
				break;
			}
	}
}

static void on_message(struct session *s, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!msg || !type)
		send_error(s, msg ? "a message needs a type" : "invalid JSON");
	else if (strcmp(type, "subscribe") == 0)
		subscribe(s, msg);
	else if (strcmp(type, "unsubscribe") == 0)
		unsubscribe(s, msg);
	else if (strcmp(type, "ping") == 0) {
		char pong[96];
		snprintf(pong, sizeof pong, "{\"type\":\"pong\",\"seq\":%llu,\"epoch\":%llu,\"at\":%lld}",
			 (unsigned long long)live_last_seq(), (unsigned long long)epoch, (long long)time(NULL));
		enqueue_text(s, pong);
	} else
		send_error(s, "unknown type: use subscribe, unsubscribe or ping");
	json_decref(msg);
}

/* ---- lws ---- */

static void session_end(struct session *s)
{
	for (struct session **p = &sessions; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	for (size_t k = 0; k < s->n_topics; k++)
		topic_remove(s->topics[k], s);
	s->n_topics = 0;
	while (s->count) {
		live_frame_unref(s->queue[s->head]);
		s->head = (s->head + 1) % LIVE_QUEUE;
		s->count--;
	}
	n_sessions--;
	atomic_store(&stats.clients, n_sessions);
}

/*
 * A close frame queued behind megabytes the reader has not read never
 * arrives: lws waits 5 s for its answer and then cuts the connection (the
 * reader sees 1006, no reason). So wait until the socket has drained, then
 * say why twice: an "error" message (seen by code that ignores close
 * reasons) and the 1008 close with the same text.
 */
static int writeable_closing(struct session *s)
{
	if (s->closing == CLOSE_DRAINING) {
		if (unsent_bytes(s) > CLOSE_ROOM && time(NULL) - s->closing_since < CLOSE_WAIT_S)
			return 0; /* the timer looks again */
		json_t *o = json_pack("{s:s, s:s}", "type", "error", "reason", s->close_reason);
		char *text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		size_t len = strlen(text);
		unsigned char *buf = xmalloc(LWS_PRE + len);
		memcpy(buf + LWS_PRE, text, len);
		int wrote = lws_write(s->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
		free(buf);
		free(text);
		s->closing = CLOSE_TOLD;
		lws_callback_on_writable(s->wsi);
		return wrote < 0 ? -1 : 0;
	}
	if (s->closing == CLOSE_TOLD) {
		s->closing = CLOSE_SENT;
		lws_close_reason(s->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
				 (unsigned char *)(uintptr_t)s->close_reason, strlen(s->close_reason));
	}
	return -1; /* lws sends the close frame and waits for the answer */
}

static int writeable(struct session *s)
{
	if (s->closing)
		return writeable_closing(s);
	if (!s->count)
		return 0;
	struct live_frame *f = s->queue[s->head];
	s->head = (s->head + 1) % LIVE_QUEUE;
	s->count--;
	int wrote = lws_write(s->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
	if (!f->snapshot && f->made_us)
		stats_observe_push_latency(live_now_us() - f->made_us);
	live_frame_unref(f);
	if (wrote < (int)0)
		return -1;
	s->last_tx = time(NULL);
	send_later(s);
	return 0;
}

int live_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct session *s = user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED: {
		int sndbuf = SEND_BUFFER; /* fixed: no autotuning to megabytes for a reader that stalls */
		setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
		memset((char *)s + sizeof s->who, 0, sizeof *s - sizeof s->who);
		s->wsi = wsi;
		s->ticket = next_ticket++;
		s->last_rx = s->last_tx = time(NULL);
		s->next = sessions;
		sessions = s;
		n_sessions++;
		atomic_store(&stats.clients, n_sessions);
		break;
	}
	case LWS_CALLBACK_RECEIVE:
		s->last_rx = time(NULL);
		if (lws_frame_is_binary(wsi)) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
					 (unsigned char *)(uintptr_t)"binary frames are not accepted", 30);
			return -1;
		}
		if (!lws_is_final_fragment(wsi) || len > LIVE_MAX_MESSAGE) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
					 (unsigned char *)(uintptr_t)"messages are limited to 1024 bytes", 34);
			return -1;
		}
		on_message(s, in, len);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return writeable(s);
	case LWS_CALLBACK_CLOSED:
		session_end(s);
		break;
	default:
		break;
	}
	return 0;
}

static struct session *session_by_ticket(uint64_t ticket)
{
	for (struct session *s = sessions; s; s = s->next)
		if (s->ticket == ticket)
			return s;
	return NULL;
}

void live_ws_collect(void)
{
	for (struct live_frame *f = live_take_frames(), *next; f; f = next) {
		next = f->next;
		if (f->for_ticket) {
			struct session *s = session_by_ticket(f->for_ticket);
			if (s)
				enqueue(s, f);
		} else {
			ring_push(f);
			struct topic *t = topic_get(f->topic, 0);
			for (size_t i = 0; t && i < t->n_subs; i++)
				if (!f->region[0] || auth_in_scope(&t->subs[i]->who, f->region))
					enqueue(t->subs[i], f);
		}
		live_frame_unref(f);
	}
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	time_t now = time(NULL);
	for (struct session *s = sessions; s; s = s->next) {
		struct auth_principal still;
		s->resyncs = 0;
		if (s->closing == CLOSE_DRAINING)
			lws_callback_on_writable(s->wsi); /* drained yet? */
		else if (s->closing)
			continue;
		else if (auth_lookup_hash(s->who.hash, (int64_t)now, &still) < 0)
			drop(s, "credential revoked or expired: log in again");
		else if (now - s->last_rx > DEAD_AFTER_S)
			drop(s, "no heartbeat: send {\"type\":\"ping\"} at least every 30 s");
		else if (now - s->last_tx >= HEARTBEAT_S) {
			char ping[96];
			snprintf(ping, sizeof ping, "{\"type\":\"ping\",\"seq\":%llu,\"epoch\":%llu,\"at\":%lld}",
				 (unsigned long long)live_last_seq(), (unsigned long long)epoch, (long long)now);
			enqueue_text(s, ping);
			s->last_tx = now;
		}
	}
	for (size_t i = 0; i < n_topics;) {
		struct topic *t = topics[i];
		if (!t->n_subs && t->idle_since && now - t->idle_since > TOPIC_GRACE_S) {
			live_topic_watch(t->name, 0);
			free(t->subs);
			free(t);
			topics[i] = topics[--n_topics];
		} else {
			i++;
		}
	}
	lws_sul_schedule(timer_context, 0, &timer, on_timer, 5 * LWS_US_PER_SEC);
}

uint64_t live_ws_epoch(void) { return epoch; }

void live_ws_start_timer(struct lws_context *context)
{
	timer_context = context;
	if (getrandom(&epoch, sizeof epoch, 0) != (ssize_t)sizeof epoch)
		epoch = (uint64_t)time(NULL);
	epoch &= (1ULL << 48) - 1;
	if (!epoch)
		epoch = 1;
	lws_sul_schedule(context, 0, &timer, on_timer, 5 * LWS_US_PER_SEC);
}

void live_ws_shutdown(void)
{
	while (ring_count) {
		live_frame_unref(ring[ring_head]);
		ring_head = (ring_head + 1) % RING_FRAMES;
		ring_count--;
	}
	for (size_t i = 0; i < n_topics; i++) {
		free(topics[i]->subs);
		free(topics[i]);
	}
	free(topics);
	topics = NULL;
	n_topics = cap_topics = 0;
}

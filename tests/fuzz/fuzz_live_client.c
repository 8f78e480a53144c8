/*
 * fuzz_live_client: libFuzzer target for what a browser sends on the
 * fpmon-live WebSocket (dashboard/live_ws.c, dashboard/live.c).
 *
 * Two layers, both on every message:
 *  1. The boundary: json_loadb, validation against schemas/live-client.json
 *     (embedded) with jschema, and live_topic_valid (dashboard/live.c) on
 *     every string of "topics", against the unit tests' county in the
 *     registry.
 *  2. The session code itself: live_ws.c is compiled into this file (its
 *     parser is static), with the few libwebsockets calls it makes and the
 *     calls into the live worker (watch, snapshot, last seq) replaced by
 *     recorders below, so that live_ws_callback runs as lws would call it:
 *     ESTABLISHED, one RECEIVE per message, SERVER_WRITEABLE until the queue
 *     is empty, CLOSED. live_ws_shutdown() after every input leaves no state
 *     behind.
 *
 * Input: byte 0: bits 0-1 the session's scope ("", county 610824000000,
 * township 610824100000, village 610824200201); bit 2 the ring of recent
 * deltas holds frames seq 1-8 (alerts ones about a village each) of topics
 * kept warm, so a subscribe with "since" and "epoch": 7 can resume; bit 3 a
 * slow client that is never drained (queue full, resync, drop); bit 4 frames
 * are binary, bit 5 they are not final fragments (both refused with a close).
 * The rest: up to 16 messages separated by NUL bytes (a NUL is never valid
 * JSON text).
 *
 * Beyond the sanitizers, these properties abort:
 *  - the worker is only asked to watch or snapshot a topic that
 *    live_topic_valid accepts, shorter than LIVE_TOPIC_MAX, and inside the
 *    session's scope;
 *  - every frame written to the client is a JSON object with a "type"; one
 *    with a topic has a topic in the session's scope, one about a region
 *    (alerts) a region in it; snapshots are asked for with the session's scope;
 *  - an unscoped session's subscribe that the schema accepts, whose topics
 *    all pass live_topic_valid and fit in 16, gets no error;
 *  - a session holds at most 16 topics, each listing it as a subscriber, and
 *    after CLOSED no topic lists it.
 *
 * Not reached from here: the lws framing itself (fragments, masking,
 * reassembly: lws does that before the callback), admission (live_ws_admit:
 * credentials from HTTP headers need a real wsi), the heartbeat timer
 * (on_timer: credential re-checks, dead peers, idle topics) and the fan-out of
 * the worker's frames (live_ws_collect: needs the live worker thread).
 */
#include <libwebsockets.h>

#include "access.h"
#include "embedded.h"
#include "fuzz_util.h"
#include "jschema.h"
#include "live.h"
#include "live_ws.h"
#include "regcode.h"
#include "registry.h"
#include "stats.h"
#include "xalloc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- stand-ins for lws and the live worker, seen only by live_ws.c ---- */

static int fake_binary, fake_final = 1;
static int close_requested;
static int watch_calls, snapshot_calls;
static const char *session_scope = "";
static int frames_written, errors_written;
static int verbose; /* FUZZ_VERBOSE=1: print every frame */

static int fake_on_writable(struct lws *wsi) { (void)wsi; return 0; }

static void fake_close_reason(struct lws *wsi, enum lws_close_status status, unsigned char *buf, size_t len)
{
	(void)wsi;
	(void)status;
	FUZZ_CHECK(strnlen((const char *)buf, len) == len, "close reason shorter than its length");
	FUZZ_CHECK(len <= 123, "close reason of %zu bytes does not fit a close frame", len);
	close_requested = 1;
}

/* The topic of a delta in the ring, for checking what is replayed. */
static bool in_scope(const char *topic, const char *scope);

static int fake_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol proto)
{
	(void)wsi;
	FUZZ_CHECK(proto == LWS_WRITE_TEXT, "a frame that is not text");
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(json_is_object(doc), "frame is not a JSON object (%s): %.*s", jerr.text, (int)len, (const char *)buf);
	const char *type = json_string_value(json_object_get(doc, "type"));
	FUZZ_CHECK(type != NULL, "frame without a type: %.*s", (int)len, (const char *)buf);
	if (strcmp(type, "error") == 0) {
		errors_written++;
		FUZZ_CHECK(json_is_string(json_object_get(doc, "reason")), "error without a reason");
	}
	const char *topic = json_string_value(json_object_get(doc, "topic"));
	if (topic)
		FUZZ_CHECK(in_scope(topic, session_scope), "a %s frame of %s went to a session scoped to %s",
			   type, topic, session_scope);
	const char *region = json_string_value(json_object_get(doc, "region"));
	if (region && session_scope[0])
		FUZZ_CHECK(regcode_is_within(region, session_scope), "a %s frame about %s went to a session scoped to %s",
			   type, region, session_scope);
	if (verbose)
		fprintf(stderr, "  <- %.*s\n", (int)len, (const char *)buf);
	json_decref(doc);
	frames_written++;
	return (int)len;
}

static void check_worker_topic(const char *what, const char *topic)
{
	const char *why = "";
	FUZZ_CHECK(strlen(topic) < LIVE_TOPIC_MAX, "%s of a %zu-byte topic", what, strlen(topic));
	FUZZ_CHECK(live_topic_valid(topic, &why), "%s of invalid topic '%s': %s", what, topic, why);
	FUZZ_CHECK(in_scope(topic, session_scope), "%s of '%s' for a session scoped to %s", what, topic, session_scope);
}

static int warming; /* fill_ring is making topics a reconnecting client still has warm */

static void fake_topic_watch(const char *topic, int watching)
{
	if (watching && !warming)
		check_worker_topic("watch", topic);
	watch_calls++;
}

static void fake_request_snapshot(const char *topic, uint64_t ticket, const char *scope)
{
	(void)ticket;
	check_worker_topic("snapshot", topic);
	FUZZ_CHECK(scope && strcmp(scope, session_scope) == 0, "snapshot of %s asked with scope '%s', the session's is '%s'",
		   topic, scope ? scope : "(null)", session_scope);
	snapshot_calls++;
}

/* The live worker's last sequence number: the newest delta in the ring. */
static uint64_t fake_seq;
static uint64_t fake_last_seq(void) { return fake_seq; }

#define lws_callback_on_writable(wsi) fake_on_writable(wsi)
#define lws_close_reason(wsi, status, buf, len) fake_close_reason(wsi, status, buf, len)
#define lws_write(wsi, buf, len, proto) fake_write(wsi, buf, len, proto)
#define lws_frame_is_binary(wsi) ((void)(wsi), fake_binary)
#define lws_is_final_fragment(wsi) ((void)(wsi), fake_final)
#define live_topic_watch fake_topic_watch
#define live_request_snapshot fake_request_snapshot
#define live_last_seq fake_last_seq

#include "../../dashboard/live_ws.c"

#undef live_topic_watch
#undef live_request_snapshot
#undef live_last_seq

/* The size limit on a client message (live_ws.h now; live_ws.c before). */
#ifdef LIVE_MAX_MESSAGE
#define FUZZ_MAX_MESSAGE LIVE_MAX_MESSAGE
#else
#define FUZZ_MAX_MESSAGE MAX_MESSAGE
#endif

/* ---- the harness ---- */

#define MAX_MESSAGES 16
#define FUZZ_EPOCH 7 /* the seeds resume with "epoch": 7 */

static sqlite3 *db; /* kept open: the registry came from it */
static struct jschema *client_schema;
static const char *const scopes[4] = {"", FUZZ_COUNTY, FUZZ_TOWN_A, "610824200201"};
static const char *const ring_topics[] = {"region:610824100201", "region:610824000000", "project:XM001", "alerts"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	fuzz_init_common();
	db = fuzz_open_db(1); /* publishes the registry */
	epoch = FUZZ_EPOCH; /* live_ws_start_timer would pick a random one */
	const struct embedded_file *f = embedded_find("live-client.json");
	char err[256] = "not embedded";
	client_schema = f ? jschema_load((const char *)f->data, f->len, err, sizeof err) : NULL;
	if (!client_schema)
		fuzz_die("live-client.json", err);
	return 0;
}

/* Independent of live_ws.c: which topics a scoped session may see. */
static bool in_scope(const char *topic, const char *scope)
{
	if (!scope[0] || strcmp(topic, "alerts") == 0)
		return true;
	if (strncmp(topic, "region:", 7) == 0)
		return regcode_is_within(topic + 7, scope);
	if (strncmp(topic, "project:", 8) != 0)
		return false;
	struct registry *r = reg_acquire();
	int32_t at = reg_find(r, topic + 8);
	bool ok = at >= 0 && r->e[at].kind == REG_PROJECT && r->e[at].parent >= 0 &&
		  regcode_is_within(r->e[r->e[at].parent].key, scope);
	reg_release(r);
	return ok;
}

/* Deltas seq 1..8 of a few topics; the alerts ones are about a village each. */
static void fill_ring(void)
{
	/* topics kept warm from before seq 1, as after a reconnect: only those can resume */
	warming = 1;
	for (size_t i = 0; i < sizeof ring_topics / sizeof ring_topics[0]; i++)
		topic_get(ring_topics[i], 1)->idle_since = time(NULL);
	warming = 0;
	for (uint64_t seq = 1; seq <= 8; seq++) {
		const char *topic = ring_topics[seq % (sizeof ring_topics / sizeof ring_topics[0])];
		const char *region = strcmp(topic, "alerts") ? "" : seq & 4 ? "610824200201" : "610824100201";
		char text[200];
		int len = snprintf(text, sizeof text,
				   "{\"type\":\"delta\",\"topic\":\"%s\",\"seq\":%llu,\"values\":{}%s%s%s}", topic,
				   (unsigned long long)seq, region[0] ? ",\"region\":\"" : "", region, region[0] ? "\"" : "");
		struct live_frame *f = xcalloc(1, sizeof *f + LWS_PRE + (size_t)len);
		f->refs = 1;
		f->seq = seq;
		snprintf(f->topic, sizeof f->topic, "%s", topic);
		snprintf(f->region, sizeof f->region, "%s", region);
		f->len = (size_t)len;
		memcpy(f->buf + LWS_PRE, text, (size_t)len);
		ring_push(f);
		live_frame_unref(f);
	}
	fake_seq = 8;
}

/* Layer 1: what the daemon's parser relies on, checked on its own. */
static bool boundary(const char *msg, size_t len, size_t subscribed)
{
	json_error_t jerr;
	json_t *doc = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return false;
	struct jschema_error errs[4];
	size_t n = jschema_validate(client_schema, NULL, doc, NULL, errs, 4);
	bool all_valid = true;
	size_t fresh = 0;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(doc, "topics"), i, item) {
		const char *topic = json_string_value(item), *why = NULL;
		if (!topic || strlen(topic) >= LIVE_TOPIC_MAX) {
			all_valid = false;
			continue;
		}
		int ok = live_topic_valid(topic, &why);
		FUZZ_CHECK(ok || (why && why[0]), "live_topic_valid refused '%s' without a reason", topic);
		all_valid &= ok != 0;
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen |= json_equal(json_array_get(json_object_get(doc, "topics"), k), item);
		fresh += !seen;
	}
	const char *type = json_string_value(json_object_get(doc, "type"));
	bool clean_subscribe = n == 0 && type && strcmp(type, "subscribe") == 0 &&
			       json_is_array(json_object_get(doc, "topics")) && all_valid && subscribed + fresh <= 16;
	json_decref(doc);
	return clean_subscribe;
}

static void drain(struct session *s)
{
	for (int guard = 0; s->count && !s->closing; guard++) {
		FUZZ_CHECK(guard <= LIVE_QUEUE, "the queue does not drain");
		FUZZ_CHECK(live_ws_callback(NULL, LWS_CALLBACK_SERVER_WRITEABLE, s, NULL, 0) == 0, "writeable failed");
	}
}

static void check_session(struct session *s)
{
	FUZZ_CHECK(s->n_topics <= MAX_TOPICS, "%zu topics", s->n_topics);
	FUZZ_CHECK(s->count <= LIVE_QUEUE, "%u queued", s->count);
	for (size_t k = 0; k < s->n_topics; k++) {
		struct topic *t = s->topics[k];
		bool listed = false;
		for (size_t j = 0; j < t->n_subs; j++)
			listed |= t->subs[j] == s;
		FUZZ_CHECK(listed, "subscribed to %s, but not among its subscribers", t->name);
		FUZZ_CHECK(in_scope(t->name, session_scope), "subscribed to %s outside %s", t->name, session_scope);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	session_scope = scopes[data[0] & 3];
	bool slow = data[0] & 8;
	fake_binary = (data[0] >> 4) & 1;
	fake_final = !((data[0] >> 5) & 1);
	if (data[0] & 4)
		fill_ring();
	struct session *s = xcalloc(1, live_ws_session_size());
	snprintf(s->who.scope, sizeof s->who.scope, "%s", session_scope);
	FUZZ_CHECK(live_ws_callback(NULL, LWS_CALLBACK_ESTABLISHED, s, NULL, 0) == 0, "ESTABLISHED failed");

	const uint8_t *p = data + 1, *end = data + size;
	for (int m = 0; m < MAX_MESSAGES && p <= end && !s->closing; m++) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		const uint8_t *stop = nul ? nul : end;
		size_t len = (size_t)(stop - p);
		/* lws hands the callback a buffer it owns: give the message one of its own, unterminated. */
		char *msg = xmalloc(len ? len : 1);
		memcpy(msg, p, len);
		bool clean = boundary(msg, len, s->n_topics);
		if (verbose)
			fprintf(stderr, "-> %.*s\n", (int)len, msg);
		int errors_before = errors_written;
		int rc = live_ws_callback(NULL, LWS_CALLBACK_RECEIVE, s, msg, len);
		free(msg);
		if (rc != 0) {
			FUZZ_CHECK((len > FUZZ_MAX_MESSAGE || fake_binary || !fake_final) && close_requested,
				   "RECEIVE refused a %zu-byte message", len);
			break;
		}
		check_session(s);
		if (!slow)
			drain(s);
		if (clean && !slow && !session_scope[0])
			FUZZ_CHECK(errors_written == errors_before, "a valid subscribe to valid topics got an error");
		if (!nul)
			break;
		p = nul + 1;
	}
	if (s->closing) {
		/* a dropped session first says why in an "error" message, then closes */
		int rc = 0;
		for (int turn = 0; turn < 3 && rc == 0; turn++)
			rc = live_ws_callback(NULL, LWS_CALLBACK_SERVER_WRITEABLE, s, NULL, 0);
		FUZZ_CHECK(rc == -1, "a closing session was not closed after its error message");
	} else
		drain(s);
	live_ws_callback(NULL, LWS_CALLBACK_CLOSED, s, NULL, 0);
	for (size_t i = 0; i < n_topics; i++)
		for (size_t j = 0; j < topics[i]->n_subs; j++)
			FUZZ_CHECK(topics[i]->subs[j] != s, "topic %s still lists a closed session", topics[i]->name);
	FUZZ_CHECK(n_sessions == 0 && sessions == NULL, "%d sessions after CLOSED", n_sessions);
	free(s);
	live_ws_shutdown();
	close_requested = 0;
	fake_seq = 0;
	return 0;
}

/*
 * live: the worker behind live push. Inputs arrive under one mutex: dirty
 * entity ids from the ingest worker, and topic commands from the service
 * thread. Each tick it expands dirty entities to their enclosing regions,
 * and for every watched topic whose entity or children changed builds one
 * delta frame with exactly the metrics that changed (current = the newest
 * row the RRD writer would write, so live figures and charts agree).
 * Snapshots carry the topic's entity and all its children, whole.
 */
#include "live.h"

#include "alert.h"
#include "api.h"
#include "catalog.h"
#include "log.h"
#include "registry.h"
#include "xalloc.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct command {
	struct command *next;
	char topic[LIVE_TOPIC_MAX];
	int watch;            /* 1 watch, 0 unwatch, -1 snapshot request */
	uint64_t ticket;
	char scope[13];       /* snapshot requests: the asker's region scope */
};

struct watched {
	char topic[LIVE_TOPIC_MAX];
	int32_t entity;       /* registry index, -1 for alerts */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int running, stopping;
	struct live_options opt;
	/* inputs, under lock */
	int64_t *dirty;
	size_t n_dirty, cap_dirty;
	int64_t dirty_since_us;
	struct command *cmds, **cmds_tail;
	/* output, under lock */
	struct live_frame *out, **out_tail;
	/* worker-private */
	struct watched *watched;
	size_t n_watched, cap_watched;
	uint64_t seq;
	int64_t last_tick_us;
	struct registry *reg;          /* snapshot the indexes below belong to */
	int32_t *id_slots;             /* entity id -> registry index, open addressing */
	size_t id_cap;
	int32_t *child_first, *child_next; /* children lists by parent index */
	unsigned char *mark;           /* per registry index: MARK_* this tick */
	double **sent;                 /* per registry index: values its holders have, NULL = no holder */
	json_t **change;               /* per registry index: this tick's delta entry (NULL: none) */
} L = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static _Atomic uint64_t last_seq;
static _Atomic uint64_t live_epoch;

void live_set_epoch(uint64_t epoch) { atomic_store(&live_epoch, epoch); }

int64_t live_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t live_last_seq(void) { return atomic_load(&last_seq); }

int live_topic_valid(const char *topic, const char **why)
{
	if (strcmp(topic, "alerts") == 0)
		return 1;
	const char *key = strncmp(topic, "region:", 7) == 0 ? topic + 7
			: strncmp(topic, "project:", 8) == 0 ? topic + 8 : NULL;
	if (!key) {
		*why = "unknown topic: use region:<code>, project:<id> or alerts";
		return 0;
	}
	struct registry *r = reg_acquire();
	int32_t at = r ? reg_find(r, key) : -1;
	int ok = at >= 0 && (r->e[at].kind == REG_PROJECT) == (key == topic + 8);
	reg_release(r);
	if (!ok)
		*why = "no such region or project";
	return ok;
}

enum { MARK_NONE, MARK_CHANGED, MARK_DONE };

/* ---- registry indexes, rebuilt when the snapshot changes ---- */

static size_t id_slot(int64_t id) { return (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL >> 24); }

static int32_t index_of(int64_t id)
{
	for (size_t i = id_slot(id) & (L.id_cap - 1);; i = (i + 1) & (L.id_cap - 1)) {
		int32_t at = L.id_slots[i];
		if (at < 0 || L.reg->e[at].id == id)
			return at;
	}
}

static void refresh_registry(void)
{
	struct registry *r = reg_acquire();
	if (r == L.reg) {
		reg_release(r);
		return;
	}
	/* What clients hold follows the entity, by id, into the new snapshot. */
	size_t n = r ? r->n : 0;
	double **sent = xcalloc(n + 1, sizeof *sent);
	for (size_t i = 0; L.reg && i < L.reg->n; i++) {
		int32_t to = L.sent[i] && r ? reg_find(r, L.reg->e[i].key) : -1;
		if (to >= 0 && r->e[to].id == L.reg->e[i].id && r->e[to].kind == L.reg->e[i].kind)
			sent[to] = L.sent[i];
		else
			free(L.sent[i]);
	}
	free(L.sent);
	L.sent = sent;
	reg_release(L.reg);
	L.reg = r;
	free(L.id_slots);
	free(L.child_first);
	free(L.child_next);
	free(L.mark);
	free(L.change);
	L.change = xcalloc(n + 1, sizeof *L.change);
	for (L.id_cap = 64; L.id_cap < n * 2; L.id_cap *= 2)
		;
	L.id_slots = xmalloc(L.id_cap * sizeof *L.id_slots);
	memset(L.id_slots, 0xff, L.id_cap * sizeof *L.id_slots);
	L.child_first = xmalloc((n + 1) * sizeof *L.child_first);
	L.child_next = xmalloc((n + 1) * sizeof *L.child_next);
	memset(L.child_first, 0xff, (n + 1) * sizeof *L.child_first);
	L.mark = xcalloc(n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		size_t s = id_slot(r->e[i].id) & (L.id_cap - 1);
		while (L.id_slots[s] >= 0)
			s = (s + 1) & (L.id_cap - 1);
		L.id_slots[s] = (int32_t)i;
		int32_t p = r->e[i].parent;
		L.child_next[i] = p >= 0 ? L.child_first[p] : -1;
		if (p >= 0)
			L.child_first[p] = (int32_t)i;
	}
	/* Topics name entities by key: re-resolve them in the new snapshot. */
	for (size_t t = 0; t < L.n_watched; t++) {
		const char *colon = strchr(L.watched[t].topic, ':');
		L.watched[t].entity = colon && r ? reg_find(r, colon + 1) : -1;
	}
}

/* ---- frames ---- */

/* An entity whole: its name, kind and values (all of them, as /api/v1/state). */
static json_t *entity_json(int32_t at, const double *values)
{
	const struct reg_entity *e = &L.reg->e[at];
	return json_pack("{s:s?, s:s, s:o}", "name", e->name, "kind", reg_kind_name(e->kind), "values",
			 api_values_json(api_layout_of(e->kind), values));
}

static int same_value(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/*
 * The values every holder of the entity has: what the last delta or snapshot
 * carrying it said. Deltas are relative to these, so a client that applied
 * every frame of its topic has them. Nobody holds an entity yet: its current
 * values become the reference (whoever gets this snapshot is the first).
 */
static const double *held_values(int32_t at, int64_t now)
{
	if (!L.sent[at]) {
		const struct reg_entity *e = &L.reg->e[at];
		L.sent[at] = xmalloc(CAT_MAX_DS * sizeof **L.sent);
		api_current_row(e->id, api_layout_of(e->kind), now, L.sent[at], NULL);
	}
	return L.sent[at];
}

/*
 * An entity's entry in this tick's deltas, built once for every topic that
 * carries it: only the metrics that differ from what its holders have, or
 * NULL if none does. An entity nobody held yet (new in the registry) goes
 * whole, so a client can add it.
 */
static json_t *change_of(int32_t at, int64_t now)
{
	if (L.mark[at] == MARK_DONE)
		return L.change[at];
	L.mark[at] = MARK_DONE;
	const struct reg_entity *e = &L.reg->e[at];
	enum cat_entity layout = api_layout_of(e->kind);
	double cur[CAT_MAX_DS];
	size_t n_ds = api_current_row(e->id, layout, now, cur, NULL);
	double *old = L.sent[at];
	if (!old) {
		L.sent[at] = xmalloc(CAT_MAX_DS * sizeof **L.sent);
		memcpy(L.sent[at], cur, n_ds * sizeof *cur);
		return L.change[at] = entity_json(at, cur);
	}
	json_t *values = NULL;
	for (size_t d = 0; d < n_ds; d++)
		if (!same_value(old[d], cur[d])) {
			if (!values)
				values = json_object();
			json_object_set_new(values, cat_layout(layout)->ds_name[d], api_number(cur[d]));
			old[d] = cur[d];
		}
	return L.change[at] = values ? json_pack("{s:o}", "values", values) : NULL;
}

/*
 * Number, serialise and queue one frame. The sequence number is taken under
 * the outbox lock, so frames leave in seq order even when alert transitions
 * (engine or API threads) and deltas (this thread) are built at once.
 * Takes doc; `region` scopes alert frames to their receivers.
 */
static void publish(json_t *doc, const char *topic, int snapshot, uint64_t ticket, int64_t made_us,
		    const char *region)
{
	size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(12);
	pthread_mutex_lock(&L.lock);
	uint64_t seq = snapshot ? L.seq : ++L.seq;
	json_object_set_new(doc, "seq", json_integer((json_int_t)seq));
	if (snapshot)
		json_object_set_new(doc, "epoch", json_integer((json_int_t)atomic_load(&live_epoch)));
	size_t len = json_dumpb(doc, NULL, 0, flags);
	struct live_frame *f = xmalloc(sizeof *f + LWS_PRE + len);
	memset(f, 0, sizeof *f);
	f->refs = 1;
	f->seq = seq;
	f->snapshot = snapshot;
	f->for_ticket = ticket;
	f->made_us = made_us;
	snprintf(f->topic, sizeof f->topic, "%s", topic);
	snprintf(f->region, sizeof f->region, "%s", region ? region : "");
	f->len = json_dumpb(doc, (char *)f->buf + LWS_PRE, len, flags);
	*L.out_tail = f;
	L.out_tail = &f->next;
	if (!snapshot)
		atomic_store(&last_seq, seq);
	pthread_mutex_unlock(&L.lock);
	json_decref(doc);
}

static json_t *frame_doc(const char *topic, int snapshot)
{
	return json_pack("{s:s, s:s, s:I}", "type", snapshot ? "snapshot" : "delta", "topic", topic,
			 "at", (json_int_t)time(NULL));
}

void live_frame_unref(struct live_frame *f)
{
	if (f && --f->refs == 0)
		free(f);
}

static void snapshot(const char *topic, uint64_t ticket, const char *scope)
{
	json_t *doc = frame_doc(topic, 1);
	if (strcmp(topic, "alerts") == 0) { /* from the alert engine's memory, inside the asker's scope */
		char *list = alert_snapshot_json(scope);
		json_t *alerts = list ? json_loads(list, 0, NULL) : NULL;
		free(list);
		json_object_set_new(doc, "alerts", alerts ? alerts : json_array());
		publish(doc, topic, 1, ticket, live_now_us(), NULL);
		return;
	}
	const char *colon = strchr(topic, ':');
	int32_t at = colon && L.reg ? reg_find(L.reg, colon + 1) : -1;
	json_t *entities = json_object();
	int64_t now = (int64_t)time(NULL);
	if (at >= 0) { /* as of the last delta (this frame's seq): later changes follow as deltas */
		json_object_set_new(entities, L.reg->e[at].key, entity_json(at, held_values(at, now)));
		for (int32_t c = L.child_first[at]; c >= 0; c = L.child_next[c])
			json_object_set_new(entities, L.reg->e[c].key, entity_json(c, held_values(c, now)));
	}
	json_object_set_new(doc, "entities", entities);
	publish(doc, topic, 1, ticket, live_now_us(), NULL);
}

static void run_commands(struct command *cmds)
{
	while (cmds) {
		struct command *next = cmds->next;
		if (cmds->watch == -1) {
			snapshot(cmds->topic, cmds->ticket, cmds->scope);
		} else if (cmds->watch == 1) {
			if (L.n_watched == L.cap_watched) {
				L.cap_watched = L.cap_watched ? L.cap_watched * 2 : 16;
				L.watched = xreallocarray(L.watched, L.cap_watched, sizeof *L.watched);
			}
			struct watched *w = &L.watched[L.n_watched++];
			snprintf(w->topic, sizeof w->topic, "%s", cmds->topic);
			const char *colon = strchr(w->topic, ':');
			w->entity = colon && L.reg ? reg_find(L.reg, colon + 1) : -1;
		} else {
			for (size_t t = 0; t < L.n_watched; t++)
				if (strcmp(L.watched[t].topic, cmds->topic) == 0) {
					L.watched[t] = L.watched[--L.n_watched];
					break;
				}
		}
		free(cmds);
		cmds = next;
	}
}

/* Deltas for every watched topic touched by the dirty entities. */
static void deltas(const int64_t *dirty, size_t n_dirty, int64_t made_us)
{
	size_t n = L.reg ? L.reg->n : 0;
	if (!n)
		return;
	memset(L.mark, 0, n);
	for (size_t i = 0; i < n_dirty; i++) {
		int32_t at = index_of(dirty[i]);
		for (int hops = 0; at >= 0 && hops < 8 && !L.mark[at]; at = L.reg->e[at].parent, hops++)
			L.mark[at] = MARK_CHANGED; /* the entity and every region above it changed */
	}
	int64_t now = (int64_t)time(NULL);
	for (size_t t = 0; t < L.n_watched; t++) {
		int32_t at = L.watched[t].entity;
		if (at < 0 || !L.mark[at])
			continue;
		json_t *entities = json_object(), *e;
		if ((e = change_of(at, now)))
			json_object_set(entities, L.reg->e[at].key, e);
		for (int32_t c = L.child_first[at]; c >= 0; c = L.child_next[c])
			if (L.mark[c] && (e = change_of(c, now)))
				json_object_set(entities, L.reg->e[c].key, e);
		if (!json_object_size(entities)) { /* re-sent values: nothing to tell */
			json_decref(entities);
			continue;
		}
		json_t *doc = frame_doc(L.watched[t].topic, 0);
		json_object_set_new(doc, "entities", entities);
		publish(doc, L.watched[t].topic, 0, 0, made_us, NULL);
	}
	/* A changed entity no watched topic carries has no holders left: forget
	 * what they had, so the next snapshot starts from its current values. */
	for (size_t i = 0; i < n; i++) {
		if (L.mark[i] == MARK_CHANGED) {
			free(L.sent[i]);
			L.sent[i] = NULL;
		}
		json_decref(L.change[i]);
		L.change[i] = NULL;
	}
}

static void *live_main(void *arg)
{
	(void)arg;
	int64_t *work = NULL;
	size_t cap_work = 0;
	pthread_mutex_lock(&L.lock);
	while (!L.stopping) {
		if (!L.n_dirty && !L.cmds) {
			pthread_cond_wait(&L.cond, &L.lock);
			continue;
		}
		/* Leading edge at once; then at most one tick per interval, collecting meanwhile. */
		int64_t due = L.last_tick_us + (int64_t)L.opt.interval_ms * 1000, now = live_now_us();
		if (L.n_dirty && !L.cmds && now < due) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			int64_t ns = until.tv_nsec + (due - now) * 1000;
			until.tv_sec += (time_t)(ns / 1000000000);
			until.tv_nsec = (long)(ns % 1000000000);
			pthread_cond_timedwait(&L.cond, &L.lock, &until);
			continue;
		}
		if (L.n_dirty > cap_work) {
			cap_work = L.n_dirty;
			work = xreallocarray(work, cap_work, sizeof *work);
		}
		size_t n_work = L.n_dirty;
		if (n_work) /* commands alone leave work NULL: memcpy must not see it */
			memcpy(work, L.dirty, n_work * sizeof *work);
		int64_t made_us = L.dirty_since_us;
		L.n_dirty = 0;
		struct command *cmds = L.cmds;
		L.cmds = NULL;
		L.cmds_tail = &L.cmds;
		L.last_tick_us = live_now_us();
		pthread_mutex_unlock(&L.lock);

		refresh_registry();
		run_commands(cmds);
		deltas(work, n_work, made_us);
		L.opt.wake(L.opt.wake_arg);

		pthread_mutex_lock(&L.lock);
	}
	pthread_mutex_unlock(&L.lock);
	free(work);
	return NULL;
}

void live_observe(const struct ingest_effects *fx, void *arg)
{
	(void)arg;
	if (!fx->n_samples)
		return;
	pthread_mutex_lock(&L.lock);
	if (!L.n_dirty)
		L.dirty_since_us = live_now_us();
	for (size_t i = 0; i < fx->n_samples; i++) {
		int64_t id = fx->samples[i].entity_id;
		if (L.n_dirty && L.dirty[L.n_dirty - 1] == id)
			continue; /* batches often repeat an entity: skip the cheap case */
		if (L.n_dirty == L.cap_dirty) {
			L.cap_dirty = L.cap_dirty ? L.cap_dirty * 2 : 1024;
			L.dirty = xreallocarray(L.dirty, L.cap_dirty, sizeof *L.dirty);
		}
		L.dirty[L.n_dirty++] = id;
	}
	pthread_cond_signal(&L.cond);
	pthread_mutex_unlock(&L.lock);
}

static void command(const char *topic, int watch, uint64_t ticket, const char *scope)
{
	struct command *c = xcalloc(1, sizeof *c);
	snprintf(c->topic, sizeof c->topic, "%s", topic);
	snprintf(c->scope, sizeof c->scope, "%s", scope ? scope : "");
	c->watch = watch;
	c->ticket = ticket;
	pthread_mutex_lock(&L.lock);
	*L.cmds_tail = c;
	L.cmds_tail = &c->next;
	pthread_cond_signal(&L.cond);
	pthread_mutex_unlock(&L.lock);
}

void live_topic_watch(const char *topic, int watching) { command(topic, watching ? 1 : 0, 0, NULL); }
void live_request_snapshot(const char *topic, uint64_t ticket, const char *scope)
{
	command(topic, -1, ticket, scope);
}

void live_alert_transition(const struct alert_transition *t, void *arg)
{
	(void)arg;
	json_t *doc = frame_doc("alerts", 0);
	json_object_set_new(doc, "alerts", json_pack("[O]", t->alert));
	json_object_set_new(doc, "events", json_pack("[O]", t->event));
	publish(doc, "alerts", 0, 0, live_now_us(), t->region);
	if (L.opt.wake)
		L.opt.wake(L.opt.wake_arg);
}

struct live_frame *live_take_frames(void)
{
	pthread_mutex_lock(&L.lock);
	struct live_frame *list = L.out;
	L.out = NULL;
	L.out_tail = &L.out;
	pthread_mutex_unlock(&L.lock);
	return list;
}

int live_start(const struct live_options *opt, char *err, size_t errlen)
{
	L.opt = *opt;
	if (L.opt.interval_ms <= 0)
		L.opt.interval_ms = 20;
	L.cmds_tail = &L.cmds;
	L.out_tail = &L.out;
	L.stopping = 0;
	if (pthread_create(&L.thread, NULL, live_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the live thread");
		return -1;
	}
	L.running = 1;
	return 0;
}

void live_stop(void)
{
	if (!L.running)
		return;
	pthread_mutex_lock(&L.lock);
	L.stopping = 1;
	pthread_cond_signal(&L.cond);
	pthread_mutex_unlock(&L.lock);
	pthread_join(L.thread, NULL);
	L.running = 0;
	run_commands(L.cmds);
	L.cmds = NULL;
	for (struct live_frame *f = live_take_frames(), *next; f; f = next) {
		next = f->next;
		live_frame_unref(f);
	}
	for (size_t i = 0; L.sent && L.reg && i < L.reg->n; i++)
		free(L.sent[i]);
	reg_release(L.reg);
	L.reg = NULL;
	free(L.dirty);
	free(L.watched);
	free(L.id_slots);
	free(L.child_first);
	free(L.child_next);
	free(L.mark);
	free(L.sent);
	free(L.change);
	L.sent = NULL;
	L.change = NULL;
	L.dirty = NULL;
	L.watched = NULL;
	L.id_slots = NULL;
	L.child_first = L.child_next = NULL;
	L.mark = NULL;
	L.n_dirty = L.cap_dirty = L.n_watched = L.cap_watched = 0;
}

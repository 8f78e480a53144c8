/*
 * alert_cache: the open alerts (and those resolved lately) as JSON text in
 * memory, so the live worker can send an "alerts" snapshot to a new
 * WebSocket client without a SQLite connection. Loaded at engine start,
 * kept current by every delivered transition, whatever thread made it.
 */
#include "alert_int.h"

#include "db.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	int64_t id, changed;
	int resolved;
	char region[13];
	char *json;
};

static struct {
	pthread_mutex_t lock;
	int active;
	int64_t keep_s, newest_ts;
	struct entry *v;               /* ascending id */
	size_t n, cap;
} C = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t find_locked(int64_t id)
{
	size_t lo = 0, hi = C.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (C.v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void put_locked(int64_t id, int64_t changed, int resolved, const char *region, const char *json)
{
	size_t at = find_locked(id);
	if (at == C.n || C.v[at].id != id) {
		if (C.n == C.cap) {
			C.cap = C.cap ? C.cap * 2 : 256;
			C.v = xreallocarray(C.v, C.cap, sizeof *C.v);
		}
		memmove(&C.v[at + 1], &C.v[at], (C.n - at) * sizeof *C.v);
		C.n++;
		memset(&C.v[at], 0, sizeof C.v[at]);
	}
	struct entry *e = &C.v[at];
	free(e->json);
	e->id = id;
	e->changed = changed;
	e->resolved = resolved;
	size_t len = strlen(region);
	memcpy(e->region, region, len < sizeof e->region ? len + 1 : sizeof e->region);
	e->region[sizeof e->region - 1] = '\0';
	e->json = xstrdup(json);
	if (changed > C.newest_ts)
		C.newest_ts = changed;
}

/* Resolved alerts older than keep_s leave the snapshot. */
static void prune_locked(void)
{
	size_t kept = 0;
	for (size_t i = 0; i < C.n; i++) {
		if (C.v[i].resolved && C.v[i].changed < C.newest_ts - C.keep_s) {
			free(C.v[i].json);
			continue;
		}
		C.v[kept++] = C.v[i];
	}
	C.n = kept;
}

void alert_cache_load(sqlite3 *db, int64_t now, int64_t keep_s)
{
	alert_cache_clear();
	sqlite3_stmt *st = db_prepare(db,
		"SELECT " ALERT_ROW_COLUMNS " FROM alert WHERE state <> 'resolved'"
		" UNION ALL SELECT " ALERT_ROW_COLUMNS " FROM alert WHERE state = 'resolved' AND last_change >= ?1"
		" ORDER BY 1");
	sqlite3_bind_int64(st, 1, now - keep_s);
	pthread_mutex_lock(&C.lock);
	C.active = 1;
	C.keep_s = keep_s;
	C.newest_ts = now;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *a = alert_row_json(st);
		char *text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(15));
		put_locked(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 16),
			   strcmp((const char *)sqlite3_column_text(st, 9), "resolved") == 0,
			   (const char *)sqlite3_column_text(st, 5), text);
		free(text);
		json_decref(a);
	}
	pthread_mutex_unlock(&C.lock);
	sqlite3_finalize(st);
}

void alert_cache_put(const struct alert_transition *t)
{
	pthread_mutex_lock(&C.lock);
	if (C.active) {
		put_locked(t->alert_id, t->ts, t->state == ALERT_RESOLVED, t->region, t->alert_json);
		if (C.n > 64 && C.n % 64 == 0)
			prune_locked();
	}
	pthread_mutex_unlock(&C.lock);
}

void alert_cache_clear(void)
{
	pthread_mutex_lock(&C.lock);
	for (size_t i = 0; i < C.n; i++)
		free(C.v[i].json);
	free(C.v);
	C.v = NULL;
	C.n = C.cap = 0;
	C.active = 0;
	pthread_mutex_unlock(&C.lock);
}

int alert_cache_active(void)
{
	pthread_mutex_lock(&C.lock);
	int active = C.active;
	pthread_mutex_unlock(&C.lock);
	return active;
}

char *alert_snapshot_json(const char *scope)
{
	pthread_mutex_lock(&C.lock);
	prune_locked();
	size_t cap = 3;
	for (size_t i = 0; i < C.n; i++)
		cap += strlen(C.v[i].json) + 1;
	char *out = xmalloc(cap), *w = out;
	*w++ = '[';
	for (size_t i = 0; i < C.n; i++) {
		if (!alert_in_scope(C.v[i].region, scope))
			continue;
		if (w > out + 1)
			*w++ = ',';
		size_t len = strlen(C.v[i].json);
		memcpy(w, C.v[i].json, len);
		w += len;
	}
	*w++ = ']';
	*w = '\0';
	pthread_mutex_unlock(&C.lock);
	return out;
}

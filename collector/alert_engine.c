/*
 * alert_engine: the engine thread and what feeds it. The ingest worker's
 * observer only records what changed (subjects, allocation samples) under
 * a mutex; the thread evaluates every rule each eval_interval and, shortly
 * after a change, only the affected rules for the affected subjects, so an
 * alert reaches listeners well within a second of the sample behind it.
 * State lives in SQLite; at start the allocation ledger catches up on the
 * samples committed since it last ran.
 */
#include "alert_int.h"

#include "catalog.h"
#include "cst.h"
#include "db.h"
#include "log.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct alert_metrics alert_metrics;

void alert_options_default(struct alert_options *o)
{
	memset(o, 0, sizeof *o);
	o->eval_interval_s = 60;
	o->dirty_delay_ms = 20;
	o->escalate_after_s = 4 * 3600;
	o->resolved_keep_s = 24 * 3600;
	o->batch_overdue_hours = 24;
	o->batch_critical_hours = 72;
	o->batch_critical_fen = 50000000;      /* 500,000 yuan */
	o->failed_reissue_days = 3;
	o->alloc_days = 30;
	o->alloc_critical_days = 60;
	o->idle_days = 365;
	o->idle_serious_days = 730;
	o->spi_warning_permille = 950;
	o->spi_critical_permille = 900;
	o->spi_clear_permille = 970;
	o->spi_critical_clear_permille = 920;
	o->spi_min_planned_pct = 5;
	o->stalled_days = 60;
	o->project_silent_days = 35;
	o->milestone_critical_days = 30;
	o->village_silent_days = 35;
	o->township_silent_pct = 100;
	o->township_min_villages = 2;
	o->monitoring_days = 15;
}

int alert_metrics_init(void)
{
	const char *keys[] = {"progress_pct", "funds_alloc_fen", "pay_paid_fen", "alloc_fen", "paid_fen"};
	int *slots[] = {&alert_metrics.progress, &alert_metrics.alloc_village, &alert_metrics.paid_village,
			&alert_metrics.alloc_project, &alert_metrics.paid_project};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct cat_metric *m = cat_find(keys[i]);
		if (!m)
			return -1;
		*slots[i] = m->index;
	}
	/* "Data from a village": what its people report, not the bank's card payments. */
	alert_metrics.village_lo = 255;
	alert_metrics.village_hi = 0;
	alert_metrics.village_mask = 0;
	for (size_t i = 0; i < cat_count(); i++) {
		const struct cat_metric *m = cat_metric((int)i);
		if (m->entity != CAT_VILLAGE || m->source != CAT_SRC_INGEST)
			continue;
		if (m->index < alert_metrics.village_lo)
			alert_metrics.village_lo = m->index;
		if (m->index > alert_metrics.village_hi)
			alert_metrics.village_hi = m->index;
		if (m->index < 63)
			alert_metrics.village_mask |= (int64_t)1 << m->index;
		else
			alert_metrics.village_mask = -1; /* beyond the mask: count every metric in the range */
	}
	return alert_metrics.village_lo <= alert_metrics.village_hi ? 0 : -1;
}

/* ---- candidates ---- */

struct alert_cand *alert_cand_add(struct alert_cands *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
	}
	struct alert_cand *x = &c->v[c->n++];
	memset(x, 0, sizeof *x);
	x->detail = json_object();
	return x;
}

void alert_cand_detail(struct alert_cand *c, json_t *detail)
{
	json_decref(c->detail);
	c->detail = detail ? detail : json_object();
}

void alert_cands_free(struct alert_cands *c)
{
	for (size_t i = 0; i < c->n; i++)
		json_decref(c->v[i].detail);
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* ---- what changed (filled by the observer) ---- */

struct id_set {
	int64_t *v;
	size_t n, cap;
};

struct alloc_sample {
	int64_t entity_id, ts, sample_id;
	double value;
};

struct dirty {
	struct id_set villages, projects, alloc;
	int payments, registry, monitoring;
	struct alloc_sample *samples;
	size_t n_samples, cap_samples;
	int64_t max_sample_id;             /* every sample up to here was observed */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int running, stopping;
	struct alert_options opt;
	sqlite3 *db;
	struct plan_set plans;
	int64_t plans_version;
	struct dirty dirty;                /* under lock */
	int64_t dirty_since_ms;            /* 0: nothing waiting */
	int ledger_behind;                 /* a ledger write failed: catch up from SQLite first */
} E = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static atomic_int engine_active; /* the observer records only while an engine is there */

static _Atomic uint64_t passes;

uint64_t alert_passes(void) { return atomic_load(&passes); }

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t engine_now(void) { return E.opt.clock ? E.opt.clock() : (int64_t)time(NULL); }

static void id_add(struct id_set *s, int64_t id)
{
	if (s->n && s->v[s->n - 1] == id) /* samples of one subject come together */
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n++] = id;
}

static void dirty_free(struct dirty *d)
{
	free(d->villages.v);
	free(d->projects.v);
	free(d->alloc.v);
	free(d->samples);
	memset(d, 0, sizeof *d);
}

void alert_observe(const struct ingest_effects *fx, void *arg)
{
	(void)arg;
	if (!atomic_load(&engine_active))
		return; /* samples committed meanwhile are caught up from SQLite at start */
	pthread_mutex_lock(&E.lock);
	struct dirty *d = &E.dirty;
	for (size_t i = 0; i < fx->n_samples; i++) {
		const struct ingest_sample *s = &fx->samples[i];
		int m = s->metric;
		if (s->sample_id > d->max_sample_id)
			d->max_sample_id = s->sample_id;
		if (m == alert_metrics.alloc_village || m == alert_metrics.alloc_project) {
			if (d->n_samples == d->cap_samples) {
				d->cap_samples = d->cap_samples ? d->cap_samples * 2 : 64;
				d->samples = xreallocarray(d->samples, d->cap_samples, sizeof *d->samples);
			}
			d->samples[d->n_samples++] = (struct alloc_sample){s->entity_id, s->ts, s->sample_id, s->value};
		}
		if (s->kind == REG_PROJECT) {
			id_add(&d->projects, s->entity_id);
			if (m == alert_metrics.alloc_project || m == alert_metrics.paid_project)
				id_add(&d->alloc, s->entity_id);
		} else if (cat_metric(m) && cat_metric(m)->source == CAT_SRC_PAYMENTS) {
			d->payments = 1;
			if (m == alert_metrics.paid_village)
				id_add(&d->alloc, s->entity_id);
		} else {
			id_add(&d->villages, s->entity_id);
			if (m == alert_metrics.alloc_village)
				id_add(&d->alloc, s->entity_id);
		}
	}
	if (fx->registry_changed)
		d->registry = 1;
	if (fx->monitoring_changed)
		d->monitoring = 1;
	if ((fx->n_samples || fx->registry_changed || fx->monitoring_changed) && !E.dirty_since_ms) {
		E.dirty_since_ms = mono_ms();
		pthread_cond_signal(&E.cond);
	}
	pthread_mutex_unlock(&E.lock);
}

static struct dirty take_dirty(void)
{
	pthread_mutex_lock(&E.lock);
	struct dirty d = E.dirty;
	memset(&E.dirty, 0, sizeof E.dirty);
	E.dirty.max_sample_id = d.max_sample_id;
	E.dirty_since_ms = 0;
	pthread_mutex_unlock(&E.lock);
	return d;
}

/* ---- allocation ledger ---- */

/*
 * A cumulative figure's new value becomes a ledger entry of the increase.
 * A sample older than the newest one applied is skipped: the newer total
 * already includes whatever it allocated.
 */
static int ledger_apply(const struct alloc_sample *v, size_t n)
{
	if (!n)
		return 0;
	if (db_begin(E.db) < 0)
		return -1;
	sqlite3_stmt *get = db_prepare(E.db, "SELECT total_fen, last_ts, last_sample FROM alloc_total WHERE entity_id = ?1");
	sqlite3_stmt *add = db_prepare(E.db,
		"INSERT INTO alloc_event(entity_id, ts, delta_fen, cum_fen, sample_id) VALUES (?1, ?2, ?3, ?4, ?5)");
	sqlite3_stmt *put = db_prepare(E.db,
		"INSERT INTO alloc_total(entity_id, total_fen, last_ts, last_sample) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT(entity_id) DO UPDATE SET total_fen = excluded.total_fen, last_ts = excluded.last_ts,"
		" last_sample = excluded.last_sample");
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int64_t total = 0, last_ts = 0, last_sample = 0;
		sqlite3_bind_int64(get, 1, v[i].entity_id);
		if (sqlite3_step(get) == SQLITE_ROW) {
			total = sqlite3_column_int64(get, 0);
			last_ts = sqlite3_column_int64(get, 1);
			last_sample = sqlite3_column_int64(get, 2);
		}
		sqlite3_reset(get);
		if (v[i].sample_id <= last_sample || v[i].ts < last_ts)
			continue;
		int64_t value = (int64_t)v[i].value, delta = value - total;
		if (delta != 0) {
			sqlite3_bind_int64(add, 1, v[i].entity_id);
			sqlite3_bind_int64(add, 2, v[i].ts);
			sqlite3_bind_int64(add, 3, delta);
			sqlite3_bind_int64(add, 4, value);
			sqlite3_bind_int64(add, 5, v[i].sample_id);
			rc = sqlite3_step(add) == SQLITE_DONE ? 0 : -1;
			sqlite3_reset(add);
		}
		sqlite3_bind_int64(put, 1, v[i].entity_id);
		sqlite3_bind_int64(put, 2, value);
		sqlite3_bind_int64(put, 3, v[i].ts);
		sqlite3_bind_int64(put, 4, v[i].sample_id);
		if (rc == 0)
			rc = sqlite3_step(put) == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(put);
	}
	sqlite3_finalize(get);
	sqlite3_finalize(add);
	sqlite3_finalize(put);
	if (rc < 0 || db_commit(E.db) < 0) {
		log_error_rl("alerts: allocation ledger: %s", sqlite3_errmsg(E.db));
		db_rollback(E.db);
		return -1;
	}
	return 0;
}

/*
 * The allocation samples committed since the ledger last caught up: at
 * start, and after a failed ledger write (applying a sample twice is
 * harmless, alloc_total.last_sample skips it).
 */
static int ledger_catch_up(int at_start)
{
	int64_t from = db_meta_get(E.db, "alert_alloc_sample", 0);
	sqlite3_stmt *st = db_prepare(E.db,
		"SELECT entity_id, ts, id, value FROM sample WHERE id > ?1 AND metric IN (?2, ?3) ORDER BY id");
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int(st, 2, alert_metrics.alloc_village);
	sqlite3_bind_int(st, 3, alert_metrics.alloc_project);
	struct dirty d = {0};
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (d.n_samples == d.cap_samples) {
			d.cap_samples = d.cap_samples ? d.cap_samples * 2 : 256;
			d.samples = xreallocarray(d.samples, d.cap_samples, sizeof *d.samples);
		}
		d.samples[d.n_samples++] = (struct alloc_sample){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
								 sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3)};
	}
	sqlite3_finalize(st);
	st = db_prepare(E.db, "SELECT coalesce(max(id), 0) FROM sample");
	int64_t newest = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	int rc = ledger_apply(d.samples, d.n_samples);
	if (rc == 0 && newest > from)
		rc = db_meta_set(E.db, "alert_alloc_sample", newest);
	if (d.n_samples)
		log_info("alerts: allocation ledger caught up on %zu samples", d.n_samples);
	if (at_start)
		E.dirty.max_sample_id = newest;
	dirty_free(&d);
	return rc;
}

/* ---- passes ---- */

static void refresh_plans(void)
{
	int64_t version = db_meta_get(E.db, "registry_version", 0);
	if (version == E.plans_version)
		return;
	plan_set_free(&E.plans);
	if (plan_load(E.db, &E.plans) < 0)
		log_error_rl("alerts: loading milestone plans failed: %s", sqlite3_errmsg(E.db));
	E.plans_version = version;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The subjects of a partial pass, each once, as a JSON array for json_each(). */
static char *ids_json(struct id_set *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, cmp_id);
	json_t *a = json_array();
	for (size_t i = 0; i < s->n; i++)
		if (i == 0 || s->v[i] != s->v[i - 1])
			json_array_append_new(a, json_integer(s->v[i]));
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

/* One pass at `now`: every rule (full), or the rules d names for the subjects it names. */
static int run_pass(int64_t now, struct dirty *d, int full)
{
	if (E.ledger_behind && ledger_catch_up(0) == 0)
		E.ledger_behind = 0;
	if (!E.ledger_behind && ledger_apply(d->samples, d->n_samples) < 0)
		E.ledger_behind = 1;
	if (E.ledger_behind)
		return -1; /* the money rules would read a ledger with a hole */
	refresh_plans();
	struct alert_pass p = {.db = E.db, .opt = &E.opt, .now = now, .today = cst_day(now), .plans = &E.plans,
			       .dup_hwm = -1};
	int64_t started_ms = mono_ms();
	int rc = db_exec(E.db, "BEGIN"); /* one snapshot for every rule of the pass */
	if (rc == 0 && (full || d->payments))
		rc |= alert_rules_payments(&p);
	if (rc == 0 && (full || d->alloc.n)) {
		char *scope = full ? NULL : ids_json(&d->alloc);
		rc |= alert_rules_alloc(&p, scope);
		p.scope[ALERT_ALLOC_DELAYED] = scope;
		p.scope[ALERT_IDLE_FUNDS] = scope ? xstrdup(scope) : NULL;
	}
	if (rc == 0 && (full || d->registry)) {
		rc |= alert_rules_projects(&p, NULL) | alert_rules_milestones(&p);
	} else if (rc == 0 && d->projects.n) {
		char *scope = ids_json(&d->projects);
		rc |= alert_rules_projects(&p, scope);
		free(scope);
	}
	if (rc == 0 && (full || d->monitoring))
		rc |= alert_rules_monitoring(&p);
	if (rc == 0 && (full || d->villages.n)) {
		char *scope = full ? NULL : ids_json(&d->villages);
		rc |= alert_rules_villages(&p, scope);
		free(scope);
	}
	db_exec(E.db, "COMMIT");

	int64_t read_ms = mono_ms();
	struct alert_store s;
	alert_store_init(&s, E.db);
	if (rc == 0)
		rc = db_begin(E.db);
	for (int r = 0; rc == 0 && r < ALERT_RULES; r++)
		rc = alert_reconcile(&p, &s, (enum alert_rule_id)r);
	if (rc == 0)
		rc = alert_timers(&p, &s);
	if (rc == 0 && p.dup_hwm >= 0)
		rc = db_meta_set(E.db, "alert_dup_payment", p.dup_hwm);
	if (rc == 0 && d->max_sample_id > 0)
		rc = db_meta_set(E.db, "alert_alloc_sample", d->max_sample_id);
	size_t transitions = 0;
	for (struct alert_note *n = s.notes; n; n = n->next)
		transitions++;
	if (rc == 0 && db_commit(E.db) == 0) {
		alert_store_deliver(&s);
		log_debug("alerts: %s pass: rules %lld ms, transitions %lld ms, %zu transitions", full ? "full" : "partial",
			  (long long)(read_ms - started_ms), (long long)(mono_ms() - read_ms), transitions);
	} else {
		rc = -1;
		db_rollback(E.db);
		log_error_rl("alerts: an evaluation pass failed: %s", sqlite3_errmsg(E.db));
	}
	alert_store_fini(&s);
	for (int r = 0; r < ALERT_RULES; r++) {
		alert_cands_free(&p.cands[r]);
		free(p.scope[r]);
	}
	atomic_fetch_add(&passes, 1);
	return rc;
}

static int pass_with(int64_t now, int full)
{
	struct dirty d = take_dirty();
	int rc = run_pass(now, &d, full);
	dirty_free(&d);
	return rc;
}

int alert_evaluate_now(int64_t now)
{
	return E.db && !E.running ? pass_with(now, 1) : -1;
}

int alert_evaluate_dirty_now(int64_t now)
{
	return E.db && !E.running ? pass_with(now, 0) : -1;
}

static void *engine_main(void *arg)
{
	(void)arg;
	int64_t next_full = mono_ms(); /* a full pass at once: time moved while we were away */
	pthread_mutex_lock(&E.lock);
	while (!E.stopping) {
		int64_t now_ms = mono_ms(), due = next_full;
		if (E.dirty_since_ms && E.dirty_since_ms + E.opt.dirty_delay_ms < due)
			due = E.dirty_since_ms + E.opt.dirty_delay_ms;
		if (now_ms < due) {
			struct timespec until = {.tv_sec = (time_t)(due / 1000), .tv_nsec = (long)(due % 1000) * 1000000};
			pthread_cond_timedwait(&E.cond, &E.lock, &until);
			continue;
		}
		int full = now_ms >= next_full;
		pthread_mutex_unlock(&E.lock);
		int rc = pass_with(engine_now(), full);
		if (full)
			next_full = mono_ms() + E.opt.eval_interval_s * 1000;
		if (rc < 0) /* what it took is lost: a full pass soon sees everything again */
			next_full = mono_ms() + 1000;
		pthread_mutex_lock(&E.lock);
	}
	pthread_mutex_unlock(&E.lock);
	return NULL;
}

int alert_engine_start(const struct alert_options *opt, char *err, size_t errlen)
{
	if (E.db) {
		snprintf(err, errlen, "the alert engine is already running");
		return -1;
	}
	E.opt = *opt;
	if (E.opt.eval_interval_s < 1)
		E.opt.eval_interval_s = 1;
	if (alert_metrics_init() < 0) {
		snprintf(err, errlen, "the metric catalog lacks the metrics the alert rules need");
		return -1;
	}
	E.db = db_open(opt->db_path, DB_SYNC_NORMAL, err, errlen);
	if (!E.db)
		return -1;
	E.stopping = 0;
	E.plans_version = -1;
	E.ledger_behind = 0;
	if (ledger_catch_up(1) < 0) {
		snprintf(err, errlen, "alert engine: the allocation ledger cannot catch up: %s", sqlite3_errmsg(E.db));
		db_close(E.db);
		E.db = NULL;
		return -1;
	}
	alert_cache_load(E.db, engine_now(), E.opt.resolved_keep_s);
	atomic_store(&engine_active, 1);
	if (!opt->manual) {
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_destroy(&E.cond);
		pthread_cond_init(&E.cond, &attr);
		pthread_condattr_destroy(&attr);
		if (pthread_create(&E.thread, NULL, engine_main, NULL) != 0) {
			snprintf(err, errlen, "cannot start the alert engine thread");
			atomic_store(&engine_active, 0);
			alert_cache_clear();
			db_close(E.db);
			E.db = NULL;
			return -1;
		}
		E.running = 1;
	}
	return 0;
}

void alert_engine_stop(void)
{
	if (E.running) {
		pthread_mutex_lock(&E.lock);
		E.stopping = 1;
		pthread_cond_signal(&E.cond);
		pthread_mutex_unlock(&E.lock);
		pthread_join(E.thread, NULL);
		E.running = 0;
		pthread_cond_destroy(&E.cond);
		pthread_cond_init(&E.cond, NULL);
	}
	atomic_store(&engine_active, 0);
	/* What was observed but not evaluated needs nothing kept: the next start's full pass sees it. */
	dirty_free(&E.dirty);
	E.dirty_since_ms = 0;
	plan_set_free(&E.plans);
	alert_cache_clear();
	db_close(E.db);
	E.db = NULL;
}

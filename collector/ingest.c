/*
 * ingest: the request-level half of ingest. Authenticates tokens against
 * their SHA-256, checks the envelope against the message's schema, replays
 * the first verdict of a batch_id seen before, wraps each request in a
 * SAVEPOINT (a failed request leaves its neighbours in the group commit
 * untouched) and builds the JSON verdict.
 */
#include "ingest_int.h"

#include "auth.h"
#include "catalog.h"
#include "conf.h"
#include "db.h"
#include "embedded.h"
#include "fault.h"
#include "log.h"
#include "regcode.h"
#include "stats.h"
#include "xalloc.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const struct {
	const char *name, *path, *schema, *array;
} kinds[ING_KINDS] = {
	[ING_SAMPLES] = {"samples", "/api/v1/ingest/samples", "ingest-samples.json", "samples"},
	[ING_PAYMENT_BATCH] = {"payment_batches", "/api/v1/ingest/payment-batch",
			       "ingest-payment-batch.json", "payments"},
	[ING_PAYMENT_RESULTS] = {"payment_results", "/api/v1/ingest/payment-results",
				 "ingest-payment-results.json", "results"},
	[ING_PROGRESS] = {"progress", "/api/v1/ingest/progress", "ingest-progress.json", "reports"},
	[ING_MILESTONES] = {"milestones", "/api/v1/ingest/milestones", "ingest-milestones.json", "milestones"},
	[ING_MONITORING] = {"monitoring", "/api/v1/ingest/monitoring", "ingest-monitoring.json", "households"},
};

const char *ingest_kind_name(enum ingest_kind kind) { return kinds[kind].name; }

int ingest_kind_from_path(const char *path, enum ingest_kind *kind)
{
	for (int k = 0; k < ING_KINDS; k++)
		if (strcmp(path, kinds[k].path) == 0) {
			*kind = (enum ingest_kind)k;
			return 0;
		}
	return -1;
}

static int64_t wall_clock(void) { return (int64_t)time(NULL); }

struct ingest_ctx *ingest_ctx_new(sqlite3 *db)
{
	xalloc_json_install(); /* so that a failed allocation inside Jansson is noticed */
	struct ingest_ctx *ctx = xcalloc(1, sizeof *ctx);
	ctx->db = db;
	ctx->now = wall_clock;
	ctx->tokens_data_version = -1;
	for (int k = 0; k < ING_KINDS; k++) {
		const struct embedded_file *f = embedded_find(kinds[k].schema);
		char err[256] = "not embedded";
		ctx->schema[k] = f ? jschema_load((const char *)f->data, f->len, err, sizeof err) : NULL;
		if (!ctx->schema[k]) {
			log_error("schema %s: %s", kinds[k].schema, err);
			abort();
		}
	}
	ctx->st_batch_find = db_prepare(db, "SELECT verdict FROM ingest_batch WHERE source_id = ?1 AND kind = ?2 AND batch_key = ?3");
	ctx->st_batch_insert = db_prepare(db, "INSERT INTO ingest_batch(source_id, kind, batch_key, received, accepted, rejected, verdict) VALUES (?1, ?2, ?3, ?4, 0, 0, '')");
	ctx->st_batch_verdict = db_prepare(db, "UPDATE ingest_batch SET accepted = ?2, rejected = ?3, verdict = ?4 WHERE id = ?1");
	ctx->st_sample_insert = db_prepare(db, "INSERT INTO sample(entity_id, metric, ts, value, batch_id) VALUES (?1, ?2, ?3, ?4, ?5)");
	ctx->st_latest_upsert = db_prepare(db,
		"INSERT INTO latest(key, ts, value) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE"
		" SET ts = excluded.ts, value = excluded.value WHERE excluded.ts >= latest.ts");
	ctx->st_latest_get = db_prepare(db, "SELECT ts, value FROM latest WHERE key = ?1");
	ctx->st_paybatch_find = db_prepare(db, "SELECT id, department, fund_type, period, funds_at_bank FROM pay_batch WHERE batch_no = ?1");
	ctx->st_paybatch_insert = db_prepare(db, "INSERT INTO pay_batch(batch_no, department, fund_type, period, submitted, funds_at_bank, source_id, received) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	ctx->st_paybatch_funds = db_prepare(db, "UPDATE pay_batch SET funds_at_bank = ?2 WHERE id = ?1");
	ctx->st_payment_find = db_prepare(db,
		"SELECT p.id, p.batch_id, p.household, p.card_masked, p.amount_fen, p.village_id, p.status,"
		" p.reissued, p.reissue_of, e.key FROM payment p JOIN entity e ON e.id = p.village_id WHERE p.payment_no = ?1");
	ctx->st_payment_insert = db_prepare(db,
		"INSERT INTO payment(payment_no, batch_id, household, card_masked, amount_fen, village_id, reissue_of, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	ctx->st_payment_result = db_prepare(db, "UPDATE payment SET status = ?2, reason = ?3, result_at = ?4, updated = ?5 WHERE id = ?1");
	ctx->st_payment_reissued = db_prepare(db, "UPDATE payment SET reissued = 1, updated = ?2 WHERE id = ?1");
	ctx->st_progress_insert = db_prepare(db, "INSERT INTO progress_report(project_id, ts, progress_pct, stage, note, batch_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	ctx->st_stage_update = db_prepare(db, "UPDATE project SET stage = ?2, updated = ?3 WHERE entity_id = ?1");
	ctx->st_milestone_find = db_prepare(db, "SELECT id, planned_date, weight, done_date FROM milestone WHERE project_id = ?1 AND name = ?2");
	ctx->st_milestone_insert = db_prepare(db, "INSERT INTO milestone(project_id, name, planned_date, weight, done_date, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	ctx->st_milestone_update = db_prepare(db, "UPDATE milestone SET planned_date = ?2, weight = ?3, done_date = ?4, updated = ?5 WHERE id = ?1");
	ctx->st_monitor_find = db_prepare(db,
		"SELECT e.key FROM monitor_household m JOIN entity e ON e.id = m.village_id WHERE m.household = ?1");
	/* ?10-?12: whether the item carries that time (absent keeps, null clears). */
	ctx->st_monitor_upsert = db_prepare(db,
		"INSERT INTO monitor_household(household, village_id, category, flagged_at, identified_at, helped_at,"
		" risk_removed_at, batch_id, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT(household) DO UPDATE SET village_id = excluded.village_id, category = excluded.category,"
		" flagged_at = excluded.flagged_at,"
		" identified_at = CASE WHEN ?10 THEN excluded.identified_at ELSE identified_at END,"
		" helped_at = CASE WHEN ?11 THEN excluded.helped_at ELSE helped_at END,"
		" risk_removed_at = CASE WHEN ?12 THEN excluded.risk_removed_at ELSE risk_removed_at END,"
		" batch_id = excluded.batch_id, updated = excluded.updated");
	return ctx;
}

void ingest_ctx_free(struct ingest_ctx *ctx)
{
	if (!ctx)
		return;
	sqlite3_stmt **all[] = {
		&ctx->st_batch_find, &ctx->st_batch_insert, &ctx->st_batch_verdict, &ctx->st_sample_insert,
		&ctx->st_latest_upsert, &ctx->st_latest_get, &ctx->st_paybatch_find, &ctx->st_paybatch_insert,
		&ctx->st_paybatch_funds, &ctx->st_payment_find, &ctx->st_payment_insert, &ctx->st_payment_result,
		&ctx->st_payment_reissued, &ctx->st_progress_insert, &ctx->st_stage_update,
		&ctx->st_milestone_find, &ctx->st_milestone_insert, &ctx->st_milestone_update,
		&ctx->st_monitor_find, &ctx->st_monitor_upsert,
	};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		sqlite3_finalize(*all[i]);
	for (int k = 0; k < ING_KINDS; k++)
		jschema_free(ctx->schema[k]);
	free(ctx->tokens);
	free(ctx);
}

void ingest_set_clock(struct ingest_ctx *ctx, int64_t (*now)(void)) { ctx->now = now; }
void ingest_set_rrd_last(struct ingest_ctx *ctx, int64_t (*last)(int64_t)) { ctx->rrd_last = last; }

/* ---- tokens ---- */

/* Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up on every
 * digest, and every API request hashes its token. Kept for the process. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void ingest_token_hash(const char *token, unsigned char out[32])
{
	unsigned int len = 32;
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(token, strlen(token), out, &len, sha256 ? sha256 : EVP_sha256(), NULL);
}

int ingest_token_generate(char *buf, size_t cap)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[43];
	if (cap < 48 || getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	memcpy(buf, "fpm_", 4);
	for (size_t i = 0; i < sizeof raw; i++)
		buf[4 + i] = alphabet[raw[i] & 63];
	buf[4 + sizeof raw] = '\0';
	return 0;
}

static void load_tokens(struct ingest_ctx *ctx)
{
	sqlite3_stmt *st = db_prepare(ctx->db,
		"SELECT id, name, token_hash, scope, kinds FROM ingest_token WHERE revoked IS NULL");
	free(ctx->tokens);
	ctx->tokens = NULL;
	ctx->n_tokens = 0;
	size_t cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 2) != 32)
			continue;
		if (ctx->n_tokens == cap) {
			cap = cap ? cap * 2 : 8;
			ctx->tokens = xreallocarray(ctx->tokens, cap, sizeof *ctx->tokens);
		}
		struct ingest_token_entry *t = &ctx->tokens[ctx->n_tokens++];
		memset(t, 0, sizeof *t);
		memcpy(t->hash, sqlite3_column_blob(st, 2), 32);
		t->src.id = sqlite3_column_int64(st, 0);
		snprintf(t->src.name, sizeof t->src.name, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(t->src.scope, sizeof t->src.scope, "%s", (const char *)sqlite3_column_text(st, 3));
		const char *k = (const char *)sqlite3_column_text(st, 4);
		for (int i = 0; i < ING_KINDS; i++) {
			size_t n = strlen(kinds[i].name);
			for (const char *p = k; p && (p = strstr(p, kinds[i].name)); p += n)
				if ((p == k || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
					t->src.kinds |= 1u << i;
		}
	}
	sqlite3_finalize(st);
}

int ingest_authenticate(struct ingest_ctx *ctx, const char *token, struct ingest_source *src)
{
	/* data_version moves when another connection (fpmctl) commits: reload then. */
	sqlite3_stmt *st = db_prepare(ctx->db, "PRAGMA data_version");
	int64_t version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -2;
	sqlite3_finalize(st);
	if (version != ctx->tokens_data_version) {
		load_tokens(ctx);
		ctx->tokens_data_version = version;
	}
	unsigned char hash[32];
	ingest_token_hash(token, hash);
	for (size_t i = 0; i < ctx->n_tokens; i++) {
		unsigned char diff = 0;
		for (int b = 0; b < 32; b++)
			diff |= (unsigned char)(hash[b] ^ ctx->tokens[i].hash[b]);
		if (diff == 0) {
			*src = ctx->tokens[i].src;
			return 0;
		}
	}
	return -1;
}

/* ---- verdicts ---- */

void verdict_reject(struct verdict *v, long index, const char *field, const char *reason)
{
	if (index >= 0)
		v->rejected++;
	if (json_array_size(v->errors) >= INGEST_MAX_ERRORS) {
		v->truncated = 1;
		return;
	}
	json_array_append_new(v->errors, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index,
						   "field", field, "reason", reason));
}

void verdict_rejectf(struct verdict *v, long index, const char *field, const char *fmt, ...)
{
	char reason[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	verdict_reject(v, index, field, reason);
}

int ingest_check_item(struct ingest_ctx *ctx, enum ingest_kind kind, const char *arr,
		      size_t i, json_t *item, struct verdict *v)
{
	struct jschema_error errs[4];
	char base[48];
	snprintf(base, sizeof base, "%s[%zu]", arr, i);
	size_t n = jschema_validate(ctx->schema[kind], "item", item, base, errs, 4);
	if (n == 0)
		return 0;
	v->rejected++;
	for (size_t e = 0; e < n && e < 4; e++) {
		if (json_array_size(v->errors) >= INGEST_MAX_ERRORS) {
			v->truncated = 1;
			break;
		}
		json_array_append_new(v->errors, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i,
							   "field", errs[e].path, "reason", errs[e].reason));
	}
	return -1;
}

const char *ingest_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int ingest_in_scope(const struct ingest_ctx *ctx, int32_t entity)
{
	if (!ctx->src->scope[0])
		return 1;
	const struct reg_entity *e = &ctx->reg->e[entity];
	if (e->kind == REG_PROJECT)
		e = e->parent >= 0 ? &ctx->reg->e[e->parent] : NULL;
	return e && regcode_is_within(e->key, ctx->src->scope);
}

/* ---- samples and cumulative metrics ---- */

int ingest_store_sample(struct ingest_ctx *ctx, int64_t entity_id, int16_t kind, int metric, int64_t ts, double value)
{
	sqlite3_stmt *st = ctx->st_sample_insert;
	sqlite3_bind_int64(st, 1, entity_id);
	sqlite3_bind_int(st, 2, metric);
	sqlite3_bind_int64(st, 3, ts);
	sqlite3_bind_double(st, 4, value);
	sqlite3_bind_int64(st, 5, ctx->batch_row);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	int64_t sample_id = sqlite3_last_insert_rowid(ctx->db);
	st = ctx->st_latest_upsert;
	sqlite3_bind_int64(st, 1, entity_id * 256 + metric);
	sqlite3_bind_int64(st, 2, ts);
	sqlite3_bind_double(st, 3, value);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	struct ingest_effects *fx = ctx->fx;
	if (fx->n_samples == fx->cap_samples) {
		fx->cap_samples = fx->cap_samples ? fx->cap_samples * 2 : 1024;
		fx->samples = xreallocarray(fx->samples, fx->cap_samples, sizeof *fx->samples);
	}
	fx->samples[fx->n_samples++] = (struct ingest_sample){
		.entity_id = entity_id, .metric = (int16_t)metric, .kind = kind,
		.ts = ts, .value = value, .sample_id = sample_id,
	};
	return 0;
}

void ingest_accumulate(struct ingest_ctx *ctx, int32_t entity, int metric, int64_t ts, double delta)
{
	int64_t id = ctx->reg->e[entity].id;
	int16_t kind = (int16_t)ctx->reg->e[entity].kind;
	for (size_t i = 0; i < ctx->n_accum; i++) {
		struct ingest_accum *a = &ctx->accum[i];
		if (a->entity_id == id && a->metric == metric) {
			a->delta += delta;
			if (ts > a->ts)
				a->ts = ts;
			return;
		}
	}
	if (ctx->n_accum == INGEST_MAX_ACCUM && ingest_flush_accum(ctx) < 0)
		log_error_rl("ingest: flushing cumulative metrics failed");
	ctx->accum[ctx->n_accum++] = (struct ingest_accum){id, kind, metric, ts, delta};
}

int ingest_flush_accum(struct ingest_ctx *ctx)
{
	int rc = 0;
	for (size_t i = 0; i < ctx->n_accum && rc == 0; i++) {
		struct ingest_accum *a = &ctx->accum[i];
		sqlite3_stmt *st = ctx->st_latest_get;
		sqlite3_bind_int64(st, 1, a->entity_id * 256 + a->metric);
		int64_t ts = a->ts;
		double value = 0;
		if (sqlite3_step(st) == SQLITE_ROW) {
			int64_t old_ts = sqlite3_column_int64(st, 0);
			value = sqlite3_column_double(st, 1);
			if (old_ts > ts) /* a cumulative series never steps back in time */
				ts = old_ts;
		}
		sqlite3_reset(st);
		value += a->delta;
		if (value < 0) /* never below zero, whatever order results arrive in */
			value = 0;
		/* A new total is news now: a bank result for yesterday must still move
		 * today's chart, so it goes after the file's last written row. */
		int64_t written = ctx->rrd_last ? ctx->rrd_last(a->entity_id) : 0;
		if (ts <= written)
			ts = written + 1;
		rc = ingest_store_sample(ctx, a->entity_id, a->kind, a->metric, ts, value);
	}
	ctx->n_accum = 0;
	return rc;
}

/* ---- requests ---- */

static char *dump_verdict(const char *batch_id, const struct verdict *v, int replayed, size_t *len)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:O}", "batch_id", batch_id,
			      "accepted", (json_int_t)v->accepted, "rejected", (json_int_t)v->rejected,
			      "duplicates", (json_int_t)v->duplicates, "late", (json_int_t)v->late,
			      "errors", v->errors);
	if (v->truncated)
		json_object_set_new(o, "errors_truncated", json_true());
	if (replayed)
		json_object_set_new(o, "replayed", json_true());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	*len = text ? strlen(text) : 0;
	return text;
}

static char *error_body(const char *error, const char *field, const char *reason, size_t *len)
{
	json_t *o = json_pack("{s:s}", "error", error);
	if (o && field)
		json_object_set_new(o, "field", json_string(field));
	if (o && reason)
		json_object_set_new(o, "reason", json_string(reason));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	*len = text ? strlen(text) : 0;
	return text; /* NULL only when memory ran out: see refusal() */
}

char *ingest_unavailable(int sqlite_rc, size_t *len)
{
	static const struct {
		const char *error, *reason;
	} why[STATS_UNAV_REASONS] = {
		[STATS_UNAV_BUSY] = {"database busy", "another process holds the database write lock; nothing was stored, retry with the same batch_id"},
		[STATS_UNAV_FULL] = {"database full", "the disk holding the database is full; nothing was stored, retry with the same batch_id"},
		[STATS_UNAV_IO] = {"storage unavailable", "the database could not be written; nothing was stored, retry with the same batch_id"},
		[STATS_UNAV_MEMORY] = {"out of memory", "the server could not allocate memory for this request; nothing was stored, retry with the same batch_id"},
	};
	enum stats_unavailable r = stats_unavailable_of(sqlite_rc);
	stats_add(&stats.ingest_unavailable[r], 1);
	/* Fixed text, no Jansson: this must work when memory has just run out. */
	char buf[256];
	int n = snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"reason\":\"%s\"}", why[r].error, why[r].reason);
	*len = (size_t)n;
	return xstrdup(buf);
}

int ingest_storage_error(const struct ingest_ctx *ctx) { return ctx->storage_rc; }

/* A refusal's reply; when even that cannot be built, memory is what failed. */
static int refusal(int status, char *body, const size_t *body_len, char **reply, size_t *reply_len)
{
	if (!body) {
		*reply = ingest_unavailable(SQLITE_NOMEM, reply_len);
		return 503;
	}
	*reply = body;
	*reply_len = *body_len; /* read here: set by error_body, an argument evaluated before the call */
	return status;
}

/* A re-sent batch_id: answer with the verdict stored the first time. */
static char *find_replay(struct ingest_ctx *ctx, enum ingest_kind kind, const char *batch_id)
{
	sqlite3_stmt *st = ctx->st_batch_find;
	sqlite3_bind_int64(st, 1, ctx->src->id);
	sqlite3_bind_text(st, 2, kinds[kind].name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, batch_id, -1, SQLITE_STATIC);
	char *verdict = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		if (o) {
			json_object_set_new(o, "replayed", json_true());
			verdict = json_dumps(o, JSON_COMPACT);
			json_decref(o);
		}
	}
	sqlite3_reset(st);
	return verdict;
}

static int (*const handlers[ING_KINDS])(struct ingest_ctx *, json_t *, struct verdict *, struct ingest_prepared *) = {
	[ING_SAMPLES] = ingest_samples,
	[ING_PAYMENT_BATCH] = ingest_payment_batch,
	[ING_PAYMENT_RESULTS] = ingest_payment_results,
	[ING_PROGRESS] = ingest_progress,
	[ING_MILESTONES] = ingest_milestones,
	[ING_MONITORING] = ingest_monitoring,
};

/* -1 with ctx->storage_rc set: the request must be rolled back and answered 503. */
static int store_request(struct ingest_ctx *ctx, struct ingest_prepared *p, char **reply, size_t *reply_len)
{
	enum ingest_kind kind = p->kind;
	const char *batch_id = p->batch_id;
	struct verdict *v = &p->v;
	sqlite3_stmt *st = ctx->st_batch_insert;
	sqlite3_bind_int64(st, 1, ctx->src->id);
	sqlite3_bind_text(st, 2, kinds[kind].name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, batch_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ctx->now_ts);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto failed;
	ctx->batch_row = sqlite3_last_insert_rowid(ctx->db);
	ctx->n_accum = 0;
	if (handlers[kind](ctx, p->doc, v, p) < 0 || ingest_flush_accum(ctx) < 0) {
		rc = sqlite3_extended_errcode(ctx->db);
		goto failed;
	}
	*reply = dump_verdict(batch_id, v, 0, reply_len);
	if (!*reply || xalloc_json_failures() != ctx->json_failures) { /* a verdict missing an error would mislead */
		rc = SQLITE_NOMEM;
		goto failed;
	}
	st = ctx->st_batch_verdict;
	sqlite3_bind_int64(st, 1, ctx->batch_row);
	sqlite3_bind_int64(st, 2, (int64_t)v->accepted);
	sqlite3_bind_int64(st, 3, (int64_t)v->rejected);
	sqlite3_bind_text(st, 4, *reply, (int)*reply_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
failed:
	ctx->storage_rc = rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_IOERR : rc;
	return -1;
}

void ingest_prepared_free(struct ingest_prepared *p)
{
	if (!p)
		return;
	json_decref(p->doc);
	json_decref(p->v.errors);
	free(p->items);
	free(p);
}

int ingest_prepare(struct ingest_ctx *ctx, const struct ingest_source *src, enum ingest_kind kind,
		   const char *body, size_t len, struct ingest_prepared **out, char **reply, size_t *reply_len)
{
	*out = NULL;
	*reply = NULL;
	size_t n = 0;
	if (!(src->kinds & (1u << kind)))
		return refusal(403, error_body("forbidden", NULL, "this token or account may not send this kind of data", &n),
			       &n, reply, reply_len);
	json_error_t jerr;
	unsigned long json_failures = xalloc_json_failures();
	/* Jansson 2.14's lexer ignores a failed growth of its token buffer
	 * (lex_save) and then reads past the end: injected failures stay out of
	 * the parser (its other failures are counted and answered below). */
	int faults = fault_thread_alloc(0);
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	fault_thread_alloc(faults);
	/* Jansson reports some failed allocations as syntax errors: count them. */
	if (!doc && xalloc_json_failures() != json_failures)
		return refusal(503, NULL, NULL, reply, reply_len);
	if (!doc) {
		char reason[256];
		snprintf(reason, sizeof reason, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return refusal(400, error_body("invalid JSON", NULL, reason, &n), &n, reply, reply_len);
	}
	struct jschema_error errs[1];
	if (jschema_validate_envelope(ctx->schema[kind], NULL, doc, kinds[kind].array, errs, 1)) {
		json_decref(doc);
		return refusal(400, error_body("invalid request", errs[0].path[0] ? errs[0].path : "(body)",
					       errs[0].reason, &n), &n, reply, reply_len);
	}
	/* The schemas cap items at their own maxItems; the configured limit is lower or equal. */
	size_t n_items = json_array_size(json_object_get(doc, kinds[kind].array));
	if (conf.max_batch_items > 0 && n_items > (size_t)conf.max_batch_items) {
		char reason[128];
		snprintf(reason, sizeof reason, "%zu items; at most %lld per request (max_batch_items): split the batch",
			 n_items, (long long)conf.max_batch_items);
		json_decref(doc);
		return refusal(413, error_body("too many items", kinds[kind].array, reason, &n), &n, reply, reply_len);
	}
	struct ingest_prepared *p = xcalloc(1, sizeof *p);
	p->kind = kind;
	p->src = *src;
	p->doc = doc;
	p->batch_id = ingest_str(doc, "batch_id");
	p->now = ctx->now();
	p->v.errors = json_array();
	int ok = p->v.errors != NULL;
	if (ok && kind == ING_SAMPLES) { /* the hot path: judge every item here, off the writer */
		ctx->src = &p->src;
		ctx->now_ts = p->now;
		ctx->reg = reg_acquire();
		ok = ingest_samples_prepare(ctx, p) == 0;
		reg_release(ctx->reg);
		ctx->reg = NULL;
	}
	if (!ok || xalloc_json_failures() != json_failures) { /* memory ran out while judging: store nothing */
		ingest_prepared_free(p);
		return refusal(503, NULL, NULL, reply, reply_len);
	}
	*out = p;
	return 0;
}

int ingest_commit_prepared(struct ingest_ctx *ctx, struct ingest_prepared *p, struct ingest_effects *fx,
			   char **reply, size_t *reply_len)
{
	*reply = NULL;
	ctx->src = &p->src;
	ctx->fx = fx;
	ctx->now_ts = p->now;
	ctx->storage_rc = 0;
	ctx->json_failures = xalloc_json_failures();
	int status = 200;
	size_t fx_mark = fx->n_samples;
	int64_t reg_mark = fx->registry_changed, monitoring_mark = fx->monitoring_changed;
	if (db_exec(ctx->db, "SAVEPOINT request") < 0) {
		ctx->storage_rc = sqlite3_extended_errcode(ctx->db);
		*reply = ingest_unavailable(ctx->storage_rc, reply_len);
		return 503;
	}
	ctx->reg = reg_acquire();
	*reply = find_replay(ctx, p->kind, p->batch_id);
	if (*reply) {
		*reply_len = strlen(*reply);
	} else if (store_request(ctx, p, reply, reply_len) < 0) {
		log_error_rl("ingest: storing a %s batch failed: %s", kinds[p->kind].name, sqlite3_errstr(ctx->storage_rc));
		free(*reply);
		*reply = NULL;
		status = 503;
	} else if (p->v.envelope_status) {
		free(*reply);
		*reply = dump_verdict(p->batch_id, &p->v, 0, reply_len);
		status = p->v.envelope_status;
		if (!*reply) {
			ctx->storage_rc = SQLITE_NOMEM;
			status = 503;
		}
	}
	reg_release(ctx->reg);
	ctx->reg = NULL;
	if (status == 200 && p->src.id < 0) { /* a person changed project data: on the record */
		char action[40], detail[64];
		snprintf(action, sizeof action, "ingest.%s", kinds[p->kind].name);
		snprintf(detail, sizeof detail, "accepted=%zu rejected=%zu", p->v.accepted, p->v.rejected);
		auth_audit(ctx->db, p->src.name, action, p->batch_id, detail, p->src.peer, p->now);
	}
	if (status == 200) {
		db_exec(ctx->db, "RELEASE request");
	} else {
		/* SQLITE_FULL, IOERR and BUSY may have rolled the whole transaction
		 * back already (autocommit again): then there is no savepoint left. */
		if (!sqlite3_get_autocommit(ctx->db)) {
			db_exec(ctx->db, "ROLLBACK TO request");
			db_exec(ctx->db, "RELEASE request");
		}
		fx->n_samples = fx_mark; /* nothing of this request reaches the RRD writer */
		fx->registry_changed = reg_mark;
		fx->monitoring_changed = monitoring_mark;
		if (status == 503)
			*reply = ingest_unavailable(ctx->storage_rc, reply_len);
	}
	return status;
}

int ingest_handle(struct ingest_ctx *ctx, const struct ingest_source *src,
		  enum ingest_kind kind, const char *body, size_t len,
		  struct ingest_effects *fx, char **reply, size_t *reply_len)
{
	struct ingest_prepared *p;
	int status = ingest_prepare(ctx, src, kind, body, len, &p, reply, reply_len);
	if (status)
		return status;
	status = ingest_commit_prepared(ctx, p, fx, reply, reply_len);
	ingest_prepared_free(p);
	return status;
}

void ingest_effects_reset(struct ingest_effects *fx)
{
	fx->n_samples = 0;
	fx->registry_changed = 0;
	fx->monitoring_changed = 0;
}

void ingest_effects_free(struct ingest_effects *fx)
{
	free(fx->samples);
	memset(fx, 0, sizeof *fx);
}

/*
 * ingest_int: what ingest.c shares with the per-message handlers in
 * ingest_*.c: the context with its prepared statements, the verdict builder
 * and the sample writer. Not for use outside the ingest module.
 */
#ifndef INGEST_INT_H
#define INGEST_INT_H

#include "ingest.h"
#include "jschema.h"

#include <jansson.h>

#define INGEST_MAX_ERRORS 1000
#define INGEST_MAX_ACCUM  4096

struct ingest_token_entry {
	unsigned char hash[32];
	struct ingest_source src;
};

/* Per-request running totals added to cumulative metrics (card payments). */
struct ingest_accum {
	int64_t entity_id;
	int16_t kind;
	int metric;
	int64_t ts;
	double delta;
};

struct ingest_ctx {
	sqlite3 *db;
	int64_t (*now)(void);
	int64_t (*rrd_last)(int64_t entity_id);
	struct jschema *schema[ING_KINDS];
	struct registry *reg;           /* held for the request being handled */
	const struct ingest_source *src;
	struct ingest_effects *fx;
	int64_t batch_row;              /* ingest_batch.id of the request */
	int64_t now_ts;
	/* tokens, reloaded when another connection changed the database */
	struct ingest_token_entry *tokens;
	size_t n_tokens;
	int64_t tokens_data_version;
	/* statements */
	sqlite3_stmt *st_batch_find, *st_batch_insert, *st_batch_verdict;
	sqlite3_stmt *st_sample_insert, *st_latest_upsert, *st_latest_get;
	sqlite3_stmt *st_paybatch_find, *st_paybatch_insert, *st_paybatch_funds;
	sqlite3_stmt *st_payment_find, *st_payment_insert, *st_payment_result, *st_payment_reissued;
	sqlite3_stmt *st_progress_insert, *st_stage_update;
	sqlite3_stmt *st_milestone_find, *st_milestone_insert, *st_milestone_update;
	sqlite3_stmt *st_monitor_find, *st_monitor_upsert;
	struct ingest_accum accum[INGEST_MAX_ACCUM];
	size_t n_accum;
	int storage_rc;                 /* SQLite code of the last refused write (ingest_storage_error) */
	unsigned long json_failures;    /* xalloc_json_failures() when the request began */
};

struct verdict {
	json_t *errors;
	size_t accepted, rejected, duplicates, late;
	int truncated;
	int envelope_status;  /* non-zero: the whole request is refused */
};

/* A sample judged valid before the transaction: stored as it is. */
struct ingest_item {
	int64_t entity_id;
	int16_t kind;
	int16_t metric;
	int64_t ts;
	double value;
};

struct ingest_prepared {
	enum ingest_kind kind;
	struct ingest_source src;
	json_t *doc;
	const char *batch_id;        /* inside doc */
	int64_t now;
	struct verdict v;            /* errors found while preparing */
	struct ingest_item *items;   /* samples only */
	size_t n_items;
};

void verdict_reject(struct verdict *v, long index, const char *field, const char *reason);
void verdict_rejectf(struct verdict *v, long index, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Schema-check item i of `arr`; 0 if valid, else rejected with its errors. */
int ingest_check_item(struct ingest_ctx *ctx, enum ingest_kind kind, const char *arr,
		      size_t i, json_t *item, struct verdict *v);
/* Whether the request's source may write to this entity (scope). */
int ingest_in_scope(const struct ingest_ctx *ctx, int32_t entity);
/* Store one sample (row, latest, effect); -1 on a database error. */
int ingest_store_sample(struct ingest_ctx *ctx, int64_t entity_id, int16_t kind, int metric, int64_t ts, double value);
/* Add to a cumulative metric; written once per request by ingest_flush_accum. */
void ingest_accumulate(struct ingest_ctx *ctx, int32_t entity, int metric, int64_t ts, double delta);
int ingest_flush_accum(struct ingest_ctx *ctx);
/* Resolve arr[i].prop to a current entity of kind `want` in scope, or reject. */
int32_t ingest_entity_for(struct ingest_ctx *ctx, struct verdict *v, const char *arr, size_t i,
			  const char *prop, const char *key, enum reg_kind want);
/* A string field or NULL. */
const char *ingest_str(json_t *obj, const char *key);

int ingest_samples_prepare(struct ingest_ctx *ctx, struct ingest_prepared *p);
int ingest_samples(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *p);
int ingest_payment_batch(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared);
int ingest_payment_results(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared);
int ingest_progress(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared);
int ingest_milestones(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared);
int ingest_monitoring(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared);

#endif

/*
 * ingest_monitoring: households under return-to-poverty monitoring
 * (防返贫监测对象), one item per household with its latest state: when it
 * was flagged at risk, identified, helped, and its risk removed. The alert
 * engine's monitoring_overdue rule reads these rows; each accepted request
 * marks them changed in the effects. A household is kept by the id the
 * payment feed uses, nothing more about the people.
 */
#include "ingest_int.h"

#include "conf.h"
#include "regcode.h"

#include <stdio.h>
#include <string.h>

static const char *const steps[] = {"identified_at", "helped_at", "risk_removed_at"};
#define N_STEPS (sizeof steps / sizeof steps[0])

/* A time of the item: 0 fine (or absent / null), -1 rejected. */
static int check_time(struct ingest_ctx *ctx, json_t *item, size_t i, const char *prop, int64_t not_before,
		      struct verdict *v)
{
	json_t *t = json_object_get(item, prop);
	if (!json_is_integer(t))
		return 0;
	char field[64];
	snprintf(field, sizeof field, "households[%zu].%s", i, prop);
	if (json_integer_value(t) > ctx->now_ts + conf.future_tolerance_s) {
		verdict_reject(v, (long)i, field, "is in the future");
		return -1;
	}
	if (json_integer_value(t) < not_before) {
		verdict_reject(v, (long)i, field, "is before flagged_at");
		return -1;
	}
	return 0;
}

/* A household stored under a village outside the source's scope is not its to change. */
static int stored_elsewhere(struct ingest_ctx *ctx, const char *household)
{
	if (!ctx->src->scope[0])
		return 0;
	sqlite3_stmt *st = ctx->st_monitor_find;
	sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
	int outside = sqlite3_step(st) == SQLITE_ROW &&
		      !regcode_is_within((const char *)sqlite3_column_text(st, 0), ctx->src->scope);
	sqlite3_reset(st);
	return outside;
}

static int store(struct ingest_ctx *ctx, json_t *item, int64_t village_id)
{
	sqlite3_stmt *st = ctx->st_monitor_upsert;
	sqlite3_bind_text(st, 1, ingest_str(item, "household"), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, village_id);
	sqlite3_bind_text(st, 3, ingest_str(item, "category"), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(item, "flagged_at")));
	for (int k = 0; k < (int)N_STEPS; k++) {
		json_t *t = json_object_get(item, steps[k]);
		if (json_is_integer(t))
			sqlite3_bind_int64(st, 5 + k, json_integer_value(t));
		else
			sqlite3_bind_null(st, 5 + k);
		sqlite3_bind_int(st, 10 + k, t != NULL); /* absent: keep what is stored */
	}
	sqlite3_bind_int64(st, 8, ctx->batch_row);
	sqlite3_bind_int64(st, 9, ctx->now_ts);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Item i: stored and counted, or rejected with its field; -1 on a database error. */
static int one_household(struct ingest_ctx *ctx, json_t *item, size_t i, struct verdict *v)
{
	if (ingest_check_item(ctx, ING_MONITORING, "households", i, item, v) < 0)
		return 0;
	int32_t village = ingest_entity_for(ctx, v, "households", i, "village", ingest_str(item, "village"), REG_VILLAGE);
	int64_t flagged = json_integer_value(json_object_get(item, "flagged_at"));
	int bad = village < 0 || check_time(ctx, item, i, "flagged_at", 0, v);
	for (size_t k = 0; !bad && k < N_STEPS; k++)
		bad = check_time(ctx, item, i, steps[k], flagged, v);
	if (bad)
		return 0;
	if (stored_elsewhere(ctx, ingest_str(item, "household"))) {
		char field[64];
		snprintf(field, sizeof field, "households[%zu].household", i);
		verdict_reject(v, (long)i, field, "is kept under a village outside this token's scope");
		return 0;
	}
	if (store(ctx, item, ctx->reg->e[village].id) < 0)
		return -1;
	ctx->fx->monitoring_changed = 1;
	v->accepted++;
	return 0;
}

int ingest_monitoring(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *unused)
{
	(void)unused;
	json_t *items = json_object_get(doc, "households");
	for (size_t i = 0; i < json_array_size(items); i++)
		if (one_household(ctx, json_array_get(items, i), i, v) < 0)
			return -1;
	return 0;
}

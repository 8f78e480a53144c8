/*
 * ingest_projects: progress reports and milestone updates of industry
 * projects. A report's numbers become samples of the project's metrics; a
 * change of life-cycle stage or of the milestone plan changes the registry,
 * so the registry version moves and every thread picks up the new plan.
 */
#include "ingest_int.h"

#include "catalog.h"
#include "conf.h"
#include "cst.h"

#include <stdio.h>
#include <string.h>

static const char *const report_metrics[] = {
	"progress_pct", "alloc_fen", "paid_fen", "reimbursed_fen", "dividends_fen",
	"benef_hh", "benef_poor_hh", "jobs", NULL,
};

static int stage_index(const char *name)
{
	for (int s = 0; reg_stage_names[s]; s++)
		if (strcmp(reg_stage_names[s], name) == 0)
			return s;
	return -1;
}

static int store_report(struct ingest_ctx *ctx, int32_t project, json_t *item, int64_t ts)
{
	const struct reg_entity *e = &ctx->reg->e[project];
	json_t *pct = json_object_get(item, "progress_pct");
	const char *stage = ingest_str(item, "stage"), *note = ingest_str(item, "note");
	sqlite3_stmt *st = ctx->st_progress_insert;
	sqlite3_bind_int64(st, 1, e->id);
	sqlite3_bind_int64(st, 2, ts);
	if (pct)
		sqlite3_bind_double(st, 3, json_number_value(pct));
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, stage, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, ctx->batch_row);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	for (int k = 0; report_metrics[k]; k++) {
		json_t *value = json_object_get(item, report_metrics[k]);
		if (value && ingest_store_sample(ctx, e->id, (int16_t)e->kind, cat_find(report_metrics[k])->index, ts,
						 json_number_value(value)) < 0)
			return -1;
	}
	if (stage && stage_index(stage) != e->stage) {
		st = ctx->st_stage_update;
		sqlite3_bind_int64(st, 1, e->id);
		sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, ctx->now_ts);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE || reg_bump_version(ctx->db) < 0)
			return -1;
		ctx->fx->registry_changed = 1;
	}
	return 0;
}

int ingest_progress(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared)
{
	(void)prepared;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(doc, "reports"), i, item) {
		if (ingest_check_item(ctx, ING_PROGRESS, "reports", i, item, v) < 0)
			continue;
		int32_t project = ingest_entity_for(ctx, v, "reports", i, "project", ingest_str(item, "project"), REG_PROJECT);
		if (project < 0)
			continue;
		int64_t ts = json_integer_value(json_object_get(item, "ts"));
		if (ts > ctx->now_ts + conf.future_tolerance_s) {
			char field[64];
			snprintf(field, sizeof field, "reports[%zu].ts", i);
			verdict_reject(v, (long)i, field, "is in the future");
			continue;
		}
		if (store_report(ctx, project, item, ts) < 0)
			return -1;
		if (ctx->rrd_last && ts <= ctx->rrd_last(ctx->reg->e[project].id))
			v->late++;
		v->accepted++;
	}
	return 0;
}

/* A date field: 0 ok (or absent), -1 rejected. `day` is left alone if absent. */
static int check_date(struct ingest_ctx *ctx, json_t *item, const char *prop, size_t i,
		      int not_future, struct verdict *v)
{
	const char *text = ingest_str(item, prop);
	if (!text)
		return 0;
	char field[64];
	snprintf(field, sizeof field, "milestones[%zu].%s", i, prop);
	int64_t day;
	const char *why;
	if (cst_date_parse(text, &day, &why) < 0) {
		verdict_reject(v, (long)i, field, why);
		return -1;
	}
	if (not_future && day > cst_day(ctx->now_ts)) {
		verdict_reject(v, (long)i, field, "is in the future (dates are in Asia/Shanghai)");
		return -1;
	}
	return 0;
}

int ingest_milestones(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared)
{
	(void)prepared;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(doc, "milestones"), i, item) {
		if (ingest_check_item(ctx, ING_MILESTONES, "milestones", i, item, v) < 0)
			continue;
		int32_t project = ingest_entity_for(ctx, v, "milestones", i, "project", ingest_str(item, "project"), REG_PROJECT);
		if (project < 0 || check_date(ctx, item, "planned_date", i, 0, v) < 0 ||
		    check_date(ctx, item, "done_date", i, 1, v) < 0)
			continue;
		int64_t project_id = ctx->reg->e[project].id;
		const char *name = ingest_str(item, "name");
		json_t *weight = json_object_get(item, "weight"), *done = json_object_get(item, "done_date");
		sqlite3_stmt *st = ctx->st_milestone_find;
		sqlite3_bind_int64(st, 1, project_id);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		int rc;
		if (sqlite3_step(st) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0);
			sqlite3_stmt *u = ctx->st_milestone_update;
			const char *planned = ingest_str(item, "planned_date");
			sqlite3_bind_int64(u, 1, id);
			if (planned)
				sqlite3_bind_text(u, 2, planned, -1, SQLITE_STATIC);
			else
				sqlite3_bind_value(u, 2, sqlite3_column_value(st, 1));
			if (weight)
				sqlite3_bind_double(u, 3, json_number_value(weight));
			else
				sqlite3_bind_value(u, 3, sqlite3_column_value(st, 2));
			if (!done)
				sqlite3_bind_value(u, 4, sqlite3_column_value(st, 3));
			else if (json_is_null(done))
				sqlite3_bind_null(u, 4);
			else
				sqlite3_bind_text(u, 4, json_string_value(done), -1, SQLITE_STATIC);
			sqlite3_bind_int64(u, 5, ctx->now_ts);
			rc = sqlite3_step(u);
			sqlite3_reset(u);
			sqlite3_reset(st);
		} else {
			sqlite3_reset(st);
			if (!ingest_str(item, "planned_date") || !weight) {
				char field[64];
				snprintf(field, sizeof field, "milestones[%zu].%s", i, weight ? "planned_date" : "weight");
				verdict_reject(v, (long)i, field, "is required for a new milestone");
				continue;
			}
			sqlite3_stmt *ins = ctx->st_milestone_insert;
			sqlite3_bind_int64(ins, 1, project_id);
			sqlite3_bind_text(ins, 2, name, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, ingest_str(item, "planned_date"), -1, SQLITE_STATIC);
			sqlite3_bind_double(ins, 4, json_number_value(weight));
			if (json_is_string(done))
				sqlite3_bind_text(ins, 5, json_string_value(done), -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(ins, 5);
			sqlite3_bind_int64(ins, 6, ctx->now_ts);
			rc = sqlite3_step(ins);
			sqlite3_reset(ins);
		}
		if (rc != SQLITE_DONE)
			return -1;
		ctx->fx->registry_changed = 1;
		v->accepted++;
	}
	if (ctx->fx->registry_changed && reg_bump_version(ctx->db) < 0)
		return -1;
	return 0;
}

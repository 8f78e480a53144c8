/*
 * ingest_samples: metric samples for villages and projects. Beyond the
 * schema, a sample must name a known, current entity inside the token's
 * scope, a metric of the catalog that clients may send for that kind of
 * entity, a value valid for the metric's type, and a time not in the future.
 */
#include "ingest_int.h"

#include "catalog.h"
#include "conf.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>

/* The catalog type decides what a value may be; NULL when it is fine. */
static const char *check_value(const struct cat_metric *m, json_t *value)
{
	double x = json_number_value(value);
	if (!isfinite(x))
		return "must be a finite number";
	if ((m->type == CAT_COUNT || m->type == CAT_MONEY_FEN) && !json_is_integer(value))
		return m->type == CAT_MONEY_FEN ? "must be an integer number of fen" : "must be an integer";
	if (x < 0)
		return "must be >= 0";
	if (m->type == CAT_PERCENT && x > 100)
		return "must be <= 100";
	return NULL;
}

/* Shared by every item that names an entity: 0 and the index, or rejected. */
static int32_t find_entity(struct ingest_ctx *ctx, struct verdict *v, long i, const char *field,
			   const char *key, enum reg_kind want)
{
	int32_t at = reg_find(ctx->reg, key);
	if (at < 0) {
		verdict_reject(v, i, field, want == REG_PROJECT ? "unknown project" : "unknown division code");
		return -1;
	}
	const struct reg_entity *e = &ctx->reg->e[at];
	if (e->kind != want) {
		verdict_rejectf(v, i, field, "is a %s, not a %s", reg_kind_name(e->kind), reg_kind_name(want));
		return -1;
	}
	if (e->retired) {
		verdict_reject(v, i, field, "is a retired division code");
		return -1;
	}
	if (!ingest_in_scope(ctx, at)) {
		verdict_reject(v, i, field, "is outside this token's region scope");
		return -1;
	}
	return at;
}

int32_t ingest_entity_for(struct ingest_ctx *ctx, struct verdict *v, const char *arr, size_t i,
			  const char *prop, const char *key, enum reg_kind want)
{
	char field[64];
	snprintf(field, sizeof field, "%s[%zu].%s", arr, i, prop);
	return find_entity(ctx, v, (long)i, field, key, want);
}

int ingest_samples_prepare(struct ingest_ctx *ctx, struct ingest_prepared *p)
{
	struct verdict *v = &p->v;
	json_t *items = json_object_get(p->doc, "samples");
	p->items = xtryreallocarray(NULL, json_array_size(items) + 1, sizeof *p->items);
	if (!p->items) /* sized by the request: refused (503), not fatal */
		return -1;
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item) {
		if (ingest_check_item(ctx, ING_SAMPLES, "samples", i, item, v) < 0)
			continue;
		char field[64];
		const char *metric_key = ingest_str(item, "metric");
		const struct cat_metric *m = cat_find(metric_key);
		if (!m) {
			snprintf(field, sizeof field, "samples[%zu].metric", i);
			verdict_reject(v, (long)i, field, "unknown metric (see schemas/catalog.json)");
			continue;
		}
		if (m->source != CAT_SRC_INGEST) {
			snprintf(field, sizeof field, "samples[%zu].metric", i);
			verdict_reject(v, (long)i, field, "is computed by the server and cannot be sent");
			continue;
		}
		enum reg_kind want = m->entity == CAT_PROJECT ? REG_PROJECT : REG_VILLAGE;
		int32_t entity = ingest_entity_for(ctx, v, "samples", i, "entity", ingest_str(item, "entity"), want);
		if (entity < 0)
			continue;
		json_t *value = json_object_get(item, "value");
		const char *why = check_value(m, value);
		if (why) {
			snprintf(field, sizeof field, "samples[%zu].value", i);
			verdict_reject(v, (long)i, field, why);
			continue;
		}
		int64_t ts = json_integer_value(json_object_get(item, "ts"));
		if (ts > ctx->now_ts + conf.future_tolerance_s) {
			snprintf(field, sizeof field, "samples[%zu].ts", i);
			verdict_reject(v, (long)i, field, "is in the future");
			continue;
		}
		const struct reg_entity *e = &ctx->reg->e[entity];
		if (ctx->rrd_last && ts <= ctx->rrd_last(e->id))
			v->late++;
		p->items[p->n_items++] = (struct ingest_item){e->id, (int16_t)e->kind, (int16_t)m->index, ts,
							       json_number_value(value)};
	}
	return 0;
}

/* The writing half: every item was judged by ingest_samples_prepare. */
int ingest_samples(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *p)
{
	(void)doc;
	for (size_t i = 0; i < p->n_items; i++) {
		const struct ingest_item *it = &p->items[i];
		if (ingest_store_sample(ctx, it->entity_id, it->kind, it->metric, it->ts, it->value) < 0)
			return -1;
	}
	v->accepted = p->n_items;
	return 0;
}

/*
 * catalog: parses the embedded catalog.json into fixed tables and builds the
 * data-source layout of each kind of RRD file: a village file holds village
 * metrics, a project file project metrics, a region (township, county) file
 * the roll-ups of every village metric followed by the project roll-ups.
 */
#include "catalog.h"

#include "embedded.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static struct cat_metric metrics[CAT_MAX_METRICS];
static size_t n_metrics;
static struct cat_layout layouts[CAT_ENTITY_KINDS];
static json_t *doc;

static int pick(const char *value, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (value && strcmp(value, names[i]) == 0)
			return i;
	return -1;
}

static int load_metric(json_t *m, size_t i, char *err, size_t errlen)
{
	static const char *const entities[] = {"village", "project", "region"};
	static const char *const types[] = {"count", "money_fen", "percent", "ratio", "number"};
	static const char *const kinds[] = {"gauge", "counter"};
	static const char *const sources[] = {"ingest", "payments", "derived", "rollup"};
	struct cat_metric *c = &metrics[i];
	c->index = (int)i;
	c->key = json_string_value(json_object_get(m, "key"));
	c->unit = json_string_value(json_object_get(m, "unit"));
	c->zh = json_string_value(json_object_get(m, "zh"));
	c->en = json_string_value(json_object_get(m, "en"));
	int e = pick(json_string_value(json_object_get(m, "entity")), entities, 3);
	int t = pick(json_string_value(json_object_get(m, "type")), types, 5);
	int k = pick(json_string_value(json_object_get(m, "kind")), kinds, 2);
	int s = pick(json_string_value(json_object_get(m, "source")), sources, 4);
	if (!c->key || !c->unit || !c->zh || !c->en || e < 0 || t < 0 || k < 0 || s < 0 ||
	    strlen(c->key) > 19) {
		snprintf(err, errlen, "catalog.json: metric %zu is incomplete or has a bad value", i);
		return -1;
	}
	c->entity = (enum cat_entity)e;
	c->type = (enum cat_type)t;
	c->counter = k == 1;
	c->source = (enum cat_source)s;
	json_t *rollup = json_object_get(m, "rollup");
	c->weight_metric = -1;
	if (json_is_string(rollup)) {
		c->rollup = strcmp(json_string_value(rollup), "sum") == 0 ? CAT_ROLLUP_SUM : CAT_ROLLUP_NONE;
	} else if (json_is_object(rollup)) {
		c->rollup = CAT_ROLLUP_WEIGHTED; /* weight resolved once all keys are known */
	} else {
		snprintf(err, errlen, "catalog.json: metric %s has no rollup", c->key);
		return -1;
	}
	return 0;
}

static void add_ds(enum cat_entity kind, int metric)
{
	struct cat_layout *l = &layouts[kind];
	l->metric[l->n_ds] = metric;
	l->ds_name[l->n_ds] = metrics[metric].key;
	l->n_ds++;
}

int cat_load(char *err, size_t errlen)
{
	const struct embedded_file *f = embedded_find("catalog.json");
	json_error_t jerr;
	cat_free();
	doc = f ? json_loadb((const char *)f->data, f->len, 0, &jerr) : NULL;
	json_t *list = json_object_get(doc, "metrics");
	if (!json_is_array(list) || json_array_size(list) > CAT_MAX_METRICS) {
		snprintf(err, errlen, "catalog.json: missing or too many metrics");
		return -1;
	}
	n_metrics = json_array_size(list);
	for (size_t i = 0; i < n_metrics; i++)
		if (load_metric(json_array_get(list, i), i, err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < n_metrics; i++) {
		if (metrics[i].rollup != CAT_ROLLUP_WEIGHTED)
			continue;
		json_t *by = json_object_get(json_object_get(json_array_get(list, i), "rollup"), "weighted_mean");
		const struct cat_metric *w = json_is_string(by) ? cat_find(json_string_value(by)) : NULL;
		if (!w || w->entity != metrics[i].entity) {
			snprintf(err, errlen, "catalog.json: %s weighs by an unknown metric", metrics[i].key);
			return -1;
		}
		metrics[i].weight_metric = w->index;
	}
	memset(layouts, 0, sizeof layouts);
	for (size_t i = 0; i < n_metrics; i++)
		if (metrics[i].entity == CAT_VILLAGE) {
			add_ds(CAT_VILLAGE, (int)i);
			add_ds(CAT_REGION, (int)i);
		} else if (metrics[i].entity == CAT_PROJECT) {
			add_ds(CAT_PROJECT, (int)i);
		}
	for (size_t i = 0; i < n_metrics; i++)
		if (metrics[i].entity == CAT_REGION)
			add_ds(CAT_REGION, (int)i);
	return 0;
}

void cat_free(void)
{
	json_decref(doc);
	doc = NULL;
	n_metrics = 0;
}

size_t cat_count(void) { return n_metrics; }

const struct cat_metric *cat_metric(int index)
{
	return index >= 0 && (size_t)index < n_metrics ? &metrics[index] : NULL;
}

const struct cat_metric *cat_find(const char *key)
{
	for (size_t i = 0; i < n_metrics; i++)
		if (strcmp(metrics[i].key, key) == 0)
			return &metrics[i];
	return NULL;
}

const struct cat_layout *cat_layout(enum cat_entity kind) { return &layouts[kind]; }

int cat_ds_index(enum cat_entity kind, int metric)
{
	const struct cat_layout *l = &layouts[kind];
	for (size_t i = 0; i < l->n_ds; i++)
		if (l->metric[i] == metric)
			return (int)i;
	return -1;
}

const char *cat_entity_name(enum cat_entity kind)
{
	static const char *const names[] = {"village", "project", "region"};
	return names[kind];
}

const struct json_t *cat_json(void) { return doc; }

/*
 * catalog: the metric catalog (schemas/catalog.json, embedded) as C tables.
 * A metric's index in the catalog is its number everywhere: in SQLite, in
 * memory and, through the per-kind data-source lists, in the RRD files.
 * Loaded once at start; read-only afterwards, so any thread may use it.
 */
#ifndef CATALOG_H
#define CATALOG_H

#include <stddef.h>

enum cat_entity { CAT_VILLAGE, CAT_PROJECT, CAT_REGION, CAT_ENTITY_KINDS };
enum cat_type { CAT_COUNT, CAT_MONEY_FEN, CAT_PERCENT, CAT_RATIO, CAT_NUMBER };
enum cat_rollup { CAT_ROLLUP_NONE, CAT_ROLLUP_SUM, CAT_ROLLUP_WEIGHTED };
enum cat_source { CAT_SRC_INGEST, CAT_SRC_PAYMENTS, CAT_SRC_DERIVED, CAT_SRC_ROLLUP };

#define CAT_MAX_METRICS 64
#define CAT_MAX_DS 48

struct cat_metric {
	int index;
	const char *key;  /* also the RRD data-source name */
	const char *unit, *zh, *en;
	enum cat_entity entity;
	enum cat_type type;
	int counter;      /* cumulative total rather than a level */
	enum cat_rollup rollup;
	int weight_metric; /* CAT_ROLLUP_WEIGHTED: index of the weighting metric */
	enum cat_source source;
};

/* What one kind of RRD file holds: data sources in file order. */
struct cat_layout {
	size_t n_ds;
	int metric[CAT_MAX_DS];           /* catalog index of each data source */
	const char *ds_name[CAT_MAX_DS];
};

int cat_load(char *err, size_t errlen); /* from the embedded catalog.json */
void cat_free(void);
size_t cat_count(void);
const struct cat_metric *cat_metric(int index);
const struct cat_metric *cat_find(const char *key); /* NULL if unknown */
const struct cat_layout *cat_layout(enum cat_entity kind);
/* Position of a metric in a kind's file, or -1 if that file lacks it. */
int cat_ds_index(enum cat_entity kind, int metric);
const char *cat_entity_name(enum cat_entity kind);
/* The catalog as served to browsers (a borrowed jansson object). */
struct json_t;
const struct json_t *cat_json(void);

#endif

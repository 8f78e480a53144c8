/*
 * demogen: a deterministic generator of a demo county (or a province of
 * counties): the region tree with plausible Chinese names, village baselines,
 * the industry-project library with milestone plans, and the fund types and
 * departments that pay card subsidies (一卡通) to the villages' households.
 * Same parameters give the same bytes; nothing here touches libc rand or the
 * clock, so the daemon and the simulator rebuild the same county apart.
 */
#ifndef DEMOGEN_H
#define DEMOGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "regcode.h"

/* Bump when the same parameters would give another county: fpmsim warns on a mismatch. */
#define DEMOGEN_VERSION 1
#define DEMOGEN_DEFAULT_SEED 20240601u
#define DEMOGEN_DEFAULT_COUNTY "610824000000"
#define DEMOGEN_DEFAULT_PROVINCE_COUNTIES 80
#define DEMOGEN_PROJECT_ID_SIZE 16     /* "XM610824-0001" and its NUL */
#define DEMOGEN_MAX_MILESTONES 6

/* xoshiro256** seeded through splitmix64: the one PRNG of the demo. */
struct demogen_rng {
	uint64_t s[4];
};

void demogen_rng_seed(struct demogen_rng *rng, uint64_t seed);
uint64_t demogen_rng_next(struct demogen_rng *rng);
/* Uniform in [lo, hi] (inclusive); lo when hi <= lo. */
int64_t demogen_rng_range(struct demogen_rng *rng, int64_t lo, int64_t hi);
/* Uniform in [0, 1). */
double demogen_rng_unit(struct demogen_rng *rng);
/* A stateless 64-bit mix of two values, for decisions keyed by (entity, day). */
uint64_t demogen_hash(uint64_t a, uint64_t b);

enum demogen_category {
	DEMOGEN_PLANTING,
	DEMOGEN_BREEDING,
	DEMOGEN_PROCESSING,
	DEMOGEN_TOURISM,
	DEMOGEN_ECOMMERCE,
	DEMOGEN_PHOTOVOLTAIC,
	DEMOGEN_CATEGORIES
};

/* Card-payment funds (一卡通) the story pays: the type as the bank file names it. */
enum demogen_fund_kind {
	DEMOGEN_FUND_INDUSTRY,      /* 产业奖补, 县农业农村局 */
	DEMOGEN_FUND_WELFARE_JOB,   /* 公益岗位补贴, 县人社局 */
	DEMOGEN_FUND_EDUCATION,     /* 教育资助 (雨露计划), 县教育局 */
	DEMOGEN_FUND_FORESTER,      /* 生态护林员补助, 县林业局 */
	DEMOGEN_FUND_INDUSTRY_OFFICE, /* 产业奖补 again, by 县扶贫办: the duplicate-subsidy trap */
	DEMOGEN_FUNDS
};

struct demogen_fund {
	const char *fund_type;
	const char *department;
	int64_t amount_fen;         /* one household's payment */
};

extern const struct demogen_fund demogen_funds[DEMOGEN_FUNDS];
extern const char *const demogen_stage_keys[];   /* "approved" ... "asset_registered", NULL */
extern const char *const demogen_reasons[3];     /* why the bank failed a payment */

struct demogen_params {
	uint64_t seed;
	char code[REGCODE_SIZE];   /* the county (counties == 0) or the province */
	int counties;              /* 0: one county at `code`; N: a province of N counties */
	int townships_min, townships_max;   /* per county */
	int villages_min, villages_max;     /* village-level units per county */
	int projects_min, projects_max;     /* per county */
	int64_t anchor_day;        /* CST day number the plans are laid around (the demo's first day) */
};

/* Regions in preorder, which is also ascending code order. */
struct demogen_region {
	char code[REGCODE_SIZE];
	uint8_t level;             /* enum regcode_level */
	int32_t parent;            /* index, -1 at the top */
	uint32_t name, name_en;    /* offsets in the string pool */
	/* village-level units only, as of the anchor day */
	uint32_t population;
	uint16_t poor_hh, poor_people;  /* registered (建档立卡) */
	uint16_t monitored_hh;          /* 防返贫监测户 */
	uint16_t income_yuan;           /* per-capita net income of registered households */
	uint8_t exited_pct;             /* share of registered households already exited */
};

struct demogen_milestone {
	uint8_t name;              /* index in demogen_milestone_names */
	uint8_t weight;            /* percent of the project; a plan's weights sum to 100 */
	int32_t planned_day;
	int32_t done_day;          /* done by the anchor day; 0 when not */
};

struct demogen_project {
	char id[DEMOGEN_PROJECT_ID_SIZE];
	uint32_t name;             /* pool offset */
	uint8_t category;          /* enum demogen_category */
	uint8_t department;        /* index in demogen_departments */
	uint8_t milestone_count;
	uint8_t perf_pct;          /* physical progress as a share of planned progress */
	uint8_t stage;             /* index in demogen_stage_keys, as of the anchor day */
	int32_t location;          /* region index: a village or a township */
	int32_t county;            /* region index of its county */
	int64_t invest_fen;
	int32_t start_day, end_day;
	uint16_t households, poor_households, jobs;
	uint32_t first_milestone;  /* index in milestones */
};

struct demogen {
	struct demogen_params params;
	struct demogen_region *regions;
	size_t region_count, county_count, township_count, village_count;
	struct demogen_project *projects;
	size_t project_count;
	struct demogen_milestone *milestones;
	size_t milestone_count;
	size_t *lagging;           /* indices of projects generated behind schedule */
	size_t lagging_count;
	char *pool;
	size_t pool_len, pool_cap;
};

extern const char *const demogen_departments[];
extern const char *const demogen_milestone_names[];

/* A county of 12-20 townships, 200-350 villages, 80-150 projects at `county`. */
void demogen_params_county(struct demogen_params *p, const char *county, uint64_t seed, int64_t anchor_day);
/* A province (code from the first two digits of `code`) of `counties` counties of 250 villages and 250 projects. */
void demogen_params_province(struct demogen_params *p, const char *code, int counties, uint64_t seed,
			     int64_t anchor_day);

/* NULL with a reason in err when the parameters cannot make a valid registry. */
struct demogen *demogen_generate(const struct demogen_params *p, char *err, size_t errlen);
void demogen_free(struct demogen *g);

static inline const char *demogen_str(const struct demogen *g, uint32_t offset) { return g->pool + offset; }

/* The registry as the importers read it (and as fpmctl exports it): UTF-8, CRLF. 0 or -1. */
int demogen_write_regions_csv(const struct demogen *g, FILE *out);
int demogen_write_projects_csv(const struct demogen *g, FILE *out);
/*
 * The milestone plans of projects [first, first + count) as one ingest
 * milestones message; done dates as of the anchor day. Callers keep each
 * message within the schema's 10,000 items. 0 or -1.
 */
int demogen_write_milestones_json(const struct demogen *g, size_t first, size_t count,
				  const char *batch_id, FILE *out);
size_t demogen_milestone_items(const struct demogen *g, size_t first, size_t count);

/* Planned progress (PV, %) of a project at Unix time ts, exactly as plan.c computes it. */
double demogen_planned_pct(const struct demogen *g, size_t project, int64_t ts);
/* First day on which PV x perf_pct / 100 reaches pct; -1 if it never does. */
int64_t demogen_reach_day(const struct demogen *g, size_t project, double pct, double perf_pct);
/* Cumulative planned weight (%) up to and including milestone k of a project. */
double demogen_milestone_cum_pct(const struct demogen *g, size_t project, unsigned k);
/* Life-cycle stage (index in demogen_stage_keys) from progress and its dates. */
int demogen_stage_for(const struct demogen_project *p, int64_t day, double progress_pct, int64_t completed_day);

#endif

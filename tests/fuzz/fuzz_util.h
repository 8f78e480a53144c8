/*
 * fuzz_util: what several fuzz targets share: a migrated in-memory database
 * holding the small county of the unit tests (the SQL is a copy of
 * tests/unit/testutil.h so that a change there cannot silently change what
 * the fuzzers see), the catalog and the registry loaded once per process,
 * and a few helpers. Header-only: each target stays one .c file.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include "catalog.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "registry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_COUNTY   "610824000000"
#define FUZZ_TOWN_A   "610824100000"
#define FUZZ_TOWN_B   "610824200000"
#define FUZZ_VILLAGE1 "610824100201"

/* 2026-11-25, the unit tests' clock: the fuzzers never read the wall clock. */
#define FUZZ_NOW ((int64_t)1795600000)

/* Copied from tests/unit/testutil.h (test_registry_sql). */
static const char fuzz_county_sql[] =
	"INSERT INTO entity(kind, key, created) VALUES"
	" ('county','610824000000',0), ('township','610824100000',0), ('township','610824200000',0),"
	" ('village','610824100201',0), ('village','610824100202',0), ('village','610824200201',0),"
	" ('village','610824200202',0), ('project','XM001',0), ('project','XM002',0);"
	"INSERT INTO region SELECT id, key, NULL, '靖边县', NULL, 0 FROM entity WHERE key = '610824000000';"
	"INSERT INTO region SELECT id, key, '610824000000', '张家畔镇', NULL, 0 FROM entity WHERE key = '610824100000';"
	"INSERT INTO region SELECT id, key, '610824000000', '红墩界乡', NULL, 0 FROM entity WHERE key = '610824200000';"
	"INSERT INTO region SELECT id, key, substr(key, 1, 9) || '000', '村' || key, NULL, 0 FROM entity WHERE kind = 'village';"
	"INSERT INTO project(entity_id, name, category, location, department, invest_fen, start_date, planned_end, updated)"
	" SELECT id, '湖羊养殖', 'breeding', '610824100201', '县农业农村局', 100000000, '2026-01-01', '2026-12-31', 0 FROM entity WHERE key = 'XM001';"
	"INSERT INTO project(entity_id, name, category, location, department, invest_fen, start_date, planned_end, updated)"
	" SELECT id, '光伏电站', 'photovoltaic', '610824200000', '县发改局', 300000000, '2026-03-01', '2026-09-30', 0 FROM entity WHERE key = 'XM002';"
	"UPDATE meta SET value = value + 1 WHERE key = 'registry_version';";

static inline void fuzz_die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz setup: %s: %s\n", what, detail ? detail : "");
	abort();
}

/* Quiet logs, default settings, the catalog: once per process. */
static inline void fuzz_init_common(void)
{
	char err[256];
	log_set_level(LOG_ERROR);
	conf_defaults();
	if (cat_load(err, sizeof err) < 0)
		fuzz_die("cat_load", err);
}

/*
 * A migrated in-memory database through the project's own db_open, with the
 * county when `county` is set, and the registry published from it.
 */
static inline sqlite3 *fuzz_open_db(int county)
{
	char err[256] = "";
	sqlite3 *db = db_open(":memory:", DB_SYNC_NORMAL, err, sizeof err);
	if (!db)
		fuzz_die("db_open", err);
	if (county && db_exec(db, fuzz_county_sql) < 0)
		fuzz_die("county", sqlite3_errmsg(db));
	reg_refresh(db);
	if (county) {
		struct registry *r = reg_acquire();
		if (!r || reg_find(r, FUZZ_VILLAGE1) < 0)
			fuzz_die("registry", "the county is not in the registry");
		reg_release(r);
	}
	return db;
}

/* A NUL-terminated copy of fuzz bytes (the input itself is not terminated). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Findings are aborts with a line saying which property broke. */
#define FUZZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FUZZ CHECK FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

#endif

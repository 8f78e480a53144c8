/*
 * testutil: shared fixtures of the unit tests: a temporary data directory
 * with a migrated database holding a small county (one county, two
 * townships, four villages, two projects) and an ingest token, plus helpers
 * to count rows. Header-only so each test binary stays one file.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "catalog.h"
#include "db.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_COUNTY   "610824000000"
#define TEST_TOWN_A   "610824100000"
#define TEST_TOWN_B   "610824200000"
#define TEST_VILLAGE1 "610824100201"
#define TEST_VILLAGE2 "610824100202"
#define TEST_VILLAGE3 "610824200201"
#define TEST_VILLAGE4 "610824200202"

static const char test_registry_sql[] =
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

struct test_env {
	char dir[64];
	char db_path[128];
	sqlite3 *db;
};

static inline int test_env_setup(struct test_env *env)
{
	char err[256];
	snprintf(env->dir, sizeof env->dir, "/tmp/fpmon-test-XXXXXX");
	if (!mkdtemp(env->dir))
		return -1;
	snprintf(env->db_path, sizeof env->db_path, "%s/fpmon.db", env->dir);
	if (cat_load(err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	env->db = db_open(env->db_path, DB_SYNC_NORMAL, err, sizeof err);
	if (!env->db || db_exec(env->db, test_registry_sql) < 0)
		return -1;
	reg_refresh(env->db);
	return 0;
}

static inline void test_env_teardown(struct test_env *env)
{
	char cmd[160];
	db_close(env->db);
	reg_publish(NULL);
	cat_free();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", env->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", env->dir);
}

static inline long long test_count(sqlite3 *db, const char *sql)
{
	return (long long)db_count(db, sql);
}

#endif

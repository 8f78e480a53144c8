/*
 * test_import: the region and project importers against a fresh database
 * per test (db_open on a mkdtemp directory): UTF-8 and GB18030 sheets
 * (fixtures in $TEST_DATA_DIR/import, GB18030 ones made with iconv), rows out
 * of order, every row-level refusal, upserts that keep entity ids, exact
 * yuan-to-fen conversion, file-level refusals, rollback on a database error,
 * the error cap, and export -> import round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "import.h"
#include "log.h"
#include "xalloc.h"

struct fixture {
	char dir[64];
	char path[96];
	sqlite3 *db;
};

static int open_database(struct fixture *f)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/test_import.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/fpm.db", f->dir);
	char err[256] = "";
	f->db = db_open(f->path, DB_SYNC_NORMAL, err, sizeof err);
	if (!f->db)
		fprintf(stderr, "db_open: %s\n", err);
	return f->db ? 0 : -1;
}

static void remove_database(struct fixture *f)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	db_close(f->db);
	f->db = NULL;
	for (size_t i = 0; i < 3; i++) {
		char file[128];
		snprintf(file, sizeof file, "%s%s", f->path, suffixes[i]);
		unlink(file);
	}
	rmdir(f->dir);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	*state = f;
	return open_database(f);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_database(f);
	free(f);
	return 0;
}

/* Whole fixture file $TEST_DATA_DIR/import/<name>, or fails the test. */
static char *read_fixture(const char *name, size_t *length)
{
	const char *dir = getenv("TEST_DATA_DIR");
	char path[512];
	int n = snprintf(path, sizeof path, "%s/import/%s", dir && *dir ? dir : "tests/data", name);
	assert_true(n > 0 && (size_t)n < sizeof path);
	FILE *file = fopen(path, "rb");
	if (!file)
		fail_msg("cannot open fixture %s (set TEST_DATA_DIR?)", path);
	assert_int_equal(fseek(file, 0, SEEK_END), 0);
	long size = ftell(file);
	assert_true(size >= 0);
	rewind(file);
	char *data = xmalloc((size_t)size + 1);
	assert_int_equal(fread(data, 1, (size_t)size, file), (size_t)size);
	fclose(file);
	*length = (size_t)size;
	return data;
}

static int import_fixture(sqlite3 *db, const char *name, struct import_report *rep,
			  int (*importer)(sqlite3 *, const char *, size_t, struct import_report *))
{
	size_t length;
	char *data = read_fixture(name, &length);
	int rc = importer(db, data, length, rep);
	free(data);
	return rc;
}

/* Import a text that must be read without a file-level failure. */
static void import_ok(sqlite3 *db, const char *text, struct import_report *rep,
		      int (*importer)(sqlite3 *, const char *, size_t, struct import_report *))
{
	if (importer(db, text, strlen(text), rep) != 0)
		fail_msg("import failed: %s", rep->failure);
}

/* The reason of the error reported for (line, column), or NULL. */
static const char *error_at(const struct import_report *rep, unsigned long line, const char *column)
{
	for (size_t i = 0; i < rep->error_count; i++)
		if (rep->errors[i].line == line && strcmp(rep->errors[i].column, column) == 0)
			return rep->errors[i].reason;
	return NULL;
}

static void expect_error(const struct import_report *rep, unsigned long line, const char *column,
			 const char *fragment)
{
	const char *reason = error_at(rep, line, column);
	if (!reason)
		fail_msg("no error for line %lu column %s", line, column);
	if (!strstr(reason, fragment))
		fail_msg("line %lu %s: '%s' does not contain '%s'", line, column, reason, fragment);
}

/* One text column of the first row of `sql` with ?1 = key; malloc'd, NULL for SQL NULL or no row. */
static char *query_text(sqlite3 *db, const char *sql, const char *key)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	char *text = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		text = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return text;
}

/* One integer; -1 when there is no row. */
static int64_t query_int(sqlite3 *db, const char *sql, const char *key)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (key)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int64_t value = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return value;
}

static void expect_text(sqlite3 *db, const char *sql, const char *key, const char *expected)
{
	char *text = query_text(db, sql, key);
	if (!expected) {
		if (text)
			fail_msg("%s [%s]: expected NULL, got '%s'", sql, key, text);
	} else {
		if (!text)
			fail_msg("%s [%s]: expected '%s', got NULL or no row", sql, key, expected);
		assert_string_equal(text, expected);
	}
	free(text);
}

/* What import_report_print writes, as a malloc'd string. */
static char *printed(const struct import_report *rep)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	import_report_print(out, rep);
	fclose(out);
	return text;
}

#define REGION_PARENT "SELECT parent FROM region WHERE code = ?1"
#define REGION_NAME "SELECT name_zh FROM region WHERE code = ?1"
#define REGION_ENTITY "SELECT entity_id FROM region WHERE code = ?1"
#define REGION_COUNT "SELECT count(*) FROM region"
#define PROJECT_COUNT "SELECT count(*) FROM project"
#define REGISTRY_VERSION "SELECT value FROM meta WHERE key = 'registry_version'"
#define PROJECT_FEN "SELECT invest_fen FROM project p JOIN entity e ON e.id = p.entity_id WHERE e.key = ?1"
#define PROJECT_TEXT(column) \
	"SELECT " column " FROM project p JOIN entity e ON e.id = p.entity_id WHERE e.key = ?1"

static void import_base_regions(sqlite3 *db)
{
	struct import_report rep;
	assert_int_equal(import_fixture(db, "regions-utf8.csv", &rep, import_regions), 0);
	import_report_free(&rep);
}

static void test_regions_utf8_out_of_order(void **state)
{
	struct fixture *f = *state;
	int64_t version_before = query_int(f->db, REGISTRY_VERSION, NULL);
	struct import_report rep;
	assert_int_equal(import_fixture(f->db, "regions-utf8.csv", &rep, import_regions), 0);
	assert_string_equal(rep.encoding, "UTF-8");
	assert_int_equal(rep.rows, 8);
	assert_int_equal(rep.inserted, 5);
	assert_int_equal(rep.updated, 0);
	assert_int_equal(rep.rejected, 3);
	assert_int_equal(rep.error_count, 3);
	expect_error(&rep, 5, "code", "village part 734 is outside 001-599");
	expect_error(&rep, 6, "code", "township 610824200000 is neither in the file nor in the database");
	expect_error(&rep, 8, "code", "also on line 2");
	/* errors come ordered by line although found in different passes */
	assert_int_equal(rep.errors[0].line, 5);
	assert_int_equal(rep.errors[2].line, 8);

	/* the village came before its township and its county, and still hangs from them */
	expect_text(f->db, REGION_PARENT, "610824100201", "610824100000");
	expect_text(f->db, REGION_PARENT, "610824100000", "610824000000");
	expect_text(f->db, REGION_PARENT, "610824000000", NULL);
	expect_text(f->db, REGION_NAME, "610824100201", "石湾村"); /* the first of the duplicates stands */
	expect_text(f->db, REGION_NAME, "610824100202", "海则滩村, 二组");
	expect_text(f->db, "SELECT kind FROM entity WHERE key = ?1", "610824100000", "township");
	expect_text(f->db, "SELECT kind FROM entity WHERE key = ?1", "610824000000", "county");
	assert_int_equal(query_int(f->db, "SELECT retired FROM region WHERE code = ?1", "610824100203"), 1);
	assert_int_equal(query_int(f->db, "SELECT retired FROM region WHERE code = ?1", "610824100202"), 0);
	assert_int_equal(query_int(f->db, REGION_COUNT, NULL), 5);
	assert_int_equal(query_int(f->db, REGISTRY_VERSION, NULL), version_before + 1);

	char *text = printed(&rep);
	assert_non_null(strstr(text, "8 rows (UTF-8): 5 inserted, 0 updated, 0 unchanged, 3 rejected\n"));
	assert_non_null(strstr(text, "\nline 5: code: village part 734 is outside 001-599\n"));
	free(text);
	import_report_free(&rep);
}

static void test_regions_gb18030(void **state)
{
	struct fixture *f = *state;
	struct import_report rep;
	assert_int_equal(import_fixture(f->db, "regions-gb18030.csv", &rep, import_regions), 0);
	assert_string_equal(rep.encoding, "GB18030");
	assert_int_equal(rep.inserted, 4);
	assert_int_equal(rep.rejected, 0);
	expect_text(f->db, REGION_NAME, "610824101000", "杨桥畔镇");
	expect_text(f->db, REGION_NAME, "610824101202", "㙟塘村"); /* four-byte GB18030 sequence */
	expect_text(f->db, "SELECT name_en FROM region WHERE code = ?1", "610824101201", "Yangqiaopan Village");
	expect_text(f->db, "SELECT name_en FROM region WHERE code = ?1", "610824101202", NULL);
	expect_text(f->db, REGION_PARENT, "610824101202", "610824101000");
	assert_int_equal(query_int(f->db, "SELECT retired FROM region WHERE code = ?1", "610824101202"), 1);
	import_report_free(&rep);
}

static void test_regions_reimport_updates_in_place(void **state)
{
	struct fixture *f = *state;
	import_base_regions(f->db);
	int64_t village_id = query_int(f->db, REGION_ENTITY, "610824100201");
	int64_t version = query_int(f->db, REGISTRY_VERSION, NULL);
	assert_true(village_id > 0);

	/* renamed village, same county; no name_en / retired columns: those stay */
	struct import_report rep;
	import_ok(f->db, "区划代码,名称\n610824000000,靖边县\n610824100201,石湾村（新）\n", &rep, import_regions);
	assert_int_equal(rep.inserted, 0);
	assert_int_equal(rep.updated, 1);
	assert_int_equal(rep.unchanged, 1);
	assert_int_equal(query_int(f->db, REGION_ENTITY, "610824100201"), village_id);
	expect_text(f->db, REGION_NAME, "610824100201", "石湾村（新）");
	expect_text(f->db, "SELECT name_en FROM region WHERE code = ?1", "610824100201", "Shiwan Village");
	/* codes missing from the sheet are never deleted */
	assert_int_equal(query_int(f->db, REGION_COUNT, NULL), 5);
	assert_int_equal(query_int(f->db, REGISTRY_VERSION, NULL), version + 1);
	import_report_free(&rep);

	/* retiring through the retired column; the same sheet again changes nothing */
	const char *retire = "code,name,retired\n610824100201,石湾村（新）,1\n";
	import_ok(f->db, retire, &rep, import_regions);
	assert_int_equal(rep.updated, 1);
	assert_int_equal(query_int(f->db, "SELECT retired FROM region WHERE code = ?1", "610824100201"), 1);
	import_report_free(&rep);
	version = query_int(f->db, REGISTRY_VERSION, NULL);
	import_ok(f->db, retire, &rep, import_regions);
	assert_int_equal(rep.unchanged, 1);
	assert_int_equal(rep.updated, 0);
	assert_int_equal(query_int(f->db, REGISTRY_VERSION, NULL), version); /* nothing for the daemon to reload */
	import_report_free(&rep);
}

static void test_regions_row_checks(void **state)
{
	struct fixture *f = *state;
	char long_name[400];
	size_t village_length = strlen("村");
	for (size_t i = 0; i < 101; i++)
		memcpy(long_name + i * village_length, "村", village_length);
	long_name[101 * village_length] = '\0';
	char text[1024];
	snprintf(text, sizeof text,
		 "code,name,retired\n"
		 "610824000000,靖边县,\n"
		 "610824300000,,\n"              /* township without a name: its village goes too */
		 "610824300201,新村,\n"
		 "6108241002,短码,\n"
		 "610824100201,%s,\n"
		 "610824101000,\"换行\n镇\",\n"
		 "610824102000,好镇,也许\n"
		 ",无码,\n",
		 long_name);
	struct import_report rep;
	import_ok(f->db, text, &rep, import_regions);
	assert_int_equal(rep.rows, 8);
	assert_int_equal(rep.inserted, 1);
	assert_int_equal(rep.rejected, 7);
	expect_error(&rep, 3, "name", "is required");
	expect_error(&rep, 4, "code", "its township 610824300000 (line 3) was rejected");
	expect_error(&rep, 5, "code", "must be 12 digits, not 10 characters");
	expect_error(&rep, 6, "name", "at most 100 characters, not 101");
	expect_error(&rep, 7, "name", "line breaks");
	expect_error(&rep, 9, "retired", "must be 1 or 0");
	expect_error(&rep, 10, "code", "is required");
	import_report_free(&rep);
}

static void test_regions_tree_tops_and_relink(void **state)
{
	struct fixture *f = *state;
	struct import_report rep;
	/* a county alone is a top of the tree */
	import_ok(f->db, "code,name\n610824000000,靖边县\n610824100000,东坑镇\n", &rep, import_regions);
	assert_int_equal(rep.inserted, 2);
	expect_text(f->db, REGION_PARENT, "610824000000", NULL);
	import_report_free(&rep);
	/* its prefecture arrives later, the province even later: the county follows each time */
	import_ok(f->db, "code,name\n610000000000,陕西省\n", &rep, import_regions);
	expect_text(f->db, REGION_PARENT, "610824000000", "610000000000");
	import_report_free(&rep);
	import_ok(f->db, "code,name\n610800000000,榆林市\n", &rep, import_regions);
	expect_text(f->db, REGION_PARENT, "610800000000", "610000000000");
	expect_text(f->db, REGION_PARENT, "610824000000", "610800000000");
	expect_text(f->db, REGION_PARENT, "610824100000", "610824000000");
	expect_text(f->db, "SELECT kind FROM entity WHERE key = ?1", "610800000000", "prefecture");
	import_report_free(&rep);
	/* a township under a prefecture without counties (Dongguan) hangs from the prefecture */
	import_ok(f->db, "code,name\n441900003001,东城村\n441900003000,东城街道\n441900000000,东莞市\n", &rep,
		  import_regions);
	assert_int_equal(rep.inserted, 3);
	expect_text(f->db, REGION_PARENT, "441900003000", "441900000000");
	import_report_free(&rep);
}

static void test_file_level_failures(void **state)
{
	struct fixture *f = *state;
	struct import_report rep;
	const char *no_code = "name,name_en\n靖边县,Jingbian\n";
	assert_int_equal(import_regions(f->db, no_code, strlen(no_code), &rep), -1);
	assert_non_null(strstr(rep.failure, "missing column 'code'"));
	import_report_free(&rep);

	/* a malformed line late in the file: the good rows before it are not imported either */
	const char *unclosed = "code,name\n610824000000,靖边县\n610824100000,\"东坑镇\n";
	assert_int_equal(import_regions(f->db, unclosed, strlen(unclosed), &rep), -1);
	assert_true(rep.failure[0] != '\0');
	assert_int_equal(rep.inserted, 0);
	import_report_free(&rep);

	const char not_text[] = "code,name\n610824000000,\xff\xff\xff\n";
	assert_int_equal(import_regions(f->db, not_text, sizeof not_text - 1, &rep), -1);
	assert_non_null(strstr(rep.failure, "neither valid UTF-8"));
	import_report_free(&rep);

	const char workbook[] = "PK\x03\x04\x14\x00\x06\x00";
	assert_int_equal(import_regions(f->db, workbook, sizeof workbook - 1, &rep), -1);
	assert_non_null(strstr(rep.failure, "Excel workbook"));
	import_report_free(&rep);

	assert_int_equal(import_regions(f->db, "", 0, &rep), -1);
	assert_non_null(strstr(rep.failure, "empty"));
	char *text = printed(&rep);
	assert_non_null(strstr(text, "nothing was imported"));
	free(text);
	import_report_free(&rep);

	const char *no_money = "id,name,category,location,department\nA1,x,other,610824100201,y\n";
	assert_int_equal(import_projects(f->db, no_money, strlen(no_money), &rep), -1);
	assert_non_null(strstr(rep.failure, "investment_fen"));
	import_report_free(&rep);
	assert_int_equal(query_int(f->db, REGION_COUNT, NULL), 0);
}

static void test_database_error_rolls_back(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(db_exec(f->db, "CREATE TRIGGER refuse BEFORE INSERT ON region"
				 " WHEN NEW.code = '610824100202' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"), 0);
	int64_t version = query_int(f->db, REGISTRY_VERSION, NULL);
	struct import_report rep;
	assert_int_equal(import_fixture(f->db, "regions-utf8.csv", &rep, import_regions), -1);
	assert_non_null(strstr(rep.failure, "disk on fire"));
	assert_int_equal(rep.inserted, 0);
	assert_int_equal(query_int(f->db, REGION_COUNT, NULL), 0);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM entity", NULL), 0);
	assert_int_equal(query_int(f->db, REGISTRY_VERSION, NULL), version);
	assert_true(sqlite3_get_autocommit(f->db)); /* no transaction left open */
	import_report_free(&rep);
}

static void test_error_cap(void **state)
{
	struct fixture *f = *state;
	size_t bad_rows = IMPORT_MAX_ERRORS + 25;
	size_t capacity = 32 + bad_rows * 32, used = 0;
	char *sheet = xmalloc(capacity);
	used += (size_t)snprintf(sheet, capacity, "code,name\n");
	for (size_t i = 0; i < bad_rows; i++)
		used += (size_t)snprintf(sheet + used, capacity - used, "X%zu,x\n", i);
	struct import_report rep;
	import_ok(f->db, sheet, &rep, import_regions);
	free(sheet);
	assert_int_equal(rep.rejected, bad_rows);
	assert_int_equal(rep.error_count, IMPORT_MAX_ERRORS);
	assert_int_equal(rep.errors_dropped, 25);
	char *text = printed(&rep);
	assert_non_null(strstr(text, "\n... and 25 more errors\n"));
	free(text);
	import_report_free(&rep);
}

static void check_project_fixture(sqlite3 *db, const struct import_report *rep)
{
	assert_int_equal(rep->rows, 8);
	assert_int_equal(rep->inserted, 2);
	assert_int_equal(rep->rejected, 6);
	assert_int_equal(query_int(db, PROJECT_FEN, "XM2024-001"), 123456);
	assert_int_equal(query_int(db, PROJECT_FEN, "XM2024-002"), 300000050);
	expect_text(db, PROJECT_TEXT("category"), "XM2024-001", "breeding");
	expect_text(db, PROJECT_TEXT("stage"), "XM2024-001", "started");
	expect_text(db, PROJECT_TEXT("stage"), "XM2024-002", "approved");
	expect_text(db, PROJECT_TEXT("start_date"), "XM2024-002", "2024-04-15");
	expect_text(db, PROJECT_TEXT("planned_end"), "XM2024-002", "2024-12-31");
	expect_text(db, PROJECT_TEXT("location"), "XM2024-001", "610824100201");
	assert_int_equal(query_int(db, PROJECT_TEXT("planned_hh"), "XM2024-002"), 120);
	expect_text(db, "SELECT kind FROM entity WHERE key = ?1", "XM2024-001", "project");
	expect_error(rep, 4, "location", "is not a region in the database");
	expect_error(rep, 5, "category", "is not a category");
	expect_error(rep, 6, "start", "is not a real calendar date");
	expect_error(rep, 7, "planned_end", "2024-05-01 is before the start 2024-06-01");
	expect_error(rep, 8, "investment_yuan", "must be an amount in yuan");
	expect_error(rep, 9, "location", "is a county code");
}

static void test_projects_utf8(void **state)
{
	struct fixture *f = *state;
	import_base_regions(f->db);
	struct import_report rep;
	assert_int_equal(import_fixture(f->db, "projects-utf8.csv", &rep, import_projects), 0);
	assert_string_equal(rep.encoding, "UTF-8");
	check_project_fixture(f->db, &rep);
	import_report_free(&rep);
}

static void test_projects_gb18030(void **state)
{
	struct fixture *f = *state;
	import_base_regions(f->db);
	struct import_report rep;
	assert_int_equal(import_fixture(f->db, "projects-gb18030.csv", &rep, import_projects), 0);
	assert_string_equal(rep.encoding, "GB18030");
	check_project_fixture(f->db, &rep);
	expect_text(f->db, PROJECT_TEXT("name"), "XM2024-001", "肉羊养殖基地（一期）");
	expect_text(f->db, PROJECT_TEXT("department"), "XM2024-002", "发改局");
	import_report_free(&rep);
}

/* The fen stored for one project row with this yuan text, or -1 when refused. */
static int64_t fen_of_yuan(sqlite3 *db, const char *yuan)
{
	char text[256];
	snprintf(text, sizeof text, "id,name,category,location,department,investment_yuan\n"
		 "P1,测试,other,610824100201,财政局,\"%s\"\n", yuan);
	struct import_report rep;
	import_ok(db, text, &rep, import_projects);
	int64_t fen = rep.rejected ? -1 : query_int(db, PROJECT_FEN, "P1");
	import_report_free(&rep);
	return fen;
}

static void test_projects_yuan_to_fen_exact(void **state)
{
	struct fixture *f = *state;
	import_base_regions(f->db);
	assert_int_equal(fen_of_yuan(f->db, "1,234.56"), 123456);
	assert_int_equal(fen_of_yuan(f->db, "3,000,000.50"), 300000050);
	assert_int_equal(fen_of_yuan(f->db, "0.07"), 7);
	assert_int_equal(fen_of_yuan(f->db, "0.1"), 10);
	assert_int_equal(fen_of_yuan(f->db, "12"), 1200);
	assert_int_equal(fen_of_yuan(f->db, "1250000.00"), 125000000);
	/* 0.29 and 1.13 are the classic values a double turns into 28 and 112 fen */
	assert_int_equal(fen_of_yuan(f->db, "0.29"), 29);
	assert_int_equal(fen_of_yuan(f->db, "1.13"), 113);
	assert_int_equal(fen_of_yuan(f->db, "92,233,720,368,547,758.07"), INT64_MAX);
	static const char *const refused[] = {
		"1,23", ",123", "1,2345", "12,345,67", "1.234", "1.", ".5", "-5", "1e5", "¥100",
		"92233720368547758.08", "一百", "1 000",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (fen_of_yuan(f->db, refused[i]) != -1)
			fail_msg("'%s' was accepted", refused[i]);
	/* a value that was refused left the last good amount in place */
	assert_int_equal(query_int(f->db, PROJECT_FEN, "P1"), INT64_MAX);
}

static void test_projects_cells(void **state)
{
	struct fixture *f = *state;
	import_base_regions(f->db);
	struct import_report rep;
	import_ok(f->db,
		  "id,name,category,location,department,investment_fen,investment_yuan,start,planned_end,households,stage\n"
		  "A-1,甲,Planting,610824100201,农业局,500,5.00,2024年3月1日,2024/3/1,0,竣工公示\n"
		  "B_2,乙,旅游,610824100000,文旅局,500,6.00,,,,\n"
		  "1C,丙,其他,610824100201,局,1,,,,,\n"
		  "D,丁,其他,610824100201,局,1.5,,,,-3,\n"
		  "E,戊,其他,610824100201,局,1,,2024-3-1x,,,done\n"
		  "A-1,甲二,其他,610824100201,局,1,,,,,\n"
		  "F,,其他,,,,,,,,\n",
		  &rep, import_projects);
	assert_int_equal(rep.inserted, 1);
	assert_int_equal(rep.rejected, 6);
	expect_text(f->db, PROJECT_TEXT("category"), "A-1", "planting");
	expect_text(f->db, PROJECT_TEXT("stage"), "A-1", "completion_notice");
	expect_text(f->db, PROJECT_TEXT("start_date"), "A-1", "2024-03-01");
	expect_text(f->db, PROJECT_TEXT("planned_end"), "A-1", "2024-03-01"); /* end on the start day is fine */
	expect_error(&rep, 3, "investment_yuan", "does not equal investment_fen");
	expect_error(&rep, 4, "id", "must be a letter");
	expect_error(&rep, 5, "investment_fen", "whole number");
	expect_error(&rep, 5, "households", "whole number");
	expect_error(&rep, 6, "start", "must be a date");
	expect_error(&rep, 6, "stage", "is not a stage");
	expect_error(&rep, 7, "id", "A-1 is also on line 2");
	expect_error(&rep, 8, "name", "is required");
	expect_error(&rep, 8, "location", "is required");
	expect_error(&rep, 8, "department", "is required");
	expect_error(&rep, 8, "investment_fen", "is required");
	import_report_free(&rep);
}

static void test_projects_reimport(void **state)
{
	struct fixture *f = *state;
	import_base_regions(f->db);
	struct import_report rep;
	assert_int_equal(import_fixture(f->db, "projects-utf8.csv", &rep, import_projects), 0);
	import_report_free(&rep);
	int64_t id = query_int(f->db, "SELECT id FROM entity WHERE key = ?1", "XM2024-001");

	/* no stage, dates or households columns: the stored ones stay */
	import_ok(f->db, "项目编号,项目名称,类别,地点代码,责任单位,批复投资(分)\n"
		  "XM2024-001,肉羊养殖基地（扩建）,养殖,610824100201,农业农村局,200000\n"
		  "XM2024-002,光伏电站二期,光伏,610824100000,发改局,300000050\n",
		  &rep, import_projects);
	assert_int_equal(rep.updated, 1);
	assert_int_equal(rep.unchanged, 1);
	assert_int_equal(query_int(f->db, "SELECT id FROM entity WHERE key = ?1", "XM2024-001"), id);
	assert_int_equal(query_int(f->db, PROJECT_FEN, "XM2024-001"), 200000);
	expect_text(f->db, PROJECT_TEXT("name"), "XM2024-001", "肉羊养殖基地（扩建）");
	expect_text(f->db, PROJECT_TEXT("stage"), "XM2024-001", "started");
	expect_text(f->db, PROJECT_TEXT("start_date"), "XM2024-001", "2024-03-01");
	assert_int_equal(query_int(f->db, PROJECT_TEXT("planned_hh"), "XM2024-001"), 58);
	import_report_free(&rep);

	/* a new end date before the stored start is refused, naming the column the sheet gave */
	import_ok(f->db, "id,name,category,location,department,investment_fen,planned_end\n"
		  "XM2024-001,肉羊养殖基地（扩建）,养殖,610824100201,农业农村局,200000,2024-01-31\n",
		  &rep, import_projects);
	assert_int_equal(rep.rejected, 1);
	expect_error(&rep, 2, "planned_end", "2024-01-31 is before the start 2024-03-01");
	expect_text(f->db, PROJECT_TEXT("planned_end"), "XM2024-001", "2024-10-31");
	assert_int_equal(query_int(f->db, PROJECT_COUNT, NULL), 2);
	import_report_free(&rep);
}

/* One export as a malloc'd string. */
static char *export_with(sqlite3 *db, int (*exporter)(sqlite3 *, FILE *))
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	assert_int_equal(exporter(db, out), 0);
	fclose(out);
	return text;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct import_report rep;
	import_base_regions(f->db);
	assert_int_equal(import_fixture(f->db, "regions-gb18030.csv", &rep, import_regions), 0);
	import_report_free(&rep);
	assert_int_equal(import_fixture(f->db, "projects-utf8.csv", &rep, import_projects), 0);
	import_report_free(&rep);
	/* a name with a quote and a comma must survive the CSV quoting */
	import_ok(f->db, "id,name,category,location,department,investment_fen,stage\n"
		  "Q1,\"“引号”, and \"\"quotes\"\"\",other,610824100202,\"财政局,乡镇\",0,asset_registered\n",
		  &rep, import_projects);
	assert_int_equal(rep.inserted, 1);
	import_report_free(&rep);

	char *regions = export_with(f->db, import_export_regions);
	char *projects = export_with(f->db, import_export_projects);
	assert_non_null(strstr(regions, "code,name,name_en,retired\r\n"));
	assert_non_null(strstr(regions, "610824100202,\"海则滩村, 二组\",Haizetan Village,0\r\n"));
	assert_non_null(strstr(projects, "XM2024-001,肉羊养殖基地（一期）,breeding,610824100201,农业农村局,123456,"
				       "2024-03-01,2024-10-31,58,started\r\n"));

	/* into an empty database: the same export comes back */
	struct fixture other;
	assert_int_equal(open_database(&other), 0);
	import_ok(other.db, regions, &rep, import_regions);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(rep.inserted, (size_t)query_int(f->db, REGION_COUNT, NULL));
	import_report_free(&rep);
	import_ok(other.db, projects, &rep, import_projects);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(rep.inserted, 3);
	import_report_free(&rep);
	char *regions_after = export_with(other.db, import_export_regions);
	char *projects_after = export_with(other.db, import_export_projects);
	assert_string_equal(regions_after, regions);
	assert_string_equal(projects_after, projects);
	free(regions_after);
	free(projects_after);
	remove_database(&other);

	/* into the database it came from: nothing changes */
	import_ok(f->db, regions, &rep, import_regions);
	assert_int_equal(rep.unchanged, rep.rows);
	import_report_free(&rep);
	import_ok(f->db, projects, &rep, import_projects);
	assert_int_equal(rep.unchanged, rep.rows);
	import_report_free(&rep);
	free(regions);
	free(projects);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regions_utf8_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regions_gb18030, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regions_reimport_updates_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regions_row_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regions_tree_tops_and_relink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_level_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_database_error_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_projects_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_projects_gb18030, setup, teardown),
		cmocka_unit_test_setup_teardown(test_projects_yuan_to_fen_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_projects_cells, setup, teardown),
		cmocka_unit_test_setup_teardown(test_projects_reimport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

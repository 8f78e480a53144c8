/*
 * fuzz_import: libFuzzer target for the CSV importers (collector/import*.c,
 * over the CSV reader): import_regions and import_projects, UTF-8 and GB18030
 * input alike (the reader picks the decoding from the bytes).
 *
 * The database is an in-memory one from db_open holding the unit tests'
 * county. An import commits, so instead of rolling back, every input starts
 * from a copy of that database taken once (sqlite3_serialize at start,
 * sqlite3_deserialize per input): a crash replays on its own and nothing grows.
 *
 * Input: byte 0 bit 0 picks the importer (0 regions, 1 projects); the rest is
 * the file.
 *
 * Beyond the sanitizers, these properties abort:
 *  - a refused file says why and changes nothing;
 *  - a read file accounts for every row: inserted + updated + unchanged +
 *    rejected == rows, errors are ordered by line, each with a reason;
 *  - the stored tree stays a tree: a township or village hangs from its
 *    parent code, any other parent is a stored region above the child;
 *  - export, import of that export, export again: the import refuses nothing
 *    and inserts nothing, and the two exports are the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "import.h"
#include "regcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static sqlite3 *db;
static unsigned char *pristine;
static sqlite3_int64 pristine_size;
static int verbose; /* FUZZ_VERBOSE=1: print each import report */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	fuzz_init_common();
	db = fuzz_open_db(1);
	pristine = sqlite3_serialize(db, "main", &pristine_size, 0);
	if (!pristine)
		fuzz_die("sqlite3_serialize", sqlite3_errmsg(db));
	return 0;
}

static void reset_db(void)
{
	unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)pristine_size);
	if (!copy)
		abort();
	memcpy(copy, pristine, (size_t)pristine_size);
	int rc = sqlite3_deserialize(db, "main", copy, pristine_size, pristine_size,
				     SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
	if (rc != SQLITE_OK)
		fuzz_die("sqlite3_deserialize", sqlite3_errstr(rc));
}

/* What a refused import must leave alone. */
static void fingerprint(char *out, size_t cap)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT (SELECT count(*) FROM entity), (SELECT count(*) FROM region), (SELECT count(*) FROM project),"
		" (SELECT value FROM meta WHERE key = 'registry_version'),"
		" (SELECT total(length(name_zh) + coalesce(length(name_en), 0) + retired) FROM region),"
		" (SELECT total(length(name) + invest_fen + planned_hh) FROM project)");
	FUZZ_CHECK(sqlite3_step(st) == SQLITE_ROW, "fingerprint: %s", sqlite3_errmsg(db));
	snprintf(out, cap, "%lld/%lld/%lld/%lld/%.17g/%.17g", sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		 sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3), sqlite3_column_double(st, 4),
		 sqlite3_column_double(st, 5));
	sqlite3_finalize(st);
}

static void check_report(int rc, const struct import_report *rep)
{
	size_t cap = sizeof rep->failure;
	FUZZ_CHECK(strnlen(rep->failure, cap) < cap, "failure text is not NUL-terminated");
	if (rc < 0) {
		FUZZ_CHECK(rep->failure[0] != '\0', "an import refused without a reason");
		return;
	}
	FUZZ_CHECK(rc == 0, "import returned %d", rc);
	FUZZ_CHECK(rep->failure[0] == '\0', "import returned 0 with failure '%s'", rep->failure);
	FUZZ_CHECK(rep->inserted + rep->updated + rep->unchanged + rep->rejected == rep->rows,
		   "%zu rows, but %zu inserted + %zu updated + %zu unchanged + %zu rejected",
		   rep->rows, rep->inserted, rep->updated, rep->unchanged, rep->rejected);
	FUZZ_CHECK(rep->error_count <= IMPORT_MAX_ERRORS, "%zu errors kept", rep->error_count);
	FUZZ_CHECK(rep->rejected == 0 || rep->error_count > 0, "%zu rows rejected without an error", rep->rejected);
	for (size_t i = 0; i < rep->error_count; i++) {
		const struct import_row_error *e = &rep->errors[i];
		FUZZ_CHECK(e->line >= 2, "error %zu on line %lu (the header is line 1)", i, e->line);
		FUZZ_CHECK(i == 0 || rep->errors[i - 1].line <= e->line, "errors out of line order at %zu", i);
		FUZZ_CHECK(e->column != NULL, "error %zu has no column", i);
		size_t len = strnlen(e->reason, sizeof e->reason);
		FUZZ_CHECK(len > 0 && len < sizeof e->reason, "error %zu: empty or unterminated reason", i);
	}
}

/* Every stored region hangs where its code says. */
static void check_tree(void)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT r.code, r.parent, p.code IS NOT NULL FROM region r LEFT JOIN region p ON p.code = r.parent");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(st, 0);
		const char *parent = (const char *)sqlite3_column_text(st, 1);
		enum regcode_level level = regcode_level(code);
		FUZZ_CHECK(level != REGCODE_INVALID, "stored region code %s is invalid", code);
		if (level >= REGCODE_TOWNSHIP) {
			char want[REGCODE_SIZE];
			regcode_parent(code, want);
			FUZZ_CHECK(parent && strcmp(parent, want) == 0, "%s hangs from %s, not %s", code,
				   parent ? parent : "nothing", want);
		}
		if (parent) {
			FUZZ_CHECK(sqlite3_column_int(st, 2), "%s hangs from %s, which is not stored", code, parent);
			FUZZ_CHECK(regcode_level(parent) < level && regcode_is_within(code, parent),
				   "%s hangs from %s, which is not above it", code, parent);
		}
	}
	FUZZ_CHECK(rc == SQLITE_DONE, "reading regions: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

static char *export_all(bool projects, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);
	FUZZ_CHECK(out != NULL, "open_memstream");
	int rc = projects ? import_export_projects(db, out) : import_export_regions(db, out);
	fclose(out);
	FUZZ_CHECK(rc == 0, "export failed: %s", sqlite3_errmsg(db));
	return text;
}

static void round_trip(bool projects)
{
	size_t first_len = 0, second_len = 0;
	char *first = export_all(projects, &first_len);
	struct import_report rep;
	int rc = projects ? import_projects(db, first, first_len, &rep) : import_regions(db, first, first_len, &rep);
	check_report(rc, &rep);
	FUZZ_CHECK(rc == 0 && rep.rejected == 0 && rep.inserted == 0,
		   "re-importing the export: rc %d, failure '%s', %zu inserted, %zu rejected, first error: line %lu %s: %s\n%s",
		   rc, rep.failure, rep.inserted, rep.rejected, rep.error_count ? rep.errors[0].line : 0,
		   rep.error_count ? rep.errors[0].column : "", rep.error_count ? rep.errors[0].reason : "", first);
	import_report_free(&rep);
	char *second = export_all(projects, &second_len);
	FUZZ_CHECK(first_len == second_len && memcmp(first, second, first_len) == 0,
		   "export, import, export differ:\n--- first\n%s--- second\n%s", first, second);
	free(first);
	free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool projects = data[0] & 1;
	reset_db();
	char before[256], after[256];
	fingerprint(before, sizeof before);
	struct import_report rep;
	int rc = projects ? import_projects(db, (const char *)data + 1, size - 1, &rep)
			  : import_regions(db, (const char *)data + 1, size - 1, &rep);
	if (verbose)
		import_report_print(stderr, &rep);
	check_report(rc, &rep);
	FUZZ_CHECK(sqlite3_get_autocommit(db), "a transaction is still open after the import");
	if (rc < 0) {
		fingerprint(after, sizeof after);
		FUZZ_CHECK(strcmp(before, after) == 0, "a refused import changed the database: %s -> %s", before, after);
	}
	import_report_free(&rep);
	check_tree();
	round_trip(projects);
	return 0;
}

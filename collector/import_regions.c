/*
 * import_regions: the region tree from a CSV of division codes and names,
 * and its export. Rows may come in any order, so the codes are indexed first
 * and rows are stored level by level from the top: a village is accepted only
 * when its township is accepted from the same file or already stored, so a
 * rejected township takes its new villages with it instead of orphaning them.
 */
#include "import_int.h"

#include "db.h"
#include "regcode.h"
#include "registry.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum region_column { COL_CODE, COL_NAME, COL_NAME_EN, COL_RETIRED, REGION_COLUMNS };

static const struct csv_column_spec region_specs[REGION_COLUMNS] = {
	[COL_CODE] = { .names = { "code", "区划代码", "代码", "统计用区划代码" }, .required = true },
	[COL_NAME] = { .names = { "name", "名称", "name_zh", "区划名称" }, .required = true },
	[COL_NAME_EN] = { .names = { "name_en", "英文名称" } },
	[COL_RETIRED] = { .names = { "retired", "已撤销" } },
};

_Static_assert(REGION_COLUMNS <= IMPORT_MAX_COLUMNS, "import_table holds at most IMPORT_MAX_COLUMNS columns");

#define REGION_NAME_MAX_CHARS 100

struct region_row {
	const char *code;          /* a valid code; NULL when the code cell was refused */
	const char *name_zh;
	const char *name_en;       /* NULL: keep the stored one */
	int retired;               /* 0 or 1; -1: keep the stored one */
	enum regcode_level level;
	unsigned long line;
	bool rejected;
};

struct region_import {
	sqlite3 *db;
	struct import_report *rep;
	int64_t now;
	struct region_row *rows;
	size_t row_count;
	struct import_key *index;    /* rows with a valid code */
	size_t index_count;
	bool changed;
	sqlite3_stmt *st_find, *st_entity, *st_insert, *st_update, *st_relink;
};

static void reject_row(struct region_import *ctx, struct region_row *row, const char *column, const char *reason)
{
	row->rejected = true;
	import_reject(ctx->rep, row->line, column, "%s", reason);
}

/* "1"/"0", "是"/"否", and the English words a sheet may hold; -1 when none of them. */
static int parse_retired(const char *text)
{
	static const char *const yes[] = { "1", "是", "true", "yes", "y", NULL };
	static const char *const no[] = { "0", "否", "false", "no", "n", NULL };
	for (int i = 0; yes[i]; i++)
		if (import_key_equal(text, yes[i]))
			return 1;
	for (int i = 0; no[i]; i++)
		if (import_key_equal(text, no[i]))
			return 0;
	return -1;
}

/* The checks that need nothing but the row itself. */
static void check_row(struct region_import *ctx, const struct import_table *table, size_t i)
{
	struct region_row *row = &ctx->rows[i];
	struct import_report *rep = ctx->rep;
	row->line = table->lines[i];
	row->retired = -1;

	const char *code = import_value(table, i, COL_CODE), *why = NULL;
	if (!code) {
		reject_row(ctx, row, "code", "is required");
	} else if (regcode_check(code, REGCODE_ANY, &why) < 0) {
		reject_row(ctx, row, "code", why);
	} else {
		row->code = code;
		row->level = regcode_level(code);
	}

	row->name_zh = import_value(table, i, COL_NAME);
	if (!row->name_zh)
		reject_row(ctx, row, "name", "is required");
	else if (import_check_text(rep, row->line, "name", row->name_zh, REGION_NAME_MAX_CHARS) < 0)
		row->rejected = true;

	row->name_en = import_value(table, i, COL_NAME_EN);
	if (row->name_en && import_check_text(rep, row->line, "name_en", row->name_en, REGION_NAME_MAX_CHARS) < 0)
		row->rejected = true;

	const char *retired = import_value(table, i, COL_RETIRED);
	if (retired && (row->retired = parse_retired(retired)) < 0)
		reject_row(ctx, row, "retired", "must be 1 or 0 (是 or 否)");
}

/* Sort the valid codes; a code seen again is refused, the first row with it stands. */
static void index_codes(struct region_import *ctx)
{
	ctx->index = xreallocarray(NULL, ctx->row_count + 1, sizeof *ctx->index);
	for (size_t i = 0; i < ctx->row_count; i++)
		if (ctx->rows[i].code)
			ctx->index[ctx->index_count++] = (struct import_key){ ctx->rows[i].code, i };
	import_sort_keys(ctx->index, ctx->index_count);
	size_t first = 0;
	for (size_t k = 1; k < ctx->index_count; k++) {
		if (strcmp(ctx->index[k].key, ctx->index[first].key) != 0) {
			first = k;
			continue;
		}
		struct region_row *row = &ctx->rows[ctx->index[k].row];
		row->rejected = true;
		import_reject(ctx->rep, row->line, "code", "%s is also on line %lu (a code may appear once)",
			      row->code, ctx->rows[ctx->index[first].row].line);
	}
}

/* The row that first has `code` in the file, or NULL. */
static const struct region_row *row_in_file(const struct region_import *ctx, const char *code)
{
	const struct import_key *found = import_find_key(ctx->index, ctx->index_count, code);
	return found ? &ctx->rows[found->row] : NULL;
}

/* Whether `code` is stored: 1 yes, 0 no, -1 database error. */
static int region_stored(struct region_import *ctx, const char *code)
{
	sqlite3_bind_text(ctx->st_find, 1, code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(ctx->st_find);
	sqlite3_reset(ctx->st_find);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Whether a parent candidate exists: accepted from this file (levels above
 * are already settled), or stored. 1, 0, or -1 on a database error.
 */
static int region_exists(struct region_import *ctx, const char *code)
{
	const struct region_row *in_file = row_in_file(ctx, code);
	if (in_file && !in_file->rejected)
		return 1;
	return region_stored(ctx, code);
}

/*
 * The parent of an accepted row. A township needs its county and a village
 * its township; a county or anything above is linked to its nearest existing
 * ancestor, or is a top of the tree. 0 with parent[0] == '\0' for a top,
 * 1 when the row was rejected, -1 on a database error.
 */
static int resolve_parent(struct region_import *ctx, struct region_row *row, char parent[REGCODE_SIZE])
{
	parent[0] = '\0';
	if (row->level >= REGCODE_TOWNSHIP) {
		regcode_parent(row->code, parent);
		int found = region_exists(ctx, parent);
		if (found != 0)
			return found < 0 ? -1 : 0;
		const char *level = regcode_level_name(regcode_level(parent));
		const struct region_row *in_file = row_in_file(ctx, parent);
		if (in_file)
			import_reject(ctx->rep, row->line, "code", "its %s %s (line %lu) was rejected and is not in the database",
				      level, parent, in_file->line);
		else
			import_reject(ctx->rep, row->line, "code", "its %s %s is neither in the file nor in the database",
				      level, parent);
		row->rejected = true;
		parent[0] = '\0';
		return 1;
	}
	for (int level = (int)row->level - 1; level >= REGCODE_PROVINCE; level--) {
		regcode_ancestor(row->code, (enum regcode_level)level, parent);
		int found = region_exists(ctx, parent);
		if (found != 0)
			return found < 0 ? -1 : 0;
	}
	parent[0] = '\0';
	return 0;
}

/* Insert or update one accepted row; -1 on a database error. */
static int store_row(struct region_import *ctx, const struct region_row *row, const char *parent)
{
	sqlite3_stmt *st = ctx->st_find;
	sqlite3_bind_text(st, 1, row->code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t entity_id = sqlite3_column_int64(st, 0);
		bool same = import_same_text(*parent ? parent : NULL, import_column_text(st, 1)) &&
			    import_same_text(row->name_zh, import_column_text(st, 2)) &&
			    (!row->name_en || import_same_text(row->name_en, import_column_text(st, 3))) &&
			    (row->retired < 0 || row->retired == sqlite3_column_int(st, 4));
		sqlite3_reset(st);
		if (same) {
			ctx->rep->unchanged++;
			return 0;
		}
		st = ctx->st_update;
		sqlite3_bind_int64(st, 1, entity_id);
		import_bind_text(st, 2, parent);
		sqlite3_bind_text(st, 3, row->name_zh, -1, SQLITE_STATIC);
		import_bind_text(st, 4, row->name_en);
		if (row->retired >= 0)
			sqlite3_bind_int(st, 5, row->retired);
		if (import_step_done(st) < 0)
			return -1;
		ctx->rep->updated++;
		ctx->changed = true;
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	int64_t entity_id = import_entity_id(ctx->st_entity, regcode_level_name(row->level), row->code, ctx->now);
	if (entity_id < 0)
		return -1;
	st = ctx->st_insert;
	sqlite3_bind_int64(st, 1, entity_id);
	sqlite3_bind_text(st, 2, row->code, -1, SQLITE_STATIC);
	import_bind_text(st, 3, parent);
	sqlite3_bind_text(st, 4, row->name_zh, -1, SQLITE_STATIC);
	import_bind_text(st, 5, row->name_en);
	sqlite3_bind_int(st, 6, row->retired > 0);
	if (import_step_done(st) < 0)
		return -1;
	ctx->rep->inserted++;
	ctx->changed = true;
	return 0;
}

/*
 * A province or prefecture of the file becomes the nearest ancestor of the
 * stored counties and prefectures beneath it that hung from a higher node or
 * from nothing (imported before it). Rows of this file already saw it when
 * their parents were resolved; this fixes the stored rest of the tree.
 */
static int relink_below(struct region_import *ctx, const struct region_row *row)
{
	char province[REGCODE_SIZE];
	regcode_ancestor(row->code, REGCODE_PROVINCE, province);
	sqlite3_stmt *st = ctx->st_relink;
	sqlite3_bind_text(st, 1, row->code, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, row->level == REGCODE_PROVINCE ? 2 : 4);
	if (row->level == REGCODE_PREFECTURE)
		sqlite3_bind_text(st, 3, province, -1, SQLITE_TRANSIENT);
	return import_step_done(st);
}

static int store_rows(struct region_import *ctx)
{
	for (int level = REGCODE_PROVINCE; level <= REGCODE_VILLAGE; level++) {
		for (size_t i = 0; i < ctx->row_count; i++) {
			struct region_row *row = &ctx->rows[i];
			if (row->rejected || !row->code || (int)row->level != level)
				continue;
			char parent[REGCODE_SIZE];
			int resolved = resolve_parent(ctx, row, parent);
			if (resolved < 0)
				return -1;
			if (resolved == 0 && store_row(ctx, row, parent) < 0)
				return -1;
		}
	}
	for (size_t i = 0; i < ctx->row_count; i++) {
		const struct region_row *row = &ctx->rows[i];
		if (row->rejected || !row->code || row->level > REGCODE_PREFECTURE)
			continue;
		if (relink_below(ctx, row) < 0)
			return -1;
		if (sqlite3_changes(ctx->db) > 0)
			ctx->changed = true;
	}
	return 0;
}

static void prepare_statements(struct region_import *ctx)
{
	ctx->st_find = db_prepare(ctx->db,
		"SELECT entity_id, parent, name_zh, name_en, retired FROM region WHERE code = ?1");
	ctx->st_entity = db_prepare(ctx->db, IMPORT_SQL_ENTITY_UPSERT);
	ctx->st_insert = db_prepare(ctx->db,
		"INSERT INTO region(entity_id, code, parent, name_zh, name_en, retired)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	/* NULL for name_en / retired: the sheet did not say, keep what is stored */
	ctx->st_update = db_prepare(ctx->db,
		"UPDATE region SET parent = ?2, name_zh = ?3, name_en = coalesce(?4, name_en),"
		" retired = coalesce(?5, retired) WHERE entity_id = ?1");
	ctx->st_relink = db_prepare(ctx->db,
		"UPDATE region SET parent = ?1 WHERE substr(code, 1, ?2) = substr(?1, 1, ?2)"
		" AND substr(code, 7) = '000000' AND code <> ?1 AND (parent IS NULL OR parent = ?3)");
}

static void finalize_statements(struct region_import *ctx)
{
	sqlite3_finalize(ctx->st_find);
	sqlite3_finalize(ctx->st_entity);
	sqlite3_finalize(ctx->st_insert);
	sqlite3_finalize(ctx->st_update);
	sqlite3_finalize(ctx->st_relink);
}

int import_regions(sqlite3 *db, const char *data, size_t len, struct import_report *rep)
{
	import_report_reset(rep);
	struct import_table table;
	if (import_table_load(data, len, region_specs, REGION_COLUMNS, &table, rep) < 0)
		return -1;
	struct region_import ctx = {
		.db = db, .rep = rep, .now = (int64_t)time(NULL), .row_count = table.row_count,
	};
	ctx.rows = xcalloc(table.row_count + 1, sizeof *ctx.rows);
	for (size_t i = 0; i < table.row_count; i++)
		check_row(&ctx, &table, i);
	index_codes(&ctx);

	int result = -1;
	if (db_begin(db) < 0) {
		import_fail(rep, "cannot start a transaction: %s", sqlite3_errmsg(db));
		goto out;
	}
	prepare_statements(&ctx);
	if (store_rows(&ctx) < 0 || (ctx.changed && reg_bump_version(db) < 0) || db_commit(db) < 0) {
		import_fail(rep, "database error, nothing was imported: %s", sqlite3_errmsg(db));
		finalize_statements(&ctx);
		db_rollback(db);
		goto out;
	}
	finalize_statements(&ctx);
	for (size_t i = 0; i < ctx.row_count; i++)
		rep->rejected += ctx.rows[i].rejected;
	result = 0;
out:
	import_sort_errors(rep);
	free(ctx.index);
	free(ctx.rows);
	import_table_free(&table);
	return result;
}

int import_export_regions(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT code, name_zh, name_en, retired FROM region ORDER BY code");
	fputs("code,name,name_en,retired\r\n", out);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		import_csv_field(out, import_column_text(st, 0), false);
		import_csv_field(out, import_column_text(st, 1), false);
		import_csv_field(out, import_column_text(st, 2), false);
		import_csv_int(out, sqlite3_column_int64(st, 3), true);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE && !ferror(out) && fflush(out) == 0 ? 0 : -1;
}

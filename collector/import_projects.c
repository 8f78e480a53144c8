/*
 * import_projects: the industry-project library (项目库) from a CSV sheet,
 * and its export. Cells are read the way county offices type them: Chinese
 * category and stage names, investment in yuan with thousands separators
 * (converted to fen exactly, without floating point), dates as 2024-03-01,
 * 2024/3/1 or 2024年3月1日. A project must sit in a stored village or township.
 */
#include "import_int.h"

#include "cst.h"
#include "db.h"
#include "regcode.h"
#include "registry.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum project_column {
	COL_ID, COL_NAME, COL_CATEGORY, COL_LOCATION, COL_DEPARTMENT, COL_INVEST_FEN, COL_INVEST_YUAN,
	COL_START, COL_END, COL_HOUSEHOLDS, COL_STAGE, PROJECT_COLUMNS
};

static const struct csv_column_spec project_specs[PROJECT_COLUMNS] = {
	[COL_ID] = { .names = { "id", "项目编号" }, .required = true },
	[COL_NAME] = { .names = { "name", "项目名称" }, .required = true },
	[COL_CATEGORY] = { .names = { "category", "类别", "项目类别" }, .required = true },
	[COL_LOCATION] = { .names = { "location", "实施地点代码", "地点代码" }, .required = true },
	[COL_DEPARTMENT] = { .names = { "department", "责任单位" }, .required = true },
	/* Chinese Excel users type full-width parentheses as often as ASCII ones */
	[COL_INVEST_FEN] = { .names = { "investment_fen", "批复投资(分)", "批复投资（分）" } },
	[COL_INVEST_YUAN] = { .names = { "investment_yuan", "批复投资(元)", "批复投资（元）", "批复投资" } },
	[COL_START] = { .names = { "start", "开工日期" } },
	[COL_END] = { .names = { "planned_end", "计划完工日期" } },
	[COL_HOUSEHOLDS] = { .names = { "households", "带动户数" } },
	[COL_STAGE] = { .names = { "stage", "阶段" } },
};

_Static_assert(PROJECT_COLUMNS <= IMPORT_MAX_COLUMNS, "import_table holds at most IMPORT_MAX_COLUMNS columns");

#define PROJECT_ID_MAX 32
#define PROJECT_TEXT_MAX_CHARS 200
#define PROJECT_MAX_HOUSEHOLDS 10000000

struct named_key {
	const char *key;        /* as stored: the schema's CHECK list */
	const char *zh[3];
};

static const struct named_key categories[] = {
	{ "planting", { "种植" } },
	{ "breeding", { "养殖" } },
	{ "processing", { "加工" } },
	{ "tourism", { "乡村旅游", "旅游" } },
	{ "ecommerce", { "电商" } },
	{ "photovoltaic", { "光伏" } },
	{ "infrastructure", { "基础设施" } },
	{ "other", { "其他", "其它" } },
	{ NULL, { NULL } },
};

static const struct named_key stages[] = {
	{ "approved", { "批复" } },
	{ "publicised", { "公示" } },
	{ "started", { "开工" } },
	{ "completed", { "完工" } },
	{ "accepted", { "验收" } },
	{ "completion_notice", { "竣工公示" } },
	{ "asset_registered", { "资产登记" } },
	{ NULL, { NULL } },
};

struct project_row {
	const char *id, *name, *category, *location, *department, *stage; /* stage NULL: keep */
	int64_t invest_fen;
	char start[16], planned_end[16];   /* "YYYY-MM-DD"; "": keep the stored date */
	int64_t households;                /* -1: keep the stored number */
	unsigned long line;
	bool rejected;
};

struct project_import {
	sqlite3 *db;
	struct import_report *rep;
	int64_t now;
	struct project_row *rows;
	size_t row_count;
	sqlite3_stmt *st_region, *st_find, *st_entity, *st_insert, *st_update;
};

static void reject_row(struct project_import *ctx, struct project_row *row, const char *column, const char *reason)
{
	row->rejected = true;
	import_reject(ctx->rep, row->line, column, "%s", reason);
}

static const char *lookup_key(const struct named_key *table, const char *text)
{
	for (const struct named_key *entry = table; entry->key; entry++) {
		if (import_key_equal(text, entry->key))
			return entry->key;
		for (int i = 0; i < 3 && entry->zh[i]; i++)
			if (strcmp(text, entry->zh[i]) == 0)
				return entry->key;
	}
	return NULL;
}

static bool valid_project_id(const char *id)
{
	size_t length = strlen(id);
	if (length > PROJECT_ID_MAX || !((id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= 'a' && id[0] <= 'z')))
		return false;
	for (size_t i = 1; i < length; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int add_digit(int64_t *value, char digit)
{
	int64_t units = digit - '0';
	if (*value > (INT64_MAX - units) / 10)
		return -1;
	*value = *value * 10 + units;
	return 0;
}

/*
 * An amount to integer fen, exactly: digits with optional thousands
 * separators in groups of three ("3,000,000.50"), and for yuan up to two
 * decimals. 0, or -1 with *why set.
 */
static int parse_amount(const char *text, bool yuan, int64_t *fen, const char **why)
{
	const char *bad = yuan ? "must be an amount in yuan like 1,234.56 (at most 2 decimals)"
			       : "must be a whole number like 1,234 (no decimals)";
	if (*text == '-') {
		*why = "must not be negative";
		return -1;
	}
	int64_t value = 0;
	size_t digits = 0, group = 0;
	int decimals = 0;
	bool grouped = false;
	const char *p = text;
	for (; (*p >= '0' && *p <= '9') || *p == ','; p++) {
		if (*p == ',') {
			/* "1,23" or ",123" is a typo, not a separator: refuse rather than guess */
			if (group == 0 || group > 3 || (grouped && group != 3))
				goto refuse;
			grouped = true;
			group = 0;
			continue;
		}
		if (add_digit(&value, *p) < 0)
			goto too_large;
		digits++;
		group++;
	}
	if (digits == 0 || (grouped && group != 3))
		goto refuse;
	if (*p == '.' && yuan) {
		for (p++; *p >= '0' && *p <= '9'; p++, decimals++)
			if (decimals == 2 || add_digit(&value, *p) < 0)
				goto refuse;
		if (decimals == 0)
			goto refuse;
	}
	if (*p)
		goto refuse;
	for (; yuan && decimals < 2; decimals++)
		if (add_digit(&value, '0') < 0)
			goto too_large;
	*fen = value;
	return 0;
refuse:
	*why = bad;
	return -1;
too_large:
	*why = "is too large";
	return -1;
}

/* 1 to `most` ASCII digits into *value; false when there are none. */
static bool read_number(const char **p, int most, int *value)
{
	int count = 0;
	*value = 0;
	while (count < most && **p >= '0' && **p <= '9') {
		*value = *value * 10 + (**p - '0');
		(*p)++;
		count++;
	}
	return count > 0 && !(**p >= '0' && **p <= '9');
}

static bool skip_text(const char **p, const char *expected)
{
	size_t length = strlen(expected);
	if (strncmp(*p, expected, length) != 0)
		return false;
	*p += length;
	return true;
}

/* 2024-03-01, 2024-3-1, 2024/3/1 or 2024年3月1日 as "2024-03-01"; 0, or -1 with *why. */
static int parse_date(const char *text, char out[16], const char **why)
{
	static const char *const forms[][3] = { { "-", "-", "" }, { "/", "/", "" }, { "年", "月", "日" } };
	for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
		const char *p = text;
		int year, month, day;
		if (!(read_number(&p, 4, &year) && p - text == 4 && skip_text(&p, forms[f][0]) &&
		      read_number(&p, 2, &month) && skip_text(&p, forms[f][1]) &&
		      read_number(&p, 2, &day) && skip_text(&p, forms[f][2]) && *p == '\0'))
			continue;
		/* the remainders only tell the compiler what read_number already bounds */
		snprintf(out, 16, "%04u-%02u-%02u", (unsigned)year % 10000u, (unsigned)month % 100u,
			 (unsigned)day % 100u);
		int64_t day_number;
		if (cst_date_parse(out, &day_number, why) < 0) {
			out[0] = '\0';
			return -1;
		}
		return 0;
	}
	*why = "must be a date YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日";
	return -1;
}

/* The location must be a stored village or township. */
static int check_location(struct project_import *ctx, struct project_row *row)
{
	const char *why;
	if (regcode_check(row->location, REGCODE_ANY, &why) < 0) {
		reject_row(ctx, row, "location", why);
		return 0;
	}
	enum regcode_level level = regcode_level(row->location);
	if (level != REGCODE_VILLAGE && level != REGCODE_TOWNSHIP) {
		row->rejected = true;
		import_reject(ctx->rep, row->line, "location", "is a %s code; a project is located in a village or a township",
			      regcode_level_name(level));
		return 0;
	}
	sqlite3_bind_text(ctx->st_region, 1, row->location, -1, SQLITE_STATIC);
	int rc = sqlite3_step(ctx->st_region);
	sqlite3_reset(ctx->st_region);
	if (rc == SQLITE_DONE)
		reject_row(ctx, row, "location", "is not a region in the database (import the regions first)");
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Investment from whichever column the sheet has; both given must agree. */
static void check_investment(struct project_import *ctx, const struct import_table *table, size_t i,
			     struct project_row *row)
{
	const char *fen_text = import_value(table, i, COL_INVEST_FEN);
	const char *yuan_text = import_value(table, i, COL_INVEST_YUAN);
	const char *why;
	int64_t from_yuan;
	if (!fen_text && !yuan_text) {
		reject_row(ctx, row, import_has_column(table, COL_INVEST_FEN) ? "investment_fen" : "investment_yuan",
			   "is required");
		return;
	}
	if (fen_text && parse_amount(fen_text, false, &row->invest_fen, &why) < 0) {
		reject_row(ctx, row, "investment_fen", why);
		return;
	}
	if (yuan_text && parse_amount(yuan_text, true, &from_yuan, &why) < 0) {
		reject_row(ctx, row, "investment_yuan", why);
		return;
	}
	if (fen_text && yuan_text && from_yuan != row->invest_fen)
		reject_row(ctx, row, "investment_yuan", "does not equal investment_fen");
	else if (!fen_text)
		row->invest_fen = from_yuan;
}

static void check_text_cell(struct project_import *ctx, const struct import_table *table, size_t i,
			    int column, const char *name, const char **out)
{
	struct project_row *row = &ctx->rows[i];
	*out = import_value(table, i, (size_t)column);
	if (!*out)
		reject_row(ctx, row, name, "is required");
	else if (import_check_text(ctx->rep, row->line, name, *out, PROJECT_TEXT_MAX_CHARS) < 0)
		row->rejected = true;
}

/* Every check of one row but the merged date order; -1 on a database error. */
static int check_row(struct project_import *ctx, const struct import_table *table, size_t i)
{
	struct project_row *row = &ctx->rows[i];
	const char *why, *text;
	row->line = table->lines[i];
	row->households = -1;

	row->id = import_value(table, i, COL_ID);
	if (!row->id)
		reject_row(ctx, row, "id", "is required");
	else if (!valid_project_id(row->id))
		reject_row(ctx, row, "id", "must be a letter then up to 31 letters, digits, '_' or '-'");
	check_text_cell(ctx, table, i, COL_NAME, "name", &row->name);

	if (!(text = import_value(table, i, COL_CATEGORY)))
		reject_row(ctx, row, "category", "is required");
	else if (!(row->category = lookup_key(categories, text)))
		reject_row(ctx, row, "category", "is not a category: planting, breeding, processing, tourism, "
			   "ecommerce, photovoltaic, infrastructure, other, or 种植, 养殖, 加工, 旅游, 电商, 光伏, 基础设施, 其他");

	if (!(row->location = import_value(table, i, COL_LOCATION)))
		reject_row(ctx, row, "location", "is required");
	else if (check_location(ctx, row) < 0)
		return -1;
	check_text_cell(ctx, table, i, COL_DEPARTMENT, "department", &row->department);
	check_investment(ctx, table, i, row);

	if ((text = import_value(table, i, COL_START)) && parse_date(text, row->start, &why) < 0)
		reject_row(ctx, row, "start", why);
	if ((text = import_value(table, i, COL_END)) && parse_date(text, row->planned_end, &why) < 0)
		reject_row(ctx, row, "planned_end", why);

	if ((text = import_value(table, i, COL_HOUSEHOLDS)) &&
	    (parse_amount(text, false, &row->households, &why) < 0 || row->households > PROJECT_MAX_HOUSEHOLDS)) {
		reject_row(ctx, row, "households", "must be a whole number of households, 0 to 10,000,000");
		row->households = -1;
	}
	if ((text = import_value(table, i, COL_STAGE)) && !(row->stage = lookup_key(stages, text)))
		reject_row(ctx, row, "stage", "is not a stage: approved, publicised, started, completed, accepted, "
			   "completion_notice, asset_registered, or 批复, 公示, 开工, 完工, 验收, 竣工公示, 资产登记");
	return 0;
}

/* A project id on two rows: the first stands, the others are refused. */
static void reject_duplicates(struct project_import *ctx)
{
	struct import_key *keys = xreallocarray(NULL, ctx->row_count + 1, sizeof *keys);
	size_t count = 0;
	for (size_t i = 0; i < ctx->row_count; i++)
		if (ctx->rows[i].id && valid_project_id(ctx->rows[i].id))
			keys[count++] = (struct import_key){ ctx->rows[i].id, i };
	import_sort_keys(keys, count);
	for (size_t k = 1, first = 0; k < count; k++) {
		if (strcmp(keys[k].key, keys[first].key) != 0) {
			first = k;
			continue;
		}
		struct project_row *row = &ctx->rows[keys[k].row];
		row->rejected = true;
		import_reject(ctx->rep, row->line, "id", "%s is also on line %lu (an id may appear once)",
			      row->id, ctx->rows[keys[first].row].line);
	}
	free(keys);
}

/* A date column as it will be after the update: the row's, else the stored one. */
static void merged_date(char out[16], const char *from_row, sqlite3_stmt *stored, int column)
{
	const char *text = from_row[0] ? from_row : import_column_text(stored, column);
	snprintf(out, 16, "%s", text ? text : "");
}

static int insert_project(struct project_import *ctx, const struct project_row *row)
{
	int64_t entity_id = import_entity_id(ctx->st_entity, "project", row->id, ctx->now);
	if (entity_id < 0)
		return -1;
	sqlite3_stmt *st = ctx->st_insert;
	sqlite3_bind_int64(st, 1, entity_id);
	sqlite3_bind_text(st, 2, row->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row->location, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, row->department, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, row->invest_fen);
	import_bind_text(st, 7, row->start);
	import_bind_text(st, 8, row->planned_end);
	sqlite3_bind_int64(st, 9, row->households > 0 ? row->households : 0);
	sqlite3_bind_text(st, 10, row->stage ? row->stage : "approved", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, ctx->now);
	if (import_step_done(st) < 0)
		return -1;
	ctx->rep->inserted++;
	return 0;
}

/* Insert or update one checked row (unless its dates end up out of order); -1 on a database error. */
static int store_row(struct project_import *ctx, struct project_row *row)
{
	sqlite3_stmt *st = ctx->st_find;
	sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -1;
		if (row->start[0] && row->planned_end[0] && strcmp(row->planned_end, row->start) < 0) {
			row->rejected = true;
			import_reject(ctx->rep, row->line, "planned_end", "planned end %s is before the start %s",
				      row->planned_end, row->start);
			return 0;
		}
		return insert_project(ctx, row);
	}
	int64_t entity_id = sqlite3_column_int64(st, 0);
	char start[16], planned_end[16];
	merged_date(start, row->start, st, 6);
	merged_date(planned_end, row->planned_end, st, 7);
	bool same = import_same_text(row->name, import_column_text(st, 1)) &&
		    import_same_text(row->category, import_column_text(st, 2)) &&
		    import_same_text(row->location, import_column_text(st, 3)) &&
		    import_same_text(row->department, import_column_text(st, 4)) &&
		    row->invest_fen == sqlite3_column_int64(st, 5) &&
		    (!row->start[0] || import_same_text(row->start, import_column_text(st, 6))) &&
		    (!row->planned_end[0] || import_same_text(row->planned_end, import_column_text(st, 7))) &&
		    (row->households < 0 || row->households == sqlite3_column_int64(st, 8)) &&
		    (!row->stage || import_same_text(row->stage, import_column_text(st, 9)));
	sqlite3_reset(st);
	if (start[0] && planned_end[0] && strcmp(planned_end, start) < 0) {
		/* one of the two may be the stored date: name the column the sheet gave */
		row->rejected = true;
		import_reject(ctx->rep, row->line, row->planned_end[0] ? "planned_end" : "start",
			      "planned end %s is before the start %s", planned_end, start);
		return 0;
	}
	if (same) {
		ctx->rep->unchanged++;
		return 0;
	}
	st = ctx->st_update;
	sqlite3_bind_int64(st, 1, entity_id);
	sqlite3_bind_text(st, 2, row->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row->location, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, row->department, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, row->invest_fen);
	import_bind_text(st, 7, row->start);
	import_bind_text(st, 8, row->planned_end);
	if (row->households >= 0)
		sqlite3_bind_int64(st, 9, row->households);
	import_bind_text(st, 10, row->stage);
	sqlite3_bind_int64(st, 11, ctx->now);
	if (import_step_done(st) < 0)
		return -1;
	ctx->rep->updated++;
	return 0;
}

static void prepare_statements(struct project_import *ctx)
{
	ctx->st_region = db_prepare(ctx->db, "SELECT 1 FROM region WHERE code = ?1");
	ctx->st_find = db_prepare(ctx->db,
		"SELECT p.entity_id, p.name, p.category, p.location, p.department, p.invest_fen,"
		" p.start_date, p.planned_end, p.planned_hh, p.stage"
		" FROM entity e JOIN project p ON p.entity_id = e.id WHERE e.kind = 'project' AND e.key = ?1");
	ctx->st_entity = db_prepare(ctx->db, IMPORT_SQL_ENTITY_UPSERT);
	ctx->st_insert = db_prepare(ctx->db,
		"INSERT INTO project(entity_id, name, category, location, department, invest_fen,"
		" start_date, planned_end, planned_hh, stage, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
	/* NULL for an optional value: the sheet did not say, keep what is stored */
	ctx->st_update = db_prepare(ctx->db,
		"UPDATE project SET name = ?2, category = ?3, location = ?4, department = ?5,"
		" invest_fen = ?6, start_date = coalesce(?7, start_date),"
		" planned_end = coalesce(?8, planned_end), planned_hh = coalesce(?9, planned_hh),"
		" stage = coalesce(?10, stage), updated = ?11 WHERE entity_id = ?1");
}

static void finalize_statements(struct project_import *ctx)
{
	sqlite3_finalize(ctx->st_region);
	sqlite3_finalize(ctx->st_find);
	sqlite3_finalize(ctx->st_entity);
	sqlite3_finalize(ctx->st_insert);
	sqlite3_finalize(ctx->st_update);
}

static int check_and_store(struct project_import *ctx, const struct import_table *table)
{
	for (size_t i = 0; i < ctx->row_count; i++)
		if (check_row(ctx, table, i) < 0)
			return -1;
	reject_duplicates(ctx);
	for (size_t i = 0; i < ctx->row_count; i++)
		if (!ctx->rows[i].rejected && store_row(ctx, &ctx->rows[i]) < 0)
			return -1;
	return 0;
}

int import_projects(sqlite3 *db, const char *data, size_t len, struct import_report *rep)
{
	import_report_reset(rep);
	struct import_table table;
	if (import_table_load(data, len, project_specs, PROJECT_COLUMNS, &table, rep) < 0)
		return -1;
	if (!import_has_column(&table, COL_INVEST_FEN) && !import_has_column(&table, COL_INVEST_YUAN)) {
		import_fail(rep, "header (line 1): missing column 'investment_fen' or 'investment_yuan' "
			    "(accepted names: investment_fen, 批复投资(分), investment_yuan, 批复投资(元), 批复投资)");
		import_table_free(&table);
		return -1;
	}
	struct project_import ctx = {
		.db = db, .rep = rep, .now = (int64_t)time(NULL), .row_count = table.row_count,
	};
	ctx.rows = xcalloc(table.row_count + 1, sizeof *ctx.rows);

	int result = -1;
	if (db_begin(db) < 0) {
		import_fail(rep, "cannot start a transaction: %s", sqlite3_errmsg(db));
		goto out;
	}
	prepare_statements(&ctx);
	bool failed = check_and_store(&ctx, &table) < 0 ||
		      (rep->inserted + rep->updated > 0 && reg_bump_version(db) < 0) || db_commit(db) < 0;
	if (failed)
		import_fail(rep, "database error, nothing was imported: %s", sqlite3_errmsg(db));
	finalize_statements(&ctx);
	if (failed) {
		db_rollback(db);
		goto out;
	}
	for (size_t i = 0; i < ctx.row_count; i++)
		rep->rejected += ctx.rows[i].rejected;
	result = 0;
out:
	import_sort_errors(rep);
	free(ctx.rows);
	import_table_free(&table);
	return result;
}

int import_export_projects(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT e.key, p.name, p.category, p.location, p.department, p.invest_fen,"
		" p.start_date, p.planned_end, p.planned_hh, p.stage"
		" FROM project p JOIN entity e ON e.id = p.entity_id ORDER BY e.key");
	fputs("id,name,category,location,department,investment_fen,start,planned_end,households,stage\r\n", out);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int column = 0; column <= 4; column++)
			import_csv_field(out, import_column_text(st, column), false);
		import_csv_int(out, sqlite3_column_int64(st, 5), false);
		import_csv_field(out, import_column_text(st, 6), false);
		import_csv_field(out, import_column_text(st, 7), false);
		import_csv_int(out, sqlite3_column_int64(st, 8), false);
		import_csv_field(out, import_column_text(st, 9), true);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE && !ferror(out) && fflush(out) == 0 ? 0 : -1;
}

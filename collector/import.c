/*
 * import: the parts both importers share: loading a whole CSV file into a
 * table of trimmed cells before any database work (a file refused half-way
 * would otherwise leave half an import), the per-row error report with its
 * cap, text checks, the entity upsert, and the CSV writer of the exports.
 * The region and project rules live in import_regions.c / import_projects.c.
 */
#include "import_int.h"

#include "xalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Width of a trimmable character at `text` (space, tab, line end, U+3000, U+00A0), or 0. */
static size_t space_width(const char *text, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)text;
	if (length >= 1 && (bytes[0] == ' ' || bytes[0] == '\t' || bytes[0] == '\r' || bytes[0] == '\n'))
		return 1;
	if (length >= 2 && bytes[0] == 0xC2 && bytes[1] == 0xA0)
		return 2;
	if (length >= 3 && bytes[0] == 0xE3 && bytes[1] == 0x80 && bytes[2] == 0x80)
		return 3;
	return 0;
}

/* Same, for the character that ends text[0..length). */
static size_t trailing_space_width(const char *text, size_t length)
{
	for (size_t width = 1; width <= 3 && width <= length; width++)
		if (space_width(text + length - width, width) == width)
			return width;
	return 0;
}

static void trim(const char **text, size_t *length)
{
	size_t width;
	while ((width = space_width(*text, *length)) > 0) {
		*text += width;
		*length -= width;
	}
	while ((width = trailing_space_width(*text, *length)) > 0)
		*length -= width;
}

/* Excel leaves rows of empty cells (",,,,") below the data; they are not rows. */
static bool row_is_blank(const struct csv_row *row)
{
	for (size_t i = 0; i < row->count; i++) {
		const char *text = row->fields[i];
		size_t length = strlen(text);
		trim(&text, &length);
		if (length > 0)
			return false;
	}
	return true;
}

/* Growable storage for the cells while the file is read; offsets, as it moves. */
struct table_builder {
	char *text;
	size_t text_length, text_capacity;
	size_t *offsets;          /* SIZE_MAX: column absent */
	size_t row_capacity;
};

static size_t append_cell(struct table_builder *builder, const char *text, size_t length)
{
	if (builder->text_length + length + 1 > builder->text_capacity) {
		size_t capacity = builder->text_capacity ? builder->text_capacity : 4096;
		while (builder->text_length + length + 1 > capacity)
			capacity *= 2;
		builder->text = xreallocarray(builder->text, capacity, 1);
		builder->text_capacity = capacity;
	}
	size_t offset = builder->text_length;
	memcpy(builder->text + offset, text, length);
	builder->text[offset + length] = '\0';
	builder->text_length += length + 1;
	return offset;
}

static void add_row(struct import_table *table, struct table_builder *builder, const struct csv_row *row)
{
	if (table->row_count == builder->row_capacity) {
		builder->row_capacity = builder->row_capacity ? builder->row_capacity * 2 : 256;
		table->lines = xreallocarray(table->lines, builder->row_capacity, sizeof *table->lines);
		builder->offsets = xreallocarray(builder->offsets, builder->row_capacity * table->column_count,
						 sizeof *builder->offsets);
	}
	size_t *offsets = builder->offsets + table->row_count * table->column_count;
	for (size_t column = 0; column < table->column_count; column++) {
		int at = table->columns[column];
		if (at < 0) {
			offsets[column] = SIZE_MAX;
			continue;
		}
		/* a short row (trailing empty cells cut off by some tools) reads as empty */
		const char *text = (size_t)at < row->count ? row->fields[at] : "";
		size_t length = strlen(text);
		trim(&text, &length);
		offsets[column] = append_cell(builder, text, length);
	}
	table->lines[table->row_count++] = row->line;
}

int import_table_load(const char *data, size_t len, const struct csv_column_spec *specs,
		      size_t spec_count, struct import_table *table, struct import_report *rep)
{
	memset(table, 0, sizeof *table);
	table->column_count = spec_count;
	/* offices upload the workbook itself as often as a CSV; the decoder would only say "not UTF-8" */
	if (len >= 4 && (memcmp(data, "PK\x03\x04", 4) == 0 || memcmp(data, "\xD0\xCF\x11\xE0", 4) == 0)) {
		import_fail(rep, "this is an Excel workbook (.xlsx/.xls), not CSV: save it as CSV first");
		return -1;
	}
	char err[300] = "";
	struct csv_reader *reader = csv_open_buffer(data, len, err, sizeof err);
	if (!reader) {
		import_fail(rep, "%s", err);
		return -1;
	}
	rep->encoding = csv_encoding_name(csv_encoding(reader));
	struct csv_row row;
	int got = csv_next_row(reader, &row);
	if (got <= 0) {
		import_fail(rep, "%s", got == 0 ? "the file is empty: no header row" : csv_error(reader));
		csv_close(reader);
		return -1;
	}
	if (csv_map_header(&row, specs, spec_count, table->columns, err, sizeof err) < 0) {
		import_fail(rep, "header (line %lu): %s", row.line, err);
		csv_close(reader);
		return -1;
	}
	struct table_builder builder = {0};
	while ((got = csv_next_row(reader, &row)) == 1)
		if (!row_is_blank(&row))
			add_row(table, &builder, &row);
	if (got < 0) {
		import_fail(rep, "%s", csv_error(reader));
		csv_close(reader);
		free(builder.text);
		free(builder.offsets);
		import_table_free(table);
		return -1;
	}
	csv_close(reader);

	table->text = builder.text;
	table->cells = xreallocarray(NULL, table->row_count * spec_count + 1, sizeof *table->cells);
	for (size_t i = 0; i < table->row_count * spec_count; i++)
		table->cells[i] = builder.offsets[i] == SIZE_MAX ? NULL : builder.text + builder.offsets[i];
	free(builder.offsets);
	rep->rows = table->row_count;
	return 0;
}

void import_table_free(struct import_table *table)
{
	free(table->lines);
	free(table->cells);
	free(table->text);
	memset(table, 0, sizeof *table);
}

const char *import_value(const struct import_table *table, size_t row, size_t column)
{
	const char *cell = table->cells[row * table->column_count + column];
	return cell && *cell ? cell : NULL;
}

bool import_has_column(const struct import_table *table, size_t column)
{
	return table->columns[column] >= 0;
}

void import_report_reset(struct import_report *rep)
{
	memset(rep, 0, sizeof *rep);
}

void import_reject(struct import_report *rep, unsigned long line, const char *column, const char *fmt, ...)
{
	if (rep->error_count == IMPORT_MAX_ERRORS) {
		rep->errors_dropped++;
		return;
	}
	if (rep->error_count == rep->error_capacity) {
		rep->error_capacity = rep->error_capacity ? rep->error_capacity * 2 : 16;
		rep->errors = xreallocarray(rep->errors, rep->error_capacity, sizeof *rep->errors);
	}
	struct import_row_error *error = &rep->errors[rep->error_count++];
	error->line = line;
	error->column = column ? column : "";
	va_list args;
	va_start(args, fmt);
	vsnprintf(error->reason, sizeof error->reason, fmt, args);
	va_end(args);
}

void import_fail(struct import_report *rep, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	vsnprintf(rep->failure, sizeof rep->failure, fmt, args);
	va_end(args);
	rep->inserted = rep->updated = rep->unchanged = 0;
}

void import_sort_errors(struct import_report *rep)
{
	/* insertion sort: stable (a row's errors stay in column order), and the list is nearly sorted */
	for (size_t i = 1; i < rep->error_count; i++) {
		struct import_row_error moving = rep->errors[i];
		size_t j = i;
		for (; j > 0 && rep->errors[j - 1].line > moving.line; j--)
			rep->errors[j] = rep->errors[j - 1];
		rep->errors[j] = moving;
	}
}

void import_report_print(FILE *out, const struct import_report *rep)
{
	if (rep->failure[0]) {
		fprintf(out, "import failed, nothing was imported: %s\n", rep->failure);
		return;
	}
	fprintf(out, "%zu rows (%s): %zu inserted, %zu updated, %zu unchanged, %zu rejected\n",
		rep->rows, rep->encoding ? rep->encoding : "?", rep->inserted, rep->updated,
		rep->unchanged, rep->rejected);
	for (size_t i = 0; i < rep->error_count; i++) {
		const struct import_row_error *error = &rep->errors[i];
		if (error->column[0])
			fprintf(out, "line %lu: %s: %s\n", error->line, error->column, error->reason);
		else
			fprintf(out, "line %lu: %s\n", error->line, error->reason);
	}
	if (rep->errors_dropped)
		fprintf(out, "... and %zu more errors\n", rep->errors_dropped);
}

void import_report_free(struct import_report *rep)
{
	if (!rep)
		return;
	free(rep->errors);
	rep->errors = NULL;
	rep->error_count = rep->error_capacity = 0;
}

int import_check_text(struct import_report *rep, unsigned long line, const char *column,
		      const char *text, size_t max_chars)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7F) {
			import_reject(rep, line, column, "must not contain line breaks or other control characters");
			return -1;
		}
		if ((*p & 0xC0) != 0x80) /* the decoder guarantees UTF-8: count lead bytes */
			chars++;
	}
	if (chars > max_chars) {
		import_reject(rep, line, column, "must be at most %zu characters, not %zu", max_chars, chars);
		return -1;
	}
	return 0;
}

static int compare_keys(const void *a, const void *b)
{
	const struct import_key *x = a, *y = b;
	int by_key = strcmp(x->key, y->key);
	if (by_key)
		return by_key;
	return x->row < y->row ? -1 : x->row > y->row;
}

void import_sort_keys(struct import_key *keys, size_t count)
{
	qsort(keys, count, sizeof *keys, compare_keys);
}

const struct import_key *import_find_key(const struct import_key *keys, size_t count, const char *key)
{
	size_t low = 0, high = count;
	while (low < high) {
		size_t middle = low + (high - low) / 2;
		if (strcmp(keys[middle].key, key) < 0)
			low = middle + 1;
		else
			high = middle;
	}
	return low < count && strcmp(keys[low].key, key) == 0 ? &keys[low] : NULL;
}

bool import_key_equal(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

bool import_same_text(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

const char *import_column_text(sqlite3_stmt *st, int column)
{
	return (const char *)sqlite3_column_text(st, column);
}

void import_bind_text(sqlite3_stmt *st, int index, const char *text)
{
	if (text && *text)
		sqlite3_bind_text(st, index, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, index);
}

int import_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int64_t import_entity_id(sqlite3_stmt *upsert, const char *kind, const char *key, int64_t now)
{
	sqlite3_bind_text(upsert, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(upsert, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(upsert, 3, now);
	int64_t id = -1;
	if (sqlite3_step(upsert) == SQLITE_ROW) {
		id = sqlite3_column_int64(upsert, 0);
		/* RETURNING: the statement only completes on the step after the row */
		if (sqlite3_step(upsert) != SQLITE_DONE)
			id = -1;
	}
	sqlite3_reset(upsert);
	sqlite3_clear_bindings(upsert);
	return id;
}

void import_csv_field(FILE *out, const char *text, bool last)
{
	if (!text)
		text = "";
	if (!strpbrk(text, ",\"\r\n")) {
		fputs(text, out);
	} else {
		fputc('"', out);
		for (const char *p = text; *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fputc('"', out);
	}
	fputs(last ? "\r\n" : ",", out);
}

void import_csv_int(FILE *out, int64_t value, bool last)
{
	fprintf(out, "%" PRId64 "%s", value, last ? "\r\n" : ",");
}

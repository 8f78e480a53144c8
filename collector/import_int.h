/*
 * import_int: what import.c shares with import_regions.c and
 * import_projects.c: the whole file loaded as a table of trimmed cells (so
 * a malformed line refuses the file before anything is written), the row
 * error collector, cell checks both importers need, and the CSV writer of
 * the exports. Not for use outside the import module.
 */
#ifndef IMPORT_INT_H
#define IMPORT_INT_H

#include "csv.h"
#include "import.h"

#include <stdbool.h>
#include <stdint.h>

#define IMPORT_MAX_COLUMNS 16

/* Every data row of a file, reduced to the columns an importer asked for. */
struct import_table {
	size_t column_count;             /* specs given to import_table_load */
	int columns[IMPORT_MAX_COLUMNS]; /* header index of each spec, -1 when absent */
	size_t row_count;
	unsigned long *lines;            /* physical line of each row */
	const char **cells;              /* row_count x column_count; NULL: column absent */
	char *text;                      /* backing store of the cells */
};

/*
 * Decode and parse the whole file, map the header, keep the non-blank rows
 * with their cells trimmed of spaces, tabs, U+3000 and U+00A0. Sets
 * rep->encoding and rep->rows. -1 with rep->failure set on a file error.
 */
int import_table_load(const char *data, size_t len, const struct csv_column_spec *specs,
		      size_t spec_count, struct import_table *table, struct import_report *rep);
void import_table_free(struct import_table *table);

/* The cell, or NULL when the column is absent or the cell is empty. */
const char *import_value(const struct import_table *table, size_t row, size_t column);
bool import_has_column(const struct import_table *table, size_t column);

void import_report_reset(struct import_report *rep);
/* Record one row error (counted beyond IMPORT_MAX_ERRORS, not kept). */
void import_reject(struct import_report *rep, unsigned long line, const char *column,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The whole import failed: say why, and drop any partial counts. */
void import_fail(struct import_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Order the kept errors by line (they are found in more than one pass). */
void import_sort_errors(struct import_report *rep);

/*
 * A name-like text: at most max_chars characters, no control characters
 * (a line break in a cell is an Alt+Enter the wall display cannot show).
 * 0, or -1 after rejecting the row.
 */
int import_check_text(struct import_report *rep, unsigned long line, const char *column,
		      const char *text, size_t max_chars);

/* A row's key (division code, project id) in an index sorted by (key, row). */
struct import_key {
	const char *key;
	size_t row;
};

void import_sort_keys(struct import_key *keys, size_t count);
/* The entry of the first row with `key`, or NULL. */
const struct import_key *import_find_key(const struct import_key *keys, size_t count, const char *key);

/* ASCII case-insensitive equality (English keys typed as "Planting"). */
bool import_key_equal(const char *a, const char *b);

/* Text that may be NULL, compared as SQLite compares a nullable column. */
bool import_same_text(const char *a, const char *b);
/* A nullable text column as a C string or NULL. */
const char *import_column_text(sqlite3_stmt *st, int column);

/* Bind text, or NULL when text is NULL or empty. */
void import_bind_text(sqlite3_stmt *st, int index, const char *text);
/* Step a statement that returns no rows, reset it, clear its bindings; 0 or -1. */
int import_step_done(sqlite3_stmt *st);

/*
 * Insert the entity (kind, key) or find the one there (an entity left without
 * its region or project row must not block the import). `upsert` is prepared
 * from IMPORT_SQL_ENTITY_UPSERT. Its id, or -1 on a database error.
 */
#define IMPORT_SQL_ENTITY_UPSERT \
	"INSERT INTO entity(kind, key, created) VALUES (?1, ?2, ?3)" \
	" ON CONFLICT(kind, key) DO UPDATE SET created = entity.created RETURNING id"
int64_t import_entity_id(sqlite3_stmt *upsert, const char *kind, const char *key, int64_t now);

/* One CSV field, quoted when it must be; then a comma or the line end. */
void import_csv_field(FILE *out, const char *text, bool last);
void import_csv_int(FILE *out, int64_t value, bool last);

#endif

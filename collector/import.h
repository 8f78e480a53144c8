/*
 * import: loading the region tree and the industry-project library from the
 * CSV files offices keep (UTF-8 or GB18030, English or Chinese headers) into
 * the registry tables, with a verdict for every row, and exporting both
 * tables in the same CSV format. One import is one transaction that also
 * bumps registry_version, so the running daemon reloads what changed.
 */
#ifndef IMPORT_H
#define IMPORT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>

#define IMPORT_MAX_ERRORS 1000      /* row errors kept; later ones are only counted */
#define IMPORT_REASON_SIZE 256

struct import_row_error {
	unsigned long line;         /* physical line where the row starts */
	const char *column;         /* English column name (static), "" for the whole row */
	char reason[IMPORT_REASON_SIZE];
};

struct import_report {
	size_t rows;                /* data rows read (blank rows are not rows) */
	size_t inserted, updated, unchanged, rejected;
	const char *encoding;       /* "UTF-8", "GB18030"; NULL when not decoded */
	struct import_row_error *errors; /* ordered by line */
	size_t error_count;         /* entries in errors, at most IMPORT_MAX_ERRORS */
	size_t errors_dropped;      /* row errors beyond the cap, only counted */
	size_t error_capacity;
	char failure[256];          /* why the whole import failed; "" when it did not */
};

/*
 * Import `len` bytes of CSV. *rep is overwritten (free an earlier report
 * first) and must be freed with import_report_free whatever the result.
 * Returns 0 when the file was read: good rows are stored, bad rows are in
 * rep->errors. Returns -1 with rep->failure set and nothing stored when the
 * file cannot be read as a whole (encoding, malformed CSV, missing required
 * column) or the database fails (everything is rolled back).
 *
 * Both are upserts keyed by the division code / project id: an existing key
 * keeps its entity id; nothing is ever deleted. An optional column left out
 * of the header, or an optional cell left empty, keeps the stored value (a
 * new row gets the default), so a partial sheet never erases data.
 */
int import_regions(sqlite3 *db, const char *data, size_t len, struct import_report *rep);
int import_projects(sqlite3 *db, const char *data, size_t len, struct import_report *rep);

/* A summary line, then one line per error: "line 7: code: village part 734 is outside 001-599". */
void import_report_print(FILE *out, const struct import_report *rep);
void import_report_free(struct import_report *rep);

/*
 * Write every region / project as UTF-8 CSV with the English header that the
 * importers read (regions by code, projects by id). 0, or -1 on a database
 * or write error.
 */
int import_export_regions(sqlite3 *db, FILE *out);
int import_export_projects(sqlite3 *db, FILE *out);

#endif

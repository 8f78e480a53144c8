/*
 * csv: an RFC 4180 reader for spreadsheet exports (Excel, WPS) and the
 * header-to-column mapping the importers share. Input is decoded once to
 * UTF-8 (UTF-8 as is, else GB18030 through iconv) and parsed in place, so
 * memory is bounded by the input size plus one pointer per allowed field;
 * field size and field count are capped and overruns are errors with a line.
 */
#ifndef CSV_H
#define CSV_H

#include <stdbool.h>
#include <stddef.h>

#define CSV_DEFAULT_MAX_FIELD_BYTES 16384 /* decoded UTF-8 bytes in one field */
#define CSV_DEFAULT_MAX_FIELDS 256        /* fields in one row */
#define CSV_MAX_ALIASES 8                 /* accepted names per column spec */

enum csv_encoding {
	CSV_ENCODING_UTF8,
	CSV_ENCODING_GB18030,
};

struct csv_limits {
	size_t max_field_bytes; /* 0: CSV_DEFAULT_MAX_FIELD_BYTES */
	size_t max_fields;      /* 0: CSV_DEFAULT_MAX_FIELDS */
};

struct csv_row {
	/*
	 * `count` NUL-terminated UTF-8 strings. The strings stay valid until
	 * csv_close; the array itself only until the next csv_next_row.
	 */
	const char *const *fields;
	size_t count;          /* at least 1: an empty line is one empty field */
	unsigned long line;    /* 1-based physical line where the row starts */
};

struct csv_reader;

/*
 * Decode `data` (len bytes; need not be NUL-terminated) and prepare to read
 * rows with default limits. The input is copied: `data` may be freed after.
 * Valid UTF-8 is taken as UTF-8; anything else is converted from GB18030;
 * input valid in neither, or starting with a UTF-16 byte-order mark, is
 * refused. On failure returns NULL with a message in err (when errlen > 0).
 */
struct csv_reader *csv_open_buffer(const char *data, size_t len, char *err, size_t errlen);
struct csv_reader *csv_open_buffer_with_limits(const char *data, size_t len,
					       const struct csv_limits *limits,
					       char *err, size_t errlen);

/*
 * Read the next row. Returns 1 with *row filled, 0 at the end of input
 * (trailing empty lines are not rows), -1 on malformed input: unclosed quote,
 * text after a closing quote, a NUL byte, a field or row over the limits.
 * csv_error then says what, with the line; every later call returns -1.
 * Line ends may be CRLF, LF or a lone CR; inside quotes they are kept as is.
 */
int csv_next_row(struct csv_reader *reader, struct csv_row *row);

/* The message for the last -1 of csv_next_row; "" when there was none. */
const char *csv_error(const struct csv_reader *reader);

enum csv_encoding csv_encoding(const struct csv_reader *reader);
const char *csv_encoding_name(enum csv_encoding encoding); /* "UTF-8", "GB18030" */

void csv_close(struct csv_reader *reader);

/*
 * One column an importer looks for. `names` lists the accepted header texts
 * (English and Chinese aliases), ending at the first NULL or after
 * CSV_MAX_ALIASES; names[0] is the one used in messages. Example:
 *	{ .names = { "code", "区划代码", "代码" }, .required = true }
 */
struct csv_column_spec {
	const char *names[CSV_MAX_ALIASES];
	bool required;
};

/*
 * Find each spec's column in a header row. Header texts are compared after
 * trimming ASCII spaces and tabs and the ideographic space U+3000, ASCII
 * letters case-insensitively. columns[i] receives the 0-based field index
 * matching specs[i], or -1 when an optional column is absent. Header columns
 * matching no spec are ignored. Returns 0, or -1 with a message in err when a
 * required column is missing or two header columns match the same spec.
 */
int csv_map_header(const struct csv_row *header, const struct csv_column_spec *specs,
		   size_t spec_count, int *columns, char *err, size_t errlen);

#endif

/*
 * csv: decoding (UTF-8 check, GB18030 conversion with iconv), the in-place
 * RFC 4180 row parser, and header mapping. Parsing in place works because a
 * field's unquoted text is never longer than its raw bytes, and the byte that
 * ended it (comma, line end, or one byte of slack at the end of input) is
 * free to take its NUL; so rows cost no allocation beyond the pointer array.
 */
#include "csv.h"

#include "xalloc.h"

#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csv_reader {
	char *text;                 /* decoded UTF-8, length + 1 bytes */
	size_t length;
	size_t position;            /* next unread byte */
	unsigned long line;         /* physical line of `position`, 1-based */
	size_t content_known_until; /* a row starting before this is not trailing blank */
	enum csv_encoding encoding;
	size_t max_field_bytes;
	size_t max_fields;
	const char **fields;        /* the current row's fields */
	size_t fields_capacity;
	bool failed;
	char error[192];
};

static void set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list args;
	va_start(args, fmt);
	vsnprintf(err, errlen, fmt, args);
	va_end(args);
}

/* Offset of the first byte that breaks strict UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF), or len when all of it is valid.
 * Strictness matters: it is what keeps GB18030 text from passing as UTF-8. */
static size_t utf8_invalid_offset(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char lead = s[i];
		if (lead < 0x80) {
			i++;
			continue;
		}
		size_t continuation_count;
		unsigned char second_min = 0x80, second_max = 0xBF;
		if (lead >= 0xC2 && lead <= 0xDF) {
			continuation_count = 1;
		} else if (lead == 0xE0) {
			continuation_count = 2;
			second_min = 0xA0;
		} else if (lead == 0xED) {
			continuation_count = 2;
			second_max = 0x9F;
		} else if (lead >= 0xE1 && lead <= 0xEF) {
			continuation_count = 2;
		} else if (lead == 0xF0) {
			continuation_count = 3;
			second_min = 0x90;
		} else if (lead >= 0xF1 && lead <= 0xF3) {
			continuation_count = 3;
		} else if (lead == 0xF4) {
			continuation_count = 3;
			second_max = 0x8F;
		} else {
			return i;
		}
		if (len - i - 1 < continuation_count)
			return i;
		if (s[i + 1] < second_min || s[i + 1] > second_max)
			return i;
		for (size_t k = 2; k <= continuation_count; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += continuation_count + 1;
	}
	return len;
}

/* The physical line (1-based) holding byte `offset`, counting line ends the
 * way the parser does: LF, CRLF or a lone CR. Only used to word errors. */
static unsigned long line_of_offset(const char *data, size_t offset)
{
	unsigned long line = 1;
	for (size_t i = 0; i < offset; i++)
		if (data[i] == '\n' || (data[i] == '\r' && (i + 1 >= offset || data[i + 1] != '\n')))
			line++;
	return line;
}

/*
 * Convert all of `data` from GB18030 to UTF-8 into a new buffer with one byte
 * of slack after *out_length. Returns NULL with *bad_offset set where the
 * input is not GB18030: the offending byte, `length` for a character cut
 * off at the end, SIZE_MAX when iconv itself is unavailable.
 */
static char *decode_gb18030(const char *data, size_t length, size_t *out_length, size_t *bad_offset)
{
	iconv_t converter = iconv_open("UTF-8", "GB18030");
	if (converter == (iconv_t)-1) {
		*bad_offset = SIZE_MAX;
		return NULL;
	}
	/* 2-byte GB18030 becomes 3 UTF-8 bytes at most, 4-byte stays at most 4 */
	size_t capacity = length + length / 2 + 8;
	char *output = xmalloc(capacity);
	/* iconv's prototype predates const; it reads the input and never writes it */
	char *in = (char *)(uintptr_t)data;
	size_t in_left = length;
	char *out = output;
	size_t out_left = capacity - 1; /* keep the slack byte */
	while (in_left > 0) {
		if (iconv(converter, &in, &in_left, &out, &out_left) != (size_t)-1)
			break;
		if (errno != E2BIG) {
			/* EINVAL: a character cut off by the end of input; say "at the end" */
			*bad_offset = errno == EINVAL ? length : (size_t)(in - data);
			free(output);
			iconv_close(converter);
			return NULL;
		}
		/* not expected given the bound above, but never trust a bound blindly */
		size_t used = (size_t)(out - output);
		capacity *= 2;
		output = xreallocarray(output, capacity, 1);
		out = output + used;
		out_left = capacity - used - 1;
	}
	iconv_close(converter);
	*out_length = (size_t)(out - output);
	output[*out_length] = '\0';
	return output;
}

struct csv_reader *csv_open_buffer(const char *data, size_t len, char *err, size_t errlen)
{
	return csv_open_buffer_with_limits(data, len, NULL, err, errlen);
}

struct csv_reader *csv_open_buffer_with_limits(const char *data, size_t len,
					       const struct csv_limits *limits,
					       char *err, size_t errlen)
{
	const unsigned char *bytes = (const unsigned char *)data;
	if (!data && len > 0) {
		set_error(err, errlen, "no input buffer");
		return NULL;
	}
	/* Excel's "Unicode text" export; neither decoder below would say why it fails */
	if (len >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF))) {
		set_error(err, errlen, "input is UTF-16 (starts with a UTF-16 byte-order mark); "
			  "save it as \"CSV UTF-8\" or plain CSV");
		return NULL;
	}

	char *text;
	size_t text_length;
	enum csv_encoding encoding;
	size_t utf8_bad = utf8_invalid_offset(bytes, len);
	if (utf8_bad == len) {
		text = xmalloc(len + 1);
		if (len > 0)
			memcpy(text, data, len);
		text[len] = '\0';
		text_length = len;
		encoding = CSV_ENCODING_UTF8;
	} else {
		size_t gb_bad = 0;
		text = decode_gb18030(data, len, &text_length, &gb_bad);
		if (!text) {
			if (gb_bad == SIZE_MAX)
				set_error(err, errlen, "input is not valid UTF-8 (line %lu, byte 0x%02X) "
					  "and GB18030 conversion is unavailable: %s",
					  line_of_offset(data, utf8_bad), bytes[utf8_bad], strerror(errno));
			else if (gb_bad >= len)
				set_error(err, errlen, "input is neither valid UTF-8 (line %lu, byte 0x%02X) "
					  "nor GB18030 (incomplete character at the end)",
					  line_of_offset(data, utf8_bad), bytes[utf8_bad]);
			else
				set_error(err, errlen, "input is neither valid UTF-8 (line %lu, byte 0x%02X) "
					  "nor GB18030 (line %lu, byte 0x%02X)",
					  line_of_offset(data, utf8_bad), bytes[utf8_bad],
					  line_of_offset(data, gb_bad), bytes[gb_bad]);
			return NULL;
		}
		encoding = CSV_ENCODING_GB18030;
	}

	struct csv_reader *reader = xcalloc(1, sizeof *reader);
	reader->text = text;
	reader->length = text_length;
	reader->line = 1;
	reader->encoding = encoding;
	reader->max_field_bytes = limits && limits->max_field_bytes ? limits->max_field_bytes
								   : CSV_DEFAULT_MAX_FIELD_BYTES;
	reader->max_fields = limits && limits->max_fields ? limits->max_fields : CSV_DEFAULT_MAX_FIELDS;
	/* Excel's "CSV UTF-8" starts with a BOM; a GB18030 BOM decodes to the same */
	if (text_length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		reader->position = 3;
	return reader;
}

const char *csv_error(const struct csv_reader *reader)
{
	return reader->error;
}

enum csv_encoding csv_encoding(const struct csv_reader *reader)
{
	return reader->encoding;
}

const char *csv_encoding_name(enum csv_encoding encoding)
{
	return encoding == CSV_ENCODING_GB18030 ? "GB18030" : "UTF-8";
}

void csv_close(struct csv_reader *reader)
{
	if (!reader)
		return;
	free(reader->text);
	free(reader->fields);
	free(reader);
}

static int fail_row(struct csv_reader *reader, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record the error, make it sticky (the position is mid-row now), return -1. */
static int fail_row(struct csv_reader *reader, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	vsnprintf(reader->error, sizeof reader->error, fmt, args);
	va_end(args);
	reader->failed = true;
	return -1;
}

/*
 * True when nothing but line ends is left. Remembers where content was seen
 * so that a run of blank lines in the middle is scanned once, not once per
 * blank line (quadratic on a file of newlines).
 */
static bool only_line_ends_remain(struct csv_reader *reader)
{
	if (reader->position < reader->content_known_until)
		return false;
	size_t i = reader->position;
	while (i < reader->length && (reader->text[i] == '\r' || reader->text[i] == '\n'))
		i++;
	if (i == reader->length)
		return true;
	reader->content_known_until = i + 1;
	return false;
}

static bool is_field_end(char c)
{
	return c == ',' || c == '\r' || c == '\n';
}

static void append_field(struct csv_reader *reader, size_t count, const char *field)
{
	if (count == reader->fields_capacity) {
		size_t grown = reader->fields_capacity ? reader->fields_capacity * 2 : 16;
		if (grown > reader->max_fields)
			grown = reader->max_fields;
		reader->fields = xreallocarray(reader->fields, grown, sizeof *reader->fields);
		reader->fields_capacity = grown;
	}
	reader->fields[count] = field;
}

int csv_next_row(struct csv_reader *reader, struct csv_row *row)
{
	if (reader->failed)
		return -1;
	if (only_line_ends_remain(reader)) {
		reader->position = reader->length;
		return 0;
	}

	char *text = reader->text;
	size_t length = reader->length;
	unsigned long row_line = reader->line;
	size_t count = 0;
	for (;;) {
		if (count == reader->max_fields)
			return fail_row(reader, "line %lu: row has more than %zu fields",
					row_line, reader->max_fields);
		size_t field_number = count + 1;
		size_t field_start = reader->position;
		size_t write = field_start; /* never ahead of reader->position */
		bool quoted = reader->position < length && text[reader->position] == '"';
		if (quoted) {
			unsigned long quote_line = reader->line;
			reader->position++;
			for (;;) {
				if (reader->position >= length)
					return fail_row(reader, "line %lu: quoted field %zu is not closed",
							quote_line, field_number);
				char c = text[reader->position];
				if (c == '"') {
					if (reader->position + 1 < length && text[reader->position + 1] == '"') {
						reader->position += 2; /* "" is one literal quote */
					} else {
						reader->position++;
						break;
					}
				} else {
					if (c == '\0')
						return fail_row(reader, "line %lu: NUL byte in field %zu",
								reader->line, field_number);
					bool crlf = c == '\r' && reader->position + 1 < length
						    && text[reader->position + 1] == '\n';
					if (c == '\n' || (c == '\r' && !crlf))
						reader->line++;
					reader->position++;
				}
				if (write - field_start >= reader->max_field_bytes)
					return fail_row(reader, "line %lu: field %zu is longer than %zu bytes",
							row_line, field_number, reader->max_field_bytes);
				text[write++] = c;
			}
		} else {
			while (reader->position < length && !is_field_end(text[reader->position])) {
				char c = text[reader->position];
				if (c == '\0')
					return fail_row(reader, "line %lu: NUL byte in field %zu",
							reader->line, field_number);
				if (write - field_start >= reader->max_field_bytes)
					return fail_row(reader, "line %lu: field %zu is longer than %zu bytes",
							row_line, field_number, reader->max_field_bytes);
				text[write++] = c;
				reader->position++;
			}
		}

		bool at_end = reader->position >= length;
		char delimiter = at_end ? '\0' : text[reader->position];
		if (!at_end && !is_field_end(delimiter))
			return fail_row(reader, "line %lu: text after the closing quote of field %zu",
					reader->line, field_number);
		/* read the delimiter before this store: write may equal position */
		text[write] = '\0';
		append_field(reader, count++, text + field_start);
		if (at_end)
			break;
		reader->position++;
		if (delimiter == ',')
			continue;
		if (delimiter == '\r' && reader->position < length && text[reader->position] == '\n')
			reader->position++;
		reader->line++;
		break;
	}
	row->fields = reader->fields;
	row->count = count;
	row->line = row_line;
	return 1;
}

/* Header mapping */

static bool is_trimmable_space(const char *s, size_t length, size_t *width)
{
	if (length >= 1 && (s[0] == ' ' || s[0] == '\t')) {
		*width = 1;
		return true;
	}
	/* U+3000 IDEOGRAPHIC SPACE, typed by Chinese input methods in full-width mode */
	if (length >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0) {
		*width = 3;
		return true;
	}
	return false;
}

static bool ends_with_trimmable_space(const char *s, size_t length, size_t *width)
{
	if (length >= 1 && (s[length - 1] == ' ' || s[length - 1] == '\t')) {
		*width = 1;
		return true;
	}
	if (length >= 3 && memcmp(s + length - 3, "\xE3\x80\x80", 3) == 0) {
		*width = 3;
		return true;
	}
	return false;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether the trimmed header text text[0..length) is `name`, ASCII case-folded. */
static bool header_text_is(const char *text, size_t length, const char *name)
{
	if (strlen(name) != length)
		return false;
	for (size_t i = 0; i < length; i++)
		if (ascii_lower(text[i]) != ascii_lower(name[i]))
			return false;
	return true;
}

static bool spec_accepts(const struct csv_column_spec *spec, const char *text, size_t length)
{
	for (size_t a = 0; a < CSV_MAX_ALIASES && spec->names[a]; a++)
		if (header_text_is(text, length, spec->names[a]))
			return true;
	return false;
}

/* "code, 区划代码, 代码" into buffer, truncated safely if ever too long. */
static void list_aliases(const struct csv_column_spec *spec, char *buffer, size_t size)
{
	size_t used = 0;
	buffer[0] = '\0';
	for (size_t a = 0; a < CSV_MAX_ALIASES && spec->names[a]; a++) {
		int written = snprintf(buffer + used, size - used, "%s%s", a ? ", " : "", spec->names[a]);
		if (written < 0 || (size_t)written >= size - used)
			return;
		used += (size_t)written;
	}
}

int csv_map_header(const struct csv_row *header, const struct csv_column_spec *specs,
		   size_t spec_count, int *columns, char *err, size_t errlen)
{
	for (size_t s = 0; s < spec_count; s++)
		columns[s] = -1;
	size_t header_count = header->count < (size_t)INT_MAX ? header->count : (size_t)INT_MAX;
	for (size_t column = 0; column < header_count; column++) {
		const char *text = header->fields[column];
		size_t length = strlen(text);
		size_t width;
		while (is_trimmable_space(text, length, &width)) {
			text += width;
			length -= width;
		}
		while (ends_with_trimmable_space(text, length, &width))
			length -= width;
		for (size_t s = 0; s < spec_count; s++) {
			if (!specs[s].names[0] || !spec_accepts(&specs[s], text, length))
				continue;
			if (columns[s] != -1) {
				set_error(err, errlen, "header columns %d and %zu both name column '%s'",
					  columns[s] + 1, column + 1, specs[s].names[0]);
				return -1;
			}
			columns[s] = (int)column;
			break; /* a header column feeds one spec: the first that accepts it */
		}
	}
	for (size_t s = 0; s < spec_count; s++) {
		if (columns[s] != -1 || !specs[s].required)
			continue;
		char aliases[256];
		list_aliases(&specs[s], aliases, sizeof aliases);
		set_error(err, errlen, "missing column '%s' (accepted names: %s)",
			  specs[s].names[0] ? specs[s].names[0] : "?", aliases);
		return -1;
	}
	return 0;
}

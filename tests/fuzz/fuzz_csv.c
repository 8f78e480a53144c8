/*
 * fuzz_csv: libFuzzer target for the CSV reader. Arbitrary bytes go through
 * decoding and every row is read, with tiny caps as well as the defaults so
 * the limit paths are reached; the checks below turn silent misbehaviour
 * (bad UTF-8 out, lines going backwards, fields past the caps) into crashes.
 *   clang -fsanitize=fuzzer,address -D_GNU_SOURCE -Icollector \
 *	tests/fuzz/fuzz_csv.c collector/csv.c collector/xalloc.c -o /tmp/fuzz_csv
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Same strict rules as the reader's detector; the reader must only hand out this. */
static bool is_valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c == 0xE0) {
			need = 2;
			lo = 0xA0;
		} else if (c == 0xED) {
			need = 2;
			hi = 0x9F;
		} else if (c >= 0xE1 && c <= 0xEF) {
			need = 2;
		} else if (c == 0xF0) {
			need = 3;
			lo = 0x90;
		} else if (c >= 0xF1 && c <= 0xF3) {
			need = 3;
		} else if (c == 0xF4) {
			need = 3;
			hi = 0x8F;
		} else {
			return false;
		}
		if (len - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
		i += need + 1;
	}
	return true;
}

static void read_all(const uint8_t *data, size_t size, const struct csv_limits *limits)
{
	char err[256];
	struct csv_reader *reader = csv_open_buffer_with_limits((const char *)data, size, limits, err, sizeof err);
	if (!reader) {
		if (strlen(err) == 0)
			abort(); /* a refusal must say why */
		return;
	}
	size_t max_field = limits && limits->max_field_bytes ? limits->max_field_bytes : CSV_DEFAULT_MAX_FIELD_BYTES;
	size_t max_fields = limits && limits->max_fields ? limits->max_fields : CSV_DEFAULT_MAX_FIELDS;
	static const struct csv_column_spec specs[] = {
		{ .names = { "code", "区划代码", "代码" }, .required = true },
		{ .names = { "name", "名称" }, .required = true },
		{ .names = { "name_en" } },
	};

	struct csv_row row;
	unsigned long previous_line = 0;
	int result;
	bool first = true;
	while ((result = csv_next_row(reader, &row)) == 1) {
		if (row.count == 0 || row.count > max_fields || row.line <= previous_line)
			abort();
		previous_line = row.line;
		for (size_t i = 0; i < row.count; i++) {
			size_t length = strlen(row.fields[i]);
			if (length > max_field || !is_valid_utf8((const unsigned char *)row.fields[i], length))
				abort();
		}
		if (first) {
			int columns[3];
			(void)csv_map_header(&row, specs, 3, columns, err, sizeof err);
			for (size_t i = 0; i < 3; i++)
				if (columns[i] < -1 || columns[i] >= (int)row.count)
					abort();
			first = false;
		}
	}
	if (result == -1 && strlen(csv_error(reader)) == 0)
		abort();
	if (result == 0 && csv_next_row(reader, &row) != 0)
		abort();
	csv_close(reader);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct csv_limits tiny = { .max_field_bytes = 5, .max_fields = 3 };
	read_all(data, size, NULL);
	read_all(data, size, &tiny);
	return 0;
}

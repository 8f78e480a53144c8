/*
 * test_csv: the CSV reader against what office exports actually contain:
 * quoting, CRLF / LF / CR line ends, newlines inside quotes, BOM, trailing
 * blank lines, GB18030 from Chinese Excel/WPS (fixtures in $TEST_DATA_DIR/csv,
 * made with iconv), bad encodings, the size caps, and header mapping with
 * Chinese and English column names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "xalloc.h"

/* Whole fixture file tests/data/csv/<name>, or fails the test. */
static char *read_fixture(const char *name, size_t *length)
{
	const char *dir = getenv("TEST_DATA_DIR");
	char path[512];
	int n = snprintf(path, sizeof path, "%s/csv/%s", dir && *dir ? dir : "tests/data", name);
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

static struct csv_reader *open_text(const char *text)
{
	char err[256] = "";
	struct csv_reader *reader = csv_open_buffer(text, strlen(text), err, sizeof err);
	if (!reader)
		fail_msg("csv_open_buffer failed: %s", err);
	return reader;
}

static struct csv_reader *open_limited(const char *text, size_t max_field_bytes, size_t max_fields)
{
	char err[256] = "";
	struct csv_limits limits = { .max_field_bytes = max_field_bytes, .max_fields = max_fields };
	struct csv_reader *reader = csv_open_buffer_with_limits(text, strlen(text), &limits, err, sizeof err);
	if (!reader)
		fail_msg("csv_open_buffer_with_limits failed: %s", err);
	return reader;
}

/* Next row must start on `line` and hold exactly the `count` given strings. */
static void expect_row(struct csv_reader *reader, unsigned long line, size_t count, ...)
{
	struct csv_row row;
	int got = csv_next_row(reader, &row);
	if (got != 1)
		fail_msg("expected a row at line %lu, got %d (%s)", line, got, csv_error(reader));
	assert_int_equal(row.line, line);
	assert_int_equal(row.count, count);
	va_list args;
	va_start(args, count);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(row.fields[i], va_arg(args, const char *));
	va_end(args);
}

static void expect_end(struct csv_reader *reader)
{
	struct csv_row row;
	assert_int_equal(csv_next_row(reader, &row), 0);
	assert_int_equal(csv_next_row(reader, &row), 0); /* and stays at the end */
}

/* Next row must fail with exactly `message`, and so must every later call. */
static void expect_failure(struct csv_reader *reader, const char *message)
{
	struct csv_row row;
	int got;
	while ((got = csv_next_row(reader, &row)) == 1)
		;
	assert_int_equal(got, -1);
	assert_string_equal(csv_error(reader), message);
	assert_int_equal(csv_next_row(reader, &row), -1);
}

static void test_plain_rows(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text("code,name\n610824100201,Shiwan\n610824100202,Yangqiao\n");
	assert_int_equal(csv_encoding(reader), CSV_ENCODING_UTF8);
	assert_string_equal(csv_error(reader), "");
	expect_row(reader, 1, 2, "code", "name");
	expect_row(reader, 2, 2, "610824100201", "Shiwan");
	expect_row(reader, 3, 2, "610824100202", "Yangqiao");
	expect_end(reader);
	csv_close(reader);
}

static void test_quoted_fields(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text(
		"\"a,b\",\"say \"\"hi\"\"\",\"\",plain\n"
		"\"\"\"\",x\"y,\"tail\"\n"
		" \"spaced\" ,\"x\"\n");
	expect_row(reader, 1, 4, "a,b", "say \"hi\"", "", "plain");
	/* a quote inside an unquoted field is kept as written */
	expect_row(reader, 2, 3, "\"", "x\"y", "tail");
	/* a quote after a space does not open a quoted field (RFC 4180) */
	expect_row(reader, 3, 2, " \"spaced\" ", "x");
	expect_end(reader);
	csv_close(reader);
}

static void test_line_ends(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text("a,b\r\nc,d\r\ne,f");
	expect_row(reader, 1, 2, "a", "b");
	expect_row(reader, 2, 2, "c", "d");
	expect_row(reader, 3, 2, "e", "f");
	expect_end(reader);
	csv_close(reader);

	/* old Mac Excel exports end lines with a lone CR */
	reader = open_text("a,b\rc,d\r\ne\n");
	expect_row(reader, 1, 2, "a", "b");
	expect_row(reader, 2, 2, "c", "d");
	expect_row(reader, 3, 1, "e");
	expect_end(reader);
	csv_close(reader);
}

static void test_newlines_inside_quotes(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text(
		"id,note\r\n"
		"1,\"first line\r\nsecond line\"\r\n"
		"2,\"lf\nand\n\nmore\"\n"
		"3,\"cr\ronly\"\n"
		"4,after\n");
	expect_row(reader, 1, 2, "id", "note");
	expect_row(reader, 2, 2, "1", "first line\r\nsecond line");
	expect_row(reader, 4, 2, "2", "lf\nand\n\nmore");
	expect_row(reader, 8, 2, "3", "cr\ronly");
	expect_row(reader, 10, 2, "4", "after");
	expect_end(reader);
	csv_close(reader);
}

static void test_bom_skipped(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text("\xEF\xBB\xBF" "code,name\n1,x\n");
	expect_row(reader, 1, 2, "code", "name");
	expect_row(reader, 2, 2, "1", "x");
	expect_end(reader);
	csv_close(reader);

	reader = open_text("\xEF\xBB\xBF");
	expect_end(reader);
	csv_close(reader);

	/* only a leading BOM is special; elsewhere U+FEFF is text */
	reader = open_text("a,\xEF\xBB\xBF" "b\n");
	expect_row(reader, 1, 2, "a", "\xEF\xBB\xBF" "b");
	csv_close(reader);
}

static void test_empty_lines(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text("a,b\n\nc,\n\r\n\n\r\n\r");
	expect_row(reader, 1, 2, "a", "b");
	/* an empty line in the middle is a row of one empty field (RFC 4180) */
	expect_row(reader, 2, 1, "");
	expect_row(reader, 3, 2, "c", "");
	expect_end(reader); /* trailing empty lines are not rows */
	csv_close(reader);

	reader = open_text("");
	expect_end(reader);
	csv_close(reader);

	reader = open_text("\r\n\n");
	expect_end(reader);
	csv_close(reader);

	char err[64];
	reader = csv_open_buffer(NULL, 0, err, sizeof err);
	assert_non_null(reader);
	expect_end(reader);
	csv_close(reader);
	csv_close(NULL);

	assert_null(csv_open_buffer(NULL, 5, err, sizeof err));
	assert_string_equal(err, "no input buffer");
}

static void test_many_blank_lines_are_linear(void **state)
{
	(void)state;
	/* 200k blank lines between rows: each must not rescan the rest */
	size_t blank = 200000;
	char *text = xmalloc(blank + 16);
	memcpy(text, "a\n", 2);
	memset(text + 2, '\n', blank);
	memcpy(text + 2 + blank, "b\n", 3);
	struct csv_reader *reader = open_text(text);
	expect_row(reader, 1, 1, "a");
	struct csv_row row;
	for (size_t i = 0; i < blank; i++)
		assert_int_equal(csv_next_row(reader, &row), 1);
	expect_row(reader, blank + 2, 1, "b");
	expect_end(reader);
	csv_close(reader);
	free(text);
}

static void test_field_too_long(void **state)
{
	(void)state;
	struct csv_reader *reader = open_limited("12345678,\"abcdefgh\"\nok,123456789\n", 8, 0);
	expect_row(reader, 1, 2, "12345678", "abcdefgh"); /* exactly the cap is fine */
	expect_failure(reader, "line 2: field 2 is longer than 8 bytes");
	csv_close(reader);

	/* doubled quotes count once; the cap is on the decoded text */
	reader = open_limited("\"\"\"\"\"\"\"\"\"\"\n\"abc\ndefghi\"\n", 4, 0);
	expect_row(reader, 1, 1, "\"\"\"\"");
	expect_failure(reader, "line 2: field 1 is longer than 4 bytes");
	csv_close(reader);

	/* the default cap */
	size_t long_length = CSV_DEFAULT_MAX_FIELD_BYTES + 1;
	char *text = xmalloc(long_length + 32);
	memcpy(text, "code,name\r\n1,", 13);
	memset(text + 13, 'x', long_length);
	memcpy(text + 13 + long_length, "\r\n", 3);
	reader = open_text(text);
	expect_row(reader, 1, 2, "code", "name");
	char message[128];
	snprintf(message, sizeof message, "line 2: field 2 is longer than %d bytes",
		 CSV_DEFAULT_MAX_FIELD_BYTES);
	expect_failure(reader, message);
	csv_close(reader);
	free(text);
}

static void test_too_many_fields(void **state)
{
	(void)state;
	struct csv_reader *reader = open_limited("a,b,c\n\n1,2,3,4\n", 0, 3);
	expect_row(reader, 1, 3, "a", "b", "c");
	expect_row(reader, 2, 1, "");
	expect_failure(reader, "line 3: row has more than 3 fields");
	csv_close(reader);

	/* a trailing comma is one more (empty) field */
	reader = open_limited("a,b,c,\n", 0, 3);
	expect_failure(reader, "line 1: row has more than 3 fields");
	csv_close(reader);

	/* the default cap, past the pointer array's first growth steps */
	size_t count = CSV_DEFAULT_MAX_FIELDS;
	char *text = xmalloc(2 * (count + 1) + 1);
	for (size_t i = 0; i < count; i++)
		memcpy(text + 2 * i, "x,", 2);
	memcpy(text + 2 * count - 1, "\nx", 2);
	text[2 * count + 1] = '\0';
	reader = open_text(text);
	struct csv_row row;
	assert_int_equal(csv_next_row(reader, &row), 1);
	assert_int_equal(row.count, count);
	assert_string_equal(row.fields[count - 1], "x");
	expect_row(reader, 2, 1, "x");
	csv_close(reader);
	text[2 * count - 1] = ','; /* one field more on line 1 */
	reader = open_text(text);
	char message[64];
	snprintf(message, sizeof message, "line 1: row has more than %d fields", CSV_DEFAULT_MAX_FIELDS);
	expect_failure(reader, message);
	csv_close(reader);
	free(text);
}

static void test_malformed_quotes(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text("a,b\n1,\"never\nclosed\n");
	expect_row(reader, 1, 2, "a", "b");
	expect_failure(reader, "line 2: quoted field 2 is not closed");
	csv_close(reader);

	reader = open_text("a\n\"x\ny\"z,1\n");
	expect_row(reader, 1, 1, "a");
	expect_failure(reader, "line 3: text after the closing quote of field 1");
	csv_close(reader);

	reader = open_text("\"");
	expect_failure(reader, "line 1: quoted field 1 is not closed");
	csv_close(reader);
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "a,b\nc,d\0e\n";
	char err[64];
	struct csv_reader *reader = csv_open_buffer(text, sizeof text - 1, err, sizeof err);
	assert_non_null(reader);
	expect_row(reader, 1, 2, "a", "b");
	expect_failure(reader, "line 2: NUL byte in field 2");
	csv_close(reader);

	static const char quoted[] = "\"a\n\0\"\n";
	reader = csv_open_buffer(quoted, sizeof quoted - 1, err, sizeof err);
	assert_non_null(reader);
	expect_failure(reader, "line 2: NUL byte in field 1");
	csv_close(reader);
}

static void test_utf16_refused(void **state)
{
	(void)state;
	static const char utf16[] = "\xFF\xFE" "c\0o\0d\0e\0";
	char err[160] = "";
	assert_null(csv_open_buffer(utf16, sizeof utf16 - 1, err, sizeof err));
	assert_non_null(strstr(err, "UTF-16"));
	/* a zero-sized error buffer is allowed */
	assert_null(csv_open_buffer(utf16, sizeof utf16 - 1, NULL, 0));
}

static void test_gb18030_in_memory(void **state)
{
	(void)state;
	/* "代码,名称\n1,石湾村\n" in GB18030 */
	static const char text[] = "\xB4\xFA\xC2\xEB,\xC3\xFB\xB3\xC6\n1,\xCA\xAF\xCD\xE5\xB4\xE5\n";
	char err[160];
	struct csv_reader *reader = csv_open_buffer(text, sizeof text - 1, err, sizeof err);
	assert_non_null(reader);
	assert_int_equal(csv_encoding(reader), CSV_ENCODING_GB18030);
	assert_string_equal(csv_encoding_name(csv_encoding(reader)), "GB18030");
	assert_string_equal(csv_encoding_name(CSV_ENCODING_UTF8), "UTF-8");
	expect_row(reader, 1, 2, "代码", "名称");
	expect_row(reader, 2, 2, "1", "石湾村");
	expect_end(reader);
	csv_close(reader);

	/* strict UTF-8: an overlong form is not UTF-8, and here it is valid GB18030 */
	static const char overlong[] = "\xC0\xAF";
	reader = csv_open_buffer(overlong, 2, err, sizeof err);
	assert_non_null(reader);
	assert_int_equal(csv_encoding(reader), CSV_ENCODING_GB18030);
	csv_close(reader);
}

static void test_gb18030_fixture(void **state)
{
	(void)state;
	size_t length;
	char *data = read_fixture("regions-gb18030.csv", &length);
	char err[160];
	struct csv_reader *reader = csv_open_buffer(data, length, err, sizeof err);
	free(data); /* the reader keeps its own copy */
	assert_non_null(reader);
	assert_int_equal(csv_encoding(reader), CSV_ENCODING_GB18030);
	expect_row(reader, 1, 2, "区划代码", "名称");
	expect_row(reader, 2, 2, "610824100201", "石湾村");
	expect_end(reader);
	csv_close(reader);
}

static void test_gb18030_four_byte_and_crlf(void **state)
{
	(void)state;
	size_t length;
	char *data = read_fixture("regions-4byte-gb18030.csv", &length);
	char err[160];
	struct csv_reader *reader = csv_open_buffer(data, length, err, sizeof err);
	free(data);
	assert_non_null(reader);
	assert_int_equal(csv_encoding(reader), CSV_ENCODING_GB18030);
	expect_row(reader, 1, 3, "区划代码", "名称", "name_en");
	expect_row(reader, 2, 3, "610824000000", "靖边县", "Jingbian County");
	expect_row(reader, 3, 3, "610824100000", "张家畔街道", "Zhangjiapan, Subdistrict");
	/* 㙟 (U+365F) is outside GBK: a four-byte GB18030 sequence */
	expect_row(reader, 4, 3, "610824100201", "㙟塘村", "");
	expect_end(reader);
	csv_close(reader);
}

static void test_gb18030_projects(void **state)
{
	(void)state;
	size_t length;
	char *data = read_fixture("projects-gb18030.csv", &length);
	char err[160];
	struct csv_reader *reader = csv_open_buffer(data, length, err, sizeof err);
	free(data);
	assert_non_null(reader);
	struct csv_row header;
	assert_int_equal(csv_next_row(reader, &header), 1);
	assert_int_equal(header.count, 10);
	assert_string_equal(header.fields[0], "项目编号");

	const struct csv_column_spec specs[] = {
		{ .names = { "id", "项目编号" }, .required = true },
		{ .names = { "name", "项目名称" }, .required = true },
		{ .names = { "category", "类别" }, .required = true },
		{ .names = { "location", "实施地点代码" }, .required = true },
		{ .names = { "department", "责任单位" }, .required = true },
		{ .names = { "investment_yuan", "批复投资" } },
		{ .names = { "investment_fen" } },
		{ .names = { "start", "开工日期" }, .required = true },
		{ .names = { "planned_end", "计划完工日期" }, .required = true },
		{ .names = { "households", "带动户数" }, .required = true },
		{ .names = { "stage", "阶段" }, .required = true },
	};
	int columns[11];
	assert_int_equal(csv_map_header(&header, specs, 11, columns, err, sizeof err), 0);
	const int want[11] = { 0, 1, 2, 3, 4, 5, -1, 6, 7, 8, 9 };
	for (size_t i = 0; i < 11; i++)
		assert_int_equal(columns[i], want[i]);

	struct csv_row row;
	assert_int_equal(csv_next_row(reader, &row), 1);
	assert_int_equal(row.line, 2);
	assert_string_equal(row.fields[columns[1]], "肉羊养殖基地（一期），含圈舍");
	assert_string_equal(row.fields[columns[3]], "610824100201");
	assert_string_equal(row.fields[columns[10]], "开工");
	assert_int_equal(csv_next_row(reader, &row), 1);
	assert_int_equal(row.line, 3);
	assert_int_equal(row.count, 10);
	assert_string_equal(row.fields[columns[1]], "光伏电站\r\n二期");
	assert_string_equal(row.fields[columns[5]], "3,000,000");
	assert_string_equal(row.fields[columns[9]], "120");
	expect_end(reader);
	csv_close(reader);
}

static void test_utf8_bom_crlf_fixture(void **state)
{
	(void)state;
	size_t length;
	char *data = read_fixture("regions-utf8-bom-crlf.csv", &length);
	char err[160];
	struct csv_reader *reader = csv_open_buffer(data, length, err, sizeof err);
	free(data);
	assert_non_null(reader);
	assert_int_equal(csv_encoding(reader), CSV_ENCODING_UTF8);
	expect_row(reader, 1, 3, "code", "name", "name_en");
	expect_row(reader, 2, 3, "610824000000", "靖边县", "Jingbian \"County\"");
	expect_row(reader, 3, 3, "610824100201", "石湾村, 一组", "Shiwan");
	expect_end(reader);
	csv_close(reader);
}

static void test_bad_encoding(void **state)
{
	(void)state;
	size_t length;
	char *data = read_fixture("bad-encoding.csv", &length);
	char err[256] = "";
	struct csv_reader *reader = csv_open_buffer(data, length, err, sizeof err);
	free(data);
	assert_null(reader);
	assert_string_equal(err, "input is neither valid UTF-8 (line 2, byte 0xFF) nor GB18030 (line 2, byte 0xFF)");

	/* a GB18030 lead byte cut off by the end of input */
	static const char truncated[] = "a,\xB0";
	assert_null(csv_open_buffer(truncated, 3, err, sizeof err));
	assert_string_equal(err, "input is neither valid UTF-8 (line 1, byte 0xB0) "
				 "nor GB18030 (incomplete character at the end)");

	/* the message is truncated, never overflowed, in a small buffer */
	char small[8];
	assert_null(csv_open_buffer(truncated, 3, small, sizeof small));
	assert_string_equal(small, "input i");
}

static void test_strings_outlive_rows(void **state)
{
	(void)state;
	struct csv_reader *reader = open_text("\"a\"\"1\",b\nc,\"d\ne\"\n");
	struct csv_row row;
	assert_int_equal(csv_next_row(reader, &row), 1);
	const char *first = row.fields[0];
	const char *second = row.fields[1];
	assert_int_equal(csv_next_row(reader, &row), 1);
	assert_string_equal(first, "a\"1");
	assert_string_equal(second, "b");
	assert_string_equal(row.fields[1], "d\ne");
	csv_close(reader);
}

static const struct csv_column_spec region_specs[] = {
	{ .names = { "code", "区划代码", "代码" }, .required = true },
	{ .names = { "name", "名称" }, .required = true },
	{ .names = { "name_en" } },
};

static void map_header_text(const char *text, int *columns, int want_result, char *err, size_t errlen)
{
	struct csv_reader *reader = open_text(text);
	struct csv_row header;
	assert_int_equal(csv_next_row(reader, &header), 1);
	assert_int_equal(csv_map_header(&header, region_specs, 3, columns, err, errlen), want_result);
	csv_close(reader);
}

static void test_map_header(void **state)
{
	(void)state;
	int columns[3];
	char err[256] = "";

	map_header_text("区划代码,名称\n", columns, 0, err, sizeof err);
	assert_int_equal(columns[0], 0);
	assert_int_equal(columns[1], 1);
	assert_int_equal(columns[2], -1);

	/* ASCII case, spaces, tabs, full-width spaces; extra columns ignored */
	map_header_text("序号, Name_EN ,\tNAME\t,\xE3\x80\x80代码\xE3\x80\x80,备注\n", columns, 0, err, sizeof err);
	assert_int_equal(columns[0], 3);
	assert_int_equal(columns[1], 2);
	assert_int_equal(columns[2], 1);

	/* a quoted header works like any field */
	map_header_text("\"Code\",\"名称\"\n", columns, 0, err, sizeof err);
	assert_int_equal(columns[0], 0);
	assert_int_equal(columns[1], 1);

	/* partial matches are not matches */
	map_header_text("codes,名称\n", columns, -1, err, sizeof err);
	assert_string_equal(err, "missing column 'code' (accepted names: code, 区划代码, 代码)");

	map_header_text("code\n", columns, -1, err, sizeof err);
	assert_string_equal(err, "missing column 'name' (accepted names: name, 名称)");

	map_header_text("code,名称,区划代码\n", columns, -1, err, sizeof err);
	assert_string_equal(err, "header columns 1 and 3 both name column 'code'");

	/* non-ASCII letters are compared as bytes, not folded */
	map_header_text("code,NAME,Ｎａｍｅ_en\n", columns, 0, err, sizeof err);
	assert_int_equal(columns[2], -1);

	/* a NULL err is allowed */
	map_header_text("x\n", columns, -1, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_rows),
		cmocka_unit_test(test_quoted_fields),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_newlines_inside_quotes),
		cmocka_unit_test(test_bom_skipped),
		cmocka_unit_test(test_empty_lines),
		cmocka_unit_test(test_many_blank_lines_are_linear),
		cmocka_unit_test(test_field_too_long),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_malformed_quotes),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_utf16_refused),
		cmocka_unit_test(test_gb18030_in_memory),
		cmocka_unit_test(test_gb18030_fixture),
		cmocka_unit_test(test_gb18030_four_byte_and_crlf),
		cmocka_unit_test(test_gb18030_projects),
		cmocka_unit_test(test_utf8_bom_crlf_fixture),
		cmocka_unit_test(test_bad_encoding),
		cmocka_unit_test(test_strings_outlive_rows),
		cmocka_unit_test(test_map_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

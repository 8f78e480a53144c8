/*
 * test_jschema: tests for collector/jschema. Most are data-driven, one
 * directory per case under $TEST_DATA_DIR/jschema/<case>/ (default
 * tests/data): schema.json, input.json and expected, the "path: reason" lines
 * the validator must produce (empty when the input is valid), or a single
 * "load error: <message>" line when the schema must fail to load. Optional
 * one-line files pick the call: def (a $defs name), base_path, envelope (the
 * batch property, via jschema_validate_envelope). The rest is API behaviour
 * data files cannot express: error caps, truncation, threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jschema.h"
#include "xalloc.h"

#define MAX_REPORTED 64
#define MIN_DATA_CASES 25

static const char *data_dir(void)
{
	const char *dir = getenv("TEST_DATA_DIR");
	return dir && *dir ? dir : "tests/data";
}

/* Whole file, NUL-terminated; NULL if it does not exist. */
static char *read_file(const char *dir, const char *name, size_t *len_out)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
	}
	fclose(f);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

/* A one-line option file, without its newline; NULL if absent. */
static char *read_option(const char *dir, const char *name)
{
	char *text = read_file(dir, name, NULL);
	if (text)
		text[strcspn(text, "\r\n")] = '\0';
	return text;
}

/* What the case produces, in the format of its expected file. */
static char *run_case_output(const char *dir)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *stream = open_memstream(&out, &out_len);
	assert_non_null(stream);

	size_t schema_len;
	char *schema_text = read_file(dir, "schema.json", &schema_len);
	assert_non_null(schema_text);
	char err[256];
	struct jschema *schema = jschema_load(schema_text, schema_len, err, sizeof err);
	free(schema_text);
	if (!schema) {
		fprintf(stream, "load error: %s\n", err);
		fclose(stream);
		return out;
	}

	size_t input_len;
	char *input_text = read_file(dir, "input.json", &input_len);
	assert_non_null(input_text);
	json_error_t parse_error;
	json_t *input = json_loadb(input_text, input_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &parse_error);
	free(input_text);
	if (!input)
		fail_msg("%s/input.json: %s", dir, parse_error.text);

	char *def = read_option(dir, "def");
	char *base_path = read_option(dir, "base_path");
	char *envelope = read_option(dir, "envelope");
	struct jschema_error errors[MAX_REPORTED];
	size_t count = envelope
		? jschema_validate_envelope(schema, def, input, envelope, errors, MAX_REPORTED)
		: jschema_validate(schema, def, input, base_path, errors, MAX_REPORTED);
	for (size_t i = 0; i < count && i < MAX_REPORTED; i++)
		fprintf(stream, "%s: %s\n", errors[i].path, errors[i].reason);
	if (count > MAX_REPORTED)
		fprintf(stream, "(%zu more)\n", count - MAX_REPORTED);

	free(def);
	free(base_path);
	free(envelope);
	json_decref(input);
	jschema_free(schema);
	fclose(stream);
	return out;
}

static void test_data_case(void **state)
{
	const char *dir = *state;
	char *expected = read_file(dir, "expected", NULL);
	assert_non_null(expected);
	char *actual = run_case_output(dir);
	if (strcmp(expected, actual) != 0) {
		print_error("%s\n--- expected\n%s--- actual\n%s", dir, expected, actual);
		free(expected);
		free(actual);
		fail();
	}
	free(expected);
	free(actual);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Case directories under <data>/jschema, sorted; each entry is a full path. */
static char **list_cases(size_t *count_out)
{
	char root[1024];
	snprintf(root, sizeof root, "%s/jschema", data_dir());
	size_t count = 0, cap = 64;
	char **dirs = xreallocarray(NULL, cap, sizeof *dirs);
	DIR *d = opendir(root);
	if (d) {
		struct dirent *entry;
		while ((entry = readdir(d))) {
			if (entry->d_name[0] == '.')
				continue;
			char path[1024 + 256];
			snprintf(path, sizeof path, "%s/%s", root, entry->d_name);
			char probe[sizeof path + 16];
			snprintf(probe, sizeof probe, "%s/expected", path);
			FILE *f = fopen(probe, "r");
			if (!f)
				continue;
			fclose(f);
			if (count == cap) {
				cap *= 2;
				dirs = xreallocarray(dirs, cap, sizeof *dirs);
			}
			dirs[count++] = xstrdup(path);
		}
		closedir(d);
	}
	qsort(dirs, count, sizeof *dirs, compare_strings);
	*count_out = count;
	return dirs;
}

/* ---- API behaviour ---- */

static struct jschema *load_or_fail(const char *text)
{
	char err[256];
	struct jschema *schema = jschema_load(text, strlen(text), err, sizeof err);
	if (!schema)
		fail_msg("schema failed to load: %s", err);
	return schema;
}

static void test_data_cases_present(void **state)
{
	(void)state;
	size_t count;
	char **dirs = list_cases(&count);
	for (size_t i = 0; i < count; i++)
		free(dirs[i]);
	free(dirs);
	if (count < MIN_DATA_CASES)
		fail_msg("found %zu cases under %s/jschema, expected at least %d (is TEST_DATA_DIR right?)",
			 count, data_dir(), MIN_DATA_CASES);
}

/* Only max_errors are written, but the return value counts them all. */
static void test_error_cap_counts_everything(void **state)
{
	(void)state;
	struct jschema *schema = load_or_fail("{\"type\": \"array\", \"items\": {\"type\": \"integer\"}}");
	json_t *value = json_loads("[\"a\", \"b\", \"c\", \"d\", \"e\", 1]", 0, NULL);
	struct jschema_error errors[2];
	memset(errors, 0x5a, sizeof errors);
	assert_int_equal(jschema_validate(schema, NULL, value, NULL, errors, 2), 5);
	assert_string_equal(errors[0].path, "[0]");
	assert_string_equal(errors[1].path, "[1]");
	assert_string_equal(errors[1].reason, "must be an integer");
	assert_int_equal(jschema_validate(schema, NULL, value, "", NULL, 0), 5);
	json_decref(value);
	jschema_free(schema);
}

static void test_long_path_is_truncated(void **state)
{
	(void)state;
	struct jschema *schema = load_or_fail("{\"required\": [\"missing\"]}");
	char base[300];
	memset(base, 'x', sizeof base - 1);
	base[sizeof base - 1] = '\0';
	json_t *value = json_object();
	struct jschema_error error;
	assert_int_equal(jschema_validate(schema, NULL, value, base, &error, 1), 1);
	assert_int_equal(strlen(error.path), sizeof error.path - 1);
	assert_string_equal(error.path + sizeof error.path - 4, "...");
	assert_string_equal(error.reason, "is required");
	json_decref(value);
	jschema_free(schema);
}

/* Instance keys reach logs through paths: control bytes must not. */
static void test_path_control_bytes_replaced(void **state)
{
	(void)state;
	struct jschema *schema = load_or_fail("{\"additionalProperties\": false}");
	json_t *value = json_loads("{\"a\\nb\\u001b\": 1}", 0, NULL);
	assert_non_null(value);
	struct jschema_error error;
	assert_int_equal(jschema_validate(schema, NULL, value, NULL, &error, 1), 1);
	assert_string_equal(error.path, "a?b?");
	json_decref(value);
	jschema_free(schema);
}

static void test_has_def_and_missing_value(void **state)
{
	(void)state;
	struct jschema *schema = load_or_fail("{\"$defs\": {\"sample\": {\"type\": \"object\"}}}");
	assert_true(jschema_has_def(schema, "sample"));
	assert_false(jschema_has_def(schema, "envelope"));
	struct jschema_error error;
	assert_int_equal(jschema_validate(schema, "sample", NULL, "samples[0]", &error, 1), 1);
	assert_string_equal(error.path, "samples[0]");
	assert_string_equal(error.reason, "is missing");
	jschema_free(schema);
}

static void test_load_errors_respect_buffer(void **state)
{
	(void)state;
	const char *bad = "{\"properties\": {\"a_rather_long_property_name\": {\"format\": \"uuid\"}}}";
	char err[16];
	memset(err, 'z', sizeof err);
	assert_null(jschema_load(bad, strlen(bad), err, sizeof err));
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_null(jschema_load(bad, strlen(bad), NULL, 0));
	assert_null(jschema_load("{", 1, NULL, 0));
	jschema_free(NULL);
}

/* The ingest flow the header documents: the envelope once, then each element
 * alone, so one bad element is dropped and its neighbours kept. */
static void test_batch_flow(void **state)
{
	(void)state;
	struct jschema *schema = load_or_fail(
		"{\"$defs\": {\"sample\": {\"type\": \"object\", \"required\": [\"v\"],"
		"  \"properties\": {\"v\": {\"type\": \"integer\", \"minimum\": 0}}}},"
		" \"type\": \"object\", \"required\": [\"samples\"],"
		" \"properties\": {\"samples\": {\"type\": \"array\", \"maxItems\": 100,"
		"  \"items\": {\"$ref\": \"#/$defs/sample\"}}}}");
	json_t *message = json_loads("{\"samples\": [{\"v\": 1}, {\"v\": -1}, {\"v\": 2}, {}]}", 0, NULL);
	struct jschema_error errors[4];
	assert_int_equal(jschema_validate_envelope(schema, NULL, message, "samples", errors, 4), 0);
	assert_int_equal(jschema_validate(schema, NULL, message, NULL, errors, 4), 2);

	json_t *samples = json_object_get(message, "samples");
	size_t accepted = 0;
	for (size_t i = 0; i < json_array_size(samples); i++) {
		char base[32];
		snprintf(base, sizeof base, "samples[%zu]", i);
		size_t n = jschema_validate(schema, "sample", json_array_get(samples, i), base, errors, 4);
		if (n == 0) {
			accepted++;
		} else if (i == 1) {
			assert_string_equal(errors[0].path, "samples[1].v");
			assert_string_equal(errors[0].reason, "must be >= 0");
		} else {
			assert_string_equal(errors[0].path, "samples[3].v");
			assert_string_equal(errors[0].reason, "is required");
		}
	}
	assert_int_equal(accepted, 2);
	json_decref(message);
	jschema_free(schema);
}

struct thread_job {
	const struct jschema *schema;
	const json_t *value;
	size_t mismatches;
};

static void *validate_repeatedly(void *arg)
{
	struct thread_job *job = arg;
	for (int i = 0; i < 2000; i++) {
		struct jschema_error errors[4];
		size_t n = jschema_validate(job->schema, "item", job->value, "x", errors, 4);
		if (n != 2 || strcmp(errors[0].path, "x.id") != 0 || strcmp(errors[1].path, "x.n") != 0)
			job->mismatches++;
	}
	return NULL;
}

/* One compiled schema shared by several threads, as the ingest workers do. */
static void test_concurrent_validation(void **state)
{
	(void)state;
	struct jschema *schema = load_or_fail(
		"{\"$defs\": {\"item\": {\"type\": \"object\", \"properties\": {"
		"  \"id\": {\"type\": \"string\", \"pattern\": \"^[0-9]{12}$\"},"
		"  \"n\": {\"type\": \"integer\", \"maximum\": 10}}}}}");
	json_t *value = json_loads("{\"id\": \"12345\", \"n\": 11}", 0, NULL);
	enum { THREADS = 4 };
	pthread_t threads[THREADS];
	struct thread_job jobs[THREADS];
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct thread_job){schema, value, 0};
		assert_int_equal(pthread_create(&threads[i], NULL, validate_repeatedly, &jobs[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(jobs[i].mismatches, 0);
	}
	json_decref(value);
	jschema_free(schema);
}

int main(void)
{
	const struct CMUnitTest api_tests[] = {
		cmocka_unit_test(test_data_cases_present),
		cmocka_unit_test(test_error_cap_counts_everything),
		cmocka_unit_test(test_long_path_is_truncated),
		cmocka_unit_test(test_path_control_bytes_replaced),
		cmocka_unit_test(test_has_def_and_missing_value),
		cmocka_unit_test(test_load_errors_respect_buffer),
		cmocka_unit_test(test_batch_flow),
		cmocka_unit_test(test_concurrent_validation),
	};
	int failed = cmocka_run_group_tests(api_tests, NULL, NULL);

	/* One cmocka test per data directory, so a failure names its case. The
	 * list is only known at run time, hence the function under the macro. */
	size_t count;
	char **dirs = list_cases(&count);
	struct CMUnitTest *data_tests = xcalloc(count, sizeof *data_tests);
	for (size_t i = 0; i < count; i++) {
		const char *slash = strrchr(dirs[i], '/');
		data_tests[i] = (struct CMUnitTest){
			.name = slash ? slash + 1 : dirs[i],
			.test_func = test_data_case,
			.initial_state = dirs[i],
		};
	}
	failed += _cmocka_run_group_tests("jschema_data", data_tests, count, NULL, NULL);

	free(data_tests);
	for (size_t i = 0; i < count; i++)
		free(dirs[i]);
	free(dirs);
	return failed ? 1 : 0;
}

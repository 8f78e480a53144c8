/*
 * fuzz_jschema: libFuzzer target for the JSON Schema subset
 * (collector/jschema.c, jschema_compile.c).
 *
 * Input: byte 0 selects what the rest is.
 *   byte 0 == 0: a schema text for jschema_load, optionally followed by a NUL
 *     byte and an instance; a loaded schema validates the instance (or, with
 *     none, a few fixed values and the schema document itself) at its root,
 *     at each of its $defs and as an envelope around each top-level property.
 *   byte 0 != 0: a JSON instance validated the same ways against every
 *     embedded schema (ingest-*.json, live-client.json, alert-*.json, the
 *     replies...), which is what the daemon does with request bodies; every
 *     schema, so that a seed keeps its meaning when a schema is added.
 *
 * Beyond the sanitizers, these properties abort: a refused schema says why;
 * every reported path and reason is a NUL-terminated, valid UTF-8 text
 * without control bytes; the count does not depend on how many errors the
 * caller asked for; validating twice gives the same answer; an envelope never
 * reports more than the whole validation, and exactly as much when the
 * instance has no such property.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embedded.h"
#include "fuzz_util.h"
#include "jschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_SCHEMAS 32
#define MAX_ERRORS 8

struct loaded {
	const char *name;
	struct jschema *schema;
	json_t *doc; /* the schema text parsed, to list $defs and properties */
};

static struct loaded embedded[MAX_SCHEMAS];
static size_t n_embedded;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	for (size_t i = 0; i < embedded_count && n_embedded < MAX_SCHEMAS; i++) {
		const struct embedded_file *f = &embedded_files[i];
		size_t len = strlen(f->name);
		if (len < 5 || strcmp(f->name + len - 5, ".json") != 0 || strcmp(f->name, "catalog.json") == 0)
			continue;
		char err[256] = "";
		struct jschema *s = jschema_load((const char *)f->data, f->len, err, sizeof err);
		if (!s)
			fuzz_die(f->name, err);
		embedded[n_embedded++] = (struct loaded){
			f->name, s, json_loadb((const char *)f->data, f->len, 0, NULL),
		};
	}
	if (n_embedded == 0)
		fuzz_die("embedded schemas", "none found");
	return 0;
}

/* Strict UTF-8 (no overlongs, no surrogates), as Jansson produces. */
static bool valid_utf8(const unsigned char *s, size_t len)
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
			need = 2, lo = 0xA0;
		} else if (c == 0xED) {
			need = 2, hi = 0x9F;
		} else if (c >= 0xE1 && c <= 0xEF) {
			need = 2;
		} else if (c == 0xF0) {
			need = 3, lo = 0x90;
		} else if (c >= 0xF1 && c <= 0xF3) {
			need = 3;
		} else if (c == 0xF4) {
			need = 3, hi = 0x8F;
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

static void check_text(const char *what, const char *text, size_t cap, bool strict)
{
	size_t len = strnlen(text, cap);
	FUZZ_CHECK(len < cap, "%s is not NUL-terminated", what);
	for (size_t i = 0; strict && i < len; i++)
		FUZZ_CHECK((unsigned char)text[i] >= 0x20 && text[i] != 0x7f, "%s has control byte 0x%02x: %s",
			   what, (unsigned char)text[i], text);
	FUZZ_CHECK(!strict || valid_utf8((const unsigned char *)text, len), "%s is not valid UTF-8: %s", what, text);
}

/*
 * One validation checked every way: returns its count. `trusted_schema`: the
 * reasons come from one of our schemas and must be clean text too (a fuzzed
 * schema may put anything in its own reasons).
 */
static size_t check_validation(const struct jschema *s, const char *def, const json_t *value,
			       const char *envelope_of, bool trusted_schema)
{
	struct jschema_error errs[MAX_ERRORS];
	memset(errs, 0x5a, sizeof errs);
	size_t n = envelope_of ? jschema_validate_envelope(s, def, value, envelope_of, errs, MAX_ERRORS)
			       : jschema_validate(s, def, value, "base", errs, MAX_ERRORS);
	for (size_t i = 0; i < n && i < MAX_ERRORS; i++) {
		check_text("path", errs[i].path, sizeof errs[i].path, true);
		check_text("reason", errs[i].reason, sizeof errs[i].reason, trusted_schema);
		FUZZ_CHECK(errs[i].reason[0] != '\0', "an error without a reason at %s", errs[i].path);
		if (!envelope_of)
			FUZZ_CHECK(strncmp(errs[i].path, "base", 4) == 0, "path %s lost its base", errs[i].path);
	}
	/* Untouched beyond the count. */
	for (size_t i = n; i < MAX_ERRORS; i++)
		FUZZ_CHECK(errs[i].path[0] == 0x5a, "error %zu written but only %zu counted", i, n);
	size_t again = envelope_of ? jschema_validate_envelope(s, def, value, envelope_of, NULL, 0)
				   : jschema_validate(s, def, value, "base", NULL, 0);
	FUZZ_CHECK(again == n, "%zu errors, but %zu when asked for none", n, again);
	struct jschema_error one[1];
	again = envelope_of ? jschema_validate_envelope(s, def, value, envelope_of, one, 1)
			    : jschema_validate(s, def, value, "base", one, 1);
	FUZZ_CHECK(again == n, "%zu errors, but %zu when asked for one", n, again);
	return n;
}

static void validate_all_ways(const struct jschema *s, const json_t *schema_doc, const json_t *value,
			      bool trusted_schema)
{
	size_t whole = check_validation(s, NULL, value, NULL, trusted_schema);
	/* An envelope around a property the value does not have is the whole validation. */
	size_t none = check_validation(s, NULL, value, "fuzz-no-such-property", trusted_schema);
	FUZZ_CHECK(none == whole, "envelope of a missing property: %zu errors, whole: %zu", none, whole);
	const char *key;
	json_t *sub;
	json_object_foreach((json_t *)(uintptr_t)json_object_get(schema_doc, "properties"), key, sub) {
		size_t env = check_validation(s, NULL, value, key, trusted_schema);
		FUZZ_CHECK(env <= whole, "envelope of %s: %zu errors, more than the whole validation's %zu", key, env, whole);
	}
	json_object_foreach((json_t *)(uintptr_t)json_object_get(schema_doc, "$defs"), key, sub) {
		FUZZ_CHECK(jschema_has_def(s, key), "$defs/%s loaded but jschema_has_def says no", key);
		check_validation(s, key, value, NULL, trusted_schema);
	}
	FUZZ_CHECK(!jschema_has_def(s, "fuzz-no-such-def"), "a def that is not there");
	FUZZ_CHECK(check_validation(s, "fuzz-no-such-def", value, NULL, trusted_schema) == 1,
		   "an unknown def must be exactly one violation");
}

static void fuzz_schema_text(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t schema_len = nul ? (size_t)(nul - data) : size;
	char err[256];
	memset(err, 0, sizeof err);
	struct jschema *s = jschema_load((const char *)data, schema_len, err, sizeof err);
	if (!s) {
		FUZZ_CHECK(err[0] != '\0', "a schema refused without a reason");
		FUZZ_CHECK(strnlen(err, sizeof err) < sizeof err, "load error not NUL-terminated");
		return;
	}
	json_t *doc = json_loadb((const char *)data, schema_len, 0, NULL);
	if (nul) {
		json_t *value = json_loadb((const char *)nul + 1, size - schema_len - 1, JSON_DECODE_ANY, NULL);
		if (value)
			validate_all_ways(s, doc, value, false);
		json_decref(value);
	} else {
		static const char *const fixed[] = {
			"null", "0", "-1", "1.5", "1e300", "\"\"", "\"x\"", "\"123456789012\"", "true",
			"[]", "{}", "[1, \"a\", {}, [null]]", "{\"a\": 1, \"b\": [\"c\"], \"\\u00e9\\u4e2d\": {}}",
		};
		for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
			json_t *value = json_loads(fixed[i], JSON_DECODE_ANY, NULL);
			validate_all_ways(s, doc, value, false);
			json_decref(value);
		}
		if (doc)
			validate_all_ways(s, doc, doc, false);
	}
	json_decref(doc);
	jschema_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0) {
		fuzz_schema_text(data + 1, size - 1);
		return 0;
	}
	json_t *value = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (!value)
		return 0;
	for (size_t i = 0; i < n_embedded; i++)
		validate_all_ways(embedded[i].schema, embedded[i].doc, value, true);
	json_decref(value);
	return 0;
}

/*
 * jschema: validates Jansson values against the JSON Schemas in schemas/ (a
 * strict subset of draft 2020-12). A schema is compiled once into a C tree;
 * validation then reports each violation as a path such as
 * "samples[17].value" plus a short English reason such as "must be >= 0".
 * Keywords outside the subset make loading fail, so a schema can never rely
 * on a rule this code silently ignores.
 */
#ifndef JSCHEMA_H
#define JSCHEMA_H

#include <stddef.h>

#include <jansson.h>

/*
 * Supported keywords:
 *   type (a name or an array of names: object, array, string, integer,
 *     number, boolean, null; "integer" is a JSON integer only, so 3.0 is not
 *     one; any integer is also a "number")
 *   properties, required, additionalProperties (false, true or a schema)
 *   items (one schema for every element), minItems, maxItems
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers)
 *   minLength, maxLength (in Unicode code points, not bytes)
 *   pattern (POSIX extended regex, unanchored unless written with ^ and $;
 *     Perl-style escapes such as \d and (?...) groups are refused at load)
 *   enum, const (compared with json_equal: 1 and 1.0 differ)
 *   $ref ("#/$defs/<name>" only; applied together with sibling keywords)
 *   $defs (at the document root only)
 *   title, description, $schema, $id, $comment, examples (ignored)
 * Boolean schemas (true, false) are accepted wherever a schema is.
 *
 * What gets reported: a value of the wrong type gets only its type error
 * (nothing else is checked on it, nor inside it); an array with more than
 * maxItems items gets that error and its items are not looked at (a huge
 * array must not cost a walk). Otherwise every violation is counted: for an
 * object, required first, then properties in schema order, then unknown
 * keys. A string holding a NUL byte never matches a pattern. Reasons quote
 * only the schema, never the instance's values, so they are safe to send
 * back; property names in paths have control bytes replaced by '?'.
 */

struct jschema; /* compiled schema: immutable after load, usable from many threads at once */

struct jschema_error {
	char path[128];   /* "" for the value itself; truncated with "..." if longer */
	char reason[160];
};

/* Parses and compiles a schema document. On failure returns NULL with a
 * message in err naming the problem and where it is in the schema
 * (e.g. "unknown keyword 'format' at /properties/id"). */
struct jschema *jschema_load(const char *json_text, size_t len, char *err, size_t errlen);
void jschema_free(struct jschema *schema);

/* Whether $defs holds `def`: lets a caller check at startup that the names it
 * passes to jschema_validate exist, instead of finding out per message. */
int jschema_has_def(const struct jschema *schema, const char *def);

/*
 * Validates `value` against the root schema (def == NULL) or against
 * $defs/<def>. Paths in the errors start with base_path (NULL or "" for
 * none), so validating one element as base_path "samples[17]" yields
 * "samples[17].value". Writes the first max_errors errors (errors may be
 * NULL when max_errors is 0) and returns the total number of violations:
 * 0 means valid. An unknown def is itself one violation, so callers fail
 * closed.
 */
size_t jschema_validate(const struct jschema *schema, const char *def, const json_t *value,
			const char *base_path, struct jschema_error *errors, size_t max_errors);

/*
 * Batches. The schema file describes the whole message, e.g. the root has
 * "samples": {"type": "array", "maxItems": 10000, "items": {"$ref": "#/$defs/sample"}},
 * but ingest must reject a bad element without rejecting its neighbours. So:
 *
 *   n = jschema_validate_envelope(s, NULL, msg, "samples", errs, 8);
 *   if (n) reject the whole message;
 *   for each element i: snprintf(base, sizeof base, "samples[%zu]", i);
 *       jschema_validate(s, "sample", element, base, errs, 8) -> drop only it
 *
 * jschema_validate_envelope is jschema_validate except that the named
 * property of the top-level object has its own keywords checked (type,
 * minItems, maxItems...) but its `items` schema is not applied: that part is
 * the caller's loop.
 */
size_t jschema_validate_envelope(const struct jschema *schema, const char *def, const json_t *value,
				 const char *batch_property, struct jschema_error *errors, size_t max_errors);

#endif

/*
 * jschema_int: the compiled schema tree that jschema_compile.c builds and
 * jschema.c walks, plus the few helpers both sides use: bounded text
 * building (reasons, paths, load errors), property name ordering and $defs
 * lookup. Not for use outside the jschema module.
 */
#ifndef JSCHEMA_INT_H
#define JSCHEMA_INT_H

#include "jschema.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define JSCHEMA_REASON_MAX sizeof(((struct jschema_error *)0)->reason)

enum jschema_type_bit {
	JSCHEMA_TYPE_OBJECT = 1u << 0,
	JSCHEMA_TYPE_ARRAY = 1u << 1,
	JSCHEMA_TYPE_STRING = 1u << 2,
	JSCHEMA_TYPE_INTEGER = 1u << 3,
	JSCHEMA_TYPE_NUMBER = 1u << 4,
	JSCHEMA_TYPE_BOOLEAN = 1u << 5,
	JSCHEMA_TYPE_NULL = 1u << 6,
};

enum jschema_bound_kind {
	JSCHEMA_BOUND_MINIMUM,
	JSCHEMA_BOUND_MAXIMUM,
	JSCHEMA_BOUND_EXCLUSIVE_MINIMUM,
	JSCHEMA_BOUND_EXCLUSIVE_MAXIMUM,
	JSCHEMA_BOUND_COUNT
};

struct jschema_numeric_bound {
	bool present;
	bool is_integer; /* integer bounds compare exactly with integer values, not via double */
	json_int_t integer;
	double real;
	char *reason;
};

/* minItems, maxItems, minLength, maxLength */
struct jschema_count_limit {
	bool present;
	size_t value;
	char *reason;
};

struct jschema_property {
	const char *name; /* borrowed from the schema document */
	size_t name_len;
	struct jschema_node *schema;
};

enum jschema_additional_mode {
	JSCHEMA_ADDITIONAL_ALLOWED,
	JSCHEMA_ADDITIONAL_FORBIDDEN,
	JSCHEMA_ADDITIONAL_SCHEMA
};

struct jschema_node {
	bool rejects_everything; /* the boolean schema false */
	const struct jschema_node *ref; /* borrowed: $defs nodes belong to struct jschema */

	unsigned type_mask; /* 0: any type */
	char *type_reason;

	const json_t *const_value; /* borrowed from the schema document */
	char *const_reason;
	const json_t *enum_values; /* borrowed; a non-empty array */
	char *enum_reason;

	struct jschema_property *properties; /* in schema order, which is reporting order */
	size_t property_count;
	const struct jschema_property **properties_by_name; /* sorted, for the unknown-property check */
	const char **required; /* borrowed */
	size_t required_count;
	enum jschema_additional_mode additional_mode;
	struct jschema_node *additional;

	struct jschema_node *items;
	struct jschema_count_limit min_items, max_items;

	struct jschema_count_limit min_length, max_length;
	bool has_pattern;
	regex_t pattern;
	char *pattern_reason;

	struct jschema_numeric_bound bounds[JSCHEMA_BOUND_COUNT];
};

struct jschema_definition {
	const char *name; /* borrowed from the schema document */
	struct jschema_node *node;
};

struct jschema {
	json_t *document; /* owns every borrowed string and value in the tree */
	struct jschema_node *root;
	struct jschema_definition *defs;
	size_t def_count;
};

/* ---- bounded text building (reasons, paths, load errors) ---- */

struct jschema_text {
	char *buf;
	size_t size;
	size_t len;
	bool truncated;
};

void jschema_text_init(struct jschema_text *t, char *buf, size_t size);
void jschema_text_append(struct jschema_text *t, const char *s, size_t n);
void jschema_text_append_str(struct jschema_text *t, const char *s);
void jschema_text_append_sanitized(struct jschema_text *t, const char *s); /* control bytes become '?' */
void jschema_text_finish(struct jschema_text *t); /* a cut text ends in "..." */

/* memcmp order, shorter first on a common prefix: how properties_by_name is
 * sorted and searched. */
int jschema_compare_names(const char *a, size_t a_len, const char *b, size_t b_len);
/* The $defs entry called name, or NULL. */
struct jschema_definition *jschema_find_def(const struct jschema *schema, const char *name);

#endif

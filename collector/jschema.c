/*
 * jschema: compiles a JSON Schema document (the subset listed in jschema.h)
 * into a tree of schema_node structs, and validates Jansson values against
 * that tree. Keyword names are looked at only while loading; every reason
 * string is formatted then too. Validation keeps the instance path as a chain
 * of stack frames and renders it only for an error that will be reported, so
 * a valid value costs no string work at all.
 */
#include "jschema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Deeper values are reported instead of recursed into: ingest messages are a
 * few levels deep, and the C stack must not be the limit for hostile input. */
#define MAX_DEPTH 64

/* Schema locations in load errors are JSON pointers; beyond this they are cut. */
#define LOCATION_MAX 256

#define REASON_MAX sizeof(((struct jschema_error *)0)->reason)

enum type_bit {
	TYPE_OBJECT = 1u << 0,
	TYPE_ARRAY = 1u << 1,
	TYPE_STRING = 1u << 2,
	TYPE_INTEGER = 1u << 3,
	TYPE_NUMBER = 1u << 4,
	TYPE_BOOLEAN = 1u << 5,
	TYPE_NULL = 1u << 6,
};

static const struct {
	const char *name;
	const char *with_article; /* for reasons: "must be an integer" */
	unsigned bit;
} type_names[] = {
	{"object", "an object", TYPE_OBJECT},
	{"array", "an array", TYPE_ARRAY},
	{"string", "a string", TYPE_STRING},
	{"integer", "an integer", TYPE_INTEGER},
	{"number", "a number", TYPE_NUMBER},
	{"boolean", "a boolean", TYPE_BOOLEAN},
	{"null", "null", TYPE_NULL},
};

enum bound_kind {
	BOUND_MINIMUM,
	BOUND_MAXIMUM,
	BOUND_EXCLUSIVE_MINIMUM,
	BOUND_EXCLUSIVE_MAXIMUM,
	BOUND_COUNT
};

struct numeric_bound {
	bool present;
	bool is_integer; /* integer bounds compare exactly with integer values, not via double */
	json_int_t integer;
	double real;
	char *reason;
};

/* minItems, maxItems, minLength, maxLength */
struct count_limit {
	bool present;
	size_t value;
	char *reason;
};

struct property {
	const char *name; /* borrowed from the schema document */
	size_t name_len;
	struct schema_node *schema;
};

enum additional_mode { ADDITIONAL_ALLOWED, ADDITIONAL_FORBIDDEN, ADDITIONAL_SCHEMA };

struct schema_node {
	bool rejects_everything; /* the boolean schema false */
	const struct schema_node *ref; /* borrowed: $defs nodes belong to struct jschema */

	unsigned type_mask; /* 0: any type */
	char *type_reason;

	const json_t *const_value; /* borrowed from the schema document */
	char *const_reason;
	const json_t *enum_values; /* borrowed; a non-empty array */
	char *enum_reason;

	struct property *properties; /* in schema order, which is reporting order */
	size_t property_count;
	const struct property **properties_by_name; /* sorted, for the unknown-property check */
	const char **required; /* borrowed */
	size_t required_count;
	enum additional_mode additional_mode;
	struct schema_node *additional;

	struct schema_node *items;
	struct count_limit min_items, max_items;

	struct count_limit min_length, max_length;
	bool has_pattern;
	regex_t pattern;
	char *pattern_reason;

	struct numeric_bound bounds[BOUND_COUNT];
};

struct definition {
	const char *name; /* borrowed from the schema document */
	struct schema_node *node;
};

struct jschema {
	json_t *document; /* owns every borrowed string and value in the tree */
	struct schema_node *root;
	struct definition *defs;
	size_t def_count;
};

/* ---- bounded text building (reasons, paths, load errors) ---- */

struct text {
	char *buf;
	size_t size;
	size_t len;
	bool truncated;
};

static void text_init(struct text *t, char *buf, size_t size)
{
	t->buf = buf;
	t->size = size;
	t->len = 0;
	t->truncated = false;
	buf[0] = '\0';
}

static void text_append(struct text *t, const char *s, size_t n)
{
	size_t room = t->size - 1 - t->len;
	if (n > room) {
		n = room;
		t->truncated = true;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void text_append_str(struct text *t, const char *s)
{
	text_append(t, s, strlen(s));
}

/* Instance keys come from the network: keep control bytes out of log lines. */
static void text_append_sanitized(struct text *t, const char *s)
{
	for (; *s; s++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
		text_append(t, &c, 1);
	}
}

/* A cut text ends in "..." so nobody mistakes it for the whole. */
static void text_finish(struct text *t)
{
	if (!t->truncated || t->size < 4)
		return;
	memcpy(t->buf + t->size - 4, "...", 4);
	t->len = t->size - 1;
}

static char *reason_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *reason_printf(const char *fmt, ...)
{
	char buf[REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return xstrdup(buf);
}

/* Shortest text that reads back as the same number: 0.1, not 0.10000000000000001. */
static void format_number(const json_t *number, char *buf, size_t size)
{
	if (json_is_integer(number)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(number));
		return;
	}
	double value = json_real_value(number);
	snprintf(buf, size, "%.15g", value);
	if (strtod(buf, NULL) != value)
		snprintf(buf, size, "%.17g", value);
}

/* Schema values as reasons show them: strings bare (as in "must be one of:
 * paid, failed"), numbers in shortest form, anything else as compact JSON. */
static void text_append_json(struct text *t, const json_t *value)
{
	if (json_is_string(value)) {
		text_append_sanitized(t, json_string_value(value));
	} else if (json_is_number(value)) {
		char num[64];
		format_number(value, num, sizeof num);
		text_append_str(t, num);
	} else {
		char *dumped = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
		if (dumped) {
			text_append_str(t, dumped);
			free(dumped);
		}
	}
}

/* ---- loading ---- */

struct compiler {
	struct jschema *schema;
	char *err;
	size_t errlen;
};

static bool load_error(struct compiler *c, const char *location, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool load_error(struct compiler *c, const char *location, const char *fmt, ...)
{
	if (!c->err || c->errlen == 0)
		return false;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < c->errlen)
		snprintf(c->err + n, c->errlen - (size_t)n, " at %s", *location ? location : "/");
	return false;
}

/* location + "/" + key, with key escaped as a JSON pointer token. */
static void child_location(char *buf, size_t size, const char *parent, const char *key)
{
	struct text t;
	text_init(&t, buf, size);
	text_append_str(&t, parent);
	text_append(&t, "/", 1);
	for (const char *p = key; *p; p++) {
		if (*p == '~')
			text_append(&t, "~0", 2);
		else if (*p == '/')
			text_append(&t, "~1", 2);
		else
			text_append(&t, p, 1);
	}
	text_finish(&t);
}

static void free_node(struct schema_node *node);

static void free_node_contents(struct schema_node *node)
{
	free(node->type_reason);
	free(node->const_reason);
	free(node->enum_reason);
	for (size_t i = 0; i < node->property_count; i++)
		free_node(node->properties[i].schema);
	free(node->properties);
	free(node->properties_by_name);
	free(node->required);
	free_node(node->additional);
	free_node(node->items);
	free(node->min_items.reason);
	free(node->max_items.reason);
	free(node->min_length.reason);
	free(node->max_length.reason);
	if (node->has_pattern)
		regfree(&node->pattern);
	free(node->pattern_reason);
	for (int i = 0; i < BOUND_COUNT; i++)
		free(node->bounds[i].reason);
	memset(node, 0, sizeof *node);
}

static void free_node(struct schema_node *node)
{
	if (!node)
		return;
	free_node_contents(node);
	free(node);
}


static bool compile_into(struct compiler *c, struct schema_node *node, json_t *json,
			 const char *location, bool is_root);

static struct schema_node *compile_child(struct compiler *c, json_t *json, const char *location)
{
	struct schema_node *node = xcalloc(1, sizeof *node);
	if (!compile_into(c, node, json, location, false)) {
		free_node(node);
		return NULL;
	}
	return node;
}

static bool compile_type(struct compiler *c, struct schema_node *node, json_t *value,
			 const char *location, int unused)
{
	(void)unused;
	size_t count = json_is_array(value) ? json_array_size(value) : 1;
	if (!json_is_string(value) && !(json_is_array(value) && count > 0))
		return load_error(c, location, "type must be a type name or a non-empty array of them");

	char reason[REASON_MAX];
	struct text t;
	text_init(&t, reason, sizeof reason);
	text_append_str(&t, "must be ");
	for (size_t i = 0; i < count; i++) {
		const json_t *name = json_is_array(value) ? json_array_get(value, i) : value;
		const size_t known = sizeof type_names / sizeof type_names[0];
		size_t k = 0;
		while (k < known && !(json_is_string(name)
				      && strcmp(json_string_value(name), type_names[k].name) == 0))
			k++;
		if (k == known)
			return load_error(c, location, "unknown type %s",
					  json_is_string(name) ? json_string_value(name) : "(not a string)");
		if (node->type_mask & type_names[k].bit)
			return load_error(c, location, "type %s is listed twice", type_names[k].name);
		node->type_mask |= type_names[k].bit;
		if (i > 0)
			text_append_str(&t, i + 1 == count ? " or " : ", ");
		text_append_str(&t, type_names[k].with_article);
	}
	text_finish(&t);
	node->type_reason = xstrdup(reason);
	return true;
}

static int compare_names(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int cmp = memcmp(a, b, a_len < b_len ? a_len : b_len);
	if (cmp)
		return cmp;
	return (a_len > b_len) - (a_len < b_len);
}

static int compare_properties(const void *a, const void *b)
{
	const struct property *pa = *(const struct property *const *)a;
	const struct property *pb = *(const struct property *const *)b;
	return compare_names(pa->name, pa->name_len, pb->name, pb->name_len);
}

static bool compile_properties(struct compiler *c, struct schema_node *node, json_t *value,
			       const char *location, int unused)
{
	(void)unused;
	if (!json_is_object(value))
		return load_error(c, location, "properties must be an object");
	node->properties = xcalloc(json_object_size(value), sizeof *node->properties);
	const char *key;
	size_t key_len;
	json_t *sub;
	json_object_keylen_foreach(value, key, key_len, sub) {
		char sub_location[LOCATION_MAX];
		child_location(sub_location, sizeof sub_location, location, key);
		struct schema_node *compiled = compile_child(c, sub, sub_location);
		if (!compiled)
			return false;
		node->properties[node->property_count++] = (struct property){key, key_len, compiled};
	}
	node->properties_by_name = xcalloc(node->property_count, sizeof *node->properties_by_name);
	for (size_t i = 0; i < node->property_count; i++)
		node->properties_by_name[i] = &node->properties[i];
	qsort(node->properties_by_name, node->property_count, sizeof *node->properties_by_name,
	      compare_properties);
	return true;
}

static bool compile_required(struct compiler *c, struct schema_node *node, json_t *value,
			     const char *location, int unused)
{
	(void)unused;
	if (!json_is_array(value))
		return load_error(c, location, "required must be an array of property names");
	node->required = xcalloc(json_array_size(value), sizeof *node->required);
	size_t i;
	json_t *name;
	json_array_foreach(value, i, name) {
		if (!json_is_string(name))
			return load_error(c, location, "required must be an array of property names");
		for (size_t j = 0; j < node->required_count; j++)
			if (strcmp(node->required[j], json_string_value(name)) == 0)
				return load_error(c, location, "required lists %s twice", node->required[j]);
		node->required[node->required_count++] = json_string_value(name);
	}
	return true;
}

static bool compile_additional(struct compiler *c, struct schema_node *node, json_t *value,
			       const char *location, int unused)
{
	(void)unused;
	if (json_is_true(value)) {
		node->additional_mode = ADDITIONAL_ALLOWED;
		return true;
	}
	if (json_is_false(value)) {
		node->additional_mode = ADDITIONAL_FORBIDDEN;
		return true;
	}
	node->additional = compile_child(c, value, location);
	if (!node->additional)
		return false;
	node->additional_mode = ADDITIONAL_SCHEMA;
	return true;
}

static bool compile_items(struct compiler *c, struct schema_node *node, json_t *value,
			  const char *location, int unused)
{
	(void)unused;
	if (json_is_array(value))
		return load_error(c, location, "items must be a single schema (the tuple form is not supported)");
	node->items = compile_child(c, value, location);
	return node->items != NULL;
}

enum count_kind { COUNT_MIN_ITEMS, COUNT_MAX_ITEMS, COUNT_MIN_LENGTH, COUNT_MAX_LENGTH };

static bool compile_count(struct compiler *c, struct schema_node *node, json_t *value,
			  const char *location, int kind)
{
	static const struct {
		const char *keyword;
		const char *reason_start; /* followed by the number and the unit */
		const char *unit;
	} counts[] = {
		[COUNT_MIN_ITEMS] = {"minItems", "must have at least", "item"},
		[COUNT_MAX_ITEMS] = {"maxItems", "must have at most", "item"},
		[COUNT_MIN_LENGTH] = {"minLength", "must be at least", "character"},
		[COUNT_MAX_LENGTH] = {"maxLength", "must be at most", "character"},
	};
	struct count_limit *limits[] = {
		[COUNT_MIN_ITEMS] = &node->min_items,
		[COUNT_MAX_ITEMS] = &node->max_items,
		[COUNT_MIN_LENGTH] = &node->min_length,
		[COUNT_MAX_LENGTH] = &node->max_length,
	};
	if (!json_is_integer(value) || json_integer_value(value) < 0)
		return load_error(c, location, "%s must be a non-negative integer", counts[kind].keyword);
	struct count_limit *limit = limits[kind];
	limit->present = true;
	limit->value = (size_t)json_integer_value(value);
	limit->reason = reason_printf("%s %zu %s%s", counts[kind].reason_start, limit->value,
				      counts[kind].unit, limit->value == 1 ? "" : "s");
	return true;
}

static bool compile_bound(struct compiler *c, struct schema_node *node, json_t *value,
			  const char *location, int kind)
{
	static const struct {
		const char *keyword;
		const char *operator;
	} bound_names[BOUND_COUNT] = {
		[BOUND_MINIMUM] = {"minimum", ">="},
		[BOUND_MAXIMUM] = {"maximum", "<="},
		[BOUND_EXCLUSIVE_MINIMUM] = {"exclusiveMinimum", ">"},
		[BOUND_EXCLUSIVE_MAXIMUM] = {"exclusiveMaximum", "<"},
	};
	if (!json_is_number(value) || !isfinite(json_number_value(value)))
		return load_error(c, location, "%s must be a number", bound_names[kind].keyword);
	struct numeric_bound *bound = &node->bounds[kind];
	bound->present = true;
	bound->is_integer = json_is_integer(value);
	bound->integer = bound->is_integer ? json_integer_value(value) : 0;
	bound->real = json_number_value(value);
	char number[64];
	format_number(value, number, sizeof number);
	bound->reason = reason_printf("must be %s %s", bound_names[kind].operator, number);
	return true;
}

/* glibc's regcomp quietly reads \d as "d" and has no (?...) groups: a schema
 * written for an ECMA-262 validator would compile here and mean something
 * else, so those spellings are refused instead. */
static bool check_posix_pattern(struct compiler *c, const char *pattern, const char *location)
{
	for (const char *p = pattern; *p; p++) {
		if (p[0] == '\\' && p[1]) {
			if ((p[1] >= '0' && p[1] <= '9') || (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'))
				return load_error(c, location, "pattern escape \\%c is not POSIX extended regex "
						  "(write a bracket expression such as [0-9])", p[1]);
			p++;
		} else if (p[0] == '(' && p[1] == '?') {
			return load_error(c, location, "pattern group (? is not POSIX extended regex");
		}
	}
	return true;
}

static bool compile_pattern(struct compiler *c, struct schema_node *node, json_t *value,
			    const char *location, int unused)
{
	(void)unused;
	if (!json_is_string(value) || memchr(json_string_value(value), '\0', json_string_length(value)))
		return load_error(c, location, "pattern must be a string without NUL bytes");
	const char *pattern = json_string_value(value);
	if (!check_posix_pattern(c, pattern, location))
		return false;
	int rc = regcomp(&node->pattern, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char message[128];
		regerror(rc, &node->pattern, message, sizeof message);
		return load_error(c, location, "pattern does not compile: %s", message);
	}
	node->has_pattern = true;

	char reason[REASON_MAX];
	struct text t;
	text_init(&t, reason, sizeof reason);
	text_append_str(&t, "must match ");
	text_append_str(&t, pattern);
	text_finish(&t);
	node->pattern_reason = xstrdup(reason);
	return true;
}

static bool compile_enum(struct compiler *c, struct schema_node *node, json_t *value,
			 const char *location, int unused)
{
	(void)unused;
	if (!json_is_array(value) || json_array_size(value) == 0)
		return load_error(c, location, "enum must be a non-empty array");
	node->enum_values = value;

	char reason[REASON_MAX];
	struct text t;
	text_init(&t, reason, sizeof reason);
	text_append_str(&t, "must be one of: ");
	size_t i;
	json_t *member;
	json_array_foreach(value, i, member) {
		if (i > 0)
			text_append_str(&t, ", ");
		text_append_json(&t, member);
	}
	text_finish(&t);
	node->enum_reason = xstrdup(reason);
	return true;
}

static bool compile_const(struct compiler *c, struct schema_node *node, json_t *value,
			  const char *location, int unused)
{
	(void)c;
	(void)location;
	(void)unused;
	node->const_value = value;

	char reason[REASON_MAX];
	struct text t;
	text_init(&t, reason, sizeof reason);
	text_append_str(&t, "must be ");
	text_append_json(&t, value);
	text_finish(&t);
	node->const_reason = xstrdup(reason);
	return true;
}

static struct definition *find_def(const struct jschema *schema, const char *name)
{
	for (size_t i = 0; i < schema->def_count; i++)
		if (strcmp(schema->defs[i].name, name) == 0)
			return &schema->defs[i];
	return NULL;
}

static bool compile_ref(struct compiler *c, struct schema_node *node, json_t *value,
			const char *location, int unused)
{
	(void)unused;
	static const char prefix[] = "#/$defs/";
	if (!json_is_string(value))
		return load_error(c, location, "$ref must be a string");
	const char *ref = json_string_value(value);
	if (strncmp(ref, prefix, sizeof prefix - 1) != 0 || strchr(ref + sizeof prefix - 1, '/'))
		return load_error(c, location, "$ref %s is not supported (only #/$defs/<name>)", ref);

	/* Undo JSON pointer escaping: ~1 is "/", ~0 is "~". */
	char *name = xstrdup(ref + sizeof prefix - 1);
	char *out = name;
	for (const char *in = name; *in; in++) {
		if (*in == '~' && (in[1] == '0' || in[1] == '1')) {
			*out++ = in[1] == '0' ? '~' : '/';
			in++;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	const struct definition *def = find_def(c->schema, name);
	free(name);
	if (!def)
		return load_error(c, location, "$ref %s names no entry in $defs", ref);
	node->ref = def->node;
	return true;
}

typedef bool keyword_compiler(struct compiler *c, struct schema_node *node, json_t *value,
			      const char *location, int arg);

static const struct keyword {
	const char *name;
	keyword_compiler *compile; /* NULL: annotation, accepted and ignored */
	int arg;
} keywords[] = {
	{"type", compile_type, 0},
	{"properties", compile_properties, 0},
	{"required", compile_required, 0},
	{"additionalProperties", compile_additional, 0},
	{"items", compile_items, 0},
	{"minItems", compile_count, COUNT_MIN_ITEMS},
	{"maxItems", compile_count, COUNT_MAX_ITEMS},
	{"minLength", compile_count, COUNT_MIN_LENGTH},
	{"maxLength", compile_count, COUNT_MAX_LENGTH},
	{"minimum", compile_bound, BOUND_MINIMUM},
	{"maximum", compile_bound, BOUND_MAXIMUM},
	{"exclusiveMinimum", compile_bound, BOUND_EXCLUSIVE_MINIMUM},
	{"exclusiveMaximum", compile_bound, BOUND_EXCLUSIVE_MAXIMUM},
	{"pattern", compile_pattern, 0},
	{"enum", compile_enum, 0},
	{"const", compile_const, 0},
	{"$ref", compile_ref, 0},
	{"title", NULL, 0},
	{"description", NULL, 0},
	{"$schema", NULL, 0},
	{"$id", NULL, 0},
	{"$comment", NULL, 0},
	{"examples", NULL, 0},
};

static bool compile_into(struct compiler *c, struct schema_node *node, json_t *json,
			 const char *location, bool is_root)
{
	if (json_is_true(json))
		return true;
	if (json_is_false(json)) {
		node->rejects_everything = true;
		return true;
	}
	if (!json_is_object(json))
		return load_error(c, location, "a schema must be an object or a boolean");

	const char *key;
	json_t *value;
	json_object_foreach(json, key, value) {
		if (strcmp(key, "$defs") == 0) {
			/* Compiled up front by compile_defs so $refs can point anywhere. */
			if (!is_root)
				return load_error(c, location, "$defs is only supported at the document root");
			continue;
		}
		const struct keyword *keyword = NULL;
		for (size_t i = 0; i < sizeof keywords / sizeof keywords[0] && !keyword; i++)
			if (strcmp(keywords[i].name, key) == 0)
				keyword = &keywords[i];
		if (!keyword)
			return load_error(c, location, "unknown keyword '%s'", key);
		if (!keyword->compile)
			continue;
		char keyword_location[LOCATION_MAX];
		child_location(keyword_location, sizeof keyword_location, location, key);
		if (!keyword->compile(c, node, value, keyword_location, keyword->arg))
			return false;
	}
	return true;
}

/* Every $defs entry gets its node before any is compiled, so a $ref can name
 * a later entry, or its own (recursive structures). */
static bool compile_defs(struct compiler *c, json_t *document)
{
	json_t *defs = json_is_object(document) ? json_object_get(document, "$defs") : NULL;
	if (!defs)
		return true;
	if (!json_is_object(defs))
		return load_error(c, "/$defs", "$defs must be an object");

	struct jschema *schema = c->schema;
	schema->defs = xcalloc(json_object_size(defs), sizeof *schema->defs);
	const char *name;
	json_t *def;
	json_object_foreach(defs, name, def) {
		schema->defs[schema->def_count].name = name;
		schema->defs[schema->def_count].node = xcalloc(1, sizeof(struct schema_node));
		schema->def_count++;
	}
	size_t i = 0;
	json_object_foreach(defs, name, def) {
		char location[LOCATION_MAX];
		child_location(location, sizeof location, "/$defs", name);
		if (!compile_into(c, schema->defs[i++].node, def, location, false))
			return false;
	}
	return true;
}

/* $ref is applied to the same value as the schema holding it, so a loop made
 * only of $refs would recurse forever without ever consuming the value. */
static bool check_ref_cycles(struct compiler *c)
{
	const struct jschema *schema = c->schema;
	for (size_t i = 0; i < schema->def_count; i++) {
		const struct schema_node *node = schema->defs[i].node;
		for (size_t steps = 0; node->ref; steps++) {
			if (steps > schema->def_count) {
				char location[LOCATION_MAX];
				child_location(location, sizeof location, "/$defs", schema->defs[i].name);
				return load_error(c, location, "$ref cycle that never reaches a keyword");
			}
			node = node->ref;
		}
	}
	return true;
}

struct jschema *jschema_load(const char *json_text, size_t len, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	json_error_t parse_error;
	json_t *document = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &parse_error);
	if (!document) {
		if (err && errlen)
			snprintf(err, errlen, "schema is not valid JSON: %s (line %d, column %d)",
				 parse_error.text, parse_error.line, parse_error.column);
		return NULL;
	}

	struct jschema *schema = xcalloc(1, sizeof *schema);
	schema->document = document;
	schema->root = xcalloc(1, sizeof *schema->root);
	struct compiler c = {schema, err, errlen};
	if (!compile_defs(&c, document) || !compile_into(&c, schema->root, document, "", true)
	    || !check_ref_cycles(&c)) {
		jschema_free(schema);
		return NULL;
	}
	return schema;
}

void jschema_free(struct jschema *schema)
{
	if (!schema)
		return;
	free_node(schema->root);
	for (size_t i = 0; i < schema->def_count; i++)
		free_node(schema->defs[i].node);
	free(schema->defs);
	json_decref(schema->document);
	free(schema);
}

int jschema_has_def(const struct jschema *schema, const char *def)
{
	return find_def(schema, def) != NULL;
}

/* ---- validation ---- */

/* One step of the instance path, living in the validating frame's stack. */
struct path_segment {
	const struct path_segment *parent;
	const char *key; /* property name, or NULL for the array element `index` */
	size_t index;
};

struct validation {
	const char *base_path;
	const char *batch_property; /* envelope mode: items of this top-level property are the caller's */
	struct jschema_error *errors;
	size_t max_errors;
	size_t count;
};

static void render_segments(struct text *t, const struct path_segment *segment)
{
	if (!segment)
		return;
	render_segments(t, segment->parent);
	if (segment->key) {
		if (t->len > 0)
			text_append(t, ".", 1);
		text_append_sanitized(t, segment->key);
	} else {
		char index[32];
		int n = snprintf(index, sizeof index, "[%zu]", segment->index);
		text_append(t, index, (size_t)n);
	}
}

static void report(struct validation *v, const struct path_segment *segment, const char *reason)
{
	if (v->count < v->max_errors) {
		struct jschema_error *error = &v->errors[v->count];
		struct text t;
		text_init(&t, error->path, sizeof error->path);
		text_append_str(&t, v->base_path);
		render_segments(&t, segment);
		text_finish(&t);
		snprintf(error->reason, sizeof error->reason, "%s", reason);
	}
	v->count++;
}

/* Jansson's iterator API takes a non-const object although iterating never
 * modifies it. */
static json_t *iterable(const json_t *object)
{
	return (json_t *)(uintptr_t)object;
}

static unsigned type_bits_of(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return TYPE_OBJECT;
	case JSON_ARRAY:
		return TYPE_ARRAY;
	case JSON_STRING:
		return TYPE_STRING;
	case JSON_INTEGER:
		return TYPE_INTEGER | TYPE_NUMBER;
	case JSON_REAL:
		return TYPE_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE:
		return TYPE_BOOLEAN;
	case JSON_NULL:
		return TYPE_NULL;
	}
	return 0;
}

static bool validate_node(struct validation *v, const struct schema_node *node, const json_t *value,
			  const struct path_segment *segment, unsigned depth, bool skip_items);

static bool is_batch_property(const struct validation *v, unsigned depth, const char *key)
{
	return v->batch_property && depth == 0 && strcmp(key, v->batch_property) == 0;
}

static const struct property *find_property(const struct schema_node *node, const char *key, size_t key_len)
{
	size_t low = 0, high = node->property_count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		const struct property *p = node->properties_by_name[mid];
		int cmp = compare_names(key, key_len, p->name, p->name_len);
		if (cmp == 0)
			return p;
		if (cmp < 0)
			high = mid;
		else
			low = mid + 1;
	}
	return NULL;
}

static void validate_object(struct validation *v, const struct schema_node *node, const json_t *object,
			    const struct path_segment *segment, unsigned depth)
{
	for (size_t i = 0; i < node->required_count; i++) {
		if (!json_object_get(object, node->required[i])) {
			struct path_segment missing = {segment, node->required[i], 0};
			report(v, &missing, "is required");
		}
	}

	size_t known_present = 0;
	for (size_t i = 0; i < node->property_count; i++) {
		const struct property *p = &node->properties[i];
		const json_t *child = json_object_getn(object, p->name, p->name_len);
		if (!child)
			continue;
		known_present++;
		struct path_segment child_segment = {segment, p->name, 0};
		validate_node(v, p->schema, child, &child_segment, depth + 1,
			      is_batch_property(v, depth, p->name));
	}

	/* The common valid case, no extra keys, skips the walk over all keys. */
	if (node->additional_mode == ADDITIONAL_ALLOWED || known_present == json_object_size(object))
		return;
	const char *key;
	size_t key_len;
	json_t *child;
	json_object_keylen_foreach(iterable(object), key, key_len, child) {
		if (find_property(node, key, key_len))
			continue;
		struct path_segment child_segment = {segment, key, 0};
		if (node->additional_mode == ADDITIONAL_FORBIDDEN)
			report(v, &child_segment, "is not allowed (unknown property)");
		else
			validate_node(v, node->additional, child, &child_segment, depth + 1,
				      is_batch_property(v, depth, key));
	}
}

static void validate_array(struct validation *v, const struct schema_node *node, const json_t *array,
			   const struct path_segment *segment, unsigned depth, bool skip_items)
{
	size_t size = json_array_size(array);
	if (node->min_items.present && size < node->min_items.value)
		report(v, segment, node->min_items.reason);
	if (node->max_items.present && size > node->max_items.value) {
		/* Oversized input is where a sender could make us burn CPU: stop here. */
		report(v, segment, node->max_items.reason);
		return;
	}
	if (!node->items || skip_items)
		return;
	for (size_t i = 0; i < size; i++) {
		struct path_segment element = {segment, NULL, i};
		validate_node(v, node->items, json_array_get(array, i), &element, depth + 1, false);
	}
}

static size_t count_code_points(const char *s, size_t bytes)
{
	size_t count = 0;
	for (size_t i = 0; i < bytes; i++)
		count += ((unsigned char)s[i] & 0xC0) != 0x80; /* skip continuation bytes */
	return count;
}

static void validate_string(struct validation *v, const struct schema_node *node, const json_t *string,
			    const struct path_segment *segment)
{
	const char *text = json_string_value(string);
	size_t bytes = json_string_length(string);
	if (node->min_length.present || node->max_length.present) {
		size_t length = count_code_points(text, bytes);
		if (node->min_length.present && length < node->min_length.value)
			report(v, segment, node->min_length.reason);
		if (node->max_length.present && length > node->max_length.value)
			report(v, segment, node->max_length.reason);
	}
	/* regexec stops at a NUL: "123456789012\u0000junk" must not pass ^[0-9]{12}$. */
	if (node->has_pattern
	    && (memchr(text, '\0', bytes) || regexec(&node->pattern, text, 0, NULL, 0) != 0))
		report(v, segment, node->pattern_reason);
}

/* <0, 0, >0 as number is below, at or above bound. */
static int compare_to_bound(const json_t *number, const struct numeric_bound *bound)
{
	if (bound->is_integer && json_is_integer(number)) {
		json_int_t x = json_integer_value(number);
		return (x > bound->integer) - (x < bound->integer);
	}
	double x = json_number_value(number);
	return (x > bound->real) - (x < bound->real);
}

static void validate_number(struct validation *v, const struct schema_node *node, const json_t *number,
			    const struct path_segment *segment)
{
	for (int kind = 0; kind < BOUND_COUNT; kind++) {
		const struct numeric_bound *bound = &node->bounds[kind];
		if (!bound->present)
			continue;
		int cmp = compare_to_bound(number, bound);
		bool violated = (kind == BOUND_MINIMUM && cmp < 0) || (kind == BOUND_MAXIMUM && cmp > 0)
			|| (kind == BOUND_EXCLUSIVE_MINIMUM && cmp <= 0)
			|| (kind == BOUND_EXCLUSIVE_MAXIMUM && cmp >= 0);
		if (violated)
			report(v, segment, bound->reason);
	}
}

static bool enum_contains(const json_t *values, const json_t *value)
{
	for (size_t i = 0; i < json_array_size(values); i++)
		if (json_equal(json_array_get(values, i), value))
			return true;
	return false;
}

/* Returns false when the value got an error that makes the rest of the
 * schema meaningless for it (wrong type, rejected outright), so a schema
 * holding a $ref does not pile its own errors on top of the referenced one's. */
static bool validate_node(struct validation *v, const struct schema_node *node, const json_t *value,
			  const struct path_segment *segment, unsigned depth, bool skip_items)
{
	if (depth > MAX_DEPTH) {
		report(v, segment, "is nested too deeply");
		return false;
	}
	if (node->rejects_everything) {
		report(v, segment, "is not allowed");
		return false;
	}
	if (node->ref && !validate_node(v, node->ref, value, segment, depth, skip_items))
		return false;
	/* Jansson refuses to build these, but a caller's value is not ours to trust. */
	if (json_is_real(value) && !isfinite(json_real_value(value))) {
		report(v, segment, "must be a finite number");
		return false;
	}
	if (node->type_mask && !(node->type_mask & type_bits_of(value))) {
		report(v, segment, node->type_reason);
		return false;
	}
	if (node->const_value && !json_equal(value, node->const_value))
		report(v, segment, node->const_reason);
	if (node->enum_values && !enum_contains(node->enum_values, value))
		report(v, segment, node->enum_reason);

	switch (json_typeof(value)) {
	case JSON_OBJECT:
		validate_object(v, node, value, segment, depth);
		break;
	case JSON_ARRAY:
		validate_array(v, node, value, segment, depth, skip_items);
		break;
	case JSON_STRING:
		validate_string(v, node, value, segment);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		validate_number(v, node, value, segment);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		break;
	}
	return true;
}

static size_t validate(const struct jschema *schema, const char *def, const json_t *value,
		       const char *base_path, const char *batch_property,
		       struct jschema_error *errors, size_t max_errors)
{
	struct validation v = {
		.base_path = base_path ? base_path : "",
		.batch_property = batch_property,
		.errors = errors,
		.max_errors = errors ? max_errors : 0,
		.count = 0,
	};
	const struct schema_node *node = schema->root;
	if (def) {
		const struct definition *found = find_def(schema, def);
		if (!found) {
			char reason[REASON_MAX];
			snprintf(reason, sizeof reason, "has no schema ($defs has no %s)", def);
			report(&v, NULL, reason);
			return v.count;
		}
		node = found->node;
	}
	if (!value) {
		report(&v, NULL, "is missing");
		return v.count;
	}
	validate_node(&v, node, value, NULL, 0, false);
	return v.count;
}

size_t jschema_validate(const struct jschema *schema, const char *def, const json_t *value,
			const char *base_path, struct jschema_error *errors, size_t max_errors)
{
	return validate(schema, def, value, base_path, NULL, errors, max_errors);
}

size_t jschema_validate_envelope(const struct jschema *schema, const char *def, const json_t *value,
				 const char *batch_property, struct jschema_error *errors, size_t max_errors)
{
	return validate(schema, def, value, NULL, batch_property, errors, max_errors);
}

/*
 * jschema_compile: turns a schema document (the subset listed in jschema.h)
 * into the tree of jschema_node structs that jschema.c validates against.
 * All keyword handling lives here, so a keyword is looked at once, at load,
 * never per message; every reason string is formatted here too, and an
 * unsupported or malformed keyword fails the load with its JSON pointer.
 */
#include "jschema_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Schema locations in load errors are JSON pointers; beyond this they are cut. */
#define LOCATION_MAX 256

static const struct {
	const char *name;
	const char *with_article; /* for reasons: "must be an integer" */
	unsigned bit;
} type_names[] = {
	{"object", "an object", JSCHEMA_TYPE_OBJECT},
	{"array", "an array", JSCHEMA_TYPE_ARRAY},
	{"string", "a string", JSCHEMA_TYPE_STRING},
	{"integer", "an integer", JSCHEMA_TYPE_INTEGER},
	{"number", "a number", JSCHEMA_TYPE_NUMBER},
	{"boolean", "a boolean", JSCHEMA_TYPE_BOOLEAN},
	{"null", "null", JSCHEMA_TYPE_NULL},
};

static char *reason_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *reason_printf(const char *fmt, ...)
{
	char buf[JSCHEMA_REASON_MAX];
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
static void text_append_json(struct jschema_text *t, const json_t *value)
{
	if (json_is_string(value)) {
		jschema_text_append_sanitized(t, json_string_value(value));
	} else if (json_is_number(value)) {
		char num[64];
		format_number(value, num, sizeof num);
		jschema_text_append_str(t, num);
	} else {
		char *dumped = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
		if (dumped) {
			jschema_text_append_str(t, dumped);
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
	struct jschema_text t;
	jschema_text_init(&t, buf, size);
	jschema_text_append_str(&t, parent);
	jschema_text_append(&t, "/", 1);
	for (const char *p = key; *p; p++) {
		if (*p == '~')
			jschema_text_append(&t, "~0", 2);
		else if (*p == '/')
			jschema_text_append(&t, "~1", 2);
		else
			jschema_text_append(&t, p, 1);
	}
	jschema_text_finish(&t);
}

static void free_node(struct jschema_node *node);

static void free_node_contents(struct jschema_node *node)
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
	for (int i = 0; i < JSCHEMA_BOUND_COUNT; i++)
		free(node->bounds[i].reason);
	memset(node, 0, sizeof *node);
}

static void free_node(struct jschema_node *node)
{
	if (!node)
		return;
	free_node_contents(node);
	free(node);
}


static bool compile_into(struct compiler *c, struct jschema_node *node, json_t *json,
			 const char *location, bool is_root);

static struct jschema_node *compile_child(struct compiler *c, json_t *json, const char *location)
{
	struct jschema_node *node = xcalloc(1, sizeof *node);
	if (!compile_into(c, node, json, location, false)) {
		free_node(node);
		return NULL;
	}
	return node;
}

static bool compile_type(struct compiler *c, struct jschema_node *node, json_t *value,
			 const char *location, int unused)
{
	(void)unused;
	size_t count = json_is_array(value) ? json_array_size(value) : 1;
	if (!json_is_string(value) && !(json_is_array(value) && count > 0))
		return load_error(c, location, "type must be a type name or a non-empty array of them");

	char reason[JSCHEMA_REASON_MAX];
	struct jschema_text t;
	jschema_text_init(&t, reason, sizeof reason);
	jschema_text_append_str(&t, "must be ");
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
			jschema_text_append_str(&t, i + 1 == count ? " or " : ", ");
		jschema_text_append_str(&t, type_names[k].with_article);
	}
	jschema_text_finish(&t);
	node->type_reason = xstrdup(reason);
	return true;
}

int jschema_compare_names(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int cmp = memcmp(a, b, a_len < b_len ? a_len : b_len);
	if (cmp)
		return cmp;
	return (a_len > b_len) - (a_len < b_len);
}

static int compare_properties(const void *a, const void *b)
{
	const struct jschema_property *pa = *(const struct jschema_property *const *)a;
	const struct jschema_property *pb = *(const struct jschema_property *const *)b;
	return jschema_compare_names(pa->name, pa->name_len, pb->name, pb->name_len);
}

static bool compile_properties(struct compiler *c, struct jschema_node *node, json_t *value,
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
		struct jschema_node *compiled = compile_child(c, sub, sub_location);
		if (!compiled)
			return false;
		node->properties[node->property_count++] = (struct jschema_property){key, key_len, compiled};
	}
	node->properties_by_name = xcalloc(node->property_count, sizeof *node->properties_by_name);
	for (size_t i = 0; i < node->property_count; i++)
		node->properties_by_name[i] = &node->properties[i];
	qsort(node->properties_by_name, node->property_count, sizeof *node->properties_by_name,
	      compare_properties);
	return true;
}

static bool compile_required(struct compiler *c, struct jschema_node *node, json_t *value,
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

static bool compile_additional(struct compiler *c, struct jschema_node *node, json_t *value,
			       const char *location, int unused)
{
	(void)unused;
	if (json_is_true(value)) {
		node->additional_mode = JSCHEMA_ADDITIONAL_ALLOWED;
		return true;
	}
	if (json_is_false(value)) {
		node->additional_mode = JSCHEMA_ADDITIONAL_FORBIDDEN;
		return true;
	}
	node->additional = compile_child(c, value, location);
	if (!node->additional)
		return false;
	node->additional_mode = JSCHEMA_ADDITIONAL_SCHEMA;
	return true;
}

static bool compile_items(struct compiler *c, struct jschema_node *node, json_t *value,
			  const char *location, int unused)
{
	(void)unused;
	if (json_is_array(value))
		return load_error(c, location, "items must be a single schema (the tuple form is not supported)");
	node->items = compile_child(c, value, location);
	return node->items != NULL;
}

enum count_kind { COUNT_MIN_ITEMS, COUNT_MAX_ITEMS, COUNT_MIN_LENGTH, COUNT_MAX_LENGTH };

static bool compile_count(struct compiler *c, struct jschema_node *node, json_t *value,
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
	struct jschema_count_limit *limits[] = {
		[COUNT_MIN_ITEMS] = &node->min_items,
		[COUNT_MAX_ITEMS] = &node->max_items,
		[COUNT_MIN_LENGTH] = &node->min_length,
		[COUNT_MAX_LENGTH] = &node->max_length,
	};
	if (!json_is_integer(value) || json_integer_value(value) < 0)
		return load_error(c, location, "%s must be a non-negative integer", counts[kind].keyword);
	struct jschema_count_limit *limit = limits[kind];
	limit->present = true;
	limit->value = (size_t)json_integer_value(value);
	limit->reason = reason_printf("%s %zu %s%s", counts[kind].reason_start, limit->value,
				      counts[kind].unit, limit->value == 1 ? "" : "s");
	return true;
}

static bool compile_bound(struct compiler *c, struct jschema_node *node, json_t *value,
			  const char *location, int kind)
{
	static const struct {
		const char *keyword;
		const char *operator;
	} bound_names[JSCHEMA_BOUND_COUNT] = {
		[JSCHEMA_BOUND_MINIMUM] = {"minimum", ">="},
		[JSCHEMA_BOUND_MAXIMUM] = {"maximum", "<="},
		[JSCHEMA_BOUND_EXCLUSIVE_MINIMUM] = {"exclusiveMinimum", ">"},
		[JSCHEMA_BOUND_EXCLUSIVE_MAXIMUM] = {"exclusiveMaximum", "<"},
	};
	if (!json_is_number(value) || !isfinite(json_number_value(value)))
		return load_error(c, location, "%s must be a number", bound_names[kind].keyword);
	struct jschema_numeric_bound *bound = &node->bounds[kind];
	bound->present = true;
	bound->is_integer = json_is_integer(value);
	bound->integer = bound->is_integer ? json_integer_value(value) : 0;
	bound->real = json_number_value(value);
	char number[64];
	format_number(value, number, sizeof number);
	bound->reason = reason_printf("must be %s %s", bound_names[kind].operator, number);
	return true;
}

/* A repetition operator at p: '+', '*' or {n,m} allowing more than one; 0 for
 * '?' and {0,1}/{1}, -1 for a bound too large. *len is its length. */
static int repetition_at(const char *p, size_t *len)
{
	*len = 1;
	if (*p == '+' || *p == '*')
		return 1;
	if (*p != '{')
		return 0;
	char *end;
	long lo = strtol(p + 1, &end, 10), hi = lo;
	if (*end == ',')
		hi = end[1] == '}' ? 256 : strtol(end + 1, &end, 10);
	else if (*end != '}')
		return 0;
	const char *close = strchr(p, '}');
	*len = close ? (size_t)(close - p) + 1 : 1;
	if (lo > 255 || hi > 255)
		return -1;
	return hi > 1;
}

/* glibc's regcomp quietly reads \d as "d" and has no (?...) groups: a schema
 * written for an ECMA-262 validator would compile here and mean something
 * else, so those spellings are refused instead. Its compile cost also blows
 * up (gigabytes) on stacked or nested repetition and large bounds, so those
 * are refused too: our patterns never need them. */
static bool check_posix_pattern(struct compiler *c, const char *pattern, const char *location)
{
	int group_repeats[32] = {0}, depth = 0, last_repeats = 0;
	for (const char *p = pattern; *p; p++) {
		if (*p == '[') { /* a bracket expression: '+', '*' and '{' inside are plain characters */
			const char *close = p + 1 + (p[1] == '^');
			close = strchr(close + (*close == ']'), ']');
			if (!close)
				break; /* regcomp reports the unbalanced bracket */
			p = close;
			last_repeats = 0;
			continue;
		}
		size_t len;
		int rep = repetition_at(p, &len);
		if (rep < 0)
			return load_error(c, location, "pattern repetition bounds above 255 are refused");
		if (rep > 0 || *p == '?') {
			if (last_repeats && rep > 0)
				return load_error(c, location, "pattern repetition of a repetition is refused");
			if (rep > 0 && depth < 32)
				group_repeats[depth] = 1;
			last_repeats = rep > 0;
			p += len - 1;
			continue;
		}
		if (*p == '(' && depth < 31) {
			depth++;
			group_repeats[depth] = 0;
		} else if (*p == ')' && depth > 0) {
			int inner = group_repeats[depth--];
			size_t next_len;
			if (inner && repetition_at(p + 1, &next_len) > 0)
				return load_error(c, location, "pattern repetition of a group that repeats is refused");
			group_repeats[depth] |= inner;
			last_repeats = 0;
			continue;
		}
		last_repeats = 0;
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

static bool compile_pattern(struct compiler *c, struct jschema_node *node, json_t *value,
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

	char reason[JSCHEMA_REASON_MAX];
	struct jschema_text t;
	jschema_text_init(&t, reason, sizeof reason);
	jschema_text_append_str(&t, "must match ");
	jschema_text_append_str(&t, pattern);
	jschema_text_finish(&t);
	node->pattern_reason = xstrdup(reason);
	return true;
}

static bool compile_enum(struct compiler *c, struct jschema_node *node, json_t *value,
			 const char *location, int unused)
{
	(void)unused;
	if (!json_is_array(value) || json_array_size(value) == 0)
		return load_error(c, location, "enum must be a non-empty array");
	node->enum_values = value;

	char reason[JSCHEMA_REASON_MAX];
	struct jschema_text t;
	jschema_text_init(&t, reason, sizeof reason);
	jschema_text_append_str(&t, "must be one of: ");
	size_t i;
	json_t *member;
	json_array_foreach(value, i, member) {
		if (i > 0)
			jschema_text_append_str(&t, ", ");
		text_append_json(&t, member);
	}
	jschema_text_finish(&t);
	node->enum_reason = xstrdup(reason);
	return true;
}

static bool compile_const(struct compiler *c, struct jschema_node *node, json_t *value,
			  const char *location, int unused)
{
	(void)c;
	(void)location;
	(void)unused;
	node->const_value = value;

	char reason[JSCHEMA_REASON_MAX];
	struct jschema_text t;
	jschema_text_init(&t, reason, sizeof reason);
	jschema_text_append_str(&t, "must be ");
	text_append_json(&t, value);
	jschema_text_finish(&t);
	node->const_reason = xstrdup(reason);
	return true;
}

struct jschema_definition *jschema_find_def(const struct jschema *schema, const char *name)
{
	for (size_t i = 0; i < schema->def_count; i++)
		if (strcmp(schema->defs[i].name, name) == 0)
			return &schema->defs[i];
	return NULL;
}

static bool compile_ref(struct compiler *c, struct jschema_node *node, json_t *value,
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
	const struct jschema_definition *def = jschema_find_def(c->schema, name);
	free(name);
	if (!def)
		return load_error(c, location, "$ref %s names no entry in $defs", ref);
	node->ref = def->node;
	return true;
}

typedef bool keyword_compiler(struct compiler *c, struct jschema_node *node, json_t *value,
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
	{"minimum", compile_bound, JSCHEMA_BOUND_MINIMUM},
	{"maximum", compile_bound, JSCHEMA_BOUND_MAXIMUM},
	{"exclusiveMinimum", compile_bound, JSCHEMA_BOUND_EXCLUSIVE_MINIMUM},
	{"exclusiveMaximum", compile_bound, JSCHEMA_BOUND_EXCLUSIVE_MAXIMUM},
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

static bool compile_into(struct compiler *c, struct jschema_node *node, json_t *json,
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
		schema->defs[schema->def_count].node = xcalloc(1, sizeof(struct jschema_node));
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
		const struct jschema_node *node = schema->defs[i].node;
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
	return jschema_find_def(schema, def) != NULL;
}

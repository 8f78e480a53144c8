/*
 * jschema: validates Jansson values against a schema that
 * jschema_compile.c has already turned into a tree, and says what is wrong
 * as a path and a reason. Messages arrive all day and are mostly valid, so
 * the instance path is kept as a chain of stack frames and rendered only for
 * an error that will be reported: a valid value costs no string work at all.
 */
#include "jschema_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Deeper values are reported instead of recursed into: ingest messages are a
 * few levels deep, and the C stack must not be the limit for hostile input. */
#define MAX_DEPTH 64

/* ---- bounded text building (reasons, paths, load errors) ---- */

void jschema_text_init(struct jschema_text *t, char *buf, size_t size)
{
	t->buf = buf;
	t->size = size;
	t->len = 0;
	t->truncated = false;
	buf[0] = '\0';
}

void jschema_text_append(struct jschema_text *t, const char *s, size_t n)
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

void jschema_text_append_str(struct jschema_text *t, const char *s)
{
	jschema_text_append(t, s, strlen(s));
}

/* Instance keys come from the network: keep control bytes out of log lines. */
void jschema_text_append_sanitized(struct jschema_text *t, const char *s)
{
	for (; *s; s++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
		jschema_text_append(t, &c, 1);
	}
}

/* A cut text ends in "..." so nobody mistakes it for the whole. */
void jschema_text_finish(struct jschema_text *t)
{
	if (!t->truncated || t->size < 4)
		return;
	size_t end = t->size - 4;
	/* the "..." must not leave the first bytes of a UTF-8 character before it */
	while (end > 0 && ((unsigned char)t->buf[end] & 0xC0) == 0x80)
		end--;
	memcpy(t->buf + end, "...", 4);
	t->len = end + 3;
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

static void render_segments(struct jschema_text *t, const struct path_segment *segment)
{
	if (!segment)
		return;
	render_segments(t, segment->parent);
	if (segment->key) {
		if (t->len > 0)
			jschema_text_append(t, ".", 1);
		jschema_text_append_sanitized(t, segment->key);
	} else {
		char index[32];
		int n = snprintf(index, sizeof index, "[%zu]", segment->index);
		jschema_text_append(t, index, (size_t)n);
	}
}

static void report(struct validation *v, const struct path_segment *segment, const char *reason)
{
	if (v->count < v->max_errors) {
		struct jschema_error *error = &v->errors[v->count];
		struct jschema_text t;
		jschema_text_init(&t, error->path, sizeof error->path);
		jschema_text_append_str(&t, v->base_path);
		render_segments(&t, segment);
		jschema_text_finish(&t);
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
		return JSCHEMA_TYPE_OBJECT;
	case JSON_ARRAY:
		return JSCHEMA_TYPE_ARRAY;
	case JSON_STRING:
		return JSCHEMA_TYPE_STRING;
	case JSON_INTEGER:
		return JSCHEMA_TYPE_INTEGER | JSCHEMA_TYPE_NUMBER;
	case JSON_REAL:
		return JSCHEMA_TYPE_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE:
		return JSCHEMA_TYPE_BOOLEAN;
	case JSON_NULL:
		return JSCHEMA_TYPE_NULL;
	}
	return 0;
}

static bool validate_node(struct validation *v, const struct jschema_node *node, const json_t *value,
			  const struct path_segment *segment, unsigned depth, bool skip_items);

static bool is_batch_property(const struct validation *v, unsigned depth, const char *key)
{
	return v->batch_property && depth == 0 && strcmp(key, v->batch_property) == 0;
}

static const struct jschema_property *find_property(const struct jschema_node *node, const char *key,
						     size_t key_len)
{
	size_t low = 0, high = node->property_count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		const struct jschema_property *p = node->properties_by_name[mid];
		int cmp = jschema_compare_names(key, key_len, p->name, p->name_len);
		if (cmp == 0)
			return p;
		if (cmp < 0)
			high = mid;
		else
			low = mid + 1;
	}
	return NULL;
}

static void validate_object(struct validation *v, const struct jschema_node *node, const json_t *object,
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
		const struct jschema_property *p = &node->properties[i];
		const json_t *child = json_object_getn(object, p->name, p->name_len);
		if (!child)
			continue;
		known_present++;
		struct path_segment child_segment = {segment, p->name, 0};
		validate_node(v, p->schema, child, &child_segment, depth + 1,
			      is_batch_property(v, depth, p->name));
	}

	/* The common valid case, no extra keys, skips the walk over all keys. */
	if (node->additional_mode == JSCHEMA_ADDITIONAL_ALLOWED || known_present == json_object_size(object))
		return;
	const char *key;
	size_t key_len;
	json_t *child;
	json_object_keylen_foreach(iterable(object), key, key_len, child) {
		if (find_property(node, key, key_len))
			continue;
		struct path_segment child_segment = {segment, key, 0};
		if (node->additional_mode == JSCHEMA_ADDITIONAL_FORBIDDEN)
			report(v, &child_segment, "is not allowed (unknown property)");
		else
			validate_node(v, node->additional, child, &child_segment, depth + 1,
				      is_batch_property(v, depth, key));
	}
}

static void validate_array(struct validation *v, const struct jschema_node *node, const json_t *array,
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

static void validate_string(struct validation *v, const struct jschema_node *node, const json_t *string,
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
static int compare_to_bound(const json_t *number, const struct jschema_numeric_bound *bound)
{
	if (bound->is_integer && json_is_integer(number)) {
		json_int_t x = json_integer_value(number);
		return (x > bound->integer) - (x < bound->integer);
	}
	double x = json_number_value(number);
	return (x > bound->real) - (x < bound->real);
}

static void validate_number(struct validation *v, const struct jschema_node *node, const json_t *number,
			    const struct path_segment *segment)
{
	for (int kind = 0; kind < JSCHEMA_BOUND_COUNT; kind++) {
		const struct jschema_numeric_bound *bound = &node->bounds[kind];
		if (!bound->present)
			continue;
		int cmp = compare_to_bound(number, bound);
		bool violated = (kind == JSCHEMA_BOUND_MINIMUM && cmp < 0)
			|| (kind == JSCHEMA_BOUND_MAXIMUM && cmp > 0)
			|| (kind == JSCHEMA_BOUND_EXCLUSIVE_MINIMUM && cmp <= 0)
			|| (kind == JSCHEMA_BOUND_EXCLUSIVE_MAXIMUM && cmp >= 0);
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
static bool validate_node(struct validation *v, const struct jschema_node *node, const json_t *value,
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
	const struct jschema_node *node = schema->root;
	if (def) {
		const struct jschema_definition *found = jschema_find_def(schema, def);
		if (!found) {
			char reason[JSCHEMA_REASON_MAX];
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

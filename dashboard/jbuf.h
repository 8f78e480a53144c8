/*
 * jbuf: a growable text buffer for JSON replies too large to build as a
 * Jansson tree cheaply (history columns of thousands of numbers). Numbers
 * are written the way api_number + json_dumps(JSON_REAL_PRECISION(15))
 * write them, byte for byte: NaN/inf -> null, whole -> integer, else %.15g;
 * the usual decimals take a fast path that cannot differ from printf.
 */
#ifndef JBUF_H
#define JBUF_H

#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *buf; /* owned; NUL-terminated after jbuf_take */
	size_t len, cap;
};

void jbuf_init(struct jbuf *b, size_t cap);
void jbuf_raw(struct jbuf *b, const char *s, size_t n);
void jbuf_str(struct jbuf *b, const char *s); /* a C string, as is (no escaping) */
void jbuf_json_str(struct jbuf *b, const char *s); /* "s", escaped as json_dumps does */
void jbuf_int(struct jbuf *b, int64_t v);
void jbuf_number(struct jbuf *b, double v);
char *jbuf_take(struct jbuf *b, size_t *len); /* the text; the buffer is reset */

#endif

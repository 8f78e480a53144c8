/*
 * jbuf: JSON text written straight into one buffer. The number formatter
 * is the point: Jansson's trees and json_dumps cost ~100 ns per number in
 * allocations and vfprintf, which dominated a history reply. Output is kept
 * identical to Jansson's (%.15g for non-integers) so replies did not change.
 */
#include "jbuf.h"

#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void jbuf_init(struct jbuf *b, size_t cap)
{
	b->cap = cap < 64 ? 64 : cap;
	b->buf = xmalloc(b->cap);
	b->len = 0;
}

static char *room(struct jbuf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->buf = xreallocarray(b->buf, b->cap, 1);
	}
	return b->buf + b->len;
}

void jbuf_raw(struct jbuf *b, const char *s, size_t n)
{
	memcpy(room(b, n), s, n);
	b->len += n;
}

void jbuf_str(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

void jbuf_json_str(struct jbuf *b, const char *s)
{
	jbuf_raw(b, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		const char *esc = *c == '"' ? "\\\"" : *c == '\\' ? "\\\\" : *c == '\b' ? "\\b" : *c == '\f' ? "\\f"
				: *c == '\n' ? "\\n" : *c == '\r' ? "\\r" : *c == '\t' ? "\\t" : NULL;
		if (esc)
			jbuf_str(b, esc);
		else if (*c < 0x20)
			b->len += (size_t)snprintf(room(b, 8), 8, "\\u%04X", *c);
		else
			jbuf_raw(b, (const char *)c, 1);
	}
	jbuf_raw(b, "\"", 1);
}

/* Digits of v (any int64) at p; returns their count. */
static size_t put_int(char *p, int64_t v)
{
	char tmp[24];
	size_t n = 0, k = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		p[k++] = '-';
	while (n)
		p[k++] = tmp[--n];
	return k;
}

void jbuf_int(struct jbuf *b, int64_t v)
{
	b->len += put_int(room(b, 24), v);
}

/*
 * v = m / 10^k exactly enough that %.15g prints the digits of m with a point
 * k places from the right: if fl(v * 10^k) is an integer m of at most 15
 * digits, v is within half an ulp of m / 10^k (relative 1.2e-16), less than
 * half a unit in the 15th significant digit (at least 5e-16), so printf
 * rounds to exactly those digits. Trailing zeros cannot occur (smallest k).
 */
static int fast_decimal(struct jbuf *b, double v)
{
	static const double p10[] = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
	if (!(fabs(v) >= 1e-4 && fabs(v) < 1e9))
		return -1;
	for (size_t k = 0; k < sizeof p10 / sizeof p10[0]; k++) {
		double x = v * p10[k];
		if (x != floor(x))
			continue;
		if (fabs(x) >= 1e15)
			return -1;
		int64_t m = (int64_t)x;
		if (m % 10 == 0)
			return -1; /* cannot happen for the smallest k; leave it to printf */
		char digits[24], *p = room(b, 32);
		size_t nd = put_int(digits, m < 0 ? -m : m), places = k + 1, at = 0;
		if (m < 0)
			p[at++] = '-';
		if (nd <= places) { /* 0.00ddd */
			p[at++] = '0';
			p[at++] = '.';
			for (size_t z = nd; z < places; z++)
				p[at++] = '0';
			memcpy(p + at, digits, nd);
			at += nd;
		} else {
			memcpy(p + at, digits, nd - places);
			at += nd - places;
			p[at++] = '.';
			memcpy(p + at, digits + nd - places, places);
			at += places;
		}
		b->len += at;
		return 0;
	}
	return -1;
}

void jbuf_number(struct jbuf *b, double v)
{
	if (isnan(v) || isinf(v)) {
		jbuf_raw(b, "null", 4);
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		jbuf_int(b, (int64_t)v);
		return;
	}
	if (fast_decimal(b, v) == 0)
		return;
	/* As Jansson: %.15g; ".0" if it reads as an integer; exponent without '+' or leading zeros. */
	char *p = room(b, 40);
	int n = snprintf(p, 40, "%.15g", v);
	char *e = strchr(p, 'e');
	if (!e && !strchr(p, '.'))
		memcpy(p + n, ".0", 3), n += 2;
	if (e) {
		char *digits = e + 1, *from = digits;
		if (*from == '+')
			from++;
		else if (*from == '-')
			digits++, from++;
		while (*from == '0' && from[1])
			from++;
		memmove(digits, from, strlen(from) + 1);
		n = (int)strlen(p);
	}
	b->len += (size_t)n;
}

char *jbuf_take(struct jbuf *b, size_t *len)
{
	room(b, 0)[0] = '\0';
	char *text = b->buf;
	*len = b->len;
	b->buf = NULL;
	b->len = b->cap = 0;
	return text;
}

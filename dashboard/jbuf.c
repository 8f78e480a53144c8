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

/* Digits of v (any int64) at p; returns their count. Two digits per
 * division: a chart reply is mostly 10-digit timestamps. */
static size_t put_int(char *p, int64_t v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				    "8081828384858687888990919293949596979899";
	char tmp[24], *end = tmp + sizeof tmp, *d = end;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	while (u >= 100) {
		unsigned two = (unsigned)(u % 100);
		u /= 100;
		*--d = pairs[2 * two + 1];
		*--d = pairs[2 * two];
	}
	if (u >= 10) {
		*--d = pairs[2 * u + 1];
		*--d = pairs[2 * u];
	} else {
		*--d = (char)('0' + u);
	}
	size_t k = 0;
	if (v < 0)
		p[k++] = '-';
	memcpy(p + k, d, (size_t)(end - d));
	return k + (size_t)(end - d);
}

void jbuf_int(struct jbuf *b, int64_t v)
{
	b->len += put_int(room(b, 24), v);
}

/*
 * %.15g for 1e-4 <= |v| < 1e15 without printf: |v| = M * 2^(e-53) exactly,
 * so |v| * 10^k = M * 5^k * 2^(k+e-53), an exact 128-bit product shifted,
 * rounded half-to-even as printf rounds the exact binary value. -1 leaves
 * the value to printf (exponent style, or out of the checked range).
 */
static int fixed15(struct jbuf *b, double v)
{
	static const uint64_t pow5[] = {1, 5, 25, 125, 625, 3125, 15625, 78125, 390625, 1953125, 9765625,
		48828125, 244140625, 1220703125, 6103515625, 30517578125, 152587890625, 762939453125,
		3814697265625, 19073486328125};
	const uint64_t lo15 = 100000000000000ULL, hi15 = 1000000000000000ULL; /* 10^14, 10^15 */
	double a = fabs(v);
	if (!(a >= 1e-4 && a < 1e15))
		return -1;
	int e;
	uint64_t mant = (uint64_t)ldexp(frexp(a, &e), 53);
	int x = (int)floor(log10(a)); /* may be one off near a power of ten: checked below */
	unsigned __int128 q = 0, rem = 0, half = 0;
	int shift = 0;
	for (int tries = 0; tries < 3; tries++) {
		int k = 14 - x;
		if (k < 0 || k > 19)
			return -1;
		shift = 53 - k - e; /* |v| * 10^k = mant * 5^k / 2^shift */
		if (shift <= 0 || shift >= 120)
			return -1;
		unsigned __int128 p = (unsigned __int128)mant * pow5[k];
		q = p >> shift;
		rem = p & (((unsigned __int128)1 << shift) - 1);
		half = (unsigned __int128)1 << (shift - 1);
		if (q >= hi15)
			x++;
		else if (q < lo15)
			x--;
		else
			break;
	}
	if (q < lo15 || q >= hi15)
		return -1;
	if (rem > half || (rem == half && (q & 1)))
		q++;
	if (q == hi15) /* rounded up to the next power of ten */
		q = lo15, x++;
	if (x > 14)
		return -1; /* printf switches to the exponent style */
	char digits[16], *p = room(b, 40);
	put_int(digits, (int64_t)q); /* 15 digits */
	size_t at = 0, int_digits = x >= 0 ? (size_t)x + 1 : 0, last = 15;
	while (last > int_digits && digits[last - 1] == '0')
		last--; /* %g drops trailing zeros of the fraction */
	if (v < 0)
		p[at++] = '-';
	if (x >= 0) {
		memcpy(p + at, digits, int_digits);
		at += int_digits;
	} else {
		p[at++] = '0';
	}
	p[at++] = '.';
	if (last == int_digits) { /* no fraction left: Jansson's ".0" */
		p[at++] = '0';
	} else {
		for (int z = -1; z > x; z--)
			p[at++] = '0';
		memcpy(p + at, digits + int_digits, last - int_digits);
		at += last - int_digits;
	}
	b->len += at;
	return 0;
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
	if (fixed15(b, v) == 0)
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

/*
 * test_jbuf: the history reply's number writer gives exactly the text that
 * api_number + json_dumps(JSON_REAL_PRECISION(15)) gave before it: nulls,
 * integers, the exact 15-digit path and everything left to printf, over
 * hand-picked edges, 200,000 pseudo-random values, doubles drawn from random
 * bit patterns, neighbours of powers of ten and of rounding ties.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "jbuf.h"

/* Both ways; fails with the value on the first difference. */
static void same(double v)
{
	struct jbuf b;
	jbuf_init(&b, 16);
	jbuf_number(&b, v);
	size_t len;
	char *mine = jbuf_take(&b, &len);
	json_t *a = json_array();
	json_array_append_new(a, api_number(v));
	char *theirs = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(a);
	size_t n = strlen(theirs) - 2; /* inside [ ] */
	if (len != n || memcmp(mine, theirs + 1, n) != 0)
		fail_msg("%.17g: jbuf '%s', jansson '%.*s'", v, mine, (int)n, theirs + 1);
	free(mine);
	free(theirs);
}

static void test_edges(void **state)
{
	(void)state;
	const double v[] = {0.0, -0.0, NAN, INFINITY, -INFINITY, 1, -1, 0.1, 0.2, 0.3, 1.5, -2.25, 3.14159,
			    99.99, 0.0001, 0.00015, 0.00009999, 1e-5, 123456789.123456, 999999999.5, 1e9 + 0.5,
			    1e15 + 0.5, 9007199254740991.0, 9007199254740992.0, 1e20, -1e20, 1.0 / 3, 2.0 / 3,
			    100.0 / 7, 0.1 + 0.2, 12.345678, 5e-324, 1.7976931348623157e308,
			    999999999999999.9, 99999999999999.99, 0.000099999999999999999, 0.0001000000000000001,
			    123456789012345.6, 0.30000000000000004, 4.35, 0.125, 2.675, 1.0000000000000002,
			    9.999999999999999, 0.99999999999999994};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		same(v[i]);
}

/* Under valgrind (tests/run.sh VALGRIND=1) a tenth of the values: memcheck
 * looks for memory errors, which a few thousand values find as well; the
 * plain and sanitizer runs compare them all. */
static int scaled(int n)
{
	return getenv("FPMON_UNDER_VALGRIND") ? n / 10 : n;
}

static void test_random(void **state)
{
	(void)state;
	srand(42);
	for (int i = 0; i < scaled(200000); i++) {
		double scale = pow(10, rand() % 14 - 6);
		double v = (double)(rand() - RAND_MAX / 2) / (double)(rand() % 1000 + 1) * scale;
		same(v);
		same(round(v * 100) / 100);   /* money-like, percentages */
		same(round(v * 1000) / 1000);
	}
}

/* Any double's bits, in the range the exact path serves and around it. */
static void test_random_bits(void **state)
{
	(void)state;
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < scaled(300000); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		double v;
		uint64_t bits = (x & 0x800FFFFFFFFFFFFFULL) | (uint64_t)(1009 + (x >> 52) % 66) << 52; /* 2^-14 .. 2^51 */
		memcpy(&v, &bits, sizeof v);
		same(v);
	}
}

/* Neighbours (a few ulps) of powers of ten and of 15-digit halfway points. */
static void test_boundaries(void **state)
{
	(void)state;
	for (int p = -5; p <= 16; p++) {
		double t = pow(10, p);
		for (int u = -8; u <= 8; u++) {
			double v = t;
			for (int s = 0; s < abs(u); s++)
				v = nextafter(v, u < 0 ? 0 : INFINITY);
			same(v);
			same(-v);
		}
	}
	srand(7);
	for (int i = 0; i < scaled(20000); i++) { /* d.ddddddddddddd5 x 10^p: ties in decimal */
		long long digits = (long long)rand() * 100000LL + rand() % 100000;
		double v = ((double)(digits % 100000000000000LL) * 10 + 5) * pow(10, rand() % 18 - 18);
		for (int u = -2; u <= 2; u++)
			same(u < 0 ? nextafter(v, 0) : u > 0 ? nextafter(v, INFINITY) : v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random_bits),
		cmocka_unit_test(test_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

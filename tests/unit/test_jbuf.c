/*
 * test_jbuf: the history reply's number writer gives exactly the text that
 * api_number + json_dumps(JSON_REAL_PRECISION(15)) gave before it: nulls,
 * integers, the decimals of the fast path and everything left to printf,
 * over hand-picked edges and 200,000 pseudo-random values.
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
			    100.0 / 7, 0.1 + 0.2, 12.345678, 5e-324, 1.7976931348623157e308};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		same(v[i]);
}

static void test_random(void **state)
{
	(void)state;
	srand(42);
	for (int i = 0; i < 200000; i++) {
		double scale = pow(10, rand() % 14 - 6);
		double v = (double)(rand() - RAND_MAX / 2) / (double)(rand() % 1000 + 1) * scale;
		same(v);
		same(round(v * 100) / 100);   /* money-like, percentages */
		same(round(v * 1000) / 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

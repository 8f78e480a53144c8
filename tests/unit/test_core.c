/*
 * test_core: the small modules every other one stands on: the settings
 * table (bounds, unknown names, file errors with line numbers), Shanghai
 * calendar days, the metric catalog and its RRD layouts, milestone plans.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "catalog.h"
#include "conf.h"
#include "cst.h"
#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void test_conf_table(void **state)
{
	(void)state;
	char err[256];
	conf_defaults();
	assert_int_equal(conf.port, 8080);
	assert_string_equal(conf.sqlite_synchronous, "full");
	assert_int_equal(conf.max_body_bytes, 8 << 20);
	assert_int_equal(conf_set("port", "70000", err, sizeof err), -1);
	assert_string_equal(err, "port: 70000 is outside 0..65535");
	assert_int_equal(conf_set("prot", "80", err, sizeof err), -1);
	assert_string_equal(err, "unknown setting 'prot'");
	assert_int_equal(conf_set("sqlite_synchronous", "off", err, sizeof err), -1);
	assert_int_equal(conf_set("max_body_bytes", "64k", err, sizeof err), 0);
	assert_int_equal(conf.max_body_bytes, 65536);
	assert_int_equal(conf_set("port", "12x", err, sizeof err), -1);
}

static void test_conf_file(void **state)
{
	(void)state;
	char path[] = "/tmp/fpmon-conf-XXXXXX", err[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("# county server\nport = 9090\n\nlisten_address = \"0.0.0.0\"\nrrd_flush_steps = 0\n", f);
	fclose(f);
	conf_defaults();
	assert_int_equal(conf_load_file(path, err, sizeof err), -1);
	assert_non_null(strstr(err, ":5: rrd_flush_steps: 0 is outside 1..288"));
	assert_int_equal(conf.port, 9090);
	assert_string_equal(conf.listen_address, "0.0.0.0");
	unlink(path);
	assert_int_equal(conf_load_file("/nonexistent/fpmon.conf", err, sizeof err), -1);
}

static void test_shanghai_days(void **state)
{
	(void)state;
	/* 2026-11-24T16:00:00Z is midnight in Shanghai. */
	assert_int_equal(cst_day(1795536000) - cst_day(1795535999), 1);
	int64_t day;
	const char *why;
	assert_int_equal(cst_date_parse("2026-11-25", &day, &why), 0);
	assert_int_equal(cst_day_start(day), 1795536000);
	char buf[16];
	cst_date_format(day, buf, sizeof buf);
	assert_string_equal(buf, "2026-11-25");
	assert_int_equal(cst_date_parse("2026-02-29", &day, &why), -1);
	assert_string_equal(why, "is not a real calendar date");
	assert_int_equal(cst_date_parse("2028-02-29", &day, &why), 0);
	assert_int_equal(cst_date_parse("2026-1-5", &day, &why), -1);
	assert_int_equal(cst_date_parse("2026-13-01", &day, &why), -1);
}

static void test_catalog_layouts(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(cat_load(err, sizeof err), 0);
	const struct cat_metric *m = cat_find("incidence_pct");
	assert_non_null(m);
	assert_int_equal(m->rollup, CAT_ROLLUP_WEIGHTED);
	assert_string_equal(cat_metric(m->weight_metric)->key, "population");
	assert_null(cat_find("no_such_metric"));
	const struct cat_layout *v = cat_layout(CAT_VILLAGE), *r = cat_layout(CAT_REGION);
	assert_int_equal(v->n_ds, 23);
	assert_int_equal(cat_layout(CAT_PROJECT)->n_ds, 11);
	assert_int_equal(r->n_ds, 33);
	/* Region files begin with the village data sources in the same order. */
	for (size_t i = 0; i < v->n_ds; i++)
		assert_int_equal(v->metric[i], r->metric[i]);
	assert_int_equal(cat_ds_index(CAT_PROJECT, cat_find("poor_hh")->index), -1);
	assert_int_equal(cat_find("pay_paid_fen")->source, CAT_SRC_PAYMENTS);
	cat_free();
}

static void test_plan_curve(void **state)
{
	(void)state;
	struct plan_point points[] = {{1000, 0}, {2000, 40}, {4000, 100}};
	struct plan p = {.entity_id = 1, .n = 3, .points = points};
	assert_true(plan_pv(&p, 500) == 0);
	assert_true(plan_pv(&p, 1500) == 20);
	assert_true(plan_pv(&p, 3000) == 70);
	assert_true(plan_pv(&p, 9000) == 100);
	assert_true(isnan(plan_pv(NULL, 1000)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_table),
		cmocka_unit_test(test_conf_file),
		cmocka_unit_test(test_shanghai_days),
		cmocka_unit_test(test_catalog_layouts),
		cmocka_unit_test(test_plan_curve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

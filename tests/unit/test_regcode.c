/*
 * test_regcode: the 12-digit division code rules: well-formedness, levels,
 * ancestors, township and village type ranges at their boundaries, the
 * reasons regcode_check gives, and containment as the scope checks use it.
 * Real codes from Jingbian county (610824) and Dongguan (4419, no counties).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "regcode.h"

static void test_wellformed(void **state)
{
	(void)state;
	assert_true(regcode_is_wellformed("610824100201"));
	assert_true(regcode_is_wellformed("000000000000")); /* digits, though no level */
	assert_false(regcode_is_wellformed(NULL));
	assert_false(regcode_is_wellformed(""));
	assert_false(regcode_is_wellformed("61082410020"));   /* 11 */
	assert_false(regcode_is_wellformed("6108241002011")); /* 13 */
	assert_false(regcode_is_wellformed("61082410020x"));
	assert_false(regcode_is_wellformed(" 610824100201"));
	assert_false(regcode_is_wellformed("610824100201 "));
	assert_false(regcode_is_wellformed("+10824100201"));
	assert_false(regcode_is_wellformed("6108241002\xef\xbc\x91")); /* full-width 1 */
}

static void test_level(void **state)
{
	(void)state;
	assert_int_equal(regcode_level("610000000000"), REGCODE_PROVINCE);
	assert_int_equal(regcode_level("610800000000"), REGCODE_PREFECTURE);
	assert_int_equal(regcode_level("610824000000"), REGCODE_COUNTY);
	assert_int_equal(regcode_level("610824100000"), REGCODE_TOWNSHIP);
	assert_int_equal(regcode_level("610824100201"), REGCODE_VILLAGE);
	/* Dongguan: townships directly under the prefecture */
	assert_int_equal(regcode_level("441900003000"), REGCODE_TOWNSHIP);
	assert_int_equal(regcode_level("441900003001"), REGCODE_VILLAGE);
	/* level is from the rightmost non-zero part only */
	assert_int_equal(regcode_level("610824000201"), REGCODE_VILLAGE);
	assert_int_equal(regcode_level("000000000000"), REGCODE_INVALID);
	assert_int_equal(regcode_level("000824100201"), REGCODE_INVALID);
	assert_int_equal(regcode_level("61082410020"), REGCODE_INVALID);
	assert_int_equal(regcode_level(NULL), REGCODE_INVALID);
}

static void test_level_names(void **state)
{
	(void)state;
	assert_string_equal(regcode_level_name(REGCODE_PROVINCE), "province");
	assert_string_equal(regcode_level_name(REGCODE_PREFECTURE), "prefecture");
	assert_string_equal(regcode_level_name(REGCODE_COUNTY), "county");
	assert_string_equal(regcode_level_name(REGCODE_TOWNSHIP), "township");
	assert_string_equal(regcode_level_name(REGCODE_VILLAGE), "village");
	assert_string_equal(regcode_level_name(REGCODE_INVALID), "invalid");
	assert_string_equal(regcode_level_name(REGCODE_ANY), "any");
	assert_string_equal(regcode_level_name((enum regcode_level)42), "invalid");
}

static void test_ancestor(void **state)
{
	(void)state;
	char out[REGCODE_SIZE];
	const char *village = "610824100201";
	assert_int_equal(regcode_ancestor(village, REGCODE_PROVINCE, out), 0);
	assert_string_equal(out, "610000000000");
	assert_int_equal(regcode_ancestor(village, REGCODE_PREFECTURE, out), 0);
	assert_string_equal(out, "610800000000");
	assert_int_equal(regcode_ancestor(village, REGCODE_COUNTY, out), 0);
	assert_string_equal(out, "610824000000");
	assert_int_equal(regcode_ancestor(village, REGCODE_TOWNSHIP, out), 0);
	assert_string_equal(out, "610824100000");
	assert_int_equal(regcode_ancestor(village, REGCODE_VILLAGE, out), 0);
	assert_string_equal(out, village);

	/* own level: itself; below own level: no such ancestor */
	assert_int_equal(regcode_ancestor("610824000000", REGCODE_COUNTY, out), 0);
	assert_string_equal(out, "610824000000");
	memcpy(out, "untouched!!", 12);
	assert_int_equal(regcode_ancestor("610824000000", REGCODE_TOWNSHIP, out), -1);
	assert_string_equal(out, "untouched!!");
	assert_int_equal(regcode_ancestor("6108241002", REGCODE_COUNTY, out), -1);
	assert_int_equal(regcode_ancestor(village, REGCODE_INVALID, out), -1);
	assert_int_equal(regcode_ancestor(village, REGCODE_ANY, out), -1);

	/* Dongguan township: the containing "county" is the prefecture itself */
	assert_int_equal(regcode_ancestor("441900003001", REGCODE_COUNTY, out), 0);
	assert_string_equal(out, "441900000000");
}

static void test_parent(void **state)
{
	(void)state;
	char out[REGCODE_SIZE];
	assert_int_equal(regcode_parent("610824100201", out), 0);
	assert_string_equal(out, "610824100000");
	assert_int_equal(regcode_parent("610824100000", out), 0);
	assert_string_equal(out, "610824000000");
	assert_int_equal(regcode_parent("610824000000", out), 0);
	assert_string_equal(out, "610800000000");
	assert_int_equal(regcode_parent("610800000000", out), 0);
	assert_string_equal(out, "610000000000");
	assert_int_equal(regcode_parent("610000000000", out), -1);
	assert_int_equal(regcode_parent("000000000000", out), -1);
	assert_int_equal(regcode_parent("abc", out), -1);
	assert_int_equal(regcode_parent("441900003000", out), 0);
	assert_string_equal(out, "441900000000");
}

static void test_parts(void **state)
{
	(void)state;
	assert_int_equal(regcode_township_part("610824100201"), 100);
	assert_int_equal(regcode_village_part("610824100201"), 201);
	assert_int_equal(regcode_township_part("610824007000"), 7);
	assert_int_equal(regcode_village_part("610824000000"), 0);
	assert_int_equal(regcode_township_part("61082410020"), -1);
	assert_int_equal(regcode_village_part(NULL), -1);
}

static void test_township_kind_boundaries(void **state)
{
	(void)state;
	assert_int_equal(regcode_township_kind(-1), REGCODE_TOWNSHIP_KIND_INVALID);
	assert_int_equal(regcode_township_kind(0), REGCODE_TOWNSHIP_KIND_INVALID);
	assert_int_equal(regcode_township_kind(1), REGCODE_TOWNSHIP_KIND_SUBDISTRICT);
	assert_int_equal(regcode_township_kind(99), REGCODE_TOWNSHIP_KIND_SUBDISTRICT);
	assert_int_equal(regcode_township_kind(100), REGCODE_TOWNSHIP_KIND_TOWN);
	assert_int_equal(regcode_township_kind(199), REGCODE_TOWNSHIP_KIND_TOWN);
	assert_int_equal(regcode_township_kind(200), REGCODE_TOWNSHIP_KIND_TOWNSHIP);
	assert_int_equal(regcode_township_kind(399), REGCODE_TOWNSHIP_KIND_TOWNSHIP);
	assert_int_equal(regcode_township_kind(400), REGCODE_TOWNSHIP_KIND_OTHER);
	assert_int_equal(regcode_township_kind(599), REGCODE_TOWNSHIP_KIND_OTHER);
	assert_int_equal(regcode_township_kind(600), REGCODE_TOWNSHIP_KIND_INVALID);
	assert_int_equal(regcode_township_kind(999), REGCODE_TOWNSHIP_KIND_INVALID);
	assert_int_equal(regcode_township_kind(1000), REGCODE_TOWNSHIP_KIND_INVALID);
	assert_int_equal(regcode_township_kind(regcode_township_part("bad")), REGCODE_TOWNSHIP_KIND_INVALID);
}

static void test_village_kind_boundaries(void **state)
{
	(void)state;
	assert_int_equal(regcode_village_kind(-1), REGCODE_VILLAGE_KIND_INVALID);
	assert_int_equal(regcode_village_kind(0), REGCODE_VILLAGE_KIND_INVALID);
	assert_int_equal(regcode_village_kind(1), REGCODE_VILLAGE_KIND_NEIGHBOURHOOD);
	assert_int_equal(regcode_village_kind(199), REGCODE_VILLAGE_KIND_NEIGHBOURHOOD);
	assert_int_equal(regcode_village_kind(200), REGCODE_VILLAGE_KIND_VILLAGE_COMMITTEE);
	assert_int_equal(regcode_village_kind(399), REGCODE_VILLAGE_KIND_VILLAGE_COMMITTEE);
	assert_int_equal(regcode_village_kind(400), REGCODE_VILLAGE_KIND_OTHER);
	assert_int_equal(regcode_village_kind(599), REGCODE_VILLAGE_KIND_OTHER);
	assert_int_equal(regcode_village_kind(600), REGCODE_VILLAGE_KIND_INVALID);
	assert_int_equal(regcode_village_kind(999), REGCODE_VILLAGE_KIND_INVALID);
}

/* regcode_check must fail with exactly this reason. */
static void expect_reason(const char *code, enum regcode_level expected, const char *want)
{
	const char *reason = NULL;
	assert_int_equal(regcode_check(code, expected, &reason), -1);
	assert_non_null(reason);
	assert_string_equal(reason, want);
}

static void test_check_accepts(void **state)
{
	(void)state;
	const char *reason = "unchanged";
	assert_int_equal(regcode_check("610000000000", REGCODE_PROVINCE, &reason), 0);
	assert_int_equal(regcode_check("610800000000", REGCODE_PREFECTURE, &reason), 0);
	assert_int_equal(regcode_check("610824000000", REGCODE_COUNTY, &reason), 0);
	assert_int_equal(regcode_check("610824100000", REGCODE_TOWNSHIP, &reason), 0);
	assert_int_equal(regcode_check("610824001000", REGCODE_TOWNSHIP, &reason), 0);
	assert_int_equal(regcode_check("610824599000", REGCODE_TOWNSHIP, &reason), 0);
	assert_int_equal(regcode_check("610824100201", REGCODE_VILLAGE, &reason), 0);
	assert_int_equal(regcode_check("610824100001", REGCODE_VILLAGE, &reason), 0);
	assert_int_equal(regcode_check("610824100599", REGCODE_VILLAGE, &reason), 0);
	assert_int_equal(regcode_check("610824100201", REGCODE_ANY, &reason), 0);
	assert_int_equal(regcode_check("610824000000", REGCODE_ANY, &reason), 0);
	assert_int_equal(regcode_check("441900003000", REGCODE_TOWNSHIP, &reason), 0);
	assert_int_equal(regcode_check("441900003001", REGCODE_VILLAGE, &reason), 0);
	assert_string_equal(reason, "unchanged"); /* success leaves the reason alone */
	assert_int_equal(regcode_check("610824100201", REGCODE_VILLAGE, NULL), 0);
	assert_int_equal(regcode_check("61082410020", REGCODE_VILLAGE, NULL), -1);
}

static void test_check_reasons(void **state)
{
	(void)state;
	expect_reason(NULL, REGCODE_ANY, "must be 12 digits, not missing");
	expect_reason("", REGCODE_ANY, "must be 12 digits, not 0 characters");
	expect_reason("61082410020", REGCODE_VILLAGE, "must be 12 digits, not 11 characters");
	expect_reason("6108241002011", REGCODE_VILLAGE, "must be 12 digits, not more than 12 characters");
	expect_reason("61082410020x", REGCODE_VILLAGE, "must be 12 digits, character 12 is not a digit");
	expect_reason("000000000000", REGCODE_ANY, "province part 00 is not a province");
	expect_reason("610824000201", REGCODE_VILLAGE, "township part 000 is not a township");
	expect_reason("610824000201", REGCODE_ANY, "township part 000 is not a township");
	expect_reason("610824734000", REGCODE_TOWNSHIP, "township part 734 is outside 001-599");
	expect_reason("610824600201", REGCODE_VILLAGE, "township part 600 is outside 001-599");
	expect_reason("610824100734", REGCODE_VILLAGE, "village part 734 is outside 001-599");
	expect_reason("610824100600", REGCODE_ANY, "village part 600 is outside 001-599");
	expect_reason("610824100000", REGCODE_VILLAGE, "village part 000 is not a village");
	expect_reason("610824000000", REGCODE_TOWNSHIP, "township part 000 is not a township");
	expect_reason("610800000000", REGCODE_COUNTY, "county part 00 is not a county");
	expect_reason("610000000000", REGCODE_PREFECTURE, "prefecture part 00 is not a prefecture");
	expect_reason("610824100201", REGCODE_TOWNSHIP, "is a village code, expected a township code");
	expect_reason("610824100201", REGCODE_COUNTY, "is a village code, expected a county code");
	expect_reason("610824000000", REGCODE_PROVINCE, "is a county code, expected a province code");
	expect_reason("610824100201", REGCODE_INVALID, "expected level 0 is not a level");
}

static void test_is_within(void **state)
{
	(void)state;
	assert_true(regcode_is_within("610824100201", "610824000000"));
	assert_true(regcode_is_within("610824100201", "610824100000"));
	assert_true(regcode_is_within("610824100201", "610800000000"));
	assert_true(regcode_is_within("610824100201", "610000000000"));
	assert_true(regcode_is_within("610824100201", "610824100201")); /* inclusive */
	assert_true(regcode_is_within("610824000000", "610824000000"));
	assert_true(regcode_is_within("610824100000", "610824000000"));
	assert_false(regcode_is_within("610824000000", "610824100000")); /* county not in its township */
	assert_false(regcode_is_within("610824100202", "610824100201")); /* sibling village */
	assert_false(regcode_is_within("610824101201", "610824100000")); /* other township */
	assert_false(regcode_is_within("610825100201", "610824000000")); /* other county */
	assert_false(regcode_is_within("620824100201", "610000000000"));
	assert_true(regcode_is_within("441900003001", "441900000000")); /* Dongguan */
	assert_false(regcode_is_within("61082410020", "610824000000"));
	assert_false(regcode_is_within("610824100201", "61082400000"));
	assert_false(regcode_is_within("000000000001", "000000000000"));
	assert_false(regcode_is_within(NULL, "610824000000"));
	assert_false(regcode_is_within("610824100201", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wellformed),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_ancestor),
		cmocka_unit_test(test_parent),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_township_kind_boundaries),
		cmocka_unit_test(test_village_kind_boundaries),
		cmocka_unit_test(test_check_accepts),
		cmocka_unit_test(test_check_reasons),
		cmocka_unit_test(test_is_within),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * regcode: parsing and checking of 12-digit division codes, PP CC DD TTT VVV.
 * Everything works on the caller's string in place; the only state is the
 * per-thread buffer that holds regcode_check's reason, so that the reason can
 * name the offending digits without allocating.
 */
#include "regcode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Where each part starts and how long the significant prefix is per level. */
enum {
	PROVINCE_AT = 0,
	PREFECTURE_AT = 2,
	COUNTY_AT = 4,
	TOWNSHIP_AT = 6,
	VILLAGE_AT = 9,
};

static const unsigned prefix_len_of_level[] = {
	[REGCODE_PROVINCE] = 2,
	[REGCODE_PREFECTURE] = 4,
	[REGCODE_COUNTY] = 6,
	[REGCODE_TOWNSHIP] = 9,
	[REGCODE_VILLAGE] = 12,
};

static _Thread_local char reason_buffer[96];

static bool is_ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_zero(const char *digits, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (digits[i] != '0')
			return false;
	return true;
}

/* The value of `count` digits starting at `digits`; caller checked they are digits. */
static int digits_value(const char *digits, unsigned count)
{
	int value = 0;
	for (unsigned i = 0; i < count; i++)
		value = value * 10 + (digits[i] - '0');
	return value;
}

bool regcode_is_wellformed(const char *code)
{
	if (!code)
		return false;
	for (unsigned i = 0; i < REGCODE_LEN; i++)
		if (!is_ascii_digit(code[i]))
			return false; /* also stops at the NUL of a short string */
	return code[REGCODE_LEN] == '\0';
}

/* Level from trailing zeros only; the code is known to be well-formed. */
static enum regcode_level level_of_wellformed(const char *code)
{
	if (!all_zero(code + VILLAGE_AT, 3))
		return REGCODE_VILLAGE;
	if (!all_zero(code + TOWNSHIP_AT, 3))
		return REGCODE_TOWNSHIP;
	if (!all_zero(code + COUNTY_AT, 2))
		return REGCODE_COUNTY;
	if (!all_zero(code + PREFECTURE_AT, 2))
		return REGCODE_PREFECTURE;
	if (!all_zero(code + PROVINCE_AT, 2))
		return REGCODE_PROVINCE;
	return REGCODE_INVALID;
}

enum regcode_level regcode_level(const char *code)
{
	if (!regcode_is_wellformed(code))
		return REGCODE_INVALID;
	if (all_zero(code + PROVINCE_AT, 2))
		return REGCODE_INVALID;
	return level_of_wellformed(code);
}

const char *regcode_level_name(enum regcode_level level)
{
	switch (level) {
	case REGCODE_PROVINCE: return "province";
	case REGCODE_PREFECTURE: return "prefecture";
	case REGCODE_COUNTY: return "county";
	case REGCODE_TOWNSHIP: return "township";
	case REGCODE_VILLAGE: return "village";
	case REGCODE_ANY: return "any";
	case REGCODE_INVALID: break;
	}
	return "invalid";
}

static bool is_tree_level(enum regcode_level level)
{
	return level >= REGCODE_PROVINCE && level <= REGCODE_VILLAGE;
}

int regcode_ancestor(const char *code, enum regcode_level level, char out[REGCODE_SIZE])
{
	enum regcode_level own = regcode_level(code);
	if (own == REGCODE_INVALID || !is_tree_level(level) || level > own)
		return -1;
	unsigned keep = prefix_len_of_level[level];
	memcpy(out, code, keep);
	memset(out + keep, '0', REGCODE_LEN - keep);
	out[REGCODE_LEN] = '\0';
	return 0;
}

int regcode_parent(const char *code, char out[REGCODE_SIZE])
{
	enum regcode_level own = regcode_level(code);
	if (own == REGCODE_INVALID || own == REGCODE_PROVINCE)
		return -1;
	return regcode_ancestor(code, (enum regcode_level)(own - 1), out);
}

int regcode_township_part(const char *code)
{
	if (!regcode_is_wellformed(code))
		return -1;
	return digits_value(code + TOWNSHIP_AT, 3);
}

int regcode_village_part(const char *code)
{
	if (!regcode_is_wellformed(code))
		return -1;
	return digits_value(code + VILLAGE_AT, 3);
}

enum regcode_township_kind regcode_township_kind(int township_part)
{
	if (township_part >= 1 && township_part <= 99)
		return REGCODE_TOWNSHIP_KIND_SUBDISTRICT;
	if (township_part >= 100 && township_part <= 199)
		return REGCODE_TOWNSHIP_KIND_TOWN;
	if (township_part >= 200 && township_part <= 399)
		return REGCODE_TOWNSHIP_KIND_TOWNSHIP;
	if (township_part >= 400 && township_part <= 599)
		return REGCODE_TOWNSHIP_KIND_OTHER;
	return REGCODE_TOWNSHIP_KIND_INVALID;
}

enum regcode_village_kind regcode_village_kind(int village_part)
{
	if (village_part >= 1 && village_part <= 199)
		return REGCODE_VILLAGE_KIND_NEIGHBOURHOOD;
	if (village_part >= 200 && village_part <= 399)
		return REGCODE_VILLAGE_KIND_VILLAGE_COMMITTEE;
	if (village_part >= 400 && village_part <= 599)
		return REGCODE_VILLAGE_KIND_OTHER;
	return REGCODE_VILLAGE_KIND_INVALID;
}

/* Always returns -1 so that callers can `return fail(...)`. */
static int fail(const char **reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(const char **reason, const char *fmt, ...)
{
	if (reason) {
		va_list args;
		va_start(args, fmt);
		vsnprintf(reason_buffer, sizeof reason_buffer, fmt, args);
		va_end(args);
		*reason = reason_buffer;
	}
	return -1;
}

/* Says why `code` is not 12 digits: its length, or where the first non-digit is. */
static int fail_not_wellformed(const char *code, const char **reason)
{
	if (!code)
		return fail(reason, "must be 12 digits, not missing");
	/* strnlen: the string may be anything, do not walk far past 12 */
	size_t length = strnlen(code, REGCODE_LEN + 1);
	if (length != REGCODE_LEN)
		return fail(reason, "must be 12 digits, not %s%zu characters",
			    length > REGCODE_LEN ? "more than " : "",
			    length > REGCODE_LEN ? (size_t)REGCODE_LEN : length);
	for (unsigned i = 0; i < REGCODE_LEN; i++)
		if (!is_ascii_digit(code[i]))
			return fail(reason, "must be 12 digits, character %u is not a digit", i + 1);
	return fail(reason, "must be 12 digits");
}

static int check_township_part(const char *code, const char **reason)
{
	int township_part = digits_value(code + TOWNSHIP_AT, 3);
	if (township_part == 0)
		return fail(reason, "township part 000 is not a township");
	if (regcode_township_kind(township_part) == REGCODE_TOWNSHIP_KIND_INVALID)
		return fail(reason, "township part %03d is outside 001-599", township_part);
	return 0;
}

static int check_village_part(const char *code, const char **reason)
{
	int village_part = digits_value(code + VILLAGE_AT, 3);
	if (village_part == 0)
		return fail(reason, "village part 000 is not a village");
	if (regcode_village_kind(village_part) == REGCODE_VILLAGE_KIND_INVALID)
		return fail(reason, "village part %03d is outside 001-599", village_part);
	return 0;
}

/*
 * Parts are checked left to right so that the reason names the first wrong
 * part; a code whose digits are fine but whose level differs from the one
 * expected gets the level mismatch last. The county part is only required
 * when a county is expected: townships and villages directly under a
 * prefecture (Dongguan, Zhongshan, Danzhou, Jiayuguan) have county part 00.
 */
int regcode_check(const char *code, enum regcode_level expected, const char **reason)
{
	if (!regcode_is_wellformed(code))
		return fail_not_wellformed(code, reason);
	if (all_zero(code + PROVINCE_AT, 2))
		return fail(reason, "province part 00 is not a province");
	if (expected != REGCODE_ANY && !is_tree_level(expected))
		return fail(reason, "expected level %d is not a level", (int)expected);

	enum regcode_level actual = level_of_wellformed(code);
	if (expected == REGCODE_PREFECTURE && all_zero(code + PREFECTURE_AT, 2))
		return fail(reason, "prefecture part 00 is not a prefecture");
	if (expected == REGCODE_COUNTY && all_zero(code + COUNTY_AT, 2))
		return fail(reason, "county part 00 is not a county");
	if (actual >= REGCODE_TOWNSHIP || expected == REGCODE_TOWNSHIP || expected == REGCODE_VILLAGE)
		if (check_township_part(code, reason) != 0)
			return -1;
	if (actual == REGCODE_VILLAGE || expected == REGCODE_VILLAGE)
		if (check_village_part(code, reason) != 0)
			return -1;
	if (expected != REGCODE_ANY && actual != expected)
		return fail(reason, "is a %s code, expected a %s code",
			    regcode_level_name(actual), regcode_level_name(expected));
	return 0;
}

bool regcode_is_within(const char *code, const char *region_code)
{
	enum regcode_level region_level = regcode_level(region_code);
	if (region_level == REGCODE_INVALID || !regcode_is_wellformed(code))
		return false;
	return memcmp(code, region_code, prefix_len_of_level[region_level]) == 0;
}

/*
 * regcode: the 12-digit statistical division codes (统计用区划代码) that name
 * every node of the region tree, PP CC DD TTT VVV: well-formedness, level,
 * ancestors, the township and village type ranges, validation with a reason
 * a person can act on, and containment for scope checks. Pure functions on
 * caller-owned strings: no allocation, safe to call per ingested sample.
 */
#ifndef REGCODE_H
#define REGCODE_H

#include <stdbool.h>

#define REGCODE_LEN 12                  /* digits in a code */
#define REGCODE_SIZE (REGCODE_LEN + 1)  /* buffer size including the NUL */

/* Ordered from the top of the tree down, so "a < b" means "a is above b". */
enum regcode_level {
	REGCODE_INVALID = 0,  /* not 12 digits, or province part 00 */
	REGCODE_PROVINCE,     /* PP0000000000 */
	REGCODE_PREFECTURE,   /* PPCC00000000 */
	REGCODE_COUNTY,       /* PPCCDD000000 */
	REGCODE_TOWNSHIP,     /* PPCCDDTTT000 */
	REGCODE_VILLAGE,      /* PPCCDDTTTVVV */
	REGCODE_ANY,          /* only as regcode_check's `expected`: no level required */
};

/* What the TTT digits say about a township-level unit. */
enum regcode_township_kind {
	REGCODE_TOWNSHIP_KIND_INVALID = 0, /* 000 or 600-999 */
	REGCODE_TOWNSHIP_KIND_SUBDISTRICT, /* 001-099 街道 */
	REGCODE_TOWNSHIP_KIND_TOWN,        /* 100-199 镇 */
	REGCODE_TOWNSHIP_KIND_TOWNSHIP,    /* 200-399 乡 (incl. ethnic townships) */
	REGCODE_TOWNSHIP_KIND_OTHER,       /* 400-599 other township-level units */
};

/* What the VVV digits say about a village-level unit. */
enum regcode_village_kind {
	REGCODE_VILLAGE_KIND_INVALID = 0,       /* 000 or 600-999 */
	REGCODE_VILLAGE_KIND_NEIGHBOURHOOD,     /* 001-199 居委会 */
	REGCODE_VILLAGE_KIND_VILLAGE_COMMITTEE, /* 200-399 村委会 */
	REGCODE_VILLAGE_KIND_OTHER,             /* 400-599 other village-level units */
};

/* Exactly 12 ASCII digits and nothing after them. NULL is not well-formed. */
bool regcode_is_wellformed(const char *code);

/*
 * The level of a code, from its rightmost non-zero part: a township keeps that
 * level even when its county part is 00 (prefectures without counties, such
 * as Dongguan 4419). REGCODE_INVALID when not well-formed or province 00.
 * Says nothing about the type ranges: use regcode_check for that.
 */
enum regcode_level regcode_level(const char *code);

/* "province" ... "village"; "invalid" for REGCODE_INVALID, "any" for REGCODE_ANY. */
const char *regcode_level_name(enum regcode_level level);

/*
 * The code of the unit containing `code` at `level` (its own level included:
 * the county of a county is itself): the first 2/4/6/9 digits, zero-padded.
 * Where a level is skipped (a township directly under Dongguan), the county
 * "ancestor" is the prefecture code, which is the real containing unit.
 * Returns 0, or -1 when the code is invalid or `level` is below the code's.
 */
int regcode_ancestor(const char *code, enum regcode_level level, char out[REGCODE_SIZE]);

/* The ancestor one level up; -1 for a province or an invalid code. */
int regcode_parent(const char *code, char out[REGCODE_SIZE]);

/* The TTT / VVV digits as a number 0-999; -1 when the code is not well-formed. */
int regcode_township_part(const char *code);
int regcode_village_part(const char *code);

/* Classify a TTT / VVV number (any int; out of 0-999 is INVALID). */
enum regcode_township_kind regcode_township_kind(int township_part);
enum regcode_village_kind regcode_village_kind(int village_part);

/*
 * Validate a code for use at level `expected` (REGCODE_ANY: any level).
 * Returns 0, or -1 with *reason (when reason is not NULL) set to one English
 * sentence fragment naming what is wrong, e.g. "must be 12 digits, not 11
 * characters", "township part 000 is not a township", "village part 734 is
 * outside 001-599", "is a township code, expected a village code". The
 * reason lives in a per-thread buffer: valid until this thread's next call.
 */
int regcode_check(const char *code, enum regcode_level expected, const char **reason);

/*
 * Whether `code` lies in the region `region_code` (inclusive: a region
 * contains itself). A county 610824000000 contains 610824100201; a village
 * contains only itself. False when either code is invalid.
 */
bool regcode_is_within(const char *code, const char *region_code);

#endif

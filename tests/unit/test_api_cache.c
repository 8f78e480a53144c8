/*
 * test_api_cache: the reply cache of the history API: a hit fills the hole
 * with the request's own bytes, a changed generation is a miss and drops
 * the entry, an older reply never replaces a newer one, an entry past its
 * time is neither answered nor kept, oversized replies are not kept, and
 * the byte budget holds however many keys pass through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_cache.h"

static const char body[] = "{\"entity\":\"X\",\"start\":1,\"end\":2,\"ts\":[3]}";

#define NOW 1795600000

static void put_body_until(const char *key, uint64_t generation, int64_t now, int64_t expires)
{
	const char *hole = strstr(body, "\"start\"");
	size_t at = (size_t)(hole - body), end = (size_t)(strstr(body, ",\"ts\"") - body);
	api_cache_put(key, generation, now, expires, body, strlen(body), at, end);
}

static void put_body(const char *key, uint64_t generation)
{
	put_body_until(key, generation, NOW, NOW + 300);
}

static int teardown(void **state)
{
	(void)state;
	api_cache_clear();
	return 0;
}

static void test_hit_fills_the_hole(void **state)
{
	(void)state;
	put_body("k1", 7);
	char *out = NULL;
	size_t len = 0;
	const char fill[] = "\"start\":100,\"end\":200";
	assert_int_equal(api_cache_get("k1", 7, NOW, fill, strlen(fill), &out, &len), 0);
	assert_string_equal(out, "{\"entity\":\"X\",\"start\":100,\"end\":200,\"ts\":[3]}");
	assert_int_equal(len, strlen(out));
	free(out);
	struct api_cache_stats st;
	api_cache_stats(&st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.entries, 1);
}

static void test_changed_generation_misses_and_drops(void **state)
{
	(void)state;
	put_body("k2", 7);
	char *out = NULL;
	size_t len;
	assert_int_equal(api_cache_get("k2", 8, NOW, "x", 1, &out, &len), -1);
	assert_null(out);
	assert_int_equal(api_cache_get("k2", 7, NOW, "x", 1, &out, &len), -1); /* dropped, not kept for the old one */
	put_body("k2", 9);
	put_body("k2", 8); /* built before the one held: ignored */
	assert_int_equal(api_cache_get("k2", 9, NOW, "x", 1, &out, &len), 0);
	free(out);
	assert_int_equal(api_cache_get("nope", 9, NOW, "x", 1, &out, &len), -1);
}

static void test_bounds(void **state)
{
	(void)state;
	size_t big = API_CACHE_ENTRY_MAX + 1;
	char *huge = calloc(1, big);
	api_cache_put("huge", 1, NOW, NOW + 300, huge, big, 0, 0);
	char *out = NULL;
	size_t len;
	assert_int_equal(api_cache_get("huge", 1, NOW, "", 0, &out, &len), -1);
	/* Many large replies: entries and bytes stay within the table and the budget. */
	size_t size = API_CACHE_ENTRY_MAX;
	char *reply = malloc(size);
	memset(reply, 'a', size);
	for (int i = 0; i < 2000; i++) {
		char key[32];
		snprintf(key, sizeof key, "key-%d", i);
		api_cache_put(key, 1, NOW, NOW + 300, reply, size, 0, 1);
		struct api_cache_stats st;
		api_cache_stats(&st);
		assert_true(st.entries <= API_CACHE_SLOTS);
		assert_true(st.bytes <= 16u * 1024 * 1024);
	}
	/* the newest is always kept */
	assert_int_equal(api_cache_get("key-1999", 1, NOW, "b", 1, &out, &len), 0);
	assert_int_equal(len, size);
	assert_int_equal(out[0], 'b');
	free(out);
	free(reply);
	free(huge);
}

static void test_entries_past_their_time(void **state)
{
	(void)state;
	char *out = NULL;
	size_t len;
	put_body_until("old", 1, NOW, NOW + 10);
	assert_int_equal(api_cache_get("old", 1, NOW + 9, "x", 1, &out, &len), 0);
	free(out);
	assert_int_equal(api_cache_get("old", 1, NOW + 10, "x", 1, &out, &len), -1);
	put_body_until("late", 1, NOW + 20, NOW + 20); /* already past: not kept */
	struct api_cache_stats st;
	api_cache_stats(&st);
	assert_int_equal(st.entries, 0);
	/* entries nobody asks for again are swept by later puts */
	for (int i = 0; i < 40; i++) {
		char key[16];
		snprintf(key, sizeof key, "s%d", i);
		put_body_until(key, 1, NOW, NOW + 10);
	}
	for (int i = 0; i < API_CACHE_SLOTS; i++)
		put_body_until("fresh", 1, NOW + 100, NOW + 400);
	api_cache_stats(&st);
	assert_int_equal(st.entries, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_hit_fills_the_hole, teardown),
		cmocka_unit_test_teardown(test_changed_generation_misses_and_drops, teardown),
		cmocka_unit_test_teardown(test_bounds, teardown),
		cmocka_unit_test_teardown(test_entries_past_their_time, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * api_cache: a direct-mapped table of replies (a key's hash picks its slot;
 * a newer key takes the slot over), with a byte budget enforced by
 * dropping entries round-robin, and entries whose time has passed dropped
 * a few slots per put. No locks: only the service thread calls in.
 */
#include "api_cache.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define BYTES_MAX   (16u * 1024 * 1024)
#define SWEEP_SLOTS 4 /* expired entries looked for per put */

struct entry {
	char *key;
	uint64_t generation;
	int64_t expires;
	char *body;
	size_t len, hole_at, hole_end;
};

static struct entry slots[API_CACHE_SLOTS];
static size_t bytes, entries, sweep;
static uint64_t hits, misses;

static size_t slot_of(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % API_CACHE_SLOTS);
}

static void drop(struct entry *e)
{
	if (!e->key)
		return;
	bytes -= e->len + strlen(e->key);
	entries--;
	free(e->key);
	free(e->body);
	memset(e, 0, sizeof *e);
}

int api_cache_get(const char *key, uint64_t generation, int64_t now, const char *fill, size_t fill_len,
		  char **body, size_t *len)
{
	struct entry *e = &slots[slot_of(key)];
	if (!e->key || strcmp(e->key, key) != 0 || e->generation != generation || now >= e->expires) {
		if (e->key && strcmp(e->key, key) == 0)
			drop(e); /* stale: the data changed, or its time is past */
		misses++;
		return -1;
	}
	size_t tail = e->len - e->hole_end;
	char *out = xmalloc(e->hole_at + fill_len + tail + 1);
	memcpy(out, e->body, e->hole_at);
	memcpy(out + e->hole_at, fill, fill_len);
	memcpy(out + e->hole_at + fill_len, e->body + e->hole_end, tail);
	*len = e->hole_at + fill_len + tail;
	out[*len] = '\0';
	*body = out;
	hits++;
	return 0;
}

void api_cache_put(const char *key, uint64_t generation, int64_t now, int64_t expires, const char *body,
		   size_t len, size_t hole_at, size_t hole_end)
{
	for (int i = 0; i < SWEEP_SLOTS; i++) {
		sweep = (sweep + 1) % API_CACHE_SLOTS;
		if (slots[sweep].key && now >= slots[sweep].expires)
			drop(&slots[sweep]);
	}
	if (len > API_CACHE_ENTRY_MAX || hole_at > hole_end || hole_end > len || now >= expires)
		return;
	struct entry *e = &slots[slot_of(key)];
	if (e->key && strcmp(e->key, key) == 0 && e->generation > generation)
		return; /* a reply built after this one is already here */
	drop(e);
	e->key = xstrdup(key);
	e->generation = generation;
	e->expires = expires;
	e->body = xmalloc(len ? len : 1);
	memcpy(e->body, body, len);
	e->len = len;
	e->hole_at = hole_at;
	e->hole_end = hole_end;
	bytes += len + strlen(key);
	entries++;
	while (bytes > BYTES_MAX) {
		sweep = (sweep + 1) % API_CACHE_SLOTS;
		if (&slots[sweep] != e)
			drop(&slots[sweep]);
	}
}

void api_cache_clear(void)
{
	for (size_t i = 0; i < API_CACHE_SLOTS; i++)
		drop(&slots[i]);
}

void api_cache_stats(struct api_cache_stats *out)
{
	out->hits = hits;
	out->misses = misses;
	out->entries = entries;
	out->bytes = bytes;
}

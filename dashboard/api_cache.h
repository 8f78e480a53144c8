/*
 * api_cache: replies the JSON API built on a reader thread, kept on the
 * service thread so the same chart asked again (wall screens, several
 * people, a page reload) is answered without a thread hop or a file read.
 * An entry is valid while its generation (rrdw_generation) is unchanged;
 * a hit fills the entry's hole with the request's own bytes. Service
 * thread only; bounded in entries and bytes.
 */
#ifndef API_CACHE_H
#define API_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define API_CACHE_SLOTS     256
#define API_CACHE_ENTRY_MAX (256 * 1024) /* larger replies are not kept */

/* 0 with a new body (malloc'd, hole filled with fill) when key is held at
 * this generation and not expired at now; -1 otherwise (a stale or expired
 * entry is dropped). */
int api_cache_get(const char *key, uint64_t generation, int64_t now, const char *fill, size_t fill_len,
		  char **body, size_t *len);
/* Keeps a copy of body under key until `expires` (Unix seconds: no request
 * can ask for it after that); bytes [hole_at, hole_end) are a request's own.
 * Each call also drops a few expired entries, so memory follows use. */
void api_cache_put(const char *key, uint64_t generation, int64_t now, int64_t expires, const char *body,
		   size_t len, size_t hole_at, size_t hole_end);
void api_cache_clear(void);

struct api_cache_stats {
	uint64_t hits, misses;
	size_t entries, bytes;
};
void api_cache_stats(struct api_cache_stats *out);

#endif

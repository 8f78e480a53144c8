/*
 * xalloc: allocation policy in one place. Small fixed-size structures die on
 * out-of-memory (nothing sensible can follow): the x* functions. Buffers
 * whose size comes from the network are capped by their owners and then
 * allocated with xtry*, which return NULL so the request is refused (503)
 * instead of the server dying; in a fault build they are a fault point.
 */
#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Input-sized: NULL on failure or overflow, the caller refuses the request. */
void *xtrymalloc(size_t size);
void *xtryreallocarray(void *ptr, size_t nmemb, size_t size);

/*
 * Jansson allocates through malloc/free wrappers that count failures per
 * thread: its parser reports some failed allocations as syntax errors, and
 * json_array_append_new and friends drop them silently, so callers compare
 * the count before and after. Install once at start (idempotent).
 */
void xalloc_json_install(void);
unsigned long xalloc_json_failures(void);
/* Tests and the fault build: non-zero fails the Jansson allocation asked for. */
extern int (*xalloc_json_fault)(void);

#endif

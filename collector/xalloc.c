/*
 * xalloc: wrappers that abort with a message on allocation failure and check
 * multiplication overflow (SIZE_MAX / nmemb), as tmux's xmalloc.c does; and
 * the xtry* variants for input-sized buffers, which report failure instead.
 */
#include "xalloc.h"

#include "fault.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_oom(size_t nmemb, size_t size)
{
	fprintf(stderr, "fatal: out of memory allocating %zu x %zu bytes\n", nmemb, size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		die_oom(1, size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		die_oom(nmemb, size);
	return p;
}

void *xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		die_oom(nmemb, size);
	size_t bytes = nmemb * size;
	void *p = realloc(ptr, bytes ? bytes : 1);
	if (!p)
		die_oom(nmemb, size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *xtrymalloc(size_t size)
{
	if (FAULT_HIT(FAULT_ALLOC))
		return NULL;
	return malloc(size ? size : 1);
}

void *xtryreallocarray(void *ptr, size_t nmemb, size_t size)
{
	if ((size && nmemb > SIZE_MAX / size) || FAULT_HIT(FAULT_ALLOC))
		return NULL;
	size_t bytes = nmemb * size;
	return realloc(ptr, bytes ? bytes : 1);
}

int (*xalloc_json_fault)(void);
static _Thread_local unsigned long json_failures;

static void *json_alloc(size_t size)
{
	void *p = xalloc_json_fault && xalloc_json_fault() ? NULL : malloc(size);
	if (!p)
		json_failures++;
	return p;
}

static void install(void) { json_set_alloc_funcs(json_alloc, free); }

void xalloc_json_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install);
}

unsigned long xalloc_json_failures(void) { return json_failures; }

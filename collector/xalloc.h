/*
 * xalloc: allocation policy in one place. Small fixed-size structures die on
 * out-of-memory (nothing sensible can follow); buffers whose size comes from
 * the network are capped by their owners before they ever reach these.
 */
#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif

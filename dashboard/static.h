/*
 * static: the files of web/, loaded into memory at start (and again on
 * SIGHUP) with their MIME type, a strong ETag (content hash) and a gzip copy
 * where that is smaller. Requests are answered from this table by exact
 * path, so no request can reach a file outside web/ and the service thread
 * never reads the disk to serve a page.
 */
#ifndef STATIC_H
#define STATIC_H

#include <stddef.h>

struct static_file {
	char *path;               /* "/index.html" */
	const char *mime;
	unsigned char *data, *gz; /* gz NULL when compression does not help */
	size_t len, gz_len;
	char etag[24];            /* "\"<16 hex digits>\"" */
	int immutable;            /* under /vendor/: versioned, cache for a year */
};

/* Load every regular file under dir; returns the number of files or -1. */
long static_load(const char *dir, char *err, size_t errlen);
/* Exact lookup; "/" and "/x/" mean their index.html. NULL if absent. */
const struct static_file *static_find(const char *path);
/* SIGHUP: read web/ again on a thread, then wake the service thread... */
void static_reload_async(void (*wake)(void *));
/* ...which adopts the new table here (service thread only). */
void static_adopt_reloaded(void);
void static_free(void);

#endif

/*
 * routes: the GET side of the HTTP server: health, Prometheus metrics and the
 * read-only files of web/. Each handler either sets a reply, or says the path
 * is not its own.
 */
#ifndef ROUTES_H
#define ROUTES_H

#include "httpreply.h"

#include <libwebsockets.h>

#define ROUTES_NOT_MINE 1

/* 0 handled, ROUTES_NOT_MINE, -1 hang up. Static files: always handled (404 too). */
int routes_api(struct lws *wsi, struct http_reply *reply, const char *path);
int routes_static(struct lws *wsi, struct http_reply *reply, const char *path);

#endif

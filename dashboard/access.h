/*
 * access: who a request comes from, on the service thread and from memory
 * only: the session cookie, a bearer token, or a display token in the page
 * address (?token=), checked against the credential cache (auth.h); the
 * client's address (X-Forwarded-For only from a trusted proxy); and the
 * CSRF rule for requests that change state.
 */
#ifndef ACCESS_H
#define ACCESS_H

#include "auth.h"

#include <libwebsockets.h>

#define ACCESS_COOKIE ACCESS_COOKIE_NAME

/* 0 and *p filled when the request carries a live credential, else -1. */
int access_principal(struct lws *wsi, struct auth_principal *p);
/* The client's address for logs and throttling. */
void access_peer(struct lws *wsi, char *buf, size_t cap);
/* State-changing requests: a cookie session must echo its CSRF token in X-CSRF-Token. */
int access_csrf_ok(struct lws *wsi, const struct auth_principal *p);
/* The request arrived over TLS, directly or through a trusted proxy. */
int access_is_https(struct lws *wsi);

#endif

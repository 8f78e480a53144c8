/*
 * access: credential extraction. Order: Authorization: Bearer, then the
 * session cookie, then ?token= (display screens open a URL and cannot set
 * headers). A cookie session is CSRF-checked on every state-changing
 * request; bearer and URL tokens are not sent by browsers on their own, so
 * they cannot be forged cross-site. The forwarded address is believed only
 * from addresses listed in trusted_proxies.
 */
#include "access.h"

#include "conf.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int copy_secret(char *secret, size_t cap, const char *value)
{
	size_t n = strlen(value);
	if (n >= cap)
		return -1; /* longer than any of our secrets: not one */
	memcpy(secret, value, n + 1);
	return 0;
}

static int secret_from_request(struct lws *wsi, char *secret, size_t cap)
{
	char buf[256];
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) < (int)sizeof buf &&
	    lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
	    strncasecmp(buf, "Bearer ", 7) == 0) {
		return copy_secret(secret, cap, buf + 7);
	}
	size_t max = cap;
	if (lws_http_cookie_get(wsi, ACCESS_COOKIE, secret, &max) == 0)
		return 0;
	const char *v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf);
	return v ? copy_secret(secret, cap, v) : -1;
}

int access_principal(struct lws *wsi, struct auth_principal *p)
{
	char secret[128];
	if (secret_from_request(wsi, secret, sizeof secret) < 0)
		return -1;
	return auth_lookup(secret, (int64_t)time(NULL), p);
}

static int is_trusted_proxy(const char *addr)
{
	size_t n = strlen(addr);
	for (const char *p = conf.trusted_proxies; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if (len && len == n && strncmp(p, addr, n) == 0)
			return 1;
		p += len;
	}
	return 0;
}

void access_peer(struct lws *wsi, char *buf, size_t cap)
{
	char direct[64] = "?", fwd[256];
	lws_get_peer_simple(wsi, direct, sizeof direct);
	if (is_trusted_proxy(direct) && lws_hdr_copy(wsi, fwd, sizeof fwd, WSI_TOKEN_X_FORWARDED_FOR) > 0) {
		/* The last hop is the one our proxy added: earlier ones are the client's word. */
		const char *last = strrchr(fwd, ',');
		last = last ? last + 1 : fwd;
		while (*last == ' ')
			last++;
		snprintf(buf, cap, "%.*s", (int)strcspn(last, " \r\n"), last);
		return;
	}
	snprintf(buf, cap, "%s", direct);
}

int access_csrf_ok(struct lws *wsi, const struct auth_principal *p)
{
	if (!p->session)
		return 1;
	char got[64] = "";
	if (lws_hdr_custom_copy(wsi, got, sizeof got, "x-csrf-token:", 13) <= 0)
		return 0;
	return strlen(got) == strlen(p->csrf) && CRYPTO_memcmp(got, p->csrf, strlen(got)) == 0;
}

int access_is_https(struct lws *wsi)
{
	if (lws_is_ssl(wsi))
		return 1;
	char direct[64] = "?", proto[16];
	lws_get_peer_simple(wsi, direct, sizeof direct);
	return is_trusted_proxy(direct) && lws_hdr_custom_copy(wsi, proto, sizeof proto, "x-forwarded-proto:", 18) > 0 &&
	       strcasecmp(proto, "https") == 0;
}

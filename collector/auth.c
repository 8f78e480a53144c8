/*
 * auth: password hashing, the credential cache and login throttling. The
 * cache is a small array (sessions and screens number in the hundreds)
 * replaced wholesale under a mutex on reload; lookups compare SHA-256
 * digests in constant time. Throttling keeps failure counts per address
 * and per login name in fixed tables: 5 failures lock for 15 minutes.
 */
#include "auth.h"

#include "db.h"
#include "ingest.h"
#include "log.h"
#include "regcode.h"
#include "xalloc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SCRYPT_N 32768
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_MAXMEM (64u << 20)
#define THROTTLE_SLOTS 256
#define THROTTLE_FAILS 5
#define THROTTLE_LOCK_S 900

struct cached {
	unsigned char hash[32];
	struct auth_principal p;
	int64_t expires;           /* 0 = never */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached *cache;
static size_t n_cache;
static int64_t cache_version = -1;

const char *auth_role_name(enum auth_role role)
{
	static const char *const names[] = {"none", "viewer", "operator", "admin"};
	return names[role];
}

enum auth_role auth_role_parse(const char *name)
{
	for (int r = AUTH_VIEWER; r <= AUTH_ADMIN; r++)
		if (name && strcmp(name, auth_role_name((enum auth_role)r)) == 0)
			return (enum auth_role)r;
	return AUTH_NONE;
}

int auth_allows(const struct auth_principal *p, enum auth_role need)
{
	return p && p->role >= need;
}

int auth_in_scope(const struct auth_principal *p, const char *code)
{
	return !p->scope[0] || (code && regcode_is_within(code, p->scope));
}

/* ---- passwords ---- */

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(const char *in, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = in[2 * i + k];
			unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 99;
			if (d > 15)
				return -1;
			v = v * 16 + d;
		}
		out[i] = (unsigned char)v;
	}
	return in[2 * n] == '\0' || in[2 * n] == '$' ? 0 : -1;
}

static int scrypt(const char *password, const unsigned char *salt, uint64_t n, uint64_t r, uint64_t p,
		  unsigned char out[32])
{
	return EVP_PBE_scrypt(password, strlen(password), salt, 16, n, r, p, SCRYPT_MAXMEM, out, 32) == 1 ? 0 : -1;
}

int auth_password_hash(const char *password, char *out, size_t cap)
{
	unsigned char salt[16], key[32];
	char salt_hex[33], key_hex[65];
	if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt ||
	    scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, key) < 0)
		return -1;
	hex(salt, 16, salt_hex);
	hex(key, 32, key_hex);
	int n = snprintf(out, cap, "scrypt$%d$%d$%d$%s$%s", SCRYPT_N, SCRYPT_R, SCRYPT_P, salt_hex, key_hex);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int auth_password_verify(const char *password, const char *stored)
{
	unsigned long long n, r, p;
	int used = 0;
	if (sscanf(stored, "scrypt$%llu$%llu$%llu$%n", &n, &r, &p, &used) != 3 || !used ||
	    n > (1u << 20) || r > 32 || p > 16)
		return -1;
	unsigned char salt[16], want[32], got[32];
	const char *salt_hex = stored + used, *dollar = strchr(salt_hex, '$');
	if (!dollar || unhex(salt_hex, salt, 16) < 0 || unhex(dollar + 1, want, 32) < 0 ||
	    scrypt(password, salt, n, r, p, got) < 0)
		return -1;
	return CRYPTO_memcmp(got, want, 32) == 0 ? 0 : -1;
}

/* ---- credential cache ---- */

int auth_reload_if_changed(sqlite3 *db)
{
	int64_t version = db_meta_get(db, "auth_version", 0);
	pthread_mutex_lock(&cache_lock);
	int same = version == cache_version;
	pthread_mutex_unlock(&cache_lock);
	if (same)
		return 0;
	sqlite3_stmt *st = db_prepare(db,
		"SELECT c.id, c.kind, c.secret_hash, coalesce(c.user_id, 0), c.role, c.scope, coalesce(c.csrf, ''),"
		" coalesce(c.expires, 0), coalesce(a.name, 'display:' || coalesce(c.name, c.id))"
		" FROM credential c LEFT JOIN account a ON a.id = c.user_id"
		" WHERE c.revoked IS NULL AND (c.user_id IS NULL OR a.disabled IS NULL)");
	struct cached *fresh = NULL;
	size_t n = 0, cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 2) != 32)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			fresh = xreallocarray(fresh, cap, sizeof *fresh);
		}
		struct cached *c = &fresh[n++];
		memset(c, 0, sizeof *c);
		memcpy(c->hash, sqlite3_column_blob(st, 2), 32);
		memcpy(c->p.hash, c->hash, 32);
		c->p.credential_id = sqlite3_column_int64(st, 0);
		c->p.session = strcmp((const char *)sqlite3_column_text(st, 1), "session") == 0;
		c->p.user_id = sqlite3_column_int64(st, 3);
		c->p.role = auth_role_parse((const char *)sqlite3_column_text(st, 4));
		snprintf(c->p.scope, sizeof c->p.scope, "%s", (const char *)sqlite3_column_text(st, 5));
		snprintf(c->p.csrf, sizeof c->p.csrf, "%s", (const char *)sqlite3_column_text(st, 6));
		c->expires = sqlite3_column_int64(st, 7);
		snprintf(c->p.actor, sizeof c->p.actor, "%s", (const char *)sqlite3_column_text(st, 8));
		if (!c->p.session)
			c->p.role = AUTH_VIEWER; /* display tokens only ever read */
	}
	sqlite3_finalize(st);
	pthread_mutex_lock(&cache_lock);
	free(cache);
	cache = fresh;
	n_cache = n;
	cache_version = version;
	pthread_mutex_unlock(&cache_lock);
	return 1;
}

int auth_lookup_hash(const unsigned char hash[32], int64_t now, struct auth_principal *p)
{
	int found = -1;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < n_cache; i++) {
		if (CRYPTO_memcmp(cache[i].hash, hash, 32) != 0)
			continue;
		if (!cache[i].expires || cache[i].expires > now) {
			*p = cache[i].p;
			found = 0;
		}
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

int auth_lookup(const char *secret, int64_t now, struct auth_principal *p)
{
	if (!secret || strlen(secret) != AUTH_SECRET_LEN || strncmp(secret, "fpm_", 4) != 0)
		return -1;
	unsigned char hash[32];
	ingest_token_hash(secret, hash);
	return auth_lookup_hash(hash, now, p);
}

int auth_bump(sqlite3 *db)
{
	return db_exec(db, "UPDATE meta SET value = value + 1 WHERE key = 'auth_version'");
}

static int insert_credential(sqlite3 *db, const char *kind, const unsigned char hash[32], int64_t user_id,
			     const char *name, const char *role, const char *scope, const char *csrf,
			     int64_t now, int64_t expires)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO credential(kind, secret_hash, user_id, name, role, scope, csrf, created, expires)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
	if (user_id)
		sqlite3_bind_int64(st, 3, user_id);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, csrf, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	if (expires)
		sqlite3_bind_int64(st, 9, expires);
	else
		sqlite3_bind_null(st, 9);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int auth_session_create(sqlite3 *db, int64_t user_id, int64_t now, char secret[AUTH_SECRET_LEN + 1],
			struct auth_principal *p)
{
	char csrf[AUTH_SECRET_LEN + 1];
	unsigned char hash[32];
	sqlite3_stmt *st = db_prepare(db, "SELECT role, scope, name FROM account WHERE id = ?1 AND disabled IS NULL");
	sqlite3_bind_int64(st, 1, user_id);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW && ingest_token_generate(secret, AUTH_SECRET_LEN + 1) == 0 &&
	    ingest_token_generate(csrf, sizeof csrf) == 0) {
		ingest_token_hash(secret, hash);
		const char *role = (const char *)sqlite3_column_text(st, 0), *scope = (const char *)sqlite3_column_text(st, 1);
		memset(p, 0, sizeof *p);
		p->user_id = user_id;
		p->role = auth_role_parse(role);
		p->session = 1;
		memcpy(p->hash, hash, 32);
		snprintf(p->scope, sizeof p->scope, "%s", scope);
		snprintf(p->csrf, sizeof p->csrf, "%s", csrf + 4);
		snprintf(p->actor, sizeof p->actor, "%s", (const char *)sqlite3_column_text(st, 2));
		rc = insert_credential(db, "session", hash, user_id, NULL, role, scope, p->csrf, now, now + AUTH_SESSION_S);
		p->credential_id = sqlite3_last_insert_rowid(db);
	}
	sqlite3_finalize(st);
	if (rc == 0)
		rc = auth_bump(db);
	if (rc == 0)
		auth_reload_if_changed(db);
	return rc;
}

int auth_display_create(sqlite3 *db, const char *name, const char *scope, int64_t now,
			char secret[AUTH_SECRET_LEN + 1])
{
	unsigned char hash[32];
	if (ingest_token_generate(secret, AUTH_SECRET_LEN + 1) < 0)
		return -1;
	ingest_token_hash(secret, hash);
	if (insert_credential(db, "display", hash, 0, name, "viewer", scope, NULL, now, 0) < 0 || auth_bump(db) < 0)
		return -1;
	auth_reload_if_changed(db);
	return 0;
}

int auth_revoke(sqlite3 *db, int64_t credential_id, int64_t now)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE credential SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL");
	sqlite3_bind_int64(st, 1, credential_id);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1 ? 0 : -1;
	sqlite3_finalize(st);
	if (rc == 0 && auth_bump(db) == 0)
		auth_reload_if_changed(db);
	return rc;
}

int auth_login(sqlite3 *db, const char *name, const char *password, int64_t *user_id)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, pw_hash, disabled FROM account WHERE name = ?1");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*user_id = sqlite3_column_int64(st, 0);
		rc = auth_password_verify(password, (const char *)sqlite3_column_text(st, 1));
		if (rc == 0 && sqlite3_column_type(st, 2) != SQLITE_NULL)
			rc = -2;
	} else {
		/* Spend the same time as a real check: no timing oracle for valid names. */
		auth_password_verify(password, "scrypt$32768$8$1$00000000000000000000000000000000$"
					       "0000000000000000000000000000000000000000000000000000000000000000");
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- throttling ---- */

struct throttle {
	char key[96];
	unsigned fails;
	int64_t until;
};

static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct throttle throttles[THROTTLE_SLOTS];

static struct throttle *throttle_slot(const char *key)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *c = key; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	struct throttle *t = &throttles[h % THROTTLE_SLOTS];
	if (strcmp(t->key, key) != 0) { /* a collision evicts the older entry: bounded memory */
		memset(t, 0, sizeof *t);
		snprintf(t->key, sizeof t->key, "%s", key);
	}
	return t;
}

int64_t auth_login_wait(const char *peer, const char *name, int64_t now)
{
	char k1[96], k2[96];
	snprintf(k1, sizeof k1, "peer:%s", peer);
	snprintf(k2, sizeof k2, "name:%s", name);
	pthread_mutex_lock(&throttle_lock);
	int64_t wait = 0;
	const char *keys[] = {k1, k2};
	for (int i = 0; i < 2; i++) {
		struct throttle *t = throttle_slot(keys[i]);
		if (t->until > now && t->until - now > wait)
			wait = t->until - now;
	}
	pthread_mutex_unlock(&throttle_lock);
	return wait;
}

void auth_login_result(const char *peer, const char *name, int ok, int64_t now)
{
	char k1[96], k2[96];
	snprintf(k1, sizeof k1, "peer:%s", peer);
	snprintf(k2, sizeof k2, "name:%s", name);
	const char *keys[] = {k1, k2};
	pthread_mutex_lock(&throttle_lock);
	for (int i = 0; i < 2; i++) {
		struct throttle *t = throttle_slot(keys[i]);
		if (ok) {
			t->fails = 0;
			t->until = 0;
		} else if (++t->fails >= THROTTLE_FAILS) {
			t->until = now + THROTTLE_LOCK_S;
			t->fails = 0;
		}
	}
	pthread_mutex_unlock(&throttle_lock);
}

/* ---- audit ---- */

void auth_audit(sqlite3 *db, const char *actor, const char *action, const char *target,
		const char *detail, const char *peer, int64_t now)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO audit(ts, actor, action, target, detail, peer) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, target ? target : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, peer ? peer : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error_rl("audit: cannot record '%s' by %s: %s", action, actor, sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

void auth_free(void)
{
	pthread_mutex_lock(&cache_lock);
	free(cache);
	cache = NULL;
	n_cache = 0;
	cache_version = -1;
	pthread_mutex_unlock(&cache_lock);
}

/*
 * auth: who is asking. Passwords are stored as scrypt hashes (OpenSSL);
 * login sessions and display tokens are random secrets of which only the
 * SHA-256 is stored. Live credentials are cached in memory so the lws
 * service thread can check a request or a WebSocket upgrade without touching
 * SQLite; the cache reloads when meta.auth_version moves (fpmctl or the API
 * changed something). Login attempts are rate-limited per address and name.
 */
#ifndef AUTH_H
#define AUTH_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum auth_role { AUTH_NONE, AUTH_VIEWER, AUTH_OPERATOR, AUTH_ADMIN };

#define AUTH_SECRET_LEN 47   /* "fpm_" + 43 base64url characters */
#define AUTH_SESSION_S  (12 * 3600)
#define ACCESS_COOKIE_NAME "fpm_session"

struct auth_principal {
	int64_t credential_id;
	int64_t user_id;          /* 0 for display tokens */
	enum auth_role role;
	char scope[13];           /* division-code prefix, "" = everything */
	char actor[96];           /* for the audit log: user name or display:<name> */
	char csrf[48];            /* sessions: the X-CSRF-Token they must send */
	int session;              /* 1 session (cookie), 0 display token */
	unsigned char hash[32];   /* of the secret, to recheck a long-lived connection */
};

const char *auth_role_name(enum auth_role role);
enum auth_role auth_role_parse(const char *name);
/* At least the role and inside the scope ("" scope sees all). */
int auth_allows(const struct auth_principal *p, enum auth_role need);
int auth_in_scope(const struct auth_principal *p, const char *code);

/* scrypt: "scrypt$N$r$p$salt$hash" into out (>= 160 bytes). */
int auth_password_hash(const char *password, char *out, size_t cap);
int auth_password_verify(const char *password, const char *stored);

/* Credential cache. */
int auth_reload_if_changed(sqlite3 *db);    /* any thread with its own connection */
int auth_lookup(const char *secret, int64_t now, struct auth_principal *p);
int auth_lookup_hash(const unsigned char hash[32], int64_t now, struct auth_principal *p);

/* Create a session for a user (after the password matched); fills secret and csrf. */
int auth_session_create(sqlite3 *db, int64_t user_id, int64_t now, char secret[AUTH_SECRET_LEN + 1],
			struct auth_principal *p);
int auth_display_create(sqlite3 *db, const char *name, const char *scope, int64_t now,
			char secret[AUTH_SECRET_LEN + 1]);
int auth_revoke(sqlite3 *db, int64_t credential_id, int64_t now);
int auth_bump(sqlite3 *db);                 /* after any change to accounts or credentials */

/* Login: find the account and check the password. 0 ok, -1 wrong, -2 disabled. */
int auth_login(sqlite3 *db, const char *name, const char *password, int64_t *user_id);
/* Rate limit: 0 allowed, else seconds to wait. Per client address and per name. */
int64_t auth_login_wait(const char *peer, const char *name, int64_t now);
void auth_login_result(const char *peer, const char *name, int ok, int64_t now);

void auth_audit(sqlite3 *db, const char *actor, const char *action, const char *target,
		const char *detail, const char *peer, int64_t now);
void auth_free(void);

#endif

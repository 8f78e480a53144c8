/*
 * api_auth: login and logout, "who am I", and the administrator's work:
 * accounts, display tokens for wall screens, ingest tokens for data sources,
 * and the audit log. Runs on a reader thread (scrypt takes ~0.1 s; never on
 * the service thread). Every change is written to the audit log with who
 * did it and from where; an admin can only hand out scopes inside their own.
 */
#include "api.h"

#include "auth.h"
#include "db.h"
#include "ingest.h"
#include "regcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *body_json(struct api_job *job)
{
	json_error_t err;
	json_t *doc = job->body ? json_loadb(job->body, job->body_len, JSON_REJECT_DUPLICATES, &err) : NULL;
	if (!json_is_object(doc)) {
		json_decref(doc);
		api_error(job, 400, "(body)", "expected a JSON object");
		return NULL;
	}
	return doc;
}

/* Whether the caller's scope covers another scope ("" is everything). */
static int covers(const struct api_job *job, const char *scope)
{
	return !job->who.scope[0] || (scope[0] && regcode_is_within(scope, job->who.scope));
}

/* A scope given to others must lie inside the giver's. */
static int scope_ok(struct api_job *job, const char *scope)
{
	const char *why;
	if (scope[0] && regcode_check(scope, REGCODE_ANY, &why) < 0) {
		api_error(job, 400, "scope", why);
		return 0;
	}
	if (!covers(job, scope)) {
		api_error(job, 403, "scope", "is wider than your own scope");
		return 0;
	}
	return 1;
}

static void audit(struct api_job *job, sqlite3 *db, const char *action, const char *target, const char *detail)
{
	auth_audit(db, job->who.actor[0] ? job->who.actor : "anonymous", action, target, detail, job->peer, job->now);
}

int api_login(struct api_job *job, sqlite3 *db)
{
	json_t *doc = body_json(job);
	if (!doc)
		return job->status;
	const char *name = json_string_value(json_object_get(doc, "name"));
	const char *password = json_string_value(json_object_get(doc, "password"));
	if (!name || !password || strlen(name) > 64 || strlen(password) > 256) {
		json_decref(doc);
		return api_error(job, 400, !name ? "name" : "password", "is required (a string)");
	}
	int64_t wait = auth_login_wait(job->peer, name, job->now);
	if (wait > 0) {
		json_decref(doc);
		json_t *o = json_pack("{s:s, s:s, s:I}", "error", "too many attempts",
				      "reason", "wait before trying again", "retry_after", (json_int_t)wait);
		return api_reply_json(job, 429, o);
	}
	int64_t user_id = 0;
	int rc = auth_login(db, name, password, &user_id);
	auth_login_result(job->peer, name, rc == 0, job->now);
	if (rc < 0) {
		auth_audit(db, name, "login.failed", "", rc == -2 ? "account disabled" : "", job->peer, job->now);
		json_decref(doc);
		return api_error(job, 401, NULL, "wrong name or password, or the account is disabled");
	}
	char secret[AUTH_SECRET_LEN + 1];
	struct auth_principal p;
	if (auth_session_create(db, user_id, job->now, secret, &p) < 0) {
		json_decref(doc);
		return api_error(job, 503, NULL, "cannot create a session; retry");
	}
	auth_audit(db, p.actor, "login", "", "", job->peer, job->now);
	snprintf(job->set_cookie, sizeof job->set_cookie, ACCESS_COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
		 secret, AUTH_SESSION_S, job->https ? "; Secure" : "");
	json_decref(doc);
	return api_reply_json(job, 200, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", p.actor,
		"role", auth_role_name(p.role), "scope", p.scope, "csrf", p.csrf,
		"expires", (json_int_t)(job->now + AUTH_SESSION_S)));
}

int api_logout(struct api_job *job, sqlite3 *db)
{
	if (job->who.session)
		auth_revoke(db, job->who.credential_id, job->now);
	audit(job, db, "logout", "", "");
	snprintf(job->set_cookie, sizeof job->set_cookie, ACCESS_COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	return api_reply_json(job, 200, json_pack("{s:b}", "ok", 1));
}

int api_me(struct api_job *job, sqlite3 *db)
{
	(void)db;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", job->who.actor,
		"role", auth_role_name(job->who.role), "scope", job->who.scope,
		"kind", job->who.session ? "session" : "display");
	if (job->who.session) /* the page needs it for changes; it is useless without the HttpOnly cookie */
		json_object_set_new(o, "csrf", json_string(job->who.csrf));
	return api_reply_json(job, 200, o);
}

/* ---- accounts ---- */

int api_admin_users(struct api_job *job, sqlite3 *db)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT name, full_name, role, scope, created, disabled FROM account ORDER BY name");
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *scope = (const char *)sqlite3_column_text(st, 3);
		if (!covers(job, scope))
			continue;
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}",
			"name", (const char *)sqlite3_column_text(st, 0), "full_name", (const char *)sqlite3_column_text(st, 1),
			"role", (const char *)sqlite3_column_text(st, 2), "scope", scope,
			"created", (json_int_t)sqlite3_column_int64(st, 4), "disabled", sqlite3_column_type(st, 5) != SQLITE_NULL));
	}
	sqlite3_finalize(st);
	return api_reply_json(job, 200, json_pack("{s:o}", "users", list));
}

static int name_ok(struct api_job *job, const char *field, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			n = 0;
	}
	if (n == 0 || n > 64) {
		api_error(job, 400, field, "must be 1-64 characters of A-Z a-z 0-9 . _ -");
		return 0;
	}
	return 1;
}

int api_admin_user_create(struct api_job *job, sqlite3 *db)
{
	json_t *doc = body_json(job);
	if (!doc)
		return job->status;
	const char *name = json_string_value(json_object_get(doc, "name"));
	const char *full = json_string_value(json_object_get(doc, "full_name"));
	const char *role = json_string_value(json_object_get(doc, "role"));
	const char *scope = json_string_value(json_object_get(doc, "scope"));
	const char *password = json_string_value(json_object_get(doc, "password"));
	char hash[200];
	int status = 0;
	if (!name_ok(job, "name", name))
		status = job->status;
	else if (auth_role_parse(role) == AUTH_NONE)
		status = api_error(job, 400, "role", "must be viewer, operator or admin");
	else if (!scope_ok(job, scope ? scope : ""))
		status = job->status;
	else if (!password || strlen(password) < 10 || strlen(password) > 256)
		status = api_error(job, 400, "password", "must be 10 to 256 characters");
	else if (auth_password_hash(password, hash, sizeof hash) < 0)
		status = api_error(job, 503, NULL, "cannot hash the password");
	if (status) {
		json_decref(doc);
		return status;
	}
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO account(name, full_name, role, scope, pw_hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, full ? full : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, scope ? scope : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, job->now);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(doc);
		return rc == SQLITE_CONSTRAINT ? api_error(job, 409, "name", "is already taken")
					       : api_error(job, 503, NULL, "cannot store the account; retry");
	}
	auth_bump(db);
	char detail[96];
	snprintf(detail, sizeof detail, "role=%s scope=%s", role, scope ? scope : "");
	audit(job, db, "user.create", name, detail);
	json_decref(doc);
	return api_reply_json(job, 201, json_pack("{s:s, s:s, s:s}", "name", name, "role", role, "scope", scope ? scope : ""));
}

/* POST /api/v1/admin/users/<name>/{disable,enable,password} */
int api_admin_user_change(struct api_job *job, sqlite3 *db)
{
	char name[72], verb[16];
	const char *rest = job->path + strlen("/api/v1/admin/users/");
	const char *slash = strchr(rest, '/');
	if (!slash || (size_t)(slash - rest) >= sizeof name || strlen(slash + 1) >= sizeof verb)
		return api_error(job, 404, NULL, "use /api/v1/admin/users/<name>/{disable,enable,password}");
	snprintf(name, sizeof name, "%.*s", (int)(slash - rest), rest);
	snprintf(verb, sizeof verb, "%s", slash + 1);
	sqlite3_stmt *st = db_prepare(db, "SELECT scope FROM account WHERE name = ?1");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	char scope[16] = "";
	if (found)
		snprintf(scope, sizeof scope, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!found || (!covers(job, scope)))
		return api_error(job, 404, "name", "no such account in your scope");
	char hash[200] = "";
	if (strcmp(verb, "password") == 0) {
		json_t *doc = body_json(job);
		if (!doc)
			return job->status;
		const char *password = json_string_value(json_object_get(doc, "password"));
		int bad = !password || strlen(password) < 10 || strlen(password) > 256 || auth_password_hash(password, hash, sizeof hash) < 0;
		json_decref(doc);
		if (bad)
			return api_error(job, 400, "password", "must be 10 to 256 characters");
		st = db_prepare(db, "UPDATE account SET pw_hash = ?2 WHERE name = ?1");
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	} else if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
		st = db_prepare(db, verb[0] == 'd' ? "UPDATE account SET disabled = ?2 WHERE name = ?1"
						   : "UPDATE account SET disabled = NULL WHERE name = ?1 AND ?2 IS NOT NULL");
		sqlite3_bind_int64(st, 2, job->now);
	} else {
		return api_error(job, 404, NULL, "use disable, enable or password");
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return api_error(job, 503, NULL, "cannot change the account; retry");
	/* A disabled account's sessions end at once; a new password ends them too. */
	if (verb[0] != 'e') {
		st = db_prepare(db, "UPDATE credential SET revoked = ?2 WHERE revoked IS NULL AND user_id = (SELECT id FROM account WHERE name = ?1)");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, job->now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	auth_bump(db);
	char action[32];
	snprintf(action, sizeof action, "user.%s", verb);
	audit(job, db, action, name, "");
	return api_reply_json(job, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- tokens: display screens and ingest sources ---- */

int api_admin_tokens(struct api_job *job, sqlite3 *db)
{
	json_t *list = json_array();
	sqlite3_stmt *st = db_prepare(db,
		"SELECT 'display', id, coalesce(name, ''), scope, '', created, revoked FROM credential WHERE kind = 'display'"
		" UNION ALL SELECT 'ingest', id, name, scope, kinds, created, revoked FROM ingest_token ORDER BY 1, 3");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *scope = (const char *)sqlite3_column_text(st, 3);
		if (!covers(job, scope))
			continue;
		json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:b}",
			"kind", (const char *)sqlite3_column_text(st, 0), "id", (json_int_t)sqlite3_column_int64(st, 1),
			"name", (const char *)sqlite3_column_text(st, 2), "scope", scope,
			"kinds", (const char *)sqlite3_column_text(st, 4), "created", (json_int_t)sqlite3_column_int64(st, 5),
			"revoked", sqlite3_column_type(st, 6) != SQLITE_NULL));
	}
	sqlite3_finalize(st);
	return api_reply_json(job, 200, json_pack("{s:o}", "tokens", list));
}

int api_admin_token_create(struct api_job *job, sqlite3 *db)
{
	json_t *doc = body_json(job);
	if (!doc)
		return job->status;
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *name = json_string_value(json_object_get(doc, "name"));
	const char *scope = json_string_value(json_object_get(doc, "scope"));
	const char *kinds = json_string_value(json_object_get(doc, "kinds"));
	scope = scope ? scope : "";
	int display = kind && strcmp(kind, "display") == 0, ingest = kind && strcmp(kind, "ingest") == 0;
	char secret[AUTH_SECRET_LEN + 1];
	int status = 0;
	if (!display && !ingest)
		status = api_error(job, 400, "kind", "must be display or ingest");
	else if (!name_ok(job, "name", name) || !scope_ok(job, scope))
		status = job->status;
	if (status) {
		json_decref(doc);
		return status;
	}
	int rc;
	if (display) {
		rc = auth_display_create(db, name, scope, job->now, secret);
	} else {
		unsigned char hash[32];
		rc = ingest_token_generate(secret, sizeof secret);
		ingest_token_hash(secret, hash);
		sqlite3_stmt *st = db_prepare(db, "INSERT INTO ingest_token(name, token_hash, scope, kinds, created) VALUES (?1, ?2, ?3, ?4, ?5)");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, scope, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, kinds ? kinds : "samples,payment_batches,payment_results,progress,milestones,monitoring", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, job->now);
		if (rc == 0 && sqlite3_step(st) != SQLITE_DONE)
			rc = -1;
		sqlite3_finalize(st);
	}
	if (rc < 0) {
		json_decref(doc);
		return api_error(job, 409, "name", "cannot create the token (is the name taken?)");
	}
	char action[32];
	snprintf(action, sizeof action, "token.create.%s", kind);
	audit(job, db, action, name, scope);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "name", name, "scope", scope, "token", secret);
	json_decref(doc);
	return api_reply_json(job, 201, o);
}

/* POST /api/v1/admin/tokens/<kind>/<id>/revoke */
int api_admin_token_revoke(struct api_job *job, sqlite3 *db)
{
	char kind[16];
	long long id;
	int used = 0;
	const char *rest = job->path + strlen("/api/v1/admin/tokens/");
	if (sscanf(rest, "%15[a-z]/%lld/revoke%n", kind, &id, &used) != 2 || rest[used] != '\0')
		return api_error(job, 404, NULL, "use /api/v1/admin/tokens/<display|ingest>/<id>/revoke");
	int display = strcmp(kind, "display") == 0;
	sqlite3_stmt *st = db_prepare(db, display ? "SELECT scope, coalesce(name, '') FROM credential WHERE id = ?1 AND kind = 'display'"
						  : "SELECT scope, name FROM ingest_token WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	char scope[16] = "", name[72] = "";
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(scope, sizeof scope, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (!found || (!covers(job, scope)))
		return api_error(job, 404, "id", "no such token in your scope");
	int rc;
	if (display) {
		rc = auth_revoke(db, id, job->now);
	} else {
		st = db_prepare(db, "UPDATE ingest_token SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL");
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, job->now);
		rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1 ? 0 : -1;
		sqlite3_finalize(st);
	}
	if (rc < 0)
		return api_error(job, 409, "id", "already revoked");
	char action[32];
	snprintf(action, sizeof action, "token.revoke.%s", kind);
	audit(job, db, action, name, "");
	return api_reply_json(job, 200, json_pack("{s:b}", "ok", 1));
}

int api_admin_audit(struct api_job *job, sqlite3 *db)
{
	const char *since = api_arg(job, "since"), *limit = api_arg(job, "limit");
	long long from = since ? strtoll(since, NULL, 10) : 0, n = limit ? strtoll(limit, NULL, 10) : 200;
	if (n < 1 || n > 5000)
		n = 200;
	sqlite3_stmt *st = db_prepare(db, "SELECT ts, actor, action, target, detail, peer FROM audit WHERE ts >= ?1 ORDER BY id DESC LIMIT ?2");
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, n);
	json_t *list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}",
			"ts", (json_int_t)sqlite3_column_int64(st, 0), "actor", (const char *)sqlite3_column_text(st, 1),
			"action", (const char *)sqlite3_column_text(st, 2), "target", (const char *)sqlite3_column_text(st, 3),
			"detail", (const char *)sqlite3_column_text(st, 4), "peer", (const char *)sqlite3_column_text(st, 5)));
	sqlite3_finalize(st);
	return api_reply_json(job, 200, json_pack("{s:o}", "audit", list));
}

/*
 * test_auth: passwords (scrypt round trip, wrong password, malformed hash),
 * the credential cache (sessions, display tokens, revocation seen after a
 * reload, expiry), roles and scopes, and login throttling.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth.h"
#include "testutil.h"

static struct test_env env;
static const int64_t NOW = 1795600000;

static int setup(void **state)
{
	(void)state;
	return test_env_setup(&env);
}

static int teardown(void **state)
{
	(void)state;
	auth_free();
	test_env_teardown(&env);
	return 0;
}

static int64_t add_account(const char *name, const char *role, const char *scope, const char *password)
{
	char hash[200];
	assert_int_equal(auth_password_hash(password, hash, sizeof hash), 0);
	sqlite3_stmt *st = db_prepare(env.db, "INSERT INTO account(name, role, scope, pw_hash, created) VALUES (?1, ?2, ?3, ?4, 0)");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	return sqlite3_last_insert_rowid(env.db);
}

static void test_passwords(void **state)
{
	(void)state;
	char hash[200];
	assert_int_equal(auth_password_hash("correct horse battery", hash, sizeof hash), 0);
	assert_int_equal(strncmp(hash, "scrypt$32768$8$1$", 17), 0);
	assert_int_equal(auth_password_verify("correct horse battery", hash), 0);
	assert_int_equal(auth_password_verify("correct horse batterY", hash), -1);
	assert_int_equal(auth_password_verify("x", "md5$abc"), -1);
	assert_int_equal(auth_password_verify("x", "scrypt$99999999$8$1$00$00"), -1);
	char again[200];
	assert_int_equal(auth_password_hash("correct horse battery", again, sizeof again), 0);
	assert_string_not_equal(hash, again); /* salted */
}

static void test_login_and_session(void **state)
{
	(void)state;
	int64_t id = add_account("liu", "operator", TEST_TOWN_A, "县扶贫办-2026-ok");
	int64_t got;
	assert_int_equal(auth_login(env.db, "liu", "县扶贫办-2026-ok", &got), 0);
	assert_int_equal(got, id);
	assert_int_equal(auth_login(env.db, "liu", "wrong password", &got), -1);
	assert_int_equal(auth_login(env.db, "nobody", "whatever long", &got), -1);

	char secret[AUTH_SECRET_LEN + 1];
	struct auth_principal p, q;
	assert_int_equal(auth_session_create(env.db, id, NOW, secret, &p), 0);
	assert_int_equal(auth_lookup(secret, NOW + 60, &q), 0);
	assert_int_equal(q.role, AUTH_OPERATOR);
	assert_string_equal(q.scope, TEST_TOWN_A);
	assert_string_equal(q.actor, "liu");
	assert_true(q.session && q.csrf[0]);
	assert_true(auth_allows(&q, AUTH_VIEWER) && auth_allows(&q, AUTH_OPERATOR) && !auth_allows(&q, AUTH_ADMIN));
	assert_true(auth_in_scope(&q, TEST_VILLAGE1));
	assert_false(auth_in_scope(&q, TEST_VILLAGE3));
	assert_int_equal(auth_lookup(secret, NOW + AUTH_SESSION_S + 1, &q), -1); /* expired */
	assert_int_equal(auth_revoke(env.db, p.credential_id, NOW), 0);
	assert_int_equal(auth_lookup(secret, NOW + 60, &q), -1);
	assert_int_equal(auth_lookup("fpm_not-a-real-secret", NOW, &q), -1);
	assert_int_equal(auth_lookup(NULL, NOW, &q), -1);
}

static void test_display_tokens_and_outside_changes(void **state)
{
	(void)state;
	char secret[AUTH_SECRET_LEN + 1];
	struct auth_principal p;
	assert_int_equal(auth_display_create(env.db, "wall-1", TEST_COUNTY, NOW, secret), 0);
	assert_int_equal(auth_lookup(secret, NOW + 86400 * 365, &p), 0); /* never expires */
	assert_int_equal(p.role, AUTH_VIEWER);
	assert_false(p.session);
	assert_string_equal(p.actor, "display:wall-1");
	/* Revoked by another process (fpmctl): seen once the cache reloads. */
	char err[256];
	sqlite3 *other = db_open(env.db_path, DB_SYNC_NORMAL, err, sizeof err);
	assert_int_equal(db_exec(other, "UPDATE credential SET revoked = 1 WHERE name = 'wall-1'; "
					"UPDATE meta SET value = value + 1 WHERE key = 'auth_version'"), 0);
	db_close(other);
	assert_int_equal(auth_lookup(secret, NOW, &p), 0); /* not yet reloaded */
	assert_int_equal(auth_reload_if_changed(env.db), 1);
	assert_int_equal(auth_lookup(secret, NOW, &p), -1);
	assert_int_equal(auth_reload_if_changed(env.db), 0);
}

static void test_disabled_account(void **state)
{
	(void)state;
	int64_t id = add_account("zhao", "viewer", "", "a-long-password");
	char secret[AUTH_SECRET_LEN + 1];
	struct auth_principal p;
	assert_int_equal(auth_session_create(env.db, id, NOW, secret, &p), 0);
	db_exec(env.db, "UPDATE account SET disabled = 1 WHERE name = 'zhao'");
	auth_bump(env.db);
	auth_reload_if_changed(env.db);
	assert_int_equal(auth_lookup(secret, NOW, &p), -1);
	int64_t got;
	assert_int_equal(auth_login(env.db, "zhao", "a-long-password", &got), -2);
}

static void test_throttle(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(auth_login_wait("10.0.0.9", "wang", NOW), 0);
		auth_login_result("10.0.0.9", "wang", 0, NOW);
	}
	assert_int_equal(auth_login_wait("10.0.0.9", "wang", NOW), 0);
	auth_login_result("10.0.0.9", "wang", 0, NOW);
	assert_true(auth_login_wait("10.0.0.9", "wang", NOW) > 0);
	assert_true(auth_login_wait("10.0.0.7", "wang", NOW) > 0); /* the name is locked too */
	assert_int_equal(auth_login_wait("10.0.0.9", "wang", NOW + 901), 0);
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(auth_role_parse("admin"), AUTH_ADMIN);
	assert_int_equal(auth_role_parse("root"), AUTH_NONE);
	assert_int_equal(auth_role_parse(NULL), AUTH_NONE);
	assert_string_equal(auth_role_name(AUTH_OPERATOR), "operator");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_login_and_session),
		cmocka_unit_test(test_display_tokens_and_outside_changes),
		cmocka_unit_test(test_disabled_account),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

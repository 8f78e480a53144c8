/*
 * fpmctl: the administrator's command line. Works on the database directly
 * (its own SQLite connection; the running daemon notices changes through the
 * registry version, auth_version and PRAGMA data_version): accounts, display
 * and ingest tokens, the audit log, CSV import and export of the region tree
 * and the project library.
 */
#include "auth.h"
#include "conf.h"
#include "db.h"
#include "import.h"
#include "ingest.h"
#include "log.h"
#include "regcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr,
		"usage: fpmctl [-c FILE] [-s name=value]... COMMAND\n"
		"  user add NAME --role viewer|operator|admin [--scope CODE] [--full-name TEXT]\n"
		"                                                    password read from standard input\n"
		"  user passwd NAME | user disable NAME | user enable NAME | user list\n"
		"  display create NAME [--scope CODE]                print a display token for a wall screen\n"
		"  display list | display revoke ID\n"
		"  audit [--limit N]                                 the newest entries of the audit log\n"
		"  token create NAME [--scope CODE] [--kinds k1,k2]  print a new ingest token (shown once)\n"
		"  token list                                        list tokens (never their values)\n"
		"  token revoke NAME                                 revoke a token at once\n"
		"  import regions FILE.csv                           region tree (UTF-8 or GB18030)\n"
		"  import projects FILE.csv                          industry-project library\n"
		"  export regions|projects                           CSV on standard output\n"
		"kinds: samples, payment_batches, payment_results, progress, milestones, monitoring (default: all)\n");
	return 2;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *bigger = cap < (256u << 20) ? realloc(buf, cap *= 2) : NULL;
			if (!bigger) {
				free(buf);
				buf = NULL;
			}
			buf = bigger;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

static int token_create(sqlite3 *db, int argc, char **argv)
{
	if (argc < 1)
		return usage();
	const char *name = argv[0], *scope = "", *kinds = "samples,payment_batches,payment_results,progress,milestones,monitoring";
	for (int i = 1; i + 1 < argc + 1 && i < argc; i++) {
		if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc)
			scope = argv[++i];
		else if (strcmp(argv[i], "--kinds") == 0 && i + 1 < argc)
			kinds = argv[++i];
		else
			return usage();
	}
	const char *why;
	if (scope[0] && regcode_check(scope, REGCODE_ANY, &why) < 0) {
		fprintf(stderr, "fpmctl: --scope %s: %s\n", scope, why);
		return 1;
	}
	char token[64];
	unsigned char hash[32];
	if (ingest_token_generate(token, sizeof token) < 0) {
		fprintf(stderr, "fpmctl: no randomness available\n");
		return 1;
	}
	ingest_token_hash(token, hash);
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO ingest_token(name, token_hash, scope, kinds, created) VALUES (?1, ?2, ?3, ?4, ?5)");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kinds, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "fpmctl: cannot create token '%s': %s\n", name, sqlite3_errmsg(db));
		return 1;
	}
	printf("%s\n", token);
	return 0;
}

static int token_list(sqlite3 *db)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT name, scope, kinds, datetime(created, 'unixepoch', '+8 hours'),"
		" coalesce(datetime(revoked, 'unixepoch', '+8 hours'), '') FROM ingest_token ORDER BY name");
	printf("%-24s %-12s %-20s %-20s %s\n", "name", "scope", "created (CST)", "revoked (CST)", "kinds");
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("%-24s %-12s %-20s %-20s %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		       sqlite3_column_text(st, 3), sqlite3_column_text(st, 4), sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	return 0;
}

static int token_revoke(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE ingest_token SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (sqlite3_changes(db) != 1) {
		fprintf(stderr, "fpmctl: no active token named '%s'\n", name);
		return 1;
	}
	return 0;
}

static int import_file(sqlite3 *db, const char *what, const char *path)
{
	size_t len;
	char *data = read_file(path, &len);
	if (!data) {
		fprintf(stderr, "fpmctl: cannot read %s\n", path);
		return 1;
	}
	struct import_report rep;
	int rc = strcmp(what, "regions") == 0 ? import_regions(db, data, len, &rep)
		: strcmp(what, "projects") == 0 ? import_projects(db, data, len, &rep) : -2;
	free(data);
	if (rc == -2)
		return usage();
	import_report_print(stdout, &rep);
	import_report_free(&rep);
	return rc < 0 ? 1 : 0;
}

/* Options after the positional arguments: --name value. */
static const char *option(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int read_password(char *buf, size_t cap)
{
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password (10 characters or more): ");
	if (!fgets(buf, (int)cap, stdin))
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return strlen(buf) >= 10 ? 0 : -1;
}

static int user_cmd(sqlite3 *db, const char *verb, int argc, char **argv)
{
	int64_t now = (int64_t)time(NULL);
	if (strcmp(verb, "list") == 0) {
		sqlite3_stmt *st = db_prepare(db, "SELECT name, role, scope, full_name, disabled IS NOT NULL FROM account ORDER BY name");
		printf("%-20s %-9s %-13s %-8s %s\n", "name", "role", "scope", "disabled", "full name");
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("%-20s %-9s %-13s %-8s %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
			       sqlite3_column_text(st, 2), sqlite3_column_int(st, 4) ? "yes" : "", sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		return 0;
	}
	if (argc < 1)
		return usage();
	const char *name = argv[0];
	char password[300], hash[200];
	sqlite3_stmt *st;
	if (strcmp(verb, "add") == 0) {
		const char *role = option(argc, argv, "--role"), *scope = option(argc, argv, "--scope");
		const char *full = option(argc, argv, "--full-name"), *why;
		if (auth_role_parse(role) == AUTH_NONE) {
			fprintf(stderr, "fpmctl: --role must be viewer, operator or admin\n");
			return 2;
		}
		if (scope && regcode_check(scope, REGCODE_ANY, &why) < 0) {
			fprintf(stderr, "fpmctl: --scope %s: %s\n", scope, why);
			return 2;
		}
		if (read_password(password, sizeof password) < 0 || auth_password_hash(password, hash, sizeof hash) < 0) {
			fprintf(stderr, "fpmctl: a password of at least 10 characters is needed on standard input\n");
			return 1;
		}
		st = db_prepare(db, "INSERT INTO account(name, full_name, role, scope, pw_hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, full ? full : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, scope ? scope : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, now);
	} else if (strcmp(verb, "passwd") == 0) {
		if (read_password(password, sizeof password) < 0 || auth_password_hash(password, hash, sizeof hash) < 0) {
			fprintf(stderr, "fpmctl: a password of at least 10 characters is needed on standard input\n");
			return 1;
		}
		st = db_prepare(db, "UPDATE account SET pw_hash = ?2 WHERE name = ?1");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	} else if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
		st = db_prepare(db, verb[0] == 'd' ? "UPDATE account SET disabled = ?2 WHERE name = ?1"
						   : "UPDATE account SET disabled = NULL WHERE name = ?1 AND ?2 > 0");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
	} else {
		return usage();
	}
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || sqlite3_changes(db) != 1) {
		fprintf(stderr, "fpmctl: user %s %s: %s\n", verb, name, rc == SQLITE_DONE ? "no such account" : sqlite3_errmsg(db));
		return 1;
	}
	if (verb[0] == 'p' || verb[0] == 'd') { /* sessions end with a new password or a disabled account */
		st = db_prepare(db, "UPDATE credential SET revoked = ?2 WHERE revoked IS NULL AND user_id = (SELECT id FROM account WHERE name = ?1)");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	char action[32];
	snprintf(action, sizeof action, "user.%s", verb);
	auth_bump(db);
	auth_audit(db, "fpmctl", action, name, "", "local", now);
	return 0;
}

static int display_cmd(sqlite3 *db, const char *verb, int argc, char **argv)
{
	int64_t now = (int64_t)time(NULL);
	if (strcmp(verb, "list") == 0) {
		sqlite3_stmt *st = db_prepare(db, "SELECT id, coalesce(name, ''), scope, revoked IS NOT NULL FROM credential WHERE kind = 'display' ORDER BY id");
		printf("%-6s %-24s %-13s %s\n", "id", "name", "scope", "revoked");
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("%-6lld %-24s %-13s %s\n", (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
			       sqlite3_column_text(st, 2), sqlite3_column_int(st, 3) ? "yes" : "");
		sqlite3_finalize(st);
		return 0;
	}
	if (argc < 1)
		return usage();
	if (strcmp(verb, "create") == 0) {
		const char *scope = option(argc, argv, "--scope"), *why;
		if (scope && regcode_check(scope, REGCODE_ANY, &why) < 0) {
			fprintf(stderr, "fpmctl: --scope %s: %s\n", scope, why);
			return 2;
		}
		char secret[AUTH_SECRET_LEN + 1];
		if (auth_display_create(db, argv[0], scope ? scope : "", now, secret) < 0) {
			fprintf(stderr, "fpmctl: cannot create display token: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		auth_audit(db, "fpmctl", "token.create.display", argv[0], scope ? scope : "", "local", now);
		printf("%s\n", secret);
		return 0;
	}
	if (strcmp(verb, "revoke") == 0) {
		if (auth_revoke(db, strtoll(argv[0], NULL, 10), now) < 0) {
			fprintf(stderr, "fpmctl: no active display token with id %s\n", argv[0]);
			return 1;
		}
		auth_audit(db, "fpmctl", "token.revoke.display", argv[0], "", "local", now);
		return 0;
	}
	return usage();
}

static int audit_cmd(sqlite3 *db, int argc, char **argv)
{
	const char *limit = option(argc, argv, "--limit");
	sqlite3_stmt *st = db_prepare(db, "SELECT datetime(ts, 'unixepoch', '+8 hours'), actor, action, target, detail, peer"
					  " FROM audit ORDER BY id DESC LIMIT ?1");
	sqlite3_bind_int64(st, 1, limit ? strtoll(limit, NULL, 10) : 50);
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("%s CST  %-16s %-22s %-20s %-20s %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		       sqlite3_column_text(st, 2), sqlite3_column_text(st, 3), sqlite3_column_text(st, 4), sqlite3_column_text(st, 5));
	sqlite3_finalize(st);
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	conf_defaults();
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		int rc = 0;
		if (strcmp(argv[i], "-c") == 0)
			rc = conf_load_file(argv[i + 1], err, sizeof err);
		else if (strcmp(argv[i], "-s") == 0)
			rc = conf_set_pair(argv[i + 1], err, sizeof err);
		else
			return usage();
		if (rc < 0) {
			fprintf(stderr, "fpmctl: %s\n", err);
			return 2;
		}
	}
	int audit = argc - i >= 1 && strcmp(argv[i], "audit") == 0; /* the one command without a verb */
	if (argc - i < 2 && !audit)
		return usage();
	char path[600];
	snprintf(path, sizeof path, "%s/fpmon.db", conf.data_dir);
	sqlite3 *db = db_open(path, DB_SYNC_FULL, err, sizeof err);
	if (!db) {
		fprintf(stderr, "fpmctl: %s\n", err);
		return 1;
	}
	const char *group = argv[i], *verb = audit ? "" : argv[i + 1];
	int rc;
	if (strcmp(group, "audit") == 0)
		rc = audit_cmd(db, argc - i - 1, argv + i + 1);
	else if (strcmp(group, "token") == 0 && strcmp(verb, "create") == 0)
		rc = token_create(db, argc - i - 2, argv + i + 2);
	else if (strcmp(group, "token") == 0 && strcmp(verb, "list") == 0)
		rc = token_list(db);
	else if (strcmp(group, "token") == 0 && strcmp(verb, "revoke") == 0 && argc - i == 3)
		rc = token_revoke(db, argv[i + 2]);
	else if (strcmp(group, "import") == 0 && argc - i == 3)
		rc = import_file(db, verb, argv[i + 2]);
	else if (strcmp(group, "user") == 0)
		rc = user_cmd(db, verb, argc - i - 2, argv + i + 2);
	else if (strcmp(group, "display") == 0)
		rc = display_cmd(db, verb, argc - i - 2, argv + i + 2);
	else if (strcmp(group, "export") == 0 && strcmp(verb, "regions") == 0)
		rc = import_export_regions(db, stdout) < 0;
	else if (strcmp(group, "export") == 0 && strcmp(verb, "projects") == 0)
		rc = import_export_projects(db, stdout) < 0;
	else
		rc = usage();
	db_close(db);
	return rc;
}

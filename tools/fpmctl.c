/*
 * fpmctl: the administrator's command line. Works on the database directly
 * (its own SQLite connection; the running daemon notices changes through the
 * registry version and PRAGMA data_version): ingest tokens, CSV import and
 * export of the region tree and the project library.
 */
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

static int usage(void)
{
	fprintf(stderr,
		"usage: fpmctl [-c FILE] [-s name=value]... COMMAND\n"
		"  token create NAME [--scope CODE] [--kinds k1,k2]  print a new ingest token (shown once)\n"
		"  token list                                        list tokens (never their values)\n"
		"  token revoke NAME                                 revoke a token at once\n"
		"  import regions FILE.csv                           region tree (UTF-8 or GB18030)\n"
		"  import projects FILE.csv                          industry-project library\n"
		"  export regions|projects                           CSV on standard output\n"
		"kinds: samples, payment_batches, payment_results, progress, milestones (default: all)\n");
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
	const char *name = argv[0], *scope = "", *kinds = "samples,payment_batches,payment_results,progress,milestones";
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

int main(int argc, char **argv)
{
	char err[512];
	conf_defaults();
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		int rc = 0;
		if (strcmp(argv[i], "-c") == 0)
			rc = conf_load_file(argv[i + 1], err, sizeof err);
		else if (strcmp(argv[i], "-s") == 0 && strchr(argv[i + 1], '=')) {
			char *eq = strchr(argv[i + 1], '=');
			*eq = '\0';
			rc = conf_set(argv[i + 1], eq + 1, err, sizeof err);
		} else
			return usage();
		if (rc < 0) {
			fprintf(stderr, "fpmctl: %s\n", err);
			return 2;
		}
	}
	if (argc - i < 2)
		return usage();
	char path[600];
	snprintf(path, sizeof path, "%s/fpmon.db", conf.data_dir);
	sqlite3 *db = db_open(path, DB_SYNC_FULL, err, sizeof err);
	if (!db) {
		fprintf(stderr, "fpmctl: %s\n", err);
		return 1;
	}
	const char *group = argv[i], *verb = argv[i + 1];
	int rc;
	if (strcmp(group, "token") == 0 && strcmp(verb, "create") == 0)
		rc = token_create(db, argc - i - 2, argv + i + 2);
	else if (strcmp(group, "token") == 0 && strcmp(verb, "list") == 0)
		rc = token_list(db);
	else if (strcmp(group, "token") == 0 && strcmp(verb, "revoke") == 0 && argc - i == 3)
		rc = token_revoke(db, argv[i + 2]);
	else if (strcmp(group, "import") == 0 && argc - i == 3)
		rc = import_file(db, verb, argv[i + 2]);
	else if (strcmp(group, "export") == 0 && strcmp(verb, "regions") == 0)
		rc = import_export_regions(db, stdout) < 0;
	else if (strcmp(group, "export") == 0 && strcmp(verb, "projects") == 0)
		rc = import_export_projects(db, stdout) < 0;
	else
		rc = usage();
	db_close(db);
	return rc;
}

/*
 * db: opening connections and running migrations. busy_timeout is set because
 * these connections live on worker threads (never on the lws service thread,
 * where sleeping is forbidden); WAL lets readers run beside the writer.
 */
#include "db.h"

#include "embedded.h"
#include "fault.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Migrations are embedded files named NNN_*.sql; NNN is the version they produce. */
static int migration_version(const char *name)
{
	if (strlen(name) < 5 || name[0] < '0' || name[0] > '9')
		return -1;
	const char *dot = strrchr(name, '.');
	if (!dot || strcmp(dot, ".sql") != 0)
		return -1;
	return (int)strtol(name, NULL, 10);
}

int db_schema_version(sqlite3 *db)
{
	sqlite3_stmt *st = db_prepare(db, "PRAGMA user_version");
	int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
	int current = db_schema_version(db);
	for (size_t i = 0; i < embedded_count; i++) {
		const struct embedded_file *f = &embedded_files[i];
		int v = migration_version(f->name);
		if (v <= current)
			continue;
		char *msg = NULL;
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, (const char *)f->data, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration %s: %s", f->name, msg ? msg : "failed");
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		log_info("database schema migrated to version %d (%s)", v, f->name);
		current = v;
	}
	return 0;
}

sqlite3 *db_open(const char *path, enum db_sync sync, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	FAULT_INIT(); /* fault build: the shim VFS must be the default before the first open */
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	const char *pragmas = sync == DB_SYNC_FULL
		? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
		: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "pragma failed");
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	if (migrate(db, err, errlen) < 0) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

void db_close(sqlite3 *db)
{
	if (db && sqlite3_close(db) != SQLITE_OK)
		log_error("closing the database: %s (a statement was not finalized)", sqlite3_errmsg(db));
}

sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_error("SQL does not prepare: %s: %s", sqlite3_errmsg(db), sql);
		abort();
	}
	return st;
}

int db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error_rl("SQL '%s' failed: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int db_begin(sqlite3 *db) { return db_exec(db, "BEGIN IMMEDIATE"); }
int db_commit(sqlite3 *db) { return db_exec(db, "COMMIT"); }
void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t db_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return n;
}

int64_t db_meta_get(sqlite3 *db, const char *key, int64_t fallback)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT value FROM meta WHERE key = ?1");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : fallback;
	sqlite3_finalize(st);
	return v;
}

int db_meta_set(sqlite3 *db, const char *key, int64_t value)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO meta(key, value) VALUES (?1, ?2) "
		"ON CONFLICT(key) DO UPDATE SET value = excluded.value");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

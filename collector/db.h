/*
 * db: SQLite connections. One connection per thread (never shared); WAL mode;
 * the schema's migrations (schemas/NNN_*.sql, embedded) run at open in one
 * transaction each, guarded by PRAGMA user_version. Helpers for the few
 * statements that are not worth a prepared-statement field of their own.
 */
#ifndef DB_H
#define DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum db_sync { DB_SYNC_FULL, DB_SYNC_NORMAL };

/* Open (creating) the database and bring its schema up to date. */
sqlite3 *db_open(const char *path, enum db_sync sync, char *err, size_t errlen);
void db_close(sqlite3 *db);
int db_schema_version(sqlite3 *db);

/* Prepare or die: our SQL is fixed text, a failure is a programming error. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql);
int db_exec(sqlite3 *db, const char *sql); /* 0 or -1, logs the error */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/* The first column of the first row of a fixed query (e.g. a count), or -1. */
int64_t db_count(sqlite3 *db, const char *sql);
int64_t db_meta_get(sqlite3 *db, const char *key, int64_t fallback);
int db_meta_set(sqlite3 *db, const char *key, int64_t value);

#endif

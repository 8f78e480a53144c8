/*
 * registry: an immutable in-memory snapshot of every entity (regions by
 * division code, projects by id) with its place in the region tree, for the
 * hot paths that must not ask SQLite per sample. A new snapshot is built when
 * the database's registry_version moves; readers hold a reference.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum reg_kind { REG_PROVINCE, REG_PREFECTURE, REG_COUNTY, REG_TOWNSHIP, REG_VILLAGE, REG_PROJECT };

struct reg_entity {
	int64_t id;          /* entity.id in SQLite */
	enum reg_kind kind;
	char key[33];        /* 12-digit code or project id */
	char *name;          /* name_zh */
	int32_t parent;      /* index of the enclosing region, -1 at the top */
	int32_t township;    /* index of its township (villages, projects), or -1 */
	int32_t county;      /* index of its county, or -1 */
	int retired;
	/* projects only */
	int64_t invest_fen;
	int stage;           /* index in reg_stage_names */
	char *category, *department;
};

struct registry {
	int refs;
	int64_t version;
	size_t n;
	struct reg_entity *e;
	size_t hash_cap;      /* power of two */
	int32_t *hash;        /* open addressing: key -> index, -1 empty */
};

extern const char *const reg_stage_names[]; /* approved ... asset_registered, NULL */

/* Build a snapshot from the database (caller's connection). */
struct registry *reg_load(sqlite3 *db, char *err, size_t errlen);
int32_t reg_find(const struct registry *r, const char *key); /* index or -1 */
int32_t reg_find_id(const struct registry *r, int64_t id);    /* linear; for rare paths */
const char *reg_kind_name(enum reg_kind kind);

/* The process-wide current snapshot. */
struct registry *reg_acquire(void);       /* +1 reference, never NULL after reg_publish */
void reg_release(struct registry *r);
void reg_publish(struct registry *r);     /* takes the caller's reference */
/* Reload if the database's registry_version moved; 1 if it did. */
int reg_refresh(sqlite3 *db);
/* Bump registry_version inside the caller's transaction. */
int reg_bump_version(sqlite3 *db);

#endif

/*
 * registry: loads regions and projects into a snapshot with an open-addressing
 * hash on the key, and swaps snapshots under a mutex with reference counts so
 * a thread holding the old one finishes its batch undisturbed.
 */
#include "registry.h"

#include "db.h"
#include "log.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const reg_stage_names[] = {"approved", "publicised", "started", "completed", "accepted",
				       "completion_notice", "asset_registered", NULL};

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry *current;

static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int32_t reg_find(const struct registry *r, const char *key)
{
	if (!r || !r->hash_cap)
		return -1;
	size_t mask = r->hash_cap - 1;
	for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
		int32_t at = r->hash[i];
		if (at < 0)
			return -1;
		if (strcmp(r->e[at].key, key) == 0)
			return at;
	}
}

int32_t reg_find_id(const struct registry *r, int64_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].id == id)
			return (int32_t)i;
	return -1;
}

const char *reg_kind_name(enum reg_kind kind)
{
	static const char *const names[] = {"province", "prefecture", "county", "township", "village", "project"};
	return names[kind];
}

static int kind_from_name(const char *name)
{
	for (int k = REG_PROVINCE; k <= REG_PROJECT; k++)
		if (strcmp(reg_kind_name((enum reg_kind)k), name) == 0)
			return k;
	return -1;
}

static int stage_from_name(const char *name)
{
	for (int i = 0; name && reg_stage_names[i]; i++)
		if (strcmp(reg_stage_names[i], name) == 0)
			return i;
	return 0;
}

static void free_snapshot(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->e[i].name);
		free(r->e[i].category);
		free(r->e[i].department);
	}
	free(r->e);
	free(r->hash);
	free(r);
}

static char *dup_column(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? xstrdup((const char *)t) : NULL;
}

/* A region's parent code, or a project's location code, names another entity. */
static void link_tree(struct registry *r, char **parent_keys)
{
	for (size_t i = 0; i < r->n; i++)
		r->e[i].parent = parent_keys[i] ? reg_find(r, parent_keys[i]) : -1;
	for (size_t i = 0; i < r->n; i++) {
		struct reg_entity *e = &r->e[i];
		e->township = e->county = -1;
		for (int32_t up = (int32_t)i, hops = 0; up >= 0 && hops < 8; up = r->e[up].parent, hops++) {
			if (r->e[up].kind == REG_TOWNSHIP && e->township < 0)
				e->township = up;
			if (r->e[up].kind == REG_COUNTY && e->county < 0)
				e->county = up;
		}
	}
}

struct registry *reg_load(sqlite3 *db, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT e.id, e.kind, e.key, coalesce(r.name_zh, p.name), coalesce(r.parent, p.location),"
		" coalesce(r.retired, 0), p.invest_fen, p.stage, p.category, p.department"
		" FROM entity e LEFT JOIN region r ON r.entity_id = e.id"
		" LEFT JOIN project p ON p.entity_id = e.id ORDER BY e.id";
	struct registry *r = xcalloc(1, sizeof *r);
	r->refs = 1;
	r->version = db_meta_get(db, "registry_version", 0);
	size_t cap = 0;
	char **parent_keys = NULL;
	sqlite3_stmt *st = db_prepare(db, sql);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->n == cap) {
			cap = cap ? cap * 2 : 1024;
			r->e = xreallocarray(r->e, cap, sizeof *r->e);
			parent_keys = xreallocarray(parent_keys, cap, sizeof *parent_keys);
		}
		struct reg_entity *e = &r->e[r->n];
		memset(e, 0, sizeof *e);
		e->id = sqlite3_column_int64(st, 0);
		int kind = kind_from_name((const char *)sqlite3_column_text(st, 1));
		e->kind = kind < 0 ? REG_VILLAGE : (enum reg_kind)kind;
		snprintf(e->key, sizeof e->key, "%s", (const char *)sqlite3_column_text(st, 2));
		e->name = dup_column(st, 3);
		parent_keys[r->n] = dup_column(st, 4);
		e->retired = sqlite3_column_int(st, 5);
		e->invest_fen = sqlite3_column_int64(st, 6);
		e->stage = stage_from_name((const char *)sqlite3_column_text(st, 7));
		e->category = dup_column(st, 8);
		e->department = dup_column(st, 9);
		r->n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "loading the registry: %s", sqlite3_errmsg(db));
		for (size_t i = 0; i < r->n; i++)
			free(parent_keys[i]);
		free(parent_keys);
		free_snapshot(r);
		return NULL;
	}
	for (r->hash_cap = 16; r->hash_cap < r->n * 2; r->hash_cap *= 2)
		;
	r->hash = xmalloc(r->hash_cap * sizeof *r->hash);
	memset(r->hash, 0xff, r->hash_cap * sizeof *r->hash);
	for (size_t i = 0; i < r->n; i++) {
		size_t mask = r->hash_cap - 1, at = key_hash(r->e[i].key) & mask;
		while (r->hash[at] >= 0)
			at = (at + 1) & mask;
		r->hash[at] = (int32_t)i;
	}
	link_tree(r, parent_keys);
	for (size_t i = 0; i < r->n; i++)
		free(parent_keys[i]);
	free(parent_keys);
	return r;
}

struct registry *reg_acquire(void)
{
	pthread_mutex_lock(&current_lock);
	struct registry *r = current;
	if (r)
		r->refs++;
	pthread_mutex_unlock(&current_lock);
	return r;
}

void reg_release(struct registry *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&current_lock);
	int last = --r->refs == 0;
	pthread_mutex_unlock(&current_lock);
	if (last)
		free_snapshot(r);
}

void reg_publish(struct registry *r)
{
	pthread_mutex_lock(&current_lock);
	struct registry *old = current;
	current = r;
	pthread_mutex_unlock(&current_lock);
	reg_release(old);
}

int reg_refresh(sqlite3 *db)
{
	struct registry *have = reg_acquire();
	int64_t version = db_meta_get(db, "registry_version", 0);
	int stale = !have || have->version != version;
	reg_release(have);
	if (!stale)
		return 0;
	char err[256];
	struct registry *fresh = reg_load(db, err, sizeof err);
	if (!fresh) {
		log_error_rl("%s", err);
		return 0;
	}
	reg_publish(fresh);
	log_info("registry loaded: %zu entities (version %lld)", fresh->n, (long long)fresh->version);
	return 1;
}

int reg_bump_version(sqlite3 *db)
{
	return db_exec(db, "UPDATE meta SET value = value + 1 WHERE key = 'registry_version'");
}

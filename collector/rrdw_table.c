/*
 * rrdw_table: the writer's file table: one entry per entity of the
 * registry (villages, projects, townships, counties), found by entity id
 * through an open-addressing hash, with each leaf's regions and each
 * region's leaves, kept in line with the registry, and each file's path.
 */
#include "rrdw_int.h"

#include "log.h"
#include "xalloc.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rrdw_writer *const w = &rrdw_state;

int32_t rrdw_find_file(int64_t entity_id)
{
	if (!w->hash_cap)
		return -1;
	for (size_t i = rrdw_hash_slot(entity_id) & (w->hash_cap - 1);; i = (i + 1) & (w->hash_cap - 1)) {
		if (w->hash[i] < 0)
			return -1;
		if (w->files[w->hash[i]].entity_id == entity_id)
			return w->hash[i];
	}
}

static void rehash(void)
{
	free(w->hash);
	for (w->hash_cap = 64; w->hash_cap < w->n_files * 2; w->hash_cap *= 2)
		;
	w->hash = xmalloc(w->hash_cap * sizeof *w->hash);
	memset(w->hash, 0xff, w->hash_cap * sizeof *w->hash);
	for (size_t f = 0; f < w->n_files; f++) {
		size_t i = rrdw_hash_slot(w->files[f].entity_id) & (w->hash_cap - 1);
		while (w->hash[i] >= 0)
			i = (i + 1) & (w->hash_cap - 1);
		w->hash[i] = (int32_t)f;
	}
}

static int32_t add_file(const struct reg_entity *e)
{
	if (w->n_files == w->cap_files) {
		w->cap_files = w->cap_files ? w->cap_files * 2 : 1024;
		w->files = xreallocarray(w->files, w->cap_files, sizeof *w->files);
	}
	struct rrdw_file *f = &w->files[w->n_files];
	memset(f, 0, sizeof *f);
	f->entity_id = e->id;
	for (size_t d = 0; d < CAT_MAX_DS; d++)
		f->held[d] = NAN;
	w->n_files++;
	if (w->n_files * 2 > w->hash_cap)
		rehash();
	else {
		size_t i = rrdw_hash_slot(e->id) & (w->hash_cap - 1);
		while (w->hash[i] >= 0)
			i = (i + 1) & (w->hash_cap - 1);
		w->hash[i] = (int32_t)(w->n_files - 1);
	}
	return (int32_t)(w->n_files - 1);
}

static int is_region(enum reg_kind k) { return k <= REG_TOWNSHIP; }

/* Bring the file table in line with the registry: new entities, parents, project facts. */
void rrdw_sync_registry_locked(void)
{
	struct registry *r = reg_acquire();
	if (!r || r->version == w->registry_version) {
		reg_release(r);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct reg_entity *e = &r->e[i];
		int32_t at = rrdw_find_file(e->id);
		if (at < 0)
			at = add_file(e);
		struct rrdw_file *f = &w->files[at];
		f->kind = e->kind;
		f->layout = e->kind == REG_PROJECT ? CAT_PROJECT : e->kind == REG_VILLAGE ? CAT_VILLAGE : CAT_REGION;
		snprintf(f->key, sizeof f->key, "%s", e->key);
		f->stage = e->stage;
		f->invest_fen = (double)e->invest_fen;
	}
	/* Parents: every enclosing region of a village, or of a project's location. */
	for (size_t i = 0; i < w->n_files; i++)
		w->files[i].n_children = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct reg_entity *e = &r->e[i];
		struct rrdw_file *f = &w->files[rrdw_find_file(e->id)];
		f->n_parents = 0;
		if (is_region(e->kind))
			continue;
		for (int32_t up = e->parent, hops = 0; up >= 0 && hops < 8; up = r->e[up].parent, hops++)
			if (is_region(r->e[up].kind) && f->n_parents < RRDW_MAX_PARENTS)
				f->parents[f->n_parents++] = rrdw_find_file(r->e[up].id);
	}
	/* And the inverse, so reading a region's current value visits only its leaves. */
	for (size_t i = 0; i < w->n_files; i++) {
		for (size_t p = 0; p < w->files[i].n_parents; p++) {
			struct rrdw_file *region = &w->files[w->files[i].parents[p]];
			if (region->n_children == region->cap_children) {
				region->cap_children = region->cap_children ? region->cap_children * 2 : 16;
				region->children = xreallocarray(region->children, region->cap_children, sizeof *region->children);
			}
			region->children[region->n_children++] = (int32_t)i;
		}
	}
	w->registry_version = r->version;
	reg_release(r);
	plan_set_free(&w->plans);
	if (plan_load(w->db, &w->plans) < 0)
		log_error_rl("rrd writer: loading milestone plans failed: %s", sqlite3_errmsg(w->db));
	atomic_fetch_add(&w->epoch, 1);
}

int rrdw_path_of(const struct rrdw_file *f, char *buf, size_t cap)
{
	int n;
	if (f->kind == REG_PROJECT)
		n = snprintf(buf, cap, "%s/project/%s.rrd", w->opt.rrd_dir, f->key);
	else /* shard regions and villages by county: a province has ~20,000 villages */
		n = snprintf(buf, cap, "%s/%s/%.6s/%s.rrd", w->opt.rrd_dir,
			     f->kind == REG_VILLAGE ? "village" : "region", f->key, f->key);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int rrdw_path(int64_t entity_id, char *buf, size_t cap)
{
	pthread_mutex_lock(&w->lock);
	rrdw_sync_registry_locked();
	int32_t at = rrdw_find_file(entity_id);
	int rc = at < 0 ? -1 : rrdw_path_of(&w->files[at], buf, cap);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

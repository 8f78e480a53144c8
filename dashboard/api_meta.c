/*
 * api_meta: the registry as JSON for the dashboards: the metric catalog, the
 * region tree under a code, the project library with each project's current
 * figures, and one project with its milestones. Every list is filtered to
 * the caller's region scope; outside it, 403 without saying whether the
 * thing exists.
 */
#include "api.h"

#include "cst.h"
#include "db.h"
#include "regcode.h"
#include "rrdfile.h"
#include "rrdw.h"

#include <stdio.h>
#include <string.h>

enum cat_entity api_layout_of(enum reg_kind kind)
{
	return kind == REG_PROJECT ? CAT_PROJECT : kind == REG_VILLAGE ? CAT_VILLAGE : CAT_REGION;
}

int api_visible(const struct api_job *job, const struct registry *r, const struct reg_entity *e)
{
	if (!job->scope[0])
		return 1;
	if (e->kind == REG_PROJECT)
		e = e->parent >= 0 ? &r->e[e->parent] : NULL;
	return e && regcode_is_within(e->key, job->scope);
}

struct registry *api_entity(struct api_job *job, const struct reg_entity **e)
{
	const char *key = api_arg(job, "entity");
	if (!key || !*key) {
		api_error(job, 400, "entity", "is required: a division code or a project id");
		return NULL;
	}
	struct registry *r = reg_acquire();
	int32_t at = r ? reg_find(r, key) : -1;
	if (at < 0 || !api_visible(job, r, &r->e[at])) {
		reg_release(r);
		if (job->scope[0])
			api_error(job, 403, "entity", "is outside your region");
		else
			api_error(job, 404, "entity", "no such division code or project");
		return NULL;
	}
	*e = &r->e[at];
	return r;
}

int api_catalog(struct api_job *job, sqlite3 *db)
{
	(void)db;
	return api_reply_json(job, 200, json_deep_copy(cat_json()));
}

/* ?under=CODE (default: everything visible). */
int api_regions(struct api_job *job, sqlite3 *db)
{
	(void)db;
	const char *under = api_arg(job, "under");
	const char *why;
	if (under && regcode_check(under, REGCODE_ANY, &why) < 0)
		return api_error(job, 400, "under", why);
	struct registry *r = reg_acquire();
	json_t *list = json_array();
	for (size_t i = 0; r && i < r->n; i++) {
		const struct reg_entity *e = &r->e[i];
		if (e->kind == REG_PROJECT || !api_visible(job, r, e) || (under && !regcode_is_within(e->key, under)))
			continue;
		json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:s?, s:b}", "code", e->key,
			"level", reg_kind_name(e->kind), "name", e->name,
			"parent", e->parent >= 0 ? r->e[e->parent].key : NULL, "retired", e->retired));
	}
	reg_release(r);
	return api_reply_json(job, 200, json_pack("{s:o}", "regions", list));
}

static json_t *project_json(const struct registry *r, const struct reg_entity *e, int64_t now)
{
	return json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:I, s:s, s:o}", "id", e->key, "name", e->name,
		"category", e->category, "department", e->department,
		"location", e->parent >= 0 ? r->e[e->parent].key : NULL, "invest_fen", (json_int_t)e->invest_fen,
		"stage", reg_stage_names[e->stage], "current", api_current_values(e->id, CAT_PROJECT, now, NULL));
}

int api_projects(struct api_job *job, sqlite3 *db)
{
	(void)db;
	const char *under = api_arg(job, "under");
	const char *why;
	if (under && regcode_check(under, REGCODE_ANY, &why) < 0)
		return api_error(job, 400, "under", why);
	struct registry *r = reg_acquire();
	json_t *list = json_array();
	for (size_t i = 0; r && i < r->n; i++) {
		const struct reg_entity *e = &r->e[i];
		if (e->kind != REG_PROJECT || !api_visible(job, r, e))
			continue;
		if (under && (e->parent < 0 || !regcode_is_within(r->e[e->parent].key, under)))
			continue;
		json_array_append_new(list, project_json(r, e, job->now));
	}
	reg_release(r);
	return api_reply_json(job, 200, json_pack("{s:o}", "projects", list));
}

/* /api/v1/projects/<id>: the project, its plan and its milestones. */
int api_project(struct api_job *job, sqlite3 *db)
{
	const char *id = job->path + strlen("/api/v1/projects/");
	struct registry *r = reg_acquire();
	int32_t at = r ? reg_find(r, id) : -1;
	if (at < 0 || r->e[at].kind != REG_PROJECT || !api_visible(job, r, &r->e[at])) {
		reg_release(r);
		return job->scope[0] ? api_error(job, 403, "id", "is outside your region")
				     : api_error(job, 404, "id", "no such project");
	}
	json_t *project = project_json(r, &r->e[at], job->now);
	int64_t entity_id = r->e[at].id;
	reg_release(r);
	sqlite3_stmt *st = db_prepare(db,
		"SELECT p.start_date, p.planned_end, p.planned_hh FROM project p WHERE p.entity_id = ?1");
	sqlite3_bind_int64(st, 1, entity_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_object_set_new(project, "start_date", json_string((const char *)sqlite3_column_text(st, 0)));
		json_object_set_new(project, "planned_end", json_string((const char *)sqlite3_column_text(st, 1)));
		json_object_set_new(project, "planned_hh", json_integer(sqlite3_column_int64(st, 2)));
	}
	sqlite3_finalize(st);
	st = db_prepare(db, "SELECT name, planned_date, weight, done_date FROM milestone"
			    " WHERE project_id = ?1 ORDER BY planned_date, name");
	sqlite3_bind_int64(st, 1, entity_id);
	json_t *milestones = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(milestones, json_pack("{s:s, s:s, s:f, s:s?}",
			"name", (const char *)sqlite3_column_text(st, 0),
			"planned_date", (const char *)sqlite3_column_text(st, 1),
			"weight", sqlite3_column_double(st, 2),
			"done_date", (const char *)sqlite3_column_text(st, 3)));
	sqlite3_finalize(st);
	json_object_set_new(project, "milestones", milestones);
	return api_reply_json(job, 200, project);
}

/* The server's clock and today's date in Asia/Shanghai, whatever the screen's clock says. */
int api_time(struct api_job *job, sqlite3 *db)
{
	(void)db;
	int64_t day = cst_day(job->now);
	char date[16];
	cst_date_format(day, date, sizeof date);
	return api_reply_json(job, 200, json_pack("{s:I, s:s, s:I, s:I, s:s, s:I}", "now", (json_int_t)job->now,
		"date", date, "day_start", (json_int_t)cst_day_start(day), "day_end", (json_int_t)cst_day_start(day + 1),
		"timezone", "Asia/Shanghai", "step", (json_int_t)RRDFILE_STEP));
}

const struct api_route_def *api_route_find(int post, const char *path)
{
	static const struct api_route_def routes[] = {
		{0, "/api/v1/history", 0, api_history, AUTH_VIEWER, api_history_cached},
		{0, "/api/v1/state", 0, api_state, AUTH_VIEWER, NULL},
		{0, "/api/v1/catalog", 0, api_catalog, AUTH_VIEWER, NULL},
		{0, "/api/v1/time", 0, api_time, AUTH_NONE, NULL},
		{0, "/api/v1/regions", 0, api_regions, AUTH_VIEWER, NULL},
		{0, "/api/v1/projects", 0, api_projects, AUTH_VIEWER, NULL},
		{0, "/api/v1/projects/", 1, api_project, AUTH_VIEWER, NULL},
		{1, "/api/v1/login", 0, api_login, AUTH_NONE, NULL},
		{1, "/api/v1/logout", 0, api_logout, AUTH_VIEWER, NULL},
		{0, "/api/v1/me", 0, api_me, AUTH_VIEWER, NULL},
		{0, "/api/v1/admin/users", 0, api_admin_users, AUTH_ADMIN, NULL},
		{1, "/api/v1/admin/users", 0, api_admin_user_create, AUTH_ADMIN, NULL},
		{1, "/api/v1/admin/users/", 1, api_admin_user_change, AUTH_ADMIN, NULL},
		{0, "/api/v1/admin/tokens", 0, api_admin_tokens, AUTH_ADMIN, NULL},
		{1, "/api/v1/admin/tokens", 0, api_admin_token_create, AUTH_ADMIN, NULL},
		{1, "/api/v1/admin/tokens/", 1, api_admin_token_revoke, AUTH_ADMIN, NULL},
		{0, "/api/v1/admin/audit", 0, api_admin_audit, AUTH_ADMIN, NULL},
		{0, "/api/v1/alerts", 0, api_alerts, AUTH_VIEWER, NULL},
		{0, "/api/v1/alerts/history", 0, api_alert_history, AUTH_VIEWER, NULL},
		{0, "/api/v1/alerts/", 1, api_alert, AUTH_VIEWER, NULL},
		{1, "/api/v1/alerts/ack-group", 0, api_alert_ack_group, AUTH_OPERATOR, NULL},
		{1, "/api/v1/alerts/", 1, api_alert_action, AUTH_OPERATOR, NULL},
	};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct api_route_def *r = &routes[i];
		size_t n = strlen(r->path);
		if (r->post == post && (r->prefix ? strncmp(path, r->path, n) == 0 && path[n] : strcmp(path, r->path) == 0))
			return r;
	}
	return NULL;
}

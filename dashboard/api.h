/*
 * api: the JSON API's handlers (run on reader threads, see apiq.h) and the
 * helpers they share: finding the requested entity within the caller's
 * region scope, and numbers as JSON (unknown -> null, whole -> integer).
 */
#ifndef API_H
#define API_H

#include "apiq.h"
#include "catalog.h"
#include "registry.h"

#include <jansson.h>

/* The entity named by ?entity=KEY, visible to the caller; on failure the job
 * holds the error reply and NULL is returned. Release the registry after. */
struct registry *api_entity(struct api_job *job, const struct reg_entity **e);
int api_visible(const struct api_job *job, const struct registry *r, const struct reg_entity *e);
enum cat_entity api_layout_of(enum reg_kind kind);
json_t *api_number(double v);
/* {data source: value} of an entity's newest row (as the RRD writer will write it). */
json_t *api_current_values(int64_t entity_id, enum cat_entity layout, int64_t now, int64_t *as_of);
/* The same row as numbers (NAN = unknown, also when there is no row); returns the count. */
size_t api_current_row(int64_t entity_id, enum cat_entity layout, int64_t now, double *values, int64_t *as_of);
/* {data source: value} of a row of the layout. */
json_t *api_values_json(enum cat_entity layout, const double *values);

int api_history(struct api_job *job, sqlite3 *db);
/* Service thread: a history reply from api_cache if one is current (api_fast_path). */
int api_history_cached(struct api_job *job);
int api_state(struct api_job *job, sqlite3 *db);
int api_catalog(struct api_job *job, sqlite3 *db);
int api_regions(struct api_job *job, sqlite3 *db);
int api_projects(struct api_job *job, sqlite3 *db);
int api_project(struct api_job *job, sqlite3 *db);
int api_time(struct api_job *job, sqlite3 *db);

/* Access: login, logout, me, and the admin's users, tokens and audit log (api_auth.c). */
int api_login(struct api_job *job, sqlite3 *db);
int api_logout(struct api_job *job, sqlite3 *db);
int api_me(struct api_job *job, sqlite3 *db);
int api_admin_users(struct api_job *job, sqlite3 *db);
int api_admin_user_create(struct api_job *job, sqlite3 *db);
int api_admin_user_change(struct api_job *job, sqlite3 *db);
int api_admin_tokens(struct api_job *job, sqlite3 *db);
int api_admin_token_create(struct api_job *job, sqlite3 *db);
int api_admin_token_revoke(struct api_job *job, sqlite3 *db);
int api_admin_audit(struct api_job *job, sqlite3 *db);

/* Alerts: lists, one alert with its history, history, people's actions (api_alerts.c). */
int api_alerts(struct api_job *job, sqlite3 *db);
int api_alert(struct api_job *job, sqlite3 *db);
int api_alert_history(struct api_job *job, sqlite3 *db);
int api_alert_action(struct api_job *job, sqlite3 *db);
int api_alert_ack_group(struct api_job *job, sqlite3 *db);

#endif

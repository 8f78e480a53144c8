/*
 * api_alerts: the alert API on the reader threads. Lists, one alert with
 * its history, the history by entity/rule/state/time, and the actions of
 * people (acknowledge, silence, unsilence, resolve, comment, acknowledge a
 * group). Role is checked by the route table; region scope by alert_*.
 */
#include "alert.h"
#include "api.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int64_t arg_int(const struct api_job *job, const char *name)
{
	const char *v = api_arg(job, name);
	return v ? strtoll(v, NULL, 10) : 0;
}

static void filter_from(const struct api_job *job, struct alert_filter *f)
{
	*f = (struct alert_filter){
		.scope = job->who.scope, .region = api_arg(job, "region"), .state = api_arg(job, "state"),
		.rule = api_arg(job, "rule"), .severity = api_arg(job, "severity"), .entity = api_arg(job, "entity"),
		.kind = api_arg(job, "kind"), .from = arg_int(job, "from"), .to = arg_int(job, "to"),
		.limit = arg_int(job, "limit"),
	};
}

/* GET /api/v1/alerts */
int api_alerts(struct api_job *job, sqlite3 *db)
{
	struct alert_filter f;
	filter_from(job, &f);
	json_t *doc = NULL;
	int status = alert_query_list(db, &f, &doc);
	return api_reply_json(job, status, doc);
}

/* GET /api/v1/alerts/history */
int api_alert_history(struct api_job *job, sqlite3 *db)
{
	struct alert_filter f;
	filter_from(job, &f);
	json_t *doc = NULL;
	int status = alert_query_history(db, &f, &doc);
	return api_reply_json(job, status, doc);
}

/* "/api/v1/alerts/<id>[/<verb>]": the id, and the verb ("" when none); -1 if malformed. */
static int64_t parse_path(const struct api_job *job, char *verb, size_t cap)
{
	const char *rest = job->path + strlen("/api/v1/alerts/");
	char *end;
	long long id = strtoll(rest, &end, 10);
	if (end == rest || id <= 0 || (*end && *end != '/') || strlen(end) >= cap)
		return -1;
	snprintf(verb, cap, "%s", *end ? end + 1 : "");
	return id;
}

/* GET /api/v1/alerts/<id> */
int api_alert(struct api_job *job, sqlite3 *db)
{
	char verb[16];
	int64_t id = parse_path(job, verb, sizeof verb);
	if (id < 0 || verb[0])
		return api_error(job, 404, NULL, "use /api/v1/alerts/<id>");
	json_t *doc = NULL;
	int status = alert_query_one(db, id, job->who.scope, &doc);
	return api_reply_json(job, status, doc);
}

/*
 * The body of an action: a JSON object with only the members the action
 * takes, each of its type (schemas/alert-action.json). A typo ("comments")
 * or a number for a comment is refused, naming the member, rather than
 * acted on as if it were absent. `members` ends with NULL.
 */
static json_t *body_object(struct api_job *job, const char *const *members)
{
	json_error_t err;
	json_t *doc = job->body ? json_loadb(job->body, job->body_len, JSON_REJECT_DUPLICATES, &err) : json_object();
	if (!doc) {
		char reason[200];
		snprintf(reason, sizeof reason, "not JSON: %s (line %d column %d)", err.text, err.line, err.column);
		api_error(job, 400, "(body)", reason);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		api_error(job, 400, "(body)", "expected a JSON object (schemas/alert-action.json)");
		return NULL;
	}
	const char *key;
	json_t *value;
	json_object_foreach(doc, key, value) {
		const char *const *m = members;
		while (*m && strcmp(*m, key) != 0)
			m++;
		const char *why = !*m ? "is not taken by this action (schemas/alert-action.json)"
				: strcmp(key, "until") == 0 ? (json_is_integer(value) ? NULL
							       : "must be an integer Unix time, or 0 for until resolved")
				: json_is_string(value) ? NULL : "must be a string";
		if (why) {
			api_error(job, 422, key[0] ? key : "(body)", why);
			json_decref(doc);
			return NULL;
		}
	}
	return doc;
}

/* POST /api/v1/alerts/<id>/{ack,silence,unsilence,resolve,comment} */
int api_alert_action(struct api_job *job, sqlite3 *db)
{
	char verb[16];
	int64_t id = parse_path(job, verb, sizeof verb);
	if (id < 0)
		return api_error(job, 404, NULL, "use /api/v1/alerts/<id>/{ack,silence,unsilence,resolve,comment}");
	static const char *const comment_only[] = {"comment", NULL}, *const silence[] = {"reason", "until", NULL};
	static const struct {
		const char *verb;
		const char *const *members;
	} verbs[] = {{"ack", comment_only}, {"silence", silence}, {"unsilence", comment_only},
		     {"resolve", comment_only}, {"comment", comment_only}};
	const char *const *members = NULL;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verb, verbs[i].verb) == 0)
			members = verbs[i].members;
	if (!members)
		return api_error(job, 404, NULL, "use /api/v1/alerts/<id>/{ack,silence,unsilence,resolve,comment}");
	json_t *body = body_object(job, members);
	if (!body)
		return job->status;
	const char *comment = json_string_value(json_object_get(body, "comment"));
	const char *reason = json_string_value(json_object_get(body, "reason"));
	json_t *until = json_object_get(body, "until");
	struct alert_actor who = {.name = job->who.actor, .scope = job->who.scope, .peer = job->peer};
	json_t *doc = NULL;
	int status;
	if (strcmp(verb, "ack") == 0)
		status = alert_ack(db, id, &who, comment, job->now, &doc);
	else if (strcmp(verb, "silence") == 0)
		status = alert_silence(db, id, &who, (int64_t)json_integer_value(until), reason, job->now, &doc);
	else if (strcmp(verb, "unsilence") == 0)
		status = alert_unsilence(db, id, &who, comment, job->now, &doc);
	else if (strcmp(verb, "resolve") == 0)
		status = alert_resolve(db, id, &who, comment, job->now, &doc);
	else /* comment: the verbs were checked above */
		status = alert_comment(db, id, &who, comment, job->now, &doc);
	json_decref(body);
	return api_reply_json(job, status, doc);
}

/* POST /api/v1/alerts/ack-group {"group": "township_silent:<code>", "comment": "..."} */
int api_alert_ack_group(struct api_job *job, sqlite3 *db)
{
	static const char *const members[] = {"group", "comment", NULL};
	json_t *body = body_object(job, members);
	if (!body)
		return job->status;
	struct alert_actor who = {.name = job->who.actor, .scope = job->who.scope, .peer = job->peer};
	json_t *doc = NULL;
	int status = alert_ack_group(db, json_string_value(json_object_get(body, "group")), &who,
				     json_string_value(json_object_get(body, "comment")), job->now, &doc);
	json_decref(body);
	return api_reply_json(job, status, doc);
}

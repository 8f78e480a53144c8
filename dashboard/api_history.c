/*
 * api_history: GET /api/v1/history and /api/v1/state, on a reader thread.
 * History reads the RRD archive that fits the range (finest whose retention
 * covers it) and lays over it the rows the writer has not written yet, so a
 * chart is current to the last step; state is the newest such row. RRD
 * unknowns become JSON null; whole numbers are sent as integers.
 */
#include "api.h"

#include "api_cache.h"
#include "catalog.h"
#include "jbuf.h"
#include "log.h"
#include "registry.h"
#include "rrdfile.h"
#include "rrdread.h"
#include "rrdw.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANGE_S   (int64_t)(6 * 366 * 86400)
#define PENDING_ROWS  576 /* two days of steps: more than any flush interval */

json_t *api_number(double v)
{
	if (isnan(v) || isinf(v))
		return json_null();
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* Parse "a,b,c" into data-source positions of the entity's file. */
static int parse_metrics(struct api_job *job, enum cat_entity layout, int *ds, size_t *n)
{
	const char *list = api_arg(job, "metrics");
	const struct cat_layout *l = cat_layout(layout);
	*n = 0;
	if (!list || !*list) {
		for (size_t d = 0; d < l->n_ds; d++)
			ds[(*n)++] = (int)d;
		return 0;
	}
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	for (char *name = buf, *comma; name; name = comma ? comma + 1 : NULL) {
		comma = strchr(name, ',');
		if (comma)
			*comma = '\0';
		const struct cat_metric *m = cat_find(name);
		int at = m ? cat_ds_index(layout, m->index) : -1;
		if (at < 0 || *n >= CAT_MAX_DS) {
			char why[128];
			snprintf(why, sizeof why, "'%.40s' is not a metric of a %s", name, cat_entity_name(layout));
			api_error(job, 400, "metrics", why);
			return -1;
		}
		ds[(*n)++] = at;
	}
	return 0;
}

static int parse_time(struct api_job *job, const char *name, int64_t fallback, int64_t *out)
{
	const char *text = api_arg(job, name);
	if (!text) {
		*out = fallback;
		return 0;
	}
	char *end;
	long long v = strtoll(text, &end, 10);
	if (*text == '\0' || *end != '\0' || v < 946684800 || v > 4102444800) {
		api_error(job, 400, name, "must be Unix seconds between 2000 and 2100");
		return -1;
	}
	*out = v;
	return 0;
}

/* Merge written rows and pending rows into one timeline at `res` seconds per row. */
struct timeline {
	int64_t first, res;
	size_t n;
	double *values; /* n x n_ds */
	size_t n_ds;
};

static double *cell(struct timeline *tl, int64_t ts)
{
	if (ts < tl->first || (ts - tl->first) % tl->res)
		return NULL;
	size_t row = (size_t)((ts - tl->first) / tl->res);
	return row < tl->n ? tl->values + row * tl->n_ds : NULL;
}

/* The requested entity, copied out of the registry snapshot; -1 with the job's error set. */
static int subject(struct api_job *job, int64_t *entity_id, enum cat_entity *layout, char key[33],
		   int64_t *registry_version)
{
	const struct reg_entity *e;
	struct registry *reg = api_entity(job, &e);
	if (!reg)
		return -1;
	if (registry_version)
		*registry_version = reg->version;
	*layout = api_layout_of(e->kind);
	*entity_id = e->id;
	snprintf(key, 33, "%s", e->key);
	reg_release(reg);
	return 0;
}

size_t api_current_row(int64_t entity_id, enum cat_entity layout, int64_t now, double *values, int64_t *as_of)
{
	int64_t until = (now + RRDFILE_STEP - 1) / RRDFILE_STEP * RRDFILE_STEP, ts = 0;
	size_t n_ds = cat_layout(layout)->n_ds, pending_ds = 0;
	long n = rrdw_pending(entity_id, until, &ts, values, 1, &pending_ds);
	if (n != 1 || pending_ds != n_ds)
		for (size_t d = 0; d < n_ds; d++)
			values[d] = NAN;
	if (as_of)
		*as_of = n == 1 ? ts : 0;
	return n_ds;
}

json_t *api_values_json(enum cat_entity layout, const double *values)
{
	const struct cat_layout *l = cat_layout(layout);
	json_t *o = json_object();
	for (size_t d = 0; d < l->n_ds; d++)
		json_object_set_new(o, l->ds_name[d], api_number(values[d]));
	return o;
}

json_t *api_current_values(int64_t entity_id, enum cat_entity layout, int64_t now, int64_t *as_of)
{
	double values[CAT_MAX_DS];
	api_current_row(entity_id, layout, now, values, as_of);
	return api_values_json(layout, values);
}

static int repeated(const int *ds, size_t m)
{
	for (size_t i = 0; i < m; i++)
		if (ds[i] == ds[m])
			return 1;
	return 0;
}

/* What a history request asks for, in the form its reply depends on. */
struct history_plan {
	int64_t entity_id, start, end, res, until;
	enum cat_entity layout;
	char key[33];
	int ds[CAT_MAX_DS];
	size_t n_ds;
	struct timeline tl;   /* first, res, n, n_ds; no values yet */
	char cache_key[192];  /* everything else the reply depends on, but the generation */
};

/* The request's own part of a reply, which a cached reply gets anew. */
static size_t echo_text(const struct history_plan *p, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "\"start\":%lld,\"end\":%lld", (long long)p->start, (long long)p->end);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/*
 * The reply, written straight as text: as json_pack + json_dumps wrote it
 * (same keys, order and number format) at a fraction of the cost, since a
 * year of daily rows is thousands of numbers.
 */
static int reply_history(struct api_job *job, const struct history_plan *p, const struct timeline *tl,
			 size_t echo_at[2])
{
	enum cat_entity layout = p->layout;
	const int *ds = p->ds;
	size_t n_ds = p->n_ds;
	char echo[64];
	struct jbuf b;
	jbuf_init(&b, 128 + tl->n * (12 + 8 * n_ds));
	jbuf_str(&b, "{\"entity\":");
	jbuf_json_str(&b, p->key);
	jbuf_str(&b, ",\"kind\":\"");
	jbuf_str(&b, cat_entity_name(layout));
	jbuf_str(&b, "\",");
	echo_at[0] = b.len; /* "start":S,"end":E: what a cached copy gets anew */
	jbuf_raw(&b, echo, echo_text(p, echo, sizeof echo));
	echo_at[1] = b.len;
	jbuf_str(&b, ",\"step\":");
	jbuf_int(&b, tl->res);
	jbuf_str(&b, ",\"ts\":[");
	for (size_t r = 0; r < tl->n; r++) {
		if (r)
			jbuf_raw(&b, ",", 1);
		jbuf_int(&b, tl->first + (int64_t)r * tl->res);
	}
	jbuf_str(&b, "],\"values\":{");
	for (size_t m = 0, seen = 0; m < n_ds; m++) {
		if (repeated(ds, m))
			continue; /* a metric named twice is one key, as in a JSON object */
		jbuf_str(&b, seen++ ? ",\"" : "\"");
		jbuf_str(&b, cat_layout(layout)->ds_name[ds[m]]);
		jbuf_str(&b, "\":[");
		for (size_t r = 0; r < tl->n; r++) {
			if (r)
				jbuf_raw(&b, ",", 1);
			jbuf_number(&b, tl->values[r * tl->n_ds + (size_t)ds[m]]);
		}
		jbuf_raw(&b, "]", 1);
	}
	jbuf_str(&b, "}}");
	job->status = 200;
	free(job->reply);
	job->reply = jbuf_take(&b, &job->len);
	job->content_type = "application/json";
	return 200;
}

/* Parses and checks the request (registry and catalog: memory only, so the
 * service thread may call it too). -1 with the job's error reply set. */
static int plan_history(struct api_job *job, struct history_plan *p)
{
	int64_t registry_version;
	if (subject(job, &p->entity_id, &p->layout, p->key, &registry_version) < 0)
		return -1;
	int64_t now = job->now;
	if (parse_metrics(job, p->layout, p->ds, &p->n_ds) < 0 || parse_time(job, "end", now, &p->end) < 0 ||
	    parse_time(job, "start", p->end - 2 * 86400, &p->start) < 0)
		return -1;
	if (p->start >= p->end || p->end - p->start > MAX_RANGE_S) {
		api_error(job, 400, "start", "must be before end, at most 6 years apart");
		return -1;
	}
	p->res = rrdfile_pick_resolution(p->start, now);
	p->until = (now + RRDFILE_STEP - 1) / RRDFILE_STEP * RRDFILE_STEP; /* the step in progress */
	int64_t last = p->end < p->until ? p->end : p->until;
	p->tl = (struct timeline){.res = p->res, .n_ds = cat_layout(p->layout)->n_ds};
	p->tl.first = (p->start / p->res + 1) * p->res;
	last = (last + p->res - 1) / p->res * p->res;
	p->tl.n = last >= p->tl.first ? (size_t)((last - p->tl.first) / p->res) + 1 : 0;
	/* Rows depend on the step in progress (pending rows, project plans over time). */
	int at = snprintf(p->cache_key, sizeof p->cache_key, "history %lld %lld %lld %zu %lld %lld:",
			  (long long)p->entity_id, (long long)p->res, (long long)p->tl.first, p->tl.n,
			  (long long)p->until, (long long)registry_version);
	for (size_t m = 0; m < p->n_ds && at > 0 && (size_t)at < sizeof p->cache_key; m++)
		at += snprintf(p->cache_key + at, sizeof p->cache_key - (size_t)at, "%d,", p->ds[m]);
	if (at <= 0 || (size_t)at >= sizeof p->cache_key)
		p->cache_key[0] = '\0'; /* not cached */
	return 0;
}

int api_history_cached(struct api_job *job)
{
	struct history_plan p;
	char echo[64];
	size_t echo_len;
	if (plan_history(job, &p) < 0 || !p.cache_key[0] || !(echo_len = echo_text(&p, echo, sizeof echo))) {
		free(job->reply); /* the reader thread answers, errors included */
		job->reply = NULL;
		job->status = 0;
		return 0;
	}
	if (api_cache_get(p.cache_key, rrdw_generation(p.entity_id), job->now, echo, echo_len, &job->reply,
			  &job->len) < 0)
		return 0;
	job->status = 200;
	job->content_type = "application/json";
	return 1;
}

int api_history(struct api_job *job, sqlite3 *db)
{
	(void)db;
	struct history_plan p;
	if (plan_history(job, &p) < 0)
		return job->status;
	uint64_t generation = rrdw_generation(p.entity_id); /* before the rows: a change meanwhile shows */
	struct timeline tl = p.tl;
	size_t n_file_ds = tl.n_ds;
	tl.values = apiq_scratch(0, (tl.n ? tl.n : 1) * n_file_ds * sizeof *tl.values);

	/* The file's rows and the pending rows under the file's read lock: the
	 * writer moves rows from one to the other, and none may fall between. */
	char path[1024], err[512] = "";
	int got = -1;
	rrdw_read_begin(p.entity_id);
	if (rrdw_path(p.entity_id, path, sizeof path) == 0 && rrdw_prepare_read(path, err, sizeof err) == 0)
		got = rrdread_rows(path, RRDFILE_CF, p.res, tl.first, tl.n, n_file_ds, tl.values, err, sizeof err);
	if (got < 0) /* the chart still shows the pending rows */
		for (size_t i = 0; i < tl.n * n_file_ds; i++)
			tl.values[i] = NAN;
	/* Rows not yet in the file: a coarse row takes the last step inside it (LAST). */
	int64_t *pts = apiq_scratch(1, PENDING_ROWS * (sizeof *pts + CAT_MAX_DS * sizeof(double)));
	double *pvals = (double *)(pts + PENDING_ROWS);
	size_t pending_ds;
	long np = rrdw_pending(p.entity_id, p.until, pts, pvals, PENDING_ROWS, &pending_ds);
	rrdw_read_end(p.entity_id);
	if (got < 0 && err[0])
		log_warn_rl("history: %s", err);
	for (long r = 0; r < np && pending_ds == n_file_ds; r++) {
		double *row = cell(&tl, (pts[r] + p.res - 1) / p.res * p.res);
		if (row)
			memcpy(row, pvals + (size_t)r * pending_ds, n_file_ds * sizeof *row);
	}
	size_t echo_at[2];
	reply_history(job, &p, &tl, echo_at);
	if (p.cache_key[0] && echo_at[1] > echo_at[0]) { /* offered to the cache (api_http_collect) */
		snprintf(job->cache.key, sizeof job->cache.key, "%s", p.cache_key);
		job->cache.generation = generation;
		job->cache.expires = p.until + 1; /* then the step in progress, part of the key, moves on */
		job->cache.hole_at = echo_at[0];
		job->cache.hole_end = echo_at[1];
	}
	return job->status;
}

int api_state(struct api_job *job, sqlite3 *db)
{
	(void)db;
	int64_t entity_id, as_of;
	enum cat_entity layout;
	char key[33];
	if (subject(job, &entity_id, &layout, key, NULL) < 0)
		return job->status;
	json_t *values = api_current_values(entity_id, layout, job->now, &as_of);
	return api_reply_json(job, 200, json_pack("{s:s, s:s, s:I, s:o}", "entity", key,
		"kind", cat_entity_name(layout), "as_of", (json_int_t)as_of, "values", values));
}

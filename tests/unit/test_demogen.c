/*
 * test_demogen: the demo county. The generator's county passes the registry's
 * own rules (valid codes under present parents, nothing rejected on import,
 * export gives back the same bytes, plans through the milestones ingest give
 * plan.c's curves), repeats for a seed and differs for another, keeps its
 * counts at county and province scale; demo_ensure keeps entities and token
 * across starts; and the simulator's story, opening act first, run through
 * the real ingest code, is all accepted, leaves each scripted trouble in the
 * data, answers it, pays nobody twice on a restart and scales to a
 * province's million payments a month.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "conf.h"
#include "cst.h"
#include "db.h"
#include "demo.h"
#include "demogen.h"
#include "import.h"
#include "ingest.h"
#include "log.h"
#include "plan.h"
#include "regcode.h"
#include "registry.h"
#include "simstory.h"

#include <jansson.h>
#include <time.h>

static int64_t anchor_day(void)
{
	int64_t day;
	const char *why;
	assert_int_equal(cst_date_parse("2024-06-01", &day, &why), 0);
	return day;
}

static struct demogen *county(uint64_t seed)
{
	struct demogen_params p;
	char err[256];
	demogen_params_county(&p, DEMOGEN_DEFAULT_COUNTY, seed, anchor_day());
	struct demogen *g = demogen_generate(&p, err, sizeof err);
	assert_non_null(g);
	return g;
}

/* The three documents of a county, written to memory. */
struct texts {
	char *regions, *projects, *plans;
	size_t regions_len, projects_len, plans_len;
};

static void write_texts(const struct demogen *g, struct texts *t)
{
	FILE *f = open_memstream(&t->regions, &t->regions_len);
	assert_int_equal(demogen_write_regions_csv(g, f), 0);
	fclose(f);
	f = open_memstream(&t->projects, &t->projects_len);
	assert_int_equal(demogen_write_projects_csv(g, f), 0);
	fclose(f);
	f = open_memstream(&t->plans, &t->plans_len);
	assert_int_equal(demogen_write_milestones_json(g, 0, g->project_count, "plans", f), 0);
	fclose(f);
}

static void free_texts(struct texts *t)
{
	free(t->regions);
	free(t->projects);
	free(t->plans);
}

static void test_county_shape(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 5; seed++) {
		struct demogen *g = county(seed * 7919);
		assert_int_equal(g->county_count, 1);
		assert_in_range(g->township_count, 12, 20);
		assert_in_range(g->village_count, 200, 350);
		assert_in_range(g->project_count, 80, 150);
		assert_true(g->lagging_count >= 2);
		size_t neighbourhoods = 0, towns = 0;
		for (size_t i = 0; i < g->region_count; i++) {
			const struct demogen_region *r = &g->regions[i];
			const char *name = demogen_str(g, r->name);
			size_t len = strlen(name);
			if (r->level == REGCODE_TOWNSHIP) {
				int part = regcode_township_part(r->code);
				assert_true((part >= 100 && part <= 199) || (part >= 200 && part <= 399));
				assert_string_equal(name + len - 3, part < 200 ? "镇" : "乡");
				towns += part < 200;
			} else if (r->level == REGCODE_VILLAGE) {
				int part = regcode_village_part(r->code);
				assert_true((part >= 1 && part <= 199) || (part >= 200 && part <= 399));
				assert_string_equal(name + len - 3, part < 200 ? "区" : "村");
				neighbourhoods += part < 200;
				assert_true(r->poor_hh >= 1 && r->poor_people >= r->poor_hh && r->population > r->poor_people);
				assert_true(r->monitored_hh >= 1 && r->income_yuan >= 5000 && r->exited_pct <= 100);
			}
		}
		assert_true(towns >= 1 && neighbourhoods >= 1 && neighbourhoods * 10 < g->village_count);
		bool category_seen[DEMOGEN_CATEGORIES] = { false };
		for (size_t i = 0; i < g->project_count; i++) {
			const struct demogen_project *p = &g->projects[i];
			category_seen[p->category] = true;
			assert_in_range(p->milestone_count, 3, DEMOGEN_MAX_MILESTONES);
			assert_true(p->invest_fen > 0 && p->invest_fen % 100 == 0 && p->end_day > p->start_day);
			assert_true(p->households > 0 && p->poor_households <= p->households);
			assert_true(strncmp(demogen_departments[p->department], "县", 3) == 0);
			unsigned weights = 0;
			for (unsigned k = 0; k < p->milestone_count; k++) {
				const struct demogen_milestone *m = &g->milestones[p->first_milestone + k];
				weights += m->weight;
				assert_true(m->weight > 0);
				if (k > 0) /* strictly ascending dates: plan.c's order is then unambiguous */
					assert_true(m->planned_day > m[-1].planned_day);
				assert_true(m->done_day == 0 || m->done_day <= g->params.anchor_day);
			}
			assert_int_equal(weights, 100);
		}
		for (int c = 0; c < DEMOGEN_CATEGORIES; c++)
			assert_true(category_seen[c]);
		demogen_free(g);
	}
}

static void test_codes_pass_registry_rules(void **state)
{
	(void)state;
	struct demogen *g = county(DEMOGEN_DEFAULT_SEED);
	for (size_t i = 0; i < g->region_count; i++) {
		const struct demogen_region *r = &g->regions[i];
		const char *why = NULL;
		assert_int_equal(regcode_check(r->code, (enum regcode_level)r->level, &why), 0);
		assert_int_equal(regcode_level(r->code), r->level);
		if (i > 0) { /* preorder is ascending code order, so every code is new */
			assert_true(strcmp(g->regions[i - 1].code, r->code) < 0);
			char parent[REGCODE_SIZE];
			assert_int_equal(regcode_parent(r->code, parent), 0);
			assert_true(r->parent >= 0 && (size_t)r->parent < i);
			assert_string_equal(g->regions[r->parent].code, parent);
		} else {
			assert_int_equal(r->level, REGCODE_PROVINCE);
		}
	}
	for (size_t i = 0; i < g->project_count; i++) {
		const struct demogen_project *p = &g->projects[i];
		int level = g->regions[p->location].level;
		assert_true(level == REGCODE_VILLAGE || level == REGCODE_TOWNSHIP);
		assert_true(regcode_is_within(g->regions[p->location].code, g->regions[p->county].code));
		if (i > 0)
			assert_true(strcmp(g->projects[i - 1].id, p->id) < 0);
	}
	demogen_free(g);
}

static void test_same_seed_same_bytes(void **state)
{
	(void)state;
	struct demogen *a = county(42), *b = county(42), *c = county(43);
	struct texts ta = { 0 }, tb = { 0 }, tc = { 0 };
	write_texts(a, &ta);
	write_texts(b, &tb);
	write_texts(c, &tc);
	assert_int_equal(ta.regions_len, tb.regions_len);
	assert_memory_equal(ta.regions, tb.regions, ta.regions_len);
	assert_int_equal(ta.projects_len, tb.projects_len);
	assert_memory_equal(ta.projects, tb.projects, ta.projects_len);
	assert_int_equal(ta.plans_len, tb.plans_len);
	assert_memory_equal(ta.plans, tb.plans, ta.plans_len);
	assert_true(ta.regions_len != tc.regions_len || memcmp(ta.regions, tc.regions, ta.regions_len) != 0);
	assert_true(ta.projects_len != tc.projects_len || memcmp(ta.projects, tc.projects, ta.projects_len) != 0);
	free_texts(&ta);
	free_texts(&tb);
	free_texts(&tc);
	demogen_free(a);
	demogen_free(b);
	demogen_free(c);
}

/* Province-scale cases and the story's simulated days take minutes under
 * valgrind (tests/run.sh VALGRIND=1 sets FPMON_UNDER_VALGRIND); the other
 * cases there run the same generator code. */
static void skip_under_valgrind(void)
{
	if (getenv("FPMON_UNDER_VALGRIND"))
		skip();
}

/* The default province: 80 counties, 20,000 villages, 20,000 projects. */
static struct demogen *province(void)
{
	struct demogen_params p;
	char err[256];
	demogen_params_province(&p, "610000000000", DEMOGEN_DEFAULT_PROVINCE_COUNTIES, 7, anchor_day());
	struct demogen *g = demogen_generate(&p, err, sizeof err);
	assert_non_null(g);
	return g;
}

static void test_province_scale(void **state)
{
	(void)state;
	skip_under_valgrind();
	struct demogen_params p;
	char err[256];
	struct demogen *g = province();
	assert_int_equal(g->county_count, 80);
	assert_int_equal(g->village_count, 20000);
	assert_int_equal(g->project_count, 20000);
	assert_int_equal(g->region_count, 1 + 8 + 80 + g->township_count + 20000);
	assert_in_range(g->township_count, 80 * 12, 80 * 20);
	for (size_t i = 1; i < g->region_count; i++)
		assert_true(strcmp(g->regions[i - 1].code, g->regions[i].code) < 0);
	for (size_t i = 1; i < g->project_count; i++)
		assert_true(strcmp(g->projects[i - 1].id, g->projects[i].id) < 0);
	/* compact: names in one pool, fixed-size records */
	assert_true(sizeof(struct demogen_region) <= 48 && sizeof(struct demogen_project) <= 80);
	assert_true(g->pool_len < 100 * (g->region_count + g->project_count));
	/* county 1 of a province is drawn from its own stream: the same with 2 counties */
	demogen_params_province(&p, "610000000000", 2, 7, anchor_day());
	struct demogen *small = demogen_generate(&p, err, sizeof err);
	assert_non_null(small);
	assert_string_equal(demogen_str(g, g->projects[0].name), demogen_str(small, small->projects[0].name));
	demogen_free(small);
	demogen_free(g);
	/* parameters that cannot make a valid registry are refused with a reason */
	demogen_params_county(&p, "610800000000", 1, anchor_day());
	assert_null(demogen_generate(&p, err, sizeof err));
	assert_non_null(strstr(err, "610800000000"));
}

/* ---- through the database ---- */

struct fixture {
	char dir[64];
	sqlite3 *db;
};

static int setup_db(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_demogen.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char path[128], err[256];
	snprintf(path, sizeof path, "%s/fpmon.db", f->dir);
	log_set_level(LOG_WARN);
	f->db = db_open(path, DB_SYNC_NORMAL, err, sizeof err);
	conf_defaults();
	if (!f->db || conf_set("data_dir", f->dir, err, sizeof err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown_db(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	static const char *const files[] = { "fpmon.db", "fpmon.db-wal", "fpmon.db-shm", "demo-token", "demo-county" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[128];
		snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static char *export_text(sqlite3 *db, bool projects, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);
	assert_int_equal(projects ? import_export_projects(db, out) : import_export_regions(db, out), 0);
	fclose(out);
	return text;
}

/* The county's CSV files through the importers into an empty registry: every row inserted. */
static void import_county(sqlite3 *db, const struct demogen *g, const struct texts *t)
{
	struct import_report rep;
	assert_int_equal(import_regions(db, t->regions, t->regions_len, &rep), 0);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(rep.inserted, g->region_count);
	import_report_free(&rep);
	assert_int_equal(import_projects(db, t->projects, t->projects_len, &rep), 0);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(rep.inserted, g->project_count);
	import_report_free(&rep);
}

static void test_import_accepts_every_row(void **state)
{
	struct fixture *f = *state;
	struct demogen *g = county(DEMOGEN_DEFAULT_SEED);
	struct texts t = { 0 };
	write_texts(g, &t);
	import_county(f->db, g, &t);
	/* what the office would export is byte for byte what the generator wrote */
	size_t len;
	char *exported = export_text(f->db, false, &len);
	assert_int_equal(len, t.regions_len);
	assert_memory_equal(exported, t.regions, len);
	free(exported);
	exported = export_text(f->db, true, &len);
	assert_int_equal(len, t.projects_len);
	assert_memory_equal(exported, t.projects, len);
	free(exported);
	free_texts(&t);
	demogen_free(g);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return v;
}

static void read_file_text(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *file = fopen(path, "r");
	buf[0] = '\0';
	if (file) {
		size_t n = fread(buf, 1, cap - 1, file);
		buf[n] = '\0';
		fclose(file);
	}
}

/* Whether `token` (file text with its newline) opens the ingest API as the simulator. */
static bool token_works(sqlite3 *db, const char *file_text)
{
	char token[160];
	snprintf(token, sizeof token, "%.*s", (int)strcspn(file_text, "\n"), file_text);
	struct ingest_ctx *ctx = ingest_ctx_new(db);
	struct ingest_source src;
	bool ok = ingest_authenticate(ctx, token, &src) == 0 && strcmp(src.name, "simulator") == 0;
	ingest_ctx_free(ctx);
	return ok;
}

static void test_demo_ensure_keeps_county_and_token(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", token[160], again[160], county_file[256];
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	int64_t entities = scalar(f->db, "SELECT count(*) FROM entity");
	int64_t id_sum = scalar(f->db, "SELECT sum(id) FROM entity");
	int64_t milestones = scalar(f->db, "SELECT count(*) FROM milestone");
	int64_t version = scalar(f->db, "SELECT value FROM meta WHERE key = 'registry_version'");
	assert_true(entities > 280 && milestones > 80 * 3);
	assert_int_equal(scalar(f->db, "SELECT value FROM meta WHERE key = 'demo_state'"), 2);
	read_file_text(f->dir, "demo-token", token, sizeof token);
	assert_true(strncmp(token, "fpm_", 4) == 0 && token_works(f->db, token));
	read_file_text(f->dir, "demo-county", county_file, sizeof county_file);
	assert_non_null(strstr(county_file, "county=610824000000\n"));

	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM entity"), entities);
	assert_int_equal(scalar(f->db, "SELECT sum(id) FROM entity"), id_sum);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM milestone"), milestones);
	assert_int_equal(scalar(f->db, "SELECT value FROM meta WHERE key = 'registry_version'"), version);
	read_file_text(f->dir, "demo-token", again, sizeof again);
	assert_string_equal(token, again);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM ingest_token"), 1);

	/* every kind, also for a token an earlier start made with the table's older default */
	static const char all_kinds[] = "SELECT count(*) FROM ingest_token WHERE name = 'simulator' AND kinds ="
					" 'samples,payment_batches,payment_results,progress,milestones,monitoring'";
	assert_int_equal(scalar(f->db, all_kinds), 1);
	assert_int_equal(sqlite3_exec(f->db, "UPDATE ingest_token SET kinds = 'samples,payment_batches,payment_results,"
				      "progress,milestones'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	assert_int_equal(scalar(f->db, all_kinds), 1);
	read_file_text(f->dir, "demo-token", again, sizeof again);
	assert_string_equal(token, again);
	assert_true(token_works(f->db, token));

	/* the token file lost: only a hash is stored, so a new token replaces the old one */
	char path[128];
	snprintf(path, sizeof path, "%s/demo-token", f->dir);
	unlink(path);
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	read_file_text(f->dir, "demo-token", again, sizeof again);
	assert_string_not_equal(token, again);
	assert_true(token_works(f->db, again) && !token_works(f->db, token));

	/* a configured token wins */
	assert_int_equal(conf_set("demo_token", "fpm_configured-demo-token", err, sizeof err), 0);
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	assert_true(token_works(f->db, "fpm_configured-demo-token\n") && !token_works(f->db, again));
	read_file_text(f->dir, "demo-token", again, sizeof again);
	assert_string_equal(again, "fpm_configured-demo-token\n"); /* the file follows, for README's script */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM entity"), entities);
}

/* The plans stored for the generator's projects give plan.c's PV exactly as demogen computes it. */
static void assert_plans_match(sqlite3 *db, const struct demogen *g)
{
	struct plan_set plans;
	assert_int_equal(plan_load(db, &plans), 0);
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM entity WHERE kind = 'project' AND key = ?1");
	for (size_t i = 0; i < g->project_count; i++) {
		sqlite3_bind_text(st, 1, g->projects[i].id, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		const struct plan *plan = plan_find(&plans, sqlite3_column_int64(st, 0));
		sqlite3_reset(st);
		assert_non_null(plan);
		for (int64_t day = g->projects[i].start_day - 30; day < g->projects[i].end_day + 60; day += 7) {
			int64_t ts = cst_day_start(day) + 12345;
			assert_float_equal(plan_pv(plan, ts), demogen_planned_pct(g, i, ts), 1e-9);
		}
	}
	sqlite3_finalize(st);
	plan_set_free(&plans);
}

static void test_demo_plans_match_plan_c(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	struct demogen_params p;
	demogen_params_county(&p, DEMOGEN_DEFAULT_COUNTY, (uint64_t)db_meta_get(f->db, "demo_seed", 0),
			      db_meta_get(f->db, "demo_anchor_day", 0));
	struct demogen *g = demogen_generate(&p, err, sizeof err);
	assert_non_null(g);
	assert_plans_match(f->db, g);
	demogen_free(g);
}

static void test_demo_leaves_a_real_registry_alone(void **state)
{
	struct fixture *f = *state;
	static const char regions[] = "code,name\n610000000000,陕西省\n610800000000,榆林市\n610824000000,靖边县\n";
	struct import_report rep;
	assert_int_equal(import_regions(f->db, regions, sizeof regions - 1, &rep), 0);
	import_report_free(&rep);
	char err[256] = "";
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM entity"), 3);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM ingest_token WHERE name = 'simulator'"), 1);
}

/* ---- the story, through the real ingest code (no HTTP) ---- */

static int64_t story_clock_now;
static int64_t story_clock(void) { return story_clock_now; }

struct story_run {
	sqlite3 *db;
	struct ingest_ctx *ctx;
	struct ingest_source src;
	struct ingest_effects fx;
	unsigned requests[SIMSTORY_KINDS];
};

static void story_ingest(void *arg, enum simstory_kind kind, const char *body, size_t len, const char *what)
{
	static const enum ingest_kind kinds[SIMSTORY_KINDS] = {
		ING_SAMPLES, ING_PAYMENT_BATCH, ING_PAYMENT_RESULTS, ING_PROGRESS, ING_MILESTONES, ING_MONITORING,
	};
	struct story_run *run = arg;
	char *reply = NULL;
	size_t reply_len = 0;
	assert_int_equal(db_begin(run->db), 0);
	int status = ingest_handle(run->ctx, &run->src, kinds[kind], body, len, &run->fx, &reply, &reply_len);
	assert_int_equal(db_commit(run->db), 0);
	ingest_effects_reset(&run->fx);
	reg_refresh(run->db);
	json_t *verdict = json_loadb(reply, reply_len, 0, NULL);
	if (status != 200 || json_integer_value(json_object_get(verdict, "rejected")) != 0)
		fail_msg("%s: HTTP %d %.400s", what, status, reply);
	run->requests[kind]++;
	json_decref(verdict);
	free(reply);
}

static int64_t project_entity(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM entity WHERE kind = 'project' AND key = ?1");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return id;
}

static int64_t scalarf(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t scalarf(sqlite3 *db, const char *fmt, ...)
{
	char sql[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return scalar(db, sql);
}

/* Plays `days` simulated days at 3600x from real time `start`, after the opening act when asked. */
static struct simstory *play(struct story_run *run, const struct demogen *g, double start, double days, bool history,
			     const char *run_id)
{
	struct simstory_options so = { .speed = 3600, .start = start, .run_id = run_id };
	struct simstory *story = simstory_new(g, &so);
	story_clock_now = (int64_t)start;
	if (history)
		simstory_history(story, story_ingest, run);
	else /* a restart: fpmsim's probe found the opening act stored */
		simstory_set_history_known(story);
	for (double now = start; now < start + days * 86400 / so.speed;) {
		story_clock_now = (int64_t)now;
		now += simstory_advance(story, now, story_ingest, run);
	}
	return story;
}

/* The one entity simstory_write_roles names for `rule` ("" for none). */
static void role_of(const struct simstory *story, const char *rule, char *out, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	simstory_write_roles(story, f);
	fclose(f);
	json_t *roles = json_loads(text, 0, NULL);
	assert_non_null(roles);
	const char *key = json_string_value(json_array_get(json_object_get(roles, rule), 0));
	snprintf(out, cap, "%s", key ? key : "");
	json_decref(roles);
	free(text);
}

/* Monitored households past the 15-day limit at some moment up to `now`: help or removal came later, or never. */
#define MONITOR_LATE "SELECT count(*) FROM monitor_household WHERE coalesce(helped_at, risk_removed_at, %lld)" \
		     " - flagged_at > 15 * 86400"

/* What a township's villages reported themselves (card payments are the bank's) in [from, to). */
#define SAMPLES_OF_TOWNSHIP "SELECT count(*) FROM sample s JOIN entity e ON e.id = s.entity_id" \
			    " WHERE e.key LIKE '%.9s%%' AND e.kind = 'village' AND s.metric = %d AND s.ts >= %lld AND s.ts < %lld"
#define DAYS_BACK(d) ((long long)(start - (d) * 86400))

/*
 * The opening act and twelve and a half simulated days after it, at 3600x:
 * every item accepted, each scripted trouble true at the start in the data
 * the alert rules read, and answered as the schedule says. Then a restart in
 * the same month: the same payments again, all duplicates, nobody paid twice.
 */
static void test_story_through_ingest(void **state)
{
	skip_under_valgrind(); /* the daemon's ingest runs under memcheck in the integration tests */
	struct fixture *f = *state;
	char err[256] = "", token[160];
	assert_int_equal(cat_load(err, sizeof err), 0);
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0);
	reg_refresh(f->db);
	struct demogen_params p;
	demogen_params_county(&p, DEMOGEN_DEFAULT_COUNTY, (uint64_t)db_meta_get(f->db, "demo_seed", 0),
			      db_meta_get(f->db, "demo_anchor_day", 0));
	struct demogen *g = demogen_generate(&p, err, sizeof err);
	struct story_run run = { .db = f->db, .ctx = ingest_ctx_new(f->db) };
	ingest_set_clock(run.ctx, story_clock);
	read_file_text(f->dir, "demo-token", token, sizeof token);
	token[strcspn(token, "\n")] = '\0';
	assert_int_equal(ingest_authenticate(run.ctx, token, &run.src), 0);

	const double start = (double)time(NULL);
	struct simstory *story = play(&run, g, start, 12.5, true, "t1");
	/* payments: 5 failures of the opening (answered at +12 h) and 6 of month 0, each reissued and paid */
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM payment WHERE status = 'failed' AND reissued = 1"), 11);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM payment WHERE reissue_of IS NOT NULL AND status = 'paid'"), 11);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM payment WHERE status = 'sent'"), 0);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM pay_batch WHERE funds_at_bank IS NULL"), 0);
	/* the late bank: funds at the bank 30 h before the start, results only in the run */
	assert_int_equal(scalarf(f->db, "SELECT count(*) FROM pay_batch b WHERE b.funds_at_bank = %lld AND"
				 " (SELECT min(result_at) FROM payment p WHERE p.batch_id = b.id) >= %lld",
				 DAYS_BACK(1.25), (long long)start), 1);
	/* the opening's failures were a week old at the start */
	assert_int_equal(scalarf(f->db, "SELECT count(*) FROM payment WHERE status = 'failed' AND result_at < %lld",
				 DAYS_BACK(4)), 5);
	/* duplicate subsidies: same household, fund type and period from two departments, 3 a month */
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM (SELECT p.household FROM payment p JOIN pay_batch b"
			 " ON b.id = p.batch_id GROUP BY p.household, b.fund_type, b.period"
			 " HAVING count(DISTINCT b.department) > 1)"), 6);
	/* the stall: one figure in every report from 65 days back until the restart (+1.5 d: 36 s here) */
	int64_t stalled = project_entity(f->db, g->projects[simstory_role_project(story, 0, true)].id);
	long long restart = (long long)start + 36;
	assert_true(scalarf(f->db, "SELECT min(ts) FROM progress_report WHERE project_id = %lld AND progress_pct ="
			    " (SELECT progress_pct FROM progress_report WHERE project_id = %lld AND ts < %lld"
			    " ORDER BY ts DESC LIMIT 1)", (long long)stalled, (long long)stalled, restart) <= DAYS_BACK(60));
	assert_int_equal(scalarf(f->db, "SELECT count(DISTINCT progress_pct) FROM progress_report WHERE project_id = %lld"
				 " AND ts >= %lld AND ts < %lld", (long long)stalled, DAYS_BACK(60), restart), 1);
	assert_true(scalarf(f->db, "SELECT count(DISTINCT progress_pct) FROM progress_report WHERE project_id = %lld"
			    " AND ts >= %lld", (long long)stalled, restart) >= 1);
	/* catching up finishes the milestone it was late with */
	size_t catching_up = simstory_role_project(story, 0, false);
	int64_t done_before = 0;
	for (unsigned k = 0; k < g->projects[catching_up].milestone_count; k++)
		done_before += g->milestones[g->projects[catching_up].first_milestone + k].done_day != 0;
	assert_true(scalarf(f->db, "SELECT count(*) FROM milestone WHERE project_id = %lld AND done_date IS NOT NULL",
			    (long long)project_entity(f->db, g->projects[catching_up].id)) > done_before);
	/* the silent township: its villages report until 40 days back, then from +1 d (24 s here) */
	const char *township = g->regions[simstory_silent_township(story, 0)].code;
	int poor_hh = cat_find("poor_hh")->index;
	assert_true(scalarf(f->db, SAMPLES_OF_TOWNSHIP, township, poor_hh, DAYS_BACK(70), DAYS_BACK(40)) > 0);
	assert_int_equal(scalarf(f->db, SAMPLES_OF_TOWNSHIP, township, poor_hh, DAYS_BACK(40), (long long)start + 24), 0);
	assert_true(scalarf(f->db, SAMPLES_OF_TOWNSHIP, township, poor_hh, (long long)start + 24, (long long)start + 9999) > 0);
	/* the idle project's advance is more than a year old */
	assert_int_equal(scalarf(f->db, "SELECT count(*) FROM sample s JOIN entity e ON e.id = s.entity_id"
				 " WHERE e.key = '%s' AND s.ts < %lld AND s.value > 0", g->projects[simstory_idle_project(story)].id,
				 DAYS_BACK(365)), 1);
	/* monitored households, named like the payments' (village code + number): every village's roster,
	 * flags in the run identified and helped, a few hardships passed; one household waited past the
	 * 15-day limit from the opening act until its help at +2.5 d (60 s here) */
	long long now = (long long)story_clock_now;
	char village[16];
	role_of(story, "monitoring_overdue", village, sizeof village);
	int64_t monitored = scalar(f->db, "SELECT count(*) FROM monitor_household");
	assert_true(monitored >= (int64_t)g->village_count * 24);
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM monitor_household m JOIN entity e ON e.id = m.village_id"
			 " WHERE length(m.household) <> 16 OR substr(m.household, 1, 12) <> e.key"), 0);
	assert_int_equal(scalar(f->db, "SELECT count(DISTINCT category) FROM monitor_household"), 3);
	assert_true(scalarf(f->db, "SELECT count(*) FROM monitor_household WHERE flagged_at >= %lld AND"
			    " helped_at > identified_at", (long long)start) > 10);
	assert_true(scalar(f->db, "SELECT count(*) FROM monitor_household WHERE risk_removed_at IS NOT NULL"
			   " AND helped_at IS NULL") > 0);
	assert_int_equal(scalarf(f->db, MONITOR_LATE, now), 1);
	assert_int_equal(scalarf(f->db, MONITOR_LATE " AND identified_at IS NOT NULL AND helped_at BETWEEN %lld AND %lld"
				 " AND flagged_at < %lld AND village_id = (SELECT id FROM entity WHERE key = '%s')", now,
				 (long long)start + 59, (long long)start + 61, (long long)cst_day_start(cst_day((int64_t)start) - 15),
				 village), 1);
	simstory_free(story);

	/* a restart a minute later (same month), without the opening act: not one payment more, and the
	 * villages' allocations go on from where they were (they count the opening's months) */
	int64_t payments = scalar(f->db, "SELECT count(*) FROM payment");
	int funds = cat_find("funds_alloc_fen")->index;
	int64_t allocated = scalarf(f->db, "SELECT sum(value) FROM latest WHERE key %% 256 = %d", funds);
	story = play(&run, g, start + 60, 12.5, false, "t2");
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM payment"), payments);
	assert_true(scalarf(f->db, "SELECT sum(value) FROM latest WHERE key %% 256 = %d", funds) >= allocated);
	/* the same rosters again, nobody newly overdue */
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM monitor_household"), monitored);
	assert_int_equal(scalarf(f->db, MONITOR_LATE " AND helped_at IS NULL", (long long)story_clock_now), 0);
	simstory_free(story);

	ingest_effects_free(&run.fx);
	ingest_ctx_free(run.ctx);
	demogen_free(g);
	reg_publish(NULL);
	cat_free();
}

/*
 * The registry as an office would load what fpmsim --print-registry writes:
 * the CSV files through the importers, the milestone plans through the
 * milestones ingest. Every row and item is accepted and the plans are the
 * generator's (the same registry demo_ensure builds).
 */
static void test_registry_through_import_and_ingest(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", token[160];
	assert_int_equal(cat_load(err, sizeof err), 0);
	struct demogen *g = county(DEMOGEN_DEFAULT_SEED);
	struct texts t = { 0 };
	write_texts(g, &t);
	import_county(f->db, g, &t);
	assert_int_equal(demo_ensure(f->db, err, sizeof err), 0); /* a registry is there: only the token */
	reg_refresh(f->db);
	struct story_run run = { .db = f->db, .ctx = ingest_ctx_new(f->db) };
	read_file_text(f->dir, "demo-token", token, sizeof token);
	token[strcspn(token, "\n")] = '\0';
	assert_int_equal(ingest_authenticate(run.ctx, token, &run.src), 0);
	story_ingest(&run, SIMSTORY_MILESTONES, t.plans, t.plans_len, "plans"); /* fails on any rejection */
	assert_int_equal(scalar(f->db, "SELECT count(*) FROM milestone"), (int64_t)g->milestone_count);
	assert_plans_match(f->db, g);
	ingest_effects_free(&run.fx);
	ingest_ctx_free(run.ctx);
	free_texts(&t);
	demogen_free(g);
	reg_publish(NULL);
	cat_free();
}

/* Payments of a month's first submissions (reissues aside) at province scale with --payments 1000000. */
static void count_payments(void *arg, enum simstory_kind kind, const char *body, size_t len, const char *what)
{
	(void)len;
	if (kind != SIMSTORY_PAYMENT_BATCH || strstr(what, "reissue"))
		return;
	for (const char *at = strstr(body, "\"household\""); at; at = strstr(at + 1, "\"household\""))
		++*(size_t *)arg;
}

static void test_story_scales_to_a_province(void **state)
{
	(void)state;
	skip_under_valgrind();
	struct demogen *g = province();
	const double speed = 1e6, start = (double)cst_day_start(anchor_day()) + 3600;
	struct simstory_options so = { .speed = speed, .start = start, .run_id = "p", .payments = 1e6 };
	struct simstory *story = simstory_new(g, &so);
	size_t payments = 0;
	for (double now = start; now < start + 30 * 86400 / speed;)
		now += simstory_advance(story, now, count_payments, &payments);
	assert_in_range(payments, 950000, 1050000);
	simstory_free(story);
	demogen_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_county_shape),
		cmocka_unit_test(test_codes_pass_registry_rules),
		cmocka_unit_test(test_same_seed_same_bytes),
		cmocka_unit_test(test_province_scale),
		cmocka_unit_test_setup_teardown(test_import_accepts_every_row, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_demo_ensure_keeps_county_and_token, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_demo_plans_match_plan_c, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_demo_leaves_a_real_registry_alone, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_story_through_ingest, setup_db, teardown_db),
		cmocka_unit_test_setup_teardown(test_registry_through_import_and_ingest, setup_db, teardown_db),
		cmocka_unit_test(test_story_scales_to_a_province),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

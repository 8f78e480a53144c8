/*
 * fpmsim: the demo county's simulator. A separate program that speaks to
 * fpmond only through the public ingest API with its own token, as a bank
 * feed or a village reporting tool would: it rebuilds the demo county from
 * the generator's seed, plays the story (collector/simstory.c) on a
 * simulated clock, after the opening act (the county's recent past) when the
 * server has not had it yet, optionally adds sustained sample load on
 * parallel connections, and ends with a verdict summary per kind of message.
 */
#include "cst.h"
#include "demogen.h"
#include "simhttp.h"
#include "simstory.h"
#include "xalloc.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_ATTEMPTS 8
#define MAX_WORKERS 64

struct options {
	const char *url, *token, *token_file, *county_file, *print_dir;
	char token_value[160], county[REGCODE_SIZE];
	uint64_t seed;
	int64_t anchor_day;
	double speed, rate, duration, payments;
	int connections, counties, townships, villages, projects;
	int history;                /* -1 never, 0 when the server has not had it, 1 always */
	bool province, story, send_plans, verbose;
};

struct tally {
	unsigned long long requests, accepted, rejected, duplicates, late, replayed, failed, retried;
};

static volatile sig_atomic_t stopping;
static pthread_mutex_t tally_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tally tallies[SIMSTORY_KINDS];
static unsigned problems_printed;
static double run_start;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_real(double seconds)
{
	if (seconds <= 0)
		return;
	struct timespec ts = { (time_t)seconds, (long)((seconds - floor(seconds)) * 1e9) };
	nanosleep(&ts, NULL);
}

static int usage(FILE *out)
{
	fprintf(out,
		"usage: fpmsim [options]\n"
		"  --url URL            server (default http://127.0.0.1:8080)\n"
		"  --token T | --token-file F   the ingest token (fpmond demo = 1 writes <data_dir>/demo-token)\n"
		"  --county-file F      seed, county and anchor of the demo county (default: demo-county beside\n"
		"                       the token file, as fpmond writes it)\n"
		"  --seed N --county CODE --anchor YYYY-MM-DD   override what the county file says\n"
		"  --speed X            simulated seconds per real second (default 1; 3600: an hour a second)\n"
		"  --history            play the opening act (the last %d days, with past timestamps) even if\n"
		"                       the server had it already\n"
		"  --no-history         never play it (default: play it once per county, for a single county;\n"
		"                       at province scale only with --history)\n"
		"  --scale county|province   one county, or a province (default 80 counties of 250 villages\n"
		"                       and 250 projects: 20,000 of each)\n"
		"  --counties N --townships N --villages N --projects N   explicit counts (villages and projects per county)\n"
		"  --payments N         card payments per 30-day month cycle (default: the story's own, ~2 per\n"
		"                       village; --scale province --payments 1000000 for a province's month)\n"
		"  --rate N             extra sustained load in samples/s (batches up to %d samples)\n"
		"  --connections N      parallel connections for the load (default 4)\n"
		"  --no-story           load only (no opening act either)\n"
		"  --send-plans         send the milestone plans first (for a registry imported by hand)\n"
		"  --duration S         stop after S real seconds (default: until Ctrl-C)\n"
		"  --print-registry DIR write regions.csv, projects.csv and milestones*.json there and exit\n"
		"  -v, --verbose        log every request\n"
		"Live messages carry the real time of sending, the opening act's the real past; the simulated\n"
		"clock only drives the story. At start fpmsim prints the schedule with real times, and a line\n"
		"'roles: {rule: [entity keys]}' naming what each alert rule should name after the opening act.\n"
		"Exit status 0 when every item was accepted.\n"
		"Load for a soak test, on a province imported from --print-registry with fpmctl:\n"
		"  fpmsim --scale province --send-plans --payments 1000000 --rate 5000 --speed 3600 --token T\n",
		SIMSTORY_HISTORY_DAYS, SIMSTORY_MAX_ITEMS);
	return out == stdout ? 0 : 2;
}

static bool parse_number(const char *text, double low, double high, double *out)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (errno || end == text || *end || !(value >= low && value <= high))
		return false;
	*out = value;
	return true;
}

/* seed=, county=, anchor= lines; flags given on the command line win. */
static int read_county_file(const char *path, struct options *o, bool seed_given, bool county_given, bool anchor_given)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		const char *why;
		if (strncmp(line, "seed=", 5) == 0 && !seed_given)
			o->seed = strtoull(line + 5, NULL, 10);
		else if (strncmp(line, "county=", 7) == 0 && !county_given)
			snprintf(o->county, sizeof o->county, "%.12s", line + 7);
		else if (strncmp(line, "anchor=", 7) == 0 && !anchor_given && cst_date_parse(line + 7, &o->anchor_day, &why) < 0)
			fprintf(stderr, "fpmsim: %s: anchor %s\n", path, why);
		else if (strncmp(line, "generator=", 10) == 0 && strtol(line + 10, NULL, 10) != DEMOGEN_VERSION)
			fprintf(stderr, "fpmsim: warning: %s was made by generator version %s, this is version %d: "
				"plans and names may differ from the server's\n", path, line + 10, DEMOGEN_VERSION);
	}
	fclose(f);
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .url = "http://127.0.0.1:8080", .seed = DEMOGEN_DEFAULT_SEED, .speed = 1,
			       .connections = 4, .story = true, .anchor_day = cst_day((int64_t)time(NULL)) };
	snprintf(o->county, sizeof o->county, "%s", DEMOGEN_DEFAULT_COUNTY);
	bool seed_given = false, county_given = false, anchor_given = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL, *why;
		double number;
		bool takes_value = true;
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			exit(usage(stdout));
		if (strcmp(arg, "--history") == 0 || strcmp(arg, "--no-history") == 0) {
			o->history = strcmp(arg, "--history") == 0 ? 1 : -1;
			continue;
		}
		if (strcmp(arg, "--no-story") == 0 || strcmp(arg, "--send-plans") == 0 || strcmp(arg, "-v") == 0 ||
		    strcmp(arg, "--verbose") == 0) {
			o->story &= strcmp(arg, "--no-story") != 0;
			o->send_plans |= strcmp(arg, "--send-plans") == 0;
			o->verbose |= arg[1] == 'v' || strcmp(arg, "--verbose") == 0;
			continue;
		}
		if (!value) {
			fprintf(stderr, "fpmsim: %s needs a value\n", arg);
			return -1;
		}
		if (strcmp(arg, "--url") == 0) {
			o->url = value;
		} else if (strcmp(arg, "--token") == 0) {
			o->token = value;
		} else if (strcmp(arg, "--token-file") == 0) {
			o->token_file = value;
		} else if (strcmp(arg, "--county-file") == 0) {
			o->county_file = value;
		} else if (strcmp(arg, "--print-registry") == 0) {
			o->print_dir = value;
		} else if (strcmp(arg, "--seed") == 0 && parse_number(value, 0, 9e15, &number)) {
			o->seed = (uint64_t)number;
			seed_given = true;
		} else if (strcmp(arg, "--county") == 0 && strlen(value) == REGCODE_LEN) {
			snprintf(o->county, sizeof o->county, "%.12s", value);
			county_given = true;
		} else if (strcmp(arg, "--anchor") == 0 && cst_date_parse(value, &o->anchor_day, &why) == 0) {
			anchor_given = true;
		} else if (strcmp(arg, "--speed") == 0 && parse_number(value, 0.001, 1e7, &number)) {
			o->speed = number;
		} else if (strcmp(arg, "--payments") == 0 && parse_number(value, 0, 1e8, &number)) {
			o->payments = number;
		} else if (strcmp(arg, "--rate") == 0 && parse_number(value, 0, 1e8, &number)) {
			o->rate = number;
		} else if (strcmp(arg, "--duration") == 0 && parse_number(value, 0, 1e9, &number)) {
			o->duration = number;
		} else if (strcmp(arg, "--connections") == 0 && parse_number(value, 1, MAX_WORKERS, &number)) {
			o->connections = (int)number;
		} else if (strcmp(arg, "--scale") == 0 && (strcmp(value, "county") == 0 || strcmp(value, "province") == 0)) {
			o->province = strcmp(value, "province") == 0;
		} else if (strcmp(arg, "--counties") == 0 && parse_number(value, 1, 990, &number)) {
			o->counties = (int)number;
			o->province = true;
		} else if (strcmp(arg, "--townships") == 0 && parse_number(value, 1, 300, &number)) {
			o->townships = (int)number;
		} else if (strcmp(arg, "--villages") == 0 && parse_number(value, 1, 59700, &number)) {
			o->villages = (int)number;
		} else if (strcmp(arg, "--projects") == 0 && parse_number(value, 1, 9999, &number)) {
			o->projects = (int)number;
		} else {
			takes_value = false;
		}
		if (!takes_value) {
			fprintf(stderr, "fpmsim: bad option or value: %s %s\n", arg, value);
			return -1;
		}
		i++;
	}
	if (!o->county_file && o->token_file) {
		/* fpmond writes demo-county beside demo-token: use it when it is there */
		static char beside[600];
		const char *slash = strrchr(o->token_file, '/');
		snprintf(beside, sizeof beside, "%.*sdemo-county", slash ? (int)(slash - o->token_file + 1) : 0, o->token_file);
		if (access(beside, R_OK) == 0)
			o->county_file = beside;
	}
	if (o->county_file && read_county_file(o->county_file, o, seed_given, county_given, anchor_given) < 0) {
		fprintf(stderr, "fpmsim: %s: %s\n", o->county_file, strerror(errno));
		return -1;
	}
	return 0;
}

static struct demogen *generate(const struct options *o)
{
	struct demogen_params params;
	if (o->province)
		demogen_params_province(&params, o->county, o->counties ? o->counties : DEMOGEN_DEFAULT_PROVINCE_COUNTIES,
					o->seed, o->anchor_day);
	else
		demogen_params_county(&params, o->county, o->seed, o->anchor_day);
	if (o->townships)
		params.townships_min = params.townships_max = o->townships;
	if (o->villages)
		params.villages_min = params.villages_max = o->villages;
	if (o->projects)
		params.projects_min = params.projects_max = o->projects;
	char err[256];
	struct demogen *g = demogen_generate(&params, err, sizeof err);
	if (!g)
		fprintf(stderr, "fpmsim: cannot generate the county: %s\n", err);
	return g;
}

static int write_file(const char *dir, const char *name, const struct demogen *g, size_t first, size_t count)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "fpmsim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = strcmp(name, "regions.csv") == 0 ? demogen_write_regions_csv(g, f)
		 : strcmp(name, "projects.csv") == 0 ? demogen_write_projects_csv(g, f)
		 : demogen_write_milestones_json(g, first, count, name, f);
	if (fclose(f) != 0 || rc < 0) {
		fprintf(stderr, "fpmsim: writing %s failed\n", path);
		return -1;
	}
	printf("%s\n", path);
	return 0;
}

static int print_registry(const struct demogen *g, const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "fpmsim: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (write_file(dir, "regions.csv", g, 0, 0) < 0 || write_file(dir, "projects.csv", g, 0, 0) < 0)
		return 1;
	/* one ingest message per file, within the schema's 10,000 milestones; the name is its batch_id */
	for (size_t first = 0, part = 1; first < g->project_count; part++) {
		size_t count = 0;
		while (first + count < g->project_count && demogen_milestone_items(g, first, count + 1) <= 10000)
			count++;
		char name[64];
		snprintf(name, sizeof name, "milestones-%03zu.json", part);
		if (write_file(dir, name, g, first, count) < 0)
			return 1;
		first += count;
	}
	fprintf(stderr, "fpmsim: %zu regions (%zu villages), %zu projects, %zu milestones\n", g->region_count,
		g->village_count, g->project_count, g->milestone_count);
	return 0;
}

/* ---- the schedule, as a presenter reads it ---- */

/* A simulated span as the real time it takes at this speed. */
static const char *real_span(double sim_seconds, double speed, char *buf, size_t cap)
{
	double real = sim_seconds / speed;
	if (real < 120)
		snprintf(buf, cap, "%.0f s", real);
	else if (real < 7200)
		snprintf(buf, cap, "%.1f min", real / 60);
	else if (real < 2 * 86400)
		snprintf(buf, cap, "%.1f h", real / 3600);
	else
		snprintf(buf, cap, "%.1f d", real / 86400);
	return buf;
}

static void print_project(const struct demogen *g, size_t p)
{
	if (p == SIZE_MAX)
		printf("(none: too few projects were generated behind schedule)\n");
	else
		printf("%s %s (generated at %u %% of plan)\n", g->projects[p].id, demogen_str(g, g->projects[p].name),
		       (unsigned)g->projects[p].perf_pct);
}

/* A season's window [from, to) in simulated days, with when that is in real time. */
static void print_window(const char *what, double from, double to, double speed)
{
	char a[32], b[32];
	printf("      +%gd..+%gd (real +%s..+%s) %s: ", from, to, real_span(from * 86400, speed, a, sizeof a),
	       real_span(to * 86400, speed, b, sizeof b), what);
}

/* When simulated time `at` happens: a CST date in the past, a wall-clock time in the run. */
static const char *real_when(double start, double at, double speed, char *buf, size_t cap)
{
	char span[32];
	if (at < 0) {
		cst_date_format(cst_day((int64_t)(start + at)), buf, cap);
		return buf;
	}
	time_t t = (time_t)(start + at / speed);
	struct tm tm;
	char clock[16];
	strftime(clock, sizeof clock, "%H:%M:%S", localtime_r(&t, &tm));
	snprintf(buf, cap, "%s (+%s)", clock, real_span(at, speed, span, sizeof span));
	return buf;
}

static void print_opening(const struct simstory *story, double start, double speed)
{
	char what[400], when[64];
	double at;
	printf("  opening act (sent with past timestamps, so every alert kind fires within a minute), and its answers:\n");
	for (size_t i = 0; simstory_opening_event(story, i, &at, what, sizeof what); i++) {
		int minutes = (int)(fabs(at) / 60);
		printf("    %s%dd %02d:%02d  %-22s %s\n", at < 0 ? "-" : "+", minutes / 1440, minutes / 60 % 24, minutes % 60,
		       real_when(start, at, speed, when, sizeof when), what);
	}
}

static void print_schedule(const struct simstory *story, const struct demogen *g, double speed, double start,
			   bool opened)
{
	double village_period, project_period, at;
	int year, month;
	char a[32], b[32], batch;
	const struct demogen_fund *fund;
	const char *step, *note;
	simstory_periods(story, &village_period, &project_period, &year, &month);
	printf("story: seed %llu, %zu county(ies), %zu townships, %zu villages, %zu projects; speed %g (1 real s = %g sim s)\n"
	       "  simulated time runs from this run's start; every message carries the real time of sending\n"
	       "  always: each village reports %d metrics every %.1f sim h (%s real), each project its progress every "
	       "%.1f sim d (%s real)\n", (unsigned long long)g->params.seed, g->county_count, g->township_count,
	       g->village_count, g->project_count, speed, speed, SIMSTORY_VILLAGE_METRICS, village_period / 3600,
	       real_span(village_period, speed, a, sizeof a), project_period / 86400,
	       real_span(project_period, speed, b, sizeof b));
	printf("  month cycle m = 0, 1, ... every %d sim days (%s real), paying period %04d-%02d + m months:\n",
	       SIMSTORY_MONTH_DAYS, real_span(SIMSTORY_MONTH_DAYS * 86400.0, speed, a, sizeof a), year, month);
	for (size_t i = 0; simstory_pay_event(i, &at, &batch, &fund, &step, &note); i++) {
		int minutes = (int)(at / 60);
		printf("    +%dd %02d:%02d (real +%-8s) %c %s (%s) %s%s%s\n", minutes / 1440, minutes / 60 % 24, minutes % 60,
		       real_span(at, speed, a, sizeof a), batch, fund->fund_type, fund->department, step, note[0] ? ": " : "", note);
	}
	if (opened)
		print_opening(story, start, speed);
	printf("  season q = 0, 1, ... every %d sim days (%s real):\n", SIMSTORY_SEASON_DAYS,
	       real_span(SIMSTORY_SEASON_DAYS * 86400.0, speed, a, sizeof a));
	for (size_t q = 0; q < 2; q++) {
		printf("    season %zu%s\n", q, q ? " (from -10 d the catch-up project slips to 86 % of plan first)" : "");
		print_window("catches up to 101 % of plan", SIMSTORY_ROLE_FROM, SIMSTORY_CATCH_UP_TO, speed);
		print_project(g, simstory_role_project(story, q, false));
		if (q == 0) { /* the opening act's stall and silence, or none */
			printf("      %s\n", opened ? "the stall and the silence: the opening act's (above)"
						: "nobody stalls or falls silent (no opening act in this run)");
			continue;
		}
		print_window("stalls, progress frozen (停工待料)", SIMSTORY_ROLE_FROM, SIMSTORY_STALL_TO, speed);
		print_project(g, simstory_role_project(story, q, true));
		print_window("stops reporting", SIMSTORY_SILENT_FROM, SIMSTORY_SILENT_TO, speed);
		size_t t = simstory_silent_township(story, q), villages = 0;
		for (size_t i = 0; t != SIZE_MAX && i < g->region_count; i++)
			villages += g->regions[i].parent == (int32_t)t;
		if (t == SIZE_MAX)
			printf("(none: a single township)\n");
		else
			printf("township %s %s (%zu villages)\n", g->regions[t].code, demogen_str(g, g->regions[t].name), villages);
	}
	fflush(stdout);
}

/* ---- verdicts ---- */

static void record(enum simstory_kind kind, int status, const struct simhttp_result *res, const char *what,
		   bool verbose)
{
	json_t *verdict = status == 200 || status == 409 || status == 422 ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
	long long accepted = json_integer_value(json_object_get(verdict, "accepted"));
	long long rejected = json_integer_value(json_object_get(verdict, "rejected"));
	bool replayed = json_is_true(json_object_get(verdict, "replayed"));
	pthread_mutex_lock(&tally_lock);
	struct tally *t = &tallies[kind];
	t->requests++;
	t->retried += res->attempts > 1;
	t->failed += status != 200;
	t->accepted += (unsigned long long)accepted;
	t->rejected += (unsigned long long)rejected;
	t->duplicates += (unsigned long long)json_integer_value(json_object_get(verdict, "duplicates"));
	t->late += (unsigned long long)json_integer_value(json_object_get(verdict, "late"));
	t->replayed += replayed;
	bool problem = status != 200 || rejected > 0;
	if (verbose || (problem && problems_printed < 20) || (kind != SIMSTORY_SAMPLES && kind != SIMSTORY_PROGRESS)) {
		problems_printed += problem;
		printf("[+%6.1f s] %-16s %s: ", now_real() - run_start, simstory_kind_names[kind], what);
		if (status == 0)
			printf("no answer after %u attempts: %s\n", res->attempts, res->error);
		else if (!verdict)
			printf("HTTP %d %.300s\n", status, res->body);
		else
			printf("HTTP %d, %lld accepted, %lld rejected%s%s\n", status, accepted, rejected,
			       replayed ? " (replayed)" : "", res->attempts > 1 ? " (after a retry)" : "");
		json_t *errors = json_object_get(verdict, "errors");
		for (size_t i = 0; problem && i < json_array_size(errors) && i < 3; i++) {
			json_t *e = json_array_get(errors, i);
			printf("           %s: %s\n", json_string_value(json_object_get(e, "field")),
			       json_string_value(json_object_get(e, "reason")));
		}
		fflush(stdout);
	}
	pthread_mutex_unlock(&tally_lock);
	json_decref(verdict);
}

struct sender {
	struct simhttp_client *client;
	bool verbose;
};

static void story_send(void *arg, enum simstory_kind kind, const char *body, size_t len, const char *what)
{
	struct sender *sd = arg;
	struct simhttp_result res;
	int status = simhttp_post(sd->client, simstory_paths[kind], body, len, MAX_ATTEMPTS, &res);
	record(kind, status, &res, what, sd->verbose);
}

/*
 * The opening act, unless the server has had it: a probe with a batch_id
 * fixed for the county is answered "replayed" by a server that stored it
 * before. True when the act was played.
 */
static bool play_history(struct simstory *story, struct sender *sd, bool force)
{
	struct simhttp_buf probe = { 0 };
	struct simhttp_result res;
	simstory_history_probe(story, &probe);
	int status = simhttp_post(sd->client, simstory_paths[SIMSTORY_SAMPLES], probe.data, probe.len, MAX_ATTEMPTS, &res);
	json_t *verdict = status == 200 ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
	bool replayed = json_is_true(json_object_get(verdict, "replayed"));
	json_decref(verdict);
	simhttp_buf_free(&probe);
	if (status != 200) {
		printf("history: the probe got HTTP %d (%s); no opening act\n", status, status ? res.body : res.error);
		return false;
	}
	if (replayed)
		simstory_set_history_known(story);
	if (replayed && !force) {
		printf("history: the server has had the opening act already (probe replayed); the story continues\n");
		return false;
	}
	double t0 = now_real();
	unsigned long long before = 0, after = 0;
	for (int k = 0; k < SIMSTORY_KINDS; k++)
		before += tallies[k].requests;
	printf("history: sending the last %d days with past timestamps...\n", SIMSTORY_HISTORY_DAYS);
	fflush(stdout);
	simstory_history(story, story_send, sd);
	for (int k = 0; k < SIMSTORY_KINDS; k++)
		after += tallies[k].requests;
	printf("history: %llu requests (%llu samples, %llu payments, %llu progress reports) in %.1f s\n", after - before,
	       tallies[SIMSTORY_SAMPLES].accepted, tallies[SIMSTORY_PAYMENT_BATCH].accepted,
	       tallies[SIMSTORY_PROGRESS].accepted, now_real() - t0);
	return true;
}

/* ---- load ---- */

struct load_worker {
	pthread_t thread;
	const struct simstory *story;
	struct simhttp_client *client;
	const char *run_id;
	int index;
	double rate, deadline;      /* samples/s of this worker; real end (0: none) */
	bool verbose;
};

static void *load_main(void *arg)
{
	struct load_worker *w = arg;
	size_t villages = simstory_village_count(w->story), cursor = (size_t)w->index * 7919;
	size_t batch = (size_t)fmin(SIMSTORY_MAX_ITEMS, fmax(1, w->rate / 4)); /* about 4 requests a second */
	struct simhttp_buf body = { 0 };
	unsigned long long seq = 0;
	double due = now_real();
	while (!stopping && (w->deadline == 0 || now_real() < w->deadline)) {
		double now = now_real(), day = simstory_trend_day(w->story, now);
		simhttp_buf_reset(&body);
		simhttp_buf_printf(&body, "{\"batch_id\":\"load-%s-%d-%llu\",\"samples\":[", w->run_id, w->index, ++seq);
		for (size_t i = 0; i < batch; i++, cursor++) {
			size_t village = cursor / SIMSTORY_LOAD_METRICS % villages, metric = cursor % SIMSTORY_LOAD_METRICS;
			char value[32];
			simstory_load_value(w->story, village, metric, day, value, sizeof value);
			simhttp_buf_printf(&body, "%s{\"entity\":\"%s\",\"metric\":\"%s\",\"ts\":%lld,\"value\":%s}", i ? "," : "",
					   simstory_village_code(w->story, village), simstory_village_metrics[metric],
					   (long long)now, value);
		}
		simhttp_buf_add(&body, "]}", 2);
		struct simhttp_result res;
		int status = simhttp_post(w->client, simstory_paths[SIMSTORY_SAMPLES], body.data, body.len, MAX_ATTEMPTS, &res);
		record(SIMSTORY_SAMPLES, status, &res, "load", w->verbose);
		due += (double)batch / w->rate;
		if (due < now_real() - 1) /* the server is slower than asked: do not pile up a debt */
			due = now_real();
		sleep_real(due - now_real());
	}
	simhttp_buf_free(&body);
	return NULL;
}

/* ---- main ---- */

static int summarise(double elapsed, double speed, const struct options *o)
{
	struct tally total = { 0 };
	printf("\n%-16s %9s %10s %9s %10s %8s %8s %7s\n", "kind", "requests", "accepted", "rejected", "duplicates",
	       "late", "retried", "failed");
	for (int k = 0; k < SIMSTORY_KINDS; k++) {
		const struct tally *t = &tallies[k];
		printf("%-16s %9llu %10llu %9llu %10llu %8llu %8llu %7llu\n", simstory_kind_names[k], t->requests,
		       t->accepted, t->rejected, t->duplicates, t->late, t->retried, t->failed);
		total.requests += t->requests;
		total.accepted += t->accepted;
		total.rejected += t->rejected;
		total.retried += t->retried;
		total.failed += t->failed;
	}
	if (o->rate > 0)
		printf("load: %.0f samples/s asked; %.0f samples/s accepted overall\n", o->rate,
		       tallies[SIMSTORY_SAMPLES].accepted / fmax(elapsed, 1e-9));
	bool clean = total.rejected == 0 && total.failed == 0;
	printf("fpmsim summary: %.1f s real (%.1f sim h), %llu batches (%llu retried, %llu failed); "
	       "samples %llu/%llu, payment_batches %llu/%llu, payment_results %llu/%llu, progress %llu/%llu, "
	       "milestones %llu/%llu accepted/rejected; %s\n", elapsed, elapsed * speed / 3600, total.requests,
	       total.retried, total.failed, tallies[0].accepted, tallies[0].rejected, tallies[1].accepted, tallies[1].rejected,
	       tallies[2].accepted, tallies[2].rejected, tallies[3].accepted, tallies[3].rejected, tallies[4].accepted,
	       tallies[4].rejected, clean ? "all accepted" : "NOT all accepted");
	return clean ? 0 : 1;
}

static int read_token(struct options *o)
{
	if (o->token) {
		snprintf(o->token_value, sizeof o->token_value, "%s", o->token);
		return 0;
	}
	FILE *f = o->token_file ? fopen(o->token_file, "r") : NULL;
	if (!f) {
		fprintf(stderr, "fpmsim: give --token or --token-file%s%s\n", o->token_file ? ": " : "",
			o->token_file ? strerror(errno) : "");
		return -1;
	}
	if (!fgets(o->token_value, sizeof o->token_value, f))
		o->token_value[0] = '\0';
	fclose(f);
	o->token_value[strcspn(o->token_value, " \t\r\n")] = '\0';
	return o->token_value[0] ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_args(argc, argv, &o) < 0)
		return usage(stderr);
	struct demogen *g = generate(&o);
	if (!g)
		return 1;
	if (o.print_dir) {
		int rc = print_registry(g, o.print_dir);
		demogen_free(g);
		return rc;
	}
	if (read_token(&o) < 0) {
		demogen_free(g);
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	run_start = now_real();
	char run_id[16], err[256];
	/* seconds since 2020 in base 36, and the pid: unique per run, short enough for payment numbers */
	unsigned long long stamp = (unsigned long long)run_start - 1577836800ull;
	int n = 0;
	for (; stamp && n < 8; stamp /= 36)
		run_id[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[stamp % 36];
	run_id[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[getpid() % 36];
	run_id[n] = '\0';
	struct simstory_options so = { .speed = o.speed, .start = run_start, .run_id = run_id, .send_plans = o.send_plans,
				       .payments = o.payments };
	struct simstory *story = simstory_new(g, &so);
	char anchor[16];
	cst_date_format(o.anchor_day, anchor, sizeof anchor);
	printf("fpmsim: %s, run %s, county %s (anchor %s%s%s)\n", o.url, run_id, g->regions[2].code, anchor,
	       o.county_file ? " from " : "", o.county_file ? o.county_file : "");

	struct sender sender = { .client = simhttp_new(o.url, o.token_value, err, sizeof err), .verbose = o.verbose };
	struct load_worker workers[MAX_WORKERS];
	int worker_count = o.rate > 0 ? o.connections : 0, started = 0;
	double deadline = o.duration > 0 ? run_start + o.duration : 0;
	if (!sender.client) {
		fprintf(stderr, "fpmsim: %s\n", err);
		worker_count = 0;
		stopping = 1;
	} else {
		simhttp_set_stop(sender.client, &stopping, deadline);
	}
	bool opened = false;
	if (o.story && sender.client && (o.history > 0 || (o.history == 0 && !o.province))) {
		opened = play_history(story, &sender, o.history > 0);
		simstory_set_start(story, now_real()); /* the run's simulated clock starts after the past is told */
	}
	if (o.story) {
		print_schedule(story, g, o.speed, now_real(), opened);
		printf("roles: ");
		if (opened)
			simstory_write_roles(story, stdout);
		else
			printf("{}\n"); /* the cast is the opening act's: without it, no alert is scripted at once */
		fflush(stdout);
	}
	for (int i = 0; i < worker_count; i++) {
		workers[i] = (struct load_worker){ .story = story, .run_id = run_id, .index = i, .rate = o.rate / worker_count,
						   .deadline = deadline, .verbose = o.verbose,
						   .client = simhttp_new(o.url, o.token_value, err, sizeof err) };
		simhttp_set_stop(workers[i].client, &stopping, deadline);
		if (pthread_create(&workers[i].thread, NULL, load_main, &workers[i]) != 0) {
			simhttp_free(workers[i].client);
			break;
		}
		started++;
	}
	while (!stopping && (deadline == 0 || now_real() < deadline)) {
		double wait = o.story ? simstory_advance(story, now_real(), story_send, &sender) : 0.2;
		if (deadline)
			wait = fmin(wait, deadline - now_real());
		sleep_real(wait);
	}
	stopping = 1;
	for (int i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		simhttp_free(workers[i].client);
	}
	int rc = sender.client ? summarise(now_real() - run_start, o.speed, &o) : 2;
	simhttp_free(sender.client);
	simstory_free(story);
	demogen_free(g);
	return rc;
}

/*
 * bench_baseline: this machine's limits for the ingest path, measured in the
 * same run as the daemon so the two can be compared: Jansson json_loadb of a
 * 1,000-sample body (and with the project's per-item schema check), SQLite
 * inserts shaped like `sample` plus the `latest` upsert in 10,000-row
 * transactions (WAL, synchronous=FULL), rrdfile_update on 23-source files
 * with 1, 12 and 60 rows per call (best of 3 rounds), rrdcached's BATCH.
 */
#include "bench_util.h"

#include "catalog.h"
#include "embedded.h"
#include "jschema.h"
#include "rrdfile.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <rrd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

/* On a shared machine the best of a few rounds is the limit; the rest is others' load. */
#define ROUNDS        3
#define ROUND_SECONDS 0.2
#define RRD_FILES   200
#define RRD_STEP    300

static const char *const metrics[] = {"poor_hh", "population", "incidence_pct", "funds_alloc_fen", "trainees"};

/* A 1,000-sample body shaped like the ones bench_ingest posts. */
static char *sample_body(size_t n, size_t *len)
{
	size_t cap = n * 96 + 64, used = 0;
	char *b = malloc(cap);
	unsigned seed = 7;
	used += (size_t)snprintf(b, cap, "{\"batch_id\":\"baseline-1\",\"samples\":[");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(b + used, cap - used,
			"%s{\"entity\":\"610824%03u%03u\",\"metric\":\"%s\",\"ts\":%u,\"value\":%u}", i ? "," : "",
			101 + (unsigned)rand_r(&seed) % 15, 201 + (unsigned)rand_r(&seed) % 20,
			metrics[(unsigned)rand_r(&seed) % 5], 1764000000u + (unsigned)rand_r(&seed) % 3600,
			(unsigned)rand_r(&seed) % 100);
	used += (size_t)snprintf(b + used, cap - used, "]}");
	*len = used;
	return b;
}

/* (a) Samples per second of json_loadb, plus the schema check of every item if schema. */
static double json_round(const char *body, size_t len, size_t n, const struct jschema *schema)
{
	size_t iters = 0, invalid = 0;
	double t0 = bench_now(), t;
	do {
		json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL), *item;
		if (!doc) {
			fprintf(stderr, "bench_baseline: the sample body does not parse\n");
			exit(1);
		}
		size_t i;
		json_array_foreach(schema ? json_object_get(doc, "samples") : NULL, i, item) {
			char base[48];
			snprintf(base, sizeof base, "samples[%zu]", i);
			invalid += jschema_validate(schema, "item", item, base, NULL, 0) != 0;
		}
		json_decref(doc);
		iters++;
	} while ((t = bench_now() - t0) < ROUND_SECONDS);
	if (invalid)
		fprintf(stderr, "bench_baseline: %zu items failed the schema\n", invalid);
	return (double)(iters * n) / t;
}

static void bench_json(void)
{
	size_t len, n = 1000;
	char *body = sample_body(n, &len);
	const struct embedded_file *f = embedded_find("ingest-samples.json");
	char err[256];
	struct jschema *schema = f ? jschema_load((const char *)f->data, f->len, err, sizeof err) : NULL;
	if (!schema) {
		fprintf(stderr, "bench_baseline: ingest-samples.json: %s\n", f ? err : "not embedded");
		exit(1);
	}
	double parse = 0, checked = 0;
	for (int r = 0; r < ROUNDS; r++) {
		parse = fmax(parse, json_round(body, len, n, NULL));
		checked = fmax(checked, json_round(body, len, n, schema));
	}
	bench_result("json.body_bytes", "%zu", len);
	bench_result("json.ms_per_1000", "%.2f", 1000 / parse * 1e3);
	bench_result("json.samples_per_s", "%.0f", parse);
	bench_result("json_schema.samples_per_s", "%.0f", checked);
	jschema_free(schema);
	free(body);
}

/* (b) SQLite: rows like `sample` (no secondary index), plus the `latest` upsert, 10,000 per COMMIT. */
static int sql(sqlite3 *db, const char *text)
{
	char *msg = NULL;
	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench_baseline: %s: %s\n", text, msg);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static double insert_rows(sqlite3 *db, size_t rows, int with_latest)
{
	sqlite3_stmt *ins, *up;
	sqlite3_prepare_v2(db, "INSERT INTO sample(entity_id, metric, ts, value, batch_id) VALUES (?1, ?2, ?3, ?4, ?5)",
			   -1, &ins, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO latest(key, ts, value) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE"
			   " SET ts = excluded.ts, value = excluded.value WHERE excluded.ts >= latest.ts", -1, &up, NULL);
	unsigned seed = 11;
	double t0 = bench_now();
	for (size_t done = 0; done < rows;) {
		sql(db, "BEGIN IMMEDIATE");
		for (size_t i = 0; i < 10000 && done < rows; i++, done++) {
			/* a province: 20,000 villages x 20 metrics + 20,000 projects x 8 (560k keys), last hour */
			int64_t entity = 1 + rand_r(&seed) % 40000, metric = rand_r(&seed) % (entity <= 20000 ? 20 : 8);
			int64_t ts = 1764000000 + rand_r(&seed) % 3600;
			double value = rand_r(&seed) % 1000;
			sqlite3_bind_int64(ins, 1, entity);
			sqlite3_bind_int64(ins, 2, metric);
			sqlite3_bind_int64(ins, 3, ts);
			sqlite3_bind_double(ins, 4, value);
			sqlite3_bind_int64(ins, 5, (int64_t)(done / 10000));
			if (sqlite3_step(ins) != SQLITE_DONE)
				fprintf(stderr, "bench_baseline: insert: %s\n", sqlite3_errmsg(db));
			sqlite3_reset(ins);
			if (!with_latest)
				continue;
			sqlite3_bind_int64(up, 1, entity * 256 + metric);
			sqlite3_bind_int64(up, 2, ts);
			sqlite3_bind_double(up, 3, value);
			if (sqlite3_step(up) != SQLITE_DONE)
				fprintf(stderr, "bench_baseline: upsert: %s\n", sqlite3_errmsg(db));
			sqlite3_reset(up);
		}
		sql(db, "COMMIT");
	}
	double t = bench_now() - t0;
	sqlite3_finalize(ins);
	sqlite3_finalize(up);
	return (double)rows / t;
}

/* One pass on a fresh database; pragmas beyond WAL + synchronous=FULL may be added. */
static void sqlite_pass(const char *dir, const char *name, size_t rows, int with_latest, const char *pragmas)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.db", dir, name);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return;
	if (sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") == 0 && sql(db, pragmas) == 0 &&
	    sql(db, "CREATE TABLE sample(id INTEGER PRIMARY KEY, entity_id INTEGER NOT NULL, metric INTEGER NOT NULL,"
		    " ts INTEGER NOT NULL, value REAL NOT NULL, batch_id INTEGER NOT NULL);"
		    "CREATE TABLE latest(key INTEGER PRIMARY KEY, ts INTEGER NOT NULL, value REAL NOT NULL);") == 0) {
		/* A running province has every key in `latest` already: fill it first, untimed. */
		if (with_latest &&
		    sql(db, "BEGIN; WITH RECURSIVE e(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM e WHERE id < 40000),"
			    " m(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM m WHERE k < 19)"
			    " INSERT INTO latest SELECT id * 256 + k, 1764000000, 0 FROM e, m"
			    " WHERE k < (CASE WHEN id <= 20000 THEN 20 ELSE 8 END); COMMIT;") < 0) {
			sqlite3_close(db);
			return;
		}
		char key[96];
		snprintf(key, sizeof key, "sqlite.%s_rows_per_s", name);
		bench_result(key, "%.0f", insert_rows(db, rows, with_latest));
	}
	sqlite3_close(db);
}

static void bench_sqlite(const char *dir, size_t rows)
{
	sqlite_pass(dir, "insert", rows, 0, "");
	sqlite_pass(dir, "insert_latest", rows, 1, ""); /* SQLite's default cache, as the daemon has */
	sqlite_pass(dir, "insert_latest_cache64m", rows, 1, "PRAGMA cache_size=-65536;");
}

/* (c) librrd: 23-source files (the village layout), rows per call 1, 12, 60. */
struct rrd_set {
	char path[RRD_FILES][512];
	int64_t next_ts[RRD_FILES];
	size_t n_ds;
};

/*
 * Seconds for `calls` updates of rows_per_call rows, files in turn: through
 * rrdfile_update (rrd_last_r, then rrd_updatex_r), or raw: rrd_updatex_r alone.
 */
static double rrd_round(struct rrd_set *set, size_t calls, size_t rows_per_call, int raw)
{
	double values[60 * CAT_MAX_DS];
	int64_t ts[60];
	char err[512], row[RRDFILE_ROW_MAX(CAT_MAX_DS)];
	for (size_t i = 0; i < rows_per_call * set->n_ds; i++)
		values[i] = (double)(i % 97);
	double t0 = bench_now();
	for (size_t c = 0; c < calls; c++) {
		size_t f = c % RRD_FILES;
		for (size_t r = 0; r < rows_per_call; r++)
			ts[r] = set->next_ts[f] += RRD_STEP;
		if (raw) {
			rrdfile_format_row(row, sizeof row, ts[0], values, set->n_ds);
			const char *argv[1] = {row};
			rrd_clear_error();
			if (rrd_updatex_r(set->path[f], NULL, RRD_SKIP_PAST_UPDATES, 1, argv) != 0) {
				fprintf(stderr, "bench_baseline: %s\n", rrd_get_error());
				return -1;
			}
		} else if (rrdfile_update(set->path[f], set->n_ds, ts, values, rows_per_call, err, sizeof err) !=
			   (long)rows_per_call) {
			fprintf(stderr, "bench_baseline: %s\n", err);
			return -1;
		}
	}
	return bench_now() - t0;
}

static void rrd_calls(struct rrd_set *set, size_t calls, size_t rows_per_call, int raw, const char *label)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double t = rrd_round(set, calls, rows_per_call, raw);
		if (t < 0)
			return;
		best = fmin(best, t);
	}
	char key[64];
	snprintf(key, sizeof key, "rrd.%s.us_per_call", label);
	bench_result(key, "%.0f", best / (double)calls * 1e6);
	snprintf(key, sizeof key, "rrd.%s.rows_per_s", label);
	bench_result(key, "%.0f", (double)(calls * rows_per_call) / best);
}

static void bench_rrd(const char *dir, struct rrd_set *set)
{
	char err[512];
	const struct cat_layout *l = cat_layout(CAT_VILLAGE);
	set->n_ds = l->n_ds;
	int64_t start = 1764000000 / RRD_STEP * RRD_STEP;
	double t0 = bench_now();
	for (size_t f = 0; f < RRD_FILES; f++) {
		snprintf(set->path[f], sizeof set->path[f], "%s/rrd/v%03zu.rrd", dir, f);
		if (rrdfile_create(set->path[f], start, l->ds_name, l->n_ds, err, sizeof err) < 0) {
			fprintf(stderr, "bench_baseline: %s\n", err);
			return;
		}
		set->next_ts[f] = start;
	}
	bench_result("rrd.n_ds", "%zu", l->n_ds);
	bench_result("rrd.create_ms_per_file", "%.2f", (bench_now() - t0) / RRD_FILES * 1e3);
	rrd_calls(set, 1000, 1, 0, "rows1");
	rrd_calls(set, 1000, 1, 1, "raw1");
	rrd_calls(set, 400, 12, 0, "rows12");
	rrd_calls(set, 200, 60, 0, "rows60");
}

/* (d) rrdcached: rows accepted through the raw BATCH text protocol (nothing flushed to disk). */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap && recv(fd, buf + n, 1, 0) == 1)
		if (buf[n++] == '\n')
			break;
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w, len -= (size_t)w;
	}
	return 0;
}

static void bench_rrdcached(const char *dir, const char *binary, struct rrd_set *set)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *sock = sa.sun_path, listen_arg[sizeof sa.sun_path + 8], base[512];
	int sock_len = snprintf(sock, sizeof sa.sun_path, "%s/rrdcached.sock", dir);
	if (sock_len < 0 || (size_t)sock_len >= sizeof sa.sun_path) {
		fprintf(stderr, "bench_baseline: %s: too long for a unix socket path\n", dir);
		return;
	}
	snprintf(listen_arg, sizeof listen_arg, "unix:%s", sock);
	snprintf(base, sizeof base, "%s/rrd", dir);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(binary, binary, "-g", "-l", listen_arg, "-b", base, "-B", "-w", "3600", "-z", "1", "-f", "7200",
		      (char *)NULL);
		_exit(127);
	}
	int fd = -1;
	for (int tries = 0; tries < 500 && fd < 0; tries++) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			close(fd);
			fd = -1;
			usleep(10000);
		}
	}
	if (fd < 0) {
		fprintf(stderr, "bench_baseline: rrdcached did not start\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return;
	}
	/* 200 files x 60 rows, as many rows per UPDATE line as fit in RRD_CMD_MAX (4,096 bytes). */
	size_t cap = 8 << 20, len = 0, rows = 0, lines = 0;
	char *text = malloc(cap), row[RRDFILE_ROW_MAX(CAT_MAX_DS)];
	double values[CAT_MAX_DS];
	for (size_t i = 0; i < set->n_ds; i++)
		values[i] = (double)(i * 3);
	for (size_t f = 0; f < RRD_FILES; f++) {
		const char *name = strrchr(set->path[f], '/') + 1;
		size_t line_start = len;
		len += (size_t)snprintf(text + len, cap - len, "UPDATE %s", name);
		for (int r = 0; r < 60; r++) {
			int n = rrdfile_format_row(row, sizeof row, set->next_ts[f] += RRD_STEP, values, set->n_ds);
			if (len - line_start + (size_t)n + 2 > 4000) {
				text[len++] = '\n';
				lines++;
				line_start = len;
				len += (size_t)snprintf(text + len, cap - len, "UPDATE %s", name);
			}
			len += (size_t)snprintf(text + len, cap - len, " %s", row);
			rows++;
		}
		text[len++] = '\n';
		lines++;
	}
	len += (size_t)snprintf(text + len, cap - len, ".\n");
	char reply[512];
	double t0 = bench_now();
	if (send_all(fd, "BATCH\n", 6) == 0 && read_line(fd, reply, sizeof reply) == 0 &&
	    send_all(fd, text, len) == 0 && read_line(fd, reply, sizeof reply) == 0) {
		double t = bench_now() - t0;
		if (strncmp(reply, "0 ", 2) != 0)
			fprintf(stderr, "bench_baseline: rrdcached BATCH: %s", reply);
		bench_result("rrdcached.batch_lines", "%zu", lines);
		bench_result("rrdcached.batch_rows_per_s", "%.0f", (double)rows / t);
	}
	close(fd);
	free(text);
	kill(pid, SIGKILL); /* its queue is not wanted on disk */
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_baseline TMPDIR [--sqlite-rows N] [--rrdcached /usr/bin/rrdcached]\n");
		return 2;
	}
	const char *dir = argv[1], *rrdcached = NULL;
	size_t sqlite_rows = 500000;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rrdcached") == 0)
			rrdcached = argv[i + 1];
		else if (strcmp(argv[i], "--sqlite-rows") == 0)
			sqlite_rows = (size_t)strtoul(argv[i + 1], NULL, 10);
	}
	char err[256];
	if (cat_load(err, sizeof err) < 0) {
		fprintf(stderr, "bench_baseline: %s\n", err);
		return 1;
	}
	bench_json();
	bench_sqlite(dir, sqlite_rows);
	struct rrd_set *set = calloc(1, sizeof *set);
	bench_rrd(dir, set);
	if (rrdcached && access(rrdcached, X_OK) == 0)
		bench_rrdcached(dir, rrdcached, set);
	free(set);
	cat_free();
	return 0;
}

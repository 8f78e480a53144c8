/*
 * bench_alerts: the alert engine's cost at province size (issue 6). Builds
 * a province straight into SQLite (20,000 villages in 500 townships, 20,000
 * projects with 80,000 milestones and 160,000 progress reports, 1,000,000
 * card payments in 2,000 batches, allocation samples, 20,000 monitored
 * households, with some of everything late), then runs the engine in manual
 * mode as the daemon's thread would: the first full pass (fires everything),
 * a steady full pass, and passes after one ingest (a village sample, a
 * project report, a bank result). Baseline in the same run: one bare SQLite
 * scan of the payment table grouped by village.
 *   bench_alerts DIR        (prints "RESULT alerts.<key> <value>" lines)
 */
#include "alert.h"
#include "catalog.h"
#include "db.h"
#include "ingest.h"
#include "registry.h"

#include "bench_util.h"

#include <stdint.h>

#define INCREMENTAL_TRIALS 15

static int64_t now_s;
static int64_t clock_now(void) { return now_s; }

static int metric(const char *key)
{
	const struct cat_metric *m = cat_find(key);
	if (!m) {
		fprintf(stderr, "bench_alerts: no metric %s in the catalog\n", key);
		exit(1);
	}
	return m->index;
}

/* Every statement of the province, with ?1 = now and the metric indexes. */
static const char *const province_sql[] = {
	"CREATE TEMP TABLE n(i INTEGER PRIMARY KEY)",
	"WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 999999) INSERT INTO n SELECT i FROM c",
	"INSERT INTO entity(kind, key, created) VALUES ('province', '610000000000', 0), ('prefecture', '610100000000', 0)",
	"INSERT INTO entity(kind, key, created) SELECT 'county', printf('6101%02d000000', i + 1), 0 FROM n WHERE i < 20",
	"INSERT INTO entity(kind, key, created) SELECT 'township', printf('6101%02d%03d000', i / 25 + 1, 100 + i % 25), 0"
	" FROM n WHERE i < 500",
	"INSERT INTO entity(kind, key, created) SELECT 'village', printf('6101%02d%03d%03d', i / 1000 + 1, 100 + i / 40 % 25,"
	" 201 + i % 40), ?1 - 800 * 86400 FROM n WHERE i < 20000",
	"INSERT INTO entity(kind, key, created) SELECT 'project', printf('XM%05d', i), ?1 - 800 * 86400 FROM n WHERE i < 20000",
	"INSERT INTO region SELECT id, key, CASE kind WHEN 'province' THEN NULL WHEN 'prefecture' THEN '610000000000'"
	" WHEN 'county' THEN '610100000000' WHEN 'township' THEN substr(key, 1, 6) || '000000'"
	" ELSE substr(key, 1, 9) || '000' END, kind || key, NULL, 0 FROM entity WHERE kind <> 'project'",
	"INSERT INTO project(entity_id, name, category, location, department, invest_fen, start_date, planned_end, stage,"
	" updated) SELECT e.id, '项目' || e.key, 'breeding', v.key, '县农业农村局', 100000000,"
	" date(?1 - 700 * 86400, 'unixepoch'), date(?1 + 300 * 86400, 'unixepoch'), 'started', 0"
	" FROM entity e JOIN entity v ON v.kind = 'village' AND v.id = e.id - 20000 WHERE e.kind = 'project'",
	/* 4 milestones each; every tenth project leaves its third one undone. */
	"INSERT INTO milestone(project_id, name, planned_date, weight, done_date, updated)"
	" SELECT p.entity_id, 'm' || k.i, date(?1 + (k.i * 150 - 500) * 86400, 'unixepoch'), 1,"
	" CASE WHEN k.i < 2 OR (k.i = 2 AND p.entity_id % 10 <> 0) THEN date(?1 + (k.i * 150 - 500) * 86400, 'unixepoch')"
	" END, 0 FROM project p JOIN n k ON k.i < 4",
	/* 8 reports each, 60 days apart; every 20th stalls, every 7th lags. */
	"INSERT INTO progress_report(project_id, ts, progress_pct, stage, note, batch_id)"
	" SELECT p.entity_id, ?1 - (7 - k.i) * 60 * 86400 - 3600,"
	" CASE WHEN p.entity_id % 20 = 0 THEN min(k.i, 3) * 10.0 WHEN p.entity_id % 7 = 0 THEN k.i * 5.0 ELSE k.i * 10.0 END,"
	" NULL, NULL, 0 FROM project p JOIN n k ON k.i < 8",
	"INSERT INTO latest(key, ts, value) SELECT project_id * 256 + ?5, max(ts), 0 FROM progress_report GROUP BY project_id",
	/* Villages report daily; every 25th went quiet 40 days ago, and one township's all 40 did. */
	"INSERT INTO latest(key, ts, value) SELECT id * 256 + ?2,"
	" ?1 - CASE WHEN id % 25 = 0 OR key LIKE '610101100%' THEN 40 ELSE 1 END * 86400, 10 FROM entity WHERE kind = 'village'",
	/* Allocations: a village's cumulative figure 400 and 40 days ago, a project's once; every 5th village and
	 * 10th project has paid out less (paid_fen is alloc_fen's neighbour in the catalog). */
	"INSERT INTO sample(entity_id, metric, ts, value, batch_id) SELECT id, ?3, ?1 - 400 * 86400, 1000000, 0"
	" FROM entity WHERE kind = 'village'",
	"INSERT INTO sample(entity_id, metric, ts, value, batch_id) SELECT id, ?3, ?1 - 40 * 86400, 1500000, 0"
	" FROM entity WHERE kind = 'village'",
	"INSERT INTO sample(entity_id, metric, ts, value, batch_id) SELECT entity_id, ?6, ?1 - 100 * 86400, 50000000, 0"
	" FROM project",
	"INSERT INTO latest(key, ts, value) SELECT id * 256 + ?4, ?1 - 86400, CASE WHEN id % 5 = 0 THEN 900000 ELSE 1500000 END"
	" FROM entity WHERE kind = 'village'",
	"INSERT INTO latest(key, ts, value) SELECT entity_id * 256 + ?6 + 1, ?1 - 86400,"
	" CASE WHEN entity_id % 10 = 0 THEN 20000000 ELSE 50000000 END FROM project",
	"INSERT INTO ingest_batch(id, source_id, kind, batch_key, received, accepted, rejected, verdict)"
	" VALUES (1, 1, 'monitoring', 'bench', ?1, 0, 0, '')",
	/* 2,000 batches of 500 payments; every 100th batch still waits for the bank; every 20th (odd) pays 50
	 * households its even neighbour (other department, same fund and period) already paid. */
	"INSERT INTO pay_batch(id, batch_no, department, fund_type, period, submitted, funds_at_bank, source_id, received)"
	" SELECT i + 1, printf('B%04d', i), CASE i % 2 WHEN 0 THEN '县扶贫办' ELSE '县人社局' END, 'ft' || (i / 2),"
	" '2026-10', ?1 - (i % 60 + 2) * 86400, ?1 - (i % 60 + 2) * 86400 + 3600, 1, ?1 FROM n WHERE i < 2000",
	"INSERT INTO payment(payment_no, batch_id, household, card_masked, amount_fen, village_id, status, reason, result_at,"
	" updated) SELECT 'P' || i, i / 500 + 1,"
	" 'H' || CASE WHEN i / 500 % 20 = 1 AND i % 500 < 50 THEN i - 500 ELSE i END, '6217****1234', 50000,"
	" (SELECT min(id) FROM entity WHERE kind = 'village') + i % 20000,"
	" CASE WHEN i / 500 % 100 = 0 THEN 'sent' WHEN i % 997 = 0 THEN 'failed' ELSE 'paid' END,"
	" CASE WHEN i % 997 = 0 THEN '户名不符' END, CASE WHEN i / 500 % 100 <> 0 THEN ?1 - (i / 500 % 60 + 1) * 86400 END,"
	" ?1 FROM n",
	"INSERT INTO monitor_household(household, village_id, category, flagged_at, helped_at, batch_id, updated)"
	" SELECT 'M' || i, (SELECT min(id) FROM entity WHERE kind = 'village') + i, 'at_risk', ?1 - (i % 30) * 86400,"
	" CASE WHEN i % 3 <> 0 THEN ?1 END, 1, ?1 FROM n WHERE i < 20000",
	"UPDATE meta SET value = value + 1 WHERE key = 'registry_version'",
	"DROP TABLE n",
};

static void build_province(sqlite3 *db)
{
	if (db_exec(db, "BEGIN") < 0)
		exit(1);
	for (size_t i = 0; i < sizeof province_sql / sizeof province_sql[0]; i++) {
		sqlite3_stmt *st = db_prepare(db, province_sql[i]);
		int n = sqlite3_bind_parameter_count(st);
		int64_t args[] = {now_s, metric("poor_hh"), metric("funds_alloc_fen"), metric("pay_paid_fen"),
				  metric("progress_pct"), metric("alloc_fen")};
		for (int k = 1; k <= n && k <= 6; k++)
			sqlite3_bind_int64(st, k, args[k - 1]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "bench_alerts: building the province, statement %zu: %s\n", i, sqlite3_errmsg(db));
			exit(1);
		}
		sqlite3_finalize(st);
	}
	if (db_exec(db, "COMMIT") < 0 || db_exec(db, "ANALYZE") < 0)
		exit(1);
}

static double scan_payments_ms(sqlite3 *db)
{
	double t0 = bench_now();
	sqlite3_stmt *st = db_prepare(db, "SELECT village_id, count(*), sum(amount_fen) FROM payment GROUP BY village_id");
	int64_t rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		rows++;
	sqlite3_finalize(st);
	double ms = (bench_now() - t0) * 1000;
	if (rows != 20000)
		fprintf(stderr, "bench_alerts: the scan saw %lld villages\n", (long long)rows);
	return ms;
}

/* One request committed as the worker commits it; its effects go to the engine's observer. */
static void ingest_msg(sqlite3 *db, struct ingest_ctx *ctx, enum ingest_kind kind, const char *body,
		       struct ingest_effects *fx)
{
	static const struct ingest_source src = {.id = 1, .name = "bench", .scope = "", .kinds = (1u << ING_KINDS) - 1};
	char *reply = NULL;
	size_t len = 0;
	db_exec(db, "BEGIN IMMEDIATE");
	int status = ingest_handle(ctx, &src, kind, body, strlen(body), fx, &reply, &len);
	db_exec(db, "COMMIT");
	if (status != 200 || !strstr(reply, "\"accepted\":1"))
		fprintf(stderr, "bench_alerts: ingest %d: %s\n", status, reply);
	free(reply);
}

/* What one round of ingest touches: a village's sample, a project's report, a bank result of a waiting batch. */
static void ingest_one(sqlite3 *db, struct ingest_ctx *ctx, int trial)
{
	struct ingest_effects fx = {0};
	char body[512];
	snprintf(body, sizeof body, "{\"batch_id\":\"s%d\",\"samples\":[{\"entity\":\"610101101%03d\","
		 "\"metric\":\"poor_hh\",\"ts\":%lld,\"value\":%d}]}", trial, 201 + trial, (long long)now_s, 20 + trial);
	ingest_msg(db, ctx, ING_SAMPLES, body, &fx);
	snprintf(body, sizeof body, "{\"batch_id\":\"g%d\",\"reports\":[{\"project\":\"XM%05d\",\"ts\":%lld,"
		 "\"progress_pct\":%d}]}", trial, 7 * (trial + 1), (long long)now_s, 50 + trial);
	ingest_msg(db, ctx, ING_PROGRESS, body, &fx);
	snprintf(body, sizeof body, "{\"batch_id\":\"r%d\",\"results\":[{\"payment_no\":\"P%d\",\"status\":\"paid\","
		 "\"at\":%lld}]}", trial, 50000 * trial + 1, (long long)now_s);
	ingest_msg(db, ctx, ING_PAYMENT_RESULTS, body, &fx);
	alert_observe(&fx, NULL);
	ingest_effects_free(&fx);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench_alerts DIR\n");
		return 2;
	}
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/alerts.db", argv[1]);
	now_s = (int64_t)time(NULL);
	if (cat_load(err, sizeof err) < 0) {
		fprintf(stderr, "bench_alerts: %s\n", err);
		return 1;
	}
	sqlite3 *db = db_open(path, DB_SYNC_NORMAL, err, sizeof err);
	if (!db) {
		fprintf(stderr, "bench_alerts: %s\n", err);
		return 1;
	}
	double t0 = bench_now();
	build_province(db);
	reg_refresh(db);
	bench_result("alerts.build_s", "%.1f", bench_now() - t0);
	bench_result("alerts.payments", "%lld", (long long)db_count(db, "SELECT count(*) FROM payment"));

	scan_payments_ms(db); /* warm the cache for both sides alike */
	double scan_ms = scan_payments_ms(db);
	bench_result("alerts.scan_ms", "%.0f", scan_ms);

	struct alert_options opt;
	alert_options_default(&opt);
	opt.db_path = path;
	opt.clock = clock_now;
	opt.manual = 1;
	t0 = bench_now();
	if (alert_engine_start(&opt, err, sizeof err) < 0) {
		fprintf(stderr, "bench_alerts: %s\n", err);
		return 1;
	}
	bench_result("alerts.start_ms", "%.0f", (bench_now() - t0) * 1000);
	t0 = bench_now();
	if (alert_evaluate_now(now_s) < 0)
		return 1;
	bench_result("alerts.first_full_ms", "%.0f", (bench_now() - t0) * 1000);
	bench_result("alerts.open", "%lld", (long long)db_count(db, "SELECT count(*) FROM alert WHERE state <> 'resolved'"));
	double full[3];
	for (int k = 0; k < 3; k++) {
		now_s += 60;
		t0 = bench_now();
		alert_evaluate_now(now_s);
		full[k] = (bench_now() - t0) * 1000;
	}
	qsort(full, 3, sizeof full[0], cmp_double);
	bench_result("alerts.full_ms", "%.0f", full[1]);

	struct ingest_ctx *ctx = ingest_ctx_new(db);
	ingest_set_clock(ctx, clock_now);
	double inc[INCREMENTAL_TRIALS];
	for (int k = 0; k < INCREMENTAL_TRIALS; k++) {
		now_s += 1;
		ingest_one(db, ctx, k);
		t0 = bench_now();
		alert_evaluate_dirty_now(now_s);
		inc[k] = (bench_now() - t0) * 1000;
	}
	qsort(inc, INCREMENTAL_TRIALS, sizeof inc[0], cmp_double);
	bench_result("alerts.incremental_p50_ms", "%.1f", inc[INCREMENTAL_TRIALS / 2]);
	bench_result("alerts.incremental_max_ms", "%.1f", inc[INCREMENTAL_TRIALS - 1]);
	printf("alert evaluation, province (%lld open alerts): full pass %.0f ms, after one ingest p50 %.1f ms"
	       " (max %.1f); baseline, same run: one scan of 1 M payments grouped by village %.0f ms\n",
	       (long long)db_count(db, "SELECT count(*) FROM alert WHERE state <> 'resolved'"), full[1],
	       inc[INCREMENTAL_TRIALS / 2], inc[INCREMENTAL_TRIALS - 1], scan_ms);
	ingest_ctx_free(ctx);
	alert_engine_stop();
	db_close(db);
	return 0;
}

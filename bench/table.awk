# table.awk: turns the "RESULT key value" lines of one bench/run.sh run into
# the report table: each figure of the daemon beside the same-run baseline it
# is bounded by and the figure /work/shared/measured.md gives for this kind
# of machine. Missing figures print as "-". Plain POSIX awk (mawk is fine).

$1 == "RESULT" { r[$2] = $3 }

# 1234567.8 -> "1,234,568"
function n(x,    s, out) {
	if (x == "") return "-"
	s = sprintf("%.0f", x)
	out = ""
	while (length(s) > 3) {
		out = "," substr(s, length(s) - 2) out
		s = substr(s, 1, length(s) - 3)
	}
	return s out
}
function v(k) { return (k in r) ? r[k] : "" }
function row(what, this, base, book) {
	printf "  %-50s %-26s %-32s %s\n", what, this, base, book
}
function head(title, c2, c3, c4) {
	printf "\n%s\n", title
	row("", c2, c3, c4)
}
function pct(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.0f%%", 100 * a / b) }

END {
	# One ingest worker thread parses, validates and stores every sample, so its
	# bound is the same-run costs added: 1 / (1/parse+schema + 1/insert+latest upsert).
	js = v("json_schema.samples_per_s"); sl = v("sqlite.insert_latest_rows_per_s")
	bound = (js != "" && sl != "") ? 1 / (1 / js + 1 / sl) : ""

	print "fpmon benchmark: durable ingest, start-up and the RRD writer (2 cores, shared machine: runs vary +-30%)"
	printf "load average (1 min) before the run: %s (other users; above ~0.5 expect lower figures)\n", v("load.start")

	head("A. Machine limits (bench_baseline)", "this run", "", "measured.md")
	row("Jansson json_loadb, 1,000-sample body", n(v("json.samples_per_s")) " samples/s", v("json.ms_per_1000") " ms per body", "~3 ms, ~335,000 objects/s")
	row("  + the project's schema check of each item", n(js) " samples/s", "", "-")
	row("SQLite sample INSERT, 10,000/txn, WAL, sync=FULL", n(v("sqlite.insert_rows_per_s")) " rows/s", "no secondary index", "1.14 M rows/s (sync=NORMAL)")
	row("  + `latest` upsert, random keys, full province", n(sl) " rows/s", "560k keys, 2 MB page cache", "-")
	row("  + `latest` upsert, cache_size 64 MB", n(v("sqlite.insert_latest_cache64m_rows_per_s")) " rows/s", "", "-")
	row("rrdfile_create, 23 data sources", v("rrd.create_ms_per_file") " ms/file", "", "1-4 ms (16 DS)")
	row("rrdfile_update 1 row/call (rrd_last_r + update)", v("rrd.rows1.us_per_call") " us/call", n(v("rrd.rows1.rows_per_s")) " rows/s", "~250 us, ~3,100 rows/s (16 DS)")
	row("rrd_updatex_r 1 row/call, no rrd_last_r", v("rrd.raw1.us_per_call") " us/call", n(v("rrd.raw1.rows_per_s")) " rows/s", "")
	row("rrdfile_update 12 rows/call", v("rrd.rows12.us_per_call") " us/call", n(v("rrd.rows12.rows_per_s")) " rows/s", "~30 k rows/s at 10 rows")
	row("rrdfile_update 60 rows/call", v("rrd.rows60.us_per_call") " us/call", n(v("rrd.rows60.rows_per_s")) " rows/s", "44-77 k rows/s")
	row("rrdcached raw BATCH, rows accepted", n(v("rrdcached.batch_rows_per_s")) " rows/s", "", "~434 k rows/s")

	head("B. Durable ingest through HTTP (2xx after COMMIT; 5,000-sample batches)", "this run", "vs the same-run limit (A)", "")
	row("limit of one thread: parse + schema check (A)", n(js) " samples/s", "", "aim: >= 200,000 samples/s")
	row("  + insert + `latest` upsert of random keys (A)", n(bound) " samples/s", "1 / (1/parse + 1/upsert)", "")
	split("county1 county4 province4 province4_random province_during", runs, " ")
	names["county1"] = "county (300 v, 100 p), reports, 1 connection"
	names["county4"] = "county, reports, 4 connections"
	names["province4"] = "province (20k v, 20k p), reports, 4 conns"
	names["province4_random"] = "province, random samples, 4 conns"
	names["province_during"] = "province, reports, during an RRD cycle (D)"
	for (i = 1; i <= 5; i++) {
		k = runs[i]
		if (v(k ".samples_per_s") == "") continue
		rel = k == "province4_random" ? pct(v(k ".samples_per_s"), bound) " of parse+upsert limit" : \
		      k == "province_during" ? pct(v(k ".samples_per_s"), v("province4.samples_per_s")) " of the run without" : \
		      pct(v(k ".samples_per_s"), js) " of the parse limit"
		row(names[k], n(v(k ".samples_per_s")) " samples/s", rel, "")
		row("  latency per request p50 / p99", v(k ".latency_p50_ms") " / " v(k ".latency_p99_ms") " ms", n(v(k ".requests")) " requests, " v(k ".requests_failed") " failed", "")
		row("  daemon CPU, % of a core: all / busiest thread", v(k ".daemon_cpu_pct") " / " v(k ".daemon_busiest_thread_cpu_pct"), "threads " v(k ".daemon_threads_cpu_pct") "; client " v(k ".client_cpu_pct"), "")
	}
	print "  (reports: each batch is whole entities with all their metrics, walking the registry as"
	print "   counties report; random: any entity and metric, the worst case for the `latest` table)"

	head("C. Start-up to \"listening\" (registry + in-memory state rebuilt from SQLite)", "this run", "", "")
	row("county, registry only", v("county_start.startup_ms") " ms", "import " v("county.import_ms") " ms", "")
	row("province, registry only (40,889 entities)", v("province_start.startup_ms") " ms", "import " v("province.import_ms") " ms", "")
	row("province + 1.5 M samples, none in RRD yet (replay)", v("province_replay.startup_ms") " ms", "", "")
	row("province + 1.5 M samples, RRD state saved", v("province_restart.startup_ms") " ms", "", "")

	head("D. RRD writer, province (one librrd call per file per cycle)", "this run", "per call (A: the same-run baseline)", "measured.md-based estimate")
	f = v("rrd_first.files")
	row("first cycle: create " n(f) " files + 1 row", v("rrd_first.wall_s") " s wall", v("rrd_first.writer_cpu_s") " s CPU (writer)", "create 1-4 ms/file -> " sprintf("%.0f-%.0f s", f * 0.001, f * 0.004))
	split("rrd_steady1 rrd_steady6 rrd_during", cyc, " ")
	steps["rrd_steady1"] = 1; steps["rrd_steady6"] = 6; steps["rrd_during"] = 6
	for (i = 1; i <= 3; i++) {
		k = cyc[i]
		if (v(k ".wall_s") == "") continue
		s = steps[k]
		book = s == 1 ? 250 : 300 # us per call from measured.md: 1 row 250 us, 10 rows 333 us
		row((k == "rrd_during" ? "the same, while ingesting (B)" : "steady cycle, rrd_flush_steps=" s) " (" v(k ".rows_per_call") " rows/call)", v(k ".wall_s") " s wall, " v(k ".writer_cpu_s") " s CPU", v(k ".writer_us_per_call") " us/call (A: " v(s == 1 ? "rrd.rows1.us_per_call" : "rrd.rows12.us_per_call") " us" (s == 1 ? "" : " at 12 rows") ")", sprintf("%.0f s at ~%d us/call", f * book / 1e6, book))
		row("  writer CPU share = cycle CPU / (" s " x 300 s)", v(k ".cpu_share_pct") "% of a core", n(v(k ".rrd_calls")) " calls, " n(v(k ".rrd_rows")) " rows, " v(k ".rrd_errors") " errors", sprintf("%.1f%%", f * book / 1e6 / (s * 300) * 100))
	}
	print ""
}

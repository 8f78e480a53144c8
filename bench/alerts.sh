#!/bin/sh
# bench/alerts.sh BUILD_DIR: the alert engine (issue 6). (a) bench_alerts: every
# rule over a province built in SQLite (20,000 villages, 20,000 projects,
# 1 M payments) -- the first full pass, a steady full pass and passes after
# one ingest -- beside one bare scan of the payment table; (b)
# alerts-latency.mjs: ingest request to the alert's frame at a WebSocket
# client, p50/p99 over TRIALS rounds, beside the ingest round trip alone and
# a plain delta frame, on a fresh daemon. Aims: a full pass well under one
# 300 s step; an alert on screen within 1 s. About a minute; a temp dir
# removed at the end (KEEP=1 keeps it).   TRIALS=50 bench/alerts.sh build
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpmon-alerts.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "${TMP:?}"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "-- alerts: every rule over a province (building it takes ~10 s)" >&2
"$BUILD/bench/bench_alerts" "$TMP" 2> "$TMP/engine.log" | tee "$TMP/results" | grep -v '^RESULT'
echo "-- alerts: ingest to alert frame at a WebSocket client" >&2
FPMON_BUILD=$BUILD TRIALS=${TRIALS:-50} node bench/alerts-latency.mjs | tee -a "$TMP/results" | grep -v '^RESULT'
val() { awk -v k="$1" '$1 == "RESULT" && $2 == k { v = $3 } END { print v }' "$TMP/results"; }
printf '%-44s %12s   %s\n' "alert engine, province" "figure" "baseline (same run)"
printf '%-44s %9s ms   %s ms scan of 1 M payments by village\n' "first full pass ($(val alerts.open) alerts fire)" \
	"$(val alerts.first_full_ms)" "$(val alerts.scan_ms)"
printf '%-44s %9s ms   %s ms\n' "full pass, steady (aim: << 300 s step)" "$(val alerts.full_ms)" "$(val alerts.scan_ms)"
printf '%-44s %9s ms   (max %s ms)\n' "pass after one ingest, p50" "$(val alerts.incremental_p50_ms)" \
	"$(val alerts.incremental_max_ms)"
printf '%-44s %9s ms   ingest round trip %s ms, delta frame %s ms\n' "ingest to alert frame, p50 (aim: < 1 s)" \
	"$(val alerts.alert_frame_p50_ms)" "$(val alerts.ingest_rtt_p50_ms)" "$(val alerts.delta_frame_p50_ms)"
printf '%-44s %9s ms   ingest round trip %s ms, delta frame %s ms\n' "ingest to alert frame, p99" \
	"$(val alerts.alert_frame_p99_ms)" "$(val alerts.ingest_rtt_p99_ms)" "$(val alerts.delta_frame_p99_ms)"

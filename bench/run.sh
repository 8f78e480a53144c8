#!/bin/sh
# bench/run.sh BUILD_DIR: the whole benchmark in one run (`make bench`), in a
# temp dir removed at the end. Measures this machine's limits (bench_baseline),
# durable ingest through the HTTP API for a county and a province
# (bench_ingest), the province's start-up with 1.5 M samples in SQLite and its
# RRD writer's cycles (bench_daemon), and prints each figure beside its
# same-run baseline and /work/shared/measured.md. About 1.5 minutes of work,
# then up to 2 to delete ~11 GB of RRD files; KEEP=1 keeps the temp dir.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
B=$BUILD/bench
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpmon-bench.XXXXXX")
RES=$TMP/results
PIDS=""
: > "$RES"

START=$(date +%s)
say() { printf '[%3ds] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
# Whether pid is still a daemon of this run (a pid may be reused once it exits).
ours() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$TMP/"; }
cleanup() {
	for pid in $PIDS; do
		if ours "$pid"; then kill -9 "$pid"; fi
	done
	if [ "${KEEP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "${TMP:?}" && say "-- cleaned up"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

val() { awk -v k="$1" '$1 == "RESULT" && $2 == k { v = $3 } END { print v }' "$RES"; }
# Runs a bench program, keeps its RESULT lines, shows the rest.
run() { "$@" | tee -a "$RES" | grep -v '^RESULT' >&2 || true; }

# A fresh data dir with a registry of the given scale; the ingest token on stdout.
setup() { # scale dir
	mkdir -p "$2/data"
	"$B/bench_ingest" gen "$1" "$2" >> "$RES"
	t0=$(date +%s%N)
	"$BUILD/fpmctl" -s data_dir="$2/data" import regions "$2/regions.csv" > "$2/import.log" 2>&1
	"$BUILD/fpmctl" -s data_dir="$2/data" import projects "$2/projects.csv" >> "$2/import.log" 2>&1
	echo "RESULT $1.import_ms $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$RES"
	"$BUILD/fpmctl" -s data_dir="$2/data" token create bench 2>/dev/null
}

# Starts fpmond (extra -s settings as arguments), under $PRELOAD if set; sets PID and PORT.
PRELOAD=""
start() { # label dir [settings...]
	label=$1 dir=$2
	shift 2
	args=""
	for s in "$@"; do args="$args -s $s"; done
	# shellcheck disable=SC2086 # word splitting of $args is wanted
	env CLOCKSHIFT_FILE="$TMP/clock" LD_PRELOAD="$PRELOAD" \
		"$B/bench_daemon" launch "$label" "$dir/fpmond.log" -- "$BUILD/fpmond" \
		-s data_dir="$dir/data" -s port=0 -s web_dir="$ROOT/web" $args >> "$RES"
	PID=$(val "$label.pid")
	PORT=$(val "$label.port")
	PIDS="$PIDS $PID"
}

# After a cycle: if the daemon died, say so with the end of its log.
check_alive() { # dir
	ours "$PID" && return 0
	say "fpmond (pid $PID) died; the end of its log:"
	grep -v ' lws: ' "$1/fpmond.log" | tail -5 >&2
}

stop() { # pid [signal]
	if ours "$1"; then kill "-${2:-TERM}" "$1"; fi
	while ours "$1"; do sleep 0.05; done
}

say "== fpmon benchmark in $TMP (figures vary on a shared machine) =="
echo "RESULT load.start $(cut -d' ' -f1 /proc/loadavg)" >> "$RES"

say "-- baselines: Jansson, SQLite, librrd, rrdcached"
mkdir -p "$TMP/baseline"
run "$B/bench_baseline" "$TMP/baseline" --rrdcached "$(command -v rrdcached || echo none)"
rm -rf "$TMP/baseline"

say "-- county: 300 villages, 100 projects"
TOKEN=$(setup county "$TMP/county")
start county_start "$TMP/county"
run "$B/bench_ingest" load county --label county1 --port "$PORT" --token "$TOKEN" --pid "$PID" \
	--conns 1 --samples 100000
run "$B/bench_ingest" load county --label county4 --port "$PORT" --token "$TOKEN" --pid "$PID" \
	--conns 4 --samples 500000
stop "$PID"
rm -rf "$TMP/county"

say "-- province: 20,000 villages, 20,000 projects"
P=$TMP/province
TOKEN=$(setup province "$P")
start province_start "$P"
run "$B/bench_ingest" load province --label province4 --port "$PORT" --token "$TOKEN" --pid "$PID" \
	--conns 4 --samples 1000000
run "$B/bench_ingest" load province --label province4_random --port "$PORT" --token "$TOKEN" --pid "$PID" \
	--conns 4 --samples 500000 --mix random
# SIGKILL: every 2xx is committed; a TERM would first write the RRD files on the way out.
stop "$PID" KILL
say "-- province daemon killed"

say "-- province: restart with 1.5 M samples to replay, RRD writer cycles"
# The RRD phase runs with its wall clock shifted (bench/shim/clockshift.c) so that
# a new 300 s step can be made due at once instead of waiting for it.
head -c 8 /dev/zero > "$TMP/clock"
WARN="-Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes -Wmissing-prototypes
 -Wformat=2 -Wundef -Wvla -Wwrite-strings -Wimplicit-fallthrough -Wold-style-definition
 -Wmissing-declarations -Wredundant-decls -Wnested-externs" # the Makefile's
# shellcheck disable=SC2086 # word splitting of $WARN is wanted
if ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 $WARN -shared -fPIC -o "$TMP/clockshift.so" bench/shim/clockshift.c -ldl \
	2>"$TMP/shim.err"; then
	PRELOAD=$TMP/clockshift.so
	"$B/bench_daemon" clock "$TMP/clock"
else
	say "clockshift shim did not build (see below): steady-state cycles skipped"
	cat "$TMP/shim.err" >&2
fi
mv "$P/fpmond.log" "$P/ingest.log"
start province_replay "$P" rrd_flush_steps=1 log_level=debug
say "-- RRD writer: first cycle (creates the files)"
run "$B/bench_daemon" cycle rrd_first --pid "$PID" --port "$PORT" --log "$P/fpmond.log"
check_alive "$P"
if [ -n "$PRELOAD" ]; then
	say "-- RRD writer: steady cycles, rrd_flush_steps 1 then 6 (after a restart)"
	run "$B/bench_daemon" cycle rrd_steady1 --pid "$PID" --port "$PORT" --log "$P/fpmond.log" \
		--flush-steps 1 --clock-file "$TMP/clock" --advance-steps 1
	check_alive "$P"
	stop "$PID"
	start province_restart "$P" rrd_flush_steps=6 log_level=debug
	run "$B/bench_daemon" cycle rrd_steady6 --pid "$PID" --port "$PORT" --log "$P/fpmond.log" \
		--flush-steps 6 --clock-file "$TMP/clock" --advance-steps 6
	check_alive "$P"
	say "-- province: ingest while the RRD writer runs a cycle (6 rows per file)"
	( sleep 1 && "$B/bench_daemon" cycle rrd_during --pid "$PID" --port "$PORT" --log "$P/fpmond.log" \
		--flush-steps 6 --clock-file "$TMP/clock" --advance-steps 6 > "$TMP/during" ) &
	run "$B/bench_ingest" load province --label province_during --port "$PORT" --token "$TOKEN" \
		--pid "$PID" --conns 4 --samples 1000000
	wait
	cat "$TMP/during" >> "$RES"
	check_alive "$P"
fi
stop "$PID"
grep -E ' (error|warn) ' "$P/ingest.log" "$P/fpmond.log" | head -5 >&2 || true

awk -f bench/table.awk "$RES"
say "-- alert engine: a province's rules, ingest to alert frame (bench/alerts.sh)"
bench/alerts.sh "$BUILD"
# 40,889 RRD files, ~11 GB: on a disk mounted with `discard` removing them takes a while.
say "-- removing the province's $(du -sh "$P" | cut -f1) of files"

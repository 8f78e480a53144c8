#!/bin/sh
# bench/push.sh BUILD_DIR: live-push latency (issue 3). For 1,000 and 5,000
# WebSocket clients on loopback, runs fpmond (a county, every client a wall
# display subscribed to region:<county>; one ingest POST per round changes a
# village) and, in the same run, bench_bare_lws (a bare lws broadcast of a
# ~300-byte message per round) as the baseline, each freshly started, with the
# same client (bench_push); the bare message is as long as fpmond's frames
# were (BARE_SIZE=same, the default) or BARE_SIZE bytes. Prints p50/p99/max of trigger-to-frame latency over
# every client x round, the ratio of p99s, the server's CPU over the rounds and
# its RSS per client. Builds nothing (make builds bench/*.c); about 1-2
# minutes; everything lives in a temp dir removed at the end (KEEP=1 keeps it).
#   ROUNDS=100 INTERVAL_MS=200 CLIENTS="1000 5000" BARE_SIZE=300 bench/push.sh build
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
B=$BUILD/bench
ROUNDS=${ROUNDS:-100}
INTERVAL_MS=${INTERVAL_MS:-200}
CLIENTS=${CLIENTS:-1000 5000}
BARE_SIZE=${BARE_SIZE:-same}  # "same": the bytes per frame fpmond sent at that client count (equal bytes)
COUNTY=610824000000  # bench_ingest gen county: one county, 15 towns, 300 villages
VILLAGE=610824101201
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpmon-push.XXXXXX")
RES=$TMP/results
PIDS=""
: > "$RES"

START=$(date +%s)
say() { printf '[%3ds] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
# Whether pid is still a server of this run (a pid may be reused once it exits).
ours() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$TMP/"; }
cleanup() {
	for pid in $PIDS; do
		if ours "$pid"; then kill -9 "$pid"; fi
	done
	if [ "${KEEP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "${TMP:?}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

val() { awk -v k="$1" '$1 == "RESULT" && $2 == k { v = $3 } END { print v }' "$RES"; }
run() { "$@" | tee -a "$RES" | grep -v '^RESULT' >&2 || true; }
stop() { # pid
	if ours "$1"; then kill -TERM "$1"; fi
	i=0
	while ours "$1" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	if ours "$1"; then kill -9 "$1"; fi
}

# fpmond's settings: port 0, loopback, room for every client (max_connections defaults to 4,096).
start_fpmond() { # label
	"$B/bench_daemon" launch "$1" "$TMP/fpmond.log" -- "$BUILD/fpmond" \
		-s data_dir="$TMP/data" -s port=0 -s listen_address=127.0.0.1 -s web_dir="$ROOT/web" \
		-s max_connections=12000 >> "$RES"
	PID=$(val "$1.pid")
	PORT=$(val "$1.port")
	PIDS="$PIDS $PID"
}

# bench_bare_lws prints "port N" once listening.
start_bare() {
	"$B/bench_bare_lws" --port 0 --size "$1" --tag "$TMP/" > "$TMP/bare.out" 2>> "$TMP/bare.log" &
	PID=$!
	PIDS="$PIDS $PID"
	i=0
	while ! grep -q '^port ' "$TMP/bare.out" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	PORT=$(awk '$1 == "port" { print $2 }' "$TMP/bare.out")
	: > "$TMP/bare.out"
}

say "== live push: fpmond vs a bare lws broadcast in $TMP (shared machine: figures vary) =="
echo "RESULT load.start $(cut -d' ' -f1 /proc/loadavg)" >> "$RES"
mkdir -p "$TMP/data"
"$B/bench_ingest" gen county "$TMP" > /dev/null
"$BUILD/fpmctl" -s data_dir="$TMP/data" import regions "$TMP/regions.csv" > "$TMP/import.log" 2>&1
DISPLAY_TOKEN=$("$BUILD/fpmctl" -s data_dir="$TMP/data" display create bench --scope "$COUNTY" 2>/dev/null | tail -1)
INGEST_TOKEN=$("$BUILD/fpmctl" -s data_dir="$TMP/data" token create bench 2>/dev/null | tail -1)

for N in $CLIENTS; do
	say "-- $N clients: fpmond"
	start_fpmond "fpmond_start$N"
	run "$B/bench_push" --label "fpmond$N" --port "$PORT" --pid "$PID" --clients "$N" \
		--rounds "$ROUNDS" --interval-ms "$INTERVAL_MS" --token "$DISPLAY_TOKEN" \
		--ingest-token "$INGEST_TOKEN" --topic "region:$COUNTY" --entity "$VILLAGE"
	stop "$PID"
	SIZE=$BARE_SIZE
	if [ "$SIZE" = same ]; then SIZE=$(val "fpmond$N.bytes_per_frame"); fi
	echo "RESULT bare$N.size $SIZE" >> "$RES"
	say "-- $N clients: bare lws, $SIZE B"
	start_bare "$SIZE"
	run "$B/bench_push" --label "bare$N" --port "$PORT" --pid "$PID" --clients "$N" --bare \
		--rounds "$ROUNDS" --interval-ms "$INTERVAL_MS"
	stop "$PID"
done
grep -E ' (error|warn) ' "$TMP/fpmond.log" | grep -v 'max_connections' | head -5 >&2 || true
echo "RESULT load.end $(cut -d' ' -f1 /proc/loadavg)" >> "$RES"

awk -v clients="$CLIENTS" -v rounds="$ROUNDS" -v interval="$INTERVAL_MS" -v bsize="$BARE_SIZE" '
$1 == "RESULT" { v[$2] = $3 }
function f(k) { return (k in v) && v[k] != "" ? v[k] : "-" }
END {
	printf "\nlive push, %s rounds every %s ms, latency over every client x round (ms); bare lws sends %s\n",
		rounds, interval, bsize == "same" ? "as many bytes per frame as fpmond did" : bsize " B"
	printf "load average %s -> %s\n", f("load.start"), f("load.end")
	printf "%-8s %-8s %7s %7s %7s   %-8s %7s %7s %7s   %9s   %8s %8s   %12s %12s   %s\n",
		"clients", "fpmond", "p50", "p99", "max", "bare lws", "p50", "p99", "max",
		"p99 ratio", "CPU fpm", "CPU bare", "RSS/cl fpm", "RSS/cl bare", "B/frame fpm/bare"
	n = split(clients, c, " ")
	for (i = 1; i <= n; i++) {
		a = "fpmond" c[i]; b = "bare" c[i]
		ratio = (f(b ".p99_ms") + 0 > 0 && f(a ".p99_ms") != "-") ? sprintf("%.2fx", v[a ".p99_ms"] / v[b ".p99_ms"]) : "-"
		printf "%-8s %-8s %7s %7s %7s   %-8s %7s %7s %7s   %9s   %7s%% %7s%%   %8s KiB %8s KiB   %s / %s\n",
			c[i], "", f(a ".p50_ms"), f(a ".p99_ms"), f(a ".max_ms"), "", f(b ".p50_ms"), f(b ".p99_ms"),
			f(b ".max_ms"), ratio, f(a ".cpu_pct"), f(b ".cpu_pct"), f(a ".rss_per_client_kib"),
			f(b ".rss_per_client_kib"), f(a ".bytes_per_frame"), f(b ".size")
		if (f(a ".missed") != "0" || f(b ".missed") != "0" || f(a ".dropped") != "0" || f(b ".dropped") != "0")
			printf "         missed frames fpmond %s, bare %s; clients dropped fpmond %s, bare %s\n",
				f(a ".missed"), f(b ".missed"), f(a ".dropped"), f(b ".dropped")
	}
	printf "aims: p99 <= 1.5x bare and < 25 ms at 1,000 clients; RSS <= 8 KiB per client (bare ~2.5 KiB).\n"
	printf "measured.md, bare lws 300 B at 10 Hz: p99 ~15 / ~60 ms at 1,000 / 5,000; ~9%% / ~45%% of a core.\n"
	printf "CPU: the server process over the rounds, %% of one core. The client (bench_push, one epoll thread)\n"
	printf "shares the 2 cores, so both columns include its reading time; compare them, not the absolutes.\n"
}' "$RES"

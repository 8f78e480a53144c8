#!/bin/sh
# bench/history.sh BUILD_DIR: history API latency beside librrd's fetch of the
# same RRD file (issue 3). Starts fpmond on a county, sends a village a day of
# five-minute samples through the ingest API, has the RRD writer write them
# (SIGUSR1), then times a day at 300 s and a year at 1 day both ways
# (bench_history), three times: placed as the scheduler likes; the daemon, the
# bare server and the client on one core; the servers on one core and the
# client on the other. On this 2-vCPU VM a round trip costs ~15 us when client
# and server share a vCPU and ~70 us when a halted one must be woken, and the
# scheduler puts the bare server beside the client far more often than the
# daemon (whose service thread also wakes reader threads): the first run
# mostly measures that placement, the other two compare like with like.
# About a minute; a temp dir removed at the end.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
B=$BUILD/bench
COUNTY=610824000000
VILLAGE=610824101201
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpmon-history.XXXXXX")
PID=""
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -9 "$PID"; fi
	rm -rf "${TMP:?}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== history API vs rrdfile_fetch in $TMP (shared machine: figures vary) ==" >&2
mkdir -p "$TMP/data"
"$B/bench_ingest" gen county "$TMP" > /dev/null
"$BUILD/fpmctl" -s data_dir="$TMP/data" import regions "$TMP/regions.csv" > /dev/null
DISPLAY_TOKEN=$("$BUILD/fpmctl" -s data_dir="$TMP/data" display create bench --scope "$COUNTY" | tail -1)
INGEST_TOKEN=$("$BUILD/fpmctl" -s data_dir="$TMP/data" token create bench | tail -1)
"$B/bench_daemon" launch history "$TMP/fpmond.log" -- "$BUILD/fpmond" -s data_dir="$TMP/data" -s port=0 \
	-s listen_address=127.0.0.1 > "$TMP/launch"
PID=$(awk '$2 == "history.pid" { print $3 }' "$TMP/launch")
PORT=$(awk '$2 == "history.port" { print $3 }' "$TMP/launch")

# A day of five-minute samples for one village, in one batch.
NOW=$(date +%s)
awk -v now="$NOW" -v v="$VILLAGE" 'BEGIN {
	printf "{\"batch_id\":\"history-day\",\"samples\":["
	for (i = 287; i >= 0; i--) {
		t = now - 60 - i * 300
		printf "%s{\"entity\":\"%s\",\"metric\":\"poor_hh\",\"ts\":%d,\"value\":%d},", (i == 287 ? "" : ""), v, t, 100 + i % 7
		printf "{\"entity\":\"%s\",\"metric\":\"population\",\"ts\":%d,\"value\":%d}%s", v, t, 2000 + i, (i ? "," : "")
	}
	printf "]}"
}' > "$TMP/day.json"
curl -sf -o /dev/null -H "Authorization: Bearer $INGEST_TOKEN" --data-binary @"$TMP/day.json" \
	"http://127.0.0.1:$PORT/api/v1/ingest/samples"
kill -USR1 "$PID"
RRD="$TMP/data/rrd/village/$(echo "$VILLAGE" | cut -c1-6)/$VILLAGE.rrd"
i=0
while [ ! -s "$RRD" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
# The writer's cycle creates every file of the county: time the API only once
# it is idle (its update count unchanged for a second), not beside it.
calls() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "fpmon_rrd_update_calls_total" { print $2 }'; }
prev=-1
i=0
while [ "$(calls)" != "$prev" ] && [ $i -lt 120 ]; do prev=$(calls); sleep 1; i=$((i + 1)); done
FDS=$(awk '/^Max open files/ { print $4 }' "/proc/$PID/limits")
ALL=$(taskset -p "$PID" | awk '{ print $NF }')
measure() { # title [taskset cpus for the daemon] [for the client] [bare server's cpu]
	echo "-- $1" >&2
	if [ -n "${2:-}" ]; then taskset -a -p -c "$2" "$PID" > /dev/null; fi
	${3:+taskset -c "$3"} "$B/bench_history" --port "$PORT" --token "$DISPLAY_TOKEN" --entity "$VILLAGE" \
		--rrd "$RRD" --n 1000 --fd-limit "$FDS" ${4:+--bare-cpu "$4"} | grep -v '^RESULT'
	taskset -a -p "$ALL" "$PID" > /dev/null
}
measure "placed by the scheduler"
measure "daemon, bare server and client on one core" 0 0
if [ "$(nproc)" -ge 2 ]; then
	measure "the servers on core 1, the client on core 0 (as for a client on another machine)" 1 0 1
fi

#!/bin/sh
# demo.sh: README's first command. Starts fpmond with the demo county (created
# at the first start, kept afterwards) and the simulator feeding it through
# the public ingest API (the first start also sends the county's recent past:
# see fpmsim --help), prints the addresses, and stops both on Ctrl-C.
#   FPMON_DATA (default var/demo)  FPMON_PORT (default 8080)
#   FPMON_LISTEN (default 127.0.0.1; 0.0.0.0 to reach it from wall screens)
#   FPMON_SPEED (default 600: ten simulated minutes per second)
set -u
BUILD=${1:-build}
DATA=${FPMON_DATA:-var/demo}
PORT=${FPMON_PORT:-8080}
LISTEN=${FPMON_LISTEN:-127.0.0.1}
SPEED=${FPMON_SPEED:-600}
mkdir -p "$DATA"

"$BUILD/fpmond" -s data_dir="$DATA" -s port="$PORT" -s listen_address="$LISTEN" -s demo=1 &
server=$!
sim=""
stop() {
	[ -n "$sim" ] && kill "$sim" 2>/dev/null
	kill "$server" 2>/dev/null
	wait 2>/dev/null
	exit 0
}
trap stop INT TERM

i=0
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "demo: the server did not start (see the log above)" >&2
		stop
	fi
	sleep 0.1
done

display=$(cat "$DATA/display-token" 2>/dev/null)
cat <<MSG

  精准扶贫监测 demo county is running (data in $DATA, kept between runs).
  Wall display (大屏):  http://$LISTEN:$PORT/wall.html?token=$display
  Project tracker:      http://$LISTEN:$PORT/projects.html?token=$display
  Alert console:        http://$LISTEN:$PORT/alerts.html   (log in as admin; password in $DATA/admin-password)
  Health / metrics:     http://$LISTEN:$PORT/healthz   http://$LISTEN:$PORT/metrics
  Ingest token of the simulator: $DATA/demo-token
  The simulator's schedule follows: at the first start it sends the county's last
  70 days, so every kind of alert fires at once, then answers them at the times shown.
  Press Ctrl-C to stop.

MSG

"$BUILD/fpmsim" --url "http://127.0.0.1:$PORT" --token-file "$DATA/demo-token" --speed "$SPEED" &
sim=$!

wait "$server"
stop

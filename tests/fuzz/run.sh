#!/bin/bash
# tests/fuzz/run.sh [RUNS]: build every libFuzzer target (tests/fuzz/fuzz_*.c)
# with clang into build-fuzz/, replay every saved reproducer under
# tests/fuzz/regressions/<target>/, then fuzz each target for RUNS executions
# (default 20000) from its seeds (tests/fuzz/corpus/<target>/) and the working
# corpus kept in build-fuzz/corpus/<target>/. One summary line per target;
# exit status 0 only when nothing crashed (1: a crash or a failing
# reproducer, 2: the build failed).
#
#   tests/fuzz/run.sh                     the quick run (about a minute on 2 cores, plus the first build)
#   tests/fuzz/run.sh 200000              more executions per target
#   FUZZ_SECONDS=600 tests/fuzz/run.sh    the long run: 10 minutes per target
#                                         (targets run FUZZ_JOBS at a time, default nproc)
# Other knobs: FUZZ_TARGETS="fuzz_ingest fuzz_conf" (a subset), FUZZ_JOBS=1,
# FUZZ_SEED=1234 (repeatable mutations), FUZZ_MAX_TIME (cap per target in the
# RUNS mode, default 100 s).
#
# A crash found while fuzzing is written to tests/fuzz/regressions/<target>/
# (crash-*, leak-*, timeout-*, oom-* as libFuzzer names them), so the next run
# replays it: look at it, rename it after the bug, keep one per bug. While a
# target still has a failing reproducer (a bug not fixed yet), its new crashes
# go to build-fuzz/crashes/<target>/ instead: most are that bug again.
# Logs: build-fuzz/logs/<target>.log (fuzzing), <target>.replay.log.
set -u
cd "$(dirname "$0")/../.." || exit 2

RUNS=${1:-${FUZZ_RUNS:-20000}}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
MAX_TIME=${FUZZ_MAX_TIME:-100}
OUT=build-fuzz
FUZZ=tests/fuzz
REG=$FUZZ/regressions

if ! command -v clang >/dev/null; then
	echo "run.sh: clang is needed (apt-get install clang)" >&2
	exit 2
fi

# The embedded schemas and migrations come from the project's own rule.
if ! make --no-print-directory -s build/gen/embedded.c; then
	echo "run.sh: make build/gen/embedded.c failed" >&2
	exit 2
fi
if ! make --no-print-directory -s -f $FUZZ/fuzz.mk -j"$JOBS" FUZZ_OUT=$OUT; then
	echo "run.sh: building the fuzz targets failed" >&2
	exit 2
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
	read -r -a targets <<<"$FUZZ_TARGETS"
else
	targets=()
	for src in $FUZZ/fuzz_*.c; do
		t=$(basename "$src" .c)
		targets+=("$t")
	done
fi

# Longest input per target: what the real interface can carry, kept small
# enough that an execution stays cheap.
max_len() {
	case $1 in
	fuzz_ingest) echo 16384 ;;      # bodies are up to max_body_bytes; items past a few are alike
	fuzz_import) echo 8192 ;;       # a sheet of ~100 rows
	fuzz_jschema) echo 8192 ;;
	fuzz_csv) echo 8192 ;;
	fuzz_conf) echo 4096 ;;         # lines are capped at 1023 bytes: a few lines and one too long
	fuzz_live_client) echo 4200 ;;  # messages are capped at 1 KiB (LIVE_MAX_MESSAGE): several, or one too big
	fuzz_http_path) echo 1200 ;;    # static_find refuses past 1008 bytes
	fuzz_rrdread) echo 16384 ;;     # a 23-source header is 13 KiB
	*) echo 4096 ;;
	esac
}

mkdir -p $OUT/logs $OUT/replay-artifacts

run_target() {
	local t=$1 bin=$OUT/$1 log=$OUT/logs/$1.log replay_log=$OUT/logs/$1.replay.log
	local replayed=0 failing=0 failed_names=""
	mkdir -p "$REG/$t" "$OUT/corpus/$t"
	: >"$replay_log"
	for f in "$REG/$t"/*; do
		[ -f "$f" ] || continue
		case $f in *.md | *.txt) continue ;; esac
		replayed=$((replayed + 1))
		if ! "$bin" -runs=1 -timeout=25 -rss_limit_mb=2048 -artifact_prefix=$OUT/replay-artifacts/ \
			"$f" >>"$replay_log" 2>&1; then
			failing=$((failing + 1))
			failed_names="$failed_names $(basename "$f")"
		fi
	done

	local runs_opt="-runs=$RUNS -max_total_time=$MAX_TIME"
	[ -n "${FUZZ_SECONDS:-}" ] && runs_opt="-max_total_time=$FUZZ_SECONDS"
	local seed_opt=""
	[ -n "${FUZZ_SEED:-}" ] && seed_opt="-seed=$FUZZ_SEED"
	local dict_opt=""
	[ -f "$FUZZ/$t.dict" ] && dict_opt="-dict=$FUZZ/$t.dict"
	local seeds=""
	[ -d "$FUZZ/corpus/$t" ] && seeds="$FUZZ/corpus/$t"

	# A target whose saved reproducers still crash finds that bug again and
	# again: its new crashes go to build-fuzz/crashes/<target>/ for a look,
	# not into the tree, until the bug is fixed.
	local status="" execs=0 rate=0 new=0 artifacts="$REG/$t/"
	if [ "$failing" -gt 0 ]; then
		artifacts="$OUT/crashes/$t/"
		mkdir -p "$artifacts"
		status="has failing reproducers: new crashes go to $artifacts, check whether they are the same bug"
	fi
	local t0 t1
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	"$bin" $runs_opt $seed_opt $dict_opt -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts" "$OUT/corpus/$t" $seeds >"$log" 2>&1
	local rc=$?
	t1=$(date +%s%N)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	new=$(grep -c "Test unit written to $artifacts\(crash\|leak\|timeout\|oom\)-" "$log")
	if [ -z "$execs" ]; then # died before the final stats: take the last status line
		execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
	fi
	# libFuzzer's own exec/s is whole executions per whole second (0 under a second)
	rate=$(awk -v n="${execs:-0}" -v ns="$((t1 - t0))" 'BEGIN { printf "%d", (ns > 0 ? n / (ns / 1e9) : 0) }')
	if [ "$rc" -ne 0 ] && [ "$new" -eq 0 ]; then
		status="libFuzzer exited $rc without a reproducer (see $log)"
		new=1
	fi
	local line
	line=$(printf '%-18s %8s runs %7s exec/s  %d new crash(es)  reproducers: %d replayed, %d failing%s' \
		"$t" "${execs:-0}" "${rate:-0}" "$new" "$replayed" "$failing" "${failed_names:+ (${failed_names# })}")
	[ -n "$status" ] && line="$line  [$status]"
	for f in $(grep -o "Test unit written to $artifacts[^ ]*" "$log" | awk '{print $5}'); do
		line="$line
    new: $f"
	done
	echo "$line"
	if [ "$new" -gt 0 ] || [ "$failing" -gt 0 ]; then
		echo 1 >"$OUT/logs/$t.failed"
	else
		rm -f "$OUT/logs/$t.failed"
	fi
}

start=$(date +%s)
if [ -n "${FUZZ_SECONDS:-}" ]; then
	echo "fuzzing ${#targets[@]} targets for ${FUZZ_SECONDS}s each, $JOBS at a time"
else
	echo "fuzzing ${#targets[@]} targets, $RUNS runs each (at most ${MAX_TIME}s), $JOBS at a time"
fi
for t in "${targets[@]}"; do
	if [ ! -x "$OUT/$t" ]; then
		echo "run.sh: no target $t" >&2
		exit 2
	fi
	rm -f "$OUT/logs/$t.failed"
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
	run_target "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
	[ -f "$OUT/logs/$t.failed" ] && failed=1
done
echo "done in $(($(date +%s) - start))s: $([ $failed -eq 0 ] && echo "no crashes" || echo "CRASHES or failing reproducers: see tests/fuzz/regressions/ and build-fuzz/logs/")"
exit $failed

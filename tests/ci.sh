#!/bin/sh
# ci.sh: everything `make test` checks, stage by stage, each on its own build:
#   suite       build/        unit, integration and browser tests
#   sanitizers  build-asan/   the same under AddressSanitizer + UBSan
#   valgrind    build/        unit tests and the daemon of the integration tests under memcheck
#   faults      build-fault/  fault points (disk full, failed allocations...): unit + faults.test.mjs
#   fuzz        build-fuzz/   every libFuzzer target: saved reproducers, then FUZZ_RUNS runs
#   soak        build/        1,000 WebSocket clients on a simulated county; the wall's JS heap
# Stages joined by + run at the same time (they mostly wait on daemons and
# browsers; the soak runs alone because it measures). Prints each stage's
# output when it ends and closes with one line "N passed, N failed".
#   STAGES="suite fuzz" tests/ci.sh    a subset, one after the other
#   FUZZ_RUNS=20000 SOAK_SECONDS=600   longer runs
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
STAGES=${STAGES:-suite+sanitizers faults+fuzz+valgrind soak}
JOBS=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
logs=$(mktemp -d)

# count LOG: add the "N passed, N failed" line of a stage's log to the totals
# (a stage that ends without one counts as one failure).
count() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + ${line%% passed*}))
	rest=${line#*, }
	failed=$((failed + ${rest%% failed}))
}

# build LABEL MAKE-ARGS...: a failed build is one failure, and its stage is skipped.
build() {
	label=$1
	shift
	if make --no-print-directory -j"$JOBS" "$@" all unit > "$logs/build-$label.log" 2>&1; then
		return 0
	fi
	echo "FAIL build $label:"
	tail -40 "$logs/build-$label.log"
	echo "0 passed, 1 failed"
	return 1
}

# The fuzz runner prints a line per target; each target is a test.
fuzz_stage() {
	tests/fuzz/run.sh "${FUZZ_RUNS:-4000}" > "$logs/fuzz.out" 2>&1
	rc=$?
	cat "$logs/fuzz.out"
	all=$(grep -c '^fuzz_[a-z_]* ' "$logs/fuzz.out")
	ok=$(grep -c '^fuzz_[a-z_]* .* 0 new crash(es)  reproducers: [0-9]* replayed, 0 failing$' "$logs/fuzz.out")
	[ "$rc" -eq 2 ] && all=$((ok + 1)) # the build failed
	echo "$ok passed, $((all - ok)) failed"
}

# run_stage NAME: one stage, its build first; its last line is its counts.
run_stage() {
	case $1 in
	suite) build plain && tests/run.sh build ;;
	sanitizers) build asan SANITIZE=address,undefined BUILD=build-asan && tests/run.sh build-asan ;;
	valgrind) build plain && VALGRIND=1 ONLY=unit,integration tests/run.sh build ;;
	faults) build fault FAULT=1 BUILD=build-fault && ONLY=unit,faults tests/run.sh build-fault ;;
	fuzz) fuzz_stage ;;
	soak) build plain && ONLY=soak tests/run.sh build ;;
	*) echo "ci.sh: unknown stage '$1'"; echo "0 passed, 1 failed" ;;
	esac
}

# The plain build first: several stages share it.
build plain > "$logs/build-first.out" || { cat "$logs/build-first.out"; count "$logs/build-first.out"; }
for group in $STAGES; do
	start=$(date +%s)
	names=$(echo "$group" | tr '+' ' ')
	for name in $names; do
		run_stage "$name" > "$logs/$name.log" 2>&1 &
	done
	wait
	for name in $names; do
		echo "== $name"
		cat "$logs/$name.log"
		count "$logs/$name.log"
		echo "== $name: $(tail -1 "$logs/$name.log")"
	done
	echo "== $group: $(($(date +%s) - start)) s"
done

rm -rf "$logs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

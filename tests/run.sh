#!/bin/sh
# run.sh: the whole suite. Unit tests (cmocka, TAP output), then integration
# tests against the real daemon and browser tests in headless Chromium
# (node --test). Prints one closing line "N passed, N failed"
# and exits non-zero when anything failed.
#   tests/run.sh [BUILD_DIR]          everything
#   ONLY=unit tests/run.sh            only the cmocka tests
#   ONLY=integration tests/run.sh     only the node tests against the daemon
#   ONLY=browser tests/run.sh         only the headless-Chromium tests
#   ONLY=unit,integration tests/run.sh  several groups
#   ONLY=unit,faults tests/run.sh build-fault   ONLY=soak tests/run.sh  (asked for by name only)
#   VALGRIND=1 tests/run.sh           unit tests and the daemon under valgrind memcheck
# tests/ci.sh runs this on several builds (plain, sanitizers, valgrind).
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
export TEST_DATA_DIR="$ROOT/tests/data"
export FPMON_BUILD="$ROOT/$BUILD"
passed=0
failed=0
log=$(mktemp -d)
VG="valgrind -q --suppressions=$ROOT/tests/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30"
# wanted GROUP: is GROUP among ONLY's comma-separated list (all when unset)?
wanted() {
	case ",${ONLY:-unit,integration,browser}," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}
if [ "${VALGRIND:-0}" = 1 ]; then
	export FPMOND_WRAPPER="$VG"
	export FPMON_UNDER_VALGRIND=1 # unit tests skip their province-scale cases
fi

if wanted unit; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		if [ "${VALGRIND:-0}" = 1 ]; then
			run="$VG $t"
		else
			run=$t
		fi
		CMOCKA_MESSAGE_OUTPUT=TAP $run > "$log/$name.out" 2>&1
		rc=$?
		ok=$(grep -c '^ok ' "$log/$name.out")
		bad=$(grep '^not ok ' "$log/$name.out" | grep -vc '# SKIP') # cmocka's TAP marks skips "not ok # SKIP"
		if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
			bad=1 # crashed, or valgrind found errors
		fi
		passed=$((passed + ok))
		failed=$((failed + bad))
		if [ "$bad" -ne 0 ]; then
			echo "FAIL $name (exit $rc):"
			grep -v '^ok ' "$log/$name.out" | head -60
		else
			echo "ok   $name: $ok tests"
		fi
	done
fi

# node --test over one folder; adds its pass/fail counts.
node_suite() { # name folder [diagnostics: print the figures the tests report]
	ls "$2"/*.test.mjs >/dev/null 2>&1 || return 0
	node --test --test-reporter=tap --test-concurrency=1 "$2"/ > "$log/$1.out" 2>&1
	ok=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log/$1.out" | tail -1)
	bad=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log/$1.out" | tail -1)
	ok=${ok:-0}
	bad=${bad:-1}
	passed=$((passed + ok))
	failed=$((failed + bad))
	if [ "$bad" -ne 0 ]; then
		echo "FAIL $1 tests:"
		# each failed test with its error block (TAP YAML up to "..."), before any diagnostics
		awk '/^ *not ok / && !/# TODO/ { show = 1 } show { print } show && /^ *\.\.\.$/ { show = 0 }' \
			"$log/$1.out" | grep -v '^ *at ' | head -150
		grep -q '^# fail' "$log/$1.out" || { echo "(no totals: the test runner stopped early)"; tail -20 "$log/$1.out"; }
	else
		echo "ok   $1 tests: $ok tests"
	fi
	if [ -n "${3:-}" ]; then
		grep -E '^ *# ' "$log/$1.out" | grep -v '^ *# Subtest' | head -200
	fi
}

if wanted integration; then
	node_suite integration tests/integration
fi
if wanted browser; then
	node_suite browser tests/browser
fi
# Not in the default groups: tests/ci.sh asks for them on their own builds.
if [ -n "${ONLY:-}" ] && wanted faults; then
	node_suite faults tests/faults
fi
if [ -n "${ONLY:-}" ] && wanted soak; then
	node_suite soak tests/soak diagnostics
fi

rm -rf "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

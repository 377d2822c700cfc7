#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, and runs every test: the cmocka unit tests
# and the pytest integration tests against the real daemon on net_tap ports in
# network namespaces, first on a release build, then on an ASan+UBSan build.
# Ends with one line: "kdpu: N passed, M failed".
#
#   KDPU_SKIP_ASAN=1   skip the sanitizer pass (quicker local runs)
#   KDPU_WORKERS=1,2   worker counts the integration tests run with
#   PYTEST_ARGS=...    extra pytest arguments, e.g. "-k overlay"
#   KDPU_SKIP_BENCH=1  skip the benchmark harness smoke run
set -uo pipefail
. "$(dirname "$0")/common.sh"
need_root
set -e
install_deps
reserve_hugepages 1024
trap release_hugepages EXIT
set +e
cd "$KDPU_ROOT"

PASSED=0
FAILED=0
export KDPU_WORKERS=${KDPU_WORKERS:-1,2}

# unit DIR: run the cmocka suites and count their test cases.
run_unit() {
	local dir=$1 p f
	log "unit tests ($dir)"
	local rc
	meson test -C "$dir" --suite unit --print-errorlogs --num-processes 1 | tail -n 12
	rc=${PIPESTATUS[0]}
	p=$(grep -ahoE '\[  PASSED  \] [0-9]+ test' "$dir/meson-logs/testlog.txt" | awk '{s+=$4} END {print s+0}')
	f=$(grep -ahoE '\[  FAILED  \] [0-9]+ test' "$dir/meson-logs/testlog.txt" | awk '{s+=$4} END {print s+0}')
	# A suite that crashed before its summary still counts as a failure.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	echo "unit ($dir): $p passed, $f failed"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
}

# junit_counts XML: "passed failed" of a pytest junit file (a missing or empty one fails).
junit_counts() {
	"$PY" - "$1" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 1"); sys.exit()
s = root if root.tag == "testsuite" else root.find("testsuite")
n, f, e, k = (int(s.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
print(n - f - e - k, f + e + (1 if n == 0 else 0))
PYEOF
}

# add_summary PREFIX TEXT: add TEXT's "PREFIX: N passed, M failed" line to the
# totals; without one, that counts as a failure.
add_summary() {
	local p f
	p=$(echo "$2" | sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed\$/\1/p" | tail -n 1)
	f=$(echo "$2" | sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed\$/\2/p" | tail -n 1)
	echo "$1: ${p:-0} passed, ${f:-1} failed"
	PASSED=$((PASSED + ${p:-0}))
	FAILED=$((FAILED + ${f:-1}))
}

# integration DIR: pytest against the daemon built in DIR.
run_integration() {
	local dir=$1 xml="$KDPU_ROOT/$1/integration.xml" counts
	log "integration tests ($dir, workers $KDPU_WORKERS)"
	KDPU_BUILD_DIR=$dir "$PY" -m pytest -p no:cacheprovider -q -rfE --junitxml="$xml" \
		tests/integration ${PYTEST_ARGS:-}
	counts=$(junit_counts "$xml")
	echo "integration ($dir): ${counts% *} passed, ${counts#* } failed"
	PASSED=$((PASSED + ${counts% *}))
	FAILED=$((FAILED + ${counts#* }))
}

# The layout rules (docs/architecture.md): includes point one way, long files
# say why, every folder has its README. Then the checker's own tests.
log "layout"
layout=$("$PY" scripts/check_includes.py)
echo "$layout" | head -n -1
add_summary layout "$layout"
xml="$KDPU_ROOT/layout.xml"
"$PY" -m pytest -p no:cacheprovider -q --junitxml="$xml" tests/layout
counts=$(junit_counts "$xml")
rm -f "$xml"
echo "layout checker: ${counts% *} passed, ${counts#* } failed"
PASSED=$((PASSED + ${counts% *}))
FAILED=$((FAILED + ${counts#* }))

log "build (release)"
if build build; then
	run_unit build
	run_integration build
else
	echo "release build failed"
	FAILED=$((FAILED + 1))
fi

# The benchmark harness, briefly, on the release build: it must move packets
# through testpmd and kdpu in every scenario. No figure is judged here.
if [ -z "${KDPU_SKIP_BENCH:-}" ] && [ -x build/bench/kdpu-pktgen ]; then
	log "benchmark harness smoke (net_memif)"
	# Captured, then shown: reopening the caller's stderr (tee /dev/stderr) would
	# truncate a log file it points to.
	smoke=$("$PY" scripts/bench.py --build-dir build --smoke --scenarios a,b,c,d \
		--seconds 0.5 --warmup 0.3 2>&1)
	echo "$smoke" | head -n -1
	add_summary "bench smoke" "$(echo "$smoke" | tail -n 1)"
	# Established flows through a Service and a NetworkPolicy lose nothing while
	# Services and policies are created and changed through the API under them.
	log "no loss on established flows during API updates (net_memif)"
	if "$PY" scripts/bench_control.py --build-dir build --services 100 --endpoints 10 \
		--policies 100 --updates 5 --traffic 200000 --manifests --peer nft; then
		echo "bench updates: 1 passed, 0 failed"
		PASSED=$((PASSED + 1))
	else
		echo "bench updates: 0 passed, 1 failed"
		FAILED=$((FAILED + 1))
	fi
fi

if [ -z "${KDPU_SKIP_ASAN:-}" ]; then
	log "build (ASan + UBSan)"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
	if build build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
		run_unit build-asan
		run_integration build-asan
	else
		echo "sanitizer build failed"
		FAILED=$((FAILED + 1))
	fi
fi

echo "kdpu: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks over net_memif on this machine: kdpu-pktgen against dpdk-testpmd io
# forwarding (the baseline) and against kdpu-dataplane, interleaved, reported as
# ratios and as kdpu's own cycles per packet. See docs/benchmarks.md.
#
#   BENCH_ARGS="--scenarios a --flows 1,1024 --rounds 5"   passed to scripts/bench.py
set -uo pipefail
. "$(dirname "$0")/common.sh"
need_root
set -e
install_deps
build build
reserve_hugepages 1024
trap release_hugepages EXIT
set +e
cd "$KDPU_ROOT"
mkdir -p build/bench-results
"$PY" scripts/bench.py --build-dir build --json build/bench-results/results.json ${BENCH_ARGS:-}

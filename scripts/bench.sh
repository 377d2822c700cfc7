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
# The plot; only the benchmarks need it.
dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q "install ok installed" ||
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		python3-matplotlib >/dev/null || true; }
build build
# A million flows take a 2M-entry table: about 700 MB of it, plus mempools.
reserve_hugepages 2048
trap release_hugepages EXIT
set +e
cd "$KDPU_ROOT"
mkdir -p build/bench-results
"$PY" scripts/bench.py --build-dir build --json build/bench-results/results.json \
	--plot build/bench-results/mpps.png --callgrind 10016 ${BENCH_ARGS:-}

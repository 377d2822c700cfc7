#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks over net_memif on this machine: kdpu-pktgen against dpdk-testpmd io
# forwarding (the baseline), against kdpu-dataplane and, when Debian's
# openvswitch-switch-dpdk is there (installed here), against OVS-DPDK,
# interleaved, reported as ratios and as cycles per packet. See docs/benchmarks.md.
#
#   BENCH_ARGS="--scenarios a --flows 1,1024 --rounds 5"   passed to scripts/bench.py
#   BENCH_ARGS="--peer none"                                 without OVS-DPDK
set -uo pipefail
. "$(dirname "$0")/common.sh"
need_root
set -e
install_deps
# The plot; only the benchmarks need it.
dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q "install ok installed" ||
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		python3-matplotlib >/dev/null || true; }
# The OVS-DPDK peer: scripts/ovs_peer.py runs a private instance of it, so the
# package's own system service must not start (policy-rc.d tells the package
# scripts so), nor stay up if it started all the same.
if ! dpkg-query -W -f='${Status}' openvswitch-switch-dpdk 2>/dev/null | grep -q "install ok installed"; then
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		openvswitch-switch-dpdk >/dev/null || true
	if [ -n "$policy" ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
	if command -v systemctl >/dev/null && systemctl is-active --quiet openvswitch-switch 2>/dev/null; then
		systemctl stop openvswitch-switch ovs-vswitchd ovsdb-server || true
	fi
fi
PEER=""
if [ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ]; then
	PEER="--peer ovs"
fi
build build
# A million flows take a 2M-entry table: about 700 MB of it, plus mempools.
reserve_hugepages 2048
trap release_hugepages EXIT
set +e
cd "$KDPU_ROOT"
mkdir -p build/bench-results
"$PY" scripts/bench.py --build-dir build --json build/bench-results/results.json \
	--plot build/bench-results/mpps.png --callgrind 10016 $PEER ${BENCH_ARGS:-}

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds, and runs kdpu-dataplane on net_tap ports in
# network namespaces: two local pods, and a remote node whose kernel VXLAN
# device plays the peer VTEP. Shows ping and TCP across the overlay, the
# daemon's counters, then removes everything it created.
set -euo pipefail
. "$(dirname "$0")/common.sh"
need_root
install_deps
log "building"
build build
reserve_hugepages 512
trap release_hugepages EXIT
cd "$KDPU_ROOT"
"$PY" scripts/demo.py --build-dir build "$@"

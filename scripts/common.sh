#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Shared by demo.sh and test.sh: Debian packages, hugepages, build, cleanup.
# Everything here is idempotent; cleanup undoes only what this run created.

KDPU_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3	# Debian's interpreter: python3-scapy and python3-pytest live there

KDPU_PKGS=(
	build-essential meson ninja-build pkg-config
	dpdk dpdk-dev libdpdk-dev libconfig-dev libcmocka-dev libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev libyaml-dev python3-grpcio python3-grpc-tools openssl
	python3 python3-scapy python3-pytest
	iproute2 iputils-ping procps nftables
)

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "run as root: DPDK needs hugepages and the tests need network namespaces" >&2
		exit 1
	fi
}

install_deps() {
	local missing=() p
	for p in "${KDPU_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# Reserve 2 MB hugepages unless enough are free; remember what to give back.
HUGE_ORIG=""
HUGE_MOUNTED=""
reserve_hugepages() {
	local want=${1:-512} nr free
	nr=$(cat /proc/sys/vm/nr_hugepages)
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	if [ "$free" -lt "$want" ]; then
		HUGE_ORIG=$nr
		echo $((nr + want - free)) > /proc/sys/vm/nr_hugepages
		free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
		# Memory may be free but scattered: drop the page cache, compact, ask again.
		local try
		for try in 1 2 3; do
			[ "$free" -ge "$want" ] && break
			sync
			echo 3 > /proc/sys/vm/drop_caches
			echo 1 > /proc/sys/vm/compact_memory 2>/dev/null || true
			nr=$(cat /proc/sys/vm/nr_hugepages)
			echo $((nr + want - free)) > /proc/sys/vm/nr_hugepages
			free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
		done
		if [ "$free" -lt "$want" ]; then
			echo "could only reserve $free of $want hugepages" >&2
			echo "$HUGE_ORIG" > /proc/sys/vm/nr_hugepages
			exit 1
		fi
	fi
	if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs nodev /dev/hugepages
		HUGE_MOUNTED=1
	fi
}

release_hugepages() {
	# The daemon removes its own files; a crashed one may leave some behind.
	rm -f /dev/hugepages/kdpuk*map_* 2>/dev/null || true
	if [ -n "$HUGE_MOUNTED" ]; then
		umount /dev/hugepages 2>/dev/null || true
	fi
	if [ -n "$HUGE_ORIG" ]; then
		echo "$HUGE_ORIG" > /proc/sys/vm/nr_hugepages
	fi
}

# build DIR [meson options...]
build() {
	local dir=$1
	shift
	if [ ! -f "$KDPU_ROOT/$dir/build.ninja" ]; then
		meson setup "$KDPU_ROOT/$dir" "$KDPU_ROOT" "$@" >/dev/null
	fi
	ninja -C "$KDPU_ROOT/$dir" >/dev/null
}

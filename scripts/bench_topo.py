# SPDX-License-Identifier: Apache-2.0
"""The addresses of the benchmark topology (docs/benchmarks.md, "Harness"),
shared by bench.py, bench_control.py and ovs_peer.py: a local pod behind memif
link 0, a remote node's pods behind the VTEP the generator plays on link 1,
and the Service of scenario (c)."""

POD_IP, POD_MAC = "10.244.1.10", "02:6b:64:01:00:0a"
RPOD_IP, RPOD_CIDR = "10.244.2.10", "10.244.2.0/24"
VTEP, RVTEP, RVTEP_MAC = "192.168.100.1", "192.168.100.2", "02:6b:64:00:00:02"
GW_MAC = "02:6b:64:00:00:01"
UPLINK_MAC = "02:00:00:00:00:99"  # the generator's outer destination in vxlan mode
VNI = 100
VIP, VIP_PORT, POD_PORT = "10.96.0.10", 80, 5001

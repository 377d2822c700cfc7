# SPDX-License-Identifier: Apache-2.0
"""Pod traffic across the DPU: local routing, VXLAN to and from a Linux kernel
VTEP, the responders, and flow spreading over workers."""
import time

import kdpu_topo as kt
from conftest import Delta

PA, PB = kt.PODS["pa"][0], kt.PODS["pb"][0]


def test_ping_local_pods(node):
    with Delta(node) as d:
        node.ping("pa", PB)
    assert d.event("fwd_local") >= 6  # 3 requests + 3 replies


def test_ping_remote_pod_both_directions(node):
    with Delta(node) as d:
        node.ping("pa", kt.RPOD_IP)
        node.ping("rp", PB)
    assert d.event("vxlan_encap") >= 6
    assert d.event("vxlan_decap") >= 6


def test_tcp_local(node):
    assert node.tcp_transfer("pa", "pb", PB, 2 << 20).startswith("OK")


def test_tcp_to_remote_pod(node):
    assert node.tcp_transfer("pa", "rp", kt.RPOD_IP, 2 << 20).startswith("OK")


def test_tcp_from_remote_pod(node):
    assert node.tcp_transfer("rp", "pb", PB, 2 << 20).startswith("OK")


def test_vtep_answers_arp_and_ping(node):
    up = node.ifname("up")
    node.nsx("rn", "ip", "neigh", "flush", "dev", up)
    with Delta(node) as d:
        node.ping("rn", kt.VTEP_IP)
    assert d.event("arp_replied") >= 1
    assert d.event("icmp_echo_replied") == 3
    neigh = node.nsx("rn", "ip", "neigh", "show", kt.VTEP_IP, "dev", up)
    assert node.tel.query("/ethdev/info,0")["mac_addr"].lower() in neigh.lower(), neigh


def test_gateway_proxy_arp_and_ping(node):
    dev = node.ifname("pa")
    node.nsx("pa", "ip", "neigh", "flush", "dev", dev)
    with Delta(node) as d:
        node.ping("pa", kt.GW_IP)
        # Same-subnet pod: answered by proxy ARP with the gateway MAC too.
        node.ping("pa", PB)
    assert d.event("arp_replied") >= 2
    neigh = node.nsx("pa", "ip", "neigh", "show", "dev", dev)
    for ip in (kt.GW_IP, PB):
        line = next(line for line in neigh.splitlines() if line.startswith(ip + " "))
        assert kt.GW_MAC in line.lower(), neigh


def test_outer_header_seen_by_kernel_peer(node):
    """The kernel VTEP learns nothing wrong: its vxlan0 counts our frames as received."""
    def rx():
        out = node.nsx("rn", "cat", "/sys/class/net/vxlan0/statistics/rx_packets")
        return int(out)
    before = rx()
    node.ping("pa", kt.RPOD_IP, count=5)
    assert rx() - before >= 5


def test_mtu_oversize_gets_frag_needed(node):
    """A pod whose MTU exceeds uplink MTU - 50: DF frames that would not fit the
    tunnel are dropped and counted, and the pod is told the path MTU (RFC 1191),
    so TCP still works through PMTU discovery."""
    dev = node.ifname("pa")
    node.nsx("pa", "ip", "link", "set", dev, "mtu", "1500")
    node.nsx("pa", "ip", "route", "flush", "cache")
    try:
        with Delta(node) as d:
            # 1472 + 28 = a 1500-byte IP packet; + 50 outer bytes exceeds 1500.
            out = node.nsx("pa", "ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", "-M", "do",
                           "-s", "1472", kt.RPOD_IP, check=False)
        assert d.drop("encap_too_big") >= 1, out
        assert d.event("icmp_frag_needed") == d.drop("encap_too_big")
        route = node.nsx("pa", "ip", "route", "get", kt.RPOD_IP)
        assert f"mtu {kt.POD_MTU}" in route, route
        # The largest frame that fits is carried, and TCP adapts to the path MTU.
        node.nsx("pa", "ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", "-M", "do",
                 "-s", str(kt.POD_MTU - 28), kt.RPOD_IP)
        node.nsx("pa", "ip", "route", "flush", "cache")
        assert node.tcp_transfer("pa", "rp", kt.RPOD_IP, 1 << 20, port=5021).startswith("OK")
    finally:
        node.nsx("pa", "ip", "link", "set", dev, "mtu", str(kt.POD_MTU))
        node.nsx("pa", "ip", "route", "flush", "cache")


def test_flows_spread_over_workers(node):
    """With N workers, RSS spreads pod flows so every worker forwards packets."""
    w0 = node.tel.query("/kdpu/workers")
    code = ("import socket\n"
            "for p in range(40000, 40064):\n"
            "    s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "    s.bind(('0.0.0.0',p))\n"
            "    for _ in range(4): s.sendto(b'x'*64,('%s',9))\n" % kt.RPOD_IP)
    node.nsx("pa", kt.PYTHON, "-c", code)
    time.sleep(0.5)
    w1 = node.tel.query("/kdpu/workers")
    busy = [w1[f"w{i}_busy_pkts"] - w0[f"w{i}_busy_pkts"] for i in range(node.workers)]
    assert sum(busy) >= 256
    assert all(b > 0 for b in busy), busy

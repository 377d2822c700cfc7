# SPDX-License-Identifier: Apache-2.0
"""Bad and unwanted packets injected with scapy are dropped under their own
counter, and the daemon keeps forwarding."""
import os

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

import kdpu_topo as kt
from conftest import Delta, inject

PA, PB = kt.PODS["pa"][0], kt.PODS["pb"][0]
PA_MAC = kt.PODS["pa"][1]


def uplink_mac(node):
    return node.tel.query("/ethdev/info,0")["mac_addr"].lower()


def outer(node, dst=kt.VTEP_IP, **ip):
    return Ether(dst=uplink_mac(node), src="02:00:00:00:99:01") / IP(src=kt.RNODE_VTEP, dst=dst, **ip)


def vx(node, vni=kt.VNI, inner_dst=PA, flags=0x08, inner=None, **oip):
    if inner is None:
        inner = IP(src=kt.RPOD_IP, dst=inner_dst) / ICMP()
    return (outer(node, **oip) / UDP(sport=50000, dport=4789) / VXLAN(vni=vni, flags=flags) /
            Ether(dst=kt.GW_MAC, src=kt.RNODE_MAC) / inner)


UPLINK_CASES = {
    "vxlan_unknown_vni": lambda n: vx(n, vni=4242),
    "vxlan_bad_flags": lambda n: vx(n, flags=0),
    "vxlan_not_vtep": lambda n: vx(n, dst="192.168.100.77"),
    "vxlan_no_local_dest": lambda n: vx(n, inner_dst="10.244.2.99"),
    "vxlan_outer_frag": lambda n: outer(n, flags="MF") / UDP(sport=50000, dport=4789) / VXLAN(vni=kt.VNI) / Raw(b"x" * 40),
    "vxlan_not_vxlan": lambda n: outer(n) / UDP(sport=1, dport=53) / Raw(b"q" * 20),
    "fwd_ttl": lambda n: vx(n, inner=IP(src=kt.RPOD_IP, dst=PA, ttl=1) / ICMP()),
    "parse_ip_csum": lambda n: Ether(bytes(vx(n))[:24] + b"\x00\x00" + bytes(vx(n))[26:]),
    "parse_ip_len": lambda n: vx(n, len=1400),
    "parse_trunc_l4": lambda n: outer(n) / UDP(sport=50000, dport=4789) / Raw(b"\x08\x00\x00"),
    "parse_ip_ihl": lambda n: Ether(_break_inner_ihl(bytes(vx(n)))),
    "parse_ip_version": lambda n: Ether(_break_outer_version(bytes(vx(n)))),
    "parse_ethertype": lambda n: vx(n, inner=ARP(pdst=PA)),
    "arp_not_for_us": lambda n: Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="192.168.100.50",
                                                                      pdst="192.168.100.9"),
    "arp_malformed": lambda n: Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(hwlen=8, pdst=kt.VTEP_IP),
}


def _break_inner_ihl(b):
    off = 14 + 20 + 8 + 8 + 14  # inner IPv4 header
    return b[:off] + bytes([0x43]) + b[off + 1:]


def _break_outer_version(b):
    return b[:14] + bytes([0x65]) + b[15:]


@pytest.mark.parametrize("reason", sorted(UPLINK_CASES))
def test_uplink_bad_packet_counted(node, reason):
    frames = [UPLINK_CASES[reason](node)] * 3
    with Delta(node) as d:
        inject(node, "rn", node.ifname("up"), frames)
        node.ping("rp", PA, count=1)  # also a barrier: the injected frames are processed
    assert d.drop(reason) == 3, d.drops_changed()


VNIC_CASES = {
    "fwd_spoofed_src": lambda: Ether(dst=kt.GW_MAC, src=PA_MAC) / IP(src="10.244.1.99", dst=PB) /
    ICMP(),
    "fwd_no_route": lambda: Ether(dst=kt.GW_MAC, src=PA_MAC) / IP(src=PA, dst="10.99.0.1") / ICMP(),
    "fwd_ttl": lambda: Ether(dst=kt.GW_MAC, src=PA_MAC) / IP(src=PA, dst=PB, ttl=1) / ICMP(),
    "fwd_gw_unsupported": lambda: Ether(dst=kt.GW_MAC, src=PA_MAC) / IP(src=PA, dst=kt.GW_IP) /
    TCP(dport=22),
    # A TCP header cut short inside a well-formed IPv4 packet. (Runt frames never
    # leave a kernel socket; the unit tests cover parse_trunc_l2.)
    "parse_trunc_l4": lambda: Ether(dst=kt.GW_MAC, src=PA_MAC, type=0x0800) /
    Raw(bytes(IP(src=PA, dst=PB, proto=6, len=30) / Raw(b"\x00" * 10))),
}


@pytest.mark.parametrize("reason", sorted(VNIC_CASES))
def test_vnic_bad_packet_counted(node, reason):
    with Delta(node) as d:
        inject(node, "pa", node.ifname("pa"), [VNIC_CASES[reason]()] * 3)
        node.ping("pa", PB, count=1)
    assert d.drop(reason) == 3, d.drops_changed()


def test_garbage_flood_then_forwarding(node):
    """Random frames to our MAC: each is dropped under some reason, none crashes us."""
    rnd = __import__("random").Random(1234)
    frames = []
    for _ in range(200):
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 120)))
        # Half claim IPv4 so the IP/UDP/VXLAN parsers see garbage too.
        et = b"\x08\x00" if rnd.random() < 0.5 else bytes(rnd.getrandbits(8) for _ in range(2))
        frames.append(bytes.fromhex(uplink_mac(node).replace(":", "")) + os.urandom(6) + et + body)
    with Delta(node) as d:
        for i in range(0, len(frames), 50):
            inject(node, "rn", node.ifname("up"), frames[i:i + 50])
        node.ping("rp", PA, count=2)
    dropped = sum(d.drops_changed().values())
    assert dropped >= len(frames) - 5, d.drops_changed()  # a few may be too short to send
    assert node.tcp_transfer("rp", "pa", PA, 1 << 20, port=5011).startswith("OK")

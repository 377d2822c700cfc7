# SPDX-License-Identifier: Apache-2.0
"""Any ethdev works: the same daemon on net_pcap ports replays a capture of
VXLAN traffic and writes what it forwards to pcap files."""
import os
import subprocess
import time

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap, wrpcap

import kdpu_topo as kt
from conftest import BUILD_DIR

POD_IP, POD_MAC = "10.244.1.10", "02:6b:64:01:00:0a"


def test_decap_replay_on_pcap_ports(tmp_path):
    tag = "p" + os.urandom(2).hex()
    frames = []
    for i in range(50):
        inner = (Ether(dst=kt.GW_MAC, src=kt.RNODE_MAC) /
                 IP(src=kt.RPOD_IP, dst=POD_IP, ttl=64) / UDP(sport=1000 + i, dport=80) /
                 (b"%04d" % i))
        frames.append(Ether(dst="02:00:00:00:00:aa", src="02:00:00:00:00:bb") /
                      IP(src=kt.RNODE_VTEP, dst=kt.VTEP_IP) / UDP(sport=50000, dport=4789) /
                      VXLAN(vni=kt.VNI if i % 10 else 999) / inner)
    wrpcap(str(tmp_path / "uplink_in.pcap"), frames)
    conf = tmp_path / "kdpu.conf"
    conf.write_text(f"""
eal = {{ file_prefix = "kdpu{tag}"; lcores = "0@0,1@{min(1, (os.cpu_count() or 1) - 1)}"; }};
workers = {{ lcores = [ 1 ]; idle_sleep_us = 100; }};
node = {{ vtep_ip = "{kt.VTEP_IP}/24"; }};
ports = (
  {{ name = "uplink"; role = "uplink";
    devargs = "net_pcap{tag}u,rx_pcap={tmp_path}/uplink_in.pcap,tx_pcap={tmp_path}/uplink_out.pcap"; }},
  {{ name = "pod"; role = "vnic"; pci = "0000:00:01.0";
    devargs = "net_pcap{tag}v,rx_pcap={tmp_path}/empty.pcap,tx_pcap={tmp_path}/pod_out.pcap"; }}
);
vpcs = ( {{ name = "default"; vni = {kt.VNI}; gateway_ip = "{kt.GW_IP}"; gateway_mac = "{kt.GW_MAC}"; }} );
vnics = ( {{ pci = "0000:00:01.0"; vpc = "default"; mac = "{POD_MAC}"; ip = "{POD_IP}"; }} );
""")
    wrpcap(str(tmp_path / "empty.pcap"), [])
    proc = subprocess.Popen([os.path.join(BUILD_DIR, "daemon", "kdpu-dataplane"), "-c", str(conf)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)  # the pcap PMD delivers the whole file at once
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, out
    got = rdpcap(str(tmp_path / "pod_out.pcap"))
    assert len(got) == 45, out  # 5 of 50 carried an unknown VNI
    assert "drop  vxlan_unknown_vni        5" in out, out
    for i, p in enumerate(got):
        assert p[Ether].dst == POD_MAC and p[Ether].src == kt.GW_MAC
        assert p[IP].dst == POD_IP and p[IP].ttl == 63
        fresh = p[IP].copy()
        del fresh.chksum  # scapy recomputes it on build
        assert IP(bytes(fresh)).chksum == p[IP].chksum
        assert VXLAN not in p

# SPDX-License-Identifier: Apache-2.0
"""Connection table limits and aging on a small table: when it is full, new
connections are refused and counted while existing ones carry on; configured
timeouts expire connections and free their room."""
import json
import os
import subprocess
import time

import pytest

from conftest import BUILD_DIR, WORKERS, Delta, inject, kt, running

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "netprobe.py")
KDPUCTL = os.path.join(BUILD_DIR, "cli", "kdpuctl")
CAPACITY = 1024
UDP_TIMEOUT = 12  # long enough that the fill is still there when it is probed, on a loaded machine

FILL = """
import socket, sys
n, base = int(sys.argv[1]), int(sys.argv[3]) if len(sys.argv) > 3 else 20000
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", base + i))
    s.sendto(b"x", (sys.argv[2], 53))
    s.close()
"""

ASK = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[3])))
s.settimeout(2)
got = 0
for i in range(int(sys.argv[1])):
    s.sendto(b"x", (sys.argv[2], 53))
    try:
        s.recv(64)
        got += 1
    except OSError:
        pass
print(got)
"""


@pytest.fixture(scope="module", params=WORKERS, ids=lambda w: f"{w}worker")
def small(request):
    servers = []
    with running(workers=request.param, extra_conf=(
            f"conntrack = {{ capacity = {CAPACITY}; timeouts = {{ udp = {UDP_TIMEOUT}; "
            f"udp_stream = {UDP_TIMEOUT}; }}; }};")) as n:
        try:
            for ns in ("pb", "rp"):
                p = subprocess.Popen(["ip", "netns", "exec", n.ns(ns), kt.PYTHON, PROBE,
                                      "serve", "8080,9050", "53"], stdout=subprocess.PIPE,
                                     text=True)
                assert p.stdout.readline().strip() == "ready"
                servers.append(p)
            yield n
        finally:
            for p in servers:
                p.kill()
                p.wait()


def stats(node):
    r = subprocess.run([KDPUCTL, "-s", node.sock, "stats", "-o", "json"], capture_output=True,
                       text=True, timeout=30, check=True)
    return json.loads(r.stdout)


def probe(node, src, target, timeout=1.5):
    out = node.nsx(src, kt.PYTHON, PROBE, "probe", str(timeout), target)
    return json.loads(out)[target]


def test_full_table_refuses_new_and_keeps_existing(small):
    n = small
    held = subprocess.Popen(["ip", "netns", "exec", n.ns("pa"), kt.PYTHON, PROBE, "hold",
                             kt.PODS["pb"][0], "8080"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert held.stdout.readline().startswith("ok")
        with Delta(n) as d:
            n.nsx("pa", kt.PYTHON, "-c", FILL, str(CAPACITY + 200), kt.RPOD_IP)
            # A loaded machine may lose part of the burst before the vNIC (the
            # tap's queue): top the table up from fresh ports until it is full.
            for base in (30000, 40000, 50000):
                time.sleep(0.5)
                if stats(n).get("connections", 0) >= CAPACITY:
                    break
                n.nsx("pa", kt.PYTHON, "-c", FILL, "400", kt.RPOD_IP, str(base))
            assert not probe(n, "pa", f"{kt.PODS['pb'][0]}/tcp/9050")
        # At least the packets beyond capacity that reached us; a loaded machine may
        # lose some of the burst before the vNIC.
        assert d.drop("ct_full") >= 1
        st = stats(n)
        assert st["connections"] == CAPACITY and st["connectionCapacity"] == CAPACITY
        # The connection made before the table filled is unharmed.
        for _ in range(5):
            assert held.stdout.readline().startswith("ok")
        # Aging frees the UDP entries after their configured timeout; room comes back.
        # Wait for the sweep to finish (the held connection stays), not just to start.
        deadline = time.time() + UDP_TIMEOUT * 4
        while time.time() < deadline and stats(n).get("connections", 0) > 2:
            time.sleep(0.5)
        with Delta(n) as d2:
            assert probe(n, "pa", f"{kt.PODS['pb'][0]}/tcp/9050")
        assert d2.drop("ct_full") == 0
        assert stats(n).get("connections", 0) < 10
        assert held.stdout.readline().startswith("ok")
    finally:
        held.stdin.close()
        held.wait(timeout=10)


def test_expired_count_matches(small):
    n = small
    with Delta(n) as d:
        n.nsx("pb", kt.PYTHON, "-c", FILL, "50", kt.RPOD_IP)
        time.sleep(UDP_TIMEOUT + 3)
    assert d.event("ct_new") >= 50
    assert d.event("ct_expired") >= 50


def test_established_packets_come_from_the_workers_cache(small):
    """The first packet each way asks the table and fills the worker's cache; every
    later packet of the connection, both ways, is answered by the cache."""
    n = small
    pb = kt.PODS["pb"][0]
    assert n.nsx("pa", kt.PYTHON, "-c", ASK, "2", pb, "34567").strip() == "2"
    with Delta(n) as d:
        assert n.nsx("pa", kt.PYTHON, "-c", ASK, "40", pb, "34567").strip() == "40"
    assert d.event("ct_new") == 0, d.drops_changed()
    assert d.event("fwd_local") >= 80
    assert d.event("ct_cache_miss") == 0
    assert d.event("ct_cache_stale") == 0


def test_a_burst_of_one_new_flow_is_one_connection(small):
    """Many packets of one new connection in the same RX burst: the first creates it,
    the rest find it; none is lost to the insert."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    n = small
    pa_ip, pa_mac, _ = kt.PODS["pa"]
    frames = [Ether(src=pa_mac, dst=kt.GW_MAC) / IP(src=pa_ip, dst=kt.PODS["pb"][0]) /
              UDP(sport=33333, dport=9) / (b"%03d" % i) for i in range(64)]
    with Delta(n) as d:
        inject(n, "pa", n.ifname("pa"), frames)
        time.sleep(0.5)
    assert d.drop("ct_race") == 0, d.drops_changed()
    assert d.event("ct_new") == 1
    assert d.event("fwd_local") >= 64, d.drops_changed()


def test_kdpuctl_flows_follows_pages(small):
    """More flows than a ListFlows page: kdpuctl follows next_page_token to the end."""
    n = small
    n.nsx("pa", kt.PYTHON, "-c", FILL, "700", kt.RPOD_IP, "21000")
    flows = lambda *a: subprocess.run(  # noqa: E731
        [KDPUCTL, "-s", n.sock, "flows", "--pod", "default/pa", *a],
        capture_output=True, text=True, timeout=60, check=True).stdout
    ports = lambda rows: {int(r.split()[2].rsplit(":", 1)[1]) for r in rows}  # noqa: E731
    rows = [ln for ln in flows().splitlines()[1:] if ":53 " in ln]
    got = json.loads(flows("-o", "json"))["flows"]
    # Two pages at least (kdpuctl asks for 500 a page), each flow once, in both outputs.
    assert len(rows) > 550, len(rows)
    assert len(ports(rows)) == len(rows)
    assert {f["srcPort"] for f in got if f.get("dstPort") == 53} == ports(rows)

# SPDX-License-Identifier: Apache-2.0
"""The daemon as an operator sees it: config errors, clean shutdown, telemetry
through dpdk-telemetry.py, and capture with dpdk-dumpcap."""
import glob
import os
import subprocess
import time

import pytest

import kdpu_topo as kt
from conftest import BUILD_DIR

DAEMON = os.path.join(BUILD_DIR, "daemon", "kdpu-dataplane")


def run_with_config(tmp_path, text):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    r = subprocess.run([DAEMON, "-c", str(conf)], capture_output=True, text=True, timeout=30)
    return conf, r


def valid_config(node):
    return node.config_text()


@pytest.mark.parametrize("mutation, line_key", [
    (lambda t: t.replace('role = "uplink"', 'role = "upstream"'), "ports[0].role"),
    (lambda t: t.replace("vni = 100", "vni = 16777216"), "vpcs[0].vni"),
    (lambda t: t.replace('"10.244.2.0/24"', '"10.244.2.1/24"'), "remote_nodes[0].pod_cidrs[0]"),
    (lambda t: t.replace('gateway_mac = "02:6b:64:00:00:01"', 'gateway_mac = "01:00:5e:00:00:01"'),
     "vpcs[0].gateway_mac"),
    (lambda t: t.replace('vpc = "default"; mac', 'vpc = "nope"; mac', 1), "vnics[0].vpc"),
    (lambda t: t.replace("memory_mb = 256;", "memory_mb = 256; hugepages = 3;"), "eal.hugepages"),
    (lambda t: t.replace("idle_sleep_us", "idle_sleep_usec"), "workers.idle_sleep_usec"),
])
def test_config_error_names_file_line_key(tmp_path, mutation, line_key):
    node = kt.Node(workers=1, build_dir=BUILD_DIR)
    text = mutation(valid_config(node))
    conf, r = run_with_config(tmp_path, text)
    assert r.returncode != 0
    msg = r.stderr.strip()
    assert msg.startswith(f"kdpu-dataplane: {conf}:"), msg
    assert f": {line_key}:" in msg, msg
    line = int(msg.split(f"{conf}:")[1].split(":")[0])
    assert line > 0
    # The reported line really holds the key (its last path component).
    key = line_key.rsplit(".", 1)[-1].split("[")[0]
    assert key in text.splitlines()[line - 1], (line, text.splitlines()[line - 1])
    # Nothing was touched: no EAL runtime dir, no tap.
    assert not os.path.exists(f"/var/run/dpdk/{node.prefix}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert node.ifname("up") not in links


def test_config_syntax_error_line(tmp_path):
    conf, r = run_with_config(tmp_path, 'workers = { lcores = [1]; };\nports = ( { name = "x" ;; );\n')
    assert r.returncode != 0
    assert f"{conf}:2: syntax error" in r.stderr, r.stderr


def test_missing_config_file(tmp_path):
    r = subprocess.run([DAEMON, "-c", str(tmp_path / "nope.conf")], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "cannot read" in r.stderr


def test_check_mode_prints_eal_args(tmp_path):
    node = kt.Node(workers=2, build_dir=BUILD_DIR)
    conf = tmp_path / "ok.conf"
    conf.write_text(node.config_text())
    r = subprocess.run([DAEMON, "-c", str(conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"--file-prefix={node.prefix}" in r.stdout and "--no-pci" in r.stdout
    assert f"--vdev=net_tap0,iface={node.ifname('up')}" in r.stdout


def test_sigterm_cleans_up():
    node = kt.Node(workers=2, build_dir=BUILD_DIR)
    try:
        node.start()
        node.wait_neighbor()
        node.ping("pa", kt.RPOD_IP)
        assert glob.glob(f"/dev/hugepages/{node.prefix}map_*")
        rc = node.stop()
        assert rc == 0, node.log()
        log = node.log()
        assert "signal 15, stopping" in log
        assert "event vxlan_encap" in log  # final counters are printed
        assert glob.glob(f"/dev/hugepages/{node.prefix}map_*") == []
        assert not os.path.exists(f"/var/run/dpdk/{node.prefix}")
        # The taps went away with the daemon, even from inside the pod namespaces.
        out = node.nsx("pa", "ip", "-o", "link")
        assert node.ifname("pa") not in out
    finally:
        node.close()


def test_sigint_stops_too():
    node = kt.Node(workers=1, build_dir=BUILD_DIR)
    try:
        node.start()
        node.proc.send_signal(2)
        assert node.proc.wait(timeout=20) == 0
        assert glob.glob(f"/dev/hugepages/{node.prefix}map_*") == []
    finally:
        node.close()


@pytest.fixture(scope="module")
def live():
    # Secondaries (dpdk-dumpcap) map hugepage memory at the primary's addresses; a fixed
    # base above ASan's shadow keeps that possible when the daemon runs sanitized.
    n = kt.Node(workers=1, build_dir=BUILD_DIR, eal_args=["--base-virtaddr=0x200000000000"])
    try:
        n.start()
        n.wait_neighbor()
        yield n
    finally:
        n.close()


def test_dpdk_telemetry_script(live):
    live.ping("pa", kt.RPOD_IP)
    r = subprocess.run([kt.PYTHON, "/usr/bin/dpdk-telemetry.py", "-f", live.prefix],
                       input="/kdpu/events\n/kdpu/drops\n/kdpu/ports,1\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert '"vxlan_encap"' in r.stdout and '"vxlan_unknown_vni"' in r.stdout
    assert '"rx_pkts"' in r.stdout


def test_dpdk_dumpcap_captures_a_port(live, tmp_path):
    out = tmp_path / "uplink.pcap"
    cap = subprocess.Popen(["dpdk-dumpcap", f"--file-prefix={live.prefix}", "-i", "0", "-P",
                            "-q", "-c", "6", "-w", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2)  # the capture attaches as a secondary process
        deadline = time.time() + 20
        while cap.poll() is None and time.time() < deadline:
            live.ping("pa", kt.RPOD_IP, count=2, check=False)
        assert cap.wait(timeout=10) == 0, cap.stdout.read()
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    from scapy.utils import rdpcap
    from scapy.layers.vxlan import VXLAN
    pkts = rdpcap(str(out))
    assert len(pkts) >= 6
    assert any(VXLAN in p and p[VXLAN].vni == kt.VNI for p in pkts)

# SPDX-License-Identifier: Apache-2.0
"""A kdpu node on net_tap ports in network namespaces, for the demo and the tests.

    pod-a ns --tap--+                      +--tap(uplink)-- remote-node ns --veth-- remote-pod ns
    pod-b ns --tap--+-- kdpu-dataplane ----+                kernel vxlan0 (VNI 100)
                    (local routing)          (VXLAN over the underlay 192.168.100.0/24)

The daemon creates the taps; this module moves them into namespaces and plays
the remote node with the Linux kernel's own VXLAN device, so the overlay is
checked against an implementation we did not write. Everything it creates is
named after a random tag and removed by close(); the daemon is stopped by PID.
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time

VNI = 100
GW_IP = "10.244.1.1"
GW_MAC = "02:6b:64:00:00:01"
RNODE_MAC = "02:6b:64:00:00:02"
VTEP_IP = "192.168.100.1"
RNODE_VTEP = "192.168.100.2"
POD_MTU = 1450
PODS = {  # name: (ip, mac, pci)
    "pa": ("10.244.1.10", "02:6b:64:01:00:0a", "0000:3b:00.2"),
    "pb": ("10.244.1.11", "02:6b:64:01:00:0b", "0000:3b:00.3"),
}
# vNIC ports without a static netdev: pods the API adds and removes at run time.
SPARE_PODS = {
    "pc": ("10.244.1.12", "02:6b:64:01:00:0c", "0000:3b:00.4"),
}
RPOD_IP = "10.244.2.10"
PYTHON = "/usr/bin/python3"


def sh(cmd, check=True, timeout=30):
    """Run a command list; return stdout. Raise with stderr on failure."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def stop(proc, sig=signal.SIGTERM, timeout=20):
    """Signal a process we started, give it timeout seconds, then kill it; its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Telemetry:
    """Client of the daemon's rte_telemetry v2 socket (what dpdk-telemetry.py uses)."""

    def __init__(self, prefix):
        self.path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"

    def query(self, cmd):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.settimeout(5)
            s.connect(self.path)
            hello = json.loads(s.recv(4096))
            s.send(cmd.encode())
            reply = json.loads(s.recv(hello["max_output_len"]))
        finally:
            s.close()
        return reply[cmd.split(",")[0]]

    def drops(self):
        return self.query("/kdpu/drops")

    def events(self):
        return self.query("/kdpu/events")


class Node:
    def __init__(self, workers=1, build_dir="build", idle_sleep_us=50, extra_conf="",
                 spare_pods=False, api_conf="", eal_args=(), node_conf=""):
        self.tag = "k" + secrets.token_hex(2)
        self.spare = SPARE_PODS if spare_pods else {}
        self.api_conf = api_conf
        self.eal_args = list(eal_args)
        self.node_conf = node_conf
        self.sock = f"/run/kdpu/{self.tag}.sock"
        self.prefix = "kdpu" + self.tag
        self.workers = workers
        self.build_dir = build_dir
        self.idle_sleep_us = idle_sleep_us
        self.extra_conf = extra_conf
        self.proc = None
        self.namespaces = []
        self.tmp = None  # made by start()
        self.conf_path = self.log_path = None
        self.tel = Telemetry(self.prefix)

    # names
    def ns(self, short):
        return f"{self.tag}-{short}"

    def ifname(self, short):
        return f"{self.tag}{short}"

    def config_text(self):
        ncpu = os.cpu_count() or 1
        # Workers spread over the CPUs after the main lcore's; lcores may share a CPU.
        lcores = ["0@0"] + [f"{i + 1}@{(i + 1) % ncpu}" for i in range(self.workers)]
        ports = [f'{{ name = "uplink0"; devargs = "net_tap0,iface={self.ifname("up")}"; '
                 f'role = "uplink"; mtu = 1500; }}']
        vnics = []
        for i, (p, (ip, mac, pci)) in enumerate({**PODS, **self.spare}.items()):
            ports.append(f'{{ name = "pod-{p}"; devargs = "net_tap{i + 1},iface={self.ifname(p)}"; '
                         f'role = "vnic"; pci = "{pci}"; mtu = {POD_MTU}; }}')
            if p in self.spare:
                continue
            vnics.append(f'{{ pci = "{pci}"; vpc = "default"; mac = "{mac}"; ip = "{ip}"; '
                         f'pod = "default/{p}"; }}')
        return f"""
eal = {{ file_prefix = "{self.prefix}"; lcores = "{','.join(lcores)}"; memory_mb = 256;
        args = [ {', '.join(f'"{a}"' for a in self.eal_args)} ]; }};
workers = {{ lcores = [ {', '.join(str(i + 1) for i in range(self.workers))} ];
            idle_sleep_us = {self.idle_sleep_us}; rx_desc = 512; tx_desc = 512; }};
mempool = {{ mbufs = 8191; }};
node = {{ name = "node-a"; vtep_ip = "{VTEP_IP}/24"; arp_refresh_s = 30; {self.node_conf} }};
ports = ( {', '.join(ports)} );
vpcs = ( {{ name = "default"; vni = {VNI}; gateway_ip = "{GW_IP}"; gateway_mac = "{GW_MAC}"; }} );
vnics = ( {', '.join(vnics)} );
remote_nodes = ( {{ name = "node-b"; vtep_ip = "{RNODE_VTEP}"; vpc = "default";
                   pod_cidrs = [ "10.244.2.0/24" ]; mac = "{RNODE_MAC}"; }} );
api = {{ unix_socket = "{self.sock}"; {self.api_conf} }};
{self.extra_conf}
"""

    def add_ns(self, short):
        name = self.ns(short)
        sh(["ip", "netns", "add", name])
        self.namespaces.append(name)
        self.nsx(short, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        self.nsx(short, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        self.nsx(short, "ip", "link", "set", "lo", "up")
        return name

    def nsx(self, short, *cmd, check=True, timeout=30):
        return sh(["ip", "netns", "exec", self.ns(short), *cmd], check=check, timeout=timeout)

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="kdpu-")
        self.conf_path = os.path.join(self.tmp, "kdpu.conf")
        self.log_path = os.path.join(self.tmp, "kdpu.log")
        with open(self.conf_path, "w") as f:
            f.write(self.config_text())
        self.start_daemon()
        self.wire()
        return self

    def start_daemon(self):
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.path.join(self.build_dir, "daemon", "kdpu-dataplane"),
                                      "-c", self.conf_path],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kdpu-dataplane exited {self.proc.returncode}:\n{self.log()}")
            if "running" in self.log() and os.path.exists(self.tel.path):
                return
            time.sleep(0.1)
        raise RuntimeError(f"kdpu-dataplane did not start:\n{self.log()}")

    def log(self):
        if self.log_path is None:
            return ""
        with open(self.log_path) as f:
            return f.read()

    def restart(self):
        """Stop and start the daemon; its new taps go back into the same namespaces."""
        rc = self.stop()
        self.start_daemon()
        self.wire(fresh=False)
        return rc

    def wire(self, fresh=True):
        for p, (ip, mac, _) in {**PODS, **self.spare}.items():
            if fresh:
                self.add_ns(p)
            dev = self.ifname(p)
            sh(["ip", "link", "set", dev, "netns", self.ns(p)])
            self.nsx(p, "ip", "link", "set", dev, "address", mac, "mtu", str(POD_MTU), "up")
            self.nsx(p, "ip", "addr", "add", f"{ip}/24", "dev", dev)
            self.nsx(p, "ip", "route", "add", "default", "via", GW_IP)
        # Remote node: the uplink tap is its underlay NIC, vxlan0 its VTEP.
        up = self.ifname("up")
        if fresh:
            self.add_ns("rn")
        else:  # the kernel removed the VXLAN device with its lower device
            self.nsx("rn", "ip", "link", "del", "vxlan0", check=False)
        sh(["ip", "link", "set", up, "netns", self.ns("rn")])
        rn = lambda *c: self.nsx("rn", *c)  # noqa: E731
        rn("sysctl", "-qw", "net.ipv4.ip_forward=1")
        rn("ip", "link", "set", up, "up")
        rn("ip", "addr", "add", f"{RNODE_VTEP}/24", "dev", up)
        rn("ip", "link", "add", "vxlan0", "type", "vxlan", "id", str(VNI), "local", RNODE_VTEP,
           "dstport", "4789", "nolearning", "dev", up)
        rn("ip", "link", "set", "vxlan0", "address", RNODE_MAC, "mtu", str(POD_MTU), "up")
        rn("bridge", "fdb", "append", GW_MAC, "dev", "vxlan0", "dst", VTEP_IP)
        rn("ip", "neigh", "add", GW_IP, "lladdr", GW_MAC, "dev", "vxlan0", "nud", "permanent")
        rn("ip", "route", "add", "10.244.1.0/24", "via", GW_IP, "dev", "vxlan0", "onlink")
        if not fresh:
            return
        # Remote pod behind the remote node.
        self.add_ns("rp")
        rn("ip", "link", "add", "rn0", "mtu", str(POD_MTU), "type", "veth", "peer", "name", "rp0",
           "netns", self.ns("rp"))
        rn("ip", "addr", "add", "10.244.2.1/24", "dev", "rn0")
        rn("ip", "link", "set", "rn0", "up")
        self.nsx("rp", "ip", "link", "set", "rp0", "mtu", str(POD_MTU), "up")
        self.nsx("rp", "ip", "addr", "add", f"{RPOD_IP}/24", "dev", "rp0")
        self.nsx("rp", "ip", "route", "add", "default", "via", "10.244.2.1")

    def wait_neighbor(self, timeout=15):
        """Until the daemon has resolved the remote VTEP's MAC."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for n in self.tel.query("/kdpu/neighbors"):
                if n.startswith(RNODE_VTEP + " ") and "incomplete" not in n:
                    return
            time.sleep(0.2)
        raise RuntimeError("remote VTEP not resolved")

    def ping(self, src, dst, count=3, check=True):
        return self.nsx(src, "ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", dst,
                        check=check)

    def tcp_transfer(self, client, server, server_ip, nbytes=1 << 20, port=5001):
        """Two-way TCP transfer from client ns to server ns; returns the client's line."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcp_xfer.py")
        srv = subprocess.Popen(["ip", "netns", "exec", self.ns(server), PYTHON, script, "serve",
                                str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        try:
            srv.stdout.readline()  # "listening"
            out = self.nsx(client, PYTHON, script, "send", server_ip, str(port), str(nbytes),
                           timeout=60)
            srv.wait(timeout=30)
        finally:
            if srv.poll() is None:
                srv.kill()
                srv.wait()
        if srv.returncode != 0:
            raise RuntimeError(f"server failed: {srv.stdout.read()}")
        return out.strip()

    def stop(self, timeout=20):
        """SIGTERM the daemon we started and return its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        rc = stop(self.proc, timeout=timeout)
        return None if rc == -signal.SIGKILL else rc

    def close(self):
        self.stop()
        for ns in reversed(self.namespaces):
            sh(["ip", "netns", "del", ns], check=False)
        self.namespaces = []
        sh(["rm", "-rf", f"/var/run/dpdk/{self.prefix}"] + ([self.tmp] if self.tmp else []),
           check=False)
        for d in ("/dev/hugepages",):
            if os.path.isdir(d):
                for f in os.listdir(d):
                    if f.startswith(self.prefix + "map_"):
                        os.unlink(os.path.join(d, f))

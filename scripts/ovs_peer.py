# SPDX-License-Identifier: Apache-2.0
"""OVS-DPDK as a peer device under test on the bench.py memif harness.

Debian's openvswitch-switch-dpdk, run as private child processes: its own
ovsdb-server, database, sockets and logs under the run's temp dir, its own EAL
file prefix, so nothing touches /var/run/openvswitch or a system service.
The data path is built as OVS deployments build it, with OpenFlow:

  br-int (netdev)  "pod" = memif link 0, "vx" = VXLAN VNI 100 to RVTEP
  br-phy (netdev)  "up"  = memif link 1; its LOCAL port (a kernel tap)
                   carries the VTEP address, so userspace tunneling pushes
                   and pops VXLAN on the uplink

and the pipeline (flows_int below) does what kdpu does in scenarios a to c:
conntrack in a zone with a commit for new connections, the Service DNAT by
ct(nat), routing as a router would (gateway source MAC, TTL decrement).

Run on its own (as root, hugepages reserved), it sets the pipeline up on two
memif sockets, prints the commands to inspect it, and tears it down on Ctrl-C:
  python3 scripts/ovs_peer.py [--ct mark|commit]
"""
import argparse
import glob
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kdpu_topo as kt  # noqa: E402
from bench_topo import (GW_MAC, POD_IP, POD_MAC, POD_PORT, RPOD_CIDR, RVTEP,  # noqa: E402
                        RVTEP_MAC, UPLINK_MAC, VIP, VIP_PORT, VNI, VTEP)

VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

ZONE = 1

ROUTE_TO_POD = f"mod_dl_src:{GW_MAC},mod_dl_dst:{POD_MAC},dec_ttl,output:pod"
ROUTE_TO_REMOTE = f"mod_dl_src:{GW_MAC},mod_dl_dst:{RVTEP_MAC},dec_ttl,output:vx"
CT_MODES = ("mark", "commit")


def flows_int(ct_mode="mark"):
    """br-int's pipeline. Table 0 classifies and sends through conntrack, 10
    leaves for the remote node, 20 arrives at the pod; the VIP is translated by
    ct(nat) on the way in for a known connection, by the commit that creates it
    otherwise. New connections are committed, established ones pass.

    OVS keeps a UDP connection +new until it sees a reply (as the kernel's
    conntrack does), and the generator sends none: with "commit +new, pass
    +est" alone ("commit") every packet would be committed again, a second ct
    action (a second full lookup after ct(nat): OVS caches the connection
    between the two only without NAT). Real traffic gets replies and passes
    as +est, so "mark" (the default) tags the commit with ct_mark=1 and passes
    marked connections as established: one lookup per packet, an insert only
    for an unknown connection, as kdpu does.
    """
    z = ZONE
    mark = ",exec(set_field:1->ct_mark)" if ct_mode == "mark" else ""
    f = [
        f"table=0,priority=100,ip,in_port=pod,nw_src={POD_IP},nw_dst={RPOD_CIDR},"
        f"actions=ct(table=10,zone={z})",
        f"table=0,priority=100,udp,in_port=vx,nw_dst={VIP},tp_dst={VIP_PORT},"
        f"actions=ct(table=20,zone={z},nat)",
        f"table=0,priority=90,ip,in_port=vx,nw_dst={POD_IP},actions=ct(table=20,zone={z})",
        "table=0,priority=0,actions=drop",
        f"table=10,priority=100,ct_state=+trk+new,ip,actions=ct(commit,zone={z}{mark}),"
        f"{ROUTE_TO_REMOTE}",
        f"table=10,priority=100,ct_state=+trk+est,ip,actions={ROUTE_TO_REMOTE}",
        "table=10,priority=0,actions=drop",
        # Matched on the original tuple: before the first commit the packet is
        # still addressed to the VIP, after it ct(nat) has translated it already.
        f"table=20,priority=100,ct_state=+trk+new,udp,ct_nw_dst={VIP},ct_tp_dst={VIP_PORT},"
        f"actions=ct(commit,zone={z},nat(dst={POD_IP}:{POD_PORT}){mark}),{ROUTE_TO_POD}",
        f"table=20,priority=90,ct_state=+trk+new,ip,nw_dst={POD_IP},"
        f"actions=ct(commit,zone={z}{mark}),{ROUTE_TO_POD}",
        f"table=20,priority=90,ct_state=+trk+est,ip,nw_dst={POD_IP},actions={ROUTE_TO_POD}",
        "table=20,priority=0,actions=drop",
    ]
    if ct_mode == "mark":
        f += [f"table=10,priority=200,ct_state=+trk-inv,ct_mark=1,ip,actions={ROUTE_TO_REMOTE}",
              f"table=20,priority=200,ct_state=+trk-inv,ct_mark=1,ip,nw_dst={POD_IP},"
              f"actions={ROUTE_TO_POD}"]
    return f


# br-phy: the uplink and the VTEP's own port. Output to LOCAL of a VXLAN packet
# for the VTEP address and the bridge's MAC is where userspace tunneling pops.
FLOWS_PHY = [
    "priority=100,in_port=up,actions=output:LOCAL",
    "priority=100,in_port=LOCAL,actions=output:up",
    "priority=0,actions=drop",
]


class Ovs:
    """ovsdb-server and ovs-vswitchd-dpdk under dir, on the two memif sockets."""

    def __init__(self, dir, prefix, sock, mem_mb=1024):
        self.dir, self.prefix, self.sock, self.mem_mb = dir, prefix, sock, mem_mb
        # Interface names are kernel taps: unique, so that cleanup removes only ours.
        self.br_int, self.br_phy = f"kdi{prefix}", f"kdp{prefix}"
        self.db = f"unix:{dir}/db.sock"
        self.ctl = f"{dir}/vswitchd.ctl"
        self.env = dict(os.environ, OVS_RUNDIR=dir, OVS_DBDIR=dir, OVS_LOGDIR=dir,
                        OVS_PKGDATADIR="/usr/share/openvswitch")
        self.procs, self.logs = [], []
        # The netdev datapath's own tap has a fixed name: remove it only if we made it.
        self.had_netdev_tap = os.path.exists("/sys/class/net/ovs-netdev")

    def _run(self, *args, timeout=30, check=True):
        r = subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])}: {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    def vsctl(self, *args, wait=True):
        return self._run("ovs-vsctl", f"--db={self.db}", "--timeout=30",
                         *(() if wait else ("--no-wait",)), *args)

    def appctl(self, *args, check=True):
        try:
            return self._run("ovs-appctl", "-t", self.ctl, *args, check=check)
        except RuntimeError as e:
            p = self.procs[-1] if self.procs else None
            if p is not None and p.poll() is not None:  # say why it is not there
                raise RuntimeError(f"ovs-vswitchd exited {p.returncode}: "
                                   + self._tail(f"{self.dir}/ovs-vswitchd.log", 3)) from e
            raise

    def ofctl(self, bridge, *args):
        # ct() and its fields are Nicira extensions: OpenFlow 1.0's default format lacks tables.
        return self._run("ovs-ofctl", "-O", "OpenFlow13", args[0],
                         f"unix:{self.dir}/{bridge}.mgmt", *args[1:])

    def _spawn(self, name, args, ready):
        log = open(f"{self.dir}/{name}.out", "w")
        self.logs.append(log)
        p = subprocess.Popen(args, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        deadline = time.time() + 30
        while not os.path.exists(ready):
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start (exit {p.poll()}): "
                                   f"{self._tail(f'{self.dir}/{name}.log')}")
            time.sleep(0.05)

    @staticmethod
    def _tail(path, n=5):
        try:
            with open(path) as f:
                return " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def start(self):
        self._run("ovsdb-tool", "create", f"{self.dir}/conf.db", SCHEMA)
        self._spawn("ovsdb-server", ["ovsdb-server", f"{self.dir}/conf.db",
                                     f"--remote=punix:{self.dir}/db.sock",
                                     f"--unixctl={self.dir}/ovsdb.ctl", "--no-chdir",
                                     f"--log-file={self.dir}/ovsdb-server.log",
                                     "-vconsole:off"], f"{self.dir}/db.sock")
        self.vsctl("init", wait=False)
        # The EAL main lcore shares core 0 with pktgen, the one PMD thread takes core 1,
        # as kdpu's worker does. One handler and one revalidator: there is one core to spare.
        oc = {"dpdk-init": "true", "dpdk-lcore-mask": "0x1", "pmd-cpu-mask": "0x2",
              "dpdk-socket-mem": str(self.mem_mb), "dpdk-socket-limit": str(self.mem_mb),
              "dpdk-extra": f"--no-pci --file-prefix={self.prefix} --log-level=lib.eal:error",
              "n-handler-threads": "1", "n-revalidator-threads": "1"}
        self.vsctl("set", "Open_vSwitch", ".",
                   *[f'other_config:{k}="{v}"' for k, v in oc.items()], wait=False)
        self._spawn("ovs-vswitchd", [VSWITCHD, self.db, f"--unixctl={self.ctl}", "--no-chdir",
                                     f"--log-file={self.dir}/ovs-vswitchd.log",
                                     "-vconsole:off"], self.ctl)
        deadline = time.time() + 60
        while self.vsctl("get", "Open_vSwitch", ".", "dpdk_initialized",
                         wait=False).strip() != "true":
            if self.procs[-1].poll() is not None or time.time() > deadline:
                raise RuntimeError("ovs-vswitchd: DPDK did not initialize: "
                                   + self._tail(f"{self.dir}/ovs-vswitchd.log"))
            time.sleep(0.1)

    def setup(self, ct_mode="mark"):
        """The bridges, ports and flows of every scenario (they share one pipeline)."""
        dev = 'options:dpdk-devargs="net_memif{},role=server,socket={}"'
        self.vsctl("add-br", self.br_phy, "--", "set", "Bridge", self.br_phy,
                   "datapath_type=netdev", f"other_config:hwaddr={UPLINK_MAC}",
                   "fail_mode=secure", "--",
                   "add-port", self.br_phy, "up", "--", "set", "Interface", "up", "type=dpdk",
                   "ofport_request=1", dev.format(1, self.sock[1]))
        self.vsctl("add-br", self.br_int, "--", "set", "Bridge", self.br_int,
                   "datapath_type=netdev", "fail_mode=secure", "--",
                   "add-port", self.br_int, "pod", "--", "set", "Interface", "pod", "type=dpdk",
                   "ofport_request=1", dev.format(0, self.sock[0]), "--",
                   "add-port", self.br_int, "vx", "--", "set", "Interface", "vx", "type=vxlan",
                   "ofport_request=2", f"options:remote_ip={RVTEP}", f"options:local_ip={VTEP}",
                   f"options:key={VNI}")
        for p in ("pod", "up"):
            err = self.vsctl("get", "Interface", p, "error").strip()
            if err not in ("[]", ""):
                raise RuntimeError(f"ovs port {p}: {err}")
        # The VTEP address on br-phy's tap gives OVS its tunnel route (learnt from
        # the kernel); the remote VTEP's MAC is set, as kdpu has it from its config.
        tap = self.br_phy
        subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1"],
                       capture_output=True, check=False)  # no kernel chatter on the uplink
        subprocess.run(["ip", "addr", "add", f"{VTEP}/24", "dev", tap], check=True)
        subprocess.run(["ip", "link", "set", tap, "up"], check=True)
        deadline = time.time() + 10
        while f"{RVTEP.rsplit('.', 1)[0]}.0/24 dev {tap}" not in self.appctl("ovs/route/show"):
            if time.time() > deadline:
                raise RuntimeError("ovs: no route to the remote VTEP via " + tap)
            time.sleep(0.1)
        self.appctl("tnl/neigh/set", tap, RVTEP, RVTEP_MAC)
        for br, flows in ((self.br_int, flows_int(ct_mode)), (self.br_phy, FLOWS_PHY)):
            path = f"{self.dir}/{br}.flows"
            with open(path, "w") as f:
                f.write("\n".join(flows) + "\n")
            self.ofctl(br, "replace-flows", path)

    def clear_stats(self):
        self.appctl("dpif-netdev/pmd-stats-clear")

    def cycles_per_packet(self):
        """The PMD thread's processing cycles over packets, as pmd-stats-show reports them."""
        m = re.search(r"avg processing cycles per packet: ([0-9.]+)",
                      self.appctl("dpif-netdev/pmd-stats-show"))
        return float(m.group(1)) if m else float("nan")

    def ct_entries(self, zone=ZONE):
        m = re.search(r"Total: (\d+)", self.appctl("dpctl/ct-stats-show", f"zone={zone}"))
        return int(m.group(1)) if m else 0

    def drops(self):
        """Packets the memif ports dropped, from the datapath's live counters."""
        out, port, d = self.appctl("dpctl/show", "-s"), None, {}
        for ln in out.splitlines():
            m = re.match(r"\s+port \d+: (\S+)", ln)
            if m:
                port = m.group(1)
            m = re.match(r"\s+(RX|TX) packets:\d+ errors:\d+ dropped:(\d+)", ln)
            if m and port in ("pod", "up") and int(m.group(2)):
                d[f"{port}_{m.group(1).lower()}_dropped"] = int(m.group(2))
        return d

    def stop(self):
        # The generator has exited already (memif pollers dislike the reverse order).
        if self.procs and self.procs[-1].poll() is None and os.path.exists(self.ctl):
            # --cleanup deletes the datapath, with its taps, as del-br would.
            try:
                self.appctl("exit", "--cleanup", check=False)
            except (RuntimeError, subprocess.SubprocessError):
                pass  # a hung one gets SIGTERM below
        for p in reversed(self.procs):
            kt.stop(p)
        self.procs = []
        for log in self.logs:
            log.close()
        self.logs = []
        # OVS makes its taps persistent: a vswitchd that crashed would leave them.
        taps = [self.br_int, self.br_phy] + ([] if self.had_netdev_tap else ["ovs-netdev"])
        for tap in taps:
            if os.path.exists(f"/sys/class/net/{tap}"):
                subprocess.run(["ip", "link", "del", tap], capture_output=True, check=False)
        for f in glob.glob(f"/dev/hugepages/{self.prefix}map_*"):
            os.unlink(f)
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ct", choices=CT_MODES, default="mark",
                    help="conntrack pipeline (see flows_int)")
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="kdpu-ovs-")
    o = Ovs(d, "kdovs" + secrets.token_hex(2), [f"{d}/m0.sock", f"{d}/m1.sock"])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        o.start()
        o.setup(args.ct)
        print(f"""OVS-DPDK is up in {d}; memif servers (pktgen connects as client, --rx-queues 2):
  pod (link 0) {o.sock[0]}, uplink (link 1) {o.sock[1]}
  export OVS_RUNDIR={d}
  ovs-vsctl --db={o.db} show
  ovs-ofctl -O OpenFlow13 dump-flows unix:{d}/{o.br_int}.mgmt
  ovs-appctl -t {o.ctl} dpctl/dump-flows
  ovs-appctl -t {o.ctl} dpif-netdev/pmd-stats-show
  ovs-appctl -t {o.ctl} dpctl/dump-conntrack
Ctrl-C (or SIGTERM) tears it down.""", flush=True)
        while not stop:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        o.stop()
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: Apache-2.0
"""kdpu benchmarks over net_memif on one machine (see scripts/bench.sh).

Two memif links join kdpu-pktgen to the device under test: link 0 plays a pod's
vNIC, link 1 the uplink. The baseline is dpdk-testpmd io forwarding between the
same two links. Runs alternate baseline and kdpu (the VMs' cores drift between
fast and slow periods, so only ratios measured side by side mean anything),
and kdpu's own busy cycles per packet are read from /kdpu/workers.

--peer ovs adds OVS-DPDK (Debian's openvswitch-switch-dpdk) as a third device
under test in scenarios a to c, on the same links, with its conntrack, NAT and
VXLAN configured by OpenFlow (scripts/ovs_peer.py sets it up); its cycles per
packet come from dpif-netdev/pmd-stats-show.

Scenarios:
  a  pod -> vNIC -> VXLAN encap -> uplink
  b  VXLAN on the uplink -> decap -> vNIC
  c  (b) to a ClusterIP: decap, conntrack hit and Service DNAT -> the endpoint's vNIC
  d  (b) where every packet opens a new connection (policy + LB + conntrack insert,
     with aging running): connections per second

--smoke runs each scenario once, briefly, and only checks that packets came
back: the harness works (no threshold on any figure).

--callgrind N also counts instructions per packet of scenarios a to d with
valgrind's callgrind on kdpu-replay, a fixed replay through the same stages
without ports: two replays of different lengths, the difference over the
difference in packets, so setup and warm-up cancel out. Only the stages are
counted (kd_fwd_vnic_burst, kd_vxlan_uplink_burst, kd_ct_age_tick), not the replay's
own mbuf handling. The count is the same on every run of the same binary.
"""
import argparse
import glob
import json
import math
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kdpu_topo as kt  # noqa: E402
import ovs_peer  # noqa: E402

from bench_topo import (GW_MAC, POD_IP, POD_MAC, POD_PORT, RPOD_CIDR, RPOD_IP,  # noqa: E402
                        RVTEP, RVTEP_MAC, UPLINK_MAC, VIP, VIP_PORT, VNI, VTEP)
SERVICE = """{"apiVersion": "v1", "kind": "Service",
 "metadata": {"name": "bench", "namespace": "default"},
 "spec": {"clusterIP": "%s", "ports": [{"name": "u", "port": %d, "protocol": "UDP",
                                         "targetPort": %d}]}}
---
{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
 "metadata": {"name": "bench-1", "namespace": "default",
              "labels": {"kubernetes.io/service-name": "bench"}},
 "addressType": "IPv4",
 "endpoints": [{"addresses": ["%s"], "nodeName": "node-a", "conditions": {"ready": true}}],
 "ports": [{"name": "u", "protocol": "UDP", "port": %d}]}
""" % (VIP, VIP_PORT, POD_PORT, POD_IP, POD_PORT)
CPS_FLOWS = 1 << 24  # never wraps within a run: every packet is a new connection
CPS_CAPACITY = 1 << 21


class DutDied(Exception):
    pass


class Run:
    """One memif pair of sockets and the processes on them, cleaned up by PID."""

    def __init__(self, build):
        self.build = build
        self.tag = "b" + secrets.token_hex(2)
        self.tmp = tempfile.mkdtemp(prefix="kdpu-bench-")
        self.sock = [f"{self.tmp}/m0.sock", f"{self.tmp}/m1.sock"]
        self.procs = []
        self.ovs = None

    def dut_testpmd(self):
        args = ["dpdk-testpmd", "-l", "0,1", f"--file-prefix={self.tag}t", "-m", "256",
                "--no-pci", "--log-level=lib.eal:error"]
        for i, s in enumerate(self.sock):
            args.append(f"--vdev=net_memif{i},role=server,socket={s}")
        args += ["--", "--forward-mode=io", "--auto-start", "--nb-cores=1"]
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        time.sleep(2)
        return None

    def dut_kdpu(self, flows_capacity, scenario):
        # 322 bytes per connection, measured; the rest is mempool and tables.
        mem = 384 + math.ceil(flows_capacity * 400 / (1 << 20))
        tmo = "timeouts = { udp = 1; udp_stream = 1; };" if scenario == "d" else ""
        conf = f"""
eal = {{ file_prefix = "{self.tag}k"; lcores = "0@0,1@1"; memory_mb = {mem}; }};
workers = {{ lcores = [ 1 ]; }};
mempool = {{ mbufs = 16383; }};
node = {{ name = "node-a"; vtep_ip = "{VTEP}/24"; }};
ports = (
  {{ name = "pod"; devargs = "net_memif0,role=server,socket={self.sock[0]}"; role = "vnic";
     pci = "0000:3b:00.2"; mtu = 1450; }},
  {{ name = "uplink"; devargs = "net_memif1,role=server,socket={self.sock[1]}"; role = "uplink";
     mtu = 1500; }}
);
vpcs = ( {{ name = "default"; vni = {VNI}; gateway_ip = "10.244.1.1"; gateway_mac = "{GW_MAC}"; }} );
vnics = ( {{ pci = "0000:3b:00.2"; vpc = "default"; mac = "{POD_MAC}"; ip = "{POD_IP}"; }} );
remote_nodes = ( {{ name = "node-b"; vtep_ip = "{RVTEP}"; vpc = "default";
                   pod_cidrs = [ "{RPOD_CIDR}" ]; mac = "{RVTEP_MAC}"; }} );
conntrack = {{ capacity = {flows_capacity}; {tmo} }};
api = {{ unix_socket = "{self.tmp}/api.sock"; }};
"""
        path = f"{self.tmp}/kdpu.conf"
        with open(path, "w") as f:
            f.write(conf)
        log = open(f"{self.tmp}/kdpu.log", "w")
        p = subprocess.Popen([os.path.join(self.build, "daemon", "kdpu-dataplane"), "-c", path],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        tel = kt.Telemetry(f"{self.tag}k")
        deadline = time.time() + 20
        while time.time() < deadline and not os.path.exists(tel.path):
            time.sleep(0.1)
        time.sleep(0.5)
        if p.poll() is not None:
            raise RuntimeError(f"kdpu-dataplane exited {p.returncode}")
        if scenario == "c":
            r = subprocess.run([os.path.join(self.build, "cli", "kdpuctl"), "-s",
                                f"{self.tmp}/api.sock", "apply", "-f", "-"], input=SERVICE,
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                raise RuntimeError(f"kdpuctl apply: {r.stderr}")
        return tel

    def check_kdpu(self):
        """A data plane that died under the run is the DUT's failure, never retried."""
        p = self.procs[-1]
        if p.poll() is not None:
            with open(f"{self.tmp}/kdpu.log") as f:
                tail = "".join(f.readlines()[-30:])
            raise DutDied(f"kdpu-dataplane exited {p.returncode} during the run:\n{tail}")

    def dut_ovs(self, ct_mode):
        self.ovs = ovs_peer.Ovs(self.tmp, f"{self.tag}o", self.sock)
        self.ovs.start()
        self.ovs.setup(ct_mode)
        self.ovs.clear_stats()  # setup's own packets (none expected) do not count
        return self.ovs

    def pktgen_args(self, scenario, flows, seconds, warmup, rx_queues=1, client_opts=""):
        """The generator's command line for a scenario; client_opts go into its memif devargs."""
        args = [os.path.join(self.build, "bench", "kdpu-pktgen"), "-l", "0",
                f"--file-prefix={self.tag}g", "-m", "256", "--no-pci",
                "--log-level=lib.eal:error"]
        for i, s in enumerate(self.sock):
            args.append(f"--vdev=net_memif{i},role=client,socket={s}{client_opts}")
        args += ["--", "--flows", str(flows), "--seconds", str(seconds), "--warmup", str(warmup),
                 "--size", "64", "--arp-ip", RVTEP, "--arp-mac", RVTEP_MAC]
        if scenario == "a":
            args += ["--tx", "0", "--rx", "1", "--mode", "pod", "--src-mac", POD_MAC,
                     "--dst-mac", GW_MAC, "--src-ip", POD_IP, "--dst-ip", RPOD_IP]
        else:
            args += ["--tx", "1", "--rx", "0", "--mode", "vxlan", "--src-mac", RVTEP_MAC,
                     "--dst-mac", UPLINK_MAC, "--outer-src", RVTEP, "--outer-dst", VTEP,
                     "--vni", str(VNI), "--inner-dst-mac", GW_MAC, "--src-ip", RPOD_IP,
                     "--dst-ip", VIP if scenario == "c" else POD_IP,
                     "--dport", str(VIP_PORT if scenario == "c" else POD_PORT)]
        if rx_queues > 1:
            args += ["--rx-queues", str(rx_queues)]
        return args

    def pktgen(self, scenario, flows, seconds, warmup, rx_queues=1, collect=None):
        """Run the generator; collect(result) reads the device under test while the
        generator holds its links (--hold), then the device under test stops, then
        the generator disconnects: a memif side still polling can crash on a
        disconnect, and the generator no longer polls by then."""
        p = subprocess.Popen(self.pktgen_args(scenario, flows, seconds, warmup, rx_queues) +
                             ["--hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        watchdog = threading.Timer(seconds + warmup + 60, p.kill)
        watchdog.start()
        try:
            out = []
            for ln in p.stdout:
                out.append(ln)
                if ln.startswith("{"):
                    break
            if not out or not out[-1].startswith("{"):
                raise RuntimeError(f"pktgen failed: {''.join(out)}\n{p.stderr.read()}")
            res = json.loads(out[-1])
            if collect is not None:
                collect(res)
            return res
        finally:
            self.stop_duts()
            p.stdin.close()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kt.stop(p)
            watchdog.cancel()

    def stop_duts(self):
        if self.ovs is not None:
            self.ovs.stop()
            self.ovs = None
        for p in reversed(self.procs):
            rc = kt.stop(p, signal.SIGTERM if p.args[0] != "dpdk-testpmd" else signal.SIGINT)
            if rc is not None and rc < 0 and rc != -signal.SIGKILL:
                print(f"  {os.path.basename(p.args[0])} died of signal {-rc} on stop", flush=True)
        self.procs = []

    def stop(self):
        self.stop_duts()
        # The runtime directories of our EAL instances, by their prefixes, and the
        # hugepage files an exited one leaves (held until the next EAL start).
        subprocess.run(["rm", "-rf", self.tmp] +
                       [f"/var/run/dpdk/{self.tag}{s}" for s in "ktgo"] +
                       glob.glob(f"/dev/hugepages/{self.tag}[ktgo]map_*"), check=False)


def cycles_per_packet(tel):
    w = tel.query("/kdpu/workers")
    pkts = w.get("w0_busy_pkts", 0)
    return w.get("w0_busy_tsc", 0) / pkts if pkts else float("nan")


def one(build, dut, scenario, flows, seconds, warmup, tries=3, ovs_ct="mark"):
    """One measurement; a memif link that never comes up (about 1 run in 50) is retried."""
    for attempt in range(tries):
        r = Run(build)
        try:
            if dut == "ovs":
                # OVS's PMD thread transmits on the memif queue after its main
                # thread's: pktgen opens two receive rings to take them.
                ovs = r.dut_ovs(ovs_ct)

                def from_ovs(res):
                    res["cycles_per_packet"] = ovs.cycles_per_packet()
                    res["drops"] = ovs.drops()
                    res["ct_entries"] = ovs.ct_entries()
                return r.pktgen(scenario, flows, seconds, warmup, rx_queues=2, collect=from_ovs)
            cap = CPS_CAPACITY if flows >= CPS_FLOWS else max(1024, flows * 2)
            tel = r.dut_testpmd() if dut == "testpmd" else r.dut_kdpu(cap, scenario)

            def from_kdpu(res):
                r.check_kdpu()
                res["cycles_per_packet"] = cycles_per_packet(tel)
                res["drops"] = {k: v for k, v in tel.drops().items() if v}
                ev = tel.events()
                res["ct_new"] = ev.get("ct_new", 0)
                res["lb_new"] = ev.get("lb_new", 0)
            return r.pktgen(scenario, flows, seconds, warmup,
                            collect=from_kdpu if tel is not None else None)
        except RuntimeError as e:
            if attempt + 1 == tries:
                raise
            print(f"  retrying after: {str(e).splitlines()[0]}", flush=True)
        finally:
            r.stop()
    raise RuntimeError("unreachable")


STAGES = ("kd_vxlan_uplink_burst", "kd_fwd_vnic_burst", "kd_ct_age_tick")


def callgrind_ir(build, scenario, packets, flows):
    out = tempfile.mktemp(prefix="kdpu-cg-")
    try:
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] +
                       [f"--toggle-collect={f}" for f in STAGES] +
                       [os.path.join(build, "bench", "kdpu-replay"), scenario, str(packets),
                        str(flows)], capture_output=True, text=True, timeout=600, check=True)
        with open(out) as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("summary:"))
    finally:
        if os.path.exists(out):
            os.unlink(out)


def instructions_per_packet(build, scenarios, flows_list, n):
    rows = []
    for scen in scenarios:
        # (d): every packet a new connection; the replay ignores the flow count.
        for flows in flows_list if scen != "d" else [32]:
            a = callgrind_ir(build, scen, n, flows)
            b = callgrind_ir(build, scen, 3 * n, flows)
            rows.append({"scenario": scen, "flows": flows,
                         "instructions_per_packet": (b - a) / (2 * n)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def plot(results, path):
    """Mpps against flows, per scenario, next to the testpmd baseline (python3-matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("python3-matplotlib is not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for scen in sorted({r["scenario"] for r in results}):
        rows = sorted((r for r in results if r["scenario"] == scen), key=lambda r: r["flows"])
        xs = [r["flows"] for r in rows]
        line, = ax.plot(xs, [r["kdpu_mpps"] for r in rows], marker="o",
                        label=f"kdpu ({scen})")
        ax.plot(xs, [r["testpmd_mpps"] for r in rows], marker="x", linestyle="--",
                color=line.get_color(), alpha=0.6, label=f"testpmd io ({scen})")
        if all("ovs_mpps" in r for r in rows):
            ax.plot(xs, [r["ovs_mpps"] for r in rows], marker="s", linestyle=":",
                    color=line.get_color(), label=f"OVS-DPDK ({scen})")
    ax.set_xscale("log")
    ax.set_xlabel("concurrent flows")
    ax.set_ylabel("Mpps, one core, 64-byte inner frames")
    ovs = any("ovs_mpps" in r for r in results)
    ax.set_title("kdpu over net_memif, against testpmd io"
                 + (" and OVS-DPDK" if ovs else " forwarding") + " on the same ports")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--scenarios", default="a,b,c,d")
    ap.add_argument("--flows", default="1,1024,65536,1048576")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--json", default="")
    ap.add_argument("--plot", default="")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--peer", choices=("none", "ovs"), default="none",
                    help="also measure OVS-DPDK in scenarios a to c (scripts/ovs_peer.py)")
    ap.add_argument("--ovs-ct", choices=ovs_peer.CT_MODES, default="mark",
                    help="OVS conntrack pipeline: commit once and pass the connection as "
                         "established by its ct_mark, or commit every +new packet (a one-way "
                         "UDP flow stays +new in OVS); see ovs_peer.flows_int")
    ap.add_argument("--earlier", default="", metavar="BUILD_DIR",
                    help="also run the kdpu of another build (an earlier commit) in every "
                         "round, to measure a change side by side")
    ap.add_argument("--callgrind", type=int, default=0, metavar="N",
                    help="also count instructions per packet over N and 3N replayed packets")
    args = ap.parse_args()
    # A SIGTERM (a CI timeout) unwinds through the runs' cleanup like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.peer == "ovs" and not os.access(ovs_peer.VSWITCHD, os.X_OK):
        ap.error(f"--peer ovs: {ovs_peer.VSWITCHD} is missing (openvswitch-switch-dpdk)")
    if args.smoke:
        return smoke(args)
    results = []
    for scen in args.scenarios.split(",") if args.rounds > 0 else []:  # 0: callgrind only
        for flows in [int(f) for f in args.flows.split(",")] if scen != "d" else [CPS_FLOWS]:
            peer = args.peer == "ovs" and scen in "abc"  # (d) is kdpu's own figure
            base, dut, cpp, opps, ocpp, epps, ecpp = [], [], [], [], [], [], []
            for rnd in range(args.rounds):  # interleaved: baseline, kdpu, [OVS,] baseline, ...
                b = one(args.build_dir, "testpmd", scen, flows, args.seconds, args.warmup)
                k = one(args.build_dir, "kdpu", scen, flows, args.seconds, args.warmup)
                base.append(b["rx_pps"])
                dut.append(k["rx_pps"])
                cpp.append(k.get("cycles_per_packet", float("nan")))
                line = (f"  {scen} flows={flows} round {rnd + 1}: testpmd {b['rx_pps'] / 1e6:.2f} "
                        f"Mpps, kdpu {k['rx_pps'] / 1e6:.2f} Mpps ({k['cycles_per_packet']:.0f} "
                        f"cycles/pkt) drops {k.get('drops', {})}")
                if peer:
                    o = one(args.build_dir, "ovs", scen, flows, args.seconds, args.warmup,
                            ovs_ct=args.ovs_ct)
                    opps.append(o["rx_pps"])
                    ocpp.append(o["cycles_per_packet"])
                    line += (f"; OVS {o['rx_pps'] / 1e6:.2f} Mpps ({o['cycles_per_packet']:.0f} "
                             f"cycles/pkt, {o['ct_entries']} connections) drops {o['drops']}")
                if args.earlier:
                    e = one(args.earlier, "kdpu", scen, flows, args.seconds, args.warmup)
                    epps.append(e["rx_pps"])
                    ecpp.append(e["cycles_per_packet"])
                    line += (f"; earlier kdpu {e['rx_pps'] / 1e6:.2f} Mpps "
                             f"({e['cycles_per_packet']:.0f} cycles/pkt)")
                print(line, flush=True)
            ratios = [d / b for d, b in zip(dut, base) if b > 0]
            if scen == "d":
                print(f"  d: {statistics.median(dut) / 1e6:.2f} M new connections/s "
                      f"(every packet a new UDP connection; ct_new {k['ct_new']}, "
                      f"drops {k.get('drops', {})})", flush=True)
            row = {"scenario": scen, "flows": flows,
                   "testpmd_mpps": statistics.median(base) / 1e6,
                   "kdpu_mpps": statistics.median(dut) / 1e6,
                   "ratio": statistics.median(ratios) if ratios else 0.0,
                   "cycles_per_packet": statistics.median(cpp)}
            if peer:
                oratios = [d / o for d, o in zip(dut, opps) if o > 0]
                row.update({"ovs_mpps": statistics.median(opps) / 1e6,
                            "ovs_cycles_per_packet": statistics.median(ocpp),
                            "kdpu_over_ovs": statistics.median(oratios) if oratios else 0.0,
                            "ovs_ct": args.ovs_ct})
            if args.earlier:
                eratios = [d / e for d, e in zip(dut, epps) if e > 0]
                row.update({"earlier_mpps": statistics.median(epps) / 1e6,
                            "earlier_cycles_per_packet": statistics.median(ecpp),
                            "kdpu_over_earlier": statistics.median(eratios) if eratios else 0.0})
            results.append(row)
            print(json.dumps(row), flush=True)
    ipp = []
    if args.callgrind:
        ipp = instructions_per_packet(args.build_dir,
                                      [s for s in args.scenarios.split(",") if s in "abcd"],
                                      [1, 1024], args.callgrind)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"memif": results, "callgrind": ipp}, f, indent=1)
    if args.plot:
        plot([r for r in results if r["scenario"] != "d"], args.plot)
    ovs = any("ovs_mpps" in r for r in results)
    print("\n| scenario | flows | testpmd io Mpps | kdpu Mpps | kdpu / testpmd | kdpu cycles/packet |"
          + (" OVS-DPDK Mpps | OVS cycles/packet | kdpu / OVS |" if ovs else ""))
    print("|---|---|---|---|---|---|" + ("---|---|---|" if ovs else ""))
    for r in results:
        print(f"| {r['scenario']} | {r['flows']} | {r['testpmd_mpps']:.2f} | {r['kdpu_mpps']:.2f} | "
              f"{r['ratio']:.2f} | {r['cycles_per_packet']:.0f} |"
              + (f" {r['ovs_mpps']:.2f} | {r['ovs_cycles_per_packet']:.0f} | "
                 f"{r['kdpu_over_ovs']:.2f} |" if "ovs_mpps" in r else " | | |" if ovs else ""))
    if args.earlier:
        print(f"\n| scenario | flows | kdpu Mpps | earlier ({args.earlier}) Mpps | kdpu / earlier "
              "| kdpu cycles/packet | earlier cycles/packet |\n|---|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r['scenario']} | {r['flows']} | {r['kdpu_mpps']:.2f} | "
                  f"{r['earlier_mpps']:.2f} | {r['kdpu_over_earlier']:.2f} | "
                  f"{r['cycles_per_packet']:.0f} | {r['earlier_cycles_per_packet']:.0f} |")
    if ipp:
        print("\n| scenario | flows | callgrind instructions/packet |\n|---|---|---|")
        for r in ipp:
            print(f"| {r['scenario']} | {r['flows']} | {r['instructions_per_packet']:.0f} |")
    return 0


def smoke(args):
    """Each scenario once, briefly: packets must come back through testpmd and kdpu
    (and OVS-DPDK with --peer ovs, which must also have tracked the connections)."""
    passed = failed = 0
    for scen in args.scenarios.split(","):
        flows = 4096 if scen == "d" else 64
        duts = ("testpmd", "kdpu") + (("ovs",) if args.peer == "ovs" and scen in "abc" else ())
        for dut in duts:
            try:
                res = one(args.build_dir, dut, scen, flows, args.seconds, args.warmup,
                          ovs_ct=args.ovs_ct)
                ok = res["received"] > 0 and res.get("ct_entries", flows) == flows
                print(f"bench smoke {scen} {dut}: sent {res['sent']}, received {res['received']}"
                      f"{', drops ' + str(res.get('drops')) if dut != 'testpmd' else ''}"
                      f"{', connections ' + str(res['ct_entries']) if dut == 'ovs' else ''}",
                      flush=True)
            except (RuntimeError, DutDied, subprocess.SubprocessError) as e:
                ok = False
                print(f"bench smoke {scen} {dut}: {e}", flush=True)
            passed += ok
            failed += not ok
    print(f"bench smoke: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

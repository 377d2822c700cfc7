# SPDX-License-Identifier: Apache-2.0
"""kdpu demo: real traffic across the DPU's overlay on net_tap ports (see demo.sh)."""
import argparse
import json
import subprocess
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kdpu_topo as kt  # noqa: E402


NETDEV = """\
apiVersion: kdpu.io/v1alpha1
kind: Netdev
metadata: {{name: pod-c}}
spec: {{pciAddress: "{pci}", vpc: vpcs/default, mac: "{mac}", ips: [{ip}]}}
"""


SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, protocol: TCP, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- {addresses: [10.244.1.10], nodeName: node-a, conditions: {ready: true}}
- {addresses: [10.244.1.11], nodeName: node-a, conditions: {ready: true}}
ports: [{name: http, port: 8080, protocol: TCP}]
"""

POLICY = """\
apiVersion: v1
kind: Pod
metadata: {name: pa, namespace: default, labels: {app: a}}
spec: {nodeName: node-a}
status: {podIP: 10.244.1.10}
---
apiVersion: v1
kind: Pod
metadata: {name: pb, namespace: default, labels: {app: b}}
spec: {nodeName: node-a}
status: {podIP: 10.244.1.11}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-a, namespace: default}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]
"""
PROBE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                     "integration", "netprobe.py")


def step(text):
    print(f"\n\033[1m--- {text}\033[0m", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    node = kt.Node(workers=args.workers, build_dir=args.build_dir, spare_pods=True)
    kdpuctl = os.path.join(args.build_dir, "cli", "kdpuctl")

    def ctl(*a, stdin=None):
        print(f"$ kdpuctl {' '.join(a)}")
        r = subprocess.run([kdpuctl, "-s", node.sock, *a], input=stdin, capture_output=True,
                           text=True, timeout=30)
        print(r.stdout + r.stderr, end="")
        if r.returncode != 0:
            raise RuntimeError(f"kdpuctl {' '.join(a)} exited {r.returncode}")
    try:
        step(f"starting kdpu-dataplane ({args.workers} worker) on net_tap ports")
        node.start()
        print(f"config: {node.conf_path}")
        print(f"pods on this DPU: pod-a {kt.PODS['pa'][0]}, pod-b {kt.PODS['pb'][0]}; "
              f"remote node {kt.RNODE_VTEP} (Linux vxlan0, VNI {kt.VNI}) "
              f"with pod {kt.RPOD_IP}")
        node.wait_neighbor()
        step("pod-a -> pod-b on the same DPU (routed between vNICs)")
        print(node.ping("pa", kt.PODS["pb"][0]))
        step("pod-a -> remote pod (VXLAN encap toward the kernel VTEP)")
        print(node.ping("pa", kt.RPOD_IP))
        step("remote pod -> pod-b (kernel VXLAN in, kdpu decap)")
        print(node.ping("rp", kt.PODS["pb"][0]))
        step("remote node pings the DPU's VTEP address (ARP + ICMP answered by kdpu)")
        print(node.ping("rn", kt.VTEP_IP))
        step("TCP, 4 MiB each way: pod-a -> remote pod, then remote pod -> pod-a")
        print(node.tcp_transfer("pa", "rp", kt.RPOD_IP, 4 << 20))
        print(node.tcp_transfer("rp", "pa", kt.PODS["pa"][0], 4 << 20, port=5002))
        step("TCP, 4 MiB each way: pod-b -> pod-a")
        print(node.tcp_transfer("pb", "pa", kt.PODS["pa"][0], 4 << 20, port=5003))
        pc_ip, pc_mac, pc_pci = kt.SPARE_PODS["pc"]
        step(f"pod-c ({pc_ip}) is plugged into vNIC {pc_pci}, but no netdev is provisioned yet")
        print(node.ping("pc", kt.PODS["pa"][0], count=1, check=False).strip().splitlines()[-1])
        step("a node agent provisions pod-c through the gRPC API, live (kdpuctl apply)")
        ctl("apply", "-f", "-", stdin=NETDEV.format(ip=pc_ip, mac=pc_mac, pci=pc_pci))
        ctl("get", "netdevs")
        # pod-c's kernel is still asking for, or has given up on, pod-a's address from
        # while it was unplugged, and refuses to send for a while; a pod plugged in
        # for real has no such entry.
        node.nsx("pc", "ip", "neigh", "flush", "all")
        print(node.ping("pc", kt.PODS["pa"][0]))
        print(node.ping("pc", kt.RPOD_IP))
        servers = [subprocess.Popen(["ip", "netns", "exec", node.ns(p), kt.PYTHON, PROBE, "serve",
                                     "8080", "", name], stdout=subprocess.PIPE, text=True)
                   for p, name in (("pa", "pod-a"), ("pb", "pod-b"))]
        try:
            for srv in servers:
                srv.stdout.readline()
            step("a ClusterIP Service 10.96.0.10:80 over pod-a and pod-b (Maglev, DNAT)")
            ctl("apply", "-f", "-", stdin=SERVICE)
            # The remote node sends its pods' Service traffic to us, as a node whose
            # pods use our Services would.
            node.nsx("rn", "ip", "route", "add", "10.96.0.0/16", "via", kt.GW_IP, "dev",
                     "vxlan0", "onlink")
            step("the remote pod opens 20 connections to it, over VXLAN: who answered")
            print(node.nsx("rp", kt.PYTHON, PROBE, "who", "10.96.0.10", "tcp", "80", "20"))
            ctl("get", "services")
            step("NetworkPolicy: pod-b takes connections from pod-a only (stateful firewall)")
            ctl("apply", "-f", "-", stdin=POLICY)
            print(node.ping("pa", kt.PODS["pb"][0], count=2))
            print(node.ping("rp", kt.PODS["pb"][0], count=1, check=False)
                  .strip().splitlines()[-1] + "   <- the remote pod is refused")
        finally:
            for srv in servers:
                srv.kill()
                srv.wait()
        step("deleting the netdev stops pod-c's traffic at once")
        ctl("delete", "netdev", "pod-c")
        print(node.ping("pc", kt.PODS["pa"][0], count=1, check=False).strip().splitlines()[-1])
        ctl("stats")
        step("counters through rte_telemetry (dpdk-telemetry.py -f " + node.prefix + ")")
        for cmd in ("/kdpu/events", "/kdpu/drops"):
            vals = {k: v for k, v in node.tel.query(cmd).items() if v}
            print(f"{cmd}: {json.dumps(vals)}")
        for pid in node.tel.query("/kdpu/ports"):
            print(f"/kdpu/ports,{pid}: {json.dumps(node.tel.query(f'/kdpu/ports,{pid}'))}")
        print(f"/kdpu/neighbors: {node.tel.query('/kdpu/neighbors')}")
        step("stopping the daemon (SIGTERM); its final counters:")
        rc = node.stop()
        print("\n".join(l for l in node.log().splitlines()
                        if l.startswith(("port ", "event ", "drop "))))
        if rc != 0:
            print(f"daemon exited {rc}")
            return 1
        print("\ndemo OK")
        return 0
    except (RuntimeError, subprocess.SubprocessError) as e:
        print(f"demo FAILED: {e}\n--- daemon log ---\n{node.log()}", file=sys.stderr)
        return 1
    finally:
        node.close()


if __name__ == "__main__":
    sys.exit(main())

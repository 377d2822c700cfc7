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


def step(text):
    print(f"\n\033[1m--- {text}\033[0m", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    node = kt.Node(workers=args.workers, build_dir=args.build_dir, spare_pods=True)
    kdpuctl = os.path.join(args.build_dir, "control", "kdpuctl")

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
        print(node.ping("pc", kt.PODS["pa"][0]))
        print(node.ping("pc", kt.RPOD_IP))
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

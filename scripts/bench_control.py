# SPDX-License-Identifier: Apache-2.0
"""Control-plane scale through the real gRPC API (see docs/benchmarks.md).

Starts kdpu-dataplane on net_null ports (no traffic is needed: the point is
the API and the table builds), then creates N Services, each with one
EndpointSlice of E endpoints, and P NetworkPolicies that all isolate one
local pod. --mode batch (the default) sends each phase as one Batch call, as
kdpuctl apply does; --mode single sends one request per object, as a
controller would. A call returns once the data plane uses the change (the
tables are published and an RCU grace period has passed), so its time is the
time until the data plane uses it. The client's own encoding time is
reported apart. Then single updates at the final size (an endpoint turning
not ready, or back; one policy's ipBlock), with median, p99 and max.

--manifests deletes the Services in one Batch and applies them again with
`kdpuctl apply -f` of a manifest directory, timed end to end. --peer nft
loads kube-proxy's nftables ruleset for the same Services in a network
namespace (scripts/bench_nft.py) and prints kdpu / nftables for the bulk
load and for a single update.

--traffic PPS runs the same on memif ports instead, with kdpu-pktgen sending
PPS packets per second of scenario (c) of scripts/bench.py meanwhile: 1024
established UDP connections through a Service's DNAT to a pod that a
NetworkPolicy isolates (and admits them), so every policy change re-judges
them. It reports what was sent and received in all: established flows must
lose nothing while the tables are rebuilt and swapped under them.
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import kdpu_api  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench  # noqa: E402
import kdpu_topo as kt  # noqa: E402
from google.protobuf import wrappers_pb2  # noqa: E402

NS = "namespaces/default"
SERVICE = "opi_api.network.k8s.v1alpha1.K8sNetworkService"


def start(build, tmp, tag, capacity, memif=None):
    """net_null ports with no RX, or with memif the sockets of a bench.Run and its remote node."""
    if memif is None:
        ports = ('devargs = "net_null0,no-rx=1"', 'devargs = "net_null1,no-rx=1"')
        rnode = ""
    else:
        # 16k-slot rings: the generator shares its core with this API client.
        ports = tuple(f'devargs = "net_memif{i},role=server,socket={s},rsize=14"; mtu = {m}'
                      for i, (s, m) in enumerate(zip(memif, (1450, 1500))))
        rnode = (f'remote_nodes = ( {{ name = "node-b"; vtep_ip = "{bench.RVTEP}"; '
                 f'vpc = "default"; pod_cidrs = [ "{bench.RPOD_CIDR}" ]; mac = "{bench.RVTEP_MAC}"; }} );')
    conf = f"""
eal = {{ file_prefix = "{tag}"; lcores = "0@0,1@1"; memory_mb = 1024; }};
workers = {{ lcores = [ 1 ]; idle_sleep_us = 100; }};
node = {{ name = "node-a"; vtep_ip = "{bench.VTEP}/24"; }};
ports = (
  {{ name = "pod"; {ports[0]}; role = "vnic"; pci = "0000:3b:00.2"; }},
  {{ name = "uplink"; {ports[1]}; role = "uplink"; }}
);
vpcs = ( {{ name = "default"; vni = {bench.VNI}; gateway_ip = "10.244.1.1"; gateway_mac = "{bench.GW_MAC}"; }} );
{rnode}
conntrack = {{ capacity = {capacity}; }};
api = {{ unix_socket = "{tmp}/api.sock"; max_message_kb = 65536; }};
"""
    with open(f"{tmp}/kdpu.conf", "w") as f:
        f.write(conf)
    log = open(f"{tmp}/kdpu.log", "w")
    p = subprocess.Popen([os.path.join(build, "daemon", "kdpu-dataplane"), "-c", f"{tmp}/kdpu.conf"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and not os.path.exists(f"{tmp}/api.sock"):
        if p.poll() is not None:
            raise RuntimeError(open(f"{tmp}/kdpu.log").read())
        time.sleep(0.1)
    return p


def service(pb, i, e):
    j = i + 256  # clear of the traffic's Service, 10.96.0.10
    ip = f"10.{96 + j // 65536}.{j // 256 % 256}.{j % 256}"
    svc = pb.Service(metadata=pb.ObjectMeta(name=f"s{i}", namespace="default"),
                     spec=pb.ServiceSpec(cluster_ip=ip, ports=[pb.ServicePort(
                         name="http", port=80, protocol=pb.PROTOCOL_TCP,
                         target_port=pb.IntOrString(number=8080))]))
    eps = [pb.Endpoint(addresses=[f"10.{128 + (i * e + k) // 65536}.{(i * e + k) // 256 % 256}."
                                  f"{(i * e + k) % 256}"], node_name="node-b")
           for k in range(e)]
    sl = pb.EndpointSlice(metadata=pb.ObjectMeta(
        name=f"s{i}-1", namespace="default", labels={"kubernetes.io/service-name": f"s{i}"}),
        address_type="IPv4", endpoints=eps,
        ports=[pb.EndpointPort(name="http", protocol=pb.PROTOCOL_TCP, port=8080)])
    return svc, sl


def policy(pb, i):
    """Isolates the one local pod; admits one /32 more: P policies, P keys in its classifier."""
    return pb.NetworkPolicy(
        metadata=pb.ObjectMeta(name=f"p{i}", namespace="default"),
        spec=pb.NetworkPolicySpec(
            pod_selector=pb.LabelSelector(match_labels={"role": "web"}),
            ingress=[pb.NetworkPolicyIngressRule(**{"from": [pb.NetworkPolicyPeer(
                ip_block=pb.IPBlock(cidr=f"10.{160 + i // 65536}.{i // 256 % 256}.{i % 256}/32"))]})]))


N_NS, N_PODS = 100, 1000


def ns_name(k):
    return "default" if k == 0 else f"ns{k}"


def realistic_world(pb):
    """100 namespaces (team labels) and 1000 remote pods (app, role, a named port)."""
    nss = [pb.Namespace(name=f"namespaces/{ns_name(k)}", metadata=pb.ObjectMeta(
        name=ns_name(k), labels={"team": f"t{k % 10}"})) for k in range(N_NS)]
    pods = []
    for j in range(N_PODS):
        pods.append(realistic_pod(pb, j, ("web", "api", "db")[j % 3]))
    return nss, pods


def realistic_pod(pb, j, role):
    ns = ns_name(j % N_NS)
    return pb.Pod(name=f"namespaces/{ns}/pods/q{j}", metadata=pb.ObjectMeta(
        name=f"q{j}", namespace=ns, labels={"app": f"a{j % 20}", "role": role}),
        spec=pb.PodSpec(node_name="node-b", containers=[pb.Container(
            name="c", ports=[pb.ContainerPort(name="http", container_port=8080,
                                              protocol=pb.PROTOCOL_TCP)])]),
        status=pb.PodStatus(pod_ip=f"10.{200 + j // 65536}.{j // 256 % 256}.{j % 256}"))


def realistic_policy(pb, i, cidr_byte=None):
    """A policy of namespace i % 100: pods by app (every 10th: all pods), from pods of
    role web or api in the namespaces of one team, and from a /16 but one /24, to
    8080, the named port http and UDP 9000-9100; every 4th also limits egress."""
    ns = ns_name(i % N_NS)
    b = i % 200 if cidr_byte is None else cidr_byte
    sel = pb.LabelSelector() if i % 10 == 0 else pb.LabelSelector(
        match_labels={"app": f"a{i // N_NS % 20}"})
    ingress = [pb.NetworkPolicyIngressRule(**{
        "from": [pb.NetworkPolicyPeer(
                     namespace_selector=pb.LabelSelector(match_labels={"team": f"t{i % 10}"}),
                     pod_selector=pb.LabelSelector(match_expressions=[
                         pb.LabelSelectorRequirement(key="role", operator="In",
                                                     values=["web", "api"])])),
                 pb.NetworkPolicyPeer(ip_block=pb.IPBlock(
                     cidr=f"10.{b}.0.0/16", **{"except": [f"10.{b}.{i % 256}.0/24"]}))],
        "ports": [pb.NetworkPolicyPort(protocol=pb.PROTOCOL_TCP, port=pb.IntOrString(number=8080)),
                  pb.NetworkPolicyPort(protocol=pb.PROTOCOL_TCP, port=pb.IntOrString(name="http")),
                  pb.NetworkPolicyPort(protocol=pb.PROTOCOL_UDP, port=pb.IntOrString(number=9000),
                                       end_port=9100)]})]
    types = ["Ingress"]
    egress = []
    if i % 4 == 0:
        types.append("Egress")
        egress = [pb.NetworkPolicyEgressRule(
            to=[pb.NetworkPolicyPeer(ip_block=pb.IPBlock(cidr="0.0.0.0/0", **{"except": ["10.0.0.0/8"]}))],
            ports=[pb.NetworkPolicyPort(protocol=pb.PROTOCOL_TCP, port=pb.IntOrString(number=443))])]
    return pb.NetworkPolicy(name=f"namespaces/{ns}/networkpolicies/r{i}",
                            metadata=pb.ObjectMeta(name=f"r{i}", namespace=ns),
                            spec=pb.NetworkPolicySpec(pod_selector=sel, ingress=ingress,
                                                      egress=egress, policy_types=types))


def traffic_start(pb, stub, run, tag, pps):
    """The (c) Service and a policy that admits its clients, then the generator at pps."""
    stub.CreateNetworkPolicy(pb.CreateNetworkPolicyRequest(parent=NS, network_policy=pb.NetworkPolicy(
        metadata=pb.ObjectMeta(name="bench-allow", namespace="default"),
        spec=pb.NetworkPolicySpec(
            pod_selector=pb.LabelSelector(match_labels={"role": "web"}),
            ingress=[pb.NetworkPolicyIngressRule(**{"from": [pb.NetworkPolicyPeer(
                ip_block=pb.IPBlock(cidr=bench.RPOD_CIDR))]})]))))
    stub.CreateService(pb.CreateServiceRequest(parent=NS, service=pb.Service(
        metadata=pb.ObjectMeta(name="bench", namespace="default"),
        spec=pb.ServiceSpec(cluster_ip=bench.VIP, ports=[pb.ServicePort(
            name="u", port=bench.VIP_PORT, protocol=pb.PROTOCOL_UDP,
            target_port=pb.IntOrString(number=bench.POD_PORT))]))))
    stub.CreateEndpointSlice(pb.CreateEndpointSliceRequest(parent=NS, endpoint_slice=pb.EndpointSlice(
        metadata=pb.ObjectMeta(name="bench-1", namespace="default",
                               labels={"kubernetes.io/service-name": "bench"}),
        address_type="IPv4", endpoints=[pb.Endpoint(addresses=[bench.POD_IP], node_name="node-a")],
        ports=[pb.EndpointPort(name="u", protocol=pb.PROTOCOL_UDP, port=bench.POD_PORT)])))
    args = run.pktgen_args("c", 1024, 36000, 0, client_opts=",rsize=14") + ["--rate", str(pps),
                                                                            "--hold"]
    gen = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # every flow established, the generator at its pace
    tel = kt.Telemetry(tag)
    return gen, (tel.drops(), tel.events())


def traffic_stop(gen, tag, before, pps, dut):
    """Stop the generator, read its counts, then stop the data plane before the
    generator disconnects (kdpu-pktgen --hold: see bench.Run.pktgen)."""
    tel = kt.Telemetry(tag)
    drops, events = tel.drops(), tel.events()
    time.sleep(1)
    gen.send_signal(signal.SIGINT)
    line = next((ln for ln in gen.stdout if ln.startswith("{")), None)
    kt.stop(dut, timeout=30)
    gen.stdin.close()
    stderr = gen.stderr.read()
    gen.wait(timeout=30)
    if line is None:
        raise RuntimeError(f"pktgen: {stderr}")
    res = json.loads(line)
    delta = {k: v - before[0].get(k, 0) for k, v in drops.items() if v != before[0].get(k, 0)}
    return {"phase": "traffic", "rate_pps": pps, "flows": 1024, "sent": res["sent"],
            "received": res["received"], "lost": res["sent"] - res["received"],
            "not_accepted": res["tx_full"], "drops_during_updates": delta,
            "ct_new_during_updates": events.get("ct_new", 0) - before[1].get("ct_new", 0)}


def gen_lost(out):
    return any(o["phase"] == "traffic" and o["lost"] != 0 for o in out)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def rss_mb(p):
    with open(f"/proc/{p.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def batch_of(pb, method, field, objs, extra=None):
    """A BatchRequest upserting (Update with allow_missing) or deleting objs."""
    req_cls = getattr(pb, f"{method}Request")
    ops = []
    for o in objs:
        if method.startswith("Delete"):
            r = req_cls(name=o, allow_missing=True)
        else:
            r = req_cls(**{field: o}, allow_missing=True)
        ops.append(pb.BatchOperation(method=method, request=r.SerializeToString()))
    return pb.BatchRequest(operations=ops)


def named(obj, collection):
    obj.name = f"namespaces/default/{collection}/{obj.metadata.name}"
    return obj


def services_batch(pb, stub, n, e, out_objs=None):
    """N Services and their slices in one Batch: (encode seconds, apply seconds)."""
    t0 = time.perf_counter()
    svcs, slices = [], []
    for i in range(n):
        svc, sl = service(pb, i, e)
        svcs.append(named(svc, "services"))
        slices.append(named(sl, "endpointslices"))
    req = batch_of(pb, "UpdateService", "service", svcs)
    req.operations.extend(batch_of(pb, "UpdateEndpointSlice", "endpoint_slice", slices).operations)
    raw = req.SerializeToString()
    enc = time.perf_counter() - t0
    call = stub.channel.unary_unary(f"/{SERVICE}/Batch", request_serializer=None,
                                    response_deserializer=pb.BatchResponse.FromString)
    dt = timed(lambda: call(raw, timeout=600))
    if out_objs is not None:
        out_objs.extend(svcs + slices)
    return enc, dt


def endpoint_updates(pb, stub, n, e, count):
    """count single slice updates: one endpoint of a Service turns not ready, or back."""
    lat = []
    for u in range(count):
        i = (u * 7919) % n
        _, sl = service(pb, i, e)
        named(sl, "endpointslices")
        if u % 2 == 0:
            sl.endpoints[u % e].conditions.ready.CopyFrom(wrappers_pb2.BoolValue(value=False))
        lat.append(timed(lambda: stub.UpdateEndpointSlice(
            pb.UpdateEndpointSliceRequest(endpoint_slice=sl), timeout=600)))
    return lat


def manifest_dir(tmp, n, e, per_file=1000):
    """The same Services and slices as YAML manifests, per_file Services to a file."""
    d = os.path.join(tmp, "manifests")
    os.makedirs(d, exist_ok=True)
    for f0 in range(0, n, per_file):
        parts = []
        for i in range(f0, min(n, f0 + per_file)):
            j = i + 256
            ip = f"10.{96 + j // 65536}.{j // 256 % 256}.{j % 256}"
            parts.append(f"apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: default}}\n"
                         f"spec: {{clusterIP: {ip}, ports: [{{name: http, port: 80, protocol: TCP, "
                         f"targetPort: 8080}}]}}\n")
            eps = "".join(f"- {{addresses: [10.{128 + (i * e + k) // 65536}.{(i * e + k) // 256 % 256}."
                          f"{(i * e + k) % 256}], nodeName: node-b}}\n" for k in range(e))
            parts.append("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                         f"metadata: {{name: s{i}-1, namespace: default, labels: "
                         f"{{kubernetes.io/service-name: s{i}}}}}\naddressType: IPv4\n"
                         "ports: [{name: http, protocol: TCP, port: 8080}]\nendpoints:\n" + eps)
        with open(os.path.join(d, f"{f0:06d}.yaml"), "w") as f:
            f.write("---\n".join(parts))
    return d


def nft_peer(args, out):
    """kube-proxy's nftables ruleset for the same Services, loaded by the kernel."""
    if args.peer != "nft":
        return None
    import bench_nft
    if shutil.which("nft") is None:
        print("nft is not installed (apt-get install nftables): no peer", file=sys.stderr)
        return None
    r = bench_nft.measure(args.services, args.endpoints, min(args.updates, 20))
    r["phase"] = "peer"
    out.append(r)
    print(json.dumps(r), flush=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--policies", type=int, default=1000)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--mode", choices=("batch", "single"), default="batch",
                    help="batch: every object of a phase in one Batch call (kdpuctl apply's way); "
                         "single: one request per object, as a controller would")
    ap.add_argument("--policy-scenario", choices=("one-pod", "realistic"), default="one-pod",
                    help="one-pod: P policies isolating one pod (the worst case); realistic: P "
                         "policies in 100 namespaces over 1000 pods, with pod and namespace "
                         "selectors, ipBlocks with except, numeric, named and ranged ports")
    ap.add_argument("--concurrency", type=int, default=1,
                    help="single mode: calls in flight at once (the server coalesces them)")
    ap.add_argument("--manifests", action="store_true",
                    help="also time kdpuctl apply -f of the Services as a manifest directory")
    ap.add_argument("--peer", choices=("nft", "none"), default="none",
                    help="nft: kube-proxy's nftables ruleset for the same Services, in the same run")
    ap.add_argument("--traffic", type=float, default=0, metavar="PPS",
                    help="memif ports and PPS packets/s of established flows meanwhile")
    ap.add_argument("--curve", metavar="N,N,...",
                    help="a scale curve instead: Services at each N (no policies), then policies "
                         "at each N up to --curve-policies-max; a fresh daemon for each point")
    ap.add_argument("--curve-policies-max", type=int, default=20000)
    ap.add_argument("--peer-max", type=int, default=10000,
                    help="in a curve, run the nftables peer only up to this many Services")
    ap.add_argument("--plot", metavar="PNG", help="plot the curve (python3-matplotlib)")
    args = ap.parse_args()
    if min(args.services, args.updates) < 1 or args.policies < 0 or args.endpoints < 2:
        ap.error("--services and --updates take at least 1, --policies 0, --endpoints 2")
    if args.curve:
        return curve(args)
    out = run_once(args)
    if gen_lost(out):
        print("established flows lost packets during the updates", file=sys.stderr)
        return 1
    return 0


def curve(args):
    sizes = [int(x) for x in args.curve.split(",")]
    rows = []
    for n in sizes:
        a = argparse.Namespace(**vars(args))
        a.services, a.policies, a.manifests = n, 0, False
        a.peer = args.peer if n <= args.peer_max else "none"
        rows += run_once(a)
    for n in [x for x in sizes if x <= args.curve_policies_max]:
        a = argparse.Namespace(**vars(args))
        a.services, a.policies, a.manifests, a.peer = 1, n, False, "none"
        rows += [o for o in run_once(a) if o["phase"] == "policies"]
    svc = [o for o in rows if o["phase"] == "services"]
    pol = [o for o in rows if o["phase"] == "policies"]
    peer = {o["services"]: o for o in rows if o["phase"] == "peer"}
    print("\n| objects | apply | per object | single update, median (p99) | kube-proxy nftables load | nftables update, median |")
    print("|---|---|---|---|---|---|")
    for o in svc:
        q = peer.get(o["count"])
        print(f"| {o['count']} Services + {o['count']} slices | {o['seconds']:.3f} s | "
              f"{o['us_per_object']:.1f} us | {o['update_ms_median']:.2f} ms ({o['update_ms_p99']:.2f} ms) | "
              + (f"{q['load_s']:.2f} s | {q['update_ms_median']:.0f} ms |" if q else "| |"))
    for o in pol:
        print(f"| {o['count']} NetworkPolicies | {o['seconds']:.3f} s | "
              f"{1e6 * o['seconds'] / o['count']:.1f} us | {o['update_ms_median']:.2f} ms | | |")
    if args.plot:
        plot(args.plot, svc, pol, peer)
    return 0


def plot(path, svc, pol, peer):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("python3-matplotlib is not installed: no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    ax[0].plot([o["count"] for o in svc], [o["us_per_object"] for o in svc], "o-",
               label="kdpu: Services + slices, one Batch")
    ax[0].plot([o["count"] for o in pol], [1e6 * o["seconds"] / o["count"] for o in pol], "s-",
               label="kdpu: NetworkPolicies, one Batch")
    if peer:
        ns = sorted(peer)
        ax[0].plot(ns, [1e6 * peer[n]["load_s"] / (2 * n) for n in ns], "^--",
                   label="kube-proxy nftables: first sync, per object")
    ax[0].set_xscale("log")
    ax[0].set_yscale("log")
    ax[0].set_xlabel("objects of the kind")
    ax[0].set_ylabel("apply time per object (us)")
    ax[0].legend(fontsize=8)
    ax[0].grid(True, which="both", alpha=0.3)
    ax[1].plot([o["count"] for o in svc], [o["update_ms_median"] for o in svc], "o-",
               label="kdpu: an endpoint turns (not) ready, median")
    ax[1].plot([o["count"] for o in svc], [o["update_ms_p99"] for o in svc], "o:",
               label="kdpu: the same, p99")
    ax[1].plot([o["count"] for o in pol], [o["update_ms_median"] for o in pol], "s-",
               label="kdpu: one policy changes, median")
    if peer:
        ns = sorted(peer)
        ax[1].plot(ns, [peer[n]["update_ms_median"] for n in ns], "^--",
                   label="kube-proxy nftables: one endpoint, median")
    ax[1].set_xscale("log")
    ax[1].set_yscale("log")
    ax[1].set_xlabel("objects of the kind")
    ax[1].set_ylabel("single update until the data plane uses it (ms)")
    ax[1].legend(fontsize=8)
    ax[1].grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def run_once(args):
    api = kdpu_api.load()
    pb = api.pb
    tmp = tempfile.mkdtemp(prefix="kdpu-cp-")
    tag = "c" + secrets.token_hex(2)
    run = bench.Run(args.build_dir) if args.traffic else None
    p = start(args.build_dir, tmp, tag, 65536, run.sock if run else None)
    gen = None
    out = []
    try:
        ch = kdpu_api.channel(f"{tmp}/api.sock")
        stub = api.stub(ch)
        stub.channel = ch
        stub.CreatePod(pb.CreatePodRequest(parent=NS, pod=pb.Pod(
            metadata=pb.ObjectMeta(name="web", namespace="default", labels={"role": "web"}),
            spec=pb.PodSpec(node_name="node-a"), status=pb.PodStatus(pod_ip=bench.POD_IP))))
        stub.CreateNetdev(pb.CreateNetdevRequest(netdev=pb.Netdev(
            metadata=pb.ObjectMeta(name="web"), spec=pb.NetdevSpec(
                pci_address="0000:3b:00.2", vpc="vpcs/default", mac=bench.POD_MAC,
                ips=[bench.POD_IP], pod="namespaces/default/pods/web"))))
        if run:
            gen, before = traffic_start(pb, stub, run, tag, args.traffic)
        rss0 = rss_mb(p)
        enc = 0.0
        if args.mode == "batch":
            enc, dt = services_batch(pb, stub, args.services, args.endpoints)
        else:
            reqs = []
            for i in range(args.services):
                svc, sl = service(pb, i, args.endpoints)
                reqs.append((stub.CreateService, pb.CreateServiceRequest(parent=NS, service=svc)))
                reqs.append((stub.CreateEndpointSlice, pb.CreateEndpointSliceRequest(
                    parent=NS, endpoint_slice=sl)))
            t0 = time.perf_counter()
            window = []
            for call, req in reqs:  # --concurrency calls in flight, as a controller's workers
                window.append(call.future(req, timeout=600))
                if len(window) >= args.concurrency:
                    window.pop(0).result()
            for f in window:
                f.result()
            dt = time.perf_counter() - t0
        rss1 = rss_mb(p)
        lat = endpoint_updates(pb, stub, args.services, args.endpoints, args.updates)
        out.append({"phase": "services", "mode": args.mode, "count": args.services,
                    "concurrency": args.concurrency if args.mode == "single" else None,
                    "endpoints": args.endpoints, "encode_s": round(enc, 3),
                    "seconds": round(dt, 3), "us_per_object": round(1e6 * dt / (2 * args.services), 2),
                    "update_ms_median": round(1000 * statistics.median(lat), 3),
                    "update_ms_p99": round(1000 * pct(lat, 0.99), 3),
                    "update_ms_max": round(1000 * max(lat), 3),
                    "rss_mb": round(rss1 - rss0, 1),
                    "rss_kb_per_service": round(1024 * (rss1 - rss0) / args.services, 2)})
        print(json.dumps(out[-1]), flush=True)
        if args.manifests:
            names = [f"namespaces/default/services/s{i}" for i in range(args.services)]
            names += [f"namespaces/default/endpointslices/s{i}-1" for i in range(args.services)]
            req = batch_of(pb, "DeleteService", None, names[:args.services])
            req.operations.extend(batch_of(pb, "DeleteEndpointSlice", None, names[args.services:]).operations)
            ddt = timed(lambda: stub.Batch(req, timeout=600))
            d = manifest_dir(tmp, args.services, args.endpoints)
            ctl = [os.path.join(args.build_dir, "cli", "kdpuctl"), "-s", f"{tmp}/api.sock",
                   "--timeout", "600", "apply", "-f", d]
            t0 = time.perf_counter()
            r = subprocess.run(ctl, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            mdt = time.perf_counter() - t0
            if r.returncode != 0:
                raise RuntimeError(f"kdpuctl apply: {r.stderr}")
            out.append({"phase": "manifests", "count": 2 * args.services,
                        "delete_batch_s": round(ddt, 3), "kdpuctl_apply_s": round(mdt, 3)})
            print(json.dumps(out[-1]), flush=True)
        if args.policies:
            setup = 0.0
            if args.policy_scenario == "realistic":
                nss, pods = realistic_world(pb)
                req = batch_of(pb, "UpdateNamespace", "namespace", nss)
                req.operations.extend(batch_of(pb, "UpdatePod", "pod", pods).operations)
                setup = timed(lambda: stub.Batch(req, timeout=600))
                # The local pod joins namespace default's app a0, which 1 in 20 select.
                web = pb.Pod(name="namespaces/default/pods/web", metadata=pb.ObjectMeta(
                    name="web", namespace="default", labels={"role": "web", "app": "a0"}),
                    spec=pb.PodSpec(node_name="node-a"), status=pb.PodStatus(pod_ip=bench.POD_IP))
                stub.UpdatePod(pb.UpdatePodRequest(pod=web), timeout=600)
                pols = [realistic_policy(pb, i) for i in range(args.policies)]
            else:
                pols = [named(policy(pb, i), "networkpolicies") for i in range(args.policies)]
            rss0 = rss_mb(p)
            t0 = time.perf_counter()
            if args.mode == "batch":
                req = batch_of(pb, "UpdateNetworkPolicy", "network_policy", pols)
                stub.Batch(req, timeout=600)
            else:
                for np in pols:
                    stub.UpdateNetworkPolicy(pb.UpdateNetworkPolicyRequest(
                        network_policy=np, allow_missing=True), timeout=600)
            dt = time.perf_counter() - t0
            rss1 = rss_mb(p)
            lat, pod_lat = [], []
            for u in range(min(args.updates, args.policies)):
                if args.policy_scenario == "realistic":
                    np = realistic_policy(pb, u * 100 % args.policies, cidr_byte=200 + u % 50)
                    # A remote pod's role flips: the policies whose selectors can see it change.
                    pod = realistic_pod(pb, u * 7 % N_PODS, ("db", "web")[u % 2])
                    pod_lat.append(timed(lambda: stub.UpdatePod(
                        pb.UpdatePodRequest(pod=pod), timeout=600)))
                else:
                    np = policy(pb, u)
                    np.name = f"namespaces/default/networkpolicies/p{u}"
                    getattr(np.spec.ingress[0], "from")[0].ip_block.cidr = f"10.250.0.{u % 250}/32"
                lat.append(timed(lambda: stub.UpdateNetworkPolicy(
                    pb.UpdateNetworkPolicyRequest(network_policy=np), timeout=600)))
            out.append({"phase": "policies", "mode": args.mode, "scenario": args.policy_scenario,
                        "count": args.policies, "setup_s": round(setup, 3),
                        "seconds": round(dt, 3), "per_second": round(args.policies / dt, 1),
                        "update_ms_median": round(1000 * statistics.median(lat), 3),
                        "update_ms_p99": round(1000 * pct(lat, 0.99), 3),
                        "update_ms_max": round(1000 * max(lat), 3),
                        "rss_mb": round(rss1 - rss0, 1),
                        "rss_kb_per_policy": round(1024 * (rss1 - rss0) / args.policies, 2)})
            if pod_lat:
                out[-1]["pod_label_ms_median"] = round(1000 * statistics.median(pod_lat), 3)
                out[-1]["pod_label_ms_p99"] = round(1000 * pct(pod_lat, 0.99), 3)
            print(json.dumps(out[-1]), flush=True)
        if gen is not None:
            out.append(traffic_stop(gen, tag, before, args.traffic, p))
            gen = None
            print(json.dumps(out[-1]), flush=True)
    finally:
        kt.stop(p, timeout=30)
        if gen is not None:
            gen.stdin.close()
            kt.stop(gen, signal.SIGINT)
        subprocess.run(["rm", "-rf", tmp, f"/var/run/dpdk/{tag}"], check=False)
        if run:
            run.stop()
    peer = nft_peer(args, out)
    if peer is not None:
        svc = next(o for o in out if o["phase"] == "services")
        r = {"phase": "ratio", "services": args.services,
             "bulk_kdpu_over_nftables": round(svc["seconds"] / peer["load_s"], 5),
             "update_kdpu_over_nftables": round(svc["update_ms_median"] / peer["update_ms_median"], 5)}
        out.append(r)
        print(json.dumps(r), flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())

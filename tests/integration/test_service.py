# SPDX-License-Identifier: Apache-2.0
"""Service load balancing with real TCP and UDP servers in pod namespaces,
local and across the kernel VXLAN peer.

Endpoints (every pod serves TCP 8080 and UDP 53 and says who it is, and
TCP 9090 as NAME-9090):
  default/pa  10.244.1.10  node-a (local)
  default/pb  10.244.1.11  node-a (local)
  default/pc  10.244.1.12  node-a (local)
  default/rp  10.244.2.10  node-b, behind the kernel VXLAN peer
The remote node routes 10.96.0.0/16 (ClusterIPs) and the hairpin address to
us over VXLAN, as a node whose pods use our Services would. It is also the
underlay router (192.168.100.254, our gateway) toward an "external client"
namespace, ext 198.51.100.10, which serves TCP 8080/9090 and UDP 53 too and
reaches our NodePorts on the node IP, LoadBalancer and external IPs routed to
it. Pod traffic to ext leaves the cluster network and is masqueraded.
"""
import json
import os
import subprocess
import time

import pytest

from conftest import BUILD_DIR, WORKERS, Delta, kt, running

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "netprobe.py")
KDPUCTL = os.path.join(BUILD_DIR, "cli", "kdpuctl")
HAIRPIN_IP = "169.254.42.1"
ECONNREFUSED = "111"
NODE_IP = kt.VTEP_IP
UNDERLAY_GW = "192.168.100.254"
EXT_IP = "198.51.100.10"
LB_IP = "203.0.113.50"
EXTERNAL_IP = "192.0.2.10"
MASQ_PORTS = (61000, 61015)  # 16 ports: small enough to run out of in a test
CONF = (f'nat = {{ cluster_cidrs = [ "10.244.0.0/16", "10.96.0.0/16", "169.254.42.0/24" ]; '
        f'ports = "{MASQ_PORTS[0]}-{MASQ_PORTS[1]}"; }};')

PODS = {"pa": ("10.244.1.10", "node-a"), "pb": ("10.244.1.11", "node-a"),
        "pc": ("10.244.1.12", "node-a"), "rp": ("10.244.2.10", "node-b")}


def manifest(objs):
    return "\n---\n".join(json.dumps(o) for o in objs)


def service(name, ip, ports, **spec):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "ports": ports, **spec}}


def http(port=80, target=8080, name="http"):
    return {"name": name, "port": port, "protocol": "TCP", "targetPort": target}


def dns(port=53, target=53, name="dns"):
    return {"name": name, "port": port, "protocol": "UDP", "targetPort": target}


def slice_(svc, name, pods, ports=(("http", "TCP", 8080), ("dns", "UDP", 53)), cond=None):
    cond = cond or {}
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "default",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [PODS[p][0]], "nodeName": PODS[p][1],
                           "conditions": cond.get(p, {"ready": True}),
                           "targetRef": {"kind": "Pod", "namespace": "default", "name": p}}
                          for p in pods],
            "ports": [{"name": n, "protocol": pr, "port": po} for n, pr, po in ports]}


class Cluster:
    def __init__(self, node):
        self.node = node
        self.servers = []

    def ctl(self, *args, stdin=None, check=True):
        r = subprocess.run([KDPUCTL, "-s", self.node.sock, *args], input=stdin,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"kdpuctl {' '.join(args)}: {r.stderr}")
        return r

    def apply(self, *objs):
        self.ctl("apply", "-f", "-", stdin=manifest(objs))

    def delete(self, kind, name):
        self.ctl("delete", kind, name, "-n", "default")

    def start(self):
        pc_ip, pc_mac, pc_pci = kt.SPARE_PODS["pc"]
        self.apply({"apiVersion": "kdpu.io/v1alpha1", "kind": "Netdev",
                    "metadata": {"name": "pc"},
                    "spec": {"pciAddress": pc_pci, "vpc": "vpcs/default", "mac": pc_mac,
                             "ips": [pc_ip], "pod": "namespaces/default/pods/pc"}})
        rn = lambda *c: self.node.nsx("rn", *c)  # noqa: E731
        for prefix in ("10.96.0.0/16", HAIRPIN_IP + "/32"):
            rn("ip", "route", "add", prefix, "via", kt.GW_IP, "dev", "vxlan0", "onlink")
        # The underlay router and, behind it, the external client.
        up = self.node.ifname("up")
        rn("ip", "addr", "add", UNDERLAY_GW + "/24", "dev", up)
        for prefix in (LB_IP, EXTERNAL_IP):
            rn("ip", "route", "add", prefix + "/32", "via", NODE_IP)
        self.node.add_ns("ext")
        rn("ip", "link", "add", "rn1", "type", "veth", "peer", "name", "ext0",
           "netns", self.node.ns("ext"))
        rn("ip", "addr", "add", "198.51.100.1/24", "dev", "rn1")
        rn("ip", "link", "set", "rn1", "up")
        self.node.nsx("ext", "ip", "link", "set", "ext0", "up")
        self.node.nsx("ext", "ip", "addr", "add", EXT_IP + "/24", "dev", "ext0")
        self.node.nsx("ext", "ip", "route", "add", "default", "via", "198.51.100.1")
        self.node.nsx("ext", "sysctl", "-qw", "net.ipv4.tcp_syn_retries=2")
        p = subprocess.Popen(["ip", "netns", "exec", self.node.ns("ext"), kt.PYTHON, PROBE,
                              "serve", "8080,9090", "53", "ext"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert p.stdout.readline().strip() == "ready"
        self.servers.append(p)
        for short in PODS:
            self.node.nsx(short, "sysctl", "-qw", "net.ipv4.tcp_syn_retries=2")
            for tcp, udp, name in (("8080", "53", short), ("9090", "", short + "-9090")):
                p = subprocess.Popen(["ip", "netns", "exec", self.node.ns(short), kt.PYTHON,
                                      PROBE, "serve", tcp, udp, name],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                assert p.stdout.readline().strip() == "ready"
                self.servers.append(p)

    def stop(self):
        for p in self.servers:
            p.kill()
            p.wait()

    def who(self, src, ip, port=80, proto="tcp", n=1, timeout=2.0):
        out = self.node.nsx(src, kt.PYTHON, PROBE, "who", ip, proto, str(port), str(n),
                            str(timeout), timeout=n * timeout + 30)
        return json.loads(out)

    def hold(self, src, ip, port=80):
        p = subprocess.Popen(["ip", "netns", "exec", self.node.ns(src), kt.PYTHON, PROBE, "hold",
                              ip, str(port), "0", "ask"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline().split()
        assert line[:1] == ["who"], f"held connection never worked: {line}"
        assert p.stdout.readline().startswith("ok")
        return p, line[1]


def still_alive(held, lines=10):
    for _ in range(lines):
        line = held.stdout.readline()
        assert line.startswith("ok"), f"held connection broke: {line!r}"


def release(held):
    held.stdin.close()
    held.wait(timeout=10)


@pytest.fixture(scope="module", params=WORKERS, ids=lambda w: f"{w}worker")
def cl(request):
    with running(workers=request.param, spare_pods=True, extra_conf=CONF,
                 node_conf=f'gateway = "{UNDERLAY_GW}";') as n:
        c = Cluster(n)
        try:
            c.start()
            yield c
        finally:
            c.stop()


@pytest.fixture
def svc(cl):
    """Services made by a test are deleted after it."""
    made = []

    def make(*objs):
        cl.apply(*objs)
        made.extend((o["kind"].lower(), o["metadata"]["name"]) for o in objs)

    yield make
    for kind, name in reversed(made):
        cl.delete(kind, name)


def test_clusterip_spreads_evenly_local_and_remote(cl, svc):
    svc(service("web", "10.96.0.10", [http(), dns()]), slice_("web", "web-1", ["pa", "pb", "rp"]))
    with Delta(cl.node) as d:
        r = cl.who("pc", "10.96.0.10", n=300)
    assert r["errors"] == {}, r
    # Maglev gives each endpoint 1/3 of the table. 300 connections: a share
    # under 50 is more than 6 standard deviations (8.2) below the mean of 100.
    assert set(r) - {"peers", "errors"} == {"pa", "pb", "rp"}, r
    assert all(r[p] >= 50 for p in ("pa", "pb", "rp")), r
    # The endpoints saw the client itself: ClusterIP traffic is not SNATed.
    assert r["peers"] == [PODS["pc"][0]]
    assert d.event("lb_new") >= 300
    u = cl.who("pc", "10.96.0.10", port=53, proto="udp", n=60)
    assert u["errors"] == {} and sum(u[p] for p in ("pa", "pb", "rp") if p in u) == 60, u


def test_clusterip_from_pod_behind_vxlan_peer(cl, svc):
    svc(service("web2", "10.96.0.11", [http(), dns()]), slice_("web2", "web2-1", ["pa", "pb"]))
    r = cl.who("rp", "10.96.0.11", n=40)
    assert r["errors"] == {} and r.get("pa", 0) + r.get("pb", 0) == 40, r
    assert r["peers"] == [PODS["rp"][0]]
    u = cl.who("rp", "10.96.0.11", port=53, proto="udp", n=20)
    assert u["errors"] == {} and u.get("pa", 0) + u.get("pb", 0) == 20, u


def test_endpoint_on_the_remote_node_from_remote_client(cl, svc):
    """A remote client whose Service endpoint is remote: back into the tunnel."""
    svc(service("far", "10.96.0.12", [http()]), slice_("far", "far-1", ["rp"]))
    r = cl.who("rp", "10.96.0.12", n=5)
    assert r.get("rp") == 5, r
    assert r["peers"] == [HAIRPIN_IP]


def test_no_endpoints_is_refused(cl, svc):
    svc(service("empty", "10.96.0.13", [http(), dns()]))
    with Delta(cl.node) as d:
        t0 = time.time()
        r = cl.who("pc", "10.96.0.13", n=3)
        u = cl.who("pc", "10.96.0.13", port=53, proto="udp", n=3)
        rr = cl.who("rp", "10.96.0.13", n=2)
        elapsed = time.time() - t0
    # TCP gets a RST, UDP an ICMP port unreachable: ECONNREFUSED, not a timeout.
    assert r["errors"] == {ECONNREFUSED: 3}, r
    assert u["errors"] == {ECONNREFUSED: 3}, u
    assert rr["errors"] == {ECONNREFUSED: 2}, rr
    assert elapsed < 30
    assert d.drop("lb_no_endpoints") == 8
    assert d.event("lb_rejected") == 8


def test_ready_false_endpoint_takes_nothing(cl, svc):
    svc(service("rdy", "10.96.0.14", [http()]),
        slice_("rdy", "rdy-1", ["pa", "pb"], cond={"pb": {"ready": False, "serving": False}}))
    r = cl.who("pc", "10.96.0.14", n=30)
    assert r.get("pa") == 30, r


def test_session_affinity_client_ip(cl, svc):
    svc(service("sticky", "10.96.0.15", [http()], sessionAffinity="ClientIP",
                sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}}),
        slice_("sticky", "sticky-1", ["pa", "pb", "rp"]))
    for client in ("pc", "rp"):
        r = cl.who(client, "10.96.0.15", n=30)
        assert r["errors"] == {} and len(set(r) - {"peers", "errors"}) == 1, r


def test_internal_traffic_policy_local(cl, svc):
    svc(service("itp", "10.96.0.16", [http()], internalTrafficPolicy="Local"),
        slice_("itp", "itp-1", ["pa", "rp"]))
    r = cl.who("pc", "10.96.0.16", n=30)
    assert r.get("pa") == 30, r


def test_terminating_endpoint_keeps_its_connection(cl, svc):
    svc(service("term", "10.96.0.17", [http()]), slice_("term", "term-1", ["pa"]))
    held, first = cl.hold("pc", "10.96.0.17")
    try:
        assert first == "pa"
        # pa starts terminating and pb arrives: new connections go to pb only.
        cl.apply(slice_("term", "term-1", ["pa", "pb"], cond={
            "pa": {"ready": False, "serving": True, "terminating": True}}))
        r = cl.who("pc", "10.96.0.17", n=20)
        assert r.get("pb") == 20, r
        still_alive(held)
        # Only terminating endpoints left: they still serve (kube-proxy's fallback).
        cl.apply(slice_("term", "term-1", ["pa"], cond={
            "pa": {"ready": False, "serving": True, "terminating": True}}))
        r = cl.who("pc", "10.96.0.17", n=5)
        assert r.get("pa") == 5, r
        still_alive(held)
    finally:
        release(held)


def test_connection_survives_unrelated_endpoint_change(cl, svc):
    svc(service("churn", "10.96.0.18", [http()]), slice_("churn", "churn-1", ["pa", "pb", "pc"]))
    held, ep = cl.hold("rp", "10.96.0.18")
    try:
        others = [p for p in ("pa", "pb", "pc") if p != ep]
        # Remove another endpoint, then add it back, under a steady exchange.
        cl.apply(slice_("churn", "churn-1", [ep, others[0]]))
        still_alive(held)
        r = cl.who("pc", "10.96.0.18", n=20)
        assert set(r) - {"peers", "errors"} <= {ep, others[0]}, r
        cl.apply(slice_("churn", "churn-1", ["pa", "pb", "pc"]))
        still_alive(held)
    finally:
        release(held)


def test_hairpin_pod_reaches_itself(cl, svc):
    svc(service("self", "10.96.0.19", [http()]), slice_("self", "self-1", ["pa"]))
    with Delta(cl.node) as d:
        r = cl.who("pa", "10.96.0.19", n=5)
    assert r.get("pa") == 5, r
    # The pod sees its own connection come from the hairpin address, so its
    # reply comes back through us to be translated.
    assert r["peers"] == [HAIRPIN_IP]
    assert d.event("lb_hairpin") == 5


def test_icmp_error_through_nat(cl, svc):
    """An endpoint's port unreachable reaches the client as the Service's own."""
    svc(service("closed", "10.96.0.20", [dns(port=99, target=9999)]),
        slice_("closed", "closed-1", ["pb"], ports=(("dns", "UDP", 9999),)))
    with Delta(cl.node) as d:
        u = cl.who("pc", "10.96.0.20", port=99, proto="udp", n=3)
        ur = cl.who("rp", "10.96.0.20", port=99, proto="udp", n=2)
    # The client's socket takes the error only if the quote names 10.96.0.20:99.
    assert u["errors"] == {ECONNREFUSED: 3}, u
    assert ur["errors"] == {ECONNREFUSED: 2}, ur
    assert d.event("nat_icmp_error") == 5
    assert d.drop("lb_no_endpoints") == 0


def test_network_policy_applies_after_dnat(cl, svc):
    pods = [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": p, "namespace": "default", "labels": {"app": p}},
             "spec": {"nodeName": PODS[p][1]}, "status": {"podIP": PODS[p][0]}}
            for p in PODS]
    pol = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": "pb-from-pa", "namespace": "default"},
           "spec": {"podSelector": {"matchLabels": {"app": "pb"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "pa"}}}],
                                 "ports": [{"protocol": "TCP", "port": 8080}]}]}}
    svc(*pods, service("guarded", "10.96.0.21", [http()]),
        slice_("guarded", "guarded-1", ["pb"]), pol)
    with Delta(cl.node) as d:
        ok = cl.who("pa", "10.96.0.21", n=3)
        denied = cl.who("pc", "10.96.0.21", n=2, timeout=1.0)
    # The rule names the endpoint's port 8080, not the Service's 80: judged after DNAT.
    assert ok.get("pb") == 3, ok
    assert denied["errors"] and "pb" not in denied, denied
    assert d.drop("policy_ingress") >= 2


def test_service_deletion_stops_new_connections(cl, svc):
    cl.apply(service("gone", "10.96.0.22", [http()]), slice_("gone", "gone-1", ["pa"]))
    assert cl.who("pc", "10.96.0.22", n=2).get("pa") == 2
    cl.delete("service", "gone")
    cl.delete("endpointslice", "gone-1")
    r = cl.who("pc", "10.96.0.22", n=2, timeout=1.0)
    assert "pa" not in r and sum(r["errors"].values()) == 2, r


def test_same_client_port_through_two_services(cl, svc):
    """Linux reuses a source port toward another destination; after DNAT both
    connections would have the same reply tuple, so the second gets another
    source port on the endpoint's side, as Linux's NAT does."""
    svc(service("one", "10.96.0.23", [http()]), slice_("one", "one-1", ["pa"]),
        service("two", "10.96.0.24", [http()]), slice_("two", "two-1", ["pa"]))
    code = ("import socket,sys\n"
            "for ip in sys.argv[1:]:\n"
            "    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            "    s.bind(('0.0.0.0',40123)); s.settimeout(3); s.connect((ip,80))\n"
            "    s.send(b'?'); print(s.recv(64).decode().split()[0]); s.close()\n")
    out = cl.node.nsx("pc", kt.PYTHON, "-c", code, "10.96.0.23", "10.96.0.24")
    assert out.split() == ["pa", "pa"], out


def nodeport(node_port, port=80, target=8080, name="http", proto="TCP"):
    return {"name": name, "port": port, "protocol": proto, "targetPort": target,
            "nodePort": node_port}


def test_nodeport_cluster_policy_from_external_client(cl, svc):
    svc(service("np", "10.96.0.30", [nodeport(30080), nodeport(30053, 53, 53, "dns", "UDP")],
                type="NodePort"),
        slice_("np", "np-1", ["pa", "rp"]))
    with Delta(cl.node) as d:
        r = cl.who("ext", NODE_IP, port=30080, n=40)
    assert r["errors"] == {} and r.get("pa", 0) + r.get("rp", 0) == 40, r
    # Two endpoints, 40 connections: one left out has probability 2 * 2^-40.
    assert r.get("pa") and r.get("rp"), r
    # Policy Cluster: source-translated, to the node IP toward the local endpoint
    # and to the overlay address toward the remote one, so replies come back to us.
    assert r["peers"] == sorted([NODE_IP, HAIRPIN_IP]), r
    assert d.event("lb_external") == 40 and d.event("lb_external_snat") == 40
    u = cl.who("ext", NODE_IP, port=30053, proto="udp", n=20)
    assert u["errors"] == {} and u.get("pa", 0) + u.get("rp", 0) == 20, u
    # The ClusterIP of the same Service still serves pods, untranslated at the source.
    r = cl.who("pc", "10.96.0.30", n=10)
    assert r["errors"] == {} and r["peers"] == [PODS["pc"][0]], r


def test_nodeport_local_policy_keeps_client_ip(cl, svc):
    svc(service("npl", "10.96.0.31", [nodeport(30081)], type="NodePort",
                externalTrafficPolicy="Local"),
        slice_("npl", "npl-1", ["pa", "rp"]))
    with Delta(cl.node) as d:
        r = cl.who("ext", NODE_IP, port=30081, n=20)
    assert r.get("pa") == 20 and r["peers"] == [EXT_IP], r
    assert d.event("lb_external") == 20 and d.event("lb_external_snat") == 0
    # Pods are not bound by the external policy: both endpoints serve them.
    r = cl.who("pc", "10.96.0.31", n=40)
    assert r.get("pa") and r.get("rp"), r


def test_local_policy_without_local_endpoint_drops(cl, svc):
    svc(service("npr", "10.96.0.32", [nodeport(30082)], type="NodePort",
                externalTrafficPolicy="Local"),
        slice_("npr", "npr-1", ["rp"]))
    with Delta(cl.node) as d:
        r = cl.who("ext", NODE_IP, port=30082, n=2, timeout=1.0)
    # Dropped, as kube-proxy drops them, not refused: the client times out.
    assert "rp" not in r and r["errors"] and ECONNREFUSED not in r["errors"], r
    assert d.drop("lb_no_local_endpoints") >= 2
    assert d.drop("lb_no_endpoints") == 0


def test_load_balancer_ingress_and_source_ranges(cl, svc):
    lb = service("lb", "10.96.0.33", [nodeport(30083)], type="LoadBalancer",
                 loadBalancerSourceRanges=["198.51.100.0/28"])
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}
    svc(lb, slice_("lb", "lb-1", ["pa", "pb"]))
    r = cl.who("ext", LB_IP, n=10)
    assert r["errors"] == {} and r.get("pa", 0) + r.get("pb", 0) == 10, r
    # The client falls outside the new ranges: dropped and counted.
    lb["spec"]["loadBalancerSourceRanges"] = ["10.0.0.0/8"]
    cl.apply(lb)
    with Delta(cl.node) as d:
        r = cl.who("ext", LB_IP, n=2, timeout=1.0)
    assert "pa" not in r and "pb" not in r and r["errors"], r
    assert d.drop("lb_source_range") >= 2
    # Ranges guard the LoadBalancer address only; the nodePort still answers.
    assert cl.who("ext", NODE_IP, port=30083, n=2)["errors"] == {}


def test_external_ip(cl, svc):
    svc(service("eip", "10.96.0.34", [http()], externalIPs=[EXTERNAL_IP]),
        slice_("eip", "eip-1", ["pb"]))
    r = cl.who("ext", EXTERNAL_IP, n=5)
    assert r.get("pb") == 5 and r["peers"] == [NODE_IP], r
    # A ClusterIP is not reachable from the underlay.
    with Delta(cl.node) as d:
        r = cl.who("ext", "10.96.0.34", n=1, timeout=1.0)
    assert "pb" not in r, r


def test_masquerade_to_outside(cl, svc):
    with Delta(cl.node) as d:
        r = cl.who("pc", EXT_IP, port=8080, n=5)
        u = cl.who("pa", EXT_IP, port=53, proto="udp", n=5)
        cl.node.ping("pb", EXT_IP, count=3)
    # The outside sees the node, never a pod address.
    assert r.get("ext") == 5 and r["peers"] == [NODE_IP], r
    assert u.get("ext") == 5 and u["peers"] == [NODE_IP], u
    # A connection each: 5 TCP, 5 UDP sockets, and the one echo identifier of ping.
    assert d.event("nat_masquerade") == 11
    # Traffic inside the cluster network is not masqueraded.
    r = cl.who("pc", PODS["rp"][0], port=8080, n=2)
    assert r["peers"] == [PODS["pc"][0]], r


EXHAUST = """
import json, socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
held, ports, errors = [], set(), []
for i in range(n):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((ip, port))
        s.send(b"?")
        name, peer, pport = s.recv(64).decode().split()
        ports.add((peer, int(pport)))
        held.append(s)
    except OSError as e:
        errors.append(e.errno)
        s.close()
print(json.dumps({"ports": sorted(ports), "errors": errors}), flush=True)
"""


def test_masquerade_port_exhaustion_is_refused(cl, svc):
    """Every port of the range toward one destination in use at once, from
    several pods (and so both workers' queues): each connection got a port
    of its own; the next is refused with a RST and counted."""
    n = MASQ_PORTS[1] - MASQ_PORTS[0] + 1
    per = [(p, k) for p, k in (("pa", 6), ("pb", 5), ("pc", 5))]
    assert sum(k for _, k in per) == n
    procs = [subprocess.Popen(["ip", "netns", "exec", cl.node.ns(p), kt.PYTHON, "-c", EXHAUST,
                               EXT_IP, "9090", str(k)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for p, k in per]
    try:
        got = [json.loads(p.stdout.readline()) for p in procs]
        ports = [tuple(x) for g in got for x in g["ports"]]
        assert all(g["errors"] == [] for g in got), got
        assert len(set(ports)) == n, ports
        assert all(ip == NODE_IP and MASQ_PORTS[0] <= pt <= MASQ_PORTS[1] for ip, pt in ports)
        with Delta(cl.node) as d:
            r = cl.who("pa", EXT_IP, port=9090, n=1)
        assert r["errors"] == {ECONNREFUSED: 1}, r
        assert d.drop("nat_no_ports") == 1
    finally:
        for p in procs:
            p.stdin.close()
            p.kill()
            p.wait()


def frontends(cl, name):
    out = cl.ctl("frontends", name, "-o", "json").stdout
    return json.loads(out).get("frontends", [])


def test_maglev_disruption_one_of_ten_removed(cl, svc):
    """Ten endpoints, one removed: only its share of the table moves."""
    ips = [f"10.244.1.{100 + i}" for i in range(10)]

    def sl(addrs):
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "ten-1", "namespace": "default",
                             "labels": {"kubernetes.io/service-name": "ten"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addrs],
                "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]}
    svc(service("ten", "10.96.0.40", [http()]), sl(ips))
    cl.apply(sl(ips[:9]))
    f = frontends(cl, "ten")[0]
    m, moved, kept = f["maglevSize"], f.get("maglevMoved", 0), f.get("maglevMovedKept", 0)
    # The removed endpoint owned about m/10 entries: those move; of the others,
    # Maglev moves only a few percent (the paper's trade for its even spread).
    assert 0.07 * m < moved - kept < 0.13 * m, f
    assert kept < m / 20, f
    # Another Service's change leaves these figures to this frontend's own last update.
    svc(service("ten-other", "10.96.0.43", [http()]), slice_("ten-other", "ten-other-1", ["pa"]))
    g = frontends(cl, "ten")[0]
    assert (g.get("maglevMoved", 0), g.get("maglevMovedKept", 0)) == (moved, kept), g
    print(f"maglev: 1 of 10 endpoints removed moved {moved} of {m} entries "
          f"({100.0 * moved / m:.2f}%), {f.get('maglevMovedKept', 0)} needlessly")


def test_slice_moving_between_services_moves_its_endpoints(cl, svc):
    """Each build reuses what did not change: a slice relabelled to another
    Service leaves the first and joins the second, and a third, untouched
    Service keeps answering from its own endpoint."""
    svc(service("mova", "10.96.0.51", [http()]), service("movb", "10.96.0.52", [http()]),
        service("movc", "10.96.0.53", [http()]),
        slice_("mova", "mv-1", ["pa"]), slice_("movb", "mv-2", ["pb"]),
        slice_("movc", "mv-3", ["rp"]))
    assert cl.who("pc", "10.96.0.51", n=4).get("pa") == 4
    assert cl.who("pc", "10.96.0.52", n=4).get("pb") == 4
    cl.apply(slice_("movb", "mv-1", ["pa"]))
    r = cl.who("pc", "10.96.0.51", n=2)
    assert r["errors"] == {ECONNREFUSED: 2}, r
    r = cl.who("pc", "10.96.0.52", n=60)
    assert r["errors"] == {} and r.get("pa", 0) + r.get("pb", 0) == 60 and \
        min(r.get("pa", 0), r.get("pb", 0)) > 0, r
    assert cl.who("pc", "10.96.0.53", n=4).get("rp") == 4
    cl.apply(slice_("mova", "mv-1", ["pa"]))
    assert cl.who("pc", "10.96.0.51", n=4).get("pa") == 4
    assert cl.who("pc", "10.96.0.52", n=4).get("pb") == 4


def test_get_services_shows_endpoints_and_connections(cl, svc):
    svc(service("shown", "10.96.0.41", [http()]),
        slice_("shown", "shown-1", ["pa", "pb"], cond={
            "pb": {"ready": False, "serving": True, "terminating": True}}))
    held, ep = cl.hold("pc", "10.96.0.41")
    try:
        assert ep == "pa"
        out = cl.ctl("get", "services", "shown").stdout
        rows = [ln.split() for ln in out.splitlines()]
        pa = next(r for r in rows if f"{PODS['pa'][0]}:8080" in r)
        pb = next(r for r in rows if f"{PODS['pb'][0]}:8080" in r)
        assert "10.96.0.41:80/TCP" in out and "ClusterIP" in out, out
        assert pa[-3:] == ["ready,serving,local", "pods", "1"], out
        assert pb[-3:] == ["not-ready,serving,terminating,local", "-", "0"], out
        f = frontends(cl, "shown")[0]
        assert f["connections"] == 1 and f["ip"] == "10.96.0.41", f
    finally:
        release(held)


UDP_PINGPONG = """
import socket, sys, time
ip, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect((ip, 53))
lost = 0
for i in range(n):
    s.send(b"x%d" % i)
    try:
        while s.recv(64) != b"x%d" % i:
            pass
    except OSError:
        lost += 1
    time.sleep(0.005)
print(lost, flush=True)
"""


def test_no_loss_on_unaffected_flow_during_updates(cl, svc):
    """One UDP flow pinned to pa exchanges 600 datagrams while the Service's
    other endpoints and other Services change 20 times: none is lost."""
    svc(service("steady", "10.96.0.42", [dns()]), slice_("steady", "steady-1", ["pa"]))
    p = subprocess.Popen(["ip", "netns", "exec", cl.node.ns("rp"), kt.PYTHON, "-c",
                          UDP_PINGPONG, "10.96.0.42", "600"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        for i in range(20):
            cl.apply(slice_("steady", "steady-1", ["pa", "pb", "pc"][: 1 + (i % 3)]),
                     service(f"churn{i % 2}", f"10.96.1.{i}", [http()]))
        assert p.wait(timeout=60) == 0
        assert p.stdout.read().strip() == "0"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for i in range(2):
            cl.ctl("delete", "service", f"churn{i}", "-n", "default", "--ignore-not-found",
                   check=False)


def test_named_target_port_resolved_per_slice(cl, svc):
    """targetPort by name: each EndpointSlice says which port the name is on
    its endpoints, and the two slices of the Service are merged. Of a
    dual-stack clusterIPs list, the IPv4 address is served."""
    svc(service("named", "10.96.0.50",
                [{"name": "web", "port": 80, "protocol": "TCP", "targetPort": "web"}],
                clusterIPs=["10.96.0.50", "fd00:96::50"]),
        slice_("named", "named-a", ["pa"], ports=(("web", "TCP", 8080),)),
        slice_("named", "named-b", ["pb"], ports=(("web", "TCP", 9090),)))
    r = cl.who("pc", "10.96.0.50", n=40)
    # pb is reached on 9090 only (its 8080 server would answer "pb").
    assert r["errors"] == {} and r.get("pa") and r.get("pb-9090") and "pb" not in r, r
    f = frontends(cl, "named")
    assert len(f) == 1 and f[0]["ip"] == "10.96.0.50", f
    assert {(e["ip"], e["port"]) for e in f[0]["endpoints"]} == {
        (PODS["pa"][0], 8080), (PODS["pb"][0], 9090)}, f


UDP_ASK = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], 53))
for line in sys.stdin:
    s.send(b"?")
    try:
        print(s.recv(64).decode().split()[0], flush=True)
    except OSError:
        print("timeout", flush=True)
"""


def test_udp_flow_moves_when_its_endpoint_leaves(cl, svc):
    """UDP has no reset: when a flow's endpoint leaves the Service its
    connection is deleted (kube-proxy's conntrack cleanup), so the same
    socket's next datagram goes to an endpoint that is still there."""
    svc(service("udpm", "10.96.0.61", [dns()]), slice_("udpm", "udpm-1", ["pa", "pb"]))
    p = subprocess.Popen(["ip", "netns", "exec", cl.node.ns("rp"), kt.PYTHON, "-c", UDP_ASK,
                          "10.96.0.61"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask():
        p.stdin.write("\n")
        p.stdin.flush()
        return p.stdout.readline().strip()
    try:
        first = ask()
        assert first in ("pa", "pb")
        assert ask() == first  # the flow stays where it is
        other = "pb" if first == "pa" else "pa"
        # Terminating but still serving: the flow stays (graceful termination).
        cl.apply(slice_("udpm", "udpm-1", ["pa", "pb"], cond={
            first: {"ready": False, "serving": True, "terminating": True}}))
        assert ask() == first
        with Delta(cl.node) as d:
            cl.apply(slice_("udpm", "udpm-1", [other]))
            # The old endpoint's server is still up: only the flush moves the flow.
            assert ask() == other
            assert ask() == other
        # The worker's cache still named the deleted connection: the record refused it.
        assert d.event("ct_cache_stale") >= 1
    finally:
        p.stdin.close()
        p.wait(timeout=10)


def test_session_affinity_expires(cl, svc):
    """timeoutSeconds: the pin is dropped once idle for longer."""
    def entries():
        return json.loads(cl.ctl("stats", "-o", "json").stdout).get("affinityEntries", 0)
    svc(service("brief", "10.96.0.62", [http()], sessionAffinity="ClientIP",
                sessionAffinityConfig={"clientIP": {"timeoutSeconds": 2}}),
        slice_("brief", "brief-1", ["pa", "pb"]))
    n0 = entries()
    r = cl.who("pc", "10.96.0.62", n=10)
    assert len(set(r) - {"peers", "errors"}) == 1, r
    assert entries() == n0 + 1
    deadline = time.time() + 10
    while time.time() < deadline and entries() > n0:
        time.sleep(0.5)
    assert entries() <= n0


SNIFF = """
import sys
from scapy.all import sniff, SCTP, IP, raw
pk = sniff(iface=sys.argv[1], count=1, timeout=8, started_callback=lambda: print("ready", flush=True),
           lfilter=lambda p: SCTP in p and p[IP].proto == 132)
print(raw(pk[0]).hex() if pk else "none", flush=True)
"""


def sctp_ok(pkt):
    from scapy.all import Ether, SCTP
    q = Ether(bytes(pkt))
    got = q[SCTP].chksum
    del q[SCTP].chksum
    return Ether(bytes(q))[SCTP].chksum == got


def test_sctp_through_clusterip(cl, svc):
    """SCTP has no socket here (no kernel module), so scapy speaks it: an INIT
    to the Service reaches the endpoint translated with a valid CRC32c, and
    the endpoint's INIT-ACK comes back as the Service's own."""
    from scapy.all import Ether, IP, SCTP, SCTPChunkInit, SCTPChunkInitAck
    from conftest import inject
    svc(service("sctp", "10.96.0.63", [{"name": "s", "port": 3868, "protocol": "SCTP",
                                        "targetPort": 9000}]),
        slice_("sctp", "sctp-1", ["pa"], ports=(("s", "SCTP", 9000),)))
    pc_ip, pc_mac, _ = kt.SPARE_PODS["pc"]
    pa_ip, pa_mac, _ = kt.PODS["pa"]

    def sniffer(ns, dev):
        sp = subprocess.Popen(["ip", "netns", "exec", cl.node.ns(ns), kt.PYTHON, "-c", SNIFF,
                               dev], stdout=subprocess.PIPE, text=True)
        assert sp.stdout.readline().strip() == "ready"
        return sp
    sp = sniffer("pa", cl.node.ifname("pa"))
    init = (Ether(src=pc_mac, dst=kt.GW_MAC) / IP(src=pc_ip, dst="10.96.0.63") /
            SCTP(sport=5000, dport=3868, tag=0) / SCTPChunkInit(init_tag=0x1234, a_rwnd=65535,
                                                                n_out_streams=1, n_in_streams=1,
                                                                init_tsn=1))
    inject(cl.node, "pc", cl.node.ifname("pc"), [init])
    got = Ether(bytes.fromhex(sp.communicate(timeout=15)[0].strip()))
    assert got[IP].src == pc_ip and got[IP].dst == pa_ip, got.summary()
    assert got[SCTP].sport == 5000 and got[SCTP].dport == 9000, got.summary()
    assert sctp_ok(got)
    sp = sniffer("pc", cl.node.ifname("pc"))
    ack = (Ether(src=pa_mac, dst=kt.GW_MAC) / IP(src=pa_ip, dst=pc_ip) /
           SCTP(sport=9000, dport=5000, tag=0x1234) /
           SCTPChunkInitAck(init_tag=0x5678, a_rwnd=65535, n_out_streams=1, n_in_streams=1,
                            init_tsn=1))
    inject(cl.node, "pa", cl.node.ifname("pa"), [ack])
    back = Ether(bytes.fromhex(sp.communicate(timeout=15)[0].strip()))
    assert back[IP].src == "10.96.0.63" and back[SCTP].sport == 3868, back.summary()
    assert back[IP].dst == pc_ip and back[SCTP].dport == 5000
    assert sctp_ok(back)

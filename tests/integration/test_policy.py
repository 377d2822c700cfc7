# SPDX-License-Identifier: Apache-2.0
"""NetworkPolicy enforced by the stateful firewall, with real TCP and UDP
sockets in pod namespaces, local and across the kernel VXLAN peer.

Cluster slice (all in VPC default):
  default/pa  app=a tier=front  10.244.1.10  local   http=8080/TCP dns=53/UDP
  default/pb  app=b tier=back   10.244.1.11  local   http=8080/TCP dns=53/UDP
  other/pc    app=c tier=back   10.244.1.12  local   http=80/TCP   dns=53/UDP
  other/rp    app=r tier=front  10.244.2.10  node-b  http=8080/TCP
  namespaces: default team=x, other team=y
Every pod serves TCP 80, 8080, 9050 and UDP 53.
"""
import json
import os
import random
import subprocess
import time

import pytest

import k8s_model
from conftest import BUILD_DIR, WORKERS, Delta, kt, running

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "netprobe.py")
KDPUCTL = os.path.join(BUILD_DIR, "cli", "kdpuctl")
TCP_PORTS, UDP_PORTS = [80, 8080, 9050], [53]

NAMESPACES = {"default": {"team": "x", "kubernetes.io/metadata.name": "default"},
              "other": {"team": "y", "kubernetes.io/metadata.name": "other"}}
PODS = {
    "pa": {"name": "pa", "ns": "default", "labels": {"app": "a", "tier": "front"},
           "ip": "10.244.1.10", "local": True,
           "ports": {"http": ("TCP", 8080), "dns": ("UDP", 53)}},
    "pb": {"name": "pb", "ns": "default", "labels": {"app": "b", "tier": "back"},
           "ip": "10.244.1.11", "local": True,
           "ports": {"http": ("TCP", 8080), "dns": ("UDP", 53)}},
    "pc": {"name": "pc", "ns": "other", "labels": {"app": "c", "tier": "back"},
           "ip": "10.244.1.12", "local": True,
           "ports": {"http": ("TCP", 80), "dns": ("UDP", 53)}},
    "rp": {"name": "rp", "ns": "other", "labels": {"app": "r", "tier": "front"},
           "ip": "10.244.2.10", "local": False, "ports": {"http": ("TCP", 8080)}},
}


def manifest(objs):
    return "\n---\n".join(json.dumps(o) for o in objs)


NAME_LABEL = "kubernetes.io/metadata.name"


def cluster_objects():
    # Written by hand, as a new user would: without the label the API server sets.
    objs = [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": n, "labels": {k: v for k, v in lab.items() if k != NAME_LABEL}}}
            for n, lab in NAMESPACES.items()]
    for p in PODS.values():
        objs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": p["name"], "namespace": p["ns"], "labels": p["labels"]},
                     "spec": {"nodeName": "node-a" if p["local"] else "node-b",
                              "containers": [{"name": "c", "ports": [
                                  {"name": k, "containerPort": v[1], "protocol": v[0]}
                                  for k, v in p["ports"].items()]}]},
                     "status": {"podIP": p["ip"]}})
    pc_ip, pc_mac, pc_pci = kt.SPARE_PODS["pc"]
    objs.append({"apiVersion": "kdpu.io/v1alpha1", "kind": "Netdev", "metadata": {"name": "pc"},
                 "spec": {"pciAddress": pc_pci, "vpc": "vpcs/default", "mac": pc_mac,
                          "ips": [pc_ip], "pod": "namespaces/other/pods/pc"}})
    return objs


class Cluster:
    def __init__(self, node):
        self.node = node
        self.servers = []
        self.policies = []

    def ctl(self, *args, stdin=None, check=True):
        r = subprocess.run([KDPUCTL, "-s", self.node.sock, *args], input=stdin,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"kdpuctl {' '.join(args)}: {r.stderr}")
        return r

    def start(self):
        self.ctl("apply", "-f", "-", stdin=manifest(cluster_objects()))
        ports = ",".join(map(str, TCP_PORTS))
        for short in PODS:
            p = subprocess.Popen(["ip", "netns", "exec", self.node.ns(short), kt.PYTHON, PROBE,
                                  "serve", ports, ",".join(map(str, UDP_PORTS))],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert p.stdout.readline().strip() == "ready"
            self.servers.append(p)

    def stop(self):
        for p in self.servers:
            p.kill()
            p.wait()

    def set_policies(self, policies):
        """Replace every NetworkPolicy with these."""
        old = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in self.policies}
        new = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies}
        if policies:
            self.ctl("apply", "-f", "-", stdin=manifest(policies))
        for ns, name in old - new:
            self.ctl("delete", "networkpolicy", name, "-n", ns)
        self.policies = policies

    def probe(self, cells, timeout=1.5):
        """cells: [(src, dst, proto, port)] -> {cell: bool}, all sources at once."""
        by_src = {}
        for c in cells:
            by_src.setdefault(c[0], []).append(c)
        procs = {}
        for src, cs in by_src.items():
            targets = [f"{PODS[d]['ip']}/{proto.lower()}/{port}" for _, d, proto, port in cs]
            procs[src] = (cs, subprocess.Popen(
                ["ip", "netns", "exec", self.node.ns(src), kt.PYTHON, PROBE, "probe",
                 str(timeout), *targets], stdout=subprocess.PIPE, text=True))
        out = {}
        for src, (cs, p) in procs.items():
            res = json.loads(p.communicate(timeout=60)[0])
            for c in cs:
                out[c] = res[f"{PODS[c[1]]['ip']}/{c[2].lower()}/{c[3]}"]
        return out

    def reach(self, src, dst, proto="TCP", port=8080):
        return self.probe([(src, dst, proto, port)])[(src, dst, proto, port)]

    def hold(self, src, dst, port=8080, sport=0):
        args = [kt.PYTHON, PROBE, "hold", PODS[dst]["ip"], str(port)]
        if sport:
            args.append(str(sport))
        p = subprocess.Popen(["ip", "netns", "exec", self.node.ns(src), *args],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().startswith("ok"), "held connection never worked"
        return p


def np(name, ns, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


@pytest.fixture(scope="module", params=WORKERS, ids=lambda w: f"{w}worker")
def cl(request):
    with running(workers=request.param, spare_pods=True) as n:
        c = Cluster(n)
        try:
            for short in PODS:
                n.nsx(short, "sysctl", "-qw", "net.ipv4.tcp_syn_retries=2")
            c.start()
            yield c
        finally:
            c.stop()


@pytest.fixture
def clean(cl):
    cl.set_policies([])
    yield cl
    cl.set_policies([])


def test_no_policy_everything_reaches(clean):
    cells = [(s, d, "TCP", 8080) for s in PODS for d in PODS if s != d] + \
            [(s, d, "UDP", 53) for s in PODS for d in PODS if s != d]
    res = clean.probe(cells)
    assert all(res.values()), [c for c, ok in res.items() if not ok]


def test_default_deny_ingress(clean):
    clean.set_policies([np("deny-in", "default", {"podSelector": {},
                                                  "policyTypes": ["Ingress"]})])
    with Delta(clean.node) as d:
        res = clean.probe([("pc", "pa", "TCP", 8080), ("rp", "pb", "TCP", 8080),
                           ("pa", "pb", "UDP", 53), ("pa", "pc", "TCP", 8080),
                           ("pa", "rp", "TCP", 8080), ("pc", "rp", "TCP", 80)])
    assert res == {("pc", "pa", "TCP", 8080): False, ("rp", "pb", "TCP", 8080): False,
                   ("pa", "pb", "UDP", 53): False, ("pa", "pc", "TCP", 8080): True,
                   ("pa", "rp", "TCP", 8080): True, ("pc", "rp", "TCP", 80): True}
    assert d.drop("policy_ingress") >= 3


def test_default_deny_egress_still_answers(clean):
    clean.set_policies([np("deny-out", "default", {"podSelector": {},
                                                   "policyTypes": ["Egress"]})])
    with Delta(clean.node) as d:
        res = clean.probe([("pa", "pc", "TCP", 80), ("pa", "rp", "TCP", 8080),
                           ("pb", "pa", "UDP", 53), ("pc", "pa", "TCP", 8080),
                           ("rp", "pb", "TCP", 8080)])
    # Egress-isolated pods still answer connections made to them: replies are stateful.
    assert res == {("pa", "pc", "TCP", 80): False, ("pa", "rp", "TCP", 8080): False,
                   ("pb", "pa", "UDP", 53): False, ("pc", "pa", "TCP", 8080): True,
                   ("rp", "pb", "TCP", 8080): True}
    assert d.drop("policy_egress") >= 3


def test_allow_by_pod_label(clean):
    clean.set_policies([np("b-from-a", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})])
    res = clean.probe([("pa", "pb", "TCP", 8080), ("pc", "pb", "TCP", 8080),
                       ("rp", "pb", "TCP", 8080), ("pb", "pa", "TCP", 8080)])
    assert res == {("pa", "pb", "TCP", 8080): True, ("pc", "pb", "TCP", 8080): False,
                   ("rp", "pb", "TCP", 8080): False, ("pb", "pa", "TCP", 8080): True}
    # Counted per policy: one connection allowed, two refused (with SYN retries, maybe more).
    st = json.loads(clean.ctl("stats", "-o", "json").stdout)
    mine = [p for p in st["policies"] if p["name"] == "default/b-from-a"]
    assert mine and mine[0]["allowedConnections"] == 1, st["policies"]
    assert mine[0]["deniedConnections"] >= 2, st["policies"]


def test_refusals_stay_with_the_policies_that_isolated(clean):
    """A refusal at a pod counts for every policy isolating it then, and stays
    counted when the policies isolating the pod change."""
    def denied():
        st = json.loads(clean.ctl("stats", "-o", "json").stdout)
        return {p["name"]: p.get("deniedConnections", 0) for p in st.get("policies", [])}

    first = np("b-from-a", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})
    clean.set_policies([first])
    assert not clean.reach("pc", "pb")
    before = denied()["default/b-from-a"]
    assert before >= 1
    # A second policy isolating pb: what was refused so far stays with the first.
    second = np("b-dns-from-a", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                     "ports": [{"protocol": "UDP", "port": 53}]}]})
    clean.set_policies([first, second])
    now = denied()
    assert now["default/b-from-a"] == before and now["default/b-dns-from-a"] == 0, now
    # Refused now: both isolate pb, both count it.
    assert not clean.reach("pc", "pb")
    after = denied()
    assert after["default/b-from-a"] > before, after
    assert after["default/b-dns-from-a"] == after["default/b-from-a"] - before, after
    # The second goes: the first keeps everything it was credited.
    clean.set_policies([first])
    assert denied()["default/b-from-a"] == after["default/b-from-a"]


def test_allow_by_namespace_label(clean):
    clean.set_policies([np("b-from-team-y", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}}]}]})])
    res = clean.probe([("pa", "pb", "TCP", 8080), ("pc", "pb", "TCP", 8080),
                       ("rp", "pb", "TCP", 8080)])
    assert res == {("pa", "pb", "TCP", 8080): False, ("pc", "pb", "TCP", 8080): True,
                   ("rp", "pb", "TCP", 8080): True}


@pytest.mark.parametrize("expr,from_default,from_other", [
    ({"matchLabels": {NAME_LABEL: "other"}}, False, True),
    ({"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": ["default"]}]},
     True, False),
    ({"matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": ["default"]}]},
     False, True),
    ({"matchExpressions": [{"key": NAME_LABEL, "operator": "Exists"}]}, True, True),
    ({"matchExpressions": [{"key": NAME_LABEL, "operator": "DoesNotExist"}]}, False, False),
], ids=["matchLabels", "In", "NotIn", "Exists", "DoesNotExist"])
def test_namespace_selected_by_name(clean, expr, from_default, from_other):
    """The namespaces were applied without kubernetes.io/metadata.name; kdpu
    sets it as the API server does, so selecting by it gives a cluster's verdicts."""
    clean.set_policies([np("b-by-ns-name", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"namespaceSelector": expr}]}]})])
    res = clean.probe([("pa", "pb", "TCP", 8080), ("pc", "pb", "TCP", 8080),
                       ("rp", "pb", "TCP", 8080)])
    assert res == {("pa", "pb", "TCP", 8080): from_default,
                   ("pc", "pb", "TCP", 8080): from_other,
                   ("rp", "pb", "TCP", 8080): from_other}


def test_namespace_name_label_is_the_servers(clean):
    out = clean.ctl("get", "namespace", "other", "-o", "yaml").stdout
    assert f"{NAME_LABEL}: other" in out, out
    bad = {"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": "ops", "labels": {NAME_LABEL: "other"}}}
    r = clean.ctl("apply", "-f", "-", stdin=manifest([bad]), check=False)
    assert r.returncode != 0
    assert "INVALID_ARGUMENT" in r.stderr or "invalid" in r.stderr.lower(), r.stderr
    assert f'namespace.metadata.labels["{NAME_LABEL}"]' in r.stderr, r.stderr
    assert clean.ctl("get", "namespace", "ops", check=False).returncode != 0


def test_pod_and_namespace_selector_together_is_and(clean):
    clean.set_policies([np("b-from-front-in-y", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}},
                               "podSelector": {"matchLabels": {"tier": "front"}}}]}]})])
    res = clean.probe([("pa", "pb", "TCP", 8080), ("pc", "pb", "TCP", 8080),
                       ("rp", "pb", "TCP", 8080)])
    # pa is front but in team x; pc is in team y but back; only rp is both.
    assert res == {("pa", "pb", "TCP", 8080): False, ("pc", "pb", "TCP", 8080): False,
                   ("rp", "pb", "TCP", 8080): True}


def test_ip_block_with_except(clean):
    clean.set_policies([np("a-from-block", "default", {
        "podSelector": {"matchLabels": {"app": "a"}},
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16",
                                           "except": ["10.244.1.12/32", "10.244.2.0/24"]}}]}]})])
    res = clean.probe([("pb", "pa", "TCP", 8080), ("pc", "pa", "TCP", 8080),
                       ("rp", "pa", "TCP", 8080)])
    assert res == {("pb", "pa", "TCP", 8080): True, ("pc", "pa", "TCP", 8080): False,
                   ("rp", "pa", "TCP", 8080): False}


def test_named_port_resolves_per_pod(clean):
    # "http" is 8080 on pa and pb but 80 on pc.
    clean.set_policies([np("http-only", "default", {
        "podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}),
        np("http-only", "other", {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]})])
    res = clean.probe([("rp", "pa", "TCP", 8080), ("rp", "pa", "TCP", 80),
                       ("pa", "pc", "TCP", 80), ("pa", "pc", "TCP", 8080),
                       ("pc", "pb", "UDP", 53)])
    assert res == {("rp", "pa", "TCP", 8080): True, ("rp", "pa", "TCP", 80): False,
                   ("pa", "pc", "TCP", 80): True, ("pa", "pc", "TCP", 8080): False,
                   ("pc", "pb", "UDP", 53): False}


def test_end_port_range_and_protocol(clean):
    clean.set_policies([np("range", "default", {
        "podSelector": {"matchLabels": {"app": "a"}},
        "ingress": [{"ports": [{"protocol": "TCP", "port": 9000, "endPort": 9100},
                               {"protocol": "UDP", "port": 53}]}]})])
    res = clean.probe([("pb", "pa", "TCP", 9050), ("pb", "pa", "TCP", 8080),
                       ("pb", "pa", "UDP", 53), ("pb", "pa", "TCP", 80)])
    assert res == {("pb", "pa", "TCP", 9050): True, ("pb", "pa", "TCP", 8080): False,
                   ("pb", "pa", "UDP", 53): True, ("pb", "pa", "TCP", 80): False}


def test_reply_allowed_but_new_reverse_connection_denied(clean):
    # pa may reach pb; pb may not open connections to pa (pa isolated, nothing allowed in).
    clean.set_policies([np("a-closed", "default", {
        "podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress"]})])
    held = clean.hold("pa", "pb")
    try:
        assert held.stdout.readline().startswith("ok")   # replies from pb come back
        assert not clean.reach("pb", "pa")                # but pb cannot connect to pa
    finally:
        held.stdin.close()
        held.wait(timeout=10)


def test_policy_change_cuts_a_connection(clean):
    held = clean.hold("pc", "pb")
    try:
        with Delta(clean.node) as d:
            clean.set_policies([np("b-from-a-only", "default", {
                "podSelector": {"matchLabels": {"app": "b"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})])
            line = held.stdout.readline()
            while line.startswith("ok"):
                line = held.stdout.readline()
        assert line.strip() == "dead"
        assert d.drop("policy_cut") >= 1
        assert clean.reach("pa", "pb")  # the allowed peer is unaffected
    finally:
        held.stdin.close()
        held.wait(timeout=10)


def test_label_change_takes_effect_and_recompiles_little(clean):
    clean.set_policies([np("b-from-a", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"namespaceSelector": {},
                               "podSelector": {"matchLabels": {"role": "client"}}}]}]})])
    assert not clean.reach("pc", "pb")
    stats = lambda: clean.ctl("stats", "-o", "json").stdout  # noqa: E731
    before = json.loads(stats()).get("policySetsWritten", 0)
    pc = [o for o in cluster_objects() if o["kind"] == "Pod" and o["metadata"]["name"] == "pc"][0]
    pc["metadata"]["labels"] = dict(pc["metadata"]["labels"], role="client")
    try:
        clean.ctl("apply", "-f", "-", stdin=json.dumps(pc))
        assert clean.reach("pc", "pb")
        # Only pb's ingress gained pc's address: one classifier key written, nothing else.
        assert json.loads(stats()).get("policySetsWritten", 0) - before == 1
    finally:
        pc["metadata"]["labels"].pop("role")
        clean.ctl("apply", "-f", "-", stdin=json.dumps(pc))
    assert not clean.reach("pc", "pb")


def test_flows_name_the_policy(clean):
    clean.set_policies([np("b-from-a", "default", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})])
    held = clean.hold("pa", "pb")
    try:
        r = clean.ctl("flows", "--pod", "default/pb", "--state", "ESTABLISHED")
        line = [ln for ln in r.stdout.splitlines() if "10.244.1.11:8080" in ln]
        assert line and "default/b-from-a" in line[0] and "TCP" in line[0], r.stdout
        r = clean.ctl("flows", "--pod", "other/pc", "--state", "ESTABLISHED")
        assert "10.244.1.11:8080" not in r.stdout
    finally:
        held.stdin.close()
        held.wait(timeout=10)


def test_time_wait_tuple_reused(clean):
    """A new SYN on a tuple in TIME_WAIT opens a new connection, as in Linux."""
    sport = 41234
    with Delta(clean.node) as d:
        for _ in range(2):
            held = clean.hold("pa", "pb", sport=sport)
            held.stdin.close()
            held.wait(timeout=10)
            time.sleep(0.3)
    assert d.event("ct_reopened") >= 1, d.e1


# ---------------------------------------------------------------- truth table

PEERS = [
    {"podSelector": {"matchLabels": {"app": "a"}}},
    {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In",
                                           "values": ["back"]}]}},
    {"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn",
                                           "values": ["b"]}]}},
    {"namespaceSelector": {"matchLabels": {"team": "y"}}},
    {"namespaceSelector": {}},
    {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Exists"}]},
     "podSelector": {"matchLabels": {"tier": "front"}}},
    {"podSelector": {"matchExpressions": [{"key": "role", "operator": "DoesNotExist"}]}},
    {"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.1.10/32"]}},
    {"ipBlock": {"cidr": "10.244.2.0/24"}},
]
PORTS = [
    {"port": 8080}, {"protocol": "TCP", "port": "http"}, {"protocol": "UDP", "port": "dns"},
    {"protocol": "TCP", "port": 9000, "endPort": 9100}, {"protocol": "UDP"}, {"port": 80},
]
SELECTORS = [{}, {"matchLabels": {"app": "a"}}, {"matchLabels": {"tier": "back"}},
             {"matchExpressions": [{"key": "app", "operator": "In", "values": ["b", "c"]}]}]


def random_policy(rng, i):
    spec = {"podSelector": rng.choice(SELECTORS)}
    types = rng.choice([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]])
    if types is not None:
        spec["policyTypes"] = types
    for key, peers in (("ingress", "from"), ("egress", "to")):
        if rng.random() < 0.7:
            rules = []
            for _ in range(rng.randint(0, 2)):
                rule = {}
                if rng.random() < 0.8:
                    rule[peers] = rng.sample(PEERS, rng.randint(1, 2))
                if rng.random() < 0.6:
                    rule["ports"] = rng.sample(PORTS, rng.randint(1, 2))
                rules.append(rule)
            spec[key] = rules
    return np(f"gen-{i}", rng.choice(["default", "other"]), spec)


SCENARIOS = 12
CELLS = [(s, d, proto, port) for s in PODS for d in PODS if s != d
         for proto, port in (("TCP", 80), ("TCP", 8080), ("TCP", 9050), ("UDP", 53))]


def test_truth_table(clean):
    """Random policy sets; every (source, destination, port) cell probed for real and
    compared with the independent model of Kubernetes' rules."""
    rng = random.Random(20261125)
    mismatches, total = [], 0
    for scen in range(SCENARIOS):
        policies = [random_policy(rng, i) for i in range(rng.randint(1, 4))]
        clean.set_policies(policies)
        got = clean.probe(CELLS)
        for cell in CELLS:
            s, d, proto, port = cell
            want = k8s_model.reachable(PODS[s], PODS[d], proto, port, policies, NAMESPACES)
            total += 1
            if got[cell] != want:
                mismatches.append((scen, cell, want, got[cell]))
        if mismatches:
            break
    assert not mismatches, (f"{len(mismatches)} of {total} cells differ, e.g. {mismatches[:5]}"
                            f" with policies {json.dumps(policies)}")
    print(f"truth table: {total} cells over {SCENARIOS} policy sets, all as the model says")


def test_past_max_prefixes_refused_whole():
    """A policy whose prefixes do not fit policy.max_prefixes is refused with the
    key named, is not stored, and leaves the policy in force as it was."""
    with running(workers=1, spare_pods=True,
                 extra_conf="policy = { max_prefixes = 64; };\n") as n:
        c = Cluster(n)
        try:
            c.start()
            # pa and pb each admit pa's /32 and 8 more: 18 keys of 64.
            few = np("few", "default", {
                "podSelector": {}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"ipBlock": {"cidr": f"{PODS['pa']['ip']}/32"}}] +
                             [{"ipBlock": {"cidr": f"10.77.{i}.0/24"}} for i in range(8)]}]})
            c.set_policies([few])
            assert c.reach("pa", "pb") and not c.reach("pc", "pb")
            # 2 pods x 40 more prefixes: 98 keys.
            many = np("many", "default", {
                "podSelector": {}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"ipBlock": {"cidr": f"{PODS['pc']['ip']}/32"}}] +
                             [{"ipBlock": {"cidr": f"10.78.{i}.0/24"}} for i in range(39)]}]})
            r = c.ctl("apply", "-f", "-", stdin=manifest([many]), check=False)
            assert r.returncode != 0
            assert "policy.max_prefixes 64" in r.stderr, r.stderr
            assert c.ctl("get", "networkpolicy", "many", "-n", "default",
                         check=False).returncode != 0
            assert c.reach("pa", "pb") and not c.reach("pc", "pb")
            # What fits still applies, through the build from scratch that follows.
            c.set_policies([few, np("pc-in", "default", {
                "podSelector": {"matchLabels": {"app": "b"}},
                "ingress": [{"from": [{"ipBlock": {"cidr": f"{PODS['pc']['ip']}/32"}}]}]})])
            assert c.reach("pc", "pb") and not c.reach("pc", "pa")
        finally:
            c.stop()

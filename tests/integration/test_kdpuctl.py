# SPDX-License-Identifier: Apache-2.0
"""kdpuctl against the running daemon: a manifest directory applied, listed,
round-tripped through -o yaml, and deleted; manifest and server errors that
name the file, document and line; kubectl-style exit codes."""
import json
import os
import subprocess
import textwrap

import pytest

from conftest import BUILD_DIR, WORKERS, kt, running

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFESTS = os.path.join(HERE, "manifests")
KDPUCTL = os.path.join(BUILD_DIR, "cli", "kdpuctl")
KINDS = ["namespaces", "pods", "netdevs", "services", "endpointslices", "networkpolicies"]


@pytest.fixture(scope="module")
def cnode():
    with running(workers=max(WORKERS), spare_pods=True) as n:
        yield n


def ctl(node, *args, stdin=None):
    return subprocess.run([KDPUCTL, "-s", node.sock, *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def test_apply_directory_then_get_and_traffic(cnode):
    r = ctl(cnode, "apply", "-f", MANIFESTS)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # Dependency order, whatever the file order: namespaces first, policies last.
    assert lines == ["namespace/shop created", "namespace/monitoring created",
                     "pod/web-0 created", "pod/prometheus-0 created", "netdev/web-0 created",
                     "service/web created", "endpointslice/web-abc12 created",
                     "networkpolicy/web-from-monitoring created"]
    r = ctl(cnode, "apply", "-f", MANIFESTS)
    assert r.returncode == 0 and r.stdout.count("unchanged") == 8, r.stdout
    pods = ctl(cnode, "get", "pods", "-A")
    assert pods.returncode == 0
    assert "shop         web-0          node-a   10.244.1.12   app=web,tier=frontend" in pods.stdout
    svc = ctl(cnode, "get", "svc", "-n", "shop")
    assert "web    NodePort   10.96.0.20   <none>        80:30080/TCP" in svc.stdout, svc.stdout
    nd = ctl(cnode, "get", "netdev", "web-0")
    assert "0000:3b:00.4" in nd.stdout and "pod-pc" in nd.stdout
    # The netdev from the manifest carries the pod's traffic, locally and over VXLAN.
    cnode.ping("pc", kt.PODS["pa"][0], count=2)
    cnode.ping("pc", kt.RPOD_IP, count=2)


def test_yaml_and_json_round_trip(cnode):
    ctl(cnode, "apply", "-f", MANIFESTS)
    for kind in KINDS:
        y = ctl(cnode, "get", kind, "-A", "-o", "yaml")
        assert y.returncode == 0 and "kind: List" in y.stdout
        again = ctl(cnode, "apply", "-f", "-", stdin=y.stdout)
        assert again.returncode == 0, again.stderr
        assert again.stdout and all(line.endswith("unchanged")
                                    for line in again.stdout.splitlines()), again.stdout
    j = json.loads(ctl(cnode, "get", "networkpolicies", "-n", "shop", "-o", "json").stdout)
    pol = j["items"][0]
    assert pol["kind"] == "NetworkPolicy" and pol["apiVersion"] == "networking.k8s.io/v1"
    peers = pol["spec"]["ingress"][0]["from"]
    assert peers[1]["ipBlock"] == {"cidr": "10.0.0.0/8", "except": ["10.96.0.0/12"]}
    assert pol["spec"]["ingress"][0]["ports"][0]["port"] == "http"
    assert pol["spec"]["ingress"][0]["ports"][1] == {"protocol": "TCP", "port": 9000,
                                                     "endPort": 9100}
    svc = json.loads(ctl(cnode, "get", "svc", "web", "-n", "shop", "-o", "json").stdout)
    assert svc["spec"]["sessionAffinity"] == "ClientIP"
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    assert ctl(cnode, "get", "pods", "-n", "shop", "-o", "name").stdout == "pod/web-0\n"


def test_update_reports_configured(cnode, tmp_path):
    ctl(cnode, "apply", "-f", MANIFESTS)
    f = write(tmp_path, "ns.yaml", """\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
          labels: {team: checkout}
        """)
    r = ctl(cnode, "apply", "-f", f)
    assert r.returncode == 0 and r.stdout == "namespace/shop configured\n"
    assert "team=checkout" in ctl(cnode, "get", "ns", "shop").stdout


def test_manifest_error_names_file_document_and_line(cnode, tmp_path):
    f = write(tmp_path, "bad.yaml", """\
        apiVersion: v1
        kind: Namespace
        metadata: {name: fine}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s, namespace: shop}
        spec:
          ports:
          - port: eighty
        """)
    r = ctl(cnode, "apply", "-f", f)
    assert r.returncode == 1
    assert f"{f}: document 2" in r.stderr and "line 10" in r.stderr, r.stderr
    assert "spec.ports[0].port" in r.stderr, r.stderr
    # Nothing of a broken file is applied.
    assert ctl(cnode, "get", "ns", "fine").returncode == 1
    f2 = write(tmp_path, "deploy.yaml", """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        """)
    r = ctl(cnode, "apply", "-f", f2)
    assert r.returncode == 1 and "kind Deployment (apiVersion apps/v1) is not supported" in r.stderr
    f3 = write(tmp_path, "syntax.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n")
    r = ctl(cnode, "apply", "-f", f3)
    assert r.returncode == 1 and "YAML error" in r.stderr and "syntax.yaml" in r.stderr


def test_server_error_names_document_and_field(cnode, tmp_path):
    f = write(tmp_path, "mixed.yaml", """\
        apiVersion: v1
        kind: Namespace
        metadata: {name: ok-ns}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: broken, namespace: ok-ns}
        spec:
          podSelector: {}
          ingress:
          - from:
            - ipBlock: {cidr: 10.0.0.0/33}
        """)
    r = ctl(cnode, "apply", "-f", f)
    assert r.returncode == 1
    assert "document 2 (network_policy/broken, line 5)" in r.stderr, r.stderr
    assert "Error from server (InvalidArgument)" in r.stderr
    assert "network_policy.spec.ingress[0].from[0].ip_block.cidr" in r.stderr
    # One transaction: the valid object of the same run is not applied either.
    assert "nothing was applied" in r.stderr and r.stdout == ""
    r = ctl(cnode, "get", "ns", "ok-ns")
    assert r.returncode == 1 and "NotFound" in r.stderr, r.stderr
    # Fixed, the whole directory goes in, in one call.
    with open(f) as fh:
        text = fh.read()
    with open(f, "w") as fh:
        fh.write(text.replace("10.0.0.0/33", "10.0.0.0/24"))
    r = ctl(cnode, "apply", "-f", f)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["namespace/ok-ns created", "networkpolicy/broken created"]
    r = ctl(cnode, "apply", "-f", f)
    assert r.stdout.splitlines() == ["namespace/ok-ns unchanged", "networkpolicy/broken unchanged"]
    assert ctl(cnode, "delete", "-f", f).returncode == 0


def test_exit_codes_and_reads(cnode):
    assert ctl(cnode, "get", "pods", "nope").returncode == 1
    r = ctl(cnode, "get", "deployments")
    assert r.returncode == 1 and "resource type" in r.stderr
    assert ctl(cnode, "frobnicate").returncode == 2
    assert ctl(cnode, "get").returncode == 2
    assert ctl(cnode, "get", "pods", "-o", "xml").returncode == 2
    r = ctl(cnode, "health")
    assert r.returncode == 0 and r.stdout == "SERVING\n"
    r = ctl(cnode, "stats")
    assert r.returncode == 0 and "uplink0" in r.stdout and "pod-pc" in r.stdout
    r = ctl(cnode, "flows")
    assert r.returncode == 0
    r = subprocess.run([KDPUCTL, "-s", "/nonexistent/kdpu.sock", "--timeout", "2", "health"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "Unavailable" in r.stderr


def test_delete_by_file_and_by_name(cnode):
    ctl(cnode, "apply", "-f", MANIFESTS)
    r = ctl(cnode, "delete", "-f", MANIFESTS)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == 'networkpolicy "web-from-monitoring" deleted'
    assert r.stdout.splitlines()[-1] == 'namespace "monitoring" deleted'
    for kind in KINDS:
        if kind != "netdevs":
            assert ctl(cnode, "get", kind, "-A", "-o", "name").stdout == ""
    # The configuration's own netdevs stay.
    assert ctl(cnode, "get", "netdevs", "-o", "name").stdout == "netdev/pod-pa\nnetdev/pod-pb\n"
    # The netdev went with the manifests: its port no longer forwards.
    assert " 0 received" in cnode.ping("pc", kt.PODS["pa"][0], count=1, check=False)
    r = ctl(cnode, "delete", "-f", MANIFESTS)
    assert r.returncode == 1 and "NotFound" in r.stderr
    assert ctl(cnode, "delete", "-f", MANIFESTS, "--ignore-not-found").returncode == 0

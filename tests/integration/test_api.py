# SPDX-License-Identifier: Apache-2.0
"""The gRPC API against the running daemon, through python3-grpcio and stubs
generated from proto/ at test time: live provisioning under traffic, request
validation with tables left untouched, pagination, health, mutual TLS, and a
daemon restart restored by re-applying the same objects."""
import json
import os
import socket
import subprocess
import tempfile
import threading

import grpc
import pytest

import kdpu_api
from conftest import BUILD_DIR, WORKERS, Delta, close_checked, kt, running

API = kdpu_api.load()
pb = API.pb
PC_IP, PC_MAC, PC_PCI = kt.SPARE_PODS["pc"]


def netdev(name="pod-pc", pci=PC_PCI, vpc="vpcs/default", mac=PC_MAC, ips=(PC_IP,)):
    return pb.CreateNetdevRequest(netdev_id=name, netdev=pb.Netdev(
        spec=pb.NetdevSpec(pci_address=pci, vpc=vpc, mac=mac, ips=list(ips))))


def code_of(call, *args):
    with pytest.raises(grpc.RpcError) as e:
        call(*args)
    return e.value.code(), e.value.details()


@pytest.fixture(scope="module", params=WORKERS, ids=lambda w: f"{w}worker")
def anode(request):
    with running(workers=request.param, spare_pods=True) as n:
        n.chan = kdpu_api.channel(n.sock)
        n.api = API.stub(n.chan)
        yield n


def snapshot(n):
    """Everything a bad request must leave alone."""
    a = n.api
    return (a.ListVpcs(pb.ListVpcsRequest()), a.ListNodes(pb.ListNodesRequest()),
            a.ListNetdevs(pb.ListNetdevsRequest()),
            a.ListNamespaces(pb.ListNamespacesRequest()),
            a.GetStats(pb.GetStatsRequest()).table_generation)


def test_health(anode):
    h = API.health_stub(anode.chan)
    assert h.Check(API.health.HealthCheckRequest()).status == API.health.HealthCheckResponse.SERVING
    assert h.Check(API.health.HealthCheckRequest(
        service="opi_api.network.k8s.v1alpha1.K8sNetworkService")).status == \
        API.health.HealthCheckResponse.SERVING
    code, _ = code_of(h.Check, API.health.HealthCheckRequest(service="no.such.Service"))
    assert code == grpc.StatusCode.NOT_FOUND
    # Watch streams the current status and stays open until we leave.
    stream = h.Watch(API.health.HealthCheckRequest())
    assert next(stream).status == API.health.HealthCheckResponse.SERVING
    stream.cancel()


def test_config_objects_are_visible(anode):
    vpcs = anode.api.ListVpcs(pb.ListVpcsRequest()).vpcs
    assert [(v.name, v.spec.vni, v.spec.gateway_ip) for v in vpcs] == \
        [("vpcs/default", kt.VNI, kt.GW_IP)]
    nds = {d.name: d for d in anode.api.ListNetdevs(pb.ListNetdevsRequest()).netdevs}
    assert set(nds) == {"netdevs/pod-pa", "netdevs/pod-pb"}
    assert nds["netdevs/pod-pa"].spec.ips == [kt.PODS["pa"][0]]
    assert nds["netdevs/pod-pa"].status.port_name == "pod-pa"
    nodes = {x.name: x for x in anode.api.ListNodes(pb.ListNodesRequest()).nodes}
    assert nodes["nodes/node-a"].status.local
    assert nodes["nodes/node-b"].spec.pod_cidrs == ["10.244.2.0/24"]
    assert nodes["nodes/node-b"].status.neighbor_mac != ""  # resolved by ARP


def test_pod_add_and_delete_under_traffic(anode):
    """pa<->pb keeps flowing without a single loss while pc's netdev comes and goes."""
    n = anode
    result = {}

    def steady():
        result["out"] = n.nsx("pa", "ping", "-n", "-q", "-c", "100", "-i", "0.05", "-W", "2",
                              kt.PODS["pb"][0], check=False, timeout=60)

    t = threading.Thread(target=steady)
    t.start()
    try:
        for _ in range(3):
            made = n.api.CreateNetdev(netdev())
            assert made.name == "netdevs/pod-pc" and made.status.port_name == "pod-pc"
            n.ping("pc", kt.PODS["pa"][0], count=2)
            n.ping("pc", kt.RPOD_IP, count=2)
            with Delta(n) as d:
                n.api.DeleteNetdev(pb.DeleteNetdevRequest(name="netdevs/pod-pc"))
                r = n.ping("pc", kt.PODS["pa"][0], count=2, check=False)
            assert " 0 received" in r, r
            assert d.drop("fwd_no_vnic") >= 1
    finally:
        t.join()
    assert " 0% packet loss" in result["out"], result["out"]
    code, msg = code_of(n.api.GetNetdev, pb.GetNetdevRequest(name="netdevs/pod-pc"))
    assert code == grpc.StatusCode.NOT_FOUND and "netdevs/pod-pc" in msg


def test_live_pod_talks_tcp_over_overlay(anode):
    n = anode
    n.api.CreateNetdev(netdev())
    try:
        line = n.tcp_transfer("pc", "rp", kt.RPOD_IP, nbytes=256 << 10, port=5101)
        assert line.startswith("OK"), line
        line = n.tcp_transfer("rp", "pc", PC_IP, nbytes=256 << 10, port=5102)
        assert line.startswith("OK"), line
    finally:
        n.api.DeleteNetdev(pb.DeleteNetdevRequest(name="netdevs/pod-pc"))


def test_node_added_live_routes_its_pod_cidr(anode):
    """A remote node created through the API takes traffic for its pod CIDR."""
    n = anode
    a = n.api
    n.api.CreateNetdev(netdev())
    try:
        with Delta(n) as d:
            n.ping("pc", "10.244.3.1", count=1, check=False)
        assert d.drop("fwd_no_route") >= 1
        a.CreateNode(pb.CreateNodeRequest(node_id="node-c", node=pb.Node(spec=pb.NodeSpec(
            vtep_ip=kt.RNODE_VTEP, vpc="vpcs/default", pod_cidrs=["10.244.3.0/24"],
            mac=kt.RNODE_MAC))))
        with Delta(n) as d:
            n.ping("pc", "10.244.3.1", count=1, check=False)
        assert d.event("vxlan_encap") >= 1 and d.drop("fwd_no_route") == 0
        code, msg = code_of(a.CreateNode, pb.CreateNodeRequest(node_id="node-d", node=pb.Node(
            spec=pb.NodeSpec(vtep_ip="192.168.100.3", vpc="vpcs/default",
                             pod_cidrs=["10.244.3.0/24"]))))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "node-c" in msg
    finally:
        a.DeleteNode(pb.DeleteNodeRequest(name="nodes/node-c", allow_missing=True))
        a.DeleteNetdev(pb.DeleteNetdevRequest(name="netdevs/pod-pc"))


def test_vpc_added_live_isolates_its_pods(anode):
    """A VPC created through the API is a separate routing domain at once."""
    a = anode.api
    a.CreateVpc(pb.CreateVpcRequest(vpc_id="blue", vpc=pb.Vpc(spec=pb.VpcSpec(
        vni=200, gateway_ip=kt.GW_IP, pod_cidrs=["10.244.1.0/24"]))))
    try:
        a.CreateNetdev(netdev(vpc="vpcs/blue"))
        with Delta(anode) as d:
            r = anode.ping("pc", kt.PODS["pa"][0], count=1, check=False)
        assert " 0 received" in r and d.drop("fwd_no_route") >= 1
        anode.ping("pc", kt.GW_IP, count=2)   # blue's own gateway answers
        code, msg = code_of(a.DeleteVpc, pb.DeleteVpcRequest(name="vpcs/blue"))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "netdevs/pod-pc" in msg
        # Moving the netdev back to the default VPC is one Update.
        moved = a.UpdateNetdev(pb.UpdateNetdevRequest(netdev=pb.Netdev(
            name="netdevs/pod-pc", spec=pb.NetdevSpec(pci_address=PC_PCI, vpc="vpcs/default",
                                                      mac=PC_MAC, ips=[PC_IP]))))
        assert moved.metadata.generation == 2
        anode.ping("pc", kt.PODS["pa"][0], count=2)
    finally:
        a.DeleteNetdev(pb.DeleteNetdevRequest(name="netdevs/pod-pc", allow_missing=True))
        a.DeleteVpc(pb.DeleteVpcRequest(name="vpcs/blue", allow_missing=True))


def test_create_is_idempotent(anode):
    a = anode.api
    req = pb.CreateNamespaceRequest(namespace_id="shop", namespace=pb.Namespace(
        metadata=pb.ObjectMeta(labels={"team": "a", "env": "prod"})))
    first = a.CreateNamespace(req)
    again = a.CreateNamespace(pb.CreateNamespaceRequest(namespace_id="shop", namespace=pb.Namespace(
        metadata=pb.ObjectMeta(labels={"env": "prod", "team": "a"}))))
    assert first == again and again.metadata.generation == 1
    code, msg = code_of(a.CreateNamespace, pb.CreateNamespaceRequest(
        namespace_id="shop", namespace=pb.Namespace(metadata=pb.ObjectMeta(labels={"team": "b"}))))
    assert code == grpc.StatusCode.ALREADY_EXISTS and "namespaces/shop" in msg
    upd = a.UpdateNamespace(pb.UpdateNamespaceRequest(namespace=pb.Namespace(
        name="namespaces/shop", metadata=pb.ObjectMeta(labels={"team": "b"}))))
    # The update replaces the labels; the server's own label stays (docs/api.md, Namespace).
    assert upd.metadata.generation == 2 and dict(upd.metadata.labels) == {
        "team": "b", "kubernetes.io/metadata.name": "shop"}
    a.DeleteNamespace(pb.DeleteNamespaceRequest(name="namespaces/shop"))


BAD = [
    # (rpc, request, status, substring of the message)
    ("CreateNetdev", pb.CreateNetdevRequest(netdev_id="x", netdev=pb.Netdev()),
     "INVALID_ARGUMENT", "netdev.spec: required"),
    ("CreateNetdev", pb.CreateNetdevRequest(netdev=pb.Netdev(spec=pb.NetdevSpec())),
     "INVALID_ARGUMENT", "netdev_id: required"),
    ("CreateNetdev", netdev(vpc="vpcs/nope"), "FAILED_PRECONDITION", "netdev.spec.vpc"),
    ("CreateNetdev", netdev(pci="0000:99:00.0"), "FAILED_PRECONDITION",
     "netdev.spec.pci_address"),
    ("CreateNetdev", netdev(pci=kt.PODS["pa"][2]), "FAILED_PRECONDITION", "netdevs/pod-pa"),
    ("CreateNetdev", netdev(ips=(kt.PODS["pa"][0],)), "FAILED_PRECONDITION", "netdevs/pod-pa"),
    ("CreateNetdev", netdev(mac="01:00:5e:00:00:01"), "INVALID_ARGUMENT", "netdev.spec.mac"),
    ("CreateNetdev", netdev(name="Bad_Name"), "INVALID_ARGUMENT", "netdev_id"),
    ("CreateNode", pb.CreateNodeRequest(node_id="n1", node=pb.Node(spec=pb.NodeSpec(
        vtep_ip="192.168.100.9", vpc="vpcs/default", pod_cidrs=["10.244.9.1/24"]))),
     "INVALID_ARGUMENT", "node.spec.pod_cidrs[0]"),
    ("CreateNode", pb.CreateNodeRequest(node_id="n1", node=pb.Node(spec=pb.NodeSpec(
        vtep_ip="192.168.100.9", vpc="vpcs/default", pod_cidrs=["10.244.9.0/33"]))),
     "INVALID_ARGUMENT", "node.spec.pod_cidrs[0]"),
    ("CreateNode", pb.CreateNodeRequest(node_id="n1", node=pb.Node(spec=pb.NodeSpec(
        vtep_ip="192.168.100.9", vpc="vpcs/nope", pod_cidrs=["10.244.9.0/24"]))),
     "FAILED_PRECONDITION", "node.spec.vpc"),
    ("CreateVpc", pb.CreateVpcRequest(vpc_id="v2", vpc=pb.Vpc(spec=pb.VpcSpec(
        vni=kt.VNI, gateway_ip="10.0.0.1"))), "ALREADY_EXISTS", "vpc.spec.vni"),
    ("CreateVpc", pb.CreateVpcRequest(vpc_id="v2", vpc=pb.Vpc(spec=pb.VpcSpec(
        vni=1 << 24, gateway_ip="10.0.0.1"))), "INVALID_ARGUMENT", "vpc.spec.vni"),
    ("DeleteVpc", pb.DeleteVpcRequest(name="vpcs/default"), "FAILED_PRECONDITION", "used by"),
    ("DeleteVpc", pb.DeleteVpcRequest(name="vpcs/nope"), "NOT_FOUND", "vpcs/nope"),
    ("GetPod", pb.GetPodRequest(name="pods/x"), "INVALID_ARGUMENT", "name"),
    ("CreatePod", pb.CreatePodRequest(parent="namespaces/shop", pod_id="p", pod=pb.Pod(
        spec=pb.PodSpec(containers=[pb.Container(ports=[pb.ContainerPort(container_port=70000)])]))),
     "INVALID_ARGUMENT", "pod.spec.containers[0].ports[0].container_port"),
    ("CreatePod", pb.CreatePodRequest(parent="shop", pod_id="p", pod=pb.Pod()),
     "INVALID_ARGUMENT", "parent"),
    ("CreateService", pb.CreateServiceRequest(parent="namespaces/shop", service_id="s",
                                              service=pb.Service(spec=pb.ServiceSpec(ports=[
                                                  pb.ServicePort(port=80, target_port=pb.IntOrString(name="Not_A_Name"))]))),
     "INVALID_ARGUMENT", "service.spec.ports[0].target_port"),
    ("CreateEndpointSlice", pb.CreateEndpointSliceRequest(
        parent="namespaces/shop", endpoint_slice_id="e", endpoint_slice=pb.EndpointSlice(
            endpoints=[pb.Endpoint(addresses=["10.1.0.1"])] * 1001)),
     "INVALID_ARGUMENT", "endpoint_slice.endpoints"),
    ("CreateNetworkPolicy", pb.CreateNetworkPolicyRequest(
        parent="namespaces/shop", network_policy_id="np", network_policy=pb.NetworkPolicy(
            spec=pb.NetworkPolicySpec(ingress=[pb.NetworkPolicyIngressRule(**{"from": [
                pb.NetworkPolicyPeer(ip_block=pb.IPBlock(cidr="10.0.0.0/8",
                                                         **{"except": ["11.0.0.0/16"]}))]})]))),
     "INVALID_ARGUMENT", "network_policy.spec.ingress[0].from[0].ip_block.except[0]"),
    ("ListPods", pb.ListPodsRequest(page_size=-1), "INVALID_ARGUMENT", "page_size"),
    ("ListPods", pb.ListPodsRequest(page_token="garbage"), "INVALID_ARGUMENT", "page_token"),
    ("UpdateVpc", pb.UpdateVpcRequest(vpc=pb.Vpc(name="vpcs/nope", spec=pb.VpcSpec(
        vni=7, gateway_ip="10.0.0.1"))), "NOT_FOUND", "vpcs/nope"),
]


@pytest.mark.parametrize("rpc,req,status,text", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_request_names_the_field_and_changes_nothing(anode, rpc, req, status, text):
    before = snapshot(anode)
    code, msg = code_of(getattr(anode.api, rpc), req)
    assert code == getattr(grpc.StatusCode, status), msg
    assert text in msg, msg
    assert snapshot(anode) == before


def test_garbage_and_oversized_requests(anode):
    before = snapshot(anode)
    raw = anode.chan.unary_unary("/opi_api.network.k8s.v1alpha1.K8sNetworkService/CreateVpc")
    code, msg = code_of(raw, b"\xff\xff\xff\xff\x0f")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "CreateVpcRequest" in msg
    code, _ = code_of(anode.chan.unary_unary("/opi_api.network.k8s.v1alpha1.K8sNetworkService/Nope"),
                      b"")
    assert code == grpc.StatusCode.UNIMPLEMENTED
    # Over api.max_message_kb's default of 32 MiB.
    big = pb.CreateNamespaceRequest(namespace_id="big", namespace=pb.Namespace(
        metadata=pb.ObjectMeta(uid="x" * (33 << 20))))
    code, _ = code_of(anode.api.CreateNamespace, big)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Bytes that are not HTTP/2 at all, straight onto the socket.
    for junk in (os.urandom(4096), b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + os.urandom(512)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(anode.sock)
        s.sendall(junk)
        s.close()
    assert snapshot(anode) == before
    anode.ping("pa", kt.PODS["pb"][0], count=2)


def test_list_pages_in_name_order(anode):
    a = anode.api
    names = [f"ns-{i:02d}" for i in range(25)]
    for nm in reversed(names):
        a.CreateNamespace(pb.CreateNamespaceRequest(namespace_id=nm, namespace=pb.Namespace()))
    try:
        got, token, pages = [], "", 0
        while True:
            r = a.ListNamespaces(pb.ListNamespacesRequest(page_size=10, page_token=token))
            got += [x.metadata.name for x in r.namespaces]
            pages += 1
            token = r.next_page_token
            if not token:
                break
        assert got == names and pages == 3
        for ns in ("ns-01", "ns-02"):
            a.CreatePod(pb.CreatePodRequest(parent=f"namespaces/{ns}", pod_id="p",
                                            pod=pb.Pod()))
        assert len(a.ListPods(pb.ListPodsRequest(parent="namespaces/-")).pods) == 2
        only = a.ListPods(pb.ListPodsRequest(parent="namespaces/ns-02")).pods
        assert [p.name for p in only] == ["namespaces/ns-02/pods/p"]
    finally:
        for ns in ("ns-01", "ns-02"):
            a.DeletePod(pb.DeletePodRequest(name=f"namespaces/{ns}/pods/p", allow_missing=True))
        for nm in names:
            a.DeleteNamespace(pb.DeleteNamespaceRequest(name=f"namespaces/{nm}"))


def test_stats_match_telemetry(anode):
    s = anode.api.GetStats(pb.GetStatsRequest())
    tel = anode.tel.drops()
    assert {c.name for c in s.drops} == set(tel)
    assert [p.name for p in s.ports] == ["uplink0", "pod-pa", "pod-pb", "pod-pc"]
    assert s.workers == anode.workers


def test_restart_then_reapply_restores_service(anode):
    n = anode
    n.api.CreateNetdev(netdev())
    n.ping("pc", kt.RPOD_IP, count=2)
    n.chan.close()
    assert n.restart() == 0
    n.wait_neighbor()
    n.chan = kdpu_api.channel(n.sock)
    n.api = API.stub(n.chan)
    # API state is not persistent: the netdev is gone until the agent re-applies it.
    assert " 0 received" in n.ping("pc", kt.RPOD_IP, count=1, check=False)
    n.api.CreateNetdev(netdev())
    n.ping("pc", kt.RPOD_IP, count=2)
    n.ping("pa", kt.RPOD_IP, count=2)
    n.api.DeleteNetdev(pb.DeleteNetdevRequest(name="netdevs/pod-pc"))


# ---------------------------------------------------------------- mutual TLS

def make_pki(d):
    def ossl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=d)

    for ca in ("ca", "rogue"):
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
             "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
    for name, ca, ext in (("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                          ("client", "ca", "extendedKeyUsage=clientAuth"),
                          ("intruder", "rogue", "extendedKeyUsage=clientAuth")):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
             f"{name}.key", "-out", f"{name}.csr")
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")
    return {k: open(os.path.join(d, k), "rb").read() for k in os.listdir(d)}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_tcp_on_non_loopback_needs_mtls():
    n = kt.Node(workers=1, build_dir=BUILD_DIR, api_conf=f'listen = "0.0.0.0:{free_port()}";')
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(n.config_text())
        f.flush()
        r = subprocess.run([os.path.join(BUILD_DIR, "daemon", "kdpu-dataplane"), "-c", f.name],
                           capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "api.listen" in r.stderr and "mutual TLS" in r.stderr, r.stderr


def test_mtls_refuses_clients_without_a_trusted_certificate():
    d = tempfile.mkdtemp(prefix="kdpu-pki-")
    pki = make_pki(d)
    port = free_port()
    n = kt.Node(workers=1, build_dir=BUILD_DIR, api_conf=(
        f'listen = "0.0.0.0:{port}"; tls_cert = "{d}/server.crt"; tls_key = "{d}/server.key"; '
        f'tls_client_ca = "{d}/ca.crt";'))
    try:
        n.start()
        target = f"127.0.0.1:{port}"
        good = grpc.secure_channel(target, grpc.ssl_channel_credentials(
            pki["ca.crt"], pki["client.key"], pki["client.crt"]))
        assert len(API.stub(good).ListVpcs(pb.ListVpcsRequest(), timeout=10).vpcs) == 1
        for creds in (grpc.ssl_channel_credentials(pki["ca.crt"]),
                      grpc.ssl_channel_credentials(pki["ca.crt"], pki["intruder.key"],
                                                   pki["intruder.crt"])):
            ch = grpc.secure_channel(target, creds)
            code, _ = code_of(lambda: API.stub(ch).ListVpcs(pb.ListVpcsRequest(), timeout=10))
            assert code == grpc.StatusCode.UNAVAILABLE
        plain = grpc.insecure_channel(target)
        code, _ = code_of(lambda: API.stub(plain).ListVpcs(pb.ListVpcsRequest(), timeout=10))
        assert code == grpc.StatusCode.UNAVAILABLE
        ctl = os.path.join(BUILD_DIR, "cli", "kdpuctl")
        r = subprocess.run([ctl, "--server", target, "--tls-ca", f"{d}/ca.crt", "--tls-cert",
                            f"{d}/client.crt", "--tls-key", f"{d}/client.key", "get", "vpcs"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "default" in r.stdout, r.stderr
        r = subprocess.run([ctl, "--server", target, "--tls-ca", f"{d}/ca.crt", "--timeout", "5",
                            "get", "vpcs"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "Unavailable" in r.stderr, r.stderr
    finally:
        subprocess.run(["rm", "-rf", d], check=False)
        close_checked(n)


def op(method, req):
    return pb.BatchOperation(method=method, request=req.SerializeToString())


def test_batch_is_one_transaction(anode):
    """A vNIC, a Service and its slice in one Batch: traffic reaches the pod through
    the Service; a batch with one bad operation changes nothing and names it."""
    n, a = anode, anode.api
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netprobe.py")
    vip = "10.96.0.77"
    svc = pb.Service(name="namespaces/default/services/tx", metadata=pb.ObjectMeta(
        name="tx", namespace="default"), spec=pb.ServiceSpec(cluster_ip=vip, ports=[
            pb.ServicePort(name="http", port=80, protocol=pb.PROTOCOL_TCP,
                           target_port=pb.IntOrString(number=8080))]))
    sl = pb.EndpointSlice(name="namespaces/default/endpointslices/tx-1", metadata=pb.ObjectMeta(
        name="tx-1", namespace="default", labels={"kubernetes.io/service-name": "tx"}),
        address_type="IPv4", endpoints=[pb.Endpoint(addresses=[PC_IP], node_name="node-a")],
        ports=[pb.EndpointPort(name="http", protocol=pb.PROTOCOL_TCP, port=8080)])
    server = subprocess.Popen(["ip", "netns", "exec", n.ns("pc"), kt.PYTHON, probe, "serve",
                               "8080", "", "pc"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        gen0 = a.GetStats(pb.GetStatsRequest()).table_generation
        res = a.Batch(pb.BatchRequest(operations=[
            op("CreateNetdev", netdev()),
            op("UpdateService", pb.UpdateServiceRequest(service=svc, allow_missing=True)),
            op("/opi_api.network.k8s.v1alpha1.K8sNetworkService/UpdateEndpointSlice",
               pb.UpdateEndpointSliceRequest(endpoint_slice=sl, allow_missing=True))]))
        assert [(r.outcome, r.generation) for r in res.results] == [(pb.BATCH_OUTCOME_CREATED, 1)] * 3
        # One publication of the routes for the three objects.
        assert a.GetStats(pb.GetStatsRequest()).table_generation == gen0 + 1
        out = json.loads(n.nsx("pa", kt.PYTHON, probe, "who", vip, "tcp", "80", "3"))
        assert out.get("pc") == 3, out
        before = snapshot(n)
        # The delete comes first and the bad port last: neither is applied.
        bad = pb.Service()
        bad.CopyFrom(svc)
        bad.spec.ports[0].port = 70000
        code, msg = code_of(a.Batch, pb.BatchRequest(operations=[
            op("DeleteEndpointSlice", pb.DeleteEndpointSliceRequest(name=sl.name)),
            op("DeleteNetdev", pb.DeleteNetdevRequest(name="netdevs/pod-pc")),
            op("UpdateService", pb.UpdateServiceRequest(service=bad))]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, msg
        assert msg.startswith("operations[2] (UpdateService): service.spec.ports[0].port"), msg
        assert snapshot(n) == before
        out = json.loads(n.nsx("pa", kt.PYTHON, probe, "who", vip, "tcp", "80", "2"))
        assert out.get("pc") == 2, out
        code, msg = code_of(a.Batch, pb.BatchRequest(operations=[
            op("GetService", pb.GetServiceRequest(name=svc.name))]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "operations[0].method" in msg, msg
        code, msg = code_of(a.Batch, pb.BatchRequest(operations=[
            pb.BatchOperation(method="CreateService", request=b"\xff\xff")]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "operations[0].request" in msg, msg
        # Deleting twice in one batch: the second finds nothing, and says so.
        res = a.Batch(pb.BatchRequest(operations=[
            op("DeleteEndpointSlice", pb.DeleteEndpointSliceRequest(name=sl.name)),
            op("DeleteService", pb.DeleteServiceRequest(name=svc.name)),
            op("DeleteService", pb.DeleteServiceRequest(name=svc.name, allow_missing=True)),
            op("DeleteNetdev", pb.DeleteNetdevRequest(name="netdevs/pod-pc"))]))
        assert [r.outcome for r in res.results] == [
            pb.BATCH_OUTCOME_DELETED, pb.BATCH_OUTCOME_DELETED, pb.BATCH_OUTCOME_ABSENT,
            pb.BATCH_OUTCOME_DELETED]
        assert len(a.ListServiceFrontends(pb.ListServiceFrontendsRequest(service=svc.name)).frontends) == 0
    finally:
        server.kill()
        server.wait()
        for req in (pb.DeleteEndpointSliceRequest(name=sl.name, allow_missing=True),):
            a.DeleteEndpointSlice(req)
        a.DeleteService(pb.DeleteServiceRequest(name=svc.name, allow_missing=True))
        a.DeleteNetdev(pb.DeleteNetdevRequest(name="netdevs/pod-pc", allow_missing=True))


def test_concurrent_calls_coalesce(anode):
    """Many calls in flight at once are staged and published together; when the
    joint publication fails (two Services claim one address), each is answered
    on its own, as if it had come alone."""
    a = anode.api
    n = 300

    def svc(i, ip):
        return pb.CreateServiceRequest(parent="namespaces/default", service_id=f"co{i}",
                                       service=pb.Service(spec=pb.ServiceSpec(
                                           cluster_ip=ip, ports=[pb.ServicePort(
                                               port=80, protocol=pb.PROTOCOL_TCP)])))
    before = a.GetStats(pb.GetStatsRequest())
    reqs = [svc(i, f"10.97.{i // 256}.{i % 256}") for i in range(n)]
    reqs += [svc(n, "10.97.0.5"), svc(n + 1, "10.97.0.6")]  # each claims another's address
    futs = [a.CreateService.future(r, timeout=60) for r in reqs]
    ok, refused = [], []
    for i, f in enumerate(futs):
        try:
            f.result()
            ok.append(i)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e
            assert "is claimed by both service" in e.details(), e.details()
            refused.append(i)
    try:
        after = a.GetStats(pb.GetStatsRequest())
        calls = after.api_staged_calls - before.api_staged_calls
        pubs = after.api_publications - before.api_publications
        print(f"{calls} calls staged, {pubs} publications")
        # Of each pair, the one that came first holds the address.
        assert len(refused) == 2 and set(ok) | set(refused) == set(range(n + 2)), refused
        assert {5, n} & set(ok) and {6, n + 1} & set(ok)
        assert calls == n + 2 and pubs < calls
        fes = a.ListServiceFrontends(pb.ListServiceFrontendsRequest()).frontends
        assert len([f for f in fes if f.service.split("/")[-1].startswith("co")]) == n
    finally:
        a.Batch(pb.BatchRequest(operations=[
            op("DeleteService", pb.DeleteServiceRequest(
                name=f"namespaces/default/services/co{i}", allow_missing=True))
            for i in range(n + 2)]))

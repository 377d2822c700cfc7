# SPDX-License-Identifier: Apache-2.0
"""The incremental Service compiler through the real daemon, against the same
objects given at once to a fresh one.

Seeded random sequences of creates, updates and deletes of Services and
EndpointSlices go to one daemon through kdpuctl, one to three objects per
call (each call one Batch): Services gain and lose ports and change their
traffic policies, slices move between Services and change endpoints and
conditions. At checkpoints a fresh daemon gets only the final objects, in one
call, and both must list the same frontends (ListServiceFrontends: keys,
endpoints with their conditions, the pools they are in, Maglev sizes).
"""
import json
import os
import random
import subprocess

from conftest import BUILD_DIR, running

KDPUCTL = os.path.join(BUILD_DIR, "cli", "kdpuctl")
N_SVC, N_SLICE = 5, 8
ADDRS = [f"10.244.{n}.{h}" for n in (1, 2) for h in range(10, 16)]


def ctl(node, *args, stdin=None):
    r = subprocess.run([KDPUCTL, "-s", node.sock, *args], input=stdin, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"kdpuctl {' '.join(args)}: {r.stderr}"
    return r.stdout


def service(rng, i):
    ports = [p for p in ({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                         {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53})
             if rng.random() < 0.7] or [{"name": "http", "port": 80, "protocol": "TCP",
                                         "targetPort": 8080}]
    spec = {"type": "ClusterIP", "clusterIP": f"10.96.7.{i + 1}", "ports": ports,
            "internalTrafficPolicy": rng.choice(["Cluster", "Local"])}
    if rng.random() < 0.3:
        spec["sessionAffinity"] = "ClientIP"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"s{i}", "namespace": "default"}, "spec": spec}


def endpoint_slice(rng, i):
    eps = []
    for a in rng.sample(ADDRS, rng.randrange(0, 5)):
        eps.append({"addresses": [a], "nodeName": "node-a" if ".1." in a else "node-b",
                    "conditions": {"ready": rng.random() < 0.8, "serving": rng.random() < 0.9,
                                   "terminating": rng.random() < 0.2}})
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"e{i}", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": f"s{rng.randrange(N_SVC)}"}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "http", "protocol": "TCP", "port": 8080},
                      {"name": "dns", "protocol": "UDP", "port": 53}]}


def frontends(node):
    """Everything ListServiceFrontends says but the history of the last update."""
    out = json.loads(ctl(node, "frontends", "-o", "json")).get("frontends", [])
    for f in out:
        f.pop("maglevMoved", None)
        f.pop("maglevMovedKept", None)
    return sorted(out, key=lambda f: (f["service"], f["ip"], f.get("port", 0),
                                      f.get("protocol", "")))


def churn(node, rng, steps, state):
    for _ in range(steps):
        if rng.random() < 0.15 and state:
            kind, name = rng.choice(sorted(state))
            ctl(node, "delete", kind, name, "-n", "default")
            del state[(kind, name)]
            continue
        objs = []
        for _ in range(rng.randrange(1, 4)):
            if rng.random() < 0.4:
                o = service(rng, rng.randrange(N_SVC))
                state[("service", o["metadata"]["name"])] = o
            else:
                o = endpoint_slice(rng, rng.randrange(N_SLICE))
                state[("endpointslice", o["metadata"]["name"])] = o
            objs.append(o)
        ctl(node, "apply", "-f", "-", stdin="\n---\n".join(json.dumps(o) for o in objs))


def test_random_service_changes_match_a_fresh_daemon():
    rng = random.Random(17)
    state = {}
    with running(workers=1) as a:
        for checkpoint in range(3):
            churn(a, rng, 40, state)
            live = frontends(a)
            assert live or not any(k == "service" for k, _ in state), state
            with running(workers=1) as b:
                if state:
                    ctl(b, "apply", "-f", "-",
                        stdin="\n---\n".join(json.dumps(o) for o in state.values()))
                assert frontends(b) == live, f"checkpoint {checkpoint}"

# SPDX-License-Identifier: Apache-2.0
"""A small model of Kubernetes NetworkPolicy reachability, written from the API
reference and independently of kdpu's compiler, for the truth-table test.

Pods are dicts: {"name", "ns", "labels", "ip", "ports": {name: (proto, number)},
"local": bool}. Namespaces: {name: labels}. Policies are Kubernetes
NetworkPolicy objects as dicts (metadata/spec), the way a manifest holds them.
Only pods on this node ("local") are enforced here: the remote node is a plain
kernel that enforces nothing.
"""
import ipaddress


def selector_matches(sel, labels):
    """A LabelSelector; None (absent) matches everything, as does {}."""
    if sel is None:
        return True
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        op, key, values = e["operator"], e["key"], e.get("values") or []
        has = key in labels
        if op == "In" and not (has and labels[key] in values):
            return False
        if op == "NotIn" and has and labels[key] in values:
            return False
        if op == "Exists" and not has:
            return False
        if op == "DoesNotExist" and has:
            return False
    return True


def policy_types(spec):
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress"} | ({"Egress"} if spec.get("egress") else set())


def peer_matches(peer, policy_ns, other, namespaces):
    if "ipBlock" in peer:
        ip = ipaddress.ip_address(other["ip"])
        blk = peer["ipBlock"]
        if ip not in ipaddress.ip_network(blk["cidr"], strict=False):
            return False
        return not any(ip in ipaddress.ip_network(x, strict=False) for x in blk.get("except", []))
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], namespaces[other["ns"]]):
            return False
    elif other["ns"] != policy_ns:
        return False
    return selector_matches(peer.get("podSelector"), other["labels"])


def port_matches(ports, proto, number, target):
    """target: the pod whose named ports count (the one receiving the traffic)."""
    if not ports:
        return True
    for p in ports:
        pproto = p.get("protocol", "TCP")
        if pproto != proto:
            continue
        port = p.get("port")
        if port is None:
            return True
        if isinstance(port, int):
            if port <= number <= p.get("endPort", port):
                return True
        elif target is not None and target["ports"].get(port) == (proto, number):
            return True
    return False


def direction_allows(pod, direction, other, proto, number, policies, namespaces):
    """Whether pod's policies let a connection with `other` through in `direction`."""
    selecting = [p for p in policies
                 if p["metadata"].get("namespace", "default") == pod["ns"]
                 and selector_matches(p["spec"].get("podSelector"), pod["labels"])
                 and direction in policy_types(p["spec"])]
    if not selecting:
        return True  # not isolated
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for p in selecting:
        ns = p["metadata"].get("namespace", "default")
        for rule in p["spec"].get(key) or []:
            peers = rule.get(peers_key) or []
            if peers and not any(peer_matches(pe, ns, other, namespaces) for pe in peers):
                continue
            target = pod if direction == "Ingress" else other
            if port_matches(rule.get("ports"), proto, number, target):
                return True
    return False


def reachable(src, dst, proto, number, policies, namespaces):
    if src["local"] and not direction_allows(src, "Egress", dst, proto, number, policies,
                                             namespaces):
        return False
    if dst["local"] and not direction_allows(dst, "Ingress", src, proto, number, policies,
                                             namespaces):
        return False
    return True

# SPDX-License-Identifier: Apache-2.0
"""kube-proxy nftables mode as the peer of scripts/bench_control.py.

Generates the transactions that kube-proxy's nftables proxier (Kubernetes
1.31+, pkg/proxy/nftables) hands to `nft -f` for N ClusterIP Services, each
with one TCP port 80 -> targetPort 8080 and E endpoints, and times the kernel
taking them inside a throwaway network namespace, so the host is untouched:

  load    the first (full) sync in one transaction: table, base chains, the
          cluster-ips set, the service-ips verdict map with an element per
          Service port, a service-<HASH>-ns/name/tcp/p80 chain per Service
          (masquerade rule, numgen random mod E vmap) and an
          endpoint-<HASH>-...__ip/port chain per endpoint (hairpin mark, DNAT).
  update  the partial sync after one endpoint of one Service is replaced: that
          Service's chain and endpoint chains are re-added, flushed and
          rewritten (so the new endpoint chain appears) and the stale one is
          flushed. kube-proxy deletes stale chains in a later transaction
          (kernels < 6.2 keep them referenced briefly); here the delete rides
          in the same one, so one nft run carries the whole change.

Each transaction is one `ip netns exec NS nft -f FILE` process, as knftables
runs one nft per transaction, so the time includes nft parsing the file and
fetching the table from the kernel, which kube-proxy pays too (that fetch is
most of an update at 10k Services; each anonymous numgen vmap bound in a big
transaction makes the kernel walk the whole transaction, so the load grows
quadratically). NodePorts, LoadBalancers, affinity and the reject maps for
Services without endpoints are left out: these Services would not use them.

  /usr/bin/python3 scripts/bench_nft.py --services 10000 --endpoints 10 --json
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TABLE = "ip kube-proxy"
MARK = "0x004000"            # kube-proxy's default --masquerade-bit 14
SERVICE_CIDR = "10.96.0.0/12"
POD_CIDR = "10.128.0.0/9"    # what the local-traffic detector tests against
NAMESPACE = "bench"
BASE_CHAINS = 9              # chains that setup() creates, for the final check


def svc_ip(i):
    j = i + 256
    return f"10.{96 + j // 65536}.{j // 256 % 256}.{j % 256}"


def ep_ip(m):
    return f"10.{128 + m // 65536}.{m // 256 % 256}.{m % 256}"


def _hashed(prefix, name):
    # kube-proxy's hashAndTruncate: the hash keeps near-identical names distinct.
    h = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()[:8]
    return f"{prefix}{h}-{name}"


def svc_chain(i):
    return _hashed("service-", f"{NAMESPACE}/svc-{i}/tcp/p80")


def ep_chain(i, m):
    return _hashed("endpoint-", f"{NAMESPACE}/svc-{i}/tcp/p80__{ep_ip(m)}/8080")


def setup():
    """The proxier's setupNFTables() part of a full sync, for these Services."""
    t = TABLE
    out = [f'add table {t} {{ comment "rules for kube-proxy" ; }}']
    # Hooked chains take their type from the name. The filter ones come after DNAT (forward,
    # output past nat-output's -100): a ClusterIP still seen there matched no Service port.
    for name, hook in (("filter-forward", "forward -110"), ("filter-output-post-dnat", "output -90"),
                       ("nat-prerouting", "prerouting -100"), ("nat-output", "output -100"),
                       ("nat-postrouting", "postrouting 100"), ("services", ""), ("masquerading", ""),
                       ("mark-for-masquerade", ""), ("cluster-ips-check", "")):
        h, _, prio = hook.partition(" ")
        spec = f" {{ type {name.split('-')[0]} hook {h} priority {prio} ; }}" if h else ""
        out += [f"add chain {t} {name}{spec}", f"flush chain {t} {name}"]
    out += [
        f"add rule {t} filter-forward ct state new jump cluster-ips-check",
        f"add rule {t} filter-output-post-dnat ct state new jump cluster-ips-check",
        f"add rule {t} nat-output jump services",
        f"add rule {t} nat-prerouting jump services",
        f"add rule {t} nat-postrouting jump masquerading",
        f"add rule {t} mark-for-masquerade mark set mark or {MARK}",
        f"add rule {t} masquerading mark and {MARK} == 0 return",
        f"add rule {t} masquerading mark set mark xor {MARK}",
        f"add rule {t} masquerading masquerade fully-random",
        f'add set {t} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}',
        f"add rule {t} cluster-ips-check ip daddr @cluster-ips reject",
        f"add rule {t} cluster-ips-check ip daddr {{ {SERVICE_CIDR} }} drop",
        f"add map {t} service-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; "
        f'comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }}',
        f"add map {t} service-nodeports {{ type inet_proto . inet_service : verdict ; "
        f'comment "NodePort traffic" ; }}',
        f"add rule {t} services ip daddr . meta l4proto . th dport vmap @service-ips",
        f"add rule {t} services fib daddr type local ip daddr != 127.0.0.0/8 "
        f"meta l4proto . th dport vmap @service-nodeports",
    ]
    # A full sync rebuilds every set and map from scratch.
    return out + [f"flush set {t} cluster-ips", f"flush map {t} service-ips",
                  f"flush map {t} service-nodeports"]


def service(i, eps, elements=True):
    """One Service's part of a sync: ensureChain (add + flush) for its chains,
    its map elements (a partial sync skips unchanged ones), then the rules."""
    t, sc, ip = TABLE, svc_chain(i), svc_ip(i)
    ecs = [(ep_chain(i, m), ep_ip(m)) for m in eps]
    out = []
    for c in [c for c, _ in ecs] + [sc]:
        out += [f"add chain {t} {c}", f"flush chain {t} {c}"]
    if elements:
        out += [f"add element {t} cluster-ips {{ {ip} }}",
                f"add element {t} service-ips {{ {ip} . tcp . 80 : goto {sc} }}"]
    vmap = ", ".join(f"{k} : goto {c}" for k, (c, _) in enumerate(ecs))
    out += [f"add rule {t} {sc} ip daddr {ip} tcp dport 80 ip saddr != {POD_CIDR} "
            f"jump mark-for-masquerade",
            f"add rule {t} {sc} numgen random mod {len(ecs)} vmap {{ {vmap} }}"]
    for c, eip in ecs:
        out += [f"add rule {t} {c} ip saddr {eip} jump mark-for-masquerade",
                f"add rule {t} {c} meta l4proto tcp dnat to {eip}:8080"]
    return out


def endpoints(n, e):
    return {i: [i * e + k for k in range(e)] for i in range(n)}


def ruleset(n, e):
    """The first sync's transaction for n Services of e endpoints, as nft -f text."""
    out = setup()
    for i, eps in endpoints(n, e).items():
        out += service(i, eps)
    return "\n".join(out) + "\n"


def update(state, n, e, u):
    """The partial sync after Service u*7919 % n has its endpoint u % e replaced
    by a new pod; mutates state (Service -> endpoint indices)."""
    i = u * 7919 % n   # spread the changes over the table
    old, new = state[i][u % e], n * e + u
    state[i][u % e] = new
    stale = ep_chain(i, old)
    out = service(i, state[i], elements=False)
    return "\n".join(out + [f"flush chain {TABLE} {stale}", f"delete chain {TABLE} {stale}"]) + "\n"


def count(text):
    """Rules and map/set elements written (what a packet may be matched against)."""
    return sum(1 for line in text.splitlines() if line.startswith(("add rule ", "add element ")))


def check_env():
    for cmd, pkg in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(cmd) is None:
            raise RuntimeError(f"{cmd} not found (apt-get install -y {pkg})")
    if os.geteuid() != 0:
        raise RuntimeError("must run as root (it creates a network namespace and loads nftables)")


def run(ns, *args):
    """One nft process in ns: (seconds, max RSS in KiB, stdout). wait4 gives this
    child's own rusage, unlike RUSAGE_CHILDREN's maximum over all children."""
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
        t0 = time.perf_counter()
        p = subprocess.Popen(["ip", "netns", "exec", ns, "nft", *args], stdout=so, stderr=se)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode:
            se.seek(0)
            raise RuntimeError(f"nft {' '.join(args)} failed: {se.read().decode()[-2000:]}")
        so.seek(0)
        return dt, ru.ru_maxrss, so.read().decode()


def measure(n, e, updates=20):
    """Load n Services x e endpoints into a fresh netns, then apply updates
    single-endpoint changes; returns the result dict (see --json)."""
    check_env()
    if n < 1 or e < 1 or updates < 1:
        raise RuntimeError("--services, --endpoints and --updates must be at least 1")
    t0 = time.perf_counter()
    text = ruleset(n, e)
    gen_s = time.perf_counter() - t0
    ns = f"kdpu-nft-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        with tempfile.TemporaryDirectory(prefix="kdpu-nft-") as tmp:
            def put(name, body):
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(body)
                return f.name
            # The fixed cost of a process: ip netns exec, nft start, empty batch.
            base_s = statistics.median(run(ns, "-f", put("empty.nft", ""))[0] for _ in range(5))
            load_s, rss_kb, _ = run(ns, "-f", put("full.nft", text))
            state, upd, upd_rss = endpoints(n, e), [], 0
            for u in range(updates):
                dt, kb, _ = run(ns, "-f", put(f"update{u}.nft", update(state, n, e, u)))
                upd.append(dt)
                upd_rss = max(upd_rss, kb)
            # kube-proxy lists the chains on every sync to find stale ones; that
            # listing also proves the updates left exactly the chains they should.
            list_s, _, out = run(ns, "--json", "list", "chains", "ip")
            chains = sum(1 for o in json.loads(out)["nftables"]
                         if o.get("chain", {}).get("table") == "kube-proxy")
            if chains != BASE_CHAINS + n * (e + 1):
                raise RuntimeError(f"{chains} chains after the updates, not {BASE_CHAINS + n * (e + 1)}")
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    ms = lambda s: round(s * 1e3, 3)  # noqa: E731
    return {"peer": "nftables", "services": n, "endpoints": e, "load_s": round(load_s, 4),
            "update_ms_median": ms(statistics.median(upd)), "update_ms_max": ms(max(upd)),
            "rules": count(text), "generate_s": round(gen_s, 4), "chains": chains,
            "updates": updates, "nft_exec_ms": ms(base_s), "list_chains_ms": ms(list_s),
            "load_maxrss_mb": round(rss_kb / 1024, 1), "update_maxrss_mb": round(upd_rss / 1024, 1),
            "nft": subprocess.run(["nft", "--version"], capture_output=True, text=True).stdout.strip(),
            "kernel": os.uname().release}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--services", type=int, default=1000, help="N ClusterIP Services")
    ap.add_argument("--endpoints", type=int, default=10, help="E endpoints per Service")
    ap.add_argument("--updates", type=int, default=20, help="single-endpoint updates to time")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument("--dump", metavar="FILE", help="write the full sync to FILE and exit (no root needed)")
    a = ap.parse_args()
    if a.dump:
        with open(a.dump, "w") as f:
            f.write(ruleset(a.services, a.endpoints))
        return
    try:
        r = measure(a.services, a.endpoints, a.updates)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        sys.exit(f"bench_nft: {err}")
    if a.json:
        print(json.dumps(r), flush=True)
    else:
        print(f"nftables: {r['services']} Services x {r['endpoints']} endpoints "
              f"({r['rules']} rules/elements, {r['chains']} chains): load {r['load_s']:.3f} s, "
              f"update median {r['update_ms_median']:.1f} ms max {r['update_ms_max']:.1f} ms "
              f"(nft exec alone {r['nft_exec_ms']:.1f} ms; generated in {r['generate_s']:.2f} s; "
              f"nft max RSS {r['load_maxrss_mb']} MB)")


if __name__ == "__main__":
    main()

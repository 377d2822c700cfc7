# SPDX-License-Identifier: Apache-2.0
"""Fixtures: the real kdpu-dataplane on net_tap ports in network namespaces.

KDPU_BUILD_DIR picks the build (default: build). KDPU_WORKERS restricts the
worker counts the node fixture is parametrized over (default "1,2").
"""
import binascii
import contextlib
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import kdpu_topo as kt  # noqa: E402

BUILD_DIR = os.path.join(ROOT, os.environ.get("KDPU_BUILD_DIR", "build"))
WORKERS = [int(w) for w in os.environ.get("KDPU_WORKERS", "1,2").split(",")]


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root for hugepages and network namespaces")
        for item in items:
            item.add_marker(skip)


def close_checked(n):
    """Stop the daemon and remove the topology; the daemon must have exited 0
    and its log must hold no sanitizer report."""
    rc = n.stop()
    log = n.log()
    n.close()
    assert rc == 0, f"daemon exited {rc}:\n{log}"
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert bad not in log, log


@contextlib.contextmanager
def running(**kwargs):
    """A started node whose remote VTEP is resolved, closed with close_checked()."""
    n = kt.Node(build_dir=BUILD_DIR, **kwargs)
    try:
        n.start()
        n.wait_neighbor()
        yield n
    finally:
        close_checked(n)


@pytest.fixture(scope="module", params=WORKERS, ids=lambda w: f"{w}worker")
def node(request):
    with running(workers=request.param) as n:
        yield n


class Delta:
    """Counter deltas across a block: `with Delta(node) as d: ...; d.drop('x')`."""

    def __init__(self, node):
        self.tel = node.tel

    def __enter__(self):
        self.d0, self.e0 = self.tel.drops(), self.tel.events()
        return self

    def __exit__(self, *exc):
        self.d1, self.e1 = self.tel.drops(), self.tel.events()

    def drop(self, name):
        return self.d1[name] - self.d0[name]

    def event(self, name):
        return self.e1[name] - self.e0[name]

    def drops_changed(self):
        return {k: self.d1[k] - self.d0[k] for k in self.d1 if self.d1[k] != self.d0[k]}


def inject(node, ns, iface, frames):
    """Send raw frames (scapy packets or bytes) out of iface inside namespace ns."""
    hexes = [binascii.hexlify(bytes(f)).decode() for f in frames]
    code = ("import socket,sys,binascii\n"
            "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
            "s.bind((sys.argv[1],0))\n"
            "[s.send(binascii.unhexlify(h)) for h in sys.argv[2:]]\n")
    node.nsx(ns, kt.PYTHON, "-c", code, iface, *hexes)

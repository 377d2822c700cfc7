# SPDX-License-Identifier: Apache-2.0
"""Servers and probes for the firewall tests, run inside pod namespaces.

    netprobe.py serve TCP_PORTS UDP_PORTS [NAME]
        echo servers; prints "ready". With NAME, a "?" is answered with
        "NAME PEER_IP PEER_PORT" instead (which endpoint answered, and whom it saw).
    netprobe.py who IP PROTO PORT N [TIMEOUT]
        N new connections (TCP) or sockets (UDP) one after the other, each
        asking "?"; prints JSON {NAME: count, ..., "peers": [...], "errors": {errno: count}}
    netprobe.py probe TIMEOUT IP/PROTO/PORT ...
        tries every target at once; prints one JSON object {target: true|false}.
        TCP: connect, send a byte, read it back. UDP: a datagram and its echo.
    netprobe.py hold IP PORT [SPORT [ask]]
        one TCP connection (with ask, it first prints "who NAME PEER", a named
        server's answer to "?") that sends a byte every 0.1 s and prints "ok N" per
        echo, "dead" once an echo is 2 s late. On stdin EOF it asks the server
        to close first, then closes.
"""
import json
import select
import socket
import sys
import threading
import time


def answer(data, peer, name):
    if name and data.startswith(b"?"):
        return f"{name} {peer[0]} {peer[1]}".encode()
    return data


def serve(tcp_ports, udp_ports, name=""):
    socks = []
    for p in tcp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", p))
        s.listen(128)
        s.setblocking(False)
        socks.append(("tcp", s))
    for p in udp_ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", p))
        s.setblocking(False)
        socks.append(("udp", s))
    conns = []
    print("ready", flush=True)
    while True:
        rd = [s for _, s in socks] + conns
        r, _, _ = select.select(rd, [], [], 1.0)
        for s in r:
            kind = next((k for k, x in socks if x is s), None)
            try:
                if kind == "tcp":
                    c, _ = s.accept()
                    c.setblocking(False)
                    conns.append(c)
                elif kind == "udp":
                    data, peer = s.recvfrom(2048)
                    s.sendto(answer(data, peer, name), peer)
                else:
                    data = s.recv(2048)
                    if data and b"q" not in data:
                        s.sendall(answer(data, s.getpeername(), name))
                    else:  # the peer left, or asked us to close first
                        conns.remove(s)
                        s.close()
            except OSError:
                if s in conns:
                    conns.remove(s)
                    s.close()


def probe(timeout, targets):
    result = {t: False for t in targets}
    pending = {}
    deadline = time.time() + timeout
    for t in targets:
        ip, proto, port = t.split("/")
        if proto == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((ip, int(port)))
            pending[s] = (t, "connecting")
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.connect((ip, int(port)))
            s.send(b"x")
            pending[s] = (t, "sent")
    while pending and time.time() < deadline:
        wr = [s for s, (_, st) in pending.items() if st == "connecting"]
        rd = [s for s, (_, st) in pending.items() if st == "sent"]
        r, w, _ = select.select(rd, wr, [], max(0.0, deadline - time.time()))
        for s in w:
            t, _ = pending[s]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                del pending[s]
                s.close()
                continue
            s.send(b"x")
            pending[s] = (t, "sent")
        for s in r:
            t, _ = pending.pop(s)
            try:
                result[t] = s.recv(16) == b"x"
            except OSError:
                result[t] = False
            s.close()
    for s in pending:
        s.close()
    print(json.dumps(result), flush=True)


def who(ip, proto, port, n, timeout=2.0):
    out, peers, errors = {}, set(), {}
    for _ in range(n):
        s = socket.socket(socket.AF_INET,
                          socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            s.send(b"?")
            name, peer = s.recv(256).decode().split()[:2]
            out[name] = out.get(name, 0) + 1
            peers.add(peer)
        except OSError as e:
            key = str(e.errno) if e.errno else "timeout"
            errors[key] = errors.get(key, 0) + 1
        finally:
            s.close()
    out["peers"] = sorted(peers)
    out["errors"] = errors
    print(json.dumps(out), flush=True)


def hold(ip, port, sport=0, ask=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sport:
        s.bind(("0.0.0.0", sport))
    s.settimeout(5)
    s.connect((ip, port))
    s.settimeout(2)
    if ask:
        s.send(b"?")
        print("who " + s.recv(256).decode(), flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    n = 0
    while not stop.is_set():
        try:
            s.send(b"x")
            if s.recv(16) != b"x":
                raise OSError("short")
            n += 1
            print(f"ok {n}", flush=True)
        except OSError:
            print("dead", flush=True)
            return
        time.sleep(0.1)
    # The server closes first, so the TIME_WAIT is on its side and the tuple is reusable here.
    try:
        s.send(b"q")
        while s.recv(16):
            pass
    except OSError:
        pass
    s.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve([int(p) for p in sys.argv[2].split(",") if p],
              [int(p) for p in sys.argv[3].split(",") if p],
              sys.argv[4] if len(sys.argv) > 4 else "")
    elif cmd == "who":
        who(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
            float(sys.argv[6]) if len(sys.argv) > 6 else 2.0)
    elif cmd == "probe":
        probe(float(sys.argv[2]), sys.argv[3:])
    elif cmd == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0,
             len(sys.argv) > 5 and sys.argv[5] == "ask")

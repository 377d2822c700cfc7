# SPDX-License-Identifier: Apache-2.0
"""Two-way TCP transfer with integrity checks, run inside network namespaces.

  tcp_xfer.py serve PORT            accept one connection, echo a digest, send data back
  tcp_xfer.py send HOST PORT BYTES  send BYTES, check the server's digest and its data

Each side sends BYTES of deterministic data and checks the SHA-256 of what the
other side sent, so a corrupted or truncated stream in either direction fails.
"""
import hashlib
import socket
import struct
import sys
import time


def data(n, seed):
    out = bytearray()
    block = hashlib.sha256(seed).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            raise EOFError(f"stream ended after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def serve(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print("listening", flush=True)
    ls.settimeout(30)
    s, peer = ls.accept()
    s.settimeout(30)
    n, = struct.unpack("!Q", recv_exact(s, 8))
    got = recv_exact(s, n)
    s.sendall(hashlib.sha256(got).digest())
    s.sendall(data(n, b"server"))
    s.close()
    print(f"served {n} bytes to {peer[0]}", flush=True)


def send(host, port, n):
    deadline = time.time() + 10
    while True:
        try:
            s = socket.create_connection((host, port), timeout=10)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    payload = data(n, b"client")
    start = time.time()
    s.sendall(struct.pack("!Q", n) + payload)
    digest = recv_exact(s, 32)
    back = recv_exact(s, n)
    secs = time.time() - start
    s.close()
    if digest != hashlib.sha256(payload).digest():
        sys.exit("server saw different bytes than we sent")
    if back != data(n, b"server"):
        sys.exit("bytes from the server are corrupted")
    print(f"OK {n} bytes each way in {secs:.2f}s", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))

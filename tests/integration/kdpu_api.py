# SPDX-License-Identifier: Apache-2.0
"""Python stubs for the kdpu API, generated at test time from proto/ with grpc_tools.

    api = load()            # modules: api.pb (k8s_pb2), api.grpc, api.health, api.health_grpc
    stub = api.stub(channel)
"""
import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(ROOT, "proto")
_cache = None


class Api:
    def __init__(self, out):
        sys.path.insert(0, out)
        self.pb = importlib.import_module("k8s_pb2")
        self.grpc = importlib.import_module("k8s_pb2_grpc")
        self.health = importlib.import_module("health_pb2")
        self.health_grpc = importlib.import_module("health_pb2_grpc")

    def stub(self, channel):
        return self.grpc.K8sNetworkServiceStub(channel)

    def health_stub(self, channel):
        return self.health_grpc.HealthStub(channel)


def load():
    global _cache
    if _cache is None:
        out = tempfile.mkdtemp(prefix="kdpu-stubs-")
        atexit.register(shutil.rmtree, out, True)
        gen = [sys.executable, "-m", "grpc_tools.protoc", "-I/usr/include",
               "--python_out=" + out, "--grpc_python_out=" + out]
        subprocess.run(gen + ["-I" + PROTO, "k8s.proto"], check=True)
        # Generated from its own directory, so that it is not a "grpc.health" module
        # hiding inside the grpc package.
        subprocess.run(gen + ["-I" + os.path.join(PROTO, "grpc/health/v1"), "health.proto"],
                       check=True)
        _cache = Api(out)
    return _cache


def channel(sock):
    # Its own subchannels: gRPC otherwise shares one connection between channels to the
    # same address, and a channel opened after a daemon restart could inherit the dead
    # daemon's connection and fail its first call with "Broken pipe".
    return grpc.insecure_channel("unix:" + sock, options=[("grpc.use_local_subchannel_pool", 1)])

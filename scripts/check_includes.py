#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layout rules of docs/architecture.md, checked over the source tree.

Arrows point one way: cli -> proto; daemon -> control -> dataplane -> drivers;
control and daemon may use proto; dataplane and drivers never see gRPC or
protobuf-c. Also: a .c or .h over 800 lines says why near its top
("Over 800 lines:"), and every folder has its README.md.

    scripts/check_includes.py [ROOT]    prints violations, then "layout: N passed, M failed"
"""
import os
import re
import sys

# What each folder's files may include (quoted includes, by first path component).
MAY_INCLUDE = {
    "daemon": {"daemon", "control", "dataplane", "drivers", "proto"},
    "control": {"control", "dataplane", "drivers", "proto"},
    "dataplane": {"dataplane", "drivers"},
    "drivers": {"drivers"},
    "cli": {"cli", "proto"},
    "proto": {"proto"},
    "bench": {"bench", "dataplane", "drivers"},
}
NO_RPC = {"dataplane", "drivers"}          # no <grpc/...> or <protobuf-c/...> either
README = ["daemon", "control", "dataplane", "drivers", "cli", "proto"]
MAX_LINES = 800
REASON = "Over 800 lines:"

QUOTED = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
ANGLED = re.compile(r'^\s*#\s*include\s+<([^>]+)>')


def target_folder(path):
    """The folder an include points into; generated protobuf-c headers are proto's."""
    if path.endswith(".pb-c.h"):
        return "proto"
    return path.split("/", 1)[0] if "/" in path else None


def check_file(root, rel, folder):
    errors = []
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    allowed = MAY_INCLUDE.get(folder)
    for no, line in enumerate(lines, 1):
        m = QUOTED.match(line)
        if m and allowed is not None:
            to = target_folder(m.group(1))
            if to is None:
                errors.append(f"{rel}:{no}: \"{m.group(1)}\" names no folder (write \"{folder}/...\")")
            elif to not in allowed:
                errors.append(f"{rel}:{no}: {folder} may not include {m.group(1)} "
                              f"({folder} may include: {', '.join(sorted(allowed))})")
        m = ANGLED.match(line)
        if m and folder in NO_RPC and m.group(1).startswith(("grpc/", "protobuf-c/")):
            errors.append(f"{rel}:{no}: {folder} may not include <{m.group(1)}> "
                          "(no gRPC or protobuf-c on the packet path)")
    if folder != "tests" and len(lines) > MAX_LINES and \
            not any(REASON in ln for ln in lines[:40]):
        errors.append(f"{rel}:1: {len(lines)} lines, over {MAX_LINES}, "
                      f"without \"{REASON} <why>\" near the top")
    return errors


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    passed = failed = 0
    for folder in sorted(set(MAY_INCLUDE) | {"tests"}):
        top = os.path.join(root, folder)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "build")))
            for name in sorted(filenames):
                if not name.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                errors = check_file(root, rel, folder)
                for e in errors:
                    print(e)
                failed += bool(errors)
                passed += not errors
    for folder in README:
        if not os.path.isdir(os.path.join(root, folder)):
            continue
        path = os.path.join(root, folder, "README.md")
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            passed += 1
        else:
            print(f"{folder}/README.md: missing: each folder says what it owns and may include")
            failed += 1
    print(f"layout: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

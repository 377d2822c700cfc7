# SPDX-License-Identifier: Apache-2.0
"""scripts/check_includes.py against small trees: it must catch what it is for."""
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                      "check_includes.py")
FOLDERS = ["daemon", "control", "dataplane", "drivers", "cli", "proto"]


def run(root):
    r = subprocess.run([sys.executable, SCRIPT, str(root)], capture_output=True, text=True)
    return r.returncode, r.stdout


@pytest.fixture
def tree(tmp_path):
    for d in FOLDERS:
        (tmp_path / d).mkdir()
        (tmp_path / d / "README.md").write_text(f"# {d}/\n")
    (tmp_path / "dataplane" / "a.c").write_text('#include <rte_mbuf.h>\n#include "dataplane/a.h"\n'
                                                '#include "drivers/port.h"\n')
    (tmp_path / "control" / "b.c").write_text('#include "dataplane/a.h"\n#include "k8s.pb-c.h"\n'
                                              '#include "proto/kinds.h"\n')
    (tmp_path / "cli" / "c.c").write_text('#include "proto/kinds.h"\n#include "k8s.pb-c.h"\n')
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "t.c").write_text('#include "daemon/x.h"\n#include "cli/y.h"\n')
    return tmp_path


def test_clean_tree_passes(tree):
    rc, out = run(tree)
    assert rc == 0, out
    assert out.strip().splitlines()[-1] == "layout: 10 passed, 0 failed"


@pytest.mark.parametrize("folder,line", [
    ("dataplane", '#include "control/api.h"'),
    ("dataplane", '#include "k8s.pb-c.h"'),
    ("drivers", "#include <grpc/grpc.h>"),
    ("drivers", '#include "dataplane/tables.h"'),
    ("cli", '#include "control/kinds.h"'),
    ("control", '#include "daemon/publish.h"'),
    ("control", '#include "cli/manifest.h"'),
    ("proto", '#include "control/err.h"'),
    ("control", '#include "err.h"'),
])
def test_backward_include_fails(tree, folder, line):
    (tree / folder / "bad.c").write_text("/* x */\n" + line + "\n")
    rc, out = run(tree)
    assert rc == 1, out
    assert f"{folder}/bad.c:2:" in out, out
    assert out.strip().endswith("1 failed"), out


def test_long_file_needs_a_reason(tree):
    body = "int x;\n" * 900
    (tree / "control" / "long.c").write_text(body)
    rc, out = run(tree)
    assert rc == 1 and "control/long.c:1: 900 lines" in out, out
    (tree / "control" / "long.c").write_text("/*\n * Over 800 lines: one table.\n */\n" + body)
    rc, out = run(tree)
    assert rc == 0, out


def test_folder_without_readme_fails(tree):
    (tree / "drivers" / "README.md").unlink()
    rc, out = run(tree)
    assert rc == 1 and "drivers/README.md: missing" in out, out

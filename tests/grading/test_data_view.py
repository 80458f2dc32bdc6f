"""Graded kernels read the embedded data sets' generated arrays (read-only) instead of generating them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kdlib import data
from kdlib.grading.host import sandbox

pytestmark = pytest.mark.slow

PROBE = """
import json, os, time
from pathlib import Path
t = time.perf_counter()
from kdlib import data
ds = data.load_dataset("mnist1d")
seconds = time.perf_counter() - t
cache = Path(os.environ["KDLIB_CACHE"])
try:
    (cache / "x.npz").write_bytes(b"")
    writable = True
except OSError:
    writable = False
print(json.dumps({"cache": str(cache), "files": sorted(os.listdir(cache)), "writable": writable,
                  "shape": list(ds.x_train.shape), "sum": float(ds.x_train.sum()), "seconds": seconds}))
"""


def test_the_view_holds_only_the_generated_arrays(tmp_path):
    view = sandbox.data_view(tmp_path / "data")
    names = sorted(p.name for p in view.iterdir())
    assert names and all(n.startswith("mnist1d-") and n.endswith(".npz") for n in names), names


def test_a_sandboxed_kernel_loads_mnist1d_from_the_view_and_cannot_write_it(tmp_path):
    sandbox.find_bwrap()
    view = sandbox.data_view(tmp_path / "data")
    limits = sandbox.Limits()
    env = sandbox.kernel_env(limits, {"KDLIB_CACHE": sandbox.DATA_DIR})
    cmd = sandbox.bwrap_command([sys.executable, "-c", PROBE], limits=limits, env=env, data_dir=view)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["cache"] == sandbox.DATA_DIR and got["files"] == sorted(p.name for p in view.iterdir())
    assert not got["writable"], "a kernel must not be able to change the data other kernels read"
    host = data.load_dataset("mnist1d")
    assert got["shape"] == list(host.x_train.shape) and got["sum"] == pytest.approx(float(host.x_train.sum()))
    print(f"mnist1d in the sandbox: {got['seconds']:.2f} s from the view")

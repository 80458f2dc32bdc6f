"""What one fresh sandboxed kernel costs before a student's code does anything.

    python benchmarks/kernel_floor.py [--n 5] [--kinds ipykernel torch tensorflow ...]

Every graded submission gets its own kernel in its own bubblewrap sandbox (nothing is shared
between students), so each pays Python's and ipykernel's start-up and the imports of its setup
cell. This starts n kernels per kind exactly as ``kd grade`` does (SandboxKernelManager, nbclient),
runs one cell with the kind's imports, shuts the kernel down, and prints the mean ± std of the
wall time and of the CPU time of the whole sandbox (bwrap, Python, the kernel's threads), read
from a cgroup-v1 ``cpuacct`` group this process moves itself into (root; without one the CPU
column says n/a), minus this process's own CPU. The first kernel of each kind is left out (it
warms the page cache).

Kinds: ``ipykernel`` (an empty cell), ``numpy``, ``torch`` (numpy + torch), ``tensorflow`` and
``torch+tensorflow``; an assignment's kind is what its setup cell (the first code cell, which
every graded kernel runs) imports.

``--suite-dir DIR`` (a pytest base temp folder after ``make test``, e.g.
/tmp/pytest-of-$USER/pytest-N) also counts the notebooks ``kd grade`` autograded there, by
assignment, and prints the suite's floor: the CPU those kernels need for start-up and setup
imports alone, and that divided by the cores — a lower bound (``kd check`` runs, whose scratch
courses are deleted, and the solutions run top to bottom are not counted). ``--tests SELECTION``
(repeatable; pytest arguments as one string, e.g. ``"tests/library tests/drill"``) runs each
selection serially in the same cpuacct group and adds its CPU — all its processes and kernels —
to the floor: for the tests that grade no notebook, which no kernel count covers.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kdlib.grading.host.sandbox import SandboxKernelManager  # noqa: E402

KINDS = {
    "ipykernel": "pass",
    "numpy": "import numpy",
    "torch": "import numpy, torch",
    "tensorflow": "import numpy, tensorflow",
    "torch+tensorflow": "import numpy, torch, tensorflow",
}


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _cpu_group() -> Path | None:
    """A cpuacct group holding this process (and so every kernel it starts); None if not allowed."""
    group = CPUACCT / f"kd-floor-{os.getpid()}"
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        return None
    return group


def _leave(group: Path | None) -> None:
    """Move back to the root group; the empty group is removed once our last child has gone."""
    if group is None:
        return
    for tid in os.listdir("/proc/self/task"):  # every thread (zmq's too), one by one
        (CPUACCT / "tasks").write_text(tid)
    cleanup = f"for i in $(seq 60); do rmdir {group} 2>/dev/null && exit; sleep 1; done"
    subprocess.Popen(["sh", "-c", cleanup], start_new_session=True)  # noqa: S603, S607


def _group_cpu(group: Path | None) -> float:
    """CPU seconds of everything in the group but this process; nan without a group."""
    if group is None:
        return float("nan")
    return int((group / "cpuacct.usage").read_text()) / 1e9 - time.process_time()


def run_once(code: str, work: Path, group: Path | None) -> tuple[float, float]:
    """(wall s, CPU s of the sandbox) for one kernel that runs ``code`` and stops."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ipc = Path(tempfile.mkdtemp(prefix="k", dir=work))
    km = SandboxKernelManager(kernel_name="python3", ipc_dir=str(ipc), memory_mb=6144)
    client = NotebookClient(nb, km=km, timeout=300, shutdown_kernel="graceful")
    t0, c0 = time.perf_counter(), _group_cpu(group)
    client.execute()
    return time.perf_counter() - t0, _group_cpu(group) - c0


ROOT = Path(__file__).resolve().parents[1]


def kind_of(assignment: str) -> str:
    """The kernel kind of an assignment: what the setup cell of its solution imports."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    tf = re.search(r"^\s*(import tensorflow|import keras|from kdlib\.tf\b|from kdlib import tf\b)", setup, re.M)
    torch = re.search(r"^\s*(import torch|from torch\b|from kdlib\.torch\b|from kdlib import torch\b)", setup, re.M)
    return {(True, True): "torch+tensorflow", (True, False): "tensorflow", (False, True): "torch"}.get(
        (bool(tf), bool(torch)), "numpy"
    )


def suite_counts(folder: Path) -> Counter:
    """Autograded notebooks under a pytest base temp folder, by assignment."""
    return Counter(p.parent.name for p in folder.rglob("autograded/*/*/*.ipynb"))


def tests_cpu(selection: str, group: Path | None) -> tuple[float, float]:
    """(wall s, CPU s) of one serial pytest run of ``selection``, its processes and kernels included."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *shlex.split(selection)]
    t0, c0 = time.perf_counter(), _group_cpu(group)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        raise SystemExit(f"--tests {selection!r} failed:\n{proc.stdout[-2000:]}")
    return time.perf_counter() - t0, _group_cpu(group) - c0


def _stat(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):5.2f} ± {sd:4.2f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5, help="kernels per kind (the first is left out)")
    ap.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=list(KINDS))
    ap.add_argument("--suite-dir", type=Path, help="a pytest base temp folder: count its graded kernels")
    ap.add_argument("--tests", action="append", default=[], help="pytest arguments: CPU of a serial run")
    args = ap.parse_args(argv)
    counts = Counter()
    if args.suite_dir is not None:
        if not args.suite_dir.is_dir():
            ap.error(f"--suite-dir: {args.suite_dir} is not a folder (expected a pytest base temp folder)")
        counts = suite_counts(args.suite_dir)
        if not counts:
            ap.error(f"--suite-dir: no autograded notebooks under {args.suite_dir}")
    if args.n < 2:
        ap.error("--n must be at least 2 (the first kernel of a kind is left out)")
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    print(f"{'kind':<18} {'wall s':>13} {'CPU s':>13}  (n)")
    group = _cpu_group()
    if args.tests and group is None:
        ap.error("--tests: measuring CPU needs a writable cgroup-v1 cpuacct hierarchy (root)")
    mean_cpu: dict[str, float] = {}
    extra: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="kd-floor-") as tmp:
            for kind in args.kinds:
                runs = tqdm(range(args.n), desc=kind, leave=False)
                rows = [run_once(KINDS[kind], Path(tmp), group) for _ in runs][1:]
                mean_cpu[kind] = statistics.mean(r[1] for r in rows)
                wall = _stat([r[0] for r in rows])
                cpu = _stat([r[1] for r in rows]) if group is not None else "n/a"
                print(f"{kind:<18} {wall:>13} {cpu:>13}  ({len(rows)})", flush=True)
        for selection in args.tests:
            wall_s, extra[selection] = tests_cpu(selection, group)
            print(f"tests {selection!r}: {wall_s:.0f} s wall, {extra[selection]:.0f} CPU s (serial)", flush=True)
    finally:
        _leave(group)
    if counts:
        _floor(counts, mean_cpu, extra)


def _floor(counts: Counter, cpu: dict[str, float], extra: dict[str, float]) -> None:
    by_kind = Counter()
    for assignment, n in counts.items():
        by_kind[kind_of(assignment)] += n
    print(f"\nkernels kd grade started in the suite: {sum(counts.values())}")
    total = 0.0
    for kind, n in sorted(by_kind.items()):
        each = cpu.get(kind, float("nan"))
        total += n * each
        print(f"  {kind:<18} {n:4d} x {each:4.2f} s = {n * each:6.0f} CPU s")
    for selection, seconds in extra.items():
        total += seconds
        print(f"  tests {selection!r}: {seconds:6.0f} CPU s")
    cores = os.cpu_count() or 1
    what = "kernel start-up and setup imports" + (" and the tests measured" if extra else "")
    print(f"floor: {total:.0f} CPU s for {what} = {total / cores:.0f} s on {cores} cores")


if __name__ == "__main__":
    main()

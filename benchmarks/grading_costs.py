"""Where a graded submission's time goes: the kernel's cells, the grading process's CPU, the rest.

    python benchmarks/grading_costs.py [--assignments 03_loss_torch 05_loops_torch ...] [--n 5]
                                       [--no-data-view]

For each assignment, a scratch course gets the reference solution and the first n-1 catalogued
mistakes (tests/grading/catalogues, demonstration cells dropped as in the round-trip test), and
``kd grade`` grades them one after another IN THIS PROCESS: the worker function itself
(``grade_one``, no pool), so that ``time.process_time`` reads the grading process's own CPU per
submission (nbgrader's Autograde, judging, the feedback page). The kernel's time comes from
nbclient's execution timestamps in each autograded notebook. Printed per assignment, over the
submissions after the first (which pays one-off imports): mean ± std of the wall time, the host
CPU (and its two parts: nbgrader's Autograde converter, which waits for the kernel, and the
feedback page), the kernel's cell time and its first (setup) cell. ``--no-data-view``: kernels get no
read-only copy of the generated data sets (/kd/data) and generate MNIST-1D themselves, as they
did before kd grade gave them one.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support and the catalogues: the same submissions the tests grade

import nbformat  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

import kdlib.grading.host.grade as grading  # noqa: E402
from kdlib.grading.host import worker  # noqa: E402
from tests.grading import catalogues  # noqa: E402
from tests.support import filled, make_course, read_pair, submit  # noqa: E402

#: nbclient's timestamps of a cell: sent to the kernel, and the kernel's reply
_STAMPS = ("iopub.execute_input", "shell.execute_reply")
DEFAULT = ["03_loss_torch", "04_loss_tf", "05_loops_torch", "06_keras_distiller"]


def _seconds(meta: dict) -> float | None:
    e = meta.get("execution") or {}
    if "iopub.execute_input" not in e or "shell.execute_reply" not in e:
        return None
    start, end = (dt.datetime.fromisoformat(e[k].replace("Z", "+00:00")) for k in _STAMPS)
    return (end - start).total_seconds()


def kernel_seconds(path: Path) -> tuple[float, float]:
    """(all cells, first executed cell) of an autograded notebook, from nbclient's timestamps."""
    nb = nbformat.read(path, as_version=4)
    times = [s for c in nb.cells if c.cell_type == "code" and (s := _seconds(c.metadata)) is not None]
    return sum(times), (times[0] if times else 0.0)


class _PhaseCPU:
    """CPU time of this process inside nbgrader's Autograde and GenerateFeedback converters."""

    def __init__(self) -> None:
        from nbgrader.converters import Autograde, GenerateFeedback

        self.seconds = {"autograde": 0.0, "feedback": 0.0}
        self._real = {}
        for name, cls in (("autograde", Autograde), ("feedback", GenerateFeedback)):
            self._real[cls] = real = cls.start

            def start(converter, _name=name, _real=real):
                c0 = time.process_time()
                try:
                    return _real(converter)
                finally:
                    self.seconds[_name] += time.process_time() - c0

            cls.start = start

    def take(self) -> dict[str, float]:
        out, self.seconds = self.seconds, {"autograde": 0.0, "feedback": 0.0}
        return out

    def close(self) -> None:
        for cls, real in self._real.items():
            cls.start = real


def measure(assignment: str, n: int, data_view: bool) -> list[dict]:
    """One row per submission: wall, host CPU (autograde, feedback), kernel cells, setup cell (seconds)."""
    cat = catalogues.load()[assignment]
    course = make_course(Path(tempfile.mkdtemp(prefix="kd-costs-")), [assignment])
    student, solution = read_pair(course, assignment)
    subs = {"a_reference": filled(student, solution)}
    for name, mistake in list(cat.mistakes.items())[: n - 1]:
        nb = filled(student, solution, mistake.patches)
        if mistake.edit is not None:
            mistake.edit(nb)
        subs[f"m_{name}"] = nb
    for who, nb in subs.items():
        nb.cells = [c for c in nb.cells if c.id not in cat.drop]
        submit(course, assignment, who, nb)
    rows: list[dict] = []
    phases = _PhaseCPU()

    def serial(jobs, workers, on_done, progress) -> None:
        worker._worker_init()
        for job in tqdm(jobs, desc=assignment, unit="submission", leave=False):
            if not data_view:
                job = dataclasses.replace(job, data_dir=None)
            t0, c0 = time.perf_counter(), time.process_time()
            out = worker.grade_one(job)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            cells, setup = kernel_seconds(next(Path(out.autograded).glob("*.ipynb"))) if out.autograded else (0, 0)
            row = {"student": job.student, "wall": wall, "host_cpu": cpu, "cells": cells, "setup": setup}
            rows.append({**row, **phases.take()})
            on_done(job, out)

    real = grading.run_pool
    grading.run_pool = serial
    try:
        report = grading.grade(
            course,
            assignment,
            jobs=1,
            timeout=600,
            memory_mb=cat.memory_mb,
            cell_timeout=cat.cell_timeout,
            record=False,
            progress=False,
        )
    finally:
        grading.run_pool = real
        phases.close()
    bad = [s for s, r in report.results.items() if r.status != "ok"]
    if bad:
        raise SystemExit(f"{assignment}: not graded cleanly: {bad}")
    return rows


def _stat(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):5.2f} ± {sd:4.2f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assignments", nargs="+", default=DEFAULT)
    ap.add_argument("--n", type=int, default=5, help="submissions per assignment (reference + n-1 mistakes)")
    ap.add_argument("--no-data-view", action="store_true", help="kernels generate MNIST-1D themselves")
    args = ap.parse_args(argv)
    if args.n < 2:
        ap.error("--n must be at least 2 (the first submission is left out of the figures)")
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; data view {'off' if args.no_data_view else 'on'}")
    heads = ("wall s", "host CPU s", "autograde s", "feedback s", "kernel cells s", "setup cell s")
    print(f"{'assignment':<20} " + " ".join(f"{h:>14}" for h in heads) + "  (n)")
    for name in args.assignments:
        rows = measure(name, args.n, not args.no_data_view)[1:]
        keys = ("wall", "host_cpu", "autograde", "feedback", "cells", "setup")
        cols = [_stat([r[k] for r in rows]) for k in keys]
        print(f"{name:<20} " + " ".join(f"{c:>14}" for c in cols) + f"  ({len(rows)})", flush=True)


if __name__ == "__main__":
    main()

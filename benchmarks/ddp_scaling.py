"""Wall time of the demo's KD + pool run on 1 vs 2 torchrun processes (kdlib.torch.ddp), CPU, gloo.

    python benchmarks/ddp_scaling.py [--quick] [--reps 3] [--json PATH]      (from the repository root)

The run is kdlib.experiment.Recipe's "student (KD + pool)": MNIST-1D, 4,000 labelled + 25,000
unlabelled inputs, T = 4, alpha = 0.9, Adam lr 1e-2, global batch 256 (1 process × 256, or
2 processes × 128: the same optimisation, see tests/library/test_ddp_torch.py), 50 epochs
(``--quick``: 10). The teacher is trained once here (seed 0) and loaded by every run from a
checkpoint, so the runs time the distillation, not the teacher fit.

Per configuration, ``--reps`` repetitions, interleaved (1, 2, 1, 2, …) to spread machine noise;
mean ± std (ddof 1) of

- wall: the whole ``launch()`` (torchrun start, worker imports, rendezvous, teacher cache,
  distillation, evaluation, checkpoint, teardown);
- distill: seconds inside ``distill_ddp`` (teacher-logit cache + epochs), from rank 0's metrics.json;
- overhead: wall − seconds inside the worker (start-up and teardown: what more processes never shrink).

Two in-process references (no torch.distributed, one thread, kdlib.torch.distill): the full run at
batch 256, and one rank's share of the 2-process run (half the rows, batch 128: the same number of
steps). 2-process distill − that share ≈ what the gradient all-reduce and synchronisation cost;
a bare all_reduce of the student's gradient size on 2 gloo processes (2,000 calls, median) is
measured alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from kdlib import experiment, loops
from kdlib.data import load_dataset, load_transfer_pool
from kdlib.torch import ddp
from kdlib.torch.models import build_model
from kdlib.torch.predict import evaluate
from kdlib.torch.train import distill, fit


def _mean_std(xs: list[float]) -> str:
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.fmean(xs):6.2f} ± {sd:4.2f}"


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def allreduce_worker(numel: int, repeats: int = 2000) -> None:
    """In each torchrun worker: median seconds of all_reduce on ``numel`` float32 (the student's gradient)."""
    import torch.distributed as dist

    with ddp.process_group(60.0) as ctx:
        grad = torch.zeros(numel)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            dist.all_reduce(grad)
            times.append(time.perf_counter() - t0)
        if ctx.rank == 0:
            print(json.dumps({"median_s": statistics.median(times), "numel": numel, "world_size": ctx.world_size}))


def _allreduce_latency(numel: int) -> float:
    """all_reduce latency of the student's gradient on 2 gloo processes, via torchrun (module mode)."""
    done = ddp.launch(2, ["--allreduce-worker", str(numel)], timeout=300, module="benchmarks.ddp_scaling", capture=True)
    if done.returncode:
        raise RuntimeError(f"all-reduce probe failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["median_s"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="10 student epochs and an 8-epoch teacher instead of 50 / 40")
    p.add_argument("--reps", type=int, default=3, help="repetitions per configuration (>= 3 for a spread)")
    p.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    p.add_argument("--allreduce-worker", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.allreduce_worker is not None:
        return allreduce_worker(a.allreduce_worker)
    if a.reps < 1:
        raise ValueError(f"--reps must be a positive integer, got {a.reps}")
    torch.set_num_threads(1)
    r = experiment.Recipe().scaled(0.2 if a.quick else 1.0)
    ds = load_dataset("mnist1d")
    pool = load_transfer_pool("mnist1d", r.pool_size)
    f, c = ds.num_features, ds.num_classes
    cores = os.cpu_count()
    print(
        f"ddp_scaling: MNIST-1D KD + pool ({len(ds.x_train):,} labelled + {r.pool_size:,} unlabelled), "
        f"{r.pool_epochs} epochs, global batch {r.pool_batch_size}, seed 0, {a.reps} reps; "
        f"{cores} CPU cores, torch {torch.__version__}, gloo; load average at start {_loadavg()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="kd_ddp_bench_") as tmp:
        tmp = Path(tmp)
        teacher = build_model(r.teacher, f, c, seed=0)
        fit(teacher, ds.x_train, ds.y_train, epochs=r.teacher_epochs, lr=r.teacher_lr,
            batch_size=r.teacher_batch_size, seed=0, progress=False)  # fmt: skip
        torch.save(teacher.state_dict(), tmp / "teacher.pt")
        res: dict[str, dict[str, list[float]]] = {}
        runs = [n for _ in range(a.reps) for n in (1, 2)]
        failures: list[str] = []
        for i, n in enumerate(tqdm(runs, desc="runs", unit="run")):
            out = tmp / f"run{i}"
            args = ["--teacher-checkpoint", str(tmp / "teacher.pt"), "--epochs", str(r.pool_epochs)]
            args += ["--out", str(out), "--seed", "0", "--no-progress", "--pool-size", str(r.pool_size)]
            t0 = time.perf_counter()
            done = ddp.launch(n, args, timeout=1800, capture=True)
            wall = time.perf_counter() - t0
            if done.returncode:  # reported, not hidden: the summary counts failed runs
                failures.append(f"{n}-process run {i}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
                continue
            m = json.loads((out / "metrics.json").read_text())
            row = res.setdefault(f"ddp {n} proc", {"wall": [], "distill": [], "overhead": [], "accuracy": []})
            row["wall"].append(wall)
            row["distill"].append(m["seconds"]["distill"])
            row["overhead"].append(wall - m["seconds"]["in_worker"])
            row["accuracy"].append(m["student_test_accuracy"])
        # in-process references: kdlib.torch.distill, no process group
        xa, ya = loops.transfer_set(ds.x_train, ds.y_train, pool)  # labelled rows, then the pool (-1)
        refs = {
            "plain distill (1 process, batch 256)": (xa, ya, r.pool_batch_size),
            "one rank's share (rows ::2, batch 128)": (xa[::2], ya[::2], r.pool_batch_size // 2),
        }
        for _ in tqdm(range(a.reps), desc="in-process references", unit="rep"):
            for name, (x, y, b) in refs.items():
                st = build_model(r.student, f, c, seed=0)
                t0 = time.perf_counter()
                distill(st, teacher, x, y, epochs=r.pool_epochs, lr=r.pool_lr, batch_size=b,
                        temperature=r.temperature, alpha=r.alpha, seed=0, progress=False)  # fmt: skip
                row = res.setdefault(name, {"distill": [], "accuracy": []})
                row["distill"].append(time.perf_counter() - t0)
                row["accuracy"].append(evaluate(st, ds.x_test, ds.y_test))
    numel = sum(q.numel() for q in build_model(r.student, f, c).parameters())
    allreduce = _allreduce_latency(numel)
    print(f"load average at end {_loadavg()}; failed runs: {len(failures)}\n")
    for failure in failures:
        print("  " + failure.replace("\n", "\n  "))
    print(f"{'configuration':<40} {'wall s':>14} {'distill s':>14} {'start/teardown s':>17} {'student acc':>12}")
    for name, row in res.items():
        wall = _mean_std(row["wall"]) if "wall" in row else ""
        over = _mean_std(row["overhead"]) if "overhead" in row else ""
        acc = 100 * statistics.fmean(row["accuracy"])
        print(f"{name:<40} {wall:>14} {_mean_std(row['distill']):>14} {over:>17} {acc:>11.1f}%")
    d1, d2 = statistics.fmean(res["ddp 1 proc"]["distill"]), statistics.fmean(res["ddp 2 proc"]["distill"])
    w1, w2 = statistics.fmean(res["ddp 1 proc"]["wall"]), statistics.fmean(res["ddp 2 proc"]["wall"])
    share = statistics.fmean(res["one rank's share (rows ::2, batch 128)"]["distill"])
    steps = -(-(len(ds.x_train) + r.pool_size) // r.pool_batch_size) * r.pool_epochs
    print(
        f"\nspeed-up of 2 processes (1-process / 2-process time): distill {d1 / d2:.2f}×, whole run {w1 / w2:.2f}×; "
        f"all-reduce + sync ≈ {1000 * (d2 - share) / steps:.2f} ms per step "
        f"({steps:,} steps; 2-proc distill − one rank's share in one process); "
        f"a bare all_reduce of the student's {numel:,} gradients: {1e6 * allreduce:.0f} µs (median of 2,000)"
    )
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(
            json.dumps(
                {"recipe": r.__dict__, "reps": a.reps, "cores": cores, "results": res, "allreduce_s": allreduce},
                indent=2,
            )
        )
        print(f"json: {a.json}")


if __name__ == "__main__":
    main()

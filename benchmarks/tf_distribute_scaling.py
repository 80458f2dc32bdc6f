"""Wall time of the demo's KD runs on 1 vs 2 tf.distribute replicas (MirroredStrategy, logical CPUs).

    python benchmarks/tf_distribute_scaling.py [--quick] [--repeats 3] [--seed 0] [--json out.json]

One process split into 2 logical CPU devices (kdlib.tf.distribute.cpu_strategy, before any other
TensorFlow call). One teacher (the demo's recipe, kdlib.experiment.Recipe), then, interleaved
``--repeats`` times, the two distillation rows of ``kd demo`` with the recipe's settings:

    KD          4,000 labelled MNIST-1D inputs, 60 epochs, global batch 64, Adam 3e-3
    KD + pool   + 25,000 unlabelled inputs, 50 epochs, global batch 256, Adam 1e-2

each run three ways: plain ``kdlib.tf.distill`` (no strategy), ``kdlib.tf.distribute.distill`` on 1
replica, and on 2 replicas with the same GLOBAL batch (2 × 32, 2 × 128: the same optimisation).
Timed: the whole call (teacher-logit cache, tracing, all epochs), the median epoch, and the
teacher's pass over the transfer set alone. Prints mean ± std (ddof=1) over repetitions, the
speed-up of 2 replicas over 1 and the students' test accuracy (equal up to float noise).
``--quick``: epochs × 0.1 (teacher too), for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from kdlib.tf import distribute as D  # noqa: E402

STRATEGIES = {"s2": D.cpu_strategy(2), "s1": D.cpu_strategy(1)}  # first TensorFlow call of the process

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kdlib import experiment  # noqa: E402
from kdlib.data import load_dataset, load_transfer_pool  # noqa: E402
from kdlib.tf import build_model, distill, evaluate, fit, predict_logits  # noqa: E402

ARMS = ("plain", "1 replica", "2 replicas")


def mean_std(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):7.2f} ± {sd:5.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="epochs x 0.1")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    if a.repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {a.repeats!r}")
    r = experiment.Recipe().scaled(0.1) if a.quick else experiment.Recipe()
    ds = load_dataset("mnist1d")
    pool = load_transfer_pool("mnist1d", r.pool_size)
    f, c = ds.num_features, ds.num_classes
    print(
        f"machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"TF intra-op threads default; seed {a.seed}; {a.repeats} repetitions, interleaved; "
        f"load average at start {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    teacher = build_model(r.teacher, f, c, seed=a.seed)
    fit(teacher, ds.x_train, ds.y_train, epochs=r.teacher_epochs, lr=r.teacher_lr,
        batch_size=r.teacher_batch_size, seed=a.seed, progress=False)  # fmt: skip
    print(f"teacher: {evaluate(teacher, ds.x_test, ds.y_test):.3f} test accuracy", flush=True)
    runs = {
        "KD": {"x_unlabeled": None, "epochs": r.student_epochs, "batch_size": r.batch_size, "lr": r.student_lr},
        "KD + pool": {"x_unlabeled": pool, "epochs": r.pool_epochs, "batch_size": r.pool_batch_size, "lr": r.pool_lr},
    }
    n_rows = {"KD": len(ds.x_train), "KD + pool": len(ds.x_train) + len(pool)}
    kd = {"temperature": r.temperature, "alpha": r.alpha, "seed": a.seed, "progress": False}
    rows: list[dict] = []
    bar = tqdm(total=a.repeats * len(runs) * len(ARMS), desc="tf distribute scaling", unit="run")
    for rep in range(a.repeats):
        for run, args in runs.items():
            for arm in ARMS if rep % 2 == 0 else ARMS[::-1]:  # alternate the order: spread machine noise
                st = build_model(r.student, f, c, seed=a.seed)
                t0 = time.perf_counter()
                if arm == "plain":
                    h = distill(st, teacher, ds.x_train, ds.y_train, **kd, **args)
                else:
                    strategy = STRATEGIES["s2" if arm == "2 replicas" else "s1"]
                    h = D.distill(st, teacher, ds.x_train, ds.y_train, strategy=strategy, **kd, **args)
                wall = time.perf_counter() - t0
                rows.append({
                    "run": run, "arm": arm, "repeat": rep, "wall_s": wall,
                    "epoch_s": float(np.median(h.seconds)), "epochs": len(h.seconds),
                    "steps_per_epoch": -(-n_rows[run] // args["batch_size"]),
                    "accuracy": evaluate(st, ds.x_test, ds.y_test),
                })  # fmt: skip
                bar.update()
    bar.close()
    xs = {"KD": ds.x_train, "KD + pool": np.concatenate([ds.x_train, pool])}
    teacher_pass = {}
    for run, x in xs.items():
        predict_logits(teacher, x[:256])
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            predict_logits(teacher, x)
            times.append(time.perf_counter() - t0)
        teacher_pass[run] = times

    print(f"\nseconds, mean ± std over repetitions; load average at end {os.getloadavg()[0]:.1f}")
    print(f"{'run':10s} {'arm':11s} {'whole call':>15s} {'median epoch':>15s} {'ms / step':>9s} {'accuracy':>9s}")
    per_step: dict[tuple[str, str], float] = {}
    for run in runs:
        for arm in ARMS:
            sel = [x for x in rows if x["run"] == run and x["arm"] == arm]
            acc = statistics.mean(x["accuracy"] for x in sel)
            per_step[run, arm] = 1e3 * statistics.mean(x["epoch_s"] / x["steps_per_epoch"] for x in sel)
            print(
                f"{run:10s} {arm:11s} {mean_std([x['wall_s'] for x in sel])} "
                f"{mean_std([x['epoch_s'] for x in sel])} {per_step[run, arm]:9.2f} {acc:9.3f}"
            )
        wall = {arm: statistics.mean(x["wall_s"] for x in rows if x["run"] == run and x["arm"] == arm) for arm in ARMS}
        tp = statistics.mean(teacher_pass[run])
        extra = per_step[run, "2 replicas"] - per_step[run, "1 replica"]
        print(
            f"{run}: whole call, 2 replicas vs 1: {wall['1 replica'] / wall['2 replicas']:.2f}x speed-up "
            f"(vs plain distill {wall['plain'] / wall['2 replicas']:.2f}x); a step costs {extra:+.2f} ms with "
            f"2 replicas ({extra / per_step[run, '1 replica']:+.0%}); the teacher pass over the "
            f"{n_rows[run]:,} transfer inputs takes {tp:.2f} s ({tp / wall['2 replicas']:.1%} of the 2-replica call)"
        )
    print(
        "\nWhat it implies: both replicas share this machine's 2 cores, so the split buys no compute, and each "
        "step of this tiny student (MLP, 5,110 weights) pays for splitting the batch and three all-reduces "
        "(gradients, global counts, reported loss). On N GPUs each replica has its own device, so the "
        "student's forward and backward pass scale with N; the per-step all-reduce does not (a fixed "
        "latency for 20 KB of gradients), nor does the teacher pass, computed in full on every worker "
        "unless its logits are cached or sharded."
    )
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"rows": rows, "teacher_pass_s": teacher_pass, "quick": a.quick, "seed": a.seed}, fh, indent=1)


if __name__ == "__main__":
    main()

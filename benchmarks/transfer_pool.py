"""Transfer sets: student accuracy against the size of the unlabeled transfer pool.

    python benchmarks/transfer_pool.py [--seeds 5] [--sizes 0 5000 10000 25000] [--frameworks torch tf]

Per seed: one teacher on the 4,000 labeled MNIST-1D inputs; the scratch student; then the
student distilled on labeled + N unlabeled inputs for each N (same epochs for every N, so
larger pools also mean more steps — as they would in practice). Prints mean ± std accuracy
and the share of the teacher–scratch gap closed.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from kdlib import experiment, load_dataset  # noqa: E402
from kdlib.data import load_transfer_pool  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--sizes", type=int, nargs="+", default=[0, 5000, 10000, 25000])
    p.add_argument("--frameworks", nargs="+", default=["torch", "tf"])
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--json", default=None)
    a = p.parse_args()
    r = experiment.Recipe()
    ds = load_dataset(a.dataset)
    pool = load_transfer_pool(a.dataset, max(a.sizes))
    print(
        f"recipe: T={r.temperature}, alpha={r.alpha}, pool epochs {r.pool_epochs}, lr {r.pool_lr}, "
        f"batch {r.pool_batch_size}; {a.seeds} seeds",
        flush=True,
    )
    out = []
    for name in a.frameworks:
        fw = experiment.framework_module(name)
        acc: dict[str, list[float]] = {}
        t0 = time.perf_counter()
        for seed in range(a.seeds):
            teacher = fw.build_model(r.teacher, ds.num_features, ds.num_classes, seed=seed)
            fw.fit(
                teacher,
                ds.x_train,
                ds.y_train,
                epochs=r.teacher_epochs,
                lr=r.teacher_lr,
                batch_size=r.teacher_batch_size,
                seed=seed,
                progress=False,
            )
            acc.setdefault("teacher", []).append(fw.evaluate(teacher, ds.x_test, ds.y_test))
            st = fw.build_model(r.student, ds.num_features, ds.num_classes, seed=seed)
            fw.fit(
                st,
                ds.x_train,
                ds.y_train,
                epochs=r.student_epochs,
                lr=r.student_lr,
                batch_size=r.batch_size,
                seed=seed,
                progress=False,
            )
            acc.setdefault("scratch", []).append(fw.evaluate(st, ds.x_test, ds.y_test))
            for n in a.sizes:
                st = fw.build_model(r.student, ds.num_features, ds.num_classes, seed=seed)
                fw.distill(
                    st,
                    teacher,
                    ds.x_train,
                    ds.y_train,
                    x_unlabeled=pool[:n],
                    temperature=r.temperature,
                    alpha=r.alpha,
                    epochs=r.pool_epochs,
                    lr=r.pool_lr,
                    batch_size=r.pool_batch_size,
                    seed=seed,
                    progress=False,
                )
                acc.setdefault(f"KD + {n} unlabeled", []).append(fw.evaluate(st, ds.x_test, ds.y_test))
        means = {k: float(np.mean(v)) for k, v in acc.items()}
        gap = means["teacher"] - means["scratch"]
        for k, v in acc.items():
            closed = (means[k] - means["scratch"]) / gap if k.startswith("KD") else None
            row = {
                "framework": name,
                "model": k,
                "accuracy_mean": means[k],
                "accuracy_std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                "gap_closed": closed,
            }
            out.append(row)
            tail = f"  gap closed {100 * closed:5.1f}%" if closed is not None else ""
            print(
                f"{name:<6} {k:<22} {100 * row['accuracy_mean']:5.1f} ± {100 * row['accuracy_std']:.1f}{tail}",
                flush=True,
            )
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()

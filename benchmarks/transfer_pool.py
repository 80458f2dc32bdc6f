"""Transfer sets: student accuracy against the size of the unlabeled transfer pool.

    python benchmarks/transfer_pool.py [--seeds 5] [--sizes 0 5000 10000 25000] [--frameworks torch tf]
                                       [--arms kd argmax [labels]]

Per seed: one teacher on the 4,000 labeled MNIST-1D inputs; the scratch student; then, for
each pool size N (same epochs for every N, so larger pools also mean more steps — as they
would in practice), one student per arm:

    kd      distilled on labeled + N unlabeled inputs (soft targets, kdlib's distill)
    argmax  the control: cross-entropy on labeled + the same N inputs labelled by the
            teacher's argmax (hard pseudo-labels), same epochs, Adam lr and batch size
    labels  upper bound: cross-entropy on labeled + the same N inputs with their true labels

kd − argmax (paired per seed) is what the soft targets add over more teacher-labelled data.
Prints mean ± std accuracy over seeds (ddof=1), the share of the teacher–scratch gap closed
and the paired kd − argmax difference.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kdlib import experiment, load_dataset  # noqa: E402
from kdlib.data import load_transfer_pool  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--sizes", type=int, nargs="+", default=[0, 5000, 10000, 25000])
    p.add_argument("--frameworks", nargs="+", default=["torch", "tf"])
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--arms", nargs="+", choices=["kd", "argmax", "labels"], default=["kd", "argmax"])
    p.add_argument("--json", default=None)
    a = p.parse_args()
    r = experiment.Recipe()
    ds = load_dataset(a.dataset)
    pool, pool_y = load_transfer_pool(a.dataset, max(a.sizes), return_labels=True)
    print(
        f"recipe: T={r.temperature}, alpha={r.alpha}, pool epochs {r.pool_epochs}, lr {r.pool_lr}, "
        f"batch {r.pool_batch_size}; seeds 0..{a.seeds - 1}; arms {a.arms}",
        flush=True,
    )
    out = []
    arm_names = {"kd": "KD", "argmax": "argmax", "labels": "labels"}
    for name in a.frameworks:
        fw = experiment.framework_module(name)
        acc: dict[str, list[float]] = {}
        t0 = time.perf_counter()
        runs_per_seed = 2 + sum(1 for arm in a.arms for n in a.sizes if arm == "kd" or n > 0)
        bar = tqdm(total=a.seeds * runs_per_seed, desc=f"{name} transfer pool", unit="model")
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
            bar.update()
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
            bar.update()
            pseudo = experiment.teacher_argmax(fw, teacher, pool) if "argmax" in a.arms else None
            pool_kw = {"epochs": r.pool_epochs, "lr": r.pool_lr, "batch_size": r.pool_batch_size, "seed": seed}
            for arm in a.arms:
                for n in a.sizes:
                    if arm != "kd" and n == 0:
                        continue  # with no pool these arms are the scratch student with other epochs
                    st = fw.build_model(r.student, ds.num_features, ds.num_classes, seed=seed)
                    if arm == "kd":
                        fw.distill(
                            st,
                            teacher,
                            ds.x_train,
                            ds.y_train,
                            x_unlabeled=pool[:n],
                            temperature=r.temperature,
                            alpha=r.alpha,
                            progress=False,
                            **pool_kw,
                        )
                    else:
                        extra = pseudo[:n] if arm == "argmax" else pool_y[:n]
                        x = np.concatenate([ds.x_train, pool[:n]])
                        y = np.concatenate([ds.y_train, extra])
                        fw.fit(st, x, y, progress=False, **pool_kw)
                    key = f"{arm_names[arm]} + {n} unlabeled"
                    acc.setdefault(key, []).append(fw.evaluate(st, ds.x_test, ds.y_test))
                    bar.update()
        bar.close()
        means = {k: float(np.mean(v)) for k, v in acc.items()}
        gap = means["teacher"] - means["scratch"]
        for k, v in acc.items():
            closed = (means[k] - means["scratch"]) / gap if k not in ("teacher", "scratch") else None
            row = {
                "framework": name,
                "model": k,
                "accuracy_mean": means[k],
                "accuracy_std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                "per_seed": [float(x) for x in v],
                "gap_closed": closed,
            }
            out.append(row)
            tail = f"  gap closed {100 * closed:5.1f}%" if closed is not None else ""
            print(
                f"{name:<6} {k:<26} {100 * row['accuracy_mean']:5.1f} ± {100 * row['accuracy_std']:.1f}{tail}",
                flush=True,
            )
        for n in a.sizes:
            kd, hard = acc.get(f"KD + {n} unlabeled"), acc.get(f"argmax + {n} unlabeled")
            if kd and hard:
                d = 100 * (np.array(kd) - np.array(hard))
                sd = d.std(ddof=1) if len(d) > 1 else 0.0
                print(
                    f"{name:<6} soft targets over teacher argmax, +{n}: {d.mean():+.1f} ± {sd:.1f} points "
                    f"(paired per seed: {', '.join(f'{x:+.1f}' for x in d)})",
                    flush=True,
                )
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()

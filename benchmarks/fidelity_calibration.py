"""Accuracy, agreement, calibration and soft-target KL over seeds, with notebook 08's recipe.

    python benchmarks/fidelity_calibration.py [--seeds 10] [--datasets digits mnist1d] [--json out.json]

Notebook 08 trains one teacher, one student from scratch and one distilled student (seed 0)
and reads off accuracy, top-1 agreement with the teacher and ECE. One seed cannot say whether
"scratch beats the teacher" or "KD agrees less with the teacher than scratch" is a property of
the method or of the seed. This script repeats the notebook's cell "train" for seeds 0..N-1:

- the same 80/20 train/validation split (``np.random.default_rng(0)``), the test set for
  every figure;
- teacher: kdlib's CNN, 20 epochs; students: ``student-small`` (MLP, 32 hidden units),
  30 epochs, scratch and KD from the same initial weights; Adam lr 1e-2, batch 64;
  KD: ``kdlib.torch.distill`` with T = 4, alpha = 0.9;
- per model: test accuracy, agreement with *its own seed's* teacher (top-1), ECE (15 bins),
  over-confidence (mean max-softmax confidence minus accuracy; negative: under-confident) and
  the soft term KD minimises, ``distillation_loss`` = T² · mean KL(softmax(t/T) ‖ softmax(s/T))
  at T = 4, against that teacher.

Prints mean ± sample std over seeds per model, and paired differences (same seed).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kdlib import load_dataset  # noqa: E402
from kdlib import reference as ref  # noqa: E402
from kdlib.metrics import accuracy, agreement, expected_calibration_error  # noqa: E402
from kdlib.torch import build_model, distill, fit, predict_logits  # noqa: E402

EPOCHS_TEACHER, EPOCHS, LR, BATCH, T, ALPHA = 20, 30, 1e-2, 64, 4.0, 0.9  # notebook 08, cell "train"
METRICS = ("accuracy", "agreement", "ece", "overconf", "soft_kl")


def split(dataset: str):
    """Notebook 08's split: 20% of the training set held out for validation (rng seed 0)."""
    ds = load_dataset(dataset)
    perm = np.random.default_rng(0).permutation(len(ds.x_train))
    tr = perm[len(perm) // 5 :]
    return ds, ds.x_train[tr], ds.y_train[tr]


def run_seed(dataset: str, seed: int) -> dict[str, dict[str, float]]:
    """model -> metric -> value on the test set, for one seed."""
    ds, x_tr, y_tr = split(dataset)
    common = dict(lr=LR, batch_size=BATCH, progress=False)
    teacher = build_model("teacher", ds.num_features, ds.num_classes, seed=seed)
    fit(teacher, x_tr, y_tr, epochs=EPOCHS_TEACHER, seed=seed, **common)
    scratch = build_model("student-small", ds.num_features, ds.num_classes, seed=seed)
    fit(scratch, x_tr, y_tr, epochs=EPOCHS, seed=seed, **common)
    kd = build_model("student-small", ds.num_features, ds.num_classes, seed=seed)
    distill(kd, teacher, x_tr, y_tr, temperature=T, alpha=ALPHA, epochs=EPOCHS, seed=seed, **common)
    zt = predict_logits(teacher, ds.x_test).astype(np.float64)
    out = {}
    for name, model in [("teacher", teacher), ("scratch", scratch), ("KD", kd)]:
        z = predict_logits(model, ds.x_test).astype(np.float64)
        out[name] = {
            "accuracy": accuracy(z, ds.y_test),
            "agreement": agreement(z, zt),
            "ece": expected_calibration_error(z, ds.y_test),
            "overconf": float(ref.soft_targets(z, 1.0).max(1).mean()) - accuracy(z, ds.y_test),
            "soft_kl": ref.distillation_loss(z, zt, T),
        }
    return out


def fmt(metric: str, v: np.ndarray, signed: bool = False) -> str:
    """mean ± sample std; percentages for accuracy/agreement, 3 decimals otherwise."""
    scale, spec = (100, ".1f") if metric in ("accuracy", "agreement") else (1, ".3f")
    sign = "+" if signed else ""
    return f"{scale * v.mean():{sign}{spec}} ± {scale * v.std(ddof=1):{spec}}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    p.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"])
    p.add_argument("--json", default=None, help="write the per-seed figures here")
    a = p.parse_args()
    torch.set_num_threads(1)  # as in notebook 08
    print(
        f"notebook 08 recipe: teacher CNN {EPOCHS_TEACHER} epochs; student-small {EPOCHS} epochs, "
        f"scratch and KD (T={T:g}, alpha={ALPHA}); Adam lr {LR:g}, batch {BATCH}; test set; "
        f"seeds 0..{a.seeds - 1}; mean ± sample std over seeds. accuracy/agreement in %, ECE with "
        f"15 bins, soft_kl = T²·mean KL(teacher_T ‖ model_T) at T={T:g}"
    )
    dump = {}
    for dataset in a.datasets:
        t0 = time.perf_counter()
        runs = [run_seed(dataset, s) for s in tqdm(range(a.seeds), desc=dataset)]
        dump[dataset] = runs
        v = {(m, k): np.array([r[m][k] for r in runs]) for m in runs[0] for k in METRICS}
        print(f"\n{dataset} [{time.perf_counter() - t0:.0f} s]")
        print(f"  {'model':<9}" + "".join(f"{k:>17}" for k in METRICS))
        for m in runs[0]:
            print(f"  {m:<9}" + "".join(f"{fmt(k, v[m, k]):>17}" for k in METRICS))
        for a_, b_ in [("scratch", "teacher"), ("KD", "teacher"), ("KD", "scratch")]:
            cells = []
            for k in METRICS:
                if b_ == "teacher" and k in ("agreement", "soft_kl"):
                    cells.append(f"{'':>17}")  # the teacher against itself: 1 and 0 by definition
                    continue
                d = v[a_, k] - v[b_, k]
                cells.append(f"{fmt(k, d, signed=True):>17}")
            print(f"  {a_ + '−' + b_:<9}" + "".join(cells))
        for a_, b_ in [("scratch", "teacher"), ("KD", "teacher"), ("KD", "scratch")]:
            d = v[a_, "accuracy"] - v[b_, "accuracy"]
            print(f"  accuracy {a_} > {b_} on {(d > 0).sum()}/{len(d)} seeds, equal on {(d == 0).sum()}")
        d = v["KD", "agreement"] - v["scratch", "agreement"]
        print(f"  agreement KD > scratch on {(d > 0).sum()}/{len(d)} seeds, equal on {(d == 0).sum()}")
        d = v["KD", "soft_kl"] - v["scratch", "soft_kl"]
        print(f"  soft_kl KD < scratch on {(d < 0).sum()}/{len(d)} seeds")
    print("\ndifferences (rows a−b) are paired: same seed, same teacher")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dump, f, indent=2)


if __name__ == "__main__":
    main()

"""Function matching (the patient, consistent teacher, Beyer et al. 2022) against its fair controls.

Per framework and seed s (kdlib.experiment.run_seed, Recipe defaults): the CNN teacher (40 epochs),
then MLP students (one hidden layer of 100 units, initial weights from seed s):

    scratch                 labels only, 60 epochs, no augmentation
    KD                      plain KD (cached teacher logits), 60 epochs
    scratch + aug           labels only, augmented (mixup 0.4 + shift ±3 + scale 0.9-1.1 + noise 0.1),
                            fm_epochs (300) at batch 128, lr 3e-3: the fair control
    function matching       distill(..., augment=) with the same augmentation and schedule:
                            the teacher sees every augmented view the student sees
and with the 25,000-input unlabeled pool:
    KD + pool               plain KD on labeled set + pool (pool_epochs 50, batch 256, lr 1e-2)
    pool, labels            the student trained on labeled set + pool WITH true labels (same schedule)
    FM + pool               function matching on labeled set + pool (fm_pool_epochs 150, batch 256,
                            fm_pool_lr 1e-2)

Prints mean ± std (sample std, ddof=1) over seeds of test accuracy, the share of the
teacher–scratch gap each row closes (per seed, then mean ± std), and paired differences
(per seed, then mean ± std). ``--quick`` runs every epoch count × 0.2 on 2 seeds (a smoke run).

    python benchmarks/function_matching.py                      # 5 seeds, torch and tf
    python benchmarks/function_matching.py --frameworks torch --no-pool --json out/fm_torch.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdlib import experiment  # noqa: E402

LABELLED = ("teacher", "student (scratch)", "student (KD)", "student (scratch + aug)", "student (function matching)")
POOL = ("student (KD + pool)", "student (pool, labels)", "student (FM + pool)")
PAIRS = [
    ("student (function matching)", "student (scratch + aug)"),
    ("student (function matching)", "student (KD)"),
    ("student (scratch + aug)", "student (scratch)"),
    ("student (FM + pool)", "student (pool, labels)"),
    ("student (FM + pool)", "student (KD + pool)"),
]


def _ms(a) -> str:
    a = np.asarray(a, dtype=float)
    return f"{a.mean():6.1f} ± {a.std(ddof=1) if len(a) > 1 else 0.0:4.1f}"


def report(framework: str, runs: list[dict]) -> dict:
    """Print one framework's table; return the figures (percent) for the JSON."""
    seeds = sorted({r["seed"] for r in runs})
    acc = {}
    for r in runs:
        acc.setdefault(r["model"], {})[r["seed"]] = 100 * r["accuracy"]
    seeds = [s for s in seeds if all(s in v for v in acc.values())]
    a = {m: np.array([v[s] for s in seeds]) for m, v in acc.items()}
    gap = a["teacher"] - a["student (scratch)"]
    out = {"seeds": seeds, "rows": {}, "pairs": {}}
    print(f"\n{framework}: {len(seeds)} seeds {seeds}; accuracy % mean ± std; gap closed per seed, mean ± std")
    for m in (*LABELLED, *POOL):
        if m not in a:
            continue
        closed = 100 * (a[m] - a["student (scratch)"]) / gap
        show = m.startswith("student") and m != "student (scratch)"
        print(f"  {m:<30} {_ms(a[m])}   {'gap closed ' + _ms(closed) + ' %' if show else ''}")
        out["rows"][m] = {
            "accuracy": a[m].tolist(),
            "mean": float(a[m].mean()),
            "std": float(a[m].std(ddof=1)) if len(seeds) > 1 else 0.0,
            "gap_closed_mean": float(closed.mean()),
            "gap_closed_std": float(closed.std(ddof=1)) if len(seeds) > 1 else 0.0,
        }
    print("  paired differences (points, per seed then mean ± std):")
    for x, y in PAIRS:
        if x in a and y in a:
            d = a[x] - a[y]
            print(f"    {x} − {y}: {_ms(d)}   per seed {np.round(d, 1).tolist()}")
            out["pairs"][f"{x} - {y}"] = {"mean": float(d.mean()), "std": float(d.std(ddof=1)) if len(d) > 1 else 0.0}
    fm, ctrl = a.get("student (function matching)"), a.get("student (scratch + aug)")
    if fm is not None and ctrl is not None:
        closed = 100 * (fm - a["student (scratch)"]) / gap
        d = fm - ctrl
        print(
            f"  target 1: FM closes ≥ 25% of the gap: {closed.mean():.0f}% →"
            f" {'met' if closed.mean() >= 25 else 'NOT met'};"
            f" FM − scratch+aug {d.mean():+.1f} vs the control's std {ctrl.std(ddof=1):.1f} →"
            f" {'met' if d.mean() > ctrl.std(ddof=1) else 'NOT met'}"
        )
    if "student (FM + pool)" in a:
        d = a["student (FM + pool)"] - a["student (pool, labels)"]
        verdict = "met" if d.mean() >= 0 else "NOT met"
        print(f"  target 2: FM + pool ≥ pool with labels: {d.mean():+.1f} points → {verdict}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frameworks", nargs="+", choices=experiment.FRAMEWORKS, default=list(experiment.FRAMEWORKS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--no-pool", action="store_true", help="labelled-only rows")
    p.add_argument("--pool-only", action="store_true", help="teacher, scratch and the pool rows only")
    p.add_argument("--quick", action="store_true", help="every epoch count x 0.2, 2 seeds (smoke run)")
    p.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every epoch count")
    p.add_argument("--pool-size", type=int, default=experiment.Recipe().pool_size)
    p.add_argument("--json", type=Path, default=None, help="write per-seed results here (after every seed)")
    a = p.parse_args()
    recipe = experiment.Recipe(pool_size=a.pool_size).scaled(a.epochs_scale)
    seeds = a.seeds
    if a.quick:
        recipe, seeds = recipe.scaled(0.2), min(seeds, 2)
    rows = LABELLED if a.no_pool else (*LABELLED, *POOL)
    if a.pool_only:
        rows = (*LABELLED[:2], *POOL)
    print(f"function matching on {a.dataset}: frameworks {a.frameworks}, seeds 0..{seeds - 1}, {recipe}")
    summary, runs = {}, {fw: [] for fw in a.frameworks}
    for fw in a.frameworks:
        for s in range(seeds):
            t0 = time.perf_counter()
            runs[fw] += experiment.run_seed(fw, a.dataset, s, recipe, rows, progress=False)
            print(f"  {fw} seed {s}: {time.perf_counter() - t0:.0f} s", flush=True)
            if a.json:
                a.json.parent.mkdir(parents=True, exist_ok=True)
                a.json.write_text(json.dumps({"recipe": recipe.__dict__, "runs": runs}, indent=1))
        summary[fw] = report(fw, runs[fw])
    if a.json:
        a.json.write_text(json.dumps({"recipe": recipe.__dict__, "runs": runs, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

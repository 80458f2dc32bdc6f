"""When can a student beat its teacher? Born-again networks, ensemble distillation, smoothed teachers.

    python benchmarks/self_ensemble.py [--seeds 5] [--frameworks torch tf] [--dataset mnist1d]
                                       [--members 5] [--quick] [--json out/self_ensemble.json]
    python benchmarks/self_ensemble.py --report out/self_ensemble.json     (re-print a saved run)

Per framework and seed s (kdlib.experiment.Recipe: teacher CNN 40 epochs, lr 1e-2, batch 100;
MLP student 60 epochs, lr 3e-3, batch 64; distillation T = 4, alpha = 0.9):

(a) born-again networks (``born_again``): generation 0 trained on the labels, generation g
    distilled from generation g − 1, same architecture, same epochs per generation; for the MLP
    student (3 generations) and the CNN teacher architecture (2 generations). Control: the same
    network trained from the labels for the same TOTAL number of epochs (test accuracy read at
    epochs 2×, 3×, 4× the generation length of one long run).
(b) ensemble distillation: ``--members`` CNN teachers (seeds s, s + 1000, ...; member 0 is the
    born-again generation 0), averaged in logit or probability space (``ensemble_logits``); one MLP
    student and one CNN distilled from each ensemble. Accuracy and ECE (15 bins) of the ensemble,
    the single teacher (member 0), the students and the scratch MLP (= born-again MLP gen 0).
(c) label-smoothed teacher (Müller et al. 2019): CNN teachers trained with ``fit(label_smoothing=ε)``,
    ε ∈ {0, 0.1, 0.2} (ε = 0 is member 0), and an MLP student distilled from each.

Prints mean ± std over seeds (std with ddof = 1), paired differences per seed and how many seeds
(k/n) a difference is positive.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kdlib import metrics  # noqa: E402
from kdlib.data import load_dataset  # noqa: E402
from kdlib.experiment import Recipe, framework_module  # noqa: E402

SMOOTHING = (0.0, 0.1, 0.2)


def run_seed(framework: str, dataset: str, seed: int, recipe: Recipe, members: int, ban_gens: int) -> dict:
    """Every model of (a), (b), (c) for one seed: {name: {"accuracy", "ece"}}."""
    fw = framework_module(framework)
    ds = load_dataset(dataset)
    f, c = ds.num_features, ds.num_classes
    r = recipe
    kd = {"temperature": r.temperature, "alpha": r.alpha, "progress": False}
    stu = {"epochs": r.student_epochs, "lr": r.student_lr, "batch_size": r.batch_size}
    tea = {"epochs": r.teacher_epochs, "lr": r.teacher_lr, "batch_size": r.teacher_batch_size}
    out: dict[str, dict] = {}

    def record(name: str, logits) -> None:
        logits = np.asarray(logits)
        out[name] = {
            "accuracy": metrics.accuracy(logits, ds.y_test),
            "ece": metrics.expected_calibration_error(logits, ds.y_test),
        }

    def measure(name: str, model) -> None:
        record(name, fw.predict_logits(model, ds.x_test))

    def build(kind: str):
        return lambda s: fw.build_model(kind, f, c, seed=s)

    # (a) born-again, MLP student architecture, and its long-training control
    gens = fw.born_again(build(r.student), ds.x_train, ds.y_train, ban_gens, seed=seed, **kd, **stu)
    for g, m in enumerate(gens):
        measure(f"mlp gen {g}", m)
    ctl = build(r.student)(seed)
    h = fw.fit(
        ctl, ds.x_train, ds.y_train, seed=seed, x_val=ds.x_test, y_val=ds.y_test, progress=False,
        **{**stu, "epochs": stu["epochs"] * (ban_gens + 1)},
    )  # fmt: skip
    for g in range(1, ban_gens + 1):
        out[f"mlp scratch x{g + 1}"] = {"accuracy": h.val_accuracy[stu["epochs"] * (g + 1) - 1], "ece": np.nan}
    measure(f"mlp scratch x{ban_gens + 1}", ctl)

    # (a) born-again, CNN teacher architecture (2 generations), and its control
    cgens = fw.born_again(build(r.teacher), ds.x_train, ds.y_train, 2, seed=seed, **kd, **tea)
    for g, m in enumerate(cgens):
        measure(f"cnn gen {g}", m)
    cctl = build(r.teacher)(seed)
    h = fw.fit(
        cctl, ds.x_train, ds.y_train, seed=seed, x_val=ds.x_test, y_val=ds.y_test, progress=False,
        **{**tea, "epochs": tea["epochs"] * 3},
    )  # fmt: skip
    out["cnn scratch x2"] = {"accuracy": h.val_accuracy[tea["epochs"] * 2 - 1], "ece": np.nan}
    measure("cnn scratch x3", cctl)

    # (b) ensemble of CNN teachers (member 0 = cnn gen 0, trained with seed s)
    teachers = [cgens[0]]
    for k in range(1, members):
        t = build(r.teacher)(seed + 1000 * k)
        fw.fit(t, ds.x_train, ds.y_train, seed=seed + 1000 * k, progress=False, **tea)
        teachers.append(t)
    for k, t in enumerate(teachers):
        measure(f"teacher {k}", t)
    for space in ("logit", "prob"):
        ens = fw.Ensemble(teachers, space=space)
        measure(f"ensemble ({space})", ens)
        s = build(r.student)(seed)
        fw.distill(s, ens, ds.x_train, ds.y_train, seed=seed, **kd, **stu)
        measure(f"mlp from ensemble ({space})", s)
        s = build(r.teacher)(seed + 500)
        fw.distill(s, ens, ds.x_train, ds.y_train, seed=seed + 500, **kd, **tea)
        measure(f"cnn from ensemble ({space})", s)

    # (c) label-smoothed teachers and their students
    for eps in SMOOTHING:
        if eps == 0.0:
            t = teachers[0]
        else:
            t = build(r.teacher)(seed)
            fw.fit(t, ds.x_train, ds.y_train, seed=seed, label_smoothing=eps, progress=False, **tea)
        measure(f"teacher eps={eps}", t)
        s = build(r.student)(seed)
        fw.distill(s, t, ds.x_train, ds.y_train, seed=seed, **kd, **stu)
        measure(f"mlp from teacher eps={eps}", s)
    return out


def pm(v: np.ndarray) -> str:
    return f"{100 * np.mean(v):.1f} ± {100 * np.std(v, ddof=1):.1f}" if len(v) > 1 else f"{100 * v[0]:.1f}"


def diff(a: np.ndarray, b: np.ndarray) -> str:
    d = 100 * (a - b)
    sd = f" ± {d.std(ddof=1):.1f}" if len(d) > 1 else ""
    return f"{d.mean():+.1f}{sd} points, > 0 in {int((d > 0).sum())}/{len(d)} seeds"


def report(framework: str, runs: list[dict], ban_gens: int) -> None:
    acc = {k: np.array([r[k]["accuracy"] for r in runs]) for k in runs[0]}
    ece = {k: np.array([r[k]["ece"] for r in runs]) for k in runs[0]}
    n = len(runs)
    print(f"\n=== {framework}: {n} seeds (0..{n - 1}); accuracy % mean ± std (ddof=1); paired differences per seed")
    print("(a) born-again networks (each generation distilled from the previous one, T=4, alpha=0.9)")
    for arch, gens in (("mlp", ban_gens), ("cnn", 2)):
        print(f"  {arch} gen 0 (trained on labels): {pm(acc[f'{arch} gen 0'])}")
        for g in range(1, gens + 1):
            a, ctl = acc[f"{arch} gen {g}"], acc[f"{arch} scratch x{g + 1}"]
            print(
                f"  {arch} gen {g}: {pm(a)} | vs gen 0 (its first teacher): {diff(a, acc[f'{arch} gen 0'])}"
                + (f" | vs gen {g - 1}: {diff(a, acc[f'{arch} gen {g - 1}'])}" if g > 1 else "")
                + f" | control, labels for {g + 1}x the epochs: {pm(ctl)}; gen {g} − control: {diff(a, ctl)}"
            )
    print("(b) ensemble distillation (CNN teachers; accuracy %, ECE % with 15 bins)")
    for k in ("teacher 0", "ensemble (logit)", "ensemble (prob)", "mlp gen 0",
              "mlp from teacher eps=0.0", "mlp from ensemble (logit)", "mlp from ensemble (prob)",
              "cnn from ensemble (logit)", "cnn from ensemble (prob)"):  # fmt: skip
        print(f"  {k:<28} accuracy {pm(acc[k]):>11} | ECE {pm(ece[k]):>9}")
    single = np.mean([acc[k] for k in acc if k.startswith("teacher ") and "eps" not in k], axis=0)
    print(f"  mean single member: {pm(single)}")
    for sp in ("logit", "prob"):
        print(
            f"  [{sp}] ensemble − teacher 0: {diff(acc[f'ensemble ({sp})'], acc['teacher 0'])}; "
            "MLP from ensemble − MLP from teacher 0: "
            f"{diff(acc[f'mlp from ensemble ({sp})'], acc['mlp from teacher eps=0.0'])}; "
            f"CNN from ensemble − teacher 0: {diff(acc[f'cnn from ensemble ({sp})'], acc['teacher 0'])}; "
            f"CNN from ensemble − ensemble: {diff(acc[f'cnn from ensemble ({sp})'], acc[f'ensemble ({sp})'])}"
        )
    for sp in ("logit", "prob"):
        cnn = acc[f"cnn from ensemble ({sp})"]
        print(
            f"  [{sp}] CNN from ensemble − the same CNN trained on the labels for 2x the epochs: "
            f"{diff(cnn, acc['cnn scratch x2'])}; for 3x: {diff(cnn, acc['cnn scratch x3'])}"
        )
    print(
        "  ensemble prob − logit: accuracy "
        f"{diff(acc['ensemble (prob)'], acc['ensemble (logit)'])}; MLP students prob − logit: "
        f"{diff(acc['mlp from ensemble (prob)'], acc['mlp from ensemble (logit)'])}"
    )
    print("(c) label-smoothed teachers (Müller et al. 2019) and MLP students distilled from them")
    for eps in SMOOTHING:
        t, s = acc[f"teacher eps={eps}"], acc[f"mlp from teacher eps={eps}"]
        line = f"  eps={eps}: teacher {pm(t)} (ECE {pm(ece[f'teacher eps={eps}'])}) | student {pm(s)}"
        if eps:
            line += (
                f" | teacher − eps 0: {diff(t, acc['teacher eps=0.0'])}"
                f" | student − student of eps 0: {diff(s, acc['mlp from teacher eps=0.0'])}"
            )
        print(line)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--frameworks", nargs="+", default=["torch", "tf"])
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--members", type=int, default=5, help="teachers in the ensemble")
    p.add_argument("--generations", type=int, default=3, help="born-again generations of the MLP")
    p.add_argument("--quick", action="store_true", help="2 seeds, epochs × 0.25: a smoke test, not figures")
    p.add_argument("--json", default=None, help="write every per-seed result here")
    p.add_argument("--report", default=None, help="print the report of a JSON written by --json, train nothing")
    a = p.parse_args()
    if a.report:
        for fw, res in json.loads(Path(a.report).read_text()).items():
            report(fw, res["runs"], a.generations)
        return
    recipe = Recipe().scaled(0.25) if a.quick else Recipe()
    seeds = list(range(a.first_seed, a.first_seed + (2 if a.quick else a.seeds)))
    print(f"self_ensemble: {a.dataset}, seeds {seeds}, {a.members} ensemble members, recipe {recipe}")
    results = {}
    for fw in a.frameworks:
        t0 = time.perf_counter()
        runs = []
        for s in tqdm(seeds, desc=f"{fw} seeds"):
            runs.append(run_seed(fw, a.dataset, s, recipe, a.members, a.generations))
        report(fw, runs, a.generations)
        print(f"  ({time.perf_counter() - t0:.0f} s)")
        results[fw] = {"seeds": seeds, "runs": runs}
        if a.json:
            Path(a.json).parent.mkdir(parents=True, exist_ok=True)
            Path(a.json).write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()

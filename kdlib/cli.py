"""The ``kd`` command.

kd demo [--framework torch|tf|both] [--dataset mnist1d|digits] [--seeds N] [--function-matching] [--json PATH]
kd data                      list the embedded data sets
kd grade ASSIGNMENT [...]    autograde collected submissions, sandboxed (kdlib.grading)
kd check ASSIGNMENT [...]    grade your own notebook as kd grade would (points and messages only)
kd start [ASSIGNMENT ...]    copy the student notebooks into work/ (your workspace; never overwritten)
kd drill [...]               interview drill from the question bank (see kdlib.drill)
kd distill --nproc N [...]   distil across N processes: torchrun + DDP (kdlib.torch.ddp; kd distill --help)

Every command speaks English or Chinese: --lang en|zh, or the LANG convention (LANG=zh_CN.UTF-8).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from kdlib.argtypes import non_negative_int, positive_float, positive_int, unit_float
from kdlib.data import available_datasets, load_dataset

_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "MPLBACKEND": "Agg"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kd", description="kd-course: knowledge distillation kit")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser(
        "demo",
        help="teacher vs scratch vs distilled students, both frameworks",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a teacher, the student from scratch and distilled students, per framework "
        "and seed; with a transfer pool also the student trained on the teacher's argmax of the pool "
        "(hard pseudo-labels: the control for the soft targets) and on the pool's true labels (upper "
        "bound). Print one table (mean ± std over seeds) and save a figure.",
    )
    d.add_argument("--framework", choices=["torch", "tf", "both"], default="both", help="which framework(s)")
    d.add_argument("--dataset", choices=available_datasets(), default="mnist1d", help="embedded data set")
    d.add_argument(
        "--seeds", type=positive_int, default=2, help="number of seeds (0..N-1); each trains its own teacher"
    )
    d.add_argument("--temperature", type=positive_float, default=4.0, help="distillation temperature T")
    d.add_argument("--alpha", type=unit_float, default=0.9, help="weight of the soft (teacher) term")
    d.add_argument(
        "--pool-size",
        type=non_negative_int,
        default=25_000,  # kdlib.experiment.Recipe.pool_size (a test keeps them equal)
        help="unlabeled transfer-pool size (0 leaves the pool rows out)",
    )
    d.add_argument(
        "--epochs-scale", type=positive_float, default=1.0, help="multiply every epoch count (e.g. 0.1 for a smoke run)"
    )
    d.add_argument(
        "--function-matching",
        action="store_true",
        help="add the function-matching rows (Beyer et al. 2022): scratch + aug (the fair control), "
        "function matching, FM + pool; long schedules (300 epochs), several minutes per seed",
    )
    d.add_argument("--json", type=Path, default=None, help="write machine-readable results here")
    d.add_argument("--figure", default="out/demo.png", help="where to save the figure ('' for none)")
    d.add_argument("--no-progress", action="store_true", help="hide progress bars")

    sub.add_parser("data", help="list the embedded data sets")

    g = sub.add_parser("grade", help="autograde collected submissions of an assignment", add_help=False)
    g.add_argument("args", nargs=argparse.REMAINDER)
    st = sub.add_parser("start", help="copy the student notebooks into work/ (kd start --help)", add_help=False)
    st.add_argument("args", nargs=argparse.REMAINDER)
    c = sub.add_parser("check", help="grade your own notebook as kd grade would (kd check --help)", add_help=False)
    c.add_argument("args", nargs=argparse.REMAINDER)
    dr = sub.add_parser("drill", help="interview drill (kd drill --help)", add_help=False)
    dr.add_argument("args", nargs=argparse.REMAINDER)
    di = sub.add_parser(
        "distill", help="distil across N processes with torchrun + DDP (kd distill --help)", add_help=False
    )
    di.add_argument("args", nargs=argparse.REMAINDER)
    return p


def _fmt_table(table: list[dict]) -> str:
    head = (
        f"{'framework':<9} {'model':<30} {'accuracy':>15} {'agree':>7} {'gap closed':>10} "
        f"{'params':>8} {'KiB':>7} {'µs/sample':>9}"
    )
    lines = [head, "-" * len(head)]
    for t in table:
        spread = t.get("seeds", 2) > 1
        acc = f"{100 * t['accuracy_mean']:.1f}" + (f" ± {100 * t['accuracy_std']:.1f}" if spread else "")
        gap = "" if t.get("gap_closed") is None else f"{100 * t['gap_closed']:.0f}%"
        lines.append(
            f"{t['framework']:<9} {t['model']:<30} {acc:>15} {100 * t['agreement_mean']:>6.1f}% "
            f"{gap:>10} {t['parameters']:>8,} {t['size_bytes'] / 1024:>7.1f} "
            f"{1000 * t['latency_ms_per_sample_mean']:>9.2f}"
        )
    return "\n".join(lines)


def cmd_demo(a: argparse.Namespace) -> int:
    for k, v in _QUIET_ENV.items():
        os.environ.setdefault(k, v)
    from kdlib import experiment

    recipe = experiment.Recipe(temperature=a.temperature, alpha=a.alpha)
    if a.pool_size is not None:
        recipe = experiment.Recipe(**{**recipe.__dict__, "pool_size": a.pool_size})
    recipe = recipe.scaled(a.epochs_scale)
    rows = experiment.DEFAULT_ROWS + (experiment.FM_ROWS if a.function_matching else ())
    if recipe.pool_size == 0:
        rows = tuple(r for r in rows if r not in experiment.POOL_ROWS)
    frameworks = ["torch", "tf"] if a.framework == "both" else [a.framework]
    progress = False if a.no_progress else None
    print(
        f"kd demo: {a.dataset}, frameworks {frameworks}, seeds 0..{a.seeds - 1}, "
        f"T={recipe.temperature}, alpha={recipe.alpha} (weight of the soft term), "
        f"transfer pool {recipe.pool_size:,} unlabeled inputs"
        + (
            f"; function matching: {recipe.fm_epochs} epochs, batch {recipe.fm_batch_size}, "
            f"mixup {recipe.fm_mixup} + shift + scale + noise, the teacher on every augmented batch"
            if a.function_matching
            else ""
        ),
        flush=True,
    )
    t0 = time.perf_counter()
    runs = []
    for fw in frameworks:
        for seed in range(a.seeds):
            t1 = time.perf_counter()
            for row in experiment.run_seed(fw, a.dataset, seed, recipe, rows, progress):
                runs.append({"framework": fw, **row})
            print(f"  {fw} seed {seed}: {time.perf_counter() - t1:.0f} s", flush=True)
    table = [{**t, "seeds": a.seeds} for t in experiment.summarise(runs)]
    seconds = time.perf_counter() - t0
    print()
    print(_fmt_table(table))
    print(
        f"\naccuracy: {'mean ± std over ' + str(a.seeds) + ' seeds' if a.seeds > 1 else 'one seed'} on the "
        f"{len(load_dataset(a.dataset).y_test)}"
        f" test samples; agree: top-1 agreement with the teacher; gap closed: share of the "
        f"teacher–scratch accuracy gap; {seconds:.0f} s in all."
    )
    if a.figure:
        from kdlib.plots import plot_results

        fig_path = Path(a.figure)
        fig_path.parent.mkdir(parents=True, exist_ok=True)
        bars = f"error bars: ± one std over {a.seeds} seeds" if a.seeds > 1 else "one seed: no error bars"
        plot_results(table, title=f"kd demo on {a.dataset} ({bars})").savefig(fig_path, dpi=120)
        print(f"figure: {a.figure}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "dataset": a.dataset,
            "frameworks": frameworks,
            "seeds": a.seeds,
            "recipe": recipe.__dict__,
            "seconds": seconds,
            "summary": table,
            "runs": runs,
        }
        a.json.write_text(json.dumps(payload, indent=2))
        print(f"json: {a.json}")
    return 0


def cmd_data(_: argparse.Namespace) -> int:
    for name in available_datasets():
        ds = load_dataset(name)
        print(f"{name:<8} {ds!r}\n         {ds.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from kdlib.i18n.console import activate, split_lang

    # kd drill and kd start take --lang themselves; the other commands take it here
    try:
        lang, argv = split_lang(argv, keep=argv[:1] in (["drill"], ["start"]))
    except ValueError as err:
        print(f"kd: {err}", file=sys.stderr)
        return 2
    activate(lang)
    if argv[:1] == ["grade"]:
        from kdlib.grading.cli import grade_cli

        return grade_cli(argv[1:])
    if argv[:1] == ["start"]:
        from kdlib.workspace import cli as start_cli

        return start_cli(argv[1:])
    if argv[:1] == ["check"]:
        from kdlib.grading.check import cli as check_cli

        return check_cli(argv[1:])
    if argv[:1] == ["drill"]:
        from kdlib import drill

        return drill.cli(argv[1:])
    if argv[:1] == ["distill"]:
        from kdlib.torch.ddp import cli as distill_cli

        return distill_cli(argv[1:])
    a = build_parser().parse_args(argv)
    return {"demo": cmd_demo, "data": cmd_data}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())

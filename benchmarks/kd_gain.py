"""KD gain: student from scratch vs distilled, mean ± std over seeds, per framework and data set.

    python benchmarks/kd_gain.py [--seeds 5] [--frameworks torch tf] [--datasets mnist1d digits]

Each seed trains its own teacher, then a scratch and a distilled student with the same
epochs, optimiser and initial weights (kdlib.experiment.Recipe). Prints one line per setting.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from kdlib import experiment  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--frameworks", nargs="+", default=["torch", "tf"])
    p.add_argument("--datasets", nargs="+", default=["mnist1d", "digits"])
    p.add_argument("--json", default=None)
    a = p.parse_args()
    recipe = experiment.Recipe()
    print(f"recipe: {recipe}")
    results = []
    rows = ("teacher", "student (scratch)", "student (KD)")
    for ds in a.datasets:
        for fw in a.frameworks:
            t0 = time.perf_counter()
            runs = [r for s in range(a.seeds) for r in experiment.run_seed(fw, ds, s, recipe, rows, False)]
            acc = {m: np.array([r["accuracy"] for r in runs if r["model"] == m]) for m in rows}
            gain = acc["student (KD)"] - acc["student (scratch)"]
            line = {
                "dataset": ds,
                "framework": fw,
                "seeds": a.seeds,
                "T": recipe.temperature,
                "alpha": recipe.alpha,
                **{f"{m}_mean": float(v.mean()) for m, v in acc.items()},
                **{f"{m}_std": float(v.std(ddof=1)) for m, v in acc.items()},
                "gain_mean": float(gain.mean()),
                "gain_std": float(gain.std(ddof=1)),
                "seconds": time.perf_counter() - t0,
            }
            results.append(line)

            def pm(v: np.ndarray) -> str:
                return f"{100 * v.mean():.1f} ± {100 * v.std(ddof=1):.1f}"

            print(
                f"{ds:<8} {fw:<6} teacher {pm(acc['teacher'])} | scratch {pm(acc['student (scratch)'])}"
                f" | KD {pm(acc['student (KD)'])} | gain {100 * gain.mean():+.1f} ± {100 * gain.std(ddof=1):.1f} points"
                f" (paired, {a.seeds} seeds, T={recipe.temperature}, alpha={recipe.alpha})"
                f" [{line['seconds']:.0f} s]",
                flush=True,
            )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()

"""Distillation epoch time with cached teacher logits vs the teacher recomputed every batch.

    python benchmarks/teacher_cache.py [--epochs 12] [--frameworks torch tf]

Both runs use the same teacher, student, data (mnist1d, 4,000 inputs) and batch size, in one
process; the ratio is recomputed-time / cached-time per epoch (median over epochs: two
interleaved runs of each kind, first epoch of each run left out; 12 epochs, since at 4 the
TensorFlow ratio varied from 0.8× to 1.7× between runs).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from kdlib import experiment, load_dataset  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--frameworks", nargs="+", default=["torch", "tf"])
    p.add_argument("--batch-size", type=int, default=64)
    a = p.parse_args()
    ds = load_dataset("mnist1d")
    for name in a.frameworks:
        fw = experiment.framework_module(name)
        teacher = fw.build_model("teacher", ds.num_features, 10, seed=0)
        fw.fit(teacher, ds.x_train, ds.y_train, epochs=2, seed=0, progress=False)
        times = {}
        for cache in (True, False, True, False):  # interleaved, to spread machine noise
            st = fw.build_model("student", ds.num_features, 10, seed=0)
            h = fw.distill(
                st,
                teacher,
                ds.x_train,
                ds.y_train,
                epochs=a.epochs,
                seed=0,
                batch_size=a.batch_size,
                cache_teacher=cache,
                progress=False,
            )
            times.setdefault(cache, []).extend(h.seconds[1:])  # first epoch includes tracing
        cached, fresh = np.median(times[True]), np.median(times[False])
        print(
            f"{name:<6} epoch with cached teacher logits {cached:.3f} s, teacher every batch "
            f"{fresh:.3f} s -> {fresh / cached:.2f}x faster (batch {a.batch_size}, "
            f"{len(times[True])} epochs each)",
            flush=True,
        )


if __name__ == "__main__":
    main()

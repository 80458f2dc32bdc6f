"""keras.distillation's default loss against the kit's T²-scaled KD, on the same runs.

    python benchmarks/keras_default_loss.py [--seeds 0 1 2] [--epochs 30]

Notebook 06's recipe on MNIST-1D (4,000 train / 1,000 test): per seed a Keras CNN teacher
(10 epochs), then four students with the same initial weights (``build_model("student",
seed=seed)``, an MLP with 100 hidden units), the same shuffled batches (128), Adam(lr 0.01,
epsilon 1e-8) and the same number of epochs (30):

    scratch                   kdlib.tf.fit on the labels alone
    kdlib KD (T²·KL)          kdlib.tf.distill: alpha · T² · KL(teacher ‖ student) + (1 − alpha) · CE
    keras default loss        keras.distillation.Distiller + LogitsDistillation(temperature=T)
                              with its default loss="kl_divergence"
    keras KLDivergence()      the same with loss=keras.losses.KLDivergence() passed as an instance

T = 4, alpha = 0.9; Keras' ``student_loss_weight`` is 1 − alpha = 0.1 (it weighs the hard term;
``--student-loss-weight`` changes it for the two keras arms, e.g. to Keras' default 0.5).
Prints each seed's test accuracy and the mean ± sample standard deviation (ddof=1) over seeds,
plus the paired difference of each arm from scratch.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.distillation import Distiller as KerasDistiller  # noqa: E402
from keras.distillation import LogitsDistillation  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kdlib import load_dataset  # noqa: E402
from kdlib.tf import build_model, distill, evaluate, fit  # noqa: E402

ARMS = ("scratch", "kdlib KD (T²·KL)", "keras default loss", "keras KLDivergence()")
TEACHER_EPOCHS, BATCH, LR, T, ALPHA = 10, 128, 1e-2, 4.0, 0.9


def keras_builtin(student: keras.Model, teacher: keras.Model, ds, loss, seed: int, epochs: int, weight: float) -> float:
    """Distil with keras.distillation.Distiller and LogitsDistillation(T, loss); test accuracy."""
    keras.utils.set_random_seed(seed)
    distillation = LogitsDistillation(temperature=T) if loss is None else LogitsDistillation(temperature=T, loss=loss)
    distiller = KerasDistiller(
        teacher=teacher, student=student, distillation_losses=distillation, student_loss_weight=weight
    )
    distiller.compile(
        optimizer=keras.optimizers.Adam(LR, epsilon=1e-8),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=32,
    )
    batches = (
        tf.data.Dataset.from_tensor_slices((ds.x_train, ds.y_train))
        .shuffle(len(ds.y_train), seed=seed, reshuffle_each_iteration=True)
        .batch(BATCH)
    )
    distiller.fit(batches, epochs=epochs, shuffle=False, verbose=0)
    return evaluate(student, ds.x_test, ds.y_test)


def run_seed(seed: int, epochs: int, weight: float, bar) -> dict[str, float]:
    """One teacher and the four students of ``seed``: arm -> test accuracy."""
    ds = load_dataset("mnist1d")
    f, c = ds.num_features, ds.num_classes
    teacher = build_model("teacher", f, c, seed=seed)
    fit(teacher, ds.x_train, ds.y_train, epochs=TEACHER_EPOCHS, batch_size=BATCH, lr=LR, seed=seed, progress=False)
    out = {"teacher": evaluate(teacher, ds.x_test, ds.y_test)}
    bar.update()

    def student() -> keras.Model:
        return build_model("student", f, c, seed=seed)

    s = student()
    fit(s, ds.x_train, ds.y_train, epochs=epochs, batch_size=BATCH, lr=LR, seed=seed, progress=False)
    out["scratch"] = evaluate(s, ds.x_test, ds.y_test)
    bar.update()
    s = student()
    distill(
        s, teacher, ds.x_train, ds.y_train, temperature=T, alpha=ALPHA, epochs=epochs, batch_size=BATCH, lr=LR,
        seed=seed, progress=False,
    )  # fmt: skip
    out["kdlib KD (T²·KL)"] = evaluate(s, ds.x_test, ds.y_test)
    bar.update()
    out["keras default loss"] = keras_builtin(student(), teacher, ds, None, seed, epochs, weight)
    bar.update()
    out["keras KLDivergence()"] = keras_builtin(
        student(), teacher, ds, keras.losses.KLDivergence(), seed, epochs, weight
    )
    bar.update()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--student-loss-weight", type=float, default=round(1.0 - ALPHA, 6))
    a = p.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    print(
        f"MNIST-1D, Keras {keras.__version__} / TensorFlow {tf.__version__}; teacher CNN {TEACHER_EPOCHS} epochs; "
        f"students MLP(100) {a.epochs} epochs, batch {BATCH}, Adam lr {LR}; T = {T}, alpha = {ALPHA} "
        f"(keras student_loss_weight = {a.student_loss_weight:g}); seeds {a.seeds}",
        flush=True,
    )
    t0 = time.perf_counter()
    results = []
    with tqdm(total=5 * len(a.seeds), desc="runs", unit="run") as bar:
        for seed in a.seeds:
            r = run_seed(seed, a.epochs, a.student_loss_weight, bar)
            results.append(r)
            tqdm.write(f"seed {seed}: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in r.items()))
    acc = {k: np.array([r[k] for r in results]) for k in ("teacher", *ARMS)}
    print(f"\ntest accuracy, mean ± std (ddof=1) over {len(a.seeds)} seeds {a.seeds}:")
    for k, v in acc.items():
        per_seed = ", ".join(f"{100 * x:.1f}" for x in v)
        print(f"  {k:<22} {100 * v.mean():5.1f}% ± {100 * v.std(ddof=1):.1f}   (per seed: {per_seed})")
    print("difference from scratch, paired by seed (points):")
    for k in ARMS[1:]:
        d = 100 * (acc[k] - acc["scratch"])
        print(f"  {k:<22} {d.mean():+5.1f} ± {d.std(ddof=1):.1f}")
    print(f"[{time.perf_counter() - t0:.0f} s]")


if __name__ == "__main__":
    main()

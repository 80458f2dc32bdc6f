"""The comparison behind ``kd demo`` and the benchmarks, written once for both frameworks.

kdlib.torch and kdlib.tf expose the same functions (build_model, fit, distill,
predict_logits), so one routine runs on either side. Rows per seed:

    teacher                   CNN trained on the labeled training set
    student (scratch)         the student trained on the same labels
    student (KD)              the student distilled from the teacher on the labeled set
    student (KD + pool)       distilled on labeled set + an unlabeled transfer pool
    student (pool, teacher argmax)
                              control for KD + pool: the student trained with cross-entropy on
                              the labeled set + the same pool labelled by the teacher's argmax
                              (hard pseudo-labels, no soft targets); same epochs, optimiser,
                              learning rate and batch size as KD + pool
    student (pool, labels)    upper bound: the student trained on labeled set + pool WITH labels

Function matching (Beyer et al. 2022, "the patient, consistent teacher"; ``FM_ROWS``, long
schedules, so ``kd demo --function-matching`` only):

    student (scratch + aug)   the fair control: labels only, with the same augmentation
                              (kdlib.augment.for_dataset: mixup + shift + scale + noise) and the
                              same long schedule as function matching
    student (function matching)
                              distil(..., augment=): teacher and student see the same augmented
                              view of every batch (no logit cache), labeled set only
    student (FM + pool)       function matching on labeled set + the unlabeled pool

KD + pool minus teacher argmax is what the soft targets (dark knowledge) add on top of simply
having more teacher-labelled inputs; teacher argmax minus scratch is what the extra inputs do.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kdlib import augment as augment_lib
from kdlib import metrics
from kdlib.data import load_dataset, load_transfer_pool

FRAMEWORKS = ("torch", "tf")
ROWS = (
    "teacher",
    "student (scratch)",
    "student (KD)",
    "student (KD + pool)",
    "student (pool, teacher argmax)",
    "student (pool, labels)",
)
FM_ROWS = ("student (scratch + aug)", "student (function matching)", "student (FM + pool)")
#: every row ``run_seed`` knows: the default demo rows, then the (long) function-matching ones
ROWS = ROWS + FM_ROWS
DEFAULT_ROWS = ROWS[: -len(FM_ROWS)]
POOL_ROWS = ("student (KD + pool)", "student (pool, teacher argmax)", "student (pool, labels)", "student (FM + pool)")


@dataclass(frozen=True)
class Recipe:
    """Hyper-parameters of the comparison (the same on both frameworks)."""

    teacher: str = "teacher"
    student: str = "student"
    teacher_epochs: int = 40
    teacher_lr: float = 1e-2
    teacher_batch_size: int = 100
    student_epochs: int = 60
    student_lr: float = 3e-3
    batch_size: int = 64
    temperature: float = 4.0
    alpha: float = 0.9
    pool_size: int = 25_000
    pool_epochs: int = 50
    pool_lr: float = 1e-2
    pool_batch_size: int = 256
    # function matching (FM_ROWS): long schedule, larger batches (the teacher runs on every one)
    fm_epochs: int = 300
    fm_lr: float = 3e-3
    fm_batch_size: int = 128
    fm_temperature: float = 1.0  # Beyer et al.: KL at T = 1 on the teacher's view, labels unused
    fm_alpha: float = 1.0
    fm_pool_epochs: int = 150
    fm_pool_lr: float = 1e-2
    fm_mixup: float = 0.4

    def scaled(self, factor: float) -> Recipe:
        """The same recipe with every epoch count multiplied by ``factor`` (at least 1)."""
        kw = asdict(self)
        for k in ("teacher_epochs", "student_epochs", "pool_epochs", "fm_epochs", "fm_pool_epochs"):
            kw[k] = max(1, round(kw[k] * factor))
        return Recipe(**kw)


def framework_module(name: str):
    """``kdlib.torch`` or ``kdlib.tf`` by name."""
    if name not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {list(FRAMEWORKS)}, got {name!r}")
    if name == "torch":
        import torch

        # These models are tiny: one intra-op thread is as fast alone and 2-3x faster when
        # the other core is busy (measured: student epoch 0.12 s vs 0.31 s under load).
        torch.set_num_threads(1)
    return importlib.import_module(f"kdlib.{name}")


def fm_augment(dataset: str, recipe: Recipe) -> augment_lib.Augment:
    """The function-matching augmentation of the FM rows: mixup(fm_mixup) + for_dataset's shift/scale/noise."""
    parts = augment_lib.for_dataset(dataset, mix=False)
    return augment_lib.compose(augment_lib.mixup(recipe.fm_mixup), parts) if recipe.fm_mixup > 0 else parts


def teacher_argmax(fw, teacher, x: np.ndarray) -> np.ndarray:
    """The teacher's hard pseudo-labels for ``x``: argmax of its logits, (N,) int64."""
    return np.asarray(fw.predict_logits(teacher, x)).argmax(axis=1).astype(np.int64)


def _measure(fw, name: str, model, ds, teacher_test_logits, seed: int) -> dict:
    logits = fw.predict_logits(model, ds.x_test)
    lat = metrics.latency(lambda a: fw.predict_logits(model, a), ds.x_test[:256], repeats=10)
    return {
        "model": name,
        "seed": seed,
        "accuracy": metrics.accuracy(logits, ds.y_test),
        "agreement": metrics.agreement(logits, teacher_test_logits),
        "ece": metrics.expected_calibration_error(logits, ds.y_test),
        "parameters": metrics.num_parameters(model),
        "size_bytes": metrics.size_bytes(model),
        "latency_ms_per_sample": lat["ms_per_sample"],
    }


def run_seed(
    framework: str,
    dataset: str = "mnist1d",
    seed: int = 0,
    recipe: Recipe = Recipe(),
    rows: Sequence[str] = ROWS,
    progress: bool | None = None,
) -> list[dict]:
    """Train every requested row once with ``seed``; one dict of metrics per row."""
    unknown = set(rows) - set(ROWS)
    if unknown:
        raise ValueError(f"rows must be taken from {list(ROWS)}, got {sorted(unknown)}")
    fw = framework_module(framework)
    ds = load_dataset(dataset)
    f, c = ds.num_features, ds.num_classes
    r = recipe
    teacher = fw.build_model(r.teacher, f, c, seed=seed)
    fw.fit(
        teacher,
        ds.x_train,
        ds.y_train,
        epochs=r.teacher_epochs,
        lr=r.teacher_lr,
        batch_size=r.teacher_batch_size,
        seed=seed,
        progress=progress,
        desc=f"{framework} teacher",
    )
    t_logits = fw.predict_logits(teacher, ds.x_test)
    out = [_measure(fw, "teacher", teacher, ds, t_logits, seed)] if "teacher" in rows else []
    kd = {"temperature": r.temperature, "alpha": r.alpha, "seed": seed, "progress": progress}
    need_pool = set(POOL_ROWS) & set(rows)
    pool, pool_y = load_transfer_pool(dataset, r.pool_size, return_labels=True) if need_pool else (None, None)
    augment = fm_augment(dataset, r)
    for name in rows:
        if name == "teacher":
            continue
        st = fw.build_model(r.student, f, c, seed=seed)
        common = {"epochs": r.student_epochs, "lr": r.student_lr, "batch_size": r.batch_size}
        pool_common = {"epochs": r.pool_epochs, "lr": r.pool_lr, "batch_size": r.pool_batch_size}
        fm = {"epochs": r.fm_epochs, "lr": r.fm_lr, "batch_size": r.fm_batch_size, "augment": augment}
        fm_kd = {**kd, "temperature": r.fm_temperature, "alpha": r.fm_alpha}
        if name == "student (scratch + aug)":
            fw.fit(st, ds.x_train, ds.y_train, seed=seed, progress=progress, desc=f"{framework} scratch+aug", **fm)
        elif name == "student (function matching)":
            fw.distill(st, teacher, ds.x_train, ds.y_train, desc=f"{framework} FM", **fm_kd, **fm)
        elif name == "student (FM + pool)":
            fw.distill(
                st,
                teacher,
                ds.x_train,
                ds.y_train,
                x_unlabeled=pool,
                desc=f"{framework} FM+pool",
                **fm_kd,
                **{**fm, "epochs": r.fm_pool_epochs, "lr": r.fm_pool_lr, "batch_size": r.pool_batch_size},
            )
        elif name == "student (scratch)":
            fw.fit(st, ds.x_train, ds.y_train, seed=seed, progress=progress, desc=f"{framework} scratch", **common)
        elif name == "student (KD)":
            fw.distill(st, teacher, ds.x_train, ds.y_train, desc=f"{framework} KD", **kd, **common)
        elif name == "student (KD + pool)":
            fw.distill(
                st, teacher, ds.x_train, ds.y_train, x_unlabeled=pool, desc=f"{framework} KD+pool", **kd, **pool_common
            )
        elif name == "student (pool, teacher argmax)":
            fw.fit(
                st,
                np.concatenate([ds.x_train, pool]),
                np.concatenate([ds.y_train, teacher_argmax(fw, teacher, pool)]),
                seed=seed,
                progress=progress,
                desc=f"{framework} pool+argmax",
                **pool_common,
            )
        else:
            fw.fit(
                st,
                np.concatenate([ds.x_train, pool]),
                np.concatenate([ds.y_train, pool_y]),
                seed=seed,
                progress=progress,
                desc=f"{framework} pool+labels",
                **pool_common,
            )
        out.append(_measure(fw, name, st, ds, t_logits, seed))
    return out


def summarise(runs: Sequence[dict]) -> list[dict]:
    """Mean and std over seeds per (framework, model), plus the share of the gap closed.

    gap_closed = (acc − acc_scratch) / (acc_teacher − acc_scratch), from the seed means.
    """
    keys = ("accuracy", "agreement", "ece", "latency_ms_per_sample")
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["framework"], r["model"]), []).append(r)
    table = []
    for (fw, model), rs in groups.items():
        row = {
            "framework": fw,
            "model": model,
            "seeds": len(rs),
            "parameters": rs[0]["parameters"],
            "size_bytes": rs[0]["size_bytes"],
        }
        for k in keys:
            vals = np.array([r[k] for r in rs], dtype=float)
            row[f"{k}_mean"] = float(vals.mean())
            row[f"{k}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        table.append(row)
    for fw in {t["framework"] for t in table}:
        acc = {t["model"]: t["accuracy_mean"] for t in table if t["framework"] == fw}
        for t in table:
            if t["framework"] != fw:
                continue
            gap = acc.get("teacher", np.nan) - acc.get("student (scratch)", np.nan)
            if t["model"].startswith("student") and t["model"] != "student (scratch)" and gap > 0:
                t["gap_closed"] = float((t["accuracy_mean"] - acc["student (scratch)"]) / gap)
            else:
                t["gap_closed"] = None
    return table

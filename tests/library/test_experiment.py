"""kdlib.experiment: the control arms — the teacher's argmax of the pool, and scratch + aug for function matching."""

from __future__ import annotations

import numpy as np
import pytest

from kdlib import experiment, load_dataset
from kdlib.data import load_transfer_pool

ARGMAX = "student (pool, teacher argmax)"
TINY = experiment.Recipe(pool_size=300).scaled(0.025)  # 1 teacher epoch, 2 student epochs, 1 pool epoch


def _teacher_argmax_independently(framework: str, teacher, x: np.ndarray) -> np.ndarray:
    """argmax of the teacher's logits in inference mode, computed without kdlib's predict helpers."""
    if framework == "torch":
        import torch

        teacher.eval()
        with torch.no_grad():
            return teacher(torch.from_numpy(x)).argmax(1).numpy()
    return np.asarray(teacher(x, training=False)).argmax(1)


@pytest.mark.parametrize("framework", experiment.FRAMEWORKS)
def test_argmax_arm_trains_on_the_teachers_argmax_of_the_pool(framework, monkeypatch):
    fw = experiment.framework_module(framework)
    fits, distills = [], []
    real_fit, real_distill = fw.fit, fw.distill

    def spy_fit(model, x, y, **kw):
        fits.append((model, np.array(x), np.array(y), kw))
        return real_fit(model, x, y, **kw)

    def spy_distill(student, teacher, x, y=None, **kw):
        distills.append(kw)
        return real_distill(student, teacher, x, y, **kw)

    monkeypatch.setattr(fw, "fit", spy_fit)
    monkeypatch.setattr(fw, "distill", spy_distill)
    rows = ("student (KD + pool)", ARGMAX)
    out = experiment.run_seed(framework, "mnist1d", 0, TINY, rows, progress=False)

    assert [r["model"] for r in out] == list(rows)
    assert len(fits) == 2, "one fit for the teacher, one for the argmax arm"
    teacher = fits[0][0]
    _, x, y, kw = fits[1]
    ds = load_dataset("mnist1d")
    pool, pool_true = load_transfer_pool("mnist1d", 300, return_labels=True)
    n = len(ds.x_train)
    np.testing.assert_array_equal(x, np.concatenate([ds.x_train, pool]))
    np.testing.assert_array_equal(y[:n], ds.y_train)  # the labeled set keeps its true labels
    want = _teacher_argmax_independently(framework, teacher, pool)
    np.testing.assert_array_equal(y[n:], want)  # the pool: exactly the teacher's argmax
    # a 1-epoch teacher is often wrong, so this arm is not the true-label upper bound in disguise
    assert (want != pool_true).sum() > 30
    # same epochs, learning rate and batch size as KD + pool
    same = ("epochs", "lr", "batch_size")
    assert {k: kw[k] for k in same} == {k: distills[0][k] for k in same}
    assert (kw["epochs"], kw["lr"], kw["batch_size"]) == (TINY.pool_epochs, TINY.pool_lr, TINY.pool_batch_size)


def test_teacher_argmax_is_the_argmax_of_the_logits():
    class Fake:
        @staticmethod
        def predict_logits(model, x):
            return np.array([[0.1, 2.0, -1.0], [5.0, 4.9, 0.0], [-3.0, -2.0, -1.0]], np.float32)

    got = experiment.teacher_argmax(Fake, None, np.zeros((3, 2), np.float32))
    assert got.dtype == np.int64 and got.tolist() == [1, 0, 2]


def test_rows_order_and_unknown_row():
    assert experiment.ROWS.index(ARGMAX) == experiment.ROWS.index("student (KD + pool)") + 1
    assert experiment.ROWS[:3] == ("teacher", "student (scratch)", "student (KD)")
    with pytest.raises(ValueError, match="rows must be taken from"):
        experiment.run_seed("torch", rows=("student (pool, argmax)",))


@pytest.mark.parametrize("framework", experiment.FRAMEWORKS)
def test_function_matching_rows_share_augmentation_and_schedule(framework, monkeypatch):
    """scratch + aug is the fair control: the same augment callable, epochs, lr and batch size as FM."""
    fw = experiment.framework_module(framework)
    calls = []
    real_fit, real_distill = fw.fit, fw.distill

    def spy_fit(model, x, y, **kw):
        calls.append(("fit", kw))
        return real_fit(model, x, y, **kw)

    def spy_distill(student, teacher, x, y=None, **kw):
        calls.append(("distill", kw))
        return real_distill(student, teacher, x, y, **kw)

    monkeypatch.setattr(fw, "fit", spy_fit)
    monkeypatch.setattr(fw, "distill", spy_distill)
    rows = ("student (scratch + aug)", "student (function matching)")
    out = experiment.run_seed(framework, "mnist1d", 0, TINY, rows, progress=False)
    assert [r["model"] for r in out] == list(rows)
    (_, teacher_kw), (f1, control), (f2, fm) = calls
    assert (f1, f2) == ("fit", "distill") and teacher_kw.get("augment") is None
    assert control["augment"] is not None and control["augment"] is fm["augment"]
    same = ("epochs", "lr", "batch_size", "seed")
    assert {k: control[k] for k in same} == {k: fm[k] for k in same}
    assert (fm["epochs"], fm["temperature"], fm["alpha"]) == (TINY.fm_epochs, TINY.fm_temperature, TINY.fm_alpha)


def test_fm_rows_are_out_of_the_default_demo_but_known():
    assert set(experiment.FM_ROWS) <= set(experiment.ROWS)
    assert not set(experiment.FM_ROWS) & set(experiment.DEFAULT_ROWS)
    assert "student (FM + pool)" in experiment.POOL_ROWS
    assert experiment.Recipe().scaled(0.1).fm_epochs == round(experiment.Recipe().fm_epochs * 0.1)

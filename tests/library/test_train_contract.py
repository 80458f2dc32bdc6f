"""The training contract, on PyTorch and TensorFlow alike (as tests/library/test_loss_contract.py is for losses).

``fit`` and ``distill`` have the same names, arguments and meaning on both sides: a tiny batch is
memorised; a seed fixes the result; the teacher is never changed; unlabelled rows (label -1, or
``x_unlabeled``) feed the soft term only — ``distill`` optimises exactly the contract's
``kd_loss(..., ignore_index=-1)``, checked against the NumPy reference; with ``augment=``
(kdlib.augment) the teacher sees exactly the student's augmented batch (function matching),
mixup mixes the hard labels, and the seed fixes the views; bad arguments raise a ValueError
naming the argument. Framework-specific behaviour stays in test_torch_train.py and
test_tf_train.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from kdlib import augment as aug
from kdlib import reference as ref

N, F, C = 256, 12, 3
X, Y = np.zeros((8, F), np.float32), np.zeros(8, np.int64)


class Side:
    """One framework's kdlib side, NumPy in and out."""

    def __init__(self, name: str):
        self.name = name
        if name == "torch":
            import kdlib.torch as kd
        else:
            import kdlib.tf as kd
        self.kd = kd

    def build(self, name: str, seed: int):
        return self.kd.build_model(name, F, C, seed=seed)

    def weights(self, model) -> list[np.ndarray]:
        if self.name == "torch":
            return [v.detach().numpy().copy() for v in model.state_dict().values()]
        return [np.array(w) for w in model.get_weights()]

    def logits(self, model, x) -> np.ndarray:
        return np.asarray(self.kd.predict_logits(model, x), np.float64)


@pytest.fixture(params=["torch", "tf"], scope="module")
def side(request) -> Side:
    return Side(request.param)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, F)).astype(np.float32)
    y = (x @ rng.normal(size=(F, C))).argmax(1).astype(np.int64)  # a learnable linear rule
    return x, y


@pytest.fixture(scope="module")
def teacher(side, data):
    t = side.build("teacher", seed=0)
    side.kd.fit(t, *data, epochs=20, lr=1e-2, batch_size=64, seed=0, progress=False)
    return t


def test_a_tiny_batch_is_memorised(side, data):
    x, y = data[0][:32], data[1][:32]
    model = side.build("student", seed=0)
    hist = side.kd.fit(model, x, y, epochs=150, batch_size=32, lr=1e-2, seed=0, progress=False)
    assert side.kd.evaluate(model, x, y) == 1.0
    assert hist.loss[-1] < 0.05 * hist.loss[0]


def test_the_same_seed_gives_the_same_weights(side, data):
    runs = []
    for _ in range(2):
        model = side.build("student-small", seed=3)
        side.kd.fit(model, *data, epochs=2, seed=7, progress=False)
        runs.append(side.weights(model))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    other = side.build("student-small", seed=3)
    side.kd.fit(other, *data, epochs=2, seed=8, progress=False)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[0], side.weights(other), strict=True))


@pytest.mark.parametrize("cache_teacher", [True, False])
def test_distill_leaves_the_teacher_unchanged_and_the_loss_falls(side, data, teacher, cache_teacher):
    before = side.weights(teacher)
    student = side.build("student", seed=1)
    hist = side.kd.distill(
        student, teacher, *data, epochs=8, lr=1e-2, batch_size=64, seed=1, cache_teacher=cache_teacher, progress=False
    )
    for a, b in zip(before, side.weights(teacher), strict=True):
        np.testing.assert_array_equal(a, b)
    assert hist.loss[-1] < 0.75 * hist.loss[0], hist.loss


@pytest.mark.parametrize("alpha", [0.9, 0.3])
def test_distill_optimises_the_contracts_masked_kd_loss(side, data, teacher, alpha):
    """One full batch, one epoch: the recorded loss is kd_loss(ignore_index=-1) at the initial weights."""
    x, y = data
    labelled, pool = x[:40], x[40:100]  # 40 labelled rows, 60 unlabelled ones
    student = side.build("student", seed=2)
    x_all = np.concatenate([labelled, pool])
    y_all = np.concatenate([y[:40], np.full(len(pool), -1)])
    want = ref.kd_loss(side.logits(student, x_all), side.logits(teacher, x_all), y_all, 3.0, alpha, ignore_index=-1)
    hist = side.kd.distill(
        student, teacher, labelled, y[:40], x_unlabeled=pool, temperature=3.0, alpha=alpha,
        epochs=1, batch_size=len(x_all), seed=0, progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(hist.loss[0], want, rtol=2e-5)


def test_label_free_distillation_is_the_soft_term_alone(side, data, teacher):
    x = data[0][:64]
    student = side.build("student-small", seed=4)
    want = 0.9 * ref.distillation_loss(side.logits(student, x), side.logits(teacher, x), 4.0)
    hist = side.kd.distill(student, teacher, x, None, epochs=1, batch_size=64, seed=0, progress=False)
    np.testing.assert_allclose(hist.loss[0], want, rtol=2e-5)


def _replay(augment, x: np.ndarray, seed: int) -> aug.View:
    """The first augmented batch ``fit``/``distill`` draw with ``seed`` (batch = the whole set)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    view = aug.apply(augment, x[order], rng)
    return aug.View(view.x, view.partner, view.lam), order


def _strong_shift(x, rng):
    """An augmentation the teacher's clean logits cannot pass for: roll by 1..5 and add noise."""
    return np.roll(x, int(rng.integers(1, 6)), axis=1) + rng.normal(0, 0.5, x.shape).astype(np.float32)


@pytest.mark.parametrize("mix", [False, True], ids=["shift+noise", "mixup"])
def test_with_augment_the_teacher_sees_the_students_view(side, data, teacher, mix):
    """One full batch, one epoch: the loss is kd_loss(student(view), teacher(view)) of the replayed view.

    An inconsistent teacher (clean input) or a cache would give kd_loss(student(view), teacher(x)).
    """
    x, y = data[0][:96], data[1][:96].copy()
    y[60:] = -1  # some unlabelled rows
    augment = aug.compose(aug.mixup(0.4), _strong_shift) if mix else _strong_shift
    student = side.build("student", seed=2)
    view, order = _replay(augment, x, seed=5)
    s, t = side.logits(student, view.x), side.logits(teacher, view.x)
    yo = y[order]
    want = ref.kd_loss(s, t, yo, 3.0, 0.5, ignore_index=-1)
    if mix:
        assert view.partner is not None and 0 < view.lam < 1
        want = view.lam * want + (1 - view.lam) * ref.kd_loss(s, t, yo[view.partner], 3.0, 0.5, ignore_index=-1)
    wrong = ref.kd_loss(s, side.logits(teacher, x[order]), yo, 3.0, 0.5, ignore_index=-1)
    hist = side.kd.distill(
        student, teacher, x, y, temperature=3.0, alpha=0.5, epochs=1, batch_size=len(x), seed=5,
        augment=augment, cache_teacher=True, progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(hist.loss[0], want, rtol=2e-5)
    assert abs(want - wrong) > 1e-3 * abs(want)


def test_fit_with_mixup_mixes_the_labels(side, data):
    x, y = data[0][:64], data[1][:64]
    augment = aug.compose(aug.mixup(0.4), aug.noise(0.1))
    model = side.build("student-small", seed=3)
    view, order = _replay(augment, x, seed=2)
    logits = side.logits(model, view.x)
    yo = y[order]
    want = view.lam * ref.cross_entropy(logits, yo) + (1 - view.lam) * ref.cross_entropy(logits, yo[view.partner])
    hist = side.kd.fit(model, x, y, epochs=1, batch_size=len(x), seed=2, augment=augment, progress=False)
    np.testing.assert_allclose(hist.loss[0], want, rtol=2e-5)


@pytest.mark.parametrize("fn", ["fit", "distill"])
def test_augmented_runs_are_reproducible_from_the_seed(side, data, teacher, fn):
    augment = aug.for_dataset("mnist1d") if F == 40 else aug.compose(aug.mixup(), aug.shift(2), aug.noise(0.1))
    runs = []
    for seed in (4, 4, 5):
        model = side.build("student-small", seed=3)
        args = (model, teacher) if fn == "distill" else (model,)
        getattr(side.kd, fn)(*args, *data, epochs=2, batch_size=64, seed=seed, augment=augment, progress=False)
        runs.append(side.weights(model))
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))


BAD = [
    ("fit", {"epochs": 0}, "epochs must be a positive integer"),
    ("fit", {"batch_size": 0}, "batch_size must be a positive integer"),
    ("fit", {"lr": 0.0}, "lr must be a number > 0"),
    ("fit", {"y": Y[:5]}, "y must have shape (8,)"),
    ("fit", {"x": X[0]}, "x must be a non-empty 2-D array"),
    ("distill", {"temperature": 0.0}, "temperature must be a finite number > 0"),
    ("distill", {"alpha": 2.0}, "alpha must be a number in [0, 1]"),
    ("distill", {"epochs": 0}, "epochs must be a positive integer"),
    ("distill", {"y": Y[:5]}, "y must have shape (8,)"),
    ("distill", {"x": X[None]}, "x must be a non-empty 2-D array"),
    ("distill", {"x_unlabeled": np.zeros((4, F + 1))}, f"x_unlabeled must have {F} features like x"),
    ("fit", {"label_smoothing": 1.5}, "label_smoothing must be a number in [0, 1]"),
    ("distill", {"seed": -1}, "seed must be a non-negative integer"),
    ("distill", {"cache_teacher": 1}, "cache_teacher must be True or False"),
    ("fit", {"augment": "mixup"}, "augment must be a callable augment(x, rng) or None"),
    ("distill", {"augment": 3}, "augment must be a callable augment(x, rng) or None"),
    ("fit", {"augment": lambda x, rng: x[:, :2]}, "augment must return a batch of shape (8, 12)"),
    ("distill", {"augment": lambda x, rng: x[:4]}, "augment must return a batch of shape (8, 12)"),
]


@pytest.mark.parametrize("fn,kw,message", BAD, ids=[f"{f}-{m.split()[0]}" for f, _, m in BAD])
def test_bad_arguments_raise_a_valueerror_naming_them(side, fn, kw, message):
    model = side.build("student-small", seed=0)
    args = {"x": X, "y": Y, **kw}
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(ValueError, match=re.escape(message)):
        if fn == "fit":
            side.kd.fit(model, x, y, progress=False, **args)
        else:
            side.kd.distill(model, side.build("student-small", seed=1), x, y, progress=False, **args)


DISTILL_KEYWORDS = {
    "x_unlabeled": None, "temperature": 4.0, "alpha": 0.9, "epochs": 30, "batch_size": 64, "lr": 1e-3,
    "weight_decay": 0.0, "seed": 0, "cache_teacher": True, "x_val": None, "y_val": None, "progress": None,
    "desc": "distill", "augment": None,
}  # fmt: skip
FIT_KEYWORDS = {
    "epochs": 30, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.0, "seed": 0, "x_val": None, "y_val": None,
    "progress": None, "desc": "fit", "label_smoothing": 0.0, "augment": None,
}  # fmt: skip


@pytest.mark.parametrize(
    "fn,positional,keywords",
    [("distill", ["student", "teacher", "x", "y"], DISTILL_KEYWORDS), ("fit", ["model", "x", "y"], FIT_KEYWORDS)],
)
def test_the_signature_shows_every_argument_with_its_default(side, fn, positional, keywords):
    """The options are declared once (kdlib.options); help() and inspect.signature still list them all."""
    import inspect
    import pydoc

    params = inspect.signature(getattr(side.kd, fn)).parameters
    assert [n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    shown = {n: p.default for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
    assert list(shown) == list(keywords) and shown == keywords
    assert "epochs: 'int' = 30" in pydoc.render_doc(getattr(side.kd, fn), renderer=pydoc.plaintext)  # help()


def test_an_unknown_keyword_is_pythons_typeerror_naming_it(side):
    model, teacher = side.build("student-small", seed=0), side.build("student-small", seed=1)
    with pytest.raises(TypeError, match="temprature"):
        side.kd.distill(model, teacher, X, Y, temprature=2.0)
    with pytest.raises(TypeError, match="temperature"):
        side.kd.fit(model, X, Y, temperature=2.0)
    with pytest.raises(TypeError, match="y"):
        side.kd.fit(model, X)

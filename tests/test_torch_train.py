"""kdlib.torch training loops: frozen teacher, loss falls, memorisation, seeds, bad args."""

import numpy as np
import pytest
import torch

import kdlib.torch as kdt
from kdlib import load_dataset


@pytest.fixture(scope="module")
def ds():
    return load_dataset("mnist1d")


@pytest.fixture(scope="module")
def teacher(ds):
    m = kdt.build_model("teacher", ds.num_features, ds.num_classes, seed=0)
    kdt.fit(m, ds.x_train, ds.y_train, epochs=40, lr=1e-2, batch_size=100, seed=0, progress=False)
    return m


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_model_names_and_shapes():
    assert kdt.model_names() == ["teacher", "student", "student-small", "student-large"]
    for name in kdt.model_names():
        out = kdt.build_model(name, 40, 10, seed=0)(torch.zeros(3, 40))
        assert out.shape == (3, 10)
    with pytest.raises(ValueError, match=r"name must be one of .*'resnet'"):
        kdt.build_model("resnet", 40, 10)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        kdt.build_model("student", 40, 0)


def test_tiny_batch_is_memorised(ds):
    m = kdt.build_model("student", ds.num_features, 10, seed=0)
    x, y = ds.x_train[:32], ds.y_train[:32]
    h = kdt.fit(m, x, y, epochs=150, lr=3e-3, batch_size=32, seed=0, progress=False)
    assert kdt.evaluate(m, x, y) == 1.0
    assert h.loss[-1] < 0.05 * h.loss[0]


@pytest.mark.parametrize("cache_teacher", [True, False])
def test_distill_keeps_teacher_frozen_and_loss_falls(ds, teacher, cache_teacher):
    before = _state(teacher)
    teacher.zero_grad(set_to_none=True)
    teacher.train()  # distill must switch it to eval itself, and restore the mode afterwards
    st = kdt.build_model("student", ds.num_features, 10, seed=1)
    h = kdt.distill(
        st,
        teacher,
        ds.x_train[:2000],
        ds.y_train[:2000],
        epochs=10,
        lr=3e-3,
        seed=1,
        cache_teacher=cache_teacher,
        progress=False,
    )
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert teacher.training and all(p.requires_grad for p in teacher.parameters())
    assert all(p.grad is None for p in teacher.parameters())
    assert h.loss[-1] < 0.75 * h.loss[0], h.loss
    teacher.eval()


def test_cached_teacher_gives_the_same_student(ds, teacher):
    runs = []
    for cache in (True, False):
        st = kdt.build_model("student", ds.num_features, 10, seed=2)
        kdt.distill(
            st, teacher, ds.x_train[:500], ds.y_train[:500], epochs=2, seed=2, cache_teacher=cache, progress=False
        )
        runs.append(st.state_dict())
    for k in runs[0]:
        torch.testing.assert_close(runs[0][k], runs[1][k], rtol=1e-4, atol=1e-5)


def test_seeds_are_reproducible(ds):
    ws = []
    for _ in range(2):
        m = kdt.build_model("student", ds.num_features, 10, seed=5)
        kdt.fit(m, ds.x_train[:300], ds.y_train[:300], epochs=2, seed=5, progress=False)
        ws.append(m.state_dict())
    assert all(torch.equal(ws[0][k], ws[1][k]) for k in ws[0])


def test_unlabeled_pool_and_label_free_distillation(ds, teacher):
    st = kdt.build_model("student", ds.num_features, 10, seed=0)
    h = kdt.distill(
        st,
        teacher,
        ds.x_train[:200],
        ds.y_train[:200],
        x_unlabeled=ds.x_train[200:700],
        epochs=3,
        seed=0,
        progress=False,
    )
    assert len(h.loss) == 3 and np.isfinite(h.loss).all()
    st2 = kdt.build_model("student", ds.num_features, 10, seed=0)
    h2 = kdt.distill(st2, teacher, ds.x_train[:500], None, epochs=5, seed=0, progress=False)
    assert h2.loss[-1] < h2.loss[0]


def test_teacher_clearly_beats_scratch_student(ds, teacher):
    st = kdt.build_model("student", ds.num_features, 10, seed=0)
    kdt.fit(st, ds.x_train, ds.y_train, epochs=60, lr=3e-3, seed=0, progress=False)
    t_acc, s_acc = kdt.evaluate(teacher, ds.x_test, ds.y_test), kdt.evaluate(st, ds.x_test, ds.y_test)
    assert t_acc > 0.85 and t_acc - s_acc > 0.15, (t_acc, s_acc)


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"lr": -1.0}, "lr must be a number > 0"),
        ({"temperature": 0.0}, "temperature must be a finite number > 0"),
        ({"alpha": 2.0}, "alpha must be a number in [0, 1]"),
        ({"y": np.zeros(3, np.int64)}, "y must have shape (10,) to match x"),
        ({"x": np.zeros(10)}, "x must be a non-empty 2-D array"),
        ({"x_unlabeled": np.zeros((4, 7))}, "x_unlabeled must have 40 features like x"),
    ],
)
def test_bad_arguments(teacher, kw, message):
    args = {"x": np.zeros((10, 40), np.float32), "y": np.zeros(10, np.int64), **kw}
    st = kdt.build_model("student", 40, 10)
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        kdt.distill(st, teacher, progress=False, **args)

"""kdlib.torch training, what only PyTorch has (the shared contract: tests/library/test_train_contract.py)."""

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


def test_teacher_clearly_beats_scratch_student(ds, teacher):
    st = kdt.build_model("student", ds.num_features, 10, seed=0)
    kdt.fit(st, ds.x_train, ds.y_train, epochs=60, lr=3e-3, seed=0, progress=False)
    t_acc, s_acc = kdt.evaluate(teacher, ds.x_test, ds.y_test), kdt.evaluate(st, ds.x_test, ds.y_test)
    assert t_acc > 0.85 and t_acc - s_acc > 0.15, (t_acc, s_acc)

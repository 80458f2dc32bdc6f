"""FitNets and DKD on NumPy, PyTorch and TensorFlow: one float64 reference, the same values,
the same gradients, the same errors; and the mirror rule (the same public names on both sides)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from kdlib import reference as ref
from tests.conftest import rel_error

FRAMEWORKS = ["numpy", "torch", "tf"]


class Impl:
    """dkd_loss / fitnets_hint_loss of one side, NumPy in and out; a linear regressor x @ W + b."""

    def __init__(self, name: str):
        self.name = name
        if name == "torch":
            import torch

            from kdlib.torch import methods

            self.mod, self.to = methods, torch.as_tensor
        elif name == "tf":
            import tensorflow as tf

            from kdlib.tf import methods

            self.mod, self.to = methods, tf.convert_to_tensor
        else:
            self.mod, self.to = ref, lambda a: a

    def linear(self, w: np.ndarray, b: np.ndarray):
        if self.name == "torch":
            import torch

            layer = torch.nn.Linear(*w.shape).to(torch.as_tensor(w).dtype)
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(w.T))
                layer.bias.copy_(torch.as_tensor(b))
            return layer
        if self.name == "tf":
            import keras

            layer = keras.layers.Dense(w.shape[1], dtype=str(w.dtype))
            layer.build((None, w.shape[0]))
            layer.set_weights([w, b])
            return layer
        return lambda h: h @ w + b

    def __call__(self, fn: str, *args, **kw) -> np.ndarray:
        conv = [self.to(a) if isinstance(a, np.ndarray) else a for a in args]
        out = getattr(self.mod, fn)(*conv, **kw)
        return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out)


@pytest.fixture(params=FRAMEWORKS)
def impl(request):
    return Impl(request.param)


def _dkd_by_rows(s, t, y, alpha, beta, temp) -> float:
    """DKD from its definition, one row at a time (independent of the vectorised reference)."""

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    def kl(p, q):
        return float(np.sum(p * np.log(p / q)))

    tckd = nckd = 0.0
    for zs, zt, g in zip(s, t, y, strict=True):
        ps, pt = softmax(zs / temp), softmax(zt / temp)
        tckd += kl(np.array([pt[g], 1 - pt[g]]), np.array([ps[g], 1 - ps[g]]))
        keep = np.arange(len(zs)) != g
        nckd += kl(softmax(zt[keep] / temp), softmax(zs[keep] / temp))
    return (alpha * tckd + beta * nckd) * temp * temp / len(s)


def test_reference_dkd_is_its_definition_and_kd_is_a_special_case(rng):
    s, t, y = rng.normal(0, 3, (6, 5)), rng.normal(0, 3, (6, 5)), rng.integers(0, 5, 6)
    assert rel_error(ref.dkd_loss(s, t, y, 1.5, 4.0, 2.0), _dkd_by_rows(s, t, y, 1.5, 4.0, 2.0)) < 1e-12
    # classic KD = TCKD + (1 − p_t,g) · NCKD: on one row, DKD with beta = 1 − p_t,g is KD
    p_g = ref.soft_targets(t[:1], 2.0)[0, y[0]]
    kd = ref.distillation_loss(s[:1], t[:1], 2.0)
    assert rel_error(ref.dkd_loss(s[:1], t[:1], y[:1], 1.0, 1.0 - p_g, 2.0), kd) < 1e-12


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-10)])
def test_dkd_parity_with_reference(impl, rng, dtype, tol):
    for b, c, temp, alpha, beta in [(8, 10, 4.0, 1.0, 8.0), (3, 2, 1.0, 0.5, 2.0), (5, 7, 2.0, 0.0, 0.5)]:
        s = (rng.normal(size=(b, c)) * 3).astype(dtype)
        t = (rng.normal(size=(b, c)) * 3).astype(dtype)
        y = rng.integers(0, c, b)
        got = impl("dkd_loss", s, t, y, alpha=alpha, beta=beta, temperature=temp)
        assert rel_error(got, ref.dkd_loss(s, t, y, alpha, beta, temp)) < tol
        assert np.isfinite(impl("dkd_loss", s * 1e4, t * 1e4, y))


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_fitnets_parity_with_reference(impl, rng, dtype, tol):
    hs, ht = rng.normal(size=(6, 4)).astype(dtype), rng.normal(size=(6, 3)).astype(dtype)
    w, b = rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=3).astype(dtype)
    got = impl("fitnets_hint_loss", hs, ht, impl.linear(w, b))
    want = float(((hs.astype(np.float64) @ w + b - ht) ** 2).mean())
    assert rel_error(got, want) < tol
    assert rel_error(got, ref.fitnets_hint_loss(hs, ht, lambda h: h @ w + b)) < tol


def test_dkd_gradients_agree_and_never_reach_the_teacher(rng):
    import tensorflow as tf
    import torch

    from kdlib.tf.methods import dkd_loss as tf_dkd
    from kdlib.torch.methods import dkd_loss as torch_dkd

    s, t, y = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), np.array([0, 5, 2, 2])
    st, tt = torch.tensor(s, requires_grad=True), torch.tensor(t, requires_grad=True)
    torch_dkd(st, tt, torch.tensor(y), 1.0, 8.0, 4.0).backward()
    sv, tv = tf.Variable(s), tf.Variable(t)
    with tf.GradientTape() as tape:
        loss = tf_dkd(sv, tv, tf.constant(y), 1.0, 8.0, 4.0)
    gs, gt = tape.gradient(loss, [sv, tv])
    np.testing.assert_allclose(st.grad.numpy(), gs.numpy(), rtol=1e-9, atol=1e-12)
    assert tt.grad is None and gt is None


BAD = [
    ("dkd_loss", lambda: (np.zeros((2, 3)), np.zeros((2, 3)), np.array([0, 1])), {"beta": -1.0}, "beta must be"),
    ("dkd_loss", lambda: (np.zeros((2, 3)), np.zeros((2, 3)), np.array([0, 1])), {"temperature": 0.0}, "temperature"),
    ("dkd_loss", lambda: (np.zeros((2, 3)), np.zeros((2, 3)), np.array([0, 3])), {}, "labels must lie in [0, 3)"),
    ("dkd_loss", lambda: (np.zeros(3), np.zeros((2, 3)), np.array([0, 1])), {}, "student_logits must be 2-D"),
    ("dkd_loss", lambda: (np.zeros((2, 1)), np.zeros((2, 1)), np.array([0, 0])), {}, "at least 2 classes"),
]


@pytest.mark.parametrize("fn,args,kw,message", BAD, ids=[m for *_, m in BAD])
def test_bad_input_raises_the_same_valueerror(impl, fn, args, kw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        impl(fn, *args(), **kw)


def test_fitnets_bad_input_on_every_side(impl):
    w, b = np.ones((3, 5)), np.zeros(5)
    cases = [
        ((np.zeros(3), np.zeros((3, 5))), "student_feat must be 2-D"),
        ((np.zeros((2, 3)), np.zeros((4, 5))), "same batch size"),
        ((np.zeros((2, 3)), np.full((2, 5), np.nan)), "teacher_feat must be finite"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            impl("fitnets_hint_loss", *args, impl.linear(w, b))


def test_both_sides_export_the_same_names():
    import kdlib.tf
    import kdlib.torch

    only = {"Distiller", "distiller"}  # a keras.Model subclass: Keras' fit/compile API has no PyTorch counterpart
    assert set(kdlib.torch.__all__) == set(kdlib.tf.__all__) - only
    for name in kdlib.torch.__all__:
        assert getattr(kdlib.torch, name) is not None and getattr(kdlib.tf, name) is not None

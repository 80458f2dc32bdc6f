"""The loss contract of docs/architecture.md, checked on NumPy, PyTorch and TensorFlow alike.

Parity: float32 within 1e-5 relative, float64 within 1e-10; gradients against finite
differences and the closed form; properties; every bad input -> ValueError naming the argument.
"""

import numpy as np
import pytest

from kdlib import reference as ref
from tests.conftest import rel_error

FRAMEWORKS = ["numpy", "torch", "tf"]


class Impl:
    """Uniform NumPy-in / NumPy-out access to one implementation of the contract."""

    def __init__(self, name: str):
        self.name = name
        if name == "torch":
            import torch

            from kdlib.torch import losses

            self.mod, self.to = losses, lambda a: torch.as_tensor(a)
        elif name == "tf":
            import tensorflow as tf

            from kdlib.tf import losses

            self.mod, self.to = losses, lambda a: tf.convert_to_tensor(a)
        else:
            self.mod, self.to = ref, lambda a: a

    def __call__(self, fn: str, *args, **kw):
        conv = [self.to(a) if isinstance(a, np.ndarray) else a for a in args]
        out = getattr(self.mod, fn)(*conv, **kw)
        return np.asarray(out.numpy() if hasattr(out, "numpy") else out)


@pytest.fixture(params=FRAMEWORKS)
def impl(request):
    return Impl(request.param)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
def test_parity_with_reference(impl, rng, dtype, tol):
    for b, c, temp, alpha in [(8, 10, 4.0, 0.9), (3, 2, 0.5, 0.3), (16, 7, 20.0, 0.0)]:
        s = (rng.normal(size=(b, c)) * 3).astype(dtype)
        t = (rng.normal(size=(b, c)) * 3).astype(dtype)
        y = rng.integers(0, c, b)
        assert rel_error(impl("soft_targets", t, temp), ref.soft_targets(t, temp)) < tol
        assert rel_error(impl("distillation_loss", s, t, temp), ref.distillation_loss(s, t, temp)) < tol
        got = impl("kd_loss", s, t, y, temperature=temp, alpha=alpha)
        assert rel_error(got, ref.kd_loss(s, t, y, temp, alpha)) < tol
        out = impl("distillation_loss", s, t, temp)
        assert out.shape == ()
        if impl.name != "numpy":  # the reference always works in float64
            assert out.dtype == dtype


def test_torch_gradient_matches_closed_form_and_finite_differences(rng):
    import torch

    from kdlib.torch.losses import distillation_loss

    s = torch.tensor(rng.normal(size=(5, 4)), dtype=torch.float64, requires_grad=True)
    t = torch.tensor(rng.normal(size=(5, 4)), dtype=torch.float64)
    temp = 3.0
    distillation_loss(s, t, temp).backward()
    closed = ref.distillation_grad(s.detach().numpy(), t.numpy(), temp)
    np.testing.assert_allclose(s.grad.numpy(), closed, rtol=1e-10, atol=1e-14)
    assert torch.autograd.gradcheck(lambda z: distillation_loss(z, t, temp), (s,))


def test_tf_gradient_matches_closed_form_and_finite_differences(rng):
    import tensorflow as tf

    from kdlib.tf.losses import distillation_loss

    s = tf.Variable(rng.normal(size=(5, 4)))
    t = tf.constant(rng.normal(size=(5, 4)))
    temp = 3.0
    with tf.GradientTape() as tape:
        loss = distillation_loss(s, t, temp)
    g = tape.gradient(loss, s).numpy()
    closed = ref.distillation_grad(s.numpy(), t.numpy(), temp)
    np.testing.assert_allclose(g, closed, rtol=1e-10, atol=1e-14)
    theo, num = tf.test.compute_gradient(lambda z: distillation_loss(z, t, temp), [s.numpy()])
    np.testing.assert_allclose(theo[0], num[0], rtol=1e-6, atol=1e-8)


def test_zero_when_student_equals_teacher(impl, rng):
    z = rng.normal(size=(6, 5)) * 5
    assert abs(float(impl("distillation_loss", z, z.copy(), 4.0))) < 1e-12


def test_invariant_to_row_constant(impl, rng):
    s, t = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    shift_s = rng.normal(size=(6, 1)) * 100
    shift_t = rng.normal(size=(6, 1)) * 100
    a = impl("distillation_loss", s, t, 2.0)
    b = impl("distillation_loss", s + shift_s, t + shift_t, 2.0)
    assert rel_error(a, b) < 1e-9


def test_alpha_limits(impl, rng):
    s, t = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    y = rng.integers(0, 5, 6)
    ce = ref.cross_entropy(s, y)
    assert rel_error(impl("kd_loss", s, t, y, temperature=4.0, alpha=0.0), ce) < 1e-10
    soft = ref.distillation_loss(s, t, 4.0)
    assert rel_error(impl("kd_loss", s, t, y, temperature=4.0, alpha=1.0), soft) < 1e-10


@pytest.mark.parametrize("temp", [0.5, 1.0, 4.0, 20.0])
def test_finite_at_extreme_logits(impl, rng, temp):
    for dtype in (np.float32, np.float64):
        s = (np.sign(rng.normal(size=(4, 10))) * 1e4).astype(dtype)
        t = (np.sign(rng.normal(size=(4, 10))) * 1e4).astype(dtype)
        y = rng.integers(0, 10, 4)
        for v in (impl("distillation_loss", s, t, temp), impl("kd_loss", s, t, y, temperature=temp)):
            assert np.isfinite(v), f"{impl.name} loss not finite at T={temp}, dtype {dtype}"


def test_kl_direction_is_teacher_to_student(impl):
    # Asymmetric case: KL(p‖q) ≠ KL(q‖p). The contract puts the teacher first.
    s = np.array([[0.0, 0.0, 0.0]])
    t = np.array([[4.0, 0.0, -2.0]])
    p = ref.soft_targets(t, 1.0)[0]
    q = ref.soft_targets(s, 1.0)[0]
    forward = float((p * np.log(p / q)).sum())
    reverse = float((q * np.log(q / p)).sum())
    assert abs(forward - reverse) > 0.1
    assert float(impl("distillation_loss", s, t, 1.0)) == pytest.approx(forward, rel=1e-10)


def test_cross_entropy_parity(impl, rng):
    for dtype, tol in [(np.float32, 1e-5), (np.float64, 1e-10)]:
        s, y = (rng.normal(size=(7, 4)) * 3).astype(dtype), rng.integers(0, 4, 7)
        want = -np.log(ref.soft_targets(s, 1.0)[np.arange(7), y]).mean()
        assert rel_error(impl("cross_entropy", s, y), want) < tol
        assert rel_error(impl("cross_entropy", s, y), ref.cross_entropy(s, y)) < tol


def test_masked_kd_loss_leaves_unlabelled_rows_out_of_the_hard_term(impl, rng):
    """kd_loss(..., ignore_index=-1): the loss kdlib's distill optimises on both frameworks."""
    for dtype, tol in [(np.float32, 1e-5), (np.float64, 1e-10)]:
        s = (rng.normal(size=(8, 5)) * 3).astype(dtype)
        t = (rng.normal(size=(8, 5)) * 3).astype(dtype)
        y = np.array([2, -1, 0, -1, -1, 4, 1, -1])
        keep = y >= 0
        soft = ref.distillation_loss(s, t, 2.0)
        hard = -np.log(ref.soft_targets(s[keep], 1.0)[np.arange(keep.sum()), y[keep]]).mean()
        got = impl("kd_loss", s, t, y, temperature=2.0, alpha=0.3, ignore_index=-1)
        assert rel_error(got, 0.3 * soft + 0.7 * hard) < tol
        assert rel_error(got, ref.kd_loss(s, t, y, 2.0, 0.3, ignore_index=-1)) < tol
        # every row unlabelled: the soft term alone; no unlabelled row: the plain kd_loss
        none = np.full(8, -1)
        assert rel_error(impl("kd_loss", s, t, none, temperature=2.0, alpha=0.3, ignore_index=-1), 0.3 * soft) < tol
        full = rng.integers(0, 5, 8)
        plain = ref.kd_loss(s, t, full, 2.0, 0.3)
        assert rel_error(impl("kd_loss", s, t, full, temperature=2.0, alpha=0.3, ignore_index=-1), plain) < tol


def test_masked_kd_loss_gradient_matches_across_frameworks(rng):
    import tensorflow as tf
    import torch

    from kdlib.tf.losses import kd_loss as tf_kd
    from kdlib.torch.losses import kd_loss as torch_kd

    s, t = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    y = np.array([1, -1, 3, -1, 0, -1])
    st = torch.tensor(s, requires_grad=True)
    torch_kd(st, torch.tensor(t), torch.tensor(y), 2.0, 0.4, ignore_index=-1).backward()
    sv = tf.Variable(s)
    with tf.GradientTape() as tape:
        loss = tf_kd(sv, tf.constant(t), tf.constant(y), 2.0, 0.4, ignore_index=-1)
    np.testing.assert_allclose(st.grad.numpy(), tape.gradient(loss, sv).numpy(), rtol=1e-10, atol=1e-14)
    # an unlabelled row gets only the soft term's gradient: 0.4 · T · (q − p) / B
    closed = 0.4 * ref.distillation_grad(s, t, 2.0)
    np.testing.assert_allclose(st.grad.numpy()[y < 0], closed[y < 0], rtol=1e-10, atol=1e-14)
    tt, yt = torch.tensor(t), torch.tensor(y)
    z0 = st.detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: torch_kd(z, tt, yt, 2.0, 0.4, ignore_index=-1), (z0,))


GOOD_S = np.zeros((4, 3))
GOOD_Y = np.array([0, 1, 2, 0])
BAD_INPUTS = [
    ("distillation_loss", (np.zeros(3), np.zeros(3), 2.0), {}, "student_logits must be 2-D"),
    ("distillation_loss", (GOOD_S, np.zeros((4, 3, 1)), 2.0), {}, "teacher_logits must be 2-D"),
    ("distillation_loss", (GOOD_S, np.zeros((4, 5)), 2.0), {}, "same shape"),
    ("distillation_loss", (GOOD_S, GOOD_S, 0.0), {}, "temperature"),
    ("distillation_loss", (GOOD_S, GOOD_S, -1.0), {}, "temperature"),
    ("distillation_loss", (GOOD_S, GOOD_S, float("inf")), {}, "temperature"),
    ("distillation_loss", (GOOD_S, GOOD_S, float("nan")), {}, "temperature"),
    ("distillation_loss", (np.full((4, 3), np.nan), GOOD_S, 2.0), {}, "student_logits must be finite"),
    ("distillation_loss", (GOOD_S, np.full((4, 3), np.inf), 2.0), {}, "teacher_logits must be finite"),
    ("soft_targets", (np.zeros(3), 2.0), {}, "logits must be 2-D"),
    ("soft_targets", (GOOD_S, 0.0), {}, "temperature"),
    ("kd_loss", (GOOD_S, GOOD_S, np.array([0, 1, 2])), {}, "labels must be a 1-D array of 4"),
    ("kd_loss", (GOOD_S, GOOD_S, np.array([0, 1, 3, 0])), {}, "labels must lie in [0, 3)"),
    ("kd_loss", (GOOD_S, GOOD_S, np.array([0, -1, 2, 0])), {}, "labels must lie in [0, 3)"),
    ("kd_loss", (GOOD_S, GOOD_S, np.array([0.0, 1.0, 2.0, 0.0])), {}, "labels must hold integer"),
    ("kd_loss", (GOOD_S, GOOD_S, GOOD_Y), {"alpha": 1.5}, "alpha"),
    ("kd_loss", (GOOD_S, GOOD_S, GOOD_Y), {"alpha": -0.1}, "alpha"),
    ("kd_loss", (GOOD_S, GOOD_S, GOOD_Y), {"temperature": 0}, "temperature"),
    ("kd_loss", (GOOD_S, GOOD_S, np.array([0, -2, 2, 0])), {"ignore_index": -1}, "(or -1 for an unlabelled row)"),
    ("kd_loss", (GOOD_S, GOOD_S, GOOD_Y), {"ignore_index": 0}, "ignore_index must be None or a negative integer"),
    ("cross_entropy", (GOOD_S, np.array([0, 1, 3, 0])), {}, "labels must lie in [0, 3)"),
]


@pytest.mark.parametrize("fn,args,kw,message", BAD_INPUTS, ids=[m for *_, m in BAD_INPUTS])
def test_bad_input_raises_clear_valueerror(impl, fn, args, kw, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        impl(fn, *args, **kw)

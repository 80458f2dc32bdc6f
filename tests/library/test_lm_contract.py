"""Token-level KD losses of chapter 12 on NumPy, PyTorch and TensorFlow: one float64 reference,
the same values, the same gradients, the same errors (kdlib.reference / kdlib.torch.lm / kdlib.tf.lm)."""

from __future__ import annotations

import numpy as np
import pytest

from kdlib import reference as ref
from tests.conftest import rel_error

FRAMEWORKS = ["numpy", "torch", "tf"]


def _value_and_grad(side: str, fn: str, s: np.ndarray, *rest, **kw):
    """(value, d value / d s, d value / d rest[0]) on one side, NumPy in and out (grads None: none)."""
    if side == "numpy":
        value = getattr(ref, fn)(s, *rest, **kw)
        return value, getattr(ref, fn + "_grad")(s, *rest, **kw), None
    if side == "torch":
        import torch

        from kdlib.torch import lm

        st = torch.tensor(s, requires_grad=True)
        first = torch.tensor(rest[0], requires_grad=rest[0].dtype.kind == "f")
        args = [first, *(torch.as_tensor(a) if isinstance(a, np.ndarray) else a for a in rest[1:])]
        out = getattr(lm, fn)(st, *args, **kw)
        out.backward()
        g2 = None if first.grad is None else first.grad.numpy()
        return float(out.detach()), st.grad.numpy(), g2
    import tensorflow as tf

    from kdlib.tf import lm

    sv = tf.Variable(s)
    first = tf.Variable(rest[0]) if rest[0].dtype.kind == "f" else tf.convert_to_tensor(rest[0])
    args = [first, *(tf.convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in rest[1:])]
    with tf.GradientTape(persistent=True) as tape:
        out = getattr(lm, fn)(sv, *args, **kw)
    gs = tape.gradient(out, sv)
    g2 = tape.gradient(out, first) if isinstance(first, tf.Variable) else None
    return float(out), gs.numpy(), None if g2 is None else g2.numpy()


def _by_rows(s, t, mask, kind, temp) -> float:
    """The token KL from its definition, one position at a time (independent of the reference)."""

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    total, count = 0.0, 0
    for b in range(s.shape[0]):
        for pos in range(s.shape[1]):
            if not mask[b, pos]:
                continue
            p, q = softmax(t[b, pos] / temp), softmax(s[b, pos] / temp)
            a, c = (p, q) if kind == "forward" else (q, p)
            total += float(np.sum(a * np.log(a / c)))
            count += 1
    return temp * temp * total / count


def _case(seed=0, b=3, length=5, vocab=7):
    rng = np.random.default_rng(seed)
    s, t = rng.normal(0, 2, (b, length, vocab)), rng.normal(0, 2, (b, length, vocab))
    mask = np.ones((b, length), bool)
    mask[0, 2:] = False  # padding
    mask[-1, 1:] = False
    return s, t, mask


@pytest.mark.parametrize("kind", ["forward", "reverse"])
@pytest.mark.parametrize("temp", [1.0, 2.5])
def test_reference_matches_the_definition(kind, temp):
    s, t, mask = _case()
    got = ref.token_kl(s, t, mask, kind, temp)
    assert abs(got - _by_rows(s, t, mask, kind, temp)) < 1e-10
    # padding positions change nothing; kind really swaps the arguments
    s2 = s.copy()
    s2[~mask] = 99.0
    assert abs(ref.token_kl(s2, t, mask, kind, temp) - got) < 1e-12
    other = "reverse" if kind == "forward" else "forward"
    assert abs(ref.token_kl(t, s, mask, other, temp) - got) < 1e-10


def test_reference_gradients_by_finite_differences():
    s, t, mask = _case(1, 2, 3, 5)
    for kind in ("forward", "reverse"):
        g = ref.token_kl_grad(s, t, mask, kind, 2.0)
        num = np.zeros_like(s)
        for i in np.ndindex(s.shape):
            d = np.zeros_like(s)
            d[i] = 1e-6
            num[i] = (ref.token_kl(s + d, t, mask, kind, 2.0) - ref.token_kl(s - d, t, mask, kind, 2.0)) / 2e-6
        assert rel_error(g, num) < 1e-5 or np.abs(g - num).max() < 1e-8, kind
    vals, idx = np.sort(t, -1)[..., -2:], np.argsort(t, -1)[..., -2:]
    g = ref.topk_kl_grad(s, vals, idx, mask, 2.0)
    num = np.zeros_like(s)
    for i in np.ndindex(s.shape):
        d = np.zeros_like(s)
        d[i] = 1e-6
        num[i] = (ref.topk_kl(s + d, vals, idx, mask, 2.0) - ref.topk_kl(s - d, vals, idx, mask, 2.0)) / 2e-6
    assert np.abs(g - num).max() < 1e-7


def test_topk_with_every_token_is_the_forward_kl():
    s, t, mask = _case(2)
    idx = np.argsort(-t, -1)
    vals = np.take_along_axis(t, idx, -1)
    assert abs(ref.topk_kl(s, vals, idx, mask, 3.0) - ref.token_kl(s, t, mask, "forward", 3.0)) < 1e-10
    k2 = ref.topk_kl(s, vals[..., :2], idx[..., :2], mask, 3.0)
    assert np.isfinite(k2) and k2 >= 0


@pytest.mark.parametrize("side", FRAMEWORKS)
@pytest.mark.parametrize("kind", ["forward", "reverse"])
def test_token_kl_values_and_gradients(side, kind):
    s, t, mask = _case(3)
    for temp in (1.0, 4.0):
        value, gs, gt = _value_and_grad(side, "token_kl", s, t, mask, kind=kind, temperature=temp)
        assert abs(value - ref.token_kl(s, t, mask, kind, temp)) < 1e-9 * max(1.0, abs(value))
        assert rel_error(gs, ref.token_kl_grad(s, t, mask, kind, temp)) < 1e-6
        assert gt is None or not np.abs(gt).any(), "a gradient reached the teacher"
    # mask=None: every position; T² scaling: value × T² at equal softened distributions
    v1, *_ = _value_and_grad(side, "token_kl", s, t, np.ones(mask.shape, bool), kind=kind, temperature=1.0)
    v2, *_ = _value_and_grad(side, "token_kl", 2 * s, 2 * t, np.ones(mask.shape, bool), kind=kind, temperature=2.0)
    assert abs(v2 - 4 * v1) < 1e-8 * max(1.0, v2)


@pytest.mark.parametrize("side", FRAMEWORKS)
def test_topk_kl_values_and_gradients(side):
    s, t, mask = _case(4)
    idx = np.argsort(-t, -1)[..., :3]
    vals = np.take_along_axis(t, idx, -1)
    value, gs, gt = _value_and_grad(side, "topk_kl", s, vals, idx, mask, temperature=2.0)
    assert abs(value - ref.topk_kl(s, vals, idx, mask, 2.0)) < 1e-9 * max(1.0, value)
    assert rel_error(gs, ref.topk_kl_grad(s, vals, idx, mask, 2.0)) < 1e-6
    assert gt is None or not np.abs(gt).any(), "a gradient reached the cached teacher values"


def _call(side: str, fn: str, *args, **kw):
    if side == "numpy":
        return getattr(ref, fn)(*args, **kw)
    if side == "torch":
        import torch

        from kdlib.torch import lm

        conv = torch.as_tensor
    else:
        import tensorflow as tf

        from kdlib.tf import lm

        conv = tf.convert_to_tensor
    return getattr(lm, fn)(*[conv(a) if isinstance(a, np.ndarray) else a for a in args], **kw)


@pytest.mark.parametrize("side", FRAMEWORKS)
def test_bad_input_names_the_argument(side):
    s, t, mask = _case(5)
    bad = [
        (("token_kl", s[0], t[0]), {}, "student_logits must be 3-D"),
        (("token_kl", s, t[:, :2]), {}, "same shape"),
        (("token_kl", s, t, mask[:, :2]), {}, "mask must have shape"),
        (("token_kl", s, t, np.zeros_like(mask)), {}, "mask must keep at least one position"),
        (("token_kl", s, t, mask), {"kind": "backward"}, "kind must be 'forward'"),
        (("token_kl", s, t, mask), {"temperature": 0.0}, "temperature must be"),
        (("token_kl", s, np.full_like(t, np.nan), mask), {}, "teacher_logits must be finite"),
        (("topk_kl", s, t[..., :2], np.zeros(t[..., :3].shape, np.int64)), {}, "topk_indices must have the shape"),
        (("topk_kl", s, t[..., :2], np.full(t[..., :2].shape, 7, np.int64)), {}, "topk_indices must lie in [0, 7)"),
        (("topk_kl", s, t[:2, :, :2], np.zeros(t[:2, :, :2].shape, np.int64)), {}, "topk_values must have shape"),
    ]
    for (fn, *args), kw, message in bad:
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
            _call(side, fn, *args, **kw)

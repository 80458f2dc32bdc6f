"""Hidden checks of 12_llm_distill, decided outside the student's kernel (see kdlib.grading.judge).

``forward_kl`` and ``reverse_kl`` are called in the sandbox with PyTorch tensors made from the
arrays below (logits (B, L, V), a bool padding mask (B, L)); with ``grad=[0, 1]`` the kernel also
returns d loss / d student_logits and d loss / d teacher_logits (None when the teacher is
detached). Expected values and gradients come from ``kdlib.reference.token_kl`` /
``token_kl_grad`` here. Where a value is wrong, :func:`diagnose` names the usual mistake (KL
swapped, T² missing, padding counted, softmax over the wrong axis, a sum instead of a mean).
The answer key is every token KL of the kit: ``kdlib.reference``, ``kdlib.torch.lm`` and
``kdlib.tf.lm`` (the notebook's training cells that use the latter are locked and skipped).
"""

from __future__ import annotations

import numpy as np

from kdlib import reference as ref
from kdlib.grading.judge import Judge, as_float, expect

judge = Judge(
    "12_llm_distill",
    answer_key=["kdlib.reference", "kdlib.torch.lm", "kdlib.tf.lm"],
    demos=["grammar", "bimodal", "teacher", "compare", "plot-compare", "temperature", "topk"],
)

SWAPPED = "this is the {other} KL: the arguments of the KL are swapped ({name} must be {formula})"
FORMULA = {"forward": "KL(teacher ‖ student)", "reverse": "KL(student ‖ teacher)"}
NO_T2 = "the loss is not multiplied by T²"
NO_MASK = "padding positions count: average over the positions where mask is True only"
AXIS = "the softmax is not over the vocabulary: use log_softmax(..., dim=-1) (the last axis)"
DETACH = "a gradient reached teacher_logits: detach the teacher"


def case(seed: int, b: int = 3, length: int = 5, vocab: int = 7, scale: float = 2.0):
    """The notebook's lm_case: logits (b, length, vocab) float64 and a bool mask with padding."""
    rng = np.random.default_rng(seed)
    s, t = rng.normal(0, scale, (b, length, vocab)), rng.normal(0, scale, (b, length, vocab))
    mask = np.ones((b, length), bool)
    mask[0, 2:] = False
    mask[-1, 1:] = False
    return s, t, mask


def _wrong_axis(s, t, m, kind, T) -> float:
    """The loss with the softmax over the length axis (dim=1) instead of the vocabulary."""

    def ls(z):
        z = z / T
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    lq, lp = ls(s), ls(t)
    a, c = (lp, lq) if kind == "forward" else (lq, lp)
    kl = (np.exp(a) * (a - c)).sum(-1)
    return float(T * T * (kl * m).sum() / m.sum())


def diagnose(got: float, s, t, m, T: float, kind: str, name: str) -> str:
    """Why ``got`` differs from the expected token KL, if a usual mistake explains it."""
    expected = ref.token_kl(s, t, m, kind, T)
    other = "reverse" if kind == "forward" else "forward"

    def near(x):
        return bool(np.isclose(got, x, rtol=1e-5, atol=1e-9))

    if near(ref.token_kl(s, t, m, other, T)):
        return SWAPPED.format(other=other, name=name, formula=FORMULA[kind])
    if T != 1 and near(expected / T**2):
        return NO_T2
    if near(ref.token_kl(s, t, None, kind, T)):
        return NO_MASK
    if near(_wrong_axis(s, t, m, kind, T)):
        return AXIS
    if near(expected * m.sum()):
        return "the KL is summed over the positions: take the mean over the real (unmasked) tokens"
    if near(expected * m.sum() / m.shape[0]):
        return "the KL is averaged over the batch only: divide by the number of real tokens"
    if T != 1 and near(ref.token_kl(s, t, m, kind, 1.0) * T**2):
        return "the logits are not divided by T before the softmax"
    return f"expected {expected:.6g}: compute T² · Σ mask·KL / Σ mask"


def _value(got, name: str, what: str) -> float:
    expect(np.ndim(got) == 0, f"{name} must return a scalar (0-d) tensor, got shape {np.shape(got)} ({what})")
    return as_float(got, f"{name} ({what})")


def _values(name: str, kind: str):
    def check(ask):
        hand_s = np.log(np.array([[[0.25, 0.75]]]))
        hand_t = np.zeros((1, 1, 2))
        hand_m = np.ones((1, 1), bool)
        s, t, m = case(0 if kind == "forward" else 2)
        s2, t2, m2 = case(20 if kind == "forward" else 22, b=4, length=6, vocab=9)
        s2, t2 = s2.astype(np.float32), t2.astype(np.float32)
        temps = (1.0, 3.0) if kind == "forward" else (1.0, 2.0)
        cases = [
            ("the hand-made case", hand_s, hand_t, hand_m, 1.0),
            (f"T = {temps[0]:g}", s, t, m, temps[0]),
            (f"T = {temps[1]:g}", s, t, m, temps[1]),
            ("new float32 logits (4, 6, 9), T = 2", s2, t2, m2, 2.0),
        ]
        got = yield [ask.call(name, a, b, c, T, tensors="torch") for _, a, b, c, T in cases]
        for (what, a, b, c, T), g in zip(cases, got, strict=True):
            value = _value(g, name, what)
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            want = ref.token_kl(a64, b64, c, kind, T)
            tol = 1e-5 if a.dtype == np.float32 else 1e-8
            expect(
                np.isfinite(value) and abs(value - want) <= tol * max(1.0, abs(want)),
                f"{what}: got {value:.6g}, expected {want:.6g}: {diagnose(value, a64, b64, c, T, kind, name)}",
            )

    return check


def _grads(name: str, kind: str):
    def check(ask):
        cases = [case(1 if kind == "forward" else 3), case(21 if kind == "forward" else 23, b=2, length=7, vocab=5)]
        got = yield [ask.call(name, s, t, m, 1.0, tensors="torch", grad=[0, 1]) for s, t, m in cases]
        for (s, t, m), res in zip(cases, got, strict=True):
            value = _value(res["value"], name, "random logits, T = 1")
            want = ref.token_kl(s, t, m, kind, 1.0)
            expect(
                abs(value - want) <= 1e-8 * max(1.0, abs(want)),
                f"random logits, T = 1: got {value:.6g}: {diagnose(value, s, t, m, 1.0, kind, name)}",
            )
            gs, gt = res["grads"]
            expect(gt is None or not np.abs(np.asarray(gt, np.float64)).any(), DETACH)
            expect(gs is not None, "no gradient reached student_logits")
            gs = np.asarray(gs, np.float64)
            expect(not np.abs(gs[~m]).any(), "padding positions got a gradient: apply the mask")
            expect(
                np.allclose(gs, ref.token_kl_grad(s, t, m, kind, 1.0), atol=1e-9, rtol=1e-6),
                "the gradient w.r.t. student_logits differs from that of the reference loss",
            )

    return check


judge.check("test_forward_values")(_values("forward_kl", "forward"))
judge.check("test_forward_grad")(_grads("forward_kl", "forward"))
judge.check("test_reverse_values")(_values("reverse_kl", "reverse"))
judge.check("test_reverse_grad")(_grads("reverse_kl", "reverse"))

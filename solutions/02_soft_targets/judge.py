"""Hidden checks of 02_soft_targets, decided outside the student's kernel (see kdlib.grading.judge).

``softmax_with_temperature`` and ``entropy`` are called in the sandbox on NumPy arrays built
here; the expected values come from ``kdlib.reference`` and ``scipy.special.entr`` here. The
answers of sections 3 and 4 (``t2_exponent``, ``limit_grad``, ``kl_direction``) are read as
values and compared with :data:`QUIZ` (the notebook's visible tests hold salted hashes of it,
for instant feedback: ``kdlib.quiz``; tests/library/test_quiz.py keeps the two in step). Where a result is
wrong, :func:`diagnose` names the usual mistake first (no temperature, multiplied by T, the
columns normalised, the maximum of the whole array subtracted...), then the plain difference.

The answer key: ``kdlib.reference`` (soft_targets, distillation_grad), the PyTorch and
TensorFlow losses (their soft_targets) and ``kdlib.metrics`` (a stable softmax).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from scipy.special import entr

from kdlib import reference as ref
from kdlib.grading.judge import Judge, close, expect, expect_close

judge = Judge(
    "02_soft_targets",
    answer_key=["kdlib.reference", "kdlib.torch.losses", "kdlib.tf", "kdlib.metrics"],
    demos=["teacher-train", "soft-plot", "dark-plot", "entropy-curve", "t2-check", "kl-direction-demo"],
)

#: The answers of sections 3 and 4 (kdlib.quiz hashes them in the visible tests).
QUIZ = {
    "02/t2_exponent": -2.0,
    # the large-T limit of ref.distillation_grad(s, t, T): ((s − mean s) − (t − mean t)) / C
    "02/limit_grad": np.array([[-0.125, -0.125, 0.375, -0.125]]),
    "02/kl_direction": "c",
}

SOFTMAX = "softmax_with_temperature"
ROW_MAX = "subtract each row's maximum before np.exp, using max(axis=1, keepdims=True)"


def logits(batch: int = 4, classes: int = 5, seed: int = 0, scale: float = 3.0) -> np.ndarray:
    """The notebook's random_logits: float64, shape (batch, classes)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, scale, size=(batch, classes))


def allclose(a, b) -> bool:
    """np.allclose with its defaults (rtol 1e-5, atol 1e-8; ``b`` broadcast), as the visible tests use it."""
    a = np.asarray(a, dtype=np.float64)
    return close(a, np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape), rtol=1e-5, atol=1e-8)


def _type(value) -> str:
    kind = getattr(value, "kind", None)
    if kind in ("torch", "tf"):
        return f"a {'PyTorch' if kind == 'torch' else 'TensorFlow'} tensor"
    return type(value).__name__


def called(result, name: str):
    """The value of a ``raises=True`` call; a failed call fails the check, naming kdlib if it was used."""
    error = result.error
    if error is not None:
        expect(
            "name 'ref' is not defined" not in error and "the answer key" not in error,
            f"{name} uses kdlib ({error[:160]}): kdlib.reference and kdlib's losses are not available while a "
            "notebook is graded; write the function yourself in NumPy",
        )
        expect(False, f"calling {name} raised {error}")
    return result.value


def probabilities(result, z: np.ndarray, T: float) -> np.ndarray:
    """softmax_with_temperature's result: a NumPy array of the input's shape."""
    p = called(result, SOFTMAX)
    expect(
        isinstance(p, np.ndarray) and getattr(p, "kind", "numpy") == "numpy", f"return a NumPy array, got {_type(p)}"
    )
    expect(p.shape == z.shape, f"the output must have the input's shape {z.shape}, got {p.shape}")
    expect(p.dtype.kind == "f", f"the output must hold floating-point probabilities, got dtype {p.dtype}")
    return np.asarray(p, dtype=np.float64)


def diagnose(p: np.ndarray, z: np.ndarray, T: float) -> str | None:
    """The usual mistake that explains a wrong softmax_with_temperature(z, T), if one does."""
    with np.errstate(all="ignore"):
        if not np.isfinite(p).all():
            finite_rows = np.isfinite(p).all(axis=1)
            top_row = np.unravel_index(np.argmax(z), z.shape)[0]
            if finite_rows[top_row] and not finite_rows.all():
                return (
                    "the rows far below the largest logit of the whole array are NaN (0 / 0): subtract each "
                    "row's own maximum, max(axis=1, keepdims=True), not the maximum of the whole array"
                )
            return None
        if T != 1 and allclose(p, ref.soft_targets(z, 1.0)) and not allclose(p, ref.soft_targets(z, T)):
            return f"at T = {T:g} you return softmax(logits): divide the logits by T"
        if T != 1 and allclose(p, ref.soft_targets(z, 1.0 / T)) and not allclose(p, ref.soft_targets(z, T)):
            return f"at T = {T:g} you return softmax(logits · T): divide by T, do not multiply"
        if len(z) > 1 and allclose(p.sum(axis=0), 1.0) and not allclose(p.sum(axis=1), 1.0):
            return "the columns sum to 1: normalise along the class axis (axis=1), not the batch axis"
    return None


def expect_softmax(result, z: np.ndarray, T: float, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """softmax_with_temperature(z, T) must equal ref.soft_targets(z, T); name the mistake if it does not."""
    p = probabilities(result, z, T)
    want = ref.soft_targets(z, T)
    if not close(p, want, rtol, atol):
        why = diagnose(p, z, T)
        expect(why is None, f"{what}: {why}")
    expect_close(p, want, what, rtol, atol)


def sm(ask, z: np.ndarray, T):
    return ask.call(SOFTMAX, z, T, raises=True)


@judge.check("test_softmax_rows")
def softmax_rows(ask):
    cases = [(logits(3, 5, seed=1), 2.0)]
    cases += [(logits(B, C, seed=200 + B), T) for (B, C), T in [((1, 2), 1.0), ((7, 10), 0.3), ((2, 100), 50.0)]]
    got = yield [sm(ask, z, T) for z, T in cases]
    for (z, T), result in zip(cases, got, strict=True):
        p = probabilities(result, z, T)
        B, C = z.shape
        expect(np.isfinite(p).all(), f"the output holds inf or NaN for B={B}, C={C}, T={T:g}: {ROW_MAX}")
        expect((p >= 0).all(), "probabilities cannot be negative")
        expect(
            not (B > 1 and allclose(p.sum(axis=0), 1.0) and not allclose(p.sum(axis=1), 1.0)),
            "the columns sum to 1: normalise along the class axis (axis=1), not the batch axis",
        )
        expect(
            allclose(p.sum(axis=1), 1.0),
            f"each row must sum to 1 (B={B}, C={C}, T={T:g}), got row sums "
            f"{np.round(p.sum(axis=1), 4)[:8].tolist()}: divide by the sum of each row",
        )


@judge.check("test_softmax_reference")
def softmax_reference(ask):
    z = logits(4, 6, seed=2)
    visible = [(z, T) for T in (1.0, 0.5, 4.0)]
    hidden = [
        (logits(B, C, seed=seed), T)
        for seed, (B, C), T in [(211, (1, 3), 1.0), (212, (16, 10), 2.5), (213, (5, 50), 0.1), (214, (8, 4), 20.0)]
    ]
    z3 = logits(3, 4, seed=215)
    z32 = logits(6, 10, seed=216).astype(np.float32)
    got = yield (
        [ask.scenario("input_after_call", logits=z, T=2.0, raises=True)]
        + [sm(ask, a, T) for a, T in visible + hidden]
        + [sm(ask, z3, 3.0), sm(ask, z32, 4.0), sm(ask, z3, 2)]
    )
    after = called(got[0], SOFTMAX)
    expect(
        close(after, z, rtol=0, atol=0),
        "softmax_with_temperature changed its input array: compute z = logits / T "
        "as a new array instead of dividing or subtracting in place (/=, -=)",
    )
    results = got[1:]
    for (a, T), result in zip(visible, results, strict=False):
        expect_softmax(result, a, T, f"softmax_with_temperature(z, T={T:g})")
    for (a, T), result in zip(hidden, results[len(visible) :], strict=False):
        B, C = a.shape
        expect_softmax(result, a, T, f"softmax_with_temperature for B={B}, C={C}, T={T:g}")
    r3, r32, rint = results[-3:]
    expect_softmax(r3, z3, 3.0, "softmax_with_temperature(z, T=3)")
    expect_softmax(r32, z32.astype(np.float64), 4.0, "float32 logits", rtol=1e-5, atol=1e-6)
    expect_softmax(rint, z3, 2.0, "an integer temperature T = 2")


@judge.check("test_softmax_stable")
def softmax_stable(ask):
    z1 = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1.0, -1e4 + 2.0]])
    z2 = np.array([[1e4, 5e3, -1e4, 0.0], [-1e4, -1e4, -1e4, -1e4], [3e3, 3e3 + 1e-3, 0.0, -3e3]])
    cases = [(z1, 1.0)] + [(z2, T) for T in (0.5, 1.0, 7.0)]
    got = yield [sm(ask, z, T) for z, T in cases]
    for (z, T), result in zip(cases, got, strict=True):
        p = probabilities(result, z, T)
        if not np.isfinite(p).all():
            why = diagnose(p, z, T)
            expect(why is None, f"logits of ±1e4 at T = {T:g}: {why}")
            expect(False, f"the output holds inf or NaN for logits of ±1e4 at T = {T:g}: {ROW_MAX}")
        expect_softmax(result, z, T, f"softmax_with_temperature for logits of ±1e4 at T = {T:g}")


@judge.check("test_softmax_limits")
def softmax_limits(ask):
    z, zh = logits(3, 5, seed=3), logits(4, 10, seed=221)
    hot, cold, hot8, cold8 = yield [sm(ask, z, 1e4), sm(ask, z, 1e-3), sm(ask, zh, 1e8), sm(ask, zh, 1e-8)]
    for a, T, result, atol in [(z, 1e4, hot, 1e-3), (zh, 1e8, hot8, 1e-6)]:
        p = probabilities(result, a, T)
        if not close(p, np.full(a.shape, 1 / a.shape[1]), rtol=0, atol=atol):
            why = diagnose(p, a, T)
            expect(why is None, f"at T = {T:g}: {why}")
        expect_close(
            p,
            np.full(a.shape, 1 / a.shape[1]),
            f"at T = {T:g} every probability should be close to 1/C",
            rtol=0,
            atol=atol,
        )
    for a, T, result, atol in [(z, 1e-3, cold, 1e-6), (zh, 1e-8, cold8, 1e-9)]:
        p = probabilities(result, a, T)
        expect(
            np.isfinite(p).all(),
            f"the output is not finite at T = {T:g} (logits / T are about "
            f"±{np.abs(a).max() / T:.0e}): subtract each row's maximum",
        )
        one_hot = np.eye(a.shape[1])[a.argmax(axis=1)]
        if not close(p, one_hot, rtol=0, atol=atol):
            why = diagnose(p, a, T)
            expect(why is None, f"at T = {T:g}: {why}")
        expect_close(p, one_hot, f"at T = {T:g} each row should be one-hot on its largest logit", rtol=0, atol=atol)


def entropies(result, B: int) -> np.ndarray:
    """entropy's result as a float64 array of shape (B,)."""
    h = called(result, "entropy")
    try:
        arr = np.asarray(h, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    expect(arr is not None, f"entropy must return an array of shape ({B},), got {_type(h)}")
    expect(arr.shape == (B,), f"entropy must return one value per row, shape ({B},), got shape {arr.shape}")
    return arr


def nats(p: np.ndarray) -> np.ndarray:
    return entr(np.asarray(p, dtype=np.float64)).sum(axis=1)


def ent(ask, p):
    return ask.call("entropy", p, raises=True)


@judge.check("test_entropy_extremes")
def entropy_extremes(ask):
    cases = [np.array([[0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]])]
    cases += [np.vstack([np.full(C, 1 / C), np.eye(C)[C // 2]]) for C in (2, 10, 1000)]
    got = yield [ent(ask, p) for p in cases]
    for p, result in zip(cases, got, strict=True):
        C = p.shape[1]
        h = entropies(result, 2)
        expect(
            not np.isnan(h[1]),
            "the entropy of a one-hot row is NaN: 0 · log 0 must count as 0; take the log only where p > 0",
        )
        expect(
            not close(h[0], math.log2(C), rtol=1e-5, atol=1e-8),
            f"the entropy of the uniform distribution over {C} classes is {math.log2(C):g}: that is bits; use np.log",
        )
        expect_close(h, [math.log(C), 0.0], f"entropy of [uniform over {C} classes, one-hot]")


@judge.check("test_entropy_reference")
def entropy_reference(ask):
    p4 = np.array([[0.5, 0.5, 0.0, 0.0], [0.7, 0.2, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4], [0.97, 0.01, 0.01, 0.01]])
    p9 = ref.soft_targets(logits(9, 7, seed=231), 0.7)
    p9[2] = np.eye(7)[3]
    p9[5] = [0.2, 0.0, 0.3, 0.0, 0.0, 0.5, 0.0]
    p32 = ref.soft_targets(logits(3, 5, seed=232), 2.0).astype(np.float32)
    r4, r9, r32 = yield [ent(ask, p4), ent(ask, p9), ent(ask, p32)]
    for p, result, what, rtol in [
        (p4, r4, "entropy of 4 distributions over 4 classes", 1e-7),
        (p9, r9, "entropy of 9 distributions over 7 classes", 1e-6),
        (p32, r32, "float32 input", 1e-5),
    ]:
        h = entropies(result, len(p))
        want = nats(p)
        expect(not allclose(h, want / math.log(2)), "the entropy is in bits: use the natural log (np.log)")
        expect(
            not np.isnan(h).any(),
            f"{what}: the entropy is NaN for rows with exact zeros: 0 · log 0 must count "
            "as 0; take the log only where p > 0",
        )
        expect_close(h, want, what, rtol=rtol)


@judge.check("test_t2_exponent")
def t2_exponent(ask):
    (k,) = yield [ask.value("t2_exponent")]
    scalar = isinstance(k, np.ndarray) and k.shape == () and k.dtype.kind in "iuf"
    expect((isinstance(k, Real) and not isinstance(k, bool)) or scalar, f"t2_exponent must be a number, got {_type(k)}")
    k = float(k)
    expect(-5 <= k <= 5, f"t2_exponent = {k:g} is not plausible: the answer is a small integer")
    expect(k != 2, "the gradients shrink as T grows, so the exponent is negative")
    expect(k != -1, "∂L/∂s = (q − p)/T, but q − p itself shrinks like 1/T for large T: the exponent is not −1")
    want = QUIZ["02/t2_exponent"]
    expect(close(k, want, rtol=1e-5, atol=1e-8), f"t2_exponent = {k:g} is wrong: see the log-log plot's slope")


@judge.check("test_limit_grad")
def limit_grad(ask):
    (value,) = yield [ask.value("limit_grad")]
    try:
        g = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        g = None
    expect(g is not None, f"limit_grad must be a NumPy array of shape (1, 4), got {_type(value)}")
    expect(g.shape == (1, 4), f"limit_grad must have shape (1, 4) (one example, 4 classes), got {g.shape}")
    expect(np.isfinite(g).all(), "limit_grad must be finite")
    expect(
        abs(g.sum()) <= 1e-6,
        f"the entries of the gradient sum to 0 (softmax(s/T) − softmax(t/T) sums to 0), got {g.sum():.4g}",
    )
    s, t = np.array([[2.0, 0.0, -1.0, 1.0]]), np.array([[3.0, 1.0, -2.0, 2.0]])
    want = ((s - s.mean()) - (t - t.mean())) / 4  # the large-T limit of ref.distillation_grad(s, t, T)
    expect(not close(g, want * 4, rtol=1e-5, atol=1e-3), "limit_grad is missing the division by C = 4")
    expect(np.abs(g).max() > 1e-3, "limit_grad is close to 0: that is the gradient without the T² factor")
    expect_close(g, want, "limit_grad: the large-T gradient ((s − mean s) − (t − mean t)) / C", rtol=0, atol=1e-3)


@judge.check("test_kl_direction")
def kl_direction(ask):
    (value,) = yield [ask.value("kl_direction")]
    expect(
        isinstance(value, str) and value.strip().lower() in ("a", "b", "c", "d"),
        f'kl_direction must be one of "a", "b", "c", "d", got {_type(value)} {value!r:.40}',
    )
    answer = value.strip().lower()
    expect(answer != "a", "KL is not symmetric: KL(p ‖ q) and KL(q ‖ p) weigh log(p/q) by different distributions")
    expect(
        answer != "b",
        "the directions are swapped: the forward KL(p ‖ q) weighs by the teacher's p, so the student must cover "
        "every mode of the teacher; the reverse KL(q ‖ p) weighs by the student's q (see the plot in section 4)",
    )
    expect(answer == QUIZ["02/kl_direction"], "look at the plot in section 4: where does each fit put its mass?")

"""Hidden checks of 04_loss_tf, decided outside the student's kernel (see kdlib.grading.judge).

The TensorFlow twin of 03_loss_torch's judge. Each check repeats its cell's visible test on the
same inputs and extends it with fresh ones. The student's ``distillation_loss`` / ``kd_loss``
are called in the sandbox with float64 (or float32) TensorFlow tensors made from the arrays
below (gradients through ``tf.GradientTape`` on a ``tf.Variable``); the expected values come
from ``kdlib.reference`` here. Where a value is wrong, :func:`diagnose` names the usual mistake
first (T² missing, the KL averaged over B·C, reversed, Keras's KL of logits...), then the plain
difference.
"""

from __future__ import annotations

import numpy as np

from kdlib import reference as ref
from kdlib.grading.judge import Judge, as_float, close, expect, expect_close
from kdlib.grading.loss_checks import LossChecks, isclose, labels, logits

judge = Judge(
    "04_loss_tf",
    answer_key=["kdlib.reference", "kdlib.torch", "kdlib.tf", "kdlib.experiment", "kdlib.deploy"],
    demos=["demo-keras-kl", "compare_kdlib"],
)

CHECKS = LossChecks("tf")
T2, REVERSED, SUMMED, ALL_ELEMENTS = CHECKS.t2, CHECKS.reversed, CHECKS.summed, CHECKS.all_elements
LOG_SOFTMAX, CLIPPED, KERAS_LOGITS = CHECKS.log_softmax, CHECKS.clipped, CHECKS.keras_logits
diagnose, expect_loss, as_loss = CHECKS.diagnose, CHECKS.expect_loss, CHECKS.as_loss


def dl(ask, s, t, T, **kw):
    return ask.call("distillation_loss", s, t, float(T), tensors="tf", **kw)


def kd(ask, s, t, y, T, a, **kw):
    return ask.call("kd_loss", s, t, y, tensors="tf", temperature=float(T), alpha=float(a), **kw)


ALPHA = CHECKS.alpha_swapped


def finite(got, s, what: str) -> float:
    """A distillation_loss result as a finite float (a (B, C) result, nan or inf named)."""
    value = as_loss(got, s, what)
    expect(np.isfinite(value), f"{what}: the loss is {value}: {CHECKS.nan_ordinary}")
    return value


@judge.check("test_distill_t_squared")
def t_squared(ask):
    s, t = logits(seed=1), logits(seed=2)
    s2, t2 = logits(6, 3, seed=101), logits(6, 3, seed=102)
    base, k2, k5, h05, b05, h10, b10 = yield [
        dl(ask, s, t, 1.0),
        dl(ask, 2 * s, 2 * t, 2.0),
        dl(ask, 5 * s, 5 * t, 5.0),
        dl(ask, s2, t2, 0.5),
        dl(ask, s2 / 0.5, t2 / 0.5, 1.0),
        dl(ask, s2, t2, 10.0),
        dl(ask, s2 / 10, t2 / 10, 1.0),
    ]
    base = finite(base, s, "distillation_loss(s, t, T=1)")
    for k, got in [(2.0, k2), (5.0, k5)]:
        value = finite(got, s, f"distillation_loss at T = {k:g}")
        ratio = value / base
        expect(not isclose(ratio, 1.0), T2)
        expect(not isclose(ratio, k), "the soft term is scaled by T, not by T²")
        why = None if isclose(ratio, k * k) else diagnose(value, k * s, k * t, k)
        expect(why is None, f"distillation_loss({k:g}·s, {k:g}·t, T={k:g}): {why}")
        expect(
            isclose(ratio, k * k),
            f"distillation_loss({k:g}·s, {k:g}·t, T={k:g}) should be {k * k:g} times "
            f"distillation_loss(s, t, T=1), got {ratio:.4g} times: divide both logits by T and multiply "
            "the KL by T²",
        )
    for T, got, at1 in [(0.5, h05, b05), (10.0, h10, b10)]:
        got = finite(got, s2, f"distillation_loss at T = {T:g}")
        expect(not isclose(got, ref.distillation_loss(s2, t2, T) / T**2), T2)
        expect_close(
            got / as_float(at1, "distillation_loss at T = 1"),
            T * T,
            f"the ratio distillation_loss(s, t, T) / distillation_loss(s/T, t/T, 1) at T = {T:g} (it must be T²)",
            rtol=1e-5,
        )


@judge.check("test_distill_direction")
def direction(ask):
    cases = [
        (np.array([[4.0, 0.0, 0.0]]), np.array([[1.0, 1.0, 0.0]])),
        (logits(5, 4, seed=111), logits(5, 4, seed=112)),
    ]
    got = yield [dl(ask, s, t, 1.0) for s, t in cases]
    for (s, t), value in zip(cases, got, strict=True):
        value = finite(value, s, "distillation_loss(s, t, T=1)")
        expect(not isclose(value, ref.distillation_loss(t, s, 1.0)), REVERSED)
        expect_loss(value, s, t, 1.0, f"distillation_loss(s, t, T=1) for {len(s)} example(s) with {s.shape[1]} classes")


@judge.check("test_distill_batch_mean")
def batch_mean(ask):
    s = logits(3, 6, seed=3)
    t = s[:, [1, 0, 2, 3, 4, 5]]
    s2 = logits(7, 10, seed=121)
    t2 = s2[:, [3, 1, 2, 0, 4, 5, 6, 9, 8, 7]]
    one, two, big = yield [
        dl(ask, s, t, 1.0),
        dl(ask, np.concatenate([s, s]), np.concatenate([t, t]), 1.0),
        dl(ask, s2, t2, 1.0),
    ]
    one, two = finite(one, s, "distillation_loss"), finite(two, np.concatenate([s, s]), "distillation_loss")
    expect(not isclose(two, 2 * one), SUMMED)
    expect_close(two, one, "repeating the batch must not change the loss")
    for value, (a, b) in [(one, (s, t)), (big, (s2, t2))]:
        value = finite(value, a, "distillation_loss")
        want = ref.distillation_loss(a, b, 1.0)
        expect(not isclose(value, len(a) * want), SUMMED)
        expect(not isclose(value, want / a.shape[1]), ALL_ELEMENTS)
        expect_loss(value, a, b, 1.0, f"distillation_loss(s, t, T=1) for {len(a)} examples with {a.shape[1]} classes")


@judge.check("test_distill_temperature")
def temperature(ask):
    cases = [(4.0, logits(seed=4), logits(seed=14), logits(seed=5), logits(seed=15))]
    cases += [
        (T, logits(6, 8, seed=131), logits(6, 8, seed=132), logits(6, 8, seed=133), logits(6, 8, seed=134))
        for T in (0.5, 10.0)
    ]
    asked = []
    for T, s, t, s2, t2 in cases:
        asked += [dl(ask, s, t, T), dl(ask, s / T, t / T, 1.0), dl(ask, s2, t2, T), dl(ask, s2 / T, t2 / T, 1.0)]
    same = cases[0][1]
    got = yield [*asked, dl(ask, same, same.copy(), 4.0)]
    for i, (T, s, t, s2, t2) in enumerate(cases):
        a, a1, b, b1 = (finite(v, s, "distillation_loss") for v in got[4 * i : 4 * i + 4])
        for value, x, y in [(a, s, t), (b, s2, t2)]:
            expect(
                not isclose(value, ref.distillation_loss(x, T * y, T)),
                "the temperature is not applied to the teacher: use softmax(teacher_logits / T)",
            )
            expect(
                not isclose(value, ref.distillation_loss(T * x, y, T)),
                "the temperature is not applied to the student: use log_softmax(student_logits / T)",
            )
        expect_close(
            a / a1,
            b / b1,
            f"at T = {T:g} the ratio distillation_loss(s, t, T) / distillation_loss(s/T, "
            "t/T, 1) differs between two inputs: divide both the student and the teacher logits by T",
            rtol=1e-5,
        )

    # ratios alone cannot tell a loss from a constant: it must also vanish, and only, for equal logits
    equal, first = as_loss(got[-1], same, "distillation_loss(s, s, T)"), as_loss(got[0], same, "distillation_loss")
    why = None if close(equal, 0.0, atol=1e-9) else diagnose(first, cases[0][1], cases[0][2], 4.0)
    expect(why is None, f"distillation_loss(s, t, T=4): {why}")
    expect(
        close(equal, 0.0, atol=1e-9),
        f"distillation_loss(s, s, T=4) is {equal:.4g}: a student equal to its teacher has nothing to learn, the "
        "loss must be 0 (soften BOTH logits with the same T)",
    )
    expect(not isclose(first, equal), "distillation_loss gives the same value for any input: compute the KL")


@judge.check("test_distill_stable")
def stable(ask):
    cases = [(np.array([[1e4, -1e4, 0.0]]), np.array([[-1e4, 1e4, 0.0]]), 1.0)]
    s = np.array([[1e4, -1e4, 0.0, 5e3], [-1e4, 0.0, 1e4, 1.0]])
    t = np.array([[0.0, 1e4, -1e4, 2.0], [1e4, -1e4, 3.0, 0.0]])
    cases += [(s, t, 2.0), (s, t, 0.5)]  # T = 2 first: at T = 0.5 with B = 2, "summed" and "× T" look alike
    s32 = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    plain = logits(3, 5, seed=201), logits(3, 5, seed=202)
    got = yield [dl(ask, a, b, T, grad=[0], raises=True) for a, b, T in cases] + [
        dl(ask, s32, -s32, 1.0),
        *[dl(ask, *plain, T) for _, _, T in cases],
    ]
    # first rule out what is wrong at ordinary logits too (nan everywhere, T², the reduction, the direction...):
    # at ±1e4 several mistakes can give the same value, at ordinary logits they do not
    for (_, _, T), value in zip(cases, got[len(cases) + 1 :], strict=True):
        what = f"distillation_loss for ordinary logits (3 examples, 5 classes, T = {T:g})"
        expect_loss(finite(value, plain[0], what), *plain, T, what)
    got = got[: len(cases) + 1]
    for (a, b, T), result in zip(cases, got, strict=False):
        expect(result.error is None, CHECKS.raised(result.error))
        value = as_loss(result.value["value"], a, "the loss")
        expect(np.isfinite(value), f"the loss is {value} for logits of ±1e4 at T = {T:g}: {LOG_SOFTMAX}")
        grad = result.value["grads"][0]
        expect(
            grad is not None and np.isfinite(np.asarray(grad, np.float64)).all(),
            f"the gradient is not finite for logits of ±1e4 at T = {T:g}: use tf.nn.log_softmax",
        )
        what = f"the loss for logits of ±1e4 at T = {T:g}"
        if len(a) == 1 and not close(value, ref.distillation_loss(a, b, T)) and diagnose(value, a, b, T) is None:
            what += " (clipping the probabilities before the log changes the value: use tf.nn.log_softmax)"
        expect_loss(value, a, b, T, what)
    expect(np.isfinite(as_float(got[-1], "the loss")), "the loss is not finite for float32 logits of ±1e4")


@judge.check("test_distill_gradient")
def gradient(ask):
    cases = [(logits(6, 4, seed=6), logits(6, 4, seed=7), 3.0)]
    cases += [
        (logits(B, C, seed=141 + B), logits(B, C, seed=151 + B), T) for (B, C), T in [((1, 2), 1.0), ((10, 7), 8.0)]
    ]
    got = yield [dl(ask, s, t, T, grad=[0], raises=True) for s, t, T in cases]
    for (s, t, T), result in zip(cases, got, strict=True):
        expect(result.error is None, CHECKS.raised(result.error))
        B, C = s.shape
        # a wrong value has a wrong gradient: name the value's mistake first
        expect_loss(result.value["value"], s, t, T, f"distillation_loss for B={B}, C={C}, T={T:g}")
        grad = result.value["grads"][0]
        expect(
            grad is not None,
            "no gradient reached the student logits: stay in TensorFlow (no .numpy(), no "
            "tf.stop_gradient on the student)",
        )
        expect(
            close(grad, ref.distillation_grad(s, t, T), rtol=1e-6, atol=1e-10),
            f"the gradient w.r.t. the student logits differs from T · (softmax(s/T) − softmax(t/T)) / B "
            f"(B={B}, C={C}, T={T:g})",
        )


@judge.check("test_distill_reference")
def reference(ask):
    cases = [
        (seed, B, C, T)
        for seed, (B, C), T in [
            (8, (4, 5), 2.0),
            (9, (16, 10), 4.0),
            (161, (1, 2), 1.0),
            (162, (32, 3), 7.5),
            (163, (5, 100), 0.5),
            (164, (8, 10), 20.0),
        ]
    ]
    arrays = [(logits(B, C, seed=seed), logits(B, C, seed=seed + 10), T) for seed, B, C, T in cases]
    same = logits(4, 6, seed=165)
    s32, t32 = logits(8, 10, seed=166).astype(np.float32), logits(8, 10, seed=167).astype(np.float32)
    got = yield [dl(ask, s, t, T) for s, t, T in arrays] + [dl(ask, same, same.copy(), 3.0), dl(ask, s32, t32, 4.0)]
    for (s, t, T), value in zip(arrays, got, strict=False):
        as_loss(value, s, f"distillation_loss for B={s.shape[0]}, C={s.shape[1]}, T={T:g}")
        kind, shape = getattr(value, "kind", type(value).__name__), getattr(value, "shape", None)
        expect(
            kind == "tf" and shape == (),
            f"distillation_loss must return a scalar (0-d) tensor, got "
            f"{'a tensor' if kind == 'tf' else type(value).__name__} with shape {shape}",
        )
        expect_loss(value, s, t, T, f"distillation_loss for B={s.shape[0]}, C={s.shape[1]}, T={T:g}")
    expect_close(got[-2], 0.0, "the loss of a student equal to its teacher must be 0")
    loss32 = got[-1]
    expect(
        getattr(loss32, "dtype", None) == np.float32,
        f"float32 inputs must give a float32 loss, got {getattr(loss32, 'dtype', type(loss32).__name__)}",
    )
    expect_close(loss32, ref.distillation_loss(s32, t32, 4.0), "float32 inputs", rtol=1e-4, atol=1e-6)


def swapped(s, t, y, T, a) -> float:
    """kd_loss with alpha on the hard term (the Keras example's convention)."""
    return (1 - a) * ref.distillation_loss(s, t, T) + a * ref.cross_entropy(s, y)


@judge.check("test_kd_alpha")
def kd_alpha(ask):
    s, t, y, other = logits(seed=21), logits(seed=22), labels(seed=23), logits(seed=24)
    s2, t2, y2 = logits(9, 3, seed=171), logits(9, 3, seed=172), labels(9, 3, seed=173)
    one, soft, zero, zero_other, one2, soft2, quarter, one_other, zero_labels = yield [
        kd(ask, s, t, y, 2.0, 1.0),
        dl(ask, s, t, 2.0),
        kd(ask, s, t, y, 2.0, 0.0),
        kd(ask, s, other, y, 2.0, 0.0),
        kd(ask, s2, t2, y2, 5.0, 1.0),
        dl(ask, s2, t2, 5.0),
        kd(ask, s2, t2, y2, 5.0, 0.25),
        kd(ask, s, other, y, 2.0, 1.0),
        kd(ask, s, t, (y + 1) % 5, 2.0, 0.0),
    ]
    msg = "with alpha = 1, kd_loss must equal distillation_loss (alpha weighs the soft term)"
    expect(not isclose(finite(one, s, "kd_loss with alpha = 1"), ref.cross_entropy(s, y)), f"{msg}; {ALPHA}")
    expect_close(as_loss(one, s, "kd_loss"), as_loss(soft, s, "distillation_loss"), msg)
    expect_close(
        zero,
        as_float(zero_other, "kd_loss"),
        "with alpha = 0, kd_loss must not depend on the teacher (alpha weighs the soft term)",
    )
    expect_close(as_loss(one2, s2, "kd_loss"), as_loss(soft2, s2, "distillation_loss"), msg)
    expect(not isclose(as_float(quarter, "kd_loss"), swapped(s2, t2, y2, 5.0, 0.25)), ALPHA)

    # equal values alone cannot tell a loss from a constant: alpha = 1 must follow the teacher, alpha = 0 the labels
    expect(
        not isclose(as_float(one, "kd_loss"), as_float(one_other, "kd_loss")),
        "with alpha = 1, kd_loss does not change with the teacher's logits: alpha weighs the soft (teacher) term",
    )
    expect(
        not isclose(as_float(zero, "kd_loss"), as_float(zero_labels, "kd_loss")),
        "with alpha = 0, kd_loss does not change with the labels: 1 − alpha weighs the cross-entropy",
    )


@judge.check("test_kd_hard_term")
def kd_hard_term(ask):
    cases = [
        (logits(seed=25), logits(seed=26), labels(seed=27), 4.0),
        (logits(12, 7, seed=181), logits(12, 7, seed=182), labels(12, 7, seed=183), 10.0),
    ]
    got = yield [kd(ask, s, t, y, T, 0.0) for s, t, y, T in cases]
    for (s, t, y, T), value in zip(cases, got, strict=True):
        hard = finite(value, s, "kd_loss with alpha = 0")
        expect(
            not isclose(hard, ref.cross_entropy(s / T, y)),
            "the cross-entropy is computed at temperature T: use the raw student logits (T = 1) for the hard term",
        )
        expect(
            not isclose(hard, ref.distillation_loss(s, t, T)),
            f"with alpha = 0, kd_loss must equal the cross-entropy of the raw student logits; {ALPHA}",
        )
        expect_close(
            hard,
            ref.cross_entropy(s, y),
            "with alpha = 0, kd_loss must equal the cross-entropy of the raw student logits",
        )


def expect_kd(value, own_soft, s, t, y, T, a, what: str) -> None:
    """A kd_loss value must match the reference; blame distillation_loss or alpha where they explain it."""
    CHECKS.check_kd(as_loss(value, s, what), as_loss(own_soft, s, "distillation_loss"), s, t, y, T, a, what)


@judge.check("test_kd_reference")
def kd_reference(ask):
    cases = [(logits(8, 10, seed=28), logits(8, 10, seed=29), labels(8, 10, seed=30), 4.0, 0.9)]
    for seed, (B, C), T, a in [(191, (1, 2), 1.0, 0.5), (192, (16, 5), 2.0, 0.1), (193, (4, 30), 10.0, 0.99)]:
        cases.append((logits(B, C, seed=seed), logits(B, C, seed=seed + 1), labels(B, C, seed=seed + 2), T, a))
    s, t, y = logits(5, 4, seed=194), logits(5, 4, seed=195), labels(5, 4, seed=196)
    defaults = ask.call("kd_loss", cases[0][0], cases[0][1], cases[0][2], tensors="tf")
    got = yield (
        [defaults]
        + [kd(ask, *c) for c in cases[1:]]
        + [kd(ask, s, t, y, 2.0, 0.5, grad=[0], raises=True)]
        + [dl(ask, c[0], c[1], c[3]) for c in cases]
    )
    n = len(cases)
    value, soft = got[0], got[n + 1 :]
    as_loss(value, cases[0][0], "kd_loss(s, t, y) with the defaults T = 4, alpha = 0.9")
    expect(getattr(value, "kind", None) == "tf" and value.shape == (), "kd_loss must return a scalar (0-d) tensor")
    for i, ((a_s, a_t, a_y, T, a), value) in enumerate(zip(cases, [got[0], *got[1:n]], strict=True)):
        B, C = a_s.shape
        what = (
            "kd_loss(s, t, y) with the defaults T = 4, alpha = 0.9"
            if i == 0
            else f"kd_loss for B={B}, C={C}, T={T:g}, alpha={a:g}"
        )
        expect_kd(value, soft[i], a_s, a_t, a_y, T, a, what)
    expect(got[n].error is None, CHECKS.raised(got[n].error, "kd_loss"))
    grad = got[n].value["grads"][0]
    p = np.exp(ref.log_softmax(s))
    want = 0.5 * ref.distillation_grad(s, t, 2.0) + 0.5 * (p - np.eye(4)[y]) / 5
    expect(
        grad is not None and close(grad, want, rtol=1e-6, atol=1e-10),
        "the gradient of kd_loss w.r.t. the student logits is wrong",
    )


@judge.check("test_parity_torch")
def parity(ask):
    # The visible test also compares with kdlib.torch.losses.kd_loss, which equals the NumPy reference
    # (tests/library/test_loss_contract.py): the reference alone decides here.
    s = np.random.default_rng(51).normal(0.0, 3.0, size=(12, 7))
    t = np.random.default_rng(52).normal(0.0, 3.0, size=(12, 7))
    y = np.random.default_rng(53).integers(0, 7, size=12)
    cases = [(1.0, 0.5), (4.0, 0.9), (10.0, 0.3)]
    got = yield [kd(ask, s, t, y, T, a) for T, a in cases] + [dl(ask, s, t, T) for T, _ in cases]
    for i, (T, a) in enumerate(cases):
        expect_kd(
            got[i], got[len(cases) + i], s, t, y, T, a, f"kd_loss at T = {T:g}, alpha = {a:g} vs the NumPy reference"
        )

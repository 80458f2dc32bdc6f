"""Hidden checks of 09_beyond_logits, decided outside the student's kernel (see kdlib.grading.judge).

``fitnets_hint_loss`` needs a regressor module: the judge sends the features and the regressor's
weights, ``probe.py`` builds the ``nn.Linear`` in the sandbox, calls the learner's loss (and its
``backward``) and returns the value and the gradients; the expected values are computed here in
NumPy (mean over batch and features of (r(s) − t)²). ``bias_shift_for_share`` is observed on
logits the judge sends, with a check that they were not modified in place; the smallest shift is
computed here from the sorted margins. The answer key is every ``fitnets_hint_loss`` of the kit:
``kdlib.torch.methods``, ``kdlib.tf.methods`` and ``kdlib.reference`` (the DKD demo that imports
the first is a locked cell, skipped when graded).
"""

from __future__ import annotations

import math

import numpy as np

from kdlib.grading.judge import Judge, expect

judge = Judge(
    "09_beyond_logits",
    answer_key=["kdlib.torch.methods", "kdlib.tf.methods", "kdlib.reference"],
    demos=["teacher", "loops", "dkd", "plot-methods", "dark-setup", "dark", "gap"],
)

SUM = "the squared errors are summed: take the mean over the batch and the features (F.mse_loss's default)"
BATCH_ONLY = "the squared errors are averaged over the batch only: take the mean over the features too"


def _hint(s, t, w, b=None) -> tuple[float, np.ndarray]:
    """The loss mean((s Wᵀ + b − t)²) and its gradient w.r.t. s, in float64."""
    r = s @ w.T + (0.0 if b is None else b)
    loss = float(np.mean((r - t) ** 2))
    return loss, 2.0 * (r - t) @ w / r.size


def _value(result, what: str) -> float:
    expect(result.error is None, f"calling fitnets_hint_loss on {what} raised {result.error}")
    seen = result.value
    expect(
        seen["is_tensor"] and seen["ndim"] == 0,
        f"fitnets_hint_loss must return a scalar (0-d) tensor, got a {seen['type']}"
        + (f" with {seen['ndim']} dimensions" if seen["is_tensor"] else ""),
    )
    return float(seen["value"])


def _why(got: float, want: float, s: np.ndarray, t: np.ndarray) -> str:
    """The usual mistake behind a wrong hint loss, if one explains it."""
    if math.isclose(got, want * t.size, rel_tol=1e-5):
        return SUM
    if math.isclose(got, want * t.shape[1], rel_tol=1e-5):
        return BATCH_ONLY
    if math.isclose(got, want * t.size / 2, rel_tol=1e-5):
        return "this is FitNets' ½·sum: take the mean over the batch and the features (F.mse_loss)"
    return "compute F.mse_loss(regressor(student_feat), teacher_feat.detach())"


@judge.check("test_hint_values")
def hint_values(ask):
    s = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = np.array([[1.0, 0.0], [3.0, 6.0]])
    rng = np.random.default_rng(91)
    s2, t2, w2, b2 = rng.normal(size=(6, 4)), rng.normal(size=(6, 3)), rng.normal(size=(3, 4)), rng.normal(size=3)
    hand, rand = yield [
        ask.scenario("hint_value", raises=True, student=s, teacher=t, weight=np.eye(2)),
        ask.scenario("hint_value", raises=True, student=s2, teacher=t2, weight=w2, bias=b2),
    ]
    got = _value(hand, "the hand-made case")
    expect(
        abs(got - 2.0) < 1e-6,
        f"identity regressor, squared errors 0, 4, 0, 4: the mean is 2.0, got {got}: {_why(got, 2.0, s, t)}",
    )
    want = _hint(s2, t2, w2, b2)[0]
    got = _value(rand, "random features")
    expect(
        math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6),
        f"random case (6 examples, 4 → 3 features): got {got:.6g}, expected {want:.6g}: {_why(got, want, s2, t2)}",
    )


@judge.check("test_hint_gradients")
def hint_gradients(ask):
    rng = np.random.default_rng(0)
    s, t, w, b = rng.normal(size=(8, 5)), rng.normal(size=(8, 3)), rng.normal(size=(3, 5)), rng.normal(size=3)
    rng = np.random.default_rng(3)
    s2, t2, w2, b2 = rng.normal(size=(16, 7)), rng.normal(size=(16, 4)), rng.normal(size=(4, 7)), rng.normal(size=4)
    f32 = [a.astype(np.float32).astype(np.float64) for a in (s2, t2, w2, b2)]
    back, rand, dup = yield [
        ask.scenario("hint_backward", raises=True, student=s, teacher=t, weight=w, bias=b),
        ask.scenario("hint_value", raises=True, student=s2, teacher=t2, weight=w2, bias=b2),
        ask.scenario(
            "hint_value",
            raises=True,
            student=np.concatenate([s2, s2]),
            teacher=np.concatenate([t2, t2]),
            weight=w2,
            bias=b2,
        ),
    ]
    expect(back.error is None, f"calling fitnets_hint_loss(...).backward() raised {back.error}")
    seen = back.value
    expect(seen["teacher_grad"] is None, "a gradient reached teacher_feat: detach the teacher features")
    expect(
        seen["student_grad"] is not None and np.abs(seen["student_grad"]).sum() > 0, "no gradient reached student_feat"
    )
    expect(
        seen["weight_grad"] is not None and np.abs(seen["weight_grad"]).sum() > 0,
        "no gradient reached the regressor: apply it to the student features inside the loss",
    )
    got, ref = _value(rand, "random features"), _hint(*f32)[0]
    expect(
        abs(got - ref) < 1e-5 * max(1.0, abs(ref)), f"random case: got {got}, expected {ref}: {_why(got, ref, s2, t2)}"
    )
    twice = _value(dup, "a batch repeated twice")
    expect(
        abs(twice - got) < 1e-5 * max(1.0, abs(got)),
        f"the loss must be a mean over the batch: repeating the batch changed it from {got:.6g} to {twice:.6g}",
    )
    want = _hint(*[a.astype(np.float32).astype(np.float64) for a in (s, t, w, b)])[1]
    expect(
        np.allclose(seen["student_grad"], want, rtol=1e-4, atol=1e-6),
        "the gradient w.r.t. student_feat differs from that of mean((regressor(s) − t)²)",
    )


def _bias(obs: dict, what: str) -> float:
    expect("error" not in obs, f"calling bias_shift_for_share on {what} raised {obs.get('error')}")
    expect(obs["value"] is not None, f"bias_shift_for_share must return a number, got {obs['type']}")
    return obs["value"]


def _margins(z: np.ndarray, cls: int) -> np.ndarray:
    return np.sort(np.delete(z, cls, 1).max(1) - z[:, cls])


@judge.check("test_bias_hand")
def bias_hand(ask):
    z = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [1.0, 4.0, 0.0], [0.0, 4.0, 4.0]])
    already = np.array([[5.0, 0.0], [5.0, 1.0]])
    (obs,) = yield [ask.scenario("bias_calls", cases=[(z, 0, 0.5), (z, 0, 1.0), (already, 0, 0.5)])]
    half, whole, none = obs
    b = _bias(half, "the hand-made case")
    expect(not half["modified"], "bias_shift_for_share modified the logits in place: work on a copy")
    expect(half["is_float"], f"return a Python float, got {half['type']}")
    why = (
        "a shift equal to the margin only makes a tie: add a tiny amount, e.g. 1e-6"
        if b == 2.0
        else "that is not the smallest shift"
        if b > 2.001
        else "the share is not reached"
    )
    expect(
        2.0 < b <= 2.001,
        f"for half of the rows class 0 needs b just above the 2nd smallest margin, 2.0 (within 1e-3); got {b}: {why}",
    )
    b_all = _bias(whole, "the hand-made case")
    expect(4.0 < b_all <= 4.001, f"for every row b must just exceed the largest margin 4.0, got {b_all}")
    b_none = _bias(none, "logits where class 0 is already predicted")
    expect(b_none == 0.0, f"class 0 is already predicted for every row: the shift must be 0.0, got {b_none}")


@judge.check("test_bias_random")
def bias_random(ask):
    z = np.random.default_rng(5).normal(0, 3, (1000, 10))  # the visible test's logits
    z[:, 3] = z[:, 3] - 6  # class 3 almost never predicted
    rng = np.random.default_rng(95)
    z2 = rng.normal(0, 2, (333, 6))
    z2[:, 1] -= 4
    cases = [(z, 3, 0.1), (z, 3, 0.3), (z2, 1, 0.25)]
    obs = yield [ask.scenario("bias_calls", cases=cases)]
    values = [_bias(o, f"{len(c[0])} random rows") for o, c in zip(obs[0], cases, strict=True)]
    for b, (logits, cls, share) in zip(values, cases, strict=True):
        shifted = logits.copy()
        shifted[:, cls] += b
        got = (shifted.argmax(1) == cls).mean()
        k = math.ceil(share * len(logits))
        expect(
            (shifted.argmax(1) == cls).sum() >= k,
            f"after adding b = {b:.4f} class {cls} is predicted for {got:.1%} of the rows, not >= {share:.0%}",
        )
        m = _margins(logits, cls)[k - 1]
        expect(
            m < b <= m + 1e-3,
            f"b = {b} is not the smallest shift ({m:.4f}, for {share:.0%} of {len(logits)} "
            f"rows): b must just exceed the {k}-th smallest margin",
        )
    expect(values[1] > values[0], "a larger target share needs a larger shift")

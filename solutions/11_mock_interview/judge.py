"""Hidden checks of 11_mock_interview, decided outside the student's kernel (see kdlib.grading.judge).

- Part 1 (quick-fire questions): the answers are read from the notebook and compared with
  :data:`QUIZ`, the key (the bank, kdlib/questions.yaml, and kdlib.drill are hidden while a
  notebook is graded). The visible tests hold salted hashes of the same key for instant feedback
  (``kdlib.quiz``); tests/library/test_quiz.py checks that they match it.
- Part 3 (the KD loss from memory): ``kd_loss`` may be written in PyTorch or TensorFlow, as
  ``FRAMEWORK`` says. Each check reads FRAMEWORK and calls ``kd_loss`` with tensors of BOTH
  frameworks (a check asks once): it judges the calls of the chosen framework and uses the
  others only to say "is FRAMEWORK set to the framework you wrote it in?". Expected values come
  from ``kdlib.reference``.
- Part 4 (the article's Keras sample, fixed): ``probe.sample_run`` runs ``fixed_sample`` in the
  kernel with every ``keras.Model.fit`` call recorded and sends fingerprints of the arrays and
  the models' predictions; the checks compare them with x_train / x_test / the labels here.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from kdlib import reference as ref
from kdlib.grading.judge import Failed, Judge, as_float, close, expect, expect_close

judge = Judge(
    "11_mock_interview",
    answer_key=["kdlib.reference", "kdlib.torch.losses", "kdlib.tf.losses", "kdlib.drill", "questions.yaml"],
    demos=["framework"],
)


def isclose(a, b, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """np.isclose's defaults, as the notebook's tests use them."""
    return close(a, b, rtol=rtol, atol=atol)


# --- part 1: quick-fire questions ---------------------------------------------------------------


def _entropy(logits: list[float]) -> float:
    """Entropy in nats of softmax(logits)."""
    p = ref.soft_targets(np.array([logits], dtype=np.float64), 1.0)[0]
    return float(-(p * np.log(p)).sum())


#: The key of part 1 (bank ids in the comments; tests/drill/test_drill.py checks the notebook against the bank).
QUIZ = {
    "11/q1": "c",  # derivation-kl-vs-ce
    "11/q2": "d",  # temperature-at-inference
    "11/q3": "d",  # loss-direction
    "11/q4": "c",  # bug-keras-distillation-default
    "11/q5": "d",  # llm-forward-reverse-kl
    "11/q6": "b",  # design-capacity-gap
    "11/q7": 16.0,  # derivation-t-squared
    "11/q8": _entropy([1.0, 0.0, 0.0, 0.0]),  # derivation-kl-ce-gap: H(p, q) − KL(p ‖ q) = H(p) ≈ 1.2683
    "11/q9": -0.25,  # derivation-gradient
}


def _choice(name: str, value, options: str = "abcd") -> str:
    """The notebook's check_choice: a one-letter string among the options, normalised."""
    expect(
        isinstance(value, str), f"{name} must be a one-letter string such as 'a', got {type(value).__name__} {value!r}"
    )
    expect(value.strip().lower() in options, f"{name} must be one of {list(options)}, got {value!r}")
    return value.strip().lower()


def _number(name: str, value, low: float, high: float, hint: str = "") -> float:
    """The notebook's check_number: a finite real number in [low, high]."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok or (isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "fiu")
    expect(ok, f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    expect(
        low <= value <= high and np.isfinite(value),
        f"{name} = {value!r} is outside the possible range [{low:g}, {high:g}]. {hint}",
    )
    return value


def choice_check(grade_id: str, name: str, key: str, wrong: str, traps: dict[str, str] | None = None) -> None:
    """A multiple-choice question: ``traps`` maps tempting wrong letters to their own message."""

    def check(ask):
        (value,) = yield [ask.value(name)]
        answer = _choice(name, value)
        for letter, message in (traps or {}).items():
            expect(answer != letter, message)
        expect(answer == key, wrong)

    judge.check(grade_id)(check)


choice_check(
    "test_q1",
    "q1_kl_vs_ce",
    QUIZ["11/q1"],  # bank: derivation-kl-vs-ce
    "q1_kl_vs_ce is wrong: KL(p ‖ q) = H(p, q) − H(p), and the teacher's entropy H(p) does not depend on the "
    "student, so only the value changes, not the gradient",
)
choice_check(
    "test_q2",
    "q2_inference_T",
    QUIZ["11/q2"],  # bank: temperature-at-inference
    "q2_inference_T is wrong: dividing every logit by the same T > 0 keeps their order, so the argmax (and the "
    "accuracy) cannot change; only the probabilities get flatter",
)
choice_check(
    "test_q3",
    "q3_kl_div_call",
    QUIZ["11/q3"],  # bank: loss-direction
    "q3_kl_div_call is wrong: F.kl_div(input, target) takes the student's LOG-probabilities as input and the "
    "teacher's probabilities as target, with reduction='batchmean' (notebook 03)",
    {
        "a": "q3_kl_div_call is wrong: F.kl_div(input, target) computes KL(target ‖ input), so (a) is "
        "KL(student ‖ teacher), the reverse KL (notebook 03)",
        "b": "q3_kl_div_call is wrong: F.kl_div's input must be LOG-probabilities; (b) passes the student's "
        "probabilities (notebook 03)",
        "c": "q3_kl_div_call is wrong: reduction='mean' divides by B·C, not by B (notebook 03)",
    },
)
choice_check(
    "test_q4",
    "q4_keras_default",
    QUIZ["11/q4"],  # bank: bug-keras-distillation-default
    'q4_keras_default is wrong: the string "kl_divergence" becomes a plain function, not a KLDivergence '
    "instance, so both the softmax and the T² branch are skipped",
)
choice_check(
    "test_q5",
    "q5_minillm",
    QUIZ["11/q5"],  # bank: llm-forward-reverse-kl
    "q5_minillm is wrong: MiniLLM minimises the reverse KL(q_student ‖ p_teacher) (notebook 02, section 4)",
    {"c": "q5_minillm is wrong: reverse KL is mode SEEKING, not mode covering (notebook 02, section 4)"},
)
choice_check(
    "test_q6",
    "q6_capacity_gap",
    QUIZ["11/q6"],  # bank: design-capacity-gap
    "q6_capacity_gap is wrong: the teacher assistant is an intermediate-size model distilled from the teacher, "
    "which then teaches the small student",
)


@judge.check("test_q7")
def q7(ask):  # bank: derivation-t-squared
    (value,) = yield [ask.value("q7_t_squared")]
    value = _number("q7_t_squared", value, 0.0, 100.0, "the ratio is positive and at most 100")
    expect(not isclose(value, 4.0), "q7_t_squared is wrong: the factor is T², not T")
    expect(
        not isclose(value, 1.0),
        "q7_t_squared is wrong: the KL part is the same for (4s, 4t, T=4) and (s, t, T=1), but the factor is not",
    )
    expect(isclose(value, QUIZ["11/q7"], rtol=1e-6), f"q7_t_squared = {value:g} is wrong")


@judge.check("test_q8")
def q8(ask):  # bank: derivation-kl-ce-gap
    (value,) = yield [ask.value("q8_kl_ce_gap")]
    value = _number("q8_kl_ce_gap", value, -10.0, 10.0, "")
    want = QUIZ["11/q8"]
    expect(
        not isclose(value, 0.0, atol=1e-3),
        "q8_kl_ce_gap is not 0: the two differ by a term that does not depend on the student",
    )
    expect(
        not isclose(value, -want, rtol=0.0, atol=1e-3),
        "q8_kl_ce_gap has the wrong sign: the soft cross-entropy is the larger of the two",
    )
    expect(
        not isclose(value, want / np.log(2), rtol=1e-3),
        "q8_kl_ce_gap looks like it is in bits: use the natural logarithm",
    )
    expect(
        not isclose(value, np.log(4), rtol=1e-3),
        "q8_kl_ce_gap is log 4, the entropy of the uniform distribution over 4 classes: the teacher's "
        "distribution at T = 1 is softmax([1, 0, 0, 0]), which is not uniform",
    )
    expect(isclose(value, want, rtol=0.0, atol=1e-3), f"q8_kl_ce_gap = {value:.5g} is wrong")


@judge.check("test_q9")
def q9(ask):  # bank: derivation-gradient
    (value,) = yield [ask.value("q9_gradient")]
    value = _number("q9_gradient", value, -10.0, 10.0, "")
    s, t = np.array([[0.0, 0.0]]), np.array([[np.log(3.0), 0.0]])
    want = float(ref.distillation_grad(s, t, 1.0)[0, 0])  # = QUIZ["11/q9"]
    expect(
        not isclose(value, -want),
        "q9_gradient has the wrong sign: the gradient is T · (q − p) / B with q the student's distribution",
    )
    expect(isclose(value, want, rtol=0.0, atol=1e-6), f"q9_gradient = {value:g} is wrong")


# --- part 3: kd_loss in PyTorch or TensorFlow -------------------------------------------------


def logits(batch: int = 4, classes: int = 5, seed: int = 0, scale: float = 3.0) -> np.ndarray:
    """The notebook's random_logits."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, scale, (batch, classes))


def labels(batch: int = 4, classes: int = 5, seed: int = 0) -> np.ndarray:
    """The notebook's random_labels."""
    return np.random.default_rng(seed).integers(0, classes, batch)


ALIASES = {"pytorch": "torch", "tf": "tensorflow", "keras": "tensorflow"}
KIND = {"torch": "torch", "tensorflow": "tf"}
OTHER = {"torch": "tensorflow", "tensorflow": "torch"}
WHAT = {"torch": "a torch tensor", "tf": "a TensorFlow tensor", "numpy": "a NumPy array"}
FRAMEWORK_HINT = "is FRAMEWORK set to the framework you wrote it in?"


def kd_requests(ask, cases) -> list:
    """FRAMEWORK, then kd_loss on each case with torch tensors, then with TensorFlow tensors.

    A case is (s, t, y, T, alpha, with_gradients); with gradients the result holds d loss / d s
    and d loss / d t.
    """
    asked = [ask.value("FRAMEWORK", raises=True)]
    for tensors in ("torch", "tf"):
        for s, t, y, T, a, grads in cases:
            asked.append(
                ask.call(
                    "kd_loss",
                    s,
                    t,
                    y,
                    tensors=tensors,
                    temperature=float(T),
                    alpha=float(a),
                    grad=[0, 1] if grads else None,
                    raises=True,
                )
            )
    return asked


def _framework(result) -> str:
    expect(result.error is None, f"reading FRAMEWORK raised {result.error}")
    value = result.value
    name = str(value).strip().lower()
    name = ALIASES.get(name, name)
    expect(name in ("torch", "tensorflow"), f"FRAMEWORK must be 'torch' or 'tensorflow', got {value!r}")
    return name


def _scalar_of(value, kind: str) -> bool:
    return getattr(value, "kind", None) == kind and getattr(value, "shape", None) == ()


def _describe(value) -> str:
    kind = getattr(value, "kind", None)
    if kind is not None:
        return WHAT.get(kind, kind)
    return type(value).__name__ if not hasattr(value, "type") else value.type


def _unwrap(result, grads: bool):
    """(loss, grads or None) of one kd_loss call, or (None, error)."""
    if result.error is not None:
        return None, result.error
    if grads:
        return result.value["value"], result.value["grads"]
    return result.value, None


def kd_results(got: list, cases) -> list:
    """What kd_loss returned in the chosen framework, per case: a float, or (float, grad_s, grad_t).

    Fails with the FRAMEWORK message when kd_loss does not give a 0-d tensor of FRAMEWORK (and
    the other framework's tensors work), or with the error kd_loss raised.
    """
    fw = _framework(got[0])
    n = len(cases)
    mine, theirs = got[1 : 1 + n], got[1 + n :]
    if fw == "tensorflow":
        mine, theirs = theirs, mine
    kind, other = KIND[fw], KIND[OTHER[fw]]
    out = []
    for case, res, alt in zip(cases, mine, theirs, strict=True):
        grads = case[5]
        value, extra = _unwrap(res, grads)
        alt_value, _ = _unwrap(alt, grads)
        if value is None:
            expect(
                not _scalar_of(alt_value, other),
                f"calling kd_loss with {fw} tensors raised {extra}, but it works on {OTHER[fw]} tensors: "
                f"{FRAMEWORK_HINT}",
            )
            raise Failed(f"calling kd_loss raised {extra}")
        expect(
            _scalar_of(value, kind),
            f"kd_loss must return a scalar (0-d) {fw} tensor, got {_describe(value)} of shape "
            f"{tuple(getattr(value, 'shape', ()))} ({FRAMEWORK_HINT})",
        )
        loss = as_float(value, "kd_loss")
        out.append((loss, *extra) if grads else loss)
    return out


T2 = "the soft term is not multiplied by T²"
BY_T = "the soft term is multiplied by T, not by T²"
REVERSED = "the KL is reversed: compute Σ p_teacher · (log p_teacher − log p_student)"
SUMMED = "the KL is summed over the batch: average it over the batch"
ALL = "the KL is averaged over all B·C elements: sum over the classes, mean over the batch"
ALPHA = "alpha weighs the wrong term: alpha multiplies the soft (teacher) term, 1 − alpha the cross-entropy"
HARD_AT_T = "the hard term is computed on student_logits / T: use the cross-entropy at T = 1"


def diagnose(got: float, s, t, y, T: float, a: float) -> str | None:
    """The usual mistake that explains a wrong kd_loss value, if one does."""
    soft, hard = ref.distillation_loss(s, t, T), ref.cross_entropy(s, y)
    B, C = s.shape
    candidates = [
        (a * soft / T**2 + (1 - a) * hard, T2),
        (a * soft / T + (1 - a) * hard, BY_T),
        (a * ref.distillation_loss(t, s, T) + (1 - a) * hard, REVERSED),
        (a * soft * B + (1 - a) * hard, SUMMED),
        (a * soft / C + (1 - a) * hard, ALL),
        ((1 - a) * soft + a * hard, ALPHA),
        (a * soft + (1 - a) * ref.cross_entropy(s / T, y), HARD_AT_T),
    ]
    want = a * soft + (1 - a) * hard
    found = [why for value, why in candidates if not isclose(value, want) and isclose(got, value)]
    return " — or ".join(found) if found else None  # (at T = 2 with C = 4, "/ T²" and "/ C" look alike)


def expect_kd(got: float, s, t, y, T: float, a: float, what: str) -> None:
    """kd_loss value ``got`` must match the reference (rtol 1e-6); name the mistake if it does not."""
    want = ref.kd_loss(s, t, y, T, a)
    if not close(got, want):
        why = diagnose(got, s, t, y, T, a)
        expect(why is None, f"{what}: {why}")
    expect_close(got, want, what)


@judge.check("test_kd_reference")
def kd_reference(ask):
    cases = [(logits(6, 5, seed=1), logits(6, 5, seed=2), labels(6, 5, seed=3), 4.0, 0.9, False)]
    for seed, (B, C), T, a in [
        (11, (1, 2), 1.0, 0.5),
        (12, (8, 10), 10.0, 0.3),
        (13, (5, 7), 0.5, 1.0),
        (14, (3, 4), 2.0, 0.0),
    ]:
        cases.append((logits(B, C, seed=seed), logits(B, C, seed=seed + 50), labels(B, C, seed=seed + 99), T, a, False))
    got = kd_results((yield kd_requests(ask, cases)), cases)
    for i, ((s, t, y, T, a, _), value) in enumerate(zip(cases, got, strict=True)):
        B, C = s.shape
        what = "kd_loss(T=4, alpha=0.9)" if i == 0 else f"kd_loss for B={B}, C={C}, T={T:g}, alpha={a:g}"
        expect_kd(value, s, t, y, T, a, what)


@judge.check("test_kd_t_squared")
def kd_t_squared(ask):
    s, t, y = logits(seed=4), logits(seed=5), labels(seed=6)
    s2, t2, y2 = logits(7, 3, seed=21), logits(7, 3, seed=22), labels(7, 3, seed=23)
    cases = [
        (s, t, y, 1.0, 1.0, False),
        (3 * s, 3 * t, y, 3.0, 1.0, False),
        (s2, t2, y2, 0.5, 1.0, False),
        (s2, t2, y2, 8.0, 1.0, False),
    ]
    base, scaled, half, eight = kd_results((yield kd_requests(ask, cases)), cases)
    ratio = scaled / base
    expect(not isclose(ratio, 1.0), T2)
    expect(not isclose(ratio, 3.0), BY_T)
    expect_kd(base, s, t, y, 1.0, 1.0, "kd_loss(s, t, T=1, alpha=1)")
    expect_close(ratio, 9.0, "kd_loss(3s, 3t, T=3, alpha=1) / kd_loss(s, t, T=1, alpha=1)")
    for T, got in [(0.5, half), (8.0, eight)]:
        expect(not isclose(got, ref.distillation_loss(s2, t2, T) / T**2), T2)
        expect_kd(got, s2, t2, y2, T, 1.0, f"the soft term alone (alpha = 1) at T = {T:g}")


@judge.check("test_kd_direction")
def kd_direction(ask):
    s, t = np.array([[4.0, 0.0, 0.0]]), np.array([[1.0, 1.0, 0.0]])
    y = np.array([0])
    s2, t2, y2 = logits(5, 6, seed=31), logits(5, 6, seed=32), labels(5, 6, seed=33)
    cases = [(s, t, y, 1.0, 1.0, False), (s2, t2, y2, 2.0, 1.0, False)]
    one, more = kd_results((yield kd_requests(ask, cases)), cases)
    expect(not isclose(one, ref.distillation_loss(t, s, 1.0)), REVERSED)
    expect_kd(one, s, t, y, 1.0, 1.0, "KL(teacher ‖ student) for one example")
    expect(not isclose(more, ref.distillation_loss(t2, s2, 2.0)), REVERSED)
    expect_kd(more, s2, t2, y2, 2.0, 1.0, "KL(teacher ‖ student) at T = 2")


@judge.check("test_kd_batch_mean")
def kd_batch_mean(ask):
    s, t, y = logits(3, 6, seed=7), logits(3, 6, seed=8), labels(3, 6, seed=9)
    s2, t2, y2 = logits(9, 10, seed=41), logits(9, 10, seed=42), labels(9, 10, seed=43)
    cases = [
        (s, t, y, 2.0, 1.0, False),
        (np.concatenate([s, s]), np.concatenate([t, t]), np.concatenate([y, y]), 2.0, 1.0, False),
        (s2, t2, y2, 3.0, 1.0, False),
    ]
    one, two, big = kd_results((yield kd_requests(ask, cases)), cases)
    expect(not isclose(two, 2 * one), SUMMED)
    expect_close(two, one, "repeating the batch changed the loss")
    soft = ref.distillation_loss(s, t, 2.0)
    expect(not isclose(one, soft / 6), ALL)
    expect_kd(one, s, t, y, 2.0, 1.0, "the soft term for 3 examples with 6 classes")
    want = ref.distillation_loss(s2, t2, 3.0)
    expect(not isclose(big, want / 10), ALL)
    expect(not isclose(big, 9 * want), SUMMED)
    expect_kd(big, s2, t2, y2, 3.0, 1.0, "the soft term for 9 examples with 10 classes")


@judge.check("test_kd_hard_term")
def kd_hard_term(ask):
    s, y = logits(seed=10), labels(seed=11)
    teachers = [logits(seed=12), logits(seed=13)]
    s2, t2, y2 = logits(6, 4, seed=51), logits(6, 4, seed=52), labels(6, 4, seed=53)
    cases = [(s, t, y, 4.0, 0.0, False) for t in teachers] + [(s2, t2, y2, 2.0, 0.25, False)]
    *zero, quarter = kd_results((yield kd_requests(ask, cases)), cases)
    for t, got in zip(teachers, zero, strict=True):
        expect(
            not isclose(got, ref.distillation_loss(s, t, 4.0)),
            "alpha weighs the wrong term: with alpha = 0 only the cross-entropy may count (alpha multiplies "
            "the soft term)",
        )
        expect(not isclose(got, ref.cross_entropy(s / 4.0, y)), HARD_AT_T)
        expect_close(got, ref.cross_entropy(s, y), "kd_loss with alpha = 0 (the mean cross-entropy of the labels)")
    soft, hard = ref.distillation_loss(s2, t2, 2.0), ref.cross_entropy(s2, y2)
    expect(not isclose(quarter, 0.75 * soft + 0.25 * hard), ALPHA)
    expect_kd(quarter, s2, t2, y2, 2.0, 0.25, "kd_loss with alpha = 0.25")


@judge.check("test_kd_gradients")
def kd_gradients(ask):
    s, t, y = logits(4, 3, seed=14), logits(4, 3, seed=15), labels(4, 3, seed=16)
    big_s, big_t = np.array([[1e4, -1e4, 0.0]]), np.array([[-1e4, 1e4, 0.0]])
    big_y = np.array([0])
    s2, t2, y2 = logits(5, 4, seed=61), logits(5, 4, seed=62), labels(5, 4, seed=63)
    cases = [
        (s, t, y, 2.0, 1.0, True),
        (big_s, big_t, big_y, 1.0, 0.5, True),
        (s2, t2, y2, 3.0, 0.6, True),
        (s, t, y, 2.0, 1.0, False),
    ]
    got = yield kd_requests(ask, cases)
    kd_results([got[0], got[4], got[8]], cases[3:])  # FRAMEWORK is valid and kd_loss returns its 0-d tensors
    n = len(cases)
    fw = _framework(got[0])
    mine = got[1 : 1 + n] if fw == "torch" else got[1 + n :]
    no_grad = "no gradient reached the student logits: use your framework's operations (no .numpy())"
    results = []
    for res in mine[:3]:
        expect(res.error is None, f"{no_grad} (computing the gradient raised {res.error})")
        results.append((as_float(res.value["value"], "kd_loss"), *res.value["grads"]))
    (_, grad_s, grad_t), (big_loss, big_grad, _), (_, grad2, _) = results
    expect(grad_s is not None, no_grad)
    expect(
        grad_t is None or float(np.abs(np.asarray(grad_t, np.float64)).max()) == 0.0,
        "a gradient flowed into the teacher's logits (the teacher is frozen): use teacher_logits.detach() in "
        "PyTorch, tf.stop_gradient(teacher_logits) in TensorFlow",
    )
    want = ref.distillation_grad(s, t, 2.0)
    if not isclose(grad_s, want):
        for wrong, why in [(want / 4.0, T2), (want / 2.0, BY_T), (want * len(s), SUMMED), (want / s.shape[1], ALL)]:
            expect(not isclose(grad_s, wrong), f"the gradient w.r.t. the student logits is wrong: {why}")
    expect(
        isclose(grad_s, want),
        "the gradient w.r.t. the student logits differs from T · (softmax(s/T) − softmax(t/T)) / B",
    )
    expect(
        np.isfinite(big_loss) and big_grad is not None and np.isfinite(np.asarray(big_grad, np.float64)).all(),
        "the loss or its gradient is not finite for logits of ±1e4: use log_softmax (F.log_softmax or "
        "tf.nn.log_softmax), not log(softmax)",
    )
    want = 0.6 * ref.distillation_grad(s2, t2, 3.0) + 0.4 * (ref.soft_targets(s2, 1.0) - np.eye(4)[y2]) / 5
    expect(grad2 is not None and isclose(grad2, want, atol=1e-10), "the gradient of the full kd_loss is wrong")
    expect_close(
        big_loss,
        ref.kd_loss(big_s, big_t, big_y, 1.0, 0.5),
        "kd_loss for logits of ±1e4 (clipping probabilities changes the value: use log_softmax)",
    )


# --- part 4: the article's Keras sample, fixed --------------------------------------------------


@functools.lru_cache(maxsize=1)
def data():
    from kdlib import load_dataset

    return load_dataset("mnist1d")


def fingerprints(a) -> np.ndarray:
    """One int64 per row: a hash of the row's float32 bytes (probe.fingerprints does the same)."""
    flat = np.ascontiguousarray(np.asarray(a, np.float32).reshape(len(a), -1))
    return np.array(
        [int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little", signed=True) for r in flat],
        dtype=np.int64,
    )


@functools.lru_cache(maxsize=1)
def known_rows() -> tuple[frozenset, frozenset]:
    ds = data()
    return frozenset(fingerprints(ds.x_train).tolist()), frozenset(fingerprints(ds.x_test).tolist())


def second_run_inputs() -> tuple[np.ndarray, np.ndarray]:
    """The rows of x_train and the random test labels of the second run (as the old hidden test)."""
    rng = np.random.default_rng(7)
    sub = rng.permutation(len(data().x_train))[:2000]
    return sub, rng.integers(0, data().num_classes, size=len(data().y_test))


def first_run(ask, fields: list[str]):
    return ask.scenario("sample_run", run="first", fields=fields, temperature=4.0, epochs=10, seed=0)


def second_run(ask, fields: list[str]):
    sub, y_random = second_run_inputs()
    return ask.scenario(
        "sample_run",
        run="second",
        fields=fields,
        train_rows=sub,
        test_labels=y_random,
        temperature=8.0,
        epochs=5,
        seed=1,
    )


def ran(obs, where: str = "") -> dict:
    """The observation of a run, after checking that fixed_sample exists and returned."""
    expect(not obs.get("missing"), "fixed_sample is not defined: run the cell that defines it (and keep its name)")
    expect(obs.get("error") is None, f"calling fixed_sample{where} raised {obs.get('error')}")
    return obs


def accuracy(pred, y, what: str) -> float:
    expect(not isinstance(pred, str), f"{what} could not predict: {pred}")
    pred = np.asarray(pred)
    expect(
        pred.shape == np.shape(y), f"{what} predicts {pred.shape[0] if pred.ndim else 0} classes for {len(y)} examples"
    )
    return float((pred == y).mean())


def as_rows(fps) -> set:
    return set(np.asarray(fps).tolist())


@judge.check("test_fixed_sample_runs")
def sample_runs(ask):
    (obs,) = yield [first_run(ask, ["result", "result_type", "result_is_float", "student_test_pred"])]
    obs = ran(obs)
    result, calls = obs["result"], obs["calls"]
    expect(obs["result_is_float"], f"fixed_sample must return a Python float, got {obs['result_type']}")
    result = as_float(result, "fixed_sample's result")
    expect(0.0 <= result <= 1.0, f"fixed_sample returned {result}: return an accuracy between 0 and 1")
    expect(
        len(calls) >= 2,
        f"keras.Model.fit was called {len(calls)} time(s): train the teacher, then the student, with fit",
    )
    expect(
        result > 0.35,
        f"the student's test accuracy is {result:.1%} (chance is 10%): is the teacher "
        "trained, and the student distilled on the training set?",
    )
    acc = accuracy(obs["student_test_pred"], data().y_test, "the last model fitted (the student)")
    expect(
        abs(acc - result) < 1e-6,
        "fixed_sample does not return the accuracy of the last model it trained "
        f"on (x_test, y_test): that model scores {acc:.1%}, fixed_sample returned {result:.1%}",
    )


@judge.check("test_teacher_trained")
def teacher_trained(ask):
    (obs,) = yield [first_run(ask, ["teacher"])]
    calls = ran(obs)["calls"]
    expect(calls, "keras.Model.fit was never called: train the teacher, then the student, with fit")
    teacher = obs["teacher"]
    train_acc = accuracy(teacher["train_pred"], data().y_train, "the teacher (the first model fitted)")
    expect(
        train_acc > 0.5,
        f"the teacher (the first model fitted) has {train_acc:.1%} training accuracy: train it "
        "on (x_train, y_train) before it produces soft labels",
    )
    head = teacher["head"]
    expect(not isinstance(head, str), f"the teacher could not predict: {head}")
    out = np.asarray(head, dtype=np.float64)
    expect(
        (out < 0).any() or not close(out.sum(axis=-1), np.ones(len(out)), rtol=0.0, atol=1e-3),
        "the teacher outputs probabilities (its rows sum to 1): end it with Dense(C) without softmax, so that "
        "there are logits to divide by T",
    )
    expect(calls[0]["model"] != calls[-1]["model"], "the teacher and the student must be different models")
    test_acc = accuracy(teacher["test_pred"], data().y_test, "the teacher")
    expect(
        test_acc > 0.4,
        f"the teacher reaches {test_acc:.1%} on the test set: train it on (x_train, y_train) for a few epochs",
    )


def no_test_rows(calls, where: str = "") -> None:
    train_rows, test_rows = known_rows()
    for k, call in enumerate(calls):
        x = call["x"]
        expect(not isinstance(x, str), f"the inputs of fit call {k + 1}{where} could not be read: {x}")
        x = as_rows(x)
        expect(
            not (x & test_rows),
            f"fit call {k + 1}{where} trains on rows of x_test: compute the soft labels "
            "on x_train and train on x_train",
        )
        val = call["validation_x"]
        expect(
            val is None or not (as_rows(val) & test_rows),
            f"fit call {k + 1}{where} validates on x_test: the test set is for the final evaluation only",
        )
        if not where:
            expect(x <= train_rows, f"fit call {k + 1} trains on inputs that are not x_train")


@judge.check("test_no_test_data_in_fit")
def no_test_data_in_fit(ask):
    first, second = yield [first_run(ask, []), second_run(ask, ["result", "teacher"])]
    calls = ran(first)["calls"]
    no_test_rows(calls)
    expect(len(calls) >= 2, f"{len(calls)} fit call(s) recorded: train the teacher, then the student, with fit")
    second = ran(second, " a second time (2,000 training examples, random test labels, T = 8)")
    acc2 = as_float(second["result"], "fixed_sample's result")
    expect(
        acc2 < 0.3, f"with random test labels the student scores {acc2:.1%}: it must have learnt from (x_test, y_test)"
    )
    no_test_rows(second["calls"], " of a second run")
    sub, _ = second_run_inputs()
    expect(second["calls"], "in a second run keras.Model.fit was never called")
    acc = accuracy(second["teacher"]["train_pred"], data().y_train[sub], "the teacher of a second run")
    expect(acc > 0.3, "in a second run (2,000 examples, 5 epochs) the teacher is not trained")


def check_temperature(obs, T: float, where: str = "") -> None:
    """The student learns from softmax(teacher_logits / T): a Distiller with temperature T, or soft labels."""
    calls = obs["calls"]
    expect(calls, f"keras.Model.fit was never called{where}: train the teacher, then the student, with fit")
    last = calls[-1]
    if last["temperature"] is not None:
        temp = last["temperature"]
        expect(isclose(temp, T), f"the Distiller's temperature is {temp:g}, not the T = {T:g} passed in{where}")
        return
    soft = obs["soft"]
    y, logits_ = soft["y"], soft["teacher_logits"]
    expect(
        y is not None and np.ndim(y) == 2,
        f"the student is not fitted on soft labels (a (N, C) array) nor with a Distiller{where}",
    )
    expect(not isinstance(logits_, str), f"the teacher could not predict{where}: {logits_}")
    z = np.asarray(logits_, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    expect(z.shape == y.shape, f"the student's targets have shape {y.shape}, the teacher's outputs {z.shape}{where}")
    expect(
        not isclose(y, ref.soft_targets(z, 1.0), rtol=1e-5, atol=1e-4),
        f"the soft labels are softmax(teacher_logits) at T = 1: divide the logits by the temperature{where}",
    )
    expect(
        isclose(y, ref.soft_targets(z, T), rtol=1e-5, atol=1e-4),
        f"the student's targets are not softmax(teacher_logits / T) of its training inputs{where}",
    )


@judge.check("test_temperature_from_logits")
def temperature_from_logits(ask):
    first, second = yield [first_run(ask, ["soft"]), second_run(ask, ["soft"])]
    check_temperature(ran(first), 4.0)
    where = " a second time (2,000 training examples, random test labels, T = 8)"
    check_temperature(ran(second, where), 8.0, " (second run, T = 8)")

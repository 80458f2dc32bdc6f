"""Hidden checks of 06_keras_distiller, decided outside the student's kernel (see kdlib.grading.judge).

The learner's ``Distiller.train_step`` is run in the sandbox by the scenarios of ``probe.py``
(``fit`` on small batches, single ``train_step`` calls with plain SGD), built with the
notebook's seeded helpers. The probe sends back logs and weights; here the expected values are
recomputed: the kd loss and one reference SGD step of the student (TensorFlow, with
``kdlib.tf.losses.kd_loss``) from the initial weights the probe returned.

The answer key is kdlib's own Keras distiller and training loops (``kdlib.tf.distiller``,
``kdlib.tf.train``, ``kdlib.experiment``). ``kdlib.tf.losses`` stays visible: the notebook
gives the learner ``kd_loss`` from it (notebook 04's contract) to call inside ``train_step``.
"""

from __future__ import annotations

import math

import numpy as np

from kdlib.grading.judge import Failed, Judge, as_float, close, expect

judge = Judge(
    "06_keras_distiller",
    answer_key=["kdlib.tf.distiller", "kdlib.tf.train", "kdlib.experiment"],
    demos=["builtin-demo", "train-teacher", "train-students", "results", "curves"],
)

#: The answers of the two questions (kdlib.quiz hashes them in the visible tests for instant
#: feedback; tests/library/test_quiz.py checks the hashes against this key).
QUIZ = {"06/alpha_answer": 0.9, "06/builtin_answer": "c"}

NO_GRADIENTS = (
    ": no gradient reached the student's variables: compute the student's logits "
    "(self.student(x, training=True)) and the loss inside `with tf.GradientTape() as tape:`"
)
APPLY = "apply the gradients with self.optimizer.apply(grads, variables)"
ALPHA = (
    "pass self.alpha to kd_loss unchanged (alpha weighs the soft term, 1 - alpha the cross-entropy; "
    "the keras.io example's alpha is 1 - ours)"
)


def ran(result, what: str):
    """The value of a scenario run with raises=True; Failed naming what went wrong otherwise."""
    if result.error is None:
        return result.value
    err = result.error
    if err.startswith("NameError: ") and "is not defined" in err:
        raise Failed(err.removeprefix("NameError: "))
    hint = ""
    if "NotImplementedError" in err:
        hint = ": complete train_step"
    elif "gradient" in err.lower():
        hint = NO_GRADIENTS
    raise Failed(f"{what} raised {err.rstrip('.: ') if hint else err}{hint}")


def arrays(value, what: str) -> list[np.ndarray]:
    expect(
        isinstance(value, list) and all(isinstance(a, np.ndarray) for a in value),
        f"the grader received malformed {what}",
    )
    return [np.asarray(a, dtype=np.float64) for a in value]


def max_change(before, after) -> float:
    """Largest absolute difference between two lists of weights of the same shapes."""
    if len(before) != len(after) or any(np.shape(a) != np.shape(b) for a, b in zip(before, after, strict=True)):
        return math.inf
    return max(
        (
            float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max(initial=0.0))
            for a, b in zip(before, after, strict=True)
        ),
        default=0.0,
    )


def logged(logs, key: str, what: str) -> float:
    expect(isinstance(logs, dict), f"train_step must return a dict of logs, got {type(logs).__name__}")
    expect(
        key in logs,
        f"the logs of train_step hold {sorted(logs)}: return {{'loss': "
        "self.loss_tracker.result(), 'accuracy': self.accuracy_tracker.result()}}",
    )
    return as_float(logs[key], what)


def history_losses(run, what: str) -> list[float]:
    history = run.get("history") if isinstance(run, dict) else None
    expect(isinstance(history, dict), "the grader received a malformed history")
    expect(
        "loss" in history and "accuracy" in history,
        f"the logs hold {sorted(history)}: return "
        "{'loss': self.loss_tracker.result(), 'accuracy': self.accuracy_tracker.result()} from train_step",
    )
    return [as_float(v, what) for v in history["loss"]]


def positive_and_finite(losses: list[float]) -> bool:
    """Whether every logged loss is finite and the first one above 0 (an updated loss tracker)."""
    return bool(np.isfinite(losses).all()) and losses[0] > 0


def _model(name: str, weights: list[np.ndarray], num_features: int):
    """kdlib's architecture ``name`` holding ``weights`` (the probe's ``model.weights``, in order)."""
    from kdlib.tf.models import build_model

    model = build_model(name, num_features, weights[-1].shape[-1])
    model.set_weights([np.asarray(w, np.float32) for w in weights])
    return model


def reference_step(run, temperature: float, alpha: float, lr: float, teacher: str = "teacher"):
    """(trainable weights after one plain SGD step on kd_loss, that step's kd loss), from the run's inputs."""
    import tensorflow as tf

    from kdlib.tf.losses import kd_loss

    x = tf.constant(np.asarray(run["x"], np.float32))
    y = tf.constant(np.asarray(run["y"]))
    student = _model("student-small", arrays(run["student_before"], "student weights"), x.shape[1])
    teacher_model = _model(teacher, arrays(run["teacher_weights"], "teacher weights"), x.shape[1])
    t = teacher_model(x, training=False)
    with tf.GradientTape() as recorder:
        loss = kd_loss(student(x, training=True), t, y, temperature, alpha)
    grads = recorder.gradient(loss, student.trainable_variables)
    return [w.numpy() - lr * g.numpy() for w, g in zip(student.trainable_variables, grads, strict=True)], float(loss)


def fit_run(ask, **kw):
    return ask.scenario("fit_run", raises=True, **kw)


def one_step(ask, **kw):
    return ask.scenario("one_step", raises=True, **kw)


@judge.check("test_train_step_runs")
def train_step_runs(ask):
    visible, hidden, step = yield [
        fit_run(
            ask,
            seed=1,
            n=512,
            data_seed=1,
            model_seed=1,
            temperature=4.0,
            alpha=0.9,
            lr=1e-2,
            batch_size=64,
            epochs=3,
            shuffle=False,
        ),
        fit_run(
            ask, seed=2, n=300, data_seed=2, model_seed=2, temperature=2.0, alpha=0.5, lr=1e-2, batch_size=50, epochs=4
        ),
        one_step(ask, data_seed=3, n=40, model_seed=3, temperature=3.0, alpha=0.5, lr=0.1),
    ]
    run = ran(visible, "fit")
    losses = history_losses(run, "the logged loss")
    expect(
        positive_and_finite(losses),
        f"the logged losses are {losses}: call self.loss_tracker.update_state(loss) in every step",
    )
    expect(
        len(losses) == 3 and losses[2] < losses[0],
        f"the kd loss did not fall over 3 epochs ({losses[0]:.3f} -> {losses[-1]:.3f}): compute the "
        f"loss inside the GradientTape and {APPLY}",
    )
    acc = as_float(run.get("accuracy"), "evaluate()'s accuracy")
    expect(0.0 <= acc <= 1.0, f"evaluate() reports an accuracy of {acc}, not in [0, 1]")

    losses = history_losses(ran(hidden, "fit at T = 2, alpha = 0.5"), "the logged loss")
    expect(
        positive_and_finite(losses),
        f"the logged losses are {losses}: call self.loss_tracker.update_state(loss) in every step",
    )
    expect(len(losses) == 4 and losses[3] < losses[0], f"the kd loss did not fall at T = 2, alpha = 0.5: {losses}")

    # The logged loss of one step is that step's kd loss (alpha = 0.5: either weighting gives it).
    run = ran(step, "train_step")
    got = logged(run["logs"], "loss", "the logged loss")
    _, want = reference_step(run, 3.0, 0.5, 0.1)
    expect(
        close(got, want, rtol=1e-5, atol=1e-8),
        f"the logged loss {got:.6f} differs from the step's kd loss {want:.6f}: "
        "call self.loss_tracker.update_state(loss, ...) with the batch's kd loss",
    )


@judge.check("test_teacher_frozen")
def teacher_frozen(ask):
    runs = yield [
        ask.scenario(
            "frozen_run", raises=True, seed=3, n=256, model_seed=3, optimizer="spy", lr=0.1, batch_size=64, epochs=1
        ),
        ask.scenario(
            "frozen_run",
            raises=True,
            seed=4,
            n=200,
            model_seed=4,
            temperature=8.0,
            alpha=0.7,
            optimizer="adam",
            lr=1e-2,
            batch_size=40,
            epochs=2,
        ),
    ]
    for i, result in enumerate(runs):
        run = ran(result, "fit")
        before = arrays(run["teacher_before"], "teacher weights")
        after = arrays(run["teacher_after"], "teacher weights")
        expect(len(before) == len(after), "the teacher's weights changed: never update the teacher")
        changed = [p for p, b, a in zip(run["teacher_paths"], before, after, strict=True) if max_change([b], [a]) > 0]
        stats = all("moving_" in str(p) for p in changed)
        expect(
            not changed or not stats,
            "the teacher's weights changed (its batch-norm statistics moved): call "
            "self.teacher(x, training=False) and never update the teacher",
        )
        expect(
            not changed,
            f"the teacher's trainable weights changed ({', '.join(map(str, changed[:3]))}): "
            "never hand the teacher's variables to the optimiser, and call self.teacher(x, training=False)",
        )
        if i == 0 and run["updated"] is not None:
            expect(
                sorted(map(str, run["updated"])) == sorted(map(str, run["student_trainable"])),
                "the optimiser was handed variables that are not the student's: pass "
                "self.student.trainable_variables (self.trainable_variables holds the teacher's too)",
            )


@judge.check("test_one_step")
def one_step_check(ask):
    cases = [(8, 3.0, 0.7), (9, 1.0, 0.25)]
    twin, a_run, b_run, *hidden = yield [
        one_step(ask, data_seed=5, n=64, model_seed=5, temperature=4.0, alpha=1.0, lr=0.5, twin=True),
        one_step(ask, data_seed=5, n=64, model_seed=6, temperature=4.0, alpha=0.0, lr=0.5),
        one_step(ask, data_seed=5, n=64, model_seed=6, teacher_seed=7, temperature=4.0, alpha=0.0, lr=0.5),
        *[one_step(ask, data_seed=s, n=48, model_seed=s, temperature=T, alpha=a, lr=0.5) for s, T, a in cases],
    ]
    # (a) alpha = 1, teacher = student: the soft loss and its gradient are 0, the student stays put.
    run = ran(twin, "train_step")
    loss = logged(run["logs"], "loss", "the logged loss")
    expect(
        abs(loss) < 1e-5,
        f"with alpha = 1 and a teacher equal to the student the loss must be 0, got {loss:.4f}: {ALPHA}",
    )
    expect(
        max_change(arrays(run["student_before"], "weights"), arrays(run["student_after"], "weights")) < 1e-6,
        "with alpha = 1 and a teacher equal to the student the student must not move",
    )
    # (b) alpha = 0: two different teachers give the same step, and the student moves.
    a_run, b_run = ran(a_run, "train_step"), ran(b_run, "train_step")
    a_after = arrays(a_run["student_after"], "weights")
    expect(max_change(arrays(a_run["student_before"], "weights"), a_after) > 1e-4, f"the student did not move: {APPLY}")
    expect(
        max_change(a_after, arrays(b_run["student_after"], "weights")) < 1e-6,
        f"with alpha = 0 the step must not depend on the teacher: {ALPHA}",
    )
    # Hidden: one SGD step equals a reference step from the same weights and batch.
    for (_, T, a), result in zip(cases, hidden, strict=True):
        run = ran(result, "train_step")
        after = arrays(run["student_after"], "weights")
        want, _ = reference_step(run, T, a, 0.5)
        swapped, _ = reference_step(run, T, 1 - a, 0.5)
        diff = max_change(after, want)
        if diff > 1e-5 and max_change(after, swapped) < 1e-5:
            raise Failed(
                "alpha weighs the wrong term: kd_loss(..., temperature, alpha) already puts alpha on "
                "the soft term (the keras.io example's alpha is 1 - ours)"
            )
        expect(
            diff < 1e-5,
            f"one SGD step at T = {T:g}, alpha = {a:g} differs from a reference step by up to {diff:.2g}: "
            "the loss is kd_loss(student_logits, teacher_logits, y, self.temperature, self.alpha), "
            "the gradients those of self.student.trainable_variables",
        )


def is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "fiu"


@judge.check("test_alpha_answer")
def alpha_answer(ask):
    (answer,) = yield [ask.value("OUR_ALPHA_FOR_KERAS_IO_0_1")]
    expect(is_number(answer) and 0 <= float(answer) <= 1, "set OUR_ALPHA_FOR_KERAS_IO_0_1 to a number in [0, 1]")
    expect(
        close(float(answer), QUIZ["06/alpha_answer"], rtol=1e-5, atol=1e-8),
        "keras.io's alpha multiplies the cross-entropy, ours the soft term: their alpha = 0.1 puts "
        "0.9 on the soft term, which is our alpha = 0.9",
    )


@judge.check("test_builtin_answer")
def builtin_answer(ask):
    (answer,) = yield [ask.value("BUILTIN_DEFAULT_COMPUTES")]
    expect(isinstance(answer, str) and answer in ("a", "b", "c"), 'set BUILTIN_DEFAULT_COMPUTES to "a", "b" or "c"')
    expect(
        answer == QUIZ["06/builtin_answer"],
        'the string "kl_divergence" becomes a function, not a KLDivergence instance, so the softmax and '
        "the T² branch are skipped: the KL formula runs on the clipped scaled logits",
    )

"""Hidden checks of 05_loops_torch, decided outside the student's kernel (see kdlib.grading.judge).

The scenarios of ``probe.py`` run the learner's ``train_one_epoch`` / ``distill_one_epoch`` in
the sandbox on models and batches rebuilt from the notebook's seeds, and send back what they
saw (returned losses, modes and gradient flags seen by forward hooks, weights, gradients).
Here the same models are built from the same seeds and reference epochs are replayed step by
step (:func:`ref_train_epoch`, :func:`ref_distill_epoch`, with ``kdlib.torch.losses.kd_loss``);
where the learner's weights differ, the variants of the usual mistakes (no ``zero_grad``,
alpha on the wrong term) are replayed too, to name the one made.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import torch
import torch.nn.functional as F

from kdlib import load_dataset
from kdlib.grading.judge import Judge, as_float, expect
from kdlib.torch import build_model
from kdlib.torch.losses import kd_loss

judge = Judge(
    "05_loops_torch",
    answer_key=["kdlib.torch.train", "kdlib.experiment"],
    demos=["train-teacher", "train-students", "run-scratch", "run-kd-09", "run-kd-05", "results", "plots", "d2deb702"],
)

ADAM = ("adam", {"lr": 1e-2})
MISSING = "Missing: "
STEPS = "call optimizer.zero_grad(), loss.backward() and optimizer.step() in every step"
ZERO_GRAD = "call optimizer.zero_grad() in every step, before loss.backward()"
ACCUMULATE = "the gradients accumulate across steps: " + ZERO_GRAD


# --- the notebook's helpers, rebuilt here from the same seeds -------------------------------


@functools.lru_cache(maxsize=1)
def _dataset():
    return load_dataset("mnist1d")


def batch(n: int, seed: int):
    """The notebook's small_batch(n, seed)."""
    ds = _dataset()
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


def models(seed: int):
    """The notebook's make_models(seed): (teacher, student)."""
    ds = _dataset()
    return (
        build_model("teacher", ds.num_features, ds.num_classes, seed=seed),
        build_model("student-small", ds.num_features, ds.num_classes, seed=seed + 1000),
    )


def gen(seed: int):
    g = torch.Generator()
    return g.manual_seed(seed)


def optimizer(spec, params):
    name, kwargs = spec
    return {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name](params, **kwargs)


def weights(model) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.parameters()]


@contextlib.contextmanager
def one_thread():
    """Replay with one thread, as the notebook's kernel does (torch.set_num_threads(1))."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- reference epochs (the trusted side only) -------------------------------------------------


def ref_train_epoch(model, opt, x, y, batch_size, generator, zero_grad=True) -> float:
    model.train()
    total = 0.0
    order = torch.randperm(len(x), generator=generator)
    for idx in order.split(batch_size):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        if zero_grad:
            opt.zero_grad()
        loss.backward()
        opt.step()
        total += len(idx) * loss.item()
    return total / len(x)


def ref_distill_epoch(student, teacher, opt, x, y, T, alpha, batch_size, generator, zero_grad=True) -> float:
    teacher.eval()
    student.train()
    total = 0.0
    order = torch.randperm(len(x), generator=generator)
    for idx in order.split(batch_size):
        with torch.no_grad():
            t = teacher(x[idx])
        loss = kd_loss(student(x[idx]), t, y[idx], T, alpha)
        if zero_grad:
            opt.zero_grad()
        loss.backward()
        opt.step()
        total += len(idx) * loss.item()
    return total / len(x)


def ref_train(n, seed, opt, batch_size, epochs=1, cnn=False, zero_grad=True):
    """(losses, weights) of the reference loop on make_models(seed) and small_batch(n, seed)."""
    with one_thread():
        x, y = batch(n, seed)
        teacher, student = models(seed)
        model = teacher if cnn else student
        o, g = optimizer(opt, model.parameters()), gen(seed)
        losses = [ref_train_epoch(model, o, x, y, batch_size, g, zero_grad) for _ in range(epochs)]
        return losses, weights(model)


def ref_distill(n, seed, T, alpha, batch_size, opt, epochs=1, zero_grad=True):
    """(losses, weights) of the reference distillation on make_models(seed), small_batch(n, seed)."""
    with one_thread():
        x, y = batch(n, seed)
        teacher, student = models(seed)
        o, g = optimizer(opt, student.parameters()), gen(seed)
        losses = [
            ref_distill_epoch(student, teacher, o, x, y, T, alpha, batch_size, g, zero_grad) for _ in range(epochs)
        ]
        return losses, weights(student)


# --- reading what the probe sent ------------------------------------------------------------


def unwrap(result, fn: str):
    """The scenario's observations; fails naming the learner's error if the function raised."""
    if result.error is not None:
        expect(not result.error.startswith(MISSING), result.error[len(MISSING) :])
        expect(
            not result.error.startswith("NotImplementedError"),
            f"{fn} raised NotImplementedError: write your code in its cell, in place of raise NotImplementedError()",
        )
        hint = ""
        if "does not require grad" in result.error:
            hint = " (the loss has no gradient: compute the logits you train outside torch.no_grad()" + (
                " and pass the student's logits first, kd_loss(student_logits, teacher_logits, ...))"
                if fn == "distill_one_epoch"
                else ")"
            )
        expect(False, f"{fn} raised {result.error}{hint}")
    expect(isinstance(result.value, dict), f"the grader received a malformed answer from {fn}")
    return result.value


def type_name(value) -> str:
    kind = getattr(value, "kind", None)
    if kind == "torch":
        return "Tensor"
    if kind == "numpy":
        return f"numpy.{value.dtype}"
    return getattr(value, "type", None) or type(value).__name__


def arrays(values, what: str) -> list[np.ndarray]:
    expect(
        isinstance(values, list) and all(v is None or isinstance(v, np.ndarray) for v in values),
        f"the grader received no {what}",
    )
    return values


def grads_or_zero(values, like) -> list[np.ndarray]:
    """The probe's .grad list with None as zeros (the notebook's grads helper)."""
    expect(len(values) == len(like), "the grader received a malformed answer for this test")
    return [np.zeros_like(w) if g is None else np.asarray(g, np.float64) for g, w in zip(values, like, strict=False)]


def max_diff(a, b) -> float:
    """Largest absolute difference between two weight lists (inf if their shapes differ)."""
    a, b = arrays(a, "weights"), arrays(b, "weights")
    if len(a) != len(b) or any(np.shape(u) != np.shape(v) for u, v in zip(a, b, strict=True)):
        return float("inf")
    diffs = [np.abs(np.asarray(u, np.float64) - np.asarray(v, np.float64)) for u, v in zip(a, b, strict=True)]
    return max(float(np.max(d)) for d in diffs)


def float_losses(values, fn: str) -> list[float]:
    expect(isinstance(values, list) and values, f"the grader received no losses from {fn}")
    expect(
        isinstance(values[0], float), f"{fn} must return a Python float (use loss.item()), got {type_name(values[0])}"
    )
    return [as_float(v, f"the loss {fn} returned") for v in values]


def isclose(a: float, b: float, rtol: float = 1e-5) -> bool:
    return bool(np.isclose(a, b, rtol=rtol))


def init_weights(seed: int, cnn: bool = False) -> list[np.ndarray]:
    teacher, student = models(seed)
    return weights(teacher if cnn else student)


# --- Task 1: train_one_epoch ----------------------------------------------------------------


TRAIN_REPLAYS = [(11, 96, 32, ("sgd", {"lr": 0.3, "momentum": 0.5})), (12, 50, 16, ADAM)]


@judge.check("test_train_one_epoch")
def train_one_epoch(ask):
    fn = "train_one_epoch"
    asked = [
        ask.scenario("train_epochs", n=512, seed=1, opt=ADAM, batch_size=64, epochs=3, raises=True),
        ask.scenario(
            "train_epochs",
            n=100,
            seed=2,
            opt=("sgd", {"lr": 0.0}),
            batch_size=32,
            epochs=1,
            eval_first=False,
            raises=True,
        ),
        ask.scenario("train_grads", n=64, seed=3, raises=True),
        ask.scenario("train_twice", n=128, seed=4, gen_seed=5, raises=True),
    ]
    asked += [
        ask.scenario("train_epochs", n=n, seed=seed, opt=opt, batch_size=bs, epochs=1, eval_first=False, raises=True)
        for seed, n, bs, opt in TRAIN_REPLAYS
    ]
    got = yield asked
    falls, mean, grads, twice, *replays = [unwrap(r, fn) for r in got]

    # 1. the loss falls over 3 epochs, in training mode, and a float comes back
    losses = float_losses(falls.get("losses"), fn)
    expect(len(losses) == 3, "the grader received a malformed answer for this test")
    modes = falls.get("modes")
    expect(modes, "the model was never called")
    expect(all(modes), "the model ran in eval mode: call model.train() at the start of the epoch")
    if not losses[2] < losses[0]:
        no_zero, _ = ref_train(512, 1, ADAM, 64, epochs=3, zero_grad=False)
        expect(not np.allclose(losses, no_zero, rtol=1e-4), f"the loss did not fall over 3 epochs: {ACCUMULATE}")
        expect(
            False,
            f"the loss did not fall over 3 epochs ({losses[0]:.3f} -> {losses[2]:.3f}): "
            "call loss.backward() and optimizer.step() in every step",
        )

    # 2. the mean loss over all N examples (lr = 0: the loss of the whole set at once)
    got_mean = float_losses(mean.get("losses"), fn)[0]
    x, y = batch(100, 2)
    with torch.no_grad(), one_thread():
        want = float(F.cross_entropy(models(2)[1](x), y))
    expect(
        isclose(got_mean, want),
        f"the returned loss is {got_mean:.6f}, the mean cross-entropy over the 100 "
        f"examples is {want:.6f}: return the sum of loss.item() * len(idx) over the batches divided by len(x)",
    )

    # 3. fresh gradients every step (lr = 0: after 4 equal batches .grad holds the last one's)
    like = init_weights(3)
    full = grads_or_zero(arrays(grads.get("full"), "gradients"), like)
    four = grads_or_zero(arrays(grads.get("four"), "gradients"), like)
    summed = all(np.allclose(a, 4 * f, rtol=1e-4, atol=1e-7) for a, f in zip(four, full, strict=False))
    expect(not summed, "the gradients of the 4 steps of an epoch add up: " + ZERO_GRAD)

    # 4. reproducible: the same generator seed gives the same epoch
    same = max_diff(twice.get("a"), twice.get("b")) == 0 and twice.get("loss_a") == twice.get("loss_b")
    expect(
        same,
        "two epochs with equally seeded generators differ: shuffle with torch.randperm(len(x), generator=generator)",
    )

    # hidden: the epoch replays the reference step by step (SGD with momentum, Adam)
    for (seed, n, bs, opt), mine in zip(TRAIN_REPLAYS, replays, strict=True):
        got_loss = float_losses(mine.get("losses"), fn)[0]
        (want_loss,), ref_w = ref_train(n, seed, opt, bs)
        diff = max_diff(mine.get("weights"), ref_w)
        if diff > 1e-5:
            _, no_zero = ref_train(n, seed, opt, bs, zero_grad=False)
            expect(max_diff(mine.get("weights"), no_zero) >= 1e-5, ACCUMULATE)
        expect(
            diff < 1e-5,
            f"after one epoch ({n} examples, batches of {bs}) the weights differ from a reference "
            f"epoch by up to {diff:.2g}: shuffle with torch.randperm(len(x), generator=generator), take "
            "perm.split(batch_size), and per batch: forward, cross-entropy, zero_grad, backward, step",
        )
        expect(
            isclose(got_loss, want_loss),
            f"the returned loss {got_loss:.6f} differs from the reference "
            f"{want_loss:.6f}: return the mean loss over the epoch's examples",
        )


def accuracy(logits, y) -> float:
    expect(
        isinstance(logits, np.ndarray) and logits.shape == (len(y), 10), "the grader received no logits for this test"
    )
    return float((np.asarray(logits).argmax(1) == y.numpy()).mean())


@judge.check("test_train_memorise")
def train_memorise(ask):
    fn = "train_one_epoch"
    got = yield [
        ask.scenario("train_epochs", n=16, seed=5, opt=ADAM, batch_size=8, epochs=100, eval_first=False, raises=True),
        ask.scenario(
            "train_epochs", n=24, seed=15, opt=ADAM, batch_size=12, epochs=60, cnn=True, eval_first=False, raises=True
        ),
    ]
    mlp, cnn = (unwrap(r, fn) for r in got)
    loss = float_losses(mlp.get("losses"), fn)[-1]
    acc = accuracy(mlp.get("logits"), batch(16, 5)[1])
    expect(
        acc == 1.0 and loss < 0.05,
        f"after 100 epochs on 16 examples the training accuracy is {acc:.0%} and the "
        f"loss {loss:.3f}; a working loop memorises them (100%, loss near 0): {STEPS}",
    )
    loss = float_losses(cnn.get("losses"), fn)[-1]
    acc = accuracy(cnn.get("logits"), batch(24, 15)[1])
    expect(
        acc == 1.0,
        f"the CNN did not memorise 24 examples in 60 epochs (accuracy {acc:.0%}, loss {loss:.3f}); "
        f"a working loop does: {STEPS}",
    )


# --- Task 2: distill_one_epoch --------------------------------------------------------------


@judge.check("test_distill_loss_falls")
def distill_loss_falls(ask):
    fn = "distill_one_epoch"
    got = yield [
        ask.scenario(
            "distill_epochs", n=512, seed=21, T=4.0, alpha=0.9, batch_size=64, epochs=4, opt=ADAM, raises=True
        ),
        ask.scenario(
            "distill_once", n=100, seed=22, T=2.0, alpha=0.5, batch_size=32, opt=("sgd", {"lr": 0.0}), raises=True
        ),
        ask.scenario(
            "distill_epochs",
            n=300,
            seed=23,
            T=2.0,
            alpha=0.5,
            batch_size=50,
            epochs=4,
            opt=ADAM,
            student_eval=False,
            raises=True,
        ),
    ]
    falls, mean, hidden = (unwrap(r, fn) for r in got)

    losses = float_losses(falls.get("losses"), fn)
    expect(len(losses) == 4, "the grader received a malformed answer for this test")
    modes = falls.get("modes")
    expect(modes, "the student was never called")
    expect(all(modes), "the student ran in eval mode: call student.train() at the start of the epoch")
    if not losses[3] < losses[0]:
        no_zero, _ = ref_distill(512, 21, 4.0, 0.9, 64, ADAM, epochs=4, zero_grad=False)
        expect(not np.allclose(losses, no_zero, rtol=1e-4), f"the kd loss did not fall over 4 epochs: {ACCUMULATE}")
        expect(
            False,
            f"the kd loss did not fall over 4 epochs ({losses[0]:.3f} -> {losses[3]:.3f}): "
            "call loss.backward() and optimizer.step() in every step",
        )

    got_mean = float_losses([mean.get("loss")], fn)[0]
    x, y = batch(100, 22)
    teacher, student = models(22)
    with torch.no_grad(), one_thread():
        expected = float(kd_loss(student(x), teacher(x), y, 2.0, 0.5))
    expect(
        isclose(got_mean, expected),
        f"the returned loss is {got_mean:.6f}, kd_loss over the 100 examples is "
        f"{expected:.6f}: return the sum of loss.item() * len(idx) over the batches divided by len(x), with "
        "kd_loss(student_logits, teacher_logits, labels, temperature, alpha)",
    )

    losses = float_losses(hidden.get("losses"), fn)
    expect(all(np.isfinite(losses)), f"non-finite losses at T = 2, alpha = 0.5: {losses}")
    if not losses[3] < losses[0]:
        no_zero, _ = ref_distill(300, 23, 2.0, 0.5, 50, ADAM, epochs=4, zero_grad=False)
        expect(
            not np.allclose(losses, no_zero, rtol=1e-4), f"the kd loss did not fall at T = 2, alpha = 0.5: {ACCUMULATE}"
        )
        expect(
            False,
            f"the kd loss did not fall over 4 epochs at T = 2, alpha = 0.5 ({losses[0]:.3f} -> "
            f"{losses[3]:.3f}): call loss.backward() and optimizer.step() in every step",
        )


def no_grad_teacher(calls) -> None:
    expect(
        isinstance(calls, list) and calls,
        "the teacher was never called: compute teacher_logits = teacher(x[idx]) in every step",
    )
    expect(not any(call[0] for call in calls), "the teacher ran in training mode: call teacher.eval() before using it")
    expect(
        not any(call[1] for call in calls), "the teacher's logits carry gradients: compute them under torch.no_grad()"
    )


@judge.check("test_distill_teacher_frozen")
def distill_teacher_frozen(ask):
    fn = "distill_one_epoch"
    got = yield [
        ask.scenario(
            "distill_frozen", n=128, seed=31, T=4.0, alpha=0.9, batch_size=32, epochs=1, both=False, raises=True
        ),
        ask.scenario(
            "distill_frozen", n=96, seed=32, T=8.0, alpha=0.7, batch_size=24, epochs=2, both=True, raises=True
        ),
    ]
    plain, careless = (unwrap(r, fn) for r in got)
    no_grad_teacher(plain.get("calls"))
    expect(
        max_diff(plain.get("teacher"), init_weights(31, cnn=True)) == 0,
        "the teacher's weights changed: call "
        "teacher.eval(), compute its logits under torch.no_grad() and step only the optimiser you are given",
    )

    # hidden: an optimiser that also holds the teacher's parameters must not move a frozen teacher
    no_grad_teacher(careless.get("calls"))
    teacher_grads = arrays(careless.get("teacher_grads"), "gradients")
    expect(
        all(g is None or not np.any(g) for g in teacher_grads),
        "gradients reached the teacher: compute its "
        "logits under torch.no_grad() and let no loss term depend on the teacher's graph",
    )
    expect(
        max_diff(careless.get("teacher"), init_weights(32, cnn=True)) == 0,
        "the teacher's weights changed: the "
        "teacher must be frozen (eval mode, logits under torch.no_grad()); only the student is trained",
    )


ONE_STEP = [(44, 3.0, 0.7), (45, 1.0, 0.25)]
SGD05 = ("sgd", {"lr": 0.5})


@judge.check("test_distill_one_step")
def distill_one_step(ask):
    fn = "distill_one_epoch"
    got = yield [
        ask.scenario("distill_twin", n=64, seed=41, T=4.0, lr=0.5, raises=True),
        ask.scenario("distill_two_teachers", n=64, data_seed=41, seed_a=42, seed_b=43, T=4.0, lr=0.5, raises=True),
    ] + [
        ask.scenario("distill_once", n=48, seed=seed, T=T, alpha=a, batch_size=48, opt=SGD05, raises=True)
        for seed, T, a in ONE_STEP
    ]
    twin, two, *steps = (unwrap(r, fn) for r in got)

    # (a) alpha = 1 and a teacher equal to the student: loss 0, no move
    loss = float_losses([twin.get("loss")], fn)[0]
    still = max_diff(twin.get("weights"), init_weights(41)) < 1e-6
    moves = max_diff(two.get("a"), init_weights(42)) > 1e-4
    if abs(loss) >= 1e-5 and still and moves:  # the returned loss holds a term the student's step never sees
        expect(
            False,
            f"with alpha = 1 and a teacher equal to the student the loss must be 0, got {loss:.4f}, yet the "
            "student did not move: the returned loss holds a term that does not depend on the student (a loss "
            "on the teacher's logits?). The loss is kd_loss(student_logits, teacher_logits, labels, "
            "temperature, alpha) alone",
        )
    expect(
        abs(loss) < 1e-5,
        f"with alpha = 1 and a teacher equal to the student the loss must be 0, got {loss:.4f}: "
        "pass alpha to kd_loss unchanged (alpha weighs the soft term)",
    )
    expect(
        max_diff(twin.get("weights"), init_weights(41)) < 1e-6,
        "with alpha = 1 and a teacher equal to the "
        "student the student must not move: the loss is kd_loss(student_logits, teacher_logits, labels, "
        "temperature, alpha)",
    )
    # (b) alpha = 0: the step does not depend on the teacher, and the student moves
    expect(
        max_diff(two.get("a"), init_weights(42)) > 1e-4,
        "the student did not move: call optimizer.step() after loss.backward()",
    )
    expect(
        max_diff(two.get("a"), two.get("b")) < 1e-6,
        "with alpha = 0 the step must not depend on the teacher: "
        "pass alpha to kd_loss unchanged (alpha weighs the soft term, 1 - alpha the cross-entropy)",
    )

    # hidden: one full-batch SGD step against a reference step
    for (seed, T, a), mine in zip(ONE_STEP, steps, strict=True):
        got_loss = float_losses([mine.get("loss")], fn)[0]
        (want,), ref_w = ref_distill(48, seed, T, a, 48, SGD05)
        expect(max_diff(mine.get("weights"), init_weights(seed)) > 0, "the student did not move: call optimizer.step()")
        diff = max_diff(mine.get("weights"), ref_w)
        if diff > 1e-5:
            _, alt = ref_distill(48, seed, T, 1 - a, 48, SGD05)
            expect(
                max_diff(mine.get("weights"), alt) >= 1e-5,
                "alpha weighs the wrong term: kd_loss(..., temperature, alpha) already puts alpha on the soft term",
            )
        expect(
            diff < 1e-5,
            f"one SGD step at T = {T:g}, alpha = {a:g} differs from a reference step by up to "
            f"{diff:.2g}: the loss is kd_loss(student(x[idx]), teacher_logits, y[idx], temperature, alpha)",
        )
        expect(isclose(got_loss, want), f"the returned loss {got_loss:.6f} differs from {want:.6f}")


COMPOSITE = [(52, 64, 32), (53, 60, 20)]
REPLAYS = [(56, 60, 20, ("sgd", {"lr": 0.2, "momentum": 0.9})), (57, 64, 32, ADAM)]


@judge.check("test_distill_zero_grad")
def distill_zero_grad(ask):
    fn = "distill_one_epoch"
    got = yield (
        [ask.scenario("distill_grads", n=64, seed=51, T=4.0, alpha=0.9, raises=True)]
        + [
            ask.scenario("distill_steps", n=n, seed=seed, T=4.0, alpha=0.9, batch_size=bs, lr=0.5, raises=True)
            for seed, n, bs in COMPOSITE
        ]
        + [ask.scenario("distill_once", n=48, seed=55, T=4.0, alpha=0.9, batch_size=48, opt=SGD05, raises=True)]
        + [
            ask.scenario("distill_once", n=n, seed=seed, T=4.0, alpha=0.9, batch_size=bs, opt=opt, raises=True)
            for seed, n, bs, opt in REPLAYS
        ]
    )
    grads, *rest = (unwrap(r, fn) for r in got)
    composites, first, replays = rest[: len(COMPOSITE)], rest[len(COMPOSITE)], rest[len(COMPOSITE) + 1 :]

    like = init_weights(51)
    full = grads_or_zero(arrays(grads.get("full"), "gradients"), like)
    four = grads_or_zero(arrays(grads.get("four"), "gradients"), like)
    expect(
        any(np.abs(f).max() > 0 for f in full), "no gradient reached the student: call loss.backward() on the kd loss"
    )
    summed = all(np.allclose(a, 4 * f, rtol=1e-4, atol=1e-7) for a, f in zip(four, full, strict=False))
    expect(not summed, "the gradients of the 4 steps of an epoch add up: " + ZERO_GRAD)

    # hidden (1): an epoch of k steps equals k one-step epochs on the same batches (isolates zero_grad)
    for (seed, n, bs), seen in zip(COMPOSITE, composites, strict=True):
        diff = max_diff(seen.get("epoch"), seen.get("steps"))
        if diff >= 1e-5:
            _, no_zero = ref_distill(n, seed, 4.0, 0.9, bs, SGD05, zero_grad=False)
            expect(max_diff(seen.get("epoch"), no_zero) >= 1e-5, ACCUMULATE)
        expect(
            diff < 1e-5,
            f"an epoch of {n // bs} steps differs (by up to {diff:.2g}) from {n // bs} single steps "
            "on the same batches: shuffle with torch.randperm(len(x), generator=generator), take "
            "perm.split(batch_size), and call optimizer.zero_grad() in every step, before loss.backward()",
        )

    # hidden (2): replays against the reference, if the single step itself is right (a wrong step
    # already loses the points of test_distill_one_step)
    _, ref_first = ref_distill(48, 55, 4.0, 0.9, 48, SGD05)
    if max_diff(first.get("weights"), ref_first) < 1e-5:
        for (seed, n, bs, opt), mine in zip(REPLAYS, replays, strict=True):
            _, ref_w = ref_distill(n, seed, 4.0, 0.9, bs, opt)
            diff = max_diff(mine.get("weights"), ref_w)
            expect(
                diff < 1e-5,
                f"after {n // bs} steps the student differs from the reference by up to {diff:.2g}: "
                "shuffle with torch.randperm(len(x), generator=generator), take perm.split(batch_size), and per "
                "batch: teacher logits (no_grad), student logits, kd_loss, zero_grad, backward, step",
            )

"""Hidden checks of 14_patient_teacher, decided outside the student's kernel (see kdlib.grading.judge).

``mixup_batch`` is observed through ``probe.py`` (outputs, and whether x was modified in place)
and compared with the mixup formula computed here. ``consistent_step`` is called in the sandbox
with two recording linear models and a seeded roll + noise augmentation: the judge replays the
augmentation's first draw here and checks that the teacher and the student were each called once
on exactly that view, that the loss is the reference ``distillation_loss`` of the linear models'
logits on it, and that no gradient reached the teacher. The answer key is empty: the library's
own function matching (``kdlib.torch.train.distill(augment=)``) trains whole students and is
not a drop-in answer, and the notebook needs it (and kdlib.augment) to run.
"""

from __future__ import annotations

import numpy as np

from kdlib import reference as ref
from kdlib.grading.judge import Judge, expect

judge = Judge("14_patient_teacher", answer_key=[], demos=["data", "own-loop", "library"])

INCONSISTENT = (
    "the teacher saw the clean batch while the student sees the augmented one: an inconsistent "
    "teacher. Run the teacher on the same view"
)
TWO_DRAWS = "teacher and student saw different augmentation draws: augment once and feed that view to both"


def _mix(x, y, lam, partner, c):
    onehot = np.eye(c)[y]
    return lam * x + (1 - lam) * x[partner], lam * onehot + (1 - lam) * onehot[partner]


def _mixup_ok(res, x, y, lam, partner, c, what: str) -> None:
    expect(res.error is None, f"calling mixup_batch on {what} raised {res.error}")
    seen = res.value
    expect(seen["pair"], f"mixup_batch must return (x_mix, targets), got a {seen.get('type')}")
    want_x, want_t = _mix(x, y, lam, partner, c)
    expect(not seen["modified"], "mixup_batch modified x in place: work on a copy")
    got_x, got_t = np.asarray(seen["x_mix"]), np.asarray(seen["targets"])
    expect(got_x.shape == want_x.shape, f"x_mix must have shape {want_x.shape}, got {got_x.shape} ({what})")
    expect(got_t.shape == want_t.shape, f"targets must have shape {want_t.shape}, got {got_t.shape} ({what})")
    expect(
        np.allclose(got_x, want_x, atol=1e-5),
        f"x_mix must be lam * x + (1 - lam) * x[partner] ({what}, lam = {lam:g})",
    )
    expect(
        not np.allclose(got_t, np.eye(c)[y]),
        "the targets are the one-hot labels of the rows: mix them like the inputs, "
        "lam * onehot(y) + (1 - lam) * onehot(y[partner])",
    )
    expect(
        np.allclose(got_t, want_t, atol=1e-5),
        f"targets must be lam * onehot(y) + (1 - lam) * onehot(y[partner]) ({what}, lam = {lam:g})",
    )


@judge.check("test_mixup")
def mixup(ask):
    x = np.array([[0.0, 0.0], [2.0, 4.0], [10.0, 10.0]])
    y, partner = np.array([0, 1, 2]), np.array([1, 2, 0])
    rng = np.random.default_rng(14)
    x2, y2 = rng.normal(size=(12, 5)), rng.integers(0, 4, 12)
    p2 = rng.permutation(12)
    hand, rand = yield [
        ask.scenario("mixup", raises=True, x=x, y=y, lam=0.75, partner=partner, num_classes=3),
        ask.scenario("mixup", raises=True, x=x2, y=y2, lam=0.3, partner=p2, num_classes=4),
    ]
    _mixup_ok(hand, x, y, 0.75, partner, 3, "the hand-made case")
    _mixup_ok(rand, x2, y2, 0.3, p2, 4, "a random batch")


def _case(seed: int, b: int = 8, f: int = 5, c: int = 3):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(b, f)).astype(np.float32),
        "ws": rng.normal(size=(c, f)).astype(np.float32),
        "bs": rng.normal(size=c).astype(np.float32),
        "wt": rng.normal(size=(c, f)).astype(np.float32),
        "bt": rng.normal(size=c).astype(np.float32),
    }


def _view(x: np.ndarray, seed: int, shift: int = 2, std: float = 0.5) -> np.ndarray:
    """The first draw of probe.py's roll + noise augmentation with default_rng(seed)."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(0, shift + 1))
    return (np.roll(x, k, axis=1) + rng.normal(0.0, std, x.shape)).astype(np.float32).astype(np.float64)


def _seen(res) -> dict:
    expect(res.error is None, f"calling consistent_step raised {res.error}")
    return res.value


def _views_ok(seen: dict, x: np.ndarray, view: np.ndarray) -> None:
    t, s = seen["teacher_seen"], seen["student_seen"]
    expect(len(t) == 1 and len(s) == 1, f"call the teacher and the student once each (got {len(t)} and {len(s)} calls)")
    t, s = np.asarray(t[0]), np.asarray(s[0])
    expect(not np.allclose(t, x), INCONSISTENT)
    expect(np.array_equal(t, s), TWO_DRAWS)
    expect(np.allclose(s, view, atol=1e-5), "the view must be augment(x.numpy(), rng), drawn once")


@judge.check("test_consistent")
def consistent(ask):
    a, b = _case(1), _case(2, b=16, f=7, c=4)
    r1, r2 = yield [
        ask.scenario("consistent", raises=True, seed=1, temperature=2.0, **a),
        ask.scenario("consistent", raises=True, seed=9, temperature=1.0, **b),
    ]
    for res, case, seed in ((r1, a, 1), (r2, b, 9)):
        seen = _seen(res)
        _views_ok(seen, case["x"].astype(np.float64), _view(case["x"], seed))
        expect(
            seen["is_tensor"] and seen["ndim"] == 0,
            f"return the loss as a scalar (0-d) tensor, got a {seen['type']}"
            + (f" with {seen['ndim']} dimensions" if seen["is_tensor"] else ""),
        )


@judge.check("test_consistent_loss")
def consistent_loss(ask):
    a = _case(5, b=16, f=6, c=4)
    (res,) = yield [ask.scenario("consistent", raises=True, seed=3, temperature=3.0, **a)]
    seen = _seen(res)
    expect("loss" in seen, f"return the loss as a scalar tensor, got a {seen['type']}")
    view = _view(a["x"], 3)
    s = view @ a["ws"].T.astype(np.float64) + a["bs"]
    t = view @ a["wt"].T.astype(np.float64) + a["bt"]
    want = ref.distillation_loss(s, t, 3.0)
    clean = ref.distillation_loss(s, a["x"].astype(np.float64) @ a["wt"].T.astype(np.float64) + a["bt"], 3.0)
    got = seen["loss"]
    if abs(got - clean) < 1e-4 * max(1.0, abs(clean)):
        expect(False, INCONSISTENT)
    expect(
        abs(got - want) < 1e-4 * max(1.0, abs(want)),
        f"loss {got:.6f}, expected kd.distillation_loss(student(view), teacher(view), T) = {want:.6f}",
    )
    expect(not seen["teacher_grad"], "a gradient reached the teacher: compute its logits under torch.no_grad()")
    expect(seen["student_grad"], "no gradient reached the student")

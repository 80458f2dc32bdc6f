"""Hidden checks of 13_self_ensemble, decided outside the student's kernel (see kdlib.grading.judge).

``average_logits`` and ``smoothed_cross_entropy`` are observed through ``probe.py`` on inputs chosen
here (float64 tensors built in the sandbox) and compared with NumPy float64 values computed here.
``born_again`` runs in the kernel on a small slice of MNIST-1D with 2-epoch generations; the judge
repeats the chain with kdlib's own ``fit``/``distill`` (``kdlib.torch.methods.born_again``) and
compares each generation's logits, then names the usual mistake by replaying it. The answer key
is every implementation of what the notebook grades: ``kdlib.torch.methods``,
``kdlib.tf.methods`` and ``kdlib.reference``.
"""

from __future__ import annotations

import numpy as np

from kdlib.grading.judge import Judge, expect

judge = Judge(
    "13_self_ensemble",
    answer_key=["kdlib.torch.methods", "kdlib.tf.methods", "kdlib.born_again", "kdlib.reference"],
    demos=["data", "ensemble", "ban", "smooth"],
)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _mean_prob_logits(zs) -> np.ndarray:
    lp = np.stack([_log_softmax(z) for z in zs])
    m = lp.max(0)
    return m + np.log(np.exp(lp - m).mean(0))


def _logits(seen: dict, what: str, shape) -> np.ndarray:
    expect("error" not in seen, f"average_logits on {what} raised {seen.get('error')}")
    expect(seen["is_tensor"], f"average_logits must return a tensor, got {seen.get('type')}")
    expect(
        tuple(seen["shape"]) == tuple(shape),
        f"average_logits must return shape {tuple(shape)} (B, C), got {tuple(seen['shape'])}",
    )
    return np.asarray(seen["value"], np.float64)


def _cases(seed: int, k: int, b: int, c: int, scale: float = 3.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, scale, (b, c)) for _ in range(k)]


@judge.check("test_average_logit")
def average_logit(ask):
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    b = np.array([[3.0, 2.0, 1.0], [2.0, -2.0, 0.0]])
    rand = _cases(131, 4, 5, 6)
    (seen,) = yield [ask.scenario("average_calls", cases=[([a, b], "logit"), (rand, "logit"), ([a], "logit")])]
    for (zs, what), obs in zip(
        [([a, b], "two hand-made teachers"), (rand, "4 random teachers"), ([a], "one teacher")], seen, strict=True
    ):
        got = _logits(obs, what, zs[0].shape)
        want = np.mean(zs, axis=0)
        if np.allclose(got, want, atol=1e-9):
            continue
        if np.allclose(got, np.sum(zs, axis=0), atol=1e-9):
            why = "the logits are summed: divide by the number of teachers (a sum is a sharper distribution)"
        elif np.allclose(got, np.exp(_mean_prob_logits(zs)), atol=1e-9) or np.allclose(
            got, _mean_prob_logits(zs), atol=1e-9
        ):
            why = "this is probability-space averaging: space='logit' is the plain mean of the logits"
        else:
            why = "space='logit' is the mean of the K logit tensors, element by element"
        expect(
            False,
            f"{what}, space='logit': row 0 is {np.round(got[0], 4).tolist()}, "
            f"expected the mean {np.round(want[0], 4).tolist()}: {why}",
        )


@judge.check("test_average_prob")
def average_prob(ask):
    rand = _cases(137, 3, 4, 5)
    hand = [np.array([[0.0, 0.0]]), np.array([[np.log(3.0), 0.0]])]  # p = (0.5, 0.5) and (0.75, 0.25)
    big = [z * 1e3 for z in _cases(139, 3, 4, 5)]
    (seen,) = yield [
        ask.scenario("average_calls", cases=[(hand, "prob"), (rand, "prob"), (big, "prob"), (rand[:1], "prob")])
    ]
    named = [
        (hand, "two hand-made teachers (p = (0.5, 0.5) and (0.75, 0.25))"),
        (rand, "3 random teachers"),
        (big, "3 teachers with logits of about ±3000"),
        (rand[:1], "one teacher"),
    ]
    for (zs, what), obs in zip(named, seen, strict=True):
        got = _logits(obs, what, zs[0].shape)
        want = _mean_prob_logits(zs)
        if zs is big:
            expect(
                np.isfinite(got).all(),
                f"{what}: got -inf or nan; compute log of the mean probability from "
                "log_softmax with torch.logsumexp over the teachers (minus log K), not log(mean(softmax))",
            )
        mean_p = np.exp(want)
        if np.isfinite(got).all() and np.allclose(_log_softmax(got), want, atol=1e-7):
            continue
        if np.allclose(got, mean_p, atol=1e-9):
            why = (
                "you returned the averaged probabilities: return logits, their log, so that softmax gives the "
                "averaged distribution back (distillation softens logits with T)"
            )
        elif np.allclose(_log_softmax(got), _log_softmax(np.mean(zs, axis=0)), atol=1e-7):
            why = (
                "this averages logits or log-probabilities (a geometric mean): average the probabilities "
                "softmax(z_k), then take the log"
            )
        else:
            why = "softmax of the result must be the mean of the teachers' softmax"
        got_p = np.exp(_log_softmax(got)) if np.isfinite(got).all() else got
        expect(
            False,
            f"{what}, space='prob': softmax of your result is {np.round(got_p[0], 4).tolist()} in row 0, "
            f"expected {np.round(mean_p[0], 4).tolist()}: {why}",
        )


def _smoothed(z: np.ndarray, y: np.ndarray, eps: float) -> tuple[float, np.ndarray]:
    """The loss and its gradient w.r.t. z: (softmax(z) − target) / B."""
    lq = _log_softmax(z)
    c = z.shape[1]
    target = np.full_like(z, eps / c)
    target[np.arange(len(y)), y] += 1.0 - eps
    return float(-(target * lq).sum(1).mean()), (np.exp(lq) - target) / len(y)


def _smoothing_why(got: float, z: np.ndarray, y: np.ndarray, eps: float) -> str:
    lq = _log_softmax(z)
    b, c = z.shape
    nll = -lq[np.arange(b), y]
    others = (-lq.sum(1) - nll) / (c - 1)
    if np.isclose(got, ((1 - eps) * nll + eps * others).mean(), rtol=1e-6):
        return (
            "eps is spread over the C − 1 wrong classes only: "
            "the target gives eps / C to every class, the true one included"
        )
    if np.isclose(got, ((1 - eps) * nll - eps * lq.sum(1)).mean(), rtol=1e-6):
        return "the uniform term is summed over the classes: it is eps · (1/C) Σ_c (−log q_c), a mean"
    if np.isclose(got, _smoothed(z, y, eps)[0] * b, rtol=1e-6):
        return "the loss is summed over the batch: take the mean"
    if np.isclose(got, nll.mean(), rtol=1e-6):
        return "eps is ignored: this is the plain cross-entropy"
    return "compute (1 − eps) · (−log q_y) + eps · mean_c(−log q_c) from F.log_softmax, averaged over the batch"


@judge.check("test_smoothing")
def smoothing(ask):
    hand_z, hand_y = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.array([0, 2])
    rng = np.random.default_rng(151)
    z, y = rng.normal(0, 2, (6, 7)), rng.integers(0, 7, 6)
    cases = [(hand_z, hand_y, 0.0), (hand_z, hand_y, 0.1), (z, y, 0.3), (z, y, 0.2)]
    (seen,) = yield [ask.scenario("smoothing_calls", cases=cases)]
    for (zz, yy, eps), obs in zip(cases, seen, strict=True):
        what = f"{len(yy)} rows, {zz.shape[1]} classes, eps = {eps}"
        expect("error" not in obs, f"smoothed_cross_entropy on {what} raised {obs.get('error')}")
        expect(
            obs["is_tensor"] and obs["shape"] == [],
            f"smoothed_cross_entropy must return a scalar tensor, got {obs.get('type', obs.get('shape'))}",
        )
        got = float(obs["value"])
        want, grad = _smoothed(zz, yy, eps)
        expect(
            np.isclose(got, want, rtol=1e-7, atol=1e-9),
            f"{what}: got {got:.6f}, expected {want:.6f}: {_smoothing_why(got, zz, yy, eps)}",
        )
        expect(obs["grad"] is not None, "no gradient reached the logits: build the loss from F.log_softmax(logits)")
        expect(
            np.allclose(obs["grad"], grad, atol=1e-9),
            f"{what}: the gradient w.r.t. the logits is not (softmax − target) / B",
        )


def _chain(x, y, generations, epochs, lr, batch_size, seed, variant="right"):
    """kdlib's born-again chain (the answer), or a usual mistake replayed: logits on x of each generation."""
    from kdlib.torch import build_model, distill, fit, predict_logits

    def build(s):
        return build_model("student-small", x.shape[1], 10, seed=s)

    common = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "progress": False}
    m = build(seed)
    fit(m, x, y, seed=seed, **common)
    models = [m]
    for g in range(1, 1 + generations):  # generation g learns from generation g − 1
        s = seed if variant == "same seed" else seed + g
        st = build(s)
        if variant == "fit":
            fit(st, x, y, seed=s, **common)
        else:
            teacher = models[0] if variant == "from gen 0" else models[-1]
            distill(st, teacher, x, y, temperature=4.0, alpha=0.9, seed=s, **common)
        models.append(st)
    return [predict_logits(m, x) for m in models]


@judge.check("test_born_again")
def born_again_check(ask):
    from kdlib import load_dataset

    ds = load_dataset("mnist1d")
    x, y = ds.x_train[1000:1192], ds.y_train[1000:1192]
    args = {"generations": 3, "epochs": 2, "lr": 3e-3, "batch_size": 64, "seed": 7}
    (seen,) = yield [ask.scenario("born_again_run", x=x, y=y, num_classes=10, **args)]
    expect(seen["is_list"], f"born_again must return a list of networks [gen 0, ..., gen G], got {seen.get('type')}")
    expect(seen["n"] == 4, f"3 generations give 4 networks [gen 0, gen 1, gen 2, gen 3], got {seen['n']}")
    expect("error" not in seen, f"the list must hold the networks: {seen.get('error')}")
    expect(seen["distinct"] == 4, "every generation must be a fresh network (build(seed + g)), not the same object")
    got = [np.asarray(z) for z in seen["logits"]]
    want = _chain(x, y, **args)

    def same(a, b) -> bool:
        return np.allclose(a, b, atol=1e-4, rtol=1e-4)

    expect(
        same(got[0], want[0]),
        "generation 0 is not build(seed) trained with kd.fit(model, x, y, epochs, lr, batch_size, seed=seed)",
    )
    bad = next((g for g in range(1, 4) if not same(got[g], want[g])), None)
    if bad is None:
        return
    for variant, why in (
        ("from gen 0", "every generation was distilled from generation 0: generation g learns from generation g − 1"),
        ("same seed", "every generation was built with build(seed): generation g starts from build(seed + g)"),
        ("fit", "the generations were trained on the labels with kd.fit: generation g ≥ 1 is distilled (kd.distill)"),
    ):
        alt = _chain(x, y, **args, variant=variant)
        if all(same(got[g], alt[g]) for g in range(1, 4)):
            expect(False, why)
    expect(
        False,
        f"generation {bad} is not distill(build(seed + {bad}), generation {bad - 1}, x, y, temperature=T, "
        "alpha=ALPHA, epochs, lr, batch_size, seed=seed + g)",
    )

"""Chapter 13's library on NumPy, PyTorch and TensorFlow: ensemble_logits (values, gradients,
errors), Ensemble as a teacher, born_again, and fit(label_smoothing=) against the reference loss."""

from __future__ import annotations

import numpy as np
import pytest

from kdlib import reference as ref
from tests.conftest import rel_error

FRAMEWORKS = ["numpy", "torch", "tf"]


def _side(name: str):
    if name == "torch":
        import torch

        from kdlib.torch import methods

        return methods, torch.as_tensor
    if name == "tf":
        import tensorflow as tf

        from kdlib.tf import methods

        return methods, tf.convert_to_tensor
    return ref, lambda a: a


def _np(x) -> np.ndarray:
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


@pytest.fixture(params=FRAMEWORKS)
def side(request):
    mod, to = _side(request.param)

    def call(logits_list, space="logit", convert=True):
        arg = [to(z) for z in logits_list] if convert and isinstance(logits_list, list) else logits_list
        return _np(mod.ensemble_logits(arg, space=space))

    return call


def _by_definition(zs: list[np.ndarray], space: str) -> np.ndarray:
    """Row by row, from the definition (independent of the vectorised reference)."""
    out = np.zeros_like(zs[0], dtype=np.float64)
    for b in range(zs[0].shape[0]):
        if space == "logit":
            out[b] = np.mean([z[b] for z in zs], axis=0)
        else:
            p = np.mean([np.exp(z[b] - z[b].max()) / np.exp(z[b] - z[b].max()).sum() for z in zs], axis=0)
            out[b] = np.log(p)
    return out


def test_reference_is_its_definition_and_prob_space_is_the_mean_distribution(rng):
    zs = [rng.normal(0, 3, (6, 5)) for _ in range(4)]
    for space in ("logit", "prob"):
        assert rel_error(ref.ensemble_logits(zs, space), _by_definition(zs, space)) < 1e-12
    mean_p = np.mean([ref.soft_targets(z, 1.0) for z in zs], axis=0)
    np.testing.assert_allclose(ref.soft_targets(ref.ensemble_logits(zs, "prob"), 1.0), mean_p, atol=1e-14)
    # one member: both spaces give that member back (prob: as log-probabilities, same softmax)
    np.testing.assert_allclose(ref.ensemble_logits(zs[:1], "logit"), zs[0])
    np.testing.assert_allclose(ref.soft_targets(ref.ensemble_logits(zs[:1], "prob"), 1.0), ref.soft_targets(zs[0], 1.0))
    # the two spaces differ: averaging logits is not averaging probabilities
    assert rel_error(ref.soft_targets(ref.ensemble_logits(zs, "logit"), 1.0), mean_p) > 1e-3


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_ensemble_parity_with_reference(side, rng, dtype, tol):
    for k, b, c in [(3, 8, 10), (1, 2, 3), (5, 4, 2)]:
        zs = [(rng.normal(size=(b, c)) * 3).astype(dtype) for _ in range(k)]
        for space in ("logit", "prob"):
            got = side(zs, space)
            assert got.shape == (b, c)
            assert rel_error(got, ref.ensemble_logits(zs, space)) < tol
    big = [rng.normal(size=(3, 4)) * 1e4 for _ in range(3)]
    assert np.isfinite(side(big, "prob")).all()


def test_ensemble_gradients_agree():
    import tensorflow as tf
    import torch

    from kdlib.tf.methods import ensemble_logits as tf_ens
    from kdlib.torch.methods import ensemble_logits as torch_ens

    rng = np.random.default_rng(13)
    zs = [rng.normal(size=(3, 4)) for _ in range(3)]
    w = rng.normal(size=(3, 4))
    for space in ("logit", "prob"):
        ts = [torch.tensor(z, requires_grad=True) for z in zs]
        (torch_ens(ts, space) * torch.tensor(w)).sum().backward()
        vs = [tf.Variable(z) for z in zs]
        with tf.GradientTape() as tape:
            out = tf.reduce_sum(tf_ens(vs, space) * w)
        grads = tape.gradient(out, vs)
        for t, g in zip(ts, grads, strict=True):
            np.testing.assert_allclose(t.grad.numpy(), g.numpy(), rtol=1e-9, atol=1e-12)
        if space == "logit":
            np.testing.assert_allclose(ts[0].grad.numpy(), w / 3)


BAD = [
    (lambda: [], {}, "logits_list must be a non-empty list"),
    (lambda: np.zeros((2, 3)), {}, "logits_list must be a non-empty list"),
    (lambda: [np.zeros((2, 3)), np.zeros((2, 4))], {}, "logits_list must hold logits of one shape"),
    (lambda: [np.zeros(3)], {}, "logits_list must be 2-D"),
    (lambda: [np.full((2, 3), np.nan)], {}, "logits_list must be finite"),
    (lambda: [np.zeros((2, 3))], {"space": "probs"}, "space must be 'logit' or 'prob'"),
]


@pytest.mark.parametrize("make,kw,msg", BAD)
def test_bad_input_same_error_everywhere(side, make, kw, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        side(make(), **kw)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_reference_label_smoothing_is_torch_and_keras(rng, eps):
    import keras
    import torch
    import torch.nn.functional as F

    z, y = rng.normal(0, 2, (7, 5)), rng.integers(0, 5, 7)
    want = ref.label_smoothing_cross_entropy(z, y, eps)
    assert rel_error(want, F.cross_entropy(torch.tensor(z), torch.tensor(y), label_smoothing=eps).item()) < 1e-12
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=eps)
    assert rel_error(want, float(cce(np.eye(5)[y], z))) < 1e-6
    if eps == 0.0:
        assert rel_error(want, ref.cross_entropy(z, y)) < 1e-12
    with pytest.raises(ValueError, match="label_smoothing must be a number in"):
        ref.label_smoothing_cross_entropy(z, y, 1.5)


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_fit_with_label_smoothing_optimises_that_loss(framework):
    """One full-batch epoch from the same weights: the loss fit records is the smoothed CE of
    the initial logits; training lowers the smoothed CE; bad values raise the reference's error."""
    from kdlib.experiment import framework_module

    fw = framework_module(framework)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    for eps in (0.0, 0.2):
        model = fw.build_model("student-small", 6, 3, seed=1)
        z0 = fw.predict_logits(model, x)
        hist = fw.fit(model, x, y, epochs=1, batch_size=32, lr=1e-3, label_smoothing=eps, progress=False)
        assert abs(hist.loss[0] - ref.label_smoothing_cross_entropy(z0, y, eps)) < 1e-5
    model = fw.build_model("student-small", 6, 3, seed=1)
    before = ref.label_smoothing_cross_entropy(fw.predict_logits(model, x), y, 0.2)
    fw.fit(model, x, y, epochs=30, batch_size=8, lr=1e-2, label_smoothing=0.2, progress=False)
    z = fw.predict_logits(model, x)
    assert ref.label_smoothing_cross_entropy(z, y, 0.2) < before - 0.3
    # smoothing caps the confidence: the largest softmax stays well below 1
    assert ref.soft_targets(z, 1.0).max() < 0.99
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\]"):
        fw.fit(model, x, y, epochs=1, label_smoothing=-0.1, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_ensemble_teacher_and_born_again(framework):
    """Ensemble is a frozen teacher for distill; born_again chains generations as documented."""
    from kdlib.experiment import framework_module

    fw = framework_module(framework)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 6)).astype(np.float32), rng.integers(0, 3, 64)
    members = [fw.build_model("student-small", 6, 3, seed=s) for s in range(3)]
    for space in ("logit", "prob"):
        ens = fw.Ensemble(members, space=space)
        want = ref.ensemble_logits([fw.predict_logits(m, x) for m in members], space)
        got = fw.predict_logits(ens, x)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        student = fw.build_model("student-small", 6, 3, seed=9)
        fw.distill(student, ens, x, y, epochs=2, progress=False)
        np.testing.assert_allclose(fw.predict_logits(ens, x), got)  # the teacher is not trained
    with pytest.raises(ValueError, match="space must be"):
        fw.Ensemble(members, space="softmax")

    def build(s):
        return fw.build_model("student-small", 6, 3, seed=s)

    gens = fw.born_again(build, x, y, 2, epochs=2, batch_size=16, seed=4, progress=False)
    assert len(gens) == 3
    # generation 0 is fit(build(seed)); generation 1 is distill(build(seed + 1), gen 0)
    g0 = build(4)
    fw.fit(g0, x, y, epochs=2, batch_size=16, lr=3e-3, seed=4, progress=False)
    np.testing.assert_allclose(fw.predict_logits(gens[0], x), fw.predict_logits(g0, x), rtol=1e-5, atol=1e-6)
    g1 = build(5)
    fw.distill(g1, gens[0], x, y, epochs=2, batch_size=16, lr=3e-3, seed=5, progress=False)
    np.testing.assert_allclose(fw.predict_logits(gens[1], x), fw.predict_logits(g1, x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="generations must be"):
        fw.born_again(build, x, y, -1)

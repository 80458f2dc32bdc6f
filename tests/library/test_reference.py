"""The NumPy float64 reference against hand-computed values and the loss properties."""

import math

import numpy as np
import pytest

from kdlib import reference as ref


def test_soft_targets_hand_values():
    # softmax([0, ln 3] / 1) = [1/4, 3/4]; at T = 2: softmax([0, ln 3 / 2]) = [1, √3] / (1 + √3)
    z = np.array([[0.0, math.log(3.0)]])
    np.testing.assert_allclose(ref.soft_targets(z, 1.0), [[0.25, 0.75]], rtol=1e-14)
    r3 = math.sqrt(3.0)
    np.testing.assert_allclose(ref.soft_targets(z, 2.0), [[1 / (1 + r3), r3 / (1 + r3)]], rtol=1e-14)


def test_distillation_loss_hand_value():
    # teacher p = [1/4, 3/4], student q = [1/2, 1/2] at T = 1:
    # KL(p‖q) = 1/4 ln(1/2) + 3/4 ln(3/2); with T = 1 the T² factor is 1.
    s = np.array([[0.0, 0.0]])
    t = np.array([[0.0, math.log(3.0)]])
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    assert ref.distillation_loss(s, t, 1.0) == pytest.approx(expected, rel=1e-14)
    # At T = 2 the logits are halved first and the KL is scaled by 4.
    p = np.array([1.0, math.sqrt(3.0)]) / (1 + math.sqrt(3.0))
    expected2 = 4 * float((p * np.log(p / 0.5)).sum())
    assert ref.distillation_loss(s, t, 2.0) == pytest.approx(expected2, rel=1e-13)


def test_kd_loss_mixes_terms(rng):
    s, t = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    y = rng.integers(0, 5, 6)
    soft, hard = ref.distillation_loss(s, t, 3.0), ref.cross_entropy(s, y)
    assert ref.kd_loss(s, t, y, 3.0, 0.25) == pytest.approx(0.25 * soft + 0.75 * hard, rel=1e-14)
    assert ref.kd_loss(s, t, y, 3.0, 0.0) == pytest.approx(hard, rel=1e-14)
    assert ref.kd_loss(s, t, y, 3.0, 1.0) == pytest.approx(soft, rel=1e-14)


def test_closed_form_gradient_matches_finite_differences(rng):
    s, t, temp = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), 2.5
    g = ref.distillation_grad(s, t, temp)
    eps = 1e-6
    num = np.zeros_like(s)
    for idx in np.ndindex(*s.shape):
        sp, sm = s.copy(), s.copy()
        sp[idx] += eps
        sm[idx] -= eps
        num[idx] = (ref.distillation_loss(sp, t, temp) - ref.distillation_loss(sm, t, temp)) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)

"""kdlib.augment: shapes, seeding, what each augmentation does, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from kdlib import augment as aug

X = np.arange(6 * 40, dtype=np.float32).reshape(6, 40) / 100


@pytest.mark.parametrize(
    "augment",
    [aug.shift(3), aug.shift(1, shape=(8, 5)), aug.scale(), aug.noise(0.1), aug.mixup(), aug.for_dataset("mnist1d")],
)
def test_shape_dtype_and_the_seed_fixes_the_draws(augment):
    a = aug.apply(augment, X, np.random.default_rng(0))
    b = aug.apply(augment, X, np.random.default_rng(0))
    c = aug.apply(augment, X, np.random.default_rng(1))
    assert a.x.shape == X.shape and a.x.dtype == np.float32
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)


def test_shift_rolls_each_signal_and_zero_fills_images():
    out = aug.shift(2)(X, np.random.default_rng(0))
    for row, orig in zip(out, X, strict=True):
        assert any(np.array_equal(row, np.roll(orig, k)) for k in range(-2, 3))
    img = np.zeros((1, 64), np.float32)
    img[0, 0] = 1.0  # top-left pixel
    moved = [aug.shift(1, shape=(8, 8))(img, np.random.default_rng(s))[0].reshape(8, 8) for s in range(20)]
    assert all(m.sum() in (0.0, 1.0) for m in moved)  # zero fill: the pixel leaves, never wraps round
    assert any(m.sum() == 0.0 for m in moved) and any(m[1, 1] == 1.0 for m in moved)


def test_mixup_is_a_convex_combination_with_one_lambda_per_batch():
    view = aug.mixup(0.4)(X, np.random.default_rng(3))
    assert 0 <= view.lam <= 1 and sorted(view.partner.tolist()) == list(range(len(X)))
    np.testing.assert_allclose(view.x, view.lam * X + (1 - view.lam) * X[view.partner], rtol=1e-6)


def test_compose_keeps_the_mixup_pairing_and_noise_has_its_std():
    view = aug.compose(aug.mixup(), aug.noise(0.0))(X, np.random.default_rng(0))
    assert view.partner is not None
    big = np.zeros((2000, 40), np.float32)
    assert abs(aug.noise(0.3)(big, np.random.default_rng(0)).std() - 0.3) < 0.01
    with pytest.raises(ValueError, match="at most one augmentation may mix"):
        aug.compose(aug.mixup(), aug.mixup())(X, np.random.default_rng(0))


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: aug.shift(-1), "max_shift must be an integer >= 0"),
        (lambda: aug.scale(1.2, 0.8), "high must be >= low"),
        (lambda: aug.noise(-0.1), "std must be >= 0"),
        (lambda: aug.mixup(0), "alpha must be > 0"),
        (lambda: aug.for_dataset("cifar"), "dataset must be 'mnist1d' or 'digits'"),
        (lambda: aug.check_augment("mixup"), "augment must be a callable"),
        (lambda: aug.apply(lambda x, rng: x[:, :3], X, None), "augment must return a batch of shape (6, 40)"),
    ],
)
def test_bad_input_raises_a_valueerror_naming_it(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()

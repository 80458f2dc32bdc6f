"""kdlib.data: shapes, determinism, transfer pool, bad names, local MNIST files."""

import numpy as np
import pytest

from kdlib import data


@pytest.mark.parametrize("name,features,n_train,n_test", [("mnist1d", 40, 4000, 1000), ("digits", 64, 1347, 450)])
def test_shapes_and_types(name, features, n_train, n_test):
    ds = data.load_dataset(name)
    assert ds.x_train.shape == (n_train, features) and ds.x_train.dtype == np.float32
    assert ds.x_test.shape == (n_test, features) and ds.y_test.dtype == np.int64
    assert ds.num_classes == 10 and set(np.unique(ds.y_train)) == set(range(10))
    assert ds.num_features == features


def test_default_is_mnist1d_and_deterministic():
    a, b = data.load_dataset(), data.load_dataset("mnist1d", seed=0)
    assert a.name == "mnist1d"
    np.testing.assert_array_equal(a.x_train, b.x_train)
    d1, d2 = data.load_dataset("digits", seed=3), data.load_dataset("digits", seed=3)
    np.testing.assert_array_equal(d1.x_test, d2.x_test)
    assert not np.array_equal(d1.y_test, data.load_dataset("digits", seed=4).y_test)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"name must be one of \['mnist1d', 'digits'\].*'cifar'"):
        data.load_dataset("cifar")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        data.load_dataset("digits", seed=-1)


def test_transfer_pool_is_fresh_and_prefix_stable():
    ds = data.load_dataset("mnist1d")
    pool, labels = data.load_transfer_pool("mnist1d", 6000, return_labels=True)
    assert pool.shape == (6000, 40) and labels.shape == (6000,)
    rows = set(map(bytes, pool))
    assert not rows & set(map(bytes, ds.x_test)), "pool shares inputs with the test set"
    assert not rows & set(map(bytes, ds.x_train)), "pool shares inputs with the training set"
    np.testing.assert_array_equal(data.load_transfer_pool("mnist1d", 2000), pool[:2000])
    assert data.load_transfer_pool("mnist1d", 0).shape == (0, 40)
    with pytest.raises(ValueError, match="size must be a non-negative integer"):
        data.load_transfer_pool("mnist1d", -5)


def test_digits_pool_is_a_perturbed_training_set():
    pool, labels = data.load_transfer_pool("digits", 500, return_labels=True)
    assert pool.shape == (500, 64) and pool.min() >= 0 and pool.max() <= 1
    assert set(np.unique(labels)) <= set(range(10))


def test_local_mnist_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        y_train=np.arange(20) % 10,
        x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        y_test=np.arange(5),
    )
    ds = data.load_mnist_npz(path)
    assert ds.x_train.shape == (20, 784) and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert ds.num_classes == 10
    with pytest.raises(ValueError, match="path must be an existing .npz file"):
        data.load_mnist_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"lacks the arrays \['x_test', 'y_test', 'y_train'\]"):
        data.load_mnist_npz(tmp_path / "bad.npz")

"""Framework-neutral NumPy data sets, embedded or generated offline (no download, ever).

    ds = load_dataset("mnist1d")      # default: MNIST-1D, 4,000 train / 1,000 test, 40 features
    ds = load_dataset("digits")       # scikit-learn's 8x8 digits, 64 features
    pool = load_transfer_pool("mnist1d", size=25_000)   # unlabeled inputs for distillation

Every array is ``float32`` features of shape (N, F) and ``int64`` labels of shape (N,).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset",
    "available_datasets",
    "load_dataset",
    "load_mnist_npz",
    "load_transfer_pool",
]


@dataclass(frozen=True)
class Dataset:
    """Train/test arrays of one classification data set.

    x_train: (N_train, F) float32   y_train: (N_train,) int64
    x_test:  (N_test, F)  float32   y_test:  (N_test,)  int64
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: tuple[str, ...] = field(default=())
    description: str = ""

    @property
    def num_features(self) -> int:
        return int(self.x_train.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}: train {self.x_train.shape}, test {self.x_test.shape}, {self.num_classes} classes)"
        )


def cache_dir() -> Path:
    """Where generated arrays are kept between runs: $KDLIB_CACHE or ~/.cache/kdlib."""
    return Path(os.environ.get("KDLIB_CACHE") or Path.home() / ".cache" / "kdlib")


@functools.lru_cache(maxsize=8)
def _mnist1d_raw(seed: int, num_samples: int) -> dict[str, np.ndarray]:
    """MNIST-1D arrays x, y, x_test, y_test made by the mnist1d generator (train split 0.8).

    Generating 5,000 samples takes ≈4 s, so the arrays are cached as an .npz file (this is
    generated data, not a download; delete the cache folder to regenerate).
    """
    from importlib.metadata import version

    path = cache_dir() / f"mnist1d-{version('mnist1d')}-seed{seed}-n{num_samples}.npz"
    try:
        with np.load(path) as f:
            return {k: f[k] for k in ("x", "y", "x_test", "y_test")}
    except (OSError, KeyError, ValueError):
        pass
    # make_dataset generates locally; never call mnist1d.data.get_dataset (it downloads
    # first and writes a pickle into the working directory).
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    args.num_samples = num_samples
    d = make_dataset(args)
    out = {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}
    try:  # best effort: a read-only home must not stop the course
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **out)
        os.replace(tmp, path)
    except OSError:
        pass
    return out


def _load_mnist1d(seed: int) -> Dataset:
    # seed 42 is the benchmark split of the MNIST-1D paper; other seeds give new data.
    d = _mnist1d_raw(42 + seed, 5000)
    return Dataset(
        name="mnist1d",
        x_train=np.asarray(d["x"], np.float32),
        y_train=np.asarray(d["y"], np.int64),
        x_test=np.asarray(d["x_test"], np.float32),
        y_test=np.asarray(d["y_test"], np.int64),
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        description="MNIST-1D (Greydanus 2020): 1-D digit templates, shifted, scaled, "
        "sheared and noised; generated offline.",
    )


def _load_digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    return Dataset(
        name="digits",
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        description="scikit-learn digits: 1,797 8x8 images scaled to [0, 1], flattened to 64.",
    )


_LOADERS: dict[str, Callable[[int], Dataset]] = {
    "mnist1d": _load_mnist1d,
    "digits": _load_digits,
}


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset` (the first is the default)."""
    return list(_LOADERS)


def load_dataset(name: str = "mnist1d", seed: int = 0) -> Dataset:
    """Load an embedded data set by name; the same ``seed`` gives the same arrays."""
    if not isinstance(name, str) or name not in _LOADERS:
        raise ValueError(
            f"name must be one of {available_datasets()}, got {name!r} "
            "(for real MNIST from a local file use load_mnist_npz(path))"
        )
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return _LOADERS[name](int(seed))


def load_transfer_pool(
    name: str = "mnist1d", size: int = 25_000, seed: int = 1, return_labels: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Unlabeled inputs for distillation, shape (size, F) float32; never the test inputs.

    With ``return_labels=True`` also the true labels (size,) int64 — only for the honest
    upper bound "student trained on the pool with labels"; a distilled student never sees them.

    mnist1d: fresh samples from the generator with a seed far from the one that makes the
    train/test split, checked to share no row with ``load_dataset("mnist1d").x_test``.
    digits: there is no source of new digits offline, so the pool is made of the training
    images shifted by one pixel and lightly noised (a documented substitute, not new data).
    """
    if name not in _LOADERS:
        raise ValueError(f"name must be one of {available_datasets()}, got {name!r}")
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
        raise ValueError(f"size must be a non-negative integer, got {size!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if name == "mnist1d":
        pool, labels = _mnist1d_pool(int(size), int(seed))
    else:
        pool, labels = _digits_pool(int(size), int(seed))
    return (pool, labels) if return_labels else pool


def _mnist1d_pool(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if size == 0:
        return np.zeros((0, 40), np.float32), np.zeros(0, np.int64)
    # Generate in chunks of 5,000 so that pools of different sizes share their first rows
    # (a 10k pool is the first 10k of the 25k pool) and each chunk is cached on its own.
    chunks_x, chunks_y = [], []
    for c in range(-(-size // 5000)):
        d = _mnist1d_raw(10_000 + 100 * seed + c, 5000)
        chunks_x += [d["x"], d["x_test"]]
        chunks_y += [d["y"], d["y_test"]]
    pool = np.concatenate(chunks_x).astype(np.float32)[:size]
    labels = np.concatenate(chunks_y).astype(np.int64)[:size]
    test = load_dataset("mnist1d").x_test
    overlap = set(map(bytes, test)) & set(map(bytes, pool))
    if overlap:  # practically impossible with continuous noise; checked all the same
        raise RuntimeError(f"transfer pool shares {len(overlap)} rows with the test set")
    return pool, labels


def _digits_pool(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    ds = load_dataset("digits")
    base = ds.x_train.reshape(-1, 8, 8)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(base), size)
    shifts = rng.integers(-1, 2, size=(size, 2))
    out = np.empty((size, 8, 8), np.float32)
    for i, (j, (dy, dx)) in enumerate(zip(idx, shifts, strict=True)):
        out[i] = np.roll(base[j], (dy, dx), axis=(0, 1))
    out += rng.normal(0, 0.05, out.shape).astype(np.float32)
    return np.clip(out, 0, 1).reshape(size, 64), ds.y_train[idx]


def load_mnist_npz(path: str | Path) -> Dataset:
    """Real MNIST from a local ``mnist.npz`` (keys x_train, y_train, x_test, y_test).

    Never the default and never downloaded here: get the file yourself (e.g. from
    ``keras.datasets.mnist`` on a machine with internet). Images are scaled to [0, 1] and
    flattened to 784 features.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"path must be an existing .npz file, got {str(path)!r}")
    with np.load(p) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        if missing:
            raise ValueError(f"path {str(path)!r} lacks the arrays {sorted(missing)}")
        arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}

    def prep(x: np.ndarray) -> np.ndarray:
        x = x.reshape(len(x), -1).astype(np.float32)
        return x / 255.0 if x.max() > 1.0 else x

    return Dataset(
        name="mnist",
        x_train=prep(arrays["x_train"]),
        y_train=arrays["y_train"].astype(np.int64),
        x_test=prep(arrays["x_test"]),
        y_test=arrays["y_test"].astype(np.int64),
        num_classes=int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1,
        class_names=tuple(str(i) for i in range(10)),
        description=f"MNIST from {p.name}",
    )

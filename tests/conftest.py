"""Shared fixtures. Environment set before any framework is imported."""

import functools
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KERAS_HOME", str(ROOT / ".cache" / "keras"))
os.environ.setdefault("MPLCONFIGDIR", str(ROOT / ".cache" / "matplotlib"))
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

try:  # tiny models: one intra-op thread is faster than two on a busy 2-core machine
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def rel_error(a, b) -> float:
    """CS231n-style relative error max |a−b| / max(|a|, |b|, tiny)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.maximum(np.abs(a), np.abs(b)))))


# --- running the suite on several workers (pytest-xdist, `make test` uses -n 2 --dist loadgroup) ---
#
# The grading tests build one expensive course per module or per assignment (module-scoped
# fixtures). Under xdist every worker would build its own copy, so each such unit is pinned to
# one worker with an xdist_group; everything else is spread test by test. The longest units go
# first, so no worker starts a two-minute grading run at the end while the other one idles.

#: modules whose tests share one expensive module-scoped fixture (a graded course, a release)
_ONE_WORKER_MODULES = ("tests.grading.", "tests.course.test_notebooks", "tests.course.test_install")
#: long units first (hostile corpus, round trips, kd check, whole-notebook runs), the rest after
_LONG_FIRST = (
    "tests.grading.test_hostile",
    "tests.grading.test_round_trip",
    "tests.grading.test_check",
    "tests.course.test_notebooks::test_solution_runs_top_to_bottom",
)


@functools.cache
def _round_trip_cost(assignment: str) -> int:
    """Rough grading cost of an assignment's round trip: submissions, x3 if its kernels import TensorFlow."""
    from tests.grading import catalogues

    cat = catalogues.load()[assignment]
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    tf = "import tensorflow" in source.read_text(encoding="utf-8") or "import keras" in source.read_text(
        encoding="utf-8"
    )
    return (len(cat.mistakes) + 2) * (3 if tf else 1)


def _xdist_group(item) -> str | None:
    module = item.module.__name__
    if module == "tests.grading.test_round_trip":
        params = getattr(item, "callspec", None)
        params = params.params if params else {}
        return f"{module}:{params.get('graded') or params.get('assignment')}"
    if module == "tests.course.test_notebooks" and item.originalname == "test_solution_runs_top_to_bottom":
        return None  # one notebook per test, no shared fixture
    if module.startswith(_ONE_WORKER_MODULES):
        return module
    return None


def _rank(item) -> tuple[int, int]:
    key = f"{item.module.__name__}::{item.originalname}"
    for rank, prefix in enumerate(_LONG_FIRST):
        if key.startswith(prefix):
            group = _xdist_group(item) or ""
            cost = _round_trip_cost(group.split(":", 1)[1]) if group.startswith("tests.grading.test_round_trip:") else 0
            return rank, -cost
    return len(_LONG_FIRST), 0


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist") or not getattr(config.option, "numprocesses", None):
        return
    for item in items:
        group = _xdist_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=_rank)  # stable: the collection order within each rank is kept

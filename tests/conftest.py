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


# --- running the suite on several workers (pytest-xdist: `make test` runs -n 2) ---
#
# The grading tests build one expensive course per module or per assignment (module-scoped
# fixtures). Spread test by test, every worker would build its own copy, and a worker that
# switches modules tears its copy down and builds it again later. So each such unit is one
# scheduling scope, kept on one worker; everything else is spread test by test. The longest
# units go first, so no worker starts a two-minute grading run at the end while the other idles.
# (A scheduler of our own rather than xdist_group marks: with pytest 9, xdist 3.8's loadgroup no
# longer tags node ids with the group, so the marks are silently ignored.)

#: modules whose tests share one expensive module-scoped fixture (a graded course, a release)
_ONE_WORKER_MODULES = ("tests/grading/", "tests/course/test_notebooks.py", "tests/course/test_install.py")
_ROUND_TRIP = "tests/grading/test_round_trip.py"
#: long units first (hostile corpus, round trips, kd check, whole-notebook runs), the rest after
_LONG_FIRST = (
    "tests/grading/test_hostile.py",
    _ROUND_TRIP,
    "tests/grading/test_check.py",
    "tests/grading/test_exchange.py",
    "tests/grading/test_i18n_grading.py",
    "tests/course/test_notebooks.py::test_solution_runs_top_to_bottom",
)


def _scope(nodeid: str) -> str:
    """The scheduling unit of a test: its round trip's assignment, its module, or itself."""
    path = nodeid.split("::", 1)[0]
    if path == _ROUND_TRIP:
        param = nodeid.partition("[")[2].rstrip("]")
        return f"{path}:{param.split('-', 1)[0]}"  # assignment ids hold no '-'; "assignment-mistake"
    if "::test_solution_runs_top_to_bottom[" in nodeid:
        return nodeid  # one notebook per test, no shared fixture
    if path.startswith(_ONE_WORKER_MODULES):
        return path
    return nodeid


@functools.cache
def _round_trip_cost(assignment: str) -> int:
    """Rough grading cost of an assignment's round trip: submissions, x3 if its kernels import TensorFlow."""
    from tests.grading import catalogues

    cat = catalogues.load()[assignment]
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    text = source.read_text(encoding="utf-8")
    tf = "import tensorflow" in text or "import keras" in text
    return (len(cat.mistakes) + 2) * (3 if tf else 1)


def _rank(item) -> tuple[int, int]:
    for rank, prefix in enumerate(_LONG_FIRST):
        if item.nodeid.startswith(prefix):
            scope = _scope(item.nodeid)
            cost = _round_trip_cost(scope.split(":", 1)[1]) if scope.startswith(f"{_ROUND_TRIP}:") else 0
            return rank, -cost
    return len(_LONG_FIRST), 0


def pytest_collection_modifyitems(config, items):
    if "PYTEST_XDIST_WORKER" in os.environ:  # the workers collect; the controller takes their order
        items.sort(key=_rank)  # stable: the collection order within each rank is kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's scope scheduling with :func:`_scope` as the scope of a test."""
    from xdist.scheduler import LoadScopeScheduling

    class ScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return ScopeScheduling(config, log)

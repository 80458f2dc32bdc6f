"""Mistake catalogues, one module per assignment (``mNN_slug.py``), as data.

Each module defines ``CATALOGUE = Catalogue(...)``: the assignment, the mistakes (exact text
replacements applied to the reference solution's code, or an ``edit`` of the filled notebook)
and, for each, EXACTLY which test cells lose their points and a piece of the message each of
those cells must show. tests/grading/test_round_trip.py grades the reference solution, the
untouched student version and every mistake of every catalogue, through ``kd grade``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import nbformat


@dataclass(frozen=True)
class Mistake:
    """One learner mistake and exactly what grading must say about it."""

    description: str
    #: (old, new) replacements applied to the solution cells' code (each old text occurs once)
    patches: tuple[tuple[str, str], ...] = ()
    #: test cell (grade_id) -> a piece of the message it must show; these cells, and no others, lose points
    lost: dict[str, str] = field(default_factory=dict)
    #: instead of / after the patches: edit the filled notebook in place
    edit: Callable[[nbformat.NotebookNode], None] | None = None
    #: other cells (by id) -> a piece of what their outputs must show in the autograded notebook
    shows: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    assignment: str
    mistakes: dict[str, Mistake]
    #: cell ids removed from every submission (long ungraded sections), to keep the run short
    drop: tuple[str, ...] = ()
    #: per-cell time limit for this assignment's round trip, s
    cell_timeout: int = 60
    #: memory per kernel, MiB (TensorFlow needs about 4 GiB of address space)
    memory_mb: int = 4096


def load() -> dict[str, Catalogue]:
    """Every catalogue in this package: assignment -> Catalogue."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cat = module.CATALOGUE
        found[cat.assignment] = cat
    return dict(sorted(found.items()))

"""Hostile and broken submissions of 03_loss_torch, one module per trick (tests/test_safegrade.py).

Each module defines ``CASE``, a :class:`Case`: which honest notebook it starts from (``base``:
the reference solution or a mistake of tests/grading_mistakes/), how it turns it hostile
(``make``), and what safe grading must do with it:

- ``relation="equal"``: exactly the base's grade, cell by cell (zero points lost or gained);
- ``relation="at_most"``: never more than the base on any cell (the trick may cost points);
- ``relation="zero"``: nothing at all (e.g. the notebook is missing);
- ``keeps``: test cells that must keep the base's points even so (grades that must not be lost);
- ``reasons``: keys of kdlib.safegrade.REASONS the report must give for this student.

``make(nb, ctx)`` edits the notebook in place (or returns a new one); ``ctx`` tells it the
course's absolute path and the other students, which a real attacker could guess or learn.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class Context:
    """What a hostile notebook may know about the course it is graded in."""

    course: Path
    assignment: str
    students: tuple[str, ...]
    canary: Path


@dataclass(frozen=True)
class Case:
    description: str
    make: Callable[[nbformat.NotebookNode, Context], nbformat.NotebookNode | None]
    #: "reference" or the name of a mistake in tests/grading_mistakes/mistakes_03_loss_torch.py
    base: str = "reference"
    relation: str = "equal"
    reasons: frozenset[str] = frozenset()
    keeps: frozenset[str] = frozenset()
    #: file name of the submitted notebook (default: the assignment's)
    filename: str | None = None
    extra: dict = field(default_factory=dict)


def cell(nb: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    """The cell with this id (nbgrader cells have their grade_id as id)."""
    return next(c for c in nb.cells if c.id == cell_id)


def add_cell(nb: nbformat.NotebookNode, source: str, after: str | None = None) -> None:
    """Insert a student code cell after the cell ``after`` (default: at the end)."""
    new = nbformat.v4.new_code_cell(source)
    if after is None:
        nb.cells.append(new)
    else:
        index = next(i for i, c in enumerate(nb.cells) if c.id == after)
        nb.cells.insert(index + 1, new)


def prepend(nb: nbformat.NotebookNode, cell_id: str, code: str) -> None:
    """Put ``code`` at the top of a (solution) cell."""
    c = cell(nb, cell_id)
    c.source = code.rstrip("\n") + "\n\n" + c.source


def filled(student_nb, solution_nb, patches=()) -> nbformat.NotebookNode:
    """The student notebook with each solution cell holding the (patched) reference answer."""
    nb = nbformat.from_dict(student_nb)
    answers = {
        c.id: "\n".join(ln for ln in c.source.splitlines() if ln.strip() not in SOLUTION_MARKERS)
        for c in solution_nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for old, new in patches:
        where = [cid for cid, code in answers.items() if old in code]
        assert len(where) == 1 and answers[where[0]].count(old) == 1, f"patch must match once: {old!r}"
        answers[where[0]] = answers[where[0]].replace(old, new)
    for c in nb.cells:
        if c.id in answers:
            c.source = answers[c.id]
    return nb


def load() -> dict[str, Case]:
    """Every case in this package: module name -> Case."""
    cases = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases[info.name] = module.CASE
    return cases

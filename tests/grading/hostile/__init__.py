"""Hostile and broken submissions of 03_loss_torch, one module per trick (tests/grading/test_hostile.py).

Each module defines ``CASE``, a :class:`Case`: which honest notebook it starts from (``base``),
how it turns it hostile (``make``), and what grading must do with it:

- ``base``: ``"reference"`` (the solution), ``"untouched"`` (the student version, exercises left
  unimplemented), ``"partial"`` (distillation_loss only), ``"constant"`` (both functions return
  the same constant: an honest answer a forger's made-up constants cannot beat) or the name of a
  mistake of tests/grading/catalogues/m03_loss_torch.py;
- ``relation="equal"``: exactly the base's grade, cell by cell (no point lost or gained);
  ``"at_most"``: never more than the base on any cell (the trick may cost points);
  ``"zero"``: nothing at all;
- ``keeps``: test cells that must keep the base's points even so;
- ``reasons``: keys of kdlib.grading.REASONS the report must give for this student;
- ``student`` / ``filename``: the submission's folder name / notebook file name, if not the usual;
- ``refusal_ok``: not grading the submission at all (reported as not graded) is acceptable;
- ``hole``: a known hole in the grader, quoted by the test that fails because of it.

``make(nb, ctx)`` edits the notebook in place (or returns a new one); ``ctx`` tells it the
course's absolute path and the other students, which a real attacker could guess or learn.
In the new design a trick on the kernel can change at most what the probe sends back: the
cases below check that this earns nothing a correct answer would not.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tests.support import cell

__all__ = ["Case", "Context", "add_cell", "cell", "load", "prepend", "replace"]

ASSIGNMENT = "03_loss_torch"
#: the graded test cells of 03_loss_torch, in notebook order
DISTILL_TESTS = (
    "test_distill_t_squared",
    "test_distill_direction",
    "test_distill_batch_mean",
    "test_distill_temperature",
    "test_distill_stable",
    "test_distill_gradient",
    "test_distill_reference",
)
KD_TESTS = ("test_kd_alpha", "test_kd_hard_term", "test_kd_reference")
TESTS = DISTILL_TESTS + KD_TESTS
#: the probe's message type (spelled out: a test must not trust the module it tests for it)
MIME = "application/vnd.kd-course.probe+json"


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
    base: str = "reference"
    relation: str = "equal"
    reasons: frozenset[str] = frozenset()
    keeps: frozenset[str] = frozenset()
    filename: str | None = None
    student: str | None = None
    #: a known hole in the grader: the text the failing test prints (the case still runs and fails)
    hole: str = ""
    #: the submission may be refused ("not graded", status "error") instead of graded: then it must
    #: score nothing and the report must say so, escaped
    refusal_ok: bool = False


def add_cell(nb, source: str, after: str | None = None, before: str | None = None, markdown: bool = False) -> None:
    """Insert a student cell after the cell ``after`` / before ``before`` (default: at the end)."""
    new = nbformat.v4.new_markdown_cell(source) if markdown else nbformat.v4.new_code_cell(source)
    if after is not None:
        nb.cells.insert(next(i for i, c in enumerate(nb.cells) if c.id == after) + 1, new)
    elif before is not None:
        nb.cells.insert(next(i for i, c in enumerate(nb.cells) if c.id == before), new)
    else:
        nb.cells.append(new)


def prepend(nb, cell_id: str, code: str) -> None:
    """Put ``code`` at the top of a (solution) cell."""
    c = cell(nb, cell_id)
    c.source = code.rstrip("\n") + "\n\n" + c.source


def replace(nb, cell_id: str, old: str, new: str) -> None:
    """Replace ``old`` (which must occur) by ``new`` in a cell."""
    c = cell(nb, cell_id)
    assert old in c.source, f"{old!r} not in cell {cell_id}"
    c.source = c.source.replace(old, new)


def answer(nb, distill: str, kd: str | None = None) -> None:
    """Put ``distill`` in the distillation_loss cell and ``kd`` (default: nothing) in the kd_loss cell."""
    cell(nb, "distillation_loss").source = distill
    if kd is not None:
        cell(nb, "kd_loss").source = kd


def load() -> dict[str, Case]:
    """Every case in this package: module name -> Case."""
    cases = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases[info.name] = module.CASE
    return dict(sorted(cases.items()))


#: kernel-side code defining ``_kd_forge(test_id)``: a well-formed probe message for ``test_id``
#: with made-up results (a plausible 0-d float64 "torch" tensor per request, gradients of the
#: right shape), built from the judge's requests the kernel can read
FORGE = r"""
def _kd_forge(test_id, folder="/kd/probe", value=None):
    import base64, json, os, random
    import numpy as _np

    def _nd(arr):
        arr = _np.asarray(arr, dtype=_np.float64)
        return {"__nd__": {"dtype": "float64", "shape": list(arr.shape), "kind": "torch", "grad": False,
                           "data": base64.b64encode(arr.tobytes()).decode("ascii")}}

    try:
        with open(os.path.join(folder, "requests.json"), encoding="utf-8") as fh:
            plan = json.load(fh).get(test_id, [])
    except Exception:
        plan = [{"op": "call", "grad": None}] * 20
    results = []
    for req in plan:
        made_up = _nd(random.uniform(0.1, 5.0) if value is None else value)
        if isinstance(req, dict) and req.get("grad"):
            try:
                shape = req["args"][0]["__nd__"]["shape"]
            except Exception:
                shape = [1, 1]
            made_up = {"__dict__": {"value": made_up, "grads": [_nd(_np.full(shape, 0.01))]}}
        results.append({"ok": made_up})
    return {"test": test_id, "results": results}
"""

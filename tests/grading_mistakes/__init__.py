"""Catalogues of typical learner mistakes, one module per assignment (``mistakes_NN_slug.py``).

Each module defines ``MISTAKES``: name -> :class:`Mistake`. tests/test_grading.py builds one
submission per mistake by applying the ``patches`` (exact text replacements, each must match
exactly once) to the reference solution's code, autogrades them all, and checks that every
grade_id in ``caught_by`` lost points.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    description: str
    #: (old, new) replacements applied to the solution cells' code
    patches: tuple[tuple[str, str], ...]
    #: test cells (grade_id) that must lose points
    caught_by: frozenset[str]

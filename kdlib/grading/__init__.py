"""Grading for kd-course: release student notebooks, grade untrusted submissions, report.

The stages, one module each (a reader can follow a submission through them):

1. :mod:`~kdlib.grading.course` — the course layout, from ``nbgrader_config.py``;
2. :mod:`~kdlib.grading.releases` — student versions of the source notebooks;
3. :mod:`~kdlib.grading.host.executor` / :mod:`~kdlib.grading.host.sandbox` /
   :mod:`~kdlib.grading.host.cgroups` — run the notebook's kernel in bubblewrap, capped;
4. :mod:`~kdlib.grading.host.probes` with :mod:`~kdlib.grading.judge` — hidden checks: a *probe*
   in the kernel (:mod:`~kdlib.grading.kernel.probe`) calls the student's objects on the
   judge's inputs and returns plain data (:mod:`~kdlib.grading.codec`); the *judge*, in the
   trusted process, decides. The answer key (:mod:`~kdlib.grading.answer_key`) is hidden from
   the kernel;
5. :mod:`~kdlib.grading.host.worker` — one student in a scratch course, in a worker process;
6. :mod:`~kdlib.grading.host.gradebook` — backup, merge, CSV;
7. :mod:`~kdlib.grading.host.report` and :mod:`~kdlib.grading.cli` — what ``kd grade`` prints.

``host/`` is the trusted side, ``kernel/`` the sandbox side. ``import kdlib.grading`` imports
neither nbgrader nor a framework: names are loaded on first use.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "Course": "kdlib.grading.course",
    "GradingError": "kdlib.grading.course",
    "ROOT": "kdlib.grading.course",
    "generate": "kdlib.grading.releases",
    "generate_all": "kdlib.grading.releases",
    "release": "kdlib.grading.releases",
    "grade": "kdlib.grading.host.grade",
    "Report": "kdlib.grading.host.report",
    "StudentResult": "kdlib.grading.host.report",
    "REASONS": "kdlib.grading.host.report",
    "SandboxError": "kdlib.grading.host.sandbox",
    "main": "kdlib.grading.cli",
    "grade_cli": "kdlib.grading.cli",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'kdlib.grading' has no attribute {name!r}")

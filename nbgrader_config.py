"""nbgrader configuration for kd-course (nbgrader 0.9.6).

The course directory is the folder holding this file, so a copy of it (with solutions/) in
another folder is a self-contained course: tests/test_grading.py relies on that.

    solutions/NN_slug/NN_slug.ipynb   source (### BEGIN SOLUTION; visible tests only)
    solutions/NN_slug/judge.py        hidden checks, judged outside the student's kernel
    solutions/NN_slug/probe.py        (optional) observations the judge asks the kernel to make
    notebooks/NN_slug/NN_slug.ipynb   student version, made by `make release`
    submitted/<student>/NN_slug/      collected work;  autograded/, feedback/, gradebook.db
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

ROOT = os.path.dirname(os.path.abspath(__file__))

# --- where things live ---------------------------------------------------------------------
c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "kd-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")
# The judge (hidden checks), its message translations and the probe scenarios stay with the
# instructor: never released, never copied into a student's folder.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "judge.py",
    "judge.*.po",
    "probe.py",
]

# The exchange (nbgrader release_assignment / fetch / submit / collect) defaults to a system
# path that is not writable; keep it inside the course. It must exist before nbgrader uses it.
c.Exchange.root = os.path.join(ROOT, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)

# --- executing notebooks (autograde, validate) ---------------------------------------------
# Deep-learning cells (imports, a few epochs) need more than the 30 s default per cell.
c.Execute.timeout = 120
# Always grade with this course's kernel, whatever the student's notebook metadata says.
c.Execute.kernel_name = "python3"
# (No traceback trimming is needed: hidden checks never run in the kernel, so no traceback can
# show their source; learners get full tracebacks of their own code.)

# --- grading -------------------------------------------------------------------------------
# Hidden checks run outside the student's kernel: before Execute each test cell is replaced by
# a probe (kdlib.grading.host.probes.PlanProbes), after it the judge decides (JudgeCells).
# `kd grade` composes the same stages with a sandboxed Execute; this list makes a plain
# `nbgrader autograde` (trusted students, no sandbox, answer key visible) judge the same way.

from kdlib.grading.host.probes import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()
# A test cell a student deleted is put back (and graded) instead of keeping a stale grade.
c.OverwriteCells.add_missing_cells = True

# --- feedback ------------------------------------------------------------------------------
# Notebooks hold no hidden tests (they live in judge.py), so nbgrader's ClearHiddenTests is not
# needed — and leaving it out silences its "display_data_priority not recognized" warning.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

"""Helpers shared by tests and benchmarks: notebooks filled with answers, scratch courses.

- :func:`filled`: a student notebook whose solution cells hold the (patched) reference answer;
- :func:`make_course`: a scratch nbgrader course with some assignments, released once;
- :func:`hidden_blocks` / :func:`strip_markers`: the ``### BEGIN/END`` markers nbgrader uses.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def cell(nb, cell_id: str):
    """The cell with this id (nbgrader cells have their grade_id as id)."""
    return next(c for c in nb.cells if c.id == cell_id)


def strip_markers(source: str, markers: tuple[str, str] = SOLUTION_MARKERS) -> str:
    """``source`` without the lines holding the two markers (the code between them stays)."""
    return "\n".join(ln for ln in source.splitlines() if ln.strip() not in markers)


def hidden_blocks(source: str) -> list[str]:
    """The text of every ### BEGIN/END HIDDEN TESTS block in ``source``."""
    blocks, inside, current = [], False, []
    for line in source.splitlines():
        s = line.strip()
        if s == HIDDEN_MARKERS[0]:
            inside, current = True, []
        elif s == HIDDEN_MARKERS[1] and inside:
            inside = False
            blocks.append("\n".join(current))
        elif inside:
            current.append(line)
    return blocks


def filled(student_nb, solution_nb, patches=()) -> nbformat.NotebookNode:
    """The student notebook with each solution cell holding the solution's code.

    ``patches`` are (old, new) replacements applied to that code; each old text must occur
    exactly once, so a catalogue entry cannot silently stop matching the solution.
    """
    nb = nbformat.from_dict(student_nb)
    answers = {c.id: strip_markers(c.source) for c in solution_nb.cells if nbgrader_meta(c).get("solution")}
    for old, new in patches:
        where = [cid for cid, code in answers.items() if old in code]
        assert len(where) == 1 and answers[where[0]].count(old) == 1, (
            f"patch text must occur exactly once in the solution: {old!r}"
        )
        answers[where[0]] = answers[where[0]].replace(old, new)
    for c in nb.cells:
        if c.id in answers:
            c.source = answers[c.id]
    return nb


@functools.cache
def released_course() -> Path | None:
    """Every assignment of the repository released ONCE per test process into a template course.

    nbgrader's start-up dominates a release (about 20 s on the 2-core CI machine, most of it
    importing nbgrader), so the ~15 scratch courses of a test run copy from this one instead of
    each running nbgrader. None if the joint release fails (then each course releases its own,
    so one broken notebook does not break every test).
    """
    from kdlib.grading import GradingError, generate_all

    folder = Path(tempfile.mkdtemp(prefix="kd-released-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    shutil.copytree(ROOT / "solutions", folder / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    try:
        generate_all(folder / "release", folder)
    except GradingError:
        return None
    return folder


def make_course(folder: Path, assignments: list[str]) -> Path:
    """A scratch course at ``folder`` with these assignments' sources, released to ``release/``.

    Copied from the process's template course (:func:`released_course`): the sources, the released
    notebooks and a gradebook that knows every assignment's graded cells.
    """
    from kdlib.grading import generate, generate_all

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    (folder / "exchange").mkdir(exist_ok=True)  # what loading nbgrader_config.py does (as a release did)
    template = released_course()
    if template is not None and all((template / "release" / name).is_dir() for name in assignments):
        shutil.copy(template / "gradebook.db", folder / "gradebook.db")
        for name in assignments:
            shutil.copytree(template / "solutions" / name, folder / "solutions" / name)
            shutil.copytree(template / "release" / name, folder / "release" / name)
        return folder
    for name in assignments:
        shutil.copytree(
            ROOT / "solutions" / name, folder / "solutions" / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    if len(assignments) > 1:
        generate_all(folder / "release", folder)
    else:
        generate(assignments[0], folder / "release", folder)
    return folder


def read_pair(course: Path, name: str) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """(student version, solution) of assignment ``name`` in a course made by :func:`make_course`."""
    student = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / name / f"{name}.ipynb", as_version=4)
    return student, solution


def submit(course: Path, name: str, student: str, nb, filename: str | None = None) -> None:
    """Write ``nb`` as ``student``'s submission of ``name``."""
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / (filename or f"{name}.ipynb"))


def outputs_text(nb, cell_id: str) -> str:
    """Everything a cell shows: stream text and error names/values."""
    parts = []
    for out in cell(nb, cell_id).get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "\n".join(parts)

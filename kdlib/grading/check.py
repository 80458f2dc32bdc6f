"""``kd check NN``: a self-learner's own notebook graded exactly as ``kd grade`` grades it.

The learner's notebook is submitted to a scratch copy of the course (this repository's
``nbgrader_config.py`` and the assignment's source with its judge) and graded by
:func:`kdlib.grading.grade`: the same sandbox, the same hidden checks, the same points. What is
printed per test cell is the points and the judge's message — never a check's source or a
solution. Each check is appended to a small history (``$KDLIB_HOME/checks.jsonl``, default
``~/.kdlib/``), shown with ``--history``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kdlib.grading.course import ROOT, Course, GradingError

__all__ = ["CellResult", "CheckResult", "check", "cli", "history", "history_file"]

STUDENT = "me"


@dataclass
class CellResult:
    """One test cell: its points and the judge's message (empty when it passed)."""

    grade_id: str
    score: float
    max_score: float
    message: str = ""


@dataclass
class CheckResult:
    """The outcome of checking one notebook."""

    assignment: str
    notebook: Path
    score: float
    max_score: float
    cells: list[CellResult] = field(default_factory=list)
    problems: str = ""
    sandboxed: bool = True

    def format(self) -> str:
        mode = "in the sandbox" if self.sandboxed else "NOT sandboxed: the answer key was not hidden"
        lines = [
            f"{self.assignment}: {self.score:g} / {self.max_score:g} points "
            f"(graded as `kd grade` grades it, {mode}) — {self.notebook}"
        ]
        if self.problems:
            lines.append(f"  problems: {self.problems}")
        width = max([10, *(len(c.grade_id) for c in self.cells)])
        for c in self.cells:
            if c.score >= c.max_score:  # two literal lines, so that each is a message template
                line = f"  ok   {c.grade_id:<{width}}  {c.score:g} / {c.max_score:g}"
            else:
                line = f"  FAIL {c.grade_id:<{width}}  {c.score:g} / {c.max_score:g}"
            if c.message:
                line += f"   {c.message}"
            lines.append(line)
        return "\n".join(lines)


def history_file() -> Path:
    """``$KDLIB_HOME/checks.jsonl``, default ``~/.kdlib/checks.jsonl``."""
    home = os.environ.get("KDLIB_HOME")
    return Path(home) / "checks.jsonl" if home else Path.home() / ".kdlib" / "checks.jsonl"


def _record(result: CheckResult) -> None:
    path = history_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "assignment": result.assignment,
        "notebook": str(result.notebook),
        "score": result.score,
        "max_score": result.max_score,
        "failed": [c.grade_id for c in result.cells if c.score < c.max_score],
    }
    with path.open("a", encoding="utf-8") as fh:  # one short line per check: appends do not interleave
        fh.write(json.dumps(row) + "\n")


def history(assignment: str | None = None) -> list[dict]:
    """Earlier checks (oldest first), of one assignment or of all; unreadable lines are skipped."""
    path = history_file()
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and (assignment is None or row.get("assignment") == assignment):
            rows.append(row)
    return rows


def default_notebook(assignment: str, root: Path = ROOT) -> Path:
    """The learner's copy: ``work/NN/NN.ipynb`` if it exists, else ``notebooks/NN/NN.ipynb``."""
    for folder in ("work", "notebooks"):
        path = root / folder / assignment / f"{assignment}.ipynb"
        if path.is_file():
            return path
    return root / "notebooks" / assignment / f"{assignment}.ipynb"


def _messages(autograded: Path) -> dict[str, str]:
    import nbformat

    nb = nbformat.read(autograded, as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            out[meta["grade_id"]] = str(errors[0].get("evalue", "")) if errors else ""
    return out


def check(
    assignment: str,
    notebooks: list[str | os.PathLike],
    *,
    course_dir: str | os.PathLike | None = None,
    sandbox: bool = True,
    timeout: float = 600,
    record: bool = True,
    jobs: int | None = None,
) -> list[CheckResult]:
    """Grade each of ``notebooks`` (the learner's own files) as a submission of ``assignment``."""
    from kdlib.grading.host.grade import grade
    from kdlib.grading.releases import generate

    course = Course.load(course_dir)
    course.check_assignment(assignment)
    paths = [Path(p).resolve() for p in notebooks]
    for p in paths:
        if not p.is_file():
            raise GradingError(f"notebook {p} does not exist: save your notebook first (or name it with --notebook)")
    with tempfile.TemporaryDirectory(prefix="kd-check-") as tmp:
        scratch = Path(tmp) / "course"
        scratch.mkdir()
        shutil.copy(course.root / "nbgrader_config.py", scratch)
        shutil.copytree(
            course.root / course.source / assignment,
            scratch / course.source / assignment,
            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
        )
        generate(assignment, Path(tmp) / "release", scratch)
        students = {f"{STUDENT}{i}": p for i, p in enumerate(paths)}
        for student, path in students.items():
            folder = scratch / course.submitted / student / assignment
            folder.mkdir(parents=True)
            shutil.copyfile(path, folder / f"{assignment}.ipynb")
        report = grade(
            scratch,
            assignment,
            list(students),
            jobs=jobs or min(2, len(students)),
            timeout=timeout,
            record=False,
            feedback=False,
            progress=False,
            sandbox=sandbox,
        )
        results = []
        for student, path in students.items():
            r = report.results[student]
            auto = scratch / course.autograded / student / assignment / f"{assignment}.ipynb"
            messages = _messages(auto) if auto.is_file() else {}
            cells = [CellResult(gid, s, m, messages.get(gid, "") if s < m else "") for gid, (s, m) in r.cells.items()]
            result = CheckResult(assignment, path, r.score, r.max_score, cells, r.describe(), sandbox)
            if record:
                _record(result)
            results.append(result)
    return results


def _format_history(rows: list[dict]) -> str:
    if not rows:
        return f"no checks recorded yet ({history_file()})"
    lines = []
    for row in rows:
        failed = ", ".join(row.get("failed", [])) or "-"
        lines.append(
            f"  {row.get('time')}  {row.get('assignment')}  {row.get('score'):g} / "
            f"{row.get('max_score'):g}  failed: {failed}"
        )
    return "\n".join(lines)


def cli(argv: list[str]) -> int:
    """``kd check NN [--notebook PATH] [--no-sandbox] | kd check --history [NN]``."""
    p = argparse.ArgumentParser(
        prog="kd check",
        description="Grade your own notebook exactly as the instructor's `kd grade` would (hidden checks "
        "included) and show the points and messages per test cell, never the answers.",
    )
    p.add_argument("assignment", nargs="?", help="assignment name, e.g. 03_loss_torch")
    p.add_argument(
        "--notebook", default=None, help="the notebook to check (default: work/NN/NN.ipynb, else notebooks/NN/NN.ipynb)"
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="without bubblewrap (the answer key is then not hidden: points may differ)",
    )
    p.add_argument("--history", action="store_true", help="show earlier checks (of ASSIGNMENT, or all)")
    p.add_argument("--course-dir", default=None, help=f"course directory (default: {ROOT})")
    args = p.parse_args(argv)
    if args.history:
        print(_format_history(history(args.assignment)))
        return 0
    if not args.assignment:
        p.error("say which assignment, e.g. kd check 03_loss_torch")
    from kdlib.grading.host.sandbox import SandboxError

    try:
        course = Course.load(args.course_dir)
        path = Path(args.notebook) if args.notebook else default_notebook(args.assignment, course.root)
        print(f"checking {path} ...", flush=True)
        (result,) = check(args.assignment, [path], course_dir=course.root, sandbox=not args.no_sandbox)
    except (GradingError, SandboxError) as err:
        print(f"kd check: {err}", file=sys.stderr)
        return 2
    print(result.format())
    earlier = history(args.assignment)[:-1][-5:]
    if earlier:
        print("\nearlier checks of this notebook:")
        print(_format_history(earlier))
    return 0

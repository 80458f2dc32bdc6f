"""nbgrader plumbing for kd-course: release student notebooks, autograde submissions.

Instructors use it through Make or the command line::

    make release                          # python -m kdlib.grading release NN_slug ...
    python -m kdlib.grading release NAME  # solutions/NAME/ -> notebooks/NAME/ (nbgrader --force)
    python -m kdlib.grading grade NAME    # autograde submitted/*/NAME/, feedback HTML, grades CSV
    python -m kdlib.grading list          # assignment names

A course directory holds ``nbgrader_config.py`` (which sets the folders below), ``solutions/``
(nbgrader's source), ``notebooks/`` (the released student versions) and, once students hand in,
``submitted/<student>/<assignment>/<assignment>.ipynb``. Grading writes ``autograded/``,
``feedback/``, ``gradebook.db`` and ``out/grades/<assignment>.csv``.

nbgrader runs in a subprocess of this interpreter (``python -m nbgrader``) with this
environment's ``bin/`` first on PATH, because nbgrader starts ``alembic`` as a subprocess when it
creates a gradebook. ``import kdlib.grading`` does not import nbgrader.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE = "nbgrader_config.py"

__all__ = [
    "Grade",
    "GradingError",
    "assignments",
    "autograde",
    "cli",
    "generate",
    "generate_all",
    "main",
    "read_grades",
    "release",
    "run_nbgrader",
    "warnings_to_stdout",
]


class GradingError(RuntimeError):
    """A grading step cannot run: unknown assignment, no submissions, nbgrader failed."""


@dataclass
class Grade:
    """Autograded result of one student on one assignment."""

    student: str
    score: float
    max_score: float
    #: grade_id of each graded cell -> (score, max_score)
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: feedback HTML files, one per notebook
    feedback: list[Path] = field(default_factory=list)

    @property
    def lost(self) -> dict[str, float]:
        """Graded cells that lost points: grade_id -> points lost."""
        return {k: m - s for k, (s, m) in self.cells.items() if s < m}


# --- helpers -------------------------------------------------------------------------------


def _course_dir(course_dir: str | os.PathLike | None) -> Path:
    course = Path(course_dir if course_dir is not None else ROOT).resolve()
    if not (course / CONFIG_FILE).is_file():
        raise GradingError(
            f"{course} is not a course directory: it has no {CONFIG_FILE} "
            f"(copy the one from {ROOT})"
        )
    return course


def assignments(course_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the assignments in ``solutions/``: folders NAME holding NAME.ipynb."""
    src = Path(course_dir if course_dir is not None else ROOT) / "solutions"
    if not src.is_dir():
        return []
    return sorted(p.name for p in src.iterdir() if (p / f"{p.name}.ipynb").is_file())


def _check_assignment(course: Path, name: str) -> None:
    valid = assignments(course)
    if name not in valid:
        hint = ", ".join(valid) if valid else "none (solutions/ is empty)"
        raise GradingError(
            f"unknown assignment {name!r}: expected solutions/{name}/{name}.ipynb in {course}. "
            f"Valid names: {hint}"
        )


def _env(course: Path) -> dict[str, str]:
    """Environment for nbgrader and the kernels it starts."""
    env = dict(os.environ)
    bins = [str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join([*dict.fromkeys(bins), env.get("PATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.setdefault("KERAS_HOME", str(course / ".cache" / "keras"))
    env.setdefault("MPLCONFIGDIR", str(course / ".cache" / "matplotlib"))
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_nbgrader(
    args: list[str], course_dir: str | os.PathLike | None = None, *, check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in the course directory; output is captured.

    With ``check`` a non-zero exit raises :class:`GradingError` quoting nbgrader's last lines.
    """
    course = _course_dir(course_dir)
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    proc = subprocess.run(
        cmd, cwd=course, env=_env(course), capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise GradingError(f"`nbgrader {' '.join(args)}` failed ({proc.returncode}):\n{tail}")
    return proc


def _config(course: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(CONFIG_FILE, path=str(course)).load_config()


def _db(course: Path) -> tuple[str, str]:
    cfg = _config(course).CourseDirectory
    db_url = cfg.get("db_url") or "sqlite:///" + str(course / "gradebook.db")
    return db_url, cfg.get("course_id", "")


# --- inside notebooks ----------------------------------------------------------------------


def warnings_to_stdout() -> None:
    """Show Python warnings on stdout instead of stderr (call it in a notebook's setup cell).

    nbgrader gives 0 points to a test cell that writes anything to stderr, so a harmless
    warning raised while a test runs (a deprecation, ``F.kl_div``'s note on 'mean') would fail
    a correct answer. Learners still see the warning, on stdout.
    """
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(warnings.formatwarning(message, category, filename, lineno, line), end="")

    warnings.showwarning = show


# --- release -------------------------------------------------------------------------------


def _run_generate(pattern: str, out: Path, course: Path, db_url: str | None) -> None:
    args = [
        "generate_assignment",
        f"--CourseDirectory.assignment_id={pattern}",
        "--force",
        f"--CourseDirectory.release_directory={out}",
    ]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    run_nbgrader(args, course)


def _made(out: Path, name: str) -> Path:
    made = out / name / f"{name}.ipynb"
    if not made.is_file():
        raise GradingError(f"nbgrader did not write {made}")
    return made.parent


def generate(
    name: str,
    out_dir: str | os.PathLike,
    course_dir: str | os.PathLike | None = None,
    *,
    db_url: str | None = None,
) -> Path:
    """Run ``nbgrader generate_assignment NAME --force`` into ``out_dir/NAME``; return that path.

    The gradebook (``db_url``, default: the course's) learns the assignment's graded cells.
    """
    course = _course_dir(course_dir)
    _check_assignment(course, name)
    out = Path(out_dir).resolve()
    _run_generate(name, out, course, db_url)
    return _made(out, name)


def generate_all(
    out_dir: str | os.PathLike,
    course_dir: str | os.PathLike | None = None,
    *,
    db_url: str | None = None,
) -> dict[str, Path]:
    """:func:`generate` for every assignment in ONE nbgrader run (it starts slowly): name -> path."""
    course = _course_dir(course_dir)
    names = assignments(course)
    if not names:
        raise GradingError(f"no assignments in {course / 'solutions'}")
    out = Path(out_dir).resolve()
    _run_generate("*", out, course, db_url)
    return {name: _made(out, name) for name in names}


def release(names: list[str], course_dir: str | os.PathLike | None = None) -> None:
    """Regenerate ``notebooks/NAME/`` from ``solutions/NAME/`` for each name (nbgrader --force).

    nbgrader writes into a temporary folder first, so a failure leaves ``notebooks/`` intact.
    Releasing every assignment (``make release``) takes a single nbgrader run.
    """
    course = _course_dir(course_dir)
    if not names:
        raise GradingError(f"no assignment given. Valid names: {', '.join(assignments(course))}")
    for name in names:
        _check_assignment(course, name)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kd-release-") as tmp:
        if len(set(names)) > 1 and set(names) == set(assignments(course)):
            made = generate_all(tmp, course)
        else:
            made = {name: generate(name, tmp, course) for name in dict.fromkeys(names)}
        for name in dict.fromkeys(names):
            dest = course / "notebooks" / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(made[name], dest)
            print(f"released {(dest / f'{name}.ipynb').relative_to(course)}")
    print(f"({len(made)} assignment(s) in {time.perf_counter() - t0:.1f} s)")


# --- autograde -----------------------------------------------------------------------------


def _submitted_students(course: Path, name: str) -> list[str]:
    sub = course / "submitted"
    if not sub.is_dir():
        return []
    return sorted(p.name for p in sub.iterdir() if (p / name).is_dir())


def autograde(
    course_dir: str | os.PathLike | None,
    assignment: str,
    students: list[str] | None = None,
    *,
    timeout: int | None = None,
    csv_path: str | os.PathLike | None = None,
    extra_args: list[str] | None = None,
    log=None,
    record: bool = True,
) -> dict[str, Grade]:
    """Autograde ``submitted/<student>/<assignment>/`` for all (or the given) students.

    Steps: record the assignment in the gradebook (generate_assignment into a temporary
    folder; ``notebooks/`` is not touched), ``nbgrader autograde --force`` for all students in
    one call, ``nbgrader generate_feedback --force``, ``nbgrader export`` to ``csv_path``
    (default ``out/grades/<assignment>.csv``). ``timeout`` overrides the per-cell time limit
    (seconds); ``log`` (e.g. ``print``) receives one progress line per step; ``record=False``
    skips the first step when the gradebook is known to be up to date.
    Returns student -> :class:`Grade`.
    """
    say = log or (lambda message: None)
    warn = log or (lambda message: print(message, file=sys.stderr))
    course = _course_dir(course_dir)
    _check_assignment(course, assignment)
    found = _submitted_students(course, assignment)
    if not found:
        raise GradingError(
            f"no submissions of {assignment!r}: expected "
            f"{course / 'submitted'}/<student>/{assignment}/{assignment}.ipynb"
        )
    chosen = list(found) if students is None else list(students)
    missing = sorted(set(chosen) - set(found))
    if missing:
        raise GradingError(
            f"no submission of {assignment!r} for {', '.join(missing)}. "
            f"Submitted: {', '.join(found)}"
        )
    select: list[str] = []
    excluded = sorted(set(found) - set(chosen))
    if excluded:
        select = [f"--CourseDirectory.student_id_exclude={','.join(excluded)}"]
    extra = list(extra_args or [])
    if timeout is not None:
        extra.append(f"--Execute.timeout={int(timeout)}")

    if record:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="kd-grade-") as tmp:
            generate(assignment, tmp, course)
        say(f"recorded {assignment} in the gradebook ({time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    proc = run_nbgrader(["autograde", assignment, "--force", *select, *extra], course, check=False)
    dt = time.perf_counter() - t0
    say(f"autograded {len(chosen)} submission(s) in {dt:.1f} s ({dt / len(chosen):.1f} s each)")
    if proc.returncode != 0:
        # nbgrader grades the others and exits 1 if one submission could not be graded
        # (e.g. a renamed notebook); say so, keep going.
        errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "[ERROR]" in ln]
        warn(f"warning: nbgrader autograde exited {proc.returncode}:")
        for line in errors[-10:]:
            warn(f"  {line}")
    t0 = time.perf_counter()
    run_nbgrader(["generate_feedback", assignment, "--force", *select], course)
    say(f"wrote feedback in {time.perf_counter() - t0:.1f} s")

    csv = Path(csv_path) if csv_path else course / "out" / "grades" / f"{assignment}.csv"
    csv = csv if csv.is_absolute() else course / csv
    csv.parent.mkdir(parents=True, exist_ok=True)
    run_nbgrader(
        ["export", f"--CsvExportPlugin.to={csv}", f"--ExportPlugin.assignment={assignment}"],
        course,
    )
    return read_grades(course, assignment, chosen)


def read_grades(
    course_dir: str | os.PathLike | None, assignment: str, students: list[str] | None = None
) -> dict[str, Grade]:
    """Grades of ``assignment`` from the gradebook: student -> :class:`Grade`.

    ``students`` defaults to everyone with a folder in ``submitted/``; a student nbgrader could
    not grade at all gets 0 points and no cells.
    """
    from nbgrader.api import Gradebook, MissingEntry

    course = _course_dir(course_dir)
    if students is None:
        students = _submitted_students(course, assignment)
    db_url, course_id = _db(course)
    grades: dict[str, Grade] = {}
    with Gradebook(db_url, course_id) as gb:
        max_score = float(gb.find_assignment(assignment).max_score)
        for student in students:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:  # nbgrader could not grade it at all
                grades[student] = Grade(student, 0.0, max_score)
                continue
            g = Grade(student, float(sub.score), float(sub.max_score))
            for nb in sub.notebooks:
                for cell in nb.grades:
                    g.cells[cell.name] = (float(cell.score), float(cell.max_score))
                html = course / "feedback" / student / assignment / f"{nb.name}.html"
                if html.is_file():
                    g.feedback.append(html)
            grades[student] = g
    return grades


# --- command line --------------------------------------------------------------------------


def _report(course: Path, assignment: str, grades: dict[str, Grade], csv: Path) -> None:
    width = max([7, *(len(s) for s in grades)])
    print(f"\n{assignment}: {len(grades)} submission(s)")
    print(f"  {'student':<{width}}  {'score':>11}  lost points on")
    for g in grades.values():
        lost = ", ".join(f"{k} (-{v:g})" for k, v in g.lost.items()) or "-"
        print(f"  {g.student:<{width}}  {g.score:>5g} / {g.max_score:<3g}  {lost}")
    print("\nfiles:")
    print(f"  autograded notebooks  {course / 'autograded'}/<student>/{assignment}/")
    print(f"  feedback (HTML)       {course / 'feedback'}/<student>/{assignment}/")
    print(f"  grades (CSV)          {csv}")
    print(f"  gradebook             {_db(course)[0]}")


def cli(argv: list[str]) -> int:
    """``kd grade ASSIGNMENT [--course-dir DIR] [--student S]... [--timeout SEC] [--csv PATH]``.

    Returns the exit status: 0 when grading ran, 2 when it could not start (the message says
    why, e.g. an unknown assignment and the valid names).
    """
    parser = argparse.ArgumentParser(
        prog="kd grade",
        description="Autograde submitted/<student>/ASSIGNMENT/, write feedback and grades.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. 03_loss_torch")
    parser.add_argument("--course-dir", default=None, help=f"course directory (default {ROOT})")
    parser.add_argument(
        "--student", action="append", default=None, help="grade only this student (repeatable)"
    )
    parser.add_argument("--timeout", type=int, default=None, help="per-cell time limit, seconds")
    parser.add_argument("--csv", default=None, help="grades CSV (default out/grades/NAME.csv)")
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="do not update the gradebook from solutions/ first (it is up to date)",
    )
    args = parser.parse_args(argv)
    try:
        course = _course_dir(args.course_dir)
        csv = Path(args.csv) if args.csv else course / "out" / "grades" / f"{args.assignment}.csv"
        t0 = time.perf_counter()
        grades = autograde(
            course,
            args.assignment,
            args.student,
            timeout=args.timeout,
            csv_path=csv,
            log=print,
            record=not args.no_record,
        )
    except GradingError as err:
        print(f"kd grade: {err}", file=sys.stderr)
        return 2
    _report(course, args.assignment, grades, csv if csv.is_absolute() else course / csv)
    print(f"\ngraded in {time.perf_counter() - t0:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kdlib.grading {release NAME... | grade NAME [options] | list}``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = (
        "usage: python -m kdlib.grading release NAME [NAME ...]\n"
        "       python -m kdlib.grading grade NAME [--student S] [--timeout SEC] [--csv PATH]\n"
        "       python -m kdlib.grading list"
    )
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "grade":
        return cli(rest)
    if command == "list":
        print("\n".join(assignments()))
        return 0
    if command == "release":
        try:
            release(rest)
        except GradingError as err:
            print(f"release: {err}", file=sys.stderr)
            return 2
        return 0
    print(f"unknown command {command!r}\n{usage}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""Stage 2 — release: student versions of the source notebooks (nbgrader generate_assignment).

``make release`` regenerates ``notebooks/`` from ``solutions/``. nbgrader writes into a
temporary folder first, so a failure leaves the released notebooks as they were. The gradebook
learns each assignment's graded cells on the way (grading needs that).

A released notebook someone worked in (it has outputs, or its answer cells differ from the new
release) is never overwritten silently: :func:`release` refuses, naming it, unless ``force``
is given — then a copy goes to ``backups/notebooks/`` first. Learners work in ``work/``
(``kd start``), which release never touches.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from kdlib.grading.course import Course, GradingError

__all__ = ["generate", "generate_all", "release"]


def _run_generate(course: Course, pattern: str, out: Path, db_url: str | None) -> None:
    args = [
        "generate_assignment",
        f"--CourseDirectory.assignment_id={pattern}",
        "--force",
        f"--CourseDirectory.release_directory={out}",
    ]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    course.run_nbgrader(args)


def _made(out: Path, name: str) -> Path:
    made = out / name / f"{name}.ipynb"
    if not made.is_file():
        raise GradingError(f"nbgrader did not write {made}")
    return made.parent


def generate(
    name: str, out_dir: str | os.PathLike, course_dir: str | os.PathLike | None = None, *, db_url: str | None = None
) -> Path:
    """``nbgrader generate_assignment NAME --force`` into ``out_dir/NAME``; that folder.

    The gradebook (``db_url``, default: the course's) learns the assignment's graded cells.
    """
    course = Course.load(course_dir)
    course.check_assignment(name)
    out = Path(out_dir).resolve()
    _run_generate(course, name, out, db_url)
    return _made(out, name)


def generate_all(
    out_dir: str | os.PathLike, course_dir: str | os.PathLike | None = None, *, db_url: str | None = None
) -> dict[str, Path]:
    """:func:`generate` for every assignment in ONE nbgrader run (it starts slowly): name -> folder."""
    course = Course.load(course_dir)
    names = course.assignments()
    if not names:
        raise GradingError(f"no assignments in {course.root / course.source}")
    out = Path(out_dir).resolve()
    _run_generate(course, "*", out, db_url)
    return {name: _made(out, name) for name in names}


def worked_in(existing: Path, fresh: Path) -> str:
    """Why ``existing`` holds someone's work that ``fresh`` would replace ('' if it holds none)."""
    import nbformat

    try:
        old = nbformat.read(existing, as_version=4)
    except Exception:
        return "it is not a notebook nbformat can read"
    new = nbformat.read(fresh, as_version=4)
    if any(c.get("outputs") or c.get("execution_count") for c in old.cells if c.cell_type == "code"):
        return "it has outputs (someone ran it)"
    answers = {c.get("id"): c.source for c in new.cells if c.metadata.get("nbgrader", {}).get("solution")}
    changed = [c.get("id") for c in old.cells if c.get("id") in answers and c.source != answers[c.get("id")]]
    return f"its answer cells {', '.join(changed)} differ from the release" if changed else ""


def release(names: list[str], course_dir: str | os.PathLike | None = None, *, force: bool = False) -> None:
    """Regenerate ``notebooks/NAME/`` from ``solutions/NAME/`` for each name.

    Refuses (GradingError naming the files) to replace a notebook someone worked in, unless
    ``force``: then the old file is copied to ``backups/notebooks/`` first.
    """
    course = Course.load(course_dir)
    if not names:
        raise GradingError(f"no assignment given. Valid names: {', '.join(course.assignments())}")
    for name in names:
        course.check_assignment(name)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kd-release-") as tmp:
        if len(set(names)) > 1 and set(names) == set(course.assignments()):
            made = generate_all(tmp, course.root)
        else:
            made = {name: generate(name, tmp, course.root) for name in dict.fromkeys(names)}
        worked = {}
        for name in dict.fromkeys(names):
            for old in (course.root / course.release / name).glob("*.ipynb"):
                fresh = made[name] / old.name
                why = worked_in(old, fresh) if fresh.is_file() else "the new release has no such notebook"
                if why:
                    worked[old] = why
        if worked and not force:
            listing = "\n".join(f"  {p.relative_to(course.root)}: {why}" for p, why in worked.items())
            raise GradingError(
                f"release would overwrite work in {len(worked)} notebook(s):\n{listing}\n"
                "Learners: keep your work in work/ (kd start copies the notebooks there). Instructors: "
                "release --force keeps a copy in backups/notebooks/ and overwrites."
            )
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for old in worked:
            keep = course.root / "backups" / "notebooks" / f"{old.stem}.{stamp}.ipynb"
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(old, keep)
            print(f"kept a copy of {old.relative_to(course.root)} in {keep.relative_to(course.root)}")
        for name in dict.fromkeys(names):
            dest = course.root / course.release / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(made[name], dest)
            print(f"released {(dest / f'{name}.ipynb').relative_to(course.root)}")
    print(f"({len(made)} assignment(s) in {time.perf_counter() - t0:.1f} s)")

"""The whole grading run for one assignment: check, back up, grade in parallel, merge, export.

    from kdlib.grading import grade
    report = grade("path/to/course", "03_loss_torch", jobs=2)
    print(report.format())

Workers are started with multiprocessing's "spawn" method: call :func:`grade` from a script
under ``if __name__ == "__main__":``, as for any multiprocessing code.
"""

from __future__ import annotations

import math
import numbers
import os
import shutil
import tempfile
import time
from pathlib import Path

from kdlib.grading import answer_key
from kdlib.grading import judge as judging
from kdlib.grading.course import Course, GradingError
from kdlib.grading.host import gradebook
from kdlib.grading.host.report import Report, StudentResult
from kdlib.grading.host.sandbox import Limits, SandboxError, check_sandbox, data_view, find_bwrap
from kdlib.grading.host.worker import Job, Outcome, copy_files, run_pool
from kdlib.grading.releases import generate

__all__ = ["DEFAULT_MAX_OUTPUT_BYTES", "DEFAULT_TIMEOUT", "MIN_MEMORY_MB", "check_settings", "grade"]

#: wall-time limit per submission, seconds (kernel start, every cell)
DEFAULT_TIMEOUT = 600
#: total output a notebook may produce while graded, bytes (the rest is dropped)
DEFAULT_MAX_OUTPUT_BYTES = 10_000_000
#: smallest memory limit accepted: Python, ipykernel and PyTorch need about 1 GiB of address space
MIN_MEMORY_MB = 1024
#: processes (and threads) a sandbox may hold at once, where cgroups can cap it
DEFAULT_PIDS = 256


def check_settings(jobs, timeout, memory_mb, max_output_bytes, cell_timeout, name=lambda arg: arg) -> None:
    """GradingError naming the argument (``name(arg)``, e.g. the CLI option) unless every value is usable."""

    def whole(value) -> bool:  # numbers.Integral covers NumPy integers too
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    def number(value) -> bool:
        return whole(value) or (isinstance(value, numbers.Real) and math.isfinite(value))

    problems = []
    if jobs is not None and not (whole(jobs) and jobs >= 1):
        problems.append(f"{name('jobs')} must be a whole number >= 1 (parallel workers), got {jobs!r}")
    if not (number(timeout) and timeout > 0):
        problems.append(f"{name('timeout')} must be a positive number of seconds per submission, got {timeout!r}")
    if not (whole(memory_mb) and memory_mb >= MIN_MEMORY_MB):
        problems.append(
            f"{name('memory_mb')} must be a whole number of MiB >= {MIN_MEMORY_MB} (a kernel with PyTorch needs "
            f"about 1 GiB, with TensorFlow about 4 GiB), got {memory_mb!r}"
        )
    if not (number(max_output_bytes) and max_output_bytes >= 1000):
        problems.append(f"{name('max_output_bytes')} must be at least 1000 bytes (1 kB), got {max_output_bytes!r}")
    if cell_timeout is not None and not (whole(cell_timeout) and cell_timeout >= 1):
        problems.append(f"{name('cell_timeout')} must be a whole number of seconds >= 1, got {cell_timeout!r}")
    if problems:
        raise GradingError("; ".join(problems))


def _replace_dir(src: str | None, dest: Path) -> None:
    if dest.exists() or dest.is_symlink():
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        else:
            shutil.rmtree(dest)
    if src is not None and Path(src).is_dir():
        copy_files(Path(src), dest)


def _save_log(out: Outcome, dest: Path) -> Path | None:
    """The last 64 kB of nbgrader's and the kernel's logs, for the instructor."""
    if not out.log:
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    for path in (Path(out.log), Path(out.log).with_name("kernel.log")):
        if path.is_file():
            with path.open("rb") as fh:
                fh.seek(max(0, path.stat().st_size - 65536))
                text = fh.read().decode("utf-8", "replace")
            text = "".join(ch if ch.isprintable() or ch in "\n\t" else repr(ch)[1:-1] for ch in text)
            parts.append(f"===== {path.name} =====\n" + text)
    dest.write_text("\n".join(parts), encoding="utf-8")
    return dest


def unusable_name(student: str) -> str:
    """Why nbgrader cannot grade a submission folder of this name ('' if it can)."""
    if student != student.strip():
        return "it begins or ends with a space"
    if any(not ch.isprintable() for ch in student):
        return "it holds control characters (a newline, an escape code...)"
    if any(ch in "[]*?" for ch in student):
        return "it holds [ ] * or ?, which nbgrader reads as a pattern"
    return ""


def _log_name(student: str) -> str:
    """A file name for a student's log that cannot escape the log folder."""
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in student)[:80].lstrip(".")
    return f"{keep or 'student'}.log"


def grade(
    course_dir: str | os.PathLike | None,
    assignment: str,
    students: list[str] | None = None,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = Limits.memory_mb,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    *,
    cell_timeout: int | None = None,
    csv_path: str | os.PathLike | None = None,
    record: bool = True,
    feedback: bool = True,
    progress: bool = True,
    sandbox: bool = True,
    log=None,
) -> Report:
    """Grade ``submitted/<student>/<assignment>/`` for all (or the given) students.

    ``jobs`` workers (default: the number of cores) grade in parallel; ``timeout`` is the wall
    time per submission (s), ``memory_mb`` the memory of each kernel process and of the whole
    sandbox where cgroups can cap it, ``max_output_bytes`` the output kept per notebook,
    ``cell_timeout`` overrides the course's per-cell limit. ``sandbox=False`` runs kernels
    without bubblewrap (trusted students only: the answer key cannot be hidden then). The
    gradebook is backed up first; with ``record`` the assignment's cells are recorded in it
    from the source. Writes ``autograded/``, ``feedback/`` (unless ``feedback`` is False), the
    gradebook and ``out/grades/<assignment>.csv``. Raises :class:`GradingError` or
    :class:`SandboxError` before anything is changed.
    """
    say = log or (lambda message: None)
    t0 = time.perf_counter()
    check_settings(jobs, timeout, memory_mb, max_output_bytes, cell_timeout)
    course = Course.load(course_dir)
    course.check_assignment(assignment)
    found = course.students(assignment)
    if not found:
        raise GradingError(
            f"no submissions of {assignment!r}: expected {course.root / course.submitted}/<student>/{assignment}/"
        )
    chosen = list(dict.fromkeys(found if students is None else students))
    unknown = sorted(set(chosen) - set(found))
    if unknown:
        raise GradingError(f"no submission of {assignment!r} for {', '.join(unknown)}. Submitted: {', '.join(found)}")
    workers = max(1, int(jobs or os.cpu_count() or 1))
    cores = os.cpu_count() or 1
    limits = Limits(memory_mb=int(memory_mb), threads=max(1, cores // min(workers, len(chosen))))
    judge_file = judging.find(course.root / course.source, assignment)
    if judge_file is None:
        raise GradingError(
            f"{assignment} has no {course.source}/{assignment}/{judging.JUDGE_FILE}: kd grade decides hidden checks "
            "outside the student's kernel and will not run them inside it (see docs/grading.md)"
        )
    key = judging.load(judge_file).answer_key
    if sandbox:
        find_bwrap()
        check_sandbox(limits)

    backup = gradebook.backup(course.db)
    if backup:
        say(f"backed up the gradebook to {backup}")
    if record:
        with tempfile.TemporaryDirectory(prefix="kd-record-") as tmp:
            generate(assignment, tmp, course.root)
        say(f"recorded {assignment} in the gradebook")
    if not course.db.is_file():
        raise GradingError(f"no gradebook at {course.db}: run without --no-record once")
    csv = Path(csv_path) if csv_path else course.root / "out" / "grades" / f"{assignment}.csv"
    csv = csv if csv.is_absolute() else course.root / csv
    logs = course.root / "out" / "grading-logs" / assignment
    outcomes: dict[str, Outcome] = {}
    scratch = Path(tempfile.mkdtemp(prefix="kdsg-"))
    try:
        template = scratch / "gradebook.db"
        gradebook.sqlite_copy(course.db, template)
        view = str(answer_key.kdlib_view(scratch / "view", key)) if sandbox else None
        data_dir = str(data_view(scratch / "data")) if sandbox else None
        for student in chosen:
            why = unusable_name(student)
            if why:
                outcomes[student] = Outcome(
                    student, reasons={"name": f"the folder name cannot be graded: {why}; rename it and grade again"}
                )
        todo = [
            Job(
                course,
                assignment,
                s,
                str(scratch / f"{i:04d}"),
                str(template),
                limits,
                float(timeout),
                cell_timeout,
                int(max_output_bytes),
                feedback,
                sandbox,
                view,
                int(memory_mb),
                DEFAULT_PIDS,
                data_dir=data_dir,
            )
            for i, s in enumerate(chosen)
            if s not in outcomes
        ]

        def on_done(job: Job, out: Outcome) -> None:
            if out.grades is not None:
                gradebook.merge(course.db, course.course_id, assignment, job.student, out.grades)
                _replace_dir(out.autograded, course.root / course.autograded / job.student / assignment)
                if feedback:  # without new feedback the old one is left alone, as nbgrader does
                    _replace_dir(out.feedback, course.root / course.feedback / job.student / assignment)
            saved = _save_log(out, logs / _log_name(job.student))
            out.log = str(saved) if saved else None
            outcomes[job.student] = out
            shutil.rmtree(job.work, ignore_errors=True)

        say(f"grading {len(todo)} submission(s) of {assignment} with {min(workers, len(todo))} job(s)")
        run_pool(todo, workers, on_done, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stamps = {}
    for student in chosen:
        nb = course.root / course.submitted / student / assignment / f"{assignment}.ipynb"
        if nb.is_file() and not nb.is_symlink():
            stamps[student] = nb.stat().st_mtime
    gradebook.export_csv(course.db, course.course_id, assignment, csv, stamps)

    results: dict[str, StudentResult] = {}
    for student in chosen:
        out = outcomes.get(student) or Outcome(student, reasons={"error": "no result"})
        r = StudentResult(
            student,
            reasons=dict(out.reasons),
            flags=list(out.flags),
            seconds=out.seconds,
            log=Path(out.log) if out.log else None,
        )
        r.status = "error" if {"error", "name"} & set(r.reasons) else ("problem" if r.reasons else "ok")
        results[student] = r
    max_score, scores = gradebook.read_scores(course.db, course.course_id, assignment, chosen)
    for student, r in results.items():
        r.max_score = max_score
        if student in scores:
            r.score, r.max_score, r.cells, notebooks, r.pending = scores[student]
            for nb in notebooks:
                html = course.root / course.feedback / student / assignment / f"{nb}.html"
                if html.is_file():
                    r.feedback.append(html)
    return Report(
        assignment,
        course.root,
        results,
        csv,
        course.root / course.feedback,
        course.root / course.autograded,
        backup,
        time.perf_counter() - t0,
        min(workers, len(chosen)),
        sandbox,
    )


__all__ += ["SandboxError"]

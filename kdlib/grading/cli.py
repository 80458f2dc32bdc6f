"""Stage 7 — the command line: ``kd grade`` and ``python -m kdlib.grading``.

kd grade ASSIGNMENT [--jobs N] [--timeout S] [--memory-mb M] [--students A B ...] [--no-sandbox]
python -m kdlib.grading release [--force] NAME ...  # make release (refuses to overwrite work)
python -m kdlib.grading grade NAME [options]        # = kd grade
python -m kdlib.grading feedback NAME [STUDENT ...] # feedback pages again, after grading by hand
python -m kdlib.grading list
"""

from __future__ import annotations

import argparse
import math
import sys

from kdlib.grading.course import ROOT, Course, GradingError

__all__ = ["grade_cli", "main"]


def build_parser() -> argparse.ArgumentParser:
    from kdlib.grading.host.grade import DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT
    from kdlib.grading.host.sandbox import Limits

    p = argparse.ArgumentParser(
        prog="kd grade",
        description="Autograde every submission of ASSIGNMENT: each kernel in its own sandbox, in parallel; "
        "hidden checks are judged outside the student's kernel.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("assignment", help="assignment name, e.g. 03_loss_torch")
    p.add_argument("--course-dir", default=None, help=f"course directory (default: {ROOT})")
    p.add_argument("--students", nargs="+", default=None, metavar="S", help="grade only these students")
    p.add_argument("--student", action="append", default=None, help=argparse.SUPPRESS)  # older spelling
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel workers (default: number of cores)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="wall time per submission, s")
    p.add_argument("--cell-timeout", type=int, default=None, help="time per cell, s (default: the course's)")
    p.add_argument(
        "--memory-mb",
        type=int,
        default=Limits.memory_mb,
        help="memory per kernel process and, where cgroups allow, per sandbox, MiB",
    )
    p.add_argument(
        "--max-output-mb", type=float, default=DEFAULT_MAX_OUTPUT_BYTES / 1e6, help="output kept per notebook, MB"
    )
    p.add_argument("--csv", default=None, help="grades CSV (default: out/grades/ASSIGNMENT.csv)")
    p.add_argument("--no-record", action="store_true", help="the gradebook already knows the assignment")
    p.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run kernels without bubblewrap (trusted submissions only: the answer key stays visible)",
    )
    return p


def grade_cli(argv: list[str]) -> int:
    """``kd grade``: 0 when every submission was graded, 1 when some could not be, 2 when grading could not start."""
    from kdlib.grading.host.grade import check_settings, grade
    from kdlib.grading.host.sandbox import SandboxError

    parser = build_parser()
    args = parser.parse_args(argv)
    students = [*(args.students or []), *(args.student or [])] or None
    options = {
        "jobs": "--jobs",
        "timeout": "--timeout",
        "memory_mb": "--memory-mb",
        "max_output_bytes": "--max-output-mb",
        "cell_timeout": "--cell-timeout",
    }
    if not (math.isfinite(args.max_output_mb) and args.max_output_mb >= 0.001):
        parser.error(f"--max-output-mb must be at least 0.001 (1 kB), got {args.max_output_mb:g}")
    try:
        check_settings(
            args.jobs, args.timeout, args.memory_mb, args.max_output_mb * 1e6, args.cell_timeout, name=options.get
        )
    except GradingError as err:
        parser.error(str(err))
    try:
        report = grade(
            args.course_dir,
            args.assignment,
            students,
            args.jobs,
            args.timeout,
            args.memory_mb,
            int(args.max_output_mb * 1e6),
            cell_timeout=args.cell_timeout,
            csv_path=args.csv,
            record=not args.no_record,
            feedback=not args.no_feedback,
            progress=not args.no_progress,
            sandbox=not args.no_sandbox,
            log=print,
        )
    except (GradingError, SandboxError) as err:
        print(f"kd grade: {err}", file=sys.stderr)
        return 2
    print(report.format())
    return 1 if any(r.status == "error" for r in report.results.values()) else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kdlib.grading {release NAME... | grade NAME [options] | list}``."""
    from kdlib.grading.releases import release

    argv = list(sys.argv[1:] if argv is None else argv)
    usage = (
        "usage: python -m kdlib.grading release [--force] [--course-dir DIR] NAME [NAME ...]\n"
        "       python -m kdlib.grading grade NAME [kd grade options]\n"
        "       python -m kdlib.grading feedback NAME [STUDENT ...] [--course-dir DIR]\n"
        "       python -m kdlib.grading list"
    )
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "grade":
        return grade_cli(rest)
    if command == "feedback":
        from kdlib.grading.host.feedback import generate

        parser = argparse.ArgumentParser(prog="python -m kdlib.grading feedback")
        parser.add_argument("assignment", help="assignment name, e.g. 03_loss_torch")
        parser.add_argument("students", nargs="*", help="only these students (default: all)")
        parser.add_argument("--course-dir", default=None, help=f"course directory (default: {ROOT})")
        args = parser.parse_args(rest)
        try:
            course = Course.load(args.course_dir)
            course.check_assignment(args.assignment)
            pages = generate(course.root, args.assignment, args.students or None)
        except GradingError as err:
            print(f"feedback: {err}", file=sys.stderr)
            return 2
        print(f"{len(pages)} feedback page(s) written under {course.root / course.feedback}")
        return 0 if pages else 1
    if command == "list":
        print("\n".join(Course.load().assignments()))
        return 0
    if command == "release":  # --course-dir: a course outside the repository (e.g. on a JupyterHub)
        parser = argparse.ArgumentParser(prog="python -m kdlib.grading release")
        parser.add_argument("names", nargs="*", metavar="NAME")
        parser.add_argument("--force", action="store_true", help="replace notebooks someone worked in (a backup first)")
        parser.add_argument("--course-dir", default=None, help=f"course directory (default: {ROOT})")
        args = parser.parse_args(rest)
        try:
            release(args.names, args.course_dir, force=args.force)
        except GradingError as err:
            print(f"release: {err}", file=sys.stderr)
            return 2
        return 0
    print(f"unknown command {command!r}\n{usage}", file=sys.stderr)
    return 2

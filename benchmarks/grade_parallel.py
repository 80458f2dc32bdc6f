"""Sandboxed parallel grading (kd grade --jobs 2) against plain sequential nbgrader.

    python benchmarks/grade_parallel.py [--n 30] [--jobs 2] [--keep DIR]

Builds three identical courses in a temporary folder with N submissions of 03_loss_torch (the
reference solution and a few wrong variants, in turn), then times

  (a) plain `nbgrader autograde 03_loss_torch --force`: one process, students one after another,
      no sandbox; then `nbgrader generate_feedback`, timed separately;
  (b) kdlib.safegrade.grade(..., jobs=N, feedback=False): every kernel in bubblewrap, grades and
      CSV — the same work as (a);
  (c) kdlib.safegrade.grade(..., jobs=N): the same plus the feedback HTML (what `kd grade` does),
      against (a) + generate_feedback;

checks that all give every student the same grade on every test cell, and prints the times and
the speed-ups. Target (issue 6): at least 1.7x with --jobs 2 on 2 cores, same grades.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import nbformat  # noqa: E402

from kdlib import grading, safegrade  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAME = "03_loss_torch"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
#: variant -> (old, new) patches of the reference answer; "reference" is unpatched
VARIANTS: dict[str, tuple[tuple[str, str], ...]] = {
    "reference": (),
    "no_t_squared": (("return T * T * kl.mean()", "return kl.mean()"),),
    "reversed_kl": (
        ("kl = (log_p.exp() * (log_p - log_q)).sum(dim=-1)", "kl = (log_q.exp() * (log_q - log_p)).sum(dim=-1)"),
    ),
    "sum_over_batch": (("return T * T * kl.mean()", "return T * T * kl.sum()"),),
    "alpha_swapped": (
        ("return alpha * soft + (1.0 - alpha) * hard", "return (1.0 - alpha) * soft + alpha * hard"),
    ),
}


def filled(student_nb, solution_nb, patches) -> nbformat.NotebookNode:
    """The student notebook with the (patched) reference answers in its solution cells."""
    nb = nbformat.from_dict(student_nb)
    answers = {
        c.id: "\n".join(ln for ln in c.source.splitlines() if ln.strip() not in MARKERS)
        for c in solution_nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for old, new in patches:
        cid = next(k for k, code in answers.items() if old in code)
        answers[cid] = answers[cid].replace(old, new)
    for c in nb.cells:
        if c.id in answers:
            c.source = answers[c.id]
    return nb


def make_course(course: Path, n: int) -> None:
    """A course with N submissions, the variants in turn."""
    course.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / NAME, course / "solutions" / NAME)
    grading.generate(NAME, course / "release", course)
    student = nbformat.read(course / "release" / NAME / f"{NAME}.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    names = list(VARIANTS)
    for i in range(n):
        variant = names[i % len(names)]
        folder = course / "submitted" / f"s{i:02d}_{variant}" / NAME
        folder.mkdir(parents=True)
        nbformat.write(filled(student, solution, VARIANTS[variant]), folder / f"{NAME}.ipynb")


def nbgrader(args: list[str], course: Path) -> float:
    """Seconds taken by `python -m nbgrader ARGS` in the course (must succeed)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
        cwd=course, env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=30, help="number of submissions")
    p.add_argument("--jobs", type=int, default=2, help="kd grade workers")
    p.add_argument("--keep", default=None, help="build the courses in this folder and keep them")
    a = p.parse_args()

    base = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="kd-bench-"))
    plain, bare, safe = base / "plain", base / "bare", base / "safe"
    try:
        print(f"building three courses with {a.n} submissions of {NAME} in {base} ...")
        make_course(plain, a.n)
        shutil.copytree(plain, bare)
        shutil.copytree(plain, safe)

        print("(a) plain nbgrader autograde, sequential ...", flush=True)
        t_plain = nbgrader(["autograde", NAME, "--force"], plain)
        t_feedback = nbgrader(["generate_feedback", NAME, "--force"], plain)
        print(f"    {t_plain:.1f} s  (+ generate_feedback {t_feedback:.1f} s)")

        print(f"(b) kdlib.safegrade.grade(jobs={a.jobs}, feedback=False), sandboxed, with CSV ...", flush=True)
        t0 = time.perf_counter()
        bare_report = safegrade.grade(bare, NAME, jobs=a.jobs, record=False, feedback=False, progress=True)
        t_bare = time.perf_counter() - t0
        print(f"    {t_bare:.1f} s")
        print(f"(c) kdlib.safegrade.grade(jobs={a.jobs}), sandboxed, with feedback and CSV ...", flush=True)
        t0 = time.perf_counter()
        report = safegrade.grade(safe, NAME, jobs=a.jobs, record=False, progress=True)
        t_safe = time.perf_counter() - t0
        print(f"    {t_safe:.1f} s")

        ref = grading.read_grades(plain, NAME)
        diff = {
            s: (r.cells, ref[s].cells)
            for rep in (bare_report, report)
            for s, r in rep.results.items()
            if r.cells != ref[s].cells
        }
        problems = {s: r.describe() for rep in (bare_report, report) for s, r in rep.results.items() if r.reasons}
        print()
        print(f"submissions                     {a.n} ({', '.join(VARIANTS)} in turn)")
        print(f"cores                           {os.cpu_count()}")
        print(f"plain nbgrader autograde        {t_plain:7.1f} s   {t_plain / a.n:5.2f} s/student")
        print(f"  + generate_feedback           {t_plain + t_feedback:7.1f} s")
        print(f"kd grade --jobs {a.jobs} --no-feedback   {t_bare:7.1f} s   {t_bare / a.n:5.2f} s/student"
              " (sandbox, CSV)")
        print(f"kd grade --jobs {a.jobs:<2}              {t_safe:7.1f} s   {t_safe / a.n:5.2f} s/student"
              " (sandbox, feedback, CSV)")
        print(f"speed-up, grading only          {t_plain / t_bare:7.2f}x  (target >= 1.7x)")
        print(f"speed-up, grading + feedback    {(t_plain + t_feedback) / t_safe:7.2f}x")
        print(f"same grades on every cell       {'yes' if not diff else f'NO: {len(diff)} differ'}")
        if diff:
            for s, (ours, theirs) in list(diff.items())[:5]:
                print(f"  {s}: kd grade {ours} vs nbgrader {theirs}")
        if problems:
            print(f"reported problems               {problems}")
        return 0 if not diff and not problems else 1
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

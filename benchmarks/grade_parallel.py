"""Sandboxed parallel grading (kd grade --jobs 2) against plain sequential nbgrader.

    python benchmarks/grade_parallel.py [--n 30] [--jobs 2] [--repeat 3] [--keep DIR]

Builds three identical courses in a temporary folder with N submissions of 03_loss_torch (the
reference solution and a few wrong variants, in turn), then times

  (a) plain `nbgrader autograde 03_loss_torch --force`: one process, students one after another,
      no sandbox (nbgrader_config.py composes the same probe/judge stages into it); then
      `nbgrader generate_feedback`, timed separately;
  (b) kdlib.grading.grade(..., jobs=N, feedback=False): every kernel in bubblewrap, grades and
      CSV — the same work as (a);
  (c) kdlib.grading.grade(..., jobs=N): the same plus the feedback HTML (what `kd grade` does),
      against (a) + generate_feedback;

checks that all give every student the same grade on every test cell, and prints the times and
the speed-ups. Target (issue 6): at least 1.7x with --jobs 2 on 2 cores, same grades.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the same notebook filling the tests use

from kdlib.grading import Course, grade  # noqa: E402
from kdlib.grading.host import gradebook  # noqa: E402
from tests.support import filled, read_pair, submit  # noqa: E402
from tests.support import make_course as release_course  # noqa: E402

NAME = "03_loss_torch"
#: variant -> (old, new) patches of the reference answer; "reference" is unpatched
VARIANTS: dict[str, tuple[tuple[str, str], ...]] = {
    "reference": (),
    "no_t_squared": (("return T * T * kl.mean()", "return kl.mean()"),),
    "reversed_kl": (
        ("kl = (log_p.exp() * (log_p - log_q)).sum(dim=-1)", "kl = (log_q.exp() * (log_q - log_p)).sum(dim=-1)"),
    ),
    "sum_over_batch": (("return T * T * kl.mean()", "return T * T * kl.sum()"),),
    "alpha_swapped": (("return alpha * soft + (1.0 - alpha) * hard", "return (1.0 - alpha) * soft + alpha * hard"),),
}


def make_course(course: Path, n: int) -> None:
    """A course with N submissions, the variants in turn."""
    release_course(course, [NAME])
    student, solution = read_pair(course, NAME)
    names = list(VARIANTS)
    for i in range(n):
        variant = names[i % len(names)]
        submit(course, NAME, f"s{i:02d}_{variant}", filled(student, solution, VARIANTS[variant]))


def cells(course: Path) -> dict[str, dict]:
    """student -> {grade_id: (score, max)} from the course's gradebook."""
    c = Course.load(course)
    return {s: v[2] for s, v in gradebook.read_scores(c.db, c.course_id, NAME, c.students(NAME))[1].items()}


def nbgrader(args: list[str], course: Path) -> float:
    """Seconds taken by `python -m nbgrader ARGS` in the course (must succeed)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def busy_seconds() -> float | None:
    """CPU seconds all processes on this machine have used so far (Linux /proc/stat), or None."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def timed(fn) -> tuple[float, float | None]:
    """(wall seconds, machine CPU seconds) of fn()."""
    b0, t0 = busy_seconds(), time.perf_counter()
    fn()
    t, b1 = time.perf_counter() - t0, busy_seconds()
    return t, (None if b0 is None or b1 is None else b1 - b0)


def one_round(base: Path, n: int, jobs: int) -> dict:
    """Grade the same N submissions three ways; times, CPU seconds and any grade differences."""
    plain, bare, safe = base / "plain", base / "bare", base / "safe"
    make_course(plain, n)
    shutil.copytree(plain, bare)
    shutil.copytree(plain, safe)
    r: dict = {}
    print("(a) plain nbgrader autograde, sequential ...", flush=True)
    r["plain"], r["plain_cpu"] = timed(lambda: nbgrader(["autograde", NAME, "--force"], plain))
    r["feedback"], _ = timed(lambda: nbgrader(["generate_feedback", NAME, "--force"], plain))
    print(f"    {r['plain']:.1f} s  (+ generate_feedback {r['feedback']:.1f} s)")
    reports = []
    for key, course, feedback in (("bare", bare, False), ("safe", safe, True)):
        step = "b" if key == "bare" else "c"
        print(f"({step}) kdlib.grading.grade(jobs={jobs}, feedback={feedback}), sandboxed ...", flush=True)
        r[key], r[key + "_cpu"] = timed(
            lambda c=course, f=feedback: reports.append(
                grade(c, NAME, jobs=jobs, record=False, feedback=f, progress=True)
            )
        )
        print(f"    {r[key]:.1f} s")
    ref = cells(plain)
    r["diff"] = {s: (x.cells, ref.get(s)) for rep in reports for s, x in rep.results.items() if x.cells != ref.get(s)}
    r["problems"] = {s: x.describe() for rep in reports for s, x in rep.results.items() if x.reasons}
    return r


def spread(values: list[float]) -> str:
    m = statistics.fmean(values)
    return f"{m:.2f}x ± {statistics.stdev(values):.2f}" if len(values) > 1 else f"{m:.2f}x"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=30, help="number of submissions")
    p.add_argument("--jobs", type=int, default=2, help="kd grade workers")
    p.add_argument("--repeat", type=int, default=1, help="rounds (fresh courses each); prints mean ± sd")
    p.add_argument("--keep", default=None, help="build the courses in this folder and keep them")
    a = p.parse_args()

    base = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="kd-bench-"))
    rounds = []
    try:
        for k in range(a.repeat):
            print(f"round {k + 1}/{a.repeat}: three courses with {a.n} submissions of {NAME} in {base / str(k)}")
            rounds.append(one_round(base / str(k), a.n, a.jobs))
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)

    def cpu(r, key):
        return "" if r[key + "_cpu"] is None else f", machine CPU {r[key + '_cpu']:.0f} s"

    print()
    print(f"submissions {a.n} ({', '.join(VARIANTS)} in turn), {os.cpu_count()} cores, --jobs {a.jobs}")
    for k, r in enumerate(rounds, 1):
        print(
            f"round {k}: nbgrader autograde {r['plain']:.1f} s{cpu(r, 'plain')} (+ feedback {r['feedback']:.1f} s); "
            f"kd grade --no-feedback {r['bare']:.1f} s{cpu(r, 'bare')}; kd grade {r['safe']:.1f} s"
        )
    grading_only = [r["plain"] / r["bare"] for r in rounds]
    with_feedback = [(r["plain"] + r["feedback"]) / r["safe"] for r in rounds]
    print(
        f"speed-up, grading only          {spread(grading_only)}  per round: "
        f"{', '.join(f'{x:.2f}' for x in grading_only)}  (target >= 1.7x)"
    )
    print(
        f"speed-up, grading + feedback    {spread(with_feedback)}  per round: "
        f"{', '.join(f'{x:.2f}' for x in with_feedback)}"
    )
    diff = {s: d for r in rounds for s, d in r["diff"].items()}
    problems = {s: d for r in rounds for s, d in r["problems"].items()}
    print(f"same grades on every cell       {'yes' if not diff else f'NO: {len(diff)} differ'}")
    for s, (ours, theirs) in list(diff.items())[:5]:
        print(f"  {s}: kd grade {ours} vs nbgrader {theirs}")
    if problems:
        print(f"reported problems               {problems}")
    return 0 if not diff and not problems else 1


if __name__ == "__main__":
    sys.exit(main())

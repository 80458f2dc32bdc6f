"""Safe grading (kdlib.safegrade): well-formed and hostile submissions of 03_loss_torch.

A module-scoped fixture builds a course in a temporary folder with well-formed submissions
(the reference solution, a partial one, two mistakes, the untouched student version) and the
hostile corpus of tests/hostile/, and grades them ALL in one `safegrade.grade(..., jobs=2)` run.
Meanwhile plain nbgrader grades the well-formed ones in a second course, as the yardstick.
The tests then check: well-formed submissions get exactly plain nbgrader's grades; no hostile
one earns a point its honest base does not; the report names each problem; nothing outside
the grader's own outputs changed; the gradebook was backed up first.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from kdlib import grading, safegrade, sandbox
from tests import hostile
from tests.grading_mistakes.mistakes_03_loss_torch import MISTAKES

ROOT = Path(__file__).resolve().parents[1]
TORCH = "03_loss_torch"
CELL_TIMEOUT = 10  # s per cell: every cell of 03 takes < 3 s
TIMEOUT = 90  # s per submission: a normal one takes 5-20 s on a busy 2-core machine
MEMORY_MB = 2048  # torch needs ~0.8 GB of address space
MAX_OUTPUT = 2_000_000
WELL_FORMED = ("reference", "busy_reference", "partial", "untouched", "mistake_missing_t_squared",
               "mistake_reversed_kl")
#: ordinary student code that changes library state the grader watches: must not look like tampering
BUSY = """\
import torch._dynamo  # torch rebinds torch.manual_seed to a wrapper of its own when this loads
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
plt.plot([0, 1])
plt.close("all")
_ = 1
import warnings
warnings.warn("a harmless warning")  # printed on stdout by the setup's warnings_to_stdout
"""
#: what the grader itself writes in the course (everything else must stay byte-identical)
OUTPUTS = {"gradebook.db", "autograded", "feedback", "out"}

pytestmark = pytest.mark.slow


def _bwrap_or_fail() -> None:
    try:
        sandbox.find_bwrap()
    except sandbox.SandboxError as err:
        pytest.fail(f"{err}\n(.ci/run installs it; on a workstation: {sandbox.INSTALL_HINT})")


def _make_course(course: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    course.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / TORCH, course / "solutions" / TORCH)
    grading.generate(TORCH, course / "release", course)
    student = nbformat.read(course / "release" / TORCH / f"{TORCH}.ipynb", as_version=4)
    solution = nbformat.read(course / "solutions" / TORCH / f"{TORCH}.ipynb", as_version=4)
    return student, solution


def _base(name: str, student_nb, solution_nb):
    if name == "reference":
        return hostile.filled(student_nb, solution_nb)
    return hostile.filled(student_nb, solution_nb, MISTAKES[name].patches)


def _well_formed(student_nb, solution_nb) -> dict:
    partial = hostile.filled(student_nb, solution_nb)
    hostile.cell(partial, "kd_loss").source = hostile.cell(student_nb, "kd_loss").source  # not answered
    busy = _base("reference", student_nb, solution_nb)
    hostile.add_cell(busy, BUSY, after="kd_loss")
    return {
        "reference": _base("reference", student_nb, solution_nb),
        "busy_reference": busy,
        "partial": partial,
        "untouched": nbformat.from_dict(student_nb),
        "mistake_missing_t_squared": _base("missing_t_squared", student_nb, solution_nb),
        "mistake_reversed_kl": _base("reversed_kl", student_nb, solution_nb),
    }


def _write(course: Path, student: str, nb, filename: str | None = None) -> None:
    folder = course / "submitted" / student / TORCH
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / (filename or f"{TORCH}.ipynb"))


def _tree_hash(course: Path) -> dict[str, str]:
    """sha256 of every file in the course except what the grader writes on purpose."""
    digests = {}
    for path in sorted(course.rglob("*")):
        rel = path.relative_to(course)
        if rel.parts[0] in OUTPUTS or re.fullmatch(r"gradebook\.db\..*\.bak", rel.parts[0]):
            continue
        if path.is_file() and not path.is_symlink():
            digests[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digests[str(rel)] = "dir" if path.is_dir() else "other"
    return digests


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    _bwrap_or_fail()
    tmp = tmp_path_factory.mktemp("safegrade")
    course, plain = tmp / "course", tmp / "plain"
    canary = tmp / "outside" / "secret.txt"
    canary.parent.mkdir()
    canary.write_text("not for students")
    student_nb, solution_nb = _make_course(course)
    _make_course(plain)

    well = _well_formed(student_nb, solution_nb)
    for name, nb in well.items():
        _write(course, name, nb)
        _write(plain, name, nb)
    cases = hostile.load()
    ctx = hostile.Context(course, TORCH, tuple(sorted([*well, *cases])), canary)
    for name, case in cases.items():
        nb = _base(case.base, student_nb, solution_nb)
        nb = case.make(nb, ctx) or nb
        _write(course, name, nb, case.filename)

    # the yardstick: plain nbgrader on the well-formed submissions, in the background
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [sys.executable, "-m", "nbgrader", "autograde", TORCH, "--force", f"--CourseDirectory.root={plain}"]
    yardstick = subprocess.Popen(cmd, cwd=plain, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    before = _tree_hash(course)
    canary_before = canary.read_bytes()
    t0 = time.perf_counter()
    report = safegrade.grade(
        course, TORCH, jobs=2, timeout=TIMEOUT, memory_mb=MEMORY_MB, max_output_bytes=MAX_OUTPUT,
        cell_timeout=CELL_TIMEOUT, record=False, progress=False,
    )
    seconds = time.perf_counter() - t0
    print(report.format())
    out, _ = yardstick.communicate(timeout=900)
    assert yardstick.returncode == 0, out.decode()[-3000:]
    return SimpleNamespace(
        course=course, report=report, results=report.results, seconds=seconds, cases=cases,
        plain=grading.read_grades(plain, TORCH), before=before, after=_tree_hash(course),
        canary=(canary, canary_before), solution=solution_nb,
    )


def _base_student(case: hostile.Case) -> str:
    return "reference" if case.base == "reference" else f"mistake_{case.base}"


def test_every_submission_has_a_result(run):
    assert set(run.results) == set(WELL_FORMED) | set(run.cases)
    errors = {s: r.describe() for s, r in run.results.items() if r.status == "error"}
    assert not errors, f"not graded: {errors}"


@pytest.mark.parametrize("student", WELL_FORMED)
def test_well_formed_gets_exactly_plain_nbgraders_grade(run, student):
    ours, plain = run.results[student], run.plain[student]
    assert ours.cells == plain.cells, f"{student}: safe {ours.cells} != plain {plain.cells}"
    assert (ours.score, ours.max_score) == (plain.score, plain.max_score)
    assert ours.status == "ok" and not ours.reasons, ours.describe()
    assert not [f for f in ours.flags if f.startswith("restored")], ours.flags


def test_yardstick_is_meaningful(run):
    plain = run.plain
    assert plain["reference"].score == plain["reference"].max_score >= 10
    assert plain["busy_reference"].score == plain["reference"].score
    assert plain["untouched"].score == 0
    assert 0 < plain["partial"].score < plain["partial"].max_score
    for mistake in ("mistake_missing_t_squared", "mistake_reversed_kl"):
        assert plain[mistake].score < plain[mistake].max_score


@pytest.mark.parametrize("name", sorted(hostile.load()))
def test_hostile_submission_earns_no_point_it_did_not_earn(run, name):
    case = run.cases[name]
    got, base = run.results[name], run.plain[_base_student(case)]
    print(f"{name}: {got.score:g}/{got.max_score:g} (base {base.score:g}); {got.describe()}")
    gained = {k: (s, base.cells.get(k, (0, 0))[0]) for k, (s, _) in got.cells.items() if s > base.cells[k][0]}
    assert not gained, f"{name} ({case.description.splitlines()[0]}) gained points: {gained}"
    if case.relation == "equal":
        assert got.cells == base.cells, f"{name} lost points it earned: {got.lost} vs base {base.lost}"
    elif case.relation == "zero":
        assert got.score == 0 and all(s == 0 for s, _ in got.cells.values()), got.cells
    for gid in case.keeps:
        assert got.cells[gid] == base.cells[gid], f"{name} lost {gid}, earned before the failure"


@pytest.mark.parametrize("name", sorted(hostile.load()))
def test_hostile_submission_is_reported(run, name):
    case, got = run.cases[name], run.results[name]
    missing = case.reasons - set(got.reasons)
    assert not missing, f"{name}: expected {sorted(case.reasons)} in the report, got {got.describe()!r}"
    if case.reasons:
        assert got.status == "problem"
        assert got in run.report.failed


def test_nothing_outside_the_scratch_copies_changed(run):
    changed = {k for k in run.before.keys() | run.after.keys() if run.before.get(k) != run.after.get(k)}
    assert not changed, f"files changed in the course: {sorted(changed)[:10]}"
    canary, content = run.canary
    assert canary.read_bytes() == content


def _cell_text(nb, marker: str) -> str:
    """All stream output of the first cell whose output contains ``marker`` (streams may be split)."""
    for c in nb.cells:
        text = "".join(out.get("text", "") for out in c.get("outputs", []) if out.get("output_type") == "stream")
        if marker in text:
            return text
    raise AssertionError(f"no output with {marker!r}")


def test_vandal_saw_and_did_nothing(run):
    path = run.course / "autograded" / "vandal" / TORCH / f"{TORCH}.ipynb"
    text = _cell_text(nbformat.read(path, as_version=4), "VANDAL SAW:")
    saw = json.loads(re.search(r"VANDAL SAW: (.*)", text).group(1))
    did = json.loads(re.search(r"VANDAL DID: (.*)", text).group(1))
    assert saw == [] and did == [], f"the sandbox let a notebook see {saw} and do {did}"


def test_gradebook_was_backed_up(run):
    backup = run.report.backup
    assert backup is not None and backup.is_file() and backup.parent == run.course
    assert backup.stat().st_size > 0


def test_hidden_tests_stay_out_of_the_feedback(run):
    hidden, visible = [], []
    for c in run.solution.cells:
        inside = False
        for line in c.source.splitlines():
            s = line.strip()
            if s in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
                inside = s.startswith("### BEGIN")
            else:
                (hidden if inside else visible).append(s)
    hidden = [s for s in hidden if len(s) >= 20 and not any(s in v for v in visible)]
    assert len(hidden) > 20
    graded = [r for r in run.results.values() if "missing" not in r.reasons]
    for r in graded:
        assert r.feedback, f"{r.student} has no feedback HTML"
        text = html.unescape(re.sub(r"<[^>]+>", "", r.feedback[0].read_text(encoding="utf-8")))
        assert "check_close(two, one" in text  # visible test code is there, so the search can see code
        assert "kd-grader" not in text, f"the grader's completion mark leaked into {r.student}'s feedback"
        leaked = [s for s in hidden if s in text]
        assert not leaked, f"hidden test lines in {r.student}'s feedback: {leaked[:3]}"


def test_grades_csv_matches_the_report(run):
    import csv

    with run.report.csv.open(newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    for student, r in run.results.items():
        assert float(rows[student]["raw_score"]) == pytest.approx(r.score), student


def test_report_says_what_failed_and_where_files_are(run):
    text = run.report.format()
    for needle in (str(run.report.csv), str(run.report.feedback_dir), "failed or flagged", "graded ("):
        assert needle in text
    for r in run.report.failed:
        assert r.student in text and r.describe() in text


def test_report_timings(run, capsys):
    with capsys.disabled():
        n = len(run.results)
        per = sorted(run.results.values(), key=lambda r: -r.seconds)[:3]
        slow = ", ".join(f"{r.student} {r.seconds:.0f} s" for r in per)
        print(f"\nsafegrade: {n} submissions in {run.seconds:.0f} s with 2 jobs (slowest: {slow})")


# --- cheap checks, no grading run --------------------------------------------------------------


def test_missing_bwrap_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(sandbox.SandboxError, match="apt-get install bubblewrap"):
        sandbox.find_bwrap()
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / TORCH, tmp_path / "solutions" / TORCH)
    (tmp_path / "submitted" / "someone" / TORCH).mkdir(parents=True)
    assert safegrade.cli([TORCH, "--course-dir", str(tmp_path), "--no-progress"]) == 2


def test_unknown_assignment_lists_valid_names(tmp_path, capsys):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / TORCH, tmp_path / "solutions" / TORCH)
    assert safegrade.cli(["99_nope", "--course-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown assignment '99_nope'" in err and TORCH in err


@pytest.mark.parametrize(
    "option, value, says",
    [
        ("--jobs", "0", "--jobs must be a whole number >= 1"),
        ("--timeout", "-5", "--timeout must be a positive number of seconds"),
        ("--timeout", "nan", "--timeout must be a positive number of seconds"),
        ("--memory-mb", "10", "--memory-mb must be a whole number of MiB >= 1024"),
        ("--max-output-mb", "0", "--max-output-mb must be at least 0.001"),
        ("--cell-timeout", "0", "--cell-timeout must be a whole number of seconds >= 1"),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(tmp_path, capsys, option, value, says):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / TORCH, tmp_path / "solutions" / TORCH)
    (tmp_path / "submitted" / "someone" / TORCH).mkdir(parents=True)
    with pytest.raises(SystemExit) as exit_:
        safegrade.cli([TORCH, "--course-dir", str(tmp_path), option, value])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nbgrader_config.py", "solutions", "submitted"]


def test_bad_settings_name_the_argument_in_the_api(tmp_path):
    with pytest.raises(safegrade.GradingError, match=r"jobs must be .* got 0; memory_mb must be .* got 100"):
        safegrade.grade(tmp_path, TORCH, jobs=0, memory_mb=100)

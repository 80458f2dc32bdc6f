"""Hostile submissions of 03_loss_torch against `kd grade` (sandbox, probes, judge outside).

A module-scoped fixture builds a scratch course with well-formed submissions (the reference
solution, a partial one, the untouched student version, two catalogued mistakes) and the hostile
corpus of tests/grading/hostile/, and grades them ALL in one `kdlib.grading.grade(..., jobs=JOBS)`
run. The tests then check: well-formed submissions get exactly their normal grades; no hostile
one earns a point its honest base does not; the report names each problem and escapes what a
student controls; nothing outside the grader's own outputs changed; no judge code reaches a
notebook or a feedback page; the output cap holds; every submission finishes within its
wall-time limit plus a small margin.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from kdlib.grading import grade
from kdlib.grading.host.report import safe
from tests.grading import hostile
from tests.grading.catalogues.m03_loss_torch import CATALOGUE
from tests.support import cell, filled, make_course, read_pair, submit

pytestmark = pytest.mark.slow

TORCH = hostile.ASSIGNMENT
CELL_TIMEOUT = 10  # s per cell: every cell of 03 takes < 3 s
TIMEOUT = 60  # s per submission: a normal one takes 3-20 s on a busy 2-core machine
#: three jobs on two cores: the longest cases mostly sleep (slow_everywhere waits out the
#: wall-time limit), so a third job keeps both cores busy meanwhile
JOBS = 3
MEMORY_MB = 2048  # torch needs ~0.8 GB of address space
MAX_OUTPUT = 2_000_000
#: trusted work after the kernel stops (judging, feedback) plus start-up, on a busy machine
MARGIN = 45
#: how much an autograded notebook may exceed the output cap (sources, verdicts, metadata)
NOTEBOOK_MARGIN = 200_000
#: well-formed submissions -> the test cells each must lose, exactly
WELL_FORMED = {
    "reference": set(),
    "partial": set(hostile.KD_TESTS),
    "untouched": set(hostile.TESTS),
    "mistake_missing_t_squared": set(CATALOGUE.mistakes["missing_t_squared"].lost),
    "mistake_reversed_kl": set(CATALOGUE.mistakes["reversed_kl"].lost),
}
#: what the grader itself writes in the course (everything else must stay byte-identical)
OUTPUTS = {"gradebook.db", "autograded", "feedback", "out", "backups"}
CASES = hostile.load()


#: an honest but useless answer: both functions return the same constant tensor
CONSTANT = "    return torch.tensor(1.0, dtype=torch.float64)\n"


def _base_student(base: str) -> str:
    if base in ("reference", "partial", "untouched", "constant"):
        return base
    return f"mistake_{base}" if f"mistake_{base}" in WELL_FORMED else f"base_{base}"


def _student(name: str, case: hostile.Case) -> str:
    return case.student or name


def _bases(student_nb, solution_nb) -> dict:
    partial = filled(student_nb, solution_nb)
    cell(partial, "kd_loss").source = cell(student_nb, "kd_loss").source  # not answered
    subs = {
        "reference": filled(student_nb, solution_nb),
        "partial": partial,
        "untouched": nbformat.from_dict(student_nb),
    }
    constant = filled(student_nb, solution_nb)
    for cell_id in ("distillation_loss", "kd_loss"):
        c = cell(constant, cell_id)
        c.source = c.source[: c.source.index('"""', c.source.index('"""') + 3) + 3] + "\n" + CONSTANT
    subs["constant"] = constant
    for base in {c.base for c in CASES.values()} | {"missing_t_squared", "reversed_kl"}:
        if base not in subs:
            subs[_base_student(base)] = filled(student_nb, solution_nb, CATALOGUE.mistakes[base].patches)
    return subs


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
    tmp = tmp_path_factory.mktemp("hostile")
    canary = tmp / "outside" / "secret.txt"
    canary.parent.mkdir()
    canary.write_text("not for students")
    course = make_course(tmp / "course", [TORCH])
    student_nb, solution_nb = read_pair(course, TORCH)
    bases = _bases(student_nb, solution_nb)
    for student, nb in bases.items():
        submit(course, TORCH, student, nb)
    students = tuple(sorted([*bases, *(_student(n, c) for n, c in CASES.items())]))
    ctx = hostile.Context(course, TORCH, students, canary)
    for name, case in CASES.items():
        base = bases[_base_student(case.base)]
        nb = nbformat.from_dict(json.loads(json.dumps(base)))  # a deep copy
        nb = case.make(nb, ctx) or nb
        submit(course, TORCH, _student(name, case), nb, case.filename)

    before = _tree_hash(course)
    canary_before = canary.read_bytes()
    t0 = time.perf_counter()
    report = grade(
        course,
        TORCH,
        jobs=JOBS,
        timeout=TIMEOUT,
        memory_mb=MEMORY_MB,
        max_output_bytes=MAX_OUTPUT,
        cell_timeout=CELL_TIMEOUT,
        record=False,
        progress=False,
    )
    seconds = time.perf_counter() - t0
    print(report.format())
    return SimpleNamespace(
        course=course,
        report=report,
        results=report.results,
        seconds=seconds,
        before=before,
        after=_tree_hash(course),
        canary=(canary, canary_before),
        bases=bases,
    )


def _autograded_path(run, student: str) -> Path:
    return run.course / "autograded" / student / TORCH / f"{TORCH}.ipynb"


def test_every_submission_has_a_result(run):
    expected = set(run.bases) | {_student(n, c) for n, c in CASES.items()}
    assert set(run.results) == expected
    refused = {_student(n, c) for n, c in CASES.items() if c.refusal_ok}
    errors = {safe(s): r.describe() for s, r in run.results.items() if r.status == "error" and s not in refused}
    assert not errors, f"not graded (internal error): {errors}"


@pytest.mark.parametrize("student", sorted(WELL_FORMED))
def test_well_formed_gets_exactly_its_normal_grade(run, student):
    r = run.results[student]
    assert r.status == "ok" and not r.reasons, r.describe()
    assert r.max_score >= 15
    want = WELL_FORMED[student]
    assert set(r.lost) == want, f"{student}: lost {sorted(r.lost)}, expected {sorted(want)}"
    for gid in r.lost:  # a lost cell loses all its points (no partial credit)
        assert r.cells[gid][0] == 0, (gid, r.cells[gid])


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_submission_earns_no_point_it_did_not_earn(run, name):
    case = CASES[name]
    got, base = run.results[_student(name, case)], run.results[_base_student(case.base)]
    print(f"{name}: {got.score:g}/{got.max_score:g} (base {case.base}: {base.score:g}); {got.describe()}")
    if case.refusal_ok and got.status == "error":
        assert got.score == 0 and all(s == 0 for s, _ in got.cells.values()), got.cells
        return
    if case.hole:
        gained = {k: s for k, (s, _) in got.cells.items() if s > (0 if case.relation == "zero" else base.cells[k][0])}
        assert not gained, f"KNOWN HOLE in the grader, {name}: earned {got.score:g} points ({gained}). {case.hole}"
    gained = {k: (s, base.cells.get(k, (0, 0))[0]) for k, (s, _) in got.cells.items() if s > base.cells[k][0]}
    assert not gained, f"{name} ({case.description.splitlines()[0]}) gained points: {gained}"
    if case.relation == "equal":
        assert got.cells == base.cells, f"{name} lost points it earned: {got.lost} vs base {base.lost}"
    elif case.relation == "zero":
        assert got.score == 0 and all(s == 0 for s, _ in got.cells.values()), got.cells
    else:
        assert case.relation == "at_most", case.relation
    for gid in case.keeps:
        assert got.cells[gid] == base.cells[gid], f"{name} lost {gid}, earned before the failure"


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_submission_is_reported(run, name):
    case = CASES[name]
    got = run.results[_student(name, case)]
    if case.refusal_ok and got.status == "error":
        assert got in run.report.failed and "not graded" in run.report.format()
        return
    assert got.status != "error", f"{name} was not graded: {got.describe()}"
    hole = f" KNOWN HOLE in the grader: {case.hole}" if case.hole else ""
    unexpected = ({"crash", "error"} & set(got.reasons)) - case.reasons
    assert not unexpected, f"{name}: the grading of this submission failed: {got.describe()}.{hole}"
    missing = case.reasons - set(got.reasons)
    assert not missing, f"{name}: expected {sorted(case.reasons)} in the report, got {got.describe()!r}.{hole}"
    if case.reasons:
        assert got.status == "problem"
        assert got in run.report.failed


def test_every_submission_finishes_within_its_wall_time_limit(run):
    slow = {safe(s): round(r.seconds) for s, r in run.results.items() if r.seconds > TIMEOUT + MARGIN}
    assert not slow, f"over the {TIMEOUT} s limit + {MARGIN} s: {slow}"


def test_autograded_notebooks_stay_under_the_output_cap(run):
    sizes = {}
    for student in run.results:
        path = _autograded_path(run, student)
        if path.is_file():
            sizes[student] = path.stat().st_size
    big = {safe(s): n for s, n in sizes.items() if n > MAX_OUTPUT + NOTEBOOK_MARGIN}
    assert not big, f"autograded notebooks over the {MAX_OUTPUT:,}-byte cap + {NOTEBOOK_MARGIN:,}: {big}"
    for name in ("huge_metadata", "huge_output", "huge_single_line", "forged_huge", "huge_markdown"):
        assert name in sizes, f"{name} has no autograded notebook"


def test_report_escapes_what_students_control(run):
    text = run.report.format()
    assert not [ch for ch in text if not ch.isprintable() and ch != "\n"], "control characters in the report"
    for student in run.results:
        if student != safe(student):
            shown = safe(student, 60)
            lines = [ln for ln in text.splitlines() if shown in ln]
            assert lines, f"{shown} is not in the report"
    weird = CASES["escaped_student_name"].student
    assert "\\n" in safe(weird) and "\\x1b" in safe(weird)
    escaped_file = run.results["escaped_file_name"]
    assert "\n" not in escaped_file.describe() and "\x1b" not in escaped_file.describe()
    assert "\\x1b" in escaped_file.describe(), escaped_file.describe()


def test_nothing_outside_the_scratch_copies_changed(run):
    changed = {k for k in run.before.keys() | run.after.keys() if run.before.get(k) != run.after.get(k)}
    assert not changed, f"files changed in the course: {sorted(changed)[:10]}"
    canary, content = run.canary
    assert canary.read_bytes() == content


def _stream_text(nb, marker: str) -> str:
    """All stream output of the first cell whose output contains ``marker`` (streams may be split)."""
    for c in nb.cells:
        text = "".join(out.get("text", "") for out in c.get("outputs", []) if out.get("output_type") == "stream")
        if marker in text:
            return text
    raise AssertionError(f"no output with {marker!r}")


def test_vandal_saw_and_did_nothing(run):
    text = _stream_text(nbformat.read(_autograded_path(run, "vandal"), as_version=4), "VANDAL SAW:")
    saw = json.loads(re.search(r"VANDAL SAW: (.*)", text).group(1))
    did = json.loads(re.search(r"VANDAL DID: (.*)", text).group(1))
    assert saw == [] and did == [], f"the sandbox let a notebook see {saw} and do {did}"


def test_answer_key_attempts_found_nothing(run):
    """The import / exec / .pyc cases really ran their search, and none found the answer key."""
    for name in ("import_answer_key", "exec_source_from_disk", "compiled_pyc"):
        nb = nbformat.read(_autograded_path(run, name), as_version=4)
        text = "".join(o.get("text", "") for o in cell(nb, "distillation_loss").get("outputs", []))
        assert "ANSWER FROM:" not in text, f"{name} found the answer key: {text[-2000:]}"
    nb = nbformat.read(_autograded_path(run, "import_answer_key"), as_version=4)
    text = "".join(o.get("text", "") for o in cell(nb, "distillation_loss").get("outputs", []))
    assert "is not available while a notebook is graded" in text, text[:2000]


def _judge_code_lines(path: Path) -> list[str]:
    """Lines of judge.py that are code, not message text (as tests/grading/test_round_trip.py)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if len(s) >= 30 and not s.startswith(("#", "from ", "import ")) and '"' not in s and "'" not in s:
            lines.append(s)
    return lines


def test_no_judge_code_in_any_autograded_notebook_or_feedback(run):
    code = _judge_code_lines(run.course / "solutions" / TORCH / "judge.py")
    assert len(code) >= 5
    leak_nb = nbformat.read(_autograded_path(run, "hidden_test_leak"), as_version=4)
    assert "LEAK In:" in _stream_text(leak_nb, "LEAK In:")  # the leak cell ran and printed the history
    for student, r in run.results.items():
        texts = []
        path = _autograded_path(run, student)
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        for fb in r.feedback:
            texts.append(html.unescape(re.sub(r"<[^>]+>", "", fb.read_text(encoding="utf-8", errors="replace"))))
        for text in texts:
            leaked = [s for s in code if s in text]
            assert not leaked, f"judge code in the outputs of {safe(student)}: {leaked[:3]}"
    for student in WELL_FORMED:
        assert run.results[student].feedback, f"{student} has no feedback HTML"


def test_feedback_pages_carry_no_student_markup(run):
    from bs4 import BeautifulSoup

    pages = run.results["script_in_markdown"].feedback
    assert pages, "script_in_markdown has no feedback HTML"
    for path in pages:
        page = Path(path).read_text(encoding="utf-8")
        soup = BeautifulSoup(page, "html.parser")
        assert "kdPwned" not in " ".join(s.get_text() for s in soup.find_all("script")), path
        assert not [t for t in soup.find_all(True) if any(a.startswith("on") for a in t.attrs)], path
        assert "My notes" in page and "<math" in page, "the text and the formulas must stay"


def test_gradebook_was_backed_up(run):
    backup = run.report.backup
    assert backup is not None and backup.is_file() and run.course in backup.parents
    assert backup.stat().st_size > 0


def _csv_rows(path: Path, key: str) -> dict[str, list[dict]]:
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_id: dict[str, list[dict]] = {}
    for row in rows:
        by_id.setdefault(row[key], []).append(row)
    return by_id


def test_grades_csv_matches_the_report(run):
    """One row per student holding the report's score, in both CSV files (a student's folder name,
    e.g. csv_injection's, cannot shift columns or forge rows)."""
    canvas = run.report.csv.with_name(f"{run.report.csv.stem}.canvas.csv")
    for path, key, column in [(run.report.csv, "student_id", "score"), (canvas, "SIS Login ID", TORCH)]:
        by_id = _csv_rows(path, key)
        by_id.pop("", None)  # Canvas's "Points Possible" row
        problems = [
            f"{len(by_id.get(s, []))} rows for {safe(s)}"
            for s, r in run.results.items()
            if len(by_id.get(s, [])) != 1 and not (r.status == "error" and not by_id.get(s))  # not graded: no row
        ]
        problems += [
            f"{safe(s)}: {column} {by_id[s][0][column]!r}, graded {r.score:g}"
            for s, r in run.results.items()
            if len(by_id.get(s, [])) == 1 and float(by_id[s][0][column] or "nan") != pytest.approx(r.score)
        ]
        problems += [f"a row for {safe(s)}, who did not submit" for s in set(by_id) - set(run.results)]
        assert not problems, f"{path.name}: " + "; ".join(problems[:6])


def test_report_says_what_failed_and_where_files_are(run):
    text = run.report.format()
    for needle in (str(run.report.csv), str(run.report.feedback_dir), "failed or flagged", "graded ("):
        assert needle in text
    for r in run.report.failed:
        assert safe(r.student, 60) in text and r.describe() in text


def test_report_timings(run, capsys):
    with capsys.disabled():
        per = sorted(run.results.values(), key=lambda r: -r.seconds)
        slow = ", ".join(f"{safe(r.student, 30)} {r.seconds:.0f} s" for r in per[:5])
        n, secs = len(run.results), run.seconds
        print(f"\nhostile corpus: {n} submissions in {secs:.0f} s with {JOBS} jobs (slowest: {slow})")
        for name, case in CASES.items():
            r = run.results[_student(name, case)]
            base = run.results[_base_student(case.base)]
            print(
                f"  {name:28} {r.score:>4g}/{r.max_score:g} (base {case.base} {base.score:g})  {r.seconds:5.1f} s  "
                f"{r.describe() or '-'}"
            )


def test_a_folder_name_nbgrader_cannot_grade_is_refused_by_name(run):
    r = run.results[_student("escaped_student_name", CASES["escaped_student_name"])]
    assert r.status == "error" and r.score == 0
    assert "the folder name cannot be graded: it holds control characters" in r.describe(), r.describe()

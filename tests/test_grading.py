"""The grading pipeline, end to end, in a temporary course directory.

A module-scoped fixture copies nbgrader_config.py and solutions/ of two assignments into a fresh
folder, runs generate_assignment, and writes one submission per student. For 03_loss_torch:
the reference solution, the untouched student version, every mistake of
tests/grading_mistakes/, an infinite loop and a few ways of tampering with the notebook; for
04_loss_tf: the reference and the untouched version. Each assignment is graded with ONE
`kd grade` call (kdlib.grading.cli), so nbgrader and the kernels start as few times as
possible; the tests then read the gradebook, the feedback HTML and the CSV.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from kdlib import grading
from tests.grading_mistakes.mistakes_03_loss_torch import MISTAKES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TORCH, TF = "03_loss_torch", "04_loss_tf"
#: a short per-cell limit for 03 so that the infinite loop costs little (its cells take < 5 s)
TIMEOUT = 20
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _cell(nb, cell_id):
    return next(c for c in nb.cells if c.id == cell_id)


def _filled(student_nb, solution_nb, patches=()):
    """The student notebook with each solution cell holding the solution's code.

    ``patches`` are (old, new) replacements applied to that code; each old text must occur
    exactly once, so a catalogue entry cannot silently stop matching the solution.
    """
    nb = nbformat.from_dict(student_nb)
    answers = {
        c.id: "\n".join(ln for ln in c.source.splitlines() if ln.strip() not in SOLUTION_MARKERS)
        for c in solution_nb.cells
        if _nbgrader(c).get("solution")
    }
    for old, new in patches:
        where = [cid for cid, code in answers.items() if old in code]
        assert len(where) == 1 and answers[where[0]].count(old) == 1, (
            f"patch text must occur exactly once in the solution: {old!r}"
        )
        answers[where[0]] = answers[where[0]].replace(old, new)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    return nb


def _torch_submissions(student_nb, solution_nb) -> dict:
    subs = {
        "reference": _filled(student_nb, solution_nb),
        "untouched": nbformat.from_dict(student_nb),
    }
    for name, mistake in MISTAKES.items():
        subs[f"mistake_{name}"] = _filled(student_nb, solution_nb, mistake.patches)

    loop = _filled(student_nb, solution_nb)
    cell = _cell(loop, "distillation_loss")
    cell.source = "while True:  # a loop that never ends\n    pass\n\n" + cell.source
    subs["infinite_loop"] = loop

    # a correct answer in a notebook whose last test cell was deleted and whose kernelspec
    # names a kernel that does not exist: still full marks
    odd = _filled(student_nb, solution_nb)
    odd.cells = [c for c in odd.cells if c.id != "test_kd_reference"]
    odd.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "?"}
    subs["deleted_cell_odd_kernel"] = odd

    tampered = _filled(student_nb, solution_nb, MISTAKES["missing_t_squared"].patches)
    _cell(tampered, "test_distill_t_squared").source = 'print("all good")'
    subs["tampered_test_cell"] = tampered
    return subs


def _tf_submissions(student_nb, solution_nb) -> dict:
    return {
        "reference": _filled(student_nb, solution_nb),
        "untouched": nbformat.from_dict(student_nb),
    }


def _grade(course: Path, name: str, make_submissions, timeout=None) -> SimpleNamespace:
    """Write the submissions, run `kd grade NAME` once; collect the results."""
    student_nb = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    solution_nb = nbformat.read(course / "solutions" / name / f"{name}.ipynb", as_version=4)
    subs = make_submissions(student_nb, solution_nb)
    for student, nb in subs.items():
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{name}.ipynb")

    out = io.StringIO()
    args = [name, "--course-dir", str(course), "--no-record"]
    if timeout:
        args += ["--timeout", str(timeout)]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = grading.cli(args)
    seconds = time.perf_counter() - t0
    print(out.getvalue())
    return SimpleNamespace(
        name=name,
        rc=rc,
        output=out.getvalue(),
        seconds=seconds,
        students=sorted(subs),
        grades=grading.read_grades(course, name),
        solution=solution_nb,
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for name in (TORCH, TF):
        shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name)
    # generate_assignment: the student versions, and the gradebook learns the graded cells
    assert set(grading.generate_all(course / "release", course)) == {TORCH, TF}
    runs = {
        TORCH: _grade(course, TORCH, _torch_submissions, timeout=TIMEOUT),
        TF: _grade(course, TF, _tf_submissions),  # nbgrader_config.py's limit: TF starts slowly
    }
    return SimpleNamespace(dir=course, runs=runs, torch=runs[TORCH], tf=runs[TF])


def test_cli_ran_and_says_where_files_are(course):
    for run in course.runs.values():
        assert run.rc == 0, run.output
        assert "autograded notebooks" in run.output and "feedback (HTML)" in run.output
        assert str(course.dir / "out" / "grades" / f"{run.name}.csv") in run.output
        m = re.search(r"autograded (\d+) submission\(s\) in ([\d.]+) s", run.output)
        assert m and int(m.group(1)) == len(run.students), run.output


def test_every_student_is_graded(course):
    for run in course.runs.values():
        assert sorted(run.grades) == run.students
        for g in run.grades.values():
            assert g.cells, f"{run.name}/{g.student} has no graded cells"
            assert g.feedback, f"{run.name}/{g.student} has no feedback HTML"


@pytest.mark.parametrize("name", [TORCH, TF])
def test_reference_solution_gets_full_marks(course, name):
    g = course.runs[name].grades["reference"]
    assert g.max_score >= 10
    assert g.score == g.max_score, f"the reference solution lost points on {g.lost}"


@pytest.mark.parametrize("name", [TORCH, TF])
def test_untouched_student_version_gets_zero(course, name):
    g = course.runs[name].grades["untouched"]
    assert g.score == 0, f"the untouched notebook scored {g.score}: {g.cells}"


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_mistake_loses_points_where_expected(course, mistake):
    g = course.torch.grades[f"mistake_{mistake}"]
    m = MISTAKES[mistake]
    print(f"{mistake}: {g.score:g}/{g.max_score:g}, lost on {g.lost}")
    missed = sorted(m.caught_by - set(g.lost))
    assert not missed, f"{mistake} ({m.description}) kept its points on {missed}; lost {g.lost}"


def test_infinite_loop_is_stopped_by_the_timeout(course):
    g = course.torch.grades["infinite_loop"]
    assert g.score == 0, "the loop runs before distillation_loss is defined: every test fails"
    path = course.dir / "autograded" / "infinite_loop" / TORCH / f"{TORCH}.ipynb"
    cell = _cell(nbformat.read(path, as_version=4), "distillation_loss")
    errors = {o.ename for o in cell.outputs if o.output_type == "error"}
    assert errors & {"CellTimeoutError", "KeyboardInterrupt"}, errors
    # the grader went on: students after it in alphabetical order got their marks
    assert course.torch.grades["reference"].score == course.torch.grades["reference"].max_score


def test_deleted_test_cell_is_restored_and_graded(course):
    g = course.torch.grades["deleted_cell_odd_kernel"]
    assert "test_kd_reference" in g.cells
    assert g.score == g.max_score, g.lost


def test_edited_test_cell_is_overwritten(course):
    g = course.torch.grades["tampered_test_cell"]
    assert "test_distill_t_squared" in g.lost, "the learner's edit of a locked test cell was graded"


def test_grading_kernel_is_pinned(course):
    path = course.dir / "autograded" / "deleted_cell_odd_kernel" / TORCH / f"{TORCH}.ipynb"
    assert nbformat.read(path, as_version=4).metadata["kernelspec"]["name"] == "python3"
    g = course.torch.grades["deleted_cell_odd_kernel"]
    assert g.score == g.max_score, g.lost


def _hidden_only_lines(nb) -> list[str]:
    """Lines inside ### BEGIN/END HIDDEN TESTS that are no part of any visible line."""
    hidden, visible = [], []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            s = line.strip()
            if s == "### BEGIN HIDDEN TESTS":
                inside = True
            elif s == "### END HIDDEN TESTS":
                inside = False
            else:
                (hidden if inside else visible).append(s)
    return [s for s in hidden if len(s) >= 20 and not any(s in v for v in visible)]


def _html_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", [TORCH, TF])
def test_feedback_has_no_hidden_tests(course, name):
    run = course.runs[name]
    hidden = _hidden_only_lines(run.solution)
    assert len(hidden) > 20
    for student, g in run.grades.items():
        for path in g.feedback:
            text = _html_text(path)
            # positive control: visible test code is in the feedback, so the search can see code
            assert "check_close(two, one" in text, path
            assert "HIDDEN TESTS" not in text, f"hidden-test marker in {path}"
            leaked = [s for s in hidden if s in text]
            assert not leaked, f"hidden test lines in the feedback of {student}: {leaked[:3]}"


def test_failing_hidden_test_shows_its_message_not_its_code(course):
    # float64_always fails only a hidden assertion; xmode=Minimal keeps its source out of the
    # traceback, ClearHiddenTests keeps it out of the cell
    text = _html_text(course.torch.grades["mistake_float64_always"].feedback[0])
    assert "float32 inputs must give a float32 loss" in text
    assert "loss32.dtype" not in text


def test_grades_csv(course):
    for run in course.runs.values():
        path = course.dir / "out" / "grades" / f"{run.name}.csv"
        with path.open(newline="") as fh:
            rows = {r["student_id"]: r for r in csv.DictReader(fh)}
        # nbgrader lists every student it knows; those without a submission score 0
        assert set(run.students) <= set(rows)
        assert {r["assignment"] for r in rows.values()} == {run.name}
        for student in set(rows) - set(run.students):
            assert float(rows[student]["raw_score"]) == 0
        for student, g in run.grades.items():
            assert float(rows[student]["raw_score"]) == pytest.approx(g.score)
            assert float(rows[student]["max_score"]) == pytest.approx(g.max_score)


def test_report_timings(course, capsys):
    with capsys.disabled():
        for run in course.runs.values():
            per = run.seconds / len(run.students)
            step = re.search(r"autograded .*", run.output).group(0)
            print(f"\n{run.name}: kd grade took {run.seconds:.0f} s for {len(run.students)} "
                  f"students ({per:.1f} s each with feedback and export); {step}")


def test_unknown_assignment_lists_valid_names(tmp_path, capsys):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / TORCH, tmp_path / "solutions" / TORCH)
    assert grading.cli(["99_nope", "--course-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown assignment '99_nope'" in err and f"Valid names: {TORCH}" in err
    assert grading.main(["release", "99_nope"]) == 2
    assert TORCH in capsys.readouterr().err


def test_no_submissions_is_a_clear_error(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / TORCH, tmp_path / "solutions" / TORCH)
    with pytest.raises(grading.GradingError, match="no submissions"):
        grading.autograde(tmp_path, TORCH)


def test_not_a_course_directory(tmp_path):
    with pytest.raises(grading.GradingError, match="nbgrader_config.py"):
        grading.autograde(tmp_path, TORCH)

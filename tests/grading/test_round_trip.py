"""Every assignment's full grading round trip through `kd grade` (sandbox, probes, judge).

For each catalogue in tests/grading/catalogues/ a scratch course is released and graded in ONE
`kdlib.grading.grade(..., jobs=2)` call: the reference solution, the untouched student version
and one submission per catalogued mistake. Then: the reference gets full marks; the untouched
version gets zero without a crash; each mistake loses EXACTLY the cells its entry names, each
showing the message it must; no judge code reaches the feedback.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from kdlib.grading import grade
from tests.grading import catalogues
from tests.support import filled, make_course, outputs_text, read_pair, submit

pytestmark = pytest.mark.slow

CATALOGUES = catalogues.load()


def _submissions(cat: catalogues.Catalogue, student_nb, solution_nb) -> dict:
    subs = {"reference": filled(student_nb, solution_nb), "untouched": nbformat.from_dict(student_nb)}
    for name, mistake in cat.mistakes.items():
        nb = filled(student_nb, solution_nb, mistake.patches)
        if mistake.edit is not None:
            mistake.edit(nb)
        subs[f"mistake_{name}"] = nb
    for nb in subs.values():
        nb.cells = [c for c in nb.cells if c.id not in cat.drop]
    return subs


@pytest.fixture(scope="module")
def graded_runs(tmp_path_factory):
    """assignment -> its graded round trip, made on first use (one `grade` call per assignment)."""
    runs: dict[str, SimpleNamespace] = {}

    def get(assignment: str) -> SimpleNamespace:
        if assignment not in runs:
            cat = CATALOGUES[assignment]
            course = make_course(tmp_path_factory.mktemp(assignment), [assignment])
            student_nb, solution_nb = read_pair(course, assignment)
            for student, nb in _submissions(cat, student_nb, solution_nb).items():
                submit(course, assignment, student, nb)
            report = grade(
                course,
                assignment,
                jobs=2,
                timeout=600,
                memory_mb=cat.memory_mb,
                cell_timeout=cat.cell_timeout,
                record=False,
                progress=False,
            )
            print(report.format())
            runs[assignment] = SimpleNamespace(cat=cat, course=course, report=report, results=report.results)
        return runs[assignment]

    return get


@pytest.fixture(params=sorted(CATALOGUES))
def graded(request, graded_runs):
    return graded_runs(request.param)


def _autograded(g, student: str):
    path = g.course / "autograded" / student / g.cat.assignment / f"{g.cat.assignment}.ipynb"
    return nbformat.read(path, as_version=4)


def test_reference_gets_full_marks(graded):
    r = graded.results["reference"]
    assert r.status == "ok", r.describe()
    assert r.auto_max > 0 and r.score == r.auto_max and not r.lost, f"the reference lost points on {r.lost}"


def test_untouched_gets_zero_without_crashing(graded):
    r = graded.results["untouched"]
    assert r.score == 0, f"the untouched notebook scored {r.score}: {r.cells}"
    assert "crash" not in r.reasons and "timeout" not in r.reasons and "error" not in r.reasons, r.describe()
    assert set(r.lost) == set(r.cells) - r.pending, "every autograded cell must lose its points"


def _mistake_ids():
    return [(a, m) for a, cat in CATALOGUES.items() for m in cat.mistakes]


@pytest.mark.parametrize(("assignment", "mistake"), _mistake_ids())
def test_mistake_loses_exactly_its_cells_with_its_message(graded_runs, assignment, mistake):
    g = graded_runs(assignment)
    entry = g.cat.mistakes[mistake]
    r = g.results[f"mistake_{mistake}"]
    assert "error" not in r.reasons, r.describe()
    assert set(r.lost) == set(entry.lost), (
        f"{mistake} ({entry.description}): lost {sorted(r.lost)}, expected exactly {sorted(entry.lost)}"
    )
    nb = _autograded(g, f"mistake_{mistake}")
    for cell_id, piece in {**entry.lost, **entry.shows}.items():
        text = outputs_text(nb, cell_id)
        assert piece in text, f"{mistake}: cell {cell_id} should say {piece!r}; it shows:\n{text[:800]}"


def _judge_code_lines(path: Path) -> list[str]:
    """Lines of judge.py that are code, not message text (messages may appear in feedback)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if len(s) >= 30 and not s.startswith(("#", "from ", "import ")) and '"' not in s and "'" not in s:
            lines.append(s)
    return lines


def test_feedback_shows_no_judge_code(graded):
    code = _judge_code_lines(graded.course / "solutions" / graded.cat.assignment / "judge.py")
    assert len(code) >= 5
    for student, r in graded.results.items():
        assert r.feedback, f"{student} has no feedback HTML"
        for path in r.feedback:
            text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
            leaked = [s for s in code if s in text]
            assert not leaked, f"judge code in the feedback of {student}: {leaked[:3]}"


def test_grades_csv_has_cells_timestamps_and_a_canvas_twin(graded):
    import csv

    name = graded.cat.assignment
    with (graded.course / "out" / "grades" / f"{name}.csv").open(newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(graded.results) <= set(rows)
    for student, r in graded.results.items():
        row = rows[student]
        assert float(row["score"]) == pytest.approx(r.score) and float(row["max_score"]) == pytest.approx(r.max_score)
        assert row["timestamp"], f"{student}: the timestamp must be filled in"
        for gid, (score, _max) in r.cells.items():
            assert float(row[f"cell:{gid}"]) == pytest.approx(score)
    with (graded.course / "out" / "grades" / f"{name}.canvas.csv").open(newline="") as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", name]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == graded.results["reference"].max_score
    by_login = {row[3]: float(row[5]) for row in canvas[2:]}
    assert by_login["reference"] == graded.results["reference"].score and by_login["untouched"] == 0


@pytest.mark.parametrize(("assignment", "demo"), [("03_loss_torch", "demo-kl-div"), ("04_loss_tf", "demo-keras-kl")])
def test_demonstrations_nothing_graded_needs_are_left_out_and_say_so(graded_runs, assignment, demo):
    """Demonstrations nothing graded needs (here the F.kl_div and Keras KL demos; in a class also 14's
    20-s comparison, which the catalogues drop anyway) are not run when graded; the feedback says so."""
    g = graded_runs(assignment)
    nb = _autograded(g, "reference")
    assert "not run when graded" in outputs_text(nb, demo)
    assert g.results["reference"].score == g.results["reference"].auto_max

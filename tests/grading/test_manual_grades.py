"""Hand-given grades survive re-grading: an instructor overrides autograded scores and comments on
a solution in the gradebook (as formgrader does), then runs `kd grade` again (a late
resubmission, a fixed check): the hand-given scores and comments must still be in the gradebook,
in the totals and in the grades CSV, and the second run must have backed up a gradebook holding
them first.

It uses 03_loss_torch (converted to probes and judges), whose cells are all autograded: the
instructor's scores are manual overrides of test cells, which nbgrader stores and totals exactly
like the scores of manually graded answers.
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import nbformat
import pytest

from kdlib.grading import grade
from tests.support import filled, make_course, read_pair, submit

pytestmark = pytest.mark.slow

NAME = "03_loss_torch"
#: (student, grade_id) -> the score the instructor gives by hand
MANUAL = {("ada", "test_kd_reference"): 1.0, ("bo", "test_distill_t_squared"): 1.0}
COMMENT = ("bo", "distillation_loss", "good start: now divide both logits by T")


def _grade(course: Path):
    return grade(course, NAME, jobs=2, memory_mb=2048, cell_timeout=30, progress=False)


def test_manual_grades_survive_a_second_kd_grade(tmp_path):
    from nbgrader.api import Gradebook

    course = make_course(tmp_path / "course", [NAME])
    student_nb, solution_nb = read_pair(course, NAME)
    submit(course, NAME, "ada", filled(student_nb, solution_nb))
    submit(course, NAME, "bo", nbformat.from_dict(student_nb))

    first = _grade(course)
    auto = {s: r.score for s, r in first.results.items()}
    full = first.results["ada"].max_score
    assert auto == {"ada": full, "bo": 0} and full > 0, first.format()

    # the instructor grades by hand (as formgrader does): two scores and a comment
    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db) as gb:
        for (student, gid), given in MANUAL.items():
            gb.find_grade(gid, NAME, NAME, student).manual_score = given
        student, cell_id, text = COMMENT
        gb.find_comment(cell_id, NAME, NAME, student).manual_comment = text
        gb.db.commit()
    expected = {
        "ada": full - first.results["ada"].cells["test_kd_reference"][1] + MANUAL[("ada", "test_kd_reference")],
        "bo": MANUAL[("bo", "test_distill_t_squared")],
    }

    second = _grade(course)
    for student, score in expected.items():
        assert second.results[student].score == score, second.format()
    with Gradebook(db) as gb:
        for (student, gid), given in MANUAL.items():
            g = gb.find_grade(gid, NAME, NAME, student)
            assert g.manual_score == given and g.score == given, (student, gid, g.manual_score, g.score)
        student, cell_id, text = COMMENT
        assert gb.find_comment(cell_id, NAME, NAME, student).manual_comment == text
        for student, score in expected.items():
            assert gb.find_submission(NAME, student).score == score

    with open(course / "out" / "grades" / f"{NAME}.csv", newline="", encoding="utf-8") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    for student, score in expected.items():
        assert float(rows[student]["score"]) == score, rows[student]

    # the second run backed up the gradebook first: the newest backup holds the hand-given scores
    backups = sorted(course.rglob("gradebook.db.*.bak"))
    assert len(backups) == 2, backups
    with sqlite3.connect(backups[-1]) as con:
        scores = sorted(s for (s,) in con.execute("SELECT manual_score FROM grade WHERE manual_score IS NOT NULL"))
        comments = [c for (c,) in con.execute("SELECT manual_comment FROM comment WHERE manual_comment IS NOT NULL")]
    assert scores == sorted(MANUAL.values())
    assert comments == [COMMENT[2]]

    # feedback again after grading by hand: the hand-given comment and score are in bo's page,
    # the formulas are MathML and nothing loads MathJax from the internet
    from kdlib.grading.cli import main

    assert main(["feedback", NAME, "bo", "--course-dir", str(course)]) == 0
    page = (course / "feedback" / "bo" / NAME / f"{NAME}.ipynb").with_suffix(".html").read_text(encoding="utf-8")
    assert COMMENT[2] in page
    assert f"Score: {expected['bo']:g}" in page or f"Score: {expected['bo']}" in page
    assert "<math" in page and "cdnjs.cloudflare.com/ajax/libs/mathjax" not in page

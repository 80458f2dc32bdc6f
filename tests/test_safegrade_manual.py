"""Manual grades survive re-grading: an instructor grades the written answers of 01_concepts by
hand, then runs `kd grade` again (a late resubmission, a fixed test): the hand-given scores and
comments must still be in the gradebook, in the totals and in the grades CSV, and the run before
must have left a backup holding them."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest

from kdlib import grading, safegrade
from tests.test_grading import _filled

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NAME = "01_concepts"
MANUAL = {"m1_why_kd_helps": (2.0, 3.0), "m3_mobile": (3.0, 3.0)}  # grade_id -> (given, max)


def _grade(course: Path) -> safegrade.Report:
    return safegrade.grade(course, NAME, jobs=2, memory_mb=2048, cell_timeout=60, progress=False)


def test_manual_grades_survive_a_second_kd_grade(tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / NAME, course / "solutions" / NAME)
    released = grading.generate(NAME, course / "release", course)
    student_nb = nbformat.read(released / f"{NAME}.ipynb", as_version=4)
    solution_nb = nbformat.read(course / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    for student, nb in {"ada": _filled(student_nb, solution_nb), "bo": nbformat.from_dict(student_nb)}.items():
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NAME}.ipynb")

    first = _grade(course)
    auto = first.results["ada"].score
    assert auto == 11 and first.results["bo"].score == 0, first.format()

    # the instructor grades ada's written answers by hand (as formgrader does)
    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db) as gb:
        for gid, (given, _) in MANUAL.items():
            gb.find_grade(gid, NAME, NAME, "ada").manual_score = given
            gb.find_grade(gid, NAME, NAME, "ada").needs_manual_grade = False
        gb.find_comment("m1_why_kd_helps", NAME, NAME, "ada").manual_comment = "good, but name T²"
        gb.db.commit()
    by_hand = sum(given for given, _ in MANUAL.values())

    second = _grade(course)
    assert second.results["ada"].score == auto + by_hand, second.format()
    with Gradebook(db) as gb:
        for gid, (given, _) in MANUAL.items():
            grade = gb.find_grade(gid, NAME, NAME, "ada")
            assert grade.manual_score == given and grade.score == given, gid
        assert gb.find_comment("m1_why_kd_helps", NAME, NAME, "ada").manual_comment == "good, but name T²"
        assert gb.find_submission(NAME, "ada").score == auto + by_hand

    with open(course / "out" / "grades" / f"{NAME}.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(rows["ada"]["score"]) == auto + by_hand

    # the second run backed up the gradebook first: the backup holds the hand-given scores
    backups = sorted(course.glob("gradebook.db.*.bak"))
    assert len(backups) == 2, backups
    with sqlite3.connect(backups[-1]) as con:
        scores = sorted(s for (s,) in con.execute("SELECT manual_score FROM grade WHERE manual_score IS NOT NULL"))
    assert scores == sorted(given for given, _ in MANUAL.values())

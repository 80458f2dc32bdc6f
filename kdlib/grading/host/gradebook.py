"""Stage 5 — the gradebook: back it up, read a scratch course's grades, merge them, export.

Workers grade into scratch copies of the gradebook; only the parent process writes the real
one, one student at a time, after a timestamped backup. Manual grades and comments an
instructor gave are kept on every merge.
"""

from __future__ import annotations

import sqlite3
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["backup", "export_csv", "grades_from", "merge", "read_scores", "sqlite_copy", "zero_submission"]


def sqlite_copy(src: Path, dest: Path) -> None:
    """A consistent copy of a SQLite database (the online backup API)."""
    a, b = sqlite3.connect(f"file:{src}?mode=ro", uri=True), sqlite3.connect(dest)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def backup(db: Path) -> Path | None:
    """A timestamped copy of the gradebook next to it (None if there is none yet)."""
    if not db.is_file():
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = db.with_name(f"{db.name}.{stamp}.bak")
    n = 1
    while dest.exists():
        dest = db.with_name(f"{db.name}.{stamp}-{n}.bak")
        n += 1
    sqlite_copy(db, dest)
    return dest


def _gradebook(db: Path, course_id: str = ""):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{db}", course_id)


def grades_from(db: Path, assignment: str, student: str) -> dict[str, Any]:
    """One student's autograded results in a (scratch) gradebook, as plain data for the parent."""
    with _gradebook(db) as gb:
        sub = gb.find_submission(assignment, student)
        return {
            "timestamp": sub.timestamp,
            "notebooks": {
                nb.name: {
                    "late": nb.late_submission_penalty,
                    "grades": {g.name: (g.auto_score, bool(g.needs_manual_grade)) for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                }
                for nb in sub.notebooks
            },
        }


def zero_submission(db: Path, assignment: str, student: str) -> None:
    """Record a submission with every grade 0 unless one exists (as nbgrader does for a missing notebook)."""
    from nbgrader.api import MissingEntry

    with _gradebook(db) as gb:
        try:
            gb.find_submission(assignment, student)
            return
        except MissingEntry:
            pass
        gb.update_or_create_student(student)
        sub = gb.add_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                g.auto_score = 0
                g.needs_manual_grade = False
        gb.db.commit()


def merge(db: Path, course_id: str, assignment: str, student: str, data: dict[str, Any]) -> None:
    """Write one student's autograded results into the real gradebook; manual grades are kept."""
    from nbgrader.api import MissingEntry

    with warnings.catch_warnings(), _gradebook(db, course_id) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy notes from nbgrader's own API
        gb.update_or_create_student(student)
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            sub = gb.add_submission(assignment, student)
        if data.get("timestamp") is not None:
            sub.timestamp = data["timestamp"]
        for nb_name, nb_data in data["notebooks"].items():
            nb = gb.find_submission_notebook(nb_name, assignment, student)
            nb.late_submission_penalty = nb_data["late"]
            for gid, (auto, needs_manual) in nb_data["grades"].items():
                g = gb.find_grade(gid, nb_name, assignment, student)
                g.auto_score = auto
                g.needs_manual_grade = bool(needs_manual or g.manual_score is not None)
            for cid, auto_comment in nb_data["comments"].items():
                gb.find_comment(cid, nb_name, assignment, student).auto_comment = auto_comment
        gb.db.commit()


def read_scores(
    db: Path, course_id: str, assignment: str, students: list[str]
) -> tuple[float, dict[str, tuple[float, float, dict[str, tuple[float, float]], list[str]]]]:
    """The assignment's max score and, per student with a submission: (score, max, cells, notebooks)."""
    from nbgrader.api import MissingEntry

    out = {}
    with _gradebook(db, course_id) as gb:
        max_score = float(gb.find_assignment(assignment).max_score)
        for student in students:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            cells: dict[str, tuple[float, float]] = {}
            for nb in sub.notebooks:
                cells.update({g.name: (float(g.score), float(g.max_score)) for g in nb.grades})
            out[student] = (float(sub.score), float(sub.max_score), cells, [nb.name for nb in sub.notebooks])
    return max_score, out


def export_csv(db: Path, course_id: str, assignment: str, csv: Path) -> None:
    """nbgrader's CSV export of one assignment."""
    from nbgrader.plugins import CsvExportPlugin

    csv.parent.mkdir(parents=True, exist_ok=True)
    with _gradebook(db, course_id) as gb:
        CsvExportPlugin(to=str(csv), assignment=[assignment]).export(gb)

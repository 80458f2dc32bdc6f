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


#: gradebook backups kept in ``backups/`` (the oldest beyond this are removed)
KEEP_BACKUPS = 20


def backup(db: Path, keep: int = KEEP_BACKUPS) -> Path | None:
    """A timestamped copy of the gradebook in ``backups/`` beside it; None if there is no gradebook yet.

    Only the newest ``keep`` backups stay (``backups/`` is ignored by git).
    """
    if not db.is_file():
        return None
    folder = db.parent / "backups"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = folder / f"{db.name}.{stamp}.bak"
    n = 1
    while dest.exists():
        dest = folder / f"{db.name}.{stamp}-{n}.bak"
        n += 1
    sqlite_copy(db, dest)
    for old in sorted(folder.glob(f"{db.name}.*.bak"), key=lambda p: p.stat().st_mtime)[:-keep]:
        old.unlink()
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
) -> tuple[float, dict[str, tuple[float, float, dict[str, tuple[float, float]], list[str], set[str]]]]:
    """The assignment's max score and, per student with a submission: (score, max, cells, notebooks, pending).

    ``pending``: the cells still waiting for an instructor's hand grade.
    """
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
            pending: set[str] = set()
            for nb in sub.notebooks:
                cells.update({g.name: (float(g.score), float(g.max_score)) for g in nb.grades})
                pending |= {g.name for g in nb.grades if g.needs_manual_grade}
            out[student] = (float(sub.score), float(sub.max_score), cells, [nb.name for nb in sub.notebooks], pending)
    return max_score, out


def export_csv(
    db: Path, course_id: str, assignment: str, csv: Path, submitted: dict[str, float] | None = None
) -> tuple[Path, Path]:
    """Grades of one assignment as two CSV files; returns (grades, canvas).

    ``csv`` (e.g. ``out/grades/03_loss_torch.csv``): one row per student the gradebook knows —
    ``student_id, timestamp, score, max_score, late_penalty`` and one column per graded cell
    (``cell:<grade_id>``, points). ``timestamp`` is nbgrader's submission time, else the time
    the submitted notebook was last written (``submitted``: student -> POSIX time), ISO 8601.
    ``<name>.canvas.csv`` beside it is a Canvas gradebook import: the columns ``Student, ID,
    SIS User ID, SIS Login ID, Section, <assignment>`` and a ``Points Possible`` row; Canvas
    matches rows on the login id (nbgrader's student id) and creates the assignment column.
    """
    import csv as csvlib

    from nbgrader.api import MissingEntry

    submitted = submitted or {}
    csv.parent.mkdir(parents=True, exist_ok=True)
    canvas = csv.with_name(f"{csv.stem}.canvas.csv")
    with _gradebook(db, course_id) as gb:
        record = gb.find_assignment(assignment)
        cells = [g.name for nb in record.notebooks for g in nb.grade_cells]
        max_score = float(record.max_score)
        rows = []
        for student in sorted(s.id for s in gb.students):
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                rows.append(
                    {
                        "student_id": student,
                        "timestamp": "",
                        "score": 0.0,
                        "max_score": max_score,
                        "late_penalty": 0.0,
                        **{f"cell:{c}": 0.0 for c in cells},
                    }
                )
                continue
            stamp = sub.timestamp.isoformat() if sub.timestamp else ""
            if not stamp and student in submitted:
                stamp = datetime.fromtimestamp(submitted[student]).isoformat(timespec="seconds")
            points = {g.name: float(g.score) for nb in sub.notebooks for g in nb.grades}
            rows.append(
                {
                    "student_id": student,
                    "timestamp": stamp,
                    "score": float(sub.score),
                    "max_score": float(sub.max_score),
                    "late_penalty": float(sub.late_submission_penalty),
                    **{f"cell:{c}": points.get(c, 0.0) for c in cells},
                }
            )
    fields = ["student_id", "timestamp", "score", "max_score", "late_penalty", *(f"cell:{c}" for c in cells)]
    with csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csvlib.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    with canvas.open("w", newline="", encoding="utf-8") as fh:
        writer = csvlib.writer(fh)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
        writer.writerow(["Points Possible", "", "", "", "", f"{max_score:g}"])
        for row in rows:
            writer.writerow(
                [row["student_id"], "", "", row["student_id"], "", f"{row['score'] - row['late_penalty']:g}"]
            )
    return csv, canvas

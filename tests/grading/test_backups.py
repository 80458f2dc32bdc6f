"""Gradebook backups go to backups/ (ignored by git) and only the newest are kept."""

from __future__ import annotations

import sqlite3

from kdlib.grading.host import gradebook


def test_backups_are_kept_in_their_folder_with_retention(tmp_path):
    db = tmp_path / "gradebook.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t (x)")
        con.execute("insert into t values (42)")
    made = [gradebook.backup(db, keep=3) for _ in range(5)]
    assert all(p.parent == tmp_path / "backups" for p in made)
    left = sorted((tmp_path / "backups").iterdir())
    assert len(left) == 3 and set(left) == set(made[-3:])
    with sqlite3.connect(made[-1]) as con:
        assert con.execute("select x from t").fetchone() == (42,)
    assert gradebook.backup(tmp_path / "none.db") is None
    assert "backups/" in (gradebook.__file__ and open(__file__.rsplit("/tests/", 1)[0] + "/.gitignore").read())

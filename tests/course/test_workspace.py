"""Nothing a learner wrote is lost: work/ is theirs, and release refuses to overwrite worked-in notebooks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kdlib import workspace
from kdlib.grading import GradingError, release

ROOT = Path(__file__).resolve().parents[2]


def test_start_copies_once_and_never_overwrites(tmp_path):
    shutil.copytree(ROOT / "notebooks" / "00_welcome", tmp_path / "notebooks" / "00_welcome")
    done = workspace.start(root=tmp_path)
    mine = tmp_path / "work" / "00_welcome" / "00_welcome.ipynb"
    assert done["copied"] == [mine] and not done["kept"]
    mine.write_text("my work")
    done = workspace.start(["00_welcome"], root=tmp_path)
    assert done["kept"] == [mine] and mine.read_text() == "my work"
    with pytest.raises(ValueError, match="unknown assignment"):
        workspace.start(["99_nope"], root=tmp_path)


@pytest.mark.slow
def test_release_refuses_to_overwrite_work_and_keeps_a_backup_when_forced(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / "00_welcome", tmp_path / "solutions" / "00_welcome")
    from kdlib.grading.cli import main as grading_main

    # a course outside the repository, as on a JupyterHub: python -m kdlib.grading release --course-dir DIR
    assert grading_main(["release", "--course-dir", str(tmp_path), "00_welcome"]) == 0
    path = tmp_path / "notebooks" / "00_welcome" / "00_welcome.ipynb"
    assert path.is_file()
    release(["00_welcome"], tmp_path)  # an untouched release is simply replaced
    nb = nbformat.read(path, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a learner ran this")]
    nbformat.write(nb, path)
    with pytest.raises(GradingError, match="(?s)would overwrite work in 1 notebook.*it has outputs"):
        release(["00_welcome"], tmp_path)
    assert "a learner ran this" in path.read_text()
    release(["00_welcome"], tmp_path, force=True)
    backups = list((tmp_path / "backups" / "notebooks").glob("00_welcome.*.ipynb"))
    assert len(backups) == 1 and "a learner ran this" in backups[0].read_text()
    assert "a learner ran this" not in path.read_text()


def test_release_of_an_unknown_assignment_names_it(tmp_path, capsys):
    from kdlib.grading.cli import main as grading_main

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "solutions").mkdir()
    assert grading_main(["release", "--course-dir", str(tmp_path), "99_nope"]) == 2
    assert "99_nope" in capsys.readouterr().err


def test_learner_lab_hides_nbgraders_instructor_tools():
    cfg = ROOT / "jupyter-config" / "learner"
    disabled = json.loads((cfg / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert {
        "@jupyter/nbgrader:formgrader",
        "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:assignment-list",
        "@jupyter/nbgrader:course-list",
    } <= set(disabled)
    out = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "server", "extension", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(cfg)},
        timeout=120,
        check=False,
    )
    text = out.stdout + out.stderr
    assert (
        "nbgrader.server_extensions.formgrader \x1b[31mdisabled" in text
        or "nbgrader.server_extensions.formgrader disabled" in text
    ), text[-2000:]
    make = subprocess.run(["make", "-n", "-C", str(ROOT), "lab"], capture_output=True, text=True, check=False).stdout
    assert "--notebook-dir=work" in make and "jupyter-config/learner" in make
    assert ("--allow-root" in make) == (os.geteuid() == 0)

"""kdlib.grading.answer_key: the graded kernel's kdlib hides the answer key, and says why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kdlib.grading import answer_key


def test_imported_modules_sees_every_form():
    code = (
        "import kdlib.reference\nfrom kdlib import reference as ref\nfrom kdlib.torch.losses import kd_loss\n"
        "import importlib\nm = importlib.import_module('kdlib.tf.losses')\n__import__('kdlib.deploy')\n"
    )
    mods = answer_key.imported_modules(code)
    assert {
        "kdlib.reference",
        "kdlib.torch.losses",
        "kdlib.torch.losses.kd_loss",
        "kdlib.tf.losses",
        "kdlib.deploy",
    } <= mods
    assert answer_key.uses(code, ["kdlib.torch", "kdlib.metrics"]) == ["kdlib.torch"]
    assert answer_key.uses("import kdlib.metrics", ["kdlib.torch"]) == []


def test_an_entry_that_names_nothing_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="names no single data file"):
        answer_key.kdlib_view(tmp_path / "a", ["answers.yaml"])
    with pytest.raises(ValueError, match="names no module"):
        answer_key.kdlib_view(tmp_path / "b", ["kdlib.nonexistent"])


def test_view_stubs_the_key_and_keeps_the_rest(tmp_path):
    root = answer_key.kdlib_view(tmp_path, ["kdlib.reference", "kdlib.torch", "questions.yaml"])
    assert not list(root.rglob("__pycache__")), "compiled copies of hidden modules must not come along"
    assert "hidden" in (root / "drill" / "questions.yaml").read_text()  # a package's data is hidden with it
    assert "kd_loss" in (answer_key.KDLIB / "drill" / "questions.yaml").read_text()  # ... and only in the view
    code = (
        "import kdlib.metrics\n"
        "for name in ('kdlib.reference', 'kdlib.torch.losses', 'kdlib.grading.judge'):\n"
        "    try:\n        __import__(name)\n        print('IMPORTED', name)\n"
        "    except ImportError as err:\n        print(err)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    assert "IMPORTED" not in out, out
    assert (
        "kdlib.reference is not available while a notebook is graded: it implements what this assignment "
        "grades (the answer key)" in out
    )
    assert "kdlib.torch is not available" in out  # a hidden package hides its modules
    assert "kdlib.grading.judge is not available" in out  # the judge framework is never in the kernel


def test_bad_entries_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="names no module of kdlib"):
        answer_key.kdlib_view(tmp_path / "a", ["kdlib.nope"])
    with pytest.raises(ValueError, match="kdlib submodules"):
        answer_key.kdlib_view(tmp_path / "b", ["numpy"])

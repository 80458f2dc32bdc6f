"""What notebooks (and the tools that run them) need from kdlib, and nothing of the grader.

Setup cells call :func:`warnings_to_stdout`; scripts, the ``kd`` command and the grader take
their quiet settings from :func:`quiet_environment`, so the list lives in one place.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check", "quiet_environment", "set_quiet_environment", "warnings_to_stdout"]


def quiet_environment(cache: str | os.PathLike | None = None) -> dict[str, str]:
    """Environment variables that silence TensorFlow's start-up notices and pin hashing.

    With ``cache`` (a folder), Keras and matplotlib keep their files there instead of the
    home folder.
    """
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONHASHSEED": "0"}
    if cache is not None:
        env["KERAS_HOME"] = str(Path(cache) / "keras")
        env["MPLCONFIGDIR"] = str(Path(cache) / "matplotlib")
    return env


def set_quiet_environment(cache: str | os.PathLike | None = None) -> None:
    """:func:`quiet_environment` into ``os.environ`` (values already set win); before importing TF."""
    for key, value in quiet_environment(cache).items():
        os.environ.setdefault(key, value)


def warnings_to_stdout() -> None:
    """Show Python warnings on stdout instead of stderr (call it in a notebook's setup cell).

    nbgrader gives 0 points to a test cell that writes anything to stderr, so a harmless
    warning raised while a test runs (a deprecation, ``F.kl_div``'s note on 'mean') would fail
    a correct answer. Learners still see the warning, on stdout.
    """
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(warnings.formatwarning(message, category, filename, lineno, line), end="")

    warnings.showwarning = show


def check(assignment: str, notebook: str | os.PathLike | None = None) -> int:
    """Grade your saved notebook as ``kd grade`` would and print points and messages (``kd check``).

    Save the notebook first (Ctrl-S): the check reads the file, not the running kernel. Runs
    in a separate process, so nothing in this kernel is touched. Returns the exit status.
    """
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "kdlib.cli", "check", assignment]
    if notebook is not None:
        cmd += ["--notebook", str(notebook)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print(proc.stdout + proc.stderr, end="")
    return proc.returncode

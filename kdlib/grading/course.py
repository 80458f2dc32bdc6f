"""Stage 1 — the course layout: where an nbgrader course keeps things, read from its config.

A course directory holds ``nbgrader_config.py`` and the folders it names: the source
(``solutions/``: notebooks with solutions, beside each its ``judge.py``), the release
(``notebooks/``), ``submitted/<student>/<assignment>/``, ``autograded/``, ``feedback/`` and the
gradebook. Every other stage takes a :class:`Course`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONFIG_FILE", "ROOT", "Course", "GradingError", "config", "nbgrader_env"]

#: the repository's own course (the default course directory)
ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = "nbgrader_config.py"


class GradingError(RuntimeError):
    """A grading step cannot run: unknown assignment, no submissions, nbgrader failed."""


def config(course: Path):
    """The course's nbgrader configuration (traitlets Config)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(CONFIG_FILE, path=str(course)).load_config()


def nbgrader_env(course: Path) -> dict[str, str]:
    """Environment for nbgrader subprocesses: this interpreter's ``bin/`` first (nbgrader runs alembic)."""
    from kdlib.notebook import quiet_environment

    env = dict(os.environ)
    bins = [str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join([*dict.fromkeys(bins), env.get("PATH", "")])
    for key, value in quiet_environment(course / ".cache").items():
        env.setdefault(key, value)
    return env


@dataclass(frozen=True)
class Course:
    """Where one course keeps things (from its ``nbgrader_config.py``)."""

    root: Path
    source: str
    release: str
    submitted: str
    autograded: str
    feedback: str
    db: Path
    course_id: str

    @classmethod
    def load(cls, course_dir: str | os.PathLike | None = None) -> Course:
        """The course at ``course_dir`` (default: this repository); GradingError if it is none."""
        root = Path(course_dir if course_dir is not None else ROOT).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise GradingError(f"{root} is not a course directory: it has no {CONFIG_FILE} (copy the one from {ROOT})")
        cd = config(root).CourseDirectory
        structure = cd.get("directory_structure", "{nbgrader_step}/{student_id}/{assignment_id}")
        if structure != "{nbgrader_step}/{student_id}/{assignment_id}":
            raise GradingError(f"kd grade needs nbgrader's default directory_structure, not {structure!r}")
        url = cd.get("db_url") or "sqlite:///" + str(root / "gradebook.db")
        if not url.startswith("sqlite:///"):
            raise GradingError(f"kd grade needs a SQLite gradebook (sqlite:///...), not {url}")
        return cls(
            root,
            cd.get("source_directory", "source"),
            cd.get("release_directory", "release"),
            cd.get("submitted_directory", "submitted"),
            cd.get("autograded_directory", "autograded"),
            cd.get("feedback_directory", "feedback"),
            Path(url[len("sqlite:///") :]),
            cd.get("course_id", ""),
        )

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db}"

    def assignments(self) -> list[str]:
        """Assignments in the source folder: folders NAME holding NAME.ipynb."""
        src = self.root / self.source
        if not src.is_dir():
            return []
        return sorted(p.name for p in src.iterdir() if (p / f"{p.name}.ipynb").is_file())

    def check_assignment(self, name: str) -> None:
        """GradingError listing the valid names unless ``name`` is an assignment."""
        valid = self.assignments()
        if name not in valid:
            raise GradingError(
                f"unknown assignment {name!r}: expected {self.source}/{name}/{name}.ipynb in {self.root}. "
                f"Valid names: {', '.join(valid) or 'none'}"
            )

    def students(self, assignment: str) -> list[str]:
        """Students with a folder ``submitted/<student>/<assignment>``."""
        sub = self.root / self.submitted
        if not sub.is_dir():
            return []
        return sorted(p.name for p in sub.iterdir() if (p / assignment).is_dir() or (p / assignment).is_symlink())

    def run_nbgrader(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
        """``python -m nbgrader ARGS`` in the course; GradingError quoting its last lines if it fails."""
        cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={self.root}"]
        proc = subprocess.run(
            cmd, cwd=self.root, env=nbgrader_env(self.root), capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise GradingError(f"`nbgrader {' '.join(args)}` failed ({proc.returncode}):\n{tail}")
        return proc

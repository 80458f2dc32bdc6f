"""The answer key: kdlib modules that implement what an assignment grades.

A judge declares them (``Judge(answer_key=[...])``). While a notebook is graded the sandbox
shows the kernel a copy of kdlib in which each of them is a stub whose import fails with
:data:`MESSAGE` (:func:`kdlib_view`), and locked cells that import them are not run. Outside
grading (a learner's own JupyterLab) they import normally, for the visible tests and demos;
:func:`imported_modules` lets a test check that no cell a student edits imports them.

Entries are dotted module names (``"kdlib.reference"``; a package covers its submodules and its
data files) or data files inside kdlib, by path (``"drill/questions.yaml"``) or by a name that
occurs once (``"questions.yaml"``). An entry that names nothing is an error, never a silent miss.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterable
from pathlib import Path

__all__ = ["MESSAGE", "covers", "imported_modules", "kdlib_view", "uses"]

KDLIB = Path(__file__).resolve().parents[1]
#: hidden from every graded kernel: the trusted side of the grader, its judge framework, and the
#: drill bank (its model answers include a correct kd_loss in both frameworks)
ALWAYS = ("kdlib.grading.host", "kdlib.grading.judge", "kdlib.grading.loss_checks", "kdlib.drill")
MESSAGE = (
    "{name} is not available while a notebook is graded: it implements what this assignment "
    "grades (the answer key). Write the code yourself in the notebook; outside grading the "
    "visible tests may still use it."
)


def imported_modules(source: str) -> set[str]:
    """Every module a cell's code imports, with ``from a import b`` also counted as ``a.b``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def covers(entry: str, module: str) -> bool:
    """Whether answer-key ``entry`` (a dotted name) covers ``module`` (itself or a submodule)."""
    return module == entry or module.startswith(entry + ".")


def uses(source: str, answer_key: Iterable[str]) -> list[str]:
    """The answer-key entries a cell imports (sorted)."""
    mods = imported_modules(source)
    keys = [k for k in answer_key if "/" not in k and not k.endswith((".yaml", ".json"))]
    return sorted({k for k in keys for m in mods if covers(k, m)})


HIDDEN_DATA = "# hidden while a notebook is graded (answer key)\n"


def _data_file(root: Path, entry: str) -> Path:
    """The data file an answer-key entry names: a path inside kdlib, or a name found exactly once."""
    target = root / entry
    if target.is_file():
        return target
    found = [p for p in root.rglob(Path(entry).name) if p.is_file()] if "/" not in entry else []
    if len(found) != 1:
        raise ValueError(f"answer_key entry {entry!r} names no single data file of kdlib (found {len(found)})")
    return found[0]


def _stub(name: str) -> str:
    return f"raise ImportError({MESSAGE.format(name=name)!r})\n"


def kdlib_view(dest: str | Path, answer_key: Iterable[str]) -> Path:
    """A copy of the kdlib package at ``dest/kdlib`` with the answer key replaced by stubs.

    Only source and data files are copied (no ``__pycache__``: compiled copies of the hidden
    modules must not come along). Returns the package folder.
    """
    root = Path(dest) / "kdlib"
    shutil.copytree(KDLIB, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    for entry in (*ALWAYS, *answer_key):
        if entry.endswith((".yaml", ".json")) or "/" in entry:
            _data_file(root, entry).write_text(HIDDEN_DATA, encoding="utf-8")
            continue
        if not covers("kdlib", entry) or entry == "kdlib":
            raise ValueError(f"answer_key entries name kdlib submodules, e.g. 'kdlib.reference', not {entry!r}")
        rel = Path(*entry.split(".")[1:])
        package, module = root / rel, (root / rel).with_suffix(".py")
        if package.is_dir():
            for path in package.rglob("*"):
                if path.suffix == ".py":
                    sub = ".".join(("kdlib", *path.relative_to(root).with_suffix("").parts))
                    path.write_text(_stub(sub.removesuffix(".__init__")), encoding="utf-8")
                elif path.is_file():  # the package's data (the drill bank): blanked too
                    path.write_text(HIDDEN_DATA, encoding="utf-8")
        elif module.is_file():
            module.write_text(_stub(entry), encoding="utf-8")
        else:
            raise ValueError(f"answer_key entry {entry!r} names no module of kdlib")
    return root

"""Safe autograding at class scale: every submission runs isolated, in parallel, with limits.

``kd grade ASSIGNMENT`` (``make grade ASSIGNMENT=...``) grades every collected submission of an
assignment. For each student, a worker process builds a scratch course (the nbgrader config,
the assignment's source from ``solutions/``, a copy of the gradebook and that student's files
only) and runs nbgrader's own Autograde converter on it. Only the notebook *kernel* runs the
student's code, and it runs inside a bubblewrap sandbox (:mod:`kdlib.sandbox`): it sees no
course folder, no gradebook, no other student, no network, and it writes only to in-memory
folders. The grading logic (which test cell failed) runs outside, in the trusted process.

Per submission: a wall-time limit (the kernel is killed, the cells that finished keep their
grades), a memory limit, an output cap and a file-size cap. Grades are merged into the real
gradebook by the parent process only, one student at a time, after a timestamped backup.

Tricks that make failing tests look passing are checked from the outside: a test cell earns
points only if nbgrader finds no error in it AND the kernel reported it finished without an
exception AND a per-run secret completion mark, printed by a hook installed before any student
code, is present. Before each test cell the hook also restores what the tests rely on (builtins,
IPython's exception handlers and transformers, tracing, the names and modules the locked setup
cells defined) and marks the test failed if the notebook tampered with them. See the README
section on grading untrusted notebooks for what this does not defend against.

    from kdlib import safegrade
    report = safegrade.grade("path/to/course", "03_loss_torch", jobs=2)
    print(report.format())

Workers are started with multiprocessing's "spawn" method (no fork of a threaded process): call
:func:`grade` from a script under ``if __name__ == "__main__":``, as for any multiprocessing code.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import hashlib
import json
import logging
import math
import multiprocessing
import numbers
import os
import re
import secrets
import shutil
import sqlite3
import stat
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kdlib import grading
from kdlib.grading import GradingError
from kdlib.sandbox import INSTALL_HINT, Limits, SandboxError, check_sandbox, find_bwrap

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "DEFAULT_TIMEOUT",
    "INSTALL_HINT",
    "Report",
    "SandboxError",
    "StudentResult",
    "cli",
    "grade",
]

#: wall-time limit per submission, seconds (kernel start, every cell, hooks)
DEFAULT_TIMEOUT = 600
#: total output a notebook may produce while graded, bytes (the rest is dropped)
DEFAULT_MAX_OUTPUT_BYTES = 10_000_000
#: smallest memory limit accepted: Python, ipykernel and PyTorch need about 1 GiB of address space
MIN_MEMORY_MB = 1024
#: a submitted notebook larger than this is not read at all
MAX_NOTEBOOK_BYTES = 50_000_000
#: total size of one student's submitted files
MAX_SUBMISSION_BYTES = 200_000_000
#: what the report calls each kind of problem (the keys are stable; tests and tools use them)
REASONS = {
    "timeout": "timeout",
    "memory": "memory limit",
    "disk": "disk limit",
    "crash": "crash (kernel died)",
    "missing": "missing or renamed notebook",
    "edited": "edited test/locked cells restored",
    "deleted": "deleted test cells restored",
    "metadata": "nbgrader cell metadata restored",
    "output": "output truncated",
    "tampering": "tampering with the grader",
    "unreadable": "unreadable submission",
    "error": "not graded (internal error)",
}
#: patterns in student-written code worth a human look (reported, never penalised)
SUSPICIOUS = {
    "IPython exception handling": r"set_custom_exc|CustomTB|excepthook",
    "builtins": r"\bbuiltins\b|__builtins__",
    "IPython internals": r"input_transformers|ast_transformers|events\.(register|callbacks)|run_cell|\.kernel\b",
    "tracing": r"settrace|setprofile",
    "ctypes": r"\bctypes\b",
    "process exit or signals": r"os\._exit|os\.kill|\bsignal\.",
    "sys.modules": r"sys\.modules",
    "subprocesses": r"\bsubprocess\b|os\.system|os\.popen",
    "network": r"\bsocket\b|urllib|requests\.|http\.client",
    "file deletion": r"shutil\.rmtree|os\.remove|os\.unlink|\.unlink\(",
    "the gradebook": r"gradebook",
}
_MARK = "kd-grader"
_IPYTHON_NAMES = re.compile(r"_{1,3}|_i{1,3}|_i?\d+|_oh|_ih|_dh|In|Out|exit|quit|get_ipython")
_HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


# --- results ---------------------------------------------------------------------------------


@dataclass
class StudentResult:
    """What happened to one submission."""

    student: str
    #: "ok" (graded, nothing to report), "problem" (graded; see reasons), "error" (not graded)
    status: str = "ok"
    score: float = 0.0
    max_score: float = 0.0
    #: grade_id -> (score, max_score), from the real gradebook after the merge
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: REASONS key -> detail
    reasons: dict[str, str] = field(default_factory=dict)
    #: things worth a human look that did not change the grade (suspicious code)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    feedback: list[Path] = field(default_factory=list)
    log: Path | None = None

    @property
    def lost(self) -> dict[str, float]:
        """Graded cells that lost points: grade_id -> points lost."""
        return {k: m - s for k, (s, m) in self.cells.items() if s < m}

    def describe(self) -> str:
        """One line: the reasons with their details."""
        return "; ".join(f"{REASONS[k]}: {v}" if v else REASONS[k] for k, v in self.reasons.items())


@dataclass
class Report:
    """The outcome of :func:`grade`."""

    assignment: str
    course: Path
    results: dict[str, StudentResult]
    csv: Path
    feedback_dir: Path
    autograded_dir: Path
    backup: Path | None
    seconds: float
    jobs: int

    @property
    def graded(self) -> list[StudentResult]:
        """Submissions graded with nothing to report."""
        return [r for r in self.results.values() if r.status == "ok"]

    @property
    def failed(self) -> list[StudentResult]:
        """Submissions with a problem (graded anyway where possible) or not graded."""
        return [r for r in self.results.values() if r.status != "ok"]

    def format(self) -> str:
        """The report printed by ``kd grade``."""
        n = len(self.results)
        lines = [f"{self.assignment}: {n} submission(s) in {self.seconds:.0f} s with {self.jobs} job(s)"]
        width = max([7, *(len(s) for s in self.results)])
        if self.graded:
            lines += ["", f"graded ({len(self.graded)}):", f"  {'student':<{width}}  {'score':>11}  lost points on"]
            for r in self.graded:
                lost = ", ".join(f"{k} (-{v:g})" for k, v in r.lost.items()) or "-"
                lines.append(f"  {r.student:<{width}}  {r.score:>5g} / {r.max_score:<3g}  {lost}")
        if self.failed:
            lines += ["", f"failed or flagged ({len(self.failed)}):", f"  {'student':<{width}}  {'score':>11}  reason"]
            for r in self.failed:
                score = "not graded" if r.status == "error" else f"{r.score:>5g} / {r.max_score:<3g}"
                lines.append(f"  {r.student:<{width}}  {score:>11}  {r.describe()}")
        flagged = [r for r in self.results.values() if r.flags]
        if flagged:
            lines += ["", "worth a look (grades unaffected):"]
            lines += [f"  {r.student:<{width}}  {', '.join(r.flags)}" for r in flagged]
        lines += [
            "",
            "files:",
            f"  grades (CSV)          {self.csv}",
            f"  feedback (HTML)       {self.feedback_dir}/<student>/{self.assignment}/",
            f"  autograded notebooks  {self.autograded_dir}/<student>/{self.assignment}/",
            f"  logs                  {self.course / 'out' / 'grading-logs' / self.assignment}/",
            f"  gradebook backup      {self.backup or '(there was no gradebook yet)'}",
        ]
        return "\n".join(lines)


# --- the course ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where a course keeps things (from its nbgrader_config.py)."""

    root: Path
    source: str
    submitted: str
    autograded: str
    feedback: str
    db: Path

    @classmethod
    def load(cls, course: Path) -> _Layout:
        cd = _config(course).CourseDirectory
        structure = cd.get("directory_structure", "{nbgrader_step}/{student_id}/{assignment_id}")
        if structure != "{nbgrader_step}/{student_id}/{assignment_id}":
            raise GradingError(f"kd grade needs nbgrader's default directory_structure, not {structure!r}")
        url = cd.get("db_url") or "sqlite:///" + str(course / "gradebook.db")
        if not url.startswith("sqlite:///"):
            raise GradingError(f"kd grade needs a SQLite gradebook (sqlite:///...), not {url}")
        return cls(
            course,
            cd.get("source_directory", "source"),
            cd.get("submitted_directory", "submitted"),
            cd.get("autograded_directory", "autograded"),
            cd.get("feedback_directory", "feedback"),
            Path(url[len("sqlite:///"):]),
        )

    def students(self, assignment: str) -> list[str]:
        """Students with a folder ``submitted/<student>/<assignment>``."""
        sub = self.root / self.submitted
        if not sub.is_dir():
            return []
        return sorted(p.name for p in sub.iterdir() if (p / assignment).is_dir() or (p / assignment).is_symlink())


def _config(course: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(grading.CONFIG_FILE, path=str(course)).load_config()


def _course(course_dir: str | os.PathLike | None) -> Path:
    course = Path(course_dir if course_dir is not None else grading.ROOT).resolve()
    if not (course / grading.CONFIG_FILE).is_file():
        raise GradingError(f"{course} is not a course directory: it has no {grading.CONFIG_FILE}")
    return course


def _backup(db: Path) -> Path | None:
    """A consistent timestamped copy of the gradebook next to it (None if there is none yet)."""
    if not db.is_file():
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = db.with_name(f"{db.name}.{stamp}.bak")
    n = 1
    while dest.exists():
        dest = db.with_name(f"{db.name}.{stamp}-{n}.bak")
        n += 1
    _sqlite_copy(db, dest)
    return dest


def _sqlite_copy(src: Path, dest: Path) -> None:
    a, b = sqlite3.connect(f"file:{src}?mode=ro", uri=True), sqlite3.connect(dest)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def _copy_files(src: Path, dest: Path, *, max_bytes: int | None = None) -> list[str]:
    """Copy the regular files and folders under ``src`` (no symlinks, devices or pipes).

    Returns what was skipped, for the report.
    """
    skipped: list[str] = []
    total = 0
    dest.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        for name in list(dirs):
            if (Path(root) / name).is_symlink():
                dirs.remove(name)
                skipped.append(f"{rel / name} (symlink)")
            else:
                (dest / rel / name).mkdir(exist_ok=True)
        for name in files:
            path = Path(root) / name
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                skipped.append(f"{rel / name} (not a regular file)")
                continue
            total += st.st_size
            if max_bytes is not None and total > max_bytes:
                skipped.append(f"{rel / name} (over {max_bytes // 1_000_000} MB in total)")
                continue
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fin, open(dest / rel / name, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            shutil.copystat(path, dest / rel / name, follow_symlinks=False)
    return skipped


# --- what the trusted side tells the kernel-side guard ---------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _defined_names(source: str) -> tuple[list[str], list[str]]:
    """Top-level names a cell binds, and the modules it imports."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], []
    names: list[str] = []
    modules: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names.append(alias.asname or alias.name.split(".")[0])
                modules.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.append(node.module)
            for alias in node.names:
                if alias.name != "*":
                    names.append(alias.asname or alias.name)
                    modules.append(f"{node.module}.{alias.name}")
    names = [n for n in names if not _IPYTHON_NAMES.fullmatch(n)]  # IPython rebinds these itself
    return list(dict.fromkeys(names)), list(dict.fromkeys(modules))


def _guard_params(nb, nonce: str) -> dict[str, Any]:
    """Which cells are tests and which are locked setup cells, by the hash of their source."""
    from nbgrader import utils

    tests: dict[str, str] = {}
    setups: dict[str, list[str]] = {}
    modules: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if utils.is_grade(cell) and not utils.is_solution(cell):
            tests[_sha(cell.source)] = cell.metadata.nbgrader["grade_id"]
        elif utils.is_locked(cell) and not utils.is_solution(cell):
            names, mods = _defined_names(cell.source)
            setups[_sha(cell.source)] = names
            modules += mods
    return {"nonce": nonce, "tests": tests, "setups": setups, "modules": list(dict.fromkeys(modules))}


# The code below runs INSIDE the student's kernel, silently, before any notebook cell. It
# registers IPython pre/post_run_cell hooks: before a test (or locked setup) cell it restores
# what the tests rely on; after a test cell it prints the completion mark (with the per-run
# nonce) only if the cell raised nothing and nothing was tampered with. It never writes to
# stderr (that alone fails a test cell in nbgrader).
_GUARD = r'''
def _kd_install(p):
    import builtins, hashlib, importlib, sys, threading, types
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    ns = shell.user_ns
    out = sys.stdout
    nonce, tests, setups = p["nonce"], p["tests"], p["setups"]
    MISSING = object()
    state = {"cur": None, "poisoned": "", "names": {}, "mods": {}}

    def sha(text):
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def fn_state(obj):
        if isinstance(obj, types.FunctionType):
            return (obj.__code__, obj.__defaults__, obj.__kwdefaults__)
        return None

    def same_fn(obj, saved):
        now = fn_state(obj)
        return now is saved or (now is not None and saved is not None and all(a is b for a, b in zip(now, saved)))

    for name in p["modules"]:
        try:
            importlib.import_module(name)
        except BaseException:
            pass

    import os
    prefixes = tuple(dict.fromkeys(
        os.path.join(p, "") for base in (sys.prefix, sys.base_prefix) for p in (base, os.path.realpath(base))))

    def library_made(obj):
        # libraries rebind their own functions at run time (torch._dynamo wraps torch.manual_seed
        # when first imported): a plain function whose code lives in the installed packages
        code = getattr(obj, "__code__", None) if isinstance(obj, types.FunctionType) else None
        return code is not None and code.co_filename.startswith(prefixes)

    def snap_module(mod):
        snap = {}
        for key, value in list(vars(mod).items()):
            if callable(value) and not isinstance(value, types.ModuleType):
                snap[key] = (value, fn_state(value))
        return snap

    def snap_modules():
        names = [n for n in p["modules"] if n in sys.modules]
        names += [n for n in list(sys.modules) if n == "kdlib" or n.startswith("kdlib.")]
        for name in dict.fromkeys(names):
            mod = sys.modules.get(name)
            if isinstance(mod, types.ModuleType):
                state["mods"][name] = (mod, snap_module(mod))

    snap_modules()
    # names IPython and ipykernel themselves rebind while a cell runs
    skip = {"_", "__", "___", "exit", "quit", "get_ipython", "display", "__IPYTHON__", "dreload", "help",
            "input", "raw_input"}
    builtins0 = {k: v for k, v in vars(builtins).items() if k not in skip}
    attrs = [
        (sys, "excepthook", False),
        (shell, "CustomTB", False),
        (shell, "custom_exceptions", False),
        (shell, "input_transformer_manager", True),
    ]
    attrs = [(obj, name, getattr(obj, name, MISSING), comp) for obj, name, comp in attrs]
    itm = shell.input_transformer_manager
    lists = [
        (shell, "input_transformers_cleanup", True),
        (shell, "input_transformers_post", True),
        (shell, "ast_transformers", False),
        (itm, "cleanup_transforms", True),
        (itm, "line_transforms", True),
        (itm, "token_transformers", True),
    ]
    lists = [(o, n, getattr(o, n), tuple(getattr(o, n)), c)
             for o, n, c in lists if isinstance(getattr(o, n, None), list)]
    early = {"run_cell", "_run_cell", "run_cell_async", "transform_cell", "should_run_async",
             "do_execute", "execute_request"}
    methods = []
    for obj, names in ((shell, ["run_cell", "_run_cell", "run_cell_async", "transform_cell", "transform_ast",
                               "should_run_async", "run_ast_nodes", "run_code", "showtraceback",
                               "_showtraceback", "set_custom_exc"]),
                       (kernel, ["do_execute", "execute_request"])):
        if obj is None:
            continue
        for name in names:
            value = getattr(type(obj), name, None)
            if value is not None:
                methods.append((obj, name, value, name in early))
    tracers = (sys.gettrace(), sys.getprofile(), getattr(threading, "_trace_hook", None),
               getattr(threading, "_profile_hook", None))

    def force(obj, name, value):
        try:
            setattr(obj, name, value)
        except (AttributeError, TypeError):  # a read-only property: restoring its owner is enough
            pass

    def scan(fix):
        found = []
        for obj, name, orig, comp in attrs:
            if getattr(obj, name, MISSING) is not orig:
                found.append((name, comp))
                if fix:
                    force(obj, name, orig)
        for obj, name, lst, items, comp in lists:
            cur = getattr(obj, name, None)
            if cur is not lst or len(cur) != len(items) or any(a is not b for a, b in zip(cur, items)):
                found.append((name, comp))
                if fix:
                    lst[:] = items
                    if getattr(obj, name, None) is not lst:
                        force(obj, name, lst)
        for obj, name, orig, comp in methods:
            if name in vars(obj) or getattr(type(obj), name, None) is not orig:
                found.append((name, comp))
                if fix:
                    vars(obj).pop(name, None)
                    force(type(obj), name, orig)
        now = (sys.gettrace(), sys.getprofile(), getattr(threading, "_trace_hook", None),
               getattr(threading, "_profile_hook", None))
        if any(a is not b for a, b in zip(now, tracers)):
            found.append(("tracing", False))
            if fix:
                sys.settrace(tracers[0])
                sys.setprofile(tracers[1])
                threading._trace_hook, threading._profile_hook = tracers[2], tracers[3]
        bdict = vars(builtins)
        for key, value in builtins0.items():
            if bdict.get(key, MISSING) is not value:
                found.append(("builtins." + key, False))
                if fix:
                    bdict[key] = value
        for key, (value, saved) in state["names"].items():
            if ns.get(key, MISSING) is not value or not same_fn(value, saved):
                found.append((key, False))
                if fix:
                    ns[key] = value
                    if saved is not None:
                        value.__code__, value.__defaults__, value.__kwdefaults__ = saved
        for mname, (mod, snap) in state["mods"].items():
            mdict = vars(mod)
            strict = mname == "kdlib" or mname.startswith("kdlib.")
            for key, (value, saved) in list(snap.items()):
                cur = mdict.get(key, MISSING)
                if cur is value and same_fn(value, saved):
                    continue
                if not strict and cur is not value and same_fn(value, saved) and library_made(cur):
                    snap[key] = (cur, fn_state(cur))  # a library rebinding its own function
                    continue
                found.append((mname + "." + key, False))
                if fix:
                    mdict[key] = value
                    if saved is not None:
                        value.__code__, value.__defaults__, value.__kwdefaults__ = saved
        return found

    def clean(labels):
        return ",".join(str(x).replace("|", "/").replace("]", ")") for x in dict.fromkeys(labels))

    def emit(gid, ok, problems, restored):
        try:
            out.flush()
        except BaseException:
            pass
        out.write("\n[%s|%s|%s|%s|%s|%s]\n" % ("kd-grader", nonce, gid, "ok" if ok else "fail",
                                                clean(problems), clean(restored)))
        out.flush()

    def pre(info):
        state["cur"] = None
        try:
            h = sha(info.raw_cell)
            gid, names = tests.get(h), setups.get(h)
            if gid is None and names is None:
                return
            found = scan(True)
            comp = [label for label, c in found if c]
            if names is not None and comp:
                state["poisoned"] = "tampering before a setup cell (" + clean(comp) + ")"
            state["cur"] = (h, gid, names, comp, [label for label, c in found])
        except BaseException as err:
            state["cur"] = ("", tests.get(sha(info.raw_cell)), None, ["guard error " + type(err).__name__], [])

    def post(result):
        cur, state["cur"] = state["cur"], None
        if cur is None:
            return
        h, gid, names, comp, restored = cur
        try:
            same = sha(result.info.raw_cell) == h
            changed = [label for label, c in scan(False)]
            if names is not None and result.success and same and not comp:
                for key in names:
                    if key in ns:
                        state["names"][key] = (ns[key], fn_state(ns[key]))
                snap_modules()
                return
            if gid is None:
                return
            problems = []
            if not result.success:
                problems.append("error")
            if not same:
                problems.append("the test cell was replaced")
            if comp:
                problems.append("changed before the test (" + clean(comp) + ")")
            if changed:
                problems.append("changed during the test (" + clean(changed) + ")")
                scan(True)
            if state["poisoned"]:
                problems.append(state["poisoned"])
            emit(gid, not problems, problems, restored)
        except BaseException as err:
            if gid is not None:
                emit(gid, False, ["guard error " + type(err).__name__], restored)

    shell.events.register("pre_run_cell", pre)
    shell.events.register("post_run_cell", post)
'''


def _guard_code(params: dict[str, Any]) -> str:
    return f"{_GUARD}\n_kd_install({json.dumps(params)})\ndel _kd_install\n"


# --- nbgrader preprocessors (trusted side) -----------------------------------------------------


@dataclass
class _RunState:
    """What the preprocessors of one student's run learn; read by the worker afterwards."""

    nonce: str = field(default_factory=lambda: secrets.token_hex(16))
    statuses: dict[int, str] = field(default_factory=dict)
    timed_out: bool = False
    cell_timeouts: list[str] = field(default_factory=list)
    death: str = ""
    truncated: bool = False
    memory: bool = False
    disk: bool = False
    stopped: bool = False  # the grader killed the kernel (it ignored an interrupt)
    edited: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    guard_ok: bool = False


_RUN = _RunState()
_MEMORY = re.compile(r"MemoryError|can't allocate memory|Unable to allocate|out of memory|bad_alloc|Cannot allocate")


def _visible(source: str) -> list[str]:
    """A test cell's lines as the student sees them: hidden tests removed, blank lines ignored."""
    lines, hidden = [], False
    for line in source.splitlines():
        s = line.strip()
        if s == _HIDDEN[0]:
            hidden = True
        elif s == _HIDDEN[1]:
            hidden = False
        elif not hidden and s:
            lines.append(line.rstrip())
    return lines


def _bad_partial_credit(cell) -> str:
    """Why an ``execute_result`` of a test cell would make nbgrader abort (empty if it would not)."""
    limit = float(cell.metadata.nbgrader.get("points", 0))
    for out in cell.outputs:
        if out.get("output_type") == "error":
            return ""
        if out.get("output_type") == "execute_result":
            text = out.get("data", {}).get("text/plain", "")
            text = text[0] if isinstance(text, list) and len(text) == 1 else text
            try:
                value = float(text)
            except (TypeError, ValueError):
                return ""
            if not 0 <= value <= limit:
                return f"the test cell's result {value:g} is outside 0..{limit:g} points"
            return ""
    return ""


def _error_output(ename: str, evalue: str):
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def _preprocessors():
    """The nbgrader preprocessor classes this module adds (imports nbgrader lazily)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync
    from nbgrader import utils
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import Execute, NbGraderPreprocessor
    from traitlets import Integer

    from kdlib.sandbox import SandboxKernelManager

    class RestoreMetadata(NbGraderPreprocessor):
        """Put back the nbgrader metadata of every known cell; record edits and deletions."""

        def preprocess(self, nb, resources):
            info = resources["nbgrader"]
            with Gradebook(info["db_url"]) as gb:
                rec = gb.find_notebook(info["notebook"], info["assignment"])
                source = {c.name: (c.locked, c.source, c.cell_type) for c in rec.source_cells}
                points = {c.name: float(c.max_score) for c in rec.grade_cells}
                solution = {c.name for c in rec.solution_cells}
                task = {c.name for c in rec.task_cells}
            last: dict[str, int] = {}
            for i, cell in enumerate(nb.cells):
                meta = cell.metadata.get("nbgrader")
                if meta is not None and not isinstance(meta, dict):
                    del cell.metadata["nbgrader"]
                    continue
                if meta and meta.get("grade_id") in source:
                    last[meta["grade_id"]] = i
            for i, cell in enumerate(nb.cells):
                meta = cell.metadata.get("nbgrader")
                if not meta:
                    continue
                gid = meta.get("grade_id")
                if gid not in source or last.get(gid) != i:
                    if meta.get("grade") or meta.get("locked") or meta.get("solution") or meta.get("task"):
                        _RUN.metadata.append(str(gid))
                    del cell.metadata["nbgrader"]
                    continue
                locked, src, cell_type = source[gid]
                want = {"grade_id": gid, "grade": gid in points, "solution": gid in solution,
                        "task": gid in task, "locked": bool(locked)}
                if gid in points:
                    want["points"] = points[gid]
                if any(meta.get(k) != v for k, v in want.items()) or cell.cell_type != cell_type:
                    _RUN.metadata.append(gid)
                meta.update(want)
                if not want["grade"] and "points" in meta:
                    del meta["points"]
                if locked and (gid in points or cell.cell_type == "code") and _visible(cell.source) != _visible(src):
                    _RUN.edited.append(gid)
            present = set(last)
            _RUN.deleted += [gid for gid in points if gid not in present]
            return nb, resources

    class SandboxExecute(Execute):
        """nbgrader's Execute with the kernel in bubblewrap, an output cap and kernel-death handling."""

        max_output_bytes = Integer(DEFAULT_MAX_OUTPUT_BYTES, help="output kept per notebook").tag(config=True)

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
            super().__init__(*args, **kwargs)

        def preprocess(self, nb, resources=None, km=None):
            self._dead = False
            self._bytes = 0
            return super().preprocess(nb, resources, km)

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            code = _guard_code(_guard_params(self.nb, _RUN.nonce))
            msg_id = kc.execute(code, silent=True, store_history=False)
            reply = await self.async_wait_for_reply(msg_id)
            if reply is None or reply["content"].get("status") != "ok":
                raise RuntimeError(f"the grader could not prepare the kernel: {reply and reply['content']}")
            _RUN.guard_ok = True
            return kc

        start_new_kernel_client = run_sync(async_start_new_kernel_client)

        def on_cell_executed(self, **kwargs):
            super().on_cell_executed(**kwargs)
            _RUN.statuses[kwargs["cell_index"]] = kwargs["execute_reply"]["content"].get("status", "")

        def _stop_kernel(self, why: str) -> None:
            self._dead = True
            _RUN.death = _RUN.death or why
            _RUN.stopped = True
            from kdlib.sandbox import kill_all

            kill_all()

        def preprocess_cell(self, cell, resources, index):
            if self._dead:
                if cell.cell_type == "code":
                    cell.outputs = []
                return cell, resources
            try:
                return super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                status = getattr(self.km, "exit_status", None)
                if _RUN.timed_out:
                    why = "stopped at the wall-time limit"
                else:
                    why = f"the kernel died (exit status {status})"
                self._dead = True
                _RUN.death = _RUN.death or why
                cell.outputs.append(_error_output("KernelDied", f"{why} while this cell ran"))
                return cell, resources
            except CellTimeoutError:
                # the kernel ignored the interrupt, or flooded its output past the iopub timeout
                why = "a cell kept running after it was interrupted"
                _RUN.cell_timeouts.append(str(index))
                cell.outputs.append(_error_output("CellTimeoutError", why))
                self._stop_kernel(why)
                return cell, resources

        def _size(self, msg) -> int:
            content = msg.get("content", {})
            size = len(content.get("text", "") or "")
            for value in (content.get("data") or {}).values():
                size += len(value) if isinstance(value, (str, bytes)) else len(json.dumps(value))
            return size + sum(len(b) for b in msg.get("buffers", []) or [])

        def output(self, outs, msg, display_id, cell_index):
            size = self._size(msg)
            if self._bytes + size > self.max_output_bytes:
                text = msg.get("content", {}).get("text", "") or ""
                keep = "".join(re.findall(r"\n?\[kd-grader\|[^\]\n]*\]\n?", text)) if _RUN.nonce in text else ""
                if not _RUN.truncated:
                    _RUN.truncated = True
                    outs.append(self._notice())
                if keep:
                    from nbformat.v4 import new_output

                    outs.append(new_output("stream", name="stdout", text=keep))
                return None
            self._bytes += size
            return super().output(outs, msg, display_id, cell_index)

        def _notice(self):
            from nbformat.v4 import new_output

            text = f"\n[output truncated by the grader: more than {self.max_output_bytes:,} bytes]\n"
            return new_output("stream", name="stdout", text=text)

        def _update_display_id(self, display_id, msg):
            if self._bytes + self._size(msg) > self.max_output_bytes:
                _RUN.truncated = True
                return
            self._bytes += self._size(msg)
            super()._update_display_id(display_id, msg)

        def handle_comm_msg(self, outs, msg, cell_index):
            return  # widget state is not needed for grading, and its size is not capped

    class Verify(NbGraderPreprocessor):
        """A test cell keeps its points only with the kernel's 'ok' and the guard's completion mark."""

        def preprocess(self, nb, resources):
            field_ = r"\|([^|\]\n]*)"
            mark = re.compile(
                r"\n?\[" + _MARK + r"\|" + _RUN.nonce + r"\|([A-Za-z0-9_.\-]*)\|(ok|fail)" + field_ * 2 + r"\]\n?"
            )
            tampered: dict[str, str] = {}
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                marks, kept = [], []
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "stream" and _RUN.nonce in out.get("text", ""):
                        marks += mark.findall(out.text)
                        out.text = mark.sub("", out.text)
                        if not out.text:
                            continue
                    if out.get("output_type") == "error":
                        if _MEMORY.search(f"{out.get('ename', '')} {out.get('evalue', '')}"):
                            _RUN.memory = True
                        if out.get("ename") == "CellTimeoutError":
                            _RUN.cell_timeouts.append(str(index))
                    kept.append(out)
                cell.outputs = kept
                for gid, verdict, problems, restored in marks:
                    _RUN.restored += [r for r in restored.split(",") if r]
                    extra = [p for p in problems.split(",") if p and p != "error"]
                    if verdict == "fail" and extra:
                        tampered.setdefault(gid, problems.removeprefix("error,"))
                if not (utils.is_grade(cell) and not utils.is_solution(cell)):
                    continue
                gid = cell.metadata.nbgrader["grade_id"]
                bad = _bad_partial_credit(cell)
                if bad:  # nbgrader would abort the whole notebook; fail this test only
                    cell.outputs.insert(0, _error_output("GradingError", bad))
                    tampered.setdefault(gid, bad)
                    continue
                status = _RUN.statuses.get(index)
                mine = [m for m in marks if m[0] == gid]
                if status == "ok" and mine and all(m[1] == "ok" for m in mine):
                    continue
                auto, _ = utils.determine_grade(cell)
                if auto is not None and auto == 0:
                    continue  # nbgrader fails it anyway (an ordinary failing test)
                has_error = any(o.get("output_type") == "error" for o in cell.outputs)
                problems = ", ".join(m[2] for m in mine if m[2] and m[2] != "error")
                if status is None:
                    why = f"this test did not run: {_RUN.death or 'the kernel had stopped'}"
                elif problems:
                    why = f"the notebook tampered with the test: {problems}"
                elif status == "ok" and not mine:
                    why = "the grader could not confirm this test finished (its cell hooks were removed)"
                elif not has_error:
                    why = "this test raised an exception that the notebook hid"
                else:
                    why = "this test failed, but the notebook published a result that would earn points"
                if status is not None:
                    tampered.setdefault(gid, why)
                cell.outputs.insert(0, _error_output("GradingError", why))
            by_why: dict[str, list[str]] = {}
            for gid, why in tampered.items():
                by_why.setdefault(why, []).append(gid)
            _RUN.tampering += [f"{why} ({', '.join(gids)})" for why, gids in by_why.items()]
            return nb, resources

    return RestoreMetadata, SandboxExecute, Verify


# --- the worker: one student -------------------------------------------------------------------


@dataclass
class _Job:
    """Everything a worker needs to grade one student (picklable)."""

    course: str
    assignment: str
    student: str
    work: str
    template_db: str
    layout: _Layout
    limits: Limits
    timeout: float
    cell_timeout: int | None
    max_output_bytes: int
    feedback: bool = True


@dataclass
class _Outcome:
    """What a worker sends back: grades to merge, files to copy, reasons."""

    student: str
    reasons: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    grades: dict[str, Any] | None = None
    autograded: str | None = None
    feedback: str | None = None
    log: str | None = None
    seconds: float = 0.0
    error: str = ""


_LOGGERS = ("traitlets", "nbgrader", "NbGrader", "nbclient", "jupyter_client")


def _logger(path: Path | None) -> logging.Logger:
    """A logger writing to ``path`` that also takes nbgrader's and jupyter's messages (None: drop)."""
    handler: logging.Handler = logging.FileHandler(path) if path else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
    log = logging.getLogger("kdlib.safegrade.worker")
    for logger in (log, *(logging.getLogger(name) for name in _LOGGERS)):
        for old in logger.handlers:
            old.close()
        logger.handlers[:] = [handler]
        logger.propagate = False
    log.setLevel(logging.INFO)
    return log


def _student_cfg(job: _Job, course: Path, ipc: Path, kernel_log: Path):
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        Execute,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    restore, execute, verify = _preprocessors()
    cfg = _config(Path(job.course))
    cd = cfg.CourseDirectory
    cd.root = str(course)
    cd.db_url = f"sqlite:///{course / 'gradebook.db'}"
    cd.assignment_id = job.assignment
    cd.student_id = job.student
    cd.student_id_exclude = ""
    cd.notebook_id = "*"
    sanitize = list(cfg.Autograde.get("sanitize_preprocessors", None) or [
        ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata])
    grade = list(cfg.Autograde.get("autograde_preprocessors", None) or [
        Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,
        CheckCellMetadata])
    sanitize.insert(1 if sanitize and sanitize[0] is ClearOutput else 0, restore)
    if Execute not in grade:
        raise GradingError("the course's Autograde.autograde_preprocessors must include nbgrader's Execute")
    at = grade.index(Execute)
    grade[at: at + 1] = [execute, verify]
    cfg.Autograde.sanitize_preprocessors = sanitize
    cfg.Autograde.autograde_preprocessors = grade
    cfg.OverwriteCells.add_missing_cells = True
    if job.cell_timeout:
        cfg.SandboxExecute.timeout = int(job.cell_timeout)
    cfg.SandboxExecute.max_output_bytes = job.max_output_bytes
    km = cfg.SandboxKernelManager
    km.ipc_dir = str(ipc)
    km.memory_mb, km.file_mb, km.tmp_mb, km.threads = (
        job.limits.memory_mb, job.limits.file_mb, job.limits.tmp_mb, job.limits.threads)
    km.max_message_bytes = job.max_output_bytes + 1_000_000
    km.log_file = str(kernel_log)
    cfg.HTMLExporter.sanitize_html = True
    return cfg, Autograde


def _scan(nb_path: Path, locked_sources: set[str]) -> list[str] | None:
    """Names of SUSPICIOUS patterns in the code the student wrote; None if it is no notebook."""
    import nbformat

    try:
        nb = nbformat.read(nb_path, as_version=4)  # as lenient as nbgrader: a warning if invalid
    except Exception:
        return None
    code = "\n".join(
        c.source for c in nb.cells if c.cell_type == "code" and _sha(c.source) not in locked_sources
    )
    return [name for name, pattern in SUSPICIOUS.items() if re.search(pattern, code)]


def _grades_from(db: Path, assignment: str, student: str) -> dict[str, Any]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
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


def _zero_submission(db: Path, assignment: str, student: str) -> None:
    """Record a submission whose notebooks are all missing: every grade 0 (as nbgrader does)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        gb.update_or_create_student(student)
        sub = gb.add_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                g.auto_score = 0
                g.needs_manual_grade = False
        gb.db.commit()


def _grade_one(job: _Job) -> _Outcome:
    """Grade one student in a scratch course (runs in a worker process)."""
    global _RUN
    t0 = time.perf_counter()
    work = Path(job.work)
    course, ipc = work / "c", work / "ipc"
    logfile, kernel_log = work / "nbgrader.log", work / "kernel.log"
    work.mkdir(parents=True, exist_ok=True)
    ipc.mkdir()
    log = _logger(logfile)
    res = _Outcome(job.student, log=str(logfile))
    _RUN = run = _RunState()
    lay = job.layout
    try:
        from nbgrader.api import Gradebook, MissingEntry

        # the scratch course: config comes from the real course; sources; this student's files only
        shutil.copytree(lay.root / lay.source / job.assignment, course / lay.source / job.assignment)
        src = lay.root / lay.submitted / job.student / job.assignment
        dest = course / lay.submitted / job.student / job.assignment
        if src.is_symlink() or src.parent.is_symlink():
            res.reasons["unreadable"] = "the submission folder is a symbolic link"
            dest.mkdir(parents=True)
            skipped: list[str] = []
        else:
            skipped = _copy_files(src, dest, max_bytes=MAX_SUBMISSION_BYTES)
        if skipped:
            log.warning("skipped: %s", ", ".join(skipped))
        db = course / "gradebook.db"
        shutil.copy(job.template_db, db)
        with Gradebook(f"sqlite:///{db}") as gb:
            try:
                gb.remove_submission(job.assignment, job.student)  # start fresh: no stale grades
            except MissingEntry:
                pass
            notebooks = [nb.name for nb in gb.find_assignment(job.assignment).notebooks]
            locked = {
                _sha(c.source)
                for name in notebooks
                for c in gb.find_notebook(name, job.assignment).source_cells
                if c.locked
            }
        found = sorted(p.name for p in dest.glob("*.ipynb"))
        missing = [f"{n}.ipynb" for n in notebooks if f"{n}.ipynb" not in found]
        bad = {}  # notebooks nbgrader could not grade: too big, not a notebook
        for name in found:
            if (dest / name).stat().st_size > MAX_NOTEBOOK_BYTES:
                bad[name] = f"over {MAX_NOTEBOOK_BYTES // 1_000_000} MB"
                continue
            flags = _scan(dest / name, locked)
            if flags is None:
                bad[name] = "not a valid notebook"
            else:
                res.flags += [f for f in flags if f not in res.flags]
        for name in bad:
            (dest / name).unlink()
        if bad:
            res.reasons["unreadable"] = ", ".join(f"{name} ({why})" for name, why in bad.items())
        if missing:
            res.reasons["missing"] = f"no {', '.join(missing)}" + (f" (found: {', '.join(found)})" if found else "")
        if not [n for n in found if n not in bad and n[: -len(".ipynb")] in notebooks]:
            _zero_submission(db, job.assignment, job.student)
            res.grades = _grades_from(db, job.assignment, job.student)
            return res

        cfg, autograde_cls = _student_cfg(job, course, ipc, kernel_log)
        from nbgrader.converters import GenerateFeedback
        from nbgrader.coursedir import CourseDirectory

        from kdlib.sandbox import kill_all

        stop = threading.Event()
        watchdog = threading.Thread(target=_watch, args=(run, ipc, job, stop), daemon=True)
        watchdog.start()
        failed = ""
        try:
            converter = autograde_cls(coursedir=CourseDirectory(config=cfg, log=log), config=cfg, log=log)
            converter.force = True
            converter.start()
        except Exception as err:  # nbgrader logs the details and raises at the end
            failed = f"{type(err).__name__}: {err}"
        finally:
            stop.set()
            kill_all()
        if failed:
            if run.timed_out:
                res.reasons["timeout"] = f"over {job.timeout:g} s before grading finished"
            elif not run.guard_ok and not run.death:
                res.reasons["error"] = failed or "nbgrader produced no grades"
            else:
                res.reasons["crash"] = run.death or failed
            if "error" not in res.reasons:
                _zero_submission_if_needed(db, job.assignment, job.student)
                res.grades = _grades_from(db, job.assignment, job.student)
            return res

        if job.feedback:
            converter = GenerateFeedback(coursedir=CourseDirectory(config=cfg, log=log), config=cfg, log=log)
            converter.force = True
            try:
                converter.start()
            except Exception as err:
                log.error("feedback failed: %s", err)
        res.grades = _grades_from(db, job.assignment, job.student)
        res.autograded = str(course / lay.autograded / job.student / job.assignment)
        fb = course / lay.feedback / job.student / job.assignment
        res.feedback = str(fb) if fb.is_dir() else None
    except Exception as err:
        log.exception("internal error")
        res.reasons["error"] = f"{type(err).__name__}: {err}"
    finally:
        res.seconds = time.perf_counter() - t0
        _collect_reasons(res, run, job)
        _logger(None)  # the parent deletes this folder: nothing may log into it afterwards
    return res


def _watch(run: _RunState, ipc: Path, job: _Job, stop: threading.Event) -> None:
    """Kill the kernel at the wall-time limit, or if it fills its socket folder (on disk)."""
    from kdlib.sandbox import kill_all

    deadline = time.monotonic() + job.timeout
    cap = job.limits.tmp_mb * 1024 * 1024
    while not stop.wait(0.5):
        if time.monotonic() > deadline:
            run.timed_out = True
            kill_all()
            return
        total = count = 0
        for root, dirs, files in os.walk(ipc):
            count += len(dirs) + len(files)
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
            if count > 1000:
                break
        if count > 1000 or total > cap:
            run.death = f"the kernel wrote more than {job.limits.tmp_mb} MB or 1000 files to disk"
            run.disk = True
            kill_all()
            return


def _zero_submission_if_needed(db: Path, assignment: str, student: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            gb.find_submission(assignment, student)
            return
        except MissingEntry:
            pass
    _zero_submission(db, assignment, student)


def _collect_reasons(res: _Outcome, run: _RunState, job: _Job) -> None:
    def ids(items: list[str]) -> str:
        return ", ".join(dict.fromkeys(items))

    r = res.reasons
    if run.timed_out:
        r.setdefault("timeout", f"stopped at the {job.timeout:g} s wall-time limit")
    elif run.stopped:
        r.setdefault("timeout", f"{run.death}: the kernel was stopped")
    elif run.cell_timeouts:
        r.setdefault("timeout", "a cell ran longer than the per-cell limit")
    if run.memory:
        r.setdefault("memory", f"a cell hit the {job.limits.memory_mb} MB limit")
    if run.disk:
        r.setdefault("disk", run.death)
    elif run.death and not run.timed_out and not run.stopped:
        r.setdefault("crash", run.death)
    if run.edited:
        r["edited"] = ids(run.edited)
    if run.deleted:
        r["deleted"] = ids(run.deleted)
    if run.metadata:
        r["metadata"] = ids(run.metadata)
    if run.truncated:
        r["output"] = f"over {job.max_output_bytes:,} bytes"
    if run.tampering:
        r["tampering"] = "; ".join(dict.fromkeys(run.tampering))
    if run.restored:
        res.flags.append("restored before tests: " + ids(run.restored))


def _worker_init() -> None:
    """Prepare a worker process: quiet warnings, import nbgrader once (not once per student)."""
    os.environ.setdefault("PYTHONHASHSEED", "0")
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy notes from nbgrader's own API
    warnings.filterwarnings("ignore", module="sqlalchemy")
    # jsonschema imports rfc3987_syntax only to check "iri" string formats, which nbformat never
    # uses; building its grammar costs 2-5 s per process (measured). Workers are ours: skip it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbconvert.exporters  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401


# --- the parent: merge, report -----------------------------------------------------------------


def _merge(gb, assignment: str, student: str, data: dict[str, Any]) -> None:
    """Write one student's autograded results into the real gradebook; manual grades are kept."""
    from nbgrader.api import MissingEntry

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


def _replace_dir(src: str | None, dest: Path) -> None:
    if dest.exists() or dest.is_symlink():
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        else:
            shutil.rmtree(dest)
    if src is not None and Path(src).is_dir():
        _copy_files(Path(src), dest)


def _save_log(out: _Outcome, dest: Path) -> Path | None:
    """The last 64 kB of nbgrader's and the kernel's logs, for the instructor."""
    if not out.log:
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    for path in (Path(out.log), Path(out.log).with_name("kernel.log")):
        if path.is_file():
            with path.open("rb") as fh:
                fh.seek(max(0, path.stat().st_size - 65536))
                parts.append(f"===== {path.name} =====\n" + fh.read().decode("utf-8", "replace"))
    dest.write_text("\n".join(parts), encoding="utf-8")
    return dest


def _read_final(lay: _Layout, course_id: str, assignment: str, results: dict[str, StudentResult]) -> None:
    """Scores from the real gradebook after the merge (manual grades included), and feedback files."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{lay.db}", course_id) as gb:
        max_score = float(gb.find_assignment(assignment).max_score)
        for student, r in results.items():
            r.max_score = max_score
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            r.score, r.max_score = float(sub.score), float(sub.max_score)
            for nb in sub.notebooks:
                r.cells.update({g.name: (float(g.score), float(g.max_score)) for g in nb.grades})
                html = lay.root / lay.feedback / student / assignment / f"{nb.name}.html"
                if html.is_file():
                    r.feedback.append(html)


def _export_csv(db: Path, course_id: str, assignment: str, csv: Path) -> None:
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    csv.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(f"sqlite:///{db}", course_id) as gb:
        CsvExportPlugin(to=str(csv), assignment=[assignment]).export(gb)


def _run_pool(jobs: list[_Job], workers: int, on_done, progress: bool) -> None:
    """Run ``_grade_one`` over ``jobs`` in worker processes; ``on_done(job, outcome)`` in this one."""
    from tqdm import tqdm

    pending = list(jobs)
    bar = tqdm(total=len(jobs), desc="grading", unit="student", disable=not progress, file=sys.stderr)
    try:
        for attempt in range(2):
            if not pending:
                break
            broken: list[_Job] = []
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx,
                                        initializer=_worker_init) as pool:
                futures = {pool.submit(_grade_one, job): job for job in pending}
                for fut in cf.as_completed(futures):
                    job = futures[fut]
                    try:
                        outcome = fut.result()
                    except cf.process.BrokenProcessPool:
                        if attempt == 0:
                            broken.append(job)
                            continue
                        outcome = _Outcome(job.student, reasons={"error": "the grading worker died"})
                    except Exception as err:
                        outcome = _Outcome(job.student, reasons={"error": f"{type(err).__name__}: {err}"})
                    on_done(job, outcome)
                    bar.update(1)
            pending = broken
    finally:
        bar.close()


def _check_settings(jobs, timeout, memory_mb, max_output_bytes, cell_timeout, name=lambda arg: arg) -> None:
    """GradingError naming the argument (``name(arg)``, e.g. the CLI option) unless every value is usable."""

    def whole(value) -> bool:  # numbers.Integral covers NumPy integers too
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    def number(value) -> bool:
        return whole(value) or (isinstance(value, numbers.Real) and math.isfinite(value))

    problems = []
    if jobs is not None and not (whole(jobs) and jobs >= 1):
        problems.append(f"{name('jobs')} must be a whole number >= 1 (parallel workers), got {jobs!r}")
    if not (number(timeout) and timeout > 0):
        problems.append(f"{name('timeout')} must be a positive number of seconds per submission, got {timeout!r}")
    if not (whole(memory_mb) and memory_mb >= MIN_MEMORY_MB):
        problems.append(
            f"{name('memory_mb')} must be a whole number of MiB >= {MIN_MEMORY_MB} (a kernel with PyTorch needs "
            f"about 1 GiB, with TensorFlow about 4 GiB), got {memory_mb!r}"
        )
    if not (number(max_output_bytes) and max_output_bytes >= 1000):
        problems.append(f"{name('max_output_bytes')} must be at least 1000 bytes (1 kB), got {max_output_bytes!r}")
    if cell_timeout is not None and not (whole(cell_timeout) and cell_timeout >= 1):
        problems.append(f"{name('cell_timeout')} must be a whole number of seconds >= 1, got {cell_timeout!r}")
    if problems:
        raise GradingError("; ".join(problems))


def grade(
    course_dir: str | os.PathLike | None,
    assignment: str,
    students: list[str] | None = None,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = Limits.memory_mb,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    *,
    cell_timeout: int | None = None,
    csv_path: str | os.PathLike | None = None,
    record: bool = True,
    feedback: bool = True,
    progress: bool = True,
    log=None,
) -> Report:
    """Grade ``submitted/<student>/<assignment>/`` for all (or the given) students, each sandboxed.

    ``jobs`` worker processes (default: the number of cores) grade in parallel; ``timeout`` is the
    wall time per submission (seconds), ``memory_mb`` the address-space limit of each kernel
    process, ``max_output_bytes`` the output kept per notebook, ``cell_timeout`` overrides the
    course's per-cell limit (``Execute.timeout``). The gradebook is backed up first; with
    ``record`` the assignment's cells are recorded in it from ``solutions/`` (as
    ``generate_assignment`` does). Writes ``autograded/``, ``feedback/`` (unless ``feedback`` is
    False), the gradebook and ``out/grades/<assignment>.csv`` (default ``csv_path``). Raises :class:`GradingError` or
    :class:`SandboxError` (bubblewrap missing or not working) before anything is changed.
    """
    say = log or (lambda message: None)
    t0 = time.perf_counter()
    _check_settings(jobs, timeout, memory_mb, max_output_bytes, cell_timeout)
    course = _course(course_dir)
    lay = _Layout.load(course)
    valid = sorted(p.name for p in (course / lay.source).glob("*") if (p / f"{p.name}.ipynb").is_file())
    if assignment not in valid:
        raise GradingError(
            f"unknown assignment {assignment!r}: expected {lay.source}/{assignment}/{assignment}.ipynb in "
            f"{course}. Valid names: {', '.join(valid) or 'none'}"
        )
    found = lay.students(assignment)
    if not found:
        raise GradingError(
            f"no submissions of {assignment!r}: expected {course / lay.submitted}/<student>/{assignment}/"
        )
    chosen = list(dict.fromkeys(found if students is None else students))
    unknown = sorted(set(chosen) - set(found))
    if unknown:
        raise GradingError(f"no submission of {assignment!r} for {', '.join(unknown)}. Submitted: {', '.join(found)}")
    workers = max(1, int(jobs or os.cpu_count() or 1))
    cores = os.cpu_count() or 1
    limits = Limits(memory_mb=int(memory_mb), threads=max(1, cores // min(workers, len(chosen))))
    find_bwrap()
    check_sandbox(limits)

    backup = _backup(lay.db)
    if backup:
        say(f"backed up the gradebook to {backup}")
    if record:
        with tempfile.TemporaryDirectory(prefix="kd-record-") as tmp:
            grading.generate(assignment, tmp, course)
        say(f"recorded {assignment} in the gradebook")
    if not lay.db.is_file():
        raise GradingError(f"no gradebook at {lay.db}: run without --no-record once")
    course_id = _config(course).CourseDirectory.get("course_id", "")
    csv = Path(csv_path) if csv_path else course / "out" / "grades" / f"{assignment}.csv"
    csv = csv if csv.is_absolute() else course / csv
    logs = course / "out" / "grading-logs" / assignment
    outcomes: dict[str, _Outcome] = {}
    scratch = Path(tempfile.mkdtemp(prefix="kdsg-"))
    try:
        template = scratch / "gradebook.db"
        _sqlite_copy(lay.db, template)
        todo = [
            _Job(str(course), assignment, s, str(scratch / f"{i:04d}"), str(template), lay, limits,
                 float(timeout), cell_timeout, int(max_output_bytes), feedback)
            for i, s in enumerate(chosen)
        ]
        def on_done(job: _Job, out: _Outcome) -> None:
            from nbgrader.api import Gradebook

            if out.grades is not None:
                with warnings.catch_warnings(), Gradebook(f"sqlite:///{lay.db}", course_id) as gb:
                    warnings.simplefilter("ignore")  # SQLAlchemy notes from nbgrader's own API
                    _merge(gb, assignment, job.student, out.grades)
                _replace_dir(out.autograded, course / lay.autograded / job.student / assignment)
                if feedback:  # without new feedback the old one is left alone, as nbgrader does
                    _replace_dir(out.feedback, course / lay.feedback / job.student / assignment)
            saved = _save_log(out, logs / f"{job.student}.log")
            out.log = str(saved) if saved else None
            outcomes[job.student] = out
            shutil.rmtree(job.work, ignore_errors=True)

        say(f"grading {len(todo)} submission(s) of {assignment} with {min(workers, len(todo))} job(s)")
        _run_pool(todo, workers, on_done, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _export_csv(lay.db, course_id, assignment, csv)

    results: dict[str, StudentResult] = {}
    for student in chosen:
        out = outcomes.get(student) or _Outcome(student, reasons={"error": "no result"})
        r = StudentResult(student, reasons=dict(out.reasons), flags=list(out.flags), seconds=out.seconds,
                          log=Path(out.log) if out.log else None)
        r.status = "error" if "error" in r.reasons else ("problem" if r.reasons else "ok")
        results[student] = r
    _read_final(lay, course_id, assignment, results)
    return Report(
        assignment, course, results, csv, course / lay.feedback, course / lay.autograded, backup,
        time.perf_counter() - t0, min(workers, len(chosen)),
    )


def cli(argv: list[str]) -> int:
    """``kd grade ASSIGNMENT [--jobs N] [--timeout S] [--memory-mb M] [--students A B ...]``.

    Returns 0 when every submission was graded (problems are reported, not fatal), 1 when some
    could not be graded at all, 2 when grading could not start (the message says why).
    """
    parser = argparse.ArgumentParser(
        prog="kd grade",
        description="Autograde every submission of ASSIGNMENT, each in its own sandbox, in parallel.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. 03_loss_torch")
    parser.add_argument("--course-dir", default=None, help=f"course directory (default {grading.ROOT})")
    parser.add_argument("--students", nargs="+", default=None, metavar="S", help="grade only these students")
    parser.add_argument("--student", action="append", default=None, help=argparse.SUPPRESS)  # kdlib.grading's
    parser.add_argument("--jobs", "-j", type=int, default=None, help="parallel workers (default: number of cores)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="wall time per submission, s")
    parser.add_argument("--cell-timeout", type=int, default=None, help="time per cell, s (default: the course's)")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="memory per kernel process, MiB")
    parser.add_argument("--max-output-mb", type=float, default=DEFAULT_MAX_OUTPUT_BYTES / 1e6,
                        help="output kept per notebook, MB")
    parser.add_argument("--csv", default=None, help="grades CSV (default out/grades/ASSIGNMENT.csv)")
    parser.add_argument("--no-record", action="store_true", help="the gradebook already knows the assignment")
    parser.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    students = [*(args.students or []), *(args.student or [])] or None
    options = {"jobs": "--jobs", "timeout": "--timeout", "memory_mb": "--memory-mb",
               "max_output_bytes": "--max-output-mb", "cell_timeout": "--cell-timeout"}
    if not (math.isfinite(args.max_output_mb) and args.max_output_mb >= 0.001):
        parser.error(f"--max-output-mb must be at least 0.001 (1 kB), got {args.max_output_mb:g}")
    try:
        _check_settings(args.jobs, args.timeout, args.memory_mb, args.max_output_mb * 1e6, args.cell_timeout,
                        name=options.get)
    except GradingError as err:
        parser.error(str(err))
    try:
        report = grade(
            args.course_dir, args.assignment, students, args.jobs, args.timeout, args.memory_mb,
            int(args.max_output_mb * 1e6), cell_timeout=args.cell_timeout, csv_path=args.csv,
            record=not args.no_record, feedback=not args.no_feedback, progress=not args.no_progress, log=print,
        )
    except (GradingError, SandboxError) as err:
        print(f"kd grade: {err}", file=sys.stderr)
        return 2
    print(report.format())
    return 1 if any(r.status == "error" for r in report.results.values()) else 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))

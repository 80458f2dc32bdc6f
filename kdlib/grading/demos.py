"""Which demonstration cells a graded run may leave out.

Many notebooks show results with cells that train for seconds (a sweep, a comparison over
seeds) whose output is never graded. Running them for every submission makes grading a class
(and ``kd check``) several times slower and decides nothing. A judge names such cells in
``Judge(demos=[...])``; :func:`skippable` then leaves one out of a graded run only when

- the submitted cell is the released cell, unchanged (an edited cell always runs), and
- no later cell that does run, and no hidden check, reads a name the cell defines, nor an
  object the cell reads and might change in place (a model it trains, a data set it shuffles);
  modules and functions (names only ever bound by import/def/class) may be shared. This is
  liveness over the cells' syntax trees, last cell first, so a chain of demonstrations that
  feed only each other drops together.

Anything that cannot be analysed (a syntax error, IPython syntax that does not transform)
counts as reading every name, so the cells before it all run. ``solutions/*/*.ipynb`` still
run top to bottom in the test suite, so every demonstration is still executed and checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["ALL", "defined_names", "read_names", "shared_names", "skippable", "test_names"]

#: "reads every name" (a cell that could not be analysed)
ALL = frozenset({"*"})


def _tree(source: str) -> ast.AST | None:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or a transform error: parse the raw text
        pass
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _definitions(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names bound by import/def/class, names bound any other way) in ``tree``."""
    static: set[str] = set()
    other: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            static.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            static.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            other.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            other.update(node.names)
    return static, other


def shared_names(cells: Sequence) -> frozenset[str]:
    """Names only ever bound by import/def/class in ``cells`` (modules, functions: safe to share)."""
    static: set[str] = set()
    other: set[str] = set()
    for cell in cells:
        if cell.cell_type == "code":
            tree = _tree(cell.source)
            if tree is None:
                continue
            s, o = _definitions(tree)
            static |= s
            other |= o
    return frozenset(static - other)


def _assigned_names(cells: Sequence) -> frozenset[str]:
    """Every name some code cell binds (builtins and modules never bound stay out)."""
    out: set[str] = set()
    for cell in cells:
        if cell.cell_type == "code":
            names = defined_names(cell.source)
            out |= names or set()
    return frozenset(out)


def defined_names(source: str) -> frozenset[str] | None:
    """Names a cell binds at top level or anywhere by assignment/def/import (None: unparsable)."""
    tree = _tree(source)
    if tree is None:
        return None
    static, other = _definitions(tree)
    return frozenset(static | other)


_DYNAMIC = frozenset({"globals", "locals", "vars", "eval", "exec", "get_ipython", "__import__"})


class _Exposed(ast.NodeVisitor):
    """Names a cell reads before it binds them itself, visiting in execution order."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.exposed: set[str] = set()
        self.dynamic = False

    def _load(self, name: str) -> None:
        if name in _DYNAMIC:
            self.dynamic = True
        if name not in self.bound:
            self.exposed.add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._load(node.id)
        else:
            self.bound.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self._load(node.target.id)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    def _scope(self, node: ast.AST, params: set[str]) -> None:
        """A function body: its free names are read from the notebook (at call time: count them now)."""
        inner = _Exposed()
        inner.bound = set(params)
        body = node.body if isinstance(node.body, list) else [node.body]
        for stmt in body:
            inner.visit(stmt)
        self.dynamic |= inner.dynamic
        for name in inner.exposed:
            self._load(name)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        for dec in getattr(node, "decorator_list", []):
            self.visit(dec)
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        if not isinstance(node, ast.Lambda):
            self.bound.add(node.name)
        self._scope(node, params)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases + node.decorator_list:
            self.visit(base)
        self.bound.add(node.name)
        self._scope(node, set())

    def _comprehension(self, node, elts: list[ast.AST]) -> None:
        inner = _Exposed()
        for gen in node.generators:
            inner.visit(gen.iter)
            inner.visit(gen.target)
            for cond in gen.ifs:
                inner.visit(cond)
        for elt in elts:
            inner.visit(elt)
        self.dynamic |= inner.dynamic
        for name in inner.exposed:
            self._load(name)

    def visit_ListComp(self, node) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node) -> None:
        self._comprehension(node, [node.key, node.value])

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.bound.update((a.asname or a.name).split(".")[0] for a in node.names)

    visit_ImportFrom = visit_Import


def read_names(source: str) -> frozenset[str]:
    """Names a cell reads before binding them (:data:`ALL` if unparsable or using globals()/eval/...)."""
    tree = _tree(source)
    if tree is None:
        return ALL
    v = _Exposed()
    v.visit(tree)
    return ALL if v.dynamic else frozenset(v.exposed)


def test_names(judge: Path | None, probe: Path | None = None) -> frozenset[str]:
    """Notebook names the hidden checks read.

    In the judge: the first argument of ``ask.call(...)`` / ``ask.value(...)``. In the probe
    scenarios (which get the notebook's namespace ``ns``): every string used as ``ns[...]``,
    in ``ns.get(...)`` or in a call that also passes ``ns``.
    """
    out: set[str] = set()
    for path, kind in ((judge, "judge"), (probe, "probe")):
        if path is None or not Path(path).is_file():
            continue
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            strings: list[ast.AST] = []
            if kind == "judge" and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("call", "value") and node.args:
                    strings = [node.args[0]]
            elif kind == "probe" and isinstance(node, ast.Subscript) and _is_ns(node.value):
                strings = [node.slice]
            elif kind == "probe" and isinstance(node, ast.Call):
                args = list(node.args) + [k.value for k in node.keywords]
                if any(_is_ns(a) for a in args) or (isinstance(node.func, ast.Attribute) and _is_ns(node.func.value)):
                    strings = args
            for s in strings:
                if isinstance(s, ast.Constant) and isinstance(s.value, str) and s.value.isidentifier():
                    out.add(s.value)
    return frozenset(out)


def _is_ns(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "ns"


def _same(a: str, b: str) -> bool:
    return a.strip().splitlines() == b.strip().splitlines()


def skippable(
    cells: Sequence, released: dict[str, str], demos: Iterable[str], used_by_tests: Iterable[str]
) -> set[int]:
    """Indices of ``cells`` (a submitted notebook's) that a graded run may leave out.

    ``released``: cell id -> source of the demonstration cells as released; ``demos``: the
    judge's list; ``used_by_tests``: names hidden checks read (:func:`test_names`).
    """
    demos = set(demos)
    shared = shared_names(cells)
    data = _assigned_names(cells) - shared
    needed: set[str] = set(used_by_tests)
    skip: set[int] = set()
    for index in range(len(cells) - 1, -1, -1):
        cell = cells[index]
        if cell.cell_type != "code":
            continue
        cid = cell.get("id")
        if cid in demos and cid in released and _same(cell.source, released[cid]):
            bound = defined_names(cell.source)
            touched = read_names(cell.source) & (data | ALL)
            if bound is not None and "*" not in needed and "*" not in touched and not ((bound | touched) & needed):
                skip.add(index)
                continue
        reads = read_names(cell.source)
        needed |= reads
    return skip

"""Every assignment in solutions/: it runs, its student version is current and leaks nothing.

Parametrized over solutions/NN_slug/NN_slug.ipynb, so new assignments are covered as they appear.
"""

from __future__ import annotations

import filecmp
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kdlib.grading import Course, GradingError, generate, generate_all

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = Course.load(ROOT).assignments()
#: per-cell limit when running a solution notebook (the same as nbgrader_config.py)
CELL_TIMEOUT = 120
#: nbgrader metadata keys that must match between a fresh release and notebooks/
NBGRADER_KEYS = ("grade", "grade_id", "locked", "points", "schema_version", "solution", "task")


def _solution(name: str) -> Path:
    return ROOT / "solutions" / name / f"{name}.ipynb"


def _student(name: str) -> Path:
    return ROOT / "notebooks" / name / f"{name}.ipynb"


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_there_are_assignments():
    assert "03_loss_torch" in ASSIGNMENTS and "04_loss_tf" in ASSIGNMENTS


def test_every_student_notebook_has_a_source():
    stale = sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir() and p.name not in ASSIGNMENTS)
    assert not stale, f"notebooks/ without solutions/ counterpart: {stale} (remove them)"


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_runs_top_to_bottom(name, capsys):
    path = _solution(name)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n{name}: ran top to bottom in {seconds:.1f} s")
    # nbgrader scores a test cell 0 if it wrote to stderr or raised, and takes a number shown as
    # the cell's result for partial credit: the reference solution must avoid all three.
    for cell in nb.cells:
        if cell.cell_type != "code" or not _nbgrader(cell).get("grade"):
            continue
        gid = _nbgrader(cell)["grade_id"]
        for out in cell.outputs:
            assert not (out.output_type == "stream" and out.name == "stderr"), (
                f"{name}: test cell {gid!r} writes to stderr, so nbgrader scores it 0 even for "
                f"the reference solution:\n{out.text[:500]}"
            )
            assert out.output_type != "execute_result", (
                f"{name}: test cell {gid!r} ends in an expression whose value nbgrader reads as "
                "partial credit; end it with a statement (e.g. print)"
            )


def _cells(nb) -> list[tuple]:
    """What a release must reproduce: ids, types, sources, outputs and nbgrader metadata."""
    rows = []
    for cell in nb.cells:
        meta = _nbgrader(cell)
        rows.append(
            (
                cell.get("id"),
                cell.cell_type,
                cell.source,
                {k: meta.get(k) for k in NBGRADER_KEYS if k in meta},
                meta.get("checksum"),
                len(cell.get("outputs", [])),
            )
        )
    return rows


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """Every assignment generated into a temporary folder by one nbgrader run (None if it fails:
    then each test generates its own assignment, so one broken notebook does not fail all)."""
    tmp = tmp_path_factory.mktemp("release")
    try:
        return generate_all(tmp / "out", ROOT, db_url=f"sqlite:///{tmp / 'gradebook.db'}")
    except GradingError:
        return None


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_is_current(name, fresh_release, tmp_path):
    student = _student(name)
    assert student.is_file(), f"{student.relative_to(ROOT)} is missing: run make release"
    if fresh_release and name in fresh_release:
        fresh_dir = fresh_release[name]
    else:
        db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
        fresh_dir = generate(name, tmp_path / "release", ROOT, db_url=db_url)
    fresh = _cells(nbformat.read(fresh_dir / f"{name}.ipynb", as_version=4))
    committed = _cells(nbformat.read(student, as_version=4))
    for i, (a, b) in enumerate(zip(fresh, committed, strict=False)):
        assert a == b, (
            f"notebooks/{name}/{name}.ipynb is out of date with solutions/ (cell {i}, id {a[0]!r}): run make release"
        )
    assert len(fresh) == len(committed), (
        f"notebooks/{name}/{name}.ipynb has {len(committed)} cells, a fresh release {len(fresh)}: run make release"
    )
    cmp = filecmp.dircmp(fresh_dir, student.parent)
    others = [f for f in cmp.left_only + cmp.right_only + cmp.diff_files if f != f"{name}.ipynb"]
    assert not others, f"notebooks/{name}/ differs from a fresh release in {others}: make release"


def _solution_only_lines(nb) -> set[str]:
    """Non-trivial lines between ### BEGIN/END SOLUTION that occur nowhere else in the source."""
    inside, solution, elsewhere = False, set(), set()
    for cell in nb.cells:
        for line in cell.source.splitlines():
            s = line.strip()
            if s == "### BEGIN SOLUTION":
                inside = True
            elif s == "### END SOLUTION":
                inside = False
            elif inside:
                solution.add(s)
            else:
                elsewhere.add(s)
    return {s for s in solution - elsewhere if len(s) >= 8 and not s.startswith("#")}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_leaks_nothing(name):
    path = _student(name)
    assert path.is_file(), f"notebooks/{name}/{name}.ipynb is missing: run make release"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    text = "\n".join(c.source for c in nb.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{path.name} contains {marker!r}"
    student_lines = {ln.strip() for ln in text.splitlines()}
    source = nbformat.read(_solution(name), as_version=4)
    leaked = sorted(_solution_only_lines(source) & student_lines)
    assert not leaked, f"{path.name} contains solution code: {leaked[:5]}"
    for cell in nb.cells:
        assert not cell.get("outputs"), f"{path.name}: cell {cell.get('id')} has outputs"
        if _nbgrader(cell).get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, cell.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_conventions(name):
    nb = nbformat.read(_solution(name), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernel must be python3"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {name[:2]} — "), (
        f"the first cell must be a markdown title '# {name[:2]} — Title'"
    )
    ids = [_nbgrader(c)["grade_id"] for c in nb.cells if _nbgrader(c)]
    assert len(ids) == len(set(ids)), "grade_id values must be unique"
    for cell in nb.cells:
        meta = _nbgrader(cell)
        assert not cell.get("outputs"), f"cell {cell.get('id')} has outputs: clear them"
        if meta:
            assert meta.get("schema_version") == 3, f"{meta.get('grade_id')}: schema_version 3"
        if meta.get("grade") and cell.cell_type == "code":
            assert meta.get("locked") and meta.get("points", 0) > 0, meta
    assert any(_nbgrader(c).get("grade") for c in nb.cells), "no autograded test cell"

"""Every measured figure the course quotes has a producer: the figure registry.

``benchmarks/figures/<notebook>.yaml`` (and ``README.yaml``) list the figures quoted in the
prose of ``solutions/<notebook>/<notebook>.ipynb`` (and README.md): the exact quoted text,
the markdown cell quoting it, and its source — a script in the kit, a code cell of the same
notebook whose output shows it (``cell:<id>``), a paper (``paper:<cite>``) or ``definition``.
A percentage, an ``N×`` ratio or a ``±`` spread written in prose without a registry entry
fails here, as does an entry whose quote is no longer in its cell or whose source is gone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "benchmarks" / "figures"
#: a quoted measurement: 57.3%, 57 %, 1.7×, ± 0.8
FIGURE = re.compile(r"\d[\d,.]*\s?%|\d[\d,.]*\s?×|±\s?\d")
NOTEBOOKS = sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb"))
SOURCES = [*NOTEBOOKS, "README"]


def _texts(source: str) -> dict[str | None, str]:
    """The prose of one source: cell id -> markdown text (README: None -> the whole file)."""
    if source == "README":
        return {None: (ROOT / "README.md").read_text(encoding="utf-8")}
    nb = json.loads((ROOT / "solutions" / source / f"{source}.ipynb").read_text(encoding="utf-8"))
    return {c["id"]: "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"}


def _code_cells(source: str) -> set[str]:
    nb = json.loads((ROOT / "solutions" / source / f"{source}.ipynb").read_text(encoding="utf-8"))
    return {c["id"] for c in nb["cells"] if c["cell_type"] == "code"}


def _entries(source: str) -> list[dict]:
    path = REGISTRY / f"{source}.yaml"
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    assert isinstance(entries, list), f"{path}: expected a list of entries"
    for entry in entries:
        assert {"quote", "source"} <= set(entry), f"{path}: every entry needs quote and source: {entry}"
    return entries


def _spans(text: str, quote: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(re.escape(quote), text)]


@pytest.mark.parametrize("source", SOURCES)
def test_every_quoted_figure_is_registered(source):
    texts, entries = _texts(source), _entries(source)
    missing = []
    for cell, text in texts.items():
        covered = [
            span
            for entry in entries
            if source == "README" or entry.get("cell") == cell
            for span in _spans(text, str(entry["quote"]))
        ]
        for m in FIGURE.finditer(text):
            if not any(a <= m.start() and m.end() <= b for a, b in covered):
                line = text[: m.start()].count("\n") + 1
                context = text[max(0, m.start() - 50) : m.end() + 20].replace("\n", " ")
                missing.append(f"{cell or 'README.md'} line {line}: {m.group()!r} in …{context}…")
    assert not missing, (
        f"figures quoted in {source} without an entry in benchmarks/figures/{source}.yaml "
        "(quote, cell, source: the script or code cell that produces it):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("source", SOURCES)
def test_every_registry_entry_is_quoted_and_produced(source):
    texts = _texts(source)
    code = _code_cells(source) if source != "README" else set()
    problems = []
    for entry in _entries(source):
        quote, producer, cell = str(entry["quote"]), str(entry["source"]), entry.get("cell")
        if source != "README" and cell not in texts:
            problems.append(f"{quote!r}: cell {cell!r} is not a markdown cell of {source}")
        elif quote not in texts[cell if source != "README" else None]:
            problems.append(f"{quote!r} no longer occurs in {cell or 'README.md'}")
        if producer.startswith("cell:"):
            if producer.removeprefix("cell:") not in code:
                problems.append(f"{quote!r}: source {producer} is not a code cell of {source}")
        elif producer.startswith("paper:"):
            if len(producer) < len("paper:") + 4:
                problems.append(f"{quote!r}: name the paper after 'paper:'")
        elif producer != "definition":
            path = ROOT / producer.split("::")[0].split(" ")[0]
            if not path.is_file():
                problems.append(f"{quote!r}: source {producer} does not exist")
    assert not problems, f"benchmarks/figures/{source}.yaml:\n" + "\n".join(problems)


def test_registry_names_only_real_sources():
    names = {p.stem for p in REGISTRY.glob("*.yaml")}
    assert names <= set(SOURCES), f"registry files for unknown sources: {sorted(names - set(SOURCES))}"

"""gettext catalogues of a notebook's prose: one entry per markdown cell, keyed by the cell id.

Why gettext/polib rather than a home-made format: translators' tools (Poedit, Weblate, Lokalize)
read ``.po``, and its ``fuzzy`` flag with ``#| msgid`` (the previous English) is exactly the
"stale translation" state the course needs: :func:`update` sets it when an English cell changes,
keeps the old translation for the translator to revise, and :func:`problems` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import polib

__all__ = ["Status", "catalogue_path", "entries", "load", "problems", "update"]

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "i18n"


def catalogue_path(assignment: str, lang: str, root: Path = ROOT) -> Path:
    """Where the ``lang`` catalogue of ``assignment`` lives: ``i18n/<lang>/<assignment>.po``."""
    return root / "i18n" / lang / f"{assignment}.po"


def entries(nb) -> list[tuple[str, str]]:
    """(cell id, English source) of every markdown cell of ``nb`` that has text, in order."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            if not cell.get("id"):
                raise ValueError("nb: every markdown cell needs a cell id (nbformat 4.5) to key its translation")
            out.append((cell.id, cell.source))
    return out


def load(path: Path) -> polib.POFile:
    """The catalogue at ``path`` (a clear error if it is missing)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no translation catalogue at {path}: run  python -m kdlib.i18n update")
    return polib.pofile(str(path), wrapwidth=0)


def update(nb_path: Path, po_path: Path, lang: str) -> dict[str, int]:
    """Bring the catalogue at ``po_path`` in line with the English notebook at ``nb_path``.

    New cells get an empty entry; a cell whose English changed keeps its old translation,
    flagged fuzzy with the previous English in ``#| msgid``; entries of deleted cells become
    obsolete (``#~``). Returns counts: added, stale (newly fuzzy), obsolete, kept.
    """
    nb = nbformat.read(nb_path, as_version=4)
    po = polib.pofile(str(po_path), wrapwidth=0) if Path(po_path).is_file() else polib.POFile(wrapwidth=0)
    po.metadata = {
        "Project-Id-Version": f"kd-course {Path(nb_path).stem}",
        "Language": lang,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        **{k: v for k, v in po.metadata.items() if k in ("Last-Translator", "Language-Team")},
    }
    by_id = {e.msgctxt: e for e in po if not e.obsolete}
    counts = {"added": 0, "stale": 0, "obsolete": 0, "kept": 0}
    fresh: list[polib.POEntry] = []
    for index, (cell_id, text) in enumerate(entries(nb)):
        old = by_id.pop(cell_id, None)
        where = f"{Path(nb_path).name} cell {index + 1}"
        if old is None:
            fresh.append(polib.POEntry(msgctxt=cell_id, msgid=text, msgstr="", occurrences=[], comment=where))
            counts["added"] += 1
            continue
        old.comment = where
        if old.msgid != text:
            if old.msgstr:
                old.previous_msgid = old.previous_msgid if "fuzzy" in old.flags and old.previous_msgid else old.msgid
                if "fuzzy" not in old.flags:
                    old.flags.append("fuzzy")
                counts["stale"] += 1
            old.msgid = text
        else:
            counts["kept"] += 1
        fresh.append(old)
    for gone in by_id.values():
        gone.obsolete = True
        fresh.append(gone)
        counts["obsolete"] += 1
    out = polib.POFile(wrapwidth=0)
    out.metadata = po.metadata
    out.header = po.header or f"Translation of {Path(nb_path).name} (kd-course). Source: the English notebook."
    out.extend(fresh)
    Path(po_path).parent.mkdir(parents=True, exist_ok=True)
    out.save(str(po_path))
    return counts


@dataclass
class Status:
    """What keeps a catalogue from translating its notebook completely."""

    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.stale or self.unused)

    def describe(self) -> str:
        parts = []
        for name, ids in (("untranslated", self.missing), ("stale (English changed)", self.stale)):
            if ids:
                parts.append(f"{name}: {', '.join(ids)}")
        if self.unused:
            parts.append(f"entries for cells that no longer exist: {', '.join(self.unused)}")
        return "; ".join(parts)


def problems(nb, po: polib.POFile) -> Status:
    """Cells of ``nb`` with no translation, a stale one (fuzzy, or the English differs), or none used."""
    status = Status()
    by_id = {e.msgctxt: e for e in po if not e.obsolete}
    for cell_id, text in entries(nb):
        e = by_id.pop(cell_id, None)
        if e is None or not e.msgstr.strip():
            status.missing.append(cell_id)
        elif "fuzzy" in e.flags or e.msgid != text:
            status.stale.append(cell_id)
    status.unused = sorted(by_id)
    return status

"""A notebook in another language: the English notebook with its markdown cells translated.

Only markdown cells change, and only their ``source``: code cells, cell ids, nbgrader metadata
(grade ids, points, checksums) stay byte for byte, so a submission in either language is graded
by the same checks and lands in the same gradebook column. The notebook's language is recorded
in ``metadata.kd_course.lang`` (the grader and ``kdlib.notebook`` read it from there).

A student notebook's written-answer cells hold nbgrader's placeholder ``YOUR ANSWER HERE``
instead of the model answer: they stay as they are (nbgrader detects an unanswered cell by its
checksum), and the translated task text above them says what to write.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

import nbformat
import polib

from kdlib.i18n.catalogue import entries, load, problems

__all__ = ["EditedError", "TranslationError", "edited", "language_of", "translate", "write"]


class TranslationError(ValueError):
    """A catalogue cannot translate its notebook completely (missing or stale entries)."""


class EditedError(RuntimeError):
    """A built notebook was changed by hand since it was built: rebuilding would lose that."""


def _fingerprint(nb) -> str:
    """sha256 of what a person could change: every cell's type, source and outputs."""
    cells = [[c.cell_type, c.source, c.get("outputs", [])] for c in nb.cells]
    return hashlib.sha256(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def edited(path: Path) -> str:
    """Why the built notebook at ``path`` holds someone's edits ('' if it is as built or absent)."""
    if not Path(path).is_file():
        return ""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return "it is not a notebook nbformat can read"
    built = nb.metadata.get("kd_course", {}).get("built")
    if built != _fingerprint(nb):
        return "it was changed after it was built (edit the English notebook or the .po catalogue instead)"
    return ""


def language_of(nb) -> str:
    """The language a notebook is written in: ``metadata.kd_course.lang``, else English (``en``)."""
    meta = nb.get("metadata", {}).get("kd_course", {})
    lang = meta.get("lang", "en") if isinstance(meta, dict) else "en"
    return lang if isinstance(lang, str) and lang else "en"


def translate(nb, po: polib.POFile, lang: str, *, source_nb=None) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every catalogued markdown cell in ``lang``.

    ``source_nb``: the English notebook the catalogue was made from (default ``nb``); a cell of
    ``nb`` is translated when its text is that cell's English (a student notebook's answer cells
    hold a placeholder instead and stay). Raises :class:`TranslationError` naming the cells if
    the catalogue misses or has stale entries for ``source_nb``.
    """
    source_nb = nb if source_nb is None else source_nb
    status = problems(source_nb, po)
    if status.missing or status.stale:
        raise TranslationError(f"the {lang} catalogue of this notebook is incomplete: {status.describe()}")
    by_id = {e.msgctxt: e for e in po if not e.obsolete}
    english = dict(entries(source_nb))
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type != "markdown" or cell.get("id") not in by_id:
            continue
        if cell.source == english.get(cell.id):
            cell.source = by_id[cell.id].msgstr
    meta = out.metadata.setdefault("kd_course", {})
    meta["lang"] = lang
    meta["built"] = _fingerprint(out)
    return out


def write(
    english_path: Path,
    po_path: Path,
    lang: str,
    dest: Path,
    *,
    source_path: Path | None = None,
    force: bool = False,
    backups: Path | None = None,
) -> Path:
    """Translate the notebook at ``english_path`` with the catalogue at ``po_path`` into ``dest``.

    A ``dest`` someone edited since it was built (:func:`edited`) is not replaced: raises
    :class:`EditedError`, unless ``force`` — then it is copied into ``backups`` first.
    """
    nb = nbformat.read(english_path, as_version=4)
    source_nb = nbformat.read(source_path, as_version=4) if source_path else None
    out = translate(nb, load(po_path), lang, source_nb=source_nb)
    why = edited(dest)
    if why and not force:
        raise EditedError(f"{dest}: {why}; rebuild with --force to keep a copy in backups/ and replace it")
    if why and backups is not None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        keep = Path(backups) / f"{Path(dest).stem}.{lang}.{stamp}.ipynb"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dest, keep)
        print(f"kept a copy of {dest} in {keep}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(out, dest)
    return dest

"""The course in more than one language, from one source.

English notebooks in ``solutions/`` are the source; each other language keeps the translation of
their prose in a gettext catalogue per notebook, ``i18n/<lang>/<NN_slug>.po``, one entry per
markdown cell (``msgctxt`` = the cell id, ``msgid`` = the English text, ``msgstr`` = the
translation). Code cells are never translated, so both languages run and are graded the same.

- :mod:`kdlib.i18n.catalogue`: extract, update (an English change marks its entry fuzzy, i.e.
  stale) and check catalogues with polib;
- :mod:`kdlib.i18n.build`: a notebook in another language from the English one and its catalogue.
"""

from __future__ import annotations

LANGUAGES = ("zh_CN",)
"""Languages the course is translated into (gettext names); English is the source."""

#: where each language's notebooks are built: <folder>/notebooks (students), <folder>/solutions
FOLDERS = {"zh_CN": "zh"}


def folder(lang: str) -> str:
    """The folder of ``lang``'s edition (``zh`` for ``zh_CN``)."""
    if lang not in FOLDERS:
        raise ValueError(f"lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return FOLDERS[lang]


__all__ = ["FOLDERS", "LANGUAGES", "folder"]

"""Which language a learner asked for: ``--lang`` first, then the ``LANG`` convention.

Course messages use two codes: ``en`` and ``zh`` (Simplified Chinese, catalogues ``zh_CN``).
"""

from __future__ import annotations

import os

__all__ = ["CODES", "from_env", "normalize"]

CODES = ("en", "zh")
_ALIASES = {
    "en": "en",
    "english": "en",
    "zh": "zh",
    "zh_cn": "zh",
    "zh-cn": "zh",
    "zh_hans": "zh",
    "zh-hans": "zh",
    "cn": "zh",
    "chinese": "zh",
}


def normalize(lang: str, *, arg: str = "lang") -> str:
    """``en`` or ``zh`` for a language name such as ``zh_CN``, ``zh-Hans``, ``en_US.UTF-8``."""
    key = str(lang).split(".")[0].strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key.startswith("zh"):
        return "zh"
    if key.startswith("en") or key in ("c", "posix"):
        return "en"
    raise ValueError(f"{arg}: expected en or zh (also zh_CN, zh-Hans), got {lang!r}")


def from_env(environ: dict | None = None) -> str:
    """The language of the ``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` variables (gettext's order)."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        for part in value.split(":"):
            if part:
                try:
                    return normalize(part)
                except ValueError:
                    continue
    return "en"

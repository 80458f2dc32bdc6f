"""A learner's own workspace: ``work/`` holds your copies of the notebooks, never overwritten.

``kd start`` (``make start``) copies each student notebook from ``notebooks/NN/`` into
``work/NN/`` (ignored by git) unless you already have that file: your work is never replaced,
and ``git pull`` / ``make release`` never touch ``work/``. ``make lab`` opens JupyterLab there.
``kd start --lang zh`` (or ``LANG=zh_CN.UTF-8``) copies the Chinese edition from ``zh/notebooks/``
instead: the same file names, code and grading, so either language can be submitted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

__all__ = ["WORK", "cli", "start"]

ROOT = Path(__file__).resolve().parents[1]
WORK = "work"


def start(names: list[str] | None = None, root: Path = ROOT, lang: str = "en") -> dict[str, list[Path]]:
    """Copy released notebooks into ``work/``; returns ``{"copied": [...], "kept": [...]}``.

    ``names`` are assignment folders of ``notebooks/`` (default: all); ``lang`` is ``en`` or
    ``zh`` (the edition in ``zh/notebooks/``). A file that already exists in ``work/`` is kept
    as it is, whatever its language.
    """
    from kdlib.i18n.lang import normalize

    code = normalize(lang, arg="lang")
    released = root / "notebooks" if code == "en" else root / "zh" / "notebooks"
    valid = sorted(p.name for p in released.iterdir() if p.is_dir() and p.name[:2].isdigit())
    chosen = names or valid
    unknown = [n for n in chosen if n not in valid]
    if unknown:
        raise ValueError(f"unknown assignment(s) {', '.join(unknown)}: expected one of {', '.join(valid)}")
    done: dict[str, list[Path]] = {"copied": [], "kept": []}
    for name in chosen:
        for src in sorted((released / name).rglob("*")):
            if src.is_dir():
                continue
            dest = root / WORK / name / src.relative_to(released / name)
            if dest.exists():
                done["kept"].append(dest)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
            done["copied"].append(dest)
    return done


def cli(argv: list[str]) -> int:
    """``kd start [NN ...]``."""
    p = argparse.ArgumentParser(prog="kd start", description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help="assignments to copy (default: all)")
    p.add_argument("--lang", default=None, help="en or zh (default: from LANG, else en)")
    args = p.parse_args(argv)
    from kdlib.i18n.lang import from_env

    try:
        done = start(args.names or None, lang=args.lang or from_env())
    except ValueError as err:
        print(f"kd start: {err}", file=sys.stderr)
        return 2
    for path in done["copied"]:
        print(f"copied  {path.relative_to(ROOT)}")
    if done["kept"]:
        print(f"kept {len(done['kept'])} file(s) you already have in {WORK}/ (never overwritten)")
    return 0

"""python -m kdlib.i18n update|check|build [ASSIGNMENT ...]: the course in other languages.

update: bring i18n/<lang>/NN_slug.po in line with solutions/ (changed English -> fuzzy = stale);
check:  list untranslated and stale cells (exit 1 if any);
messages: update the message catalogues (kdlib/i18n/messages/<lang>/*.po, solutions/*/judge.<lang>.po);
stats:  the size of the translation (the figures README.md quotes);
build:  write <lang-dir>/solutions/NN_slug/NN_slug.ipynb and <lang-dir>/notebooks/NN_slug/NN_slug.ipynb
        from the English solutions/ and notebooks/ (run `make release` first for the latter).
"""

from __future__ import annotations

import argparse
import sys

from kdlib.i18n import LANGUAGES, folder
from kdlib.i18n.catalogue import ROOT, catalogue_path, load, problems, update


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kdlib.i18n", description=__doc__)
    p.add_argument("action", choices=("update", "check", "build", "messages", "stats"))
    p.add_argument("assignments", nargs="*", help="NN_slug names (default: every assignment in solutions/)")
    p.add_argument("--lang", choices=LANGUAGES, default=LANGUAGES[0])
    p.add_argument(
        "--force", action="store_true", help="build: replace hand-edited notebooks (a copy goes to backups/)"
    )
    args = p.parse_args(argv)
    names = args.assignments or sorted(d.name for d in (ROOT / "solutions").glob("[0-9][0-9]_*") if d.is_dir())
    bad = 0
    if args.action == "messages":
        return _messages(names, args.lang)
    if args.action == "stats":
        return _stats(args.lang)
    for name in names:
        nb_path = ROOT / "solutions" / name / f"{name}.ipynb"
        if not nb_path.is_file():
            p.error(f"assignment {name!r}: no solutions/{name}/{name}.ipynb")
        po_path = catalogue_path(name, args.lang)
        if args.action == "update":
            counts = update(nb_path, po_path, args.lang)
            print(f"{po_path.relative_to(ROOT)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        elif args.action == "build":
            from kdlib.i18n import build

            out = ROOT / folder(args.lang)
            try:
                for kind in ("solutions", "notebooks"):
                    english = ROOT / kind / name / f"{name}.ipynb"
                    if not english.is_file():
                        p.error(f"assignment {name!r}: no {kind}/{name}/{name}.ipynb (run make release)")
                    dest = out / kind / name / f"{name}.ipynb"
                    build.write(
                        english,
                        po_path,
                        args.lang,
                        dest,
                        source_path=nb_path,
                        force=args.force,
                        backups=ROOT / "backups" / folder(args.lang),
                    )
                    print(f"wrote {dest.relative_to(ROOT)}")
            except (build.TranslationError, build.EditedError) as err:
                bad += 1
                print(f"{name}: {err}", file=sys.stderr)
        else:
            import nbformat

            status = problems(nbformat.read(nb_path, as_version=4), load(po_path))
            if status:
                bad += 1
                print(f"{po_path.relative_to(ROOT)}: {status.describe()}")
    return 1 if bad else 0


def _messages(names: list[str], lang: str, only: str | None = None) -> int:
    """Update the message catalogues of kdlib, each notebook and each judge."""
    from kdlib.i18n import messages as m

    jobs = [
        (m.PACKAGE / lang / "kdlib.po", m.sources(ROOT, None), "kdlib"),
        (m.PACKAGE / lang / "grading.po", m.grading_sources(ROOT), "the grader"),
        (m.PACKAGE / lang / "cli.po", m.cli_sources(ROOT), "the kd command"),
    ]
    for name in names:
        jobs.append((m.PACKAGE / lang / f"{name}.po", m.sources(ROOT, name), f"{name} (code cells)"))
        jobs.append((ROOT / "solutions" / name / f"judge.{lang}.po", m.judge_sources(ROOT, name), f"{name} judge"))
    for path, found, title in jobs:
        counts = m.update(path, found, lang, title)
        print(f"{path.relative_to(ROOT)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _stats(lang: str) -> int:
    """The size of the translation: prose cells and characters, message templates."""
    import re

    import polib

    from kdlib.i18n import messages as m

    cjk = re.compile(r"[\u4e00-\u9fff]")
    prose = [e for p in sorted((ROOT / "i18n" / lang).glob("*.po")) for e in polib.pofile(str(p)) if not e.obsolete]
    files = sorted((m.PACKAGE / lang).glob("*.po")) + sorted((ROOT / "solutions").glob(f"*/judge.{lang}.po"))
    msgs = [e for p in files for e in polib.pofile(str(p)) if not e.obsolete]
    print(
        f"prose: {len(prose)} markdown cells, {sum(len(e.msgid) for e in prose):,} English characters -> "
        f"{sum(len(e.msgstr) for e in prose):,} characters ({sum(len(cjk.findall(e.msgstr)) for e in prose):,} CJK)"
    )
    print(
        f"messages: {len(msgs):,} templates in {len(files)} catalogues, "
        f"{sum(e.msgstr == e.msgid for e in msgs)} kept in English, "
        f"{sum(not e.msgstr for e in msgs)} untranslated"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

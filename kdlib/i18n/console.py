"""The ``kd`` command in the learner's language: ``kd --lang zh ...`` or ``LANG=zh_CN.UTF-8 kd ...``.

:func:`activate` makes every parser built afterwards take its description and help texts from
the catalogue (``kdlib/i18n/messages/<lang>/cli.po``), gives argparse's own words ("usage:",
"options") through the same catalogue — argparse asks gettext for them, and Python ships no
Chinese — and passes the command's printed lines through the translator. Text that is not a
known message (numbers, names, tables' values) is printed as it is.
"""

from __future__ import annotations

import argparse
import sys

from kdlib.i18n.lang import from_env, normalize

__all__ = ["activate", "split_lang"]

_ACTIVE: dict[str, object] = {}


def split_lang(argv: list[str], keep: bool) -> tuple[str, list[str]]:
    """(language, argv): ``--lang X`` / ``--lang=X`` anywhere in ``argv`` (removed unless ``keep``), else LANG."""
    out, lang = [], None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
            if keep:
                out += [arg, argv[i + 1]]
            i += 2
            continue
        if arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
            if keep:
                out.append(arg)
            i += 1
            continue
        out.append(arg)
        i += 1
    if lang is None:
        return from_env(), out
    try:
        return normalize(lang, arg="--lang"), out
    except ValueError:
        if keep:  # the command checks its own --lang and names the choices in its own words
            return from_env(), out
        raise


def activate(lang: str) -> None:
    """Print, and build parsers, in ``lang`` (``en`` / ``zh``) for the rest of this process."""
    if lang == "en" or _ACTIVE.get("lang") == lang:
        return
    from kdlib.i18n.messages import translator
    from kdlib.notebook import _TranslatingStream

    say = translator("zh_CN", cli=True)
    if not say:
        return
    _ACTIVE["lang"] = lang
    # argparse is patched (process-local, the kd command only) because its help is wrapped to the
    # terminal width after formatting: the texts must be translated before, where they are given.
    add_argument = argparse._ActionsContainer.add_argument
    init = argparse.ArgumentParser.__init__
    add_parser = argparse._SubParsersAction.add_parser

    def _help(kwargs: dict, keys: tuple[str, ...]) -> dict:
        for key in keys:
            if isinstance(kwargs.get(key), str):
                kwargs[key] = say(kwargs[key])
        return kwargs

    def add_argument_t(self, *args, **kwargs):
        return add_argument(self, *args, **_help(kwargs, ("help",)))

    def init_t(self, *args, **kwargs):
        init(self, *args, **_help(kwargs, ("description", "epilog")))

    def add_parser_t(self, name, **kwargs):
        return add_parser(self, name, **_help(kwargs, ("help", "description", "epilog")))

    argparse._ActionsContainer.add_argument = add_argument_t
    argparse.ArgumentParser.__init__ = init_t
    argparse._SubParsersAction.add_parser = add_parser_t
    argparse._ = say
    sys.stdout = _TranslatingStream(sys.stdout, say)
    sys.stderr = _TranslatingStream(sys.stderr, say)

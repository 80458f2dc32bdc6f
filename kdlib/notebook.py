"""What notebooks (and the tools that run them) need from kdlib, and nothing of the grader.

Setup cells call :func:`warnings_to_stdout`; scripts, the ``kd`` command and the grader take
their quiet settings from :func:`quiet_environment`, so the list lives in one place.

Language: a notebook of the Chinese edition (``metadata.kd_course.lang``) gets its test
messages, errors and printed results in Chinese — :func:`warnings_to_stdout` calls
:func:`use_language`, so the code cells stay identical in both languages.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "check",
    "notebook_language",
    "quiet_environment",
    "set_quiet_environment",
    "use_language",
    "warnings_to_stdout",
]


def quiet_environment(cache: str | os.PathLike | None = None) -> dict[str, str]:
    """Environment variables that silence TensorFlow's start-up notices and pin hashing.

    With ``cache`` (a folder), Keras and matplotlib keep their files there instead of the
    home folder.
    """
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONHASHSEED": "0"}
    if cache is not None:
        env["KERAS_HOME"] = str(Path(cache) / "keras")
        env["MPLCONFIGDIR"] = str(Path(cache) / "matplotlib")
    return env


def set_quiet_environment(cache: str | os.PathLike | None = None) -> None:
    """:func:`quiet_environment` into ``os.environ`` (values already set win); before importing TF."""
    for key, value in quiet_environment(cache).items():
        os.environ.setdefault(key, value)


def warnings_to_stdout() -> None:
    """Show Python warnings on stdout instead of stderr (call it in a notebook's setup cell).

    nbgrader gives 0 points to a test cell that writes anything to stderr, so a harmless
    warning raised while a test runs (a deprecation, ``F.kl_div``'s note on 'mean') would fail
    a correct answer. Learners still see the warning, on stdout.
    """
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(warnings.formatwarning(message, category, filename, lineno, line), end="")

    warnings.showwarning = show
    use_language()


def _notebook_file(cwd: Path, environ) -> Path | None:
    """The notebook this kernel runs: JupyterLab names it (JPY_SESSION_NAME); else the only one here."""
    name = environ.get("JPY_SESSION_NAME", "")
    if name:
        for candidate in (Path(name), cwd / Path(name).name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate
    found = [p for p in cwd.glob("*.ipynb") if p.is_file()]
    return found[0] if len(found) == 1 else None


def notebook_language(cwd: str | os.PathLike | None = None, environ=None) -> tuple[str, str | None]:
    """(language, assignment) of the notebook this kernel runs: from its ``metadata.kd_course.lang``.

    ``KD_LANG`` overrides (``en`` / ``zh``); the system locale alone never decides. English
    (``en``) when the notebook cannot be found or read.
    """
    import json

    environ = os.environ if environ is None else environ
    path = _notebook_file(Path(cwd or os.getcwd()), environ)
    assignment = path.stem if path is not None else None
    if environ.get("KD_LANG"):
        from kdlib.i18n.lang import normalize

        return ("zh_CN" if normalize(environ["KD_LANG"], arg="KD_LANG") == "zh" else "en"), assignment
    if path is None or path.stat().st_size > 50_000_000:
        return "en", assignment
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("kd_course", {})
    except (OSError, ValueError):
        return "en", assignment
    lang = meta.get("lang", "en") if isinstance(meta, dict) else "en"
    return (lang if isinstance(lang, str) and lang else "en"), assignment


class _TranslatingStream:
    """A text stream whose complete writes pass through a translator (print writes a line at once)."""

    def __init__(self, stream, translate):
        self._stream, self._translate = stream, translate

    def write(self, text):
        if text.strip():
            try:
                text = self._translate(text)
            except Exception:  # never lose output to a translation problem
                pass
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def use_language(lang: str | None = None, assignment: str | None = None) -> str:
    """Show this kernel's errors and printed messages in the notebook's language; returns it.

    In English (the source language) nothing changes. Otherwise exception messages (a failed
    visible test, a ValueError from kdlib) and printed lines that are course messages are
    translated through the catalogues of :mod:`kdlib.i18n.messages`; anything else is shown as is.
    """
    import sys

    if lang is None:
        lang, found = notebook_language()
        assignment = assignment or found
    if lang == "en":
        return lang
    try:
        from IPython import get_ipython

        from kdlib.i18n.messages import translator

        say = translator(lang, assignment)
        shell = get_ipython()
    except Exception:
        return "en"
    if not say or shell is None:
        return lang

    def show(self, etype, value, tb, tb_offset=None):
        try:
            if value is not None and value.args and isinstance(value.args[0], str):
                value.args = (say(value.args[0]), *value.args[1:])
        except Exception:
            pass
        self.showtraceback((etype, value, tb), tb_offset=tb_offset)

    shell.set_custom_exc((Exception,), show)
    if not isinstance(sys.stdout, _TranslatingStream):
        sys.stdout = _TranslatingStream(sys.stdout, say)
    if not isinstance(sys.stderr, _TranslatingStream):  # progress bars in text mode (tqdm writes there)
        sys.stderr = _TranslatingStream(sys.stderr, say)
    _translate_figures(say)
    _translate_progress(say)
    return lang


def _translate_progress(say) -> None:
    """Progress-bar labels (tqdm's ``desc``, also in JupyterLab's widget bars) through the translator."""
    try:
        from tqdm import std
    except ImportError:
        return
    if getattr(std.tqdm.__init__, "_kd_translated", False):
        return
    init, set_description = std.tqdm.__init__, std.tqdm.set_description

    def init_t(self, *args, **kwargs):
        if isinstance(kwargs.get("desc"), str):
            kwargs["desc"] = say(kwargs["desc"])
        init(self, *args, **kwargs)

    def set_description_t(self, desc=None, refresh=True):
        set_description(self, say(desc) if isinstance(desc, str) else desc, refresh)

    init_t._kd_translated = True
    std.tqdm.__init__ = init_t
    std.tqdm.set_description = set_description_t


def _translate_figures(say) -> None:
    """Figure titles, labels and legends through the translator, drawn with a CJK font."""
    try:
        import matplotlib.text

        from kdlib.plots import use_cjk_font
    except ImportError:
        return
    use_cjk_font()
    if getattr(matplotlib.text.Text.set_text, "_kd_translated", False):
        return
    set_text = matplotlib.text.Text.set_text

    def set_text_t(self, s):
        if isinstance(s, str) and len(s) > 3:
            try:
                s = say(s)
            except Exception:
                pass
        return set_text(self, s)

    set_text_t._kd_translated = True
    matplotlib.text.Text.set_text = set_text_t


def check(assignment: str, notebook: str | os.PathLike | None = None) -> int:
    """Grade your saved notebook as ``kd grade`` would and print points and messages (``kd check``).

    Save the notebook first (Ctrl-S): the check reads the file, not the running kernel. Runs
    in a separate process, so nothing in this kernel is touched. Returns the exit status.
    """
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "kdlib.cli", "check", assignment]
    if notebook is not None:
        cmd += ["--notebook", str(notebook)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print(proc.stdout + proc.stderr, end="")
    return proc.returncode

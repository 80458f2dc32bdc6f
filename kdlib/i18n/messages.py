"""Learner-facing messages in the notebook's language: test failures, verdicts, printed results.

Messages are written in English as string literals and f-strings (in judges, probes, notebook code
cells and kdlib). :func:`templates` turns each into a template whose ``{0}``, ``{1}``… stand for
the f-string's values; gettext catalogues hold their translations:

- ``kdlib/i18n/messages/<lang>/<NN_slug>.po``: the strings of a notebook's code cells (visible
  tests, printed results), read by the learner's kernel (:mod:`kdlib.notebook`);
- ``kdlib/i18n/messages/<lang>/kdlib.po``: kdlib's own messages;
- ``solutions/<NN_slug>/judge.<lang>.po``: the hidden checks' messages, read only by the grader
  (never released, like judge.py).

:class:`Translator` maps a finished English message back onto its template (values captured,
themselves translated when they are messages) and fills the translation. Text that matches no
template stays as it is: an untranslated message is shown in English, never lost.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from pathlib import Path

import polib

__all__ = ["Translator", "catalogue_paths", "templates", "translator"]

PACKAGE = Path(__file__).resolve().parent / "messages"
_PLACEHOLDER = re.compile(r"\{(\d+)\}")
#: a literal must have this many letters to be searched for inside a longer text
_MIN_SEARCH_LETTERS = 12


def _docstring_ids(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _template(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        parts, n = [], 0
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append(f"{{{n}}}")
                n += 1
        return "".join(parts)
    return None


def _is_message(template: str) -> bool:
    literal = _PLACEHOLDER.sub("", template)
    if template.lstrip().startswith(("http", "/", "%")):  # a URL, a path, a %-format
        return False
    words = re.findall(r"(?<![\w.])[A-Za-z]{2,}(?![\w.(])", literal)  # words, not identifiers or calls
    if len(words) >= 2 and " " in literal.strip():
        return True
    # "{0}: correct": one real word around a value
    return bool(_PLACEHOLDER.search(template)) and any(len(w) >= 4 for w in words)


def templates(source: str) -> list[str]:
    """Message templates in Python ``source`` (docstrings, identifiers and one-word strings left out)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    docs = _docstring_ids(tree)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    out: list[str] = []
    for node in ast.walk(tree):
        if id(node) in docs or id(node) in inner:
            continue
        t = _template(node)
        if t is not None and _is_message(t) and t not in out:
            out.append(t)
    return out


def _literal_letters(template: str) -> int:
    return len(re.findall(r"[A-Za-z]", _PLACEHOLDER.sub("", template)))


def _regex(template: str, anchored: bool) -> re.Pattern:
    """The template as a regex: each placeholder a named group (lazy inside; in a search, a value at
    either edge is one token, e.g. a number, so that it cannot swallow the surrounding text)."""
    pieces, last = [], 0
    marks = list(_PLACEHOLDER.finditer(template))
    for i, m in enumerate(marks):
        pieces.append(re.escape(template[last : m.start()].replace("{{", "{").replace("}}", "}")))
        edge = not anchored and ((i == 0 and m.start() == 0) or (i == len(marks) - 1 and m.end() == len(template)))
        value = r"\S+" if edge else ".*?"
        name = f"g{m.group(1)}"
        pieces.append(f"(?P<{name}>{value})" if f"(?P<{name}>" not in "".join(pieces) else value)
        last = m.end()
    pieces.append(re.escape(template[last:].replace("{{", "{").replace("}}", "}")))
    body = "".join(pieces)
    return re.compile(f"^{body}$" if anchored else body, re.S)


class Translator:
    """English message -> translation, through templates (see the module docstring)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self.exact: dict[str, str] = {}
        self.patterns: list[tuple[re.Pattern, re.Pattern | None, str]] = []
        for template, translation in pairs:
            if not translation or not template:
                continue
            if not _PLACEHOLDER.search(template):
                self.exact[template.replace("{{", "{").replace("}}", "}")] = translation.replace("{{", "{").replace(
                    "}}", "}"
                )
                continue
            searchable = _literal_letters(template) >= _MIN_SEARCH_LETTERS
            self.patterns.append((_regex(template, True), _regex(template, False) if searchable else None, translation))
        self.patterns.sort(key=lambda p: -len(p[0].pattern))
        self._search = sorted(
            (k for k in self.exact if len(re.findall(r"[A-Za-z]", k)) >= _MIN_SEARCH_LETTERS), key=len, reverse=True
        )

    def __bool__(self) -> bool:
        return bool(self.exact or self.patterns)

    def _fill(self, m: re.Match, translation: str, depth: int) -> str:
        values = {k[1:]: self(v, depth + 1) for k, v in m.groupdict().items()}
        return (
            _PLACEHOLDER.sub(lambda g: values.get(g.group(1), g.group(0)), translation)
            .replace("{{", "{")
            .replace("}}", "}")
        )

    def __call__(self, text: str, depth: int = 0) -> str:
        """``text`` translated where it (or a line, or a long enough part of it) is a known message."""
        if not text or depth > 3:
            return text
        if text in self.exact:
            return self.exact[text]
        for full, _, translation in self.patterns:
            m = full.match(text)
            if m:
                return self._fill(m, translation, depth)
        if "\n" in text:
            return "\n".join(self(line, depth) for line in text.split("\n"))
        out = text
        for key in self._search:
            if key in out:
                out = out.replace(key, self.exact[key])
        for _, part, translation in self.patterns:
            if part is not None:
                out = part.sub(lambda m, tr=translation: self._fill(m, tr, depth), out)
        return out


def catalogue_paths(
    lang: str,
    assignment: str | None = None,
    *,
    judge_dir: Path | None = None,
    grading: bool = False,
    cli: bool = False,
) -> list[Path]:
    """The catalogues a translator reads: kdlib's, and the grader's, the kd command's, the notebook's, the judge's."""
    paths = [PACKAGE / lang / "kdlib.po"]
    if cli:
        paths.append(PACKAGE / lang / "cli.po")
    if grading:
        paths.append(PACKAGE / lang / "grading.po")
    if assignment:
        paths.append(PACKAGE / lang / f"{assignment}.po")
    if judge_dir is not None:
        paths.append(Path(judge_dir) / f"judge.{lang}.po")
    return paths


def _pairs(paths: Iterable[Path]) -> list[tuple[str, str]]:
    pairs = []
    for path in paths:
        if Path(path).is_file():
            for e in polib.pofile(str(path), wrapwidth=0):
                if not e.obsolete and e.msgstr and "fuzzy" not in e.flags:
                    pairs.append((e.msgid, e.msgstr))
    return pairs


@functools.lru_cache(maxsize=32)
def _cached(paths: tuple[Path, ...], stamps: tuple[float, ...]) -> Translator:
    return Translator(_pairs(paths))


def translator(lang: str, assignment: str | None = None, **where) -> Translator:
    """A :class:`Translator` from ``lang``'s catalogues (empty for English or when none exist).

    ``where``: which catalogues besides kdlib's, as for :func:`catalogue_paths` (judge_dir, grading, cli).
    """
    if not lang or lang.startswith("en"):
        return Translator([])
    lang = {"zh": "zh_CN"}.get(lang, lang)
    paths = tuple(catalogue_paths(lang, assignment, **where))
    return _cached(paths, tuple(p.stat().st_mtime if p.is_file() else 0.0 for p in paths))


# -- keeping the catalogues in step with the code ------------------------------------------

#: kdlib modules whose messages a learner meets (errors of the functions notebooks call, quiz, hints)
LEARNER_MODULES = (
    "_validate.py",
    "argtypes.py",
    "augment.py",
    "born_again.py",
    "data.py",
    "experiment.py",
    "grammar.py",
    "hints.py",
    "history.py",
    "metrics.py",
    "notebook.py",
    "plots.py",
    "quiz.py",
    "torch/*.py",
    "tf/*.py",
)


def sources(root: Path, assignment: str | None) -> dict[str, list[str]]:
    """Catalogue file -> its message templates. ``assignment`` None: kdlib's learner modules."""
    import nbformat

    out: dict[str, list[str]] = {}
    if assignment is None:
        for pattern in LEARNER_MODULES:
            for path in sorted((root / "kdlib").glob(pattern)):
                out[str(path.relative_to(root))] = templates(path.read_text(encoding="utf-8"))
        return out
    nb = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            out[f"{assignment}.ipynb#{cell.get('id')}"] = templates(cell.source)
    return out


#: the grader's own messages a learner reads in feedback (verdict framing, shared loss checks)
GRADING_MODULES = ("grading/judge.py", "grading/loss_checks.py", "grading/host/probes.py")


def grading_sources(root: Path) -> dict[str, list[str]]:
    """The grader's learner-facing message templates."""
    return {
        f"kdlib/{m}": templates((root / "kdlib" / m).read_text(encoding="utf-8"))
        for m in GRADING_MODULES
        if (root / "kdlib" / m).is_file()
    }


#: the ``kd`` command's modules: help, tables, reports (``kd --lang zh ...``)
CLI_MODULES = (
    "cli.py",
    "workspace.py",
    "drill/*.py",
    "grading/cli.py",
    "grading/check.py",
    "grading/course.py",
    "grading/releases.py",
    "grading/host/report.py",
    "grading/host/grade.py",
    "i18n/__main__.py",
)
#: argparse's own words (it looks them up with gettext; Python ships no Chinese for them)
ARGPARSE = (
    "usage: ",
    "options",
    "positional arguments",
    "show this help message and exit",
    "the following arguments are required: %s",
    "unrecognized arguments: %s",
    "invalid choice: %(value)r (choose from %(choices)s)",
    "argument %(argument_name)s: %(message)s",
    "%(prog)s: error: %(message)s\n",
    "expected one argument",
    "invalid %(type)s value: %(value)r",
)


def cli_sources(root: Path) -> dict[str, list[str]]:
    """The ``kd`` command's message templates, and argparse's words."""
    out: dict[str, list[str]] = {"argparse": [t.replace("{", "{{").replace("}", "}}") for t in ARGPARSE]}
    for pattern in CLI_MODULES:
        for path in sorted((root / "kdlib").glob(pattern)):
            out[str(path.relative_to(root))] = templates(path.read_text(encoding="utf-8"))
    return out


def judge_sources(root: Path, assignment: str) -> dict[str, list[str]]:
    """judge.py and probe.py of ``assignment`` -> their message templates."""
    out = {}
    for name in ("judge.py", "probe.py"):
        path = root / "solutions" / assignment / name
        if path.is_file():
            out[f"{assignment}/{name}"] = templates(path.read_text(encoding="utf-8"))
    return out


def update(po_path: Path, found: dict[str, list[str]], lang: str, title: str) -> dict[str, int]:
    """Merge ``found`` (origin -> templates) into the catalogue at ``po_path``.

    Kept: templates still in the code. New: empty entries; when a removed template is close to a
    new one (an edited message) its translation is carried over, flagged fuzzy (stale) with the
    old English as ``#| msgid``. Gone: dropped. Returns counts.
    """
    import difflib

    old = polib.pofile(str(po_path), wrapwidth=0) if Path(po_path).is_file() else polib.POFile(wrapwidth=0)
    by_id = {e.msgid: e for e in old if not e.obsolete}
    wanted: dict[str, list[str]] = {}
    for origin, temps in found.items():
        for t in temps:
            wanted.setdefault(t, []).append(origin)
    gone = {k: e for k, e in by_id.items() if k not in wanted and e.msgstr}
    counts = {"kept": 0, "added": 0, "stale": 0, "dropped": len([k for k in by_id if k not in wanted])}
    out = polib.POFile(wrapwidth=0)
    out.metadata = {
        "Project-Id-Version": f"kd-course {title}",
        "Language": lang,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    out.header = f"Messages of {title} (kd-course); {{0}}, {{1}}… are the values the code puts in."
    for template, origins in wanted.items():
        entry = by_id.get(template)
        if entry is None:
            entry = polib.POEntry(msgid=template, msgstr="")
            close = difflib.get_close_matches(template, list(gone), n=1, cutoff=0.8)
            if close:
                entry.msgstr, entry.previous_msgid = gone.pop(close[0]).msgstr, close[0]
                entry.flags.append("fuzzy")
                counts["stale"] += 1
            else:
                counts["added"] += 1
        else:
            counts["kept"] += 1
        entry.occurrences = []
        entry.comment = "; ".join(dict.fromkeys(origins))
        if _PLACEHOLDER.search(template) and "python-brace-format" not in entry.flags:
            entry.flags.append("python-brace-format")
        out.append(entry)
    Path(po_path).parent.mkdir(parents=True, exist_ok=True)
    out.save(str(po_path))
    return counts


def problems(po_path: Path, found: dict[str, list[str]]) -> dict[str, list[str]]:
    """Templates in the code with no translation, a stale (fuzzy) one, or placeholders that differ."""
    po = polib.pofile(str(po_path), wrapwidth=0) if Path(po_path).is_file() else polib.POFile()
    by_id = {e.msgid: e for e in po if not e.obsolete}
    out: dict[str, list[str]] = {"missing": [], "stale": [], "placeholders": []}
    for t in dict.fromkeys(t for temps in found.values() for t in temps):
        e = by_id.get(t)
        if e is None or not e.msgstr.strip():
            out["missing"].append(t)
        elif "fuzzy" in e.flags:
            out["stale"].append(t)
        elif sorted(_PLACEHOLDER.findall(t)) != sorted(_PLACEHOLDER.findall(e.msgstr)):
            out["placeholders"].append(t)
    return out

"""Interview drill: the bilingual question bank (``kdlib/questions.yaml``) and ``kd drill``.

    from kdlib.drill import load_bank, select
    bank = load_bank()                        # validated on load; ValueError names id and field
    qs = select(bank, topics=["loss"], difficulties=[2, 3], count=5, seed=0)

    kd drill                                  # 5 questions, English, interactive
    kd drill --lang zh --topic loss --count 3 --timed 60
    kd drill --json --count 10 --seed 1       # no TTY needed: the questions as JSON ("text": all to show)
    kd drill --json --answers answers.json    # grade a JSON object {"id": answer, ...}
    kd drill --list-topics | --stats

Questions with a ``check`` (multiple choice or numeric) are graded automatically; for the others
the learner reads the model answer and key points and grades themself (yes / partly / no).
Each answer goes into a small history (``$KDLIB_HOME/drill_history.json``, default
``~/.kdlib/``), written atomically after every answer, so weak topics come back more often.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import operator
import os
import random
import re
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from kdlib.argtypes import positive_int, seconds

__all__ = [
    "DEFAULT_BANK",
    "LANGS",
    "Bank",
    "Check",
    "Question",
    "SessionResult",
    "build_parser",
    "cli",
    "default_history_path",
    "grade_answers",
    "load_bank",
    "load_history",
    "record_answer",
    "run_session",
    "save_history",
    "select",
    "weights",
]

DEFAULT_BANK = Path(__file__).with_name("questions.yaml")
LANGS = ("en", "zh")
HISTORY_FILE = "drill_history.json"
MAX_SESSIONS = 200  # sessions kept in the history file
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_QUESTION_KEYS = {"id", "topics", "difficulty", "refs", "question", "answer", "key_points", "check"}
_REQUIRED = ("id", "topics", "difficulty", "question", "answer", "key_points")


# --- the bank ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """An auto-checkable variant: ``choice`` (answer = 0-based option index) or ``numeric``."""

    type: str
    answer: float
    prompt: dict[str, str] | None = None
    options: dict[str, tuple[str, ...]] | None = None
    tolerance: float = 0.0

    def letters(self) -> str:
        """Option letters, e.g. ``"abcd"`` (choice only)."""
        return "abcdefghijklmnopqrstuvwxyz"[: len(self.options["en"])] if self.options else ""

    def parse(self, value: Any) -> float:
        """Turn an answer (a letter / index for choice, a number or expression) into a number.

        Raises ValueError with a hint when the answer has the wrong form.
        """
        if self.type == "choice":
            letters = self.letters()
            if isinstance(value, bool):
                raise ValueError(f"expected a letter {letters[0]}-{letters[-1]}")
            if isinstance(value, int):
                if 0 <= value < len(letters):
                    return value
                raise ValueError(f"index {value} out of range 0-{len(letters) - 1}")
            text = str(value).strip().lower().rstrip(")").strip()
            if len(text) == 1 and text in letters:
                return letters.index(text)
            raise ValueError(f"expected a letter {letters[0]}-{letters[-1]}")
        if isinstance(value, bool):
            raise ValueError("expected a number")
        if isinstance(value, (int, float)):
            x = float(value)
        else:
            x = _eval_number(str(value))
        if not math.isfinite(x):
            raise ValueError("expected a finite number")
        return x

    def is_correct(self, parsed: float) -> bool:
        """Is a parsed answer right (exact index, or within the tolerance)?"""
        if self.type == "choice":
            return int(parsed) == int(self.answer)
        return abs(parsed - self.answer) <= self.tolerance + 1e-12 * max(1.0, abs(self.answer))

    def expected(self, lang: str = "en") -> str:
        """The right answer as shown to a learner."""
        if self.type == "choice":
            i = int(self.answer)
            return f"{self.letters()[i]}) {self.options[lang][i]}"
        tol = f" (± {self.tolerance:g})" if self.tolerance else ""
        return f"{self.answer:g}{tol}"


@dataclass(frozen=True)
class Question:
    """One bank entry; text fields map a language ("en", "zh") to a string."""

    id: str
    topics: tuple[str, ...]
    difficulty: int
    question: dict[str, str]
    answer: dict[str, str]
    key_points: dict[str, tuple[str, ...]]
    check: Check | None = None
    refs: tuple[str, ...] = ()

    def prompt(self, lang: str = "en") -> str:
        """The check's own prompt if it has one, else the question (see :meth:`stem`)."""
        if self.check and self.check.prompt:
            return self.check.prompt[lang]
        return self.question[lang]

    def stem(self, lang: str = "en", mode: str = "auto") -> list[str]:
        """Everything shown before the answer is taken, as blocks of text, in order.

        The question always comes first: it holds the scenario (code, numbers, set-up) that a
        check's shorter prompt refers to. In ``mode="auto"`` a question with a check adds the
        check's prompt (if it has its own) and, for multiple choice, one ``"a) ..."`` line per
        option. In ``mode="open"`` (or without a check) the question alone is asked.
        """
        blocks = [self.question[lang]]
        if mode == "auto" and self.check is not None:
            if self.check.prompt:
                blocks.append(self.check.prompt[lang])
            if self.check.type == "choice":
                letters = self.check.letters()
                blocks += [f"  {x}) {o}" for x, o in zip(letters, self.check.options[lang], strict=True)]
        return blocks


@dataclass(frozen=True)
class Bank:
    """The validated question bank: iterable over its questions."""

    questions: tuple[Question, ...]
    topics: dict[str, dict[str, str]]
    path: Path

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def __getitem__(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def topic_names(self) -> list[str]:
        """Declared topics, else every topic used, in first-seen order."""
        if self.topics:
            return list(self.topics)
        return list(dict.fromkeys(t for q in self.questions for t in q.topics))


class _Where:
    """Builds error messages that name the file, the question and the field."""

    def __init__(self, path: Path, index: int, qid: str | None) -> None:
        self.path, self.index, self.qid = path, index, qid

    def error(self, field: str, problem: str) -> ValueError:
        who = f"question {self.qid!r} (#{self.index + 1})" if self.qid else f"question #{self.index + 1}"
        return ValueError(f"{self.path.name}: {who}: field {field!r}: {problem}")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _text(raw: Any, where: _Where, field: str) -> str:
    if not isinstance(raw, str):
        raise where.error(field, f"expected a string, got {type(raw).__name__}")
    if not raw.strip():
        raise where.error(field, "is empty")
    return raw.strip()


def _by_lang(raw: Any, where: _Where, field: str, item: Callable[[Any, str], Any]) -> dict[str, Any]:
    """A mapping {en: ..., zh: ...} with both languages and nothing else."""
    if not isinstance(raw, dict):
        raise where.error(field, f"expected a mapping with keys {' and '.join(LANGS)}, got {type(raw).__name__}")
    for lang in LANGS:
        if lang not in raw:
            raise where.error(f"{field}.{lang}", "missing")
    extra = sorted(set(map(str, raw)) - set(LANGS))
    if extra:
        raise where.error(f"{field}.{extra[0]}", f"unknown language (expected {', '.join(LANGS)})")
    return {lang: item(raw[lang], f"{field}.{lang}") for lang in LANGS}


def _lang_text(raw: Any, where: _Where, field: str) -> dict[str, str]:
    return _by_lang(raw, where, field, lambda x, f: _text(x, where, f))


def _lang_list(raw: Any, where: _Where, field: str, min_len: int) -> dict[str, tuple[str, ...]]:
    def items(x: Any, f: str) -> tuple[str, ...]:
        if not isinstance(x, list):
            raise where.error(f, f"expected a list of strings, got {type(x).__name__}")
        if len(x) < min_len:
            raise where.error(f, f"expected at least {min_len} item(s), got {len(x)}")
        return tuple(_text(v, where, f"{f}[{i}]") for i, v in enumerate(x))

    out = _by_lang(raw, where, field, items)
    if len(out["en"]) != len(out["zh"]):
        raise where.error(
            f"{field}.zh", f"has {len(out['zh'])} item(s), {field}.en has {len(out['en'])}: they must match"
        )
    return out


def _check(raw: Any, where: _Where) -> Check:
    if not isinstance(raw, dict):
        raise where.error("check", f"expected a mapping, got {type(raw).__name__}")
    kind = raw.get("type")
    if kind not in ("choice", "numeric"):
        raise where.error("check.type", f"expected 'choice' or 'numeric', got {kind!r}")
    allowed = {"type", "prompt", "answer"} | ({"options"} if kind == "choice" else {"tolerance"})
    extra = sorted(set(map(str, raw)) - allowed)
    if extra:
        raise where.error(
            f"check.{extra[0]}", f"unknown field for a {kind} check (allowed: {', '.join(sorted(allowed))})"
        )
    prompt = _lang_text(raw["prompt"], where, "check.prompt") if "prompt" in raw else None
    if "answer" not in raw:
        raise where.error("check.answer", "missing")
    answer = raw["answer"]
    if kind == "choice":
        if "options" not in raw:
            raise where.error("check.options", "missing")
        options = _lang_list(raw["options"], where, "check.options", min_len=2)
        n = len(options["en"])
        if not isinstance(answer, int) or isinstance(answer, bool):
            raise where.error("check.answer", f"expected the 0-based index of the right option, got {answer!r}")
        if not 0 <= answer < n:
            raise where.error("check.answer", f"choice answer index {answer} out of range for {n} options (0-{n - 1})")
        return Check("choice", answer, prompt, options)
    if not _is_number(answer):
        raise where.error("check.answer", f"expected a finite number, got {answer!r}")
    if "tolerance" not in raw:
        raise where.error("check.tolerance", "missing")
    tol = raw["tolerance"]
    if not _is_number(tol) or tol < 0:
        raise where.error("check.tolerance", f"expected a finite number >= 0, got {tol!r}")
    return Check("numeric", float(answer), prompt, None, float(tol))


def _question(raw: Any, index: int, path: Path, topics: dict[str, dict[str, str]]) -> Question:
    qid = raw.get("id") if isinstance(raw, dict) else None
    where = _Where(path, index, qid if isinstance(qid, str) else None)
    if not isinstance(raw, dict):
        raise where.error("(entry)", f"expected a mapping, got {type(raw).__name__}")
    for key in _REQUIRED:
        if key not in raw:
            raise where.error(key, "missing")
    extra = sorted(set(map(str, raw)) - _QUESTION_KEYS)
    if extra:
        raise where.error(extra[0], f"unknown field (allowed: {', '.join(sorted(_QUESTION_KEYS))})")
    if not isinstance(qid, str) or not _ID.match(qid):
        raise where.error("id", f"expected lower-case letters, digits and dashes, got {qid!r}")
    tags = raw["topics"]
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t for t in tags):
        raise where.error("topics", f"expected a non-empty list of topic names, got {tags!r}")
    if len(set(tags)) != len(tags):
        raise where.error("topics", f"duplicate topic in {tags}")
    unknown = [t for t in tags if topics and t not in topics]
    if unknown:
        raise where.error("topics", f"unknown topic {unknown[0]!r} (declared: {', '.join(topics)})")
    diff = raw["difficulty"]
    if not isinstance(diff, int) or isinstance(diff, bool) or diff not in (1, 2, 3):
        raise where.error("difficulty", f"expected 1, 2 or 3, got {diff!r}")
    refs = raw.get("refs", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise where.error("refs", "expected a list of strings")
    return Question(
        id=qid,
        topics=tuple(tags),
        difficulty=diff,
        question=_lang_text(raw["question"], where, "question"),
        answer=_lang_text(raw["answer"], where, "answer"),
        key_points=_lang_list(raw["key_points"], where, "key_points", min_len=1),
        check=_check(raw["check"], where) if "check" in raw else None,
        refs=tuple(refs),
    )


def load_bank(path: str | os.PathLike | None = None) -> Bank:
    """Load and validate a question bank (default: the one shipped with kdlib).

    A malformed entry raises ``ValueError`` naming the file, the question id (or its position)
    and the field: a missing field or language, a wrong type, a choice answer out of range.
    """
    import yaml

    p = Path(path) if path is not None else DEFAULT_BANK
    text = p.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{p.name}: not valid YAML: {err}") from None
    if isinstance(raw, list):
        raw = {"questions": raw}
    if not isinstance(raw, dict) or "questions" not in raw:
        raise ValueError(f"{p.name}: expected a mapping with a 'questions' list (or a list)")
    if raw.get("version", 1) != 1:
        raise ValueError(f"{p.name}: field 'version': unsupported version {raw['version']!r}")
    topics_raw = raw.get("topics") or {}
    if not isinstance(topics_raw, dict):
        raise ValueError(f"{p.name}: field 'topics': expected a mapping topic -> {{en, zh}}")
    topics: dict[str, dict[str, str]] = {}
    for name, desc in topics_raw.items():
        if not isinstance(desc, dict) or any(not isinstance(desc.get(k), str) for k in LANGS):
            raise ValueError(f"{p.name}: field 'topics.{name}': expected {{en: ..., zh: ...}}")
        topics[str(name)] = {k: desc[k] for k in LANGS}
    entries = raw["questions"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{p.name}: field 'questions': expected a non-empty list")
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        q = _question(entry, i, p, topics)
        if q.id in seen:
            raise _Where(p, i, q.id).error("id", f"duplicate of question #{seen[q.id] + 1}")
        seen[q.id] = i
        questions.append(q)
    return Bank(tuple(questions), topics, p)


# --- numbers -------------------------------------------------------------------------------

_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCS: dict[str, Callable[[float], float]] = {
    "ln": math.log,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "exp": math.exp,
    "sqrt": math.sqrt,
}
_CONSTS = {"e": math.e, "pi": math.pi}


def _eval_number(text: str) -> float:
    """A number or a small arithmetic expression: ``0.25``, ``72/79``, ``ln(10)``, ``4**2``."""
    text = text.strip().replace("×", "*").replace("−", "-").replace("^", "**")
    if not text:
        raise ValueError("expected a number")

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and _is_number(node.value):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            v = ev(node.operand)
            return v if isinstance(node.op, ast.UAdd) else -v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ValueError("exponent too large")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.Name) and node.id in _CONSTS:
            return _CONSTS[node.id]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS
            and len(node.args) == 1
            and not node.keywords
        ):
            return _FUNCS[node.func.id](ev(node.args[0]))
        raise ValueError("expected a number")

    try:
        return float(ev(ast.parse(text, mode="eval").body))
    except (SyntaxError, ZeroDivisionError, OverflowError, TypeError):
        raise ValueError("expected a number") from None
    except ValueError as err:  # math domain errors, our own messages
        raise ValueError(str(err) if "expected" in str(err) else "expected a number") from None


# --- history -------------------------------------------------------------------------------


def default_history_path() -> Path:
    """``$KDLIB_HOME/drill_history.json``, default ``~/.kdlib/drill_history.json``."""
    home = os.environ.get("KDLIB_HOME")
    return (Path(home) if home else Path.home() / ".kdlib") / HISTORY_FILE


def _empty_history() -> dict[str, Any]:
    return {"version": 1, "questions": {}, "topics": {}, "sessions": []}


def load_history(path: str | os.PathLike | None) -> dict[str, Any]:
    """The history at ``path`` (empty if there is none, or if ``path`` is None).

    A file that cannot be parsed is never overwritten: it is renamed to
    ``<name>.corrupt-<time>`` (with a warning on stderr) and an empty history is returned.
    """
    if path is None:
        return _empty_history()
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _empty_history()
    except (OSError, ValueError) as err:
        backup = p.with_name(f"{p.name}.corrupt-{datetime.now():%Y%m%d-%H%M%S}")
        try:
            p.replace(backup)
            kept = f"kept as {backup}"
        except OSError:
            kept = "left in place"
        print(f"kd drill: warning: cannot read the history {p} ({err}); {kept}, starting a new one", file=sys.stderr)
        return _empty_history()
    if not isinstance(data, dict):
        return _empty_history()
    base = _empty_history()
    for key in ("questions", "topics"):
        base[key] = data.get(key) if isinstance(data.get(key), dict) else {}
    base["sessions"] = data.get("sessions") if isinstance(data.get("sessions"), list) else []
    return base


def save_history(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Write ``data`` atomically: a temporary file in the same folder, fsync, then rename."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_answer(history: dict[str, Any], question: Question, score: float) -> None:
    """Add one graded answer (score in [0, 1]) to the in-memory history."""
    q = history["questions"].setdefault(question.id, {"asked": 0, "score": 0.0})
    q["asked"] += 1
    q["score"] = round(q["score"] + score, 6)
    q["last"], q["last_score"] = _now(), score
    for topic in question.topics:
        t = history["topics"].setdefault(topic, {"asked": 0, "score": 0.0})
        t["asked"] += 1
        t["score"] = round(t["score"] + score, 6)


class _Store:
    """History kept on disk: re-read, updated and saved atomically after every answer."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data = load_history(path)

    def answer(self, question: Question, score: float) -> None:
        if self.path is not None:
            self.data = load_history(self.path)  # another session may have written meanwhile
        record_answer(self.data, question, score)
        self._save()

    def session(self, summary: dict[str, Any]) -> None:
        if self.path is not None:
            self.data = load_history(self.path)
        self.data["sessions"] = [*self.data["sessions"], summary][-MAX_SESSIONS:]
        self._save()

    def _save(self) -> None:
        if self.path is not None:
            save_history(self.path, self.data)


def _weakness(entry: dict[str, Any] | None) -> float:
    """Smoothed share of points lost: (lost + 1) / (asked + 2); 0.5 when never asked."""
    if not entry:
        return 0.5
    asked = max(0.0, float(entry.get("asked", 0)))
    score = min(asked, max(0.0, float(entry.get("score", 0.0))))
    return (asked - score + 1.0) / (asked + 2.0)


def weights(questions: Iterable[Question], history: dict[str, Any] | None) -> dict[str, float]:
    """Sampling weight of each question: 0.1 + weakest topic + 0.5 · the question's own weakness.

    Weakness is the smoothed share of points lost (0.5 when never asked), so a topic answered
    wrongly keeps coming back and one answered correctly many times fades (but never vanishes).
    """
    h = history or _empty_history()
    out = {}
    for q in questions:
        topic = max(_weakness(h["topics"].get(t)) for t in q.topics)
        out[q.id] = 0.1 + topic + 0.5 * _weakness(h["questions"].get(q.id))
    return out


def select(
    bank: Iterable[Question],
    *,
    topics: Sequence[str] | None = None,
    difficulties: Sequence[int] | None = None,
    count: int | None = None,
    seed: int | None = None,
    history: dict[str, Any] | None = None,
) -> list[Question]:
    """Questions matching any of ``topics`` and ``difficulties``, drawn without replacement.

    The draw is weighted by :func:`weights` (uniform without history) and reproducible with
    ``seed``; ``count=None`` returns every match, in drawn order.
    """
    pool = [
        q
        for q in bank
        if (not topics or set(q.topics) & set(topics)) and (not difficulties or q.difficulty in difficulties)
    ]
    rng = random.Random(seed)
    w = weights(pool, history)
    # Efraimidis & Spirakis: key u^(1/w), keep the largest keys.
    keyed = sorted(pool, key=lambda q: rng.random() ** (1.0 / w[q.id]), reverse=True)
    return keyed if count is None else keyed[:count]


# --- grading answers given as data ---------------------------------------------------------


def _grade_one(q: Question, given: Any, lang: str) -> dict[str, Any]:
    row: dict[str, Any] = {"id": q.id, "topics": list(q.topics), "given": given}
    if q.check is None:
        row["correct"] = None  # open question: compare with the model answer yourself
        score = given if _is_number(given) and 0 <= given <= 1 else None
        row["score"] = score
    else:
        try:
            parsed = q.check.parse(given)
        except ValueError as err:
            row["error"] = str(err)
            row["score"] = None
        else:
            ok = q.check.is_correct(parsed)
            row["correct"], row["score"] = ok, 1.0 if ok else 0.0
        row["expected"] = q.check.expected(lang)
    row["answer"] = q.answer[lang]
    row["key_points"] = list(q.key_points[lang])
    return row


def _answers_map(raw: Any) -> dict[str, Any]:
    """Accept {"id": answer}, {"answers": {...}} or [{"id": ..., "answer": ...}, ...]."""
    if isinstance(raw, dict) and isinstance(raw.get("answers"), (dict, list)):
        raw = raw["answers"]
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    if isinstance(raw, list) and all(isinstance(r, dict) and "id" in r and "answer" in r for r in raw):
        return {str(r["id"]): r["answer"] for r in raw}
    raise ValueError('expected {"question-id": answer, ...} or [{"id": ..., "answer": ...}, ...]')


def grade_answers(bank: Bank, answers: Any, lang: str = "en") -> dict[str, Any]:
    """Grade answers given as data; auto-checked questions score 1 or 0.

    A choice answer is a letter ("b") or a 0-based index; a numeric answer a number or an
    expression ("72/79"); an open question may carry a self-grade in [0, 1] (or any text).
    Unknown ids and malformed answers are listed under ``errors``.
    """
    graded, errors = [], []
    for qid, given in _answers_map(answers).items():
        try:
            q = bank[qid]
        except KeyError:
            errors.append({"id": qid, "error": "unknown question id"})
            continue
        row = _grade_one(q, given, lang)
        if "error" in row:
            errors.append({"id": qid, "error": row["error"]})
        graded.append(row)
    auto = [r for r in graded if r.get("correct") is not None]
    return {
        "lang": lang,
        "graded": graded,
        "score": sum(r["score"] for r in auto),
        "max_score": len(auto),
        "errors": errors,
    }


# --- the interactive drill -----------------------------------------------------------------

MESSAGES = {
    "en": {
        "header": "Question {i}/{n} · {id} · {topics} · difficulty {stars}",
        "limit": "(time limit {limit:g} s)",
        "choice": "Your answer ({first}-{last}, Enter to skip): ",
        "numeric": "Your answer (a number, e.g. 0.25, 72/79 or ln(10); Enter to skip): ",
        "open": "Your answer (one line, Enter when done): ",
        "bad_choice": "Please type one of {letters} (or press Enter to skip).",
        "bad_number": "Please type a number ({err}), or press Enter to skip.",
        "right": "✓ correct",
        "wrong": "✗ not quite — the answer is {expected}",
        "skipped": "– skipped — the answer is {expected}",
        "over": "⏱ over time: {sec:.1f} s > {limit:g} s",
        "model": "Model answer:",
        "points": "Key points:",
        "self": "Did your answer cover the key points? [y]es / [p]artly / [n]o: ",
        "bad_self": "Please type y, p or n.",
        "score": "Score: {score:g} / {n} ({pct:.0f}%)",
        "over_count": "Over time on {k} of {n} question(s) (limit {limit:g} s).",
        "weak": "To review: {topics}",
        "stopped": "Stopped after {n} of {total} question(s).",
        "history": "History: {path}",
    },
    "zh": {
        "header": "第 {i}/{n} 题 · {id} · {topics} · 难度 {stars}",
        "limit": "（限时 {limit:g} 秒）",
        "choice": "你的答案（{first}-{last}，直接回车跳过）：",
        "numeric": "你的答案（数字，如 0.25、72/79 或 ln(10)；直接回车跳过）：",
        "open": "你的答案（一行，回车结束）：",
        "bad_choice": "请输入 {letters} 中的一个（或直接回车跳过）。",
        "bad_number": "请输入一个数字（{err}），或直接回车跳过。",
        "right": "✓ 正确",
        "wrong": "✗ 不对——正确答案是 {expected}",
        "skipped": "– 已跳过——正确答案是 {expected}",
        "over": "⏱ 超时：{sec:.1f} 秒 > {limit:g} 秒",
        "model": "参考答案：",
        "points": "要点：",
        "self": "你的回答是否涵盖了这些要点？[y] 是 / [p] 部分 / [n] 否：",
        "bad_self": "请输入 y、p 或 n。",
        "score": "得分：{score:g} / {n}（{pct:.0f}%）",
        "over_count": "{n} 道题中有 {k} 道超时（限时 {limit:g} 秒）。",
        "weak": "需要复习：{topics}",
        "stopped": "已在第 {n}/{total} 题后停止。",
        "history": "历史记录：{path}",
    },
}
#: the number parser's messages, as shown in a Chinese drill
_NUMBER_ERRORS = {
    "zh": {
        "expected a number": "这不是一个数字",
        "expected a finite number": "需要一个有限的数",
        "exponent too large": "指数太大",
    }
}
_SELF_GRADES = {
    "y": 1.0,
    "yes": 1.0,
    "是": 1.0,
    "对": 1.0,
    "p": 0.5,
    "partly": 0.5,
    "部分": 0.5,
    "n": 0.0,
    "no": 0.0,
    "否": 0.0,
    "不": 0.0,
}


@dataclass
class SessionResult:
    """What a drill session produced."""

    asked: int
    score: float
    total: int
    over_time: int
    per_topic: dict[str, list[float]]
    #: why the session ended early: "eof" (end of input, Ctrl-D), "interrupt" (Ctrl-C) or None
    stopped_by: str | None = None

    @property
    def interrupted(self) -> bool:
        return self.stopped_by is not None


class _IO:
    """Reads answer lines and writes text; raises EOFError at the end of the input."""

    def __init__(self, stdin: IO[str], stdout: IO[str], lang: str) -> None:
        self.stdin, self.stdout, self.lang = stdin, stdout, lang
        self.width = max(40, min(100, shutil.get_terminal_size((100, 24)).columns - 2))

    def say(self, text: str = "") -> None:
        for line in text.split("\n"):
            if self.lang == "en" and len(line) > self.width and not line.startswith(" "):
                line = textwrap.fill(line, self.width, break_on_hyphens=False, break_long_words=False)
            self.stdout.write(line + "\n")
        self.stdout.flush()

    def ask(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            self.stdout.write("\n")
            raise EOFError
        return line.strip()


def _reveal(io: _IO, q: Question, m: dict[str, str]) -> None:
    io.say(m["model"])
    io.say(q.answer[io.lang])
    io.say(m["points"])
    for point in q.key_points[io.lang]:
        io.say(f"  • {point}")


def _stem_paragraphs(q: Question, lang: str, mode: str) -> list[str]:
    """:meth:`Question.stem` as paragraphs: the question, the check's prompt, the options together."""
    blocks = q.stem(lang, mode)
    paragraphs = blocks[:1]
    rest = blocks[1:]
    if rest and q.check is not None and q.check.prompt:
        paragraphs.append(rest.pop(0))
    if rest:
        paragraphs.append("\n".join(rest))
    return paragraphs


def _say_stem(io: _IO, q: Question, mode: str) -> None:
    """Print the whole question as asked (:meth:`Question.stem`): scenario, prompt, options."""
    paragraphs = _stem_paragraphs(q, io.lang, mode)
    for i, text in enumerate(paragraphs):
        if i and not text.startswith("  "):
            io.say()  # the check's own prompt, set off from the scenario above it
        io.say(text)


def _ask_check(io: _IO, q: Question, m: dict[str, str], limit: float | None) -> tuple[float, float]:
    """Ask the auto-checked variant; returns (score, seconds)."""
    check = q.check
    assert check is not None
    lang = io.lang
    _say_stem(io, q, "auto")
    letters = check.letters()
    t0 = time.monotonic()
    while True:
        if check.type == "choice":
            text = io.ask(m["choice"].format(first=letters[0], last=letters[-1]))
        else:
            text = io.ask(m["numeric"])
        if not text:
            parsed = None
            break
        try:
            parsed = check.parse(text)
            break
        except ValueError as err:
            io.say(
                m["bad_choice"].format(letters=", ".join(letters))
                if check.type == "choice"
                else m["bad_number"].format(err=_NUMBER_ERRORS.get(lang, {}).get(str(err), err))
            )
    seconds = time.monotonic() - t0
    _over(io, m, seconds, limit)
    if parsed is None:
        io.say(m["skipped"].format(expected=check.expected(lang)))
        score = 0.0
    elif check.is_correct(parsed):
        io.say(m["right"])
        score = 1.0
    else:
        io.say(m["wrong"].format(expected=check.expected(lang)))
        score = 0.0
    _reveal(io, q, m)
    return score, seconds


def _ask_open(io: _IO, q: Question, m: dict[str, str], limit: float | None) -> tuple[float, float]:
    """Ask an open question, reveal the model answer, let the learner grade it."""
    _say_stem(io, q, "open")
    t0 = time.monotonic()
    io.ask(m["open"])
    seconds = time.monotonic() - t0
    _over(io, m, seconds, limit)
    _reveal(io, q, m)
    while True:
        grade = io.ask(m["self"]).lower()
        if grade in _SELF_GRADES:
            return _SELF_GRADES[grade], seconds
        io.say(m["bad_self"])


def _over(io: _IO, m: dict[str, str], seconds: float, limit: float | None) -> None:
    if limit is not None and seconds > limit:
        io.say(m["over"].format(sec=seconds, limit=limit))


def run_session(
    questions: Sequence[Question],
    *,
    lang: str = "en",
    timed: float | None = None,
    mode: str = "auto",
    history_path: Path | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
) -> SessionResult:
    """Drill ``questions`` one by one, reading answers from ``stdin`` (default sys.stdin).

    ``mode="auto"`` asks the auto-checked variant where a question has one; ``"open"`` asks
    every question open and self-graded. Each answer is saved to the history at once; Ctrl-C
    or the end of the input stops the session cleanly (``interrupted=True``).
    """
    io = _IO(stdin or sys.stdin, stdout or sys.stdout, lang)
    m = MESSAGES[lang]
    store = _Store(history_path)
    started = _now()
    scores: list[float] = []
    over = 0
    per_topic: dict[str, list[float]] = {}
    stopped_by = None
    try:
        for i, q in enumerate(questions, 1):
            stars = "●" * q.difficulty + "○" * (3 - q.difficulty)
            io.say()
            io.say(
                "── "
                + m["header"].format(i=i, n=len(questions), id=q.id, topics=", ".join(q.topics), stars=stars)
                + " ──"
            )
            if timed is not None:
                io.say(m["limit"].format(limit=timed))
            if q.check is not None and mode == "auto":
                score, seconds = _ask_check(io, q, m, timed)
            else:
                score, seconds = _ask_open(io, q, m, timed)
            over += timed is not None and seconds > timed
            scores.append(score)
            for t in q.topics:
                per_topic.setdefault(t, []).append(score)
            store.answer(q, score)
    except EOFError:
        stopped_by = "eof"
    except KeyboardInterrupt:
        stopped_by = "interrupt"
        io.stdout.write("\n")
    result = SessionResult(len(scores), float(sum(scores)), len(questions), over, per_topic, stopped_by)
    _summary(io, m, result, timed)
    store.session(
        {
            "started": started,
            "finished": _now(),
            "lang": lang,
            "asked": result.asked,
            "score": result.score,
            "over_time": over,
            "stopped_by": stopped_by,
            "ids": [q.id for q in questions[: result.asked]],
        }
    )
    if history_path is not None:
        io.say(m["history"].format(path=history_path))
    return result


def _summary(io: _IO, m: dict[str, str], r: SessionResult, timed: float | None) -> None:
    io.say()
    if r.interrupted:
        io.say(m["stopped"].format(n=r.asked, total=r.total))
    pct = 100 * r.score / r.asked if r.asked else 0.0
    io.say(m["score"].format(score=r.score, n=r.asked, pct=pct))
    if timed is not None and r.asked:
        io.say(m["over_count"].format(k=r.over_time, n=r.asked, limit=timed))
    weak = sorted((sum(v) / len(v), t) for t, v in r.per_topic.items() if sum(v) < len(v))
    if weak:
        io.say(m["weak"].format(topics=", ".join(f"{t} ({100 * s:.0f}%)" for s, t in weak[:4])))


# --- command line --------------------------------------------------------------------------


def _difficulties(text: str) -> list[int]:
    """``2``, ``1,3`` or ``1-2``."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        m = re.fullmatch(r"([123])(?:-([123]))?", part)
        if not m:
            raise argparse.ArgumentTypeError(f"expected difficulties 1-3 such as 2, 1,3 or 1-2, got {text!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise argparse.ArgumentTypeError(f"empty range {part!r}")
        out += range(lo, hi + 1)
    return sorted(set(out))


def build_parser() -> argparse.ArgumentParser:
    """The ``kd drill`` argument parser."""
    p = argparse.ArgumentParser(
        prog="kd drill",
        description="Interview drill on knowledge distillation, from a bilingual question bank.",
        epilog="Answers: a letter for multiple choice, a number or expression (72/79, ln(10)) for "
        "numeric questions; open questions are self-graded after the model answer is shown. "
        "Ctrl-D or Ctrl-C stops with the score so far.",
    )
    p.add_argument("--lang", choices=LANGS, default="en", help="language (default en)")
    p.add_argument("--count", "-n", type=positive_int, default=5, help="number of questions (default 5)")
    p.add_argument(
        "--topic",
        "-t",
        action="append",
        default=None,
        metavar="TOPIC",
        help="only these topics (repeatable or comma-separated; see --list-topics)",
    )
    p.add_argument(
        "--difficulty",
        "-d",
        type=_difficulties,
        default=None,
        metavar="D",
        help="only these difficulties: 1, 2, 3, e.g. 2 or 1,3 or 1-2",
    )
    p.add_argument("--seed", type=int, default=None, help="seed for a reproducible selection")
    p.add_argument(
        "--timed",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="time limit per question; answers over it are reported",
    )
    p.add_argument(
        "--mode",
        choices=("auto", "open"),
        default="auto",
        help="auto: check multiple-choice/numeric variants (default); "
        "open: answer every question in words and self-grade",
    )
    p.add_argument("--bank", type=Path, default=None, help="another question bank (YAML)")
    p.add_argument("--json", action="store_true", help="no interaction: print the selected questions as JSON")
    p.add_argument(
        "--reveal", action="store_true", help="with --json: include model answers, key points and answer keys"
    )
    p.add_argument(
        "--answers",
        metavar="FILE",
        default=None,
        help='grade a JSON file ("-" for stdin) of {"question-id": answer}; prints JSON',
    )
    p.add_argument("--list-topics", action="store_true", help="list the topics and exit")
    p.add_argument("--stats", action="store_true", help="show the history by topic and exit")
    p.add_argument("--no-history", action="store_true", help="neither read nor write the history file")
    return p


def _question_json(q: Question, lang: str, reveal: bool, mode: str = "auto") -> dict[str, Any]:
    """One question as JSON; ``text`` is everything to show before taking the answer."""
    row: dict[str, Any] = {
        "id": q.id,
        "topics": list(q.topics),
        "difficulty": q.difficulty,
        "question": q.question[lang],
        "text": "\n\n".join(_stem_paragraphs(q, lang, mode)),
        "check": None,
    }
    if q.check is not None:
        c: dict[str, Any] = {"type": q.check.type, "prompt": q.prompt(lang)}
        if q.check.type == "choice":
            c["options"] = list(q.check.options[lang])
            c["letters"] = list(q.check.letters())
        else:
            c["tolerance"] = q.check.tolerance
        if reveal:
            c["answer"] = q.check.answer if q.check.type == "numeric" else int(q.check.answer)
        row["check"] = c
    if reveal:
        row["answer"] = q.answer[lang]
        row["key_points"] = list(q.key_points[lang])
        row["refs"] = list(q.refs)
    return row


def _print_json(obj: Any) -> None:
    try:
        print(json.dumps(obj, ensure_ascii=False, indent=2), flush=True)
    except BrokenPipeError:  # e.g. `kd drill --json | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _stats(bank: Bank, history: dict[str, Any], lang: str, as_json: bool) -> int:
    rows = []
    for topic in bank.topic_names():
        t = history["topics"].get(topic, {"asked": 0, "score": 0.0})
        rows.append(
            {
                "topic": topic,
                "asked": t["asked"],
                "score": t["score"],
                "weakness": round(_weakness(t if t["asked"] else None), 3),
            }
        )
    if as_json:
        _print_json({"topics": rows, "sessions": len(history["sessions"])})
        return 0
    print(f"{'topic':<12} {'asked':>5} {'score':>7}  weakness (higher = asked more often)")
    for r in rows:
        pct = f"{100 * r['score'] / r['asked']:.0f}%" if r["asked"] else "-"
        print(f"{r['topic']:<12} {r['asked']:>5} {pct:>7}  {r['weakness']:.2f}")
    print(f"{len(history['sessions'])} session(s) recorded")
    return 0


def _ensure_utf8() -> None:
    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if enc != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - exotic streams
                pass


def cli(argv: list[str]) -> int:
    """``kd drill [options]``: returns 0, 1 (answers with errors), 2 (bad input), 130 (Ctrl-C)."""
    _ensure_utf8()
    parser = build_parser()
    a = parser.parse_args(argv)
    if a.reveal and not a.json:
        parser.error("--reveal only works with --json")
    try:
        bank = load_bank(a.bank)
    except OSError as err:
        parser.error(f"cannot read the question bank: {err}")
    except ValueError as err:
        print(f"kd drill: invalid question bank: {err}", file=sys.stderr)
        return 2
    topics = None
    if a.topic:
        topics = [t.strip() for arg in a.topic for t in arg.split(",") if t.strip()]
        unknown = [t for t in topics if t not in bank.topic_names()]
        if unknown:
            parser.error(f"unknown topic {unknown[0]!r}; topics: {', '.join(bank.topic_names())}")
    history_path = None if a.no_history else default_history_path()
    history = load_history(history_path)

    if a.list_topics:
        counts = {t: sum(t in q.topics for q in bank) for t in bank.topic_names()}
        if a.json:
            _print_json(
                [
                    {"topic": t, "questions": n, "description": bank.topics.get(t, {}).get(a.lang, "")}
                    for t, n in counts.items()
                ]
            )
        else:
            for t, n in counts.items():
                print(f"{t:<12} {n:>3}  {bank.topics.get(t, {}).get(a.lang, '')}")
        return 0
    if a.stats:
        return _stats(bank, history, a.lang, a.json)
    if a.answers is not None:
        try:
            text = sys.stdin.read() if a.answers == "-" else Path(a.answers).read_text(encoding="utf-8")
            result = grade_answers(bank, json.loads(text), a.lang)
        except OSError as err:
            parser.error(f"cannot read --answers: {err}")
        except ValueError as err:
            parser.error(f'--answers must be JSON {{"question-id": answer, ...}}: {err}')
        if history_path is not None:
            store = _Store(history_path)
            for row in result["graded"]:
                if row.get("score") is not None:
                    store.answer(bank[row["id"]], float(row["score"]))
        _print_json(result)
        return 1 if result["errors"] else 0

    chosen = select(bank, topics=topics, difficulties=a.difficulty, count=a.count, seed=a.seed, history=history)
    if not chosen:
        parser.error("no question matches the chosen --topic / --difficulty")
    if a.json:
        _print_json(
            {
                "lang": a.lang,
                "bank": str(bank.path),
                "count": len(chosen),
                "mode": a.mode,
                "questions": [_question_json(q, a.lang, a.reveal, a.mode) for q in chosen],
            }
        )
        return 0
    result = run_session(chosen, lang=a.lang, timed=a.timed, mode=a.mode, history_path=history_path)
    return 130 if result.stopped_by == "interrupt" else 0

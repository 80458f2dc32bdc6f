"""The question bank: ``questions.yaml`` beside this module, validated on load (errors name the id and field)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdlib.drill.numbers import _eval_number, _is_number

DEFAULT_BANK = Path(__file__).with_name("questions.yaml")
LANGS = ("en", "zh")
HISTORY_FILE = "drill_history.json"
MAX_SESSIONS = 200  # sessions kept in the history file
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_QUESTION_KEYS = {"id", "topics", "difficulty", "refs", "question", "answer", "key_points", "check"}
_REQUIRED = ("id", "topics", "difficulty", "question", "answer", "key_points")


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

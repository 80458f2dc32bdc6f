"""The interactive drill: every question shown whole before an answer is read, in English or Chinese."""

from __future__ import annotations

import shutil
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kdlib.drill.bank import Question
from kdlib.drill.history import _now, _Store

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

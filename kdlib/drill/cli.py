"""``kd drill``: the command line."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from kdlib.argtypes import positive_int, seconds
from kdlib.drill.answers import grade_answers
from kdlib.drill.bank import LANGS, Bank, Question, load_bank
from kdlib.drill.history import _Store, _weakness, default_history_path, load_history, select
from kdlib.drill.session import _stem_paragraphs, run_session


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
    p.add_argument("--lang", choices=LANGS, default=None, help="language (default: from LANG, else en)")
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
    if lang == "zh":  # the topic's Chinese name beside its id (the id is what --topic takes)
        print(f"{'主题':<10} {'已答':>5} {'得分':>6}  {'弱项度':>6}  说明（弱项度越高，抽到越多）")
    else:
        print(f"{'topic':<12} {'asked':>5} {'score':>7}  weakness (higher = asked more often)")
    for r in rows:
        pct = f"{100 * r['score'] / r['asked']:.0f}%" if r["asked"] else "-"
        name = bank.topics.get(r["topic"], {}).get(lang, "") if lang == "zh" else ""
        print(f"{r['topic']:<12} {r['asked']:>5} {pct:>7}  {r['weakness']:.2f}" + (f"  {name}" if name else ""))
    print(
        f"共记录 {len(history['sessions'])} 次练习"
        if lang == "zh"
        else f"{len(history['sessions'])} session(s) recorded"
    )
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
    if a.lang is None:
        from kdlib.i18n.lang import from_env

        a.lang = from_env()
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

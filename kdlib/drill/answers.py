"""Grading answers given as data (``kd drill --json --answers``)."""

from __future__ import annotations

from typing import Any

from kdlib.drill.bank import Bank, Question
from kdlib.drill.numbers import _is_number


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

"""The drill history (``$KDLIB_HOME/drill_history.json``): written atomically; weak topics come back more often."""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kdlib.drill.bank import HISTORY_FILE, MAX_SESSIONS, Question


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

"""Interview drill: the bilingual question bank (``kdlib/drill/questions.yaml``) and ``kd drill``.

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

One module a job: :mod:`~kdlib.drill.bank` (load and validate the bank),
:mod:`~kdlib.drill.numbers` (numeric answers), :mod:`~kdlib.drill.history` (the history and the
weighting of weak topics), :mod:`~kdlib.drill.answers` (answers given as data),
:mod:`~kdlib.drill.session` (the interactive drill), :mod:`~kdlib.drill.cli` (``kd drill``).
"""

from kdlib.drill.answers import grade_answers
from kdlib.drill.bank import _ID, DEFAULT_BANK, LANGS, Bank, Check, Question, load_bank
from kdlib.drill.cli import _question_json, build_parser, cli
from kdlib.drill.history import default_history_path, load_history, record_answer, save_history, select, weights
from kdlib.drill.numbers import _eval_number
from kdlib.drill.session import MESSAGES, SessionResult, run_session

__all__ = [
    "DEFAULT_BANK",
    "LANGS",
    "MESSAGES",
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
# private names kept importable for the tests that check them
_PRIVATE = (_ID, _eval_number, _question_json)

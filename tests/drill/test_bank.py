"""The question bank's content: balanced multiple choice, Chinese typography, quoted figures."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdlib import drill

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bank() -> drill.Bank:
    return drill.load_bank()


def _choice_items(bank: drill.Bank) -> list[drill.Question]:
    return [q for q in bank if q.check is not None and q.check.type == "choice"]


def _texts(q: drill.Question, lang: str) -> Iterator[tuple[str, str]]:
    """Every text of one question in one language, as (field, text)."""
    yield "question", q.question[lang]
    yield "answer", q.answer[lang]
    for i, point in enumerate(q.key_points[lang]):
        yield f"key_points[{i}]", point
    if q.check is not None:
        if q.check.prompt:
            yield "check.prompt", q.check.prompt[lang]
        for i, option in enumerate(q.check.options[lang] if q.check.options else ()):
            yield f"check.options[{i}]", option


# --- multiple choice: the length of an option and its position give nothing away --------------


@pytest.mark.parametrize("lang", drill.LANGS)
def test_the_right_option_is_rarely_the_longest_or_the_shortest(bank, lang):
    items = _choice_items(bank)
    longest, shortest = [], []
    for q in items:
        sizes = [len(o) for o in q.check.options[lang]]
        right = sizes[int(q.check.answer)]
        if right == max(sizes):  # strictly or tied longest
            longest.append(q.id)
        if right == min(sizes):
            shortest.append(q.id)
    limit, n = len(items) / 3, len(items)
    assert len(longest) <= limit, f"{lang}: the right option is the longest in {len(longest)}/{n}: {longest}"
    assert len(shortest) <= limit, f"{lang}: the right option is the shortest in {len(shortest)}/{n}: {shortest}"


def test_answer_positions_are_spread(bank):
    items = _choice_items(bank)
    assert all(len(q.check.options["en"]) == 4 for q in items), "every item has four options a-d"
    counts = Counter(int(q.check.answer) for q in items)
    assert set(counts) == {0, 1, 2, 3}, counts
    assert max(counts.values()) <= 0.4 * len(items), counts


# --- Chinese typography -------------------------------------------------------------------------

HAN = "\u3400-\u4dbf\u4e00-\u9fff"  # CJK unified ideographs, with extension A
LATIN = "A-Za-z0-9\u0391-\u03a9\u03b1-\u03c9\u00b2\u00b3\u00b9\u2070\u2074-\u2079%"
_MISSING_SPACE = re.compile(f"(?=([{HAN}][{LATIN}]|[{LATIN}][{HAN}]))")  # a lookahead: pairs may overlap


def missing_spaces(text: str) -> list[str]:
    """The pairs of characters in ``text`` where a Chinese character touches Latin text.

    The rule: a Han character (CJK unified ideographs, extension A included) and an adjacent
    ASCII letter or digit, Greek letter (α), superscript digit (T²) or percent sign (part of the
    number before it, as in "约 8% 的") are separated by one space: "使用 PyTorch 的 KL",
    "T = 1 时". Punctuation needs no space on either side, whether full-width (，。：（）“”) or
    ASCII, so formulas and code keep their own spelling: "KL(教师 ‖ 学生)", "p_教师",
    "（T = 1）", "“2”更像“3”". The rule holds in code blocks too (their Chinese comments).
    """
    return [m.group(1) for m in _MISSING_SPACE.finditer(text)]


def _context(text: str, pair: str) -> str:
    i = text.index(pair)
    return text[max(0, i - 8) : i + 10]


@pytest.mark.parametrize(
    "text,found",
    [
        ("使用PyTorch的KL", ["用P", "h的", "的K"]),
        ("T = 1时", ["1时"]),
        ("约 8%的样本", ["%的"]),
        ("α取 0.5", ["α取"]),
        ("乘以T²", ["以T"]),
        ("第2步", ["第2", "2步"]),
        ("使用 PyTorch 的 KL", []),
        ("KL(教师 ‖ 学生)，p_教师", []),
        ("（T = 1）时，“2”更像“3”", []),
        ("约 8% 的样本；1,347 个输入；x_test 上", []),
        ("    log_q = F.log_softmax(s / T, dim=-1)  # 学生，(B, C)", []),
    ],
)
def test_the_spacing_rule(text, found):
    assert missing_spaces(text) == found


def test_chinese_text_has_a_space_around_latin_text(bank):
    bad = []
    for q in bank:
        for field, text in _texts(q, "zh"):
            bad += [f"{q.id} {field}: {_context(text, pair)!r}" for pair in missing_spaces(text)]
    for topic, desc in bank.topics.items():
        bad += [f"topic {topic}: {_context(desc['zh'], pair)!r}" for pair in missing_spaces(desc["zh"])]
    sample = {"i": 1, "n": 5, "id": "x", "topics": "loss", "stars": "●○○", "limit": 60, "first": "a", "last": "d"}
    sample |= {"letters": "a, b", "err": "x", "expected": "b) x", "sec": 61.0, "score": 3, "pct": 60, "k": 1}
    sample |= {"total": 5, "path": "/tmp/h.json"}
    for key, message in drill.MESSAGES["zh"].items():
        shown = message.format(**sample)
        bad += [f"MESSAGES['zh'][{key!r}]: {_context(shown, pair)!r}" for pair in missing_spaces(shown)]
    assert not bad, "missing space between Chinese and Latin text:\n" + "\n".join(bad)


def test_no_primary_school_pupils(bank):
    # 小学生 reads "primary-school pupil": a small student is 小型学生模型 or 学生模型
    bad = [f"{q.id} {field}" for q in bank for field, text in _texts(q, "zh") if "小学生" in text]
    assert not bad, bad


# --- figures quoted by the bank ---------------------------------------------------------------

#: every percentage and "N×" ratio the bank quotes, with where it comes from
BANK_FIGURES = {
    "4×": "definition: float32 takes 4 bytes per weight, int8 1 byte",
    "10×": "scenario: a hypothetical student size",
    "40×": "definition: 10× fewer parameters × 4× fewer bytes",
    "40%": "paper: Sanh et al. 2019 (DistilBERT), 66M against 110M parameters",
    "60%": "paper: Sanh et al. 2019 (DistilBERT), inference time",
    "97%": "paper: Sanh et al. 2019 (DistilBERT), GLUE score",
    "58.9%": "paper: Hinton, Vinyals & Dean 2015, §4 (speech, Table 1)",
    "61.1%": "paper: Hinton, Vinyals & Dean 2015, §4 (speech, Table 1)",
    "60.8%": "paper: Hinton, Vinyals & Dean 2015, §4 (speech, Table 1)",
    "91%": "computed: (146 − 74) / (146 − 67) from Hinton et al. 2015, §3",
    "86.8%": "computed: (1010 − 133) / 1010 from Hinton et al. 2015, §3",
    "98.6%": "paper: Hinton et al. 2015, §3 ((1010 − 14) / 1010, bias shift tuned on the test set)",
    "87%": "scenario: made-up accuracies of evaluation-gap-closed",
    "63%": "scenario: made-up accuracies of evaluation-gap-closed",
    "65%": "scenario: made-up accuracies of evaluation-gap-closed",
    "8%": "computed: (65 − 63) / (87 − 63)",
}
#: figures measured by the kit and quoted by the bank: (quote, question id, producer)
KIT_FIGURES = [
    ("0.924 → 0.953", "concepts-traditional-ml", "solutions/01_concepts/01_concepts.ipynb"),
    ("about 3 points", "concepts-traditional-ml", "solutions/01_concepts/01_concepts.ipynb"),
    ("standard deviation of\nmore than one point", "evaluation-gap-closed", "benchmarks/kd_gain.py"),
]
_FIGURE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s?[%×]")


def test_every_quoted_percentage_or_ratio_has_a_source(bank):
    unknown = {}
    for q in bank:
        for lang in drill.LANGS:
            for field, text in _texts(q, lang):
                if text.startswith("import ") or "\n    " in text:  # code: f"{x:+.2%}" is no figure
                    text = "\n".join(line for line in text.split("\n") if not line.startswith("    "))
                for m in _FIGURE.finditer(text):
                    figure = m.group().replace(" ", "")
                    if figure not in BANK_FIGURES:
                        unknown.setdefault(figure, []).append(f"{q.id} {lang} {field}")
    assert not unknown, f"figures without a source in BANK_FIGURES: {unknown}"


def test_kit_figures_quoted_by_the_bank_exist_in_their_producer(bank):
    for quote, qid, producer in KIT_FIGURES:
        text = " ".join(bank[qid].answer["en"].split())
        assert " ".join(quote.split()) in text, (qid, quote)
        assert (ROOT / producer).is_file(), producer
    # notebook 01 reports the same measurement the bank quotes
    nb = json.loads((ROOT / "solutions/01_concepts/01_concepts.ipynb").read_text(encoding="utf-8"))
    prose = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "0.924" in prose and "0.953" in prose, "notebook 01's logistic-regression figures changed: update the bank"


def test_hinton_left_out_class_is_quoted_correctly(bank):
    # Hinton, Vinyals & Dean 2015, §3: no 3 in the transfer set -> 206 test errors, 133 of them on the
    # 1010 threes; +3.5 on the bias of class 3, chosen on the TEST set -> 109 errors, 14 on threes.
    assert f"{100 * (1010 - 133) / 1010:.1f}%" == "86.8%"
    assert f"{100 * (1010 - 14) / 1010:.1f}%" == "98.6%"
    quoting = [q for q in bank if any("98.6" in text for lang in drill.LANGS for _, text in _texts(q, lang))]
    assert [q.id for q in quoting] == ["concepts-transfer-set"]
    for q in quoting:
        en = " ".join(q.answer["en"].split())
        for piece in ("206 test errors", "133", "1010", "86.8%", "raising it by 3.5", "test set", "98.6%", "14"):
            assert piece in en, piece
        zh = q.answer["zh"]
        for piece in ("206", "133", "1010", "86.8%", "3.5", "测试集", "98.6%"):
            assert piece in zh, piece


def test_no_unsourced_keras_distillation_figures(bank):
    # "34% against 58%" for keras.distillation's default loss had no producing script
    for q in bank:
        for lang in drill.LANGS:
            for field, text in _texts(q, lang):
                assert "34%" not in text and "58%" not in text, f"{q.id} {lang} {field}"

"""Messages in the learner's language: templates, catalogues, the kernel hook and the kd command.

English messages are literals and f-strings in the code; ``kdlib.i18n.messages`` turns them into
templates ({0}, {1}… for the values) whose translations live in gettext catalogues.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kdlib.i18n import messages as m
from kdlib.i18n.build import translate
from kdlib.i18n.catalogue import catalogue_path, load

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*") if p.is_dir())
LANG = "zh_CN"
CJK = re.compile(r"[\u4e00-\u9fff]")

CATALOGUES = {
    "kdlib": (m.PACKAGE / LANG / "kdlib.po", lambda: m.sources(ROOT, None)),
    "grading": (m.PACKAGE / LANG / "grading.po", lambda: m.grading_sources(ROOT)),
    "cli": (m.PACKAGE / LANG / "cli.po", lambda: m.cli_sources(ROOT)),
    **{f"{a} code": (m.PACKAGE / LANG / f"{a}.po", lambda a=a: m.sources(ROOT, a)) for a in ASSIGNMENTS},
    **{
        f"{a} judge": (ROOT / "solutions" / a / f"judge.{LANG}.po", lambda a=a: m.judge_sources(ROOT, a))
        for a in ASSIGNMENTS
    },
}


def test_templates_keep_the_values_apart():
    src = (
        'def f(x):\n    """doc"""\n'
        '    assert x, f"got {x:.3f}, expected {2 * x}: the KL is reversed"\n'
        '    y = "short"\n    z = "teacher_logits"\n'
    )
    assert m.templates(src) == ["got {0}, expected {1}: the KL is reversed"]


def test_translator_fills_values_translates_nested_messages_and_leaves_the_unknown():
    say = m.Translator(
        [
            ("got {0}, expected {1}: the KL is reversed", "得到 {0}，应为 {1}：KL 方向反了"),
            ("this test did not run: {0}", "这道测试没有运行：{0}"),
            ("the notebook stopped before it", "笔记本在这之前就停止了"),
        ]
    )
    assert say("got 1.500, expected 3.0: the KL is reversed") == "得到 1.500，应为 3.0：KL 方向反了"
    assert say("this test did not run: the notebook stopped before it") == "这道测试没有运行：笔记本在这之前就停止了"
    assert say("AssertionError: got 1, expected 2: the KL is reversed") == "AssertionError: 得到 1，应为 2：KL 方向反了"
    assert say("an unknown message stays as it is") == "an unknown message stays as it is"
    assert say("two lines\ngot 1, expected 2: the KL is reversed") == "two lines\n得到 1，应为 2：KL 方向反了"


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_message_has_a_current_translation(name):
    path, found = CATALOGUES[name]
    assert path.is_file(), f"missing {path}: python -m kdlib.i18n messages"
    bad = {k: v for k, v in m.problems(path, found()).items() if v}
    assert not bad, f"{path.relative_to(ROOT)}: {bad} (python -m kdlib.i18n messages, then translate)"


def test_an_edited_message_keeps_its_translation_as_stale(tmp_path):
    po = tmp_path / "x.po"
    m.update(po, {"a.py": ["the loss is {0}: not scaled by T squared"]}, LANG, "x")
    import polib

    cat = polib.pofile(str(po))
    cat[0].msgstr = "损失为 {0}：没有乘以 T 的平方"
    cat.save()
    counts = m.update(po, {"a.py": ["the loss is {0}: it is not scaled by T squared"]}, LANG, "x")
    assert counts["stale"] == 1
    problems = m.problems(po, {"a.py": ["the loss is {0}: it is not scaled by T squared"]})
    assert problems["stale"] == ["the loss is {0}: it is not scaled by T squared"] and not problems["missing"]


def _run(nb, folder: Path, name: str):
    from nbclient import NotebookClient

    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    NotebookClient(
        nb, kernel_name="python3", timeout=300, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


@pytest.mark.slow
def test_a_chinese_notebook_shows_failed_visible_tests_and_results_in_chinese(tmp_path):
    from tests.grading import catalogues
    from tests.support import filled

    name = "03_loss_torch"
    student = nbformat.read(ROOT / "notebooks" / name / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    mistake = next(iter(catalogues.load()[name].mistakes.values()))
    english = filled(student, solution, mistake.patches)
    chinese = translate(english, load(catalogue_path(name, LANG)), LANG, source_nb=solution)
    runs = {"en": _run(english, tmp_path / "en", name), "zh": _run(chinese, tmp_path / "zh", name)}
    errors = {
        k: [o.evalue for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        for k, nb in runs.items()
    }
    printed = {
        k: "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
        for k, nb in runs.items()
    }
    assert errors["en"] and len(errors["zh"]) == len(errors["en"]), errors
    assert all(CJK.search(e) for e in errors["zh"] if e), errors["zh"]
    assert not any(CJK.search(e) for e in errors["en"]), errors["en"]
    assert CJK.search(printed["zh"]) and not CJK.search(printed["en"])


def _kd(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    return subprocess.run(
        [sys.executable, "-m", "kdlib.cli", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    "command", [["check", "--help"], ["grade", "--help"], ["demo", "--help"], ["drill", "--help"], ["start", "--help"]]
)
def test_kd_help_in_chinese_with_lang_or_LANG(command):
    en = _kd(*command)
    zh = _kd("--lang", "zh", *command)
    by_env = _kd(*command, env={"LANG": "zh_CN.UTF-8"})
    assert en.returncode == zh.returncode == by_env.returncode == 0, zh.stderr
    assert not CJK.search(en.stdout)
    assert len(CJK.findall(zh.stdout)) > 20 and "用法" in zh.stdout, zh.stdout
    assert by_env.stdout == zh.stdout


def test_kd_drill_stats_and_topics_in_chinese(tmp_path):
    out = _kd("drill", "--lang", "zh", "--list-topics").stdout
    assert "软目标" in out and "原文" in out
    stats = _kd("drill", "--lang", "zh", "--stats", env={"KDLIB_HOME": str(tmp_path)}).stdout
    assert "主题" in stats and "软目标" in stats and "共记录 0 次练习" in stats, stats


def test_a_bad_language_names_the_argument():
    r = _kd("--lang", "fr", "data")
    assert r.returncode == 2 and "--lang: expected en or zh" in r.stderr


def _message_prose(text: str) -> str:
    """A message without its code: calls and formulas f(...), quoted names, ``x ** 2``, an identifier
    that is the subject of "must ..." (a function or argument name)."""
    from tests.course.test_i18n import _prose

    text = _prose(text)
    for _ in range(3):
        text = re.sub(r"\b\w+\([^()]*\)", " ", text)
    text = re.sub(r"'[^']*'", " ", text)
    text = re.sub(r"\b\w+\s*\*\*\s*\d", " ", text)
    return re.sub(r"\b\w+(?= must (?:return|be|hold|take))", " ", text)


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_messages_follow_the_glossary(name):
    import polib

    from tests.course.test_i18n import GLOSSARY, _term

    path, _ = CATALOGUES[name]
    wrong = []
    for e in polib.pofile(str(path)):
        if e.obsolete or not e.msgstr or e.msgstr == e.msgid:
            continue
        english = _message_prose(e.msgid)
        for term in GLOSSARY:
            if _term(term["en"]).search(english) and not any(
                a.lower() in e.msgstr.lower() for a in [term["zh"], *term.get("also", [])]
            ):
                wrong.append(f"'{term['en']}' should be {term['zh']} in: {e.msgid[:80]!r} -> {e.msgstr[:80]!r}")
    assert not wrong, f"{path.relative_to(ROOT)} does not follow i18n/glossary.yaml:\n" + "\n".join(wrong)

"""The Chinese edition: catalogues complete and fresh, built notebooks in step, only prose differs.

English notebooks (solutions/, notebooks/) are the source; i18n/zh_CN/NN_slug.po holds the
Chinese of each markdown cell; zh/solutions and zh/notebooks are built from both by
``python -m kdlib.i18n build`` (``make release``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from kdlib.i18n import build, catalogue
from kdlib.i18n.lang import from_env, normalize

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*") if p.is_dir())
LANG = "zh_CN"
GLOSSARY = yaml.safe_load((ROOT / "i18n" / "glossary.yaml").read_text(encoding="utf-8"))


def _po(name: str):
    return catalogue.load(catalogue.catalogue_path(name, LANG))


def _english(name: str, kind: str = "solutions"):
    return nbformat.read(ROOT / kind / name / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_markdown_cell_has_a_current_translation(name):
    status = catalogue.problems(_english(name), _po(name))
    assert not status, f"i18n/{LANG}/{name}.po: {status.describe()} (python -m kdlib.i18n update, then translate)"


def test_an_english_change_marks_the_translation_stale(tmp_path):
    name = "03_loss_torch"
    nb_path, po_path = tmp_path / f"{name}.ipynb", tmp_path / f"{name}.po"
    shutil.copy(ROOT / "solutions" / name / f"{name}.ipynb", nb_path)
    shutil.copy(catalogue.catalogue_path(name, LANG), po_path)
    nb = nbformat.read(nb_path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    old_english, old_chinese = cell.source, _po(name).find(cell.source, msgctxt=cell.id).msgstr
    cell.source += "\n\nOne more sentence."
    nbformat.write(nb, nb_path)

    counts = catalogue.update(nb_path, po_path, LANG)
    assert counts["stale"] == 1 and counts["added"] == 0
    entry = next(e for e in catalogue.load(po_path) if e.msgctxt == cell.id)
    assert "fuzzy" in entry.flags and entry.previous_msgid == old_english and entry.msgstr == old_chinese
    status = catalogue.problems(nb, catalogue.load(po_path))
    assert status.stale == [cell.id] and not status.missing
    with pytest.raises(build.TranslationError, match=cell.id):
        build.translate(nb, catalogue.load(po_path), LANG)


def test_a_new_cell_is_reported_untranslated(tmp_path):
    name = "03_loss_torch"
    nb = _english(name)
    nb.cells.append(nbformat.v4.new_markdown_cell("A new paragraph.", id="new-cell"))
    status = catalogue.problems(nb, _po(name))
    assert status.missing == ["new-cell"]


def _same_except_prose(english, chinese, where: str) -> None:
    assert [c.get("id") for c in chinese.cells] == [c.get("id") for c in english.cells], f"{where}: cell ids differ"
    for e, z in zip(english.cells, chinese.cells, strict=True):
        assert z.cell_type == e.cell_type and z.metadata == e.metadata, f"{where} cell {e.id}: type/metadata differ"
        if e.cell_type == "code":
            assert z.source == e.source, f"{where} cell {e.id}: code differs between the languages"
    meta = {k: v for k, v in chinese.metadata.items() if k != "kd_course"}
    assert meta == {k: v for k, v in english.metadata.items() if k != "kd_course"}, f"{where}: notebook metadata"
    assert build.language_of(chinese) == LANG and build.language_of(english) == "en"


@pytest.mark.parametrize("name", ASSIGNMENTS)
@pytest.mark.parametrize("kind", ["solutions", "notebooks"])
def test_committed_chinese_notebook_is_the_build_and_differs_only_in_prose(name, kind, tmp_path):
    committed = ROOT / "zh" / kind / name / f"{name}.ipynb"
    assert committed.is_file(), f"missing {committed.relative_to(ROOT)}: run make release"
    fresh = build.write(
        ROOT / kind / name / f"{name}.ipynb",
        catalogue.catalogue_path(name, LANG),
        LANG,
        tmp_path / f"{name}.ipynb",
        source_path=ROOT / "solutions" / name / f"{name}.ipynb",
    )
    assert committed.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        f"{committed.relative_to(ROOT)} is out of date with its English source or catalogue: run make release"
    )
    chinese = nbformat.read(committed, as_version=4)
    _same_except_prose(_english(name, kind), chinese, str(committed.relative_to(ROOT)))
    translated = [c for c in chinese.cells if c.cell_type == "markdown" and re.search(r"[\u4e00-\u9fff]", c.source)]
    markdown = [c for c in chinese.cells if c.cell_type == "markdown" and c.source.strip() != "YOUR ANSWER HERE"]
    assert len(translated) == len(markdown), f"{committed.relative_to(ROOT)}: markdown cells without Chinese"


_CODE = re.compile(
    "|".join(
        [
            r"```.*?```",  # fenced code
            r"`[^`]*`",  # inline code
            r"\$\$.*?\$\$",  # display maths
            r"\$[^$]*\$",  # inline maths
            r"\]\([^)]*\)",  # link targets
            r"https?://\S+",
            r"<[^>]+>",  # HTML tags
            r"(?m:^ {4,}.*$)",  # indented code
            r"(?m:^(?:def|class|import|from|return) .*$)",  # code lines in the bank's answers
            r"\"[^\"\n]*\"",  # quoted titles
            r"“[^”]*”",
        ]
    ),
    re.S,
)


def _prose(text: str) -> str:
    """``text`` without code (fenced, inline, indented), formulas, link targets, HTML tags and quoted
    titles: terms there stay as written."""
    return _CODE.sub(" ", text)


def _term(en: str) -> re.Pattern:
    """``en`` as a word (any case, plural -s/-es), not part of an identifier such as teacher_logits."""
    body = re.escape(en).replace(r"\ ", r"[\s-]+")
    return re.compile(r"(?<![\w.-])" + body + r"(?:s|es)?(?![\w-]|\.\w|=|\()", re.I)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_glossary_terms_are_translated_consistently(name):
    wrong = []
    for entry in _po(name):
        if entry.obsolete:
            continue
        english, chinese = _prose(entry.msgid), entry.msgstr
        for term in GLOSSARY:
            if _term(term["en"]).search(english):
                accepted = [term["zh"], *term.get("also", [])]
                if not any(a.lower() in chinese.lower() for a in accepted):
                    wrong.append(f"{entry.msgctxt}: '{term['en']}' should be {term['zh']}")
    assert not wrong, "glossary (i18n/glossary.yaml) not followed:\n" + "\n".join(wrong)


_CJK = r"[\u4e00-\u9fff]"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_chinese_and_latin_are_spaced(name):
    """One space between Chinese and Latin letters, digits, code or formulas (中文排版 convention)."""
    bad = []
    for entry in _po(name):
        if entry.obsolete:
            continue
        text = re.sub(r"```.*?```|\$\$.*?\$\$|https?://\S+|<[^>]+>", " ", entry.msgstr, flags=re.S)
        for m in re.finditer(rf"{_CJK}[A-Za-z0-9`$]|[A-Za-z0-9`$]{_CJK}", text):
            bad.append(f"{entry.msgctxt}: …{text[max(0, m.start() - 8) : m.end() + 8]}…")
    assert not bad, "Chinese directly next to Latin text:\n" + "\n".join(bad[:20])


def test_glossary_terms_are_the_banks():
    """The drill bank (already bilingual) uses the glossary's Chinese where its English uses a term."""
    bank = yaml.safe_load((ROOT / "kdlib" / "drill" / "questions.yaml").read_text(encoding="utf-8"))
    checked, wrong = 0, []
    for q in bank["questions"]:
        for part in ("question", "answer"):
            en, zh = str(q[part]["en"]), str(q[part]["zh"])
            for term in GLOSSARY:
                if _term(term["en"]).search(_prose(en)):
                    checked += 1
                    if not any(a.lower() in zh.lower() for a in [term["zh"], *term.get("also", [])]):
                        wrong.append(f"{q['id']} {part}: '{term['en']}' should be {term['zh']}")
    assert checked > 100
    assert not wrong, "the drill bank does not follow i18n/glossary.yaml:\n" + "\n".join(wrong)


def test_language_names_and_the_lang_convention():
    assert normalize("zh_CN.UTF-8") == normalize("zh-Hans") == normalize("zh") == "zh"
    assert normalize("en_US.UTF-8") == normalize("C") == "en"
    with pytest.raises(ValueError, match="lang: expected en or zh"):
        normalize("fr")
    assert from_env({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert from_env({"LANGUAGE": "en", "LANG": "zh_CN.UTF-8"}) == "en"
    assert from_env({}) == "en"


def test_kd_start_in_chinese_copies_the_chinese_edition(tmp_path):
    from kdlib import workspace

    for kind in ("notebooks", "zh"):
        shutil.copytree(ROOT / kind, tmp_path / kind, ignore=shutil.ignore_patterns("solutions"))
    done = workspace.start(["03_loss_torch"], root=tmp_path, lang="zh")
    (copied,) = done["copied"]
    assert build.language_of(nbformat.read(copied, as_version=4)) == LANG
    again = workspace.start(["03_loss_torch"], root=tmp_path, lang="en")
    assert again["kept"] == [copied] and not again["copied"], "kd start must never replace a learner's notebook"
    with pytest.raises(ValueError, match="lang"):
        workspace.start(["03_loss_torch"], root=tmp_path, lang="klingon")

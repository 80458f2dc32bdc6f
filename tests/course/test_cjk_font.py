"""Chinese text in figures renders with real glyphs (no missing-glyph boxes); JupyterLab speaks Chinese."""

from __future__ import annotations

import io
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from kdlib.plots import cjk_font_path, use_cjk_font  # noqa: E402

TEXT = "知识蒸馏：软标签、温度 T 与暗知识（−1.5）"


def _missing_glyphs() -> list[str]:
    fig, ax = plt.subplots()
    ax.set_title(TEXT)
    ax.set_xlabel("迁移集大小")
    ax.plot([0, 1], [0, -1], label="学生（从零训练）")
    ax.legend()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_default_font_lacks_chinese_so_the_check_can_fail():
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        assert _missing_glyphs(), "DejaVu Sans has no CJK glyphs: this check would not notice a missing font"


def test_the_kits_cjk_font_draws_every_character():
    assert cjk_font_path() is not None, "the CJK font (mplfonts' Noto Sans CJK SC) is not installed"
    with matplotlib.rc_context():
        assert use_cjk_font()
        missing = _missing_glyphs()
    assert not missing, missing[:3]


@pytest.mark.parametrize("text", ["教师", "学生", "温度", "软标签", "暗知识", "迁移集", "容量差距"])
def test_the_font_covers_the_glossary(text):
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(cjk_font_path()))
    charmap = font.get_charmap()
    assert all(ord(ch) in charmap for ch in text)


def test_jupyterlab_has_its_chinese_language_pack():
    from jupyterlab_server.translation_utils import get_language_packs

    packs, message = get_language_packs("zh_CN")
    assert "zh_CN" in packs, f"jupyterlab-language-pack-zh-CN is not installed ({message})"


def test_make_lab_sets_the_chinese_ui_when_asked():
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(["make", "-n", "lab", "LAB_LANG=zh"], cwd=root, capture_output=True, text=True, check=True)
    assert '"zh_CN"' in out.stdout and "kd start --lang zh" in out.stdout and "JUPYTERLAB_SETTINGS_DIR" in out.stdout

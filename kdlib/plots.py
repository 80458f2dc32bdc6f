"""Matplotlib figures used by the notebooks and the ``kd`` command. Each returns the Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: the CJK font: Noto Sans CJK SC (SIL Open Font License), shipped by the mplfonts package
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"


def cjk_font_path():
    """Path of the bundled CJK font file (None if the mplfonts package is not installed)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / CJK_FONT_FILE
    return path if path.is_file() else None


def use_cjk_font() -> bool:
    """Let matplotlib draw Chinese: the CJK font becomes the fallback after the default sans-serif.

    Matplotlib (>= 3.6) falls back glyph by glyph along ``font.family``, so Latin text keeps
    DejaVu Sans and Chinese characters come from Noto Sans CJK SC. Returns False (and changes
    nothing) when the font is missing.
    """
    import matplotlib
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        return False
    if CJK_FONT_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    # a list of families (not the generic "sans-serif") is what turns on per-glyph fallback
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", CJK_FONT_NAME]
    matplotlib.rcParams["axes.unicode_minus"] = False  # U+2212 is not in every CJK font
    return True


def _plt():
    # pyplot picks a headless backend by itself when there is no display.
    import matplotlib.pyplot as plt

    return plt


def plot_soft_targets(logits, temperatures: Sequence[float] = (1, 2, 4, 10), class_names=None):
    """Bar charts of softmax(logits / T) for one row of logits (C,) at several temperatures."""
    plt = _plt()
    z = np.asarray(logits, dtype=np.float64).reshape(1, -1)
    c = z.shape[1]
    names = list(class_names) if class_names is not None else [str(i) for i in range(c)]
    fig, axes = plt.subplots(1, len(temperatures), figsize=(3.2 * len(temperatures), 2.8), sharey=True)
    for ax, t in zip(np.atleast_1d(axes), temperatures, strict=True):
        z_t = z / t  # softmax(z / T), computed here: kdlib.reference is hidden from graded notebooks
        p = np.exp(z_t - z_t.max()) / np.exp(z_t - z_t.max()).sum()
        p = p[0]
        ent = float(-(p * np.log(np.clip(p, 1e-300, None))).sum())
        ax.bar(range(c), p, color="tab:blue")
        ax.set_xticks(range(c), names)
        ax.set_title(f"T = {t}  (entropy {ent:.2f})")
        ax.set_ylim(0, 1)
    np.atleast_1d(axes)[0].set_ylabel("probability")
    fig.tight_layout()
    return fig


def plot_history(histories: Mapping[str, object], metric: str = "val_accuracy"):
    """Curves of one History field (``loss`` or ``val_accuracy``) per named run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, h in histories.items():
        vals = getattr(h, metric) if not isinstance(h, Mapping) else h[metric]
        ax.plot(range(1, len(vals) + 1), vals, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_results(results: Sequence[Mapping], metric: str = "accuracy", title: str = ""):
    """Bar chart of mean ± std of ``metric`` per (framework, model) row of a results table.

    Each row: {"framework": str, "model": str, metric + "_mean": float, metric + "_std": float}.
    """
    plt = _plt()
    frameworks = list(dict.fromkeys(r["framework"] for r in results))
    models = list(dict.fromkeys(r["model"] for r in results))
    width = 0.8 / max(len(frameworks), 1)
    fig, ax = plt.subplots(figsize=(1.6 * len(models) + 2, 3.8))
    for i, fw in enumerate(frameworks):
        rows = {r["model"]: r for r in results if r["framework"] == fw}
        means = [rows[m][f"{metric}_mean"] if m in rows else np.nan for m in models]
        stds = [rows[m][f"{metric}_std"] if m in rows else 0 for m in models]
        xs = np.arange(len(models)) + (i - (len(frameworks) - 1) / 2) * width
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=fw)
    ax.set_xticks(range(len(models)), models, rotation=15)
    ax.set_ylabel(metric)
    ax.set_ylim(0.0, 1.0)  # from 0: a cut axis would make small differences look large
    ax.legend()
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig

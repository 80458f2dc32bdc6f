"""Every command the README shows can be run as written after the two setup commands."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    """Shell commands of ```bash blocks and `inline` spans that start with make or .venv/bin/."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        found += [ln.split("#")[0].strip() for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
    found += re.findall(r"`((?:make|\.venv/bin/)[^`]*)`", README)
    return [c for c in found if c.startswith(("make ", ".venv/bin/"))]


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.M))


def test_readme_has_runnable_commands():
    commands = _commands()
    assert len(commands) >= 10
    targets = _make_targets()
    kd_commands = {"demo", "data", "grade", "check", "start", "drill"}
    for cmd in commands:
        words = shlex.split(cmd.replace("…", "x"))
        if words[0] == "make":
            named = [w for w in words[1:] if "=" not in w]
            assert named and all(t in targets for t in named), f"README: {cmd!r} names no Makefile target"
        elif words[0] == ".venv/bin/kd":
            assert len(words) > 1 and words[1] in kd_commands, f"README: {cmd!r}: no such kd command"
        elif words[0] == ".venv/bin/python":
            target = words[1] if words[1] != "-m" else words[2]
            if words[1] == "-m":
                assert target.startswith("kdlib"), cmd
            else:
                assert (ROOT / target).is_file(), f"README: {cmd!r}: no file {target}"


def test_the_two_setup_commands_are_first_and_make_knows_them():
    first = re.search(r"```bash\n(.*?)```", README, flags=re.S).group(1)
    assert "make demo" in first and "make test" in first
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "demo", "test"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def _points(name: str) -> tuple[float, float]:
    """(autograded, manually graded) points of a source notebook, from its nbgrader metadata."""
    import nbformat

    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    auto = manual = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        if meta.get("solution") or cell.cell_type == "markdown":
            manual += float(meta.get("points", 0))
        else:
            auto += float(meta.get("points", 0))
    return auto, manual


def test_course_table_lists_every_notebook_with_its_points():
    rows = dict(re.findall(r"^\| `(\d\d_[a-z0-9_]+)` \|.*\| ([^|]+) \|$", README, flags=re.M))
    names = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())
    assert sorted(rows) == names, f"README course table: {sorted(rows)}; notebooks: {names}"
    for name in names:
        auto, manual = _points(name)
        want = f"{auto:g}" + (f" auto + {manual:g} manual" if manual else "")
        assert rows[name].strip() == want, (
            f"README course table, {name}: says {rows[name].strip()!r}, the notebook has {want!r}"
        )


def _fenced_code(text: str) -> list[list[str]]:
    """Code lines of every fenced block, ``#`` comments dropped (they are translated)."""
    blocks = []
    for body in re.findall(r"```[^\n]*\n(.*?)```", text, re.S):
        lines = [re.sub(r"\s+#.*$", "", ln).rstrip() for ln in body.splitlines()]
        blocks.append([ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")])
    return blocks


def test_the_chinese_readme_follows_the_english_one():
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "README.zh-CN.md" in english.split("\n## ")[0], "README.md must link the Chinese README at its top"
    assert "(README.md)" in chinese.split("\n## ")[0]
    assert len(re.findall(r"[\u4e00-\u9fff]", chinese)) > 5000
    missing = [block for block in _fenced_code(english) if block not in _fenced_code(chinese)]
    assert not missing, f"code blocks of README.md not (or not identically) in README.zh-CN.md: {missing[:2]}"
    figure = re.compile(r"\d[\d,.]*\s?%|\d[\d,.]*\s?×|±\s?\d+(?:[.,]\d+)*")
    english_figures = sorted(figure.findall(english))
    chinese_figures = sorted(figure.findall(chinese))
    lost = [f for f in set(english_figures) if english_figures.count(f) > chinese_figures.count(f)]
    assert not lost, f"figures of README.md missing from README.zh-CN.md (update the translation): {sorted(lost)[:10]}"

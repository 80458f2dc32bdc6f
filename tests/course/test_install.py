"""What `make setup` asks for on a fresh machine: the right Python, the CPU build of torch, a pinned build."""

from __future__ import annotations

import os
import platform
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def test_setup_installs_the_cpu_build_of_torch_first_on_linux(tmp_path):
    out = _make("-n", "-B", f"{tmp_path}/venv/.installed", f"VENV={tmp_path}/venv").stdout
    pin = next(line for line in (ROOT / "constraints.txt").read_text().splitlines() if line.startswith("torch=="))
    torch_lines = [line for line in out.splitlines() if f'"{pin}"' in line]
    if platform.system() == "Linux":
        assert len(torch_lines) == 1, out
        line = torch_lines[0]
        assert "--index-url https://download.pytorch.org/whl/cpu" in line and "--no-deps" in line, line
        main = next(i for i, ln in enumerate(out.splitlines()) if "-c constraints.txt -e" in ln)
        assert out.splitlines().index(line) < main, "torch must be installed before the pinned set resolves"
    assert "--quiet" not in out, "pip's progress and the resolver's reasons must stay visible"


def test_setup_refuses_an_old_python_naming_both_versions(tmp_path):
    fake = tmp_path / "python3.10"
    fake.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python 3.10.12"; exit 0; fi\nexit 1\n')
    fake.chmod(0o755)
    out = _make(f"{tmp_path}/venv/.installed", f"VENV={tmp_path}/venv", f"PYTHON={fake}")
    assert out.returncode != 0
    assert "needs Python 3.11 or newer" in out.stderr and "Python 3.10.12" in out.stderr, out.stderr
    assert not (tmp_path / "venv").exists(), "nothing may be installed with the wrong Python"


def test_build_backend_is_pinned_and_the_license_is_an_spdx_string():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requires = meta["build-system"]["requires"]
    assert all("==" in r for r in requires), requires
    assert meta["project"]["license"] == "MIT"
    assert meta["project"]["requires-python"] == ">=3.11"

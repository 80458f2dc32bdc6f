"""A memory and a process-count cap for a whole sandbox, through Linux control groups.

RLIMIT_AS caps each process; a submission that starts several processes could still use
several times the limit together, and a fork bomb would run until the wall-time limit. A
control group caps the sandbox as a whole: every process bwrap starts stays in the group.

- cgroup v1 (``/sys/fs/cgroup/memory`` and ``/sys/fs/cgroup/pids`` writable, as root on these
  machines): ``memory.limit_in_bytes`` (+ ``memory.memsw.limit_in_bytes`` where swap accounting
  exists) and ``pids.max`` in child groups of ``kd-grade/``;
- cgroup v2 (``/sys/fs/cgroup/cgroup.controllers`` lists memory and pids, and the parent group
  can enable them for children): ``memory.max``, ``memory.swap.max`` and ``pids.max``;
- neither writable (an ordinary user without delegation, some containers): :func:`create`
  returns None and the report says the sandbox ran without a group cap (RLIMIT_AS and the
  wall-time limit still apply).

A group is named by a spec string (its folders, joined by ``:``) so that it can travel to
worker processes in a config value. The kernel command is wrapped by :func:`wrap`: a shell
writes its own pid into the groups, then ``exec`` s bwrap, so nothing runs outside them.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

__all__ = ["BASE", "available", "create", "destroy", "stats", "wrap"]

BASE = Path("/sys/fs/cgroup")
GROUP = "kd-grade"


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


def _v2_parent() -> Path | None:
    root = BASE
    if not (root / "cgroup.controllers").is_file():
        return None
    if not {"memory", "pids"} <= set((root / "cgroup.controllers").read_text().split()):
        return None
    parent = root / GROUP
    try:
        parent.mkdir(exist_ok=True)
    except OSError:
        return None
    _write(root / "cgroup.subtree_control", "+memory +pids")
    _write(parent / "cgroup.subtree_control", "+memory +pids")
    enabled = set((parent / "cgroup.subtree_control").read_text().split()) if parent.is_dir() else set()
    return parent if {"memory", "pids"} <= enabled else None


def _v1_parents() -> tuple[Path, Path] | None:
    mem, pids = BASE / "memory", BASE / "pids"
    if not ((mem / "tasks").is_file() and (pids / "tasks").is_file()):
        return None
    try:
        (mem / GROUP).mkdir(exist_ok=True)
        (pids / GROUP).mkdir(exist_ok=True)
    except OSError:
        return None
    return mem / GROUP, pids / GROUP


def available() -> str | None:
    """``"v2"``, ``"v1"`` or None: which kind of group :func:`create` can make here."""
    if _v2_parent() is not None:
        return "v2"
    if _v1_parents() is not None:
        return "v1"
    return None


def create(name: str, memory_mb: int, pids_max: int) -> str | None:
    """A new group capping memory (MiB, swap included where it can) and processes; its spec or None."""
    limit = str(int(memory_mb) * 1024 * 1024)
    parent = _v2_parent()
    if parent is not None:
        group = parent / name
        try:
            group.mkdir()
        except OSError:
            return None
        ok = _write(group / "memory.max", limit) and _write(group / "pids.max", str(pids_max))
        _write(group / "memory.swap.max", "0")
        if ok:
            return str(group)
        destroy(str(group))
        return None
    parents = _v1_parents()
    if parents is None:
        return None
    mem, pids = parents[0] / name, parents[1] / name
    try:
        mem.mkdir()
        pids.mkdir()
    except OSError:
        destroy(f"{mem}:{pids}")
        return None
    ok = _write(mem / "memory.limit_in_bytes", limit) and _write(pids / "pids.max", str(pids_max))
    if (mem / "memory.memsw.limit_in_bytes").exists():
        _write(mem / "memory.memsw.limit_in_bytes", limit)
    if not ok:
        destroy(f"{mem}:{pids}")
        return None
    return f"{mem}:{pids}"


def wrap(spec: str, cmd: list[str]) -> list[str]:
    """``cmd`` started inside the groups of ``spec`` (the shell joins them, then becomes ``cmd``)."""
    procs = " ".join(f"'{Path(p) / 'cgroup.procs'}'" for p in spec.split(":"))
    script = f'for f in {procs}; do echo $$ > "$f" || exit 125; done; exec "$@"'
    return ["/bin/sh", "-c", script, "kd-cgroup", *cmd]


def _pids(spec: str) -> set[int]:
    found: set[int] = set()
    for folder in spec.split(":"):
        try:
            found |= {int(x) for x in (Path(folder) / "cgroup.procs").read_text().split()}
        except (OSError, ValueError):
            pass
    return found


def stats(spec: str) -> dict[str, int]:
    """What the caps did: ``{"oom_kills": n, "pids_refused": n, "memory_peak": bytes}`` (best effort)."""
    out = {"oom_kills": 0, "pids_refused": 0, "memory_peak": 0}

    def read_in(folder: Path, name: str) -> str:
        try:
            return (folder / name).read_text()
        except OSError:
            return ""

    for folder in map(Path, spec.split(":")):

        def read(name: str, folder: Path = folder) -> str:
            return read_in(folder, name)

        for line in (read("memory.events") + read("memory.oom_control")).splitlines():  # v2, v1
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                out["oom_kills"] += int(value)
        for line in read("pids.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "max":
                out["pids_refused"] += int(value or 0)
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            text = read(name).strip()
            if text.isdigit():
                out["memory_peak"] = max(out["memory_peak"], int(text))
    return out


def destroy(spec: str, timeout: float = 5.0) -> None:
    """Kill every process left in the groups and remove them.

    Kill and remove are retried together until the deadline: a process that joins between a
    kill and the ``rmdir`` (a wrapped command still starting) makes the ``rmdir`` fail, and is
    killed on the next round instead of being left running in a group nobody removes.
    """
    deadline = time.monotonic() + timeout
    folders = [Path(p) for p in spec.split(":")]
    while True:
        for folder in folders:
            _write(folder / "cgroup.kill", "1")  # v2: the kernel kills them all at once
        for pid in _pids(spec):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for folder in folders:
            try:
                folder.rmdir()
            except OSError:
                pass
        if not any(folder.exists() for folder in folders) or time.monotonic() >= deadline:
            return
        time.sleep(0.05)

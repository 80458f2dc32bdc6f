"""kdlib.grading.host.cgroups: one memory and one process cap for a whole sandbox.

On this project's machines (root, cgroup v1 writable) the caps must hold for processes inside
bubblewrap; where no cgroup is writable, create() says so by returning None (kd grade then
reports "no cgroup cap" and relies on RLIMIT_AS and the wall-time limit).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from kdlib.grading.host import cgroups, sandbox

#: three children of 120 MB each: each under a per-process limit, together over a 250 MiB cap
CHILDREN = """
import os, time
pids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(120 * 1024 * 1024)
        for j in range(0, len(block), 4096):
            block[j] = 1
        time.sleep(2)
        os._exit(0)
    pids.append(pid)
codes = [os.waitpid(p, 0)[1] for p in pids]
print("exit codes", codes, flush=True)
"""
#: a bounded fork attempt: at most 60 children that sleep 2 s
FORKS = """
import os, time
made = 0
for i in range(60):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    made += 1
print("made", made, flush=True)
"""


@pytest.fixture
def group():
    kind = cgroups.available()
    if kind is None:
        assert cgroups.create("kd-test", 256, 16) is None, "create() must return None where cgroups are not writable"
        pytest.fail("cgroups are not writable here: kd grade would run without a whole-sandbox cap")
    spec = cgroups.create("kd-test", 250, 16)
    assert spec is not None
    yield spec
    cgroups.destroy(spec)


def _in_sandbox(spec: str, code: str) -> subprocess.CompletedProcess:
    limits = sandbox.Limits(memory_mb=1024)
    cmd = cgroups.wrap(spec, sandbox.bwrap_command([sys.executable, "-c", code], limits=limits))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_memory_cap_holds_for_all_processes_of_a_sandbox_together(group):
    out = _in_sandbox(group, CHILDREN)
    codes = out.stdout
    assert "exit codes" in codes and codes.count(", 0") + codes.count("[0") < 3, out.stdout + out.stderr
    assert cgroups.stats(group)["oom_kills"] >= 1


def test_process_cap_stops_a_fork_loop(group):
    out = _in_sandbox(group, FORKS)
    made = int(out.stdout.split("made")[-1])
    assert made < 16, out.stdout
    assert cgroups.stats(group)["pids_refused"] >= 1


def test_destroy_kills_what_is_left_and_removes_the_group():
    spec = cgroups.create("kd-test-destroy", 256, 16)
    if spec is None:
        pytest.fail("cgroups are not writable here")
    proc = subprocess.Popen(cgroups.wrap(spec, ["sleep", "30"]))
    try:
        deadline = time.monotonic() + 5
        while len(cgroups._pids(spec)) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the wrapping shell joins both groups, then becomes sleep
        cgroups.destroy(spec)
        assert proc.wait(timeout=5) != 0
    finally:
        proc.kill()
    assert not any(os.path.exists(p) for p in spec.split(":"))


def test_destroy_while_the_command_is_still_joining_leaves_nothing_running():
    # the CI race: destroy read an empty group, the shell joined, rmdir failed, sleep lived on
    for attempt in range(5):
        spec = cgroups.create(f"kd-test-race-{attempt}", 256, 16)
        if spec is None:
            pytest.fail("cgroups are not writable here")
        proc = subprocess.Popen(cgroups.wrap(spec, ["sleep", "30"]), stderr=subprocess.DEVNULL)
        try:
            cgroups.destroy(spec)
            assert proc.wait(timeout=10) != 0
        finally:
            proc.kill()
        assert not any(os.path.exists(p) for p in spec.split(":"))

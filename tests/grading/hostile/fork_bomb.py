"""A (bounded) fork bomb: the last cell starts a small Python process that forks as fast as it
can, up to 600 processes in 3 s, each sleeping until 5 s after the start. The sandbox's pids cap
(256) stops it (reason "processes"); the tests above keep their points.

Harmless without a cap: at most 600 sleeping processes for at most 6 s; every one exits.
"""

from tests.grading.hostile import Case, add_cell

BOMB = r"""
import os, time
start, made, refused, mine = time.time(), 0, 0, []
while made < 600 and time.time() - start < 3:
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        if refused > 50:
            break
        time.sleep(0.01)
        continue
    if pid == 0:  # child: sleep, then exit without running any Python cleanup
        time.sleep(max(0.0, 5 - (time.time() - start)))
        os._exit(0)
    made += 1
    mine.append(pid)
for pid in mine:
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
print("forked", made, "refused", refused)
"""

CODE = f"""
import subprocess, sys
# a small process forks in well under a millisecond (the kernel, with PyTorch loaded, takes ~30 ms)
out = subprocess.run([sys.executable, "-S", "-c", {BOMB!r}], capture_output=True, text=True, timeout=9)
print(out.stdout, out.stderr[-500:])
"""


def make(nb, ctx):
    add_cell(nb, CODE)


CASE = Case(__doc__, make, reasons=frozenset({"processes"}))

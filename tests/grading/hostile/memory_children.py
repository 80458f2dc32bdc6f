"""Several child processes, each under the per-process memory limit, together over the sandbox's
cap: four children of 700 MB each (2.8 GB against a 2 GiB cap). The cgroup cap stops them
(reason "memory"); the tests above keep their points.

Harmless without a cap: at most 2.8 GB for at most 8.5 s, and every child exits by itself.
"""

from tests.grading.hostile import Case, add_cell

CODE = r'''
import subprocess, sys, time
start = time.time()
CHILD = f"""
import time
b = bytearray(700 * 1024 * 1024)
for i in range(0, len(b), 4096):
    b[i] = 1  # touch every page
time.sleep(max(0.0, {start} + 7 - time.time()))  # all four hold their memory at the same time
"""
kids = [subprocess.Popen([sys.executable, "-S", "-c", CHILD]) for _ in range(4)]
deadline = start + 8.5
while time.time() < deadline and any(k.poll() is None for k in kids):
    time.sleep(0.2)
for k in kids:
    if k.poll() is None:
        k.kill()
print("children exited with", [k.wait() for k in kids])
'''


def make(nb, ctx):
    add_cell(nb, CODE)


CASE = Case(__doc__, make, reasons=frozenset({"memory"}))

"""Several child processes, each under the per-process memory limit, together over the sandbox's
cap: four children of 700 MB each (2.8 GB against a 2 GiB cap). The cgroup cap stops them
(reason "memory"); the tests above keep their points.

Each child holds its memory until all four hold theirs (so a busy machine that starts them late
does not spread the peak out), at most until 9 s after the cell started: under the 10 s cell limit.
Harmless without a cap: at most 2.8 GB for at most 9.5 s, and every child exits by itself.
"""

from tests.grading.hostile import Case, add_cell

CODE = r'''
import os, subprocess, sys, tempfile, time
start = time.time()
ready = tempfile.mkdtemp()
CHILD = f"""
import os, time
b = bytearray(700 * 1024 * 1024)
for i in range(0, len(b), 4096):
    b[i] = 1  # touch every page
open(os.path.join({ready!r}, str(os.getpid())), "w").close()
# hold the memory until all four hold theirs (however busy the machine), at most until start + 9 s
while len(os.listdir({ready!r})) < 4 and time.time() < {start} + 9:
    time.sleep(0.05)
time.sleep(0.3)
"""
kids = [subprocess.Popen([sys.executable, "-S", "-c", CHILD]) for _ in range(4)]
deadline = start + 9.5
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

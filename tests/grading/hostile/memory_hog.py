"""A cell after the solutions grabs memory until it fails: a MemoryError (per-process address-space
limit), not a machine brought down; no grade is lost."""

from tests.grading.hostile import Case, add_cell

HOG = """\
hog = []
try:
    for _ in range(100):  # at most 10 GB, should no limit apply
        hog.append(bytearray(100 * 1024 * 1024))  # 100 MB at a time
finally:
    del hog
"""


def make(nb, ctx):
    add_cell(nb, HOG, after="kd_loss")


CASE = Case(__doc__, make)

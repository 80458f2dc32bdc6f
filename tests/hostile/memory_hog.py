"""A cell after the solutions grabs memory until it fails: a MemoryError, not a machine brought down."""

from tests.hostile import Case, add_cell

HOG = """\
hog = []
while True:
    hog.append(bytearray(100 * 1024 * 1024))  # 100 MB at a time, forever
"""


def make(nb, ctx):
    add_cell(nb, "del hog  # give the memory back", after="kd_loss")
    add_cell(nb, HOG, after="kd_loss")  # runs before the cell above


CASE = Case(__doc__, make, reasons=frozenset({"memory"}))

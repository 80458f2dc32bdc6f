"""display_data with huge metadata: a cell publishes a tiny output with 3 MB of metadata, five
times, and updates a display with more. The output cap counts metadata: the autograded notebook
stays under the cap (checked by test_autograded_notebooks_stay_under_the_output_cap)."""

from tests.grading.hostile import Case, add_cell

CODE = r"""
from IPython.display import display, publish_display_data, update_display
for i in range(5):
    publish_display_data({"text/plain": "tiny"}, metadata={"junk": "m" * 3_000_000, "i": i})
h = display({"text/plain": "handle"}, raw=True, display_id=True)
for i in range(3):
    update_display({"text/plain": "updated"}, raw=True, display_id=h.display_id, metadata={"junk": "u" * 3_000_000})
"""


def make(nb, ctx):
    add_cell(nb, CODE)


CASE = Case(__doc__, make, reasons=frozenset({"output"}))

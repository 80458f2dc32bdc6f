"""A correct notebook whose markdown carries a script, an event handler and markup hidden in TeX.

nbgrader's feedback template renders markdown cells without cleaning: the script ran in the
page of whoever opened the feedback. The page must keep the text and lose the markup; the grade
is the reference's."""

from tests.grading.hostile import Case, add_cell

PAYLOAD = (
    "# My notes\n\n<script>window.kdPwned = 1</script>\n\n"
    '<img src="x" onerror="window.kdPwned = 2">\n\n'
    "Formula: $\\text{<img/src=x/onerror=window.kdPwned=3>}$ and $T^2$.\n"
)


def make(nb, ctx):
    add_cell(nb, PAYLOAD, after="kd_loss", markdown=True)


CASE = Case(__doc__, make)

"""A reversed KL plus the visible tests' helpers patched in the solution cell: the NumPy reference
is made to agree with the wrong answer, `check_close` and `np.allclose` do nothing.

`ref` is not even defined while graded (the locked test_helpers cell is not run), and the judge
uses neither helper."""

from tests.grading.hostile import Case, prepend

TRICK = """\
try:
    _orig_ref = ref.distillation_loss
    ref.distillation_loss = lambda s, t, T: _orig_ref(t, s, T)  # the reference now agrees with me
except NameError:
    pass
check_close = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
"""


def make(nb, ctx):
    prepend(nb, "distillation_loss", TRICK)


CASE = Case(__doc__, make, base="reversed_kl", relation="at_most")

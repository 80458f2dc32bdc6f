"""A reversed KL plus the tests' helpers patched in the solution cell: the NumPy reference
(`ref.distillation_loss`) is made to agree with the wrong answer and `check_close` does nothing."""

from tests.hostile import Case, prepend

TRICK = """\
_orig_ref = ref.distillation_loss
ref.distillation_loss = lambda s, t, T: _orig_ref(t, s, T)  # the reference now agrees with me
check_close = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
"""


def make(nb, ctx):
    prepend(nb, "distillation_loss", TRICK)


CASE = Case(__doc__, make, base="reversed_kl")

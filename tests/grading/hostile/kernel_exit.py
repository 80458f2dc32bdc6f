"""kd_loss calls os._exit: the kernel dies in the first kd_loss test; earlier tests keep their points."""

from tests.grading.hostile import DISTILL_TESTS, Case, replace


def make(nb, ctx):
    old = "    soft = distillation_loss("
    replace(nb, "kd_loss", old, "    import os\n    os._exit(3)\n" + old)


CASE = Case(__doc__, make, relation="at_most", reasons=frozenset({"crash"}), keeps=frozenset(DISTILL_TESTS))

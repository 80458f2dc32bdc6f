"""kd_loss calls os._exit: the kernel dies in the first kd_loss test; earlier tests keep their points."""

from tests.hostile import Case, cell


def make(nb, ctx):
    c = cell(nb, "kd_loss")
    old = "    soft = distillation_loss("
    c.source = c.source.replace(old, "    import os\n    os._exit(3)\n" + old)
    assert "os._exit(3)" in c.source


DISTILL = frozenset({
    "test_distill_t_squared", "test_distill_direction", "test_distill_batch_mean", "test_distill_temperature",
    "test_distill_stable", "test_distill_gradient", "test_distill_reference",
})
CASE = Case(__doc__, make, relation="at_most", reasons=frozenset({"crash"}), keeps=DISTILL)

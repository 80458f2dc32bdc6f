"""The swallowing handler is installed again on every call of distillation_loss, i.e. while the
probe runs; it also unregisters IPython's post-run hooks."""

from tests.grading.hostile import Case, replace

HIDE = """\
    ip = get_ipython()
    ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
    ip.events.callbacks["post_run_cell"].clear()
"""


def make(nb, ctx):
    replace(nb, "distillation_loss", "    T = float(temperature)", HIDE + "    T = float(temperature)")


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most")

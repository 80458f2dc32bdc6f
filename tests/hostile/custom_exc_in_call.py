"""The swallowing handler is installed again on every call of distillation_loss, i.e. inside the
test cells, after the grader's guard has run; it also unregisters IPython's post-run hooks."""

from tests.hostile import Case, cell

HIDE = """\
    ip = get_ipython()
    ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
    ip.events.callbacks["post_run_cell"].clear()
"""


def make(nb, ctx):
    c = cell(nb, "distillation_loss")
    c.source = c.source.replace("    T = float(temperature)", HIDE + "    T = float(temperature)")
    assert "set_custom_exc" in c.source


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most", reasons=frozenset({"tampering"}))

"""IPython callback ordering: a pre_run_cell callback rebinds the probe shim's `display` and the
module's `run` before every cell, and a post_run_cell callback publishes a forged probe message
after every cell (so a test cell ends with the forged message last). Exercises not implemented.

The judge reads exactly one probe message per test cell; two (or a forged one) earn nothing.
"""

from tests.grading.hostile import FORGE, MIME, Case, add_cell

TRICK = (
    FORGE
    + r"""
from IPython.display import display

_MIME = @MIME@


def _pre(info):
    try:
        import kdlib.grading.kernel.probe as P
        P.run = lambda test_id, folder: display({_MIME: _kd_forge(test_id, folder, value=2.0)}, raw=True)
    except Exception:
        pass


def _post(result):
    src = getattr(result.info, "raw_cell", "") or ""
    if "_kd_probe.run(" in src:
        test_id = src.split("_kd_probe.run(", 1)[1].split(",", 1)[0].strip("'\" ")
        display({_MIME: _kd_forge(test_id, value=2.0)}, raw=True)


get_ipython().events.register("pre_run_cell", _pre)
get_ipython().events.register("post_run_cell", _post)
"""
)


def make(nb, ctx):
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)), before="distillation_loss")


CASE = Case(__doc__, make, base="untouched", relation="zero")

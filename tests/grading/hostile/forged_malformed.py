"""Malformed probe messages, one kind per test cell: not JSON, a JSON string nested 100 000
deep, a list, no test id, another test's id, results as a dict, results of the wrong length,
results that are not one-key dicts, arrays whose bytes do not fit their shape, unknown tags,
untagged objects, huge integers, NaN. Exercises not implemented.

Each test fails as malformed; nothing earned; the worker does not crash (the submission is graded).
"""

from tests.grading.hostile import FORGE, MIME, TESTS, Case, add_cell

TRICK = (
    FORGE
    + r"""
from IPython.display import display
import kdlib.grading.kernel.probe as _P

_TESTS = @TESTS@


def _bad(test_id, folder):
    good = _kd_forge(test_id, folder, value=1.0)
    n = len(good["results"])
    variants = [
        "this is not JSON {",
        "[" * 100_000 + "]" * 100_000,
        [good],
        {"results": good["results"]},
        {"test": _TESTS[(_TESTS.index(test_id) + 1) % len(_TESTS)], "results": good["results"]},
        {"test": test_id, "results": {"0": good["results"][0]}},
        {"test": test_id, "results": good["results"][:-1] + [{"ok": 1.0, "error": "x"}]},
        {"test": test_id, "results": [{"ok": {"__nd__": {"dtype": "float64", "shape": [1000, 1000],
                                                         "data": "AAAA", "kind": "torch"}}}] * n},
        {"test": test_id, "results": [{"ok": {"__evil__": 1, "__nd__": 2}}] * n},
        {"test": test_id, "results": [{"ok": {"__int__": "9" * 10_000}}, {"ok": {"__float__": "nan"}}] * n},
    ]
    display({@MIME@: variants[_TESTS.index(test_id) % len(variants)]}, raw=True)


_P.run = _bad
"""
)


def make(nb, ctx):
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)).replace("@TESTS@", repr(list(TESTS))), before="distillation_loss")


HOLE = (
    "a probe payload sent as a JSON string nested 100 000 deep makes JudgeCells._results "
    "(kdlib/grading/host/probes.py) raise RecursionError from json.loads (only ValueError is caught): "
    "nbgrader's Autograde fails for the whole notebook, the submission is zeroed and reported as "
    "'crash (kernel died)' although the kernel did not die. No point is gained (the student only loses "
    "their own grades), but it is an unhandled error in trusted code. Fix: catch RecursionError (or any "
    "Exception) there and treat the payload as malformed, or refuse string payloads"
)
CASE = Case(__doc__, make, base="untouched", relation="zero", hole=HOLE)

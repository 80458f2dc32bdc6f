"""A wrong answer plus an AST transformer deleting every `assert` statement of later cells.

The hidden checks are not asserts in the kernel any more: nothing changes."""

from tests.grading.hostile import Case, prepend

TRICK = """\
import ast as _ast

class _NoAsserts(_ast.NodeTransformer):
    def visit_Assert(self, node):
        return _ast.Pass()

get_ipython().ast_transformers.append(_NoAsserts())
"""


def make(nb, ctx):
    prepend(nb, "distillation_loss", TRICK)


CASE = Case(__doc__, make, base="missing_t_squared")

"""Cells compiled without assertions: IPython's compiler replaced by one that compiles with
optimize=2 (python -O semantics: every assert and __debug__ block gone) plus an AST transformer
that drops asserts, for a notebook with a wrong distillation_loss.

The hidden checks run in the judge, not as asserts in the kernel: nothing changes.
"""

from tests.grading.hostile import Case, add_cell

TRICK = r"""
import ast
from IPython.core.compilerop import CachingCompiler


class _Optimized(CachingCompiler):
    def __call__(self, source, filename, symbol, flags=0):
        return compile(source, filename, symbol, self.flags | flags, True, optimize=2)


class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()


_ip = get_ipython()
_ip.compile.__class__ = _Optimized
_ip.ast_transformers.append(_NoAsserts())
"""


def make(nb, ctx):
    add_cell(nb, TRICK, before="distillation_loss")


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most")

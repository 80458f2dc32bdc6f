"""A wrong answer with its failing test cell replaced by `assert True`: the test is restored."""

from tests.grading.hostile import Case, cell


def make(nb, ctx):
    cell(nb, "test_distill_t_squared").source = "assert True  # looks fine to me"


CASE = Case(__doc__, make, base="missing_t_squared", reasons=frozenset({"edited"}))

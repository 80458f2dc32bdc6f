"""A correct notebook saved under another name: nothing to grade, reported, zero points."""

from tests.grading.hostile import Case


def make(nb, ctx):
    return nb


CASE = Case(__doc__, make, relation="zero", reasons=frozenset({"missing"}), filename="my_answers.ipynb")

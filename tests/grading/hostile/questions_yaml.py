"""The drill bank's model answer exec'd: kdlib/drill/questions.yaml (hidden with kdlib.drill in every
graded kernel) holds a complete PyTorch `kd_loss` as the model answer of a drill question. The cell
reads it from kdlib's folder, execs it, and defines distillation_loss as kd_loss with alpha = 1
(the hard term is multiplied by exactly 0). Three lines of code, no loss written.
"""

from tests.grading.hostile import Case, answer

CODE = r"""
import os, re, textwrap
import torch
import torch.nn.functional as F
import kdlib

with open(os.path.join(os.path.dirname(kdlib.__file__), "drill", "questions.yaml"), encoding="utf-8") as _fh:
    _bank = _fh.read()
_start = _bank.index("def kd_loss(student_logits, teacher_logits, labels, temperature=4.0, alpha=0.9):")
_lines = _bank[_start:].splitlines()
_indent = len(_bank[:_start].rsplit("\n", 1)[1])
_body = [_lines[0]] + [ln for ln in __import__("itertools").takewhile(
    lambda ln: not ln.strip() or len(ln) - len(ln.lstrip()) > _indent, _lines[1:])]
exec(textwrap.dedent(" " * _indent + "\n".join(_body)), globals())


def distillation_loss(student_logits, teacher_logits, temperature):
    labels = torch.zeros(student_logits.shape[0], dtype=torch.long)
    return kd_loss(student_logits, teacher_logits, labels, temperature, 1.0)
"""

HOLE = (
    "kdlib/drill/questions.yaml is readable in the graded kernel and holds a correct PyTorch kd_loss (the "
    "model answer of a drill question); 03_loss_torch's answer key does not list it. Fix: add "
    "'questions.yaml' to the answer key of every judge whose exercise the drill bank answers (03, and "
    "04_loss_tf for its TensorFlow distillation_loss), or hide questions.yaml in every graded kernel "
    "except where the drill itself is graded"
)


def make(nb, ctx):
    answer(nb, CODE)


CASE = Case(__doc__, make, base="untouched", relation="zero", hole=HOLE)

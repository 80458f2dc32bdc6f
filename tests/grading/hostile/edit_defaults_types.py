"""Editing function defaults and type attributes: a reversed KL whose kd_loss defaults are
rewritten after definition, torch.Tensor.__float__ and .numpy patched to report other values,
and the codec's encode rebound to send a constant for every tensor. All of it changes only what
the probe sends, which the judge checks like any answer: never more than the honest mistake.
"""

from tests.grading.hostile import Case, add_cell

TRICK = r"""
import torch
import kdlib.grading.codec as _codec

kd_loss.__defaults__ = (1.0, 1.0)  # T = 1, alpha = 1: kd_loss is now just the (reversed) KL
_real_numpy = torch.Tensor.numpy
torch.Tensor.numpy = lambda self, *a, **k: _real_numpy(self.detach() * 1.01, *a, **k)
torch.Tensor.__float__ = lambda self: 1.0
_real_encode = _codec.encode
_codec.encode = lambda obj, depth=0: _real_encode(obj, depth) if not hasattr(obj, "detach") else 1.0
"""


def make(nb, ctx):
    add_cell(nb, TRICK, after="kd_loss")


CASE = Case(__doc__, make, base="reversed_kl", relation="at_most")

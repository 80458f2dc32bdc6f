"""Rewriting what the kernel sends: ipykernel's Session.send and the display publisher are wrapped
so that error messages are dropped and every probe message is replaced by a forged one claiming
made-up results, for a notebook whose exercises are not implemented.

The judge receives only values, which it checks itself: nothing earned.
"""

from tests.grading.hostile import FORGE, MIME, Case, add_cell

TRICK = (
    FORGE
    + r"""
import copy

_MIME = @MIME@
_ip = get_ipython()
_session = _ip.kernel.session
_real_send = _session.send


def _send(stream, msg_or_type, content=None, *args, **kwargs):
    msg_type = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("msg_type")
    if msg_type == "error":
        return None  # no failing cell ever reaches the grader
    if msg_type == "display_data" and isinstance(content, dict) and _MIME in content.get("data", {}):
        content = copy.deepcopy(content)
        content["data"][_MIME] = _kd_forge(content["data"][_MIME]["test"], value=1.0)
    return _real_send(stream, msg_or_type, content, *args, **kwargs)


_session.send = _send
_pub = _ip.display_pub
_real_publish = _pub.publish


def _publish(data, metadata=None, *args, **kwargs):
    if isinstance(data, dict) and _MIME in data:
        data = {_MIME: _kd_forge(data[_MIME]["test"], value=1.0)}
    return _real_publish(data, metadata, *args, **kwargs)


_pub.publish = _publish
"""
)


def make(nb, ctx):
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)), before="distillation_loss")


CASE = Case(__doc__, make, base="constant", relation="at_most")

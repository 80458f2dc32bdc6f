"""Swapping the modules the graded cells import: the probe module and the codec are replaced in
sys.modules by fakes that send made-up results, an import hook (sys.meta_path) serves the fakes
should anything import them again, and a copy of the real probe module is bound in a cell put
before the setup cell. The exercises are not implemented.

All this changes is what the judge receives: nothing earned.
"""

from tests.grading.hostile import FORGE, MIME, Case, add_cell

EARLY = r"""
import kdlib.grading.kernel.probe as _kd_real_probe  # bound before the setup cell runs
_kd_real_run = _kd_real_probe.run
"""

TRICK = (
    FORGE
    + r"""
import importlib.abc, importlib.util, sys, types
from IPython.display import display

_MIME = @MIME@
_fake = types.ModuleType("kdlib.grading.kernel.probe")
_fake.MIME = _MIME
_fake.run = lambda test_id, folder: display({_MIME: _kd_forge(test_id, folder, value=0.5)}, raw=True)
_fake_codec = types.ModuleType("kdlib.grading.codec")
_fake_codec.encode = lambda obj, depth=0: 0.5
_fake_codec.decode = lambda data, *a, **k: data


class _Hook(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    fakes = {"kdlib.grading.kernel.probe": _fake, "kdlib.grading.codec": _fake_codec}

    def find_spec(self, name, path=None, target=None):
        if name in self.fakes:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return self.fakes[spec.name]

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Hook())
sys.modules["kdlib.grading.kernel.probe"] = _fake
sys.modules["kdlib.grading.codec"] = _fake_codec
import kdlib.grading.kernel as _pkg
_pkg.probe = _fake
_kd_real_probe.run = _fake.run
"""
)


def make(nb, ctx):
    add_cell(nb, EARLY, before="setup")
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)), before="distillation_loss")


CASE = Case(__doc__, make, base="constant", relation="at_most")

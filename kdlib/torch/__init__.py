"""PyTorch side of kdlib: ``losses``, ``models``, ``predict``, ``train``, ``methods`` (same names as ``kdlib.tf``)."""

from kdlib import _lazy

_MODULES = _lazy.MODULES
_NAMES = _lazy.NAMES
__all__ = sorted([*_NAMES, *_MODULES])

__getattr__ = _lazy.attributes("kdlib.torch", _MODULES, _NAMES)

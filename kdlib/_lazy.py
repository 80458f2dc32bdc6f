"""Lazy package attributes (PEP 562), shared by kdlib.torch and kdlib.tf."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def attributes(package: str, modules: tuple[str, ...], names: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__``: submodules by name, and each name of ``names`` from its submodule.

    ``from kdlib.torch import build_model`` then imports models.py only, so a graded notebook can
    use the models while the module that grades it (e.g. train) is hidden.
    """

    def __getattr__(name: str):
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__

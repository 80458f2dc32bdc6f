"""TensorFlow / Keras 3 side of kdlib: ``losses``, ``methods``, ``models``, ``predict``, ``distiller``, ``train``.

Same names as ``kdlib.torch`` plus :class:`Distiller` (a ``keras.Model``). Needs the
TensorFlow backend of Keras 3 (the default; ``KERAS_BACKEND=tensorflow``).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "kdlib.tf needs Keras' TensorFlow backend, got "
        f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow before importing keras"
    )

from kdlib import _lazy  # noqa: E402

_MODULES = (*_lazy.MODULES, "distiller")
_NAMES = {**_lazy.NAMES, "Distiller": "distiller"}  # the Keras Distiller: see docs/architecture.md
__all__ = sorted([*_NAMES, *_MODULES])

__getattr__ = _lazy.attributes("kdlib.tf", _MODULES, _NAMES)

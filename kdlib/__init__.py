"""kdlib: the shared library of kd-course (knowledge distillation, PyTorch and TensorFlow).

``import kdlib`` is cheap: it imports neither torch nor tensorflow (nor NumPy until a data
function is used). Use the framework sides explicitly, d2l-style::

    from kdlib import torch as kdt   # PyTorch: losses, models, train
    from kdlib import tf as kdt      # TensorFlow / Keras 3: the same names
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Dataset", "available_datasets", "load_dataset", "__version__"]


def __getattr__(name: str):
    # Lazy (PEP 562): `import kdlib` stays a few milliseconds; kdlib.data loads NumPy.
    if name in ("Dataset", "available_datasets", "load_dataset"):
        from kdlib import data

        return getattr(data, name)
    raise AttributeError(f"module 'kdlib' has no attribute {name!r}")

"""kdlib: the shared library of kd-course (knowledge distillation, PyTorch and TensorFlow).

``import kdlib`` is cheap: it imports neither torch nor tensorflow. Use the framework sides
explicitly, d2l-style::

    from kdlib import torch as kdt   # PyTorch: losses, models, train
    from kdlib import tf as kdtf     # TensorFlow / Keras 3: losses, models, distiller, train
"""

from kdlib.data import Dataset, available_datasets, load_dataset

__version__ = "0.1.0"
__all__ = ["Dataset", "available_datasets", "load_dataset", "__version__"]

"""Teacher and student networks for the embedded data sets (mirrors kdlib.torch.models).

Every model maps features (B, F) float32 to logits (B, C) (no softmax). Names accepted by
:func:`build_model`:

    "teacher"        1-D CNN (3 conv layers, 32 channels) on the feature vector as a sequence
    "student"        MLP, one hidden layer of 100 units  (the default student)
    "student-small"  MLP, one hidden layer of 32 units
    "student-large"  MLP, two hidden layers of 256 units

Layer shapes and parameter counts equal the PyTorch models': PyTorch's ``padding=1`` is
written as ``ZeroPadding1D(1)`` followed by a ``"valid"`` convolution. Initial weights differ
(Keras: Glorot-uniform kernels and zero biases; PyTorch: Kaiming-uniform both).
"""

from __future__ import annotations

import keras

from kdlib import architectures
from kdlib.architectures import ARCHITECTURES, model_names

__all__ = ["ARCHITECTURES", "CNN1D", "MLP", "build_model", "model_names"]


def MLP(num_features: int, num_classes: int, hidden: tuple[int, ...] = (100,), name: str = "mlp") -> keras.Model:  # noqa: N802
    """(B, F) -> ReLU hidden layers -> (B, C) logits.

    A function returning a ``keras.Sequential`` (the Keras idiom) where kdlib.torch has a class:
    same name, same arguments, same layers and parameter count.
    """
    layers: list[keras.layers.Layer] = [keras.Input((num_features,))]
    layers += [keras.layers.Dense(h, activation="relu") for h in hidden]
    layers.append(keras.layers.Dense(num_classes, name="logits"))
    return keras.Sequential(layers, name=name)


def CNN1D(num_features: int, num_classes: int, channels: int = 32, name: str = "cnn1d") -> keras.Model:  # noqa: N802
    """1-D CNN: (B, F) -> (B, F, 1) -> [conv k5 s2, conv k3 s2, conv k3 s2] + ReLU -> (B, C).

    The MNIST-1D paper's CNN (stride-2 convolutions, padding 1), ≈87% on MNIST-1D in seconds.
    Keras is channels-last: the sequence is (B, F, 1) where PyTorch uses (B, 1, F).
    """
    layers: list[keras.layers.Layer] = [
        keras.Input((num_features,)),
        keras.layers.Reshape((num_features, 1)),
    ]
    for kernel in (5, 3, 3):
        layers += [
            keras.layers.ZeroPadding1D(1),
            keras.layers.Conv1D(channels, kernel, strides=2, activation="relu"),
        ]
    layers += [keras.layers.Flatten(), keras.layers.Dense(num_classes, name="logits")]
    return keras.Sequential(layers, name=name)


def build_model(name: str, num_features: int, num_classes: int, seed: int | None = None) -> keras.Model:
    """Build a model by name; with ``seed`` the initial weights are reproducible."""
    spec = architectures.spec(name, num_features, num_classes)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if spec["kind"] == "cnn":
        return CNN1D(num_features, num_classes, spec["channels"], name)
    return MLP(num_features, num_classes, spec["hidden"], name)

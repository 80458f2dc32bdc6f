"""Teacher and student networks for the embedded data sets (mirrors kdlib.tf.models).

Every model maps features (B, F) float32 to logits (B, C). Names accepted by
:func:`build_model`:

    "teacher"        1-D CNN (3 conv layers, 32 channels) on the feature vector as a sequence
    "student"        MLP, one hidden layer of 100 units  (the default student)
    "student-small"  MLP, one hidden layer of 32 units
    "student-large"  MLP, two hidden layers of 256 units
"""

from __future__ import annotations

import torch
from torch import nn

from kdlib import architectures
from kdlib.architectures import ARCHITECTURES, model_names

__all__ = ["ARCHITECTURES", "CNN1D", "MLP", "build_model", "model_names"]


class MLP(nn.Sequential):
    """(B, F) -> ReLU hidden layers -> (B, C) logits."""

    def __init__(self, num_features: int, num_classes: int, hidden: tuple[int, ...] = (100,)):
        layers: list[nn.Module] = []
        width = num_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)


class CNN1D(nn.Module):
    """1-D CNN: (B, F) -> (B, 1, F) -> 3 × [conv k=5, ReLU] -> flatten -> (B, C) logits.

    The MNIST-1D paper's CNN (stride-2 convolutions), reaching ≈87% on MNIST-1D in seconds.
    """

    def __init__(self, num_features: int, num_classes: int, channels: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, channels, 5, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            width = self.features(torch.zeros(1, 1, num_features)).shape[1]
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.unsqueeze(1)))


def build_model(name: str, num_features: int, num_classes: int, seed: int | None = None) -> nn.Module:
    """Build a model by name; with ``seed`` the initial weights are reproducible."""
    spec = architectures.spec(name, num_features, num_classes)
    if seed is not None:
        torch.manual_seed(seed)
    if spec["kind"] == "cnn":
        return CNN1D(num_features, num_classes, spec["channels"])
    return MLP(num_features, num_classes, spec["hidden"])

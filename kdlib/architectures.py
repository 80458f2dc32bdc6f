"""The model zoo, framework-neutral: names and sizes shared by kdlib.torch.models and kdlib.tf.models.

"teacher"        1-D CNN (3 conv layers, 32 channels) on the feature vector as a sequence
"student"        MLP, one hidden layer of 100 units  (the default student)
"student-small"  MLP, one hidden layer of 32 units
"student-large"  MLP, two hidden layers of 256 units
"""

from __future__ import annotations

ARCHITECTURES: dict[str, dict] = {
    "teacher": {"kind": "cnn", "channels": 32},
    "student": {"kind": "mlp", "hidden": (100,)},
    "student-small": {"kind": "mlp", "hidden": (32,)},
    "student-large": {"kind": "mlp", "hidden": (256, 256)},
}


def model_names() -> list[str]:
    """Names accepted by ``build_model`` on either framework."""
    return list(ARCHITECTURES)


def spec(name: str, num_features: int, num_classes: int) -> dict:
    """The architecture of ``name``, after checking the arguments of ``build_model``."""
    if name not in ARCHITECTURES:
        raise ValueError(f"name must be one of {model_names()}, got {name!r}")
    for arg, val in (("num_features", num_features), ("num_classes", num_classes)):
        if not isinstance(val, int) or isinstance(val, bool) or val < 1:
            raise ValueError(f"{arg} must be a positive integer, got {val!r}")
    return ARCHITECTURES[name]

"""The per-epoch training record shared by kdlib.torch.train and kdlib.tf.train."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class History:
    """Per-epoch record: mean training loss, validation accuracy (if asked for), seconds."""

    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

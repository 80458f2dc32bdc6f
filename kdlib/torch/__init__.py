"""PyTorch side of kdlib: ``losses``, ``models``, ``train`` (same names as ``kdlib.tf``)."""

from kdlib.torch import losses, methods, models, train
from kdlib.torch.losses import KDLoss, distillation_loss, kd_loss, soft_targets
from kdlib.torch.models import build_model, model_names
from kdlib.torch.train import History, distill, evaluate, fit, predict_logits, set_seed

__all__ = [
    "History",
    "KDLoss",
    "build_model",
    "distill",
    "distillation_loss",
    "evaluate",
    "fit",
    "kd_loss",
    "losses",
    "methods",
    "model_names",
    "models",
    "predict_logits",
    "set_seed",
    "soft_targets",
    "train",
]

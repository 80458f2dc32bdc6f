"""Pruning control for notebook 07: is "pruned + fine-tuned" better because of the pruning?

    python benchmarks/pruning_control.py [--seeds 10] [--amounts 0.5 0.8 0.9] [--json out.json]

Notebook 07's recipe on MNIST-1D, per seed: train the CNN teacher (10 epochs, Adam lr 1e-2,
batch 128), then

- **teacher +ft** (the control): a copy of the *unpruned* teacher trained 3 more epochs on the
  labels at lr 1e-3 — the same fine-tune the pruned teachers get;
- **pruned p% +ft**: global L1 magnitude pruning of the conv and Linear weights, the same
  3-epoch fine-tune with the mask kept, then ``prune.remove``.

A fine-tuned pruned teacher that beats the 10-epoch teacher may owe the gain to the 3 extra
epochs, not to the pruning: the control separates the two. Prints test accuracy (mean ± sample
std over seeds) per arm and the paired differences (same seed, same teacher) against the
10-epoch teacher and against the control.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from kdlib import load_dataset  # noqa: E402
from kdlib.torch import build_model, fit, predict_logits  # noqa: E402

EPOCHS_TEACHER, LR, BATCH = 10, 1e-2, 128  # notebook 07, cell "experiment"
FINETUNE_EPOCHS, FINETUNE_LR = 3, 1e-3


def finetune(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    """Notebook 07's fine-tune: 3 epochs of Adam at lr 1e-3 on the labels, in place."""
    fit(model, x, y, epochs=FINETUNE_EPOCHS, lr=FINETUNE_LR, batch_size=BATCH, seed=seed, progress=False)
    return model


def pruned_finetuned(teacher: nn.Module, amount: float, x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    """A copy of teacher, globally L1-pruned by ``amount``, fine-tuned with the mask kept."""
    model = copy.deepcopy(teacher)
    params = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear))]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    finetune(model, x, y, seed)
    for module, name in params:
        prune.remove(module, name)
    return model


def test_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Share of test rows whose argmax is the label."""
    return float((predict_logits(model, x).argmax(1) == y).mean())


def run_seed(seed: int, amounts: list[float]) -> dict[str, float]:
    """Test accuracy of every arm for one seed (one teacher)."""
    ds = load_dataset("mnist1d")
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    teacher = build_model("teacher", ds.num_features, ds.num_classes, seed=seed)
    fit(teacher, x, y, epochs=EPOCHS_TEACHER, lr=LR, batch_size=BATCH, seed=seed, progress=False)
    out = {"teacher": test_accuracy(teacher, ds.x_test, ds.y_test)}
    control = finetune(copy.deepcopy(teacher), x, y, seed)
    out["teacher +ft"] = test_accuracy(control, ds.x_test, ds.y_test)
    for amount in amounts:
        model = pruned_finetuned(teacher, amount, x, y, seed)
        out[f"pruned {amount:.0%} +ft"] = test_accuracy(model, ds.x_test, ds.y_test)
    return out


def pm(v: np.ndarray) -> str:
    """'mean ± std' in percentage points (sample std)."""
    return f"{100 * v.mean():5.1f} ± {100 * v.std(ddof=1):.1f}"


def paired(d: np.ndarray) -> str:
    """A paired difference in points: mean ± sample std, and on how many seeds it is positive."""
    return f"{100 * d.mean():+5.1f} ± {100 * d.std(ddof=1):.1f} (better on {(d > 0).sum()}/{len(d)})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    p.add_argument("--amounts", type=float, nargs="+", default=[0.5, 0.8, 0.9])
    p.add_argument("--json", default=None, help="write the per-seed accuracies here")
    a = p.parse_args()
    torch.set_num_threads(1)  # notebook 07 does the same; these small models run fastest on one thread
    t0 = time.perf_counter()
    runs = [run_seed(s, a.amounts) for s in tqdm(range(a.seeds), desc="seeds")]
    acc = {k: np.array([r[k] for r in runs]) for k in runs[0]}
    print(
        f"MNIST-1D, notebook 07 recipe: teacher {EPOCHS_TEACHER} epochs at lr {LR:g}; '+ft' = "
        f"{FINETUNE_EPOCHS} more epochs at lr {FINETUNE_LR:g}; seeds 0..{a.seeds - 1}; "
        "test accuracy %, mean ± sample std over seeds"
    )
    for name, v in acc.items():
        line = f"{name:<16} {pm(v)}"
        if name != "teacher":
            line += f"   vs teacher {paired(v - acc['teacher'])}"
        if name.startswith("pruned"):
            line += f"   vs teacher +ft {paired(v - acc['teacher +ft'])}"
        print(line)
    print("differences are paired (same seed, same teacher), in points, mean ± sample std")
    print(f"[{time.perf_counter() - t0:.0f} s]")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"seeds": a.seeds, "runs": runs}, f, indent=2)


if __name__ == "__main__":
    main()

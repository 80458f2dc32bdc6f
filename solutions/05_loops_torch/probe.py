"""Observations for the hidden checks of 05_loops_torch (runs in the student's kernel).

Each scenario rebuilds the notebook's inputs from seeds exactly as its helpers do
(``small_batch``, ``make_models``, ``gen``), runs the learner's ``train_one_epoch`` or
``distill_one_epoch`` and sends back what it saw: returned losses, the modes and gradient
flags seen by forward hooks, weights and gradients as NumPy arrays. Nothing here knows the
right answer: the judge (solutions/05_loops_torch/judge.py) replays reference epochs from the
same seeds outside the kernel and compares.
"""

from __future__ import annotations

import copy

import torch

from kdlib import load_dataset
from kdlib.torch import build_model, predict_logits


class Missing(Exception):
    """The notebook does not define the function a scenario runs."""


def _fn(ns, name):
    fn = ns.get(name)
    if not callable(fn):
        raise Missing(f"{name} is not defined: run the cell that defines it (and keep its name)")
    return fn


def _data():
    ds = load_dataset("mnist1d")
    return ds, torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)


def _batch(n, seed):
    """The notebook's small_batch(n, seed)."""
    _, x, y = _data()
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


def _models(seed):
    """The notebook's make_models(seed): (teacher CNN, small MLP student)."""
    ds, _, _ = _data()
    teacher = build_model("teacher", ds.num_features, ds.num_classes, seed=seed)
    student = build_model("student-small", ds.num_features, ds.num_classes, seed=seed + 1000)
    return teacher, student


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _opt(spec, params):
    name, kwargs = spec
    return {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name](params, **kwargs)


def _weights(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def _grads(model):
    return [None if p.grad is None else p.grad.detach().numpy().copy() for p in model.parameters()]


def _mode_hook(model, seen):
    return model.register_forward_hook(lambda module, inputs, output: seen.append(bool(module.training)))


# --- train_one_epoch -------------------------------------------------------------------------


def train_epochs(ns, n, seed, opt, batch_size, epochs, cnn=False, eval_first=True):
    """make_models(seed)'s student (or teacher if cnn), in eval mode if eval_first: `epochs` epochs
    on small_batch(n, seed) with one generator gen(seed); the losses, the modes a hook saw, the
    weights and the logits on x after."""
    fn = _fn(ns, "train_one_epoch")
    x, y = _batch(n, seed)
    teacher, student = _models(seed)
    model = teacher if cnn else student
    if eval_first:
        model.eval()
    modes = []
    hook = _mode_hook(model, modes)
    optimizer = _opt(opt, model.parameters())
    g = _gen(seed)
    try:
        losses = [fn(model, optimizer, x, y, batch_size, g) for _ in range(epochs)]
    finally:
        hook.remove()
    return {"losses": losses, "modes": modes, "weights": _weights(model), "logits": predict_logits(model, x)}


def train_grads(ns, n, seed):
    """SGD with lr = 0: the .grad after one full-batch epoch, then after an epoch of 4 batches."""
    fn = _fn(ns, "train_one_epoch")
    x, y = _batch(n, seed)
    _, model = _models(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    fn(model, optimizer, x, y, n, _gen(seed))
    full = _grads(model)
    optimizer.zero_grad()
    fn(model, optimizer, x, y, n // 4, _gen(seed))
    return {"full": full, "four": _grads(model)}


def train_twice(ns, n, seed, gen_seed):
    """Two equal models, each one epoch (SGD lr 0.1, batches of 32) with a generator gen(gen_seed)."""
    fn = _fn(ns, "train_one_epoch")
    _, a = _models(seed)
    _, b = _models(seed)
    x, y = _batch(n, seed)
    loss_a = fn(a, torch.optim.SGD(a.parameters(), lr=0.1), x, y, 32, _gen(gen_seed))
    loss_b = fn(b, torch.optim.SGD(b.parameters(), lr=0.1), x, y, 32, _gen(gen_seed))
    return {"loss_a": loss_a, "loss_b": loss_b, "a": _weights(a), "b": _weights(b)}


# --- distill_one_epoch -----------------------------------------------------------------------


def distill_epochs(ns, n, seed, T, alpha, batch_size, epochs, opt, student_eval=True):
    """make_models(seed), the student in eval mode; `epochs` epochs with one generator gen(seed)."""
    fn = _fn(ns, "distill_one_epoch")
    x, y = _batch(n, seed)
    teacher, student = _models(seed)
    if student_eval:
        student.eval()
    modes = []
    hook = _mode_hook(student, modes)
    optimizer = _opt(opt, student.parameters())
    g = _gen(seed)
    try:
        losses = [fn(student, teacher, optimizer, x, y, T, alpha, batch_size, g) for _ in range(epochs)]
    finally:
        hook.remove()
    return {"losses": losses, "modes": modes, "weights": _weights(student)}


def distill_frozen(ns, n, seed, T, alpha, batch_size, epochs, both):
    """The teacher set to training mode; what a hook on it saw, its weights and gradients after.

    ``both``: the optimiser (Adam) also holds the teacher's parameters (a careless caller).
    """
    fn = _fn(ns, "distill_one_epoch")
    x, y = _batch(n, seed)
    teacher, student = _models(seed)
    teacher.train()
    calls = []
    hook = teacher.register_forward_hook(
        lambda module, inputs, output: calls.append(
            [bool(module.training), bool(getattr(output, "requires_grad", False))]
        )
    )
    params = list(student.parameters()) + (list(teacher.parameters()) if both else [])
    optimizer = torch.optim.Adam(params, lr=1e-2)
    g = _gen(seed)
    try:
        for _ in range(epochs):
            fn(student, teacher, optimizer, x, y, T, alpha, batch_size, g)
    finally:
        hook.remove()
    return {"calls": calls, "teacher": _weights(teacher), "teacher_grads": _grads(teacher)}


def distill_twin(ns, n, seed, T, lr):
    """One full-batch SGD epoch with alpha = 1 from a teacher that is a deep copy of the student."""
    fn = _fn(ns, "distill_one_epoch")
    x, y = _batch(n, seed)
    _, student = _models(seed)
    twin = copy.deepcopy(student)
    loss = fn(student, twin, torch.optim.SGD(student.parameters(), lr=lr), x, y, T, 1.0, n, _gen(seed))
    return {"loss": loss, "weights": _weights(student)}


def distill_two_teachers(ns, n, data_seed, seed_a, seed_b, T, lr):
    """Two copies of make_models(seed_a)'s student, one full-batch SGD epoch with alpha = 0 each,
    from make_models(seed_a)'s and make_models(seed_b)'s teachers."""
    fn = _fn(ns, "distill_one_epoch")
    x, y = _batch(n, data_seed)
    teacher_a, student_a = _models(seed_a)
    teacher_b, _ = _models(seed_b)
    student_b = copy.deepcopy(student_a)
    fn(student_a, teacher_a, torch.optim.SGD(student_a.parameters(), lr=lr), x, y, T, 0.0, n, _gen(seed_a))
    fn(student_b, teacher_b, torch.optim.SGD(student_b.parameters(), lr=lr), x, y, T, 0.0, n, _gen(seed_a))
    return {"a": _weights(student_a), "b": _weights(student_b)}


def distill_once(ns, n, seed, T, alpha, batch_size, opt):
    """One epoch on make_models(seed) and small_batch(n, seed) with generator gen(seed)."""
    fn = _fn(ns, "distill_one_epoch")
    x, y = _batch(n, seed)
    teacher, student = _models(seed)
    loss = fn(student, teacher, _opt(opt, student.parameters()), x, y, T, alpha, batch_size, _gen(seed))
    return {"loss": loss, "weights": _weights(student)}


def distill_grads(ns, n, seed, T, alpha):
    """SGD with lr = 0: the student's .grad after one full-batch epoch, then after 4 batches."""
    fn = _fn(ns, "distill_one_epoch")
    x, y = _batch(n, seed)
    teacher, student = _models(seed)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.0)
    fn(student, teacher, optimizer, x, y, T, alpha, n, _gen(seed))
    full = _grads(student)
    optimizer.zero_grad()
    fn(student, teacher, optimizer, x, y, T, alpha, n // 4, _gen(seed))
    return {"full": full, "four": _grads(student)}


def distill_steps(ns, n, seed, T, alpha, batch_size, lr):
    """One epoch of n // batch_size SGD steps, and the same batches as one-step epochs in turn."""
    fn = _fn(ns, "distill_one_epoch")
    x, y = _batch(n, seed)
    teacher, mine = _models(seed)
    composite = copy.deepcopy(mine)
    fn(mine, teacher, torch.optim.SGD(mine.parameters(), lr=lr), x, y, T, alpha, batch_size, _gen(seed))
    for idx in torch.randperm(n, generator=_gen(seed)).split(batch_size):
        composite.zero_grad(set_to_none=True)
        fn(
            composite,
            teacher,
            torch.optim.SGD(composite.parameters(), lr=lr),
            x[idx],
            y[idx],
            T,
            alpha,
            len(idx),
            _gen(0),
        )
    return {"epoch": _weights(mine), "steps": _weights(composite)}

"""The keyword arguments of kdlib's training loops, declared and checked once (the framework-neutral core).

``fit`` and ``distill`` on both sides, ``kdlib.torch.ddp.distill_ddp``, ``kdlib.tf.distribute.distill``,
``born_again`` and the language-model loops (``train_lm``, ``distill_lm``) take the same options
(``epochs``, ``batch_size``, ``lr``, ``seed``, ...) with the same meaning and the same errors. They
are the fields of one frozen dataclass, :class:`Options`, which checks itself; :func:`takes` gives a
function the options it names as ordinary arguments::

    @options.takes(*options.DISTILL, desc="distill")
    def distill(student, teacher, x, y=None, *, x_unlabeled=None, opts: options.Options) -> History:
        ...  # opts.epochs, opts.temperature, ... (checked)

Callers and help() see ``distill(student, teacher, x, y=None, *, x_unlabeled=None, temperature=4.0,
alpha=0.9, epochs=30, ...)``: every argument with its default (``inspect.signature``, IPython's ``?``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kdlib import _validate as v
from kdlib import augment as aug

__all__ = ["DISTILL", "DISTRIBUTED", "FIT", "LOOP", "SHOW", "Options", "takes"]


@dataclass(frozen=True)
class Options:
    """The options of the training loops, checked on creation (a ``ValueError`` naming the argument).

    ``temperature`` and ``alpha``: the contract's ``kd_loss``; ``epochs``, ``batch_size``, ``lr``,
    ``weight_decay`` (L2, as ``torch.optim.Adam``) and ``seed``: the Adam loop; ``cache_teacher``:
    the teacher's logits computed once per transfer set; ``x_val``/``y_val``: validation accuracy
    after every epoch; ``progress`` (None: tqdm decides) and ``desc``: the epoch bar;
    ``label_smoothing`` (``fit``) and ``augment`` (a :mod:`kdlib.augment` callable).

    ``augment`` in ``distill`` makes it function matching (Beyer et al. 2022): each batch is
    augmented once and the teacher and the student see the SAME view, so the teacher runs on every
    batch and ``cache_teacher`` is ignored (no cache can hold logits of views drawn afresh every
    epoch: ≈ one teacher forward pass per student step more). After mixup the hard term is
    lam · CE(y) + (1 − lam) · CE(y_partner) (unlabelled rows, -1, drop out of each CE); the soft
    term needs no labels. Every augmentation and the batch order are drawn from
    ``numpy.random.default_rng(seed)``: the same views on both frameworks.
    """

    temperature: float = 4.0
    alpha: float = 0.9
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    cache_teacher: bool = True
    x_val: Any = None
    y_val: Any = None
    progress: bool | None = None
    desc: str = "distill"
    label_smoothing: float = 0.0
    augment: aug.Augment | None = None

    def __post_init__(self) -> None:
        v.check_loop_args(self.epochs, self.batch_size, self.lr)
        object.__setattr__(self, "temperature", v.check_temperature(self.temperature))
        object.__setattr__(self, "alpha", v.check_alpha(self.alpha))
        object.__setattr__(self, "seed", v.check_seed(self.seed))
        object.__setattr__(self, "cache_teacher", v.check_cache_teacher(self.cache_teacher))
        object.__setattr__(self, "label_smoothing", v.check_label_smoothing(self.label_smoothing))
        aug.check_augment(self.augment)


#: the Adam loop's options and what a loop shows, in every signature in this order
LOOP = ("epochs", "batch_size", "lr", "weight_decay", "seed")
SHOW = ("x_val", "y_val", "progress", "desc")
#: ``fit``'s options, in the order of its signature
FIT = (*LOOP, *SHOW, "label_smoothing", "augment")
#: the options of the distributed ``distill``s (kdlib.torch.ddp, kdlib.tf.distribute): no ``augment``
DISTRIBUTED = ("temperature", "alpha", *LOOP, "cache_teacher", *SHOW)
#: ``distill``'s options, in the order of its signature (after ``x_unlabeled``)
DISTILL = (*DISTRIBUTED, "augment")

_FIELDS = {f.name: f for f in dataclasses.fields(Options)}
#: ``x_val: Any`` is shown as plain ``x_val``, as it was declared in the loops
_ANNOTATIONS = {"Any": inspect.Parameter.empty}


def takes(*names: str, **defaults: Any) -> Callable[[Callable], Callable]:
    """Decorator: ``fn``'s parameter ``opts`` becomes the :class:`Options` ``names``, as arguments.

    The signature shows them where ``opts`` stands, of its kind (keyword-only after ``*``), with
    the defaults of :class:`Options` or those given here (``desc="fit"``); a default ``opts`` needs
    after other defaults is ignored. A call binds its arguments to that signature (an unknown or
    missing one is Python's own ``TypeError``), builds the checked ``Options`` (options not named
    keep their defaults) and passes it to ``fn`` as ``opts``.
    """
    unknown = [n for n in (*names, *defaults) if n not in _FIELDS]
    if unknown or not set(defaults) <= set(names):
        raise ValueError(f"takes: {unknown or sorted(set(defaults) - set(names))} are not options it takes")

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        params = []
        for p in sig.parameters.values():
            if p.name != "opts":
                params.append(p)
                continue
            for n in names:
                default, kind = defaults.get(n, _FIELDS[n].default), _FIELDS[n].type
                params.append(inspect.Parameter(n, p.kind, default=default, annotation=_ANNOTATIONS.get(kind, kind)))
        public = sig.replace(parameters=params)

        @functools.wraps(fn)
        def with_options(*args, **kwargs):
            given = public.bind(*args, **kwargs)
            given.apply_defaults()
            values = given.arguments
            opts = Options(**{n: values.pop(n) for n in names})
            return fn(**values, opts=opts)

        with_options.__signature__ = public
        return with_options

    return decorate

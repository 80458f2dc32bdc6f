"""kdlib.options: the loops' options declared and checked once, shown in every signature that takes them."""

from __future__ import annotations

import inspect
import pydoc

import pytest

from kdlib import options
from kdlib.options import Options


@options.takes("epochs", "lr", "seed", lr=1e-2)
def _keyword(x, *, name="n", opts: Options, last: int = 1):
    return x, name, opts, last


@options.takes("epochs", "progress", progress=False)
def _positional(x, flag=None, opts=None):
    return x, flag, opts


def test_the_options_stand_where_opts_stands_with_their_defaults():
    assert str(inspect.signature(_keyword)) == (
        "(x, *, name='n', epochs: 'int' = 30, lr: 'float' = 0.01, seed: 'int' = 0, last: 'int' = 1)"
    )
    assert str(inspect.signature(_positional)) == "(x, flag=None, epochs: 'int' = 30, progress: 'bool | None' = False)"
    assert "lr: 'float' = 0.01" in pydoc.render_doc(_keyword, renderer=pydoc.plaintext)  # help()


def test_a_call_passes_the_checked_options():
    x, name, opts, last = _keyword(1, epochs=3, last=2)
    assert (x, name, last) == (1, "n", 2)
    assert (opts.epochs, opts.lr, opts.seed, opts.temperature) == (3, 1e-2, 0, 4.0)
    _, flag, opts = _positional(1, True, 7, True)  # options of a positional placeholder may be positional
    assert (flag, opts.epochs, opts.progress) == (True, 7, True)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"lr": -1.0}, "lr must be a number > 0"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
    ],
)
def test_bad_options_raise_a_valueerror_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _keyword(1, **kwargs)


def test_an_option_it_does_not_take_is_a_typeerror():
    with pytest.raises(TypeError, match="temperature"):
        _keyword(1, temperature=2.0)
    with pytest.raises(TypeError, match="opts"):
        _keyword(1, opts=Options())


def test_options_check_themselves():
    assert Options(temperature=2, seed=3).temperature == 2.0
    for kwargs, name in [
        ({"temperature": 0}, "temperature"),
        ({"alpha": 1.5}, "alpha"),
        ({"batch_size": 0}, "batch_size"),
        ({"cache_teacher": "yes"}, "cache_teacher"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
        ({"augment": 3}, "augment"),
    ]:
        with pytest.raises(ValueError, match=f"^{name} must"):
            Options(**kwargs)
    with pytest.raises(ValueError, match="not options it takes"):
        options.takes("epochs", "momentum")


def test_born_again_shows_its_own_defaults():
    from kdlib.born_again import born_again

    params = inspect.signature(born_again).parameters
    defaults = {n: p.default for n, p in params.items() if p.kind is p.KEYWORD_ONLY and n not in ("fit", "distill")}
    assert defaults == {
        "temperature": 4.0, "alpha": 0.9, "epochs": 60, "lr": 3e-3, "batch_size": 64, "seed": 0, "progress": None,
    }  # fmt: skip


def test_jupyter_completion_offers_the_option_names():
    """IPython/JupyterLab complete keyword arguments with jedi, which reads the signature at run time."""
    jedi = pytest.importorskip("jedi")
    names = [c.name for c in jedi.Interpreter("_keyword(1, ep", [{"_keyword": _keyword}]).complete()]
    assert "epochs=" in names

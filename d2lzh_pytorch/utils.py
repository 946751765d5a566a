"""The helpers whose Chinese-port version differs from d2l-en's (``d2lzh_pytorch/utils.py``).

Each one is d2lmini's helper with the port's printout or side effects; every other name of the
port is d2lmini's own and reachable here too (``d2lzh_pytorch.utils.train_ch7``).
"""
from __future__ import annotations

import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

from d2lmini import training as _training

__all__ = ["train_2d", "show_trace_2d", "sgd", "load_data_fashion_mnist"]


def train_2d(trainer: Callable, steps: int = 20, f_grad: Optional[Callable] = None, *,
             x0: Tuple[float, float] = (-5, -2), verbose: bool = True) -> List[Tuple[Any, Any]]:
    """The port's ``train_2d(trainer)``: 20 steps from (-5, -2), then prints
    ``epoch 20, x1 -0.943467, x2 -0.000073`` (no colons). Returns the 21 points.

    The extra arguments of d2lmini's :func:`d2lmini.train_2d` work too; only the line differs.
    """
    return _training._train_2d(trainer, steps, f_grad, x0, verbose, _training.LINE_2D_PORT)


def show_trace_2d(f: Callable, results, view: Optional[Sequence[float]] = None) -> None:
    """The port's ``show_trace_2d``: like d2lmini's, but keeps the current figure size."""
    from d2lmini import plotting  # noqa: PLC0415  (matplotlib on first use)

    plotting._show_trace_2d(f, results, view, set_size=False)


def sgd(params, lr_or_states, batch_size_or_hyperparams=None) -> None:
    """The port's ``sgd(params, lr, batch_size)``: ``p -= lr * p.grad / batch_size``, gradients
    left as they are (the port's loops zero them themselves). The ch. 7 form
    ``sgd(params, states, hyperparams)`` works too."""
    _training._sgd(params, lr_or_states, batch_size_or_hyperparams, zero_grad=False)


def load_data_fashion_mnist(batch_size: int, resize=None, root=None):
    """The port's ``load_data_fashion_mnist(batch_size, resize=None, root=...)``.

    ``root`` is the data folder (``root/FashionMNIST/raw``, as torchvision lays it out); by
    default d2lmini's data folder. Like the port, no worker processes on Windows.
    """
    from d2lmini import data  # noqa: PLC0415

    return data._fashion_mnist_loaders(batch_size, resize, root,
                                       0 if sys.platform.startswith("win") else None)


def __getattr__(name: str) -> Any:
    import d2lzh_pytorch  # noqa: PLC0415

    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(d2lzh_pytorch, name)

"""``import d2lzh_pytorch as d2l``: d2lmini with the Chinese PyTorch port's semantics.

ShusenTang/Dive-into-DL-PyTorch imports its helpers as ``d2lzh_pytorch``. This module gives
every d2lmini name, and the port's own version of the helpers whose behaviour differs from
d2l-en's (see :mod:`d2lzh_pytorch.utils`):

* ``train_2d(trainer)`` prints ``epoch 20, x1 -0.943467, x2 -0.000073`` (no colons);
* ``show_trace_2d(f, results)`` keeps the current figure size (the port does not call
  ``set_figsize``);
* ``sgd(params, lr, batch_size)`` leaves the gradients as they are (d2l-en zeroes them);
* ``load_data_fashion_mnist(batch_size, resize=None, root=None)`` takes the port's ``root``.

Everything else (``get_data_ch7``, ``train_ch7``, ``train_pytorch_ch7``, ``set_figsize``,
``plt``, ``linreg``, ``squared_loss``, ...) is d2lmini's, the same objects. Like d2lmini it loads
lazily: ``import d2lzh_pytorch`` imports neither torch nor matplotlib.
"""
from __future__ import annotations

import importlib
from typing import Any

import d2lmini as _d2lmini

__version__ = _d2lmini.__version__

#: the names whose port version differs from d2l-en's; defined in d2lzh_pytorch.utils
PORT_NAMES = ("train_2d", "show_trace_2d", "sgd", "load_data_fashion_mnist")


def __getattr__(name: str) -> Any:
    if name == "utils":
        return importlib.import_module(f"{__name__}.utils")
    if name in PORT_NAMES:
        value = getattr(importlib.import_module(f"{__name__}.utils"), name)
    else:
        try:
            value = getattr(_d2lmini, name)
        except AttributeError:
            raise AttributeError(f"module 'd2lzh_pytorch' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(dir(_d2lmini)) | set(PORT_NAMES) | {"utils"})

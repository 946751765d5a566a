"""Small utilities with d2l's names: ``Timer``, ``Accumulator``, devices and tensor helpers.

* ``Timer`` and ``Accumulator`` (d2l-en);
* the device helpers ``cpu()``, ``gpu(i=0)``, ``num_gpus()``, ``try_gpu(i=0)`` and
  ``try_all_gpus()`` (d2l-en, section "GPUs");
* the tensor helpers (``reduce_sum``, ``size``, ``reshape``, ``tensor``, ``cosh``, ...): the
  thin torch aliases of d2l-en's ``d2l/torch.py``.

torch is imported on first use only.
"""
from __future__ import annotations

import time
from typing import Any, List

import numpy as np

__all__ = ["Timer", "Accumulator", "cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus"]


class Timer:
    """Record several running times (d2l-en)."""

    def __init__(self) -> None:
        self.times: List[float] = []
        self.start()

    def start(self) -> None:
        """Start the timer."""
        self.tik = time.time()

    def stop(self) -> float:
        """Stop the timer and record the time in a list."""
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        """The average time (0.0 when nothing was recorded)."""
        return sum(self.times) / len(self.times) if self.times else 0.0

    def sum(self) -> float:
        """The sum of the recorded times."""
        return sum(self.times)

    def cumsum(self) -> List[float]:
        """The running sums of the recorded times."""
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """Accumulate sums over ``n`` variables (d2l-en)."""

    def __init__(self, n: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int (the number of sums), got {n!r}")
        self.data = [0.0] * n

    def add(self, *args: Any) -> None:
        if len(args) != len(self.data):
            raise ValueError(f"add() takes {len(self.data)} values, got {len(args)}")
        self.data = [a + float(b.detach() if hasattr(b, "detach") else b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


# ---------------------------------------------------------------------------------------------
# Devices (d2l-en): on a machine without a GPU every helper answers with the CPU.


def _check_gpu_index(i: Any) -> int:
    import operator

    if isinstance(i, bool):
        raise TypeError(f"i must be an int (the GPU number, 0 for the first), got {i!r}")
    try:
        index = operator.index(i)
    except TypeError:
        raise TypeError(f"i must be an int (the GPU number, 0 for the first), got {i!r}") from None
    if index < 0:
        raise ValueError(f"i must be 0 or more (the GPU number), got {i!r}")
    return index


def cpu():
    """The CPU device, ``torch.device('cpu')``."""
    return _torch().device("cpu")


def gpu(i: int = 0):
    """The device of GPU ``i``, ``torch.device(f'cuda:{i}')`` (whether or not it exists)."""
    return _torch().device(f"cuda:{_check_gpu_index(i)}")


def num_gpus() -> int:
    """How many CUDA GPUs torch sees (0 on a CPU-only machine)."""
    return _torch().cuda.device_count()


def try_gpu(i: int = 0):
    """GPU ``i`` if it exists, otherwise the CPU."""
    i = _check_gpu_index(i)
    if num_gpus() >= i + 1:
        return gpu(i)
    return cpu()


def try_all_gpus() -> list:
    """All GPUs, ``[gpu(0), gpu(1), ...]``; an empty list when there is none (as in d2l-en)."""
    return [gpu(i) for i in range(num_gpus())]


def _torch():
    import torch

    return torch


# name -> function of (torch) returning the helper; mirrors d2l-en's aliases.
_TENSOR_HELPERS = {
    "ones_like": lambda t: t.ones_like,
    "ones": lambda t: t.ones,
    "zeros_like": lambda t: t.zeros_like,
    "zeros": lambda t: t.zeros,
    "tensor": lambda t: t.tensor,
    "arange": lambda t: t.arange,
    "meshgrid": lambda t: t.meshgrid,
    "sin": lambda t: t.sin,
    "sinh": lambda t: t.sinh,
    "cos": lambda t: t.cos,
    "cosh": lambda t: t.cosh,
    "tanh": lambda t: t.tanh,
    "linspace": lambda t: t.linspace,
    "exp": lambda t: t.exp,
    "log": lambda t: t.log,
    "sqrt": lambda t: t.sqrt,
    "normal": lambda t: t.normal,
    "rand": lambda t: t.rand,
    "randn": lambda t: t.randn,
    "matmul": lambda t: t.matmul,
    "int32": lambda t: t.int32,
    "int64": lambda t: t.int64,
    "float32": lambda t: t.float32,
    "concat": lambda t: t.cat,
    "stack": lambda t: t.stack,
    "abs": lambda t: t.abs,
    "eye": lambda t: t.eye,
    "sigmoid": lambda t: t.sigmoid,
    "batch_matmul": lambda t: t.bmm,
    "numpy": lambda t: (lambda x, *args, **kwargs: x.detach().numpy(*args, **kwargs)),
    "size": lambda t: (lambda x, *args, **kwargs: x.numel(*args, **kwargs)),
    "reshape": lambda t: (lambda x, *args, **kwargs: x.reshape(*args, **kwargs)),
    "to": lambda t: (lambda x, *args, **kwargs: x.to(*args, **kwargs)),
    "reduce_sum": lambda t: (lambda x, *args, **kwargs: x.sum(*args, **kwargs)),
    "reduce_mean": lambda t: (lambda x, *args, **kwargs: x.mean(*args, **kwargs)),
    "argmax": lambda t: (lambda x, *args, **kwargs: x.argmax(*args, **kwargs)),
    "astype": lambda t: (lambda x, *args, **kwargs: x.type(*args, **kwargs)),
    "transpose": lambda t: (lambda x, *args, **kwargs: x.t(*args, **kwargs)),
    "expand_dims": lambda t: (lambda x, *args, **kwargs: x.unsqueeze(*args, **kwargs)),
    "swapaxes": lambda t: (lambda x, *args, **kwargs: x.swapaxes(*args, **kwargs)),
    "repeat": lambda t: (lambda x, *args, **kwargs: x.repeat(*args, **kwargs)),
}

__all__ += sorted(_TENSOR_HELPERS)


def __getattr__(name: str) -> Any:
    if name in _TENSOR_HELPERS:
        value = _TENSOR_HELPERS[name](_torch())
        globals()[name] = value
        return value
    raise AttributeError(f"module 'd2lmini.utils' has no attribute {name!r}")

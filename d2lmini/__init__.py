"""d2lmini: the helper package of the course "Optimization algorithms of deep learning".

``import d2lmini as d2l`` gives the classic d2l helpers (``train_2d``, ``show_trace_2d``,
``get_data_ch7``, ``train_ch7``, ``Animator``, ...) with the same semantics and printouts, plus
live explorers (``explore``, ``explore_1d``, ``race``).

Everything is imported lazily, so ``import d2lmini`` is fast: matplotlib loads on the first
plot, torch on the first training loop or data tensor.

Modules, one per concern:

* :mod:`d2lmini.objectives`  test functions with exact gradients and Hessians
* :mod:`d2lmini.rules`       from-scratch update rules (NumPy), proven against torch.optim
* :mod:`d2lmini.schedules`   learning-rate schedules, proven against torch.optim.lr_scheduler
* :mod:`d2lmini.training`    ``train_2d``, the minibatch training loops, ``train_classifier``
* :mod:`d2lmini.sweeps`      many configurations of a network trained at once (``sweep``)
* :mod:`d2lmini.plotting`    ``show_trace``, ``show_trace_2d``, ``Animator``, figure settings
* :mod:`d2lmini.data`        airfoil and Fashion-MNIST (download, checksum, cache), ``download``; Iris, digits
* :mod:`d2lmini.utils`       ``Timer``, ``Accumulator`` and small tensor helpers
* :mod:`d2lmini.explorers`   sliders over contour plots
* :mod:`d2lmini.exercises`   ``check(key, answer)`` and ``hint(key)`` for every chapter's exercises
"""
from __future__ import annotations

import importlib
from typing import Any, Dict

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: Dict[str, str] = {}


def _register(module: str, *names: str) -> None:
    for name in names:
        _LAZY[name] = module


_register(
    "plotting",
    "plt", "use_svg_display", "set_figsize", "set_axes", "plot", "show_trace", "show_trace_2d",
    "Animator", "presenter_mode", "annotate",
)
_register(
    "training",
    "train_2d", "train_ch7", "train_pytorch_ch7", "train_ch11", "train_concise_ch11",
    "sgd", "linreg", "squared_loss", "evaluate_loss",
    "train_classifier", "softmax_regression", "mlp", "Net", "init_params", "rule_trainer",
    "accuracy", "evaluate_accuracy", "evaluate_accuracy_gpu",
)
_register(
    "data",
    "get_data_ch7", "get_data_ch11", "load_array", "load_airfoil", "airfoil_path",
    "DATA_HUB", "DATA_URL", "download", "load_data_fashion_mnist", "get_dataloader_workers",
    "get_data_iris", "get_data_digits", "load_data_iris", "load_data_digits", "ClassificationData",
)
_register("sweeps", "sweep", "SweepResult", "plot_lr_sensitivity", "plot_curves")
_register(
    "utils",
    "Timer", "Accumulator", "cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus",
    "reduce_sum", "reduce_mean", "size", "reshape", "matmul", "batch_matmul", "tensor", "arange",
    "zeros", "zeros_like", "ones", "ones_like", "normal", "rand", "randn", "numpy", "float32",
    "int32", "int64", "meshgrid", "exp", "log", "sqrt", "sin", "sinh", "cos", "cosh", "tanh",
    "sigmoid", "linspace", "concat", "stack", "eye", "abs", "argmax", "astype", "to", "transpose",
    "expand_dims", "swapaxes", "repeat",
)
_register("rules", "hyperparams", "Range")
_register("explorers", "explore", "explore_1d", "race", "Explorer2D", "Explorer1D", "Race")
_register("colab", "in_colab", "check_environment")
_register("exercises", "check")

_SUBMODULES = {
    "objectives", "rules", "schedules", "training", "plotting", "data", "utils", "explorers", "colab",
    "sweeps", "exercises",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'd2lmini' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)

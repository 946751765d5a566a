"""Training loops with d2l's names, signatures and printouts.

* ``train_2d(trainer, steps=20, f_grad=None)``: run a 2-D trainer from (-5, -2) and print
  d2l-en's ``epoch 20, x1: -0.943467, x2: -0.000073`` (``import d2lzh_pytorch as d2l`` gives
  the Chinese port's ``epoch 20, x1 -0.943467, x2 -0.000073``).
* ``train_ch7`` / ``train_pytorch_ch7``: the Chinese PyTorch port's minibatch loops on the airfoil
  data (prints ``loss: 0.243675, 0.049749 sec per epoch``).
* ``train_ch11`` / ``train_concise_ch11``: d2l-en's loops (prints ``loss: 0.243, 0.012 sec/epoch``).
* ``sgd``, ``linreg``, ``squared_loss``, ``evaluate_loss``;
* ``accuracy`` and ``evaluate_accuracy_gpu`` (d2l-en's classification helpers).

torch is imported inside the functions that need it, never at module import.
"""
from __future__ import annotations

import inspect
import math
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "train_2d",
    "train_ch7",
    "train_pytorch_ch7",
    "train_ch11",
    "train_concise_ch11",
    "sgd",
    "linreg",
    "squared_loss",
    "evaluate_loss",
    "accuracy",
    "evaluate_accuracy_gpu",
]


# ---------------------------------------------------------------------------------------------
# 2-D


def _required_positional(fn: Callable) -> Optional[int]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(
        1 for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )


def _finite(*values: Any) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError, OverflowError):
        return False


def _printable(v: Any) -> Any:
    """A value '%f' can print: huge Python ints (from integer-only arithmetic) become +-inf."""
    try:
        float(v)
        return v
    except OverflowError:
        return math.inf if v > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan


#: d2l-en's train_2d line (``f'epoch {i + 1}, x1: {float(x1):f}, x2: {float(x2):f}'``).
LINE_2D_D2L = "epoch %d, x1: %f, x2: %f"
#: The Chinese PyTorch port's line (``'epoch %d, x1 %f, x2 %f' % (i + 1, x1, x2)``).
LINE_2D_PORT = "epoch %d, x1 %f, x2 %f"


def train_2d(trainer: Callable, steps: int = 20, f_grad: Optional[Callable] = None, *,
             x0: Tuple[float, float] = (-5, -2), verbose: bool = True) -> List[Tuple[Any, Any]]:
    """Run a 2-D optimizer for ``steps`` steps from ``x0 = (-5, -2)`` and return the points.

    The trainer takes and returns the state ``(x1, x2, s1, s2)`` (d2l; ``s1, s2`` start at 0),
    or ``(x1, x2, s1, s2, f_grad)`` when ``f_grad`` is given (d2l-en). A trainer with two
    parameters ``(x1, x2)`` returning ``(x1, x2)`` also works (the form of some d2l copies).

    Prints d2l-en's ``epoch 20, x1: -0.943467, x2: -0.000073`` after the last step and returns
    the ``steps + 1`` points. A run whose point overflows or stops being finite ends there; it
    prints the last line and ``diverged at step k`` instead of raising.
    """
    return _train_2d(trainer, steps, f_grad, x0, verbose, LINE_2D_D2L)


def _train_2d(trainer: Callable, steps: int, f_grad: Optional[Callable],
              x0: Tuple[float, float], verbose: bool, line: str) -> List[Tuple[Any, Any]]:
    if not callable(trainer):
        raise TypeError(f"trainer must be a function like trainer(x1, x2, s1, s2), got {trainer!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if f_grad is not None and not callable(f_grad):
        raise TypeError(f"f_grad must be a function f_grad(x1, x2) -> (g1, g2), got {f_grad!r}")
    try:
        x1, x2 = x0
    except (TypeError, ValueError):
        raise TypeError(f"x0 must be a pair (x1, x2), got {x0!r}") from None
    two_args = _required_positional(trainer) == 2 and f_grad is None
    s1, s2 = 0, 0
    results = [(x1, x2)]
    diverged_at = None
    reason = ""
    for i in range(steps):
        try:
            if two_args:
                out = trainer(x1, x2)
            elif f_grad is not None:
                out = trainer(x1, x2, s1, s2, f_grad)
            else:
                out = trainer(x1, x2, s1, s2)
        except (OverflowError, FloatingPointError, ZeroDivisionError) as exc:
            diverged_at, reason = i + 1, f"{type(exc).__name__}: {exc}"
            break
        expected = 2 if two_args else 4
        if not isinstance(out, (tuple, list)) or len(out) != expected:
            shape = "(x1, x2)" if two_args else "(x1, x2, s1, s2)"
            raise TypeError(
                f"the trainer must return a tuple {shape}; at step {i + 1} it returned {out!r}"
            )
        if two_args:
            x1, x2 = out
        else:
            x1, x2, s1, s2 = out
        results.append((x1, x2))
        if not _finite(x1, x2):
            diverged_at, reason = i + 1, "the point is no longer finite"
            break
    if verbose:
        print(line % (len(results) - 1, _printable(x1), _printable(x2)))
        if diverged_at is not None:
            print(f"diverged at step {diverged_at} ({reason}); try a smaller learning rate")
    return results


# ---------------------------------------------------------------------------------------------
# Linear regression pieces


def linreg(X, w, b):
    """The linear regression model ``X @ w + b``."""
    import torch

    return torch.mm(X, w) + b


def squared_loss(y_hat, y):
    """Elementwise squared loss ``(y_hat - y)^2 / 2`` (not averaged; d2l)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr_or_states, batch_size_or_hyperparams=None) -> None:
    """Minibatch SGD on a list of tensors, in either of d2l's two forms.

    * ``sgd(params, lr, batch_size)``: ``p -= lr * p.grad / batch_size`` (d2l ch. 3);
    * ``sgd(params, states, hyperparams)``: ``p -= hyperparams['lr'] * p.grad`` (ch. 7/11).

    Either form sets the gradients back to zero afterwards, as d2l-en does (the Chinese port's
    ``d2lzh_pytorch.sgd`` leaves them).
    """
    _sgd(params, lr_or_states, batch_size_or_hyperparams, zero_grad=True)


def _sgd(params, lr_or_states, batch_size_or_hyperparams, zero_grad: bool) -> None:
    import torch

    if isinstance(batch_size_or_hyperparams, dict):
        lr = _check_hyper_lr(batch_size_or_hyperparams)
        scale = 1.0
    else:
        lr = _check_number(lr_or_states, "lr")
        batch_size = batch_size_or_hyperparams
        if batch_size is None:
            batch_size = 1
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        scale = 1.0 / batch_size
    params = list(params)
    for p in params:
        if getattr(p, "grad", None) is None:
            raise ValueError("a parameter has no gradient: call loss.backward() before sgd")
    with torch.no_grad():
        for p in params:
            p -= lr * scale * p.grad
            if zero_grad:
                p.grad.zero_()


def evaluate_loss(net: Callable, data_iter, loss: Callable) -> float:
    """The average loss of ``net`` over ``data_iter`` (d2l-en)."""
    import torch

    from .utils import Accumulator

    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)
            metric.add(l.sum(), l.numel())
    return metric[0] / metric[1]


def accuracy(y_hat, y) -> float:
    """The number of correct predictions (d2l-en), as a float.

    ``y_hat`` holds scores of shape ``(n, classes)`` (the arg-max is the prediction) or the
    predicted labels ``(n,)``; ``y`` the true labels.
    """
    if not (hasattr(y_hat, "shape") and hasattr(y, "dtype")):
        raise TypeError("accuracy(y_hat, y) takes two tensors: scores (n, classes) or labels (n,), "
                        f"and labels (n,); got {type(y_hat).__name__} and {type(y).__name__}")
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy_gpu(net: Callable, data_iter, device=None) -> float:
    """The accuracy of ``net`` over ``data_iter`` on ``device`` (d2l-en).

    An ``nn.Module`` is put in evaluation mode (and left there, as in d2l) and, without a
    ``device``, evaluated on the device of its first parameter.
    """
    import torch
    from torch import nn

    from .utils import Accumulator

    if not callable(net):
        raise TypeError(f"net must be a model (callable), got {net!r}")
    if isinstance(net, nn.Module):
        net.eval()
        if not device:
            device = next(iter(net.parameters())).device
    metric = Accumulator(2)  # correct predictions, predictions
    with torch.no_grad():
        for X, y in data_iter:
            if isinstance(X, list):
                X = [x.to(device) for x in X]
            else:
                X = X.to(device)
            y = y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    if metric[1] == 0:
        raise ValueError("data_iter gave no examples: cannot compute an accuracy")
    return metric[0] / metric[1]


# ---------------------------------------------------------------------------------------------
# Argument checks


def _check_number(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _check_hyper_lr(hyperparams: Dict[str, Any]) -> float:
    if "lr" not in hyperparams:
        raise ValueError(f"hyperparams needs a learning rate 'lr', got keys {sorted(hyperparams)}")
    return _check_number(hyperparams["lr"], "hyperparams['lr']")


def _check_loop_args(optimizer_fn, hyperparams, batch_size, num_epochs) -> None:
    if not callable(optimizer_fn):
        raise TypeError(f"the optimizer must be a function or class, got {optimizer_fn!r}")
    if not isinstance(hyperparams, dict):
        raise TypeError(f"hyperparams must be a dict such as {{'lr': 0.05}}, got {hyperparams!r}")
    for key, value in hyperparams.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isfinite(value):
            raise ValueError(f"hyperparams[{key!r}] must be finite, got {value!r}")
    if "lr" in hyperparams:
        _check_number(hyperparams["lr"], "hyperparams['lr']")
    for name, value in (("batch_size", batch_size), ("num_epochs", num_epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_data(features, labels) -> None:
    import torch

    if not (isinstance(features, torch.Tensor) and isinstance(labels, torch.Tensor)):
        raise TypeError("features and labels must be torch tensors, as get_data_ch7() returns")
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise ValueError(
            f"features must be (n, d) and labels (n,) with the same n; got {tuple(features.shape)} "
            f"and {tuple(labels.shape)}"
        )


def _flat_tensors(states) -> list:
    import torch

    if states is None:
        return []
    if isinstance(states, torch.Tensor):
        return [states]
    if isinstance(states, (list, tuple)):
        out = []
        for s in states:
            out.extend(_flat_tensors(s))
        return out
    if isinstance(states, dict):
        return _flat_tensors(list(states.values()))
    return []


def _check_states(states, params) -> None:
    shapes = [tuple(p.shape) for p in params]
    for i, s in enumerate(_flat_tensors(states)):
        if tuple(s.shape) not in shapes:
            raise ValueError(
                f"state tensor {i} has shape {tuple(s.shape)}, but every state must have the shape "
                f"of a parameter: w {shapes[0]} or b {shapes[1]}. Build the states for "
                f"{shapes[0][0]} features (for example init_..._states() after get_data_ch7())."
            )


# ---------------------------------------------------------------------------------------------
# Live loss curve


class _LossCurve:
    """The loss-versus-epoch figure of train_ch7: live in a notebook, static elsewhere."""

    def __init__(self, num_epochs: int):
        from .plotting import Animator, in_notebook

        self.live = in_notebook()
        self.num_epochs = num_epochs
        self.animator = (
            Animator(xlabel="epoch", ylabel="loss", xlim=[0, num_epochs]) if self.live else None
        )

    def add(self, epoch: float, loss: float) -> None:
        if self.animator is not None:
            self.animator.add(epoch, loss if math.isfinite(loss) else None)

    def finish(self, ls: List[float], diverged: bool) -> None:
        from .plotting import plt, set_figsize

        if self.animator is not None:
            ax = self.animator.axes[0]
            if diverged:
                ax.set_title("diverged: the loss overflowed", color="tab:red")
            self.animator.show()
            return
        set_figsize()
        finite = [v if math.isfinite(v) else np.nan for v in ls]
        plt.plot(np.linspace(0, self.num_epochs, len(ls)), finite)
        plt.xlabel("epoch")
        plt.ylabel("loss")
        if diverged:
            plt.title("diverged: the loss overflowed", color="tab:red")


def _run_ch7(step_fn, eval_loss, features, labels, batch_size, num_epochs, return_history,
             plot=True, verbose=True):
    import torch

    ls = [eval_loss()]
    curve = _LossCurve(num_epochs) if plot else None
    if curve is not None:
        curve.add(0, ls[0])
    data_iter = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(features, labels), batch_size, shuffle=True
    )
    n_batches = len(data_iter)
    times: List[float] = []
    diverged = False
    for epoch in range(num_epochs):
        start = time.time()
        drawing = 0.0  # time spent redrawing the live plot: not part of the epoch's time
        for batch_i, (X, y) in enumerate(data_iter):
            step_fn(X, y)
            if (batch_i + 1) * batch_size % 100 == 0:
                ls.append(eval_loss())
                if curve is not None:
                    t_draw = time.time()
                    curve.add(epoch + (batch_i + 1) / n_batches, ls[-1])
                    drawing += time.time() - t_draw
                if not math.isfinite(ls[-1]):
                    diverged = True
                    break
        times.append(time.time() - start - drawing)
        if diverged:
            break
    if verbose:
        print("loss: %f, %f sec per epoch" % (ls[-1], times[-1]))
        if diverged:
            print("diverged: the loss overflowed during epoch %d; try a smaller learning rate" % (epoch + 1))
    if curve is not None:
        curve.finish(ls, diverged)
    if return_history:
        return np.cumsum(times).tolist(), ls
    return None


def train_ch7(optimizer_fn: Callable, states, hyperparams: Dict[str, Any], features, labels,
              batch_size: int = 10, num_epochs: int = 2, *, return_history: bool = False,
              plot: bool = True, verbose: bool = True):
    """Train linear regression on (features, labels) with a from-scratch optimizer.

    The semantics of the Chinese PyTorch port of d2l (section 7.3): ``w ~ N(0, 0.01)`` drawn with
    NumPy's global RNG, ``b = 0``; a shuffling DataLoader; after every batch
    ``optimizer_fn([w, b], states, hyperparams)``; the loss on all data is recorded at the start
    and every 100 examples; prints ``loss: %f, %f sec per epoch`` (the last epoch's time) and
    draws the loss curve, live in a notebook. ``return_history=True`` returns
    ``(cumulative epoch times, losses)`` for comparison plots; ``plot=False`` and
    ``verbose=False`` make a quiet run (for repeated experiments).
    """
    import torch

    _check_loop_args(optimizer_fn, hyperparams, batch_size, num_epochs)
    _check_data(features, labels)
    net, loss = linreg, squared_loss
    w = torch.nn.Parameter(
        torch.tensor(np.random.normal(0, 0.01, size=(features.shape[1], 1)), dtype=torch.float32),
        requires_grad=True,
    )
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32), requires_grad=True)
    _check_states(states, [w, b])

    def eval_loss() -> float:
        with torch.no_grad():
            return loss(net(features, w, b), labels).mean().item()

    def step(X, y):
        l = loss(net(X, w, b), y).mean()
        if w.grad is not None:
            w.grad.data.zero_()
            b.grad.data.zero_()
        l.backward()
        optimizer_fn([w, b], states, hyperparams)

    return _run_ch7(step, eval_loss, features, labels, batch_size, num_epochs, return_history, plot, verbose)


def train_pytorch_ch7(optimizer_fn: Callable, optimizer_hyperparams: Dict[str, Any], features, labels,
                      batch_size: int = 10, num_epochs: int = 2, *, return_history: bool = False,
                      plot: bool = True, verbose: bool = True):
    """Like :func:`train_ch7` with a ``torch.optim`` class, e.g. ``torch.optim.Adagrad``.

    The model is ``nn.Linear`` with PyTorch's default initialisation, the loss ``MSELoss() / 2``
    (the port's semantics, so the two loops print comparable numbers).
    """
    import torch
    from torch import nn

    _check_loop_args(optimizer_fn, optimizer_hyperparams, batch_size, num_epochs)
    _check_data(features, labels)
    net = nn.Sequential(nn.Linear(features.shape[-1], 1))
    loss = nn.MSELoss()
    try:
        optimizer = optimizer_fn(net.parameters(), **optimizer_hyperparams)
    except TypeError as exc:
        raise TypeError(f"could not build the optimizer with {optimizer_hyperparams}: {exc}") from None

    def eval_loss() -> float:
        with torch.no_grad():
            return loss(net(features).view(-1), labels).item() / 2

    def step(X, y):
        l = loss(net(X).view(-1), y) / 2
        optimizer.zero_grad()
        l.backward()
        optimizer.step()

    return _run_ch7(step, eval_loss, features, labels, batch_size, num_epochs, return_history, plot, verbose)


def train_ch11(trainer_fn: Callable, states, hyperparams: Dict[str, Any], data_iter, feature_dim: int,
               num_epochs: int = 2):
    """d2l-en's from-scratch training loop (``d2l.train_ch11``).

    ``w ~ N(0, 0.01)`` from torch's RNG, ``b = 0``; the trainer must zero the gradients; the loss
    is evaluated every 200 examples; prints ``loss: 0.243, 0.012 sec/epoch`` and returns
    ``(timer.cumsum(), losses)``.
    """
    import torch

    from .plotting import Animator
    from .utils import Timer

    _check_loop_args(trainer_fn, hyperparams, 1, num_epochs)
    if isinstance(feature_dim, bool) or not isinstance(feature_dim, (int, np.integer)) or feature_dim < 1:
        raise ValueError(f"feature_dim must be a positive int, got {feature_dim!r}")
    w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    _check_states(states, [w, b])
    net, loss = (lambda X: linreg(X, w, b)), squared_loss
    animator = Animator(xlabel="epoch", ylabel="loss", xlim=[0, num_epochs], ylim=[0.22, 0.35])
    n, timer = 0, Timer()
    for _ in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y).mean()
            l.backward()
            trainer_fn([w, b], states, hyperparams)
            n += X.shape[0]
            if n % 200 == 0:
                timer.stop()
                animator.add(n / X.shape[0] / len(data_iter), (evaluate_loss(net, data_iter, loss),))
                timer.start()
    last = animator.Y[0][-1] if animator.Y else float("nan")
    print(f"loss: {last:.3f}, {timer.sum() / num_epochs:.3f} sec/epoch")
    animator.show()
    return timer.cumsum(), (animator.Y[0] if animator.Y else [])


def train_concise_ch11(trainer_fn: Callable, hyperparams: Dict[str, Any], data_iter, num_epochs: int = 4):
    """d2l-en's concise loop with a ``torch.optim`` class (note: 4 epochs by default)."""
    import torch
    from torch import nn

    from .plotting import Animator
    from .utils import Timer

    _check_loop_args(trainer_fn, hyperparams, 1, num_epochs)
    net = nn.Sequential(nn.Linear(5, 1))

    def init_weights(module):
        if type(module) == nn.Linear:
            torch.nn.init.normal_(module.weight, std=0.01)

    net.apply(init_weights)
    optimizer = trainer_fn(net.parameters(), **hyperparams)
    loss = nn.MSELoss(reduction="none")
    animator = Animator(xlabel="epoch", ylabel="loss", xlim=[0, num_epochs], ylim=[0.22, 0.35])
    n, timer = 0, Timer()
    for _ in range(num_epochs):
        for X, y in data_iter:
            optimizer.zero_grad()
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)
            l.mean().backward()
            optimizer.step()
            n += X.shape[0]
            if n % 200 == 0:
                timer.stop()
                # MSELoss computes the squared error without the 1/2 factor
                animator.add(n / X.shape[0] / len(data_iter), (evaluate_loss(net, data_iter, loss) / 2,))
                timer.start()
    last = animator.Y[0][-1] if animator.Y else float("nan")
    print(f"loss: {last:.3f}, {timer.sum() / num_epochs:.3f} sec/epoch")
    animator.show()

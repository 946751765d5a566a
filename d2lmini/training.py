"""Training loops with d2l's names, signatures and printouts.

* ``train_2d(trainer, steps=20, f_grad=None)``: run a 2-D trainer from (-5, -2) and print
  d2l-en's ``epoch 20, x1: -0.943467, x2: -0.000073`` (``import d2lzh_pytorch as d2l`` gives
  the Chinese port's ``epoch 20, x1 -0.943467, x2 -0.000073``).
* ``train_ch7`` / ``train_pytorch_ch7``: the Chinese PyTorch port's minibatch loops on the airfoil
  data (prints ``loss: 0.243675, 0.049749 sec per epoch``).
* ``train_ch11`` / ``train_concise_ch11``: d2l-en's loops (prints ``loss: 0.243, 0.012 sec/epoch``).
* ``sgd``, ``linreg``, ``squared_loss``, ``evaluate_loss``.
* ``train_classifier``: minibatch training of a classifier (Iris, digits) with a from-scratch
  trainer, a d2lmini rule or a ``torch.optim`` class; reports train/validation loss and
  validation accuracy per epoch, live or quiet; the models ``softmax_regression`` and ``mlp``.
* ``accuracy`` and ``evaluate_accuracy_gpu`` (d2l-en's classification helpers).

torch is imported inside the functions that need it, never at module import.
"""
from __future__ import annotations

import inspect
import math
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

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
    "train_classifier",
    "softmax_regression",
    "mlp",
    "init_params",
    "seed_streams",
    "rule_trainer",
    "resolve_rule",
    "per_parameter_rules",
    "one_thread",
    "classification_tensors",
    "accuracy",
    "evaluate_accuracy",
    "evaluate_accuracy_gpu",
    "ACTIVATIONS",
    "INITS",
    "METRICS",
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


# ---------------------------------------------------------------------------------------------
# Classifiers: models, the rule trainer and train_classifier

#: Activations a :class:`Net` may use between its layers.
ACTIVATIONS = ("relu", "sigmoid", "tanh")
#: Initialisations of :func:`init_params`.
INITS = ("torch", "normal", "he")


def seed_streams(seed: int) -> Tuple[np.random.Generator, np.random.Generator]:
    """Two independent NumPy generators from one seed: ``(init_rng, order_rng)``.

    The first draws a network's initial weights, the second the minibatch order (one
    permutation of the training examples per epoch). Both :func:`train_classifier` and
    :func:`d2lmini.sweeps.sweep` use them, so a configuration with seed ``s`` starts from the same
    weights and sees the same minibatches in both. Being separate streams, changing the number
    of epochs does not change the initialisation, and two runs that differ only in the learning
    rate share both (a paired comparison).
    """
    init_ss, order_ss = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.default_rng(init_ss), np.random.default_rng(order_ss)


def _check_sizes(sizes: Sequence[int]) -> Tuple[int, ...]:
    try:
        out = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise TypeError(f"sizes must be a sequence of layer widths such as (64, 32, 10), got {sizes!r}") from None
    if len(out) < 2 or min(out) < 1 or any(float(a) != b for a, b in zip(sizes, out)):
        raise ValueError(f"sizes must be two or more positive ints (inputs, hidden..., outputs), got {sizes!r}")
    return out


def init_params(sizes: Sequence[int], init: str = "torch", seed: int = 0) -> List[np.ndarray]:
    """The initial parameters ``[W1, b1, W2, b2, ...]`` of a :class:`Net`, as float64 arrays.

    ``W`` has shape ``(fan_in, fan_out)`` (as d2l's from-scratch ``w``; ``X @ W + b``), ``b``
    shape ``(fan_out,)``. Drawn layer by layer, W before b, from the first stream of
    :func:`seed_streams` (``seed``):

    * ``"torch"``: W and b uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)], the distribution of
      ``nn.Linear``'s default initialisation (seed 004's ``FeedForward`` used it);
    * ``"normal"``: W ~ N(0, 0.01^2), b = 0 (d2l's softmax regression and ``train_ch11``);
    * ``"he"``: W ~ N(0, 2 / fan_in), b = 0 (He et al. 2015, for ReLU networks).
    """
    sizes = _check_sizes(sizes)
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
    rng = seed_streams(seed)[0]
    out: List[np.ndarray] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if init == "torch":
            bound = 1.0 / math.sqrt(fan_in)
            W = rng.uniform(-bound, bound, size=(fan_in, fan_out))
            b = rng.uniform(-bound, bound, size=fan_out)
        elif init == "normal":
            W = rng.normal(0.0, 0.01, size=(fan_in, fan_out))
            b = np.zeros(fan_out)
        else:
            W = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
            b = np.zeros(fan_out)
        out += [W, b]
    return out


def activation_fn(name: str) -> Callable:
    """The torch function of an activation name in :data:`ACTIVATIONS`."""
    import torch

    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {name!r}")
    return {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name]


_NET_CLASS: Dict[str, type] = {}


def _net_class() -> type:
    """The :class:`Net` class, built on first use so that importing this module needs no torch."""
    if "Net" in _NET_CLASS:
        return _NET_CLASS["Net"]
    import torch
    from torch import nn

    class Net(nn.Module):
        """A fully connected classifier: ``X @ W1 + b1 -> activation -> ... -> X @ Wk + bk``.

        The output is the logits (no softmax: ``F.cross_entropy`` applies it). Parameters are
        ``W1, b1, W2, b2, ...`` in that order (``net.parameters()``), ``W`` of shape
        ``(fan_in, fan_out)`` as in d2l's from-scratch code. Build one with
        :func:`softmax_regression` or :func:`mlp`; ``net.reset_parameters(seed)`` draws the
        initial weights of :func:`init_params` again. ``net.sizes``, ``net.activation`` and
        ``net.init`` describe the architecture (a sweep trains many copies of it at once).
        """

        def __init__(self, sizes, activation="relu", init="torch", seed=0, dtype=torch.float64):
            super().__init__()
            self.sizes = _check_sizes(sizes)
            activation_fn(activation)
            if init not in INITS:
                raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
            self.activation, self.init = activation, init
            for i, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
                self.register_parameter(f"W{i}", nn.Parameter(torch.empty(a, b, dtype=dtype)))
                self.register_parameter(f"b{i}", nn.Parameter(torch.empty(b, dtype=dtype)))
            self.reset_parameters(seed)

        @property
        def layers(self):
            """``[(W1, b1), (W2, b2), ...]``."""
            ps = list(self.parameters())
            return list(zip(ps[0::2], ps[1::2]))

        def reset_parameters(self, seed=0):
            """Set the weights to :func:`init_params` ``(sizes, init, seed)``."""
            with torch.no_grad():
                for p, value in zip(self.parameters(), init_params(self.sizes, self.init, seed)):
                    p.copy_(torch.from_numpy(value))
            return self

        def forward(self, X):
            act = activation_fn(self.activation)
            layers = self.layers
            H = X.to(layers[0][0].dtype)
            for i, (W, b) in enumerate(layers):
                H = H @ W + b
                if i < len(layers) - 1:
                    H = act(H)
            return H

        def extra_repr(self):
            return f"{'-'.join(map(str, self.sizes))}, activation={self.activation!r}, init={self.init!r}"

    Net.__module__ = __name__
    _NET_CLASS["Net"] = Net
    return Net


def __getattr__(name: str) -> Any:
    if name == "Net":
        return _net_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def softmax_regression(num_inputs: int, num_outputs: int, *, seed: int = 0, dtype=None):
    """Softmax regression as a :class:`Net`: logits ``X @ W + b`` (one layer, no hidden units).

    d2l's initialisation: ``W ~ N(0, 0.01^2)``, ``b = 0`` (``init='normal'``). This is the
    model of seed 004's ``train``, whose ``d2l.linreg(X, w, b)`` computes the same logits.
    ``dtype`` defaults to ``torch.float64``.
    """
    import torch

    return _net_class()((num_inputs, num_outputs), activation="relu", init="normal", seed=seed,
                        dtype=dtype or torch.float64)


def mlp(num_inputs: int, num_hiddens: "int | Sequence[int]", num_outputs: int, *,
        activation: str = "relu", init: str = "torch", seed: int = 0, dtype=None):
    """A multilayer perceptron as a :class:`Net`.

    ``num_hiddens`` is the width of the hidden layer (or a sequence of widths for several).
    The initialisation is that of ``nn.Linear`` (``init='torch'``: uniform in
    ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``); ``init='he'`` gives He's ``N(0, 2/fan_in)``.
    The course uses two::

        d2l.mlp(4, 6, 3, activation="sigmoid")   # seed 004's FeedForward, for Iris
        d2l.mlp(64, 32, 10)                       # a ReLU network for the digits
    """
    import torch

    hidden = [num_hiddens] if isinstance(num_hiddens, (int, np.integer)) else list(num_hiddens)
    return _net_class()((num_inputs, *hidden, num_outputs), activation=activation, init=init,
                        seed=seed, dtype=dtype or torch.float64)


def evaluate_accuracy(net: Callable, data_iter) -> float:
    """The fraction of correct predictions of ``net`` over ``data_iter`` (d2l-en)."""
    import torch

    from .utils import Accumulator

    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


# --- optimizers of three kinds --------------------------------------------------------------


#: Rules of d2lmini.rules that are not in its explorer registry RULES but train networks too.
_EXTRA_RULES = ("sgd", "momentum_sutskever", "momentum_ema")


def resolve_rule(rule: "str | Callable") -> Callable:
    """The rule function for a name: any in ``d2lmini.rules.RULES`` or ``'sgd'``,
    ``'momentum_sutskever'``, ``'momentum_ema'``; a function passes through. Newton's method
    needs a Hessian, which a network's loop does not have: it is refused here."""
    from . import rules

    if isinstance(rule, str) and rule not in rules.RULES and rule in _EXTRA_RULES:
        fn = getattr(rules, rule)
    else:
        try:
            fn = rules.get_rule(rule)
        except ValueError:
            names = [n for n in rules.RULES if n != "newton"] + list(_EXTRA_RULES)
            raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(names)}") from None
    if fn is rules.newton:
        raise ValueError("newton needs the Hessian, which a network's loop does not provide; "
                         "use another rule")
    return fn


def _as_matrix_view(p) -> np.ndarray:
    """A NumPy view of a tensor's data, 1-D tensors as ``(1, n)`` (see :func:`rule_trainer`)."""
    a = p.detach().numpy()
    return a.reshape(1, -1) if a.ndim == 1 else a


def rule_trainer(rule: "str | Callable") -> Callable:
    """A d2l trainer ``trainer(params, states, hyperparams)`` that applies a d2lmini rule.

    ``rule`` is a name in :data:`d2lmini.rules.RULES` or a rule function ``rule(x, g, state,
    **hp)``. For each parameter ``p`` the trainer calls ``rule(x, g, state, **hyperparams)`` on
    zero-copy float64 NumPy views ``x`` of ``p`` and ``g`` of ``p.grad`` and writes the result
    back into ``p``; ``states`` is a list with one dict per parameter (start with
    ``[{} for p in params]``). A 1-D parameter (a bias) is passed as a ``1 x n`` matrix, as the
    batched sweep passes its ``(C, 1, n)`` biases, so a rule that acts on the last two axes treats
    it the same way in both. So ``train_classifier(rule_trainer('adam'), {'lr': 1e-3}, ...)``
    runs the very code a sweep runs, one configuration at a time.
    """
    fn = resolve_rule(rule)

    def trainer(params, states, hyperparams):
        with np.errstate(all="ignore"):  # a diverging run is data: inf/nan, no warnings
            for p, state in zip(params, states):
                if p.grad is None:
                    raise ValueError("a parameter has no gradient: call loss.backward() first")
                x = _as_matrix_view(p)
                g = _as_matrix_view(p.grad)
                x[...] = fn(x, g, state, **hyperparams)

    trainer.rule = fn
    trainer.__name__ = f"rule_trainer({getattr(fn, '__name__', 'rule')})"
    return trainer


#: The groups a per-parameter rule may name besides single parameters (:func:`per_parameter_rules`).
PARAMETER_GROUPS = ("weight", "bias")


def per_parameter_rules(rules_by_param, names: Sequence[str], ndims: Sequence[int],
                        hyperparams=()) -> List[Tuple[Callable, Dict[str, Any], Dict[str, Any]]]:
    """One rule per parameter, for optimizers that treat parameters differently (Muon for the
    hidden weight matrices, AdamW for the rest).

    ``rules_by_param`` is a dict. Its keys are parameter names (a Net's ``'W1'``, ``'b1'``,
    ``'W2'``, ...; for another module those of ``named_parameters()``) or the groups
    ``'weight'`` (every parameter with two or more axes) and ``'bias'`` (every 1-D parameter);
    a parameter's own name wins over its group. A value is a rule (a name or a function) or
    ``(rule, {hyperparameters})``: those hyperparameters hold for that rule's parameters only and
    win over the shared ones. Muon for the hidden layer, AdamW at lr 3e-3 for the output layer
    and the biases::

        {'W1': 'muon', 'weight': ('adamw', {'lr': 3e-3}), 'bias': ('adamw', {'lr': 3e-3})}

    Each rule gets the shared ``hyperparams`` it takes (``lr``, and in a sweep the swept ones);
    every parameter must get a rule and every shared hyperparameter must be taken by at least
    one of the rules. Returns, per parameter in the order of ``names``, ``(rule function, its
    hyperparameters as hyperparameters_of gives them, its own hyperparameters)``.
    """
    from .rules import hyperparameters_of

    if not isinstance(rules_by_param, Mapping) or not rules_by_param:
        raise TypeError("a per-parameter rule must be a non-empty dict such as "
                        "{'weight': 'muon', 'bias': 'adamw'}, got " + repr(rules_by_param))
    names = list(names)
    allowed = list(names) + list(PARAMETER_GROUPS)
    resolved: Dict[str, Tuple[Callable, Dict[str, Any], Dict[str, Any]]] = {}
    for key, spec in rules_by_param.items():
        if key not in allowed:
            raise ValueError(f"per-parameter rule: unknown key {key!r}; use a parameter name "
                             f"({', '.join(names)}) or a group ({', '.join(PARAMETER_GROUPS)})")
        own: Dict[str, Any] = {}
        if isinstance(spec, tuple):
            if len(spec) != 2 or not isinstance(spec[1], Mapping):
                raise TypeError(f"per-parameter rule {key!r}: give a rule or (rule, {{hyperparameters}}), "
                                f"got {spec!r}")
            spec, own = spec[0], dict(spec[1])
        fn = resolve_rule(spec)
        known = hyperparameters_of(fn)
        unknown = sorted(set(own) - set(known))
        if unknown:
            raise TypeError(f"per-parameter rule {key!r}: {fn.__name__} has no hyperparameter(s) "
                            f"{unknown}; it takes {sorted(known)}")
        resolved[key] = (fn, known, own)
    parts = []
    for name, ndim in zip(names, ndims):
        group = "weight" if ndim >= 2 else "bias"
        if name in resolved:
            parts.append(resolved[name])
        elif group in resolved:
            parts.append(resolved[group])
        else:
            raise ValueError(f"per-parameter rule: parameter {name!r} has no rule; add the key "
                             f"{name!r} or the group {group!r}")
    taken = set().union(*(set(known) for _, known, _ in parts))
    unknown = sorted(set(hyperparams) - taken)
    if unknown:
        raise TypeError(f"no rule of {'+'.join(_part_names(parts))} takes the hyperparameter(s) "
                        f"{unknown}")
    return parts


def _part_names(parts) -> List[str]:
    """The distinct rule names of a per-parameter rule, in order of first use."""
    return list(dict.fromkeys(getattr(fn, "__name__", "rule") for fn, _, _ in parts))


def _part_hyperparams(known: Dict[str, Any], shared: Mapping, own: Mapping,
                      factor: Optional[float] = None) -> Dict[str, Any]:
    """The hyperparameters of one part of a per-parameter rule: the shared ones its rule takes,
    then its own; with a schedule ``factor``, its lr (own, shared or the rule's default) times it."""
    hp = {k: v for k, v in shared.items() if k in known}
    hp.update(own)
    if factor is not None and "lr" in known:
        hp["lr"] = hp.get("lr", known["lr"][0]) * factor
    return hp


def _optimizer_kind(optimizer) -> str:
    """'torch' (a torch.optim class), 'rule' (a d2lmini rule or its name) or 'trainer'."""
    import torch

    if isinstance(optimizer, (str, Mapping)):  # a rule's name, or one rule per parameter
        return "rule"
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return "torch"
    if isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("pass the optimizer class (e.g. torch.optim.Adam) and its hyperparameters, "
                        "not an optimizer object: train_classifier builds it for the model")
    if not callable(optimizer):
        raise TypeError(
            "optimizer must be a rule name such as 'adam', a d2lmini rule, a from-scratch trainer "
            f"trainer(params, states, hyperparams) or a torch.optim class; got {optimizer!r}"
        )
    if getattr(optimizer, "rule", None) is not None:
        return "trainer"  # made by rule_trainer
    try:
        params = list(inspect.signature(optimizer).parameters.values())
    except (TypeError, ValueError):
        return "trainer"
    if hasattr(optimizer, "ranges") or len(params) > 3:
        return "rule"
    return "trainer"


# --- data ------------------------------------------------------------------------------------


def _pair(part, what: str):
    """``(X, y)`` tensors from a DataLoader, a Dataset or a pair of arrays/tensors."""
    import torch

    if hasattr(part, "dataset") and hasattr(part, "batch_size"):  # a DataLoader
        ds = part.dataset
        if isinstance(ds, torch.utils.data.TensorDataset) and len(ds.tensors) == 2:
            return ds.tensors[0], ds.tensors[1], part.batch_size
        Xs, ys = [], []
        for X, y in torch.utils.data.DataLoader(ds, batch_size=256, shuffle=False):
            Xs.append(torch.as_tensor(X))
            ys.append(torch.as_tensor(y))
        return torch.cat(Xs), torch.cat(ys), part.batch_size
    if isinstance(part, (tuple, list)) and len(part) == 2:
        return torch.as_tensor(part[0]), torch.as_tensor(part[1]), None
    raise TypeError(f"the {what} data must be a DataLoader or a pair (X, y); got {type(part).__name__}")


def classification_tensors(data, dtype=None):
    """``(X_train, y_train, X_val, y_val, num_classes, batch_size)`` from any form of ``data``.

    ``data`` may be ``'iris'`` or ``'digits'`` (the default split of :func:`get_data_iris` /
    :func:`get_data_digits`), a :class:`~d2lmini.data.ClassificationData`, a tuple of
    DataLoaders ``(train_iter, val_iter)`` or ``(train_iter, val_iter, test_iter)`` (as
    ``load_data_digits`` returns), or a tuple of pairs ``((X_train, y_train), (X_val, y_val))``.
    ``X`` comes back in ``dtype`` (default float64), ``y`` as int64. ``batch_size`` is that of
    the training DataLoader, or None.
    """
    import torch

    from .data import ClassificationData, get_data_digits, get_data_iris

    dtype = dtype or torch.float64
    if isinstance(data, str):
        makers = {"iris": get_data_iris, "digits": get_data_digits}
        if data not in makers:
            raise ValueError(f"unknown data set {data!r}; use 'iris' or 'digits', or pass tensors or loaders")
        data = makers[data]()
    if isinstance(data, ClassificationData):
        (Xtr, ytr), (Xva, yva) = data.split("train", dtype), data.split("val", dtype)
        return Xtr, ytr, Xva, yva, data.num_classes, None
    if not (isinstance(data, (tuple, list)) and len(data) in (2, 3)):
        raise TypeError(
            "data must be 'iris', 'digits', d2l.get_data_digits(...), the loaders of "
            "d2l.load_data_digits(...) or ((X_train, y_train), (X_val, y_val)); "
            f"got {type(data).__name__}"
        )
    Xtr, ytr, batch_size = _pair(data[0], "training")
    Xva, yva, _ = _pair(data[1], "validation")
    for X, y, what in ((Xtr, ytr, "training"), (Xva, yva, "validation")):
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"the {what} data must be X of shape (n, features) and y of shape (n,) "
                             f"with n > 0; got {tuple(X.shape)} and {tuple(y.shape)}")
        if y.dtype.is_floating_point and not torch.equal(y, y.round()):
            raise ValueError(f"the {what} labels must be class indices 0, 1, ..., got fractions")
    if Xtr.shape[1] != Xva.shape[1]:
        raise ValueError(f"training and validation data have {Xtr.shape[1]} and {Xva.shape[1]} features")
    ytr, yva = ytr.to(torch.int64), yva.to(torch.int64)
    if min(int(ytr.min()), int(yva.min())) < 0:
        raise ValueError("the labels must be class indices 0, 1, ..., got a negative one")
    num_classes = int(max(int(ytr.max()), int(yva.max()))) + 1
    return Xtr.to(dtype), ytr, Xva.to(dtype), yva, num_classes, batch_size


def _build_model(model, num_features: int, num_classes: int, seed, dtype):
    """A Net (fresh or re-initialised from ``seed``) or the user's nn.Module, and its kind."""
    import torch

    Net = _net_class()
    if isinstance(model, str):
        if model == "softmax":
            net = softmax_regression(num_features, num_classes, dtype=dtype)
        elif model == "mlp":
            net = mlp(num_features, 32, num_classes, dtype=dtype)
        else:
            raise ValueError(f"unknown model {model!r}; use 'softmax', 'mlp', d2l.mlp(...) or an nn.Module")
    elif isinstance(model, Net):
        net = model.to(dtype)
    elif isinstance(model, torch.nn.Module):
        if seed is not None:  # a module of one's own keeps its weights; this seeds its dropout etc.
            torch.manual_seed(int(seed))
        return model.to(dtype)
    else:
        raise TypeError(f"model must be 'softmax', 'mlp', a Net (d2l.mlp(...)) or an nn.Module, got {model!r}")
    if net.sizes[0] != num_features or net.sizes[-1] != num_classes:
        raise ValueError(f"the model maps {net.sizes[0]} inputs to {net.sizes[-1]} outputs, but the "
                         f"data have {num_features} features and {num_classes} classes")
    if seed is not None:
        net.reset_parameters(seed)
    return net


def _check_schedule(lr_schedule) -> Optional[Callable]:
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a function of the step t = 0, 1, ... returning the "
                        f"lr multiplier (e.g. lambda t: 0.5 ** (t // 100)), got {lr_schedule!r}")
    return lr_schedule


def schedule_factor(lr_schedule: Optional[Callable], t: int) -> float:
    """``lr_schedule(t)`` as a float, checked: the lr of update ``t`` (0, 1, ...) is lr times this."""
    if lr_schedule is None:
        return 1.0
    try:
        m = float(lr_schedule(t))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"lr_schedule({t}) must return a number, got an error: {exc}") from None
    if not (math.isfinite(m) and m >= 0):
        raise ValueError(f"lr_schedule({t}) must return a finite number >= 0, got {m!r}")
    return m


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class one_thread:
    """Run torch on one thread inside the block (restored afterwards).

    The matrices of these networks are tiny: splitting them over threads costs more than it
    saves, and on a busy 2-core machine (Colab, Binder, a shared server) two threads that wait
    for each other made a training step 10 to 100 times slower here (bench/sweep.py).
    """

    def __enter__(self):
        import torch

        self.saved = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.saved)
        return False


def _evaluate_net(net, X, y) -> Tuple[float, float]:
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        logits = net(X)
        loss = F.cross_entropy(logits, y).item()
        acc = (logits.argmax(dim=1) == y).to(torch.float64).mean().item()
    return loss, acc


METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")


class _ClassifierCurves:
    """The live figure of train_classifier: train loss, val loss and val accuracy per epoch."""

    def __init__(self, num_epochs: int, top: float):
        from .plotting import Animator

        self.animator = Animator(xlabel="epoch", xlim=[0, num_epochs], ylim=[0, top],
                                 legend=["train loss", "val loss", "val acc"])

    def add(self, epoch, tl, vl, va):
        vals = [v if math.isfinite(v) else None for v in (tl, vl, va)]
        self.animator.add(epoch, vals)

    def finish(self, diverged_at):
        if diverged_at is not None:
            self.animator.axes[0].set_title(f"diverged in epoch {diverged_at}", color="tab:red")
        self.animator.show()


def train_classifier(optimizer, hyperparams: Optional[Dict[str, Any]] = None, data="digits",
                     model="mlp", num_epochs: int = 10, batch_size: Optional[int] = None, *,
                     states=None, seed: Optional[int] = 0, lr_schedule: Optional[Callable] = None,
                     dtype=None, plot: bool = True, verbose: bool = True) -> Dict[str, Any]:
    """Train a classifier with minibatch SGD-style updates; d2l's loop for networks.

    Parameters
    ----------
    optimizer:
        One of three kinds:

        * a from-scratch trainer ``trainer(params, states, hyperparams)`` in d2l's convention
          (it updates ``p`` from ``p.grad``; ``states`` is passed through; the loop zeroes the
          gradients before every backward pass, so the trainer may or may not do it too);
        * a ``torch.optim`` class such as ``torch.optim.Adam``, built with ``**hyperparams``;
        * a d2lmini rule or its name (``'adam'``, ``d2l.rules.rmsprop``, ...), applied to each
          parameter through :func:`rule_trainer` with ``**hyperparams``: exactly what a batched
          :func:`d2lmini.sweeps.sweep` does for this configuration;
        * one rule per parameter, a dict such as ``{'weight': 'muon', 'bias': 'adamw'}`` (see
          :func:`per_parameter_rules`): each rule gets the hyperparameters it takes.
    hyperparams:
        A dict such as ``{'lr': 0.1}``.
    data:
        ``'digits'`` (default), ``'iris'``, ``d2l.get_data_digits(...)``, the loaders of
        ``d2l.load_data_digits(...)`` or ``((X_train, y_train), (X_val, y_val))``.
    model:
        ``'mlp'`` (one hidden layer of 32 ReLU units), ``'softmax'`` (softmax regression), a
        :class:`Net` from :func:`mlp` / :func:`softmax_regression` (trained in place), or any
        ``nn.Module`` producing logits (trained from its current weights).
    num_epochs, batch_size:
        Passes over the training data; examples per minibatch (default: the training loader's
        batch size, else 32). The last minibatch of an epoch may be smaller.
    states:
        For a trainer: its state, or a function ``init_states(params)`` that builds it from the
        model's parameters. Not used by the other kinds.
    seed:
        Fixes the initial weights of a Net and the minibatch order (:func:`seed_streams`).
        ``None`` keeps the model's weights and shuffles at random.
    lr_schedule:
        A function ``t -> multiplier``: update ``t`` (0, 1, 2, ...) uses ``lr * lr_schedule(t)``
        (any function of the step, such as those of ``d2lmini.schedules``).
    dtype:
        ``torch.float64`` (default: the from-scratch rules and the sweeps compute in float64) or
        ``torch.float32``.
    plot, verbose:
        Draw the curves live with :class:`~d2lmini.plotting.Animator`; print the final numbers.

    Returns
    -------
    dict
        ``{'epoch': [0, 1, ...], 'train_loss': [...], 'train_acc': [...], 'val_loss': [...],
        'val_acc': [...], 'diverged_at': None or epoch, 'seconds': training time}``. Entry 0
        is the untrained model; entry k is measured after epoch k on the *whole* training and
        validation sets (mean cross-entropy and accuracy). A run whose loss stops being finite
        is not an error: it stops, ``diverged_at`` is that epoch, and the remaining entries
        are nan.

    Example::

        hist = d2l.train_classifier(torch.optim.SGD, {'lr': 0.1, 'momentum': 0.9}, 'digits',
                                    num_epochs=10)
        hist = d2l.train_classifier('adam', {'lr': 1e-3}, d2l.load_data_iris(16),
                                    model=d2l.mlp(4, 6, 3, activation='sigmoid'))
    """
    with one_thread():
        return _train_classifier(optimizer, hyperparams, data, model, num_epochs, batch_size,
                                 states, seed, lr_schedule, dtype, plot, verbose)


def _train_classifier(optimizer, hyperparams, data, model, num_epochs, batch_size, states, seed,
                      lr_schedule, dtype, plot, verbose):
    import torch
    import torch.nn.functional as F

    kind = _optimizer_kind(optimizer)
    if hyperparams is None:
        hyperparams = {}
    if not isinstance(hyperparams, dict):
        raise TypeError(f"hyperparams must be a dict such as {{'lr': 0.1}}, got {hyperparams!r}")
    if "lr" in hyperparams:
        _check_number(hyperparams["lr"], "hyperparams['lr']")
    num_epochs = _check_positive("num_epochs", num_epochs)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}")
    lr_schedule = _check_schedule(lr_schedule)
    dtype = dtype or torch.float64
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")

    Xtr, ytr, Xva, yva, num_classes, loader_bs = classification_tensors(data, dtype)
    batch_size = _check_positive("batch_size", batch_size if batch_size is not None else (loader_bs or 32))
    net = _build_model(model, Xtr.shape[1], num_classes, seed, dtype)
    params = list(net.parameters())
    order_rng = seed_streams(seed)[1] if seed is not None else np.random.default_rng()

    if kind == "torch":
        try:
            opt = optimizer(params, **hyperparams)
        except TypeError as exc:
            raise TypeError(f"could not build {optimizer.__name__} with {hyperparams}: {exc}") from None
        base_lrs = [group["lr"] for group in opt.param_groups]
    elif kind == "rule" and isinstance(optimizer, Mapping):  # one rule per parameter
        names = [name for name, _ in net.named_parameters()]
        parts = per_parameter_rules(optimizer, names, [p.ndim for p in params], hyperparams)
        rule_states = [{} for _ in params]
    elif kind == "rule":
        from .rules import hyperparameters_of

        fn = resolve_rule(optimizer)
        known = hyperparameters_of(fn)
        unknown = sorted(set(hyperparams) - set(known))
        if unknown:
            raise TypeError(f"{fn.__name__} has no hyperparameter(s) {unknown}; it takes {sorted(known)}")
        step_fn = rule_trainer(fn)
        rule_states = [{} for _ in params]
        base_lr = hyperparams.get("lr", known.get("lr", (None,))[0])
    else:
        if callable(states) and not isinstance(states, torch.Tensor):
            states = states(params)
        if lr_schedule is not None and "lr" not in hyperparams:
            raise ValueError("lr_schedule needs a base learning rate: put 'lr' in hyperparams")
        base_lr = hyperparams.get("lr")

    history: Dict[str, Any] = {"epoch": [], **{m: [] for m in METRICS}}

    def record(epoch: int) -> bool:
        tl, ta = _evaluate_net(net, Xtr, ytr)
        vl, va = _evaluate_net(net, Xva, yva)
        history["epoch"].append(epoch)
        for key, v in zip(METRICS, (tl, ta, vl, va)):
            history[key].append(v)
        return math.isfinite(tl) and math.isfinite(vl)

    record(0)
    curves = None
    if plot:
        top = max(1.05, 1.15 * max(history["train_loss"][0], history["val_loss"][0]))
        curves = _ClassifierCurves(num_epochs, top if math.isfinite(top) else 3.0)
        curves.add(0, history["train_loss"][0], history["val_loss"][0], history["val_acc"][0])

    n = Xtr.shape[0]
    t = 0
    diverged_at: Optional[int] = None
    seconds = 0.0
    if isinstance(net, torch.nn.Module):
        net.train()
    try:
        for epoch in range(1, num_epochs + 1):
            start_time = time.perf_counter()
            perm = torch.from_numpy(order_rng.permutation(n))
            for start in range(0, n, batch_size):
                idx = perm[start:start + batch_size]
                l = F.cross_entropy(net(Xtr[idx]), ytr[idx])
                if not math.isfinite(l.item()):
                    diverged_at = epoch
                    break
                for p in params:
                    p.grad = None
                l.backward()
                m = schedule_factor(lr_schedule, t)
                if kind == "torch":
                    if lr_schedule is not None:
                        for group, lr0 in zip(opt.param_groups, base_lrs):
                            group["lr"] = lr0 * m
                    opt.step()
                elif kind == "rule" and isinstance(optimizer, Mapping):
                    with np.errstate(all="ignore"):
                        for p, state, (fn_p, known_p, own_p) in zip(params, rule_states, parts):
                            x, g = _as_matrix_view(p), _as_matrix_view(p.grad)
                            x[...] = fn_p(x, g, state, **_part_hyperparams(
                                known_p, hyperparams, own_p, None if lr_schedule is None else m))
                elif kind == "rule":
                    hp = hyperparams if lr_schedule is None else dict(hyperparams, lr=base_lr * m)
                    step_fn(params, rule_states, hp)
                else:
                    if lr_schedule is not None:
                        hyperparams["lr"] = base_lr * m
                    with np.errstate(all="ignore"):
                        optimizer(params, states, hyperparams)
                t += 1
            seconds += time.perf_counter() - start_time
            if diverged_at is None and not record(epoch):
                diverged_at = epoch
            if diverged_at is not None:
                _mark_diverged(history, diverged_at, num_epochs)
                if curves is not None:
                    curves.add(epoch, math.nan, math.nan, math.nan)
                break
            if curves is not None:
                curves.add(epoch, history["train_loss"][-1], history["val_loss"][-1], history["val_acc"][-1])
    finally:
        if kind == "trainer" and lr_schedule is not None:
            hyperparams["lr"] = base_lr
    history["diverged_at"] = diverged_at
    history["seconds"] = seconds
    if verbose:
        last = {k: history[k][-1] for k in METRICS}
        if diverged_at is None:
            print(f"train loss {_num3(last['train_loss'])}, val loss {_num3(last['val_loss'])}, "
                  f"val acc {last['val_acc']:.3f}")
            print(f"{n * num_epochs / max(seconds, 1e-9):.1f} examples/sec")
        else:
            print(f"diverged in epoch {diverged_at}: the loss is no longer finite; "
                  "try a smaller learning rate")
    if curves is not None:
        curves.finish(diverged_at)
    return history


def _num3(v: float) -> str:
    """d2l's 3 decimals, or 3 significant digits for a blown-up loss."""
    return f"{v:.3f}" if abs(v) < 1e4 else f"{v:.3g}"


def _mark_diverged(history: Dict[str, Any], diverged_at: int, num_epochs: int) -> None:
    """Entries from epoch ``diverged_at`` on become nan (one per epoch up to ``num_epochs``)."""
    for key in METRICS:
        del history[key][diverged_at:]
    del history["epoch"][diverged_at:]
    for epoch in range(diverged_at, num_epochs + 1):
        history["epoch"].append(epoch)
        for key in METRICS:
            history[key].append(math.nan)

"""From-scratch update rules in NumPy, proven against ``torch.optim``.

A *rule* is a plain function::

    def rule(x, g, state, *, lr=0.1, ...) -> new_x

* ``x`` is the current point (a float64 NumPy array of any shape), ``g`` the gradient at ``x``
  (same shape). Neither is modified in place.
* ``state`` is a dict, empty on the first call; the rule keeps its buffers in it (for example
  ``state["v"]``) and a step counter ``state["t"]`` where it needs one.
* every hyperparameter is a keyword argument with a default.
* the rule returns the new point as a new array.

Array hyperparameters (batched sweeps): every numeric hyperparameter may also be a NumPy array
that broadcasts against ``x``, one value per configuration. :mod:`d2lmini.sweeps` stacks C
configurations of a network into parameters of shape ``(C, fan_in, fan_out)`` (biases
``(C, 1, n)``) and passes, say, ``lr`` as an array of shape ``(C, 1, 1)``; every entry is checked
as a scalar would be, and the rule's arithmetic then runs for all C configurations at once, giving
for each exactly what the scalar call gives. So the math of a rule lives here once, for single
runs and sweeps alike. The rules follow two conventions for this:

* no Python ``if`` on a hyperparameter's value inside the math (an array has no single truth
  value): such branches are either arithmetic that is exact in the special case (``g + 0 * x``
  is ``g``) or an ``np.any`` test with ``np.where`` picking, per entry, what the scalar branch
  would have computed (:func:`_select`);
* a rule that is not elementwise (one that factors or orthogonalises a matrix) acts on the last
  two axes, so the leading axes are configurations. Boolean switches (``nesterov``, ``amsgrad``,
  ...) stay plain ``True``/``False``: one sweep per value.

Sliders: an explorer builds one slider per numeric keyword hyperparameter and one checkbox per
boolean one. The range of each comes from ``rule.ranges`` (set with :func:`hyperparams`) or, for
an undecorated function, from :data:`DEFAULT_RANGES` by name. So a chapter can hand its own
from-scratch rule to an explorer::

    @d2l.hyperparams(eta=(0.0, 1.0), beta=(0.0, 0.99))
    def momentum(x, g, state, eta=0.4, beta=0.5):
        state["v"] = beta * state.get("v", 0.0) + g
        return x - eta * state["v"]
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

__all__ = [
    "Range",
    "hyperparams",
    "DEFAULT_RANGES",
    "hyperparameters_of",
    "check_lr",
    "gd",
    "sgd",
    "momentum",
    "nesterov",
    "momentum_sutskever",
    "momentum_ema",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "nadam",
    "radam",
    "adamax",
    "adafactor",
    "muon",
    "newton_schulz",
    "NS_COEFFICIENTS",
    "lion",
    "sgd_schedulefree",
    "adamw_schedulefree",
    "newton",
    "clip_grad_norm",
    "clip_grad_value",
    "RULES",
    "get_rule",
]


@dataclass(frozen=True)
class Range:
    """The slider range of one hyperparameter. ``log=True`` gives a log-scale slider."""

    low: float
    high: float
    log: bool = False
    step: Optional[float] = None
    integer: bool = False

    def __post_init__(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"a range needs finite low < high, got ({self.low}, {self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")

    def clip(self, value: float) -> float:
        return min(max(float(value), self.low), self.high)


RangeLike = Union[Range, Tuple[float, float], Tuple[float, float, str]]


def _as_range(spec: RangeLike) -> Range:
    if isinstance(spec, Range):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        return Range(float(spec[0]), float(spec[1]))
    if isinstance(spec, tuple) and len(spec) == 3 and spec[2] == "log":
        return Range(float(spec[0]), float(spec[1]), log=True)
    raise TypeError(
        f"a range must be Range(...), (low, high) or (low, high, 'log'); got {spec!r}"
    )


#: Slider ranges used for undecorated rules, looked up by hyperparameter name.
DEFAULT_RANGES: Dict[str, Range] = {
    "lr": Range(0.0, 2.0, step=0.01),
    "eta": Range(0.0, 2.0, step=0.01),
    "momentum": Range(0.0, 0.99, step=0.01),
    "beta": Range(0.0, 0.99, step=0.01),
    "dampening": Range(0.0, 0.99, step=0.01),
    "gamma": Range(0.0, 0.999, step=0.001),
    "alpha": Range(0.0, 0.999, step=0.001),
    "rho": Range(0.0, 0.999, step=0.001),
    "beta1": Range(0.0, 0.99, step=0.01),
    "beta2": Range(0.0, 0.9999, step=0.0001),
    "eps": Range(1e-10, 1.0, log=True),
    "weight_decay": Range(0.0, 1.0, step=0.01),
    "lr_decay": Range(0.0, 1.0, step=0.01),
    "initial_accumulator_value": Range(0.0, 1.0, step=0.01),
    "damping": Range(0.0, 10.0, step=0.1),
}


def hyperparams(**ranges: RangeLike) -> Callable[[Callable], Callable]:
    """Declare slider ranges for a rule's keyword hyperparameters.

    ``@hyperparams(lr=(0, 1), eps=(1e-10, 1, "log"))``. Names must be keyword parameters of
    the decorated function.
    """

    def decorate(fn: Callable) -> Callable:
        params = inspect.signature(fn).parameters
        unknown = [name for name in ranges if name not in params]
        if unknown:
            raise ValueError(
                f"{fn.__name__} has no keyword hyperparameter(s) {unknown}; it has {list(params)[3:]}"
            )
        merged = dict(getattr(fn, "ranges", {}))
        merged.update({name: _as_range(spec) for name, spec in ranges.items()})
        fn.ranges = merged
        return fn

    return decorate


def hyperparameters_of(rule: Callable) -> Dict[str, Tuple[Any, Optional[Range]]]:
    """The keyword hyperparameters of ``rule``: ``{name: (default, range or None)}``.

    The first three parameters (x, g, state) are skipped, and so are parameters the explorer
    fills in itself (``hess``). Booleans have no range. A numeric hyperparameter without a
    declared or default range gets ``None`` (the explorer then shows no slider for it).
    """
    if not callable(rule):
        raise TypeError(f"a rule must be a function rule(x, g, state, **hyperparams), got {rule!r}")
    params = list(inspect.signature(rule).parameters.values())
    if len(params) < 3:
        raise TypeError(
            f"{getattr(rule, '__name__', rule)} must take (x, g, state, **hyperparameters); "
            f"it takes ({', '.join(p.name for p in params)})"
        )
    declared = getattr(rule, "ranges", {})
    out: Dict[str, Tuple[Any, Optional[Range]]] = {}
    for p in params[3:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("hess",):
            continue
        if p.default is inspect.Parameter.empty:
            raise TypeError(f"hyperparameter {p.name!r} of {rule.__name__} needs a default value")
        default = p.default
        if isinstance(default, bool):
            out[p.name] = (default, None)
        elif isinstance(default, (int, float)):
            out[p.name] = (default, declared.get(p.name) or DEFAULT_RANGES.get(p.name))
        else:
            out[p.name] = (default, None)
    return out


def _hp_array(name: str, value: Any) -> Optional[np.ndarray]:
    """``value`` as a float64 array if it is a NumPy array with at least one axis, else None.

    Array hyperparameters hold one value per configuration of a batched sweep; see the module
    docstring. A 0-d array counts as a number.
    """
    if not (isinstance(value, np.ndarray) and value.ndim > 0):
        return None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None


def check_lr(lr: Union[float, np.ndarray], name: str = "lr") -> Union[float, np.ndarray]:
    """Reject a negative or non-finite learning rate with a message that says what to do.

    A number comes back as a float; a NumPy array (one lr per configuration) is checked entry by
    entry and comes back as a float64 array.
    """
    arr = _hp_array(name, lr)
    if arr is not None:
        if not np.all(np.isfinite(arr) & (arr >= 0)):
            raise ValueError(f"{name} must be a finite number >= 0 in every entry, got {lr!r}")
        return arr
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {lr!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {lr!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Checks shared by the rules


# Each accepts a number (returned as a float) or a NumPy array of them (every entry checked, the
# array returned as float64): see "Array hyperparameters" in the module docstring.


def _number(name: str, value: Any) -> Union[float, np.ndarray]:
    arr = _hp_array(name, value)
    if arr is not None:
        return arr
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None


def _check_unit(name: str, value: Any, closed: bool = False) -> Union[float, np.ndarray]:
    """``value`` in [0, 1), or in [0, 1] when ``closed`` (every entry of an array)."""
    v = _number(name, value)
    if isinstance(v, float):  # plain Python for a number: the explorers call rules 100s of times
        ok = 0.0 <= v <= 1.0 if closed else 0.0 <= v < 1.0
    else:
        ok = bool(np.all((0.0 <= v) & ((v <= 1.0) if closed else (v < 1.0))))
    if not ok:
        every = "" if isinstance(v, float) else " in every entry"
        raise ValueError(f"{name} must be in [0, 1{']' if closed else ')'}{every}, got {value!r}")
    return v


def _check_nonneg(name: str, value: Any) -> Union[float, np.ndarray]:
    v = _number(name, value)
    if isinstance(v, float):
        ok = math.isfinite(v) and v >= 0.0
    else:
        ok = bool(np.all(np.isfinite(v) & (v >= 0.0)))
    if not ok:
        every = "" if isinstance(v, float) else " in every entry"
        raise ValueError(f"{name} must be a finite number >= 0{every}, got {value!r}")
    return v


def _any(cond: Any) -> bool:
    """``cond`` for a Python bool (a scalar hyperparameter), ``np.any(cond)`` for an array."""
    return cond if isinstance(cond, bool) else bool(np.any(cond))


def _scalar(name: str, value: Any) -> Any:
    """Refuse an array where only one number makes sense (clipping thresholds, Newton's damping
    with a matrix Hessian)."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise TypeError(f"{name} must be a single number here, got an array of shape {value.shape}")
    return value


def _select(cond: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` where ``cond`` holds, else ``b``: the array form of ``a if cond else b``.

    With a scalar ``cond`` (or one that holds everywhere) this is ``a`` itself, bit for bit, so
    the scalar behaviour of a rule does not change.
    """
    if isinstance(cond, bool):
        return a if cond else b
    if np.all(cond):
        return a
    if not np.any(cond):
        return b
    return np.where(cond, a, b)


def _prepare(x: Any, g: Any, state: Any, shapes: Optional[Dict[str, tuple]] = None
             ) -> Tuple[np.ndarray, np.ndarray]:
    """x and g as float64 arrays of the same shape; the buffers in ``state`` must match them.

    ``shapes`` names the buffers that are not shaped like x (Adafactor's row and column factors)
    and the shape each must have.
    """
    x = np.asarray(x, dtype=float)
    g = np.asarray(g, dtype=float)
    if g.shape != x.shape:
        raise ValueError(f"the gradient g has shape {g.shape} but x has shape {x.shape}; they must match")
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict (start with {{}}), got {type(state).__name__}")
    shapes = shapes or {}
    for key, buf in state.items():
        if isinstance(buf, (np.ndarray, np.generic)) and np.shape(buf) != shapes.get(key, x.shape):
            raise ValueError(
                f"state[{key!r}] has shape {np.shape(buf)} but x has shape {x.shape}; "
                "pass a fresh state dict {} when x changes shape"
            )
    return x, g


def _check_interval(name: str, value: Any, low: float = -math.inf, high: float = math.inf, *,
                    low_open: bool = False, high_open: bool = False) -> Union[float, np.ndarray]:
    """A finite number in the interval from ``low`` to ``high`` (closed ends unless ``*_open``);
    an array is checked entry by entry."""
    v = _number(name, value)
    if isinstance(v, float):
        ok = math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    else:
        ok = bool(np.all(np.isfinite(v) & ((v > low) if low_open else (v >= low))
                         & ((v < high) if high_open else (v <= high))))
    if not ok:
        if high == math.inf:
            what = f"> {low}" if low_open else f">= {low}"
        elif low == -math.inf:
            what = f"< {high}" if high_open else f"<= {high}"
        else:
            what = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number {what}, got {value!r}")
    return v


def _check_int(name: str, value: Any, low: int = 0, high: Optional[int] = None
               ) -> Union[int, np.ndarray]:
    """A whole number (an int, or a float with no fraction) with low <= value (< high); an
    array (one value per configuration) is checked entry by entry and returned as float64."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    v = _number(name, value)
    every = "" if isinstance(v, float) else " in every entry"
    arr = np.asarray(v)
    if not bool(np.all(np.isfinite(arr) & (arr == np.round(arr)))):
        raise TypeError(f"{name} must be a whole number{every}, got {value!r}")
    if bool(np.any(arr < low)) or (high is not None and bool(np.any(arr >= high))):
        bound = f">= {low}" if high is None else f"in {low}..{high - 1}"
        raise ValueError(f"{name} must be a whole number {bound}{every}, got {value!r}")
    return int(v) if isinstance(v, float) else v


def _lerp(a, b, w):
    """a + w (b - a), computed as ``torch.lerp`` does (exactly b when w = 1)."""
    diff = b - a
    return np.where(np.abs(w) < 0.5, a + w * diff, b - diff * (1 - w))


def _full(value, x: np.ndarray) -> np.ndarray:
    """``value`` (a number, or an array that broadcasts to x) as a new array shaped like x."""
    return np.zeros(x.shape) + value


def _flip_and_decay(x: np.ndarray, g: np.ndarray, lr: Any, weight_decay: Any, maximize: bool,
                    decoupled: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """torch.optim's common first lines: g <- -g if ``maximize`` (first, so decay still shrinks
    x), then weight decay, coupled (L2: g <- g + weight_decay x) or ``decoupled``
    (x <- x (1 - lr weight_decay), AdamW). Exact, bit for bit, in entries without decay."""
    if maximize:
        g = -g
    if _any(weight_decay != 0):  # g + 0 x is g and x (1 - lr 0) is x: exact without decay
        if decoupled:
            x = x * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * x
    return x, g


def _buffer(state: dict, key: str, x: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """The buffer ``state[key]``, or an array of ``fill`` shaped like x on the first step."""
    return state.get(key, np.full(x.shape, fill))


def _step(state: dict) -> int:
    """Advance and return the step counter t = 1, 2, ..."""
    state["t"] = state.get("t", 0) + 1
    return state["t"]


_LR2 = Range(0.0, 2.0, step=0.01)
_LR1 = Range(0.0, 1.0, step=0.01)
_MU = Range(0.0, 0.99, step=0.01)
_EPS = Range(1e-10, 1.0, log=True)


# ---------------------------------------------------------------------------------------------
# Gradient descent and momentum


@hyperparams(lr=_LR2)
def gd(x, g, state, lr=0.1):
    r"""Gradient descent: x_t = x_{t-1} - lr * g_t.

    Same as ``torch.optim.SGD(lr=lr)``. Keeps no state.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    return x - lr * g


@hyperparams(lr=_LR2, momentum=_MU, dampening=Range(0.0, 0.99, step=0.01))
def sgd(x, g, state, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
        maximize=False):
    r"""``torch.optim.SGD``, every option.

        g <- -g                            if maximize
        g <- g + weight_decay * x          (L2 penalty, coupled)
        b_1 = g_1;  b_t = mu b_{t-1} + (1 - dampening) g_t      (only if mu > 0)
        d = g + mu b  if nesterov  else  b
        x_t = x_{t-1} - lr d

    Note that the first step sets the buffer to g itself: dampening starts at step 2.
    ``nesterov=True`` needs momentum > 0 and dampening = 0, as in torch.
    Buffer: ``state["v"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    momentum = _check_unit("momentum", momentum)
    dampening = _check_unit("dampening", dampening, closed=True)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    if nesterov and (_any(momentum <= 0) or _any(dampening != 0)):
        raise ValueError("nesterov=True requires momentum > 0 and dampening = 0 (as torch.optim.SGD)")
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize)
    if _any(momentum != 0):
        if "v" not in state:
            state["v"] = g.copy()
        else:
            state["v"] = momentum * state["v"] + (1 - dampening) * g
        # torch ignores the buffer (and dampening) when momentum = 0: so do entries with mu = 0
        g = _select(momentum != 0, g + momentum * state["v"] if nesterov else state["v"], g)
    return x - lr * g


@hyperparams(lr=_LR2, momentum=_MU)
def momentum(x, g, state, lr=0.4, momentum=0.5):
    r"""Heavy-ball momentum in the PyTorch / d2l form (lr outside the velocity).

        v_t = mu v_{t-1} + g_t,    v_0 = 0
        x_t = x_{t-1} - lr v_t

    Same as ``torch.optim.SGD(lr=lr, momentum=mu)``. With a constant lr it is Polyak's heavy ball
    x_{t+1} = x_t - lr g_t + mu (x_t - x_{t-1}). Buffer: ``state["v"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    mu = _check_unit("momentum", momentum)
    state["v"] = mu * _buffer(state, "v", x) + g
    return x - lr * state["v"]


@hyperparams(lr=_LR2, momentum=_MU)
def nesterov(x, g, state, lr=0.3, momentum=0.5):
    r"""Nesterov momentum in the PyTorch form (``torch.optim.SGD(nesterov=True)``).

        v_t = mu v_{t-1} + g_t,    v_0 = 0
        x_t = x_{t-1} - lr (g_t + mu v_t)

    This is Sutskever et al.'s (2013) NAG written in the look-ahead point (Bengio et al. 2013):
    x here is theta + mu * velocity, so g is already the look-ahead gradient. On a quadratic with
    curvature L it is stable only for lr L < 2(1 + mu)/(1 + 2 mu), a smaller bound than heavy
    ball's 2(1 + mu). Buffer: ``state["v"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    mu = _check_unit("momentum", momentum)
    state["v"] = mu * _buffer(state, "v", x) + g
    return x - lr * (g + mu * state["v"])


@hyperparams(lr=_LR2, momentum=_MU)
def momentum_sutskever(x, g, state, lr=0.4, momentum=0.5):
    r"""Classical momentum as in Sutskever et al. (2013), eqs. (1)-(2) (lr inside the velocity).

        v_t = mu v_{t-1} - lr g_t,   v_0 = 0
        x_t = x_{t-1} + v_t

    Equal to :func:`momentum` (torch) while lr is constant. After an lr change torch rescales the
    whole accumulated velocity at once; this form changes only the new contributions.
    Buffer: ``state["v"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    mu = _check_unit("momentum", momentum)
    state["v"] = mu * _buffer(state, "v", x) - lr * g
    return x + state["v"]


@hyperparams(lr=_LR2, beta=_MU)
def momentum_ema(x, g, state, lr=0.4, beta=0.5):
    r"""Momentum with an exponential moving average of the gradients ("EMA form").

        v_t = beta v_{t-1} + (1 - beta) g_t,   v_0 = 0
        x_t = x_{t-1} - lr v_t

    This is *not* what ``torch.optim.SGD(momentum=beta)`` does (a common claim in tutorials is that it is):
    it equals ``SGD(lr=lr * (1 - beta), momentum=beta)``, so for beta = 0.9 the same lr gives a
    step 10x smaller. Buffer: ``state["v"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    beta = _check_unit("beta", beta)
    state["v"] = beta * _buffer(state, "v", x) + (1 - beta) * g
    return x - lr * state["v"]


# ---------------------------------------------------------------------------------------------
# Adaptive learning rates


@hyperparams(lr=_LR2, eps=_EPS)
def adagrad(x, g, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, eps_inside=False, maximize=False):
    r"""AdaGrad as ``torch.optim.Adagrad`` (Duchi, Hazan & Singer 2011, diagonal version).

        g <- -g if maximize;   g <- g + weight_decay * x
        s_t = s_{t-1} + g_t^2,              s_0 = initial_accumulator_value
        clr = lr / (1 + (t - 1) lr_decay)
        x_t = x_{t-1} - clr * g_t / (sqrt(s_t) + eps)        (torch: eps outside the root)
        x_t = x_{t-1} - clr * g_t / sqrt(s_t + eps)          (eps_inside=True: d2l, eps = 1e-6)

    Buffers: ``state["s"]``, ``state["t"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    lr_decay = _check_nonneg("lr_decay", lr_decay)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    s0 = _check_nonneg("initial_accumulator_value", initial_accumulator_value)
    eps = _check_nonneg("eps", eps)
    t = _step(state)
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize)
    state["s"] = _buffer(state, "s", x, fill=s0) + g * g
    clr = lr / (1 + (t - 1) * lr_decay)
    denom = np.sqrt(state["s"] + eps) if eps_inside else np.sqrt(state["s"]) + eps
    return x - clr * g / denom


@hyperparams(lr=_LR2, alpha=Range(0.0, 0.999, step=0.001), eps=_EPS, momentum=_MU)
def rmsprop(x, g, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, eps_inside=False, maximize=False):
    r"""RMSProp as ``torch.optim.RMSprop`` (Tieleman & Hinton 2012; centered: Graves 2013).

        g <- -g if maximize;   g <- g + weight_decay * x
        s_t = alpha s_{t-1} + (1 - alpha) g_t^2                 (s_0 = 0, no bias correction)
        centered:  m_t = alpha m_{t-1} + (1 - alpha) g_t,   s~ = s_t - m_t^2   (else s~ = s_t)
        d = sqrt(s~) + eps          (torch: eps outside the root)
        d = sqrt(s~ + eps)          (eps_inside=True: d2l's form, with alpha = 0.9, eps = 1e-6)
        momentum = 0:   x_t = x_{t-1} - lr g_t / d
        momentum > 0:   b_t = mu b_{t-1} + g_t / d,   x_t = x_{t-1} - lr b_t

    Buffers: ``state["s"]``, ``state["m"]`` (centered), ``state["b"]`` (momentum).
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    alpha = _check_unit("alpha", alpha, closed=True)
    eps = _check_nonneg("eps", eps)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    mu = _check_unit("momentum", momentum)
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize)
    state["s"] = alpha * _buffer(state, "s", x) + (1 - alpha) * g * g
    s = state["s"]
    if centered:
        state["m"] = alpha * _buffer(state, "m", x) + (1 - alpha) * g
        s = s - state["m"] ** 2
    denom = np.sqrt(s + eps) if eps_inside else np.sqrt(s) + eps
    if _any(mu > 0):
        state["b"] = mu * _buffer(state, "b", x) + g / denom
        # entries with mu = 0 take torch's momentum-free step (lr * g / d, rounded as torch does)
        return _select(mu > 0, x - lr * state["b"], x - lr * g / denom)
    return x - lr * g / denom


@hyperparams(lr=Range(0.0, 10.0, step=0.1), rho=Range(0.0, 0.999, step=0.001), eps=_EPS)
def adadelta(x, g, state, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    r"""Adadelta as ``torch.optim.Adadelta`` (Zeiler 2012, Algorithm 1, plus torch's lr).

        g <- -g if maximize;   g <- g + weight_decay * x
        s_t = rho s_{t-1} + (1 - rho) g_t^2                     (squared gradients)
        dx_t = sqrt(u_{t-1} + eps) / sqrt(s_t + eps) * g_t      (eps inside both roots)
        u_t = rho u_{t-1} + (1 - rho) dx_t^2                    (squared updates, unscaled)
        x_t = x_{t-1} - lr dx_t

    Zeiler's paper has no learning rate (lr = 1); torch's lr only scales the applied step.
    Buffers: ``state["s"]``, ``state["u"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    rho = _check_unit("rho", rho, closed=True)
    eps = _check_nonneg("eps", eps)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize)
    state["s"] = rho * _buffer(state, "s", x) + (1 - rho) * g * g
    u = _buffer(state, "u", x)
    delta = np.sqrt(u + eps) / np.sqrt(state["s"] + eps) * g
    state["u"] = rho * u + (1 - rho) * delta * delta
    return x - lr * delta


@hyperparams(lr=_LR1, beta1=_MU, beta2=Range(0.0, 0.9999, step=0.0001), eps=_EPS)
def adam(x, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
         decoupled_weight_decay=False, bias_correction=True, maximize=False):
    r"""Adam as ``torch.optim.Adam`` (Kingma & Ba 2015, Algorithm 1).

        g <- -g if maximize
        g <- g + weight_decay * x          (L2, coupled)   or, if decoupled_weight_decay,
        x <- x (1 - lr weight_decay)       (AdamW, Loshchilov & Hutter 2019, decay times full lr)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        amsgrad:  v_t <- max(v^max_{t-1}, v_t)   (max of the raw v, *then* bias correction, as torch)
        x_t = x_{t-1} - lr * [m_t / (1 - beta1^t)] / (sqrt(v_t / (1 - beta2^t)) + eps)

    ``bias_correction=False`` is a teaching switch with no torch equivalent:
    x_t = x_{t-1} - lr m_t / (sqrt(v_t) + eps). Buffers: ``state["m"]``, ``state["v"]``,
    ``state["vmax"]`` (amsgrad), ``state["t"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    beta1 = _check_unit("beta1", beta1)
    beta2 = _check_unit("beta2", beta2)
    eps = _check_nonneg("eps", eps)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    t = _step(state)
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize, decoupled_weight_decay)
    state["m"] = beta1 * _buffer(state, "m", x) + (1 - beta1) * g
    state["v"] = beta2 * _buffer(state, "v", x) + (1 - beta2) * g * g
    v = state["v"]
    if amsgrad:
        state["vmax"] = np.maximum(_buffer(state, "vmax", x), v)
        v = state["vmax"]
    if not bias_correction:
        return x - lr * state["m"] / (np.sqrt(v) + eps)
    m_hat = state["m"] / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps)


@hyperparams(lr=_LR1, beta1=_MU, beta2=Range(0.0, 0.9999, step=0.0001), eps=_EPS)
def adamw(x, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
          amsgrad=False, maximize=False):
    r"""AdamW as ``torch.optim.AdamW``: Adam with decoupled weight decay.

        x <- x (1 - lr weight_decay)       then the Adam step of :func:`adam` (no L2 term in g)

    torch multiplies the decay by the full lr, so torch's weight_decay is Loshchilov & Hutter's
    lambda divided by the base lr.
    """
    return adam(x, g, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                amsgrad=amsgrad, decoupled_weight_decay=True, maximize=maximize)


_BETA2 = Range(0.0, 0.9999, step=0.0001)


@hyperparams(lr=_LR1, beta1=_MU, beta2=_BETA2, eps=_EPS, momentum_decay=Range(0.0, 0.02, step=0.0005))
def nadam(x, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False, maximize=False):
    r"""NAdam as ``torch.optim.NAdam`` (Dozat 2016, "Incorporating Nesterov momentum into Adam").

        g <- -g if maximize
        g <- g + weight_decay * x          (L2, coupled)   or, if decoupled_weight_decay,
        x <- x (1 - lr weight_decay)       ("NAdamW", decay times the full lr)
        mu_t = beta1 (1 - 0.5 * 0.96^(t momentum_decay))       (the momentum schedule)
        P_t = mu_1 mu_2 ... mu_t
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        d_t = sqrt(v_t / (1 - beta2^t)) + eps
        x_t = x_{t-1} - lr (1 - mu_t) / (1 - P_t) * g_t / d_t
                      - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m_t / d_t

    The Nesterov look-ahead is the second term: it already uses next step's momentum mu_{t+1}.
    The schedule mu_t is Dozat's warming momentum beta1 (1 - 0.5 * 0.96^(t/250)): torch's
    momentum_decay psi = 0.004 is the 1/250; the running average m_t keeps the constant beta1.
    With ``momentum_decay=0`` mu_t = beta1 / 2 at every step. Dozat's paper has no weight decay;
    ``decoupled_weight_decay`` is torch's NAdamW. torch keeps P_t in the default dtype (float32
    unless you set float64 as the default, which moves the result by ~4e-11 after 300 steps);
    the test sets float64, the form here. Buffers: ``state["m"]``, ``state["v"]``,
    ``state["mu_product"]`` (P_t), ``state["t"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    beta1 = _check_unit("beta1", beta1)
    beta2 = _check_unit("beta2", beta2)
    eps = _check_nonneg("eps", eps)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    momentum_decay = _check_nonneg("momentum_decay", momentum_decay)
    t = _step(state)
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize, decoupled_weight_decay)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    state["mu_product"] = _buffer(state, "mu_product", x, fill=1.0) * mu
    prod = state["mu_product"]
    state["m"] = _lerp(_buffer(state, "m", x), g, 1 - beta1)
    state["v"] = beta2 * _buffer(state, "v", x) + (1 - beta2) * g * g
    denom = np.sqrt(state["v"] / (1 - beta2**t)) + eps
    x = x + (-lr * (1.0 - mu) / (1.0 - prod)) * (g / denom)
    return x + (-lr * mu_next / (1.0 - prod * mu_next)) * (state["m"] / denom)


@hyperparams(lr=_LR1, beta1=_MU, beta2=_BETA2, eps=_EPS)
def radam(x, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
          decoupled_weight_decay=False, maximize=False):
    r"""RAdam as ``torch.optim.RAdam`` (Liu et al. 2020, "On the variance of the adaptive learning
    rate and beyond", Algorithm 2).

        g <- -g if maximize;   L2 (g <- g + weight_decay x) or decoupled (x <- x (1 - lr weight_decay))
        m_t = beta1 m_{t-1} + (1 - beta1) g_t,        m^_t = m_t / (1 - beta1^t)
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)          (length of the approximated SMA)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            x_t = x_{t-1} - lr m^_t r_t sqrt(1 - beta2^t) / (sqrt(v_t) + eps)
        else:
            x_t = x_{t-1} - lr m^_t                       (SGD with momentum, no adaptive step)

    Where torch differs from the paper: the paper switches on rho_t > 4 (its reference code on
    rho_t >= 5), torch on rho_t > 5. With beta2 = 0.999, rho_t is about t - 0.0005 t^2 early
    on (rho_5 = 4.996, rho_6 = 5.994): torch takes the plain momentum step for t = 1..5, the
    paper for t = 1..4. With beta2 <= 2/3, rho_inf <= 5 and torch never adapts the step.
    torch adds eps to sqrt(v_t) *uncorrected*, where Adam adds it to sqrt(v_t / (1 - beta2^t));
    the paper has no eps. Buffers: ``state["m"]``, ``state["v"]``,
    ``state["t"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    beta1 = _check_unit("beta1", beta1)
    beta2 = _check_unit("beta2", beta2)
    eps = _check_nonneg("eps", eps)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    t = _step(state)
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize, decoupled_weight_decay)
    state["m"] = _lerp(_buffer(state, "m", x), g, 1 - beta1)
    state["v"] = beta2 * _buffer(state, "v", x) + (1 - beta2) * g * g
    bias_correction2 = 1 - beta2**t
    m_hat = state["m"] / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / bias_correction2
    with np.errstate(divide="ignore", invalid="ignore"):  # the rectifier is used only where rho_t > 5
        rect = np.sqrt(np.maximum(
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 0.0))
    adaptive = bias_correction2**0.5 / (np.sqrt(state["v"]) + eps)
    return x - np.where(rho_t > 5.0, m_hat * lr * adaptive * rect, m_hat * lr)


@hyperparams(lr=_LR1, beta1=_MU, beta2=_BETA2, eps=_EPS)
def adamax(x, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, maximize=False):
    r"""Adamax as ``torch.optim.Adamax`` (Kingma & Ba 2015, section 7.1, Algorithm 2).

        g <- -g if maximize;   g <- g + weight_decay * x          (L2, coupled)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        u_t = max(beta2 u_{t-1}, |g_t| + eps)                     (infinity norm, u_0 = 0)
        x_t = x_{t-1} - lr / (1 - beta1^t) * m_t / u_t

    Where torch differs from the paper: the paper's u_t = max(beta2 u_{t-1}, |g_t|) has no eps
    (and divides by zero where every gradient so far was 0); torch adds eps to |g_t| inside the
    max. u_t needs no bias correction (the max is not biased towards 0). Buffers: ``state["m"]``,
    ``state["u"]``, ``state["t"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    beta1 = _check_unit("beta1", beta1)
    beta2 = _check_unit("beta2", beta2)
    eps = _check_nonneg("eps", eps)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    t = _step(state)
    x, g = _flip_and_decay(x, g, lr, weight_decay, maximize)
    state["m"] = _lerp(_buffer(state, "m", x), g, 1 - beta1)
    state["u"] = np.maximum(beta2 * _buffer(state, "u", x), np.abs(g) + eps)
    with np.errstate(divide="ignore", invalid="ignore"):  # eps = 0 and g = 0: 0/0, as in torch
        return x - (lr / (1 - beta1**t)) * (state["m"] / state["u"])


# ---------------------------------------------------------------------------------------------
# Matrix-aware rules: Adafactor and Muon (they act on the last two axes of x)


def _rms(a: np.ndarray, matrix: bool) -> np.ndarray:
    """Root mean square over each matrix (last two axes, kept as 1x1) or over the whole array."""
    if matrix:
        n = a.shape[-2] * a.shape[-1]
        return np.sqrt(np.sum(a * a, axis=(-2, -1), keepdims=True)) / n**0.5
    return np.sqrt(np.sum(a * a)) / max(a.size, 1) ** 0.5


@hyperparams(lr=Range(0.0, 1.0, step=0.005), beta2_decay=Range(-1.0, 0.0, step=0.05),
             eps2=Range(1e-6, 1.0, log=True), d=Range(1.0, 10.0, step=0.1))
def adafactor(x, g, state, lr=1e-2, beta2_decay=-0.8, eps1=None, eps2=1e-3, d=1.0, weight_decay=0.0,
              maximize=False):
    r"""Adafactor as ``torch.optim.Adafactor`` (torch 2.13; Shazeer & Stern 2018, "Adafactor:
    adaptive learning rates with sublinear memory cost").

        g <- -g if maximize
        w_t = t^beta2_decay                          (= 1 - the paper's beta2hat_t = 1 - t^-0.8)
        rho_t = min(lr, 1 / sqrt(t))                 (relative step size)
        alpha_t = max(eps2, RMS(x_{t-1})) rho_t      (the step scales with the size of x)
        x <- x (1 - lr weight_decay)                 (decoupled decay, on the full lr)
        x with ndim >= 2, factored over its last two axes (an m x n matrix):
            R_t = R_{t-1} + w_t (mean_j g_ij^2 - R_{t-1})          (m x 1, row means)
            C_t = C_{t-1} + w_t (mean_i g_ij^2 - C_{t-1})          (1 x n, column means)
            V_t = R_t C_t / max(mean_i R_t, eps1)                  (rank-1 estimate of g^2)
        x with ndim <= 1 (a vector or a number), not factored:
            V_t = V_{t-1} + w_t (g_t^2 - V_{t-1})
        U_t = g_t / sqrt(max(V_t, eps1^2))
        x_t = x - alpha_t U_t / max(1, RMS(U_t) / d)               (update clipping)

    eps1 = None means the machine epsilon of float64 (2.2e-16), as torch. RMS is taken over each
    matrix (the last two axes) for ndim >= 2 and over the whole array otherwise.

    Where torch differs from the paper: the paper has no lr (it uses rho_t = min(0.01, 1/sqrt(t)));
    torch's lr caps rho_t and scales the weight decay. The paper adds eps1 to g^2 before the
    row/column means; torch clamps V_t and the row mean instead. The paper's first moment
    (beta1) is not in torch and not here.

    Stacks: for x of shape (C, m, n) every matrix is its own problem (its own RMS and clipping),
    so a stack of C matrices equals C separate runs. For ndim >= 3 this deliberately differs
    from torch, which takes RMS(x) and RMS(U) over the whole tensor; for 0-, 1- and 2-D x it is
    torch's rule exactly. A stack of C *vectors* must be passed as (C, 1, n): a 1 x n matrix has
    V_t = R_t C_t / R_t = C_t, the unfactored rule (up to round-off, while R_t >= eps1).
    Buffers: ``state["row_var"]`` (..., m, 1) and ``state["col_var"]`` (..., 1, n), or
    ``state["variance"]``; ``state["t"]``.
    """
    x = np.asarray(x, dtype=float)
    factored = x.ndim >= 2
    shapes = {"row_var": x.shape[:-1] + (1,), "col_var": x.shape[:-2] + (1, x.shape[-1])} if factored else None
    x, g = _prepare(x, g, state, shapes)
    lr = check_lr(lr)
    beta2_decay = _check_interval("beta2_decay", beta2_decay, high=0.0)
    eps1 = float(np.finfo(float).eps) if eps1 is None else _check_nonneg("eps1", eps1)
    eps2 = _check_nonneg("eps2", eps2)
    d = _check_interval("d", d, low=1.0)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    t = _step(state)
    if maximize:
        g = -g
    w = float(t) ** beta2_decay
    rho = np.minimum(lr, 1 / float(t) ** 0.5)
    alpha = np.maximum(eps2, _rms(x, factored)) * rho
    x = x * (1 - lr * weight_decay)
    if factored:
        g2 = g * g
        state["row_var"] = _lerp(state.get("row_var", np.zeros(shapes["row_var"])),
                                 np.mean(g2, axis=-1, keepdims=True), w)
        state["col_var"] = _lerp(state.get("col_var", np.zeros(shapes["col_var"])),
                                 np.mean(g2, axis=-2, keepdims=True), w)
        row_mean = np.mean(state["row_var"], axis=-2, keepdims=True)
        var = state["row_var"] * state["col_var"] / np.maximum(row_mean, eps1)
    else:
        state["variance"] = _lerp(_buffer(state, "variance", x), g * g, w)
        var = state["variance"]
    update = (1 / np.sqrt(np.maximum(var, eps1 * eps1))) * g
    denom = np.maximum(1.0, _rms(update, factored) / d)
    return x + (-alpha / denom) * update


#: torch's (and Keller Jordan's) quintic Newton-Schulz coefficients (a, b, c).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def newton_schulz(G, steps=5, coefficients=NS_COEFFICIENTS, eps=1e-7):
    r"""Orthogonalize G by Newton-Schulz as ``torch.optim.Muon`` does, in float64.

    For G (..., m, n), on the last two axes (a stack is orthogonalized matrix by matrix)::

        X_0 = G / max(||G||_F, eps)              (transposed first when m > n)
        A = X_k X_k^T,   X_{k+1} = a X_k + (b A + c A^2) X_k       (k = 0 .. steps-1)

    Each step maps every singular value s of X to p(s) = a s + b s^3 + c s^5 and keeps the
    singular vectors, so with G = U S V^T the result is U p^steps(S / ||G||_F) V^T. It
    approximates U V^T (the orthogonal "polar" factor, all singular values 1) but does not
    reach it: torch's coefficients trade accuracy for speed, pushing singular values that are
    not tiny into a band around 1, about [0.68, 1.13] after 5 steps, not onto 1 itself.
    torch runs this in bfloat16; this function keeps float64 throughout.
    """
    G = np.asarray(G, dtype=float)
    if G.ndim < 2:
        raise ValueError(f"newton_schulz needs a matrix (or a stack of matrices), got shape {G.shape}")
    steps = _check_int("ns_steps", steps, 0, 100)
    a, b, c = _check_coefficients(coefficients)
    tall = G.shape[-2] > G.shape[-1]
    X = np.swapaxes(G, -1, -2) if tall else G
    X = X / np.maximum(np.sqrt(np.sum(X * X, axis=(-2, -1), keepdims=True)), eps)
    for _ in range(steps):
        A = X @ np.swapaxes(X, -1, -2)
        X = a * X + (b * A + c * (A @ A)) @ X
    return np.swapaxes(X, -1, -2) if tall else X


def _check_coefficients(coefficients) -> Tuple[float, float, float]:
    try:
        values = tuple(coefficients)
    except TypeError:
        values = ()
    if len(values) != 3:
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {coefficients!r}")
    return tuple(_number("ns_coefficients", v) for v in values)  # type: ignore[return-value]


_ADJUST_LR = (None, "original", "match_rms_adamw")


@hyperparams(lr=Range(1e-4, 1.0, log=True), weight_decay=Range(0.0, 1.0, step=0.01), momentum=_MU,
             eps=_EPS, ns_steps=Range(0, 10, step=1, integer=True))
def muon(x, g, state, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
         ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None):
    r"""Muon as ``torch.optim.Muon`` (torch 2.13; Keller Jordan et al. 2024, "Muon: an optimizer
    for hidden layers in neural networks", a blog post with the reference code).

        B_t = B_{t-1} + (1 - mu) (g_t - B_{t-1})            (an EMA of the gradients, B_0 = 0)
        D_t = g_t + mu (B_t - g_t)  if nesterov  else  B_t
        O_t = newton_schulz(D_t, ns_steps, ns_coefficients, eps)    (~ U V^T of D_t)
        x_t = x_{t-1} (1 - lr weight_decay) - lr * ratio * O_t
        ratio = sqrt(max(1, m / n))           (adjust_lr_fn None or "original": Keller Jordan)
              = 0.2 sqrt(max(m, n))           ("match_rms_adamw": Moonshot, Liu et al. 2025)

    for x an m x n matrix. torch's docstring writes the sum B_t = mu B_{t-1} + g_t; its code
    (and this rule) keeps the EMA, which is (1 - mu) times that sum, and D_t is (1 - mu) times
    the docstring's g_t + mu B_t. Newton-Schulz divides by the Frobenius norm first, so the
    two forms give the same O_t except where ||D_t|| < eps.

    torch accepts only 2-D parameters and runs Newton-Schulz in bfloat16; this rule runs it in
    float64, so it matches torch to bfloat16 precision only (see the test for the measured error).
    Shapes: x (m, n) is one matrix; x (..., m, n) is a stack of independent matrices (each has
    its own orthogonalization). A vector x (n,) or a number is treated as the 1 x n matrix [x].
    Its one singular value is 1 after the Frobenius normalisation and p^5(1) = 0.6964 after
    five steps with the default coefficients, so on a vector Muon is *normalized momentum descent*:
    x_t = x_{t-1} (1 - lr weight_decay) - 0.6964 lr D_t / ||D_t||: every step has the same length
    whatever the size of the gradient (ratio = 1 for "original"; 0.2 sqrt(n) for
    "match_rms_adamw"). On the 2-D explorers that is what you see. A stack of vectors must be
    passed as (C, 1, n). Buffer: ``state["momentum_buffer"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    momentum = _check_unit("momentum", momentum, closed=True)
    eps = _check_nonneg("eps", eps)
    ns_steps = _check_int("ns_steps", ns_steps, 0, 100)
    _check_coefficients(ns_coefficients)
    if adjust_lr_fn not in _ADJUST_LR:
        raise ValueError(f"adjust_lr_fn must be None, 'original' or 'match_rms_adamw', got {adjust_lr_fn!r}")
    state["momentum_buffer"] = _lerp(_buffer(state, "momentum_buffer", x), g, 1 - momentum)
    update = _lerp(g, state["momentum_buffer"], momentum) if nesterov else state["momentum_buffer"]
    matrix = update if update.ndim >= 2 else update.reshape(1, -1)
    m, n = matrix.shape[-2:]
    ortho = newton_schulz(matrix, ns_steps, ns_coefficients, eps).reshape(x.shape)
    if adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(m, n))
    else:
        ratio = math.sqrt(max(1, m / n))
    return x * (1 - lr * weight_decay) - (lr * ratio) * ortho


# ---------------------------------------------------------------------------------------------
# From the papers (no torch.optim class): Lion and schedule-free SGD / AdamW


@hyperparams(lr=Range(1e-5, 1.0, log=True), beta1=_MU, beta2=Range(0.0, 0.999, step=0.001),
             weight_decay=Range(0.0, 1.0, step=0.01))
def lion(x, g, state, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    r"""Lion, Chen et al. 2023 ("Symbolic discovery of optimization algorithms"), Algorithm 2:
    the version with decoupled weight decay (the paper's Algorithm 1 is AdamW, for comparison).

        c_t = beta1 m_{t-1} + (1 - beta1) g_t             (interpolation, used only for the sign)
        x_t = x_{t-1} - lr (sign(c_t) + weight_decay x_{t-1})
        m_t = beta2 m_{t-1} + (1 - beta2) g_t             (the momentum, m_0 = 0)

    Every coordinate moves by exactly lr per step (plus the decay), whatever the size of the
    gradient; sign(0) = 0. Two betas: beta1 mixes the new gradient into the step, beta2 (larger)
    keeps the memory. Defaults as the paper's code (lr 1e-4, betas 0.9/0.99, no decay); the paper
    advises an lr 3-10x smaller than AdamW's and a weight_decay 3-10x larger, since the decay is
    multiplied by lr. torch.optim has no Lion. Buffer: ``state["m"]``.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    beta1 = _check_unit("beta1", beta1, closed=True)
    beta2 = _check_unit("beta2", beta2, closed=True)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    m = _buffer(state, "m", x)
    c = beta1 * m + (1 - beta1) * g
    state["m"] = beta2 * m + (1 - beta2) * g
    return x - lr * (np.sign(c) + weight_decay * x)


def _schedulefree_weights(state, y, lr, warmup_steps, r, weight_lr_power):
    """Step t, the warmed-up lr_t and the averaging weight c_{t+1} of schedule-free SGD/AdamW."""
    k = state.get("t", 0)
    t = _step(state)
    sched = np.where(k < warmup_steps, t / np.maximum(warmup_steps, 1), 1.0)
    lr_t = lr * sched
    state["lr_max"] = np.maximum(lr_t, _buffer(state, "lr_max", y, fill=-1.0))
    weight = float(t) ** r * state["lr_max"] ** weight_lr_power
    state["weight_sum"] = _buffer(state, "weight_sum", y) + weight
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 while every lr so far was 0
        c = np.where(state["weight_sum"] > 0, weight / state["weight_sum"], 0.0)
    if "z" not in state:
        state["z"] = y.copy()
        state["x"] = y.copy()
    return t, lr_t, c


_SCHEDULEFREE_DOC = r"""
    Three sequences. ``x`` (the argument) is y_t, the point where the gradient g_t was taken;
    the rule returns y_{t+1}, where the next gradient must be taken (so an explorer or a training
    loop sees y). ``state["z"]`` is z_t, the base iterate that takes the steps, and
    ``state["x"]`` is x_t, the weighted average of the z's: the point to evaluate and deploy (it
    is what "schedule-free" returns at the end). On the first call x_1 = z_1 = y_1 = the given x.

        lr_t = lr * min(1, t / warmup_steps)        (linear warm-up; lr_t = lr if warmup_steps = 0)
        w_t = t^r * (max_{i<=t} lr_i)^weight_lr_power,     c_{t+1} = w_t / (w_1 + ... + w_t)
        @STEP@
        x_{t+1} = (1 - c_{t+1}) x_t + c_{t+1} z_{t+1}
        y_{t+1} = @BETA@ x_{t+1} + (1 - @BETA@) z_{t+1}

    Which version: the reference implementation of the paper's authors (facebookresearch/
    schedule_free, ``@REF@``, schedulefree 1.4), *with* the lr^2 weighting and the
    r power. Its defaults r = 0 and weight_lr_power = 2 give the paper's warm-up weighting
    c_{t+1} = lr_t^2 / sum_{i<=t} lr_i^2 (max_{i<=t} lr_i is lr_t while the lr does not fall):
    the average weights the z's by the squared learning rate, so the small steps of the warm-up
    count little. With a constant lr, c_{t+1} = 1/t: x_2 = z_2 and x_{t+1} is the plain mean of
    z_2 .. z_{t+1} (the start z_1 gets no weight). r > 0 weights later iterates more (the
    paper's polynomial averaging, t^r); weight_lr_power = 0 drops the lr weighting.
"""


@hyperparams(lr=Range(0.0, 2.0, step=0.01), momentum=Range(0.0, 1.0, step=0.01),
             weight_decay=Range(0.0, 1.0, step=0.01), warmup_steps=Range(0, 100, step=1, integer=True),
             r=Range(0.0, 4.0, step=0.1), weight_lr_power=Range(0.0, 4.0, step=0.1))
def sgd_schedulefree(x, g, state, lr=1.0, momentum=0.9, weight_decay=0.0, warmup_steps=0, r=0.0,
                     weight_lr_power=2.0):
    r"""Schedule-free SGD, Defazio et al. 2024 ("The Road Less Scheduled"), section 2.
    {doc}
    The paper's momentum beta interpolates: beta = 0 is SGD on z with a Polyak-Ruppert average x,
    beta = 1 evaluates the gradient at the average itself (primal averaging). The reference
    code rejects 0 and 1; both are allowed here. weight_decay is an L2 term on the gradient, taken
    at y. Buffers: ``state["z"]``, ``state["x"]``, ``state["lr_max"]``, ``state["weight_sum"]``,
    ``state["t"]``.
    """
    y, g = _prepare(x, g, state)
    lr = check_lr(lr)
    momentum = _check_unit("momentum", momentum, closed=True)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    warmup_steps = _check_int("warmup_steps", warmup_steps)
    r = _check_interval("r", r)
    weight_lr_power = _check_nonneg("weight_lr_power", weight_lr_power)
    t, lr_t, c = _schedulefree_weights(state, y, lr, warmup_steps, r, weight_lr_power)
    g = g + weight_decay * y
    state["z"] = state["z"] - lr_t * g
    state["x"] = state["x"] * (1 - c) + c * state["z"]
    return state["x"] * momentum + (1 - momentum) * state["z"]


def _schedulefree_doc(fn: Callable, step: str, beta: str, ref: str) -> None:
    if fn.__doc__:  # (python -OO drops docstrings)
        text = _SCHEDULEFREE_DOC.replace("@STEP@", step).replace("@BETA@", beta).replace("@REF@", ref)
        fn.__doc__ = fn.__doc__.replace("{doc}", text)


_schedulefree_doc(sgd_schedulefree, "z_{t+1} = z_t - lr_t (g_t + weight_decay y_t)", "momentum",
                  "SGDScheduleFreeReference")


@hyperparams(lr=_LR1, beta1=Range(0.0, 1.0, step=0.01), beta2=_BETA2, eps=_EPS,
             weight_decay=Range(0.0, 1.0, step=0.01), warmup_steps=Range(0, 100, step=1, integer=True),
             r=Range(0.0, 4.0, step=0.1), weight_lr_power=Range(0.0, 4.0, step=0.1))
def adamw_schedulefree(x, g, state, lr=0.0025, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                       warmup_steps=0, r=0.0, weight_lr_power=2.0):
    r"""Schedule-free AdamW, Defazio et al. 2024 ("The Road Less Scheduled"), Algorithm 1.
    {doc}
    Adam's part: v_t = beta2 v_{t-1} + (1 - beta2) g_t^2, d_t = sqrt(v_t / (1 - beta2^t)) + eps,
    and z takes the step z_{t+1} = z_t - lr_t weight_decay y_t - lr_t g_t / d_t (decoupled decay
    at y, then the normalised gradient; no first moment: beta1 is the interpolation weight).

    Where the reference code differs from the paper's Algorithm 1: the paper folds Adam's bias
    correction into the step size, gamma_t = lr sqrt(1 - beta2^t) min(1, t/warmup), so its eps is
    added to sqrt(v_t) (uncorrected), its decay is gamma_t lambda y_t and its weights are
    gamma_t^2; the reference code divides v_t by 1 - beta2^t (eps added to sqrt of the corrected
    v), and uses the warmed-up lr without that factor in the decay and in the weights. This rule
    follows the reference code. Buffers: ``state["z"]``, ``state["x"]``, ``state["v"]``,
    ``state["lr_max"]``, ``state["weight_sum"]``, ``state["t"]``.
    """
    y, g = _prepare(x, g, state)
    lr = check_lr(lr)
    beta1 = _check_unit("beta1", beta1, closed=True)
    beta2 = _check_unit("beta2", beta2)
    eps = _check_nonneg("eps", eps)
    weight_decay = _check_nonneg("weight_decay", weight_decay)
    warmup_steps = _check_int("warmup_steps", warmup_steps)
    r = _check_interval("r", r)
    weight_lr_power = _check_nonneg("weight_lr_power", weight_lr_power)
    t, lr_t, c = _schedulefree_weights(state, y, lr, warmup_steps, r, weight_lr_power)
    state["z"] = state["z"] - (lr_t * weight_decay) * y
    state["v"] = beta2 * _buffer(state, "v", y) + (1 - beta2) * g * g
    denom = np.sqrt(state["v"] / (1 - beta2**t)) + eps
    state["z"] = state["z"] + (-lr_t) * (g / denom)
    state["x"] = state["x"] * (1 - c) + c * state["z"]
    return state["x"] * beta1 + (1 - beta1) * state["z"]


_schedulefree_doc(adamw_schedulefree, "z_{t+1} = z_t - lr_t weight_decay y_t - lr_t g_t / d_t     (d_t below)",
                  "beta1", "AdamWScheduleFreeReference")


# ---------------------------------------------------------------------------------------------
# Newton's method


@hyperparams(lr=_LR2, damping=Range(0.0, 10.0, step=0.1))
def newton(x, g, state, lr=1.0, hess=None, damping=0.0, abs_eigs=False):
    r"""Newton's method: x_t = x_{t-1} - lr (H + damping I)^{-1} g_t.

    1-D: x - lr f'(x) / (f''(x) + damping). ``hess`` is the Hessian at x: an (n, n) array for
    x with n entries, or a number (the curvature, used for every coordinate). ``abs_eigs=True``
    replaces the eigenvalues of H by their absolute values (|f''| in 1-D), so that a point with
    negative curvature moves downhill instead of towards the maximum. A singular system gives an
    array of nan/inf (the caller treats the run as diverged). Keeps no state.
    """
    x, g = _prepare(x, g, state)
    lr = check_lr(lr)
    damping = _check_nonneg("damping", damping)
    if hess is None:
        raise ValueError(
            "newton needs the Hessian at x: pass hess=objective.hess(x) "
            "(an explorer fills it in for you)"
        )
    H = np.asarray(hess, dtype=float)
    with np.errstate(all="ignore"):
        if H.ndim == 0:  # one curvature for every coordinate
            h = abs(H) if abs_eigs else H
            return x - lr * g / (h + damping)
        n = x.size
        _scalar("damping", damping)
        if H.shape != (n, n):
            raise ValueError(f"hess must have shape ({n}, {n}) for x of shape {x.shape}, got {H.shape}")
        try:
            if abs_eigs:
                w, V = np.linalg.eigh(H)
                H = (V * np.abs(w)) @ V.T
            step = np.linalg.solve(H + damping * np.eye(n), g.reshape(n))
        except np.linalg.LinAlgError:  # singular (or non-finite) H: the run has diverged
            return np.full(x.shape, np.nan)
        return x - lr * step.reshape(x.shape)


# ---------------------------------------------------------------------------------------------
# Gradient clipping


def _as_list(grads) -> list:
    if isinstance(grads, np.ndarray):
        grads = [grads]
    return [np.asarray(gr, dtype=float) for gr in grads]


def clip_grad_norm(grads, max_norm, norm_type=2.0):
    r"""NumPy version of ``torch.nn.utils.clip_grad_norm_`` (returns new arrays).

        total = || (||g_1||_p, ..., ||g_n||_p) ||_p       (one norm over all arrays together)
        coef = min(max_norm / (total + 1e-6), 1)
        g_i <- coef g_i

    Returns ``(clipped_list, total_norm)``. ``norm_type`` may be ``float("inf")`` (max |g|).
    """
    max_norm = _check_nonneg("max_norm", _scalar("max_norm", max_norm))
    p = _number("norm_type", _scalar("norm_type", norm_type))
    if not p >= 0:
        raise ValueError(f"norm_type must be >= 0 or inf, got {norm_type!r}")
    grads = _as_list(grads)
    if not grads:
        return [], 0.0
    norms = [np.linalg.norm(gr.ravel(), ord=p) for gr in grads]
    total = float(np.linalg.norm(np.array(norms), ord=p))
    coef = min(max_norm / (total + 1e-6), 1.0)
    return [gr * coef for gr in grads], total


def clip_grad_value(grads, clip_value):
    r"""NumPy version of ``torch.nn.utils.clip_grad_value_``: clamp every entry to [-c, c].

    Unlike norm clipping this changes the direction of the gradient. Returns a list of new arrays.
    """
    c = _check_nonneg("clip_value", _scalar("clip_value", clip_value))
    return [np.clip(gr, -c, c) for gr in _as_list(grads)]


# ---------------------------------------------------------------------------------------------
# Registry

#: The rules an explorer offers in its drop-down, by name.
RULES: Dict[str, Callable] = {
    "gd": gd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adadelta": adadelta,
    "adam": adam,
    "adamw": adamw,
    "nadam": nadam,
    "radam": radam,
    "adamax": adamax,
    "adafactor": adafactor,
    "muon": muon,
    "lion": lion,
    "sgd_schedulefree": sgd_schedulefree,
    "adamw_schedulefree": adamw_schedulefree,
    "newton": newton,
}


def get_rule(name_or_callable: "str | Callable") -> Callable:
    """The rule called ``name`` in :data:`RULES`; a function passes through unchanged."""
    if isinstance(name_or_callable, str):
        if name_or_callable not in RULES:
            raise ValueError(f"unknown rule {name_or_callable!r}; choose one of {', '.join(RULES)}")
        return RULES[name_or_callable]
    if callable(name_or_callable):
        return name_or_callable
    raise TypeError(
        f"a rule must be a name ({', '.join(RULES)}) or a function rule(x, g, state, **hp), "
        f"got {name_or_callable!r}"
    )

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


def _prepare(x: Any, g: Any, state: Any) -> Tuple[np.ndarray, np.ndarray]:
    """x and g as float64 arrays of the same shape; the buffers in ``state`` must match them."""
    x = np.asarray(x, dtype=float)
    g = np.asarray(g, dtype=float)
    if g.shape != x.shape:
        raise ValueError(f"the gradient g has shape {g.shape} but x has shape {x.shape}; they must match")
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict (start with {{}}), got {type(state).__name__}")
    for key, buf in state.items():
        if isinstance(buf, (np.ndarray, np.generic)) and np.shape(buf) != x.shape:
            raise ValueError(
                f"state[{key!r}] has shape {np.shape(buf)} but x has shape {x.shape}; "
                "pass a fresh state dict {} when x changes shape"
            )
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
    if maximize:
        g = -g
    if _any(weight_decay != 0):  # g + 0 * x is g: exact for entries without decay
        g = g + weight_decay * x
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

    This is *not* what ``torch.optim.SGD(momentum=beta)`` does (one source article says it is):
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
    if maximize:
        g = -g
    if _any(weight_decay != 0):  # g + 0 * x is g: exact for entries without decay
        g = g + weight_decay * x
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
    if maximize:
        g = -g
    if _any(weight_decay != 0):  # g + 0 * x is g: exact for entries without decay
        g = g + weight_decay * x
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
    if maximize:
        g = -g
    if _any(weight_decay != 0):  # g + 0 * x is g: exact for entries without decay
        g = g + weight_decay * x
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
    if maximize:
        g = -g
    if _any(weight_decay != 0):  # x (1 - lr 0) is x and g + 0 x is g: exact without decay
        if decoupled_weight_decay:
            x = x * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * x
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

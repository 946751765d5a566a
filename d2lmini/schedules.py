"""Learning-rate schedules as plain functions of the step, proven against ``torch.optim.lr_scheduler``.

A schedule is a function ``f(t, **params) -> float``: the factor that multiplies the base
learning rate after ``t`` scheduler steps. The indexing is torch's, where ``scheduler.step()``
comes after ``optimizer.step()``::

    for t in range(steps):          # t = 0, 1, 2, ...
        lr_t = base_lr * f(t)       # the lr of the (t + 1)-th optimizer step
        optimizer.step()            # uses lr_t
        scheduler.step()            # torch's lr is now base_lr * f(t + 1)

So ``f(0)`` is the lr of the very first step (torch sets it when the scheduler is built), and
``f(t)`` is what ``optimizer.param_groups[0]["lr"]`` holds after ``t`` calls of
``scheduler.step()``. Every function here equals its torch scheduler step for step (relative
1e-12; tests/test_schedules.py). Where torch takes an absolute lr (``eta_min``,
``OneCycleLR``'s ``max_lr``) the function takes the factor instead: ``min_factor = eta_min /
base_lr``; ``one_cycle`` is a factor of ``max_lr``.

The explorers' stochastic mode counts steps from 1 and calls ``f(t)`` for t = 1, 2, ...; the
three schedules it offers (``constant``, ``exponential``, ``polynomial``) have the same formulas
here.

Use :func:`schedule` to bind the parameters (checked at once) and get a callable ``f(t)``;
:data:`SCHEDULES` lists the names. :func:`sequential` and :func:`chained` combine schedules as
``SequentialLR`` and ``ChainedScheduler`` do. :class:`ReduceLROnPlateau` is the one schedule
that depends on a measured metric rather than on the step.
"""
from __future__ import annotations

import bisect
import inspect
import math
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

__all__ = [
    "constant",
    "step",
    "multistep",
    "exponential",
    "polynomial",
    "poly",
    "linear",
    "linear_warmup",
    "cosine",
    "cosine_with_warmup",
    "one_cycle",
    "one_cycle_momentum",
    "wsd",
    "sequential",
    "chained",
    "ReduceLROnPlateau",
    "Schedule",
    "schedule",
    "SCHEDULES",
]


# ---------------------------------------------------------------------------------------------
# argument checks


def _check_t(t: Any) -> int:
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
        raise TypeError(f"t must be a whole number of steps (0, 1, 2, ...), got {t!r}")
    if t < 0:
        raise ValueError(f"t must be >= 0 (the number of scheduler steps so far), got {t!r}")
    return int(t)


def _number(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def _check_range(name: str, value: Any, low: float, high: float = math.inf, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    v = _number(name, value)
    if (v <= low if low_open else v < low) or (v >= high if high_open else v > high):
        if high == math.inf:
            what = f"> {low}" if low_open else f">= {low}"
        else:
            what = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return v


def _check_steps(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number of steps, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _check_lr(name: str, value: Any) -> float:
    v = _number(name, value)
    if v < 0:
        raise ValueError(f"{name} must be a learning rate >= 0, got {value!r}")
    return v


# ---------------------------------------------------------------------------------------------
# schedules: factor of the base lr after t scheduler steps


def constant(t, factor=1.0, total_iters=0):
    r"""``ConstantLR``: ``factor`` for t < total_iters, then 1.

    With the defaults (factor 1, total_iters 0) the lr never changes: the explorers' "constant".
    torch's defaults are factor = 1/3, total_iters = 5.
    """
    t = _check_t(t)
    factor = _check_range("factor", factor, 0.0, 1.0)
    total_iters = _check_steps("total_iters", total_iters, low=0)
    return factor if t < total_iters else 1.0


def step(t, step_size=30, gamma=0.1):
    r"""``StepLR``: gamma^floor(t / step_size): multiply by gamma every step_size steps."""
    t = _check_t(t)
    step_size = _check_steps("step_size", step_size)
    gamma = _check_range("gamma", gamma, 0.0, math.inf, low_open=True)
    return gamma ** (t // step_size)


def multistep(t, milestones=(30, 80), gamma=0.1):
    r"""``MultiStepLR``: gamma^(number of milestones <= t). A milestone listed twice counts twice."""
    t = _check_t(t)
    try:
        stones = sorted(_check_steps("milestones", m, low=0) for m in milestones)
    except TypeError as exc:
        if "milestones must" in str(exc):
            raise
        raise TypeError(f"milestones must be a list of step numbers, got {milestones!r}") from None
    gamma = _check_range("gamma", gamma, 0.0, math.inf, low_open=True)
    return gamma ** bisect.bisect_right(stones, t)


def exponential(t, gamma=math.exp(-0.1)):
    r"""``ExponentialLR``: gamma^t.

    The default gamma = e^-0.1 gives e^(-0.1 t), the explorers' "exponential" (d2l's
    eta_0 e^(-lambda t) with lambda = 0.1; gamma = e^-lambda).
    """
    t = _check_t(t)
    gamma = _check_range("gamma", gamma, 0.0, math.inf, low_open=True)
    return gamma**t


def polynomial(t, alpha=0.5, beta=0.1):
    r"""d2l's polynomial decay (1 + beta t)^(-alpha): the explorers' "polynomial".

    alpha = 0.5 is the 1/sqrt(t) decay of the convex-optimization texts. No torch class (use
    ``LambdaLR(opt, lambda t: (1 + beta * t) ** -alpha)``); torch's ``PolynomialLR`` is :func:`poly`.
    """
    t = _check_t(t)
    alpha = _check_range("alpha", alpha, 0.0, math.inf)
    beta = _check_range("beta", beta, 0.0, math.inf)
    return (1.0 + beta * t) ** -alpha


def poly(t, total_iters=5, power=1.0):
    r"""``PolynomialLR`` (the "poly" policy): (1 - min(t, total_iters) / total_iters)^power.

    Falls to 0 at t = total_iters and stays there. power = 1 is a linear decay to 0.
    """
    t = _check_t(t)
    total_iters = _check_steps("total_iters", total_iters)
    power = _check_range("power", power, 0.0, math.inf)
    return (1.0 - min(total_iters, t) / total_iters) ** power


def linear(t, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
    r"""``LinearLR``: from start_factor at t = 0 to end_factor at t = total_iters, then constant.

        f(t) = start_factor + (end_factor - start_factor) min(t, total_iters) / total_iters

    start_factor < end_factor is a warm-up, the other way round a linear decay. torch needs
    start_factor > 0; 0 is allowed here (a first step with lr 0, as in Hugging Face's warm-ups).
    """
    t = _check_t(t)
    start_factor = _check_range("start_factor", start_factor, 0.0, 1.0)
    end_factor = _check_range("end_factor", end_factor, 0.0, 1.0)
    total_iters = _check_steps("total_iters", total_iters)
    return start_factor + (end_factor - start_factor) * min(total_iters, t) / total_iters


def linear_warmup(t, warmup_steps=5, start_factor=1.0 / 3):
    r"""Linear warm-up from start_factor to 1 over warmup_steps, then 1:
    ``LinearLR(start_factor=start_factor, end_factor=1, total_iters=warmup_steps)``."""
    return linear(t, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)


def cosine(t, T_max=100, min_factor=0.0):
    r"""``CosineAnnealingLR`` (Loshchilov & Hutter 2017, SGDR without restarts):

        f(t) = min_factor + (1 - min_factor) (1 + cos(pi t / T_max)) / 2

    min_factor = eta_min / base_lr. Like torch, there is no restart and no stop: after T_max the
    factor rises again along the same cosine (back to 1 at 2 T_max). Use
    :func:`cosine_with_warmup` for a cosine that stays at its minimum. torch computes it
    recursively; the closed form agrees to round-off.
    """
    t = _check_t(t)
    T_max = _check_steps("T_max", T_max)
    min_factor = _check_range("min_factor", min_factor, 0.0, 1.0)
    return min_factor + (1.0 - min_factor) * (1 + math.cos(math.pi * t / T_max)) / 2


def cosine_with_warmup(t, warmup_steps=10, total_steps=100, start_factor=1.0 / 3, min_factor=0.0):
    r"""Linear warm-up, then a cosine down to min_factor at total_steps, then min_factor.

        t <= warmup_steps:           start_factor + (1 - start_factor) t / warmup_steps
        warmup_steps <= t <= total:  min_factor + (1 - min_factor) (1 + cos(pi s)) / 2,
                                     s = (t - warmup_steps) / (total_steps - warmup_steps)
        t > total_steps:             min_factor

    Up to total_steps this is torch's ``SequentialLR([LinearLR(start_factor, 1, warmup_steps),
    CosineAnnealingLR(T_max=total_steps - warmup_steps, eta_min)], milestones=[warmup_steps])``;
    after it torch's cosine would rise again, this one holds its minimum.
    """
    t = _check_t(t)
    warmup_steps = _check_steps("warmup_steps", warmup_steps, low=0)
    total_steps = _check_steps("total_steps", total_steps)
    if warmup_steps >= total_steps:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) must be shorter than total_steps ({total_steps}); "
            "leave steps for the cosine"
        )
    start_factor = _check_range("start_factor", start_factor, 0.0, 1.0)
    min_factor = _check_range("min_factor", min_factor, 0.0, 1.0)
    if t < warmup_steps:
        return start_factor + (1.0 - start_factor) * t / warmup_steps
    if t > total_steps:
        return min_factor
    return cosine(t - warmup_steps, T_max=total_steps - warmup_steps, min_factor=min_factor)


def _one_cycle_phases(total_steps, pct_start, three_phase):
    total_steps = _check_steps("total_steps", total_steps)
    pct_start = _check_range("pct_start", pct_start, 0.0, 1.0)
    if three_phase:
        phases = [
            (float(pct_start * total_steps) - 1, "initial", "max", "max_m", "base_m"),
            (float(2 * pct_start * total_steps) - 2, "max", "initial", "base_m", "max_m"),
            (total_steps - 1, "initial", "min", "max_m", "max_m"),
        ]
    else:
        phases = [
            (float(pct_start * total_steps) - 1, "initial", "max", "max_m", "base_m"),
            (total_steps - 1, "max", "min", "base_m", "max_m"),
        ]
    starts = [0.0] + [p[0] for p in phases[:-1]]
    if any(p[0] == s for p, s in zip(phases, starts)):
        raise ValueError(
            f"pct_start = {pct_start} with total_steps = {total_steps} gives a phase of length 0 "
            "(torch's OneCycleLR divides by zero there); change pct_start or total_steps"
        )
    return total_steps, phases


def _anneal(start, end, pct, strategy):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle_value(t, values, total_steps, pct_start, anneal_strategy, three_phase, lr_values):
    t = _check_t(t)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
    total_steps, phases = _one_cycle_phases(total_steps, pct_start, three_phase)
    if t > total_steps:
        raise ValueError(
            f"t = {t} is past the cycle: one_cycle is defined for t = 0 .. total_steps ({total_steps}), "
            "as torch's OneCycleLR (which raises too)"
        )
    start = 0.0
    for i, (end, lr_a, lr_b, m_a, m_b) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            pct = (t - start) / (end - start)
            a, b = (lr_a, lr_b) if lr_values else (m_a, m_b)
            return _anneal(values[a], values[b], pct, anneal_strategy)
        start = end
    raise AssertionError("unreachable")


def one_cycle(t, total_steps=100, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
              final_div_factor=1e4, three_phase=False):
    r"""``OneCycleLR`` (Smith & Topin 2017, in fastai's two-phase form by default), as a factor of
    max_lr: from 1/div_factor up to 1, then down to 1/(div_factor final_div_factor).

        phase 1, t = 0 .. pct_start total_steps - 1:   1/div_factor -> 1
        phase 2, ... total_steps - 1:                  1 -> 1/(div_factor final_div_factor)
        three_phase=True (the paper's form): up, back down to 1/div_factor symmetrically,
        then a third phase down to 1/(div_factor final_div_factor).

    Each phase anneals with ``anneal_strategy`` "cos" (half a cosine) or "linear", over
    pct = (t - phase start) / (phase end - phase start), where a phase ends at step
    ``pct_start total_steps - 1`` (and ``2 pct_start total_steps - 2`` in the three-phase form),
    exactly as torch. Defined for t = 0 .. total_steps (torch raises past the end; so does this).
    The momentum that torch cycles with it is :func:`one_cycle_momentum`.
    """
    div_factor = _check_range("div_factor", div_factor, 0.0, math.inf, low_open=True)
    final_div_factor = _check_range("final_div_factor", final_div_factor, 0.0, math.inf, low_open=True)
    initial = 1.0 / div_factor
    values = {"initial": initial, "max": 1.0, "min": initial / final_div_factor}
    return _one_cycle_value(t, values, total_steps, pct_start, anneal_strategy, three_phase, True)


def one_cycle_momentum(t, total_steps=100, pct_start=0.3, anneal_strategy="cos", base_momentum=0.85,
                       max_momentum=0.95, three_phase=False):
    r"""The momentum ``OneCycleLR(cycle_momentum=True)`` sets (torch's ``momentum``, or ``betas[0]``
    for Adam-like optimizers): the mirror image of :func:`one_cycle`, from max_momentum down to
    base_momentum while the lr rises, and back up while it falls. An absolute value, not a factor.
    """
    base_momentum = _check_range("base_momentum", base_momentum, 0.0, 1.0)
    max_momentum = _check_range("max_momentum", max_momentum, 0.0, 1.0)
    values = {"base_m": base_momentum, "max_m": max_momentum}
    return _one_cycle_value(t, values, total_steps, pct_start, anneal_strategy, three_phase, False)


_WSD_DECAYS = ("linear", "cosine", "sqrt")


def wsd(t, warmup_steps=10, decay_steps=20, total_steps=100, start_factor=1.0 / 3, min_factor=0.0,
        decay="linear"):
    r"""Warmup-stable-decay ("trapezoidal"; Hu et al. 2024, MiniCPM; Hägele et al. 2024).

        t < W:                    start_factor + (1 - start_factor) t / W       (linear warm-up)
        W <= t <= T - D:          1                                               (stable)
        T - D <= t < T:           s = (t - (T - D)) / D, from 0 towards 1:
            decay "linear":       1 - (1 - min_factor) s
            decay "cosine":       min_factor + (1 - min_factor) (1 + cos(pi s)) / 2
            decay "sqrt":         1 - (1 - min_factor) sqrt(s)       (Hägele et al.'s "1-sqrt")
        t >= T:                   min_factor     (each decay reaches it at s = 1; D = 0 drops at once)

    with W = warmup_steps, D = decay_steps, T = total_steps. No torch class of its own; a
    SequentialLR gives the same lrs (tests/test_schedules.py): a warm-up LinearLR, then from
    T - D a decaying LinearLR ("linear") or a CosineAnnealingLR ("cosine"); "sqrt" needs a
    LambdaLR. The point of the shape: the run can stop (or branch off a decay) at any time
    during the long stable phase, and a short decay at the end gets most of the benefit of a
    full cosine.
    """
    t = _check_t(t)
    warmup_steps = _check_steps("warmup_steps", warmup_steps, low=0)
    decay_steps = _check_steps("decay_steps", decay_steps, low=0)
    total_steps = _check_steps("total_steps", total_steps)
    if warmup_steps + decay_steps > total_steps:
        raise ValueError(
            f"warmup_steps + decay_steps ({warmup_steps} + {decay_steps}) must be <= total_steps "
            f"({total_steps})"
        )
    start_factor = _check_range("start_factor", start_factor, 0.0, 1.0)
    min_factor = _check_range("min_factor", min_factor, 0.0, 1.0)
    if decay not in _WSD_DECAYS:
        raise ValueError(f"decay must be one of {', '.join(map(repr, _WSD_DECAYS))}, got {decay!r}")
    if t < warmup_steps:
        return start_factor + (1.0 - start_factor) * t / warmup_steps
    if t >= total_steps:
        return min_factor
    decay_start = total_steps - decay_steps
    if t <= decay_start:
        return 1.0
    s = (t - decay_start) / decay_steps
    if decay == "linear":
        return 1.0 - (1.0 - min_factor) * s
    if decay == "cosine":
        return min_factor + (1.0 - min_factor) * (1 + math.cos(math.pi * s)) / 2
    return 1.0 - (1.0 - min_factor) * math.sqrt(s)


# ---------------------------------------------------------------------------------------------
# bound schedules, the registry, combinations


#: The schedules by name (each a function of (t, **params) with a default for every parameter).
SCHEDULES: Dict[str, Callable[..., float]] = {
    "constant": constant,
    "step": step,
    "multistep": multistep,
    "exponential": exponential,
    "polynomial": polynomial,
    "poly": poly,
    "linear": linear,
    "linear_warmup": linear_warmup,
    "cosine": cosine,
    "cosine_with_warmup": cosine_with_warmup,
    "one_cycle": one_cycle,
    "wsd": wsd,
}


class Schedule:
    """A schedule with its parameters bound: ``s(t)`` is the factor after t scheduler steps.

    ``s.values(n)`` gives the factors for t = 0 .. n - 1 as an array (for plotting).
    """

    def __init__(self, fn: Callable[[int], float], label: str):
        self._fn = fn
        self.label = label

    def __call__(self, t) -> float:
        return self._fn(t)

    def values(self, n: int) -> np.ndarray:
        n = _check_steps("n", n, low=0)
        return np.array([self._fn(t) for t in range(n)], dtype=float)

    def __repr__(self) -> str:
        return self.label


def _params_of(fn: Callable) -> list:
    return list(inspect.signature(fn).parameters)[1:]


def schedule(name: str, **params) -> Schedule:
    """The schedule ``name`` (a key of :data:`SCHEDULES`) with ``params`` bound and checked now.

    ``schedule("cosine", T_max=200)(t)`` is ``cosine(t, T_max=200)``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a schedule name ({', '.join(SCHEDULES)}), got {name!r}")
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    fn = SCHEDULES[name]
    known = _params_of(fn)
    unknown = [k for k in params if k not in known]
    if unknown:
        raise TypeError(f"schedule {name!r} has no parameter(s) {unknown}; it takes {', '.join(known)}")
    fn(0, **params)  # check the parameters now, not at the first step
    label = f"schedule({name!r}{''.join(f', {k}={v!r}' for k, v in params.items())})"
    return Schedule(lambda t: fn(t, **params), label)


def _as_schedule(s: Any, what: str) -> Callable[[int], float]:
    if isinstance(s, str):
        return schedule(s)
    if callable(s):
        return s
    raise TypeError(f"{what} must be a schedule (a name or a function of t), got {s!r}")


def sequential(schedules: Sequence[Any], milestones: Sequence[int]) -> Schedule:
    """``SequentialLR``: schedule i runs from milestone i-1 on, with its own step count from 0.

        f(t) = schedules[i](t - milestones[i-1]),   i = number of milestones <= t

    (milestone -1 is 0). For example a warm-up, then a cosine:
    ``sequential([schedule("linear_warmup", warmup_steps=10), schedule("cosine", T_max=90)], [10])``.
    Each part restarts at its own t = 0 (its base lr), as in torch.
    """
    parts = [_as_schedule(s, f"schedules[{i}]") for i, s in enumerate(schedules)]
    if not parts:
        raise ValueError("sequential needs at least one schedule")
    stones = [_check_steps(f"milestones[{i}]", m) for i, m in enumerate(milestones)]
    if len(stones) != len(parts) - 1:
        raise ValueError(
            f"sequential needs one milestone fewer than schedules: got {len(parts)} schedules and "
            f"{len(stones)} milestones"
        )
    if any(b <= a for a, b in zip(stones, stones[1:])):
        raise ValueError(f"milestones must increase, got {list(milestones)}")

    def f(t):
        t = _check_t(t)
        i = bisect.bisect_right(stones, t)
        return parts[i](t - (stones[i - 1] if i > 0 else 0))

    return Schedule(f, f"sequential({parts!r}, milestones={stones})")


def chained(*schedules: Any) -> Schedule:
    """``ChainedScheduler``: every schedule acts at once; their factors multiply.

        f(t) = schedules[0](t) * schedules[1](t) * ...

    torch's ChainedScheduler applies each scheduler's own recursive update to the current lr;
    that is this product for every multiplicative scheduler (all of torch's here, and
    CosineAnnealingLR with eta_min = 0). A cosine with eta_min > 0 does not multiply (its
    update is anchored at eta_min), so chain it with min_factor = 0 to match torch.
    """
    parts = [_as_schedule(s, f"schedules[{i}]") for i, s in enumerate(schedules)]
    if not parts:
        raise ValueError("chained needs at least one schedule")

    def f(t):
        t = _check_t(t)
        out = 1.0
        for part in parts:
            out *= part(t)
        return out

    return Schedule(f, f"chained({', '.join(map(repr, parts))})")


# ---------------------------------------------------------------------------------------------
# ReduceLROnPlateau: depends on a metric, so it keeps state


class ReduceLROnPlateau:
    """``torch.optim.lr_scheduler.ReduceLROnPlateau`` for one learning rate.

    ``sched = ReduceLROnPlateau(lr=0.1, patience=5)``; after each epoch
    ``lr = sched.step(validation_loss)``. Same arguments, defaults and semantics as torch:

    * a metric is an *improvement* if it beats ``best`` by the threshold: in mode "min",
      metric < best (1 - threshold) ("rel") or metric < best - threshold ("abs"); in mode "max",
      metric > best (1 + threshold) or metric > best + threshold. An improvement sets best and
      clears the count of bad epochs; anything else adds one bad epoch;
    * during a cooldown (``cooldown`` epochs after a reduction) bad epochs are not counted;
    * when the count of bad epochs exceeds ``patience``, lr becomes max(lr factor, min_lr)
      (unless that changes it by eps or less), the cooldown starts and the count restarts.

    With patience = 10 the lr falls after the 11th epoch in a row without improvement. The first
    metric always improves on best = +inf (-inf for "max"). Attributes as torch: ``lr``,
    ``best``, ``num_bad_epochs``, ``cooldown_counter``, ``last_epoch``.
    """

    def __init__(self, lr, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        self.lr = _check_lr("lr", lr)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode = mode
        self.threshold_mode = threshold_mode
        self.factor = _check_range("factor", factor, 0.0, 1.0, high_open=True)
        self.patience = _check_steps("patience", patience, low=0)
        self.threshold = _check_range("threshold", threshold, 0.0, math.inf)
        self.cooldown = _check_steps("cooldown", cooldown, low=0)
        self.min_lr = _check_lr("min_lr", min_lr)
        self.eps = _check_range("eps", eps, 0.0, math.inf)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, metric: float, best: float) -> bool:
        if self.mode == "min":
            return metric < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return metric > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metric) -> float:
        """Record one epoch's metric; return the lr for the next epoch."""
        try:
            current = float(metric)
        except (TypeError, ValueError):
            raise TypeError(f"metric must be a number, got {metric!r}") from None
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return self.lr

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(lr={self.lr!r}, mode={self.mode!r}, best={self.best!r}, "
                f"num_bad_epochs={self.num_bad_epochs}, cooldown_counter={self.cooldown_counter})")

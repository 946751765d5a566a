"""What a learner can set: rules and their hyperparameters, and the widgets that set them.

Rule names resolve through ``d2lmini.rules.RULES``; a rule's hyperparameters, their defaults
and slider ranges come from ``hyperparameters_of(rule)``; ``PRESETS`` holds the opening values
per named rule. The widget factories use only widgets present in both ipywidgets 7.6+ and 8.x
(Colab ships ipywidgets 7); ipywidgets is imported only when a widget is made.
"""
from __future__ import annotations

import contextlib
import inspect
import math
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from ..rules import RULES, hyperparameters_of

View = Tuple[float, float, float, float]

#: Opening values per named rule, chosen to show each rule well on d2l's quadratic.
PRESETS: Dict[str, Dict[str, float]] = {
    "gd": {"lr": 0.4},
    "sgd": {"lr": 0.4},
    "momentum": {"lr": 0.4, "momentum": 0.5},
    "nesterov": {"lr": 0.3, "momentum": 0.5},
    "adagrad": {"lr": 0.4},
    "rmsprop": {"lr": 0.4, "alpha": 0.9},
    "adadelta": {"rho": 0.9, "eps": 1e-6},
    "adam": {"lr": 0.3},
    "adamw": {"lr": 0.3},
    "newton": {"lr": 1.0},
}

# Names of the explorer's own controls; a hyperparameter may not take one of them.
_RESERVED = ("rule", "objective", "kappa", "angle", "steps", "x1", "x2", "noise", "schedule")


# ---------------------------------------------------------------------------------------------
# Rules and hyperparameters


def _resolve_rule(rule: Union[str, Callable]) -> Tuple[Optional[str], Callable]:
    """(name or None, function) for a rule name or a rule function."""
    if isinstance(rule, str):
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
        return rule, RULES[rule]
    if callable(rule):
        return None, rule
    raise TypeError(f"rule must be a rule name or a function rule(x, g, state, **hp), got {rule!r}")


def _rule_label(name: Optional[str], fn: Callable) -> str:
    return name or getattr(fn, "__name__", "rule")


def _takes(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _check_hp(label: str, info: Mapping[str, Any], hp: Mapping[str, Any]) -> None:
    unknown = sorted(set(hp) - set(info))
    if unknown:
        valid = ", ".join(info) or "(none)"
        raise ValueError(
            f"unknown hyperparameter(s) {', '.join(unknown)} for rule {label!r}; "
            f"valid names: {valid}"
        )
    for name, value in hp.items():
        default = info[name][0]
        if isinstance(default, bool):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"{name} must be a finite number, got {value!r}")


def _check_view(view: Any) -> View:
    try:
        v = tuple(float(a) for a in view)
    except (TypeError, ValueError):
        raise TypeError(f"view must be (x1min, x1max, x2min, x2max), got {view!r}") from None
    if len(v) != 4 or not all(math.isfinite(a) for a in v) or not (v[0] < v[1] and v[2] < v[3]):
        raise ValueError(
            f"view must be four finite numbers (x1min, x1max, x2min, x2max) with min < max, "
            f"got {view!r}"
        )
    return v  # type: ignore[return-value]


def _check_steps(steps: Any, high: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    if not 1 <= int(steps) <= high:
        raise ValueError(f"steps must be between 1 and {high}, got {steps!r}")
    return int(steps)


def _opening_hp(name: Optional[str], fn: Callable, hp: Mapping[str, Any]) -> Dict[str, Any]:
    """Opening hyperparameters: the rule's preset (for a named rule), then ``hp``."""
    info = hyperparameters_of(fn)
    _check_hp(_rule_label(name, fn), info, hp)
    values = {}
    if name is not None:
        values.update({k: v for k, v in PRESETS.get(name, {}).items() if k in info})
    values.update(hp)
    return values


# ---------------------------------------------------------------------------------------------
# Widgets


def _fmt(value: float) -> str:
    """How the readouts print numbers (tests format the same way)."""
    return f"{float(value):.6g}"


def _widgets():
    import ipywidgets

    return ipywidgets


def _slider(kind: str, **kw):
    """A ``FloatSlider``/``FloatLogSlider``/``IntSlider`` that updates while it is dragged, with
    its own 360px layout (widgets that share a ``Layout`` are hidden together)."""
    w = _widgets()
    return getattr(w, kind)(continuous_update=True, style={"description_width": "initial"},
                            layout=w.Layout(width="360px"), **kw)


def _dropdown(width: str, **kw):
    """A ``Dropdown`` ``width`` wide."""
    w = _widgets()
    return w.Dropdown(style={"description_width": "initial"}, layout=w.Layout(width=width), **kw)


def _decimals(step: float) -> int:
    return max(2, min(6, -int(math.floor(math.log10(step))) if step > 0 else 2))


def _make_control(name: str, default: Any, rng: Any, value: Any, description: Optional[str] = None):
    """A widget for one hyperparameter: Checkbox (bool), FloatLogSlider (log range),
    IntSlider (integer range) or FloatSlider. None when it has no range."""
    w = _widgets()
    desc = description or name
    if isinstance(default, (bool, np.bool_)):
        return w.Checkbox(value=bool(value), description=desc, indent=False, layout=w.Layout(width="360px"))
    if rng is None:
        return None
    low, high = float(rng.low), float(rng.high)
    value = float(value)
    if getattr(rng, "log", False):
        if value <= 0:
            raise ValueError(f"{name} takes values on a log scale and must be > 0, got {value!r}")
        lo_e, hi_e = math.log10(low), math.log10(high)
        lo_e, hi_e = min(lo_e, math.log10(value)), max(hi_e, math.log10(value))
        return _slider("FloatLogSlider", value=value, base=10, min=lo_e, max=hi_e,
                       step=(hi_e - lo_e) / 100, description=desc, readout_format=".2e")
    low, high = min(low, value), max(high, value)
    if getattr(rng, "integer", False):
        return _slider("IntSlider", value=int(round(value)), min=int(math.floor(low)),
                       max=int(math.ceil(high)), step=max(1, int(rng.step or 1)), description=desc)
    step = float(rng.step) if rng.step else (high - low) / 200
    return _slider("FloatSlider", value=value, min=low, max=high, step=step, description=desc,
                   readout_format=f".{_decimals(step)}f")


def _set_range(slider, low: float, high: float, value: Optional[float] = None) -> None:
    """Change a slider's min/max (and value) without ever passing through min > max."""
    if low > slider.max:
        slider.max = high
        slider.min = low
    else:
        slider.min = low
        slider.max = high
    if value is not None:
        slider.value = value


def _step_for(span: float) -> float:
    return 10.0 ** math.floor(math.log10(span / 100.0)) if span > 0 else 0.01


def _close_tree(*roots) -> None:
    """Close widgets and every widget they hold (children, layout, style, an ipympl toolbar):
    a widget's own close() leaves those open, and ipywidgets keeps every open widget alive."""
    widget_type = _widgets().Widget
    seen = set()
    todo = list(roots)
    while todo:
        widget = todo.pop()
        if not isinstance(widget, widget_type) or id(widget) in seen:
            continue
        seen.add(id(widget))
        for name in widget.keys:
            value = getattr(widget, name, None)
            todo.extend(value if isinstance(value, (list, tuple)) else (value,))
        with contextlib.suppress(Exception):
            widget.close()


def _set_visible(widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"

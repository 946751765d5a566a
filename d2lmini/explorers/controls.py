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

from ..objectives import _exact_text  # the labels' text (the titles print numbers the same way)
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
    # torch's defaults (lr 1e-3 and the like) barely move in 20 steps; these show each rule.
    "nadam": {"lr": 0.3},
    "radam": {"lr": 0.3},  # its first steps are plain momentum SGD: a big first step in x2
    "adamax": {"lr": 0.4},
    "adafactor": {"lr": 0.2},
    "muon": {"lr": 0.5, "weight_decay": 0.0},  # torch's momentum 0.95 (chapter 10 races on it)
    "lion": {"lr": 0.2},  # sign steps: every coordinate moves by exactly lr
    "sgd_schedulefree": {"lr": 0.3},
    "adamw_schedulefree": {"lr": 0.5},
}

# Names of the explorer's own controls; a hyperparameter may not take one of them.
_RESERVED = ("rule", "objective", "kappa", "angle", "steps", "x1", "x2", "noise", "schedule", "warmup")


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


def _check_noise(noise: Any) -> float:
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise TypeError(f"noise must be a number, got {noise!r}") from None
    if not (math.isfinite(noise) and 0.0 <= noise <= 2.0):
        raise ValueError(f"noise must be between 0 and 2, got {noise!r}")
    return noise


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def _check_schedule(schedule: Any, names) -> str:
    if not isinstance(schedule, str) or schedule not in names:
        raise ValueError(f"schedule must be one of {', '.join(names)}, got {schedule!r}")
    return schedule


def _check_warmup(warmup: Any, steps: int, high: int) -> int:
    """The warm-up length in steps; None gives a fifth of the run (at least 1)."""
    if warmup is None:
        return max(1, steps // 5)
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)):
        raise TypeError(f"warmup must be a whole number of steps, got {warmup!r}")
    if not 0 <= int(warmup) <= high:
        raise ValueError(f"warmup must be between 0 and {high} steps, got {warmup!r}")
    return int(warmup)


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


# ---------------------------------------------------------------------------------------------
# Slider grids: what a slider shows is the value the explorer computes with
#
# A slider can only show and send the points of its grid (min + k step); a value between two
# grid points is shown as a grid point the kernel does not have. So every number control is
# built around its opening value:
#
# * linear ranges: the step comes from a 1-2-5 ladder (0.01, 0.02, 0.05, 0.1, ...), min and max
#   sit on the grid, and the step is made finer (by at most one decade) until the opening value
#   is on the grid; a value that fits no such grid gets a number box beside the slider
#   (``SliderText``), which holds the exact value; so does a value set later from Python
#   (``_fit_value``, then ``_LiveFigure._number_box``);
# * parameters that live near 1 (a range from >= 0 to 0.995..0.9999: beta2, rho, alpha, gamma) get a
#   ``SelectionSlider`` over a ladder of nines (0.9, 0.99, 0.999, 0.9999, ...);
# * log ranges (eps, kappa, log lr) get a ``SelectionSlider`` over a 1-2-5 ladder of decades.
#
# A ``SelectionSlider``'s value is the number and its label the number's shortest exact text,
# and the opening value is always one of its options. The readout of a ``FloatSlider`` has as
# many decimals as its step.

#: The ladder of parameters that live near 1 (beta2, rho, alpha, gamma).
NINES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999)
#: How many grid steps a linear hyperparameter slider has (about; the step is a 1-2-5 value).
DIVISIONS = 100
#: ... and a start-point slider (x1, x2, x0): finer, so a click lands close to where it was.
START_DIVISIONS = 500
_MANTISSAS = (1, 2, 5)


def _ladder_value(m: int, e: int) -> float:
    """m * 10^e as the float nearest to the decimal number (``2e-7``, not ``2 * 10**-7``)."""
    return float(f"{m}e{e}")


def _ladder_below(x: float) -> float:
    """The largest 1-2-5 ladder value <= x (x > 0)."""
    e = math.floor(math.log10(x))
    best = _ladder_value(1, e - 1) * 5
    for ee in (e - 1, e, e + 1):
        for m in _MANTISSAS:
            v = _ladder_value(m, ee)
            if v <= x * (1 + 1e-12) and v > best:
                best = v
    return best


def _finer(step: float) -> float:
    """The next 1-2-5 ladder value below ``step``."""
    return _ladder_below(step * (1 - 1e-9))


def _decimals(step: float) -> int:
    """How many decimals print every point of a grid with this step exactly (at most 12)."""
    for d in range(13):
        if abs(round(step, d) - step) <= 1e-12 * max(1.0, abs(step)):
            return d
    return 12


def _on_grid(value: float, step: float, origin: float = 0.0) -> bool:
    """Whether ``value`` is a grid point origin + k step (to float precision)."""
    k = (float(value) - origin) / step
    return abs(k - round(k)) <= 1e-6


def _snap(x: float, step: float, up: bool) -> float:
    """The grid point (a multiple of ``step``) at or above (``up``) / below ``x``, as the float
    nearest to its decimal value."""
    k = x / step
    k = math.ceil(k - 1e-9) if up else math.floor(k + 1e-9)
    return round(k * step, _decimals(step)) + 0.0


def _grid(low: float, high: float, values, base: float, finest: float):
    """(min, max, step) of a grid inside [low, high] that holds every one of ``values``: the
    step is ``base`` or the first value down the 1-2-5 ladder (not below ``finest``) that
    holds them; None when no such step does."""
    step = base
    while step >= finest * (1 - 1e-9):
        if all(_on_grid(v, step) for v in values):
            lo, hi = _snap(low, step, up=True), _snap(high, step, up=False)
            if lo < hi:
                return lo, hi, step
        step = _finer(step)
    return None


def _linear_grid(low: float, high: float, value: float, step: Optional[float] = None,
                 divisions: int = DIVISIONS):
    """(min, max, step, exact) of a linear slider over [low, high] for ``value``; ``exact``
    says whether ``value`` sits on the grid (else a number box must hold it)."""
    low, high = min(low, value), max(high, value)
    base = float(step) if step else _ladder_below((high - low) / divisions)
    g = _grid(low, high, [value], base, base / 10)
    if g is not None:  # (a value within float error of the grid's end stays inside it)
        return min(g[0], value), max(g[1], value), g[2], True
    return _snap(low, base, up=False), _snap(high, base, up=True), base, False


def _log_ladder(low: float, high: float):
    """1-2-5 values of every decade between low and high (both > 0), and the ends themselves."""
    out = {float(low), float(high)}
    for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for m in _MANTISSAS:
            v = _ladder_value(m, e)
            if low * (1 - 1e-12) <= v <= high * (1 + 1e-12):
                out.add(v)
    return out


def _near_one(low: float, high: float) -> bool:
    """A range for a parameter that lives near 1 (beta2, rho, alpha, gamma): from >= 0 up to
    0.995 .. 0.9999..., short of 1 (a range up to 1 itself, such as (0, 1) for lr, is linear)."""
    return 0.0 <= low and 0.995 <= high < 1.0


def _selection(values, value: float, description: str):
    """A ``SelectionSlider`` over ``values`` (plus ``value``), labelled with exact texts; its
    ``.value`` is the number."""
    opts = sorted(set(float(v) for v in values) | {float(value)})
    # by index: ipywidgets leaves the label empty when value= is the first option
    return _slider("SelectionSlider", options=[(_exact_text(v), v) for v in opts],
                   index=opts.index(float(value)), description=description)


def _widgets():
    import ipywidgets

    return ipywidgets


def _slider(kind: str, **kw):
    """A ``FloatSlider``/``SelectionSlider``/``IntSlider`` that updates while it is dragged,
    with its own 360px layout (widgets that share a ``Layout`` are hidden together)."""
    w = _widgets()
    return getattr(w, kind)(continuous_update=True, style={"description_width": "initial"},
                            layout=w.Layout(width="360px"), **kw)


def _dropdown(width: str, **kw):
    """A ``Dropdown`` ``width`` wide."""
    w = _widgets()
    return w.Dropdown(style={"description_width": "initial"}, layout=w.Layout(width=width), **kw)


_SLIDER_TEXT = None


def _slider_text_class():
    """``SliderText``: a slider for moving and a number box that holds the exact value (made on
    first use: ipywidgets loads only when a widget is made)."""
    global _SLIDER_TEXT
    if _SLIDER_TEXT is not None:
        return _SLIDER_TEXT
    import traitlets

    w = _widgets()

    class SliderText(w.HBox):
        """A number control for a value that sits on no sensible slider grid: ``value`` is the
        exact number (shown in the box, which also takes typed numbers); the slider (no
        readout of its own) moves it on its grid and follows it to the nearest grid point."""

        value = traitlets.Float()

        def __init__(self, *, value, min, max, step, description):
            lo, hi = _snap(min, step, up=False), _snap(max, step, up=True)
            # the slider sits on a grid point: a front end snaps an off-grid value and sends it back
            self.slider = _slider("FloatSlider", value=_clip(_grid_point(value, step), lo, hi),
                                  min=lo, max=hi, step=step, description=description, readout=False,
                                  readout_format=f".{_decimals(step)}f")
            self.text = w.BoundedFloatText(value=value, min=min, max=max,
                                           layout=w.Layout(width="120px"))
            self._syncing = False
            super().__init__(children=[self.slider, self.text])
            self.value = float(value)
            self.slider.observe(self._from_slider, names="value")
            self.text.observe(self._from_text, names="value")
            self.observe(self._to_parts, names="value")

        def _from_slider(self, change):
            if self._syncing:
                return
            v = float(change["new"])
            if abs(v - self._slider_point(self.value)) <= 1e-6 * float(self.slider.step):
                # the grid point the kernel put the slider on, sent back: ipywidgets 8's slider
                # does that when its own step arithmetic changes the last bits (0.9 comes back
                # as 0.9000000000000001); the exact value in the box stays
                return
            self.value = _grid_point(v, float(self.slider.step))  # a learner's move: the grid point

        def _slider_point(self, v):
            """The grid point the slider shows for the value ``v`` (the nearest, inside its range)."""
            return _clip(_grid_point(v, float(self.slider.step)), self.slider.min, self.slider.max)

        def _from_text(self, change):
            if not self._syncing:
                self.value = float(change["new"])

        def _to_parts(self, change):
            self._syncing = True
            try:
                v = float(change["new"])
                if not self.text.min <= v <= self.text.max:
                    self.set_range(min(v, self.min), max(v, self.max), self.step)
                self.text.value = v
                self.slider.value = self._slider_point(v)
            finally:
                self._syncing = False

        @property
        def description(self):
            return self.slider.description

        @property
        def min(self):
            return self.text.min

        @property
        def max(self):
            return self.text.max

        @property
        def step(self):
            return self.slider.step

        def set_range(self, low, high, step):
            self._syncing = True
            try:
                _set_range(self.text, low, high)
                lo, hi = _snap(low, step, up=False), _snap(high, step, up=True)
                _set_range(self.slider, lo, hi)
                self.slider.step = step
                self.slider.readout_format = f".{_decimals(step)}f"
                self.slider.value = self._slider_point(self.value)
            finally:
                self._syncing = False

    _SLIDER_TEXT = SliderText
    return SliderText


def _clip(v: float, lo: float, hi: float) -> float:
    return min(max(float(v), lo), hi)


def _grid_point(x: float, step: float) -> float:
    """The multiple of ``step`` nearest to ``x``, as the float nearest to its decimal value."""
    return round(round(float(x) / step) * step, _decimals(step)) + 0.0


def _number_control(value: float, low: float, high: float, description: str,
                    step: Optional[float] = None, divisions: int = DIVISIONS):
    """A linear number control for ``value`` on [low, high] (widened to hold ``value``): a
    ``FloatSlider`` whose grid holds ``value`` (readout with the step's decimals), or a
    ``SliderText`` when no sensible grid does."""
    lo, hi, st, exact = _linear_grid(float(low), float(high), float(value), step, divisions)
    if exact:
        return _slider("FloatSlider", value=float(value), min=lo, max=hi, step=st,
                       description=description, readout_format=f".{_decimals(st)}f")
    return _slider_text_class()(value=float(value), min=min(low, value), max=max(high, value), step=st,
                                description=description)


def _regrid(widget, low: float, high: float, divisions: int = DIVISIONS,
            value: Optional[float] = None, step: Optional[float] = None) -> None:
    """A new range [low, high] for a linear number control (a new view, method or objective),
    with ``value`` (default: keep the current one): the step comes from the ladder again and
    gets finer if the value needs it; the range widens to hold the value."""
    value = float(widget.value if value is None else value)
    low, high = min(low, value), max(high, value)
    if isinstance(widget, _widgets().FloatSlider):
        lo, hi, step, exact = _linear_grid(low, high, value, step, divisions)
        if not exact:  # keep the value: the finest grid that holds it
            g = _grid(low, high, [value], step, step * 1e-6)
            lo, hi, step = g if g is not None else (low, high, step)
        _set_range(widget, min(lo, widget.min), max(hi, widget.max))
        widget.step = step
        widget.readout_format = f".{_decimals(step)}f"
        widget.value = value
        _set_range(widget, lo, hi)
    elif hasattr(widget, "set_range"):
        lo, hi, step, _ = _linear_grid(low, high, value, step, divisions)
        widget.set_range(low, high, step)
        widget.value = value


def _fit_value(widget) -> bool:
    """A ``FloatSlider`` set (from Python) to a value off its grid gets a finer step that holds
    it (by one decade at most, as at the opening), so that its readout shows the value the
    explorer uses. False when no such grid holds it: the explorer then puts a ``SliderText`` in
    the slider's place (``_LiveFigure._number_box``)."""
    if type(widget) is not _widgets().FloatSlider:
        return True
    value, step, lo = float(widget.value), float(widget.step), float(widget.min)
    if _on_grid(value, step) and _on_grid(lo, step):
        return True
    g = _grid(lo, float(widget.max), [value, lo, float(widget.max)], step, step / 10)
    if g is None:
        return False
    widget.step = g[2]
    widget.readout_format = f".{_decimals(g[2])}f"
    return True


def _start_step(view) -> float:
    """The step of both start sliders of a 2-D view: a 1-2-5 value near the larger side / 500."""
    return _ladder_below(max(view[1] - view[0], view[3] - view[2]) / START_DIVISIONS)


def _nearest(widget, x: float) -> float:
    """The point of a linear number control's grid nearest to ``x``, inside its range (where a
    click on the plot puts the start)."""
    step = float(widget.step)
    d = _decimals(step)
    v = round(round(float(x) / step) * step, d) + 0.0
    lo, hi = float(widget.min), float(widget.max)
    if v < lo:
        v = _snap(lo, step, up=True)
    elif v > hi:
        v = _snap(hi, step, up=False)
    return min(max(v, lo), hi)


def _assign(widget, value) -> None:
    """Set a control's value from Python (``explorer.set``): a ``SelectionSlider`` gets the
    value as a new option when it has none equal to it; a slider widens to hold it."""
    w = _widgets()
    if isinstance(widget, w.SelectionSlider):
        v = float(value)
        options = [o[1] if isinstance(o, tuple) else o for o in widget.options]
        if v not in options:
            widget.options = [(_exact_text(o), o) for o in sorted(set(options) | {v})]
        widget.value = v
        return
    if isinstance(widget, (w.FloatSlider, w.IntSlider)) and not isinstance(value, bool):
        v = float(value)
        if v < widget.min or v > widget.max:
            _set_range(widget, min(v, widget.min), max(v, widget.max))
    widget.value = value


def _readout_text(widget, value: Any = None) -> Optional[str]:
    """What a control's readout shows for ``value`` (default: its value), None for controls
    without one: the label of a SelectionSlider, the number at the readout's precision for a
    FloatSlider, the exact number in a SliderText's box (the browser tests compare)."""
    w = _widgets()
    v = widget.value if value is None else value
    if isinstance(widget, w.SelectionSlider):
        return _exact_text(v)
    if isinstance(widget, w.IntSlider):
        return str(int(v))
    if isinstance(widget, w.FloatSlider):
        fmt = str(widget.readout_format)
        return format(float(v), fmt if fmt.endswith("f") else ".2f")
    if hasattr(widget, "set_range"):
        return _exact_text(v)
    return None


def _make_control(name: str, default: Any, rng: Any, value: Any, description: Optional[str] = None):
    """A widget for one hyperparameter: Checkbox (bool), SelectionSlider (log range, or a range
    near 1), IntSlider (integer range), FloatSlider or SliderText (linear range). None when it
    has no range. The opening value always sits on the control's grid (see above)."""
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
        return _selection(_log_ladder(low, high), value, desc)
    if getattr(rng, "integer", False):
        if not value.is_integer():
            raise ValueError(f"{name} takes whole numbers, got {value!r}")
        lo, hi = int(math.floor(min(low, value))), int(math.ceil(max(high, value)))
        step = max(1, int(rng.step or 1))
        if (int(value) - lo) % step:
            step = 1
        return _slider("IntSlider", value=int(value), min=lo, max=hi, step=step, description=desc)
    if _near_one(low, high):
        return _selection([v for v in NINES if low <= v <= high] + [low, high], value, desc)
    return _number_control(value, low, high, desc, step=rng.step)


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

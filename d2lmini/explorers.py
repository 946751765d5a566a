"""Live explorers: move an optimizer's knobs and watch its path change.

Three entry points, each returning an object that displays itself in a notebook:

* :func:`explore` -- one update rule on a 2-D objective: a contour plot with the path, a
  loss-versus-step panel, a slider per hyperparameter (:class:`Explorer2D`).
* :func:`explore_1d` -- gradient descent or Newton's method on a 1-D function, optionally with
  the local quadratic model at each iterate (:class:`Explorer1D`).
* :func:`race` -- several optimizers on the same objective from the same start (:class:`Race`).

How it stays fast: the figure is built once with matplotlib's object API (``Figure`` +
``FigureCanvasAgg``, never pyplot, so the notebook backend does not matter). The contour grid is
cached per (objective, parameters, view) and the static picture (contours, axes, labels) is
rendered once into a background bitmap. A slider move recomputes the path (pure NumPy), restores
the background, draws only the path artists and encodes one PNG frame (zlib level 1) into an
``ipywidgets.Image``. Bursts of slider events are coalesced: the path is recomputed at once (so
``trajectory`` and ``readout`` are always current), the frame at most every ~30 ms with one
trailing frame scheduled on the running event loop. Under the ipympl backend (``%matplotlib
widget``) the figure's own canvas widget is used instead and a click on the contour plot moves
the start point.

How it stays safe: a run that produces a non-finite point, leaves the objective's view by a
factor of a million or makes the rule raise ``OverflowError``/``FloatingPointError``/
``ZeroDivisionError``/``LinAlgError`` stops there (``diverged_at`` = that step). The drawn path
is cut where it leaves the view and marked with a red cross; the axes limits never move. Any
other error inside a widget callback is shown as a traceback in an ``Output`` widget under the
figure instead of being lost.

Only widgets present in both ipywidgets 7.6+ and 8.x are used (Colab ships ipywidgets 7).
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import math
import struct
import time
import traceback
import weakref
import zlib
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import objectives as _objectives

__all__ = [
    "explore",
    "explore_1d",
    "race",
    "live_explorers",
    "Explorer2D",
    "Explorer1D",
    "Race",
    "PRESETS",
    "SCHEDULES",
    "METHODS_1D",
]

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

#: Learning-rate schedules of the stochastic explorer: step t = 1, 2, ... multiplies lr by this.
SCHEDULES: Dict[str, Callable[[int], float]] = {
    "constant": lambda t: 1.0,
    "exponential": lambda t: math.exp(-0.1 * t),
    "polynomial": lambda t: (1.0 + 0.1 * t) ** -0.5,
}

#: Methods of :func:`explore_1d` (a rule function may be passed too).
METHODS_1D: Tuple[str, ...] = ("gd", "newton", "newton |f''|")

MAX_STEPS = 200
MAX_STEPS_1D = 50
#: A point farther than this many view sizes from the origin counts as diverged.
DIVERGENCE_FACTOR = 1e6
#: Minimum time between two frames; events in between are coalesced into one trailing frame.
FRAME_INTERVAL = 0.03

_DIVERGENCE_ERRORS = (OverflowError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError)
_PATH_COLOR = "#ff7f0e"
_RACE_COLORS = (
    "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#7f7f7f", "#000000", "#1f77b4",
)
_CONTOUR_COLOR = "#1f77b4"
_CROSS_COLOR = "#d62728"
_DPI = 100
# Names of the explorer's own controls; a hyperparameter may not take one of them.
_RESERVED = ("rule", "objective", "kappa", "angle", "steps", "x1", "x2", "noise", "schedule")


# Every explorer made in this process, oldest first (the notebook tests exercise them all).
_LIVE: List["weakref.ref"] = []


def live_explorers() -> list:
    """The explorers created in this process that are still alive and not closed, oldest first."""
    alive = [r() for r in _LIVE]
    _LIVE[:] = [weakref.ref(e) for e in alive if e is not None]
    return [e for e in alive if e is not None and not getattr(e, "closed", False)]


# ---------------------------------------------------------------------------------------------
# Small helpers


def _fmt(value: float) -> str:
    """How the readouts print numbers (tests format the same way)."""
    return f"{float(value):.6g}"


def _presenter_scale() -> float:
    from .plotting import presenter_scale

    return presenter_scale()


def _ipympl_active() -> bool:
    """True when matplotlib's backend is ipympl (``%matplotlib widget`` / ``ipympl``)."""
    import matplotlib

    try:
        name = matplotlib.rcParams._get_backend_or_none()  # does not trigger backend resolution
    except AttributeError:  # pragma: no cover - very old matplotlib
        name = matplotlib.get_backend()
    if not name:
        return False
    name = str(name).lower()
    return "ipympl" in name or name == "widget"


def _rules_module():
    from . import rules

    return rules


def _registry() -> Mapping[str, Callable]:
    registry = getattr(_rules_module(), "RULES", None)
    if not registry:
        raise RuntimeError(
            "d2lmini.rules has no RULES registry yet; pass a rule function instead of a name"
        )
    return registry


def _resolve_rule(rule: Union[str, Callable]) -> Tuple[Optional[str], Callable]:
    """(name or None, function) for a rule name or a rule function."""
    if isinstance(rule, str):
        registry = _registry()
        if rule not in registry:
            raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(registry)}")
        return rule, registry[rule]
    if callable(rule):
        return None, rule
    raise TypeError(f"rule must be a rule name or a function rule(x, g, state, **hp), got {rule!r}")


def _rule_label(name: Optional[str], fn: Callable) -> str:
    return name or getattr(fn, "__name__", "rule")


def _hyperparameters(rule: Callable) -> Dict[str, Tuple[Any, Any]]:
    return _rules_module().hyperparameters_of(rule)


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


def _check_view(view: Any, name: str = "view") -> View:
    try:
        v = tuple(float(a) for a in view)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be (x1min, x1max, x2min, x2max), got {view!r}") from None
    if len(v) != 4 or not all(math.isfinite(a) for a in v) or not (v[0] < v[1] and v[2] < v[3]):
        raise ValueError(
            f"{name} must be four finite numbers (x1min, x1max, x2min, x2max) with min < max, "
            f"got {view!r}"
        )
    return v  # type: ignore[return-value]


def _check_steps(steps: Any, high: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    if not 1 <= int(steps) <= high:
        raise ValueError(f"steps must be between 1 and {high}, got {steps!r}")
    return int(steps)


def _inside(points: np.ndarray, view: View) -> np.ndarray:
    p = np.atleast_2d(points)
    return (
        (p[:, 0] >= view[0]) & (p[:, 0] <= view[1]) & (p[:, 1] >= view[2]) & (p[:, 1] <= view[3])
    )


def _drawn_path(points: np.ndarray, escape: Optional[np.ndarray], view: View, stopped: bool):
    """What to draw of a path.

    Returns ``(xy, n_markers, cross, exit_step)``: the vertices to draw, how many of them get a
    marker, the point to mark with a red cross (or None) and the step at which the path left
    the view for good (or None). A path that ends inside the view and did not diverge is drawn
    whole (the axes clip excursions); otherwise it is cut where it last leaves the view.
    """
    inside = _inside(points, view)
    if not stopped and inside[-1]:
        return points, len(points), None, None
    idx = np.flatnonzero(inside)
    if idx.size == 0:  # cannot happen with a start inside the view
        return points[:1], 1, points[0], 0
    j = int(idx[-1])
    nxt = points[j + 1] if j + 1 < len(points) else escape
    if nxt is not None and np.all(np.isfinite(nxt)) and not _inside(nxt, view)[0]:
        from .plotting import border_point

        border = border_point(points[j], np.asarray(nxt, dtype=float), view)
        return np.vstack([points[: j + 1], border]), j + 1, border, j + 1
    return points[: j + 1], j + 1, points[j], None


def _encode_png(rgba: np.ndarray) -> bytes:
    """A PNG of an (h, w, 4) uint8 array: no filter, zlib level 1 (fast, still lossless)."""
    h, w = rgba.shape[:2]
    raw = np.empty((h, w * 4 + 1), dtype=np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = rgba.reshape(h, w * 4)
    data = zlib.compress(raw, 1)

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + tag + payload
            + struct.pack(">I", zlib.crc32(tag + payload) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# Contour grids, cached per (objective, parameters, view).
_GRID_CACHE: "OrderedDict[Any, Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]" = OrderedDict()
_GRID_CACHE_SIZE = 32


def _grid_key(objective, view: View, builtin: bool):
    params = tuple(sorted((k, float(v)) for k, v in objective.params.items()))
    return (objective.name, objective.title, params, tuple(view), None if builtin else id(objective))


def _contour_grid(objective, view: View, builtin: bool):
    key = _grid_key(objective, view, builtin)
    hit = _GRID_CACHE.get(key)
    if hit is not None:
        _GRID_CACHE.move_to_end(key)
        return hit
    with np.errstate(all="ignore"):
        x1, x2, z = objective.grid(view)
        z = np.asarray(z, dtype=float)
        if np.isfinite(z).sum() >= 2 and np.nanmax(z[np.isfinite(z)]) > np.nanmin(z[np.isfinite(z)]):
            levels = np.asarray(objective.levels(z), dtype=float)
        else:
            levels = np.array([])
    hit = (x1, x2, np.ma.masked_invalid(z), levels)
    _GRID_CACHE[key] = hit
    while len(_GRID_CACHE) > _GRID_CACHE_SIZE:
        _GRID_CACHE.popitem(last=False)
    return hit


def _loss_limits(objective, view: View, builtin: bool) -> Tuple[float, float]:
    """Fixed log y-limits of the loss panel for an objective: a decade above its largest gap."""
    z = _contour_grid(objective, view, builtin)[2]
    finite = np.asarray(z.filled(np.nan), dtype=float)
    finite = finite[np.isfinite(finite)]
    top = float(finite.max() - objective.fmin) if finite.size else 1.0
    if not math.isfinite(top) or top <= 0:
        top = 1.0
    top = 10.0 ** math.ceil(math.log10(top) + 1e-9)
    bottom = max(top * 1e-10, 1e-14)
    return bottom, top


def _remove_artist(artist) -> None:
    if artist is None:
        return
    try:
        artist.remove()
    except (AttributeError, NotImplementedError, ValueError):  # matplotlib < 3.8 ContourSet
        for coll in getattr(artist, "collections", ()):
            with contextlib.suppress(ValueError):
                coll.remove()


def _widgets():
    import ipywidgets

    return ipywidgets


def _decimals(step: float) -> int:
    return max(2, min(6, -int(math.floor(math.log10(step))) if step > 0 else 2))


def _make_control(name: str, default: Any, rng: Any, value: Any, description: Optional[str] = None):
    """A widget for one hyperparameter: Checkbox (bool), FloatLogSlider (log range),
    IntSlider (integer range) or FloatSlider. None when it has no range."""
    w = _widgets()
    desc = description or name
    style = {"description_width": "initial"}
    layout = w.Layout(width="360px")
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
        return w.FloatLogSlider(
            value=value, base=10, min=lo_e, max=hi_e, step=(hi_e - lo_e) / 100,
            description=desc, readout_format=".2e", continuous_update=True,
            style=style, layout=layout,
        )
    low, high = min(low, value), max(high, value)
    if getattr(rng, "integer", False):
        return w.IntSlider(
            value=int(round(value)), min=int(math.floor(low)), max=int(math.ceil(high)),
            step=max(1, int(rng.step or 1)), description=desc, continuous_update=True,
            style=style, layout=layout,
        )
    step = float(rng.step) if rng.step else (high - low) / 200
    return w.FloatSlider(
        value=value, min=low, max=high, step=step, description=desc,
        readout_format=f".{_decimals(step)}f", continuous_update=True, style=style, layout=layout,
    )


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


def _note(ax, fontsize: float):
    """The "diverged at step k" label that sits next to a red cross."""
    return ax.annotate(
        "", xy=(0.0, 0.0), xytext=(8, 8), textcoords="offset points", color=_CROSS_COLOR,
        fontsize=fontsize, zorder=8, annotation_clip=False,
        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85),
    )


def _place_note(note, text: str, at: Sequence[float], view: View) -> None:
    """Put ``note`` next to the point ``at``, on the side towards the middle of the view."""
    right = at[0] > (view[0] + view[1]) / 2
    top = at[1] > (view[2] + view[3]) / 2
    note.set_text(text)
    note.set_visible(True)
    note.xy = (float(at[0]), float(at[1]))
    note.set_position((-10 if right else 10, -10 if top else 10))
    note.set_horizontalalignment("right" if right else "left")
    note.set_verticalalignment("top" if top else "bottom")


def _set_visible(widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


# ---------------------------------------------------------------------------------------------
# Path computation (pure NumPy)


def _run_rule(
    rule: Callable,
    objective,
    start: Sequence[float],
    steps: int,
    hp: Mapping[str, Any],
    *,
    needs_hess: bool = False,
    lr_key: Optional[str] = None,
    schedule: str = "constant",
    noise: float = 0.0,
    noise_table: Optional[np.ndarray] = None,
    limit: float = math.inf,
):
    """Run ``rule`` from ``start`` for ``steps`` steps.

    Returns ``(points, diverged_at, escape, error)``: the finite points x_0..x_k (the run stops
    before a diverging point), the step at which it diverged (or None), the far-away finite
    point that stopped it (or None) and ``(step, exception, traceback text)`` when the rule
    raised anything else.
    """
    points = np.empty((steps + 1, 2))
    points[0] = np.asarray(start, dtype=float)
    x = points[0].copy()
    state: Dict[str, Any] = {}
    diverged = escape = error = None
    factor = SCHEDULES[schedule]
    scheduled = schedule != "constant" and lr_key is not None and lr_key in hp
    kw = dict(hp)
    n = 0
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            try:
                g = objective.grad(x)
                if noise and noise_table is not None:
                    g = g + noise * noise_table[t - 1]
                if scheduled:
                    kw[lr_key] = hp[lr_key] * factor(t)
                if needs_hess:
                    kw["hess"] = objective.hess(x)
                new = np.asarray(rule(x, g, state, **kw), dtype=float)
                if new.shape != (2,):
                    if new.size != 2:
                        raise ValueError(
                            f"the rule returned an array of shape {new.shape}; "
                            "it must return the new point, shape (2,)"
                        )
                    new = new.reshape(2)
            except _DIVERGENCE_ERRORS:
                diverged = t
                break
            except Exception as exc:  # a bug in a rule: report it, keep the picture
                error = (t, exc, traceback.format_exc())
                break
            if not (math.isfinite(new[0]) and math.isfinite(new[1])):
                diverged = t
                break
            if max(abs(new[0]), abs(new[1])) > limit:
                diverged = t
                escape = new.copy()
                break
            points[t] = new
            x = points[t].copy()
            n = t
    return points[: n + 1].copy(), diverged, escape, error


# ---------------------------------------------------------------------------------------------
# The live-figure machinery shared by all explorers


class _LiveFigure:
    """A matplotlib figure shown as a PNG ``ipywidgets.Image`` (blitting, throttled frames),
    or as ipympl's canvas widget when that backend is active."""

    frame_interval = FRAME_INTERVAL

    def _init_figure(self, figsize: Tuple[float, float]) -> None:
        w = _widgets()
        self._hold = 0
        self._pending = None
        self._frame_stale = True
        self._last_frame_end = -math.inf
        self._frame = b""
        self._bg = None
        self._bg_base = None
        self._static_dirty = True
        self._layer_dirty = True
        self._layer_ax = None
        self._animated: List[Any] = []
        self._shown_error: Optional[str] = None
        self.n_frames = 0
        self.n_updates = 0
        self.closed = False
        self.error: Optional[str] = None
        if len(_LIVE) > 200:
            _LIVE[:] = [r for r in _LIVE if r() is not None]
        _LIVE.append(weakref.ref(self))
        self.output = w.Output(layout=w.Layout(max_width="100%"))
        scale = _presenter_scale()
        self.scale = scale
        self.fontsize = 12.0 * scale
        size = (figsize[0] * scale, figsize[1] * scale)
        self.ipympl = False
        self.fig = None
        if _ipympl_active():
            try:
                import matplotlib.pyplot as plt

                with plt.ioff():
                    fig = plt.figure(figsize=size, dpi=_DPI)
                self.fig = fig
                self.canvas = fig.canvas
                self.ipympl = True
                for attr, value in (("header_visible", False), ("resizable", False)):
                    with contextlib.suppress(Exception):
                        setattr(fig.canvas, attr, value)
            except Exception:  # pragma: no cover - broken ipympl: fall back to PNG frames
                self.fig = None
                self.ipympl = False
        if self.fig is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            self.fig = Figure(figsize=size, dpi=_DPI)
            self.canvas = FigureCanvasAgg(self.fig)
        self.image = None if self.ipympl else w.Image(format="png", layout=w.Layout(max_width="100%"))

    @property
    def figure_widget(self):
        """The widget that shows the figure (an Image, or ipympl's canvas)."""
        return self.canvas if self.ipympl else self.image

    def _animate(self, artist):
        artist.set_animated(not self.ipympl)
        self._animated.append(artist)
        return artist

    # --- error reporting --------------------------------------------------------------------
    def _report(self, text: Optional[str]) -> None:
        """Show ``text`` (a traceback) in the Output widget; None clears it."""
        self.error = text
        if text == self._shown_error:
            return
        self._shown_error = text
        self.output.outputs = ()
        if text:
            self.output.append_stderr(text)

    def _guard(self, fn: Callable, *args) -> Any:
        try:
            return fn(*args)
        except Exception:
            self._report(traceback.format_exc())
            return None

    # --- batching and updates ------------------------------------------------------------
    @contextlib.contextmanager
    def _batch(self):
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
            if self._hold == 0:
                self._refresh()

    @contextlib.contextmanager
    def _quiet(self):
        """Change controls without triggering recomputation (the caller refreshes)."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1

    def _refresh(self) -> None:
        """Recompute the results and ask for a frame (throttled)."""
        self._compute()
        self.n_updates += 1
        self._request_frame()

    def update(self) -> None:
        """Recompute and redraw now, synchronously."""
        self._compute()
        self.n_updates += 1
        self._render_frame()

    def _on_control(self, name: str) -> None:
        self._apply(name)
        if self._hold == 0:
            self._refresh()

    def _observe(self, name: str, widget) -> None:
        widget.observe(lambda change, name=name: self._guard(self._on_control, name), names="value")

    def _apply(self, name: str) -> None:  # structural reactions to a control; overridden
        pass

    def _set_priority(self, name: str) -> int:
        return 5

    def set(self, **values) -> None:
        """Set several controls at once (one recomputation, one frame)."""
        with self._batch():
            for name in sorted(values, key=self._set_priority):
                if name not in self.controls:
                    raise ValueError(
                        f"unknown control {name!r}; controls are {', '.join(self.controls)}"
                    )
                self.controls[name].value = values[name]

    # --- frames ---------------------------------------------------------------------------
    def _request_frame(self) -> None:
        if self.ipympl:
            self._render_frame()
            return
        self._frame_stale = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        now = time.perf_counter()
        if loop is None or now - self._last_frame_end >= self.frame_interval:
            self._render_frame()
            return
        if self._pending is None:
            delay = max(0.0, self.frame_interval - (now - self._last_frame_end))
            self._pending = loop.call_later(delay, self._trailing_frame)

    def _trailing_frame(self) -> None:
        self._pending = None
        if self._frame_stale:
            self._guard(self._render_frame)

    def _render_background(self) -> None:
        canvas, fig = self.canvas, self.fig
        if self._layer_ax is not None:
            self._layer_ax.set_visible(False)
            canvas.draw()
            self._layer_ax.set_visible(True)
        else:
            canvas.draw()
        self._bg_base = canvas.copy_from_bbox(fig.bbox)
        self._layer_dirty = True

    def _render_layer(self) -> None:
        canvas, fig = self.canvas, self.fig
        canvas.restore_region(self._bg_base)
        if self._layer_ax is not None:
            fig.draw_artist(self._layer_ax)
        self._bg = canvas.copy_from_bbox(fig.bbox)
        self._layer_dirty = False

    def _render_frame(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._static_dirty:
            self._rebuild_static()
            self._static_dirty = False
            self._bg_base = None
        if self.ipympl:
            self.canvas.draw_idle()
            self._frame_stale = True  # the PNG is made on demand (see ``frame``)
            self._last_frame_end = time.perf_counter()
            self.n_frames += 1
            return
        if self._bg_base is None:
            self._render_background()
        if self._layer_dirty or self._bg is None:
            self._render_layer()
        canvas = self.canvas
        canvas.restore_region(self._bg)
        for artist in self._animated:
            if artist.get_visible():
                self.fig.draw_artist(artist)
        self._frame = _encode_png(np.asarray(canvas.buffer_rgba()))
        self.image.value = self._frame
        self._frame_stale = False
        self._last_frame_end = time.perf_counter()
        self.n_frames += 1

    @property
    def frame(self) -> bytes:
        """The PNG bytes of the current frame (drawn now if one is pending)."""
        if self.ipympl:
            import io

            buf = io.BytesIO()
            self.fig.savefig(buf, format="png", dpi=self.fig.dpi)
            self._frame = buf.getvalue()
            return self._frame
        if self._frame_stale:
            self._render_frame()
        return self._frame

    # --- display ----------------------------------------------------------------------------
    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        method = getattr(self.widget, "_repr_mimebundle_", None)
        if method is not None:
            return method(include=include, exclude=exclude, **kwargs)
        return {  # ipywidgets 7
            "text/plain": repr(self),
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            },
        }

    def _order_controls(self, first: Sequence[str]) -> None:
        """Put the named controls (the hyperparameters) first in ``controls``."""
        items = list(self.controls.items())
        self.controls.clear()
        self.controls.update((k, v) for k, v in items if k in first)
        self.controls.update((k, v) for k, v in items if k not in first)

    def close(self) -> None:
        """Close the widgets (and the pyplot figure under ipympl)."""
        self.closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self.ipympl:
            import matplotlib.pyplot as plt

            plt.close(self.fig)
        seen = set()
        todo = [getattr(self, "widget", None), *self.controls.values(),
                *getattr(self, "buttons", {}).values()]
        while todo:  # a container's close() leaves its children open: close the whole tree
            widget = todo.pop()
            if widget is None or id(widget) in seen:
                continue
            seen.add(id(widget))
            todo.extend(getattr(widget, "children", ()))
            with contextlib.suppress(Exception):
                widget.close()

    # subclasses implement
    def _compute(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rebuild_static(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# 2-D explorers


class _Run:
    """One optimizer on the contour plot: its rule, its hyperparameter controls and results."""

    def __init__(self, label: str, rule: Callable, rule_name: Optional[str], color: str):
        self.label = label
        self.color = color
        self.controls: Dict[str, Any] = {}
        self.fixed: Dict[str, Any] = {}
        self.set_rule(rule, rule_name)
        self.trajectory = np.zeros((1, 2))
        self.losses = np.zeros(1)
        self.diverged_at: Optional[int] = None
        self.exit_step: Optional[int] = None
        self.escape = None
        self.error = None

    def set_rule(self, rule: Callable, rule_name: Optional[str]) -> None:
        self.rule = rule
        self.rule_name = rule_name
        self.info = _hyperparameters(rule)
        self.needs_hess = _takes(rule, "hess")
        self.lr_key = "lr" if "lr" in self.info else ("eta" if "eta" in self.info else None)

    def hp(self) -> Dict[str, Any]:
        out = dict(self.fixed)
        for name, widget in self.controls.items():
            value = widget.value
            out[name] = bool(value) if isinstance(value, (bool, np.bool_)) else value
        return out


class _Contour2D(_LiveFigure):
    """Contour plot + paths + loss panel; the common part of Explorer2D and Race."""

    _runs: List[_Run]

    def _init_objective(self, objective, view, start) -> None:
        if isinstance(objective, str):
            self.objective = _objectives.get(objective)
            self._given = None
        elif isinstance(objective, _objectives.Objective):
            self.objective = objective
            self._given = objective
        else:
            raise TypeError(
                f"objective must be a name ({', '.join(_objectives.NAMES)}) or an Objective, "
                f"got {objective!r}"
            )
        self.home_view = _check_view(view) if view is not None else tuple(map(float, self.objective.view))
        self.view = self.home_view
        if start is None:
            start = self.objective.start
        try:
            s = np.array([float(start[0]), float(start[1])])
            if len(start) != 2:
                raise TypeError
        except (TypeError, ValueError, IndexError):
            raise TypeError(f"start must be a point (x1, x2), got {start!r}") from None
        if not (np.all(np.isfinite(s)) and _inside(s, self.view)[0]):
            raise ValueError(f"start {tuple(start)!r} must lie inside the view {self.view}")
        self._start0 = (float(s[0]), float(s[1]))
        self._loss_limits = None

    @property
    def _builtin(self) -> bool:
        return self._given is None or self.objective is not self._given

    @property
    def _limit(self) -> float:
        v = self.home_view
        return DIVERGENCE_FACTOR * max(v[1] - v[0], v[3] - v[2])

    # --- figure ------------------------------------------------------------------------------
    def _build_axes(self, loss_panel: bool) -> None:
        fig = self.fig
        fs = self.fontsize
        if loss_panel:
            self.ax = fig.add_axes([0.075, 0.14, 0.50, 0.75])
            self.loss_ax = fig.add_axes([0.68, 0.14, 0.30, 0.75])
            self._layer_ax = self.loss_ax
        else:
            self.ax = fig.add_axes([0.12, 0.14, 0.84, 0.75])
            self.loss_ax = None
        ax = self.ax
        ax.set_xlabel("$x_1$", fontsize=fs)
        ax.set_ylabel("$x_2$", fontsize=fs, labelpad=2)
        ax.tick_params(labelsize=0.9 * fs)
        ax.set_autoscale_on(False)
        self._contour = None
        self._minima = None
        self._start_marker = self._animate(
            ax.plot([], [], "o", ms=9, mfc="none", mec="k", mew=1.5, zorder=5)[0]
        )
        self._status = self._animate(
            ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", ha="left",
                    color=_CROSS_COLOR, fontsize=fs, zorder=6,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))
        )
        if self.loss_ax is not None:
            from matplotlib.ticker import MaxNLocator

            lax = self.loss_ax
            lax.set_yscale("log")
            lax.set_xlabel("step", fontsize=fs)
            lax.set_title(r"$f(x_t) - f^*$", fontsize=fs)
            lax.tick_params(labelsize=0.9 * fs)
            lax.grid(True, which="major", alpha=0.3)
            lax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            lax.set_autoscale_on(False)

    def _add_run_artists(self, run: _Run) -> None:
        ax = self.ax
        run.line = self._animate(
            ax.plot([], [], "-o", color=run.color, ms=4, lw=1.5, label=run.label, zorder=4)[0]
        )
        run.cross = self._animate(
            ax.plot([], [], "x", color=_CROSS_COLOR, ms=12, mew=3, zorder=7)[0]
        )
        run.note = self._animate(_note(ax, self.fontsize))
        run.loss_line = None
        if self.loss_ax is not None:
            run.loss_line = self._animate(
                self.loss_ax.plot([], [], "-", color=run.color, lw=1.8, label=run.label)[0]
            )

    def _rebuild_static(self) -> None:
        """Contours, minima, title and limits: redone only when objective or view change."""
        ax, obj, view = self.ax, self.objective, self.view
        _remove_artist(self._contour)
        _remove_artist(self._minima)
        x1, x2, z, levels = _contour_grid(obj, view, self._builtin)
        self._contour = None
        if len(levels) >= 2:
            self._contour = ax.contour(
                x1, x2, z, levels=levels, colors=_CONTOUR_COLOR, linewidths=0.9, alpha=0.6
            )
        mins = np.array(obj.minima, dtype=float).reshape(-1, 2)
        self._minima = ax.plot(
            mins[:, 0], mins[:, 1], "*", color="k", ms=13, mfc="gold", mew=0.8, zorder=3
        )[0]
        ax.set_xlim(view[0], view[1])
        ax.set_ylim(view[2], view[3])
        ax.set_title(obj.title, fontsize=self.fontsize)
        self._set_loss_limits()

    def _set_loss_limits(self) -> None:
        if self.loss_ax is None:
            return
        self.loss_ax.set_ylim(*self._get_loss_limits())
        self.loss_ax.set_xlim(0, max(1, int(self.controls["steps"].value)))

    def _get_loss_limits(self) -> Tuple[float, float]:
        if self._loss_limits is None:
            self._loss_limits = _loss_limits(self.objective, self.home_view, self._builtin)
        return self._loss_limits

    # --- controls shared by both 2-D explorers --------------------------------------------
    def _common_controls(self, steps: int) -> None:
        w = _widgets()
        style = {"description_width": "initial"}
        names = list(_objectives.NAMES)
        if self._given is not None and self._given.name not in names:
            names.append(self._given.name)
        c = self.controls
        c["objective"] = w.Dropdown(options=names, value=self.objective.name, description="objective",
                                    style=style, layout=w.Layout(width="260px"))
        kappa = float(self.objective.params.get("kappa", 20.0)) if self.objective.name == "quadratic" else 20.0
        angle = float(self.objective.params.get("angle", 45.0)) if self.objective.name == "rotated" else 45.0
        c["kappa"] = w.FloatLogSlider(value=min(max(kappa, 1.0), 1000.0), base=10, min=0, max=3, step=0.01,
                                      description="κ (kappa)", readout_format=".3g",
                                      continuous_update=True, style=style, layout=w.Layout(width="360px"))
        c["angle"] = w.FloatSlider(value=min(max(angle, 0.0), 90.0), min=0.0, max=90.0, step=1.0,
                                   description="angle (°)", readout_format=".0f",
                                   continuous_update=True, style=style, layout=w.Layout(width="360px"))
        c["steps"] = w.IntSlider(value=steps, min=1, max=MAX_STEPS, step=1, description="steps",
                                 continuous_update=True, style=style, layout=w.Layout(width="360px"))
        v = self.view
        c["x1"] = w.FloatSlider(value=self._start0[0], min=v[0], max=v[1], step=_step_for(v[1] - v[0]),
                                description="start x1", readout_format=".2f",
                                continuous_update=True, style=style, layout=w.Layout(width="360px"))
        c["x2"] = w.FloatSlider(value=self._start0[1], min=v[2], max=v[3], step=_step_for(v[3] - v[2]),
                                description="start x2", readout_format=".2f",
                                continuous_update=True, style=style, layout=w.Layout(width="360px"))
        self._show_param_sliders()
        B = w.Button
        self.buttons = {
            "reset_view": B(description="Reset view", tooltip="back to the objective's default view"),
            "fit": B(description="Fit to path", tooltip="zoom to the path"),
            "reset_sliders": B(description="Reset sliders", tooltip="back to the opening values"),
        }
        self.buttons["reset_view"].on_click(lambda b: self._guard(self.reset_view))
        self.buttons["fit"].on_click(lambda b: self._guard(self.fit_to_path))
        self.buttons["reset_sliders"].on_click(lambda b: self._guard(self.reset_sliders))
        self.readout_html = w.HTML(value="", layout=w.Layout(min_height="1.6em"))

    def _show_param_sliders(self) -> None:
        name = self.controls["objective"].value
        _set_visible(self.controls["kappa"], name == "quadratic")
        _set_visible(self.controls["angle"], name == "rotated")

    def _objective_from_controls(self):
        c = self.controls
        name = c["objective"].value
        if self._given is not None and name == self._given.name:
            g = self._given
            same = (name != "quadratic" or math.isclose(g.params.get("kappa", 20.0), c["kappa"].value)) and (
                name != "rotated" or math.isclose(g.params.get("angle", 45.0), c["angle"].value)
            )
            if same or name not in _objectives.NAMES:
                return g
        params = {}
        if name == "quadratic":
            params["kappa"] = float(c["kappa"].value)
        elif name == "rotated":
            params["angle"] = float(c["angle"].value)
        return _objectives.get(name, **params)

    def _set_view(self, view: View) -> None:
        self.view = tuple(float(a) for a in view)
        c = self.controls
        with self._quiet():
            _set_range(c["x1"], self.view[0], self.view[1])
            c["x1"].step = _step_for(self.view[1] - self.view[0])
            _set_range(c["x2"], self.view[2], self.view[3])
            c["x2"].step = _step_for(self.view[3] - self.view[2])
        self._static_dirty = True

    def _set_priority(self, name: str) -> int:
        return {"rule": 0, "objective": 1, "kappa": 2, "angle": 2}.get(name, 5)

    def _apply(self, name: str) -> None:
        if name in ("objective", "kappa", "angle"):
            owner = {"objective": None, "kappa": "quadratic", "angle": "rotated"}[name]
            if owner is not None and self.controls["objective"].value != owner:
                return  # kappa only matters for "quadratic", angle for "rotated"
            self.objective = self._objective_from_controls()
            self._loss_limits = None
            self._static_dirty = True
            if name == "objective":
                self._show_param_sliders()
                self.home_view = tuple(map(float, self.objective.view))
                with self._quiet():
                    self._set_view(self.home_view)
                    self.controls["x1"].value = float(self.objective.start[0])
                    self.controls["x2"].value = float(self.objective.start[1])
        elif name == "steps":
            if self.loss_ax is not None:
                self.loss_ax.set_xlim(0, max(1, int(self.controls["steps"].value)))
                self._layer_dirty = True

    def reset_view(self) -> None:
        """Back to the objective's default view."""
        with self._batch():
            self._set_view(self.home_view)

    def fit_to_path(self) -> None:
        """Zoom the view to the finite part of the path(s) inside the default view."""
        pts = [r.trajectory for r in self._runs]
        pts = np.vstack(pts) if pts else np.zeros((0, 2))
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        pts = pts[_inside(pts, self.home_view)] if len(pts) else pts
        if not len(pts):
            return
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        hv = self.home_view
        home_span = np.array([hv[1] - hv[0], hv[3] - hv[2]])
        span = np.maximum(hi - lo, 0.05 * home_span)
        center = (lo + hi) / 2
        half = 0.55 * span
        with self._batch():
            lo, hi = center - half, center + half
            self._set_view((lo[0], hi[0], lo[1], hi[1]))

    # --- computing --------------------------------------------------------------------------
    def _start(self) -> Tuple[float, float]:
        return float(self.controls["x1"].value), float(self.controls["x2"].value)

    def _run_kwargs(self, run: _Run) -> Dict[str, Any]:
        return {}

    def _compute(self) -> None:
        start = self._start()
        steps = int(self.controls["steps"].value)
        errors = []
        for run in self._runs:
            pts, div, escape, err = _run_rule(
                run.rule, self.objective, start, steps, run.hp(),
                needs_hess=run.needs_hess, lr_key=run.lr_key, limit=self._limit,
                **self._run_kwargs(run),
            )
            run.trajectory, run.diverged_at, run.escape, run.error = pts, div, escape, err
            with np.errstate(all="ignore"):
                values = np.asarray(self.objective(pts[:, 0], pts[:, 1]), dtype=float)
                run.losses = values - self.objective.fmin
            if err is not None:
                errors.append(f"{run.label}: error at step {err[0]}\n{err[2]}")
        self._report("\n".join(errors) if errors else None)
        self._update_artists()

    def _update_artists(self) -> None:
        view = self.view
        start = self._start()
        self._start_marker.set_data([start[0]], [start[1]])
        status = []
        for run in self._runs:
            xy, n_markers, cross, exit_step = _drawn_path(
                run.trajectory, run.escape, view, run.diverged_at is not None
            )
            run.exit_step = exit_step
            run.line.set_data(xy[:, 0], xy[:, 1])
            run.line.set_markevery(slice(0, n_markers))
            run.line.set_markersize(4.0 if n_markers <= 60 else 2.5)
            if cross is not None:
                run.cross.set_data([cross[0]], [cross[1]])
            else:
                run.cross.set_data([], [])
            msg = self._status_message(run)
            label = msg if len(self._runs) == 1 else f"{run.label}: {msg}"
            if msg and cross is not None:
                _place_note(run.note, label, cross, view)
            else:
                run.note.set_text("")
                run.note.set_visible(False)
                if msg:
                    status.append(label)
            if run.loss_line is not None:
                lo = self._get_loss_limits()[0]
                y = np.clip(np.nan_to_num(run.losses, nan=lo, posinf=1e300), lo, None)
                run.loss_line.set_data(np.arange(len(y)), y)
        self._status.set_text("\n".join(status))
        self._status.set_visible(bool(status))
        self._update_readout()

    @staticmethod
    def _status_message(run: _Run) -> str:
        if run.error is not None:
            return f"error at step {run.error[0]}: {type(run.error[1]).__name__}"
        if run.diverged_at is not None:
            return f"diverged at step {run.diverged_at}"
        if run.exit_step is not None:
            return f"left the view at step {run.exit_step}"
        return ""

    def _run_readout(self, run: _Run) -> str:
        n = len(run.trajectory) - 1
        x = run.trajectory[-1]
        f = run.losses[-1] + self.objective.fmin
        text = (
            f"after {n} step{'s' if n != 1 else ''}: x = ({_fmt(x[0])}, {_fmt(x[1])}), "
            f"f(x) = {_fmt(f)}"
        )
        msg = self._status_message(run)
        if run.error is not None:
            text += f"; {msg} ({run.error[1]})"
        elif msg:
            text += f"; {msg}"
        return text

    def _update_readout(self) -> None:
        lines = []
        html_lines = []
        for run in self._runs:
            line = self._run_readout(run)
            if len(self._runs) > 1 or getattr(self, "_label_readout", False):
                line = f"{run.label}: {line}"
            lines.append(line)
            escaped = html.escape(line)
            bad = run.diverged_at is not None or run.exit_step is not None or run.error is not None
            color = _CROSS_COLOR if bad else "inherit"
            swatch = f'<span style="color:{run.color}">&#9632;</span> ' if len(self._runs) > 1 else ""
            html_lines.append(f'{swatch}<span style="color:{color}">{escaped}</span>')
        self._readout = "\n".join(lines)
        self.readout_html.value = (
            f'<div style="font-family:monospace;font-size:{0.95 * self.scale:.2f}em">'
            + "<br>".join(html_lines) + "</div>"
        )

    @property
    def readout(self) -> str:
        """The readout as plain text: the final point, f there and any divergence."""
        return self._readout

    def _on_click(self, event) -> None:
        """ipympl: a left click inside the contour axes moves the start point there."""
        if event.inaxes is not self.ax or event.xdata is None or event.ydata is None:
            return
        toolbar = getattr(self.canvas, "toolbar", None)
        if toolbar is not None and getattr(toolbar, "mode", ""):
            return
        if getattr(event, "button", None) not in (None, 1):
            return
        self.set(x1=float(event.xdata), x2=float(event.ydata))

    def _connect_click(self) -> None:
        if self.ipympl:
            self.canvas.mpl_connect("button_press_event", lambda ev: self._guard(self._on_click, ev))

    def _finish(self) -> None:
        """First computation and frame."""
        self._connect_click()
        self._compute()
        self._render_frame()


def _opening_hp(name: Optional[str], fn: Callable, hp: Mapping[str, Any]) -> Dict[str, Any]:
    """Opening hyperparameters: the rule's preset (for a named rule), then ``hp``."""
    info = _hyperparameters(fn)
    _check_hp(_rule_label(name, fn), info, hp)
    values = {}
    if name is not None:
        values.update({k: v for k, v in PRESETS.get(name, {}).items() if k in info})
    values.update(hp)
    return values


class Explorer2D(_Contour2D):
    """One update rule on a 2-D objective with live sliders. Build it with :func:`explore`.

    Attributes: ``controls`` (name -> widget), ``trajectory`` ((n+1, 2) array), ``losses``
    (f - f* per point), ``diverged_at``, ``readout``, ``view``, ``widget``, ``frame`` (PNG
    bytes), ``path_line`` (the path's Line2D), ``fig``, ``ax``, ``loss_ax``, ``output`` (errors).
    """

    def __init__(
        self,
        rule: Union[str, Callable] = "gd",
        objective: Any = "d2l",
        *,
        steps: int = 20,
        start: Optional[Sequence[float]] = None,
        view: Optional[View] = None,
        stochastic: bool = False,
        noise: float = 0.0,
        schedule: str = "constant",
        seed: int = 0,
        loss_panel: bool = True,
        **hp,
    ):
        name, fn = _resolve_rule(rule)
        opening = _opening_hp(name, fn, hp)
        steps = _check_steps(steps, MAX_STEPS)
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
        try:
            noise = float(noise)
        except (TypeError, ValueError):
            raise TypeError(f"noise must be a number, got {noise!r}") from None
        if not (math.isfinite(noise) and 0.0 <= noise <= 2.0):
            raise ValueError(f"noise must be between 0 and 2, got {noise!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        self._init_objective(objective, view, start)
        # Noise or a schedule asked for by value brings their controls along.
        self.stochastic = bool(stochastic) or noise > 0 or schedule != "constant"
        self.seed = int(seed)
        self._noise_table = np.random.default_rng(self.seed).standard_normal((MAX_STEPS, 2))
        self._init_figure((9.0, 4.5) if loss_panel else (5.8, 4.5))
        self.controls: Dict[str, Any] = {}
        self._opening = {"hp": dict(opening), "steps": steps, "noise": noise, "schedule": schedule}
        run = _Run(_rule_label(name, fn), fn, name, _PATH_COLOR)
        self._runs = [run]
        self._build_axes(loss_panel)
        self._add_run_artists(run)
        w = _widgets()
        style = {"description_width": "initial"}
        if name is not None:
            self.controls["rule"] = w.Dropdown(options=list(_registry()), value=name, description="rule",
                                               style=style, layout=w.Layout(width="220px"))
        self._common_controls(steps)
        if self.stochastic:
            self.controls["noise"] = w.FloatSlider(
                value=noise, min=0.0, max=2.0, step=0.01, description="noise σ",
                readout_format=".2f", continuous_update=True, style=style, layout=w.Layout(width="360px"),
            )
            self.controls["schedule"] = w.Dropdown(options=list(SCHEDULES), value=schedule,
                                                   description="lr schedule", style=style,
                                                   layout=w.Layout(width="260px"))
        self._noise, self._schedule = noise, schedule
        self._hp_box = w.VBox([])
        self._make_hp_controls(opening)
        for cname, widget in list(self.controls.items()):
            if cname not in run.controls:
                self._observe(cname, widget)
        self._finish()
        self._layout()

    # --- hyperparameter controls ---------------------------------------------------------
    def _make_hp_controls(self, values: Mapping[str, Any]) -> None:
        run = self._runs[0]
        for old, widget in run.controls.items():
            self.controls.pop(old, None)
            with contextlib.suppress(Exception):
                widget.close()
        run.controls, run.fixed = {}, {}
        widgets_ = []
        for hname, (default, rng) in run.info.items():
            if hname in _RESERVED:
                raise ValueError(
                    f"rule {run.label!r} has a hyperparameter named {hname!r}, which clashes with "
                    f"an explorer control ({', '.join(_RESERVED)}); rename it"
                )
            value = values.get(hname, default)
            widget = _make_control(hname, default, rng, value)
            if widget is None:
                if hname in values:
                    run.fixed[hname] = values[hname]
                continue
            run.controls[hname] = widget
            self.controls[hname] = widget
            self._observe(hname, widget)
            widgets_.append(widget)
        self._hp_box.children = tuple(widgets_)
        self._order_controls(list(run.controls))
        if "schedule" in self.controls:
            self.controls["schedule"].disabled = run.lr_key is None

    def _apply(self, name: str) -> None:
        if name == "rule":
            new = self.controls["rule"].value
            rname, fn = _resolve_rule(new)
            run = self._runs[0]
            run.set_rule(fn, rname)
            run.label = _rule_label(rname, fn)
            run.line.set_label(run.label)
            self._opening["hp"] = _opening_hp(rname, fn, {})
            self._make_hp_controls(self._opening["hp"])
            return
        if name == "noise":
            self._noise = float(self.controls["noise"].value)
        elif name == "schedule":
            self._schedule = self.controls["schedule"].value
        super()._apply(name)

    def _run_kwargs(self, run: _Run) -> Dict[str, Any]:
        return {"schedule": self._schedule, "noise": self._noise, "noise_table": self._noise_table}

    def reset_sliders(self) -> None:
        """Hyperparameters, steps, noise and schedule back to their opening values; start back to
        the objective's start."""
        values = dict(self._opening["hp"])
        run = self._runs[0]
        for hname, widget in run.controls.items():
            if hname not in values:
                values[hname] = run.info[hname][0]
        values["steps"] = self._opening["steps"]
        if self.stochastic:
            values["noise"] = self._opening["noise"]
            values["schedule"] = self._opening["schedule"]
        values["x1"], values["x2"] = (float(a) for a in self.objective.start)
        if not _inside(np.array([values["x1"], values["x2"]]), self.view)[0]:
            values["x1"], values["x2"] = (
                (self.view[0] + self.view[1]) / 2, (self.view[2] + self.view[3]) / 2
            )
        values = {k: v for k, v in values.items() if k in self.controls}
        self.set(**values)

    def _layout(self) -> None:
        w = _widgets()
        top = [self.controls[n] for n in ("rule", "objective") if n in self.controls]
        top += [self.buttons["reset_view"], self.buttons["fit"], self.buttons["reset_sliders"]]
        common = [self.controls[n] for n in ("steps", "x1", "x2", "kappa", "angle", "noise", "schedule")
                  if n in self.controls]
        self.widget = w.VBox([
            w.HBox(top, layout=w.Layout(flex_flow="row wrap")),
            self.figure_widget,
            self.readout_html,
            w.HBox([self._hp_box, w.VBox(common)], layout=w.Layout(flex_flow="row wrap")),
            self.output,
        ])

    # --- public results -------------------------------------------------------------------
    @property
    def rule(self) -> Callable:
        return self._runs[0].rule

    @property
    def hyperparameters(self) -> Dict[str, Any]:
        """The hyperparameter values the rule currently runs with."""
        return self._runs[0].hp()

    @property
    def trajectory(self) -> np.ndarray:
        return self._runs[0].trajectory

    @property
    def losses(self) -> np.ndarray:
        return self._runs[0].losses

    @property
    def diverged_at(self) -> Optional[int]:
        return self._runs[0].diverged_at

    @property
    def left_view_at(self) -> Optional[int]:
        """The step at which the drawn path left the view for good (None if it did not)."""
        return self._runs[0].exit_step

    @property
    def path_line(self):
        return self._runs[0].line

    @property
    def loss_line(self):
        return self._runs[0].loss_line

    @property
    def cross(self):
        return self._runs[0].cross

    def __repr__(self) -> str:
        return f"<Explorer2D {self._runs[0].label} on {self.objective.name}: {self.readout}>"


class Race(_Contour2D):
    """Several optimizers on one objective from one start. Build it with :func:`race`.

    ``trajectory``, ``losses`` and ``diverged_at`` are dicts keyed by label; ``controls`` has a
    learning-rate slider ``"<label>.<lr or eta>"`` per optimizer and shared ``steps``, ``x1``,
    ``x2``, ``objective``.
    """

    _label_readout = True

    def __init__(
        self,
        optimizers: Optional[Mapping[str, Any]] = None,
        objective: Any = "d2l",
        *,
        steps: int = 50,
        start: Optional[Sequence[float]] = None,
        loss_panel: bool = True,
    ):
        if optimizers is None:
            optimizers = {n: n for n in ("gd", "momentum", "adagrad", "rmsprop", "adam")}
        if not isinstance(optimizers, Mapping) or not optimizers:
            raise TypeError(
                "optimizers must be a non-empty dict label -> rule name, rule function or "
                f"(rule, {{hyperparameters}}), got {optimizers!r}"
            )
        if len(optimizers) > len(_RACE_COLORS):
            raise ValueError(f"a race takes at most {len(_RACE_COLORS)} optimizers, got {len(optimizers)}")
        specs = []
        for label, spec in optimizers.items():
            if not isinstance(label, str) or not label:
                raise TypeError(f"optimizer labels must be non-empty strings, got {label!r}")
            hp: Mapping[str, Any] = {}
            if isinstance(spec, tuple):
                if len(spec) != 2 or not isinstance(spec[1], Mapping):
                    raise TypeError(f"optimizers[{label!r}] must be (rule, {{hp}}), got {spec!r}")
                spec, hp = spec
            name, fn = _resolve_rule(spec)
            specs.append((label, name, fn, _opening_hp(name, fn, dict(hp))))
        steps = _check_steps(steps, MAX_STEPS)
        self._init_objective(objective, None, start)
        self._init_figure((9.0, 4.5) if loss_panel else (5.8, 4.5))
        self.controls: Dict[str, Any] = {}
        self._build_axes(loss_panel)
        self._runs = []
        self._opening = {"steps": steps, "hp": {}}
        for i, (label, name, fn, values) in enumerate(specs):
            run = _Run(label, fn, name, _RACE_COLORS[i])
            self._add_run_artists(run)
            self._runs.append(run)
        self._common_controls(steps)
        lr_widgets = []
        for run, (label, name, fn, values) in zip(self._runs, specs):
            for hname, (default, rng) in run.info.items():
                if hname in values and hname != run.lr_key:
                    run.fixed[hname] = values[hname]
            if run.lr_key is not None:
                key = run.lr_key
                rng = run.info[key][1]
                value = values.get(key, run.info[key][0])
                widget = _make_control(key, run.info[key][0], rng, value, description=f"{label}.{key}")
                if widget is None:
                    run.fixed[key] = value
                else:
                    run.controls[key] = widget
                    self.controls[f"{label}.{key}"] = widget
                    self._opening["hp"][f"{label}.{key}"] = value
                    lr_widgets.append(widget)
        self._order_controls([k for k in self.controls if "." in k])
        for cname, widget in self.controls.items():
            self._observe(cname, widget)
        self._lr_box = w_box = _widgets().VBox(lr_widgets)
        handles = [r.line for r in self._runs]
        # The legend sits in a row under both panels, where it never hides a path or a curve.
        for ax in (self.ax, self.loss_ax):
            if ax is not None:
                x0, y0, width, height = ax.get_position().bounds
                ax.set_position([x0, y0 + 0.08, width, height - 0.08])
        self.legend = self.fig.legend(
            handles, [r.label for r in self._runs], loc="lower center", ncol=min(len(handles), 7),
            fontsize=0.9 * self.fontsize, frameon=False, handlelength=1.5, columnspacing=1.2,
        )
        self._finish()
        w = _widgets()
        top = [self.controls["objective"], self.buttons["reset_view"], self.buttons["fit"],
               self.buttons["reset_sliders"]]
        common = [self.controls[n] for n in ("steps", "x1", "x2", "kappa", "angle")]
        self.widget = w.VBox([
            w.HBox(top, layout=w.Layout(flex_flow="row wrap")),
            self.figure_widget,
            self.readout_html,
            w.HBox([w_box, w.VBox(common)], layout=w.Layout(flex_flow="row wrap")),
            self.output,
        ])

    def reset_sliders(self) -> None:
        """Learning rates and steps back to their opening values; start back to the objective's."""
        values = dict(self._opening["hp"])
        values["steps"] = self._opening["steps"]
        values["x1"], values["x2"] = (float(a) for a in self.objective.start)
        self.set(**values)

    @property
    def labels(self) -> List[str]:
        return [r.label for r in self._runs]

    @property
    def trajectory(self) -> Dict[str, np.ndarray]:
        return {r.label: r.trajectory for r in self._runs}

    @property
    def losses(self) -> Dict[str, np.ndarray]:
        return {r.label: r.losses for r in self._runs}

    @property
    def diverged_at(self) -> Dict[str, Optional[int]]:
        return {r.label: r.diverged_at for r in self._runs}

    @property
    def path_lines(self) -> Dict[str, Any]:
        return {r.label: r.line for r in self._runs}

    def __repr__(self) -> str:
        return f"<Race {', '.join(self.labels)} on {self.objective.name}>"


# ---------------------------------------------------------------------------------------------
# 1-D explorer


_LR_RANGE_1D = {"gd": (0.0, 2.0), "newton": (0.0, 1.5), "newton |f''|": (0.0, 1.5)}
_LR_DEFAULT_1D = {"gd": 0.2, "newton": 1.0, "newton |f''|": 1.0}


class Explorer1D(_LiveFigure):
    """Gradient descent or Newton's method on a 1-D function. Build it with :func:`explore_1d`.

    ``trajectory`` is the array of iterates x_0..x_n, ``values`` f at them; ``model_line`` is
    the Line2D of the local quadratic models.
    """

    def __init__(
        self,
        method: Union[str, Callable] = "gd",
        objective: Any = "square",
        *,
        steps: int = 10,
        lr: Optional[float] = None,
        x0: Optional[float] = None,
        show_model: Optional[bool] = None,
    ):
        w = _widgets()
        self._custom: Dict[str, Callable] = {}
        if isinstance(method, str):
            if method not in METHODS_1D:
                raise ValueError(
                    f"method must be one of {', '.join(METHODS_1D)} or a rule function, got {method!r}"
                )
            mname = method
        elif callable(method):
            _hyperparameters(method)  # checks the signature
            mname = getattr(method, "__name__", "custom")
            if mname in METHODS_1D:
                mname = f"{mname} (yours)"
            self._custom[mname] = method
        else:
            raise TypeError(f"method must be a method name or a rule function, got {method!r}")
        self.objective = _objectives.get_1d(objective)
        steps = _check_steps(steps, MAX_STEPS_1D)
        if lr is None:
            lr = self._lr_default(mname)
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise TypeError(f"lr must be a number, got {lr!r}") from None
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
        view = tuple(map(float, self.objective.view))
        if x0 is None:
            x0 = self.objective.start
        x0 = float(x0)
        if not (math.isfinite(x0) and view[0] <= x0 <= view[1]):
            raise ValueError(f"x0 must lie inside the view {view}, got {x0!r}")
        if show_model is None:
            show_model = mname.startswith("newton")
        self._init_figure((6.6, 4.2))
        self._opening = {"lr": lr, "x0": x0, "steps": steps}
        style = {"description_width": "initial"}
        lo, hi = self._lr_range(mname)
        names_1d = list(_objectives.NAMES_1D)
        if self.objective.name not in names_1d:
            names_1d.append(self.objective.name)
        self.controls: Dict[str, Any] = {
            "method": w.Dropdown(options=list(METHODS_1D) + list(self._custom), value=mname,
                                 description="method", style=style, layout=w.Layout(width="220px")),
            "objective": w.Dropdown(options=names_1d, value=self.objective.name, description="f",
                                    style=style, layout=w.Layout(width="200px")),
            "lr": w.FloatSlider(value=lr, min=lo, max=max(hi, lr), step=0.01, description="lr (η)",
                                readout_format=".2f", continuous_update=True, style=style,
                                layout=w.Layout(width="360px")),
            "x0": w.FloatSlider(value=x0, min=view[0], max=view[1], step=_step_for(view[1] - view[0]),
                                description="x0", readout_format=".2f", continuous_update=True,
                                style=style, layout=w.Layout(width="360px")),
            "steps": w.IntSlider(value=steps, min=1, max=MAX_STEPS_1D, step=1, description="steps",
                                 continuous_update=True, style=style, layout=w.Layout(width="360px")),
            "show_model": w.Checkbox(value=bool(show_model), description="show local quadratic model",
                                     indent=False),
        }
        self._order_controls(["lr"])
        self._given = self.objective
        self._build()
        for cname, widget in self.controls.items():
            self._observe(cname, widget)
        self.readout_html = w.HTML(value="")
        self.buttons = {"reset_sliders": w.Button(description="Reset sliders")}
        self.buttons["reset_sliders"].on_click(lambda b: self._guard(self.reset_sliders))
        self._compute()
        self._render_frame()
        c = self.controls
        self.widget = w.VBox([
            w.HBox([c["method"], c["objective"], self.buttons["reset_sliders"]],
                   layout=w.Layout(flex_flow="row wrap")),
            self.figure_widget,
            self.readout_html,
            w.HBox([w.VBox([c["lr"], c["x0"]]), w.VBox([c["steps"], c["show_model"]])],
                   layout=w.Layout(flex_flow="row wrap")),
            self.output,
        ])

    def _lr_range(self, mname: str) -> Tuple[float, float]:
        if mname in _LR_RANGE_1D:
            return _LR_RANGE_1D[mname]
        fn = self._custom[mname]
        info = _hyperparameters(fn)
        key = "lr" if "lr" in info else ("eta" if "eta" in info else None)
        rng = info[key][1] if key else None
        return (float(rng.low), float(rng.high)) if rng is not None else (0.0, 2.0)

    def _lr_default(self, mname: str) -> float:
        if mname in _LR_DEFAULT_1D:
            return _LR_DEFAULT_1D[mname]
        info = _hyperparameters(self._custom[mname])
        key = "lr" if "lr" in info else ("eta" if "eta" in info else None)
        return float(info[key][0]) if key and isinstance(info[key][0], (int, float)) else 0.2

    @property
    def view(self) -> Tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the plot."""
        return self._view

    def _build(self) -> None:
        fs = self.fontsize
        ax = self.fig.add_axes([0.12, 0.14, 0.84, 0.76])
        self.ax = ax
        ax.set_xlabel("$x$", fontsize=fs)
        ax.set_ylabel("$f(x)$", fontsize=fs)
        ax.tick_params(labelsize=0.9 * fs)
        ax.set_autoscale_on(False)
        self._curve = None
        self.model_line = self._animate(ax.plot([], [], "--", color="#2ca02c", lw=1.3, alpha=0.8)[0])
        self.path_line = self._animate(ax.plot([], [], "-o", color=_PATH_COLOR, ms=5, lw=1.5, zorder=4)[0])
        self.cross = self._animate(ax.plot([], [], "x", color=_CROSS_COLOR, ms=12, mew=3, zorder=6)[0])
        self.note = self._animate(_note(ax, fs))
        self._status = self._animate(
            ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", ha="left", color=_CROSS_COLOR,
                    fontsize=fs, zorder=7,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))
        )
        self._set_view()

    def _set_view(self) -> None:
        xmin, xmax = map(float, self.objective.view)
        xs = np.linspace(xmin, xmax, 400)
        with np.errstate(all="ignore"):
            ys = np.asarray(self.objective(xs), dtype=float) * np.ones_like(xs)
        finite = ys[np.isfinite(ys)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        pad = 0.08 * (hi - lo if hi > lo else 1.0)
        self._view = (xmin, xmax, lo - pad, hi + pad)
        self._xs, self._ys = xs, ys
        self._static_dirty = True

    def _rebuild_static(self) -> None:
        ax = self.ax
        _remove_artist(self._curve)
        self._curve = ax.plot(self._xs, self._ys, "-", color=_CONTOUR_COLOR, lw=2)[0]
        v = self._view
        ax.set_xlim(v[0], v[1])
        ax.set_ylim(v[2], v[3])
        ax.set_title(self.objective.title, fontsize=self.fontsize)

    def _set_priority(self, name: str) -> int:
        return {"method": 0, "objective": 1}.get(name, 5)

    def _apply(self, name: str) -> None:
        c = self.controls
        if name == "method":
            mname = c["method"].value
            lo, hi = self._lr_range(mname)
            with self._quiet():
                _set_range(c["lr"], lo, hi, min(max(self._lr_default(mname), lo), hi))
                c["show_model"].value = mname.startswith("newton")
        elif name == "objective":
            oname = c["objective"].value
            self.objective = self._given if oname == self._given.name else _objectives.get_1d(oname)
            self._set_view()
            v = self._view
            with self._quiet():
                _set_range(c["x0"], v[0], v[1], float(self.objective.start))
                c["x0"].step = _step_for(v[1] - v[0])

    def reset_sliders(self) -> None:
        """lr (the method's default), x0 (the objective's start) and steps back."""
        mname = self.controls["method"].value
        self.set(lr=self._lr_default(mname), x0=float(self.objective.start), steps=self._opening["steps"])

    # --- computing -------------------------------------------------------------------------
    def _step_function(self) -> Callable[[float], float]:
        obj = self.objective
        lr = float(self.controls["lr"].value)
        mname = self.controls["method"].value
        df, d2f = obj.df, obj.d2f
        if mname == "gd":
            return lambda x: float(x - lr * df(x))
        if mname == "newton":
            return lambda x: float(x - lr * df(x) / d2f(x))
        if mname == "newton |f''|":
            return lambda x: float(x - lr * df(x) / abs(d2f(x)))
        fn = self._custom[mname]
        info = _hyperparameters(fn)
        key = "lr" if "lr" in info else ("eta" if "eta" in info else None)
        needs_hess = _takes(fn, "hess")
        state: Dict[str, Any] = {}

        def step(x: float) -> float:
            kw = {key: lr} if key else {}
            if needs_hess:
                kw["hess"] = np.array([[float(d2f(x))]])
            out = np.ravel(np.asarray(fn(np.array([x]), np.array([float(df(x))]), state, **kw), dtype=float))
            if out.size != 1:
                raise ValueError(f"the rule returned {out.size} numbers; a 1-D step must return one")
            return float(out[0])

        return step

    def _compute(self) -> None:
        c = self.controls
        steps = int(c["steps"].value)
        x = float(c["x0"].value)
        span = self._view[1] - self._view[0]
        limit = DIVERGENCE_FACTOR * span
        big = self._view[3] + 10 * (self._view[3] - self._view[2]) + 1  # stands for f = inf
        xs = [x]
        diverged = escape = error = None
        with np.errstate(all="ignore"):
            step = self._step_function()
            for t in range(1, steps + 1):
                try:
                    new = step(x)
                except _DIVERGENCE_ERRORS:
                    diverged = t
                    break
                except Exception as exc:
                    error = (t, exc, traceback.format_exc())
                    break
                if not math.isfinite(new):
                    diverged = t
                    break
                if abs(new) > limit:
                    diverged, escape = t, new
                    break
                xs.append(new)
                x = new
            self.trajectory = np.array(xs, dtype=float)
            values = np.asarray(self.objective(self.trajectory), dtype=float)
            self.values = values * np.ones_like(self.trajectory)
            esc_pt = None
            if escape is not None:
                fe = float(self.objective(escape))
                esc_pt = np.array([escape, fe if math.isfinite(fe) else big])
        self.diverged_at = diverged
        self.error_info = error
        self._report(f"error at step {error[0]}\n{error[2]}" if error else None)
        pts = np.column_stack([self.trajectory, self.values])
        # A non-finite f(x) (it cannot happen for finite x on the course's functions) draws nothing.
        pts = np.where(np.isfinite(pts), pts, big)
        xy, n_markers, cross, exit_step = _drawn_path(pts, esc_pt, self._view, diverged is not None)
        self.left_view_at = exit_step
        self.path_line.set_data(xy[:, 0], xy[:, 1])
        self.path_line.set_markevery(slice(0, n_markers))
        self.cross.set_data(([cross[0]], [cross[1]]) if cross is not None else ([], []))
        self.model_line.set_visible(bool(c["show_model"].value))
        if c["show_model"].value:
            mx, my = self._models(xs)
            self.model_line.set_data(mx, my)
        else:
            self.model_line.set_data([], [])
        if error is not None:
            msg = f"error at step {error[0]}: {type(error[1]).__name__}"
        elif diverged is not None:
            msg = f"diverged at step {diverged}"
        elif exit_step is not None:
            msg = f"left the view at step {exit_step}"
        else:
            msg = ""
        if msg and cross is not None:
            _place_note(self.note, msg, cross, self._view)
            self._status.set_text("")
        else:
            self.note.set_text("")
            self.note.set_visible(False)
            self._status.set_text(msg)
        self._status.set_visible(bool(self._status.get_text()))
        n = len(xs) - 1
        text = (
            f"{c['method'].value}, lr = {_fmt(c['lr'].value)}: after {n} step{'s' if n != 1 else ''} "
            f"x = {_fmt(self.trajectory[-1])}, f(x) = {_fmt(self.values[-1])}"
        )
        if msg:
            text += f"; {msg}" + (f" ({error[1]})" if error else "")
        self._readout = text
        color = _CROSS_COLOR if msg else "inherit"
        self.readout_html.value = (
            f'<div style="font-family:monospace;font-size:{0.95 * self.scale:.2f}em;color:{color}">'
            f"{html.escape(text)}</div>"
        )

    def _models(self, xs: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
        """The local quadratic models q_k around each iterate, NaN-separated in one line."""
        obj = self.objective
        v = self._view
        w = 0.08 * (v[1] - v[0])
        px, py = [], []
        u = np.linspace(0.0, 1.0, 40)
        with np.errstate(all="ignore"):
            for k, xk in enumerate(xs):
                nxt = xs[k + 1] if k + 1 < len(xs) else xk
                a = max(min(xk, nxt) - w, v[0])
                b = min(max(xk, nxt) + w, v[1])
                if not b > a:
                    continue
                x = a + (b - a) * u
                fk, dk, hk = float(obj(xk)), float(obj.df(xk)), float(obj.d2f(xk))
                q = fk + dk * (x - xk) + 0.5 * hk * (x - xk) ** 2
                px.extend(x.tolist() + [np.nan])
                py.extend(q.tolist() + [np.nan])
        return np.array(px, dtype=float), np.array(py, dtype=float)

    @property
    def readout(self) -> str:
        return self._readout

    def __repr__(self) -> str:
        return f"<Explorer1D {self.controls['method'].value} on {self.objective.name}: {self.readout}>"


# ---------------------------------------------------------------------------------------------
# Entry points


def explore(
    rule: Union[str, Callable] = "gd",
    objective: Any = "d2l",
    *,
    steps: int = 20,
    start: Optional[Sequence[float]] = None,
    view: Optional[View] = None,
    stochastic: bool = False,
    noise: float = 0.0,
    schedule: str = "constant",
    seed: int = 0,
    loss_panel: bool = True,
    **hp,
) -> Explorer2D:
    """A live explorer of one update rule on a 2-D objective.

    ``rule`` is a name in ``d2lmini.rules.RULES`` (the explorer then opens with the rule's
    preset and offers a rule dropdown) or your own ``rule(x, g, state, **hp)``; sliders come
    from ``hyperparameters_of(rule)`` and ``**hp`` sets their opening values. ``stochastic=True``
    adds a gradient-noise slider (sigma; the noise at step t is ``sigma * z[t-1]`` with
    ``z = np.random.default_rng(seed).standard_normal((200, 2))``, so the path is stable while
    other sliders move) and a learning-rate schedule dropdown.

    >>> ex = explore("momentum", lr=0.4, momentum=0.5)   # doctest: +SKIP
    >>> ex.controls["momentum"].value = 0.9              # doctest: +SKIP
    >>> ex.trajectory[-1], ex.diverged_at                # doctest: +SKIP
    """
    return Explorer2D(
        rule, objective, steps=steps, start=start, view=view, stochastic=stochastic, noise=noise,
        schedule=schedule, seed=seed, loss_panel=loss_panel, **hp,
    )


def explore_1d(
    method: Union[str, Callable] = "gd",
    objective: Any = "square",
    *,
    steps: int = 10,
    lr: Optional[float] = None,
    x0: Optional[float] = None,
    show_model: Optional[bool] = None,
) -> Explorer1D:
    """A live explorer of gradient descent or Newton's method on a 1-D function.

    ``method`` is ``"gd"`` (x <- x - lr f'(x)), ``"newton"`` (x <- x - lr f'(x)/f''(x)),
    ``"newton |f''|"`` (divide by |f''(x)|) or a rule ``rule(x, g, state, lr=..., [hess=...])``
    run on 1-element arrays. ``lr`` defaults to the method's classic value (0.2 for gd, 1 for
    Newton). ``show_model`` (default: on for Newton) draws the local quadratic model
    q_k(x) = f(x_k) + f'(x_k)(x - x_k) + f''(x_k)(x - x_k)^2 / 2 near each iterate.
    """
    return Explorer1D(method, objective, steps=steps, lr=lr, x0=x0, show_model=show_model)


def race(
    optimizers: Optional[Mapping[str, Any]] = None,
    objective: Any = "d2l",
    *,
    steps: int = 50,
    start: Optional[Sequence[float]] = None,
    loss_panel: bool = True,
) -> Race:
    """Several optimizers on one objective from the same start, each in its own colour.

    ``optimizers`` maps a label to a rule name, a rule function or ``(rule, {hp})``; the
    default races gd, momentum, adagrad, rmsprop and adam with their presets.
    """
    return Race(optimizers, objective, steps=steps, start=start, loss_panel=loss_panel)

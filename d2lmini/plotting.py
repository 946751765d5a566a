"""Plotting helpers with d2l's names and behaviour, made safe for diverging runs.

``plt``, ``use_svg_display``, ``set_figsize``, ``set_axes``, ``plot``, ``show_trace`` (1-D),
``show_trace_2d`` (2-D contour and path), ``Animator`` (a live-updating figure) and
``presenter_mode`` (bigger figures and fonts for a projector).
"""
from __future__ import annotations

import inspect
import math
import time
import weakref
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

import matplotlib
import numpy as np
from matplotlib import pyplot as plt

__all__ = [
    "plt",
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "show_trace",
    "show_trace_2d",
    "Animator",
    "presenter_mode",
    "presenter_scale",
    "annotate",
    "DEFAULT_VIEW_2D",
]

#: The contour box of d2l's ``show_trace_2d``: x1 in [-5.5, 1], x2 in [-3, 1].
DEFAULT_VIEW_2D = (-5.5, 1.0, -3.0, 1.0)

_PRESENTER = {"on": False, "scale": 1.0, "saved": None}


# ---------------------------------------------------------------------------------------------
# Figure settings


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where figures can be displayed and updated)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always there with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def use_svg_display() -> None:
    """Show inline figures as SVG (d2l's choice). Does nothing outside a notebook."""
    if not in_notebook():
        return
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover
        return
    set_matplotlib_formats("svg")


def presenter_scale() -> float:
    """The current figure and font scale: 1.0, or larger in presenter mode."""
    return float(_PRESENTER["scale"])


def presenter_mode(on: bool = True, scale: float = 1.6) -> None:
    """Make every figure and explorer bigger, with larger fonts, for a projector.

    ``d2l.presenter_mode()`` switches it on, ``d2l.presenter_mode(False)`` back off.
    """
    if not isinstance(on, bool):
        raise TypeError(f"on must be True or False, got {on!r}")
    scale = float(scale)
    if not (math.isfinite(scale) and 1.0 <= scale <= 4.0):
        raise ValueError(f"scale must be between 1 and 4, got {scale!r}")
    keys = ("font.size", "lines.linewidth", "lines.markersize", "figure.figsize")
    if on:
        if _PRESENTER["saved"] is None:
            _PRESENTER["saved"] = {k: matplotlib.rcParams[k] for k in keys}
        base = _PRESENTER["saved"]
        matplotlib.rcParams["font.size"] = base["font.size"] * scale
        matplotlib.rcParams["lines.linewidth"] = base["lines.linewidth"] * scale
        matplotlib.rcParams["lines.markersize"] = base["lines.markersize"] * scale
        w, h = base["figure.figsize"]
        matplotlib.rcParams["figure.figsize"] = (w * scale, h * scale)
        _PRESENTER.update(on=True, scale=scale)
    else:
        if _PRESENTER["saved"] is not None:
            matplotlib.rcParams.update(_PRESENTER["saved"])
        _PRESENTER.update(on=False, scale=1.0, saved=None)


def set_figsize(figsize: Tuple[float, float] = (3.5, 2.5)) -> None:
    """Set the default figure size (d2l's default 3.5 x 2.5 inches; scaled in presenter mode)."""
    try:
        w, h = (float(v) for v in figsize)
    except (TypeError, ValueError):
        raise TypeError(f"figsize must be a pair of numbers (width, height), got {figsize!r}") from None
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        raise ValueError(f"figsize must be two positive numbers, got {figsize!r}")
    use_svg_display()
    s = presenter_scale()
    plt.rcParams["figure.figsize"] = (w * s, h * s)


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    """Set the labels, limits, scales and legend of matplotlib axes (d2l-en)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
         xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"),
         figsize=(3.5, 2.5), axes=None):
    """Plot one or several curves (d2l-en's ``d2l.plot``)."""
    if legend is None:
        legend = []
    set_figsize(figsize)
    axes = axes if axes else plt.gca()

    def has_one_axis(X):
        return (hasattr(X, "ndim") and X.ndim == 1) or (
            isinstance(X, list) and not hasattr(X[0], "__len__")
        )

    if has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def annotate(text, xy, xytext) -> None:
    """Annotate a point with an arrow (d2l-en's ``d2l.annotate``)."""
    plt.gca().annotate(text, xy=xy, xytext=xytext, arrowprops=dict(arrowstyle="->"))


# ---------------------------------------------------------------------------------------------
# Traces


def _caller_f(depth: int = 2) -> Optional[Callable]:
    frame = inspect.currentframe()
    try:
        for _ in range(depth):
            frame = frame.f_back if frame is not None else None
        if frame is None:
            return None
        f = frame.f_globals.get("f")
        return f if callable(f) else None
    finally:
        del frame


def show_trace(results: Sequence[float], f: Optional[Callable] = None) -> None:
    """Draw the iterates of a 1-D method on the curve of ``f``.

    ``show_trace(results, f)`` is d2l-en's form. ``show_trace(results)`` (the form of the
    Chinese editions, where ``f`` is a global of the notebook) uses the caller's global ``f``.
    Iterates that overflowed are left out and the plot says where the run diverged.
    """
    if f is None:
        f = _caller_f()
        if f is None:
            raise TypeError("show_trace needs the objective: show_trace(results, f)")
    xs = np.asarray(list(results), dtype=float)
    if xs.ndim != 1 or xs.size == 0:
        raise ValueError("results must be a non-empty list of numbers (the iterates x0, x1, ...)")
    finite = np.isfinite(xs)
    with np.errstate(all="ignore"):
        fx = np.array([float(f(x)) for x in xs[finite]])
    ok = np.isfinite(fx)
    shown = xs[finite][ok]
    n = max(abs(shown.min()), abs(shown.max())) if shown.size else 1.0
    n = n if n > 0 else 1.0
    f_line = np.arange(-n, n, 0.01)
    set_figsize()
    with np.errstate(all="ignore"):
        plt.plot(f_line, [f(x) for x in f_line], "-")
    plt.plot(shown, fx[ok], "-o")
    plt.xlabel("x")
    plt.ylabel("f(x)")
    bad = np.flatnonzero(~finite)
    if bad.size:
        plt.title(f"diverged at step {bad[0]}", color="tab:red")


def border_point(p: np.ndarray, q: np.ndarray, view) -> np.ndarray:
    """Where the segment from ``p`` (inside the view) to ``q`` (outside) crosses the border.

    A non-finite ``q`` has no direction, so the path stops at ``p``.
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if not np.all(np.isfinite(q)):
        return p.copy()
    d = q - p
    t = 1.0
    bounds = ((view[0], view[1]), (view[2], view[3]))
    for i, (lo, hi) in enumerate(bounds):
        if d[i] > 0 and q[i] > hi:
            t = min(t, (hi - p[i]) / d[i])
        elif d[i] < 0 and q[i] < lo:
            t = min(t, (lo - p[i]) / d[i])
    out = p + max(0.0, t) * d
    # Guard against rounding: the point must sit on the border, inside the view.
    return np.array([min(max(out[0], view[0]), view[1]), min(max(out[1], view[2]), view[3])])


def clip_path(points: np.ndarray, view) -> Tuple[np.ndarray, Optional[int]]:
    """Cut a path where it first leaves ``view`` (or stops being finite).

    Returns the points to draw (ending on the border if it left) and the index of the first
    point outside the view, or ``None`` if it never left.
    """
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    x1min, x1max, x2min, x2max = view
    with np.errstate(invalid="ignore"):
        inside = (
            np.isfinite(pts).all(axis=1)
            & (pts[:, 0] >= x1min) & (pts[:, 0] <= x1max)
            & (pts[:, 1] >= x2min) & (pts[:, 1] <= x2max)
        )
    if inside.all():
        return pts, None
    k = int(np.argmin(inside))
    if k == 0:
        return pts[:0], 0
    exit_point = border_point(pts[k - 1], pts[k], view)
    return np.vstack([pts[:k], exit_point]), k


def _view_for(points: np.ndarray) -> Tuple[float, float, float, float]:
    """d2l's box, grown to hold a path that stays near it (as d2l-zh does)."""
    x1min, x1max, x2min, x2max = DEFAULT_VIEW_2D
    w, h = x1max - x1min, x2max - x2min
    pts = points[np.isfinite(points).all(axis=1)]
    near = pts[
        (pts[:, 0] > x1min - w) & (pts[:, 0] < x1max + w)
        & (pts[:, 1] > x2min - h) & (pts[:, 1] < x2max + h)
    ]
    if near.size:
        x1min = min(x1min, near[:, 0].min() - 0.5)
        x1max = max(x1max, near[:, 0].max() + 0.5)
        x2min = min(x2min, near[:, 1].min() - 0.5)
        x2max = max(x2max, near[:, 1].max() + 0.5)
    return x1min, x1max, x2min, x2max


def show_trace_2d(f: Callable, results, view: Optional[Sequence[float]] = None) -> None:
    """Draw a 2-D path over the contours of ``f`` (d2l's ``show_trace_2d``).

    Like d2l-en it sets d2l's figure size and draws the path with ``'-o'`` in orange over blue
    contours on the box x1 in [-5.5, 1], x2 in [-3, 1]. Unlike d2l it never lets a diverging run
    squash the picture: the box grows a little to hold a path that stays near it, a path that
    runs away is cut at the border and marked "diverged". Pass
    ``view=(x1min, x1max, x2min, x2max)`` to choose the box yourself. ``f`` gets NumPy grids, or
    torch tensors (as in d2l-en) when it does not take NumPy arrays.
    """
    _show_trace_2d(f, results, view, set_size=True)


def _contour_values(f: Callable, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        try:
            return np.asarray(f(x1, x2), dtype=float)
        except TypeError:  # f written with torch functions (d2l.cos, d2l.exp, ...)
            import torch  # noqa: PLC0415

            out = f(torch.from_numpy(x1), torch.from_numpy(x2))
            return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out, dtype=float)


def _show_trace_2d(f: Callable, results, view: Optional[Sequence[float]], set_size: bool) -> None:
    if not callable(f):
        raise TypeError(f"f must be a function f(x1, x2), got {f!r}")
    try:
        pts = np.array([(float(a), float(b)) for a, b in results], dtype=float)
    except (TypeError, ValueError):
        raise TypeError("results must be a list of (x1, x2) pairs, as train_2d returns") from None
    if pts.size == 0:
        raise ValueError("results is empty: nothing to draw")
    if view is None:
        view = _view_for(pts)
    else:
        view = tuple(float(v) for v in view)
        if len(view) != 4 or not (view[0] < view[1] and view[2] < view[3]):
            raise ValueError(f"view must be (x1min, x1max, x2min, x2max) with min < max, got {view!r}")
    if set_size:
        set_figsize()
    drawn, left_at = clip_path(pts, view)
    ax = plt.gca()
    if len(drawn):
        ax.plot(drawn[:, 0], drawn[:, 1], "-o", color="#ff7f0e")
    # d2l's 0.1 grid, finer for a small view so the contours never degenerate
    step = min(0.1, (view[1] - view[0]) / 60, (view[3] - view[2]) / 60)
    x1, x2 = np.meshgrid(np.arange(view[0], view[1], step), np.arange(view[2], view[3], step))
    z = _contour_values(f, x1, x2)
    ax.contour(x1, x2, z, colors="#1f77b4")
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if left_at is not None:
        last = pts[-1]
        if len(drawn):
            ax.plot(*drawn[-1], "x", color="tab:red", markersize=12, markeredgewidth=3)
        where = "is not finite" if not np.isfinite(last).all() else f"reaches ({last[0]:.4g}, {last[1]:.4g})"
        ax.set_title(f"diverged: leaves the view at step {left_at}; step {len(pts) - 1} {where}",
                     color="tab:red", fontsize="small")


# ---------------------------------------------------------------------------------------------
# Animator


class Animator:
    """Plot data that arrives one point at a time, redrawn live in a notebook (d2l-en).

    ``Animator(xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale='linear',
    yscale='linear', fmts=('-', 'm--', 'g-.', 'r:'), nrows=1, ncols=1, figsize=(3.5, 2.5))``;
    ``add(x, y)`` adds one point per curve (``y`` a number or a list, ``None`` skipped). In a
    notebook the figure updates in place (without clearing the cell's other output, and at
    most ten times a second); elsewhere the data are only collected (``X``, ``Y``, ``fig``).
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"),
                 nrows=1, ncols=1, figsize=(3.5, 2.5)):
        if legend is None:
            legend = []
        use_svg_display()
        s = presenter_scale()
        was_interactive = plt.isinteractive()
        plt.ioff()
        try:
            self.fig, self.axes = plt.subplots(nrows, ncols, figsize=(figsize[0] * s, figsize[1] * s))
        finally:
            if was_interactive:
                plt.ion()
        plt.close(self.fig)  # shown through a display handle, not by the backend at cell end
        if nrows * ncols == 1:
            self.axes = [self.axes]
        self.config_axes = lambda: set_axes(self.axes[0], xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
        self.X: Optional[List[List[float]]] = None
        self.Y: Optional[List[List[float]]] = None
        self.fmts = fmts
        self._handle = None
        self._last_draw = 0.0
        self._pending = False
        self._draw_cost = 0.0
        self._live = in_notebook()
        if self._live:
            _flush_after_cell(self)

    def add(self, x, y) -> None:
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        self._redraw()
        self._pending = True
        # Redraw at most ten times a second, and spend at most a quarter of the time drawing.
        if self._live and time.perf_counter() - self._last_draw > max(0.1, 3 * self._draw_cost):
            self.show()

    def _redraw(self) -> None:
        self.axes[0].cla()
        for x, y, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(x, y, fmt)
        self.config_axes()

    def show(self) -> None:
        """Display the figure now (updating the earlier display in place)."""
        if not self._live:
            return
        from IPython.display import display

        t0 = time.perf_counter()
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)
        self._last_draw = time.perf_counter()
        self._draw_cost = self._last_draw - t0
        self._pending = False


_LIVE_ANIMATORS: "weakref.WeakSet[Animator]" = weakref.WeakSet()
_HOOKED = {"done": False}


def _flush_after_cell(animator: Animator) -> None:
    """Make sure the last points of a throttled Animator are shown when the cell ends."""
    _LIVE_ANIMATORS.add(animator)
    if _HOOKED["done"]:
        return
    from IPython import get_ipython

    def flush(*_args):
        for a in list(_LIVE_ANIMATORS):
            if a._pending:
                a.show()

    get_ipython().events.register("post_execute", flush)
    _HOOKED["done"] = True

"""Paths: run a rule along an objective (pure NumPy), stop where it diverges, and decide what
of the path to draw.

A run that produces a non-finite point, leaves the objective's view by a factor of a million
(``DIVERGENCE_FACTOR``) or makes the rule raise ``OverflowError``/``FloatingPointError``/
``ZeroDivisionError``/``LinAlgError`` stops there (``diverged_at`` = that step). The drawn path
is cut where it leaves the view and marked with a red cross labelled "diverged at step k" or
"left the view at step k". A :class:`_Run` is one optimizer: its rule, its hyperparameter
controls and the results of its last run.
"""
from __future__ import annotations

import copy
import math
import traceback
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import numpy as np

from ..rules import hyperparameters_of
from .controls import View, _takes

#: Learning-rate schedules of the stochastic explorer: step t = 1, 2, ... multiplies lr by this.
SCHEDULES: Dict[str, Callable[[int], float]] = {
    "constant": lambda t: 1.0,
    "exponential": lambda t: math.exp(-0.1 * t),
    "polynomial": lambda t: (1.0 + 0.1 * t) ** -0.5,
}

MAX_STEPS = 200
#: A point farther than this many view sizes from the origin counts as diverged.
DIVERGENCE_FACTOR = 1e6

_DIVERGENCE_ERRORS = (OverflowError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError)
_PATH_COLOR = "#ff7f0e"
_CROSS_COLOR = "#d62728"


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
        from ..plotting import border_point

        border = border_point(points[j], np.asarray(nxt, dtype=float), view)
        return np.vstack([points[: j + 1], border]), j + 1, border, j + 1
    return points[: j + 1], j + 1, points[j], None


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
    records: Optional[list] = None,
):
    """Run ``rule`` from ``start`` for ``steps`` steps.

    Returns ``(points, diverged_at, escape, error)``: the finite points x_0..x_k (the run stops
    before a diverging point), the step at which it diverged (or None), the far-away finite
    point that stopped it (or None) and ``(step, exception, traceback text)`` when the rule
    raised anything else.

    ``records`` (a list) receives one :func:`_record` per call of the rule, for the step
    inspector: record t holds what the call that leaves x_t used and left (its gradient, lr,
    a copy of the state after it and the point it returned). The calls that stopped the run
    are recorded too, and a run that took all its steps gets one more call from its last
    point, the update it would take next (not part of the path).
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
        for t in range(1, steps + 2 if records is not None else steps + 1):
            if t > steps and (noise and noise_table is not None and t > len(noise_table)):
                break  # no noise left for the look-ahead call
            g = new = None
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
                if records is not None:
                    records.append(_record(g, kw, lr_key, state, None))
                if t <= steps:
                    diverged = t
                break
            except Exception as exc:  # a bug in a rule: report it, keep the picture
                if records is not None:
                    records.append(_record(g, kw, lr_key, state, None))
                if t <= steps:
                    error = (t, exc, traceback.format_exc())
                break
            if records is not None:
                records.append(_record(g, kw, lr_key, state, new))
            if t > steps:  # the look-ahead call: recorded, not part of the path
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


def _copy_state(state: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of a rule's state that later calls cannot change (arrays copied)."""
    out: Dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            out[key] = value.copy()
        elif isinstance(value, (list, dict, set)):
            try:
                out[key] = copy.deepcopy(value)
            except Exception:  # an object that cannot be copied: keep it as it is
                out[key] = value
        else:
            out[key] = value
    return out


def _record(g, kw: Mapping[str, Any], lr_key: Optional[str], state: Mapping[str, Any], new):
    """What the step inspector keeps of one call of the rule."""
    return {
        "grad": None if g is None else np.array(g, dtype=float),
        "lr": kw.get(lr_key) if lr_key is not None else None,
        "state": _copy_state(state),
        "new": None if new is None else new.copy(),
    }


class _Run:
    """One optimizer on an objective: its rule, its hyperparameter controls and its results (the
    2-D explorers hang its artists on it: ``line``, ``cross``, ``note``, ``loss_line``)."""

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
        self.records: list = []  # one per call of the rule (the step inspector reads them)
        self.hp_used: Dict[str, Any] = {}

    def set_rule(self, rule: Callable, rule_name: Optional[str]) -> None:
        self.rule = rule
        self.rule_name = rule_name
        self.info = hyperparameters_of(rule)
        self.needs_hess = _takes(rule, "hess")
        self.lr_key = "lr" if "lr" in self.info else ("eta" if "eta" in self.info else None)

    def hp(self) -> Dict[str, Any]:
        out = dict(self.fixed)
        for name, widget in self.controls.items():
            value = widget.value
            out[name] = bool(value) if isinstance(value, (bool, np.bool_)) else value
        return out

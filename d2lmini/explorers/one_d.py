"""Explorer1D: gradient descent or Newton's method on a 1-D function, optionally with the local
quadratic model at each iterate (:func:`explore_1d`)."""
from __future__ import annotations

import html
import math
import traceback
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .. import objectives as _objectives
from ..rules import hyperparameters_of
from .contours import _CONTOUR_COLOR
from .controls import (
    START_DIVISIONS, _check_steps, _dropdown, _fmt, _nearest, _number_control, _regrid, _slider,
    _takes, _widgets,
)
from .frames import _LiveFigure, _remove_artist
from .paths import (
    DIVERGENCE_FACTOR, _CROSS_COLOR, _DIVERGENCE_ERRORS, _PATH_COLOR, _copy_state, _drawn_path, _note,
    _place_note,
)

#: Methods of :func:`explore_1d` (a rule function may be passed too).
METHODS_1D: Tuple[str, ...] = ("gd", "newton", "newton |f''|")
MAX_STEPS_1D = 50

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
            hyperparameters_of(method)  # checks the signature
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
        self._opening = {"steps": steps, "lr": lr, "x0": x0, "method": mname,
                         "objective": self.objective.name, "show_model": bool(show_model)}
        lo, hi = self._lr_range(mname)
        names_1d = list(_objectives.NAMES_1D)
        if self.objective.name not in names_1d:
            names_1d.append(self.objective.name)
        self.controls: Dict[str, Any] = {
            "method": _dropdown("220px", options=list(METHODS_1D) + list(self._custom), value=mname,
                                description="method"),
            "objective": _dropdown("200px", options=names_1d, value=self.objective.name, description="f"),
            "lr": _number_control(lr, lo, hi, "lr (η)", step=0.01),
            "x0": _number_control(x0, view[0], view[1], "x0", divisions=START_DIVISIONS),
            "steps": _slider("IntSlider", value=steps, min=1, max=MAX_STEPS_1D, step=1, description="steps"),
            "show_model": w.Checkbox(value=bool(show_model), description="show local quadratic model",
                                     indent=False),
        }
        self._order_controls(["lr"])
        self._given = self.objective
        self._build()
        for cname, widget in self.controls.items():
            self._observe(cname, widget)
        self._records: list = []
        from .inspector import Inspector1D

        self.inspector = Inspector1D(self, steps)  # step, Play and speed: they redraw, never recompute
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
            *([self.events_note] if self.events_note is not None else []),
            self.inspector.widget,
            w.HBox([w.VBox([c["lr"], c["x0"]]), w.VBox([c["steps"], c["show_model"]])],
                   layout=w.Layout(flex_flow="row wrap")),
            self.output,
        ])

    def _lr_range(self, mname: str) -> Tuple[float, float]:
        if mname in _LR_RANGE_1D:
            return _LR_RANGE_1D[mname]
        fn = self._custom[mname]
        info = hyperparameters_of(fn)
        key = "lr" if "lr" in info else ("eta" if "eta" in info else None)
        rng = info[key][1] if key else None
        return (float(rng.low), float(rng.high)) if rng is not None else (0.0, 2.0)

    def _lr_default(self, mname: str) -> float:
        if mname in _LR_DEFAULT_1D:
            return _LR_DEFAULT_1D[mname]
        info = hyperparameters_of(self._custom[mname])
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
        return {"method": 0, "objective": 1, "step": 9}.get(name, 5)

    def _apply(self, name: str) -> None:
        c = self.controls
        if name == "method":
            mname = c["method"].value
            lo, hi = self._lr_range(mname)
            with self._quiet():
                _regrid(c["lr"], lo, hi, value=min(max(self._lr_default(mname), lo), hi))
                c["show_model"].value = mname.startswith("newton")
        elif name == "objective":
            oname = c["objective"].value
            self.objective = self._given if oname == self._given.name else _objectives.get_1d(oname)
            self._set_view()
            v = self._view
            with self._quiet():
                _regrid(c["x0"], v[0], v[1], START_DIVISIONS, value=float(self.objective.start))
        elif name == "steps":
            self.inspector.steps_changed(int(c["steps"].value))

    @property
    def opening(self) -> Dict[str, Any]:
        """The value each control opened with (what the code asked for, else the defaults)."""
        out = dict(self._opening)
        if getattr(self, "inspector", None) is not None:
            out.update(self.inspector.opening)
        return out

    # --- clicks on the plot -------------------------------------------------------------------
    def _pointer_axes(self):
        return self.ax

    def _pointer_to(self, x: float, y: float) -> None:
        """A click (or a drag) on the plot puts x0 at the grid point of its slider nearest x."""
        x0 = _nearest(self.controls["x0"], x)
        if x0 != float(self.controls["x0"].value):
            self._pointer_set({"x0": x0})

    def reset_sliders(self) -> None:
        """lr (the method's default), x0 (the objective's start) and steps back."""
        mname = self.controls["method"].value
        self._asked.clear()
        self._set({"lr": self._lr_default(mname), "x0": float(self.objective.start), "steps": self._opening["steps"],
                   "step": 0})

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
        info = hyperparameters_of(fn)
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

        step.state = state  # the step inspector records it
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
        # One record per call of the step (the inspector's), plus a look-ahead call from the
        # last point of a run that took all its steps (not part of the path).
        records = self._records = []
        with np.errstate(all="ignore"):
            step = self._step_function()
            state = getattr(step, "state", {})
            for t in range(1, steps + 2):
                try:
                    new = step(x)
                except _DIVERGENCE_ERRORS:
                    records.append({"state": _copy_state(state), "new": None})
                    if t <= steps:
                        diverged = t
                    break
                except Exception as exc:
                    records.append({"state": _copy_state(state), "new": None})
                    if t <= steps:
                        error = (t, exc, traceback.format_exc())
                    break
                records.append({"state": _copy_state(state), "new": new})
                if t > steps:
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
        self.inspector.refresh()

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

    @property
    def inspection(self) -> Dict[str, Any]:
        """What step ``controls['step']`` is made of: ``point`` x_t, ``value`` f(x_t),
        ``grad`` f'(x_t), ``hess`` f''(x_t), ``lr``, ``raw_step`` -lr f'(x_t), ``newton_step``,
        ``update`` x_{t+1} - x_t, ``next_point``, ``state`` (a rule's own), ``effective_step``,
        ``model`` (f, f', f'' of the local quadratic model at x_t)."""
        return self.inspector.inspection

    def close(self) -> None:
        self.inspector.close()
        super().close()

    def __repr__(self) -> str:
        return f"<Explorer1D {self.controls['method'].value} on {self.objective.name}: {self.readout}>"

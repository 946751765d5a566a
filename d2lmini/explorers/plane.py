"""The 2-D contour explorer base shared by :class:`~.two_d.Explorer2D` and
:class:`~.race.Race`: a contour plot with one path per optimizer, an optional loss panel, the
shared controls (objective, kappa, angle, steps, start) and buttons, the readout."""
from __future__ import annotations

import html
import math
from typing import Any, Dict, List, Tuple

import numpy as np

from .. import objectives as _objectives
from .contours import _CONTOUR_COLOR, _contour_grid, _loss_limits
from .controls import (
    View, _check_noise, _check_schedule, _check_seed, _check_view, _check_warmup, _dropdown, _fmt, _log_ladder, _nearest, _number_control,
    _regrid, _selection, _set_visible, _slider, _start_step, _widgets,
)
from .frames import _LiveFigure, _remove_artist
from .paths import (
    DIVERGENCE_FACTOR, MAX_STEPS, SCHEDULES, WARMUP_SCHEDULES, _CROSS_COLOR, _drawn_path, _inside,
    _note, _place_note, _Run, _run_rule,
)


class _Contour2D(_LiveFigure):
    """Contour plot + paths + loss panel; the common part of Explorer2D and Race."""

    _runs: List[_Run]
    _label_readout = False  # label the readout with the run (Race) even for one run
    inspector = None  # the step inspector (.inspector.Inspector2D), made by _init_inspector

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
        names = list(_objectives.NAMES)
        if self._given is not None and self._given.name not in names:
            names.append(self._given.name)
        c = self.controls
        c["objective"] = _dropdown("260px", options=names, value=self.objective.name,
                                   description="objective")
        kappa = float(self.objective.params.get("kappa", 20.0)) if self.objective.name == "quadratic" else 20.0
        angle = float(self.objective.params.get("angle", 45.0)) if self.objective.name == "rotated" else 45.0
        self._opening_objective, self._opening_kappa, self._opening_angle = self.objective.name, kappa, angle
        c["kappa"] = _selection(_log_ladder(1.0, 1000.0), kappa, "κ (kappa)")
        c["angle"] = _number_control(angle, 0.0, 90.0, "angle (°)", step=1.0)
        c["steps"] = _slider("IntSlider", value=steps, min=1, max=MAX_STEPS, step=1, description="steps")
        v = self.view
        step = _start_step(v)
        c["x1"] = _number_control(self._start0[0], v[0], v[1], "start x1", step=step)
        c["x2"] = _number_control(self._start0[1], v[2], v[3], "start x2", step=step)
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

    # --- gradient noise and learning-rate schedules (``stochastic=True``) ----------------------
    def _init_stochastic(self, stochastic, noise, schedule, warmup, seed, steps: int) -> None:
        """Check the noise and schedule arguments; noise or a schedule asked for by value
        brings their controls along. The noise at step t is ``noise * z[t-1]`` with ``z`` drawn
        once from ``seed``, so a path stays put while other controls move."""
        noise = _check_noise(noise)
        schedule = _check_schedule(schedule, tuple(SCHEDULES))
        self.seed = _check_seed(seed)
        warmup = _check_warmup(warmup, steps, MAX_STEPS)
        self.stochastic = bool(stochastic) or noise > 0 or schedule != "constant"
        # one row more than steps: the inspector's look-ahead update from the last point
        self._noise_table = np.random.default_rng(self.seed).standard_normal((MAX_STEPS + 1, 2))
        self._noise, self._schedule, self._warmup = noise, schedule, warmup

    def _stochastic_controls(self) -> None:
        """The noise slider, the schedule drop-down and the warm-up slider (shown for the
        warm-up schedules)."""
        if not self.stochastic:
            return
        c = self.controls
        c["noise"] = _number_control(self._noise, 0.0, 2.0, "noise σ", step=0.01)
        c["schedule"] = _dropdown("260px", options=list(SCHEDULES), value=self._schedule,
                                  description="lr schedule")
        c["warmup"] = _slider("IntSlider", value=self._warmup, min=0, max=MAX_STEPS, step=1,
                              description="warm-up steps")
        _set_visible(c["warmup"], self._schedule in WARMUP_SCHEDULES)

    def _run_kwargs(self, run: _Run) -> Dict[str, Any]:
        if not self.stochastic:
            return {}
        return {"schedule": self._schedule, "warmup": self._warmup, "noise": self._noise,
                "noise_table": self._noise_table}

    def _common_opening(self) -> Dict[str, Any]:
        """Opening values of the shared controls (see ``opening``)."""
        out = {"objective": self._opening_objective, "steps": self._opening["steps"],
               "x1": self._start0[0], "x2": self._start0[1],
               "kappa": self._opening_kappa, "angle": self._opening_angle}
        if self.stochastic:
            out.update(noise=self._opening["noise"], schedule=self._opening["schedule"],
                       warmup=self._opening["warmup"])
        return out

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

    def _set_view(self, view: View, start=None) -> None:
        """A new view: the start sliders' ranges and grids follow it (the start stays, or moves
        to ``start``)."""
        self.view = tuple(float(a) for a in view)
        c = self.controls
        x1, x2 = (None, None) if start is None else (float(start[0]), float(start[1]))
        with self._quiet():
            step = _start_step(self.view)
            _regrid(c["x1"], self.view[0], self.view[1], value=x1, step=step)
            _regrid(c["x2"], self.view[2], self.view[3], value=x2, step=step)
        self._static_dirty = True

    def _set_priority(self, name: str) -> int:
        return {"rule": 0, "objective": 1, "kappa": 2, "angle": 2, "inspect": 6, "step": 9}.get(name, 5)

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
                    self._set_view(self.home_view, start=self.objective.start)
        elif name == "noise":
            self._noise = float(self.controls["noise"].value)
        elif name == "schedule":
            self._schedule = self.controls["schedule"].value
            _set_visible(self.controls["warmup"], self._schedule in WARMUP_SCHEDULES)
        elif name == "warmup":
            self._warmup = int(self.controls["warmup"].value)
        elif name == "steps":
            if self.loss_ax is not None:
                self.loss_ax.set_xlim(0, max(1, int(self.controls["steps"].value)))
                self._layer_dirty = True
            if self.inspector is not None:
                self.inspector.steps_changed(int(self.controls["steps"].value))

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

    def _compute(self) -> None:
        start = self._start()
        steps = int(self.controls["steps"].value)
        errors = []
        for run in self._runs:
            hp, records = run.hp(), []
            pts, div, escape, err = _run_rule(
                run.rule, self.objective, start, steps, hp,
                needs_hess=run.needs_hess, lr_key=run.lr_key, limit=self._limit,
                records=records, **self._run_kwargs(run),
            )
            run.trajectory, run.diverged_at, run.escape, run.error = pts, div, escape, err
            run.records, run.hp_used = records, hp
            with np.errstate(all="ignore"):
                values = np.asarray(self.objective(pts[:, 0], pts[:, 1]), dtype=float)
                run.losses = values - self.objective.fmin
            if err is not None:
                errors.append(f"{run.label}: error at step {err[0]}\n{err[2]}")
        self._report("\n".join(errors) if errors else None)
        self._update_artists()
        if self.inspector is not None:
            self.inspector.refresh()

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
            if len(self._runs) > 1 or self._label_readout:
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

    # --- the step inspector ---------------------------------------------------------------
    def _init_inspector(self, steps: int, race: bool = False) -> None:
        """The step, Play and speed controls (and a race's run picker) with their overlay;
        made after the other controls are observed (a step move never recomputes a path)."""
        from .inspector import Inspector2D

        self.inspector = Inspector2D(self, steps, race=race)

    @property
    def inspection(self) -> Dict[str, Any]:
        """What the step ``controls['step']`` is made of (of the run ``controls['inspect']``
        picks in a race): ``step``, ``point`` (x_t), ``grad`` (g_t), ``lr`` (after any
        schedule), ``update`` (x_{t+1} - x_t), ``next_point``, ``state`` (copies of the rule's
        state after that update), ``effective_step`` (per coordinate, where known), ... See
        :mod:`d2lmini.explorers.inspector`."""
        return self.inspector.inspection

    def close(self) -> None:
        if self.inspector is not None:
            self.inspector.close()
        super().close()

    # --- clicks and drags on the contour plot ---------------------------------------------
    def _pointer_axes(self):
        return self.ax

    def _pointer_to(self, x: float, y: float) -> None:
        """Move the start to the grid point of the start sliders nearest to (x, y), inside the
        view (a drag past the border holds the start at the border)."""
        c = self.controls
        x1, x2 = _nearest(c["x1"], x), _nearest(c["x2"], y)
        if (x1, x2) != (float(c["x1"].value), float(c["x2"].value)):
            self._pointer_set({"x1": x1, "x2": x2})

    def _finish(self) -> None:
        """First computation and frame."""
        self._compute()
        self._render_frame()

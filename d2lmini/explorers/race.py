"""Race: several optimizers on one objective from one start, each in its own colour
(:func:`race`)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from .controls import _check_steps, _make_control, _opening_hp, _resolve_rule, _widgets
from .paths import MAX_STEPS, _Run
from .plane import _Contour2D

_RACE_COLORS = (
    "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#7f7f7f", "#000000", "#1f77b4",
)


class Race(_Contour2D):
    """Several optimizers on one objective from one start. Build it with :func:`race`.

    ``trajectory``, ``losses`` and ``diverged_at`` are dicts keyed by label; ``controls`` has a
    learning-rate slider ``"<label>.<lr or eta>"`` per optimizer and shared ``steps``, ``x1``,
    ``x2``, ``objective`` (and ``noise``, ``schedule``, ``warmup`` with ``stochastic=True``:
    every optimizer sees the same gradient noise and runs on the same schedule).
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
        stochastic: bool = False,
        noise: float = 0.0,
        schedule: str = "constant",
        warmup: Optional[int] = None,
        seed: int = 0,
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
        self._init_stochastic(stochastic, noise, schedule, warmup, seed, steps)
        self._init_objective(objective, None, start)
        self._init_figure((9.0, 4.5) if loss_panel else (5.8, 4.5))
        self.controls: Dict[str, Any] = {}
        self._build_axes(loss_panel)
        self._runs = []
        self._opening = {"steps": steps, "hp": {}, "noise": self._noise, "schedule": self._schedule,
                         "warmup": self._warmup}
        for i, (label, name, fn, values) in enumerate(specs):
            run = _Run(label, fn, name, _RACE_COLORS[i])
            self._add_run_artists(run)
            self._runs.append(run)
        self._common_controls(steps)
        self._stochastic_controls()
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
        self._init_inspector(steps, race=True)
        lr_box = _widgets().VBox(lr_widgets)
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
        common = [self.controls[n] for n in ("steps", "x1", "x2", "kappa", "angle", "noise", "schedule",
                                             "warmup") if n in self.controls]
        self.widget = w.VBox([
            w.HBox(top, layout=w.Layout(flex_flow="row wrap")),
            self.figure_widget,
            self.readout_html,
            *([self.events_note] if self.events_note is not None else []),
            self.inspector.widget,
            w.HBox([lr_box, w.VBox(common)], layout=w.Layout(flex_flow="row wrap")),
            self.output,
        ])

    def reset_sliders(self) -> None:
        """Learning rates, steps, noise and schedule back to their opening values; start back to
        the objective's."""
        values = dict(self._opening["hp"])
        values["steps"] = self._opening["steps"]
        if self.stochastic:
            values.update(noise=self._opening["noise"], schedule=self._opening["schedule"],
                          warmup=self._opening["warmup"])
        values["x1"], values["x2"] = (float(a) for a in self.objective.start)
        values["step"] = 0  # the step inspector back to the start too
        self._asked.clear()
        self._set(values)

    @property
    def opening(self) -> Dict[str, Any]:
        """The value each control opened with (the learning rates the code asked for, else the
        rules' presets or defaults)."""
        out = dict(self._opening["hp"])
        out.update(self._common_opening())
        if self.inspector is not None:
            out.update(self.inspector.opening)
        return out

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

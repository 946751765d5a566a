"""Explorer2D: one update rule on a 2-D objective with live sliders (:func:`explore`)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union

import numpy as np

from ..rules import RULES
from .controls import (
    _RESERVED, View, _check_steps, _close_tree, _dropdown, _make_control, _opening_hp, _resolve_rule,
    _rule_label, _widgets,
)
from .paths import MAX_STEPS, _PATH_COLOR, _inside, _Run
from .plane import _Contour2D


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
        warmup: Optional[int] = None,
        seed: int = 0,
        loss_panel: bool = True,
        **hp,
    ):
        name, fn = _resolve_rule(rule)
        opening = _opening_hp(name, fn, hp)
        steps = _check_steps(steps, MAX_STEPS)
        self._init_stochastic(stochastic, noise, schedule, warmup, seed, steps)
        self._init_objective(objective, view, start)
        self._init_figure((9.0, 4.5) if loss_panel else (5.8, 4.5))
        self.controls: Dict[str, Any] = {}
        self._opening = {"hp": dict(opening), "steps": steps, "noise": self._noise,
                         "schedule": self._schedule, "warmup": self._warmup, "rule": name}
        run = _Run(_rule_label(name, fn), fn, name, _PATH_COLOR)
        self._runs = [run]
        self._build_axes(loss_panel)
        self._add_run_artists(run)
        if name is not None:
            self.controls["rule"] = _dropdown("220px", options=list(RULES), value=name, description="rule")
        self._common_controls(steps)
        self._stochastic_controls()
        self._hp_box = _widgets().VBox([])
        self._make_hp_controls(opening)
        for cname, widget in list(self.controls.items()):
            if cname not in run.controls:
                self._observe(cname, widget)
        self._init_inspector(steps)
        self._finish()
        self._layout()

    # --- hyperparameter controls ---------------------------------------------------------
    def _make_hp_controls(self, values: Mapping[str, Any]) -> None:
        run = self._runs[0]
        for old in run.controls:
            self.controls.pop(old, None)
        _close_tree(*run.controls.values())
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
        super()._apply(name)

    @property
    def opening(self) -> Dict[str, Any]:
        """The value each control opened with: what the code asked for, else the rule's preset
        (a named rule) or default (after a change of rule: the new rule's)."""
        run = self._runs[0]
        out = {k: self._opening["hp"].get(k, run.info[k][0]) for k in run.controls}
        out.update(self._common_opening())
        if "rule" in self.controls:
            out["rule"] = self._opening["rule"]
        if self.inspector is not None:
            out.update(self.inspector.opening)
        return out

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
            values["warmup"] = self._opening["warmup"]
        values["x1"], values["x2"] = (float(a) for a in self.objective.start)
        if not _inside(np.array([values["x1"], values["x2"]]), self.view)[0]:
            values["x1"], values["x2"] = (
                (self.view[0] + self.view[1]) / 2, (self.view[2] + self.view[3]) / 2
            )
        values["step"] = 0  # the step inspector back to the start too
        values = {k: v for k, v in values.items() if k in self.controls}
        self._asked.clear()
        self._set(values)

    def _layout(self) -> None:
        w = _widgets()
        top = [self.controls[n] for n in ("rule", "objective") if n in self.controls]
        top += [self.buttons["reset_view"], self.buttons["fit"], self.buttons["reset_sliders"]]
        common = [self.controls[n] for n in ("steps", "x1", "x2", "kappa", "angle", "noise", "schedule",
                                             "warmup") if n in self.controls]
        self.widget = w.VBox([
            w.HBox(top, layout=w.Layout(flex_flow="row wrap")),
            self.figure_widget,
            self.readout_html,
            *([self.events_note] if self.events_note is not None else []),
            self.inspector.widget,
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

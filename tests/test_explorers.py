"""The live explorers (d2lmini.explorers), without a browser.

Explorers are built with PNG frames (the Agg path, whatever the session's backend); a control's
``.value`` is set from Python, as a slider move would, and the results are checked against a
direct loop over the same rule: trajectory, the path's Line2D, the readout and the PNG frame.
Divergence, errors inside callbacks, the ipympl canvas (in a subprocess) and the event-burst
throttle are covered, and hypothesis drives every explorer over its whole slider ranges.

Only ipywidgets APIs present in both 7.x and 8.x are used, so the suite also runs in the
Colab-like environment (ipywidgets 7, no ipympl).
"""
from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import math
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ipywidgets as widgets

import nbrun
from d2lmini import explorers as E
from d2lmini import objectives
from d2lmini.explorers import frames
from d2lmini.rules import RULES, hyperparams

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _png_frames(monkeypatch):
    """Every explorer here renders PNG frames with Agg, whatever backend the session has; the
    explorers a test makes are closed after it (the fuzz tests keep theirs in _CACHE)."""
    monkeypatch.setattr(frames, "_ipympl_active", lambda: False)
    before = set(map(id, E.live_explorers()))
    yield
    keep = set(map(id, _CACHE.values()))
    for ex in E.live_explorers():
        if id(ex) not in before and id(ex) not in keep:
            ex.close()


# ---------------------------------------------------------------------------------------------
# helpers: small rules of our own and a direct loop to compare with


@hyperparams(lr=(0.0, 1.5), beta=(0.0, 0.95))
def heavy_ball(x, g, state, lr=0.3, beta=0.5):
    """A chapter's from-scratch momentum rule (eta outside the velocity)."""
    state["v"] = beta * state.get("v", 0.0) + g
    return x - lr * state["v"]


@hyperparams(eta=(0.0, 1.0), eps=(1e-8, 1.0, "log"))
def scaled(x, g, state, eta=0.2, eps=1e-3, sign_only=False, scale=1.0):
    """Numbers, a log range, a flag and a number without any range (no slider)."""
    step = np.sign(g) if sign_only else g / (np.abs(g) + eps)
    return x - eta * scale * step


def direct(rule, objective, start, steps, hp, limit=math.inf, noise=0.0, table=None, schedule=None):
    """The plain loop the explorer must reproduce: (points, diverged_at)."""
    x = np.array(start, dtype=float)
    points = [x.copy()]
    state = {}
    needs_hess = "hess" in __import__("inspect").signature(rule).parameters
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            g = objective.grad(x)
            if noise:
                g = g + noise * table[t - 1]
            kw = dict(hp)
            if schedule is not None:
                kw["lr"] = hp["lr"] * schedule(t)
            if needs_hess:
                kw["hess"] = objective.hess(x)
            try:
                x = np.asarray(rule(x, g, state, **kw), dtype=float)
            except (OverflowError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError):
                return np.array(points), t
            if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > limit:
                return np.array(points), t
            points.append(x.copy())
    return np.array(points), None


D2L_LIMIT = 1e6 * 6.5  # 1e6 times the largest side of d2l's view (-5.5, 1, -3, 1)


def png_size(data: bytes):
    from PIL import Image

    assert data[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.size


def point_text(x) -> str:
    return f"({E._fmt(x[0])}, {E._fmt(x[1])})"


def readout_line(race, label: str) -> str:
    lines = [ln for ln in race.readout.splitlines() if ln.startswith(f"{label}: ")]
    assert len(lines) == 1, race.readout
    return lines[0]


def assert_inspection(ex, trajectory):
    """The step inspector agrees with the path: point = trajectory[step], next point = point +
    update, the step control ends at the last finite point, Play follows it."""
    c = ex.controls
    ins = ex.inspection
    assert c["step"].max == len(trajectory) - 1 == c["play"].max
    assert ins["step"] == c["step"].value
    np.testing.assert_array_equal(ins["point"], trajectory[ins["step"]])
    if ins["update"] is not None:
        np.testing.assert_allclose(np.asarray(ins["point"]) + ins["update"], ins["next_point"],
                                   rtol=1e-12, atol=1e-300, equal_nan=True)
    if ins["step"] < len(trajectory) - 1:
        np.testing.assert_array_equal(ins["next_point"], trajectory[ins["step"] + 1])
    assert c["play"].interval == c["speed"].value


def assert_consistent(ex):
    """Invariants every 2-D explorer keeps, whatever its sliders say."""
    traj = ex.trajectory
    assert traj.ndim == 2 and traj.shape[1] == 2 and len(traj) >= 1
    assert np.all(np.isfinite(traj))
    v = ex.view
    assert all(math.isfinite(a) for a in v)
    assert ex.ax.get_xlim() == pytest.approx(v[:2], rel=0, abs=0)
    assert ex.ax.get_ylim() == pytest.approx(v[2:], rel=0, abs=0)
    xy = ex.path_line.get_xydata()
    assert np.isfinite(xy).all(axis=1).any(), "nothing finite drawn"
    frame = ex.frame
    assert frame[:8] == PNG_SIGNATURE and len(frame) > 1000
    steps = len(traj) - 1
    if ex.diverged_at is not None:
        assert f"diverged at step {ex.diverged_at}" in ex.readout
        assert len(traj) == ex.diverged_at
    else:
        assert steps == ex.controls["steps"].value
    assert f"after {steps} step" in ex.readout
    assert point_text(traj[-1]) in ex.readout
    assert_inspection(ex, traj)


# ---------------------------------------------------------------------------------------------
# Explorer2D with a rule of our own


def test_custom_rule_builds_sliders_from_declared_ranges():
    ex = E.explore(heavy_ball)
    lr, beta = ex.controls["lr"], ex.controls["beta"]
    assert isinstance(lr, widgets.FloatSlider) and isinstance(beta, widgets.FloatSlider)
    assert (lr.min, lr.max, lr.value) == (0.0, 1.5, 0.3)
    assert (beta.min, beta.max, beta.value) == (0.0, 0.95, 0.5)
    assert lr.continuous_update and beta.continuous_update
    assert list(ex.controls)[:2] == ["lr", "beta"]  # hyperparameters first
    for name in ("steps", "x1", "x2", "objective", "kappa", "angle"):
        assert name in ex.controls
    assert "rule" not in ex.controls  # a function has no rule drop-down
    steps = ex.controls["steps"]
    assert isinstance(steps, widgets.IntSlider) and (steps.min, steps.max) == (1, 200)
    assert (ex.controls["x1"].min, ex.controls["x1"].max) == (-5.5, 1.0)
    assert (ex.controls["x2"].min, ex.controls["x2"].max) == (-3.0, 1.0)
    objective = ex.controls["objective"]
    assert isinstance(objective, widgets.Dropdown) and tuple(objective.options) == objectives.NAMES

    ex2 = E.explore(scaled, eps=1e-4)
    assert isinstance(ex2.controls["eta"], widgets.FloatSlider)
    eps = ex2.controls["eps"]
    assert isinstance(eps, widgets.FloatLogSlider)
    assert (eps.min, eps.max) == pytest.approx((-8.0, 0.0)) and eps.value == pytest.approx(1e-4)
    assert isinstance(ex2.controls["sign_only"], widgets.Checkbox)
    assert "scale" not in ex2.controls  # no range declared or known: no slider


def test_slider_move_recomputes_path_readout_and_frame():
    ex = E.explore(heavy_ball, steps=20)
    obj = objectives.get("d2l")
    expected, div = direct(heavy_ball, obj, (-5.0, -2.0), 20, {"lr": 0.3, "beta": 0.5})
    np.testing.assert_array_equal(ex.trajectory, expected)
    line_before = ex.path_line.get_xydata().copy()
    frame_before = ex.frame
    readout_before = ex.readout

    ex.controls["beta"].value = 0.8  # as a slider move would

    expected, div = direct(heavy_ball, obj, (-5.0, -2.0), 20, {"lr": 0.3, "beta": 0.8})
    assert div is None and ex.diverged_at is None
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert not np.array_equal(ex.path_line.get_xydata(), line_before)
    np.testing.assert_array_equal(ex.path_line.get_xydata(), expected)  # inside the view: whole
    assert ex.readout != readout_before
    assert point_text(expected[-1]) in ex.readout
    assert E._fmt(obj.value(expected[-1])) in ex.readout
    np.testing.assert_allclose(ex.losses, obj(expected[:, 0], expected[:, 1]) - obj.fmin)
    frame = ex.frame
    assert frame != frame_before
    w, h = png_size(frame)
    assert (w, h) == ex.canvas.get_width_height()
    assert ex.image.value == frame
    assert "beta = 0.8" not in ex.readout  # readout is about the result, not the knobs
    assert_consistent(ex)


def test_start_and_steps_sliders():
    ex = E.explore(heavy_ball)
    ex.set(x1=-3.0, x2=0.5, steps=35)
    expected, _ = direct(heavy_ball, objectives.get("d2l"), (-3.0, 0.5), 35, {"lr": 0.3, "beta": 0.5})
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert ex.loss_ax.get_xlim() == (0.0, 35.0)
    assert_consistent(ex)


def test_set_applies_many_controls_in_one_update():
    ex = E.explore(heavy_ball)
    before = ex.n_updates
    ex.set(lr=0.1, beta=0.7, steps=50, x1=-4.0)
    assert ex.n_updates == before + 1
    expected, _ = direct(heavy_ball, objectives.get("d2l"), (-4.0, -2.0), 50, {"lr": 0.1, "beta": 0.7})
    np.testing.assert_array_equal(ex.trajectory, expected)
    with pytest.raises(ValueError, match="unknown control 'gamma'"):
        ex.set(gamma=1.0)


def test_unknown_hyperparameter_lists_valid_names():
    with pytest.raises(ValueError, match=r"gamma.*valid names: lr, beta"):
        E.explore(heavy_ball, gamma=0.1)
    with pytest.raises(ValueError, match="valid names: lr, momentum"):
        E.explore("momentum", betas=(0.9, 0.99))
    with pytest.raises(ValueError, match="unknown rule"):
        E.explore("sgdd")
    with pytest.raises(TypeError):
        E.explore(42)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"steps": 0}, ValueError),
        ({"steps": 201}, ValueError),
        ({"steps": 2.5}, TypeError),
        ({"start": (50.0, 0.0)}, ValueError),
        ({"start": "here"}, TypeError),
        ({"objective": "banana"}, ValueError),
        ({"view": (1, 0, 0, 1)}, ValueError),
        ({"noise": 3.0}, ValueError),
        ({"schedule": "cosine"}, ValueError),
        ({"lr": float("nan")}, ValueError),
        ({"lr": "big"}, TypeError),
    ],
)
def test_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        E.explore(heavy_ball, **kwargs)


def test_value_outside_the_declared_range_widens_the_slider():
    ex = E.explore(heavy_ball, lr=2.5)
    assert ex.controls["lr"].max == 2.5 and ex.controls["lr"].value == 2.5


# ---------------------------------------------------------------------------------------------
# named rules from d2lmini.rules


@pytest.mark.parametrize("name", list(RULES))
def test_named_rule_opens_with_its_preset(name):
    ex = E.explore(name)
    assert ex.controls["rule"].value == name
    assert tuple(ex.controls["rule"].options) == tuple(RULES)
    info = __import__("d2lmini.rules", fromlist=["x"]).hyperparameters_of(RULES[name])
    hp = {k: info[k][0] for k in ex._runs[0].controls}
    hp.update({k: v for k, v in E.PRESETS.get(name, {}).items() if k in info})  # a rule may have no preset
    for k, v in hp.items():
        assert ex.controls[k].value == pytest.approx(v), k
    expected, div = direct(RULES[name], objectives.get("d2l"), (-5.0, -2.0), 20, ex.hyperparameters,
                           limit=D2L_LIMIT)
    np.testing.assert_allclose(ex.trajectory, expected, rtol=0, atol=0)
    assert ex.diverged_at == div
    assert ex.error is None
    assert_consistent(ex)


def test_presets_read_well_on_the_d2l_quadratic():
    for name in RULES:
        ex = E.explore(name)
        assert ex.diverged_at is None, name
        # Every preset opens on a path that ends in the default view (gd and momentum swing
        # above x2 = 1 on their first step, as in d2l's own figures).
        assert E._inside(ex.trajectory[-1], ex.view).all(), name
    assert E.explore("newton").trajectory[1] == pytest.approx([0.0, 0.0])  # one Newton step


def test_rule_dropdown_rebuilds_the_sliders():
    ex = E.explore("momentum")
    ex.controls["rule"].value = "adam"
    assert "momentum" not in ex.controls and "beta1" in ex.controls and "amsgrad" in ex.controls
    assert ex.controls["lr"].value == E.PRESETS["adam"]["lr"] and isinstance(ex.controls["eps"], widgets.FloatLogSlider)
    assert list(ex.controls)[0] == "lr"
    assert set(ex._hp_box.children) == set(ex._runs[0].controls.values())
    expected, _ = direct(RULES["adam"], objectives.get("d2l"), (-5.0, -2.0), 20, ex.hyperparameters)
    np.testing.assert_array_equal(ex.trajectory, expected)
    ex.set(rule="rmsprop", alpha=0.5)  # the rule first, then its own slider
    assert ex.controls["alpha"].value == 0.5
    expected, _ = direct(RULES["rmsprop"], objectives.get("d2l"), (-5.0, -2.0), 20, ex.hyperparameters)
    np.testing.assert_array_equal(ex.trajectory, expected)


def test_newton_gets_the_hessian():
    ex = E.explore("newton", objective="rosenbrock", steps=6)
    obj = objectives.get("rosenbrock")
    expected, div = direct(RULES["newton"], obj, obj.start, 6, {"lr": 1.0, "damping": 0.0, "abs_eigs": False})
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert ex.trajectory[-1] == pytest.approx([1.0, 1.0], abs=1e-6)


# ---------------------------------------------------------------------------------------------
# divergence


def test_gd_lr_06_leaves_the_view_and_axes_stay_put():
    ex = E.explore("gd", lr=0.6)
    # 0.1 x1^2 + 2 x2^2: x2 is multiplied by 1 - 0.6 * 4 = -1.4 per step.
    assert ex.diverged_at is None
    assert ex.trajectory[-1, 1] == pytest.approx(-2 * 1.4**20, rel=1e-12)
    assert ex.trajectory[-1, 1] == pytest.approx(-1673.365109, abs=1e-6)
    assert "left the view at step 1" in ex.readout
    assert ex.ax.get_xlim() == (-5.5, 1.0) and ex.ax.get_ylim() == (-3.0, 1.0)
    drawn = ex.path_line.get_xydata()
    assert len(drawn) == 2  # the start and the point where it crosses the border
    assert drawn[-1, 1] == pytest.approx(1.0)  # x_1 = (-4.76, 2.8): leaves through the top
    assert ex.cross.get_xydata().tolist() == drawn[-1:].tolist()
    assert "left the view at step 1" in ex.readout_html.value
    assert_consistent(ex)


def test_gd_lr_2_diverges_at_a_definite_step():
    obj = objectives.get("d2l")
    x = np.array([-5.0, -2.0])
    k = None
    for t in range(1, 21):
        x = x - 2.0 * obj.grad(x)
        if np.max(np.abs(x)) > D2L_LIMIT:
            k = t
            break
    assert k == 8  # |x2| = 2 * 7^t passes 6.5e6 at t = 8
    ex = E.explore("gd", lr=2.0)
    assert ex.diverged_at == k
    assert f"diverged at step {k}" in ex.readout
    assert len(ex.trajectory) == k
    assert ex.ax.get_xlim() == (-5.5, 1.0) and ex.ax.get_ylim() == (-3.0, 1.0)
    drawn = ex.path_line.get_xydata()
    assert np.isfinite(drawn).all()
    assert E._inside(drawn, ex.view).all()  # cut at the border
    notes = [t.get_text() for t in ex.ax.texts if t.get_visible()]
    assert f"diverged at step {k}" in notes
    assert_consistent(ex)
    # slide back to a safe lr: the note goes away
    ex.controls["lr"].value = 0.3
    assert ex.diverged_at is None and "diverged" not in ex.readout
    assert not any(t.get_visible() and t.get_text() for t in ex.ax.texts)


@pytest.mark.parametrize(
    "failure, step",
    [("nan", 3), ("inf", 2), (OverflowError, 4), (ZeroDivisionError, 1),
     (np.linalg.LinAlgError, 5), (FloatingPointError, 2)],
)
def test_non_finite_points_and_numeric_errors_stop_the_run(failure, step):
    def breaking(x, g, state, lr=0.1):
        state["t"] = state.get("t", 0) + 1
        if state["t"] == step:
            if isinstance(failure, str):
                return np.array([float(failure), 0.0])
            raise failure("boom")
        return x - lr * g

    ex = E.explore(breaking)
    assert ex.diverged_at == step
    assert len(ex.trajectory) == step
    assert ex.error is None and ex.output.outputs == ()
    assert_consistent(ex)


def test_overflowing_objective_is_caught():
    ex = E.explore("gd", objective="rosenbrock", lr=2.0)
    assert ex.diverged_at is not None and ex.diverged_at <= 20
    assert_consistent(ex)


# ---------------------------------------------------------------------------------------------
# errors inside callbacks


def test_rule_error_is_shown_in_the_output_widget():
    @hyperparams(lr=(0.0, 2.0))
    def picky(x, g, state, lr=0.1):
        if lr > 1.0:
            raise ValueError("lr too large for picky")
        return x - lr * g

    ex = E.explore(picky)
    assert ex.output.outputs == ()
    ex.controls["lr"].value = 1.5  # must not raise
    text = "".join(o.get("text", "") for o in ex.output.outputs)
    assert "ValueError" in text and "lr too large for picky" in text and "Traceback" in text
    assert "error at step 1" in ex.readout
    assert ex.frame[:8] == PNG_SIGNATURE
    ex.controls["lr"].value = 0.2
    assert ex.output.outputs == () and ex.error is None


def test_any_callback_error_lands_in_the_output_widget(monkeypatch):
    ex = E.explore(heavy_ball)

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(ex, "_compute", broken)
    ex.controls["lr"].value = 0.2  # the observer swallows and reports
    assert "RuntimeError: drawing failed" in "".join(o.get("text", "") for o in ex.output.outputs)
    monkeypatch.setattr(ex, "reset_view", broken)
    ex.buttons["reset_view"].click()
    assert "drawing failed" in ex.error


def test_rule_returning_the_wrong_shape_is_reported():
    def wrong(x, g, state, lr=0.1):
        return np.zeros(3)

    ex = E.explore(wrong)
    assert "shape (3,)" in ex.error and "error at step 1" in ex.readout
    assert len(ex.trajectory) == 1


# ---------------------------------------------------------------------------------------------
# objectives, view, buttons


def test_objective_dropdown_changes_view_start_and_contours():
    ex = E.explore(heavy_ball)
    kappa, angle = ex.controls["kappa"], ex.controls["angle"]
    assert kappa.layout.display == "none" and angle.layout.display == "none"
    ex.controls["objective"].value = "rosenbrock"
    obj = objectives.get("rosenbrock")
    assert ex.view == obj.view
    assert ex.ax.get_xlim() == obj.view[:2] and ex.ax.get_ylim() == obj.view[2:]
    assert (ex.controls["x1"].min, ex.controls["x1"].max) == obj.view[:2]
    assert (ex.controls["x1"].value, ex.controls["x2"].value) == obj.start
    expected, _ = direct(heavy_ball, obj, obj.start, 20, {"lr": 0.3, "beta": 0.5}, limit=4e6)
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert ex.ax.get_title() == obj.title
    assert_consistent(ex)

    ex.controls["objective"].value = "quadratic"
    assert kappa.layout.display is None and angle.layout.display == "none"
    ex.controls["kappa"].value = 100.0
    obj = objectives.get("quadratic", kappa=100.0)
    expected, _ = direct(heavy_ball, obj, obj.start, 20, {"lr": 0.3, "beta": 0.5})
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert "100" in ex.ax.get_title()

    ex.set(objective="rotated", angle=30.0)
    assert angle.layout.display is None and kappa.layout.display == "none"
    obj = objectives.get("rotated", angle=30.0)
    expected, _ = direct(heavy_ball, obj, obj.start, 20, {"lr": 0.3, "beta": 0.5})
    np.testing.assert_array_equal(ex.trajectory, expected)


def test_an_objective_instance_is_kept():
    obj = objectives.get("quadratic", kappa=50.0)
    ex = E.explore(heavy_ball, objective=obj)
    assert ex.objective is obj and ex.controls["kappa"].value == pytest.approx(50.0)


def test_fit_to_path_and_reset_view():
    ex = E.explore(heavy_ball, lr=0.05, beta=0.0, steps=10)  # a short path near the start
    ex.buttons["fit"].click()
    v = ex.view
    assert v != (-5.5, 1.0, -3.0, 1.0)
    assert (v[1] - v[0]) < 6.5 and E._inside(ex.trajectory, v).all()
    assert ex.ax.get_xlim() == v[:2] and ex.ax.get_ylim() == v[2:]
    assert (ex.controls["x1"].min, ex.controls["x1"].max) == v[:2]
    assert_consistent(ex)
    ex.buttons["reset_view"].click()
    assert ex.view == (-5.5, 1.0, -3.0, 1.0) and ex.ax.get_xlim() == (-5.5, 1.0)
    assert_consistent(ex)


def test_reset_sliders():
    ex = E.explore("momentum", steps=30)
    first = ex.trajectory.copy()
    ex.set(lr=1.1, momentum=0.9, steps=5, x1=0.5)
    ex.buttons["reset_sliders"].click()
    assert ex.controls["lr"].value == 0.4 and ex.controls["momentum"].value == 0.5
    assert ex.controls["steps"].value == 30
    np.testing.assert_array_equal(ex.trajectory, first)


def test_stochastic_noise_and_schedules():
    obj = objectives.get("d2l")
    table = np.random.default_rng(3).standard_normal((200, 2))
    ex = E.explore("gd", stochastic=True, noise=0.5, seed=3, steps=40)
    assert isinstance(ex.controls["noise"], widgets.FloatSlider)
    assert (ex.controls["noise"].min, ex.controls["noise"].max) == (0.0, 2.0)
    assert tuple(ex.controls["schedule"].options) == ("constant", "exponential", "polynomial")
    expected, _ = direct(RULES["gd"], obj, obj.start, 40, {"lr": 0.4}, noise=0.5, table=table)
    np.testing.assert_array_equal(ex.trajectory, expected)
    # the noise is fixed: moving lr and back gives the same path
    ex.controls["lr"].value = 0.2
    ex.controls["lr"].value = 0.4
    np.testing.assert_array_equal(ex.trajectory, expected)
    ex.controls["schedule"].value = "exponential"
    expected, _ = direct(RULES["gd"], obj, obj.start, 40, {"lr": 0.4}, noise=0.5, table=table,
                         schedule=lambda t: math.exp(-0.1 * t))
    np.testing.assert_array_equal(ex.trajectory, expected)
    ex.set(schedule="polynomial", noise=1.5)
    expected, _ = direct(RULES["gd"], obj, obj.start, 40, {"lr": 0.4}, noise=1.5, table=table,
                         schedule=lambda t: (1 + 0.1 * t) ** -0.5)
    np.testing.assert_array_equal(ex.trajectory, expected)
    plain = E.explore("gd")
    assert "noise" not in plain.controls and "schedule" not in plain.controls
    implied = E.explore("gd", noise=0.3)  # asking for noise brings its controls
    assert implied.controls["noise"].value == 0.3 and "schedule" in implied.controls


def test_loss_panel_is_optional_and_log_scaled():
    ex = E.explore(heavy_ball)
    assert ex.loss_ax.get_yscale() == "log"
    lo, hi = ex.loss_ax.get_ylim()
    ex.set(lr=1.4, beta=0.9)
    assert ex.loss_ax.get_ylim() == (lo, hi)  # fixed, not re-autoscaled per move
    small = E.explore(heavy_ball, loss_panel=False)
    assert small.loss_ax is None and small.loss_line is None
    assert small.fig.get_size_inches()[0] < ex.fig.get_size_inches()[0]
    assert_consistent(small)


def test_figure_size_and_fonts_follow_presenter_scale(monkeypatch):
    ex = E.explore(heavy_ball)
    assert tuple(ex.fig.get_size_inches()) == pytest.approx((9.0, 4.5))
    assert ex.ax.title.get_fontsize() == pytest.approx(12.0)
    monkeypatch.setattr(frames, "_presenter_scale", lambda: 1.5)
    big = E.explore(heavy_ball)
    assert tuple(big.fig.get_size_inches()) == pytest.approx((13.5, 6.75))
    assert big.ax.title.get_fontsize() == pytest.approx(18.0)
    assert png_size(big.frame) == (1350, 675)


def test_display_hooks_show_the_widget():
    ex = E.explore(heavy_ball)
    assert isinstance(ex.widget, widgets.VBox)
    assert ex.image in ex.widget.children and ex.output in ex.widget.children
    bundle = ex._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == ex.widget.model_id
    assert "Explorer2D" in repr(ex)
    assert ex in E.live_explorers()
    ex.close()
    assert ex not in E.live_explorers()
    assert ex.image.comm is None and ex.controls["lr"].comm is None  # the whole tree is closed


def open_widgets() -> int:
    """How many widgets ipywidgets keeps open in this process (it keeps each until closed)."""
    registry = getattr(widgets.widgets.widget, "_instances", None)  # ipywidgets 8
    return len(registry if registry is not None else widgets.Widget.widgets)  # ipywidgets 7


def test_close_closes_every_widget_and_frees_the_figure():
    before = open_widgets()
    made = [E.explore("momentum", stochastic=True), E.race(steps=5), E.explore_1d("newton")]
    assert open_widgets() > before + 3 * 20
    made[0].controls["rule"].value = "adam"  # replaces the hyperparameter sliders
    made[0].controls["rule"].value = "momentum"
    for ex in made:
        ex.close()
        ex.close()  # twice is harmless
    assert open_widgets() == before  # layouts and styles included, old sliders too
    for ex in made:
        assert ex.closed and ex not in E.live_explorers()
        assert ex.fig.axes == [] and ex._bg is None and ex._bg_base is None
        name = next(n for n, w in ex.controls.items() if isinstance(w, widgets.FloatSlider))
        ex.controls[name].value = ex.controls[name].max  # a stale reference still computes
        assert ex.error is None and ex.frame == b""  # ... but draws nothing
        ex.update()
    assert made[0].trajectory.shape[1] == 2 and "after" in made[0].readout


def test_outside_ipython_nothing_is_tracked():
    from d2lmini.explorers import registry

    ex = E.explore(heavy_ball)
    assert registry._cells() is None and registry._CELLS is None
    assert not ex.closed


# ---------------------------------------------------------------------------------------------
# re-running a cell closes the explorers its earlier run made (in a real kernel)

KERNEL_SETUP = r"""
import json, ipywidgets
import d2lmini as d2l
from d2lmini import explorers as E
made = []  # every explorer the cells make, in order

def _open_widgets():
    registry = getattr(ipywidgets.widgets.widget, "_instances", None)  # ipywidgets 8
    return len(registry if registry is not None else ipywidgets.Widget.widgets)  # ipywidgets 7

def _tree(ex):  # every widget of an explorer, layouts and styles included
    seen, todo = {}, [ex.widget, *ex.controls.values()]
    while todo:
        w = todo.pop()
        if isinstance(w, ipywidgets.Widget) and id(w) not in seen:
            seen[id(w)] = w
            for key in w.keys:
                value = getattr(w, key, None)
                todo.extend(value if isinstance(value, (list, tuple)) else (value,))
    return list(seen.values())

def report():
    live = E.live_explorers()
    print(json.dumps({"open_widgets": _open_widgets(), "explorers": [
        {"kind": type(e).__name__, "closed": e.closed, "live": any(e is x for x in live),
         "widgets": len(_tree(e)), "open": sum(w.comm is not None for w in _tree(e))}
        for e in made]}))
"""
CELL_A = 'ex = d2l.explore("gd", steps=5)\nmade.append(ex)\nex'


def _alive(state, index):
    e = state["explorers"][index]
    return not e["closed"] and e["live"] and e["open"] == e["widgets"] > 10


def _closed(state, index):
    e = state["explorers"][index]
    return e["closed"] and not e["live"] and e["open"] == 0 and e["widgets"] > 10


def test_rerunning_a_cell_closes_the_explorers_its_earlier_run_made():
    with nbrun.Kernel() as k:
        k.run(KERNEL_SETUP, "setup")
        report = lambda: k.json("report()", "probe")  # noqa: E731
        k.run(CELL_A, "cell-a")                                                     # 0
        k.run('one = d2l.explore_1d("newton", steps=3)\nmade.append(one)\none', "cell-b")  # 1
        k.run(CELL_A, "cell-a")                                                     # 2
        s = report()
        assert _closed(s, 0), s  # cell a's first explorer, widgets and all
        assert _alive(s, 1) and _alive(s, 2), s  # cell b's stays; cell a's new one

        # Cells are told apart by id: the same source in another cell is another cell.
        k.run(CELL_A, "cell-c")                                                     # 3
        k.run(CELL_A, "cell-a")                                                     # 4
        s = report()
        assert _closed(s, 2) and _alive(s, 3) and _alive(s, 4), s

        # An explorer another cell still shows stays open until that cell lets go of it.
        k.run('kept = d2l.race({"gd": "gd", "adam": "adam"}, steps=5)\nmade.append(kept)', "cell-d")  # 5
        k.run("kept", "cell-e")  # shows it
        k.run('kept = d2l.race({"gd": "gd", "adam": "adam"}, steps=5)\nmade.append(kept)', "cell-d")  # 6
        s = report()
        assert _alive(s, 5) and _alive(s, 6), s
        k.run("kept", "cell-e")  # now shows the new one
        s = report()
        assert _closed(s, 5) and _alive(s, 6), s

        # Without a cell id (nbclient, older frontends) a cell is known by its source.
        k.run('x = d2l.explore("adam", steps=5)\nmade.append(x)\nx')                # 7
        k.run('y = d2l.explore("rmsprop", steps=5)\nmade.append(y)\ny')             # 8
        k.run('x = d2l.explore("adam", steps=5)\nmade.append(x)\nx')                # 9
        s = report()
        assert _closed(s, 7) and _alive(s, 8) and _alive(s, 9), s
        assert [e["kind"] for e in s["explorers"]] == (
            ["Explorer2D", "Explorer1D"] + ["Explorer2D"] * 3 + ["Race"] * 2 + ["Explorer2D"] * 3)

        # Re-runs do not add widgets to the kernel (ipywidgets keeps every open widget).
        counts = []
        for _ in range(4):
            k.run(CELL_A, "cell-a")
            counts.append(report()["open_widgets"])
        assert len(set(counts)) == 1, counts
        s = report()
        assert sum(_alive(s, i) for i in range(len(s["explorers"]))) == 6, s


# ---------------------------------------------------------------------------------------------
# throttle: bursts of events are coalesced into one trailing frame


def test_bursts_are_coalesced_on_a_running_loop():
    ex = E.explore(heavy_ball, steps=100)
    obj = objectives.get("d2l")
    lrs = [0.05 + 0.01 * i for i in range(10)]

    async def burst():
        frames_before = ex.n_frames
        seen = []
        ex._last_frame_end = __import__("time").perf_counter()  # a frame was just drawn
        for lr in lrs:
            ex.controls["lr"].value = lr
            seen.append((ex.trajectory.copy(), ex.readout))  # read at once, checked below
        during = ex.n_frames - frames_before
        stale = ex._frame_stale
        await asyncio.sleep(0.3)
        return seen, during, stale, ex.n_frames - frames_before

    seen, during, stale, after = asyncio.run(burst())
    for lr, (traj, readout) in zip(lrs, seen):  # trajectory and readout were always current
        expected, _ = direct(heavy_ball, obj, (-5.0, -2.0), 100, {"lr": lr, "beta": 0.5})
        np.testing.assert_array_equal(traj, expected)
        assert point_text(expected[-1]) in readout
    assert during < len(lrs) // 2  # far fewer frames than events
    if stale:
        assert after == during + 1  # exactly one trailing frame
    assert not ex._frame_stale
    shown = ex.image.value
    ex.update()
    assert ex.image.value == shown  # the trailing frame shows the final state


def test_without_a_loop_frames_are_synchronous():
    ex = E.explore(heavy_ball)
    n = ex.n_frames
    ex.controls["lr"].value = 0.2
    ex.controls["lr"].value = 0.25
    assert ex.n_frames == n + 2 and not ex._frame_stale


# ---------------------------------------------------------------------------------------------
# explore_1d


@pytest.mark.parametrize(
    "method, objective, kwargs, expected",
    [
        ("gd", "square", {"lr": 0.2}, 0.06046617599999997),
        ("gd", "xcos", {"lr": 2.0}, -1.528165927635083),
        ("newton", "cosh", {}, 0.0),
        ("newton", "xcos", {"lr": 1.0}, 26.83413291324767),
    ],
)
def test_explore_1d_classic_numbers(method, objective, kwargs, expected):
    ex = E.explore_1d(method, objective, **kwargs)
    assert float(ex.trajectory[-1]) == expected  # exactly
    assert len(ex.trajectory) == 11
    assert E._fmt(expected) in ex.readout
    assert ex.diverged_at is None


def _python_loop(step, x, n):
    xs = [x]
    for _ in range(n):
        x = step(x)
        xs.append(x)
    return xs


def test_explore_1d_sliders_and_methods():
    ex = E.explore_1d()
    assert list(ex.controls)[0] == "lr"
    lr, x0, steps = ex.controls["lr"], ex.controls["x0"], ex.controls["steps"]
    assert (lr.min, lr.max, lr.value) == (0.0, 2.0, 0.2)
    assert (steps.min, steps.max, steps.value) == (1, 50, 10)
    assert (x0.min, x0.max, x0.value) == (-12.0, 12.0, 10.0)
    assert tuple(ex.controls["method"].options) == ("gd", "newton", "newton |f''|")
    assert tuple(ex.controls["objective"].options) == objectives.NAMES_1D
    assert ex.controls["show_model"].value is False
    frame = ex.frame
    ex.set(lr=0.05, x0=-7.0, steps=30)
    obj = objectives.get_1d("square")
    np.testing.assert_array_equal(ex.trajectory, _python_loop(lambda x: x - 0.05 * obj.df(x), -7.0, 30))
    np.testing.assert_array_equal(ex.path_line.get_xydata()[:, 0], ex.trajectory)
    assert ex.frame != frame and png_size(ex.frame)

    ex.controls["method"].value = "newton"
    assert (lr.min, lr.max, lr.value) == (0.0, 1.5, 1.0)
    assert ex.controls["show_model"].value is True
    assert len(ex.model_line.get_xydata()) > 0
    ex.controls["objective"].value = "xcos"
    obj = objectives.get_1d("xcos")
    assert (x0.min, x0.max, x0.value) == (-20.0, 30.0, 10.0)
    np.testing.assert_array_equal(
        ex.trajectory, _python_loop(lambda x: x - 1.0 * obj.df(x) / obj.d2f(x), 10.0, 30)
    )
    ex.controls["method"].value = "newton |f''|"
    ex.set(lr=0.5, steps=10)
    np.testing.assert_array_equal(
        ex.trajectory, _python_loop(lambda x: x - 0.5 * obj.df(x) / abs(obj.d2f(x)), 10.0, 10)
    )
    ex.controls["show_model"].value = False
    assert len(ex.model_line.get_xydata()) == 0 or not ex.model_line.get_visible()


def test_explore_1d_local_model_is_the_taylor_quadratic():
    ex = E.explore_1d("newton", "cosh", steps=3)
    obj = objectives.get_1d("cosh")
    mx, my = ex.model_line.get_data()
    breaks = np.flatnonzero(~np.isfinite(mx))
    segments = np.split(np.arange(len(mx)), breaks)
    segments = [seg[np.isfinite(mx[seg])] for seg in segments if np.isfinite(mx[seg]).any()]
    assert len(segments) == len(ex.trajectory)  # one model per iterate
    for xk, seg in zip(ex.trajectory, segments):
        x = mx[seg]
        q = obj(xk) + obj.df(xk) * (x - xk) + 0.5 * obj.d2f(xk) * (x - xk) ** 2
        np.testing.assert_allclose(my[seg], q, rtol=1e-12, atol=1e-12)
        assert x.min() <= xk <= x.max()


def test_explore_1d_divergence_and_errors():
    ex = E.explore_1d("gd", "square", lr=1.1)  # |x| grows by 1.2 per step
    assert ex.diverged_at is None and "left the view at step 2" in ex.readout
    assert ex.ax.get_xlim() == (-12.0, 12.0)
    ex.set(lr=2.0, steps=50)  # 10 * 3^t passes 24e6 at t = 14
    assert ex.diverged_at == 14 and "diverged at step 14" in ex.readout
    assert len(ex.trajectory) == 14
    assert np.isfinite(ex.path_line.get_xydata()).all()
    ex2 = E.explore_1d("newton", "xcos", x0=0.0)
    ex2.set(x0=float(ex2.controls["x0"].min))
    assert ex2.frame[:8] == PNG_SIGNATURE

    def zero_curvature(x, g, state, lr=0.5, hess=None):
        return x - lr * g / (hess[0, 0] * 0.0)

    ex3 = E.explore_1d(zero_curvature, "square")
    assert ex3.diverged_at == 1 and ex3.error is None

    def broken(x, g, state, lr=0.5):
        raise ValueError("nope")

    ex4 = E.explore_1d(broken)
    assert "ValueError: nope" in "".join(o.get("text", "") for o in ex4.output.outputs)
    with pytest.raises(ValueError):
        E.explore_1d("adam")
    with pytest.raises(ValueError):
        E.explore_1d(x0=100.0)
    with pytest.raises(ValueError):
        E.explore_1d(steps=51)


def test_explore_1d_takes_a_rule_function():
    def my_gd(x, g, state, lr=0.3):
        return x - lr * g

    ex = E.explore_1d(my_gd, "square", steps=5)
    assert ex.controls["method"].value == "my_gd" and ex.controls["lr"].value == 0.3
    np.testing.assert_allclose(ex.trajectory, [10 * 0.4**k for k in range(6)], rtol=1e-15)
    ex2 = E.explore_1d(RULES["newton"], "cosh", steps=10)  # the 2-D rule, on 1-element arrays
    assert ex2.trajectory[-1] == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# race


def test_race_of_three():
    r = E.race({"gd": "gd", "heavy": (heavy_ball, {"lr": 0.2}), "adam": ("adam", {"lr": 0.3})}, steps=40)
    assert r.labels == ["gd", "heavy", "adam"]
    assert list(r.controls)[:3] == ["gd.lr", "heavy.lr", "adam.lr"]
    for name in ("steps", "x1", "x2", "objective"):
        assert name in r.controls
    lines = r.path_lines
    assert len(lines) == 3 and len({l.get_color() for l in lines.values()}) == 3
    assert all(len(l.get_xydata()) > 1 for l in lines.values())
    legend_texts = [t.get_text() for t in r.legend.get_texts()]
    assert legend_texts == ["gd", "heavy", "adam"]
    obj = objectives.get("d2l")
    info_adam = {"lr": 0.3}
    exp = {
        "gd": direct(RULES["gd"], obj, obj.start, 40, {"lr": 0.4})[0],
        "heavy": direct(heavy_ball, obj, obj.start, 40, {"lr": 0.2})[0],
        "adam": direct(RULES["adam"], obj, obj.start, 40, info_adam)[0],
    }
    for label in exp:
        np.testing.assert_array_equal(r.trajectory[label], exp[label])
        assert r.diverged_at[label] is None
    before = {k: v.copy() for k, v in r.trajectory.items()}
    frame = r.frame
    r.controls["adam.lr"].value = 0.05
    assert np.array_equal(r.trajectory["gd"], before["gd"])
    assert not np.array_equal(r.trajectory["adam"], before["adam"])
    expected, _ = direct(RULES["adam"], obj, obj.start, 40, {"lr": 0.05})
    np.testing.assert_array_equal(r.trajectory["adam"], expected)
    assert r.frame != frame
    for label, traj in r.trajectory.items():
        assert f"{label}: after" in r.readout and point_text(traj[-1]) in r.readout
    r.controls["gd.lr"].value = 2.0
    assert r.diverged_at["gd"] == 8 and "diverged at step 8" in readout_line(r, "gd")
    assert r.ax.get_xlim() == (-5.5, 1.0)
    r.buttons["reset_sliders"].click()
    assert r.controls["gd.lr"].value == 0.4 and r.controls["adam.lr"].value == 0.3


def test_race_defaults_and_bad_input():
    r = E.race()
    assert r.labels == ["gd", "momentum", "adagrad", "rmsprop", "adam"]
    assert r.controls["steps"].value == 50
    assert all(d is None for d in r.diverged_at.values())
    assert r.loss_ax.get_yscale() == "log" and len(r.loss_ax.get_lines()) == 5
    with pytest.raises(ValueError, match="unknown rule"):
        E.race({"a": "nope"})
    with pytest.raises(ValueError, match="valid names"):
        E.race({"a": ("gd", {"momentum": 0.5})})
    with pytest.raises(TypeError):
        E.race({"a": ("gd", 0.5)})
    with pytest.raises(TypeError):
        E.race({})


# ---------------------------------------------------------------------------------------------
# ipympl (in a subprocess: the backend is process-wide)

IPYMPL_SCRIPT = textwrap.dedent(
    r"""
    import json
    import matplotlib
    matplotlib.use("module://ipympl.backend_nbagg")
    from matplotlib.backend_bases import MouseEvent
    from d2lmini import explorers as E

    ex = E.explore("gd", lr=0.3)
    out = {"ipympl": ex.ipympl, "widget": type(ex.figure_widget).__name__,
           "in_layout": ex.figure_widget in ex.widget.children, "image": ex.image is None}
    before = ex.trajectory.tolist()
    ex.controls["lr"].value = 0.1
    out["changed"] = ex.trajectory.tolist() != before
    out["line_matches"] = ex.path_line.get_xydata().tolist() == ex.trajectory.tolist()
    px, py = ex.ax.transData.transform((-2.0, 0.5))
    ev = MouseEvent("button_press_event", ex.fig.canvas, px, py, button=1)
    ex.fig.canvas.callbacks.process("button_press_event", ev)
    out["x1"], out["x2"] = ex.controls["x1"].value, ex.controls["x2"].value
    out["start"] = ex.trajectory[0].tolist()
    out["png"] = ex.frame[:8] == b"\x89PNG\r\n\x1a\n"
    # a click outside the contour axes does nothing
    lx, ly = ex.loss_ax.transAxes.transform((0.5, 0.5))
    ev = MouseEvent("button_press_event", ex.fig.canvas, lx, ly, button=1)
    ex.fig.canvas.callbacks.process("button_press_event", ev)
    out["x1_after_loss_click"] = ex.controls["x1"].value
    r = E.race({"a": "gd", "b": "momentum"})
    out["race"] = type(r.figure_widget).__name__
    e1 = E.explore_1d("newton", "cosh")
    out["e1"] = e1.trajectory[-1] == 0.0 and e1.frame[:4] == b"\x89PNG"
    out["error"] = ex.error
    print(json.dumps(out))
    """
)


def test_ipympl_canvas_updates_and_click_sets_start():
    # find_spec, not importorskip: importing ipympl here would switch this process's backend
    if importlib.util.find_spec("ipympl") is None:
        pytest.skip("could not import 'ipympl': No module named 'ipympl'")
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-c", IPYMPL_SCRIPT], capture_output=True, text=True, timeout=240,
        cwd=str(ROOT), env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ipympl"] and out["widget"] == "Canvas" and out["in_layout"] and out["image"]
    assert out["changed"] and out["line_matches"]
    assert out["x1"] == pytest.approx(-2.0, abs=1e-9) and out["x2"] == pytest.approx(0.5, abs=1e-9)
    assert out["start"] == pytest.approx([-2.0, 0.5], abs=1e-9)
    assert out["png"] and out["x1_after_loss_click"] == pytest.approx(-2.0, abs=1e-9)
    assert out["race"] == "Canvas" and out["e1"] and out["error"] is None


# ---------------------------------------------------------------------------------------------
# property test: every explorer over its whole slider ranges


def slider_value(widget):
    """A strategy over a control's whole range, endpoints included."""
    if isinstance(widget, widgets.Checkbox):
        return st.booleans()
    if isinstance(widget, widgets.Dropdown):
        return st.sampled_from(list(widget.options))
    lo, hi = widget.min, widget.max
    if isinstance(widget, (widgets.IntSlider, widgets.Play)):
        return st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi))
    values = st.one_of(st.sampled_from([float(lo), float(hi)]), st.floats(float(lo), float(hi)))
    if isinstance(widget, widgets.FloatLogSlider):
        return values.map(lambda e: widget.base ** e)
    return values


FUZZ = settings(
    max_examples=int(os.environ.get("D2LMINI_FUZZ_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
_CACHE: dict = {}


def _cached(key, build):
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def _drive(ex, data, first=("objective",), skip=()):
    """Draw the controls in ``first`` (which change other ranges), then all the others."""
    ex.set(**{n: data.draw(slider_value(ex.controls[n]), label=n) for n in first if n in ex.controls})
    values = {}
    for name, widget in list(ex.controls.items()):
        if name in first or name in skip:
            continue
        values[name] = data.draw(slider_value(widget), label=name)
    ex.set(**values)
    ex.update()


@pytest.mark.parametrize("name", list(RULES))
@FUZZ
@given(data=st.data())
def test_fuzz_explore_every_rule(name, data):
    ex = _cached(("explore", name), lambda: E.explore(name, stochastic=True))
    _drive(ex, data, skip=("rule",))
    assert ex.error is None, ex.error
    assert_consistent(ex)


@FUZZ
@given(data=st.data())
def test_fuzz_explore_rule_dropdown(data):
    ex = _cached("explore-any", lambda: E.explore("gd"))
    _drive(ex, data, first=("rule", "objective"))
    assert ex.error is None, ex.error
    assert_consistent(ex)


@FUZZ
@given(data=st.data())
def test_fuzz_explore_1d(data):
    ex = _cached("explore_1d", lambda: E.explore_1d())
    _drive(ex, data, first=("method", "objective"))
    assert ex.error is None, ex.error
    traj = ex.trajectory
    assert np.all(np.isfinite(traj)) and len(traj) >= 1
    assert ex.ax.get_xlim() == ex.view[:2] and ex.ax.get_ylim() == ex.view[2:]
    assert all(math.isfinite(a) for a in ex.view)
    assert np.isfinite(ex.path_line.get_xydata()).all(axis=1).any()
    assert ex.frame[:8] == PNG_SIGNATURE and len(ex.frame) > 1000
    if ex.diverged_at is not None:
        assert f"diverged at step {ex.diverged_at}" in ex.readout and len(traj) == ex.diverged_at
    else:
        assert len(traj) == ex.controls["steps"].value + 1
    assert f"x = {E._fmt(traj[-1])}" in ex.readout
    assert_inspection(ex, traj)


@FUZZ
@given(data=st.data())
def test_fuzz_race(data):
    r = _cached("race", lambda: E.race())
    _drive(r, data)
    assert r.error is None, r.error
    assert r.ax.get_xlim() == r.view[:2] and r.ax.get_ylim() == r.view[2:]
    assert r.frame[:8] == PNG_SIGNATURE
    for label, traj in r.trajectory.items():
        assert np.all(np.isfinite(traj))
        assert np.isfinite(r.path_lines[label].get_xydata()).all(axis=1).any()
        k = r.diverged_at[label]
        line = readout_line(r, label)
        if k is not None:
            assert f"diverged at step {k}" in line and len(traj) == k
        assert f"after {len(traj) - 1} step" in line
        assert point_text(traj[-1]) in line
    assert_inspection(r, r.trajectory[r.controls["inspect"].value])
    assert r.inspection["label"] == r.controls["inspect"].value


def _extreme(widget, end: str):
    if isinstance(widget, widgets.Checkbox):
        return end == "max"
    value = widget.min if end == "min" else widget.max
    return widget.base ** value if isinstance(widget, widgets.FloatLogSlider) else value


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_on_every_objective_at_the_slider_ends(name):
    """The corners hypothesis may miss: each objective with every slider at its min, then max."""
    ex = _cached(("explore", name), lambda: E.explore(name, stochastic=True))
    for objective in objectives.NAMES:
        ex.set(objective=objective)
        for end in ("min", "max"):
            ex.set(**{n: _extreme(w, end) for n, w in ex.controls.items()
                      if not isinstance(w, widgets.Dropdown)})
            ex.update()
            assert ex.error is None, (objective, end, ex.error)
            assert_consistent(ex)

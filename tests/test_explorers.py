"""The live explorers (d2lmini.explorers), without a browser.

Explorers draw PNG frames (the one drawing path, whatever the session's backend); a control's
``.value`` is set from Python, as a slider move would, and the results are checked against a
direct loop over the same rule: trajectory, the path's Line2D, the readout and the PNG frame.
Divergence, errors inside callbacks, clicks and drags (ipyevents messages, delivered to the
``Event`` widget as the front end sends them), slider grids (issue 16), schedules against
torch.optim, the widget backend (in a subprocess) and the event-burst throttle are covered, and
hypothesis drives every explorer over its whole slider ranges.

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

import learner_rules
import nbrun
from d2lmini import explorers as E
from d2lmini import objectives
from d2lmini.explorers import frames
from d2lmini.rules import RULES, hyperparams

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = pathlib.Path(__file__).resolve().parents[1]

FUZZ = settings(
    max_examples=int(os.environ.get("D2LMINI_FUZZ_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
_CACHE: dict = {}


@pytest.fixture(autouse=True)
def _png_frames(monkeypatch):
    """The explorers a test makes are closed after it (the fuzz tests keep theirs in _CACHE)."""
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


def test_png_frames_decode_to_the_canvas_pixels():
    """The frame encoder is lossless: an opaque canvas and one with transparency decode to
    exactly the pixels they were made from."""
    from PIL import Image
    from d2lmini.explorers.frames import _encode_png

    rng = np.random.default_rng(0)
    opaque = rng.integers(0, 256, size=(7, 11, 4), dtype=np.uint8)
    opaque[..., 3] = 255
    clear = opaque.copy()
    clear[2, 3, 3] = 0
    for rgba, mode in ((opaque, "RGBA"), (clear, "RGBA")):
        with Image.open(io.BytesIO(_encode_png(rgba))) as im:
            im.load()
            assert im.mode == mode and im.size == (11, 7)
            assert np.array_equal(np.asarray(im.convert("RGBA")), rgba)


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


def assert_on_grid(widget, value):
    """The control holds ``value`` and shows it: a FloatSlider's value is a point of its grid
    (min on the grid too) and its readout prints it to the step's precision; a SelectionSlider
    has it as an option labelled with its exact text; a SliderText's box holds it exactly."""
    from d2lmini.explorers import controls as C

    if isinstance(widget, widgets.Checkbox):
        assert widget.value == bool(value)
        return
    if isinstance(widget, widgets.SelectionSlider):
        assert widget.value == value, (widget.description, widget.value, value)
        assert widget.label == C._exact_text(value) and float(widget.label) == value
        labels = [label for label, _ in widget.options]
        assert len(set(labels)) == len(labels)
        return
    if isinstance(widget, widgets.Play):  # increment 0: the kernel moves it (the inspector)
        assert widget.value == value and float(value).is_integer() and widget.step == 0
        assert widget.min <= widget.value <= widget.max
        return
    if isinstance(widget, widgets.IntSlider):
        assert widget.value == value and float(value).is_integer()
        assert (widget.value - widget.min) % widget.step == 0
        return
    if isinstance(widget, widgets.FloatSlider):
        assert widget.value == value, (widget.description, widget.value, value)
        step = widget.step
        assert widget.min <= value <= widget.max
        for v in (value, widget.min):
            k = v / step
            assert abs(k - round(k)) <= 1e-6, (widget.description, v, step)
        assert widget.readout_format == f".{C._decimals(step)}f"
        shown = format(value, widget.readout_format)
        assert abs(float(shown) - value) <= 1e-6 * step + 1e-15, (widget.description, shown, value)
        return
    assert type(widget).__name__ == "SliderText", type(widget)
    assert widget.value == value and widget.text.value == value
    assert C._readout_text(widget) == C._exact_text(value)
    s = widget.slider  # the slider sits on the grid point nearest to the value (a front end
    assert abs(s.value - value) <= s.step / 2 + 1e-12 or s.value in (s.min, s.max)  # would snap
    for v in (s.value, s.min):  # an off-grid one and send it back, changing the value)
        assert abs(v / s.step - round(v / s.step)) <= 1e-6


def assert_opening_on_grids(ex):
    """Every control of ``ex.opening`` holds its opening value, on its grid."""
    assert ex.opening
    for name, value in ex.opening.items():
        widget = ex.controls[name]
        if isinstance(widget, widgets.Dropdown):
            assert widget.value == value, name
        else:
            assert_on_grid(widget, value)


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
    eps = ex2.controls["eps"]  # a log range: a 1-2-5 ladder of decades with exact labels
    assert isinstance(eps, widgets.SelectionSlider)
    values = [v for _, v in eps.options]
    assert values[0] == 1e-8 and values[-1] == 1.0 and len(values) == 25
    assert {2e-5, 5e-5, 1e-4, 2e-4, 0.5} <= set(values)
    assert eps.value == 1e-4 and eps.label == "0.0001"
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
        ({"noise": "loud"}, TypeError),
        ({"schedule": "cosinus"}, ValueError),
        ({"warmup": -1}, ValueError),
        ({"warmup": 2.5}, TypeError),
        ({"seed": 1.5}, TypeError),
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
    with pytest.raises(ValueError, match="ns_steps takes whole numbers"):
        E.explore("muon", ns_steps=2.5)


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
    assert ex.controls["lr"].value == E.PRESETS["adam"]["lr"] and isinstance(ex.controls["eps"], widgets.SelectionSlider)
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
    x1 = ex.controls["x1"]  # the start slider's range: the view, inward to its grid
    assert v[0] <= x1.min < v[0] + x1.step and v[1] - x1.step < x1.max <= v[1]
    assert_on_grid(x1, x1.value)
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
    assert tuple(ex.controls["schedule"].options) == (
        "constant", "exponential", "polynomial", "step", "cosine", "linear warm-up", "cosine with warm-up")
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
# clicks and drags: ipyevents messages, delivered to the Event widget as the front end sends them


def pointer(ex, ax, x, y, kind="click", scale=1.0, exact=False, **extra):
    """The message ipyevents sends for a pointer event over the data point (x, y) of ``ax`` when
    the page shows the image at ``scale`` times its PNG size: positions in CSS pixels relative
    to the image, rounded to whole pixels as ipyevents does (unless ``exact``), and the image's
    size on the page."""
    px, py = ex._pixel_of(ax, x, y)
    w, h = ex.canvas.get_width_height()
    rx, ry = px * scale, py * scale
    if not exact:
        rx, ry = round(rx), round(ry)
    event = {"type": kind, "relativeX": rx, "relativeY": ry, "boundingRectWidth": w * scale,
             "boundingRectHeight": h * scale, "button": 0,
             "buttons": 1 if kind in ("mousedown", "mousemove") else 0,
             "dataX": round(px), "dataY": round(py), "altKey": False, "ctrlKey": False}
    event.update(extra)
    return event


def send(ex, event):
    """Deliver an event to the explorer's ``ipyevents.Event`` as a comm message from the page."""
    ex.events._handle_msg({"content": {"data": {"method": "custom", "content": event}}, "buffers": []})


def data_per_pixel(ex, ax, scale):
    """How far (in data units, x and y) one CSS pixel of the page reaches on ``ax``."""
    (x0, y0), (x1, y1) = ax.transData.inverted().transform([(0, 0), (1, 1)])
    return abs(x1 - x0) / scale, abs(y1 - y0) / scale


@pytest.mark.parametrize("scale", [0.45, 0.8, 1.0, 1.7])
def test_pointer_events_map_to_data_points_at_any_image_scale(scale):
    ex = E.explore(heavy_ball)
    dx, dy = data_per_pixel(ex, ex.ax, scale)
    rng = np.random.default_rng(int(scale * 100))
    v = ex.view
    for x, y in zip(rng.uniform(v[0], v[1], 25), rng.uniform(v[2], v[3], 25)):
        got = ex._event_data(pointer(ex, ex.ax, x, y, scale=scale, exact=True), ex.ax)
        assert got[0] == pytest.approx(x, abs=1e-9) and got[1] == pytest.approx(y, abs=1e-9) and got[2]
        gx, gy, inside = ex._event_data(pointer(ex, ex.ax, x, y, scale=scale), ex.ax)  # whole pixels
        assert abs(gx - x) <= 0.5 * dx + 1e-12 and abs(gy - y) <= 0.5 * dy + 1e-12
    # ipyevents' own PNG-pixel position is the fallback without the image's size
    event = pointer(ex, ex.ax, -2.0, 0.5)
    for key in ("relativeX", "relativeY", "boundingRectWidth", "boundingRectHeight"):
        event.pop(key)
    gx, gy, _ = ex._event_data(event, ex.ax)
    assert abs(gx + 2.0) <= data_per_pixel(ex, ex.ax, 1)[0] and abs(gy - 0.5) <= data_per_pixel(ex, ex.ax, 1)[1]
    assert ex._event_data({"type": "click"}, ex.ax) is None


def test_a_click_on_the_contour_plot_moves_the_start():
    ex = E.explore(heavy_ball, steps=20)
    assert ex.events is not None and ex.events.source is ex.image and ex.events_note is None
    assert set(frames.POINTER_EVENTS) <= set(ex.events.watched_events)
    frame, readout, n = ex.frame, ex.readout, ex.n_updates
    send(ex, pointer(ex, ex.ax, -2.0, 0.5, scale=0.8, exact=True))
    assert (ex.controls["x1"].value, ex.controls["x2"].value) == (-2.0, 0.5)
    assert ex.n_updates == n + 1  # one update for both coordinates
    expected, _ = direct(heavy_ball, objectives.get("d2l"), (-2.0, 0.5), 20, {"lr": 0.3, "beta": 0.5})
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert ex.frame != frame and ex.readout != readout and point_text(expected[-1]) in ex.readout
    assert ex.image.value == ex.frame
    # a click as the page rounds it lands on the start sliders' grid, within a pixel
    for scale in (0.6, 1.3):
        send(ex, pointer(ex, ex.ax, -3.337, -1.121, scale=scale))
        x1, x2 = ex.controls["x1"].value, ex.controls["x2"].value
        dx, dy = data_per_pixel(ex, ex.ax, scale)
        step = ex.controls["x1"].step
        assert abs(x1 + 3.337) <= 0.5 * dx + step / 2 + 1e-12 and abs(x2 + 1.121) <= 0.5 * dy + step / 2 + 1e-12
        assert_on_grid(ex.controls["x1"], x1)
        assert_on_grid(ex.controls["x2"], x2)
        assert tuple(ex.trajectory[0]) == (x1, x2)


def test_clicks_outside_the_contour_axes_do_nothing():
    ex = E.explore(heavy_ball)
    start, n, frame = ex.trajectory[0].copy(), ex.n_updates, ex.frame
    w, h = ex.canvas.get_width_height()
    misses = [
        pointer(ex, ex.loss_ax, 10.0, 1.0),  # the loss panel
        {"type": "click", "relativeX": 3, "relativeY": 3, "boundingRectWidth": w, "boundingRectHeight": h},
        {"type": "click", "relativeX": w - 2, "relativeY": h - 2, "boundingRectWidth": w, "boundingRectHeight": h},
        pointer(ex, ex.ax, -2.0, 0.5, button=2),  # a right click
        pointer(ex, ex.ax, -2.0, 0.5, kind="mousemove"),  # a move without a press
        pointer(ex, ex.ax, -2.0, 0.5, kind="mouseup"),
        pointer(ex, ex.ax, -2.0, 0.5, kind="dblclick"),
    ]
    for event in misses:
        send(ex, event)
    np.testing.assert_array_equal(ex.trajectory[0], start)
    assert ex.n_updates == n and ex.frame == frame and ex.error is None


def test_a_drag_moves_the_start_live():
    ex = E.explore(heavy_ball, steps=20)
    obj = objectives.get("d2l")
    send(ex, pointer(ex, ex.ax, -5.0, -2.0, kind="mousedown", exact=True))
    n = ex.n_updates
    points = [(-4.5, -1.5), (-4.0, -1.0), (-3.0, -0.5), (-2.0, 0.0)]
    for x, y in points:
        send(ex, pointer(ex, ex.ax, x, y, kind="mousemove", exact=True))
        assert tuple(ex.trajectory[0]) == (x, y)  # each move recomputes at once
        expected, _ = direct(heavy_ball, obj, (x, y), 20, {"lr": 0.3, "beta": 0.5})
        np.testing.assert_array_equal(ex.trajectory, expected)
        assert point_text(expected[-1]) in ex.readout
    assert ex.n_updates == n + len(points)
    send(ex, pointer(ex, ex.ax, -1.5, 0.25, kind="mouseup", exact=True))
    assert tuple(ex.trajectory[0]) == (-1.5, 0.25)
    send(ex, pointer(ex, ex.ax, -1.5, 0.25, kind="click", exact=True))  # the click after the release
    assert tuple(ex.trajectory[0]) == (-1.5, 0.25)
    # a late mouse move (ipyevents' throttle sends the last one of a burst) after the release
    n = ex.n_updates
    send(ex, pointer(ex, ex.ax, -4.0, -2.5, kind="mousemove", exact=True))
    assert tuple(ex.trajectory[0]) == (-1.5, 0.25) and ex.n_updates == n
    # a drag past the border holds the start at the border; leaving the picture ends the drag
    send(ex, pointer(ex, ex.ax, -1.5, 0.25, kind="mousedown", exact=True))
    send(ex, pointer(ex, ex.ax, 3.0, 2.0, kind="mousemove", exact=True))
    assert tuple(ex.trajectory[0]) == (1.0, 1.0)
    send(ex, {"type": "mouseleave"})
    send(ex, pointer(ex, ex.ax, -3.0, 0.0, kind="mousemove", exact=True))
    assert tuple(ex.trajectory[0]) == (1.0, 1.0)
    # a move with no button held (released outside the picture) ends a drag too
    send(ex, pointer(ex, ex.ax, -1.0, 0.0, kind="mousedown", exact=True))
    send(ex, pointer(ex, ex.ax, -2.0, 0.0, kind="mousemove", exact=True, buttons=0))
    send(ex, pointer(ex, ex.ax, -3.0, 0.0, kind="mousemove", exact=True))
    assert tuple(ex.trajectory[0]) == (-1.0, 0.0)
    assert ex.error is None


def test_a_pointer_position_is_exact_where_ipyevents_rounds_it():
    """ipyevents rounds relativeX/Y to whole pixels, but the picture's box often sits at a
    fraction of a pixel: the pointer's clientX/Y minus the box's left/top is used instead (in
    Chromium a 1.5-pixel miss landed the start two grid steps off)."""
    ex = E.explore(heavy_ball)
    left, top, scale = 380.0, 289.515625, 964 / 900
    w, h = ex.canvas.get_width_height()
    for x, y in [(-3.55, -0.2), (-1.275, -1.6), (0.3, 0.77)]:
        px, py = ex._pixel_of(ex.ax, x, y)
        cx, cy = math.floor(left + px * scale), math.floor(top + py * scale)  # whole pixels, as a browser sends
        event = {"type": "click", "clientX": cx, "clientY": cy, "boundingRectLeft": left,
                 "boundingRectTop": top, "relativeX": round(cx - left), "relativeY": round(cy - top),
                 "boundingRectWidth": w * scale, "boundingRectHeight": h * scale}
        gx, gy, inside = ex._event_data(event, ex.ax)
        want = ex.ax.transData.inverted().transform(((cx - left) / scale, h - (cy - top) / scale))
        assert inside and (gx, gy) == pytest.approx(tuple(want), abs=1e-12)
        dx, dy = data_per_pixel(ex, ex.ax, scale)
        assert abs(gx - x) <= dx + 1e-12 and abs(gy - y) <= dy + 1e-12
    # without clientX/Y (older front ends), relativeX/Y as before
    event.pop("clientX")
    assert ex._event_data(event, ex.ax)[:2] == pytest.approx(
        tuple(ex.ax.transData.inverted().transform((event["relativeX"] / scale, h - event["relativeY"] / scale))))


def page_sets(widget, value):
    """The page sends a slider's value (as ipywidgets' front end does: an ``update`` message)."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": {"value": value}}}, "buffers": []})


def test_a_late_echo_of_a_drag_does_not_pull_the_start_back(monkeypatch):
    """ipywidgets 8's FloatSlider in the page sends a value the kernel set back when its step
    arithmetic changes the last bits (-0.89 -> -0.8900000000000001); a busy page does that for
    an earlier point of a drag after the kernel moved on (in Chromium the start ended at y -0.89
    instead of -1.6). Such an echo is ignored; a learner's own slider move is not."""
    ex = E.explore(heavy_ball, steps=20)
    obj = objectives.get("d2l")
    send(ex, pointer(ex, ex.ax, -5.0, -2.0, kind="mousedown", exact=True))
    points = [(-4.5, -1.5), (-4.0, -0.89), (-3.0, -0.5), (-2.0, 0.25)]
    for x, y in points:
        send(ex, pointer(ex, ex.ax, x, y, kind="mousemove", exact=True))
    send(ex, pointer(ex, ex.ax, -1.5, -1.6, kind="mouseup", exact=True))
    expected, _ = direct(heavy_ball, obj, (-1.5, -1.6), 20, {"lr": 0.3, "beta": 0.5})
    n, frame = ex.n_updates, ex.frame
    page_sets(ex.controls["x2"], -0.8900000000000001)  # late echoes of earlier points
    page_sets(ex.controls["x1"], -3.0000000000000004)
    assert (ex.controls["x1"].value, ex.controls["x2"].value) == (-1.5, -1.6)
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert ex.n_updates == n and ex.frame == frame
    # an echo of the latest point is harmless and kept
    page_sets(ex.controls["x2"], -1.6000000000000001)
    assert ex.controls["x2"].value == pytest.approx(-1.6, abs=1e-15)
    # the learner moves the slider: taken, and the drag's values are plain values again
    for value in (-1.55, -0.5):
        page_sets(ex.controls["x2"], value)
        assert ex.controls["x2"].value == value and ex.trajectory[0][1] == value
    # long after a drag, a value it passed through is the learner's too
    send(ex, pointer(ex, ex.ax, -1.5, -1.6, kind="click", exact=True))
    send(ex, pointer(ex, ex.ax, -1.0, -1.0, kind="click", exact=True))
    monkeypatch.setattr(frames, "POINTER_ECHO_SECONDS", 0.0)
    page_sets(ex.controls["x2"], -1.6)
    assert ex.controls["x2"].value == -1.6 and ex.trajectory[0][1] == -1.6
    # and Python's own set() is never taken for an echo
    monkeypatch.setattr(frames, "POINTER_ECHO_SECONDS", 60.0)
    send(ex, pointer(ex, ex.ax, -2.0, -1.0, kind="click", exact=True))
    ex.set(x2=-1.6)
    assert ex.trajectory[0][1] == -1.6


def test_a_drag_on_a_running_loop_throttles_frames_and_ends_on_the_last_point():
    """Moves that arrive every 5 ms on a running loop (a fast explorer): frames are throttled
    (at most one per FRAME_INTERVAL, 30 ms), and the last frame shows the last point."""
    ex = E.explore(heavy_ball, steps=100)
    path = [(-4.9 + 0.1 * i, -1.95 + 0.05 * i) for i in range(30)]

    async def drag():
        loop = asyncio.get_running_loop()
        n_frames = ex.n_frames
        send(ex, pointer(ex, ex.ax, *path[0], kind="mousedown", exact=True))
        for m, (x, y) in enumerate(path[1:], 1):
            loop.call_later(0.005 * m, send, ex, pointer(ex, ex.ax, x, y, kind="mousemove", exact=True))
        await asyncio.sleep(0.005 * len(path) + 0.3)
        return ex.n_frames - n_frames

    frames_drawn = asyncio.run(drag())
    assert 1 <= frames_drawn < len(path) // 2  # coalesced
    assert not ex._frame_stale and ex._pending is None and ex._move_pending is None
    assert tuple(ex.trajectory[0]) == pytest.approx(path[-1], abs=1e-12)
    shown = ex.image.value
    ex.update()
    assert ex.image.value == shown  # the last frame shows the last point


@hyperparams(lr=(0.0, 1.0))
def slow_gd(x, g, state, lr=0.1):
    """Gradient descent that takes 4 ms a step: 50 steps cost 0.2 s, like chapter 10's race of
    nine rules on a busy machine."""
    __import__("time").sleep(0.004)
    return x - lr * g


def drag_path(n):
    return [(-4.9 + 0.1 * i, -1.95 + 0.04 * i) for i in range(n)]


def test_a_fast_drag_on_a_slow_explorer_computes_only_the_newest_move():
    """Moves that arrive every 30 ms (ipyevents' throttle) while each computation takes 0.2 s:
    the kernel computes far fewer of them than arrive, each time the newest, the picture
    follows during the drag, and the release is applied at once (the move still waiting is
    dropped). This runs on the tests' own event loop (no kernel: the MOVE_GAP fallback)."""
    ex = E.explore(slow_gd, steps=50)
    path = drag_path(21)
    obj = objectives.get("d2l")
    computed = []  # the start of every path the explorer computed, in order
    compute = ex._compute
    ex._compute = lambda: (compute(), computed.append(tuple(ex.trajectory[0])))

    async def drag():
        loop = asyncio.get_running_loop()
        send(ex, pointer(ex, ex.ax, *path[0], kind="mousedown", exact=True))
        for m, (x, y) in enumerate(path[1:], 1):
            loop.call_later(0.03 * m, send, ex, pointer(ex, ex.ax, x, y, kind="mousemove", exact=True))
        await asyncio.sleep(0.03 * len(path))
        while ex._move_pending is not None or ex._move_target is not None:
            await asyncio.sleep(0.01)
        after_moves = list(computed)
        # the release, somewhere else, with a move still waiting: applied at once
        send(ex, pointer(ex, ex.ax, *path[-2], kind="mousemove", exact=True))
        assert ex._move_target == pytest.approx(path[-2], abs=1e-12)
        send(ex, pointer(ex, ex.ax, -1.5, 0.25, kind="mouseup", exact=True))
        released = list(computed)
        await asyncio.sleep(0.3)
        return after_moves, released

    after_moves, released = asyncio.run(drag())
    moves = len(path) - 1
    assert ex.n_drag_moves == moves + 1
    assert computed[0] == pytest.approx(path[0], abs=1e-12)  # the press
    move_starts = after_moves[1:]
    assert 2 <= len(move_starts) <= moves // 3, move_starts  # the picture followed; stale moves dropped
    order = [min(range(len(path)), key=lambda j: abs(path[j][0] - s[0])) for s in move_starts]
    assert order == sorted(order) and move_starts[-1] == pytest.approx(path[-1], abs=1e-12)  # the newest wins
    assert ex.n_drag_moves_dropped == ex.n_drag_moves - len(move_starts)
    assert released[len(after_moves):] == [(-1.5, 0.25)] and computed == released  # nothing after the release
    assert tuple(ex.trajectory[0]) == (-1.5, 0.25) and not ex._dragging
    expected, _ = direct(slow_gd, obj, (-1.5, 0.25), 50, {"lr": 0.1})
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert point_text(expected[-1]) in ex.readout and ex.error is None
    shown = ex.image.value
    ex.update()
    assert ex.image.value == shown  # the picture is the released point's

    # without a running loop (plain Python) every move and the click are computed at once
    n = ex.n_updates
    send(ex, pointer(ex, ex.ax, -2.0, -1.0, kind="click", exact=True))
    assert tuple(ex.trajectory[0]) == (-2.0, -1.0) and ex.n_updates == n + 1
    send(ex, pointer(ex, ex.ax, -2.0, -1.0, kind="mousedown", exact=True))
    send(ex, pointer(ex, ex.ax, -3.0, -1.5, kind="mousemove", exact=True))
    assert tuple(ex.trajectory[0]) == (-3.0, -1.5) and ex.n_updates == n + 2
    send(ex, pointer(ex, ex.ax, -3.0, -1.5, kind="mouseup", exact=True))


def test_the_end_of_a_coalesced_drag_is_always_computed():
    """A drag that ends without a release of its own (the pointer leaves the picture, or the
    button is let go outside it) computes the move still waiting; a press and a click are
    computed at once; closing drops a waiting move."""
    async def scenario():
        ex = E.explore(heavy_ball, steps=20)
        send(ex, pointer(ex, ex.ax, -4.0, -1.0, kind="mousedown", exact=True))
        assert tuple(ex.trajectory[0]) == (-4.0, -1.0)  # a press: at once
        for x, y in ((-3.5, -1.2), (-3.0, -1.4), (-2.5, -1.6)):
            send(ex, pointer(ex, ex.ax, x, y, kind="mousemove", exact=True))
        assert tuple(ex.trajectory[0]) == (-4.0, -1.0) and ex._move_pending is not None  # waiting
        send(ex, {"type": "mouseleave"})
        assert tuple(ex.trajectory[0]) == (-2.5, -1.6) and ex._move_pending is None and not ex._dragging
        send(ex, pointer(ex, ex.ax, -2.0, -1.0, kind="mousedown", exact=True))
        send(ex, pointer(ex, ex.ax, -1.0, 0.5, kind="mousemove", exact=True))
        send(ex, pointer(ex, ex.ax, -0.5, 0.5, kind="mousemove", exact=True, buttons=0))  # let go outside
        assert tuple(ex.trajectory[0]) == (-1.0, 0.5) and not ex._dragging
        send(ex, pointer(ex, ex.ax, -3.0, 0.0, kind="click", exact=True))
        assert tuple(ex.trajectory[0]) == (-3.0, 0.0)  # a click: at once
        n = ex.n_updates
        send(ex, pointer(ex, ex.ax, -3.0, 0.0, kind="mousedown", exact=True))
        send(ex, pointer(ex, ex.ax, -4.0, 0.5, kind="mousemove", exact=True))
        ex.close()
        await asyncio.sleep(0.1)
        assert ex.n_updates == n and ex._move_pending is None and ex._move_target is None
        return ex

    asyncio.run(scenario())


def test_a_late_echo_of_a_coalesced_drag_is_still_ignored():
    """On a running loop only the moves that were computed reach the start sliders; a late
    echo of one of them from the page is ignored as before, the learner's own value is not."""
    ex = E.explore(slow_gd, steps=50)
    path = drag_path(16)

    async def drag():
        loop = asyncio.get_running_loop()
        send(ex, pointer(ex, ex.ax, *path[0], kind="mousedown", exact=True))
        for m, (x, y) in enumerate(path[1:], 1):
            loop.call_later(0.03 * m, send, ex, pointer(ex, ex.ax, x, y, kind="mousemove", exact=True))
        await asyncio.sleep(0.03 * len(path) + 0.5)
        send(ex, pointer(ex, ex.ax, -1.5, -1.6, kind="mouseup", exact=True))

    asyncio.run(drag())
    trail = ex._pointer_trail["x2"]
    assert ex.n_drag_moves_dropped > 0 and 3 <= len(trail) < len(path)  # only computed points
    n, frame = ex.n_updates, ex.frame
    page_sets(ex.controls["x2"], trail[1] + 2e-16)  # a late echo of an earlier computed point
    assert ex.controls["x2"].value == -1.6 and ex.trajectory[0][1] == -1.6
    assert ex.n_updates == n and ex.frame == frame
    page_sets(ex.controls["x2"], -0.5)  # the learner's
    assert ex.trajectory[0][1] == -0.5


def test_the_pages_echo_of_the_latest_point_joins_the_drag():
    """The page sends the pointer's latest start back with its last bits changed (ipywidgets
    8). On a running loop the explorer computes with it after the messages in hand, once for
    both start sliders; in a drag only with the next move or at the drag's end. The sliders and
    the path agree bit for bit afterwards."""
    ex = E.explore(heavy_ball, steps=20)
    obj = objectives.get("d2l")

    async def scenario():
        send(ex, pointer(ex, ex.ax, -4.0, -1.0, kind="mousedown", exact=True))
        send(ex, pointer(ex, ex.ax, -3.0, -0.89, kind="mousemove", exact=True))
        await asyncio.sleep(0.05)
        assert tuple(ex.trajectory[0]) == (-3.0, -0.89)
        n = ex.n_updates
        # in a drag: the echo waits, and the next move takes it in
        page_sets(ex.controls["x2"], -0.8900000000000001)
        await asyncio.sleep(0.05)
        assert ex.n_updates == n and ex._echo_stale
        send(ex, pointer(ex, ex.ax, -2.0, -0.5, kind="mousemove", exact=True))
        await asyncio.sleep(0.05)
        assert ex.n_updates == n + 1 and not ex._echo_stale and tuple(ex.trajectory[0]) == (-2.0, -0.5)
        # ... or the release, on the same point (the grid's value goes back: one computation)
        page_sets(ex.controls["x1"], -2.0000000000000004)
        send(ex, pointer(ex, ex.ax, -2.0, -0.5, kind="mouseup", exact=True))
        assert ex.n_updates == n + 2 and not ex._echo_stale
        assert tuple(ex.trajectory[0]) == (-2.0, -0.5) == (ex.controls["x1"].value, ex.controls["x2"].value)
        # after the drag: the echoes of both sliders, one computation after the messages in hand
        page_sets(ex.controls["x1"], -2.0000000000000004)
        page_sets(ex.controls["x2"], -0.5000000000000001)
        assert ex.n_updates == n + 2
        await asyncio.sleep(0.05)
        assert ex.n_updates == n + 3 and ex._move_pending is None
        assert tuple(ex.trajectory[0]) == (ex.controls["x1"].value, ex.controls["x2"].value) == (
            -2.0000000000000004, -0.5000000000000001)
        # an echo waiting when a click moves the start: the click's computation takes it in
        page_sets(ex.controls["x1"], -2.0)
        send(ex, pointer(ex, ex.ax, -1.5, 0.25, kind="click", exact=True))
        assert ex.n_updates == n + 4 and not ex._echo_stale
        assert tuple(ex.trajectory[0]) == (-1.5, 0.25) == (ex.controls["x1"].value, ex.controls["x2"].value)
        # an echo waiting in a drag that ends where it began (no computation of its own) when
        # the pointer leaves the picture: computed then
        send(ex, pointer(ex, ex.ax, -1.5, 0.25, kind="mousedown", exact=True))
        page_sets(ex.controls["x2"], 0.25000000000000006)
        await asyncio.sleep(0.05)
        assert ex.n_updates == n + 4
        send(ex, {"type": "mouseleave"})
        assert ex.n_updates == n + 5 and not ex._echo_stale and ex._move_pending is None
        assert tuple(ex.trajectory[0]) == (-1.5, 0.25000000000000006)

    asyncio.run(scenario())
    start = (ex.controls["x1"].value, ex.controls["x2"].value)
    expected, _ = direct(heavy_ball, obj, start, 20, {"lr": 0.3, "beta": 0.5})
    np.testing.assert_array_equal(ex.trajectory, expected)
    assert ex.error is None


KERNEL_DRAG = """
import json, time
import numpy as np
import d2lmini as d2l
from d2lmini.explorers import frames

@d2l.hyperparams(lr=(0.0, 1.0))
def slow_gd(x, g, state, lr=0.1):
    time.sleep(0.004)
    return x - lr * g

ex = d2l.explore(slow_gd, steps=50)
starts = []
_compute = ex._compute
ex._compute = lambda: (_compute(), starts.append([float(v) for v in ex.trajectory[0]]))

def pixels(points):
    w, h = ex.canvas.get_width_height()
    return json.dumps({"comm_id": ex.events.comm.comm_id, "size": [w, h],
                       "pixels": [list(ex._pixel_of(ex.ax, x, y)) for x, y in points]})
"""


def test_a_burst_of_drag_moves_in_a_real_kernel_computes_only_the_newest():
    """The page's messages, as ipyevents sends them (comm messages 30 ms apart), to a slow
    explorer in a real ipykernel: the kernel sees its queue (``_kernel_input_waiting``), computes
    a few of the moves, always the newest, the last move wins, and the release is applied."""
    path = drag_path(21) + [(-1.5, 0.25)]  # the last: where the mouse is released
    with nbrun.Kernel() as k:
        k.run(KERNEL_DRAG)
        assert k.json("print(json.dumps(frames._kernel_input_waiting()))") is False  # known, and idle
        geo = k.json(f"print(pixels({path!r}))")
        w, h = geo["size"]

        def send_event(kind, m):
            px, py = geo["pixels"][m]
            event = {"type": kind, "relativeX": px, "relativeY": py, "boundingRectWidth": w,
                     "boundingRectHeight": h, "button": 0, "buttons": 0 if kind == "mouseup" else 1}
            msg = k.kc.session.msg("comm_msg", {"comm_id": geo["comm_id"],
                                                "data": {"method": "custom", "content": event}})
            k.kc.shell_channel.send(msg)

        send_event("mousedown", 0)
        for m in range(1, len(path) - 1):
            __import__("time").sleep(0.03)
            send_event("mousemove", m)
        report = "print(json.dumps([starts, ex.n_drag_moves, ex.n_drag_moves_dropped, ex._move_target is None]))"
        deadline = __import__("time").monotonic() + 60
        while True:  # the kernel answers once it handled the moves; a waiting move is computed after
            starts, moves, dropped, done = k.json(report)
            if done and starts[-1] == pytest.approx(list(path[-2]), abs=1e-12):
                break
            assert __import__("time").monotonic() < deadline, (starts, moves, dropped)
            __import__("time").sleep(0.1)
        send_event("mouseup", len(path) - 1)
        final = k.json("print(json.dumps([starts, [float(v) for v in ex.trajectory[0]], ex.error]))")
    n_moves = len(path) - 2
    assert moves == n_moves
    assert starts[0] == pytest.approx(list(path[0]), abs=1e-12)  # the press
    computed = starts[1:]
    assert 1 <= len(computed) <= n_moves // 3, computed  # far fewer computations than moves
    assert dropped == n_moves - len(computed)
    assert computed[-1] == pytest.approx(list(path[-2]), abs=1e-12)  # the last move wins
    assert final[0][len(starts):] == [pytest.approx(list(path[-1]), abs=1e-12)]  # the release, once
    assert final[1] == pytest.approx(list(path[-1]), abs=1e-12) and final[2] is None


def test_clicks_and_drags_work_with_the_inspector_showing():
    """A click or a drag while the step inspector shows step t moves the start; the step stays
    (cut to the new path's end), and the overlay and table follow the new path."""
    ex = E.explore("adam", lr=0.3, steps=20)
    ex.controls["step"].value = 7
    frame, table = ex.frame, ex.inspector.table.value
    send(ex, pointer(ex, ex.ax, -2.0, 0.5, exact=True))
    assert tuple(ex.trajectory[0]) == (-2.0, 0.5) and ex.controls["step"].value == 7
    ins = ex.inspection
    np.testing.assert_array_equal(ins["point"], ex.trajectory[7])
    np.testing.assert_array_equal(ins["next_point"], ex.trajectory[8])
    assert ex.frame != frame and ex.inspector.table.value != table
    send(ex, pointer(ex, ex.ax, -4.0, -1.0, kind="mousedown", exact=True))
    for x, y in ((-3.5, -1.2), (-3.0, -1.5)):
        send(ex, pointer(ex, ex.ax, x, y, kind="mousemove", exact=True))
        assert tuple(ex.trajectory[0]) == (x, y)
        np.testing.assert_array_equal(ex.inspection["point"], ex.trajectory[7])
    send(ex, pointer(ex, ex.ax, -3.0, -1.5, kind="mouseup", exact=True))
    assert_consistent(ex)
    # a start from which the run diverges early: the step is cut to the path's last point
    big = E.explore("gd", lr=1.9, steps=30)
    big.controls["step"].value = 30
    send(big, pointer(big, big.ax, -5.0, -3.0, exact=True))
    assert big.controls["step"].value <= len(big.trajectory) - 1 == big.controls["step"].max
    assert_consistent(big)


def test_race_and_explore_1d_take_clicks():
    r = E.race({"gd": "gd", "adam": "adam"}, steps=10)
    send(r, pointer(r, r.ax, -3.0, 0.5, exact=True))
    obj = objectives.get("d2l")
    for label, rule, hp in (("gd", "gd", {"lr": 0.4}), ("adam", "adam", {"lr": 0.3})):
        expected, _ = direct(RULES[rule], obj, (-3.0, 0.5), 10, hp)
        np.testing.assert_array_equal(r.trajectory[label], expected)
    send(r, pointer(r, r.ax, -4.0, -1.0, kind="mousedown", exact=True))
    send(r, pointer(r, r.ax, -4.5, -2.5, kind="mousemove", exact=True))
    send(r, pointer(r, r.ax, -4.5, -2.5, kind="mouseup", exact=True))
    assert all(tuple(t[0]) == (-4.5, -2.5) for t in r.trajectory.values())
    send(r, pointer(r, r.loss_ax, 5.0, 1.0))
    assert all(tuple(t[0]) == (-4.5, -2.5) for t in r.trajectory.values())

    one = E.explore_1d("gd", "square", lr=0.2, steps=5)
    frame = one.frame
    send(one, pointer(one, one.ax, -7.0, 30.0, scale=0.9, exact=True))
    assert one.controls["x0"].value == -7.0 and one.trajectory[0] == -7.0
    obj1 = objectives.get_1d("square")
    np.testing.assert_array_equal(one.trajectory, _python_loop(lambda x: x - 0.2 * obj1.df(x), -7.0, 5))
    assert one.frame != frame
    send(one, pointer(one, one.ax, 3.3, 50.0, scale=1.4))  # rounded: lands on the x0 grid
    assert abs(one.controls["x0"].value - 3.3) <= data_per_pixel(one, one.ax, 1.4)[0] / 2 + one.controls["x0"].step / 2
    assert_on_grid(one.controls["x0"], one.controls["x0"].value)
    before = one.controls["x0"].value
    w, h = one.canvas.get_width_height()
    send(one, {"type": "click", "relativeX": 2, "relativeY": 2, "boundingRectWidth": w, "boundingRectHeight": h})
    assert one.controls["x0"].value == before


def test_presenter_mode_picture_shown_smaller_maps_clicks(monkeypatch):
    monkeypatch.setattr(frames, "_presenter_scale", lambda: 1.5)
    ex = E.explore(heavy_ball)
    w, h = ex.canvas.get_width_height()
    assert (w, h) == (1350, 675)
    scale = 900 / 1350  # the notebook shows the 1350 px picture 900 px wide (max-width 100%)
    send(ex, pointer(ex, ex.ax, -2.5, -0.75, scale=scale, exact=True))
    assert tuple(ex.trajectory[0]) == (-2.5, -0.75)
    send(ex, pointer(ex, ex.ax, -1.234, 0.321, scale=scale))
    dx, dy = data_per_pixel(ex, ex.ax, scale)
    x1, x2 = ex.trajectory[0]
    assert abs(x1 + 1.234) <= dx / 2 + 0.005 + 1e-12 and abs(x2 - 0.321) <= dy / 2 + 0.005 + 1e-12


def test_without_ipyevents_the_sliders_work_and_a_note_says_how_to_get_clicks(monkeypatch):
    monkeypatch.setattr(frames, "_ipyevents", lambda: None)
    for ex in (E.explore(heavy_ball), E.race({"a": "gd"}), E.explore_1d()):
        assert ex.events is None and ex.events_note is not None
        assert "pip install ipyevents" in ex.events_note.value
        assert ex.events_note in ex.widget.children
        name = next(n for n, w in ex.controls.items() if isinstance(w, widgets.FloatSlider) and n not in ("x1", "x2", "x0"))
        before = ex.frame
        ex.controls[name].value = ex.controls[name].min
        assert ex.frame != before and ex.error is None
        ex.close()


def test_on_colab_without_the_custom_widget_manager_a_note_says_to_run_the_set_up_cell(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.delitem(sys.modules, "google.colab.output._widgets", raising=False)
    ex = E.explore(heavy_ball)
    assert ex.events is not None  # events are wired: they work once the manager is on
    assert "set-up cell" in ex.events_note.value and ex.events_note in ex.widget.children
    manager = types.ModuleType("google.colab.output._widgets")
    manager._installed_url = "https://example.invalid/manager.min.js"  # what enabling it sets
    monkeypatch.setitem(sys.modules, "google.colab.output._widgets", manager)
    ex2 = E.explore(heavy_ball)
    assert ex2.events_note is None and ex2.events is not None


SUBPROCESS_WIDGET_BACKEND = textwrap.dedent(
    r"""
    import json
    import matplotlib
    matplotlib.use(BACKEND)
    import ipywidgets
    from d2lmini import explorers as E

    out = {"backend": matplotlib.get_backend()}
    ex = E.explore("gd", lr=0.3)
    out["widget"] = type(ex.figure_widget).__name__
    out["in_layout"] = ex.figure_widget in ex.widget.children
    before = ex.frame
    ex.controls["lr"].value = 0.1
    out["changed"] = ex.frame != before and ex.image.value == ex.frame
    px, py = ex._pixel_of(ex.ax, -2.0, 0.5)
    w, h = ex.canvas.get_width_height()
    ex.events._handle_msg({"content": {"data": {"method": "custom", "content": {
        "type": "click", "button": 0, "relativeX": px, "relativeY": py,
        "boundingRectWidth": w, "boundingRectHeight": h}}}, "buffers": []})
    out["start"] = ex.trajectory[0].tolist()
    r = E.race({"a": "gd", "b": "momentum"})
    one = E.explore_1d("newton", "cosh")
    out["others"] = [type(r.figure_widget).__name__, type(one.figure_widget).__name__]
    out["figures"] = __import__("matplotlib.pyplot").pyplot.get_fignums()
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("backend", ["module://ipympl.backend_nbagg", "agg"])
def test_one_drawing_path_whatever_the_backend(backend):
    """Under ipympl (``%matplotlib widget``) the explorers draw PNG frames into an Image as
    everywhere else, take clicks through ipyevents, and leave no pyplot figure behind."""
    if "ipympl" in backend and importlib.util.find_spec("ipympl") is None:
        pytest.skip("ipympl is not installed (the Colab-like environment)")
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    proc = subprocess.run([sys.executable, "-c", f"BACKEND = {backend!r}\n" + SUBPROCESS_WIDGET_BACKEND],
                          capture_output=True, text=True, timeout=240, cwd=str(ROOT), env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert backend.split(".")[-1] in out["backend"].lower() or out["backend"].lower() == backend
    assert out["widget"] == "Image" and out["in_layout"] and out["changed"]
    assert out["start"] == [-2.0, 0.5]
    assert out["others"] == ["Image", "Image"] and out["figures"] == []


# ---------------------------------------------------------------------------------------------
# slider grids: what a slider shows is what the explorer computes with (issue 16)


def test_chapter_openings_sit_on_their_grids_and_read_true():
    from d2lmini.explorers import controls as C

    # chapter 8's Adam: eta=0.4, beta1=0.9, beta2=0.999, eps=1e-6 (once read 0.901 and 1.000)
    adam_rule = hyperparams(eta=(0.0, 1.0), beta1=(0.0, 0.99), beta2=(0.0, 0.9999),
                            eps=(1e-10, 1.0, "log"))(learner_rules.make_adam_rule())

    ex = E.explore(adam_rule, eta=0.4, beta1=0.9, beta2=0.999, eps=1e-6)
    assert_opening_on_grids(ex)
    c = ex.controls
    assert C._readout_text(c["beta1"]) == "0.900" and C._readout_text(c["eta"]) == "0.40"
    assert C._readout_text(c["beta2"]) == "0.999" and C._readout_text(c["eps"]) == "1e-6"
    beta2 = [v for _, v in c["beta2"].options]
    assert {0.9, 0.99, 0.995, 0.999, 0.9995, 0.9999} <= set(beta2) and max(beta2) == 0.9999
    assert 1.0 not in beta2  # never rounds 0.999 up to a frozen second moment
    # chapter 1: eta=0.1 on (0, 0.6) (once read 0.099) and the kappa = 2 quadratic
    gd_rule = hyperparams(eta=(0.0, 0.6))(lambda x, g, state, eta=0.1: x - eta * g)
    ex1 = E.explore(gd_rule, objective=objectives.get("quadratic", kappa=2), eta=0.1)
    assert_opening_on_grids(ex1)
    assert C._readout_text(ex1.controls["eta"]) == "0.100"
    kappa = ex1.controls["kappa"]
    assert kappa.label == "2" and "\\kappa = 2$" in ex1.ax.get_title()
    for label, value in kappa.options:  # title, readout and kernel agree at every stop
        ex1.controls["kappa"].value = value
        assert ex1.objective.params["kappa"] == value
        assert f"\\kappa = {label}$" in ex1.ax.get_title()
    # a kappa off the ladder: an option of its own, and the title prints the same number
    odd = E.explore(gd_rule, objective=objectives.get("quadratic", kappa=1.2345678), eta=0.1)
    assert_opening_on_grids(odd)
    assert odd.controls["kappa"].label == "1.2345678" and "\\kappa = 1.2345678$" in odd.ax.get_title()
    # the rules' own ranges near 1 and on a log scale
    rms = E.explore("rmsprop", alpha=0.99)
    assert isinstance(rms.controls["alpha"], widgets.SelectionSlider) and rms.controls["alpha"].label == "0.99"
    ada = E.explore("adadelta")
    assert ada.controls["rho"].label == "0.9" and ada.controls["eps"].label == "1e-6"
    assert isinstance(E.explore("muon").controls["lr"], widgets.SelectionSlider)


@pytest.mark.parametrize("value, step, box", [
    (0.4, 0.01, False), (0.123, 0.001, False), (0.05, 0.01, False), (1.25, 0.01, False),
    (0.1234, 0.01, True), (1 / 3, 0.01, True), (2.5, 0.01, False),
])
def test_a_value_no_sensible_grid_holds_gets_a_number_box(value, step, box):
    ex = E.explore(heavy_ball, lr=value)
    c = ex.controls["lr"]
    assert (type(c).__name__ == "SliderText") == box
    assert_on_grid(c, value)
    expected, _ = direct(heavy_ball, objectives.get("d2l"), (-5.0, -2.0), 20, {"lr": value, "beta": 0.5},
                         limit=D2L_LIMIT)
    np.testing.assert_array_equal(ex.trajectory, expected)  # the exact value, not a grid point
    if box:
        assert c.step == step and c.slider.readout is False and c.text in c.children
        c.slider.value = 0.5  # moving the slider puts its grid value in the box
        assert c.value == 0.5 and c.text.value == 0.5 and ex.hyperparameters["lr"] == 0.5
        c.text.value = 0.4321  # a typed number is the value
        assert c.value == 0.4321 and ex.hyperparameters["lr"] == 0.4321 and c.slider.value == 0.43
        ex.set(lr=0.25)
        assert c.text.value == 0.25 and c.slider.value == 0.25


def test_a_number_box_keeps_its_value_when_the_page_echoes_the_slider():
    """ipywidgets 8's slider (noUiSlider 15) computes a grid point through percentages and sends
    it back when the last bits differ: on [0, 0.95] with step 0.005 the kernel's 0.9 comes back
    as 0.8999999999999999 as soon as the page draws the slider (the values below are what
    noUiSlider 15.4 gives). That echo must not replace the exact value in the box; a learner's
    move is taken, as the grid point's decimal value."""
    ex = E.explore(heavy_ball, lr=0.3, beta=0.9012)
    c = ex.controls["beta"]
    assert type(c).__name__ == "SliderText" and (c.slider.value, c.slider.step) == (0.9, 0.005)
    page_sets(c.slider, 0.8999999999999999)  # the echo of the opening grid point
    assert c.value == 0.9012 and c.text.value == 0.9012 and ex.hyperparameters["beta"] == 0.9012
    page_sets(c.slider, 0.9049999999999998)  # the learner's key press: 0.905
    assert c.value == 0.905 and c.text.value == 0.905 and ex.hyperparameters["beta"] == 0.905
    page_sets(c.slider, 0.9049999999999998)  # its echo after the kernel set 0.905
    assert c.value == 0.905
    page_sets(c.slider, 0.8999999999999999)  # and back: a move, not an echo
    assert c.value == 0.9 and ex.hyperparameters["beta"] == 0.9
    ex.set(beta=0.9012)  # code sets the exact value again; the page's echo leaves it
    page_sets(c.slider, 0.8999999999999999)
    assert c.value == 0.9012 and ex.hyperparameters["beta"] == 0.9012
    assert_on_grid(c, 0.9012)


def test_opening_and_code_values():
    ex = E.explore("momentum", lr=0.3, steps=30)
    assert ex.opening["lr"] == 0.3 and ex.opening["momentum"] == 0.5 and ex.opening["steps"] == 30
    assert ex.opening["rule"] == "momentum" and (ex.opening["x1"], ex.opening["x2"]) == (-5.0, -2.0)
    ex.set(lr=0.6)
    assert ex.code_values["lr"] == 0.6 and ex.opening["lr"] == 0.3
    send(ex, pointer(ex, ex.ax, -2.0, 0.5, exact=True))  # the explorer's own moves are not code's
    ex.buttons["fit"].click()
    assert ex.code_values["x1"] == -5.0
    ex.buttons["reset_sliders"].click()
    assert ex.code_values == ex.opening
    one = E.explore_1d("newton", "xcos", lr=0.5, x0=3.0)
    assert one.opening == {"steps": 10, "lr": 0.5, "x0": 3.0, "method": "newton", "objective": "xcos",
                           "show_model": True, "step": 0, "play": 0, "speed": 300}
    assert_opening_on_grids(one)


def test_set_from_python_keeps_the_readout_true():
    ex = E.explore("adam")
    ex.set(beta2=0.9973, eps=3e-7, beta1=0.912)  # off the ladders and the grid
    assert_on_grid(ex.controls["beta2"], 0.9973)
    assert_on_grid(ex.controls["eps"], 3e-7)
    assert_on_grid(ex.controls["beta1"], 0.912)
    assert ex.hyperparameters["beta2"] == 0.9973 and ex.hyperparameters["eps"] == 3e-7
    ex.controls["lr"].value = 0.123  # direct assignment: a finer step
    assert_on_grid(ex.controls["lr"], 0.123)
    ex.set(lr=1.7)  # outside the range: the range widens
    assert_on_grid(ex.controls["lr"], 1.7)


def _in_layout(ex, widget):
    todo = [ex.widget]
    while todo:
        box = todo.pop()
        if box is widget:
            return True
        todo.extend(getattr(box, "children", ()))
    return False


def test_set_from_python_a_value_no_sensible_grid_holds_gets_a_number_box():
    """``set(...)`` (or assigning ``controls[name].value``) with a value that no grid one decade
    finer holds: the slider becomes a slider beside a number box that holds the exact value, in
    ``controls``, in the layout and in what the rule runs with (a finer step would make a
    useless slider; the slider as it was would show, and in ipywidgets 8 send back, a
    different value)."""
    ex = E.explore(heavy_ball, lr=0.3, beta=0.5, objective="quadratic")
    old = ex.controls["lr"]
    ex.set(lr=1 / 3)
    new = ex.controls["lr"]
    assert type(new).__name__ == "SliderText" and new is not old
    assert_on_grid(new, 1 / 3)
    assert ex._runs[0].controls["lr"] is new and _in_layout(ex, new) and not _in_layout(ex, old)
    assert ex.hyperparameters["lr"] == 1 / 3 and ex.code_values["lr"] == 1 / 3
    expected, _ = direct(heavy_ball, objectives.get("quadratic"), (-5.0, -2.0), 20, {"lr": 1 / 3, "beta": 0.5})
    np.testing.assert_array_equal(ex.trajectory, expected)
    page_sets(new.slider, 0.4)  # the page moves the new slider: the explorer follows
    assert ex.hyperparameters["lr"] == 0.4 and new.text.value == 0.4
    ex.controls["beta"].value = 0.12345  # direct assignment: the same
    assert type(ex.controls["beta"]).__name__ == "SliderText"
    assert_on_grid(ex.controls["beta"], 0.12345) and ex.hyperparameters["beta"] == 0.12345
    ex.set(kappa=5.0, angle=12.3456789)  # angle is hidden on "quadratic" and stays hidden
    assert ex.controls["angle"].layout.display == "none" and _in_layout(ex, ex.controls["angle"])
    assert_on_grid(ex.controls["angle"], 12.3456789)
    ex.set(objective="rotated")
    assert ex.controls["angle"].layout.display is None
    assert ex.objective.params["angle"] == 12.3456789 and "12.3456789°" in ex.ax.get_title()
    ex.set(x1=-4.123456, x2=-1.5)  # a start slider
    assert_on_grid(ex.controls["x1"], -4.123456) and tuple(ex.trajectory[0]) == (-4.123456, -1.5)
    send(ex, pointer(ex, ex.ax, -2.0, 0.5))  # a click still lands on the start grid
    assert_on_grid(ex.controls["x1"], ex.controls["x1"].value)
    ex.buttons["reset_sliders"].click()
    assert ex.hyperparameters == {"lr": 0.3, "beta": 0.5}
    assert_on_grid(ex.controls["lr"], 0.3)
    ex.close()
    # a race's learning rate and a 1-D explorer's
    r = E.race({"hb": (heavy_ball, {"lr": 0.3}), "gd": ("gd", {"lr": 0.4})}, steps=10)
    r.set(**{"hb.lr": 0.30001})
    assert type(r.controls["hb.lr"]).__name__ == "SliderText" and _in_layout(r, r.controls["hb.lr"])
    assert r._runs[0].controls["lr"] is r.controls["hb.lr"] and r._runs[0].hp()["lr"] == 0.30001
    one = E.explore_1d("gd", "square", lr=0.2)
    one.set(lr=0.123456)
    assert_on_grid(one.controls["lr"], 0.123456) and _in_layout(one, one.controls["lr"])
    assert "lr = 0.123456" in one.readout
    one.set(x0=1 / 7)
    assert_on_grid(one.controls["x0"], 1 / 7) and one.trajectory[0] == 1 / 7


def test_view_changes_keep_the_start_sliders_on_their_grids():
    ex = E.explore(heavy_ball, lr=0.05, beta=0.0, steps=10, start=(-4.123, 0.5))
    assert_opening_on_grids(ex)
    assert ex.controls["x1"].step == 0.001
    ex.buttons["fit"].click()
    for name in ("x1", "x2"):
        assert_on_grid(ex.controls[name], ex.controls[name].value)
    assert tuple(ex.trajectory[0]) == (-4.123, 0.5)
    send(ex, pointer(ex, ex.ax, -4.0, 0.45))
    ex.buttons["reset_view"].click()
    for name in ("x1", "x2"):
        assert_on_grid(ex.controls[name], ex.controls[name].value)
    ex.controls["objective"].value = "rosenbrock"
    assert (ex.controls["x1"].value, ex.controls["x2"].value) == objectives.get("rosenbrock").start
    for name in ("x1", "x2"):
        assert_on_grid(ex.controls[name], ex.controls[name].value)


def _range_strategy(rng):
    """Opening values for a hyperparameter: inside its declared range, and outside it."""
    lo, hi = float(rng.low), float(rng.high)
    if rng.integer:
        return st.integers(int(lo) - 20, int(hi) + 20).map(float)
    if rng.log:
        return st.one_of(st.floats(lo, hi), st.floats(lo / 1000, hi * 1000),
                         st.sampled_from([lo, hi, 3e-7, 1e-6, 0.02]).filter(lambda v: v > 0))
    span = hi - lo
    return st.one_of(
        st.floats(lo, hi), st.floats(lo - span, hi + 3 * span),
        st.integers(0, 1000).map(lambda k: round(lo + k * span / 1000, 6)),  # typed round values
        st.sampled_from([lo, hi, 0.9, 0.99, 0.999, 0.9999, 0.1, 0.5, 1.0]),
    )


_HP_CASES = [(name, h, default, rng) for name, rule in RULES.items()
             for h, (default, rng) in __import__("d2lmini.rules", fromlist=["x"]).hyperparameters_of(rule).items()
             if rng is not None and not isinstance(default, bool)]


@pytest.mark.parametrize("name, hp, default, rng", _HP_CASES, ids=[f"{c[0]}.{c[1]}" for c in _HP_CASES])
@settings(max_examples=int(os.environ.get("D2LMINI_FUZZ_EXAMPLES", "10")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_every_opening_value_sits_on_its_slider_grid(name, hp, default, rng, data):
    from d2lmini.explorers import controls as C

    value = data.draw(_range_strategy(rng), label=hp)
    if rng.log and value <= 0:
        return
    widget = C._make_control(hp, default, rng, value)
    try:
        assert_on_grid(widget, value)
        assert C._readout_text(widget) is not None
    finally:
        C._close_tree(widget)


@FUZZ
@given(eta=st.floats(-0.5, 3.0), beta=st.floats(0.0, 0.999), x1=st.floats(-5.5, 1.0), x2=st.floats(-3.0, 1.0),
       typed=st.booleans())
def test_fuzz_explorer_openings_sit_on_their_grids(eta, beta, x1, x2, typed):
    if typed:  # what a learner types: a few decimals
        eta, beta, x1, x2 = round(eta, 2), round(beta, 3), round(x1, 2), round(x2, 1)
    ex = E.explore(heavy_ball, start=(x1, x2), lr=eta, beta=beta, stochastic=True, noise=round(beta, 2))
    try:
        assert_opening_on_grids(ex)
        assert ex.hyperparameters == {"lr": eta, "beta": beta}
        assert tuple(ex.trajectory[0]) == (x1, x2)
    finally:
        ex.close()


# ---------------------------------------------------------------------------------------------
# schedules: d2l's three bit for bit, the new ones against torch.optim.lr_scheduler


def _torch_path(steps, lr, make_scheduler, start=(-5.0, -2.0)):
    import torch

    obj = objectives.get("d2l")
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr)
    sched = make_scheduler(opt)
    path = [x.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = obj(x[0], x[1])
        loss.backward()
        opt.step()
        sched.step()
        path.append(x.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("steps, warmup", [(20, 4), (37, 9), (8, 0)])
def test_new_schedules_equal_torch_lr_schedulers(steps, warmup):
    pytest.importorskip("torch")
    from torch.optim import lr_scheduler as L

    cases = {
        "step": lambda o: L.StepLR(o, step_size=max(1, steps // 4), gamma=0.5),
        "cosine": lambda o: L.CosineAnnealingLR(o, T_max=steps),
        "linear warm-up": (lambda o: L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=warmup))
        if warmup else (lambda o: L.ConstantLR(o, factor=1.0, total_iters=0)),
        "cosine with warm-up": (lambda o: L.SequentialLR(o, [
            L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=warmup),
            L.CosineAnnealingLR(o, T_max=steps - warmup)], milestones=[warmup]))
        if warmup else (lambda o: L.CosineAnnealingLR(o, T_max=steps)),
    }
    ex = E.explore("gd", lr=0.4, steps=steps, schedule="constant", warmup=warmup, stochastic=True)
    assert ex.controls["warmup"].layout.display == "none"
    for name, make in cases.items():
        ex.set(schedule=name)
        assert (ex.controls["warmup"].layout.display != "none") == (name in ("linear warm-up", "cosine with warm-up"))
        theirs = _torch_path(steps, 0.4, make)
        np.testing.assert_allclose(ex.trajectory, theirs, rtol=0, atol=1e-12, err_msg=name)


def test_d2l_schedules_keep_their_paths_bit_for_bit():
    obj = objectives.get("d2l")
    table = np.random.default_rng(7).standard_normal((200, 2))
    old = {"exponential": lambda t: math.exp(-0.1 * t), "polynomial": lambda t: (1.0 + 0.1 * t) ** -0.5}
    for name, factor in old.items():
        for maker in (lambda: E.explore("gd", stochastic=True, noise=0.8, seed=7, schedule=name, steps=60),
                      lambda: E.race({"gd": "gd"}, stochastic=True, noise=0.8, seed=7, schedule=name, steps=60)):
            ex = maker()
            traj = ex.trajectory if isinstance(ex.trajectory, np.ndarray) else ex.trajectory["gd"]
            expected, _ = direct(RULES["gd"], obj, obj.start, 60, {"lr": 0.4}, noise=0.8, table=table, schedule=factor)
            np.testing.assert_array_equal(traj, expected)


def test_warmup_slider_and_defaults():
    ex = E.explore("adam", stochastic=True, schedule="linear warm-up", steps=40)
    w = ex.controls["warmup"]
    assert isinstance(w, widgets.IntSlider) and w.value == 8 and w.layout.display is None  # steps // 5
    before = ex.trajectory.copy()
    ex.controls["warmup"].value = 20
    assert not np.array_equal(ex.trajectory, before)
    hp = dict(ex.hyperparameters)
    expected, _ = direct(RULES["adam"], objectives.get("d2l"), (-5.0, -2.0), 40, hp,
                         schedule=lambda t: 0.1 + 0.9 * min(t - 1, 20) / 20)
    np.testing.assert_allclose(ex.trajectory, expected, rtol=0, atol=1e-12)
    ex.set(steps=10, schedule="cosine with warm-up")  # warm-up longer than the run: clipped
    assert ex.error is None and len(ex.trajectory) == 11
    ex.buttons["reset_sliders"].click()
    assert (ex.controls["warmup"].value, ex.controls["schedule"].value, ex.controls["steps"].value) == (
        8, "linear warm-up", 40)
    assert E.explore("gd", stochastic=True, warmup=3).controls["warmup"].value == 3


# ---------------------------------------------------------------------------------------------
# race: noise and schedules, the new rules


def test_race_with_noise_and_a_schedule():
    obj = objectives.get("d2l")
    table = np.random.default_rng(5).standard_normal((200, 2))
    r = E.race({"gd": "gd", "mom": ("momentum", {"lr": 0.2})}, steps=30, noise=0.6, seed=5,
               schedule="polynomial")
    assert r.stochastic and {"noise", "schedule", "warmup"} <= set(r.controls)
    poly = lambda t: (1.0 + 0.1 * t) ** -0.5  # noqa: E731
    for label, rule, hp in (("gd", "gd", {"lr": 0.4}), ("mom", "momentum", {"lr": 0.2, "momentum": 0.5})):
        expected, _ = direct(RULES[rule], obj, obj.start, 30, hp, noise=0.6, table=table, schedule=poly)
        np.testing.assert_array_equal(r.trajectory[label], expected)
    r.set(noise=0.0, schedule="constant")
    expected, _ = direct(RULES["gd"], obj, obj.start, 30, {"lr": 0.4})
    np.testing.assert_array_equal(r.trajectory["gd"], expected)
    r.buttons["reset_sliders"].click()
    assert (r.controls["noise"].value, r.controls["schedule"].value) == (0.6, "polynomial")
    assert_opening_on_grids(r)
    assert "noise" not in E.race({"gd": "gd"}).controls
    with pytest.raises(ValueError, match="schedule"):
        E.race(schedule="sometimes")
    with pytest.raises(ValueError, match="noise"):
        E.race(noise=-1.0)


NEW_RULES = ["nadam", "radam", "adamax", "adafactor", "muon", "lion", "sgd_schedulefree", "adamw_schedulefree"]


def test_race_takes_the_new_rules_with_their_presets():
    obj = objectives.get("d2l")
    for group in (NEW_RULES[:4], NEW_RULES[4:]):
        r = E.race({n: n for n in group}, steps=20)
        assert_opening_on_grids(r)
        for name in group:
            hp = {k: v for k, v in E.PRESETS[name].items()}
            assert r.controls[f"{name}.lr"].value == hp["lr"]
            run = next(x for x in r._runs if x.label == name)
            expected, div = direct(RULES[name], obj, obj.start, 20, run.hp(), limit=D2L_LIMIT)
            np.testing.assert_array_equal(r.trajectory[name], expected)
            assert r.diverged_at[name] is None and div is None


def test_new_rule_presets_show_the_rule():
    """Each new rule's preset gets well down the d2l quadratic in 20 steps (torch's default
    learning rates, 1e-4 to 2e-3, barely move there)."""
    obj = objectives.get("d2l")
    f0 = obj.value(np.array(obj.start)) - obj.fmin
    for name in NEW_RULES:
        assert "lr" in E.PRESETS[name], name
        ex = E.explore(name)
        assert ex.diverged_at is None and ex.left_view_at is None, name
        assert ex.losses[-1] < f0 / 5, (name, ex.losses[-1])

# ---------------------------------------------------------------------------------------------
# property test: every explorer over its whole slider ranges


def slider_value(widget):
    """A strategy over a control's whole range, endpoints included.

    What it draws does not depend on the control's current range: a fraction of the range (or
    of the list of options) is drawn and mapped onto the range the control has at draw time.
    The explorers are shared between examples, so a range (the step slider's end, a grid that
    an off-grid value extended) can differ between an example and its replay; a strategy whose
    bounds followed the range would make hypothesis see inconsistent data generation."""
    if isinstance(widget, widgets.Checkbox):
        return st.booleans()
    fraction = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))

    def pick(options):
        return fraction.map(lambda a: options[min(int(a * len(options)), len(options) - 1)])

    if isinstance(widget, widgets.SelectionSlider):
        return pick([v for _, v in widget.options])
    if isinstance(widget, widgets.Dropdown):
        return pick(list(widget.options))
    lo, hi = widget.min, widget.max
    if isinstance(widget, (widgets.IntSlider, widgets.Play)):
        return fraction.map(lambda a: int(round(lo + a * (hi - lo))))
    lo, hi = float(lo), float(hi)
    return fraction.map(lambda a: hi if a == 1.0 else min(hi, lo + a * (hi - lo)))




def _cached(key, build):
    """The fuzz tests' shared explorer for ``key``; when it is made, every control holds its
    opening value on its grid (the fuzz tests' check of the openings of every kind)."""
    if key not in _CACHE:
        _CACHE[key] = build()
        assert_opening_on_grids(_CACHE[key])
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
    # what code set, each number control shows: on its grid, a new option, or in a number box
    for name, value in values.items():
        widget = ex.controls[name]
        if isinstance(widget, (widgets.FloatSlider, widgets.SelectionSlider)) or hasattr(widget, "set_range"):
            assert_on_grid(widget, value)


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
    before = (ex.controls["rule"].value, ex.controls["objective"].value)
    ex.set(rule=data.draw(slider_value(ex.controls["rule"]), label="rule"),
           objective=data.draw(slider_value(ex.controls["objective"]), label="objective"))
    if ex.controls["rule"].value != before[0]:  # the new rule's sliders open on their grids
        for name in ex._runs[0].controls:
            assert_on_grid(ex.controls[name], ex.opening[name])
    if ex.controls["objective"].value != before[1]:  # the new start is on the start sliders' grids
        for name, value in zip(("x1", "x2"), ex.objective.start):
            assert_on_grid(ex.controls[name], value)
    _drive(ex, data, first=(), skip=("rule", "objective"))
    assert ex.error is None, ex.error
    assert_consistent(ex)


@FUZZ
@given(data=st.data())
def test_fuzz_explore_1d(data):
    ex = _cached("explore_1d", lambda: E.explore_1d())
    before = (ex.controls["method"].value, ex.controls["objective"].value)
    ex.set(method=data.draw(slider_value(ex.controls["method"]), label="method"),
           objective=data.draw(slider_value(ex.controls["objective"]), label="objective"))
    if ex.controls["method"].value != before[0]:  # the method's default lr, on the lr grid
        assert_on_grid(ex.controls["lr"], ex._lr_default(ex.controls["method"].value))
    if ex.controls["objective"].value != before[1]:  # the objective's start, on the x0 grid
        assert_on_grid(ex.controls["x0"], float(ex.objective.start))
    _drive(ex, data, first=(), skip=("method", "objective"))
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
    r = _cached("race", lambda: E.race(stochastic=True))
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
    if isinstance(widget, widgets.SelectionSlider):
        return widget.options[0 if end == "min" else -1][1]
    return widget.min if end == "min" else widget.max


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

"""d2lmini.exercises: every check accepts its worked answer, rejects a wrong one with a hint that
fits the mistake, and the notebooks use the checks in the course's one style."""
import io
import json
import pathlib
import subprocess
import sys
from contextlib import redirect_stdout

import nbformat
import numpy as np
import pytest
import torch

import d2lmini as d2l
import nbrun
from d2lmini import exercises

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# The answers as the worked answers in the notebooks write them (a number copied from the text,
# so the check must accept the rounded value a learner would type).
WORKED = {
    "start_here.momentum_edge": ((0.75,), {}),
    "start_here.zero_momentum": (("smaller",), {}),
    "landscape.classify": ((), {"a": "saddle", "b": "maximum", "c": "undecided"}),
    "landscape.jensen_gap": ((7.0,), {}),
    "landscape.gd_bound": ((), {"at_50": 0.36, "steps_for_001": 1800}),
    "landscape.sgd_step": ((), {"eta": 0.004, "bound": 0.1}),
    "landscape.sigmoid_depth": ((10,), {}),
    "gradient_descent.thresholds": ((0.1667, 0.3333), {}),
    "gradient_descent.deep_valley": ((0.2,), {}),
    "gradient_descent.noise_floor": ((0.146,), {}),
    "gradient_descent.sum_loss_lr": ((0.004,), {}),
    "gradient_descent.odd_steps": ((-74.3,), {}),
    "newton.steps": ((1, 10), {}),
    "newton.stationary_point": ((13.660371, "max"), {}),
    "newton.logsumexp_minimum": ((-0.768951,), {}),
    "newton.cubic_constant": ((0.0833,), {}),
    "momentum.zero_start_weight": ((0.651,), {}),
    "momentum.heavy_ball_edge": ((0.75,), {}),
    "momentum.ema_translation": ((0.06,), {}),
    "momentum.nesterov_edge": ((0.375,), {}),
    "momentum.tuning": ((0.668, 0.403), {}),
    "momentum.digits_lr_half": ((0.15,), {}),
    "momentum.velocity_steps": ((22,), {}),
    "adagrad.first_rate": ((0.05,), {}),
    "adagrad.lr_decay": ((0.2,), {}),
    "adagrad.half_step": ((5.77e-4,), {}),
    "adagrad.worst_angle": ((62,), {}),
    "adagrad.noise_rate": ((0.02,), {}),
    "adagrad.first_step_ratio": ((8,), {}),
    "rmsprop.gamma_one": ((400,), {}),
    "rmsprop.first_step": ((0.1,), {}),
    "rmsprop.half_life": ((69.0,), {}),
    "rmsprop.noise_step": ((0.4,), {}),
    "adadelta.first_step": ((0.0316,), {}),
    "adadelta.max_curvature": ((2,), {}),
    "adadelta.torch_lr": ((0.5,), {}),
    "adadelta.further_rho": ((0.95,), {}),
    "adadelta.match_rmsprop": ((20,), {}),
    "adadelta.eps_for_step": ((1e-5,), {}),
    "adam.first_step_factor": ((1.0,), {}),
    "adam.scaled_run": (((0.996033, -0.212751),), {}),
    "adam.beta1_zero": ((torch.optim.RMSprop,), {"lr": 0.1, "alpha": 0.9, "eps": 1e-6}),
    "adam.torch_weight_decay": ((0.1,), {}),
    "adam.idle_weight": ((6.7e-4,), {}),
    "adam.travel": ((0.34,), {}),
    "schedules.warmup_lrs": ((1e-4, 9.1e-4), {}),
    "schedules.sequential_restart": ((0.05,), {}),
    "schedules.adam_first_step": ((9.09e-4,), {}),
    "schedules.one_cycle_ends": ((0.004, 4e-7), {}),
    "schedules.plateau_epoch": ((6,), {}),
    "schedules.clipping": (((0.6, 0.8), (1, 1)), {}),
    "after_adam.nadam_mu": ((0.5178,), {}),
    "after_adam.radam_first_adaptive": ((7,), {}),
    "after_adam.adafactor_state": ((15104,), {}),
    "after_adam.muon_vector_step": ((0.0348,), {}),
    "after_adam.spectral_steepest": ((8.944,), {}),
}

# A typical wrong answer for each check, and a piece of the hint it must get.
WRONG = {
    "start_here.momentum_edge": ((0.5,), {}, "without* momentum"),
    "start_here.zero_momentum": (("larger",), {}, "lr = 0.6"),
    "landscape.classify": ((), {"a": "minimum", "b": "maximum", "c": "undecided"},
                           "positive entries on the diagonal"),
    "landscape.jensen_gap": ((9.0,), {}, "right side alone"),
    "landscape.gd_bound": ((), {"at_50": 0.72, "steps_for_001": 1800}, "factor 2"),
    "landscape.sgd_step": ((), {"eta": 0.025, "bound": 0.1}, "R and G are swapped"),
    "landscape.sigmoid_depth": ((20,), {}, "not 1/2"),
    "gradient_descent.thresholds": ((1 / 3, 2 / 3), {}, "you used L = 3"),
    "gradient_descent.deep_valley": ((2.0,), {}, "another valley"),
    "gradient_descent.noise_floor": ((0.0625 + 0.0417,), {}, "counts twice"),
    "gradient_descent.sum_loss_lr": ((40,), {}, "other way round"),
    "gradient_descent.odd_steps": ((74.3,), {}, "sign"),
    "newton.steps": ((1, 9), {}, "1/512"),
    "newton.stationary_point": ((13.660371, "min"), {}, "sign of f''"),
    "newton.logsumexp_minimum": ((0.768951,), {}, "check the sign"),
    "newton.cubic_constant": ((1 / 24,), {}, "factor 2"),
    "momentum.zero_start_weight": ((0.349,), {}, "still *missing*"),
    "momentum.heavy_ball_edge": ((3.0,), {}, "divide by lambda"),
    "momentum.ema_translation": ((0.6,), {}, "torch's velocity is a"),
    "momentum.nesterov_edge": ((0.75,), {}, "heavy ball's edge"),
    "momentum.tuning": ((1.0, 0.0), {}, "diverges"),
    "momentum.digits_lr_half": ((0.03,), {}, "momentum 0.9's best"),
    "momentum.velocity_steps": ((10,), {}, "memory window"),
    "adagrad.first_rate": ((0.4,), {}, "x2's first gradient is -8"),
    "adagrad.lr_decay": ((0.4 / 2.1,), {}, "(t - 1)"),
    "adagrad.half_step": ((1e-3,), {}, "1/sqrt(2)"),
    "adagrad.worst_angle": ((10,), {}, "grows towards larger angles"),
    "adagrad.noise_rate": ((0.002,), {}, "not sigma t"),
    "adagrad.first_step_ratio": ((0.125,), {}, "upside down"),
    "rmsprop.gamma_one": ((4e5,), {}, "inside the square root"),
    "rmsprop.first_step": ((0.01,), {}, "0.01 is lr"),
    "rmsprop.half_life": ((100,), {}, "memory window"),
    "rmsprop.noise_step": ((0.8,), {}, "effective rate"),
    "adadelta.first_step": ((0.00316,), {}, "eps = 1e-6"),
    "adadelta.max_curvature": ((4,), {}, "does *not* settle"),
    "adadelta.torch_lr": ((2.0,), {}, "largest curvature for rate 1"),
    "adadelta.further_rho": ((0.9,), {}, "first steps"),
    "adadelta.match_rmsprop": ((6.32,), {}, "eta / sqrt(1 - gamma)"),
    "adadelta.eps_for_step": ((1e-4,), {}, "factor 1 - rho"),
    "adam.first_step_factor": ((3.16,), {}, "default beta2 = 0.999"),
    "adam.scaled_run": (((0.996029, -0.212750),), {}, "*unscaled* run"),
    "adam.beta1_zero": ((torch.optim.RMSprop,), {"lr": 0.1}, "alpha must equal"),
    "adam.torch_weight_decay": ((1e-4,), {}, "1e-7"),
    "adam.idle_weight": ((0.97 ** 40,), {}, "once per update"),
    "adam.travel": ((0.01,), {}, "once per minibatch"),
    "schedules.warmup_lrs": ((1e-4, 1e-3), {}, "only 9 calls"),
    "schedules.sequential_restart": ((0.0329,), {}, "counts from 0 there"),
    "schedules.adam_first_step": ((1e-10,), {}, "step of SGD"),
    "schedules.one_cycle_ends": ((0.004, 0.004), {}, "does not return to the start"),
    "schedules.plateau_epoch": ((5,), {}, "exceeds it"),
    "schedules.clipping": (((3 / 7, 4 / 7), (1, 1)), {}, "not by the sum"),
    "after_adam.nadam_mu": ((0.4501,), {}, "mu_t at the start"),
    "after_adam.radam_first_adaptive": ((5,), {}, "paper's threshold"),
    "after_adam.adafactor_state": ((4096 * 11008,), {}, "Adam's second moment"),
    "after_adam.muon_vector_step": ((0.05,), {}, "does not reach 1"),
    "after_adam.spectral_steepest": ((7.071,), {}, "Frobenius ball"),
}


def said(*args, **kwargs):
    buf = io.StringIO()
    with redirect_stdout(buf):
        result = d2l.check(*args, **kwargs)
    return result, buf.getvalue()


def test_every_exercise_is_covered_here():
    assert set(WORKED) == set(exercises.keys()) == set(WRONG)
    assert {k.split(".")[0] for k in exercises.keys()} == set(exercises.CHAPTERS)


@pytest.mark.parametrize("key", exercises.keys())
def test_check_accepts_the_packages_own_answer(key):
    args, kwargs = exercises._EXERCISES[key].truth()
    ok, text = said(key, *args, **kwargs)
    assert ok is True and text.startswith("Right: "), text


@pytest.mark.parametrize("key", exercises.keys())
def test_check_accepts_the_worked_answer(key):
    args, kwargs = WORKED[key]
    ok, text = said(key, *args, **kwargs)
    assert ok is True and text.startswith("Right: "), text
    assert len(text) > 40, "a right answer comes with the reason"


@pytest.mark.parametrize("key", exercises.keys())
def test_check_rejects_a_wrong_answer_with_a_hint_that_fits(key):
    args, kwargs, hint = WRONG[key]
    ok, text = said(key, *args, **kwargs)
    assert ok is False and text.startswith("Not quite: "), text
    assert hint in text, text
    assert f"d2l.exercises.hint({key!r})" in text


@pytest.mark.parametrize("key", exercises.keys())
def test_hints_lead_further_each_call(key, monkeypatch, capsys):
    monkeypatch.setattr(exercises, "_HINTS_GIVEN", {})
    ex = exercises._EXERCISES[key]
    assert len(ex.hints) >= 2
    given = [exercises.hint(key) for _ in range(len(ex.hints) + 1)]
    assert given[:-1] == list(ex.hints) and given[-1] == ex.hints[-1]
    out = capsys.readouterr().out
    assert f"Hint 1 of {len(ex.hints)}" in out and "Call hint again" in out


def test_placeholder_says_what_to_do_and_judges_nothing():
    ok, text = said("adam.first_step_factor", ...)
    assert ok is False and "in place of the ..." in text and "d2l.check('adam.first_step_factor'" in text
    ok, text = said("gradient_descent.thresholds", eta_oscillate=0.2, eta_diverge=...)
    assert ok is False and "in place of the ..." in text
    ok, text = said("adam.first_step_factor")
    assert ok is False and "in place of the ..." in text


def test_unknown_key_lists_the_keys():
    with pytest.raises(ValueError) as err:
        d2l.check("ch3.heavy_ball_edge", 0.75)
    message = str(err.value)
    assert "Did you mean 'momentum.heavy_ball_edge'?" in message
    for key in exercises.keys():
        assert repr(key) in message
    with pytest.raises(ValueError, match="momentum.heavy_ball_edge"):
        exercises.hint("no.such")
    with pytest.raises(TypeError, match="string"):
        d2l.check(3, 0.75)
    ok, text = said()
    assert ok is False and all(repr(k) in text for k in exercises.keys())


def test_a_moved_exercise_keeps_its_old_key():
    # the clipping exercise moved from the gradient-descent chapter to the schedules chapter
    assert exercises._MOVED == {"gradient_descent.clipping": "schedules.clipping"}
    assert said("gradient_descent.clipping", (0.6, 0.8), (1, 1))[0] is True
    assert exercises.describe("gradient_descent.clipping") == exercises.describe("schedules.clipping")
    assert "gradient_descent.clipping" not in exercises.keys()


def test_bad_answers_raise_clear_errors():
    with pytest.raises(TypeError, match="eta must be a number"):
        d2l.check("momentum.heavy_ball_edge", "three quarters")
    with pytest.raises(TypeError, match="eta_oscillate, eta_diverge"):
        d2l.check("gradient_descent.thresholds", 0.1)
    with pytest.raises(TypeError, match="by_norm must be 2 numbers"):
        d2l.check("schedules.clipping", (1, 2, 3), (1, 1))
    assert said("momentum.heavy_ball_edge", "0.75")[0] is True   # a number typed as text is fine
    ok, text = said("adam.beta1_zero", "RMSprop", lr=0.1)
    assert ok is False and "pass the optimizer class itself" in text
    ok, text = said("adam.beta1_zero", torch.optim.RMSprop, lr=-1.0)
    assert ok is False and "could not run RMSprop" in text


def test_landscape_checks_read_words():
    # the kinds of stationary point may be written in several ways; anything else is named
    assert said("landscape.classify", a="Saddle point", b="local max", c="can't tell")[0] is True
    assert said("landscape.classify", a="saddle", b="maximum", c="inconclusive")[0] is True
    ok, text = said("landscape.classify", a="saddle", b="peak", c="undecided")
    assert ok is False and "b: answer with one of" in text
    with pytest.raises(TypeError, match="a must be a word"):
        d2l.check("landscape.classify", a=1, b="maximum", c="undecided")
    assert exercises._second_derivative_test(np.diag([1.0, 2.0])) == "minimum"
    assert exercises._second_derivative_test(np.diag([-1.0, 0.0])) == "undecided"
    assert exercises._second_derivative_test(np.diag([-1.0, 0.0, 3.0])) == "saddle"


def test_worked_answers_numbers_from_the_package():
    # numbers the worked answers state, recomputed by the package's own truth functions
    assert exercises._EXERCISES["newton.steps"].truth()[0] == (1, 10)
    (edge,), _ = exercises._EXERCISES["momentum.heavy_ball_edge"].truth()
    (nag,), _ = exercises._EXERCISES["momentum.nesterov_edge"].truth()
    assert edge == pytest.approx(0.75, abs=1e-9) and nag == pytest.approx(0.375, abs=1e-9)
    (eta, beta), _ = exercises._EXERCISES["momentum.tuning"].truth()
    assert round(eta, 3) == 0.668 and round(beta, 3) == 0.403
    assert round(max(exercises._worst_rate(eta, beta)), 3) == 0.635
    losses = exercises._angle_losses()
    assert max(losses, key=losses.get) == 62 and round(losses[62], 2) == 0.36
    (ratio,), _ = exercises._EXERCISES["rmsprop.half_life"].truth()
    assert round(ratio, 1) == 69.0
    # the network exercises: the numbers their worked answers state
    assert exercises._EXERCISES["momentum.digits_lr_half"].truth()[0] == pytest.approx((0.15,))
    assert exercises._EXERCISES["momentum.velocity_steps"].truth()[0] == (22,)
    assert exercises._EXERCISES["adagrad.noise_rate"].truth()[0] == pytest.approx((0.02,))
    assert round(exercises._pure_noise_rate(), 3) == 0.020
    assert round(exercises._EXERCISES["adagrad.first_step_ratio"].truth()[0][0], 6) == 8.0
    step = exercises._EXERCISES["rmsprop.noise_step"].truth()[0][0]
    assert 0.36 < step < 0.4 and round(step, 2) == 0.38      # "about eta = 0.4 (a simulation gives 0.38)"
    assert abs(exercises._noise_step(sigma=2.0) - step) < 1e-6   # sigma does not matter (up to eps)
    assert round(exercises._adadelta_first(1e-4), 4) == 0.0316 and round(exercises._adadelta_first(1e-6), 4) == 0.0032
    assert exercises._EXERCISES["adadelta.further_rho"].truth()[0] == (0.95,)
    # the Adadelta chapter's network exercises: lr = eta / sqrt(eps) = 20; eps = 0.1 * 0.01^2
    assert exercises._EXERCISES["adadelta.match_rmsprop"].truth()[0][0] == pytest.approx(20, rel=1e-9)
    assert exercises._EXERCISES["adadelta.eps_for_step"].truth()[0][0] == pytest.approx(1e-5, rel=1e-9)
    # the Adam chapter's network exercises: 0.97^240 (6 updates per epoch, 40 epochs); 340 * 1e-3
    assert exercises._EXERCISES["adam.idle_weight"].truth()[0][0] == pytest.approx(0.97 ** 240, rel=1e-9)
    assert round(exercises._EXERCISES["adam.idle_weight"].truth()[0][0], 5) == 0.00067
    assert exercises._EXERCISES["adam.travel"].truth()[0][0] == pytest.approx(0.34, rel=1e-6)
    assert round(exercises._EXERCISES["gradient_descent.noise_floor"].truth()[0][0], 4) == 0.1458
    assert round(exercises._EXERCISES["gradient_descent.odd_steps"].truth()[0][0], 1) == -74.3


def test_importing_the_checks_stays_light():
    code = ("import sys, d2lmini as d2l; d2l.check; d2l.exercises.keys(); "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------------------------------------
# The notebooks


def _slug(path):
    return path.stem.split("_", 1)[1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_package_checks(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def check_" not in code
    nbrun.check_exercises(nb, _slug(path))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_heading_has_a_worked_answer(path):
    nb = nbformat.read(path, as_version=4)
    blocks = nbrun.exercise_blocks(nb)
    assert len(blocks) >= 2
    for number, block in blocks:
        assert block.count(nbrun.ANSWER_OPEN) == 1, f"{path.name}, exercise {number}"
        answer = block.split(nbrun.ANSWER_OPEN, 1)[1].split(nbrun.ANSWER_CLOSE, 1)[0]
        assert len(answer.split()) >= 20, f"{path.name}, exercise {number}: the answer explains"


def test_every_key_is_used_once_in_its_own_chapter():
    used = {}
    for path in NOTEBOOKS:
        for key in nbrun.check_calls(nbformat.read(path, as_version=4)):
            assert key not in used, f"{key} in {used.get(key)} and {path.name}"
            used[key] = path.name
            assert key.split(".")[0] == _slug(path)
    assert set(used) == set(exercises.keys())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_refers_to_source_articles(path):
    # issue 15, point 12: state the misconception itself, never "the source article(s)"
    text = json.dumps([c["source"] for c in json.loads(path.read_text(encoding="utf-8"))["cells"]])
    assert "article" not in text.lower()

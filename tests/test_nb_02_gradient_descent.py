"""Chapter 1 (gradient descent): run the notebook in a real kernel, check its numbers and claims."""
import re

import pytest

import nbrun

pytestmark = pytest.mark.notebook

NAME = "02_gradient_descent.ipynb"

NUMBERS = r"""
import json
out = {
    'res': repr(float(res[-1])), 'res_small': repr(float(res_small[-1])),
    'res_big': repr(float(res_big[-1])), 'res_xcos': repr(float(res_xcos[-1])),
    'res_len': [len(res), len(res_small), len(res_big), len(res_xcos)],
    'thresholds': [[float(e), float(q), float(x), k] for e, q, x, k in threshold_rows],
    'x_star': float(x_star), 'grad_x_star': float(gradf(x_star)), 'hess_x_star': float(hessf(x_star)),
    'x10': float(x10), 'grad_x10': float(gradf(x10)),
    'xs_long': [float(v) for v in xs_long],
    'res_2d': ['%f' % float(v) for v in res_2d[-1]], 'res_2d_len': len(res_2d),
    'torch_vs_scratch_2d': torch_vs_scratch_2d,
    'noise_floor': {str(k): [float(a), float(b)] for k, (a, b) in noise_floor.items()},
    'sgd_const': [float(v) for v in res_sgd_const[-1]], 'sgd_const_len': len(res_sgd_const),
    'sgd_exp': [float(v) for v in res_sgd_exp[-1]], 'sgd_exp_len': len(res_sgd_exp),
    'sgd_poly': [float(v) for v in res_sgd_poly[-1]], 'sgd_poly_len': len(res_sgd_poly),
    'features': list(features.shape), 'labels': list(labels.shape),
    'histories': {name: [list(map(float, h[0])), list(map(float, h[1]))]
                  for name, h in [('gd', gd_res), ('sgd', sgd_res), ('b10', mini10_res), ('b100', mini100_res)]},
    'curves': {name: [list(map(float, t)), list(map(float, l))] for name, (t, l) in curves.items()},
    'torch_vs_scratch_sgd': torch_vs_scratch_sgd,
    'torch_sgd_end': [float(v) for v in x.detach().numpy()],
}
print(json.dumps(out))
"""

# The learner's own knobs: eta of the from-scratch rule, the noise and the three schedules.
EXPLORER_CHECK = r"""
import json, io, contextlib
import numpy as _np
_out = {}
def _moved(ex, **values):
    before = _np.array(ex.trajectory, dtype=float).copy()
    frame = ex.frame
    ex.set(**values)
    ex.update()
    after = _np.array(ex.trajectory, dtype=float)
    return bool(before.shape != after.shape or not _np.allclose(before, after)) and frame != ex.frame
_out['ex_1d_lr'] = float(ex_1d.controls['lr'].value)
_out['ex_1d_moves'] = _moved(ex_1d, lr=0.75)
_out['ex_1d_osc'] = [float(v) for v in ex_1d.trajectory]
ex_1d.set(lr=1.1); ex_1d.update()
_out['ex_1d_big'] = [float(ex_1d.trajectory[-1]), ex_1d.readout]
_out['ex_2d_eta'] = float(ex_2d.controls['eta'].value)
_out['ex_2d_objective'] = [float(v) for v in ex_2d.objective.grad((1.0, 1.0))]
_out['ex_2d_start'] = [float(v) for v in ex_2d.trajectory[0]]
_out['ex_2d_end'] = ['%f' % v for v in ex_2d.trajectory[-1]]
_out['ex_2d_moves'] = _moved(ex_2d, eta=0.55)
_out['ex_2d_diverges_0_55'] = [ex_2d.diverged_at, ex_2d.left_view_at, ex_2d.readout]
_out['ex_sgd_controls'] = sorted(ex_sgd.controls)
_out['ex_sgd_schedule'] = ex_sgd.controls['schedule'].value
_ends = {}
for _s in ('constant', 'exponential', 'polynomial'):
    ex_sgd.set(schedule=_s); ex_sgd.update()
    _ends[_s] = [float(v) for v in ex_sgd.trajectory[-1]]
_out['ex_sgd_ends'] = _ends
_out['ex_sgd_noise_moves'] = _moved(ex_sgd, noise=0.3)
# the exercise checks, fed with what the notebook's own code computes
import d2lmini as _d2l
_checks = {}
for _name, _call in [('thr_ok', lambda: _d2l.check('gradient_descent.thresholds', 1 / 6, 1 / 3)),
                     ('thr_bad', lambda: _d2l.check('gradient_descent.thresholds', 0.5, 1.0)),
                     ('valley_ok', lambda: _d2l.check('gradient_descent.deep_valley', 0.2)),
                     ('valley_bad', lambda: _d2l.check('gradient_descent.deep_valley', 2.0)),
                     ('noise_ok', lambda: _d2l.check('gradient_descent.noise_floor', stationary_f(0.2))),
                     ('noise_bad', lambda: _d2l.check('gradient_descent.noise_floor', 0.1)),
                     ('sum_ok', lambda: _d2l.check('gradient_descent.sum_loss_lr', 0.004)),
                     ('sum_bad', lambda: _d2l.check('gradient_descent.sum_loss_lr', 40)),
                     ('odd_ok', lambda: _d2l.check('gradient_descent.odd_steps', run_gd(1.1, steps=11)[-1])),
                     ('odd_bad', lambda: _d2l.check('gradient_descent.odd_steps', 74.3))]:
    _buf = io.StringIO()
    with contextlib.redirect_stdout(_buf):
        _result = _call()
    _checks[_name] = [_result, _buf.getvalue()]
# the numbers of the worked answers, recomputed with the notebook's functions
_ends = {e: run_gd(e, grad=gradf, x=10.0, steps=100)[-1] for e in _np.round(_np.arange(0.01, 2.0, 0.01), 2)}
_deep = [e for e, v in _ends.items() if abs(v - 7.2694) < 1e-2]
_out['valley'] = {'lo': float(min(_deep)), 'hi': float(max(_deep)), 'contiguous': len(_deep) == round((max(_deep) - min(_deep)) / 0.01) + 1,
                  'slope_10': float(gradf(10.0)), 'first_step_2': float(10 - 2 * gradf(10.0)),
                  'end_0.2': float(_ends[0.2]), 'end_0.01': float(_ends[0.01]), 'end_2': float(run_gd(2.0, grad=gradf, x=10.0, steps=100)[-1]),
                  'curvature': float(hessf(bisect(gradf, 7.0, 7.5)))}
_out['stationary_0.2'] = stationary_f(0.2)
_out['checks'] = _checks
print(json.dumps(_out))
"""


@pytest.fixture(scope="module")
def run():
    return nbrun.run_notebook(NAME, {"numbers": NUMBERS, "explore": EXPLORER_CHECK})


def test_house_style(run):
    nb, _, _ = run
    nbrun.check_house_style(nb, '# Descend ', min_checks=5, slug='gradient_descent')


def test_condition_number_defined_before_use(run):
    # issue 15, point 13: kappa is defined (as the condition number) where it first appears
    nb, _, _ = run
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    first = md.index("\\kappa")
    sentence = md[max(0, first - 200):first + 80]
    assert "condition number" in sentence and "L_{\\max}/L_{\\min}" in sentence
    assert "\\kappa = 4/2 = 2" in sentence


def test_no_warnings_or_errors(run):
    nb, _, _ = run
    nbrun.check_clean_outputs(nb)


def test_classic_1d_numbers(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["res"] == "0.06046617599999997"
    assert n["res_small"] == "3.4867844009999995"
    assert n["res_big"] == "61.917364224000096"
    assert n["res_xcos"] == "-1.528165927635083"
    assert n["res_len"] == [11, 11, 11, 11]
    text = nbrun.all_text(nb)
    for value in ("0.06046617599999997", "3.4867844009999995", "61.917364224000096", "-1.528165927635083"):
        assert f"epoch 10, x: {value}\n" in text, value
    # the closed form of the text: x_10 = 10 (1 - 2 eta)^10
    assert float(n["res_big"]) == pytest.approx(10 * 1.2 ** 10, rel=1e-12)


def test_thresholds_1_over_L_and_2_over_L(run):
    nb, r, _ = run
    rows = {e: (q, x, k) for e, q, x, k in r["numbers"]["thresholds"]}
    assert rows[0.5][1] == 0.0 and rows[0.5][2] == "one step to the minimum"  # eta = 1/L
    assert rows[1.0][0] == -1.0 and abs(rows[1.0][1]) == 10.0 and rows[1.0][2] == "bounces forever"  # 2/L
    assert rows[0.2][2] == "creeps in from one side" and 0 < rows[0.2][1] < 10
    assert rows[0.6][2] == rows[0.9][2] == "oscillates, converges" and abs(rows[0.9][1]) < 10
    assert rows[1.1][2] == "oscillates, diverges" and abs(rows[1.1][1]) > 10
    for e, (q, x, k) in rows.items():
        assert q == pytest.approx(1 - 2 * e)
        assert x == pytest.approx(10 * q ** 10, abs=1e-9)
    text = nbrun.all_text(nb)
    assert "gd, lr = 0.5: after 10 steps x = 0, f(x) = 0" in text
    assert "gd, lr = 1: after 10 steps x = 10, f(x) = 100" in text
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "1/L" in md and "2/L" in md


def test_local_minimum_oscillation(run):
    nb, r, _ = run
    n = r["numbers"]
    assert "%.4f" % n["x_star"] == "-1.8257"
    assert abs(n["grad_x_star"]) < 1e-10 and n["hess_x_star"] > 0
    assert n["x10"] == float(n["res_xcos"])
    assert n["grad_x10"] == pytest.approx(0.2768, abs=1e-4)  # not a stationary point
    xs = n["xs_long"]
    assert xs[10] == n["x10"]
    signs = [x > n["x_star"] for x in xs[3:]]
    assert all(a != b for a, b in zip(signs, signs[1:])), "the iterates alternate around x*"
    assert abs(xs[10] - n["x_star"]) > 0.2
    assert abs(xs[200] - n["x_star"]) < 1e-4
    q = 1 - 2 * n["hess_x_star"]
    assert -1 < q < -0.95
    assert "oscillation" in nbrun.all_text(nb) or "oscillation" in "\n".join(
        c.source for c in nb.cells if c.cell_type == "markdown")


def test_2d_gradient_descent(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["res_2d"] == ["-0.057646", "-0.000073"]
    assert n["res_2d_len"] == 21
    assert "epoch 20, x1: -0.057646, x2: -0.000073" in nbrun.all_text(nb)
    assert n["torch_vs_scratch_2d"] < 1e-12
    assert float(n["res_2d"][0]) == pytest.approx(-5 * 0.8 ** 20, abs=1e-6)


def test_sgd_and_schedules(run):
    _, r, _ = run
    n = r["numbers"]
    assert n["sgd_const_len"] == 51 and n["sgd_exp_len"] == 1001 and n["sgd_poly_len"] == 51
    floors = n["noise_floor"]
    values = [floors[k][0] for k in sorted(floors, key=float)]
    assert values == sorted(values), "the noise floor grows with eta"
    for sim, theory in floors.values():
        assert sim == pytest.approx(theory, rel=0.05)
    # exponential decay stops too early: x1 is still far from 0 after 1000 steps
    assert abs(n["sgd_exp"][0]) > 0.3
    # torch.optim.SGD + LambdaLR makes the same run as sgd_2d with polynomial_lr
    assert n["torch_vs_scratch_sgd"] < 1e-12
    assert n["torch_sgd_end"] == pytest.approx(n["sgd_poly"], abs=1e-12)


def test_printouts_in_d2l_format(run):
    # the chapter's own printouts use d2l-en's train_2d format, with colons
    nb, r, _ = run
    n = r["numbers"]
    text = nbrun.all_text(nb)
    assert text.count("epoch 20, x1: -0.057646, x2: -0.000073\n") == 2  # train_2d and torch.optim.SGD
    assert "epoch 50, x1: %f, x2: %f\n" % tuple(n["torch_sgd_end"]) in text
    assert not re.search(r"x1 -?\d", text), "an old-format line 'x1 %f' is left"


def test_scheduler_and_clipping_moved_to_the_schedules_chapter(run):
    nb, _, _ = run
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for gone in ("clip_grad_norm_", "clip_grad_value_", "StepLR", "CosineAnnealingLR", "ExponentialLR"):
        assert gone not in code, gone
    assert "gradient_descent.clipping" not in code
    assert "The schedules chapter" in md and "gradient clipping" in md  # the forward reference


def test_minibatch_sgd(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["features"] == [1500, 5] and n["labels"] == [1500]
    h = n["histories"]
    assert len(h["gd"][0]) == 6 and len(h["gd"][1]) == 7
    for name in ("sgd", "b10", "b100"):
        assert len(h[name][0]) == 2 and len(h[name][1]) == 31, name
    for name, (times, ls) in h.items():
        assert abs(ls[0] - 0.49) < 0.02, name
        assert 0.2416 <= ls[-1] < 0.26, (name, ls[-1])
        assert all(b >= a for a, b in zip(times, times[1:])) and times[0] > 0
    for name, (t, ls) in n["curves"].items():
        assert len(t) == len(ls) and min(t) > 0, name
        assert all(b >= a for a, b in zip(t, t[1:])), name
    lines = re.findall(r"loss: (0\.\d{6}), [\d.]+ sec per epoch\n", nbrun.all_text(nb))
    assert len(lines) == 5  # four train_ch7 runs and train_pytorch_ch7
    assert 0.2416 <= float(lines[-1]) < 0.27


def test_explorers_answer(run):
    _, r, _ = run
    nbrun.check_explorers(r, minimum=4)
    e = r["explore"]
    assert e["ex_1d_lr"] == 0.2
    assert e["ex_1d_moves"]
    osc = e["ex_1d_osc"]
    assert all((a > 0) != (b > 0) for a, b in zip(osc[1:], osc[2:])), "eta = 0.75 oscillates"
    assert "left the view" in e["ex_1d_big"][1] or "diverged" in e["ex_1d_big"][1]
    assert e["ex_2d_eta"] == 0.1
    assert e["ex_2d_objective"] == [2.0, 4.0]  # kappa = 2 is x1^2 + 2 x2^2
    assert e["ex_2d_start"] == [-5.0, -2.0]
    assert e["ex_2d_end"] == ["-0.057646", "-0.000073"]  # the explorer runs the same steps
    assert e["ex_2d_moves"]
    assert "noise" in e["ex_sgd_controls"] and "schedule" in e["ex_sgd_controls"]
    assert e["ex_sgd_schedule"] == "constant"
    ends = e["ex_sgd_ends"]
    assert len({tuple(v) for v in ends.values()}) == 3
    assert e["ex_sgd_noise_moves"]


def test_exercise_checks(run):
    _, r, _ = run
    c = r["explore"]["checks"]
    for name in ("thr", "valley", "noise", "sum", "odd"):
        assert c[f"{name}_ok"][0] is True and c[f"{name}_ok"][1].startswith("Right"), (name, c[f"{name}_ok"])
        assert c[f"{name}_bad"][0] is False and c[f"{name}_bad"][1].startswith("Not quite"), (name, c[f"{name}_bad"])
    assert "thresholds of x^2" in c["thr_bad"][1]
    assert "another valley" in c["valley_bad"][1]


def test_worked_answers_numbers(run):
    _, r, _ = run
    v = r["explore"]["valley"]
    # "Any eta from about 0.03 to 1.08 works"
    assert v["lo"] == 0.03 and v["hi"] == 1.08 and v["contiguous"]
    # "f'(10) = 1.5 pi = 4.71", "at eta = 2 that is 0.58", "ends in the shallow valley near -1.83"
    assert v["slope_10"] == pytest.approx(1.5 * 3.141592653589793, abs=1e-9)
    assert round(v["first_step_2"], 2) == 0.58
    assert round(v["end_2"], 2) == -1.82 or round(v["end_2"], 2) == -1.83
    # "eta = 0.2 ends at 7.269388", "at eta = 0.01 ... still at 7.67", "f''(x*) = 1.81", "2/1.81 = 1.10"
    assert "%.6f" % v["end_0.2"] == "7.269388" and round(v["end_0.01"], 2) == 7.67
    assert round(v["curvature"], 2) == 1.81 and round(2 / v["curvature"], 2) == 1.10
    # "stationary_f(0.2) agrees to within about 1 %" with 0.1458
    assert r["explore"]["stationary_0.2"] == pytest.approx(0.2 / 3.2 + 0.2 / 2.4, rel=0.015)

"""Chapter 2 (Newton's method): run the notebook in a real kernel, check its numbers and claims."""
import math
import re

import pytest

import nbrun

pytestmark = pytest.mark.notebook

NAME = "03_newton.ipynb"

NUMBERS = r"""
import json
fl = lambda seq: [float(v) for v in seq]
out = {
    'res_cosh': fl(res_cosh), 'res_newton': fl(res_newton), 'res_damped': fl(res_damped),
    'x_min': float(x_min), 'C': float(C), 'err_newton': fl(err_newton), 'err_damped': fl(err_damped),
    'err_gd': fl(err_gd), 'ratios': fl(ratios),
    'hess_newton_end': float(hessf(res_newton[-1])), 'grad_newton_end': float(gradf(res_newton[-1])),
    'hess_damped_end': float(hessf(res_damped[-1])), 'grad_damped_end': float(gradf(res_damped[-1])),
    'hess_path': [float(hessf(v)) for v in res_newton[:4]],
    'res_abs': fl(res_abs), 'res_reg': fl(res_reg),
    'fix_ends': {name: [float(r[-1]), float(gradf(r[-1])), float(hessf(r[-1]))]
                 for name, r in [('abs', res_abs), ('reg', res_reg)]},
    'res_gd_2d': ['%f' % float(v) for v in res_gd_2d[-1]],
    'res_newton_2d': [fl(p) for p in res_newton_2d],
    'x_one_step': fl(x_one_step), 'x_torch': fl(x_torch.tolist()), 'H_torch': H.tolist(),
    'lbfgs_end': fl(lbfgs_end), 'lbfgs_iterations': int(lbfgs_iterations),
    'steps_table': {k: list(v) for k, v in steps_table.items()},
    'res_ls': fl(res_ls), 'steps_ls': fl(steps_ls),
    'res_newton_ls': fl(res_newton_ls), 'steps_newton_ls': fl(steps_newton_ls),
    'f_ls_2d': [float(f_2d(a, b)) for a, b in res_ls_2d], 'steps_2d': fl(steps_2d),
    'cg_points': [fl(p) for p in cg_points],
    'cubic_law': fl(cubic_law), 'spacing_e7': float(spacing_e7),
}
try:
    backtracking(f, gradf, res_newton[2], -gradf(res_newton[2]) / hessf(res_newton[2]))
    out['ascent_refused'] = False
except ValueError:
    out['ascent_refused'] = True
print(json.dumps(out))
"""

EXPLORER_CHECK = r"""
import json, io, contextlib
import numpy as _np
_out = {}
_out['ex_newton_start'] = [ex_newton.controls['method'].value, float(ex_newton.controls['lr'].value),
                           bool(ex_newton.controls['show_model'].value)]
_out['ex_newton_end'] = float(ex_newton.trajectory[-1])
_x, _y = ex_newton.model_line.get_data()
_out['model_points'] = int(_np.isfinite(_np.asarray(_y, dtype=float)).sum())
_before, _frame = ex_newton.trajectory.copy(), ex_newton.frame
ex_newton.set(lr=0.5); ex_newton.update()
_out['ex_newton_damped'] = [float(ex_newton.trajectory[-1]), bool(_frame != ex_newton.frame)]
ex_newton.set(method="newton |f''|", lr=1.0); ex_newton.update()
_out['ex_newton_abs'] = float(ex_newton.trajectory[-1])
_out['race_labels'] = list(race.labels)
_out['race_ends'] = {k: [float(a) for a in v[-1]] for k, v in race.trajectory.items()}
_out['race_len'] = {k: len(v) for k, v in race.trajectory.items()}
_r0 = _np.array(race.trajectory['GD'], dtype=float).copy()
race.set(**{'GD.lr': 0.2}); race.update()
_out['race_gd_moved'] = bool(_r0.shape != race.trajectory['GD'].shape or not _np.allclose(_r0, race.trajectory['GD']))
race.set(objective='rotated'); race.update()
_out['race_rotated_ends'] = {k: [float(a) for a in v[-1]] for k, v in race.trajectory.items()}
import d2lmini as _d2l
_checks = {}
_x = 13.0
for _ in range(4):                       # the worked answer: four Newton steps from 13
    _x = _x - gradf(_x) / hessf(_x)
_out['stationary'] = [_x, float(gradf(_x)), float(hessf(_x)), float(f(_x))]
_lse = lambda x: np.log(np.exp(x) + np.exp(-2 * x - 3))
_dlse = lambda x: (np.exp(x) - 2 * np.exp(-2 * x - 3)) / (np.exp(x) + np.exp(-2 * x - 3))
_xl, _ts = 2.0, []
for k in range(7):                       # the worked answer's snippet, with the notebook's backtracking
    _t = backtracking(_lse, _dlse, _xl, -_dlse(_xl))
    _ts.append(_t)
    _xl = _xl - _t * _dlse(_xl)
_out['lse'] = [float(_xl), _ts]
for _name, _call in [('steps_ok', lambda: _d2l.check('newton.steps', 1, 10)),
                     ('steps_bad', lambda: _d2l.check('newton.steps', 1, 9)),
                     ('stat_ok', lambda: _d2l.check('newton.stationary_point', _x, 'max')),
                     ('stat_bad', lambda: _d2l.check('newton.stationary_point', _x, 'min')),
                     ('lse_ok', lambda: _d2l.check('newton.logsumexp_minimum', _xl)),
                     ('lse_bad', lambda: _d2l.check('newton.logsumexp_minimum', 0.0)),
                     ('cubic_ok', lambda: _d2l.check('newton.cubic_constant', res_cosh[7] / res_cosh[6] ** 3)),
                     ('cubic_bad', lambda: _d2l.check('newton.cubic_constant', 1 / 24))]:
    _buf = io.StringIO()
    with contextlib.redirect_stdout(_buf):
        _result = _call()
    _checks[_name] = [_result, _buf.getvalue()]
_out['checks'] = _checks
print(json.dumps(_out))
"""


@pytest.fixture(scope="module")
def run():
    return nbrun.run_notebook(NAME, {"numbers": NUMBERS, "explore": EXPLORER_CHECK})


def _markdown(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_house_style(run):
    nb, _, _ = run
    nbrun.check_house_style(nb, '# Follow ', min_checks=4, slug='newton')


def test_no_warnings_or_errors(run):
    nb, _, _ = run
    nbrun.check_clean_outputs(nb)


def test_cosh_converges(run):
    nb, r, _ = run
    xs = r["numbers"]["res_cosh"]
    assert xs[-1] == 0.0
    assert ["%.6g" % v for v in xs[:8]] == ["10", "8.00018", "6.00152", "4.0114", "2.08254", "0.525763",
                                            "0.0117856", "1.36416e-07"]
    assert "%.3g" % xs[8] == "1.85e-22"
    assert "epoch 10, x: 0.0\n" in nbrun.all_text(nb)
    # cubic near 0 for cosh: e_(k+1) ~ e_k^3 / 12
    assert xs[7] / xs[6] ** 3 == pytest.approx(1 / 12, rel=0.02)


def test_quadratic_convergence(run):
    nb, r, _ = run
    n = r["numbers"]
    assert "%.6f" % n["x_min"] == "7.269388"
    assert n["C"] == pytest.approx(0.1175, abs=1e-4)
    for ratio in n["ratios"][1:]:
        assert ratio == pytest.approx(n["C"], rel=0.01)
    e = n["err_newton"]
    assert e[3] < 1e-12 and e[4] == 0.0
    d = n["err_damped"]
    assert d[20] / d[19] == pytest.approx(0.5, abs=1e-3)   # linear, factor 1 - eta
    g = n["err_gd"]
    assert g[20] / g[19] == pytest.approx(1 - 0.2 * 1.813712, abs=1e-3)
    assert "quadratic convergence" in _markdown(nb).lower()


def test_negative_curvature_and_damped_newton(run):
    nb, r, _ = run
    n = r["numbers"]
    assert repr(n["res_newton"][-1]) == "26.83413291324767"
    assert repr(n["res_damped"][-1]) == "7.269860168684531"
    text = nbrun.all_text(nb)
    assert "epoch 10, x: 26.83413291324767\n" in text
    assert "epoch 10, x: 7.269860168684531\n" in text
    # 26.834...: f' = 0 but f'' < 0, a local maximum
    assert abs(n["grad_newton_end"]) < 1e-12 and n["hess_newton_end"] == pytest.approx(-6.0147, abs=1e-4)
    assert n["hess_path"][2] < 0 < n["hess_path"][1]
    assert "local MAXIMUM" in text
    # 7.2698...: a local minimum (f'' > 0) not yet converged (f' != 0)
    assert n["hess_damped_end"] == pytest.approx(1.8139, abs=1e-4)
    assert n["grad_damped_end"] == pytest.approx(8.56e-4, abs=1e-6)
    assert abs(n["res_damped"][-1] - n["x_min"]) == pytest.approx(4.72e-4, abs=1e-5)
    md = _markdown(nb)
    assert "is a local maximum" in md and "not converged" in md


def test_fixes_reach_minima(run):
    _, r, _ = run
    ends = r["numbers"]["fix_ends"]
    for name, (x, grad, hess) in ends.items():
        assert abs(grad) < 1e-8 and hess > 0, name
    assert ends["abs"][0] == pytest.approx(20.221875666520315, abs=1e-9)
    assert ends["reg"][0] == pytest.approx(r["numbers"]["x_min"], abs=1e-8)


def test_multivariate_newton(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["res_gd_2d"] == ["-0.943467", "-0.000073"]
    assert n["res_newton_2d"] == [[-5.0, -2.0], [0.0, 0.0]]
    text = nbrun.all_text(nb)
    assert "epoch 20, x1: -0.943467, x2: -0.000073" in text
    assert "epoch 1, x1: 0.000000, x2: 0.000000" in text
    assert n["x_one_step"] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert n["x_torch"] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert sum(n["H_torch"], []) == pytest.approx([0.2, 0.0, 0.0, 4.0])
    assert n["lbfgs_end"] == pytest.approx([1.0, 1.0], abs=1e-6)
    table = n["steps_table"]
    gd, diag, newton = table["d2l (axis-aligned)"]
    assert newton == 1 and diag == 1 and gd > 50
    gd, diag, newton = table["turned by 45 degrees"]
    assert newton == 1 and diag > 50 and gd > 50


def test_line_search(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["steps_ls"] == [0.55] * 10 and abs(n["res_ls"][-1]) < 1e-8
    assert n["steps_newton_ls"][:3] == [1.0, 0.125, 1.0]
    assert n["res_newton_ls"][-1] == pytest.approx(n["x_min"], abs=1e-12)
    fs = n["f_ls_2d"]
    assert all(b <= a for a, b in zip(fs, fs[1:])), "Armijo: f never increases"
    assert all(0 < t <= 1 for t in n["steps_2d"]) and len(n["steps_2d"]) == 20
    assert n["ascent_refused"]
    assert n["cg_points"][-1] == pytest.approx([0.0, 0.0], abs=1e-12)
    md = _markdown(nb)
    assert re.search(r"^## 8\..*line search.*Armijo", md, re.M | re.I)
    assert "Line search is not conjugate gradient" in md


def test_explorers_answer(run):
    _, r, _ = run
    nbrun.check_explorers(r, minimum=2)
    e = r["explore"]
    assert e["ex_newton_start"] == ["newton", 1.0, True]
    assert e["ex_newton_end"] == pytest.approx(26.83413291324767, abs=1e-9)
    assert e["model_points"] > 0
    damped, frame_changed = e["ex_newton_damped"]
    assert damped == pytest.approx(7.269860168684531, abs=1e-9) and frame_changed
    assert e["ex_newton_abs"] == pytest.approx(20.221875666520315, abs=1e-6)
    assert e["race_labels"] == ["GD", "diagonal", "Newton"]
    assert e["race_ends"]["Newton"] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert e["race_ends"]["GD"] == pytest.approx([-0.943467, -0.000073], abs=1e-6)
    assert e["race_gd_moved"]
    rot = e["race_rotated_ends"]
    assert rot["Newton"] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert max(abs(v) for v in rot["diagonal"]) > 0.1


def test_exercise_checks(run):
    _, r, _ = run
    c = r["explore"]["checks"]
    for name in ("steps", "stat", "lse", "cubic"):
        assert c[f"{name}_ok"][0] is True and c[f"{name}_ok"][1].startswith("Right"), (name, c[f"{name}_ok"])
        assert c[f"{name}_bad"][0] is False and c[f"{name}_bad"][1].startswith("Not quite"), (name, c[f"{name}_bad"])
    assert "1/512" in c["steps_bad"][1]
    # the worked answers' numbers: 13.660371 in four steps, f'' = -3.14, f = 13.50
    x, slope, curvature, value = r["explore"]["stationary"]
    assert "%.6f" % x == "13.660371" and abs(slope) < 1e-12
    assert round(curvature, 2) == -3.14 and round(value, 2) == 13.50
    # seven backtracking steps end at -0.7689509398, within 1e-10; t = 1 four times, 0.5 three times
    x_lse, ts = r["explore"]["lse"]
    assert "%.10f" % x_lse == "-0.7689509398" and abs(x_lse - (math.log(2) - 3) / 3) < 1e-10
    assert sorted(ts) == [0.5] * 3 + [1.0] * 4


def test_cubic_law_and_float64(run):
    # issue 15, point 9: the cubic law predicts 2.1e-22 at step 8; float64 gives 1.85e-22
    nb, r, _ = run
    n = r["numbers"]
    law, xs = n["cubic_law"], n["res_cosh"]
    assert abs(law[0] / xs[6] - 1) == pytest.approx(0.03, abs=0.005)      # off by 3 % at step 6
    assert "%.4g" % law[1] == "%.4g" % xs[7] == "1.364e-07"               # four digits at step 7
    assert "%.2g" % law[2] == "2.1e-22" and "%.3g" % xs[8] == "1.85e-22"
    assert "%.2g" % n["spacing_e7"] == "2.6e-23"
    assert round(xs[8] / n["spacing_e7"]) == 7 and round(law[2] / n["spacing_e7"]) == 8
    md = _markdown(nb)
    assert r"1.9\cdot 10^{-22}" not in md and r"1.9\cdot10^{-22}" not in md
    assert r"1.85\cdot 10^{-22}" in md and r"2.1\cdot10^{-22}" in md
    text = nbrun.all_text(nb)
    assert "e_8 = 1.853e-22   cubic law e_7^3 / 12 = 2.116e-22" in text


def test_no_source_articles(run):
    nb, _, _ = run
    assert "article" not in _markdown(nb).lower()
    assert "Tutorials often put" in _markdown(nb)

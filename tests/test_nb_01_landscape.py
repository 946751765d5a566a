"""The landscape chapter: run the notebook in a real kernel and check the numbers its text states."""
import math

import pytest

import nbrun

pytestmark = pytest.mark.notebook

NAME = "01_landscape.ipynb"

NUMBERS = r"""
import json
out = {
    'w_opt': float(w_opt), 'train_at_opt': float(train_loss(w_opt)), 'train_at_1': float(train_loss(1.0)),
    'risk_at_opt': float(risk(w_opt)),
    'stationary': [float(x) for x in stationary], 'curvatures': [float(d2f(x)) for x in stationary],
    'x_local': float(x_local), 'x_global': float(x_global), 'x_ridge': float(x_ridge),
    'f_local': float(f(x_local)), 'f_global': float(f(x_global)),
    'run_ends': {str(k): float(v[-1]) for k, v in runs.items()},
    'in_local': [float(in_local.min()), float(in_local.max()), int(len(in_local))],
    'in_global': [float(in_global.min()), float(in_global.max()), int(len(in_global))],
    'torch_vs_scratch': torch_vs_scratch,
    'cubic': [float(xs_cubic[k]) for k in (10, 100, 1000)], 'cubic_min': float(min(xs_cubic)),
    'H_saddle_eig': np.linalg.eigvalsh(H_saddle).tolist(),
    'verdicts': verdicts,
    'monkey_grad0': monkey.grad((0.0, 0.0)).tolist(), 'monkey_hess0': monkey.hess((0.0, 0.0)).tolist(),
    'monkey_minima': [[monkey.value(m)] + np.linalg.eigvalsh(monkey.hess(m)).tolist() for m in monkey.minima],
    'escape': {repr(d): list(v) for d, v in escape.items()},
    'plain_near': steps_near(plain_path), 'noisy_near': steps_near(noisy_path),
    'plain_end': plain_path[-1].tolist(), 'noisy_end': noisy_path[-1].tolist(),
    'plain_grad': float(np.linalg.norm(saddle.grad(plain_path[-1]))), 'plain_f': saddle.value(plain_path[-1]),
    'same_as_explorer': same_as_explorer,
    'stall': {repr(k): v for k, v in stall.items()},
    'ends_in_minimum': {repr((d, s)): int(sum(abs(abs(noisy_gd(saddle, (-1.8, d), sigma=s, seed=k)[-1, 1]) - 1) < 0.3
                                           for k in range(10))) for d in (0.0, 1e-3) for s in (0.0, 0.1, 0.5)},
    'random_hessians': {str(k): v for k, v in random_hessians.items()},
    'tanh4': float(tanh_slope(4.0)), 'tanh_x100': float(x_tanh_end),
    'chains': {name: [chain_gradient(*c, d) for d in (1, 5, 10, 20, 40)] for name, c in chains.items()},
    'autograd_vs_ours': autograd_vs_ours,
    'segment_max': max(quad.value((1 - s) * a_seg + s * b_seg) for s in np.linspace(0, 1, 101)),
    'chord_gap': chord_gap, 'jensen': jensen,
    'xcos_min_curv': float(d2f(np.linspace(-1, 2, 3001)).min()),
    'line_eig': np.linalg.eigvalsh(H_line).tolist(),
    'ends_line': ends_line.tolist(), 'ends_line_f': [float(f_line(e)) for e in ends_line],
    'mid_f': float(f_line(mid)),
    'bound_check': {repr(k): v for k, v in bound_check.items()},
    'huber': {str(k): v for k, v in huber.items()},
    'sgd_table': sgd_table, 'R': R, 'G': G,
}
print(json.dumps(out))
"""

# The exercise checks, with the notebook's own numbers where an answer refers to them.
CHECKS = r"""
import json, io, contextlib
_said = {}
for _name, _call in [
        ('classify', lambda: d2l.check('landscape.classify', a='saddle', b='maximum', c='undecided')),
        ('classify_wrong', lambda: d2l.check('landscape.classify', a='minimum', b='maximum', c='minimum')),
        ('jensen', lambda: d2l.check('landscape.jensen_gap', 7.0)),
        ('jensen_wrong', lambda: d2l.check('landscape.jensen_gap', 16.0)),
        ('gd_bound', lambda: d2l.check('landscape.gd_bound', at_50=0.36, steps_for_001=1800)),
        ('gd_bound_wrong', lambda: d2l.check('landscape.gd_bound', at_50=0.36, steps_for_001=1799)),
        ('sgd_step', lambda: d2l.check('landscape.sgd_step', eta=0.004, bound=0.1)),
        ('sgd_step_wrong', lambda: d2l.check('landscape.sgd_step', eta=2 / (5 * 10000), bound=0.1)),
        ('sigmoid_depth', lambda: d2l.check('landscape.sigmoid_depth', 10)),
        ('sigmoid_depth_wrong', lambda: d2l.check('landscape.sigmoid_depth', 9))]:
    _buf = io.StringIO()
    with contextlib.redirect_stdout(_buf):
        _result = _call()
    _said[_name] = [_result, _buf.getvalue()]
# worked answer 1, by the notebook's own test
_said['classified'] = [second_derivative_test(np.array(H)) for H in
                       ([[2, 3], [3, 2]], [[-3, 1], [1, -2]], [[4, 2], [2, 1]])]
# worked answer 6: Jensen's test on the notebook's random draws, for max and min of two parabolas
_said['max_min'] = {}
for _name, _fn in [('max', lambda v: np.maximum(v**2, (v - 2)**2)), ('min', lambda v: np.minimum(v**2, (v - 2)**2))]:
    _gap = (alphas * _fn(xs)).sum(axis=1) - _fn((alphas * xs).sum(axis=1))
    _said['max_min'][_name] = int(np.sum(_gap < -1e-12))
# worked answer 5 quotes the measured chain at depth 10 and its fixed point's slope
_h = 1.0
for _ in range(60):
    _h = sigmoid(_h)
_said['sigmoid_fixed_slope'] = float(dsigmoid(_h))
_said['chain10'] = chain_gradient(sigmoid, dsigmoid, 1.0, 10)
# the explorers: the saddle explorer's noise slider and objective dropdown
ex_saddle.set(noise=0.0)
_said['ex_plain_near'] = steps_near(ex_saddle.trajectory)
ex_saddle.set(objective='monkey')
_said['ex_monkey_end'] = ex_saddle.trajectory[-1].tolist()
_said['ex_monkey_fmin'] = ex_saddle.objective.fmin
_said['ex_minima_objective'] = ex_minima.objective.name
print(json.dumps(_said))
"""


@pytest.fixture(scope="module")
def run():
    return nbrun.run_notebook(NAME, {"numbers": NUMBERS, "checks": CHECKS})


def test_house_style(run):
    nb, _, _ = run
    nbrun.check_house_style(nb, "# Map ", min_checks=5, slug="landscape")
    nbrun.check_clean_outputs(nb)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "A common claim in tutorials" in md
    assert "article" not in md.lower()
    assert nb.metadata["d2lmini"]["minutes"] == 50


def test_training_loss_is_not_the_risk(run):
    _, r, _ = run
    n = r["numbers"]
    assert n["train_at_opt"] < n["train_at_1"] and n["risk_at_opt"] > 1.0  # risk(1) = 1 is the least


def test_local_and_global_minima(run):
    nb, r, _ = run
    n = r["numbers"]
    assert [round(x, 6) for x in n["stationary"]] == [-0.273853, 0.273853, 1.090408]
    assert [c > 0 for c in n["curvatures"]] == [True, False, True]
    assert round(n["x_local"], 6) == -0.273853 and round(n["x_global"], 6) == 1.090408
    assert n["x_ridge"] == pytest.approx(-n["x_local"], abs=1e-12)      # f is odd
    assert n["f_global"] < n["f_local"] < 1.0                            # the ends: f(-1) = 1, f(2) = 2
    assert round(n["f_global"], 6) == -1.046721 and round(n["f_local"], 6) == -0.178603
    assert round(n["curvatures"][2], 2) == 12.09 and "0.1654" in nbrun.all_text(nb)
    assert n["run_ends"]["-0.9"] == pytest.approx(n["x_local"], abs=1e-9)
    assert n["run_ends"]["1.8"] == pytest.approx(n["x_global"], abs=1e-9)
    assert n["torch_vs_scratch"] < 1e-12
    # the basins: left of the maximum -> local, right of it -> global, every start accounted for
    assert n["in_local"][:2] == [-1.0, 0.27] and n["in_global"][:2] == [0.28, 2.0]
    assert n["in_local"][2] + n["in_global"][2] == 301
    assert n["in_local"][1] < n["x_ridge"] < n["in_global"][0]


def test_saddles_and_the_second_derivative_test(run):
    _, r, _ = run
    n = r["numbers"]
    # x^3: x_k ~ 1/(0.3 k), ten times more steps -> ten times closer, never past 0
    for x, k in zip(n["cubic"], (10, 100, 1000)):
        assert 0.6 < x * 0.3 * k < 1.0
    assert 9 < n["cubic"][1] / n["cubic"][2] < 10.5 and n["cubic_min"] > 0
    assert sorted(math.copysign(1, e) for e in n["H_saddle_eig"]) == [-1, 1]
    assert {k: v[0] for k, v in n["verdicts"].items()} == dict.fromkeys(n["verdicts"], "undecided")
    assert {k: v[1] for k, v in n["verdicts"].items()} == {
        "x1^2 + x2^4": "minimum", "x1^2 - x2^4": "saddle", "-x1^2 - x2^4": "maximum", "monkey saddle": "saddle"}
    assert n["monkey_grad0"] == [0.0, 0.0] and n["monkey_hess0"] == [[0.0, 0.0], [0.0, 0.0]]
    for value, e1, e2 in n["monkey_minima"]:
        assert value == pytest.approx(-0.25, abs=1e-12)
        assert (e1, e2) == (pytest.approx(3.0, abs=1e-9), pytest.approx(9.0, abs=1e-9))


def test_escape_times(run):
    _, r, _ = run
    esc = {float(k): v for k, v in r["numbers"]["escape"].items()}
    strict = [esc[d][0] for d in (1e-1, 1e-2, 1e-3)]
    monkey = [esc[d][1] for d in (1e-1, 1e-2, 1e-3)]
    per_decade = math.log(10) / math.log(1.1)            # about 24 extra steps per tenfold
    for a, b in zip(strict, strict[1:]):
        assert abs((b - a) - per_decade) <= 1.5
    for k, d in zip(monkey, (1e-1, 1e-2, 1e-3)):
        assert 0.9 < k * 0.3 * d < 1.2                   # about 1/(3 lr d)
    assert all(m > s for m, s in zip(monkey, strict)) and monkey[2] > 40 * strict[2]


def test_stalling_near_the_saddle_and_noise(run):
    _, r, _ = run
    n = r["numbers"]
    assert n["same_as_explorer"] == 0.0
    assert n["plain_near"] >= 180 and n["noisy_near"] < n["plain_near"]
    assert n["plain_grad"] < 1e-12 and abs(n["plain_f"]) < 1e-12               # converged to the saddle
    assert abs(abs(n["noisy_end"][1]) - 1) < 0.3                                # left it for a minimum
    stall = {eval(k): v for k, v in n["stall"].items()}
    ends = {eval(k): v for k, v in n["ends_in_minimum"].items()}
    for d in (0.0, 1e-3):
        plain = stall[(d, 0.0)]
        assert len(set(plain)) == 1                                             # no noise: one run
        assert all(c < plain[0] for c in stall[(d, 0.5)])                        # every noisy seed leaves sooner
        assert ends[(d, 0.5)] == 10
        assert sum(stall[(d, 0.1)]) > sum(stall[(d, 0.5)])                       # sigma 0.1 helps less
    assert ends[(0.0, 0.0)] == 0 and ends[(1e-3, 0.0)] == 10
    assert stall[(0.0, 0.0)][0] >= 180 and 20 <= stall[(1e-3, 0.0)][0] <= 80     # "almost all" / "a few dozen"
    assert max(stall[(1e-3, 0.1)]) > stall[(1e-3, 0.0)][0]                       # one seed lingers longer


def test_random_hessians(run):
    _, r, _ = run
    rh = {int(k): v for k, v in r["numbers"]["random_hessians"].items()}
    for k, (one, all_) in rh.items():
        assert 0.48 < one < 0.52
        if k >= 2:
            assert all_ < 0.75 * 0.5**k
    assert rh[1][1] == pytest.approx(0.5, abs=0.02)
    assert rh[5][1] < 0.5**5 / 100                                              # far less often
    ratios = [rh[k][1] / 0.5**k for k in range(1, 6)]
    assert all(b < a for a, b in zip(ratios, ratios[1:]))                        # the gap widens


def test_vanishing_gradients(run):
    _, r, _ = run
    n = r["numbers"]
    assert round(n["tanh4"], 4) == 0.0013
    assert 0.1 < 4 - n["tanh_x100"] < 0.2
    sig, tanh, relu = (n["chains"][k] for k in ("sigmoid, w = 1", "tanh, w = 3", "ReLU, w = 1"))
    assert 1 / sig[2] > 3e6 and sig[2] < 1e-6                                     # ten sigmoid layers
    assert tanh[3] < 1e-30                                                        # twenty saturated tanh layers
    assert relu == [1.0] * 5
    assert all(b < a for a, b in zip(sig, sig[1:]))
    assert n["autograd_vs_ours"] < 1e-12


def test_convexity(run):
    _, r, _ = run
    n = r["numbers"]
    assert n["segment_max"] <= 1.0
    assert n["chord_gap"]["x^2/2"] <= 1e-12 and n["chord_gap"]["softplus"] <= 1e-12
    assert 0.7 < n["chord_gap"]["x cos(pi x)"] < 0.78
    for name in ("x^2", "exp(x)", "|x|", "softplus"):
        smallest, violations = n["jensen"][name]
        assert violations == 0 and smallest > -1e-12
    assert n["jensen"]["x cos(pi x)"][1] > 1000
    assert n["xcos_min_curv"] < 0
    assert n["line_eig"] == [pytest.approx(0.0, abs=1e-12), pytest.approx(4.0)]
    ends = n["ends_line"]
    assert all(v < 1e-20 for v in n["ends_line_f"]) and n["mid_f"] < 1e-20
    assert all(abs(e[0] + e[1] - 1) < 1e-12 for e in ends)
    assert min(math.dist(a, b) for i, a in enumerate(ends) for b in ends[i + 1:]) > 0.1   # five different ends


def test_gradient_descent_bound(run):
    _, r, _ = run
    n = r["numbers"]
    for eta, (broken, worst, last) in n["bound_check"].items():
        assert broken == 0 and 0 < worst < 0.2 and last <= worst
    for T, value in n["huber"].items():
        T = int(T)
        assert value == pytest.approx(1 / (4 * T + 2), rel=1e-9)
        assert value < 1 / (2 * T) and value * 2 * T < 0.5                     # just under half the bound
    assert n["huber"]["1000"] * 2000 > 0.49


def test_sgd_bound(run):
    _, r, _ = run
    n = r["numbers"]
    t = n["sgd_table"]
    R, G = n["R"], n["G"]
    assert R == pytest.approx(math.sqrt(13)) and G == 2.0
    assert all(row["mean"] < row["bound"] for row in t.values())
    for T in (10, 100, 1000, 10000):
        row = t[f"tuned, T = {T}"]
        assert row["bound"] == pytest.approx(R * G / math.sqrt(T), rel=1e-9)
        assert 0.45 < row["mean"] / row["bound"] < 0.75
    assert 8 < t["tuned, T = 100"]["mean"] / t["tuned, T = 10000"]["mean"] < 15
    assert t["tuned, T = 10"]["above"] > 0 and t["c / (t+1)"]["above"] > 0
    assert t["c / (t+1)"]["mean"] > 10 * t["c / sqrt(t+1)"]["mean"]
    assert t["c / (t+1)"]["last"] < 0.01
    assert t["c / sqrt(t+1)"]["bound"] < t["c / (t+1)"]["bound"]
    assert t["constant 0.5"]["bound"] == pytest.approx(1.0, abs=0.01)
    assert 0.8 < t["constant 0.5"]["last"] < 1.2 and t["constant 0.5"]["mean"] < 0.1 * t["constant 0.5"]["last"]
    slow = t["0.1 * 0.9^t"]
    assert slow["total"] == pytest.approx(1.0, abs=1e-6) and slow["last"] > 2.0


def test_exercise_checks(run):
    _, r, _ = run
    c = r["checks"]
    for name in ("classify", "jensen", "gd_bound", "sgd_step", "sigmoid_depth"):
        assert c[name][0] is True and c[name][1].startswith("Right"), (name, c[name])
        assert c[name + "_wrong"][0] is False and c[name + "_wrong"][1].startswith("Not quite"), name
    assert "diagonal" in c["classify_wrong"][1] and "determinant" in c["classify_wrong"][1]
    assert "just above 0.01" in c["gd_bound_wrong"][1]
    assert "1/sqrt(T)" in c["sgd_step_wrong"][1]
    assert c["classified"] == ["saddle", "maximum", "undecided"]
    assert c["max_min"]["max"] == 0 and c["max_min"]["min"] > 0
    assert round(c["chain10"], 8) == 2.8e-7 and round(c["sigmoid_fixed_slope"], 2) == 0.22


def test_explorers(run):
    _, r, _ = run
    c = r["checks"]
    assert c["ex_plain_near"] >= 180
    assert c["ex_monkey_fmin"] == -0.25 and c["ex_minima_objective"] == "xcospi"
    assert math.dist(c["ex_monkey_end"], (0.5, math.sqrt(3) / 2)) < 1e-3         # the monkey's 60-degree valley
    nbrun.check_explorers(r, minimum=2)

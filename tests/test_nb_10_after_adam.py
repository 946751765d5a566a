"""The chapter after Adam: run the notebook in a real kernel and check its numbers and claims.

Every number the text states is read back from the kernel: the from-scratch rules against the
course's rules and torch.optim, Muon's Newton-Schulz against an SVD and against torch's bfloat16
run, the state counts, the races, and the digits sweeps (as relations over seeds where the text
compares optimizers; the sweeps are float64 and seeded, so their rounded values are stable).
"""
import re

import numpy as np
import pytest

import nbrun

pytestmark = pytest.mark.notebook

NAME = "10_after_adam.ipynb"

NUMBERS = r"""
import json
import numpy as _np
def _f(v):
    return float(v)
_out = {
    'showcase_f': showcase_f,
    'nadam': [nadam_vs_course, nadam_torch, nadam_torch32, nadam_loss],
    'mu': {str(k): v for k, v in mu_schedule.items()},
    'first_adaptive': first_adaptive,
    'rho': [rho(t) for t in (5, 6)], 'rect': [rect(t) for t in (5, 50, 100, 1000)],
    'radam': [radam_vs_course, radam_split, radam_torch, radam_loss],
    'radam_on_rosen': radam_on_rosen, 'rosen_grad': _f(_np.linalg.norm(rosen.grad(_np.array(rosen.start)))),
    'adamax': [adamax_vs_course, adamax_torch, _f(adamax_loss)],
    'adamax_zero': {k: [None if _np.isnan(v) else _f(v) for v in a] for k, a in adamax_zero.items()},
    'factored': [int(stored), int(G2.size), _f(rank1_err), _f(rel_err)],
    'adafactor': [adafactor_torch, _f(adafactor_loss), _f(step_1), _f(step_10)],
    'lion': [lion_vs_course, lion_steps.tolist()],
    'watch_lion': watch_lion.tolist(), 'watch_lion_sizes': lion_sizes.tolist(),
    'watch_lion_at': [race.controls['inspect'].value,
                      int(race.controls['step'].value), race.code_values.get('inspect')],
    'sf': [sf_vs_course, sf_final, _f(sf_recovery)],
    'ns_band': [_f(wide.min()), _f(wide.max()), _f(narrow.min()), _f(narrow.max()), _f(p5(1.0)), _f(p5(1e-4))],
    'ns': [ns_vs_course, ns_vs_svd, (S / _np.linalg.norm(D)).tolist(), S_ns.tolist(),
           _f(_np.linalg.norm(O - U @ Vt, 2))],
    'muon_vs_course': muon_vs_course, 'muon_loss': _f(muon_loss),
    'muon_errors': muon_errors.tolist(), 'muon_kappas': muon_kappas.tolist(), 'muon_worst_W': muon_worst_W,
    'muon_2d': (muon_step_lengths / 0.5).tolist(),
    'memory': memory, 'n_params': int(n_params),
    'ranking_d2l': ranking_d2l, 'final_d2l': {k: _f(v[-1]) for k, v in race.losses.items()},
    'ranking_rosen': ranking_rosen,
    'diverged_rosen': {k: v for k, v in race_rosen.diverged_at.items()},
    'findings': findings, 'cosine': cosine_findings, 'r_bar': r_bar, 'steps_total': int(steps_total),
    'lrs': {k: r.lrs.tolist() for k, r in results.items()},
    'means': {k: r.mean().tolist() for k, r in results.items()},
    'bands': {k: [b.tolist() for b in r.band()] for k, r in results.items()},
    'diverged': {k: r.n_diverged().tolist() for k, r in results.items()},
    'sf_y': sf_y.tolist(), 'sf_x': sf_x.tolist(), 'sf_lrs': sf.lrs.tolist(),
    'muon_net': [_f(s_B[0] / s_B[9]), _f(top_share), _f(s_O.min()), _f(s_O.max())],
    'adamw_lr': adamw_lr,
}
print(json.dumps(_out, default=float))
"""

EXERCISES = r"""
import io, json, contextlib
def _said(*args, **kwargs):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        result = d2l.check(*args, **kwargs)
    return [result, buf.getvalue()]
_G = np.array([[3.0, 0.0], [4.0, 5.0]])
_U, _S, _Vt = np.linalg.svd(_G)
_state = {}
d2l.rules.adafactor(np.zeros((40, 110)), np.ones((40, 110)), _state)
_both = sweep({'weight': 'muon', 'bias': ('adamw', {'lr': adamw_lr})}, adam_lrs)
_b = _both.best()
_rho_inf = 2 / (1 - 0.8) - 1
print(json.dumps({
    'ex1_right': _said('after_adam.nadam_mu', 0.9 * (1 - 0.5 * 0.96 ** 4)),
    'ex1_wrong': _said('after_adam.nadam_mu', 0.9),
    'ex2_right': _said('after_adam.radam_first_adaptive',
                       [t for t in range(1, 20) if _rho_inf - 2 * t * 0.8 ** t / (1 - 0.8 ** t) > 5][0]),
    'ex2_wrong': _said('after_adam.radam_first_adaptive', 5),
    'ex2_rho': [_rho_inf - 2 * t * 0.8 ** t / (1 - 0.8 ** t) for t in (5, 6, 7)],
    'ex3_right': _said('after_adam.adafactor_state', 4096 + 11008),
    'ex3_wrong': _said('after_adam.adafactor_state', 4096 * 11008),
    'ex3_small': int(_state['row_var'].size + _state['col_var'].size),
    'ex4_right': _said('after_adam.muon_vector_step',
                       float(np.linalg.norm(d2l.rules.muon(np.zeros(2), np.array([3.0, -1.0]), {}, lr=0.05, weight_decay=0.0)))),
    'ex4_wrong': _said('after_adam.muon_vector_step', 0.05),
    'ex5_right': _said('after_adam.spectral_steepest', float(_S.sum())),
    'ex5_wrong': _said('after_adam.spectral_steepest', float(np.linalg.norm(_G))),
    'ex5_values': [float(_S.sum()), float(np.sum(_G * (_U @ _Vt))), float(np.linalg.norm(_G)),
                   float(np.linalg.norm(np.sign(_G), 2))],
    'ex6': {'lr': float(_b['lr']), 'mean': _b['mean'], 'std': _b['std'],
            'lo': float(_both.band()[0][_b['index']]), 'hi': float(_both.band()[1][_b['index']]),
            'means': _both.mean().tolist(), 'lrs': _both.lrs.tolist()},
}))
"""

EXPLORE = r"""
import json
import numpy as _np
_out = {}
_c = ex_muon.controls
_out['controls'] = sorted(_c)
_out['opening'] = [float(_c['lr'].value), float(_c['momentum'].value), float(_c['weight_decay'].value)]
_lengths = []
for _lr in (0.5, 0.2):
    ex_muon.set(lr=_lr)
    ex_muon.update()
    _steps = _np.linalg.norm(_np.diff(_np.asarray(ex_muon.trajectory, dtype=float), axis=0), axis=1)
    _lengths.append([_lr, float(_steps.min()), float(_steps.max())])
_out['lengths'] = _lengths
ex_muon.set(lr=0.5)
ex_muon.update()
_out['race_labels'] = list(race.labels)
_out['rosen_labels'] = list(race_rosen.labels)
_r0 = {k: _np.array(v, dtype=float).copy() for k, v in race.trajectory.items()}
race.controls['lion.lr'].value = 0.05
race.update()
_out['race_lion_changed'] = bool(_r0['lion'].shape != race.trajectory['lion'].shape
                                 or not _np.allclose(_r0['lion'], race.trajectory['lion']))
_out['race_others_same'] = all(_np.array_equal(_r0[k], race.trajectory[k]) for k in _r0 if k != 'lion')
race.controls['lion.lr'].value = 0.1
race.update()
print(json.dumps(_out))
"""


@pytest.fixture(scope="module")
def run():
    return nbrun.run_notebook(NAME, {"numbers": NUMBERS, "exercises": EXERCISES, "explore": EXPLORE})


def _markdown(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _code(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_house_style(run):
    nb, _, _ = run
    nbrun.check_house_style(nb, "# Go ", min_checks=5, slug="after_adam")
    md = _markdown(nb)
    for ref in ("Dozat", "Liu et al.", "Kingma", "Shazeer", "Chen et al.", "Defazio", "Jordan", "Bernstein",
                "1908.03265", "1412.6980", "1804.04235", "2302.06675", "2405.15682", "2409.20325",
                "2502.16982", "kellerjordan.github.io/posts/muon"):
        assert ref in md, ref
    assert "article" not in (md + _code(nb)).lower()
    assert "A common claim in tutorials is" in md
    # which version of the rules without a torch class: Lion's Algorithm 2, schedule-free's reference code
    assert "Algorithm 2" in md and "reference code (their `schedulefree` package" in md and "Algorithm 1" in md
    # every section has its rule in LaTeX and a from-scratch function before the torch comparison
    code = _code(nb)
    for fn in ("def nadam_rule", "def radam_rule", "def adamax_rule", "def factored_second_moment",
               "def lion_rule", "def sgd_schedulefree_rule", "def newton_schulz", "def muon_rule"):
        assert fn in code, fn
    for cls in ("torch.optim.NAdam", "torch.optim.RAdam", "torch.optim.Adamax", "torch.optim.Adafactor",
                "torch.optim.Muon"):
        assert cls in code, cls


def test_every_rule_matches_the_course_and_torch(run):
    nb, r, _ = run
    n = r["numbers"]
    # from scratch == the course's rules; the course's rules == torch.optim on the matrix problem
    for key in ("nadam", "radam", "adamax"):
        assert n[key][0] < 1e-14, key
    assert n["nadam"][1] < 1e-14 and n["radam"][2] < 1e-14 and n["adamax"][1] < 1e-14
    assert n["adafactor"][0] < 1e-14
    assert n["lion"][0] == 0.0 and n["sf"][0] < 1e-14
    assert n["ns"][0] < 1e-14 and n["muon_vs_course"] < 1e-12
    # each training really trained (from 9.030)
    for loss in (n["nadam"][3], n["radam"][3], n["adamax"][2], n["adafactor"][1], n["muon_loss"]):
        assert loss < 0.1, loss
    # torch keeps NAdam's product of mu's in its default dtype: float32 costs ~1e-9 here
    assert 1e-12 < n["nadam"][2] < 1e-6
    text = nbrun.all_text(nb)
    assert "torch.optim has a Lion class: False" in text
    assert "torch.optim has a schedule-free class: False" in text


def test_nadam_schedule(run):
    nb, r, _ = run
    mu = r["numbers"]["mu"]
    assert round(mu["1"], 2) == 0.45 and round(mu["1000"], 2) == 0.52 and round(mu["10000"], 2) == 0.81
    md = _markdown(nb)
    assert "is still only 0.52 after\n1000 steps and reaches 0.81 after 10 000" in md


def test_radam_threshold_and_rectification(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["first_adaptive"] == {"paper": 5, "torch": 6}
    assert 4 < n["rho"][0] < 5 < n["rho"][1]
    assert round(n["rect"][0], 3) == 0.017 and round(n["rect"][2], 1) == 0.2 and round(n["rect"][3], 2) == 0.65
    assert n["rect"][1] < 0.15  # the race text: below 0.15 at step 50
    assert n["radam"][1] == 5, "the paper's and torch's thresholds part at step 5"
    # RAdam's un-normalised first steps diverge on Rosenbrock where Adam does not
    assert n["radam_on_rosen"]["RAdam"] == "diverged at step 4"
    assert n["radam_on_rosen"]["Adam"].startswith("f = ")
    assert 150 < n["rosen_grad"] < 160
    md = _markdown(nb)
    assert "0.017 at step 5, about 0.2 at step 100 and 0.65\nat step 1000" in md
    assert "has a gradient of size about 150" in md


def test_adamax_eps(run):
    _, r, _ = run
    z = r["numbers"]["adamax_zero"]
    assert z["paper"][1] is None and z["torch"][1] == 0.0  # 0/0 in the paper's form


def test_adafactor_factoring_and_relative_step(run):
    nb, r, _ = run
    stored, full, rank1, rel = r["numbers"]["factored"]
    assert (stored, full) == (64 + 32, 64 * 32)
    assert rank1 < 1e-12 and 0.3 < rel < 1.0
    step_1, step_10 = r["numbers"]["adafactor"][2:]
    assert step_10 / step_1 == pytest.approx(10.0, rel=1e-9)
    assert "96 instead of 2048 (21 times fewer)" in nbrun.all_text(nb)
    assert f"error printed above is {rel:.2f})" in _markdown(nb)


def test_watch_lions_sign_step_in_the_race(run):
    """The "watch this" prompt: the race's inspector on Lion, read back step by step."""
    nb, r, _ = run
    w = np.array(r["numbers"]["watch_lion"])
    md = next(c.source for c in nb.cells if c.get("id") == "watch-lion")
    printed = nbrun.cell_text(nb, [c.get("id") for c in nb.cells].index("watch-lion-code"))
    assert "|update| / lr over all 50 steps: [1.]" in printed
    assert "x2 = 0.0 at step 20 (gradient 0.0), 1.1 at step 31, where c2 first turns positive" in printed
    assert r["numbers"]["watch_lion_at"] == ["lion", 0, "lion"]  # left on Lion, at step 0
    assert len(w) == 50 and r["numbers"]["watch_lion_sizes"] == [1.0]  # every update is +-lr
    x, g, u = w[:, 0:2], w[:, 2:4], w[:, 6:8]
    # step 0: gradient (-1, -8); gradient descent would move (0.1, 0.8), Lion moves (0.1, 0.1)
    np.testing.assert_allclose(g[0], [-1, -8])
    np.testing.assert_allclose(-0.1 * g[0], [0.1, 0.8])
    np.testing.assert_allclose(u[0], [1, 1])
    assert "$(-1, -8)$" in md and "$(0.1, 0.8)$" in md and "$(0.1, 0.1)$" in md
    # x2 reaches 0 at step 20, climbs against its gradient for eleven more steps up to 1.1,
    # c2 turns positive at step 31; then x2 never settles (it keeps stepping +-lr)
    first_zero = int(np.argmax(np.isclose(x[:, 1], 0, atol=1e-9)))
    assert first_zero == 20 and "step 20" in md
    climb = np.diff(x[first_zero:32, 1])  # steps 20 ... 31: up by lr each time
    assert climb == pytest.approx(np.full(11, 0.1)) and (g[first_zero + 1:32, 1] > 0).all()
    assert x[31, 1] == pytest.approx(1.1) == x[:, 1].max() and "$x_2 = 1.1$ at step 31" in md
    c2 = w[:, 5]
    assert int(np.argmax(c2 > 0)) == 31 and (c2[:31] < 0).all() and "until step 31" in md
    assert np.all(np.abs(np.diff(x[31:, 1])) == pytest.approx(0.1))


def test_lion_moves_every_coordinate_by_lr(run):
    _, r, _ = run
    assert r["numbers"]["lion"][1] == [1.0]


def test_schedule_free_sequences(run):
    nb, r, _ = run
    final, x_again = r["numbers"]["sf"][1], r["numbers"]["sf"][2]
    x, y, z, sgd = (final[k] for k in ("x (average)", "y (gradient point)", "z (SGD step)", "plain SGD"))
    assert x < y < sgd < z  # the order the text states
    assert 5 <= sgd / y and sgd / x < 7.5, "five to seven times closer than plain SGD"
    assert x_again < 1e-12
    # on the digits network: at the best lr x and y agree within the spread; x worse at small lrs
    ys, xs, lrs = (r["numbers"][k] for k in ("sf_y", "sf_x", "sf_lrs"))
    best = lrs.index(0.03)
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    assert abs(mean(xs[best]) - mean(ys[best])) < 0.005
    assert mean(xs[0]) > mean(ys[0]) and mean(xs[1]) > mean(ys[1])
    assert mean(xs[-1]) < mean(ys[-1])
    md = _markdown(nb)
    assert f"0.26 against 0.23 at $3\\cdot10^{{-3}}$" in md and round(mean(xs[1]), 2) == 0.26
    assert round(mean(ys[1]), 2) == 0.23
    assert f"({mean(ys[best]):.3f} at $\\mathbf y$,\n{mean(xs[best]):.3f} at $\\mathbf x$" in md


def test_newton_schulz_band_and_svd(run):
    nb, r, _ = run
    wide_lo, wide_hi, lo, hi, p5_one, p5_tiny = r["numbers"]["ns_band"]
    assert round(lo, 2) == 0.68 and round(hi, 2) == 1.13 and round(wide_hi, 1) == 1.2 and wide_lo >= 0.679
    assert round(p5_one, 4) == 0.6964 and p5_tiny < 0.05
    ns_course, ns_svd, s_D, s_O, spectral = r["numbers"]["ns"]
    assert ns_svd < 1e-13  # Newton-Schulz acts on the singular values only: U p^5(S) V^T
    assert max(s_D) / min(s_D) > 100  # the momentum: a few directions dominate
    assert all(0.68 <= s <= 1.13 for s in s_O) and max(abs(s - 1) for s in s_O) > 0.25  # a band, not 1
    assert 0.25 < spectral < 0.35
    md = _markdown(nb)
    assert "land in a band around 1, $[0.68, 1.13]$" in md


def test_muon_against_torch_bfloat16(run):
    nb, r, _ = run
    n = r["numbers"]
    u = 2.0 ** -8
    errors, kappas = n["muon_errors"], n["muon_kappas"]
    good = sorted(e for e, k in zip(errors, kappas) if k <= 100)
    rest = sorted(e for e, k in zip(errors, kappas) if k > 100)
    assert len(good) >= 20 and len(rest) > len(good)  # "most steps here have smaller singular values"
    assert good[len(good) // 2] < 8 * u and max(good) < 10 * u  # a few units of bfloat16 rounding
    assert max(rest) > 20 * u  # "the error grows to tens of u"
    assert max(errors) < 0.25 and min(errors) > u / 4  # torch really is in bfloat16
    assert 0.01 < n["muon_worst_W"] < 0.1
    # on a vector: normalised momentum descent, step length 0.6964 lr
    assert all(abs(s - 0.696436) < 1e-6 for s in n["muon_2d"])


def test_memory_per_parameter(run):
    nb, r, _ = run
    m, n_params = r["numbers"]["memory"], r["numbers"]["n_params"]
    assert n_params == 2410
    assert m["SGD, momentum 0.9"] == n_params and m["Lion (m)"] == n_params
    for name in ("Adam", "AdamW", "RAdam", "Adamax", "schedule-free AdamW (z, v)"):
        assert m[name] == 2 * n_params, name
    assert m["NAdam"] == 2 * n_params + 4  # its product of mu's, one per tensor
    assert m["Adafactor"] == (64 + 32) + 32 + (32 + 10) + 10  # matrices factored, vectors not
    assert m["Muon (W1) + AdamW (rest)"] == 2048 + 2 * (320 + 32 + 10)
    assert m["schedule-free SGD (z)"] == n_params
    text = nbrun.all_text(nb)
    assert "Adafactor                       180 numbers = 0.075 per parameter" in text


def test_races(run):
    nb, r, _ = run
    n = r["numbers"]
    ranking = n["ranking_d2l"]
    assert ranking[:3] == ["nadam", "adafactor", "adam"] and ranking[-3:] == ["lion", "muon", "radam"]
    rosen = n["ranking_rosen"]
    assert rosen[:3] == ["muon", "sgd_schedulefree", "radam"]
    assert not any(v is not None for v in n["diverged_rosen"].values())
    md = _markdown(nb)
    assert "NAdam, Adafactor and Adam lead" in md and "Lion, Muon and RAdam\ncome last" in md
    assert "Muon (on a 2-D point: normalised Nesterov momentum) is\nahead, then schedule-free SGD and RAdam" in md


def _fmt(v, d=3):
    return f"{v:.{d}f}"


def test_digits_sweep_findings(run):
    nb, r, _ = run
    n = r["numbers"]
    f = n["findings"]
    assert n["steps_total"] == 170
    assert set(f) == {"Adam", "AdamW", "NAdam", "RAdam", "Adamax", "Adafactor", "Lion", "schedule-free SGD",
                      "schedule-free AdamW", "Muon + AdamW"}
    for name, d in n["diverged"].items():
        lrs = n["lrs"][name]
        best = lrs.index(f[name]["lr"])
        assert d[best] == 0, name
        # the grid brackets the best lr (it is not at an edge), except Adafactor's whose lr is a cap
        if name != "Adafactor":
            assert 0 < best < len(lrs) - 1, name
    md = _markdown(nb)
    # most land close together: within the spread over seeds
    close = ["Adam", "AdamW", "NAdam", "Adamax", "schedule-free SGD"]
    means = [f[k]["mean"] for k in close]
    stds = [f[k]["std"] for k in close]
    assert max(means) - min(means) < min(stds)
    assert f"between {min(means):.3f} and {max(means):.3f}" in md
    assert f"(standard deviations {min(stds):.3f}–{max(stds):.3f})" in md
    # Muon + AdamW best, and its worst seed beats AdamW's best seed
    muon, adamw = f["Muon + AdamW"], f["AdamW"]
    assert min(v["mean"] for v in f.values()) == muon["mean"]
    assert muon["hi"] < adamw["lo"]
    assert f"{_fmt(muon['mean'])} ± {_fmt(muon['std'])}" in md
    assert f"its worst seed ({_fmt(muon['hi'])}) beats AdamW's best seed ({_fmt(adamw['lo'])})" in md
    assert f"Adafactor ({_fmt(f['Adafactor']['mean'])}) and RAdam ({_fmt(f['RAdam']['mean'], 3)})" in md
    assert f"schedule-free AdamW ({_fmt(f['schedule-free AdamW']['mean'])})" in md
    assert f["schedule-free AdamW"]["mean"] > adamw["mean"]
    # Lion clearly worse: its best seed worse than every other optimizer's worst seed
    lion = f["Lion"]
    assert lion["lo"] > max(v["hi"] for k, v in f.items() if k != "Lion")
    assert f"{lion['mean']:.2f} at its best learning rate" in md and 3.5 < lion["mean"] / adamw["mean"] < 4
    # learning-rate scales
    assert adamw["lr"] / lion["lr"] == pytest.approx(10 / 3) and f["RAdam"]["lr"] / adamw["lr"] == pytest.approx(10)
    assert 0.15 < n["r_bar"] < 0.25 and 0.015 < f["RAdam"]["lr"] * n["r_bar"] < 0.025
    # widths of the good range (mean < 2 x best)
    width = {k: round(v["good"][1] / v["good"][0]) for k, v in f.items()}
    assert {k for k, w in width.items() if w == 10} == {"Adam", "AdamW", "NAdam", "Adamax", "schedule-free SGD"}
    assert {k for k, w in width.items() if w == 3} == {"RAdam", "schedule-free AdamW", "Lion", "Muon + AdamW"}
    assert width["Adafactor"] == 33 and f["Adafactor"]["good"] == [0.03, 1.0]
    # the margins of the 2 x rule are not near-ties (the widths are stable)
    for name, means in n["means"].items():
        best = min(means)
        assert all(abs(m / best - 2) > 0.15 for m in means), name
    # AdamW's decay hardly acts: Adam and AdamW agree
    assert abs(f["Adam"]["mean"] - adamw["mean"]) < 0.001


def test_lion_cosine_and_muon_network(run):
    nb, r, _ = run
    n = r["numbers"]
    cos, f = n["cosine"], n["findings"]
    assert round(f["Lion"]["mean"], 2) == 0.29 and round(cos["Lion"]["mean"], 2) == 0.20
    assert cos["Lion"]["mean"] < f["Lion"]["mean"] - 5 * cos["Lion"]["std"]
    assert cos["AdamW"]["mean"] >= f["AdamW"]["mean"]
    md = _markdown(nb)
    assert f"AdamW ({f['AdamW']['mean']:.3f} → {cos['AdamW']['mean']:.3f})" in md
    ratio, share, lo, hi = n["muon_net"]
    assert 0.5 < share < 0.6 and "3 of its 32 singular values hold more than half" in md
    assert round(lo, 2) == 0.68 and hi <= 1.135
    assert n["adamw_lr"] == 0.01


def test_exercise_checks(run):
    nb, r, _ = run
    e = r["exercises"]
    for k in ("ex1", "ex2", "ex3", "ex4", "ex5"):
        assert e[f"{k}_right"][0] is True and e[f"{k}_right"][1].startswith("Right"), (k, e[f"{k}_right"])
        assert e[f"{k}_wrong"][0] is False and e[f"{k}_wrong"][1].startswith("Not quite"), (k, e[f"{k}_wrong"])
    assert [round(v, 2) for v in e["ex2_rho"]] == [4.13, 4.74, 5.28]
    assert e["ex3_small"] == 150
    total, at_uv, frob, sign_norm = e["ex5_values"]
    assert round(total, 3) == 8.944 and abs(at_uv - total) < 1e-12 and round(frob, 3) == 7.071
    assert round(sign_norm, 2) == 1.62
    # exercise 6's worked answer: Muon on both matrices is worse than with the output layer on AdamW
    ex6, muon = e["ex6"], r["numbers"]["findings"]["Muon + AdamW"]
    assert ex6["lr"] == 0.01 and ex6["mean"] > muon["mean"]
    md = _markdown(nb)
    assert (f"{ex6['mean']:.3f} ± {ex6['std']:.3f} (at lr 0.01; seeds from {ex6['lo']:.3f} to "
            f"{ex6['hi']:.3f}), against {muon['mean']:.3f} ± {muon['std']:.3f}") in md.replace("\n", " ")
    at_003 = ex6["means"][ex6["lrs"].index(0.03)]
    assert at_003 > 2 * ex6["mean"] and f"at 0.03 the mean is {at_003:.2f}" in md.replace("\n", " ")
    assert sum(m < 2 * ex6["mean"] for m in ex6["means"]) == 1


def test_explorers(run):
    _, r, _ = run
    x = r["explore"]
    assert {"lr", "momentum", "weight_decay"} <= set(x["controls"])
    assert x["opening"] == [0.5, 0.95, 0.0]
    for lr, lo, hi in x["lengths"]:  # every step 0.6964 lr long, whatever the slider says
        assert abs(lo / lr - 0.696436) < 1e-5 and abs(hi / lr - 0.696436) < 1e-5
    assert len(x["race_labels"]) == 9 and len(x["rosen_labels"]) == 9
    assert x["race_lion_changed"] and x["race_others_same"]
    nbrun.check_explorers(r, minimum=3)


def test_budget_is_reported(run):
    # the notebook's own cells (nbrun measures them); printed, not asserted (timings are noisy)
    _, _, seconds = run
    print(f"\n{NAME}: {seconds:.1f} s for the notebook's cells")


def test_text_numbers_printed(run):
    nb, r, _ = run
    text = nbrun.all_text(nb)
    assert "RAdam  lr 0.01: diverged at step 4" in text
    assert re.search(r"a coordinate with gradient 0: paper -> nan\s+torch -> 0.0", text)
    assert "step lengths / lr: [0.696436]" in text


def test_an_older_torch_gets_a_clear_error():
    """The chapter compares with torch.optim.Muon (torch 2.9+): on an older torch its first code
    cell stops with an error that says what to do, instead of failing deep inside a section."""
    import subprocess
    import sys

    import nbformat

    nb = nbformat.read(str(nbrun.NOTEBOOKS / NAME), as_version=4)
    cell = next(c.source for c in nb.cells if c.get("id") == "imports").replace("%matplotlib inline", "")
    for missing, ok in ((None, True), ("Muon", False), ("Adafactor", False)):
        code = "import torch\n" + (f"del torch.optim.{missing}\n" if missing else "") + cell
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert (r.returncode == 0) == ok, r.stderr[-2000:]
        if not ok:
            assert f"has no torch.optim.{missing}: this chapter needs torch 2.9 or later" in r.stderr
            assert "pip install -U 'torch>=2.9'" in r.stderr

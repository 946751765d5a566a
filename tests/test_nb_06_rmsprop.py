"""Chapter 5 (RMSProp): run the notebook in a real kernel and check its numbers and claims."""
import math
import re

import numpy as np
import pytest

import nbrun

pytestmark = pytest.mark.notebook

NAME = "06_rmsprop.ipynb"

NUMBERS = nbrun.SLIDER_HELPERS + r"""
import json, io, contextlib
import numpy as _np
def pt(p):
    return ['%f' % float(p[0]), '%f' % float(p[1])]
def said(fn, *args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn(*args)
    return buf.getvalue()
out = {
    'rmsprop': pt(res_rmsprop[-1]), 'adagrad': pt(res_adagrad[-1]),
    'torch': pt(res_torch[-1]), 'outside': pt(res_outside[-1]),
    'n_points': len(res_rmsprop),
    'gap_outside': float(gap_outside), 'gap_inside': float(gap_inside),
    'first_step': {str(k): float(v) for k, v in first_step.items()},
    'variants': {k: pt(v[-1]) for k, v in variant_paths.items()},
    'variant_gaps': {k: float(v) for k, v in variant_gaps.items()},
    'gap_lr_placement': float(gap_lr_placement), 'gap_momentum_torch': float(gap_momentum_torch),
    'lr_inside_end': pt(lr_inside[-1]),
    'merged': {f'{k[0]}/{k[1]}': pt(v) for k, v in merged_ends.items()},
    'adagrad_rate_diffs_max': float(_np.max(_np.diff(adagrad_rate))),
    'rmsprop_rate_50': float(rmsprop_rate[49]), 'rmsprop_rate_100': float(rmsprop_rate[-1]),
    'rmsprop_rate_1': float(rmsprop_rate[0]),
    'half_life_09': float(half_life_09),
    'ls_scratch': [float(v) for v in ls_scratch], 'ls_torch': [float(v) for v in ls_torch],
    'explorer_end': [float(v) for v in explorer_rmsprop.trajectory[-1]],
    'explorer_controls': sorted(explorer_rmsprop.controls),
    'eps_is_log': _is_log(explorer_rmsprop.controls['eps']),  # a log slider or a ladder of decades
    'checks_right': [said(d2l.check, 'rmsprop.gamma_one', 0.4 / math.sqrt(1e-6)),
                     said(d2l.check, 'rmsprop.first_step', torch_2d(torch.optim.RMSprop, steps=1, verbose=False, lr=0.01)[1][0] + 5.0),
                     said(d2l.check, 'rmsprop.half_life', math.log(2) / math.log(1 / 0.99)),
                     said(d2l.check, 'rmsprop.noise_step', 0.4)],
    'checks_wrong': [said(d2l.check, 'rmsprop.gamma_one', 0.4), said(d2l.check, 'rmsprop.first_step', 0.03),
                     said(d2l.check, 'rmsprop.half_life', 100), said(d2l.check, 'rmsprop.noise_step', 0.4 / 0.5)],
    'gamma_one_step': [float(v) for v in rmsprop_rule(np.array([-5.0, -2.0]), np.array([-1.0, -8.0]), {}, gamma=1.0)],
    'gamma_slider_max': float(max(_slider_values(explorer_rmsprop.controls['gamma']))),
    'merged_table': {f'{k[0]}/{k[1]}': [float(f_2d(*v))] for k, v in merged_ends.items()},
    'rotated': {'rms_first': [float(v) for v in rms_rotated[1]],
                'rms_across': [float(v) for v in across(rms_rotated)],
                'gd_across': [float(v) for v in across(gd_rotated)],
                'f': [float(rotated.value(rms_rotated[-1])), float(d2l.objectives.get('d2l').value(rms_aligned[-1])),
                      float(rotated.value(gd_rotated[-1]))]},
}
print(json.dumps(out))
"""

# Section 7 (the digits network): the long sweeps and the noise runs, as the kernel holds them.
NETWORK = r"""
import json
_g9 = next(g for g, s in enumerate(rms_long.settings) if s == {'lr': 0.003, 'alpha': 0.9})
_out = {
    'rows': long_rows, 'best': best_long,
    'seeds': [ada_long.seeds, rms_long.seeds], 'epochs': [int(ada_long.epochs[-1]), int(rms_long.epochs[-1])],
    'sizes': [list(ada_long.sizes), list(rms_long.sizes)], 'batch': [ada_long.batch_size, rms_long.batch_size],
    'settings': [ada_long.settings, rms_long.settings], 'fixed': [ada_long.fixed, rms_long.fixed],
    'n_diverged': [ada_long.n_diverged().tolist(), rms_long.n_diverged().tolist()],
    'train_final_g9': float(rms_long.mean('train_loss')[_g9]),
    'hop': hop,
    'explorer_noise': float(ex_noisy.controls['noise'].value), 'explorer_steps': int(len(ex_noisy.trajectory) - 1),
    'explorer_end': [float(v) for v in ex_noisy.trajectory[-1]],
    'noisy_end': {k: [float(v) for v in p[-1]] for k, p in noisy.items()},
}
# the text sends the reader to the explorer's 'polynomial' schedule: it is the notebook's schedule
ex_noisy.controls['schedule'].value = 'polynomial'
ex_noisy.update()
_out['explorer_scheduled_end'] = [float(v) for v in ex_noisy.trajectory[-1]]
ex_noisy.controls['schedule'].value = 'constant'
ex_noisy.update()
print(json.dumps(_out))
"""

# Move the explorer's own sliders and check path, picture and readout.
EXPLORE = r"""
import json
import numpy as _np
_e = explorer_rmsprop
_out = {}
_before = _np.array(_e.trajectory, dtype=float).copy()
_frame = _e.frame
_e.set(eta=0.7)
_e.update()
_out['eta_path_changed'] = bool(_before.shape != _e.trajectory.shape or not _np.allclose(_before, _e.trajectory))
_out['eta_frame_changed'] = bool(_frame != _e.frame)
_e.set(eta=0.4, gamma=0.999)
_e.update()
_out['gamma_999_first'] = [float(v) for v in _e.trajectory[1]]
_e.set(gamma=0.0)
_e.update()
_out['gamma_0_last'] = [[float(v) for v in p] for p in _e.trajectory[-2:]]
_e.set(gamma=0.9, eps=1e-6)
_e.update()
_out['back'] = ['%f' % v for v in _e.trajectory[-1]]
print(json.dumps(_out))
"""


# The "watch RMSProp forget" cell: what it printed, the inspection at every step, and RMSProp by
# hand from the objective's start.
WATCH = r"""
import json
import numpy as _np
_e = explorer_rmsprop
_out = {'step_after_cell': int(_e.controls['step'].value), 'cell': watch_rmsprop.tolist(),
        'hp': [float(_e.controls[k].value) for k in ('eta', 'gamma', 'eps')], 'rows': []}
for _t in range(_e.controls['step'].max + 1):
    _e.controls['step'].value = _t
    _i = _e.inspection
    _out['rows'].append([_t, *_i['grad'], *_i['state']['s'], *_i['effective_step']])
_x, _s, _out['hand'] = _np.array(_e.objective.start, dtype=float), _np.zeros(2), []
for _t in range(len(_out['rows'])):
    _g = _e.objective.grad(_x)
    _s = 0.9 * _s + 0.1 * _g * _g
    _out['hand'].append([_t, *_g, *_s, *(0.4 / _np.sqrt(_s + 1e-6))])
    _x = _x - 0.4 * _g / _np.sqrt(_s + 1e-6)
_e.controls['step'].value = _out['step_after_cell']
print(json.dumps(_out))
"""


@pytest.fixture(scope="module")
def run():
    return nbrun.run_notebook(NAME, {"watch": WATCH, "numbers": NUMBERS, "explore": EXPLORE, "network": NETWORK})


def test_house_style(run):
    nb, _, _ = run
    nbrun.check_house_style(nb, '# Forget ', min_checks=4, slug='rmsprop')


def test_classic_numbers(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["rmsprop"] == ["-0.010599", "0.000000"]
    assert n["adagrad"] == ["-2.382563", "-0.158591"]
    assert n["n_points"] == 21
    text = nbrun.all_text(nb)
    assert "epoch 20, x1: -0.010599, x2: 0.000000" in text
    assert "epoch 20, x1: -2.382563, x2: -0.158591" in text


def test_adagrad_rate_never_increases_rmsprop_recovers(run):
    _, r, _ = run
    n = r["numbers"]
    assert n["adagrad_rate_diffs_max"] <= 0.0
    # after the gradient drops, RMSProp's rate climbs back almost tenfold
    assert n["rmsprop_rate_100"] > 7 * n["rmsprop_rate_50"]
    # and it starts at eta / sqrt(1 - gamma) (no bias correction)
    assert math.isclose(n["rmsprop_rate_1"], 0.4 / math.sqrt(0.1 + 1e-6), rel_tol=1e-9)
    assert math.isclose(n["half_life_09"], math.log(2) / math.log(1 / 0.9), rel_tol=1e-12)


def test_torch_eps_outside(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["torch"] == ["-0.010598", "0.000000"]
    assert n["outside"] == ["-0.010598", "0.000000"]
    assert n["gap_outside"] < 1e-12
    assert 1e-7 < n["gap_inside"] < 1e-4, "eps placement shows in the sixth decimal"
    # the notebook's own prints and d2l.train_2d: d2l-en's line, with colons
    text = nbrun.all_text(nb)
    assert len(re.findall(r"epoch 20, x1: -0.010598, x2: 0.000000", text)) >= 3
    assert re.search(r"plain +epoch 20, x1: -0.010598, x2: 0.000000", text)
    assert re.search(r"centered +epoch 20, x1: -0.001629, x2: -0.000000", text)
    assert not re.search(r"epoch \d+, x1 -?\d", text), "the port's old line (no colons) is gone"
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "default 0.99" in md or "**default 0.99**" in md
    assert r"\sqrt{s_t} + \epsilon" in md and r"\sqrt{s_t + \epsilon}" in md
    assert "`epoch 20, x1: -0.010599, x2: 0.000000`" in md          # the summary quotes d2l-en's line
    assert "x1 -0.010599" not in md


def test_first_step(run):
    _, r, _ = run
    fs = r["numbers"]["first_step"]
    assert math.isclose(fs["0.9"], 1 / math.sqrt(0.1), rel_tol=1e-5)
    assert math.isclose(fs["0.99"], 10.0, rel_tol=1e-5)


def test_centered_and_momentum(run):
    _, r, _ = run
    n = r["numbers"]
    v = n["variants"]
    assert v["plain"] == ["-0.010598", "0.000000"]
    assert v["centered"] == ["-0.001629", "-0.000000"]
    assert v["momentum=0.5"] == ["-0.000374", "0.000478"]
    assert v["centered, momentum=0.5"] == ["-0.002592", "0.000364"]
    for name, gap in n["variant_gaps"].items():
        assert gap < 1e-12, name


def test_two_knobs_correction(run):
    nb, r, _ = run
    n = r["numbers"]
    # lr inside the buffer == lr outside for a constant lr; vs torch only eps placement remains
    assert n["gap_lr_placement"] < 1e-12
    assert 1e-9 < n["gap_momentum_torch"] < 1e-4
    assert n["lr_inside_end"] == ["-0.000374", "0.000478"]
    assert n["merged"]["0.9/0.5"] == ["-0.000374", "0.000478"]
    assert n["merged"]["0.9/0.9"] == ["1.565520", "0.146738"]
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "two independent hyperparameters" in md
    assert "x_t = x_{t-1} - v_t" in md
    # issue 15, point 2: only mu changes between the compared runs; mu = 0.9 is too large here
    # whatever gamma is (Graves's 0.95 included), mu = 0.5 lands near the minimum
    text = nbrun.all_text(nb)
    for g in ("0.9", "0.95", "0.99"):
        assert n["merged_table"][f"{g}/0.9"][0] > 0.1 and n["merged_table"][f"{g}/0.5"][0] < 1e-5, g
        big = re.search(rf"gamma = {g} *, mu = 0.9: .*largest x1 on the way \+(\d+\.\d+)", text)
        assert big and float(big.group(1)) > 3.7, g
    assert "**$\\mu = 0.9$ is too large**" in md and "Graves's own pair" in md
    assert "must be separate" not in md and "forcing them to be equal" not in md


def test_minibatch(run):
    _, r, _ = run
    n = r["numbers"]
    for key in ("ls_scratch", "ls_torch"):
        ls = n[key]
        assert len(ls) == 31, key
        assert 0.2416 <= ls[-1] < 0.26, (key, ls[-1])
    assert abs(n["ls_scratch"][0] - 0.49) < 0.03


def test_explorer(run):
    _, r, _ = run
    n = r["numbers"]
    assert {"eta", "gamma", "eps"} <= set(n["explorer_controls"])
    assert n["eps_is_log"]
    assert ["%f" % v for v in n["explorer_end"]] == ["-0.010599", "0.000000"]
    e = r["explore"]
    assert e["eta_path_changed"] and e["eta_frame_changed"]
    # gamma -> 0.999: the first step, eta / sqrt(1 - gamma) ~ 12.6, throws the point out of the view
    first = e["gamma_999_first"]
    assert math.isclose(first[0] - (-5.0), 0.4 / math.sqrt(0.001 + 1e-6), rel_tol=1e-9)
    assert first[0] > 1.0
    # gamma -> 0: sign steps of about eta, hopping around the minimum
    (a1, a2), (b1, b2) = e["gamma_0_last"]
    assert abs(abs(a1 - b1) - 0.4) < 0.01 and a1 * b1 < 0
    assert e["back"] == ["-0.010599", "0.000000"]
    nbrun.check_explorers(r, minimum=1)


def test_exercise_checks(run):
    nb, r, _ = run
    n = r["numbers"]
    for text in n["checks_right"]:
        assert text.startswith("Right"), text
    for text in n["checks_wrong"]:
        assert text.startswith("Not quite"), text
    assert "memory window" in n["checks_wrong"][2]
    # issue 15, point 8: the slider stops at 0.999, so the exercise runs gamma = 1 with the rule;
    # the worked answer: one step from (-5, -2) lands at (395, 3198)
    assert n["gamma_slider_max"] == 0.999
    assert n["gamma_one_step"] == pytest.approx([395.0, 3198.0], abs=1e-6)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "slider stops at 0.999" in md and "Try it in the explorer, then check" not in md
    assert "article" not in md.lower()


def test_rotated_valley_answer(run):
    # issue 15, point 1: RMSProp reaches the valley floor in one step and slides along it; the
    # zigzag belongs to gradient descent
    nb, r, _ = run
    rot = r["numbers"]["rotated"]
    assert ["%.3f" % v for v in rot["rms_first"]] == ["-3.735", "-3.265"]
    rms, gd = rot["rms_across"], rot["gd_across"]
    assert round(rms[0], 2) == 2.12 and round(rms[1], 2) == 0.33
    assert all(v > 0 for v in rms), "RMSProp never crosses the floor"
    assert all(a * b < 0 for a, b in zip(gd, gd[1:])), "gradient descent crosses it every step"
    f_rot, f_aligned, f_gd = rot["f"]
    assert round(f_rot, 3) == 0.170 and "%.1e" % f_aligned == "1.1e-05" and round(f_gd, 3) == 0.087
    text = nbrun.all_text(nb)
    assert "it changes sign 0 times in 20 steps" in text and "it changes sign 20 times in 20 steps" in text
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "much like plain gradient descent" not in md
    assert "It is gradient descent that\nzigzags" in md


# ---------------------------------------------------------------------------------------------
# Section 7: the digits network. The relations the text states, read back from the kernel; the
# sweeps are deterministic (float64, seeded), so the numbers the text quotes are checked too.


def _md(nb):
    """The notebook's markdown with every run of whitespace as one space (line breaks are layout)."""
    return " ".join(" ".join(c.source for c in nb.cells if c.cell_type == "markdown").split())


def _rows(n):
    return {row["label"]: row for rows in n["rows"].values() for row in rows}


def test_digits_setup(run):
    _, r, _ = run
    n = r["network"]
    assert n["seeds"] == [[0, 1, 2]] * 2 and n["epochs"] == [30, 30]
    assert n["sizes"] == [[64, 32, 10]] * 2 and n["batch"] == [32, 32]
    assert n["fixed"] == [{}, {}]
    assert [s["lr"] for s in n["settings"][0]] == [0.03, 0.1, 0.3]
    assert {(s["lr"], s["alpha"]) for s in n["settings"][1]} == {
        (lr, a) for lr in (0.001, 0.003, 0.01) for a in (0.9, 0.99)}
    assert n["n_diverged"] == [[0] * 3, [0] * 6]


def test_digits_training_loss_adagrad_crawls_rmsprop_keeps_going(run):
    _, r, _ = run
    n = r["network"]
    ada = [row["drop"] for row in n["rows"]["AdaGrad"]]
    rms = {row["label"]: row["drop"] for row in n["rows"]["RMSProp"]}
    # "AdaGrad's training loss falls by a factor of only 2 to 4, whatever its learning rate"
    assert all(1.5 < d < 4.5 for d in ada)
    # "RMSProp's falls by a factor of 8 or more at every learning rate" -- more than AdaGrad's anywhere
    assert min(rms.values()) > 8 and min(rms.values()) > 2 * max(ada)
    # "and by a thousand or more at the larger ones with gamma = 0.9"
    assert rms["RMSProp, lr 0.003, alpha 0.9"] > 1000 and rms["RMSProp, lr 0.01, alpha 0.9"] > 1000
    # alpha 0.99 fits less aggressively at the same learning rate
    for lr in ("0.003", "0.01"):
        assert rms[f"RMSProp, lr {lr}, alpha 0.99"] < rms[f"RMSProp, lr {lr}, alpha 0.9"]


def test_digits_validation_rmsprop_overfits_adagrad_does_not(run):
    _, r, _ = run
    rows = _rows(r["network"])
    for label, row in rows.items():
        if label.startswith("AdaGrad"):       # "stays at its lowest, or within a hair of it"
            assert row["final"] <= 1.01 * row["lowest"], label
        elif " 0.001," not in label:          # "the two larger learning rates": lowest at epoch 9..18, then up
            assert 9 <= row["at"] <= 18 and row["final"] > 1.05 * row["lowest"], label
        else:                                 # lr 0.001: "its lowest validation loss is at the end"
            assert row["at"] == 30, label
    for lr in ("0.003", "0.01"):              # "ends with a lower validation loss at 0.003 and 0.01"
        assert rows[f"RMSProp, lr {lr}, alpha 0.99"]["final"] < rows[f"RMSProp, lr {lr}, alpha 0.9"]["final"]


def test_digits_best_final_is_a_tie(run):
    nb, r, _ = run
    best = r["network"]["best"]
    means = [b["mean"] for b in best.values()]
    stds = [b["std"] for b in best.values()]
    assert max(means) - min(means) < min(stds)
    assert best["RMSProp, alpha 0.9"]["lr"] == best["RMSProp, alpha 0.99"]["lr"] == 0.001
    md = _md(nb)
    assert "**What the papers say:**" in md and "**What the course's runs show:**" in md


def test_noise_rmsprop_hops_adagrad_stalls(run):
    _, r, _ = run
    n = r["network"]
    hop = n["hop"]
    ada, rms, sched = hop["AdaGrad"], hop["RMSProp"], hop["RMSProp, polynomial schedule"]
    assert rms["step"] > 10 * ada["step"]                  # "more than ten times shorter"
    assert ada["dist"] > rms["dist"] > sched["dist"]       # AdaGrad ends the farthest, the schedule the closest
    assert rms["step"] > 0.4                               # "steps longer than its learning rate"
    assert sched["step"] < rms["step"] / 2
    # the explorer opens on exactly this noise (sigma 0.5, 100 steps, RMSProp alpha 0.9, lr 0.4)
    assert n["explorer_noise"] == 0.5 and n["explorer_steps"] == 100
    assert n["explorer_end"] == pytest.approx(n["noisy_end"]["RMSProp"], abs=1e-12)
    assert n["explorer_scheduled_end"] == pytest.approx(n["noisy_end"]["RMSProp, polynomial schedule"], abs=1e-12)


def test_exercise_stop_in_time(run):
    nb, r, _ = run
    n = r["network"]
    row = _rows(n)["RMSProp, lr 0.003, alpha 0.9"]
    assert 1.2 < row["final"] / row["lowest"] < 1.45      # "about a third higher"
    md = _md(nb)
    assert f"Its mean validation loss is lowest, {row['lowest']:.3f}, at epoch {row['at']}" in md
    assert f"after 30 epochs it is {row['final']:.3f}" in md
    assert f"falling to {n['train_final_g9']:.1e}" in md


def _cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def _flat(text):
    return " ".join(text.split())


def test_watch_rmsprop_forget(run):
    """The prompt after the explorer: s peaks and then falls at every step, so the box grows again;
    every number it quotes is the kernel's."""
    nb, r, _ = run
    w = r["watch"]
    assert w["hp"] == [0.4, 0.9, 1e-6]
    cell, rows, hand = (np.array(w[k]) for k in ("cell", "rows", "hand"))
    assert cell.shape == (21, 7) and np.array_equal(cell, rows)
    assert np.allclose(cell, hand, rtol=1e-12, atol=1e-300)
    g, s, box = cell[:, 1:3], cell[:, 3:5], cell[:, 5:7]
    peak = s.argmax(axis=0)
    assert list(peak) == [3, 1]
    for c in (0, 1):
        assert np.all(np.diff(s[peak[c]:, c]) < 0)          # falls at every step after its peak
        assert np.all(np.diff(box[peak[c]:, c]) > 0)        # so the box side grows at every step
        assert np.all(np.diff(box[:peak[c] + 1, c]) < 0)    # after shrinking up to the peak
        assert box[-1, c] > 2 * box[peak[c], c]
    assert w["step_after_cell"] == 20
    md = _flat(_cell(nb, "watch-forgetting").source)
    assert f"(from ${g[0, 1]:.0f}$ at step 0 to ${g[5, 1]:.3f}$ at step 5)" in md
    assert f"it is largest at step {peak[1]} ({s[peak[1], 1]:.3f})" in md
    assert f"to {s[20, 1]:.3f} at step 20" in md
    assert f"side of the box grows from {box[peak[1], 1]:.3f} to {box[20, 1]:.3f}" in md
    assert f"`s` is largest at step {peak[0]}, and its side grows from {box[peak[0], 0]:.3f} there to {box[20, 0]:.3f}" in md
    out = nbrun._outputs_text(_cell(nb, "watch-forgetting-code"))
    for c in (0, 1):
        assert (f"x{c + 1}: s is largest at step {peak[c]} and falls at every step after it: True;"
                f" the box side grows from {box[peak[c], c]:.3f} there to {box[20, c]:.3f} at step 20") in out
    for k in (0, 1, 3, 5, 10, 20):
        assert "{:6.0f} | {:5.2f} {:7.3f} | {:5.3f} {:6.3f} | {:20.3f} {:6.3f}".format(*cell[k]) in out

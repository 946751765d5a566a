"""Chapter 7 (Adam): run the notebook in a real kernel and check its numbers and claims."""
import re

import pytest

import nbrun

pytestmark = pytest.mark.notebook

NAME = "07_adam.ipynb"

NUMBERS = r"""
import json
def pt(p):
    return ['%f' % float(p[0]), '%f' % float(p[1])]
out = {
    'adam_04': pt(res_adam_04[-1]), 'adam_01': pt(res_adam_01[-1]),
    'n_points': [len(res_adam_04), len(res_adam_01)],
    'rule_vs_2d': gap(rule_04, res_adam_04),
    'torch_04': pt(torch_adam_04[-1]), 'torch_01': pt(torch_adam_01[-1]),
    'torch_diff': float(torch_diff),
    'first_with': [float(v) for v in first_step_with],
    'first_without': [float(v) for v in first_step_without],
    'factor': float(factor),
    'peak': [float(peak_factor), int(peak_step)], 'settle_step': int(settle_step),
    'largest_step': [float(largest_step_01), float(largest_step_04)],
    'eps_1e8_end': pt(eps_1e8_end),
    'amsgrad': {k: pt(p[-1]) for k, p in amsgrad_paths.items()},
    'amsgrad_torch_diff': float(amsgrad_torch_diff),
    'adam_eps8': pt(adam_eps8[-1]),
    'ridge': pt(ridge), 'l2_end': [float(v) for v in l2_end], 'l2_band': [float(v) for v in l2_band],
    'adamw_end': pt(adamw_end), 'wd_torch_diff': float(wd_torch_diff),
    'wd_steps': [len(long_l2) - 1, len(long_w) - 1],
    'losses': [float(losses_scratch[-1]), float(losses_torch[-1])],
    'first_loss': float(losses_scratch[0]),
    't_after': int(adam_hyperparams['t']),
    'ranking': ranking_50,
    'race_labels': list(race.labels),
}
print(json.dumps(out))
"""

EXERCISES = r"""
import io, json, contextlib
def _said(fn, *args, **kwargs):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn(*args, **kwargs)
    return buf.getvalue()
_scaled = rule_path(adam_rule, grad=lambda x: 100 * grad_2d(x), eta=0.4)[-1]
print(json.dumps({
    'ex1_right': _said(check_first_step_factor, 1.0),
    'ex1_wrong': _said(check_first_step_factor, 3.16),
    'ex2_right': _said(check_scaled_run, _scaled),
    'ex2_wrong': _said(check_scaled_run, _scaled + 0.01),
    'ex3_right': _said(check_beta1_zero, torch.optim.RMSprop, lr=0.1, alpha=0.9, eps=1e-6),
    'ex3_wrong': _said(check_beta1_zero, torch.optim.Adam, lr=0.1),
    'ex4_right': _said(check_torch_weight_decay, 0.1),
    'ex4_wrong': _said(check_torch_weight_decay, 1e-4),
}))
"""

# The chapter's own checks on its explorers: the bias-correction switch and the race.
EXPLORER_CHECK = r"""
import json
import numpy as _np
_out = {}
_c = ex_adam.controls
_out['controls'] = {k: type(w).__name__ for k, w in _c.items()}
_out['opening'] = [float(_c['eta'].value), float(_c['beta1'].value), float(_c['beta2'].value),
                   float(_c['eps'].value), bool(_c['bias_correction'].value)]
_out['opening_end'] = ['%f' % v for v in ex_adam.trajectory[-1]]
_frame = ex_adam.frame
ex_adam.set(bias_correction=False)
ex_adam.update()
_out['nobc_first_step'] = [float(v) for v in ex_adam.trajectory[1] - ex_adam.trajectory[0]]
_out['nobc_frame_changed'] = bool(_frame != ex_adam.frame)
ex_adam.set(bias_correction=True)
ex_adam.update()
_out['back_end'] = ['%f' % v for v in ex_adam.trajectory[-1]]
_r0 = {k: _np.array(v, dtype=float).copy() for k, v in race.trajectory.items()}
_rf = race.frame
race.controls['adam.lr'].value = 0.1
race.update()
_out['race_adam_changed'] = bool(_r0['adam'].shape != race.trajectory['adam'].shape
                                 or not _np.allclose(_r0['adam'], race.trajectory['adam']))
_out['race_others_same'] = all(_np.array_equal(_r0[k], race.trajectory[k]) for k in _r0 if k != 'adam')
_out['race_frame_changed'] = bool(_rf != race.frame)
race.controls['adam.lr'].value = 0.4
race.update()
print(json.dumps(_out))
"""


@pytest.fixture(scope="module")
def run():
    return nbrun.run_notebook(
        NAME, {"numbers": NUMBERS, "exercises": EXERCISES, "explore": EXPLORER_CHECK}
    )


def _markdown(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _code(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_house_style(run):
    nb, _, _ = run
    nbrun.check_house_style(nb, '# Combine ', min_checks=4)
    md = _markdown(nb)
    # the references the advice rests on
    for ref in ("Kingma", "Reddi", "Loshchilov", "Wilson", "d2l.ai"):
        assert ref in md, ref


def test_classic_2d_numbers(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["adam_04"] == ["0.996029", "-0.212750"]
    assert n["adam_01"] == ["-3.060341", "-0.222453"]
    assert n["n_points"] == [21, 21]
    text = nbrun.all_text(nb)
    assert "epoch 20, x1: 0.996029, x2: -0.212750" in text
    assert "epoch 20, x1: -3.060341, x2: -0.222453" in text
    # the rule form (explorer) is the same computation as the d2l trainer
    assert n["rule_vs_2d"] == 0.0
    # Adam's trust region: no coordinate moves more than eta in one step
    assert 0.099 < n["largest_step"][0] <= 0.1 and 0.399 < n["largest_step"][1] <= 0.4


def test_torch_adam_matches(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["torch_04"] == n["adam_04"] and n["torch_01"] == n["adam_01"]
    assert n["torch_diff"] < 1e-12
    assert "largest difference from adam_2d over all points" in nbrun.all_text(nb)
    # torch's default eps 1e-8 changes only the 6th decimal (optimizer-math.md 3b)
    assert n["eps_1e8_end"] == ["0.996033", "-0.212751"]


def test_bias_correction_correction(run):
    nb, r, _ = run
    n = r["numbers"]
    # with correction the first step is eta per coordinate, without it about 3.16 eta
    assert all(abs(abs(v) - 0.4) < 1e-5 for v in n["first_with"])
    ratio = [a / b for a, b in zip(n["first_without"], n["first_with"])]
    assert all(abs(q - 3.1623) < 1e-3 for q in ratio), ratio
    assert "%.4f" % n["factor"] == "3.1623"
    assert n["peak"][1] == 12 and 6.5 < n["peak"][0] < 6.6
    assert n["settle_step"] > 1000
    md = _markdown(nb)
    assert "3.16" in md and "too **large**" in md
    assert re.search(r"correction \*\*shrinks\*\*", md)
    text = nbrun.all_text(nb)
    assert "formula (1 - beta1)/sqrt(1 - beta2) = 3.1623" in text


def test_amsgrad_three_readings(run):
    nb, r, _ = run
    n = r["numbers"]
    a = n["amsgrad"]
    # optimizer-math.md 1.6: torch, max of v_hat, Reddi (constant step)
    assert a["torch"] == ["0.995605", "-0.212628"]
    assert a["max of v_hat"] == ["-0.073285", "0.347472"]
    assert a["paper"] == ["0.384663", "-0.557981"]
    assert n["amsgrad_torch_diff"] < 1e-12
    assert n["adam_eps8"] == ["0.996033", "-0.212751"]
    assert "AMSGrad, paper" in nbrun.all_text(nb)


def test_weight_decay_l2_vs_adamw(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["ridge"] == ["2.000000", "2.926829"]
    assert n["wd_steps"] == [20000, 20000]
    assert n["wd_torch_diff"] < 1e-12
    # Adam + L2 goes to the ridge point; x2 hovers in a narrow band around it
    assert "%f" % n["l2_end"][0] == "2.000000"
    lo, hi = n["l2_band"]
    assert lo < 2.926829 < hi and hi - lo < 0.01
    assert abs(n["l2_end"][1] - 2.926829) < 5e-3
    # AdamW ends next to the unregularised minimum (3, 3)
    assert n["adamw_end"] == ["2.999856", "2.999921"]
    text = nbrun.all_text(nb)
    assert "AdamW     after 20000 steps: x1 2.999856, x2 2.999921" in text


def test_minibatch(run):
    nb, r, _ = run
    n = r["numbers"]
    for loss in n["losses"]:
        assert 0.2416 <= loss < 0.26, loss
    assert 0.47 < n["first_loss"] < 0.51
    assert n["t_after"] == 301, "150 batches x 2 epochs, counter starts at 1"
    text = nbrun.all_text(nb)
    assert text.count("sec per epoch") >= 2
    code = _code(nb)
    assert "d2l.train_pytorch_ch7(torch.optim.Adam, {'lr': 0.01}, features, labels" in code
    assert "hyperparams['t']" in code


def test_race_and_advice(run):
    nb, r, _ = run
    n = r["numbers"]
    assert n["race_labels"] == ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam"]
    assert n["ranking"][0] == "momentum" and n["ranking"][-1] == "adadelta"
    md = _markdown(nb)
    assert "Choosing an optimizer" in md
    assert "not guaranteed to converge" in md and "generalises better" in md
    assert "Tune the learning rate first" in md


def test_exercise_checks(run):
    _, r, _ = run
    e = r["exercises"]
    for k in ("ex1", "ex2", "ex3", "ex4"):
        assert e[f"{k}_right"].startswith("Right"), (k, e[f"{k}_right"])
        assert not e[f"{k}_wrong"].startswith("Right"), (k, e[f"{k}_wrong"])


def test_explorers(run):
    _, r, _ = run
    x = r["explore"]
    assert x["controls"]["bias_correction"] == "Checkbox"
    for name in ("eta", "beta1", "beta2", "eps"):
        assert name in x["controls"] and "Slider" in x["controls"][name], name
    assert x["opening"] == [0.4, 0.9, 0.999, 1e-6, True] or (
        x["opening"][:3] == [0.4, 0.9, 0.999] and abs(x["opening"][3] - 1e-6) < 1e-12 and x["opening"][4]
    )
    assert x["opening_end"] == ["0.996029", "-0.212750"]
    # switching the correction off makes the first step about 3.16 eta = 1.265 per coordinate
    assert all(abs(s - 1.2649) < 1e-3 for s in x["nobc_first_step"]), x["nobc_first_step"]
    assert x["nobc_frame_changed"]
    assert x["back_end"] == ["0.996029", "-0.212750"]
    assert x["race_adam_changed"] and x["race_others_same"] and x["race_frame_changed"]
    nbrun.check_explorers(r, minimum=2)

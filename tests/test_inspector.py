"""The step inspector of the explorers (d2lmini.explorers.inspector), without a browser.

* ``ex.inspection`` against torch.optim's own state, step by step: torch runs in float64 on
  the same objective from the same start (autograd's gradient equals the objective's to
  1e-12 relative; torch is then given the objective's, so both see the same gradient
  sequence, as in tests/test_rules.py); at every step t the
  explorer's point, gradient, update, next point and state entries equal torch's parameter,
  gradient and state (momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, square_avg,
  grad_avg, acc_delta, sum, exp_inf, mu_product, step) to 1e-12, and the effective step per
  coordinate is the one computed from torch's state;
* every rule of RULES: the inspection is consistent with the path, and update = -effective
  step * direction wherever both are known;
* rules written from scratch (the chapters' own): the state is recorded and labelled, the
  effective step is found where the update shows it;
* schedules and noise, divergence and errors, the race's run picker, the 1-D explorer;
* moving ``step`` redraws the frame but never recomputes a path; the controls and the table.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import ipywidgets as widgets

import learner_rules
from d2lmini import explorers as E
from d2lmini import rules
from d2lmini.explorers.inspector import KNOWN_STATE
from d2lmini.rules import RULES, hyperparams

torch = pytest.importorskip("torch")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ATOL = 1e-12
# Rosenbrock's walls are steep (curvature ~1000 and gradients ~20 on the path): torch's and the
# rule's round-off (1e-15 in x) shows as 1e-12 in the gradient there, so 1e-12 relative is added.
RTOL = {"d2l": 0.0, "rosenbrock": 1e-12}


@pytest.fixture(autouse=True)
def _setup():
    """Torch in float64 on one thread (NAdam keeps mu_product in the default dtype); every
    explorer made here is closed after the test."""
    old, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    before = set(map(id, E.live_explorers()))
    yield
    torch.set_default_dtype(old)
    torch.set_num_threads(threads)
    for ex in E.live_explorers():
        if id(ex) not in before:
            ex.close()


def torch_objective(name):
    """The objective written in torch (autograd gives the gradient torch.optim sees)."""
    if name == "d2l":
        return lambda p: 0.1 * p[0] ** 2 + 2 * p[1] ** 2
    if name == "rosenbrock":
        return lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
    raise ValueError(name)


def at_step(ex, t):
    """Move the step control to t, as the slider would; return the inspection."""
    ex.controls["step"].value = t
    assert ex.controls["step"].value == t
    return ex.inspection


# (rule, explorer hyperparameters, torch class, torch kwargs, {our state key: torch state key}, objective)
TORCH_CASES = [
    ("momentum", {"lr": 0.4, "momentum": 0.5}, "SGD", {"lr": 0.4, "momentum": 0.5},
     {"v": "momentum_buffer"}, "d2l"),
    ("momentum", {"lr": 1.0e-3, "momentum": 0.9}, "SGD", {"lr": 1.0e-3, "momentum": 0.9},
     {"v": "momentum_buffer"}, "rosenbrock"),
    ("nesterov", {"lr": 0.3, "momentum": 0.5}, "SGD", {"lr": 0.3, "momentum": 0.5, "nesterov": True},
     {"v": "momentum_buffer"}, "d2l"),
    (rules.sgd, {"lr": 0.3, "momentum": 0.6, "dampening": 0.5, "weight_decay": 0.1}, "SGD",
     {"lr": 0.3, "momentum": 0.6, "dampening": 0.5, "weight_decay": 0.1}, {"v": "momentum_buffer"}, "d2l"),
    ("adam", {"lr": 0.3}, "Adam", {"lr": 0.3}, {"m": "exp_avg", "v": "exp_avg_sq", "t": "step"}, "d2l"),
    ("adam", {"lr": 0.05, "amsgrad": True}, "Adam", {"lr": 0.05, "amsgrad": True},
     {"m": "exp_avg", "v": "exp_avg_sq", "vmax": "max_exp_avg_sq", "t": "step"}, "rosenbrock"),
    ("adamw", {"lr": 0.3, "weight_decay": 0.1}, "AdamW", {"lr": 0.3, "weight_decay": 0.1},
     {"m": "exp_avg", "v": "exp_avg_sq", "t": "step"}, "d2l"),
    ("rmsprop", {"lr": 0.4, "alpha": 0.9}, "RMSprop", {"lr": 0.4, "alpha": 0.9},
     {"s": "square_avg"}, "d2l"),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True}, "RMSprop",
     {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True},
     {"s": "square_avg", "m": "grad_avg", "b": "momentum_buffer"}, "rosenbrock"),
    ("adadelta", {"rho": 0.9, "eps": 1e-6}, "Adadelta", {"rho": 0.9, "eps": 1e-6},
     {"s": "square_avg", "u": "acc_delta"}, "d2l"),
    ("adagrad", {"lr": 0.4}, "Adagrad", {"lr": 0.4}, {"s": "sum", "t": "step"}, "d2l"),
    ("adagrad", {"lr": 0.4, "lr_decay": 0.05}, "Adagrad", {"lr": 0.4, "lr_decay": 0.05},
     {"s": "sum", "t": "step"}, "d2l"),
    ("nadam", {"lr": 0.2}, "NAdam", {"lr": 0.2},
     {"m": "exp_avg", "v": "exp_avg_sq", "mu_product": "mu_product", "t": "step"}, "d2l"),
    ("radam", {"lr": 0.3}, "RAdam", {"lr": 0.3}, {"m": "exp_avg", "v": "exp_avg_sq", "t": "step"}, "d2l"),
    ("adamax", {"lr": 0.3}, "Adamax", {"lr": 0.3}, {"m": "exp_avg", "u": "exp_inf", "t": "step"}, "d2l"),
]


def _case_id(case):
    rule = case[0] if isinstance(case[0], str) else case[0].__name__
    return f"{rule}-{case[2]}-{'-'.join(f'{k}={v}' for k, v in case[1].items())}-{case[5]}"


def _torch_effective(rule, hp, st, prev, k):
    """The effective step per coordinate from torch's state (by the papers' formulas)."""
    name = rule if isinstance(rule, str) else rule.__name__
    lr = hp.get("lr", 1.0)
    if name == "adam" or name == "adamw":
        v = st["max_exp_avg_sq"] if hp.get("amsgrad") else st["exp_avg_sq"]
        return lr / (np.sqrt(v / (1 - 0.999 ** k)) + 1e-8)
    if name == "adagrad":
        return lr / (1 + (k - 1) * hp.get("lr_decay", 0.0)) / (np.sqrt(st["sum"]) + 1e-10)
    if name == "rmsprop":
        s = st["square_avg"] - (st["grad_avg"] ** 2 if hp.get("centered") else 0.0)
        return lr / (np.sqrt(s) + 1e-8)
    if name == "adadelta":  # uses the squared updates *before* this step
        return lr * np.sqrt(prev.get("acc_delta", 0.0) + hp["eps"]) / np.sqrt(st["square_avg"] + hp["eps"])
    if name == "adamax":
        return lr / st["exp_inf"]
    if name in ("momentum", "nesterov", "sgd"):
        return lr * np.ones(2)
    return None


@pytest.mark.parametrize("case", TORCH_CASES, ids=[_case_id(c) for c in TORCH_CASES])
def test_inspection_matches_torch_state_step_by_step(case):
    rule, hp, opt_name, torch_kw, keys, objective = case
    steps = 40
    rtol = RTOL[objective]
    ex = E.explore(rule, objective=objective, steps=steps, **hp)
    assert ex.diverged_at is None and ex.controls["step"].max == steps
    f = torch_objective(objective)
    p = torch.nn.Parameter(torch.tensor(ex.trajectory[0], dtype=torch.float64))
    opt = getattr(torch.optim, opt_name)([p], **torch_kw)
    prev = {}
    for t in range(steps + 1):  # t = steps: the look-ahead update from the last point
        ins = at_step(ex, t)
        assert ins["step"] == t and ins["update_number"] == t + 1 and ins["taken"] == (t < steps)
        point = p.detach().numpy().copy()
        np.testing.assert_allclose(ins["point"], point, rtol=rtol, atol=ATOL, err_msg=f"point, step {t}")
        np.testing.assert_array_equal(ins["point"], ex.trajectory[t])
        opt.zero_grad()
        f(p).backward()  # autograd agrees with the objective's own gradient ...
        np.testing.assert_allclose(p.grad.numpy(), ex.objective.grad(point), rtol=1e-12, atol=ATOL)
        # ... which torch then gets exactly, so both see the same gradient sequence
        p.grad = torch.tensor(ex.objective.grad(point), dtype=torch.float64)
        np.testing.assert_allclose(ins["grad"], p.grad.numpy(), rtol=rtol, atol=ATOL, err_msg=f"grad, step {t}")
        opt.step()
        new = p.detach().numpy().copy()
        np.testing.assert_allclose(ins["next_point"], new, rtol=rtol, atol=ATOL, err_msg=f"next, step {t}")
        np.testing.assert_allclose(ins["update"], new - point, rtol=rtol, atol=ATOL, err_msg=f"update, step {t}")
        st = {k: (v.numpy().copy() if torch.is_tensor(v) else v) for k, v in opt.state[p].items()}
        assert set(keys.values()) <= set(st), (sorted(st), keys)
        for ours, theirs in keys.items():
            assert ours in ins["state"], (t, ours, sorted(ins["state"]))
            np.testing.assert_allclose(np.asarray(ins["state"][ours], dtype=float),
                                       np.asarray(st[theirs], dtype=float), rtol=rtol, atol=ATOL,
                                       err_msg=f"state {ours!r} vs torch {theirs!r}, step {t}")
        expected = _torch_effective(rule, {**torch_kw, **hp}, st, prev, t + 1)
        if expected is not None:
            np.testing.assert_allclose(ins["effective_step"], expected, rtol=1e-9, atol=ATOL,
                                       err_msg=f"effective step, step {t}")
        if ins["direction"] is not None and not ("weight_decay" in hp and rule != rules.sgd):
            np.testing.assert_allclose(-ins["update"], ins["effective_step"] * ins["direction"],
                                       rtol=1e-9, atol=ATOL, err_msg=f"update = -e * direction, step {t}")
        if rule in ("adam", "adamw"):
            b1, b2 = ins["bias_correction"]
            assert b1 == pytest.approx(1 - 0.9 ** (t + 1), rel=1e-15)
            assert b2 == pytest.approx(1 - 0.999 ** (t + 1), rel=1e-15)
            np.testing.assert_allclose(ins["direction"], st["exp_avg"] / b1, rtol=1e-12, atol=ATOL)
        prev = st
    assert ex.error is None


def _full_hp(ex):
    info = rules.hyperparameters_of(ex.rule)
    out = {k: d for k, (d, _) in info.items()}
    out.update(ex.hyperparameters)
    return out


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_inspection_is_consistent(name):
    """For every rule of RULES: point = trajectory[t], next point = trajectory[t + 1] (the last
    point's is the rule's next call), update = -effective step * direction where both are known,
    the state's keys are labelled, and the frame is drawn."""
    ex = E.explore(name, steps=25)
    if "weight_decay" in ex.controls:
        ex.controls["weight_decay"].value = 0.0  # then update = -e * direction exactly
    traj = ex.trajectory
    n = len(traj) - 1
    assert ex.controls["step"].max == n and ex.controls["play"].max == n
    frames_seen = set()
    for t in range(n + 1):
        ins = at_step(ex, t)
        np.testing.assert_array_equal(ins["point"], traj[t])
        if t < n:
            np.testing.assert_array_equal(ins["next_point"], traj[t + 1])
        np.testing.assert_allclose(ins["point"] + ins["update"], ins["next_point"], rtol=1e-12, atol=1e-14)
        assert set(ins["state"]) <= set(KNOWN_STATE[name]) | {"t"}, (name, sorted(ins["state"]))
        for key in ins["state"]:
            assert ins["state_names"][key] == KNOWN_STATE[name][key][0]
        if ins["effective_step"] is not None and ins["direction"] is not None:
            np.testing.assert_allclose(-ins["update"], ins["effective_step"] * ins["direction"],
                                       rtol=1e-9, atol=1e-13, err_msg=f"{name}, step {t}")
        assert ins["lr"] == pytest.approx(ex.hyperparameters.get("lr", _full_hp(ex).get("lr")))
        np.testing.assert_allclose(ins["raw_step"], -ins["lr"] * ins["grad"])
        frames_seen.add(ex.frame)
    # The last point's update is the rule's next call from there (not part of the path).
    state, x = {}, traj[0].copy()
    hp = ex.hyperparameters
    kw = {"hess": None} if name == "newton" else {}
    for t in range(n + 1):
        if name == "newton":
            kw["hess"] = ex.objective.hess(x)
        new = np.asarray(RULES[name](x, ex.objective.grad(x), state, **hp, **kw), dtype=float)
        if t < n:
            np.testing.assert_array_equal(new, traj[t + 1])
        x = new
    np.testing.assert_array_equal(ins["next_point"], x)
    assert not ins["taken"] and "not taken" in ins["note"]
    assert len(frames_seen) > n // 2  # the overlay moves with the step
    assert ex.error is None


ADAPTIVE = {"adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam", "adamax",
            "adafactor", "adamw_schedulefree"}


def test_which_rules_get_a_box():
    for name in RULES:
        ex = E.explore(name, steps=10)
        ins = at_step(ex, 8)
        assert ins["adaptive"] == (name in ADAPTIVE), name
        box = ex.inspector.box
        assert box.get_visible() == (name in ADAPTIVE), name
        if box.get_visible():
            e, x = ins["effective_step"], ins["point"]
            assert (box.get_width(), box.get_height()) == pytest.approx(tuple(e))
            assert (box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2) == pytest.approx(tuple(x))
        ex.close()
    ex = E.explore("radam", steps=10)
    assert not at_step(ex, 3)["adaptive"] and not ex.inspector.box.get_visible()  # rho_k <= 5 for k <= 5
    assert at_step(ex, 4)["effective_formula"].startswith("lr (rho_k <= 5")
    assert at_step(ex, 5)["adaptive"] and ex.inspector.box.get_visible()
    assert at_step(ex, 5)["extras"]["rho_k (SMA length)"] > 5


# ---------------------------------------------------------------------------------------------
# rules written from scratch: the chapters' own


@hyperparams(eta=(0.0, 1.0), beta=(0.0, 0.99))
def momentum_rule(x, g, state, eta=0.4, beta=0.5):
    state["v"] = beta * state.get("v", 0.0) + g
    return x - eta * state["v"]


@hyperparams(eta=(0.0, 3.0), eps=(1e-10, 1.0, "log"))
def adagrad_rule(x, g, state, eta=0.4, eps=1e-6):
    state["s"] = state.get("s", 0.0) + g * g
    return x - eta * g / np.sqrt(state["s"] + eps)


@hyperparams(rho=(0.0, 0.999), eps=(1e-10, 1.0, "log"))
def adadelta_rule(x, g, state, *, rho=0.9, eps=1e-6):
    s = rho * state.get("s", 0.0) + (1 - rho) * g ** 2
    delta = state.get("delta", 0.0)
    state["rate"] = np.sqrt(delta + eps) / np.sqrt(s + eps)
    g_prime = state["rate"] * g
    state["s"], state["delta"] = s, rho * delta + (1 - rho) * g_prime ** 2
    return x - g_prime


adam_rule = hyperparams(eta=(0.0, 1.0), beta1=(0.0, 0.99), beta2=(0.0, 0.9999),
                       eps=(1e-10, 1.0, "log"))(learner_rules.make_adam_rule())


def test_own_momentum_rule_velocity_is_recorded_and_drawn():
    ex = E.explore(momentum_rule, steps=20)
    for t in (0, 1, 7, 20):
        ins = at_step(ex, t)
        assert ins["lr"] == 0.4 and ins["state_names"] == {"v": "velocity v"}
        # v after update k = t + 1 is the sum of beta^j g_{t-j}
        v = sum(0.5 ** j * ex.objective.grad(ex.trajectory[t - j]) for j in range(t + 1))
        np.testing.assert_allclose(ins["state"]["v"], v, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ins["update"], -0.4 * v, rtol=1e-12, atol=1e-14)
        assert ins["effective_step"] is None and not ins["adaptive"]  # not a per-coordinate scaling
        (key, vec, text), = ins["arrows"]
        assert key == "v" and "velocity" in text
        np.testing.assert_allclose(vec, -0.4 * v)
        inside = E._inside(ins["point"], ex.view)[0]  # x_1 lies above the view (x2 > 1)
        assert ex.inspector.buffer_arrows[0].get_visible() == inside, t
        assert not ex.inspector.box.get_visible()


def test_own_adagrad_and_adadelta_rules_get_their_effective_step():
    ex = E.explore(adagrad_rule, steps=30)
    widths = []
    for t in range(31):
        ins = at_step(ex, t)
        np.testing.assert_allclose(ins["effective_step"], 0.4 / np.sqrt(ins["state"]["s"] + 1e-6), rtol=1e-9)
        assert ins["adaptive"] and ins["state_names"]["s"] == "sum or average of squared gradients s"
        widths.append(ex.inspector.box.get_width())
    assert all(b <= a for a, b in zip(widths, widths[1:]))  # AdaGrad's box only shrinks
    ex = E.explore(adadelta_rule, steps=30)
    for t in (0, 5, 30):
        ins = at_step(ex, t)
        np.testing.assert_allclose(ins["effective_step"], ins["state"]["rate"], rtol=1e-9)
        assert ins["state_kinds"] == {"rate": "rate", "s": "square", "delta": "square"}


def test_own_adam_rule_with_and_without_bias_correction():
    ex = E.explore(adam_rule, steps=20)
    for t in (0, 1, 2, 10):
        ins = at_step(ex, t)
        k = t + 1
        assert ins["state"]["t"] == k and ins["extras"]["update number k"] == k
        assert ins["state_names"]["v"] == "second moment v" and ins["state_names"]["m"] == "first moment m"
        v_hat = ins["state"]["v"] / (1 - 0.999 ** k)
        np.testing.assert_allclose(ins["effective_step"], 0.4 / (np.sqrt(v_hat) + 1e-6), rtol=1e-9)
        assert ins["bias_correction"] == pytest.approx((1 - 0.9 ** k, 1 - 0.999 ** k))
        np.testing.assert_allclose(ins["direction"], ins["state"]["m"] / (1 - 0.9 ** k), rtol=1e-12)
    with_bc = at_step(ex, 0)["effective_step"]
    ex.controls["bias_correction"].value = False
    ins = at_step(ex, 0)
    np.testing.assert_allclose(ins["effective_step"], 0.4 / (np.sqrt(ins["state"]["v"]) + 1e-6), rtol=1e-9)
    assert ins["bias_correction"] is None
    # Without the correction the first step's scaling is sqrt(1 / (1 - beta2)) ~ 31.6 times larger.
    assert np.all(ins["effective_step"] > 25 * with_bc)


def test_an_unknown_state_is_shown_under_its_keys():
    def odd(x, g, state, lr=0.1):
        state["history"] = state.get("history", []) + [float(g[0])]
        state["scale"] = np.array([1.0, 2.0])
        state["note"] = "hello"
        return x - lr * g * state["scale"]

    ex = E.explore(odd, steps=5)
    ins = at_step(ex, 3)
    assert ins["state"]["history"] == [float(ex.objective.grad(ex.trajectory[t])[0]) for t in range(4)]
    assert ins["state_names"]["scale"] == "state['scale']"
    np.testing.assert_allclose(ins["effective_step"], [0.1, 0.2])  # -update / g
    assert not ins["adaptive"]  # no squared-gradient buffer: no box
    table = ex.inspector.table.value
    assert "state[&#x27;scale&#x27;]" in table and "history" not in table  # only numbers are shown


# ---------------------------------------------------------------------------------------------
# schedules, noise, divergence, errors


def test_schedule_and_noise_reach_the_inspection():
    ex = E.explore("momentum", stochastic=True, noise=0.5, schedule="exponential", seed=3, steps=30)
    table = np.random.default_rng(3).standard_normal((201, 2))
    for t in (0, 4, 29, 30):
        ins = at_step(ex, t)
        assert ins["lr"] == pytest.approx(0.4 * math.exp(-0.1 * (t + 1)), rel=1e-15)
        np.testing.assert_allclose(ins["grad"], ex.objective.grad(ins["point"]) + 0.5 * table[t],
                                   rtol=0, atol=1e-15)
    ex.set(steps=200)
    ins = at_step(ex, 200)  # the look-ahead at step 200 uses noise row 200
    assert ins["next_point"] is not None and not ins["taken"]


def test_diverged_run_stops_the_step_control_at_the_last_finite_point():
    ex = E.explore("gd", lr=2.0)  # diverges at step 8: x_8 is beyond 1e6 view sizes
    assert ex.diverged_at == 8 and len(ex.trajectory) == 8
    step = ex.controls["step"]
    assert step.max == 7 and ex.controls["play"].max == 7
    step.value = 7
    ins = ex.inspection
    np.testing.assert_array_equal(ins["point"], ex.trajectory[7])
    assert abs(ins["next_point"][1]) > 1e6 and "diverges" in ins["note"]
    assert ex.frame[:8] == PNG_SIGNATURE and ex.error is None
    assert "diverges" in ex.inspector.table.value
    ex.controls["lr"].value = 0.3  # safe again: the step stays where it was
    assert step.max == 20 and step.value == 7

    def exploding(x, g, state, lr=0.1):
        state["t"] = state.get("t", 0) + 1
        return np.array([np.inf, 0.0]) if state["t"] == 4 else x - lr * g

    ex = E.explore(exploding)
    assert ex.diverged_at == 4 and ex.controls["step"].max == 3
    ins = at_step(ex, 3)
    assert np.isinf(ins["next_point"][0]) and "not finite" in ins["note"]
    assert not ex.inspector.update_arrow.get_visible()
    assert ex.frame[:8] == PNG_SIGNATURE


def test_a_rule_error_leaves_the_last_point_without_update():
    def picky(x, g, state, lr=0.1):
        state["t"] = state.get("t", 0) + 1
        if state["t"] == 3:
            raise ValueError("boom")
        return x - lr * g

    ex = E.explore(picky)
    assert "error at step 3" in ex.readout and ex.controls["step"].max == 2
    ins = at_step(ex, 2)
    assert ins["update"] is None and ins["next_point"] is None and "failed" in ins["note"]
    assert ex.frame[:8] == PNG_SIGNATURE


def test_steps_and_step_in_one_set():
    ex = E.explore("momentum", steps=20)
    ex.set(steps=50, step=40)
    assert ex.controls["step"].value == 40 and ex.inspection["step"] == 40
    ex.set(steps=10)
    assert ex.controls["step"].value == 10 and ex.controls["step"].max == 10


def test_a_step_the_code_sets_is_what_the_code_asked_for():
    """``controls['step'].value = t`` in a chapter's cell is recorded in ``code_values`` (the
    browser readout test compares the page's step slider with it); a step from the page is not."""
    for ex in (E.explore("momentum", steps=20), E.race(steps=20), E.explore_1d(steps=10)):
        assert ex.code_values["step"] == 0
        ex.controls["step"].value = 3
        assert ex.code_values["step"] == 3
        step = ex.controls["step"]
        with step._lock_property(value=5):  # how ipywidgets applies a value the page sent
            step.value = 5
        assert ex.inspection["step"] == 5 and ex.code_values["step"] == 3
        ex.set(step=7)
        assert ex.code_values["step"] == 7
        ex.reset_sliders()  # every slider back to its opening, the step too
        assert ex.controls["step"].value == 0 and ex.code_values["step"] == 0


# ---------------------------------------------------------------------------------------------
# speed: a step move redraws, it never recomputes


def test_moving_step_redraws_without_recomputing(monkeypatch):
    ex = E.explore("adam", steps=50)
    traj = ex.trajectory
    updates, n_frames = ex.n_updates, ex.n_frames

    def forbidden():
        raise AssertionError("a step move recomputed the path")

    monkeypatch.setattr(ex, "_compute", forbidden)
    seen = []
    for t in range(5, 51, 5):
        ex.controls["step"].value = t
        seen.append(ex.frame)
        assert ex.inspection["step"] == t
    assert ex.error is None
    assert ex.n_updates == updates and ex.n_frames == n_frames + len(seen)
    assert len(set(seen)) == len(seen)
    assert ex.trajectory is traj
    x = ex.inspector.point_marker.get_xydata()[0]
    np.testing.assert_array_equal(x, traj[50])


# ---------------------------------------------------------------------------------------------
# controls, table, race, 1-D


def test_step_play_and_speed_controls():
    for ex in (E.explore("adam", steps=30), E.race(steps=30), E.explore_1d(steps=10)):
        step, play, speed = ex.controls["step"], ex.controls["play"], ex.controls["speed"]
        assert isinstance(step, widgets.IntSlider) and isinstance(play, widgets.Play)
        assert isinstance(speed, widgets.IntSlider)
        assert (step.min, step.max, step.value) == (0, ex.controls["steps"].value, 0)
        assert (play.min, play.max) == (step.min, step.max)
        assert play.interval == speed.value and speed.min <= play.interval <= speed.max
        links = {(l.source[0], l.source[1], l.target[0], l.target[1]) for l in ex.inspector.links}
        assert links == {(speed, "value", play, "interval")}
        assert all(type(l).__name__ == "Link" for l in ex.inspector.links)  # jslink: in the browser
        assert play.step == 0  # the kernel plays; the page's Play timer moves nothing by itself
        ex.controls["steps"].value = 7
        assert step.max == play.max == 7
        # Play and step are linked in the kernel, both ways
        step.value = 3
        assert play.value == 3
        play.value = 5
        assert step.value == 5 and ex.inspection["step"] == 5
        speed.value = 120
        assert play.interval == 120
        assert ex.inspector.widget in ex.widget.children
        assert ex.widget.children.index(ex.inspector.widget) == ex.widget.children.index(ex.readout_html) + 1


def _set_playing(play, on: bool) -> None:
    setattr(play, "playing" if play.has_trait("playing") else "_playing", on)


def _play_in_a_loop(ex, timeout: float = 10.0, pause_at=None):
    """Turn Play on inside a running event loop (as the page's button does in a kernel) and run
    the loop until Play turns itself off (or ``pause_at``: then pause it); returns the steps
    seen, in order, with their pictures."""
    import asyncio

    seen = []
    step, play = ex.controls["step"], ex.controls["play"]
    step.observe(lambda change: seen.append((change["new"], ex.frame)), names="value")

    async def main():
        _set_playing(play, True)
        t0 = asyncio.get_running_loop().time()
        while ex.inspector.playing and asyncio.get_running_loop().time() - t0 < timeout:
            if pause_at is not None and step.value >= pause_at:
                _set_playing(play, False)
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(3 * play.interval / 1000)  # a stopped playback moves no further

    asyncio.run(main())
    return seen


def test_play_is_driven_by_the_kernel_to_the_last_step():
    """Play on: the kernel moves step one at a time to the last step, a picture per step, then
    turns Play off; moving step never recomputes the path; the steps are the page's, not code's."""
    for ex in (E.explore("adam", steps=12), E.race(steps=8), E.explore_1d(steps=6)):
        c = ex.controls
        c["speed"].value = c["speed"].min
        updates, ticks = ex.n_updates, ex.inspector.n_play_ticks
        seen = _play_in_a_loop(ex)
        last = c["step"].max
        assert [t for t, _ in seen] == list(range(1, last + 1))
        assert not ex.inspector.playing and c["play"].value == c["step"].value == last
        assert ex.inspector.n_play_ticks - ticks == last
        assert ex.n_updates == updates and ex.error is None
        assert ex.inspection["step"] == last
        assert ex.code_values["step"] == 0  # played, not asked for by code: still the opening
        # Play again at the end starts from the first step
        seen = _play_in_a_loop(ex)
        assert [t for t, _ in seen] == [0] + list(range(1, last + 1))


def test_play_paces_by_its_interval_and_pauses():
    import time as _time

    ex = E.explore("momentum", steps=40)
    c = ex.controls
    c["speed"].value = 100
    t0 = _time.perf_counter()
    seen = _play_in_a_loop(ex, pause_at=5)
    took = _time.perf_counter() - t0
    assert c["step"].value == 5 and not ex.inspector.playing
    assert [t for t, _ in seen] == [1, 2, 3, 4, 5]  # nothing after the pause
    assert took >= 5 * 0.1 * 0.9  # one interval per step (a loose lower bound, no timing target)
    # the kernel has the picture of the step it shows
    assert ex.inspection["step"] == 5 and seen[-1][1] != seen[0][1]


def test_play_without_an_event_loop_and_after_close_does_nothing():
    ex = E.explore("adam", steps=10)
    _set_playing(ex.controls["play"], True)  # plain Python: no loop to play in
    assert ex.controls["step"].value == 0 and ex.inspector._tick is None and ex.error is None
    _set_playing(ex.controls["play"], False)
    ex.close()
    import asyncio

    async def main():
        ex.inspector._playing_changed(True)
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert ex.inspector._tick is None and ex.error is None


def test_the_table_shows_the_inspection():
    ex = E.explore("adam", steps=10)
    ins = at_step(ex, 2)
    table = ex.inspector.table.value
    for key in ("point", "grad", "update", "next_point", "effective_step"):
        for v in ins[key]:
            assert f"{v:.4g}" in table, key
    for label in ("first moment m", "second moment v", "bias correction 1 - beta1^k", "1 - beta2^k",
                  "plain gradient step", "effective step", "update x_t+1 - x_t", "step t = 2",
                  "update k = 3"):
        assert label in table, label
    assert f"{ins['bias_correction'][0]:.4g}" in table


def test_race_inspects_the_chosen_run():
    r = E.race({"gd": ("gd", {"lr": 2.0}), "adam": ("adam", {"lr": 0.3})}, steps=20)
    assert r.diverged_at["gd"] == 8
    pick = r.controls["inspect"]
    assert isinstance(pick, widgets.Dropdown) and tuple(pick.options) == ("gd", "adam")
    assert r.controls["step"].max == 7  # gd's last finite point
    assert r.inspection["label"] == "gd"
    pick.value = "adam"
    assert r.controls["step"].max == 20
    r.controls["step"].value = 15
    ins = r.inspection
    assert ins["label"] == "adam" and ins["adaptive"]
    np.testing.assert_array_equal(ins["point"], r.trajectory["adam"][15])
    assert "adam, step t = 15" in r.inspector.table.value
    assert r.inspector.point_marker.get_markeredgecolor() == r.path_lines["adam"].get_color()
    pick.value = "gd"
    assert r.controls["step"].value == 7 and r.inspection["label"] == "gd"


def test_explore_1d_step_shows_the_local_model():
    ex = E.explore_1d("newton", "xcos", steps=10)
    obj = ex.objective
    for t in (0, 3, 10):
        ins = at_step(ex, t)
        x = ex.trajectory[t]
        assert ins["point"] == x and ins["grad"] == obj.df(x) and ins["hess"] == obj.d2f(x)
        assert ins["model"] == (obj(x), obj.df(x), obj.d2f(x))
        assert ins["newton_step"] == pytest.approx(-obj.df(x) / obj.d2f(x), rel=1e-15)
        assert ins["update"] == pytest.approx(ins["newton_step"], rel=1e-12)
        assert ins["effective_step"] == pytest.approx(1.0 / obj.d2f(x))
        mx, my = ex.inspector.model.get_data()
        np.testing.assert_allclose(my, obj(x) + obj.df(x) * (mx - x) + 0.5 * obj.d2f(x) * (mx - x) ** 2)
        assert mx.min() <= x <= mx.max()
        tx, ty = ex.inspector.tangent.get_data()
        np.testing.assert_allclose(ty, obj(x) + obj.df(x) * (tx - x))
        if t < 10:
            assert ins["next_point"] == ex.trajectory[t + 1]
    ex.set(method="gd", lr=0.05)
    ins = at_step(ex, 2)
    assert ins["update"] == pytest.approx(-0.05 * obj.df(ins["point"]), rel=1e-12)
    assert ins["raw_step"] == pytest.approx(ins["update"], rel=1e-12) and ins["effective_step"] == 0.05
    ex2 = E.explore_1d("gd", "square", lr=2.0, steps=50)  # diverges at step 14
    assert ex2.diverged_at == 14 and ex2.controls["step"].max == 13
    ins = at_step(ex2, 13)
    assert "diverges" in ins["note"] and abs(ins["next_point"]) > 1e6
    assert ex2.frame[:8] == PNG_SIGNATURE


def test_explore_1d_records_a_rules_state():
    ex = E.explore_1d(adagrad_rule, "square", steps=6)
    ins = at_step(ex, 3)
    s = sum(ex.objective.df(ex.trajectory[j]) ** 2 for j in range(4))
    assert ins["state"]["s"] == pytest.approx(np.array([s]), rel=1e-12)
    assert ins["effective_step"] == pytest.approx(0.4 / math.sqrt(s + 1e-6), rel=1e-9)


def test_close_closes_the_links_and_the_inspector_stays_safe():
    ex = E.explore("adam")
    links = list(ex.inspector.links)
    ex.close()
    assert all(l.comm is None for l in links)
    assert ex.controls["step"].comm is None and ex.inspector.table.comm is None
    ex.controls["step"].value = 5  # a stale reference: no error, nothing drawn
    assert ex.error is None and ex.frame == b""

"""Batched sweeps (d2lmini.sweeps) and the classifier loop (d2lmini.training.train_classifier).

* every configuration of a batched sweep equals train_classifier run on it alone (train loss,
  validation loss and final weights within 1e-6), for every rule that trains networks, with
  swept values that take the special branches (momentum 0 and > 0, weight decay 0 and > 0);
* the batched rule equals the torch.optim class on the same configuration (1e-6);
* a configuration's result does not depend on the others in the sweep;
* diverging configurations are data: recorded, drawn at the top of the plots, never a crash;
* the summaries over seeds, the plots and the errors for bad input.

Small problems (Iris, a few epochs; digits for two epochs) keep this file fast.
"""
from __future__ import annotations

import contextlib
import io
import math
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

import d2lmini as d2l
from d2lmini import rules, sweeps
from d2lmini.training import train_classifier

TOL = 1e-6
IRIS = d2l.get_data_iris(seed=0)
IRIS_NET = dict(num_inputs=4, num_hiddens=6, num_outputs=3, activation="sigmoid")


def iris_model():
    return d2l.mlp(**IRIS_NET)


def one_at_a_time(optimizer, hp, data, model_fn, seed, num_epochs, batch_size, **kw):
    """train_classifier on one configuration: its history and the trained weights."""
    net = model_fn()
    hist = train_classifier(optimizer, hp, data, model=net, num_epochs=num_epochs,
                            batch_size=batch_size, seed=seed, plot=False, verbose=False, **kw)
    return hist, [p.detach().numpy().copy() for p in net.parameters()]


def assert_config_matches(res, c, hist, weights, tol=TOL):
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(res.history[key][c], hist[key], rtol=0, atol=tol, err_msg=key)
    n_val = IRIS.sizes["val"]
    # accuracy is a count: equal up to a near-tie of the argmax (one example)
    assert np.max(np.abs(res.history["val_acc"][c] - np.array(hist["val_acc"]))) <= 1 / n_val + 1e-12
    assert res.diverged_at[c] == hist["diverged_at"]
    for stacked, w in zip(res.params, weights):
        np.testing.assert_allclose(stacked[c], w, rtol=0, atol=tol)


# ---------------------------------------------------------------------------------------------
# 1. batched == one at a time, for every rule that trains networks


# (rule, lrs, fixed hyperparameters, swept hyperparameters)
RULE_CASES = [
    pytest.param("gd", [0.1, 0.5], {}, {}, id="gd"),
    pytest.param("sgd", [0.05, 0.2], {}, {"momentum": [0.0, 0.9]}, id="sgd-momentum-0-and-0.9"),
    pytest.param("sgd", [0.05, 0.2], {"dampening": 0.5}, {"momentum": [0.0, 0.9]},
                 id="sgd-dampening-momentum-0-and-0.9"),
    pytest.param("sgd", [0.05, 0.2], {"momentum": 0.9, "nesterov": True}, {"weight_decay": [0.0, 1e-2]},
                 id="sgd-nesterov-weight_decay-0-and-0.01"),
    pytest.param("sgd", [0.05], {"maximize": False, "weight_decay": 1e-3}, {"momentum": [0.5]},
                 id="sgd-weight_decay"),
    pytest.param("momentum", [0.05, 0.2], {}, {"momentum": [0.5, 0.9]}, id="momentum"),
    pytest.param("nesterov", [0.05, 0.2], {"momentum": 0.9}, {}, id="nesterov"),
    pytest.param("momentum_sutskever", [0.05], {"momentum": 0.9}, {}, id="momentum_sutskever"),
    pytest.param("momentum_ema", [0.5], {}, {"beta": [0.0, 0.9]}, id="momentum_ema"),
    pytest.param("adagrad", [0.05, 0.3], {"initial_accumulator_value": 0.1}, {"lr_decay": [0.0, 0.01]},
                 id="adagrad-lr_decay"),
    pytest.param("adagrad", [0.05, 0.3], {"eps": 1e-6, "eps_inside": True}, {"weight_decay": [0.0, 1e-2]},
                 id="adagrad-d2l-eps-inside-weight_decay"),
    pytest.param("rmsprop", [1e-3, 1e-2], {"alpha": 0.9}, {"momentum": [0.0, 0.5]},
                 id="rmsprop-momentum-0-and-0.5"),
    pytest.param("rmsprop", [1e-3, 1e-2], {"centered": True}, {"momentum": [0.0, 0.9]},
                 id="rmsprop-centered-momentum"),
    pytest.param("rmsprop", [1e-2], {"alpha": 0.9, "eps": 1e-6, "eps_inside": True}, {}, id="rmsprop-d2l"),
    pytest.param("adadelta", [0.5, 1.0], {}, {"rho": [0.9, 0.95]}, id="adadelta"),
    pytest.param("adam", [1e-3, 1e-2], {}, {"beta2": [0.99, 0.999]}, id="adam-beta2"),
    pytest.param("adam", [1e-3, 1e-2], {"amsgrad": True}, {"weight_decay": [0.0, 1e-2]},
                 id="adam-amsgrad-weight_decay-0-and-0.01"),
    pytest.param("adam", [1e-2], {"decoupled_weight_decay": True}, {"weight_decay": [0.0, 0.1]},
                 id="adam-decoupled"),
    pytest.param("adamw", [1e-3, 1e-2], {}, {"weight_decay": [0.01, 0.1]}, id="adamw"),
    # the rules after Adam (chapter 10)
    pytest.param("nadam", [1e-3, 1e-2], {}, {"momentum_decay": [4e-3, 4e-2]}, id="nadam"),
    pytest.param("nadam", [1e-2], {"decoupled_weight_decay": True}, {"weight_decay": [0.0, 0.1]},
                 id="nadam-decoupled"),
    pytest.param("radam", [1e-2, 1e-1], {}, {"beta2": [0.99, 0.999]}, id="radam"),
    pytest.param("adamax", [1e-3, 1e-2], {}, {"beta1": [0.0, 0.9]}, id="adamax"),
    pytest.param("adafactor", [1e-2, 1e-1], {}, {"beta2_decay": [-0.8, -0.5]}, id="adafactor"),
    pytest.param("lion", [1e-3, 1e-2], {}, {"beta1": [0.9, 0.95]}, id="lion"),
    pytest.param("adamw_schedulefree", [1e-3, 1e-2], {}, {"warmup_steps": [0, 5]}, id="adamw_schedulefree"),
    pytest.param("sgd_schedulefree", [0.1, 0.5], {"warmup_steps": 5}, {"momentum": [0.0, 0.9]},
                 id="sgd_schedulefree-momentum-0-and-0.9"),
]


def _check_sweep_against_single_runs(rule, lrs, fixed, swept, seeds=(0, 1), num_epochs=3, batch_size=16,
                                     data=IRIS, model_fn=iris_model, **kw):
    res = sweeps.sweep(rule, lrs=lrs, seeds=list(seeds), data=data, model=model_fn(),
                       num_epochs=num_epochs, batch_size=batch_size, verbose=False, **fixed, **swept, **kw)
    assert len(res) == len(lrs) * int(np.prod([len(v) for v in swept.values()] or [1])) * len(seeds)
    for c, cfg in enumerate(res.configs):
        hp = dict(fixed, **{k: v for k, v in cfg.items() if k != "seed"})
        hist, weights = one_at_a_time(rule, hp, data, model_fn, cfg["seed"], num_epochs, batch_size, **kw)
        assert_config_matches(res, c, hist, weights)
    return res


@pytest.mark.parametrize("rule, lrs, fixed, swept", RULE_CASES)
def test_every_configuration_equals_training_it_alone(rule, lrs, fixed, swept):
    res = _check_sweep_against_single_runs(rule, lrs, fixed, swept)
    # the runs learn something (a test of equality between two broken loops would pass too)
    assert np.nanmin(res.final("train_loss")) < 0.9 * res.history["train_loss"][0, 0]


def test_digits_relu_network_equals_training_alone():
    digits = d2l.get_data_digits(seed=0)
    res = _check_sweep_against_single_runs(
        "adam", [1e-3, 1e-2], {}, {}, seeds=(0, 3), num_epochs=2, batch_size=32, data=digits,
        model_fn=lambda: d2l.mlp(64, 32, 10))
    assert res.sizes == (64, 32, 10) and res.activation == "relu"
    assert res.final("val_acc").max() > 0.9


def test_softmax_regression_and_lr_schedule_equal_training_alone():
    schedule = lambda t: 1.0 / (1.0 + 0.05 * t)  # noqa: E731
    _check_sweep_against_single_runs("sgd", [0.1, 1.0], {"momentum": 0.9}, {}, num_epochs=3,
                                     model_fn=lambda: d2l.softmax_regression(4, 3), lr_schedule=schedule)


@d2l.hyperparams(lr=(0.0, 1.0))
def normalized_gd(x, g, state, lr=0.1, eps=1e-12):
    """A rule that is not elementwise: the gradient divided by its Frobenius norm over the last
    two axes (each configuration's matrix; a bias is a 1 x n matrix)."""
    norm = np.sqrt((g * g).sum(axis=(-2, -1), keepdims=True))
    return x - lr * g / (norm + eps)


def test_a_matrix_rule_takes_the_per_parameter_path_and_equals_training_alone():
    assert not sweeps._is_elementwise(normalized_gd) and sweeps._is_elementwise(rules.adam)
    res = _check_sweep_against_single_runs(normalized_gd, [0.05, 0.2], {}, {"eps": [1e-12, 1e-3]})
    assert res.rule == "normalized_gd"
    # the batched rule saw (C, fan_in, fan_out) weights and (C, 1, n) biases: one norm per
    # configuration and matrix, so every configuration moved by exactly lr per step and layer
    res1 = sweeps.sweep(normalized_gd, lrs=[0.05, 0.2], seeds=[0], data=IRIS, model=iris_model(), num_epochs=1,
                        batch_size=90, verbose=False)
    for c, lr in enumerate([0.05, 0.2]):
        for stacked, w0 in zip(res1.params, d2l.init_params((4, 6, 3), "torch", seed=0)):
            assert np.linalg.norm(stacked[c] - w0) == pytest.approx(lr, rel=1e-9)


def test_the_rule_trainer_is_the_sweeps_update():
    """train_classifier('adam', ...) and train_classifier(rule_trainer('adam'), ...) are one path."""
    h1, w1 = one_at_a_time("adam", {"lr": 1e-2}, IRIS, iris_model, 0, 2, 16)
    h2, w2 = one_at_a_time(d2l.rule_trainer("adam"), {"lr": 1e-2}, IRIS, iris_model, 0, 2, 16,
                           states=lambda params: [{} for _ in params])
    assert h1["val_loss"] == h2["val_loss"]
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))


# ---------------------------------------------------------------------------------------------
# 1b. one rule per parameter (Muon for a hidden weight matrix, AdamW for the rest)


MIXED = {"W1": "muon", "weight": ("adamw", {"lr": 1e-2}), "bias": ("adamw", {"lr": 1e-2})}


def test_per_parameter_rule_equals_training_it_alone():
    """Every configuration of a sweep with one rule per parameter equals train_classifier with the
    same dict; swept and shared hyperparameters go to the rules that take them (weight_decay to
    both, momentum to Muon only), own hyperparameters (AdamW's lr) stay fixed."""
    res = _check_sweep_against_single_runs(MIXED, [0.01, 0.05], {"momentum": 0.9},
                                           {"weight_decay": [0.0, 0.1]})
    assert res.rule == "muon+adamw" and res.swept == ["lr", "weight_decay"]
    assert np.nanmin(res.final("train_loss")) < 0.9 * res.history["train_loss"][0, 0]
    # a group key alone, and a schedule (which scales the own lr of AdamW too)
    _check_sweep_against_single_runs({"weight": "muon", "bias": "adamw"}, [0.02], {}, {},
                                     lr_schedule=lambda t: 0.9 ** t)


def test_per_parameter_rule_applies_each_rule_to_its_parameters():
    """The dict in train_classifier does what a hand-written trainer does: rules.muon on W1 with the
    shared lr, rules.adamw on W2, b1, b2 with their own lr (biases as 1 x n matrices)."""

    def by_hand(params, states, hp):
        for i, (p, state) in enumerate(zip(params, states)):
            x, g = p.detach().numpy(), p.grad.numpy()
            if x.ndim == 1:
                x, g = x.reshape(1, -1), g.reshape(1, -1)
            if i == 0:
                x[...] = rules.muon(x, g, state, lr=hp["lr"], momentum=0.9)
            else:
                x[...] = rules.adamw(x, g, state, lr=1e-2)

    h1, w1 = one_at_a_time(MIXED, {"lr": 0.05, "momentum": 0.9}, IRIS, iris_model, 3, 2, 16)
    h2, w2 = one_at_a_time(by_hand, {"lr": 0.05}, IRIS, iris_model, 3, 2, 16,
                           states=lambda params: [{} for _ in params])
    assert h1["val_loss"] == h2["val_loss"]
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    # and one rule for every parameter is that rule
    h3, w3 = one_at_a_time({"weight": "adam", "bias": "adam"}, {"lr": 1e-2}, IRIS, iris_model, 0, 2, 16)
    h4, w4 = one_at_a_time("adam", {"lr": 1e-2}, IRIS, iris_model, 0, 2, 16)
    assert h3["val_loss"] == h4["val_loss"] and all(np.array_equal(a, b) for a, b in zip(w3, w4))


def test_a_zero_schedule_freezes_every_part_of_a_per_parameter_rule():
    res = sweeps.sweep(dict(MIXED, b2=("adam", {"lr": 0.5})), lrs=[0.05], seeds=[1], data=IRIS,
                       model=iris_model(), num_epochs=2, batch_size=16, lr_schedule=lambda t: 0.0,
                       weight_decay=0.1, verbose=False)
    for stacked, w0 in zip(res.params, d2l.init_params((4, 6, 3), "torch", seed=1)):
        np.testing.assert_array_equal(stacked[0], w0)


@pytest.mark.parametrize("rule, kwargs, exc, words", [
    ({"W9": "adam", "weight": "adam", "bias": "adam"}, {}, ValueError, "unknown key 'W9'"),
    ({"weight": "muon"}, {}, ValueError, "parameter 'b1' has no rule"),
    ({"weight": "muon", "bias": "adamw"}, {"alpha": 0.9}, TypeError, "['alpha']"),
    ({"weight": ("muon", {"beta1": 0.9}), "bias": "adamw"}, {}, TypeError, "muon has no hyperparameter"),
    ({"weight": ("muon", 0.9), "bias": "adamw"}, {}, TypeError, "(rule, {hyperparameters})"),
    ({"weight": "newton", "bias": "adamw"}, {}, ValueError, "Hessian"),
    ({}, {}, TypeError, "non-empty dict"),
])
def test_per_parameter_rule_bad_input(rule, kwargs, exc, words):
    with pytest.raises(exc) as info:
        sweeps.sweep(rule, lrs=[0.01], seeds=[0], data=IRIS, model=iris_model(), num_epochs=1,
                     verbose=False, **kwargs)
    assert words in str(info.value)
    with pytest.raises(exc) as info:
        train_classifier(rule, dict(kwargs, lr=0.01), IRIS, model=iris_model(), num_epochs=1, plot=False,
                         verbose=False)
    assert words in str(info.value)


def test_sweep_keeps_the_rules_final_states():
    """res.states holds each parameter's final rule state, stacked like the parameters: schedule-free
    SGD's average x of every configuration equals the one of a run alone."""
    res = sweeps.sweep("sgd_schedulefree", lrs=[0.1, 0.5], seeds=[0, 2], data=IRIS, model=iris_model(),
                       num_epochs=2, batch_size=16, verbose=False)
    assert len(res.states) == 4 and res.states[0]["x"].shape == (4, 4, 6) and res.states[1]["x"].shape == (4, 1, 6)
    for c, cfg in enumerate(res.configs):
        states = [{} for _ in range(4)]
        one_at_a_time(d2l.rule_trainer("sgd_schedulefree"), {"lr": cfg["lr"]}, IRIS, iris_model, cfg["seed"], 2, 16,
                      states=states)
        for stacked, alone in zip(res.states, states):
            np.testing.assert_allclose(stacked["x"][c], alone["x"], rtol=0, atol=TOL)
            np.testing.assert_allclose(stacked["z"][c], alone["z"], rtol=0, atol=TOL)
    # an elementwise rule keeps one state for all parameters laid end to end
    res = sweeps.sweep("adam", lrs=[0.01], seeds=[0], data=IRIS, model=iris_model(), num_epochs=1, verbose=False)
    assert len(res.states) == 1 and res.states[0]["m"].shape == (1, 1, 4 * 6 + 6 + 6 * 3 + 3)


# ---------------------------------------------------------------------------------------------
# 2. the batched NumPy rule equals the torch.optim class


TORCH_CASES = [
    pytest.param("sgd", {}, torch.optim.SGD, {}, id="SGD"),
    pytest.param("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}, torch.optim.SGD,
                 {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}, id="SGD-nesterov-weight_decay"),
    pytest.param("momentum", {"momentum": 0.9}, torch.optim.SGD, {"momentum": 0.9}, id="momentum=SGD"),
    pytest.param("adagrad", {"lr_decay": 0.01}, torch.optim.Adagrad, {"lr_decay": 0.01}, id="Adagrad"),
    pytest.param("rmsprop", {"centered": True, "momentum": 0.5, "alpha": 0.9}, torch.optim.RMSprop,
                 {"centered": True, "momentum": 0.5, "alpha": 0.9}, id="RMSprop-centered-momentum"),
    pytest.param("adadelta", {"rho": 0.95}, torch.optim.Adadelta, {"rho": 0.95}, id="Adadelta"),
    pytest.param("adam", {"amsgrad": True, "beta1": 0.8}, torch.optim.Adam, {"amsgrad": True, "betas": (0.8, 0.999)},
                 id="Adam-amsgrad"),
    pytest.param("adamw", {"weight_decay": 0.1}, torch.optim.AdamW, {"weight_decay": 0.1}, id="AdamW"),
]


@pytest.mark.parametrize("rule, hp, opt_class, torch_hp", TORCH_CASES)
def test_batched_rule_equals_torch_optim_on_every_configuration(rule, hp, opt_class, torch_hp):
    lrs = [1e-2, 0.1] if rule in ("sgd", "momentum", "adagrad") else ([0.5, 1.0] if rule == "adadelta" else [1e-3, 1e-2])
    res = sweeps.sweep(rule, lrs=lrs, seeds=[0, 1], data=IRIS, model=iris_model(), num_epochs=3,
                       batch_size=16, verbose=False, **hp)
    for c, cfg in enumerate(res.configs):
        hist, weights = one_at_a_time(opt_class, dict(torch_hp, lr=cfg["lr"]), IRIS, iris_model,
                                      cfg["seed"], 3, 16)
        assert_config_matches(res, c, hist, weights)


def test_torch_optim_with_a_schedule_equals_the_batched_rule():
    schedule = lambda t: 0.97 ** t  # noqa: E731  (what torch's LambdaLR stepped per batch gives)
    res = sweeps.sweep("adam", lrs=[1e-2], seeds=[2], data=IRIS, model=iris_model(), num_epochs=3,
                       batch_size=16, lr_schedule=schedule, verbose=False)
    hist, weights = one_at_a_time(torch.optim.Adam, {"lr": 1e-2}, IRIS, iris_model, 2, 3, 16, lr_schedule=schedule)
    assert_config_matches(res, 0, hist, weights)
    # and with torch's own LambdaLR, stepped after every batch
    net = iris_model().reset_parameters(2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    Xtr, ytr = IRIS.split("train", torch.float64)
    order = d2l.training.seed_streams(2)[1]
    for _ in range(3):
        perm = torch.from_numpy(order.permutation(len(ytr)))
        for start in range(0, len(ytr), 16):
            idx = perm[start:start + 16]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(Xtr[idx]), ytr[idx]).backward()
            opt.step()
            sched.step()
    for p, w in zip(net.parameters(), weights):
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# 3. configurations are independent; seeds fix initialisation and order


def test_a_configuration_does_not_depend_on_the_others():
    small = sweeps.sweep("rmsprop", lrs=[1e-2], seeds=[4], data=IRIS, model=iris_model(), num_epochs=3,
                         batch_size=16, verbose=False, momentum=0.5)
    big = sweeps.sweep("rmsprop", lrs=[1e-3, 1e-2, 1e4], seeds=[0, 4, 7], data=IRIS, model=iris_model(),
                       num_epochs=3, batch_size=16, verbose=False, momentum=[0.0, 0.5])
    c = big.configs.index({"lr": 1e-2, "momentum": 0.5, "seed": 4})
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(big.history[key][c], small.history[key][0], rtol=0, atol=1e-12)
    wild = [i for i, cfg in enumerate(big.configs) if cfg["lr"] == 1e4]
    assert np.all(big.final("train_loss")[wild] > 3 * small.final("train_loss")[0])  # wild neighbours


def test_same_seed_same_start_and_order_across_learning_rates():
    res = sweeps.sweep("gd", lrs=[0.0, 0.1], seeds=[0, 1], data=IRIS, model=iris_model(), num_epochs=2,
                       batch_size=16, verbose=False)
    start = res.by_setting("val_loss", epoch=0)  # (G, S)
    assert np.array_equal(start[0], start[1])  # same seed, same initial weights for every lr
    assert start[0, 0] != start[0, 1]  # different seeds, different weights
    # lr = 0 never moves: its weights are the initial ones
    for stacked, w0 in zip(res.params, d2l.init_params((4, 6, 3), "torch", seed=1)):
        np.testing.assert_array_equal(stacked[1], w0)


# ---------------------------------------------------------------------------------------------
# 4. diverging configurations are data
#
# A loss that overflows needs weights that grow multiplicatively: the ReLU network on (a part of)
# the digits does with plain SGD at a huge lr. (The sigmoid Iris net does not: its saturated
# hidden layer keeps the gradients bounded, and the loss only grows to ~1e5.)


def _digits_part():
    digits = d2l.get_data_digits(seed=0, dtype=torch.float64)
    (X, y), (Xv, yv) = digits.train, digits.val
    return (X[:320], y[:320]), (Xv[:120], yv[:120])


DIGITS_PART = _digits_part()


@pytest.fixture(scope="module")
def diverging():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings either
        res = sweeps.sweep("sgd", lrs=[0.1, 1e4, 1e9], seeds=[0, 1, 2], data=DIGITS_PART, model="mlp",
                           num_epochs=4, batch_size=32, verbose=False, momentum=0.9)
        res.summary()
    return res


def test_divergence_is_recorded_per_configuration(diverging):
    res = diverging
    nd = res.n_diverged()
    assert nd[0] == 0 and nd[2] == 3
    for c, k in enumerate(res.diverged_at):
        curve = res.history["val_loss"][c]
        if k is None:
            assert np.all(np.isfinite(curve))
        else:
            assert 1 <= k <= 4 and np.all(np.isfinite(curve[:k])) and np.all(np.isnan(curve[k:]))
    assert np.isnan(res.mean()[2])  # a diverged seed makes the setting's mean nan, never a number
    best = res.best()
    assert best["lr"] == 0.1 and res.best_lr == 0.1
    assert "diverged" in res.summary() and "<- best" in res.summary()


def test_a_diverging_configuration_alone_says_so(diverging):
    c = diverging.configs.index({"lr": 1e9, "seed": 1})
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = train_classifier("sgd", {"lr": 1e9, "momentum": 0.9}, DIGITS_PART, model="mlp", num_epochs=4,
                                batch_size=32, seed=1, plot=True)
    assert hist["diverged_at"] == diverging.diverged_at[c]
    assert "diverged in epoch" in out.getvalue() and "smaller learning rate" in out.getvalue()
    assert len(hist["val_loss"]) == 5 and math.isnan(hist["val_loss"][-1])
    d2l.plt.close("all")


def test_plots_show_divergence_at_the_top_without_collapsing(diverging):
    other = sweeps.sweep("adam", lrs=[1e-3, 1e-2], seeds=[0, 1, 2], data=DIGITS_PART, model="mlp",
                         num_epochs=4, batch_size=32, verbose=False)
    for draw in (lambda ax: d2l.plot_lr_sensitivity({"SGD + momentum": diverging, "Adam": other}, ax=ax),
                 lambda ax: diverging.plot_curves(ax=ax)):
        fig, ax = d2l.plt.subplots()
        draw(ax)
        lo, hi = ax.get_ylim()
        cap = 1.5 * np.median(np.concatenate([diverging.history["val_loss"][:, 0], other.history["val_loss"][:, 0]]))
        assert lo == 0 and 1.0 < hi < 2 * cap  # the axis is set by the untrained loss, not by 1e300
        crosses = [ln for ln in ax.lines if ln.get_marker() == "x" and len(ln.get_xdata())]
        assert crosses and all(np.allclose(ln.get_ydata(), hi / 1.08) for ln in crosses)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("diverged" in t for t in labels)
        for ln in ax.lines:  # everything drawn is finite and inside the axes
            y = np.asarray(ln.get_ydata(), dtype=float)
            assert np.all(y[np.isfinite(y)] <= hi)
        d2l.plt.close(fig)
    # the lr-sensitivity plot: log x axis, one labelled curve per optimizer; nothing returned
    # (no "<Axes: ...>" under a notebook cell), drawn on the current figure
    assert d2l.plot_lr_sensitivity([diverging, other]) is None
    ax = d2l.plt.gca()
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "sgd, momentum=0.9" in labels and "adam" in labels
    d2l.plt.close("all")


def test_every_setting_diverged():
    res = sweeps.sweep("gd", lrs=[1e10], seeds=[0], data=DIGITS_PART, model="mlp", num_epochs=3, batch_size=32,
                       verbose=False)
    assert res.diverged_at[0] in (1, 2, 3) and res.n_diverged().tolist() == [1]
    with pytest.raises(ValueError, match="every setting of this sweep diverged"):
        res.best()
    res.plot_sensitivity()
    assert d2l.plt.gca().get_ylim()[1] > 0
    d2l.plt.close("all")


# ---------------------------------------------------------------------------------------------
# 5. the result object


def test_summaries_over_seeds():
    res = sweeps.sweep("adam", lrs=[1e-3, 1e-2], seeds=[0, 1, 2], data=IRIS, model=iris_model(), num_epochs=3,
                       batch_size=16, verbose=False, beta1=[0.5, 0.9])
    assert res.swept == ["lr", "beta1"] and len(res.settings) == 4 and len(res) == 12
    assert res.settings[1] == {"lr": 1e-3, "beta1": 0.9}
    final = res.final("val_loss").reshape(4, 3)
    np.testing.assert_allclose(res.mean(), final.mean(axis=1))
    np.testing.assert_allclose(res.std(), final.std(axis=1, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(res.quantile(0.5), np.median(final, axis=1))
    lo, hi = res.band()
    assert np.all(lo <= res.mean()) and np.all(res.mean() <= hi)
    lo, hi = res.band(kind="std")
    np.testing.assert_allclose(hi - lo, 2 * res.std())
    assert res.mean("val_acc", epoch=None).shape == (4, 4)
    best = res.best()
    assert best["mean"] == res.mean().min() and res.settings[best["index"]]["lr"] == best["lr"]
    assert res.best("val_acc")["mean"] == res.mean("val_acc").max()
    # one configuration as train_classifier reports it, and its network
    h = res.history_of(7)
    assert h["epoch"] == [0, 1, 2, 3] and h["val_loss"] == res.history["val_loss"][7].tolist()
    net = res.net(7)
    Xva, yva = IRIS.split("val", torch.float64)
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(net(Xva), yva).item()
    assert abs(loss - h["val_loss"][-1]) < 1e-12
    text = repr(res)
    assert "12 runs = 4 settings x 3 seeds" in text and "beta1" in text
    with pytest.raises(ValueError, match="unknown metric"):
        res.mean("loss")
    # a blown-up but finite loss (1e303) keeps a finite spread, so the table shows a number
    res.history["val_loss"][:3, -1] = [1e303, 3e303, 2e303]
    assert res.std()[0] == pytest.approx(1e303) and "1e+303" in res.summary()


def test_default_learning_rates_and_a_single_lr():
    lrs = sweeps.default_lrs(rules.adam)
    assert len(lrs) == 7 and math.isclose(lrs[4], 1e-3) and math.isclose(lrs[0], 1e-5)
    res = sweeps.sweep("adam", lrs=1e-2, seeds=[0], data=IRIS, model=iris_model(), num_epochs=1, verbose=False)
    assert res.lrs.tolist() == [1e-2] and res.batch_size == 32


def test_data_forms_are_equivalent():
    """'iris', the ClassificationData, its loaders and its tensors give the same sweep."""
    tensors = (IRIS.split("train", torch.float64), IRIS.split("val", torch.float64))
    runs = [sweeps.sweep("sgd", lrs=[0.1], seeds=[0], data=data, model="softmax", num_epochs=2,
                         batch_size=16, verbose=False).history["val_loss"][0]
            for data in ("iris", IRIS, tensors)]
    # float32 loaders: the same numbers to float32 precision
    loaders = d2l.load_data_iris(16)
    runs.append(sweeps.sweep("sgd", lrs=[0.1], seeds=[0], data=loaders, model="softmax", num_epochs=2,
                             verbose=False).history["val_loss"][0])
    for r in runs[1:3]:
        np.testing.assert_array_equal(r, runs[0])
    np.testing.assert_allclose(runs[3], runs[0], atol=1e-6)


# ---------------------------------------------------------------------------------------------
# 6. bad input


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(rule=torch.optim.Adam), TypeError, "train_classifier"),
    (dict(rule="newton"), ValueError, "Hessian"),
    (dict(rule="adamm"), ValueError, "unknown rule 'adamm'"),
    (dict(rule="adam", bogus=1), TypeError, "no hyperparameter"),
    (dict(rule="adam", lr=0.1), TypeError, "lrs="),
    (dict(rule="adam", lrs=[-0.1, 0.1]), ValueError, "lrs"),
    (dict(rule="adam", lrs=[float("nan")]), ValueError, "lrs"),
    (dict(rule="adam", lrs="fast"), TypeError, "lrs"),
    (dict(rule="adam", seeds=[]), ValueError, "seeds"),
    (dict(rule="adam", seeds=[-1]), ValueError, "seeds"),
    (dict(rule="adam", seeds=[0.5]), ValueError, "seeds"),
    (dict(rule="adam", amsgrad=[True, False]), TypeError, "switch"),
    (dict(rule="sgd", momentum=[0.0, 1.5]), ValueError, "momentum"),
    (dict(rule="adam", beta1=[]), ValueError, "beta1"),
    (dict(rule="sgd", momentum=[0.0, 0.9], nesterov=True), ValueError, "nesterov"),
    (dict(rule="adam", model=torch.nn.Linear(4, 3)), TypeError, "d2l.mlp"),
    (dict(rule="adam", model="cnn"), ValueError, "unknown model"),
    (dict(rule="adam", model=d2l.mlp(64, 32, 10)), ValueError, "4 features"),
    (dict(rule="adam", num_epochs=0), ValueError, "num_epochs"),
    (dict(rule="adam", batch_size=0), ValueError, "batch_size"),
    (dict(rule="adam", data="mnist"), ValueError, "unknown data set"),
    (dict(rule="adam", data=[1, 2, 3, 4]), TypeError, "loaders"),
    (dict(rule="adam", lr_schedule=0.5), TypeError, "lr_schedule"),
    (dict(rule="adam", lr_schedule=lambda t: -1.0), ValueError, "lr_schedule"),
])
def test_sweep_bad_input(kwargs, exc, words):
    kw = dict(lrs=[1e-2], seeds=[0], data=IRIS, model="softmax", num_epochs=1, verbose=False)
    kw.update(kwargs)
    with pytest.raises(exc, match=words):
        sweeps.sweep(**kw)


@pytest.mark.parametrize("args, kwargs, exc, words", [
    (("adam", 0.1), {}, TypeError, "hyperparams must be a dict"),
    (("adam", {"lr": -1}), {}, ValueError, "lr"),
    (("adam", {"lr": 0.1, "betas": (0.9, 0.99)}), {}, TypeError, "beta1"),
    ((torch.optim.Adam, {"lr": 0.1, "bogus": 1}), {}, TypeError, "could not build Adam"),
    ((torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]), {}), {}, TypeError, "class"),
    ((42, {}), {}, TypeError, "optimizer"),
    (("adam", {}), dict(num_epochs=0), ValueError, "num_epochs"),
    (("adam", {}), dict(seed=-2), ValueError, "seed"),
    (("adam", {}), dict(model=d2l.mlp(4, 5, 2)), ValueError, "3 classes"),
    (("adam", {}), dict(dtype=torch.int32), TypeError, "dtype"),
    ((d2l.sgd, {"momentum": 0.9}), dict(lr_schedule=lambda t: 1.0), ValueError, "'lr'"),
])
def test_train_classifier_bad_input(args, kwargs, exc, words):
    kw = dict(data=IRIS, num_epochs=1, plot=False, verbose=False)
    kw.update(kwargs)
    with pytest.raises(exc, match=words):
        train_classifier(*args, **kw)


# ---------------------------------------------------------------------------------------------
# 7. train_classifier: its three kinds of optimizer, output, quiet mode


def test_from_scratch_trainer_torch_optim_and_rule_agree():
    """The seeds' from-scratch AdaGrad (eps 1e-6 inside the root, d2l), the rule with
    eps_inside=True, and (for torch's form) torch.optim.Adagrad against the rule."""
    def init_adagrad_states(params):
        return [torch.zeros_like(p) for p in params]

    def adagrad(params, states, hyperparams):
        eps = 1e-6
        for p, s in zip(params, states):
            with torch.no_grad():
                s[:] += torch.square(p.grad)
                p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
            p.grad.data.zero_()

    h_scratch, w_scratch = one_at_a_time(adagrad, {"lr": 0.1}, IRIS, iris_model, 5, 3, 16, states=init_adagrad_states)
    h_rule, w_rule = one_at_a_time("adagrad", {"lr": 0.1, "eps": 1e-6, "eps_inside": True}, IRIS, iris_model, 5, 3, 16)
    np.testing.assert_allclose(h_scratch["val_loss"], h_rule["val_loss"], atol=1e-12)
    for a, b in zip(w_scratch, w_rule):
        np.testing.assert_allclose(a, b, atol=1e-12)
    h_torch, _ = one_at_a_time(torch.optim.Adagrad, {"lr": 0.1}, IRIS, iris_model, 5, 3, 16)
    h_rule2, _ = one_at_a_time("adagrad", {"lr": 0.1}, IRIS, iris_model, 5, 3, 16)
    np.testing.assert_allclose(h_torch["val_loss"], h_rule2["val_loss"], atol=1e-12)


def test_history_printout_and_quiet_mode(capsys):
    hist = train_classifier(torch.optim.SGD, {"lr": 0.5, "momentum": 0.9}, "iris", model="softmax",
                            num_epochs=5, batch_size=16, plot=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("train loss ") and ", val loss " in out[0] and ", val acc " in out[0]
    assert out[1].endswith("examples/sec")
    assert set(hist) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "diverged_at", "seconds"}
    assert hist["epoch"] == [0, 1, 2, 3, 4, 5] and hist["diverged_at"] is None
    assert abs(hist["train_loss"][0] - math.log(3)) < 0.05  # softmax regression starts near ln 3
    assert hist["val_acc"][-1] > 0.8 and hist["val_loss"][-1] < hist["val_loss"][0] / 2
    quiet = train_classifier(torch.optim.SGD, {"lr": 0.5, "momentum": 0.9}, "iris", model="softmax",
                             num_epochs=5, batch_size=16, plot=False, verbose=False)
    assert capsys.readouterr().out == ""
    assert quiet["val_loss"] == hist["val_loss"]
    d2l.plt.close("all")


def test_schedule_restores_a_trainers_lr_and_seed_none_keeps_weights():
    hp = {"lr": 0.5}
    train_classifier(d2l.sgd, hp, IRIS, model="softmax", num_epochs=1, plot=False, verbose=False,
                     lr_schedule=lambda t: 0.5)
    assert hp == {"lr": 0.5}
    net = d2l.softmax_regression(4, 3)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(0.25)
    hist = train_classifier(d2l.sgd, {"lr": 0.0}, IRIS, model=net, num_epochs=1, seed=None, plot=False,
                            verbose=False)
    assert all(bool((p == 0.25).all()) for p in net.parameters())
    assert hist["val_loss"][0] == hist["val_loss"][1]


def test_models():
    net = d2l.mlp(64, 32, 10)
    assert [tuple(p.shape) for p in net.parameters()] == [(64, 32), (32,), (32, 10), (10,)]
    assert net.sizes == (64, 32, 10) and "64-32-10" in repr(net)
    bound = 1 / math.sqrt(64)
    W1 = net.W1.detach().numpy()
    assert np.abs(W1).max() <= bound and np.abs(W1).max() > 0.9 * bound  # nn.Linear's U(-1/sqrt(fan_in), ...)
    soft = d2l.softmax_regression(64, 10)
    assert soft.W1.std().item() < 0.02 and bool((soft.b1 == 0).all())
    he = d2l.mlp(64, [32, 16], 10, init="he", activation="tanh")
    assert he.sizes == (64, 32, 16, 10) and abs(he.W1.std().item() - math.sqrt(2 / 64)) < 0.02
    assert torch.equal(d2l.mlp(64, 32, 10, seed=3).W1, d2l.mlp(64, 32, 10).reset_parameters(3).W1)
    with pytest.raises(ValueError, match="activation"):
        d2l.mlp(4, 6, 3, activation="gelu")
    with pytest.raises(ValueError, match="init"):
        d2l.mlp(4, 6, 3, init="xavier")
    with pytest.raises(ValueError, match="sizes"):
        d2l.mlp(4, 0, 3)

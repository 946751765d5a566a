"""The from-scratch update rules in d2lmini.rules, proven against torch.optim.

* open loop: the same fixed random gradient sequence is fed to the NumPy rule and to
  torch.optim (float64); after every step the iterates agree to 1e-12;
* closed loop: both minimise the same least-squares problem with their own gradients;
* LR schedules, gradient clipping, the relations between the momentum forms;
* the reference numbers of /work/shared/reference/optimizer-math.md section 3b;
* Muon against torch.optim.Muon to bfloat16 precision, its Newton-Schulz step against an SVD;
* Lion and schedule-free SGD/AdamW against hand-computed steps of their papers' formulas;
* stacks of matrices are independent problems; hyperparameters may be arrays;
* bad input and a hypothesis property test over every rule in RULES.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d2lmini import rules
from d2lmini.objectives import d2l_quadratic, get_1d
from d2lmini.rules import Range, hyperparameters_of, hyperparams

torch = pytest.importorskip("torch")

STEPS = 300
ATOL = 1e-12


# ---------------------------------------------------------------------------------------------
# helpers


def _torch_kwargs(np_kwargs: dict) -> dict:
    """The NumPy rules take beta1/beta2 (eps1/eps2); torch takes betas=(beta1, beta2) (eps=(eps1, eps2))."""
    kw = dict(np_kwargs)
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    if "eps1" in kw or "eps2" in kw:
        kw["eps"] = (kw.pop("eps1", None), kw.pop("eps2", 1e-3))
    return kw


@pytest.fixture(autouse=True)
def _torch_default_float64():
    """torch keeps step counters and NAdam's running product mu_1...mu_t in the *default* dtype
    (float32 unless changed): in float32 that product alone moves NAdam by 4e-11 in 300 steps.
    The comparisons are in float64 throughout, so the default dtype is float64 in this module.
    One thread: these tensors are tiny, and on this shared 2-core machine a second thread made
    a torch.optim.Muon step 15-30 ms instead of 1 ms."""
    old, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(old)
    torch.set_num_threads(threads)


def _make_torch(opt_name: str, x0: np.ndarray, kwargs: dict):
    p = torch.nn.Parameter(torch.from_numpy(x0.copy()))
    opt = getattr(torch.optim, opt_name)([p], **kwargs)
    return p, opt


def _run_open_loop(rule, np_kwargs, opt_name, torch_kwargs, steps=STEPS, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    grads = rng.normal(size=(steps,) + shape)
    p, opt = _make_torch(opt_name, x, torch_kwargs)
    state: dict = {}
    worst = 0.0
    for k in range(steps):
        g = np.array(grads[k])  # np.array keeps a 0-d array an array
        x = rules.get_rule(rule)(x, g, state, **np_kwargs)
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        diff = float(np.max(np.abs(x - p.detach().numpy())))
        worst = max(worst, diff)
        assert diff <= ATOL, f"step {k + 1}: max|x - p| = {diff:.3e}"
    assert np.all(np.isfinite(x))
    return worst


# ---------------------------------------------------------------------------------------------
# 1. open loop against torch.optim, every option


OPEN_LOOP = [
    # torch.optim.SGD
    pytest.param("sgd", dict(lr=1e-3), "SGD", dict(lr=1e-3), id="SGD-defaults"),
    pytest.param("sgd", dict(lr=0.05), "SGD", dict(lr=0.05), id="SGD-plain"),
    pytest.param("sgd", dict(lr=0.01, momentum=0.9), "SGD", dict(lr=0.01, momentum=0.9), id="SGD-momentum"),
    pytest.param("sgd", dict(lr=0.01, momentum=0.9, dampening=0.5), "SGD",
                 dict(lr=0.01, momentum=0.9, dampening=0.5), id="SGD-momentum-dampening"),
    pytest.param("sgd", dict(lr=0.01, momentum=0.9, nesterov=True), "SGD",
                 dict(lr=0.01, momentum=0.9, nesterov=True), id="SGD-nesterov"),
    pytest.param("sgd", dict(lr=0.05, weight_decay=0.1), "SGD",
                 dict(lr=0.05, weight_decay=0.1), id="SGD-weight_decay"),
    pytest.param("sgd", dict(lr=0.05, maximize=True), "SGD", dict(lr=0.05, maximize=True), id="SGD-maximize"),
    pytest.param("sgd", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True), "SGD",
                 dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
                 id="SGD-nesterov-weight_decay-maximize"),
    # torch.optim.Adagrad
    pytest.param("adagrad", {}, "Adagrad", {}, id="Adagrad-defaults"),
    pytest.param("adagrad", dict(lr=0.5, lr_decay=0.01), "Adagrad", dict(lr=0.5, lr_decay=0.01),
                 id="Adagrad-lr_decay"),
    pytest.param("adagrad", dict(lr=0.5, initial_accumulator_value=0.1), "Adagrad",
                 dict(lr=0.5, initial_accumulator_value=0.1), id="Adagrad-initial_accumulator_value"),
    pytest.param("adagrad", dict(lr=0.5, eps=1e-3), "Adagrad", dict(lr=0.5, eps=1e-3), id="Adagrad-eps"),
    pytest.param("adagrad", dict(lr=0.5, weight_decay=0.1), "Adagrad", dict(lr=0.5, weight_decay=0.1),
                 id="Adagrad-weight_decay"),
    pytest.param("adagrad", dict(lr=0.5, maximize=True), "Adagrad", dict(lr=0.5, maximize=True),
                 id="Adagrad-maximize"),
    pytest.param("adagrad",
                 dict(lr=0.5, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-6, weight_decay=1e-3,
                      maximize=True), "Adagrad",
                 dict(lr=0.5, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-6, weight_decay=1e-3,
                      maximize=True), id="Adagrad-all-options"),
    # torch.optim.RMSprop
    pytest.param("rmsprop", {}, "RMSprop", {}, id="RMSprop-defaults"),
    pytest.param("rmsprop", dict(alpha=0.9), "RMSprop", dict(alpha=0.9), id="RMSprop-alpha"),
    pytest.param("rmsprop", dict(eps=1e-3), "RMSprop", dict(eps=1e-3), id="RMSprop-eps"),
    pytest.param("rmsprop", dict(centered=True), "RMSprop", dict(centered=True), id="RMSprop-centered"),
    pytest.param("rmsprop", dict(lr=1e-3, momentum=0.9), "RMSprop", dict(lr=1e-3, momentum=0.9),
                 id="RMSprop-momentum"),
    pytest.param("rmsprop", dict(lr=1e-3, momentum=0.9, centered=True, alpha=0.9), "RMSprop",
                 dict(lr=1e-3, momentum=0.9, centered=True, alpha=0.9), id="RMSprop-centered-momentum"),
    pytest.param("rmsprop", dict(weight_decay=0.1), "RMSprop", dict(weight_decay=0.1),
                 id="RMSprop-weight_decay"),
    pytest.param("rmsprop", dict(maximize=True), "RMSprop", dict(maximize=True), id="RMSprop-maximize"),
    pytest.param("rmsprop",
                 dict(lr=1e-3, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5, centered=True, maximize=True),
                 "RMSprop",
                 dict(lr=1e-3, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5, centered=True, maximize=True),
                 id="RMSprop-all-options"),
    # torch.optim.Adadelta
    pytest.param("adadelta", {}, "Adadelta", {}, id="Adadelta-defaults"),
    pytest.param("adadelta", dict(lr=0.5), "Adadelta", dict(lr=0.5), id="Adadelta-lr"),
    pytest.param("adadelta", dict(rho=0.95), "Adadelta", dict(rho=0.95), id="Adadelta-rho"),
    pytest.param("adadelta", dict(eps=1e-4), "Adadelta", dict(eps=1e-4), id="Adadelta-eps"),
    pytest.param("adadelta", dict(weight_decay=0.1), "Adadelta", dict(weight_decay=0.1),
                 id="Adadelta-weight_decay"),
    pytest.param("adadelta", dict(maximize=True), "Adadelta", dict(maximize=True), id="Adadelta-maximize"),
    pytest.param("adadelta", dict(lr=0.5, rho=0.95, eps=1e-4, weight_decay=0.1, maximize=True), "Adadelta",
                 dict(lr=0.5, rho=0.95, eps=1e-4, weight_decay=0.1, maximize=True), id="Adadelta-all-options"),
    # torch.optim.Adam
    pytest.param("adam", {}, "Adam", {}, id="Adam-defaults"),
    pytest.param("adam", dict(lr=0.05, amsgrad=True), "Adam", dict(lr=0.05, amsgrad=True), id="Adam-amsgrad"),
    pytest.param("adam", dict(lr=0.05, weight_decay=0.1), "Adam", dict(lr=0.05, weight_decay=0.1),
                 id="Adam-weight_decay"),
    pytest.param("adam", dict(lr=0.05, beta1=0.5, beta2=0.9), "Adam", dict(lr=0.05, betas=(0.5, 0.9)),
                 id="Adam-betas"),
    pytest.param("adam", dict(lr=0.05, eps=0.1), "Adam", dict(lr=0.05, eps=0.1), id="Adam-eps"),
    pytest.param("adam", dict(lr=0.05, maximize=True), "Adam", dict(lr=0.05, maximize=True), id="Adam-maximize"),
    pytest.param("adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), "Adam",
                 dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), id="Adam-decoupled_weight_decay"),
    pytest.param("adam",
                 dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, amsgrad=True,
                      decoupled_weight_decay=True, maximize=True), "Adam",
                 dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True,
                      decoupled_weight_decay=True, maximize=True), id="Adam-all-options"),
    # torch.optim.AdamW
    pytest.param("adamw", {}, "AdamW", {}, id="AdamW-defaults"),
    pytest.param("adamw", dict(lr=0.05, weight_decay=0.1, amsgrad=True), "AdamW",
                 dict(lr=0.05, weight_decay=0.1, amsgrad=True), id="AdamW-amsgrad"),
    pytest.param("adamw", dict(lr=0.05, beta1=0.5, beta2=0.9, maximize=True), "AdamW",
                 dict(lr=0.05, betas=(0.5, 0.9), maximize=True), id="AdamW-betas-maximize"),
    # torch.optim.NAdam
    pytest.param("nadam", {}, "NAdam", {}, id="NAdam-defaults"),
    pytest.param("nadam", dict(lr=0.05, beta1=0.8, beta2=0.99), "NAdam", dict(lr=0.05, betas=(0.8, 0.99)),
                 id="NAdam-betas"),
    pytest.param("nadam", dict(lr=0.05, eps=1e-3), "NAdam", dict(lr=0.05, eps=1e-3), id="NAdam-eps"),
    pytest.param("nadam", dict(lr=0.05, momentum_decay=0.05), "NAdam", dict(lr=0.05, momentum_decay=0.05),
                 id="NAdam-momentum_decay"),
    pytest.param("nadam", dict(lr=0.05, momentum_decay=0.0), "NAdam", dict(lr=0.05, momentum_decay=0.0),
                 id="NAdam-momentum_decay-0"),
    pytest.param("nadam", dict(lr=0.05, weight_decay=0.1), "NAdam", dict(lr=0.05, weight_decay=0.1),
                 id="NAdam-weight_decay"),
    pytest.param("nadam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), "NAdam",
                 dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), id="NAdam-decoupled_weight_decay"),
    pytest.param("nadam", dict(lr=0.05, maximize=True), "NAdam", dict(lr=0.05, maximize=True), id="NAdam-maximize"),
    pytest.param("nadam",
                 dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, momentum_decay=0.01,
                      decoupled_weight_decay=True, maximize=True), "NAdam",
                 dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, momentum_decay=0.01,
                      decoupled_weight_decay=True, maximize=True), id="NAdam-all-options"),
    # torch.optim.RAdam (the adaptive step starts at step 6 for beta2 = 0.999 and 0.9; beta2 = 0.5: never)
    pytest.param("radam", {}, "RAdam", {}, id="RAdam-defaults"),
    pytest.param("radam", dict(lr=0.05, beta1=0.5, beta2=0.9), "RAdam", dict(lr=0.05, betas=(0.5, 0.9)),
                 id="RAdam-betas"),
    pytest.param("radam", dict(lr=0.05, beta2=0.5), "RAdam", dict(lr=0.05, betas=(0.9, 0.5)),
                 id="RAdam-beta2-never-rectified"),
    pytest.param("radam", dict(lr=0.05, eps=1e-3), "RAdam", dict(lr=0.05, eps=1e-3), id="RAdam-eps"),
    pytest.param("radam", dict(lr=0.05, weight_decay=0.1), "RAdam", dict(lr=0.05, weight_decay=0.1),
                 id="RAdam-weight_decay"),
    pytest.param("radam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), "RAdam",
                 dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), id="RAdam-decoupled_weight_decay"),
    pytest.param("radam", dict(lr=0.05, maximize=True), "RAdam", dict(lr=0.05, maximize=True), id="RAdam-maximize"),
    pytest.param("radam",
                 dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, decoupled_weight_decay=True,
                      maximize=True), "RAdam",
                 dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, decoupled_weight_decay=True,
                      maximize=True), id="RAdam-all-options"),
    # torch.optim.Adamax
    pytest.param("adamax", {}, "Adamax", {}, id="Adamax-defaults"),
    pytest.param("adamax", dict(lr=0.05, beta1=0.5, beta2=0.9), "Adamax", dict(lr=0.05, betas=(0.5, 0.9)),
                 id="Adamax-betas"),
    pytest.param("adamax", dict(lr=0.05, eps=0.1), "Adamax", dict(lr=0.05, eps=0.1), id="Adamax-eps"),
    pytest.param("adamax", dict(lr=0.05, weight_decay=0.1), "Adamax", dict(lr=0.05, weight_decay=0.1),
                 id="Adamax-weight_decay"),
    pytest.param("adamax", dict(lr=0.05, maximize=True), "Adamax", dict(lr=0.05, maximize=True),
                 id="Adamax-maximize"),
    pytest.param("adamax", dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, maximize=True),
                 "Adamax", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, maximize=True),
                 id="Adamax-all-options"),
    # torch.optim.Adafactor on a (3, 4) matrix (factored); other shapes: test_adafactor_open_loop_shapes
    pytest.param("adafactor", {}, "Adafactor", {}, id="Adafactor-defaults"),
    pytest.param("adafactor", dict(lr=0.1), "Adafactor", dict(lr=0.1), id="Adafactor-lr"),
    pytest.param("adafactor", dict(beta2_decay=-0.5), "Adafactor", dict(beta2_decay=-0.5),
                 id="Adafactor-beta2_decay"),
    pytest.param("adafactor", dict(beta2_decay=0.0), "Adafactor", dict(beta2_decay=0.0),
                 id="Adafactor-beta2_decay-0"),
    pytest.param("adafactor", dict(eps1=1e-3), "Adafactor", dict(eps=(1e-3, 1e-3)), id="Adafactor-eps1"),
    pytest.param("adafactor", dict(eps2=0.5), "Adafactor", dict(eps=(None, 0.5)), id="Adafactor-eps2"),
    pytest.param("adafactor", dict(d=2.0), "Adafactor", dict(d=2.0), id="Adafactor-d"),
    pytest.param("adafactor", dict(weight_decay=0.1), "Adafactor", dict(weight_decay=0.1),
                 id="Adafactor-weight_decay"),
    pytest.param("adafactor", dict(maximize=True), "Adafactor", dict(maximize=True), id="Adafactor-maximize"),
    pytest.param("adafactor",
                 dict(lr=0.1, beta2_decay=-0.5, eps1=1e-3, eps2=1e-2, d=2.0, weight_decay=0.1, maximize=True),
                 "Adafactor",
                 dict(lr=0.1, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=2.0, weight_decay=0.1, maximize=True),
                 id="Adafactor-all-options"),
    # the d2l rules against the matching torch configurations
    pytest.param("gd", dict(lr=0.1), "SGD", dict(lr=0.1), id="d2l-gd=SGD"),
    pytest.param("momentum", dict(lr=0.01, momentum=0.9), "SGD", dict(lr=0.01, momentum=0.9),
                 id="d2l-momentum=SGD-momentum"),
    pytest.param("nesterov", dict(lr=0.01, momentum=0.9), "SGD", dict(lr=0.01, momentum=0.9, nesterov=True),
                 id="d2l-nesterov=SGD-nesterov"),
    pytest.param("adadelta", dict(rho=0.9, eps=1e-6), "Adadelta", {}, id="d2l-adadelta=Adadelta-lr1"),
]


@pytest.mark.parametrize("rule, np_kwargs, opt_name, torch_kwargs", OPEN_LOOP)
def test_open_loop_matches_torch(rule, np_kwargs, opt_name, torch_kwargs):
    _run_open_loop(getattr(rules, rule), np_kwargs, opt_name, torch_kwargs)


def test_open_loop_cases_use_matching_kwargs():
    # Guard against a typo in the table above: the torch kwargs are the NumPy kwargs renamed.
    for case in OPEN_LOOP:
        rule, np_kwargs, opt_name, torch_kwargs = case.values
        if rule in ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam", "adamax",
                    "adafactor") and case.id != "d2l-adadelta=Adadelta-lr1":
            assert _torch_kwargs(np_kwargs) == torch_kwargs, case.id


def test_open_loop_works_for_any_shape():
    for shape in [(), (5,), (2, 3, 4)]:
        _run_open_loop(rules.adam, dict(lr=0.05, amsgrad=True), "Adam", dict(lr=0.05, amsgrad=True),
                       steps=50, shape=shape)


ADAFACTOR_ALL = dict(lr=0.1, beta2_decay=-0.5, eps1=1e-3, eps2=1e-2, d=2.0, weight_decay=0.1, maximize=True)


@pytest.mark.parametrize("shape", [(), (1,), (7,), (1, 6), (6, 1), (4, 3), (5, 5)], ids=str)
@pytest.mark.parametrize("kwargs", [{}, ADAFACTOR_ALL], ids=["defaults", "all-options"])
def test_adafactor_open_loop_shapes(shape, kwargs):
    # numbers and vectors take the unfactored branch, matrices the factored one
    _run_open_loop(rules.adafactor, kwargs, "Adafactor", _torch_kwargs(kwargs), shape=shape)


def test_adafactor_stack_is_torch_on_each_matrix():
    """For x (C, m, n) each matrix is its own problem: equal to C torch.optim.Adafactor runs on
    (m, n) parameters. (One torch run on the (C, m, n) tensor would take RMS(x) and RMS(update)
    over the whole tensor; the docstring says so.)"""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 4, 5)) * np.array([1.0, 10.0, 0.1])[:, None, None]
    grads = rng.normal(size=(STEPS, 3, 4, 5))
    params = [torch.nn.Parameter(torch.from_numpy(x[c].copy())) for c in range(3)]
    opt = torch.optim.Adafactor(params, **_torch_kwargs(ADAFACTOR_ALL))
    state: dict = {}
    for k in range(STEPS):
        x = rules.adafactor(x, grads[k], state, **ADAFACTOR_ALL)
        for c, p in enumerate(params):
            p.grad = torch.from_numpy(grads[k, c].copy())
        opt.step()
        torch_x = np.stack([p.detach().numpy() for p in params])
        assert np.max(np.abs(x - torch_x)) <= ATOL, f"step {k + 1}"


def test_adafactor_row_matrix_is_the_unfactored_rule():
    # a 1 x n matrix: V = R C / R = C, the vector rule up to round-off (how to stack vectors)
    rng = np.random.default_rng(7)
    v = m = rng.normal(size=6)
    sv: dict = {}
    sm: dict = {}
    m = m.reshape(1, 6)
    for g in rng.normal(size=(STEPS, 6)):
        v = rules.adafactor(v, g, sv, lr=0.1)
        m = rules.adafactor(m, g.reshape(1, 6), sm, lr=0.1)
    assert "row_var" in sm and "variance" in sv
    np.testing.assert_allclose(m.reshape(6), v, rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------------------------------------
# 2. closed loop on least squares


def _least_squares(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(64, 8))
    b = A @ rng.normal(size=8) + 0.5 + 0.1 * rng.normal(size=64)
    return A, b


def _loss_grad_np(w, A, b):
    r = A @ w[:8] + w[8] - b
    return np.concatenate([A.T @ r, [r.sum()]]) / len(b)


# Non-chaotic configurations only (doc section 3c): RMSprop at lr=1e-3, no Adam with beta2=0.9,
# no NAdam at lr=0.05.
CLOSED_LOOP = [
    pytest.param("sgd", {}, "SGD", id="SGD-defaults"),
    pytest.param("sgd", dict(lr=0.05), "SGD", id="SGD-lr0.05"),
    pytest.param("sgd", dict(lr=0.05, momentum=0.9), "SGD", id="SGD-momentum"),
    pytest.param("sgd", dict(lr=0.05, momentum=0.9, dampening=0.5), "SGD", id="SGD-dampening"),
    pytest.param("sgd", dict(lr=0.05, momentum=0.9, nesterov=True), "SGD", id="SGD-nesterov"),
    pytest.param("sgd", dict(lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True), "SGD",
                 id="SGD-weight_decay-maximize"),
    pytest.param("adagrad", {}, "Adagrad", id="Adagrad-defaults"),
    pytest.param("adagrad", dict(lr=0.5, lr_decay=0.01, initial_accumulator_value=0.1, eps=1e-6,
                                 weight_decay=1e-3), "Adagrad", id="Adagrad-all-options"),
    pytest.param("rmsprop", dict(lr=1e-3), "RMSprop", id="RMSprop-lr1e-3"),
    pytest.param("rmsprop", dict(lr=1e-3, centered=True), "RMSprop", id="RMSprop-centered-lr1e-3"),
    pytest.param("rmsprop", dict(lr=1e-3, momentum=0.9), "RMSprop", id="RMSprop-momentum"),
    pytest.param("adadelta", {}, "Adadelta", id="Adadelta-defaults"),
    pytest.param("adadelta", dict(lr=0.5, rho=0.95, eps=1e-4, weight_decay=1e-3), "Adadelta",
                 id="Adadelta-all-options"),
    pytest.param("adam", {}, "Adam", id="Adam-defaults"),
    pytest.param("adam", dict(lr=0.05), "Adam", id="Adam-lr0.05"),
    pytest.param("adam", dict(lr=0.05, amsgrad=True), "Adam", id="Adam-amsgrad"),
    pytest.param("adam", dict(lr=0.05, weight_decay=0.1), "Adam", id="Adam-weight_decay"),
    pytest.param("adamw", {}, "AdamW", id="AdamW-defaults"),
    pytest.param("adamw", dict(lr=0.05, weight_decay=0.1, amsgrad=True), "AdamW", id="AdamW-amsgrad"),
    pytest.param("nadam", {}, "NAdam", id="NAdam-defaults"),
    pytest.param("radam", {}, "RAdam", id="RAdam-defaults"),
    pytest.param("radam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), "RAdam",
                 id="RAdam-decoupled_weight_decay"),
    pytest.param("adamax", {}, "Adamax", id="Adamax-defaults"),
    pytest.param("adamax", dict(lr=0.05), "Adamax", id="Adamax-lr0.05"),
    pytest.param("adafactor", {}, "Adafactor", id="Adafactor-defaults"),
    # (Adafactor at lr=0.1 is chaotic here: scratch vs scratch + 1e-15 differs by 7.5e-7)
    pytest.param("adafactor", dict(weight_decay=0.1, d=2.0), "Adafactor", id="Adafactor-weight_decay-d"),
    pytest.param("gd", dict(lr=0.05), "SGD", id="d2l-gd"),
    pytest.param("momentum", dict(lr=0.05, momentum=0.9), "SGD", id="d2l-momentum"),
    pytest.param("nesterov", dict(lr=0.05, momentum=0.9), "SGD", id="d2l-nesterov"),
]

_D2L_TO_TORCH = {
    "gd": lambda kw: dict(lr=kw["lr"]),
    "momentum": lambda kw: dict(lr=kw["lr"], momentum=kw["momentum"]),
    "nesterov": lambda kw: dict(lr=kw["lr"], momentum=kw["momentum"], nesterov=True),
}


@pytest.mark.parametrize("rule, np_kwargs, opt_name", CLOSED_LOOP)
def test_closed_loop_least_squares(rule, np_kwargs, opt_name):
    A, b = _least_squares()
    At, bt = torch.from_numpy(A), torch.from_numpy(b)
    torch_kwargs = _D2L_TO_TORCH.get(rule, _torch_kwargs)(np_kwargs)
    maximize = np_kwargs.get("maximize", False)
    sign = -1.0 if maximize else 1.0  # maximize(-L) minimises L
    x = np.zeros(9)
    p, opt = _make_torch(opt_name, x, torch_kwargs)
    state: dict = {}
    fn = getattr(rules, rule)
    for k in range(STEPS):
        x = fn(x, sign * _loss_grad_np(x, A, b), state, **np_kwargs)
        opt.zero_grad()
        loss = sign * ((At @ p[:8] + p[8] - bt) ** 2).mean() / 2
        loss.backward()
        opt.step()
        np.testing.assert_allclose(x, p.detach().numpy(), rtol=0, atol=1e-10, err_msg=f"step {k + 1}")
    # the run did something
    assert np.max(np.abs(x)) > 1e-3


# ---------------------------------------------------------------------------------------------
# 3. learning-rate schedules


SCHEDULERS = [
    pytest.param(lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=50, gamma=0.5), id="StepLR"),
    pytest.param(lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.99), id="ExponentialLR"),
    pytest.param(lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100, eta_min=1e-4),
                 id="CosineAnnealingLR"),
]


@pytest.mark.parametrize("make_scheduler", SCHEDULERS)
def test_momentum_with_lr_schedule(make_scheduler):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4))
    grads = rng.normal(size=(STEPS, 3, 4))
    p, opt = _make_torch("SGD", x, dict(lr=0.05, momentum=0.9))
    scheduler = make_scheduler(opt)
    state: dict = {}
    lrs = []
    for k in range(STEPS):
        lr = opt.param_groups[0]["lr"]
        lrs.append(lr)
        x = rules.momentum(x, grads[k], state, lr=lr, momentum=0.9)
        p.grad = torch.from_numpy(grads[k].copy())
        opt.step()
        scheduler.step()
        diff = float(np.max(np.abs(x - p.detach().numpy())))
        assert diff <= ATOL, f"step {k + 1}: max|x - p| = {diff:.3e}"
    assert len(set(lrs)) > 1  # the schedule really changed the lr


# ---------------------------------------------------------------------------------------------
# 4. gradient clipping


def _grad_arrays(seed=2, scale=1.0):
    rng = np.random.default_rng(seed)
    return [np.array(scale * rng.normal(size=s)) for s in [(3, 4), (5,), (), (2, 2, 2)]]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf], ids=["L2", "L1", "L3", "Linf"])
@pytest.mark.parametrize("max_norm", [0.5, 1.0, 1e3], ids=["clip-0.5", "clip-1", "no-clip"])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    grads = _grad_arrays()
    before = [g.copy() for g in grads]
    clipped, total = rules.clip_grad_norm(grads, max_norm, norm_type=norm_type)
    params = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    total_t = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert total == pytest.approx(float(total_t), rel=1e-14, abs=0)
    assert len(clipped) == len(grads)
    for c, p, g, g0 in zip(clipped, params, grads, before):
        assert c.shape == g.shape
        np.testing.assert_allclose(c, p.grad.numpy(), rtol=1e-14, atol=1e-15)
        np.testing.assert_array_equal(g, g0)  # inputs untouched
    if max_norm == 1e3:
        for c, g in zip(clipped, grads):
            np.testing.assert_array_equal(c, g)


@pytest.mark.parametrize("clip_value", [0.0, 0.1, 0.5, 10.0])
def test_clip_grad_value_matches_torch(clip_value):
    grads = _grad_arrays(seed=3)
    before = [g.copy() for g in grads]
    clipped = rules.clip_grad_value(grads, clip_value)
    params = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_(params, clip_value)
    for c, p, g, g0 in zip(clipped, params, grads, before):
        np.testing.assert_array_equal(c, p.grad.numpy())
        np.testing.assert_array_equal(g, g0)


def test_clip_edge_cases():
    assert rules.clip_grad_norm([], 1.0) == ([], 0.0)
    clipped, total = rules.clip_grad_norm(np.array([3.0, 4.0]), 1.0)  # a single array
    assert total == 5.0
    np.testing.assert_allclose(clipped[0], np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
    with pytest.raises(ValueError, match="max_norm"):
        rules.clip_grad_norm([np.ones(2)], -1.0)
    with pytest.raises(ValueError, match="clip_value"):
        rules.clip_grad_value([np.ones(2)], -1.0)


# ---------------------------------------------------------------------------------------------
# 5. relations between the momentum forms


@pytest.mark.parametrize("lr, beta", [(0.4, 0.5), (0.6, 0.9), (0.1, 0.0)])
def test_momentum_ema_is_sgd_with_scaled_lr(lr, beta):
    _run_open_loop(rules.momentum_ema, dict(lr=lr, beta=beta), "SGD", dict(lr=lr * (1 - beta), momentum=beta))


def test_momentum_ema_step_is_smaller_than_torch_for_same_lr():
    f = d2l_quadratic()
    ema, torch_form = [], []
    for rule, kw, out in [(rules.momentum_ema, dict(lr=0.6, beta=0.9), ema),
                          (rules.momentum, dict(lr=0.6, momentum=0.9), torch_form)]:
        x, state = np.array(f.start), {}
        for _ in range(20):
            x = rule(x, f.grad(x), state, **kw)
        out.append("%f %f" % tuple(x))
    assert ema == ["-0.038248 0.471941"]
    assert torch_form == ["-1.191637 -1.118465"]


def test_sutskever_equals_torch_form_for_constant_lr():
    rng = np.random.default_rng(4)
    grads = rng.normal(size=(STEPS, 3, 4))
    x1 = x2 = rng.normal(size=(3, 4))
    s1: dict = {}
    s2: dict = {}
    for g in grads:
        x1 = rules.momentum(x1, g, s1, lr=0.05, momentum=0.9)
        x2 = rules.momentum_sutskever(x2, g, s2, lr=0.05, momentum=0.9)
        assert np.max(np.abs(x1 - x2)) <= ATOL


def test_sutskever_differs_from_torch_form_after_lr_change():
    # doc section 1.2: lr 0.4 -> 0.04 after 10 steps on the d2l quadratic
    f = d2l_quadratic()
    ends = {}
    for rule in (rules.momentum, rules.momentum_sutskever):
        x, state = np.array(f.start), {}
        for k in range(20):
            x = rule(x, f.grad(x), state, lr=0.4 if k < 10 else 0.04, momentum=0.5)
        ends[rule.__name__] = "%f %f" % tuple(x)
    assert ends == {"momentum": "-0.632917 -0.000461", "momentum_sutskever": "-0.471198 0.000182"}


def test_nesterov_diverges_where_heavy_ball_converges():
    # f = 0.1 x1^2 + 2 x2^2, L = 4, lr L = 1.6: heavy ball needs < 2(1+mu) = 3, NAG < 2(1+mu)/(1+2mu) = 1.5
    f = d2l_quadratic()
    ends = {}
    for rule in (rules.momentum, rules.nesterov):
        x, state = np.array(f.start), {}
        for _ in range(60):
            x = rule(x, f.grad(x), state, lr=0.4, momentum=0.5)
        ends[rule.__name__] = x
    assert np.max(np.abs(ends["momentum"])) < 1e-3
    assert abs(ends["nesterov"][1]) > 1e3


def test_adam_without_bias_correction():
    # teaching switch: x -= lr m / (sqrt(v) + eps), m and v started at 0 and never divided by 1 - beta^t
    rng = np.random.default_rng(5)
    grads = rng.normal(size=(5, 3))
    x = y = np.zeros(3)
    m = v = np.zeros(3)
    state: dict = {}
    for g in grads:
        x = rules.adam(x, g, state, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=False)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        y = y - 0.1 * m / (np.sqrt(v) + 1e-8)
        np.testing.assert_allclose(x, y, rtol=1e-14, atol=1e-15)
    # the first step is lr (1 - beta1)/sqrt(1 - beta2) = 3.16 lr instead of about lr
    first = rules.adam(np.zeros(1), np.ones(1), {}, lr=0.1, bias_correction=False)
    np.testing.assert_allclose(first, [-0.1 * 0.1 / math.sqrt(0.001)], rtol=1e-6)


def test_sgd_dampening_is_ema_started_at_first_gradient():
    # torch's buffer starts at g_1 (no dampening on the first step)
    g = [np.array([1.0, -2.0]), np.array([3.0, 0.5]), np.array([-1.0, 1.0])]
    state: dict = {}
    x = np.zeros(2)
    for gk in g:
        x = rules.sgd(x, gk, state, lr=1.0, momentum=0.9, dampening=0.9)
    v = g[0]
    for gk in g[1:]:
        v = 0.9 * v + 0.1 * gk
    np.testing.assert_allclose(state["v"], v, rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# 5b. Muon: torch runs Newton-Schulz in bfloat16, the rule in float64


U_BF16 = 2.0**-8  # unit roundoff of bfloat16 (8 significant bits)
MUON_TOL = 0.1  # on ||O_torch - O||_F / sqrt(min(m, n)), about 26 u; see test_muon_matches_torch_to_bfloat16


def _p5(s, coefficients=rules.NS_COEFFICIENTS, steps=5):
    a, b, c = coefficients
    for _ in range(steps):
        s = a * s + b * s**3 + c * s**5
    return s


def _ns_error(a, b):
    """||a - b||_F / sqrt(min(m, n)): the error per singular direction (an orthogonal m x n matrix
    has ||O||_F = sqrt(min(m, n)))."""
    return float(np.linalg.norm(a - b) / math.sqrt(min(a.shape)))


MUON_CASES = [
    pytest.param((3, 4), {}, id="defaults-3x4"),
    pytest.param((4, 3), dict(lr=0.02, nesterov=False), id="no-nesterov-4x3"),
    pytest.param((16, 5), dict(lr=0.02, weight_decay=0.5, adjust_lr_fn="match_rms_adamw"),
                 id="match_rms_adamw-weight_decay-16x5"),
    pytest.param((5, 16), dict(lr=0.02, momentum=0.5, adjust_lr_fn="original"), id="momentum-original-5x16"),
    pytest.param((6, 10), dict(lr=0.02, ns_steps=3, ns_coefficients=(1.875, -1.25, 0.375)),
                 id="ns_steps-ns_coefficients-6x10"),
    pytest.param((1, 6), dict(lr=0.05, eps=10.0, weight_decay=0.0), id="eps-1x6"),  # ||D|| < eps: D / eps
]


@pytest.mark.parametrize("shape, kwargs", MUON_CASES)
def test_muon_matches_torch_to_bfloat16(shape, kwargs):
    """rules.muon against torch.optim.Muon, open loop, 300 steps.

    Exact (1e-12): the momentum buffer (EMA form), and the weight decay and adjusted lr, which
    are checked by recovering torch's orthogonalized update from its parameter step,
    O_torch = (p_{t-1} (1 - lr wd) - p_t) / (lr ratio), with x of size ~10 so that a wrong decay
    or ratio would show up as an O-error of order 1.

    To bfloat16 precision: O_torch against the rule's float64 Newton-Schulz. Measured with torch
    2.13 on this CPU (3,129 matrices of shapes 1x2 ... 100x30, scales 1e-4 ... 1e4, half of them
    with prescribed singular values down to 1e-4): for the 2,217 whose singular values are all
    at least 1% of ||G||_F (kappa = ||G||_F / s_min <= 100) the error ||O_torch - O||_F / sqrt(min(m, n)) had median 0.014 (3.5 u, u = 2^-8 the unit
    roundoff of bfloat16), 99th percentile 0.039 (10 u), maximum 0.052 (13 u). That is rounding
    of the input (relative u) carried through five iterations whose slope in the band is about
    1-3. Below 1% of ||G||_F the input's rounding error u ||G||_F is as large as the singular
    value itself, and p^5 has slope a^5 = 485 at 0, so errors up to 0.4 were seen: no float64
    code can match that, so the cases here keep kappa <= 100 (asserted at every step; true
    for these rectangular Gaussian updates). Over the 6 x 300 steps below the error had median
    0.0125, 99th percentile 0.036, maximum 0.045 (11.5 u); the classic quintic coefficients
    (1.875, -1.25, 0.375), which do not amplify, stay near 1 u. Tolerance: 0.1, twice the
    largest error measured, and the median over the run must stay below 8 u, so the test also
    fails if the errors are typically larger than bfloat16 rounding (a 2% change of one
    coefficient fails it).
    """
    rng = np.random.default_rng(8)
    x = 10.0 * rng.normal(size=shape)
    grads = rng.normal(size=(STEPS,) + shape)
    p = torch.nn.Parameter(torch.from_numpy(x.copy()))
    opt = torch.optim.Muon([p], **kwargs)
    lr, wd = kwargs.get("lr", 1e-3), kwargs.get("weight_decay", 0.1)
    mu, nesterov = kwargs.get("momentum", 0.95), kwargs.get("nesterov", True)
    m, n = shape
    ratio = 0.2 * math.sqrt(max(m, n)) if kwargs.get("adjust_lr_fn") == "match_rms_adamw" else math.sqrt(max(1, m / n))
    state: dict = {}
    errors = []
    for k in range(STEPS):
        x_old, p_old = x.copy(), p.detach().numpy().copy()
        x = rules.muon(x, grads[k], state, **kwargs)
        p.grad = torch.from_numpy(grads[k].copy())
        opt.step()
        buf = state["momentum_buffer"]
        np.testing.assert_allclose(buf, opt.state[p]["momentum_buffer"].numpy(), rtol=0, atol=ATOL)
        update = grads[k] + mu * (buf - grads[k]) if nesterov else buf
        s = np.linalg.svd(update, compute_uv=False)
        assert np.linalg.norm(update) / s[-1] <= 100, f"step {k + 1}: kappa > 100, outside the tested regime"
        ours = (x_old * (1 - lr * wd) - x) / (lr * ratio)
        theirs = (p_old * (1 - lr * wd) - p.detach().numpy()) / (lr * ratio)
        errors.append(_ns_error(theirs, ours))
        assert errors[-1] <= MUON_TOL, f"step {k + 1}: error {errors[-1]:.3f} > {MUON_TOL}"
    assert np.median(errors) <= 8 * U_BF16, np.median(errors)


def test_muon_torch_newton_schulz_error_distribution():
    """torch's own bfloat16 Newton-Schulz against rules.newton_schulz on the well-conditioned
    random matrices of the docstring above (a smaller sample): the same bound holds."""
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns  # torch 2.13's function

    rng = np.random.default_rng(9)
    errors = []
    for shape in [(1, 2), (2, 3), (3, 4), (4, 3), (8, 12), (16, 5), (40, 20)]:
        for _ in range(30):
            G = rng.normal(size=shape) * 10.0 ** rng.uniform(-4, 4)
            s = np.linalg.svd(G, compute_uv=False)
            if np.linalg.norm(G) / s[-1] > 100:
                continue
            theirs = torch_ns(torch.from_numpy(G), rules.NS_COEFFICIENTS, 5, 1e-7).double().numpy()
            errors.append(_ns_error(theirs, rules.newton_schulz(G)))
    assert len(errors) > 150
    assert max(errors) <= MUON_TOL
    assert np.median(errors) <= 8 * U_BF16
    assert max(errors) > U_BF16 / 4  # torch really is in bfloat16 (float64 would give ~1e-15)


def _with_singular_values(rng, shape, s):
    m, n = shape[-2:]
    U = np.linalg.qr(rng.normal(size=(m, m)))[0]
    V = np.linalg.qr(rng.normal(size=(n, n)))[0]
    k = min(m, n)
    return (U[:, :k] * s) @ V[:, :k].T


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (1, 7), (7, 1)], ids=str)
def test_newton_schulz_against_svd(shape):
    """Newton-Schulz maps each singular value s of G / ||G||_F to p^5(s) and keeps the singular
    vectors: the result is U p^5(S / ||G||_F) V^T exactly (float64), which approximates the
    orthogonal factor U V^T: singular values in a band around 1, not 1."""
    rng = np.random.default_rng(10)
    for scale in [1e-3, 1.0, 1e3]:
        G = scale * rng.normal(size=shape)
        U, S, Vt = np.linalg.svd(G, full_matrices=False)
        O = rules.newton_schulz(G)
        np.testing.assert_allclose(O, (U * _p5(S / np.linalg.norm(G))) @ Vt, rtol=0, atol=1e-12)
        # its orthogonal ("polar") factor is that of G: same singular vectors, p^5 > 0
        Uo, So, Vto = np.linalg.svd(O, full_matrices=False)
        np.testing.assert_allclose(Uo @ Vto, U @ Vt, rtol=0, atol=1e-10)
    # singular values from 1% to 100% of ||G||_F land in [0.68, 1.14], not on 1
    k = min(shape)
    s = np.geomspace(1.0, 0.01 * math.sqrt(k), k) if k > 1 else np.array([1.0])
    G = _with_singular_values(rng, shape, s)
    So = np.linalg.svd(rules.newton_schulz(G), compute_uv=False)
    assert np.all((So >= 0.68) & (So <= 1.14)), So
    if k > 1:
        assert np.max(np.abs(So - 1)) > 0.1  # a band, not exactly orthogonal
    # the classic quintic Newton-Schulz (p(1) = 1, p'(1) = 0) converges to U V^T itself
    exact = rules.newton_schulz(G, steps=30, coefficients=(1.875, -1.25, 0.375))
    U, S, Vt = np.linalg.svd(G, full_matrices=False)
    np.testing.assert_allclose(exact, U @ Vt, rtol=0, atol=1e-12)


def test_newton_schulz_stack_and_zero():
    rng = np.random.default_rng(11)
    G = rng.normal(size=(3, 4, 6))
    stacked = rules.newton_schulz(G)
    for c in range(3):
        np.testing.assert_allclose(stacked[c], rules.newton_schulz(G[c]), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(rules.newton_schulz(np.zeros((2, 3))), np.zeros((2, 3)))  # eps, no 0/0
    with pytest.raises(ValueError, match="matrix"):
        rules.newton_schulz(np.ones(3))


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_muon_on_a_vector_is_normalized_momentum_descent(scale):
    """x of shape (2,) is the 1 x 2 matrix [x]: one singular value, 1 after normalisation,
    p^5(1) = 0.6964 after the five steps. Every step has length 0.6964 lr whatever the gradient's
    size: normalized gradient descent on the Nesterov momentum."""
    p5 = _p5(1.0)
    assert p5 == pytest.approx(0.696436, abs=1e-6)
    rng = np.random.default_rng(12)
    grads = scale * rng.normal(size=(20, 2))
    lr, wd, mu = 0.1, 0.1, 0.95
    x = np.array([-5.0, -2.0])
    state: dict = {}
    buf = np.zeros(2)
    for g in grads:
        new = rules.muon(x, g, state, lr=lr, weight_decay=wd, momentum=mu)
        buf = mu * buf + (1 - mu) * g
        d = (1 - mu) * g + mu * buf
        np.testing.assert_allclose(new, x * (1 - lr * wd) - lr * p5 * d / np.linalg.norm(d), rtol=0, atol=1e-12)
        assert np.linalg.norm(x * (1 - lr * wd) - new) == pytest.approx(lr * p5, rel=1e-12)
        x = new
    # the same as the explicit 1 x 2 matrix; a number is a 1 x 1 matrix (step lr p5 sign(g))
    xv, xm, sv, sm = np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), {}, {}
    for g in grads[:5]:
        xv = rules.muon(xv, g, sv, lr=lr)
        xm = rules.muon(xm, g.reshape(1, 2), sm, lr=lr)
    np.testing.assert_array_equal(xv, xm.reshape(2))
    one = rules.muon(np.array(1.0), np.array(-3.0 * scale), {}, lr=lr, weight_decay=0.0)
    assert one.shape == () and float(one) == pytest.approx(1.0 + lr * p5, rel=1e-12)
    # Moonshot's adjustment scales the vector's step by 0.2 sqrt(n)
    step = rules.muon(np.zeros(4), np.ones(4), {}, lr=lr, adjust_lr_fn="match_rms_adamw")
    assert np.linalg.norm(step) == pytest.approx(lr * 0.2 * 2.0 * p5, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# 5c. Lion and schedule-free SGD/AdamW: no torch class; hand-computed steps of the papers' formulas


def test_lion_hand_computed_steps():
    """Chen et al. 2023, Algorithm 2 (decoupled weight decay), lr 0.1, betas 0.9/0.99, wd 0.01:
        c = 0.9 m + 0.1 g;   x <- x - 0.1 (sign(c) + 0.01 x);   m <- 0.99 m + 0.01 g."""
    state: dict = {}
    kw = dict(lr=0.1, beta1=0.9, beta2=0.99, weight_decay=0.01)
    # step 1 from x = (1, -2), m = 0, g = (0.5, -1): c = (0.05, -0.1), sign (1, -1)
    x = rules.lion(np.array([1.0, -2.0]), np.array([0.5, -1.0]), state, **kw)
    np.testing.assert_allclose(x, [1 - 0.1 * (1 + 0.01), -2 - 0.1 * (-1 - 0.02)], rtol=0, atol=1e-14)  # (0.899, -1.898)
    np.testing.assert_allclose(state["m"], [0.005, -0.01], rtol=0, atol=1e-14)
    # step 2, g = (-1, -1): c = 0.9 (0.005, -0.01) + 0.1 (-1, -1) = (-0.0955, -0.109), sign (-1, -1)
    x = rules.lion(x, np.array([-1.0, -1.0]), state, **kw)
    np.testing.assert_allclose(x, [0.899 + 0.1 - 0.1 * 0.01 * 0.899, -1.898 + 0.1 + 0.1 * 0.01 * 1.898],
                               rtol=0, atol=1e-14)  # (0.998101, -1.796102)
    np.testing.assert_allclose(state["m"], [0.99 * 0.005 - 0.01, 0.99 * -0.01 - 0.01], rtol=0, atol=1e-14)
    # step 3, g = (0.05, 0): c = 0.9 (-0.00505, -0.0199) + (0.005, 0) = (0.000455, -0.01791):
    # the new gradient flips coordinate 1 against the momentum; coordinate 2 moves on a zero gradient
    x = rules.lion(x, np.array([0.05, 0.0]), state, **kw)
    np.testing.assert_allclose(x, [0.998101 - 0.1 - 0.1 * 0.01 * 0.998101, -1.796102 + 0.1 + 0.1 * 0.01 * 1.796102],
                               rtol=0, atol=1e-14)  # (0.897102899, -1.694305898)
    np.testing.assert_allclose(state["m"], [0.99 * -0.00505 + 0.0005, 0.99 * -0.0199], rtol=0, atol=1e-14)
    # sign(0) = 0: a zero interpolation leaves only the decay
    x0 = np.array([2.0])
    np.testing.assert_allclose(rules.lion(x0, np.zeros(1), {}, **kw), [2.0 - 0.1 * 0.01 * 2.0], rtol=0, atol=1e-14)


def test_sgd_schedulefree_hand_computed_steps():
    """lr 0.5, momentum (beta) 0.5, warmup_steps 2, r 0, weight_lr_power 2, f with gradients given:
        lr_t = 0.5 min(1, t/2): 0.25, 0.5, 0.5;   w_t = lr_t^2: 1/16, 1/4, 1/4
        c_2 = 1, c_3 = (1/4)/(5/16) = 0.8, c_4 = (1/4)/(9/16) = 4/9
        z_{t+1} = z_t - lr_t g_t;  x_{t+1} = (1 - c) x_t + c z_{t+1};  y_{t+1} = 0.5 x_{t+1} + 0.5 z_{t+1}"""
    kw = dict(lr=0.5, momentum=0.5, warmup_steps=2)
    state: dict = {}
    y = rules.sgd_schedulefree(np.array([1.0, -2.0]), np.array([2.0, -4.0]), state, **kw)
    # z2 = (1, -2) - 0.25 (2, -4) = (0.5, -1); x2 = z2 (c = 1); y2 = (0.5, -1)
    np.testing.assert_allclose(state["z"], [0.5, -1.0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(state["x"], [0.5, -1.0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(y, [0.5, -1.0], rtol=0, atol=1e-14)
    y = rules.sgd_schedulefree(y, np.array([1.0, 2.0]), state, **kw)
    # z3 = (0.5, -1) - 0.5 (1, 2) = (0, -2); x3 = 0.2 (0.5, -1) + 0.8 (0, -2) = (0.1, -1.8); y3 = (0.05, -1.9)
    np.testing.assert_allclose(state["z"], [0.0, -2.0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(state["x"], [0.1, -1.8], rtol=0, atol=1e-14)
    np.testing.assert_allclose(y, [0.05, -1.9], rtol=0, atol=1e-14)
    y = rules.sgd_schedulefree(y, np.array([-1.0, 0.5]), state, **kw)
    # z4 = (0, -2) - 0.5 (-1, 0.5) = (0.5, -2.25); x4 = 5/9 (0.1, -1.8) + 4/9 (0.5, -2.25) = (5/18, -2)
    np.testing.assert_allclose(state["z"], [0.5, -2.25], rtol=0, atol=1e-14)
    np.testing.assert_allclose(state["x"], [5 / 18, -2.0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(y, [7 / 18, -2.125], rtol=0, atol=1e-14)


@pytest.mark.parametrize("r, power, expected_c", [
    (0.0, 2.0, [1, 1 / 2, 1 / 3, 1 / 4]),      # constant lr: the plain mean of z_2 .. z_{t+1}
    (1.0, 2.0, [1, 2 / 3, 3 / 6, 4 / 10]),     # w_t = t: later iterates weigh more
    (2.0, 0.0, [1, 4 / 5, 9 / 14, 16 / 30]),   # w_t = t^2, lr not used
])
def test_schedulefree_weights_c(r, power, expected_c):
    # momentum 1 evaluates at the average: y = x, so c_{t+1} = (x_{t+1} - x_t) / (z_{t+1} - x_t)
    state: dict = {}
    y = np.array([0.0])
    for k, c in enumerate(expected_c):
        x_t = state.get("x", y).copy()
        y = rules.sgd_schedulefree(y, np.array([1.0 + k]), state, lr=0.5, momentum=1.0, r=r, weight_lr_power=power)
        np.testing.assert_allclose(state["x"], (1 - c) * x_t + c * state["z"], rtol=0, atol=1e-14)
        np.testing.assert_array_equal(y, state["x"])


def test_sgd_schedulefree_weight_decay_and_limits():
    # weight decay adds wd * y to the gradient; momentum 0 returns z (plain SGD), x still averages
    state: dict = {}
    y = rules.sgd_schedulefree(np.array([2.0]), np.array([1.0]), state, lr=0.1, momentum=0.0, weight_decay=0.5)
    np.testing.assert_allclose(y, [2.0 - 0.1 * (1.0 + 0.5 * 2.0)], rtol=0, atol=1e-14)
    np.testing.assert_array_equal(y, state["z"])


def test_adamw_schedulefree_hand_computed_steps():
    """lr 0.5, beta1 0.5, beta2 0.5, eps 0, weight_decay 0.1, warmup_steps 2 (reference-code form):
        v_t = 0.5 v_{t-1} + 0.5 g^2,  d_t = sqrt(v_t / (1 - 0.5^t)),  lr_t = 0.25, 0.5
        z_{t+1} = z_t - lr_t 0.1 y_t - lr_t g_t / d_t;   c_2 = 1, c_3 = 0.8;   y = 0.5 x + 0.5 z"""
    kw = dict(lr=0.5, beta1=0.5, beta2=0.5, eps=0.0, weight_decay=0.1, warmup_steps=2)
    state: dict = {}
    y1, g1, g2 = np.array([1.0, -2.0]), np.array([2.0, -4.0]), np.array([1.0, 2.0])
    y2 = rules.adamw_schedulefree(y1, g1, state, **kw)
    # d_1 = |g_1|: z2 = (1, -2) - 0.025 (1, -2) - 0.25 (1, -1) = (0.725, -1.7) = x2 = y2
    np.testing.assert_allclose(state["z"], [0.725, -1.7], rtol=0, atol=1e-14)
    np.testing.assert_allclose(y2, [0.725, -1.7], rtol=0, atol=1e-14)
    y3 = rules.adamw_schedulefree(y2, g2, state, **kw)
    # v_2 / (1 - 0.25) = (g1^2 + 2 g2^2) / 3 = (2, 8): d_2 = (sqrt 2, 2 sqrt 2), g2 / d_2 = (1, 1) / sqrt 2
    z3 = np.array([0.725 - 0.5 * 0.1 * 0.725 - 0.5 / math.sqrt(2), -1.7 + 0.5 * 0.1 * 1.7 - 0.5 / math.sqrt(2)])
    x3 = 0.2 * np.array([0.725, -1.7]) + 0.8 * z3
    np.testing.assert_allclose(state["z"], z3, rtol=0, atol=1e-14)
    np.testing.assert_allclose(state["x"], x3, rtol=0, atol=1e-14)
    np.testing.assert_allclose(y3, 0.5 * x3 + 0.5 * z3, rtol=0, atol=1e-14)


def _adamw_schedulefree_algorithm_1(y1, grads, lr, beta1, beta2, eps, weight_decay, warmup_steps, r=0.0, power=2.0):
    """Defazio et al. 2024, Algorithm 1 (schedule-free AdamW) line by line, with the reference
    code's r and weight_lr_power in line 10 (the paper: r = 0, power 2). Returns y_2 .. y_{T+1}.
        y_t = (1 - beta1) z_t + beta1 x_t;   v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        gamma_t = lr sqrt(1 - beta2^t) min(1, t / warmup)
        z_{t+1} = z_t - gamma_t g_t / (sqrt(v_t) + eps) - gamma_t weight_decay y_t
        c_{t+1} = t^r gamma_t^power / sum_i i^r gamma_i^power;   x_{t+1} = (1 - c) x_t + c z_{t+1}"""
    x = z = y = np.array(y1, dtype=float)
    v, weight_sum, ys = 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        v = beta2 * v + (1 - beta2) * g * g
        gamma = lr * math.sqrt(1 - beta2**t) * (min(1.0, t / warmup_steps) if warmup_steps else 1.0)
        z = z - gamma * g / (np.sqrt(v) + eps) - gamma * weight_decay * y
        weight = t**r * gamma**power
        weight_sum += weight
        x = (1 - weight / weight_sum) * x + weight / weight_sum * z
        y = (1 - beta1) * z + beta1 * x
        ys.append(y)
    return np.array(ys)


def test_adamw_schedulefree_against_the_papers_algorithm_1():
    """The rule follows the authors' reference code (schedulefree 1.4), which differs from the
    paper's Algorithm 1 only in where Adam's bias correction sqrt(1 - beta2^t) goes: in the paper
    it is part of gamma_t, so it also scales eps, the decay and the averaging weights. With
    eps = 0 and no decay the z steps are the same, and with equal averaging weights
    (weight_lr_power = 0; any r, any warm-up) the whole run is; with the weights gamma_t^2 the
    averages differ (while sqrt(1 - beta2^t) still grows), and so do the paths."""
    rng = np.random.default_rng(13)
    y1, grads = rng.normal(size=(3, 4)), rng.normal(size=(60, 3, 4))
    hp = dict(lr=0.05, beta1=0.9, beta2=0.99, eps=0.0, weight_decay=0.0)
    for warmup, r in [(0, 0.0), (10, 0.0), (5, 1.5)]:
        state: dict = {}
        ours, y = [], y1
        for g in grads:
            y = rules.adamw_schedulefree(y, g, state, warmup_steps=warmup, r=r, weight_lr_power=0.0, **hp)
            ours.append(y)
        paper = _adamw_schedulefree_algorithm_1(y1, grads, warmup_steps=warmup, r=r, power=0.0, **hp)
        np.testing.assert_allclose(np.array(ours), paper, rtol=0, atol=1e-12, err_msg=f"warmup {warmup}, r {r}")
    # the paper's weights gamma_t^2 (and its eps and decay placement): not the same run
    state, y = {}, y1
    for g in grads:
        y = rules.adamw_schedulefree(y, g, state, lr=0.05, beta1=0.9, beta2=0.99, weight_decay=0.1)
    paper = _adamw_schedulefree_algorithm_1(y1, grads, 0.05, 0.9, 0.99, 1e-8, 0.1, 0)
    assert np.abs(y - paper[-1]).max() > 1e-4


# ---------------------------------------------------------------------------------------------
# 5d. stacks and array hyperparameters (the batched-training convention)

NEW_RULES = ["nadam", "radam", "adamax", "adafactor", "muon", "lion", "sgd_schedulefree", "adamw_schedulefree"]
# hyperparameters that show every part of each rule within 50 steps
_STACK_HP = {
    "nadam": dict(lr=0.05, weight_decay=0.1), "radam": dict(lr=0.05, weight_decay=0.1),
    "adamax": dict(lr=0.05, weight_decay=0.1), "adafactor": dict(lr=0.1, weight_decay=0.1, d=1.5),
    "muon": dict(lr=0.05), "lion": dict(lr=0.05, weight_decay=0.1),
    "sgd_schedulefree": dict(lr=0.1, warmup_steps=5, weight_decay=0.1),
    "adamw_schedulefree": dict(lr=0.05, warmup_steps=5, weight_decay=0.1),
}


@pytest.mark.parametrize("name", NEW_RULES)
def test_stack_of_matrices_is_independent_problems(name):
    """x (3, 4, 5) is three problems: running the rule on the stack equals running it on each
    4 x 5 matrix alone (the matrix rules, Muon and Adafactor, act on the last two axes)."""
    rule = rules.RULES[name]
    rng = np.random.default_rng(13)
    x = rng.normal(size=(3, 4, 5)) * np.array([0.1, 1.0, 10.0])[:, None, None]
    grads = rng.normal(size=(50, 3, 4, 5)) * np.array([1e-3, 1.0, 1e2])[:, None, None]
    x0 = x.copy()
    singles = [x[c].copy() for c in range(3)]
    state: dict = {}
    states: list = [{}, {}, {}]
    for g in grads:
        x = rule(x, g, state, **_STACK_HP[name])
        singles = [rule(singles[c], g[c], states[c], **_STACK_HP[name]) for c in range(3)]
    for c in range(3):
        np.testing.assert_allclose(x[c], singles[c], rtol=0, atol=ATOL)
        assert np.max(np.abs(x[c] - x0[c])) > 1e-3  # every problem moved


def _array_hyperparameters(rule):
    """Three values per numeric hyperparameter, spread over its slider range, as a (3, 1, 1)
    array (ns_steps, a loop count, stays a number)."""
    out, per_model = {}, [{}, {}, {}]
    for name, (default, rng) in hyperparameters_of(rule).items():
        if isinstance(default, bool) or not isinstance(default, (int, float)) or name == "ns_steps":
            continue
        if rng.log:
            values = [rng.low ** (1 - f) * rng.high**f for f in (0.3, 0.5, 0.7)]
        elif rng.integer:
            values = [int(rng.low + f * (rng.high - rng.low)) for f in (0.1, 0.3, 0.5)]
        else:
            values = [rng.low + f * (rng.high - rng.low) for f in (0.0, 0.4, 0.8)]  # 0 included
        out[name] = np.array(values, dtype=float).reshape(3, 1, 1)
        for c in range(3):
            per_model[c][name] = values[c]
    return out, per_model


@pytest.mark.parametrize("name", NEW_RULES)
def test_array_hyperparameters_equal_separate_runs(name):
    """The math of the new rules has no Python `if` on a hyperparameter's value: with lr, betas,
    weight decay ... given as (3, 1, 1) arrays (through the shared argument checks, which check
    every entry), a stack of three models equals three runs with the numbers."""
    rule = rules.RULES[name]
    hp, per_model = _array_hyperparameters(rule)
    assert "lr" in hp
    rng = np.random.default_rng(14)
    x = rng.normal(size=(3, 4, 5))
    grads = rng.normal(size=(30, 3, 4, 5))
    singles = [x[c].copy() for c in range(3)]
    state: dict = {}
    states: list = [{}, {}, {}]
    for g in grads:
        x = rule(x, g, state, **hp)
        singles = [rule(singles[c], g[c], states[c], **per_model[c]) for c in range(3)]
    for c in range(3):
        np.testing.assert_allclose(x[c], singles[c], rtol=0, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# 6. reference numbers, f = 0.1 x1^2 + 2 x2^2 from (-5, -2), 20 steps (doc section 3b)


def _trace(rule, steps=20, **hp):
    f = d2l_quadratic()
    x, state = np.array(f.start, dtype=float), {}
    for _ in range(steps):
        x = rule(x, f.grad(x), state, **hp)
    return "%f" % x[0], "%f" % x[1]


REFERENCE = [
    pytest.param(rules.gd, dict(lr=0.4), ("-0.943467", "-0.000073"), id="gd-0.4"),
    pytest.param(rules.momentum, dict(lr=0.4, momentum=0.5), ("-0.062843", "0.001202"), id="momentum-0.4-0.5"),
    pytest.param(rules.adagrad, dict(lr=0.4, eps_inside=True, eps=1e-6), ("-2.382563", "-0.158591"),
                 id="adagrad-d2l"),
    pytest.param(rules.adagrad, dict(lr=0.4), ("-2.382562", "-0.158591"), id="adagrad-torch"),
    pytest.param(rules.adagrad, dict(lr=2.0), ("-0.002295", "-0.000000"), id="adagrad-torch-lr2"),
    pytest.param(rules.rmsprop, dict(lr=0.4, alpha=0.9, eps=1e-6, eps_inside=True), ("-0.010599", "0.000000"),
                 id="rmsprop-d2l"),
    pytest.param(rules.rmsprop, dict(lr=0.4, alpha=0.9, eps=1e-6), ("-0.010598", "0.000000"), id="rmsprop-torch"),
    pytest.param(rules.rmsprop, dict(lr=0.4, alpha=0.9, eps=1e-6, centered=True, momentum=0.5),
                 ("-0.002592", "0.000364"), id="rmsprop-torch-centered-momentum"),
    pytest.param(rules.adadelta, dict(rho=0.9, eps=1e-6), ("-4.930470", "-1.930986"), id="adadelta"),
    pytest.param(rules.adam, dict(lr=0.4, eps=1e-6), ("0.996029", "-0.212750"), id="adam-0.4"),
    pytest.param(rules.adam, dict(lr=0.4, eps=1e-6, amsgrad=True), ("0.995601", "-0.212628"), id="adam-amsgrad"),
    pytest.param(rules.nesterov, dict(lr=0.3, momentum=0.5), ("-0.341872", "-0.000003"), id="nesterov-0.3-0.5"),
]


@pytest.mark.parametrize("rule, hp, expected", REFERENCE)
def test_reference_numbers(rule, hp, expected):
    assert _trace(rule, **hp) == expected


def test_newton_solves_a_quadratic_in_one_step():
    f = d2l_quadratic()
    x = np.array(f.start)
    new = rules.newton(x, f.grad(x), {}, hess=f.hess(x))
    np.testing.assert_allclose(new, [0.0, 0.0], atol=1e-15)


def test_newton_abs_eigs_moves_downhill_at_negative_curvature():
    obj = get_1d("xcos")
    x = np.array([1 / 0.3])  # 0.15 pi x = pi/2: f'' = -0.3 pi < 0
    d1, d2 = float(obj.df(x[0])), float(obj.d2f(x[0]))
    assert d2 < 0
    plain = rules.newton(x, np.array([d1]), {}, lr=0.5, hess=d2)
    fixed = rules.newton(x, np.array([d1]), {}, lr=0.5, hess=d2, abs_eigs=True)
    assert float(obj(fixed[0])) < float(obj(x[0])) < float(obj(plain[0]))
    # the same with a 2-D Hessian: the saddle's x2 direction has negative curvature
    s = __import__("d2lmini.objectives", fromlist=["get"]).get("saddle")
    p = np.array([0.5, 0.3])
    step = rules.newton(p, s.grad(p), {}, lr=0.1, hess=s.hess(p), abs_eigs=True)
    assert s.value(step) < s.value(p)


def test_newton_singular_hessian_gives_nan_not_an_error():
    x = np.array([1.0, 2.0])
    out = rules.newton(x, np.array([1.0, 1.0]), {}, hess=np.zeros((2, 2)))
    assert out.shape == (2,) and not np.all(np.isfinite(out))
    out1 = rules.newton(np.array([1.0]), np.array([1.0]), {}, hess=0.0)
    assert not np.all(np.isfinite(out1))


def test_newton_damping():
    x = np.array([1.0, 1.0])
    out = rules.newton(x, np.array([2.0, 4.0]), {}, hess=np.diag([2.0, 4.0]), damping=2.0)
    np.testing.assert_allclose(out, [0.5, 1 - 4 / 6], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# 7. bad input


@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf")], ids=["negative", "nan", "inf"])
@pytest.mark.parametrize("name", list(rules.RULES) + ["sgd", "momentum_sutskever", "momentum_ema"])
def test_bad_lr(name, lr):
    rule = getattr(rules, name)
    kw = dict(hess=np.eye(2)) if name == "newton" else {}
    with pytest.raises(ValueError, match="lr"):
        rule(np.zeros(2), np.ones(2), {}, lr=lr, **kw)


@pytest.mark.parametrize("rule, kw, name", [
    (rules.adam, dict(beta1=1.0), "beta1"),
    (rules.adam, dict(beta2=-0.1), "beta2"),
    (rules.adamw, dict(beta1=1.0), "beta1"),
    (rules.adam, dict(eps=-1e-8), "eps"),
    (rules.adam, dict(weight_decay=-1.0), "weight_decay"),
    (rules.momentum, dict(momentum=1.0), "momentum"),
    (rules.nesterov, dict(momentum=float("nan")), "momentum"),
    (rules.momentum_ema, dict(beta=1.5), "beta"),
    (rules.sgd, dict(momentum=-0.5), "momentum"),
    (rules.sgd, dict(dampening=1.5), "dampening"),
    (rules.rmsprop, dict(alpha=1.5), "alpha"),
    (rules.rmsprop, dict(momentum=1.0), "momentum"),
    (rules.adadelta, dict(rho=-0.1), "rho"),
    (rules.adagrad, dict(lr_decay=-1.0), "lr_decay"),
    (rules.adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (rules.newton, dict(hess=np.eye(2), damping=-1.0), "damping"),
    (rules.nadam, dict(momentum_decay=-1e-3), "momentum_decay"),
    (rules.nadam, dict(beta2=1.0), "beta2"),
    (rules.radam, dict(beta2=1.0), "beta2"),
    (rules.radam, dict(beta1=-0.1), "beta1"),
    (rules.adamax, dict(beta2=1.5), "beta2"),
    (rules.adamax, dict(eps=-1.0), "eps"),
    (rules.adafactor, dict(beta2_decay=0.5), "beta2_decay"),
    (rules.adafactor, dict(eps1=-1e-3), "eps1"),
    (rules.adafactor, dict(eps2=-1e-3), "eps2"),
    (rules.adafactor, dict(d=0.5), "d"),
    (rules.adafactor, dict(weight_decay=-0.1), "weight_decay"),
    (rules.muon, dict(momentum=1.5), "momentum"),
    (rules.muon, dict(ns_steps=100), "ns_steps"),
    (rules.muon, dict(ns_steps=-1), "ns_steps"),
    (rules.muon, dict(ns_coefficients=(1.0, 2.0)), "ns_coefficients"),
    (rules.muon, dict(adjust_lr_fn="sqrt"), "adjust_lr_fn"),
    (rules.muon, dict(weight_decay=-0.1), "weight_decay"),
    (rules.lion, dict(beta1=1.5), "beta1"),
    (rules.lion, dict(beta2=-0.5), "beta2"),
    (rules.lion, dict(weight_decay=-0.1), "weight_decay"),
    (rules.sgd_schedulefree, dict(momentum=1.5), "momentum"),
    (rules.sgd_schedulefree, dict(warmup_steps=-1), "warmup_steps"),
    (rules.sgd_schedulefree, dict(weight_lr_power=-2.0), "weight_lr_power"),
    (rules.sgd_schedulefree, dict(r=float("inf")), "r"),
    (rules.adamw_schedulefree, dict(beta2=1.0), "beta2"),
    (rules.adamw_schedulefree, dict(beta1=2.0), "beta1"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_hyperparameter_names_the_argument(rule, kw, name):
    with pytest.raises(ValueError, match=name):
        rule(np.zeros(2), np.ones(2), {}, **kw)


def test_boundary_values_torch_allows():
    x, g = np.zeros(2), np.ones(2)
    rules.adadelta(x, g, {}, rho=1.0)
    rules.rmsprop(x, g, {}, alpha=1.0)
    rules.rmsprop(x, g, {}, alpha=0.0)
    rules.adam(x, g, {}, beta1=0.0, beta2=0.0)


def test_non_number_hyperparameter_is_type_error():
    with pytest.raises(TypeError, match="lr"):
        rules.gd(np.zeros(2), np.ones(2), {}, lr="fast")
    with pytest.raises(TypeError, match="beta1"):
        rules.adam(np.zeros(2), np.ones(2), {}, beta1=None)
    with pytest.raises(TypeError, match="ns_steps"):
        rules.muon(np.zeros((2, 2)), np.ones((2, 2)), {}, ns_steps=2.5)
    with pytest.raises(TypeError, match="warmup_steps"):
        rules.sgd_schedulefree(np.zeros(2), np.ones(2), {}, warmup_steps=True)
    with pytest.raises(TypeError, match="ns_coefficients"):
        rules.muon(np.zeros((2, 2)), np.ones((2, 2)), {}, ns_coefficients=("a", 1.0, 2.0))


@pytest.mark.parametrize("name", list(rules.RULES))
def test_gradient_of_wrong_shape(name):
    kw = dict(hess=np.eye(2)) if name == "newton" else {}
    with pytest.raises(ValueError, match="shape"):
        rules.RULES[name](np.zeros(2), np.ones(3), {}, **kw)


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw",
                                  "nadam", "radam", "adamax", "adafactor", "muon", "lion", "sgd_schedulefree",
                                  "adamw_schedulefree"])
def test_state_buffer_of_wrong_shape(name):
    rule = rules.RULES[name]
    for first, second in [((3,), (2,)), ((3, 4), (4, 3))]:
        state: dict = {}
        rule(np.zeros(first), np.ones(first), state)
        with pytest.raises(ValueError, match=r"pass a fresh state dict \{\} when x changes shape"):
            rule(np.zeros(second), np.ones(second), state)


def test_state_must_be_a_dict():
    with pytest.raises(TypeError, match="state"):
        rules.gd(np.zeros(2), np.ones(2), None)


def test_nesterov_needs_momentum_and_no_dampening():
    with pytest.raises(ValueError, match="nesterov"):
        rules.sgd(np.zeros(2), np.ones(2), {}, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="nesterov"):
        rules.sgd(np.zeros(2), np.ones(2), {}, momentum=0.0, nesterov=True)


def test_newton_without_hess():
    with pytest.raises(ValueError, match=r"hess=objective\.hess\(x\)"):
        rules.newton(np.zeros(2), np.ones(2), {})
    with pytest.raises(ValueError, match="hess"):
        rules.newton(np.zeros(2), np.ones(2), {}, hess=np.eye(3))


def test_unknown_keyword_is_type_error():
    with pytest.raises(TypeError):
        rules.adam(np.zeros(2), np.ones(2), {}, betas=(0.9, 0.999))


def test_hyperparams_unknown_name():
    def my_rule(x, g, state, eta=0.1):
        return x - eta * g

    with pytest.raises(ValueError, match="foo"):
        hyperparams(foo=(0, 1))(my_rule)
    assert not hasattr(my_rule, "ranges")


def test_hyperparameters_of_needs_three_arguments():
    def not_a_rule(x, g):
        return x - g

    with pytest.raises(TypeError, match="x, g, state"):
        hyperparameters_of(not_a_rule)


def test_get_rule():
    assert rules.get_rule("adam") is rules.adam
    assert rules.get_rule(rules.momentum_ema) is rules.momentum_ema
    with pytest.raises(ValueError, match="gd, momentum, nesterov"):
        rules.get_rule("adamx")
    with pytest.raises(TypeError):
        rules.get_rule(42)


# ---------------------------------------------------------------------------------------------
# declarations


def test_registry_and_exports():
    assert set(rules.RULES) == {"gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
                                "adamw", "nadam", "radam", "adamax", "adafactor", "muon", "lion",
                                "sgd_schedulefree", "adamw_schedulefree", "newton"}
    for name in ["gd", "sgd", "momentum", "nesterov", "momentum_sutskever", "momentum_ema", "adagrad",
                 "rmsprop", "adadelta", "adam", "adamw", "nadam", "radam", "adamax", "adafactor", "muon",
                 "newton_schulz", "NS_COEFFICIENTS", "lion", "sgd_schedulefree", "adamw_schedulefree",
                 "newton", "clip_grad_norm", "clip_grad_value",
                 "RULES", "get_rule", "Range", "hyperparams", "DEFAULT_RANGES", "hyperparameters_of",
                 "check_lr"]:
        assert name in rules.__all__ and hasattr(rules, name)


TORCH_DEFAULTS = [
    ("sgd", "SGD"), ("adagrad", "Adagrad"), ("rmsprop", "RMSprop"), ("adadelta", "Adadelta"),
    ("adam", "Adam"), ("adamw", "AdamW"), ("nadam", "NAdam"), ("radam", "RAdam"), ("adamax", "Adamax"),
    ("adafactor", "Adafactor"), ("muon", "Muon"),
]


@pytest.mark.parametrize("name, opt_name", TORCH_DEFAULTS)
def test_defaults_are_torch_defaults(name, opt_name):
    ours = {k: p.default for k, p in inspect.signature(getattr(rules, name)).parameters.items()}
    theirs = getattr(torch.optim, opt_name)([torch.nn.Parameter(torch.zeros(2, 2))]).defaults  # Muon: 2-D only
    for key, value in ours.items():
        if key in ("x", "g", "state", "eps_inside", "bias_correction"):
            continue
        if key in ("beta1", "beta2"):
            assert value == theirs["betas"][("beta1", "beta2").index(key)]
        elif key in ("eps1", "eps2"):
            assert value == theirs["eps"][("eps1", "eps2").index(key)]
        else:
            assert theirs[key] == value, key


@pytest.mark.parametrize("name", list(rules.RULES))
def test_every_numeric_hyperparameter_has_a_range_holding_its_default(name):
    for hp, (default, rng) in hyperparameters_of(rules.RULES[name]).items():
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            continue  # switches, and settings with no slider (Adafactor's eps1=None, Muon's ns_coefficients)
        assert isinstance(rng, Range), hp
        assert rng.low <= default <= rng.high, hp


# ---------------------------------------------------------------------------------------------
# 8. property test: one step keeps the shape and changes nothing in place

SHAPES = [(), (1,), (2,), (3, 4), (2, 1, 3)]
finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


def _draw_hyperparameters(data, rule):
    hp = {}
    for name, (default, rng) in hyperparameters_of(rule).items():
        if isinstance(default, bool):
            hp[name] = data.draw(st.booleans(), label=name)
        elif rng is None:
            hp[name] = default
        elif rng.log:
            exponent = data.draw(st.floats(math.log10(rng.low), math.log10(rng.high)), label=name)
            hp[name] = 10.0**exponent
        elif rng.integer:
            hp[name] = data.draw(st.integers(int(rng.low), int(rng.high)), label=name)
        else:
            hp[name] = data.draw(st.floats(rng.low, rng.high), label=name)
    return hp


def _draw_array(data, shape, label):
    n = int(np.prod(shape)) if shape else 1
    values = data.draw(st.lists(finite, min_size=n, max_size=n), label=label)
    return np.array(values, dtype=float).reshape(shape)


@pytest.mark.parametrize("name", list(rules.RULES))
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_shape_kept_inputs_untouched(name, data):
    rule = rules.RULES[name]
    shape = data.draw(st.sampled_from(SHAPES), label="shape")
    hp = _draw_hyperparameters(data, rule)
    state: dict = {}
    for step in range(2):  # the second step uses the buffers of the first
        x = _draw_array(data, shape, f"x{step}")
        g = _draw_array(data, shape, f"g{step}")
        if name == "newton":
            n = x.size
            m = _draw_array(data, (n, n), f"m{step}")
            hp["hess"] = m + m.T
        x0, g0 = x.copy(), g.copy()
        with np.errstate(all="ignore"):
            new = rule(x, g, state, **hp)
        assert np.shape(new) == x.shape
        assert new is not x
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(g, g0)


# ---------------------------------------------------------------------------------------------
# 8. array hyperparameters: one value per configuration (d2lmini.sweeps)
#
# A rule called once on C configurations stacked along a leading axis, with hyperparameter arrays
# of shape (C, 1, 1), must give for each configuration exactly what the scalar call gives. The
# values are chosen to take every special branch at once (momentum 0 next to momentum > 0,
# weight decay 0 next to > 0, ...), which is where a Python `if` on a value would break.

C3 = lambda *v: np.array(v, dtype=float).reshape(-1, 1, 1)  # noqa: E731

ARRAY_CASES = [
    pytest.param("gd", dict(lr=C3(0.0, 0.1, 0.5)), {}, id="gd"),
    pytest.param("sgd", dict(lr=C3(0.01, 0.1, 0.05), momentum=C3(0.0, 0.9, 0.5), dampening=C3(0.5, 0.0, 0.1),
                             weight_decay=C3(0.0, 0.1, 1e-3)), {}, id="sgd-mixed-momentum-dampening-wd"),
    pytest.param("sgd", dict(lr=C3(0.01, 0.1, 0.05), momentum=C3(0.9, 0.5, 0.1), weight_decay=C3(0.0, 0.1, 0.0)),
                 dict(nesterov=True, maximize=True), id="sgd-nesterov-maximize"),
    pytest.param("sgd", dict(lr=C3(0.01, 0.1, 0.05)), dict(momentum=0.9, dampening=0.3), id="sgd-scalar-momentum"),
    pytest.param("momentum", dict(lr=C3(0.01, 0.1, 0.3), momentum=C3(0.0, 0.5, 0.9)), {}, id="momentum"),
    pytest.param("nesterov", dict(lr=C3(0.01, 0.1, 0.3), momentum=C3(0.0, 0.5, 0.9)), {}, id="nesterov"),
    pytest.param("momentum_sutskever", dict(lr=C3(0.01, 0.1, 0.3), momentum=C3(0.0, 0.5, 0.9)), {},
                 id="momentum_sutskever"),
    pytest.param("momentum_ema", dict(lr=C3(0.01, 0.1, 0.3), beta=C3(0.0, 0.5, 0.9)), {}, id="momentum_ema"),
    pytest.param("adagrad", dict(lr=C3(0.01, 0.1, 0.5), lr_decay=C3(0.0, 0.01, 0.1), weight_decay=C3(0.0, 0.1, 0.0),
                                 initial_accumulator_value=C3(0.0, 0.1, 1.0), eps=C3(1e-10, 1e-6, 1e-3)),
                 dict(maximize=True), id="adagrad-all"),
    pytest.param("adagrad", dict(lr=C3(0.01, 0.1, 0.5), eps=C3(1e-6, 1e-6, 1e-3)), dict(eps_inside=True),
                 id="adagrad-eps_inside"),
    pytest.param("rmsprop", dict(lr=C3(1e-3, 1e-2, 0.1), alpha=C3(0.0, 0.9, 1.0), momentum=C3(0.0, 0.5, 0.9),
                                 weight_decay=C3(0.0, 0.1, 0.0), eps=C3(1e-8, 1e-6, 1e-3)), {}, id="rmsprop-all"),
    pytest.param("rmsprop", dict(lr=C3(1e-3, 1e-2, 0.1), momentum=C3(0.0, 0.0, 0.9)),
                 dict(centered=True, eps_inside=True, maximize=True), id="rmsprop-centered-eps_inside"),
    pytest.param("adadelta", dict(lr=C3(0.5, 1.0, 2.0), rho=C3(0.9, 0.95, 1.0), eps=C3(1e-6, 1e-4, 1e-6),
                                  weight_decay=C3(0.0, 0.1, 0.0)), {}, id="adadelta"),
    pytest.param("adam", dict(lr=C3(1e-3, 1e-2, 0.1), beta1=C3(0.0, 0.9, 0.5), beta2=C3(0.0, 0.99, 0.999),
                              eps=C3(1e-8, 1e-6, 0.1), weight_decay=C3(0.0, 0.1, 0.0)), dict(amsgrad=True),
                 id="adam-amsgrad-all"),
    pytest.param("adam", dict(lr=C3(1e-3, 1e-2, 0.1), weight_decay=C3(0.0, 0.1, 0.01)),
                 dict(decoupled_weight_decay=True, maximize=True), id="adam-decoupled"),
    pytest.param("adam", dict(lr=C3(1e-3, 1e-2, 0.1), beta1=C3(0.0, 0.9, 0.5)), dict(bias_correction=False),
                 id="adam-no-bias-correction"),
    pytest.param("adamw", dict(lr=C3(1e-3, 1e-2, 0.1), weight_decay=C3(0.0, 0.01, 0.1)), {}, id="adamw"),
    pytest.param("newton", dict(lr=C3(0.5, 1.0, 0.1), damping=C3(0.0, 1.0, 2.0)), dict(hess=2.0),
                 id="newton-scalar-curvature"),
]


def _check_stacked_equals_scalar_calls(rule, arrays, fixed, shape=(4, 5), steps=25, exact=True, seed=0):
    rng = np.random.default_rng(seed)
    C = 3
    x = rng.normal(size=(C,) + shape)
    xs = [x[c].copy() for c in range(C)]
    state: dict = {}
    states: list = [{} for _ in range(C)]
    for _ in range(steps):
        g = rng.normal(size=(C,) + shape)
        x = rule(x, g, state, **fixed, **arrays)
        for c in range(C):
            xs[c] = rule(xs[c], g[c], states[c], **fixed, **{k: float(v[c, 0, 0]) for k, v in arrays.items()})
    assert x.shape == (C,) + shape
    for c in range(C):
        if exact:
            np.testing.assert_array_equal(x[c], xs[c])
        else:
            np.testing.assert_allclose(x[c], xs[c], rtol=0, atol=1e-12)
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("name, arrays, fixed", ARRAY_CASES)
@pytest.mark.parametrize("shape", [(4, 5), (1, 5)], ids=["matrix", "bias-1xn"])
def test_array_hyperparameters_equal_one_scalar_call_per_configuration(name, arrays, fixed, shape):
    _check_stacked_equals_scalar_calls(getattr(rules, name), arrays, fixed, shape=shape)


@pytest.mark.parametrize("name", [n for n in rules.RULES if n != "newton"])
def test_every_registered_rule_takes_an_array_lr(name):
    """Every rule in RULES (also those added later) accepts one lr per configuration."""
    rule = rules.RULES[name]
    lr0 = hyperparameters_of(rule)["lr"][0]
    _check_stacked_equals_scalar_calls(rule, dict(lr=C3(0.5 * lr0, lr0, 2 * lr0)), {}, steps=10,
                                       exact=False)


@pytest.mark.parametrize("rule, kw, exc, words", [
    (rules.adam, dict(lr=C3(0.1, -1.0, 0.1)), ValueError, "lr must be a finite number >= 0 in every entry"),
    (rules.gd, dict(lr=C3(0.1, np.nan, 0.1)), ValueError, "lr"),
    (rules.adam, dict(beta1=C3(0.9, 1.0, 0.5)), ValueError, r"beta1 must be in \[0, 1\) in every entry"),
    (rules.rmsprop, dict(alpha=C3(0.9, 1.5, 0.5)), ValueError, "alpha"),
    (rules.adagrad, dict(weight_decay=C3(0.0, np.inf, 0.0)), ValueError, "weight_decay"),
    (rules.sgd, dict(momentum=C3(0.0, 0.9, 0.9), nesterov=True), ValueError, "nesterov"),
    (rules.sgd, dict(momentum=C3(0.9, 0.9, 0.9), dampening=C3(0.0, 0.1, 0.0), nesterov=True), ValueError,
     "nesterov"),
    (rules.adam, dict(lr=np.array(["fast", "slow"])), TypeError, "lr must be a number or an array of numbers"),
])
def test_array_hyperparameters_are_checked_entry_by_entry(rule, kw, exc, words):
    with pytest.raises(exc, match=words):
        rule(np.zeros((3, 2, 2)), np.ones((3, 2, 2)), {}, **kw)


def test_single_number_arguments_refuse_arrays():
    with pytest.raises(TypeError, match="max_norm must be a single number"):
        rules.clip_grad_norm([np.ones(3)], C3(1.0, 2.0))
    with pytest.raises(TypeError, match="clip_value must be a single number"):
        rules.clip_grad_value([np.ones(3)], np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="damping must be a single number"):
        rules.newton(np.zeros(2), np.ones(2), {}, hess=np.eye(2), damping=np.array([0.0, 1.0]))


def test_scalars_still_come_back_as_floats():
    assert rules.check_lr(np.float32(0.5)) == 0.5 and isinstance(rules.check_lr(np.array(0.5)), float)
    assert isinstance(rules._check_unit("beta1", 0.9), float)
    out = rules.check_lr(C3(0.1, 0.2))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (2, 1, 1)

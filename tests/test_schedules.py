"""d2lmini.schedules against torch.optim.lr_scheduler, step for step.

The lr that torch's optimizer holds before its (t+1)-th step (after t calls of scheduler.step(),
called after optimizer.step() as torch wants) must equal base_lr * f(t) to a relative 1e-12, over
a few hundred steps; every option of each scheduler; SequentialLR and ChainedScheduler; the
stateful ReduceLROnPlateau on fixed metric sequences. WSD has no torch class: hand-computed
values. Bad arguments raise errors that name them.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from d2lmini import schedules as S

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

REL = 1e-12
BASE_LR = 0.1


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors; a second thread only adds overhead on a busy machine
    yield
    torch.set_num_threads(threads)


def _optimizer(opt_name="SGD", lr=BASE_LR, **kwargs):
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    p.grad = torch.zeros(2, dtype=torch.float64)
    return getattr(torch.optim, opt_name)([p], lr=lr, **kwargs)


def _torch_lrs(make, steps, opt=None, key=None):
    """The lr (or another group entry) that torch uses at steps t = 0 .. steps-1."""
    opt = opt or _optimizer()
    sched = make(opt)
    out = []
    for _ in range(steps):
        group = opt.param_groups[0]
        out.append(group[key] if key else group["lr"])
        opt.step()
        sched.step()
    return out


def _assert_equal_steps(ours, theirs, rel=REL, abs_=0.0):
    assert len(ours) == len(theirs)
    for t, (a, b) in enumerate(zip(ours, theirs)):
        a, b = float(a), float(b)
        assert a == pytest.approx(b, rel=rel, abs=abs_), f"t = {t}: ours {a!r}, torch {b!r}"


def _ours(fn, steps, base=BASE_LR, **params):
    return [base * fn(t, **params) for t in range(steps)]


# ---------------------------------------------------------------------------------------------
# one torch scheduler each

STEPS = 300

SINGLE = [
    pytest.param(S.constant, dict(factor=1 / 3, total_iters=5), lambda o: lr_scheduler.ConstantLR(o),
                 id="ConstantLR-defaults"),
    pytest.param(S.constant, dict(factor=0.5, total_iters=40),
                 lambda o: lr_scheduler.ConstantLR(o, factor=0.5, total_iters=40), id="ConstantLR"),
    pytest.param(S.constant, {}, lambda o: lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0),
                 id="ConstantLR-constant"),
    pytest.param(S.step, dict(step_size=30, gamma=0.5), lambda o: lr_scheduler.StepLR(o, 30, gamma=0.5),
                 id="StepLR"),
    pytest.param(S.step, dict(step_size=7), lambda o: lr_scheduler.StepLR(o, 7), id="StepLR-gamma-default"),
    pytest.param(S.multistep, dict(milestones=[30, 80, 80, 150], gamma=0.5),
                 lambda o: lr_scheduler.MultiStepLR(o, [30, 80, 80, 150], gamma=0.5), id="MultiStepLR-repeated"),
    pytest.param(S.multistep, dict(milestones=[150, 20]),
                 lambda o: lr_scheduler.MultiStepLR(o, [20, 150]), id="MultiStepLR-unsorted"),
    pytest.param(S.exponential, dict(gamma=0.99), lambda o: lr_scheduler.ExponentialLR(o, 0.99),
                 id="ExponentialLR"),
    pytest.param(S.exponential, {}, lambda o: lr_scheduler.ExponentialLR(o, math.exp(-0.1)),
                 id="ExponentialLR-default"),
    pytest.param(S.poly, dict(total_iters=150, power=2.0),
                 lambda o: lr_scheduler.PolynomialLR(o, total_iters=150, power=2.0), id="PolynomialLR"),
    pytest.param(S.poly, {}, lambda o: lr_scheduler.PolynomialLR(o), id="PolynomialLR-defaults"),
    pytest.param(S.poly, dict(total_iters=200, power=0.5),
                 lambda o: lr_scheduler.PolynomialLR(o, total_iters=200, power=0.5), id="PolynomialLR-sqrt"),
    pytest.param(S.linear, {}, lambda o: lr_scheduler.LinearLR(o), id="LinearLR-defaults"),
    pytest.param(S.linear, dict(start_factor=0.01, end_factor=1.0, total_iters=50),
                 lambda o: lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=50), id="LinearLR-warmup"),
    pytest.param(S.linear, dict(start_factor=1.0, end_factor=0.05, total_iters=200),
                 lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=200),
                 id="LinearLR-decay"),
    pytest.param(S.linear_warmup, dict(warmup_steps=25, start_factor=0.1),
                 lambda o: lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=25), id="linear_warmup"),
    pytest.param(S.cosine, dict(T_max=100), lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100),
                 id="CosineAnnealingLR-past-T_max"),
    pytest.param(S.cosine, dict(T_max=300, min_factor=0.01),
                 lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=300, eta_min=0.01 * BASE_LR),
                 id="CosineAnnealingLR-eta_min"),
    pytest.param(S.cosine, dict(T_max=70, min_factor=0.2),
                 lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=70, eta_min=0.2 * BASE_LR),
                 id="CosineAnnealingLR-eta_min-past-T_max"),
    pytest.param(S.polynomial, {}, lambda o: lr_scheduler.LambdaLR(o, lambda t: (1 + 0.1 * t) ** -0.5),
                 id="polynomial=LambdaLR"),
]


@pytest.mark.parametrize("fn, params, make", SINGLE)
def test_schedule_matches_torch(fn, params, make):
    ours = _ours(fn, STEPS, **params)
    theirs = _torch_lrs(make, STEPS)
    _assert_equal_steps(ours, theirs)
    assert len(set(theirs)) > 1 or fn is S.constant and not params  # the schedule does change the lr


def test_cosine_rises_again_after_T_max_like_torch():
    # no restart and no stop: at 2 T_max the factor is back to 1
    assert S.cosine(100, T_max=100) == 0.0
    assert S.cosine(200, T_max=100) == pytest.approx(1.0, rel=1e-15)
    assert S.cosine_with_warmup(250, warmup_steps=10, total_steps=200) == 0.0  # this one holds


def test_schedule_with_a_training_loop():
    # the factor feeds torch's own optimizer: SGD with momentum under our cosine equals CosineAnnealingLR
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(STEPS, 3))
    p1, p2 = (torch.nn.Parameter(torch.ones(3, dtype=torch.float64)) for _ in range(2))
    o1 = torch.optim.SGD([p1], lr=0.05, momentum=0.9)
    o2 = torch.optim.SGD([p2], lr=0.05, momentum=0.9)
    sched = lr_scheduler.CosineAnnealingLR(o2, T_max=STEPS, eta_min=1e-4)
    f = S.schedule("cosine", T_max=STEPS, min_factor=1e-4 / 0.05)
    for t in range(STEPS):
        o1.param_groups[0]["lr"] = 0.05 * f(t)
        for p, o in ((p1, o1), (p2, o2)):
            p.grad = torch.from_numpy(grads[t].copy())
            o.step()
        sched.step()
    np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# OneCycleLR, with the momentum it cycles


ONE_CYCLE = [
    pytest.param(dict(total_steps=200), id="defaults"),
    pytest.param(dict(total_steps=200, anneal_strategy="linear"), id="linear"),
    pytest.param(dict(total_steps=200, three_phase=True), id="three_phase"),
    pytest.param(dict(total_steps=200, three_phase=True, anneal_strategy="linear"), id="three_phase-linear"),
    pytest.param(dict(total_steps=150, pct_start=0.45, div_factor=10.0, final_div_factor=100.0),
                 id="pct_start-div_factors"),
    pytest.param(dict(total_steps=97, pct_start=0.25, three_phase=True, div_factor=5.0), id="odd-total"),
]


@pytest.mark.parametrize("params", ONE_CYCLE)
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle_matches_torch(params, opt_name):
    max_lr = 0.3
    momentum = dict(base_momentum=0.8, max_momentum=0.9)
    kwargs = dict(momentum=0.9) if opt_name == "SGD" else {}
    steps = params["total_steps"] + 1  # t = 0 .. total_steps, torch raises after
    torch_params = dict(params)
    make = lambda o: lr_scheduler.OneCycleLR(o, max_lr=max_lr, **torch_params, **momentum)  # noqa: E731
    opt = _optimizer(opt_name, **kwargs)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(steps):
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["momentum"] if opt_name == "SGD" else g["betas"][0])
        opt.step()
        if len(lrs) < steps:
            sched.step()
    # torch's linear anneal (end - start) pct + start cancels at the end of the cycle, where the lr is
    # 2.5e5 times smaller than max_lr: torch's last lr is 1.19999999998e-6 for the exact 1.2e-6
    # (relative 1.8e-11). So the relative 1e-12 holds there only up to an absolute 1e-16 max_lr.
    _assert_equal_steps(_ours(S.one_cycle, steps, base=max_lr, **params), lrs, abs_=1e-16 * max_lr)
    mom_params = {k: v for k, v in params.items() if k not in ("div_factor", "final_div_factor")}
    _assert_equal_steps([S.one_cycle_momentum(t, **mom_params, **momentum) for t in range(steps)], moms)
    with pytest.raises(ValueError, match="past the cycle"):
        S.one_cycle(steps, **params)
    with pytest.raises(ValueError, match="Tried to step"):
        sched.step()
        sched.step()


def test_one_cycle_shape():
    f = S.schedule("one_cycle", total_steps=100)
    assert f(0) == pytest.approx(1 / 25, rel=1e-15)
    assert max(f.values(101)) == pytest.approx(1.0, rel=1e-15)
    assert f(99) == pytest.approx(1 / 25 / 1e4, rel=1e-12)  # the last phase ends at total_steps - 1
    assert f(99) < f(100) < 1e-3  # torch defines one step more, just past the end of the cosine
    three = S.schedule("one_cycle", total_steps=100, three_phase=True)
    peak = int(np.argmax(three.values(101)))
    assert peak == 29 and three(2 * peak) == pytest.approx(1 / 25, rel=1e-12)  # phase 2 ends at 2 * 30 - 2
    for k in range(1, 30):
        assert three(peak - k) == pytest.approx(three(peak + k), rel=1e-12)  # symmetric about the peak
    assert three(2 * peak + 1) < 1 / 25  # then phase 3 anneals further down


# ---------------------------------------------------------------------------------------------
# SequentialLR and ChainedScheduler


def test_cosine_with_warmup_is_sequential_linear_then_cosine():
    W, T = 20, 200
    for start, min_factor in [(0.1, 0.0), (1 / 3, 0.05), (0.01, 0.2)]:
        def make(o):
            warm = lr_scheduler.LinearLR(o, start_factor=start, total_iters=W)
            cos = lr_scheduler.CosineAnnealingLR(o, T_max=T - W, eta_min=min_factor * BASE_LR)
            return lr_scheduler.SequentialLR(o, [warm, cos], milestones=[W])

        ours = _ours(S.cosine_with_warmup, T + 1, warmup_steps=W, total_steps=T, start_factor=start,
                     min_factor=min_factor)
        _assert_equal_steps(ours, _torch_lrs(make, T + 1))
        # and the same through the generic sequential()
        seq = S.sequential([S.schedule("linear_warmup", warmup_steps=W, start_factor=start),
                            S.schedule("cosine", T_max=T - W, min_factor=min_factor)], milestones=[W])
        _assert_equal_steps([BASE_LR * seq(t) for t in range(T + 1)], ours, rel=1e-15)


def test_sequential_three_parts_matches_torch():
    def make(o):
        return lr_scheduler.SequentialLR(o, [
            lr_scheduler.ConstantLR(o, factor=0.1, total_iters=10),
            lr_scheduler.ExponentialLR(o, gamma=0.97),
            lr_scheduler.StepLR(o, step_size=20, gamma=0.5),
        ], milestones=[10, 100])

    ours = S.sequential([S.schedule("constant", factor=0.1, total_iters=10),
                         S.schedule("exponential", gamma=0.97),
                         S.schedule("step", step_size=20, gamma=0.5)], milestones=[10, 100])
    _assert_equal_steps([BASE_LR * ours(t) for t in range(STEPS)], _torch_lrs(make, STEPS))
    # each part restarts at its own t = 0: the lr jumps back up to base at milestone 100
    assert ours(99) < 0.1 and ours(100) == 1.0


CHAINS = [
    pytest.param(lambda o: [lr_scheduler.ConstantLR(o, factor=0.1, total_iters=2), lr_scheduler.ExponentialLR(o, 0.9)],
                 [S.schedule("constant", factor=0.1, total_iters=2), S.schedule("exponential", gamma=0.9)],
                 id="torch-docs-example"),
    pytest.param(lambda o: [lr_scheduler.LinearLR(o, start_factor=0.05, total_iters=30),
                            lr_scheduler.CosineAnnealingLR(o, T_max=STEPS)],
                 [S.schedule("linear_warmup", warmup_steps=30, start_factor=0.05), S.schedule("cosine", T_max=STEPS)],
                 id="warmup-times-cosine"),
    pytest.param(lambda o: [lr_scheduler.StepLR(o, 40, 0.5), lr_scheduler.MultiStepLR(o, [100, 200], 0.3),
                            lr_scheduler.PolynomialLR(o, total_iters=400, power=1.5)],
                 [S.schedule("step", step_size=40, gamma=0.5),
                  S.schedule("multistep", milestones=[100, 200], gamma=0.3),
                  S.schedule("poly", total_iters=400, power=1.5)],
                 id="step-multistep-poly"),
]


@pytest.mark.parametrize("make_parts, parts", CHAINS)
def test_chained_matches_torch(make_parts, parts):
    ours = S.chained(*parts)
    theirs = _torch_lrs(lambda o: lr_scheduler.ChainedScheduler(make_parts(o)), STEPS)
    _assert_equal_steps([BASE_LR * ours(t) for t in range(STEPS)], theirs)


def test_chained_cosine_with_eta_min_is_not_a_product():
    # what the chained() docstring warns about: torch anchors the cosine at eta_min
    make = lambda o: lr_scheduler.ChainedScheduler([  # noqa: E731
        lr_scheduler.ExponentialLR(o, 0.99), lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.05)])
    theirs = _torch_lrs(make, 100)
    ours = S.chained(S.schedule("exponential", gamma=0.99), S.schedule("cosine", T_max=100, min_factor=0.5))
    assert abs(BASE_LR * ours(99) - theirs[99]) > 1e-3


# ---------------------------------------------------------------------------------------------
# the explorers' three schedules, and WSD by hand


def test_explorer_schedules_have_the_same_formulas():
    from d2lmini import explorers

    for name in ("constant", "exponential", "polynomial"):
        ours, theirs = S.schedule(name), explorers.SCHEDULES[name]
        for t in range(0, 201):
            assert ours(t) == pytest.approx(theirs(t), rel=1e-13, abs=0), (name, t)


def test_wsd_hand_computed():
    # W = 4 warm-up steps from 0.2, stable, D = 4 decay steps ending at T = 12, down to 0.1
    kw = dict(warmup_steps=4, decay_steps=4, total_steps=12, start_factor=0.2, min_factor=0.1)
    warm_and_stable = [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0]  # t = 0 .. 8 (decay starts at T - D = 8)
    for decay, tail in [
        ("linear", [1 - 0.9 * 0.25, 1 - 0.9 * 0.5, 1 - 0.9 * 0.75, 0.1]),
        ("cosine", [0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2, 0.1 + 0.9 * 0.5,
                    0.1 + 0.9 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.1]),
        ("sqrt", [1 - 0.9 * 0.5, 1 - 0.9 * math.sqrt(0.5), 1 - 0.9 * math.sqrt(0.75), 0.1]),
    ]:
        values = [S.wsd(t, decay=decay, **kw) for t in range(14)]
        np.testing.assert_allclose(values, warm_and_stable + tail + [0.1], rtol=1e-15, atol=0, err_msg=decay)
    # no warm-up and no decay: constant 1 until total_steps, then min_factor
    assert [S.wsd(t, warmup_steps=0, decay_steps=0, total_steps=3) for t in range(5)] == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_wsd_cosine_decay_is_sequential_in_torch():
    # with start_factor > 0 and a cosine decay WSD is a three-part SequentialLR
    W, D, T = 10, 60, 200

    def make(o):
        return lr_scheduler.SequentialLR(o, [
            lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=W),
            lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0),
            lr_scheduler.CosineAnnealingLR(o, T_max=D, eta_min=0.02 * BASE_LR),
        ], milestones=[W, T - D])

    ours = _ours(S.wsd, T + 1, warmup_steps=W, decay_steps=D, total_steps=T, start_factor=0.1, min_factor=0.02,
                 decay="cosine")
    _assert_equal_steps(ours, _torch_lrs(make, T + 1))


@pytest.mark.parametrize("W, D, T, start, min_factor", [
    (10, 60, 200, 0.1, 0.0), (25, 40, 150, 0.01, 0.05), (5, 100, 120, 1 / 3, 0.2)])
def test_wsd_linear_decay_is_two_linear_lrs_in_torch(W, D, T, start, min_factor):
    # WSD's default (linear) decay is a warm-up LinearLR, which holds 1 once done, handed over at
    # T - D to a decaying LinearLR, which holds min_factor after it; 20 steps past T too
    def make(o):
        return lr_scheduler.SequentialLR(o, [
            lr_scheduler.LinearLR(o, start_factor=start, total_iters=W),
            lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=min_factor, total_iters=D),
        ], milestones=[T - D])

    ours = _ours(S.wsd, T + 20, warmup_steps=W, decay_steps=D, total_steps=T, start_factor=start,
                 min_factor=min_factor)
    _assert_equal_steps(ours, _torch_lrs(make, T + 20), abs_=1e-16 * BASE_LR)
    assert ours[W] == ours[T - D] == BASE_LR and ours[-1] == pytest.approx(min_factor * BASE_LR)


# ---------------------------------------------------------------------------------------------
# ReduceLROnPlateau


def _metrics(seed=0, n=300):
    """A noisy loss curve with plateaus, so that every branch (improve, wait, reduce, cooldown) runs."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = 1.0 / (1 + 0.05 * t) + 0.3 * (t > 120) - 0.2 * (t > 200)
    return list(base + 0.02 * rng.normal(size=n))


PLATEAU = [
    pytest.param({}, id="defaults"),
    pytest.param(dict(factor=0.5, patience=3), id="factor-patience"),
    pytest.param(dict(patience=0), id="patience-0"),
    pytest.param(dict(threshold=0.05, patience=2), id="threshold-rel"),
    pytest.param(dict(threshold=0.01, threshold_mode="abs", patience=2), id="threshold-abs"),
    pytest.param(dict(patience=2, cooldown=5), id="cooldown"),
    pytest.param(dict(factor=0.3, patience=1, min_lr=0.004), id="min_lr"),
    pytest.param(dict(factor=0.9, patience=1, eps=0.005), id="eps"),
    pytest.param(dict(mode="max", patience=2), id="max"),
    pytest.param(dict(mode="max", threshold_mode="abs", threshold=0.02, patience=1, cooldown=2), id="max-abs-cooldown"),
]


@pytest.mark.parametrize("params", PLATEAU)
def test_reduce_on_plateau_matches_torch(params):
    metrics = _metrics()
    if params.get("mode") == "max":
        metrics = [-m for m in metrics]  # an accuracy-like curve
    opt = _optimizer()
    theirs = lr_scheduler.ReduceLROnPlateau(opt, **params)
    ours = S.ReduceLROnPlateau(BASE_LR, **params)
    reductions = 0
    for k, m in enumerate(metrics):
        opt.step()
        theirs.step(m)
        before = ours.lr
        lr = ours.step(m)
        reductions += lr < before
        assert lr == ours.lr == pytest.approx(opt.param_groups[0]["lr"], rel=REL, abs=0), f"epoch {k + 1}"
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch) == (
            theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.last_epoch), f"epoch {k + 1}"
    assert reductions >= 1


def test_reduce_on_plateau_by_hand():
    # patience 2: the third epoch in a row without improvement cuts the lr
    s = S.ReduceLROnPlateau(1.0, factor=0.5, patience=2, threshold=0.0)
    assert [s.step(m) for m in [5, 4, 4, 4, 4, 3, 3.5, 3.5, 3.5]] == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]


# ---------------------------------------------------------------------------------------------
# registry, schedule(), errors


def test_registry():
    assert set(S.SCHEDULES) == {"constant", "step", "multistep", "exponential", "polynomial", "poly", "linear",
                                "linear_warmup", "cosine", "cosine_with_warmup", "one_cycle", "wsd"}
    for name, fn in S.SCHEDULES.items():
        f = S.schedule(name)  # every parameter has a default
        values = f.values(50)
        assert values.shape == (50,) and np.all(np.isfinite(values)) and np.all(values >= 0), name
        assert f(7) == fn(7)
        assert repr(f) == f"schedule({name!r})"
    assert repr(S.schedule("cosine", T_max=10)) == "schedule('cosine', T_max=10)"
    for name in S.__all__:
        assert hasattr(S, name)


def test_lazy_import():
    import subprocess
    import sys

    import d2lmini

    assert d2lmini.schedules is S
    assert "schedules" in dir(d2lmini)
    code = ("import sys, d2lmini; assert 'd2lmini.schedules' not in sys.modules; "
            "d2lmini.schedules.cosine(3); assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: S.schedule("cosin"), ValueError, "unknown schedule 'cosin'; choose one of constant"),
    (lambda: S.schedule(3), TypeError, "name"),
    (lambda: S.schedule("cosine", Tmax=10), TypeError, "no parameter.*Tmax.*T_max, min_factor"),
    (lambda: S.schedule("cosine_with_warmup", warmup_steps=100, total_steps=100), ValueError,
     r"warmup_steps \(100\) must be shorter than total_steps \(100\)"),
    (lambda: S.schedule("wsd", warmup_steps=60, decay_steps=50, total_steps=100), ValueError,
     r"warmup_steps \+ decay_steps"),
    (lambda: S.schedule("wsd", decay="exp"), ValueError, "decay must be one of"),
    (lambda: S.schedule("cosine", T_max=0), ValueError, "T_max must be >= 1"),
    (lambda: S.schedule("cosine", T_max=10.5), TypeError, "T_max must be a whole number"),
    (lambda: S.schedule("cosine", min_factor=-0.1), ValueError, "min_factor must be in"),
    (lambda: S.schedule("exponential", gamma=0.0), ValueError, "gamma must be > 0"),
    (lambda: S.schedule("exponential", gamma=float("nan")), ValueError, "gamma must be a finite number"),
    (lambda: S.schedule("step", step_size=0), ValueError, "step_size"),
    (lambda: S.schedule("multistep", milestones=[10, -1]), ValueError, "milestones"),
    (lambda: S.schedule("multistep", milestones=5), TypeError, "milestones"),
    (lambda: S.schedule("linear", start_factor=2.0), ValueError, "start_factor"),
    (lambda: S.schedule("polynomial", alpha=-1.0), ValueError, "alpha"),
    (lambda: S.schedule("one_cycle", anneal_strategy="cosine"), ValueError, "anneal_strategy"),
    (lambda: S.schedule("one_cycle", pct_start=1.5), ValueError, "pct_start"),
    (lambda: S.schedule("one_cycle", total_steps=10, pct_start=0.1), ValueError, "phase of length 0"),
    (lambda: S.schedule("one_cycle", div_factor=0), ValueError, "div_factor"),
    (lambda: S.cosine(-1), ValueError, "t must be >= 0"),
    (lambda: S.cosine(1.5), TypeError, "t must be a whole number"),
    (lambda: S.cosine(True), TypeError, "t must be a whole number"),
    (lambda: S.schedule("cosine")(-2), ValueError, "t must be >= 0"),
    (lambda: S.sequential([S.cosine], milestones=[5]), ValueError, "one milestone fewer"),
    (lambda: S.sequential([S.cosine, S.cosine, S.cosine], milestones=[5, 5]), ValueError, "increase"),
    (lambda: S.sequential([], milestones=[]), ValueError, "at least one"),
    (lambda: S.sequential([3, S.cosine], milestones=[5]), TypeError, r"schedules\[0\]"),
    (lambda: S.chained(), ValueError, "at least one"),
    (lambda: S.ReduceLROnPlateau(-0.1), ValueError, "lr must be a learning rate >= 0"),
    (lambda: S.ReduceLROnPlateau(float("inf")), ValueError, "lr must be a finite number"),
    (lambda: S.ReduceLROnPlateau(0.1, mode="minimum"), ValueError, "mode must be 'min' or 'max'"),
    (lambda: S.ReduceLROnPlateau(0.1, threshold_mode="relative"), ValueError, "threshold_mode"),
    (lambda: S.ReduceLROnPlateau(0.1, factor=1.0), ValueError, "factor must be in"),
    (lambda: S.ReduceLROnPlateau(0.1, patience=-1), ValueError, "patience"),
    (lambda: S.ReduceLROnPlateau(0.1, min_lr=-1.0), ValueError, "min_lr"),
    (lambda: S.ReduceLROnPlateau(0.1).step("low"), TypeError, "metric must be a number"),
], ids=lambda v: v if isinstance(v, str) and not v.startswith(("unknown", "no ", "warm")) else None)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_sequential_and_chained_take_names():
    seq = S.sequential(["linear_warmup", "cosine"], milestones=[5])
    assert seq(0) == pytest.approx(1 / 3) and seq(5) == 1.0
    assert S.chained("constant", "exponential")(10) == pytest.approx(math.exp(-1.0), rel=1e-14)

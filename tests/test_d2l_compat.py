"""The classic code of the source articles and of d2l runs unchanged on d2lmini.

Each test runs a snippet in the style of the seeds (``import d2lzh_pytorch as d2l`` or
``import d2lmini as d2l``), captures what it prints and compares it with the published output.
"""
import contextlib
import io
import math
import re
import subprocess
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

import d2lmini
import d2lzh_pytorch
from d2lmini import rules

LOSS_CH7 = re.compile(r"^loss: (\d+\.\d{6}), (\d+\.\d{6}) sec per epoch$")
LOSS_CH11 = re.compile(r"^loss: (\d\.\d{3}), (\d+\.\d{3}) sec/epoch$")


def run(code: str) -> str:
    """Execute ``code`` in a fresh namespace and return what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(textwrap.dedent(code), {"__name__": "__seed__"})
    d2lmini.plt.close("all")
    return out.getvalue()


def test_d2lzh_pytorch_is_a_module_of_its_own_with_the_ports_helpers():
    import d2lzh_pytorch.utils as port

    assert d2lzh_pytorch is not d2lmini
    assert d2lmini.train_2d is d2lmini.training.train_2d
    for name in d2lzh_pytorch.PORT_NAMES:  # the port's own versions
        assert getattr(d2lzh_pytorch, name) is getattr(port, name)
        assert getattr(d2lzh_pytorch, name) is not getattr(d2lmini, name)
    for name in ("get_data_ch7", "train_ch7", "train_pytorch_ch7", "set_figsize", "plt",
                 "linreg", "squared_loss", "Animator", "Timer", "DATA_HUB", "download"):
        assert getattr(d2lzh_pytorch, name) is getattr(d2lmini, name), name  # shared
    assert port.get_data_ch7 is d2lmini.get_data_ch7
    assert "train_ch7" in dir(d2lzh_pytorch) and "show_trace_2d" in dir(d2lzh_pytorch)
    with pytest.raises(AttributeError, match="d2lzh_pytorch"):
        d2lzh_pytorch.no_such_helper


def test_the_two_print_formats(capsys):
    trainer = lambda x1, x2, s1, s2: (x1 - 0.4 * 0.2 * x1, x2 - 0.4 * 4 * x2, 0, 0)
    assert d2lmini.train_2d(trainer) == d2lzh_pytorch.train_2d(trainer)
    assert capsys.readouterr().out.splitlines() == [
        "epoch 20, x1: -0.943467, x2: -0.000073",  # d2l-en
        "epoch 20, x1 -0.943467, x2 -0.000073",  # the Chinese port
    ]


def test_port_sgd_keeps_the_gradient_and_d2l_en_zeroes_it():
    for module, left in ((d2lzh_pytorch, 2.0), (d2lmini, 0.0)):
        p = torch.ones(3, requires_grad=True)
        (p * 2).sum().backward()
        module.sgd([p], 0.1, 2)
        assert torch.allclose(p.detach(), torch.full((3,), 0.9))
        assert torch.equal(p.grad, torch.full((3,), left))


def test_port_show_trace_2d_keeps_the_figure_size():
    f = lambda x1, x2: x1**2 + 2 * x2**2
    pts = [(-5.0, -2.0), (-1.0, -0.5), (0.0, 0.0)]
    d2lmini.plt.close("all")
    d2lmini.plt.rcParams["figure.figsize"] = (6.0, 4.0)
    try:
        d2lzh_pytorch.show_trace_2d(f, pts)
        assert tuple(d2lmini.plt.gcf().get_size_inches()) == (6.0, 4.0)
        d2lmini.plt.close("all")
        d2lmini.show_trace_2d(f, pts)  # d2l-en calls set_figsize() first
        assert tuple(d2lmini.plt.gcf().get_size_inches()) == (3.5, 2.5)
    finally:
        d2lmini.plt.close("all")
        d2lmini.plt.rcParams["figure.figsize"] = matplotlib.rcParamsDefault["figure.figsize"]


def test_show_trace_2d_takes_an_f_written_with_torch():
    import d2lmini as d2l

    d2lmini.plt.close("all")
    f = lambda x1, x2: d2l.cos(x1) + x2 ** 2  # torch.cos: no NumPy arrays
    d2l.show_trace_2d(f, [(-5.0, -2.0), (-3.0, -1.0)])
    assert d2lmini.plt.gca().collections  # the contours are drawn
    d2lmini.plt.close("all")


def test_import_d2lzh_pytorch_is_light():
    code = ("import sys, d2lzh_pytorch, d2lzh_pytorch.utils;"
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_import_is_light_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import d2lmini; dt = time.perf_counter() - t;"
        "print(dt, 'torch' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt, torch_loaded, mpl_loaded = out.stdout.split()
    assert torch_loaded == "False" and mpl_loaded == "False"
    assert float(dt) < 1.0


# ---------------------------------------------------------------------------------------------
# Seed 003 (gradient descent and Newton): 1-D code with d2l.plt / d2l.set_figsize


SEED_003_1D = """
import numpy as np
import d2lzh_pytorch as d2l

def f(x):
    return x**2  # Objective function
def gradf(x):
    return 2 * x  # Its derivative
def gd(eta):
    x = 10
    results = [x]
    for i in range(10):
        x -= eta * gradf(x)
        results.append(x)
    print('epoch 10, x:', x)
    return results
def show_trace(res):
    n = max(abs(min(res)), abs(max(res)))
    f_line = np.arange(-n, n, 0.01)
    d2l.set_figsize((3.5, 2.5))
    d2l.plt.plot(f_line, [f(x) for x in f_line],'-')
    d2l.plt.plot(res, [f(x) for x in res],'-o')
    d2l.plt.xlabel('x')
    d2l.plt.ylabel('f(x)')
res = gd(0.2)
show_trace(res)
show_trace(gd(0.05))
show_trace(gd(1.1))

c = 0.15 * np.pi
def f(x):
    return x * np.cos(c * x)
def gradf(x):
    return np.cos(c * x) - c * x * np.sin(c * x)
show_trace(gd(2))

c = 0.5
def f(x):
    return np.cosh(c * x)
def gradf(x):
    return c * np.sinh(c * x)
def hessf(x):
    return c**2 * np.cosh(c * x)
def newton(eta=1):
    x = 10
    results = [x]
    for i in range(10):
        x -= eta * gradf(x) / hessf(x)
        results.append(x)
    print('epoch 10, x:', x)
    return results
show_trace(newton())

c = 0.15 * np.pi
def f(x):
    return x * np.cos(c * x)
def gradf(x):
    return np.cos(c * x) - c * x * np.sin(c * x)
def hessf(x):
    return - 2 * c * np.sin(c * x) - x * c**2 * np.cos(c * x)
show_trace(newton())
show_trace(newton(0.5))
"""


def test_seed_003_one_dimensional_printouts():
    lines = run(SEED_003_1D).splitlines()
    assert lines == [
        "epoch 10, x: 0.06046617599999997",
        "epoch 10, x: 3.4867844009999995",
        "epoch 10, x: 61.917364224000096",
        "epoch 10, x: -1.528165927635083",
        "epoch 10, x: 0.0",
        "epoch 10, x: 26.83413291324767",
        "epoch 10, x: 7.269860168684531",
    ]


def test_show_trace_uses_the_callers_f_or_an_explicit_one():
    ns = {}
    exec("import d2lmini as d2l\nf = lambda x: x**2\nd2l.show_trace([10, 6, 3.6])", ns)
    ax = d2lmini.plt.gca()
    assert len(ax.lines) == 2 and list(ax.lines[1].get_xdata()) == [10, 6, 3.6]
    d2lmini.plt.close("all")
    d2lmini.show_trace([1.0, -2.0, float("inf")], lambda x: x**2)
    assert "diverged at step 2" in d2lmini.plt.gca().get_title()
    d2lmini.plt.close("all")


# ---------------------------------------------------------------------------------------------
# 2-D traces: three trainer conventions


def test_seed_003_two_argument_trainer_and_show_trace_2d():
    out = run(
        """
        import d2lzh_pytorch as d2l
        eta = 0.1
        def f_2d(x1, x2):  # 目标函数
            return x1 ** 2 + 2 * x2 ** 2
        def gd_2d(x1, x2):
            return (x1 - eta * 2 * x1, x2 - eta * 4 * x2)
        d2l.show_trace_2d(f_2d, d2l.train_2d(gd_2d))
        """
    )
    assert out == "epoch 20, x1 -0.057646, x2 -0.000073\n"


MOMENTUM_SHUSENTANG = """
import d2lzh_pytorch as d2l

def f_2d(x1, x2):
    return 0.1 * x1 ** 2 + 2 * x2 ** 2

def gd_2d(x1, x2, s1, s2):
    return (x1 - eta * 0.2 * x1, x2 - eta * 4 * x2, 0, 0)

eta = 0.4
d2l.show_trace_2d(f_2d, d2l.train_2d(gd_2d))
eta = 0.6
d2l.show_trace_2d(f_2d, d2l.train_2d(gd_2d))

def momentum_2d(x1, x2, v1, v2):
    v1 = gamma * v1 + eta * 0.2 * x1
    v2 = gamma * v2 + eta * 4 * x2
    return x1 - v1, x2 - v2, v1, v2

eta, gamma = 0.4, 0.5
d2l.show_trace_2d(f_2d, d2l.train_2d(momentum_2d))
eta = 0.6
d2l.show_trace_2d(f_2d, d2l.train_2d(momentum_2d))
"""


def test_shusentang_momentum_section_printouts():
    assert run(MOMENTUM_SHUSENTANG).splitlines() == [
        "epoch 20, x1 -0.943467, x2 -0.000073",
        "epoch 20, x1 -0.387814, x2 -1673.365109",
        "epoch 20, x1 -0.062843, x2 0.001202",
        "epoch 20, x1 0.007188, x2 0.002553",
    ]


def test_show_trace_2d_view_for_diverging_run():
    d2lmini.plt.close("all")
    f = lambda x1, x2: 0.1 * x1**2 + 2 * x2**2
    pts = [(-5.0, -2.0), (-4.8, 2.8), (-4.6, -3.9), (-4.4, 5.5), (-4.2, -1673.0)]
    d2lmini.show_trace_2d(f, pts)
    ax = d2lmini.plt.gca()
    lo, hi = ax.get_ylim()
    # The view holds the start and the first swings but not the runaway point.
    assert -10 < lo < -3 and 3 < hi < 10
    assert "diverged" in ax.get_title()
    drawn = ax.lines[0].get_ydata()
    assert np.all(np.isfinite(drawn)) and np.min(drawn) >= lo - 1e-9
    d2lmini.plt.close("all")


def test_d2l_en_f_grad_trainer():
    out = run(
        """
        import d2lmini as d2l
        def f_2d(x1, x2):
            return x1 ** 2 + 2 * x2 ** 2
        def f_2d_grad(x1, x2):
            return (2 * x1, 4 * x2)
        def gd_2d(x1, x2, s1, s2, f_grad):
            g1, g2 = f_grad(x1, x2)
            return (x1 - eta * g1, x2 - eta * g2, 0, 0)
        eta = 0.1
        d2l.show_trace_2d(f_2d, d2l.train_2d(gd_2d, f_grad=f_2d_grad))
        """
    )
    assert out == "epoch 20, x1: -0.057646, x2: -0.000073\n"


def test_d2l_en_momentum_and_seed_000_adagrad_and_rmsprop():
    out = run(
        """
        import math
        import d2lmini as d2l
        def f_2d(x1, x2):
            return 0.1 * x1 ** 2 + 2 * x2 ** 2
        def momentum_2d(x1, x2, v1, v2):
            v1 = beta * v1 + 0.2 * x1
            v2 = beta * v2 + 4 * x2
            return x1 - eta * v1, x2 - eta * v2, v1, v2
        eta, beta = 0.6, 0.25
        d2l.show_trace_2d(f_2d, d2l.train_2d(momentum_2d))

        def adagrad_2d(x1, x2, s1, s2):
            g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6  # 前两项为自变量梯度
            s1 += g1 ** 2
            s2 += g2 ** 2
            x1 -= eta / math.sqrt(s1 + eps) * g1
            x2 -= eta / math.sqrt(s2 + eps) * g2
            return x1, x2, s1, s2
        eta = 0.4
        d2l.show_trace_2d(f_2d, d2l.train_2d(adagrad_2d))
        eta = 2
        d2l.show_trace_2d(f_2d, d2l.train_2d(adagrad_2d))

        def rmsprop_2d(x1, x2, s1, s2):
            g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6
            s1 = gamma * s1 + (1 - gamma) * g1 ** 2
            s2 = gamma * s2 + (1 - gamma) * g2 ** 2
            x1 -= eta / math.sqrt(s1 + eps) * g1
            x2 -= eta / math.sqrt(s2 + eps) * g2
            return x1, x2, s1, s2
        eta, gamma = 0.4, 0.9
        d2l.show_trace_2d(f_2d, d2l.train_2d(rmsprop_2d))
        """
    )
    assert out.splitlines() == [
        "epoch 20, x1: -0.126340, x2: -0.186632",
        "epoch 20, x1: -2.382563, x2: -0.158591",
        "epoch 20, x1: -0.002295, x2: -0.000000",
        "epoch 20, x1: -0.010599, x2: 0.000000",
    ]


def test_train_2d_steps_and_return_value():
    res = d2lmini.train_2d(lambda a, b, s1, s2: (a / 2, b / 2, s1, s2), steps=3, verbose=False)
    assert res == [(-5, -2), (-2.5, -1.0), (-1.25, -0.5), (-0.625, -0.25)]


def test_train_2d_overflow_is_shown_not_raised(capsys):
    eta = 3  # integer arithmetic grows without bound; float arithmetic overflows
    res = d2lmini.train_2d(lambda a, b, s1, s2: (a - eta * a, b - eta * 4.0 * b, 0, 0), steps=2000)
    out = capsys.readouterr().out
    assert "diverged at step" in out
    k = int(re.search(r"diverged at step (\d+)", out).group(1))
    assert len(res) == k + 1
    d2lmini.show_trace_2d(lambda a, b: a**2 + b**2, res)  # still draws
    d2lmini.plt.close("all")


@pytest.mark.parametrize(
    "trainer, kwargs, exc, words",
    [
        (lambda a, b, s1, s2: (a, b), {}, TypeError, "(x1, x2, s1, s2)"),
        (lambda a, b, s1, s2: None, {}, TypeError, "must return"),
        ("not a function", {}, TypeError, "trainer"),
        (lambda a, b, s1, s2: (a, b, s1, s2), {"steps": 0}, ValueError, "steps"),
        (lambda a, b, s1, s2: (a, b, s1, s2), {"steps": 2.5}, ValueError, "steps"),
        (lambda a, b, s1, s2, g: (a, b, s1, s2), {"f_grad": 3}, TypeError, "f_grad"),
    ],
)
def test_train_2d_bad_input(trainer, kwargs, exc, words):
    with pytest.raises(exc, match=re.escape(words)):
        d2lmini.train_2d(trainer, **kwargs)


# ---------------------------------------------------------------------------------------------
# Minibatch training on the airfoil data


SEED_000_MINIBATCH = """
import torch
import d2lzh_pytorch as d2l
features, labels = d2l.get_data_ch7()
def init_adagrad_states():
    s_w = torch.zeros((features.shape[1], 1), dtype=torch.float32)
    s_b = torch.zeros(1, dtype=torch.float32)
    return (s_w, s_b)
def adagrad(params, states, hyperparams):
    eps = 1e-6
    for p, s in zip(params, states):
        s.data += (p.grad.data**2)
        p.data -= hyperparams['lr'] * p.grad.data / torch.sqrt(s + eps)
d2l.train_ch7(adagrad, init_adagrad_states(), {'lr': 0.1}, features, labels)
d2l.train_pytorch_ch7(torch.optim.Adagrad, {'lr': 0.1}, features, labels)
"""


def test_seed_000_adagrad_minibatch_printouts():
    np.random.seed(0)
    torch.manual_seed(0)
    lines = run(SEED_000_MINIBATCH).splitlines()
    assert len(lines) == 2
    for line in lines:
        m = LOSS_CH7.match(line)
        assert m, line
        # Both near the exact least-squares minimum 0.241688 of this objective.
        assert 0.2416 <= float(m.group(1)) < 0.26


def test_train_ch7_curve_semantics():
    features, labels = d2lmini.get_data_ch7()
    np.random.seed(1)
    with contextlib.redirect_stdout(io.StringIO()):
        times, ls = d2lmini.train_ch7(d2lmini.sgd, None, {"lr": 0.05}, features, labels, return_history=True)
        assert len(ls) == 1 + 15 * 2 and len(times) == 2
        assert abs(ls[0] - 0.4933) < 0.01  # loss at w ~ 0, b = 0
        _, ls1500 = d2lmini.train_ch7(d2lmini.sgd, None, {"lr": 1}, features, labels, 1500, 6,
                                      return_history=True)
        assert len(ls1500) == 1 + 6 and ls1500[-1] < 0.26
    d2lmini.plt.close("all")


def test_train_ch7_diverging_run_is_reported(capsys):
    features, labels = d2lmini.get_data_ch7()
    d2lmini.train_ch7(d2lmini.sgd, None, {"lr": 50.0}, features, labels)
    out = capsys.readouterr().out
    assert "diverged" in out and "smaller learning rate" in out
    d2lmini.plt.close("all")


def test_momentum_minibatch_and_torch_sgd():
    out = run(
        """
        import torch
        import d2lzh_pytorch as d2l
        features, labels = d2l.get_data_ch7()
        def init_momentum_states():
            v_w = torch.zeros((features.shape[1], 1), dtype=torch.float32)
            v_b = torch.zeros(1, dtype=torch.float32)
            return (v_w, v_b)
        def sgd_momentum(params, states, hyperparams):
            for p, v in zip(params, states):
                v.data = hyperparams['momentum'] * v.data + hyperparams['lr'] * p.grad.data
                p.data -= v.data
        d2l.train_ch7(sgd_momentum, init_momentum_states(), {'lr': 0.004, 'momentum': 0.9}, features, labels)
        d2l.train_pytorch_ch7(torch.optim.SGD, {'lr': 0.004, 'momentum': 0.9}, features, labels)
        """
    )
    for line in out.splitlines():
        m = LOSS_CH7.match(line)
        assert m and 0.2416 <= float(m.group(1)) < 0.3, line


def test_adadelta_and_adam_minibatch_shusentang():
    np.random.seed(2)
    out = run(
        """
        import torch
        import d2lzh_pytorch as d2l
        features, labels = d2l.get_data_ch7()
        def init_adadelta_states():
            s_w, s_b = torch.zeros((features.shape[1], 1), dtype=torch.float32), torch.zeros(1, dtype=torch.float32)
            delta_w, delta_b = torch.zeros((features.shape[1], 1), dtype=torch.float32), torch.zeros(1, dtype=torch.float32)
            return ((s_w, delta_w), (s_b, delta_b))
        def adadelta(params, states, hyperparams):
            rho, eps = hyperparams['rho'], 1e-5
            for p, (s, delta) in zip(params, states):
                s[:] = rho * s + (1 - rho) * (p.grad.data**2)
                g =  p.grad.data * torch.sqrt((delta + eps) / (s + eps))
                p.data -= g
                delta[:] = rho * delta + (1 - rho) * g * g
        d2l.train_ch7(adadelta, init_adadelta_states(), {'rho': 0.9}, features, labels)

        def init_adam_states():
            v_w, v_b = torch.zeros((features.shape[1], 1), dtype=torch.float32), torch.zeros(1, dtype=torch.float32)
            s_w, s_b = torch.zeros((features.shape[1], 1), dtype=torch.float32), torch.zeros(1, dtype=torch.float32)
            return ((v_w, s_w), (v_b, s_b))
        def adam(params, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-6
            for p, (v, s) in zip(params, states):
                v[:] = beta1 * v + (1 - beta1) * p.grad.data
                s[:] = beta2 * s + (1 - beta2) * p.grad.data**2
                v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
                s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
                p.data -= hyperparams['lr'] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
            hyperparams['t'] += 1
        d2l.train_ch7(adam, init_adam_states(), {'lr': 0.01, 't': 1}, features, labels)
        """
    )
    lines = out.splitlines()
    assert len(lines) == 2
    for line in lines:
        m = LOSS_CH7.match(line)
        assert m and 0.2416 <= float(m.group(1)) < 0.27, line


def test_d2l_en_train_ch11_and_concise():
    torch.manual_seed(0)
    out = run(
        """
        import torch
        from d2lmini import *  # noqa
        import d2lmini as d2l
        data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
        def sgd(params, states, hyperparams):
            for p in params:
                p.data.sub_(hyperparams['lr'] * p.grad)
                p.grad.data.zero_()
        res = d2l.train_ch11(sgd, None, {'lr': 0.05}, data_iter, feature_dim, 2)
        assert len(res[0]) == len(res[1]) == 15, (len(res[0]), len(res[1]))
        d2l.train_concise_ch11(torch.optim.SGD, {'lr': 0.01}, data_iter)
        """
    )
    lines = out.splitlines()
    assert len(lines) == 2
    for line in lines:
        m = LOSS_CH11.match(line)
        assert m and 0.24 <= float(m.group(1)) < 0.27, line


def test_seed_004_style_training_with_animator_timer_accumulator():
    """Seed 004 trains with d2l.Animator, d2l.Timer, d2l.Accumulator, d2l.reduce_sum, d2l.size."""
    out = run(
        """
        import torch
        import d2lmini as d2l
        def evaluate_loss(net, data_iter, loss):
            metric = d2l.Accumulator(2)
            for X, y in data_iter:
                out = net(X)
                y = d2l.reshape(y, out.shape)
                l = loss(out, y)
                metric.add(d2l.reduce_sum(l), d2l.size(l))
            return metric[0] / metric[1]
        def init_rmsprop_states(feature_dim):
            s_w = torch.zeros((feature_dim, 1))
            s_b = torch.zeros(1)
            return (s_w, s_b)
        def rmsprop(params, states, hyperparams):
            gamma, eps = hyperparams['gamma'], 1e-6
            for p, s in zip(params, states):
                with torch.no_grad():
                    s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
                    p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
                p.grad.data.zero_()
        def train(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2):
            w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1), requires_grad=True)
            b = torch.zeros((1), requires_grad=True)
            animator = d2l.Animator(xlabel='epoch', ylabel='loss', xlim=[0, num_epochs], ylim=[0.22, 0.35])
            n, timer = 0, d2l.Timer()
            net, loss = lambda X: d2l.linreg(X, w, b), d2l.squared_loss
            for _ in range(num_epochs):
                for X, y in data_iter:
                    l = loss(net(X), y).mean()
                    l.backward()
                    trainer_fn([w, b], states, hyperparams)
                    n += X.shape[0]
                    if n % 200 == 0:
                        timer.stop()
                        animator.add(n / X.shape[0] / len(data_iter), (evaluate_loss(net, data_iter, loss),))
                        timer.start()
            print(f'loss: {animator.Y[0][-1]:.3f}, {timer.avg():.3f} sec/epoch')
            return timer.cumsum(), animator.Y[0]
        data_iter, dim = d2l.get_data_ch11(10)
        train(rmsprop, init_rmsprop_states(dim), {'lr': 0.01, 'gamma': 0.9}, data_iter, dim)
        """
    )
    m = LOSS_CH11.match(out.strip())
    assert m and 0.24 <= float(m.group(1)) < 0.27, out


def test_utilities():
    t = d2lmini.Timer()
    t.stop()
    t.start()
    t.stop()
    assert len(t.times) == 2 and t.cumsum()[-1] == pytest.approx(t.sum())
    assert t.avg() == pytest.approx(t.sum() / 2)
    acc = d2lmini.Accumulator(2)
    acc.add(1, 2)
    acc.add(torch.tensor(3.0), 4)
    assert (acc[0], acc[1]) == (4.0, 6.0)
    with pytest.raises(ValueError):
        acc.add(1)
    x = torch.arange(6.0)
    assert d2lmini.reduce_sum(x).item() == 15.0 and d2lmini.size(x) == 6
    assert d2lmini.reshape(x, (2, 3)).shape == (2, 3)
    w = torch.ones(5, 1)
    assert d2lmini.linreg(torch.ones(3, 5), w, torch.zeros(1)).shape == (3, 1)
    assert torch.allclose(d2lmini.squared_loss(torch.ones(3, 1), torch.zeros(3)), torch.full((3, 1), 0.5))



# ---------------------------------------------------------------------------------------------
# d2l-en's small helpers, each against its definition in d2l/torch.py (d2l 1.0.3)

# name = torch.<function> in d2l/torch.py
D2L_TORCH_ALIASES = {
    "ones_like": torch.ones_like, "ones": torch.ones, "zeros_like": torch.zeros_like,
    "zeros": torch.zeros, "tensor": torch.tensor, "arange": torch.arange,
    "meshgrid": torch.meshgrid, "sin": torch.sin, "sinh": torch.sinh, "cos": torch.cos,
    "cosh": torch.cosh, "tanh": torch.tanh, "linspace": torch.linspace, "exp": torch.exp,
    "log": torch.log, "normal": torch.normal, "rand": torch.rand, "randn": torch.randn,
    "matmul": torch.matmul, "int32": torch.int32, "int64": torch.int64,
    "float32": torch.float32, "concat": torch.cat, "stack": torch.stack, "abs": torch.abs,
    "eye": torch.eye, "sigmoid": torch.sigmoid, "batch_matmul": torch.bmm,
}
# name = lambda x, *args, **kwargs: x.<method>(*args, **kwargs) in d2l/torch.py, with a call
D2L_METHOD_ALIASES = {
    "numpy": ("numpy", ()), "size": ("numel", ()), "reshape": ("reshape", ((3, 2),)),
    "to": ("to", (torch.float64,)), "reduce_sum": ("sum", (1,)), "argmax": ("argmax", (1,)),
    "astype": ("type", (torch.int32,)), "transpose": ("t", ()), "reduce_mean": ("mean", (0,)),
    "expand_dims": ("unsqueeze", (0,)), "swapaxes": ("swapaxes", (0, 1)),
    "repeat": ("repeat", (2, 1)),
}


@pytest.mark.parametrize("module", [d2lmini, d2lzh_pytorch])
def test_tensor_aliases_are_d2ls(module):
    for name, fn in D2L_TORCH_ALIASES.items():
        assert getattr(module, name) is fn, name
    x = torch.tensor([[3.0, -1.0, 2.0], [0.5, 4.0, -2.0]], requires_grad=True)
    for name, (method, args) in D2L_METHOD_ALIASES.items():
        ours = getattr(module, name)(x, *args)
        theirs = (x.detach() if method == "numpy" else x)
        theirs = getattr(theirs, method)(*args)
        if isinstance(theirs, torch.Tensor):
            assert torch.equal(ours, theirs) and ours.dtype == theirs.dtype, name
        else:
            np.testing.assert_array_equal(ours, theirs)
    # keyword arguments pass through, as d2l's own code uses them (d2l.reduce_sum(x, axis=0))
    assert torch.equal(module.reduce_sum(x, axis=0), x.sum(axis=0))
    assert torch.equal(module.argmax(x, axis=1), torch.tensor([0, 1]))
    # d2l-en's gd section: Newton on cosh(c x), gradient c sinh(c x), Hessian c^2 cosh(c x)
    c = module.tensor(0.5)
    assert float(module.cosh(c * 2.0)) == pytest.approx(math.cosh(1.0), rel=1e-7)
    assert float(c * module.sinh(c * 2.0)) == pytest.approx(0.5 * math.sinh(1.0), rel=1e-7)


def test_device_helpers_as_d2l(monkeypatch):
    cpu = torch.device("cpu")
    assert d2lmini.cpu() == cpu
    assert d2lmini.gpu() == torch.device("cuda:0") and d2lmini.gpu(3) == torch.device("cuda:3")
    assert d2lmini.num_gpus() == torch.cuda.device_count()
    if torch.cuda.device_count() == 0:  # this machine: every helper answers with the CPU
        assert d2lmini.try_gpu() == cpu and d2lmini.try_gpu(1) == cpu
        assert d2lmini.try_all_gpus() == []  # d2l's code returns [], whatever its docstring says
    # a machine with two GPUs: torch's count is all the helpers read (none here to run on)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert d2lmini.num_gpus() == 2
    assert d2lmini.try_gpu() == torch.device("cuda:0")
    assert d2lmini.try_gpu(1) == torch.device("cuda:1")
    assert d2lmini.try_gpu(2) == cpu  # no third GPU: the CPU
    assert d2lmini.try_all_gpus() == [torch.device("cuda:0"), torch.device("cuda:1")]
    assert d2lzh_pytorch.try_gpu is d2lmini.try_gpu
    with pytest.raises(ValueError, match="i must be 0 or more"):
        d2lmini.try_gpu(-1)
    for bad in (1.5, True, "0"):
        with pytest.raises(TypeError, match="i must be an int"):
            d2lmini.gpu(bad)


def test_accuracy_as_d2l():
    y = torch.tensor([0, 2, 1, 2])
    scores = torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3], [0.5, 0.4, 0.1]])
    # arg-max predictions 0, 2, 1, 0: three right; d2l returns the count as a float
    right = d2lmini.accuracy(scores, y)
    assert right == 3.0 and type(right) is float
    assert d2lmini.accuracy(torch.tensor([0, 2, 2, 2]), y) == 3.0  # labels, no arg-max
    assert d2lmini.accuracy(torch.tensor([0.0, 2.0, 1.0, 1.0]), y) == 3.0  # cast to y's dtype
    assert d2lmini.accuracy(scores[:0], y[:0]) == 0.0
    with pytest.raises(TypeError, match="accuracy"):
        d2lmini.accuracy([0, 1], y)


def test_evaluate_accuracy_gpu_as_d2l():
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    X, y = torch.randn(50, 4), torch.randint(0, 3, (50,))
    net = nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 3))
    loader = DataLoader(TensorDataset(X, y), batch_size=16)  # batches of 16, 16, 16, 2
    net.train()
    acc = d2lmini.evaluate_accuracy_gpu(net, loader)
    assert not net.training  # evaluation mode (no dropout), left so as in d2l
    with torch.no_grad():
        expected = float((net(X).argmax(axis=1) == y).sum()) / 50
    assert acc == expected and 0 < acc < 1
    assert d2lmini.evaluate_accuracy_gpu(net, loader, torch.device("cpu")) == expected
    # d2l's branch for a list of inputs (BERT), and a plain function with its device given
    pairs = [([X[:25], X[25:]], y[:25])]
    first = lambda Xs: net(Xs[0])  # noqa: E731
    with torch.no_grad():
        expected_first = float((net(X[:25]).argmax(axis=1) == y[:25]).sum()) / 25
    assert d2lmini.evaluate_accuracy_gpu(first, pairs, device="cpu") == expected_first
    with pytest.raises(ValueError, match="no examples"):
        d2lmini.evaluate_accuracy_gpu(net, [])
    with pytest.raises(TypeError, match="net must be a model"):
        d2lmini.evaluate_accuracy_gpu("net", loader)


def test_sgd_both_forms():
    p = torch.ones(3, requires_grad=True)
    (p * 2).sum().backward()
    d2lmini.sgd([p], 0.1, 2)  # d2l ch3 form: lr * grad / batch_size
    assert torch.allclose(p.detach(), torch.full((3,), 0.9)) and p.grad.abs().sum() == 0
    (p * 2).sum().backward()
    d2lmini.sgd([p], None, {"lr": 0.1})  # ch7/ch11 form
    assert torch.allclose(p.detach(), torch.full((3,), 0.7))
    with pytest.raises(ValueError, match="lr"):
        d2lmini.sgd([p], None, {"lr": -1})
    with pytest.raises(ValueError, match="lr"):
        d2lmini.sgd([p], None, {"momentum": 0.9})


def test_training_loops_bad_input():
    features, labels = d2lmini.get_data_ch7()
    with pytest.raises(ValueError, match="lr"):
        d2lmini.train_ch7(d2lmini.sgd, None, {"lr": -0.1}, features, labels)
    with pytest.raises(ValueError, match="lr"):
        d2lmini.train_ch7(d2lmini.sgd, None, {"lr": float("nan")}, features, labels)
    with pytest.raises(ValueError, match="batch_size"):
        d2lmini.train_ch7(d2lmini.sgd, None, {"lr": 0.1}, features, labels, batch_size=0)
    with pytest.raises(ValueError, match="shape"):
        d2lmini.train_ch7(d2lmini.sgd, (torch.zeros(4, 1), torch.zeros(1)), {"lr": 0.1}, features, labels)
    with pytest.raises(TypeError, match="dict"):
        d2lmini.train_ch7(d2lmini.sgd, None, 0.1, features, labels)
    with pytest.raises(ValueError, match="labels"):
        d2lmini.train_ch7(d2lmini.sgd, None, {"lr": 0.1}, features, labels[:10])
    with pytest.raises(TypeError, match="optimizer"):
        d2lmini.train_pytorch_ch7(torch.optim.SGD, {"lr": 0.1, "bogus": 1}, features, labels)


SEED_001_DATA = [
    -11.2584, -11.5236, -2.5058, -4.3388, 8.4871, 6.9201, -3.1601, -21.1522, 3.2227, -12.6333,
    3.4998, 3.0813, 1.1984, 12.3766, 11.1678, -2.4728, -13.5265, -16.9593, 5.6665, 7.9351,
    5.9884, -15.5510, -3.4136, 18.5301, 7.5019, -5.8550, -1.7340, 1.8348, 13.8937, 15.8633,
    9.4630, -8.4368, -6.1358, 0.3159, 10.5536, 1.7784, -2.3034, -3.9175, 5.4329, -3.9516,
    2.0553, -4.5033, 15.2098, 34.1050, -15.3118, -12.3414, 18.1973, -5.5153, -13.2533, 1.8855,
]
SEED_001_EWMA = [
    -11.2584, -11.2849, -10.4070, -9.8002, -7.9715, -6.4823, -6.1501, -7.6503, -6.5630, -7.1700,
    -6.1030, -5.1846, -4.5463, -2.8540, -1.4518, -1.5539, -2.7512, -4.1720, -3.1881, -2.0758,
    -1.2694, -2.6976, -2.7692, -0.6392, 0.1749, -0.4281, -0.5587, -0.3193, 1.1020, 2.5781,
    3.2666, 2.0962, 1.2730, 1.1773, 2.1150, 2.0813, 1.6428, 1.0868, 1.5214, 0.9741, 1.0822,
    0.5237, 1.9923, 5.2036, 3.1520, 1.6027, 3.2621, 2.3844, 0.8206, 0.9271,
]


def test_seed_001_ewma_printout():
    """Seed 001's EWMA demo (its unused `from numpy.array_api import linspace` is dropped:
    that module is gone in NumPy 2) reproduces the printed data and averages."""
    ns = {"__name__": "__seed__"}
    exec(textwrap.dedent(
        """
        import torch
        import d2lmini as d2l
        torch.manual_seed(0)
        def exponential_wma(data, beta=0.9):
            list1 = []
            for n, i in enumerate(data):
                if n == 0:
                    list1.append(i)
                else:
                    list1.append(beta * list1[n-1] + (1-beta) * i)
            return list1
        data = torch.randn(50) * 10
        x = torch.linspace(1, 50, 50)
        axes2 = d2l.plt.subplot(1, 2, 2)
        axes2.scatter(x, data, label='original_data')
        axes2.plot(x, exponential_wma(data), label='ewma_curve')
        ewma = [float(v) for v in exponential_wma(data)]
        """
    ), ns)
    d2lmini.plt.close("all")
    data = ns["data"].tolist()
    assert max(abs(a - b) for a, b in zip(data, SEED_001_DATA)) <= 5e-5
    assert max(abs(a - b) for a, b in zip(ns["ewma"], SEED_001_EWMA)) <= 1e-4


def test_quiet_training_runs_match_the_loud_ones(capsys):
    features, labels = d2lmini.get_data_ch7()
    runs = []
    for loud in (True, False):
        np.random.seed(3)
        torch.manual_seed(3)
        runs.append(d2lmini.train_pytorch_ch7(torch.optim.SGD, {"lr": 0.05}, features, labels,
                                              return_history=True, plot=loud, verbose=loud)[1])
        printed = capsys.readouterr().out
        assert bool(printed) == loud
    assert runs[0] == runs[1]
    d2lmini.plt.close("all")


# ---------------------------------------------------------------------------------------------
# Seed 004: AdaGrad, Adadelta and RMSProp on the Iris data (softmax regression)
#
# The seed's page lost its line breaks; the code below is its code with them restored (where
# two indentations would parse, `p.grad.data.zero_()` goes after the `with` block, as in
# d2l-zh's adagrad/rmsprop/adadelta, which these functions copy). One line changed: the seed's `from d2l import torch as d2l` (its environment:
# torch 1.8.1 with the d2l package, as it states) is `import d2lmini as d2l`. Nothing else.
# The functions of its section "Adagrad算法"/"Adadelta算法" come first, then its section
# "代码整合" (the RMSProp run), then its "算法测试" cell (the AdaGrad run).
SEED_004_ADAPTIVE = """
def init_adagrad_states(feature_dim):
    s_w = torch.zeros((feature_dim, 3))
    s_b = torch.zeros(3)
    return (s_w, s_b)

def adagrad(params, states, hyperparams):
    eps = 1e-6
    for p, s in zip(params, states):
        with torch.no_grad():
            s[:] += torch.square(p.grad)
            p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()

def init_adadelta_states(feature_dim):
    s_w = torch.zeros((feature_dim, 3))
    s_b = torch.zeros(3)
    delta_w = torch.zeros((feature_dim, 3))
    delta_b = torch.zeros(3)
    return (s_w, s_b, delta_w, delta_b)

def adadelta(params, states, hyperparams):
    rho, eps = hyperparams['rho'], 1e-6
    for p, s, delta in zip(params, states[:2], states[2:]):
        with torch.no_grad():
            s[:] = rho * s + (1 - rho) * torch.square(p.grad)
            update = (torch.sqrt(delta + eps) / torch.sqrt(s + eps)) * p.grad
            p[:] -= update
            delta[:] = rho * delta + (1 - rho) * torch.square(update)
        p.grad.data.zero_()
"""

SEED_004_INTEGRATED = """
import torch
from torch import nn
import torch.nn.functional as F
import d2lmini as d2l
from sklearn.datasets import load_iris
from torch.utils.data import Dataset, DataLoader

class FeedForward(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(FeedForward, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)
        self.act = nn.Sigmoid()

    def forward(self, inputs):
        outputs = self.fc1(inputs)
        outputs = self.act(outputs)
        outputs = self.fc2(outputs)
        return outputs

def evaluate_loss(net, data_iter, loss):
    '''评估给定数据集上模型的损失

    Defined in :numref:`sec_model_selection`'''
    metric = d2l.Accumulator(2)  # 损失的总和,样本数量
    for X, y in data_iter:
        X = X.to(torch.float32)
        out = net(X)
#         y = d2l.reshape(y, out.shape)
        l = loss(out, y.long())
        metric.add(d2l.reduce_sum(l), d2l.size(l))
    return metric[0] / metric[1]

def train(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2):
    '''Defined in :numref:`sec_minibatches`'''
    # 初始化模型
    w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 3),
                     requires_grad=True)
    b = torch.zeros((3), requires_grad=True)
    # 训练模型
    animator = d2l.Animator(xlabel='epoch', ylabel='loss',
                            xlim=[0, num_epochs], ylim=[0.9, 1.1])
    n, timer = 0, d2l.Timer()
    # 这是一个单层线性层
    net = lambda X: d2l.linreg(X, w, b)
    loss = F.cross_entropy
    for _ in range(num_epochs):
        for X, y in data_iter:
            X = X.to(torch.float32)
            l = loss(net(X), y.long()).mean()
            l.backward()
            trainer_fn([w, b], states, hyperparams)
            n += X.shape[0]
            if n % 48 == 0:
                timer.stop()
                animator.add(n / X.shape[0] / len(data_iter),
                             (evaluate_loss(net, data_iter, loss),))
                timer.start()
    print(f'loss: {animator.Y[0][-1]:.3f}, {timer.avg():.3f} sec/epoch')
    return timer.cumsum(), animator.Y[0]

def load_data(shuffle=True):
    x = torch.tensor(load_iris().data)
    y = torch.tensor(load_iris().target)

    # 数据归一化
    x_min = torch.min(x, dim=0).values
    x_max = torch.max(x, dim=0).values
    x = (x - x_min) / (x_max - x_min)

    if shuffle:
        idx = torch.randperm(x.shape[0])
        x = x[idx]
        y = y[idx]
    return x, y

class IrisDataset(Dataset):
    def __init__(self, mode='train', num_train=120, num_dev=15):
        super(IrisDataset, self).__init__()
        x, y = load_data(shuffle=True)
        if mode == 'train':
            self.x, self.y = x[:num_train], y[:num_train]
        elif mode == 'dev':
            self.x, self.y = x[num_train:num_train + num_dev], y[num_train:num_train + num_dev]
        else:
            self.x, self.y = x[num_train + num_dev:], y[num_train + num_dev:]

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]

    def __len__(self):
        return len(self.x)

def init_rmsprop_states(feature_dim):
    s_w = torch.zeros((feature_dim, 3))
    s_b = torch.zeros(3)
    return (s_w, s_b)

def rmsprop(params, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-6
    for p, s in zip(params, states):
        with torch.no_grad():
            s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
            p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()

# batch_size = 1
batch_size = 24
# batch_size = 120

# 分别构建训练集、验证集和测试集
train_dataset = IrisDataset(mode='train')

train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)

lr = 0.02
train(rmsprop, init_rmsprop_states(4), {'lr': lr, 'gamma': 0.9}, train_loader, 4)
"""

SEED_004_TEST_SECTION = """
batch_size = 24
# 构建训练集
train_dataset = IrisDataset(mode='train')
train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)

lr = 0.02
train(adagrad, init_adagrad_states(4), {'lr': lr}, train_loader, 4)
# train(rmsprop, init_rmsprop_states(4), {'lr': lr, 'gamma': 0.9}, train_loader, 4)
"""

LOSS_SEED_004 = re.compile(r"^loss: (\d\.\d{3}), (\d+\.\d{3}) sec/epoch$")


def _run_seed_004(torch_seed: int):
    torch.manual_seed(torch_seed)
    ns = {"__name__": "__seed__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(SEED_004_ADAPTIVE, ns)
        exec(SEED_004_INTEGRATED, ns)  # the RMSProp run
        exec(SEED_004_TEST_SECTION, ns)  # the AdaGrad run
        # The seed defines adadelta but runs it nowhere; the test runs it like the others.
        curves = {"adadelta": ns["train"](ns["adadelta"], ns["init_adadelta_states"](4), {"rho": 0.9},
                                          ns["train_loader"], 4)[1]}
    d2lmini.plt.close("all")
    return out.getvalue().splitlines(), curves, ns


def test_seed_004_iris_experiment_runs_unchanged():
    lines, curves, ns = _run_seed_004(0)
    assert len(lines) == 3  # RMSProp, AdaGrad, Adadelta
    finals = []
    for line in lines:
        m = LOSS_SEED_004.match(line)
        assert m, line
        finals.append(float(m.group(1)))
    rmsprop_final, adagrad_final, adadelta_final = finals
    # 120 examples in batches of 24, the loss evaluated every 48 examples: 5 points over 2 epochs
    curve = curves["adadelta"]
    assert len(curve) == 5 and all(math.isfinite(v) for v in curve)
    # softmax regression starts at ln 3 = 1.0986 (w ~ N(0, 0.01), b = 0) and every run goes down
    assert all(v < math.log(3) for v in finals)
    assert curve == sorted(curve, reverse=True)
    # After the same two epochs RMSProp (lr 0.02) is far ahead of AdaGrad (lr 0.02), and
    # Adadelta (no lr, steps start at sqrt(eps) = 1e-3) has barely moved; the same order for
    # every seed tried (0-4), with gaps of about 0.1 and 0.04.
    assert rmsprop_final < adagrad_final - 0.05 < adadelta_final - 0.07
    # The seed's train_loader holds 120 examples; its IrisDataset re-shuffles on every
    # construction, so a 'dev' set built next to it overlaps the training set (a mistake of the
    # seed: d2l.get_data_iris splits once).
    train_x = ns["train_dataset"].x
    dev = ns["IrisDataset"](mode="dev")
    overlap = sum(bool((train_x == row).all(dim=1).any()) for row in dev.x)
    assert len(train_x) == 120 and len(dev) == 15 and overlap > 0


def test_seed_004_updates_are_d2lminis_rules():
    """The seed's from-scratch AdaGrad and RMSProp are d2l's forms (eps = 1e-6 inside the root,
    RMSProp gamma = 0.9): d2lmini's rules with eps_inside=True; its Adadelta is torch's (lr 1)."""
    ns = {"__name__": "__seed__", "torch": torch}
    exec(SEED_004_ADAPTIVE, ns)
    exec(SEED_004_INTEGRATED.split("# batch_size = 1")[0], ns)  # the definitions, without the run
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(4, 3))
    cases = [
        (ns["adagrad"], {"lr": 0.1}, 1, lambda x, g, s: rules.adagrad(x, g, s, lr=0.1, eps=1e-6, eps_inside=True)),
        (ns["rmsprop"], {"lr": 0.01, "gamma": 0.9}, 1,
         lambda x, g, s: rules.rmsprop(x, g, s, lr=0.01, alpha=0.9, eps=1e-6, eps_inside=True)),
        (ns["adadelta"], {"rho": 0.9}, 2, lambda x, g, s: rules.adadelta(x, g, s, lr=1.0, rho=0.9, eps=1e-6)),
    ]
    for seed_fn, hp, n_states, rule in cases:
        p = torch.tensor(x0.copy(), requires_grad=True)
        buffers = [torch.zeros_like(p) for _ in range(n_states)]
        # the seed's state layouts for one parameter: (s,) or (s_w, s_b, delta_w, delta_b)
        states = tuple(buffers) if n_states == 1 else (buffers[0], None, buffers[1], None)
        x, state = x0.copy(), {}
        for _ in range(50):
            g = rng.normal(size=(4, 3))
            p.grad = torch.tensor(g.copy())
            seed_fn([p], states, hp)
            x = rule(x, g, state)
        np.testing.assert_allclose(p.detach().numpy(), x, rtol=0, atol=1e-12)


def test_seed_004_feed_forward_is_d2l_mlp():
    """Seed 004's FeedForward(4, h, 3) (nn.Linear, sigmoid, nn.Linear) is d2l.mlp(4, h, 3,
    activation='sigmoid'), whose weights are (fan_in, fan_out): W = fc.weight.T."""
    ns = {"__name__": "__seed__"}
    exec(SEED_004_INTEGRATED.split("def evaluate_loss")[0], ns)
    torch.manual_seed(0)
    ff = ns["FeedForward"](4, 6, 3).double()
    net = d2lmini.mlp(4, 6, 3, activation="sigmoid")
    with torch.no_grad():
        net.W1.copy_(ff.fc1.weight.T)
        net.b1.copy_(ff.fc1.bias)
        net.W2.copy_(ff.fc2.weight.T)
        net.b2.copy_(ff.fc2.bias)
    X = torch.tensor(np.random.default_rng(1).normal(size=(10, 4)))
    assert torch.allclose(ff(X), net(X), atol=1e-14)
    # d2l.mlp's default initialisation has nn.Linear's distribution: |w| <= 1/sqrt(fan_in)
    assert float(d2lmini.mlp(4, 6, 3).W1.detach().abs().max()) <= 0.5


def test_seed_004_loaders_feed_train_classifier():
    """The seed's own IrisDataset loaders work as data for d2l.train_classifier."""
    torch.manual_seed(0)
    ns = {"__name__": "__seed__"}
    exec(SEED_004_INTEGRATED.split("# batch_size = 1")[0], ns)
    DataLoader = ns["DataLoader"]
    train_loader = DataLoader(ns["IrisDataset"](mode="train"), batch_size=24, shuffle=True)
    dev_loader = DataLoader(ns["IrisDataset"](mode="dev"), batch_size=24)
    hist = d2lmini.train_classifier("rmsprop", {"lr": 0.02, "alpha": 0.9, "eps": 1e-6, "eps_inside": True},
                                    (train_loader, dev_loader), model="softmax", num_epochs=2,
                                    plot=False, verbose=False)
    assert len(hist["train_loss"]) == 3 and abs(hist["train_loss"][0] - math.log(3)) < 0.01
    assert hist["train_loss"][-1] < hist["train_loss"][0]


# ---------------------------------------------------------------------------------------------
# The port's random-number order: train_ch7 / train_pytorch_ch7 against a same-seed run of the
# port's loop as its utils.py describes it (NumPy draws w, then the DataLoader shuffles with
# torch's generator; losses on all data at the start and every 100 examples).


def _port_loop(features, labels, make_model, step, batch_size=10, num_epochs=2):
    """The port's training loop, restated: returns the recorded losses."""
    model = make_model()
    ls = [model["eval"]()]
    data_iter = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(features, labels), batch_size, shuffle=True)
    for _ in range(num_epochs):
        for batch_i, (X, y) in enumerate(data_iter):
            step(model, X, y)
            if (batch_i + 1) * batch_size % 100 == 0:
                ls.append(model["eval"]())
    return ls


@pytest.mark.parametrize("seed", [0, 5])
def test_train_ch7_draws_random_numbers_in_the_ports_order(seed):
    features, labels = d2lmini.get_data_ch7()

    def scratch_model():
        w = torch.tensor(np.random.normal(0, 0.01, size=(5, 1)), dtype=torch.float32,
                         requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        loss = lambda X, y: ((torch.mm(X, w) + b - y.view(-1, 1)) ** 2 / 2).mean()
        return {"w": w, "b": b, "loss": loss, "eval": lambda: loss(features, labels).item()}

    def scratch_step(m, X, y):
        if m["w"].grad is not None:
            m["w"].grad.zero_()
            m["b"].grad.zero_()
        m["loss"](X, y).backward()
        with torch.no_grad():
            for p in (m["w"], m["b"]):
                p -= 0.05 * p.grad

    def concise_model():
        net = torch.nn.Linear(5, 1)
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        loss = lambda X, y: torch.nn.functional.mse_loss(net(X).view(-1), y) / 2
        return {"opt": opt, "loss": loss, "eval": lambda: loss(features, labels).item()}

    def concise_step(m, X, y):
        m["opt"].zero_grad()
        m["loss"](X, y).backward()
        m["opt"].step()

    for make, step, run_d2l in (
        (scratch_model, scratch_step,
         lambda: d2lzh_pytorch.train_ch7(d2lzh_pytorch.sgd, None, {"lr": 0.05}, features, labels,
                                         return_history=True, plot=False, verbose=False)),
        (concise_model, concise_step,
         lambda: d2lzh_pytorch.train_pytorch_ch7(torch.optim.SGD, {"lr": 0.05}, features, labels,
                                                 return_history=True, plot=False,
                                                 verbose=False)),
    ):
        np.random.seed(seed)
        torch.manual_seed(seed)
        expected = _port_loop(features, labels, make, step)
        np.random.seed(seed)
        torch.manual_seed(seed)
        _, ls = run_d2l()
        assert len(ls) == 31
        np.testing.assert_allclose(ls, expected, rtol=1e-6, atol=0)
        assert "%f" % ls[-1] == "%f" % expected[-1]  # the printed loss

"""d2lmini.objectives: every objective's gradient and Hessian are exact, its listed minima are
minima, and the monkey saddle has the properties the landscape chapter uses."""
import math

import numpy as np
import pytest

from d2lmini import objectives


def _points(obj, n=25, seed=0):
    x1min, x1max, x2min, x2max = obj.view
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x1min, x1max, n), rng.uniform(x2min, x2max, n)])


def _fd_grad(obj, x, h=1e-6):
    e = np.eye(2)
    return np.array([(obj.value(x + h * e[i]) - obj.value(x - h * e[i])) / (2 * h) for i in range(2)])


def _fd_hess(obj, x, h=1e-6):
    e = np.eye(2)
    return np.column_stack([(obj.grad(x + h * e[i]) - obj.grad(x - h * e[i])) / (2 * h) for i in range(2)])


@pytest.mark.parametrize("name", objectives.NAMES)
def test_gradient_and_hessian_match_finite_differences(name):
    obj = objectives.get(name)
    for x in _points(obj):
        g, H = obj.grad(x), obj.hess(x)
        scale_g = 1.0 + np.abs(g).max()
        scale_h = 1.0 + np.abs(H).max()
        np.testing.assert_allclose(g, _fd_grad(obj, x), rtol=0, atol=1e-6 * scale_g * 10, err_msg=name)
        np.testing.assert_allclose(H, _fd_hess(obj, x), rtol=0, atol=1e-6 * scale_h * 10, err_msg=name)
        np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12)
        assert obj.f_grad(*x) == (float(g[0]), float(g[1]))


@pytest.mark.parametrize("name", objectives.NAMES)
def test_listed_minima_are_minima_with_the_listed_value(name):
    obj = objectives.get(name)
    assert obj.minima, f"{name} lists no minimum"
    x1min, x1max, x2min, x2max = obj.view
    for m in obj.minima:
        m = np.array(m, dtype=float)
        assert x1min <= m[0] <= x1max and x2min <= m[1] <= x2max
        assert np.abs(obj.grad(m)).max() < 1e-4, (name, m, obj.grad(m))
        assert np.linalg.eigvalsh(obj.hess(m)).min() > 0, (name, m)
        assert obj.value(m) == pytest.approx(obj.fmin, abs=1e-9), (name, m)
    # nothing in the view is lower than fmin (on a grid)
    _, _, z = obj.grid(n=201)
    assert np.nanmin(z) >= obj.fmin - 1e-9


@pytest.mark.parametrize("name", objectives.NAMES_1D)
def test_1d_derivatives_match_finite_differences(name):
    obj = objectives.get_1d(name)
    h = 1e-6
    for x in np.linspace(*obj.view, 17):
        assert float(obj.df(x)) == pytest.approx((obj(x + h) - obj(x - h)) / (2 * h), abs=1e-5)
        assert float(obj.d2f(x)) == pytest.approx((obj.df(x + h) - obj.df(x - h)) / (2 * h), abs=1e-5)


def test_monkey_saddle():
    m = objectives.get("monkey")
    assert "monkey" in objectives.NAMES
    origin = np.zeros(2)
    # a stationary point whose Hessian is zero: the second-derivative test says nothing ...
    np.testing.assert_array_equal(m.grad(origin), [0.0, 0.0])
    np.testing.assert_array_equal(m.hess(origin), np.zeros((2, 2)))
    # ... and it is neither a minimum nor a maximum: uphill along theta = 0, downhill along 180
    for eps in (1e-1, 1e-2, 1e-3):
        assert m.value((eps, 0.0)) > 0 > m.value((-eps, 0.0))
    # polar form r^3 cos(3 theta) + 3/4 r^4: three valleys at 60, 180 and 300 degrees
    rng = np.random.default_rng(1)
    for r, th in zip(rng.uniform(0, 1.5, 20), rng.uniform(0, 2 * math.pi, 20)):
        x = (r * math.cos(th), r * math.sin(th))
        assert m.value(x) == pytest.approx(r**3 * math.cos(3 * th) + 0.75 * r**4, abs=1e-12)
    for deg in (60, 180, 300):
        th = math.radians(deg)
        p = np.array([math.cos(th), math.sin(th)])
        assert any(np.allclose(p, q, atol=1e-12) for q in m.minima)
        np.testing.assert_allclose(m.grad(p), [0.0, 0.0], atol=1e-12)
        np.testing.assert_allclose(sorted(np.linalg.eigvalsh(m.hess(p))), [3.0, 9.0], atol=1e-12)
    assert m.fmin == -0.25 and m.start == (0.5, 0.01)


def test_monkey_saddle_is_left_slowly():
    # from a distance d on a downhill ray, gradient descent needs about 1/(3 lr d) steps to leave
    # the flat saddle, but only about log(1/d) steps to leave the strict saddle of 'saddle'
    m, s = objectives.get("monkey"), objectives.get("saddle")

    def steps_to_leave(obj, x, lr=0.1, radius=0.5):
        x = np.array(x, dtype=float)
        for k in range(1, 100000):
            x = x - lr * obj.grad(x)
            if np.linalg.norm(x) > radius:
                return k
        return None

    monkey = [steps_to_leave(m, (-d, 0.0)) for d in (1e-1, 1e-2, 1e-3)]
    strict = [steps_to_leave(s, (0.0, d)) for d in (1e-1, 1e-2, 1e-3)]
    for k, d in zip(monkey, (1e-1, 1e-2, 1e-3)):
        assert 0.5 / (3 * 0.1 * d) < k < 2 / (3 * 0.1 * d)
    assert strict[2] - strict[1] == pytest.approx(math.log(10) / math.log(1.1), abs=2)
    assert monkey[2] > 20 * strict[2]

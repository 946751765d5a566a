"""Test objectives with exact gradients and Hessians.

Every 2-D objective is an :class:`Objective`. It can be called like the classic d2l
``f_2d(x1, x2)`` (vectorised over NumPy arrays, so it draws contours), and it carries

* ``grad(x)`` and ``hess(x)`` for a point ``x = np.array([x1, x2])``,
* ``f_grad(x1, x2) -> (g1, g2)``, the form d2l-en's ``train_2d(..., f_grad=...)`` passes on,
* a default ``view`` (x1min, x1max, x2min, x2max), a default ``start`` and the known minima.

1-D objectives (:class:`Objective1D`) carry ``f``, ``df`` and ``d2f``.

Use :func:`get` to build one by name, e.g. ``get("quadratic", kappa=50)``; :data:`NAMES` lists
the names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "Objective",
    "Objective1D",
    "NAMES",
    "NAMES_1D",
    "get",
    "get_1d",
    "d2l_quadratic",
]

View = Tuple[float, float, float, float]


@dataclass(frozen=True)
class Objective:
    """A 2-D objective with exact first and second derivatives."""

    name: str
    title: str
    func: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradient: Callable[[float, float], Tuple[float, float]]
    hessian: Callable[[float, float], Tuple[Tuple[float, float], Tuple[float, float]]]
    view: View
    start: Tuple[float, float]
    minima: Tuple[Tuple[float, float], ...] = ()
    fmin: float = 0.0
    log_levels: bool = False
    params: Dict[str, float] = field(default_factory=dict)

    def __call__(self, x1, x2):
        """Value at (x1, x2); works elementwise on arrays (for contours)."""
        with np.errstate(all="ignore"):
            return self.func(x1, x2)

    def value(self, x: Sequence[float]) -> float:
        """Value at a point ``x = (x1, x2)``."""
        return float(self(float(x[0]), float(x[1])))

    def grad(self, x: Sequence[float]) -> np.ndarray:
        """Exact gradient at ``x`` as a float64 array of shape (2,)."""
        with np.errstate(all="ignore"):
            return np.array(self.gradient(float(x[0]), float(x[1])), dtype=float)

    def hess(self, x: Sequence[float]) -> np.ndarray:
        """Exact Hessian at ``x`` as a float64 array of shape (2, 2)."""
        with np.errstate(all="ignore"):
            return np.array(self.hessian(float(x[0]), float(x[1])), dtype=float)

    def f_grad(self, x1: float, x2: float) -> Tuple[float, float]:
        """d2l-en's ``f_grad(x1, x2)`` form of the gradient."""
        g = self.grad((x1, x2))
        return float(g[0]), float(g[1])

    def grid(self, view: Optional[View] = None, n: int = 200):
        """A (X1, X2, Z) grid over ``view`` for contour plots."""
        x1min, x1max, x2min, x2max = view or self.view
        x1, x2 = np.meshgrid(np.linspace(x1min, x1max, n), np.linspace(x2min, x2max, n))
        return x1, x2, self(x1, x2)

    def levels(self, z: np.ndarray, n: int = 18) -> np.ndarray:
        """Contour levels that show this objective well (log-spaced for steep ones)."""
        finite = z[np.isfinite(z)]
        lo, hi = float(finite.min()), float(finite.max())
        if self.log_levels:
            base = lo - 1e-3 * max(1.0, abs(lo))
            gaps = np.geomspace(1e-2, max(hi - base, 1e-1), n)
            return np.unique(base + gaps)
        span = hi - lo if hi > lo else 1.0
        # Denser near the bottom: quadratic spacing.
        return lo + span * np.linspace(0.02, 1.0, n) ** 2


@dataclass(frozen=True)
class Objective1D:
    """A 1-D objective with its first and second derivatives."""

    name: str
    title: str
    f: Callable[[float], float]
    df: Callable[[float], float]
    d2f: Callable[[float], float]
    start: float
    view: Tuple[float, float]

    def __call__(self, x):
        with np.errstate(all="ignore"):
            return self.f(x)


# ---------------------------------------------------------------------------------------------
# 2-D objectives


def d2l_quadratic() -> Objective:
    """d2l's ill-conditioned quadratic 0.1 x1^2 + 2 x2^2 (curvatures 0.2 and 4)."""
    return Objective(
        name="d2l",
        title=r"$0.1x_1^2 + 2x_2^2$",
        func=lambda x1, x2: 0.1 * x1**2 + 2 * x2**2,
        gradient=lambda x1, x2: (0.2 * x1, 4 * x2),
        hessian=lambda x1, x2: ((0.2, 0.0), (0.0, 4.0)),
        view=(-5.5, 1.0, -3.0, 1.0),
        start=(-5.0, -2.0),
        minima=((0.0, 0.0),),
    )


def _gd_quadratic() -> Objective:
    return Objective(
        name="gd",
        title=r"$x_1^2 + 2x_2^2$",
        func=lambda x1, x2: x1**2 + 2 * x2**2,
        gradient=lambda x1, x2: (2 * x1, 4 * x2),
        hessian=lambda x1, x2: ((2.0, 0.0), (0.0, 4.0)),
        view=(-5.5, 1.0, -3.0, 1.0),
        start=(-5.0, -2.0),
        minima=((0.0, 0.0),),
    )


def _exact_text(value: float) -> str:
    """The shortest text that reads back as exactly ``value``: 0.999, 1e-6, 2, 0.0005. Titles
    print parameters so, and the explorers' sliders label their values the same way, so that a
    title and a slider always show the same number."""
    v = float(value)
    if v == 0:
        return "0"
    text = repr(v)
    if "e" in text:
        mant, exp = text.split("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    return text[:-2] if text.endswith(".0") else text


def _quadratic(kappa: float = 20.0) -> Objective:
    """2 (x1^2 / kappa + x2^2): curvatures 4/kappa and 4, condition number kappa."""
    kappa = float(kappa)
    if not (math.isfinite(kappa) and kappa >= 1):
        raise ValueError(f"kappa must be a finite number >= 1, got {kappa!r}")
    a = 4.0 / kappa
    return Objective(
        name="quadratic",
        title=rf"$\kappa = {_exact_text(kappa)}$: $\frac{{2}}{{\kappa}}x_1^2 + 2x_2^2$",
        func=lambda x1, x2: 0.5 * a * x1**2 + 2 * x2**2,
        gradient=lambda x1, x2: (a * x1, 4 * x2),
        hessian=lambda x1, x2: ((a, 0.0), (0.0, 4.0)),
        view=(-5.5, 1.0, -3.0, 1.0),
        start=(-5.0, -2.0),
        minima=((0.0, 0.0),),
        params={"kappa": kappa},
    )


def _rotated(angle: float = 45.0) -> Objective:
    """d2l's quadratic 0.1 u^2 + 2 v^2 turned by ``angle`` degrees (same curvatures 0.2, 4)."""
    th = math.radians(float(angle))
    c, s = math.cos(th), math.sin(th)
    # u, v are the coordinates along the rotated axes.
    h11 = 0.2 * c * c + 4.0 * s * s
    h22 = 0.2 * s * s + 4.0 * c * c
    h12 = (0.2 - 4.0) * c * s

    def func(x1, x2):
        u = c * x1 + s * x2
        v = -s * x1 + c * x2
        return 0.1 * u**2 + 2 * v**2

    return Objective(
        name="rotated",
        title=rf"$0.1u^2 + 2v^2$, axes turned {_exact_text(angle)}°",
        func=func,
        gradient=lambda x1, x2: (h11 * x1 + h12 * x2, h12 * x1 + h22 * x2),
        hessian=lambda x1, x2: ((h11, h12), (h12, h22)),
        view=(-5.5, 1.0, -3.0, 1.0),
        start=(-5.0, -2.0),
        minima=((0.0, 0.0),),
        params={"angle": float(angle)},
    )


def _rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    return Objective(
        name="rosenbrock",
        title=r"Rosenbrock $(1-x_1)^2 + 100(x_2-x_1^2)^2$",
        func=lambda x1, x2: (a - x1) ** 2 + b * (x2 - x1**2) ** 2,
        gradient=lambda x1, x2: (
            -2 * (a - x1) - 4 * b * x1 * (x2 - x1**2),
            2 * b * (x2 - x1**2),
        ),
        hessian=lambda x1, x2: (
            (2 - 4 * b * (x2 - x1**2) + 8 * b * x1**2, -4 * b * x1),
            (-4 * b * x1, 2 * b),
        ),
        view=(-2.0, 2.0, -1.0, 3.0),
        start=(-1.5, 2.5),
        minima=((a, a * a),),
        log_levels=True,
    )


def _beale() -> Objective:
    def func(x, y):
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2

    def gradient(x, y):
        t1 = 1.5 - x + x * y
        t2 = 2.25 - x + x * y**2
        t3 = 2.625 - x + x * y**3
        gx = 2 * t1 * (y - 1) + 2 * t2 * (y**2 - 1) + 2 * t3 * (y**3 - 1)
        gy = 2 * t1 * x + 2 * t2 * (2 * x * y) + 2 * t3 * (3 * x * y**2)
        return gx, gy

    def hessian(x, y):
        t1 = 1.5 - x + x * y
        t2 = 2.25 - x + x * y**2
        t3 = 2.625 - x + x * y**3
        hxx = 2 * (y - 1) ** 2 + 2 * (y**2 - 1) ** 2 + 2 * (y**3 - 1) ** 2
        hxy = (
            2 * x * (y - 1) + 2 * t1
            + 2 * (2 * x * y) * (y**2 - 1) + 2 * t2 * (2 * y)
            + 2 * (3 * x * y**2) * (y**3 - 1) + 2 * t3 * (3 * y**2)
        )
        hyy = 2 * x * x + 2 * (2 * x * y) ** 2 + 2 * t2 * 2 * x + 2 * (3 * x * y**2) ** 2 + 2 * t3 * 6 * x * y
        return (hxx, hxy), (hxy, hyy)

    return Objective(
        name="beale",
        title="Beale",
        func=func,
        gradient=gradient,
        hessian=hessian,
        view=(-4.5, 4.5, -4.5, 4.5),
        start=(1.0, 1.5),
        minima=((3.0, 0.5),),
        log_levels=True,
    )


def _saddle() -> Objective:
    """x1^2 + x2^4/4 - x2^2/2: a saddle at the origin between minima at (0, +-1)."""
    return Objective(
        name="saddle",
        title=r"saddle $x_1^2 + \frac{1}{4}x_2^4 - \frac{1}{2}x_2^2$",
        func=lambda x1, x2: x1**2 + 0.25 * x2**4 - 0.5 * x2**2,
        gradient=lambda x1, x2: (2 * x1, x2**3 - x2),
        hessian=lambda x1, x2: ((2.0, 0.0), (0.0, 3 * x2**2 - 1)),
        view=(-2.0, 2.0, -2.0, 2.0),
        start=(-1.8, 0.01),
        minima=((0.0, 1.0), (0.0, -1.0)),
        fmin=-0.25,
    )


def _monkey() -> Objective:
    """A monkey saddle with three valleys: x1^3 - 3 x1 x2^2 + (3/4)(x1^2 + x2^2)^2.

    In polar coordinates it is r^3 cos(3 theta) + (3/4) r^4. The origin is a stationary point
    whose Hessian is zero (the second-derivative test is silent there); three valleys go down
    from it, at theta = 60, 180 and 300 degrees, to minima at r = 1 with f = -1/4. Gradient
    descent leaves such a flat saddle only polynomially fast (the gradient is quadratic in the
    distance), against exponentially fast from a saddle with a negative curvature.
    """
    s3 = math.sqrt(3.0) / 2

    def func(x1, x2):
        r2 = x1**2 + x2**2
        return x1**3 - 3 * x1 * x2**2 + 0.75 * r2**2

    def gradient(x1, x2):
        r2 = x1**2 + x2**2
        return 3 * x1**2 - 3 * x2**2 + 3 * x1 * r2, -6 * x1 * x2 + 3 * x2 * r2

    def hessian(x1, x2):
        h12 = -6 * x2 + 6 * x1 * x2
        return (6 * x1 + 9 * x1**2 + 3 * x2**2, h12), (h12, -6 * x1 + 3 * x1**2 + 9 * x2**2)

    return Objective(
        name="monkey",
        title=r"monkey saddle $x_1^3 - 3x_1x_2^2 + \frac{3}{4}(x_1^2+x_2^2)^2$",
        func=func,
        gradient=gradient,
        hessian=hessian,
        view=(-1.6, 1.6, -1.6, 1.6),
        start=(0.5, 0.01),
        minima=((-1.0, 0.0), (0.5, s3), (0.5, -s3)),
        fmin=-0.25,
    )


def _himmelblau() -> Objective:
    return Objective(
        name="himmelblau",
        title="Himmelblau",
        func=lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        gradient=lambda x, y: (
            4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
            2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7),
        ),
        hessian=lambda x, y: (
            (12 * x**2 + 4 * y - 42, 4 * x + 4 * y),
            (4 * x + 4 * y, 4 * x + 12 * y**2 - 26),
        ),
        view=(-5.0, 5.0, -5.0, 5.0),
        start=(0.0, 0.0),
        minima=(
            (3.0, 2.0),
            (-2.805118, 3.131312),
            (-3.779310, -3.283186),
            (3.584428, -1.848126),
        ),
        log_levels=True,
    )


def _rastrigin() -> Objective:
    tau = 2 * math.pi
    return Objective(
        name="rastrigin",
        title="Rastrigin",
        func=lambda x, y: 20 + x**2 - 10 * np.cos(tau * x) + y**2 - 10 * np.cos(tau * y),
        gradient=lambda x, y: (2 * x + 10 * tau * math.sin(tau * x), 2 * y + 10 * tau * math.sin(tau * y)),
        hessian=lambda x, y: (
            (2 + 10 * tau**2 * math.cos(tau * x), 0.0),
            (0.0, 2 + 10 * tau**2 * math.cos(tau * y)),
        ),
        view=(-4.5, 4.5, -4.5, 4.5),
        start=(-3.2, 3.7),
        minima=((0.0, 0.0),),
    )


_FACTORIES: Dict[str, Callable[..., Objective]] = {
    "d2l": d2l_quadratic,
    "gd": _gd_quadratic,
    "quadratic": _quadratic,
    "rotated": _rotated,
    "rosenbrock": _rosenbrock,
    "beale": _beale,
    "saddle": _saddle,
    "monkey": _monkey,
    "himmelblau": _himmelblau,
    "rastrigin": _rastrigin,
}

#: Names accepted by :func:`get`.
NAMES: Tuple[str, ...] = tuple(_FACTORIES)


def get(name: "str | Objective" = "d2l", **params) -> Objective:
    """Build a 2-D objective by name (see :data:`NAMES`); an :class:`Objective` passes through.

    ``quadratic`` takes ``kappa`` (condition number), ``rotated`` takes ``angle`` (degrees),
    ``rosenbrock`` takes ``a`` and ``b``.
    """
    if isinstance(name, Objective):
        if params:
            raise ValueError("parameters can only be given with an objective name")
        return name
    if name not in _FACTORIES:
        raise ValueError(f"unknown objective {name!r}; choose one of {', '.join(NAMES)}")
    try:
        return _FACTORIES[name](**params)
    except TypeError as exc:
        raise TypeError(f"objective {name!r} got unexpected parameters {sorted(params)}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# 1-D objectives

_C = 0.15 * math.pi

_FACTORIES_1D: Dict[str, Callable[[], Objective1D]] = {
    "square": lambda: Objective1D(
        "square", r"$x^2$", lambda x: x**2, lambda x: 2 * x, lambda x: 2.0 + 0 * x, 10.0, (-12.0, 12.0)
    ),
    "xcos": lambda: Objective1D(
        "xcos",
        r"$x\cos(0.15\pi x)$",
        lambda x: x * np.cos(_C * x),
        lambda x: np.cos(_C * x) - _C * x * np.sin(_C * x),
        lambda x: -2 * _C * np.sin(_C * x) - x * _C**2 * np.cos(_C * x),
        10.0,
        (-20.0, 30.0),
    ),
    "cosh": lambda: Objective1D(
        "cosh",
        r"$\cosh(0.5x)$",
        lambda x: np.cosh(0.5 * x),
        lambda x: 0.5 * np.sinh(0.5 * x),
        lambda x: 0.25 * np.cosh(0.5 * x),
        10.0,
        (-12.0, 12.0),
    ),
}

NAMES_1D: Tuple[str, ...] = tuple(_FACTORIES_1D)


def get_1d(name: "str | Objective1D" = "square") -> Objective1D:
    """Build a 1-D objective by name: ``square`` (x^2), ``xcos`` (x cos(0.15 pi x)), ``cosh``."""
    if isinstance(name, Objective1D):
        return name
    if name not in _FACTORIES_1D:
        raise ValueError(f"unknown 1-D objective {name!r}; choose one of {', '.join(NAMES_1D)}")
    return _FACTORIES_1D[name]()

"""The course's exercises: checks that say why, and hints that lead somewhere.

Every exercise of every chapter has a key ``"<chapter slug>.<name>"``, for example
``"momentum.heavy_ball_edge"``. The slugs are the chapters' topics (:data:`CHAPTERS`), not their
numbers, so the keys survive a renumbering of the notebooks. In a notebook::

    d2l.check('momentum.heavy_ball_edge', 0.75)      # prints "Right: ..." and returns True
    d2l.exercises.hint('momentum.heavy_ball_edge')   # one more hint each time you call it
    d2l.check('no.such.key')                         # ValueError that lists every key

A check prints ``Right: ...`` with a short explanation, or ``Not quite: ...`` with a hint aimed at
the mistake it recognises (a factor 2, epsilon in the wrong place, the other chapter's formula, ...)
and returns ``True`` or ``False``. The expected values are computed here, from the course's own
rules and objectives (NumPy; torch only where the exercise is about a ``torch.optim`` class), so a
notebook never shows them.

The notebooks call every check the same way: a commented line with ``...`` where the answer goes,
so that Run All prints nothing. A call that still has a ``...`` in it says so instead of judging.
"""
from __future__ import annotations

import difflib
import inspect
import math
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import objectives, rules, schedules

__all__ = ["CHAPTERS", "Exercise", "check", "hint", "keys", "describe"]

#: The chapter slugs, in course order. A key starts with one of them.
CHAPTERS: Tuple[str, ...] = (
    "start_here", "landscape", "gradient_descent", "newton", "momentum", "adagrad", "rmsprop",
    "adadelta", "adam", "schedules", "after_adam",
)

Verdict = Tuple[bool, str]


@dataclass(frozen=True)
class Exercise:
    """One checked exercise: how to call it, how to judge it, what it expects, its hints."""

    key: str
    call: str                                   # the call as the notebook shows it
    judge: Callable[..., Verdict]               # answer -> (right?, explanation or hint)
    truth: Callable[[], Tuple[tuple, dict]]     # an answer the judge accepts, computed here
    hints: Tuple[str, ...]                      # further hints, gentle first

    @property
    def chapter(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def parameters(self) -> List[str]:
        return list(inspect.signature(self.judge).parameters)


_EXERCISES: Dict[str, Exercise] = {}
_HINTS_GIVEN: Dict[str, int] = {}
#: Keys of exercises that moved to another chapter: the old key still finds the exercise, so a
#: notebook saved before the move keeps working.
_MOVED: Dict[str, str] = {"gradient_descent.clipping": "schedules.clipping"}


def _exercise(key: str, call: str, truth: Callable[[], Tuple[tuple, dict]], hints: Sequence[str]):
    """Register the decorated judge under ``key``."""
    chapter = key.split(".", 1)[0]
    if chapter not in CHAPTERS or "." not in key:
        raise ValueError(f"exercise key {key!r} must start with a chapter slug: {', '.join(CHAPTERS)}")

    def register(judge: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if key in _EXERCISES:
            raise ValueError(f"exercise key {key!r} is defined twice")
        _EXERCISES[key] = Exercise(key, call, judge, truth, tuple(hints))
        return judge

    return register


# ---------------------------------------------------------------------------------------------
# The public functions


def keys(chapter: Optional[str] = None) -> List[str]:
    """Every exercise key, in course order; only one chapter's with ``chapter=<slug>``."""
    if chapter is not None and chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; the chapters are {', '.join(CHAPTERS)}")
    order = {slug: i for i, slug in enumerate(CHAPTERS)}
    found = sorted(_EXERCISES, key=lambda k: order[k.split(".", 1)[0]])  # stable: keeps file order
    return [k for k in found if chapter is None or k.startswith(chapter + ".")]


def _catalogue() -> str:
    lines = []
    for slug in CHAPTERS:
        names = keys(slug)
        if names:
            lines.append(f"  {slug}: " + ", ".join(repr(k) for k in names))
    return "\n".join(lines)


def _get(key: Any) -> Exercise:
    if not isinstance(key, str):
        raise TypeError(f"the exercise key must be a string such as 'momentum.heavy_ball_edge', got {key!r}")
    key = _MOVED.get(key, key)
    if key in _EXERCISES:
        return _EXERCISES[key]
    close = difflib.get_close_matches(key, list(_EXERCISES), n=1, cutoff=0.6)
    if not close:  # a key with an old chapter number, e.g. 'ch3.heavy_ball_edge'
        tail = key.split(".", 1)[-1]
        close = [k for k in _EXERCISES if k.split(".", 1)[1] == tail][:1]
    guess = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"no exercise called {key!r}.{guess} The exercises are:\n{_catalogue()}")


def _say(text: str) -> None:
    print("\n".join(textwrap.fill(p, width=100) for p in text.split("\n")))


def check(key: Optional[str] = None, *answer: Any, **named: Any) -> bool:
    """Check an answer: ``d2l.check('adam.first_step_factor', 1.0)``; returns True or False.

    Prints ``Right: ...`` with the reason, or ``Not quite: ...`` with a hint that fits the mistake.
    Without a key it lists the exercises; an unknown key raises a ValueError that lists them too.
    """
    if key is None:
        print("Call d2l.check(key, your answer). The exercises are:\n" + _catalogue())
        return False
    ex = _get(key)
    given = list(answer) + list(named.values())
    if any(a is Ellipsis for a in given) or not given:
        _say(f"Put your answer in place of the ... first, then run the cell again: {ex.call}")
        return False
    try:
        bound = inspect.signature(ex.judge).bind(*answer, **named)
    except TypeError as exc:
        raise TypeError(f"{ex.call}: {exc} (it takes {', '.join(ex.parameters)})") from None
    ok, message = ex.judge(*bound.args, **bound.kwargs)
    _say(("Right: " if ok else "Not quite: ") + message)
    if not ok and ex.hints:
        print(f"(Stuck? d2l.exercises.hint({key!r}) gives another hint.)")
    return bool(ok)


def hint(key: str) -> str:
    """Print the next hint for an exercise (each call goes one step further) and return it."""
    ex = _get(key)
    n = _HINTS_GIVEN.get(key, 0)
    text = ex.hints[min(n, len(ex.hints) - 1)]
    _HINTS_GIVEN[key] = n + 1
    last = n >= len(ex.hints) - 1
    _say(f"Hint {min(n, len(ex.hints) - 1) + 1} of {len(ex.hints)}: {text}"
         + ("" if last else "\n(Call hint again for more.)"))
    return text


def describe(key: str) -> str:
    """How to call the check of an exercise."""
    return _get(key).call


# ---------------------------------------------------------------------------------------------
# Helpers: reading answers, and the small computations the checks share


def _num(name: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise TypeError(f"{name} must be a number such as 0.25, got the text {value!r}") from None
    try:
        out = float(np.asarray(value, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a single number such as 0.25, got {value!r}") from None
    return out


def _vec(name: str, value: Any, n: int = 2) -> np.ndarray:
    try:
        out = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {n} numbers such as (0.5, 0.5), got {value!r}") from None
    if out.size != n:
        raise TypeError(f"{name} must be {n} numbers such as (0.5, 0.5), got {value!r}")
    return out


def _word(value: Any) -> str:
    return str(value).strip().lower() if isinstance(value, str) else ""


def _close(a: float, b: float, rel: float = 0.0, abs_: float = 0.0) -> bool:
    return math.isfinite(a) and math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def _path(rule: Callable, grad: Callable, x0: Sequence[float], steps: int, **hp) -> np.ndarray:
    x, state = np.array(x0, dtype=float), {}
    points = [x]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x = rule(x, grad(x), state, **hp)
            points.append(x)
    return np.array(points)


_D2L = objectives.get("d2l")   # 0.1 x1^2 + 2 x2^2 from (-5, -2): the course's test function
_XCOS = objectives.get_1d("xcos")


def _heavy_ball_radius(h: float, beta: float) -> float:
    """Spectral radius of heavy-ball momentum on one eigendirection, h = eta * curvature."""
    return float(max(abs(np.linalg.eigvals(np.array([[1 - h + beta, -beta], [1.0, 0.0]])))))


def _nesterov_radius(h: float, beta: float) -> float:
    """Spectral radius of torch's Nesterov momentum on one eigendirection."""
    m = np.array([[(1 - h) * (1 + beta), -(1 - h) * beta], [1.0, 0.0]])
    return float(max(abs(np.linalg.eigvals(m))))


def _edge(radius: Callable[[float, float], float], beta: float) -> float:
    """The largest h = eta * curvature with spectral radius < 1 (bisection)."""
    lo, hi = 1e-9, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if radius(mid, beta) < 1:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _newton_root(df: Callable, d2f: Callable, x: float, steps: int = 60) -> float:
    for _ in range(steps):
        x = x - df(x) / d2f(x)
    return float(x)


def _bisect(fn: Callable[[float], float], lo: float, hi: float, steps: int = 200) -> float:
    flo = fn(lo)
    for _ in range(steps):
        mid = (lo + hi) / 2
        if (fn(mid) > 0) == (flo > 0):
            lo, flo = mid, fn(mid)
        else:
            hi = mid
    return (lo + hi) / 2


# =============================================================================================
# start_here


def _truth_start_edge():
    return (_edge(_heavy_ball_radius, 0.5) / 4.0,), {}


@_exercise(
    "start_here.momentum_edge",
    "d2l.check('start_here.momentum_edge', first_diverging_lr)",
    _truth_start_edge,
    [
        "Keep momentum at 0.5 and steps at 200. Move lr in small steps (click the slider and use the "
        "arrow keys) and watch the readout: it says 'diverged' or 'left the view' past the edge.",
        "The steep direction x2 has curvature L = 4. Momentum with beta stays stable while "
        "lr * L < 2 (1 + beta).",
        "2 (1 + 0.5) / 4 is the edge.",
    ],
)
def _start_edge(first_diverging_lr):
    lr = _num("first_diverging_lr", first_diverging_lr)
    edge = _truth_start_edge()[0][0]
    if abs(lr - edge) <= 0.02:
        return True, (f"about {edge:.2f}. In the steep direction the curvature is L = 4, and momentum "
                      f"with beta = 0.5 stays stable while lr L < 2 (1 + beta) = 3. The momentum chapter derives "
                      "this bound.")
    if abs(lr - _edge(_heavy_ball_radius, 0.0) / 4.0) <= 0.02:
        return False, ("0.5 is the edge *without* momentum (exercise 2). Keep momentum at 0.5 and keep "
                       "raising lr.")
    if lr <= 0:
        return False, "a learning rate is a positive number; start at 0.4 and raise it slowly."
    end = _path(rules.momentum, _D2L.grad, _D2L.start, 200, lr=lr, momentum=0.5)[-1]
    far = float(np.max(np.abs(end)))
    if lr < edge:
        return False, (f"at lr = {lr:g} the path still converges: after 200 steps it is within "
                       f"{far:.1e} of the minimum. Raise lr slowly.")
    return False, (f"at lr = {lr:g} the path no longer converges (after 200 steps it is "
                   f"{far:.1e} away). Lower lr slowly until it converges again.")


def _truth_zero_momentum():
    with_momentum = _edge(_heavy_ball_radius, 0.5)
    without = _edge(_heavy_ball_radius, 0.0)
    return ("smaller" if without < with_momentum else "larger",), {}


@_exercise(
    "start_here.zero_momentum",
    "d2l.check('start_here.zero_momentum', 'larger' or 'smaller')",
    _truth_zero_momentum,
    [
        "Set momentum to 0 and lr to 0.6 in the explorer, then set momentum back to 0.5. Which one "
        "converges?",
        "Without momentum, gradient descent on curvature L is stable only while lr L < 2.",
    ],
)
def _start_zero(with_zero_momentum):
    word = _word(with_zero_momentum)
    truth = _truth_zero_momentum()[0][0]
    if word not in ("smaller", "lower", "less", "larger", "bigger", "higher", "greater", "more"):
        return False, "write 'larger' or 'smaller' (in quotes)."
    said = "smaller" if word in ("smaller", "lower", "less") else "larger"
    if said == truth:
        edge0 = _edge(_heavy_ball_radius, 0.0) / 4.0
        return True, (f"smaller. Without momentum the bound is lr L < 2, that is lr < {edge0:.2f}; "
                      "momentum 0.5 stretches it to 0.75.")
    return False, "try lr = 0.6 with momentum 0 and then with momentum 0.5: which one converges?"


# =============================================================================================
# landscape

#: Exercise 1: three Hessians at stationary points.
_HESSIANS = {
    "a": np.array([[2.0, 3.0], [3.0, 2.0]]),
    "b": np.array([[-3.0, 1.0], [1.0, -2.0]]),
    "c": np.array([[4.0, 2.0], [2.0, 1.0]]),
}
_KINDS = {
    "minimum": ("min", "minimum", "local min", "local minimum", "strict local minimum"),
    "maximum": ("max", "maximum", "local max", "local maximum", "strict local maximum"),
    "saddle": ("saddle", "saddle point"),
    "undecided": ("undecided", "unknown", "inconclusive", "silent", "cannot tell", "can't tell",
                  "cant tell", "not decided", "undetermined", "test fails"),
}


def _second_derivative_test(H: np.ndarray, tol: float = 1e-12) -> str:
    """What the second-derivative test says at a stationary point with Hessian H."""
    eig = np.linalg.eigvalsh(H)
    if np.all(eig > tol):
        return "minimum"
    if np.all(eig < -tol):
        return "maximum"
    if eig.min() < -tol and eig.max() > tol:
        return "saddle"
    return "undecided"   # semidefinite with a zero eigenvalue


def _kind(name: str, value: Any) -> Optional[str]:
    word = _word(value).replace("_", " ").replace("-", " ")
    for kind, words in _KINDS.items():
        if word in words:
            return kind
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a word: 'minimum', 'maximum', 'saddle' or 'undecided', got {value!r}")
    return None


def _truth_classify():
    return (), {k: _second_derivative_test(H) for k, H in _HESSIANS.items()}


@_exercise(
    "landscape.classify",
    "d2l.check('landscape.classify', a=..., b=..., c=...)",
    _truth_classify,
    [
        "Compute the eigenvalues of each matrix, e.g. with np.linalg.eigvalsh(np.array([[2, 3], [3, 2]])).",
        "For a 2 x 2 matrix the determinant is the product of the eigenvalues and the trace their sum: "
        "det < 0 means one of each sign; det > 0 means the same sign as the trace; det = 0 means a "
        "zero eigenvalue.",
        "a: det = -5 (saddle); b: det = 5 and trace = -5 (maximum); c: det = 0 (the test is silent).",
    ],
)
def _classify(a, b, c):
    given = {"a": _kind("a", a), "b": _kind("b", b), "c": _kind("c", c)}
    truth = _truth_classify()[1]
    eigs = {k: np.linalg.eigvalsh(H) for k, H in _HESSIANS.items()}
    if given == truth:
        return True, ("a has eigenvalues 5 and -1: indefinite, a saddle point. b has eigenvalues "
                      f"{eigs['b'][0]:.3f} and {eigs['b'][1]:.3f}: negative definite, a local maximum. c "
                      "has eigenvalues 0 and 5: positive semidefinite but singular, so the test is silent; "
                      "the third and higher derivatives decide.")
    tips = []
    for k in ("a", "b", "c"):
        if given[k] is None:
            tips.append(f"{k}: answer with one of 'minimum', 'maximum', 'saddle', 'undecided'")
        elif given[k] != truth[k]:
            e = eigs[k]
            if k == "a" and given[k] == "minimum":
                tips.append("a: positive entries on the diagonal do not make a matrix positive definite; "
                            f"its eigenvalues are {e[1]:g} and {e[0]:g}")
            elif k == "c" and given[k] == "minimum":
                tips.append("c: its determinant is 4 - 4 = 0, so one eigenvalue is 0: semidefinite, and the "
                            "second-derivative test cannot tell a minimum from a saddle there")
            else:
                tips.append(f"{k}: look at the signs of its eigenvalues, {e[0]:.3f} and {e[1]:.3f}")
    return False, "; ".join(tips) + "."


_JENSEN_X = np.array([1.0, 3.0, 8.0])
_JENSEN_W = np.array([0.5, 0.3, 0.2])


def _jensen_sides(f: Callable[[np.ndarray], np.ndarray]) -> Tuple[float, float]:
    return float(_JENSEN_W @ f(_JENSEN_X)), float(f(_JENSEN_W @ _JENSEN_X))


def _truth_jensen():
    left, right = _jensen_sides(np.square)
    return (left - right,), {}


@_exercise(
    "landscape.jensen_gap",
    "d2l.check('landscape.jensen_gap', gap)",
    _truth_jensen,
    [
        "Left side: 0.5 f(1) + 0.3 f(3) + 0.2 f(8). Right side: f(0.5*1 + 0.3*3 + 0.2*8).",
        "The weighted mean is 3.0, so the right side is f(3) = 9.",
        "The left side is 0.5 + 2.7 + 12.8 = 16.",
    ],
)
def _jensen_gap(gap):
    v = _num("gap", gap)
    left, right = _jensen_sides(np.square)
    truth = left - right
    if _close(v, truth, abs_=1e-3):
        return True, (f"{left:g} - {right:g} = {truth:g}. For f(x) = x^2 the gap is exactly the weighted "
                      "variance of the points, sum_i a_i (x_i - 3)^2 = 0.5*4 + 0.3*0 + 0.2*25 = 7, and a "
                      "variance is never negative: Jensen's inequality for x^2.")
    if _close(v, -truth, abs_=1e-3):
        return False, "the sign: for a convex f the average of the values is the larger side."
    if _close(v, left, abs_=1e-3):
        return False, "that is the left side alone; subtract f of the weighted mean."
    if _close(v, right, abs_=1e-3):
        return False, "that is the right side alone, f of the weighted mean; subtract it from the weighted mean of f."
    plain = float(np.mean(_JENSEN_X**2) - np.mean(_JENSEN_X) ** 2)
    if _close(v, plain, abs_=1e-2):
        return False, "you used equal weights; the weights are 0.5, 0.3 and 0.2."
    return False, "compute both sides: sum_i a_i f(x_i) and f(sum_i a_i x_i), then subtract."


_GD_L, _GD_R, _GD_T, _GD_EPS = 4.0, 3.0, 50, 0.01


def _gd_bound(T: int, L: float = _GD_L, R: float = _GD_R) -> float:
    """The bound ||x_0 - x*||^2 / (2 eta T) of gradient descent with eta = 1/L."""
    return R * R / (2 * (1 / L) * T)


def _truth_gd_bound():
    steps = 1
    while _gd_bound(steps) > _GD_EPS:
        steps += 1
    return (), {"at_50": _gd_bound(_GD_T), "steps_for_001": steps}


@_exercise(
    "landscape.gd_bound",
    "d2l.check('landscape.gd_bound', at_50=..., steps_for_001=...)",
    _truth_gd_bound,
    [
        "The bound is ||x_0 - x*||^2 / (2 eta T) with eta = 1/L.",
        "With eta = 1/4 and R = 3: 9 / (2 * 0.25 * T) = 18 / T.",
        "18 / T <= 0.01 means T >= 1800.",
    ],
)
def _gd_bound_check(at_50, steps_for_001):
    a = _num("at_50", at_50)
    s = _num("steps_for_001", steps_for_001)
    truth = _truth_gd_bound()[1]
    ok_a = _close(a, truth["at_50"], rel=1e-3)
    ok_s = s == truth["steps_for_001"]
    if ok_a and ok_s:
        return True, (f"with eta = 1/L = 0.25 the bound is 9 / (0.5 T) = 18 / T: {truth['at_50']:g} after 50 "
                      f"steps, and it reaches 0.01 at T = {truth['steps_for_001']}. The bound falls like 1/T: "
                      "ten times more accuracy costs ten times more steps.")
    tips = []
    if not ok_a:
        if _close(a, 2 * truth["at_50"], rel=1e-3):
            tips.append("at_50: you lost the factor 2 in 2 eta T")
        elif _close(a, _GD_R ** 2 / (2 * _GD_T), rel=1e-3):
            tips.append("at_50: the step size is eta = 1/L = 0.25, not 1")
        elif _close(a, _GD_R / (2 * 0.25 * _GD_T), rel=1e-3):
            tips.append("at_50: the distance enters squared, R^2 = 9")
        else:
            tips.append("at_50: put R = 3, eta = 1/4 and T = 50 into R^2 / (2 eta T)")
    if not ok_s:
        if s == truth["steps_for_001"] - 1:
            tips.append(f"steps_for_001: after {int(s)} steps the bound is {_gd_bound(int(s)):.6f}, just above 0.01")
        elif _close(s, 2 * truth["steps_for_001"], rel=1e-3):
            tips.append("steps_for_001: you lost the factor 2 in 2 eta T")
        else:
            tips.append("steps_for_001: solve R^2 / (2 eta T) <= 0.01 for the smallest whole T")
    return False, "; ".join(tips) + "."


_SGD_R, _SGD_G, _SGD_T = 2.0, 5.0, 10000


def _sgd_bound(eta: float, T: int = _SGD_T, R: float = _SGD_R, G: float = _SGD_G) -> float:
    """(R^2 + G^2 sum eta_t^2) / (2 sum eta_t) for a constant step eta over T steps."""
    return (R * R + G * G * T * eta * eta) / (2 * T * eta)


def _truth_sgd_step():
    # the constant step that minimises the bound, found numerically (golden-section search)
    lo, hi = 1e-8, 1.0
    phi = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        m1, m2 = hi - phi * (hi - lo), lo + phi * (hi - lo)
        if _sgd_bound(m1) < _sgd_bound(m2):
            hi = m2
        else:
            lo = m1
    eta = (lo + hi) / 2
    return (), {"eta": eta, "bound": _sgd_bound(eta)}


@_exercise(
    "landscape.sgd_step",
    "d2l.check('landscape.sgd_step', eta=..., bound=...)",
    _truth_sgd_step,
    [
        "With a constant step the bound is (R^2 + G^2 T eta^2) / (2 T eta). Which eta makes it smallest?",
        "The two terms R^2 / (2 T eta) and G^2 eta / 2 balance at eta = R / (G sqrt(T)).",
        "eta = 2 / (5 * 100) and the bound is R G / sqrt(T) = 10 / 100.",
    ],
)
def _sgd_step(eta, bound):
    e = _num("eta", eta)
    b = _num("bound", bound)
    truth = _truth_sgd_step()[1]
    ok_e = _close(e, truth["eta"], rel=1e-3)
    ok_b = _close(b, truth["bound"], rel=1e-3)
    if ok_e and ok_b:
        return True, (f"eta = R / (G sqrt(T)) = {truth['eta']:g} and the bound is R G / sqrt(T) = "
                      f"{truth['bound']:g}: the distance term R^2 / (2 T eta) and the noise term G^2 eta / 2 are "
                      "equal there. Halving the bound needs four times as many steps.")
    tips = []
    if not ok_e:
        if _close(e, _SGD_G / (_SGD_R * math.sqrt(_SGD_T)), rel=1e-3):
            tips.append("eta: R and G are swapped; a larger distance R allows a larger step, more noise G a smaller one")
        elif _close(e, _SGD_R / (_SGD_G * _SGD_T), rel=1e-3):
            tips.append("eta: the step shrinks like 1/sqrt(T), not 1/T")
        else:
            tips.append(f"eta: with eta = {e:g} the bound is {_sgd_bound(e):.4g}; find the eta that makes it smallest")
    if not ok_b:
        if _close(b, _SGD_R * _SGD_G / _SGD_T, rel=1e-3):
            tips.append("bound: R G / sqrt(T), with a square root")
        elif ok_e is False and _close(b, _sgd_bound(e), rel=1e-3):
            tips.append("bound: right for your eta, but that eta is not the best one")
        else:
            tips.append("bound: put your eta into (R^2 + G^2 T eta^2) / (2 T eta)")
    return False, "; ".join(tips) + "."


def _sigmoid_slope(z: float) -> float:
    s = 1 / (1 + math.exp(-z))
    return s * (1 - s)


def _truth_sigmoid_depth():
    best = _sigmoid_slope(0.0)   # the largest slope of the sigmoid, 1/4
    depth = 1
    while best ** depth >= 1e-6:
        depth += 1
    return (depth,), {}


@_exercise(
    "landscape.sigmoid_depth",
    "d2l.check('landscape.sigmoid_depth', layers)",
    _truth_sigmoid_depth,
    [
        "The sigmoid's slope sigma'(z) = sigma(z)(1 - sigma(z)) is largest at z = 0. How large?",
        "sigma'(0) = 1/4, so the best case after L layers is (1/4)^L. When is it below 1e-6?",
        "4^9 = 262144 and 4^10 = 1048576.",
    ],
)
def _sigmoid_depth(layers):
    n = _num("layers", layers)
    truth = _truth_sigmoid_depth()[0][0]
    if n == truth:
        return True, (f"{truth} layers: (1/4)^{truth} = {0.25 ** truth:.2e} < 1e-6, while (1/4)^{truth - 1} = "
                      f"{0.25 ** (truth - 1):.2e}. That is the best case, with every unit at z = 0; saturated "
                      "units make it far smaller.")
    if n == truth - 1:
        return False, f"(1/4)^{truth - 1} = {0.25 ** (truth - 1):.2e} is still above 1e-6."
    if n == 20:
        return False, "that is (1/2)^L; the sigmoid's largest slope is sigma'(0) = 1/4, not 1/2."
    if n < truth:
        return False, f"(1/4)^{int(n)} = {0.25 ** n:.2e} is still above 1e-6."
    return False, f"(1/4)^{int(n) - 1} = {0.25 ** (n - 1):.2e} is already below 1e-6: fewer layers suffice."


# =============================================================================================
# gradient_descent

_A3 = 3.0                       # f(x) = 3 x^2
_L3 = 2 * _A3                   # its curvature f''(x)


def _truth_thresholds():
    return (1 / _L3, 2 / _L3), {}


def _gd_factor(eta: float, curvature: float) -> float:
    """The factor x_(k+1) / x_k of gradient descent on (curvature / 2) x^2, measured by a step."""
    x1 = rules.gd(np.array([1.0]), np.array([curvature * 1.0]), {}, lr=eta)
    return float(x1[0])


@_exercise(
    "gradient_descent.thresholds",
    "d2l.check('gradient_descent.thresholds', eta_oscillate=..., eta_diverge=...)",
    _truth_thresholds,
    [
        "Work out L = f''(x) for f(x) = 3x^2 first.",
        "One step multiplies x by q = 1 - eta L. Oscillation starts where q turns negative, divergence "
        "where q drops below -1.",
        "With L = 6: q = 0 at eta = 1/6, q = -1 at eta = 2/6.",
    ],
)
def _thresholds(eta_oscillate, eta_diverge):
    a = _num("eta_oscillate", eta_oscillate)
    b = _num("eta_diverge", eta_diverge)
    lo, hi = _truth_thresholds()[0]
    ok_a, ok_b = _close(a, lo, rel=0.01), _close(b, hi, rel=0.01)
    if ok_a and ok_b:
        return True, (f"f''(x) = L = {_L3:g}, so each step multiplies x by 1 - {_L3:g} eta: it turns "
                      f"negative (oscillation) at 1/L = {lo:.4f} and drops below -1 (divergence) at "
                      f"2/L = {hi:.4f}.")
    if _close(a, 1 / _A3, rel=0.01) and _close(b, 2 / _A3, rel=0.01):
        return False, "you used L = 3. The curvature is the second derivative: f''(x) = 6 for 3x^2."
    if _close(a, 0.5, rel=0.01) and _close(b, 1.0, rel=0.01):
        return False, "those are the thresholds of x^2 (L = 2). Here f(x) = 3x^2: what is f''(x)?"
    if _close(a, hi, rel=0.01) and _close(b, lo, rel=0.01):
        return False, "swapped: the oscillation starts at the smaller learning rate."
    parts = []
    for name, eta, good in (("eta_oscillate", a, ok_a), ("eta_diverge", b, ok_b)):
        if not good:
            q = _gd_factor(eta, _L3)
            parts.append(f"at {name} = {eta:g} one step multiplies x by {q:+.3f}")
    return False, ("; ".join(parts) + ". Oscillation starts where this factor turns negative, "
                   "divergence where it drops below -1.")


def _deep_minimum() -> float:
    return _newton_root(_XCOS.df, _XCOS.d2f, 7.27)


def _deep_valley_end(eta: float) -> float:
    x = 10.0
    with np.errstate(all="ignore"):
        for _ in range(100):
            x = x - eta * float(_XCOS.df(x))
            if not math.isfinite(x) or abs(x) > 1e6:
                return float("nan")
    return x


def _truth_deep_valley():
    x_star = _deep_minimum()
    good = [e for e in np.arange(0.01, 2.0, 0.01) if abs(_deep_valley_end(e) - x_star) < 1e-2]
    return (round(float(np.median(good)), 2),), {}


@_exercise(
    "gradient_descent.deep_valley",
    "d2l.check('gradient_descent.deep_valley', eta)",
    _truth_deep_valley,
    [
        "Look at the first step: from x = 10 the slope is f'(10) = 4.71, so the first step goes to "
        "10 - 4.71 eta. Where must it land?",
        "The deep valley is between about 5.5 and 9. The first step must not jump over it, and near "
        "its bottom (curvature f'' = 1.81) the steps must not overshoot: eta < 2/1.81.",
        "Any eta between about 0.03 and 1.08 works; try 0.2.",
    ],
)
def _deep_valley(eta):
    e = _num("eta", eta)
    x_star = _deep_minimum()
    end = _deep_valley_end(e)
    if not math.isfinite(end):
        return False, f"with eta = {e:g} the run diverges. Try a much smaller learning rate."
    if abs(end - x_star) < 1e-2:
        return True, (f"with eta = {e:g} the run ends at {end:.4f}, in the deep valley "
                      f"(f = {float(_XCOS.f(end)):.3f}).")
    curvature = float(_XCOS.d2f(x_star))
    if abs(end - x_star) < 1.0:
        if e * curvature >= 1.9:
            return False, (f"with eta = {e:g} the run ends at {end:.4f}: it found the deep valley but "
                           f"bounces across it, because eta f''(x*) = {e * curvature:.2f} is close to "
                           "2 or above. Try a smaller learning rate.")
        return False, (f"with eta = {e:g} the run ends at {end:.4f}: on its way into the deep valley, "
                       "but 100 steps are not enough. Try a larger learning rate.")
    return False, (f"with eta = {e:g} the run ends at {end:.4f}, in another valley: a step jumped over "
                   "the deep one. Try a smaller learning rate.")


_SGD_ETA, _SGD_H = 0.2, (2.0, 4.0)     # exercise 3: f = x1^2 + 2 x2^2, sigma = 1


def _stationary_variance(eta: float, h: float, sigma: float = 1.0) -> float:
    """Var of x_(t+1) = (1 - eta h) x_t - eta xi_t once the start is forgotten."""
    q = 1 - eta * h
    return eta ** 2 * sigma ** 2 / (1 - q * q)


def _truth_noise_floor():
    v1, v2 = (_stationary_variance(_SGD_ETA, h) for h in _SGD_H)
    return (v1 + 2 * v2,), {}


@_exercise(
    "gradient_descent.noise_floor",
    "d2l.check('gradient_descent.noise_floor', value)",
    _truth_noise_floor,
    [
        "Treat each coordinate on its own: x1 has curvature h = 2, x2 has h = 4, and each gets noise "
        "of variance 1.",
        "E[f] = E[x1^2] + 2 E[x2^2] = Var(x1) + 2 Var(x2), with Var(x) = eta sigma^2 / (h (2 - eta h)).",
    ],
)
def _noise_floor(value):
    v = _num("value", value)
    v1, v2 = (_stationary_variance(_SGD_ETA, h) for h in _SGD_H)
    truth = v1 + 2 * v2
    if _close(v, truth, rel=0.02):
        return True, (f"Var(x1) = {v1:.4f} (h = 2) and Var(x2) = {v2:.4f} (h = 4), so "
                      f"E[f] = Var(x1) + 2 Var(x2) = {truth:.4f}: eta/(4(1-eta)) + eta/(4(1-2 eta)).")
    if _close(v, v1 + v2, rel=0.02):
        return False, "f = x1^2 + 2 x2^2: the x2 term counts twice."
    if _close(v, v1, rel=0.02) or _close(v, 2 * v2, rel=0.02) or _close(v, v2, rel=0.02):
        return False, "that is one coordinate's share; add the other one."
    if _close(v, 2 * v1 + v2, rel=0.02):
        return False, "the factor 2 belongs to x2 (f = x1^2 + 2 x2^2), not to x1."
    return False, ("compute Var(x) = eta sigma^2 / (h (2 - eta h)) for h = 2 and h = 4, then "
                   "E[f] = Var(x1) + 2 Var(x2).")


_BATCH, _MEAN_LR = 100, 0.4


def _truth_sum_loss():
    rng = np.random.default_rng(0)
    per_example = rng.normal(size=(_BATCH, 3))     # any per-example gradients will do
    ratio = np.linalg.norm(per_example.sum(0)) / np.linalg.norm(per_example.mean(0))
    return (_MEAN_LR / ratio,), {}


@_exercise(
    "gradient_descent.sum_loss_lr",
    "d2l.check('gradient_descent.sum_loss_lr', lr)",
    _truth_sum_loss,
    [
        "How does the gradient of a sum of 100 losses compare with the gradient of their mean?",
        "The sum is 100 times the mean, so its gradient is 100 times larger; the step is lr times "
        "the gradient.",
    ],
)
def _sum_loss(lr):
    x = _num("lr", lr)
    truth = _truth_sum_loss()[0][0]
    if _close(x, truth, rel=1e-3):
        return True, (f"lr = {truth:g}. The summed loss has a gradient {_BATCH} times larger, so the "
                      f"learning rate must be {_BATCH} times smaller for the same step. (d2l's "
                      "chapter-3 sgd divides by batch_size for this reason.)")
    if _close(x, _MEAN_LR * _BATCH, rel=1e-3):
        return False, "the other way round: the gradient grows 100 times, so the learning rate must shrink."
    if _close(x, _MEAN_LR, rel=1e-3):
        return False, "with the same lr, every step would be 100 times longer."
    return False, "compare the gradient of the sum with the gradient of the mean."


def _truth_odd_steps():
    xs = _path(rules.gd, lambda x: 2 * x, [10.0], 11, lr=1.1)
    return (float(xs[-1, 0]),), {}


@_exercise(
    "gradient_descent.odd_steps",
    "d2l.check('gradient_descent.odd_steps', x_11)",
    _truth_odd_steps,
    [
        "Each step multiplies x by 1 - 2 eta.",
        "x_11 = 10 (1 - 2.2)^11.",
    ],
)
def _odd_steps(x_11):
    x = _num("x_11", x_11)
    truth = _truth_odd_steps()[0][0]
    if _close(x, truth, rel=1e-3):
        return True, (f"x_11 = 10 (-1.2)^11 = {truth:.1f}. After an even number of steps the sign is "
                      "positive again, after an odd number negative.")
    if _close(x, -truth, rel=1e-3):
        return False, "check the sign: each step flips it, and 11 is odd."
    if _close(abs(x), 10 * 1.2 ** 10, rel=1e-3):
        return False, "that is x after 10 steps; take one more."
    return False, "each step multiplies x by 1 - 2 * 1.1 = -1.2; start from 10."


# =============================================================================================
# newton


def _quadratic_for_newton():
    h = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -2.0])
    x_min = np.linalg.solve(h, -b)
    return h, b, x_min


def _newton_steps_needed(lr: float, factor: float) -> int:
    """Steps of Newton's method (learning rate lr) on a quadratic until the error shrinks by factor."""
    h, b, x_min = _quadratic_for_newton()
    x, state = np.array([4.0, -3.0]), {}
    e0 = np.linalg.norm(x - x_min)
    for k in range(1, 200):
        x = rules.newton(x, h @ x + b, state, lr=lr, hess=h)
        if np.linalg.norm(x - x_min) <= e0 * factor * (1 + 1e-9):
            return k
    raise RuntimeError("no convergence")


def _truth_newton_steps():
    return (_newton_steps_needed(1.0, 1e-12), _newton_steps_needed(0.5, 1e-3)), {}


@_exercise(
    "newton.steps",
    "d2l.check('newton.steps', newton_steps=..., damped_steps=...)",
    _truth_newton_steps,
    [
        "For a quadratic, how good is the quadratic model?",
        "Damped Newton with eta multiplies the error by 1 - eta per step. Find the first k with "
        "0.5^k <= 1/1000.",
    ],
)
def _newton_steps(newton_steps, damped_steps):
    a = _num("newton_steps", newton_steps)
    b = _num("damped_steps", damped_steps)
    (ta, tb), _ = _truth_newton_steps()
    ok_a, ok_b = a == ta, b == tb
    if ok_a and ok_b:
        return True, ("one step, because the quadratic model of a quadratic is the function itself; and "
                      f"{tb} steps of damped Newton, because 0.5^9 = 1/512 is not yet 1/1000 but "
                      "0.5^10 = 1/1024 is.")
    tips = []
    if not ok_a:
        tips.append("newton_steps: the local model of a quadratic is exact, so where does one step land?")
    if not ok_b:
        if b == tb - 1:
            tips.append(f"damped_steps: 0.5^{int(b)} = 1/{2 ** int(b)} has not reached 1/1000 yet")
        else:
            tips.append("damped_steps: each step multiplies the error by 1 - eta = 0.5")
    return False, "; ".join(tips) + "."


def _xcos_maximum() -> float:
    return _newton_root(_XCOS.df, _XCOS.d2f, 13.0)


def _truth_stationary():
    x = _xcos_maximum()
    return (x, "max" if _XCOS.d2f(x) < 0 else "min"), {}


@_exercise(
    "newton.stationary_point",
    "d2l.check('newton.stationary_point', x=..., kind='min' or 'max')",
    _truth_stationary,
    [
        "Run newton-style steps x <- x - gradf(x) / hessf(x) from x = 13 until gradf(x) is about 0.",
        "A stationary point with f''(x) < 0 is a maximum, with f''(x) > 0 a minimum.",
    ],
)
def _stationary(x, kind):
    xv = _num("x", x)
    word = _word(kind)
    x_max = _xcos_maximum()
    slope, curvature = float(_XCOS.df(xv)), float(_XCOS.d2f(xv))
    ok_x = abs(xv - x_max) < 1e-6
    ok_kind = word in ("max", "maximum")
    if ok_x and ok_kind:
        return True, (f"x = {xv:.6f} has f'(x) = 0 and f''(x) = {curvature:.3f} < 0: a local maximum. "
                      "Newton's method found it because it looks for f' = 0, of any kind.")
    if not ok_x:
        if abs(slope) < 1e-8:
            return False, (f"x = {xv:.4f} is a stationary point, but not the one near 13.66. Start "
                           "the iteration at x0 = 13.")
        return False, (f"f'({xv:g}) = {slope:.2e}, not zero yet: run Newton steps from x0 = 13 "
                       "until gradf(x) is (almost) zero, and pass that x (six decimals are enough).")
    if word not in ("min", "minimum", "max", "maximum"):
        return False, "kind must be 'min' or 'max'."
    return False, f"look at the sign of f''(x) = {curvature:.3f}."


def _lse_slope(x: float) -> float:
    a, b = math.exp(x), math.exp(-2 * x - 3)
    return (a - 2 * b) / (a + b)


def _truth_lse():
    return (_bisect(_lse_slope, -5.0, 5.0),), {}


@_exercise(
    "newton.logsumexp_minimum",
    "d2l.check('newton.logsumexp_minimum', x)",
    _truth_lse,
    [
        "f'(x) = (e^x - 2 e^(-2x-3)) / (e^x + e^(-2x-3)). Where is it zero?",
        "e^x = 2 e^(-2x-3) means e^(3x+3) = 2; take the logarithm.",
    ],
)
def _lse(x):
    xv = _num("x", x)
    truth = _truth_lse()[0][0]
    if abs(xv - truth) < 1e-4:
        return True, (f"the minimum is where e^x = 2 e^(-2x-3), that is x = (ln 2 - 3)/3 = {truth:.6f}; "
                      "gradient descent with backtracking gets there from x0 = 2.")
    if abs(xv + truth) < 1e-4:
        return False, "check the sign: (ln 2 - 3)/3 is negative."
    try:
        slope = _lse_slope(xv)
    except OverflowError:
        slope = float("nan")
    return False, (f"at x = {xv:g} the slope is f'(x) = {slope:.2e}, not zero. Run more steps, or solve "
                   "f'(x) = 0 by hand.")


def _truth_cubic():
    x = 1e-3
    return ((x - 2 * math.tanh(x / 2)) / x ** 3,), {}


@_exercise(
    "newton.cubic_constant",
    "d2l.check('newton.cubic_constant', C)",
    _truth_cubic,
    [
        "Put the series tanh(u) = u - u^3/3 + ... with u = x/2 into x - 2 tanh(x/2).",
        "2 tanh(x/2) = x - 2 (x/2)^3 / 3 + ... = x - x^3/12 + ...",
    ],
)
def _cubic(C):
    c = _num("C", C)
    truth = _truth_cubic()[0][0]
    if _close(c, truth, rel=0.01):
        return True, ("C = 1/12: x - 2 tanh(x/2) = x - 2 (x/2 - (x/2)^3/3 + ...) = x^3/12 + ... "
                      "Check: 0.0117856^3 / 12 = 1.364e-07, the next iterate.")
    if _close(c, 1 / 24, rel=0.01):
        return False, "you lost the factor 2 in front of tanh."
    if _close(c, 1 / 3, rel=0.01) or _close(c, 2 / 3, rel=0.01):
        return False, "the argument of tanh is x/2, so its cube is x^3/8."
    return False, "expand tanh(u) = u - u^3/3 with u = x/2 and simplify x - 2 tanh(x/2)."


# =============================================================================================
# momentum


def _truth_zero_start():
    beta = 0.9
    return (sum((1 - beta) * beta ** k for k in range(10)),), {}


@_exercise(
    "momentum.zero_start_weight",
    "d2l.check('momentum.zero_start_weight', total_weight)",
    _truth_zero_start,
    [
        "v_10 = (1 - beta) (x_10 + beta x_9 + ... + beta^9 x_1): add up the weights.",
        "The sum of (1 - beta) beta^k for k = 0..t-1 is 1 - beta^t.",
    ],
)
def _zero_start(total_weight):
    w = _num("total_weight", total_weight)
    truth = _truth_zero_start()[0][0]
    if abs(w - truth) < 5e-3:
        return True, (f"1 - 0.9^10 = {truth:.4f}. Bias correction divides v_10 by this number, so the "
                      "weights add up to one again.")
    if abs(w - 0.9 ** 10) < 5e-3:
        return False, "0.9^10 is the weight that is still *missing*; what is there?"
    if abs(w - 1.0) < 5e-3:
        return False, "the weights add up to 1 only over an infinite past. Ten steps in, some is missing."
    if abs(w - 0.1) < 5e-3:
        return False, "0.1 is the weight of the newest value alone; add all ten."
    return False, "add the weights (1 - beta) beta^k for k = 0, ..., 9."


def _truth_heavy_edge():
    return (_edge(_heavy_ball_radius, 0.5) / 4.0,), {}


@_exercise(
    "momentum.heavy_ball_edge",
    "d2l.check('momentum.heavy_ball_edge', eta)",
    _truth_heavy_edge,
    [
        "The edge of the phase diagram is eta lambda = 2 (1 + beta).",
        "Solve for eta with beta = 0.5 and lambda = 4.",
    ],
)
def _heavy_edge(eta):
    e = _num("eta", eta)
    truth = _truth_heavy_edge()[0][0]
    if abs(e - truth) < 0.01:
        ok = _path(rules.momentum, _D2L.grad, _D2L.start, 200, lr=truth - 0.01, momentum=0.5)[-1]
        bad = _path(rules.momentum, _D2L.grad, _D2L.start, 200, lr=truth + 0.01, momentum=0.5)[-1]
        return True, (f"eta < 2 (1 + beta) / lambda = {truth:.2f}. After 200 steps x2 = {ok[1]:.2e} at "
                      f"eta = {truth - 0.01:.2f} but {bad[1]:.2e} at eta = {truth + 0.01:.2f}.")
    if abs(e - 4 * truth) < 0.05:
        return False, "that is the edge of eta lambda; divide by lambda = 4."
    if abs(e - _edge(_heavy_ball_radius, 0.0) / 4.0) < 0.01:
        return False, "0.5 is the edge without momentum (beta = 0). Momentum stretches it."
    if abs(e - _edge(_nesterov_radius, 0.5) / 4.0) < 0.005:
        return False, "that is Nesterov's edge (exercise 4). Heavy ball's is eta lambda < 2 (1 + beta)."
    side = "below" if e < truth else "above"
    return False, (f"{e:g} is {side} the edge. The phase diagram's edge is eta lambda = 2 (1 + beta); "
                   "solve for eta.")


_EMA_LR, _EMA_BETA = 0.6, 0.9


def _ema_gap(lr: float) -> float:
    ours = _path(rules.momentum_ema, _D2L.grad, _D2L.start, 20, lr=_EMA_LR, beta=_EMA_BETA)
    torch_form = _path(rules.momentum, _D2L.grad, _D2L.start, 20, lr=lr, momentum=_EMA_BETA)
    return float(np.nanmax(np.abs(ours - torch_form))) if np.all(np.isfinite(torch_form)) else float("inf")


def _truth_ema():
    # the EMA velocity is (1 - beta) times torch's; find the lr that matches by least squares
    probe = _path(rules.momentum_ema, _D2L.grad, _D2L.start, 1, lr=_EMA_LR, beta=_EMA_BETA)
    unit = _path(rules.momentum, _D2L.grad, _D2L.start, 1, lr=1.0, momentum=_EMA_BETA)
    step, unit_step = probe[1] - probe[0], unit[1] - unit[0]
    return (float(step @ unit_step / (unit_step @ unit_step)),), {}


@_exercise(
    "momentum.ema_translation",
    "d2l.check('momentum.ema_translation', lr)",
    _truth_ema,
    [
        "Compare the velocities: the EMA form adds (1 - beta) g, torch adds g.",
        "So the EMA velocity is (1 - beta) times torch's, and the EMA step with eta equals torch's step "
        "with eta (1 - beta).",
    ],
)
def _ema(lr):
    x = _num("lr", lr)
    if x < 0:
        return False, "a learning rate is positive."
    gap = _ema_gap(x)
    if gap < 1e-9:
        return True, (f"lr = eta (1 - beta) = {x:g}. The two paths agree to {gap:.0e}: the EMA "
                      "velocity is (1 - beta) times torch's.")
    if _close(x, _EMA_LR, rel=1e-6):
        return False, (f"with the same lr the points differ by up to {gap:.3g}: torch's velocity is a "
                       "sum, ten times the EMA's when beta = 0.9.")
    if _close(x, _EMA_LR / (1 - _EMA_BETA), rel=1e-6):
        return False, "multiply by (1 - beta), do not divide."
    if _close(x, _EMA_LR * _EMA_BETA, rel=1e-6):
        return False, "the factor is (1 - beta), not beta."
    return False, (f"not the same path: the points differ by up to {gap:.3g}. Compare the velocities "
                   "of the two forms.")


def _truth_nesterov_edge():
    return (_edge(_nesterov_radius, 0.5) / 4.0,), {}


@_exercise(
    "momentum.nesterov_edge",
    "d2l.check('momentum.nesterov_edge', eta)",
    _truth_nesterov_edge,
    [
        "Nesterov is stable only for eta lambda < 2 (1 + beta) / (1 + 2 beta).",
        "Put in beta = 0.5 and lambda = 4.",
    ],
)
def _nesterov_edge(eta):
    e = _num("eta", eta)
    truth = _truth_nesterov_edge()[0][0]
    if abs(e - truth) < 0.005:
        return True, (f"eta < 2 (1 + beta) / ((1 + 2 beta) lambda) = {truth:.3f}, half of heavy ball's "
                      "0.75. Move both sliders of the race past it and only heavy ball survives.")
    if abs(e - _edge(_heavy_ball_radius, 0.5) / 4.0) < 0.005:
        return False, "0.75 is heavy ball's edge. Nesterov's bound has an extra factor 1/(1 + 2 beta)."
    if abs(e - 4 * truth) < 0.02:
        return False, "that is the edge of eta lambda; divide by lambda = 4."
    return False, "use the bound eta lambda < 2 (1 + beta) / (1 + 2 beta) with beta = 0.5, lambda = 4."


_CURV = (0.2, 4.0)


def _worst_rate(eta: float, beta: float) -> Tuple[float, float]:
    return tuple(_heavy_ball_radius(eta * lam, beta) for lam in _CURV)  # type: ignore[return-value]


def _truth_tuning():
    mu, big = _CURV
    kappa = big / mu
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    eta = 4 / (math.sqrt(big) + math.sqrt(mu)) ** 2
    return (eta, beta), {}


@_exercise(
    "momentum.tuning",
    "d2l.check('momentum.tuning', eta=..., beta=...)",
    _truth_tuning,
    [
        "The slower of the two directions sets the pace. Move the pair of markers in the phase diagram "
        "so that neither sits in a slow colour.",
        "The best pair puts both directions at the same rate, sqrt(beta), on the dashed curve.",
        "beta* = ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^2, eta* = 4/(sqrt(L) + sqrt(mu))^2.",
    ],
)
def _tuning(eta, beta):
    e = _num("eta", eta)
    b = _num("beta", beta)
    if not (0 <= b < 1) or e <= 0:
        return False, "eta must be positive and beta in [0, 1)."
    r1, r2 = _worst_rate(e, b)
    worst = max(r1, r2)
    (te, tb), _ = _truth_tuning()
    best = max(_worst_rate(te, tb))
    if worst >= 1:
        slow = "x2 (curvature 4)" if r2 >= 1 else "x1"
        return False, (f"rate {worst:.3f}: this diverges in {slow}. Stay left of the edge "
                       "eta lambda = 2 (1 + beta) in the phase diagram.")
    if worst < best + 0.01:
        return True, (f"rate {worst:.4f} per step; the best possible is {best:.4f} "
                      f"(eta = {te:.3f}, beta = {tb:.3f}), against gradient descent's best 19/21 = 0.905.")
    slow = "x1, the flat direction" if r1 > r2 else "x2, the steep direction"
    return False, (f"rate {worst:.4f} per step (x1 {r1:.3f}, x2 {r2:.3f}); the best possible is "
                   f"{best:.4f}. The slow one is {slow}. Keep tuning.")


# The digits network of section 8: plain SGD's best learning rate on its ladder 0.03 ... 3
# (tests/test_nb_04_momentum.py checks that the notebook's sweep still finds it).
_DIGITS_SGD_BEST_LR = 0.3


def _truth_digits_half():
    return (_DIGITS_SGD_BEST_LR * (1 - 0.5),), {}


@_exercise(
    "momentum.digits_lr_half",
    "d2l.check('momentum.digits_lr_half', lr)",
    _truth_digits_half,
    [
        "Momentum beta at learning rate eta behaves like plain SGD at eta / (1 - beta).",
        "Keep the effective learning rate at plain SGD's best: solve eta / (1 - 0.5) = 0.3.",
    ],
)
def _digits_half(lr):
    x = _num("lr", lr)
    truth = _truth_digits_half()[0][0]
    if _close(x, truth, rel=0.02):
        return True, (f"eta / (1 - beta) = {truth:g} / 0.5 = {_DIGITS_SGD_BEST_LR:g}, plain SGD's best. The "
                      "network feels the effective learning rate, not lr itself.")
    if _close(x, _DIGITS_SGD_BEST_LR * (1 - 0.9), rel=0.02):
        return False, "0.03 is momentum 0.9's best (1 - 0.9 = 0.1); with beta = 0.5 the factor is 1 - 0.5."
    if _close(x, _DIGITS_SGD_BEST_LR / (1 - 0.5), rel=0.02):
        return False, "multiply by (1 - beta), do not divide: momentum makes each step larger, so lr must shrink."
    if _close(x, _DIGITS_SGD_BEST_LR, rel=0.02):
        return False, ("0.3 is plain SGD's best; momentum 0.5 doubles the effective learning rate, so lr "
                       "must shrink.")
    return False, "keep eta / (1 - beta) at plain SGD's best learning rate, 0.3."


def _truth_velocity_steps():
    beta, t = 0.9, 1
    while 1 - beta ** t < 0.9:
        t += 1
    return (t,), {}


@_exercise(
    "momentum.velocity_steps",
    "d2l.check('momentum.velocity_steps', steps)",
    _truth_velocity_steps,
    [
        "The velocity reaches the fraction 1 - beta^t of its steady value g / (1 - beta).",
        "Solve 1 - 0.9^t >= 0.9, that is 0.9^t <= 0.1: t >= ln 0.1 / ln 0.9.",
    ],
)
def _velocity_steps(steps):
    s = _num("steps", steps)
    truth = _truth_velocity_steps()[0][0]
    exact = math.log(0.1) / math.log(0.9)
    if s == truth or abs(s - exact) < 0.2:
        return True, (f"1 - 0.9^t >= 0.9 first at t = {truth} (ln 0.1 / ln 0.9 = {exact:.1f}). An epoch of "
                      "the digits has 34 steps: momentum spends most of its first epoch getting up to speed.")
    if abs(s - 10) < 0.5:
        return False, ("10 = 1/(1 - beta) is the memory window; after 10 steps the velocity is only "
                       f"1 - 0.9^10 = {1 - 0.9 ** 10:.0%} of its steady value.")
    if s < truth and s >= 1:
        return False, f"after {s:g} steps the velocity is only {1 - 0.9 ** s:.1%} of its steady value."
    if s > truth:
        return False, f"a little earlier: 1 - 0.9^t already passes 0.9 before step {s:g}."
    return False, "solve 1 - 0.9^t >= 0.9 for the smallest whole t."



# =============================================================================================
# adagrad

_G0 = np.array([-1.0, -8.0])     # the gradient of 0.1 x1^2 + 2 x2^2 at (-5, -2)


def _truth_first_rate():
    step = rules.adagrad(np.zeros(2), _G0, {}, lr=0.4, eps=1e-6, eps_inside=True)
    return (float(abs(step[1] / _G0[1])),), {}


@_exercise(
    "adagrad.first_rate",
    "d2l.check('adagrad.first_rate', rate)",
    _truth_first_rate,
    [
        "After one step s_1 = g_1^2 for each coordinate; x2's gradient is -8.",
        "The effective rate is eta / sqrt(s_1 + eps).",
    ],
)
def _first_rate(rate):
    r = _num("rate", rate)
    truth = _truth_first_rate()[0][0]
    if abs(r - truth) < 1e-3:
        return True, (f"0.4 / sqrt(64) = {truth:.4f}, the first point of the x2 curve in section 3. The "
                      "step itself is 0.05 * 8 = 0.4 = eta.")
    if abs(r - 0.4) < 1e-3:
        return False, ("0.4 is eta, and the rate of x1 (|g| = 1); x2's first gradient is -8, so "
                       "s_1 = 64.")
    if abs(r - 0.4 / 64) < 1e-4:
        return False, "take the square root of s_1."
    return False, "s_1 = g_1^2 for x2; the rate is eta / sqrt(s_1 + eps)."


def _truth_lr_decay():
    x, state = np.zeros(1), {}
    for _ in range(11):
        new = rules.adagrad(x, np.ones(1), state, lr=0.4, lr_decay=0.1, eps=0.0)
        step, x = float(x[0] - new[0]), new
    return (step * math.sqrt(state["s"][0]),), {}   # step = clr * g / sqrt(s) with g = 1


@_exercise(
    "adagrad.lr_decay",
    "d2l.check('adagrad.lr_decay', lr_11)",
    _truth_lr_decay,
    [
        "torch uses lr / (1 + (t - 1) lr_decay) at step t = 1, 2, ...",
        "At t = 11: 0.4 / (1 + 10 * 0.1).",
    ],
)
def _lr_decay(lr_11):
    v = _num("lr_11", lr_11)
    truth = _truth_lr_decay()[0][0]
    if abs(v - truth) < 1e-6:
        return True, (f"0.4 / (1 + 10 * 0.1) = {truth:g}. AdaGrad then divides it by sqrt(s) + eps, "
                      "coordinate by coordinate.")
    if abs(v - 0.4 / (1 + 11 * 0.1)) < 1e-6:
        return False, "the first step uses lr itself: the factor is (t - 1), not t."
    return False, "torch uses lr / (1 + (t - 1) * lr_decay): a 1/t decay, not a power."


def _half_step_size(g: float) -> float:
    return float(-rules.adagrad(np.zeros(1), np.array([g]), {}, lr=1.0, eps=1e-6, eps_inside=True)[0])


def _truth_half_step():
    return (_bisect(lambda g: _half_step_size(g) - 0.5, 1e-9, 1.0),), {}


@_exercise(
    "adagrad.half_step",
    "d2l.check('adagrad.half_step', g)",
    _truth_half_step,
    [
        "The first step of d2l's form is eta g / sqrt(g^2 + eps). Set it to eta / 2.",
        "g / sqrt(g^2 + eps) = 1/2 gives 4 g^2 = g^2 + eps.",
    ],
)
def _half_step(g):
    gv = _num("g", g)
    if gv <= 0:
        return False, "g should be positive."
    step = _half_step_size(gv)
    if abs(step - 0.5) < 1e-3:
        return True, (f"g = sqrt(eps / 3) = {math.sqrt(1e-6 / 3):.3e}. Below it, eps rather than the "
                      "gradient decides the step size.")
    if abs(gv - 1e-3) < 1e-6:
        return False, f"at g = sqrt(eps) the step is {step:.3f} eta (1/sqrt(2)); you need a smaller g."
    if abs(gv - 1e-6 / 3) < 1e-9:
        return False, "that is g^2; take the square root."
    return False, f"with g = {gv:g} the first step is {step:.3f} eta. Solve g / sqrt(g^2 + eps) = 1/2."


def _adagrad_loss_at_angle(angle: float) -> float:
    obj = objectives.get("rotated", angle=angle)
    end = _path(rules.adagrad, obj.grad, _D2L.start, 20, lr=2.0, eps=1e-6, eps_inside=True)[-1]
    return obj.value(end)


def _angle_losses() -> Dict[int, float]:
    return {a: _adagrad_loss_at_angle(a) for a in range(0, 91)}


def _truth_worst_angle():
    losses = _angle_losses()
    return (max(losses, key=losses.get),), {}


@_exercise(
    "adagrad.worst_angle",
    "d2l.check('adagrad.worst_angle', angle)",
    _truth_worst_angle,
    [
        "Move the angle slider in steps of 5 degrees and note the final loss in the readout.",
        "It is not 45 degrees: the start (-5, -2) stays where it is while the valley turns.",
    ],
)
def _worst_angle(angle):
    a = _num("angle", angle)
    if not 0 <= a <= 90:
        return False, "the angle slider goes from 0 to 90 degrees."
    losses = _angle_losses()
    worst = max(losses, key=losses.get)
    mine = _adagrad_loss_at_angle(a)
    if mine >= 0.95 * losses[worst]:
        return True, (f"the loss peaks near {worst} degrees ({losses[worst]:.3f}); at {a:g} degrees it "
                      f"is {mine:.3f}. At 0 and 90 degrees the valley is axis-aligned and the loss is tiny "
                      f"({losses[0]:.0e} and {losses[90]:.0e}).")
    up, down = _adagrad_loss_at_angle(min(a + 5, 90)), _adagrad_loss_at_angle(max(a - 5, 0))
    way = "larger" if up > down else "smaller"
    return False, (f"at {a:g} degrees the loss is {mine:.3g}; it grows towards {way} angles "
                   f"({up:.3g} at {min(a + 5, 90):g}, {down:.3g} at {max(a - 5, 0):g} degrees).")


def _truth_noise_rate():
    lr, sigma, t = 0.4, 2.0, 100
    return (lr / (sigma * math.sqrt(t)),), {}


def _pure_noise_rate(lr: float = 0.4, sigma: float = 2.0, steps: int = 100, n: int = 10000) -> float:
    """AdaGrad's median effective rate after ``steps`` gradients of pure noise (n coordinates)."""
    g = sigma * np.random.default_rng(0).standard_normal((steps, n))
    s = np.sum(g * g, axis=0)
    return float(np.median(lr / (np.sqrt(s) + 1e-10)))


@_exercise(
    "adagrad.noise_rate",
    "d2l.check('adagrad.noise_rate', rate)",
    _truth_noise_rate,
    [
        "Each step adds g^2 to s, and the mean of g^2 is sigma^2 when g is pure noise.",
        "After t steps s is about sigma^2 t, and the rate is eta / sqrt(s).",
    ],
)
def _noise_rate(rate):
    r = _num("rate", rate)
    truth = _truth_noise_rate()[0][0]
    if _close(r, truth, rel=0.1):
        return True, (f"s_100 is about sigma^2 * 100 = 400, so the rate is 0.4 / sqrt(400) = {truth:g}, "
                      f"eta / (sigma sqrt(t)); a simulation of 10,000 coordinates gives a median of "
                      f"{_pure_noise_rate():.4f}. It keeps falling like 1/sqrt(t) at the minimum.")
    if _close(r, 0.4 / (2.0 * 100), rel=0.1):
        return False, "s grows like sigma^2 t, so sqrt(s) grows like sigma sqrt(t), not sigma t."
    if _close(r, 0.4 / 400, rel=0.1):
        return False, "the rate divides by the square root of s."
    if _close(r, 0.4 / math.sqrt(100), rel=0.1):
        return False, "each squared gradient is about sigma^2 = 4, not 1."
    if _close(r, 0.4 / math.sqrt(200), rel=0.1):
        return False, "square the noise: each step adds about sigma^2 = 4 to s, not sigma."
    return False, "add up the squared gradients: s is about sigma^2 t after t steps; the rate is eta / sqrt(s)."


_FIRST_LAYER_BOUND = 1 / math.sqrt(64)   # d2l.mlp(64, 32, 10): nn.Linear's uniform initialisation


def _truth_first_step_ratio():
    step = abs(float(rules.adagrad(np.zeros(1), np.array([0.37]), {}, lr=1.0)[0]))
    return (step / _FIRST_LAYER_BOUND,), {}


@_exercise(
    "adagrad.first_step_ratio",
    "d2l.check('adagrad.first_step_ratio', ratio)",
    _truth_first_step_ratio,
    [
        "AdaGrad's first step is eta g_1 / (sqrt(g_1^2) + eps): what is left of g_1?",
        "The step is eta = 1 for every weight with g_1 != 0; divide by 1/sqrt(64).",
    ],
)
def _first_step_ratio(ratio):
    r = _num("ratio", ratio)
    truth = _truth_first_step_ratio()[0][0]
    if _close(r, truth, rel=0.02):
        return True, (f"the first step is eta * sign(g_1) = 1 whatever the gradient, and 1 / (1/sqrt(64)) = "
                      f"{truth:.0f}: one step wipes out the initialisation of every weight.")
    if _close(r, 1 / truth, rel=0.02):
        return False, "upside down: how many times the largest initial weight is the step?"
    if _close(r, 1.0, rel=0.02):
        return False, "1 is the step itself; compare it with the largest initial weight, 1/sqrt(64)."
    if _close(r, 64.0, rel=0.02):
        return False, "the initial weights are bounded by 1/sqrt(64), not 1/64."
    return False, "the first step is eta g_1 / |g_1| (up to eps); compare eta = 1 with 1/sqrt(64)."



# =============================================================================================
# rmsprop


def _truth_gamma_one():
    g = np.array([3.0])
    step = rules.rmsprop(np.zeros(1), g, {}, lr=0.4, alpha=1.0, eps=1e-6, eps_inside=True)
    return (float(abs(step[0] / g[0])),), {}


@_exercise(
    "rmsprop.gamma_one",
    "d2l.check('rmsprop.gamma_one', effective_lr)",
    _truth_gamma_one,
    [
        "With gamma = 1: s_t = 1 * s_(t-1) + 0 * g_t^2. Where does s start?",
        "s stays at s_0 = 0, so the rate is eta / sqrt(0 + eps).",
    ],
)
def _gamma_one(effective_lr):
    v = _num("effective_lr", effective_lr)
    truth = _truth_gamma_one()[0][0]
    if _close(v, truth, rel=0.01):
        return True, (f"s_t stays at s_0 = 0, so the rate is eta / sqrt(eps) = {truth:g}. That is plain "
                      "gradient descent with a huge learning rate: it diverges at once.")
    if _close(v, 0.4 / 1e-6, rel=0.01):
        return False, "d2l's eps is inside the square root: eta / sqrt(eps)."
    if _close(v, 0.4, rel=0.01):
        return False, "0.4 is eta; what does RMSProp divide it by when s never changes?"
    return False, "with gamma = 1, s_t = s_(t-1) for ever. Where does s start?"


def _truth_rms_first():
    g = np.array([3.0])
    return (float(abs(rules.rmsprop(np.zeros(1), g, {}, lr=0.01)[0])),), {}


@_exercise(
    "rmsprop.first_step",
    "d2l.check('rmsprop.first_step', distance)",
    _truth_rms_first,
    [
        "After one step s_1 = (1 - alpha) g_1^2 (s_0 = 0, and torch does no bias correction).",
        "The step is lr g_1 / (sqrt(s_1) + eps) = lr / sqrt(1 - alpha), whatever g_1 is.",
    ],
)
def _rms_first(distance):
    d = abs(_num("distance", distance))
    truth = _truth_rms_first()[0][0]
    if _close(d, truth, rel=0.01):
        return True, (f"lr / sqrt(1 - alpha) = {truth:.4f}, ten times lr, whatever the gradient: "
                      "torch's RMSprop has no bias correction.")
    if _close(d, 0.01, rel=0.01):
        return False, "0.01 is lr; with s_0 = 0 and no bias correction, sqrt(s_1) is much smaller than |g_1|."
    if _close(d, 0.03, rel=0.01):
        return False, "lr * g_1 leaves out the division by sqrt(s_1)."
    if _close(d, 0.3, rel=0.01):
        return False, "sqrt(s_1) = sqrt(1 - alpha) |g_1| has the |g_1| in it too."
    if _close(d, 1.0, rel=0.01):
        return False, "take the square root of (1 - alpha)."
    return False, "after one step s_1 = (1 - alpha) g_1^2; divide lr * g_1 by sqrt(s_1)."


def _truth_half_life():
    gamma = 0.99
    return (math.log(0.5) / math.log(gamma),), {}


@_exercise(
    "rmsprop.half_life",
    "d2l.check('rmsprop.half_life', steps)",
    _truth_half_life,
    [
        "The weight of a gradient tau steps old is (1 - gamma) gamma^tau. When is gamma^tau = 1/2?",
        "tau = ln 2 / ln(1/gamma).",
    ],
)
def _half_life(steps):
    s = _num("steps", steps)
    truth = _truth_half_life()[0][0]
    if abs(s - truth) < 0.1 or s == math.ceil(truth):
        return True, (f"(1 - gamma) gamma^tau halves when gamma^tau = 1/2: tau = ln 2 / ln(1/gamma) = "
                      f"{truth:.1f} steps (about 0.69 / (1 - gamma)).")
    if abs(s - math.log(2) / (1 - 0.99)) < 0.05:
        return False, "close: 0.69/(1 - gamma) is the approximation; solve gamma^tau = 1/2 exactly."
    if abs(s - 100) < 0.5:
        return False, "100 = 1/(1 - gamma) is the memory window; by then the weight is down to about 1/e."
    return False, "solve gamma^tau = 1/2 for tau."


def _noise_step(lr: float = 0.4, alpha: float = 0.9, sigma: float = 0.5, n: int = 2000) -> float:
    """Root mean square step of RMSProp (torch's form) when every gradient is pure noise."""
    rng = np.random.default_rng(0)
    x, state, squares = np.zeros(n), {}, []
    for t in range(400):
        new = rules.rmsprop(x, sigma * rng.standard_normal(n), state, lr=lr, alpha=alpha)
        if t >= 100:                       # after the leaky average has filled up
            squares.append(np.mean((new - x) ** 2))
        x = new
    return float(math.sqrt(np.mean(squares)))


def _truth_noise_step():
    return (_noise_step(),), {}


@_exercise(
    "rmsprop.noise_step",
    "d2l.check('rmsprop.noise_step', step)",
    _truth_noise_step,
    [
        "The leaky average s_t settles at the mean of g^2, which is sigma^2 for pure noise.",
        "A step is eta g / sqrt(s) with sqrt(s) about sigma, and g / sigma is standard normal.",
    ],
)
def _rms_noise_step(step):
    v = abs(_num("step", step))
    truth = _truth_noise_step()[0][0]
    if _close(v, truth, rel=0.1):
        return True, (f"about eta: s_t settles near sigma^2, so the step eta g / sqrt(s_t) is about eta times a "
                      f"standard normal number, whatever sigma is (a simulation gives {truth:.3f}; with "
                      f"sigma = 2 it gives {_noise_step(sigma=2.0):.3f}). RMSProp never settles by itself.")
    if _close(v, 0.4 * 0.5, rel=0.1):
        return False, "the step divides the gradient by sqrt(s), about sigma: the sigma cancels."
    if _close(v, 0.4 / 0.5, rel=0.1):
        return False, "eta / sigma is the effective rate; multiply it by the size of the gradient, sigma."
    return False, "s_t settles near sigma^2; what is eta g / sqrt(s_t) then, for g of size sigma?"



# =============================================================================================
# adadelta


def _adadelta_first(eps: float) -> float:
    x0 = np.array(_D2L.start)
    return float(abs(rules.adadelta(x0, _D2L.grad(x0), {}, rho=0.9, eps=eps)[0] - x0[0]))


def _truth_adadelta_first():
    return (_adadelta_first(1e-4),), {}


@_exercise(
    "adadelta.first_step",
    "d2l.check('adadelta.first_step', distance)",
    _truth_adadelta_first,
    [
        "At the first step the average of squared updates is 0 and s_1 = (1 - rho) g^2; x1's gradient "
        "is -1.",
        "The step is sqrt(0 + eps) / sqrt(s_1 + eps) * |g|, about sqrt(eps / (1 - rho)).",
    ],
)
def _adadelta_first_step(distance):
    d = abs(_num("distance", distance))
    truth = _truth_adadelta_first()[0][0]
    if _close(d, truth, rel=0.02):
        return True, (f"about sqrt(eps / (1 - rho)) = {math.sqrt(1e-4 / 0.1):.4f} (exactly {truth:.5f} "
                      "here), ten times the step with eps = 1e-6.")
    if _close(d, _adadelta_first(1e-6), rel=0.02):
        return False, "that is the first step with eps = 1e-6; this exercise uses eps = 1e-4."
    if _close(d, 1e-2, rel=0.02):
        return False, "sqrt(eps) leaves out the denominator sqrt(s_1 + eps) with s_1 = (1 - rho) g^2."
    return False, ("at the first step the average of squared updates is 0 and s = (1 - rho) g^2: "
                   "compute sqrt(0 + eps) / sqrt(s + eps) * |g|.")


def _adadelta_limit_rate() -> float:
    """Adadelta's rate sqrt(u + eps) / sqrt(s + eps) when both averages have shrunk to ~0."""
    g = np.array([1e-12])
    step = rules.adadelta(np.zeros(1), g, {}, rho=0.9, eps=1e-6)
    return float(abs(step[0]) / g[0])


def _truth_max_curvature():
    return (2.0 / _adadelta_limit_rate(),), {}


@_exercise(
    "adadelta.max_curvature",
    "d2l.check('adadelta.max_curvature', L)",
    _truth_max_curvature,
    [
        "Gradient descent with rate r on L x^2 / 2 maps x to (1 - r L) x.",
        "That shrinks x while |1 - r L| < 1; put r = 1.",
    ],
)
def _max_curvature(L):
    v = _num("L", L)
    truth = _truth_max_curvature()[0][0]
    if _close(v, truth, rel=0.01):
        return True, ("a rate r converges on curvature L only while r L < 2; with r -> 1 that means "
                      "L < 2. Our x2 has L = 4, so it keeps oscillating.")
    if _close(v, 4.0, rel=0.01):
        return False, "4 is the curvature of x2, which does *not* settle. What is the largest that does?"
    if _close(v, 1.0, rel=0.01):
        return False, "below r L = 1 the path creeps in; between 1 and 2 it oscillates but still converges."
    return False, "with rate r the map is x -> (1 - r L) x. When does that shrink x, if r = 1?"


def _truth_torch_lr():
    return (2.0 / (4.0 * _adadelta_limit_rate()),), {}


@_exercise(
    "adadelta.torch_lr",
    "d2l.check('adadelta.torch_lr', lr)",
    _truth_torch_lr,
    [
        "Near the minimum the applied rate tends to lr * 1.",
        "It must stay below 2 / L with L = 4.",
    ],
)
def _torch_lr(lr):
    v = _num("lr", lr)
    truth = _truth_torch_lr()[0][0]
    if _close(v, truth, rel=0.02):
        ends = {}
        for trial in (truth - 0.05, truth + 0.05):
            end = _path(rules.adadelta, _D2L.grad, _D2L.start, 5000, lr=trial, rho=0.9, eps=1e-6)[-1]
            ends[trial] = abs(float(end[1]))
        lo, hi = sorted(ends)
        return True, (f"lr * 4 < 2 needs lr < {truth:g}. After 5000 steps |x2| = {ends[lo]:.1e} with "
                      f"lr = {lo:.2f}, but {ends[hi]:.1e} with lr = {hi:.2f}: it oscillates again.")
    if _close(v, 2.0, rel=0.02):
        return False, "2 is the largest curvature for rate 1; here the curvature is 4 and lr is the rate."
    return False, "the applied rate tends to lr; it must stay below 2 / L with L = 4."


def _adadelta_f20(rho: float) -> float:
    end = _path(rules.adadelta, _D2L.grad, _D2L.start, 20, rho=rho, eps=1e-6)[-1]
    return _D2L.value(end)


def _truth_further_rho():
    return (min((0.9, 0.95), key=_adadelta_f20),), {}


@_exercise(
    "adadelta.further_rho",
    "d2l.check('adadelta.further_rho', rho)",
    _truth_further_rho,
    [
        "Run the 2-D demo twice, with rho = 0.9 and rho = 0.95, and compare the end points.",
        "The first step is sqrt(eps / (1 - rho)): which rho makes it larger?",
    ],
)
def _further_rho(rho):
    r = _num("rho", rho)
    truth = _truth_further_rho()[0][0]
    if r not in (0.9, 0.95):
        return False, "answer 0.9 or 0.95."
    if r == truth:
        return True, (f"rho = {truth} gets further in 20 steps (f = {_adadelta_f20(truth):.3f} against "
                      f"{_adadelta_f20(0.9 if truth == 0.95 else 0.95):.3f}): its first step "
                      "sqrt(eps / (1 - rho)) is larger, 4.5e-3 against 3.2e-3.")
    return False, "compare the first steps sqrt(eps / (1 - rho)) of the two runs."


def _first_update(rule: Callable, g: float = 1.0, **hp) -> float:
    """The size of a weight's first update under ``rule`` when its gradient is ``g``."""
    return float(abs(rule(np.zeros(1), np.array([g]), {}, **hp)[0]))


#: The Iris experiment's forms (the Adadelta chapter, section 8): d2l's RMSProp, Zeiler's Adadelta.
_IRIS_RMSPROP = dict(lr=0.02, alpha=0.9, eps=1e-6, eps_inside=True)
_IRIS_ADADELTA = dict(rho=0.9, eps=1e-6)


def _truth_match_rmsprop():
    # torch's lr multiplies Adadelta's step: the ratio of the two first updates (any gradient)
    ratio = _first_update(rules.rmsprop, **_IRIS_RMSPROP) / _first_update(rules.adadelta, lr=1.0, **_IRIS_ADADELTA)
    return (ratio,), {}


@_exercise(
    "adadelta.match_rmsprop",
    "d2l.check('adadelta.match_rmsprop', lr)",
    _truth_match_rmsprop,
    [
        "Write both first updates for a gradient g: RMSProp's eta |g| / sqrt((1 - gamma) g^2 + eps), "
        "Adadelta's lr sqrt(eps) |g| / sqrt((1 - rho) g^2 + eps).",
        "With gamma = rho the denominators are the same: set eta = lr sqrt(eps).",
    ],
)
def _match_rmsprop(lr):
    v = _num("lr", lr)
    truth = _truth_match_rmsprop()[0][0]
    if _close(v, truth, rel=0.02):
        rms = _first_update(rules.rmsprop, 1.0, **_IRIS_RMSPROP)
        ada = _first_update(rules.adadelta, 1.0, lr=v, **_IRIS_ADADELTA)
        return True, (f"lr = eta / sqrt(eps) = 0.02 / 1e-3 = {truth:.0f}: with gamma = rho = 0.9 the two "
                      f"first updates agree for every gradient (for g = 1 both are {rms:.4f}; "
                      f"Adadelta with lr {v:g} gives {ada:.4f}). Compare it with the best lr of "
                      "Adadelta in the Iris sweeps.")
    if _close(v, 0.02 / math.sqrt(1e-6 / 0.1), rel=0.02):
        return False, ("RMSProp's first update is eta / sqrt(1 - gamma) = 0.063, not eta: its average of "
                       "squared gradients starts at (1 - gamma) g^2.")
    if _close(v, 0.02 / math.sqrt(0.1) / math.sqrt(1e-6), rel=0.02):
        return False, ("Adadelta's first update is sqrt(eps / (1 - rho)) = 0.0032, not sqrt(eps): its "
                       "average of squared gradients starts at (1 - rho) g^2 too.")
    if _close(v, 1.0 / truth, rel=0.02):
        return False, "the other way round: Adadelta's steps are the smaller ones, so lr must be larger than 1."
    return False, "divide RMSProp's first update (about 0.063) by Adadelta's (about 0.0032) at lr = 1."


_STEP = 0.01


def _truth_eps_for_step():
    # the eps whose first update (gradient well above sqrt(eps)) is _STEP: sqrt(eps / (1 - rho))
    return ((1 - _IRIS_ADADELTA["rho"]) * _STEP ** 2,), {}


@_exercise(
    "adadelta.eps_for_step",
    "d2l.check('adadelta.eps_for_step', eps)",
    _truth_eps_for_step,
    [
        "Adadelta's first update is sqrt(eps / (1 - rho)) for gradients well above sqrt(eps).",
        "Solve sqrt(eps / 0.1) = 0.01 for eps.",
    ],
)
def _eps_for_step(eps):
    v = _num("eps", eps)
    truth = _truth_eps_for_step()[0][0]
    if _close(v, truth, rel=0.05):
        step = _first_update(rules.adadelta, 1.0, lr=1.0, rho=0.9, eps=v)
        return True, (f"eps = (1 - rho) * 0.01^2 = {truth:.0e}; the first update of a weight with gradient 1 "
                      f"is then {step:.4f}, three times the default's (eps 1e-6: 0.0032). Find it in "
                      "the digits sweep.")
    if _close(v, _STEP ** 2, rel=0.05):
        return False, "0.01^2 leaves out the factor 1 - rho: the first step is sqrt(eps / (1 - rho))."
    if _close(v, 0.1 * _STEP, rel=0.05):
        return False, "square the step: sqrt(eps / 0.1) = 0.01 means eps / 0.1 = 0.01^2."
    if _close(v, 1e-6, rel=0.05):
        return False, "1e-6 is the default; its first steps are sqrt(1e-6 / 0.1) = 0.0032, not 0.01."
    return False, "solve sqrt(eps / (1 - rho)) = 0.01 with rho = 0.9."


# =============================================================================================
# adam


def _truth_first_factor():
    x0 = np.zeros(2)
    step = rules.adam(x0, _G0, {}, lr=1.0, beta1=0.9, beta2=0.99, eps=0.0, bias_correction=False)
    return (float(abs(step[0])),), {}


@_exercise(
    "adam.first_step_factor",
    "d2l.check('adam.first_step_factor', factor)",
    _truth_first_factor,
    [
        "m_1 = (1 - beta1) g and sqrt(v_1) = sqrt(1 - beta2) |g|.",
        "Divide them: (1 - beta1) / sqrt(1 - beta2).",
    ],
)
def _first_factor(factor):
    v = _num("factor", factor)
    truth = _truth_first_factor()[0][0]
    if abs(v - truth) < 0.01:
        return True, (f"(1 - beta1) / sqrt(1 - beta2) = 0.1 / 0.1 = {truth:.2f}. With beta2 = 0.99 the two "
                      "biases cancel at the first step; with the default 0.999 they do not (3.16).")
    if abs(v - 0.1 / math.sqrt(0.001)) < 0.01:
        return False, "3.16 is the factor for the default beta2 = 0.999. Here beta2 = 0.99."
    if abs(v - 0.1) < 0.01:
        return False, "0.1 is 1 - beta1; divide by sqrt(1 - beta2)."
    if abs(v - 0.1 / 0.01) < 0.05:
        return False, "take the square root of (1 - beta2)."
    return False, "m_1 = (1 - beta1) g and sqrt(v_1) = sqrt(1 - beta2) |g|; divide them."


def _grad_scaled(x):
    return 100 * _D2L.grad(x)


def _truth_scaled():
    end = _path(rules.adam, _grad_scaled, _D2L.start, 20, lr=0.4, eps=1e-6)[-1]
    return (tuple(end),), {}


@_exercise(
    "adam.scaled_run",
    "d2l.check('adam.scaled_run', x_end)",
    _truth_scaled,
    [
        "Run rule_path(adam_rule, grad=lambda x: 100 * grad_2d(x), eta=0.4) and pass its last point.",
        "Adam divides m_hat by sqrt(v_hat): what happens to that ratio when every gradient is 100 times "
        "larger?",
    ],
)
def _scaled(x_end):
    x = _vec("x_end", x_end)
    truth = np.array(_truth_scaled()[0][0])
    unscaled = _path(rules.adam, _D2L.grad, _D2L.start, 20, lr=0.4, eps=1e-6)[-1]
    gap, near = float(np.max(np.abs(x - truth))), float(np.max(np.abs(truth - unscaled)))
    if gap < 1e-6:
        return True, (f"({truth[0]:.6f}, {truth[1]:.6f}), within {near:.0e} of the unscaled run. m_hat "
                      "and sqrt(v_hat) both grow 100 times; only eps notices. Gradient descent with "
                      "eta = 0.4 would multiply x2 by 1 - 0.4 * 400 = -159 per step.")
    if float(np.max(np.abs(x - unscaled))) < 1e-6:
        return False, (f"that is the end of the *unscaled* run. A good prediction: the scaled run ends "
                       f"within {near:.0e} of it. Now run the scaled one and pass its end point.")
    return False, "that is not the end point of adam_rule on the scaled gradient. Check the call."


_BETA1_ZERO = dict(lr=0.1, beta1=0.0, beta2=0.9, eps=1e-6, bias_correction=False)


def _torch_path(optimizer, steps: int = 20, **settings) -> np.ndarray:
    import torch

    x = torch.tensor(_D2L.start, dtype=torch.float64, requires_grad=True)
    opt = optimizer([x], **settings)
    points = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        (0.1 * x[0] ** 2 + 2 * x[1] ** 2).backward()
        opt.step()
        points.append(x.detach().clone())
    return torch.stack(points).numpy()


def _truth_beta1_zero():
    import torch

    return (torch.optim.RMSprop,), dict(lr=0.1, alpha=0.9, eps=1e-6)


@_exercise(
    "adam.beta1_zero",
    "d2l.check('adam.beta1_zero', torch.optim.<Class>, lr=..., ...)",
    _truth_beta1_zero,
    [
        "With beta1 = 0, m_t is just g_t. Which optimizer of an earlier chapter divides g by "
        "sqrt(v) + eps, with v a leaky average?",
        "torch.optim.RMSprop calls the decay alpha, and its defaults are alpha = 0.99, eps = 1e-8.",
    ],
)
def _beta1_zero(optimizer, **settings):
    name = getattr(optimizer, "__name__", repr(optimizer))
    if not callable(optimizer):
        return False, "pass the optimizer class itself, for example torch.optim.SGD, then its settings."
    target = _path(rules.adam, _D2L.grad, _D2L.start, 20, **_BETA1_ZERO)
    try:
        theirs = _torch_path(optimizer, **settings)
    except Exception as exc:  # the learner's own class or settings: report, do not crash
        return False, f"could not run {name}({settings}): {exc}"
    gap = float(np.max(np.abs(theirs - target))) if np.all(np.isfinite(theirs)) else float("inf")
    if gap < 1e-9:
        return True, (f"{name}({', '.join(f'{k}={v!r}' for k, v in settings.items())}) follows the same "
                      f"path (difference {gap:.0e}). Adam = RMSProp + momentum + bias correction.")
    tips = []
    if name == "RMSprop":
        if settings.get("alpha", 0.99) != 0.9:
            tips.append("alpha must equal Adam's beta2 = 0.9 (torch's default is 0.99)")
        if settings.get("eps", 1e-8) != 1e-6:
            tips.append("eps must be 1e-6 (torch's default is 1e-8)")
        if settings.get("lr", 0.01) != 0.1:
            tips.append("lr must be 0.1")
        if settings.get("momentum", 0) or settings.get("centered", False):
            tips.append("no momentum and no centering: Adam with beta1 = 0 has neither")
    elif name in ("Adam", "AdamW"):
        tips.append("torch's Adam always applies bias correction; which optimizer has none?")
    elif name == "Adagrad":
        tips.append("Adagrad sums the squared gradients; Adam's v is a leaky average")
    else:
        tips.append("with beta1 = 0, m_t is g_t: which optimizer divides g by sqrt(v) + eps?")
    return False, f"not the same path (the points differ by up to {gap:.3g}): " + "; ".join(tips) + "."


_PAPER_LR, _PAPER_LAMBDA = 1e-3, 1e-4


def _truth_torch_wd():
    # decay per step of torch's AdamW with weight_decay = 1 (zero gradient: only the decay acts)
    x = np.ones(1)
    decay_per_unit = 1 - rules.adamw(x, np.zeros(1), {}, lr=_PAPER_LR, weight_decay=1.0)[0]
    return (_PAPER_LAMBDA / decay_per_unit,), {}


@_exercise(
    "adam.torch_weight_decay",
    "d2l.check('adam.torch_weight_decay', weight_decay)",
    _truth_torch_wd,
    [
        "Compare the decay per step: the paper shrinks x by eta_t lambda, PyTorch by lr * weight_decay.",
        "Set lr * weight_decay = 1e-4 with lr = 1e-3.",
    ],
)
def _torch_wd(weight_decay):
    v = _num("weight_decay", weight_decay)
    truth = _truth_torch_wd()[0][0]
    if _close(v, truth, rel=1e-3):
        return True, (f"{truth:g}. PyTorch shrinks by lr * weight_decay = 1e-3 * {truth:g} = 1e-4 per step, "
                      "like the paper. Change lr and you must change weight_decay with it.")
    if _close(v, _PAPER_LAMBDA, rel=1e-3):
        return False, "PyTorch multiplies weight_decay by lr, so 1e-4 would decay by only 1e-7 per step."
    if _close(v, _PAPER_LAMBDA * _PAPER_LR, rel=1e-3):
        return False, "divide by lr, do not multiply."
    return False, "compare the decay per step: paper eta_t * lambda, PyTorch lr * weight_decay."


# The digits runs of the Adam chapter's section 10: training-set sizes of d2l.get_data_digits
# (seed 0) with the default fractions and with fractions=(0.1, 0.2, 0.7), minibatches of 32.
_DIGITS_TRAIN, _SMALL_TRAIN, _DIGITS_BATCH = 1079, 180, 32


def _updates(n: int, epochs: int) -> int:
    """Updates of ``epochs`` passes over n examples in minibatches of _DIGITS_BATCH (the last may be short)."""
    return math.ceil(n / _DIGITS_BATCH) * epochs


def _idle_factor(steps: int, lr: float = 1e-2, weight_decay: float = 3.0) -> float:
    """What AdamW leaves of a weight of 1 whose gradient is always zero, after ``steps`` updates."""
    x, state = np.ones(1), {}
    for _ in range(steps):
        x = rules.adamw(x, np.zeros(1), state, lr=lr, weight_decay=weight_decay)
    return float(x[0])


def _truth_idle_weight():
    return (_idle_factor(_updates(_SMALL_TRAIN, 40)),), {}


@_exercise(
    "adam.idle_weight",
    "d2l.check('adam.idle_weight', factor)",
    _truth_idle_weight,
    [
        "With a zero gradient Adam's step is zero: only the decay acts, once per update.",
        "Each update multiplies the weight by 1 - lr * weight_decay = 0.97. How many updates are "
        "40 epochs of 180 images in minibatches of 32?",
    ],
)
def _idle_weight(factor):
    v = _num("factor", factor)
    truth = _truth_idle_weight()[0][0]
    steps = _updates(_SMALL_TRAIN, 40)
    if _close(v, truth, rel=0.03):
        return True, (f"0.97^{steps} = {truth:.1e}: {steps // 40} updates per epoch (the last with "
                      f"{_SMALL_TRAIN - _DIGITS_BATCH * (steps // 40 - 1)} images), {steps} in all, each "
                      "multiplying the weight by 1 - 0.01 * 3. Adam(weight_decay) instead moves it by "
                      "about lr per update towards zero, whatever lambda is.")
    if _close(v, _idle_factor(40), rel=0.03):
        return False, "the decay acts once per update, not once per epoch: how many updates are there?"
    if _close(v, _idle_factor(_SMALL_TRAIN * 40 // _DIGITS_BATCH), rel=0.03):
        return False, "the short last minibatch of each epoch (20 images) is an update too."
    if _close(v, _idle_factor(steps, weight_decay=1.0), rel=0.03):
        return False, "this run uses weight_decay = 3: the factor per update is 1 - 0.01 * 3."
    if abs(v) < 1e-12:
        return False, "not exactly zero: decoupled decay shrinks by a factor each update, it never reaches 0."
    return False, "multiply by 1 - lr * weight_decay once per update, for every update of the run."


def _truth_travel():
    # Adam's step is eta while the gradient is steady: a constant gradient for every update
    steps = _updates(_DIGITS_TRAIN, 10)
    x, state = np.zeros(1), {}
    for _ in range(steps):
        x = rules.adam(x, np.ones(1), state, lr=1e-3)
    return (float(abs(x[0])),), {}


@_exercise(
    "adam.travel",
    "d2l.check('adam.travel', distance)",
    _truth_travel,
    [
        "Adam moves a weight by about eta per update; count the updates.",
        "1079 images in minibatches of 32 make 34 updates per epoch.",
    ],
)
def _travel(distance):
    v = _num("distance", distance)
    truth = _truth_travel()[0][0]
    steps = _updates(_DIGITS_TRAIN, 10)
    if _close(v, truth, rel=0.03):
        return True, (f"{steps} updates of about 1e-3 each: {truth:.2f}. It is a rough limit: a step can "
                      "exceed eta (up to about 3.16 eta), and a weight whose gradient changes sign "
                      "travels less.")
    if _close(v, 10 * 1e-3, rel=0.03):
        return False, "Adam steps once per minibatch, not once per epoch."
    if _close(v, _DIGITS_TRAIN * 10 * 1e-3, rel=0.03):
        return False, "one step per minibatch of 32 images, not one per image."
    return False, "multiply eta by the number of updates: 10 epochs of 1079 images in minibatches of 32."
# =============================================================================================
# schedules
_WARM_LR, _WARM_START, _WARM_STEPS = 1e-3, 0.1, 10


def _truth_warmup_lrs():
    f = schedules.schedule("linear_warmup", warmup_steps=_WARM_STEPS, start_factor=_WARM_START)
    return (_WARM_LR * f(0), _WARM_LR * f(9)), {}


@_exercise(
    "schedules.warmup_lrs",
    "d2l.check('schedules.warmup_lrs', first=..., tenth=...)",
    _truth_warmup_lrs,
    [
        "Before the first optimizer.step() the scheduler has been called 0 times, so the first step "
        "uses lr * f(0). Which t does the 10th step use?",
        "f(t) = 0.1 + 0.9 t / 10 for t <= 10; the 10th step has t = 9.",
    ],
)
def _warmup_lrs(first, tenth):
    a, b = _num("first", first), _num("tenth", tenth)
    (ta, tb), _ = _truth_warmup_lrs()
    ok_a, ok_b = _close(a, ta, rel=2e-3), _close(b, tb, rel=2e-3)
    if ok_a and ok_b:
        return True, (f"{ta:.1e} and {tb:.2e}. The k-th optimizer step comes after k - 1 calls of "
                      "scheduler.step(), so it uses lr * f(k - 1): f(0) = start_factor = 0.1 and "
                      "f(9) = 0.1 + 0.9 * 9/10 = 0.91. The full lr 1e-3 arrives at the 11th step.")
    if _close(a, _WARM_START, rel=2e-3) or _close(b, tb / _WARM_LR, rel=2e-3):
        return False, "those are the factors f(t); multiply them by the base lr 1e-3."
    tips = []
    if not ok_a:
        if _close(a, _WARM_LR * (_WARM_START + (1 - _WARM_START) / _WARM_STEPS), rel=2e-3):
            tips.append("first: no scheduler.step() has run before the first optimizer step, so t = 0")
        else:
            tips.append("first: the warm-up starts at start_factor times the base lr")
    if not ok_b:
        if _close(b, _WARM_LR, rel=2e-3):
            tips.append("tenth: the 10th step comes after only 9 calls of scheduler.step(), so t = 9 "
                        "and the warm-up is not over yet")
        else:
            tips.append("tenth: use f(t) = 0.1 + 0.9 t / 10 with t = 9")
    return False, "; ".join(tips) + "."


_SEQ_LR, _SEQ_WARM, _SEQ_TMAX, _SEQ_T = 0.1, 10, 90, 55


def _seq_schedule():
    return schedules.sequential(
        [schedules.schedule("linear_warmup", warmup_steps=_SEQ_WARM, start_factor=0.1),
         schedules.schedule("cosine", T_max=_SEQ_TMAX)], [_SEQ_WARM])


def _truth_sequential():
    return (_SEQ_LR * _seq_schedule()(_SEQ_T),), {}


@_exercise(
    "schedules.sequential_restart",
    "d2l.check('schedules.sequential_restart', lr)",
    _truth_sequential,
    [
        "SequentialLR hands over to the cosine at the milestone, and the cosine counts its own steps "
        "from 0 there.",
        "After 55 calls the cosine has made 55 - 10 = 45 of its T_max = 90 steps: half way.",
    ],
)
def _sequential(lr):
    v = _num("lr", lr)
    (truth,), _ = _truth_sequential()
    if _close(v, truth, rel=2e-3):
        return True, (f"{truth:.3g}. The cosine starts its own count at the milestone 10, so after 55 "
                      "calls it has made 45 of its 90 steps: (1 + cos(pi/2)) / 2 = 0.5 of the base lr.")
    if _close(v, _SEQ_LR * schedules.cosine(_SEQ_T, T_max=_SEQ_TMAX), rel=2e-3):
        return False, ("you ran the cosine from t = 0 at the very start. In SequentialLR the cosine "
                       "takes over at the milestone and counts from 0 there.")
    if _close(v, truth / _SEQ_LR, rel=2e-3):
        return False, "that is the factor; multiply by the base lr 0.1."
    return False, ("work out how many steps the cosine itself has made after 55 calls, then use "
                   "(1 + cos(pi t / T_max)) / 2 times the base lr.")


_ADAM_G1 = 1e-7


def _truth_adam_first():
    step = rules.adam(np.zeros(1), np.array([_ADAM_G1]), {}, lr=1e-3)  # torch's defaults
    return (float(abs(step[0])),), {}


@_exercise(
    "schedules.adam_first_step",
    "d2l.check('schedules.adam_first_step', distance)",
    _truth_adam_first,
    [
        "After bias correction, m_hat_1 = g_1 and v_hat_1 = g_1^2.",
        "The step is lr * g / (|g| + eps) with g = 1e-7 and eps = 1e-8.",
    ],
)
def _adam_first(distance):
    v = abs(_num("distance", distance))
    (truth,), _ = _truth_adam_first()
    if _close(v, truth, rel=2e-3):
        return True, (f"{truth:.3e}: lr * g / (|g| + eps) = 1e-3 * 1e-7 / 1.1e-7. Bias correction makes "
                      "the first step about lr in every coordinate, however small its gradient; only "
                      "eps (here 10 % of |g|) shortens it a little.")
    if _close(v, 1e-3 * _ADAM_G1, rel=2e-3):
        return False, "lr * g is the step of SGD. Adam divides by sqrt(v_hat_1) = |g_1| first."
    if _close(v, 1e-3, rel=2e-3):
        return False, "almost: eps = 1e-8 is not negligible next to |g| = 1e-7. Add it to |g|."
    raw = float(abs(rules.adam(np.zeros(1), np.array([_ADAM_G1]), {}, lr=1e-3, bias_correction=False)[0]))
    if _close(v, raw, rel=2e-3):
        return False, "that is the step without bias correction; torch.optim.Adam corrects both moments."
    return False, "compute m_hat_1 / (sqrt(v_hat_1) + eps) times lr, with m_hat_1 = g and v_hat_1 = g^2."


_CYCLE_MAX, _CYCLE_STEPS = 0.1, 1000


def _truth_one_cycle():
    f = schedules.schedule("one_cycle", total_steps=_CYCLE_STEPS)
    return (_CYCLE_MAX * f(0), _CYCLE_MAX * f(_CYCLE_STEPS - 1)), {}


@_exercise(
    "schedules.one_cycle_ends",
    "d2l.check('schedules.one_cycle_ends', first=..., last=...)",
    _truth_one_cycle,
    [
        "OneCycleLR starts at max_lr / div_factor (div_factor = 25).",
        "It ends, at step total_steps, at the start value divided by final_div_factor = 1e4.",
    ],
)
def _one_cycle(first, last):
    a, b = _num("first", first), _num("last", last)
    (ta, tb), _ = _truth_one_cycle()
    ok_a, ok_b = _close(a, ta, rel=2e-3), _close(b, tb, rel=2e-3)
    if ok_a and ok_b:
        return True, (f"{ta:g} and {tb:.0e}: up from max_lr/25 to max_lr in the first 30 % of the "
                      "steps, then down to (max_lr/25)/1e4, far below where it started.")
    tips = []
    if not ok_a:
        tips.append("first: the cycle starts low, at max_lr / div_factor" if _close(a, _CYCLE_MAX, rel=2e-3)
                    else "first: max_lr / div_factor with div_factor = 25")
    if not ok_b:
        if _close(b, ta, rel=2e-3):
            tips.append("last: it does not return to the start; final_div_factor = 1e4 takes it much lower")
        elif b == 0:
            tips.append("last: it never reaches 0; it ends at the start value / final_div_factor")
        else:
            tips.append("last: the start value max_lr / 25 divided by final_div_factor = 1e4")
    return False, "; ".join(tips) + "."


# validation losses for the ReduceLROnPlateau exercise (threshold 1e-4, relative)
_PLATEAU_LOSSES = (1.00, 0.80, 0.70, 0.71, 0.69995, 0.72, 0.73, 0.74, 0.60)


def _first_drop(losses, **kwargs) -> Optional[int]:
    sched = schedules.ReduceLROnPlateau(1.0, **kwargs)
    for epoch, loss in enumerate(losses, start=1):
        if sched.step(loss) < 1.0:
            return epoch
    return None


def _truth_plateau():
    return (_first_drop(_PLATEAU_LOSSES, factor=0.5, patience=2),), {}


@_exercise(
    "schedules.plateau_epoch",
    "d2l.check('schedules.plateau_epoch', epoch)",
    _truth_plateau,
    [
        "Count the bad epochs after the best loss so far. A loss is only better if it beats the best by "
        "the relative threshold 1e-4.",
        "patience = 2 tolerates two bad epochs in a row; the lr drops when the count reaches three.",
    ],
)
def _plateau(epoch):
    v = _num("epoch", epoch)
    (truth,), _ = _truth_plateau()
    if v == truth:
        return True, (f"after epoch {truth}. The best loss 0.70 comes at epoch 3; 0.69995 is not better "
                      "by the threshold (it would need < 0.70 * (1 - 1e-4) = 0.69993), so epochs 4, 5 "
                      "and 6 are three bad epochs, one more than patience = 2.")
    if v == truth - 1:
        return False, ("patience = 2 means two bad epochs are tolerated; the lr drops when the count "
                       "exceeds it, at the third.")
    if v == _first_drop(_PLATEAU_LOSSES, factor=0.5, patience=2, threshold=0.0):
        return False, ("0.69995 does not count as an improvement: with threshold 1e-4 (relative) it "
                       "must be below 0.70 * (1 - 1e-4) = 0.69993.")
    return False, "list the epochs, mark which ones beat the best loss so far by the threshold, and count."


_CLIP_G = np.array([3.0, 4.0])


def _truth_clipping():
    (by_norm,), _ = rules.clip_grad_norm([_CLIP_G], 1.0)
    (by_value,) = rules.clip_grad_value([_CLIP_G], 1.0)
    return (tuple(by_norm), tuple(by_value)), {}


@_exercise(
    "schedules.clipping",
    "d2l.check('schedules.clipping', by_norm=(..., ...), by_value=(..., ...))",
    _truth_clipping,
    [
        "By norm: if ||g|| > c, rescale g to length c. By value: clamp each coordinate to [-c, c].",
        "||(3, 4)|| = 5.",
    ],
)
def _clipping(by_norm, by_value):
    n = _vec("by_norm", by_norm)
    v = _vec("by_value", by_value)
    (tn, tv), _ = _truth_clipping()
    ok_n, ok_v = np.allclose(n, tn, atol=1e-3), np.allclose(v, tv, atol=1e-6)
    if ok_n and ok_v:
        return True, ("by norm (0.6, 0.8): the length is capped at 1 and the direction kept; by value "
                      "(1, 1): each coordinate is cut to 1, and the direction turns from 53.1 to 45 "
                      "degrees.")
    if np.allclose(n, tv, atol=1e-3) and np.allclose(v, tn, atol=1e-3):
        return False, "swapped: clipping by norm keeps the direction, clipping by value does not."
    tips = []
    if not ok_n:
        if np.allclose(n, _CLIP_G / _CLIP_G.sum(), atol=1e-3):
            tips.append("by norm: divide by the length sqrt(3^2 + 4^2), not by the sum")
        elif np.allclose(n, _CLIP_G / _CLIP_G.max(), atol=1e-3):
            tips.append("by norm: divide by the length of g, not by its largest entry")
        else:
            tips.append("by norm: rescale g to length 1 (it keeps its direction)")
    if not ok_v:
        tips.append("by value: clamp each coordinate to [-1, 1] on its own")
    return False, "; ".join(tips) + "."


# =============================================================================================
# after_adam


def _nadam_mu(t: int) -> float:
    """NAdam's momentum weight mu_t, read off the course's rule: P_t / P_{t-1} (torch's defaults)."""
    state: dict = {}
    x, g = np.zeros(1), np.ones(1)
    prev = 1.0
    for _ in range(t):
        prev = float(state.get("mu_product", np.ones(1))[0])
        rules.nadam(x, g, state)
    return float(state["mu_product"][0]) / prev


def _truth_nadam_mu():
    return (_nadam_mu(1000),), {}


@_exercise(
    "after_adam.nadam_mu",
    "d2l.check('after_adam.nadam_mu', mu_1000)",
    _truth_nadam_mu,
    [
        "mu_t = beta1 (1 - 0.5 * 0.96 ** (t * momentum_decay)), with momentum_decay = 0.004.",
        "t * momentum_decay = 1000 * 0.004 = 4, and 0.96 ** 4 = 0.8493.",
    ],
)
def _nadam_mu_judge(mu_1000):
    v = _num("mu_1000", mu_1000)
    truth = _truth_nadam_mu()[0][0]
    if _close(v, truth, abs_=5e-4):
        return True, (f"mu_1000 = 0.9 (1 - 0.5 * 0.96^4) = {truth:.4f}: after a thousand steps NAdam's "
                      "look-ahead still uses little more than half of beta1. It reaches 95 % of beta1 only "
                      "after about 14 000 steps.")
    if _close(v, 0.9, abs_=5e-3):
        return False, ("0.9 is beta1, the value mu_t approaches only after many thousands of steps; with "
                       "momentum_decay = 0.004 the exponent of 0.96 is t * 0.004.")
    if _close(v, _nadam_mu(1), abs_=2e-3):
        return False, "that is mu_t at the start (t = 1). At t = 1000 the exponent is 1000 * 0.004 = 4."
    if _close(v, 0.9 * 0.5 * 0.96 ** 4, abs_=2e-3):
        return False, "that is beta1 * 0.5 * 0.96^4; mu_t is beta1 times (1 - 0.5 * 0.96^4)."
    return False, "mu_t = beta1 (1 - 0.5 * 0.96 ** (t * 0.004)); put t = 1000."


def _radam_first_adaptive(beta2: float, lr: float = 0.1) -> int:
    """The first step at which the course's RAdam (torch's threshold) takes a rectified step: with a
    constant gradient 1 a momentum step is exactly lr, a rectified one lr * r_t < lr."""
    x, state = np.zeros(1), {}
    for t in range(1, 200):
        new = rules.radam(x, np.ones(1), state, lr=lr, beta2=beta2, eps=0.0)
        if abs(abs(new[0] - x[0]) - lr) > 1e-12:
            return t
        x = new
    raise RuntimeError("RAdam never took an adaptive step")


def _truth_radam_first():
    return (_radam_first_adaptive(0.8),), {}


@_exercise(
    "after_adam.radam_first_adaptive",
    "d2l.check('after_adam.radam_first_adaptive', t)",
    _truth_radam_first,
    [
        "rho_inf = 2 / (1 - beta2) - 1 = 9 for beta2 = 0.8, and rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t).",
        "torch.optim.RAdam adapts once rho_t > 5: compute rho_5, rho_6, rho_7.",
    ],
)
def _radam_first_judge(t):
    v = _num("t", t)
    truth = _truth_radam_first()[0][0]
    if v == truth:
        return True, (f"step {truth}: rho_5 = 4.13, rho_6 = 4.74, rho_7 = 5.28, and PyTorch switches on "
                      "rho_t > 5. The paper's threshold rho_t > 4 would switch at step 5: with a short "
                      "memory the two thresholds are two steps apart.")
    if v == 5:
        return False, "5 is the paper's threshold (rho_t > 4); PyTorch switches on rho_t > 5."
    if v == _radam_first_adaptive(0.999):
        return False, ("6 is the answer for beta2 = 0.999, where rho_t is close to t early on. With "
                       "beta2 = 0.8, rho_inf is only 9 and rho_t grows more slowly.")
    return False, "compute rho_t = 9 - 2 t 0.8^t / (1 - 0.8^t) for t = 5, 6, 7, ... and find the first above 5."


_LLAMA_MLP = (4096, 11008)


def _adafactor_state_numbers(shape) -> int:
    """The numbers in the course's Adafactor state for a matrix of this shape (without the step)."""
    state: dict = {}
    rules.adafactor(np.zeros(shape), np.ones(shape), state)
    return int(sum(v.size for k, v in state.items() if k != "t"))


def _truth_adafactor_state():
    # the state of an (m, n) matrix is one mean per row and per column: counted on small matrices
    # (a 4096 x 11008 one would take gigabytes here), it is m + n for any shape
    assert _adafactor_state_numbers((4, 11)) == 15 and _adafactor_state_numbers((40, 110)) == 150
    return (_LLAMA_MLP[0] + _LLAMA_MLP[1],), {}


@_exercise(
    "after_adam.adafactor_state",
    "d2l.check('after_adam.adafactor_state', numbers)",
    _truth_adafactor_state,
    [
        "Adafactor keeps the row means R (one per row) and the column means C (one per column) of g^2.",
        "A 4096 x 11008 matrix has 4096 rows and 11008 columns.",
    ],
)
def _adafactor_state_judge(numbers):
    v = _num("numbers", numbers)
    m, n = _LLAMA_MLP
    if v == m + n:
        return True, (f"{m} + {n} = {m + n}: one mean per row and one per column, about 3000 times fewer "
                      f"than Adam's {m * n:,} for the second moment alone.")
    if v == m * n:
        return False, "that is Adam's second moment, one number per weight. Adafactor factors it."
    if v == 2 * m * n:
        return False, "that is Adam's whole state (two moments). Adafactor keeps row and column means only."
    if v in (m, n):
        return False, "that counts only the rows or only the columns; Adafactor keeps both."
    return False, "count one number per row and one per column of the matrix."


def _truth_muon_vector():
    step = rules.muon(np.zeros(2), np.array([3.0, -1.0]), {}, lr=0.05, weight_decay=0.0)
    return (float(np.linalg.norm(step)),), {}


@_exercise(
    "after_adam.muon_vector_step",
    "d2l.check('after_adam.muon_vector_step', length)",
    _truth_muon_vector,
    [
        "A vector is a 1 x 2 matrix: it has one singular value, which the normalisation makes 1.",
        "Five Newton-Schulz steps map that 1 to p(p(p(p(p(1))))) with p(s) = 3.4445 s - 4.7750 s^3 + 2.0315 s^5.",
    ],
)
def _muon_vector_judge(length):
    v = _num("length", length)
    truth = _truth_muon_vector()[0][0]
    a, b, c = rules.NS_COEFFICIENTS
    if _close(v, truth, rel=2e-3):
        return True, (f"{truth:.4f} = 0.6964 * 0.05, whatever the gradient: on a vector Muon is normalised "
                      "momentum descent. 1 is not a fixed point of torch's Newton-Schulz polynomial; five "
                      "steps map it to 0.6964.")
    if _close(v, 0.05, rel=2e-3):
        return False, ("the exact orthogonal factor would give 0.05, but Newton-Schulz with torch's "
                       "coefficients does not reach 1: it maps the singular value 1 to p^5(1).")
    if _close(v, 0.05 * (a + b + c), rel=2e-3):
        return False, "that is one Newton-Schulz step, p(1) = a + b + c. Muon takes five."
    if _close(v, 0.05 * math.sqrt(2), rel=2e-3) or _close(v, 0.05 * 0.2 * math.sqrt(2) * 0.6964, rel=2e-3):
        return False, "the ratio sqrt(max(1, m/n)) is 1 for a 1 x 2 matrix (the default adjust_lr_fn)."
    return False, "the step is lr times p^5(1); compute p five times starting from s = 1."


_SPECTRAL_G = np.array([[3.0, 0.0], [4.0, 5.0]])


def _truth_spectral():
    return (float(np.linalg.svd(_SPECTRAL_G, compute_uv=False).sum()),), {}


@_exercise(
    "after_adam.spectral_steepest",
    "d2l.check('after_adam.spectral_steepest', value)",
    _truth_spectral,
    [
        "The maximum is attained at D = U V^T, where G = U S V^T; then <G, D> = trace(S).",
        "The singular values of G are the square roots of the eigenvalues of G^T G = [[25, 20], [20, 25]].",
    ],
)
def _spectral_judge(value):
    v = _num("value", value)
    truth = _truth_spectral()[0][0]
    s = np.linalg.svd(_SPECTRAL_G, compute_uv=False)
    if _close(v, truth, abs_=2e-3):
        return True, (f"sqrt(45) + sqrt(5) = {truth:.3f}, the sum of the singular values (the nuclear norm), "
                      "at D = U V^T: Muon's direction is steepest descent under the spectral norm.")
    if _close(v, float(np.linalg.norm(_SPECTRAL_G)), abs_=2e-3):
        return False, ("that is ||G||_F, the best value over the Frobenius ball (D = G / ||G||_F). The "
                       "spectral ball is larger: it allows every singular value of D to be 1.")
    if _close(v, float(s[0]), abs_=2e-3):
        return False, "that is the largest singular value only; U V^T collects every singular value."
    if _close(v, float(np.abs(_SPECTRAL_G).sum()), abs_=2e-3):
        return False, ("12 is <G, sign(G)>, but sign(G) has spectral norm 1.62 > 1, so it is not allowed "
                       "here (that is the answer for the infinity norm).")
    return False, "write G = U S V^T and take D = U V^T: the value is the sum of the singular values."

"""Live explorers: move an optimizer's knobs and watch its path change.

Three entry points, each returning an object that displays itself in a notebook:

* :func:`explore` -- one update rule on a 2-D objective: a contour plot with the path, a
  loss-versus-step panel, a slider per hyperparameter (:class:`Explorer2D`).
* :func:`explore_1d` -- gradient descent or Newton's method on a 1-D function, optionally with
  the local quadratic model at each iterate (:class:`Explorer1D`).
* :func:`race` -- several optimizers on the same objective from the same start (:class:`Race`).

How it stays fast: the figure is built once with matplotlib's object API (``Figure`` +
``FigureCanvasAgg``, never pyplot, so the notebook backend does not matter). The contour grid is
cached per (objective, parameters, view) and the static picture (contours, axes, labels) is
rendered once into a background bitmap. A slider move recomputes the path (pure NumPy), restores
the background, draws only the path artists and encodes one PNG frame (zlib level 1) into an
``ipywidgets.Image``. Bursts of slider events are coalesced: the path is recomputed at once (so
``trajectory`` and ``readout`` are always current), the frame at most every ~30 ms with one
trailing frame scheduled on the running event loop. Under the ipympl backend (``%matplotlib
widget``) the figure's own canvas widget is used instead and a click on the contour plot moves
the start point.

How it stays safe: a run that produces a non-finite point, leaves the objective's view by a
factor of a million or makes the rule raise ``OverflowError``/``FloatingPointError``/
``ZeroDivisionError``/``LinAlgError`` stops there (``diverged_at`` = that step). The drawn path
is cut where it leaves the view and marked with a red cross; the axes limits never move. Any
other error inside a widget callback is shown as a traceback in an ``Output`` widget under the
figure instead of being lost.

Only widgets present in both ipywidgets 7.6+ and 8.x are used (Colab ships ipywidgets 7).

Modules, one per concern:

* :mod:`.frames`    the live figure: PNG frames, blitting, throttling, batching, display
* :mod:`.controls`  rule names, hyperparameters, presets and the widget factories
* :mod:`.contours`  the contour-grid cache and the loss panel's limits
* :mod:`.paths`     running a rule along an objective, divergence, cutting the drawn path;
                    ``_Run``, one optimizer's rule, controls and results
* :mod:`.plane`     the 2-D contour explorer base (Explorer2D and Race share it)
* :mod:`.two_d`     :class:`Explorer2D`
* :mod:`.race`      :class:`Race`
* :mod:`.one_d`     :class:`Explorer1D`
* :mod:`.registry`  the explorers alive in this process; re-running a notebook cell closes
                    the explorers its earlier run made
* :mod:`.inspector` the step inspector: ``controls['step']``, Play and its speed, the overlay
                    (gradient step, buffers, box of effective steps, update), the table and
                    ``ex.inspection``

Every explorer has a step inspector: the ``step`` control picks a point x_t of the path and
the picture shows the update that leaves it and what it is made of; ``ex.inspection`` returns
the same as a dict. Moving the step never recomputes the path.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence, Union

from .controls import PRESETS, View
from .one_d import METHODS_1D, Explorer1D
from .paths import SCHEDULES
from .race import Race
from .registry import live_explorers
from .two_d import Explorer2D

# Private helpers that the tests and bench/ reach through the package.
from .controls import _fmt  # noqa: F401,E402
from .paths import _inside, _run_rule  # noqa: F401,E402

__all__ = [
    "explore",
    "explore_1d",
    "race",
    "live_explorers",
    "Explorer2D",
    "Explorer1D",
    "Race",
    "PRESETS",
    "SCHEDULES",
    "METHODS_1D",
]


def explore(
    rule: Union[str, Callable] = "gd",
    objective: Any = "d2l",
    *,
    steps: int = 20,
    start: Optional[Sequence[float]] = None,
    view: Optional[View] = None,
    stochastic: bool = False,
    noise: float = 0.0,
    schedule: str = "constant",
    seed: int = 0,
    loss_panel: bool = True,
    **hp,
) -> Explorer2D:
    """A live explorer of one update rule on a 2-D objective.

    ``rule`` is a name in ``d2lmini.rules.RULES`` (the explorer then opens with the rule's
    preset and offers a rule dropdown) or your own ``rule(x, g, state, **hp)``; sliders come
    from ``hyperparameters_of(rule)`` and ``**hp`` sets their opening values. ``stochastic=True``
    adds a gradient-noise slider (sigma; the noise at step t is ``sigma * z[t-1]`` with
    ``z = np.random.default_rng(seed).standard_normal((201, 2))``, so the path is stable while
    other sliders move) and a learning-rate schedule dropdown.

    >>> ex = explore("momentum", lr=0.4, momentum=0.5)   # doctest: +SKIP
    >>> ex.controls["momentum"].value = 0.9              # doctest: +SKIP
    >>> ex.trajectory[-1], ex.diverged_at                # doctest: +SKIP
    """
    return Explorer2D(
        rule, objective, steps=steps, start=start, view=view, stochastic=stochastic, noise=noise,
        schedule=schedule, seed=seed, loss_panel=loss_panel, **hp,
    )


def explore_1d(
    method: Union[str, Callable] = "gd",
    objective: Any = "square",
    *,
    steps: int = 10,
    lr: Optional[float] = None,
    x0: Optional[float] = None,
    show_model: Optional[bool] = None,
) -> Explorer1D:
    """A live explorer of gradient descent or Newton's method on a 1-D function.

    ``method`` is ``"gd"`` (x <- x - lr f'(x)), ``"newton"`` (x <- x - lr f'(x)/f''(x)),
    ``"newton |f''|"`` (divide by |f''(x)|) or a rule ``rule(x, g, state, lr=..., [hess=...])``
    run on 1-element arrays. ``lr`` defaults to the method's classic value (0.2 for gd, 1 for
    Newton). ``show_model`` (default: on for Newton) draws the local quadratic model
    q_k(x) = f(x_k) + f'(x_k)(x - x_k) + f''(x_k)(x - x_k)^2 / 2 near each iterate.
    """
    return Explorer1D(method, objective, steps=steps, lr=lr, x0=x0, show_model=show_model)


def race(
    optimizers: Optional[Mapping[str, Any]] = None,
    objective: Any = "d2l",
    *,
    steps: int = 50,
    start: Optional[Sequence[float]] = None,
    loss_panel: bool = True,
) -> Race:
    """Several optimizers on one objective from the same start, each in its own colour.

    ``optimizers`` maps a label to a rule name, a rule function or ``(rule, {hp})``; the
    default races gd, momentum, adagrad, rmsprop and adam with their presets.
    """
    return Race(optimizers, objective, steps=steps, start=start, loss_panel=loss_panel)

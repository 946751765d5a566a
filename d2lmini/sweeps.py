"""Batched sweeps: train many configurations of one network at once, as one batched model.

A learning-rate sensitivity curve needs several learning rates, and an honest one several seeds
per learning rate: 7 x 5 = 35 training runs. Run one after another they take a minute; here they
run as *one* model whose parameters are stacked along a leading configuration axis::

    W: (C, fan_in, fan_out)     b: (C, 1, fan_out)

The forward pass is a batched matrix product (``torch.bmm``), each configuration with its own
minibatch (gathered by index from its own permutation), and one backward pass gives every
configuration its own gradient. The update is the NumPy rule of :mod:`d2lmini.rules`, called
once per parameter on zero-copy NumPy views of the stacked parameters and gradients, with the
learning rate (and any other swept hyperparameter) as an array of shape ``(C, 1, 1)`` that
broadcasts over each configuration. So the update math exists once, in ``rules.py``.

Each configuration is exactly what :func:`d2lmini.training.train_classifier` does for it alone
(same initial weights and minibatch order from its seed, same float64 arithmetic):
tests/test_sweeps.py checks the losses and weights of every configuration against one-at-a-time
runs, for every rule, to 1e-6.

Biases are stored as ``(C, 1, n)``: a rule that acts on the last two axes (one that factors or
orthogonalises a matrix) then treats each configuration's bias as a 1 x n matrix, as
:func:`~d2lmini.training.rule_trainer` does for the bias of a single run.

Usage::

    res = d2l.sweep("adam", lrs=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2], seeds=range(5),
                    data="digits", num_epochs=20)
    res                          # a table: final val loss / acc, mean and spread over seeds
    res.best_lr                  # the lr with the lowest mean final validation loss
    res.plot_curves()            # validation loss over epochs, mean and band per lr
    d2l.plot_lr_sensitivity([res, d2l.sweep("sgd", lrs=[...], momentum=0.9)])
    d2l.sweep({"W1": "muon", "weight": ("adamw", {"lr": 1e-2}), "bias": ("adamw", {"lr": 1e-2})},
              lrs=[3e-3, 1e-2, 3e-2])   # one rule per parameter: Muon's lr swept, AdamW's fixed

A diverging configuration (its loss is no longer finite) is data: it is recorded in
``res.diverged_at`` and drawn as a "diverged" marker at the top of the plots.
"""
from __future__ import annotations

import itertools
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .training import (
    METRICS,
    _part_hyperparams,
    _check_positive,
    _check_schedule,
    _net_class,
    activation_fn,
    classification_tensors,
    init_params,
    one_thread,
    schedule_factor,
    seed_streams,
)

__all__ = ["sweep", "SweepResult", "plot_lr_sensitivity", "plot_curves", "default_lrs"]

_MODEL_SPECS = {
    # name: (hidden widths, activation, init); the widths of the ends come from the data
    "softmax": ((), "relu", "normal"),
    "mlp": ((32,), "relu", "torch"),
}


def default_lrs(rule: Callable) -> List[float]:
    """Seven learning rates around the rule's default lr: ``lr0 * 10**[-2, -1.5, ..., 1]``."""
    from .rules import hyperparameters_of

    lr0 = hyperparameters_of(rule).get("lr", (0.1, None))[0]
    return [float(lr0 * 10.0 ** e) for e in np.arange(-2.0, 1.01, 0.5)]


def _param_names(model) -> List[str]:
    """The parameter names ``['W1', 'b1', 'W2', ...]`` of a sweep's model (for a per-parameter
    rule); a bad model gets _model_spec's error."""
    Net = _net_class()
    if isinstance(model, str) and model in _MODEL_SPECS:
        layers = len(_MODEL_SPECS[model][0]) + 1
    elif isinstance(model, Net):
        layers = len(model.sizes) - 1
    else:
        _model_spec(model, 0, 0)  # raises the error for a bad model
        raise TypeError(f"model must be 'softmax', 'mlp' or a Net from d2l.mlp(...), got {model!r}")
    return [f"{kind}{i}" for i in range(1, layers + 1) for kind in ("W", "b")]


def _model_spec(model, num_features: int, num_classes: int) -> Tuple[Tuple[int, ...], str, str]:
    import torch

    Net = _net_class()
    if isinstance(model, str):
        if model not in _MODEL_SPECS:
            raise ValueError(f"unknown model {model!r}; use 'softmax', 'mlp' or d2l.mlp(...)")
        hidden, act, init = _MODEL_SPECS[model]
        return (num_features, *hidden, num_classes), act, init
    if isinstance(model, Net):
        if model.sizes[0] != num_features or model.sizes[-1] != num_classes:
            raise ValueError(f"the model maps {model.sizes[0]} inputs to {model.sizes[-1]} outputs, "
                             f"but the data have {num_features} features and {num_classes} classes")
        return model.sizes, model.activation, model.init
    if isinstance(model, torch.nn.Module):
        raise TypeError("a sweep batches the course's networks only: build the model with "
                        "d2l.mlp(...) or d2l.softmax_regression(...), or train your own module "
                        "with d2l.train_classifier")
    raise TypeError(f"model must be 'softmax', 'mlp' or a Net from d2l.mlp(...), got {model!r}")


def _values(name: str, value) -> Optional[List[Any]]:
    """The swept values of a hyperparameter given as a list/tuple/range/1-D array, else None."""
    if isinstance(value, (list, tuple, range)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        values = list(value)
        if not values:
            raise ValueError(f"{name} has no values to sweep over")
        if any(isinstance(v, (bool, np.bool_)) for v in values):
            raise TypeError(f"{name}: a switch (True/False) cannot be swept in one batched model; "
                            "run one sweep per value")
        return [float(v) for v in values]
    if isinstance(value, np.ndarray) and value.ndim > 1:
        raise ValueError(f"{name} must be a number or a 1-D list of numbers, got shape {value.shape}")
    return None


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _num(v: float) -> str:
    """4 decimals for ordinary losses, 3 significant digits for a blown-up one."""
    return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.3g}"


class SweepResult:
    """What :func:`sweep` returns: the history of every configuration, and summaries.

    Configurations are the product of the swept hyperparameters (``lr`` first) and the seeds,
    seeds innermost: configuration ``c`` belongs to setting ``c // S`` and seed ``seeds[c % S]``.

    Attributes
    ----------
    rule : str                 the rule's name; ``label`` is what legends show
    fixed : dict               the hyperparameters shared by all configurations
    swept : list of str        the swept hyperparameter names (``'lr'`` first)
    settings : list of dict    the G settings (swept values without the seed)
    seeds : list of int        the S seeds
    configs : list of dict     the C = G * S configurations (setting plus ``seed``)
    epochs : ndarray           ``[0, 1, ..., num_epochs]``
    history : dict             ``{'train_loss', 'train_acc', 'val_loss', 'val_acc'}`` -> (C, E + 1)
    diverged_at : list         per configuration: the epoch it diverged in, or None
    params : list of ndarray   the final weights, ``W`` as (C, fan_in, fan_out), ``b`` as (C, n)
    states : list of dict      the rule's final state per parameter (its buffers, stacked like the
                               parameters: ``(C, fan_in, fan_out)``, biases ``(C, 1, n)``), e.g.
                               schedule-free's average ``states[i]['x']``; an elementwise rule
                               has one dict for all parameters laid end to end (``(C, 1, P)``)
    seconds : float            the training time

    Summaries over seeds, per setting (arrays of length G, or (G, E + 1) with ``epoch=None``):
    :meth:`mean`, :meth:`std`, :meth:`quantile`, :meth:`band`, :meth:`n_diverged`; the best
    setting: :meth:`best`, :attr:`best_lr`; one configuration: :meth:`history_of`,
    :meth:`net`; plots: :meth:`plot_curves`, :meth:`plot_sensitivity`.
    """

    def __init__(self, *, rule, label, fixed, swept, settings, seeds, history, diverged_at,
                 params, sizes, activation, init, seconds, batch_size, states=None):
        self.rule = rule
        self.label = label
        self.fixed = fixed
        self.swept = swept
        self.settings = settings
        self.seeds = seeds
        self.configs = [dict(s, seed=seed) for s in settings for seed in seeds]
        self.history = history
        self.epochs = np.arange(history["val_loss"].shape[1])
        self.diverged_at = diverged_at
        self.params = params
        self.states = states if states is not None else []
        self.sizes, self.activation, self.init = sizes, activation, init
        self.seconds = seconds
        self.batch_size = batch_size

    # --- per configuration ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.configs)

    @property
    def lrs(self) -> np.ndarray:
        """The learning rate of each setting (length G)."""
        return np.array([s["lr"] for s in self.settings])

    def _metric(self, metric: str) -> np.ndarray:
        if metric not in self.history:
            raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
        return self.history[metric]

    def curves(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` per configuration and epoch, shape (C, E + 1) (nan after divergence)."""
        return self._metric(metric)

    def final(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` after the last epoch, per configuration (C,)."""
        return self._metric(metric)[:, -1]

    def history_of(self, c: int) -> Dict[str, Any]:
        """The history of configuration ``c`` in the form :func:`train_classifier` returns."""
        out: Dict[str, Any] = {"epoch": self.epochs.tolist()}
        for m in METRICS:
            out[m] = self.history[m][c].tolist()
        out["diverged_at"] = self.diverged_at[c]
        return out

    def net(self, c: int):
        """A :class:`~d2lmini.training.Net` holding configuration ``c``'s final weights."""
        import torch

        net = _net_class()(self.sizes, activation=self.activation, init=self.init)
        with torch.no_grad():
            for p, stacked in zip(net.parameters(), self.params):
                p.copy_(torch.from_numpy(stacked[c]))
        return net

    # --- over seeds, per setting ------------------------------------------------------------

    def by_setting(self, metric: str = "val_loss", epoch: Optional[int] = -1) -> np.ndarray:
        """``metric`` as (G, S) at ``epoch`` (default: the last), or (G, S, E + 1) for None."""
        values = self._metric(metric)
        G, S = len(self.settings), len(self.seeds)
        values = values.reshape(G, S, -1)
        return values if epoch is None else values[:, :, epoch]

    def mean(self, metric: str = "val_loss", epoch: Optional[int] = -1) -> np.ndarray:
        """Mean over seeds per setting; nan where a seed diverged (see :meth:`n_diverged`)."""
        with np.errstate(all="ignore"):  # blown-up (huge but finite) losses: inf, no warning
            return self.by_setting(metric, epoch).mean(axis=1)

    def std(self, metric: str = "val_loss", epoch: Optional[int] = -1) -> np.ndarray:
        """Standard deviation over seeds per setting (ddof 1 when there are several seeds)."""
        v = self.by_setting(metric, epoch)
        if v.shape[1] < 2:
            return np.zeros(v.shape[:1] + v.shape[2:])
        with np.errstate(all="ignore"):  # scaled, so that a blown-up (1e300) loss has a finite spread
            scale = np.max(np.abs(v), axis=1, keepdims=True)
            scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
            return (v / scale).std(axis=1, ddof=1) * scale[:, 0]

    def quantile(self, q: float, metric: str = "val_loss", epoch: Optional[int] = -1) -> np.ndarray:
        """The ``q`` quantile over seeds per setting (nan where a seed diverged)."""
        with np.errstate(all="ignore"):
            return np.quantile(self.by_setting(metric, epoch), q, axis=1)

    def band(self, metric: str = "val_loss", epoch: Optional[int] = -1,
             kind: Union[str, Tuple[float, float]] = "minmax") -> Tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` over seeds per setting: ``'minmax'`` (the range), ``'std'`` (mean +-
        one standard deviation) or a pair of quantiles such as ``(0.25, 0.75)``."""
        v = self.by_setting(metric, epoch)
        if kind == "minmax":
            return v.min(axis=1), v.max(axis=1)
        if kind == "std":
            m, s = self.mean(metric, epoch), self.std(metric, epoch)
            with np.errstate(all="ignore"):
                return m - s, m + s
        try:
            lo, hi = (float(q) for q in kind)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ValueError(f"band kind must be 'minmax', 'std' or a pair of quantiles, got {kind!r}") from None
        with np.errstate(all="ignore"):
            return np.quantile(v, lo, axis=1), np.quantile(v, hi, axis=1)

    def n_diverged(self) -> np.ndarray:
        """How many seeds of each setting diverged (G,)."""
        d = np.array([a is not None for a in self.diverged_at]).reshape(len(self.settings), -1)
        return d.sum(axis=1)

    def best(self, metric: str = "val_loss") -> Dict[str, Any]:
        """The setting with the best mean final ``metric`` (lowest loss, highest accuracy) among
        those where no seed diverged: its hyperparameters plus ``mean``, ``std`` and ``index``.
        Raises ValueError if every setting diverged."""
        m = self.mean(metric)
        ok = np.isfinite(m) & (self.n_diverged() == 0)
        if not ok.any():
            raise ValueError("every setting of this sweep diverged: try smaller learning rates")
        score = np.where(ok, m if "loss" in metric else -m, np.inf)
        g = int(np.argmin(score))
        return dict(self.settings[g], mean=float(m[g]), std=float(self.std(metric)[g]), index=g)

    @property
    def best_lr(self) -> float:
        """The learning rate of :meth:`best` (by final validation loss)."""
        return float(self.best()["lr"])

    def summary(self) -> str:
        """A table: per setting, final val loss and val accuracy (mean +- std over seeds)."""
        S = len(self.seeds)
        head = [f"{self.label}: {len(self.configs)} runs = {len(self.settings)} settings x {S} "
                f"seed{'s' if S > 1 else ''}, {self.epochs[-1]} epochs, batch {self.batch_size}, "
                f"{self.seconds:.1f} s"]
        names = self.swept
        cols = [f"{n:>9}" for n in names] + ["  val loss (mean +- std)", "  val acc (mean +- std)", "  diverged"]
        head.append("".join(cols))
        vm, vs = self.mean("val_loss"), self.std("val_loss")
        am, ast = self.mean("val_acc"), self.std("val_acc")
        nd = self.n_diverged()
        best = None
        try:
            best = self.best()["index"]
        except ValueError:
            pass
        for g, s in enumerate(self.settings):
            row = "".join(f"{s[n]:>9.3g}" for n in names)
            if nd[g] == S:
                row += f"{'diverged':>24}{'':>23}"
            elif nd[g]:
                row += f"{'(some seeds diverged)':>24}{'':>23}"
            else:
                row += f"{_num(vm[g]):>15} +- {_num(vs[g]):<6}{am[g]:>14.4f} +- {ast[g]:.4f}"
            row += f"{nd[g]:>6}/{S}" + ("   <- best" if g == best else "")
            head.append(row)
        return "\n".join(head)

    def __repr__(self) -> str:
        return self.summary()

    # --- plots ------------------------------------------------------------------------------

    def plot_curves(self, metric: str = "val_loss", band="minmax", ax=None, settings=None):
        """``metric`` over epochs: mean over seeds and a band per setting. See :func:`plot_curves`."""
        plot_curves(self, metric=metric, band=band, ax=ax, settings=settings)

    def plot_sensitivity(self, metric: str = "val_loss", band="minmax", ax=None):
        """Final ``metric`` against lr (log axis). See :func:`plot_lr_sensitivity`."""
        plot_lr_sensitivity(self, metric=metric, band=band, ax=ax)


# ---------------------------------------------------------------------------------------------
# the batched model


#: Rules whose every operation is elementwise (no sums, norms or matrix products over a
#: parameter): for them one call on all parameters laid end to end gives, bit for bit, what one
#: call per parameter gives, and it is several times cheaper. Any other rule is called once per
#: parameter, on its (C, fan_in, fan_out) or (C, 1, n) view. Add a new elementwise rule here.
ELEMENTWISE = ("gd", "sgd", "momentum", "nesterov", "momentum_sutskever", "momentum_ema",
               "adagrad", "rmsprop", "adadelta", "adam", "adamw")


def _is_elementwise(fn: Callable) -> bool:
    from . import rules

    return any(getattr(rules, name, None) is fn for name in ELEMENTWISE)


def _flat_layout(sizes) -> List[Tuple[int, Tuple[int, int]]]:
    """(offset, (rows, cols)) of W1, b1, W2, b2, ... in one flat row; a bias is 1 x n."""
    layout, offset = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        for shape in ((fan_in, fan_out), (1, fan_out)):
            layout.append((offset, shape))
            offset += shape[0] * shape[1]
    return layout


def _views(flat: np.ndarray, layout) -> List[np.ndarray]:
    """Zero-copy views (C, rows, cols) of the parameters in ``flat`` (C, 1, P)."""
    C = flat.shape[0]
    out = []
    for offset, (r, c) in layout:
        v = flat[:, 0, offset:offset + r * c].reshape(C, r, c)
        assert np.shares_memory(v, flat)
        out.append(v)
    return out


def _stack_init(sizes, init, seeds_per_config: Sequence[int]) -> Tuple[np.ndarray, list]:
    """The initial parameters of every configuration in one float64 array (C, 1, P), and the
    layout: configuration c's W1, b1, ... laid end to end in row c."""
    layout = _flat_layout(sizes)
    P = sum(r * c for _, (r, c) in layout)
    flat = np.empty((len(seeds_per_config), 1, P))
    cache: Dict[int, np.ndarray] = {}
    for c, s in enumerate(seeds_per_config):
        if s not in cache:
            cache[s] = np.concatenate([p.ravel() for p in init_params(sizes, init, s)])
        flat[c, 0] = cache[s]
    return flat, layout


def _forward(params, X, act):
    """Logits (C, n, k) of the stacked network; X is (C, n, d) or (n, d) shared by all."""
    import torch

    H = X
    L = len(params) // 2
    for i in range(L):
        W, b = params[2 * i], params[2 * i + 1]
        if H.ndim == 3:
            H = torch.bmm(H, W) + b
        else:  # one X for every configuration (evaluation): one (n, d) @ (d, C * h) product
            C, d, h = W.shape
            H = (H @ W.permute(1, 0, 2).reshape(d, C * h)).view(-1, C, h).permute(1, 0, 2) + b
        if i < L - 1:
            H = act(H)
    return H


def _per_config_ce(logits, y):
    """Mean cross-entropy per configuration: logits (C, n, k), y (C, n) or (n,) -> (C,)."""
    import torch.nn.functional as F

    C, n, k = logits.shape
    if y.ndim == 1:
        y = y.expand(C, n)
    return F.cross_entropy(logits.reshape(C * n, k), y.reshape(C * n), reduction="none").view(C, n).mean(dim=1)


def _evaluate_stacked(params, X, y, act) -> Tuple[np.ndarray, np.ndarray]:
    import torch

    with torch.no_grad():
        logits = _forward(params, X, act)
        loss = _per_config_ce(logits, y)
        acc = (logits.argmax(dim=2) == y).to(torch.float64).mean(dim=1)
    return loss.numpy().copy(), acc.numpy().copy()


def sweep(rule: Union[str, Callable] = "adam", lrs: Optional[Sequence[float]] = None,
          seeds: Sequence[int] = range(3), data="digits", model="mlp", num_epochs: int = 10,
          batch_size: Optional[int] = None, *, lr_schedule: Optional[Callable] = None,
          verbose: bool = True, **hyperparams) -> SweepResult:
    """Train every configuration (learning rates x other swept values x seeds) at once.

    Parameters
    ----------
    rule:
        A rule of :mod:`d2lmini.rules` or its name: ``'gd'``, ``'sgd'``, ``'momentum'``,
        ``'nesterov'``, ``'adagrad'``, ``'rmsprop'``, ``'adadelta'``, ``'adam'``, ``'adamw'``, ...
        (``torch.optim`` classes run one at a time, in :func:`train_classifier`). Or one rule
        per parameter, a dict keyed by parameter name (``'W1'``, ``'b1'``, ...) or group
        (``'weight'``, ``'bias'``), see :func:`~d2lmini.training.per_parameter_rules`::

            sweep({'W1': 'muon', 'weight': ('adamw', {'lr': 3e-3}), 'bias': ('adamw', {'lr': 3e-3})},
                  lrs=[0.01, 0.03, 0.1])

        sweeps Muon's lr on the hidden layer while AdamW trains the output layer and the biases
        at a fixed lr 3e-3; each rule gets the swept and shared hyperparameters it takes.
    lrs:
        The learning rates (default: seven around the rule's default, :func:`default_lrs`).
    seeds:
        The seeds (default ``range(3)``); each fixes a configuration's initial weights and
        minibatch order, the same for every learning rate (a paired comparison).
    data, model, num_epochs, batch_size:
        As in :func:`~d2lmini.training.train_classifier`: ``data`` is ``'digits'``, ``'iris'``,
        a :class:`~d2lmini.data.ClassificationData`, loaders or tensors; ``model`` is
        ``'mlp'`` (64-32-10 ReLU on the digits), ``'softmax'`` or a Net from ``d2l.mlp(...)``.
        ``batch_size`` defaults to the training loader's, else 32.
    lr_schedule:
        A function ``t -> multiplier`` of the update count t = 0, 1, ... (any callable; see
        ``d2lmini.schedules``); update t uses ``lr * lr_schedule(t)``.
    verbose:
        Print the table of :meth:`SweepResult.summary` at the end.
    **hyperparams:
        The rule's other hyperparameters. A number (or True/False) is shared by every
        configuration; a list of numbers is swept too: ``sweep('sgd', lrs=[...],
        momentum=[0.0, 0.9])`` trains every lr with and without momentum.

    Returns a :class:`SweepResult`. Runs in float64 on one thread; the configurations are
    independent, so the result for each is that of ``train_classifier(rule, {'lr': lr, ...},
    data, model, num_epochs, batch_size, seed=seed)`` alone.
    """
    with one_thread():
        return _sweep(rule, lrs, seeds, data, model, num_epochs, batch_size, lr_schedule, verbose,
                      hyperparams)


def _sweep(rule, lrs, seeds, data, model, num_epochs, batch_size, lr_schedule, verbose, hyperparams):
    import torch

    from .rules import hyperparameters_of
    from .training import _optimizer_kind, _part_names, per_parameter_rules, resolve_rule

    if _optimizer_kind(rule) != "rule":
        raise TypeError(f"a sweep runs the NumPy rules of d2lmini.rules, rule(x, g, state, **hp) "
                        f"(e.g. 'adam'); for {getattr(rule, '__name__', rule)!r} use "
                        "d2l.train_classifier, one run at a time")
    if "lr" in hyperparams:
        raise TypeError("give the learning rates as lrs=[...], not lr=")
    parts = None
    if isinstance(rule, Mapping):  # one rule per parameter (training.per_parameter_rules)
        pnames = _param_names(model)
        parts = per_parameter_rules(rule, pnames, [2 if n.startswith("W") else 1 for n in pnames],
                                    hyperparams)
        fn = parts[0][0]
        name = "+".join(_part_names(parts))
    else:
        fn = resolve_rule(rule)
        name = getattr(fn, "__name__", "rule")
        known = hyperparameters_of(fn)
        unknown = sorted(set(hyperparams) - set(known))
        if unknown:
            raise TypeError(f"{name} has no hyperparameter(s) {unknown}; it takes {sorted(known)}")
    num_epochs = _check_positive("num_epochs", num_epochs)
    lr_schedule = _check_schedule(lr_schedule)

    if lrs is None:
        lrs = default_lrs(fn)
    lr_values = _values("lrs", lrs) if not isinstance(lrs, (int, float, np.floating)) else [float(lrs)]
    if lr_values is None:
        raise TypeError(f"lrs must be a list of learning rates, got {lrs!r}")
    from .rules import check_lr

    check_lr(np.array(lr_values), "lrs")
    try:
        seed_list = [int(s) for s in seeds]
        bad = [s for s, t in zip(seed_list, seeds) if s != t or isinstance(t, bool) or s < 0]
    except (TypeError, ValueError):
        raise TypeError(f"seeds must be a list of ints >= 0 such as range(5), got {seeds!r}") from None
    if not seed_list or bad:
        raise ValueError(f"seeds must be a non-empty list of ints >= 0 such as range(5), got {seeds!r}")

    swept: Dict[str, List[float]] = {"lr": lr_values}
    fixed: Dict[str, Any] = {}
    for key, value in hyperparams.items():
        values = _values(key, value)
        if values is None:
            fixed[key] = value
        else:
            swept[key] = values
    names = list(swept)
    settings = [dict(zip(names, combo)) for combo in itertools.product(*swept.values())]
    # Check every value once, as the rule will (clear errors before any training).
    probe = {k: np.array([s[k] for s in settings])[:, None, None] for k in names}
    checks = [(fn, dict(fixed, **probe))] if parts is None else [
        (f, _part_hyperparams(known_f, dict(fixed, **probe), own)) for f, known_f, own in
        {id(part): part for part in parts}.values()]
    with np.errstate(all="ignore"):
        for f, hp_f in checks:
            f(np.zeros((len(settings), 1, 1)), np.zeros((len(settings), 1, 1)), {}, **hp_f)
    G, S = len(settings), len(seed_list)
    C = G * S

    dtype = torch.float64
    Xtr, ytr, Xva, yva, num_classes, loader_bs = classification_tensors(data, dtype)
    batch_size = _check_positive("batch_size", batch_size if batch_size is not None else (loader_bs or 32))
    sizes, activation, init = _model_spec(model, Xtr.shape[1], num_classes)
    act = activation_fn(activation)

    config_seeds = [seed for _ in settings for seed in seed_list]
    flat_x, layout = _stack_init(sizes, init, config_seeds)
    flat_g = np.zeros_like(flat_x)
    x_views, g_views = _views(flat_x, layout), _views(flat_g, layout)
    # the torch leaves share memory with x_views: the rule's result written there is the update
    params = [torch.from_numpy(v).requires_grad_(True) for v in x_views]
    elementwise = parts is None and _is_elementwise(fn)
    states: List[dict] = [{}] if elementwise else [{} for _ in params]
    hp_arrays = {k: np.array([s[k] for s in settings for _ in seed_list]).reshape(C, 1, 1) for k in names}
    shared = dict(fixed, **hp_arrays)  # a per-parameter rule's parts pick what they take
    order_rngs = {s: seed_streams(s)[1] for s in seed_list}
    seed_row = {s: i for i, s in enumerate(seed_list)}
    rows = torch.tensor([seed_row[s] for s in config_seeds])

    E = num_epochs
    hist = {m: np.full((C, E + 1), np.nan) for m in METRICS}
    diverged = np.zeros(C, dtype=bool)
    diverged_at: List[Optional[int]] = [None] * C

    def record(epoch: int) -> None:
        tl, ta = _evaluate_stacked(params, Xtr, ytr, act)
        vl, va = _evaluate_stacked(params, Xva, yva, act)
        for key, v in zip(METRICS, (tl, ta, vl, va)):
            hist[key][:, epoch] = v
        bad = ~(np.isfinite(tl) & np.isfinite(vl))
        mark(bad, epoch)

    def mark(bad: np.ndarray, epoch: int) -> None:
        for c in np.flatnonzero(bad & ~diverged):
            diverged[c] = True
            diverged_at[c] = epoch

    n = Xtr.shape[0]
    t = 0
    t0 = time.perf_counter()
    record(0)
    for epoch in range(1, E + 1):
        perms = torch.from_numpy(np.stack([order_rngs[s].permutation(n) for s in seed_list]))[rows]
        step_bad = torch.zeros(C, dtype=torch.bool)
        for start in range(0, n, batch_size):
            idx = perms[:, start:start + batch_size]  # (C, b): each configuration its own batch
            losses = _per_config_ce(_forward(params, Xtr[idx], act), ytr[idx])
            step_bad |= ~torch.isfinite(losses.detach())
            for p in params:
                p.grad = None
            losses.sum().backward()  # configurations are independent: each gets its own gradient
            hp = hp_arrays
            m = None if lr_schedule is None else schedule_factor(lr_schedule, t)
            if m is not None:
                hp = dict(hp_arrays, lr=hp_arrays["lr"] * m)
            with np.errstate(all="ignore"):  # diverging configurations give inf/nan, not warnings
                if elementwise:  # one call on all parameters: bitwise the same as one per parameter
                    for g, p in zip(g_views, params):
                        g[...] = p.grad.numpy()
                    flat_x[...] = fn(flat_x, flat_g, states[0], **fixed, **hp)
                elif parts is None:
                    for x, p, state in zip(x_views, params, states):
                        x[...] = fn(x, p.grad.numpy(), state, **fixed, **hp)
                else:  # each parameter its own rule, with the hyperparameters that rule takes
                    for x, p, state, (f, known_f, own) in zip(x_views, params, states, parts):
                        x[...] = f(x, p.grad.numpy(), state,
                                   **_part_hyperparams(known_f, shared, own, m))
            t += 1
        mark(step_bad.numpy(), epoch)
        record(epoch)
    seconds = time.perf_counter() - t0
    for c, k in enumerate(diverged_at):
        if k is not None:
            for key in METRICS:
                hist[key][c, k:] = np.nan

    final = [x.copy() if i % 2 == 0 else x[:, 0, :].copy() for i, x in enumerate(x_views)]
    label = name + "".join(f", {k}={_fmt(v)}" for k, v in fixed.items())
    result = SweepResult(rule=name, label=label, fixed=fixed, swept=names, settings=settings,
                         seeds=seed_list, history=hist, diverged_at=diverged_at, params=final, states=states,
                         sizes=sizes, activation=activation, init=init, seconds=seconds,
                         batch_size=batch_size)
    if verbose:
        print(result.summary())
    return result


# ---------------------------------------------------------------------------------------------
# plots


def _loss_cap(results: Sequence[SweepResult], metric: str) -> Optional[float]:
    """The top of a loss axis: 1.5 x the untrained model's loss (median over all runs)."""
    if "acc" in metric:
        return None
    start = np.concatenate([r.curves(metric)[:, 0] for r in results])
    start = start[np.isfinite(start)]
    return 1.5 * float(np.median(start)) if start.size else None


def _as_results(results) -> List[Tuple[str, SweepResult]]:
    if isinstance(results, SweepResult):
        return [(results.label, results)]
    if isinstance(results, dict):
        items = list(results.items())
    else:
        items = [(r.label, r) for r in results]
    if not items or not all(isinstance(r, SweepResult) for _, r in items):
        raise TypeError("results must be a SweepResult, a list of them or a dict {label: result}")
    return [(str(k), r) for k, r in items]


def _marker_legend(ax, off: bool, diverged: bool) -> None:
    """Legend entries for the markers at the top of the axes (drawn as empty lines)."""
    if off:
        ax.plot([], [], "^", color="0.4", markersize=8, label="off the scale (above the top)")
    if diverged:
        ax.plot([], [], "x", color="tab:red", markersize=9, markeredgewidth=2.5,
                label="diverged (k/S seeds)")


def plot_lr_sensitivity(results, metric: str = "val_loss", band="minmax", ax=None,
                        yscale: str = "linear"):
    """Final ``metric`` against the learning rate (log axis): one curve per optimizer.

    ``results`` is a :class:`SweepResult`, a list of them, or a dict ``{label: result}``. Each
    curve is the mean over seeds with a shaded band (``'minmax'`` over seeds, ``'std'``, or a
    pair of quantiles). A sweep with other swept hyperparameters (``momentum=[0, 0.9]``) gives
    one curve per value. A setting where any seed diverged is drawn as a red x at the top of
    the axes, labelled "k/S diverged"; a finite value above the top (1.5 x the untrained loss)
    as a triangle there. Draws on ``ax`` (default: a new figure's axes).
    """
    from .plotting import plt, set_figsize

    items = _as_results(results)
    if ax is None:
        set_figsize((5.0, 3.2))
        ax = plt.gca()
    cap = _loss_cap([r for _, r in items], metric)
    top = cap if cap is not None else 1.0
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    k = 0
    diverged_label_done = off_label_done = False
    for label, res in items:
        others = [n for n in res.swept if n != "lr"]
        groups: Dict[tuple, List[int]] = {}
        for g, s in enumerate(res.settings):
            groups.setdefault(tuple(s[n] for n in others), []).append(g)
        mean, (lo, hi) = res.mean(metric), res.band(metric, kind=band)
        nd, S = res.n_diverged(), len(res.seeds)
        for key, gs in groups.items():
            color = colors[k % len(colors)]
            k += 1
            name = label + "".join(f", {n}={_fmt(v)}" for n, v in zip(others, key))
            gs = sorted(gs, key=lambda g: res.settings[g]["lr"])
            x = np.array([res.settings[g]["lr"] for g in gs])
            ok = np.array([nd[g] == 0 for g in gs])
            y = np.where(ok, mean[gs], np.nan)
            above = ok & (y > top) if cap is not None else np.zeros(len(gs), dtype=bool)
            shown = ok & ~above
            ax.plot(x, np.where(shown, y, np.nan), "-o", color=color, label=name, markersize=4)
            if S > 1:
                ax.fill_between(x, np.where(shown, lo[gs], np.nan),
                                np.where(shown, np.minimum(hi[gs], top) if cap else hi[gs], np.nan),
                                color=color, alpha=0.2, linewidth=0)
            if above.any():
                ax.plot(x[above], np.full(above.sum(), top), "^", color=color, markersize=8)
                off_label_done = True
            bad = ~ok
            if bad.any():
                ax.plot(x[bad], np.full(bad.sum(), top), "x", color="tab:red", markersize=9,
                        markeredgewidth=2.5)
                diverged_label_done = True
                for xi, g in zip(x[bad], np.array(gs)[bad]):
                    ax.annotate(f"{nd[g]}/{S}", (xi, top), textcoords="offset points", xytext=(0, -13),
                                ha="center", fontsize="x-small", color="tab:red")
    _marker_legend(ax, off_label_done, diverged_label_done)
    ax.set_xscale("log")
    ax.set_yscale(yscale)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"final {metric.replace('_', ' ')}")
    if cap is not None and yscale == "linear":
        ax.set_ylim(0, top * 1.08)
    elif cap is None:
        ax.set_ylim(0, 1.02)
    ax.grid(True, which="major", alpha=0.4)
    ax.legend(fontsize="small")


def plot_curves(result: SweepResult, metric: str = "val_loss", band="minmax", ax=None,
                settings: Optional[Sequence[int]] = None):
    """``metric`` over epochs: per setting the mean over seeds and a band (as
    :func:`plot_lr_sensitivity`). ``settings`` picks settings by index (default: all). A setting
    with a diverged seed ends with a red x at the top of the axes, at the epoch it diverged.
    Draws on ``ax`` (default: a new figure's axes)."""
    from .plotting import plt, set_figsize

    if not isinstance(result, SweepResult):
        raise TypeError(f"result must be a SweepResult (what d2l.sweep returns), got {type(result).__name__}")
    if ax is None:
        set_figsize((5.0, 3.2))
        ax = plt.gca()
    cap = _loss_cap([result], metric)
    top = cap if cap is not None else 1.0
    chosen = range(len(result.settings)) if settings is None else list(settings)
    mean = result.mean(metric, epoch=None)
    lo, hi = result.band(metric, epoch=None, kind=band)
    cmap = plt.get_cmap("viridis")
    chosen = list(chosen)
    nd, S = result.n_diverged(), len(result.seeds)
    per = result.by_setting(metric, epoch=None)
    done = off_done = False
    for j, g in enumerate(chosen):
        color = cmap(j / max(1, len(chosen) - 1) * 0.9)
        s = result.settings[g]
        name = ", ".join(f"{k}={_fmt(v)}" for k, v in s.items())
        with np.errstate(invalid="ignore"):
            over = mean[g] > top if cap is not None else np.zeros(len(result.epochs), dtype=bool)
        x = result.epochs.astype(float)
        y = np.where(over, np.nan, mean[g])
        if over.any():  # the mean leaves the axes: draw it up to the top edge, mark it there
            k = int(np.argmax(over))
            x, y = list(x[:k]), list(y[:k])
            if k > 0 and np.isfinite(y[-1]):
                y0, y1 = y[-1], mean[g][k]
                x.append(k - 1 + (top - y0) / (y1 - y0))  # where the segment crosses the top
                y.append(top)
            else:
                x.append(float(k))
                y.append(top)
            ax.plot([x[-1]], [top], "^", color=color, markersize=8)
            off_done = True
        ax.plot(x, y, color=color, label=name)
        if S > 1:
            ax.fill_between(result.epochs, np.where(over, np.nan, lo[g]),
                            np.where(over, np.nan, np.minimum(hi[g], top) if cap else hi[g]),
                            color=color, alpha=0.2, linewidth=0)
        if nd[g]:
            first = int(np.argmax(~np.isfinite(per[g]).all(axis=0)))  # first epoch with a diverged seed
            ax.plot([result.epochs[first]], [top], "x", color="tab:red", markersize=9, markeredgewidth=2.5)
            ax.annotate(f"{nd[g]}/{S}", (result.epochs[first], top), textcoords="offset points",
                        xytext=(0, -13), ha="center", fontsize="x-small", color="tab:red")
            done = True
    _marker_legend(ax, off_done, done)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_xlim(0, result.epochs[-1])
    ax.set_ylim(0, top * 1.08 if cap is not None else 1.02)
    ax.set_title(result.label, fontsize="small")
    ax.grid(True, alpha=0.4)
    ax.legend(fontsize="x-small")

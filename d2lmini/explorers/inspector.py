"""The step inspector: what one step of an optimizer is made of.

Every explorer has a ``step`` control (0 ... the number of steps the path took) and a Play
button with a speed control. Step t highlights the point x_t and draws, at x_t:

* the plain gradient step -lr g_t (what gradient descent with the rule's lr would do);
* the rule's direction buffers as arrows (velocity, first moment), scaled by -lr like the
  gradient, and points the rule keeps (schedule-free's z and x) as markers;
* for adaptive rules, a box whose sides are the effective step per coordinate (how far a
  gradient of 1 would move each coordinate: AdaGrad's box only shrinks, RMSProp's follows the
  recent gradients, Adam's is right from the first step thanks to the bias correction);
* the actual update, to x_{t+1}.

A table under the figure lists the same at step t in plain names: point, gradient, the rule's
state, bias corrections, the effective step, the update. Its coloured squares are the legend.

Convention: step t shows the point x_t and the update that leaves it, x_t -> x_{t+1}: the
gradient g_t at x_t, the lr of that update (after any schedule), the rule's state right after
it and x_{t+1}. That update is the rule's (t+1)-th call, which the papers number t+1 ("update
k = t+1" below: Adam's bias corrections at step t are 1 - beta1^(t+1) and 1 - beta2^(t+1)).
At the last point of a run that took all its steps, the update shown is the one the rule would
take next (it is not part of the path); at the last point of a diverged run it is the update
that diverged.

Moving ``step`` never recomputes the path: the run keeps one record per call of the rule
(:func:`.paths._record`) and only the overlay and the table are redrawn.

Play (``ipywidgets.Play``, linked to ``step`` in the kernel) is driven by the kernel: the page's
play button turns Play's ``playing`` on, and the kernel then moves ``step`` one step per
``interval`` (the speed slider, linked to ``interval`` in the page) on its event loop, sending
each picture as it is drawn, until the last step or until the page pauses or stops. No message
has to go from the page to the kernel and back per step, so the pictures come as fast as the
kernel draws them (a playback driven by the page's timer waits a round trip per picture, and
ipywidgets keeps only one message per widget in flight). The page's Play therefore has an
increment of 0: its own timer only keeps the button's state and moves nothing.

Rules: for the rules of :mod:`d2lmini.rules` the state keys are named (:data:`KNOWN_STATE`) and
the effective step is computed from the state and the hyperparameters (:func:`_known_terms`).
For a rule of your own, the state's entries are shown under their keys, with plain names for
the common ones (``v``, ``m``, ``s``, ``t``, ...; :func:`_guess_kind`); its effective step is
``-update / gradient`` when its state holds no direction buffer (AdaGrad- or RMSProp-like) and
``-update / first moment`` for an Adam-like state (``m`` and ``v``), and is left out when it is
not a per-coordinate scaling.
"""
from __future__ import annotations

import html
import inspect
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import contextlib
import time

from .. import rules as _rules
from .controls import _dropdown, _set_range, _slider, _widgets
from .frames import _from_page, _running_loop

__all__ = ["Inspector2D", "Inspector1D", "KNOWN_STATE", "inspect_run", "table_html", "table_html_1d"]

# Kinds of state entries.
DIRECTION = "direction"  # gradient units, drawn as -lr * entry (velocity, first moment)
STEP = "step"            # position units, drawn as the entry itself (lr inside the velocity)
POSITION = "position"    # a point, drawn as a marker (schedule-free's z and x)
SQUARE = "square"        # squared gradients or updates (makes a rule adaptive)
RATE = "rate"            # a per-coordinate step size
COUNT = "count"          # a step counter
OTHER = "other"

#: Plain names of the state entries of the rules in d2lmini.rules: key -> (name, kind).
KNOWN_STATE: Dict[str, Dict[str, Tuple[str, str]]] = {
    "gd": {},
    "sgd": {"v": ("velocity v", DIRECTION)},
    "momentum": {"v": ("velocity v", DIRECTION)},
    "nesterov": {"v": ("velocity v", DIRECTION)},
    "momentum_sutskever": {"v": ("velocity v (lr inside)", STEP)},
    "momentum_ema": {"v": ("velocity v (average of gradients)", DIRECTION)},
    "adagrad": {"s": ("sum of squared gradients s", SQUARE), "t": ("step count t", COUNT)},
    "rmsprop": {"s": ("average of squared gradients s", SQUARE),
                "m": ("average gradient m (centered)", OTHER),
                "b": ("momentum buffer b", DIRECTION)},
    "adadelta": {"s": ("average of squared gradients s", SQUARE),
                 "u": ("average of squared updates u", SQUARE)},
    "adam": {"m": ("first moment m", DIRECTION), "v": ("second moment v", SQUARE),
             "vmax": ("largest second moment v_max", SQUARE), "t": ("step count t", COUNT)},
    "nadam": {"m": ("first moment m", DIRECTION), "v": ("second moment v", SQUARE),
              "mu_product": ("momentum product P = mu_1 ... mu_t", OTHER),
              "t": ("step count t", COUNT)},
    "radam": {"m": ("first moment m", DIRECTION), "v": ("second moment v", SQUARE),
              "t": ("step count t", COUNT)},
    "adamax": {"m": ("first moment m", DIRECTION), "u": ("infinity norm u", SQUARE),
               "t": ("step count t", COUNT)},
    "adafactor": {"variance": ("second-moment estimate V", SQUARE),
                  "row_var": ("row factor R", SQUARE), "col_var": ("column factor C", SQUARE),
                  "t": ("step count t", COUNT)},
    "muon": {"momentum_buffer": ("momentum buffer B (average gradient)", DIRECTION)},
    "lion": {"m": ("momentum m", DIRECTION)},
    "sgd_schedulefree": {"z": ("base iterate z", POSITION), "x": ("average x", POSITION),
                         "lr_max": ("largest lr so far", OTHER),
                         "weight_sum": ("sum of averaging weights", OTHER),
                         "t": ("step count t", COUNT)},
    "adamw_schedulefree": {"z": ("base iterate z", POSITION), "x": ("average x", POSITION),
                           "v": ("second moment v", SQUARE),
                           "lr_max": ("largest lr so far", OTHER),
                           "weight_sum": ("sum of averaging weights", OTHER),
                           "t": ("step count t", COUNT)},
    "newton": {},
}
KNOWN_STATE["adamw"] = KNOWN_STATE["adam"]

# Common state keys of rules written from scratch (the chapters' own rules): key -> (name, kind).
_GENERIC_STATE: Dict[str, Tuple[str, str]] = {
    "t": ("step count t", COUNT), "step": ("step count", COUNT), "k": ("step count k", COUNT),
    "m": ("first moment m", DIRECTION), "exp_avg": ("first moment exp_avg", DIRECTION),
    "momentum_buffer": ("momentum buffer", DIRECTION), "velocity": ("velocity", DIRECTION),
    "b": ("momentum buffer b", DIRECTION),
    "s": ("sum or average of squared gradients s", SQUARE), "sum": ("sum of squared gradients", SQUARE),
    "exp_avg_sq": ("second moment exp_avg_sq", SQUARE),
    "square_avg": ("average of squared gradients", SQUARE),
    "vmax": ("largest second moment v_max", SQUARE),
    "max_exp_avg_sq": ("largest second moment", SQUARE),
    "delta": ("average of squared updates delta", SQUARE),
    "acc_delta": ("average of squared updates", SQUARE),
    "u": ("average of squared updates u", SQUARE),
    "rate": ("per-coordinate rate", RATE),
}

# Colours of the overlay (the table's squares use the same).
_GRAD_COLOR = "#d62728"
_BUFFER_COLORS = ("#9467bd", "#2ca02c")
_UPDATE_COLOR = "#000000"
_BOX_COLOR = "#17becf"
_POSITION_COLOR = "#8c564b"
_MODEL_COLOR = "#2ca02c"
_TANGENT_COLOR = "#7f7f7f"

#: Play: the fastest setting and the opening interval between two steps (ms).
PLAY_FASTEST_MS = 50
PLAY_SLOWEST_MS = 1000
PLAY_DEFAULT_MS = 300

_ALL_RULES: Dict[int, str] = {}


def _rule_name_of(fn: Callable, name: Optional[str]) -> Optional[str]:
    """The name of a rule of d2lmini.rules (also when passed as a function), else None."""
    if name is not None and name in KNOWN_STATE:
        return name
    if not _ALL_RULES:
        for rname in KNOWN_STATE:
            rule = getattr(_rules, rname, None)
            if callable(rule):
                _ALL_RULES[id(rule)] = rname
    return _ALL_RULES.get(id(fn))


def _full_hp(fn: Callable, hp: Dict[str, Any]) -> Dict[str, Any]:
    """The rule's keyword defaults, overridden by the values it ran with."""
    out: Dict[str, Any] = {}
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    for p in list(params.values())[3:]:
        if p.default is not inspect.Parameter.empty:
            out[p.name] = p.default
    out.update(hp)
    return out


def _guess_kind(key: str, state: Dict[str, Any]) -> Tuple[str, str]:
    """(plain name, kind) of a state entry of a rule written from scratch."""
    if key == "v":  # a velocity, unless a first moment m sits beside it (then Adam's v)
        if "m" in state:
            return "second moment v", SQUARE
        return "velocity v", DIRECTION
    if key in _GENERIC_STATE:
        return _GENERIC_STATE[key]
    return f"state[{key!r}]", OTHER


def _floats(value: Any) -> Optional[np.ndarray]:
    """A state entry as a float array, or None when it holds no numbers (a bool is a flag)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _vector(value: Any, size: int) -> Optional[np.ndarray]:
    """A state entry as a float vector of ``size`` numbers, or None when it is not one."""
    arr = _floats(value)
    return arr.reshape(size) if arr is not None and arr.size == size else None


def _scalar(value: Any) -> Optional[float]:
    arr = _floats(value)
    return float(arr.reshape(-1)[0]) if arr is not None and arr.size == 1 else None


# ---------------------------------------------------------------------------------------------
# The effective step of the rules of d2lmini.rules


def _signed(g: np.ndarray, x: np.ndarray, hp: Dict[str, Any], coupled: bool = True) -> np.ndarray:
    """The gradient the rule uses: negated for ``maximize``, plus the L2 term when coupled."""
    if hp.get("maximize"):
        g = -g
    if coupled:
        g = g + float(hp.get("weight_decay", 0.0) or 0.0) * x
    return g


def _known_terms(name: str, hp: Dict[str, Any], lr: float, st: Dict[str, Any],
                 prev: Dict[str, Any], x: np.ndarray, g: np.ndarray) -> Dict[str, Any]:
    """The effective step per coordinate of a rule of d2lmini.rules, from its state and
    hyperparameters: ``effective`` (array or None), ``direction`` (what it multiplies, or
    None: update = -effective * direction, plus any decoupled decay), ``adaptive`` (draw the
    box), ``formula``, ``extras`` (named numbers) and ``arrows`` (key -> (vector, label))."""
    out: Dict[str, Any] = {"effective": None, "direction": None, "adaptive": False,
                           "formula": "", "extras": {}, "arrows": {}}
    ones = np.ones_like(x)
    k = st.get("t")
    if k is not None:
        out["extras"]["update number k"] = int(k)

    def bc(beta: float) -> float:
        return 1.0 - float(beta) ** int(k)

    if name in ("gd", "sgd", "momentum", "nesterov", "momentum_ema"):
        out["effective"], out["formula"] = lr * ones, "lr (the same for every coordinate)"
        if name == "gd":
            out["direction"] = g
        elif name == "sgd":
            gg = _signed(g, x, hp)
            mu = float(hp.get("momentum", 0.0))
            if mu != 0 and "v" in st:
                out["direction"] = gg + mu * st["v"] if hp.get("nesterov") else st["v"]
            else:
                out["direction"] = gg
        elif name == "nesterov":
            out["direction"] = g + float(hp["momentum"]) * st["v"]
        else:
            out["direction"] = st["v"]
    elif name == "momentum_sutskever":
        out["effective"], out["formula"] = lr * ones, "lr (the same for every coordinate)"
    elif name == "adagrad":
        gg = _signed(g, x, hp)
        clr = lr / (1 + (int(k) - 1) * float(hp["lr_decay"]))
        eps = float(hp["eps"])
        s = st["s"]
        if hp.get("eps_inside"):
            out["effective"], out["formula"] = clr / np.sqrt(s + eps), "lr / sqrt(s + eps)"
        else:
            out["effective"], out["formula"] = clr / (np.sqrt(s) + eps), "lr / (sqrt(s) + eps)"
        if float(hp["lr_decay"]):
            out["extras"]["decayed lr"] = clr
        out["direction"], out["adaptive"] = gg, True
    elif name == "rmsprop":
        gg = _signed(g, x, hp)
        s = st["s"]
        if hp.get("centered") and "m" in st:
            s = s - st["m"] ** 2
        eps = float(hp["eps"])
        denom = np.sqrt(s + eps) if hp.get("eps_inside") else np.sqrt(s) + eps
        out["effective"], out["adaptive"] = lr / denom, True
        out["formula"] = "lr / sqrt(s + eps)" if hp.get("eps_inside") else "lr / (sqrt(s) + eps)"
        if not (float(hp.get("momentum", 0.0)) > 0 and "b" in st):
            out["direction"] = gg  # with momentum the update is -lr b (b holds the scaled g's)
    elif name == "adadelta":
        gg = _signed(g, x, hp)
        eps = float(hp["eps"])
        u_prev = prev.get("u", np.zeros_like(x))
        out["effective"] = lr * np.sqrt(u_prev + eps) / np.sqrt(st["s"] + eps)
        out["formula"] = "lr sqrt(u_prev + eps) / sqrt(s + eps)"
        out["direction"], out["adaptive"] = gg, True
    elif name in ("adam", "adamw"):
        decoupled = name == "adamw" or bool(hp.get("decoupled_weight_decay"))
        v = st["vmax"] if hp.get("amsgrad") and "vmax" in st else st["v"]
        eps = float(hp["eps"])
        if hp.get("bias_correction", True):
            b1, b2 = bc(hp["beta1"]), bc(hp["beta2"])
            out["extras"]["1 - beta1^k"], out["extras"]["1 - beta2^k"] = b1, b2
            out["effective"] = lr / (np.sqrt(v / b2) + eps)
            out["formula"] = "lr / (sqrt(v / (1 - beta2^k)) + eps)"
            out["direction"] = st["m"] / b1
            out["arrows"]["m"] = (-lr * out["direction"], "-lr m^ (first moment, bias-corrected)")
        else:
            out["effective"], out["formula"] = lr / (np.sqrt(v) + eps), "lr / (sqrt(v) + eps)"
            out["direction"] = st["m"]
        out["adaptive"] = True
        if decoupled and float(hp.get("weight_decay", 0.0)):
            out["extras"]["decay factor 1 - lr weight_decay"] = 1 - lr * float(hp["weight_decay"])
    elif name == "nadam":
        kk = int(k)
        psi, beta1 = float(hp["momentum_decay"]), float(hp["beta1"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (kk * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((kk + 1) * psi))
        prod = st["mu_product"]
        b2 = bc(hp["beta2"])
        gg = _signed(g, x, hp, coupled=not hp.get("decoupled_weight_decay"))
        out["effective"] = lr / (np.sqrt(st["v"] / b2) + float(hp["eps"]))
        out["formula"] = "lr / (sqrt(v / (1 - beta2^k)) + eps)"
        out["direction"] = (1.0 - mu) / (1.0 - prod) * gg + mu_next / (1.0 - prod * mu_next) * st["m"]
        out["extras"].update({"momentum mu_k": mu, "next momentum mu_k+1": mu_next, "1 - beta2^k": b2})
        out["arrows"]["m"] = (-lr * out["direction"], "-lr (Nesterov mix of g and m)")
        out["adaptive"] = True
    elif name == "radam":
        beta2 = float(hp["beta2"])
        b1, b2 = bc(hp["beta1"]), bc(beta2)
        m_hat = st["m"] / b1
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 * int(k) * beta2 ** int(k) / b2
        out["extras"].update({"1 - beta1^k": b1, "1 - beta2^k": b2, "rho_k (SMA length)": rho})
        if rho > 5.0:
            rect = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            out["extras"]["rectifier r_k"] = rect
            out["effective"] = lr * rect * math.sqrt(b2) / (np.sqrt(st["v"]) + float(hp["eps"]))
            out["formula"] = "lr r_k sqrt(1 - beta2^k) / (sqrt(v) + eps)"
            out["adaptive"] = True
        else:
            out["effective"] = lr * ones
            out["formula"] = "lr (rho_k <= 5: a plain momentum step)"
        out["direction"] = m_hat
        out["arrows"]["m"] = (-lr * m_hat, "-lr m^ (first moment, bias-corrected)")
    elif name == "adamax":
        b1 = bc(hp["beta1"])
        out["extras"]["1 - beta1^k"] = b1
        out["effective"], out["formula"] = lr / st["u"], "lr / u"
        out["direction"] = st["m"] / b1
        out["arrows"]["m"] = (-lr * out["direction"], "-lr m^ (first moment, bias-corrected)")
        out["adaptive"] = True
    elif name == "adafactor" and "variance" in st:
        kk = int(k)
        eps1 = float(np.finfo(float).eps) if hp.get("eps1") is None else float(hp["eps1"])
        rho = min(lr, 1 / math.sqrt(kk))
        alpha = max(float(hp["eps2"]), float(np.sqrt(np.sum(x * x)) / math.sqrt(x.size))) * rho
        gg = -g if hp.get("maximize") else g
        r = 1 / np.sqrt(np.maximum(st["variance"], eps1 * eps1))
        u = r * gg
        clip = max(1.0, float(np.sqrt(np.sum(u * u)) / math.sqrt(u.size)) / float(hp["d"]))
        out["effective"] = alpha * r / clip
        out["formula"] = "alpha / (sqrt(V) max(1, RMS(U) / d))"
        out["extras"].update({"relative step rho_k": rho, "alpha_k = max(eps2, RMS(x)) rho_k": alpha,
                              "clipping max(1, RMS(U) / d)": clip})
        out["direction"], out["adaptive"] = gg, True
    elif name == "lion":
        beta1 = float(hp["beta1"])
        c = beta1 * prev.get("m", np.zeros_like(x)) + (1 - beta1) * g
        out["effective"], out["formula"] = lr * ones, "lr (every coordinate moves by lr)"
        out["direction"] = np.sign(c)
        out["extras"]["interpolation c = beta1 m + (1 - beta1) g"] = c
    elif name == "muon":
        mu = float(hp["momentum"])
        if hp.get("nesterov", True):
            out["extras"]["Nesterov mix g + mu (B - g)"] = g + mu * (st["momentum_buffer"] - g)
    elif name == "adamw_schedulefree":
        kk = int(k)
        warm = float(hp.get("warmup_steps", 0))
        sched = kk / max(warm, 1.0) if kk - 1 < warm else 1.0
        out["effective"] = lr * sched / (np.sqrt(st["v"] / bc(hp["beta2"])) + float(hp["eps"]))
        out["formula"] = "z's step: lr_k / (sqrt(v / (1 - beta2^k)) + eps)"
        out["extras"]["1 - beta2^k"] = bc(hp["beta2"])
        out["adaptive"] = True
    return out


def _guessed_terms(hp: Dict[str, Any], st: Dict[str, Any], kinds: Dict[str, str], lr: Optional[float],
                   g: Optional[np.ndarray], update: Optional[np.ndarray]) -> Dict[str, Any]:
    """The effective step of a rule written from scratch, where the update shows it: -update / g
    when the state holds no direction buffer, -update / first moment for an Adam-like state."""
    out: Dict[str, Any] = {"effective": None, "direction": None, "adaptive": False,
                           "formula": "", "extras": {}, "arrows": {}}
    n = 0 if g is None else g.size
    adaptive = any(kinds[key] in (SQUARE, RATE) for key in kinds)
    moving = [key for key in kinds if kinds[key] in (DIRECTION, STEP)]
    count = _scalar(st["t"]) if "t" in st and kinds.get("t") == COUNT else None
    if count is not None and count >= 1:
        out["extras"]["update number k"] = int(count)
    direction, formula = None, ""
    if not moving:
        direction, formula = g, "-update / gradient"
    elif moving == ["m"] and adaptive and kinds["m"] == DIRECTION:
        m = _vector(st["m"], n)
        direction, formula = m, "-update / first moment m"
        if m is not None and "beta1" in hp and count is not None and count >= 1 and hp.get(
                "bias_correction", True) is not False:
            b1 = 1.0 - float(hp["beta1"]) ** int(count)
            out["extras"]["1 - beta1^k"] = b1
            if "beta2" in hp:
                out["extras"]["1 - beta2^k"] = 1.0 - float(hp["beta2"]) ** int(count)
            direction, formula = m / b1, "-update / m^ (m^ = m / (1 - beta1^k))"
            if lr is not None:
                out["arrows"]["m"] = (-lr * direction, "-lr m^ (first moment, bias-corrected)")
    if direction is None or update is None or g is None:
        return out
    with np.errstate(all="ignore"):
        ratio = np.where(direction != 0, -update / np.where(direction != 0, direction, 1.0), np.nan)
    finite = ratio[np.isfinite(ratio)]
    if finite.size == 0 or np.any(finite < -1e-12 * np.max(np.abs(finite))):
        return out  # not a scaling of the direction (it moves against it somewhere)
    out["effective"], out["direction"], out["formula"] = ratio, direction, formula
    out["adaptive"] = adaptive
    return out


# ---------------------------------------------------------------------------------------------
# One step of a run


def inspect_run(run, t: int) -> Dict[str, Any]:
    """The inspection of step ``t`` of a 2-D run (a :class:`.paths._Run`); see :func:`_inspection`."""
    return _inspection(run.rule, run.rule_name, run.label, getattr(run, "hp_used", {}),
                       run.lr_key, run.trajectory, getattr(run, "records", []), t,
                       diverged_at=run.diverged_at)


def _note(rec, taken: bool, update, diverged_at: Optional[int]) -> str:
    """What is special about a step: the last point, a diverging or failing update."""
    if rec is None:
        return "no update recorded from this point"
    if update is None:
        return "the next update failed: the run stops here"
    if not np.all(np.isfinite(update)):
        return "the next update is not finite: the run diverges here"
    if not taken and diverged_at is not None:
        return f"the next update diverges (step {diverged_at}): the run stops here"
    if not taken:
        return "the last point: the update shown is the next one, not taken"
    return ""


def _inspection(fn: Callable, rule_name: Optional[str], label: str, hp: Dict[str, Any],
                lr_key: Optional[str], trajectory: np.ndarray, records: List[Dict[str, Any]],
                t: int, diverged_at: Optional[int] = None) -> Dict[str, Any]:
    """What step ``t`` of a run is made of (the dict ``ex.inspection`` returns)."""
    traj = np.asarray(trajectory, dtype=float)
    n = len(traj) - 1
    t = int(min(max(t, 0), n))
    point = traj[t].copy()
    size = point.size
    rec = records[t] if t < len(records) else None
    prev_state = records[t - 1]["state"] if 0 < t <= len(records) else {}
    name = _rule_name_of(fn, rule_name)
    full = _full_hp(fn, hp)
    lr = None
    if lr_key is not None:
        lr = rec["lr"] if rec is not None and rec["lr"] is not None else full.get(lr_key)
        lr = None if lr is None else float(lr)
    grad = update = nxt = None
    state: Dict[str, Any] = {}
    if rec is not None:
        grad = None if rec["grad"] is None else rec["grad"].reshape(size).copy()
        state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in rec["state"].items()}
        if rec["new"] is not None:
            nxt = rec["new"].reshape(size).copy()
            with np.errstate(all="ignore"):
                update = nxt - point
    taken = t < n
    if name is not None:
        labels = KNOWN_STATE[name]
        kinds = {key: labels[key][1] if key in labels else _guess_kind(key, state)[1] for key in state}
        names = {key: labels[key][0] if key in labels else _guess_kind(key, state)[0] for key in state}
    else:
        kinds = {key: _guess_kind(key, state)[1] for key in state}
        names = {key: _guess_kind(key, state)[0] for key in state}
    terms = {"effective": None, "direction": None, "adaptive": False, "formula": "", "extras": {},
             "arrows": {}}
    if rec is not None and grad is not None and np.all(np.isfinite(grad)):
        with np.errstate(all="ignore"):
            try:
                if name is not None:
                    terms = _known_terms(name, full, 0.0 if lr is None else lr, state, prev_state,
                                         point, grad)
                else:
                    terms = _guessed_terms(full, state, kinds, lr, grad, update)
            except (KeyError, TypeError, ValueError, ArithmeticError):
                pass  # a state that does not have what the formula needs: no effective step
    effective = terms["effective"]
    if effective is not None:
        effective = np.broadcast_to(np.asarray(effective, dtype=float), point.shape).copy()
    # Arrows: the plain gradient step, then the rule's buffers.
    arrows: List[Tuple[str, np.ndarray, str]] = []
    for key, kind in kinds.items():
        vec = _vector(state[key], size)
        if vec is None:
            continue
        if key in terms["arrows"]:
            arrow, text = terms["arrows"][key]
            arrows.append((key, np.asarray(arrow, dtype=float).reshape(size), text))
        elif kind == DIRECTION and lr is not None:
            arrows.append((key, -lr * vec, f"-lr {key} ({names[key]})"))
        elif kind == STEP:
            arrows.append((key, vec, f"{key} ({names[key]})"))
    for key in terms["arrows"]:
        if key not in state:
            arrow, text = terms["arrows"][key]
            arrows.append((key, np.asarray(arrow, dtype=float).reshape(size), text))
    positions = [(key, _vector(state[key], size), names[key]) for key, kind in kinds.items()
                 if kind == POSITION and _vector(state[key], size) is not None]
    extras = dict(terms["extras"])
    bias = None
    if "1 - beta1^k" in extras or "1 - beta2^k" in extras:
        bias = (extras.get("1 - beta1^k"), extras.get("1 - beta2^k"))
    note = _note(rec, taken, update, diverged_at)
    return {
        "step": t,
        "steps": n,
        "update_number": t + 1,
        "label": label,
        "rule": name or getattr(fn, "__name__", "rule"),
        "point": point,
        "grad": grad,
        "lr": lr,
        "raw_step": None if (grad is None or lr is None) else -lr * grad,
        "update": update,
        "next_point": nxt,
        "taken": taken,
        "state": state,
        "state_names": names,
        "state_kinds": kinds,
        "effective_step": effective,
        "effective_formula": terms["formula"] if effective is not None else "",
        "direction": None if terms["direction"] is None else np.asarray(terms["direction"], float).reshape(size),
        "adaptive": bool(terms["adaptive"]) and effective is not None,
        "bias_correction": bias,
        "extras": extras,
        "arrows": arrows,
        "positions": positions,
        "note": note,
    }


# ---------------------------------------------------------------------------------------------
# The table


def _num(value: float) -> str:
    return f"{float(value):.4g}"


def _swatch(color: Optional[str], shape: str = "&#9632;") -> str:
    if color is None:
        return '<span style="display:inline-block;width:1em"></span>'
    return f'<span style="color:{color}">{shape}</span> '


def _row(label: str, values: Any, color: Optional[str] = None, shape: str = "&#9632;",
         ncols: int = 2, note: str = "") -> str:
    cells = []
    if values is None:
        cells = [f'<td colspan="{ncols}" style="text-align:center">&mdash;</td>']
    elif isinstance(values, str):
        cells = [f'<td colspan="{ncols}" style="text-align:right">{html.escape(values)}</td>']
    else:
        arr = np.asarray(values, dtype=float).reshape(-1)
        if arr.size == ncols:
            cells = [f'<td style="text-align:right;padding:0 0.6em">{_num(v)}</td>' for v in arr]
        elif arr.size == 1:
            cells = [f'<td colspan="{ncols}" style="text-align:right;padding:0 0.6em">{_num(arr[0])}</td>']
        else:
            return ""
    if note:
        note = f' <span style="opacity:0.6">({html.escape(note)})</span>'
    return (f'<tr><th style="text-align:left;font-weight:normal;padding-right:1em">'
            f"{_swatch(color, shape)}{html.escape(label)}{note}</th>{''.join(cells)}</tr>")


def _table(rows: List[str], header: str, columns: Tuple[str, ...], scale: float) -> str:
    head = "".join(f'<th style="text-align:right;padding:0 0.6em">{html.escape(c)}</th>' for c in columns)
    return (f'<div style="font-family:monospace;font-size:{0.85 * scale:.2f}em;line-height:1.25">'
            f"<div>{header}</div>"
            f'<table style="border-collapse:collapse"><tr><th></th>{head}</tr>{"".join(rows)}</table></div>')


def table_html(info: Dict[str, Any], scale: float = 1.0, point_color: str = "#ff7f0e") -> str:
    """The inspector's table for a 2-D inspection: the same numbers as ``info``, in plain names;
    its coloured squares are the legend of the overlay."""
    t = info["step"]
    what = (f"x<sub>{t}</sub> &rarr; x<sub>{t + 1}</sub> (update k = {t + 1})" if info["taken"]
            else f"x<sub>{t}</sub>, the last point")
    header = (f"<b>{html.escape(info['label'])}, step t = {t}</b> of {info['steps']}: {what}"
              + (f"; lr = {_num(info['lr'])}" if info["lr"] is not None else ""))
    if info["note"]:
        header += f' <span style="color:#d62728">({html.escape(info["note"])})</span>'
    rows = [_row("point x_t", info["point"], point_color, "&#9675;"),
            _row("gradient g_t", info["grad"]),
            _row("plain gradient step -lr g_t", info["raw_step"], _GRAD_COLOR, "&#10148;")]
    colors = _arrow_colors(info)
    arrow_keys = {key for key, _, _ in info["arrows"]}
    for key, value in info["state"].items():
        vec = _vector(value, info["point"].size)
        label = info["state_names"].get(key, key)
        if vec is not None:
            rows.append(_row(label, vec))
        elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            rows.append(_row(label, float(value)))
    for key, vec, text in info["arrows"]:
        rows.append(_row(text, vec, colors.get(key), "&#10148;"))
    for key, vec, text in info["positions"]:
        rows.append(_row(f"{text} (marker)", vec, _POSITION_COLOR, "&#9670;"))
    for key, value in info["extras"].items():
        if key == "update number k" or key in arrow_keys:
            continue
        rows.append(_row(f"bias correction {key}" if key.startswith("1 - beta") else key, value))
    if info["effective_step"] is not None:
        label = "effective step per coordinate" + (" (box)" if info["adaptive"] else "")
        rows.append(_row(label, info["effective_step"], _BOX_COLOR if info["adaptive"] else None,
                         "&#9633;", note=info["effective_formula"]))
    rows.append(_row("update x_t+1 - x_t" if info["taken"] else "next update (not taken)",
                     info["update"], _UPDATE_COLOR, "&#10148;"))
    rows.append(_row("next point x_t+1", info["next_point"]))
    return _table([r for r in rows if r], header, ("x1", "x2"), scale)


def _arrow_colors(info: Dict[str, Any]) -> Dict[str, str]:
    return {key: _BUFFER_COLORS[i % len(_BUFFER_COLORS)] for i, (key, _, _) in enumerate(info["arrows"][:2])}


# ---------------------------------------------------------------------------------------------
# The controls: step, Play and its speed


def _playing_trait(play) -> str:
    """The name of Play's synced "is playing" trait: ``playing`` (ipywidgets 8) or
    ``_playing`` (ipywidgets 7)."""
    return "playing" if play.has_trait("playing") else "_playing"


def _step_controls(steps: int):
    """(step slider, Play, speed slider, links). The speed is linked to Play's interval in the
    page (jslink); Play's value and ``step`` are kept equal in the kernel, which drives the
    playback (:class:`_StepControls`), so the page's Play moves nothing by itself (increment 0)."""
    w = _widgets()
    step = _slider("IntSlider", value=0, min=0, max=int(steps), step=1, description="step t")
    play = w.Play(value=0, min=0, max=int(steps), step=0, interval=PLAY_DEFAULT_MS,
                  description="play", show_repeat=False, layout=w.Layout(width="auto"))
    speed = _slider("IntSlider", value=PLAY_DEFAULT_MS, min=PLAY_FASTEST_MS, max=PLAY_SLOWEST_MS,
                    step=10, description="ms per step")
    speed.layout.width = "280px"
    links = [w.jslink((speed, "value"), (play, "interval"))]
    # Python that sets the speed sets the interval too (the browser's own change comes back
    # equal, so nothing echoes).
    speed.observe(lambda change: setattr(play, "interval", int(change["new"])), names="value")
    return step, play, speed, links


class _Arrow:
    """An arrow drawn as one line: the shaft, a break, and a V-shaped head sized in pixels. A
    line costs a fifth of a ``FancyArrowPatch`` per frame. It is an animated artist."""

    def __init__(self, ex, color: str, lw: float, zorder: float):
        s = ex.scale
        self.ax = ex.ax
        self.head_px = (11.0 * s, 4.5 * s)  # length and half-width of the head, in pixels
        self.line = ex._animate(ex.ax.plot([], [], "-", color=color, lw=lw * s, zorder=zorder,
                                           solid_capstyle="butt", solid_joinstyle="miter")[0])
        self.line.set_visible(False)

    def set_visible(self, visible: bool) -> None:
        self.line.set_visible(visible)

    def get_visible(self) -> bool:
        return self.line.get_visible()

    def set_color(self, color: str) -> None:
        self.line.set_color(color)

    def get_positions(self) -> Tuple[np.ndarray, np.ndarray]:
        """(start, end) of the shaft."""
        xy = self.line.get_xydata()
        return xy[0], xy[1]

    def place(self, start: np.ndarray, vec: Optional[np.ndarray], view, min_len: float) -> bool:
        """Point from ``start`` along ``vec``, cut at the view's border (a huge or non-finite
        arrow is cut or hidden; so is one that starts outside the view). Returns whether it
        is shown."""
        if vec is None or not np.all(np.isfinite(vec)) or not np.all(np.isfinite(start)):
            self.set_visible(False)
            return False
        start = np.asarray(start, dtype=float)
        end = start + np.asarray(vec, dtype=float)
        inside = view[0] <= start[0] <= view[1] and view[2] <= start[1] <= view[3]
        if not inside or float(np.hypot(*(end - start))) < min_len:
            self.set_visible(False)
            return False
        if not (view[0] <= end[0] <= view[1] and view[2] <= end[1] <= view[3]):
            from ..plotting import border_point

            end = border_point(start, end, view)
            if float(np.hypot(*(end - start))) < min_len:
                self.set_visible(False)
                return False
        # The head in pixels, from the view (the axes' limits may be set only when the next
        # frame is drawn): pixels per unit along x and y.
        box = self.ax.bbox
        scale = np.array([box.width / (view[1] - view[0]), box.height / (view[3] - view[2])])
        d = (end - start) * scale
        length = float(np.hypot(*d))
        u = d / length if length > 0 else np.array([1.0, 0.0])
        n = np.array([-u[1], u[0]])
        head_len, half = self.head_px
        head_len = min(head_len, 0.6 * length)
        barbs = end + np.array([-head_len * u + half * n, [0.0, 0.0], -head_len * u - half * n]) / scale
        self.line.set_data([start[0], end[0], np.nan, *barbs[:, 0]],
                           [start[1], end[1], np.nan, *barbs[:, 1]])
        self.set_visible(True)
        return True


def _put(marker, at) -> None:
    """A one-point marker at ``at``; hidden (not drawn at all) for None or a non-finite point."""
    if at is None or not np.all(np.isfinite(at)):
        marker.set_visible(False)
        return
    marker.set_data([float(at[0])], [float(at[1])])
    marker.set_visible(True)


class _StepControls:
    """The step slider, Play and its speed for an explorer ``ex``: ``ex.controls['step']``,
    ``['play']`` and ``['speed']``. A step move redraws the overlay only (``on_step``)."""

    def _init_controls(self, ex, steps: int, on_step: Callable[[], None]) -> None:
        self.ex = ex
        step, play, speed, self.links = _step_controls(steps)
        ex.controls["step"], ex.controls["play"], ex.controls["speed"] = step, play, speed
        self._on_step_cb = on_step
        self._playing = _playing_trait(play)
        self._tick = None  # the playback's next step (an event-loop handle), or None
        self._by_page = False  # a step move that the page (Play, Stop) made through the kernel
        self.n_play_ticks = 0  # steps the playback made (tests and benches read it)
        step.observe(lambda change: ex._guard(self._step_moved), names="value")
        play.observe(lambda change: ex._guard(self._play_moved), names="value")
        play.observe(lambda change: ex._guard(self._playing_changed, bool(change["new"])),
                     names=self._playing)

    @contextlib.contextmanager
    def _page_move(self, by_page: bool = True):
        """Moves of ``step`` inside count as the page's (not "asked for" by code) if ``by_page``."""
        before, self._by_page = self._by_page, by_page or self._by_page
        try:
            yield
        finally:
            self._by_page = before

    def _step_moved(self) -> None:
        c = self.ex.controls
        step = c["step"]
        if c["play"].value != step.value:  # Play follows the step (a message to the page)
            c["play"].value = int(step.value)
        if self.ex._hold:  # inside set(): the batch's refresh draws the overlay
            return
        if not _from_page(step) and not self._by_page:  # code moved it: asked for
            self.ex._asked["step"] = int(step.value)
        self._on_step_cb()
        self.ex._request_frame()

    def _play_moved(self) -> None:
        """Play's value moved (the page's Stop button or a replay from the start, or code): the
        step follows."""
        c = self.ex.controls
        if c["step"].value != c["play"].value:
            with self._page_move(_from_page(c["play"])):
                c["step"].value = int(c["play"].value)

    # --- the playback, driven by the kernel --------------------------------------------------
    @property
    def playing(self) -> bool:
        """Whether Play is on (the page's play button, or ``controls['play'].playing = True``)."""
        return bool(getattr(self.ex.controls["play"], self._playing))

    def _playing_changed(self, playing: bool) -> None:
        self._cancel_tick()
        if not playing or getattr(self.ex, "closed", False):
            return
        loop = _running_loop()
        if loop is None:  # plain Python, no kernel: nothing can play in the background
            return
        c = self.ex.controls
        if c["step"].value >= c["step"].max:  # at the end: play again from the start
            with self._page_move():
                c["step"].value = int(c["step"].min)
        self._tick = loop.call_later(self._interval(), self.ex._guard, self._play_tick)

    def _interval(self) -> float:
        return max(int(self.ex.controls["play"].interval), 1) / 1000.0

    def _play_tick(self) -> None:
        """One step of the playback: the next step, its picture, and the next tick one interval
        after this one started (later if drawing took longer: every step is shown)."""
        self._tick = None
        c = self.ex.controls
        if getattr(self.ex, "closed", False) or not self.playing:
            return
        started = time.perf_counter()
        step = c["step"]
        nxt = int(step.value) + 1
        if nxt <= step.max:
            with self._page_move():
                step.value = nxt
            self.n_play_ticks += 1
        if int(step.value) >= step.max:  # the last step: Play turns off (the page shows it)
            setattr(c["play"], self._playing, False)
            return
        loop = _running_loop()
        if loop is not None and self.playing and not getattr(self.ex, "closed", False):
            wait = max(0.0, self._interval() - (time.perf_counter() - started))
            self._tick = loop.call_later(wait, self.ex._guard, self._play_tick)

    def _cancel_tick(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    @property
    def step(self) -> int:
        return int(self.ex.controls["step"].value)

    @property
    def opening(self) -> Dict[str, Any]:
        """The value each inspector control opened with (for the explorer's ``opening``)."""
        out = {"step": 0, "play": 0, "speed": PLAY_DEFAULT_MS}
        if getattr(self, "race", False):
            out["inspect"] = self.ex._runs[0].label
        return out

    def steps_changed(self, steps: int) -> None:
        """The steps slider moved: let ``step`` reach the new end before the path is computed
        (so ``set(steps=50, step=40)`` keeps 40)."""
        c = self.ex.controls
        with self.ex._quiet():
            for name in ("step", "play"):
                if c[name].max < steps:
                    c[name].max = int(steps)

    def set_last(self, last: int) -> None:
        """The path has ``last`` + 1 points: the step controls stop at its last point."""
        c = self.ex.controls
        with self.ex._quiet():
            for name in ("step", "play"):
                _set_range(c[name], 0, max(int(last), 0))

    def row(self, *extra):
        w = _widgets()
        c = self.ex.controls
        return w.HBox([c["play"], c["step"], c["speed"], *extra],
                      layout=w.Layout(flex_flow="row wrap", align_items="center"))

    def close(self) -> None:
        from .controls import _close_tree

        self._cancel_tick()
        _close_tree(*self.links)


# ---------------------------------------------------------------------------------------------
# 2-D explorers


class Inspector2D(_StepControls):
    """The step inspector of a 2-D explorer (Explorer2D or Race): overlay artists on the
    contour axes (animated, drawn over the cached background like the path), a marker on the
    loss curve and the table. In a race a drop-down (``ex.controls['inspect']``) picks the run."""

    def __init__(self, ex, steps: int, race: bool = False):
        self._init_controls(ex, steps, self.update)
        self.race = race
        if race:
            labels = [r.label for r in ex._runs]
            ex.controls["inspect"] = _dropdown("220px", options=labels, value=labels[0],
                                               description="inspect")
            ex.controls["inspect"].observe(lambda change: ex._guard(self._step_moved), names="value")
        w = _widgets()
        self.table = w.HTML(value="", layout=w.Layout(min_height="1.6em"))
        self.widget = w.VBox([self.row(*([ex.controls["inspect"]] if race else [])), self.table])
        self._info: Optional[Dict[str, Any]] = None
        s = ex.scale
        ax = ex.ax
        self.box = ex._animate(self._rectangle(ax))
        self.buffer_arrows = [_Arrow(ex, c, 3.0, 7.1) for c in _BUFFER_COLORS]
        self.grad_arrow = _Arrow(ex, _GRAD_COLOR, 1.5, 7.2)
        self.update_arrow = _Arrow(ex, _UPDATE_COLOR, 1.8, 7.4)
        self.point_marker = ex._animate(ax.plot([], [], "o", ms=12 * s, mfc="none", mew=2.2 * s,
                                                mec="#ff7f0e", zorder=7.0)[0])
        self.next_marker = ex._animate(ax.plot([], [], "o", ms=5 * s, color=_UPDATE_COLOR, zorder=7.5)[0])
        self.position_markers = [
            ex._animate(ax.plot([], [], marker, ms=8 * s, mfc=_POSITION_COLOR, mec="white", zorder=7.3)[0])
            for marker in ("D", "s")
        ]
        self.loss_marker = None
        if ex.loss_ax is not None:
            # a line of the figure in the loss panel's coordinates: the panel's own lines are the
            # runs' curves (and a scatter costs 7x more to draw)
            from matplotlib.lines import Line2D

            self.loss_marker = ex._animate(ex.fig.add_artist(Line2D(
                [], [], marker="o", ms=8 * s, mfc="#ff7f0e", mec="k", ls="none", zorder=5,
                transform=ex.loss_ax.transData)))

    @staticmethod
    def _rectangle(ax):
        from matplotlib.patches import Rectangle

        rect = Rectangle((0.0, 0.0), 0.0, 0.0, fc=(0.09, 0.75, 0.81, 0.25), ec=_BOX_COLOR, lw=2.0,
                         zorder=7.6)
        rect.set_visible(False)
        ax.add_patch(rect)
        return rect

    @property
    def run(self):
        ex = self.ex
        if self.race:
            label = ex.controls["inspect"].value
            for run in ex._runs:
                if run.label == label:
                    return run
        return ex._runs[0]

    def refresh(self) -> None:
        """After the paths were computed: the step controls stop at the inspected run's last
        point; redraw the overlay and the table."""
        self.set_last(len(self.run.trajectory) - 1)
        self.update()

    @property
    def inspection(self) -> Dict[str, Any]:
        if self._info is None or self._info["step"] != self.step or self._info["label"] != self.run.label:
            self.update()
        return self._info

    def update(self) -> None:
        """Overlay and table for the current step (no path is recomputed)."""
        ex, run = self.ex, self.run
        if self.race:  # the run's last point may differ from the previous run's
            self.set_last(len(run.trajectory) - 1)
        info = inspect_run(run, self.step)
        self._info = info
        view = ex.view
        span = min(view[1] - view[0], view[3] - view[2])
        min_len = 1e-3 * span
        x = info["point"]
        inside = view[0] <= x[0] <= view[1] and view[2] <= x[1] <= view[3]
        self.point_marker.set_data([x[0]], [x[1]])
        self.point_marker.set_markeredgecolor(run.color)
        self.grad_arrow.place(x, info["raw_step"], view, min_len)
        colors = _arrow_colors(info)
        for i, patch in enumerate(self.buffer_arrows):
            if i < len(info["arrows"]):
                key, vec, _ = info["arrows"][i]
                patch.set_color(colors[key])
                patch.place(x, vec, view, min_len)
            else:
                patch.set_visible(False)
        self.update_arrow.place(x, info["update"], view, min_len)
        nxt = info["next_point"]
        _put(self.next_marker, nxt)
        for i, marker in enumerate(self.position_markers):
            _put(marker, info["positions"][i][1] if i < len(info["positions"]) else None)
        e = info["effective_step"]
        box = info["adaptive"] and e is not None and inside and np.all(np.isfinite(e)) and \
            float(np.max(e)) < 1e6 * span
        if box:
            self.box.set_bounds(float(x[0] - e[0] / 2), float(x[1] - e[1] / 2), float(e[0]), float(e[1]))
        self.box.set_visible(bool(box))
        if self.loss_marker is not None:
            lo = ex._get_loss_limits()[0]
            loss = run.losses[info["step"]] if info["step"] < len(run.losses) else np.nan
            y = float(np.clip(np.nan_to_num(loss, nan=lo, posinf=1e300), lo, None))
            self.loss_marker.set_data([info["step"]], [y])
            self.loss_marker.set_markerfacecolor(run.color)
        self.table.value = table_html(info, ex.scale, run.color)


# ---------------------------------------------------------------------------------------------
# 1-D explorer


class Inspector1D(_StepControls):
    """The step inspector of :class:`~.one_d.Explorer1D`: at x_t the local quadratic model, the
    tangent with the plain gradient step on it, and the update to x_{t+1}; a table."""

    def __init__(self, ex, steps: int):
        self._init_controls(ex, steps, self.update)
        w = _widgets()
        self.table = w.HTML(value="", layout=w.Layout(min_height="1.6em"))
        self.widget = w.VBox([self.row(), self.table])
        self._info: Optional[Dict[str, Any]] = None
        s = ex.scale
        ax = ex.ax
        self.model = ex._animate(ax.plot([], [], "-", color=_MODEL_COLOR, lw=2.2 * s, zorder=4.5)[0])
        self.tangent = ex._animate(ax.plot([], [], ":", color=_TANGENT_COLOR, lw=1.6 * s, zorder=4.4)[0])
        self.grad_arrow = _Arrow(ex, _GRAD_COLOR, 1.5, 7.2)
        self.update_arrow = _Arrow(ex, _UPDATE_COLOR, 1.8, 7.4)
        self.point_marker = ex._animate(ax.plot([], [], "o", ms=15 * s, mfc="none", mew=2.5 * s,
                                                mec="#ff7f0e", zorder=7.5)[0])
        self.next_marker = ex._animate(ax.plot([], [], "o", ms=5 * s, color=_UPDATE_COLOR, zorder=7.5)[0])

    def refresh(self) -> None:
        self.set_last(len(self.ex.trajectory) - 1)
        self.update()

    @property
    def inspection(self) -> Dict[str, Any]:
        if self._info is None or self._info["step"] != self.step:
            self.update()
        return self._info

    def _info_1d(self, t: int) -> Dict[str, Any]:
        ex = self.ex
        obj = ex.objective
        c = ex.controls
        method = c["method"].value
        lr = float(c["lr"].value)
        traj = ex.trajectory
        n = len(traj) - 1
        t = int(min(max(t, 0), n))
        x = float(traj[t])
        records = getattr(ex, "_records", [])
        rec = records[t] if t < len(records) else None
        with np.errstate(all="ignore"):
            fx, d1, d2 = float(obj(x)), float(obj.df(x)), float(obj.d2f(x))
            nxt = None if rec is None or rec["new"] is None else float(rec["new"])
            update = None if nxt is None else nxt - x
            state = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                     for k, v in (rec["state"] if rec is not None else {}).items()}
            names = {key: _guess_kind(key, state)[0] for key in state}
            kinds = {key: _guess_kind(key, state)[1] for key in state}
            if method == "gd":
                effective, formula = lr, "lr"
            elif method == "newton":
                effective, formula = float(np.float64(lr) / d2), "lr / f''(x_t)"
            elif method == "newton |f''|":
                effective, formula = float(np.float64(lr) / abs(d2)), "lr / |f''(x_t)|"
            else:
                fn = ex._custom[method]
                info = _hyperparameters_of_safe(fn)
                key = "lr" if "lr" in info else ("eta" if "eta" in info else None)
                terms = _guessed_terms(_full_hp(fn, {key: lr} if key else {}), state, kinds,
                                       lr if key else None, np.array([d1]),
                                       None if update is None else np.array([update]))
                effective = None if terms["effective"] is None else float(terms["effective"][0])
                formula = terms["formula"]
            newton_step = float(np.float64(-d1) / d2)
        taken = t < n
        note = _note(rec, taken, None if update is None else np.array([update]), ex.diverged_at)
        return {
            "step": t, "steps": n, "update_number": t + 1, "label": method, "rule": method,
            "point": x, "value": fx, "grad": d1, "hess": d2, "lr": lr,
            "raw_step": -lr * d1, "newton_step": newton_step,
            "update": update, "next_point": nxt, "taken": taken, "state": state,
            "state_names": names, "state_kinds": kinds,
            "effective_step": effective, "effective_formula": formula if effective is not None else "",
            "model": (fx, d1, d2), "note": note,
        }

    def update(self) -> None:
        ex = self.ex
        info = self._info_1d(self.step)
        self._info = info
        v = ex.view
        x, fx, d1, d2 = info["point"], info["value"], info["grad"], info["hess"]
        ok = all(math.isfinite(a) for a in (x, fx, d1, d2))
        span_x, span_y = v[1] - v[0], v[3] - v[2]
        self.point_marker.set_data([x], [fx] if math.isfinite(fx) else [np.nan])
        if ok:
            nxt = info["next_point"]
            lo, hi = x, x
            for z in (nxt, x + info["raw_step"]):
                if z is not None and math.isfinite(z):
                    lo, hi = min(lo, z), max(hi, z)
            w = 0.12 * span_x
            a, b = max(lo - w, v[0]), min(hi + w, v[1])
            u = np.linspace(a, b, 60) if b > a else np.array([x])
            self.model.set_data(u, fx + d1 * (u - x) + 0.5 * d2 * (u - x) ** 2)
            self.tangent.set_data(u, fx + d1 * (u - x))
            start = np.array([x, fx])
            gd = np.array([info["raw_step"], -info["lr"] * d1 * d1])  # along the tangent
            self.grad_arrow.place(start, gd, v, 1e-3 * min(span_x, span_y))
        else:
            self.model.set_data([], [])
            self.tangent.set_data([], [])
            self.grad_arrow.set_visible(False)
        nxt = info["next_point"]
        if ok and nxt is not None and math.isfinite(nxt):
            fn = float(ex.objective(nxt))
            _put(self.next_marker, (nxt, fn))
            self.update_arrow.place(np.array([x, fx]), np.array([nxt - x, fn - fx]), v,
                                    1e-3 * min(span_x, span_y))
        else:
            _put(self.next_marker, None)
            self.update_arrow.set_visible(False)
        self.table.value = table_html_1d(info, ex.scale)


def _hyperparameters_of_safe(fn: Callable) -> Dict[str, Any]:
    try:
        return _rules.hyperparameters_of(fn)
    except TypeError:
        return {}


def table_html_1d(info: Dict[str, Any], scale: float = 1.0) -> str:
    """The 1-D inspector's table."""
    t = info["step"]
    what = (f"x<sub>{t}</sub> &rarr; x<sub>{t + 1}</sub> (update k = {t + 1})" if info["taken"]
            else f"x<sub>{t}</sub>, the last point")
    header = f"<b>{html.escape(info['label'])}, step t = {t}</b> of {info['steps']}: {what}; lr = {_num(info['lr'])}"
    if info["note"]:
        header += f' <span style="color:#d62728">({html.escape(info["note"])})</span>'
    rows = [_row("point x_t", info["point"], "#ff7f0e", "&#9675;", 1),
            _row("f(x_t)", info["value"], None, ncols=1),
            _row("slope f'(x_t) (the gradient)", info["grad"], _TANGENT_COLOR, "&#8943;", 1),
            _row("curvature f''(x_t)", info["hess"], _MODEL_COLOR, "&#9644;", 1),
            _row("plain gradient step -lr f'(x_t)", info["raw_step"], _GRAD_COLOR, "&#10148;", 1),
            _row("Newton step -f'(x_t) / f''(x_t) (the model's minimum)", info["newton_step"], None, ncols=1)]
    for key, value in info["state"].items():
        vec = _vector(value, 1)
        if vec is not None:
            rows.append(_row(info["state_names"].get(key, key), vec, None, ncols=1))
    if info["effective_step"] is not None:
        rows.append(_row("effective step", info["effective_step"], None, ncols=1,
                         note=info["effective_formula"]))
    rows.append(_row("update x_t+1 - x_t" if info["taken"] else "next update (not taken)",
                     info["update"], _UPDATE_COLOR, "&#10148;", 1))
    rows.append(_row("next point x_t+1", info["next_point"], None, ncols=1))
    return _table([r for r in rows if r], header, ("x",), scale)


"""Update rules as the chapters write them from scratch, shared by the explorer and inspector tests.

Each call of a ``make_*`` function returns a new function object, so a test that decorates it
(``d2lmini.rules.hyperparams`` sets attributes on the function) never changes another test's rule.
"""
import numpy as np


def make_adam_rule():
    """Chapter 8's hand-written Adam, with a switch for the bias correction."""
    def adam_rule(x, g, state, eta=0.4, beta1=0.9, beta2=0.999, eps=1e-6, bias_correction=True):
        state["t"] = t = state.get("t", 0) + 1
        state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
        state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g ** 2
        m, v = state["m"], state["v"]
        if bias_correction:
            m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        return x - eta * m / (np.sqrt(v) + eps)

    return adam_rule

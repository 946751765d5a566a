"""The static part of a 2-D explorer's picture: contour grids, cached per (objective,
parameters, view), and the fixed limits of the loss panel."""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Tuple

import numpy as np

from .controls import View

_CONTOUR_COLOR = "#1f77b4"

# Contour grids, cached per (objective, parameters, view).
_GRID_CACHE: "OrderedDict[Any, Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]" = OrderedDict()
_GRID_CACHE_SIZE = 32


def _grid_key(objective, view: View, builtin: bool):
    params = tuple(sorted((k, float(v)) for k, v in objective.params.items()))
    return (objective.name, objective.title, params, tuple(view), None if builtin else id(objective))


def _contour_grid(objective, view: View, builtin: bool):
    key = _grid_key(objective, view, builtin)
    hit = _GRID_CACHE.get(key)
    if hit is not None:
        _GRID_CACHE.move_to_end(key)
        return hit
    with np.errstate(all="ignore"):
        x1, x2, z = objective.grid(view)
        z = np.asarray(z, dtype=float)
        if np.isfinite(z).sum() >= 2 and np.nanmax(z[np.isfinite(z)]) > np.nanmin(z[np.isfinite(z)]):
            levels = np.asarray(objective.levels(z), dtype=float)
        else:
            levels = np.array([])
    hit = (x1, x2, np.ma.masked_invalid(z), levels)
    _GRID_CACHE[key] = hit
    while len(_GRID_CACHE) > _GRID_CACHE_SIZE:
        _GRID_CACHE.popitem(last=False)
    return hit


def _loss_limits(objective, view: View, builtin: bool) -> Tuple[float, float]:
    """Fixed log y-limits of the loss panel for an objective: a decade above its largest gap."""
    z = _contour_grid(objective, view, builtin)[2]
    finite = np.asarray(z.filled(np.nan), dtype=float)
    finite = finite[np.isfinite(finite)]
    top = float(finite.max() - objective.fmin) if finite.size else 1.0
    if not math.isfinite(top) or top <= 0:
        top = 1.0
    top = 10.0 ** math.ceil(math.log10(top) + 1e-9)
    bottom = max(top * 1e-10, 1e-14)
    return bottom, top

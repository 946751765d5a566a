"""The explorers alive in this process.

Every explorer registers itself here when it is made; :func:`live_explorers` lists the ones
not yet closed (the notebook and browser tests exercise them all).
"""
from __future__ import annotations

import weakref
from typing import List

# Every explorer made in this process, oldest first (the notebook tests exercise them all).
_LIVE: List["weakref.ref"] = []


def live_explorers() -> list:
    """The explorers created in this process that are still alive and not closed, oldest first."""
    alive = [r() for r in _LIVE]
    _LIVE[:] = [weakref.ref(e) for e in alive if e is not None]
    return [e for e in alive if e is not None and not getattr(e, "closed", False)]

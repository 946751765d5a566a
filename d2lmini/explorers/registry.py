"""The explorers alive in this process, and the notebook cells that hold them.

Every explorer registers itself here when it is made (:func:`register`) and when it is
displayed (:func:`shown`); :func:`live_explorers` lists the ones not yet closed (the notebook
and browser tests exercise them all).

Re-running a cell replaces its output, but ipywidgets keeps every widget until it is closed
(about 4.5 MB per explorer), so each re-run would leave the old explorer alive. In IPython the
explorers a cell makes or displays belong to that cell; when the cell runs again, the
explorers its earlier run held and this run did not make or display again are closed, unless
another cell still shows them. A cell is known by its id (``ExecutionInfo.cell_id``, sent by
JupyterLab and Notebook 7 through ipykernel 6+) or, when the frontend sends none, by its
source text. Two IPython event hooks (``pre_run_cell``, ``post_run_cell``) do this; they are
registered once, when the first explorer is made. Outside IPython nothing is tracked.
"""
from __future__ import annotations

import contextlib
import sys
import weakref
from typing import Any, Dict, Hashable, List, Optional

# Every explorer made in this process, oldest first (the notebook tests exercise them all).
_LIVE: List["weakref.ref"] = []

#: Close a cell's earlier explorers when it runs again (bench/explorer_memory.py turns it off
#: to measure what that saves).
_close_on_rerun = True


def live_explorers() -> list:
    """The explorers created in this process that are still alive and not closed, oldest first."""
    alive = [r() for r in _LIVE]
    _LIVE[:] = [weakref.ref(e) for e in alive if e is not None]
    return [e for e in alive if e is not None and not getattr(e, "closed", False)]


def register(explorer) -> None:
    """A new explorer: list it, and give it to the running cell."""
    if len(_LIVE) > 200:
        _LIVE[:] = [r for r in _LIVE if r() is not None]
    _LIVE.append(weakref.ref(explorer))
    shown(explorer)


def shown(explorer) -> None:
    """The running cell made or displays ``explorer``: it belongs to that cell now."""
    cells = _cells()
    if cells is not None:
        cells.claim(explorer)


def _cell_key(info: Any) -> Optional[Hashable]:
    """What identifies a cell: its id, else its source text (None for neither)."""
    cell_id = getattr(info, "cell_id", None)
    if cell_id:
        return ("id", str(cell_id))
    raw = getattr(info, "raw_cell", None)
    if isinstance(raw, str) and raw.strip():
        return ("source", raw)
    return None


class _Cells:
    """Which cell holds which explorers, kept up to date by IPython's cell events."""

    def __init__(self, shell):
        self.current: Optional[Hashable] = None  # the running cell
        self.touched: "weakref.WeakSet" = weakref.WeakSet()  # made or shown by its run
        self.held: Dict[Hashable, "weakref.WeakSet"] = {}
        # The first explorer is made while a cell runs, after its pre_run_cell: find that cell.
        result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
        if result is not None:
            self.current = _cell_key(getattr(result, "info", None))
        shell.events.register("pre_run_cell", self.pre_run_cell)
        shell.events.register("post_run_cell", self.post_run_cell)

    def pre_run_cell(self, info=None) -> None:
        self.current = _cell_key(info)
        self.touched = weakref.WeakSet()

    def claim(self, explorer) -> None:
        if self.current is None:  # a silent execution or a widget callback: no cell
            return
        self.held.setdefault(self.current, weakref.WeakSet()).add(explorer)
        self.touched.add(explorer)

    def post_run_cell(self, result=None) -> None:
        key, self.current = self.current, None
        touched, self.touched = self.touched, weakref.WeakSet()
        held = self.held.get(key)
        if key is None or held is None:
            return
        for explorer in [e for e in held if e not in touched]:
            held.discard(explorer)
            if not _close_on_rerun or getattr(explorer, "closed", False):
                continue
            if not any(explorer in other for other in self.held.values()):
                with contextlib.suppress(Exception):  # e.g. one whose construction failed
                    explorer.close()
        if not held:
            del self.held[key]


_CELLS: Optional[_Cells] = None


def _cells() -> Optional[_Cells]:
    """The cell tracker of the running IPython shell, made on first use (None outside IPython)."""
    global _CELLS
    if _CELLS is None:
        if "IPython" not in sys.modules:
            return None
        shell = sys.modules["IPython"].get_ipython()
        if shell is None or not hasattr(shell, "events"):
            return None
        _CELLS = _Cells(shell)
    return _CELLS

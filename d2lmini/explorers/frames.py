"""The live figure shared by all explorers: a matplotlib figure shown as PNG frames.

The figure is built once with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``, never
pyplot, so the notebook backend does not matter). The static picture (contours, axes, labels)
is rendered once into a background bitmap; an update restores the background, draws only the
animated artists and encodes one PNG frame (zlib level 1) into an ``ipywidgets.Image``. Bursts
of control events are coalesced: the results are recomputed at once, the frame at most every
``FRAME_INTERVAL`` seconds with one trailing frame scheduled on the running event loop. Under
the ipympl backend (``%matplotlib widget``) the figure's own canvas widget is used instead.

Any error inside a widget callback is shown as a traceback in an ``Output`` widget under the
figure instead of being lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import time
import traceback
import zlib
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .controls import _close_tree, _widgets
from . import registry

#: Minimum time between two frames; events in between are coalesced into one trailing frame.
FRAME_INTERVAL = 0.03
_DPI = 100


def _presenter_scale() -> float:
    from ..plotting import presenter_scale

    return presenter_scale()


def _ipympl_active() -> bool:
    """True when matplotlib's backend is ipympl (``%matplotlib widget`` / ``ipympl``)."""
    import matplotlib

    try:
        name = matplotlib.rcParams._get_backend_or_none()  # does not trigger backend resolution
    except AttributeError:  # pragma: no cover - very old matplotlib
        name = matplotlib.get_backend()
    if not name:
        return False
    name = str(name).lower()
    return "ipympl" in name or name == "widget"


def _encode_png(rgba: np.ndarray) -> bytes:
    """A PNG of an (h, w, 4) uint8 array: no filter, zlib level 1 (fast, still lossless)."""
    h, w = rgba.shape[:2]
    raw = np.empty((h, w * 4 + 1), dtype=np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = rgba.reshape(h, w * 4)
    data = zlib.compress(raw, 1)

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + tag + payload
            + struct.pack(">I", zlib.crc32(tag + payload) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _remove_artist(artist) -> None:
    if artist is None:
        return
    try:
        artist.remove()
    except (AttributeError, NotImplementedError, ValueError):  # matplotlib < 3.8 ContourSet
        for coll in getattr(artist, "collections", ()):
            with contextlib.suppress(ValueError):
                coll.remove()


class _LiveFigure:
    """A matplotlib figure shown as a PNG ``ipywidgets.Image`` (blitting, throttled frames),
    or as ipympl's canvas widget when that backend is active."""

    frame_interval = FRAME_INTERVAL

    def _init_figure(self, figsize: Tuple[float, float]) -> None:
        w = _widgets()
        self._hold = 0
        self._pending = None
        self._frame_stale = True
        self._last_frame_end = -math.inf
        self._frame = b""
        self._bg = None
        self._bg_base = None
        self._static_dirty = True
        self._layer_dirty = True
        self._layer_ax = None
        self._animated: List[Any] = []
        self._shown_error: Optional[str] = None
        self.n_frames = 0
        self.n_updates = 0
        self.closed = False
        self.error: Optional[str] = None
        registry.register(self)
        self.output = w.Output(layout=w.Layout(max_width="100%"))
        scale = _presenter_scale()
        self.scale = scale
        self.fontsize = 12.0 * scale
        size = (figsize[0] * scale, figsize[1] * scale)
        self.ipympl = False
        self.fig = None
        if _ipympl_active():
            try:
                import matplotlib.pyplot as plt

                with plt.ioff():
                    fig = plt.figure(figsize=size, dpi=_DPI)
                self.fig = fig
                self.canvas = fig.canvas
                self.ipympl = True
                for attr, value in (("header_visible", False), ("resizable", False)):
                    with contextlib.suppress(Exception):
                        setattr(fig.canvas, attr, value)
            except Exception:  # pragma: no cover - broken ipympl: fall back to PNG frames
                self.fig = None
                self.ipympl = False
        if self.fig is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            self.fig = Figure(figsize=size, dpi=_DPI)
            self.canvas = FigureCanvasAgg(self.fig)
        self.image = None if self.ipympl else w.Image(format="png", layout=w.Layout(max_width="100%"))

    @property
    def figure_widget(self):
        """The widget that shows the figure (an Image, or ipympl's canvas)."""
        return self.canvas if self.ipympl else self.image

    def _animate(self, artist):
        artist.set_animated(not self.ipympl)
        self._animated.append(artist)
        return artist

    # --- error reporting --------------------------------------------------------------------
    def _report(self, text: Optional[str]) -> None:
        """Show ``text`` (a traceback) in the Output widget; None clears it."""
        self.error = text
        if text == self._shown_error:
            return
        self._shown_error = text
        self.output.outputs = ()
        if text:
            self.output.append_stderr(text)

    def _guard(self, fn: Callable, *args) -> Any:
        try:
            return fn(*args)
        except Exception:
            self._report(traceback.format_exc())
            return None

    # --- batching and updates ------------------------------------------------------------
    @contextlib.contextmanager
    def _batch(self):
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
            if self._hold == 0:
                self._refresh()

    @contextlib.contextmanager
    def _quiet(self):
        """Change controls without triggering recomputation (the caller refreshes)."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1

    def _refresh(self) -> None:
        """Recompute the results and ask for a frame (throttled)."""
        self._compute()
        self.n_updates += 1
        self._request_frame()

    def update(self) -> None:
        """Recompute and redraw now, synchronously."""
        self._compute()
        self.n_updates += 1
        self._render_frame()

    def _on_control(self, name: str) -> None:
        self._apply(name)
        if self._hold == 0:
            self._refresh()

    def _observe(self, name: str, widget) -> None:
        widget.observe(lambda change, name=name: self._guard(self._on_control, name), names="value")

    def _apply(self, name: str) -> None:  # structural reactions to a control; overridden
        pass

    def _set_priority(self, name: str) -> int:
        return 5

    def set(self, **values) -> None:
        """Set several controls at once (one recomputation, one frame)."""
        with self._batch():
            for name in sorted(values, key=self._set_priority):
                if name not in self.controls:
                    raise ValueError(
                        f"unknown control {name!r}; controls are {', '.join(self.controls)}"
                    )
                self.controls[name].value = values[name]

    # --- frames ---------------------------------------------------------------------------
    def _request_frame(self) -> None:
        if self.ipympl:
            self._render_frame()
            return
        self._frame_stale = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        now = time.perf_counter()
        if loop is None or now - self._last_frame_end >= self.frame_interval:
            self._render_frame()
            return
        if self._pending is None:
            delay = max(0.0, self.frame_interval - (now - self._last_frame_end))
            self._pending = loop.call_later(delay, self._trailing_frame)

    def _trailing_frame(self) -> None:
        self._pending = None
        if self._frame_stale:
            self._guard(self._render_frame)

    def _render_background(self) -> None:
        canvas, fig = self.canvas, self.fig
        if self._layer_ax is not None:
            self._layer_ax.set_visible(False)
            canvas.draw()
            self._layer_ax.set_visible(True)
        else:
            canvas.draw()
        self._bg_base = canvas.copy_from_bbox(fig.bbox)
        self._layer_dirty = True

    def _render_layer(self) -> None:
        canvas, fig = self.canvas, self.fig
        canvas.restore_region(self._bg_base)
        if self._layer_ax is not None:
            fig.draw_artist(self._layer_ax)
        self._bg = canvas.copy_from_bbox(fig.bbox)
        self._layer_dirty = False

    def _render_frame(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self.closed:  # its figure is cleared: it still computes, but draws nothing
            return
        if self._static_dirty:
            self._rebuild_static()
            self._static_dirty = False
            self._bg_base = None
        if self.ipympl:
            self.canvas.draw_idle()
            self._frame_stale = True  # the PNG is made on demand (see ``frame``)
            self._last_frame_end = time.perf_counter()
            self.n_frames += 1
            return
        if self._bg_base is None:
            self._render_background()
        if self._layer_dirty or self._bg is None:
            self._render_layer()
        canvas = self.canvas
        canvas.restore_region(self._bg)
        for artist in self._animated:
            if artist.get_visible():
                self.fig.draw_artist(artist)
        self._frame = _encode_png(np.asarray(canvas.buffer_rgba()))
        self.image.value = self._frame
        self._frame_stale = False
        self._last_frame_end = time.perf_counter()
        self.n_frames += 1

    @property
    def frame(self) -> bytes:
        """The PNG bytes of the current frame (drawn now if one is pending; empty once closed)."""
        if self.ipympl:
            import io

            buf = io.BytesIO()
            self.fig.savefig(buf, format="png", dpi=self.fig.dpi)
            self._frame = buf.getvalue()
            return self._frame
        if self._frame_stale:
            self._render_frame()
        return self._frame

    # --- display ----------------------------------------------------------------------------
    def _ipython_display_(self):
        from IPython.display import display

        registry.shown(self)
        display(self.widget)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        registry.shown(self)
        method = getattr(self.widget, "_repr_mimebundle_", None)
        if method is not None:
            return method(include=include, exclude=exclude, **kwargs)
        return {  # ipywidgets 7
            "text/plain": repr(self),
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            },
        }

    def _order_controls(self, first: Sequence[str]) -> None:
        """Put the named controls (the hyperparameters) first in ``controls``."""
        items = list(self.controls.items())
        self.controls.clear()
        self.controls.update((k, v) for k, v in items if k in first)
        self.controls.update((k, v) for k, v in items if k not in first)

    def close(self) -> None:
        """Close every widget of the explorer (layouts and styles too) and let go of the figure's
        pixels and artists (under ipympl: close the pyplot figure). A closed explorer still
        computes from its controls, but draws nothing. Re-running the notebook cell that made
        an explorer closes it (see :mod:`.registry`)."""
        self.closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self.ipympl:
            import matplotlib.pyplot as plt

            plt.close(self.fig)
        _close_tree(getattr(self, "widget", None), self.output, self.image, *self.controls.values(),
                    *getattr(self, "buttons", {}).values())
        if not self.ipympl:  # free the pixels too: a closed explorer may live on in Out[n]
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            self._bg = self._bg_base = None
            self._frame, self._frame_stale = b"", True
            self.image.value = b""
            self.fig.clear()  # the axes let go of their artists and ticks
            self.canvas = FigureCanvasAgg(self.fig)  # a new canvas has no renderer yet

    # subclasses implement
    def _compute(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rebuild_static(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

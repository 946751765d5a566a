"""The live figure shared by all explorers: a matplotlib figure shown as PNG frames.

The figure is built once with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``, never
pyplot, so the notebook backend does not matter). The static picture (contours, axes, labels)
is rendered once into a background bitmap; an update restores the background, draws only the
animated artists and encodes one PNG frame (zlib level 1) into an ``ipywidgets.Image``. Bursts
of control events are coalesced: the results are recomputed at once, the frame at most every
``FRAME_INTERVAL`` seconds with one trailing frame scheduled on the running event loop. This is
the one drawing path, whatever the matplotlib backend (inline, ``%matplotlib widget``, Colab).

Mouse events come from ipyevents (an ``ipyevents.Event`` on the image, in ipywidgets 7 and 8): a
pointer position is mapped from the page's pixels to the PNG's pixels (the browser may show the
image smaller or larger than it is, e.g. in a narrow window or in presenter mode) and from there
to data coordinates through the axes' transform; a subclass says which axes take clicks and
what a click or a drag there does (:meth:`_LiveFigure._pointer_axes`,
:meth:`_LiveFigure._pointer_to`). The moves of a drag are coalesced in the kernel: a move that
a newer one overtook before it was computed is dropped, so a slow explorer follows the mouse
one computation behind instead of replaying every move (:meth:`_LiveFigure._defer_move`);
presses, clicks and releases are never dropped. Where events cannot work (ipyevents missing,
or Colab without its custom widget manager) the explorer works with its sliders and shows a
note saying how to get clicks.

Any error inside a widget callback is shown as a traceback in an ``Output`` widget under the
figure instead of being lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import sys
import time
import traceback
import zlib
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .controls import _assign, _close_tree, _fit_value, _slider_text_class, _widgets
from . import registry

#: Minimum time between two frames; events in between are coalesced into one trailing frame.
FRAME_INTERVAL = 0.03
_DPI = 100

#: The browser events an explorer's picture listens to.
POINTER_EVENTS = ("click", "mousedown", "mousemove", "mouseup", "mouseleave")
#: ipyevents sends at most one event of a kind per this many milliseconds (mouse moves in a
#: drag; the last one of a burst is always sent).
EVENT_WAIT_MS = 30
#: For this long (seconds) after a click or drag last moved a slider, a value for it from the
#: page that the pointer had set before its latest one is a late echo (see
#: ``_LiveFigure._pointer_echo``).
POINTER_ECHO_SECONDS = 3.0
#: A drag's move waits at most this long (seconds) for newer moves before it is computed.
MOVE_WAIT_LIMIT = 0.5
#: Where the kernel's queue of messages cannot be seen: the time (seconds) the event loop gets
#: after a drag's computation to take in the moves that arrived meanwhile (one ipyevents
#: throttle interval) before the next one starts.
MOVE_GAP = EVENT_WAIT_MS / 1000
#: While the kernel still has messages to handle, a drag's move looks again after this long.
MOVE_RECHECK = 0.005

NOTE_NO_IPYEVENTS = (
    "Clicking on the plot needs the ipyevents package: <code>pip install ipyevents</code>, then "
    "restart the kernel. The sliders work without it."
)
NOTE_COLAB = (
    "To click on the plot in Colab, run the set-up cell at the top of the notebook (it turns on "
    "Colab's custom widget manager), then run this cell again. The sliders work without it."
)


def _presenter_scale() -> float:
    from ..plotting import presenter_scale

    return presenter_scale()


def _ipyevents():
    """The ipyevents module, or None when it is not installed."""
    try:
        import ipyevents
    except ImportError:
        return None
    return ipyevents


def _colab_without_widget_manager() -> bool:
    """On Colab, third-party widgets (ipyevents) render only once
    ``google.colab.output.enable_custom_widget_manager()`` ran."""
    if "google.colab" not in sys.modules:
        return False
    manager = sys.modules.get("google.colab.output._widgets")
    return not getattr(manager, "_installed_url", None)


def _event_pixel(event, width: float, height: float) -> Optional[Tuple[float, float]]:
    """The PNG pixel (x from the left, y from the top) under a pointer event of ipyevents.

    The event's position relative to the image (CSS pixels: ``clientX/Y`` minus
    ``boundingRectLeft/Top``, else ipyevents' ``relativeX/Y``, which it rounds to whole pixels)
    is scaled by the image's size on the page (``boundingRectWidth/Height``) against the PNG's
    size, so it holds whatever size the browser shows the image at. Without those fields,
    ipyevents' own ``dataX/Y`` (PNG pixels, rounded) is used. None when the event has no
    position.
    """
    def num(key):
        v = event.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None

    rx, ry, rw, rh = (num(k) for k in ("relativeX", "relativeY", "boundingRectWidth", "boundingRectHeight"))
    cx, cy, left, top = (num(k) for k in ("clientX", "clientY", "boundingRectLeft", "boundingRectTop"))
    if None not in (cx, cy, left, top):
        # ipyevents rounds relativeX/Y (clientX - the box's left) to whole pixels, but the box
        # often sits at a fraction of a pixel: the pointer's own position is exact
        rx, ry = cx - left, cy - top
    if None not in (rx, ry, rw, rh) and rw > 0 and rh > 0:
        return rx * width / rw, ry * height / rh
    dx, dy = num("dataX"), num("dataY")
    if dx is not None and dy is not None:
        return dx, dy
    return None


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The running event loop (an IPython kernel's), or None (plain Python: work at once)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _kernel_input_waiting() -> Optional[bool]:
    """Whether the IPython kernel this code runs in has messages from the page (or any client)
    that it has not handled yet; None where that cannot be known (no kernel, another kernel).

    ipykernel 6 reads its shell socket through a ``ZMQStream`` that puts each message into
    ``kernel.msg_queue``, and a task handles the queue in order. ``flush`` moves the messages
    already in the socket into the queue (what ipykernel's own ``do_one_iteration`` does for
    GUI event loops); they are handled in order as always, this only counts them.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        kernel = getattr(ipython.get_ipython(), "kernel", None)
        queue = getattr(kernel, "msg_queue", None)
        stream = getattr(kernel, "shell_stream", None)
        if queue is None or stream is None or not callable(getattr(queue, "qsize", None)):
            return None
        stream.flush(1)  # zmq.POLLIN: read, do not send
        return queue.qsize() > 0
    except Exception:  # another kernel's internals: fall back to the time gap
        return None


def _from_page(widget) -> bool:
    """Whether ``widget``'s value is being set by a message from the page (ipywidgets 7 and 8
    apply a front end's state under ``_property_lock``; a ``SliderText`` through its parts)."""
    for part in (widget, getattr(widget, "slider", None), getattr(widget, "text", None)):
        if part is not None and "value" in (getattr(part, "_property_lock", None) or {}):
            return True
    return False


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
    with mouse events from ipyevents."""

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
        self._asked: dict = {}
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
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=size, dpi=_DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self._init_events()

    @property
    def figure_widget(self):
        """The widget that shows the figure (an ``ipywidgets.Image``)."""
        return self.image

    # --- mouse events ---------------------------------------------------------------------
    def _init_events(self) -> None:
        """An ``ipyevents.Event`` on the image (``self.events``, None without ipyevents) and
        ``self.events_note``, an HTML note where clicks cannot work (else None)."""
        self._dragging = False
        self._pointer_trail: dict = {}  # control -> the values clicks and drags gave it, in order
        self._pointer_time = -math.inf
        self._move_target: Optional[Tuple[float, float]] = None  # a drag's newest move, not yet computed
        self._move_pending = None  # the loop's handle of the deferred move
        self._move_since = -math.inf  # when the pending move's first predecessor arrived
        self._move_end = -math.inf  # when the last computation for the pointer ended
        self._echo_stale = False  # a start slider took the page's echo of the pointer's latest value
        self.n_drag_moves = 0  # moves of a drag that reached the kernel
        self.n_drag_moves_dropped = 0  # ... that a newer move overtook before they were computed
        self.events = None
        note = None
        module = _ipyevents()
        if module is None:
            note = NOTE_NO_IPYEVENTS
        else:
            self.events = module.Event(
                source=self.image, watched_events=list(POINTER_EVENTS), prevent_default_action=True,
                throttle_or_debounce="throttle", wait=EVENT_WAIT_MS,
            )
            self.events.on_dom_event(lambda event: self._guard(self._on_pointer, event))
            if _colab_without_widget_manager():
                note = NOTE_COLAB
        self.events_note = None
        if note is not None:
            w = _widgets()
            self.events_note = w.HTML(
                value=f'<div style="font-size:{0.85 * self.scale:.2f}em;color:#666">{note}</div>')

    def _event_data(self, event, ax) -> Optional[Tuple[float, float, bool]]:
        """(x, y, inside): the data coordinates of ``ax`` under a pointer event and whether the
        pointer is inside the axes (None when the event has no position)."""
        width, height = self.canvas.get_width_height()
        pixel = _event_pixel(event, width, height)
        if pixel is None:
            return None
        display = (pixel[0], height - pixel[1])  # matplotlib's display y runs upwards
        inside = bool(ax.bbox.contains(*display))
        x, y = ax.transData.inverted().transform(display)
        return float(x), float(y), inside

    def _pixel_of(self, ax, x: float, y: float) -> Tuple[float, float]:
        """The PNG pixel (from the left, from the top) of the data point (x, y) of ``ax``: the
        inverse of the mapping above (tests click there)."""
        height = self.canvas.get_width_height()[1]
        px, py = ax.transData.transform((float(x), float(y)))
        return float(px), float(height - py)

    def _on_pointer(self, event) -> None:
        """A click on the axes moves the start there; a press there and a drag drag it live
        (a drag's moves are coalesced, :meth:`_defer_move`; frames are throttled as for
        sliders). A press, a click and a release are applied at once, never dropped."""
        if self.closed:
            return
        kind = event.get("type")
        if kind not in POINTER_EVENTS:
            return
        if kind == "mouseleave":
            self._end_drag()
            return
        ax = self._pointer_axes()
        if ax is None:
            return
        if kind in ("mousedown", "click") and event.get("button", 0) != 0:
            return
        if kind == "mousemove":
            if not self._dragging:
                return
            if not event.get("buttons", 1) & 1:  # released outside the picture
                self._end_drag()
                return
        elif kind == "mouseup" and not self._dragging:
            return
        where = self._event_data(event, ax)
        if where is None:
            if kind == "mouseup":
                self._end_drag()
            return
        x, y, inside = where
        if kind == "mousemove":
            self.n_drag_moves += 1
            self._defer_move(x, y)
            return
        if kind in ("mousedown", "click"):
            if not inside:
                return
            self._dragging = kind == "mousedown"
        elif kind == "mouseup":
            self._dragging = False
        self._drop_move()  # this event's position is newer than a move still waiting
        self._pointer_compute(x, y)
        self._settle_echo()

    def _pointer_compute(self, x: float, y: float) -> None:
        try:
            self._pointer_to(x, y)
        finally:
            self._move_end = time.monotonic()

    # A drag's moves. ipyevents sends a move every EVENT_WAIT_MS (30 ms) while the mouse moves;
    # an explorer that takes longer to compute (chapter 10's race of nine rules over 200 steps:
    # 0.2-0.5 s) used to compute every one of them in turn, and after a fast drag the picture
    # trailed the mouse by seconds. A move now only stores its position and leaves the
    # computation to one callback on the kernel's event loop, which computes the newest
    # position once no newer move is waiting; moves that were overtaken are dropped.
    #
    # How ipykernel 6 interleaves messages and callbacks decides how that callback waits
    # (``bench/drag_lag.py --kernel-order``: 20 comm messages 30 ms apart to a handler whose
    # computation costs 0.3 s, ipykernel 6.31). Its zmq stream reads one message per loop
    # iteration, and a callback scheduled with call_soon runs before the next message is read:
    # call_soon alone computed all 20 messages, call_later(0) 11 (every other one). What works
    # is to look at the kernel's own queue: flush the shell stream into ``kernel.msg_queue`` and
    # look again after MOVE_RECHECK while it holds messages: 3 computations for 20 messages (0,
    # 9, 19), the last one the newest, done 0.4 s after the last message instead of 5.5 s.
    # Where that queue cannot be seen (no ipykernel, another kernel, the tests' own event loop)
    # the loop gets MOVE_GAP after each computation to take in the moves that arrived meanwhile
    # (3 to 5 computations for 20 in four runs: under load a gap can end before all the moves
    # that arrived are in).
    # A move waits at most MOVE_WAIT_LIMIT, so a kernel busy with other messages still shows a
    # drag live. Without a running event loop (plain Python) a move is computed at once.
    #
    # The events' own ``timeStamp`` (the page's clock) was the other candidate; it says how old
    # a move is, but not whether a newer one is already waiting, which the queue says exactly.
    #
    # The deferred computation runs outside any message, so the page shows the kernel as idle
    # meanwhile, and a request for the kernel's state can be answered between a move's arrival
    # and its computation: tests wait for ``_move_target is None`` (tests/browser_support.py).

    #: False: compute every move of a drag at once, as before moves were coalesced (a switch
    #: for ``bench/drag_lag.py``, which measures both in one run).
    coalesce_drag_moves = True

    def _defer_move(self, x: float, y: float) -> None:
        """A drag's move to (x, y): computed by one deferred callback, unless a newer move comes
        first (see above)."""
        loop = _running_loop() if self.coalesce_drag_moves else None
        if self._move_target is not None:
            self.n_drag_moves_dropped += 1
        self._move_target = (x, y)
        if loop is None:
            self._apply_move()
        else:
            self._schedule_move(loop)

    def _schedule_move(self, loop) -> None:
        """Ask ``loop`` for the deferred computation (once: a later move joins it)."""
        if self._move_pending is None:
            self._move_since = time.monotonic()
            self._move_pending = loop.call_soon(self._guard, self._deferred_move)

    def _defer_echo(self) -> bool:
        """The page sent back the pointer's latest value of a start slider with its last bits
        changed (see :meth:`_pointer_echo`): the explorer computes with it, but on a running loop
        after the messages in hand, once for both start sliders; in a drag, with the next move
        or at the drag's end. False: no running loop (then it is computed at once, as any
        slider value)."""
        loop = _running_loop() if self.coalesce_drag_moves else None
        if loop is None:
            return False
        self._echo_stale = True
        self._schedule_move(loop)
        return True

    def _deferred_move(self) -> None:
        self._move_pending = None
        if self._move_target is None and (not self._echo_stale or self._dragging):
            return  # an echo in a drag waits for the next move or the drag's end
        if self.closed:
            return
        now = time.monotonic()
        if now - self._move_since < MOVE_WAIT_LIMIT:
            waiting = _kernel_input_waiting()
            if waiting is None:
                delay = MOVE_GAP - (now - self._move_end)
            else:
                delay = MOVE_RECHECK if waiting else 0.0
            if delay > 0:
                self._move_pending = asyncio.get_running_loop().call_later(
                    delay, self._guard, self._deferred_move)
                return
        self._apply_move()

    def _apply_move(self) -> None:
        """Compute the drag's newest move now (and a start slider's echo still waiting)."""
        if self._move_pending is not None:
            self._move_pending.cancel()
            self._move_pending = None
        target, self._move_target = self._move_target, None
        if target is not None and not self.closed:
            self._pointer_compute(*target)
        self._settle_echo()

    def _settle_echo(self) -> None:
        """Compute with a start slider's echo that no computation took in since it came."""
        if self._echo_stale and not self.closed and self._hold == 0:
            self._refresh()

    def _drop_move(self) -> None:
        """Forget a move still waiting: a newer position (a release, a press) replaces it."""
        if self._move_target is not None:
            self.n_drag_moves_dropped += 1
            self._move_target = None
        if self._move_pending is not None:
            self._move_pending.cancel()
            self._move_pending = None

    def _end_drag(self) -> None:
        """The drag ended without a position of its own (the pointer left the picture, or was
        released outside it): the last move still waiting is computed now."""
        self._dragging = False
        self._apply_move()

    def _pointer_set(self, values) -> None:
        """``_set`` for a click or a drag; remembers the values it gave (``_pointer_echo``)."""
        now = time.monotonic()
        if now - self._pointer_time > POINTER_ECHO_SECONDS:
            self._pointer_trail = {}
        self._pointer_time = now
        for name, value in values.items():
            trail = self._pointer_trail.setdefault(name, [])
            trail.append(float(value))
            del trail[:-256]
        self._set(values)

    def _pointer_echo(self, name: str, widget) -> Optional[str]:
        """Whether the page just sent back a value that a click or drag had set.

        A page's slider (ipywidgets 8's FloatSlider) sends a value the kernel set back to the
        kernel when its own step arithmetic makes it differ in the last bits (-0.89 comes back
        as -0.8900000000000001). During a drag the kernel sets the start sliders faster than a
        busy page applies them, so such an echo of an earlier point of the drag arrives after
        later points and would pull the start back.

        ``"late"``: a value the pointer gave before its latest one, within
        ``POINTER_ECHO_SECONDS`` of it (put back to the latest); ``"latest"``: the pointer's
        latest value with its last bits changed (kept, and computed with); None: anything else
        (the learner moved the slider: that ends the trail)."""
        trail = self._pointer_trail.get(name)
        if not trail or not _from_page(widget):
            return None
        if time.monotonic() - self._pointer_time > POINTER_ECHO_SECONDS:
            self._pointer_trail.pop(name, None)
            return None
        value = float(widget.value)
        tol = 1e-6 * float(getattr(widget, "step", 0) or 0) + 1e-12 * max(1.0, abs(value))
        if abs(value - trail[-1]) <= tol:
            return "latest"
        if any(abs(value - old) <= tol for old in trail[:-1]):
            return "late"
        self._pointer_trail.pop(name, None)
        return None

    def _pointer_axes(self):  # the axes that take clicks (None: none); overridden
        return None

    def _pointer_to(self, x: float, y: float) -> None:  # what a click or drag does; overridden
        pass

    def _animate(self, artist):
        artist.set_animated(True)
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
        self._echo_stale = False
        self._compute()
        self.n_updates += 1
        self._request_frame()

    def update(self) -> None:
        """Recompute and redraw now, synchronously."""
        self._echo_stale = False
        self._compute()
        self.n_updates += 1
        self._render_frame()

    def _on_control(self, name: str) -> None:
        widget = self.controls.get(name)
        echo = self._pointer_echo(name, widget) if widget is not None else None
        if echo == "late":
            with self._quiet():  # back to the pointer's latest value, which is computed
                widget.value = self._pointer_trail[name][-1]
            return
        if widget is not None and not _fit_value(widget):  # a value set from Python off the grid
            self._number_box(name)  # ... that no sensible grid holds
        self._apply(name)
        if echo == "latest" and self._defer_echo():
            return  # computed with the drag's moves
        if self._hold == 0:
            self._refresh()

    def _observe(self, name: str, widget) -> None:
        widget.observe(lambda change, name=name: self._guard(self._on_control, name), names="value")

    def _apply(self, name: str) -> None:  # structural reactions to a control; overridden
        pass

    def _set_priority(self, name: str) -> int:
        return 5

    def set(self, **values) -> None:
        """Set several controls at once (one recomputation, one frame). A value that is not on a
        slider's grid is added to it (a finer step, a wider range, a new option), so the
        slider shows the value the explorer uses. ``code_values`` remembers what was set."""
        self._set(values)
        self._asked.update(values)

    def _set(self, values) -> None:
        """``set`` for the explorer's own moves (buttons, clicks): not recorded as asked for."""
        with self._batch():
            for name in sorted(values, key=self._set_priority):
                if name not in self.controls:
                    raise ValueError(
                        f"unknown control {name!r}; controls are {', '.join(self.controls)}"
                    )
                _assign(self.controls[name], values[name])

    @property
    def code_values(self) -> dict:
        """The values the code asked for: each control's opening value (``opening``), then what
        ``set(...)`` changed since (the browser tests compare the page's sliders with these)."""
        out = dict(self.opening)
        out.update(self._asked)
        return out

    @property
    def opening(self) -> dict:  # overridden: the value each control opened with
        return {}

    # --- frames ---------------------------------------------------------------------------
    def _request_frame(self) -> None:
        self._frame_stale = True
        loop = _running_loop()
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

    def _number_box(self, name: str) -> None:
        """Put a ``SliderText`` (a slider beside a number box that holds the exact value) in
        place of the ``FloatSlider`` ``controls[name]``, whose value (set from Python) sits on
        no sensible grid: in ``controls``, in the rules' controls and in the layout."""
        old = self.controls[name]
        new = _slider_text_class()(value=float(old.value), min=float(old.min), max=float(old.max),
                                   step=float(old.step), description=old.description)
        new.layout.display = old.layout.display
        self.controls[name] = new
        for run in getattr(self, "_runs", ()):
            for key, widget in run.controls.items():
                if widget is old:
                    run.controls[key] = new
        todo = [getattr(self, "widget", None)]
        while todo:
            box = todo.pop()
            children = getattr(box, "children", None)
            if not children:
                continue
            if any(child is old for child in children):
                box.children = tuple(new if child is old else child for child in children)
            todo.extend(children)
        old.unobserve_all()
        _close_tree(old)
        self._observe(name, new)

    def _order_controls(self, first: Sequence[str]) -> None:
        """Put the named controls (the hyperparameters) first in ``controls``."""
        items = list(self.controls.items())
        self.controls.clear()
        self.controls.update((k, v) for k, v in items if k in first)
        self.controls.update((k, v) for k, v in items if k not in first)

    def close(self) -> None:
        """Close every widget of the explorer (layouts and styles too) and let go of the figure's
        pixels and artists. A closed explorer still computes from its controls, but draws
        nothing. Re-running the notebook cell that made an explorer closes it (see
        :mod:`.registry`)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.closed = True
        self._dragging = False
        self._drop_move()
        self._echo_stale = False
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self.events is not None:
            self.events.reset_callbacks()
        _close_tree(getattr(self, "widget", None), self.output, self.image, self.events, self.events_note,
                    *self.controls.values(), *getattr(self, "buttons", {}).values())
        # free the pixels too: a closed explorer may live on in Out[n]
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

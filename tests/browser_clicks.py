"""Browser checks for issue 17: clicks and drags on the explorers' pictures.

In a notebook page (JupyterLab, headless Chromium), for every explorer:

* a click on the contour plot (a 2-D explorer or a race) moves the start point there, and a
  click on a 1-D explorer's plot sets x0: the kernel's start is the clicked point to within a
  pixel and the start sliders' grid; the picture changed and is the kernel's current frame; the
  readout under the picture is the kernel's; the start sliders show the kernel's values;
* a press on the start point and a drag drag it live: the picture changes several times while
  the mouse moves, and the start ends where the mouse was released;
* a click outside the plot's axes changes nothing;
* a fast drag (:func:`check_fast_drag`, on the slowest explorer of the page): the mouse moves
  40 times, 35 ms apart, without waiting for the picture, then is released. The start, picture
  and readout end as the kernel has them at the release point; on an explorer whose update
  takes longer than a few moves (chapter 10's race on Rosenbrock), the kernel computed no more
  moves than the drag's time has room for (it drops moves a newer one overtook) and the picture
  settled within a few updates after the release, where computing every move takes one per move.

The data point under the mouse comes from the kernel (``_pixel_of``: the axes' transform) and
the image's size on the page, so the checks hold at whatever size the browser shows the
picture. :func:`check_clicks` runs them on a page; :func:`check_widget_backend` writes a
notebook that starts with ``%matplotlib widget`` into the lab server's folder (only there),
makes one of each kind of explorer and runs the same checks (and the caller's own), so the
widget backend is covered without running every chapter twice.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

import browser_support as bs
import browser_readouts

#: Per kernel explorer: what the click checks need to know.
KERNEL_GEOMETRY = (
    "(lambda e: {'kind': type(e).__name__, 'png': list(e.canvas.get_width_height()), "
    "'view': [*e.ax.get_xlim(), *e.ax.get_ylim()], "
    "'bbox': [e.ax.bbox.x0, e.ax.bbox.y0, e.ax.bbox.x1, e.ax.bbox.y1], "
    "'start': ([float(e.controls['x0'].value)] if 'x0' in e.controls else "
    "[float(e.controls['x1'].value), float(e.controls['x2'].value)]), "
    "'step': float(e.controls['x0' if 'x0' in e.controls else 'x1'].step), "
    "'n_frames': e.n_frames, 'n_updates': e.n_updates, 'events': e.events is not None})(E[{k}])"
)

WIDGET_BACKEND_NOTEBOOK = "_widget_backend_explorers.ipynb"

#: One of each kind of explorer under ``%matplotlib widget``: a named rule (rule drop-down,
#: ladders near 1 and of decades), a rule function (no drop-down; an lr no grid holds: a number
#: box, whose slider sits on 0.35 of a (0, 0.95) grid with step 0.005, a point that ipywidgets
#: 8's slider sends back as 0.3499999999999999 when it draws it: the box must keep 0.3512),
#: noise and a warm-up schedule, a race of new rules, and a 1-D explorer.
WIDGET_BACKEND_CELLS = [
    "%matplotlib widget\nimport numpy as np\nimport d2lmini as d2l",
    'named = d2l.explore("adam", beta2=0.999, eps=1e-6)\nnamed',
    "@d2l.hyperparams(eta=(0.0, 0.95))\ndef my_gd(x, g, state, eta=0.1):\n    return x - eta * g\n\n"
    "own = d2l.explore(my_gd, eta=0.3512)\nown",
    'noisy = d2l.explore("momentum", stochastic=True, noise=0.5, schedule="cosine with warm-up", warmup=5)\nnoisy',
    'race = d2l.race({"lion": ("lion", {"lr": 0.2}), "radam": ("radam", {"lr": 0.3}), '
    '"adamw_sf": "adamw_schedulefree"}, steps=30, stochastic=True)\nrace',
    'one = d2l.explore_1d("newton", objective="xcos", lr=1.0)\none',
]


def _geometry(page, k) -> Dict[str, Any]:
    return bs.kernel_value(page, KERNEL_GEOMETRY.replace("{k}", str(k)))


def _page_point(page, i, k, x, y):
    """The whole viewport pixel nearest the data point (x, y) of explorer ``i``'s axes, and the
    size of one CSS pixel in data units. Whole pixels: Chromium delivers a mouse event at a
    fractional point with clientX/Y cut to whole pixels (450.99 arrives as 450), so a
    fractional aim misses by up to a pixel before the page's own rounding."""
    px, py = bs.kernel_value(page, f"E[{k}]._pixel_of(E[{k}].ax, {float(x)!r}, {float(y)!r})")
    g = _geometry(page, k)
    box = _image_box(page, i)
    sx, sy = box["width"] / g["png"][0], box["height"] / g["png"][1]
    v, b = g["view"], g["bbox"]
    per_px = ((v[1] - v[0]) / (b[2] - b[0]) / sx, (v[3] - v[2]) / (b[3] - b[1]) / sy)
    return round(box["x"] + px * sx), round(box["y"] + py * sy), per_px


def _image_box(page, i, center: bool = False):
    """The picture's box on the page (viewport pixels); ``center`` scrolls it to the middle of
    the window first, away from the edges where a press-and-drag would scroll the notebook."""
    img = page.explorer_locator(i).locator(":scope > img")
    if center:
        img.evaluate("(e) => e.scrollIntoView({block: 'center', inline: 'nearest'})")
    else:
        img.scroll_into_view_if_needed()
    # JupyterLab may still lay out the cells around it (windowed notebooks measure cells as
    # they come into view): wait until the picture's box holds still for 0.15 s (at most 3 s).
    box, since, deadline = img.bounding_box(), time.monotonic(), time.monotonic() + 3.0
    while time.monotonic() < deadline and time.monotonic() - since < 0.15:
        time.sleep(0.05)
        now = img.bounding_box()
        if now != box:
            box, since = now, time.monotonic()
    return box


def _outside_point(page, i, k):
    """A page point on the picture but left of the axes (in the tick labels' margin)."""
    g = _geometry(page, k)
    img = page.explorer_locator(i).locator(":scope > img")
    box = img.bounding_box()
    b, (w, h) = g["bbox"], g["png"]
    px, py = b[0] * 0.3, h - (b[1] + b[3]) / 2
    return box["x"] + px * box["width"] / w, box["y"] + py * box["height"] / h


def _wait_start(page, k, before, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        g = _geometry(page, k)
        if g["start"] != before:
            return g
        time.sleep(0.1)
    return _geometry(page, k)


def _check_state(page, i, k, where, target, per_px, before_sha) -> List[str]:
    """After a click or drag settled: the start near ``target``, the picture the kernel's new
    frame, the readouts the kernel's."""
    item, d, controls, sliders = browser_readouts._synced(page, i, k)
    g = _geometry(page, k)
    problems = []
    for axis, (got, want) in enumerate(zip(g["start"], target)):
        tol = 1.0 * per_px[axis] + g["step"] / 2 + 1e-9
        if abs(got - want) > tol:
            problems.append(f"{where}: the start is {g['start']} but the mouse was at {target} "
                            f"(tolerance {tol:.4g})")
    sha = page.picture_sha(i)
    if sha == before_sha:
        problems.append(f"{where}: the picture did not change")
    if sha != item["frame_sha"]:
        problems.append(f"{where}: the picture in the page is not the kernel's current frame")
    if bs.normalize_readout(d["readout"]) != bs.normalize_readout(item["readout"]):
        problems.append(f"{where}: the page's readout {d['readout']!r} is not the kernel's {item['readout']!r}")
    if item["error"] or d["output"]:
        problems.append(f"{where}: error: {item['error'] or d['output'][:300]}")
    problems += browser_readouts._compare(where, sliders, controls, False)
    return problems


def check_clicks(page: bs.NotebookPage, only: Optional[List[int]] = None) -> List[Dict[str, Any]]:
    """Click, drag and click outside on every explorer of the page (see the module's
    docstring), or on the explorers ``only`` lists (their indexes in the page); asserts, and
    returns what was done per explorer."""
    dom, kernel, mapping = bs.match_explorers(page)
    problems, report = [], []
    mouse = page.page.mouse
    for i in range(len(dom)):
        if only is not None and i not in only:
            continue
        k = mapping[i]
        assert k is not None, f"explorer {i} in the page shows no kernel explorer's current frame"
        g = _geometry(page, k)
        kind, v = g["kind"], g["view"]
        where = f"explorer {i} ({kind})"
        if not g["events"]:
            problems.append(f"{where}: no ipyevents Event on the picture")
            continue
        one_d = len(g["start"]) == 1
        watch = f"explorer-{i}"

        # 1. a click outside the axes changes nothing (first: it also makes the cell active,
        # which JupyterLab marks by a style change that may shift the picture by a pixel or two)
        g = _geometry(page, k)
        sha = page.picture_sha(i)
        _image_box(page, i, center=True)
        ox, oy = _outside_point(page, i, k)
        mouse.click(ox, oy)
        time.sleep(0.8)
        page.wait_kernel_idle()
        g2 = _geometry(page, k)
        if g2["start"] != g["start"] or g2["n_updates"] != g["n_updates"] or page.picture_sha(i) != sha:
            problems.append(f"{where}: a click outside the axes moved the start {g['start']} -> {g2['start']} "
                            f"or redrew the picture")

        # 2. a click
        _image_box(page, i, center=True)
        tx, ty = v[0] + 0.3 * (v[1] - v[0]), v[2] + 0.7 * (v[3] - v[2])
        x, y, per_px = _page_point(page, i, k, tx, ty)
        before_sha, since = page.picture_sha(i), page.changes(watch)
        mouse.click(x, y)
        _wait_start(page, k, g["start"])
        with_settle(page, watch, since)
        target = [tx] if one_d else [tx, ty]
        problems += _check_state(page, i, k, f"{where}, click", target, per_px, before_sha)

        # 3. press on the start and drag it live
        g = _geometry(page, k)
        sx = g["start"][0]
        sy = ty if one_d else g["start"][1]
        x0, y0, _ = _page_point(page, i, k, sx, sy)
        dx, dy = v[0] + 0.65 * (v[1] - v[0]), v[2] + 0.35 * (v[3] - v[2])
        x1, y1, per_px = _page_point(page, i, k, dx, dy)
        before_sha, since = page.picture_sha(i), page.changes(watch)
        box_before = _image_box(page, i)
        mouse.move(x0, y0)
        mouse.down()
        n_moves = 10
        for m in range(1, n_moves + 1):
            # the mouse rests until the picture followed (at least 0.08 s, at most 3 s): an
            # explorer whose update takes longer than a fast drag's step (chapter 10's race of
            # nine rules over 200 steps: 0.2-0.5 s on a busy 2-core machine) still shows it live
            seen = page.changes(watch)
            mouse.move(round(x0 + (x1 - x0) * m / n_moves), round(y0 + (y1 - y0) * m / n_moves))
            time.sleep(0.08)
            deadline = time.monotonic() + 3.0
            while page.changes(watch) == seen and time.monotonic() < deadline:
                time.sleep(0.02)
        during = page.changes(watch) - since
        mouse.up()
        box_after = page.explorer_locator(i).locator(":scope > img").bounding_box()
        if (round(box_after["x"]), round(box_after["y"])) != (round(box_before["x"]), round(box_before["y"])):
            problems.append(f"{where}, drag: the page scrolled during the drag ({box_before} -> {box_after})")
        with_settle(page, watch, since)
        target = [dx] if one_d else [dx, dy]
        problems += _check_state(page, i, k, f"{where}, drag", target, per_px, before_sha)
        if during < 2:
            problems.append(f"{where}, drag: the picture changed {during} time(s) while the mouse moved "
                            "(a live drag redraws as it goes)")

        report.append({"kind": kind, "picture_changes_during_drag": during})
    assert not problems, f"{page.name}:\n" + "\n".join(problems)
    return report


#: Seconds the kernel takes to update each explorer of the page: compute its paths and draw a
#: frame (``update()``; the median of three; the same picture, so the page gets nothing new).
KERNEL_UPDATE_SECONDS = (
    "[(lambda e, t=__import__('time'): sorted((lambda s: (e.update(), t.perf_counter() - s)[1])"
    "(t.perf_counter()) for _ in range(3))[1])(e) for e in E]"
)
#: A slow explorer whose update takes less than this is made to take this long during the fast
#: drag (``PAD_COMPUTE``), so that the drag's bounds can tell the two behaviours apart.
SLOW_TARGET_SECONDS = 0.5
PAD_COMPUTE = (
    "(lambda e, t=__import__('time'): (setattr(e, '_compute', (lambda f=type(e)._compute.__get__(e): "
    "(f(), t.sleep({seconds}))[0])), True)[1])(E[{k}])"
)
#: A fast drag: this many moves, this many seconds apart (ipyevents sends one per 30 ms).
FAST_MOVES, FAST_SPACING = 40, 0.035
#: An explorer is slow when one update takes at least this many move intervals: then
#: computing every move would lag, and the kernel must drop the stale ones.
SLOW_COMPUTE_MOVES = 3
#: After the release of a fast drag on a slow explorer the kernel may still: finish the move it
#: is computing, compute the release point, and compute once with the start sliders' values
#: that the page echoes back with their last bits changed (ipywidgets 8; see ``_LiveFigure._pointer_echo``);
#: then the page gets the frame. Three updates; on a loaded machine an update in a drag (with
#: its slider messages) took up to 1.5 times the one ``update()`` measured before it
#: (``bench/drag_lag.py``), and the page's part varies: the picture settles within this many
#: updates (and a second for the page), where computing every move would take one update per
#: move (30 or more).
SETTLE_UPDATES = 8


def fast_drag(page: bs.NotebookPage, i: int, k: int, moves: int = FAST_MOVES,
              spacing: float = FAST_SPACING, timeout: float = 60.0, reverse: bool = False) -> Dict[str, Any]:
    """Press on explorer ``i`` (kernel explorer ``k``), move the mouse ``moves`` times
    ``spacing`` seconds apart along a diagonal of the view (``reverse``: the other way) without
    waiting for the picture, release, and wait until the kernel handled the release and the
    page shows its picture. Returns what happened: the moves the kernel got and the
    computations it made (``n_updates``; the press and the release included), the seconds from
    the release to the last new picture in the page (``lag``), the target, the picture's SHA
    before, and ``per_px`` (for :func:`_check_state`).

    The kernel's status in the page is no proof that it is done: a drag's move is computed by a
    callback on the kernel's event loop, outside any message, while the status says idle; and
    the page's messages may reach the kernel after the test's own requests (two connections).
    So this waits for the kernel to say that the drag ended and no move waits."""
    g = _geometry(page, k)
    v, one_d = g["view"], len(g["start"]) == 1
    watch = f"explorer-{i}"
    moved = bs.kernel_value(page, f"E[{k}].n_drag_moves")
    fx0, fy0, fx1, fy1 = (0.7, 0.3, 0.2, 0.75) if reverse else (0.2, 0.75, 0.7, 0.3)
    sx, sy = v[0] + fx0 * (v[1] - v[0]), v[2] + fy0 * (v[3] - v[2])
    dx, dy = v[0] + fx1 * (v[1] - v[0]), v[2] + fy1 * (v[3] - v[2])
    _image_box(page, i, center=True)
    x0, y0, _ = _page_point(page, i, k, sx, sy)
    x1, y1, per_px = _page_point(page, i, k, dx, dy)
    before_sha, since = page.picture_sha(i), page.changes(watch)
    mouse = page.page.mouse
    mouse.move(x0, y0)
    pressed = time.monotonic()
    mouse.down()
    for m in range(1, moves + 1):
        time.sleep(spacing)
        mouse.move(round(x0 + (x1 - x0) * m / moves), round(y0 + (y1 - y0) * m / moves))
    mouse.up()
    drag_seconds = time.monotonic() - pressed
    deadline = time.monotonic() + timeout
    while bs.kernel_value(page, f"E[{k}]._dragging or E[{k}]._move_target is not None"):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    bs.wait_synced(page, i, k, timeout=max(1.0, deadline - time.monotonic()))
    after = _geometry(page, k)
    lag_ms = page.page.evaluate(
        "(k) => { const c = window.__d2l.changes[k]; return c.times[c.times.length - 1] - "
        "window.__d2l.ups[window.__d2l.ups.length - 1]; }", watch)
    return {"kind": g["kind"], "moves": bs.kernel_value(page, f"E[{k}].n_drag_moves") - moved,
            "computations": after["n_updates"] - g["n_updates"], "lag": lag_ms / 1000,
            "drag_seconds": drag_seconds,
            "target": [dx] if one_d else [dx, dy], "per_px": per_px, "before_sha": before_sha}


def check_fast_drag(page: bs.NotebookPage) -> Dict[str, Any]:
    """A fast drag (:func:`fast_drag`) on the page's slowest explorer: it ends at the release
    point (start, picture, readout and sliders as the kernel has them). Where the explorer is
    slow (an update costs at least ``SLOW_COMPUTE_MOVES`` move intervals), the kernel made no
    more computations than the drag's time has room for (one per update time, and four more:
    the press, the release, the start sliders' echo and one in flight at the release), where
    computing every move makes one per move; and the picture settled within
    ``SETTLE_UPDATES`` updates (and a second for the page) after the release, less than half of
    what one update per move would take. Asserts; returns what was measured."""
    dom, kernel, mapping = bs.match_explorers(page)
    seconds = bs.kernel_value(page, KERNEL_UPDATE_SECONDS)
    shown = [(seconds[k], i, k) for i, k in enumerate(mapping) if k is not None]
    assert shown, f"{page.name}: no explorer in the page shows a kernel explorer's current frame"
    compute, i, k = max(shown)
    where = f"explorer {i} ({_geometry(page, k)['kind']}), fast drag"
    padded = SLOW_COMPUTE_MOVES * FAST_SPACING <= compute < SLOW_TARGET_SECONDS
    if padded:
        # A slow explorer, but on a quick machine not slow enough for 40 moves to tell dropping
        # stale moves from computing each one: each computation of this drag also waits, so one
        # takes SLOW_TARGET_SECONDS (the kernel is blocked as by a slower computation).
        bs.kernel_value(page, PAD_COMPUTE.format(k=k, seconds=SLOW_TARGET_SECONDS - compute))
        compute = SLOW_TARGET_SECONDS
    try:
        out = fast_drag(page, i, k)
    finally:
        if padded:
            bs.kernel_value(page, f"E[{k}].__dict__.pop('_compute', None) is not None")
    problems = _check_state(page, i, k, where, out["target"], out["per_px"], out["before_sha"])
    slow = compute >= SLOW_COMPUTE_MOVES * FAST_SPACING
    n, bound = out["moves"], SETTLE_UPDATES * compute + 1.0
    room = out["drag_seconds"] / compute + 4
    if n < FAST_MOVES // 2:
        problems.append(f"{where}: the kernel got {n} moves of {FAST_MOVES}")
    if slow:
        if out["computations"] > room:
            problems.append(f"{where}: {out['computations']} computations for {n} moves of a "
                            f"{out['drag_seconds']:.2f} s drag (one update takes {compute:.2f} s): stale "
                            "moves were computed")
        if out["lag"] > bound:
            problems.append(f"{where}: the picture settled {out['lag']:.2f} s after the release, more "
                            f"than {SETTLE_UPDATES} updates ({compute:.2f} s each) and a second")
        if max(bound, room * compute) > n * compute / 2:
            problems.append(f"{where}: too few moves ({n}) to tell a coalesced drag from one that "
                            f"computes every move")
    assert not problems, f"{page.name}:\n" + "\n".join(problems)
    return {"explorer": i, "update_seconds": round(compute, 3), "slow": slow, "padded": padded,
            **{key: out[key] for key in ("kind", "moves", "computations", "lag", "drag_seconds")}}


def with_settle(page, watch, since, timeout=20):
    """Wait for a settled new picture; a timeout is left to the checks that follow."""
    try:
        page.wait_settled(watch, since, timeout=timeout)
    except Exception:  # playwright's TimeoutError
        pass


def check_scratch_notebook(server: bs.LabServer, context, name: str, cells: List[str],
                           kinds: List[str], *others: Callable[[bs.NotebookPage], Any],
                           environment: Optional[Callable[[bs.NotebookPage], Any]] = None,
                           clicks_on_each_kind: bool = False):
    """Write a notebook of ``cells`` into the lab server's served temporary folder (only there),
    open and run it in a page: it runs without errors and shows explorers of ``kinds`` (in
    order), each drawing into an image; ``environment(page)`` (if given) checks the widget stack
    and backend; then the readouts are true (:func:`browser_readouts.check_readouts`), the
    caller's checks ``others(page)`` run, then the clicks and drags (:func:`check_clicks`) on
    every explorer, or with ``clicks_on_each_kind`` on the first of each kind (the page's
    events reach every explorer of a kind the same way). Returns what each check reported."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    server.write_notebook(name, nb)
    page = bs.NotebookPage(server, context, name)
    try:
        page.open()
        unexecuted = page.run_all()
        errors = page.error_outputs()
        assert not unexecuted and not errors, f"{name}: cells not run {unexecuted}, errors {errors}"
        out = {"environment": environment(page) if environment is not None else None}
        dom = page.explorers()
        assert len(dom) == len(kinds) and all(d["figure"] == "image" for d in dom), (
            f"{name}: {len(dom)} explorers in the page ({[d['figure'] for d in dom]}), "
            f"{len(kinds)} expected")
        mapping = bs.match_explorers(page)[2]
        assert None not in mapping, f"{name}: a picture in the page is no explorer's current frame {mapping}"
        found = [_geometry(page, k)["kind"] for k in mapping]
        assert found == list(kinds), found
        out["readouts"] = browser_readouts.check_readouts(page)
        for n, check in enumerate(others):
            out[f"check {n}"] = check(page)
        firsts = sorted({kind: i for i, kind in reversed(list(enumerate(found)))}.values())
        out["clicks"] = check_clicks(page, only=firsts if clicks_on_each_kind else None)
        assert not page.page_errors, page.page_errors
        return out
    finally:
        page.close()


def _widget_backend(page: bs.NotebookPage) -> str:
    backend = bs.kernel_value(page, "__import__('matplotlib').get_backend()")
    assert "ipympl" in backend.lower() or "widget" in backend.lower(), backend
    return backend


def check_widget_backend(server: bs.LabServer, context, *others: Callable[[bs.NotebookPage], Any]):
    """The widget backend (``%matplotlib widget``) in one generated notebook: it runs without
    errors; each explorer draws into an image as under the inline backend; the readouts are
    true (:func:`browser_readouts.check_readouts`), then the caller's checks ``others(page)``
    run, then the clicks and drags (:func:`check_clicks`)."""
    return check_scratch_notebook(
        server, context, WIDGET_BACKEND_NOTEBOOK, WIDGET_BACKEND_CELLS,
        ["Explorer2D", "Explorer2D", "Explorer2D", "Race", "Explorer1D"], *others,
        environment=_widget_backend)

"""Browser checks of the step inspector (called from ``tests/test_browser.py``).

On the page that test already ran (no notebook runs again), for every explorer:

* the ``step t`` slider moves by three key presses; once the update settled, the picture
  changed and is the kernel's current frame, the slider shows the kernel's step, and the
  inspector's table in the page shows the kernel's table and, row by row, the numbers of the
  kernel's ``inspection`` (point, gradient, update, next point, effective step); the kernel's
  inspection is the path's point at that step;
* the ``ms per step`` slider goes to its fastest end with the Home key (the browser links it
  to the Play widget's interval: the kernel's Play interval follows), the Play button starts
  the playback (the kernel moves ``step`` and Play follows), the pictures change while it
  plays, the button pauses it; once settled the same checks hold at the step it reached;
* in a race, the ``inspect`` drop-down picks another run, and the table follows.

The kernel is asked over the server's websocket (``NotebookPage.kernel``), as in
``tests/browser_support.py``.
"""
from __future__ import annotations

import html
import json
import re
import time

import pytest

#: The kernel's view of explorer ``k``: controls, frame, table and inspection (JSON).
KERNEL_SOURCE = r'''
def inspector_state(k):
    import hashlib, json
    import numpy as np
    from d2lmini import explorers as _ex
    e = _ex.live_explorers()[k]
    ins = e.inspection
    def vec(v):
        if v is None:
            return None
        return [float(a) for a in np.ravel(np.asarray(v, dtype=float))]
    t = ins["step"]
    traj = e.trajectory
    if isinstance(traj, dict):
        traj = traj[e.controls["inspect"].value]
    traj = np.asarray(traj, dtype=float)
    c = e.controls
    return json.dumps({
        "kind": type(e).__name__,
        "step": int(c["step"].value), "step_max": int(c["step"].max),
        "play": int(c["play"].value), "play_max": int(c["play"].max),
        "interval": int(c["play"].interval), "speed": int(c["speed"].value),
        "speed_min": int(c["speed"].min),
        "inspect": c["inspect"].value if "inspect" in c else None,
        "labels": list(c["inspect"].options) if "inspect" in c else None,
        "frame_sha": hashlib.sha256(bytes(e.image.value)).hexdigest() if e.image.value else None,
        "frame_stale": bool(e._frame_stale), "frame_pending": e._pending is not None,
        "error": e.error, "table": e.inspector.table.value,
        "inspection": {"step": t, "label": ins["label"], "point": vec(ins["point"]),
                       "grad": vec(ins["grad"]), "update": vec(ins["update"]),
                       "next_point": vec(ins["next_point"]),
                       "effective_step": vec(ins["effective_step"])},
        "path_point": vec(traj[t]),
        "n_updates": int(e.n_updates),
    })
'''

# Table rows (their label in the page) -> the inspection's key.
ROWS = {
    "point x_t": "point",
    "gradient g_t": "grad",
    "slope f'(x_t) (the gradient)": "grad",
    "update x_t+1 - x_t": "update",
    "next update (not taken)": "update",
    "next point x_t+1": "next_point",
}

PAGE_TABLE = """(i) => {
  const table = window.__d2l.root(i).querySelector('table');
  if (!table) return null;
  return {
    text: table.parentElement.textContent,
    rows: Array.from(table.querySelectorAll('tr')).map((tr) =>
      Array.from(tr.children).map((c) => c.textContent.trim())),
  };
}"""


def kernel_state(page, k):
    with page.kernel() as client:
        expr = (f"(lambda ns: (exec({KERNEL_SOURCE!r}, ns), ns['inspector_state']({int(k)}))[1])({{}})")
        return json.loads(client.evaluate(expr))


def _text(markup: str) -> str:
    """The text of HTML markup with every space removed (the page's textContent, likewise)."""
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", markup)))


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def _close(shown: str, value) -> bool:
    """Whether a table cell (4 significant digits) shows ``value``."""
    if value is None:
        return shown in ("\u2014", "-")
    try:
        number = _number(shown)
    except ValueError:
        return False
    if number != number or value != value:  # nan
        return number != number and value != value
    return abs(number - value) <= 5e-4 * max(abs(value), 1e-300) * 1.0001 or f"{value:.4g}" == shown


def _slider_index(page, i, label):
    for s in page.describe(i)["sliders"]:
        if s["label"] == label:
            return s["index"], s
    raise AssertionError(f"explorer {i} shows no slider {label!r}")


def _settle(page, i, since, where):
    try:
        page.wait_settled(f"explorer-{i}", since)
    except Exception as exc:  # playwright's TimeoutError
        pytest.fail(f"{where}: no new picture, or the kernel never went idle ({type(exc).__name__})")


def check_state(page, i, k, where, before_sha=None, timeout: float = 20.0):
    """The page and the kernel agree on explorer ``i`` (kernel index ``k``) after a settled
    step move; returns the picture's SHA-256 and the kernel's state.

    On a loaded machine a settled picture (kernel idle, no new picture for a while) can come
    before the last messages of a playback went through, so the check is repeated until both
    sides agree or ``timeout`` seconds passed; then every disagreement is reported."""
    deadline = time.monotonic() + timeout
    while True:
        problems, sha, state = _disagreements(page, i, k, before_sha)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not problems, f"{where}:\n" + "\n".join(problems)
    return sha, state


def _disagreements(page, i, k, before_sha):
    """What differs between the page and the kernel for explorer ``i``: (problems, sha, state)."""
    state = kernel_state(page, k)
    problems = []
    sha = page.picture_sha(i)
    if before_sha is not None and sha == before_sha:
        problems.append("the picture did not change")
    if state["frame_sha"] != sha:
        problems.append("the picture in the page is not the kernel's current frame")
    if state["frame_stale"] or state["frame_pending"]:
        problems.append("the kernel still has a frame to draw after the update settled")
    if state["error"]:
        problems.append(f"the explorer reported an error: {state['error']}")
    _, slider = _slider_index(page, i, "step t")
    if slider["readout"].strip() != str(state["step"]):
        problems.append(f"the step slider shows {slider['readout']!r}, the kernel has {state['step']}")
    if state["play"] != state["step"] or state["play_max"] != state["step_max"]:
        problems.append(f"Play ({state['play']} of {state['play_max']}) is not linked to step "
                        f"({state['step']} of {state['step_max']})")
    ins = state["inspection"]
    if ins["step"] != state["step"]:
        problems.append(f"the inspection is of step {ins['step']}, the control says {state['step']}")
    if ins["point"] != state["path_point"]:
        problems.append(f"the inspected point {ins['point']} is not the path's {state['path_point']}")
    table = page.page.evaluate(PAGE_TABLE, i)
    if table is None:
        problems.append("the page shows no inspector table")
    else:
        if _text(state["table"]) != re.sub(r"\s+", "", table["text"]):
            problems.append("the page's table is not the kernel's table")
        seen = set()
        for row in table["rows"]:
            if row:  # the label without its coloured square (the legend)
                row[0] = re.sub(r"^[\u2000-\u2bff\s]+", "", row[0])
            if not row or row[0] not in ROWS:
                continue
            key = ROWS[row[0]]
            values = ins[key]
            cells = row[1:]
            seen.add(key)
            if values is None:
                if len(cells) != 1 or not _close(cells[0], None):
                    problems.append(f"row {row[0]!r} shows {cells}, the inspection has no {key}")
            elif len(cells) != len(values) or not all(_close(c, v) for c, v in zip(cells, values)):
                problems.append(f"row {row[0]!r} shows {cells}, the inspection has {values}")
        missing = {"point", "grad", "update", "next_point"} - seen
        if missing:
            problems.append(f"the table lacks rows for {sorted(missing)}")
        if f"stept={state['step']}" not in re.sub(r"\s+", "", table["text"]):
            problems.append(f"the table's header does not name step {state['step']}")
        if ins["effective_step"] is not None:
            row = next((r for r in table["rows"] if r and r[0].startswith("effective step")), None)
            if row is None or not all(_close(c, v) for c, v in zip(row[1:], ins["effective_step"])):
                problems.append(f"the effective step row {row} is not {ins['effective_step']}")
    output = page.describe(i)["output"]
    if output:
        problems.append(f"the explorer's error area shows: {output[:500]}")
    return problems, sha, state


def exercise_inspector(page, dom, kernel, mapping, play_timeout: float = 30.0):
    """Move ``step`` with the keyboard, play and pause, pick a race's run: on every explorer."""
    report = []
    for i, d in enumerate(dom):
        k = mapping[i]
        where = f"explorer {i} ({kernel[k]['kind']})"
        before = kernel_state(page, k)
        if before["step_max"] == 0:  # a run that stopped at its start: nothing to step through
            report.append({"kind": kernel[k]["kind"], "skipped": "no steps"})
            continue
        j, slider = _slider_index(page, i, "step t")
        sha = page.picture_sha(i)
        updates = before["n_updates"]

        # 1. three key presses on the step slider
        since = page.changes(f"explorer-{i}")
        key = page.move_slider_keyboard(i, j, presses=3)
        _settle(page, i, since, f"{where}, step slider ({key})")
        sha, state = check_state(page, i, k, f"{where}, step moved with {key}", before_sha=sha)
        moved = abs(state["step"] - before["step"])
        assert moved == min(3, state["step_max"]), f"{where}: three presses moved step by {moved}"
        assert state["n_updates"] == updates, f"{where}: a step move recomputed the path"

        # 2. the fastest speed (Home), then Play from step 0 and pause
        js, _ = _slider_index(page, i, "ms per step")
        page.focus_slider(i, js)
        page.page.keyboard.press("Home")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = kernel_state(page, k)
            if state["speed"] == state["speed_min"] == state["interval"]:
                break
            time.sleep(0.1)
        assert state["speed"] == state["speed_min"] == state["interval"], (
            f"{where}: Home on the speed slider gave speed {state['speed']} and Play interval "
            f"{state['interval']} (fastest {state['speed_min']})")
        js0, _ = _slider_index(page, i, "step t")
        page.focus_slider(i, js0)
        since = page.changes(f"explorer-{i}")
        page.page.keyboard.press("Home")  # step 0
        _settle(page, i, since, f"{where}, step to 0 (Home)")
        sha, state = check_state(page, i, k, f"{where}, step 0", before_sha=None)
        assert state["step"] == 0, f"{where}: Home on the step slider gave step {state['step']}"
        if state["step_max"] < 2:
            continue
        since = page.changes(f"explorer-{i}")
        page.play_button(i).click()
        target = min(4, state["step_max"])
        deadline = time.monotonic() + play_timeout
        shown = 0
        while time.monotonic() < deadline:
            _, s = _slider_index(page, i, "step t")
            shown = int(s["readout"])
            if shown >= target:
                break
            time.sleep(0.05)
        try:  # ipywidgets 8: the Play button, its icon toggled; ipywidgets 7: the one beside it
            page.pause_button(i).click(timeout=5000)
        except Exception as exc:  # playwright's TimeoutError: no enabled pause button
            _, s = _slider_index(page, i, "step t")
            if int(s["readout"]) < state["step_max"]:  # not a playback that ended by itself
                pytest.fail(f"{where}: no pause button to click while playing ({type(exc).__name__})")
        assert shown >= target, f"{where}: Play did not reach step {target} in {play_timeout:.0f} s"
        _settle(page, i, since, f"{where}, after Play")
        # Counted once the playback settled: a busy kernel drops frames that are already out of
        # date (it draws the newest step), so the pictures may arrive after the readout moved on;
        # a playback that shows only its last step is still caught.
        sha, state = check_state(page, i, k, f"{where}, after Play", before_sha=None)
        pictures = page.changes(f"explorer-{i}") - since
        assert state["step"] >= target, f"{where}: the kernel's step is {state['step']} after playing"
        assert pictures >= 2, f"{where}: only {pictures} picture(s) arrived for a playback of {state['step']} steps"
        assert state["n_updates"] == updates, f"{where}: playing recomputed the path"
        entry = {"kind": kernel[k]["kind"], "played_to": state["step"], "pictures": pictures}

        # 3. a race: inspect another run
        if state["labels"] and len(state["labels"]) > 1:
            other = next(label for label in state["labels"] if label != state["inspect"])
            since = page.changes(f"explorer-{i}")
            pick = page.explorer_locator(i).locator('.widget-dropdown:has(> label:text-is("inspect")) select')
            pick.select_option(label=other)
            _settle(page, i, since, f"{where}, inspect {other!r}")
            sha, state = check_state(page, i, k, f"{where}, inspecting {other!r}")
            assert state["inspect"] == other and state["inspection"]["label"] == other, state["inspect"]
            entry["inspected"] = other
        report.append(entry)
    return report

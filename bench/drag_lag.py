"""The lag of a fast drag on a slow explorer, with the kernel's stale moves dropped and without.

**Browser** (the default): in JupyterLab in headless Chromium (``tests/browser_support.py``), a
scratch notebook (written to the served temporary folder only) runs chapter 10's race of nine
rules on Rosenbrock (the ``race_rosen`` cell of ``notebooks/10_after_adam.ipynb``; a copy of it
if the chapter is missing) twice: once as it is (``after``: a drag's moves are coalesced, the
kernel computes only the newest) and once with ``coalesce_drag_moves = False`` (``before``:
every move is computed in turn, the behaviour before). Each round, in alternating order, makes
one fast drag on each (``tests/browser_clicks.py``'s ``fast_drag``: a press, 40 moves 35 ms
apart without waiting for the picture, a release) and waits until the picture settled.
Measured per drag: the moves the kernel got, its computations (``n_updates``: the press, the
moves it computed, the release, and any slider echo from the page), the moves the pointer
computed, and the **lag**: from the release (the page's mouseup) to the last new picture in
the page, once the kernel handled the release. Printed: the medians, one update's time (the
race's paths and a frame, ``update()``, measured in the kernel in the same run), the lag in
updates, and the ratio lag(before) / lag(after). Both drags end where the
mouse was released (start, picture, readout and sliders as the kernel has them; checked).

**Kernel** (``--kernel``, no browser): the same race in a real kernel (``jupyter_client``),
the page's messages sent as comm messages to its ``ipyevents.Event`` (a press, 30 moves 30 ms
apart, a release), after and before in alternating rounds; the lag is from sending the
release to the end of the kernel's last computation of the race.

**Kernel order** (``--kernel-order``): how the installed ipykernel interleaves queued comm
messages with event-loop callbacks, the measurement behind the design in
``d2lmini/explorers/frames.py``: 20 comm messages 30 ms apart to a handler that stores the
message and schedules one deferred "computation" (0.3 s of sleep) per burst, in several ways:
computed in the handler (``every``), ``call_soon``, ``call_later(0)``, waiting while the
kernel's message queue holds messages (``queue``, what the explorers do in ipykernel), and a
fixed gap after each computation (``gap``, their fallback). Printed: handler runs, computations,
the order of the two, and the time from the last message sent to the last computation's end.

The machine is shared (other jobs run on its two cores), so the numbers are noisy; the ratios
of the same run are what to compare, never a time across runs.

    .venv/bin/python bench/drag_lag.py [--rounds 3] [--kernel] [--kernel-order]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHAPTER = "10_after_adam.ipynb"
SCRATCH = "_drag_lag.ipynb"
#: Chapter 10's race on Rosenbrock, used when the chapter is missing or changed.
RACE_CELL = """rosen_specs = {
    'adam': ('adam', {'lr': 0.1}),
    'nadam': ('nadam', {'lr': 0.1}),
    'radam': ('radam', {'lr': 0.003}),
    'adamax': ('adamax', {'lr': 0.1}),
    'adafactor': ('adafactor', {'lr': 0.1}),
    'lion': ('lion', {'lr': 0.01}),
    'muon': ('muon', {'lr': 0.03, 'weight_decay': 0.0}),
    'sgd_schedulefree': ('sgd_schedulefree', {'lr': 0.003}),
    'adamw_schedulefree': ('adamw_schedulefree', {'lr': 0.1}),
}
race_rosen = d2l.race(rosen_specs, objective='rosenbrock', steps=200)
race_rosen"""

#: Counts, per explorer, the computations that came from the pointer (bench instrumentation).
COUNT_POINTER = """
def _count_pointer(e):
    e.n_pointer_computations = 0
    inner = e._pointer_set
    def counted(values):
        e.n_pointer_computations += 1
        inner(values)
    e._pointer_set = counted
"""


def race_cell() -> tuple:
    """(the source of chapter 10's race_rosen cell, the race call in it, where it came from)."""
    path = ROOT / "notebooks" / CHAPTER
    if path.exists():
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            m = re.search(r"^race_rosen = (d2l\.race\(.*\))$", src, re.M)
            if cell["cell_type"] == "code" and m:
                return src, m.group(1), f"notebooks/{CHAPTER}"
    return RACE_CELL, re.search(r"^race_rosen = (d2l\.race\(.*\))$", RACE_CELL, re.M).group(1), "a copy"


def stats(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------------------------------------
# browser


def browser(rounds: int) -> int:
    import nbformat

    import browser_clicks
    import browser_support as bs

    source, call, origin = race_cell()
    cells = [
        "%matplotlib inline\nimport d2lmini as d2l\n" + COUNT_POINTER,
        source + "\n_count_pointer(race_rosen)\nrace_rosen",
        f"race_before = {call}\nrace_before.coalesce_drag_moves = False\n_count_pointer(race_before)\nrace_before",
    ]
    print(f"fast drag on chapter 10's race on Rosenbrock ({origin}): {call}")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    failures = []
    with bs.LabServer() as server, bs.chromium() as browser_:
        context = browser_.new_context(viewport=bs.VIEWPORT)
        server.write_notebook(SCRATCH, nb)  # the served temporary folder only
        page = bs.NotebookPage(server, context, SCRATCH)
        try:
            page.open()
            assert not page.run_all() and not page.error_outputs(), page.error_outputs()
            dom, kernel, mapping = bs.match_explorers(page)
            assert len(dom) == 2 and None not in mapping, mapping
            coalesced = bs.kernel_value(page, f"[E[k].coalesce_drag_moves for k in {mapping}]")
            which = {("after" if c else "before"): (i, k) for i, (k, c) in enumerate(zip(mapping, coalesced))}
            seconds = bs.kernel_value(page, browser_clicks.KERNEL_UPDATE_SECONDS)
            compute = stats(seconds[k] for _, k in which.values())
            results = {"after": [], "before": []}
            for r in range(rounds):
                for label in (("after", "before") if r % 2 == 0 else ("before", "after")):
                    i, k = which[label]
                    pointer0 = bs.kernel_value(page, f"E[{k}].n_pointer_computations")
                    out = browser_clicks.fast_drag(page, i, k, timeout=180, reverse=r % 2 == 1)
                    out["pointer"] = bs.kernel_value(page, f"E[{k}].n_pointer_computations") - pointer0
                    problems = browser_clicks._check_state(page, i, k, f"{label}, round {r + 1}", out["target"],
                                                           out["per_px"], out["before_sha"])
                    failures += problems
                    results[label].append(out)
                    print(f"  round {r + 1} {label:6s}: {out['moves']:3d} moves, {out['pointer']:3d} pointer "
                          f"computations, {out['computations']:3d} in all, lag {out['lag']:6.2f} s"
                          + ("" if not problems else "  PROBLEMS: " + "; ".join(problems)))
        finally:
            page.close()
    lag = {label: stats(o["lag"] for o in rs) for label, rs in results.items()}
    print(f"\none update of the race (paths and a frame, in the kernel, median): {compute:.3f} s")
    for label in ("before", "after"):
        rs = results[label]
        print(f"{label:6s}: median lag {lag[label]:6.2f} s = {lag[label] / compute:5.1f} updates; "
              f"moves {stats(o['moves'] for o in rs):.0f}, pointer computations (press, moves, release) "
              f"{stats(o['pointer'] for o in rs):.0f}, computations in all {stats(o['computations'] for o in rs):.0f}")
    print(f"lag before / after: {lag['before'] / lag['after']:.1f}x (same run; the machine is shared, "
          "so the times are noisy)")
    if failures:
        print("FAIL: a drag did not end where the mouse was released:\n  " + "\n  ".join(failures))
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# a real kernel, no browser


class Kernel:
    def __init__(self):
        from jupyter_client import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(ROOT))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def run(self, code: str) -> str:
        msg_id = self.kc.execute(code)
        out, errors = [], []
        while True:
            m = self.kc.get_iopub_msg(timeout=300)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "stream":
                out.append(m["content"]["text"])
            elif m["msg_type"] == "error":
                errors.append("\n".join(m["content"]["traceback"]))
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
        if errors:
            raise RuntimeError("\n".join(errors))
        return "".join(out)

    def json(self, code: str):
        return json.loads(self.run(code).strip().splitlines()[-1])

    def comm(self, comm_id: str, content: dict) -> None:
        self.kc.shell_channel.send(self.kc.session.msg(
            "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}}))

    def wait(self, expression: str, timeout: float = 300):
        """Poll until ``expression`` is true in the kernel."""
        deadline = time.monotonic() + timeout
        while not self.json(f"print(json.dumps(bool({expression})))"):
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            time.sleep(0.05)

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


KERNEL_SETUP = """
import json, time
import d2lmini as d2l
{count}
{source}
race_before = {call}
race_before.coalesce_drag_moves = False
ends = {{}}
for _e in (race_rosen, race_before):
    _count_pointer(_e)
    _compute = _e._compute
    def _timed(_e=_e, _compute=_compute):
        _compute()
        ends.setdefault(id(_e), []).append(time.monotonic())
    _e._compute = _timed

def geometry(e, n):
    v, (w, h) = e.view, e.canvas.get_width_height()
    points = [(v[0] + (0.2 + 0.5 * m / n) * (v[1] - v[0]), v[2] + (0.75 - 0.45 * m / n) * (v[3] - v[2]))
              for m in range(n + 1)]
    return json.dumps({{"comm_id": e.events.comm.comm_id, "size": [w, h],
                       "pixels": [list(e._pixel_of(e.ax, x, y)) for x, y in points]}})

def update_seconds(e):
    s = []
    for _ in range(3):
        t = time.perf_counter(); e.update(); s.append(time.perf_counter() - t)
    return sorted(s)[1]
"""


def kernel(rounds: int, moves: int = 30, spacing: float = 0.03) -> int:
    source, call, origin = race_cell()
    print(f"fast drag in a real kernel on chapter 10's race on Rosenbrock ({origin}); {moves} moves "
          f"{spacing * 1000:.0f} ms apart")
    k = Kernel()
    try:
        k.run(KERNEL_SETUP.format(count=COUNT_POINTER, source=source, call=call))
        compute = k.json("print(json.dumps(update_seconds(race_rosen)))")
        names = {"after": "race_rosen", "before": "race_before"}
        results = {"after": [], "before": []}
        for r in range(rounds):
            for label in (("after", "before") if r % 2 == 0 else ("before", "after")):
                name = names[label]
                geo = k.json(f"print(geometry({name}, {moves}))")
                (w, h), px = geo["size"], geo["pixels"]
                before = k.json(f"print(json.dumps([{name}.n_updates, {name}.n_pointer_computations, "
                                f"{name}.n_drag_moves]))")

                def event(kind, m):
                    return {"type": kind, "relativeX": px[m][0], "relativeY": px[m][1], "boundingRectWidth": w,
                            "boundingRectHeight": h, "button": 0, "buttons": 0 if kind == "mouseup" else 1}

                k.comm(geo["comm_id"], event("mousedown", 0))
                for m in range(1, moves + 1):
                    time.sleep(spacing)
                    k.comm(geo["comm_id"], event("mousemove", m))
                k.comm(geo["comm_id"], event("mouseup", moves))
                released = time.monotonic()
                k.wait(f"not {name}._dragging and {name}._move_target is None")
                after = k.json(f"print(json.dumps([{name}.n_updates, {name}.n_pointer_computations, "
                               f"{name}.n_drag_moves, ends[id({name})][-1], "
                               f"[float(v) for v in {name}.trajectory['adam'][0]], "
                               f"[float({name}.controls['x1'].value), float({name}.controls['x2'].value)]]))")
                lag = after[3] - released
                ok = after[4] == after[5]
                out = {"computations": after[0] - before[0], "pointer": after[1] - before[1],
                       "moves": after[2] - before[2], "lag": lag, "ok": ok}
                results[label].append(out)
                print(f"  round {r + 1} {label:6s}: {out['moves']:3d} moves, {out['pointer']:3d} pointer "
                      f"computations, lag {lag:6.2f} s"
                      + ("" if ok else "  PROBLEM: the path does not start at the sliders"))
    finally:
        k.close()
    lag = {label: stats(o["lag"] for o in rs) for label, rs in results.items()}
    print(f"\none update of the race (paths and a frame, in the kernel, median): {compute:.3f} s")
    for label in ("before", "after"):
        print(f"{label:6s}: median lag {lag[label]:6.2f} s = {lag[label] / compute:5.1f} updates; "
              f"pointer computations (press, moves, release) {stats(o['pointer'] for o in results[label]):.0f} "
              f"for {stats(o['moves'] for o in results[label]):.0f} moves")
    print(f"lag before / after: {lag['before'] / max(lag['after'], 1e-9):.1f}x (same run; the machine is shared, "
          "so the times are noisy)")
    return 0 if all(o["ok"] for rs in results.values() for o in rs) else 1


# ---------------------------------------------------------------------------------------------
# how ipykernel interleaves messages and callbacks

ORDER_SETUP = r"""
import asyncio, json, time
import ipywidgets as w
from ipyevents import Event
from d2lmini.explorers import frames
img = w.Image()
ev = Event(source=img, watched_events=['mousemove'])
S = {'log': [], 'pending': None, 'target': None, 'mode': 'every', 'cost': 0.3, 'end': -1e9, 'since': 0.0}

def compute():
    S['log'].append(('compute', S['target'], time.monotonic()))
    time.sleep(S['cost'])
    S['end'] = time.monotonic()
    S['log'].append(('end', S['target'], S['end']))

def deferred():
    S['pending'] = None
    loop = asyncio.get_running_loop()
    if S['mode'] == 'queue' and frames._kernel_input_waiting():
        S['pending'] = loop.call_later(frames.MOVE_RECHECK, deferred)
        return
    if S['mode'] == 'gap' and time.monotonic() - S['end'] < frames.MOVE_GAP:
        S['pending'] = loop.call_later(frames.MOVE_GAP - (time.monotonic() - S['end']), deferred)
        return
    compute()

def handler(event):
    S['log'].append(('message', event['i'], time.monotonic()))
    S['target'] = event['i']
    if S['mode'] == 'every':
        return compute()
    if S['pending'] is None:
        loop = asyncio.get_running_loop()
        S['pending'] = (loop.call_later(0, deferred) if S['mode'] == 'call_later(0)' else loop.call_soon(deferred))
ev.on_dom_event(handler)
print(json.dumps([ev.comm.comm_id, frames._kernel_input_waiting()]))
"""


def kernel_order(n: int = 20, spacing: float = 0.03, cost: float = 0.3) -> int:
    import ipykernel

    k = Kernel()
    try:
        comm_id, known = k.json(ORDER_SETUP)
        print(f"ipykernel {ipykernel.__version__}: {n} comm messages {spacing * 1000:.0f} ms apart to a handler "
              f"whose computation costs {cost} s (the kernel's queue {'can' if known is not None else 'cannot'} "
              "be seen)")
        for mode in ("every", "call_soon", "call_later(0)", "queue", "gap"):
            k.run(f"S.update(mode={mode!r}, log=[], pending=None, end=-1e9, cost={cost})")
            for i in range(n):
                k.comm(comm_id, {"type": "mousemove", "i": i})
                time.sleep(spacing)
            sent = time.monotonic()
            k.wait(f"any(e[0] == 'end' and e[1] == {n - 1} for e in S['log'])", timeout=n * cost * 3 + 30)
            log = k.json("print(json.dumps(S['log']))")
            computed = [e[1] for e in log if e[0] == "compute"]
            order = "".join("m" if e[0] == "message" else "C" for e in log if e[0] != "end")
            last_end = max(e[2] for e in log if e[0] == "end")
            print(f"  {mode:14s} messages {sum(e[0] == 'message' for e in log):3d}, computations {len(computed):3d} "
                  f"(of messages {computed}), the last ended {last_end - sent:5.2f} s after the last message "
                  f"was sent\n  {'':14s} order: {order}")
    finally:
        k.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of after / before")
    ap.add_argument("--kernel", action="store_true", help="in a real kernel, without a browser")
    ap.add_argument("--kernel-order", action="store_true", help="how ipykernel interleaves messages and callbacks")
    args = ap.parse_args()
    if args.kernel_order:
        return kernel_order()
    if args.kernel:
        return kernel(args.rounds)
    return browser(args.rounds)


if __name__ == "__main__":
    sys.exit(main())

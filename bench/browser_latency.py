"""Slider latency in a real browser: key press to the plot's final frame, for the inline and the
widget backend side by side, and against interact.

In JupyterLab in headless Chromium (the setup of ``tests/browser_support.py``):

* **explorer, inline**: the first explorer of ``notebooks/04_momentum.ipynb`` (if that chapter
  is missing, ``notebooks/00_start_here.ipynb``; the output says so), run with Run All Cells
  (the chapter starts with ``%matplotlib inline``), its ``steps`` control set to 100, then >= 20
  key presses, ArrowRight and ArrowLeft in turn, on its first linear hyperparameter slider.
* **explorer, widget backend**: the same notebook with ``%matplotlib inline`` replaced by
  ``%matplotlib widget`` (a copy written to the served temporary folder only), the same
  explorer, slider and presses. The two are measured in alternating rounds in the same run, so
  a change in the machine's load hits both alike. The explorers draw the same way under both
  backends (PNG frames into an Image), so the widget backend must be within 20 % of inline.
* **baselines**: scratch notebooks (written to the served temporary folder only) with
  ``ipywidgets.interact`` over the same slider (same range, step and value) that re-plot the
  whole figure on each move, inline backend, a new figure of the explorer's pixel size with the
  same 100-step path: (1) the explorer's whole figure, contour plot with the path plus the
  loss curve (the verdict is against this one, like ``bench/explorer_update.py``); (2) only the
  contour plot with the path (lighter; its ratio is printed too).

Each latency is measured in the page: from the keydown event's timestamp to the last change of
the picture (a MutationObserver stamps every new ``img`` src, or every new ``img`` in the
interact output, with ``performance.now()``), once the update settled: kernel idle and no new
picture for 0.6 s. Printed: median and 90th percentile of each, the ratio widget / inline and
the ratios against the baseline, and PASS/FAIL against the targets (widget within 20 % of
inline; explorer median < 150 ms and at most 1/3 of the baseline's).

**Play**: on the same explorer (100 steps), the step inspector's speed slider goes to its
fastest setting (Home key; the browser links it to the Play widget's interval), the step to 0,
and the Play button plays the whole path (the kernel moves the step on its own event loop
and sends each picture; the page's button turns Play on and off). Every new picture the page receives
is stamped; printed: the distinct frames per second from the first to the last picture of the
playback (the kernel sends a picture only when its bytes changed), the steps per second Play
ran at, and PASS/FAIL against >= 10 frames per second. The last picture must be the kernel's
frame at the last step. ``--plays`` repeats the playback (the median is the verdict).

    .venv/bin/python bench/browser_latency.py [--presses 20] [--rounds 4] [--plays 3] [--no-baselines]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import browser_support as bs  # noqa: E402

MEDIAN_TARGET_MS = 150.0
RATIO_TARGET = 1 / 3
#: The widget backend's median may be at most this many times inline's.
BACKEND_RATIO_TARGET = 1.2
PLAY_FPS_TARGET = 10.0
STEPS = 100
COMMON_CONTROLS = {"steps", "x0", "x1", "x2", "kappa", "angle", "noise", "step", "speed"}

BASELINE_CODE = '''\
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets
from d2lmini import objectives

objective = objectives.get({objective!r})
view, start = objective.view, objective.start
STEPS = {steps}
LOSS_PANEL = {loss_panel!r}

def momentum_rule(x, g, state, eta=0.4, beta=0.5):
    state['v'] = beta * state.get('v', 0.0) + g
    return x - eta * state['v']

def plot(value):
    # The classic way: run the rule, then draw a new figure from scratch.
    x, state = np.array(start, dtype=float), {{}}
    path = [x]
    for _ in range(STEPS):
        x = momentum_rule(x, objective.grad(x), state, eta=value, beta=0.5)
        path.append(x)
    path = np.array(path)
    x1, x2 = np.meshgrid(np.linspace(view[0], view[1], 200), np.linspace(view[2], view[3], 200))
    fig = plt.figure(figsize=({width} / 100, {height} / 100), dpi=100)
    if LOSS_PANEL:   # the explorer's layout: contour plot left, loss curve right
        ax = fig.add_axes([0.075, 0.14, 0.50, 0.75])
        lax = fig.add_axes([0.68, 0.14, 0.30, 0.75])
    else:
        ax = fig.add_subplot()
    ax.contour(x1, x2, objective(x1, x2), levels=20, colors='#1f77b4', linewidths=0.9, alpha=0.6)
    ax.plot(path[:, 0], path[:, 1], '-o', color='#ff7f0e', ms=4, lw=1.5)
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    ax.set_title({label!r} + ' = %.3f' % value)
    if LOSS_PANEL:
        loss = objective(path[:, 0], path[:, 1]) - objective.fmin
        lax.semilogy(np.arange(len(loss)), np.maximum(loss, 1e-14), color='#ff7f0e')
        lax.set_xlabel('step')
        lax.set_title('$f(x_t) - f^*$')
        lax.grid(True, alpha=0.3)
    plt.show()

widgets.interact(plot, value=widgets.FloatSlider(
    value={value!r}, min={min!r}, max={max!r}, step={step!r}, description={label!r},
    continuous_update=True))
'''

#: Baselines: (notebook, with the loss panel, what it draws).
BASELINES = (
    ("_baseline_interact.ipynb", True, "the explorer's whole figure: contour + path, loss curve"),
    ("_baseline_interact_contour.ipynb", False, "contour + path only"),
)


def stats(ms):
    a = np.asarray(ms, dtype=float)
    return float(np.median(a)), float(np.percentile(a, 90))


def measure(page: bs.NotebookPage, key: str, slider, presses: int, warmup: int = 2,
            timeout: float = 30) -> list:
    """Latency (ms) of ``presses`` key presses on ``slider`` (a locator), alternating
    ArrowRight/ArrowLeft: keydown timestamp to the last picture change under ``key``."""
    handle = slider.locator(bs.SLIDER_HANDLE)
    handle.scroll_into_view_if_needed()
    handle.focus()
    out = []
    for n in range(presses + warmup):
        arrow = "ArrowRight" if n % 2 == 0 else "ArrowLeft"
        n_keys = page.page.evaluate("() => window.__d2l.keys.length")
        since = page.changes(key)
        page.page.keyboard.press(arrow)
        page.wait_settled(key, since, timeout=timeout)
        r = page.page.evaluate(
            """([k, nKeys, since]) => {
                 const c = window.__d2l.changes[k];
                 return {keys: window.__d2l.keys.slice(nKeys), times: c.times.slice(since)};
               }""", [key, n_keys, since])
        assert len(r["keys"]) == 1, f"expected one keydown, got {len(r['keys'])}"
        latency = r["times"][-1] - r["keys"][0]
        if n >= warmup:
            out.append(latency)
    return out


def open_explorer(server, context, name: str) -> dict:
    """Open and run a notebook, set its first explorer's steps to 100; returns the page, the
    slider to press (the first visible linear hyperparameter slider) and what it is."""
    page = bs.NotebookPage(server, context, name)
    page.open()
    unexecuted = page.run_all()
    if unexecuted:
        print(f"WARNING: cells not executed in {name}: {unexecuted}")
    dom = page.explorers()
    if not dom:
        raise SystemExit(f"FAIL: {name} shows no explorer")
    kernel = page.probe(recompute=False)
    sha = page.picture_sha(0)
    match = [k for k in kernel if k["frame_sha"] == sha]
    if not match:
        raise SystemExit(f"FAIL: {name}: the first explorer's picture is no kernel explorer's frame")
    kidx = match[0]["index"]
    controls = match[0]["controls"]
    by_desc = {c["description"]: n for n, c in controls.items()}
    candidates = [s for s in dom[0]["sliders"] if s["visible"]
                  and by_desc.get(s["label"]) not in COMMON_CONTROLS
                  and controls.get(by_desc.get(s["label"]), {}).get("type") == "FloatSlider"]
    if not candidates:
        raise SystemExit(f"FAIL: {name}: no linear hyperparameter slider to move")
    s = candidates[0]
    slider_name = by_desc[s["label"]]
    since = page.changes("explorer-0")
    with page.kernel() as k:
        k.execute(f"__import__('d2lmini').explorers.live_explorers()[{kidx}].controls['steps'].value = {STEPS}")
        spec = k.evaluate(
            f"(lambda w: (w.min, w.max, w.step, w.value))"
            f"(__import__('d2lmini').explorers.live_explorers()[{kidx}].controls[{slider_name!r}])")
        backend = k.evaluate("__import__('matplotlib').get_backend()")
    page.wait_settled("explorer-0", since)
    size = page.page.evaluate(
        "() => { const i = window.__d2l.root(0).querySelector(':scope > img'); return [i.naturalWidth, i.naturalHeight]; }")
    return {"page": page, "slider": page.slider_locator(0, s["index"]), "name": slider_name,
            "spec": spec, "size": size, "backend": backend, "figure": dom[0]["figure"], "kidx": kidx}


def widget_copy(server, name: str) -> str:
    """A copy of the notebook whose ``%matplotlib inline`` is ``%matplotlib widget`` (served
    folder only)."""
    import nbformat

    nb = nbformat.read(str(server.root / name), as_version=4)
    n = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "%matplotlib inline" in cell.source:
            cell.source = cell.source.replace("%matplotlib inline", "%matplotlib widget")
            n += 1
    if n == 0:  # no magic to replace: put one first
        nb.cells.insert(0, nbformat.v4.new_code_cell("%matplotlib widget"))
    copy = "_widget_" + name
    server.write_notebook(copy, nb)
    return copy


def measure_play(page: bs.NotebookPage, kidx: int, timeout: float = 120.0) -> dict:
    """Play the first explorer's whole path at the fastest speed; frames the page received."""
    key = "explorer-0"
    sliders = {x["label"]: x["index"] for x in page.describe(0)["sliders"]}
    page.focus_slider(0, sliders["ms per step"])
    page.page.keyboard.press("Home")
    live = f"__import__('d2lmini').explorers.live_explorers()[{kidx}]"
    deadline = time.monotonic() + 20
    with page.kernel() as k:
        while time.monotonic() < deadline:
            interval, fastest, last = k.evaluate(
                f"({live}.controls['play'].interval, {live}.controls['speed'].min, {live}.controls['step'].max)")
            if interval == fastest:
                break
            time.sleep(0.1)
    page.focus_slider(0, sliders["step t"])
    if page.describe(0)["sliders"][sliders["step t"]]["readout"] != "0":
        since = page.changes(key)
        page.page.keyboard.press("Home")
        page.wait_settled(key, since)
    since = page.changes(key)
    page.play_button(0).click()
    t_click = page.page.evaluate("() => performance.now()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # Play stops by itself at the last step
        now = page.describe(0)["sliders"][sliders["step t"]]["readout"]
        if now.strip() == str(last):
            break
        time.sleep(0.1)
    page.wait_settled(key, since, timeout=timeout)
    times = page.page.evaluate("([k, n]) => window.__d2l.changes[k].times.slice(n)", [key, since])
    with page.kernel() as k:
        kernel_step, frame_sha = k.evaluate(
            f"({live}.controls['step'].value, __import__('hashlib').sha256(bytes({live}.image.value)).hexdigest())")
    span = (times[-1] - times[0]) / 1000 if len(times) > 1 else float("nan")
    return {
        "steps": last, "interval_ms": interval, "frames": len(times),
        "fps": (len(times) - 1) / span if len(times) > 1 and span > 0 else 0.0,
        "seconds": span, "first_frame_ms": (times[0] - t_click) if times else None,
        "steps_per_second": last / span if span and span > 0 else float("nan"),
        "last_is_kernel_frame": page.picture_sha(0) == frame_sha and kernel_step == last,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=20, help="timed key presses per variant (>= 20)")
    ap.add_argument("--rounds", type=int, default=4, help="alternating rounds of inline / widget")
    ap.add_argument("--no-baselines", action="store_true", help="skip the interact baselines")
    ap.add_argument("--plays", type=int, default=3, help="playbacks of the whole path (>= 1)")
    args = ap.parse_args()
    presses = max(20, args.presses)
    rounds = max(1, min(args.rounds, presses))

    names = bs.notebook_names()
    target = "04_momentum.ipynb"
    note = ""
    if target not in names:
        target = "00_start_here.ipynb"
        note = "notebooks/04_momentum.ipynb is not there yet: measured on 00_start_here.ipynb instead"
        print(f"NOTE: {note}")
    print(f"explorer: first explorer of notebooks/{target}, steps = {STEPS}, {presses} key presses per "
          f"backend in {rounds} alternating rounds")

    t_start = time.perf_counter()
    with bs.LabServer() as server, bs.chromium() as browser:
        context = browser.new_context(viewport=bs.VIEWPORT)
        # --- the explorer under both backends, in alternating rounds ---------------------------
        variants = {"inline": open_explorer(server, context, target),
                    "widget": open_explorer(server, context, widget_copy(server, target))}
        for label, v in variants.items():
            print(f"  {label:6s}: backend {v['backend']!r}, figure drawn as {v['figure']!r}, slider {v['name']!r}: "
                  f"min {v['spec'][0]}, max {v['spec'][1]}, step {v['spec'][2]}, value {v['spec'][3]}")
        ms = {label: [] for label in variants}
        per_round = [presses // rounds + (1 if r < presses % rounds else 0) for r in range(rounds)]
        for r, n in enumerate(per_round):
            for label in (("inline", "widget") if r % 2 == 0 else ("widget", "inline")):
                v = variants[label]
                v["page"].page.bring_to_front()
                ms[label] += measure(v["page"], "explorer-0", v["slider"], n, warmup=2 if r == 0 else 1)
        explorer_errors = [e for v in variants.values() for e in v["page"].page_errors]
        spec, size, name = variants["inline"]["spec"], variants["inline"]["size"], variants["inline"]["name"]
        v = variants["inline"]
        v["page"].page.bring_to_front()
        plays = [measure_play(v["page"], v["kidx"]) for _ in range(max(1, args.plays))]
        explorer_errors = [e for v in variants.values() for e in v["page"].page_errors]
        for v in variants.values():
            v["page"].close()

        # --- the baselines: interact re-plotting a new figure on every move ------------------
        import nbformat

        baselines = []
        for nb_name, loss_panel, what in (() if args.no_baselines else BASELINES):
            nb = nbformat.v4.new_notebook()
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                         "language": "python"}
            nb.cells = [nbformat.v4.new_code_cell(BASELINE_CODE.format(
                objective="d2l", steps=STEPS, width=size[0], height=size[1], label=name,
                loss_panel=loss_panel, value=float(spec[3]), min=float(spec[0]),
                max=float(spec[1]), step=float(spec[2])))]
            server.write_notebook(nb_name, nb)  # the served temporary folder only
            base = bs.NotebookPage(server, context, nb_name)
            base.open()
            base.run_all()
            errors = base.error_outputs()
            if errors:
                print(f"FAIL: the baseline notebook {nb_name} raised {errors}")
                return 1
            base.page.wait_for_selector(".jp-NotebookPanel .widget-interact .widget-output img", timeout=30000)
            base.page.evaluate(
                "() => window.__d2l.observe(document.querySelector('.jp-NotebookPanel .widget-interact'), 'baseline')")
            slider = base.page.locator(".jp-NotebookPanel .widget-interact .widget-slider").first
            b_ms = measure(base, "baseline", slider, presses)
            baselines.append((nb_name, what, b_ms, list(base.page_errors)))
            base.close()
        context.close()

    i_med, i_p90 = stats(ms["inline"])
    w_med, w_p90 = stats(ms["widget"])
    backend_ratio = w_med / i_med
    print(f"  picture {size[0]}x{size[1]} px; baselines: ipywidgets.interact + a new figure per move "
          f"({STEPS}-step path), inline backend")
    print(f"explorer, %matplotlib inline  key press -> final frame: median {i_med:7.1f} ms   p90 {i_p90:7.1f} ms   "
          f"(n={len(ms['inline'])})")
    print(f"explorer, %matplotlib widget  key press -> final frame: median {w_med:7.1f} ms   p90 {w_p90:7.1f} ms   "
          f"(n={len(ms['widget'])})")
    print(f"ratio of medians, widget / inline: {backend_ratio:.3f}")
    results = {}
    page_errors = list(explorer_errors)
    for nb_name, what, b_ms, errs in baselines:
        b_med, b_p90 = stats(b_ms)
        results[nb_name] = {"draws": what, "ms": b_ms, "median": b_med, "p90": b_p90, "ratio": i_med / b_med}
        print(f"baseline                      key press -> final frame: median {b_med:7.1f} ms   "
              f"p90 {b_p90:7.1f} ms   (n={len(b_ms)})  [{what}]")
        page_errors += errs
    for nb_name, r in results.items():
        print(f"ratio of medians, explorer (inline) / baseline [{r['draws']}]: {r['ratio']:.3f}")
    for n, p in enumerate(plays):
        print(f"Play {n + 1}: {p['steps']} steps at {p['interval_ms']} ms per step: {p['frames']} distinct "
              f"frames in {p['seconds']:.2f} s = {p['fps']:.1f} frames/s (Play ran {p['steps_per_second']:.1f} "
              f"steps/s; first frame {p['first_frame_ms']:.0f} ms after the click); last picture is the "
              f"kernel's last frame: {p['last_is_kernel_frame']}")
    play_fps = float(np.median([p["fps"] for p in plays]))
    play_ok = play_fps >= PLAY_FPS_TARGET and all(p["last_is_kernel_frame"] for p in plays)
    print(f"{'PASS' if play_ok else 'FAIL'}: Play at its fastest delivers {play_fps:.1f} frames/s (median of "
          f"{len(plays)}) {'>=' if play_fps >= PLAY_FPS_TARGET else '<'} {PLAY_FPS_TARGET:.0f}")
    if page_errors:
        print(f"page errors: {page_errors}")
    backend_ok = backend_ratio <= BACKEND_RATIO_TARGET and not page_errors
    print(f"{'PASS' if backend_ok else 'FAIL'}: widget backend median {w_med:.1f} ms is {backend_ratio:.2f}x inline's "
          f"{i_med:.1f} ms ({'<=' if backend_ratio <= BACKEND_RATIO_TARGET else '>'} {BACKEND_RATIO_TARGET:.2f})")
    ok = backend_ok and play_ok
    if results:
        ratio = results[BASELINES[0][0]]["ratio"]
        base_ok = i_med < MEDIAN_TARGET_MS and ratio <= RATIO_TARGET and not page_errors
        print(f"{'PASS' if base_ok else 'FAIL'}: explorer median {i_med:.1f} ms "
              f"{'<' if i_med < MEDIAN_TARGET_MS else '>='} {MEDIAN_TARGET_MS:.0f} ms; ratio {ratio:.3f} "
              f"{'<=' if ratio <= RATIO_TARGET else '>'} 1/3 against the whole-figure baseline")
        light = results[BASELINES[1][0]]["ratio"]
        print(f"      (against the lighter contour + path baseline: ratio {light:.3f} "
              f"{'<=' if light <= RATIO_TARGET else '>'} 1/3)")
        ok = ok and base_ok
    bs.ARTIFACTS.mkdir(exist_ok=True)
    (bs.ARTIFACTS / "browser-latency.json").write_text(json.dumps({
        "notebook": target, "note": note, "slider": name, "steps": STEPS, "picture_px": size,
        "inline_ms": ms["inline"], "widget_ms": ms["widget"],
        "inline": {"median": i_med, "p90": i_p90}, "widget": {"median": w_med, "p90": w_p90},
        "widget_over_inline": backend_ratio, "baselines": results, "play": plays,
        "play_fps": play_fps, "pass": ok,
        "seconds": time.perf_counter() - t_start,
    }, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Browser checks for issue 16: what a slider shows is what the explorer computes with, and
what the notebook's code asked for.

For every explorer in a notebook page (JupyterLab, headless Chromium), before anything is
touched and again after a keyboard move of every visible slider:

* every visible slider's readout in the page (a SelectionSlider's label, a FloatSlider's number,
  or the number box beside a slider whose value sits on no sensible grid) is the kernel's value
  of that control formatted at the slider's precision (``controls._readout_text``), and reads
  back as that value to the precision it shows;
* before any move, it is also the value the code asked for (``explorer.code_values``): the
  opening value (``explorer.opening``: what the cell's code passed, checked against the cell's
  source, e.g. ``d2l.explore(..., eta=0.4)``, or the rule's default), unless a later cell
  changed it with ``explorer.set(...)``; after the moves, the sliders that did not move still
  show it, the others their new values, and the readout under the picture is the kernel's.

``tests/test_browser.py`` calls :func:`check_readouts` once per notebook, before the sliders
are moved by its other tests.
"""
from __future__ import annotations

import ast
import time
from typing import Any, Dict, List, Optional

import browser_support as bs

#: Per kernel explorer: every control's description, type, readout text now and at its opening.
KERNEL_CONTROLS = (
    "(lambda e, C: {n: {'desc': str(getattr(w, 'description', n)), 'type': type(w).__name__, "
    "'text': C._readout_text(w), "
    "'opening': (C._readout_text(w, e.code_values[n]) if n in e.code_values and C._readout_text(w) is not None else None), "
    "'opening_value': (e.opening[n] if isinstance(e.opening.get(n), (bool, int, float, str)) else None), "
    "'value': (w.value if isinstance(w.value, (bool, int, float, str)) else str(w.value)), "
    "'hidden': getattr(w.layout, 'display', None) == 'none'} "
    "for n, w in e.controls.items()})(E[{k}], __import__('d2lmini.explorers.controls', fromlist=['x']))"
)

#: Per explorer in the page: every slider's label, readout (or the number box that stands in
#: for a hidden readout) and whether it is on screen; and the index of the explorer's cell.
PAGE_SLIDERS = r"""(i) => {
  const root = window.__d2l.root(i);
  const sliders = Array.from(root.querySelectorAll('.widget-slider')).map((s) => {
    const label = s.querySelector('.widget-label');
    const r = s.querySelector('.widget-readout');
    const hidden = !r || getComputedStyle(r).display === 'none';
    let box = null;
    if (hidden && s.nextElementSibling) {
      const input = s.nextElementSibling.querySelector('input');
      box = input ? input.value : null;
    }
    return {label: label ? label.textContent.trim() : '', readout: r ? r.textContent.trim() : '',
            hidden, box, visible: window.__d2l.visible(s)};
  });
  const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Cell'));
  return {sliders, cell: cells.indexOf(root.closest('.jp-Cell'))};
}"""

_EXPLORE_ARGS = {"objective", "view", "stochastic", "seed", "loss_panel", "show_model"}


def _norm(text: Optional[str]) -> str:
    return (text or "").strip().replace("\u2212", "-")


def shown_text(s: Dict[str, Any]) -> str:
    """What a slider in the page shows: its readout, or the number box beside it."""
    return _norm(s["box"] if s["hidden"] and s["box"] is not None else s["readout"])


def code_openings(source: str) -> Optional[Dict[str, Any]]:
    """The values a cell's code passes to its one explorer call (``explore``, ``explore_1d``,
    ``race``), by control name; None when the cell has no single such call."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "attr", getattr(n.func, "id", None)) in ("explore", "explore_1d", "race")]
    if len(calls) != 1:
        return None
    call, out = calls[0], {}
    kind = getattr(call.func, "attr", getattr(call.func, "id", None))
    for kw in call.keywords:
        if kw.arg is None or kw.arg in _EXPLORE_ARGS:
            continue
        try:
            value = ast.literal_eval(kw.value)
        except ValueError:
            continue
        if kw.arg == "start":
            out["x1"], out["x2"] = float(value[0]), float(value[1])
        else:
            out[kw.arg] = value
    if kind == "race" and call.args and isinstance(call.args[0], ast.Dict):
        for key, spec in zip(call.args[0].keys, call.args[0].values):
            label = ast.literal_eval(key)
            if isinstance(spec, ast.Tuple) and len(spec.elts) == 2 and isinstance(spec.elts[1], ast.Dict):
                for name, value in ast.literal_eval(spec.elts[1]).items():
                    if name in ("lr", "eta"):
                        out[f"{label}.{name}"] = value
    return out


def _page(page: bs.NotebookPage, i: int) -> Dict[str, Any]:
    return page.page.evaluate(PAGE_SLIDERS, i)


def _compare(where: str, sliders: List[dict], controls: Dict[str, dict], against_opening: bool,
             moved=()) -> List[str]:
    """Problems: visible sliders whose page text is not the kernel's formatted value (and, if
    asked, not the formatted opening value)."""
    by_desc = {c["desc"]: (name, c) for name, c in controls.items()}
    problems = []
    for s in sliders:
        if not s["visible"]:
            continue
        name, c = by_desc.get(s["label"], (None, None))
        if c is None:
            problems.append(f"{where}: slider {s['label']!r} is no control of the kernel's explorer")
            continue
        shown = shown_text(s)
        if shown != _norm(c["text"]):
            problems.append(f"{where}: slider {name!r} shows {shown!r}; the kernel has {c['value']!r}, "
                            f"which reads {c['text']!r} at the slider's precision")
        if not bs.readout_matches(shown, c["value"]):
            problems.append(f"{where}: slider {name!r} shows {shown!r}, which is not {c['value']!r} to "
                            f"the precision it shows")
        # Play mirrors ``step`` in the page (jslink), so a step the code set moves Play there too;
        # the kernel check above still holds for it. ``step`` itself is in ``code_values``.
        if (against_opening and name not in moved and name != "play"
                and c["opening"] is not None and shown != _norm(c["opening"])):
            problems.append(f"{where}: slider {name!r} shows {shown!r}, not the value the code asked "
                            f"for ({c['opening']!r})")
    return problems


def _synced(page, i, k, timeout=30.0):
    """Wait until explorer ``i``'s picture, readout and every visible slider in the page show
    what kernel explorer ``k`` has (the page may lag the kernel under load)."""
    deadline = time.monotonic() + timeout
    while True:
        item, d = bs.wait_synced(page, i, k, timeout=max(1.0, deadline - time.monotonic()))
        controls = bs.kernel_value(page, KERNEL_CONTROLS.replace("{k}", str(k)))
        sliders = _page(page, i)["sliders"]
        if not _compare("", sliders, controls, False) or time.monotonic() > deadline:
            return item, d, controls, sliders
        time.sleep(0.3)


def check_readouts(page: bs.NotebookPage) -> List[Dict[str, Any]]:
    """Issue 16 in a notebook page (see the module's docstring); asserts, and returns what was
    checked per explorer."""
    dom, kernel, mapping = bs.match_explorers(page)
    problems, report = [], []
    source = page._source()["cells"]
    for i, d in enumerate(dom):
        k = mapping[i]
        assert k is not None, f"explorer {i} in the page shows no kernel explorer's current frame"
        kind = kernel[k]["kind"]
        where = f"explorer {i} ({kind})"
        controls = bs.kernel_value(page, KERNEL_CONTROLS.replace("{k}", str(k)))
        info = _page(page, i)
        # before any interaction: page = kernel = opening = the cell's code
        problems += _compare(where + " before any move", info["sliders"], controls, True)
        passed = code_openings("".join(source[info["cell"]]["source"])) if info["cell"] >= 0 else None
        for name, value in (passed or {}).items():
            c = controls.get(name)
            if c is not None and c["opening_value"] is not None and c["opening_value"] != value:
                problems.append(f"{where}: the cell passes {name}={value!r} but the explorer opened "
                                f"with {c['opening_value']!r}")
        # a keyboard move of every visible slider, then all again
        watch = f"explorer-{i}"
        since = page.changes(watch)
        moved = []
        for j, s in enumerate(page.describe(i)["sliders"]):
            if not s["visible"]:
                continue
            key = "ArrowLeft" if s["position"] is not None and s["position"] >= 1 else "ArrowRight"
            page.move_slider_keyboard(i, j, presses=1, key=key)
            moved.append(s["label"])
        try:
            page.wait_settled(watch, since)
        except Exception as exc:  # playwright's TimeoutError: the checks below report the state
            problems.append(f"{where}: no new picture after the keyboard moves ({type(exc).__name__})")
        item, desc, controls, sliders = _synced(page, i, k)
        moved_names = {c_name for c_name, c in controls.items() if c["desc"] in moved}
        problems += _compare(where + " after keyboard moves", sliders, controls, True, moved=moved_names)
        if bs.normalize_readout(desc["readout"]) != bs.normalize_readout(item["readout"]):
            problems.append(f"{where}: the page's readout {desc['readout']!r} is not the kernel's "
                            f"{item['readout']!r}")
        unchanged = [n for n in moved_names if controls[n]["opening"] is not None
                     and _norm(controls[n]["text"]) == _norm(controls[n]["opening"])]
        if unchanged:
            problems.append(f"{where}: the keyboard did not move {unchanged}")
        report.append({"kind": kind, "sliders": len([s for s in sliders if s["visible"]]),
                       "code": sorted(passed or {})})
    assert not problems, f"{page.name}:\n" + "\n".join(problems)
    return report

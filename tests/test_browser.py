"""Every notebook and every explorer slider in a real browser: JupyterLab in headless Chromium.

One JupyterLab server (over a temporary copy of ``notebooks/``) and one Chromium serve the whole
session. Each notebook found in ``notebooks/`` at collection time is opened in its own page and
run with Run ▸ Run All Cells; then, for every explorer it shows, one slider moves with the
keyboard and one with the mouse. After each move, once the update settled (kernel idle and no
new picture for 0.6 s):

* the picture changed (the ``<img>`` src and the bytes behind it);
* the picture is the kernel's current frame (same SHA-256), and no frame is pending;
* every visible slider shows the value the kernel's widget has;
* the readout under the figure is the kernel's readout, which is what the explorer computes
  again from the widgets' values; for ``Explorer2D`` the final point is also recomputed with a
  plain loop over the rule;
* nothing was written to the explorer's error area, and the page raised no error.

Before the sliders move, ``browser_readouts`` checks that every slider shows the kernel's value
and the value the cell's code passed (issue 16); after them, ``browser_inspector`` moves each
explorer's step, plays and pauses it (issue 13), and then ``browser_clicks`` clicks and drags on
every explorer's picture while the inspector shows a step (issue 17). Each notebook is opened
and run once for all of these. One more test writes a notebook that starts with
``%matplotlib widget`` and runs the same checks there (the widget backend), and another (marked
``colab``, run by ``make test-colab``) runs them under ipywidgets 7 in a generated notebook with
one explorer of each kind.

Last, the first explorer's cell runs again (Ctrl+Enter): JupyterLab sends the cell's id, and
the explorer its first run made is closed while the page shows the new one.

The kernel is asked over the server's websocket with a silent ``user_expressions`` request, so
the notebook itself is not changed. Screenshots of each notebook's first explorer before and
after the moves go to ``artifacts/screenshots/`` (git-ignored; CI keeps it as an artifact).
"""
from __future__ import annotations

import contextlib
import json
import os
import time

import pytest

import browser_clicks
import browser_inspector
import browser_readouts
import browser_support as bs

pytestmark = pytest.mark.browser

NOTEBOOKS = bs.notebook_names()
# Controls that are not hyperparameters: moved only when an explorer has nothing else.
COMMON_CONTROLS = {"steps", "x0", "x1", "x2", "kappa", "angle", "noise", "step", "speed"}

TIMINGS: dict = {}  # notebook -> seconds (open, run_all, explorers, total)
MOVES: dict = {}    # notebook -> the sliders moved, per explorer


# ---------------------------------------------------------------------------------------------
# Fixtures: one server and one browser for this module, one page per notebook. Module scope,
# not session: Playwright's sync API keeps an asyncio loop registered as running while it is
# open, which would change how explorers in later test modules schedule their frames.


@pytest.fixture(scope="module")
def lab_server():
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(bs.CHROMIUM):
        message = f"{bs.CHROMIUM} is missing (make setup-browser installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with bs.LabServer() as server:
        yield server


@pytest.fixture(scope="module")
def browser_context(lab_server, request):
    with bs.chromium() as browser:
        context = browser.new_context(viewport=bs.VIEWPORT)
        yield context
        context.close()
    _report_timings(request.config)


def _report_timings(config) -> None:
    if not TIMINGS:
        return
    bs.ARTIFACTS.mkdir(exist_ok=True)
    (bs.ARTIFACTS / "browser-timings.json").write_text(
        json.dumps({"seconds": TIMINGS, "moved": MOVES}, indent=1, ensure_ascii=False))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line("")
        reporter.write_line("browser tests, seconds per notebook (open / run all / explorers / total):")
        for name, t in TIMINGS.items():
            reporter.write_line(
                f"  {name:34s} {t.get('open', 0):5.1f} / {t.get('run_all', 0):5.1f} / "
                f"{t.get('explorers', 0):5.1f} / {t.get('total', 0):5.1f}"
            )


class NotebookRun:
    def __init__(self, name: str, page: bs.NotebookPage):
        self.name = name
        self.page = page
        self.failure = None
        self.unexecuted = []
        self.errors = []


@pytest.fixture(scope="module", params=NOTEBOOKS)
def notebook(request, lab_server, browser_context):
    """The notebook opened and run (Run All Cells) in a fresh page; closed after its tests."""
    name = request.param
    t0 = time.perf_counter()
    page = bs.NotebookPage(lab_server, browser_context, name)
    run = NotebookRun(name, page)
    try:
        page.open()
        run.unexecuted = page.run_all()
        run.errors = page.error_outputs()
    except Exception as exc:  # reported by the tests, with the server's log
        run.failure = f"{type(exc).__name__}: {exc}\n--- server log ---\n{lab_server.log_tail(20)}"
    yield run
    timings = dict(page.timings)
    timings["total"] = time.perf_counter() - t0
    TIMINGS[name] = {k: round(v, 2) for k, v in timings.items()}
    page.close()


def _ready(run: NotebookRun) -> bs.NotebookPage:
    if run.failure:
        pytest.fail(f"{run.name} did not open and run: {run.failure}")
    return run.page


# ---------------------------------------------------------------------------------------------
# Checks


def test_notebook_runs_without_errors(notebook):
    page = _ready(notebook)
    problems = []
    for err in notebook.errors:
        problems.append(f"cell {err['cell']}: {err['ename']}: {err['evalue']}\n{err['traceback']}")
    if notebook.unexecuted:
        problems.append(f"code cells not executed (the run stopped): {notebook.unexecuted}")
    problems += [f"page error: {e}" for e in page.page_errors]
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def _match_kernel_explorers(dom, shas, kernel):
    """Which kernel explorer each explorer in the page shows: the one whose current frame has
    the same bytes (ties: in order)."""
    used, mapping = set(), []
    for i, sha in enumerate(shas):
        candidates = [k for k in kernel if k["frame_sha"] == sha and k["index"] not in used]
        assert candidates, (
            f"explorer {i} in the page shows a picture that is no explorer's current frame "
            f"in the kernel (readout {dom[i]['readout']!r})"
        )
        used.add(candidates[0]["index"])
        mapping.append(candidates[0]["index"])
    return mapping


def _explorers(page):
    dom = page.explorers()
    kernel = page.probe(recompute=False)
    if not dom and not kernel:
        pytest.skip("this notebook has no explorer")
    assert dom, f"the kernel has {len(kernel)} explorer(s) but the page shows none"
    shas = [page.picture_sha(i) if d["figure"] == "image" else None for i, d in enumerate(dom)]
    mapping = _match_kernel_explorers(dom, shas, kernel)
    return dom, kernel, mapping


def test_explorer_controls_are_visible(notebook):
    """Every control the kernel does not hide is on screen, and every explorer has its sliders
    and readout (a shared ``Layout`` once hid the steps and start sliders with kappa's)."""
    page = _ready(notebook)
    dom, kernel, mapping = _explorers(page)
    problems = []
    for i, d in enumerate(dom):
        k = kernel[mapping[i]]
        by_desc = {c["description"]: (name, c) for name, c in k["controls"].items()}
        if not d["readout"].strip():
            problems.append(f"explorer {i}: empty readout")
        for s in d["sliders"]:
            name, c = by_desc.get(s["label"], (None, None))
            if c is None:
                problems.append(f"explorer {i}: slider {s['label']!r} is no control of the kernel's explorer")
                continue
            if s["visible"] == c["hidden"]:
                problems.append(
                    f"explorer {i} ({k['kind']}): slider {name!r} is "
                    f"{'shown' if s['visible'] else 'hidden'} but the kernel "
                    f"{'hides' if c['hidden'] else 'shows'} it"
                )
        if "steps" in k["controls"] and k["controls"]["steps"]["hidden"]:
            problems.append(f"explorer {i} ({k['kind']}): the steps slider is hidden")
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def test_sliders_show_the_truth(notebook):  # issue 16, before any slider moves
    browser_readouts.check_readouts(_ready(notebook))


def _pick_sliders(d, k):
    """(keyboard slider, mouse slider): visible hyperparameter sliders first (linear before
    ladders), then the common controls."""
    by_desc = {c["description"]: (name, c) for name, c in k["controls"].items()}
    ranked = []
    for s in d["sliders"]:
        if not s["visible"]:
            continue
        name, c = by_desc.get(s["label"], (None, None))
        rank = 3 if name in ("step", "speed") else 2 if name in COMMON_CONTROLS else 0  # inspector last
        if c is not None and c["type"] == "SelectionSlider":
            rank += 1
        ranked.append((rank, s["index"]))
    ranked.sort()
    assert ranked, "the explorer shows no slider"
    order = [j for _, j in ranked]
    return order[0], (order[1] if len(order) > 1 else order[0])


def _check_after_move(page, i, j, how, before, before_sha, kernel_index):
    """The state after a settled move of slider ``j`` of explorer ``i``."""
    after = page.describe(i)
    label = before["sliders"][j]["label"]
    where = f"explorer {i}, slider {label!r} moved with the {how}"
    assert after["sliders"][j]["readout"] != before["sliders"][j]["readout"], f"{where}: the slider did not move"
    assert after["signature"] != before["signature"], f"{where}: the picture did not change"
    sha = page.picture_sha(i) if after["figure"] == "image" else None
    if sha is not None:
        assert sha != before_sha, f"{where}: the picture's bytes did not change"
    k = page.probe()[kernel_index]
    problems = []
    if sha is not None and k["frame_sha"] != sha:
        problems.append("the picture in the page is not the kernel's current frame")
    if k["frame_stale"] or k["frame_pending"]:
        problems.append("the kernel still has a frame to draw after the update settled")
    if k["error"]:
        problems.append(f"the explorer reported an error: {k['error']}")
    if after["output"]:
        problems.append(f"the explorer's error area shows: {after['output'][:500]}")
    shown = bs.normalize_readout(after["readout"])
    if shown != bs.normalize_readout(k["readout"]):
        problems.append(f"the page's readout {shown!r} is not the kernel's {k['readout']!r}")
    if "recomputed_readout" in k and k["recomputed_readout"] != k["readout"]:
        problems.append(f"the readout {k['readout']!r} is not what the sliders give "
                        f"({k['recomputed_readout']!r})")
    if k.get("readout_lacks"):
        problems.append(f"the readout {k['readout']!r} does not show the path's end: "
                        f"{k['readout_lacks']}")
    if k.get("independent") and not k["independent"]["ok"]:
        problems.append(f"the final point is not the rule's: {k['independent']}")
    by_desc = {c["description"]: (name, c) for name, c in k["controls"].items()}
    for s in after["sliders"]:
        name, c = by_desc.get(s["label"], (None, None))
        if c is None or not s["visible"]:
            continue
        if not bs.readout_matches(s["readout"], c["value"]):
            problems.append(f"slider {name!r} shows {s['readout']!r} but the kernel has {c['value']!r}")
    assert not problems, f"{where}:\n" + "\n".join(problems)
    return after, sha


def _settle(page, watch, since, where):
    try:
        page.wait_settled(watch, since)
    except Exception as exc:  # playwright's TimeoutError
        d = page.describe(int(watch.rsplit("-", 1)[1]))
        pytest.fail(f"{where}: no new picture, or the kernel never went idle, within the time limit "
                    f"({type(exc).__name__}); readout now {d['readout']!r}, "
                    f"kernel status {page.page.evaluate('() => window.__d2l.kernelStatus()')!r}")


def exercise_explorers(page, stem, screenshots=True):
    """Move one slider with the keyboard and one with the mouse on every explorer of the page,
    checking the state after each settled move; screenshots of the first explorer."""
    dom, kernel, mapping = _explorers(page)
    moves = []
    for i, d in enumerate(dom):
        k = kernel[mapping[i]]
        key_j, mouse_j = _pick_sliders(d, k)
        moves.append({"kind": k["kind"], "keyboard": d["sliders"][key_j]["label"],
                      "mouse": d["sliders"][mouse_j]["label"]})
        shoot = screenshots and i == 0
        if shoot:
            page.screenshot_explorer(i, bs.SCREENSHOTS / f"{stem}_explorer0_1_before.png")
        watch = f"explorer-{i}"

        before = page.describe(i)
        before_sha = page.picture_sha(i) if before["figure"] == "image" else None
        since = page.changes(watch)
        page.move_slider_keyboard(i, key_j, presses=3)
        _settle(page, watch, since, f"explorer {i}, slider {d['sliders'][key_j]['label']!r}, keyboard")
        bs.wait_synced(page, i, mapping[i])  # under load the page may still lag the kernel
        before, before_sha = _check_after_move(page, i, key_j, "keyboard", before, before_sha, mapping[i])
        if shoot:
            page.screenshot_explorer(i, bs.SCREENSHOTS / f"{stem}_explorer0_2_after_keyboard.png")

        since = page.changes(watch)
        page.move_slider_mouse(i, mouse_j, fraction=0.2)
        _settle(page, watch, since, f"explorer {i}, slider {d['sliders'][mouse_j]['label']!r}, mouse")
        bs.wait_synced(page, i, mapping[i])
        _check_after_move(page, i, mouse_j, "mouse", before, before_sha, mapping[i])
        if shoot:
            page.screenshot_explorer(i, bs.SCREENSHOTS / f"{stem}_explorer0_3_after_mouse.png")
    return moves


def test_every_explorer_follows_keyboard_and_mouse(notebook):
    page = _ready(notebook)
    t0 = time.perf_counter()
    MOVES[notebook.name] = exercise_explorers(page, notebook.name.rsplit(".", 1)[0])
    page.timings["explorers"] = time.perf_counter() - t0
    assert not page.page_errors, f"page errors while moving sliders: {page.page_errors}"


def test_every_explorer_inspector_follows_step_and_play(notebook):
    """The step inspector: step by keyboard, Play, a race's run (tests/browser_inspector.py)."""
    page = _ready(notebook)
    MOVES[f"{notebook.name} (inspector)"] = browser_inspector.exercise_inspector(page, *_explorers(page))


def test_clicks_and_drags_move_the_start(notebook):  # issue 17, inline backend
    """After the inspector's checks, so the clicks land while it shows a step (and the step
    keeps its value, cut to the new path's end, as the kernel says). Then a fast drag on the
    page's slowest explorer: chapter 10's race on Rosenbrock takes several move intervals to
    compute, so there the kernel must have dropped the stale moves."""
    page = _ready(notebook)
    browser_clicks.check_clicks(page)
    fast = browser_clicks.check_fast_drag(page)
    MOVES[f"{notebook.name} (fast drag)"] = fast
    if notebook.name.startswith("10_"):
        assert fast["slow"] and fast["kind"] == "Race", fast


def test_rerunning_an_explorer_cell_closes_its_old_explorer(notebook):
    """JupyterLab sends each cell's id: running the first explorer's cell again closes the
    explorer its first run made (the kernel keeps as many explorers as before), and the page
    shows the new one."""
    page = _ready(notebook)
    dom, kernel, mapping = _explorers(page)
    live = "__import__('d2lmini').explorers.live_explorers()"
    with page.kernel() as k:
        assert k.evaluate("sorted({key[0] for key in __import__('d2lmini.explorers.registry', "
                          "fromlist=['_CELLS'])._CELLS.held})") == ["id"]
        k.execute(f"__d2l_old = {live}[{mapping[0]}]")  # silent: no cell owns this run
        before = k.evaluate(f"len({live})")
    cell = page.explorer_locator(0).locator("xpath=ancestor::div[contains(@class, 'jp-Cell ')][1]")
    cell.locator(".jp-InputArea-prompt").click()  # select the cell (command mode)
    page.page.keyboard.press("Control+Enter")  # run it in place
    deadline = time.monotonic() + 60
    with page.kernel() as k:
        while not k.evaluate("__d2l_old.closed") and time.monotonic() < deadline:
            time.sleep(0.2)
        page.wait_kernel_idle()
        closed, after = k.evaluate("__d2l_old.closed"), k.evaluate(f"len({live})")
        old_live = k.evaluate(f"any(e is __d2l_old for e in {live})")
        k.execute("del __d2l_old")
    assert closed and not old_live, "re-running the cell left its old explorer open"
    assert after == before, f"{before} explorers before the re-run, {after} after"
    dom_after, kernel_after, _ = _explorers(page)  # every picture is a live explorer's frame
    assert len(dom_after) == len(dom)
    assert not page.page_errors, f"page errors after re-running a cell: {page.page_errors}"


def test_widget_backend_explorers(lab_server, browser_context):  # issue 17, %matplotlib widget
    browser_clicks.check_widget_backend(
        lab_server, browser_context,
        lambda page: exercise_explorers(page, "widget_backend"),
        lambda page: browser_inspector.exercise_inspector(page, *_explorers(page)))


# ---------------------------------------------------------------------------------------------
# ipywidgets 7 (the Colab-like environment, ``make test-colab``)

IPYWIDGETS7_NOTEBOOK = "_ipywidgets7_explorers.ipynb"

#: One explorer of each kind the chapters show, under the inline backend (Colab's): a built-in
#: rule (rule and objective drop-downs, check boxes, ladders near 1 and of decades; chapters 0,
#: 5-10), a hand-written rule (chapters 2-8: its own ranges, a log-scale eps, an lr no grid
#: holds, shown in a number box), noise with a warm-up schedule (chapter 9), a race of built-in
#: and hand-written rules with its ``inspect`` drop-down (chapters 3, 4, 8, 10) and a 1-D
#: explorer (chapters 1-3).
IPYWIDGETS7_CELLS = [
    "%matplotlib inline\nimport numpy as np\nimport d2lmini as d2l",
    'named = d2l.explore("adam", beta2=0.999, eps=1e-6)\nnamed',
    "@d2l.hyperparams(eta=(0.0, 3.0), eps=(1e-10, 1.0, 'log'))\n"
    "def adagrad_rule(x, g, state, eta=0.4, eps=1e-6):\n"
    "    state['s'] = state.get('s', 0.0) + g * g\n"
    "    return x - eta * g / np.sqrt(state['s'] + eps)\n\n"
    "own = d2l.explore(adagrad_rule, eta=0.4123, eps=1e-6)\nown",
    "quadratic = d2l.objectives.get('quadratic', kappa=2)\n"
    "warm = d2l.explore('adam', objective=quadratic, steps=100, stochastic=True, noise=1.0,\n"
    "                   schedule='cosine with warm-up', warmup=10, lr=0.5)\nwarm",
    "race = d2l.race({'heavy ball': ('momentum', {'lr': 0.3, 'momentum': 0.5}),\n"
    "                 'mine': (adagrad_rule, {'eta': 0.4}), 'lion': ('lion', {'lr': 0.2})},\n"
    "                objective='d2l', steps=30)\nrace",
    "one = d2l.explore_1d('newton', objective='xcos', steps=10, lr=1.0)\none",
]


def _ipywidgets_major() -> int:
    from importlib.metadata import version

    return int(version("ipywidgets").split(".")[0])


def _colab_like_stack(page) -> dict:
    """The page runs what Colab has: ipywidgets 7 in the kernel and in the page, ipyevents,
    the inline backend, no ipympl."""
    stack = bs.kernel_value(page, (
        "{'ipywidgets': __import__('ipywidgets').__version__, "
        "'ipyevents': __import__('ipyevents').__version__, "
        "'backend': __import__('matplotlib').get_backend(), "
        "'ipympl': __import__('importlib.util', fromlist=['x']).find_spec('ipympl') is not None}"))
    stack["page"] = page.widgets_major(timeout=30)
    assert stack["page"] is not None, (
        "the page shows no slider 30 s after Run All: the frontend did not render ipywidgets "
        f"{stack['ipywidgets']} (is jupyterlab_widgets 1.x installed and enabled? "
        "`jupyter labextension list` in .venv-colab)")
    assert stack["ipywidgets"].startswith("7.") and stack["page"] == 7, (
        f"the kernel has ipywidgets {stack['ipywidgets']}, the page draws ipywidgets "
        f"{stack['page']}'s sliders (7 expected for both)")
    assert "inline" in stack["backend"].lower() and not stack["ipympl"], stack
    return stack


@pytest.mark.colab
@pytest.mark.timeout(900)  # every wait inside is bounded; this bounds their sum, with a stack dump
@pytest.mark.skipif(_ipywidgets_major() != 7, reason=(
    "needs ipywidgets 7 (the Colab-like environment: make test-colab); under ipywidgets 8 every "
    "chapter's own browser test covers the same checks"))
def test_ipywidgets7_explorers(lab_server, browser_context):  # issue 17, ipywidgets 7
    """The browser checks under ipywidgets 7, as on Colab: in one generated notebook (written
    into the server's temporary folder, never into ``notebooks/``) that makes one explorer of
    each kind the chapters use (``IPYWIDGETS7_CELLS``), the readouts are true before and after
    keyboard moves, a slider moves by keyboard and by mouse, the step inspector steps, plays and
    pauses (and a race's run is picked), a fast drag on the slowest explorer ends at the
    release point, and clicks and drags on the picture move the start (on the first explorer
    of each kind: 2-D, race, 1-D), each checked against the kernel.

    Why one generated notebook and not every chapter again: the chapters make their explorers
    through the same ``d2l.explore``/``race``/``explore_1d`` code paths as these cells, and
    their kernel side already runs under ipywidgets 7 in ``make test-colab`` (the
    ``test_nb_*`` files). What differs here is the frontend (ipywidgets 7's controls: jQuery UI
    sliders, a separate pause button, ipyevents on ``@jupyter-widgets/base`` 4), which one
    explorer of each kind exercises fully, in a few minutes instead of the ipywidgets 8
    browser file's twenty."""
    browser_clicks.check_scratch_notebook(
        lab_server, browser_context, IPYWIDGETS7_NOTEBOOK, IPYWIDGETS7_CELLS,
        ["Explorer2D", "Explorer2D", "Explorer2D", "Race", "Explorer1D"],
        lambda page: exercise_explorers(page, "ipywidgets7"),
        lambda page: browser_inspector.exercise_inspector(page, *_explorers(page)),
        browser_clicks.check_fast_drag,
        environment=_colab_like_stack, clicks_on_each_kind=True)

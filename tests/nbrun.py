"""Run a notebook in a real Jupyter kernel and read values back from that kernel.

``run_notebook(name, probe)`` executes ``notebooks/<name>`` top to bottom with nbclient (the
kernel is the one of the interpreter running the tests), fails on any error output, then runs
``probe`` (Python code) in the same kernel; ``probe`` must print one JSON document, which is
returned together with the executed notebook.

Every explorer the notebook created (``d2lmini.explorers`` keeps a registry) is checked by
:data:`READOUT_PROBE` (every control holds the value the notebook's code asked for and its
readout shows it, on its grid, at the step's precision: issue 16) and exercised by
:data:`EXPLORER_PROBE`: a slider moves, and the path, readout and frame must change.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import time
from typing import Any, Dict, List, Optional, Tuple

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: Probe code: exercise every live explorer the notebook created.
EXPLORER_PROBE = r"""
import json as _json
import numpy as _np
from d2lmini import explorers as _ex
_report = []
for _e in _ex.live_explorers():
    _before = _np.array(_e.trajectory if not isinstance(_e.trajectory, dict) else _np.concatenate(list(_e.trajectory.values())), dtype=float).copy()
    _frame = _e.frame
    _moved = None
    for _name, _w in _e.controls.items():
        if _name in ("x1", "x2", "steps", "x0", "warmup", "step", "play", "speed"):
            continue
        if type(_w).__name__ == "SelectionSlider":
            _values = [_o[1] for _o in _w.options]
            if len(_values) < 2:
                continue
            _old = _w.value
            _new = _values[int(0.37 * (len(_values) - 1))]
            if _new == _old:
                _new = _values[int(0.61 * (len(_values) - 1))]
            _w.value = _new
            _moved = (_name, float(_old), float(_w.value))
            break
        if hasattr(_w, "min") and hasattr(_w, "max"):
            _old = _w.value
            _pick = lambda _f: _w.min + _f * (_w.max - _w.min)
            _new = _pick(0.37)
            if abs(_new - _old) < 1e-12 * max(1.0, abs(_old)):
                _new = _pick(0.61)
            _w.value = type(_old)(_new) if isinstance(_old, int) else _new
            _moved = (_name, float(_old), float(_w.value))
            break
    _e.update()
    _after = _np.array(_e.trajectory if not isinstance(_e.trajectory, dict) else _np.concatenate(list(_e.trajectory.values())), dtype=float)
    _report.append({
        "kind": type(_e).__name__,
        "moved": _moved,
        "path_changed": bool(_before.shape != _after.shape or not _np.allclose(_before, _after, equal_nan=True)),
        "frame_changed": bool(_frame != _e.frame),
        "frame_png": bool(_e.frame[:8] == b"\x89PNG\r\n\x1a\n"),
        "readout": str(_e.readout),
    })
print(_json.dumps(_report))
"""


#: Probe code, run first (right after the notebook's own cells, before any other probe moves a
#: control): issue 16 in the kernel, for every explorer of the chapter.
READOUT_PROBE = r"""
import json as _json
from d2lmini import explorers as _ex
from d2lmini.explorers import controls as _C

def _readout_problems(_e):
    # each control holds the value the code asked for (code_values: the opening values, then
    # what set(...) changed) and its readout shows it; a FloatSlider's value and min sit on its
    # grid and its readout has the step's decimals (so ipywidgets 7 and 8 print the same text)
    _out = []
    for _n, _v in _e.code_values.items():
        _w = _e.controls.get(_n)
        if _w is None or _C._readout_text(_w) is None:
            continue
        _text = _C._readout_text(_w)
        if _w.value != _v or _text != _C._readout_text(_w, _v):
            _out.append(f"{_n}: holds {_w.value!r} ({_text}), the code asked for {_v!r}")
        if type(_w).__name__ == "FloatSlider":
            _step = float(_w.step)
            for _x in (float(_w.value), float(_w.min)):
                if abs(_x / _step - round(_x / _step)) > 1e-6:
                    _out.append(f"{_n}: {_x!r} is off the grid of step {_step!r}")
            if _w.readout_format != f".{_C._decimals(_step)}f":
                _out.append(f"{_n}: readout format {_w.readout_format!r} for step {_step!r}")
        if _text is not None and abs(float(_text) - float(_w.value)) > 1e-6 * float(getattr(_w, "step", 0) or 0) + 1e-12 * max(1.0, abs(float(_w.value))):
            _out.append(f"{_n}: reads {_text!r}, holds {_w.value!r}")
    return _out

print(_json.dumps([{"kind": type(_e).__name__, "problems": _readout_problems(_e)}
                   for _e in _ex.live_explorers()]))
"""

#: Probe helpers for sliders of any kind: a FloatSlider, a log slider, or a ladder of values
#: (a SelectionSlider of (label, value) options, as the explorers give eps, beta2, rho, ...).
SLIDER_HELPERS = r"""
def _slider_values(w):
    if hasattr(w, 'options'):
        return [o[1] if isinstance(o, tuple) else o for o in w.options]
    return [w.base ** w.min, w.base ** w.max] if hasattr(w, 'base') else [w.min, w.max]
def _is_log(w):
    v = _slider_values(w)
    return hasattr(w, 'base') or (min(v) > 0 and max(v) / min(v) >= 100)
"""

def _outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out and "text/plain" in out["data"]:
            parts.append(out["data"]["text/plain"])
    return "".join(parts)


def run_notebook(name: "str | os.PathLike", probes: Optional[Dict[str, str]] = None,
                 timeout: int = 300) -> Tuple[Any, Dict[str, Any], float]:
    """Execute ``notebooks/<name>`` (or the notebook at a path) top to bottom, then each probe.

    ``probes`` maps a key to Python code whose last printed line is one JSON document; the
    parsed documents come back under the same keys, plus ``"readouts"`` (:data:`READOUT_PROBE`,
    run first) and ``"explorers"`` (the report of :data:`EXPLORER_PROBE`, run last). Returns
    (executed notebook, probe results, seconds for the notebook's own cells). Fails on any error
    output.
    """
    path = pathlib.Path(name) if pathlib.Path(name).is_absolute() else NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, (
                f"{name} is committed with outputs; clear them"
            )
    all_probes = {"readouts": READOUT_PROBE}
    all_probes.update(probes or {})
    all_probes["explorers"] = EXPLORER_PROBE
    env_backup = dict(os.environ)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    results: Dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            elapsed = time.perf_counter() - t0
            for key, code in all_probes.items():
                probe_cell = nbformat.v4.new_code_cell(code)
                nb.cells.append(probe_cell)
                client.execute_cell(probe_cell, len(nb.cells) - 1)
                text = _outputs_text(nb.cells.pop()).strip()
                assert text, f"probe {key!r} printed nothing"
                results[key] = json.loads(text.splitlines()[-1])
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{name}: error output {out.get('ename')}: {out.get('evalue')}"
    return nb, results, elapsed


def check_explorers(results: Dict[str, Any], minimum: int = 1) -> None:
    """Assert the notebook made at least ``minimum`` explorers, each showed the values its code
    asked for (issue 16) and each answered a slider."""
    for item in results["readouts"]:  # issue 16, right after the notebook's own cells
        assert not item["problems"], f"{item['kind']}: sliders that do not show the code's values: {item['problems']}"
    report = results["explorers"]
    assert len(report) >= minimum, f"expected at least {minimum} explorer(s), found {len(report)}"
    for item in report:
        assert item["moved"] is not None, f"{item['kind']}: no slider to move"
        assert item["path_changed"], f"{item['kind']}: moving {item['moved']} did not change the path"
        assert item["frame_changed"] and item["frame_png"], f"{item['kind']}: the picture did not change"


def cell_text(nb, tag_or_index) -> str:
    """The text output of a cell, by index or by a cell tag."""
    if isinstance(tag_or_index, int):
        return _outputs_text(nb.cells[tag_or_index])
    for cell in nb.cells:
        if tag_or_index in cell.get("metadata", {}).get("tags", []):
            return _outputs_text(cell)
    raise KeyError(f"no cell tagged {tag_or_index!r}")


def all_text(nb) -> str:
    """Everything the notebook printed, in order."""
    return "".join(_outputs_text(c) for c in nb.cells if c.cell_type == "code")


def check_clean_outputs(nb) -> None:
    """Assert no cell printed an error or anything on stderr (warnings included)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error"
            if out.get("output_type") == "stream":
                assert out.get("name") != "stderr", out.get("text")


#: An exercise starts with a bold number, "**3. Title.**", in the Exercises section.
EXERCISE_HEADING = re.compile(r"^\*\*(\d+)\.", re.M)
#: A check in a notebook: one commented line, ``# d2l.check('<slug>.<name>', ...)``.
CHECK_CALL = re.compile(r"^# d2l\.check\('([a-z_]+)\.([a-z0-9_]+)'", re.M)
ANSWER_OPEN, ANSWER_CLOSE = "<details><summary>Answer</summary>", "</details>"


def exercise_blocks(nb) -> List[Tuple[int, str]]:
    """The exercises of a notebook: (number, everything from its heading to the next one).

    The Exercises section runs from the ``## Exercises`` heading to ``## Summary``; markdown and
    code cells are joined in order, so a block holds the question, its check line and its answer.
    """
    text, inside = [], False
    for cell in nb.cells:
        src = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if not inside and re.search(r"^## .*Exercises", src, re.M):
            inside = True
            src = src[re.search(r"^## .*Exercises", src, re.M).start():]
        if inside:
            summary = re.search(r"^## Summary", src, re.M)
            if summary:
                text.append(src[:summary.start()])
                break
            text.append(src)
    joined = "\n\n".join(text)
    heads = list(EXERCISE_HEADING.finditer(joined))
    return [(int(m.group(1)), joined[m.start():(heads[i + 1].start() if i + 1 < len(heads) else len(joined))])
            for i, m in enumerate(heads)]


def check_calls(nb) -> List[str]:
    """The exercise keys of the notebook's commented ``# d2l.check(...)`` lines, in order."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return [f"{slug}.{name}" for slug, name in CHECK_CALL.findall(code)]


def check_exercises(nb, slug: str, min_checks: int = 1) -> None:
    """Exercises in the course's one style: no ``check_...`` function in the notebook; each check
    is a commented ``# d2l.check('<slug>.<name>', ...)`` line whose key exists, with ``...`` where
    the answer goes (never an answer); every exercise has a worked answer in a ``<details>``
    block."""
    from d2lmini import exercises

    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"def\s+check_", code), "checks live in d2lmini.exercises, not in the notebook"
    assert not re.search(r"^\s*d2l\.check\(", code, re.M), "a check call must be commented out (Run All)"
    keys = check_calls(nb)
    assert len(keys) >= min_checks, f"expected at least {min_checks} checks, found {keys}"
    assert len(set(keys)) == len(keys), f"a check appears twice: {keys}"
    for line in re.findall(r"^# d2l\.check\(.*$", code, re.M):   # one call style: a placeholder
        assert "..." in line, f"a check line shows ... where the answer goes, not an answer: {line}"
    for key in keys:
        assert key.startswith(slug + "."), f"{key} belongs to another chapter than {slug}"
        assert key in exercises.keys(), f"{key} is not an exercise of d2lmini.exercises"
    blocks = exercise_blocks(nb)
    assert [n for n, _ in blocks] == list(range(1, len(blocks) + 1)), "exercises are numbered 1, 2, ..."
    for number, block in blocks:
        assert ANSWER_OPEN in block and ANSWER_CLOSE in block.split(ANSWER_OPEN, 1)[1], (
            f"exercise {number} has no worked answer in a <details> block")
        assert block.count("# d2l.check(") <= 1, f"exercise {number} has more than one check"


def chapter_slug(nb) -> str:
    """The chapter slug of a notebook: the one its check lines use (``momentum`` for chapter 3)."""
    slugs = {key.split(".", 1)[0] for key in check_calls(nb)}
    assert len(slugs) == 1, f"the checks of one notebook must share one chapter slug, found {slugs}"
    return slugs.pop()


def check_house_style(nb, title_prefix: str, min_checks: int = 1, slug: Optional[str] = None) -> None:
    """Assert the notebook follows the house style of DEVELOPERS.md.

    A title starting with ``title_prefix`` (``"# " + a verb``); the sections What you'll learn,
    What you'll need, Exercises, Summary, Further reading; the Colab set-up cell first and the
    imports second; exercises the learner can check (at least ``min_checks`` commented
    ``d2l.check`` lines of the chapter ``slug``, and a worked answer for every exercise, see
    :func:`check_exercises`); metadata for the chapter table; no presenter mode and no data paths.
    """

    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    first = next(c.source for c in nb.cells if c.cell_type == "markdown")
    assert first.startswith(title_prefix), f"the title should start with {title_prefix!r}"
    for heading in ("What you'll learn", "What you'll need", "Exercises", "Summary", "Further reading"):
        assert re.search(rf"^## .*{re.escape(heading)}", md, re.M), heading
    assert nb.cells[0].metadata.get("tags") == ["colab-setup"] and nb.cells[0].get("id") == "colab-setup"
    code_cells = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code_cells[1].startswith("%matplotlib inline") and "import d2lmini as d2l" in code_cells[1]
    code = "\n".join(code_cells)
    assert "presenter_mode" not in code, "presenter mode is the teacher's switch, not the notebook's"
    for path_hint in ("/work/", "airfoil_self_noise", "D2LMINI_DATA_DIR"):
        assert path_hint not in code, f"no hard-coded data path ({path_hint})"
    assert "<details><summary>Answer</summary>" in md
    check_exercises(nb, slug or chapter_slug(nb), min_checks)
    meta = nb.metadata["d2lmini"]
    assert meta["teaches"] and isinstance(meta["minutes"], int)
    assert nb.metadata["kernelspec"]["name"] == "python3"


class Kernel:
    """A real kernel (the tests' interpreter) that runs cells one by one, each sent as JupyterLab
    sends it: an ``execute_request`` whose metadata carries the cell's id (``cellId``), or no
    id at all (as nbclient and older frontends do). A context manager; shut down on exit.

    ``run(code, cell_id=None)`` returns what the cell printed and fails on an error output;
    ``json(code, cell_id=None)`` parses the last printed line.
    """

    def __init__(self, timeout: float = 120.0, env: Optional[Dict[str, str]] = None):
        from jupyter_client import KernelManager

        self.timeout = timeout
        kernel_env = dict(os.environ)
        kernel_env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        kernel_env.update(env or {})
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=kernel_env, cwd=str(ROOT))
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=timeout)
        except BaseException:
            self.close()
            raise

    def run(self, code: str, cell_id: Optional[str] = None) -> str:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        msg = self.kc.session.msg("execute_request", content,
                                  metadata={"cellId": cell_id} if cell_id else {})
        self.kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        printed, errors = [], []
        while True:
            reply = self.kc.get_iopub_msg(timeout=self.timeout)
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            kind, body = reply["msg_type"], reply["content"]
            if kind == "stream":
                printed.append(body["text"])
            elif kind == "error":
                errors.append("\n".join(body["traceback"]))
            elif kind == "status" and body["execution_state"] == "idle":
                break
        while self.kc.get_shell_msg(timeout=self.timeout)["parent_header"].get("msg_id") != msg_id:
            pass
        assert not errors, f"cell {cell_id!r} raised:\n" + "\n".join(errors)
        return "".join(printed)

    def json(self, code: str, cell_id: Optional[str] = None) -> Any:
        text = self.run(code, cell_id).strip()
        assert text, f"cell {cell_id!r} printed nothing"
        return json.loads(text.splitlines()[-1])

    @property
    def pid(self) -> int:
        return self.json("import os; print(os.getpid())")

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

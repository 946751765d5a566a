"""Drive the course's notebooks in JupyterLab with headless Chromium (Python Playwright).

Used by ``tests/test_browser.py``, ``bench/browser_latency.py`` and ``scripts/screenshot.py``.
The recipe follows ``../shared/reference/browser-testing.md``:

* :class:`LabServer` -- a JupyterLab server on 127.0.0.1 (free port, random token) serving a
  temporary copy of ``notebooks/``, with its config, runtime, data, workspace and settings
  folders in the same temporary folder; news and update checks off and notebook windowing
  off (every cell in the DOM). On exit it shuts its kernels down and stops; nothing is left
  running.
* :func:`chromium` -- Debian's ``/usr/bin/chromium`` driven by Playwright (never ``playwright
  install``).
* :class:`NotebookPage` -- one notebook in a browser page: open it, Run All Cells from the menu,
  wait until every code cell ran and the kernel is idle, read error outputs (from the saved
  notebook: ``application/vnd.jupyter.stderr`` alone is not an error), find the explorers, move
  their sliders with the keyboard and the mouse, wait until an update settled, and ask the
  notebook's kernel what it has (over the server's kernel websocket, without touching the
  notebook's cells).

The page may draw ipywidgets 8's controls (noUiSlider sliders, one play/pause button) or
ipywidgets 7's (jQuery UI sliders, a play and a pause button; the Colab-like environment): the
slider handles (:data:`SLIDER_HANDLE`), a slider's ``position`` and the Play and pause buttons
are found the same way in both, so every check is written once.

How an explorer is found without test-only CSS classes: an explorer is an ``ipywidgets.VBox``
whose direct children are the figure (``img.widget-image``, or ipympl's ``.jupyter-matplotlib``
under ``%matplotlib widget``) and the readout (``.widget-html``), with ``.widget-slider``
controls below; the page script tags each such box with ``data-d2l-explorer="<n>"`` (in output
order) so that Playwright locators can address it.
"""
from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

CHROMIUM = os.environ.get("D2LMINI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}

#: A slider's handle and track, in ipywidgets 8 (noUiSlider) and ipywidgets 7 (jQuery UI, as on
#: Colab). Both take the keyboard the same way once the handle has the focus: an arrow key moves
#: one step, Home and End go to the ends.
SLIDER_HANDLE = ".noUi-handle, .ui-slider-handle"
SLIDER_TRACK = ".noUi-target, .ui-slider"

#: How long an update must be quiet (no new picture) to count as settled.
QUIET_SECONDS = 0.6

#: Settings applied through overrides.json: no news, no update checks, no windowing.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def notebook_names(folder: Path = NOTEBOOKS) -> List[str]:
    """Every notebook in ``notebooks/`` (file names, sorted)."""
    return sorted(p.name for p in Path(folder).glob("*.ipynb"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# The JupyterLab server


class LabServer:
    """A JupyterLab server over a temporary copy of ``notebooks/`` (a context manager)."""

    def __init__(self, notebooks: Path = NOTEBOOKS, *, python: str = sys.executable,
                 startup_timeout: float = 90.0):
        self.source = Path(notebooks)
        self.python = python
        self.startup_timeout = startup_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.tmp: Optional[Path] = None
        self.root: Optional[Path] = None
        self.port = 0
        self.token = secrets.token_urlsafe(24)
        self.startup_seconds = 0.0
        self.runtime_dir: Optional[Path] = None

    # --- life cycle ------------------------------------------------------------------------
    def __enter__(self) -> "LabServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="d2lmini-lab-"))
        self.root = self.tmp / "notebooks"
        shutil.copytree(self.source, self.root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        env = dict(os.environ)  # D2LMINI_DATA_DIR and the like pass through
        for var, sub in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("JUPYTERLAB_SETTINGS_DIR", "user-settings"),
            ("IPYTHONDIR", "ipython"),
        ):
            folder = self.tmp / sub
            folder.mkdir()
            env[var] = str(folder)
        self.runtime_dir = Path(env["JUPYTER_RUNTIME_DIR"])
        app_settings = self.tmp / "app-settings"
        app_settings.mkdir()
        (app_settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=1))
        env.pop("JUPYTER_TOKEN", None)
        self.port = _free_port()
        cmd = [
            self.python, "-m", "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.app_settings_dir={app_settings}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = self.tmp / "server.log"
        self._log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(self.root),
                                     start_new_session=True)
        deadline = t0 + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                break
            except (OSError, urllib.error.URLError, ValueError):
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer /api/status in "
                                       f"{self.startup_timeout:.0f} s:\n{self.log_tail()}")
                time.sleep(0.2)
        self.startup_seconds = time.perf_counter() - t0

    def stop(self) -> None:
        """Shut the kernels down, stop the server, kill leftovers; every wait is bounded."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                for kernel in self.api("GET", "/api/kernels", timeout=5):
                    with contextlib.suppress(Exception):
                        self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=10)
            proc.terminate()  # the server shuts its remaining kernels down on SIGTERM
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the group this server leads
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        if getattr(self, "runtime_dir", None) is not None:
            self._kill_leftover_kernels()
        if getattr(self, "_log", None) is not None:
            with contextlib.suppress(Exception):
                self._log.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        self.proc = None

    def _kill_leftover_kernels(self) -> None:
        """Kernels started by this server carry a connection file in our runtime folder."""
        marker = str(self.runtime_dir)
        pids = []
        for entry in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if marker in cmdline and int(entry.name) != os.getpid():
                    pids.append(int(entry.name))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = []
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
                    alive.append(pid)
            if not alive:
                return
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in alive):
                time.sleep(0.1)
            pids = [p for p in alive if Path(f"/proc/{p}").exists()]

    def log_tail(self, n: int = 40) -> str:
        with contextlib.suppress(Exception):
            self._log.flush()
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    # --- HTTP API --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def notebook_url(self, name: str) -> str:
        return (f"{self.base_url}/lab/tree/{urllib.parse.quote(name)}"
                f"?token={urllib.parse.quote(self.token)}&reset")

    def write_notebook(self, name: str, nb) -> Path:
        """Write a notebook (an nbformat node) into the served folder only."""
        import nbformat

        path = self.root / name
        nbformat.write(nb, str(path))
        return path

    def saved_notebook(self, name: str) -> Dict[str, Any]:
        return self.api("GET", f"/api/contents/{urllib.parse.quote(name)}?content=1&type=notebook")["content"]

    def kernel_id(self, name: str) -> Optional[str]:
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == name or session.get("path", "").endswith("/" + name):
                return (session.get("kernel") or {}).get("id")
        return None

    def shutdown_notebook_kernel(self, name: str) -> None:
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == name:
                with contextlib.suppress(Exception):
                    self.api("DELETE", f"/api/sessions/{session['id']}", timeout=15)


class KernelClient:
    """Evaluate expressions in a running kernel through the server's websocket.

    Uses ``execute_request`` with ``silent=True`` and ``user_expressions``: nothing is printed,
    nothing enters the history, the execution count does not move, and the notebook's cells are
    not touched. The request waits in the kernel's queue behind every widget message the browser
    sent before it.
    """

    def __init__(self, server: LabServer, kernel_id: str, timeout: float = 30):
        import websocket  # websocket-client, a dependency of jupyter_server

        self.session = uuid.uuid4().hex
        url = (f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
               f"?session_id={self.session}&token={urllib.parse.quote(server.token)}")
        self.ws = websocket.create_connection(url, timeout=timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()

    def __enter__(self) -> "KernelClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _request(self, code: str, expressions: Dict[str, str], timeout: float) -> Dict[str, Any]:
        msg_id = uuid.uuid4().hex
        msg = {
            "header": {"msg_id": msg_id, "username": "browser-tests", "session": self.session,
                       "msg_type": "execute_request", "version": "5.3",
                       "date": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": True, "store_history": False,
                        "user_expressions": expressions, "allow_stdin": False,
                        "stop_on_error": False},
        }
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            raw = self.ws.recv()
            if not isinstance(raw, str):  # binary frames: widget buffers on iopub
                continue
            reply = json.loads(raw)
            if (reply.get("channel") == "shell"
                    and reply.get("parent_header", {}).get("msg_id") == msg_id):
                content = reply["content"]
                if content.get("status") != "ok":
                    raise RuntimeError(f"kernel error: {content.get('ename')}: {content.get('evalue')}")
                return content
        raise TimeoutError(f"the kernel did not answer in {timeout} s")

    def execute(self, code: str, timeout: float = 30) -> None:
        """Run ``code`` silently (raises on an error)."""
        self._request(code, {}, timeout)

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The value of ``expression`` (its text/plain repr parsed back as a literal)."""
        content = self._request("", {"r": expression}, timeout)
        result = content["user_expressions"]["r"]
        if result.get("status") != "ok":
            raise RuntimeError(f"kernel error: {result.get('ename')}: {result.get('evalue')}")
        text = result["data"]["text/plain"]
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text


#: Kernel-side probe: what every live explorer has. ``probe()`` returns a JSON string.
PROBE_SOURCE = r'''
def _independent(e):
    """Re-run the rule with a plain loop from the widgets' values (Explorer2D, no noise)."""
    import inspect
    import numpy as np
    if type(e).__name__ != "Explorer2D":
        return None
    c = e.controls
    if getattr(e, "stochastic", False) and (float(c["noise"].value) != 0.0
                                            or c["schedule"].value != "constant"):
        return None
    if "hess" in inspect.signature(e.rule).parameters:
        return None
    if e.diverged_at is not None or e.left_view_at is not None or e.error:
        return None
    x = np.array([float(c["x1"].value), float(c["x2"].value)])
    state, hp = {}, e.hyperparameters
    for _ in range(int(c["steps"].value)):
        x = np.asarray(e.rule(x, e.objective.grad(x), state, **hp), dtype=float)
    got = np.asarray(e.trajectory[-1], dtype=float)
    return {"expected": [float(v) for v in x], "got": [float(v) for v in got],
            "ok": bool(np.allclose(x, got, rtol=1e-9, atol=1e-12))}


def _final_points_missing(e):
    """Final points (and step counts) of the trajectories that the readout text lacks."""
    import numpy as np
    t = e.trajectory
    missing = []
    for tr in (list(t.values()) if isinstance(t, dict) else [t]):
        tr = np.asarray(tr, dtype=float)
        last = tr[-1]
        if tr.ndim == 1:
            point = f"x = {float(last):.6g}"
        else:
            point = f"x = ({float(last[0]):.6g}, {float(last[1]):.6g})"
        for text in (point, f"after {len(tr) - 1} step"):
            if text not in str(e.readout):
                missing.append(text)
    return missing


def probe(recompute=True):
    import hashlib
    import json
    from d2lmini import explorers as _ex
    out = []
    for index, e in enumerate(_ex.live_explorers()):
        image = getattr(e, "image", None)
        controls = {}
        for name, w in e.controls.items():
            v = w.value
            if not isinstance(v, (bool, int, float, str)):
                v = str(v)
            controls[name] = {"value": v, "description": str(getattr(w, "description", name)),
                              "type": type(w).__name__,
                              "hidden": getattr(w.layout, "display", None) == "none"}
        item = {
            "index": index, "kind": type(e).__name__, "readout": str(e.readout),
            "frame_sha": (hashlib.sha256(bytes(image.value)).hexdigest()
                          if image is not None and image.value else None),
            "frame_stale": bool(getattr(e, "_frame_stale", False)),
            "frame_pending": getattr(e, "_pending", None) is not None,
            "move_pending": getattr(e, "_move_target", None) is not None,
            "error": e.error, "controls": controls, "n_frames": int(getattr(e, "n_frames", 0)),
        }
        if recompute and callable(getattr(e, "_compute", None)):
            e._compute()  # from the widgets' current values; the same readout = consistent
            item["recomputed_readout"] = str(e.readout)
            item["independent"] = _independent(e)
            item["readout_lacks"] = _final_points_missing(e)
        out.append(item)
    return json.dumps(out)
'''


def probe_expression(recompute: bool = True) -> str:
    """A single expression that runs :data:`PROBE_SOURCE` without touching the user's names."""
    return (f"(lambda ns: (exec({PROBE_SOURCE!r}, ns), ns['probe']({bool(recompute)!r}))[1])({{}})")


# ---------------------------------------------------------------------------------------------
# The browser


@contextlib.contextmanager
def chromium(headless: bool = True) -> Iterator[Any]:
    """Playwright's Chromium API driving Debian's /usr/bin/chromium."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install -y chromium "
                                "(never `playwright install`)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=headless, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            with contextlib.suppress(Exception):
                browser.close()


#: Helpers installed in every page (window.__d2l).
PAGE_SCRIPT = r"""
(() => {
  if (window.__d2l) return;
  const SLIDER_HANDLE = '__SLIDER_HANDLE__';
  const changes = {};      // key -> {count, times[]}: picture changes seen by a MutationObserver
  const keys = [];         // keydown timestamps (event.timeStamp, same clock as performance.now())
  document.addEventListener('keydown', (e) => { keys.push(e.timeStamp); }, true);
  const ups = [];          // mouseup timestamps (the same clock)
  document.addEventListener('mouseup', (e) => { ups.push(e.timeStamp); }, true);

  function visible(el) { return !!(el && el.getClientRects().length) && getComputedStyle(el).visibility !== 'hidden'; }

  function kernelIdle() {
    return Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
      .some((x) => /\|\s*Idle\s*$/.test(x.textContent));
  }

  function kernelStatus() {
    const item = Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
      .find((x) => /\|/.test(x.textContent) && /(Idle|Busy|Starting|Restarting|Unknown|Initializing|Connecting|Dead|No Kernel|Terminating|Disconnected)/.test(x.textContent));
    return item ? item.textContent.trim() : '';
  }

  function record(key, t) {
    const c = changes[key] || (changes[key] = {count: 0, times: []});
    c.count += 1;
    c.times.push(t);
  }

  // Watch a subtree for new pictures: an <img> src change or an added <img>/<canvas>.
  function observe(el, key) {
    if (!el || el.__d2lObserved === key) return;
    el.__d2lObserved = key;
    changes[key] = changes[key] || {count: 0, times: []};
    const mo = new MutationObserver((records) => {
      const t = performance.now();
      for (const r of records) {
        if (r.type === 'attributes' && r.target.tagName === 'IMG') { record(key, t); return; }
        if (r.type === 'childList') {
          for (const n of r.addedNodes) {
            if (n.nodeType === 1 && (n.tagName === 'IMG' || (n.querySelector && n.querySelector('img')))) {
              record(key, t); return;
            }
          }
        }
      }
    });
    mo.observe(el, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  }

  function figureOf(root) {
    return Array.from(root.children).find((c) =>
      (c.tagName === 'IMG' && c.classList.contains('widget-image')) || c.classList.contains('jupyter-matplotlib'));
  }

  function findExplorers() {
    const roots = [];
    const figures = document.querySelectorAll(
      '.jp-NotebookPanel .jp-OutputArea-output img.widget-image, .jp-NotebookPanel .jp-OutputArea-output .jupyter-matplotlib');
    for (const fig of figures) {
      const box = fig.parentElement;
      if (!box || !box.classList.contains('widget-vbox') || roots.includes(box)) continue;
      const readout = Array.from(box.children).find((c) => c.classList.contains('widget-html'));
      if (!readout || !box.querySelector('.widget-slider')) continue;
      roots.push(box);
    }
    roots.forEach((r, i) => { r.setAttribute('data-d2l-explorer', String(i)); observe(r, 'explorer-' + i); });
    return roots;
  }

  function root(i) { return document.querySelector(`[data-d2l-explorer="${i}"]`); }

  function signature(i) {
    const fig = figureOf(root(i));
    if (!fig) return null;
    if (fig.tagName === 'IMG') return fig.getAttribute('src');
    const canvas = fig.querySelector('canvas');
    return canvas ? canvas.toDataURL() : null;
  }

  function readoutText(i) {
    const r = Array.from(root(i).children).find((c) => c.classList.contains('widget-html'));
    const content = r && (r.querySelector('.widget-html-content') || r);
    return content ? content.innerText : '';
  }

  // A slider's value range and where its handle is. ipywidgets 8 (noUiSlider) puts the values
  // on the handle's aria attributes; ipywidgets 7 (jQuery UI) has none, only the handle's
  // place on the track (style.left, percent), so there min/max/now are null and `position`
  // (0 at the left end, 1 at the right) is what both have.
  function sliders(i) {
    return Array.from(root(i).querySelectorAll('.widget-slider')).map((s, j) => {
      const handle = s.querySelector(SLIDER_HANDLE);
      const label = s.querySelector('.widget-label');
      const readout = s.querySelector('.widget-readout');
      const aria = (name) => {
        const v = handle ? handle.getAttribute(name) : null;
        return v === null ? null : parseFloat(v);
      };
      const min = aria('aria-valuemin'), max = aria('aria-valuemax'), now = aria('aria-valuenow');
      let position = null;
      if (min !== null && max !== null && now !== null) {
        position = max > min ? (now - min) / (max - min) : 0;
      } else if (handle && handle.style.left.endsWith('%')) {
        position = parseFloat(handle.style.left) / 100;
      }
      return {
        index: j,
        label: label ? label.textContent.trim() : '',
        readout: readout ? readout.textContent.trim() : '',
        visible: visible(s),
        min, max, now, position,
      };
    });
  }

  // Which ipywidgets draws the page's sliders: 8 (noUiSlider), 7 (jQuery UI), null (none yet).
  function widgetsMajor() {
    if (document.querySelector('.widget-slider .noUi-handle')) return 8;
    if (document.querySelector('.widget-slider .ui-slider-handle')) return 7;
    return null;
  }

  function describe(i) {
    const r = root(i);
    const fig = figureOf(r);
    const out = Array.from(r.children).find((c) => c.classList.contains('widget-output'));
    return {
      index: i,
      figure: fig ? (fig.tagName === 'IMG' ? 'image' : 'ipympl') : null,
      readout: readoutText(i),
      sliders: sliders(i),
      signature: signature(i),
      output: out ? out.innerText.trim() : '',
      changes: (changes['explorer-' + i] || {count: 0}).count,
    };
  }

  async function pictureSha(i) {
    const fig = figureOf(root(i));
    let bytes;
    if (fig.tagName === 'IMG') {
      bytes = await (await fetch(fig.getAttribute('src'))).arrayBuffer();
    } else {
      bytes = new TextEncoder().encode(signature(i));
    }
    const d = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(d)).map((b) => b.toString(16).padStart(2, '0')).join('');
  }

  // Settled: at least `minCount` changes seen, the kernel idle, no change for `quiet` ms.
  function settled(key, minCount, quiet) {
    const c = changes[key] || {count: 0, times: []};
    if (c.count < minCount) return false;
    const last = c.times.length ? c.times[c.times.length - 1] : 0;
    return kernelIdle() && performance.now() - last >= quiet;
  }

  window.__d2l = {changes, keys, ups, visible, kernelIdle, kernelStatus, observe, findExplorers, root,
                  signature, readoutText, sliders, describe, pictureSha, settled, widgetsMajor};
})();
""".replace("__SLIDER_HANDLE__", SLIDER_HANDLE)


def _position(slider: Dict[str, Any], i: int) -> float:
    """Where a slider's handle is (0 left end, 1 right end), or a clear error."""
    if slider.get("position") is None:
        raise AssertionError(f"explorer {i}, slider {slider.get('label')!r}: the page shows no handle "
                             "position (neither noUiSlider's aria values nor jQuery UI's style.left)")
    return float(slider["position"])


class NotebookPage:
    """One notebook opened in JupyterLab in its own browser page."""

    def __init__(self, server: LabServer, browser, name: str, viewport: Optional[dict] = None):
        """``browser`` is a Playwright Browser or BrowserContext."""
        self.server = server
        self.browser = browser
        self.name = name
        self.viewport = viewport or VIEWPORT
        self.page = None
        self.page_errors: List[str] = []
        self.console_errors: List[str] = []
        self.timings: Dict[str, float] = {}

    # --- opening and running -------------------------------------------------------------
    def open(self, timeout: float = 90) -> None:
        t0 = time.perf_counter()
        if hasattr(self.browser, "new_context"):  # a Browser: a page in its own context
            self.page = self.browser.new_page(viewport=self.viewport)
        else:  # a BrowserContext (shares the HTTP cache between notebooks)
            self.page = self.browser.new_page()
        self.page.on("pageerror", lambda err: self.page_errors.append(str(err)))
        self.page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        self.page.add_init_script(PAGE_SCRIPT)
        self.page.goto(self.server.notebook_url(self.name), timeout=timeout * 1000)
        n_cells = len(self._source()["cells"])
        self.page.wait_for_function(
            """(n) => document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length >= n
                      && window.__d2l && window.__d2l.kernelIdle()""",
            arg=n_cells, timeout=timeout * 1000, polling=100)
        self.timings["open"] = time.perf_counter() - t0

    def _source(self) -> Dict[str, Any]:
        return json.loads((self.server.root / self.name).read_text(encoding="utf-8"))

    def kernel_idle(self) -> bool:
        return bool(self.page.evaluate("() => window.__d2l.kernelIdle()"))

    def wait_kernel_idle(self, timeout: float = 60) -> None:
        self.page.wait_for_function("() => window.__d2l.kernelIdle()", timeout=timeout * 1000, polling=100)

    def menu(self, menu: str, item: str) -> None:
        self.page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
        self.page.click(f".lm-Menu-itemLabel:text-is('{item}')")

    def run_all(self, timeout: float = 180) -> List[int]:
        """Run ▸ Run All Cells; wait until the run ended. Returns the indexes (among all cells) of
        non-empty code cells left without an execution count (a run stops at the first error)."""
        t0 = time.perf_counter()
        self.menu("Run", "Run All Cells")
        expected = [i for i, c in enumerate(self._source()["cells"])
                    if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        script = """(expected) => {
          const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Cell'));
          const prompts = cells.map((c) => {
            const p = c.querySelector('.jp-InputArea-prompt');
            return p ? p.textContent.trim() : '';
          });
          const running = prompts.some((p) => p.includes('*'));
          const done = expected.every((i) => /\\[\\d+\\]/.test(prompts[i] || ''));
          return {prompts, running, done, idle: window.__d2l.kernelIdle()};
        }"""
        deadline = time.monotonic() + timeout
        quiet_since = None
        state = {}
        while time.monotonic() < deadline:
            state = self.page.evaluate(script, expected)
            if state["idle"] and not state["running"]:
                if state["done"]:
                    break
                # A stopped run (an error): idle, nothing queued, for a while.
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 3:
                    break
            else:
                quiet_since = None
            time.sleep(0.1)
        else:
            raise TimeoutError(f"{self.name}: Run All did not finish in {timeout:.0f} s "
                               f"(prompts {state.get('prompts')})")
        self.timings["run_all"] = time.perf_counter() - t0
        prompts = state["prompts"]
        return [i for i in expected if not re.search(r"\[\d+\]", prompts[i] if i < len(prompts) else "")]

    def save(self, timeout: float = 30) -> Dict[str, Any]:
        """File ▸ Save Notebook; returns the saved notebook once the server has it."""
        path = f"/api/contents/{urllib.parse.quote(self.name)}?content=0"
        before = self.server.api("GET", path)["last_modified"]
        self.menu("File", "Save Notebook")
        # Saved: the tab is no longer dirty and the file changed on disk. The server writes a
        # temporary file and renames it, so a read in between may fail: retry.
        deadline = time.monotonic() + timeout
        dirty = ".lm-TabBar-tab.jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.lm-mod-current.jp-mod-dirty"
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if self.page.query_selector(dirty) is not None:
                continue
            with contextlib.suppress(Exception):
                if self.server.api("GET", path)["last_modified"] != before:
                    return self.server.saved_notebook(self.name)
        raise TimeoutError(f"{self.name}: the notebook was not saved in {timeout:.0f} s")

    def error_outputs(self) -> List[Dict[str, Any]]:
        """Error outputs (tracebacks) of the notebook as run in the page, read from the saved
        notebook: stream output on stderr (warnings, progress) does not count."""
        nb = self.save()
        errors = []
        ansi = re.compile(r"\x1b\[[0-9;]*m")
        for index, cell in enumerate(nb["cells"]):
            for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
                if out.get("output_type") == "error":
                    tb = ansi.sub("", "\n".join(out.get("traceback", [])))
                    errors.append({"cell": index, "ename": out.get("ename"), "evalue": out.get("evalue"),
                                   "traceback": "\n".join(tb.splitlines()[-12:])})
        return errors

    # --- explorers ---------------------------------------------------------------------------
    def explorers(self) -> List[Dict[str, Any]]:
        n = self.page.evaluate("() => window.__d2l.findExplorers().length")
        return [self.describe(i) for i in range(n)]

    def describe(self, i: int) -> Dict[str, Any]:
        return self.page.evaluate("(i) => window.__d2l.describe(i)", i)

    def explorer_locator(self, i: int):
        return self.page.locator(f'[data-d2l-explorer="{i}"]')

    def slider_locator(self, i: int, j: int):
        return self.explorer_locator(i).locator(".widget-slider").nth(j)

    def picture_sha(self, i: int) -> str:
        return self.page.evaluate("(i) => window.__d2l.pictureSha(i)", i)

    def changes(self, key: str) -> int:
        return int(self.page.evaluate("(k) => (window.__d2l.changes[k] || {count: 0}).count", key))

    def widgets_major(self, timeout: float = 0) -> Optional[int]:
        """The major version of ipywidgets whose sliders the page shows (8: noUiSlider, 7: jQuery
        UI); None if it shows no slider (after waiting up to ``timeout`` seconds for one)."""
        if timeout > 0:
            with contextlib.suppress(Exception):  # playwright's TimeoutError: None below
                self.page.wait_for_function("() => window.__d2l.widgetsMajor() !== null",
                                            timeout=timeout * 1000, polling=200)
        return self.page.evaluate("() => window.__d2l.widgetsMajor()")

    def slider_handle(self, i: int, j: int):
        """The handle of slider ``j`` of explorer ``i`` (a locator; ipywidgets 7 or 8)."""
        return self.slider_locator(i, j).locator(SLIDER_HANDLE)

    def focus_slider(self, i: int, j: int):
        """Scroll slider ``j`` of explorer ``i`` into view and give its handle the keyboard."""
        handle = self.slider_handle(i, j)
        handle.scroll_into_view_if_needed()
        handle.focus()
        return handle

    def play_button(self, i: int):
        """Explorer ``i``'s Play button: the one showing the play icon (ipywidgets 8 has one
        play/pause button whose icon toggles; ipywidgets 7 a play and a pause button)."""
        return self.explorer_locator(i).locator(".widget-play button:has(> i.fa-play)")

    def pause_button(self, i: int):
        """Explorer ``i``'s pause button while it plays: the one showing the pause icon (the same
        button as Play in ipywidgets 8, the one beside it in ipywidgets 7)."""
        return self.explorer_locator(i).locator(".widget-play button:not([disabled]):has(> i.fa-pause)")

    def move_slider_keyboard(self, i: int, j: int, presses: int = 3, key: Optional[str] = None) -> str:
        """Focus the handle of slider ``j`` of explorer ``i`` and press an arrow key ``presses``
        times (towards the middle of the range unless ``key`` is given). Returns the key."""
        s = self.describe(i)["sliders"][j]
        if key is None:
            key = "ArrowRight" if _position(s, i) <= 0.5 else "ArrowLeft"
        self.focus_slider(i, j)
        for _ in range(presses):
            self.page.keyboard.press(key)
        return key

    def move_slider_mouse(self, i: int, j: int, fraction: float = 0.2) -> None:
        """Drag the handle of slider ``j`` of explorer ``i`` along its track by ``fraction`` of
        the track (towards the middle of the range)."""
        s = self.describe(i)["sliders"][j]
        slider = self.slider_locator(i, j)
        slider.scroll_into_view_if_needed()
        handle = slider.locator(SLIDER_HANDLE).bounding_box()
        track = slider.locator(SLIDER_TRACK).bounding_box()
        x0 = handle["x"] + handle["width"] / 2
        y0 = handle["y"] + handle["height"] / 2
        direction = 1 if _position(s, i) <= 0.5 else -1
        x1 = min(max(x0 + direction * fraction * track["width"], track["x"] + 1),
                 track["x"] + track["width"] - 1)
        mouse = self.page.mouse
        mouse.move(x0, y0)
        mouse.down()
        mouse.move(x1, y0, steps=8)
        mouse.up()

    def wait_settled(self, key: str, since: int, timeout: float = 20, quiet: float = QUIET_SECONDS) -> None:
        """Wait until the picture watched under ``key`` changed at least once after ``since``
        changes, the kernel is idle and no new picture came for ``quiet`` seconds."""
        self.page.wait_for_function(
            "([k, n, q]) => window.__d2l.settled(k, n, q)", arg=[key, since + 1, quiet * 1000],
            timeout=timeout * 1000, polling=50)

    def screenshot_explorer(self, i: int, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        loc = self.explorer_locator(i)
        loc.scroll_into_view_if_needed()
        loc.screenshot(path=str(path), animations="disabled")
        return path

    # --- the kernel ------------------------------------------------------------------------
    def kernel(self) -> KernelClient:
        kid = self.server.kernel_id(self.name)
        if kid is None:
            raise RuntimeError(f"{self.name}: no kernel session")
        return KernelClient(self.server, kid)

    def probe(self, recompute: bool = True) -> List[Dict[str, Any]]:
        """What the kernel has for each live explorer (see :data:`PROBE_SOURCE`)."""
        with self.kernel() as k:
            return json.loads(k.evaluate(probe_expression(recompute)))

    def close(self) -> None:
        if self.page is not None:
            with contextlib.suppress(Exception):
                self.page.close()
            self.page = None
        with contextlib.suppress(Exception):
            self.server.shutdown_notebook_kernel(self.name)


# ---------------------------------------------------------------------------------------------
# Explorers in the page and in the kernel, kept in step


def match_explorers(page: NotebookPage):
    """``(dom, kernel, mapping)``: the explorers in the page, what the kernel has for each live
    explorer (:data:`PROBE_SOURCE`, nothing recomputed) and, for each explorer in the page, the
    index of the kernel explorer whose current frame has the same bytes (None if none has)."""
    dom = page.explorers()
    kernel = page.probe(recompute=False)
    used, mapping = set(), []
    for i in range(len(dom)):
        sha = page.picture_sha(i)
        found = [k["index"] for k in kernel if k["frame_sha"] == sha and k["index"] not in used]
        mapping.append(found[0] if found else None)
        used.update(found[:1])
    return dom, kernel, mapping


def wait_synced(page: NotebookPage, i: int, kernel_index: int, timeout: float = 30.0,
                extra=None):
    """Wait until the page shows what the kernel has for explorer ``i``: the kernel idle with
    no frame pending, the picture's bytes the kernel's current frame, the readout the kernel's
    (and ``extra(kernel_item, page_description)`` true, if given).

    A picture that stayed the same for a while does not prove the page caught up: under load
    a readout or a picture may still be on its way from the kernel. This polls both sides until
    they agree (or ``timeout``) and returns ``(kernel item, page description)``; the caller's
    checks then report anything still different."""
    deadline = time.monotonic() + timeout
    while True:
        k = page.probe(recompute=False)[kernel_index]
        d = page.describe(i)
        ok = (not k["frame_pending"] and not k["frame_stale"] and not k.get("move_pending")
              and page.picture_sha(i) == k["frame_sha"]
              and normalize_readout(d["readout"]) == normalize_readout(k["readout"])
              and (extra is None or extra(k, d)))
        if ok and page.kernel_idle():
            return k, d
        if time.monotonic() > deadline:
            return k, d
        time.sleep(0.2)


def kernel_value(page: NotebookPage, expression: str, timeout: float = 30) -> Any:
    """Evaluate ``expression`` in the notebook's kernel, with ``E`` bound to the live explorers
    (``E[k]`` is the kernel explorer ``k`` of :func:`match_explorers`)."""
    with page.kernel() as k:
        text = k.evaluate("__import__('json').dumps((lambda E: " + expression
                          + ")(__import__('d2lmini').explorers.live_explorers()))", timeout=timeout)
    return json.loads(text)


# ---------------------------------------------------------------------------------------------
# Comparisons


def normalize_readout(text: str) -> str:
    """A readout as plain lines: no colour swatches, single spaces."""
    lines = []
    for line in str(text).replace("\u25a0", " ").splitlines():
        line = " ".join(line.split())
        if line:
            lines.append(line)
    return "\n".join(lines)


def readout_matches(shown: str, value: float) -> bool:
    """Whether a slider's readout text (as formatted by the browser) shows ``value``."""
    text = shown.strip().replace("\u2212", "-")
    try:
        number = float(text)
    except ValueError:
        return False
    m = re.fullmatch(r"[-+]?(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?", text)
    decimals = len(m.group(2)) if m else 0
    exponent = int(m.group(3)) if m and m.group(3) else 0
    tol = 0.5 * 10.0 ** (exponent - decimals) * (1 + 1e-9)
    return abs(number - float(value)) <= tol + 1e-12 * abs(float(value))

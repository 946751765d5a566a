#!/usr/bin/env python3
"""Memory of real Jupyter kernels that run a chapter and move its sliders: how many fit?

A teacher sizing a JupyterHub needs the memory one student's chapter takes. For every chapter
(or the ones named on the command line) this starts a real kernel with jupyter_client (the
``python3`` kernel of this interpreter), runs the notebook top to bottom as ``tests/nbrun.py``
does, and then moves every explorer's sliders (each to five positions along its range, or along
its options for a ladder of nines or decades). It reads each kernel process's memory from
``/proc`` (psutil where there is no /proc):

* RSS (resident set size) after Run All and after the slider moves;
* PSS (proportional set size: shared library pages split between the processes that map them)
  after the slider moves, the fairer number when many kernels share one machine.

Baselines measured in the same run: an empty kernel, and a kernel that has only imported
d2lmini, torch and matplotlib and drawn one plot. All chapter kernels stay alive until the end, so
the run also measures how much ``MemAvailable`` dropped with all of them open at once, and the
RSS of one JupyterLab server (each hub user runs one). From these it prints how many chapter
kernels fit in this machine's available memory, and in a per-user limit of 1, 2 and 4 GB.

    python bench/kernel_memory.py                    # every chapter
    python bench/kernel_memory.py 04_momentum 08     # some chapters (name prefixes)

Numbers taken while other programs run are noisy; run it on an idle machine for a sizing.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Dict, List, Optional

import nbformat
from jupyter_client.manager import KernelManager

ROOT = pathlib.Path(__file__).resolve().parents[1]
MB = 1024 * 1024

# Move every slider of every live explorer to five positions, redrawing each time: number
# sliders (FloatSlider, IntSlider, a SliderText) along their range, and the SelectionSliders
# (a ladder of nines or of decades: gamma, beta2, eps, kappa, ...) along their options.
SLIDERS = r"""
import ipywidgets as _w
from d2lmini import explorers as _ex
_moves = 0
for _e in _ex.live_explorers():
    for _name, _c in list(_e.controls.items()):
        if _name in ("x1", "x2", "steps", "x0"):
            continue
        _old = _c.value
        if isinstance(_c, _w.SelectionSlider):
            _opts = [o[1] if isinstance(o, tuple) else o for o in _c.options]
            _values = [_opts[int(_f * (len(_opts) - 1))] for _f in (0.1, 0.3, 0.5, 0.7, 0.9)]
        elif hasattr(_c, "min") and hasattr(_c, "max"):
            _log = hasattr(_c, "base")
            _values = [_c.base ** (_c.min + _f * (_c.max - _c.min)) if _log else _c.min + _f * (_c.max - _c.min)
                       for _f in (0.1, 0.3, 0.5, 0.7, 0.9)]
            _values = [type(_old)(_v) if isinstance(_old, int) else _v for _v in _values]
        else:
            continue
        for _v in _values:
            _c.value = _v
            _e.update()
            _moves += 1
        _c.value = _old
        _e.update()
print("slider moves:", _moves)
"""


def _proc_memory(pid: int) -> Dict[str, float]:
    """RSS and PSS of a process in MB (PSS only where /proc/<pid>/smaps_rollup exists)."""
    out: Dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss"):
                    out[key.lower()] = int(rest.split()[0]) / 1024
        if "rss" in out:
            return out
    except OSError:
        pass
    import psutil  # no /proc (macOS): RSS only

    out["rss"] = psutil.Process(pid).memory_info().rss / MB
    return out


def _mem_available() -> Optional[float]:
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in fh}
        return info["MemAvailable"]
    except (OSError, KeyError):
        try:
            import psutil

            return psutil.virtual_memory().available / MB
        except ImportError:
            return None


def _mem_total() -> Optional[float]:
    try:
        with open("/proc/meminfo") as fh:
            return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("MemTotal"))
    except OSError:
        return None


class Kernel:
    """A real kernel (jupyter_client) that runs code and fails loudly on an error."""

    def __init__(self, cwd: pathlib.Path):
        env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline")
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    @property
    def pid(self) -> int:
        prov = self.km.provisioner
        return getattr(prov, "pid", None) or prov.process.pid

    def run(self, code: str, what: str) -> None:
        errors: List[str] = []

        def hook(msg):
            if msg["header"]["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        reply = self.kc.execute_interactive(code, timeout=900, output_hook=hook, allow_stdin=False)
        if reply["content"]["status"] != "ok" or errors:
            raise RuntimeError(f"{what}: {errors or reply['content']}")

    def memory(self) -> Dict[str, float]:
        return _proc_memory(self.pid)

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_server_rss() -> Optional[float]:
    """RSS of one idle JupyterLab server, as each hub user runs one (None if it cannot start)."""
    jupyter = pathlib.Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        return None
    port = _free_port()
    with tempfile.TemporaryDirectory() as home:
        cmd = [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.token=bench",
               f"--ServerApp.root_dir={home}", "--ServerApp.open_browser=False"]
        if os.getuid() == 0:
            cmd.append("--allow-root")
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, JUPYTER_CONFIG_DIR=home, HOME=home))
        try:
            for _ in range(120):
                time.sleep(0.5)
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=bench", timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None:
                        return None
            else:
                return None
            time.sleep(1.0)
            return _proc_memory(proc.pid)["rss"]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="notebook name prefixes (default: every chapter)")
    args = parser.parse_args(argv)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        notebooks = [p for p in notebooks if any(p.name.startswith(c) for c in args.chapters)]
        if not notebooks:
            parser.error(f"no notebook starts with {args.chapters}")

    total, avail_before = _mem_total(), _mem_available()
    print(f"Kernel memory on {os.cpu_count()} cores"
          + (f", MemTotal {total / 1024:.1f} GB, MemAvailable {avail_before / 1024:.1f} GB at the start"
             if total and avail_before else ""))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Kernel(pathlib.Path(tmp))
        empty.run("pass", "empty kernel")
        time.sleep(0.5)
        base = empty.memory()
        empty.stop()
        imports = Kernel(pathlib.Path(tmp))
        imports.run("%matplotlib inline\nimport d2lmini as d2l, torch, matplotlib.pyplot as plt\n"
                    "plt.plot([1, 2]); plt.show()", "imports-only kernel")
        imp = imports.memory()
        imports.stop()

    print(f"\n{'kernel':<30} {'RSS Run All':>12} {'RSS sliders':>12} {'PSS sliders':>12} {'x empty':>8}")
    print(f"{'empty kernel (baseline)':<30} {base['rss']:>9.0f} MB {'':>12} {'':>12} {1.0:>7.1f}x")
    print(f"{'imports + one plot':<30} {imp['rss']:>9.0f} MB {'':>12} {'':>12} {imp['rss'] / base['rss']:>7.1f}x")

    kernels = []
    avail_start = _mem_available()
    try:
        for path in notebooks:
            k = Kernel(path.parent)
            kernels.append(k)
            nb = nbformat.read(path, as_version=4)
            t0 = time.perf_counter()
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    k.run(cell.source, f"{path.name}, cell {i}")
            secs = time.perf_counter() - t0
            after_run = k.memory()
            k.run(SLIDERS, f"{path.name}, slider moves")
            after_sliders = k.memory()
            rows.append((path.name, after_run, after_sliders, secs))
            pss = f"{after_sliders['pss']:>9.0f} MB" if "pss" in after_sliders else f"{'n/a':>12}"
            print(f"{path.name:<30} {after_run['rss']:>9.0f} MB {after_sliders['rss']:>9.0f} MB {pss} "
                  f"{after_sliders['rss'] / base['rss']:>7.1f}x   (Run All {secs:.0f} s)")
        avail_all = _mem_available()
    finally:
        for k in kernels:
            k.stop()

    server = lab_server_rss()
    n = len(rows)
    worst = max(r[2]["rss"] for r in rows)
    mean = sum(r[2]["rss"] for r in rows) / n
    print(f"\nlargest chapter kernel after the slider moves: {worst:.0f} MB RSS "
          f"({worst / base['rss']:.1f}x the empty kernel); mean {mean:.0f} MB")
    per_kernel = None
    if avail_start is not None and avail_all is not None:
        dropped = avail_start - avail_all
        per_kernel = dropped / n
        pss_sum = sum(r[2].get("pss", 0.0) for r in rows)
        print(f"all {n} chapter kernels open at once: MemAvailable dropped by {dropped:.0f} MB, "
              f"{per_kernel:.0f} MB per kernel (sum of RSS {sum(r[2]['rss'] for r in rows):.0f} MB, "
              f"of PSS {pss_sum:.0f} MB: shared library pages count once)")
    if server is not None:
        print(f"one idle JupyterLab server (one per hub user): {server:.0f} MB RSS")
    print("\nHow many fit:")
    if avail_before is not None:
        cost = per_kernel if per_kernel and per_kernel > 0 else worst
        print(f"  this machine ({avail_before / 1024:.1f} GB available): about {int(avail_before // cost)} "
              f"chapter kernels at {cost:.0f} MB each"
              + (f", or {int(avail_before // (cost + server))} users with one kernel and a server each"
                 if server else ""))
    for gb in (1, 2, 4):
        room = gb * 1024 - (server or 0)
        k_fit = max(0, int(room // worst))
        print(f"  a {gb} GB per-user limit: the server and {k_fit} chapter kernel(s) open at once "
              f"(counting {worst:.0f} MB RSS each, the conservative figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

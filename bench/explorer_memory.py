"""Kernel memory after re-running an explorer cell, with and without closing the old explorers.

In a real kernel (the tests' interpreter, started with jupyter_client), one cell that makes an
explorer is run 21 times with the same cell id, as JupyterLab sends it. Printed per case: the
kernel's resident memory (VmRSS) after the first run and after 20 re-runs, the growth per
re-run, the kernel's open widgets (ipywidgets' registry) and the explorers still alive; then
the ratio of the growth with closing to the growth without it (``registry._close_on_rerun``
off), measured in the same run.

Two cells: the chapters' ``ex = d2l.explore(...)`` then ``ex`` as the last line (IPython's
output cache ``Out`` then keeps each old explorer object, so closing can only free its widgets,
pixel buffers and figure contents) and ``display(ex)`` (nothing keeps the old explorer).

    .venv/bin/python bench/explorer_memory.py [--reruns 20]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import nbrun  # noqa: E402

CELLS = {
    "last line `ex`": 'ex = d2l.explore("momentum", lr=0.4, momentum=0.5)\nex',
    "display(ex)": 'ex = d2l.explore("momentum", lr=0.4, momentum=0.5)\ndisplay(ex)',
}

PROBE = r"""
import gc, json, ipywidgets
from d2lmini import explorers as _E
gc.collect()
_reg = getattr(ipywidgets.widgets.widget, "_instances", None)  # ipywidgets 8
_reg = _reg if _reg is not None else ipywidgets.Widget.widgets  # ipywidgets 7
with open("/proc/self/status") as _f:
    _rss = int(_f.read().split("VmRSS:")[1].split()[0]) / 1024
print(json.dumps({"rss": _rss, "widgets": len(_reg), "live": len(_E.live_explorers())}))
"""


def measure(cell: str, close: bool, reruns: int) -> dict:
    with nbrun.Kernel() as kernel:
        kernel.run("import d2lmini as d2l\nfrom d2lmini.explorers import registry\n"
                   f"registry._close_on_rerun = {close}", "setup")
        kernel.run(cell, "explorer-cell")
        first = kernel.json(PROBE, "probe")
        for _ in range(reruns):
            kernel.run(cell, "explorer-cell")
        last = kernel.json(PROBE, "probe")
    return {"first": first, "last": last, "per_rerun": (last["rss"] - first["rss"]) / reruns}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=20)
    args = parser.parse_args(argv)
    import ipywidgets

    print(f"explorer memory benchmark: {args.reruns} re-runs of one explorer cell (same cell id), "
          f"ipywidgets {ipywidgets.__version__}")
    ok = True
    for name, cell in CELLS.items():
        results = {close: measure(cell, close, args.reruns) for close in (False, True)}
        for close, r in results.items():
            print(f"  {name:15s} closing {'on ' if close else 'off'}: RSS {r['first']['rss']:6.1f} MB "
                  f"after the first run, {r['last']['rss']:6.1f} MB after {args.reruns} re-runs "
                  f"({r['per_rerun']:+.2f} MB per re-run); widgets {r['first']['widgets']} -> "
                  f"{r['last']['widgets']}; explorers alive {r['last']['live']}")
        off, on = results[False]["per_rerun"], results[True]["per_rerun"]
        ratio = on / off if off > 0 else float("nan")
        print(f"  {name:15s} growth per re-run, closing on / off: {ratio:.2f}")
        ok &= results[True]["last"]["widgets"] == results[True]["first"]["widgets"]
    print(f"{'PASS' if ok else 'FAIL'}: with closing, the kernel's widget count does not grow")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

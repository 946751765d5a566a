#!/usr/bin/env python3
"""Restart & Run All time of every notebook in a fresh kernel (target: under 45 s each).

Runs each notebook with nbclient as the tests do and prints its wall time, next to a baseline
measured in the same run: a notebook that only imports d2lmini, torch and matplotlib (the
fixed cost every chapter pays before its first line of content).

It also prints the kernel's own CPU time (user + system of the kernel process, read by one
extra cell at the end). On a machine shared with other work the wall time includes waiting for
a core; the CPU time much less so, which makes it the better guide to the wall time on an idle
machine. The verdict uses the wall time.

    .venv/bin/python bench/notebook_times.py [04_momentum 08_adam ...]   (default: every notebook)
"""
import json
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGET_SECONDS = 45.0
CPU_CELL = "import os as _os, json as _json; _t = _os.times(); print(_json.dumps([_t.user, _t.system]))"


def run(nb, cwd):
    """(wall seconds, kernel CPU seconds) of Restart & Run All."""
    nb = nbformat.from_dict(nb)  # a copy: the extra cell stays out of the caller's notebook
    nb.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    t0 = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - t0
    user, system = json.loads(nb.cells[-1].outputs[0]["text"])
    return wall, user + system


def main(argv=None) -> int:
    names = sys.argv[1:] if argv is None else argv
    base = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "%matplotlib inline\nimport d2lmini as d2l, torch, matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()")])
    with tempfile.TemporaryDirectory() as tmp:
        baseline, baseline_cpu = run(base, tmp)
    print(f"{'baseline (imports + one plot)':<36} {baseline:6.1f} s   kernel CPU {baseline_cpu:5.1f} s"
          f"   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names or p.name in names]
        if not paths:
            print(f"no notebook named {' '.join(names)} in {ROOT / 'notebooks'}")
            return 2
    worst = 0.0
    for path in paths:
        secs, cpu = run(nbformat.read(path, as_version=4), path.parent)
        worst = max(worst, secs)
        print(f"{path.name:<36} {secs:6.1f} s   kernel CPU {cpu:5.1f} s   ({secs / baseline:4.1f}x baseline)")
    ok = worst < TARGET_SECONDS
    print(("PASS" if ok else "FAIL") + f": slowest notebook {worst:.1f} s (target < {TARGET_SECONDS:g} s; "
          "wall times on a shared machine are noisy, see the kernel CPU times)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

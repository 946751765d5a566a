#!/usr/bin/env python3
"""Restart & Run All time of every notebook in a fresh kernel (target: under 45 s each).

Runs each notebook with nbclient as the tests do and prints its wall time, next to a baseline
measured in the same run: a notebook that only imports d2lmini, torch and matplotlib (the
fixed cost every chapter pays before its first line of content).
"""
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(nb, cwd) -> float:
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    t0 = time.perf_counter()
    client.execute()
    return time.perf_counter() - t0


def main() -> int:
    base = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "%matplotlib inline\nimport d2lmini as d2l, torch, matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()")])
    with tempfile.TemporaryDirectory() as tmp:
        baseline = run(base, tmp)
    print(f"{'baseline (imports + one plot)':<36} {baseline:6.1f} s")
    worst = 0.0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        secs = run(nbformat.read(path, as_version=4), path.parent)
        worst = max(worst, secs)
        print(f"{path.name:<36} {secs:6.1f} s   ({secs / baseline:4.1f}x baseline)")
    ok = worst < 45
    print(("PASS" if ok else "FAIL") + f": slowest notebook {worst:.1f} s (target < 45 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

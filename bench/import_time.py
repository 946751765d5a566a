#!/usr/bin/env python3
"""How long `import d2lmini` takes, against baselines measured in the same run.

Each figure is the median over fresh interpreters of the time spent in the import statement
itself (interpreter start-up excluded). torch is imported only when a training loop or a data
tensor needs it, so `import d2lmini` should cost a small fraction of `import torch`.
"""
import statistics
import subprocess
import sys

RUNS = 7
CASES = {
    "import numpy": "import numpy",
    "import d2lmini": "import d2lmini",
    "import d2lmini; d2l.objectives, d2l.rules": "import d2lmini as d2l; d2l.objectives; d2l.rules",
    "import d2lmini; d2l.plt (first plot)": "import d2lmini as d2l; d2l.plt",
    "import torch": "import torch",
}


def measure(stmt: str) -> float:
    code = (
        "import time; t = time.perf_counter(); " + stmt + "; "
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    results = {}
    for name, stmt in CASES.items():
        results[name] = statistics.median(measure(stmt) for _ in range(RUNS))
    for name, secs in results.items():
        print(f"{name:<45} {secs * 1000:8.1f} ms")
    ratio = results["import d2lmini"] / results["import torch"]
    print(f"\nimport d2lmini / import torch = {ratio:.4f}")
    print(f"import d2lmini / import numpy = {results['import d2lmini'] / results['import numpy']:.3f}")
    ok = results["import d2lmini"] < 1.0
    print(("PASS" if ok else "FAIL") + f": import d2lmini takes {results['import d2lmini'] * 1000:.1f} ms (target: well under 1 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

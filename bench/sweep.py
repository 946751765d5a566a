"""A batched sweep against the one-at-a-time loop over the same configurations, in one run.

Part 1 (the ratio): 5 learning rates x 5 seeds of Adam on the digits (64-32-10 ReLU network,
batch 32, a few epochs), trained

* as one batched model by ``d2l.sweep`` (stacked weights, ``torch.bmm``, one NumPy rule call per
  step on all configurations), and
* one configuration after another by ``d2l.train_classifier('adam', ...)``, the same arithmetic
  (the test suite proves the two agree to 1e-6; here the largest difference is printed too), and
  by ``d2l.train_classifier(torch.optim.Adam, ...)``, what one would write with torch.optim.

Part 2 (the target): a notebook-sized sweep, 6 learning rates x 5 seeds = 30 configurations for
20 epochs on the digits, which should take a few seconds so that a notebook can run several
within its 45 s.

Both wall-clock and CPU (process) time are printed: on a machine shared with other work the
wall-clock time includes waiting for a core, the CPU time much less so. The numbers are noisy
there; the ratio, measured in the same run, is the robust one.

    .venv/bin/python bench/sweep.py [--epochs 3] [--target-epochs 20]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

RATIO_TARGET = 4.0          # the sweep must be at least this much faster than the loop (cpu time)
TARGET_CPU_SECONDS = 8.0    # 30 configurations x 20 epochs on the digits


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs in part 1 (default 3)")
    parser.add_argument("--target-epochs", type=int, default=20, help="epochs in part 2 (default 20)")
    args = parser.parse_args(argv)

    import torch

    import d2lmini as d2l

    data = d2l.get_data_digits(seed=0)
    lrs = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
    seeds = list(range(5))
    E, bs = args.epochs, 32
    # warm-up: imports, the first torch.optim optimizer (torch._dynamo), allocator
    d2l.sweep("adam", lrs=[1e-3], seeds=[0], data=data, num_epochs=1, batch_size=bs, verbose=False)
    d2l.train_classifier(torch.optim.Adam, {"lr": 1e-3}, data, num_epochs=1, batch_size=bs, plot=False,
                         verbose=False)

    print(f"Part 1: Adam, {len(lrs)} lrs x {len(seeds)} seeds = {len(lrs) * len(seeds)} configurations, "
          f"digits (64-32-10 ReLU, {data.sizes['train']} training examples), batch {bs}, {E} epochs")
    with Clock() as t_sweep:
        res = d2l.sweep("adam", lrs=lrs, seeds=seeds, data=data, num_epochs=E, batch_size=bs, verbose=False)
    worst = 0.0
    with Clock() as t_loop:
        for c, cfg in enumerate(res.configs):
            h = d2l.train_classifier("adam", {"lr": cfg["lr"]}, data, num_epochs=E, batch_size=bs,
                                     seed=cfg["seed"], plot=False, verbose=False)
            worst = max(worst, float(np.max(np.abs(np.array(h["val_loss"]) - res.history["val_loss"][c]))))
    with Clock() as t_torch:
        for cfg in res.configs:
            d2l.train_classifier(torch.optim.Adam, {"lr": cfg["lr"]}, data, num_epochs=E, batch_size=bs,
                                 seed=cfg["seed"], plot=False, verbose=False)
    rows = [("batched sweep (d2l.sweep)", t_sweep), ("one at a time, d2lmini rule", t_loop),
            ("one at a time, torch.optim.Adam", t_torch)]
    for name, t in rows:
        print(f"  {name:<34} wall {t.wall:6.2f} s   cpu {t.cpu:6.2f} s")
    ratio_wall = t_loop.wall / t_sweep.wall
    ratio_cpu = t_loop.cpu / t_sweep.cpu
    print(f"  one-at-a-time / sweep: wall {ratio_wall:.1f}x, cpu {ratio_cpu:.1f}x "
          f"(torch.optim loop: wall {t_torch.wall / t_sweep.wall:.1f}x, cpu {t_torch.cpu / t_sweep.cpu:.1f}x)")
    print(f"  largest |val loss difference| sweep vs one at a time: {worst:.1e}")

    E2 = args.target_epochs
    lrs2 = list(np.logspace(-3.5, -1, 6))
    print(f"Part 2: Adam, {len(lrs2)} lrs x 5 seeds = 30 configurations, digits, batch {bs}, {E2} epochs")
    with Clock() as t2:
        res2 = d2l.sweep("adam", lrs=lrs2, seeds=range(5), data=data, num_epochs=E2, batch_size=bs, verbose=False)
    steps = E2 * -(-data.sizes["train"] // bs)
    print(f"  sweep: wall {t2.wall:.2f} s, cpu {t2.cpu:.2f} s ({steps} steps, "
          f"{1e3 * t2.cpu / steps:.1f} ms cpu per step for 30 configurations); best lr {res2.best_lr:.2g}, "
          f"val acc {res2.best('val_acc')['mean']:.3f}")
    ok = ratio_cpu >= RATIO_TARGET and t2.cpu <= TARGET_CPU_SECONDS and worst <= 1e-6
    print(f"{'PASS' if ok else 'FAIL'}: ratio (cpu) {ratio_cpu:.1f}x >= {RATIO_TARGET:g}x, "
          f"30 x {E2} epochs in {t2.cpu:.1f} s cpu <= {TARGET_CPU_SECONDS:g} s, agreement {worst:.0e} <= 1e-6 "
          "(timings on a shared machine are noisy)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Kernel-side cost of one explorer slider update, against a full re-plot, in one run.

An *update* is what a slider move costs the kernel in ``d2lmini.explorers``: recompute a 100-step
momentum path on d2l's quadratic (0.1 x1^2 + 2 x2^2), restore the cached background, draw the
path artists and encode one PNG frame. It is measured by setting the ``lr`` control's value from
Python, as the widget's comm message would, with no event loop running (so every update draws
its frame synchronously; the throttle never skips one).

The *full re-plot* is what ``ipywidgets.interact`` with the inline backend does on every move: a
new Figure with the same two panels, the contour grid and contour, the same path and loss
curve, and a PNG written the way the inline backend writes it (``print_figure``, tight bbox).

Both alternate between two lr values (>= 50 timed updates each, after warm-up).

A *step move* is what the step inspector's ``step`` control costs: no path is recomputed (the
run's per-step records are cached; the bench checks that ``_compute`` never runs), the overlay
(arrows, box, markers) and the table are redrawn and one PNG frame is encoded. It walks the
step through 0..100 of the same explorer (Adam's, so the box and the first moment are drawn
too; and momentum's).

Printed: the medians and 90th percentiles, the ratios of the medians and a PASS/FAIL line
against the targets (update and step move each <= 1/10 of a re-plot and < 15 ms at the
median; a step move no dearer than a slider update).

    .venv/bin/python bench/explorer_update.py [--updates N]
"""
from __future__ import annotations

import argparse
import io
import sys
import time

import numpy as np

RATIO_TARGET = 0.10
MEDIAN_TARGET_MS = 15.0
STEPS = 100
LRS = (0.30, 0.35)


def bench_update(n: int):
    from d2lmini import explorers

    explorers.frames._ipympl_active = lambda: False  # PNG frames, whatever MPLBACKEND says
    ex = explorers.explore("momentum", steps=STEPS, lr=LRS[1], momentum=0.5)
    lr = ex.controls["lr"]
    times, cpu = [], []
    sizes = []
    frames_before = ex.n_frames
    for i in range(n + 5):
        t0, c0 = time.perf_counter(), time.process_time()
        lr.value = LRS[i % 2]          # the observer recomputes the path and draws the frame
        frame = ex.frame                # already drawn: no extra work
        t1, c1 = time.perf_counter(), time.process_time()
        if i >= 5:
            times.append(t1 - t0)
            cpu.append(c1 - c0)
            sizes.append(len(frame))
    assert ex.n_frames - frames_before == n + 5, "every update must have drawn its own frame"
    assert len(ex.trajectory) == STEPS + 1
    # Where the time goes: the path (pure NumPy) and the frame (blit + PNG), separately.
    compute, frame_t = [], []
    for i in range(n):
        with ex._quiet():
            lr.value = LRS[i % 2]
        t0 = time.perf_counter()
        ex._compute()
        t1 = time.perf_counter()
        ex._render_frame()
        t2 = time.perf_counter()
        compute.append(t1 - t0)
        frame_t.append(t2 - t1)
    parts = (np.median(compute) * 1e3, np.median(frame_t) * 1e3)
    return np.array(times) * 1e3, int(np.median(sizes)), ex, parts, np.array(cpu) * 1e3


def bench_step(n: int, rule: str):
    """Step moves: the overlay and the table for step t, one frame; never a path."""
    from d2lmini import explorers

    explorers.frames._ipympl_active = lambda: False
    hp = {"lr": LRS[1], "momentum": 0.5} if rule == "momentum" else {"lr": 0.3}
    ex = explorers.explore(rule, steps=STEPS, **hp)
    step = ex.controls["step"]
    computes = []
    original = ex._compute
    ex._compute = lambda: (computes.append(1), original())
    updates_before, frames_before = ex.n_updates, ex.n_frames
    times, cpu = [], []
    for i in range(n + 5):
        t = (i * 7 + 1) % (STEPS + 1)  # all over the path, never the same step twice in a row
        t0, c0 = time.perf_counter(), time.process_time()
        step.value = t
        frame = ex.frame
        t1, c1 = time.perf_counter(), time.process_time()
        if i >= 5:
            times.append(t1 - t0)
            cpu.append(c1 - c0)
        assert ex.inspection["step"] == t and frame
    assert not computes and ex.n_updates == updates_before, "a step move recomputed the path"
    assert ex.n_frames - frames_before == n + 5, "every step move must have drawn its own frame"
    ex.close()
    return np.array(times) * 1e3, np.array(cpu) * 1e3


def full_replot(lr: float, objective, rule) -> bytes:
    """New figure, contour, path, loss panel and PNG: what interact + inline does per move."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from d2lmini import explorers

    fig = Figure(figsize=(9.0, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0.075, 0.14, 0.50, 0.75])
    lax = fig.add_axes([0.68, 0.14, 0.30, 0.75])
    x1, x2, z = objective.grid(objective.view)
    ax.contour(x1, x2, z, levels=objective.levels(z), colors="#1f77b4", linewidths=0.9, alpha=0.6)
    pts, _, _, _ = explorers._run_rule(rule, objective, objective.start, STEPS,
                                       {"lr": lr, "momentum": 0.5})
    ax.plot(pts[:, 0], pts[:, 1], "-o", color="#ff7f0e", ms=4)
    ax.plot([0.0], [0.0], "*", color="k", ms=13, mfc="gold")
    ax.set_xlim(objective.view[:2])
    ax.set_ylim(objective.view[2:])
    ax.set_title(objective.title, fontsize=12)
    ax.set_xlabel("$x_1$", fontsize=12)
    ax.set_ylabel("$x_2$", fontsize=12)
    losses = objective(pts[:, 0], pts[:, 1]) - objective.fmin
    lax.semilogy(np.arange(len(losses)), np.maximum(losses, 1e-8), color="#ff7f0e")
    lax.set_title(r"$f(x_t) - f^*$", fontsize=12)
    lax.set_xlabel("step", fontsize=12)
    buf = io.BytesIO()
    fig.canvas.print_figure(buf, format="png", bbox_inches="tight")  # as matplotlib-inline does
    return buf.getvalue()


def bench_replot(n: int):
    from d2lmini import objectives
    from d2lmini.rules import RULES

    objective = objectives.get("d2l")
    rule = RULES["momentum"]
    times, cpu = [], []
    for i in range(n + 3):
        t0, c0 = time.perf_counter(), time.process_time()
        png = full_replot(LRS[i % 2], objective, rule)
        t1, c1 = time.perf_counter(), time.process_time()
        if i >= 3:
            times.append(t1 - t0)
            cpu.append(c1 - c0)
    return np.array(times) * 1e3, len(png), np.array(cpu) * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=60, help="timed updates per method (>= 50)")
    args = parser.parse_args(argv)
    n = max(50, args.updates)

    import matplotlib

    upd, upd_png, ex, (med_path, med_frame), upd_cpu = bench_update(n)
    rep, rep_png, rep_cpu = bench_replot(n)
    step_ms = {rule: bench_step(n, rule) for rule in ("momentum", "adam")}
    med_u, p90_u = np.median(upd), np.percentile(upd, 90)
    med_r, p90_r = np.median(rep), np.percentile(rep, 90)
    ratio = med_u / med_r
    w, h = ex.canvas.get_width_height()
    print(f"explorer update benchmark: momentum, {STEPS}-step path on d2l's quadratic, "
          f"{w}x{h} px frame, matplotlib {matplotlib.__version__}, numpy {np.__version__}")
    print(f"  update (path + blit + PNG) : median {med_u:7.2f} ms   p90 {p90_u:7.2f} ms   "
          f"n={len(upd)}   PNG {upd_png / 1024:.0f} kB")
    print(f"    of which: path {med_path:.2f} ms, blit + PNG encode {med_frame:.2f} ms (medians)")
    print(f"  full re-plot (interact)    : median {med_r:7.2f} ms   p90 {p90_r:7.2f} ms   "
          f"n={len(rep)}   PNG {rep_png / 1024:.0f} kB")
    print(f"  ratio update / re-plot     : {ratio:.3f}  (target <= {RATIO_TARGET:.2f}); "
          f"re-plot is {med_r / med_u:.1f}x slower")
    ok = ratio <= RATIO_TARGET and med_u < MEDIAN_TARGET_MS
    for rule, (ms, ms_cpu) in step_ms.items():
        med_s, p90_s = np.median(ms), np.percentile(ms, 90)
        print(f"  step move ({rule + ')':9s}      : median {med_s:7.2f} ms   p90 {p90_s:7.2f} ms   "
              f"n={len(ms)}   ratio to re-plot {med_s / med_r:.3f}, to a slider update "
              f"{med_s / med_u:.2f}  (no path recomputed)")
        ok_s = med_s < MEDIAN_TARGET_MS and med_s / med_r <= RATIO_TARGET and med_s <= med_u
        print(f"  {'PASS' if ok_s else 'FAIL'}: step move ({rule}) median {med_s:.2f} ms "
              f"({'<' if med_s < MEDIAN_TARGET_MS else '>='} {MEDIAN_TARGET_MS:.0f} ms), ratio "
              f"{med_s / med_r:.3f} ({'<=' if med_s / med_r <= RATIO_TARGET else '>'} {RATIO_TARGET:.2f}), "
              f"{'<=' if med_s <= med_u else '>'} a slider update")
        ok = ok and ok_s
    # CPU time of this process: less sensitive to other processes on a shared machine.
    cpu_u, cpu_r = np.median(upd_cpu), np.median(rep_cpu)
    print(f"  CPU time (medians): update {cpu_u:.2f} ms, re-plot {cpu_r:.2f} ms, "
          + ", ".join(f"step move ({rule}) {np.median(c):.2f} ms" for rule, (_, c) in step_ms.items()))
    print(f"{'PASS' if ok else 'FAIL'}: update median {med_u:.2f} ms "
          f"({'<' if med_u < MEDIAN_TARGET_MS else '>='} {MEDIAN_TARGET_MS:.0f} ms), "
          f"ratio {ratio:.3f} ({'<=' if ratio <= RATIO_TARGET else '>'} {RATIO_TARGET:.2f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

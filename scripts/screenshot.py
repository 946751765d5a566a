"""Make the README picture from the notebooks: an explorer with its step inspector, as a student
sees it.

Opens ``notebooks/08_adam.ipynb`` (falling back to chapter 4, then ``00_start_here.ipynb``,
while a chapter is missing) in JupyterLab in headless Chromium (see
``tests/browser_support.py``), runs all cells, moves the first explorer's ``step t`` slider to
step 3 with the keyboard (Adam's fourth update: the first moment, the bias corrections and the
box of effective steps are all on screen), waits until the picture settled and is the
kernel's frame, and saves an element screenshot of that explorer to ``docs/explorer.png``.

    .venv/bin/python scripts/screenshot.py [--out docs/explorer.png] [--scale 1] [--step 3]
        [--notebook 08_adam.ipynb]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import browser_support as bs  # noqa: E402

CANDIDATES = ("08_adam.ipynb", "04_momentum.ipynb", "00_start_here.ipynb")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "explorer.png"))
    ap.add_argument("--scale", type=float, default=1.0, help="device pixel ratio of the picture")
    ap.add_argument("--step", type=int, default=3, help="the inspector's step in the picture")
    ap.add_argument("--notebook", default=None, help="the chapter (its first explorer is shown)")
    args = ap.parse_args()

    names = bs.notebook_names()
    target = args.notebook or next((n for n in CANDIDATES if n in names), None)
    if target not in names:
        print(f"no notebook to take the picture from (looked for {args.notebook or CANDIDATES})")
        return 1
    if args.notebook is None and target != CANDIDATES[0]:
        print(f"notebooks/{CANDIDATES[0]} is not there yet: using notebooks/{target}")
    out = Path(args.out)
    with bs.LabServer() as server, bs.chromium() as browser:
        # Tall enough for the whole explorer with its inspector table (an element screenshot of
        # a taller element would show JupyterLab's toolbar over its top).
        viewport = dict(bs.VIEWPORT, height=max(bs.VIEWPORT["height"], 1700))
        context = browser.new_context(viewport=viewport, device_scale_factor=args.scale)
        page = bs.NotebookPage(server, context, target)
        page.open()
        unexecuted = page.run_all()
        errors = page.error_outputs()
        if unexecuted or errors:
            print(f"{target} did not run cleanly: unexecuted cells {unexecuted}, errors {errors}")
            return 1
        if not page.explorers():
            print(f"{target} shows no explorer")
            return 1
        # The inspector at step --step, moved as a student would: arrow keys on "step t".
        sliders = {s["label"]: s for s in page.describe(0)["sliders"]}
        step = sliders.get("step t")
        if step is None:
            print(f"the first explorer of {target} has no step slider")
            return 1
        presses = args.step - int(step["readout"])
        if presses:
            page.focus_slider(0, step["index"])
            since = page.changes("explorer-0")
            for _ in range(abs(presses)):
                page.page.keyboard.press("ArrowRight" if presses > 0 else "ArrowLeft")
            page.wait_settled("explorer-0", since)
        kernel = {k["frame_sha"]: k for k in page.probe(recompute=False)}
        shown = kernel.get(page.picture_sha(0))
        if shown is None or shown["controls"]["step"]["value"] != args.step:
            print(f"the picture is not the kernel's frame at step {args.step}")
            return 1
        page.page.wait_for_function(
            "() => { const i = window.__d2l.root(0).querySelector(':scope > img');"
            " return !i || (i.complete && i.naturalWidth > 0); }", timeout=30000)
        page.page.mouse.move(0, 0)  # no hover highlight on the picture
        page.screenshot_explorer(0, out)
        page.close()
        context.close()
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
          f"(first explorer of {target}, step {args.step})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

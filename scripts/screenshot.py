"""Make the README picture from the notebooks: the first explorer of chapter 4 (momentum), as a student sees it.

Opens ``notebooks/04_momentum.ipynb`` (or ``notebooks/00_start_here.ipynb`` while chapter 4 is
missing) in JupyterLab in headless Chromium (see ``tests/browser_support.py``), runs all cells
and saves an element screenshot of the first explorer to ``docs/explorer.png``.

    .venv/bin/python scripts/screenshot.py [--out docs/explorer.png] [--scale 1]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import browser_support as bs  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "explorer.png"))
    ap.add_argument("--scale", type=float, default=1.0, help="device pixel ratio of the picture")
    args = ap.parse_args()

    names = bs.notebook_names()
    target = "04_momentum.ipynb"
    if target not in names:
        target = "00_start_here.ipynb"
        print("notebooks/04_momentum.ipynb is not there yet: using notebooks/00_start_here.ipynb")
    out = Path(args.out)
    with bs.LabServer() as server, bs.chromium() as browser:
        context = browser.new_context(viewport=bs.VIEWPORT, device_scale_factor=args.scale)
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
        page.page.wait_for_function(
            "() => { const i = window.__d2l.root(0).querySelector(':scope > img');"
            " return !i || (i.complete && i.naturalWidth > 0); }", timeout=30000)
        page.page.mouse.move(0, 0)  # no hover highlight on the picture
        page.screenshot_explorer(0, out)
        page.close()
        context.close()
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} (first explorer of {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

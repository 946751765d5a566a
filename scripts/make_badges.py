#!/usr/bin/env python3
"""Regenerate every badge, link and Colab set-up cell from the course's public location.

The location (GitHub owner/name and branch) lives in one place: ``[tool.d2lmini.course]`` in
``pyproject.toml``. This script

* writes the chapter table with "Open in Colab" and "Launch Binder" badges into README.md,
  between the markers ``<!-- chapters:start -->`` and ``<!-- chapters:end -->``;
* makes the first cell of every notebook the Colab set-up cell (tagged ``colab-setup``), which
  installs d2lmini pinned to that branch when it runs on Colab and does nothing elsewhere.

``python scripts/make_badges.py --check`` changes nothing and exits 1 when anything is out of
date (a test runs it).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Dict, List, Tuple

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore

ROOT = pathlib.Path(__file__).resolve().parents[1]
START, END = "<!-- chapters:start -->", "<!-- chapters:end -->"
SETUP_TAG = "colab-setup"


def course() -> Tuple[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    cfg = data["tool"]["d2lmini"]["course"]
    return cfg["repository"], cfg["branch"]


def colab_url(repo: str, branch: str, path: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


def binder_url(repo: str, branch: str, path: str) -> str:
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{path}"


def setup_cell_source(repo: str, branch: str) -> str:
    return (
        "# Set-up for Google Colab. On Colab this installs the course's helper package d2lmini\n"
        "# (pinned to the course branch) and keeps Colab's own torch and ipywidgets; the airfoil\n"
        "# data downloads on first use. It also turns on Colab's custom widget manager, which\n"
        "# the explorers' clicks on the plots need (ipyevents). Anywhere else it does nothing.\n"
        "import sys\n"
        f'D2LMINI_SOURCE = "d2lmini @ git+https://github.com/{repo}@{branch}"\n'
        'if "google.colab" in sys.modules:\n'
        "    import importlib, subprocess\n"
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", D2LMINI_SOURCE], check=True)\n'
        "    importlib.invalidate_caches()\n"
        "    from google.colab import output\n"
        "    output.enable_custom_widget_manager()"
    )


def notebook_info(path: pathlib.Path) -> Dict[str, str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    meta = nb.get("metadata", {}).get("d2lmini", {})
    title = ""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"])
            for line in src.splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
            if title:
                break
    return {
        "title": title or path.stem,
        "teaches": meta.get("teaches", ""),
        "minutes": str(meta.get("minutes", "")),
    }


def chapter_table(repo: str, branch: str, notebooks: List[pathlib.Path]) -> str:
    rows = [
        "| Chapter | What it teaches | Time | Launch |",
        "|---|---|---|---|",
    ]
    for nb in notebooks:
        rel = nb.relative_to(ROOT).as_posix()
        info = notebook_info(nb)
        minutes = f"{info['minutes']} min" if info["minutes"] else ""
        badges = (
            f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(repo, branch, rel)}) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(repo, branch, rel)})"
        )
        rows.append(f"| [{info['title']}]({rel}) | {info['teaches']} | {minutes} | {badges} |")
    return "\n".join(rows)


def updated_readme(text: str, table: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README.md needs the markers {START} and {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def updated_notebook(path: pathlib.Path, source: str) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": [SETUP_TAG]},
        "outputs": [],
        "source": source.splitlines(keepends=True),
    }
    if cells and SETUP_TAG in cells[0].get("metadata", {}).get("tags", []):
        cell["id"] = cells[0].get("id", "colab-setup")
        cells[0] = cell
    else:
        cell["id"] = "colab-setup"
        cells.insert(0, cell)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if out of date")
    args = parser.parse_args(argv)
    repo, branch = course()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    stale = []
    readme = ROOT / "README.md"
    new_readme = updated_readme(readme.read_text(encoding="utf-8"), chapter_table(repo, branch, notebooks))
    if new_readme != readme.read_text(encoding="utf-8"):
        stale.append(readme)
        if not args.check:
            _write(readme, new_readme)
    source = setup_cell_source(repo, branch)
    for nb in notebooks:
        new = updated_notebook(nb, source)
        if new != nb.read_text(encoding="utf-8"):
            stale.append(nb)
            if not args.check:
                _write(nb, new)
    if args.check and stale:
        print("out of date (run python scripts/make_badges.py):", *[p.relative_to(ROOT).as_posix() for p in stale])
        return 1
    return 0


def _write(path: pathlib.Path, text: str) -> None:
    """Write atomically: a crash never leaves a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())

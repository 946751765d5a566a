#!/usr/bin/env python3
"""Regenerate every badge, link and Colab set-up cell from the course's public location.

The location (GitHub owner/name and branch) lives in one place: ``[tool.d2lmini.course]`` in
``pyproject.toml``. This script

* writes the chapter table with "Open in Colab" and "Launch Binder" badges into README.md,
  between the markers ``<!-- chapters:start -->`` and ``<!-- chapters:end -->``;
* makes the first cell of every notebook the Colab set-up cell (tagged ``colab-setup``), which
  installs d2lmini pinned to that branch when it runs on Colab and does nothing elsewhere. When
  ``[tool.d2lmini.course]`` names a released version (``release = "0.2.0"``), the cell installs
  that release from PyPI (``d2lmini==0.2.0``) instead.
* when a class has a JupyterHub, adds an nbgitpuller link per chapter to the table. Set the
  hub's address in the same table, ``hub = "https://hub.example.edu"``; the link clones (or
  updates) the repository into each student's home on the hub and opens the chapter in
  JupyterLab. ``hub_repository`` and ``hub_branch`` (optional) point the links at another copy,
  for example the student edition (``scripts/student_edition.py``). Without ``hub`` there are
  no hub links anywhere.

``python scripts/make_badges.py --check`` changes nothing and exits 1 when anything is out of
date (a test runs it). ``--hub-links`` prints one nbgitpuller link per chapter, to paste into a
course page.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
import urllib.parse
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore

ROOT = pathlib.Path(__file__).resolve().parents[1]
START, END = "<!-- chapters:start -->", "<!-- chapters:end -->"
SETUP_TAG = "colab-setup"


def _course_table(pyproject: Optional[str] = None) -> dict:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8") if pyproject is None else pyproject
    return tomllib.loads(text)["tool"]["d2lmini"]["course"]


def course() -> Tuple[str, str]:
    cfg = _course_table()
    return cfg["repository"], cfg["branch"]


@dataclass(frozen=True)
class Hub:
    """A class's JupyterHub and the repository its nbgitpuller links pull."""

    url: str            # e.g. https://hub.example.edu (the links add /hub/user-redirect/git-pull)
    repository: str     # owner/name on GitHub
    branch: str


def hub_settings(pyproject: Optional[str] = None) -> Optional[Hub]:
    """The hub of ``[tool.d2lmini.course]`` (``hub``, ``hub_repository``, ``hub_branch``), or None."""
    cfg = _course_table(pyproject)
    url = cfg.get("hub")
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ValueError(f"hub in [tool.d2lmini.course] must be the hub's address, such as "
                         f"'https://hub.example.edu', got {url!r}")
    repository = cfg.get("hub_repository", cfg["repository"])
    if len(repository.split("/")) != 2 or not all(repository.split("/")):
        raise ValueError(f"hub_repository in [tool.d2lmini.course] must be 'owner/name', got {repository!r}")
    return Hub(url.rstrip("/"), repository, cfg.get("hub_branch", cfg["branch"]))


def nbgitpuller_url(hub: Hub, path: str) -> str:
    """The nbgitpuller link that clones ``hub.repository`` on the hub and opens ``path`` in JupyterLab.

    The standard form: ``<hub>/hub/user-redirect/git-pull?repo=<git URL>&urlpath=lab/tree/<repo
    name>/<path>&branch=<branch>``, every value URL-encoded (nbgitpuller clones into a folder named
    like the repository, in the user's home).
    """
    name = hub.repository.split("/")[1]
    query = urllib.parse.urlencode({
        "repo": f"https://github.com/{hub.repository}",
        "urlpath": f"lab/tree/{name}/{path}",
        "branch": hub.branch,
    }, quote_via=urllib.parse.quote)
    return f"{hub.url}/hub/user-redirect/git-pull?{query}"


def release(pyproject: pathlib.Path = ROOT / "pyproject.toml") -> Optional[str]:
    """The released version the Colab cells install (``release`` in [tool.d2lmini.course]), or
    ``None`` (the default: install the course branch from GitHub)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    value = data["tool"]["d2lmini"]["course"].get("release")
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?", value):
        raise SystemExit(f"{pyproject}: [tool.d2lmini.course] release must be a released version "
                         f"such as \"0.2.0\", got {value!r}")
    return value


def install_source(repo: str, branch: str, release: Optional[str] = None) -> str:
    """What the Colab cell asks pip for: the release from PyPI, else the course branch."""
    if release:
        return f"d2lmini=={release}"
    return f"d2lmini @ git+https://github.com/{repo}@{branch}"


def colab_url(repo: str, branch: str, path: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


def binder_url(repo: str, branch: str, path: str) -> str:
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{path}"


def setup_cell_source(repo: str, branch: str, release: Optional[str] = None) -> str:
    return (
        "# Set-up for Google Colab. On Colab this installs the course's helper package d2lmini\n"
        "# (the version D2LMINI_SOURCE names: a release from PyPI or the course's own branch)\n"
        "# and keeps Colab's own torch and ipywidgets; the airfoil data downloads on first use.\n"
        "# It also turns on Colab's custom widget manager, which the explorers' clicks on the\n"
        "# plots need (ipyevents). Anywhere else it does nothing.\n"
        "import sys\n"
        f'D2LMINI_SOURCE = "{install_source(repo, branch, release)}"\n'
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


HUB_BADGE = "https://img.shields.io/badge/launch-JupyterHub-orange?logo=jupyter"


def chapter_table(repo: str, branch: str, notebooks: List[pathlib.Path], hub: Optional[Hub] = None) -> str:
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
        if hub is not None:
            badges += f" [![Open on the class JupyterHub]({HUB_BADGE})]({nbgitpuller_url(hub, rel)})"
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
    parser.add_argument("--hub-links", action="store_true",
                        help="print one nbgitpuller link per chapter for the hub set in pyproject.toml")
    args = parser.parse_args(argv)
    repo, branch = course()
    try:
        hub = hub_settings()
    except ValueError as exc:
        parser.error(str(exc))
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.hub_links:
        if hub is None:
            parser.error('no hub is set: add hub = "https://your.hub" to [tool.d2lmini.course] in pyproject.toml')
        for nb in notebooks:
            print(f"{notebook_info(nb)['title']}\n  {nbgitpuller_url(hub, nb.relative_to(ROOT).as_posix())}")
        return 0
    stale = []
    readme = ROOT / "README.md"
    new_readme = updated_readme(readme.read_text(encoding="utf-8"), chapter_table(repo, branch, notebooks, hub))
    if new_readme != readme.read_text(encoding="utf-8"):
        stale.append(readme)
        if not args.check:
            _write(readme, new_readme)
    source = setup_cell_source(repo, branch, release())
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

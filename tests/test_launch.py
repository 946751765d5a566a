"""Open anywhere: README links and badges, Binder's environment.yml/postBuild, Colab set-up cells."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import types
import urllib.parse

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_badges  # noqa: E402

REPO, BRANCH = make_badges.course()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_course_location_is_set_once_and_everything_agrees():
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", REPO) and BRANCH
    result = subprocess.run([sys.executable, str(ROOT / "scripts/make_badges.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_folder_is_in_the_wheel():
    """Colab installs d2lmini from git, not editable: a subpackage missing from pyproject's
    ``packages`` would be left out of the wheel (editable installs hide that)."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("d2l*/**/__init__.py")}
    assert "d2lmini.explorers" in found and found == listed


def test_make_badges_check_fails_when_a_badge_disagrees(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = make_badges.chapter_table(REPO, BRANCH, NOTEBOOKS, make_badges.hub_settings())
    assert table in readme
    wrong = make_badges.chapter_table("someone/else", BRANCH, NOTEBOOKS, make_badges.hub_settings())
    assert make_badges.updated_readme(readme.replace(table, wrong), table) == readme


def _links(markdown: str):
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


def test_readme_links_resolve_and_badges_point_at_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(NOTEBOOKS) >= 1
    seen = set()
    for link in _links(readme):
        url = urllib.parse.urlparse(link)
        if url.scheme in ("http", "https"):
            if url.netloc == "colab.research.google.com" and url.path.startswith("/github/"):
                repo_path = url.path[len("/github/"):]
                assert repo_path.startswith(f"{REPO}/blob/{BRANCH}/"), link
                rel = repo_path[len(f"{REPO}/blob/{BRANCH}/"):]
                assert (ROOT / rel).is_file(), f"Colab badge points at a missing file: {rel}"
                seen.add(("colab", rel))
            elif url.netloc == "mybinder.org" and url.path.startswith("/v2/gh/"):
                assert url.path == f"/v2/gh/{REPO}/{BRANCH}", link
                urlpath = urllib.parse.parse_qs(url.query)["urlpath"][0]
                assert urlpath.startswith("lab/tree/"), link
                rel = urlpath[len("lab/tree/"):]
                assert (ROOT / rel).is_file(), f"Binder badge points at a missing file: {rel}"
                seen.add(("binder", rel))
        elif not link.startswith("#"):
            assert (ROOT / link.split("#")[0]).exists(), f"README links to a missing file: {link}"
    for nb in NOTEBOOKS:
        rel = nb.relative_to(ROOT).as_posix()
        assert ("colab", rel) in seen and ("binder", rel) in seen, f"no badges for {rel}"


# ---------------------------------------------------------------------------------------------
# A class's JupyterHub: nbgitpuller links


def _pyproject_with(**keys):
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    return text.replace("[tool.d2lmini.course]\n", "[tool.d2lmini.course]\n" + extra, 1)


def _hub_links(markdown):
    return [link for link in _links(markdown) if "/hub/user-redirect/git-pull" in link]


@pytest.mark.parametrize("address", ["https://hub.example.edu", "https://hub.example.edu/",
                                     "https://uni.example.edu/jupyter"])
def test_hub_links_have_nbgitpullers_form(address):
    hub = make_badges.hub_settings(_pyproject_with(hub=address))
    links = _hub_links(make_badges.chapter_table(REPO, BRANCH, NOTEBOOKS, hub))
    assert len(links) == len(NOTEBOOKS)
    base = urllib.parse.urlparse(address.rstrip("/"))
    name = REPO.split("/")[1]
    for nb_path, link in zip(NOTEBOOKS, links):
        url = urllib.parse.urlparse(link)
        assert (url.scheme, url.netloc) == (base.scheme, base.netloc)
        assert url.path == base.path + "/hub/user-redirect/git-pull"
        query = urllib.parse.parse_qs(url.query, strict_parsing=True)
        assert set(query) == {"repo", "urlpath", "branch"}
        assert query["repo"] == [f"https://github.com/{REPO}"]
        assert query["branch"] == [BRANCH]
        rel = nb_path.relative_to(ROOT).as_posix()
        assert query["urlpath"] == [f"lab/tree/{name}/{rel}"]
        assert (ROOT / rel).is_file()
        assert "https://github.com/" not in url.query, "the values are URL-encoded"


def test_hub_links_can_point_at_the_student_edition():
    hub = make_badges.hub_settings(_pyproject_with(hub="https://hub.example.edu",
                                                   hub_repository="some-school/optim-student",
                                                   hub_branch="fall"))
    link = make_badges.nbgitpuller_url(hub, "notebooks/04_momentum.ipynb")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)
    assert query == {"repo": ["https://github.com/some-school/optim-student"],
                     "urlpath": ["lab/tree/optim-student/notebooks/04_momentum.ipynb"], "branch": ["fall"]}


def test_no_hub_no_hub_links():
    assert make_badges.hub_settings() is None        # the course itself sets no hub
    assert make_badges.hub_settings(_pyproject_with(hub="")) is None
    assert _hub_links(make_badges.chapter_table(REPO, BRANCH, NOTEBOOKS)) == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _hub_links(readme) == [] and "launch-JupyterHub" not in readme
    result = subprocess.run([sys.executable, str(ROOT / "scripts/make_badges.py"), "--hub-links"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "no hub is set" in result.stderr


@pytest.mark.parametrize("bad", ["hub.example.edu", "ftp://hub.example.edu", "https://hub.example.edu/?x=1"])
def test_a_bad_hub_address_is_refused(bad):
    with pytest.raises(ValueError, match="hub in \\[tool.d2lmini.course\\]"):
        make_badges.hub_settings(_pyproject_with(hub=bad))


def test_every_notebook_starts_with_the_colab_setup_cell():
    expected = make_badges.setup_cell_source(REPO, BRANCH, make_badges.release())
    for nb_path in NOTEBOOKS + [ROOT / "notebooks" / "00_start_here.ipynb"]:
        if not nb_path.exists():
            continue
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        first = nb["cells"][0]
        assert "colab-setup" in first["metadata"].get("tags", []), nb_path.name
        assert "".join(first["source"]) == expected, nb_path.name


def _run_setup_cell(monkeypatch, colab: bool, release=None):
    """Run the set-up cell; returns (pip calls, widget-manager calls)."""
    calls, managers = [], []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    if colab:
        google = types.ModuleType("google")
        google.colab = types.ModuleType("google.colab")
        google.colab.output = types.ModuleType("google.colab.output")
        google.colab.output.enable_custom_widget_manager = lambda *a, **k: managers.append((a, k))
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", google.colab)
        monkeypatch.setitem(sys.modules, "google.colab.output", google.colab.output)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(make_badges.setup_cell_source(REPO, BRANCH, release), {"__name__": "__main__"})
    return calls, managers


def test_colab_cell_installs_pinned_package_only_on_colab(monkeypatch):
    assert _run_setup_cell(monkeypatch, colab=False) == ([], [])
    calls, managers = _run_setup_cell(monkeypatch, colab=True)
    assert len(calls) == 1
    cmd = calls[0][0][0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[-1] == f"d2lmini @ git+https://github.com/{REPO}@{BRANCH}"
    # It must not upgrade Colab's own torch / ipywidgets.
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(cmd)
    assert not any(word in " ".join(cmd[4:-1]) for word in ("torch", "ipywidgets"))
    # ... and it turns on the custom widget manager that ipyevents (clicks) needs.
    assert managers == [((), {})]


def test_colab_cell_installs_the_release_when_one_is_named(monkeypatch):
    default = make_badges.setup_cell_source(REPO, BRANCH)
    released = make_badges.setup_cell_source(REPO, BRANCH, "0.2.0")
    assert _run_setup_cell(monkeypatch, colab=False, release="0.2.0") == ([], [])
    calls, managers = _run_setup_cell(monkeypatch, colab=True, release="0.2.0")
    assert len(calls) == 1 and managers == [((), {})]
    cmd = calls[0][0][0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and cmd[-1] == "d2lmini==0.2.0"
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(cmd)
    # only the install source differs: the rest of the cell is the same
    diff = [(a, b) for a, b in zip(default.splitlines(), released.splitlines()) if a != b]
    assert diff == [(f'D2LMINI_SOURCE = "d2lmini @ git+https://github.com/{REPO}@{BRANCH}"',
                     'D2LMINI_SOURCE = "d2lmini==0.2.0"')]
    assert len(default.splitlines()) == len(released.splitlines())


def test_release_key_is_optional_and_checked(tmp_path, monkeypatch):
    base = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert make_badges.release() is None  # absent by default: the course branch is installed
    path = tmp_path / "pyproject.toml"
    path.write_text(base.replace("[tool.d2lmini.course]\n", '[tool.d2lmini.course]\nrelease = "0.2.0"\n'))
    assert make_badges.release(path) == "0.2.0"
    for bad in ('"latest"', '"0.2.0; rm -rf /"', "2"):
        path.write_text(base.replace("[tool.d2lmini.course]\n", f"[tool.d2lmini.course]\nrelease = {bad}\n"))
        with pytest.raises(SystemExit, match="release must be a released version"):
            make_badges.release(path)
    # the script uses it: with a release named, every committed cell is out of date
    monkeypatch.setattr(make_badges, "release", lambda: "0.2.0")
    assert make_badges.main(["--check"]) == 1


def test_package_requirements_keep_colab_stack():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    widgets = next(d for d in deps if d.startswith("ipywidgets"))
    # Colab ships ipywidgets 7: the range must allow it (and 8 for JupyterLab 4).
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(widgets[len("ipywidgets"):])
    assert "7.7.1" in spec and "8.1.5" in spec
    assert not any(d.startswith("torch") for d in deps), "torch must stay optional (Colab has its own)"
    events = next(d for d in deps if d.startswith("ipyevents"))  # clicks on the plots, ipywidgets 7 and 8
    assert "2.0.4" in SpecifierSet(events[len("ipyevents"):])


def test_check_environment_reports_ipyevents_and_colabs_widget_manager(monkeypatch, capsys):
    import d2lmini as d2l

    report = d2l.check_environment()
    assert report["ipyevents"]["status"] == "ok" and "widgets" not in report
    assert "ipyevents" in capsys.readouterr().out
    google = types.ModuleType("google")
    google.colab = types.ModuleType("google.colab")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google.colab)
    monkeypatch.delitem(sys.modules, "google.colab.output._widgets", raising=False)
    off = d2l.check_environment(verbose=False)["widgets"]
    assert off["status"] == "missing" and "set-up cell" in off["advice"]
    manager = types.ModuleType("google.colab.output._widgets")
    manager._installed_url = "https://example.invalid/manager.min.js"  # what enabling it sets
    monkeypatch.setitem(sys.modules, "google.colab.output._widgets", manager)
    assert d2l.check_environment(verbose=False)["widgets"]["status"] == "ok"


# ---------------------------------------------------------------------------------------------
# Binder

CONDA_TO_PIP = {"matplotlib-base": "matplotlib", "pytorch-cpu": "torch"}


def _env_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name = re.split(r"[<>=! ]", dep, maxsplit=1)[0]
            names[name] = dep
    return env, names


def test_environment_yml_parses_and_names_every_dependency():
    import tomllib

    env, names = _env_packages()
    assert env["channels"] == ["conda-forge"]
    assert "python" in names and "pip" in names
    assert "pytorch-cpu" in names, "Binder must get a CPU build of PyTorch"
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
    pip_names = {CONDA_TO_PIP.get(n, n) for n in names}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = [re.split(r"[<>=! \[]", d, maxsplit=1)[0] for d in project["dependencies"]]
    needed += ["torch", "jupyterlab", "ipympl"]
    missing = [n for n in needed if n not in pip_names]
    assert not missing, f"environment.yml lacks {missing}"
    post = (ROOT / "postBuild").read_text()
    assert os.access(ROOT / "postBuild", os.X_OK)
    assert "set -e" in post and "pip install --no-deps -e ." in post


def _run(cmd, **kwargs):
    """Run a command quietly; on failure show the end of its output."""
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{tail}")
    return result


@pytest.mark.slow
def test_environment_and_postbuild_install_in_a_fresh_venv(tmp_path):
    """pip stands in for conda (conda-forge is unreachable here): same packages, CPU torch."""
    _, names = _env_packages()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    torch_version = "2.13.0"
    local = subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", f"torch=={torch_version}"],
                           capture_output=True, text=True)
    if local.returncode != 0:
        _run([py, "-m", "pip", "install", "-q", f"torch=={torch_version}", "--index-url",
              "https://download.pytorch.org/whl/cpu", "--extra-index-url", "https://pypi.org/simple"])
    reqs = []
    for name, spec in names.items():
        if name in ("python", "pip"):
            continue
        pip_name = CONDA_TO_PIP.get(name, name)
        reqs.append(pip_name + spec[len(name):].split("#")[0].strip())
    reqs = [r if not r.startswith("torch") else f"torch=={torch_version}" for r in reqs]
    _run([py, "-m", "pip", "install", "-q", *reqs])
    # postBuild runs at the repository root (a clean copy, as repo2docker has it)
    repo = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    for rel in ["postBuild", "environment.yml", "pyproject.toml", "d2lmini/__init__.py"]:
        if not (repo / rel).exists():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    _run(["bash", "postBuild"], cwd=repo, env=env)
    check = _run(
        [py, "-c", "import d2lmini, d2lmini.explorers, torch, ipywidgets, ipympl, jupyterlab;"
                   "print(d2lmini.__file__); print(torch.version.cuda)"],
        cwd=tmp_path,
    )
    where, cuda = check.stdout.split()
    assert where.startswith(str(repo)) and cuda == "None"


@pytest.mark.skipif(os.environ.get("D2LMINI_COLAB_LIKE") != "1", reason="only in the Colab-like run")
def test_colab_like_environment_is_what_colab_ships():
    import importlib.util

    import ipywidgets
    import matplotlib

    assert ipywidgets.__version__.startswith("7."), ipywidgets.__version__
    assert importlib.util.find_spec("ipympl") is None
    assert "ipympl" not in matplotlib.get_backend()

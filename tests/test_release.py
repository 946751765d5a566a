"""Installable like d2l: the sdist and the wheel, a fresh install, and the GitHub workflows.

The slow tests build with ``python -m build`` (its isolated environment takes setuptools from
PyPI), check both files with ``twine check --strict``, install the wheel (``--no-index``: its
requirements must be met by the packages at hand) into a fresh virtual environment that borrows
the main environment's packages (torch, NumPy, ...) through a ``.pth`` file, and run the helpers
from there. The workflows are linted with
actionlint, installed by the test extra.
"""
from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml

import d2lmini

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{tail}")
    return result


def _pyproject():
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_one_version_and_the_course_repository_in_the_metadata():
    project = _pyproject()["project"]
    assert "version" in project["dynamic"] and "version" not in project
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "d2lmini.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", d2lmini.__version__)
    import d2lzh_pytorch

    assert d2lzh_pytorch.__version__ == d2lmini.__version__
    repo = _pyproject()["tool"]["d2lmini"]["course"]["repository"]
    for url in project["urls"].values():
        assert f"github.com/{repo}" in url, url
    assert project["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    assert not any(d.startswith("torch") for d in project["dependencies"])


# --------------------------------------------------------------------------------------------
# build, check, install


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # build from a copy of the committed files: the checkout gets no build/ or egg-info, and a
    # test running beside this one (another worker) never sees a half-written build folder
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(src)], timeout=900)
    return out


@pytest.mark.slow
def test_build_gives_an_sdist_and_a_wheel_that_pass_twine_check(dist: Path):
    version = d2lmini.__version__
    sdist = dist / f"d2lmini-{version}.tar.gz"
    wheel = dist / f"d2lmini-{version}-py3-none-any.whl"
    assert sorted(p.name for p in dist.iterdir()) == sorted([sdist.name, wheel.name])
    _run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)])

    modules = sorted(p.relative_to(ROOT).as_posix() for pkg in ("d2lmini", "d2lzh_pytorch")
                     for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = email.message_from_string(zf.read(f"d2lmini-{version}.dist-info/METADATA").decode())
    assert sorted(n for n in names if n.endswith(".py")) == modules
    assert metadata["Name"] == "d2lmini" and metadata["Version"] == version
    assert metadata["License-Expression"] == "MIT"
    requires = metadata.get_all("Requires-Dist")
    assert not [r for r in requires if r.startswith("torch") and "extra ==" not in r]
    assert "# d2lmini" in metadata.get_payload() or "d2lmini" in metadata.get_payload()

    with tarfile.open(sdist) as tf:
        members = [m.split("/", 1)[1] for m in tf.getnames() if "/" in m]
    for rel in modules + ["LICENSE", "README.md", "pyproject.toml"]:
        assert rel in members, rel
    assert not [m for m in members if m.startswith(("tests/", "notebooks/", "data/"))]


SMOKE = textwrap.dedent(
    """
    import os, sys
    import d2lmini as d2l
    assert "torch" not in sys.modules and "matplotlib" not in sys.modules
    import d2lzh_pytorch
    print("where", d2l.__file__, d2lzh_pytorch.__file__)
    print("version", d2l.__version__)
    import matplotlib
    matplotlib.use("Agg")
    trainer = lambda x1, x2, s1, s2: (x1 - 0.4 * 0.2 * x1, x2 - 0.4 * 4 * x2, 0, 0)
    d2l.show_trace_2d(lambda x1, x2: 0.1 * x1 ** 2 + 2 * x2 ** 2, d2l.train_2d(trainer))
    d2lzh_pytorch.train_2d(trainer)
    print(float(d2l.cosh(d2l.tensor(0.0))), d2l.try_gpu(), d2l.try_all_gpus())
    path = d2l.download("airfoil")
    print("airfoil", path == os.path.join(os.environ["D2LMINI_DATA_DIR"], "airfoil_self_noise.dat"))
    features, labels = d2lzh_pytorch.get_data_ch7()
    print("ch7", tuple(features.shape), tuple(labels.shape))
    import numpy as np, torch
    np.random.seed(0); torch.manual_seed(0)
    d2lzh_pytorch.train_ch7(d2lzh_pytorch.sgd, None, {"lr": 0.05}, features, labels, plot=False)
    data_iter, dim = d2l.get_data_ch11(10)
    d2l.train_ch11(d2l.sgd, None, {"lr": 0.05}, data_iter, dim, 1)
    e = d2l.explore("gd", lr=0.1)  # ipywidgets from the main environment
    print("explorer", len(e.trajectory))
    """
)


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_runs(dist: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    py = venv / "bin" / "python"
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # borrow the main environment's packages (a CPU torch among them); d2lmini itself is an
    # editable install there, which a plain path entry does not activate
    main_site = sysconfig.get_paths()["purelib"]
    Path(site, "main-environment.pth").write_text(main_site + "\n")
    wheel = next(dist.glob("*.whl"))
    # no --no-deps: pip checks the wheel's requirements against the borrowed packages (offline)
    _run([str(py), "-m", "pip", "install", "-q", "--no-index", str(wheel)], timeout=300)
    data = os.environ.get("D2LMINI_DATA_DIR", "").strip() or str(ROOT.parent / "shared" / "data")
    env = dict(os.environ, D2LMINI_DATA_DIR=data, MPLBACKEND="Agg", PYTHONPATH="")
    work = tmp_path / "elsewhere"
    work.mkdir()
    out = _run([str(py), "-c", SMOKE], cwd=work, env=env, timeout=600).stdout.splitlines()
    where = out[0].split()[1:]
    assert all(w.startswith(site) for w in where), where  # the installed copy, not the checkout
    assert out[1] == f"version {d2lmini.__version__}"
    assert out[2:4] == ["epoch 20, x1: -0.943467, x2: -0.000073",
                        "epoch 20, x1 -0.943467, x2 -0.000073"]
    assert out[4] == "1.0 cpu []"
    assert out[5:7] == ["airfoil True", "ch7 (1500, 5) (1500,)"]
    assert re.fullmatch(r"loss: 0\.2[45]\d{4}, \d+\.\d{6} sec per epoch", out[7]), out[7]
    assert re.fullmatch(r"loss: 0\.2[45]\d, \d+\.\d{3} sec/epoch", out[8]), out[8]
    assert out[9] == "explorer 21"


# --------------------------------------------------------------------------------------------
# GitHub Actions


def _actionlint() -> str:
    exe = shutil.which("actionlint", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                           os.environ.get("PATH", "")]))
    assert exe, "actionlint is missing: install the test extra (pip install -e '.[test]')"
    return exe


def _workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def test_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["publish.yml", "tests.yml"]
    result = subprocess.run([_actionlint(), "-no-color", *map(str, files)], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.nope.nope }}\n      - uses: actions/checkout\n")
    result = subprocess.run([_actionlint(), "-no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "bad.yml" in result.stdout


def test_tests_workflow_runs_the_readme_command_on_push_and_pull_requests():
    doc = _workflow("tests.yml")
    assert set(doc["on"]) == {"push", "pull_request"}
    steps = [s.get("run", "") for job in doc["jobs"].values() for s in job["steps"]]
    assert "make test" in steps
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in readme


def test_publish_workflow_uses_trusted_publishing_on_version_tags():
    doc = _workflow("publish.yml")
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    publish = [job for job in doc["jobs"].values()
               if any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in job["steps"])]
    assert len(publish) == 1
    assert publish[0]["permissions"] == {"id-token": "write"}
    assert not any("password" in (s.get("with") or {}) for s in publish[0]["steps"])  # no token
    build_steps = "\n".join(s.get("run", "") for s in doc["jobs"]["build"]["steps"])
    assert "python -m build" in build_steps and "twine check --strict" in build_steps

"""Tests of d2lmini.data: the airfoil file (download, checksum, cache) and the d2l loaders.

The numerical tests read the real file from ``$D2LMINI_DATA_DIR`` (``make test`` sets it) or
from ``<repo>/../shared/data``. They fail, never skip, when the file is missing.

The download tests run pooch against a local HTTP server on 127.0.0.1 (an ephemeral port, one
server per test, stopped at the end). Nothing here touches the internet.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import numpy as np
import pytest

from d2lmini import data as d2ldata
from d2lmini.data import (
    AIRFOIL_FILENAME,
    AIRFOIL_SHA1,
    AIRFOIL_URL,
    DataChecksumError,
    DataDownloadError,
    airfoil_path,
    get_data_ch7,
    get_data_ch11,
    load_airfoil,
    load_array,
)

REPO = Path(__file__).resolve().parents[1]

# data/README.md and the d2l reference notes, section 5
RAW_MEANS = [2886.38, 6.7823, 0.136548, 50.8607, 0.0111399, 124.836]
RAW_STDS = [3151.52, 5.9162, 0.093510, 15.5676, 0.0131459, 6.89636]
LOSS_AT_ZERO = 0.493259
LOSS_FLOOR = 0.241688


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def airfoil_dir() -> Path:
    """The folder with the real airfoil file: ``$D2LMINI_DATA_DIR``, else ``../shared/data``."""
    env = os.environ.get("D2LMINI_DATA_DIR", "").strip()
    folder = Path(env).expanduser() if env else (REPO.parent / "shared" / "data").resolve()
    path = folder / AIRFOIL_FILENAME
    if not path.is_file():
        pytest.fail(
            f"The airfoil data file is missing: {path} does not exist. These tests need the real "
            f"file. Put the original {AIRFOIL_FILENAME} (CRLF, SHA-1 {AIRFOIL_SHA1}, from "
            f"{AIRFOIL_URL}) in a folder and set D2LMINI_DATA_DIR to that folder.",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def airfoil_bytes(airfoil_dir: Path) -> bytes:
    raw = (airfoil_dir / AIRFOIL_FILENAME).read_bytes()
    assert hashlib.sha1(raw).hexdigest() == AIRFOIL_SHA1, "the reference file itself is wrong"
    return raw


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No D2LMINI_* variables and no proxy for 127.0.0.1."""
    for name in ("D2LMINI_DATA_DIR", "D2LMINI_AIRFOIL_URL", "D2LMINI_FASHION_MNIST_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return monkeypatch


class LocalServer:
    """What the test server knows: its base URL and the paths it was asked for."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.requests: List[str] = []

    def url(self, route: str, fname: str = AIRFOIL_FILENAME) -> str:
        return f"{self.base}/{route}/{fname}"


Answer = Callable[[http.server.BaseHTTPRequestHandler], None]


def send(body: bytes, length: int = -1) -> Answer:
    """An answer with ``body``; ``length`` None sends no Content-Length, >= 0 a wrong one."""

    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            handler.send_header("Content-Length", str(len(body) if length < 0 else length))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.close_connection = True  # close after a short body: a truncated download

    return answer


@contextlib.contextmanager
def serve(routes: Dict[str, Answer]) -> Iterator[LocalServer]:
    """An HTTP server on 127.0.0.1 (ephemeral port); a request for ``/<route>/...`` gets
    ``routes[route]`` (or ``routes['<route>/<file>']``), anything else HTTP 404."""
    state = LocalServer(0)

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 5  # a stuck client cannot hold a worker for long

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state.requests.append(self.path)
            path = self.path.strip("/")
            route = path.split("/")[0]
            answer = routes.get(path) or routes.get(route)
            if answer is not None:
                answer(self)
            else:
                self.send_error(404, "Not Found")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              name="data-test-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the test HTTP server did not stop"


@pytest.fixture
def server(airfoil_bytes: bytes, clean_env: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """The airfoil file served with one route per kind of answer."""
    good = airfoil_bytes
    flipped = bytearray(good)
    flipped[100] ^= 0x01  # one bit wrong somewhere in the first rows
    routes = {
        "ok": send(good),
        "lf": send(good.replace(b"\r\n", b"\n")),  # same numbers, LF line endings
        "flipped": send(bytes(flipped)),
        "truncated": send(good[:1000], length=len(good)),  # promises more than it sends
        "truncated-nolength": send(good[:1000], length=None),  # no length: only the hash knows
    }
    with serve(routes) as state:
        yield state


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused, like being offline)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{AIRFOIL_FILENAME}"


def listing(folder: Path) -> List[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def sha1_of(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# the real file: shapes, dtypes, standardisation, reference numbers


def test_airfoil_path_verifies_the_real_file(airfoil_dir: Path, clean_env) -> None:
    path = airfoil_path(airfoil_dir)
    assert path == airfoil_dir / AIRFOIL_FILENAME
    assert sha1_of(path) == AIRFOIL_SHA1
    raw = path.read_bytes()
    assert len(raw) == 59984 and raw.count(b"\r\n") == 1503  # CRLF, one line per row


def test_data_dir_from_environment(airfoil_dir: Path, clean_env) -> None:
    clean_env.setenv("D2LMINI_DATA_DIR", str(airfoil_dir))
    clean_env.setenv("D2LMINI_AIRFOIL_URL", closed_port_url())  # no download may happen
    assert airfoil_path() == airfoil_dir / AIRFOIL_FILENAME
    features, labels = get_data_ch7()
    assert features.shape == (1500, 5) and labels.shape == (1500,)


def test_folder_resolution_order(tmp_path: Path, clean_env) -> None:
    resolve = d2ldata._resolve_dir
    # a source checkout: the default cache is <repo>/data/cache (git-ignored)
    assert (REPO / "data" / "README.md").is_file()
    assert resolve() == REPO / "data" / "cache"
    clean_env.setenv("D2LMINI_DATA_DIR", "")  # `make` exports an empty value: counts as unset
    assert resolve() == REPO / "data" / "cache"
    clean_env.setenv("D2LMINI_DATA_DIR", str(tmp_path / "env"))
    assert resolve() == tmp_path / "env"
    assert resolve(tmp_path / "arg") == tmp_path / "arg"  # the argument wins
    assert resolve(str(tmp_path / "arg")) == tmp_path / "arg"
    with pytest.raises(TypeError, match="data_dir"):
        resolve(42)  # type: ignore[arg-type]


def test_load_airfoil_raw_table(airfoil_dir: Path) -> None:
    data = load_airfoil(airfoil_dir)
    assert data.shape == (1503, 6) and data.dtype == np.float64
    np.testing.assert_allclose(data.mean(axis=0), RAW_MEANS, rtol=1e-5)
    np.testing.assert_allclose(data.std(axis=0), RAW_STDS, rtol=1e-5)
    np.testing.assert_allclose(data[0], [800, 0, 0.3048, 71.3, 0.00266337, 126.201])
    data32 = load_airfoil(airfoil_dir, dtype=np.float32)
    assert data32.shape == (1503, 6) and data32.dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        load_airfoil(airfoil_dir, dtype=np.int64)


def test_get_data_ch7_shapes_dtypes_and_standardisation(airfoil_dir: Path) -> None:
    import torch

    features, labels = get_data_ch7(airfoil_dir)
    assert isinstance(features, torch.Tensor) and isinstance(labels, torch.Tensor)
    assert features.shape == (1500, 5) and labels.shape == (1500,)
    assert features.dtype == torch.float32 and labels.dtype == torch.float32

    # statistics over ALL 1503 rows (ddof 0); the first 1500 rows are returned
    raw = load_airfoil(airfoil_dir)
    z = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)
    np.testing.assert_array_equal(features.numpy(), z[:1500, :-1].astype(np.float32))
    np.testing.assert_array_equal(labels.numpy(), z[:1500, -1].astype(np.float32))
    # not standardised over the 1500 rows alone: that would give exactly zero means here
    assert np.abs(features.double().numpy().mean(axis=0)).max() > 1e-4


def test_linear_regression_reference_losses(airfoil_dir: Path) -> None:
    features, labels = get_data_ch7(airfoil_dir)
    X = features.double().numpy()
    y = labels.double().numpy()
    A = np.column_stack([X, np.ones(len(X))])

    def loss(wb: np.ndarray) -> float:
        return float(np.mean((A @ wb - y) ** 2) / 2)

    assert loss(np.zeros(6)) == pytest.approx(LOSS_AT_ZERO, abs=1e-6)
    best, *_ = np.linalg.lstsq(A, y, rcond=None)
    assert loss(best) == pytest.approx(LOSS_FLOOR, abs=1e-6)


def test_get_data_ch11_dataloader(airfoil_dir: Path) -> None:
    import torch

    data_iter, feature_dim = get_data_ch11(10, data_dir=airfoil_dir)
    assert feature_dim == 5
    assert isinstance(data_iter, torch.utils.data.DataLoader)
    assert len(data_iter) == 150
    assert isinstance(data_iter.sampler, torch.utils.data.RandomSampler)  # shuffles
    X, y = next(iter(data_iter))
    assert X.shape == (10, 5) and y.shape == (10,)
    assert X.dtype == torch.float32 and y.dtype == torch.float32

    first = [b[1].clone() for b in data_iter]
    second = [b[1].clone() for b in data_iter]
    assert not torch.equal(torch.cat(first), torch.cat(second))  # a new order each epoch

    # the same 1500 rows as get_data_ch7, standardised in float32 instead of float64
    features, labels = get_data_ch7(airfoil_dir)
    Xs, ys = data_iter.dataset.tensors  # type: ignore[attr-defined]
    assert Xs.shape == (1500, 5) and ys.shape == (1500,)
    assert (Xs - features).abs().max().item() < 1e-4
    assert (ys - labels).abs().max().item() < 1e-4
    assert not torch.equal(Xs, features)  # float32 statistics really are used

    it100, dim = get_data_ch11(batch_size=1500, n=100, data_dir=airfoil_dir)
    assert dim == 5 and len(it100) == 1 and next(iter(it100))[0].shape == (100, 5)
    it_all, _ = get_data_ch11(batch_size=1, n=1503, data_dir=airfoil_dir)
    assert len(it_all) == 1503


def test_load_array() -> None:
    import torch

    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = torch.arange(6.0)
    loader = load_array((X, y), 4, is_train=False)
    batches = list(loader)
    assert [b[0].shape[0] for b in batches] == [4, 2]
    assert torch.equal(batches[0][0], torch.from_numpy(X[:4]))  # no shuffling: in order
    assert isinstance(load_array((X, y), 2).sampler, torch.utils.data.RandomSampler)
    with pytest.raises(ValueError, match="batch_size"):
        load_array((X, y), 0)


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": -3}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"batch_size": True}, TypeError, "batch_size"),
        ({"n": 0}, ValueError, "n must"),
        ({"n": 5000}, ValueError, "n must"),
        ({"n": "100"}, TypeError, "n must"),
    ],
)
def test_get_data_ch11_bad_arguments(kwargs, error, word, tmp_path: Path, clean_env) -> None:
    # checked before any file access: an empty folder and no server are enough
    clean_env.setenv("D2LMINI_AIRFOIL_URL", closed_port_url())
    with pytest.raises(error, match=word):
        get_data_ch11(data_dir=tmp_path, **kwargs)
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------------
# the download path through pooch, against a local server


def test_download_then_cache_hit(server: LocalServer, tmp_path: Path, clean_env,
                                 airfoil_bytes: bytes) -> None:
    clean_env.setenv("D2LMINI_AIRFOIL_URL", server.url("ok"))
    folder = tmp_path / "cache" / "d2lmini"  # created on demand
    path = airfoil_path(folder)
    assert path == folder / AIRFOIL_FILENAME
    assert path.read_bytes() == airfoil_bytes
    assert listing(folder) == [AIRFOIL_FILENAME]
    assert len(server.requests) == 1

    assert airfoil_path(folder) == path  # verified from the cache
    assert load_airfoil(folder).shape == (1503, 6)
    features, _ = get_data_ch7(folder)
    assert features.shape == (1500, 5)
    assert len(server.requests) == 1  # no second download
    assert listing(folder) == [AIRFOIL_FILENAME]


@pytest.mark.parametrize("route", ["flipped", "lf", "truncated-nolength"])
def test_download_with_wrong_checksum(route: str, server: LocalServer, tmp_path: Path,
                                      clean_env) -> None:
    clean_env.setenv("D2LMINI_AIRFOIL_URL", server.url(route))
    with pytest.raises(DataDownloadError) as info:
        airfoil_path(tmp_path)
    message = str(info.value)
    assert "checksum" in message and "SHA-1" in message
    assert AIRFOIL_SHA1 in message
    assert listing(tmp_path) == []  # neither the file nor pooch's temporary file is left
    assert len(server.requests) == 1


def test_download_truncated(server: LocalServer, tmp_path: Path, clean_env) -> None:
    clean_env.setenv("D2LMINI_AIRFOIL_URL", server.url("truncated"))
    with pytest.raises(DataDownloadError, match="truncated"):
        airfoil_path(tmp_path)
    assert listing(tmp_path) == []


def test_download_http_404(server: LocalServer, tmp_path: Path, clean_env) -> None:
    clean_env.setenv("D2LMINI_AIRFOIL_URL", server.url("missing"))
    with pytest.raises(DataDownloadError, match="HTTP 404") as info:
        airfoil_path(tmp_path)
    assert server.url("missing") in str(info.value)
    assert listing(tmp_path) == []


def test_download_offline_says_what_to_do(tmp_path: Path, clean_env) -> None:
    url = closed_port_url()
    clean_env.setenv("D2LMINI_AIRFOIL_URL", url)
    folder = tmp_path / "data"
    with pytest.raises(DataDownloadError) as info:
        airfoil_path(folder)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "could not connect" in message and "offline" in message
    assert "connect to the internet" in message
    assert f"download {url} by hand" in message
    assert str(folder / AIRFOIL_FILENAME) in message
    assert "D2LMINI_DATA_DIR" in message
    assert listing(folder) == []


def test_wrong_file_in_user_folder_is_reported_and_kept(server: LocalServer, tmp_path: Path,
                                                         clean_env) -> None:
    clean_env.setenv("D2LMINI_AIRFOIL_URL", server.url("ok"))
    path = tmp_path / AIRFOIL_FILENAME
    content = b"800\t0\t0.3048\t71.3\t0.00266337\t126.201\r\n"
    path.write_bytes(content)
    found = hashlib.sha1(content).hexdigest()
    with pytest.raises(DataChecksumError) as info:
        airfoil_path(tmp_path)
    message = str(info.value)
    assert str(path) in message and found in message and AIRFOIL_SHA1 in message
    assert "delete" in message and AIRFOIL_URL in message
    assert path.read_bytes() == content  # untouched
    assert listing(tmp_path) == [AIRFOIL_FILENAME]
    assert server.requests == []  # no download attempted
    with pytest.raises(DataChecksumError):
        get_data_ch7(tmp_path)  # the loaders report it too


def test_lf_copy_gets_a_specific_hint(tmp_path: Path, airfoil_bytes: bytes, clean_env) -> None:
    clean_env.setenv("D2LMINI_AIRFOIL_URL", closed_port_url())
    path = tmp_path / AIRFOIL_FILENAME
    lf = airfoil_bytes.replace(b"\r\n", b"\n")
    path.write_bytes(lf)
    with pytest.raises(DataChecksumError, match="LF line endings") as info:
        airfoil_path(tmp_path)
    assert "CRLF" in str(info.value)
    assert path.read_bytes() == lf


def test_folder_that_cannot_be_created(tmp_path: Path, clean_env) -> None:
    clean_env.setenv("D2LMINI_AIRFOIL_URL", closed_port_url())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    folder = blocker / "cache"
    with pytest.raises(DataDownloadError, match="Cannot create the data folder") as info:
        airfoil_path(folder)
    assert str(folder) in str(info.value) and "D2LMINI_DATA_DIR" in str(info.value)
    assert blocker.read_text() == "not a folder"


# --------------------------------------------------------------------------------------------
# import cost


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, d2lmini, d2lmini.data\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'pooch' not in sys.modules, 'pooch imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --------------------------------------------------------------------------------------------
# Iris and digits (bundled with scikit-learn, no download)

CLASSIFICATION = [("iris", d2ldata.get_data_iris, d2ldata.load_data_iris, 150, 4, 3),
                  ("digits", d2ldata.get_data_digits, d2ldata.load_data_digits, 1797, 64, 10)]


@pytest.mark.parametrize("name, get, load, n, d, k", CLASSIFICATION, ids=lambda v: v if isinstance(v, str) else None)
def test_bundled_data_equal_scikit_learns_loaders(name, get, load, n, d, k):
    """d2lmini reads scikit-learn's files without importing scikit-learn (seconds saved per
    notebook); the numbers must be exactly what sklearn.datasets returns."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")()
    X, y, features, classes = d2ldata._bundled_arrays(name)
    assert X.shape == (n, d) and np.array_equal(X, bunch.data)
    assert np.array_equal(y, bunch.target) and y.dtype == np.int64
    assert features == list(bunch.feature_names)
    assert classes == [str(c) for c in bunch.target_names]


def test_loading_the_data_does_not_import_scikit_learn():
    code = ("import sys, d2lmini as d2l; d2l.get_data_digits(); d2l.load_data_iris(8);"
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name, get, load, n, d, k", CLASSIFICATION, ids=lambda v: v if isinstance(v, str) else None)
def test_split_sizes_disjoint_and_stratified(name, get, load, n, d, k):
    data = get()
    sizes = data.sizes
    assert sum(sizes.values()) == n
    assert sizes["val"] == round(0.2 * n) and sizes["test"] == round(0.2 * n)
    idx = [data.index[p] for p in d2ldata.SPLITS]
    assert len(np.unique(np.concatenate(idx))) == n  # every example in exactly one part
    _, y_all, _, _ = d2ldata._bundled_arrays(name)
    overall = np.bincount(y_all, minlength=k) / n
    for part in d2ldata.SPLITS:
        X, y = data.split(part)
        assert X.shape == (sizes[part], d) and y.shape == (sizes[part],)
        counts = np.bincount(y.numpy(), minlength=k)
        # stratified: each class within one example of its share of the part
        assert np.all(np.abs(counts - overall * sizes[part]) <= 1.0), (part, counts)
    assert (data.num_features, data.num_classes) == (d, k)


def test_iris_default_split_is_30_10_10_per_class():
    data = d2ldata.get_data_iris()
    assert data.sizes == {"train": 90, "val": 30, "test": 30}
    for part, per_class in (("train", 30), ("val", 10), ("test", 10)):
        assert np.bincount(data.split(part)[1].numpy()).tolist() == [per_class] * 3


@pytest.mark.parametrize("name, get, load, n, d, k", CLASSIFICATION, ids=lambda v: v if isinstance(v, str) else None)
def test_features_are_scaled_with_training_statistics_only(name, get, load, n, d, k):
    data = get(seed=3)
    X_raw, _, _, _ = d2ldata._bundled_arrays(name)
    train_raw = X_raw[data.index["train"]]
    Xtr = data.split("train", dtype="float64")[0].numpy()
    varying = train_raw.std(axis=0) > 0
    np.testing.assert_allclose(Xtr.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Xtr.std(axis=0)[varying], 1, atol=1e-12)
    assert np.all(Xtr[:, ~varying] == 0)  # constant pixels are only centred, never divided by 0
    # validation and test use the training statistics, not their own
    for part in ("val", "test"):
        Xp = data.split(part, dtype="float64")[0].numpy()
        expected = (X_raw[data.index[part]] - train_raw.mean(axis=0)) / np.where(varying, train_raw.std(axis=0), 1)
        np.testing.assert_allclose(Xp, expected, rtol=0, atol=1e-12)
        assert np.abs(Xp.mean(axis=0)[varying]).max() > 1e-3  # so not re-centred on their own
    raw = get(seed=3, standardize=False)
    np.testing.assert_array_equal(raw.split("train", dtype="float64")[0].numpy(), train_raw)


def test_split_is_fixed_by_the_seed():
    a, b, c = d2ldata.get_data_digits(seed=1), d2ldata.get_data_digits(seed=1), d2ldata.get_data_digits(seed=2)
    for part in d2ldata.SPLITS:
        assert np.array_equal(a.index[part], b.index[part])
        assert torch_equal(a.split(part), b.split(part))
    assert not np.array_equal(a.index["val"], c.index["val"])


def torch_equal(p, q) -> bool:
    return all(bool((u == v).all()) for u, v in zip(p, q))


def test_loaders_in_d2ls_manner():
    import torch

    train_iter, val_iter, test_iter = d2ldata.load_data_iris(batch_size=16, seed=0)
    data = d2ldata.get_data_iris(seed=0)
    assert [len(it.dataset) for it in (train_iter, val_iter, test_iter)] == [90, 30, 30]
    assert len(train_iter) == 6 and train_iter.batch_size == 16
    # validation and test keep their order; training is shuffled, reproducibly per fresh loaders
    Xv = torch.cat([xb for xb, _ in val_iter])
    assert torch.equal(Xv, data.val[0])
    order1 = torch.cat([yb for _, yb in train_iter])
    order2 = torch.cat([yb for _, yb in train_iter])
    X, y = next(iter(train_iter))
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and X.shape == (16, 4)
    assert not torch.equal(order1, data.train[1]) and sorted(order1.tolist()) == sorted(data.train[1].tolist())
    again = torch.cat([yb for _, yb in d2ldata.load_data_iris(batch_size=16, seed=0)[0]])
    assert torch.equal(order1, again) and not torch.equal(order1, order2)
    # float64 on request, identical values
    X64 = d2ldata.get_data_iris(dtype=torch.float64).train[0]
    assert X64.dtype == torch.float64 and torch.allclose(X64.float(), data.train[0])


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=-4), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(batch_size=8, fractions=(0.6, 0.3, 0.3)), ValueError, "sum to 1"),
    (dict(batch_size=8, fractions=(0.5, 0.5)), ValueError, "three numbers"),
    (dict(batch_size=8, fractions=(1.0, 0.0, 0.0)), ValueError, "fractions"),
    (dict(batch_size=8, fractions=(0.9, -0.1, 0.2)), ValueError, "fractions"),
    (dict(batch_size=8, fractions=(0.98, 0.01, 0.01)), ValueError, "too few"),
    (dict(batch_size=8, fractions="60/20/20"), TypeError, "fractions"),
    (dict(batch_size=8, seed=-1), ValueError, "seed"),
    (dict(batch_size=8, dtype="int8"), TypeError, "dtype"),
])
def test_bad_loader_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        d2ldata.load_data_iris(**kwargs)


def test_unknown_split_and_test_fraction_zero():
    data = d2ldata.get_data_iris(fractions=(0.8, 0.2, 0.0))
    assert data.sizes == {"train": 120, "val": 30, "test": 0}
    with pytest.raises(ValueError, match="unknown split 'dev'.*'train', 'val', 'test'"):
        data.split("dev")
    with pytest.raises(ValueError, match="unknown split"):
        data["validation"]
    assert "iris" in repr(data) and "train 120" in repr(data)


# ---------------------------------------------------------------------------------------------
# d2l's DATA_HUB and download()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Dict[str, object]:
    """d2lmini's DATA_HUB, restored after the test."""
    saved = dict(d2ldata.DATA_HUB)
    yield d2ldata.DATA_HUB
    d2ldata.DATA_HUB.clear()
    d2ldata.DATA_HUB.update(saved)


def test_data_hub_and_url_are_d2ls() -> None:
    import d2lmini

    assert d2lmini.DATA_URL == "http://d2l-data.s3-accelerate.amazonaws.com/"
    assert d2lmini.DATA_HUB is d2ldata.DATA_HUB  # the book's registrations reach download()
    assert d2lmini.DATA_HUB["airfoil"] == (d2lmini.DATA_URL + AIRFOIL_FILENAME, AIRFOIL_SHA1)
    assert d2lmini.download is d2ldata.download


def test_download_airfoil_offline_from_the_data_folder(airfoil_dir: Path, clean_env, hub,
                                                       capsys) -> None:
    """The book's two lines work offline when D2LMINI_DATA_DIR holds the file."""
    clean_env.setenv("D2LMINI_DATA_DIR", str(airfoil_dir))
    hub["airfoil"] = (closed_port_url(), AIRFOIL_SHA1)  # any download attempt would fail
    path = d2ldata.download("airfoil")
    assert path == str(airfoil_dir / AIRFOIL_FILENAME) and isinstance(path, str)
    # as d2l's get_data_ch11 reads it
    data = np.genfromtxt(path, dtype=np.float32, delimiter="\t")
    assert data.shape == (1503, 6)
    assert capsys.readouterr().out == ""  # nothing downloaded, nothing printed


def test_download_once_then_shared_with_the_loaders(server: LocalServer, tmp_path: Path, clean_env,
                                                    hub, airfoil_bytes: bytes, capsys) -> None:
    folder = tmp_path / "data-folder"
    clean_env.setenv("D2LMINI_DATA_DIR", str(folder))
    clean_env.setenv("D2LMINI_AIRFOIL_URL", closed_port_url())  # the loaders may not download
    hub["airfoil"] = (server.url("ok"), AIRFOIL_SHA1)
    path = d2ldata.download("airfoil")
    assert path == str(folder / AIRFOIL_FILENAME)
    assert capsys.readouterr().out == f"Downloading {path} from {server.url('ok')}...\n"
    assert Path(path).read_bytes() == airfoil_bytes
    assert d2ldata.download("airfoil") == path
    features, _ = get_data_ch7()  # the same file: no second download
    assert features.shape == (1500, 5)
    assert len(server.requests) == 1 and capsys.readouterr().out == ""
    assert listing(folder) == [AIRFOIL_FILENAME]


def test_download_explicit_cache_dir_and_d2l_1_0_forms(server: LocalServer, tmp_path: Path,
                                                       clean_env, hub, airfoil_bytes: bytes,
                                                       capsys) -> None:
    hub["airfoil"] = (server.url("ok"), AIRFOIL_SHA1)
    # d2l 0.17: download(name, cache_dir)
    path = d2ldata.download("airfoil", cache_dir=tmp_path / "a")
    assert path == str(tmp_path / "a" / AIRFOIL_FILENAME)
    assert capsys.readouterr().out.startswith(f"Downloading {path} from ")
    # d2l 1.0: download(url, folder, sha1_hash), positional and by keyword
    url = server.url("ok")
    assert d2ldata.download(url, tmp_path / "b", AIRFOIL_SHA1) == str(tmp_path / "b" / AIRFOIL_FILENAME)
    assert d2ldata.download(url, folder=tmp_path / "c") == str(tmp_path / "c" / AIRFOIL_FILENAME)
    assert (tmp_path / "c" / AIRFOIL_FILENAME).read_bytes() == airfoil_bytes
    assert len(server.requests) == 3
    assert d2ldata.download(url, folder=tmp_path / "c") == str(tmp_path / "c" / AIRFOIL_FILENAME)
    assert len(server.requests) == 3  # no checksum to compare: the file there is used
    # every argument by keyword, under either version's names
    assert d2ldata.download(url=url, folder=tmp_path / "b", sha1_hash=AIRFOIL_SHA1) == str(
        tmp_path / "b" / AIRFOIL_FILENAME)
    assert d2ldata.download(name="airfoil", cache_dir=tmp_path / "a") == str(
        tmp_path / "a" / AIRFOIL_FILENAME)
    assert len(server.requests) == 3  # both verified from their folders


def test_download_uses_a_verified_copy_in_d2ls_own_folder(tmp_path: Path, clean_env, hub,
                                                          airfoil_bytes: bytes,
                                                          capsys) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / AIRFOIL_FILENAME).write_bytes(airfoil_bytes)  # d2l's ../data
    (tmp_path / "work").mkdir()
    clean_env.chdir(tmp_path / "work")
    clean_env.setenv("D2LMINI_DATA_DIR", str(tmp_path / "empty"))
    hub["airfoil"] = (closed_port_url(), AIRFOIL_SHA1)
    assert d2ldata.download("airfoil") == os.path.join("..", "data", AIRFOIL_FILENAME)
    assert not (tmp_path / "empty").exists() and capsys.readouterr().out == ""


@pytest.mark.parametrize("route", ["flipped", "lf", "truncated-nolength"])
def test_download_wrong_checksum_leaves_nothing(route: str, server: LocalServer, tmp_path: Path,
                                                clean_env, hub) -> None:
    hub["airfoil"] = (server.url(route), AIRFOIL_SHA1)
    with pytest.raises(DataDownloadError) as info:
        d2ldata.download("airfoil", tmp_path)
    message = str(info.value)
    assert "wrong SHA-1 checksum" in message and AIRFOIL_SHA1 in message
    assert listing(tmp_path) == []


def test_download_offline_says_what_to_do(tmp_path: Path, clean_env, hub) -> None:
    url = closed_port_url()
    hub["notes"] = (url.replace(AIRFOIL_FILENAME, "notes.txt"), "0" * 40)
    with pytest.raises(DataDownloadError) as info:
        d2ldata.download("notes", tmp_path / "d")
    message = str(info.value)
    assert "could not connect" in message and "offline" in message
    assert "D2LMINI_DATA_DIR" in message and str(tmp_path / "d" / "notes.txt") in message
    assert listing(tmp_path / "d") == []


def test_download_keeps_a_wrong_file(server: LocalServer, tmp_path: Path, clean_env, hub) -> None:
    hub["airfoil"] = (server.url("ok"), AIRFOIL_SHA1)
    path = tmp_path / AIRFOIL_FILENAME
    path.write_bytes(b"not the airfoil data\n")
    with pytest.raises(DataChecksumError, match="wrong SHA-1 checksum") as info:
        d2ldata.download("airfoil", tmp_path)
    assert str(path) in str(info.value) and "delete" in str(info.value)
    assert path.read_bytes() == b"not the airfoil data\n" and server.requests == []


def test_download_bad_input(tmp_path: Path, clean_env, hub) -> None:
    with pytest.raises(ValueError, match=r"'nope' is not in d2l.DATA_HUB.*airfoil"):
        d2ldata.download("nope", tmp_path)
    hub["broken"] = "http://example.invalid/file.dat"
    with pytest.raises(ValueError, match=r"DATA_HUB\['broken'\] must be a pair"):
        d2ldata.download("broken", tmp_path)
    hub["badhash"] = ("http://example.invalid/file.dat", "1234")
    with pytest.raises(ValueError, match="SHA-1"):
        d2ldata.download("badhash", tmp_path)
    with pytest.raises(ValueError, match="sha1_hash"):
        d2ldata.download("http://example.invalid/file.dat", tmp_path, sha1_hash="xyz")
    with pytest.raises(TypeError, match="name"):
        d2ldata.download(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not both"):
        d2ldata.download("airfoil", tmp_path, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="not both"):
        d2ldata.download("airfoil", folder=tmp_path, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="url.*name.*not both"):
        d2ldata.download("airfoil", name="airfoil")
    with pytest.raises(TypeError, match="needs the file"):
        d2ldata.download(folder=tmp_path)
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Fashion-MNIST without torchvision: small IDX files made here, served locally

FMNIST_SIZES = {"train": 150, "t10k": 70}


def idx_bytes(array: np.ndarray) -> bytes:
    """A gzip IDX file of unsigned bytes, as Zalando publishes them."""
    header = (0x0800 | array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture(scope="module")
def fmnist() -> Dict[str, object]:
    """Random images with a little structure and labels; file name -> gzip bytes and arrays."""
    rng = np.random.default_rng(2024)
    arrays, files = {}, {}
    for prefix, n in FMNIST_SIZES.items():
        labels = rng.integers(0, 10, n).astype(np.uint8)
        ramp = np.add.outer(np.arange(28), np.arange(28)).astype(np.float64)
        images = (ramp[None] * labels[:, None, None] + rng.integers(0, 80, (n, 28, 28))) % 256
        images = images.astype(np.uint8)
        arrays[prefix] = (images, labels)
        files[f"{prefix}-images-idx3-ubyte.gz"] = idx_bytes(images)
        files[f"{prefix}-labels-idx1-ubyte.gz"] = idx_bytes(labels)
    return {"arrays": arrays, "files": files}


@pytest.fixture
def fmnist_server(fmnist, clean_env) -> Iterator[LocalServer]:
    """Route ``fm`` serves the four files; ``fm-bad`` the same with one corrupt label file."""
    files: Dict[str, bytes] = fmnist["files"]  # type: ignore[assignment]
    clean_env.setattr(d2ldata, "FASHION_MNIST_FILES",
                      {name: hashlib.md5(b).hexdigest() for name, b in files.items()})
    routes: Dict[str, Answer] = {}
    for name, body in files.items():
        routes[f"fm/{name}"] = send(body)
        bad = bytearray(body)
        if name == "train-labels-idx1-ubyte.gz":
            bad[-12] ^= 0x40
        routes[f"fm-bad/{name}"] = send(bytes(bad))
    with serve(routes) as state:
        clean_env.setenv("D2LMINI_FASHION_MNIST_URL", f"{state.base}/fm/")
        yield state


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fashion_mnist_loaders_as_d2l_returns_them(fmnist_server: LocalServer, fmnist,
                                                   tmp_path: Path) -> None:
    import torch

    train_iter, test_iter = d2ldata.load_data_fashion_mnist(32, data_dir=tmp_path)
    raw = tmp_path / "FashionMNIST" / "raw"  # torchvision's layout
    assert listing(raw) == sorted(d2ldata.FASHION_MNIST_FILES)
    assert len(fmnist_server.requests) == 4
    for name in listing(raw):
        assert md5_of(raw / name) == d2ldata.FASHION_MNIST_FILES[name]

    for loader, shuffled in ((train_iter, True), (test_iter, False)):
        assert isinstance(loader, torch.utils.data.DataLoader) and loader.batch_size == 32
        assert isinstance(loader.sampler, torch.utils.data.RandomSampler) == shuffled
        assert loader.num_workers == d2ldata.get_dataloader_workers()
    assert 1 <= d2ldata.get_dataloader_workers() <= 4

    images, labels = fmnist["arrays"]["t10k"]
    batches = list(test_iter)
    assert [len(y) for _, y in batches] == [32, 32, 6]
    X = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    assert X.shape == (70, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    # ToTensor: the bytes divided by 255, in the file's order for the test set
    assert torch.equal(X, torch.from_numpy(images).float().div(255).unsqueeze(1))
    assert torch.equal(y, torch.from_numpy(labels).long())
    assert 0.0 <= X.min().item() and X.max().item() <= 1.0

    train_images, train_labels = fmnist["arrays"]["train"]
    epoch = [list(train_iter) for _ in range(2)]
    orders = []
    for batches in epoch:
        Xt = torch.cat([b[0] for b in batches])
        yt = torch.cat([b[1] for b in batches])
        assert Xt.shape == (150, 1, 28, 28)
        # every training example once per epoch, image and label together
        keys = sorted((bytes((x * 255).round().to(torch.uint8).numpy()), int(l)) for x, l in zip(Xt, yt))
        assert keys == sorted((bytes(a[None]), int(l)) for a, l in zip(train_images, train_labels))
        orders.append(yt)
    assert not torch.equal(orders[0], orders[1])  # shuffled anew each epoch

    d2ldata.load_data_fashion_mnist(10, data_dir=tmp_path)
    assert len(fmnist_server.requests) == 4  # verified from the folder, no second download
    X0, y0 = test_iter.dataset[0]
    assert X0.shape == (1, 28, 28) and isinstance(y0, int)


@pytest.mark.parametrize("resize, shape", [(64, (64, 64)), ((30, 40), (30, 40)), ([20], (20, 20))])
def test_fashion_mnist_resize(resize, shape, fmnist_server: LocalServer, fmnist,
                              tmp_path: Path) -> None:
    from PIL import Image

    _, test_iter = d2ldata.load_data_fashion_mnist(16, resize=resize, data_dir=tmp_path)
    X, y = next(iter(test_iter))
    assert tuple(X.shape) == (16, 1) + shape
    images, _ = fmnist["arrays"]["t10k"]
    # torchvision's Resize on a PIL image (bilinear), then ToTensor: within one grey level
    ref = np.stack([np.asarray(Image.fromarray(a).resize(shape[::-1], Image.BILINEAR))
                    for a in images[:16]]).astype(int)
    ours = np.rint(X[:, 0].numpy() * 255).astype(int)
    assert np.abs(ours - ref).max() <= 1
    assert np.mean(ours == ref) > 0.6
    assert X.dtype.is_floating_point and 0.0 <= X.min().item() and X.max().item() <= 1.0


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"batch_size": 8, "resize": -3}, ValueError, "resize"),
        ({"batch_size": 8, "resize": (28, 28, 1)}, ValueError, "resize"),
        ({"batch_size": 8, "resize": "big"}, TypeError, "resize"),
    ],
)
def test_fashion_mnist_bad_arguments(kwargs, error, word, tmp_path: Path, clean_env) -> None:
    clean_env.setenv("D2LMINI_FASHION_MNIST_URL", closed_port_url())
    with pytest.raises(error, match=word):
        d2ldata.load_data_fashion_mnist(data_dir=tmp_path, **kwargs)
    assert listing(tmp_path) == []  # checked before any download


def test_fashion_mnist_corrupt_download(fmnist_server: LocalServer, tmp_path: Path,
                                        clean_env) -> None:
    clean_env.setenv("D2LMINI_FASHION_MNIST_URL", f"{fmnist_server.base}/fm-bad/")
    with pytest.raises(DataDownloadError) as info:
        d2ldata.load_data_fashion_mnist(32, data_dir=tmp_path)
    message = str(info.value)
    assert "train-labels-idx1-ubyte.gz" in message and "wrong MD5 checksum" in message
    raw = tmp_path / "FashionMNIST" / "raw"
    # nothing half-written: only the file that arrived whole and verified, no temporary file
    assert listing(raw) == ["train-images-idx3-ubyte.gz"]
    assert md5_of(raw / "train-images-idx3-ubyte.gz") == d2ldata.FASHION_MNIST_FILES[
        "train-images-idx3-ubyte.gz"]


def test_fashion_mnist_offline(fmnist_server: LocalServer, tmp_path: Path, clean_env) -> None:
    clean_env.setenv("D2LMINI_FASHION_MNIST_URL", closed_port_url().rsplit("/", 1)[0] + "/")
    folder = tmp_path / "data"
    with pytest.raises(DataDownloadError) as info:
        d2ldata.load_data_fashion_mnist(256, data_dir=folder)
    message = str(info.value)
    assert "could not connect" in message and "offline" in message
    assert "train-images-idx3-ubyte.gz" in message and "D2LMINI_DATA_DIR" in message
    assert listing(folder / "FashionMNIST" / "raw") == []


def test_fashion_mnist_next_mirror_when_one_is_down(fmnist_server: LocalServer, tmp_path: Path,
                                                    clean_env) -> None:
    clean_env.delenv("D2LMINI_FASHION_MNIST_URL")
    down = closed_port_url().rsplit("/", 1)[0] + "/"
    clean_env.setattr(d2ldata, "FASHION_MNIST_MIRRORS", (down, f"{fmnist_server.base}/fm/"))
    train_iter, _ = d2ldata.load_data_fashion_mnist(50, data_dir=tmp_path)
    assert len(train_iter.dataset) == FMNIST_SIZES["train"] and len(fmnist_server.requests) == 4


def test_fashion_mnist_wrong_file_in_folder_is_kept(fmnist_server: LocalServer, fmnist,
                                                    tmp_path: Path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    wrong = fmnist["files"]["train-labels-idx1-ubyte.gz"][:-3]  # type: ignore[index]
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(wrong)
    with pytest.raises(DataChecksumError, match="wrong MD5 checksum") as info:
        d2ldata.load_data_fashion_mnist(32, data_dir=tmp_path)
    assert str(raw / "t10k-images-idx3-ubyte.gz") in str(info.value)
    assert (raw / "t10k-images-idx3-ubyte.gz").read_bytes() == wrong


def test_fashion_mnist_malformed_idx_is_reported(fmnist, tmp_path: Path, clean_env) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    files = dict(fmnist["files"])  # type: ignore[arg-type]
    files["train-labels-idx1-ubyte.gz"] = gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 20)
    for name, body in files.items():
        (raw / name).write_bytes(body)
    clean_env.setattr(d2ldata, "FASHION_MNIST_FILES",
                      {name: hashlib.md5(b).hexdigest() for name, b in files.items()})
    with pytest.raises(ValueError, match="not an IDX file of 1-D unsigned bytes"):
        d2ldata.load_data_fashion_mnist(32, data_dir=tmp_path)


def test_port_fashion_mnist_loader_takes_root(fmnist_server: LocalServer, tmp_path: Path) -> None:
    import d2lzh_pytorch

    root = tmp_path / "Datasets" / "FashionMNIST"
    train_iter, test_iter = d2lzh_pytorch.load_data_fashion_mnist(64, root=str(root))
    assert listing(root / "FashionMNIST" / "raw") == sorted(d2ldata.FASHION_MNIST_FILES)
    assert len(train_iter.dataset) == FMNIST_SIZES["train"] and test_iter.batch_size == 64
    expected_workers = 0 if sys.platform.startswith("win") else d2ldata.get_dataloader_workers()
    assert train_iter.num_workers == test_iter.num_workers == expected_workers
    with pytest.raises(TypeError, match="data_dir"):
        d2lzh_pytorch.load_data_fashion_mnist(64, root=3)

"""The data of the course: airfoil and Fashion-MNIST (download, checksum, cache) and d2l's loaders.

The course trains linear regression on NASA's airfoil self-noise table (1503 rows, 5 features and
1 target; see ``data/README.md``). This module gets a verified copy of the file and reads it the
way the two d2l texts do:

* :func:`airfoil_path` returns the path of a local copy whose SHA-1 matches d2l's
  (``DATA_HUB['airfoil']``), downloading it with :mod:`pooch` on first use;
* :func:`load_airfoil` parses it into a ``(1503, 6)`` NumPy array;
* :func:`get_data_ch7` is ShusenTang's ``d2lzh_pytorch.get_data_ch7()`` (float64 statistics,
  float32 tensors, first 1500 rows);
* :func:`get_data_ch11` is d2l-en's ``d2l.get_data_ch11(batch_size=10, n=1500)`` (float32
  statistics, a shuffling ``DataLoader`` and the feature count);
* :func:`load_array` is d2l's ``load_array``;
* :data:`DATA_HUB`, :data:`DATA_URL` and :func:`download` are d2l's file registry and downloader
  (``d2l.download('airfoil')``), on the same folder and checks;
* :func:`load_data_fashion_mnist` is d2l's Fashion-MNIST loader, without torchvision.

Where the file lives (the first that applies):

1. the ``data_dir`` argument;
2. the environment variable ``D2LMINI_DATA_DIR``;
3. ``<repo>/data/cache`` when d2lmini runs from a source checkout (git-ignored);
4. otherwise the user cache folder ``pooch.os_cache("d2lmini")``.

Fashion-MNIST goes to the subfolder ``FashionMNIST/raw`` of that folder (torchvision's layout).

A file already there is used only if its checksum matches; d2lmini never deletes or overwrites
it. The environment variables ``D2LMINI_AIRFOIL_URL`` and ``D2LMINI_FASHION_MNIST_URL`` (a base
URL) replace the download URLs (the tests use them to point at a local server).

torch and pooch are imported inside the functions that need them, so ``import d2lmini.data`` is
cheap.
"""
from __future__ import annotations

import hashlib
import operator
import os
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple, Union

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from numpy.typing import DTypeLike
    from torch.utils.data import DataLoader

__all__ = [
    "AIRFOIL_URL",
    "AIRFOIL_SHA1",
    "AIRFOIL_FILENAME",
    "AIRFOIL_SHAPE",
    "DataDownloadError",
    "DataChecksumError",
    "airfoil_path",
    "load_airfoil",
    "get_data_ch7",
    "get_data_ch11",
    "load_array",
    "ClassificationData",
    "SPLITS",
    "get_data_iris",
    "get_data_digits",
    "load_data_iris",
    "load_data_digits",
    "DATA_URL",
    "DATA_HUB",
    "download",
    "load_data_fashion_mnist",
    "get_dataloader_workers",
]

#: d2l's ``DATA_URL + 'airfoil_self_noise.dat'`` (``d2l/torch.py``, ``DATA_HUB['airfoil']``).
AIRFOIL_URL = "http://d2l-data.s3-accelerate.amazonaws.com/airfoil_self_noise.dat"
#: SHA-1 of the original file (CRLF line endings, 59 984 bytes), as in d2l's ``DATA_HUB``.
AIRFOIL_SHA1 = "76e5be1548fd8222e5074cf0faae75edff8cf93f"
AIRFOIL_FILENAME = "airfoil_self_noise.dat"
#: rows x columns: 5 features and the target (scaled sound pressure level, dB).
AIRFOIL_SHAPE = (1503, 6)

# The same table with LF line endings (ShusenTang/Dive-into-DL-PyTorch data/); recognised only
# to give a better error message, never accepted.
_AIRFOIL_LF_SHA1 = "d9dfd00ed1ff52487b87aceb5ff20462d8e0801c"

ENV_DATA_DIR = "D2LMINI_DATA_DIR"
ENV_AIRFOIL_URL = "D2LMINI_AIRFOIL_URL"

PathLike = Union[str, "os.PathLike[str]"]


class DataDownloadError(RuntimeError):
    """The airfoil file could not be downloaded or saved; nothing was left in the folder."""


class DataChecksumError(RuntimeError):
    """A file already in the data folder is not the airfoil file d2l expects (wrong SHA-1)."""


# --------------------------------------------------------------------------------------------
# where the file lives


def _source_checkout_root() -> Optional[Path]:
    """The repository root if this module runs from a source checkout, else ``None``."""
    root = Path(__file__).resolve().parents[1]
    if (root / "data" / "README.md").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None


def _env(name: str) -> Optional[str]:
    value = os.environ.get(name, "").strip()
    return value or None  # an empty variable (``make`` exports one) counts as unset


def _resolve_dir(data_dir: Optional[PathLike] = None) -> Path:
    """The data folder: the argument, else ``$D2LMINI_DATA_DIR``, else the default cache."""
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise TypeError(f"data_dir must be a path (str or os.PathLike) or None, "
                            f"got {type(data_dir).__name__}")
        return Path(data_dir).expanduser()
    env = _env(ENV_DATA_DIR)
    if env is not None:
        return Path(env).expanduser()
    root = _source_checkout_root()
    if root is not None:
        return root / "data" / "cache"
    import pooch  # noqa: PLC0415  (lazy: keeps ``import d2lmini.data`` cheap)

    return Path(pooch.os_cache("d2lmini"))


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_hash(path: Path, algorithm: str) -> str:
    if algorithm == "sha1":
        return _sha1(path)
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _algorithm_name(algorithm: str) -> str:
    return {"sha1": "SHA-1", "md5": "MD5", "sha256": "SHA-256"}.get(algorithm, algorithm)


def _check_file(path: Path, algorithm: str, expected: Optional[str], url: str,
                how: str = "") -> None:
    """Raise :class:`DataChecksumError` unless ``path`` is a file with the expected hash.

    Never deletes or changes the file. ``how`` says how to get a good copy by hand.
    """
    if not path.is_file():
        raise DataChecksumError(f"{path} exists but is not a file. Remove it or choose another "
                                f"data folder (argument data_dir or ${ENV_DATA_DIR}).")
    if expected is None:
        return
    found = _file_hash(path, algorithm)
    if found == expected:
        return
    hint = ""
    if algorithm == "sha1" and expected == AIRFOIL_SHA1 and found == _AIRFOIL_LF_SHA1:
        hint = ("\nThis is the copy with LF line endings (as in ShusenTang/Dive-into-DL-PyTorch). "
                "The numbers are the same, but d2l's checksum is that of the original file with "
                "CRLF (Windows) line endings, so it does not match.")
    name = _algorithm_name(algorithm)
    raise DataChecksumError(
        f"The file {path} has the wrong {name} checksum.\n"
        f"  found:    {found}\n"
        f"  expected: {expected}{hint}\n"
        f"It was left untouched. To fix it, delete that file so that d2lmini downloads it again, "
        f"or replace it with the original file{how} downloaded in binary mode from {url} (do not "
        f"open and re-save it in an editor)."
    )


def _check_existing(path: Path) -> None:
    """Raise :class:`DataChecksumError` unless ``path`` is the airfoil file. Never deletes it."""
    _check_file(path, "sha1", AIRFOIL_SHA1, AIRFOIL_URL, " (CRLF line endings, 59 984 bytes)")


def _advice(url: str, folder: Path, fname: str = AIRFOIL_FILENAME, how: str = "") -> str:
    return (
        "What to do:\n"
        "  * connect to the internet and try again, or\n"
        f"  * download {url} by hand (binary mode{how}) and save it as "
        f"{folder / fname}, or\n"
        f"  * set the environment variable {ENV_DATA_DIR} (or pass data_dir=) to a folder that "
        f"already has {fname}."
    )


def _describe_failure(error: Exception) -> str:
    """One sentence on what went wrong in a pooch download."""
    try:
        import requests  # noqa: PLC0415  (pooch's HTTP client)
    except ImportError:  # pragma: no cover - requests is a pooch dependency
        requests = None  # type: ignore[assignment]
    if requests is not None and isinstance(error, requests.RequestException):
        exc = requests.exceptions
        if isinstance(error, exc.HTTPError):
            status = getattr(error.response, "status_code", "?")
            return f"the server answered HTTP {status} ({error})"
        if isinstance(error, exc.Timeout):
            return f"the server did not answer in time ({error})"
        if isinstance(error, exc.ConnectionError):
            return f"could not connect to the server; are you offline? ({error})"
        if isinstance(error, (exc.ChunkedEncodingError, exc.ContentDecodingError)):
            return f"the download was cut off before the end (truncated) ({error})"
        return f"the download failed ({type(error).__name__}: {error})"
    if isinstance(error, ValueError) and "hash" in str(error).lower():
        algorithm = "SHA-1" if "sha1" in str(error).lower() else (
            "MD5" if "md5" in str(error).lower() else "hash")
        return (f"the downloaded file has the wrong {algorithm} checksum, so it was corrupted on "
                f"the way or is not the expected file; pooch deleted it ({error})")
    if isinstance(error, OSError):
        return f"the file could not be written ({type(error).__name__}: {error})"
    return f"{type(error).__name__}: {error}"


def _prepare_folder(folder: Path, url: str, fname: str = AIRFOIL_FILENAME) -> None:
    """Create ``folder`` if needed and check that it is writable, with a clear error if not."""
    fix = (f"Pass data_dir= or set the environment variable {ENV_DATA_DIR} to a folder you can "
           f"write to, or to one that already has {fname} (from {url}).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataDownloadError(
            f"Cannot create the data folder {folder} ({type(error).__name__}: {error}). {fix}"
        ) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataDownloadError(f"Cannot write to the data folder {folder}. {fix}")


def _retrieve(url: str, folder: Path, fname: str, algorithm: str, expected: Optional[str],
              how: str = "", what: str = "the file") -> Path:
    """Download ``url`` to ``folder/fname`` with pooch, verified, or raise DataDownloadError.

    pooch 1.9 streams into a temporary file in ``folder``, removes it on any failure and moves it
    to the final name only after the checksum matched (tests/test_data.py checks this).
    """
    _prepare_folder(folder, url, fname)
    import pooch  # noqa: PLC0415  (lazy: keeps ``import d2lmini.data`` cheap)

    path = folder / fname
    known_hash = f"{algorithm}:{expected}" if expected else None
    try:
        fetched = pooch.retrieve(url, known_hash=known_hash, fname=fname, path=folder,
                                 progressbar=False)
    except Exception as error:
        # Guard the final name anyway; a correct file may come from a parallel download.
        if expected and path.is_file() and _file_hash(path, algorithm) != expected:
            path.unlink()
        raise DataDownloadError(
            f"Could not download {what} from {url} into {folder}: "
            f"{_describe_failure(error)}.\nNothing was saved in {folder}.\n"
            f"{_advice(url, folder, fname, how)}"
        ) from error
    return Path(fetched)


def airfoil_path(data_dir: Optional[PathLike] = None) -> Path:
    """The path of a verified local copy of ``airfoil_self_noise.dat``, downloaded on first use.

    Parameters
    ----------
    data_dir:
        The folder to look in and download to. Default: ``$D2LMINI_DATA_DIR``, else
        ``<repo>/data/cache`` in a source checkout, else ``pooch.os_cache("d2lmini")``.

    Raises
    ------
    DataChecksumError
        The file is already there but its SHA-1 is not :data:`AIRFOIL_SHA1`. The file is left as
        it is; the message says how to fix it.
    DataDownloadError
        The download failed (offline, HTTP error, truncated, wrong checksum) or the folder cannot
        be created or written. No partial or wrong file is left behind.
    """
    folder = _resolve_dir(data_dir)
    path = folder / AIRFOIL_FILENAME
    if path.exists():
        _check_existing(path)
        return path
    url = _env(ENV_AIRFOIL_URL) or AIRFOIL_URL
    return _retrieve(url, folder, AIRFOIL_FILENAME, "sha1", AIRFOIL_SHA1,
                     how=", keep the CRLF line endings", what="the airfoil data")


# --------------------------------------------------------------------------------------------
# d2l's DATA_HUB and download()

#: d2l's base URL of its data files.
DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"

#: d2l's registry ``name -> (url, sha1)``. The book registers entries itself, for example
#: ``d2l.DATA_HUB['airfoil'] = (d2l.DATA_URL + 'airfoil_self_noise.dat', '76e5...')``;
#: ``airfoil`` is there from the start, as it is in d2l 1.0.3.
DATA_HUB: Dict[str, Tuple[str, Optional[str]]] = {
    "airfoil": (DATA_URL + AIRFOIL_FILENAME, AIRFOIL_SHA1),
}

#: d2l's default cache folder of :func:`download`, relative to the working directory.
D2L_CACHE_DIR = os.path.join("..", "data")


def _hub_entry(name: str) -> Tuple[str, Optional[str]]:
    if name not in DATA_HUB:
        known = ", ".join(sorted(DATA_HUB)) or "none"
        raise ValueError(
            f"name {name!r} is not in d2l.DATA_HUB (known names: {known}). Register it first: "
            f"d2l.DATA_HUB[{name!r}] = (url, sha1), or pass a URL that starts with http."
        )
    entry = DATA_HUB[name]
    if (not isinstance(entry, (tuple, list)) or len(entry) != 2 or not isinstance(entry[0], str)
            or not (entry[1] is None or isinstance(entry[1], str))):
        raise ValueError(f"d2l.DATA_HUB[{name!r}] must be a pair (url, sha1), got {entry!r}")
    return entry[0], entry[1]


def _check_sha1(value: Optional[str], name: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 40 or any(
            c not in "0123456789abcdef" for c in value.lower()):
        raise ValueError(f"{name} must be a SHA-1 checksum (40 hexadecimal digits) or None, "
                         f"got {value!r}")
    return value.lower()


def download(url: Optional[str] = None, folder: Optional[PathLike] = None,
             sha1_hash: Optional[str] = None, *, cache_dir: Optional[PathLike] = None,
             name: Optional[str] = None) -> str:
    """d2l's ``download``: a verified local copy of a ``DATA_HUB`` file; returns its path.

    ``download('airfoil')`` looks up ``DATA_HUB['airfoil'] = (url, sha1)``. As in d2l 1.0.3
    the first argument may also be a URL, with ``sha1_hash`` as its checksum (``None``: not
    checked). A file already there is used when its SHA-1 matches; otherwise it is downloaded
    (with pooch) and printed as d2l does: ``Downloading <path> from <url>...``.

    Both of d2l's signatures work: d2l 1.0's ``download(url, folder='../data',
    sha1_hash=None)`` and d2l 0.17's ``download(name, cache_dir=...)``, positionally or by
    keyword (``url=``/``name=`` for the first argument, ``folder=``/``cache_dir=`` for the
    second).

    Where:

    * a folder given (``folder`` or ``cache_dir``): that folder only, as in d2l.
    * by default: d2lmini's data folder (``$D2LMINI_DATA_DIR``, else ``<repo>/data/cache`` in a
      source checkout, else the user cache), the folder :func:`get_data_ch7` and
      :func:`get_data_ch11` use, so a file is never downloaded twice and works offline once it
      is there. A verified copy in d2l's own default ``../data`` is used too (never written).

    Unlike d2l, a file with the wrong checksum is never overwritten: :class:`DataChecksumError`
    says what to do. A failed download raises :class:`DataDownloadError` and leaves nothing.
    """
    if name is not None:
        if url is not None:
            raise TypeError("pass the file once: url (d2l 1.0) or name (d2l 0.17), not both")
        url = name
    if url is None:
        raise TypeError("download() needs the file: a DATA_HUB name such as 'airfoil' or a URL")
    if folder is not None:
        if cache_dir is not None:
            raise TypeError("pass the folder once: cache_dir (d2l 0.17) or folder (d2l 1.0), "
                            "not both")
        cache_dir = folder
    name = url
    if not isinstance(name, str) or not name:
        raise TypeError(f"url must be a DATA_HUB name such as 'airfoil' or a URL (http...), "
                        f"got {name!r}")
    if name.startswith("http"):
        url, sha1 = name, _check_sha1(sha1_hash, "sha1_hash")
    else:
        url, sha1 = _hub_entry(name)
        sha1 = _check_sha1(sha1, f"the checksum in d2l.DATA_HUB[{name!r}]")
    fname = url.split("?")[0].rstrip("/").split("/")[-1]
    if not fname or ":" in fname:
        raise ValueError(f"cannot tell a file name from the URL {url!r}")
    if cache_dir is not None:
        target = _resolve_dir(cache_dir)
        extra: Sequence[Path] = ()
    else:
        target = _resolve_dir()
        extra = (Path(D2L_CACHE_DIR),)
    path = target / fname
    if path.exists():
        _check_file(path, "sha1", sha1, url)
        return str(path)
    for other in extra:
        candidate = other / fname
        try:
            if candidate.is_file() and sha1 is not None and _sha1(candidate) == sha1:
                return str(candidate)
        except OSError:  # unreadable: not ours to fix, download into the target instead
            continue
    print(f"Downloading {path} from {url}...")
    return str(_retrieve(url, target, fname, "sha1", sha1, what=f"{fname}"))


# --------------------------------------------------------------------------------------------
# reading


def load_airfoil(data_dir: Optional[PathLike] = None, dtype: "DTypeLike" = np.float64
                 ) -> np.ndarray:
    """The raw airfoil table as a ``(1503, 6)`` array (``np.genfromtxt(..., delimiter='\\t')``).

    Columns: frequency (Hz), angle of attack (deg), chord length (m), free-stream velocity (m/s),
    suction-side displacement thickness (m), scaled sound pressure level (dB, the target).
    ``dtype`` must be a floating type (d2l-en parses as float32, ShusenTang as float64).
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be a NumPy floating dtype, got {dtype!r}") from error
    if not np.issubdtype(dt, np.floating):
        raise ValueError(f"dtype must be a floating dtype such as np.float64 or np.float32, "
                         f"got {dt}")
    path = airfoil_path(data_dir)
    data = np.genfromtxt(path, dtype=dt, delimiter="\t")
    if data.shape != AIRFOIL_SHAPE or not np.isfinite(data).all():
        raise ValueError(f"{path} is not the airfoil table: expected {AIRFOIL_SHAPE[0]} rows of "
                         f"{AIRFOIL_SHAPE[1]} tab-separated numbers without gaps, got an array "
                         f"of shape {data.shape}.")
    return data


def _check_positive_int(name: str, value: object, upper: Optional[int] = None) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    try:
        number = operator.index(value)  # int and NumPy integers; rejects 2.0 and "10"
    except TypeError as error:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}"
                        ) from error
    if number < 1 or (upper is not None and number > upper):
        expected = "a positive int" if upper is None else f"an int between 1 and {upper}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def load_array(data_arrays: Sequence[object], batch_size: int, is_train: bool = True
               ) -> "DataLoader":
    """d2l's ``load_array``: a ``DataLoader`` over ``TensorDataset(*data_arrays)``.

    Shuffles when ``is_train`` is true. NumPy arrays are converted with ``torch.as_tensor``.
    """
    import torch  # noqa: PLC0415
    from torch.utils import data as tdata  # noqa: PLC0415

    batch_size = _check_positive_int("batch_size", batch_size)
    tensors = [a if isinstance(a, torch.Tensor) else torch.as_tensor(a) for a in data_arrays]
    dataset = tdata.TensorDataset(*tensors)
    return tdata.DataLoader(dataset, batch_size, shuffle=bool(is_train))


def get_data_ch7(data_dir: Optional[PathLike] = None) -> Tuple["torch.Tensor", "torch.Tensor"]:
    """ShusenTang's ``get_data_ch7()``: standardised airfoil features and labels as tensors.

    Parses as float64, standardises every column with the mean and standard deviation (ddof 0)
    of all 1503 rows, and returns the first 1500 rows as float32 tensors: ``features`` of shape
    ``(1500, 5)`` and ``labels`` of shape ``(1500,)``.
    """
    import torch  # noqa: PLC0415

    data = load_airfoil(data_dir, dtype=np.float64)
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    features = torch.tensor(data[:1500, :-1], dtype=torch.float32)
    labels = torch.tensor(data[:1500, -1], dtype=torch.float32)
    return features, labels


def get_data_ch11(batch_size: int = 10, n: int = 1500, data_dir: Optional[PathLike] = None
                  ) -> Tuple["DataLoader", int]:
    """d2l-en's ``get_data_ch11``: a shuffling ``DataLoader`` over the first ``n`` rows, and 5.

    Parses as float32 and standardises with float32 statistics over all 1503 rows (the result
    differs from :func:`get_data_ch7` by less than 2e-5). Returns ``(data_iter, feature_dim)``.
    """
    import torch  # noqa: PLC0415

    batch_size = _check_positive_int("batch_size", batch_size)
    n = _check_positive_int("n", n, upper=AIRFOIL_SHAPE[0])
    data = load_airfoil(data_dir, dtype=np.float32)
    data = torch.from_numpy((data - data.mean(axis=0)) / data.std(axis=0))
    data_iter = load_array((data[:n, :-1], data[:n, -1]), batch_size, is_train=True)
    return data_iter, data.shape[1] - 1


# --------------------------------------------------------------------------------------------
# Classification data bundled with scikit-learn: Iris and digits (no download)

#: The splits of a :class:`ClassificationData`, in order.
SPLITS = ("train", "val", "test")

_BUNDLED = {
    # name: (file in sklearn/datasets/data, rows to skip, sklearn loader)
    "iris": ("iris.csv", 1, "load_iris"),
    "digits": ("digits.csv.gz", 0, "load_digits"),
}


def _bundled_arrays(name: str) -> Tuple[np.ndarray, np.ndarray, list, list]:
    """``(X, y, feature_names, class_names)`` of scikit-learn's bundled data set ``name``.

    The numbers are read straight from the file scikit-learn ships (``iris.csv``,
    ``digits.csv.gz``): ``importlib.util.find_spec`` finds it without importing scikit-learn,
    whose import (scipy included) takes seconds. If the file is not where it is expected, this
    falls back to ``sklearn.datasets.load_iris()`` / ``load_digits()``; tests/test_data.py checks
    that both give the same arrays.
    """
    import importlib.util  # noqa: PLC0415

    filename, skip, loader = _BUNDLED[name]
    X = y = None
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError(
            f"the {name} data set comes with scikit-learn, which is not installed: "
            "pip install scikit-learn"
        )
    for folder in spec.submodule_search_locations or []:
        path = Path(folder) / "datasets" / "data" / filename
        if path.is_file():
            try:
                table = np.loadtxt(path, delimiter=",", skiprows=skip)
            except ValueError:  # pragma: no cover - a changed file format: use sklearn's reader
                break
            X, y = table[:, :-1], table[:, -1].astype(np.int64)
            break
    expected = {"iris": (150, 4), "digits": (1797, 64)}[name]
    if X is None or X.shape != expected:  # pragma: no cover - depends on sklearn's layout
        import sklearn.datasets  # noqa: PLC0415

        bunch = getattr(sklearn.datasets, loader)()
        X, y = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)
    if name == "iris":
        features = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
        classes = ["setosa", "versicolor", "virginica"]
    else:
        features = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
        classes = [str(k) for k in range(10)]
    return X, y, features, classes


def _check_fractions(fractions: object) -> Tuple[float, float, float]:
    how = ("fractions must be three numbers (train, validation, test) that are >= 0 and sum to 1, "
           "with train and validation > 0, for example (0.6, 0.2, 0.2)")
    try:
        values = tuple(float(f) for f in fractions)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(f"{how}; got {fractions!r}") from None
    if len(values) != 3:
        raise ValueError(f"{how}; got {len(values)} numbers: {fractions!r}")
    f_train, f_val, f_test = values
    if not all(np.isfinite(values)) or min(values) < 0 or f_train <= 0 or f_val <= 0:
        raise ValueError(f"{how}; got {fractions!r}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"{how}; got {fractions!r}, which sums to {sum(values):g}")
    return f_train, f_val, f_test


def _largest_remainder(weights: np.ndarray, total: int, cap: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum to ``total``, each at most ``cap``."""
    exact = weights / weights.sum() * total
    counts = np.minimum(np.floor(exact).astype(int), cap)
    remainder = exact - counts
    while counts.sum() < total:
        room = counts < cap
        k = int(np.argmax(np.where(room, remainder, -np.inf)))
        counts[k] += 1
        remainder[k] = -np.inf
    return counts


def _stratified_split(y: np.ndarray, fractions: Tuple[float, float, float], seed: int
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (sorted) of a train/validation/test split with the class proportions kept.

    The validation and test sizes are ``round(n * fraction)``; each class contributes in
    proportion to its size (largest remainders), its members drawn at random with ``seed``.
    """
    n = len(y)
    n_test = int(round(n * fractions[2]))
    n_val = int(round(n * fractions[1]))
    classes, counts = np.unique(y, return_counts=True)
    test_k = _largest_remainder(counts.astype(float), n_test, counts)
    val_k = _largest_remainder(counts.astype(float), n_val, counts - test_k)
    rng = np.random.default_rng(seed)
    parts: Tuple[list, list, list] = ([], [], [])
    for c, k_test, k_val in zip(classes, test_k, val_k):
        members = rng.permutation(np.flatnonzero(y == c))
        parts[2].append(members[:k_test])
        parts[1].append(members[k_test:k_test + k_val])
        parts[0].append(members[k_test + k_val:])
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def _torch_dtype(dtype: object) -> "torch.dtype":
    import torch  # noqa: PLC0415

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    aliases = {"float32": torch.float32, "float64": torch.float64, np.float32: torch.float32,
               np.float64: torch.float64, float: torch.float64}
    try:
        if dtype in aliases:
            return aliases[dtype]  # type: ignore[index]
    except TypeError:
        pass
    raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")


class ClassificationData:
    """A classification data set split into train, validation and test parts.

    Made by :func:`get_data_iris` and :func:`get_data_digits`. The split is stratified (each
    part has the class proportions of the whole set) and fixed by ``seed``; the features are
    standardised with the mean and standard deviation of the *training* part only (features
    that are constant there, like the border pixels of the digits, are only centred), so no
    information from the validation or test examples leaks into training.

    Attributes: ``name``, ``num_features``, ``num_classes``, ``feature_names``, ``class_names``,
    ``sizes`` (``{'train': n, 'val': n, 'test': n}``), ``mean`` and ``scale`` (the training
    statistics, NumPy arrays), ``seed``, ``fractions``, ``dtype``.

    Get the tensors of a part with ``data.train``, ``data.val``, ``data.test`` (each a pair
    ``(X, y)``: ``X`` of shape ``(n, num_features)`` in ``dtype``, ``y`` int64 class indices)
    or ``data.split("val")``; DataLoaders with :meth:`loaders`::

        data = d2l.get_data_digits(seed=0)
        X, y = data.train                       # all training examples (for batched training)
        train_iter, val_iter, test_iter = data.loaders(batch_size=32)
    """

    def __init__(self, name: str, X: np.ndarray, y: np.ndarray, feature_names: list,
                 class_names: list, fractions: Tuple[float, float, float], seed: int,
                 standardize: bool, dtype: "torch.dtype"):
        self.name = name
        self.feature_names = list(feature_names)
        self.class_names = list(class_names)
        self.num_features = X.shape[1]
        self.num_classes = len(class_names)
        self.fractions = fractions
        self.seed = seed
        self.dtype = dtype
        index = dict(zip(SPLITS, _stratified_split(y, fractions, seed)))
        for part, idx in index.items():
            if part != "test" and len(np.unique(y[idx])) < self.num_classes:
                raise ValueError(
                    f"fractions={fractions!r} leave the {part} part of the {name} data with "
                    f"{len(idx)} examples, too few to hold each of its {self.num_classes} "
                    "classes; give that part a larger fraction"
                )
        self.index = index
        train = X[index["train"]]
        if standardize:
            self.mean = train.mean(axis=0)
            std = train.std(axis=0)
            self.scale = np.where(std > 0, std, 1.0)
        else:
            self.mean = np.zeros(X.shape[1])
            self.scale = np.ones(X.shape[1])
        self._X = (X - self.mean) / self.scale
        self._y = y

    @property
    def sizes(self) -> dict:
        return {part: len(idx) for part, idx in self.index.items()}

    def split(self, part: str = "train", dtype: object = None) -> Tuple["torch.Tensor", "torch.Tensor"]:
        """The tensors ``(X, y)`` of one part: ``'train'``, ``'val'`` or ``'test'``."""
        import torch  # noqa: PLC0415

        if not isinstance(part, str) or part not in SPLITS:
            raise ValueError(f"unknown split {part!r}; choose one of {', '.join(map(repr, SPLITS))}")
        dt = self.dtype if dtype is None else _torch_dtype(dtype)
        idx = self.index[part]
        return (torch.tensor(self._X[idx], dtype=dt), torch.tensor(self._y[idx], dtype=torch.int64))

    def __getitem__(self, part: str) -> Tuple["torch.Tensor", "torch.Tensor"]:
        return self.split(part)

    @property
    def train(self) -> Tuple["torch.Tensor", "torch.Tensor"]:
        return self.split("train")

    @property
    def val(self) -> Tuple["torch.Tensor", "torch.Tensor"]:
        return self.split("val")

    @property
    def test(self) -> Tuple["torch.Tensor", "torch.Tensor"]:
        return self.split("test")

    def loaders(self, batch_size: int) -> Tuple["DataLoader", "DataLoader", "DataLoader"]:
        """``(train_iter, val_iter, test_iter)``: DataLoaders in d2l's manner.

        The training loader shuffles (with a generator seeded by ``seed``, so a fresh set of
        loaders gives the same order); the validation and test loaders do not.
        """
        import torch  # noqa: PLC0415
        from torch.utils import data as tdata  # noqa: PLC0415

        batch_size = _check_positive_int("batch_size", batch_size)
        out = []
        for part in SPLITS:
            dataset = tdata.TensorDataset(*self.split(part))
            if part == "train":
                gen = torch.Generator().manual_seed(self.seed)
                out.append(tdata.DataLoader(dataset, batch_size, shuffle=True, generator=gen))
            else:
                out.append(tdata.DataLoader(dataset, batch_size, shuffle=False))
        return tuple(out)  # type: ignore[return-value]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k} {v}" for k, v in self.sizes.items())
        return (f"<{self.name}: {self.num_features} features, {self.num_classes} classes; "
                f"{sizes}; seed {self.seed}>")


def _get_data(name: str, fractions, seed, standardize, dtype) -> ClassificationData:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    fractions = _check_fractions(fractions)
    dt = _torch_dtype(dtype)
    X, y, features, classes = _bundled_arrays(name)
    return ClassificationData(name, X, y, features, classes, fractions, int(seed),
                              bool(standardize), dt)


def get_data_iris(fractions: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0, *,
                  standardize: bool = True, dtype: object = None) -> ClassificationData:
    """Fisher's Iris data (150 flowers, 4 measurements, 3 species), split and standardised.

    Returns a :class:`ClassificationData`: ``data.train``, ``data.val``, ``data.test`` are
    ``(X, y)`` tensors, ``data.loaders(batch_size)`` gives DataLoaders. ``fractions`` are the
    (train, validation, test) shares (stratified, fixed by ``seed``; the default gives 90/30/30
    examples); the features are standardised with the training part's statistics.
    ``dtype`` is ``torch.float32`` (default, as d2l) or ``torch.float64``. Bundled with
    scikit-learn: no download.
    """
    return _get_data("iris", fractions, seed, standardize, dtype)


def get_data_digits(fractions: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0, *,
                    standardize: bool = True, dtype: object = None) -> ClassificationData:
    """The UCI handwritten digits (1797 images of 8 x 8 pixels, 10 classes), split and scaled.

    Like :func:`get_data_iris`; the default split has 1079/359/359 examples. Each pixel
    (0 to 16) is standardised with the training part's mean and standard deviation.
    Bundled with scikit-learn: no download.
    """
    return _get_data("digits", fractions, seed, standardize, dtype)


def load_data_iris(batch_size: int = 16, fractions: Sequence[float] = (0.6, 0.2, 0.2),
                   seed: int = 0, *, standardize: bool = True, dtype: object = None
                   ) -> Tuple["DataLoader", "DataLoader", "DataLoader"]:
    """``(train_iter, val_iter, test_iter)`` over the Iris data, in d2l's manner.

    The same split and scaling as :func:`get_data_iris` (which also gives the raw tensors);
    the training loader shuffles, the others do not::

        train_iter, val_iter, test_iter = d2l.load_data_iris(batch_size=16)
    """
    batch_size = _check_positive_int("batch_size", batch_size)
    return get_data_iris(fractions, seed, standardize=standardize, dtype=dtype).loaders(batch_size)


def load_data_digits(batch_size: int = 32, fractions: Sequence[float] = (0.6, 0.2, 0.2),
                     seed: int = 0, *, standardize: bool = True, dtype: object = None
                     ) -> Tuple["DataLoader", "DataLoader", "DataLoader"]:
    """``(train_iter, val_iter, test_iter)`` over the digits data, in d2l's manner.

    The same split and scaling as :func:`get_data_digits` (which also gives the raw tensors).
    """
    batch_size = _check_positive_int("batch_size", batch_size)
    return get_data_digits(fractions, seed, standardize=standardize, dtype=dtype).loaders(batch_size)


# --------------------------------------------------------------------------------------------
# Fashion-MNIST, without torchvision

#: Where the four gzip IDX files come from, tried in order: Zalando's S3 mirror (the one
#: torchvision uses) and the files in the zalandoresearch/fashion-mnist repository.
FASHION_MNIST_MIRRORS: Tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
#: file name -> MD5 of the published file (Zalando's README; the same in torchvision).
FASHION_MNIST_FILES: Dict[str, str] = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
#: The subfolder of the data folder, as torchvision lays it out (``root/FashionMNIST/raw``).
FASHION_MNIST_SUBDIR = os.path.join("FashionMNIST", "raw")
ENV_FASHION_MNIST_URL = "D2LMINI_FASHION_MNIST_URL"  # a base URL that replaces the mirrors

_IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1 or 3 dimensions


def _fashion_mnist_file(fname: str, data_dir: Optional[PathLike]) -> Path:
    """A verified local copy of one of the four files, downloaded on first use."""
    expected = FASHION_MNIST_FILES[fname]
    folder = _resolve_dir(data_dir) / FASHION_MNIST_SUBDIR
    path = folder / fname
    mirrors = [_env(ENV_FASHION_MNIST_URL)] if _env(ENV_FASHION_MNIST_URL) else list(
        FASHION_MNIST_MIRRORS)
    mirrors = [m if m.endswith("/") else m + "/" for m in mirrors]
    if path.exists():
        _check_file(path, "md5", expected, mirrors[0] + fname)
        return path
    if data_dir is None:  # a copy that d2l (torchvision) already downloaded, used read-only
        theirs = Path(D2L_CACHE_DIR) / FASHION_MNIST_SUBDIR / fname
        try:
            if theirs.is_file() and _file_hash(theirs, "md5") == expected:
                return theirs
        except OSError:
            pass
    errors = []
    for i, base in enumerate(mirrors):
        try:
            return _retrieve(base + fname, folder, fname, "md5", expected,
                             what=f"Fashion-MNIST's {fname}")
        except DataDownloadError as error:
            errors.append(error)
            cause = error.__cause__
            broken = cause is not None and _describe_failure(cause).startswith(
                ("the downloaded file has the wrong", "the file could not be written"))
            if broken or i == len(mirrors) - 1:
                break  # a wrong file or a full disk is not fixed by another mirror
    if len(errors) == 1:
        raise errors[0]
    raise DataDownloadError("\n\n".join(str(e) for e in errors)) from errors[-1]


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse a gzip IDX file of unsigned bytes (``ndim`` 1 for labels, 3 for images)."""
    import gzip  # noqa: PLC0415

    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} is not a readable gzip file ({type(error).__name__}: {error}). "
                         f"Delete it so that d2lmini downloads it again.") from error
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is too short to be an IDX file. Delete it so that d2lmini "
                         f"downloads it again.")
    magic = int.from_bytes(raw[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise ValueError(f"{path} is not an IDX file of {ndim}-D unsigned bytes (magic number "
                         f"{magic:#010x}, expected {_IDX_MAGIC[ndim]:#010x}).")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    if len(raw) != header + int(np.prod(dims)):
        raise ValueError(f"{path} says it holds {dims} bytes of data but has "
                         f"{len(raw) - header}. Delete it so that d2lmini downloads it again.")
    # a writable copy (torch warns about tensors over read-only memory)
    return np.frombuffer(bytearray(raw), dtype=np.uint8, offset=header).reshape(dims)


def _read_fashion_mnist(train: bool, data_dir: Optional[PathLike]
                        ) -> Tuple[np.ndarray, np.ndarray]:
    prefix = "train" if train else "t10k"
    images = _read_idx(_fashion_mnist_file(f"{prefix}-images-idx3-ubyte.gz", data_dir), 3)
    labels = _read_idx(_fashion_mnist_file(f"{prefix}-labels-idx1-ubyte.gz", data_dir), 1)
    if len(images) != len(labels):
        raise ValueError(f"Fashion-MNIST's {prefix} files disagree: {len(images)} images but "
                         f"{len(labels)} labels.")
    return images, labels


def _check_resize(resize: object) -> Optional[Tuple[int, int]]:
    """torchvision's ``Resize(size)`` for square images: an int n gives n x n, (h, w) gives h x w."""
    if resize is None or resize is False or (isinstance(resize, (int, np.integer)) and resize == 0):
        return None  # d2l tests ``if resize:``
    message = (f"resize must be a positive int (the new side) or a pair (height, width) of "
               f"positive ints, got {resize!r}")
    if isinstance(resize, (list, tuple)):
        if len(resize) == 1:
            resize = resize[0]
        elif len(resize) != 2:
            raise ValueError(message)
    sizes = list(resize) if isinstance(resize, (list, tuple)) else [resize, resize]
    out = []
    for v in sizes:
        if isinstance(v, bool):
            raise TypeError(message)
        try:
            v = operator.index(v)
        except TypeError:
            raise TypeError(message) from None
        if v < 1:
            raise ValueError(message)
        out.append(v)
    return out[0], out[1]


class ImageDataset:
    """A map-style dataset of uint8 images, served like torchvision's Fashion-MNIST.

    Item ``i`` is ``(image, label)``: ``image`` a float32 tensor of shape ``(1, H, W)`` with
    values in [0, 1] (``ToTensor``: the bytes divided by 255), resized first when asked
    (bilinear with antialiasing, rounded back to bytes as ``Resize`` on a PIL image does);
    ``label`` a Python int. ``DataLoader`` fetches whole batches through ``__getitems__``.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray,
                 resize: Optional[Tuple[int, int]] = None) -> None:
        self.images = images
        self.labels = labels
        self.resize = resize

    def __len__(self) -> int:
        return len(self.labels)

    def _transform(self, images: np.ndarray) -> "torch.Tensor":
        import torch  # noqa: PLC0415

        x = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)  # (n, 1, 28, 28) uint8
        if self.resize is not None and tuple(x.shape[-2:]) != self.resize:
            x = torch.nn.functional.interpolate(x.to(torch.float32), size=self.resize,
                                                mode="bilinear", align_corners=False,
                                                antialias=True)
            x = x.round_().clamp_(0, 255).to(torch.uint8)
        return x.to(torch.get_default_dtype()).div(255)

    def __getitem__(self, index: int):
        n = len(self)
        i = operator.index(index)
        if not -n <= i < n:
            raise IndexError(f"index {index} is out of range for {n} images")
        i %= n
        return self._transform(self.images[i:i + 1])[0], int(self.labels[i])

    def __getitems__(self, indices: Sequence[int]) -> list:
        idx = np.asarray(indices, dtype=np.int64)
        images = self._transform(self.images[idx])
        return list(zip(images.unbind(0), self.labels[idx].tolist()))


def get_dataloader_workers() -> int:
    """The number of worker processes of the Fashion-MNIST loaders: d2l's 4, or fewer CPUs.

    d2l always uses 4; on a machine with fewer CPUs torch warns that 4 workers may run slowly
    or freeze, so d2lmini uses one per CPU there.
    """
    try:
        cpus = len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def load_data_fashion_mnist(batch_size: int, resize=None, *, data_dir: Optional[PathLike] = None
                            ) -> Tuple["DataLoader", "DataLoader"]:
    """d2l's ``load_data_fashion_mnist``: ``(train_iter, test_iter)`` over Fashion-MNIST.

    Without torchvision: the four gzip IDX files are downloaded with pooch (MD5-checked) into
    ``<data folder>/FashionMNIST/raw`` (torchvision's layout; the data folder as for the airfoil
    data, see :func:`download`) and parsed with NumPy. As in d2l, batches are float32 images of
    shape ``(batch, 1, 28, 28)`` scaled to [0, 1] (``(batch, 1, h, w)`` with ``resize``) and
    int64 labels; the training loader shuffles, the test loader does not; both use
    :func:`get_dataloader_workers` worker processes.
    """
    return _fashion_mnist_loaders(batch_size, resize, data_dir, None)


def _fashion_mnist_loaders(batch_size: int, resize, data_dir: Optional[PathLike],
                           workers: Optional[int]) -> Tuple["DataLoader", "DataLoader"]:
    from torch.utils import data as tdata  # noqa: PLC0415

    batch_size = _check_positive_int("batch_size", batch_size)
    size = _check_resize(resize)
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a path (str or os.PathLike) or None, got "
                        f"{type(data_dir).__name__}")
    train = ImageDataset(*_read_fashion_mnist(True, data_dir), resize=size)
    test = ImageDataset(*_read_fashion_mnist(False, data_dir), resize=size)
    workers = get_dataloader_workers() if workers is None else workers
    return (tdata.DataLoader(train, batch_size, shuffle=True, num_workers=workers),
            tdata.DataLoader(test, batch_size, shuffle=False, num_workers=workers))

"""The airfoil self-noise data: download, checksum, cache, and the d2l loaders.

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
* :func:`load_array` is d2l's ``load_array``.

Where the file lives (the first that applies):

1. the ``data_dir`` argument;
2. the environment variable ``D2LMINI_DATA_DIR``;
3. ``<repo>/data/cache`` when d2lmini runs from a source checkout (git-ignored);
4. otherwise the user cache folder ``pooch.os_cache("d2lmini")``.

A file already there is used only if its SHA-1 matches; d2lmini never deletes or overwrites it.
The environment variable ``D2LMINI_AIRFOIL_URL`` replaces the download URL (the tests use it to
point at a local server).

torch and pooch are imported inside the functions that need them, so ``import d2lmini.data`` is
cheap.
"""
from __future__ import annotations

import hashlib
import operator
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Tuple, Union

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


def _check_existing(path: Path) -> None:
    """Raise :class:`DataChecksumError` unless ``path`` is the airfoil file. Never deletes it."""
    if not path.is_file():
        raise DataChecksumError(f"{path} exists but is not a file. Remove it or choose another "
                                f"data folder (argument data_dir or ${ENV_DATA_DIR}).")
    found = _sha1(path)
    if found == AIRFOIL_SHA1:
        return
    hint = ""
    if found == _AIRFOIL_LF_SHA1:
        hint = ("\nThis is the copy with LF line endings (as in ShusenTang/Dive-into-DL-PyTorch). "
                "The numbers are the same, but d2l's checksum is that of the original file with "
                "CRLF (Windows) line endings, so it does not match.")
    raise DataChecksumError(
        f"The airfoil file {path} has the wrong SHA-1 checksum.\n"
        f"  found:    {found}\n"
        f"  expected: {AIRFOIL_SHA1}{hint}\n"
        f"It was left untouched. To fix it, delete that file so that d2lmini downloads it again, "
        f"or replace it with the original file (CRLF line endings, 59 984 bytes) downloaded in "
        f"binary mode from {AIRFOIL_URL} (do not open and re-save it in an editor)."
    )


def _advice(url: str, folder: Path) -> str:
    return (
        "What to do:\n"
        "  * connect to the internet and try again, or\n"
        f"  * download {url} by hand (binary mode, keep the CRLF line endings) and save it as "
        f"{folder / AIRFOIL_FILENAME}, or\n"
        f"  * set the environment variable {ENV_DATA_DIR} (or pass data_dir=) to a folder that "
        f"already has {AIRFOIL_FILENAME}."
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
        return ("the downloaded file has the wrong SHA-1 checksum, so it was corrupted on the way "
                f"or is not the expected file; pooch deleted it ({error})")
    if isinstance(error, OSError):
        return f"the file could not be written ({type(error).__name__}: {error})"
    return f"{type(error).__name__}: {error}"


def _prepare_folder(folder: Path, url: str) -> None:
    """Create ``folder`` if needed and check that it is writable, with a clear error if not."""
    fix = (f"Pass data_dir= or set the environment variable {ENV_DATA_DIR} to a folder you can "
           f"write to, or to one that already has {AIRFOIL_FILENAME} (from {url}).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataDownloadError(
            f"Cannot create the data folder {folder} ({type(error).__name__}: {error}). {fix}"
        ) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataDownloadError(f"Cannot write to the data folder {folder}. {fix}")


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
    _prepare_folder(folder, url)
    import pooch  # noqa: PLC0415

    try:
        fetched = pooch.retrieve(url, known_hash=f"sha1:{AIRFOIL_SHA1}", fname=AIRFOIL_FILENAME,
                                 path=folder, progressbar=False)
    except Exception as error:
        # pooch 1.9 streams into a temporary file in ``folder`` and removes it on any failure,
        # and moves it to ``path`` only after the checksum matched (tests/test_data.py checks
        # this). Guard the final name anyway; a correct file may come from a parallel download.
        if path.is_file() and _sha1(path) != AIRFOIL_SHA1:
            path.unlink()
        raise DataDownloadError(
            f"Could not download the airfoil data from {url} into {folder}: "
            f"{_describe_failure(error)}.\nNothing was saved in {folder}.\n{_advice(url, folder)}"
        ) from error
    return Path(fetched)


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

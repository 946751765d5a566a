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
    "ClassificationData",
    "SPLITS",
    "get_data_iris",
    "get_data_digits",
    "load_data_iris",
    "load_data_digits",
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

"""MNIST and Fashion-MNIST, offline first and never silently wrong.

:func:`load_mnist` returns ``(x_train, y_train), (x_test, y_test)`` exactly like
``keras.datasets.mnist.load_data()`` (uint8 images of shape ``(N, 28, 28)``, uint8 labels),
and says which source it used: a printed line, and the ``.source`` attribute of the result.

Sources are tried in this order; the first one that exists is used:

1. ``path=`` given by the caller: a Keras-style ``.npz`` or a folder holding the four
   original IDX files (``train-images-idx3-ubyte[.gz]`` ...).
2. Data folders: ``$COURSE_DATA_DIR``, then the repository's ``data/`` folder, then the Keras
   cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``), then, for Fashion-MNIST, the
   folder that Debian's ``dataset-fashion-mnist`` package installs.
3. A download through Keras (verified by Keras's checksum), when the network allows.
4. The embedded sample (MNIST only): 5,000 real MNIST digits shipped in
   ``data/mnist_sample.npz`` — 4,000 for training, 1,000 for testing.

A file that is found but is broken (truncated, corrupted, wrong checksum, wrong shapes) is an
error that names the file and the fix; it is never skipped in favour of the next source,
because a silent fallback would hide the problem behind rougher results.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
EMBEDDED_SAMPLE = REPO_DATA_DIR / "mnist_sample.npz"
EMBEDDED_SAMPLE_SHA256 = "e8c1f74d90bf751ff78fa43f8d05e5167fc3f366ea927d02c69925cd6fdffd93"
DATA_DIR_ENV = "COURSE_DATA_DIR"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# The SHA-256 that Keras itself checks for its mnist.npz download.
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

# Per dataset: file name of a Keras-style archive, and folder names that may hold IDX files
# (the Keras cache stores Fashion-MNIST as ``fashion-mnist/``).
DATASETS = {
    "mnist": {"npz": "mnist.npz", "idx_dirs": ("mnist",), "title": "MNIST"},
    "fashion_mnist": {
        "npz": "fashion_mnist.npz",
        "idx_dirs": ("fashion-mnist", "fashion_mnist"),
        "title": "Fashion-MNIST",
    },
}
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": [
        "T-shirt", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Boot",
    ],
}


class DataError(ValueError):
    """A data file is missing, broken or of the wrong kind; the message says how to fix it."""


@dataclass(frozen=True)
class DataSource:
    """Where a dataset came from. ``is_sample`` marks the 5,000-digit embedded subset."""

    dataset: str
    kind: str  # "path", "data folder", "keras cache", "debian package", "download", "embedded sample"
    location: str
    is_sample: bool = False

    def describe(self) -> str:
        title = DATASETS[self.dataset]["title"]
        text = f"{title} from {self.kind}: {self.location}"
        if self.is_sample:
            text += (
                " -- the embedded 5,000-digit sample (4,000 train / 1,000 test); results will be"
                " rougher than on the full 60,000 digits"
            )
        return text


class LoadedData(tuple):
    """``((x_train, y_train), (x_test, y_test))`` that also carries its :class:`DataSource`."""

    source: DataSource

    def __new__(cls, train, test, source: DataSource):
        obj = super().__new__(cls, (train, test))
        obj.source = source
        return obj


# --------------------------------------------------------------------------- readers


def _fix_hint(path: Path) -> str:
    if path.resolve() == EMBEDDED_SAMPLE.resolve():
        return "restore it with `git checkout -- data/mnist_sample.npz`"
    return "delete it and download it again, or pass another file with path="


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`DataError` if ``path`` does not have the expected SHA-256."""
    actual = _sha256(path)
    if actual != expected:
        raise DataError(
            f"{path} fails its SHA-256 check (expected {expected[:12]}..., got {actual[:12]}...):"
            f" the file is truncated or corrupted; {_fix_hint(path)}."
        )


def _check_arrays(arrays: dict[str, np.ndarray], origin: str) -> None:
    """The four arrays must look like ``keras.datasets.mnist.load_data()`` output."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{origin}: x_{split} has shape {x.shape}, expected (N, 28, 28).")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(
                f"{origin}: y_{split} has shape {y.shape}, expected ({len(x)},) to match x_{split}."
            )
        if x.dtype != np.uint8 or not np.issubdtype(y.dtype, np.integer):
            raise DataError(
                f"{origin}: expected uint8 images and integer labels, found {x.dtype} / {y.dtype}."
            )
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DataError(f"{origin}: y_{split} holds labels outside 0..9.")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read a Keras-style archive with ``x_train, y_train, x_test, y_test`` (no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist; check the path or pass path= to a folder or .npz.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in IDX_FILES if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path} lacks the arrays {missing}: a Keras-style archive holds x_train, "
                    f"y_train, x_test and y_test."
                )
            arrays = {key: archive[key] for key in IDX_FILES}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise DataError(
            f"{path} cannot be read as a .npz archive ({err}): it is truncated or corrupted; "
            f"{_fix_hint(path)}."
        ) from err
    arrays = {key: value.astype(np.uint8) if key.startswith("y") else value for key, value in arrays.items()}
    _check_arrays(arrays, str(path))
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) and check its header against its length."""
    path = Path(path)
    try:
        raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"{path} cannot be read ({err}): it is truncated or corrupted; {_fix_hint(path)}."
        ) from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise DataError(
            f"{path} is not an IDX file of unsigned bytes (bad magic number {raw[:4].hex()});"
            f" {_fix_hint(path)}."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its header; {_fix_hint(path)}.")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError(
            f"{path} holds {len(raw) - header:,} data bytes but its header announces {expected:,}"
            f" (shape {tuple(dims)}): the file is truncated or corrupted; {_fix_hint(path)}."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def has_idx_files(folder: Path) -> bool:
    """True when ``folder`` holds at least one of the four IDX files."""
    return folder.is_dir() and any(_idx_file(folder, stem) for stem in IDX_FILES.values())


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """Read the four original IDX files from ``folder``; name any that is missing."""
    folder = Path(folder)
    arrays = {}
    for key, stem in IDX_FILES.items():
        found = _idx_file(folder, stem)
        if found is None:
            raise DataError(
                f"{folder} lacks {stem}.gz (or {stem}): an IDX data folder needs all four files "
                f"{', '.join(s + '.gz' for s in IDX_FILES.values())}. Copy the missing one there."
            )
        arrays[key] = read_idx(found)
    _check_arrays(arrays, str(folder))
    return arrays


# --------------------------------------------------------------------------- sources


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise DataError(
            f"Unknown dataset {dataset!r}: choose one of {sorted(DATASETS)}"
            f" (set DATASET in the notebook's parameters cell)."
        )
    return dataset


def keras_cache_dir() -> Path:
    """Where ``keras.datasets`` keeps its downloads."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def data_folders(dataset: str) -> list[tuple[str, Path]]:
    """The folders searched in step 2, in order, with the kind printed for each."""
    folders: list[tuple[str, Path]] = []
    env_dir = os.environ.get(DATA_DIR_ENV)
    if env_dir:
        if not Path(env_dir).is_dir():
            raise DataError(
                f"{DATA_DIR_ENV}={env_dir!r} is not a folder: point it at a folder that holds "
                f"{DATASETS[dataset]['npz']} or the IDX files, or unset it."
            )
        folders.append((f"${DATA_DIR_ENV}", Path(env_dir)))
    folders.append(("the repository's data folder", REPO_DATA_DIR))
    folders.append(("the Keras cache", keras_cache_dir()))
    if dataset == "fashion_mnist":
        folders.append(("Debian's dataset-fashion-mnist", DEBIAN_FASHION_DIR))
    return folders


def _find_in_folder(dataset: str, folder: Path) -> dict[str, np.ndarray] | None:
    spec = DATASETS[dataset]
    npz = folder / spec["npz"]
    if npz.is_file():
        if spec["npz"] == "mnist.npz":
            verify_sha256(npz, KERAS_MNIST_SHA256)
        return {"arrays": read_npz(npz), "location": str(npz)}
    candidates = [folder / name for name in spec["idx_dirs"]]
    if folder == DEBIAN_FASHION_DIR:
        candidates = [folder]
    for candidate in candidates:
        if has_idx_files(candidate):
            return {"arrays": read_idx_folder(candidate), "location": str(candidate)}
    return None


DOWNLOAD_HOST = "storage.googleapis.com"  # where keras.datasets fetches MNIST and Fashion-MNIST


def network_reachable(host: str = DOWNLOAD_HOST, port: int = 443, timeout: float = 2.0) -> bool:
    """A quick TCP check, so that offline machines skip Keras's download (and its messages)."""
    import socket

    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def _download(dataset: str) -> tuple[dict[str, np.ndarray], str]:
    """Download through Keras (it verifies MNIST's checksum). Raises on any network failure."""
    if not network_reachable():
        raise ConnectionError(f"no network connection to {DOWNLOAD_HOST}")
    from .environment import quiet_tensorflow

    quiet_tensorflow()
    import keras

    loader = getattr(keras.datasets, dataset)
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    _check_arrays(arrays, f"keras.datasets.{dataset}")
    return arrays, f"keras.datasets.{dataset}.load_data() into {keras_cache_dir()}"


def load_embedded_sample() -> dict[str, np.ndarray]:
    """The shipped 5,000-digit MNIST subset, checked against its recorded SHA-256."""
    if not EMBEDDED_SAMPLE.is_file():
        raise DataError(
            f"{EMBEDDED_SAMPLE} is missing: restore it with `git checkout -- data/mnist_sample.npz`"
            f" or rebuild it with scripts/make_mnist_sample.py."
        )
    verify_sha256(EMBEDDED_SAMPLE, EMBEDDED_SAMPLE_SHA256)
    return read_npz(EMBEDDED_SAMPLE)


def load_mnist(
    dataset: str = "mnist",
    path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    verbose: bool = True,
) -> LoadedData:
    """Load ``dataset`` ("mnist" or "fashion_mnist") from the first source that has it.

    Returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays; the result's ``.source``
    (a :class:`DataSource`) says where they came from, and a line is printed unless
    ``verbose=False``. ``download=False`` skips the network step.
    """
    _check_dataset(dataset)
    arrays, source, notes = None, None, []
    if path is not None:
        path = Path(path)
        if path.is_dir():
            arrays = read_idx_folder(path)
        elif path.is_file():
            arrays = read_npz(path)
        else:
            raise DataError(f"path={str(path)!r} does not exist: give a .npz file or an IDX folder.")
        source = DataSource(dataset, "path", str(path))
    if arrays is None:
        for kind, folder in data_folders(dataset):
            found = _find_in_folder(dataset, folder)
            if found:
                arrays = found["arrays"]
                source = DataSource(dataset, kind, found["location"])
                break
    if arrays is None and download:
        try:
            arrays, location = _download(dataset)
            source = DataSource(dataset, "download", location)
        except DataError:
            raise
        except Exception as err:  # network failures come as several exception types
            notes.append(f"download skipped: {str(err).splitlines()[0][:100]}")
    if arrays is None and dataset == "mnist":
        arrays = load_embedded_sample()
        source = DataSource(dataset, "embedded sample", str(EMBEDDED_SAMPLE), is_sample=True)
    if arrays is None:
        searched = ", ".join(str(folder) for _, folder in data_folders(dataset))
        raise DataError(
            f"No {DATASETS[dataset]['title']} data found (searched {searched}"
            f"{'; ' + '; '.join(notes) if notes else ''}). Fix: run once with network access so "
            f"Keras downloads it, or `sudo apt-get install dataset-fashion-mnist`, or pass "
            f"path= to a .npz file or a folder with the four IDX files."
        )
    if verbose:
        print(f"Data: {source.describe()}" + (f" [{'; '.join(notes)}]" if notes else ""))
    return LoadedData(
        (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]), source
    )


# --------------------------------------------------------------------------- preprocessing


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.shape[-2:] != (28, 28) and images.shape[-1] != 784 and images.shape[-3:] != (28, 28, 1):
        raise ValueError(
            f"expected images of shape (N, 28, 28), (N, 28, 28, 1) or (N, 784), got {images.shape}"
        )
    return images


def scale_to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [0, 1] (VAEs: Bernoulli likelihood on intensities)."""
    return _check_images(images).astype(np.float32) / 255.0


def scale_to_symmetric(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [-1, 1] (GANs: matches the generator's tanh output)."""
    return (_check_images(images).astype(np.float32) - 127.5) / 127.5


def flatten(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28[, 1]) -> (N, 784), for the MLP models."""
    images = _check_images(images)
    return images.reshape(len(images), 784)


def as_image_batch(images: np.ndarray) -> np.ndarray:
    """(N, 784) or (N, 28, 28) -> (N, 28, 28, 1), for convolutional models."""
    images = _check_images(images)
    return images.reshape(len(images), 28, 28, 1)


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Integer labels -> float32 one-hot rows; labels outside 0..num_classes-1 are an error."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"one_hot expects a 1-D integer array, got {labels.dtype} {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, found {labels.min()}..{labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A reproducible random subset of ``n`` examples (all of them when ``n`` is None)."""
    if n is None or n >= len(x):
        return x, y
    idx = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return x[idx], y[idx]

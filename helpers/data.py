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

import errno
import gzip
import hashlib
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COURSE_HOME_ENV = "COURSE_HOME"


class DataError(ValueError):
    """A data file is missing, broken or of the wrong kind; the message says how to fix it."""


def find_course_root() -> Path | None:
    """The clone of the course repository whose ``data/`` this package uses, or None.

    In a clone (``make setup`` installs ``helpers`` in editable mode) that is the folder above
    the package. A non-editable install (``pip install .``, or from git) has no ``data/`` beside
    it, so then: ``$COURSE_HOME``, or the current directory or one of its parents holding
    ``data/weights/registry.json`` (a notebook's kernel starts in ``notebooks/``).
    """
    home = os.environ.get(COURSE_HOME_ENV)
    if home:  # explicit: used only if it is a clone (otherwise every use names it and says why)
        root = Path(home).expanduser().resolve()
        return root if (root / "data" / "weights" / "registry.json").is_file() else None
    package_parent = Path(__file__).resolve().parents[1]
    if (package_parent / "data" / "weights").is_dir():
        return package_parent
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "data" / "weights" / "registry.json").is_file():
            return folder
    return None


def course_files_missing_message(what: str) -> str:
    """Why ``what`` (a shipped file) cannot be found outside a clone, and the fix."""
    home = os.environ.get(COURSE_HOME_ENV)
    if home:
        return (f"{what} not found: {COURSE_HOME_ENV}={home!r} is not a clone of the course repository "
                f"(it lacks {Path(home) / 'data' / 'weights' / 'registry.json'}). Point {COURSE_HOME_ENV} at "
                f"your clone, or unset it.")
    return (f"{what} not found: helpers is installed at {Path(__file__).resolve().parent} without the course's "
            f"data/ folder. The package is meant to be used from a clone of the repository: "
            f"`git clone https://github.com/genmodels-course/genmodels-course course && cd course && make setup`, "
            f"then run from there "
            f"(or set {COURSE_HOME_ENV}=/path/to/your/clone).")


COURSE_ROOT = find_course_root()
REPO_DATA_DIR: Path | None = COURSE_ROOT / "data" if COURSE_ROOT else None
EMBEDDED_SAMPLE: Path | None = REPO_DATA_DIR / "mnist_sample.npz" if REPO_DATA_DIR else None
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

# The largest IDX file accepted: full MNIST's training images are 47 MB; anything announcing more
# than this is a corrupted header (or not MNIST), refused before a byte is allocated.
MAX_IDX_BYTES = 256 * 1024 * 1024
# deflate cannot compress better than about 1032:1, so a .gz file cannot inflate to more than this
# many times its own size (plus its headers): a header announcing more is refused before reading.
MAX_DEFLATE_RATIO = 1032


def _fix_hint(path: Path) -> str:
    # os.path.realpath, unlike Path.resolve, does not raise on a link loop
    if EMBEDDED_SAMPLE is not None and os.path.realpath(path) == os.path.realpath(EMBEDDED_SAMPLE):
        return "restore it with `git checkout -- data/mnist_sample.npz`"
    return "delete it and download it again, or pass another file with path="


def check_regular_file(path: Path) -> Path:
    """``path`` must be a readable regular file: a dangling link, a link loop, a folder or an
    unreadable file is a :class:`DataError` naming it (never a reason to try the next source)."""
    path = Path(path)
    try:
        info = path.stat()  # follows links: a dangling link or a loop raises here
    except OSError as err:
        problem = "a symbolic link that loops" if getattr(err, "errno", None) == errno.ELOOP else (
            "a dangling symbolic link" if path.is_symlink() else f"not readable ({err.strerror})")
        raise DataError(f"{path} is {problem}; fix or remove it ({_fix_hint(path)}).") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise DataError(f"{path} is {kind}, not a data file; remove or rename it ({_fix_hint(path)}).")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path} is not readable (permission denied); fix its permissions (chmod a+r) or remove it.")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise DataError(f"{path} cannot be read ({err.strerror or err}); {_fix_hint(path)}.") from err
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`DataError` if ``path`` does not have the expected SHA-256."""
    actual = _sha256(path)
    if actual != expected:
        raise DataError(
            f"{path} fails its SHA-256 check (expected {expected[:12]}..., got {actual[:12]}...):"
            f" the file is truncated or corrupted; {_fix_hint(path)}."
        )


def _check_labels(y: np.ndarray, name: str, origin: str) -> None:
    """Labels must be integers 0..9, checked in their stored dtype before any cast: a cast to
    uint8 first would turn 256 into 0 and -253 into 3, and 3.7 into 3, NaN into 0."""
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(
            f"{origin}: {name} holds {y.dtype} labels; labels must be integers 0..9 (float labels such as 3.7 "
            f"or NaN are refused, not rounded). Save them as integers (e.g. uint8)."
        )
    low, high = int(y.min()), int(y.max())
    if low < 0 or high > 9:
        bad = y[(y < 0) | (y > 9)]
        raise DataError(
            f"{origin}: {name} holds labels outside 0..9 (range {low}..{high}, e.g. {int(bad[0])}; "
            f"{len(bad):,} such labels). MNIST labels are the digits 0..9: check the file."
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
        if len(x) == 0:
            raise DataError(f"{origin}: x_{split} and y_{split} are empty (0 images); the file holds no {split} data.")
        if x.dtype != np.uint8:
            raise DataError(f"{origin}: expected uint8 images, found x_{split} of dtype {x.dtype}.")
        _check_labels(y, f"y_{split}", origin)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read a Keras-style archive with ``x_train, y_train, x_test, y_test`` (no pickles)."""
    path = Path(path)
    if not os.path.lexists(path):
        raise DataError(f"{path} does not exist; check the path or pass path= to a folder or .npz.")
    check_regular_file(path)
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
    _check_arrays(arrays, str(path))  # before the cast: a cast would hide labels like 256 or 3.7
    return {key: value.astype(np.uint8) if key.startswith("y") else value for key, value in arrays.items()}


def _read_exactly(handle, count: int, path: Path) -> bytes:
    try:
        return handle.read(count)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"{path} cannot be read ({err}): it is truncated or corrupted; {_fix_hint(path)}."
        ) from err


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not), its header checked before anything is allocated.

    The shape the header announces must be plausible (at most ``MAX_IDX_BYTES``), fit the file's
    real size (for a .gz file: what deflate can produce from it), and a .gz stream is inflated
    only up to the announced size plus one byte, so a small file that inflates to gigabytes
    is refused after reading no more than it promised.
    """
    path = check_regular_file(path)
    gzipped = path.suffix == ".gz"
    file_size = path.stat().st_size
    try:
        handle = gzip.open(path, "rb") if gzipped else open(path, "rb")
    except OSError as err:
        raise DataError(f"{path} cannot be opened ({err}); {_fix_hint(path)}.") from err
    with handle:
        magic = _read_exactly(handle, 4, path)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08 or magic[3] not in (1, 3):
            raise DataError(
                f"{path} is not an IDX file of unsigned bytes (bad magic number {magic.hex()});"
                f" {_fix_hint(path)}."
            )
        ndim = magic[3]
        header = 4 + 4 * ndim
        raw_dims = _read_exactly(handle, 4 * ndim, path)
        if len(raw_dims) < 4 * ndim:
            raise DataError(f"{path} is truncated inside its header; {_fix_hint(path)}.")
        dims = tuple(int.from_bytes(raw_dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
        announced = 1
        for dim in dims:  # Python integers: no overflow, unlike np.prod on uint32 dimensions
            announced *= dim
        if announced > MAX_IDX_BYTES:
            raise DataError(
                f"{path}: its header announces shape {dims}, {announced:,} bytes, more than any MNIST file "
                f"({MAX_IDX_BYTES:,} at most): the header is corrupted or this is not MNIST; {_fix_hint(path)}."
            )
        if gzipped and announced > MAX_DEFLATE_RATIO * file_size:
            raise DataError(
                f"{path}: its header announces shape {dims}, {announced:,} bytes, more than a {file_size:,}-byte "
                f"gzip file can hold: the file is truncated or corrupted; {_fix_hint(path)}."
            )
        if not gzipped and file_size != header + announced:
            raise DataError(
                f"{path} holds {file_size - header:,} data bytes but its header announces {announced:,}"
                f" (shape {dims}): the file is truncated or corrupted; {_fix_hint(path)}."
            )
        body = _read_exactly(handle, announced + 1, path)  # one byte more tells a too-long stream
    if len(body) > announced:
        raise DataError(
            f"{path} holds more data than the {announced:,} bytes its header announces (shape {dims}); reading "
            f"stopped there: the file is corrupted or not an MNIST file; {_fix_hint(path)}."
        )
    if len(body) < announced:
        raise DataError(
            f"{path} holds {len(body):,} data bytes but its header announces {announced:,}"
            f" (shape {dims}): the file is truncated or corrupted; {_fix_hint(path)}."
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _exists(path: Path) -> bool:
    """True for anything with this name, broken links included (they must be reported, not skipped)."""
    return os.path.lexists(path)


def _idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if _exists(folder / name):
            return folder / name
    return None


def _is_folder(path: Path) -> bool:
    """True for a usable folder, False when nothing is there; anything else there is an error."""
    if not _exists(path):
        return False
    try:
        if path.is_dir():
            return True
    except OSError:  # a link loop
        pass
    if path.is_symlink() and not path.exists():
        raise DataError(f"{path} is a dangling symbolic link (or a link loop); fix or remove it.")
    raise DataError(f"{path} is a file where a data folder is expected; remove or rename it.")


def has_idx_files(folder: Path) -> bool:
    """True when ``folder`` holds at least one of the four IDX files (broken ones included)."""
    return _is_folder(folder) and any(_idx_file(folder, stem) for stem in IDX_FILES.values())


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
    """The folders searched in step 2, in order, with the kind printed for each.

    The repository's ``data/`` folder is left out when ``helpers`` runs outside a clone
    (see :func:`find_course_root`); the embedded sample then says how to get one.
    """
    folders: list[tuple[str, Path]] = []
    env_dir = os.environ.get(DATA_DIR_ENV)
    if env_dir:
        if not Path(env_dir).is_dir():
            raise DataError(
                f"{DATA_DIR_ENV}={env_dir!r} is not a folder: point it at a folder that holds "
                f"{DATASETS[dataset]['npz']} or the IDX files, or unset it."
            )
        folders.append((f"${DATA_DIR_ENV}", Path(env_dir)))
    if REPO_DATA_DIR is not None:
        folders.append(("the repository's data folder", REPO_DATA_DIR))
    folders.append(("the Keras cache", keras_cache_dir()))
    if dataset == "fashion_mnist":
        folders.append(("Debian's dataset-fashion-mnist", DEBIAN_FASHION_DIR))
    return folders


def _locate_in_folder(dataset: str, folder: Path) -> Path | None:
    """Where ``folder`` holds the dataset (its ``.npz``, or a folder of IDX files), without reading it."""
    if not _is_folder(folder):
        return None
    spec = DATASETS[dataset]
    npz = folder / spec["npz"]
    if _exists(npz):
        return npz
    candidates = [folder] if folder == DEBIAN_FASHION_DIR else [folder / name for name in spec["idx_dirs"]]
    return next((candidate for candidate in candidates if has_idx_files(candidate)), None)


def _find_in_folder(dataset: str, folder: Path) -> dict[str, np.ndarray] | None:
    """The dataset from ``folder``, None when nothing of it is there; anything broken is an error."""
    found = _locate_in_folder(dataset, folder)
    if found is None:
        return None
    if found.suffix == ".npz":
        check_regular_file(found)
        if found.name == "mnist.npz":
            verify_sha256(found, KERAS_MNIST_SHA256)
        return {"arrays": read_npz(found), "location": str(found)}
    return {"arrays": read_idx_folder(found), "location": str(found)}


def available_offline(dataset: str) -> bool:
    """Whether ``load_mnist(dataset)`` finds the full dataset in a searched folder (no reading, no download):
    the exercises, tests and benchmarks that need Fashion-MNIST ask this before they start. A broken file
    counts as there: loading it then raises the error that names it."""
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}: use one of {', '.join(map(repr, DATASETS))}")
    return any(_locate_in_folder(dataset, folder) is not None for _, folder in data_folders(dataset))


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
    if EMBEDDED_SAMPLE is None:
        raise DataError(course_files_missing_message("The embedded MNIST sample (data/mnist_sample.npz)"))
    if not _exists(EMBEDDED_SAMPLE):
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
        elif _exists(path):
            check_regular_file(path)  # a dangling link, a loop, a socket: raises with the reason
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
    """uint8 0..255 -> float32 in [0, 1] (VAEs: Bernoulli likelihood on intensities).

    Scaled in place on the one float32 copy: 60,000 digits are 188 MB, and every temporary counts
    on a 2 GiB Binder."""
    scaled = _check_images(images).astype(np.float32)
    scaled /= 255.0
    return scaled


def scale_to_symmetric(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [-1, 1] (GANs: matches the generator's tanh output); in place, as above."""
    scaled = _check_images(images).astype(np.float32)
    scaled -= 127.5
    scaled /= 127.5
    return scaled


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


def hold_out(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray],
                                                                            tuple[np.ndarray, np.ndarray]]:
    """Split ``n`` random examples off for early stopping: ``(x_keep, y_keep), (x_held, y_held)``.

    The kept examples stay in their original order; with ``n = 0`` they are ``x`` and ``y`` unchanged (so a run
    without early stopping trains on exactly the same arrays). Notebooks 04 and 05 hold out a tenth.
    """
    if not 0 <= n < len(x) or len(x) != len(y):
        raise ValueError(f"cannot hold out {n} of {len(x)} examples ({len(y)} labels): need 0 <= n < {len(x)}")
    order = np.random.default_rng(seed).permutation(len(x))
    held, keep = order[:n], np.sort(order[n:])
    return (x[keep], y[keep]), (x[held], y[held])


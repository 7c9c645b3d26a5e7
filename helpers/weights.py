"""Shipped pretrained weights: one call to load them, a registry that says how they were made.

Each entry of ``data/weights/registry.json`` names a ``.keras`` file (architecture and weights,
no optimizer, no ``Lambda`` layers, so it loads with Keras's safe mode), its SHA-256, the data it
was trained on and how (epochs, seconds, the command that regenerates it). Notebooks build
their model in the open, then call :func:`load_into` to fill it; the comparison notebook and
the tests use :func:`load_model`, which needs no notebook code.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; parallel saves are then the user's care
    fcntl = None

from .data import DataError, verify_sha256
from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "data" / "weights"
REGISTRY_NAME = "registry.json"


class WeightsError(DataError):
    """Pretrained weights are missing, corrupted, or do not fit the model; the message says what to do."""


def _registry_path() -> Path:
    return WEIGHTS_DIR / REGISTRY_NAME


def registry() -> dict[str, dict]:
    """All shipped entries (an empty dict when nothing is shipped yet)."""
    path = _registry_path()
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise WeightsError(f"{path} is not valid JSON ({err}); restore it with `git checkout -- {path}`.") from err


def entry(name: str, dataset: str = "mnist") -> dict:
    """The registry entry ``name``, checked: it exists, its file is intact, and it fits ``dataset``."""
    entries = registry()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise WeightsError(
            f"No pretrained weights named {name!r} (shipped: {known}). Set the notebook's WEIGHTS = 'train', "
            f"or create them with `python scripts/train_pretrained.py`."
        )
    info = entries[name]
    if info["dataset"] != dataset:
        raise WeightsError(
            f"Pretrained {name!r} was trained on {info['dataset']}, not {dataset}: set WEIGHTS = 'train' "
            f"to train on {dataset}."
        )
    path = WEIGHTS_DIR / info["file"]
    if not path.is_file():
        raise WeightsError(f"{path} is missing: restore it with `git checkout -- {path}`.")
    try:
        verify_sha256(path, info["sha256"])
    except DataError as err:
        raise WeightsError(f"{err} Restore it with `git checkout -- {path}`.") from None
    return {**info, "path": path}


def describe(info: dict) -> str:
    return (f"{info['name']}: {info['epochs']} epochs on {info['dataset']} ({info['data_source']}), "
            f"{info['train_seconds']:.0f} s of training on {info['machine']}, saved {info['created']}")


def _import_custom_layers(path: Path) -> None:
    """Import the ``helpers`` modules whose registered layers (e.g. a VAE's ``Sampling``) the
    saved model uses, so it loads without the notebook that defined it. Only modules of this
    package are imported; anything else in the file's config is left to Keras's safe mode."""
    import importlib
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode("utf-8")
    for module in sorted(set(re.findall(r'"module": "(helpers\.[a-z_]+)"', config))):
        importlib.import_module(module)


def load_model(name: str, dataset: str = "mnist", verbose: bool = True) -> keras.Model:
    """The shipped model ``name`` (architecture + weights), loaded in Keras's safe mode."""
    info = entry(name, dataset)
    _import_custom_layers(info["path"])
    model = keras.saving.load_model(info["path"], compile=False, safe_mode=True)
    if verbose:
        print("Loaded pretrained " + describe(info))
    return model


def load_into(model: keras.Model, name: str, dataset: str = "mnist", verbose: bool = True) -> dict:
    """Fill ``model`` (built by the notebook) with the shipped weights ``name``.

    A model whose architecture differs from the shipped one is an error, not a partial load.
    """
    info = entry(name, dataset)
    try:
        model.load_weights(info["path"])
    except (ValueError, KeyError) as err:
        raise WeightsError(
            f"The shipped weights {name!r} do not fit this model ({str(err).splitlines()[0][:200]}). "
            f"Did the architecture change? Set WEIGHTS = 'train', or regenerate them with "
            f"`python scripts/train_pretrained.py`."
        ) from err
    if verbose:
        print("Loaded pretrained " + describe(info))
    return info


def save_pretrained(model: keras.Model, name: str, *, dataset: str, data_source: str, epochs: int,
                    train_seconds: float, command: str, **extra) -> Path:
    """Save ``model`` as ``data/weights/<name>.keras`` and record it in the registry."""
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    path = WEIGHTS_DIR / f"{name}.keras"
    if getattr(model, "optimizer", None) is not None:
        # ship what inference needs: a compiled model would also save its optimizer slots (2-3x the size)
        # (keras.models.clone_model would compile the copy again, so rebuild it from its config)
        inference_copy = type(model).from_config(model.get_config())
        inference_copy.set_weights(model.get_weights())
        model = inference_copy
    model.save(path)
    with _registry_lock():
        _record(name, path, model, dataset, data_source, epochs, train_seconds, command, extra)
    print(f"Saved {path} ({path.stat().st_size / 1e6:.1f} MB) and its registry entry.")
    return path


@contextlib.contextmanager
def _registry_lock():
    """Two training runs saving at once must not drop each other's registry entries."""
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(WEIGHTS_DIR / ".registry.lock", "w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _record(name, path, model, dataset, data_source, epochs, train_seconds, command, extra) -> None:
    import hashlib
    import platform

    entries = registry()
    entries[name] = {
        "name": name,
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
        "parameters": int(model.count_params()),
        "dataset": dataset,
        "data_source": data_source,
        "epochs": int(epochs),
        "train_seconds": round(float(train_seconds), 1),
        "machine": f"{platform.machine()} {os.cpu_count()}-core CPU" + extra.pop("accelerator", ""),
        "created": _dt.date.today().isoformat(),
        "command": command,
        **extra,
    }
    tmp = _registry_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(entries.items())), indent=2) + "\n")
    tmp.replace(_registry_path())

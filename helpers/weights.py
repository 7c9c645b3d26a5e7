"""Shipped pretrained weights: one call to load them, a registry that says how they were made.

Each entry of ``data/weights/registry.json`` names a ``.keras`` file (architecture and weights,
no optimizer, no ``Lambda`` layers, so it loads with Keras's safe mode), its SHA-256, the data it
was trained on and how (epochs, seconds, the command that regenerates it), and what the model
must look like: its parameter count, input and output shapes and latent size. Notebooks build
their model in the open, then call :func:`load_into` to fill it; the comparison notebook and
the tests use :func:`load_model`, which needs no notebook code.

Nothing in the registry is trusted blindly: its schema is checked on every load (a hand edit
gives an error naming the entry and the restore command), names and files must stay inside
``data/weights/``, every file is checked against its SHA-256, and every loaded model against
its entry's shapes; :func:`load_into` sets every weight of the model from the file or none.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import hashlib
import io
import json
import os
import re
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; parallel saves are then the user's care
    fcntl = None

from . import data as _data
from .data import DataError, verify_sha256
from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402

# None outside a clone of the course (a non-editable install): then every use says how to get one.
WEIGHTS_DIR: Path | None = _data.REPO_DATA_DIR / "weights" if _data.REPO_DATA_DIR is not None else None
REGISTRY_NAME = "registry.json"
RESTORE_REGISTRY = "git checkout -- data/weights/registry.json"
NAME_PATTERN = re.compile(r"[a-z0-9_]+")  # registry names become file names: nothing that can leave the folder
FILE_PATTERN = re.compile(r"[a-z0-9_]+\.keras")

_NUMBER = (int, float)
# Every entry has these keys, of these types (``None`` in a tuple: null allowed). Shapes are lists of
# lists, one per model input/output, with null for the batch dimension.
REQUIRED_FIELDS: dict[str, type | tuple] = {
    "name": str, "file": str, "sha256": str, "bytes": int, "parameters": int,
    "input_shapes": list, "output_shapes": list, "latent_dim": (int, type(None)),
    "dataset": str, "data_source": str, "epochs": int, "train_seconds": _NUMBER,
    "machine": str, "created": str, "command": str,
}
OPTIONAL_FIELDS: dict[str, type | tuple] = {
    "ms_per_step": _NUMBER, "train_size": int, "batch_size": int, "test_accuracy": _NUMBER, "test_size": int,
}
SIGNATURE_FIELDS = ("parameters", "input_shapes", "output_shapes", "latent_dim")


class WeightsError(DataError):
    """Pretrained weights are missing, corrupted, or do not fit the model; the message says what to do."""


def _weights_dir() -> Path:
    if WEIGHTS_DIR is None:
        raise WeightsError(_data.course_files_missing_message("The pretrained weights (data/weights/registry.json)"))
    return WEIGHTS_DIR


def _registry_path() -> Path:
    return _weights_dir() / REGISTRY_NAME


# --------------------------------------------------------------------------- the registry and its schema


def _schema_error(key, problem: str) -> WeightsError:
    where = f"entry {key!r}" if key is not None else "the top level"
    return WeightsError(
        f"{_registry_path()}: {where} {problem}. The registry is edited only by save_pretrained; "
        f"restore the shipped one with `{RESTORE_REGISTRY}`."
    )


def _type_ok(value, expected) -> bool:
    expected = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):  # JSON true/false are Python ints: never a count or a size
        return bool in expected
    return isinstance(value, expected)


def _type_name(expected) -> str:
    expected = expected if isinstance(expected, tuple) else (expected,)
    names = {str: "a string", int: "an integer", float: "a number", list: "a list", type(None): "null"}
    return " or ".join(dict.fromkeys(names[t] for t in expected))


def _check_shapes(key, field: str, shapes) -> None:
    for shape in shapes:
        if not isinstance(shape, list) or not all(d is None or (_type_ok(d, int) and d > 0) for d in shape):
            raise _schema_error(key, f"has {field} {shapes!r}: expected a list of shapes such as [[null, 784]]")


def _check_file_name(key, file) -> None:
    """Lexical check (the filesystem check, for links, is in :func:`_resolve_inside`)."""
    if os.path.isabs(file):
        raise _schema_error(key, f"names an absolute path {file!r}; files must lie in data/weights/")
    if "/" in file or "\\" in file or ".." in file:
        raise _schema_error(key, f"names {file!r}, outside data/weights/; files must lie in data/weights/")
    if not FILE_PATTERN.fullmatch(file):
        raise _schema_error(key, f"names the file {file!r}: expected <name>.keras with a-z, 0-9 and _")


def validate_entry(key, info) -> None:
    """Raise :class:`WeightsError` naming ``key`` when ``info`` is not a well-formed registry entry."""
    if not isinstance(key, str) or not NAME_PATTERN.fullmatch(key):
        raise _schema_error(key, "is not a valid name (lowercase letters, digits and _ only)")
    if not isinstance(info, dict):
        raise _schema_error(key, f"is {type(info).__name__} {info!r:.60}, not an object of fields")
    missing = [field for field in REQUIRED_FIELDS if field not in info]
    if missing:
        raise _schema_error(key, f"lacks the field(s) {', '.join(missing)}")
    for field, expected in {**REQUIRED_FIELDS, **OPTIONAL_FIELDS}.items():
        if field in info and not _type_ok(info[field], expected):
            raise _schema_error(key, f"has {field} = {info[field]!r:.60}, expected {_type_name(expected)}")
    if info["name"] != key:
        raise _schema_error(key, f"has name {info['name']!r}; an entry's name must equal its key")
    if not re.fullmatch(r"[0-9a-f]{64}", info["sha256"]):
        raise _schema_error(key, f"has sha256 {info['sha256']!r:.80}, expected 64 lowercase hex digits")
    if info["dataset"] not in _data.DATASETS:
        raise _schema_error(key, f"has dataset {info['dataset']!r}, expected one of {sorted(_data.DATASETS)}")
    _check_file_name(key, info["file"])
    for field in ("input_shapes", "output_shapes"):
        _check_shapes(key, field, info[field])
    for field in ("parameters", "bytes", "epochs"):
        if info[field] < 0:
            raise _schema_error(key, f"has {field} = {info[field]}, expected a count >= 0")


def registry() -> dict[str, dict]:
    """All shipped entries, each checked against the schema (a missing registry is an error)."""
    path = _registry_path()
    if not os.path.lexists(path):
        raise WeightsError(
            f"{path} is missing: restore it with `{RESTORE_REGISTRY}`. (To start a registry of your own, "
            f"save the first model with save_pretrained(..., create_registry=True).)"
        )
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise WeightsError(f"{path} is not valid JSON ({err}); restore it with `{RESTORE_REGISTRY}`.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise WeightsError(f"{path} cannot be read ({err}); restore it with `{RESTORE_REGISTRY}`.") from err
    if not isinstance(entries, dict):
        raise _schema_error(None, f"is {json.dumps(entries)[:40]}, not an object of entries {{name: {{...}}}}")
    for key, info in entries.items():
        validate_entry(key, info)
    return entries


def _resolve_inside(file_name: str, key: str) -> Path:
    """``data/weights/<file_name>``, refused if it (or a link on the way) leads outside the folder."""
    folder = _weights_dir().resolve()
    path = _weights_dir() / file_name
    target = Path(os.path.realpath(path))
    if target.parent != folder:
        raise WeightsError(
            f"{path} (registry entry {key!r}) resolves to {target}, outside {folder}: shipped files must lie in "
            f"data/weights/ itself. Remove the link and restore the file with `git checkout -- data/weights/`."
        )
    return path


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
    path = _resolve_inside(info["file"], name)
    if not path.is_file():
        raise WeightsError(f"{path} is missing: restore it with `git checkout -- {path}`.")
    try:
        verify_sha256(path, info["sha256"])
    except DataError as err:
        raise WeightsError(f"{err} Restore it with `git checkout -- {path}`.") from None
    return {**info, "path": path}


def describe(info: dict) -> str:
    """One line for the notebook: what was loaded and how it was trained. The machine and the training seconds stay
    in the registry (and benchmarks/): a student's notebook says nothing about the machine it was made on."""
    return (f"{info['name']}: {info['epochs']} epochs on {info['dataset']} ({info['data_source']}), "
            f"saved {info['created']}")


# --------------------------------------------------------------------------- what a model must look like


def _shapes(tensors) -> list[list[int | None]]:
    return [[None if d is None else int(d) for d in tensor.shape] for tensor in tensors]


def _latent_dim(model: keras.Model) -> int | None:
    """A VAE's latent size is its decoder's (first) input; a generator's is its noise input.
    Models that are neither (the judge classifier) have none."""
    decoder = next((layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name == "decoder"),
                   None)
    if decoder is not None:
        return int(decoder.inputs[0].shape[-1])
    image_shapes = ([None, 784], [None, 28, 28], [None, 28, 28, 1])
    inputs, outputs = _shapes(model.inputs), _shapes(model.outputs)
    if len(outputs) == 1 and outputs[0] in image_shapes and len(inputs[0]) == 2 and inputs[0] not in image_shapes:
        return inputs[0][-1]
    return None


def model_signature(model: keras.Model) -> dict:
    """What the registry records about a model's shape: parameters, input/output shapes, latent size."""
    if not getattr(model, "inputs", None):
        raise WeightsError(
            f"Model {model.name!r} has no symbolic inputs (a subclassed or unbuilt model): only functional or "
            f"Sequential models built with keras.Input can be shipped and checked."
        )
    return {"parameters": int(model.count_params()), "input_shapes": _shapes(model.inputs),
            "output_shapes": _shapes(model.outputs), "latent_dim": _latent_dim(model)}


def _signature_differences(signature: dict, info: dict) -> list[str]:
    labels = {"parameters": "parameters", "input_shapes": "inputs", "output_shapes": "outputs",
              "latent_dim": "latent size"}
    return [f"{labels[field]} {signature[field]} (entry says {info[field]})"
            for field in SIGNATURE_FIELDS if signature[field] != info[field]]


def _same_file_elsewhere(info: dict) -> str:
    others = [key for key, other in registry().items() if other["sha256"] == info["sha256"] and key != info["name"]]
    return f" This file is the one registered as {', '.join(map(repr, others))}." if others else ""


def check_model(model: keras.Model, info: dict) -> None:
    """The model loaded from ``info['file']`` must look like its entry says, or it is the wrong model."""
    differences = _signature_differences(model_signature(model), info)
    if differences:
        raise WeightsError(
            f"{info['path']} holds a model that does not match registry entry {info['name']!r} in "
            f"{_registry_path()}: {'; '.join(differences)}.{_same_file_elsewhere(info)} Restore both with "
            f"`git checkout -- data/weights/`, or regenerate the entry with `{info['command']}`."
        )


# --------------------------------------------------------------------------- loading


def _import_custom_layers(path: Path) -> None:
    """Import the ``helpers`` modules whose registered layers (e.g. a VAE's ``Sampling``) the
    saved model uses, so it loads without the notebook that defined it. Only modules of this
    package are imported; anything else in the file's config is left to Keras's safe mode."""
    import importlib
    import zipfile

    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode("utf-8")
    for module in sorted(set(re.findall(r'"module": "(helpers\.[a-z_]+)"', config))):
        importlib.import_module(module)


# Config keys that a newer Keras writes and an older one (down to the floor in pyproject.toml) rejects
# as unexpected keyword arguments, with the value that means "the old behaviour". Keras 3.15 saves
# ``input_axes``/``output_axes`` in every initializer and ``renorm*`` in BatchNormalization; Keras 3.13
# (Colab's) knows neither. A key at its default is dropped before deserializing, so the same file
# builds the same model on both; a key set to anything else would change the model, so it stays and
# the load fails with a message that names it.
NEWER_KERAS_DEFAULTS: dict[str, object] = {
    "input_axes": None, "output_axes": None,
    "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
}


def _read_config(path: Path) -> dict:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def portable_config(config):
    """``config`` without the keys of :data:`NEWER_KERAS_DEFAULTS` that sit at their defaults
    (harmless on a Keras that knows them: the default is what it would use anyway)."""
    if isinstance(config, dict):
        return {key: portable_config(value) for key, value in config.items()
                if not (key in NEWER_KERAS_DEFAULTS and value == NEWER_KERAS_DEFAULTS[key])}
    if isinstance(config, list):
        return [portable_config(value) for value in config]
    return config


def load_model(name: str, dataset: str = "mnist", verbose: bool = True) -> keras.Model:
    """The shipped model ``name`` (architecture + weights), built in Keras's safe mode from the
    file's config (made portable to older Keras, see :data:`NEWER_KERAS_DEFAULTS`), filled with
    every weight of the file, and checked against its registry entry (parameters, shapes, latent size)."""
    info = entry(name, dataset)
    _import_custom_layers(info["path"])
    config = portable_config(_read_config(info["path"]))
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except TypeError as err:
        raise WeightsError(
            f"Keras {keras.__version__} cannot build the shipped model {name!r} from {info['path'].name}: "
            f"{str(err).splitlines()[0][:300]}. The file was saved by a newer Keras with a setting this one "
            f"lacks; upgrade Keras (pip install -U keras) or set WEIGHTS = 'train'."
        ) from err
    load_all_weights(model, info["path"], name)
    check_model(model, info)
    if verbose:
        print("Loaded pretrained " + describe(info))
    return model


def _file_weights(path: Path) -> list[tuple[str, object]]:
    """Every weight array stored in a ``.keras`` file, as (its path in the file, the array)."""
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        stored = io.BytesIO(archive.read("model.weights.h5"))
    arrays = []
    with h5py.File(stored, "r") as h5:
        h5.visititems(lambda key, item: arrays.append((key, item[()])) if isinstance(item, h5py.Dataset) else None)
    return arrays


def _fingerprint(array) -> tuple:
    import numpy as np

    array = np.ascontiguousarray(array)
    return tuple(array.shape), hashlib.sha1(array.tobytes()).hexdigest()


def load_all_weights(model: keras.Model, path: Path, name: str) -> None:
    """Set every weight of ``model`` from ``path``, using every weight in the file, or refuse.

    Keras's ``load_weights`` silently ignores weights in the file that the model lacks (a model
    with a layer missing loads "fine"); here the file's arrays and the model's weights must
    match one to one by shape before loading, and by value after it.
    """
    stored = _file_weights(path)
    stored_shapes = collections.Counter(tuple(array.shape) for _, array in stored)
    model_shapes = collections.Counter(tuple(weight.shape) for weight in model.weights)
    if stored_shapes != model_shapes:
        only_file = sorted((stored_shapes - model_shapes).elements())
        only_model = sorted((model_shapes - stored_shapes).elements())
        raise WeightsError(
            f"The shipped weights {name!r} ({path.name}: {len(stored)} arrays) do not fit this model "
            f"({len(model.weights)} weights); loading would be partial. Only in the file: {only_file or 'none'}; "
            f"only in the model: {only_model or 'none'}. Did the architecture change? Set WEIGHTS = 'train', "
            f"or regenerate them with `python scripts/train_pretrained.py`."
        )
    try:
        model.load_weights(path)
    except (ValueError, KeyError) as err:
        raise WeightsError(
            f"The shipped weights {name!r} do not fit this model ({str(err).splitlines()[0][:200]}). "
            f"Did the architecture change? Set WEIGHTS = 'train', or regenerate them with "
            f"`python scripts/train_pretrained.py`."
        ) from err
    unset = collections.Counter(_fingerprint(w.numpy()) for w in model.weights)
    unset.subtract(_fingerprint(array) for _, array in stored)
    if any(count != 0 for count in unset.values()):
        not_set = [w.path for w in model.weights if unset.get(_fingerprint(w.numpy()), 0) > 0]
        raise WeightsError(
            f"The shipped weights {name!r} were loaded only partly: the model's {', '.join(not_set[:5])} "
            f"were not set from {path.name} (its layers are matched to the file's by structure). Rebuild the "
            f"model exactly as the notebook does, or set WEIGHTS = 'train'."
        )


def load_into(model: keras.Model, name: str, dataset: str = "mnist", verbose: bool = True) -> dict:
    """Fill ``model`` (built by the notebook) with the shipped weights ``name``.

    A model whose architecture differs from the registered one (parameters, shapes, latent
    size) is an error, and so is a partial load: every weight of the model is set from the
    file and every weight in the file is used, or the call fails.
    """
    info = entry(name, dataset)
    differences = _signature_differences(model_signature(model), info)
    if differences:
        raise WeightsError(
            f"The shipped weights {name!r} do not fit this model: {'; '.join(differences)}. Did the architecture "
            f"change? Set WEIGHTS = 'train', or regenerate them with `{info['command']}`."
        )
    stored_parameters = sum(int(array.size) for _, array in _file_weights(info["path"]))
    if stored_parameters != info["parameters"]:
        raise WeightsError(
            f"{info['path']} holds {stored_parameters:,} parameters but registry entry {name!r} in "
            f"{_registry_path()} says {info['parameters']:,}.{_same_file_elsewhere(info)} Restore both with "
            f"`git checkout -- data/weights/`."
        )
    load_all_weights(model, info["path"], name)
    if verbose:
        print("Loaded pretrained " + describe(info))
    return info


# --------------------------------------------------------------------------- saving


def _check_name(name) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise WeightsError(
            f"{name!r} is not a valid name for shipped weights: use lowercase letters, digits and _ only "
            f"(e.g. 'vae_2d'); the file is saved as data/weights/<name>.keras."
        )
    return name


def save_pretrained(model: keras.Model, name: str, *, dataset: str, data_source: str, epochs: int,
                    train_seconds: float, command: str, create_registry: bool = False, **extra) -> Path:
    """Save ``model`` as ``data/weights/<name>.keras`` and record it (with its shape) in the registry.

    The registry must exist (a deleted one is restored with git, not silently replaced by a
    registry of one entry); ``create_registry=True`` starts a new one when there is none.
    """
    _check_name(name)
    reserved = set(REQUIRED_FIELDS) - {"latent_dim"}
    clashing = sorted(reserved & set(extra))
    if clashing:
        raise WeightsError(f"save_pretrained computes {', '.join(clashing)} itself: do not pass them.")
    signature = model_signature(model)
    if "latent_dim" in extra and extra.pop("latent_dim") != signature["latent_dim"]:
        raise WeightsError(f"save_pretrained({name!r}): latent_dim given does not match the model's "
                           f"{signature['latent_dim']} (its decoder or noise input).")
    folder = _weights_dir()
    if create_registry:
        folder.mkdir(parents=True, exist_ok=True)
    elif not os.path.lexists(_registry_path()):
        registry()  # raises: names the missing file and the restore command
    path = _resolve_inside(f"{name}.keras", name)
    if getattr(model, "optimizer", None) is not None:
        # ship what inference needs: a compiled model would also save its optimizer slots (2-3x the size)
        # (keras.models.clone_model would compile the copy again, so rebuild it from its config)
        inference_copy = type(model).from_config(model.get_config())
        inference_copy.set_weights(model.get_weights())
        model = inference_copy
    with _registry_lock():
        entries = registry() if os.path.lexists(_registry_path()) else {}
        partial = folder / f".{name}.partial.keras"  # renamed into place: a killed save leaves no torn file
        model.save(partial)
        os.replace(partial, path)
        _record(entries, name, path, signature, dataset, data_source, epochs, train_seconds, command, extra)
    print(f"Saved {path} ({path.stat().st_size / 1e6:.1f} MB) and its registry entry.")
    return path


@contextlib.contextmanager
def _registry_lock():
    """Two training runs saving at once must not drop each other's registry entries."""
    with open(_weights_dir() / ".registry.lock", "w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _record(entries, name, path, signature, dataset, data_source, epochs, train_seconds, command, extra) -> None:
    import platform

    entries[name] = {
        "name": name,
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
        **signature,
        "dataset": dataset,
        "data_source": data_source,
        "epochs": int(epochs),
        "train_seconds": round(float(train_seconds), 1),
        "machine": f"{platform.machine()} {os.cpu_count()}-core CPU" + extra.pop("accelerator", ""),
        "created": _dt.date.today().isoformat(),
        "command": command,
        **extra,
    }
    validate_entry(name, entries[name])
    tmp = _registry_path().with_suffix(".tmp")
    tmp.write_text(registry_json(entries))
    tmp.replace(_registry_path())


def registry_json(entries: dict) -> str:
    """The registry's text: sorted entries, two-space indents, each shape on one line."""
    text = json.dumps(dict(sorted(entries.items())), indent=2) + "\n"
    flat_list = re.compile(r"\[\s*((?:null|-?\d+)(?:,\s*(?:null|-?\d+))*)\s*\]")
    text = flat_list.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    list_of_lists = re.compile(r"\[\s*(\[[^\[\]]*\](?:,\s*\[[^\[\]]*\])*)\s*\]")
    return list_of_lists.sub(lambda m: "[" + ", ".join(re.findall(r"\[[^\[\]]*\]", m.group(1))) + "]", text)

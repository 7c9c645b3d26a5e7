"""The training loop the notebooks share: they write the training *step* (the teaching
point); this module runs it over epochs with the machinery around it.

- shuffled batches gathered from numpy arrays by a shuffled index (no copy of the data);
- a one-line progress display per epoch, a live loss curve and sample grid every few epochs;
- a sample history from a fixed input (e.g. fixed noise) for the progression figure;
- checks before the first epoch (budget, batch size vs data, a writable runs folder with room);
- a stop with :class:`NonFiniteLossError` the moment a loss turns NaN/inf;
- crash-safe checkpoints of every model and optimizer (:class:`Checkpointer`), one folder per
  *run identity*, resumed automatically when the very same run is started again, and saved when
  the run is interrupted (KeyboardInterrupt keeps what was learned; re-running continues).

The step is any callable ``step(*batch) -> {"loss name": scalar}``, usually a
``tf.function``. The loop works the same for GANs (two losses) and VAEs (three).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import inspect
import io
import json
import math
import os
import re
import shutil
import sys
import textwrap
import time
import types
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from .environment import quiet_tensorflow

try:  # advisory locks; the course runs on Linux and macOS (on Windows runs are simply not locked)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import data, plotting  # noqa: E402

# The course folder (a clone, or $COURSE_HOME for an installed package); the package's parent otherwise.
REPO_ROOT = data.COURSE_ROOT or Path(__file__).resolve().parents[1]
RUNS_DIR_ENV = "COURSE_RUNS_DIR"
KEEP_CHECKPOINTS = 2  # the newest and the one before it, so a torn newest one can fall back


def runs_dir() -> Path:
    """Where training runs keep checkpoints: ``$COURSE_RUNS_DIR`` or ``<repo>/runs``."""
    return Path(os.environ.get(RUNS_DIR_ENV) or REPO_ROOT / "runs")


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite: training stopped, bad weights were not saved."""

    def __init__(self, message: str, loss_name: str, step: int, value: float):
        super().__init__(message)
        self.loss_name, self.step, self.value = loss_name, step, value


class RunInUseError(RuntimeError):
    """Another process (or another training call in this kernel) is training the same run."""


class RunsFolderError(OSError):
    """The runs folder cannot hold a checkpoint (not writable, not a folder, or full).

    Raised during training (a checkpoint that could not be written), it carries ``history``: the
    :class:`History` of the epochs that ran (the models keep their weights in memory too)."""

    history: History | None = None


_RUNS_FOLDER_FIX = (f"set ${RUNS_DIR_ENV} to a writable folder with free space (e.g. "
                    f"`export {RUNS_DIR_ENV}=~/course-runs` before starting Jupyter, or os.environ in the first cell), "
                    "or free some space")


# --------------------------------------------------------------------------- budget checks


def _positive_int(value, what: str, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} = {value!r} must be a whole number; {fix}")
    if value <= 0:
        raise ValueError(f"{what} = {value} must be positive; {fix}")
    return int(value)


def _check_batches_fit(n_examples: int, batch_size) -> int:
    """At least one full batch of data: ``TRAIN_SIZE`` selected some images and ``BATCH_SIZE`` fits in them."""
    if n_examples <= 0:
        raise ValueError("there are no training examples: TRAIN_SIZE selected none. "
                         "Set TRAIN_SIZE = None (every image) or a positive number.")
    batch_size = _positive_int(batch_size, "BATCH_SIZE", "e.g. BATCH_SIZE = 128")
    if batch_size > n_examples:
        raise ValueError(f"BATCH_SIZE = {batch_size} is larger than the {n_examples} training examples: "
                         "lower BATCH_SIZE or raise TRAIN_SIZE.")
    return batch_size


def _check_same_length(arrays: tuple[np.ndarray, ...]) -> int:
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"all training arrays need the same length, got {[len(a) for a in arrays]}")
    return n


def plan_epochs(train_steps: int, n_examples: int, batch_size: int) -> tuple[int, int]:
    """``(epochs, steps_per_epoch)`` for a budget of ``train_steps`` steps over ``n_examples``.

    The notebooks state their budget in steps (comparable whatever the data size) and train
    whole epochs: the number of epochs is the budget rounded to whole epochs, at least one.
    Every bad value is an error naming the notebook parameter, never a silent default.
    """
    train_steps = _positive_int(train_steps, "TRAIN_STEPS", "set the training budget to e.g. TRAIN_STEPS = 1000")
    batch_size = _check_batches_fit(n_examples, batch_size)
    steps_per_epoch = n_examples // batch_size
    return max(1, round(train_steps / steps_per_epoch)), steps_per_epoch


def _check_training_inputs(arrays: tuple[np.ndarray, ...], epochs, batch_size, sample_every) -> None:
    n = _check_same_length(arrays)
    _positive_int(epochs, "epochs (the notebook's EPOCHS, or TRAIN_STEPS through plan_epochs)",
                  "set a positive training budget")
    _check_batches_fit(n, batch_size)
    _positive_int(sample_every, "sample_every (the notebook's SAMPLE_EVERY)", "e.g. SAMPLE_EVERY = 1")


# --------------------------------------------------------------------------- run identity

_NOT_SIMPLE = object()


def _simple(value):
    """JSON-able value of a simple constant (the kind a notebook sets as a setting), else _NOT_SIMPLE."""
    if isinstance(value, (bool, int, float, str, type(None), np.integer, np.floating, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, tuple):
        items = [_simple(v) for v in value]
        return _NOT_SIMPLE if any(v is _NOT_SIMPLE for v in items) else items
    return _NOT_SIMPLE


def _unwrap(fn):
    """The Python function behind a tf.function, bound method, partial or decorator."""
    for _ in range(8):
        inner = getattr(fn, "python_function", None)
        if inner is None:
            inner = getattr(fn, "__func__", None)
        if inner is None and isinstance(fn, functools.partial):
            inner = fn.func
        if inner is None:
            inner = getattr(fn, "__wrapped__", None)
        if inner is None:
            return fn
        fn = inner
    return fn


_LIBRARY_PREFIXES = tuple({os.path.join(p, "lib") for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)})


def _is_user_function(value) -> bool:
    """A function written in a notebook or in this repository (not TensorFlow, Keras, the stdlib)."""
    fn = _unwrap(value)
    if not isinstance(fn, types.FunctionType):
        return False
    filename = fn.__code__.co_filename
    library = ("site-packages" in filename or "dist-packages" in filename or filename.startswith("<frozen")
               or filename.startswith(_LIBRARY_PREFIXES))
    return not library


def _names_used(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def _bytecode_digest(code: types.CodeType) -> str:
    digest = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        digest.update((_bytecode_digest(const) if isinstance(const, types.CodeType) else repr(const)).encode())
    return digest.hexdigest()


def _source_digest(fn: types.FunctionType) -> str:
    """Hash of the function's source as a syntax tree (comments and spacing do not count)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return "no source, bytecode " + _bytecode_digest(fn.__code__)[:16]
    try:
        normalized = ast.dump(ast.parse(textwrap.dedent(source)))
    except SyntaxError:  # e.g. a lambda in the middle of a line
        normalized = source
    return hashlib.sha256(normalized.encode()).hexdigest()[:16]


def describe_step(step: Callable, max_depth: int = 3) -> dict:
    """What the training step's code contributes to a run's identity.

    The source of ``step`` (for a ``tf.function``, of its Python function) and, down to
    ``max_depth`` levels, of the notebook/repository functions it uses through globals or its
    closure (a loss helper, a ``make_*_step`` factory's inner function); the values of the simple
    constants it reads (``BETA = 50``, ``LATENT_DIM``; int/float/str/bool/None/tuple); the config of
    Keras loss objects it calls. Models and optimizers it reads are described by the Checkpointer.
    """
    code: dict[str, str] = {}
    constants: dict[str, object] = {}
    loss_objects: dict[str, dict] = {}
    seen: set[int] = set()

    def visit(value, depth: int) -> None:
        fn = _unwrap(value)
        if not isinstance(fn, types.FunctionType):
            code[f"<callable {type(fn).__qualname__}>"] = "no source"
            return
        if id(fn) in seen:
            return
        seen.add(id(fn))
        name = fn.__qualname__
        code[name] = _source_digest(fn)
        if depth >= max_depth:
            return
        scope = {n: fn.__globals__[n] for n in _names_used(fn.__code__) if n in fn.__globals__}
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            with contextlib.suppress(ValueError):  # an empty cell: the variable is not bound yet
                scope[var] = cell.cell_contents
        for i, default in enumerate(fn.__defaults__ or ()):
            scope[f"<default {i}>"] = default
        for var, val in sorted(scope.items()):
            simple = _simple(val)
            if simple is not _NOT_SIMPLE:
                constants[f"{name}.{var}"] = simple
            elif isinstance(val, keras.losses.Loss):
                config = dict(val.get_config())
                config.pop("name", None)
                loss_objects[f"{name}.{var}"] = {"class": type(val).__name__, **config}
            elif _is_user_function(val):
                visit(val, depth + 1)

    visit(step, 0)
    return {"function": getattr(_unwrap(step), "__qualname__", type(step).__qualname__),
            "code": code, "constants": constants, "loss_objects": loss_objects}


def _canonical_layer_names(obj, config):
    """Replace Keras's auto-numbered layer names (``dense_7``) by their position, so building the
    same model twice in one kernel gives the same architecture description."""
    flatten = getattr(obj, "_flatten_layers", None)
    layers = list(flatten(include_self=True, recursive=True)) if flatten else [obj]
    mapping = {}
    for layer in layers:
        mapping.setdefault(layer.name, f"<layer {len(mapping)}>")

    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return mapping.get(node, node) if isinstance(node, str) else node

    return walk(config)


def _describe_trackable(obj) -> dict:
    if isinstance(obj, keras.layers.Layer):
        shapes = ["x".join(str(d) for d in w.shape) or "scalar" for w in obj.weights]
        try:
            config = _canonical_layer_names(obj, json.loads(obj.to_json() if hasattr(obj, "to_json")
                                                            else json.dumps(obj.get_config(), default=str)))
            config_digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
        except Exception as error:  # noqa: BLE001 - a subclassed model without get_config: shapes still count
            config_digest = f"unavailable ({type(error).__name__})"
        return {"class": type(obj).__name__, "parameters": int(sum(int(np.prod(w.shape)) for w in obj.weights)),
                "weight_shapes": shapes, "config_sha256": config_digest}
    if isinstance(obj, keras.optimizers.Optimizer):
        config = json.loads(json.dumps(obj.get_config(), default=str))
        config.pop("name", None)  # auto-numbered (adam, adam_1, ...): not a setting
        return {"class": type(obj).__name__, **config}
    if isinstance(obj, tf.Variable):
        return {"class": "Variable", "shape": list(obj.shape), "dtype": obj.dtype.name}
    if isinstance(obj, EarlyStopping):
        return {"class": "EarlyStopping", "patience": obj.patience, "weights": len(obj.best)}
    return {"class": type(obj).__name__}


def _data_fingerprint(arrays) -> list[dict]:
    """Shape, dtype and a hash of ~512 evenly spaced rows of each training array (cheap, and a
    different data set or subset gives a different identity)."""
    described = []
    for a in arrays:
        a = np.asarray(a)
        stride = max(1, len(a) // 512)
        digest = hashlib.sha256(np.ascontiguousarray(a[::stride]).tobytes()).hexdigest()[:16]
        described.append({"shape": list(a.shape), "dtype": a.dtype.name, "sample_sha256": digest})
    return described


def _variables(obj) -> list:
    if isinstance(obj, tf.Variable):
        return [obj]
    return list(getattr(obj, "variables", []) or [])


# --------------------------------------------------------------------------- crash-safe files


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary name, fsync, rename: a crash leaves the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class _TornCheckpoint(Exception):
    """A checkpoint that cannot be used as a whole (missing, empty, truncated or inconsistent file)."""


_CHECKPOINT_FILE = re.compile(r"^(history-\d+\.json|samples-\d+\.npz|manifest\.json|\..*\.tmp-\d+)$")
_TF_FILE = re.compile(r"^ckpt-(\d+)(\.index|\.data-\d+-of-\d+|_temp.*)$")


@dataclass
class History:
    """What a training run leaves behind, also what a checkpoint restores."""

    epoch_losses: dict[str, list[float]] = field(default_factory=dict)
    step_losses: dict[str, list[float]] = field(default_factory=dict)
    sample_epochs: list[int] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list)  # float32 images, one array per snapshot
    epochs_done: int = 0
    seconds: float = 0.0  # all training time, including the first call that traces the step
    steps_done: int = 0
    interrupted: bool = False
    steady_seconds: float = 0.0  # time of every step but the first of each train() call (tracing)
    steady_steps: int = 0
    validation: list[float] = field(default_factory=list)  # the early-stopping score after each epoch
    stopped_early: bool = False

    @property
    def seconds_per_step(self) -> float:
        """Steady-state time per step: the first call of a ``tf.function`` traces and compiles it,
        which would make short runs look ten times slower than they are."""
        if self.steady_steps:
            return self.steady_seconds / self.steady_steps
        return self.seconds / max(self.steps_done, 1)

    def to_json(self) -> dict:
        return {
            "epoch_losses": self.epoch_losses,
            "step_losses": self.step_losses,
            "sample_epochs": self.sample_epochs,
            "epochs_done": self.epochs_done,
            "seconds": self.seconds,
            "steps_done": self.steps_done,
            "steady_seconds": self.steady_seconds,
            "steady_steps": self.steady_steps,
            "validation": self.validation,
            "stopped_early": self.stopped_early,
        }

    @property
    def best_epoch(self) -> int | None:
        """The epoch with the lowest early-stopping score (1-based), None without one."""
        return int(np.argmin(self.validation)) + 1 if self.validation else None


class EarlyStopping(tf.Module):
    """Stop training when a held-out score stops improving, and give the models its best epoch's weights.

    ``score()`` runs after every epoch and returns one number, lower is better (notebook 04: the negative
    ELBO of digits held out from training). When it has not improved on its best for ``patience`` epochs,
    :func:`train` stops; at the end of training the models get the weights of the best epoch back, so what
    the notebook shows and saves is the model that generalised best, not the last one. Why: a VAE trained
    long enough on 4,000 digits keeps improving on them while its held-out ELBO gets worse (overfitting).

    The best weights are variables of this object: pass it to the :class:`Checkpointer` beside the models
    (``early_stopping=stopper``; ``None`` is left out, so one call serves runs with and without early stopping)
    so a resumed run keeps them; its ``patience`` is part of the run identity.
    """

    def __init__(self, score: Callable[[], float], *, patience: int, models: Sequence, name: str = "early_stopping"):
        super().__init__(name=name)
        self.patience = _positive_int(patience, "patience", "give the number of epochs without improvement to allow")
        self._score = score  # a plain function: not tracked
        self._targets = [w for model in models for w in model.weights]
        if not self._targets:
            raise ValueError("EarlyStopping needs the models whose best weights it keeps (models=[encoder, decoder])")
        self.best = [tf.Variable(np.asarray(w), trainable=False, name=f"best_{i}") for i, w in enumerate(self._targets)]

    def score(self) -> float:
        value = float(self._score())
        if not math.isfinite(value):
            raise NonFiniteLossError(f"the early-stopping score is {value}", "early-stopping score", -1, value)
        return value

    def keep(self) -> None:
        """Remember the models' current weights as the best."""
        for best, weight in zip(self.best, self._targets):
            best.assign(np.asarray(weight))

    def restore_best(self) -> None:
        """Give the models the remembered best weights."""
        for best, weight in zip(self.best, self._targets):
            weight.assign(best.numpy())


class Checkpointer:
    """Saves and restores the models, optimizers and :class:`History` of one training run.

    ``directory`` is the notebook's runs folder (e.g. ``runs_dir() / "01_gan_mnist"``); each
    *run identity* gets its own subfolder there, ``checkpoint.directory`` (named by a short
    settings summary and an 8-hex hash, with an ``identity.json`` to read). The identity is
    everything that changes what a run learns:

    - ``config``: the settings dict the notebook passes;
    - each Keras model's architecture (its config with auto-numbered layer names normalized,
      and its weight shapes) and each optimizer's config (learning rate, betas...);
    - the training step's code (:func:`describe_step`: its source and that of the notebook
      functions it calls, the simple global constants it reads such as ``BETA``, its loss
      objects' configs) — bound by :func:`train`, or given here as ``step=``;
    - the budget and data: epochs, batch size, shuffling seed, the training arrays' shapes and
      a fingerprint of their rows (bound by :func:`train`).

    The same identity resumes its run; any other identity trains in a fresh folder, and the
    earlier runs stay where they are (one line names them): settings A -> B -> A resumes A.
    Runs are never deleted or overwritten; what the identity does *not* see (e.g. a changed
    helper in a library, data changed in rows the fingerprint skips) still resumes.

    Each checkpoint (kept: the newest two) is a TF checkpoint ``tf/ckpt-N``, ``history-N.json``
    and ``samples-N.npz`` (N = steps done), each written to a temporary name, fsynced and
    renamed, then ``manifest.json`` names them — written last, so a crash at any moment leaves
    the previous complete checkpoint. :meth:`restore` checks every named file and that the
    weights' step counter equals the history's; a torn newest checkpoint falls back to the one
    before, and files it cannot use are moved to a ``set-aside-<time>`` subfolder (never deleted).
    While training, the run folder is locked (``fcntl.flock``): a second kernel training the same
    run gets :class:`RunInUseError` naming the folder and the process holding it.
    """

    def __init__(self, directory: str | os.PathLike, config: Mapping | None = None, *,
                 step: Callable | None = None, **trackables):
        trackables = {name: obj for name, obj in trackables.items() if obj is not None}  # e.g. early_stopping=None
        if not trackables:
            raise ValueError("Checkpointer needs the models/optimizers to save, e.g. generator=g, g_opt=opt")
        self.root = Path(directory)
        self.config = json.loads(json.dumps(dict(config or {}), default=str))
        self.trackables = trackables
        self._steps_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="course_steps_done")
        self.checkpoint = tf.train.Checkpoint(**trackables, course_steps_done=self._steps_counter)
        self._step = step
        self._budget: dict = {}
        self._data: list | None = None
        self._identity: dict | None = None
        self._lock_fd: int | None = None

    # ---- identity -------------------------------------------------------------------------
    def bind(self, step: Callable | None = None, *, epochs: int | None = None, batch_size: int | None = None,
             arrays: tuple[np.ndarray, ...] | None = None, seed: int | None = None) -> None:
        """Tell the checkpointer what else defines the run (``train`` calls this before restoring)."""
        if step is not None:
            self._step = step
        budget = {"epochs": epochs, "batch_size": batch_size, "seed": seed}
        self._budget.update({k: v for k, v in budget.items() if v is not None})
        if arrays is not None:
            self._data = _data_fingerprint(arrays)
        self._identity = None

    @property
    def identity(self) -> dict:
        """The run's identity (see the class docstring); what ``identity.json`` holds."""
        if self._identity is None:
            self._identity = {
                "settings": self.config,
                "models": {name: _describe_trackable(obj) for name, obj in self.trackables.items()},
                "step": describe_step(self._step) if self._step is not None else None,
                "budget": dict(sorted(self._budget.items())),
                "data": self._data,
            }
        return self._identity

    @property
    def identity_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.identity, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def directory(self) -> Path:
        """This run's folder: ``<root>/<settings summary>-<hash8>`` (exists once training started)."""
        parts = [f"epochs={self._budget['epochs']}"] if "epochs" in self._budget else []
        parts += [f"{k}={v}" for k, v in self.config.items() if _simple(v) is not _NOT_SIMPLE]
        summary = ""
        for part in parts:
            part = re.sub(r"[^A-Za-z0-9.=+-]", "_", part)
            if len(summary) + len(part) > 80:
                break
            summary = f"{summary},{part}" if summary else part
        return self.root / f"{summary or 'run'}-{self.identity_hash[:8]}"

    # ---- locking --------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self):
        """Hold the run folder's advisory lock (re-entrant within this Checkpointer)."""
        if self._lock_fd is not None or fcntl is None:
            yield
            return
        run = self.directory
        run.mkdir(parents=True, exist_ok=True)
        fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            who = ("this same kernel (another train() call is still running)" if holder == str(os.getpid())
                   else f"process {holder}")
            raise RunInUseError(
                f"The training run in {run} is in use by {who}. Two kernels training the same run would "
                "overwrite each other's checkpoints: stop the other kernel (Kernel > Shut Down) or wait for it "
                "to finish, then run this cell again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        try:
            yield
        finally:
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ---- checks ---------------------------------------------------------------------------
    def checkpoint_bytes(self) -> int:
        """What one checkpoint writes, estimated before the first step: every variable (weights, the optimizers'
        state) plus, for an optimizer that has not made its slots yet, two per trainable weight (Adam's moments:
        the most any optimizer here keeps), the history and the samples (a few KiB)."""
        def nbytes(variables) -> int:
            return sum(int(np.prod(v.shape)) * np.dtype(str(getattr(v.dtype, "name", v.dtype))).itemsize
                       for v in variables)

        total = sum(nbytes(_variables(obj)) for obj in self.trackables.values())
        models = [obj for obj in self.trackables.values() if isinstance(obj, keras.Model)]
        for obj in self.trackables.values():
            if isinstance(obj, keras.optimizers.Optimizer) and not getattr(obj, "built", True):
                total += 2 * nbytes(v for model in models for v in model.trainable_variables) // max(
                    1, sum(isinstance(o, keras.optimizers.Optimizer) for o in self.trackables.values()))
        return total + 2**16

    def check_room(self) -> None:
        """Before training: the runs folder exists or can be made, is writable, and has room for what the
        checkpoints of a run occupy at their peak: during a save the two kept ones and the new one exist at once
        (:meth:`checkpoint_bytes` each), less what this run's earlier checkpoints already hold; plus 1 MiB."""
        fix = _RUNS_FOLDER_FIX
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunsFolderError(f"Cannot create the runs folder {self.root} ({error}); {fix}.") from error
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise RunsFolderError(f"The runs folder {self.root} is not writable; {fix}.")
        probe = self.root / f".write-probe-{os.getpid()}"
        try:
            _atomic_write(probe, b"x" * 4096)
            probe.unlink()
        except OSError as error:
            raise RunsFolderError(f"Cannot write into the runs folder {self.root} ({error}); {fix}.") from error
        one = self.checkpoint_bytes()
        run = self.directory if self._budget else None
        held = sum(f.stat().st_size for f in run.rglob("*") if f.is_file()) if run and run.is_dir() else 0
        needed = max(one, (KEEP_CHECKPOINTS + 1) * one - held) + 2**20
        free = shutil.disk_usage(self.root).free
        if free < needed:
            raise RunsFolderError(f"The runs folder {self.root} has {free / 2**20:.1f} MiB free; its checkpoints need "
                                  f"about {needed / 2**20:.1f} MiB ({KEEP_CHECKPOINTS + 1} at once during a save, "
                                  f"{one / 2**20:.1f} MiB each); {fix}.")

    # ---- save / restore -------------------------------------------------------------------
    def _prepare(self) -> Path:
        run = self.directory
        run.mkdir(parents=True, exist_ok=True)
        identity_file = run / "identity.json"
        if not identity_file.is_file():
            record = {"hash": self.identity_hash, "created": datetime.now().isoformat(timespec="seconds"),
                      **self.identity}
            _atomic_write(identity_file, json.dumps(record, indent=1, default=str).encode())
        return run

    def _manifest_entries(self, run: Path) -> list[dict]:
        data = json.loads((run / "manifest.json").read_text())
        entries = data["checkpoints"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("'checkpoints' is not a list of entries")
        return entries

    def save(self, history: History) -> None:
        """Write a checkpoint of the current weights and ``history`` (number = steps done).

        A write that fails (a full disk, a quota, a folder that went away) is a :class:`RunsFolderError` naming
        the folder and the fix: the files of this checkpoint are removed again and the manifest still names the
        previous complete checkpoints, so the run resumes from the newest of them.
        """
        try:
            self._save(history)
        except (OSError, tf.errors.OpError) as error:
            if isinstance(error, RunsFolderError):
                raise
            run = self.directory
            with contextlib.suppress(OSError):
                self._remove_unnamed(run, history.steps_done)
            kept = self._complete_steps(run)
            left = (f"the newest complete checkpoint (step {kept[-1]}) is still there and a run of this cell resumes "
                    "from it" if kept else "no complete checkpoint of this run was written")
            reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            raise RunsFolderError(
                f"Could not write the checkpoint of step {history.steps_done} in {run} ({type(error).__name__}: "
                f"{reason}); {left}; {_RUNS_FOLDER_FIX}.") from error

    def _complete_steps(self, run: Path) -> list[int]:
        """The steps of the checkpoints the manifest names (what restore() would consider)."""
        try:
            return sorted(int(e["number"]) for e in self._manifest_entries(run))
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def _remove_unnamed(self, run: Path, number: int) -> None:
        """After a failed save: the files of checkpoint ``number`` unless the manifest names it, and temp files."""
        if number in self._complete_steps(run):
            return
        for name in self._checkpoint_files(run, {number}):
            path = run / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        for path in [*run.iterdir(), *((run / "tf").iterdir() if (run / "tf").is_dir() else ())]:
            if re.match(r"^\..*\.tmp-\d+$", path.name) or (path.name.startswith(f"ckpt-{number:06d}")):
                shutil.rmtree(path) if path.is_dir() else path.unlink()

    def _save(self, history: History) -> None:
        with self.locked():
            run = self._prepare()
            number = history.steps_done
            try:
                entries = self._manifest_entries(run) if (run / "manifest.json").exists() else []
            except (OSError, ValueError, KeyError, TypeError):
                entries = []  # restore() already set an unreadable manifest aside; start a new list
            if any(e.get("number") == number for e in entries):
                return  # this exact state (same step) is already saved
            (run / "tf").mkdir(exist_ok=True)
            prefix = run / "tf" / f"ckpt-{number:06d}"
            self._steps_counter.assign(number)
            self.checkpoint.write(str(prefix))
            for path in (run / "tf").glob(f"ckpt-{number:06d}.*"):
                _fsync_file(path)
            _fsync_dir(run / "tf")
            buffer = io.BytesIO()
            np.savez_compressed(
                buffer, epochs=np.array(history.sample_epochs, dtype=np.int64),
                images=np.array(history.samples, dtype=np.float16) if history.samples else np.zeros((0,)),
            )
            samples_name, history_name = f"samples-{number:06d}.npz", f"history-{number:06d}.json"
            _atomic_write(run / samples_name, buffer.getvalue())
            _atomic_write(run / history_name, json.dumps({"history": history.to_json()}).encode())
            entries.append({"number": number, "epochs_done": history.epochs_done,
                            "tf_prefix": f"tf/ckpt-{number:06d}", "history": history_name, "samples": samples_name})
            entries = entries[-KEEP_CHECKPOINTS:]
            _atomic_write(run / "manifest.json", json.dumps({"checkpoints": entries}, indent=1).encode())
            self._prune(run, {e["number"] for e in entries})

    def _prune(self, run: Path, keep: set[int]) -> None:
        """Remove checkpoint files the manifest no longer names (older ones, dead writers' temp files)."""
        for path in run.iterdir():
            match = re.match(r"^(history|samples)-(\d+)\.(json|npz)$", path.name)
            if (match and int(match[2]) not in keep) or re.match(r"^\..*\.tmp-\d+$", path.name):
                path.unlink()
        for path in (run / "tf").iterdir() if (run / "tf").is_dir() else ():
            match = _TF_FILE.match(path.name)
            if match and (int(match[1]) not in keep or "_temp" in match[2]):
                shutil.rmtree(path) if path.is_dir() else path.unlink()

    def _load(self, run: Path, entry: dict) -> History:
        """Restore one manifest entry into the models, checking every file; _TornCheckpoint if unusable."""
        try:
            number = int(entry["number"])
            names = [entry["tf_prefix"], entry["history"], entry["samples"]]
            if any(not isinstance(n, str) or ".." in Path(n).parts or Path(n).is_absolute() for n in names):
                raise _TornCheckpoint(f"manifest entry {number} names files outside the run: {names}")
            saved = json.loads((run / entry["history"]).read_text())["history"]
            if saved["steps_done"] != number:
                raise _TornCheckpoint(f"{entry['history']} is at step {saved['steps_done']}, "
                                      f"the manifest says {number}")
            with np.load(run / entry["samples"], allow_pickle=False) as archive:
                sample_epochs, images = archive["epochs"].tolist(), archive["images"]
            if sample_epochs != list(saved["sample_epochs"]) or (len(images) != len(sample_epochs)
                                                                  and len(sample_epochs) > 0):
                raise _TornCheckpoint(f"{entry['samples']} does not match {entry['history']}")
            prefix = str(run / entry["tf_prefix"])
            reader = tf.train.load_checkpoint(prefix)
            for key in reader.get_variable_to_shape_map():
                reader.get_tensor(key)  # reads (and checksums) every tensor before touching the models
            status = self.checkpoint.read(prefix)
            status.assert_existing_objects_matched()  # a model or optimizer not in the checkpoint is an error
            status.expect_partial()  # optimizer slots are created (and filled) at the first step: no warning
            if int(self._steps_counter.numpy()) != number:
                raise _TornCheckpoint(f"the weights are at step {int(self._steps_counter.numpy())}, "
                                      f"the history at step {number}")
            history = History(
                epoch_losses=saved["epoch_losses"], step_losses=saved["step_losses"],
                sample_epochs=list(saved["sample_epochs"]), epochs_done=saved["epochs_done"],
                seconds=saved["seconds"], steps_done=saved["steps_done"],
                steady_seconds=saved.get("steady_seconds", 0.0), steady_steps=saved.get("steady_steps", 0),
                validation=list(saved.get("validation", [])), stopped_early=bool(saved.get("stopped_early", False)),
            )
            history.samples = [img.astype(np.float32) for img in images] if sample_epochs else []
            return history
        except _TornCheckpoint:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, AssertionError, zipfile.BadZipFile,
                tf.errors.OpError) as error:
            first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            raise _TornCheckpoint(f"{type(error).__name__}: {first_line}") from error

    def _set_aside(self, run: Path, names: list[str]) -> Path:
        aside = run / f"set-aside-{datetime.now():%Y%m%d-%H%M%S}"
        suffix = 1
        while aside.exists():
            aside, suffix = run / f"set-aside-{datetime.now():%Y%m%d-%H%M%S}-{suffix}", suffix + 1
        (aside / "tf").mkdir(parents=True)
        for name in names:
            if (run / name).exists():
                os.replace(run / name, aside / name)
        _fsync_dir(aside)
        _fsync_dir(run)
        return aside

    def _checkpoint_files(self, run: Path, numbers: set[int] | None = None) -> list[str]:
        """Names (relative to the run) of checkpoint files; only those of ``numbers`` if given."""
        names = []
        for path in run.iterdir():
            match = re.match(r"^(history|samples)-(\d+)\.(json|npz)$", path.name)
            if (match and (numbers is None or int(match[2]) in numbers)) or (
                    numbers is None and _CHECKPOINT_FILE.match(path.name)):
                names.append(path.name)
        for path in (run / "tf").iterdir() if (run / "tf").is_dir() else ():
            match = _TF_FILE.match(path.name)
            if match and (numbers is None or int(match[1]) in numbers):
                names.append(f"tf/{path.name}")
        return sorted(set(names))

    def restore(self) -> History | None:
        """The newest complete checkpoint's history (weights restored in place), or None for a new run.

        A torn or inconsistent newest checkpoint falls back to the one before; with none usable
        the files are set aside (moved, with a message naming where) and a new run starts.
        """
        with self.locked():
            run = self._prepare()
            if not self._checkpoint_files(run):
                self._announce_new_run(run)
                return None
            problems, entries = [], []
            try:
                if (run / "manifest.json").exists():
                    entries = self._manifest_entries(run)
            except (OSError, ValueError, KeyError, TypeError) as error:
                problems.append(f"manifest.json unreadable ({type(error).__name__})")
            initial = [(v, v.numpy()) for obj in self.trackables.values() for v in _variables(obj)]
            for index in range(len(entries) - 1, -1, -1):
                try:
                    history = self._load(run, entries[index])
                except _TornCheckpoint as error:
                    problems.append(f"checkpoint {entries[index].get('number')}: {error}")
                    continue
                if problems:
                    broken = {int(e["number"]) for e in entries[index + 1:] if isinstance(e.get("number"), int)}
                    aside = self._set_aside(run, self._checkpoint_files(run, broken))
                    _atomic_write(run / "manifest.json",
                                  json.dumps({"checkpoints": entries[: index + 1]}, indent=1).encode())
                    print(f"The newest checkpoint in {run} was incomplete ({'; '.join(problems)}); resumed from the "
                          f"complete one at step {history.steps_done}; the broken files were moved to {aside}.")
                return history
            for variable, value in initial:  # a failed partial restore must not leave mixed weights
                variable.assign(value)
            aside = self._set_aside(run, self._checkpoint_files(run))
            reason = "; ".join(problems) or "no manifest.json: killed before the first checkpoint completed"
            print(f"No complete checkpoint in {run} ({reason}): its files were moved to {aside} and training "
                  "starts from the beginning.")
            return None

    def _announce_new_run(self, run: Path) -> None:
        """One line when earlier runs of this notebook exist: which ones are kept, and what differs."""
        others = sorted((p for p in self.root.iterdir() if p.is_dir() and p != run and (p / "manifest.json").exists()),
                        key=lambda p: p.stat().st_mtime)
        old_format = (self.root / "history.json").is_file()
        if not others and not old_format:
            return
        differs = ""
        if others:
            with contextlib.suppress(OSError, ValueError):
                latest = json.loads((others[-1] / "identity.json").read_text())
                changed = []
                for part in ("settings", "models", "step", "budget", "data"):
                    mine, theirs = self.identity.get(part), latest.get(part)
                    if json.dumps(mine, sort_keys=True, default=str) != json.dumps(theirs, sort_keys=True, default=str):
                        keys = (sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                                if isinstance(mine, dict) and isinstance(theirs, dict) and part != "step" else [])
                        changed.append(f"{part} {', '.join(keys)}".strip())
                differs = f" (differs from {others[-1].name} in: {'; '.join(changed)})" if changed else ""
        kept = [p.name for p in others] + (["an older-format run directly in the folder"] if old_format else [])
        print(f"New training run {run.name}{differs}; earlier runs kept in {self.root}: {', '.join(kept)}.")

class LiveDisplay:
    """Progress line every epoch; loss curve + latest samples every ``every`` epochs.

    In Jupyter both update in place (one output each, no growing log); elsewhere (tests,
    scripts) a line is printed per snapshot only.
    """

    def __init__(self, title: str, enabled: bool = True):
        self.title = title
        self.enabled = enabled
        self._text = self._figure = None
        try:
            from IPython import get_ipython

            self.in_notebook = get_ipython() is not None and hasattr(get_ipython(), "kernel")
        except ImportError:
            self.in_notebook = False

    def progress(self, text: str) -> None:
        if not self.enabled:
            return
        if self.in_notebook:
            from IPython.display import display

            if self._text is None:
                self._text = display({"text/plain": text}, raw=True, display_id=True)
            else:
                self._text.update({"text/plain": text}, raw=True)

    def snapshot(self, text: str, history: History, smooth: int) -> None:
        if not self.enabled:
            return
        if not self.in_notebook:
            print(text, flush=True)
            return
        from IPython.display import display

        fig = progress_figure(history, self.title, smooth)
        if self._figure is None:
            self._figure = display(fig, display_id=True)
        else:
            self._figure.update(fig)


def progress_figure(history: History, title: str = "", smooth: int = 10):
    """Loss curves (per step, smoothed) beside the newest sample grid."""
    import matplotlib.pyplot as plt

    has_samples = bool(history.samples)
    fig, axes = plt.subplots(1, 2 if has_samples else 1, figsize=(10 if has_samples else 6, 3.2))
    axes = np.atleast_1d(axes)
    ax = axes[0]
    for name, values in history.step_losses.items():
        values = np.asarray(values, dtype=float)
        line = ax.plot(values, alpha=0.2)[0]
        if len(values) >= smooth > 1:
            ax.plot(np.arange(smooth - 1, len(values)), np.convolve(values, np.ones(smooth) / smooth, "valid"),
                    color=line.get_color(), label=name)
        else:
            line.set_label(name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{title} losses" if title else "losses", fontsize=10)
    if has_samples:
        images = plotting.to_display_range(history.samples[-1][:36])
        side = int(np.ceil(np.sqrt(len(images))))
        canvas = np.zeros((side * 29, side * 29), np.float32)  # 0 = white paper under gray_r
        for i, img in enumerate(images):
            r, c = divmod(i, side)
            canvas[r * 29 : r * 29 + 28, c * 29 : c * 29 + 28] = img
        axes[1].imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        axes[1].axis("off")
        axes[1].set_title(f"samples after epoch {history.sample_epochs[-1]}", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig




class ShuffledBatches:
    """Shuffled full batches of numpy arrays, reshuffled on every pass, deterministic for a given seed.

    Only an index permutation is shuffled; each batch is gathered from the arrays as they are. A
    ``tf.data`` pipeline (``from_tensor_slices`` + ``shuffle(n)``) would hold the data twice more — a
    tensor copy and a full shuffle buffer, about 380 MB for 60,000 digits — which matters on a 2 GiB Binder.
    """

    def __init__(self, arrays: tuple[np.ndarray, ...], batch_size: int, seed: int):
        self.arrays = tuple(np.asarray(a, np.float32) for a in arrays)  # no copy when already float32
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.steps_per_pass = len(self.arrays[0]) // batch_size

    def __len__(self) -> int:
        return self.steps_per_pass

    def __iter__(self):
        order = self.rng.permutation(len(self.arrays[0]))
        for start in range(0, self.steps_per_pass * self.batch_size, self.batch_size):
            rows = order[start : start + self.batch_size]
            yield tuple(tf.convert_to_tensor(a[rows]) for a in self.arrays)


def make_batches(arrays: tuple[np.ndarray, ...], batch_size: int, seed: int) -> ShuffledBatches:
    """Shuffled full batches, reshuffled every epoch, deterministic for a given seed (see :class:`ShuffledBatches`)."""
    batch_size = _check_batches_fit(_check_same_length(arrays), batch_size)
    return ShuffledBatches(tuple(arrays), batch_size, seed)


_NON_FINITE_CAUSES = ("a learning rate too high for this model; the log of 0 or a division by 0 in the loss "
                      "(e.g. log(D(x)) with D(x) = 0: add a small epsilon or use from_logits); exploding gradients "
                      "(lower the learning rate or clip gradients, e.g. Adam(..., clipnorm=1.0))")


def _stop_on_non_finite(name: str, value: float, step_number: int, checkpoint: Checkpointer | None) -> None:
    restored = ""
    if checkpoint is not None:
        with contextlib.redirect_stdout(io.StringIO()):  # the fall-back messages would bury the real one
            good = checkpoint.restore()
        restored = (f" The models were restored to the last good checkpoint (step {good.steps_done}) in "
                    f"{checkpoint.directory}." if good is not None else
                    " There is no earlier checkpoint: the models now hold non-finite weights; rebuild them.")
    else:
        restored = " The models now hold the weights of the failed step; rebuild them before training again."
    message = (f"Training stopped: loss '{name}' became {value} at step {step_number}. Nothing was saved from this "
               f"step.{restored} Usual causes: {_NON_FINITE_CAUSES}.")
    print(message)
    raise NonFiniteLossError(message, name, step_number, value)


def announce_budget(budget: str, steps: int) -> None:
    """Before a full-budget run starts, say that it is long and how to get the result in seconds instead: an
    untouched Run All otherwise trains for many minutes without a word."""
    if budget == "full":
        print(f"Full course run: {steps:,} training steps, many minutes on a laptop CPU (the progress line shows the "
              'pace). WEIGHTS = "pretrained" loads the shipped result in seconds; BUDGET = "exercise" is a short run.')


def train(
    step: Callable[..., Mapping[str, tf.Tensor]],
    arrays: tuple[np.ndarray, ...] | np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    checkpoint: Checkpointer | None = None,
    sample_fn: Callable[[], np.ndarray] | None = None,
    sample_every: int = 5,
    live: bool = True,
    title: str = "",
    seed: int = 0,
    smooth: int = 10,
    early_stopping: EarlyStopping | None = None,
) -> History:
    """Run ``step`` over shuffled batches of ``arrays`` for ``epochs`` epochs.

    ``sample_fn()`` (e.g. the generator on a fixed noise batch) is recorded at epoch 0, every
    ``sample_every`` epochs and at the end. With a ``checkpoint``, the run is identified by its
    settings, models, optimizers, this ``step``'s code and the budget (see :class:`Checkpointer`):
    the same run is resumed (or, if complete, returned at once), another one starts in its own
    folder; a checkpoint is written at each snapshot, and an interruption (KeyboardInterrupt)
    saves one and returns normally. Before the first epoch the budget, batch size and runs
    folder are checked; a NaN/inf loss raises :class:`NonFiniteLossError` at once.
    With ``early_stopping`` (:class:`EarlyStopping`), ``epochs`` is the most it trains: its score is
    recorded after each epoch (``history.validation``), training stops once it has not improved for its
    patience, and the models end with the best epoch's weights.
    """
    if isinstance(arrays, np.ndarray):
        arrays = (arrays,)
    _check_training_inputs(arrays, epochs, batch_size, sample_every)
    if early_stopping is not None and checkpoint is not None and not any(
            obj is early_stopping for obj in checkpoint.trackables.values()):
        raise ValueError("pass the EarlyStopping to the Checkpointer too (e.g. early_stopping=stopper), so a resumed "
                         "run keeps its best weights")
    if checkpoint is None:
        return _train_loop(step, arrays, epochs, batch_size, None, sample_fn, sample_every, live, title, seed, smooth,
                           early_stopping)
    checkpoint.bind(step, epochs=epochs, batch_size=batch_size, arrays=arrays, seed=seed)
    checkpoint.check_room()
    with checkpoint.locked():
        return _train_loop(step, arrays, epochs, batch_size, checkpoint, sample_fn, sample_every, live, title, seed,
                           smooth, early_stopping)


def _save_or_hand_back(checkpoint: Checkpointer, history: History) -> None:
    """Save; when the runs folder cannot take the checkpoint, stop with the error carrying the epochs that ran."""
    try:
        checkpoint.save(history)
    except RunsFolderError as error:
        history.interrupted = True
        error.history = history
        error.args = (f"{error.args[0]} Training stopped after {history.epochs_done} epochs ({history.steps_done} "
                      "steps); the models keep what they learned, and the History of those epochs is this error's "
                      "`history` (in the next cell: `import sys; history = sys.last_value.history`).",)
        raise


def _train_loop(step, arrays, epochs, batch_size, checkpoint, sample_fn, sample_every, live, title, seed, smooth,
                early_stopping=None):
    history = checkpoint.restore() if checkpoint else None
    display = LiveDisplay(title, enabled=live)
    if history is not None:
        stopped = (f" (stopped early: no better held-out score for {early_stopping.patience} epochs)"
                   if history.stopped_early and early_stopping is not None else "")
        print(f"Resumed from {checkpoint.directory}: {history.epochs_done} of {epochs} epochs already done{stopped}.")
    else:
        history = History()
    if sample_fn is not None and not history.samples:
        history.samples.append(np.asarray(sample_fn(), np.float32))
        history.sample_epochs.append(0)
    batches = make_batches(arrays, batch_size, seed + history.epochs_done)
    steps_per_epoch = len(arrays[0]) // batch_size
    start_epoch = history.epochs_done
    first_step_of_call = history.steps_done  # this call's first step traces the tf.function
    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            if history.stopped_early:
                break
            began = time.perf_counter()
            sums: dict[str, float] = {}
            for batch in batches:
                step_began = time.perf_counter()
                losses = {name: float(value) for name, value in step(*batch).items()}  # waits for the step
                for name, value in losses.items():
                    if not math.isfinite(value):
                        _stop_on_non_finite(name, value, history.steps_done + 1, checkpoint)
                for name, value in losses.items():
                    history.step_losses.setdefault(name, []).append(value)
                    sums[name] = sums.get(name, 0.0) + value
                if history.steps_done > first_step_of_call:
                    history.steady_seconds += time.perf_counter() - step_began
                    history.steady_steps += 1
                history.steps_done += 1
            elapsed = time.perf_counter() - began
            history.seconds += elapsed
            for name, total in sums.items():
                history.epoch_losses.setdefault(name, []).append(total / steps_per_epoch)
            history.epochs_done = epoch
            losses_text = "  ".join(f"{k} {v[-1]:.3f}" for k, v in history.epoch_losses.items())
            if early_stopping is not None:
                history.validation.append(early_stopping.score())
                if history.best_epoch == epoch:
                    early_stopping.keep()
                elif epoch - history.best_epoch >= early_stopping.patience:
                    history.stopped_early = True
                losses_text += (f"  held-out {history.validation[-1]:.3f} (best {min(history.validation):.3f}, "
                                f"epoch {history.best_epoch})")
            eta = history.seconds_per_step * steps_per_epoch * (epochs - epoch)
            line = (f"epoch {epoch}/{epochs}  {losses_text}  {elapsed:.1f} s/epoch "
                    f"({1000 * history.seconds_per_step:.1f} ms/step)  ETA {eta:.0f} s")
            display.progress(line)
            if epoch % sample_every == 0 or epoch == epochs or history.stopped_early:
                if sample_fn is not None:
                    history.samples.append(np.asarray(sample_fn(), np.float32))
                    history.sample_epochs.append(epoch)
                if checkpoint:
                    _save_or_hand_back(checkpoint, history)
                display.snapshot(line, history, smooth)
    except KeyboardInterrupt:
        history.interrupted = True
        if sample_fn is not None and history.sample_epochs[-1] != history.epochs_done:
            history.samples.append(np.asarray(sample_fn(), np.float32))
            history.sample_epochs.append(history.epochs_done)
        if checkpoint:
            _save_or_hand_back(checkpoint, history)
        where = f"; checkpoint saved in {checkpoint.directory}, run the cell again to resume" if checkpoint else ""
        print(f"Interrupted after {history.epochs_done} of {epochs} epochs. The models keep what they learned{where}.")
    finished = history.epochs_done == epochs or history.stopped_early
    if finished and history.epochs_done > start_epoch:
        stop = (f", stopped early: no better held-out score in the {early_stopping.patience} epochs after epoch "
                f"{history.best_epoch}" if history.stopped_early else "")
        print(f"Trained {history.epochs_done - start_epoch} epochs in {history.seconds:.1f} s "
              f"({1000 * history.seconds_per_step:.1f} ms per step after the first, which traces the step){stop}.")
    if early_stopping is not None and history.validation and finished:
        early_stopping.restore_best()
        print(f"Early stopping: the models now hold the weights of epoch {history.best_epoch} of "
              f"{history.epochs_done}, the best held-out score ({min(history.validation):.3f}).")
    return history


def save_progression_gif(
    history: History, path: str | os.PathLike, n_images: int = 36, ms_per_frame: int = 400
) -> Path:
    """An animated GIF of the fixed-input samples over training (one frame per snapshot)."""
    from PIL import Image, ImageDraw

    if not history.samples:
        raise ValueError("no samples recorded: pass sample_fn= to train()")
    frames = []
    for epoch, batch in zip(history.sample_epochs, history.samples):
        images = plotting.to_display_range(batch[:n_images])
        side = int(np.ceil(np.sqrt(len(images))))
        canvas = np.full((side * 30 + 14, side * 30), 255, np.uint8)
        for i, img in enumerate(images):
            r, c = divmod(i, side)
            canvas[14 + r * 30 : 14 + r * 30 + 28, c * 30 : c * 30 + 28] = (255 * (1 - img)).astype(np.uint8)
        frame = Image.fromarray(canvas).resize((canvas.shape[1] * 2, canvas.shape[0] * 2), Image.NEAREST)
        ImageDraw.Draw(frame).text((4, 2), f"epoch {epoch}", fill=0)
        frames.append(frame)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=ms_per_frame, loop=0)
    return path

"""The training loop the notebooks share: they write the training *step* (the teaching
point); this module runs it over epochs with the machinery around it.

- shuffled batches from numpy arrays through ``tf.data``;
- a one-line progress display per epoch, a live loss curve and sample grid every few epochs;
- a sample history from a fixed input (e.g. fixed noise) for the progression figure;
- checkpoints of every model and optimizer, resumed automatically when the same run is
  started again, and saved when the run is interrupted (KeyboardInterrupt keeps what was
  learned; re-running the cell continues from there).

The step is any callable ``step(*batch) -> {"loss name": scalar}``, usually a
``tf.function``. The loop works the same for GANs (two losses) and VAEs (three).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .environment import quiet_tensorflow

quiet_tensorflow()
import tensorflow as tf  # noqa: E402

from . import plotting  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNS_DIR_ENV = "COURSE_RUNS_DIR"


def runs_dir() -> Path:
    """Where training runs keep checkpoints: ``$COURSE_RUNS_DIR`` or ``<repo>/runs``."""
    return Path(os.environ.get(RUNS_DIR_ENV) or REPO_ROOT / "runs")


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
        }


class Checkpointer:
    """Saves and restores models, optimizers and the :class:`History` of one run.

    ``config`` is a small dict of the run's settings. A checkpoint made with other settings is
    not resumed: it is moved aside to ``<directory>.previous`` and a new run starts, so
    changing a hyperparameter and re-running never silently continues an old run.
    """

    def __init__(self, directory: str | os.PathLike, config: Mapping | None = None, **trackables):
        if not trackables:
            raise ValueError("Checkpointer needs the models/optimizers to save, e.g. generator=g, g_opt=opt")
        self.directory = Path(directory)
        self.config = json.loads(json.dumps(dict(config or {}), default=str))
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory / "tf"), max_to_keep=2)

    @property
    def _state_file(self) -> Path:
        return self.directory / "history.json"

    def save(self, history: History) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.manager.save(checkpoint_number=history.epochs_done)
        np.savez_compressed(
            self.directory / "samples.npz",
            epochs=np.array(history.sample_epochs, dtype=np.int64),
            images=np.array(history.samples, dtype=np.float16) if history.samples else np.zeros((0,)),
        )
        state = {"config": self.config, "history": history.to_json()}
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self._state_file)  # atomic: an interruption never leaves half a file

    def restore(self) -> History | None:
        """The saved history (and weights restored in place), or None for a new run."""
        if not self._state_file.is_file() or self.manager.latest_checkpoint is None:
            return None
        state = json.loads(self._state_file.read_text())
        if state.get("config") != self.config:
            previous = self.directory.with_name(self.directory.name + ".previous")
            shutil.rmtree(previous, ignore_errors=True)
            self.directory.rename(previous)
            print(f"Checkpoint in {self.directory} was made with other settings; it was moved to {previous}"
                  " and a new run starts.")
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory / "tf"), max_to_keep=2)
            return None
        self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
        saved = state["history"]
        history = History(
            epoch_losses=saved["epoch_losses"],
            step_losses=saved["step_losses"],
            sample_epochs=list(saved["sample_epochs"]),
            epochs_done=saved["epochs_done"],
            seconds=saved["seconds"],
            steps_done=saved.get("steps_done", 0),
            steady_seconds=saved.get("steady_seconds", 0.0),
            steady_steps=saved.get("steady_steps", 0),
        )
        with np.load(self.directory / "samples.npz", allow_pickle=False) as archive:
            history.samples = [img.astype(np.float32) for img in archive["images"]]
        return history


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


def make_batches(arrays: tuple[np.ndarray, ...], batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled full batches, reshuffled every epoch, deterministic for a given seed."""
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"all training arrays need the same length, got {[len(a) for a in arrays]}")
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} is larger than the {n} training examples; lower it")
    dataset = tf.data.Dataset.from_tensor_slices(tuple(np.asarray(a, np.float32) for a in arrays))
    return dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)


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
) -> History:
    """Run ``step`` over shuffled batches of ``arrays`` for ``epochs`` epochs.

    ``sample_fn()`` (e.g. the generator on a fixed noise batch) is recorded at epoch 0, every
    ``sample_every`` epochs and at the end. With a ``checkpoint``, an earlier run with the same
    settings is resumed (or, if complete, returned at once), a checkpoint is written at each
    snapshot, and an interruption (KeyboardInterrupt) saves one and returns normally.
    """
    if isinstance(arrays, np.ndarray):
        arrays = (arrays,)
    if epochs < 0 or sample_every < 1:
        raise ValueError("epochs must be >= 0 and sample_every >= 1")
    history = checkpoint.restore() if checkpoint else None
    display = LiveDisplay(title, enabled=live)
    if history is not None:
        print(f"Resumed from {checkpoint.directory}: {history.epochs_done} of {epochs} epochs already done.")
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
            began = time.perf_counter()
            sums: dict[str, float] = {}
            for batch in batches:
                step_began = time.perf_counter()
                losses = step(*batch)
                for name, value in losses.items():
                    value = float(value)  # waits for the step to finish
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
            eta = history.seconds_per_step * steps_per_epoch * (epochs - epoch)
            line = (f"epoch {epoch}/{epochs}  {losses_text}  {elapsed:.1f} s/epoch "
                    f"({1000 * history.seconds_per_step:.1f} ms/step)  ETA {eta:.0f} s")
            display.progress(line)
            if epoch % sample_every == 0 or epoch == epochs:
                if sample_fn is not None:
                    history.samples.append(np.asarray(sample_fn(), np.float32))
                    history.sample_epochs.append(epoch)
                if checkpoint:
                    checkpoint.save(history)
                display.snapshot(line, history, smooth)
    except KeyboardInterrupt:
        history.interrupted = True
        if sample_fn is not None and history.sample_epochs[-1] != history.epochs_done:
            history.samples.append(np.asarray(sample_fn(), np.float32))
            history.sample_epochs.append(history.epochs_done)
        if checkpoint:
            checkpoint.save(history)
        where = f"; checkpoint saved in {checkpoint.directory}, run the cell again to resume" if checkpoint else ""
        print(f"Interrupted after {history.epochs_done} of {epochs} epochs. The models keep what they learned{where}.")
    if history.epochs_done == epochs and epochs > start_epoch:
        print(f"Trained {epochs - start_epoch} epochs in {history.seconds:.1f} s "
              f"({1000 * history.seconds_per_step:.1f} ms per step after the first, which traces the step).")
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

"""A runs folder that fills up: before training, between saves, or in the middle of a checkpoint save.

Whatever the moment, the cell gets a RunsFolderError naming the folder and the fix (never TensorFlow's raw
ResourceExhaustedError), the error carries the History of the epochs that ran, and the newest complete checkpoint
stays loadable. Proven on a real full file system (a small tmpfs, where this machine lets the test mount one) and by
an injected write failure at each point where a save writes.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import training

tf = training.tf
import keras  # noqa: E402

EPOCHS, FAIL_AT_EPOCH, BATCH = 4, 3, 32


def _problem(init_seed=0, width=128):
    """A small regression model whose checkpoint (weights + Adam's two moments) is about 0.6 MiB; the data are
    the same whatever ``init_seed`` (they are part of the run's identity)."""
    x = np.random.default_rng(0).normal(size=(128, 256)).astype(np.float32)
    y = x[:, :1] - x[:, 1:2]
    keras.utils.set_random_seed(init_seed)
    model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(width, activation="relu"),
                              keras.layers.Dense(width, activation="relu"), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(xb) - yb) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        return {"mse": loss}

    return model, optimizer, step, (x, y)


def _before_epoch(step, epoch, action):
    """``step`` that calls ``action()`` once, at the first step of ``epoch`` (after the saves of earlier epochs)."""
    calls = {"n": 0}
    first_call = (epoch - 1) * (128 // BATCH) + 1

    def wrapped(xb, yb):
        calls["n"] += 1
        if calls["n"] == first_call:
            action()
        return step(xb, yb)

    return wrapped


def _train(root, step, model, optimizer, arrays):
    ckpt = training.Checkpointer(root, {"case": "disk"}, model=model, optimizer=optimizer)
    history = training.train(step, arrays, epochs=EPOCHS, batch_size=BATCH, checkpoint=ckpt, sample_every=1,
                             live=False, sample_fn=lambda: model(arrays[0][:4]).numpy())
    return ckpt, history


def _check_failure(error, root, wrap, capsys):
    """What every failure must leave: the message, the History, a loadable checkpoint of epoch 2, no debris.
    ``wrap`` builds the same step wrapper as the failed run's (the step's code is part of the run's identity)."""
    model, optimizer, step, arrays = _problem(init_seed=1)  # other initial weights: the restore must replace them
    ckpt = training.Checkpointer(root, {"case": "disk"}, model=model, optimizer=optimizer)
    ckpt.bind(wrap(step), epochs=EPOCHS, batch_size=BATCH, arrays=arrays, seed=0)
    message = str(error)
    assert str(ckpt.directory) in message and training.RUNS_DIR_ENV in message
    assert "newest complete checkpoint (step 8)" in message and "sys.last_value.history" in message
    history = error.history
    assert history.epochs_done == FAIL_AT_EPOCH and history.steps_done == FAIL_AT_EPOCH * 4
    assert len(history.epoch_losses["mse"]) == FAIL_AT_EPOCH and history.interrupted
    leftovers = [p.name for p in ckpt.directory.rglob("*") if "000012" in p.name or ".tmp-" in p.name]
    assert not leftovers, f"files of the failed checkpoint were left behind: {leftovers}"
    capsys.readouterr()
    restored = ckpt.restore()
    assert restored is not None and restored.epochs_done == 2 and restored.steps_done == 8
    assert int(optimizer.iterations.numpy()) == 8
    assert "incomplete" not in capsys.readouterr().out


# --------------------------------------------------------------------------- injected failures at each write point

WRITE_POINTS = ["tf data", "tf fsync", "samples", "history", "manifest"]


@pytest.mark.parametrize("point", WRITE_POINTS)
def test_failed_write_at_each_point_is_a_runs_folder_error_and_keeps_the_last_checkpoint(tmp_path, monkeypatch,
                                                                                         capsys, point):
    model, optimizer, step, arrays = _problem()
    armed = {"on": False}
    no_space = OSError(errno.ENOSPC, "No space left on device")
    real_write, real_atomic, real_fsync = tf.train.Checkpoint.write, training._atomic_write, training._fsync_file

    def checkpoint_write(self, prefix, *args, **kwargs):
        if armed["on"] and point == "tf data":
            with open(f"{prefix}_temp_part.data-00000-of-00001", "wb") as partial:
                partial.write(b"\0" * 1000)  # half-written, as a real full disk leaves it
            raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}_temp; No space left on device")
        return real_write(self, prefix, *args, **kwargs)

    def atomic_write(path, data):
        if armed["on"] and (point in path.name or (point == "samples" and path.suffix == ".npz")):
            (path.parent / f".{path.name}.tmp-{os.getpid()}").write_bytes(data[: len(data) // 2])
            raise no_space
        return real_atomic(path, data)

    def fsync_file(path):
        if armed["on"] and point == "tf fsync":
            raise no_space
        return real_fsync(path)

    monkeypatch.setattr(tf.train.Checkpoint, "write", checkpoint_write)
    monkeypatch.setattr(training, "_atomic_write", atomic_write)
    monkeypatch.setattr(training, "_fsync_file", fsync_file)
    def arm():
        armed["on"] = True

    def wrap(raw_step):
        return _before_epoch(raw_step, FAIL_AT_EPOCH, arm)

    with pytest.raises(training.RunsFolderError) as caught:
        _train(tmp_path / "nb", wrap(step), model, optimizer, arrays)
    assert "No space left on device" in str(caught.value)
    monkeypatch.undo()
    _check_failure(caught.value, tmp_path / "nb", wrap, capsys)


def test_failed_save_on_interrupt_is_a_runs_folder_error_too(tmp_path, monkeypatch):
    model, optimizer, step, arrays = _problem()

    def interrupt():
        monkeypatch.setattr(training, "_atomic_write", lambda path, data: (_ for _ in ()).throw(
            OSError(errno.ENOSPC, "No space left on device")))
        raise KeyboardInterrupt

    with pytest.raises(training.RunsFolderError) as caught:
        ckpt = training.Checkpointer(tmp_path / "nb", {}, model=model, optimizer=optimizer)
        training.train(_before_epoch(step, 2, interrupt), arrays, epochs=EPOCHS, batch_size=BATCH, checkpoint=ckpt,
                       sample_every=EPOCHS, live=False)
    assert caught.value.history.epochs_done == 1 and "no complete checkpoint" in str(caught.value)


# --------------------------------------------------------------------------- a real full file system


def _mount_tmpfs(folder, size_bytes) -> str | None:
    """Mount a tmpfs of ``size_bytes`` on ``folder``; None if it worked, else why not."""
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        return "not Linux"
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)],
                            capture_output=True, text=True)
    return None if result.returncode == 0 else (result.stderr.strip() or f"mount exited {result.returncode}")


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB file system of its own (tmpfs), unmounted afterwards; skipped where mounting is not allowed."""
    folder = tmp_path / "small-disk"
    why_not = _mount_tmpfs(folder, 4 * 2**20)
    if why_not:
        pytest.skip(f"cannot mount a small tmpfs here ({why_not}; it needs root): the injected-failure tests above "
                    "cover the same write points")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder, leave_bytes):
    """Fill the file system of ``folder`` until ``leave_bytes`` (or less) are free."""
    with open(folder / "filler", "ab") as filler:
        while (free := shutil.disk_usage(folder).free) > leave_bytes:
            try:
                filler.write(b"\0" * min(2**20, free - leave_bytes))
                filler.flush()
            except OSError:
                break


def _one_checkpoint_bytes(run, step) -> int:
    """Bytes of the checkpoint of ``step``: TensorFlow's files, the history and the samples."""
    return sum(p.stat().st_size for p in run.rglob("*") if p.is_file() and f"{step:06d}" in p.name)


PAGE = 4096  # tmpfs hands out whole pages


@pytest.mark.parametrize("leave", ["nothing", "half of TensorFlow's data", "TensorFlow's files only"])
def test_real_disk_filling_up_mid_run(small_disk, capsys, leave):
    """A real tmpfs filled after two saves, leaving no room, room for half of TensorFlow's data file (the save fails
    in the middle of it), or room for TensorFlow's files but not the history, samples and manifest after them."""
    model, optimizer, step, arrays = _problem()

    def fill():
        run = next(p for p in (small_disk / "nb").iterdir() if p.is_dir())
        tf_files = [p.stat().st_size for p in (run / "tf").iterdir() if "000008" in p.name]
        room = {"nothing": 0, "half of TensorFlow's data": max(tf_files) // 2,
                "TensorFlow's files only": sum(-(-size // PAGE) * PAGE for size in tf_files) + 2 * PAGE + PAGE // 2}
        _fill(small_disk, room[leave])

    def wrap(raw_step):
        return _before_epoch(raw_step, FAIL_AT_EPOCH, fill)

    with pytest.raises(training.RunsFolderError) as caught:
        _train(small_disk / "nb", wrap(step), model, optimizer, arrays)
    assert isinstance(caught.value.__cause__, (OSError, tf.errors.OpError))
    (small_disk / "filler").unlink()
    _check_failure(caught.value, small_disk / "nb", wrap, capsys)


def test_real_full_disk_before_training_fails_before_the_first_step(small_disk):
    model, optimizer, step, arrays = _problem()
    _fill(small_disk, 2**20)  # 1 MiB left: less than the three checkpoints (and margin) a run needs at its peak
    ckpt = training.Checkpointer(small_disk / "nb", {}, model=model, optimizer=optimizer)
    with pytest.raises(training.RunsFolderError, match="MiB free; its checkpoints need"):
        training.train(step, arrays, epochs=EPOCHS, batch_size=BATCH, checkpoint=ckpt, live=False)
    assert int(optimizer.iterations.numpy()) == 0


def test_room_check_counts_what_a_save_really_writes(tmp_path):
    """The estimate made before the first step (optimizer slots not yet made) covers one real checkpoint, and is
    not far above it: the pre-flight check neither passes a folder that cannot hold a run nor refuses a fine one."""
    model, optimizer, step, arrays = _problem()
    ckpt = training.Checkpointer(tmp_path / "nb", {"case": "disk"}, model=model, optimizer=optimizer)
    estimate = ckpt.checkpoint_bytes()
    training.train(step, arrays, epochs=EPOCHS, batch_size=BATCH, checkpoint=ckpt, sample_every=1, live=False,
                   sample_fn=lambda: model(arrays[0][:4]).numpy())
    actual = _one_checkpoint_bytes(ckpt.directory, EPOCHS * 4)
    assert actual > 3 * 4 * model.count_params() * 0.9, "a checkpoint holds the weights and Adam's two moments"
    assert actual <= estimate <= 1.2 * actual + 2**16, (estimate, actual)

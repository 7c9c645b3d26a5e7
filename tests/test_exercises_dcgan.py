"""The checks of 03_dcgan's exercises, proven both ways, and the kernel-3 edit of issue 13 (a fresh run)."""

from __future__ import annotations

from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from keras import layers
from nbclient import NotebookClient

from helpers.exercises import dcgan as check
from helpers.training import History

ROOT = Path(__file__).resolve().parents[1]


def tiny_transpose_generator(kernel_size=4, batch_norm=True):
    def norm():
        return [layers.BatchNormalization()] if batch_norm else []

    return keras.Sequential([
        keras.Input(shape=(4,)), layers.Dense(7 * 7 * 2), *norm(), layers.ReLU(), layers.Reshape((7, 7, 2)),
        layers.Conv2DTranspose(2, kernel_size, strides=2, padding="same"), *norm(), layers.ReLU(),
        layers.Conv2DTranspose(1, kernel_size, strides=2, padding="same", activation="tanh"),
    ])


def trained_history(steps=310, d_loss=0.1, images=None):
    images = np.zeros((4, 28, 28, 1), np.float32) if images is None else images
    return History(step_losses={"d_loss": [d_loss] * steps, "g_loss": [3.0] * steps}, sample_epochs=[0, 5],
                   samples=[images, images], epochs_done=5, steps_done=steps)


def test_exercise_overlap_counts_come_from_the_layer():
    assert set(np.unique(check.overlap_counts(layers.Conv2DTranspose(1, 3, strides=2)))) == {1, 2, 4}
    assert set(np.unique(check.overlap_counts(layers.Conv2DTranspose(1, 4, strides=2)))) == {4}


def test_exercise1_check_fails_on_kernel_4_and_passes_on_a_trained_kernel_3(capsys):
    assert not check.ex1(tiny_transpose_generator(4), trained_history())
    assert "✗ Exercise 1: not yet" in capsys.readouterr().out
    assert not check.ex1(tiny_transpose_generator(3), None)  # edited but never trained: no history
    assert "BUDGET = \"exercise\"" in capsys.readouterr().out
    result = check.ex1(tiny_transpose_generator(3), trained_history())
    assert result and result.measured["overlap counts (min-max per layer)"] == ["1-4", "1-4"]
    assert not check.ex1(keras.Sequential([keras.Input((4,)), layers.Dense(3)]), trained_history())


def test_exercise2_check_needs_bn_gone_a_full_budget_and_d_winning():
    assert not check.ex2(tiny_transpose_generator(4, batch_norm=True), trained_history(d_loss=0.1))
    assert not check.ex2(tiny_transpose_generator(4, batch_norm=False), None)
    assert not check.ex2(tiny_transpose_generator(4, batch_norm=False), trained_history(steps=6, d_loss=0.1))
    assert not check.ex2(tiny_transpose_generator(4, batch_norm=False), trained_history(d_loss=0.45))
    assert check.ex2(tiny_transpose_generator(4, batch_norm=False), trained_history(d_loss=0.1))


def test_exercise3_check_compares_the_prediction_with_the_layer(capsys):
    assert not check.ex3(None)
    assert not check.ex3("fourteen")  # a clear ✗, not an exception
    assert not check.ex3((1, 12, 12, 8))
    assert "height, width" in capsys.readouterr().out
    assert check.ex3((1, 14, 14, 8))


def test_exercise_sample_spread_is_zero_for_identical_samples():
    same = np.repeat(np.random.default_rng(0).uniform(-1, 1, (1, 28, 28, 1)), 8, axis=0).astype(np.float32)
    assert check.sample_spread(same) == pytest.approx(0.0, abs=1e-7)
    assert check.sample_spread(np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1))) > 0.2


def test_exercise1_kernel_3_edit_after_a_completed_run_trains_fresh(tmp_path, monkeypatch):
    """Issue 13: run 03 (fast mode) to the end of training, edit the builder to kernel 3, re-run the model and
    training cells in the same kernel: no crash, a fresh run announced, and exercise 1's check passes."""
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    nb = nbformat.read(ROOT / "notebooks" / "03_dcgan.ipynb", as_version=4)
    ids = [c.get("id") for c in nb.cells]
    builder, training_cell = ids.index("8bda611b"), ids.index("edb1a233")
    ex1_cell = next(i for i, c in enumerate(nb.cells) if "check.ex1(" in c.source)
    assert "def build_transpose_generator(kernel_size=4):" in nb.cells[builder].source
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})

    def text(index):
        return "".join(o.get("text", "") for o in nb.cells[index].outputs if o.get("output_type") == "stream")

    with client.setup_kernel():
        for index in range(training_cell + 1):
            client.execute_cell(nb.cells[index], index)
        assert "Trained " in text(training_cell)
        nb.cells[builder].source = nb.cells[builder].source.replace(
            "def build_transpose_generator(kernel_size=4):", "def build_transpose_generator(kernel_size=3):")
        client.execute_cell(nb.cells[builder], builder)
        client.execute_cell(nb.cells[training_cell], training_cell)
        client.execute_cell(nb.cells[ex1_cell], ex1_cell)
    rerun = text(training_cell)
    assert "New training run" in rerun and "Resumed" not in rerun.split("--- upsample")[0]
    assert "Trained " in rerun.split("--- upsample")[0]  # the kernel-3 generator trained from scratch
    assert "✓ Exercise 1" in text(ex1_cell)

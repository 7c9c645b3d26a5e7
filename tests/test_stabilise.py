"""Notebook 03_stabilising_gans: its exercise checks proven both ways, its equal-CPU-time step counts tied to their
record, and the WGAN-GP step's averaged generator."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
import tensorflow as tf

from helpers import wgan
from helpers.exercises import stabilise as check

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import stabilise_step_costs  # noqa: E402


def power_iteration(matrix, iterations=50, seed=0):
    u = np.random.default_rng(seed).normal(size=matrix.shape[1])
    for _ in range(iterations):
        v = matrix @ u
        v /= np.linalg.norm(v)
        u = matrix.T @ v
        u /= np.linalg.norm(u)
    return float(np.linalg.norm(matrix @ u))


def test_ex1_passes_a_power_iteration_from_any_start():
    for seed in range(5):
        assert check.ex1(lambda matrix, seed=seed: power_iteration(matrix, seed=seed))


@pytest.mark.parametrize("wrong", [
    lambda m: None,  # the notebook's blank
    lambda m: np.linalg.norm(m),  # Frobenius norm: an upper bound, not sigma_max
    lambda m: np.abs(m).max(),  # the largest entry
    lambda m: np.linalg.norm(m, axis=0).max(),  # the longest column
    lambda m: power_iteration(m, 5),  # too few iterations for these slow matrices
], ids=["blank", "frobenius", "largest-entry", "longest-column", "5-iterations"])
def test_ex1_fails_wrong_answers(wrong):
    assert not check.ex1(wrong)


def test_ex1_reports_a_crash_as_a_hint(capsys):
    assert not check.ex1(lambda m: m.no_such_method())
    assert "raised AttributeError" in capsys.readouterr().out


def penalty_with(norm_of, combine):
    def penalty(critic, real, fake, alpha):
        between = alpha * real + (1 - alpha) * fake
        with tf.GradientTape() as tape:
            tape.watch(between)
            scores = critic(between, training=True)
        gradients = tape.gradient(scores, between)
        return combine(norm_of(gradients))
    return penalty


def per_image(gradients):
    return tf.norm(tf.reshape(gradients, (tf.shape(gradients)[0], -1)), axis=1)


def test_ex2_passes_the_formula_and_the_reference():
    assert check.ex2(penalty_with(per_image, lambda n: tf.reduce_mean(tf.square(n - 1.0))))
    assert check.ex2(wgan.gradient_penalty)


@pytest.mark.parametrize("wrong", [
    lambda critic, real, fake, alpha: None,  # the notebook's blank
    penalty_with(per_image, lambda n: tf.reduce_mean(n - 1.0)),  # not squared
    penalty_with(per_image, lambda n: tf.reduce_mean(tf.square(n) - 1.0)),  # squared norm minus 1
    penalty_with(lambda g: tf.norm(g), lambda n: tf.square(n - 1.0)),  # one norm over the whole batch
    penalty_with(lambda g: tf.norm(g, axis=-1), lambda n: tf.reduce_mean(tf.square(n - 1.0))),  # per pixel row
    lambda critic, real, fake, alpha: wgan.gradient_penalty(critic, real, real, alpha),  # at real images only
], ids=["blank", "not-squared", "squared-norm", "batch-norm", "last-axis-norm", "real-only"])
def test_ex2_fails_wrong_penalties(wrong):
    assert not check.ex2(wrong)


def test_a_slope_3_penalty_of_2_gets_the_squaring_hint(capsys):
    assert not check.ex2(penalty_with(per_image, lambda n: tf.reduce_mean(tf.abs(n - 1.0))))
    assert "square the distance from 1" in capsys.readouterr().out


def _step_costs_in_notebook() -> dict:
    nb = nbformat.read(ROOT / "notebooks" / "03_stabilising_gans.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if c.get("id") == "train")
    return json.loads(re.search(r"^STEP_COST = (\{.*?\})", source, re.M).group(1))


def test_the_notebooks_step_costs_are_the_last_record():
    runs = stabilise_step_costs.records()
    assert runs, "no record: run benchmarks/stabilise_step_costs.py"
    recorded = {recipe: round(m["relative"], 2) for recipe, m in runs[-1]["recipes"].items()}
    assert _step_costs_in_notebook() == recorded, "copy the last run's ratios (part M of RESULTS.md) into STEP_COST"


def test_the_wgan_average_moves_only_with_the_generator():
    keras.utils.set_random_seed(0)

    def generator():
        return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(2)])

    g, ema = generator(), generator()
    ema.set_weights(g.get_weights())
    critic = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    step = wgan.make_wgan_gp_train_step(g, critic, wgan.wgan_optimizer(1e-2), wgan.wgan_optimizer(1e-2), 2,
                                        n_critic=3, ema_generator=ema, ema_decay=0.5)
    real = np.ones((8, 2), dtype="float32")
    before = ema.get_weights()[0].copy()
    step(real)
    step(real)
    assert np.array_equal(ema.get_weights()[0], before), "the average moved without a generator update"
    step(real)  # the 3rd call updates G, then the average: halfway between its old weights and G's new ones
    np.testing.assert_allclose(ema.get_weights()[0], 0.5 * before + 0.5 * g.get_weights()[0], atol=1e-6)

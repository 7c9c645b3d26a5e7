"""The ring of 8 Gaussians counts modes right, and WGAN-GP's step does what Algorithm 1 says."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import toy_ring, wgan


def test_real_ring_samples_cover_every_mode_and_a_collapsed_generator_one():
    rng = np.random.default_rng(0)
    real = toy_ring.mode_report(toy_ring.sample_ring(2_000, rng))
    assert real.modes_covered == 8 and real.high_quality > 0.97  # expected 1 - exp(-4.5) = 0.989
    collapsed = toy_ring.mode_centres()[[0]] + 0.02 * rng.standard_normal((2_000, 2))
    report = toy_ring.mode_report(collapsed)
    assert report.modes_covered == 1 and report.high_quality > 0.97 and "1 of 8 modes" in str(report)
    blurred = toy_ring.mode_report(rng.standard_normal((2_000, 2)))  # everywhere and nowhere
    assert blurred.high_quality < 0.05
    with pytest.raises(ValueError, match=r"needs \(N, 2\) points"):
        toy_ring.mode_report(np.zeros((10, 3)))


def _linear_critic(slope: float) -> keras.Model:
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].kernel.assign(np.array([[slope], [0.0]], "float32"))
    return critic


@pytest.mark.parametrize("slope, penalty", [(1.0, 0.0), (3.0, 4.0)])
def test_the_gradient_penalty_is_the_squared_distance_of_the_slope_from_one(slope, penalty):
    keras.utils.set_random_seed(0)
    generator = toy_ring.build_generator(4)
    critic = _linear_critic(slope)  # its gradient is (slope, 0) everywhere: the penalty is (|slope| - 1)^2
    step = wgan.make_wgan_gp_train_step(generator, critic, wgan.wgan_optimizer(0.0), wgan.wgan_optimizer(0.0), 4)
    out = step(toy_ring.sample_ring(64, np.random.default_rng(0)))
    assert float(out["penalty"]) == pytest.approx(penalty, abs=1e-5)


def test_the_generator_trains_on_every_n_critic_th_call_only():
    keras.utils.set_random_seed(1)
    generator, critic = toy_ring.build_generator(4), toy_ring.build_discriminator(probability=False)
    step = wgan.make_wgan_gp_train_step(generator, critic, wgan.wgan_optimizer(), wgan.wgan_optimizer(), 4, n_critic=3)
    rng = np.random.default_rng(1)
    before = [w.copy() for w in generator.get_weights()]
    for call in range(1, 7):
        critic_before = [w.copy() for w in critic.get_weights()]
        step(toy_ring.sample_ring(64, rng))
        moved = any(not np.array_equal(a, b) for a, b in zip(before, generator.get_weights()))
        assert moved == (call % 3 == 0), f"call {call}"
        assert any(not np.array_equal(a, b) for a, b in zip(critic_before, critic.get_weights()))
        before = [w.copy() for w in generator.get_weights()]
    with pytest.raises(ValueError, match="n_critic=0"):
        wgan.make_wgan_gp_train_step(generator, critic, wgan.wgan_optimizer(), wgan.wgan_optimizer(), 4, n_critic=0)

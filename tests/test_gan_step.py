"""helpers.gan: each half of the step changes only its own network, and the noise is fresh."""

from __future__ import annotations

import keras  # noqa: E402
import numpy as np

from helpers import gan


def _nets():
    keras.utils.set_random_seed(0)
    g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="tanh")])
    d = keras.Sequential([keras.Input((16,)), keras.layers.Dense(1, activation="sigmoid")])
    return g, d


def test_step_trains_both_networks_and_returns_losses():
    g, d = _nets()
    g_before, d_before = [w.copy() for w in g.get_weights()], [w.copy() for w in d.get_weights()]
    step = gan.make_gan_train_step(g, d, keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), latent_dim=4)
    losses = step(np.ones((8, 16), np.float32))
    assert set(losses) == {"d_loss", "g_loss"} and all(np.isfinite(float(v)) for v in losses.values())
    assert any(not np.allclose(a, b) for a, b in zip(g.get_weights(), g_before))
    assert any(not np.allclose(a, b) for a, b in zip(d.get_weights(), d_before))


def test_discriminator_learns_to_separate_real_from_generated():
    g, d = _nets()
    step = gan.make_gan_train_step(g, d, keras.optimizers.Adam(0.0), keras.optimizers.Adam(5e-2), latent_dim=4)
    real = np.ones((32, 16), np.float32)
    first = float(step(real)["d_loss"])
    for _ in range(30):
        last = float(step(real)["d_loss"])
    assert last < 0.5 * first  # G frozen (lr 0): D must win easily


def test_noise_differs_between_calls():
    g, d = _nets()
    step = gan.make_gan_train_step(g, d, keras.optimizers.Adam(0.0), keras.optimizers.Adam(0.0), latent_dim=4)
    real = np.ones((8, 16), np.float32)
    # with both learning rates 0 the weights never change, so different losses mean different noise
    assert float(step(real)["g_loss"]) != float(step(real)["g_loss"])


def test_weight_average_follows_the_formula_and_includes_batchnorm_statistics():
    keras.utils.set_random_seed(0)

    def build():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.BatchNormalization()])

    model, average = build(), build()
    model(np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32), training=True)  # moves BN statistics
    before, current = [w.copy() for w in average.get_weights()], model.get_weights()
    gan.update_weight_average(average, model, 0.9)
    for a, b, w in zip(average.get_weights(), before, current):
        np.testing.assert_allclose(a, 0.9 * b + 0.1 * w, rtol=1e-5, atol=1e-6)
    assert len(average.get_weights()) == 6  # kernel, bias, gamma, beta, moving mean, moving variance


def test_step_with_ema_moves_the_average_towards_g_and_never_trains_it():
    g, d = _nets()
    ema = keras.models.clone_model(g)
    ema.set_weights(g.get_weights())
    start = [w.copy() for w in g.get_weights()]
    step = gan.make_gan_train_step(g, d, keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), latent_dim=4,
                                   ema_generator=ema, ema_decay=0.5)
    for _ in range(5):
        step(np.ones((8, 16), np.float32))
    for e, s, w in zip(ema.get_weights(), start, g.get_weights()):
        assert not np.allclose(e, s) and not np.allclose(e, w)  # between where G started and where it is
        assert np.abs(e - w).max() < np.abs(s - w).max()

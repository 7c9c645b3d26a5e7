"""The checks of notebook 01's exercises (helpers/exercises/gan.py), each proven both ways on small models.

The thresholds were measured at the notebook's exercise budget over several seeds (see the notebook's section
11); these tests make sure each check says ✗ on the unmodified state and ✓ on the exercise's outcome.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from helpers import data, evaluation  # noqa: E402
from helpers.exercises import gan as check  # noqa: E402

LATENT = 100


def build_generator(latent_dim=LATENT):
    """Notebook 01's generator (the fresh copy the check makes has the same architecture)."""
    return keras.Sequential([keras.Input(shape=(latent_dim,)),
                             layers.Dense(256), layers.LeakyReLU(0.2), layers.Dense(512), layers.LeakyReLU(0.2),
                             layers.Dense(1024), layers.LeakyReLU(0.2), layers.Dense(784, activation="tanh")])


def build_discriminator():
    return keras.Sequential([keras.Input(shape=(784,)), layers.Dense(512), layers.LeakyReLU(0.2),
                             layers.Dense(256), layers.LeakyReLU(0.2), layers.Dense(1, activation="sigmoid")])


@pytest.fixture(scope="module")
def digits():
    (x_train, _), (x_test, _) = data.load_mnist("mnist")
    return data.flatten(data.scale_to_symmetric(x_train)), x_test


@pytest.fixture(scope="module")
def judge():
    return evaluation.load_judge("mnist", verbose=False)


def _train_discriminator(discriminator, generator, real, steps=60, seed=0):
    """D alone learns real (1) vs the fakes of freshly initialised generators (0): 'D rejects the fakes'."""
    rng = np.random.default_rng(seed)
    # many fresh generators (none of them the check's own): D learns "grey noise is fake", not one net's noise
    generators = [generator] + [check.fresh_copy(generator, seed=100 * k) for k in range(1, 9)]
    optimizer = keras.optimizers.Adam(2e-3)  # decisive in few steps: mean D(fresh fakes) well below the check's 0.2
    bce = keras.losses.BinaryCrossentropy()
    for _ in range(steps):
        x = real[rng.integers(0, len(real), 64)]
        z = rng.normal(size=(64, LATENT)).astype("float32")
        fake = generators[rng.integers(len(generators))](z, training=False)
        with tf.GradientTape() as tape:
            d_real, d_fake = discriminator(x, training=True), discriminator(fake, training=True)
            loss = bce(tf.ones_like(d_real), d_real) + bce(tf.zeros_like(d_fake), d_fake)
        optimizer.apply_gradients(zip(tape.gradient(loss, discriminator.trainable_weights),
                                      discriminator.trainable_weights))


def test_exercise1_check_both_ways(digits):
    keras.utils.set_random_seed(0)
    bce = keras.losses.BinaryCrossentropy()
    generator, discriminator = build_generator(), build_discriminator()

    def non_saturating(d_on_fake):
        return bce(tf.ones_like(d_on_fake), d_on_fake)

    def saturating(d_on_fake):
        return -bce(tf.zeros_like(d_on_fake), d_on_fake)

    # an untrained D does not reject anything yet: ✗ with the "train first" hint, whatever the loss
    untrained = check.ex1(saturating, generator, discriminator)
    assert not untrained and "train first" in untrained.message
    _train_discriminator(discriminator, generator, digits[0])
    assert not check.ex1(non_saturating, generator, discriminator)  # the unmodified notebook's loss
    result = check.ex1(saturating, generator, discriminator)
    assert result, result.message
    assert result.measured["gradient ratio non-saturating / yours"] >= check.EX1_MIN_GRADIENT_RATIO


def test_exercise1_check_leaves_the_notebooks_random_state_alone():
    """The check builds a fresh generator; the notebook's later random draws must not depend on calling it."""
    generator, discriminator = build_generator(), build_discriminator()

    def next_draw(call_check: bool):
        keras.utils.set_random_seed(7)
        if call_check:
            check.ex1(lambda d: -tf.reduce_mean(d), generator, discriminator)
        return np.asarray(keras.random.normal((4,))), np.asarray(build_generator().get_weights()[0][:2, :2])

    untouched, after_check = next_draw(False), next_draw(True)
    for a, b in zip(untouched, after_check):
        np.testing.assert_array_equal(a, b)
    fresh = check.fresh_copy(generator)
    assert not np.array_equal(fresh.get_weights()[0], generator.get_weights()[0])  # new weights, not a copy
    np.testing.assert_array_equal(fresh.get_weights()[0], check.fresh_copy(generator).get_weights()[0])


def test_exercise2_check_both_ways(digits):
    x = digits[0][:64]
    y = np.ones(64)

    def make(flag_in_step: bool):
        keras.utils.set_random_seed(0)
        d = build_discriminator()
        d.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-4))
        d.trainable = False  # frozen for the combined model, as in section 5

        def d_step():
            if flag_in_step:
                d.trainable = True
            return d.train_on_batch(x, y)

        return d_step, d

    assert not check.ex2(*make(flag_in_step=True))  # the notebook as written: D trains in its own step
    frozen = check.ex2(*make(flag_in_step=False))  # the exercise: flag set once, before D's first step
    assert frozen and frozen.measured["|ΔD| in D's own step"] == 0.0


def _constant_generator(image, latent_dim=LATENT):
    """A fully collapsed generator: the same image for every z."""
    model = keras.Sequential([keras.Input(shape=(latent_dim,)), layers.Dense(784, activation="tanh")])
    model.layers[-1].set_weights([np.zeros((latent_dim, 784), "float32"),
                                  np.arctanh(np.clip(image.reshape(-1), -0.999, 0.999)).astype("float32")])
    return model


def test_exercise3_and_exercise4_checks_both_ways(digits, judge):
    from helpers import weights

    shipped = weights.load_model("gan_generator", "mnist", verbose=False)  # the notebook's own generator
    x_train, x_test = digits
    assert not check.ex3(shipped, judge, x_test)  # LATENT_DIM = 100: images change in many directions
    assert not check.ex4(shipped, judge, x_test)  # varied samples: no collapse
    keras.utils.set_random_seed(0)
    two_d = build_generator(latent_dim=2)
    result = check.ex3(two_d, judge, x_test)
    assert result and result.measured["directions an image can change in"] == 2
    collapsed = check.ex4(_constant_generator(x_train[0]), judge, x_test)
    assert collapsed and collapsed.measured["pixel spread vs real"] < 1e-6

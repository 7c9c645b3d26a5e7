"""DiffAugment (helpers/augment.py): each image shifted whole pixels and cut out, gradients passing through."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import augment, gan


def _digits(n=16):
    rng = np.random.default_rng(0)
    images = -np.ones((n, 28, 28, 1), "float32")
    images[:, 8:20, 10:18] = rng.uniform(-1, 1, (n, 12, 8, 1))  # a patch of ink away from the edges
    return tf.constant(images)


def test_translation_shifts_each_image_by_whole_pixels_with_background_filled_in():
    images = _digits()
    shifted = augment.diff_augment(images, keras.random.SeedGenerator(0), cutout=0).numpy()
    shifts = set()
    for original, out in zip(images.numpy()[..., 0], shifted[..., 0]):
        padded = np.pad(original, 4, constant_values=-1)
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if np.abs(padded[4 - dy:32 - dy, 4 - dx:32 - dx] - out).max() < 1e-5]
        assert found, "an output is not a whole-pixel shift of its input"
        shifts.add(found[0])
    assert len(shifts) > 4  # independent shifts per image, not one for the batch


def test_cutout_blanks_one_square_of_half_the_side_at_most():
    images = _digits() + 2.0  # no zeros anywhere before the cutout
    out = augment.diff_augment(images, keras.random.SeedGenerator(1), translation=0).numpy()[..., 0]
    blanked = (out == 0).sum(axis=(1, 2))
    assert blanked.max() <= 14 * 14 and blanked.min() > 0
    for image in out:  # the blanked pixels form one axis-aligned rectangle
        rows, cols = np.nonzero(image == 0)
        assert (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1) == len(rows)


def test_gradients_pass_through_and_bad_shapes_are_named():
    images = tf.Variable(_digits())
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(augment.diff_augment(images, keras.random.SeedGenerator(2)))
    grads = tape.gradient(total, images).numpy()
    assert set(np.unique(grads)) <= {0.0, 1.0} and grads.sum() > 0
    with pytest.raises(ValueError, match="Reshape flat images first"):
        augment.diff_augment(tf.zeros((4, 784)), keras.random.SeedGenerator(0))


def test_the_gan_step_augments_what_d_sees():
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(784, activation="tanh"),
                                  keras.layers.Reshape((28, 28, 1))])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(1, activation="sigmoid")])
    seen = []
    seeds = keras.random.SeedGenerator(3)

    def recording_augment(batch):
        seen.append(batch.shape)  # at trace time, per call site: real and fake in D's step, fake in G's
        return augment.diff_augment(batch, seeds)

    step = gan.make_gan_train_step(generator, discriminator, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                                   8, augment=recording_augment)
    losses = step(_digits())
    assert len(seen) % 3 == 0 and len(seen) >= 3  # (tf.function may trace the step twice on its first call)
    assert np.isfinite(float(losses["d_loss"])) and np.isfinite(float(losses["g_loss"]))

"""The GAN training step of notebook 01, as a reusable factory for later notebooks.

Notebook 01 writes this step out line by line (it is the teaching point there); notebook 03
trains two generators with the very same step, so it takes it from here instead of copying it.
"""

from __future__ import annotations

from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def update_weight_average(average_model, model, decay: float) -> None:
    """One step of an exponential moving average (EMA) of ``model``'s weights, kept in ``average_model``.

    ``average <- decay * average + (1 - decay) * weight`` for every weight, BatchNormalization's moving
    statistics included (they belong to the averaged weights). Why: a GAN's generator does not settle; it
    keeps moving as D moves, so the weights of any one step carry that step's noise (speckles, stray
    strokes). Averaging the recent steps' weights cancels much of it (Yazıcı et al., 2019; standard in
    BigGAN and StyleGAN); the average is used only for sampling and never trained, and costs no extra
    gradient. ``decay`` sets the memory: about ``1 / (1 - decay)`` steps.
    """
    for average, weight in zip(average_model.weights, model.weights):
        average.assign(decay * average + (1.0 - decay) * weight)


def make_gan_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim: int, seed: int = 0,
                        ema_generator=None, ema_decay: float = 0.999, real_label: float = 1.0, augment=None):
    """One compiled GAN iteration: a discriminator step, then a non-saturating generator step.

    D's loss is the mean of binary cross-entropy on real (label 1) and generated (label 0)
    images; G's loss is binary cross-entropy of D(G(z)) against label 1. Each tape only updates
    its own network's weights. Noise comes from a SeedGenerator (fresh noise on every call).
    With ``ema_generator`` (a second generator of the same architecture, starting from G's weights),
    each step ends with :func:`update_weight_average`. ``real_label`` below 1 is one-sided label
    smoothing (Salimans et al., 2016): D's target for real images only, e.g. 0.9, so D is never pushed to
    be certain; G's target stays 1. ``augment`` (e.g. :func:`helpers.augment.diff_augment` with its seed generator
    bound) transforms every batch D sees, real and generated, in both steps.
    """
    bce = keras.losses.BinaryCrossentropy()
    noise_seeds = keras.random.SeedGenerator(seed)
    seen_by_d = augment or (lambda images: images)

    @tf.function
    def train_step(real_images):
        batch_size = tf.shape(real_images)[0]
        noise = keras.random.normal((batch_size, latent_dim), seed=noise_seeds)
        with tf.GradientTape() as d_tape:
            d_real = discriminator(seen_by_d(real_images), training=True)
            d_fake = discriminator(seen_by_d(generator(noise, training=True)), training=True)
            d_loss = 0.5 * (bce(real_label * tf.ones_like(d_real), d_real) + bce(tf.zeros_like(d_fake), d_fake))
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_weights)
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_weights))

        noise = keras.random.normal((batch_size, latent_dim), seed=noise_seeds)
        with tf.GradientTape() as g_tape:
            d_on_fake = discriminator(seen_by_d(generator(noise, training=True)), training=True)
            g_loss = bce(tf.ones_like(d_on_fake), d_on_fake)
        g_grads = g_tape.gradient(g_loss, generator.trainable_weights)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_weights))
        if ema_generator is not None:
            update_weight_average(ema_generator, generator, ema_decay)
        return {"d_loss": d_loss, "g_loss": g_loss}

    return train_step

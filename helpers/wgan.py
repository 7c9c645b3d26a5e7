"""WGAN-GP's training step (Gulrajani et al., 2017, Algorithm 1), for the stabilisation experiments.

The critic D has no sigmoid: it scores, and its loss ``E[D(fake)] - E[D(real)] + lambda * GP`` estimates minus the
Wasserstein-1 distance when D is 1-Lipschitz. The gradient penalty ``GP = E[(||grad D(x_hat)|| - 1)^2]`` at points
``x_hat = alpha * real + (1 - alpha) * fake`` (alpha ~ U[0, 1] per example) pushes D towards that. The critic
trains ``n_critic`` times per generator step, each time on a fresh real batch, so one call of the step is one
critic update, and every ``n_critic``-th call also updates G (loss ``-E[D(G(z))]``). No batch normalisation in the
critic: the penalty is per example, and batch statistics would couple them.
"""

from __future__ import annotations

from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from .gan import update_weight_average  # noqa: E402

# The paper's defaults (Algorithm 1)
GP_WEIGHT, N_CRITIC = 10.0, 5


def wgan_optimizer(learning_rate: float = 1e-4) -> keras.optimizers.Optimizer:
    """Adam with the paper's beta_1 = 0, beta_2 = 0.9."""
    return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.9)


def gradient_penalty(critic, real, fake, alpha):
    """``E[(||grad D(x_hat)|| - 1)^2]`` at ``x_hat = alpha * real + (1 - alpha) * fake``: one interpolate per example,
    the gradient's norm taken over all of that example's pixels. Differentiable (call it inside the critic's tape)."""
    between = alpha * real + (1 - alpha) * fake
    with tf.GradientTape() as inner:
        inner.watch(between)
        scores = critic(between, training=True)
    gradients = inner.gradient(scores, between)
    slopes = tf.norm(tf.reshape(gradients, (tf.shape(gradients)[0], -1)), axis=1)
    return tf.reduce_mean(tf.square(slopes - 1.0))


def make_wgan_gp_train_step(generator, critic, g_optimizer, c_optimizer, latent_dim: int, *,
                            gp_weight: float = GP_WEIGHT, n_critic: int = N_CRITIC, seed: int = 0,
                            ema_generator=None, ema_decay: float = 0.999):
    """One compiled critic update per call (real batch in), and a generator update every ``n_critic``-th call.

    ``ema_generator`` (as in :func:`helpers.gan.make_gan_train_step`) moves towards G after each *generator*
    update, so ``ema_decay`` means the same number of G updates as in the non-saturating step."""
    if n_critic < 1:
        raise ValueError(f"n_critic={n_critic}: the critic must train at least once per generator step")
    seeds = keras.random.SeedGenerator(seed)
    calls = tf.Variable(0, dtype=tf.int64, trainable=False)
    # the optimizers' slots exist before tracing: G's first update happens inside a tf.cond branch
    g_optimizer.build(generator.trainable_weights)
    c_optimizer.build(critic.trainable_weights)

    def generator_update(batch_size):
        noise = keras.random.normal((batch_size, latent_dim), seed=seeds)
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(critic(generator(noise, training=True), training=True))
        grads = tape.gradient(g_loss, generator.trainable_weights)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_weights))
        if ema_generator is not None:
            update_weight_average(ema_generator, generator, ema_decay)
        return g_loss

    @tf.function
    def train_step(real):
        batch_size = tf.shape(real)[0]
        noise = keras.random.normal((batch_size, latent_dim), seed=seeds)
        alpha_shape = tf.concat([[batch_size], tf.ones(tf.rank(real) - 1, tf.int32)], axis=0)
        alpha = keras.random.uniform(alpha_shape, seed=seeds)
        with tf.GradientTape() as tape:
            fake = generator(noise, training=True)
            penalty = gradient_penalty(critic, real, fake, alpha)
            wasserstein = tf.reduce_mean(critic(real, training=True)) - tf.reduce_mean(critic(fake, training=True))
            c_loss = -wasserstein + gp_weight * penalty
        grads = tape.gradient(c_loss, critic.trainable_weights)
        c_optimizer.apply_gradients(zip(grads, critic.trainable_weights))
        calls.assign_add(1)
        g_loss = tf.cond(calls % n_critic == 0, lambda: generator_update(batch_size), lambda: tf.constant(0.0))
        return {"c_loss": c_loss, "wasserstein": wasserstein, "penalty": penalty, "g_loss": g_loss}

    return train_step

"""The GAN's optimal discriminator checked on a 1-D toy where every density is known (01's companion).

Goodfellow et al. (2014), Proposition 1 and Theorem 1: for a fixed generator, the discriminator that maximises
``V(D, G) = E_data[log D(x)] + E_g[log(1 - D(x))]`` is ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, and there
``V(D*, G) = -log 4 + 2 JSD(p_data || p_g)``. With Gaussian data and a Gaussian generator ``G(z) = mean + std z``
both sides are computable: :func:`optimal_discriminator` and :func:`jensen_shannon` by numerical integration
on a fine grid, :func:`train_discriminator` by training a small network on samples, as a GAN's D is trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .environment import quiet_tensorflow
from .plotting import _detached as detached  # closed in pyplot: shown once, where the notebook displays it

quiet_tensorflow()
import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import tensorflow as tf  # noqa: E402

LOG_4 = float(np.log(4.0))


@dataclass(frozen=True)
class Gaussian:
    """A 1-D normal distribution: the data, or the generator ``x = mean + std * z`` with ``z ~ N(0, 1)``."""

    mean: float
    std: float

    def __post_init__(self):
        if not self.std > 0:
            raise ValueError(f"Gaussian(std={self.std}): the standard deviation must be positive")

    def pdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype="float64")
        return np.exp(-0.5 * ((x - self.mean) / self.std) ** 2) / (self.std * np.sqrt(2 * np.pi))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return (self.mean + self.std * rng.standard_normal(n)).astype("float32")


def grid(data: Gaussian, generator: Gaussian, n: int = 20_001, width: float = 8.0) -> np.ndarray:
    """Points covering both densities to ``width`` standard deviations: enough for integrals to 1e-9."""
    low = min(data.mean - width * data.std, generator.mean - width * generator.std)
    high = max(data.mean + width * data.std, generator.mean + width * generator.std)
    return np.linspace(low, high, n)


def optimal_discriminator(data: Gaussian, generator: Gaussian, x) -> np.ndarray:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, the best D for a fixed G."""
    p_data, p_g = data.pdf(x), generator.pdf(x)
    return p_data / (p_data + p_g)


def _integrate(values: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((values[1:] + values[:-1]) * np.diff(x)) / 2)  # trapezoid rule


def jensen_shannon(data: Gaussian, generator: Gaussian) -> float:
    """JSD(p_data || p_g) in nats: the mean KL of each density to their average (0 to log 2)."""
    x = grid(data, generator)
    p, q = data.pdf(x), generator.pdf(x)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 * log 0 = 0 where a density underflows
        terms = 0.5 * (np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0))
    return _integrate(terms, x)


def value(discriminator_at, data: Gaussian, generator: Gaussian) -> float:
    """``V(D, G)`` for any ``D`` given as a function of x, by integration against both densities."""
    x = grid(data, generator)
    d = np.clip(discriminator_at(x), 1e-12, 1 - 1e-12)
    return _integrate(data.pdf(x) * np.log(d) + generator.pdf(x) * np.log1p(-d), x)


def weighted_error(discriminator_at, data: Gaussian, generator: Gaussian) -> float:
    """Mean |D(x) - D*(x)| where the samples are: weighted by the mixture (p_data + p_g) / 2.

    Far from both densities D* is fixed by ratios of vanishing tails that no sample ever shows a network, so an
    unweighted error would measure extrapolation, not the theorem.
    """
    x = grid(data, generator)
    gap = np.abs(discriminator_at(x) - optimal_discriminator(data, generator, x))
    return _integrate(gap * (data.pdf(x) + generator.pdf(x)) / 2, x)


def build_discriminator(hidden: int = 32) -> keras.Model:
    """A small MLP for 1-D inputs, ending in a logit (the sigmoid is applied in the loss and in :func:`as_function`)."""
    return keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(hidden, activation="tanh"),
                             keras.layers.Dense(hidden, activation="tanh"), keras.layers.Dense(1)],
                            name="toy_discriminator")


def as_function(discriminator: keras.Model):
    """The trained network as ``x -> D(x)`` on numpy arrays (for :func:`value` and :func:`weighted_error`)."""
    def discriminator_at(x):
        logits = discriminator(np.asarray(x, dtype="float32").reshape(-1, 1), training=False)
        return 1 / (1 + np.exp(-np.asarray(logits, dtype="float64").ravel()))
    return discriminator_at


def train_discriminator(data: Gaussian, generator: Gaussian, *, steps: int = 2_000, batch_size: int = 4_096,
                        learning_rate: float = 3e-3, seed: int = 0) -> keras.Model:
    """Maximise V(D, G) over D with G held fixed: the inner step of the GAN game, run to (near) convergence.

    Fresh samples of both densities every step (the binary cross-entropy of real -> 1, fake -> 0 is -V), so the
    network cannot memorise a finite sample.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps={steps}, batch_size={batch_size}: both must be at least 1")
    keras.utils.set_random_seed(seed)
    discriminator = build_discriminator()
    optimizer = keras.optimizers.Adam(learning_rate)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = bce(labels, discriminator(x, training=True))
        grads = tape.gradient(loss, discriminator.trainable_weights)
        optimizer.apply_gradients(zip(grads, discriminator.trainable_weights))
        return loss

    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = np.concatenate([data.sample(batch_size, rng), generator.sample(batch_size, rng)]).reshape(-1, 1)
        step(x)
    return discriminator


def discriminator_figure(data: Gaussian, generator: Gaussian, discriminator_at, title: str = "") -> plt.Figure:
    """The two densities (top) and the trained D over D* (bottom), where the samples are."""
    low = min(data.mean - 4 * data.std, generator.mean - 4 * generator.std)
    high = max(data.mean + 4 * data.std, generator.mean + 4 * generator.std)
    x = np.linspace(low, high, 400)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 4), sharex=True)
    top.plot(x, data.pdf(x), color="black", label="$p_{data}$")
    top.plot(x, generator.pdf(x), color="tab:orange", label="$p_g$")
    top.set_ylabel("density")
    top.legend(fontsize=8)
    bottom.plot(x, optimal_discriminator(data, generator, x), color="black", linestyle="--", label="$D^*$ (formula)")
    bottom.plot(x, discriminator_at(x), color="tab:blue", alpha=0.8, label="D (trained on samples)")
    bottom.set_ylim(-0.05, 1.05)
    bottom.set_xlabel("x")
    bottom.legend(fontsize=8)
    if title:
        top.set_title(title, fontsize=10)
    fig.tight_layout()
    return detached(fig)

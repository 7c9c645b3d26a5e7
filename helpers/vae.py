"""Variational autoencoder pieces shared by notebooks 04 (VAE) and 05 (CVAE).

- :class:`Sampling`: the reparameterization trick as a small layer (no ``Lambda``, so a saved
  model loads in Keras's safe mode). The encoder's second output is a **log-variance**, so
  ``z = mean + exp(0.5 * log_var) * eps`` with ``eps ~ N(0, I)``.
- :func:`kl_divergence` and :func:`bernoulli_nll`: the two terms of the negative ELBO, per
  example, with ``keras.ops`` so they work on numpy arrays and inside a compiled step.
- :func:`negative_elbo`: the test-set negative ELBO in nats per image;
  :func:`importance_sampled_nll`: a tighter (importance-sampled) estimate of -log p(x), whose
  gap to the negative ELBO estimates the KL between the encoder and the true posterior.
- :func:`negative_elbo_grey_and_binarised`: the same bound on grey-level test images (what the models
  train on; not a normalised likelihood) and on binarised ones (pixels > 0.5 -> 1, a proper
  Bernoulli likelihood, the convention of the literature and of the TF CVAE tutorial).
- :func:`latent_scatter` and :func:`manifold`: the two classic VAE pictures.
- Conditional VAEs (notebook 05): ``negative_elbo`` and ``importance_sampled_nll`` take
  ``conditions`` (one-hot labels, one row per image); the encoder is then called on ``[x, c]``
  and the decoder on ``[z, c]``. :func:`negative_elbo_per_label` scores every image under every
  label, and :func:`marginal_negative_elbo` sums the label out, a bound on -log p(x) that is
  comparable with an unconditional VAE's.

The encoder given to the evaluation functions maps (N, 784) images in [0, 1] to
``[z_mean, z_log_var, ...]`` (extra outputs such as a sampled ``z`` are ignored); the decoder
maps (N, latent_dim) points to (N, 784) Bernoulli means in (0, 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402
from keras import ops  # noqa: E402

EPSILON = 1e-7  # the clipping Keras's binary cross-entropy uses, so both give the same numbers
IW_DECODE_ROWS = 2_000  # images decoded per call in importance_sampled_nll (memory, not results)


@keras.saving.register_keras_serializable(package="course")
class Sampling(keras.layers.Layer):
    """``[z_mean, z_log_var] -> z = z_mean + exp(0.5 * z_log_var) * eps``, ``eps ~ N(0, I)``.

    The noise comes from a ``SeedGenerator`` held by the layer, so a compiled training step
    draws fresh noise on every call (a plain integer seed would repeat the same noise).
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def kl_divergence(z_mean, z_log_var):
    """KL( N(z_mean, diag(exp(z_log_var))) || N(0, I) ) per example, in nats (closed form)."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def bernoulli_nll(x, x_mean):
    """-log p(x | z) per example for a Bernoulli decoder: binary cross-entropy summed over pixels.

    ``x`` holds intensities in [0, 1] (treated as Bernoulli targets, the usual choice for MNIST);
    ``x_mean`` the decoder's sigmoid outputs, clipped to [1e-7, 1 - 1e-7] like Keras does.
    """
    p = ops.clip(x_mean, EPSILON, 1.0 - EPSILON)
    return -ops.sum(x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p), axis=-1)


def _check_images(images) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"expected flattened images of shape (N, 784), got {images.shape}: use data.flatten")
    if len(images) == 0:
        raise ValueError("no images to evaluate")
    if images.min() < 0.0 or images.max() > 1.0:
        raise ValueError(
            f"pixel values must lie in [0, 1] for a Bernoulli likelihood, found [{images.min():.2f}, "
            f"{images.max():.2f}]: use data.scale_to_unit"
        )
    return images


def _check_conditions(encoder, conditions, n: int) -> np.ndarray | None:
    """The one-hot labels of a conditional model as float32 (N, n_classes), or None; clear errors."""
    n_inputs = len(getattr(encoder, "inputs", None) or [None])
    if conditions is None:
        if n_inputs == 2:
            raise ValueError("this encoder takes [x, c]: pass conditions=data.one_hot(labels), one row per image")
        return None
    if n_inputs != 2:
        raise ValueError(f"conditions were given, but the encoder takes {n_inputs} input(s), not [x, c]")
    c = np.asarray(conditions, np.float32)
    if c.ndim != 2 or len(c) != n:
        raise ValueError(f"conditions must have one row per image, shape ({n}, n_classes), got {c.shape}: "
                         "use data.one_hot(labels)")
    return c


def _encode(encoder, x, c=None) -> tuple[np.ndarray, np.ndarray]:
    outputs = encoder(x if c is None else [x, c], training=False)
    if not isinstance(outputs, (list, tuple)) or len(outputs) < 2:
        raise ValueError("the encoder must return [z_mean, z_log_var, ...]")
    return np.asarray(outputs[0], np.float64), np.asarray(outputs[1], np.float64)


def _negative_elbo_terms(encoder, decoder, images, conditions, n_samples, batch_size, seed):
    """Per-image reconstruction and KL terms (two arrays of length N); see :func:`negative_elbo`."""
    images = _check_images(images)
    conditions = _check_conditions(encoder, conditions, len(images))
    if n_samples < 1 or batch_size < 1:
        raise ValueError("n_samples and batch_size must be at least 1")
    rng = np.random.default_rng(seed)
    recon, kl = [], []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        c = None if conditions is None else conditions[start : start + batch_size]
        z_mean, z_log_var = _encode(encoder, x, c)
        kl.append(np.asarray(kl_divergence(z_mean, z_log_var)))
        total = np.zeros(len(x))
        for _ in range(n_samples):
            z = (z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape)).astype(np.float32)
            x_mean = np.asarray(decoder(z if c is None else [z, c], training=False), np.float64)
            total += np.asarray(bernoulli_nll(x.astype(np.float64), x_mean))
        recon.append(total / n_samples)
    return np.concatenate(recon), np.concatenate(kl)


def negative_elbo(encoder, decoder, images, *, n_samples: int = 1, batch_size: int = 500,
                  seed: int = 0, conditions=None) -> dict[str, float]:
    """Mean negative ELBO over ``images`` in nats per image, and its two terms.

    ``reconstruction`` = E_q[-log p(x|z)] (Monte Carlo with ``n_samples`` draws of z per image,
    fixed ``seed`` so the number is reproducible), ``kl`` = KL(q(z|x) || p(z)) in closed form,
    ``negative_elbo`` = their sum: an upper bound on -log p(x). Lower is better.

    ``conditions`` (conditional VAE): one-hot labels, one row per image. The encoder then gets
    ``[x, c]``, the decoder ``[z, c]``, the prior stays N(0, I), and the result bounds -log p(x | c).
    """
    recon, kl = _negative_elbo_terms(encoder, decoder, images, conditions, n_samples, batch_size, seed)
    recon_mean, kl_mean = float(recon.mean()), float(kl.mean())
    return {"negative_elbo": recon_mean + kl_mean, "reconstruction": recon_mean, "kl": kl_mean}


def importance_sampled_nll(encoder, decoder, images, *, k: int = 100, batch_size: int = 100,
                           seed: int = 0, conditions=None) -> float:
    """An estimate of -log p(x) in nats per image, with ``k`` importance samples from q(z|x).

    -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x). With k = 1 its expectation is the negative ELBO;
    it decreases towards the true -log p(x) as k grows (Burda et al., 2016, the IWAE bound).
    With ``conditions`` (one-hot labels, as in :func:`negative_elbo`) it estimates -log p(x | c).
    """
    images = _check_images(images)
    conditions = _check_conditions(encoder, conditions, len(images))
    if k < 1 or batch_size < 1:
        raise ValueError("k and batch_size must be at least 1")
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].astype(np.float64)
        c = None if conditions is None else conditions[start : start + batch_size]
        z_mean, z_log_var = _encode(encoder, x, c)
        n, d = z_mean.shape
        eps = rng.standard_normal((k, n, d))
        z = z_mean + np.exp(0.5 * z_log_var) * eps  # (k, n, d)
        # decode the k samples a few at a time: all k x n images at once (k = 200, n = 100: 20,000 x 784 in
        # float64, and several temporaries of that size) once took the kernel past 2 GiB
        log_px_z = np.empty((k, n))
        chunk = max(1, IW_DECODE_ROWS // n)
        for first in range(0, k, chunk):
            rows = z[first : first + chunk]
            z_flat = rows.reshape(-1, d).astype(np.float32)
            x_mean = np.asarray(decoder(z_flat if c is None else [z_flat, np.tile(c, (len(rows), 1))],
                                        training=False), np.float64).reshape(len(rows), n, -1)
            log_px_z[first : first + chunk] = -np.asarray(bernoulli_nll(x[None], x_mean))
        log_pz = -0.5 * np.sum(z**2 + np.log(2 * np.pi), axis=-1)
        log_qz = -0.5 * np.sum(eps**2 + np.log(2 * np.pi) + z_log_var, axis=-1)
        log_w = log_px_z + log_pz - log_qz
        top = log_w.max(axis=0)
        out.append(-(top + np.log(np.mean(np.exp(log_w - top), axis=0))))
    return float(np.concatenate(out).mean())


def negative_elbo_per_label(encoder, decoder, images, *, num_classes: int = 10, n_samples: int = 1,
                            batch_size: int = 500, seed: int = 0) -> np.ndarray:
    """Negative ELBO of every image under every label, shape (N, num_classes), in nats.

    Column c is the bound on -log p(x | c) with the label c given to both networks. Every label
    uses the same noise draws (same ``seed``), so differences between columns come from the
    label, not from sampling. The column with the lowest value is the label that explains the
    image best: the conditional VAE used as a classifier.
    """
    images = _check_images(images)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    columns = []
    for label in range(num_classes):
        c = np.zeros((len(images), num_classes), np.float32)
        c[:, label] = 1.0
        recon, kl = _negative_elbo_terms(encoder, decoder, images, c, n_samples, batch_size, seed)
        columns.append(recon + kl)
    return np.stack(columns, axis=1)


def marginal_negative_elbo(per_label: np.ndarray, label_prior: np.ndarray | None = None) -> np.ndarray:
    """-log sum_c p(c) exp(-L(x, c)) per image, from the (N, K) output of :func:`negative_elbo_per_label`.

    Since p(x) = sum_c p(c) p(x | c) and each L(x, c) bounds -log p(x | c) from above, this bounds
    -log p(x) from above: the conditional VAE scored as a model of images alone, comparable with an
    unconditional VAE's negative ELBO. ``label_prior`` defaults to uniform (1/K each). The result
    lies between min_c L(x, c) and min_c L(x, c) - log p(c_min).
    """
    per_label = np.asarray(per_label, np.float64)
    if per_label.ndim != 2 or per_label.shape[1] < 2:
        raise ValueError(f"expected an (N, num_classes) array of negative ELBOs, got {per_label.shape}")
    k = per_label.shape[1]
    prior = np.full(k, 1.0 / k) if label_prior is None else np.asarray(label_prior, np.float64)
    if prior.shape != (k,) or (prior <= 0).any() or not np.isclose(prior.sum(), 1.0):
        raise ValueError(f"label_prior must be {k} positive probabilities summing to 1")
    log_terms = np.log(prior)[None, :] - per_label
    top = log_terms.max(axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.exp(log_terms - top).sum(axis=1)))


BINARISE_THRESHOLD = 0.5  # the TensorFlow CVAE tutorial's rule: pixels > 0.5 -> 1, else 0


def binarise(images, threshold: float = BINARISE_THRESHOLD) -> np.ndarray:
    """Images in [0, 1] -> float32 0/1 (pixel > ``threshold``), the data a Bernoulli likelihood is a density for."""
    images = _check_images(images)
    return (images > threshold).astype(np.float32)


@dataclass
class GreyAndBinarisedElbo:
    """A VAE's test negative ELBO two ways, labelled so they are never confused.

    ``grey_level``: on the grey-level images the model was trained on. A Bernoulli likelihood of a
    grey value in (0, 1) is not a normalised density (Loaiza-Ganem & Cunningham, 2019): the number
    is a training loss, comparable only between models scored the same way, not a bound on a true
    -log p(x). ``binarised``: the same model on the test images binarised at 0.5, a proper
    Bernoulli likelihood of 0/1 images and an upper bound on their -log p(x) in nats, the kind of
    number papers report for binarised MNIST (though those models are also *trained* on binarised
    digits, most on 60,000 of them, so expect ours to be worse).
    """

    grey_level: dict
    binarised: dict
    n_images: int

    def __str__(self) -> str:
        g, b = self.grey_level, self.binarised
        return (f"test negative ELBO on {self.n_images:,} images:\n"
                f"  grey-level (not a normalised likelihood)         {g['negative_elbo']:7.1f} nats "
                f"(reconstruction {g['reconstruction']:.1f} + KL {g['kl']:.1f})\n"
                f"  binarised (pixels > 0.5 -> 1; bounds -log p(x)) {b['negative_elbo']:7.1f} nats "
                f"(reconstruction {b['reconstruction']:.1f} + KL {b['kl']:.1f})")


def negative_elbo_grey_and_binarised(encoder, decoder, images, *, n_samples: int = 1, batch_size: int = 500,
                                     seed: int = 0, conditions=None) -> GreyAndBinarisedElbo:
    """:func:`negative_elbo` on ``images`` as given (grey-level) and binarised with :func:`binarise`.

    Same noise (``seed``) for both, so the difference comes from the data alone.
    """
    kwargs = dict(n_samples=n_samples, batch_size=batch_size, seed=seed, conditions=conditions)
    images = _check_images(images)
    return GreyAndBinarisedElbo(negative_elbo(encoder, decoder, images, **kwargs),
                                negative_elbo(encoder, decoder, binarise(images), **kwargs), len(images))


def latent_scatter(z: np.ndarray, labels: np.ndarray, *, class_names: Sequence[str] | None = None,
                   title: str | None = "Test set in the latent plane (posterior means)", size: float = 4.5,
                   limits: tuple[float, float, float, float] | None = None):
    """Scatter of 2-D latent points coloured by class, with a legend. Returns a closed Figure."""
    import matplotlib.pyplot as plt

    z = np.asarray(z)
    labels = np.asarray(labels)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"latent_scatter needs 2-D latent points (N, 2), got {z.shape}")
    if len(labels) != len(z):
        raise ValueError(f"{len(z)} points but {len(labels)} labels")
    fig, ax = plt.subplots(figsize=(size + 1.3, size))
    cmap = plt.get_cmap("tab10")
    for c in np.unique(labels):
        pts = z[labels == c]
        name = class_names[int(c)] if class_names is not None else str(c)
        ax.scatter(pts[:, 0], pts[:, 1], s=6, color=cmap(int(c) % 10), label=name, alpha=0.8, linewidths=0)
    if limits is not None:
        ax.set_xlim(limits[0], limits[1])
        ax.set_ylim(limits[2], limits[3])
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=2, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def manifold(decode: Callable[[np.ndarray], np.ndarray], n: int = 15, extent: float = 2.0):
    """Decode an ``n`` x ``n`` grid of latent points over [-extent, extent]^2 into one figure.

    Rows go from high z_2 (top) to low z_2 (bottom), columns from low z_1 to high z_1, so the
    picture is oriented like the latent scatter. Returns a closed Figure.
    """
    import matplotlib.pyplot as plt

    if n < 2 or extent <= 0:
        raise ValueError("manifold needs n >= 2 and extent > 0")
    values = np.linspace(-extent, extent, n)
    grid = np.array([[z1, z2] for z2 in values[::-1] for z1 in values], np.float32)
    images = np.asarray(decode(grid)).reshape(n, n, 28, 28)
    canvas = images.transpose(0, 2, 1, 3).reshape(n * 28, n * 28)
    fig, ax = plt.subplots(figsize=(6, 6))
    half = 0.5 * (values[1] - values[0])
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest",
              extent=(-extent - half, extent + half, -extent - half, extent + half))
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(f"Decoded digits over the latent plane ({n}×{n} grid)", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


"""The failure gallery (notebook 07): small models that fail on purpose, and the numbers that catch them.

Every deliberately broken model is shipped in ``data/weights/`` under a name starting with
:data:`FAILURE_PREFIX` and trained by ``scripts/train_failures.py`` from the builders below (the
script is the single source of the recipes; the notebook only loads). Each detector returns the
number the notebook shows and a verdict against a threshold that was chosen from measurements of
the failure models and of the healthy shipped models (``tests/test_failures.py`` keeps both sides):

==========================  =====================================  ==============================
failure                     the number                             trips when
==========================  =====================================  ==============================
mode collapse               class coverage, within-class diversity  < 8 classes or diversity < 0.5
label-blind conditional G   label accuracy (judge vs request)       < 30 %
posterior collapse (VAE)    test-set KL(q(z|x) || p(z)) in nats     < 1 nat
checkerboard artefacts      ``evaluation.checkerboard_score`` (%)   > 0.2 %
discriminator wins          D(G(z)); G's gradient norm, saturating  mean D(G(z)) < 0.05
==========================  =====================================  ==============================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import evaluation, vae
from .environment import quiet_tensorflow

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

FAILURE_PREFIX = "failure_"
SMALL_LATENT_DIM = 32

# Thresholds (measured values in the notebook and in the report of the commit that set them).
MIN_CLASSES_PRESENT = 8
MIN_DIVERSITY_RATIO = 0.5
MAX_BLIND_LABEL_ACCURACY = 0.30
MIN_KL_NATS = 1.0
MAX_CHECKERBOARD_PERCENT = 0.2  # healthy shipped models <= 0.04 %, the failure model 0.7 %
MIN_D_ON_FAKE = 0.05


def is_failure_model(name: str) -> bool:
    """Registry entries of the failure gallery: never to be compared as if they were healthy models."""
    return name.startswith(FAILURE_PREFIX)


# --------------------------------------------------------------------------- small models (the recipes' parts)


def build_small_generator(latent_dim: int = SMALL_LATENT_DIM, conditional: bool = False) -> keras.Model:
    """An MLP generator (z [, one-hot label] -> 256 -> 784, tanh), small enough to ship under 1 MB."""
    noise = keras.Input((latent_dim,), name="noise")
    inputs = [noise]
    h = noise
    if conditional:
        label = keras.Input((10,), name="label")
        inputs.append(label)
        h = layers.Concatenate()([noise, label])
    h = layers.Dense(256)(h)
    h = layers.LeakyReLU(0.2)(h)
    out = layers.Dense(784, activation="tanh")(h)
    return keras.Model(inputs if conditional else noise, out, name="small_generator")


def build_small_discriminator(conditional: bool = False) -> keras.Model:
    """An MLP discriminator (784 [+ one-hot label] -> 256 -> 1) that returns a *logit*, so both G
    losses (saturating and non-saturating) can be computed from it without clipping."""
    image = keras.Input((784,), name="image")
    h = image
    inputs = [image]
    if conditional:
        label = keras.Input((10,), name="label")
        inputs.append(label)
        h = layers.Concatenate()([image, label])
    h = layers.Dense(256)(h)
    h = layers.LeakyReLU(0.2)(h)
    logit = layers.Dense(1, name="logit")(h)
    return keras.Model(inputs if conditional else image, logit, name="small_discriminator")


def build_kernel3_transpose_generator(latent_dim: int = SMALL_LATENT_DIM) -> keras.Model:
    """A DCGAN generator whose transpose convolutions have kernel 3 and stride 2: 3 is not divisible
    by 2, so even and odd output pixels receive different numbers of kernel taps (a checkerboard)."""
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(7 * 7 * 32, use_bias=False), layers.BatchNormalization(), layers.ReLU(),
        layers.Reshape((7, 7, 32)),
        layers.Conv2DTranspose(16, 3, strides=2, padding="same", use_bias=False),  # 7 -> 14
        layers.BatchNormalization(), layers.ReLU(),
        layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh"),  # 14 -> 28
    ], name="kernel3_transpose_generator")


def build_conv_discriminator() -> keras.Model:
    """Notebook 03's discriminator, with a logit output: (28, 28, 1) -> 1."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(64, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dense(1),
    ], name="conv_discriminator")


def build_vae(latent_dim: int = 16, hidden: int = 64, seed: int = 0) -> tuple[keras.Model, keras.Model, keras.Model]:
    """Notebook 04's VAE (784 -> 64 -> z -> 64 -> 784, Bernoulli means): (encoder, decoder, whole model)."""
    image = keras.Input((784,), name="image")
    h = layers.Dense(hidden, activation="relu")(image)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = vae.Sampling(seed=seed, name="z")([z_mean, z_log_var])
    encoder = keras.Model(image, [z_mean, z_log_var, z], name="encoder")
    code = keras.Input((latent_dim,), name="z")
    decoded = layers.Dense(784, activation="sigmoid")(layers.Dense(hidden, activation="relu")(code))
    decoder = keras.Model(code, decoded, name="decoder")
    whole_input = keras.Input((784,), name="image")
    model = keras.Model(whole_input, decoder(encoder(whole_input)[2]), name=f"vae_{latent_dim}d")
    return encoder, decoder, model


# --------------------------------------------------------------------------- detectors


@dataclass
class ModeCollapse:
    coverage: evaluation.Coverage
    diversity: evaluation.Diversity

    @property
    def tripped(self) -> bool:
        return (self.coverage.classes_present < MIN_CLASSES_PRESENT
                or self.diversity.ratio < MIN_DIVERSITY_RATIO)

    def __str__(self) -> str:
        verdict = "MODE COLLAPSE" if self.tripped else "no collapse detected"
        return (f"{verdict}: {self.coverage.classes_present}/10 classes, entropy {self.coverage.entropy_bits:.2f} "
                f"bits; within-class diversity {self.diversity.ratio:.2f} of real "
                f"(trips below {MIN_CLASSES_PRESENT} classes or {MIN_DIVERSITY_RATIO} diversity)")


def mode_collapse(judge: evaluation.Judge, generated: np.ndarray, real_heldout: np.ndarray,
                  real_labels: np.ndarray, *, generated_labels: np.ndarray | None = None) -> ModeCollapse:
    """Class coverage (unconditional samples; the judge's labels) and within-class diversity.

    Coverage sees a missing class; diversity sees a class drawn one way only. A conditional model
    passes ``generated_labels`` (its requests), so coverage counts what was asked for, not drawn.
    """
    predicted = judge.predict_labels(generated) if generated_labels is None else np.asarray(generated_labels)
    coverage = evaluation.class_coverage(predicted)
    diversity = evaluation.within_class_diversity(judge, generated, real_heldout, generated_labels=generated_labels,
                                                  real_labels=real_labels)
    return ModeCollapse(coverage, diversity)


def label_blind(accuracy: evaluation.LabelAccuracy) -> bool:
    """A conditional generator whose samples match the requested label about as often as chance (10 %)."""
    return accuracy.overall < MAX_BLIND_LABEL_ACCURACY


def sample_spread(images: np.ndarray) -> float:
    """Mean pairwise Euclidean distance between images in [0, 1] pixel units (0: all identical)."""
    flat = evaluation.to_judge_input(images).reshape(len(images), -1)
    return evaluation.mean_pairwise_distance(flat)


@dataclass
class PosteriorCollapse:
    kl_nats: float  # mean KL(q(z|x) || p(z)) over the test images: the information z carries
    negative_elbo: float
    active_units: int  # latent dimensions whose mean moves with x (variance over x of E[z_d|x] > 0.01)
    latent_dim: int

    @property
    def tripped(self) -> bool:
        return self.kl_nats < MIN_KL_NATS

    def __str__(self) -> str:
        verdict = "POSTERIOR COLLAPSE" if self.tripped else "the code is used"
        return (f"{verdict}: KL {self.kl_nats:.2f} nats per image, {self.active_units} of {self.latent_dim} "
                f"latent units active; negative ELBO {self.negative_elbo:.1f} nats (trips below {MIN_KL_NATS} nat)")


def posterior_collapse(model: keras.Model, images_unit: np.ndarray, conditions=None,
                       seed: int = 0) -> PosteriorCollapse:
    """The KL term of the test-set ELBO and the active latent units (Burda et al., 2016) of a shipped VAE."""
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    result = vae.negative_elbo(encoder, decoder, images_unit, conditions=conditions, seed=seed)
    z_mean = np.asarray(encoder(images_unit if conditions is None else [images_unit, conditions], training=False)[0])
    active = int((z_mean.var(axis=0) > 0.01).sum())
    return PosteriorCollapse(result["kl"], result["negative_elbo"], active, z_mean.shape[1])


def has_checkerboard(score_percent: float) -> bool:
    return score_percent > MAX_CHECKERBOARD_PERCENT


@dataclass
class GeneratorGradients:
    d_on_fake: float  # mean D(G(z)): the probability D gives G's samples of being real
    saturating: float  # |grad of mean log(1 - D(G(z))) w.r.t. G's weights| (minimax loss, to be minimised)
    non_saturating: float  # |grad of mean -log D(G(z))| (the loss the course trains with)

    @property
    def tripped(self) -> bool:
        return self.d_on_fake < MIN_D_ON_FAKE

    def __str__(self) -> str:
        verdict = "D WINS" if self.tripped else "D does not win"
        return (f"{verdict}: mean D(G(z)) = {self.d_on_fake:.4f}; G's gradient norm: saturating "
                f"{self.saturating:.3g}, non-saturating {self.non_saturating:.3g} "
                f"(trips below D(G(z)) = {MIN_D_ON_FAKE})")


def generator_gradients(generator: keras.Model, discriminator: keras.Model, n: int = 256,
                        seed: int = 0) -> GeneratorGradients:
    """G's gradient norm under both losses, for one batch of ``n`` latents (D returns logits).

    With l = D's logit and D = sigmoid(l): d/dl log(1 - D) = -D and d/dl (-log D) = -(1 - D), so each
    sample pushes G back through D with weight D (saturating) or 1 - D (non-saturating). When D
    rejects every sample (D -> 0) the saturating gradient vanishes with D; the other one does not.
    """
    latent_dim = generator.inputs[0].shape[-1]
    z = tf.constant(np.random.default_rng(seed).normal(size=(n, latent_dim)), tf.float32)
    norms = {}
    for name in ("saturating", "non_saturating"):
        with tf.GradientTape() as tape:
            logits = discriminator(tf.reshape(generator(z, training=False), (n, *discriminator.inputs[0].shape[1:])),
                                   training=False)
            if name == "saturating":  # minimise log(1 - D) = -softplus(l)
                loss = -tf.reduce_mean(tf.nn.softplus(logits))
            else:  # minimise -log D = softplus(-l)
                loss = tf.reduce_mean(tf.nn.softplus(-logits))
        grads = tape.gradient(loss, generator.trainable_weights)
        norms[name] = float(tf.linalg.global_norm(grads))
    return GeneratorGradients(float(tf.reduce_mean(tf.sigmoid(logits))), norms["saturating"], norms["non_saturating"])

"""Checks for the exercises of notebook 01 (``01_gan.ipynb``, section 11 "Try it yourself").

Each ``exN`` measures the outcome its exercise is about and prints ✓ or ✗ with a hint. Thresholds were
measured over several seeds at the notebook's exercise budget (``BUDGET = "exercise"``); the numbers are in
``tests/test_exercises_gan.py`` and the notebook's exercise text.
"""

from __future__ import annotations

import numpy as np

from ..environment import quiet_tensorflow
from ._check import CheckResult, report

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

# Exercise 1: ||grad G|| under the non-saturating loss / under the student's loss, for a fresh generator
# judged by the trained discriminator. Over seeds 0-3 and 42 in the solutions notebook's fast run (benchmarks/
# RESULTS.md part G): the ratio is 1.0 for the untouched loss and 10.4-18.3 for the saturating one, so 3 sits a
# factor of 3 from both; mean D(G(z)) after D's training is 0.052-0.089 (0.1003 once with other thread counts),
# an untrained D gives about 0.5, so 0.2 leaves twice the largest seen. At D = 0.2 the per-image gradient ratio
# (1 - D) / D is still 4, above the 3 asked for.
EX1_MIN_GRADIENT_RATIO = 3.0
EX1_MAX_D_ON_FRESH_FAKES = 0.2  # "D rejects the fakes": mean D(G(z)) of a fresh generator below this
# Exercise 4: a collapsed generator (D not learning) vs a normal one at the same budget.
EX4_MAX_PIXEL_SPREAD = 0.4  # mean pairwise pixel distance of samples / the same for real test digits
EX4_N_SAMPLES = 200
EX4_MAX_CLASSES = 2  # classes with at least 2 % of the samples, as the judge labels them
# Exercise 3: a 2-D latent space.
EX3_LATENT_DIM = 2


def _latent_dim(generator) -> int:
    return int(generator.inputs[0].shape[-1])


def _bce(labels_value: float):
    bce = keras.losses.BinaryCrossentropy()
    return lambda d: bce(tf.fill(tf.shape(d), labels_value), d)


def generator_gradient_norm(loss_fn, generator, discriminator, noise) -> tuple[float, float]:
    """(global norm of d loss_fn(D(G(noise))) / d G's weights, mean D(G(noise))) — D is only read, not trained."""
    noise = tf.convert_to_tensor(noise, tf.float32)
    with tf.GradientTape() as tape:
        d_on_fake = discriminator(generator(noise, training=True), training=False)
        loss = loss_fn(d_on_fake)
    grads = tape.gradient(loss, generator.trainable_weights)
    if any(g is None for g in grads):
        raise ValueError("generator_loss gave no gradient for some of the generator's weights: it must be computed "
                         "from its argument d_on_fake (the discriminator's output on generated images)")
    return float(tf.linalg.global_norm(grads)), float(tf.reduce_mean(d_on_fake))


def fresh_copy(model, *, seed: int = 0):
    """``model``'s architecture with new initial weights from SEEDED initializers.

    ``keras.models.clone_model`` alone draws the new weights from Keras's global random state, so calling a check
    would change every random draw the notebook makes after it; seeded initializers leave that state alone.
    """
    def clone_layer(layer):
        config = layer.get_config()
        for offset, key in enumerate(("kernel_initializer", "bias_initializer")):
            initializer = config.get(key)
            if isinstance(initializer, dict) and "seed" in initializer.get("config", {}):
                initializer["config"]["seed"] = seed + 2 * len(seen) + offset
        seen.append(layer)
        return layer.__class__.from_config(config)

    seen: list = []
    return keras.models.clone_model(model, clone_function=clone_layer)


def gradient_ratio(generator_loss, generator, discriminator, *, n: int = 256, seed: int = 0,
                   copies: int = 4) -> tuple[float, float]:
    """(non-saturating gradient norm / ``generator_loss``'s, mean D on the fakes) for FRESH copies of ``generator``.

    A fresh generator (same architecture, new initial weights) is where training starts; the trained
    ``discriminator`` rejects its grey noise, which is the situation "while D wins". The norms are summed over
    ``copies`` fresh generators (n / copies noise vectors each), so no single initialisation decides.
    """
    noise = np.random.default_rng(seed).normal(size=(n, _latent_dim(generator))).astype("float32")
    reference = yours = d_sum = 0.0
    for index, chunk in enumerate(np.array_split(noise, copies)):
        fresh = fresh_copy(generator, seed=seed + 1000 * index)  # new initial weights: the first steps of training
        norm, d_mean = generator_gradient_norm(_bce(1.0), fresh, discriminator, chunk)
        reference, d_sum = reference + norm, d_sum + d_mean
        yours += generator_gradient_norm(generator_loss, fresh, discriminator, chunk)[0]
    return (reference / yours if yours > 0 else float("inf")), d_sum / copies


def ex1(generator_loss, generator, discriminator) -> CheckResult:
    """Saturating loss: with D rejecting the fakes, G's gradient is several times (at least 3x) smaller than the
    non-saturating one."""
    ratio, d_mean = gradient_ratio(generator_loss, generator, discriminator)
    measured = {"mean D(G(z)) for fresh G": d_mean, "gradient ratio non-saturating / yours": ratio}
    if d_mean > EX1_MAX_D_ON_FRESH_FAKES:
        return report("Exercise 1", False, success="", measured=measured,
                      hint="the discriminator does not reject a fresh generator's images yet (mean D(G(z)) should be "
                           f"below {EX1_MAX_D_ON_FRESH_FAKES}): train first, with WEIGHTS = 'train' and BUDGET = "
                           "'exercise', so that D has learnt what real digits look like.")
    return report(
        "Exercise 1", ratio >= EX1_MIN_GRADIENT_RATIO, measured=measured,
        success=f"while D rejects the fakes, your generator loss gives G a gradient {ratio:.0f}x smaller than the "
                "non-saturating loss: log(1 - D) is flat where D(G(z)) is near 0, -log D is steep there.",
        hint="your generator_loss gives G about as much gradient as the non-saturating one. Write the minimax form: G "
             "minimises log(1 - D(G(z))); binary cross-entropy against label 0 is -log(1 - D), so mind the sign.")


def ex2(lecture_d_step, lecture_discriminator) -> CheckResult:
    """Freeze once: D's own train_on_batch step leaves D's weights exactly where they were."""
    before = [np.array(w) for w in lecture_discriminator.get_weights()]
    lecture_d_step()
    moved = float(sum(np.abs(w - b).sum() for w, b in zip(lecture_discriminator.get_weights(), before)))
    return report(
        "Exercise 2", moved == 0.0, measured={"|ΔD| in D's own step": moved},
        success="D's own step changed nothing: its train function was traced while D was frozen, and setting the "
                "flag later does not rebuild it (compile() again or make_train_function(force=True) would).",
        hint="D still moves in its own step. Remove the line that sets lecture_discriminator.trainable = True from "
             "lecture_d_step, then re-run section 5 from its first code cell (it builds a fresh lecture_discriminator"
             ", whose train function must be traced for the first time while frozen).")


def pixel_spread(images: np.ndarray, reference: np.ndarray, n: int = EX4_N_SAMPLES, seed: int = 0) -> float:
    """Mean pairwise pixel distance of ``n`` images / the same for ``n`` reference images (0-1 scale, flat)."""
    from ..evaluation import mean_pairwise_distance
    from ..plotting import to_display_range

    rng = np.random.default_rng(seed)

    def flat(x):
        x = np.asarray(x)
        x = x[rng.choice(len(x), min(n, len(x)), replace=False)]
        return to_display_range(x).reshape(len(x), -1)

    return mean_pairwise_distance(flat(images)) / mean_pairwise_distance(flat(reference))


def _samples(generator, n: int, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).normal(size=(n, _latent_dim(generator))).astype("float32")
    return np.asarray(generator(z, training=False))


def local_dimension(generator, *, seed: int = 0, relative_tolerance: float = 1e-3) -> int:
    """In how many independent directions G's image can change around a typical z: the rank of dG/dz there.

    The Jacobian (784 x latent size) from a GradientTape; its singular values are counted above
    ``relative_tolerance`` of the largest. With a 2-D latent space it is at most 2: every image G draws lies on
    one 2-D sheet in image space, whatever the training did.
    """
    z = tf.constant(np.random.default_rng(seed).normal(size=(1, _latent_dim(generator))).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(z)
        images = tf.reshape(generator(z, training=False), (1, -1))
    jacobian = np.asarray(tape.batch_jacobian(images, z)[0], np.float64)
    singular = np.linalg.svd(jacobian, compute_uv=False)
    return int((singular > relative_tolerance * singular.max()).sum()) if singular.max() > 0 else 0


def ex3(generator, judge, real_heldout) -> CheckResult:
    """A 2-D latent space: G's images can change in only two directions; the samples' variety is reported."""
    dimension = local_dimension(generator)
    samples = _samples(generator, EX4_N_SAMPLES, seed=1)
    classes = int(np.unique(judge.predict_labels(samples)).size)
    measured = {"latent size": _latent_dim(generator), "directions an image can change in": dimension,
                "pixel spread vs real": pixel_spread(samples, real_heldout), "classes drawn": classes}
    return report(
        "Exercise 3", dimension <= EX3_LATENT_DIM, measured=measured,
        success="every image this generator can draw lies on one 2-D sheet: around any z it can change in only two "
                "directions. Compare the spread and classes printed here with those of LATENT_DIM = 100 at the same "
                "budget (run both), and look at the 100 samples: how many different styles of each digit do you see?",
        hint=f"around a typical z, this generator's image changes in {dimension} independent directions. Set "
             "LATENT_DIM = 2 in section 2 and Run All with BUDGET = 'exercise' (the new architecture starts a fresh "
             "run).")


def ex4(generator, judge, real_heldout) -> CheckResult:
    """Mode collapse on demand: G trained without D learning draws (almost) one image for every z."""
    samples = _samples(generator, EX4_N_SAMPLES, seed=1)
    spread = pixel_spread(samples, real_heldout)
    from ..evaluation import class_coverage

    coverage = class_coverage(judge.predict_labels(samples))
    measured = {"pixel spread vs real": spread, "classes present": coverage.classes_present,
                "entropy bits": coverage.entropy_bits}
    return report(
        "Exercise 4", spread <= EX4_MAX_PIXEL_SPREAD and coverage.classes_present <= EX4_MAX_CLASSES, measured=measured,
        success="the generator has collapsed: different z give (almost) the same image. With D not learning, G "
                "keeps climbing towards the one image D likes best — the 'Helvetica scenario' of Goodfellow et al.",
        hint=f"the samples still differ from one another (collapse: pixel spread at most {EX4_MAX_PIXEL_SPREAD} of "
             f"real digits' and at most {EX4_MAX_CLASSES} classes). "
             "Stop D from learning while G trains (see the exercise), Run All with BUDGET = 'exercise', and look at "
             "the 100 samples before calling this check again.")

"""Checks for the "Try it yourself" exercises of ``03_stabilising_gans``.

Both exercises are functions a student writes; each check calls the student's function on inputs whose answer is
known (a matrix's largest singular value from its SVD; a gradient penalty that is 0 or 4 for linear critics, and
``helpers.wgan.gradient_penalty`` on a small random critic), so no training run is needed.
"""

from __future__ import annotations

import numpy as np

from ..environment import quiet_tensorflow
from ._check import CheckResult, report, unanswered

quiet_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

# Power iteration converges geometrically, by (sigma_2 / sigma_1)^2 per iteration: 0.91-0.96 for the three seeded
# matrices below (random matrices are the slow case). Measured worst relative error from a seeded start: 4.6 % after
# 10 iterations, 0.63 % after 30, 0.03 % after 50 (the notebook's default): 1 % is 30x that; a wrong method (one
# product only, the wrong norm) misses by 10 % or more.
EX1_RELATIVE_TOLERANCE = 0.01
EX1_SHAPES = ((64, 32), (4 * 4 * 32, 64), (10, 300))  # a Dense kernel, a reshaped Conv2D kernel, a wide matrix
# float32: a right penalty matches the reference to 4 decimals (measured); the nearest wrong one measured (the
# penalty at the real images only) misses the conv critic's 0.2155 by 0.011, eleven times this tolerance.
EX2_TOLERANCE = 1e-3


def ex1_matrices(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype("float32") / np.sqrt(shape[0]) for shape in EX1_SHAPES]


def ex1(largest_singular_value) -> CheckResult:
    """Exercise 1: ``largest_singular_value(matrix)`` (power iteration) agrees with the SVD on three matrices."""
    name = "Exercise 1"
    matrices = ex1_matrices()
    try:
        answers = [largest_singular_value(m) for m in matrices]
    except Exception as error:  # a student's code: say what failed, as a hint
        return report(name, False, success="", hint=(
            f"your function raised {type(error).__name__}: {error}. It takes one 2-D numpy array and returns a "
            "number."))
    if any(unanswered(a) for a in answers):
        return report(name, False, success="", hint=(
            "write largest_singular_value: start from a random vector u, repeat v = normalise(W u), "
            "u = normalise(Wᵀ v), then return ‖W u‖ (section 1)."))
    truth = [float(np.linalg.svd(m, compute_uv=False)[0]) for m in matrices]
    try:
        answers = [float(a) for a in answers]
    except (TypeError, ValueError):
        return report(name, False, success="", measured={"your answers": repr(answers)},
                      hint="return one number (a float) per matrix.")
    errors = [abs(a - t) / t for a, t in zip(answers, truth)]
    measured = {f"{shape[0]}×{shape[1]}": f"{a:.4f} (SVD {t:.4f})" for shape, a, t in zip(EX1_SHAPES, answers, truth)}
    if max(errors) <= EX1_RELATIVE_TOLERANCE:
        return report(name, True, hint="", measured=measured, success=(
            "your power iteration finds σ_max, the number SpectralNormalization divides each kernel by; a few "
            "iterations are enough because the layer keeps its vector from one training step to the next."))
    return report(name, False, success="", measured=measured, hint=(
        "some answers differ from the SVD by more than 1 %. Alternate the two products (W then Wᵀ), normalise after "
        "each, iterate enough times (try 50), and return the length of W u for the final unit vector u."))


def _linear_critic(slope: float, shape=(28, 28, 1)) -> keras.Model:
    """A critic D(x) = slope · (w · x) with a fixed unit vector w: its gradient's norm is |slope| everywhere."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(int(np.prod(shape)), 1)).astype("float32")
    w /= np.linalg.norm(w)
    model = keras.Sequential([keras.Input(shape=shape), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    model.layers[-1].set_weights([slope * w])
    return model


def _small_critic() -> keras.Model:
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input(shape=(28, 28, 1)),
                             keras.layers.Conv2D(8, 4, strides=2, padding="same", activation="tanh"),
                             keras.layers.Conv2D(8, 4, strides=2, padding="same", activation="tanh"),
                             keras.layers.Flatten(), keras.layers.Dense(1)])


def ex2_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    real = tf.constant(rng.uniform(-1, 1, size=(8, 28, 28, 1)).astype("float32"))
    fake = tf.constant((0.5 + 0.5 * rng.uniform(-1, 1, size=(8, 28, 28, 1))).astype("float32"))  # unlike `real`
    alpha = tf.constant(rng.uniform(size=(8, 1, 1, 1)).astype("float32"))
    return real, fake, alpha


def ex2(gradient_penalty) -> CheckResult:
    """Exercise 2: the student's ``gradient_penalty(critic, real, fake, alpha)`` gives 0 and 4 for linear critics
    of slope 1 and 3, and the reference value on a small convolutional critic."""
    from ..wgan import gradient_penalty as reference

    name = "Exercise 2"
    real, fake, alpha = ex2_inputs()
    critics = {"slope 1": _linear_critic(1.0), "slope 3": _linear_critic(3.0), "conv critic": _small_critic()}
    expected = {"slope 1": 0.0, "slope 3": 4.0, "conv critic": float(reference(critics["conv critic"], real, fake,
                                                                                  alpha))}
    got = {}
    for label, critic in critics.items():
        try:
            value = gradient_penalty(critic, real, fake, alpha)
        except Exception as error:  # a student's code: say what failed, as a hint
            return report(name, False, success="", hint=(
                f"your function raised {type(error).__name__}: {error} (on the {label} critic). Watch the "
                "interpolates with a GradientTape, take the gradient of the critic's scores with respect to them."))
        if unanswered(value):
            return report(name, False, success="", hint=(
                "write gradient_penalty: interpolate x̂ = α·real + (1 − α)·fake, take ∇D(x̂) with a GradientTape, its "
                "norm per example over all pixels, then the mean of (norm − 1)²."))
        try:
            got[label] = float(value)
        except (TypeError, ValueError):
            return report(name, False, success="", measured={"returned": repr(value)[:80]},
                          hint="return one number: the mean over the batch.")
    measured = {label: f"{got[label]:.4f} (expected {expected[label]:.4f})" for label in critics}
    if all(abs(got[k] - expected[k]) <= EX2_TOLERANCE * max(1.0, abs(expected[k])) for k in critics):
        return report(name, True, hint="", measured=measured, success=(
            "the penalty is zero only where the critic's slope is exactly 1: it pulls D towards a 1-Lipschitz "
            "function along the lines between real and generated images."))
    hints = []
    if abs(got["slope 3"] - 2.0) < 1e-3 or abs(got["slope 3"] - 8.0) < 1e-3:
        hints.append("slope 3 should give (3 − 1)² = 4: square the distance from 1, not the norm")
    if abs(got["slope 1"]) > EX2_TOLERANCE:
        hints.append("a critic of slope 1 must cost nothing: is the norm taken per example, over every pixel?")
    return report(name, False, success="", measured=measured, hint=(
        "; ".join(hints) or "compare with the formula in section 1: the norm per example (over all of its pixels), "
        "then the mean over the batch of (norm − 1)²") + ".")

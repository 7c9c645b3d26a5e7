"""Checks for the "Try it yourself" exercises of ``03_dcgan``.

Each check measures the outcome its exercise is about (thresholds measured over 3 seeds in the
notebook's ``BUDGET = "exercise"`` run, 310 steps on 4,000 digits; the numbers are in the docstrings):

- ``ex1(generator, history)``: kernel 3 with stride 2 gives *uneven* overlap counts (read from the
  generator's own ``Conv2DTranspose`` layers) and the edited generator was really trained;
- ``ex2(generator, history)``: without batch normalization D wins the game (its loss falls) and the
  generator's samples vary less from one noise vector to the next;
- ``ex3(predicted_shape)``: the student's predicted output shape equals the layer's.
"""

from __future__ import annotations

import numpy as np

from ..environment import quiet_tensorflow
from ._check import CheckResult, report, unanswered

quiet_tensorflow()
import keras  # noqa: E402

from .. import evaluation, plotting  # noqa: E402

# Ex 2, measured (seeds 0, 1, 2; exercise budget, 310 steps on 4,000 sample digits; kernel-4 transpose generator).
# D's loss, mean of the last 50 steps: with batch normalization 0.432, 0.494, 0.408; without it 0.082, 0.087, 0.148
# (biases on) and 0.093, 0.132, 0.206 (biases off, the plain deletion). Spread of the last snapshot of 100
# fixed-noise samples ([0, 1] units): with BN 0.154, 0.159, 0.163; without 0.045, 0.011, 0.026 (biases on) and
# 0.054, 0.086, 0.110 (biases off): D's loss separates the two more widely, so it is the verdict.
D_WINS_LOSS = 0.3  # between the highest loss without BN (0.206) and the lowest with it (0.408)
MIN_STEPS_EX2 = 250  # the effect needs most of the exercise budget (310 steps); 6 fast-mode steps show nothing


def transpose_layers(generator: keras.Model) -> list:
    """The generator's upsampling ``Conv2DTranspose`` layers (stride > 1), in order."""
    found = [layer for layer in _all_layers(generator) if isinstance(layer, keras.layers.Conv2DTranspose)]
    return [layer for layer in found if max(layer.strides) > 1]


def _all_layers(model) -> list:
    flatten = getattr(model, "_flatten_layers", None)
    return list(flatten(include_self=False, recursive=True)) if flatten else list(getattr(model, "layers", []))


def overlap_counts(layer, n_in: int = 6) -> np.ndarray:
    """How many input pixels write into each output pixel of ``layer``'s wiring (interior, away from borders).

    A probe with the layer's own kernel size and strides, one channel, a kernel of ones and no bias, applied
    to a constant input: its output *is* the count of kernel stamps landing on each pixel (section 4).
    """
    kernel, strides = tuple(layer.kernel_size), tuple(layer.strides)
    probe = keras.layers.Conv2DTranspose(1, kernel, strides=strides, padding="valid", use_bias=False)
    probe.build((1, n_in, n_in, 1))
    probe.set_weights([np.ones((*kernel, 1, 1), dtype="float32")])
    out = probe(np.ones((1, n_in, n_in, 1), dtype="float32")).numpy()[0, :, :, 0]
    crop_r, crop_c = kernel
    return np.rint(out[crop_r:-crop_r, crop_c:-crop_c]).astype(int)


def sample_spread(images: np.ndarray) -> float:
    """Mean over pixels of the standard deviation across a batch of samples, in [0, 1] pixel units.

    Near 0: every sample is (almost) the same image — the collapse the DCGAN paper says batch
    normalization prevents. Real test digits: about 0.3; the course's generators with BN: 0.15-0.16
    after the exercise budget.
    """
    pixels = plotting.to_display_range(np.asarray(images))
    return float(pixels.reshape(len(pixels), -1).std(axis=0).mean())


def _trained_here(history) -> bool:
    return history is not None and getattr(history, "steps_done", 0) > 0 and bool(getattr(history, "samples", None))


_TRAIN_HINT = ("There is no training history for this generator in this kernel: set WEIGHTS = \"train\" and "
               "BUDGET = \"exercise\" in the parameters cell, then re-run the cells from the model cell down to "
               "training (the edited model trains as a fresh run)")


def ex1(generator: keras.Model, history) -> CheckResult:
    """Exercise 1: the transpose generator's upsampling layers have uneven overlap counts, and it was trained."""
    layers = transpose_layers(generator)
    if not layers:
        return report("Exercise 1", False, success="", hint=(
            "this generator has no Conv2DTranspose layer with a stride above 1: pass the transpose-convolution "
            "generator (generators[\"transpose conv\"])."))
    counts = [overlap_counts(layer) for layer in layers]
    kernels = [tuple(layer.kernel_size) for layer in layers]
    uneven = [int(c.max()) > int(c.min()) for c in counts]
    measured = {"kernel sizes": kernels, "strides": [tuple(layer.strides) for layer in layers],
                "overlap counts (min-max per layer)": [f"{c.min()}-{c.max()}" for c in counts]}
    if not all(uneven):
        return report("Exercise 1", False, success="", measured=measured, hint=(
            "every output pixel of these layers receives the same number of kernel stamps (even overlap), so the "
            "wiring itself cannot draw a checkerboard. Which kernel sizes make neighbouring output pixels receive "
            "different counts at stride 2? Section 4's overlap_counts(kernel_size, stride) lets you try. Change "
            "both Conv2DTranspose layers."))
    if not _trained_here(history):
        return report("Exercise 1", False, success="", measured=measured, hint=_TRAIN_HINT)
    first, last = history.samples[0], history.samples[-1]
    measured.update({"steps trained": history.steps_done,
                     "checkerboard % at epoch 0": round(evaluation.checkerboard_score(first), 2),
                     f"checkerboard % at epoch {history.sample_epochs[-1]}": round(evaluation.checkerboard_score(last),
                                                                                   2)})
    return report("Exercise 1", True, measured=measured, hint="", success=(
        "uneven overlap: neighbouring output pixels receive different numbers of kernel stamps, so even a "
        "constant input comes out as a grid. Compare the checkerboard score of the untrained snapshot with the "
        "last one: training has to learn kernel weights that cancel the pattern — on MNIST it mostly does, "
        "which is why section 7 looks for the artefact at initialisation."))


def ex2(generator: keras.Model, history) -> CheckResult:
    """Exercise 2: no batch normalization in the generator, trained ≥ MIN_STEPS_EX2 steps, and D wins
    (its mean loss over the last 50 steps below D_WINS_LOSS); the samples' spread is reported beside it."""
    n_bn = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in _all_layers(generator))
    if n_bn:
        return report("Exercise 2", False, success="", measured={"BatchNormalization layers": n_bn}, hint=(
            "the generator still normalises its activations: remove every BatchNormalization layer from "
            "build_transpose_generator (one after the Dense layer, one after the first Conv2DTranspose), then "
            "train again."))
    if not _trained_here(history):
        return report("Exercise 2", False, success="", hint=_TRAIN_HINT)
    spread = sample_spread(history.samples[-1])
    d_losses = np.asarray(history.step_losses.get("d_loss", [np.nan]), dtype=float)
    measured = {"steps trained": history.steps_done, "sample spread": round(spread, 3),
                "D loss (last 50 steps)": round(float(d_losses[-50:].mean()), 3)}
    if history.steps_done < MIN_STEPS_EX2:
        return report("Exercise 2", False, success="", measured=measured, hint=(
            f"{history.steps_done} steps are too few to see what batch normalization does: train with "
            f"BUDGET = \"exercise\" (at least {MIN_STEPS_EX2} steps)."))
    passed = measured["D loss (last 50 steps)"] < D_WINS_LOSS
    return report("Exercise 2", passed, measured=measured, success=(
        "without batch normalization D wins (its loss falls far below the ≈0.4-0.5 of the run with batch "
        "normalization) and G's samples vary less from one noise vector to the next (compare the spread with the "
        "0.15-0.16 of the generator with batch normalization): G learns slowly and drifts towards one output, "
        "the failure the DCGAN paper says batch normalization prevented."), hint=(
        f"D's loss is still {measured['D loss (last 50 steps)']} (≥ {D_WINS_LOSS}): the game is still balanced. "
        "Did the run train from scratch for the whole exercise budget? Look at D's loss curve and the "
        "progression grid."))


def ex3(predicted_shape) -> CheckResult:
    """Exercise 3: the predicted output shape of Conv2DTranspose(8, 5, strides=3, padding="valid") on a
    (1, 4, 4, 2) input equals what the layer returns."""
    layer = keras.layers.Conv2DTranspose(8, 5, strides=3, padding="valid")
    actual = tuple(int(d) for d in layer(np.zeros((1, 4, 4, 2), dtype="float32")).shape)
    if unanswered(predicted_shape):
        return report("Exercise 3", False, success="", hint=(
            "set predicted_shape to your prediction, a tuple (batch, height, width, channels), worked out with "
            "section 4's formula before calling the layer."))
    try:
        predicted = tuple(int(d) for d in predicted_shape)
    except (TypeError, ValueError):
        return report("Exercise 3", False, success="", measured={"your prediction": repr(predicted_shape)},
                      hint="give the shape as a tuple of four whole numbers, (batch, height, width, channels).")
    if predicted == actual:
        return report("Exercise 3", True, hint="", measured={"your prediction": predicted}, success=(
            "the layer agrees: each side is (in − 1)·stride + kernel with valid padding, and the last axis is the "
            "number of filters."))
    wrong = [name for name, p, a in zip(("batch", "height", "width", "channels"), predicted, actual) if p != a]
    if len(predicted) != len(actual):
        wrong = ["the number of axes (4: batch, height, width, channels)"]
    return report("Exercise 3", False, success="", measured={"your prediction": predicted}, hint=(
        f"the layer's output differs in: {', '.join(wrong)}. Sides: section 4's formula with valid padding (no "
        "cropping); channels: what does the first argument of Conv2DTranspose set?"))


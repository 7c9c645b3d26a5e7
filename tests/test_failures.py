"""The failure gallery (notebook 07): every shipped failure model trips its detector, every healthy
shipped model does not, and each failure model is registered small with its provenance.

The thresholds live in ``helpers/failures.py``; the measured numbers they were chosen from are in the
notebook (claims) and in the commit's report. Evaluation sizes match the notebook's fast mode (200 images).
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import data, evaluation, failures, weights

N = 200
FAILURE_MODELS = {
    "failure_mode_collapse_generator": "mode collapse",
    "failure_label_blind_generator": "label-blind conditional GAN",
    "failure_posterior_collapse_vae": "posterior collapse",
    "failure_checkerboard_generator": "checkerboard artefacts",
    "failure_dwins_generator": "discriminator wins (the generator)",
    "failure_dwins_discriminator": "discriminator wins (the winning discriminator)",
    "failure_dwins_balanced_discriminator": "discriminator wins (the healthy reference discriminator)",
}
HEALTHY_GANS = ["gan_generator", "dcgan_transpose_generator", "dcgan_upsample_generator", "cgan_generator"]
HEALTHY_CONDITIONAL = ["cgan_generator", "cvae_2d"]
HEALTHY_VAES = ["vae_2d", "vae_16d", "cvae_2d"]
HEALTHY_IMAGE_MODELS = HEALTHY_GANS[:3] + HEALTHY_VAES + ["cgan_generator"]


@pytest.fixture(scope="module")
def judge():
    return evaluation.load_judge("mnist", verbose=False)


@pytest.fixture(scope="module")
def heldout():
    arrays = data.load_embedded_sample()
    return arrays["x_test"], arrays["y_test"].astype(int)


@pytest.fixture(scope="module")
def evaluation_digits(heldout):
    """N test digits of every class (the test split is sorted by class), as the notebook picks them."""
    pick = np.random.default_rng(0).permutation(len(heldout[0]))[:N]
    return heldout[0][pick], heldout[1][pick]


def _load(name):
    return weights.load_model(name, verbose=False)


def _samples(model, labels=None):
    return evaluation.sample_images(model, N, seed=1, labels=labels)


def test_every_failure_model_is_registered_small_and_reproducible():
    entries = weights.registry()
    assert set(FAILURE_MODELS) <= set(entries), f"missing: {sorted(set(FAILURE_MODELS) - set(entries))}"
    gallery = {name for name in entries if failures.is_failure_model(name)}
    assert gallery == set(FAILURE_MODELS), "every gallery entry is tested here"
    for name in FAILURE_MODELS:
        info = entries[name]
        assert info["bytes"] <= 1_000_000, f"{name}: {info['bytes']:,} bytes, over the 1 MB a failure model may take"
        assert info["command"].startswith("python scripts/train_failures.py "), name
        assert info["data_source"] == "embedded sample" and info["dataset"] == "mnist", name
        assert info["train_seconds"] > 0 and info["recipe"], name
        weights.load_model(name, verbose=False)  # checksum, safe mode, shapes
    assert not any(failures.is_failure_model(name) for name in HEALTHY_IMAGE_MODELS)


@pytest.mark.parametrize("name", ["failure_mode_collapse_generator", *HEALTHY_GANS])
def test_mode_collapse_detector(name, judge, heldout):
    model = _load(name)
    conditional = evaluation.model_kind(model).startswith("conditional")
    requested = np.arange(N) % 10 if conditional else None
    result = failures.mode_collapse(judge, _samples(model, requested), *heldout, generated_labels=requested)
    assert result.tripped == failures.is_failure_model(name), f"{name}: {result}"


@pytest.mark.parametrize("name", ["failure_label_blind_generator", *HEALTHY_CONDITIONAL])
def test_label_blind_detector(name, judge):
    model = _load(name)
    requested = np.arange(N) % 10
    accuracy = evaluation.label_accuracy(judge, _samples(model, requested), requested)
    assert failures.label_blind(accuracy) == failures.is_failure_model(name), f"{name}: {accuracy}"


@pytest.mark.parametrize("name", ["failure_posterior_collapse_vae", *HEALTHY_VAES])
def test_posterior_collapse_detector(name, evaluation_digits):
    model = _load(name)
    x_test, y_test = evaluation_digits
    images = data.flatten(data.scale_to_unit(x_test)).astype(np.float32)
    conditions = data.one_hot(y_test) if evaluation.model_kind(model) == "conditional vae" else None
    result = failures.posterior_collapse(model, images, conditions)
    assert result.tripped == failures.is_failure_model(name), f"{name}: {result}"
    if result.tripped:  # samples identical: the decoder ignores z
        spread = failures.sample_spread(_samples(model))
        assert spread < 0.1 * failures.sample_spread(x_test), spread


@pytest.mark.parametrize("name", ["failure_checkerboard_generator", *HEALTHY_IMAGE_MODELS])
def test_checkerboard_detector(name):
    model = _load(name)
    kind = evaluation.model_kind(model)
    labels = np.arange(N) % 10 if kind.startswith("conditional") else None
    score = evaluation.checkerboard_score(_samples(model, labels))
    assert failures.has_checkerboard(score) == failures.is_failure_model(name), f"{name}: {score:.3f} %"


def test_winning_discriminator_detector():
    generator = _load("failure_dwins_generator")
    winning = failures.generator_gradients(generator, _load("failure_dwins_discriminator"))
    balanced = failures.generator_gradients(generator, _load("failure_dwins_balanced_discriminator"))
    assert winning.tripped and not balanced.tripped, (str(winning), str(balanced))
    # the saturating gradient vanishes with D(G(z)); the non-saturating one does not
    assert winning.saturating < 0.1 * winning.non_saturating
    assert winning.saturating < 0.1 * balanced.saturating


def test_generator_gradients_follow_d_on_fake():
    """On a toy pair, D's bias sets D(G(z)); the saturating gradient shrinks with it, as d/dl log(1 - D) = -D."""
    import keras

    keras.utils.set_random_seed(0)
    generator, discriminator = failures.build_small_generator(), failures.build_small_discriminator()
    bias = discriminator.get_layer("logit").bias
    results = {}
    for logit_shift in (0.0, -8.0):
        bias.assign(np.array([logit_shift], np.float32))
        results[logit_shift] = failures.generator_gradients(generator, discriminator, n=64)
    neutral, rejecting = results[0.0], results[-8.0]
    assert 0.3 < neutral.d_on_fake < 0.7 and rejecting.d_on_fake < 0.01
    assert not neutral.tripped and rejecting.tripped
    assert rejecting.saturating < 0.01 * neutral.saturating
    assert rejecting.non_saturating > 0.5 * neutral.non_saturating

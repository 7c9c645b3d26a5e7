"""helpers.vae (Sampling, KL, ELBO) and the VAE widgets of notebook 04."""

from __future__ import annotations

import keras  # noqa: E402  (after helpers: TensorFlow is imported quietly)
import numpy as np
import pytest
import tensorflow as tf
from conftest import run_fresh_python

from helpers import vae
from helpers import widgets as course_widgets


def _encoder(latent_dim=2, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((784,))
    h = keras.layers.Dense(16, activation="relu")(inputs)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(h)
    z = vae.Sampling(seed=seed)([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")


def _decoder(latent_dim=2, seed=1):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(784, activation="sigmoid")], name="decoder")


def _images(n=20, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 784)).astype(np.float32)


def test_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean = np.array([0.7, -1.2, 0.1])
    log_var = np.array([-0.5, 0.8, -2.0])
    closed = float(vae.kl_divergence(mean[None], log_var[None])[0])
    std = np.exp(0.5 * log_var)
    z = mean + std * rng.standard_normal((400_000, 3))
    log_q = -0.5 * np.sum(((z - mean) / std) ** 2 + np.log(2 * np.pi) + log_var, axis=1)
    log_p = -0.5 * np.sum(z**2 + np.log(2 * np.pi), axis=1)
    assert closed == pytest.approx(float(np.mean(log_q - log_p)), abs=0.01)
    assert closed > 1.0  # far from the prior: a clearly positive number, not a trivially small one
    assert float(vae.kl_divergence(np.zeros((1, 4)), np.zeros((1, 4)))[0]) == pytest.approx(0.0, abs=1e-12)


def test_bernoulli_nll_matches_keras_binary_crossentropy_times_784():
    x, p = _images(5, 0), np.clip(_images(5, 1), 0.01, 0.99)
    ours = np.asarray(vae.bernoulli_nll(x, p))
    theirs = 784 * keras.losses.binary_crossentropy(x, p).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_sampling_has_the_right_mean_and_std():
    layer = vae.Sampling(seed=3)
    n = 50_000
    mean = np.tile(np.array([[2.0, -1.0]], np.float32), (n, 1))
    log_var = np.tile(np.log(np.array([[0.25, 4.0]], np.float32)), (n, 1))  # std 0.5 and 2
    z = layer([mean, log_var]).numpy()
    np.testing.assert_allclose(z.mean(0), [2.0, -1.0], atol=0.03)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.02)  # not 0.1 (lecture) nor exp(log_var)


def test_sampling_draws_fresh_noise_inside_a_compiled_function():
    layer = vae.Sampling(seed=0)
    zeros = tf.zeros((4, 2))
    sample = tf.function(lambda: layer([zeros, zeros]))
    assert not np.allclose(sample().numpy(), sample().numpy())


def test_negative_elbo_on_a_trivial_decoder_is_known():
    # decoder always outputs 0.5 per pixel: -log p(x|z) = 784 ln 2 whatever x is;
    # encoder outputs mean 0, log-variance 0 (the prior itself): KL = 0.
    inputs = keras.Input((784,))
    zero = keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="zeros")(inputs)
    encoder = keras.Model(inputs, [zero, zero])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784, activation="sigmoid",
                                                                      kernel_initializer="zeros")])
    result = vae.negative_elbo(encoder, decoder, _images(30), batch_size=7, n_samples=2)
    assert result["negative_elbo"] == pytest.approx(784 * np.log(2), rel=1e-5)
    assert result["kl"] == pytest.approx(0.0, abs=1e-9)
    # q = prior and p(x|z) constant: every importance weight is equal, so the estimate is exact
    assert vae.importance_sampled_nll(encoder, decoder, _images(30), k=5) == pytest.approx(784 * np.log(2), rel=1e-5)


def test_importance_sampling_is_tighter_than_the_elbo():
    encoder, decoder = _encoder(), _decoder()
    x = _images(40)
    elbo = vae.negative_elbo(encoder, decoder, x, n_samples=50)["negative_elbo"]
    iw = vae.importance_sampled_nll(encoder, decoder, x, k=50)
    assert iw < elbo


def test_elbo_rejects_bad_input():
    encoder, decoder = _encoder(), _decoder()
    with pytest.raises(ValueError, match=r"\[0, 1\].*scale_to_unit"):
        vae.negative_elbo(encoder, decoder, _images(4) * 2 - 1)
    with pytest.raises(ValueError, match="shape \\(N, 784\\)"):
        vae.negative_elbo(encoder, decoder, _images(4).reshape(4, 28, 28))


def test_binarise_uses_a_strict_half_threshold_and_checks_input():
    x = np.array([[0.0, 0.5, 0.5001, 1.0] + [0.2] * 780], np.float32)
    out = vae.binarise(x)
    assert out.dtype == np.float32 and set(np.unique(out)) <= {0.0, 1.0}
    np.testing.assert_array_equal(out[0, :4], [0.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="scale_to_unit"):
        vae.binarise(x * 2 - 1)


def _constant_decoder(p):
    """A decoder whose every pixel is Bernoulli(p) whatever z is."""
    logit = float(np.log(p / (1 - p)))
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        784, activation="sigmoid", kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(logit))])


def test_grey_and_binarised_elbo_match_closed_forms():
    # encoder = the prior (KL 0), decoder = Bernoulli(p) everywhere: -log p(x|z) = -sum x log p + (1-x) log(1-p)
    inputs = keras.Input((784,))
    zero = keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="zeros")(inputs)
    encoder = keras.Model(inputs, [zero, zero])
    p = 0.2
    x = np.random.default_rng(0).uniform(0, 0.6, (10, 784)).astype(np.float32)  # grey mean 0.3, binary 1/6
    both = vae.negative_elbo_grey_and_binarised(encoder, _constant_decoder(p), x)

    def closed(targets):
        return float(np.mean(-(targets * np.log(p) + (1 - targets) * np.log(1 - p)).sum(1)))

    assert both.grey_level["negative_elbo"] == pytest.approx(closed(x), rel=1e-4)
    assert both.binarised["negative_elbo"] == pytest.approx(closed((x > 0.5).astype(np.float32)), rel=1e-4)
    assert abs(both.grey_level["negative_elbo"] - both.binarised["negative_elbo"]) > 50
    text = str(both)
    assert "grey-level (not a normalised likelihood)" in text and "binarised (pixels > 0.5" in text
    # on images that are already 0/1 the two evaluations are the same number
    same = vae.negative_elbo_grey_and_binarised(encoder, _constant_decoder(p), (x > 0.5).astype(np.float32))
    assert same.grey_level["negative_elbo"] == pytest.approx(same.binarised["negative_elbo"], rel=1e-9)


def test_saved_encoder_with_sampling_loads_in_safe_mode(tmp_path):
    encoder = _encoder()
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    assert any(isinstance(layer, vae.Sampling) for layer in loaded.layers)
    x = _images(3)
    np.testing.assert_allclose(loaded(x)[0].numpy(), encoder(x)[0].numpy(), atol=1e-6)


def test_latent_explorer_sliders_move_digit_and_marker():
    z_points = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    labels = np.arange(200) % 10
    explorer = course_widgets.VaeLatentExplorer(_decoder(), z_points, labels)
    digit, picture = bytes(explorer.image.value), bytes(explorer.map_image.value)
    assert digit.startswith(b"\x89PNG") and picture.startswith(b"\x89PNG")
    x_before, y_before = explorer.marker_pixel()
    explorer.z1.value = 2.0
    explorer.z2.value = 1.5
    assert bytes(explorer.image.value) != digit and bytes(explorer.map_image.value) != picture
    x_after, y_after = explorer.marker_pixel()
    assert x_after > x_before and y_after < y_before  # right and up on the picture
    np.testing.assert_allclose(explorer.render(), explorer.decode(np.array([[2.0, 1.5]], np.float32))[0])
    assert len(explorer.update_times_ms) == 3
    assert np.median(explorer.update_times_ms) < 50  # generous: ~1-2 ms here


def test_latent_explorer_refuses_a_latent_space_that_is_not_2d():
    with pytest.raises(ValueError, match="LATENT_DIM = 2"):
        course_widgets.VaeLatentExplorer(_decoder(latent_dim=3), np.zeros((5, 2)), np.zeros(5, int))


def test_interpolation_explorer_goes_from_a_to_b():
    encoder, decoder = _encoder(), _decoder()
    images = _images(10)
    explorer = course_widgets.VaeInterpolationExplorer(encoder, decoder, images, index_a=2, index_b=7)
    z_mean = encoder(images)[0].numpy()
    np.testing.assert_allclose(explorer.latent()[0], z_mean[2], atol=1e-5)
    first = bytes(explorer.image.value)
    explorer.t.value = 1.0
    np.testing.assert_allclose(explorer.latent()[0], z_mean[7], atol=1e-5)
    assert bytes(explorer.image.value) != first
    shown = explorer.render()
    assert shown.shape == (3, 28, 28)
    np.testing.assert_allclose(shown[0].ravel(), images[2])
    np.testing.assert_allclose(shown[2].ravel(), images[7])
    explorer.index_b.value = 4
    np.testing.assert_allclose(explorer.latent()[0], z_mean[4], atol=1e-5)
    with pytest.raises(ValueError, match="0..9"):
        course_widgets.VaeInterpolationExplorer(encoder, decoder, images, index_a=10)


def test_cached_forward_is_built_once_per_model_and_output():
    encoder, decoder = _encoder(), _decoder()
    assert course_widgets.cached_forward(decoder) is course_widgets.cached_forward(decoder)
    encode_mean = course_widgets.cached_forward(encoder, output=0)
    assert encode_mean is course_widgets.cached_forward(encoder, output=0)
    assert encode_mean is not course_widgets.cached_forward(encoder, output=1)
    x = _images(4)
    np.testing.assert_allclose(encode_mean(x), encoder(x)[0].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="output=3"):
        course_widgets.cached_forward(encoder, output=3)


def test_shipped_vaes_load_in_safe_mode_without_the_notebook():
    # a fresh interpreter that never imported helpers.vae: weights.load_model must find Sampling itself
    code = (
        "import numpy as np\n"
        "from helpers import weights\n"
        "for name, dim in [('vae_2d', 2), ('vae_16d', 16)]:\n"
        "    model = weights.load_model(name, verbose=False)\n"
        "    encoder = model.get_layer('encoder')\n"
        "    assert any(type(l).__name__ == 'Sampling' for l in encoder.layers)\n"
        "    x = np.zeros((3, 784), np.float32)\n"
        "    z_mean = encoder(x)[0].numpy()\n"
        "    out = model.get_layer('decoder')(z_mean).numpy()\n"
        "    assert z_mean.shape == (3, dim) and out.shape == (3, 784) and 0 < out.min() and out.max() < 1\n"
        "    print(name, 'ok')\n"
    )
    assert run_fresh_python(code).split() == ["vae_2d", "ok", "vae_16d", "ok"]

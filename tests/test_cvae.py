"""Notebook 05 (conditional VAE): the conditional ELBO helpers in helpers.vae, the two CVAE
widgets driven without a browser, and the shipped CVAE loading in safe mode."""

from __future__ import annotations

from io import BytesIO

import keras  # noqa: E402  (after helpers: TensorFlow is imported quietly)
import numpy as np
import pytest
from conftest import check_label_picker, run_fresh_python
from PIL import Image

from helpers import data, vae, weights
from helpers import widgets as course_widgets

N_CLASSES = 10


def _cvae(latent_dim=2, seed=0):
    """A tiny CVAE: encoder [x, c] -> [z_mean, z_log_var, z], decoder [z, c] -> sigmoid(Dense([z; c]))."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((784,))
    c = keras.Input((N_CLASSES,))
    h = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([x, c]))
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(h)
    z = vae.Sampling(seed=seed)([z_mean, z_log_var])
    encoder = keras.Model([x, c], [z_mean, z_log_var, z], name="encoder")
    z_in = keras.Input((latent_dim,))
    c_in = keras.Input((N_CLASSES,))
    out = keras.layers.Dense(784, activation="sigmoid", kernel_initializer=keras.initializers.RandomNormal(stddev=1.0))(
        keras.layers.Concatenate()([z_in, c_in]))
    decoder = keras.Model([z_in, c_in], out, name="decoder")
    return encoder, decoder


def _images(n=20, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 784)).astype(np.float32)


def _png_size(raw) -> tuple[int, int]:
    with Image.open(BytesIO(bytes(raw))) as img:
        return img.size


# --------------------------------------------------------------------------- helpers.vae, conditional


def test_conditional_elbo_passes_the_label_to_both_networks():
    encoder, decoder = _cvae()
    x = _images(12)
    labels = np.arange(12) % N_CLASSES
    c = data.one_hot(labels)
    result = vae.negative_elbo(encoder, decoder, x, conditions=c, n_samples=3, batch_size=5, seed=7)
    # recompute by hand: KL at the encoder's output for [x, c]; reconstruction with the same noise stream
    z_mean, z_log_var, _ = (t.numpy().astype(np.float64) for t in encoder([x, c]))
    kl = np.asarray(vae.kl_divergence(z_mean, z_log_var))
    rng = np.random.default_rng(7)
    recon = np.zeros(12)
    for start in range(0, 12, 5):
        sl = slice(start, start + 5)
        for _ in range(3):
            z = z_mean[sl] + np.exp(0.5 * z_log_var[sl]) * rng.standard_normal(z_mean[sl].shape)
            x_mean = decoder([z.astype(np.float32), c[sl]]).numpy().astype(np.float64)
            recon[sl] += np.asarray(vae.bernoulli_nll(x[sl].astype(np.float64), x_mean)) / 3
    assert result["kl"] == pytest.approx(kl.mean(), rel=1e-5)
    assert result["reconstruction"] == pytest.approx(recon.mean(), rel=1e-5)
    assert result["negative_elbo"] == pytest.approx(result["kl"] + result["reconstruction"], rel=1e-9)
    # the label matters: other labels give another number
    other = vae.negative_elbo(encoder, decoder, x, conditions=data.one_hot((labels + 1) % 10), n_samples=3,
                              batch_size=5, seed=7)
    assert abs(other["negative_elbo"] - result["negative_elbo"]) > 1.0


def test_conditional_importance_sampling_is_tighter_and_matches_k1_in_expectation():
    encoder, decoder = _cvae()
    x, c = _images(30), data.one_hot(np.arange(30) % 10)
    elbo = vae.negative_elbo(encoder, decoder, x, conditions=c, n_samples=200)["negative_elbo"]
    iw = vae.importance_sampled_nll(encoder, decoder, x, conditions=c, k=200)
    assert iw < elbo
    k1 = np.mean([vae.importance_sampled_nll(encoder, decoder, x, conditions=c, k=1, seed=s) for s in range(40)])
    assert k1 == pytest.approx(elbo, rel=0.01)


def test_conditions_are_checked():
    encoder, decoder = _cvae()
    x = _images(4)
    with pytest.raises(ValueError, match="takes \\[x, c\\].*one_hot"):
        vae.negative_elbo(encoder, decoder, x)
    with pytest.raises(ValueError, match="one row per image"):
        vae.negative_elbo(encoder, decoder, x, conditions=data.one_hot(np.arange(3)))
    with pytest.raises(ValueError, match="one row per image"):
        vae.importance_sampled_nll(encoder, decoder, x, conditions=np.arange(4))
    plain = keras.Model(*(lambda i: (i, [keras.layers.Dense(2)(i), keras.layers.Dense(2)(i)]))(keras.Input((784,))))
    plain_decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784, activation="sigmoid")])
    with pytest.raises(ValueError, match="conditions were given"):
        vae.negative_elbo(plain, plain_decoder, x, conditions=data.one_hot(np.arange(4)))


def test_per_label_columns_are_the_conditional_elbo_under_each_label():
    encoder, decoder = _cvae()
    x = _images(9)
    table = vae.negative_elbo_per_label(encoder, decoder, x, n_samples=2, seed=3)
    assert table.shape == (9, N_CLASSES)
    for label in (0, 4, 9):
        c = data.one_hot(np.full(9, label))
        column_mean = vae.negative_elbo(encoder, decoder, x, conditions=c, n_samples=2, seed=3)["negative_elbo"]
        assert table[:, label].mean() == pytest.approx(column_mean, rel=1e-5)
    assert np.ptp(table, axis=1).min() > 0.5, "the labels give different scores"


def test_marginal_negative_elbo_sums_the_label_out():
    per_label = np.array([[100.0, 100.0, 100.0, 100.0],  # all equal: the marginal is that value
                          [50.0, 500.0, 500.0, 500.0],  # one label explains it: about 50 + log 4
                          [10.0, 12.0, 30.0, 11.0]])
    out = vae.marginal_negative_elbo(per_label)
    brute = -np.log(np.exp(-per_label).mean(axis=1))
    np.testing.assert_allclose(out, brute, rtol=1e-12)
    assert out[0] == pytest.approx(100.0)
    assert out[1] == pytest.approx(50.0 + np.log(4), abs=1e-9)
    assert np.all(out >= per_label.min(1)) and np.all(out <= per_label.min(1) + np.log(4))
    # large values (real ELBOs are hundreds of nats): no underflow to inf
    assert np.isfinite(vae.marginal_negative_elbo(per_label + 5000.0)).all()
    np.testing.assert_allclose(vae.marginal_negative_elbo(per_label + 5000.0), out + 5000.0)
    # a non-uniform label prior
    prior = np.array([0.7, 0.1, 0.1, 0.1])
    np.testing.assert_allclose(vae.marginal_negative_elbo(per_label, prior),
                               -np.log((prior * np.exp(-per_label)).sum(1)), rtol=1e-12)
    with pytest.raises(ValueError, match="positive probabilities"):
        vae.marginal_negative_elbo(per_label, np.array([0.5, 0.5, 0.0, 0.0]))
    with pytest.raises(ValueError, match="num_classes"):
        vae.marginal_negative_elbo(np.ones(5))


# --------------------------------------------------------------------------- widgets


def test_style_explorer_shows_ten_panels_that_follow_the_chosen_test_digit():
    encoder, decoder = _cvae()
    x = _images(8)
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    explorer = course_widgets.CvaeStyleExplorer(encoder, decoder, x, labels, index=2, scale=4, strip_scale=3)
    assert _png_size(explorer.strip.value) == ((10 * 28 + 9 * 2) * 3, 28 * 3)  # ten panels side by side
    assert _png_size(explorer.image.value) == (28 * 4, 28 * 4)
    panels = explorer.render()
    assert panels.shape == (10, 28, 28)
    # the style is the encoder's mean for the chosen image *with its own label*, decoded under every label
    z = encoder([x[[2]], data.one_hot(np.array([4]))])[0].numpy()
    np.testing.assert_allclose(explorer.style(), z, atol=1e-5)
    expected = decoder([np.repeat(z, 10, axis=0), np.eye(10, dtype=np.float32)]).numpy().reshape(10, 28, 28)
    np.testing.assert_allclose(panels, expected, atol=1e-5)
    assert len({p.tobytes() for p in panels}) == 10
    assert "#2" in explorer.caption.value and "label 4" in explorer.caption.value
    strip_2, image_2 = bytes(explorer.strip.value), bytes(explorer.image.value)
    explorer.index.value = 5  # a browser moving the slider fires the same observer
    assert "#5" in explorer.caption.value and "label 9" in explorer.caption.value
    assert bytes(explorer.strip.value) != strip_2 and bytes(explorer.image.value) != image_2
    z5 = encoder([x[[5]], data.one_hot(np.array([9]))])[0].numpy()
    np.testing.assert_allclose(explorer.style(), z5, atol=1e-5)
    median_ms, n = explorer.measure_updates(explorer.index, n=8)
    assert n == 9 and explorer.index.value == 5 and median_ms < 100


def test_style_explorer_rejects_bad_input():
    encoder, decoder = _cvae()
    x = _images(4)
    with pytest.raises(ValueError, match="one integer label per image"):
        course_widgets.CvaeStyleExplorer(encoder, decoder, x, np.arange(3))
    with pytest.raises(ValueError, match="index must lie"):
        course_widgets.CvaeStyleExplorer(encoder, decoder, x, np.arange(4), index=4)
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784)])
    with pytest.raises(ValueError, match="two inputs"):
        course_widgets.CvaeStyleExplorer(encoder, plain, x, np.arange(4))


def test_latent_explorer_label_picker_and_sliders():
    _, decoder = _cvae()
    explorer = course_widgets.CvaeLatentExplorer(decoder, label=0, scale=4)
    assert len(explorer.sliders) == 2
    strip_0 = bytes(explorer.strip.value)
    check_label_picker(explorer, decoder([np.zeros((1, 2), np.float32), np.eye(10, dtype=np.float32)[[7]]]).numpy())
    explorer.sliders[0].value = 1.5
    explorer.sliders[1].value = -2.0
    np.testing.assert_allclose(explorer.latent(), [[1.5, -2.0]])
    assert bytes(explorer.strip.value) != strip_0
    np.testing.assert_allclose(explorer.render(), explorer.render_all()[7], atol=1e-5)
    assert _png_size(explorer.strip.value) == ((10 * 28 + 9 * 2) * 3, 28 * 3)
    n_updates = len(explorer.update_times_ms)
    explorer.set_latent([0.25, 9.0])  # clipped to the slider's range, one redraw
    assert len(explorer.update_times_ms) == n_updates + 1
    np.testing.assert_allclose(explorer.latent(), [[0.25, 3.0]])
    with pytest.raises(ValueError, match="2 latent values"):
        explorer.set_latent([1.0, 2.0, 3.0])


def test_latent_explorer_rejects_unconditional_or_wide_decoders_and_bad_names():
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784)])
    with pytest.raises(ValueError, match="two inputs"):
        course_widgets.CvaeLatentExplorer(plain)
    _, wide = _cvae(latent_dim=16)
    with pytest.raises(ValueError, match="16 sliders"):
        course_widgets.CvaeLatentExplorer(wide)
    _, decoder = _cvae()
    with pytest.raises(ValueError, match="3 class names"):
        course_widgets.CvaeLatentExplorer(decoder, class_names=["a", "b", "c"])
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
    explorer = course_widgets.CvaeLatentExplorer(decoder, class_names=names, label=9)
    assert "label: Boot" in explorer.caption.value


# --------------------------------------------------------------------------- shipped weights


def test_shipped_cvae_loads_in_safe_mode_without_the_notebook():
    # a fresh interpreter that never imported helpers.vae: weights.load_model must find Sampling itself
    if "cvae_2d" not in weights.registry():
        pytest.fail("cvae_2d is not shipped: run `python scripts/train_pretrained.py 05_cvae`")
    code = (
        "import numpy as np\n"
        "from helpers import evaluation, weights\n"
        "model = weights.load_model('cvae_2d', verbose=False)\n"
        "assert evaluation.model_kind(model) == 'conditional vae'\n"
        "encoder, decoder = model.get_layer('encoder'), model.get_layer('decoder')\n"
        "assert any(type(l).__name__ == 'Sampling' for l in encoder.layers)\n"
        "x, c = np.zeros((3, 784), np.float32), np.eye(10, dtype=np.float32)[[1, 5, 7]]\n"
        "z_mean = encoder([x, c])[0].numpy()\n"
        "out = decoder([np.zeros((10, 2), np.float32), np.eye(10, dtype=np.float32)]).numpy()\n"
        "assert z_mean.shape == (3, 2) and out.shape == (10, 784) and 0 < out.min() and out.max() < 1\n"
        "assert np.abs(out[1] - out[7]).mean() > 0.02, 'the label changes the digit'\n"
        "print(evaluation.sample_images(model, 20, labels=np.arange(20) % 10).shape)\n"
    )
    assert run_fresh_python(code).split()[-2:] == ["(20,", "784)"]

"""The conditional-GAN widget driven without a browser: setting a control's value fires the same observers."""

from __future__ import annotations

from io import BytesIO

import keras  # noqa: E402  (after helpers: TensorFlow is imported quietly)
import numpy as np
import pytest
from conftest import check_label_picker
from PIL import Image

from helpers import widgets as course_widgets

LATENT = 8


def _tiny_conditional_generator(latent_dim=LATENT, n_classes=10, seed=0):
    """G([z, y]) = tanh(Dense([z; y])): every label moves the image, as in a trained cGAN."""
    keras.utils.set_random_seed(seed)
    z = keras.Input((latent_dim,))
    y = keras.Input((n_classes,))
    h = keras.layers.Concatenate()([z, y])
    return keras.Model([z, y], keras.layers.Dense(784, activation="tanh")(h))


def _png_size(raw) -> tuple[int, int]:
    with Image.open(BytesIO(bytes(raw))) as img:
        return img.size


def test_strip_shows_the_same_noise_under_all_ten_labels():
    gen = _tiny_conditional_generator()
    explorer = course_widgets.ConditionalGanExplorer(gen, LATENT, n_directions=2, scale=4, strip_scale=3)
    every_label = explorer.render_all()
    assert every_label.shape == (10, 28, 28)
    z = np.repeat(explorer.latent()[None], 10, axis=0)
    np.testing.assert_allclose(every_label.reshape(10, 784), gen([z, np.eye(10, dtype=np.float32)]).numpy(), atol=1e-5)
    assert len({panel.tobytes() for panel in every_label}) == 10, "each label gives its own image"
    gap = 2
    assert _png_size(explorer.strip.value) == ((10 * 28 + 9 * gap) * 3, 28 * 3)  # ten panels side by side
    assert _png_size(explorer.image.value) == (28 * 4, 28 * 4)  # the picked label, one large image


def test_label_picker_changes_the_rendered_label_but_not_the_strip():
    gen = _tiny_conditional_generator()
    explorer = course_widgets.ConditionalGanExplorer(gen, LATENT)
    check_label_picker(explorer, gen([explorer.latent()[None], np.eye(10, dtype=np.float32)[[7]]]).numpy())
    np.testing.assert_allclose(explorer.render(), explorer.render_all()[7], atol=1e-5)


def test_noise_sliders_and_new_vector_change_image_and_strip():
    explorer = course_widgets.ConditionalGanExplorer(_tiny_conditional_generator(), LATENT, n_directions=3)
    image_0, strip_0 = bytes(explorer.image.value), bytes(explorer.strip.value)
    z_0 = explorer.latent().copy()
    explorer.direction_sliders[1].value = 3.0
    np.testing.assert_allclose(explorer.latent(), z_0 + 3.0 * explorer.directions[1], atol=1e-5)
    assert bytes(explorer.image.value) != image_0 and bytes(explorer.strip.value) != strip_0
    n_updates = len(explorer.update_times_ms)
    explorer.new_button.click()
    assert len(explorer.update_times_ms) == n_updates + 1, "a new vector redraws once, not once per slider"
    assert all(s.value == 0 for s in explorer.direction_sliders)
    assert not np.allclose(explorer.latent(), z_0)
    assert np.median(explorer.update_times_ms) < 50  # generous: one compiled call for ten labels is ~1-2 ms here


def test_class_names_label_the_picker():
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
    explorer = course_widgets.ConditionalGanExplorer(_tiny_conditional_generator(), LATENT, class_names=names)
    assert [label for label, _ in explorer.label_picker.options] == names
    explorer.label_picker.value = 9
    assert "label: Boot" in explorer.caption.value


def test_bad_generators_are_refused_with_a_clear_message():
    unconditional = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(784)])
    with pytest.raises(ValueError, match="two inputs"):
        course_widgets.ConditionalGanExplorer(unconditional, LATENT)
    with pytest.raises(ValueError, match="5 class names"):
        course_widgets.ConditionalGanExplorer(_tiny_conditional_generator(), LATENT, class_names=list("abcde"))
    with pytest.raises(ValueError, match="latent_dim=4"):
        course_widgets.ConditionalGanExplorer(_tiny_conditional_generator(), 4)
